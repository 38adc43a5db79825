import AugurCore
import CShim

/// augur.recommend_schema(): schema changes the data and the captured workload call for
/// (the core's advisors decide), each measured by shadow simulation before it is kept
/// in augur.recommendation.
enum SchemaAdvice {
    /// Tables Augur may advise on: ordinary tables outside the system's, Augur's and
    /// extensions' own.
    private static let userTable = """
        c.relkind = 'r' AND NOT c.relispartition
        AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%' AND n.nspname NOT LIKE 'augur%'
        AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                         WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
        AND ($1::text IS NULL OR format('%I.%I', n.nspname, c.relname) = $1)
        """

    private static let timestampPattern = #"^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])([ T]([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d+)?)?)?( ?([+-]\d{2}(:?\d{2})?|Z|UTC))?$"#
    /// No leading zeros: a code like '02134' is not a number.
    private static let numberPattern = #"^[+-]?(0|[1-9]\d*)(\.\d+)?$"#

    /// Columns whose statistics (histogram and most common values) suggest a narrower
    /// type or an enum; the check a scan then confirms ("fits_integer", "integral",
    /// "timestamp", "number", "few_values").
    private static let columnCandidates = """
        WITH col AS (
            SELECT format('%I.%I', n.nspname, c.relname) AS table_name, quote_ident(a.attname) AS column_name,
                   pg_catalog.format_type(a.atttypid, a.atttypmod) AS type, pg_catalog.format_type(a.atttypid, NULL) AS base_type,
                   greatest(c.reltuples, 0)::float8 AS rows, s.avg_width::float8 AS width,
                   (CASE WHEN s.n_distinct >= 0 THEN s.n_distinct ELSE -s.n_distinct * greatest(c.reltuples, 0) END)::float8 AS distinct_values,
                   coalesce(s.histogram_bounds::text::text[], '{}') || coalesce(s.most_common_vals::text::text[], '{}') AS sample,
                   EXISTS (SELECT 1 FROM pg_catalog.pg_constraint k WHERE k.contype = 'f'
                             AND ((k.conrelid = c.oid AND a.attnum = ANY (k.conkey))
                                  OR (k.confrelid = c.oid AND a.attnum = ANY (k.confkey)))) AS in_foreign_key,
                   EXISTS (SELECT 1 FROM augur.type_history h
                            WHERE h.dbid = \(currentDatabaseOID) AND h.relid = c.oid AND h.attnum = a.attnum
                              AND h.new_type = pg_catalog.format_type(a.atttypid, a.atttypmod)) AS widened_before
              FROM pg_catalog.pg_class c
              JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
              JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
              JOIN pg_catalog.pg_stats s ON s.schemaname = n.nspname AND s.tablename = c.relname AND s.attname = a.attname
                                        AND NOT s.inherited
             WHERE \(userTable) AND a.atttypid IN ('bigint'::regtype, 'numeric'::regtype, 'text'::regtype, 'varchar'::regtype)
               AND a.attgenerated = '')
        SELECT *, CASE
            WHEN base_type = 'bigint' AND (SELECT bool_and(v::numeric BETWEEN -2147483648 AND 2147483647) FROM unnest(sample) v)
                THEN 'fits_integer'
            WHEN base_type = 'numeric' AND (SELECT bool_and(v::numeric = trunc(v::numeric)) FROM unnest(sample) v) THEN 'integral'
            WHEN base_type IN ('text', 'character varying') AND (SELECT bool_and(v ~ $2) FROM unnest(sample) v) THEN 'timestamp'
            WHEN base_type IN ('text', 'character varying') AND (SELECT bool_and(v ~ $3) FROM unnest(sample) v) THEN 'number'
            WHEN base_type IN ('text', 'character varying') AND distinct_values <= \(EnumCandidates.maximumValues)
                 AND rows >= \(EnumCandidates.minimumRows) AND width >= \(EnumCandidates.minimumWidth) THEN 'few_values'
            END AS checks
          FROM col
        """

