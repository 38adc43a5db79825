import AugurCore
import CShim

/// Moves what the hooks captured in shared memory into Augur's tables: one set-based
/// upsert per table and flush, whatever the number of rows.
enum CaptureFlush {
    /// TimestampTz (microseconds since 2000-01-01 UTC) to timestamptz, in SQL.
    private static func timestamp(_ column: String) -> String {
        "timestamptz '2000-01-01 00:00:00+00' + \(column) * interval '1 microsecond'"
    }

    /// Calls decay with augur.coaccess_half_life: at each flush the stored decayed count
    /// is aged by the time since the last one and the new calls are added.
    private static let upsertQueries = """
        INSERT INTO augur.query AS q (userid, dbid, queryid, toplevel, query, first_seen, last_seen,
                                      calls, total_exec_time, max_exec_time, rows, decayed_calls, decayed_at)
        SELECT s.userid, s.dbid, s.queryid, s.toplevel, s.query, \(timestamp("s.first_seen")),
               \(timestamp("s.last_seen")), s.calls, s.total_exec_time, s.max_exec_time, s.rows,
               s.calls, now()
          FROM unnest($1::oid[], $2::oid[], $3::bigint[], $4::bool[], $5::text[], $6::bigint[],
                      $7::bigint[], $8::bigint[], $9::float8[], $10::float8[], $11::bigint[])
               AS s(userid, dbid, queryid, toplevel, query, first_seen, last_seen,
                    calls, total_exec_time, max_exec_time, rows)
        ON CONFLICT (userid, dbid, queryid, toplevel) DO UPDATE SET
            query = coalesce(q.query, excluded.query),
            first_seen = least(q.first_seen, excluded.first_seen),
            last_seen = greatest(q.last_seen, excluded.last_seen),
            calls = q.calls + excluded.calls,
            total_exec_time = q.total_exec_time + excluded.total_exec_time,
            max_exec_time = greatest(q.max_exec_time, excluded.max_exec_time),
            rows = q.rows + excluded.rows,
            decayed_calls = q.decayed_calls
                * power(0.5, extract(epoch FROM now() - q.decayed_at)
                             / extract(epoch FROM current_setting('augur.coaccess_half_life')::interval))
                + excluded.calls,
            decayed_at = now()
        """


    /// Names are resolved where they can be: relations of this database, at first sight.
    /// Shapes of one query id come once per role that ran it in the window (and once per
    /// object a defining statement wrote): their rows are merged by key before the upsert,
    /// which may touch a row only once.
    private static let upsertRelations = """
        INSERT INTO augur.relation_use AS u (dbid, queryid, relid, relname, written)
        SELECT s.dbid, s.queryid, s.relid,
               (SELECT format('%I.%I', n.nspname, c.relname)
                  FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                 WHERE c.oid = s.relid AND s.dbid = \(currentDatabaseOID)),
               s.written
          FROM (SELECT dbid, queryid, relid, bool_or(written) AS written
                  FROM unnest($1::oid[], $2::bigint[], $3::oid[], $4::bool[]) AS s(dbid, queryid, relid, written)
                 GROUP BY dbid, queryid, relid) s
        ON CONFLICT (dbid, queryid, relid) DO UPDATE SET
            relname = coalesce(u.relname, excluded.relname),
            written = u.written OR excluded.written
        """


