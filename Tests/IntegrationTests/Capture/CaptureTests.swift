import PGHarness
import XCTest

/// Per-query execution statistics: captured by the executor hooks, flushed to augur.query.
final class CaptureTests: ClusterTestCase {
    /// A cluster with the extension created; the worker naps an hour so that tests decide
    /// when to flush (augur.flush()).
    private func captureCluster(_ settings: [String: String] = [:]) throws -> (Cluster, Connection) {
        let cluster = try startCluster(.init(settings: ["augur.naptime": "3600"].merging(settings) { $1 }))
        let db = try cluster.connect()
        try db.query("CREATE EXTENSION augur")
        try db.query("CREATE TABLE t(x int)")
        try db.query("INSERT INTO t SELECT generate_series(1, 10)")
        return (cluster, db)
    }

    private func row(_ db: Connection, _ pattern: String) throws -> [String?]? {
        try db.query("""
            SELECT calls, rows, total_exec_time, toplevel, query FROM augur.queries
             WHERE query LIKE $1 ORDER BY calls DESC
            """, [pattern]).first
    }

    func testCountsRowsTimeAndNormalizedText() throws {
        let (_, db) = try captureCluster()
        for limit in 1...5 { try db.query("SELECT x, 'secret-\(limit)' FROM t WHERE x <= \(limit)") }
        try db.query("SELECT pg_sleep(0.05) FROM t WHERE x = 1")
        assertServerError("22012", "capture changed the statement's error") { try db.query("SELECT x / 0 FROM t") }
        try db.query("SELECT augur.flush()")

        let captured = try XCTUnwrap(try row(db, "SELECT x, % FROM t WHERE x <= %"))
        XCTAssertEqual(captured[0], "5")
        XCTAssertEqual(captured[1], "15")            // 1 + 2 + 3 + 4 + 5 rows
        XCTAssertEqual(captured[3], "t")
        XCTAssertEqual(captured[4], "SELECT x, $1 FROM t WHERE x <= $2")
        XCTAssertEqual(try db.scalar("SELECT count(*) FROM augur.query WHERE query LIKE '%secret%'"), "0")

        let sleep = try XCTUnwrap(try row(db, "SELECT pg_sleep(%"))
        XCTAssertGreaterThanOrEqual(Double(sleep[2] ?? "") ?? 0, 50, "pg_sleep(0.05) measured below 50 ms")
        // A statement that failed never reached ExecutorEnd: its text is kept, no call counted.
        XCTAssertEqual(try row(db, "SELECT x / $1 FROM t")?[0], "0")
        // The collector's own statements are not part of the workload.
        XCTAssertEqual(try db.scalar("SELECT count(*) FROM augur.query WHERE query LIKE '%augur.query%'"), "0")
    }

    func testErrorsAreCountedBySQLStateAndQuery() throws {
        let (cluster, db) = try captureCluster()
        try db.query("CREATE DATABASE other")
        let other = try cluster.connect(database: "other")
        for _ in 0..<3 { assertServerError("22012") { try db.query("SELECT x / 0 FROM t") } }
        assertServerError("42601") { try db.query("SELEC 1") }
        assertServerError("42P01") { try other.query("SELECT * FROM missing_table") }
        try db.query("SELECT augur.flush()")
        XCTAssertEqual(try db.query("""
            SELECT database, sqlstate, count, query, queryid = 0 FROM augur.errors ORDER BY database, sqlstate
            """), [["other", "42P01", "1", nil, "t"],
                   ["postgres", "22012", "3", "SELECT x / $1 FROM t", "f"],
                   ["postgres", "42601", "1", nil, "t"]])
        // Counts accumulate across flushes.
        assertServerError("22012") { try db.query("SELECT x / 0 FROM t") }
        try db.query("SELECT augur.flush()")
        XCTAssertEqual(try db.scalar("SELECT count FROM augur.errors WHERE sqlstate = '22012'"), "4")
    }

    func testParallelQueryCountsOnce() throws {
        let (_, db) = try captureCluster()
        try db.query("CREATE TABLE big AS SELECT generate_series(1, 100000) AS x; ANALYZE big")
        try db.query("""
            SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0; SET min_parallel_table_scan_size = 0;
            SET max_parallel_workers_per_gather = 2
            """)
        let plan = try db.query("EXPLAIN (ANALYZE, COSTS OFF) SELECT count(*) FROM big").map { $0[0] ?? "" }
        XCTAssertTrue(plan.contains { $0.contains("Workers Launched: 2") }, plan.joined(separator: "\n"))
        for _ in 0..<3 { try db.query("SELECT count(*) FROM big") }
        try db.query("SELECT augur.flush()")
        XCTAssertEqual(try row(db, "SELECT count(*) FROM big")?[0], "3")
    }

    func testTrackTopOrAllFollowsNesting() throws {
        let (_, db) = try captureCluster()
        try db.query("""
            CREATE FUNCTION count_big() RETURNS bigint LANGUAGE plpgsql AS
            $$ BEGIN RETURN (SELECT count(*) FROM t WHERE x > 5); END $$
            """)
        try db.query("SELECT count_big()")
        try db.query("SET augur.track = 'all'")
        try db.query("SELECT count_big()")
        try db.query("SET augur.track = 'none'")
        try db.query("SELECT count_big()")
        try db.query("RESET augur.track")
        try db.query("SELECT augur.flush()")
        XCTAssertEqual(try row(db, "SELECT count_big()")?[0], "2", "track=none still captured")
        // (Not the CREATE FUNCTION, whose text holds the same words.)
        let nested = try XCTUnwrap(try row(db, "(SELECT count(*) FROM t WHERE x > %"))
        XCTAssertEqual(nested[0], "1")
        XCTAssertEqual(nested[3], "f")
    }

