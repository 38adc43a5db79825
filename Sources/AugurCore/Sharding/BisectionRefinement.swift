extension GraphPartitioner {
    /// Fiduccia–Mattheyses refinement of a split in two: in each pass, keys move one at a
    /// time, the one whose move cuts least first (even at a loss, which lets a pass climb
    /// out of a local minimum), each at most once, while the side it goes to has room (or
    /// the side it leaves has too much); then the pass is undone back to the best split it
    /// saw: the least overweight, then the lowest cut. A pass that finds no better split
    /// ends the refinement. A pass gives up after `patience` moves without a better split.
    static func refineBisection(_ graph: KeyGraph, _ side: inout [Int], limits: [Double], passes: Int) {
        let count = graph.vertexCount
        let patience = max(50, count / 100)
        var weights = graph.partWeights(side, parts: 2)
        var gain = [Double](repeating: 0, count: count)
        var stamp = [UInt32](repeating: 0, count: count)
        var locked = [Bool](repeating: false, count: count)
        var queue = GainQueue()
        var moves: [Int] = []
        func overweight() -> Double { max(weights[0] - limits[0], 0) + max(weights[1] - limits[1], 0) }
        for _ in 0..<max(passes, 1) {
            // Gains from scratch: what moving each key to the other side would take off the cut.
            var cut = 0.0
            queue.removeAll()
            for vertex in 0..<count {
                var across = 0.0, within = 0.0
                for entry in graph.offsets[vertex]..<graph.offsets[vertex + 1] {
                    if side[Int(graph.neighbors[entry])] == side[vertex] { within += graph.edgeWeights[entry] } else { across += graph.edgeWeights[entry] }
                }
                gain[vertex] = across - within
                cut += across
                locked[vertex] = false
                if across > 0 || overweight() > 0 { queue.push(gain[vertex], vertex, stamp[vertex]) }
            }
            cut /= 2
            var best = (overweight: overweight(), cut: cut, moves: 0)
            moves.removeAll(keepingCapacity: true)
            while let (vertex, version) = queue.pop(), moves.count - best.moves < patience {
                guard !locked[vertex], version == stamp[vertex] else { continue }
                let from = side[vertex], to = 1 - from, weight = graph.vertexWeights[vertex]
                guard weights[to] + weight <= limits[to] || weights[from] > limits[from] else { continue }
                side[vertex] = to
                weights[from] -= weight
                weights[to] += weight
                cut -= gain[vertex]
                gain[vertex] = -gain[vertex]
                locked[vertex] = true
                moves.append(vertex)
                for entry in graph.offsets[vertex]..<graph.offsets[vertex + 1] {
                    let neighbor = Int(graph.neighbors[entry])
                    gain[neighbor] += side[neighbor] == to ? -2 * graph.edgeWeights[entry] : 2 * graph.edgeWeights[entry]
                    if !locked[neighbor] {
                        stamp[neighbor] &+= 1
                        queue.push(gain[neighbor], neighbor, stamp[neighbor])
                    }
                }
                if (overweight(), cut) < (best.overweight, best.cut) { best = (overweight(), cut, moves.count) }
            }
            for vertex in moves[best.moves...].reversed() {
                let weight = graph.vertexWeights[vertex]
                weights[side[vertex]] -= weight
                side[vertex] = 1 - side[vertex]
                weights[side[vertex]] += weight
            }
            if best.moves == 0 { break }
        }
    }
}

/// A max-heap of keys by gain; an entry carries its key's version when pushed, so that an
/// entry outdated by a newer push is recognised and skipped when popped.
struct GainQueue {
    private var entries: [(gain: Double, vertex: Int, version: UInt32)] = []

    mutating func removeAll() { entries.removeAll(keepingCapacity: true) }

    mutating func push(_ gain: Double, _ vertex: Int, _ version: UInt32) {
        entries.append((gain, vertex, version))
        var child = entries.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard entries[parent].gain < entries[child].gain else { break }
            entries.swapAt(parent, child)
            child = parent
        }
    }

    mutating func pop() -> (vertex: Int, version: UInt32)? {
        guard let top = entries.first else { return nil }
        let last = entries.removeLast()
        if !entries.isEmpty {
            entries[0] = last
            var parent = 0
            while true {
                let left = 2 * parent + 1, right = left + 1
                var largest = parent
                if left < entries.count, entries[left].gain > entries[largest].gain { largest = left }
                if right < entries.count, entries[right].gain > entries[largest].gain { largest = right }
                if largest == parent { break }
                entries.swapAt(parent, largest)
                parent = largest
            }
        }
        return (top.vertex, top.version)
    }
}
