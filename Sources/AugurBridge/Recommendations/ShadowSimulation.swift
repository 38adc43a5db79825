import AugurCore

/// What hypopg cannot model, measured instead: the tables a schema change touches are
/// copied from a sample into two shadow schemas, `augur_shadow_twin` as they are and
/// `augur_shadow` with the change made, and the captured statements that read them are
/// run against both (EXPLAIN ANALYZE, alternately, the median of a few runs). Both
/// schemas are dropped afterwards; and since all of it runs in the caller's transaction,
/// an error or a cancel rolls back whatever was built.
enum ShadowSimulation {
    static let changedSchema = "augur_shadow"
    static let twinSchema = "augur_shadow_twin"
    /// Runs per statement and side, alternating; the median is kept.
    static let runs = 3
    /// The busiest statements replayed per change.
    static let statementsPerChange = 10

    /// A statement to replay, with the constants it was sent with, as the role that sent it.
    struct Replay {
        let queryid: Int64
        let role: RoleOID
        let callsPerDay: Double
        let text: String
        /// "('v1', 'v2')" for EXECUTE, nil when the text has its constants inline.
        let arguments: String?
        /// For a materialized view: what the changed side runs instead.
        var changedText: String?
    }

    struct Measurement {
        let queryid: Int64
        let callsPerDay: Double
        let millisecondsBefore: Double
        let millisecondsAfter: Double
        let buffersBefore: Double
        let buffersAfter: Double

        var members: [(String, String)] {
            [("queryid", String(queryid)), ("calls_per_day", JSONText.number(callsPerDay)),
             ("ms_before", JSONText.number(millisecondsBefore)), ("ms_after", JSONText.number(millisecondsAfter)),
             ("buffers_before", JSONText.number(buffersBefore)), ("buffers_after", JSONText.number(buffersAfter))]
        }
    }

    struct Outcome {
        /// Rows copied into the twin (all of a view's sources).
        var sampleRows: Double = 0
        var bytesBefore: Double = 0
        var bytesAfter: Double = 0
        var measurements: [Measurement] = []
        /// Statements that could not be replayed, and why.
        var skipped: [(queryid: Int64, why: String)] = []
        /// Set when the change broke a statement on the changed copy: the change is not safe as it is.
        var breaks: (queryid: Int64, error: String)?

        /// Milliseconds a day the change saves on the replayed statements, at the sample's scale.
        var millisecondsSavedPerDay: Double {
            measurements.reduce(0) { $0 + $1.callsPerDay * ($1.millisecondsBefore - $1.millisecondsAfter) }
        }

        var json: String {
            JSONText.object([
                ("method", JSONText.string("shadow")), ("sample_rows", JSONText.number(sampleRows)),
                ("bytes_before", JSONText.number(bytesBefore)), ("bytes_after", JSONText.number(bytesAfter)),
                ("ms_saved_per_day_on_sample", JSONText.number(millisecondsSavedPerDay)),
                ("queries", JSONText.array(of: measurements.map(\.members))),
                ("not_replayed", JSONText.array(of: skipped.map { [("queryid", String($0.queryid)), ("why", JSONText.string($0.why))] })),
            ])
        }
    }

