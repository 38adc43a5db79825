import Foundation

/// The synthetic streams drawn again with other seeds: the worst error (and worst
/// reported bound) over `seeds` draws of each, for Augur at 2 KB as one histogram and as
/// the server's merged windows. A layout that adapts can be lucky on one draw; a quantile
/// that moves during the stream (the step stream's) is where it is not.
func otherSeedRows(seeds: Int, windowSize: Int) throws -> [[String: Any]] {
    guard seeds > 0 else { return [] }
    var worst: [String: (errors: [String: Double], bounds: [String: Double], held: Bool)] = [:]
    for seed in 1...seeds {
        for (stream, values) in Streams.synthetic(run: UInt64(seed)) {
            let sorted = values.sorted()
            let sketches: [QuantileSketch] = [try AugurSketch(bytes: 2048), try FlushedAugurSketch(bytes: 2048, window: windowSize)]
            for sketch in sketches {
                for value in values { sketch.record(value) }
                let key = "\(stream)\t\(sketch.name)"
                var entry = worst[key] ?? ([:], [:], true)
                for q in quantiles {
                    let exact = exactQuantile(sorted, q)
                    let error = abs(sketch.quantile(q) - exact) / exact
                    let bound = sketch.reportedBound(q) ?? .nan
                    entry.errors["\(q)"] = max(entry.errors["\(q)"] ?? 0, error)
                    entry.bounds["\(q)"] = max(entry.bounds["\(q)"] ?? 0, bound)
                    entry.held = entry.held && error <= bound * (1 + 1e-9)
                }
                worst[key] = entry
            }
        }
    }
    return worst.sorted { $0.key < $1.key }.map { key, entry in
        let parts = key.split(separator: "\t").map(String.init)
        return ["stream": parts[0], "sketch": "\(parts[1]), worst of \(seeds) seeds", "bytes": 2048, "seeds": seeds,
                "errors": entry.errors, "bounds": entry.bounds, "boundHeld": entry.held]
    }
}
