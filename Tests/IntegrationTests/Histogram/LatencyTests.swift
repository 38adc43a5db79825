import PGHarness
import XCTest

/// Per-query latency histograms, from ExecutorEnd through the flush to SQL.
final class LatencyTests: ClusterTestCase {
    private func queryid(_ db: Connection, _ text: String) throws -> String {
        try XCTUnwrap(try db.scalar("SELECT queryid FROM augur.query WHERE query = $1", [text]))
    }

    /// The q-quantile (rank ⌈q·n⌉) of the server log's execute durations, in ms.
    private func loggedQuantile(_ cluster: Cluster, _ q: Double) -> Double {
        let durations = cluster.serverLog.split(separator: "\n").compactMap { line -> Double? in
            guard line.contains("execute <unnamed>: SELECT pg_sleep($1)"),
                  let range = line.range(of: "duration: ") else { return nil }
            return Double(line[range.upperBound...].prefix { $0 != " " })
        }.sorted()
        guard !durations.isEmpty else { return .nan }
        return durations[max(Int((q * Double(durations.count)).rounded(.up)) - 1, 0)]
    }

    /// 900 executions near 1 ms and 300 near 10 ms: p50 is in the fast mode, p99 in the slow
    /// one, and each reported interval holds the true quantile, read from the server log.
    func testBimodalLatencyGivesP50AndP99WithHonestBounds() throws {
        let cluster = try startCluster(.init(settings: ["augur.naptime": "3600", "log_min_duration_statement": "0"]))
        let db = try cluster.connect()
        try db.query("CREATE EXTENSION augur")
        for i in 0..<1200 { try db.query("SELECT pg_sleep($1)", [i % 4 == 3 ? "0.010" : "0.001"]) }
        try db.query("SELECT augur.flush()")
        let id = try queryid(db, "SELECT pg_sleep($1)")
        let rows = try db.query("SELECT q, value_ms, lower_ms, upper_ms, error_bound, count FROM augur.latency_quantiles($1, '{0.5,0.99}')", [id])
        XCTAssertEqual(rows.count, 2)
        for (row, q) in zip(rows, [0.5, 0.99]) {
            let (value, lower, upper, bound) = (Double(row[1] ?? "") ?? -1, Double(row[2] ?? "") ?? -1,
                                                Double(row[3] ?? "") ?? -1, Double(row[4] ?? "") ?? -1)
            XCTAssertLessThanOrEqual(lower, value)
            XCTAssertLessThanOrEqual(value, upper)
            // The bound is the estimate's own worst error over [lower, upper], at most
            // 1.25× the harmonic mean's (the tightest any estimate could have).
            XCTAssertEqual(bound, max((value - lower) / lower, (upper - value) / upper), accuracy: 1e-9)
            XCTAssertLessThanOrEqual(bound, 1.25 * (upper - lower) / (upper + lower) + 1e-9)
            XCTAssertEqual(row[5], "1200")
            // The log's execute phase also counts a little outside the executor: 0.3 ms slack.
            let logged = loggedQuantile(cluster, q)
            XCTAssertTrue(lower <= logged && logged - 0.3 <= upper, "q \(q): logged \(logged) ms, reported \(row)")
        }
        XCTAssertLessThan(Double(rows[0][1] ?? "") ?? 99, 5, "p50 is in the fast mode: \(rows[0])")
        XCTAssertGreaterThan(Double(rows[1][1] ?? "") ?? 0, 8, "p99 is in the slow mode: \(rows[1])")

        // The refinements the layout made are recorded once, with when they came; every
        // bucket of the histogram says when it came to be.
        let refinements = try db.query("""
            SELECT level, lower_ns, upper_ns, created_at, merged_at IS NULL FROM augur.histogram_bucket WHERE queryid = $1
            """, [id])
        XCTAssertFalse(refinements.isEmpty)
        XCTAssertTrue(refinements.allSatisfy { ($0[0] == "2" || $0[0] == "3") && $0[4] == "t" }, "\(refinements)")
        XCTAssertEqual(try db.scalar("SELECT count(*) FROM augur.latency_histogram($1) WHERE created_at IS NULL", [id]), "0")
        XCTAssertEqual(try db.scalar("""
            SELECT count(*) FROM augur.latency_histogram($1) h
             WHERE h.level >= 2 AND h.created_at <> (SELECT min(created_at) FROM augur.histogram_bucket)
            """, [id]), "0")
        XCTAssertEqual(try db.scalar("SELECT count(*) FROM augur.histogram_events WHERE queryid = $1 AND event = 'created'", [id]),
                       String(refinements.count))
        // A refinement the layout no longer has is recorded as merged back at the next flush.
        try db.query("""
            INSERT INTO augur.histogram_bucket (userid, dbid, queryid, toplevel, level, lower_ns, upper_ns, created_at)
            SELECT userid, dbid, queryid, toplevel, 3, 1, 2, now() - interval '1 hour' FROM augur.histogram WHERE queryid = $1
            """, [id])

        // A second flush window merges into the cumulative histogram.
        for _ in 0..<100 { try db.query("SELECT pg_sleep($1)", ["0.001"]) }
        try db.query("SELECT augur.flush()")
        XCTAssertEqual(try db.scalar("SELECT sum(count) FROM augur.latency_histogram($1)", [id]), "1300")
        XCTAssertEqual(try db.scalar("SELECT count(DISTINCT window_end) FROM augur.histogram_delta WHERE queryid = $1", [id]), "2")
        XCTAssertEqual(try db.scalar("SELECT sum(count) FROM augur.histogram_delta WHERE queryid = $1", [id]), "1300")
        XCTAssertEqual(try db.query("SELECT event, level FROM augur.histogram_events WHERE queryid = $1 AND lower_ms = 1e-6", [id]),
                       [["created", "3"], ["merged", "3"]])
        XCTAssertEqual(try db.scalar("SELECT count(*) FROM augur.histogram_bucket WHERE queryid = $1 AND merged_at IS NOT NULL", [id]),
                       "1", "the layout's own refinements stay open")

        assertServerError("22023") { try db.query("SELECT * FROM augur.latency_quantiles($1, '{1.5}')", [id]) }
        assertServerError("22004") { try db.query("SELECT * FROM augur.latency_quantiles($1, '{0.5,NULL}')", [id]) }
        XCTAssertEqual(try db.query("SELECT * FROM augur.latency_quantiles(42)"), [])
    }

