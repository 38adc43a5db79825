import AugurCore
import XCTest

/// Extend over a planner stand-in: a statement's cost is its scan cost, or less with the
/// best index whose leading columns it can use.
final class IndexSelectionTests: XCTestCase {
    /// Per statement: its cost without an index, and what an index leading with given
    /// columns brings it down to (the longest matching prefix counts).
    struct Planner: WhatIfCosting {
        var scanCost: [Int64: Double]
        var withPrefix: [Int64: [[String]: Double]]
        var bytesPerColumn = 1_000.0
        var calls = 0
        /// Exactly these indexes (an INCLUDE list, say) give these costs.
        var exactly: [Int64: [IndexDesign: Double]] = [:]

        mutating func cost(of statement: IndexSelection.Statement, with indexes: [IndexDesign]) throws -> Double? {
            calls += 1
            var best = scanCost[statement.queryid]
            for index in indexes {
                if let cost = exactly[statement.queryid]?[index] {
                    best = min(best ?? cost, cost)
                    continue
                }
                for length in stride(from: index.columns.count, through: 1, by: -1) {
                    if let cost = withPrefix[statement.queryid]?[Array(index.columns.prefix(length))] {
                        best = min(best ?? cost, cost)
                        break
                    }
                }
            }
            return best
        }

        mutating func bytes(of index: IndexDesign) throws -> Double {
            bytesPerColumn * Double(index.columns.count + index.include.count) / (index.method == .brin ? 100 : 1)
        }
    }

    private func statement(_ id: Int64, calls: Double = 100, writes: [String: IndexSelection.Statement.Write] = [:]) -> IndexSelection.Statement {
        IndexSelection.Statement(queryid: id, callsPerDay: calls, tables: writes.isEmpty ? ["t"] : [], writes: writes)
    }

    func testExtendWidensAnIndexWhenTheSecondColumnPays() throws {
        var planner = Planner(scanCost: [1: 1_000], withPrefix: [1: [["a"]: 100, ["a", "b"]: 5]])
        let result = try IndexSelection.extend(statements: [statement(1)], columns: ["t": ["a", "b"]],
                                               options: .init(budgetBytes: 10_000), costing: &planner)
        XCTAssertEqual(result.chosen.map(\.index.columns), [["a", "b"]])
        XCTAssertEqual(result.costBefore, 100_000)
        XCTAssertEqual(result.costAfter, 500)
        XCTAssertEqual(result.chosen.first?.effects, [.init(queryid: 1, callsPerDay: 100, costWithout: 1_000, costWith: 5)])
    }

    func testAnIndexMadeUselessByAnotherIsNotChosen() throws {
        // (a, b) serves both statements; a separate (a) would add nothing once it exists.
        var planner = Planner(scanCost: [1: 1_000, 2: 1_000],
                              withPrefix: [1: [["a"]: 10], 2: [["a"]: 300, ["a", "b"]: 10]])
        let result = try IndexSelection.extend(statements: [statement(1), statement(2)], columns: ["t": ["a", "b"]],
                                               options: .init(budgetBytes: 10_000), costing: &planner)
        XCTAssertEqual(result.chosen.map(\.index.columns), [["a", "b"]])
    }

    func testTheBudgetIsNeverExceeded() throws {
        var planner = Planner(scanCost: [1: 1_000, 2: 1_000], withPrefix: [1: [["a"]: 10], 2: [["b"]: 20]])
        for budget in [0.0, 999, 1_000, 1_999, 2_000] {
            let result = try IndexSelection.extend(statements: [statement(1), statement(2)], columns: ["t": ["a", "b"]],
                                                   options: .init(budgetBytes: budget), costing: &planner)
            XCTAssertLessThanOrEqual(result.chosen.map(\.bytes).reduce(0, +), budget)
            XCTAssertEqual(result.chosen.count, Int(budget / 1_000), "budget \(budget)")
        }
        // With room for one, the index that saves more per byte comes first.
        let one = try IndexSelection.extend(statements: [statement(1), statement(2)], columns: ["t": ["a", "b"]],
                                            options: .init(budgetBytes: 1_000), costing: &planner)
        XCTAssertEqual(one.chosen.map(\.index.columns), [["a"]])
    }