    /// The captured statements with their rates a day.
    private static let span = CapturedRates.ctes

    /// Rows each table gets written and inserted a day, as the captured workload did.
    private static let writes = """
        WITH \(span)
        SELECT format('%I.%I', n.nspname, c.relname) AS table_name, sum(q.rows_per_day) AS written_rows_per_day,
               coalesce(sum(q.rows_per_day) FILTER (WHERE q.query ~* '^\\s*insert'), 0) AS inserted_rows_per_day
          FROM augur.relation_use u JOIN q ON q.queryid = u.queryid
          JOIN pg_catalog.pg_class c ON c.oid = u.relid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
         WHERE u.dbid = \(currentDatabaseOID) AND u.written
         GROUP BY 1
        """

    /// Join-aggregate statements: their runnable text (parameter-free as normalized, or an
    /// example sent with inline constants), rate and mean time, and the tables they read.
    private static let joinAggregates = """
        WITH \(span)
        SELECT q.queryid, q.query, q.calls_per_day, q.mean_ms,
               EXISTS (SELECT 1 FROM augur.join_pair j WHERE j.dbid = \(currentDatabaseOID) AND j.queryid = q.queryid) AS joins,
               (SELECT string_agg(format('%I.%I', n.nspname, c.relname), ',' ORDER BY u.relid)
                  FROM augur.relation_use u JOIN pg_catalog.pg_class c ON c.oid = u.relid AND c.relkind = 'r'
                  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                 WHERE u.dbid = \(currentDatabaseOID) AND u.queryid = q.queryid AND NOT u.written) AS sources,
               (SELECT e.query FROM augur.query_example e
                 WHERE e.dbid = \(currentDatabaseOID) AND e.queryid = q.queryid AND cardinality(e.params) = 0
                 ORDER BY e.captured_at DESC LIMIT 1) AS example
          FROM q
         WHERE q.query ~* '^\\s*(select|with)\\M'
           AND EXISTS (SELECT 1 FROM augur.column_use u WHERE u.dbid = \(currentDatabaseOID) AND u.queryid = q.queryid
                          AND 'grouped' = ANY (u.roles))
        """

    /// A table's size as of its last VACUUM or ANALYZE: read from pg_class, it takes no
    /// lock (pg_table_size would wait behind a concurrent ALTER TABLE).
    private static let tableBytes = "(c.relpages::float8 * current_setting('block_size')::float8)"

