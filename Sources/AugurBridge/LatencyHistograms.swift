import AugurCore
import CShim

// Latency histograms: the hot-path entry points the capture table calls under an entry's
// spinlock (they allocate nothing and never trap), and the SQL functions' entry point.

@_cdecl("augur_swift_histogram_format")
func augurSwiftHistogramFormat(_ buffer: UnsafeMutableRawPointer, _ bytes: Int32) -> Bool {
    (try? LatencyHistogram(formatting: buffer, capacity: Int(bytes))) != nil
}

@_cdecl("augur_swift_histogram_record")
func augurSwiftHistogramRecord(_ buffer: UnsafeMutableRawPointer, _ nanoseconds: UInt64) {
    LatencyHistogram(formattedAt: buffer)?.record(nanoseconds: nanoseconds)
}

@_cdecl("augur_swift_histogram_reset")
func augurSwiftHistogramReset(_ buffer: UnsafeMutableRawPointer) {
    LatencyHistogram(formattedAt: buffer)?.resetCounts()
}

/// A query's histograms in this database (every user, top level or not), merged.
func mergedHistogram(queryid: Int64) throws -> HistogramBuffer? {
    let rows = try SPI.query("""
        SELECT encode(h.histogram, 'hex') AS histogram FROM augur.histogram h
         WHERE h.queryid = $1::bigint
           AND h.dbid = (SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database())
         ORDER BY h.count DESC
        """, [String(queryid)])
    var merged: HistogramBuffer?
    for row in rows {
        guard let hex = row["histogram"]?.text, let bytes = HexBytes.decode(hex) else { continue }
        let histogram = try HistogramBuffer(decoding: bytes)
        if let merged { _ = try merged.histogram.merge(histogram.histogram) } else { merged = histogram }
    }
    return merged
}

/// augur.latency_quantiles() ("quantiles") and augur.latency_histogram() ("cells") as JSON.
@_cdecl("augur_swift_latency")
func augurSwiftLatency(_ queryid: Int64, _ what: UnsafePointer<CChar>, _ quantiles: UnsafePointer<Double>?,
                       _ quantileCount: Int32, _ json: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>,
                       _ error: UnsafeMutablePointer<augur_error>) -> Bool {
    reportingErrors(error, fallback: false) {
        let histogram = try mergedHistogram(queryid: queryid)
        let text: String
        if String(cString: what) == "cells" {
            text = JSONText.array(of: (histogram?.histogram.cells ?? []).filter { $0.count > 0 }.map {
                [("level", String($0.level)), ("lower_ns", String($0.lowerNanoseconds)),
                 ("upper_ns", $0.upperNanoseconds == .max ? "null" : String($0.upperNanoseconds)),
                 ("count", String($0.count)), ("leaf", $0.isLeaf ? "true" : "false")]
            })
        } else {
            let qs = (0..<Int(max(quantileCount, 0))).map { quantiles?[$0] ?? .nan }
            for q in qs where !(q >= 0 && q <= 1) {
                throw PGError(sqlstate: .invalidParameterValue, message: "quantile \(q) is not between 0 and 1")
            }
            guard let histogram, histogram.histogram.count > 0 else { return try hand(JSONText.array(of: []), to: json) }
            text = JSONText.array(of: try qs.map { q in
                let estimate = try histogram.histogram.quantile(q)
                return [("q", JSONText.number(q)), ("nanoseconds", JSONText.number(estimate.nanoseconds)),
                        ("lower_ns", String(estimate.lowerNanoseconds)), ("upper_ns", String(estimate.upperNanoseconds)),
                        ("error_bound", JSONText.number(estimate.relativeErrorBound)),
                        ("count", String(histogram.histogram.count))]
            })
        }
        return try hand(text, to: json)
    }
}

/// Copies `text` into memory C owns (the current memory context) for the fmgr wrapper.
func hand(_ text: String, to out: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) throws -> Bool {
    let bytes = Array(text.utf8)
    guard let buffer = augur_alloc_result(bytes.count + 1) else {
        throw PGError(sqlstate: .outOfMemory, message: "out of memory for a \(bytes.count)-byte result")
    }
    for (index, byte) in bytes.enumerated() { buffer[index] = CChar(bitPattern: byte) }
    buffer[bytes.count] = 0
    out.pointee = buffer
    return true
}
