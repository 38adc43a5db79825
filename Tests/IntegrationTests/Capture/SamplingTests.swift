import PGHarness
import XCTest

/// Transactions sampled by augur.sample_rate: their relations and key values.
final class SamplingTests: ClusterTestCase {
    private func cluster(_ settings: [String: String] = [:]) throws -> Connection {
        try augurCluster(settings, setup: """
            CREATE TABLE customers(id int PRIMARY KEY, name text);
            CREATE TABLE orders(id int PRIMARY KEY, customer_id int REFERENCES customers, total numeric);
            CREATE TABLE notes(body text)
            """)
    }

    func testSampledTransactionKeepsItsRelationsAndKeyValues() throws {
        let db = try cluster(["augur.sample_rate": "1"])
        try db.query("""
            BEGIN;
            SELECT * FROM customers WHERE id = 7;
            INSERT INTO customers VALUES (7, 'x');
            INSERT INTO orders VALUES (1, 7, 10);
            UPDATE orders SET total = 5 WHERE customer_id = 7;
            INSERT INTO notes VALUES ('no key here');
            COMMIT
            """)
        // A parameter's value is read from the bound parameters; a rollback leaves nothing.
        try db.query("SELECT * FROM orders WHERE id = $1", ["1"])
        try db.query("BEGIN; SELECT * FROM customers WHERE id = 99; ROLLBACK")
        try db.query("SELECT augur.flush()")
        XCTAssertEqual(try db.query("SELECT array_to_string(relnames, ' ') FROM augur.sampled_xact ORDER BY ended_at"),
                       [["public.customers public.orders public.notes"], ["public.orders"]])
        XCTAssertEqual(try db.query("SELECT column_name, value FROM augur.sampled_key ORDER BY ended_at, column_name"),
                       [["public.customers.id", "7"], ["public.orders.customer_id", "7"], ["public.orders.id", "1"],
                        ["public.orders.id", "1"]])
        XCTAssertEqual(try db.query("""
            SELECT key_a, key_b, transactions, same_value_transactions FROM augur.key_coaccess ORDER BY 1, 2
            """), [["public.customers.id", "public.orders.customer_id", "1", "1"],
                   ["public.customers.id", "public.orders.id", "1", "0"],
                   ["public.orders.id", "public.orders.customer_id", "1", "0"]])
        XCTAssertEqual(try db.query("SELECT relation_a, relation_b, calls FROM augur.coaccess('transaction') ORDER BY 1, 2"),
                       [["public.customers", "public.notes", "1"], ["public.customers", "public.orders", "1"],
                        ["public.notes", "public.orders", "1"]])
        XCTAssertEqual(try db.scalar("SELECT value FROM augur.key_values WHERE key = 'public.orders.id'"), "1")
    }

    func testKeysOfAnIndexOnlyScanAreThoseOfTheTable() throws {
        let db = try cluster(["augur.sample_rate": "1", "enable_seqscan": "off", "enable_bitmapscan": "off"])
        let plan = try db.query("EXPLAIN SELECT id FROM customers WHERE id = 42").map { $0[0] ?? "" }.joined()
        XCTAssertTrue(plan.contains("Index Only Scan"), plan)
        try db.query("SELECT id FROM customers WHERE id = 42")
        try db.query("SELECT augur.flush()")
        XCTAssertEqual(try db.query("SELECT column_name, value FROM augur.sampled_key"), [["public.customers.id", "42"]])
    }

    func testNothingIsSampledAtRateZeroAndAFullRingDropsAndCounts() throws {
        let db = try cluster(["augur.sample_rate": "0", "augur.max_sampled_xacts": "10"])
        for id in 1...5 { try db.query("SELECT * FROM customers WHERE id = \(id)") }
        try db.query("SET augur.sample_rate = 1")
        for id in 1...30 { try db.query("SELECT * FROM customers WHERE id = \(id)") }
        // 20 turned away for lack of room, and the status query itself (sampled too).
        XCTAssertEqual(try db.scalar("SELECT sampled_dropped FROM augur.capture_status"), "21")
        try db.query("SELECT augur.flush()")
        XCTAssertEqual(try db.scalar("SELECT count(*) FROM augur.sampled_xact"), "10")
        XCTAssertEqual(try db.scalar("SELECT min(value::int) || '-' || max(value::int) FROM augur.sampled_key"), "1-10")
    }

    func testKeyValuesAreHiddenFromOthersAndOldSamplesExpire() throws {
        let db = try cluster(["augur.sample_rate": "1", "augur.sample_retention": "1h"])
        try db.query("SELECT * FROM customers WHERE id = 3")
        try db.query("""
            INSERT INTO augur.sampled_xact VALUES (5, 10, 1, 1, now() - interval '2 hours', 1, '{1}', NULL);
            INSERT INTO augur.sampled_key VALUES (now() - interval '2 hours', 1, 1, 1, 1, NULL, 'old')
            """)
        try db.query("SELECT augur.flush()")
        XCTAssertEqual(try db.query("SELECT value FROM augur.sampled_key"), [["3"]])
        try db.query("CREATE ROLE someone LOGIN; GRANT USAGE ON SCHEMA augur TO someone")
        try db.query("SET ROLE someone")
        assertServerError("42501") { try db.query("SELECT * FROM augur.sampled_key") }
        assertServerError("42501") { try db.query("SELECT * FROM augur.key_values") }
    }
}
