// The key partitioner beside METIS (gpmetis) on the same graphs: time, cut, balance, and
// the cut of one run against the best of several seeds; the keys a plan moves from n to
// n + 1 nodes; plans on a workload that drifts. Run through bench/sharding/run; arguments
// pick sections (partition, movement, prediction, drift), none runs all.
import AugurCore
import Foundation

/// A key co-access graph shaped like a multi-tenant workload: `keys` keys in `groups`
/// groups of uneven size (tenants, warehouses), `edges` edges of weight 1 to 3, nine in
/// ten inside a group; a key's weight is the weight of its edges (its accesses).
func workloadGraph(keys: Int, groups: Int, edges: Int, seed: UInt64) -> (vertexWeights: [Double], edges: [KeyGraph.Edge]) {
    var random = SplitMix64(state: seed)
    // Group sizes from a Zipf-like law, at least 8 keys each.
    let raw = (1...groups).map { 1 / pow(Double($0), 0.6) }
    var bounds = [0]
    for share in raw { bounds.append(bounds.last! + max(8, Int(Double(keys) * share / raw.reduce(0, +)))) }
    let total = bounds.last!
    var list: [KeyGraph.Edge] = []
    list.reserveCapacity(edges)
    var weights = [Double](repeating: 0, count: total)
    while list.count < edges {
        let group = random.below(groups)
        let size = bounds[group + 1] - bounds[group]
        let a = bounds[group] + random.below(size)
        let b = random.unit() < 0.9 ? bounds[group] + random.below(size) : random.below(total)
        guard a != b else { continue }
        let weight = Double(1 + random.below(3))
        list.append(.init(a, b, weight))
        weights[a] += weight
        weights[b] += weight
    }
    return (weights.map { max($0, 1) }, list)
}

func seconds(_ body: () -> Void) -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

/// METIS's graph file: integer vertex and edge weights (fmt 011).
func writeMETIS(_ graph: KeyGraph, _ vertexWeights: [Double], _ edges: [KeyGraph.Edge], to path: String) throws {
    var adjacency = [[Int: Int]](repeating: [:], count: vertexWeights.count)
    for edge in edges where edge.a != edge.b {
        adjacency[edge.a][edge.b, default: 0] += Int(edge.weight)
        adjacency[edge.b][edge.a, default: 0] += Int(edge.weight)
    }
    let edgeCount = adjacency.map(\.count).reduce(0, +) / 2
    var text = "\(vertexWeights.count) \(edgeCount) 011\n"
    for (vertex, neighbours) in adjacency.enumerated() {
        text += String(Int(vertexWeights[vertex]))
        for (neighbour, weight) in neighbours.sorted(by: { $0.key < $1.key }) { text += " \(neighbour + 1) \(weight)" }
        text += "\n"
    }
    try text.write(toFile: path, atomically: true, encoding: .utf8)
}

/// gpmetis's partitioning time (its own "Partitioning" line) and the cut of its result.
func runMETIS(_ path: String, parts: Int, seed: Int, graph: KeyGraph) -> (seconds: Double, cut: Double, heaviest: Double)? {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/gpmetis")
    process.arguments = ["-ufactor=50", "-seed=\(seed)", path, String(parts)]
    let output = Pipe()
    process.standardOutput = output
    guard (try? process.run()) != nil else { return nil }
    let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    guard process.terminationStatus == 0,
          let line = text.split(separator: "\n").first(where: { $0.contains("Partitioning:") }),
          let time = line.split(separator: " ").compactMap({ Double($0) }).first,
          let parts_ = try? String(contentsOfFile: "\(path).part.\(parts)", encoding: .utf8) else { return nil }
    let assignment = parts_.split(separator: "\n").compactMap { Int($0) }
    let weights = graph.partWeights(assignment, parts: parts)
    return (time, graph.cut(assignment), (weights.max() ?? 0) / (graph.totalVertexWeight / Double(parts)))
}

func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }

let sections = Set(CommandLine.arguments.dropFirst())
func wanted(_ section: String) -> Bool { sections.isEmpty || sections.contains(section) }

if wanted("partition") { try partitionTable() }
if wanted("movement") { movementTable() }
if wanted("prediction") { predictionCostTable() }
if wanted("drift") { try driftTable() }

func partitionTable() throws {
    let directory = NSTemporaryDirectory() + "augur-sharding-bench-\(getpid())"
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    print("graph                         parts  augur s  augur cut   max/mean  best of 8 seeds  ratio   metis s  metis cut  max/mean  augur/metis cut")
    for (name, keys, groups, edges) in [("40k keys, 1.2M edges", 40_000, 64, 1_200_000), ("40k keys, 1.2M edges, 512 groups", 40_000, 512, 1_200_000),
                                        ("200k keys, 2M edges", 200_000, 1_000, 2_000_000)] {
        let (weights, list) = workloadGraph(keys: keys, groups: groups, edges: edges, seed: 11)
        let graph = KeyGraph(vertexWeights: weights, edges: list)
        let path = "\(directory)/graph-\(keys)-\(groups).metis"
        try writeMETIS(graph, weights, list, to: path)
        for parts in [4, 32] {
            var results: [GraphPartitioner.Result] = []
            var times: [Double] = []
            var metisTimes: [Double] = []
            var metisCuts: [Double] = []
            var metisHeaviest = 0.0
            for seed in 1...8 {
                var options = GraphPartitioner.Options()
                options.seed = UInt64(seed)
                var result: GraphPartitioner.Result?
                times.append(seconds { result = GraphPartitioner.partition(graph, parts: parts, options: options) })
                results.append(result!)
                if seed <= 5, let metis = runMETIS(path, parts: parts, seed: seed, graph: graph) {
                    metisTimes.append(metis.seconds)
                    metisCuts.append(metis.cut)
                    if seed == 1 { metisHeaviest = metis.heaviest }
                }
            }
            let first = results[0]
            let best = results.map(\.cut).min()!
            let heaviest = (first.partWeights.max() ?? 0) / (graph.totalVertexWeight / Double(parts))
            let metis = metisCuts.isEmpty ? "   (gpmetis not found)" :
                String(format: "%8.3f  %9.0f  %8.3f  %15.3f", median(metisTimes), metisCuts[0], metisHeaviest, first.cut / metisCuts[0])
            print(name.padding(toLength: 32, withPad: " ", startingAt: 0) + String(format: " %3d  %7.3f  %9.0f  %8.3f  %15.0f  %5.3f  ", parts, median(times), first.cut,
                         heaviest, best, first.cut / best) + metis)
        }
    }
    try? FileManager.default.removeItem(atPath: directory)
}
