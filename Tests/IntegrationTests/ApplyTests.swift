import PGHarness
import XCTest

/// Approved recommendations applied by the worker, over a session of its own: inside the
/// maintenance window, or at once when a DBA says so; a failed or cancelled build leaves
/// no INVALID index and is logged.
final class ApplyTests: ClusterTestCase {
    private var cluster: Cluster!

    /// A cluster whose worker cycles every second, with one approved create_index advice:
    /// its id.
    private func approvedIndexAdvice(approve: Bool = true) throws -> (Connection, String) {
        cluster = try startCluster(.init(settings: ["augur.naptime": "1"]))
        let db = try cluster.connect()
        try db.query("""
            CREATE EXTENSION augur; CREATE EXTENSION hypopg;
            CREATE TABLE orders (id int PRIMARY KEY, customer_id int, note text);
            INSERT INTO orders SELECT g, g % 1000, 'x' FROM generate_series(1, 100000) g;
            ANALYZE orders;
            SELECT augur.reset()
            """)
        try db.query((1...300).map { "SELECT * FROM orders WHERE customer_id = \($0);" }.joined(separator: "\n"))
        try db.query("SELECT augur.flush()")
        let id = try XCTUnwrap(try db.scalar("""
            SELECT id FROM augur.recommend_indexes(budget => '100MB') WHERE target = 'public.orders (customer_id)'
            """))
        if approve { XCTAssertEqual(try db.scalar("SELECT status FROM augur.approve($1)", [id]), "approved") }
        return (db, id)
    }

    private func status(_ db: Connection, _ id: String) throws -> String? {
        try db.scalar("SELECT status FROM augur.recommendations WHERE id = $1", [id])
    }

    private func indexState(_ db: Connection) throws -> String? {
        try db.scalar("""
            SELECT CASE WHEN i.indisvalid THEN 'valid' ELSE 'INVALID' END FROM pg_index i
             WHERE i.indexrelid = to_regclass('public.augur_orders_customer_id')
            """)
    }

    private func setWindow(_ db: Connection, _ window: String) throws {
        try db.query("ALTER SYSTEM SET augur.maintenance_window = '\(window)'")
        try db.query("SELECT pg_reload_conf()")
        XCTAssertTrue(try cluster.waitUntil(timeout: 10) {
            try db.scalar("SELECT setting FROM pg_settings WHERE name = 'augur.maintenance_window'") == window
        })
    }

    func testAnApprovedIndexIsBuiltInsideTheWindowAndNotOutside() throws {
        let (db, id) = try approvedIndexAdvice()
        // The window is never open (the default): three cycles pass, nothing is built.
        let cycles = try XCTUnwrap(Int(try db.scalar("SELECT cycles FROM augur.worker_status") ?? ""))
        XCTAssertTrue(try cluster.waitUntil(timeout: 20) {
            (Int(try db.scalar("SELECT cycles FROM augur.worker_status") ?? "") ?? 0) >= cycles + 3
        })
        XCTAssertEqual(try status(db, id), "approved")
        XCTAssertNil(try indexState(db))

        // Open all day: the next cycle builds it, concurrently, and logs it.
        try setWindow(db, "00:00-12:00, 12:00-00:00")
        XCTAssertTrue(try cluster.waitUntil(timeout: 30) { try self.status(db, id) == "applied" })
        XCTAssertEqual(try indexState(db), "valid")
        XCTAssertEqual(try db.query("SELECT actor, action, outcome, error FROM augur.action_log WHERE recommendation_id = $1 ORDER BY id", [id]),
                       [["postgres", "approve", "approved", nil], ["augur collector", "apply", "applied", nil]])
    }

    func testApplyNowRunsOutsideTheWindowAndChecksItsInput() throws {
        let (db, id) = try approvedIndexAdvice(approve: false)
        assertServerError("22023") { try db.query("SELECT * FROM augur.apply(424242)") }
        let unapproved = assertServerError("55000") { try db.query("SELECT * FROM augur.apply($1)", [id]) }
        XCTAssertTrue(unapproved?.hint?.contains("augur.approve(\(id))") == true, "\(String(describing: unapproved))")
        try db.query("SELECT * FROM augur.approve($1)", [id])

        XCTAssertEqual(try db.scalar("SELECT status FROM augur.apply($1)", [id]), "approved")
        XCTAssertTrue(db.notices.contains { $0.contains("applies recommendation \(id)") }, "\(db.notices)")
        XCTAssertTrue(try cluster.waitUntil(timeout: 30) { try self.status(db, id) == "applied" })
        XCTAssertEqual(try indexState(db), "valid")
        XCTAssertEqual(try db.scalar("SELECT apply_requested_at IS NULL FROM augur.recommendations WHERE id = $1", [id]), "t")
    }

    /// A transaction holding an old snapshot makes CREATE INDEX CONCURRENTLY wait with its
    /// index already in the catalog, INVALID. Cancelling the build there leaves that index
    /// behind, unless someone drops it: the worker does, and logs the failure.
    func testACancelledBuildLeavesNothingInvalidAndIsLogged() throws {
        let (db, id) = try approvedIndexAdvice()
        let blocker = try cluster.connect()
        try blocker.query("BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT count(*) FROM pg_class")
        try db.query("SELECT * FROM augur.apply($1)", [id])
        XCTAssertTrue(try cluster.waitUntil(timeout: 30) { try self.indexState(db) == "INVALID" })
        XCTAssertEqual(try db.scalar("""
            SELECT count(pg_cancel_backend(pid)) FROM pg_stat_activity
             WHERE application_name = 'augur apply' AND query LIKE 'CREATE INDEX CONCURRENTLY%'
            """), "1")
        XCTAssertTrue(try cluster.waitUntil(timeout: 30) { try self.status(db, id) == "failed" })
        XCTAssertNil(try indexState(db), "the INVALID index is gone")
        XCTAssertEqual(try db.scalar("SELECT outcome || ': ' || error FROM augur.action_log WHERE recommendation_id = $1 ORDER BY id DESC LIMIT 1", [id]),
                       "failed: canceling statement due to user request")
        try blocker.query("ROLLBACK")

        // Approved again, it is built.
        try db.query("SELECT * FROM augur.approve($1); SELECT * FROM augur.apply($1)".replacingOccurrences(of: "$1", with: id))
        XCTAssertTrue(try cluster.waitUntil(timeout: 30) { try self.status(db, id) == "applied" })
        XCTAssertEqual(try indexState(db), "valid")
    }

    func testABuildThatFailsIsLoggedAndChangesNothing() throws {
        let (db, id) = try approvedIndexAdvice()
        // Someone took the index's name.
        try db.query("CREATE TABLE augur_orders_customer_id (x int)")
        try db.query("SELECT * FROM augur.apply($1)", [id])
        XCTAssertTrue(try cluster.waitUntil(timeout: 30) { try self.status(db, id) == "failed" })
        XCTAssertEqual(try db.scalar("SELECT error FROM augur.action_log WHERE recommendation_id = $1 ORDER BY id DESC LIMIT 1", [id]),
                       "relation \"augur_orders_customer_id\" already exists")
        XCTAssertEqual(try db.scalar("SELECT relkind FROM pg_class WHERE relname = 'augur_orders_customer_id'"), "r",
                       "what was there stays")
    }
}
