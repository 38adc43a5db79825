import Foundation
import PGHarness
import XCTest

/// Augur on a real Citus cluster (a coordinator and two workers on loopback ports): what
/// each node captured read from the coordinator, and a sharding plan learned on the
/// coordinator's local tables applied by the collector while writes go on.
final class CitusTests: ClusterTestCase {
    func testEveryNodesCaptureIsReadFromTheCoordinator() throws {
        let cluster = try startCitusCluster(workers: 2)
        let db = try cluster.coordinator.connect()
        try db.query("""
            CREATE TABLE account (id int PRIMARY KEY, balance int NOT NULL DEFAULT 0);
            SELECT create_distributed_table('account', 'id');
            INSERT INTO account SELECT g FROM generate_series(1, 100) g
            """)
        for id in 1...20 { try db.query("UPDATE account SET balance = balance + 1 WHERE id = \(id)") }
        assertServerError("23505") { try db.query("INSERT INTO account VALUES (7)") }

        let nodes = try db.query("""
            SELECT node, sum(calls) FROM augur.cluster_queries(flush => true)
             WHERE query ILIKE 'update%account%' GROUP BY node ORDER BY node
            """)
        let workers = cluster.workers.map { "127.0.0.1:\($0.port)" }.sorted()
        XCTAssertEqual(nodes.map { $0[0] ?? "" }, (["coordinator"] + workers).sorted(),
                       "the coordinator's statement and each worker's shard fragments")
        XCTAssertEqual(nodes.first { $0[0] == "coordinator" }?[1], "20")
        XCTAssertEqual(nodes.filter { $0[0] != "coordinator" }.compactMap { Int($0[1] ?? "") }.reduce(0, +), 20,
                       "each update ran on the worker holding its shard")
        // The duplicate key failed on the worker that holds id 7, and on the coordinator.
        let errors = try db.query("SELECT node FROM augur.cluster_errors() WHERE sqlstate = '23505' ORDER BY node")
        XCTAssertEqual(errors.count, 2, "\(errors)")
        XCTAssertEqual(errors.first?[0], "127.0.0.1:\(try shardNode(db, table: "account", value: "7"))")
        assertServerError("22004") { try db.query("SELECT * FROM augur.cluster_queries(NULL)") }
    }

    /// A two-worker cluster whose coordinator ran the new-order workload on local tables,
    /// and the sharding plan learned from it, approved.
    private func approvedPlan(seed: UInt64) throws -> (cluster: CitusCluster, db: Connection, id: String, ddl: String) {
        let cluster = try startCitusCluster(workers: 2, settings: ["augur.sample_rate": "1", "citus.enable_stat_counters": "on"])
        let db = try cluster.coordinator.connect()
        try db.query(NewOrderWorkload.schema)
        try NewOrderWorkload.run(db, count: 300, seed: seed)
        try db.query("SELECT augur.flush()")
        let plan = try db.query("SELECT id, ddl FROM augur.recommend_sharding(2)").first ?? []
        let id = plan.first.flatMap { $0 } ?? ""
        try db.query("SELECT augur.approve(\(id))")
        return (cluster, db, id, plan.last.flatMap { $0 } ?? "")
    }

