import PGHarness
import XCTest

/// Relation use learnt from the parse tree, and the relation-level co-access graph.
final class CoaccessTests: ClusterTestCase {
    private func schemaCluster() throws -> (Cluster, Connection) {
        let cluster = try startCluster(.init(settings: ["augur.naptime": "3600"]))
        let db = try cluster.connect()
        try db.query("CREATE EXTENSION augur")
        try db.query("""
            CREATE TABLE customers(id int PRIMARY KEY, name text);
            CREATE TABLE orders(id int PRIMARY KEY, customer_id int, total numeric);
            CREATE TABLE items(order_id int, sku text);
            CREATE TABLE events(at date, kind text) PARTITION BY RANGE (at);
            CREATE TABLE events_2025 PARTITION OF events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
            CREATE VIEW big_orders AS SELECT * FROM orders WHERE total > 100;
            INSERT INTO customers VALUES (1, 'a'), (2, 'b');
            INSERT INTO orders VALUES (1, 1, 150), (2, 2, 50)
            """)
        return (cluster, db)
    }

    /// "relation:r|w,..." per query text, for queries matching `pattern`.
    private func uses(_ db: Connection, _ pattern: String) throws -> String? {
        try db.scalar("""
            SELECT string_agg(u.relname || ':' || CASE WHEN u.written THEN 'w' ELSE 'r' END, ',' ORDER BY u.relname)
              FROM augur.relation_use u JOIN augur.query q USING (dbid, queryid)
             WHERE q.query LIKE $1
            """, [pattern])
    }

    /// A case: a statement, a LIKE pattern for its normalized text, and what is expected.
    private typealias Case = (sql: String, text: String, expected: String)

    /// Runs every case's statement, flushes, and compares `describe(text)` with expected.
    private func check(_ db: Connection, _ cases: [Case], _ describe: (String) throws -> String?) throws {
        for item in cases { try db.query(item.sql) }
        try db.query("SELECT augur.flush()")
        for item in cases { XCTAssertEqual(try describe(item.text), item.expected, item.sql) }
    }

    func testRelationsReadAndWrittenFromTheParseTree() throws {
        let (_, db) = try schemaCluster()
        try check(db, [
            ("SELECT c.name, o.total FROM customers c JOIN orders o ON o.customer_id = c.id",
             "SELECT c.name, o.total%", "public.customers:r,public.orders:r"),
            ("INSERT INTO items SELECT id, 'sku' FROM orders WHERE total > 10",
             "INSERT INTO items%", "public.items:w,public.orders:r"),
            ("SELECT count(*) FROM events_2025",               // a partition is given as its root
             "SELECT count(*) FROM events_2025", "public.events:r"),
            ("SELECT * FROM big_orders b JOIN items i ON i.order_id = b.id",   // views stay views
             "SELECT * FROM big_orders%", "public.big_orders:r,public.items:r"),
            ("SELECT name FROM customers WHERE id IN (SELECT customer_id FROM orders)",
             "SELECT name FROM customers WHERE id IN%", "public.customers:r,public.orders:r"),
            ("WITH moved AS (DELETE FROM items RETURNING order_id) SELECT count(*) FROM moved",
             "WITH moved AS (DELETE%", "public.items:w"),
        ]) { try uses(db, $0) }
    }

    /// "relation.column=role+role ..." for queries matching `pattern`.
    private func columns(_ db: Connection, _ pattern: String) throws -> String? {
        try db.scalar("""
            SELECT string_agg(u.relname || '.' || u.attname || '=' || array_to_string(u.roles, '+'), ' '
                              ORDER BY u.relname, u.attname)
              FROM augur.column_use u JOIN augur.query q USING (dbid, queryid)
             WHERE q.query LIKE $1
            """, [pattern])
    }

