import PGHarness
import XCTest

/// Bad input gets one answer everywhere: a NULL that means nothing is 22004 naming the
/// argument, a value out of its domain is 22023, and a bad setting fails when it is set.
final class BadInputTests: ClusterTestCase {
    func testANullThatMeansNothingIs22004NamingTheArgument() throws {
        let db = try augurCluster(setup: "CREATE TABLE t (a int); SELECT augur.flush()")
        let calls: [(String, String)] = [
            ("SELECT * FROM augur.latency_quantiles(1, NULL)", "q"),
            ("SELECT * FROM augur.latency_quantiles(NULL)", "queryid"),
            ("SELECT * FROM augur.latency_histogram(NULL)", "queryid"),
            ("SELECT * FROM augur.simulate(NULL)", "id"),
            ("SELECT * FROM augur.approve(NULL)", "id"),
            ("SELECT * FROM augur.reject(NULL)", "id"),
            ("SELECT * FROM augur.apply(NULL)", "id"),
            ("SELECT * FROM augur.coaccess_predicted(NULL)", "k"),
            ("SELECT * FROM augur.coaccess_predicted(5, NULL)", "level"),
            ("SELECT * FROM augur.coaccess_predicted(5, 'relation', NULL)", "method"),
            ("SELECT * FROM augur.coaccess(NULL)", "level"),
            ("SELECT * FROM augur.coaccess('relation', NULL)", "min_weight"),
            ("SELECT * FROM augur.lineage_upstream(NULL)", "rel"),
            ("SELECT * FROM augur.lineage_downstream(NULL, 'a')", "rel"),
            ("SELECT augur.lineage_openlineage(NULL)", "rel"),
            ("SELECT * FROM augur.recommend_indexes(NULL, include_new => false)", "unused_after"),
        ]
        for (sql, argument) in calls {
            let error = assertServerError("22004", sql) { try db.query(sql) }
            XCTAssertEqual(error?.message, "\(argument) must not be NULL", sql)
        }
        // Where NULL means something, it is taken: every query, no time bound, all
        // columns and hops, the default budget.
        XCTAssertNoThrow(try db.query("SELECT * FROM augur.latency_changes(NULL)"))
        XCTAssertNoThrow(try db.query("SELECT * FROM augur.latency_quantiles(1, '{0.5}', NULL, NULL)"))
        XCTAssertNoThrow(try db.query("SELECT * FROM augur.lineage_upstream('t', NULL, NULL)"))
        XCTAssertNoThrow(try db.query("SELECT * FROM augur.recommend_indexes(budget => NULL, include_new => false)"))
    }

    func testQuantilesMustBeAOneDimensionalArray() throws {
        let db = try augurCluster()
        let error = assertServerError("22023") {
            try db.query("SELECT * FROM augur.latency_quantiles(1, '{{0.5,0.9},{0.1,0.2}}')")
        }
        XCTAssertEqual(error?.message, "q must be a one-dimensional array of quantiles")
    }

    /// The index budget is checked when it is set (SET, ALTER SYSTEM), by the same rule
    /// augur.index_budget_bytes() applies: no value fails later inside the advice.
    func testTheIndexBudgetIsCheckedWhenSet() throws {
        let db = try augurCluster()
        for bad in ["NaN", "-1%", "", "-1GB", "0%", "1001%", "10 parsecs", "1e400", "10000PB"] {
            let set = assertServerError("22023", bad) { try db.query("SET augur.index_budget = '\(bad)'") }
            XCTAssertNotNil(set?.hint, bad)
            assertServerError("22023", bad) { try db.query("SELECT augur.index_budget_bytes($1)", [bad]) }
        }
        assertServerError("22023") { try db.query("ALTER SYSTEM SET augur.index_budget = '-5%'") }
        for (good, bytes) in [("2GB", "2147483648"), ("500 MB", "524288000"), ("1.5e3kB", "1536000"), ("0", "0"), ("7 bytes", "7")] {
            try db.query("SET augur.index_budget = '\(good)'")
            XCTAssertEqual(try db.scalar("SELECT augur.index_budget_bytes(current_setting('augur.index_budget'))"), bytes, good)
        }
        try db.query("SET augur.index_budget = ' 10 % '")
        XCTAssertEqual(try db.scalar("""
            SELECT augur.index_budget_bytes(current_setting('augur.index_budget')) = pg_database_size(current_database()) / 10.0
            """), "t")
    }
}
