import PGHarness
import XCTest

/// Column type changes and dropped objects, recorded by the extension's event triggers.
final class SchemaHistoryTests: ClusterTestCase {
    private func cluster() throws -> Connection {
        try augurCluster(setup: """
            CREATE ROLE app LOGIN;
            CREATE TABLE orders(id int PRIMARY KEY, amount numeric, status text, placed date);
            ALTER TABLE orders OWNER TO app
            """)
    }

    func testTypeChangesAreKeptWithOldAndNewTypeAndWho() throws {
        let db = try cluster()
        try db.query("ALTER TABLE orders ALTER amount TYPE float8, ALTER status TYPE varchar(20), ADD COLUMN note text")
        // Rolled back with its savepoint: not recorded.
        try db.query("BEGIN; SAVEPOINT s; ALTER TABLE orders ALTER id TYPE bigint; ROLLBACK TO s; COMMIT")
        // A failing ALTER leaves nothing behind for the next one.
        assertServerError("42804") { try db.query("ALTER TABLE orders ALTER placed TYPE int") }
        // An owner without any right on Augur's tables is recorded too.
        try db.query("SET ROLE app; ALTER TABLE orders ALTER id TYPE bigint; RESET ROLE")
        XCTAssertEqual(try db.query("""
            SELECT column_name, old_type, new_type, changed_by FROM augur.type_history ORDER BY changed_at, column_name
            """), [["public.orders.amount", "numeric", "double precision", "postgres"],
                   ["public.orders.status", "text", "character varying(20)", "postgres"],
                   ["public.orders.id", "integer", "bigint", "app"]])
    }

    func testDropsAreMarkedAndWhatWasCapturedStaysResolvableByName() throws {
        let db = try cluster()
        try db.query("""
            CREATE VIEW big AS SELECT id FROM orders WHERE amount > 100;
            CREATE TEMP TABLE scratch(x int); DROP TABLE scratch;
            CREATE TABLE archive(id int, amount numeric);
            INSERT INTO archive SELECT id, amount FROM orders;
            SELECT augur.flush();
            ALTER TABLE orders DROP COLUMN placed;
            DROP TABLE orders CASCADE
            """)
        XCTAssertEqual(try db.query("SELECT object_type, name, attnum FROM augur.dropped_object ORDER BY name"),
                       [["view", "public.big", "0"], ["table", "public.orders", "0"],
                        ["table column", "public.orders.placed", "4"]])
        XCTAssertEqual(try db.query("""
            SELECT source_column, d.name IS NOT NULL FROM augur.lineage_upstream('archive', 'amount') l
              LEFT JOIN augur.dropped_object d ON d.name = split_part(l.source_column, '.', 1) || '.'
                                                            || split_part(l.source_column, '.', 2)
            """), [["public.orders.amount", "t"]])
    }
}
