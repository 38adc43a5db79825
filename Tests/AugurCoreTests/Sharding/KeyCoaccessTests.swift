import AugurCore
import XCTest

/// The key graph a plan places keys by: decayed, predicted; and a placement extended to
/// one node more.
final class KeyCoaccessTests: XCTestCase {
    private let plan = ShardingPlan(nodes: 2, choices: ["account": .distributed(column: "id")])

    private func transaction(_ ids: [Int], endedAt: Double = 0) -> SampledTransaction {
        SampledTransaction(tables: ["account"], keys: ["account": ["id": Set(ids.map(String.init))]], endedAt: endedAt)
    }

    func testOlderTransactionsCountLessByTheirHalfLife() {
        let decayed = [transaction([1], endedAt: 0), transaction([2], endedAt: 50), transaction([3], endedAt: 100)]
            .decayed(halfLife: 50)
        XCTAssertEqual(decayed.map(\.weight), [0.25, 0.5, 1], accuracy: 1e-9)
        XCTAssertEqual([transaction([1], endedAt: 0), transaction([2], endedAt: 100)].decayed(halfLife: .infinity).map(\.weight), [1, 1])
        // A transaction far in the past weighs nothing rather than trapping or counting whole.
        XCTAssertEqual([transaction([1], endedAt: -1e12), transaction([2], endedAt: 0)].decayed(halfLife: 1).first?.weight, 0)
    }

    /// Keys used with the same keys are predicted to be used together; a hub used with
    /// everything predicts less.
    func testKeysSharingNeighboursArePredictedToBeUsedTogether() {
        // 1–2 and 2–3 seen, never 1–3; 10 is a hub used with 1 and with 20..29.
        var observed = [transaction([1, 2]), transaction([2, 3]), transaction([1, 10])]
        observed += (20..<30).map { transaction([10, $0]) }
        var options = KeyCoaccess.Options()
        options.predictionWeight = 0
        let plain = KeyCoaccess(plan: plan, transactions: observed, options: options)
        options.predictionWeight = 1
        let predicted = KeyCoaccess(plan: plan, transactions: observed, options: options)
        // The weight of the link a–b, from cuts: cut({a}) + cut({b}) − cut({a, b}) counts it twice.
        func weight(_ coaccess: KeyCoaccess, _ a: Int, _ b: Int) -> Double {
            let ids = [a, b].compactMap { coaccess.keys.firstIndex(of: String($0)) }
            guard ids.count == 2 else { return 0 }
            func cut(_ members: [Int]) -> Double {
                coaccess.graph.cut(coaccess.keys.indices.map { members.contains($0) ? 1 : 0 })
            }
            return (cut([ids[0]]) + cut([ids[1]]) - cut(ids)) / 2
        }
        XCTAssertEqual(weight(plain, 1, 3), 0)
        XCTAssertGreaterThan(weight(predicted, 1, 3), 0)
        XCTAssertGreaterThan(weight(predicted, 1, 3), weight(predicted, 1, 20), "a hub's neighbours are predicted less")
        XCTAssertEqual(weight(predicted, 20, 1), weight(predicted, 1, 20))
        XCTAssertEqual(predicted.graph.totalVertexWeight, plain.graph.totalVertexWeight, "prediction adds links, not accesses")
        // Tables left local or reference contribute no keys.
        let none = KeyCoaccess(plan: ShardingPlan(nodes: 2, choices: ["account": .reference]), transactions: observed)
        XCTAssertTrue(none.keys.isEmpty)
    }

    /// From n to n + 1 parts: the new part takes about its share from each old one, in
    /// whole groups where it can, and nothing else moves.
    func testAnExtendedPlacementMovesOnlyTheNewPartsShare() {
        // 12 groups of 10 keys, dense inside, on 3 parts by group.
        var edges: [KeyGraph.Edge] = []
        for group in 0..<12 {
            for a in 0..<10 { for b in (a + 1)..<10 { edges.append(.init(group * 10 + a, group * 10 + b, 5)) } }
        }
        let graph = KeyGraph(vertexWeights: Array(repeating: 1, count: 120), edges: edges)
        let before = (0..<120).map { $0 / 10 % 3 }
        let after = GraphPartitioner.extend(graph, from: before, parts: 4)
        let moved = zip(before, after.assignment).filter { $0 != $1 }
        XCTAssertEqual(moved.count, 30, "a quarter of the keys, all to the new part")
        XCTAssertTrue(moved.allSatisfy { $0.1 == 3 })
        XCTAssertEqual(after.partWeights, [30, 30, 30, 30])
        XCTAssertEqual(after.cut, graph.cut(after.assignment))
        for group in 0..<12 { XCTAssertEqual(Set(after.assignment[(group * 10)..<(group * 10 + 10)]).count, 1, "group \(group) whole") }

        // Keys not placed before (-1) go where their group is; a part that no longer
        // exists gives its keys to the others.
        var partial = before
        partial[5] = -1
        XCTAssertEqual(GraphPartitioner.extend(graph, from: partial, parts: 3).assignment[5], before[0])
        let shrunk = GraphPartitioner.extend(graph, from: before, parts: 2)
        XCTAssertTrue(shrunk.assignment.allSatisfy { $0 == 0 || $0 == 1 })
        XCTAssertEqual(zip(before, shrunk.assignment).filter { $0.0 < 2 && $0.0 != $0.1 }.count, 0, "the kept parts keep their keys")
        // Nothing to extend from, or nothing at all: no trap.
        XCTAssertEqual(GraphPartitioner.extend(graph, from: [], parts: 2).assignment.count, 120)
        XCTAssertEqual(GraphPartitioner.extend(KeyGraph(vertexWeights: [], edges: []), from: [1, 2], parts: 3).assignment, [])
    }