    func testAnApprovedPlanIsAppliedInOneTransactionWithoutLosingAWrite() throws {
        let (cluster, db, id, ddl) = try approvedPlan(seed: 11)
        XCTAssertTrue(ddl.contains("create_distributed_table('public.order_log', 'ol_w_id'"), ddl)

        let stockBefore = Int(try db.scalar("SELECT sum(s_quantity) FROM stock") ?? "") ?? 0
        let writer = try LoggedWriter(try cluster.coordinator.connect())
        defer { _ = writer.stop() }
        usleep(300_000)
        try db.query("SELECT augur.apply(\(id))")
        let finished = try cluster.coordinator.waitUntil(timeout: 120) {
            try db.scalar("SELECT status FROM augur.recommendation WHERE id = \(id)") != "approved"
        }
        // Then the collector moves shards (and isolates warehouses sharing one) until
        // every placed warehouse is on the worker the plan gave it, writes going on.
        let placed = try cluster.coordinator.waitUntil(timeout: 180) {
            try db.scalar("SELECT augur.next_placement_step(\(id)) IS NULL") == "t"
        }
        usleep(300_000)
        let written = writer.stop()
        XCTAssertTrue(finished)
        XCTAssertTrue(placed)

        let outcomes = try db.query("SELECT outcome, error FROM augur.action_log WHERE recommendation_id = \(id)")
        XCTAssertEqual(try db.scalar("SELECT status FROM augur.recommendation WHERE id = \(id)"), "applied", "\(outcomes)")
        let distributed = try db.query("""
            SELECT logicalrelid::text, partmethod, coalesce(column_to_column_name(logicalrelid, partkey), '')
              FROM pg_dist_partition ORDER BY 1
            """)
        XCTAssertEqual(distributed.map { $0.compactMap { $0 } }, [
            ["district", "h", "d_w_id"], ["item", "n", ""], ["order_log", "h", "ol_w_id"], ["stock", "h", "s_w_id"],
            ["warehouse", "h", "w_id"],
        ])
        XCTAssertEqual(try db.scalar("SELECT count(DISTINCT colocationid) FROM pg_dist_partition WHERE partmethod = 'h'"), "1",
                       "the warehouse tables co-located")
        // Nothing lost: every committed write is there, through the distributed tables.
        XCTAssertTrue(written.errors.isEmpty, "\(written.errors.prefix(3))")
        XCTAssertGreaterThan(written.committed, 5, "writes went on around the apply")
        XCTAssertEqual(try db.scalar("SELECT count(*) FROM order_log WHERE ol_seq BETWEEN 1001 AND 99999"), String(written.committed))
        XCTAssertEqual(Int(try db.scalar("SELECT sum(s_quantity) FROM stock") ?? "") ?? -1, stockBefore - written.committed)
        XCTAssertEqual(try db.scalar("SELECT count(*) FROM item"), "1000")
        let log = try db.query("SELECT action, outcome, ddl FROM augur.action_log WHERE recommendation_id = \(id) ORDER BY id")
        let apply = log.first { $0[0] == "apply" && $0[1] == "applied" }
        XCTAssertTrue(apply?[2]?.contains("create_reference_table('public.item')") ?? false, "the script is logged: \(log)")
        let placements = log.filter { $0[0] == "place" }
        XCTAssertTrue(placements.allSatisfy { $0[1] == "done" }, "\(placements)")
        XCTAssertNil(try db.scalar("SELECT evidence ->> 'placement_failed' FROM augur.recommendation WHERE id = \(id)"))
        let misplaced = try db.query("""
            WITH workers AS (SELECT array_agg(nodeid ORDER BY nodeid) AS ids FROM pg_dist_node WHERE groupid <> 0)
            SELECT p.value, p.node, at.nodeid FROM augur.sharding_placement p, workers w,
                   LATERAL (SELECT n.nodeid FROM pg_dist_placement pl JOIN pg_dist_node n ON n.groupid = pl.groupid
                             WHERE pl.shardid = get_shard_id_for_distribution_column('district', p.value)) AS at
             WHERE p.recommendation_id = \(id) AND at.nodeid <> w.ids[1 + p.node % array_length(w.ids, 1)]
            """)
        XCTAssertEqual(misplaced.count, 0, "\(misplaced)")
        XCTAssertEqual(try db.scalar("SELECT count(*) FROM augur.sharding_placement WHERE recommendation_id = \(id)"), "4")

        // Measured on the cluster: the transactions since, each warehouse where Citus has it,
        // are spread as the plan predicted (every warehouse was placed, so exactly). Their
        // keys come from the statements' parse trees: Citus's plans are custom scans.
        try db.query("SELECT augur.flush()")
        try NewOrderWorkload.run(db, count: 100, seed: 13)
        try db.query("SELECT augur.flush()")
        let measured = try db.query("SELECT transactions, distributed_share, predicted_share FROM augur.sharding_measure(\(id))")
            .first ?? []
        XCTAssertGreaterThanOrEqual(Double(measured[0] ?? "") ?? 0, 100)
        XCTAssertEqual(measured[1], measured[2])
        XCTAssertLessThan(Double(measured[1] ?? "") ?? 1, 0.4, "the remote lines only")
        XCTAssertEqual(try db.scalar("SELECT round(measured_benefit::numeric, 6) FROM augur.recommendation WHERE id = \(id)"),
                       try db.scalar("SELECT round(1 - \(measured[1] ?? "1")::numeric, 6)"))
        // Citus's own counters, since the apply: the workload's statements ran on one shard
        // each but for the few that read every warehouse; a count over a table runs on all.
        try db.query("SELECT count(*) FROM stock; SELECT count(*) FROM stock")
        let counted = try db.query("SELECT citus_queries, citus_multi_shard_share FROM augur.sharding_measure(\(id))").first ?? []
        XCTAssertGreaterThanOrEqual(Double(counted[0] ?? "") ?? 0, 100, "\(counted)")
        let share = Double(counted[1] ?? "") ?? -1
        XCTAssertGreaterThan(share, 0, "the counts over every shard")
        XCTAssertLessThan(share, 0.5)
    }