    /// Builds the twins of `tables` (the change's table first), makes `change` on the
    /// changed side and replays `statements` on both. Throws if the change itself fails
    /// on the copy.
    static func run(_ change: SchemaChange, tables: [String], statements: [Replay], sampleRows: Double) throws -> Outcome {
        let searchPath = try SPI.query("SELECT current_setting('search_path') AS path").first?["path"]?.text ?? "public"
        defer {
            _ = try? SPI.execute("SELECT set_config('search_path', $1, true)", [searchPath])
            try? dropSchemas()
        }
        try dropSchemas()
        try SPI.execute("CREATE SCHEMA \(twinSchema)")
        try SPI.execute("CREATE SCHEMA \(changedSchema)")
        // The replays run as their senders, who must find the copies first on their path.
        let senders = Set(statements.prefix(statementsPerChange).map(\.role))
        for sender in senders { try grant("USAGE ON SCHEMA \(twinSchema), \(changedSchema)", to: sender) }
        // Before: the sampled tables (a view's sources: what its statement reads instead of it).
        var outcome = Outcome()
        for table in tables {
            try SPI.progress("copying a sample of \(table) into the shadow schemas")
            outcome.sampleRows += try copySample(of: table, into: twinSchema, sampleRows: sampleRows, readers: senders)
            outcome.bytesBefore += try bytes(of: "\(twinSchema).\(SQLName.relation(of: table))")
            if change.kind != .materializedView { try copy(table, from: twinSchema, into: changedSchema, readers: senders) }
        }
        let relation = SQLName.relation(of: change.table)
        try SPI.progress("making the change on the shadow copy")
        try SPI.execute("SELECT set_config('search_path', $1, true)", ["\(twinSchema), \(searchPath)"])
        if change.kind == .materializedView {
            // Creating it runs the captured query: as its sender, who owns what it creates.
            guard let sender = statements.first?.role else { return outcome }
            try grant("CREATE ON SCHEMA \(changedSchema)", to: sender)
            try SPI.execute(change.shadowDDL(in: changedSchema), as: sender)
        } else {
            try SPI.execute(change.shadowDDL(in: changedSchema))
        }
        switch change.action {
        case .partition:
            try SPI.execute("DROP TABLE \(changedSchema).\(SQLName.suffixed(relation, "_unpartitioned"))")
            try handOver(change.table, copiesIn: changedSchema, readers: senders)
            try copyIndexes(of: "\(twinSchema).\(relation)", to: "\(changedSchema).\(relation)", unique: false)
            outcome.bytesAfter = try bytes(of: "\(changedSchema).\(relation)")
        case let .materialize(name, _, _, _, _):
            outcome.bytesAfter = try bytes(of: "\(changedSchema).\(name)")
        default:
            outcome.bytesAfter = try bytes(of: "\(changedSchema).\(relation)")
        }
        try SPI.execute("ANALYZE \(twinSchema).\(relation)")
        if change.kind != .materializedView { try SPI.execute("ANALYZE \(changedSchema).\(relation)") }
        for statement in statements.prefix(statementsPerChange) {
            if let qualified = tables.first(where: { mentions(statement.text, $0) }) {
                outcome.skipped.append((statement.queryid, "names \(qualified) with its schema, so it would read the real table"))
                continue
            }
            try SPI.progress("replaying query \(statement.queryid) on both copies")
            var before: [(Double, Double)] = [], after: [(Double, Double)] = []
            for _ in 0..<runs {
                do {
                    before.append(try measure(statement.text, arguments: statement.arguments, as: statement.role,
                                              schema: twinSchema, searchPath: searchPath))
                } catch let error as PGError where !error.isInterruption {
                    break
                }
                do {
                    after.append(try measure(statement.changedText ?? statement.text, arguments: statement.arguments,
                                             as: statement.role, schema: changedSchema, searchPath: searchPath))
                } catch let error as PGError where !error.isInterruption {
                    outcome.breaks = (statement.queryid, error.message)
                    return outcome
                }
            }
            guard before.count == runs, after.count == runs else {
                outcome.skipped.append((statement.queryid, "it does not run on the unchanged copy"))
                continue
            }
            outcome.measurements.append(.init(queryid: statement.queryid, callsPerDay: statement.callsPerDay,
                                              millisecondsBefore: median(before.map(\.0)), millisecondsAfter: median(after.map(\.0)),
                                              buffersBefore: median(before.map(\.1)), buffersAfter: median(after.map(\.1))))
        }
        return outcome
    }

    /// Drops both shadow schemas and what they hold, without a NOTICE per object.
    private static func dropSchemas() throws {
        let level = try SPI.query("SELECT current_setting('client_min_messages') AS level").first?["level"]?.text ?? "notice"
        try SPI.execute("SELECT set_config('client_min_messages', 'warning', true)")
        defer { _ = try? SPI.execute("SELECT set_config('client_min_messages', $1, true)", [level]) }
        try SPI.execute("DROP SCHEMA IF EXISTS \(changedSchema), \(twinSchema) CASCADE")
    }

    /// Copies about `sampleRows` rows of `table` (a Bernoulli sample, repeatable) and its
    /// indexes into `schema`; returns the rows copied.
    private static func copySample(of table: String, into schema: String, sampleRows: Double,
                                   readers: Set<RoleOID>) throws -> Double {
        let relation = SQLName.relation(of: table)
        let total = try SPI.query("SELECT greatest(reltuples, 0)::float8 AS rows FROM pg_catalog.pg_class WHERE oid = $1::regclass",
                                  [table]).first?["rows"]?.double ?? 0
        let percent = total > sampleRows ? max(100 * sampleRows / total, 0.0001) : 100
        let copied = try SPI.execute("CREATE TABLE \(schema).\(relation) AS SELECT * FROM \(table) "
                                     + (percent < 100 ? "TABLESAMPLE BERNOULLI (\(percent)) REPEATABLE (0)" : "")).processed
        try handOver(table, copiesIn: schema, readers: readers)
        try copyIndexes(of: table, to: "\(schema).\(relation)", unique: true)
        return Double(copied)
    }

    /// The same rows and indexes in another schema.
    private static func copy(_ table: String, from source: String, into schema: String, readers: Set<RoleOID>) throws {
        let relation = SQLName.relation(of: table)
        try SPI.execute("CREATE TABLE \(schema).\(relation) AS SELECT * FROM \(source).\(relation)")
        try handOver(table, copiesIn: schema, readers: readers)
        try copyIndexes(of: "\(source).\(relation)", to: "\(schema).\(relation)", unique: true)
    }

    /// GRANT `what` (a privilege ON an object) to `role`.
    private static func grant(_ what: String, to role: RoleOID) throws {
        let ddl = try SPI.query("SELECT pg_catalog.format('GRANT \(what) TO %s', $1::oid::regrole) AS ddl", [String(role.value)])
        if let ddl = ddl.first?["ddl"]?.text { try SPI.execute(ddl) }
    }