    func testColumnRolesFromTheParseTree() throws {
        let (_, db) = try schemaCluster()
        try check(db, [
            ("SELECT c.name, o.total FROM customers c JOIN orders o ON o.customer_id = c.id WHERE o.total > 100 ORDER BY o.total",
             "SELECT c.name, o.total%",
             "public.customers.id=join_key public.customers.name=projected "
                 + "public.orders.customer_id=join_key public.orders.total=filter_range+ordered+projected"),
            ("SELECT customer_id, count(*) FROM orders WHERE id IN (1, 2, 3) GROUP BY customer_id",
             "SELECT customer_id, count(*)%", "public.orders.customer_id=grouped+projected public.orders.id=filter_in"),
            ("SELECT name FROM customers WHERE name LIKE 'a%' AND id IS NOT NULL",
             "SELECT name FROM customers WHERE name LIKE%",
             "public.customers.id=filter_null public.customers.name=filter_pattern+projected"),
            ("UPDATE orders SET total = total * 2 WHERE id = 1",
             "UPDATE orders SET total%", "public.orders.id=filter_equality public.orders.total=projected+written"),
            ("INSERT INTO items (order_id, sku) SELECT id, 'x' FROM orders WHERE customer_id = 2",
             "INSERT INTO items (order_id, sku) SELECT%",
             "public.items.order_id=written public.items.sku=written "
                 + "public.orders.customer_id=filter_equality public.orders.id=projected"),
            ("SELECT kind FROM events_2025 WHERE at >= '2025-03-01'",   // partition columns as the root's
             "SELECT kind FROM events_2025%", "public.events.at=filter_range public.events.kind=projected"),
            ("SELECT * FROM orders JOIN items ON items.order_id = orders.id",
             "SELECT * FROM orders JOIN items%",
             "public.items.order_id=join_key+projected public.items.sku=projected "
                 + "public.orders.customer_id=projected public.orders.id=join_key+projected public.orders.total=projected"),
            ("SELECT customer_id, rank() OVER (PARTITION BY customer_id ORDER BY total DESC) FROM orders",
             "SELECT customer_id, rank()%", "public.orders.customer_id=grouped+projected public.orders.total=ordered"),
        ]) { try columns(db, $0) }
    }

    func testEquiJoinPairs() throws {
        let (_, db) = try schemaCluster()
        try check(db, [
            ("SELECT count(*) FROM customers c, orders o, items i WHERE c.id = o.customer_id AND i.order_id = o.id",
             "SELECT count(*) FROM customers c, orders o, items i%",
             "public.customers.id=public.orders.customer_id public.orders.id=public.items.order_id"),
            ("SELECT count(*) FROM orders JOIN items ON orders.id = items.order_id AND orders.total > 5",
             "SELECT count(*) FROM orders JOIN items%", "public.orders.id=public.items.order_id"),
        ]) { text in
            try db.scalar("""
                SELECT string_agg(j.left_column || '=' || j.right_column, ' ' ORDER BY j.left_column)
                  FROM augur.join_pair j JOIN augur.query q USING (dbid, queryid) WHERE q.query LIKE $1
                """, [text])
        }
    }

    func testPairsRankedByDecayedCallsAndNamesOutliveADrop() throws {
        let (_, db) = try schemaCluster()
        for _ in 0..<5 { try db.query("SELECT c.name, o.total FROM customers c JOIN orders o ON o.customer_id = c.id") }
        for _ in 0..<2 { try db.query("SELECT * FROM orders o JOIN items i ON i.order_id = o.id") }
        try db.query("SELECT augur.flush()")
        let pairs = try db.query("SELECT relation_a, relation_b, round(weight::numeric, 3), calls, queries FROM augur.coaccess()")
        XCTAssertEqual(pairs, [["public.customers", "public.orders", "5.000", "5", "1"],
                               ["public.items", "public.orders", "2.000", "2", "1"]])
        XCTAssertEqual(try db.query("SELECT count(*) FROM augur.coaccess(min_weight => 3)"), [["1"]])

        // One half-life later a call counts half.
        try db.query("ALTER SYSTEM SET augur.coaccess_half_life = '1h'")
        try db.query("SELECT pg_reload_conf()")
        try db.query("UPDATE augur.query SET decayed_at = decayed_at - interval '1 hour'")
        XCTAssertEqual(try settingOnceReloaded(db, "augur.coaccess_half_life", is: "1h"), "1h")
        XCTAssertEqual(try db.scalar("""
            SELECT round(weight::numeric, 2) FROM augur.coaccess() WHERE relation_a = 'public.customers'
            """), "2.50")

        try db.query("DROP VIEW big_orders; DROP TABLE orders")
        XCTAssertEqual(try db.scalar("SELECT count(*) FROM augur.coaccess() WHERE relation_b = 'public.orders'"), "2")
    }