    private static let upsertColumns = """
        INSERT INTO augur.column_use AS u (dbid, queryid, relid, attnum, relname, attname, roles)
        SELECT s.dbid, s.queryid, s.relid, s.attnum,
               (SELECT format('%I.%I', n.nspname, c.relname)
                  FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                 WHERE c.oid = s.relid AND s.dbid = \(currentDatabaseOID)),
               (SELECT a.attname FROM pg_catalog.pg_attribute a
                 WHERE a.attrelid = s.relid AND a.attnum = s.attnum AND s.dbid = \(currentDatabaseOID)),
               ARRAY(SELECT DISTINCT r COLLATE "C" FROM unnest(string_to_array(s.roles, ',')) r ORDER BY 1)
          FROM (SELECT dbid, queryid, relid, attnum, string_agg(roles, ',') AS roles
                  FROM unnest($1::oid[], $2::bigint[], $3::oid[], $4::int2[], $5::text[])
                       AS s(dbid, queryid, relid, attnum, roles)
                 GROUP BY dbid, queryid, relid, attnum) s
        ON CONFLICT (dbid, queryid, relid, attnum) DO UPDATE SET
            relname = coalesce(u.relname, excluded.relname),
            attname = coalesce(u.attname, excluded.attname),
            roles = ARRAY(SELECT DISTINCT r COLLATE "C" FROM unnest(u.roles || excluded.roles) r ORDER BY 1)
        """


    /// `schema.table.column` of this database's column (relid, attnum) in SQL, else NULL.
    private static func columnName(_ relid: String, _ attnum: String) -> String {
        """
        (SELECT format('%I.%I.%I', n.nspname, c.relname, a.attname)
           FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
           JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum = \(attnum)
          WHERE c.oid = \(relid) AND s.dbid = \(currentDatabaseOID))
        """
    }

    private static let upsertJoins = """
        INSERT INTO augur.join_pair AS j (dbid, queryid, left_relid, left_attnum, right_relid, right_attnum,
                                          left_column, right_column)
        SELECT s.dbid, s.queryid, s.left_relid, s.left_attnum, s.right_relid, s.right_attnum,
               \(columnName("s.left_relid", "s.left_attnum")), \(columnName("s.right_relid", "s.right_attnum"))
          FROM (SELECT DISTINCT * FROM unnest($1::oid[], $2::bigint[], $3::oid[], $4::int2[], $5::oid[], $6::int2[])
                       AS s(dbid, queryid, left_relid, left_attnum, right_relid, right_attnum)) s
        ON CONFLICT (dbid, queryid, left_relid, left_attnum, right_relid, right_attnum) DO UPDATE SET
            left_column = coalesce(j.left_column, excluded.left_column),
            right_column = coalesce(j.right_column, excluded.right_column)
        """

    private static let upsertLineage = """
        INSERT INTO augur.lineage_edge AS l (dbid, queryid, target_relid, target_attnum, source_relid, source_attnum,
                                             kind, subtype, target_column, source_column, first_seen)
        SELECT s.dbid, s.queryid, s.target_relid, s.target_attnum, s.source_relid, s.source_attnum,
               s.kind, s.subtype, \(columnName("s.target_relid", "s.target_attnum")),
               coalesce(s.source_label, \(columnName("s.source_relid", "s.source_attnum"))), now()
          FROM (SELECT DISTINCT ON (dbid, queryid, target_relid, target_attnum, source_relid, source_attnum, subtype) *
                  FROM unnest($1::oid[], $2::bigint[], $3::oid[], $4::int2[], $5::oid[], $6::int2[], $7::text[], $8::text[],
                              $9::text[])
                       AS s(dbid, queryid, target_relid, target_attnum, source_relid, source_attnum, kind, subtype,
                            source_label)) s
        ON CONFLICT (dbid, queryid, target_relid, target_attnum, source_relid, source_attnum, subtype) DO UPDATE SET
            target_column = coalesce(l.target_column, excluded.target_column),
            source_column = coalesce(l.source_column, excluded.source_column)
        """



    private static let upsertErrors = """
        INSERT INTO augur.error_count AS e (dbid, sqlstate, queryid, count, first_seen, last_seen)
        SELECT s.dbid, s.sqlstate, s.queryid, s.count, \(timestamp("s.first_seen")), \(timestamp("s.last_seen"))
          FROM unnest($1::oid[], $2::text[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[])
               AS s(dbid, sqlstate, queryid, count, first_seen, last_seen)
        ON CONFLICT (dbid, sqlstate, queryid) DO UPDATE SET
            count = e.count + excluded.count,
            first_seen = least(e.first_seen, excluded.first_seen),
            last_seen = greatest(e.last_seen, excluded.last_seen)
        """

