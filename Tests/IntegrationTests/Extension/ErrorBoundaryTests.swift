import PGHarness
import XCTest

/// Swift -> shim -> PostgreSQL ERROR -> Swift throw -> C ereport, over and over.
/// The probe is a test-only entry point: the extension script does not declare it.
final class ErrorBoundaryTests: ClusterTestCase {
    private func probeSession(_ cluster: Cluster) throws -> Connection {
        let db = try cluster.connect()
        try db.query("""
            CREATE FUNCTION spi_probe(sql text, params text[] DEFAULT '{}') RETURNS text
                LANGUAGE c STRICT AS 'augur', 'augur_sql_spi_probe'
            """)
        return db
    }

    private func backendMemory(_ db: Connection) throws -> Int {
        Int(try db.scalar("SELECT sum(total_bytes) FROM pg_backend_memory_contexts") ?? "") ?? -1
    }

    func testTenThousandErrorsKeepTheSessionAndItsMemory() throws {
        let cluster = try startCluster()
        let db = try probeSession(cluster)
        XCTAssertEqual(try db.scalar("SELECT spi_probe('SELECT generate_series(1, 42)')"), "42: 1")

        func raiseOnce(_ iteration: Int) {
            assertServerError("22012", "iteration \(iteration)") { try db.query("SELECT spi_probe('SELECT 1/0')") }
        }
        for iteration in 0..<1_000 { raiseOnce(iteration) }   // warm caches
        let before = try backendMemory(db)
        for iteration in 1_000..<10_000 { raiseOnce(iteration) }
        let after = try backendMemory(db)
        XCTAssertLessThan(after - before, 64 * 1024, "backend memory grew from \(before) to \(after) bytes")

        // Other SQLSTATEs travel intact, with detail and hint.
        assertServerError("42P01") { try db.query("SELECT spi_probe('SELECT * FROM no_such_table')") }
        let raised = assertServerError("P0001") {
            try db.query("""
                SELECT spi_probe($q$DO $b$ BEGIN RAISE EXCEPTION 'boom' USING ERRCODE = 'P0001',
                    DETAIL = 'the detail', HINT = 'the hint'; END $b$ $q$)
                """)
        }
        XCTAssertEqual([raised?.message, raised?.detail, raised?.hint], ["boom", "the detail", "the hint"])
        // Effects of a statement that succeeds are kept; a failing one leaves nothing behind.
        try db.query("CREATE TABLE t(x int)")
        XCTAssertEqual(try db.scalar("SELECT spi_probe('INSERT INTO t VALUES (3)')"), "1")
        XCTAssertEqual(try db.scalar("SELECT spi_probe('INSERT INTO t VALUES ($1::int) RETURNING x', '{4}')"), "1: 4")
        try db.query("DELETE FROM t WHERE x = 4")
        assertServerError("22012") { try db.query("SELECT spi_probe('INSERT INTO t VALUES (2), (1/0)')") }
        XCTAssertEqual(try db.scalar("SELECT string_agg(x::text, ',') FROM t"), "3")
        XCTAssertEqual(try db.scalar("SELECT 1"), "1")
    }

    func testParametersAndTypedValuesCrossTheBoundary() throws {
        let cluster = try startCluster()
        let db = try probeSession(cluster)
        XCTAssertEqual(try db.scalar("""
            SELECT spi_probe($q$SELECT $1::bigint + 1, $2::float8 / 4, $3 = 'x', $4, $5::int IS NULL,
                                       $6, 12.50::numeric, NULL::int$q$,
                             ARRAY['9223372036854775806', '3', 'x', 'it''s ünïcödé', NULL, 'multi
            line'])
            """), "1: 9223372036854775807, 0.75, true, 'it''s ünïcödé', true, 'multi\nline', '12.50', NULL")
        assertServerError("22P02") { try db.query("SELECT spi_probe('SELECT $1::int', ARRAY['not a number'])") }
        assertServerError("42P02") { try db.query("SELECT spi_probe('SELECT $1::int + $2::int', ARRAY['1'])") }
    }

    func testCancelMidCallReturnsQueryCanceledAndTheSessionLives() throws {
        let cluster = try startCluster()
        let db = try probeSession(cluster)
        let monitor = try cluster.connect()
        let before = try backendMemory(db)
        for _ in 0..<5 {
            try db.send("SELECT spi_probe('SELECT pg_sleep(60)')")
            XCTAssertTrue(try cluster.waitUntil(timeout: 10) {
                try monitor.scalar("SELECT wait_event FROM pg_stat_activity WHERE pid = \(db.backendPID)") == "PgSleep"
            })
            XCTAssertEqual(try monitor.scalar("SELECT pg_cancel_backend(\(db.backendPID))"), "t")
            assertServerError("57014") { try db.finish() }
            XCTAssertEqual(try db.scalar("SELECT spi_probe('SELECT 1')"), "1: 1")
        }
        XCTAssertLessThan(try backendMemory(db) - before, 64 * 1024)
    }
}
