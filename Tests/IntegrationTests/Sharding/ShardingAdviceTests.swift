import PGHarness
import XCTest

/// recommend_sharding on a small TPC-C-like workload sampled by a real server: the plan,
/// its Citus script, its scores, and what bad input gets.
final class ShardingAdviceTests: ClusterTestCase {
    func testAPlanByWarehouseWithItsCitusScriptAndScores() throws {
        let db = try augurCluster(["augur.sample_rate": "1"], setup: NewOrderWorkload.schema)
        try NewOrderWorkload.run(db, count: 400, seed: 7)
        try db.query("SELECT augur.flush()")
        let rows = try db.query("""
            SELECT kind, target, ddl, rollback_ddl, reason, (evidence -> 'held_out' ->> 'distributed_share')::float8,
                   (evidence -> 'learned_from' ->> 'transactions')::float8, evidence -> 'tables' -> 'public.item' ->> 'choice',
                   evidence -> 'tables' -> 'public.stock' ->> 'column'
              FROM augur.recommend_sharding(2)
            """)
        XCTAssertEqual(rows.count, 1)
        guard let row = rows.first else { return }
        XCTAssertEqual(row[0], "distribute")
        XCTAssertEqual(row[1], "2 nodes")
        let ddl = row[2] ?? ""
        XCTAssertTrue(ddl.contains("SELECT create_reference_table('public.item');"), ddl)
        XCTAssertTrue(ddl.contains("SELECT create_distributed_table('public.district', 'd_w_id'"), ddl)
        XCTAssertTrue(ddl.contains("SELECT create_distributed_table('public.stock', 's_w_id'"), ddl)
        XCTAssertTrue(ddl.contains("colocate_with => "), ddl)
        XCTAssertTrue(row[3]?.contains("SELECT undistribute_table('public.warehouse');") ?? false)
        // A remote line in one transaction of about four (1 - 0.9^3), on the other node
        // when its warehouse is there: well under half.
        let heldOut = Double(row[5] ?? "") ?? 1
        XCTAssertLessThan(heldOut, 0.3)
        XCTAssertGreaterThan(heldOut, 0.02)
        XCTAssertEqual(Double(row[6] ?? "") ?? 0, 280, "70 % of the 401 learned from")
        XCTAssertEqual(row[7], "reference")
        XCTAssertEqual(row[8], "s_w_id")
        // The setup's transaction was sampled too: 401, 280 of them learned from.
        XCTAssertTrue(db.notices.contains { $0.contains("sharding advice over 401 sampled transactions: learning from 280") },
                      "\(db.notices)")

        let id = try db.query("SELECT id FROM augur.recommendations WHERE kind = 'distribute'").first?[0] ?? ""
        XCTAssertEqual(try db.query("SELECT count(*), count(DISTINCT node) FROM augur.sharding_placement WHERE recommendation_id = \(id)")
                        .first, ["4", "2"], "every warehouse placed, on both nodes")
        // Refreshed, the plan keeps its id and its placements are replaced, not added to.
        XCTAssertEqual(try db.query("SELECT id FROM augur.recommend_sharding(2, '{\"predict\": 0}')").first?[0], id)
        XCTAssertEqual(try db.query("SELECT count(*) FROM augur.sharding_placement WHERE recommendation_id = \(id)").first?[0], "4")

        // Scored again on what was sampled since: only the 100 transactions run after it.
        XCTAssertEqual(try db.query("SELECT transactions FROM augur.sharding_evaluate(\(id))").first?[0], "0")
        try NewOrderWorkload.run(db, count: 100, seed: 8)
        try db.query("SELECT augur.flush()")
        let again = try db.query("SELECT transactions, distributed_share FROM augur.sharding_evaluate(\(id))").first ?? []
        XCTAssertEqual(Double(again.first.flatMap { $0 } ?? "") ?? 0, 100, accuracy: 2)
        XCTAssertLessThan(Double(again.last.flatMap { $0 } ?? "") ?? 1, 0.3)
        assertServerError("22023") { try db.query("SELECT * FROM augur.sharding_evaluate(-1)") }
        assertServerError("22004") { try db.query("SELECT * FROM augur.sharding_evaluate(NULL)") }

        // A refresh cancelled (here by statement_timeout) leaves the plan as it was.
        let before = try db.query("SELECT updated_at, evidence::text FROM augur.recommendation WHERE id = \(id)")
        assertServerError("57014") {
            try db.query("SET statement_timeout = '1ms'; SELECT * FROM augur.recommend_sharding(2, '{\"imbalance\": 0.5}')")
        }
        try db.query("RESET statement_timeout")
        XCTAssertEqual(try db.query("SELECT updated_at, evidence::text FROM augur.recommendation WHERE id = \(id)"), before)

        // Simulated, it is scored on what was sampled since; approved, it cannot be applied
        // where there is no Citus.
        try db.query("SELECT augur.simulate(\(id))")
        XCTAssertEqual(try db.query("""
            SELECT status, (evidence -> 'simulation' ->> 'transactions')::float8 > 0 FROM augur.recommendation WHERE id = \(id)
            """).first, ["simulated", "t"])
        try db.query("SELECT augur.approve(\(id))")
        assertServerError("0A000") { try db.query("SELECT augur.apply(\(id))") }
    }