    func testWriteTrafficOutweighsARareRead() throws {
        var planner = Planner(scanCost: [1: 1_000], withPrefix: [1: [["a"]: 10]])
        let inserts = statement(2, calls: 10_000, writes: ["t": .init(rowsPerCall: 10, columns: nil)])
        let rare = try IndexSelection.extend(statements: [statement(1, calls: 1), inserts], columns: ["t": ["a"]],
                                             options: .init(budgetBytes: 10_000), costing: &planner)
        XCTAssertEqual(rare.chosen, [], "saves 990 a day, costs 200,000 in index maintenance")
        // An UPDATE that changes other columns does not maintain the index (HOT).
        let updates = statement(3, calls: 10_000, writes: ["t": .init(rowsPerCall: 10, columns: ["z"])])
        let hot = try IndexSelection.extend(statements: [statement(1, calls: 1), updates], columns: ["t": ["a"]],
                                            options: .init(budgetBytes: 10_000), costing: &planner)
        XCTAssertEqual(hot.chosen.map(\.index.columns), [["a"]])
    }

    func testNothingHelpsNothingIsChosenAndUnplannableStatementsAreSkipped() throws {
        var planner = Planner(scanCost: [1: 1_000], withPrefix: [:])
        let none = try IndexSelection.extend(statements: [statement(1), statement(7)], columns: ["t": ["a"]],
                                             options: .init(budgetBytes: 10_000), costing: &planner)
        XCTAssertEqual(none.chosen, [])
        XCTAssertEqual(none.costBefore, none.costAfter)
        let empty = try IndexSelection.extend(statements: [], columns: [:], options: .init(budgetBytes: 10_000),
                                              costing: &planner)
        XCTAssertEqual(empty.chosen, [])
    }

    /// Statement 1 wants (a, b), statement 2 wants (c), on table t.
    private func twoStatementPlanner() -> Planner {
        Planner(scanCost: [1: 1_000, 2: 500], withPrefix: [1: [["a"]: 100, ["a", "b"]: 5], 2: [["c"]: 50]])
    }

    func testEachConfigurationOfAStatementIsCostedOnce() throws {
        var planner = twoStatementPlanner()
        let result = try IndexSelection.extend(statements: [statement(1), statement(2)], columns: ["t": ["a", "b", "c"]],
                                               options: .init(budgetBytes: 100_000), costing: &planner)
        XCTAssertEqual(planner.calls, result.statementsCosted)
        XCTAssertEqual(Set(result.chosen.map(\.index.columns)), [["a", "b"], ["c"]])
    }

    /// A statement is planned again only for indexes leading with a key it uses: with
    /// its keys known, the same choice from far fewer plans.
    func testAnIndexOnAColumnAStatementDoesNotUseIsNotPlannedForIt() throws {
        func run(keys: Bool) throws -> (IndexSelection.Result, Int) {
            var planner = twoStatementPlanner()
            let statements = [
                IndexSelection.Statement(queryid: 1, callsPerDay: 1, tables: ["t"], keys: keys ? ["t": ["a", "b"]] : nil),
                IndexSelection.Statement(queryid: 2, callsPerDay: 1, tables: ["t"], keys: keys ? ["t": ["c"]] : nil),
            ]
            let result = try IndexSelection.extend(statements: statements, columns: ["t": ["a", "b", "c"]],
                                                   options: .init(budgetBytes: 100_000), costing: &planner)
            return (result, planner.calls)
        }
        let (pruned, prunedCalls) = try run(keys: true), (full, fullCalls) = try run(keys: false)
        XCTAssertEqual(Set(pruned.chosen.map(\.index.columns)), Set(full.chosen.map(\.index.columns)))
        XCTAssertEqual(pruned.costAfter, full.costAfter)
        XCTAssertLessThan(prunedCalls, fullCalls)
    }

