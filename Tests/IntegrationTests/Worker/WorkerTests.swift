import Foundation
import PGHarness
import XCTest

/// The "augur collector" background worker.
final class WorkerTests: ClusterTestCase {
    private let fastWorker = Cluster.Options(settings: ["augur.naptime": "1"])

    private func status(_ db: Connection) throws -> (pid: String?, state: String?, cycles: Int) {
        let row = try db.query("SELECT pid, state, cycles FROM augur.worker_status")[0]
        return (row[0], row[1], Int(row[2] ?? "") ?? -1)
    }

    /// A cluster whose worker cycles every second, with the extension created and the
    /// worker seen running.
    private func clusterWithRunningWorker() throws -> (Cluster, Connection) {
        let cluster = try startCluster(fastWorker)
        let db = try cluster.connect()
        try db.query("CREATE EXTENSION augur")
        XCTAssertTrue(try cluster.waitUntil { try status(db).state == "running" })
        return (cluster, db)
    }

    func testLogsMissingExtensionOnceThenRunsWhenCreated() throws {
        let cluster = try startCluster(fastWorker)
        let db = try cluster.connect()
        let waitingLine = "extension \"augur\" is not installed in database \"postgres\""
        XCTAssertTrue(cluster.waitUntil(timeout: 10) { cluster.serverLog.contains(waitingLine) })
        sleep(3)   // several more cycles pass
        XCTAssertEqual(cluster.serverLog.components(separatedBy: waitingLine).count - 1, 1)

        try db.query("CREATE EXTENSION augur")
        XCTAssertTrue(try cluster.waitUntil { try status(db).state == "running" })
        let first = try status(db)
        XCTAssertTrue(try cluster.waitUntil { try status(db).cycles > first.cycles + 1 })
        XCTAssertEqual(try db.scalar("SELECT last_error FROM augur.worker_status"), nil)
        XCTAssertEqual(try db.scalar("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'augur collector'"), "1")
    }

    /// A DBA's DROP EXTENSION never fails because of the worker's own locks: under load,
    /// with the worker flushing every second, DROP and CREATE succeed 20 times in a row.
    func testDropAndCreateExtensionUnderLoadAlwaysSucceed() throws {
        let (cluster, db) = try clusterWithRunningWorker()
        try cluster.pgbench(["-i", "-s", "1", "-q"])
        let load = Thread {
            _ = try? cluster.pgbench(["-n", "-S", "-c", "2", "-T", "25"])
        }
        load.start()
        for round in 1...20 {
            do {
                try db.query("DROP EXTENSION augur")
                try db.query("CREATE EXTENSION augur")
            } catch {
                XCTFail("round \(round): \(error)")
                break
            }
            usleep(300_000)   // a cycle or so of flushing under load
        }
        XCTAssertTrue(try cluster.waitUntil { try status(db).state == "running" })
        XCTAssertTrue(try cluster.waitUntil(timeout: 40) {
            (Int(try db.scalar("SELECT coalesce(sum(calls), 0) FROM augur.query WHERE query LIKE 'SELECT abalance%'") ?? "") ?? 0) > 0
        }, "the worker goes on flushing after the last CREATE")
    }

    /// While a DBA holds a lock on one of Augur's tables, the worker does not queue behind
    /// it (where it could deadlock with the DBA's next lock): each cycle gives up within
    /// its lock timeout, and what it drained waits in shared memory for the next one.
    func testTheWorkerYieldsToADBAsLockAndLosesNothing() throws {
        let (cluster, db) = try clusterWithRunningWorker()
        try db.query("CREATE TABLE t (x int)")
        let dba = try cluster.connect()
        try dba.query("BEGIN; LOCK TABLE augur.query IN ACCESS EXCLUSIVE MODE")
        try db.query((1...5).map { _ in "SELECT count(*) FROM t;" }.joined(separator: "\n"))
        let cycles = try status(db).cycles
        XCTAssertTrue(try cluster.waitUntil(timeout: 15) { try status(db).cycles >= cycles + 3 }, "the worker waits on the lock")
        XCTAssertTrue(try db.scalar("SELECT last_error FROM augur.worker_status")?.contains("lock timeout") == true)
        try dba.query("ROLLBACK")
        XCTAssertTrue(try cluster.waitUntil(timeout: 15) {
            try db.scalar("SELECT sum(calls) FROM augur.query WHERE query = 'SELECT count(*) FROM t'") == "5"
        })
    }

    /// A batch the worker cannot store (here a constraint a DBA added rejects one of its
    /// rows) is tried three times, then dropped, counted and logged: one bad batch does
    /// not stop every later flush.
    func testABatchThatCannotBeStoredIsDroppedAfterThreeTries() throws {
        let (cluster, db) = try clusterWithRunningWorker()
        try db.query("""
            CREATE TABLE poison_pill (x int);
            ALTER TABLE augur.query ADD CONSTRAINT no_poison CHECK (query IS NULL OR query NOT LIKE '%poison_pill%') NOT VALID
            """)
        try db.query("SELECT * FROM poison_pill")
        XCTAssertTrue(cluster.waitUntil(timeout: 30) { cluster.serverLog.contains("a flush failed 3 times in a row") })
        XCTAssertGreaterThan(Int(try db.scalar("SELECT dropped FROM augur.capture_status") ?? "") ?? 0, 0)
        try db.query("ALTER TABLE augur.query DROP CONSTRAINT no_poison; CREATE TABLE after_the_pill (x int)")
        try db.query("SELECT * FROM after_the_pill")
        XCTAssertTrue(try cluster.waitUntil(timeout: 15) {
            try db.scalar("SELECT sum(calls) FROM augur.query WHERE query = 'SELECT * FROM after_the_pill'") == "1"
        }, "the flushes go on")
    }

