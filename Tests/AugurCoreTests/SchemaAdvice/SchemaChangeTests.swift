import AugurCore
import XCTest

final class SchemaChangeTests: XCTestCase {
    private func bigint(max: Double, growth: Double = 0, min: Double = 1) -> TypeNarrowing.Column {
        .init(table: "public.orders", column: "id", type: "bigint", rows: 1_000_000, averageWidth: 8,
              minimum: min, maximum: max, growthPerDay: growth)
    }

    func testBigintNarrowsToIntegerOnlyWithYearsOfHeadroom() throws {
        let change = try XCTUnwrap(TypeNarrowing.advise(bigint(max: 1_000_000, growth: 1000)))
        XCTAssertEqual(change.kind, .narrowType)
        XCTAssertEqual(change.ddl, "ALTER TABLE public.orders ALTER COLUMN id TYPE integer;")
        XCTAssertEqual(change.rollbackDDL, "ALTER TABLE public.orders ALTER COLUMN id TYPE bigint USING id::bigint;")
        XCTAssertEqual(change.estimatedBenefit, 4_000_000)
        XCTAssertTrue(change.reason.contains("more years at its growth"), change.reason)
        // 2^31 - 1 - 2e9 = 147 M of headroom: 100 days at 1.5 M a day is not five years.
        XCTAssertNil(TypeNarrowing.advise(bigint(max: 2_000_000_000, growth: 1_500_000)))
        XCTAssertNotNil(TypeNarrowing.advise(bigint(max: 2_000_000_000, growth: 0)))
        XCTAssertNil(TypeNarrowing.advise(bigint(max: 3_000_000_000)))
        XCTAssertNil(TypeNarrowing.advise(bigint(max: 10, min: -3_000_000_000)))
    }

    func testADBAsWideningAndForeignKeysAreRespected() {
        var widened = bigint(max: 10)
        widened.widenedBefore = true
        XCTAssertNil(TypeNarrowing.advise(widened))
        var keyed = bigint(max: 10)
        keyed.inForeignKey = true
        XCTAssertNil(TypeNarrowing.advise(keyed))
    }

    func testNumericHoldingIntegersAndTextHoldingTimestamps() throws {
        let numeric = TypeNarrowing.Column(table: "public.t", column: "qty", type: "numeric", rows: 100, averageWidth: 7,
                                           minimum: 0, maximum: 5e9, integral: true)
        let change = try XCTUnwrap(TypeNarrowing.advise(numeric))
        XCTAssertEqual(change.ddl, "ALTER TABLE public.t ALTER COLUMN qty TYPE bigint USING qty::bigint;")
        var fractional = numeric
        fractional.integral = false
        XCTAssertNil(TypeNarrowing.advise(fractional))

        let text = TypeNarrowing.Column(table: "public.t", column: "\"Seen At\"", type: "text", rows: 10, averageWidth: 26,
                                        textContent: .timestamp)
        let typed = try XCTUnwrap(TypeNarrowing.advise(text))
        XCTAssertEqual(typed.ddl, "ALTER TABLE public.t ALTER COLUMN \"Seen At\" TYPE timestamptz USING \"Seen At\"::timestamptz;")
        XCTAssertEqual(typed.target, "public.t.\"Seen At\"")
        var plain = text
        plain.textContent = nil
        XCTAssertNil(TypeNarrowing.advise(plain))
    }

    func testEnumKeepsTheSortOrderAndQuotesLabels() throws {
        let column = EnumCandidates.Column(table: "app.\"Order\"", column: "status", type: "character varying(20)",
                                           rows: 50_000, averageWidth: 9, values: ["cancelled", "it's new", "shipped"])
        let change = try XCTUnwrap(EnumCandidates.advise(column))
        XCTAssertEqual(change.ddl, """
            CREATE TYPE app.augur_order_status AS ENUM ('cancelled', 'it''s new', 'shipped');
            ALTER TABLE app."Order" ALTER COLUMN status TYPE app.augur_order_status USING status::text::app.augur_order_status;
            """)
        XCTAssertEqual(change.rollbackDDL, """
            ALTER TABLE app."Order" ALTER COLUMN status TYPE character varying(20) USING status::text::character varying(20);
            DROP TYPE app.augur_order_status;
            """)
        XCTAssertEqual(change.estimatedBenefit, 250_000)
        var many = column
        many.values = (0...EnumCandidates.maximumValues).map { "v\($0)" }
        XCTAssertNil(EnumCandidates.advise(many))
        var small = column
        small.rows = 100
        XCTAssertNil(EnumCandidates.advise(small))
        var single = column
        single.values = ["only"]
        XCTAssertNil(EnumCandidates.advise(single), "one value is a constant, not a category")
        var narrow = column
        narrow.averageWidth = 5
        XCTAssertNil(EnumCandidates.advise(narrow), "a 1-byte saving is not worth a type")
        var long = column
        long.values = [String(repeating: "x", count: 64)]
        XCTAssertNil(EnumCandidates.advise(long))
    }

