import AugurCore
import CShim

/// Moves what the hooks captured in shared memory into Augur's tables: one set-based
/// upsert per table and flush, whatever the number of rows.
enum CaptureFlush {
    /// TimestampTz (microseconds since 2000-01-01 UTC) to timestamptz, in SQL.
    private static func timestamp(_ column: String) -> String {
        "timestamptz '2000-01-01 00:00:00+00' + \(column) * interval '1 microsecond'"
    }

    private static let upsertQueries = """
        INSERT INTO augur.query AS q (userid, dbid, queryid, toplevel, query, first_seen, last_seen,
                                      calls, total_exec_time, max_exec_time, rows)
        SELECT s.userid, s.dbid, s.queryid, s.toplevel, s.query, \(timestamp("s.first_seen")),
               \(timestamp("s.last_seen")), s.calls, s.total_exec_time, s.max_exec_time, s.rows
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
            rows = q.rows + excluded.rows
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

    /// Returns the number of rows written (queries and error kinds).
    static func run() throws -> Int {
        var queries = augur_query_drain(), errors = augur_error_drain()
        var error = augur_error()
        guard augur_capture_drain(&queries, &error) else { throw PGError(copying: error) }
        defer { augur_capture_drain_free(&queries) }
        guard augur_errors_drain(&errors, &error) else { throw PGError(copying: error) }
        defer { augur_errors_drain_free(&errors) }

        let written = try upsert(upsertQueries, UnsafeBufferPointer(start: queries.samples, count: Int(max(queries.count, 0))), [
            { String($0.userid) }, { String($0.dbid) }, { String($0.queryid) }, { $0.toplevel ? "t" : "f" },
            { String(optionalCString: $0.text) }, { String($0.first_seen) }, { String($0.last_seen) },
            { String($0.calls) }, { $0.total_time_ms.description }, { $0.max_time_ms.description },
            { String($0.rows) },
        ]) + upsert(upsertErrors, UnsafeBufferPointer(start: errors.samples, count: Int(max(errors.count, 0))), [
            { String($0.dbid) }, { sample in withUnsafeBytes(of: sample.sqlstate) { String(decoding: $0.prefix(5), as: UTF8.self) } },
            { String($0.queryid) }, { String($0.count) }, { String($0.first_seen) }, { String($0.last_seen) },
        ])
        augur_capture_note_flush(Int64(written))
        return written
    }

    /// Runs `sql` with one array parameter per column, built from `samples`.
    private static func upsert<Sample>(_ sql: String, _ samples: UnsafeBufferPointer<Sample>,
                                       _ columns: [(Sample) -> String?]) throws -> Int {
        guard !samples.isEmpty else { return 0 }
        try SPI.execute(sql, columns.map { column in PostgresArray.literal(samples.map(column)) })
        return samples.count
    }
}
