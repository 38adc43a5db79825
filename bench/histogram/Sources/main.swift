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

var rows: [[String: Any]] = []
var exactByStream: [String: [String: Double]] = [:]
for (name, values) in streams {
    try Streams.write(values, to: "\(outputDirectory)/\(name).txt")
    let sorted = values.sorted()
    exactByStream[name] = Dictionary(uniqueKeysWithValues: quantiles.map { ("\($0)", exactQuantile(sorted, $0)) })
    let augurSmall = try AugurSketch(bytes: 512)
    let sketches: [QuantileSketch] = [try AugurSketch(bytes: 2048), augurSmall, HdrSketch(), ExponentialBucketsSketch(),
                                      UDDSketch(maxBuckets: augurSmall.counterCapacity)]
    for sketch in sketches {
        for value in values { sketch.record(value) }
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
        var row: [String: Any] = ["stream": name, "sketch": sketch.name, "bytes": sketch.bytes, "errors": errors]
        if !bounds.isEmpty { row["bounds"] = bounds; row["boundHeld"] = held }
        if let augur = sketch as? AugurSketch { row["worstBound"] = augur.buffer.histogram.relativeErrorBound }
        rows.append(row)
    }
}

let cost = try InsertCost.measure()
var insert: [String: Any] = [
    "augurMedianNs": median(cost.augurNanoseconds), "hdrMedianNs": median(cost.hdrNanoseconds),
    "rounds": cost.augurNanoseconds.count, "valuesPerRound": 1_000_000,
]
if let mallocs = cost.augurMallocs { insert["augurMallocs"] = mallocs }
let results: [String: Any] = ["rows": rows, "exact": exactByStream, "insert": insert,
                              "streamSizes": Dictionary(uniqueKeysWithValues: streams.map { ($0.0, $0.1.count) })]
try JSONSerialization.data(withJSONObject: results, options: [.sortedKeys])
    .write(to: URL(fileURLWithPath: "\(outputDirectory)/swift_results.json"))
