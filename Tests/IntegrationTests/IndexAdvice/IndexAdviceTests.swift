import PGHarness
import XCTest

/// Drop advice: duplicates, redundant prefixes and unused indexes, with their DDL, and the
/// status changes a DBA makes.
final class IndexAdviceTests: ClusterTestCase {
    private func cluster() throws -> Connection {
        try augurCluster(setup: """
            CREATE TABLE orders (id int PRIMARY KEY, customer_id int, placed date, status text);
            INSERT INTO orders SELECT g, g % 100, date '2026-01-01' + g % 300, 'new' FROM generate_series(1, 1000) g;
            CREATE INDEX orders_id_again ON orders (id);                       -- duplicates the primary key
            CREATE INDEX orders_customer ON orders (customer_id);              -- leads orders_customer_placed
            CREATE INDEX orders_customer_placed ON orders (customer_id, placed);
            CREATE INDEX orders_status ON orders (status);                     -- never used
            CREATE UNIQUE INDEX orders_placed_id ON orders (placed, id);       -- unique: never proposed
            CREATE INDEX orders_lower_status ON orders (lower(status))         -- an expression, not a prefix
            """)
    }

    func testDropAdviceNamesTheRightIndexesWithTheirDDL() throws {
        let db = try cluster()
        // Statistics are younger than the default 7 days: nothing is called unused yet.
        XCTAssertEqual(try db.query("SELECT target, evidence ->> 'reason', evidence ->> 'kept' FROM augur.recommend_indexes(include_new => false) ORDER BY target"),
                       [["public.orders_customer", "redundant_prefix", "public.orders_customer_placed"],
                        ["public.orders_id_again", "duplicate", "public.orders_pkey"]])
        XCTAssertEqual(try db.scalar("SELECT ddl || ' / ' || rollback_ddl FROM augur.recommendations WHERE target = 'public.orders_customer'"),
                       "DROP INDEX CONCURRENTLY public.orders_customer; / "
                           + "CREATE INDEX CONCURRENTLY orders_customer ON public.orders USING btree (customer_id);")
        XCTAssertEqual(try db.scalar("SELECT estimated_benefit > 0 AND reason LIKE 'its columns lead%' FROM augur.recommendations WHERE target = 'public.orders_customer'"), "t")

        // With unused_after 0, every index never scanned counts, but never a unique one.
        let unused = try db.query("SELECT target FROM augur.recommend_indexes('0', include_new => false) WHERE evidence ->> 'reason' = 'unused' ORDER BY 1").map { $0[0] ?? "" }
        XCTAssertTrue(unused.contains("public.orders_status"), "\(unused)")
        XCTAssertFalse(unused.contains("public.orders_placed_id"))
        XCTAssertFalse(unused.contains("public.orders_pkey"))

        // A refresh with nothing to propose says so and forgets what was only proposed.
        try db.query("DROP INDEX orders_id_again, orders_customer, orders_status, orders_lower_status, orders_customer_placed")
        XCTAssertEqual(try db.query("SELECT * FROM augur.recommend_indexes(include_new => false)"), [])
        XCTAssertEqual(try db.scalar("SELECT count(*) FROM augur.recommendations"), "0")
    }

    func testApproveAndRejectAreCheckedAndLogged() throws {
        let db = try cluster()
        try db.query("SELECT * FROM augur.recommend_indexes(include_new => false)")
        let id = try XCTUnwrap(try db.scalar("SELECT id FROM augur.recommendations WHERE target = 'public.orders_id_again'"))
        XCTAssertEqual(try db.scalar("SELECT status FROM augur.approve($1)", [id]), "approved")
        assertServerError("55000") { try db.query("SELECT * FROM augur.approve($1)", [id]) }
        XCTAssertEqual(try db.scalar("SELECT status FROM augur.reject($1)", [id]), "rejected")
        assertServerError("22023") { try db.query("SELECT * FROM augur.approve(424242)") }
        XCTAssertEqual(try db.query("SELECT action, outcome, actor FROM augur.action_log ORDER BY id"),
                       [["approve", "approved", "postgres"], ["reject", "rejected", "postgres"]])
        // A rejected index is not proposed again.
        try db.query("SELECT * FROM augur.recommend_indexes(include_new => false)")
        XCTAssertEqual(try db.scalar("SELECT string_agg(status, ',') FROM augur.recommendations WHERE target = 'public.orders_id_again'"),
                       "rejected")
    }
}
