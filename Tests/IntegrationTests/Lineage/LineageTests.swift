import PGHarness
import XCTest

/// Column-level lineage of INSERT ... SELECT and UPDATE ... SET.
final class LineageTests: ClusterTestCase {
    private func lineageCluster() throws -> Connection {
        try augurCluster(setup: """
            CREATE TABLE raw_orders(id int, customer text, amount numeric, status text);
            CREATE TABLE orders(id bigint, customer text, amount numeric);
            CREATE TABLE totals(customer text, total numeric, n bigint);
            CREATE TABLE ranked(customer text, total numeric)
            """)
    }

    /// "target<-source:SUBTYPE ..." of the edges written by statements matching `text`.
    private func edges(_ db: Connection, _ text: String) throws -> String? {
        try db.scalar("""
            SELECT string_agg(e.target_column || '<-' || e.source_column || ':' || e.subtype, ' '
                              ORDER BY e.target_column, e.source_column, e.subtype)
              FROM augur.lineage_edge e JOIN augur.query q USING (dbid, queryid) WHERE q.query LIKE $1
            """, [text])
    }

    func testDirectAndIndirectEdges() throws {
        let db = try lineageCluster()
        let cases: [(sql: String, text: String, expected: String)] = [
            ("INSERT INTO orders SELECT id, customer, amount FROM raw_orders WHERE status = 'ok'",
             "INSERT INTO orders SELECT%",
             "public.orders.amount<-public.raw_orders.amount:IDENTITY public.orders.amount<-public.raw_orders.status:FILTER "
                 + "public.orders.customer<-public.raw_orders.customer:IDENTITY public.orders.customer<-public.raw_orders.status:FILTER "
                 + "public.orders.id<-public.raw_orders.id:IDENTITY public.orders.id<-public.raw_orders.status:FILTER"),
            ("INSERT INTO totals SELECT customer, sum(amount) * 1.2, count(*) FROM orders GROUP BY customer",
             "INSERT INTO totals SELECT%",
             "public.totals.customer<-public.orders.customer:GROUP_BY public.totals.customer<-public.orders.customer:IDENTITY "
                 + "public.totals.n<-public.orders.customer:GROUP_BY "
                 + "public.totals.total<-public.orders.amount:AGGREGATION public.totals.total<-public.orders.customer:GROUP_BY"),
            ("UPDATE orders SET amount = amount * 2 WHERE customer = 'x'",
             "UPDATE orders SET amount%",
             "public.orders.amount<-public.orders.amount:TRANSFORMATION public.orders.amount<-public.orders.customer:FILTER"),
            ("WITH big AS (SELECT customer, amount AS total FROM orders) INSERT INTO ranked SELECT b.customer, b.total FROM big b",
             "WITH big AS%",
             "public.ranked.customer<-public.orders.customer:IDENTITY public.ranked.total<-public.orders.amount:IDENTITY"),
            ("INSERT INTO orders (id) SELECT o.id FROM raw_orders o JOIN totals t ON t.customer = o.customer",
             "INSERT INTO orders (id) SELECT%",
             "public.orders.id<-public.raw_orders.customer:JOIN public.orders.id<-public.raw_orders.id:IDENTITY "
                 + "public.orders.id<-public.totals.customer:JOIN"),
        ]
        for item in cases { try db.query(item.sql) }
        try db.query("SELECT augur.flush()")
        for item in cases { XCTAssertEqual(try edges(db, item.text), item.expected, item.sql) }
        XCTAssertEqual(try db.scalar("SELECT kind FROM augur.lineage_edge WHERE subtype = 'GROUP_BY' LIMIT 1"), "INDIRECT")
    }

    /// Lineage belongs to the object written, not to the text: the same CREATE TABLE AS
    /// writing another table (another schema on the search_path, the same name after a
    /// DROP) records the new table's lineage too.
    func testOneTextWritingAnotherObjectRecordsItsLineage() throws {
        let db = try augurCluster(setup: """
            CREATE SCHEMA s1; CREATE SCHEMA s2;
            CREATE TABLE s1.z (a int); CREATE TABLE s2.z (a int);
            SET search_path = s1; CREATE TABLE tgt AS SELECT a FROM z;
            SET search_path = s2; CREATE TABLE tgt AS SELECT a FROM z;   -- in the same flush window
            SELECT augur.flush();
            SET search_path = s1; DROP TABLE tgt; CREATE TABLE tgt AS SELECT a FROM z;
            SELECT augur.flush();
            """)
        XCTAssertEqual(try db.query("""
            SELECT DISTINCT e.target_relid = to_regclass('s1.tgt'), e.target_column, e.source_column
              FROM augur.lineage_edge e JOIN augur.query q USING (dbid, queryid)
             WHERE q.query = 'CREATE TABLE tgt AS SELECT a FROM z' ORDER BY 2, 1
            """), [["f", "s1.tgt.a", "s1.z.a"], ["t", "s1.tgt.a", "s1.z.a"], ["f", "s2.tgt.a", "s2.z.a"]])
    }

