import AugurCore
import XCTest

final class SQLStateTests: XCTestCase {
    func testRoundTrip() {
        for code in ["22023", "55000", "XX000", "57014", "42P01"] {
            XCTAssertEqual(SQLState(code)?.description, code)
        }
    }
    func testPackingMatchesPostgres() {
        // MAKE_SQLSTATE('2','2','0','1','2') as the server computes it.
        XCTAssertEqual(SQLState("22012")?.packed, 2 | 2 << 6 | 0 << 12 | 1 << 18 | 2 << 24)
    }
    func testRejectsMalformed() {
        XCTAssertNil(SQLState("2202"))
        XCTAssertNil(SQLState("22a23"))
        XCTAssertNil(SQLState("220231"))
    }
}