    func testAPlanForOneNodeMoreMovesFewKeysFromThePlanInUse() throws {
        let db = try augurCluster(["augur.sample_rate": "1"], setup: NewOrderWorkload.schema)
        try NewOrderWorkload.run(db, count: 300, seed: 3)
        try db.query("SELECT augur.flush()")
        let two = try db.query("""
            SELECT id, evidence ->> 'half_life_seconds', evidence ->> 'prediction_weight', evidence -> 'moved'
              FROM augur.recommend_sharding(2)
            """).first ?? []
        XCTAssertEqual(Array(two.dropFirst()), ["604800", "1", "null"], "the defaults: augur.coaccess_half_life, prediction on")
        let id = two.first.flatMap { $0 } ?? ""
        let three = try db.query("""
            SELECT id, (evidence -> 'moved' ->> 'keys')::int, (evidence -> 'moved' ->> 'of')::int, evidence ->> 'half_life_seconds',
                   evidence ->> 'prediction_weight', reason
              FROM augur.recommend_sharding(3, '{"from": \(id), "half_life": "10 minutes", "predict": 0}')
            """).first ?? []
        XCTAssertEqual(three[2], "4", "the plan in use placed the four warehouses")
        XCTAssertEqual(three[3], "600")
        XCTAssertEqual(three[4], "0")
        // The moves it reports are the placements that differ; the new node takes one
        // warehouse (a quarter of the accesses, its third being out of reach of four keys
        // without moving more).
        let differing = try db.query("""
            SELECT count(*) FROM augur.sharding_placement a JOIN augur.sharding_placement b USING (value)
             WHERE a.recommendation_id = \(id) AND b.recommendation_id = \(three[0] ?? "0") AND a.node <> b.node
            """).first?[0]
        XCTAssertEqual(three[1], differing)
        XCTAssertEqual(three[1], "1")
        XCTAssertTrue(three[5]?.contains("moves 1 of the 4 keys plan \(id) placed") ?? false, three[5] ?? "")
        XCTAssertEqual(try db.query("SELECT count(DISTINCT node) FROM augur.sharding_placement WHERE recommendation_id = \(three[0] ?? "0")")
                        .first?[0], "3")

        assertServerError("22023") { try db.query("SELECT * FROM augur.recommend_sharding(3, '{\"from\": 999999}')") }
        assertServerError("22023") { try db.query("SELECT * FROM augur.recommend_sharding(3, '{\"half_life\": \"soon\"}')") }
        assertServerError("22023") { try db.query("SELECT * FROM augur.recommend_sharding(3, '{\"half_life\": \"-1 hour\"}')") }
        assertServerError("22023") { try db.query("SELECT * FROM augur.recommend_sharding(3, '{\"predict\": -1}')") }
        // The failed calls changed nothing.
        XCTAssertEqual(try db.query("SELECT count(*) FROM augur.recommendation WHERE kind = 'distribute'").first?[0], "2")
    }