    /// Under 1 KiB the compact layout records in shared memory and flushes like the tiered
    /// one: the reported intervals hold the logged quantiles. After a restart with 2 KiB
    /// the cumulative histogram starts again in the tiered layout (a LOG line says so),
    /// and the flush goes on.
    func testCompactLayoutInTheServerAndARestartIntoTheTieredOne() throws {
        let cluster = try startCluster(.init(settings: ["augur.naptime": "3600", "log_min_duration_statement": "0",
                                                        "augur.histogram_bytes": "512"]))
        var db = try cluster.connect()
        try db.query("CREATE EXTENSION augur")
        for i in 0..<400 { try db.query("SELECT pg_sleep($1)", [i % 4 == 3 ? "0.010" : "0.001"]) }
        try db.query("SELECT augur.flush()")
        let id = try queryid(db, "SELECT pg_sleep($1)")
        XCTAssertEqual(try db.scalar("SELECT get_byte(histogram, 0) FROM augur.histogram WHERE queryid = $1", [id]), "2")
        let rows = try db.query("SELECT lower_ms, upper_ms, count FROM augur.latency_quantiles($1, '{0.5,0.99}')", [id])
        for (row, q) in zip(rows, [0.5, 0.99]) {
            let (lower, upper) = (Double(row[0] ?? "") ?? -1, Double(row[1] ?? "") ?? -1)
            let logged = loggedQuantile(cluster, q)
            XCTAssertTrue(lower <= logged && logged - 0.3 <= upper, "q \(q): logged \(logged) ms, reported \(row)")
            XCTAssertEqual(row[2], "400")
        }
        XCTAssertEqual(try db.scalar("SELECT count(*) FROM augur.latency_histogram($1) WHERE level = 1", [id]),
                       try db.scalar("SELECT count(*) FROM augur.latency_histogram($1) WHERE level = 1 AND upper_ms > lower_ms", [id]))
        // Another user's histogram of the same query, not flushed again after the restart.
        try db.query("CREATE ROLE other LOGIN")
        let other = try Connection(conninfo: cluster.conninfo.replacingOccurrences(of: "user=postgres", with: "user=other"))
        for _ in 0..<20 { try other.query("SELECT pg_sleep($1)", ["0.001"]) }
        try db.query("SELECT augur.flush()")

        try db.query("ALTER SYSTEM SET augur.histogram_bytes = 2048")
        try cluster.restart()
        db = try cluster.connect()
        for _ in 0..<50 { try db.query("SELECT pg_sleep($1)", ["0.001"]) }
        try db.query("SELECT augur.flush()")
        XCTAssertEqual(try db.query("""
            SELECT get_byte(histogram, 0) || ' ' || count FROM augur.histogram WHERE queryid = $1 ORDER BY count
            """, [id]).map { $0[0] }, ["2 20", "1 50"])
        XCTAssertTrue(cluster.serverLog.contains("cumulative latency histograms restarted"))
        // The two layouts do not merge; their cells are summed instead, with bounds.
        let both = try db.query("SELECT lower_ms, error_bound, count FROM augur.latency_quantiles($1, '{0.5}')", [id])
        XCTAssertEqual(both.map { $0[2] }, ["70"])
        XCTAssertGreaterThanOrEqual(Double(both[0][0] ?? "") ?? 0, 1.0)   // pg_sleep(0.001) takes 1 ms at least
        XCTAssertLessThan(Double(both[0][1] ?? "") ?? 1, 0.05)
        XCTAssertEqual(try db.scalar("SELECT sum(count) FROM augur.latency_histogram($1)", [id]), "70")
        // The windows before the restart are still there for time-range quantiles.
        XCTAssertEqual(try db.scalar("""
            SELECT count FROM augur.latency_quantiles($1, '{0.5}', now() - interval '1 hour', now())
            """, [id]), "470")
    }