    /// Sampled transactions, with their relations' names as resolved by `sampledNames`.
    private static let insertSampledXacts = """
        INSERT INTO augur.sampled_xact (dbid, userid, pid, lxid, ended_at, sample_rate, relids, relnames)
        SELECT s.dbid, s.userid, s.pid, s.lxid, \(timestamp("s.ended_at")), s.sample_rate, s.relids::oid[],
               s.relnames::text[]
          FROM unnest($1::oid[], $2::oid[], $3::int[], $4::bigint[], $5::bigint[], $6::float8[], $7::text[], $8::text[])
               AS s(dbid, userid, pid, lxid, ended_at, sample_rate, relids, relnames)
        ON CONFLICT DO NOTHING
        """

    private static let insertSampledKeys = """
        INSERT INTO augur.sampled_key (ended_at, pid, lxid, relid, attnum, column_name, value)
        SELECT \(timestamp("s.ended_at")), s.pid, s.lxid, s.relid, s.attnum, s.column_name, s.value
          FROM unnest($1::bigint[], $2::int[], $3::bigint[], $4::oid[], $5::int2[], $6::text[], $7::text[])
               AS s(ended_at, pid, lxid, relid, attnum, column_name, value)
        ON CONFLICT DO NOTHING
        """

    /// Names like relation_use's (relations of this database, schema-qualified), each
    /// relation and column looked up once per flush: a thousand sampled transactions
    /// touch a handful of tables, and a lookup per row was most of a flush's cost.
    private static let sampledNames = """
        SELECT u.dbid, u.relid, u.attnum,
               CASE WHEN u.attnum = 0 THEN format('%I.%I', n.nspname, c.relname)
                    ELSE format('%I.%I.%I', n.nspname, c.relname, a.attname) END AS name
          FROM (SELECT DISTINCT * FROM unnest($1::oid[], $2::oid[], $3::int2[]) AS u(dbid, relid, attnum)) u
          JOIN pg_catalog.pg_class c ON c.oid = u.relid AND u.dbid = \(currentDatabaseOID)
          JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
          LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = u.relid AND a.attnum = u.attnum
        """

    /// A relation (attnum 0) or a column of one database.
    private struct SampledObject: Hashable {
        var dbid: UInt32
        var relid: UInt32
        var attnum: Int16
    }

    private static func names(of objects: Set<SampledObject>) throws -> [SampledObject: String] {
        guard !objects.isEmpty else { return [:] }
        let rows = try SPI.query(sampledNames, [
            PostgresArray.literal(objects.map { String($0.dbid) }),
            PostgresArray.literal(objects.map { String($0.relid) }),
            PostgresArray.literal(objects.map { String($0.attnum) }),
        ])
        var names: [SampledObject: String] = [:]
        for row in rows {
            guard let dbid = row["dbid"]?.int, let relid = row["relid"]?.int, let attnum = row["attnum"]?.int,
                  let name = row["name"]?.text else { continue }
            names[SampledObject(dbid: UInt32(truncatingIfNeeded: dbid), relid: UInt32(truncatingIfNeeded: relid),
                                attnum: Int16(truncatingIfNeeded: attnum))] = name
        }
        return names
    }

    /// Sampled transactions older than augur.sample_retention go, with their keys.
    private static let expireSamples = """
        DELETE FROM augur.sampled_xact WHERE ended_at < now() - current_setting('augur.sample_retention')::interval
        """

    /// A sampled transaction's identity and relations (not the whole C struct: that is two
    /// kilobytes of fixed arrays), and its keys.
    private struct SampledXact {
        var xact: UnsafePointer<augur_sampled_xact>
        var relids: [UInt32]
        var keys: [augur_sampled_key]

