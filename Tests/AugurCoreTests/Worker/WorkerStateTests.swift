import AugurCore
import XCTest

final class WorkerStateTests: XCTestCase {
    func testStateFromInstalledVersion() {
        XCTAssertEqual(WorkerState(installedVersion: nil, libraryVersion: "0.1.0"), .waitingForExtension)
        XCTAssertEqual(WorkerState(installedVersion: "0.1.0", libraryVersion: "0.1.0"), .running)
        XCTAssertEqual(WorkerState(installedVersion: "0.0.9", libraryVersion: "0.1.0"), .versionMismatch)
    }

    func testLogsOnlyOnChange() {
        let db = "postgres"
        XCTAssertNotNil(WorkerState.waitingForExtension.logMessage(after: .starting, database: db, installedVersion: nil))
        XCTAssertNil(WorkerState.waitingForExtension.logMessage(after: .waitingForExtension, database: db, installedVersion: nil))
        XCTAssertNil(WorkerState.running.logMessage(after: .running, database: db, installedVersion: "0.1.0"))
        let mismatch = WorkerState.versionMismatch.logMessage(after: .running, database: db, installedVersion: "0.0.9")
        XCTAssertTrue(mismatch?.contains("ALTER EXTENSION augur UPDATE") ?? false)
        XCTAssertTrue(mismatch?.contains("0.0.9") ?? false)
    }
}
