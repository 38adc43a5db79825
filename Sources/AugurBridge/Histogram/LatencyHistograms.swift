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

/// Adds a drained window back into the live histogram it came from (the flush that
/// drained it rolled back). Not the hot path: it may allocate. False if it could not.
@_cdecl("augur_swift_histogram_merge")
func augurSwiftHistogramMerge(_ buffer: UnsafeMutableRawPointer, _ other: UnsafeRawPointer) -> Bool {
    guard let live = LatencyHistogram(formattedAt: buffer),
          let drained = LatencyHistogram(formattedAt: UnsafeMutableRawPointer(mutating: other)) else { return false }
    return (try? live.merge(drained)) != nil
}

/// A query's cumulative latency in this database (every user, top level or not): its
/// histograms merged, or, when they are of both layouts (`augur.histogram_bytes` crossed
/// 1 KiB at a restart and some users' histograms have not been flushed since, which
/// restarts them), their cells summed: overlapping cells keep the bounds rigorous.
private enum CumulativeLatency {
    case histogram(HistogramBuffer)
    case cells([HistogramCell])
}

private func cumulativeLatency(queryid: Int64) throws -> CumulativeLatency? {
    let rows = try SPI.query("""
        SELECT encode(h.histogram, 'hex') AS histogram FROM augur.histogram h
         WHERE h.queryid = $1::bigint AND h.dbid = \(currentDatabaseOID)
         ORDER BY h.count DESC
        """, [String(queryid)])
    let histograms = try rows.compactMap { row in
        try row["histogram"]?.text.flatMap(HexBytes.decode).map { try HistogramBuffer(decoding: $0) }
    }
    guard let first = histograms.first else { return nil }
    let merged = try HistogramBuffer(decoding: first.histogram.encoded)
    do {
        for histogram in histograms.dropFirst() {
            _ = try withExtendedLifetime(histogram) { try merged.histogram.merge(histogram.histogram) }
        }
        return .histogram(merged)
    } catch HistogramError.layoutMismatch {
        return .cells(histograms.flatMap { buffer in withExtendedLifetime(buffer) { buffer.histogram.cells } })
    }
}

/// The query's persisted window cells with window_end in (since, until], summed; in
/// this database, or in the one whose OID is `database`.
func cells(queryid: Int64, since: String?, until: String?, database: String? = nil) throws -> LatencyCells {
    let rows = try SPI.query("""
        SELECT lower_ns, upper_ns, sum(count)::bigint AS count FROM augur.histogram_delta
         WHERE queryid = $1::bigint AND dbid = coalesce($4::oid, \(currentDatabaseOID))
           AND ($2::timestamptz IS NULL OR window_end > $2::timestamptz)
           AND ($3::timestamptz IS NULL OR window_end <= $3::timestamptz)
         GROUP BY 1, 2
        """, [String(queryid), since, until, database])
    return LatencyCells(rows.compactMap(cell))
}

private func cell(_ row: SPIRow) -> LatencyCells.Cell? {
    guard let lower = row["lower_ns"]?.int, let count = row["count"]?.int, lower >= 0, count > 0 else { return nil }
    let upper = row["upper_ns"]?.int.map { UInt64(max($0, lower)) } ?? .max   // NULL: clamped high
    return LatencyCells.Cell(lowerNanoseconds: UInt64(lower), upperNanoseconds: upper, count: UInt64(count))
}

private func quantileRow(_ q: Double, _ estimate: QuantileEstimate, count: UInt64) -> [(String, String)] {
    [("q", JSONText.number(q)), ("nanoseconds", JSONText.number(estimate.nanoseconds)),
     ("lower_ns", String(estimate.lowerNanoseconds)), ("upper_ns", String(estimate.upperNanoseconds)),
     ("error_bound", JSONText.number(estimate.relativeErrorBound)), ("count", String(count))]
}