    func testSighupChangesNaptimeWithoutRestart() throws {
        let (cluster, db) = try clusterWithRunningWorker()

        try db.query("ALTER SYSTEM SET augur.naptime = '1h'")
        try db.query("SELECT pg_reload_conf()")
        sleep(2)   // the reload wakes the worker for one cycle, then it sleeps an hour
        let asleep = try status(db)
        sleep(3)
        XCTAssertEqual(try status(db).cycles, asleep.cycles, "worker still cycles every second")

        try db.query("ALTER SYSTEM SET augur.naptime = 1")
        try db.query("SELECT pg_reload_conf()")
        XCTAssertTrue(try cluster.waitUntil(timeout: 10) { try status(db).cycles >= asleep.cycles + 3 })
        XCTAssertEqual(try status(db).pid, asleep.pid, "the worker was restarted")
    }

    func testDropAndCreateExtensionWhileTheWorkerRuns() throws {
        let (cluster, db) = try clusterWithRunningWorker()
        let pid = try status(db).pid
        for _ in 0..<5 {
            try db.query("DROP EXTENSION augur")
            usleep(1_300_000)
            try db.query("CREATE EXTENSION augur")
        }
        XCTAssertTrue(try cluster.waitUntil { try status(db).state == "running" })
        XCTAssertEqual(try status(db).pid, pid)
        XCTAssertGreaterThanOrEqual(cluster.serverLog.components(separatedBy: "is not installed in database").count - 1, 2,
                                    "the worker did not notice the extension going away")
    }

    func testVersionMismatchIsReported() throws {
        let (cluster, db) = try clusterWithRunningWorker()
        // Pretend the SQL objects are from an older release than the loaded library.
        try db.query("UPDATE pg_extension SET extversion = '0.0.9' WHERE extname = 'augur'")
        XCTAssertTrue(try cluster.waitUntil { try status(db).state == "version mismatch" })
        XCTAssertTrue(cluster.serverLog.contains("version 0.0.9 is installed"))
    }

    /// An orderly exit (SIGTERM, as pg_terminate_backend sends) is not a crash: the
    /// postmaster restarts the worker alone, after bgw_restart_time, and sessions survive.
    func testTerminatedWorkerIsRestartedWithoutDisturbingSessions() throws {
        let (cluster, db) = try clusterWithRunningWorker()
        let pid = try XCTUnwrap(try status(db).pid)
        XCTAssertEqual(try db.scalar("SELECT pg_terminate_backend(\(pid))"), "t")
        XCTAssertTrue(try cluster.waitUntil(timeout: 30) {
            let row = try status(db)
            return row.pid != nil && row.pid != pid && row.state == "running"
        })
        XCTAssertEqual(try db.scalar("SELECT 1"), "1", "the session was disturbed")
    }

    func testMissingDatabaseIsReportedWithoutSpinning() throws {
        let cluster = try startCluster(.init(settings: ["augur.naptime": "1", "augur.database": "'no_such_db'"]))
        let db = try cluster.connect()
        let line = "database \"no_such_db\" does not exist"
        XCTAssertTrue(cluster.waitUntil(timeout: 10) { cluster.serverLog.contains(line) })
        sleep(4)
        XCTAssertLessThanOrEqual(cluster.serverLog.components(separatedBy: line).count - 1, 1,
                                 "the worker retries faster than bgw_restart_time")
        try db.query("CREATE EXTENSION augur")
        XCTAssertEqual(try db.scalar("SELECT database FROM augur.worker_status"), "no_such_db")
    }

    /// SIGKILL of any process attached to shared memory makes the postmaster reinitialise
    /// it (crash recovery for every session); the worker then comes back on its own.
    func testKilledWorkerIsRestartedAndTheServerRecovers() throws {
        let (cluster, firstSession) = try clusterWithRunningWorker()
        var db = firstSession
        let pid = try XCTUnwrap(try status(db).pid)

        cluster.crashIsExpected = true
        kill(pid_t(pid)!, SIGKILL)
        XCTAssertTrue(cluster.waitUntil(timeout: 60) {
            guard let fresh = try? cluster.connect(), let row = try? self.status(fresh) else { return false }
            db = fresh
            return row.pid != nil && row.pid != pid && row.state == "running"
        })
        XCTAssertTrue(cluster.serverLog.contains("all server processes terminated; reinitializing"))
        XCTAssertTrue(cluster.crashLines.contains { $0.contains("augur collector") && $0.contains("terminated by signal 9") },
                      "the harness does not see the crash")
    }
}
