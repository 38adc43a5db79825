import PGHarness
import XCTest

/// Index creation advice: candidates from the captured workload, priced by the planner
/// with hypopg's hypothetical indexes, chosen by Extend under a budget.
final class IndexCreationAdviceTests: ClusterTestCase {
    private func cluster(hypopg: Bool = true) throws -> Connection {
        try augurCluster(setup: (hypopg ? "CREATE EXTENSION hypopg;\n" : "") + """
            CREATE TABLE orders (id int PRIMARY KEY, customer_id int, placed date, amount int);
            INSERT INTO orders SELECT g, g % 20000 + 1, date '2025-01-01' + g % 600, g % 1000
              FROM generate_series(1, 200000) g;
            CREATE TABLE events (id bigserial PRIMARY KEY, ref int, payload text);
            INSERT INTO events (ref, payload) SELECT g, 'x' FROM generate_series(1, 100000) g;
            ANALYZE
            """)
    }

    /// Runs a query shape `times` times with different constants.
    private func run(_ db: Connection, _ times: Int, _ shape: (Int) -> String) throws {
        try db.query((1...times).map { shape($0) + ";" }.joined(separator: "\n"))
    }

    private func createAdvice(_ db: Connection, budget: String = "100MB") throws -> [[String?]] {
        try db.query("SELECT target, ddl, rollback_ddl FROM augur.recommend_indexes(budget => $1) WHERE kind = 'create_index'",
                     [budget])
    }

    func testProposesWhatTheWorkloadNeedsProvesItAndBuildsNothing() throws {
        let db = try cluster()
        // Enough reads to outweigh the 200,000 rows loaded once, which count as writes too.
        try run(db, 400) { "SELECT * FROM orders WHERE customer_id = \($0) AND placed > date '2025-03-01'" }
        try run(db, 20) { "UPDATE orders SET amount = amount + 1 WHERE id = \($0)" }
        try db.query("SELECT augur.flush()")

        let advice = try createAdvice(db)
        XCTAssertEqual(advice.count, 1, "\(advice)")
        let target = try XCTUnwrap(advice.first?[0])
        XCTAssertTrue(target.hasPrefix("public.orders (customer_id"), target)
        XCTAssertTrue(db.notices.contains { $0.hasPrefix("augur: index advice step 1 after ") && $0.contains(": public.orders (customer_id)") }, "\(db.notices)")
        // The evidence: the query it helps, its planner cost with and without, the size.
        let evidence = try db.query("""
            SELECT (q ->> 'cost_before')::float8 > 10 * (q ->> 'cost_after')::float8, (evidence ->> 'bytes')::float8 > 0,
                   estimated_benefit > 0, reason LIKE 'helps 1 query:%'
              FROM augur.recommendations, jsonb_array_elements(evidence -> 'queries') q WHERE kind = 'create_index'
            """)
        XCTAssertEqual(evidence, [["t", "t", "t", "t"]])

        // Nothing real was built, nothing hypothetical is left, the setting is back.
        XCTAssertEqual(try db.scalar("SELECT count(*) FROM pg_index WHERE indrelid = 'orders'::regclass"), "1")
        XCTAssertEqual(try db.scalar("SELECT count(*) FROM hypopg_list_indexes"), "0")
        XCTAssertEqual(try db.scalar("SHOW plan_cache_mode"), "auto")

        // The DDL is what a DBA can run: it builds the index the planner then uses, and the
        // rollback DDL removes it again.
        try db.query(try XCTUnwrap(advice.first?[1]))
        XCTAssertTrue(try db.query("EXPLAIN SELECT * FROM orders WHERE customer_id = 7 AND placed > date '2025-03-01'")
            .contains { $0[0]?.contains("augur_orders_customer_id") == true })
        // Built, it is no longer proposed.
        XCTAssertEqual(try createAdvice(db), [])
        try db.query(try XCTUnwrap(advice.first?[2]))
        XCTAssertEqual(try db.scalar("SELECT count(*) FROM pg_index WHERE indrelid = 'orders'::regclass"), "1")

        // A dropped table takes its advice with it.
        XCTAssertEqual(try createAdvice(db).count, 1)
        try db.query("DROP TABLE orders")
        XCTAssertEqual(try createAdvice(db), [])
        XCTAssertEqual(try db.scalar("SELECT count(*) FROM augur.recommendations WHERE kind = 'create_index'"), "0")
    }