    private func report(callsPerDay: Double = 10_000, churn: Double = 0.001,
                        joins: Bool = true) -> MaterializedViewCandidates.Statement {
        .init(queryid: -42, text: "SELECT c.region, sum(o.total) FROM orders o JOIN customers c USING (cid) GROUP BY 1;",
              callsPerDay: callsPerDay, meanMilliseconds: 50, joins: joins, groups: true,
              sources: [.init(table: "public.orders", rows: 1_000_000, writtenRowsPerDay: 1_000_000 * churn),
                        .init(table: "public.customers", rows: 0, writtenRowsPerDay: 0)])
    }

    func testMaterializedViewForRecurringJoinAggregatesOverQuietSources() throws {
        let change = try XCTUnwrap(MaterializedViewCandidates.advise(report()))
        XCTAssertEqual(change.ddl, "CREATE MATERIALIZED VIEW public.augur_mv__42 AS "
                       + "SELECT c.region, sum(o.total) FROM orders o JOIN customers c USING (cid) GROUP BY 1;")
        XCTAssertEqual(change.rollbackDDL, "DROP MATERIALIZED VIEW public.augur_mv__42;")
        XCTAssertEqual(change.estimatedBenefit, 10_000 * 50 - 24 * 50)
        XCTAssertNil(MaterializedViewCandidates.advise(report(churn: 0.5)), "sources that churn")
        XCTAssertNil(MaterializedViewCandidates.advise(report(joins: false)), "no join")
        XCTAssertNil(MaterializedViewCandidates.advise(report(callsPerDay: 30)), "rarely run")
        XCTAssertEqual(MaterializedViewCandidates.advise(report(churn: 0))?.estimatedBenefit, 10_000 * 50 - 50,
                       "refreshed daily when nothing changes")
    }

    private func events(rangeCalls: Double = 900, span: Double = 400 * 86_400) -> PartitionCandidates.Table {
        .init(table: "public.events", rows: 4e6, bytes: 8e8, readCallsPerDay: 1000,
              timeColumns: [.init(column: "created_at", rangeFilteredCallsPerDay: rangeCalls, spanSeconds: span)])
    }

    func testPartitionPlanPicksTheLargestIntervalGivingEightPartitions() throws {
        XCTAssertEqual(PartitionCandidates.plan(events(), minimumBytes: 1e8)?.strategy, .range(interval: "month"))
        XCTAssertEqual(PartitionCandidates.plan(events(span: 60 * 86_400), minimumBytes: 1e8)?.strategy, .range(interval: "week"))
        XCTAssertEqual(PartitionCandidates.plan(events(span: 20 * 86_400), minimumBytes: 1e8)?.strategy, .range(interval: "day"))
        XCTAssertNil(PartitionCandidates.plan(events(span: 5 * 86_400), minimumBytes: 1e8))
        XCTAssertNil(PartitionCandidates.plan(events(rangeCalls: 400), minimumBytes: 1e8), "most reads must filter by range")
        XCTAssertNil(PartitionCandidates.plan(events(), minimumBytes: 1e9), "small tables stay as they are")
    }

    func testPartitionAdviceWritesEveryPartitionAndFlagsAHotOne() throws {
        let plan = try XCTUnwrap(PartitionCandidates.plan(events(), minimumBytes: 1e8))
        let bounds = (1...9).map { "'2026-0\($0)-01'" }
        let even = try proposed(PartitionCandidates.advise(plan, bounds: bounds, shares: Array(repeating: 0.125, count: 8)))
        XCTAssertEqual(even.ddl.components(separatedBy: " PARTITION OF ").count - 1, 9, even.ddl)
        XCTAssertTrue(even.ddl.contains("CREATE TABLE public.events_p8 PARTITION OF public.events FOR VALUES FROM ('2026-08-01') TO ('2026-09-01');"))
        XCTAssertTrue(even.ddl.contains("PARTITION BY RANGE (created_at)"))
        XCTAssertEqual(even.rollbackDDL, "ALTER TABLE public.events RENAME TO events_partitioned;\n"
                       + "ALTER TABLE public.events_unpartitioned RENAME TO events;")
        XCTAssertFalse(even.reason.contains("hot"), even.reason)
        let hot = try proposed(PartitionCandidates.advise(plan, bounds: bounds, shares: [0.45] + Array(repeating: 0.55 / 7, count: 7)))
        XCTAssertTrue(hot.reason.contains("but the largest would hold 45% of the rows, a hot partition"), hot.reason)
        XCTAssertEqual(PartitionCandidates.advise(plan, bounds: bounds, shares: [0.65] + Array(repeating: 0.05, count: 7)),
                       .skewed(largestShare: 0.65), "most rows in one partition: not proposed")
        XCTAssertEqual(PartitionCandidates.advise(plan, bounds: bounds, shares: [1]), .unusable, "shares must match the partitions")
    }

