import PGHarness
import XCTest

/// recommend_sharding on a small TPC-C-like workload sampled by a real server: the plan,
/// its Citus script, its scores, and what bad input gets.
final class ShardingAdviceTests: ClusterTestCase {
    private let schema = """
        CREATE TABLE warehouse (w_id int PRIMARY KEY, w_ytd numeric NOT NULL DEFAULT 0);
        CREATE TABLE district (d_w_id int, d_id int, d_next_o_id int NOT NULL DEFAULT 1, PRIMARY KEY (d_w_id, d_id));
        CREATE TABLE stock (s_w_id int, s_i_id int, s_quantity int NOT NULL DEFAULT 50, PRIMARY KEY (s_w_id, s_i_id));
        CREATE TABLE item (i_id int PRIMARY KEY, i_price numeric NOT NULL);
        INSERT INTO warehouse SELECT g FROM generate_series(1, 4) g;
        INSERT INTO district SELECT w, d FROM generate_series(1, 4) w, generate_series(1, 10) d;
        INSERT INTO item SELECT g, g % 100 FROM generate_series(1, 1000) g;
        INSERT INTO stock SELECT w, i FROM generate_series(1, 4) w, generate_series(1, 1000) i;
        ANALYZE
        """

    /// `count` new-order-like transactions: a warehouse, one of its districts, three items
    /// and their stock, each line supplied by another warehouse one time in ten.
    private func runTransactions(_ db: Connection, count: Int, seed: UInt64) throws {
        var state = seed
        func next(_ bound: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % UInt64(bound))
        }
        for _ in 0..<count {
            let w = 1 + next(4), d = 1 + next(10)
            var statements = ["BEGIN", "SELECT w_ytd FROM warehouse WHERE w_id = \(w)",
                              "UPDATE district SET d_next_o_id = d_next_o_id + 1 WHERE d_w_id = \(w) AND d_id = \(d)"]
            for _ in 0..<3 {
                let item = 1 + next(1000), supplier = next(10) == 0 ? 1 + (w + next(3)) % 4 : w
                statements.append("SELECT i_price FROM item WHERE i_id = \(item)")
                statements.append("UPDATE stock SET s_quantity = s_quantity - 1 WHERE s_w_id = \(supplier) AND s_i_id = \(item)")
            }
            statements.append("COMMIT")
            try db.query(statements.joined(separator: "; "))
        }
    }

    func testAPlanByWarehouseWithItsCitusScriptAndScores() throws {
        let db = try augurCluster(["augur.sample_rate": "1"], setup: schema)
        try runTransactions(db, count: 400, seed: 7)
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

        // Scored again on what was sampled since: only the 100 transactions run after it.
        XCTAssertEqual(try db.query("SELECT transactions FROM augur.sharding_evaluate(\(id))").first?[0], "0")
        try runTransactions(db, count: 100, seed: 8)
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

        // A script for a DBA: approved, it is not applied by Augur, and it cannot be simulated.
        try db.query("SELECT augur.approve(\(id))")
        assertServerError("0A000") { try db.query("SELECT augur.apply(\(id))") }
        assertServerError("0A000") { try db.query("SELECT augur.simulate(\(id))") }
    }

    func testTooFewTransactionsGiveANoticeAndNoPlanAndBadInputIsRefused() throws {
        let db = try augurCluster(["augur.sample_rate": "1"], setup: schema)
        try runTransactions(db, count: 20, seed: 1)
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