    /// 1% of the jobs are new, and the workload only ever asks for those: a generic plan
    /// (2 distinct states, so half the table) sees no use for an index; the example
    /// executions, planned with the constant they were sent with, do.
    func testSkewedConstantsArePricedAsTheWorkloadUsesThem() throws {
        let db = try cluster()
        try db.query("""
            CREATE TABLE jobs (id int PRIMARY KEY, state text, payload text);
            INSERT INTO jobs SELECT g, CASE WHEN g % 100 = 0 THEN 'new' ELSE 'done' END, 'p' FROM generate_series(1, 200000) g;
            ANALYZE jobs;
            PREPARE new_jobs(text) AS SELECT count(*) FROM jobs WHERE state = $1
            """)
        try run(db, 300) { _ in "EXECUTE new_jobs('new')" }
        try db.query("SELECT augur.flush()")
        XCTAssertEqual(try db.query("SELECT query, params FROM augur.query_example WHERE query LIKE '%FROM jobs%'"),
                       [["SELECT count(*) FROM jobs WHERE state = $1", "{new}"]])
        XCTAssertEqual(try createAdvice(db).map { $0[0] }, ["public.jobs (state)"])
        XCTAssertTrue(db.notices.contains { $0.contains("(1 from their example executions") }, "\(db.notices)")
        // Without the examples, the generic plan finds nothing to gain.
        try db.query("DELETE FROM augur.query_example")
        XCTAssertEqual(try createAdvice(db), [])
    }

    /// The workload only ever asks for the 1% of jobs that are new: a partial index
    /// holding just those rows does the full index's work for a fraction of its bytes.
    func testAValueTheWorkloadAlwaysAsksForGetsAPartialIndex() throws {
        let db = try cluster()
        try db.query("""
            CREATE TABLE jobs (id int PRIMARY KEY, state text, queued_at timestamptz, payload text);
            INSERT INTO jobs SELECT g, CASE WHEN g % 100 = 0 THEN 'new' ELSE 'done' END,
                                    timestamptz '2026-01-01' + g * interval '1 minute', 'p'
              FROM generate_series(1, 200000) g;
            ANALYZE jobs
            """)
        // Four flush windows: an example execution each, all asking for 'new'.
        for _ in 1...4 {
            try run(db, 100) { _ in "SELECT id FROM jobs WHERE state = 'new' ORDER BY queued_at LIMIT 20" }
            try db.query("SELECT augur.flush()")
        }
        let advice = try createAdvice(db)
        XCTAssertEqual(advice.count, 1, "\(advice)")
        let target = try XCTUnwrap(advice.first?[0])
        XCTAssertTrue(target.hasPrefix("public.jobs (") && target.hasSuffix(") WHERE state = 'new'"), target)
        XCTAssertEqual(try db.scalar("SELECT evidence ->> 'predicate' FROM augur.recommendations WHERE kind = 'create_index'"),
                       "state = 'new'")
        // Built, it is a small index the planner uses for the query.
        try db.query(try XCTUnwrap(advice.first?[1]))
        let name = try XCTUnwrap(try db.scalar("""
            SELECT indexrelid::regclass::text FROM pg_index WHERE indrelid = 'jobs'::regclass AND indpred IS NOT NULL
            """))
        XCTAssertTrue(name.hasPrefix("augur_jobs_") && name.hasSuffix("_where_state_new"), name)
        XCTAssertTrue(try db.query("EXPLAIN SELECT id FROM jobs WHERE state = 'new' ORDER BY queued_at LIMIT 20")
            .contains { $0[0]?.contains(name) == true })
        let sizes = try db.query("SELECT pg_relation_size($1::regclass) * 20 < pg_relation_size('jobs_pkey')", [name])
        XCTAssertEqual(sizes, [["t"]], "a twentieth of a full index on the table")
    }