    /// A session applies a reload between statements; poll until it has.
    private func settingOnceReloaded(_ db: Connection, _ name: String, is expected: String) throws -> String? {
        for _ in 0..<50 {
            let value = try db.scalar("SELECT current_setting($1)", [name])
            if value == expected { return value }
            usleep(100_000)
        }
        return try db.scalar("SELECT current_setting($1)", [name])
    }

    func testColumnLevelPairsColumnsUsedByTheSameQueries() throws {
        let (_, db) = try schemaCluster()
        for _ in 0..<3 { try db.query("SELECT name FROM customers WHERE id = 1") }
        try db.query("SELECT augur.flush()")
        // Three SELECTs and the INSERT that loaded the table.
        XCTAssertEqual(try db.query("""
            SELECT relation_a, relation_b, calls FROM augur.coaccess('column') WHERE relation_a LIKE 'public.customers.%'
            """), [["public.customers.id", "public.customers.name", "4"]])
        let error = assertServerError("22023") { try db.query("SELECT * FROM augur.coaccess('shard')") }
        XCTAssertEqual(error?.hint, "Use 'relation', 'column' or 'transaction'.")
    }

    /// Calls pg_stat_statements counted before Augur captured a query count too.
    func testPgStatStatementsCallsAreMergedIn() throws {
        let cluster = try startCluster(.init(preload: ["augur", "pg_stat_statements"], settings: ["augur.naptime": "3600"]))
        let db = try cluster.connect()
        try db.query("""
            CREATE EXTENSION augur; CREATE EXTENSION pg_stat_statements;
            CREATE TABLE a(id int); CREATE TABLE b(id int)
            """)
        try db.query("SET augur.track = 'none'")
        for _ in 0..<4 { try db.query("SELECT * FROM a JOIN b USING (id)") }
        try db.query("RESET augur.track")
        try db.query("SELECT * FROM a JOIN b USING (id)")
        try db.query("SELECT augur.flush()")
        XCTAssertEqual(try db.scalar("SELECT calls FROM augur.query WHERE query LIKE 'SELECT * FROM a JOIN b%'"), "1")
        XCTAssertEqual(try db.query("SELECT relation_a, relation_b, calls, round(weight) FROM augur.coaccess()"),
                       [["public.a", "public.b", "5", "5"]])
        try db.query("DROP EXTENSION pg_stat_statements")
        XCTAssertEqual(try db.scalar("SELECT calls FROM augur.coaccess()"), "1")
    }

    /// pg_stat_statements created but not preloaded has nothing to add, and breaks nothing.
    func testPgStatStatementsWithoutPreloadIsIgnored() throws {
        let (_, db) = try schemaCluster()
        try db.query("CREATE EXTENSION pg_stat_statements")
        try db.query("SELECT * FROM customers c JOIN orders o ON o.customer_id = c.id")
        try db.query("SELECT augur.flush()")
        XCTAssertEqual(try db.scalar("SELECT calls FROM augur.coaccess() WHERE relation_a = 'public.customers'"), "1")
    }

    /// customers and items are both used with orders, never together: the predicted pair.
    func testPredictedPairsComeFromSharedNeighbours() throws {
        let (_, db) = try schemaCluster()
        try db.query("SELECT * FROM customers c JOIN orders o ON o.customer_id = c.id")
        try db.query("SELECT * FROM orders o JOIN items i ON i.order_id = o.id")
        try db.query("SELECT augur.flush()")
        XCTAssertEqual(try db.query("SELECT relation_a, relation_b, shared_neighbours FROM augur.coaccess_predicted()"),
                       [["public.customers", "public.items", "1"]])
        // At the column level: each customers column with each items column, through orders' columns.
        XCTAssertEqual(try db.query("""
            SELECT relation_a || ' ' || relation_b FROM augur.coaccess_predicted(5, 'column', 'cosine') ORDER BY 1
            """).map { $0[0] ?? "" },
            ["public.customers.id public.items.order_id", "public.customers.id public.items.sku",
             "public.customers.name public.items.order_id", "public.customers.name public.items.sku"])
        assertServerError("22023") { try db.query("SELECT * FROM augur.coaccess_predicted(0)") }
        assertServerError("22023") { try db.query("SELECT * FROM augur.coaccess_predicted(5, 'shard')") }
        let error = assertServerError("22023") { try db.query("SELECT * FROM augur.coaccess_predicted(5, 'relation', 'magic')") }
        XCTAssertEqual(error?.hint, "Use 'cosine' or 'resource_allocation'.")
    }
}
