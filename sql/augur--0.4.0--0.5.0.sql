-- Augur 0.5.0: schema evolution advice (type narrowing, text to enum, materialized views,
-- range partitioning), each change measured by shadow simulation before it is proposed.
\echo Use "ALTER EXTENSION augur UPDATE TO '0.5.0'" to load this file. \quit

CREATE FUNCTION augur.refresh_schema_advice(large_table_bytes float8, sample_rows float8, simulate boolean)
    RETURNS bigint
    LANGUAGE c STRICT VOLATILE AS 'MODULE_PATHNAME', 'augur_sql_refresh_schema_advice';
REVOKE ALL ON FUNCTION augur.refresh_schema_advice(float8, float8, boolean) FROM PUBLIC;

-- Refreshes and returns the schema changes this database's data and captured workload
-- call for, best first within each kind:
--   narrow_type        a bigint whose values and growth fit integer for 5 years, a numeric
--                      holding only integers, text holding only timestamps or numbers
--                      (estimated_benefit: bytes saved);
--   text_to_enum       a text column with at most 64 distinct values in 10,000+ rows
--                      (bytes saved);
--   materialized_view  a join-aggregate that recurs with at least a minute of execution a
--                      day over sources changing under 10 % a day (milliseconds a day saved);
--   partition          a table of at least large_table whose reads mostly filter a time
--                      column by range (RANGE), or a key by equality (LIST, HASH), with the
--                      skew of its rows over the partitions (pruned calls a day); not when
--                      one partition would hold most rows. Its ddl is a migration script
--                      to review; Augur does not run it.
-- Each is first measured by shadow simulation (unless simulate => false): a sample of
-- sample_rows rows is copied into the schemas augur_shadow_twin (as is) and augur_shadow
-- (changed), the captured statements reading it are replayed on both, and the sizes and
-- times land in evidence -> 'simulation'. A change that fails on the copy, breaks a
-- statement there, or (types, enums) makes it less than 5% smaller is not proposed (a
-- NOTICE says why). Both schemas are dropped
-- afterwards; an error or a cancel rolls them back with the transaction. Runs under the
-- caller's search_path: statements are replayed as the caller names tables.
CREATE FUNCTION augur.recommend_schema(large_table text DEFAULT '1GB', sample_rows bigint DEFAULT 100000,
                                       simulate boolean DEFAULT true)
    RETURNS SETOF augur.recommendations
    LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    proposed bigint;
BEGIN
    IF large_table IS NULL OR sample_rows IS NULL OR simulate IS NULL THEN
        RAISE EXCEPTION 'large_table, sample_rows and simulate must not be NULL' USING ERRCODE = '22004';
    END IF;
    proposed := augur.refresh_schema_advice(pg_catalog.pg_size_bytes(large_table)::float8, sample_rows::float8, simulate);
    IF proposed = 0 THEN
        RAISE NOTICE 'no schema change to recommend'
            USING HINT = 'Column advice needs ANALYZE statistics; view and partition advice need a captured workload.';
    END IF;
    RETURN QUERY SELECT * FROM augur.recommendations r
                  WHERE r.kind IN ('narrow_type', 'text_to_enum', 'materialized_view', 'partition')
                    AND r.status IN ('proposed', 'simulated', 'approved')
                  ORDER BY r.kind, r.estimated_benefit DESC NULLS LAST, r.target;
END
$$;
REVOKE ALL ON FUNCTION augur.recommend_schema(text, bigint, boolean) FROM PUBLIC;

-- A partition recommendation is a migration for a DBA to run: approving it is allowed
-- (it records the decision), applying it is not.
CREATE OR REPLACE FUNCTION augur.apply(id bigint) RETURNS SETOF augur.recommendations
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    current augur.recommendation := augur.recommendation_for_change(
        id, 'applied', '{approved}', format('Approve it first: SELECT * FROM augur.approve(%s).', id));
BEGIN
    IF current.kind = 'partition' THEN
        RAISE EXCEPTION 'recommendation % partitions a table: Augur does not run that migration itself', id
            USING ERRCODE = '0A000',
                  HINT = 'Review its ddl (a script) and run it in a maintenance window, with the indexes it lists.';
    END IF;
    UPDATE augur.recommendation r SET apply_requested_at = now(), updated_at = now() WHERE r.id = apply.id;
    INSERT INTO augur.action_log (recommendation_id, action, ddl, outcome)
    VALUES (id, 'apply', current.ddl, 'requested');
    PERFORM augur.wake_worker();
    RAISE NOTICE 'the augur collector applies recommendation % once this transaction commits', id
        USING HINT = 'augur.recommendations shows its status, augur.action_log the outcome.';
    RETURN QUERY SELECT * FROM augur.recommendations r WHERE r.id = apply.id;
END
$$;

-- Everything Augur recommends for this database now, refreshed, best first within each
-- kind, with a one-line reason: index creations (only with hypopg installed, else a
-- NOTICE says how to get them), index drops, then schema changes (measured on shadow
-- copies; tables of 1 GB or more are considered for partitioning).
CREATE OR REPLACE FUNCTION augur.advise()
    RETURNS TABLE (id bigint, kind text, target text, status text, reason text, ddl text)
    LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    with_new boolean := EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'hypopg');
