import Foundation
import PGHarness
import XCTest

/// A plain role's functions, called by the statements Augur plans and replays, run with
/// that role's rights, never with those of the superuser who asks for advice or of the
/// worker: a function that writes a server file (which only a superuser may) must never
/// manage to, whether it runs when the statement runs (VOLATILE, replayed by EXPLAIN
/// ANALYZE on the shadow copies) or when it is planned (IMMUTABLE, folded as a constant).
final class ReplayPrivilegeTests: ClusterTestCase {
    private var cluster: Cluster!

    /// The files the role's functions try to write; neither may ever exist.
    private var volatileFile: String { cluster.directory.appendingPathComponent("written-by-volatile").path }
    private var immutableFile: String { cluster.directory.appendingPathComponent("written-by-immutable").path }
    private var indexFile: String { cluster.directory.appendingPathComponent("written-by-an-index-expression").path }

    /// A cluster where `role` owns a table and two functions that try to write a server
    /// file, and has run statements calling them (captured and flushed). Returns the
    /// superuser's connection.
    private func workloadOfAPlainRole(_ role: String = "mallory", settings: [String: String] = [:]) throws -> Connection {
        cluster = try startCluster(.init(settings: ["augur.naptime": "3600"].merging(settings) { $1 }))
        let db = try cluster.connect()
        try db.query("""
            CREATE EXTENSION augur; CREATE EXTENSION hypopg;
            CREATE ROLE \(role) LOGIN;
            GRANT CREATE ON SCHEMA public TO \(role);
            """)
        let plain = try cluster.connect(user: role)
        try plain.query("""
            CREATE TABLE orders (id bigint, customer_id int, amount bigint);
            INSERT INTO orders SELECT g, g % 5000, g % 100 FROM generate_series(1, 200000) g;
            ANALYZE orders;
            CREATE FUNCTION leak() RETURNS int LANGUAGE plpgsql VOLATILE AS $$
            BEGIN
                BEGIN
                    COPY (SELECT current_user) TO '\(volatileFile)';
                EXCEPTION WHEN insufficient_privilege THEN NULL;
                END;
                RAISE NOTICE 'leak() ran as %', current_user;
                RETURN 1;
            END $$;
            SELECT pg_catalog.lo_from_bytea(4242, 'x');
            CREATE FUNCTION folded(int) RETURNS int LANGUAGE plpgsql IMMUTABLE AS $$
            BEGIN
                BEGIN
                    PERFORM pg_catalog.lo_export(4242, '\(immutableFile)');
                EXCEPTION WHEN insufficient_privilege THEN NULL;
                END;
                RAISE NOTICE 'folded() ran as %', current_user;
                RETURN $1;
            END $$;
            -- Index builds on the shadow copies evaluate it for every row.
            CREATE FUNCTION indexed(int) RETURNS int LANGUAGE plpgsql IMMUTABLE AS $$
            BEGIN
                IF $1 = 1 THEN
                    PERFORM pg_catalog.lo_export(4242, '\(indexFile)');
                END IF;
                RETURN $1;
            EXCEPTION WHEN insufficient_privilege THEN RETURN $1;
            END $$;
            CREATE INDEX ON orders (indexed(customer_id));
            """)
        try db.query("SELECT augur.reset()")
        try plain.query((1...30).map { "SELECT count(*) FROM orders WHERE customer_id = \($0) AND leak() = 1;" }
            .joined(separator: "\n"))
        try plain.query((1...30).map { "SELECT count(*) FROM orders WHERE customer_id = folded(\($0));" }
            .joined(separator: "\n"))
        XCTAssertTrue(plain.notices.contains("leak() ran as \(role)"), "the role's own runs: \(plain.notices.prefix(3))")
        try db.query("SELECT augur.flush()")
        return db
    }

    private func assertNoFileWritten(file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertFalse(FileManager.default.fileExists(atPath: volatileFile), "a VOLATILE function ran as superuser",
                       file: file, line: line)
        XCTAssertFalse(FileManager.default.fileExists(atPath: immutableFile), "an IMMUTABLE function ran as superuser",
                       file: file, line: line)
        XCTAssertFalse(FileManager.default.fileExists(atPath: indexFile), "an index expression ran as superuser",
                       file: file, line: line)
    }

