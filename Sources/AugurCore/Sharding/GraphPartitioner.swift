/// Splits a key graph into parts of balanced vertex weight cutting as little edge weight as
/// it can, by recursive bisection in the manner of METIS's: each split is multilevel
/// (coarsen by heavy-edge matching, so that keys used together most are merged first;
/// split the small graph from several random starts; undo the coarsening level by level,
/// refining with Fiduccia–Mattheyses), and the parts are finally refined together, boundary
/// keys moving greedily to the part they are most connected to while the balance allows.
public enum GraphPartitioner {
    public struct Options: Sendable {
        /// The heaviest part may weigh at most (1 + imbalance) × the mean.
        public var imbalance = 0.05
        public var seed: UInt64 = 1
        /// Refinement passes per level at most (a pass that changes nothing ends it).
        public var refinementPasses = 10

        public init() {}
    }

    public struct Result: Sendable {
        /// The part of each vertex, 0..<parts.
        public let assignment: [Int]
        public let cut: Double
        public let partWeights: [Double]
    }

    public static func partition(_ graph: KeyGraph, parts: Int, options: Options = Options()) -> Result {
        let parts = max(parts, 1)
        var random = SplitMix64(state: options.seed)
        guard parts > 1, graph.vertexCount > 0 else {
            let assignment = [Int](repeating: 0, count: graph.vertexCount)
            return Result(assignment: assignment, cut: 0, partWeights: graph.partWeights(assignment, parts: parts))
        }
        // Each level of splits may use an equal share of the imbalance, so that the parts end
        // within it. (Splits that each take all of it leave parts up to 1.05^levels heavy,
        // and evening those out afterwards cuts through groups of keys: 1.4 times METIS's
        // cut on groups of equal weight split two to a part.)
        let halvings = Double(Int.bitWidth - (parts - 1).leadingZeroBitCount)
        var assignment = [Int](repeating: 0, count: graph.vertexCount)
        bisect(graph, vertices: Array(0..<graph.vertexCount), parts: 0..<parts,
               imbalancePerSplit: exp2(log2(1 + max(options.imbalance, 0)) / halvings) - 1,
               passes: options.refinementPasses, into: &assignment, random: &random)
        refine(graph, &assignment, room: capacities(graph, shares: evenShares(parts), imbalance: options.imbalance),
               passes: options.refinementPasses, random: &random)
        return Result(assignment: assignment, cut: graph.cut(assignment), partWeights: graph.partWeights(assignment, parts: parts))
    }

    /// A partition into `parts` parts that moves as few keys as it can from `previous` (each
    /// vertex's part, -1 or a part not below `parts` for one to place): what a plan for one
    /// node more or fewer keeps of the plan in use. Vertices to place go to the part with
    /// room they are most connected to (else the lightest); then each part `previous` left
    /// empty (a node just added) takes, from the heaviest parts down, a connected region of
    /// each one's excess over the mean, grown along the heaviest edges, so that the keys
    /// that move keep their groups and no part gives more than it must.
    public static func extend(_ graph: KeyGraph, from previous: [Int], parts: Int, options: Options = Options()) -> Result {
        let parts = max(parts, 1)
        let count = graph.vertexCount
        var assignment = (0..<count).map { $0 < previous.count && previous[$0] >= 0 && previous[$0] < parts ? previous[$0] : -1 }
        var weights = graph.partWeights(assignment, parts: parts)
        let added = (0..<parts).filter { weights[$0] == 0 }
        let room = capacities(graph, shares: evenShares(parts), imbalance: options.imbalance)
        var connection = [Double](repeating: 0, count: parts)
        for vertex in (0..<count).filter({ assignment[$0] < 0 }).sorted(by: { graph.vertexWeights[$0] > graph.vertexWeights[$1] }) {
            for part in 0..<parts { connection[part] = 0 }
            for entry in graph.offsets[vertex]..<graph.offsets[vertex + 1] where assignment[Int(graph.neighbors[entry])] >= 0 {
                connection[assignment[Int(graph.neighbors[entry])]] += graph.edgeWeights[entry]
            }
            let weight = graph.vertexWeights[vertex]
            let fitting = (0..<parts).filter { weights[$0] + weight <= room[$0] }
            let part = fitting.max { (connection[$0], -weights[$0]) < (connection[$1], -weights[$1]) }
                ?? (0..<parts).min { weights[$0] < weights[$1] } ?? 0
            assignment[vertex] = part
            weights[part] += weight
        }
        var random = SplitMix64(state: options.seed)
        let order = shuffled(count, &random).sorted { graph.vertexWeights[$0] > graph.vertexWeights[$1] }
        let mean = graph.totalVertexWeight / Double(parts)
        for receiver in added {
            for donor in (0..<parts).sorted(by: { weights[$0] > weights[$1] }) where weights[donor] > mean {
                let amount = min(weights[donor] - mean, mean - weights[receiver])
                guard amount > 0 else { break }
                let moved = moveRegion(graph, &assignment, from: donor, to: receiver, amount: amount, seeds: order)
                weights[donor] -= moved
                weights[receiver] += moved
            }
        }
        return Result(assignment: assignment, cut: graph.cut(assignment), partWeights: graph.partWeights(assignment, parts: parts))
    }

