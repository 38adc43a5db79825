import AugurCore
import CShim

/// Each drained query's latency window: its non-empty cells go to augur.histogram_delta
/// (what changed since the last flush), and it is merged into the query's cumulative
/// histogram in augur.histogram.
enum HistogramFlush {
    private static let selectCumulative = """
        SELECT h.userid, h.dbid, h.queryid, h.toplevel, encode(h.histogram, 'hex') AS histogram
          FROM augur.histogram h
          JOIN unnest($1::oid[], $2::oid[], $3::bigint[], $4::bool[]) AS k(userid, dbid, queryid, toplevel)
            ON (h.userid, h.dbid, h.queryid, h.toplevel) = (k.userid, k.dbid, k.queryid, k.toplevel)
        """

    private static let upsertCumulative = """
        INSERT INTO augur.histogram AS h (userid, dbid, queryid, toplevel, histogram, count, updated_at)
        SELECT s.userid, s.dbid, s.queryid, s.toplevel, decode(s.histogram, 'hex'), s.count, now()
          FROM unnest($1::oid[], $2::oid[], $3::bigint[], $4::bool[], $5::text[], $6::bigint[])
               AS s(userid, dbid, queryid, toplevel, histogram, count)
        ON CONFLICT (userid, dbid, queryid, toplevel) DO UPDATE SET
            histogram = excluded.histogram, count = excluded.count, updated_at = excluded.updated_at
        """

    private static let insertDeltas = """
        INSERT INTO augur.histogram_delta (userid, dbid, queryid, toplevel, window_end, level, lower_ns, upper_ns, count)
        SELECT s.userid, s.dbid, s.queryid, s.toplevel, now(), s.level, s.lower_ns, s.upper_ns, s.count
          FROM unnest($1::oid[], $2::oid[], $3::bigint[], $4::bool[], $5::int2[], $6::bigint[], $7::bigint[], $8::bigint[])
               AS s(userid, dbid, queryid, toplevel, level, lower_ns, upper_ns, count)
        ON CONFLICT DO NOTHING
        """

    /// Deltas and merged refinements older than augur.histogram_retention go (the
    /// cumulative histograms and the refinements that exist stay).
    private static let expireDeltas = """
        WITH expired AS (
            DELETE FROM augur.histogram_delta
             WHERE window_end < now() - current_setting('augur.histogram_retention')::interval)
        DELETE FROM augur.histogram_bucket
         WHERE merged_at < now() - current_setting('augur.histogram_retention')::interval
        """

    /// The refinements the flushed histograms had until now, as text (compared with the
    /// windows' own).
    private static let selectOpenBuckets = """
        SELECT b.userid::text AS userid, b.dbid::text AS dbid, b.queryid::text AS queryid,
               CASE WHEN b.toplevel THEN 't' ELSE 'f' END AS toplevel, b.level::text AS level, b.lower_ns::text AS lower_ns
          FROM augur.histogram_bucket b
          JOIN unnest($1::oid[], $2::oid[], $3::bigint[], $4::bool[]) AS k(userid, dbid, queryid, toplevel)
            ON (b.userid, b.dbid, b.queryid, b.toplevel) = (k.userid, k.dbid, k.queryid, k.toplevel)
         WHERE b.merged_at IS NULL
        """

    private static let insertBuckets = """
        INSERT INTO augur.histogram_bucket (userid, dbid, queryid, toplevel, level, lower_ns, upper_ns, created_at)
        SELECT s.userid, s.dbid, s.queryid, s.toplevel, s.level, s.lower_ns, s.upper_ns, now()
          FROM unnest($1::oid[], $2::oid[], $3::bigint[], $4::bool[], $5::int2[], $6::bigint[], $7::bigint[])
               AS s(userid, dbid, queryid, toplevel, level, lower_ns, upper_ns)
        ON CONFLICT DO NOTHING
        """

    private static let mergeBuckets = """
        UPDATE augur.histogram_bucket b SET merged_at = now()
          FROM unnest($1::oid[], $2::oid[], $3::bigint[], $4::bool[], $5::int2[], $6::bigint[])
               AS s(userid, dbid, queryid, toplevel, level, lower_ns)
         WHERE (b.userid, b.dbid, b.queryid, b.toplevel, b.level, b.lower_ns)
               = (s.userid, s.dbid, s.queryid, s.toplevel, s.level, s.lower_ns)
           AND b.merged_at IS NULL
        """