    func testHistogramsCanBeTurnedOff() throws {
        let cluster = try startCluster(.init(settings: ["augur.naptime": "3600", "augur.histogram_bytes": "0"]))
        let db = try cluster.connect()
        try db.query("CREATE EXTENSION augur")
        for _ in 0..<5 { try db.query("SELECT 1") }
        try db.query("SELECT augur.flush()")
        XCTAssertEqual(try db.scalar("SELECT calls FROM augur.query WHERE query = 'SELECT $1'"), "5")
        XCTAssertEqual(try db.scalar("SELECT count(*) FROM augur.histogram"), "0")
    }

    /// A query whose latency steps up 8x: the change is found in its flush windows, and
    /// quantiles over a time range see either regime. (At 4x, an old window slowed by the
    /// other tests on a 2-core machine was once taken for the change's start.)
    func testLatencyStepIsDetectedAndRangesSeeEachRegime() throws {
        let cluster = try startCluster(.init(settings: ["augur.naptime": "3600", "augur.track": "'all'"]))
        let db = try cluster.connect()
        try db.query("CREATE EXTENSION augur")
        func window(_ n: Int) throws {
            try db.query("""
                DO $$ DECLARE n int := \(n); BEGIN
                    FOR i IN 1..1000 LOOP PERFORM count(*) FROM generate_series(1, n); END LOOP;
                END $$
                """)
            try db.query("SELECT augur.flush()")
        }
        for _ in 0..<10 { try window(2_000) }
        let stepped = try XCTUnwrap(try db.scalar("SELECT clock_timestamp()"))
        for _ in 0..<6 { try window(16_000) }
        let id = try XCTUnwrap(try db.scalar("SELECT queryid FROM augur.query WHERE query LIKE 'SELECT count(*) FROM generate_series%'"))

        let changes = try db.query("""
            SELECT started_at > $2::timestamptz, detected_at > $2::timestamptz, after_p50_ms / before_p50_ms
              FROM augur.latency_changes($1)
            """, [id, stepped])
        XCTAssertEqual(changes.count, 1, "\(changes)")
        XCTAssertEqual(changes.first?[0], "t")
        XCTAssertEqual(changes.first?[1], "t")
        XCTAssertGreaterThan(Double(changes.first?[2] ?? "") ?? 0, 2)
        XCTAssertEqual(try db.scalar("SELECT count(*) FROM augur.latency_changes()"), "1")

        let before = try db.query("SELECT upper_ms, count FROM augur.latency_quantiles($1, '{0.5}', until => $2)", [id, stepped])
        let after = try db.query("SELECT lower_ms, count FROM augur.latency_quantiles($1, '{0.5}', since => $2)", [id, stepped])
        XCTAssertEqual(before.first?[1], "10000")
        XCTAssertEqual(after.first?[1], "6000")
        XCTAssertLessThan(Double(before.first?[0] ?? "") ?? .infinity, Double(after.first?[0] ?? "") ?? 0,
                          "the p50 intervals of the two regimes do not overlap")
    }
}