    /// 100,000 distinct query ids through a 1,000-entry table: it stays at its size, no
    /// shared memory is taken from the server's free pool, and evictions are counted.
    func testHundredThousandQueryIDsKeepSharedMemoryFixed() throws {
        let (_, db) = try captureCluster(["augur.max_queries": "1000", "augur.track": "all"])
        try db.query("CREATE TABLE wide(" + (1...400).map { "c\($0) int" }.joined(separator: ", ") + ")")
        let freeShared = "SELECT allocated_size FROM pg_shmem_allocations WHERE name IS NULL"
        let freeBefore = try db.scalar(freeShared)
        try db.query("""
            DO $$ BEGIN
                FOR i IN 1..400 LOOP FOR j IN 1..250 LOOP
                    EXECUTE format('SELECT c%s, c%s FROM wide', i, j);
                END LOOP; END LOOP;
            END $$
            """)
        XCTAssertEqual(try db.scalar(freeShared), freeBefore)
        let status = try db.query("SELECT entries, max_queries, evictions FROM augur.capture_status")[0]
        XCTAssertLessThanOrEqual(Int(status[0] ?? "") ?? .max, 1000)
        XCTAssertEqual(status[1], "1000")
        XCTAssertGreaterThanOrEqual(Int(status[2] ?? "") ?? 0, 99_000)
        XCTAssertGreaterThan(Int(try db.scalar("SELECT augur.flush()") ?? "") ?? 0, 0)
    }

    func testOthersSeeNoTextOrQueryID() throws {
        let (cluster, db) = try captureCluster()
        try db.query("""
            CREATE ROLE alice LOGIN; CREATE ROLE bob LOGIN;
            CREATE ROLE auditor LOGIN IN ROLE pg_read_all_stats; GRANT SELECT ON t TO alice, bob
            """)
        func session(_ user: String) throws -> Connection {
            try Connection(conninfo: cluster.conninfo.replacingOccurrences(of: "user=postgres", with: "user=\(user)"))
        }
        let alice = try session("alice"), bob = try session("bob"), auditor = try session("auditor")
        try alice.query("SELECT x FROM t WHERE x = 7")
        try bob.query("SELECT x FROM t WHERE x < 3")
        try db.query("SELECT augur.flush()")
        let sql = "SELECT username, queryid IS NULL, query FROM augur.queries WHERE username IN ('alice', 'bob') ORDER BY 1"
        XCTAssertEqual(try bob.query(sql), [["alice", "t", "<insufficient privilege>"],
                                            ["bob", "f", "SELECT x FROM t WHERE x < $1"]])
        XCTAssertEqual(try auditor.query(sql).map { $0[2] }, ["SELECT x FROM t WHERE x = $1", "SELECT x FROM t WHERE x < $1"])
        assertServerError("42501") { try bob.query("SELECT * FROM augur.query") }
        assertServerError("42501") { try bob.query("SELECT augur.flush()") }
    }

    func testFlushedHistorySurvivesARestartAndKeepsAccumulating() throws {
        let (cluster, db) = try captureCluster()
        for _ in 0..<3 { try db.query("SELECT count(*) FROM t") }
        try db.query("SELECT augur.flush()")
        try cluster.restart()
        let again = try cluster.connect()
        XCTAssertEqual(try row(again, "SELECT count(*) FROM t")?[0], "3")
        for _ in 0..<2 { try again.query("SELECT count(*) FROM t") }
        try again.query("SELECT augur.flush()")
        XCTAssertEqual(try row(again, "SELECT count(*) FROM t")?[0], "5")
    }

    func testTheWorkerFlushesOnItsOwn() throws {
        let (cluster, db) = try captureCluster(["augur.naptime": "1"])
        try db.query("SELECT sum(x) FROM t")
        XCTAssertTrue(try cluster.waitUntil(timeout: 15) { try row(db, "SELECT sum(x) FROM t") != nil })
        XCTAssertNotNil(try db.scalar("SELECT last_flush_at FROM augur.capture_status"))
    }

    func testDropTableDuringCaptureGivesUsersOnlyTheirOwnErrors() throws {
        let (cluster, db) = try captureCluster()
        let other = try cluster.connect()
        for round in 0..<20 {
            try db.query("CREATE TABLE IF NOT EXISTS churn(x int)")
            try other.send("SELECT count(*) FROM churn")
            try db.query("DROP TABLE IF EXISTS churn")
            do {
                try other.finish()
            } catch let error as ServerError {
                XCTAssertEqual(error.sqlstate, "42P01", "round \(round): \(error)")
            }
        }
        XCTAssertEqual(try db.scalar("SELECT augur.flush() >= 0"), "t")
    }

    func testFlushOutsideTheAugurDatabaseIsRefused() throws {
        let (cluster, db) = try captureCluster()
        try db.query("CREATE DATABASE elsewhere")
        let elsewhere = try cluster.connect(database: "elsewhere")
        try elsewhere.query("CREATE EXTENSION augur")
        let error = assertServerError("55000") { try elsewhere.query("SELECT augur.flush()") }
        XCTAssertTrue(error?.hint?.contains("augur.database") ?? false, "\(String(describing: error))")
        // Queries from every database are captured into augur.database's table.
        try elsewhere.query("SELECT 'from elsewhere' AS marker")
        try db.query("SELECT augur.flush()")
        XCTAssertEqual(try db.scalar("SELECT database FROM augur.queries WHERE query LIKE '%AS marker'"), "elsewhere")
    }
}
