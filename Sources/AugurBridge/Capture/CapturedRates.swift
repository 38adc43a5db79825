/// The captured statements of this database with their rates a day, as two CTEs for a
/// WITH clause: `span` (the observed seconds, at least an hour) and `q` (per query id:
/// `calls`, `calls_per_day`, `rows_per_day`, `rows_per_call`, `mean_ms`, `query`,
/// `seen_once`). A rate is what a statement did over the span, except for a statement
/// seen once, which is no rate: it counts as at most once a day, so that a one-off bulk
/// load does not weigh as 24 loads a day against an index or a narrower type.
enum CapturedRates {
    static let ctes = """
        span AS (SELECT greatest(extract(epoch FROM max(last_seen) - min(first_seen)), 3600)::float8 AS seconds
                   FROM augur.query WHERE dbid = \(currentDatabaseOID)),
        query_totals AS (SELECT queryid, sum(calls)::float8 AS calls, sum(rows)::float8 AS rows,
                          sum(total_exec_time)::float8 AS exec_ms, min(query) AS query
                     FROM augur.query WHERE dbid = \(currentDatabaseOID) AND query IS NOT NULL GROUP BY queryid),
        q AS (SELECT t.queryid, t.calls, t.calls * d.per_day AS calls_per_day, t.rows * d.per_day AS rows_per_day,
                     t.rows / greatest(t.calls, 1) AS rows_per_call, t.exec_ms / greatest(t.calls, 1) AS mean_ms,
                     t.query, t.calls <= 1 AS seen_once
                FROM query_totals t, span,
                     LATERAL (SELECT CASE WHEN t.calls <= 1 THEN least(1, 86400 / span.seconds)
                                          ELSE 86400 / span.seconds END AS per_day) d)
        """
}