    /// Tables of at least $2 bytes, with the columns their reads filter: time columns
    /// (how many reads a day filter each by range, the span of its values) and keys (how
    /// many filter each by equality, its distinct and most common values from pg_stats,
    /// and the values the sampled transactions used most, augur.sampled_key).
    private static let largeTables = """
        WITH \(span),
        sampled AS (
            SELECT k.relid, k.attnum, k.value, count(*)::float8 AS n,
                   sum(count(*)) OVER (PARTITION BY k.relid, k.attnum)::float8 AS total
              FROM augur.sampled_key k
              JOIN augur.sampled_xact x ON (x.ended_at, x.pid, x.lxid) = (k.ended_at, k.pid, k.lxid)
             WHERE x.dbid = \(currentDatabaseOID)
             GROUP BY k.relid, k.attnum, k.value),
        col AS (
            SELECT format('%I.%I', n.nspname, c.relname) AS table_name, greatest(c.reltuples, 0)::float8 AS rows,
                   \(tableBytes) AS bytes, quote_ident(a.attname) AS column_name,
                   a.atttypid IN ('date'::regtype, 'timestamp'::regtype, 'timestamptz'::regtype) AS is_time,
                   (SELECT coalesce(sum(q.calls_per_day), 0) FROM augur.relation_use u JOIN q ON q.queryid = u.queryid
                     WHERE u.dbid = \(currentDatabaseOID) AND u.relid = c.oid
                       AND (NOT u.written OR q.query ~* '^\\s*(update|delete)')) AS read_calls_per_day,
                   (SELECT coalesce(sum(q.calls_per_day), 0) FROM augur.column_use u JOIN q ON q.queryid = u.queryid
                     WHERE u.dbid = \(currentDatabaseOID) AND u.relid = c.oid AND u.attnum = a.attnum
                       AND 'filter_range' = ANY (u.roles)) AS range_calls_per_day,
                   (SELECT coalesce(sum(q.calls_per_day), 0) FROM augur.column_use u JOIN q ON q.queryid = u.queryid
                     WHERE u.dbid = \(currentDatabaseOID) AND u.relid = c.oid AND u.attnum = a.attnum
                       AND u.roles && '{filter_equality,filter_in}') AS equality_calls_per_day,
                   s.histogram_bounds::text::text[] AS bounds,
                   (CASE WHEN s.n_distinct >= 0 THEN s.n_distinct ELSE -s.n_distinct * greatest(c.reltuples, 0) END)::float8
                       AS distinct_values,
                   ARRAY(SELECT quote_literal(m.v) FROM unnest(s.most_common_vals::text::text[]) WITH ORDINALITY AS m(v, o)
                          ORDER BY m.o)::text AS common_values,
                   coalesce(s.most_common_freqs::text, '{}') AS common_shares,
                   (SELECT coalesce(array_agg(quote_literal(r.value) ORDER BY r.n DESC, r.value), '{}')::text
                      FROM (SELECT * FROM sampled WHERE relid = c.oid AND attnum = a.attnum ORDER BY n DESC, value LIMIT 64) r)
                       AS read_values,
                   (SELECT coalesce(array_agg(r.n / r.total ORDER BY r.n DESC, r.value), '{}')::text
                      FROM (SELECT * FROM sampled WHERE relid = c.oid AND attnum = a.attnum ORDER BY n DESC, value LIMIT 64) r)
                       AS read_shares
              FROM pg_catalog.pg_class c
              JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
              JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
              JOIN pg_catalog.pg_stats s ON s.schemaname = n.nspname AND s.tablename = c.relname AND s.attname = a.attname
                                        AND NOT s.inherited
             WHERE \(userTable) AND \(tableBytes) >= $2::float8)
        SELECT *, CASE WHEN is_time THEN
                      extract(epoch FROM bounds[cardinality(bounds)]::timestamptz - bounds[1]::timestamptz)::float8 END
                  AS span_seconds
          FROM col
         WHERE (is_time AND bounds IS NOT NULL) OR equality_calls_per_day > 0
        """

    /// Partition bounds ($3 a date_trunc unit) from the first to three intervals past the
    /// last histogram bound, each with the share of the histogram in the partition it starts.
    private static let partitionBounds = """
        WITH h AS (SELECT s.histogram_bounds::text::text[] AS b FROM pg_catalog.pg_stats s
                    WHERE format('%I.%I', s.schemaname, s.tablename) = $1 AND quote_ident(s.attname) = $2 AND NOT s.inherited),
        edge AS (SELECT generate_series(date_trunc($3, b[1]::timestamp), date_trunc($3, b[cardinality(b)]::timestamp)
                                                                          + ('3 ' || $3)::interval, ('1 ' || $3)::interval) AS at
                   FROM h)
        SELECT quote_literal(e.at::text) AS bound,
               (SELECT count(*) FROM h, unnest(h.b) v
                 WHERE v::timestamp >= e.at AND v::timestamp < e.at + ('1 ' || $3)::interval)::float8
                   / (SELECT greatest(cardinality(b), 1) FROM h) AS share
          FROM edge e ORDER BY e.at
        """

    static let kinds: [SchemaChange.Kind] = [.narrowType, .textToEnum, .materializedView, .partition]

