/// The key co-access graph a sharding plan partitions: key values as vertices, weighted by
/// how often they were accessed; an edge between two keys weighted by the transactions
/// that used both. Kept as compressed adjacency (each edge stored in both directions) so
/// that a graph of a million edges is a few flat arrays.
public struct KeyGraph: Sendable {
    public let vertexWeights: [Double]
    /// Vertex v's neighbours are `neighbors[offsets[v]..<offsets[v + 1]]`.
    let offsets: [Int]
    let neighbors: [Int32]
    let edgeWeights: [Double]

    public var vertexCount: Int { vertexWeights.count }
    public var edgeCount: Int { neighbors.count / 2 }
    public var totalVertexWeight: Double { vertexWeights.reduce(0, +) }

    /// One undirected edge between vertices `a` and `b`.
    public struct Edge: Sendable {
        public let a: Int
        public let b: Int
        public let weight: Double

        public init(_ a: Int, _ b: Int, _ weight: Double) {
            self.a = a
            self.b = b
            self.weight = weight
        }
    }

    /// Repeated edges are summed; self-loops, edges naming a vertex that does not exist
    /// and weights that are not positive and finite are left out, as are vertex weights
    /// that are not (they count 0).
    public init(vertexWeights: [Double], edges: [Edge]) {
        let weights = vertexWeights.map { $0.isFinite && $0 > 0 ? $0 : 0 }
        let count = weights.count
        let valid = edges.filter {
            $0.a != $0.b && $0.a >= 0 && $0.b >= 0 && $0.a < count && $0.b < count && $0.weight.isFinite && $0.weight > 0
        }
        var degree = [Int](repeating: 0, count: count + 1)
        for edge in valid {
            degree[edge.a + 1] += 1
            degree[edge.b + 1] += 1
        }
        for vertex in 0..<count { degree[vertex + 1] += degree[vertex] }
        var fill = degree
        var neighbors = [Int32](repeating: 0, count: 2 * valid.count)
        var edgeWeights = [Double](repeating: 0, count: 2 * valid.count)
        for edge in valid {
            neighbors[fill[edge.a]] = Int32(edge.b)
            edgeWeights[fill[edge.a]] = edge.weight
            fill[edge.a] += 1
            neighbors[fill[edge.b]] = Int32(edge.a)
            edgeWeights[fill[edge.b]] = edge.weight
            fill[edge.b] += 1
        }
        self.init(merging: weights, offsets: degree, neighbors: neighbors, edgeWeights: edgeWeights)
    }

    /// Adjacency whose lists may name a neighbour more than once: each list is merged in
    /// place, with one slot per vertex marking where its edge already is.
    init(merging vertexWeights: [Double], offsets: [Int], neighbors: [Int32], edgeWeights: [Double]) {
        var slot = [Int](repeating: -1, count: vertexWeights.count)
        var mergedOffsets = [Int](repeating: 0, count: vertexWeights.count + 1)
        var mergedNeighbors: [Int32] = []
        var mergedWeights: [Double] = []
        mergedNeighbors.reserveCapacity(neighbors.count)
        mergedWeights.reserveCapacity(neighbors.count)
        for vertex in 0..<vertexWeights.count {
            let start = mergedNeighbors.count
            for entry in offsets[vertex]..<offsets[vertex + 1] {
                let neighbor = Int(neighbors[entry])
                if slot[neighbor] >= start {
                    mergedWeights[slot[neighbor]] += edgeWeights[entry]
                } else {
                    slot[neighbor] = mergedNeighbors.count
                    mergedNeighbors.append(neighbors[entry])
                    mergedWeights.append(edgeWeights[entry])
                }
            }
            mergedOffsets[vertex + 1] = mergedNeighbors.count
        }
        self.vertexWeights = vertexWeights
        self.offsets = mergedOffsets
        self.neighbors = mergedNeighbors
        self.edgeWeights = mergedWeights
    }

    /// The graph of `members` (distinct vertices) and the edges between them: member i
    /// is vertex i of the result.
    func induced(_ members: [Int]) -> KeyGraph {
        var index = [Int32](repeating: -1, count: vertexCount)
        for (position, vertex) in members.enumerated() { index[vertex] = Int32(position) }
        var offsets = [0]
        var inside: [Int32] = []
        var weights: [Double] = []
        for vertex in members {
            for entry in self.offsets[vertex]..<self.offsets[vertex + 1] where index[Int(neighbors[entry])] >= 0 {
                inside.append(index[Int(neighbors[entry])])
                weights.append(edgeWeights[entry])
            }
            offsets.append(inside.count)
        }
        return KeyGraph(merging: members.map { vertexWeights[$0] }, offsets: offsets, neighbors: inside, edgeWeights: weights)
    }

    /// The weight of the edges whose ends are in different parts (each edge once).
    public func cut(_ assignment: [Int]) -> Double {
        guard assignment.count == vertexCount else { return .nan }
        var cut = 0.0
        for vertex in 0..<vertexCount {
            for entry in offsets[vertex]..<offsets[vertex + 1] where assignment[Int(neighbors[entry])] != assignment[vertex] {
                cut += edgeWeights[entry]
            }
        }
        return cut / 2
    }

    /// The vertex weight each of `parts` parts holds.
    public func partWeights(_ assignment: [Int], parts: Int) -> [Double] {
        var weights = [Double](repeating: 0, count: max(parts, 0))
        for (vertex, part) in assignment.enumerated() where vertex < vertexCount && part >= 0 && part < parts {
            weights[part] += vertexWeights[vertex]
        }
        return weights
    }
}