    /// Moves about `amount` of vertex weight from part `donor` to `receiver`: breadth first
    /// from a seed (the next of `seeds` in the donor), heaviest edges first, taking each
    /// vertex that brings the moved weight closer to `amount`. Returns the weight moved.
    static func moveRegion(_ graph: KeyGraph, _ assignment: inout [Int], from donor: Int, to receiver: Int, amount: Double,
                           seeds: [Int]) -> Double {
        var moved = 0.0
        var seen = [Bool](repeating: false, count: graph.vertexCount)
        var queue: [Int] = []
        var head = 0
        var nextSeed = 0
        while moved < amount {
            if head == queue.count {
                while nextSeed < seeds.count, seen[seeds[nextSeed]] || assignment[seeds[nextSeed]] != donor { nextSeed += 1 }
                guard nextSeed < seeds.count else { break }
                seen[seeds[nextSeed]] = true
                queue.append(seeds[nextSeed])
            }
            let vertex = queue[head]
            head += 1
            let weight = graph.vertexWeights[vertex]
            guard weight <= 2 * (amount - moved) else { continue }
            assignment[vertex] = receiver
            moved += weight
            let entries = (graph.offsets[vertex]..<graph.offsets[vertex + 1]).sorted { graph.edgeWeights[$0] > graph.edgeWeights[$1] }
            for entry in entries {
                let neighbor = Int(graph.neighbors[entry])
                if !seen[neighbor], assignment[neighbor] == donor {
                    seen[neighbor] = true
                    queue.append(neighbor)
                }
            }
        }
        return moved
    }

    /// Coarsens `graph` until it has about `coarsest` vertices (or stops shrinking), splits
    /// that in two with `start`, and projects the split back level by level, each refined
    /// for sides that may weigh at most `limits`.
    static func multilevel(_ graph: KeyGraph, limits: [Double], coarsest: Int, passes: Int,
                           random: inout SplitMix64,
                           start: (KeyGraph, inout SplitMix64) -> [Int]) -> [Int] {
        let heaviestMerge = 1.5 * graph.totalVertexWeight / Double(max(coarsest, 1))
        var levels: [(graph: KeyGraph, coarseOf: [Int32])] = []
        var current = graph
        while current.vertexCount > coarsest {
            let (coarse, coarseOf) = coarsen(current, heaviest: heaviestMerge, random: &random)
            if Double(coarse.vertexCount) > 0.95 * Double(current.vertexCount) { break }
            levels.append((current, coarseOf))
            current = coarse
        }
        var assignment = start(current, &random)
        for (finer, coarseOf) in levels.reversed() {
            assignment = coarseOf.map { assignment[Int($0)] }
            refineBisection(finer, &assignment, limits: limits, passes: passes)
        }
        return assignment
    }

