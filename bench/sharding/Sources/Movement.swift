import AugurCore
import Foundation

/// Going from n to n + 1 nodes: the share of the keys a plan moves when it is extended
/// from the placement in use, beside jump hashing (the reference, 1/(n + 1)) and beside
/// partitioning afresh; the cut and the balance it keeps.
func movementTable() {
    print("\nfrom n to n + 1 nodes: 40k keys, 1.2M edges, 64 groups")
    print(" n  keys moved  accesses moved  1.05/(n+1)  jump hash moved  extended cut  fresh cut  cut ratio  busiest/mean  fresh plan moved")
    let (weights, edges) = workloadGraph(keys: 40_000, groups: 64, edges: 1_200_000, seed: 11)
    let graph = KeyGraph(vertexWeights: weights, edges: edges)
    var options = GraphPartitioner.Options()
    options.imbalance = 0.05
    for nodes in [4, 8, 16, 32] {
        let before = GraphPartitioner.partition(graph, parts: nodes, options: options)
        let extended = GraphPartitioner.extend(graph, from: before.assignment, parts: nodes + 1, options: options)
        let fresh = GraphPartitioner.partition(graph, parts: nodes + 1, options: options)
        func movedShare(_ after: [Int]) -> Double {
            Double(zip(before.assignment, after).filter { $0 != $1 }.count) / Double(graph.vertexCount)
        }
        let movedAccesses = graph.vertexWeights.indices.filter { before.assignment[$0] != extended.assignment[$0] }
            .map { graph.vertexWeights[$0] }.reduce(0, +) / graph.totalVertexWeight
        let hashed = (0..<graph.vertexCount).map { ConsistentPlacement.hash(String($0)) }
        let jumpMoved = Double(hashed.filter {
            ConsistentPlacement.node(ofHash: $0, nodes: nodes) != ConsistentPlacement.node(ofHash: $0, nodes: nodes + 1)
        }.count) / Double(graph.vertexCount)
        let mean = graph.totalVertexWeight / Double(nodes + 1)
        print(String(format: "%2d  %10.3f  %14.3f  %10.3f  %15.3f  %12.0f  %9.0f  %9.3f  %12.3f  %16.3f", nodes,
                     movedShare(extended.assignment), movedAccesses, 1.05 / Double(nodes + 1), jumpMoved, extended.cut, fresh.cut, extended.cut / fresh.cut,
                     (extended.partWeights.max() ?? 0) / mean, movedShare(fresh.assignment)))
    }
}

/// What the prediction costs on a large key graph: the key graph of 1.2 M two-key
/// transactions over 40,000 keys built with and without predicted links, then partitioned.
func predictionCostTable() {
    print("\nprediction's cost: 1.2M two-key transactions over 40k keys (64 groups), 4 parts")
    print("predict  graph s  links     partition s  cut of the observed links")
    let (_, edges) = workloadGraph(keys: 40_000, groups: 64, edges: 1_200_000, seed: 11)
    let transactions = edges.map {
        SampledTransaction(tables: ["t"], keys: ["t": ["k": [String($0.a), String($0.b)]]], weight: $0.weight)
    }
    let plan = ShardingPlan(nodes: 4, choices: ["t": .distributed(column: "k")])
    let observed = KeyCoaccess(plan: plan, transactions: transactions, options: { var o = KeyCoaccess.Options(); o.predictionWeight = 0; return o }())
    for weight in [0.0, 1.0] {
        var options = KeyCoaccess.Options()
        options.predictionWeight = weight
        var coaccess: KeyCoaccess?
        let building = seconds { coaccess = KeyCoaccess(plan: plan, transactions: transactions, options: options) }
        var result: GraphPartitioner.Result?
        let partitioning = seconds { result = GraphPartitioner.partition(coaccess!.graph, parts: 4) }
        // Both graphs number the keys the same way (in order of first use).
        print(String(format: "%7.0f  %7.2f  %9d  %11.2f  %25.0f", weight, building, coaccess!.graph.edgeCount, partitioning,
                     observed.graph.cut(result!.assignment)))
    }
}
