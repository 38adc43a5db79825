import PGHarness
import XCTest

/// Schema advice on a schema built to need each kind: a bigint that fits integer, a
/// low-cardinality text column, a recurring join-aggregate and a time-filtered large
/// table; each measured by shadow simulation before it is proposed.
final class SchemaAdviceTests: ClusterTestCase {
    private var cluster: Cluster!

    private func shop(settings: [String: String] = [:]) throws -> Connection {
        cluster = try startCluster(.init(settings: ["augur.naptime": "3600"].merging(settings) { $1 }))
        let db = try cluster.connect()
        try db.query("""
            CREATE EXTENSION augur;
            -- hits is a bigint holding small counts; next to misses it makes the row 8 bytes longer.
            -- ref holds numbers written as text.
            CREATE TABLE page_stats (page_id int, hits bigint, misses int, ref text);
            INSERT INTO page_stats SELECT g, g % 100000, g % 7, (g * 3)::text FROM generate_series(1, 200000) g;
            -- id bigint next to a timestamptz: integer would save nothing, alignment pads it back.
            CREATE TABLE visits (id bigint, at timestamptz);
            INSERT INTO visits SELECT g, timestamptz '2026-01-01' + g * interval '1 second' FROM generate_series(1, 50000) g;
            CREATE TABLE agents (id int PRIMARY KEY, team text);
            INSERT INTO agents SELECT g, 'team ' || g % 12 FROM generate_series(1, 500) g;
            CREATE TABLE tickets (id int PRIMARY KEY, agent_id int, state text);
            INSERT INTO tickets SELECT g, 1 + g % 500,
                   (ARRAY['awaiting_customer_reply', 'in_progress_with_support', 'resolved_by_support'])[1 + g % 3]
              FROM generate_series(1, 200000) g;
            CREATE TABLE events (id int, at timestamptz, kind int, payload text);
            INSERT INTO events SELECT g, timestamptz '2025-06-01' + g * interval '100 seconds', g % 10, repeat('x', 60)
              FROM generate_series(1, 300000) g;
            CREATE INDEX ON events (at);
            -- Twelve tenants, each read on its own: one LIST partition per tenant.
            CREATE TABLE accounts (id int, tenant int, balance int, note text);
            INSERT INTO accounts SELECT g, g % 12, g % 1000, repeat('n', 20) FROM generate_series(1, 250000) g;
            ANALYZE;
            SELECT augur.reset()
            """)
        try db.query((1...20).map { "SELECT sum(hits) FROM page_stats WHERE misses = \($0 % 7);" }.joined(separator: "\n"))
        // A read whose function writes elsewhere: replaying it must leave no trace.
        try db.query("""
            CREATE TABLE audit (at timestamptz);
            CREATE FUNCTION noted() RETURNS int LANGUAGE sql VOLATILE AS 'INSERT INTO audit VALUES (now()) RETURNING 1';
            SELECT max(hits), noted() FROM page_stats
            """)
        try db.query((1...20).map { "SELECT count(*) FROM visits WHERE id < \($0 * 100);" }.joined(separator: "\n"))
        try db.query((1...20).map { _ in "SELECT count(*) FROM tickets WHERE state = 'in_progress_with_support';" }.joined(separator: "\n"))
        try db.query((1...250).map { _ in
            "SELECT a.team, count(*) FROM tickets t JOIN agents a ON a.id = t.agent_id GROUP BY a.team;"
        }.joined(separator: "\n"))
        try db.query((1...30).map { day in
            "SELECT count(*) FROM events WHERE at >= timestamptz '2026-01-\(10 + day % 20)' AND at < timestamptz '2026-01-\(11 + day % 20)';"
        }.joined(separator: "\n"))
        // Every transaction sampled: tenant 0 gets half the reads.
        try db.query("SET augur.sample_rate = 1")
        for tenant in 0..<24 { try db.query("SELECT sum(balance) FROM accounts WHERE tenant = \(tenant < 12 ? tenant : 0)") }
        try db.query("RESET augur.sample_rate")
        try db.query("SELECT augur.flush()")
        return db
    }

    private func advice(_ db: Connection) throws -> [String: [String?]] {
        let rows = try db.query("""
            SELECT kind || ' ' || target, id::text, ddl, rollback_ddl, reason, evidence -> 'simulation' ->> 'method'
              FROM augur.recommend_schema(large_table => '10MB')
            """)
        return Dictionary(rows.map { ($0[0] ?? "", Array($0.dropFirst())) }) { first, _ in first }
    }