    /// Six statements on one table, each helped by an index on its own column, all
    /// candidates for each other's plans: an eager step re-costs every move left for every
    /// statement, the lazy one only the best until nothing left could beat it, and the
    /// choice and its order are those of the eager search.
    func testAStepCostsItsMovesBestFirstAndStopsWhenNoneLeftCanWin() throws {
        let columns = ["a", "b", "c", "d", "e", "f"]
        var planner = Planner(scanCost: [:], withPrefix: [:])
        for (offset, column) in columns.enumerated() {
            planner.scanCost[Int64(offset)] = 1_000
            planner.withPrefix[Int64(offset)] = [[column]: 100 * Double(offset)]
        }
        var options = IndexSelection.Options(budgetBytes: 100_000)
        options.maxColumns = 1
        let result = try IndexSelection.extend(statements: columns.indices.map { statement(Int64($0)) },
                                               columns: ["t": columns], options: options, costing: &planner)
        XCTAssertEqual(result.chosen.map(\.index.columns), columns.map { [$0] }, "best saving first")
        // The search: every move in the first step, then one a step (each for every
        // statement); eagerly it would be 6 + 5 + … + 1 moves. At the end each index is
        // costed away once, to find useless ones.
        let n = columns.count
        XCTAssertLessThanOrEqual(planner.calls - n * n, n * n + (n - 1) * n)
    }

    func testATimeBudgetEndsTheSearchWithWhatWasChosen() throws {
        var planner = twoStatementPlanner()
        var asked = 0
        let result = try IndexSelection.extend(statements: [statement(1), statement(2)], columns: ["t": ["a", "b", "c"]],
                                               options: .init(budgetBytes: 100_000), costing: &planner,
                                               timeIsUp: { asked += 1; return asked > 3 })
        XCTAssertTrue(result.stoppedEarly)
        XCTAssertEqual(result.chosen.map(\.index.columns), [["a"]], "the first step was taken, the second cut short")
    }