    func testUpstreamAndDownstreamFollowEdgesTransitively() throws {
        let db = try lineageCluster()
        try db.query("INSERT INTO orders SELECT id, customer, amount FROM raw_orders")
        try db.query("INSERT INTO totals SELECT customer, sum(amount), count(*) FROM orders GROUP BY customer")
        try db.query("SELECT augur.flush()")
        XCTAssertEqual(try db.query("""
            SELECT hop, target_column, source_column, subtype FROM augur.lineage_upstream('totals', 'total')
            """), [["1", "public.totals.total", "public.orders.amount", "AGGREGATION"],
                   ["1", "public.totals.total", "public.orders.customer", "GROUP_BY"],
                   ["2", "public.orders.amount", "public.raw_orders.amount", "IDENTITY"],
                   ["2", "public.orders.customer", "public.raw_orders.customer", "IDENTITY"]])
        XCTAssertEqual(try db.query("SELECT count(*) FROM augur.lineage_upstream('totals', 'total', 1)"), [["2"]])
        XCTAssertEqual(try db.query("""
            SELECT hop, target_column, source_column, subtype FROM augur.lineage_downstream('raw_orders', 'amount')
            """), [["1", "public.orders.amount", "public.raw_orders.amount", "IDENTITY"],
                   ["2", "public.totals.total", "public.orders.amount", "AGGREGATION"]])
        assertServerError("42703") { try db.query("SELECT * FROM augur.lineage_upstream('totals', 'nope')") }
        assertServerError("42P01") { try db.query("SELECT * FROM augur.lineage_upstream('no_such_table')") }
        assertServerError("22023") { try db.query("SELECT * FROM augur.lineage_upstream('totals', depth => 0)") }
    }

    func testOpenLineageFacetAndDot() throws {
        let db = try lineageCluster()
        try db.query("INSERT INTO orders SELECT id, customer, amount FROM raw_orders WHERE status = 'ok'")
        try db.query("SELECT augur.flush()")
        let namespace = "postgres://" + (try db.scalar("SELECT coalesce(host(inet_server_addr()), 'localhost') || ':' || current_setting('port')") ?? "")
        XCTAssertTrue(namespace.hasPrefix("postgres://127.0.0.1:"), namespace)
        func input(_ field: String, _ kind: String, _ subtype: String) -> String {
            #"{"name": "postgres.public.raw_orders", "field": ""# + field + #"", "namespace": ""# + namespace
                + #"", "transformations": [{"type": ""# + kind + #"", "masking": false, "subtype": ""# + subtype
                + #"", "description": ""}]}"#
        }
        XCTAssertEqual(try db.scalar("""
            SELECT augur.lineage_openlineage('orders') -> 'fields' -> 'amount' -> 'inputFields'
            """), "[" + input("amount", "DIRECT", "IDENTITY") + ", " + input("status", "INDIRECT", "FILTER") + "]")
        XCTAssertEqual(try db.scalar("SELECT jsonb_object_keys(augur.lineage_openlineage('orders') -> 'fields') ORDER BY 1 LIMIT 1"), "amount")
        XCTAssertEqual(try db.scalar("SELECT augur.lineage_openlineage('totals')"), #"{"fields": {}}"#)
        let dot = try XCTUnwrap(try db.scalar("SELECT augur.lineage_dot()"))
        XCTAssertTrue(dot.hasPrefix("digraph lineage {"), dot)
        XCTAssertTrue(dot.contains(#"  "public.raw_orders.amount" -> "public.orders.amount" [label="IDENTITY"];"#), dot)
        XCTAssertTrue(dot.contains(#"  "public.raw_orders.status" -> "public.orders.id" [label="FILTER", style=dashed];"#), dot)
    }
}
