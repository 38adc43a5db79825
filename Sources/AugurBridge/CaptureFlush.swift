import AugurCore
import CShim

/// Moves the statistics captured in shared memory into `augur.query`: one set-based
/// upsert per flush, whatever the number of queries.
enum CaptureFlush {
    private static let upsert = """
        INSERT INTO augur.query AS q (userid, dbid, queryid, toplevel, query, first_seen, last_seen,
                                      calls, total_exec_time, max_exec_time, rows)
        SELECT s.userid, s.dbid, s.queryid, s.toplevel, s.query,
               timestamptz '2000-01-01 00:00:00+00' + s.first_seen * interval '1 microsecond',
               timestamptz '2000-01-01 00:00:00+00' + s.last_seen * interval '1 microsecond',
               s.calls, s.total_exec_time, s.max_exec_time, s.rows
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

    /// Returns the number of query rows written.
    static func run() throws -> Int {
        var drain = augur_query_drain()
        var error = augur_error()
        guard augur_capture_drain(&drain, &error) else { throw PGError(copying: error) }
        defer { augur_capture_drain_free(&drain) }
        let samples = UnsafeBufferPointer(start: drain.samples, count: Int(max(drain.count, 0)))
        if !samples.isEmpty {
            func column(_ value: (augur_query_sample) -> String?) -> String? {
                PostgresArray.literal(samples.map(value))
            }
            try SPI.execute(upsert, [
                column { String($0.userid) },
                column { String($0.dbid) },
                column { String($0.queryid) },
                column { $0.toplevel ? "t" : "f" },
                column { String(optionalCString: $0.text) },
                column { String($0.first_seen) },
                column { String($0.last_seen) },
                column { String($0.calls) },
                column { $0.total_time_ms.description },
                column { $0.max_time_ms.description },
                column { String($0.rows) },
            ])
        }
        augur_capture_note_flush(Int64(samples.count))
        return samples.count
    }
}