BEGIN
    IF NOT with_new THEN
        RAISE NOTICE 'no index creation advice without hypopg'
            USING HINT = 'CREATE EXTENSION hypopg; in this database.';
    END IF;
    RETURN QUERY SELECT r.id, r.kind, r.target, r.status, r.reason, r.ddl
                   FROM augur.recommend_indexes(include_new => with_new) r;
    RETURN QUERY SELECT r.id, r.kind, r.target, r.status, r.reason, r.ddl
                   FROM augur.recommend_schema() r;
END
$$;

-- The layout history of the latency histograms: each refinement (sub-buckets cut into a
-- level 1 octave, level 2, or a level 2 bucket, level 3) from the flush that first saw
-- it until the flush that saw it merged back into its parent. Written by the worker as
-- the layouts change (rows only for what changed); kept while open, and for
-- augur.histogram_retention once merged.
CREATE TABLE augur.histogram_bucket (
    userid     oid         NOT NULL,
    dbid       oid         NOT NULL,
    queryid    bigint      NOT NULL,
    toplevel   boolean     NOT NULL,
    level      smallint    NOT NULL,    -- the sub-buckets' level: 2 or 3
    lower_ns   bigint      NOT NULL,    -- the range they cut
    upper_ns   bigint      NOT NULL,
    created_at timestamptz NOT NULL,
    merged_at  timestamptz,             -- NULL while they exist
    PRIMARY KEY (dbid, queryid, userid, toplevel, level, lower_ns, created_at)
);
CREATE INDEX ON augur.histogram_bucket (merged_at);
SELECT pg_catalog.pg_extension_config_dump('augur.histogram_bucket', '');
GRANT SELECT ON augur.histogram_bucket TO pg_read_all_stats;

-- The cumulative histogram's first flush (for histograms flushed before 0.5.0: their
-- last update, the earliest time known).
ALTER TABLE augur.histogram ADD COLUMN created_at timestamptz;
UPDATE augur.histogram SET created_at = updated_at;
ALTER TABLE augur.histogram ALTER COLUMN created_at SET DEFAULT now(), ALTER COLUMN created_at SET NOT NULL;

-- Bucket events in time order: 'created' (sub-buckets cut into a bucket) and 'merged'
-- (merged back into it), per query.
CREATE VIEW augur.histogram_events AS
SELECT b.dbid, b.queryid, b.userid, b.toplevel, b.created_at AS at, 'created' AS event, b.level,
       b.lower_ns / 1e6 AS lower_ms, b.upper_ns / 1e6 AS upper_ms
  FROM augur.histogram_bucket b
UNION ALL
SELECT b.dbid, b.queryid, b.userid, b.toplevel, b.merged_at, 'merged', b.level, b.lower_ns / 1e6, b.upper_ns / 1e6
  FROM augur.histogram_bucket b WHERE b.merged_at IS NOT NULL;
GRANT SELECT ON augur.histogram_events TO pg_read_all_stats;

-- The buckets of a query's histogram that hold values, now with when each came to be:
-- for a level 2 or 3 bucket, the flush that first saw its parent refined; for the
-- clamp ranges and level 1 octaves, the histogram's first flush.
DROP FUNCTION augur.latency_histogram(bigint);
CREATE FUNCTION augur.latency_histogram(queryid bigint)
    RETURNS TABLE (level int, lower_ms float8, upper_ms float8, count bigint, leaf boolean, created_at timestamptz)
    LANGUAGE sql STABLE
    AS $$ SELECT r.level, r.lower_ns / 1e6, r.upper_ns / 1e6, r.count, r.leaf,
                 coalesce((SELECT min(b.created_at) FROM augur.histogram_bucket b
                            WHERE b.dbid = d.oid AND b.queryid = latency_histogram.queryid AND b.merged_at IS NULL
                              AND b.level = r.level AND b.lower_ns <= r.lower_ns AND b.upper_ns >= r.upper_ns),
                          (SELECT min(h.created_at) FROM augur.histogram h
                            WHERE h.dbid = d.oid AND h.queryid = latency_histogram.queryid))
            FROM jsonb_to_recordset(augur.latency_histogram_json(queryid))
                 AS r(level int, lower_ns float8, upper_ns float8, count bigint, leaf boolean),
                 (SELECT oid FROM pg_catalog.pg_database WHERE datname = pg_catalog.current_database()) d
           ORDER BY r.lower_ns, r.level $$;
REVOKE ALL ON FUNCTION augur.latency_histogram(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION augur.latency_histogram(bigint) TO pg_read_all_stats;

-- reset() forgets the layout history with the histograms.
CREATE OR REPLACE FUNCTION augur.reset() RETURNS void
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM augur.flush();
    UPDATE augur.query SET calls = 0, total_exec_time = 0, max_exec_time = 0, rows = 0,
                           decayed_calls = 0, decayed_at = now(), first_seen = now(), last_seen = now();
    DELETE FROM augur.histogram;
    DELETE FROM augur.histogram_delta;
    DELETE FROM augur.histogram_bucket;
    DELETE FROM augur.query_example;
    DELETE FROM augur.error_count;
    DELETE FROM augur.sampled_xact;     -- and their keys
END
$$;