    func testEachKindIsProposedWithAMeasuredBeforeAndAfter() throws {
        let db = try shop()
        let advice = try advice(db)
        XCTAssertEqual(Set(advice.keys), ["narrow_type public.page_stats.hits", "narrow_type public.page_stats.ref",
                                          "text_to_enum public.tickets.state",
                                          "materialized_view public.augur_mv_\(try mvSuffix(db))", "partition public.events",
                                          "partition public.accounts"],
                       "\(advice.keys.sorted())")
        XCTAssertTrue(advice.values.allSatisfy { $0[4] == "shadow" }, "\(advice)")
        XCTAssertTrue(db.notices.contains("augur: schema advice: checking every value of public.page_stats (hits, ref)"),
                      "both columns in one scan: \(db.notices.filter { $0.contains("checking") })")
        XCTAssertEqual(advice["narrow_type public.page_stats.ref"]?[1],
                       "ALTER TABLE public.page_stats ALTER COLUMN ref TYPE numeric USING ref::numeric;")
        XCTAssertTrue(db.notices.contains { $0.contains("not proposing public.visits.id (narrow_type): on the shadow copy it saved under 5% of the table") },
                      "\(db.notices)")

        // Measured on the shadow copies: the type changes make the table smaller, the view
        // answers faster than the join-aggregate it stores, and every replayed statement
        // has its time and buffers on both sides.
        let measured = try db.query("""
            SELECT kind, (s ->> 'bytes_after')::float8 < (s ->> 'bytes_before')::float8,
                   (SELECT bool_and((q ->> 'ms_after')::float8 < (q ->> 'ms_before')::float8)
                      FROM jsonb_array_elements(s -> 'queries') q),
                   jsonb_array_length(s -> 'queries') > 0,
                   (SELECT bool_and(q ? 'buffers_before' AND q ? 'buffers_after') FROM jsonb_array_elements(s -> 'queries') q)
              FROM augur.recommendations, LATERAL (SELECT evidence -> 'simulation' AS s) x ORDER BY kind
            """)
        XCTAssertEqual(measured.map { [$0[0], $0[3], $0[4]] }, ["materialized_view", "narrow_type", "narrow_type", "partition",
                                                                "partition", "text_to_enum"].map { [$0, "t", "t"] })
        XCTAssertEqual(try db.query("""
            SELECT target, (evidence -> 'simulation' ->> 'bytes_after')::float8 < (evidence -> 'simulation' ->> 'bytes_before')::float8
              FROM augur.recommendations WHERE target IN ('public.page_stats.hits', 'public.tickets.state') ORDER BY 1
            """), [["public.page_stats.hits", "t"], ["public.tickets.state", "t"]])
        XCTAssertEqual(measured.first { $0[0] == "materialized_view" }?[2], "t")
        XCTAssertTrue(try XCTUnwrap(advice["partition public.events"]?[3]).contains("% of the rows"))
        let tenants = try XCTUnwrap(advice["partition public.accounts"])
        XCTAssertTrue(tenants[1]?.contains("PARTITION BY LIST (tenant);") == true, "\(tenants)")
        XCTAssertTrue(tenants[1]?.contains("FOR VALUES IN ('11');") == true, "\(tenants)")
        XCTAssertTrue(tenants[3]?.contains("12 partitions, one per value") == true, "\(tenants)")
        XCTAssertTrue(tenants[3]?.contains("the sampled transactions would send 54% of their reads to one, a hot partition") == true,
                      "\(tenants)")
        // On the shadow copy, a tenant's sum reads its partition, not the whole table.
        XCTAssertEqual(try db.scalar("""
            SELECT bool_and((q ->> 'buffers_after')::float8 * 4 < (q ->> 'buffers_before')::float8)
              FROM augur.recommendations, jsonb_array_elements(evidence -> 'simulation' -> 'queries') q
             WHERE target = 'public.accounts'
            """), "t")
        XCTAssertEqual(try db.scalar("SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'augur\\_shadow%'"), "0",
                       "the shadow schemas are gone")
        XCTAssertTrue(try db.scalar("SELECT evidence -> 'simulation' -> 'queries' FROM augur.recommendations WHERE target = 'public.page_stats.hits'")?
            .contains(try XCTUnwrap(try db.scalar("SELECT queryid FROM augur.query WHERE query LIKE 'SELECT max(hits), noted()%'"))) == true,
                      "the read calling noted() was replayed")
        XCTAssertEqual(try db.scalar("SELECT count(*) FROM audit"), "1", "and what its replays wrote was rolled back")

        // The DDL runs as written, and its rollback undoes it.
        for key in ["narrow_type public.page_stats.hits", "text_to_enum public.tickets.state"] {
            try db.query(try XCTUnwrap(advice[key]?[1]))
        }
        XCTAssertEqual(try db.scalar("SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'page_stats'::regclass AND attname = 'hits'"),
                       "integer")
        XCTAssertEqual(try db.scalar("SELECT min(state)::text FROM tickets"), "awaiting_customer_reply", "labels sort as the text did")
        for key in ["narrow_type public.page_stats.hits", "text_to_enum public.tickets.state"] {
            try db.query(try XCTUnwrap(advice[key]?[2]))
        }
        XCTAssertEqual(try db.scalar("SELECT string_agg(format_type(atttypid, atttypmod), ',' ORDER BY attrelid::regclass::text) FROM pg_attribute WHERE attrelid IN ('page_stats'::regclass, 'tickets'::regclass) AND attname IN ('hits', 'state')"),
                       "bigint,text")
    }