    func testIndexAdvicePlansAsTheSenderAndStillAdvises() throws {
        let db = try workloadOfAPlainRole()
        let targets = try db.query("SELECT target FROM augur.recommend_indexes(budget => '100MB')").map { $0[0] }
        assertNoFileWritten()
        XCTAssertTrue(targets.contains("public.orders (customer_id)"), "\(targets)")
        // Planned (the folded function ran at planning), as the role that sent it.
        XCTAssertTrue(db.notices.contains("folded() ran as mallory"), "\(db.notices)")
        XCTAssertFalse(db.notices.contains { $0.contains("ran as postgres") }, "\(db.notices)")
    }

    func testSchemaAdviceReplaysAsTheSenderAndStillMeasures() throws {
        let db = try workloadOfAPlainRole()
        let measured = try db.query("""
            SELECT target, jsonb_array_length(evidence -> 'simulation' -> 'queries')
              FROM augur.recommend_schema(large_table => '1MB') WHERE target LIKE 'public.orders%'
            """)
        assertNoFileWritten()
        // Replayed on the shadow copies (EXPLAIN ANALYZE runs leak()), as the role.
        XCTAssertTrue(db.notices.contains("leak() ran as mallory"), "\(db.notices)")
        XCTAssertFalse(db.notices.contains { $0.contains("ran as postgres") }, "\(db.notices)")
        XCTAssertFalse(measured.isEmpty, "orders' bigint columns hold small values: a narrowing is measured")
        XCTAssertTrue(measured.allSatisfy { (Int($0[1] ?? "") ?? 0) > 0 }, "the role's statements were replayed: \(measured)")
        // Nothing of the simulation stays: no shadow schema, and the copies it changed and
        // dropped are not the user's objects, so no history records them.
        XCTAssertEqual(try db.scalar("SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'augur_shadow%'"), "0")
        XCTAssertEqual(try db.scalar("SELECT count(*) FROM augur.dropped_object WHERE name LIKE 'augur_shadow%'"), "0")
        XCTAssertEqual(try db.scalar("SELECT count(*) FROM augur.type_history WHERE column_name LIKE 'augur_shadow%'"), "0")
        XCTAssertEqual(try db.scalar("ALTER TABLE orders ALTER COLUMN amount TYPE int; SELECT count(*) FROM augur.type_history"), "1",
                       "the user's own changes are still recorded")
    }

    func testTheWorkersOwnAdviceRunsNothingAsSuperuser() throws {
        let db = try workloadOfAPlainRole(settings: ["augur.auto_apply": "indexes", "augur.advise_interval": "0",
                                                    "augur.maintenance_window": "'00:00-12:00, 12:00-00:00'"])
        try db.query("ALTER SYSTEM SET augur.naptime = 1")
        try db.query("ALTER SYSTEM SET augur.advise_interval = '1h'")
        try db.query("SELECT pg_reload_conf()")
        XCTAssertTrue(try cluster.waitUntil(timeout: 90) {
            try db.scalar("SELECT count(*) FROM augur.action_log WHERE action = 'refresh'") == "1"
        })
        assertNoFileWritten()
        XCTAssertEqual(try db.scalar("SELECT count(*) FROM augur.recommendations WHERE target = 'public.orders (customer_id)'"), "1")
    }

    /// A role that no longer exists sent them: its statements are not planned or replayed
    /// at all (its functions now belong to the superuser).
    func testStatementsOfADroppedRoleAreNotReplayed() throws {
        let db = try workloadOfAPlainRole("gone")
        // (Its expression index would now be built as its new owner, the superuser: not a replay.)
        try db.query("DROP FUNCTION indexed(int) CASCADE; REASSIGN OWNED BY gone TO postgres; DROP OWNED BY gone; DROP ROLE gone")
        _ = try db.query("SELECT * FROM augur.recommend_indexes(budget => '100MB')")
        _ = try db.query("SELECT * FROM augur.recommend_schema(large_table => '1MB')")
        assertNoFileWritten()
        XCTAssertFalse(db.notices.contains { $0.contains(" ran as ") }, "\(db.notices)")
    }
}