    /// A plan whose table went away since it was approved: the apply fails with the
    /// reason, and nothing of the plan was done.
    func testAPlanWhoseTableIsGoneFailsAndChangesNothing() throws {
        let (cluster, db, id, _) = try approvedPlan(seed: 12)
        try db.query("DROP TABLE district")
        try db.query("SELECT augur.apply(\(id))")
        XCTAssertTrue(try cluster.coordinator.waitUntil(timeout: 60) {
            try db.scalar("SELECT status FROM augur.recommendation WHERE id = \(id)") == "failed"
        })
        XCTAssertTrue(try db.scalar("SELECT error FROM augur.action_log WHERE recommendation_id = \(id) AND outcome = 'failed'")?
            .contains("public.district of sharding plan \(id) no longer exists") ?? false)
        XCTAssertEqual(try db.scalar("SELECT count(*) FROM pg_dist_partition"), "0")
        // Without a worker node to distribute to, apply says so before anything is asked.
        try db.query("SELECT augur.approve(\(id))")
        for worker in cluster.workers { try db.query("SELECT citus_remove_node('127.0.0.1', \(worker.port))") }
        assertServerError("55000") { try db.query("SELECT augur.apply(\(id))") }
        assertServerError("55000", "not applied") { try db.query("SELECT * FROM augur.sharding_measure(\(id))") }
    }

