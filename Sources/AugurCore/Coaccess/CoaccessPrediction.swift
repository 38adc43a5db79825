/// Predicted co-access: pairs of relations (or columns) not used together yet that
/// probably will be, scored from the weighted co-access graph.
///
/// A node's neighbourhood is the vector of its co-access weights to every other node.
/// Two methods score a pair (a, b) with no edge between them:
/// - cosine: the cosine of a's and b's neighbourhood vectors (they are used with the same
///   things, in the same proportions);
/// - resource allocation: Σ over shared neighbours n of w(a,n)·w(b,n) / strength(n),
///   which discounts hubs that are used with everything (Zhou, Lü, Zhang 2009).
/// `CoaccessPredictionTests` compares them on a held-out window; resource allocation is
/// the default because it did better there.
public struct CoaccessGraph: Sendable {
    public enum Method: String, Sendable, CaseIterable {
        case cosine, resourceAllocation = "resource_allocation"
    }

    public struct Prediction: Equatable, Sendable {
        public var a: String
        public var b: String
        public var score: Double
        public var sharedNeighbours: Int
    }

    private var names: [String] = []
    private var index: [String: Int] = [:]
    /// neighbours[i][j] = weight of the edge i–j.
    private var neighbours: [[Int: Double]] = []

    /// Edges with a non-positive or non-finite weight, and self-loops, are ignored;
    /// repeated edges add up.
    public init(edges: [(a: String, b: String, weight: Double)]) {
        for edge in edges where edge.a != edge.b && edge.weight.isFinite && edge.weight > 0 {
            let i = node(edge.a), j = node(edge.b)
            neighbours[i][j, default: 0] += edge.weight
            neighbours[j][i, default: 0] += edge.weight
        }
    }

    private mutating func node(_ name: String) -> Int {
        if let i = index[name] { return i }
        index[name] = names.count
        names.append(name)
        neighbours.append([:])
        return names.count - 1
    }

    public func hasEdge(_ a: String, _ b: String) -> Bool {
        guard let i = index[a], let j = index[b] else { return false }
        return neighbours[i][j] != nil
    }

    /// The k best-scored pairs without an edge that share at least one neighbour, best
    /// first (ties by name); names in each pair in byte order.
    public func predicted(k: Int, method: Method = .resourceAllocation) -> [Prediction] {
        guard k > 0 else { return [] }
        let strength = neighbours.map { $0.values.reduce(0, +) }
        let norm = neighbours.map { $0.values.reduce(0) { $0 + $1 * $1 }.squareRoot() }
        var scores: [Int: [Int: (sum: Double, shared: Int)]] = [:]
        // Only pairs two hops apart can score above zero: walk each shared neighbour.
        for (n, around) in neighbours.enumerated() {
            let members = around.sorted { $0.key < $1.key }
            for (x, (i, wi)) in members.enumerated() {
                for (j, wj) in members[(x + 1)...] where neighbours[i][j] == nil {
                    let term = method == .cosine ? wi * wj : wi * wj / strength[n]
                    let (low, high) = (min(i, j), max(i, j))
                    let current = scores[low, default: [:]][high] ?? (0, 0)
                    scores[low, default: [:]][high] = (current.sum + term, current.shared + 1)
                }
            }
        }
        var predictions: [Prediction] = []
        for (i, row) in scores {
            for (j, value) in row {
                let score = method == .cosine ? value.sum / (norm[i] * norm[j]) : value.sum
                guard score.isFinite, score > 0 else { continue }
                let (a, b) = names[i].utf8.lexicographicallyPrecedes(names[j].utf8) ? (names[i], names[j]) : (names[j], names[i])
                predictions.append(Prediction(a: a, b: b, score: score, sharedNeighbours: value.shared))
            }
        }
        predictions.sort {
            if $0.score != $1.score { return $0.score > $1.score }
            if $0.a != $1.a { return $0.a.utf8.lexicographicallyPrecedes($1.a.utf8) }
            return $0.b.utf8.lexicographicallyPrecedes($1.b.utf8)
        }
        return Array(predictions.prefix(k))
    }
}