    /// An append-only log, its time column in physical order, read by time ranges: a BRIN
    /// index serves the ranges for a tiny fraction of a B-tree's bytes.
    func testARangeOnAPhysicallyOrderedColumnGetsBRIN() throws {
        let db = try cluster()
        try db.query("""
            CREATE TABLE log (id bigint PRIMARY KEY, at timestamptz, line text);
            INSERT INTO log SELECT g, timestamptz '2026-01-01' + g * interval '1 second', repeat('x', 60)
              FROM generate_series(1, 300000) g;
            ANALYZE log
            """)
        try run(db, 300) { "SELECT count(*) FROM log WHERE at >= timestamptz '2026-01-02' + interval '\($0) minutes' AND at < timestamptz '2026-01-02' + interval '\($0 + 10) minutes'" }
        try db.query("SELECT augur.flush()")
        // A B-tree on `at` (about 7 MB) does not fit 1 MB; the BRIN index does.
        let advice = try createAdvice(db, budget: "1MB")
        XCTAssertEqual(advice.map { $0[0] }, ["public.log USING brin (at)"])
        XCTAssertEqual(advice.first?[1], "CREATE INDEX CONCURRENTLY augur_log_at_brin ON public.log USING brin (at);")
        XCTAssertEqual(try db.scalar("SELECT evidence ->> 'method' FROM augur.recommendations WHERE kind = 'create_index'"), "brin")
        // With room for the B-tree, which reads fewer pages, the BRIN index would add
        // nothing next to it: only the B-tree is proposed.
        XCTAssertEqual(try createAdvice(db).map { $0[0] }, ["public.log (at)"])
    }

    /// A lookup that reads one narrow column besides its key: carrying that column makes
    /// it an index-only scan (the table is vacuumed, so its pages are all-visible).
    func testALookupReadingOneMoreColumnGetsACoveringIndex() throws {
        let db = try cluster()
        try db.query("""
            CREATE TABLE kv (id int PRIMARY KEY, k int, v int, pad text);
            INSERT INTO kv SELECT g, g % 10000, g, repeat('x', 200) FROM generate_series(1, 200000) g
            """)
        try db.query("VACUUM ANALYZE kv")
        try run(db, 400) { "SELECT sum(v) FROM kv WHERE k = \($0)" }
        try db.query("SELECT augur.flush()")
        let advice = try createAdvice(db)
        XCTAssertEqual(advice.map { $0[0] }, ["public.kv (k) INCLUDE (v)"])
        XCTAssertEqual(advice.first?[1], "CREATE INDEX CONCURRENTLY augur_kv_k_covering ON public.kv (k) INCLUDE (v);")
        try db.query(try XCTUnwrap(advice.first?[1]))
        XCTAssertTrue(try db.query("EXPLAIN SELECT sum(v) FROM kv WHERE k = 7").contains { $0[0]?.contains("Index Only Scan") == true })
    }

    /// LIKE '%…%' searches no B-tree serves: with pg_trgm installed, a trigram GIN index
    /// is built on a shadow copy of a sample, measured, and proposed because it pays.
    func testPatternSearchesGetATrigramIndexMeasuredOnAShadowCopy() throws {
        let db = try cluster()
        try db.query("""
            CREATE TABLE docs (id int PRIMARY KEY, title text);
            INSERT INTO docs SELECT g, md5(g::text) || ' ' || md5((g * 7)::text) FROM generate_series(1, 200000) g;
            ANALYZE docs
            """)
        try run(db, 40) { "SELECT id FROM docs WHERE title LIKE '%ab\($0)c%'" }
        try db.query("SELECT augur.flush()")
        XCTAssertEqual(try createAdvice(db, budget: "500MB"), [], "no trigram advice without pg_trgm")

        try db.query("CREATE EXTENSION pg_trgm")
        let advice = try createAdvice(db, budget: "500MB")
        XCTAssertEqual(advice.map { $0[0] }, ["public.docs USING gin (title gin_trgm_ops)"])
        XCTAssertEqual(advice.first?[1], "CREATE INDEX CONCURRENTLY augur_docs_title_trgm ON public.docs USING gin (title public.gin_trgm_ops);")
        XCTAssertEqual(advice.first?[2], "DROP INDEX CONCURRENTLY public.augur_docs_title_trgm;")
        let measured = try db.query("""
            SELECT evidence -> 'simulation' ->> 'method', evidence ->> 'method', (evidence ->> 'bytes')::float8 > 0,
                   (SELECT bool_and((q ->> 'ms_after')::float8 * 2 <= (q ->> 'ms_before')::float8)
                      FROM jsonb_array_elements(evidence -> 'simulation' -> 'queries') q)
              FROM augur.recommendations WHERE kind = 'create_index'
            """)
        XCTAssertEqual(measured, [["shadow", "gin", "t", "t"]])
        // It does not fit a budget smaller than itself, and a NOTICE says so.
        XCTAssertEqual(try createAdvice(db, budget: "1MB"), [])
        XCTAssertTrue(db.notices.contains { $0.contains("no trigram index on public.docs") && $0.contains("do not fit") }, "\(db.notices)")

        let id = try XCTUnwrap(try db.scalar("SELECT id FROM augur.recommend_indexes(budget => '500MB') WHERE kind = 'create_index'"))
        XCTAssertEqual(try db.scalar("SELECT status FROM augur.simulate($1)", [id]), "simulated")
        try db.query(try XCTUnwrap(advice.first?[1]))
        XCTAssertTrue(try db.query("EXPLAIN SELECT id FROM docs WHERE title LIKE '%ab12c%'")
            .contains { $0[0]?.contains("augur_docs_title_trgm") == true })
        XCTAssertEqual(try db.scalar("SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'augur\\_shadow%'"), "0")
    }