    /// augur.recommend_schema()'s default sample, also augur.simulate(id)'s.
    static let defaultSampleRows = 100_000.0

    struct Options {
        var largeTableBytes: Double
        var sampleRows: Double
        var simulate: Bool
    }

    /// Returns the number of changes proposed.
    static func refresh(_ options: Options) throws -> Int {
        let changes = try candidates(onlyTable: nil, options: options)
        try SPI.progress("schema advice: \(changes.count) candidate change\(changes.count == 1 ? "" : "s")")
        var kept: [(SchemaChange, String)] = []
        for change in changes {
            guard let simulation = try simulation(of: change, options: options) else { continue }
            kept.append((change, simulation))
        }
        for kind in kinds {
            try Recommendations.store(kind: kind.rawValue, kept.filter { $0.0.kind == kind }.map { $0.0.row(simulation: $0.1) })
        }
        return kept.count
    }

    /// augur.simulate(id) for a schema change: the advisors rerun on its table, and the
    /// change with its kind and target is simulated again. Returns the simulation's JSON,
    /// nil when the data no longer calls for the change.
    static func resimulate(kind: String, target: String, table: String, options: Options) throws -> String? {
        guard let change = try candidates(onlyTable: table, options: options)
            .first(where: { $0.kind.rawValue == kind && $0.target == target }) else { return nil }
        return try simulation(of: change, options: options)
    }

    /// The shadow simulation's JSON, or nil (with a NOTICE) when the change failed on the
    /// shadow copy or broke a statement there; `{"method": "none"}` when not asked for.
    private static func simulation(of change: SchemaChange, options: Options) throws -> String? {
        guard options.simulate else { return JSONText.object([("method", JSONText.string("none"))]) }
        let replays = try self.replays(for: change)
        var tables = [change.table]
        if case let .materialize(_, _, sources, _, _) = change.action { tables = sources }
        let outcome: ShadowSimulation.Outcome
        do {
            outcome = try ShadowSimulation.run(change, tables: tables, statements: replays, sampleRows: options.sampleRows)
        } catch let error as PGError where !error.isInterruption {
            try SPI.progress("not proposing \(change.target) (\(change.kind.rawValue)): on a shadow copy it failed: \(error.message)")
            return nil
        }
        if let broken = outcome.breaks {
            try SPI.progress("not proposing \(change.target) (\(change.kind.rawValue)): query \(broken.queryid) fails on the changed copy: \(broken.error)")
            return nil
        }
        if change.isForSpace, outcome.bytesAfter > outcome.bytesBefore * (1 - SchemaChange.minimumSpaceSaving) {
            try SPI.progress("not proposing \(change.target) (\(change.kind.rawValue)): on the shadow copy it saved "
                             + "under \(Figures.whole(SchemaChange.minimumSpaceSaving * 100))% of the table "
                             + "(\(Figures.whole(outcome.bytesBefore)) bytes before, \(Figures.whole(outcome.bytesAfter)) after; "
                             + "alignment padding can take what the type saves)")
            return nil
        }
        return outcome.json
    }

    /// Captured SELECTs that read $1 and write nothing, busiest first, with their
    /// normalized text (their latest example comes from augur.query_example).
    private static let readers = """
        WITH \(span)
        SELECT q.queryid, q.calls_per_day, q.query, \(Senders.leastPrivileged(queryid: "q.queryid")) AS sender FROM q
         WHERE q.query ~* '^\\s*(select|with|table)\\M'
           AND EXISTS (SELECT 1 FROM augur.relation_use u
                        WHERE u.dbid = \(currentDatabaseOID) AND u.queryid = q.queryid AND u.relid = $1::regclass)
           AND NOT EXISTS (SELECT 1 FROM augur.relation_use u
                            WHERE u.dbid = \(currentDatabaseOID) AND u.queryid = q.queryid AND u.written)
         ORDER BY q.calls_per_day DESC, q.queryid
        """

