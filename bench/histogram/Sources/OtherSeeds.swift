import Foundation

/// The synthetic streams drawn again with other seeds: for each sketch, the worst error
/// and the worst reported bound over `seeds` draws of each stream. A layout that adapts
/// can be lucky on one draw; a quantile that moves during the stream (the step stream's)
/// and a window that sees an extreme value early (the Pareto stream's) are where it is not.
func otherSeedRows(seeds: Int, windowSize: Int) throws -> [[String: Any]] {
    guard seeds > 0 else { return [] }
    var worst: [String: [String: Any]] = [:], order: [String] = []
    func fold(_ row: [String: Any]) {
        guard let stream = row["stream"] as? String, let sketch = row["sketch"] as? String,
              !sketch.hasSuffix("median") else { return }
        let key = "\(stream)\t\(sketch)"
        guard var kept = worst[key] else {
            worst[key] = row
            order.append(key)
            return
        }
        for field in ["errors", "bounds"] {
            if let old = kept[field] as? [String: Double], let new = row[field] as? [String: Double] {
                kept[field] = old.merging(new, uniquingKeysWith: max)
            }
        }
        if let held = row["boundHeld"] as? Bool { kept["boundHeld"] = held && (kept["boundHeld"] as? Bool ?? true) }
        worst[key] = kept
    }
    for seed in 1...seeds {
        for (stream, values) in Streams.synthetic(run: UInt64(seed)) {
            let sorted = values.sorted()
            let small = try AugurSketch(bytes: 512)
            let sketches: [QuantileSketch] = [try AugurSketch(bytes: 2048), try FlushedAugurSketch(bytes: 2048, window: windowSize),
                                              small, try FlushedAugurSketch(bytes: 512, window: windowSize),
                                              UDDSketch(maxBuckets: small.counterCapacity)]
            for sketch in sketches {
                for value in values { sketch.record(value) }
                fold(accuracyRow(stream: stream, sketch: sketch, sorted: sorted))
            }
            for row in try perWindowRows(stream: stream, values: values, windowSize: windowSize, udd: small.counterCapacity) {
                fold(row)
            }
        }
    }
    return order.compactMap { key in
        worst[key].map { row in row.merging(["sketch": "\(row["sketch"]!), \(seeds) seeds", "seeds": seeds]) { $1 } }
    }
}