    /// `LIKE 'abc%'` is a range of a B-tree: in the C collation a plain one serves it,
    /// otherwise one with text_pattern_ops; and a column only ever searched by a prefix gets
    /// no trigram index as well.
    func testPrefixSearchesGetABTreeThatServesThem() throws {
        let db = try cluster()
        try db.query("""
            CREATE EXTENSION pg_trgm;
            CREATE TABLE people (id int PRIMARY KEY, name text COLLATE "und-x-icu", code text COLLATE "C");
            INSERT INTO people SELECT g, md5(g::text), md5((g * 3)::text) FROM generate_series(1, 200000) g;
            ANALYZE people
            """)
        try run(db, 40) { "SELECT id FROM people WHERE name LIKE 'ab\($0)%'" }
        try run(db, 40) { "SELECT id FROM people WHERE code LIKE 'cd\($0)%'" }
        try db.query("SELECT augur.flush()")
        let advice = try createAdvice(db, budget: "500MB")
        XCTAssertEqual(Set(advice.map { $0[0] }), ["public.people (name text_pattern_ops)", "public.people (code)"], "\(advice)")
        let ddl = try XCTUnwrap(advice.first { $0[0] == "public.people (name text_pattern_ops)" }?[1])
        try db.query(ddl)
        XCTAssertTrue(try db.query("EXPLAIN SELECT id FROM people WHERE name LIKE 'ab12%'")
            .contains { $0[0]?.contains("Index") == true }, "the index it built serves the search")
    }

    func testWriteTrafficIsWeighedAgainstReads() throws {
        let db = try cluster()
        try run(db, 400) { _ in "INSERT INTO events (ref, payload) SELECT g, 'y' FROM generate_series(1, 50) g" }
        try run(db, 2) { "SELECT * FROM events WHERE ref = \($0)" }
        try db.query("SELECT augur.flush()")
        XCTAssertEqual(try createAdvice(db), [], "two reads do not pay for 20,000 index insertions")
        try run(db, 400) { "SELECT * FROM events WHERE ref = \($0)" }
        try db.query("SELECT augur.flush()")
        XCTAssertEqual(try createAdvice(db).map { $0[0] }, ["public.events (ref)"])
        // The evidence names the statement it costs too: the insert (the setup's load
        // included), 2 cost units per row it writes.
        let insert = try XCTUnwrap(try db.scalar("SELECT queryid FROM augur.query WHERE query LIKE 'INSERT INTO events%'"))
        XCTAssertEqual(try db.query("""
            SELECT w ->> 'queryid',
                   abs((w ->> 'maintenance_cost_per_day')::float8
                       - 2 * (SELECT sum(rows)::float8 / sum(calls) FROM augur.query q WHERE q.queryid = $1::bigint)
                           * (w ->> 'calls_per_day')::float8) < 1e-6 * (w ->> 'maintenance_cost_per_day')::float8
              FROM augur.recommendations, jsonb_array_elements(evidence -> 'writes') w WHERE kind = 'create_index'
            """, [insert]), [[insert, "t"]])
    }