    /// A partitioned table is planned as one table (its partitions are the existing split,
    /// and Citus distributes them with it); a tenant column named as the split is what every
    /// table having it is distributed by.
    func testAPartitionedTableIsPlannedWholeAndANamedSplitIsHonoured() throws {
        let db = try augurCluster(["augur.sample_rate": "1"], setup: """
            CREATE TABLE account (tenant_id int, id int, balance numeric NOT NULL DEFAULT 0, PRIMARY KEY (tenant_id, id));
            CREATE TABLE event (tenant_id int, account_id int, at date NOT NULL, amount numeric) PARTITION BY RANGE (at);
            CREATE TABLE event_2026 PARTITION OF event FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
            CREATE TABLE event_2027 PARTITION OF event FOR VALUES FROM ('2027-01-01') TO ('2028-01-01');
            INSERT INTO account SELECT t, a FROM generate_series(1, 6) t, generate_series(1, 50) a;
            INSERT INTO event SELECT t, a, date '2026-06-01' + (a * 3), 1 FROM generate_series(1, 6) t, generate_series(1, 50) a;
            ANALYZE
            """)
        var random = NewOrderWorkload.Random(state: 5)
        for _ in 0..<300 {
            let tenant = 1 + random.below(6), account = 1 + random.below(50)
            try db.query("""
                BEGIN; UPDATE account SET balance = balance + 1 WHERE tenant_id = \(tenant) AND id = \(account);
                SELECT sum(amount) FROM event WHERE tenant_id = \(tenant) AND account_id = \(account); COMMIT
                """)
        }
        try db.query("SELECT augur.flush()")
        let tables = try db.query("""
            SELECT string_agg(t.key, ',' ORDER BY t.key)
              FROM augur.recommend_sharding(2), jsonb_each(evidence -> 'tables') AS t
            """).first?[0]
        XCTAssertEqual(tables, "public.account,public.event")

        let split = try db.query("""
            SELECT evidence -> 'tables' -> 'public.account' ->> 'column', evidence -> 'tables' -> 'public.event' ->> 'column',
                   evidence -> 'tables' -> 'public.event' ->> 'reason', id
              FROM augur.recommend_sharding(2, '{"split": "tenant_id"}')
            """).first ?? []
        XCTAssertEqual(split[0], "tenant_id")
        XCTAssertEqual(split[1], "tenant_id")
        XCTAssertTrue(split[2]?.contains("the split asked for") ?? false, split[2] ?? "")
        XCTAssertEqual(try db.query("SELECT count(*) FROM augur.sharding_placement WHERE recommendation_id = \(split[3] ?? "0")")
                        .first?[0], "6", "the six tenants placed")
        assertServerError("22023") { try db.query("SELECT * FROM augur.recommend_sharding(2, '{\"split\": \"region\"}')") }
    }

    func testTooFewTransactionsGiveANoticeAndNoPlanAndBadInputIsRefused() throws {
        let db = try augurCluster(["augur.sample_rate": "1"], setup: NewOrderWorkload.schema)
        try NewOrderWorkload.run(db, count: 20, seed: 1)
        try db.query("SELECT augur.flush()")
        XCTAssertEqual(try db.query("SELECT * FROM augur.recommend_sharding(4)").count, 0)
        XCTAssertTrue(db.notices.contains { $0.contains("needs 200 sampled transactions to learn from") && $0.contains("has 21 sampled, 14 of them") },
                      "\(db.notices)")
        assertServerError("22023") { try db.query("SELECT * FROM augur.recommend_sharding(1)") }
        assertServerError("22004") { try db.query("SELECT * FROM augur.recommend_sharding(NULL)") }
        assertServerError("22004") { try db.query("SELECT * FROM augur.recommend_sharding(4, NULL)") }
        assertServerError("22023") { try db.query("SELECT * FROM augur.recommend_sharding(4, '{\"tenant\": 1}')") }
        assertServerError("22023") { try db.query("SELECT * FROM augur.recommend_sharding(4, '{\"held_out\": \"most\"}')") }
        assertServerError("22023") { try db.query("SELECT * FROM augur.recommend_sharding(4, '{\"held_out\": 1.5}')") }
        assertServerError("22023") { try db.query("SELECT * FROM augur.recommend_sharding(4, '[1]')") }
        // A plan made inside a transaction that rolls back leaves nothing behind.
        try db.query("BEGIN; SELECT * FROM augur.recommend_sharding(2, '{\"min_transactions\": 5}'); ROLLBACK")
        XCTAssertEqual(try db.query("SELECT count(*) FROM augur.recommendation WHERE kind = 'distribute'").first?[0], "0")
        // Made under one DateStyle, evaluated under another: nothing was sampled since.
        try db.query("SET datestyle = 'SQL, DMY'")
        let id = try db.query("SELECT id FROM augur.recommend_sharding(2, '{\"min_transactions\": 5}')").first?[0] ?? ""
        try db.query("SET datestyle = 'SQL, MDY'")
        XCTAssertEqual(try db.query("SELECT transactions FROM augur.sharding_evaluate(\(id))").first?[0], "0")
    }
}
