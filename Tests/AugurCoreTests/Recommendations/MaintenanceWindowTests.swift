import AugurCore
import XCTest

final class MaintenanceWindowTests: XCTestCase {
    private let sunday = 0, monday = 1, friday = 5, saturday = 6

    func testSingleDayWindow() throws {
        let window = try MaintenanceWindow(parsing: "Sun 02:00-04:00")
        XCTAssertTrue(window.contains(weekday: sunday, minuteOfDay: 2 * 60))
        XCTAssertTrue(window.contains(weekday: sunday, minuteOfDay: 3 * 60 + 59))
        XCTAssertFalse(window.contains(weekday: sunday, minuteOfDay: 4 * 60))
        XCTAssertFalse(window.contains(weekday: sunday, minuteOfDay: 60 + 59))
        XCTAssertFalse(window.contains(weekday: monday, minuteOfDay: 3 * 60))
    }

    func testRangesListsAndMidnight() throws {
        let window = try MaintenanceWindow(parsing: " mon-fri 01:00-03:00 , Saturday 23:00-01:30")
        XCTAssertTrue(window.contains(weekday: friday, minuteOfDay: 90))
        XCTAssertFalse(window.contains(weekday: saturday, minuteOfDay: 90))
        XCTAssertTrue(window.contains(weekday: saturday, minuteOfDay: 23 * 60 + 30))
        XCTAssertTrue(window.contains(weekday: sunday, minuteOfDay: 60), "runs past midnight into Sunday")
        XCTAssertFalse(window.contains(weekday: sunday, minuteOfDay: 23 * 60 + 30))
        let wrapping = try MaintenanceWindow(parsing: "Fri-Mon 00:00-24:00")
        XCTAssertEqual(wrapping.spans.first?.startDays, [5, 6, 0, 1])
        XCTAssertTrue(try MaintenanceWindow(parsing: "12:00-13:00").contains(weekday: 3, minuteOfDay: 12 * 60))
        XCTAssertTrue(try MaintenanceWindow(parsing: "daily 12:00-13:00").contains(weekday: 4, minuteOfDay: 12 * 60))
    }

    func testEmptyMeansNever() throws {
        let window = try MaintenanceWindow(parsing: "")
        XCTAssertEqual(window, .never)
        XCTAssertFalse((0..<7).contains { day in (0..<1440).contains { window.contains(weekday: day, minuteOfDay: $0) } })
    }

    func testRejectsMalformedInputWithAMessage() {
        for bad in ["Sun", "Sun 02:00", "Sun 2-4", "Sun 02:00-25:00", "Sun 02:60-03:00", "Sunday 03:00-03:00",
                    "Sun 02:00-04:00,", "Funday 01:00-02:00", "Sun Mon 01:00-02:00", "Sun 24:00-01:00",
                    "Sun +1:00-02:00", "Mon-Tue-Wed 01:00-02:00"] {
            XCTAssertThrowsError(try MaintenanceWindow(parsing: bad), bad) { error in
                XCTAssertFalse((error as! MaintenanceWindow.ParseError).message.isEmpty)
            }
        }
    }
}