        init(_ xact: UnsafePointer<augur_sampled_xact>) {
            self.xact = xact
            relids = elements(of: xact.pointee, \.relations, \.nrelations, as: UInt32.self)
            keys = elements(of: xact.pointee, \.keys, \.nkeys, as: augur_sampled_key.self)
        }
    }

    /// Writes the sampled transactions and their keys; returns the number of rows.
    private static func writeSampled(_ batch: augur_capture_batch) throws -> Int {
        guard let first = batch.sampled, batch.sampled_count > 0 else { return 0 }
        let sampled = (0..<Int(batch.sampled_count)).map { SampledXact(first + $0) }
        let names = try names(of: Set(sampled.flatMap { sample in
            sample.relids.map { SampledObject(dbid: sample.xact.pointee.dbid, relid: $0, attnum: 0) }
                + sample.keys.map { SampledObject(dbid: sample.xact.pointee.dbid, relid: $0.relid, attnum: $0.attnum) }
        }))
        var written = try upsert(insertSampledXacts, sampled, [
            { String($0.xact.pointee.dbid) }, { String($0.xact.pointee.userid) }, { String($0.xact.pointee.pid) },
            { String($0.xact.pointee.lxid) }, { String($0.xact.pointee.ended_at) },
            { $0.xact.pointee.sample_rate.description },
            { PostgresArray.literal($0.relids.map(String.init)) },
            { sample in PostgresArray.literal(sample.relids.map {
                names[SampledObject(dbid: sample.xact.pointee.dbid, relid: $0, attnum: 0)]
            }) },
        ])
        let keys = sampled.flatMap { sample in sample.keys.map { (sample.xact.pointee, $0) } }
        written += try upsert(insertSampledKeys, keys, [
            { String($0.0.ended_at) }, { String($0.0.pid) }, { String($0.0.lxid) },
            { String($0.1.relid) }, { String($0.1.attnum) },
            { names[SampledObject(dbid: $0.0.dbid, relid: $0.1.relid, attnum: $0.1.attnum)] },
            { cString(of: $0.1.value) },
        ])
        return written
    }

    /// One row per element of a shape's array: which query it belongs to, and the element.
    private struct ShapeRow<Element> {
        var dbid: UInt32
        var queryid: Int64
        var shape: augur_query_shape
        var index: Int
        var element: Element
    }

    /// The elements `0..<count` of one of a C struct's fixed-size arrays (imported as tuples).
    private static func elements<Struct, Tuple, Element>(of shape: Struct,
                                                         _ array: KeyPath<Struct, Tuple>,
                                                         _ count: KeyPath<Struct, Int16>,
                                                         as _: Element.Type) -> [Element] {
        withUnsafeBytes(of: shape[keyPath: array]) { bytes in
            let n = min(Int(max(shape[keyPath: count], 0)), bytes.count / MemoryLayout<Element>.stride)
            return (0..<n).map { bytes.load(fromByteOffset: $0 * MemoryLayout<Element>.stride, as: Element.self) }
        }
    }

    /// The elements of one of the shapes' fixed-size arrays, as rows.
    private static func rows<Tuple, Element>(_ samples: [(augur_query_sample, augur_query_shape)],
                                             _ array: KeyPath<augur_query_shape, Tuple>,
                                             _ count: KeyPath<augur_query_shape, Int16>,
                                             as type: Element.Type) -> [ShapeRow<Element>] {
        samples.flatMap { sample, shape in
            elements(of: shape, array, count, as: type).enumerated().map {
                ShapeRow(dbid: sample.dbid, queryid: sample.queryid, shape: shape, index: $0.offset, element: $0.element)
            }
        }
    }