    /// The materialized view's name: augur_mv_ and its query id, a minus sign as _.
    private func mvSuffix(_ db: Connection) throws -> String {
        let queryid = try XCTUnwrap(try db.scalar("SELECT queryid FROM augur.query WHERE query LIKE 'SELECT a.team%'"))
        return queryid.replacingOccurrences(of: "-", with: "_")
    }

    func testBadInputAndACancelChangeNothing() throws {
        let db = try shop()
        assertServerError("22023") { try db.query("SELECT * FROM augur.recommend_schema(large_table => 'huge')") }
        assertServerError("22004") { try db.query("SELECT * FROM augur.recommend_schema(sample_rows => NULL)") }
        assertServerError("22023") { try db.query("SELECT * FROM augur.recommend_schema(sample_rows => 0)") }
        XCTAssertEqual(try db.scalar("SELECT count(*) FROM augur.recommendations"), "0")

        // Cancelled half way (a statement timeout), it leaves no shadow schema and no advice.
        try db.query("SET statement_timeout = '300ms'")
        assertServerError("57014") { try db.query("SELECT * FROM augur.recommend_schema(large_table => '10MB')") }
        try db.query("RESET statement_timeout")
        XCTAssertEqual(try db.scalar("SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'augur\\_shadow%'"), "0")
        XCTAssertEqual(try db.scalar("SELECT count(*) FROM augur.recommendations"), "0")

        // A table locked by a concurrent ALTER (past lock_timeout) is skipped, with a NOTICE;
        // the rest is advised.
        let alter = try cluster.connect()
        try alter.query("BEGIN; LOCK TABLE page_stats IN ACCESS EXCLUSIVE MODE")
        try db.query("SET lock_timeout = '100ms'")
        let locked = try advice(db)
        try db.query("RESET lock_timeout")
        try alter.query("ROLLBACK")
        XCTAssertNil(locked["narrow_type public.page_stats.hits"])
        XCTAssertNotNil(locked["text_to_enum public.tickets.state"])
        XCTAssertTrue(db.notices.contains { $0.hasPrefix("augur: schema advice: skipping public.page_stats.hits: canceling statement due to lock timeout") },
                      "\(db.notices.filter { $0.contains("page_stats") })")
        XCTAssertNotNil(try advice(db)["narrow_type public.page_stats.hits"], "advised again once the lock is gone")

        // A partition migration is for a DBA to run, not for augur.apply().
        let id = try XCTUnwrap(try advice(db)["partition public.events"]?[0])
        try db.query("SELECT * FROM augur.approve($1)", [id])
        let refused = assertServerError("0A000") { try db.query("SELECT * FROM augur.apply($1)", [id]) }
        XCTAssertTrue(refused?.hint?.contains("Review its ddl") == true, "\(String(describing: refused))")

        // A dropped table takes its advice with it.
        try db.query("DROP TABLE page_stats")
        XCTAssertNil(try advice(db)["narrow_type public.page_stats.hits"])
        XCTAssertEqual(try db.scalar("SELECT count(*) FROM augur.recommendations WHERE target LIKE 'public.page_stats%'"), "0")
    }

    /// simulate(id) measures a schema change again; an approved one is applied by the
    /// worker like an index.
    func testSimulateAgainAndApply() throws {
        let db = try shop(settings: ["augur.naptime": "1"])
        let id = try XCTUnwrap(try advice(db)["narrow_type public.page_stats.hits"]?[0])
        XCTAssertEqual(try db.scalar("SELECT status FROM augur.simulate($1)", [id]), "simulated")
        XCTAssertEqual(try db.scalar("SELECT outcome || ': ' || reason FROM augur.action_log WHERE recommendation_id = $1 AND action = 'simulate'", [id]),
                       "simulated: measured on shadow copies of a sample of public.page_stats")
        try db.query("SELECT * FROM augur.approve($1)", [id])
        try db.query("SELECT * FROM augur.apply($1)", [id])
        XCTAssertTrue(try cluster.waitUntil(timeout: 30) {
            try db.scalar("SELECT status FROM augur.recommendations WHERE id = $1", [id]) == "applied"
        })
        XCTAssertEqual(try db.scalar("SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'page_stats'::regclass AND attname = 'hits'"),
                       "integer")
    }
}
