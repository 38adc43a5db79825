import PGHarness
import XCTest

/// Approved recommendations applied by the worker, over a session of its own: inside the
/// maintenance window, or at once when a DBA says so; a failed or cancelled build leaves
/// no INVALID index and is logged.
final class ApplyTests: ClusterTestCase {
    private var cluster: Cluster!

    /// A cluster whose worker cycles every second (with `settings`), and a captured
    /// workload that calls for an index on orders.customer_id.
    private func ordersWorkload(_ settings: [String: String] = [:]) throws -> Connection {
        cluster = try startCluster(.init(settings: ["augur.naptime": "1"].merging(settings) { $1 }))
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
        return db
    }

    /// `ordersWorkload`, with its create_index advice approved: its id.
    private func approvedIndexAdvice(approve: Bool = true) throws -> (Connection, String) {
        let db = try ordersWorkload(["augur.verify_calls": "50"])
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

    /// Nobody asks for advice or approves it: with the window open and auto_apply on, the
    /// worker refreshes the advice itself (once per augur.advise_interval), approves the
    /// index and builds it.
    func testTheWorkerRefreshesAdviceAndAppliesItOnAutoPilot() throws {
        // No refresh until the workload is in (advise_interval 0: never).
        let db = try ordersWorkload(["augur.auto_apply": "indexes", "augur.maintenance_window": "'00:00-12:00, 12:00-00:00'",
                                     "augur.advise_interval": "0"])
        XCTAssertEqual(try db.scalar("SELECT count(*) FROM augur.action_log"), "0")
        try db.query("ALTER SYSTEM SET augur.advise_interval = '1h'")
        try db.query("SELECT pg_reload_conf()")
        XCTAssertTrue(try cluster.waitUntil(timeout: 60) { try self.indexState(db) == "valid" })
        XCTAssertEqual(try db.query("""
            SELECT a.actor, a.action, a.outcome FROM augur.action_log a
             WHERE a.action = 'refresh' OR a.recommendation_id IN (SELECT id FROM augur.recommendations WHERE target = 'public.orders (customer_id)')
             ORDER BY a.id
            """), [["augur collector", "refresh", "1 open recommendations"], ["augur collector", "approve", "approved"],
                   ["augur collector", "apply", "applied"]])
        // Not again within the interval, however many cycles pass.
        let cycles = try XCTUnwrap(Int(try db.scalar("SELECT cycles FROM augur.worker_status") ?? ""))
        XCTAssertTrue(try cluster.waitUntil(timeout: 20) {
            (Int(try db.scalar("SELECT cycles FROM augur.worker_status") ?? "") ?? 0) >= cycles + 3
        })
        XCTAssertEqual(try db.scalar("SELECT count(*) FROM augur.action_log WHERE action = 'refresh'"), "1")
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

    func testARecommendationWhoseTableWasDroppedFailsCleanly() throws {
        let (db, id) = try approvedIndexAdvice()
        try db.query("DROP TABLE orders")
        try db.query("SELECT * FROM augur.apply($1)", [id])
        XCTAssertTrue(try cluster.waitUntil(timeout: 30) { try self.status(db, id) == "failed" })
        XCTAssertEqual(try db.scalar("SELECT error FROM augur.action_log WHERE recommendation_id = $1 ORDER BY id DESC LIMIT 1", [id]),
                       "relation \"public.orders\" does not exist")
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

    /// Once its table's queries ran augur.verify_calls times, an applied change is judged
    /// on their latency: the customer index made its lookups faster, so it is verified.
    func testAnIndexThatHelpsIsVerifiedWithItsMeasuredBenefit() throws {
        let (db, id) = try approvedIndexAdvice()
        try db.query("SELECT * FROM augur.apply($1)", [id])
        XCTAssertTrue(try cluster.waitUntil(timeout: 30) { try self.status(db, id) == "applied" })
        usleep(1_500_000)   // past the first flush window, which mixes before and after
        try db.query((1...100).map { "SELECT * FROM orders WHERE customer_id = \($0);" }.joined(separator: "\n"))
        XCTAssertTrue(try cluster.waitUntil(timeout: 30) { try self.status(db, id) == "verified" })
        XCTAssertEqual(try db.scalar("""
            SELECT measured_benefit > 0 AND (evidence -> 'verification' ->> 'after_ms')::float8 < (evidence -> 'verification' ->> 'before_ms')::float8
              FROM augur.recommendations WHERE id = $1
            """, [id]), "t")
        XCTAssertEqual(try db.scalar("SELECT outcome FROM augur.action_log WHERE recommendation_id = $1 AND action = 'verify'", [id]), "verified")
        // The plans too, before and after, from the query's example execution: a scan of
        // the table became a scan of the new index.
        let plan = try db.query("""
            SELECT p ->> 'before', p ->> 'after' FROM augur.recommendations, jsonb_array_elements(evidence -> 'verification' -> 'plans') p
             WHERE id = $1
            """, [id])
        XCTAssertEqual(plan.count, 1, "\(plan)")
        XCTAssertFalse(plan.first?[0]?.contains("augur_orders_customer_id") ?? true, "\(plan)")
        XCTAssertTrue(plan.first?[1]?.contains("(augur_orders_customer_id)") ?? false, "\(plan)")
        XCTAssertTrue(try db.scalar("SELECT reason FROM augur.action_log WHERE recommendation_id = $1 AND action = 'verify'", [id])?
            .hasSuffix("; 1 of the queries planned before and after changed plan") ?? false)
    }

    /// An index on the ORDER BY column makes the planner walk it for `b = 1 ... LIMIT 10`,
    /// expecting matches early; they all sit at the end, so the query gets about 5x
    /// slower than a scan and a sort. The worker sees it in the latencies and rolls back.
    func testAChangeThatMakesItsQueriesSlowerIsRolledBack() throws {
        cluster = try startCluster(.init(settings: ["augur.naptime": "1", "augur.verify_calls": "50"]))
        let db = try cluster.connect()
        try db.query("""
            CREATE EXTENSION augur;
            CREATE TABLE late (id int PRIMARY KEY, b int, c int, pad text) WITH (autovacuum_enabled = false);
            INSERT INTO late SELECT g, (g > 190000)::int, g, repeat('x', 100) FROM generate_series(1, 200000) g ORDER BY random();
            ANALYZE late
            """)
        let query = (1...60).map { _ in "SELECT * FROM late WHERE b = 1 ORDER BY c LIMIT 10;" }.joined(separator: "\n")
        try db.query(query)
        try db.query("SELECT augur.flush()")
        let id = try XCTUnwrap(try db.scalar("""
            INSERT INTO augur.recommendation (dbid, kind, target, ddl, rollback_ddl, status, reason, evidence)
            SELECT oid, 'create_index', 'public.late (c)', 'CREATE INDEX CONCURRENTLY augur_late_c ON public.late (c);',
                   'DROP INDEX CONCURRENTLY public.augur_late_c;', 'approved', 'for the test', '{"table": "public.late"}'
              FROM pg_database WHERE datname = current_database()
            RETURNING id
            """))
        try db.query("SELECT * FROM augur.apply($1)", [id])
        XCTAssertTrue(try cluster.waitUntil(timeout: 30) { try self.status(db, id) == "applied" })
        XCTAssertNotNil(try db.scalar("SELECT to_regclass('public.augur_late_c')"))
        usleep(1_500_000)
        try db.query(query)
        XCTAssertTrue(try cluster.waitUntil(timeout: 30) { try self.status(db, id) == "rolled_back" })
        XCTAssertNil(try db.scalar("SELECT to_regclass('public.augur_late_c')"), "the index is gone")
        let log = try db.query("SELECT action, outcome, reason FROM augur.action_log WHERE recommendation_id = $1 AND action = 'rollback'", [id])
        XCTAssertEqual(log.first?[1], "rolled_back")
        XCTAssertTrue(log.first?[2]?.contains("beyond augur.rollback_threshold") == true, "\(log)")
    }

    func testAutoApplyApprovesProposalsItselfOnlyInsideTheWindow() throws {
        let (db, id) = try approvedIndexAdvice(approve: false)
        try setWindow(db, "00:00-12:00, 12:00-00:00")
        // auto_apply = off (the default): a proposal waits for a DBA, window or not.
        let cycles = try XCTUnwrap(Int(try db.scalar("SELECT cycles FROM augur.worker_status") ?? ""))
        XCTAssertTrue(try cluster.waitUntil(timeout: 20) {
            (Int(try db.scalar("SELECT cycles FROM augur.worker_status") ?? "") ?? 0) >= cycles + 3
        })
        XCTAssertEqual(try status(db, id), "proposed")

        try db.query("ALTER SYSTEM SET augur.auto_apply = 'indexes'")
        try db.query("SELECT pg_reload_conf()")
        XCTAssertTrue(try cluster.waitUntil(timeout: 30) { try self.status(db, id) == "applied" })
        XCTAssertEqual(try indexState(db), "valid")
        XCTAssertEqual(try db.query("SELECT actor, action, outcome, reason FROM augur.action_log WHERE recommendation_id = $1 ORDER BY id", [id]),
                       [["augur collector", "approve", "approved", "augur.auto_apply = indexes"],
                        ["augur collector", "apply", "applied", nil]])
    }
}