    /// Each shape's lineage edges, the row-deciding ones expanded to every written column.
    private static func lineageRows(_ samples: [(augur_query_sample, augur_query_shape)]) -> [ShapeRow<LineageEdge>] {
        samples.flatMap { sample, shape in
            let edges = elements(of: shape, \.lineage, \.nlineage, as: augur_lineage_edge.self).compactMap { edge in
                LineageSubtype(rawValue: edge.subtype).flatMap { subtype in
                    LineageEdge.Source(rawValue: edge.source_kind).map { source in
                        LineageEdge(targetRelid: edge.target_relid, targetAttnum: edge.target_attnum,
                                    sourceRelid: edge.source_relid, sourceAttnum: edge.source_attnum,
                                    subtype: subtype, source: source)
                    }
                }
            }
            let written = elements(of: shape, \.columns, \.ncolumns, as: augur_column_use.self)
                .filter { ColumnRoles(rawValue: $0.roles).contains(.written) }
                .map { (relid: $0.relid, attnum: $0.attnum) }
            return LineageEdge.expandingAllWritten(edges, written: written).enumerated().map {
                ShapeRow(dbid: sample.dbid, queryid: sample.queryid, shape: shape, index: $0.offset, element: $0.element)
            }
        }
    }

    private static let queryColumns: [(augur_query_sample) -> String?] = [
        { String($0.userid) }, { String($0.dbid) }, { String($0.queryid) }, { $0.toplevel ? "t" : "f" },
        { $0.shape.map { cString(of: $0.pointee.text) } }, { String($0.first_seen) }, { String($0.last_seen) },
        { String($0.calls) }, { $0.total_time_ms.description }, { $0.max_time_ms.description },
        { String($0.rows) },
    ]

    /// Example executions, the latest `examplesKept` per query kept. Parameters arrive as
    /// a JSON array of strings (rows differ in how many they have).
    private static let insertExamples = """
        WITH added AS (
            INSERT INTO augur.query_example (dbid, queryid, captured_at, query, params, userid)
            SELECT s.dbid, s.queryid, \(timestamp("s.captured_at")), s.query,
                   ARRAY(SELECT pg_catalog.jsonb_array_elements_text(s.params::jsonb)), s.userid
              FROM unnest($1::oid[], $2::bigint[], $3::bigint[], $4::text[], $5::text[], $6::oid[])
                   AS s(dbid, queryid, captured_at, query, params, userid)
            RETURNING dbid, queryid)
        DELETE FROM augur.query_example e
         USING (SELECT id, row_number() OVER (PARTITION BY dbid, queryid ORDER BY captured_at DESC, id DESC) AS age
                  FROM augur.query_example WHERE (dbid, queryid) IN (SELECT dbid, queryid FROM added)) old
         WHERE e.id = old.id AND old.age > \(examplesKept)
        """
    private static let examplesKept = 5

    private static let exampleColumns: [(augur_query_sample) -> String?] = [
        { String($0.dbid) }, { String($0.queryid) }, { $0.example.map { String($0.pointee.captured_at) } },
        { $0.example.map { example in NormalizedStatement.preparedBody(cString(of: example.pointee.text)) } },
        { $0.example.map { example in
            withUnsafeBytes(of: example.pointee.params) { bytes in
                let values = bytes.split(separator: 0, omittingEmptySubsequences: false)
                    .prefix(Int(max(example.pointee.nparams, 0)))
                    .map { JSONText.string(String(decoding: $0, as: UTF8.self)) }
                return "[" + values.joined(separator: ",") + "]"
            }
        } },
        { String($0.userid) },
    ]


    private static let errorColumns: [(augur_error_sample) -> String?] = [
        { String($0.dbid) }, { sample in withUnsafeBytes(of: sample.sqlstate) { String(decoding: $0.prefix(5), as: UTF8.self) } },
        { String($0.queryid) }, { String($0.count) }, { String($0.first_seen) }, { String($0.last_seen) },
    ]

