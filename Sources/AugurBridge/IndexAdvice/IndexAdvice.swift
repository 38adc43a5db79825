import AugurCore
import CShim

/// augur.recommend_indexes(): the drop advice of the core over this database's indexes,
/// kept in augur.recommendation (a refresh replaces what was only proposed; what a DBA
/// approved stays, and what they rejected is not proposed again).
enum IndexAdvice {
    private static let indexes = """
        SELECT format('%I.%I', n.nspname, ic.relname) AS name, format('%I.%I', n.nspname, c.relname) AS table_name,
               am.amname AS method,
               (SELECT string_agg(i.indkey[k] || ':' || i.indclass[k] || ':' || i.indcollation[k] || ':' || i.indoption[k],
                                  ' ' ORDER BY k)
                  FROM generate_series(0, i.indnkeyatts - 1) k) AS keys,
               coalesce(pg_catalog.pg_get_expr(i.indexprs, i.indrelid), '')
                 || coalesce(' INCLUDE ' || (SELECT string_agg(i.indkey[k]::text, ',' ORDER BY k)
                                               FROM generate_series(i.indnkeyatts, i.indnatts - 1) k), '') AS extras,
               pg_catalog.pg_get_expr(i.indpred, i.indrelid) AS predicate,
               i.indisprimary OR i.indisunique OR i.indisexclusion
                 OR EXISTS (SELECT 1 FROM pg_catalog.pg_constraint k WHERE k.conindid = i.indexrelid) AS protected,
               pg_catalog.pg_relation_size(i.indexrelid) AS bytes,
               coalesce(s.idx_scan, 0) AS scans,
               pg_catalog.pg_get_indexdef(i.indexrelid) AS definition
          FROM pg_catalog.pg_index i
          JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
          JOIN pg_catalog.pg_class c ON c.oid = i.indrelid
          JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
          JOIN pg_catalog.pg_am am ON am.oid = ic.relam
          LEFT JOIN pg_catalog.pg_stat_all_indexes s ON s.indexrelid = i.indexrelid
         WHERE i.indisvalid AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'augur')
           AND n.nspname !~ '^pg_(toast|temp)'
        """

    /// Seconds the scan counts cover: since the last statistics reset, or, never reset,
    /// since the server started (older counts may exist; this errs on the short side).
    private static let statisticsAge = """
        SELECT extract(epoch FROM now() - coalesce(d.stats_reset, pg_catalog.pg_postmaster_start_time()))::float8 AS age
          FROM pg_catalog.pg_stat_database d WHERE d.datname = current_database()
        """

    /// Returns the number of indexes proposed for dropping.
    static func refresh(unusedAfter seconds: Double) throws -> Int {
        let found = try SPI.query(indexes).compactMap { row -> IndexDropAdvice.Index? in
            guard let name = row["name"]?.text, let table = row["table_name"]?.text, let method = row["method"]?.text,
                  let keys = row["keys"]?.text, let definition = row["definition"]?.text,
                  case .bool(let protected)? = row["protected"] else { return nil }
            return IndexDropAdvice.Index(
                name: name, table: table, method: method, keys: keys.split(separator: " ").map(String.init),
                extras: row["extras"]?.text ?? "", predicate: row["predicate"]?.text, isProtected: protected,
                bytes: row["bytes"]?.int ?? 0, scans: row["scans"]?.int ?? 0, definition: definition)
        }
        let age = try SPI.query(statisticsAge).first?["age"]?.double ?? 0
        let advice = IndexDropAdvice.advise(found, statisticsAge: age, unusedAfter: seconds)
        try Recommendations.store(kind: "drop_index", advice.map { advice in
            var members = [("reason", JSONText.string(advice.reason.kind)), ("table", JSONText.string(advice.index.table)),
                           ("bytes", String(advice.index.bytes)), ("scans", String(advice.index.scans)),
                           ("statistics_seconds", JSONText.number(age))]
            if let kept = advice.reason.keptIndex { members.append(("kept", JSONText.string(kept))) }
            return Recommendations.Row(
                target: advice.index.name, ddl: "DROP INDEX CONCURRENTLY \(advice.index.name);",
                // What recreates it, built without blocking writes like the drop.
                rollbackDDL: advice.index.definition.replacingFirst("CREATE INDEX ", with: "CREATE INDEX CONCURRENTLY ") + ";",
                reason: advice.reason.sentence, evidence: JSONText.object(members), benefit: Double(advice.index.bytes),
                bytes: Double(advice.index.bytes))
        })
        return advice.count
    }
}

extension IndexDropAdvice.Reason {
    /// The index that stays and does the dropped one's work, if any.
    var keptIndex: String? {
        switch self {
        case .duplicate(let other), .redundantPrefix(let other): other
        case .unused: nil
        }
    }
}

extension String {
    func replacingFirst(_ prefix: String, with replacement: String) -> String {
        hasPrefix(prefix) ? replacement + dropFirst(prefix.count) : self
    }
}

@_cdecl("augur_swift_recommend_indexes")
func augurSwiftRecommendIndexes(_ unusedAfterSeconds: Double, _ proposed: UnsafeMutablePointer<Int64>,
                                _ error: UnsafeMutablePointer<augur_error>) -> Bool {
    reportingErrors(error, fallback: false) {
        proposed.pointee = Int64(try IndexAdvice.refresh(unusedAfter: unusedAfterSeconds))
        return true
    }
}
