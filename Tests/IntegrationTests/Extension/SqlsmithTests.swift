import PGHarness
import XCTest

/// sqlsmith's random queries against a server with Augur preloaded, every statement
/// captured (`augur.track = all`), transactions sampled, the worker flushing every
/// second and Augur's own functions in reach of the generator: no server process may
/// crash (the harness fails a test whose server log shows one), and Augur still works
/// afterwards. A fixed seed keeps a failure reproducible.
final class SqlsmithTests: ClusterTestCase {
    static let queries = 2500

    func testRandomQueriesCrashNothing() throws {
        let cluster = try startCluster(.init(settings: ["augur.naptime": "1", "augur.track": "all",
                                                        "augur.sample_rate": "0.2"]))
        let db = try cluster.connect()
        try db.query("""
            CREATE EXTENSION augur; CREATE EXTENSION hypopg;
            CREATE TABLE orders (id int PRIMARY KEY, customer_id int, amount numeric, note text, at timestamptz);
            INSERT INTO orders SELECT g, g % 50, g * 1.5, 'note ' || g, timestamptz '2026-01-01' + g * interval '1 hour'
              FROM generate_series(1, 2000) g;
            CREATE TABLE customers (id int PRIMARY KEY, name text);
            INSERT INTO customers SELECT g, 'customer ' || g FROM generate_series(0, 49) g;
            CREATE VIEW big_orders AS SELECT * FROM orders WHERE amount > 1000;
            ANALYZE
            """)
        do {
            try PGHarness.run(["sqlsmith", "--target=\(cluster.conninfo)", "--seed=42", "--max-queries=\(Self.queries)"])
        } catch let failure as CommandFailure {
            XCTFail("sqlsmith stopped early: \(failure.output.suffix(2000))")
        }
        XCTAssertEqual(try db.scalar("SELECT 1"), "1", "the server still answers")
        try db.query("SELECT augur.flush()")
        XCTAssertEqual(try db.scalar("SELECT count(*) > 0 FROM augur.queries"), "t")
        XCTAssertTrue(try cluster.waitUntil(timeout: 30) {
            try db.scalar("SELECT state FROM augur.worker_status") == "running"
        })
    }
}