    /// Heavy-edge matching: in a random order, each unmatched vertex is merged with the
    /// unmatched neighbour it shares the heaviest edge with (unless the pair would weigh
    /// more than `heaviest`). Returns the coarse graph and each vertex's coarse vertex.
    static func coarsen(_ graph: KeyGraph, heaviest: Double, random: inout SplitMix64) -> (KeyGraph, [Int32]) {
        let count = graph.vertexCount
        var match = [Int32](repeating: -1, count: count)
        for vertex in shuffled(count, &random) where match[vertex] < 0 {
            var best = -1
            var bestWeight = 0.0
            for entry in graph.offsets[vertex]..<graph.offsets[vertex + 1] {
                let neighbor = Int(graph.neighbors[entry])
                if match[neighbor] < 0, graph.edgeWeights[entry] > bestWeight,
                   graph.vertexWeights[vertex] + graph.vertexWeights[neighbor] <= heaviest {
                    best = neighbor
                    bestWeight = graph.edgeWeights[entry]
                }
            }
            let partner = best >= 0 ? best : vertex
            match[vertex] = Int32(partner)
            match[partner] = Int32(vertex)
        }
        var coarseOf = [Int32](repeating: -1, count: count)
        var members: [(Int, Int)] = []
        members.reserveCapacity(count)
        for vertex in 0..<count where coarseOf[vertex] < 0 {
            let partner = Int(match[vertex])
            coarseOf[vertex] = Int32(members.count)
            coarseOf[partner] = Int32(members.count)
            members.append((vertex, partner))
        }
        var weights = [Double](repeating: 0, count: members.count)
        var offsets = [Int](repeating: 0, count: members.count + 1)
        var neighbors: [Int32] = []
        var edgeWeights: [Double] = []
        neighbors.reserveCapacity(graph.neighbors.count)
        edgeWeights.reserveCapacity(graph.neighbors.count)
        for (coarse, pair) in members.enumerated() {
            for member in 0..<(pair.0 == pair.1 ? 1 : 2) {
                let vertex = member == 0 ? pair.0 : pair.1
                weights[coarse] += graph.vertexWeights[vertex]
                for entry in graph.offsets[vertex]..<graph.offsets[vertex + 1] {
                    let other = coarseOf[Int(graph.neighbors[entry])]
                    if Int(other) != coarse {
                        neighbors.append(other)
                        edgeWeights.append(graph.edgeWeights[entry])
                    }
                }
            }
            offsets[coarse + 1] = neighbors.count
        }
        return (KeyGraph(merging: weights, offsets: offsets, neighbors: neighbors, edgeWeights: edgeWeights), coarseOf)
    }

    /// Splits `graph` (whose vertex i is `vertices[i]` of the original) into two sides with
    /// the shares of the first and second half of `parts`, and each side again, until each
    /// holds one part; a side may weigh (1 + imbalancePerSplit) times its share.
    static func bisect(_ graph: KeyGraph, vertices: [Int], parts: Range<Int>, imbalancePerSplit: Double, passes: Int,
                       into assignment: inout [Int], random: inout SplitMix64) {
        guard parts.count > 1 else {
            for vertex in vertices { assignment[vertex] = parts.lowerBound }
            return
        }
        let split = parts.lowerBound + parts.count / 2
        let shares = [Double(split - parts.lowerBound) / Double(parts.count), Double(parts.upperBound - split) / Double(parts.count)]
        let limits = capacities(graph, shares: shares, imbalance: imbalancePerSplit)
        // Coarsened to 100 vertices, grown from a few random keys there, the best kept,
        // refined on the way back.
        let side = multilevel(graph, limits: limits, coarsest: 100, passes: passes, random: &random) { coarsest, random in
            var best: (side: [Int], cut: Double)?
            for _ in 0..<16 {
                var side = grow(coarsest, share: shares[0], random: &random)
                refineBisection(coarsest, &side, limits: limits, passes: passes)
                let cut = coarsest.cut(side)
                if let known = best, known.cut <= cut { continue }
                best = (side, cut)
            }
            return best?.side ?? [Int](repeating: 0, count: coarsest.vertexCount)
        }
        for (half, range) in [parts.lowerBound..<split, split..<parts.upperBound].enumerated() {
            let members = side.indices.filter { side[$0] == half }
            bisect(graph.induced(members), vertices: members.map { vertices[$0] }, parts: range, imbalancePerSplit: imbalancePerSplit,
                   passes: passes, into: &assignment, random: &random)
        }
    }

