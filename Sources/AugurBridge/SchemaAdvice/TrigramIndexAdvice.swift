import AugurCore

/// GIN trigram indexes (pg_trgm) for the columns the workload searches by pattern: built
/// on a shadow copy of a sample and kept where the searches ran at least twice as fast
/// there, best first per byte, within what the index budget leaves.
enum TrigramIndexAdvice {
    private static let opclass = """
        SELECT quote_ident(n.nspname) || '.gin_trgm_ops' AS opclass
          FROM pg_catalog.pg_opclass oc
          JOIN pg_catalog.pg_am am ON am.oid = oc.opcmethod AND am.amname = 'gin'
          JOIN pg_catalog.pg_namespace n ON n.oid = oc.opcnamespace
         WHERE oc.opcname = 'gin_trgm_ops'
        """

    /// Text columns that captured statements filter by pattern, without a trigram index
    /// yet, with those statements and their calls a day.
    private static let searchedColumns = """
        WITH \(CapturedRates.ctes)
        SELECT format('%I.%I', n.nspname, c.relname) AS table_name, quote_ident(a.attname) AS column_name,
               sum(q.calls_per_day)::float8 AS searches_per_day, string_agg(u.queryid::text, ',') AS queryids
          FROM augur.column_use u JOIN q ON q.queryid = u.queryid
          JOIN pg_catalog.pg_class c ON c.oid = u.relid AND c.relkind = 'r'
          JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
          JOIN pg_catalog.pg_attribute a ON a.attrelid = u.relid AND a.attnum = u.attnum AND NOT a.attisdropped
         WHERE u.dbid = \(currentDatabaseOID) AND 'filter_pattern' = ANY (u.roles)
           AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%' AND n.nspname NOT LIKE 'augur%'
           AND a.atttypid IN ('text'::regtype, 'varchar'::regtype, 'bpchar'::regtype)
           AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_index i JOIN pg_catalog.pg_opclass oc ON oc.oid = i.indclass[0]
                            WHERE i.indrelid = c.oid AND i.indkey[0] = a.attnum AND oc.opcname IN ('gin_trgm_ops', 'gist_trgm_ops'))
           AND ($1::text IS NULL OR format('%I.%I', n.nspname, c.relname) = $1)
         GROUP BY 1, 2
         ORDER BY 3 DESC
        """

    /// The indexes that paid on their shadow copies and fit `budgetBytes`; none without
    /// pg_trgm, and none for a column only ever searched by a prefix (`excluding`: a B-tree
    /// serves those).
    static func advise(budgetBytes: Double, excluding prefixSearched: [String: [String: String]]) throws -> [Recommendations.Row] {
        var paying: [Recommendations.Row] = []
        for (change, queryids) in try candidates(table: nil, excluding: prefixSearched) {
            if let (change, simulation) = try measure(change, queryids: queryids) {
                paying.append(change.row(simulation: simulation))
            }
        }
        var left = budgetBytes, rows: [Recommendations.Row] = []
        for row in paying.sorted(by: { $0.benefit / max($0.bytes, 1) > $1.benefit / max($1.bytes, 1) }) {
            guard row.bytes <= left else {
                try SPI.progress("no trigram index on \(row.target): its \(Figures.megabytes(row.bytes)) "
                                 + "do not fit the \(Figures.megabytes(max(left, 0))) the index budget leaves")
                continue
            }
            left -= row.bytes
            rows.append(row)
        }
        return rows
    }

    /// augur.simulate(id) for a trigram index: measured again; nil when it no longer pays.
    static func resimulate(table: String, target: String) throws -> String? {
        for (change, queryids) in try candidates(table: table) where change.target == target {
            if let (_, simulation) = try measure(change, queryids: queryids) { return simulation }
        }
        return nil
    }

    /// The index each searched column would get (with pg_trgm's operator class, looked up
    /// once), and the statements that search it; none without pg_trgm.
    private static func candidates(table: String?, excluding prefixSearched: [String: [String: String]] = [:]) throws
        -> [(change: SchemaChange, queryids: Set<Int64>)] {
        guard let opclass = try SPI.query(opclass).first?["opclass"]?.text else { return [] }
        return try SPI.query(searchedColumns, [table]).compactMap { row in
            guard let table = row["table_name"]?.text, let column = row["column_name"]?.text,
                  prefixSearched[table]?[column] == nil else { return nil }
            let queryids = Set((row["queryids"]?.text ?? "").split(separator: ",").compactMap { Int64($0) })
            let candidate = TrigramIndexCandidates.Column(table: table, column: column,
                                                          searchesPerDay: row["searches_per_day"]?.double ?? 0)
            return (TrigramIndexCandidates.change(for: candidate, opclass: opclass), queryids)
        }
    }

    /// The index built on a shadow copy with the searches replayed: the change as
    /// measured and the simulation's JSON, nil when it does not pay.
    private static func measure(_ change: SchemaChange, queryids: Set<Int64>) throws -> (SchemaChange, String)? {
        let replays = try SchemaAdvice.replays(for: change).filter { queryids.contains($0.queryid) }
        guard !replays.isEmpty else {
            try SPI.progress("no trigram index on \(change.target): no search of it can be replayed "
                             + "(a parameterized one needs an example execution)")
            return nil
        }
        let outcome: ShadowSimulation.Outcome
        do {
            outcome = try ShadowSimulation.run(change, tables: [change.table], statements: replays,
                                               sampleRows: SchemaAdvice.defaultSampleRows)
        } catch let error as PGError where !error.isInterruption {
            try SPI.progress("no trigram index on \(change.target): on a shadow copy it failed: \(error.message)")
            return nil
        }
        if outcome.measurements.isEmpty {
            try SPI.progress("no trigram index on \(change.target): no search of it could be replayed"
                             + (outcome.skipped.first.map { " (query \($0.queryid) \($0.why))" } ?? ""))
            return nil
        }
        let rows = try SPI.query("SELECT greatest(reltuples, 0)::float8 AS rows FROM pg_catalog.pg_class WHERE oid = $1::regclass",
                                 [change.table]).first?["rows"]?.double ?? 0
        let scale = outcome.sampleRows > 0 ? max(rows / outcome.sampleRows, 1) : 1
        let before = outcome.measurements.reduce(0) { $0 + $1.callsPerDay * $1.millisecondsBefore }
        let after = outcome.measurements.reduce(0) { $0 + $1.callsPerDay * $1.millisecondsAfter }
        guard outcome.breaks == nil,
              let measured = TrigramIndexCandidates.measured(change, millisecondsPerDayBefore: before * scale,
                                                              millisecondsPerDayAfter: after * scale,
                                                              bytes: max(outcome.bytesAfter - outcome.bytesBefore, 0) * scale)
        else {
            try SPI.progress("no trigram index on \(change.target): "
                             + "on a sample it did not make the searches twice as fast")
            return nil
        }
        try SPI.progress("trigram index on \(change.target): \(measured.reason)")
        return (measured, outcome.json)
    }
}