    /// The script runs as the owner of each table it converts: a plain role's index
    /// expression, evaluated as Citus builds the shards' indexes and copies the rows, never
    /// runs as superuser (if it did, it would write a server file).
    func testThePlanRunsAsTheOwnerOfEachTable() throws {
        let cluster = try startCitusCluster(workers: 2, settings: ["augur.sample_rate": "1", "citus.enable_stat_counters": "on"])
        let db = try cluster.coordinator.connect()
        let file = cluster.coordinator.directory.appendingPathComponent("written-by-an-index-expression").path
        try db.query("CREATE ROLE mallory LOGIN; GRANT CREATE ON SCHEMA public TO mallory")
        let plain = try cluster.coordinator.connect(user: "mallory")
        try plain.query("""
            CREATE FUNCTION indexed(int) RETURNS int LANGUAGE plpgsql IMMUTABLE AS $$
            BEGIN
                IF $1 = 0 THEN
                    PERFORM pg_catalog.lo_export(pg_catalog.lo_from_bytea(0, 'x'), '\(file)');
                END IF;
                RETURN $1;
            EXCEPTION WHEN insufficient_privilege THEN RETURN $1;
            END $$;
            CREATE TABLE account (tenant int, id int, balance int NOT NULL DEFAULT 0, PRIMARY KEY (tenant, id));
            CREATE INDEX ON account (indexed(balance));
            INSERT INTO account SELECT t, i FROM generate_series(1, 4) t, generate_series(1, 50) i;
            """)
        var random = NewOrderWorkload.Random(state: 21)
        for _ in 0..<320 {
            let tenant = 1 + random.below(4)
            try plain.query("""
                BEGIN; UPDATE account SET balance = balance + 1 WHERE tenant = \(tenant) AND id = \(1 + random.below(50));
                UPDATE account SET balance = balance - 1 WHERE tenant = \(tenant) AND id = \(1 + random.below(50)); COMMIT
                """)
        }
        try db.query("SELECT augur.flush()")
        let id = try db.scalar("SELECT id FROM augur.recommend_sharding(2)") ?? ""
        try db.query("SELECT augur.approve(\(id)); SELECT augur.apply(\(id))")
        XCTAssertTrue(try cluster.coordinator.waitUntil(timeout: 120) {
            try db.scalar("SELECT status FROM augur.recommendation WHERE id = \(id)") != "approved"
        })
        let outcome = try db.query("SELECT outcome, error FROM augur.action_log WHERE recommendation_id = \(id) ORDER BY id")
        XCTAssertEqual(try db.scalar("SELECT status FROM augur.recommendation WHERE id = \(id)"), "applied", "\(outcome)")
        XCTAssertEqual(try db.scalar("SELECT coalesce(column_to_column_name(logicalrelid, partkey), '') FROM pg_dist_partition"),
                       "tenant")
        XCTAssertEqual(try db.scalar("SELECT pg_get_userbyid(relowner) FROM pg_class WHERE relname = 'account'"), "mallory")
        XCTAssertFalse(FileManager.default.fileExists(atPath: file), "the index expression ran as superuser")
    }

    private func shardNode(_ db: Connection, table: String, value: String) throws -> String {
        try db.scalar("""
            SELECT p.nodeport FROM pg_dist_shard_placement p
             WHERE p.shardid = get_shard_id_for_distribution_column('\(table)', \(value))
            """) ?? ""
    }
}

/// A client on a thread of its own that writes until stopped and counts what it committed:
/// each transaction takes one unit of stock and logs one order (numbered from 1001), so that
/// afterwards the tables must show exactly the committed ones.
private final class LoggedWriter: @unchecked Sendable {
    private let lock = NSLock()
    private var stopping = false
    private var committed = 0
    private var errors: [String] = []
    private let done = DispatchSemaphore(value: 0)

    init(_ connection: Connection) throws {
        Thread { [self] in
            var seq = 1_000
            while !lock.withLock({ stopping }) {
                seq += 1
                let w = 1 + seq % 4
                do {
                    try connection.query("""
                        BEGIN; UPDATE stock SET s_quantity = s_quantity - 1 WHERE s_w_id = \(w) AND s_i_id = \(seq % 1000 + 1);
                        INSERT INTO order_log VALUES (\(w), \(seq)); COMMIT
                        """)
                    lock.withLock { committed += 1 }
                } catch {
                    lock.withLock { errors.append("\(error)") }
                    _ = try? connection.query("ROLLBACK")
                }
            }
            done.signal()
        }.start()
    }

    /// Stops the writer and waits for it (once; later calls return at once): how many
    /// transactions it committed, and the errors of those that failed.
    func stop() -> (committed: Int, errors: [String]) {
        let first = lock.withLock { () -> Bool in
            defer { stopping = true }
            return !stopping
        }
        if first { done.wait() }
        return lock.withLock { (committed, errors) }
    }
}