    /// Returns the number of rows written (queries, relation and column uses, join pairs,
    /// lineage edges, latency histograms and their deltas, error kinds, sampled
    /// transactions and their keys).
    static func run() throws -> Int {
        // One flush at a time (the worker's and augur.flush()): histograms are merged
        // read-modify-write, and a second flush must see the first one's rows.
        try SPI.execute("SELECT pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('augur flush'))")
        // Tables made anew by DROP and CREATE EXTENSION get every query's text and shape again.
        let installation = try SPI.query("SELECT oid FROM pg_catalog.pg_extension WHERE extname = 'augur'")
            .first?["oid"]?.int ?? 0
        augur_capture_note_installation(UInt32(truncatingIfNeeded: installation))
        var batch = augur_capture_batch()
        var error = augur_error()
        guard augur_capture_drain(&batch, &error) else { throw PGError(copying: error) }
        defer { augur_capture_drain_free(&batch) }

        let queries = UnsafeBufferPointer(start: batch.queries, count: Int(max(batch.query_count, 0)))
        let errors = UnsafeBufferPointer(start: batch.errors, count: Int(max(batch.error_count, 0)))
        let replaced = UnsafeBufferPointer(start: batch.replaced, count: Int(max(batch.replaced_count, 0)))
        let shapes = (Array(queries) + Array(replaced)).compactMap { sample in sample.shape.map { (sample, $0.pointee) } }

        var written = try upsert(upsertQueries, queries, queryColumns)
        written += try upsert(upsertRelations, rows(shapes, \.relations, \.nrelations, as: UInt32.self), [
            { String($0.dbid) }, { String($0.queryid) }, { String($0.element) },
            { row in element(row.index, of: row.shape.written, as: Bool.self) ? "t" : "f" },
        ])
        written += try upsert(upsertColumns, rows(shapes, \.columns, \.ncolumns, as: augur_column_use.self), [
            { String($0.dbid) }, { String($0.queryid) }, { String($0.element.relid) }, { String($0.element.attnum) },
            { ColumnRoles(rawValue: $0.element.roles).names.joined(separator: ",") },
        ])
        written += try upsert(upsertJoins, rows(shapes, \.joins, \.njoins, as: augur_join_pair.self), [
            { String($0.dbid) }, { String($0.queryid) }, { String($0.element.left_relid) },
            { String($0.element.left_attnum) }, { String($0.element.right_relid) }, { String($0.element.right_attnum) },
        ])
        written += try upsert(upsertLineage, lineageRows(shapes), [
            { String($0.dbid) }, { String($0.queryid) }, { String($0.element.targetRelid) },
            { String($0.element.targetAttnum) }, { String($0.element.sourceRelid) },
            { String($0.element.sourceAttnum) }, { $0.element.subtype.kind }, { $0.element.subtype.name },
            { $0.element.sourceLabel },
        ])
        written += try HistogramFlush.run(queries)
        written += try upsert(insertExamples, queries.filter { $0.example != nil }, exampleColumns)
        written += try upsert(upsertErrors, errors, errorColumns)
        written += try writeSampled(batch)
        try SPI.execute(expireSamples)
        augur_capture_note_flush(Int64(written))
        return written
    }

    /// Element `index` of a C array imported as a tuple of `Element`.
    private static func element<Tuple, Element>(_ index: Int, of tuple: Tuple, as _: Element.Type) -> Element {
        withUnsafeBytes(of: tuple) { $0.load(fromByteOffset: index * MemoryLayout<Element>.stride, as: Element.self) }
    }

    /// Runs `sql` with one array parameter per column, built from `samples`.
    private static func upsert<Samples: Collection>(_ sql: String, _ samples: Samples,
                                                    _ columns: [(Samples.Element) -> String?]) throws -> Int {
        guard !samples.isEmpty else { return 0 }
        try SPI.execute(sql, columns.map { column in PostgresArray.literal(samples.map(column)) })
        return samples.count
    }
}