    private struct Key: Hashable {
        var userid: UInt32, dbid: UInt32, queryid: Int64, toplevel: Bool
        init(userid: UInt32, dbid: UInt32, queryid: Int64, toplevel: Bool) {
            (self.userid, self.dbid, self.queryid, self.toplevel) = (userid, dbid, queryid, toplevel)
        }
        init(_ sample: augur_query_sample) {
            self.init(userid: sample.userid, dbid: sample.dbid, queryid: sample.queryid, toplevel: sample.toplevel)
        }
        var columns: [String] { [String(userid), String(dbid), String(queryid), toplevel ? "t" : "f"] }
    }

    /// Returns the rows written.
    static func run(_ samples: UnsafeBufferPointer<augur_query_sample>) throws -> Int {
        var windows: [(Key, HistogramBuffer)] = []
        for sample in samples {
            guard let source = sample.histogram, sample.histogram_bytes > 0 else { continue }
            let bytes = Array(UnsafeRawBufferPointer(start: source, count: Int(sample.histogram_bytes)))
            let window = try HistogramBuffer(decoding: bytes)
            if window.histogram.count > 0 { windows.append((Key(sample), window)) }
        }
        guard !windows.isEmpty else {
            try SPI.execute(expireDeltas)
            return 0
        }
        let keys = windows.map(\.0)
        func arrays(_ columns: [[String?]]) -> [String?] {
            (0..<(columns.first?.count ?? 0)).map { column in PostgresArray.literal(columns.map { $0[column] }) }
        }

        var cumulative: [Key: HistogramBuffer] = [:]
        for row in try SPI.query(selectCumulative, arrays(keys.map(\.columns))) {
            guard let userid = row["userid"]?.int, let dbid = row["dbid"]?.int, let queryid = row["queryid"]?.int,
                  case .bool(let toplevel)? = row["toplevel"], let hex = row["histogram"]?.text,
                  let bytes = HexBytes.decode(hex), let stored = try? HistogramBuffer(decoding: bytes) else { continue }
            cumulative[Key(userid: UInt32(truncatingIfNeeded: userid), dbid: UInt32(truncatingIfNeeded: dbid),
                           queryid: queryid, toplevel: toplevel)] = stored
        }
        var merged: [[String?]] = []
        var deltas: [[String?]] = []
        var restarted = 0
        for (key, window) in windows {
            var total = window
            if let stored = cumulative[key] {
                do {
                    _ = try stored.histogram.merge(window.histogram)
                    total = stored
                } catch HistogramError.layoutMismatch {
                    // augur.histogram_bytes crossed 1 KiB at a restart: the cumulative
                    // histogram starts again in the new layout (the windows stay in
                    // augur.histogram_delta for time-range quantiles).
                    restarted += 1
                }
            }
            merged.append(key.columns + [HexBytes.encode(total.histogram.encoded),
                                         String(total.histogram.count)])
            for cell in window.histogram.cells where cell.count > 0 {
                deltas.append(key.columns + [String(cell.level), String(cell.lowerNanoseconds),
                                             cell.upperNanoseconds == .max ? nil : String(cell.upperNanoseconds),
                                             String(cell.count)])
            }
        }
        if restarted > 0 {
            augur_log("augur: \(restarted) cumulative latency histograms restarted in the layout of augur.histogram_bytes")
        }
        try SPI.execute(upsertCumulative, arrays(merged))
        try SPI.execute(insertDeltas, arrays(deltas))
        let events = try recordLayoutChanges(windows, arrays: arrays)
        try SPI.execute(expireDeltas)
        return merged.count + deltas.count + events
    }

    /// Compares each window's refinements (its buckets that have sub-buckets) with the
    /// ones recorded open: new ones are recorded created, vanished ones merged. Returns
    /// the rows written.
    private static func recordLayoutChanges(_ windows: [(Key, HistogramBuffer)],
                                            arrays: ([[String?]]) -> [String?]) throws -> Int {
        var open: Set<[String]> = []
        for row in try SPI.query(selectOpenBuckets, arrays(windows.map(\.0.columns))) {
            open.insert(["userid", "dbid", "queryid", "toplevel", "level", "lower_ns"].map { row[$0]?.text ?? "" })
        }
        var current: Set<[String]> = []
        var created: [[String?]] = []
        for (key, window) in windows {
            for cell in window.histogram.cells where !cell.isLeaf {
                let id = key.columns + [String(cell.level + 1), String(cell.lowerNanoseconds)]
                current.insert(id)
                if !open.contains(id) { created.append(id + [String(cell.upperNanoseconds)]) }
            }
        }
        let merged: [[String?]] = open.subtracting(current).sorted { $0.lexicographicallyPrecedes($1) }
        if !created.isEmpty { try SPI.execute(insertBuckets, arrays(created)) }
        if !merged.isEmpty { try SPI.execute(mergeBuckets, arrays(merged)) }
        return created.count + merged.count
    }
}
