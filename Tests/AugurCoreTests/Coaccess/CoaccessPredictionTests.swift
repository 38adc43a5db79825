import AugurCore
import XCTest

final class CoaccessPredictionTests: XCTestCase {
    /// a and b are both used with c and d, never together; so are c and d (with a and b).
    private let square: [(a: String, b: String, weight: Double)] = [("a", "c", 2), ("b", "c", 2), ("a", "d", 1), ("b", "d", 1)]

    func testPairsSharingNeighboursAreScoredAndLinkedPairsAreNot() {
        let graph = CoaccessGraph(edges: square)
        let cosine = graph.predicted(k: 10, method: .cosine)
        XCTAssertEqual(cosine.map { "\($0.a)-\($0.b)" }, ["a-b", "c-d"])
        XCTAssertEqual(cosine[0].score, 1, accuracy: 1e-12)     // identical neighbourhoods
        XCTAssertEqual(cosine[0].sharedNeighbours, 2)
        // Resource allocation: 2·2/4 through c plus 1·1/2 through d.
        let allocation = graph.predicted(k: 10, method: .resourceAllocation)
        XCTAssertEqual(allocation.first { $0.a == "a" }?.score ?? 0, 1.5, accuracy: 1e-12)
        XCTAssertTrue(allocation.allSatisfy { !graph.hasEdge($0.a, $0.b) })
        XCTAssertEqual(graph.predicted(k: 1).count, 1)
        XCTAssertEqual(graph.predicted(k: 0), [])
    }

    func testBadWeightsAndSelfLoopsAreIgnored() {
        let graph = CoaccessGraph(edges: square + [("a", "a", 5), ("a", "e", .nan), ("b", "e", -1), ("c", "e", .infinity)])
        XCTAssertFalse(graph.hasEdge("a", "e"))
        XCTAssertEqual(graph.predicted(k: 10).map { "\($0.a)-\($0.b)" }, ["a-b", "c-d"])
        XCTAssertEqual(CoaccessGraph(edges: []).predicted(k: 5), [])
    }

    // MARK: - Evaluation on a held-out window

    /// A synthetic workload of services: each owns 8 of 64 tables, is called with Zipf-like
    /// popularity, and its queries join two of its own tables (popular ones more often),
    /// or, one time in ten, one of its tables and any other table.
    private func window(_ random: inout SplitMix64, queries: Int) -> [String: Double] {
        let services = 8, tablesPerService = 8
        let servicePopularity = (0..<services).map { 1 / Double($0 + 1) }
        let tablePopularity = (0..<tablesPerService).map { 1 / Double($0 + 1) }
        var pairs: [String: Double] = [:]
        for _ in 0..<queries {
            let service = random.weighted(servicePopularity)
            let first = service * tablesPerService + random.weighted(tablePopularity)
            var second = first
            while second == first {
                second = random.below(10) == 0 ? random.below(services * tablesPerService)
                    : service * tablesPerService + random.weighted(tablePopularity)
            }
            pairs[key(first, second), default: 0] += 1
        }
        return pairs
    }

    private func key(_ x: Int, _ y: Int) -> String {
        let (a, b) = (min(x, y), max(x, y))
        return "t\(a < 10 ? "0" : "")\(a)-t\(b < 10 ? "0" : "")\(b)"
    }

    private func names(_ pair: String) -> (a: String, b: String) {
        let parts = pair.split(separator: "-")
        return (String(parts[0]), String(parts[1]))
    }

    /// Precision@k of predicting the pairs that are new in the next window, per method,
    /// averaged over seeds. Raw decayed frequency cannot rank a pair it has not seen, so
    /// its precision on new pairs is the base rate: a random pick among unseen pairs.
    func testPredictionsBeatFrequencyOnPairsNewInTheNextWindow() {
        let seeds = 20, k = 10
        var precision: [String: Double] = [:]
        var recurring = 0.0
        for seed in 0..<seeds {
            var random = SplitMix64(state: UInt64(1000 + seed))
            let training = window(&random, queries: 300)
            let next = window(&random, queries: 300)
            let graph = CoaccessGraph(edges: training.map { (names($0.key).a, names($0.key).b, $0.value) })
            let allPairs = 64 * 63 / 2
            let unseen = allPairs - training.count
            let newInNext = next.keys.filter { training[$0] == nil }.count
            precision["frequency (base rate)", default: 0] += Double(newInNext) / Double(unseen)
            for method in CoaccessGraph.Method.allCases {
                let top = graph.predicted(k: k, method: method)
                let hits = top.filter { next["\($0.a)-\($0.b)"] != nil }.count
                precision[method.rawValue, default: 0] += Double(hits) / Double(k)
            }
            // For scale: how well frequency predicts pairs that recur.
            let frequent = training.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.prefix(k)
            recurring += Double(frequent.filter { next[$0.key] != nil }.count) / Double(k)
        }
        for (name, total) in precision.sorted(by: { $0.key < $1.key }) {
            print("coaccess evaluation: new pairs, precision@\(k) \(name): \(String(format: "%.3f", total / Double(seeds)))")
        }
        print("coaccess evaluation: recurring pairs, precision@\(k) frequency: \(String(format: "%.3f", recurring / Double(seeds)))")
        let baseRate = precision["frequency (base rate)"]! / Double(seeds)
        let allocation = precision["resource_allocation"]! / Double(seeds)
        let cosine = precision["cosine"]! / Double(seeds)
        XCTAssertGreaterThan(allocation, 2 * baseRate)
        XCTAssertGreaterThan(cosine, baseRate)
        XCTAssertGreaterThanOrEqual(allocation, cosine, "the default method should be the better one")
    }
}