    /// Gives the copies of `table` in `schema` that this transaction made (the table, or a
    /// partitioned one and its partitions) to `table`'s owner, so that index expressions
    /// and ANALYZE run as the owner, as PostgreSQL runs them on the real table; and grants
    /// each reader what it may do on `table`, unless row security would hide rows from it
    /// there (its statements then do not run on the copy and are not measured).
    private static func handOver(_ table: String, copiesIn schema: String, readers: Set<RoleOID>) throws {
        let relation = SQLName.relation(of: table)
        let statements = try SPI.execute("""
            WITH original AS (SELECT oid, relowner, relrowsecurity FROM pg_catalog.pg_class WHERE oid = $1::regclass),
            copies AS (
                SELECT c.oid FROM pg_catalog.pg_class c
                 WHERE c.relnamespace = $2::regnamespace AND c.relkind IN ('r', 'p')
                   AND c.relowner = (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = current_user)
                   AND (c.oid = pg_catalog.to_regclass($3) OR c.oid IN (SELECT relid FROM pg_catalog.pg_partition_tree(
                                                                            pg_catalog.to_regclass($3)))))
            SELECT pg_catalog.format('ALTER TABLE %s OWNER TO %s', c.oid::regclass, o.relowner::regrole) AS ddl
              FROM copies c, original o
            UNION ALL
            SELECT pg_catalog.format('GRANT %s ON %s TO %s', p.privileges, c.oid::regclass, reader::regrole)
              FROM copies c, original o, unnest($4::oid[]) AS reader,
                   LATERAL (SELECT string_agg(privilege, ', ') AS privileges
                              FROM unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE']) AS privilege
                             WHERE pg_catalog.has_table_privilege(reader, o.oid, privilege)) p
             WHERE reader <> o.relowner AND NOT o.relrowsecurity AND p.privileges IS NOT NULL
            """, [table, schema, "\(schema).\(relation)", PostgresArray.literal(readers.map { String($0.value) as String? })]).rows
        for row in statements {
            if let ddl = row["ddl"]?.text { try SPI.execute(ddl) }
        }
    }

    /// Every index of `table` again on `copy` (without a name; non-unique ones only when
    /// `unique` is false, as a partitioned table needs). One that cannot be built is left
    /// out. (Catalog reads here are not read-only: a read-only one would not see the
    /// copies this transaction just made.)
    private static func copyIndexes(of table: String, to copy: String, unique: Bool) throws {
        let definitions = try SPI.execute("""
            SELECT regexp_replace(pg_catalog.pg_get_indexdef(i.indexrelid), '^CREATE (UNIQUE )?INDEX .* ON (ONLY )?\\S+ USING ',
                                  CASE WHEN $2::bool THEN 'CREATE \\1INDEX ON ' ELSE 'CREATE INDEX ON ' END || $3 || ' USING ') AS ddl
              FROM pg_catalog.pg_index i WHERE i.indrelid = $1::regclass
            """, [table, unique ? "t" : "f", copy]).rows
        for row in definitions {
            guard let ddl = row["ddl"]?.text else { continue }
            do { try SPI.execute(ddl) } catch let error as PGError where !error.isInterruption { continue }
        }
    }

    /// A table's, partitioned table's or materialized view's bytes with indexes and TOAST.
    private static func bytes(of relation: String) throws -> Double {
        try SPI.execute("""
            SELECT coalesce((SELECT sum(pg_catalog.pg_total_relation_size(relid)) FROM pg_catalog.pg_partition_tree($1::regclass)),
                            pg_catalog.pg_total_relation_size($1::regclass))::float8 AS bytes
            """, [relation]).rows.first?["bytes"]?.double ?? 0
    }

    /// One EXPLAIN ANALYZE run as `role` with `schema` searched first, rolled back
    /// (whatever the statement's functions change is undone): execution milliseconds and
    /// the buffers the plan touched.
    private static func measure(_ text: String, arguments: String?, as role: RoleOID, schema: String,
                                searchPath: String) throws -> (Double, Double) {
        try SPI.execute("SELECT set_config('search_path', $1, true)", ["\(schema), \(searchPath)"])
        let json = try ExampleExplain.explain(text, arguments: arguments, as: role, options: "ANALYZE, BUFFERS, FORMAT JSON",
                                              rollingBack: true) ?? ""
        let milliseconds = NormalizedStatement.firstNumber(named: "Execution Time", inExplainJSON: json) ?? 0
        let buffers = (NormalizedStatement.firstNumber(named: "Shared Hit Blocks", inExplainJSON: json) ?? 0)
            + (NormalizedStatement.firstNumber(named: "Shared Read Blocks", inExplainJSON: json) ?? 0)
        return (milliseconds, buffers)
    }

    /// Whether a statement names `table` with its schema (and so would bypass the shadow copies).
    private static func mentions(_ text: String, _ table: String) -> Bool {
        ByteSearch.firstOffset(of: Array(table.lowercased().utf8), in: Array(text.lowercased().utf8)) != nil
    }

    private static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        return sorted.isEmpty ? 0 : sorted[sorted.count / 2]
    }
}
