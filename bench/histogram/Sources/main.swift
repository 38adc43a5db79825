import AugurCore
import Foundation

// Histogram benchmark: accuracy, bytes and insert cost of Augur's histogram against
// HdrHistogram, a pg_stat_monitor-style histogram and UDDSketch, on the same streams.
// Usage: HistogramBench <output dir> <pgbench trace, µs per line>
// Writes every stream to <output dir>/<stream>.txt (ns per line, for ddsketch_errors.py)
// and the results to <output dir>/swift_results.json; `run` prints the table.

let quantiles = [0.5, 0.9, 0.99, 0.999]
let arguments = CommandLine.arguments
guard arguments.count == 3 else {
    FileHandle.standardError.write("usage: HistogramBench <output dir> <pgbench trace>\n".data(using: .utf8)!)
    exit(2)
}
let outputDirectory = arguments[1]
let trace = try Streams.read(arguments[2]).map { $0 * 1_000 }   // µs → ns
let streams = Streams.synthetic() + [("pgbench", trace)]

/// Values per flush window in the per-window and merged-window rows.
let windowSize = 25_000
let seedCount = Int(ProcessInfo.processInfo.environment["SEEDS"] ?? "") ?? 10

var rows: [[String: Any]] = []
var exactByStream: [String: [String: Double]] = [:]
for (name, values) in streams {
    try Streams.write(values, to: "\(outputDirectory)/\(name).txt")
    let sorted = values.sorted()
    exactByStream[name] = Dictionary(uniqueKeysWithValues: quantiles.map { ("\($0)", exactQuantile(sorted, $0)) })
    let augurSmall = try AugurSketch(bytes: 512)
    let sketches: [QuantileSketch] = [try AugurSketch(bytes: 2048), augurSmall,
                                      try FlushedAugurSketch(bytes: 2048, window: windowSize),
                                      try FlushedAugurSketch(bytes: 512, window: windowSize),
                                      HdrSketch(), ExponentialBucketsSketch(),
                                      UDDSketch(maxBuckets: augurSmall.counterCapacity)]
    for sketch in sketches {
        for value in values { sketch.record(value) }
        rows.append(accuracyRow(stream: name, sketch: sketch, sorted: sorted))
    }
    rows += try perWindowRows(stream: name, values: values, windowSize: windowSize,
                              udd: augurSmall.counterCapacity)
}

/// One sketch's errors and reported bounds against the exact quantiles of `sorted`.
func accuracyRow(stream: String, sketch: QuantileSketch, sorted: [UInt64]) -> [String: Any] {
    var errors: [String: Double] = [:], bounds: [String: Double] = [:], held = true
    for q in quantiles {
        let exact = exactQuantile(sorted, q)
        let error = abs(sketch.quantile(q) - exact) / exact
        errors["\(q)"] = error
        if let bound = sketch.reportedBound(q) {
            bounds["\(q)"] = bound
            held = held && error <= bound * (1 + 1e-9)
        }
    }
    var row: [String: Any] = ["stream": stream, "sketch": sketch.name, "bytes": sketch.bytes, "errors": errors]
    if !bounds.isEmpty { row["bounds"] = bounds; row["boundHeld"] = held }
    return row
}

/// The server's use: one histogram per flush window, counts reset (layout kept) at each
/// flush. Worst error and worst reported bound over all windows, each window checked
/// against its own exact quantiles. UDDSketch starts afresh in each window.
func perWindowRows(stream: String, values: [UInt64], windowSize: Int, udd: Int) throws -> [[String: Any]] {
    let augurs = [try AugurSketch(bytes: 2048), try AugurSketch(bytes: 512)]
    var worst = [[String: Double]](repeating: [:], count: 3), worstBound = [[String: Double]](repeating: [:], count: 3)
    var held = [true, true, true]
    var augurErrors: [String: [Double]] = [:], augurBounds: [String: [Double]] = [:]
    for start in stride(from: 0, to: values.count, by: windowSize) {
        let window = Array(values[start..<min(start + windowSize, values.count)])
        guard window.count == windowSize else { break }
        let sorted = window.sorted()
        let sketches: [QuantileSketch] = augurs + [UDDSketch(maxBuckets: udd)]
        for (index, sketch) in sketches.enumerated() {
            (sketch as? AugurSketch)?.buffer.histogram.resetCounts()
            for value in window { sketch.record(value) }
            for q in quantiles {
                let exact = exactQuantile(sorted, q)
                let error = abs(sketch.quantile(q) - exact) / exact
                let bound = sketch.reportedBound(q) ?? .nan
                worst[index]["\(q)"] = max(worst[index]["\(q)"] ?? 0, error)
                worstBound[index]["\(q)"] = max(worstBound[index]["\(q)"] ?? 0, bound)
                held[index] = held[index] && error <= bound * (1 + 1e-9)
                if index == 0 { augurErrors["\(q)", default: []].append(error); augurBounds["\(q)", default: []].append(bound) }
            }
        }
    }
    let names = ["augur 2048 B per window", "augur 512 B per window", "UDDSketch \(udd) per window"]
    let bytes = augurs.map(\.bytes) + [udd * 8]
    let typical: [String: Any] = ["stream": stream, "sketch": "augur 2048 B per window, median", "bytes": bytes[0],
                                  "errors": augurErrors.mapValues(median), "bounds": augurBounds.mapValues(median)]
    var rows = [typical]
    for index in 0..<3 {
        let row: [String: Any] = ["stream": stream, "sketch": names[index] + ", worst", "bytes": bytes[index],
                                  "errors": worst[index], "bounds": worstBound[index], "boundHeld": held[index]]
        rows.append(row)
    }
    return rows
}

rows += try otherSeedRows(seeds: seedCount, windowSize: windowSize)

let cost = try InsertCost.measure()
var insert: [String: Any] = [
    "augurMedianNs": median(cost.augurNanoseconds), "compactMedianNs": median(cost.compactNanoseconds),
    "hdrMedianNs": median(cost.hdrNanoseconds),
    "rounds": cost.augurNanoseconds.count, "valuesPerRound": 1_000_000,
]
if let mallocs = cost.augurMallocs { insert["augurMallocs"] = mallocs }
let single = cost.singleRecordNanoseconds
if !single.isEmpty {
    func at(_ q: Double) -> Double { single[min(Int(q * Double(single.count)), single.count - 1)] }
    insert["singleRecordNs"] = ["p50": at(0.5), "p99": at(0.99), "p99.9": at(0.999), "max": single[single.count - 1]]
}
let results: [String: Any] = ["rows": rows, "exact": exactByStream, "insert": insert,
                              "streamSizes": Dictionary(uniqueKeysWithValues: streams.map { ($0.0, $0.1.count) })]
try JSONSerialization.data(withJSONObject: results, options: [.sortedKeys])
    .write(to: URL(fileURLWithPath: "\(outputDirectory)/swift_results.json"))
