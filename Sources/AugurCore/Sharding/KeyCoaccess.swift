/// The key co-access graph a plan's key values are placed by: a value weighs the
/// transactions that used it, two values used by one transaction are linked (its weight
/// shared among its pairs); then the links the graph predicts are added, so that placement
/// follows the keys that will be used together, not only the pairs that happened to be
/// sampled.
public struct KeyCoaccess: Sendable {
    public struct Options: Sendable {
        /// How much of the predicted co-access is added to the observed (0: none).
        public var predictionWeight = 1.0
        /// Pair updates the prediction may spend: bounds its cost on large graphs by
        /// looking at each key's heaviest neighbours only.
        public var predictionBudget = 8_000_000

        public init() {}
    }

    /// Vertex i of `graph` is `keys[i]`.
    public let keys: [String]
    public let graph: KeyGraph

    /// The values of the tables `plan` distributes, as `transactions` used them.
    public init(plan: ShardingPlan, transactions: [SampledTransaction], options: Options = Options()) {
        var vertex: [String: Int] = [:]
        var keys: [String] = []
        var weights: [Double] = []
        var edges: [KeyGraph.Edge] = []
        for transaction in transactions {
            var values: Set<String> = []
            for table in transaction.tables {
                guard case .distributed(let column) = plan.choices[table] ?? .local else { continue }
                values.formUnion(transaction.keys[table]?[column] ?? [])
            }
            let weight = transaction.weight
            let ids = values.sorted().map { value -> Int in
                if let id = vertex[value] { return id }
                vertex[value] = keys.count
                keys.append(value)
                weights.append(0)
                return keys.count - 1
            }
            for id in ids { weights[id] += weight }
            guard ids.count > 1 else { continue }
            let share = weight / Double(ids.count - 1)
            for (position, a) in ids.enumerated() {
                for b in ids[(position + 1)...] { edges.append(.init(a, b, share)) }
            }
        }
        var graph = KeyGraph(vertexWeights: weights, edges: edges)
        if options.predictionWeight > 0, options.predictionWeight.isFinite {
            graph = KeyGraph(vertexWeights: weights,
                             edges: edges + graph.predictedEdges(weight: options.predictionWeight, budget: options.predictionBudget))
        }
        self.keys = keys
        self.graph = graph
    }
}

extension KeyGraph {
    /// Links the graph predicts, by resource allocation (as `coaccess_predicted` does for
    /// tables): keys a and b score Σ over shared neighbours n of w(a,n)·w(n,b) / strength(n),
    /// so keys used with the same keys are linked, hubs used with everything less so. Each
    /// key looks through its heaviest neighbours only (as many as `budget` pair updates
    /// allow over the graph) and keeps as many predicted links; pairs already linked are
    /// scored too, which strengthens the groups the observed links outline.
    func predictedEdges(weight: Double, budget: Int) -> [Edge] {
        let count = vertexCount
        guard count > 2 else { return [] }
        let width = max(4, Int((Double(max(budget, 0)) / Double(count)).squareRoot()))
        // Each vertex's heaviest `width` adjacency entries, heaviest first.
        var heaviest: [Int] = []
        var heaviestOffsets = [0]
        var strength = [Double](repeating: 0, count: count)
        for vertex in 0..<count {
            let entries = offsets[vertex]..<offsets[vertex + 1]
            strength[vertex] = entries.reduce(0) { $0 + edgeWeights[$1] }
            heaviest += entries.count <= width ? Array(entries) : Array(entries.sorted { edgeWeights[$0] > edgeWeights[$1] }.prefix(width))
            heaviestOffsets.append(heaviest.count)
        }
        var score = [Double](repeating: 0, count: count)
        var scored: [Int] = []
        var edges: [Edge] = []
        for a in 0..<count {
            for first in heaviest[heaviestOffsets[a]..<heaviestOffsets[a + 1]] {
                let shared = Int(neighbors[first])
                guard strength[shared] > 0 else { continue }
                let fromA = edgeWeights[first] / strength[shared]
                for second in heaviest[heaviestOffsets[shared]..<heaviestOffsets[shared + 1]] {
                    let b = Int(neighbors[second])
                    guard b > a else { continue }
                    if score[b] == 0 { scored.append(b) }
                    score[b] += fromA * edgeWeights[second]
                }
            }
            let kept = scored.count <= width ? scored : Array(scored.sorted { score[$0] > score[$1] }.prefix(width))
            for b in kept { edges.append(Edge(a, b, weight * score[b])) }
            for b in scored { score[b] = 0 }
            scored.removeAll(keepingCapacity: true)
        }
        return edges
    }
}