    /// The busiest captured statements reading the change's table (for a view: the
    /// statement it stores, and on the changed side a read of the view), each with its
    /// latest example's constants, or its normalized text when that has no parameters.
    static func replays(for change: SchemaChange) throws -> [ShadowSimulation.Replay] {
        if case let .materialize(name, query, _, queryid, calls) = change.action {
            guard let sender = RoleOID(try SPI.query("SELECT \(Senders.leastPrivileged(queryid: "$1::bigint")) AS sender",
                                                     [String(queryid)]).first?["sender"]) else { return [] }
            return [.init(queryid: queryid, role: sender, callsPerDay: calls, text: query, arguments: nil,
                          changedText: "SELECT * FROM \(ShadowSimulation.changedSchema).\(name)")]
        }
        let examples = try IndexCreationAdvice.examples()
        return try SPI.query(readers, [change.table]).compactMap { row -> ShadowSimulation.Replay? in
            guard let queryid = row["queryid"]?.int, let text = row["query"]?.text else { return nil }
            let calls = row["calls_per_day"]?.double ?? 0
            if let example = examples[queryid]?.first {
                return .init(queryid: queryid, role: example.sender, callsPerDay: calls, text: example.text,
                             arguments: example.arguments)
            }
            guard NormalizedStatement.parameterCount(text) == 0, let sender = RoleOID(row["sender"]) else { return nil }
            return .init(queryid: queryid, role: sender, callsPerDay: calls, text: text, arguments: nil)
        }
    }

    /// Every change the advisors find, `onlyTable`'s alone when given.
    private static func candidates(onlyTable: String?, options: Options) throws -> [SchemaChange] {
        var writes: [String: (written: Double, inserted: Double)] = [:]
        for row in try SPI.query(Self.writes) {
            guard let table = row["table_name"]?.text else { continue }
            writes[table] = (row["written_rows_per_day"]?.double ?? 0, row["inserted_rows_per_day"]?.double ?? 0)
        }
        var changes = try columnChanges(onlyTable: onlyTable, insertedPerDay: writes.mapValues(\.inserted))
        changes += try viewChanges(writtenPerDay: writes.mapValues(\.written))
            .filter { onlyTable == nil || $0.table == onlyTable }
        changes += try partitionChanges(onlyTable: onlyTable, minimumBytes: options.largeTableBytes)
        return changes
    }

    /// The column changes the data confirms, with one scan per table. A table that cannot
    /// be read now (a concurrent ALTER holding its lock past lock_timeout, a DROP) has its
    /// columns skipped with a NOTICE.
    private static func columnChanges(onlyTable: String?, insertedPerDay: [String: Double]) throws -> [SchemaChange] {
        var tables: [String] = [], candidates: [String: [SPIRow]] = [:]
        for row in try SPI.query(columnCandidates, [onlyTable, timestampPattern, numberPattern]) {
            guard let table = row["table_name"]?.text, row["column_name"]?.text != nil, row["checks"]?.text != nil else { continue }
            if candidates[table] == nil { tables.append(table) }
            candidates[table, default: []].append(row)
        }
        var changes: [SchemaChange] = []
        for table in tables {
            let rows = candidates[table] ?? []
            do {
                changes += try columnChanges(of: table, rows, insertedPerDay: insertedPerDay[table] ?? 0)
            } catch let error as PGError where !error.isInterruption {
                for row in rows {
                    try SPI.progress("schema advice: skipping \(table).\(row["column_name"]?.text ?? ""): \(error.message)")
                }
            }
        }
        return changes
    }