    /// One bulk load is not a rate: a statement seen once counts as at most once a day
    /// (not 24 times, the span being at least an hour), so 30 lookups of a freshly loaded
    /// table still get their index, and the evidence says what rate was assumed.
    func testABulkLoadSeenOnceIsNotExtrapolated() throws {
        let db = try augurCluster(setup: """
            CREATE EXTENSION hypopg;
            CREATE TABLE purchases (id int, customer_id int, amount int);
            SELECT augur.reset();
            """)
        try db.query("INSERT INTO purchases SELECT g, g % 5000, g % 100 FROM generate_series(1, 200000) g; ANALYZE purchases")
        try run(db, 30) { "SELECT sum(amount) FROM purchases WHERE customer_id = \($0)" }
        try db.query("SELECT augur.flush()")
        XCTAssertEqual(try createAdvice(db, budget: "50%").map { $0[0] }, ["public.purchases (customer_id)"])
        XCTAssertEqual(try db.query("""
            SELECT (w ->> 'calls_per_day')::float8 = 1, w ->> 'rate'
              FROM augur.recommendations, jsonb_array_elements(evidence -> 'writes') w
             WHERE kind = 'create_index' AND target = 'public.purchases (customer_id)'
            """), [["t", "seen once: assumed at most once a day"]])
    }

    func testBudgetsAndBadInput() throws {
        let db = try cluster()
        try run(db, 400) { "SELECT * FROM orders WHERE customer_id = \($0)" }
        try db.query("SELECT augur.flush()")
        XCTAssertEqual(try createAdvice(db, budget: "0").count, 0, "no room for any index")
        XCTAssertEqual(try createAdvice(db, budget: "8kB").count, 0)
        XCTAssertEqual(try createAdvice(db, budget: "1000%").count, 1)
        XCTAssertEqual(try db.query("SET augur.index_budget = '100MB'; SELECT count(*) FROM augur.recommend_indexes() WHERE kind = 'create_index'"),
                       [["1"]])
        for bad in ["lots", "-1%", "0%", "1001%"] {
            let error = assertServerError("22023") { try self.createAdvice(db, budget: bad) }
            XCTAssertNotNil(error?.hint, bad)
        }
        assertServerError("22004") { try db.query("SELECT * FROM augur.recommend_indexes(include_new => NULL)") }
        assertServerError("22023") { try db.query("SELECT augur.refresh_index_creation_advice(-1, 60)") }
        // A time budget: positive, and when it is spent the search stops and says so.
        assertServerError("22004") { try db.query("SELECT * FROM augur.recommend_indexes(time_budget => NULL)") }
        assertServerError("22023") { try db.query("SELECT * FROM augur.recommend_indexes(time_budget => '0')") }
        XCTAssertEqual(try db.scalar("SELECT count(*) FROM augur.recommend_indexes(time_budget => '1 microsecond') WHERE kind = 'create_index'"),
                       "0")
        XCTAssertTrue(db.notices.contains { $0.hasPrefix("augur: index advice stopped at its time budget") }, "\(db.notices)")
        XCTAssertTrue(db.notices.contains { $0.hasPrefix("augur: index advice step 1 after ") && $0.contains(" of 60 s: ") },
                      "steps say how much of the time budget they used: \(db.notices)")
    }

    func testWithoutHypopgItSaysWhatToDoAndDropAdviceStillWorks() throws {
        let db = try cluster(hypopg: false)
        try run(db, 10) { "SELECT * FROM orders WHERE customer_id = \($0)" }
        try db.query("SELECT augur.flush()")
        let error = assertServerError("55000") { try db.query("SELECT * FROM augur.recommend_indexes()") }
        XCTAssertTrue(error?.hint?.contains("CREATE EXTENSION hypopg") == true, "\(String(describing: error))")
        XCTAssertEqual(try db.scalar("SELECT count(*) FROM augur.recommendations"), "0")
        try db.query("CREATE INDEX orders_id_again ON orders (id)")
        XCTAssertEqual(try db.query("SELECT kind, target FROM augur.recommend_indexes(include_new => false)"),
                       [["drop_index", "public.orders_id_again"]])
    }