    /// A plan for one node more, from the plan in use, moves few keys, and says how many.
    func testAPlanFromThePlanInUseMovesFewKeys() throws {
        let tables = ShardingPlannerTests.tables
        let training = ShardingPlannerTests.transactions(4_000, warehouses: 40, seed: 9)
        let four = try ShardingPlanner.plan(tables: tables, training: training, nodes: 4)
        XCTAssertNil(four.moved)
        var options = ShardingPlanner.Options()
        options.previous = four.plan
        let five = try ShardingPlanner.plan(tables: tables, training: training, nodes: 5, options: options)
        let fresh = try ShardingPlanner.plan(tables: tables, training: training, nodes: 5)
        guard let moved = five.moved else { return XCTFail("the moves are reported") }
        XCTAssertEqual(moved.of, 40)
        XCTAssertEqual(moved.keys, four.plan.placements.keys.filter { four.plan.node(of: $0) != five.plan.node(of: $0) }.count)
        XCTAssertLessThanOrEqual(Double(moved.keys), 1.05 * 40 / 5 + 1)
        let movedAfresh = four.plan.placements.keys.filter { four.plan.node(of: $0) != fresh.plan.node(of: $0) }.count
        XCTAssertGreaterThan(movedAfresh, moved.keys, "planning afresh moves more")
        XCTAssertEqual(Set(five.plan.placements.values), [0, 1, 2, 3, 4])
    }

    /// Citus distributes a table only by a column each of its unique keys includes: a
    /// table compared by tenant but keyed by id alone goes by id.
    func testTheDistributionColumnIsInEveryUniqueKey() throws {
        let training = (0..<300).map { index in
            SampledTransaction(tables: ["account"], keys: ["account": ["tenant": [String(index % 4)],
                                                                       "id": [String(index % 4 * 100 + index % 7), String(index % 4 * 100 + index % 5)]]])
        }
        func plan(_ uniqueKeys: [[String]]) throws -> ShardingPlanner.Outcome {
            try ShardingPlanner.plan(tables: [.init(name: "account", rows: 1e6, writeShare: 0.5, columns: ["id", "tenant"],
                                                    uniqueKeys: uniqueKeys)], training: training, nodes: 2)
        }
        XCTAssertEqual(try plan([["tenant", "id"]]).plan.choices["account"], .distributed(column: "tenant"))
        XCTAssertEqual(try plan([["id"]]).plan.choices["account"], .distributed(column: "id"))
        let neither = try plan([["id"], ["tenant"]])
        XCTAssertEqual(neither.plan.choices["account"], .local)
        XCTAssertTrue(neither.reasons["account"]?.contains("primary or unique keys") ?? false, neither.reasons["account"] ?? "")
    }

    /// One table and nothing else: distributed by its key, not left whole on the
    /// coordinator (which would touch one node and scale nothing).
    func testASingleTableIsDistributed() throws {
        let training = (0..<300).map { transaction([$0 % 50, ($0 * 7) % 50]) }
        let outcome = try ShardingPlanner.plan(tables: [.init(name: "account", rows: 1e6, writeShare: 0.5, columns: ["id"])],
                                               training: training, nodes: 4)
        XCTAssertEqual(outcome.plan.choices["account"], .distributed(column: "id"))
    }
}

private func XCTAssertEqual(_ a: [Double], _ b: [Double], accuracy: Double, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.count, b.count, file: file, line: line)
    for (x, y) in zip(a, b) { XCTAssertEqual(x, y, accuracy: accuracy, file: file, line: line) }
}