    /// One table's candidate columns, checked against every value in one scan (an enum
    /// candidate's distinct values are listed on their own, at most 65 of them).
    private static func columnChanges(of table: String, _ rows: [SPIRow], insertedPerDay: Double) throws -> [SchemaChange] {
        try SPI.progress("schema advice: checking every value of \(table) ("
                         + rows.compactMap { $0["column_name"]?.text }.joined(separator: ", ") + ")")
        var aggregates: [String] = []
        for (index, row) in rows.enumerated() {
            guard let column = row["column_name"]?.text else { continue }
            switch row["checks"]?.text {
            case "fits_integer", "integral":
                aggregates += ["min(\(column))::float8 AS c\(index)_minimum", "max(\(column))::float8 AS c\(index)_maximum",
                               "coalesce(bool_and(\(column) = trunc(\(column)::numeric)), true) AS c\(index)_integral"]
            case "timestamp":
                aggregates.append("coalesce(bool_and(\(column) ~ $1), false) AS c\(index)_every")
            case "number":
                aggregates.append("coalesce(bool_and(\(column) ~ $2), false) AS c\(index)_every")
            default:
                continue
            }
        }
        let scanned = aggregates.isEmpty ? nil
            : try SPI.query("SELECT \(aggregates.joined(separator: ", ")) FROM \(table)", [timestampPattern, numberPattern]).first
        var changes: [SchemaChange] = []
        for (index, row) in rows.enumerated() {
            guard let column = row["column_name"]?.text, let checks = row["checks"]?.text, let type = row["type"]?.text
            else { continue }
            let count = row["rows"]?.double ?? 0, width = row["width"]?.double ?? 0
            if checks == "few_values" {
                let values = try SPI.query("SELECT DISTINCT \(column)::text AS v, \(column) AS o FROM \(table) "
                                           + "WHERE \(column) IS NOT NULL ORDER BY o LIMIT \(EnumCandidates.maximumValues + 1)")
                    .compactMap { $0["v"]?.text }
                if let change = EnumCandidates.advise(.init(table: table, column: column, type: type, rows: count,
                                                            averageWidth: width, values: values)) {
                    changes.append(change)
                }
                continue
            }
            guard let scanned else { continue }
            var facts = TypeNarrowing.Column(table: table, column: column, type: type, rows: count, averageWidth: width,
                                             widenedBefore: row["widened_before"] == .bool(true),
                                             inForeignKey: row["in_foreign_key"] == .bool(true))
            switch checks {
            case "fits_integer", "integral":
                facts.minimum = scanned["c\(index)_minimum"]?.double
                facts.maximum = scanned["c\(index)_maximum"]?.double
                facts.integral = scanned["c\(index)_integral"] == .bool(true)
                if let minimum = facts.minimum, let maximum = facts.maximum, count > 0 {
                    // Values spread over the rows as a key's do: the largest grows by the
                    // spread per row for each row inserted.
                    facts.growthPerDay = insertedPerDay * max(maximum - minimum, 1) / count
                }
            case "timestamp", "number":
                guard scanned["c\(index)_every"] == .bool(true) else { continue }
                facts.textContent = checks == "timestamp" ? .timestamp : .number
            default:
                continue
            }
            if let change = TypeNarrowing.advise(facts) { changes.append(change) }
        }
        return changes
    }

    private static func viewChanges(writtenPerDay: [String: Double]) throws -> [SchemaChange] {
        var rowsByTable: [String: Double] = [:]
        var changes: [SchemaChange] = []
        for row in try SPI.query(joinAggregates) {
            guard let queryid = row["queryid"]?.int, let normalized = row["query"]?.text,
                  let sources = row["sources"]?.text?.split(separator: ",").map(String.init), !sources.isEmpty else { continue }
            let text = NormalizedStatement.parameterCount(normalized) == 0 ? normalized : row["example"]?.text
            guard let text else { continue }
            var tables: [MaterializedViewCandidates.Source] = []
            for table in sources {
                if rowsByTable[table] == nil {
                    rowsByTable[table] = try SPI.query("SELECT greatest(reltuples, 0)::float8 AS rows FROM pg_catalog.pg_class WHERE oid = $1::regclass",
                                                       [table]).first?["rows"]?.double ?? 0
                }
                tables.append(.init(table: table, rows: rowsByTable[table] ?? 0, writtenRowsPerDay: writtenPerDay[table] ?? 0))
            }
            let statement = MaterializedViewCandidates.Statement(
                queryid: queryid, text: text, callsPerDay: row["calls_per_day"]?.double ?? 0,
                meanMilliseconds: row["mean_ms"]?.double ?? 0,
                joins: row["joins"] == .bool(true) || sources.count > 1, groups: true, sources: tables)
            if let change = MaterializedViewCandidates.advise(statement) { changes.append(change) }
        }
        return changes
    }

