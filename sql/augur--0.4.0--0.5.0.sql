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
--                      column by range, with the skew of its rows over the partitions
--                      (range-filtered calls a day). Its ddl is a migration script to
--                      review; Augur does not run it.
-- Each is first measured by shadow simulation (unless simulate => false): a sample of
-- sample_rows rows is copied into the schemas augur_shadow_twin (as is) and augur_shadow
-- (changed), the captured statements reading it are replayed on both, and the sizes and
-- times land in evidence -> 'simulation'. A change that fails on the copy, or breaks a
-- statement there, is not proposed (a NOTICE says why). Both schemas are dropped
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