    private func accounts(distinct: Double, values: [String], shares: [Double]) -> PartitionCandidates.Table {
        .init(table: "public.accounts", rows: 1e7, bytes: 2e9, readCallsPerDay: 1000, timeColumns: [],
              keyColumns: [.init(column: "tenant", equalityFilteredCallsPerDay: 800, distinct: distinct,
                                 commonValues: values, commonShares: shares)])
    }

    func testKeysFilteredByEqualityGetListOrHashPartitionsAndTheirSkew() throws {
        let tenants = (1...10).map { "'t\($0)'" }
        let list = try XCTUnwrap(PartitionCandidates.plan(accounts(distinct: 10, values: tenants, shares: Array(repeating: 0.1, count: 10)),
                                                          minimumBytes: 1e9))
        XCTAssertEqual(list.strategy, .list)
        let listed = try proposed(PartitionCandidates.advise(list))
        XCTAssertTrue(listed.ddl.contains("PARTITION BY LIST (tenant);"), listed.ddl)
        XCTAssertTrue(listed.ddl.contains("CREATE TABLE public.accounts_p10 PARTITION OF public.accounts FOR VALUES IN ('t10');"), listed.ddl)
        XCTAssertTrue(listed.ddl.contains("CREATE TABLE public.accounts_default PARTITION OF public.accounts DEFAULT;"))
        XCTAssertFalse(listed.reason.contains("hot"), listed.reason)

        // Many tenants, one of them holding 40 % of the rows: its hash partition is hot.
        let hash = try XCTUnwrap(PartitionCandidates.plan(accounts(distinct: 50_000, values: ["'big'"], shares: [0.4]),
                                                          minimumBytes: 1e9))
        XCTAssertEqual(hash.strategy, .hash(modulus: PartitionCandidates.hashModulus))
        let hashed = try proposed(PartitionCandidates.advise(hash))
        XCTAssertTrue(hashed.ddl.contains("FOR VALUES WITH (MODULUS 16, REMAINDER 15);"), hashed.ddl)
        XCTAssertFalse(hashed.ddl.contains("DEFAULT;"), "a hash-partitioned table has no default partition")
        XCTAssertTrue(hashed.reason.contains("44% of the rows, a hot partition"), hashed.reason)
        XCTAssertNil(PartitionCandidates.plan(accounts(distinct: 200, values: [], shares: []), minimumBytes: 1e9),
                     "too many values for a list, too few for a hash")
    }

    private func proposed(_ verdict: PartitionCandidates.Verdict, file: StaticString = #filePath,
                          line: UInt = #line) throws -> SchemaChange {
        guard case .proposed(let change) = verdict else {
            XCTFail("not proposed: \(verdict)", file: file, line: line)
            throw XCTSkip("no change")
        }
        return change
    }

    func testNamesKeepTheirQuotesAndFit() {
        XCTAssertEqual(SQLName.suffixed("\"Big Table\"", "_p1"), "\"Big Table_p1\"")
        XCTAssertEqual(SQLName.suffixed(String(repeating: "a", count: 63), "_default").utf8.count, 63)
        XCTAssertEqual(SQLName.schema(of: "\"my.schema\".t"), "\"my.schema\"")
        XCTAssertEqual(SQLName.relation(of: "\"my.schema\".t"), "t")
        XCTAssertEqual(Figures.megabytes(3_355_443), "3.2 MB")
        XCTAssertEqual(Figures.megabytes(125_829_120), "120 MB")
        XCTAssertEqual(Figures.seconds(4.24), "4.2 s")
        XCTAssertEqual(Figures.seconds(60), "60 s")
        XCTAssertEqual(Figures.seconds(.infinity), "\(JSONText.number(.infinity)) s")
    }
}

final class PartitionReadSkewTests: XCTestCase {
    func testReadsLandWhereTheirValuesPartitionGoes() {
        XCTAssertEqual(PartitionCandidates.listShares(["'a'", "'b'"], ["'b'", "'z'", "'a'"], [0.6, 0.3, 0.1]), [0.1, 0.6, 0.3],
                       "a value without its own partition goes to the DEFAULT one")
        let hashed = PartitionCandidates.hashShares([0.5, 0.1], modulus: 4)
        XCTAssertEqual(hashed.reduce(0, +), 1, accuracy: 1e-12)
        XCTAssertEqual(hashed.max() ?? 0, 0.6, accuracy: 1e-12)
    }
}