    private static func partitionChanges(onlyTable: String?, minimumBytes: Double) throws -> [SchemaChange] {
        var tables: [String: PartitionCandidates.Table] = [:]
        for row in try SPI.query(largeTables, [onlyTable, String(minimumBytes)]) {
            guard let table = row["table_name"]?.text, let column = row["column_name"]?.text else { continue }
            var entry = tables[table] ?? .init(table: table, rows: row["rows"]?.double ?? 0, bytes: row["bytes"]?.double ?? 0,
                                               readCallsPerDay: row["read_calls_per_day"]?.double ?? 0, timeColumns: [])
            if row["is_time"] == .bool(true), let span = row["span_seconds"]?.double {
                entry.timeColumns.append(.init(column: column, rangeFilteredCallsPerDay: row["range_calls_per_day"]?.double ?? 0,
                                               spanSeconds: span))
            }
            if let calls = row["equality_calls_per_day"]?.double, calls > 0 {
                entry.keyColumns.append(.init(
                    column: column, equalityFilteredCallsPerDay: calls, distinct: row["distinct_values"]?.double ?? 0,
                    commonValues: PostgresArray.elements(row["common_values"]?.text ?? "{}").compactMap { $0 },
                    commonShares: PostgresArray.elements(row["common_shares"]?.text ?? "{}").compactMap { $0.flatMap(Double.init) },
                    readValues: PostgresArray.elements(row["read_values"]?.text ?? "{}").compactMap { $0 },
                    readShares: PostgresArray.elements(row["read_shares"]?.text ?? "{}").compactMap { $0.flatMap(Double.init) }))
            }
            tables[table] = entry
        }
        var changes: [SchemaChange] = []
        for table in tables.values.sorted(by: { $0.table < $1.table }) {
            guard let plan = PartitionCandidates.plan(table, minimumBytes: minimumBytes) else { continue }
            let verdict: PartitionCandidates.Verdict
            if case let .range(interval) = plan.strategy {
                let edges = try SPI.query(partitionBounds, [table.table, plan.column, interval])
                verdict = PartitionCandidates.advise(plan, bounds: edges.compactMap { $0["bound"]?.text },
                                                     shares: edges.dropLast().map { $0["share"]?.double ?? 0 })
            } else {
                verdict = PartitionCandidates.advise(plan)
            }
            switch verdict {
            case .proposed(let change):
                changes.append(change)
            case .skewed(let share):
                try SPI.progress("schema advice: no partitioning of \(table.table) by \(plan.column): one partition "
                                 + "would hold \(Figures.whole(share * 100))% of the rows, a hot partition that prunes little")
            case .unusable:
                continue
            }
        }
        return changes
    }
}

@_cdecl("augur_swift_recommend_schema")
func augurSwiftRecommendSchema(_ largeTableBytes: Double, _ sampleRows: Double, _ simulate: Bool,
                               _ proposed: UnsafeMutablePointer<Int64>, _ error: UnsafeMutablePointer<augur_error>) -> Bool {
    reportingErrors(error, fallback: false) {
        proposed.pointee = Int64(try SchemaAdvice.refresh(.init(largeTableBytes: largeTableBytes, sampleRows: sampleRows,
                                                                 simulate: simulate)))
        return true
    }
}