    /// Side 0 grows from a random key, taking the unplaced key most connected to it until
    /// it holds `share` of the weight (graph growing); the rest is side 1.
    static func grow(_ graph: KeyGraph, share: Double, random: inout SplitMix64) -> [Int] {
        var side = [Int](repeating: 1, count: graph.vertexCount)
        var unplaced = shuffled(graph.vertexCount, &random)
        var connection = [Double](repeating: 0, count: graph.vertexCount)
        var weight = 0.0
        let target = share * graph.totalVertexWeight
        while weight < target, !unplaced.isEmpty {
            // The most connected unplaced key; none connected: the next in the random order.
            var pick = unplaced.count - 1
            for (position, vertex) in unplaced.enumerated() where connection[vertex] > connection[unplaced[pick]] {
                pick = position
            }
            let vertex = unplaced.remove(at: pick)
            side[vertex] = 0
            weight += graph.vertexWeights[vertex]
            for entry in graph.offsets[vertex]..<graph.offsets[vertex + 1] {
                connection[Int(graph.neighbors[entry])] += graph.edgeWeights[entry]
            }
        }
        return side
    }

    /// Greedy boundary refinement: each vertex in a random order moves to the part it is
    /// most connected to when that cuts less (or as much, towards a lighter part) and the
    /// part has room; a vertex on the border of an overweight part moves to the best part
    /// it borders that has room, even at a loss, and only when no border vertex can, any
    /// vertex of it to any part. Passes repeat until one moves nothing.
    static func refine(_ graph: KeyGraph, _ assignment: inout [Int], room: [Double], passes: Int,
                       random: inout SplitMix64) {
        let parts = room.count
        var weights = graph.partWeights(assignment, parts: parts)
        var connection = [Double](repeating: 0, count: parts)
        var touched: [Int] = []
        var anywhere = false
        for _ in 0..<max(passes, 1) {
            var moved = 0
            for vertex in shuffled(graph.vertexCount, &random) {
                let home = assignment[vertex]
                let weight = graph.vertexWeights[vertex]
                for entry in graph.offsets[vertex]..<graph.offsets[vertex + 1] {
                    let part = assignment[Int(graph.neighbors[entry])]
                    if connection[part] == 0 { touched.append(part) }
                    connection[part] += graph.edgeWeights[entry]
                }
                let overweight = weights[home] > room[home]
                if touched.contains(where: { $0 != home }) || (overweight && anywhere) {
                    var target = home
                    var targetGain = overweight ? -Double.infinity : 0.0
                    let candidates = overweight && anywhere ? Array(0..<parts) : touched
                    for part in candidates where part != home && weights[part] + weight <= room[part] {
                        let gain = connection[part] - connection[home]
                        // At equal gain: the lighter part, and away from home only if
                        // that evens the balance.
                        let lighter = target == home ? weights[part] + weight < weights[home] : weights[part] < weights[target]
                        if gain > targetGain || (gain == targetGain && lighter) {
                            target = part
                            targetGain = gain
                        }
                    }
                    if target != home {
                        assignment[vertex] = target
                        weights[home] -= weight
                        weights[target] += weight
                        moved += 1
                    }
                }
                for part in touched { connection[part] = 0 }
                touched.removeAll(keepingCapacity: true)
            }
            if moved == 0 {
                guard !anywhere, zip(weights, room).contains(where: { $0 > $1 }) else { break }
                anywhere = true
            }
        }
    }

    /// The most each part may weigh, given its share of the total: the balance allowed,
    /// but never less than the heaviest vertex (a part must be able to hold it).
    static func capacities(_ graph: KeyGraph, shares: [Double], imbalance: Double) -> [Double] {
        let total = graph.totalVertexWeight, heaviest = graph.vertexWeights.max() ?? 0
        return shares.map { max((1 + max(imbalance, 0)) * $0 * total, heaviest) }
    }

    static func evenShares(_ parts: Int) -> [Double] {
        [Double](repeating: 1 / Double(parts), count: parts)
    }

    static func shuffled(_ count: Int, _ random: inout SplitMix64) -> [Int] {
        var order = Array(0..<count)
        var index = count - 1
        while index > 0 {
            order.swapAt(index, random.below(index + 1))
            index -= 1
        }
        return order
    }
}