    func testNormalizedStatementsPrepareAgain() {
        XCTAssertEqual(NormalizedStatement.castingTypedLiterals("SELECT * FROM t WHERE d > date $2 AND x = $1"),
                       "SELECT * FROM t WHERE d > $2::date AND x = $1")
        XCTAssertEqual(NormalizedStatement.castingTypedLiterals("SELECT interval $1, timestamp $10)"),
                       "SELECT $1::interval, $10::timestamp)")
        XCTAssertEqual(NormalizedStatement.castingTypedLiterals("SELECT date FROM t WHERE x = $1"),
                       "SELECT date FROM t WHERE x = $1")
        XCTAssertEqual(NormalizedStatement.parameterCount("SELECT $1, $12, $3"), 12)
        XCTAssertEqual(NormalizedStatement.parameterCount("SELECT 1 -- $"), 0)
        XCTAssertEqual(NormalizedStatement.parameterCount("SELECT $99999999999999999999999"), 65_535)
        XCTAssertEqual(NormalizedStatement.totalCost(ofExplainJSON: #"[{"Plan": {"Startup Cost": 1.5, "Total Cost": 1234.56, "Plans": [{"Total Cost": 9}]}}]"#),
                       1234.56)
        XCTAssertNil(NormalizedStatement.totalCost(ofExplainJSON: "nonsense"))
        XCTAssertEqual(NormalizedStatement.Kind("  (SELECT 1)"), .select)
        XCTAssertEqual(NormalizedStatement.Kind("WITH x AS (DELETE FROM t) SELECT 1"), .select)
        XCTAssertEqual(NormalizedStatement.Kind("update t set a = $1"), .update)
        XCTAssertEqual(NormalizedStatement.Kind("INSERT INTO t VALUES ($1)"), .insert)
        XCTAssertEqual(NormalizedStatement.Kind("VACUUM t"), .other)
        XCTAssertFalse(NormalizedStatement.Kind("INSERT INTO t VALUES ($1)").isPlannable)
        XCTAssertEqual(NormalizedStatement.preparedBody("\nPREPARE new_jobs(text, int[]) AS SELECT $1, $2"), "SELECT $1, $2")
        XCTAssertEqual(NormalizedStatement.preparedBody(#"prepare "My As"   as  UPDATE t SET a = $1"#), "UPDATE t SET a = $1")
        XCTAssertEqual(NormalizedStatement.preparedBody("SELECT 1 AS prepare"), "SELECT 1 AS prepare")
        XCTAssertEqual(NormalizedStatement.preparedBody("PREPARE p"), "PREPARE p")
        XCTAssertEqual(NormalizedStatement.preparedBody("PREPARE"), "PREPARE")
    }
}

/// Sizes measured on PostgreSQL 15 (`pg_relation_size` after `CREATE INDEX`), on tables
/// of the index advice benchmark at scale 0.05; the estimate must be within 15%.
final class IndexSizeEstimateTests: XCTestCase {
    private func assertClose(_ estimate: Double, _ real: Double, _ what: String) {
        XCTAssertLessThan(abs(estimate - real) / real, 0.15, "\(what): estimated \(estimate), real \(real)")
    }

    func testAgainstRealBuilds() {
        // events (200,788 rows): ts almost unique; customer_id 5,000 values.
        assertClose(IndexSizeEstimate.bytes(rows: 200_788, columns: [.init(distinct: 200_000, width: 8, deduplicates: true)]),
                    4_424 * 1024, "events (ts)")
        assertClose(IndexSizeEstimate.bytes(rows: 200_788, columns: [.init(distinct: 5_000, width: 4, deduplicates: true)]),
                    1_456 * 1024, "events (customer_id)")
        // orders (50,000 rows): customer_id 5,000 values.
        assertClose(IndexSizeEstimate.bytes(rows: 50_000, columns: [.init(distinct: 5_000, width: 4, deduplicates: true)]),
                    472 * 1024, "orders (customer_id)")
    }

    func testDeduplicationAndWidthMatter() {
        let unique = IndexSizeEstimate.bytes(rows: 1e6, columns: [.init(distinct: 1e6, width: 4, deduplicates: true)])
        let few = IndexSizeEstimate.bytes(rows: 1e6, columns: [.init(distinct: 10, width: 4, deduplicates: true)])
        let fewNumeric = IndexSizeEstimate.bytes(rows: 1e6, columns: [.init(distinct: 10, width: 4, deduplicates: false)])
        XCTAssertLessThan(few * 2, unique)
        XCTAssertEqual(fewNumeric, unique)
        let wide = IndexSizeEstimate.bytes(rows: 1e6, columns: [.init(distinct: 1e6, width: 40, deduplicates: true)])
        XCTAssertGreaterThan(wide, 2 * unique)
        XCTAssertEqual(IndexSizeEstimate.bytes(rows: 0, columns: [.init(distinct: 1, width: 4, deduplicates: true)]), 8192)
        XCTAssertEqual(IndexSizeEstimate.bytes(rows: .nan, columns: []), 8192)
    }
}

extension IndexSelectionTests {
    /// Carrying the one column a query reads besides its key makes it index-only: worth
    /// its bytes when the query runs often.
    func testAnIncludeListIsAddedWhereItMakesAScanIndexOnly() throws {
        var planner = Planner(scanCost: [1: 1_000], withPrefix: [1: [["a"]: 100]])
        let covering = IndexDesign(table: "t", columns: ["a"], include: ["p"])
        planner.exactly = [1: [covering: 10]]
        let result = try IndexSelection.extend(statements: [statement(1)], columns: ["t": ["a"]],
                                               readColumns: ["t": [["a", "p"]]], options: .init(budgetBytes: 10_000),
                                               costing: &planner)
        XCTAssertEqual(result.chosen.map(\.index), [covering])
        XCTAssertEqual(covering.definition, "CREATE INDEX ON t (a) INCLUDE (p)")
    }

    /// A BRIN index on a range-filtered column in physical order serves the range almost
    /// as well for a hundredth of the bytes: it wins per byte, and is never widened.
    func testBRINIsChosenWhereItServesForFewerBytes() throws {
        var planner = Planner(scanCost: [1: 1_000], withPrefix: [1: [["ts"]: 12]])
        let result = try IndexSelection.extend(statements: [statement(1)], columns: ["t": ["ts", "b"]],
                                               brinColumns: ["t": ["ts"]], options: .init(budgetBytes: 10_000),
                                               costing: &planner)
        XCTAssertEqual(result.chosen.map(\.index), [IndexDesign(table: "t", columns: ["ts"], method: .brin)])
        XCTAssertEqual(result.chosen.first?.index.definition, "CREATE INDEX ON t USING brin (ts)")
        XCTAssertEqual(result.chosen.first?.index.description, "t USING brin (ts)")
        // Even where a second column would pay, a BRIN index stays as it is.
        planner.withPrefix[1]?[["ts", "b"]] = 1
        let widened = try IndexSelection.extend(statements: [statement(1)], columns: ["t": ["ts", "b"]],
                                                brinColumns: ["t": ["ts"]], options: .init(budgetBytes: 10_000),
                                                costing: &planner)
        XCTAssertFalse(widened.chosen.contains { $0.index.method == .brin && $0.index.columns.count > 1 })
    }

    func testAnIndexLeadingAnExistingOneIsNeverProposed() throws {
        var planner = Planner(scanCost: [1: 1_000], withPrefix: [1: [["a"]: 10, ["b"]: 20]])
        let result = try IndexSelection.extend(statements: [statement(1)], columns: ["t": ["a", "b"]],
                                               existing: ["t": [["a", "z"]]], options: .init(budgetBytes: 10_000),
                                               costing: &planner)
        XCTAssertEqual(result.chosen.map(\.index.columns), [["b"]], "(a) leads the existing (a, z)")
    }
}

final class StatementConstantsTests: XCTestCase {
    func testTheParameterAColumnIsComparedWith() {
        XCTAssertEqual(StatementConstants.equalityParameter(of: "state", in: "SELECT * FROM jobs WHERE kind = $1 AND state = $2"), 2)
        XCTAssertEqual(StatementConstants.equalityParameter(of: "state", in: "SELECT * FROM jobs j WHERE j.state=$3"), 3)
        XCTAssertEqual(StatementConstants.equalityParameter(of: "state", in: "SELECT * FROM jobs WHERE $4 = state"), 4)
        XCTAssertNil(StatementConstants.equalityParameter(of: "state", in: "SELECT * FROM jobs WHERE state >= $1"))
        XCTAssertNil(StatementConstants.equalityParameter(of: "state", in: "SELECT * FROM jobs WHERE old_state = $1"))
        XCTAssertNil(StatementConstants.equalityParameter(of: "state", in: "SELECT state FROM jobs WHERE id = $1"))
    }

    func testTheParameterAColumnIsMatchedWithByLike() {
        XCTAssertEqual(StatementConstants.patternParameter(of: "name", in: "SELECT * FROM t WHERE id = $1 AND name LIKE $2"), 2)
        XCTAssertEqual(StatementConstants.patternParameter(of: "name", in: "SELECT * FROM t x WHERE x.name like $3"), 3)
        XCTAssertEqual(StatementConstants.patternParameter(of: "name", in: "SELECT * FROM t WHERE name ~~ $1"), 1)
        XCTAssertNil(StatementConstants.patternParameter(of: "name", in: "SELECT * FROM t WHERE name ILIKE $1"))
        XCTAssertNil(StatementConstants.patternParameter(of: "name", in: "SELECT * FROM t WHERE name = $1"))
        XCTAssertNil(StatementConstants.patternParameter(of: "name", in: "SELECT * FROM t WHERE nickname LIKE $1"))
        XCTAssertNil(StatementConstants.patternParameter(of: "name", in: "SELECT * FROM t WHERE name LIKEWISE $1"))
    }

    func testAPrefixPatternIsAnchoredAtItsStart() {
        XCTAssertTrue(StatementConstants.isPrefixPattern("abc%"))
        XCTAssertTrue(StatementConstants.isPrefixPattern("a_c"))
        XCTAssertFalse(StatementConstants.isPrefixPattern("%abc"))
        XCTAssertFalse(StatementConstants.isPrefixPattern("_bc%"))
        XCTAssertFalse(StatementConstants.isPrefixPattern("\\%abc"))
        XCTAssertFalse(StatementConstants.isPrefixPattern(""))
    }

    func testValuesAlignTheNormalizedTextWithTheTextAsSent() {
        XCTAssertEqual(StatementConstants.values(normalized: "SELECT * FROM jobs WHERE state = $1 AND n > $2 LIMIT $3",
                                                 example: "SELECT * FROM jobs WHERE state = 'it''s new' AND n > -1.5e3 LIMIT 10",
                                                 parameters: []),
                       [1: "it's new", 2: "-1.5e3", 3: "10"])
        // A prepared statement's own parameters keep their numbers; constants follow them.
        XCTAssertEqual(StatementConstants.values(normalized: "SELECT * FROM jobs WHERE state = $1 AND flag = $2",
                                                 example: "SELECT * FROM jobs WHERE state = $1 AND flag = true",
                                                 parameters: ["new"]),
                       [1: "new", 2: "true"])
        XCTAssertEqual(StatementConstants.values(normalized: "SELECT 1 WHERE s = $1", example: "\n SELECT 1 WHERE s = 'a';",
                                                 parameters: []), [1: "a"], "cut from a longer string")
        XCTAssertNil(StatementConstants.values(normalized: "SELECT * FROM jobs WHERE state = $1",
                                               example: "SELECT * FROM other WHERE state = 'new'", parameters: []))
        XCTAssertNil(StatementConstants.values(normalized: "SELECT $1", example: "SELECT $2", parameters: ["x"]))
        XCTAssertNil(StatementConstants.values(normalized: "SELECT $1", example: "SELECT 'unterminated", parameters: []))
    }
}

final class PartialIndexCandidateTests: XCTestCase {
    func testADominantValueNeedsEnoughExamplesAndNineInTen() {
        XCTAssertEqual(StatementConstants.dominantValue(Array(repeating: "new", count: 9) + ["done"]), "new")
        XCTAssertNil(StatementConstants.dominantValue(Array(repeating: "new", count: 8) + ["done", "old"]))
        XCTAssertNil(StatementConstants.dominantValue(["new", "new"]), "two examples say little")
    }

    func testPartialMovesKeepTheirPredicate() {
        let moves = IndexSelection.moves(from: [IndexDesign(table: "t", columns: ["a"], predicate: "s = 'new'")],
                                         columns: ["t": ["a", "b"]], brinColumns: [:], predicates: ["t": ["s = 'new'"]],
                                         maxColumns: 4).map(\.added.description)
        XCTAssertTrue(moves.contains("t (a, b) WHERE s = 'new'"), "\(moves)")
        XCTAssertTrue(moves.contains("t (b) WHERE s = 'new'"), "\(moves)")
        XCTAssertTrue(moves.contains("t (a)"), "\(moves)")
        XCTAssertFalse(moves.contains("t (a) WHERE s = 'new'"), "already chosen")
    }
}

final class PlanShapeTests: XCTestCase {
    func testNodesInOrderWithTheirIndexes() {
        let json = #"[{"Plan": {"Node Type": "Limit", "Plans": [{"Node Type": "Index Scan", "Index Name": "augur_jobs_state", "#
            + #""Relation Name": "jobs"}, {"Node Type": "Seq Scan", "Relation Name": "t"}]}}]"#
        XCTAssertEqual(NormalizedStatement.planShape(ofExplainJSON: json), "Limit > Index Scan (augur_jobs_state) > Seq Scan")
        XCTAssertEqual(NormalizedStatement.planShape(ofExplainJSON: "nonsense"), "")
    }
}