/// augur.latency_quantiles(): from the cumulative histogram, or, when a time range is
/// given (since and until are timestamptz text, NULL for open), from the window cells in it.
@_cdecl("augur_swift_latency_quantiles")
func augurSwiftLatencyQuantiles(_ queryid: Int64, _ quantiles: UnsafePointer<Double>?, _ quantileCount: Int32,
                                _ since: UnsafePointer<CChar>?, _ until: UnsafePointer<CChar>?,
                                _ json: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>,
                                _ error: UnsafeMutablePointer<augur_error>) -> Bool {
    reportingErrors(error, fallback: false) {
        let qs = (0..<Int(max(quantileCount, 0))).map { quantiles?[$0] ?? .nan }
        for q in qs where !(q >= 0 && q <= 1) {
            throw PGError(sqlstate: .invalidParameterValue, message: "quantile \(q) is not between 0 and 1")
        }
        let (since, until) = (String(optionalCString: since), String(optionalCString: until))
        var rows: [[(String, String)]] = []
        if since == nil, until == nil {
            switch try cumulativeLatency(queryid: queryid) {
            case .histogram(let buffer)?:
                // The histogram is a view of the buffer's memory: keep the buffer alive.
                rows = try withExtendedLifetime(buffer) {
                    let histogram = buffer.histogram
                    guard histogram.count > 0 else { return [] }
                    return try qs.map { quantileRow($0, try histogram.quantile($0), count: histogram.count) }
                }
            case .cells(let cells)?:
                let summed = LatencyCells(cells.map(\.latencyCell))
                if summed.count > 0 { rows = try qs.map { quantileRow($0, try summed.quantile($0), count: summed.count) } }
            case nil:
                break
            }
        } else {
            let range = try cells(queryid: queryid, since: since, until: until)
            if range.count > 0 { rows = try qs.map { quantileRow($0, try range.quantile($0), count: range.count) } }
        }
        return try hand(JSONText.array(of: rows), to: json)
    }
}

/// augur.latency_histogram(): the merged cumulative histogram's non-empty cells.
@_cdecl("augur_swift_latency_histogram")
func augurSwiftLatencyHistogram(_ queryid: Int64, _ json: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>,
                                _ error: UnsafeMutablePointer<augur_error>) -> Bool {
    reportingErrors(error, fallback: false) {
        let cells: [HistogramCell]
        switch try cumulativeLatency(queryid: queryid) {
        case .histogram(let buffer)?: cells = withExtendedLifetime(buffer) { buffer.histogram.cells }
        case .cells(let all)?: cells = all
        case nil: cells = []
        }
        return try hand(JSONText.array(of: cells.filter { $0.count > 0 }.map {
            [("level", String($0.level)), ("lower_ns", String($0.lowerNanoseconds)),
             ("upper_ns", $0.upperNanoseconds == .max ? "null" : String($0.upperNanoseconds)),
             ("count", String($0.count)), ("leaf", $0.isLeaf ? "true" : "false")]
        }), to: json)
    }
}

/// augur.latency_changes(): the change detector run over each query's flush windows
/// (all queries of this database when `allQueries`).
@_cdecl("augur_swift_latency_changes")
func augurSwiftLatencyChanges(_ allQueries: Bool, _ queryid: Int64,
                              _ json: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>,
                              _ error: UnsafeMutablePointer<augur_error>) -> Bool {
    reportingErrors(error, fallback: false) {
        let rows = try SPI.query("""
            SELECT queryid, window_end::text AS window_end, lower_ns, upper_ns, sum(count)::bigint AS count
              FROM augur.histogram_delta
             WHERE dbid = \(currentDatabaseOID) AND ($1::bigint IS NULL OR queryid = $1::bigint)
             GROUP BY queryid, window_end, lower_ns, upper_ns
             ORDER BY queryid, window_end
            """, [allQueries ? nil : String(queryid)])
        // query id -> its windows in time order: (window_end, cells)
        var series: [(queryid: Int64, windows: [(end: String, cells: [LatencyCells.Cell])])] = []
        for row in rows {
            guard let id = row["queryid"]?.int, let end = row["window_end"]?.text, let cell = cell(row) else { continue }
            if series.last?.queryid != id { series.append((id, [])) }
            if series[series.count - 1].windows.last?.end != end { series[series.count - 1].windows.append((end, [])) }
            series[series.count - 1].windows[series[series.count - 1].windows.count - 1].cells.append(cell)
        }
        let found = series.flatMap { query in
            LatencyChangeDetector.changes(in: query.windows.map(\.cells)).map { found in
                [("queryid", String(query.queryid)), ("started_at", JSONText.string(query.windows[found.started].end)),
                 ("detected_at", JSONText.string(query.windows[found.detected].end)),
                 ("before_p50_ns", JSONText.number(found.change.beforeP50Nanoseconds)),
                 ("before_p99_ns", JSONText.number(found.change.beforeP99Nanoseconds)),
                 ("after_p50_ns", JSONText.number(found.change.afterP50Nanoseconds)),
                 ("after_p99_ns", JSONText.number(found.change.afterP99Nanoseconds))]
            }
        }
        return try hand(JSONText.array(of: found), to: json)
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
