import AugurCore
import XCTest

final class IndexBudgetTests: XCTestCase {
    func testSizesAndPercentagesAsPgSizeBytesReadsThem() throws {
        XCTAssertEqual(try IndexBudget(parsing: "2GB"), .bytes(2 * 1024 * 1024 * 1024))
        XCTAssertEqual(try IndexBudget(parsing: " 500 mb "), .bytes(500 * 1024 * 1024))
        XCTAssertEqual(try IndexBudget(parsing: "1.5e3kB"), .bytes(1_536_000))
        XCTAssertEqual(try IndexBudget(parsing: "7 bytes"), .bytes(7))
        XCTAssertEqual(try IndexBudget(parsing: "0"), .bytes(0))
        XCTAssertEqual(try IndexBudget(parsing: "10%"), .percentOfDatabase(10))
        XCTAssertEqual(try IndexBudget(parsing: " 2.5 % ").bytes(databaseBytes: 1000), 25)
    }

    func testAnythingElseIsRefusedWithAHint() {
        for bad in ["", " ", "NaN", "inf", "-1%", "0%", "1001%", "-1GB", "10 parsecs", "1e400", "10000PB", "0x10", "GB",
                    "1e", "1..2MB", "%", "５GB"] {
            XCTAssertThrowsError(try IndexBudget(parsing: bad), bad) { error in
                XCTAssertFalse((error as? IndexBudget.ParseError)?.hint.isEmpty ?? true)
            }
        }
    }
}