    func testAdviseListsEverythingWithAReasonAndWorksWithoutHypopg() throws {
        let db = try cluster()
        try run(db, 400) { "SELECT * FROM orders WHERE customer_id = \($0)" }
        try db.query("CREATE INDEX orders_id_again ON orders (id); SELECT augur.flush()")
        let advice = try db.query("SELECT kind, target, status, reason IS NOT NULL FROM augur.advise()")
        XCTAssertEqual(advice, [["create_index", "public.orders (customer_id)", "proposed", "t"],
                                ["drop_index", "public.orders_id_again", "proposed", "t"]])
        try db.query("DROP EXTENSION hypopg")
        XCTAssertEqual(try db.query("SELECT kind FROM augur.advise()"), [["drop_index"]])
        XCTAssertTrue(db.notices.contains("no index creation advice without hypopg"), "\(db.notices)")
    }

    /// One recommendation's what-if, recorded: a new index cuts its query's cost. A drop
    /// is simulated by hiding the index, which needs hypopg 1.4 (Debian has 1.3.1 here).
    func testSimulateRecordsOneRecommendationsWhatIf() throws {
        let db = try cluster()
        try run(db, 400) { "SELECT * FROM orders WHERE customer_id = \($0)" }
        try run(db, 400) { "SELECT * FROM events WHERE ref = \($0)" }
        try db.query("CREATE INDEX events_ref ON events (ref); CREATE INDEX events_ref_again ON events (ref)")
        try db.query("SELECT augur.flush()")
        try db.query("SELECT * FROM augur.recommend_indexes()")
        let create = try XCTUnwrap(try db.scalar("SELECT id FROM augur.recommendations WHERE target = 'public.orders (customer_id)'"))
        XCTAssertEqual(try db.scalar("SELECT status FROM augur.simulate($1)", [create]), "simulated")
        XCTAssertEqual(try db.scalar("""
            SELECT (q ->> 'cost_before')::float8 > 10 * (q ->> 'cost_after')::float8
              FROM augur.recommendations, jsonb_array_elements(evidence -> 'simulation' -> 'queries') q WHERE id = $1
            """, [create]), "t")
        XCTAssertEqual(try db.scalar("SELECT count(*) FROM hypopg_list_indexes"), "0", "nothing hypothetical stays")
        let drop = try XCTUnwrap(try db.scalar("SELECT id FROM augur.recommendations WHERE kind = 'drop_index' AND evidence ->> 'reason' = 'duplicate'"))
        if try db.scalar("SELECT to_regprocedure('hypopg_hide_index(oid)') IS NULL") == "t" {
            let error = assertServerError("0A000") { try db.query("SELECT * FROM augur.simulate($1)", [drop]) }
            XCTAssertTrue(error?.message.contains("hypopg 1.4") == true, "\(String(describing: error))")
            XCTAssertEqual(try db.scalar("SELECT status FROM augur.recommendations WHERE id = $1", [drop]), "proposed")
        } else {
            // Hiding a duplicate costs the workload nothing, since its twin serves.
            XCTAssertEqual(try db.scalar("SELECT status FROM augur.simulate($1)", [drop]), "simulated")
            XCTAssertEqual(try db.scalar("""
                SELECT bool_and((q ->> 'cost_before')::float8 = (q ->> 'cost_after')::float8)
                  FROM augur.recommendations, jsonb_array_elements(evidence -> 'simulation' -> 'queries') q WHERE id = $1
                """, [drop]), "t")
        }
        XCTAssertGreaterThanOrEqual(Int(try db.scalar("SELECT count(*) FROM augur.action_log WHERE action = 'simulate'") ?? "") ?? 0, 1)

        assertServerError("22023") { try db.query("SELECT * FROM augur.simulate(424242)") }
        try db.query("SELECT * FROM augur.reject($1)", [create])
        assertServerError("55000") { try db.query("SELECT * FROM augur.simulate($1)", [create]) }
    }

    func testAnEmptyWorkloadIsANoticeNotAnError() throws {
        let db = try cluster()
        XCTAssertEqual(try createAdvice(db), [])
        XCTAssertTrue(db.notices.contains("no index to create or drop"), "\(db.notices)")
    }
}
