-- Augur 0.4.0: index creation advice. Candidates come from the captured workload's column
-- roles; the planner, with hypopg's hypothetical indexes, prices every configuration; the
-- core's Extend search picks the set under augur.index_budget.
\echo Use "ALTER EXTENSION augur UPDATE TO '0.4.0'" to load this file. \quit

-- Example executions of the captured queries, constants and bound parameters as sent: at
-- most one per query and flush window, the latest 5 per query kept. The index advisor
-- plans them again, so skewed constants are priced as the workload uses them. They hold
-- the workload's constants: only superusers and pg_read_all_stats may read them.
CREATE TABLE augur.query_example (
    id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    dbid        oid         NOT NULL,
    queryid     bigint      NOT NULL,
    captured_at timestamptz NOT NULL,
    query       text        NOT NULL,   -- the statement as sent, $n where it was parameterized
    params      text[]      NOT NULL    -- the values bound to $1..$n, in text form
);
CREATE INDEX ON augur.query_example (dbid, queryid, captured_at);
SELECT pg_catalog.pg_extension_config_dump('augur.query_example', '');
GRANT SELECT ON augur.query_example TO pg_read_all_stats;

-- A progress line from a long operation (client_min_messages decides who sees it).
CREATE FUNCTION augur.progress(message text) RETURNS void
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$ BEGIN RAISE NOTICE '%', message; END $$;
REVOKE ALL ON FUNCTION augur.progress(text) FROM PUBLIC;

CREATE FUNCTION augur.refresh_index_creation_advice(budget_bytes float8) RETURNS bigint
    LANGUAGE c STRICT VOLATILE AS 'MODULE_PATHNAME', 'augur_sql_refresh_index_creation_advice';
REVOKE ALL ON FUNCTION augur.refresh_index_creation_advice(float8) FROM PUBLIC;

-- An index budget in bytes: a size ('2GB', '500 MB') or a percentage of this database's
-- size ('10%'). Anything else is 22023.
CREATE FUNCTION augur.index_budget_bytes(budget text) RETURNS float8
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    percent float8;
BEGIN
    IF budget ~ '^\s*[0-9]+(\.[0-9]+)?\s*%\s*$' THEN
        percent := trim(both ' %' FROM budget)::float8;
        IF percent <= 0 OR percent > 1000 THEN
            RAISE EXCEPTION 'index budget % is out of range', budget
                USING ERRCODE = '22023', HINT = 'A percentage of the database size lies in (0%, 1000%].';
        END IF;
        RETURN pg_database_size(current_database()) * percent / 100;
    END IF;
    BEGIN
        RETURN pg_size_bytes(budget)::float8;
    EXCEPTION WHEN invalid_parameter_value THEN
        RAISE EXCEPTION 'index budget "%" is neither a size nor a percentage', budget
            USING ERRCODE = '22023', HINT = 'Use a size such as ''2GB'' or a percentage of the database size such as ''10%''.';
    END;
END
$$;

-- Index advice, refreshed: indexes worth creating for the captured workload (with
-- include_new, which needs hypopg: 55000 without it) within budget (default
-- augur.index_budget), and indexes worth dropping (duplicates, redundant B-tree
-- prefixes, indexes not scanned in unused_after). Returns the open recommendations,
-- create_index first (estimated_benefit: planner cost per day saved), then drop_index
-- (estimated_benefit: bytes freed), each largest first; none gives a NOTICE.
-- It runs under the caller's search_path (Augur's objects are qualified, pg_catalog is
-- always searched first): the captured statements are planned as the caller names tables.
DROP FUNCTION augur.recommend_indexes(interval);
CREATE FUNCTION augur.recommend_indexes(unused_after interval DEFAULT '7 days', budget text DEFAULT NULL,
                                        include_new boolean DEFAULT true)
    RETURNS SETOF augur.recommendations
    LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    created bigint := 0;
    dropped bigint;
BEGIN
    IF include_new IS NULL THEN
        RAISE EXCEPTION 'include_new must not be NULL' USING ERRCODE = '22004';
    END IF;
    IF include_new THEN
        created := augur.refresh_index_creation_advice(
            augur.index_budget_bytes(coalesce(budget, current_setting('augur.index_budget'))));
    END IF;
    dropped := augur.refresh_index_advice(unused_after);
    IF created + dropped = 0 THEN
        IF include_new AND NOT EXISTS (SELECT 1 FROM augur.query q
                                        WHERE q.dbid = (SELECT d.oid FROM pg_catalog.pg_database d
                                                         WHERE d.datname = pg_catalog.current_database())) THEN
            RAISE NOTICE 'no index to create or drop'
                USING HINT = 'Augur has captured no workload in this database yet; augur.flush() writes out what it holds.';
        ELSE
            RAISE NOTICE 'no index to create or drop';
        END IF;
    END IF;
    RETURN QUERY SELECT * FROM augur.recommendations r
                  WHERE r.kind IN ('create_index', 'drop_index') AND r.status IN ('proposed', 'simulated', 'approved')
                    AND (include_new OR r.kind = 'drop_index')
                  ORDER BY r.kind, r.estimated_benefit DESC NULLS LAST, r.target;
END
$$;
REVOKE ALL ON FUNCTION augur.recommend_indexes(interval, text, boolean) FROM PUBLIC;

-- Forgets the workload statistics gathered so far, as pg_stat_statements_reset() does:
-- what shared memory holds is flushed first, then calls, times and rows are zeroed and
-- the latency histograms, example executions, error counts and sampled transactions
-- deleted, for every database. What Augur learnt of the queries themselves (texts,
-- relations, column roles, joins, lineage, type history) stays.
CREATE FUNCTION augur.reset() RETURNS void
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM augur.flush();
    UPDATE augur.query SET calls = 0, total_exec_time = 0, max_exec_time = 0, rows = 0,
                           decayed_calls = 0, decayed_at = now(), first_seen = now(), last_seen = now();
    DELETE FROM augur.histogram;
    DELETE FROM augur.histogram_delta;
    DELETE FROM augur.query_example;
    DELETE FROM augur.error_count;
    DELETE FROM augur.sampled_xact;     -- and their keys
END
$$;
REVOKE ALL ON FUNCTION augur.reset() FROM PUBLIC;

-- Applying approved recommendations. The worker runs their DDL outside any transaction,
-- over a session of its own (CREATE/DROP INDEX CONCURRENTLY cannot run in one): those
-- asked for with augur.apply() at once, the others while augur.maintenance_window is
-- open. 'failed': the last attempt failed (augur.action_log says why); approve it again
-- to retry.
ALTER TABLE augur.recommendation DROP CONSTRAINT recommendation_status_check;
ALTER TABLE augur.recommendation ADD CONSTRAINT recommendation_status_check
    CHECK (status IN ('proposed', 'simulated', 'approved', 'applied', 'verified', 'rolled_back', 'rejected', 'failed'));
ALTER TABLE augur.recommendation ADD COLUMN apply_requested_at timestamptz;
-- An applied change is judged once its table's queries ran augur.verify_calls times
-- since: 'verified' (measured_benefit: milliseconds saved per execution, their median
-- weighed by executions), or rolled back by the worker if it made them slower than
-- augur.rollback_threshold allows ('rolled_back'; augur.action_log says why).
ALTER TABLE augur.recommendation ADD COLUMN applied_at timestamptz;
ALTER TABLE augur.action_log ADD COLUMN reason text;

CREATE OR REPLACE VIEW augur.recommendations AS
SELECT r.id, r.kind, r.target, r.ddl, r.rollback_ddl, r.status, r.reason, r.evidence,
       r.estimated_benefit, r.measured_benefit, r.created_at, r.updated_at, r.apply_requested_at,
       r.applied_at
  FROM augur.recommendation r
 WHERE r.dbid = (SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database());

CREATE OR REPLACE FUNCTION augur.approve(id bigint) RETURNS SETOF augur.recommendations
    LANGUAGE sql VOLATILE
    AS $$ SELECT * FROM augur.set_status(id, 'approve', '{proposed,simulated,failed}', 'approved') $$;

CREATE FUNCTION augur.wake_worker() RETURNS void
    LANGUAGE c STRICT VOLATILE AS 'MODULE_PATHNAME', 'augur_sql_wake_worker';
REVOKE ALL ON FUNCTION augur.wake_worker() FROM PUBLIC;

-- The recommendation `id`, locked for a change: unknown id, 22023; a status the change
-- (`verb`: approved, applied, …) does not apply to, 55000 with a hint.
CREATE FUNCTION augur.recommendation_for_change(id bigint, verb text, allowed text[], hint text)
    RETURNS augur.recommendation
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    current augur.recommendation;
BEGIN
    SELECT * INTO current FROM augur.recommendation r WHERE r.id = recommendation_for_change.id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'recommendation % does not exist', id
            USING ERRCODE = '22023', HINT = 'augur.recommendations lists the ids.';
    END IF;
    IF current.status <> ALL (allowed) THEN
        RAISE EXCEPTION 'recommendation % is %, so it cannot be %', id, current.status, verb
            USING ERRCODE = '55000', HINT = hint;
    END IF;
    RETURN current;
END
$$;
REVOKE ALL ON FUNCTION augur.recommendation_for_change(bigint, text, text[], text) FROM PUBLIC;

CREATE OR REPLACE FUNCTION augur.set_status(id bigint, action text, allowed text[], new_status text)
    RETURNS SETOF augur.recommendations
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    current augur.recommendation := augur.recommendation_for_change(
        id, new_status, allowed, format('Only a recommendation that is %s can be.', array_to_string(allowed, ' or ')));
BEGIN
    UPDATE augur.recommendation r SET status = new_status, updated_at = now() WHERE r.id = set_status.id;
    INSERT INTO augur.action_log (recommendation_id, action, ddl, outcome)
    VALUES (id, action, current.ddl, new_status);
    RETURN QUERY SELECT * FROM augur.recommendations r WHERE r.id = set_status.id;
END
$$;

-- Applies an approved recommendation now, whatever the maintenance window: the worker
-- runs its DDL within seconds of this transaction's commit, and augur.recommendations
-- and augur.action_log show the outcome. Unknown id: 22023; not approved: 55000.
CREATE FUNCTION augur.apply(id bigint) RETURNS SETOF augur.recommendations
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    current augur.recommendation := augur.recommendation_for_change(
        id, 'applied', '{approved}', format('Approve it first: SELECT * FROM augur.approve(%s).', id));
BEGIN
    UPDATE augur.recommendation r SET apply_requested_at = now(), updated_at = now() WHERE r.id = apply.id;
    INSERT INTO augur.action_log (recommendation_id, action, ddl, outcome)
    VALUES (id, 'apply', current.ddl, 'requested');
    PERFORM augur.wake_worker();
    RAISE NOTICE 'the augur collector applies recommendation % once this transaction commits', id
        USING HINT = 'augur.recommendations shows its status, augur.action_log the outcome.';
    RETURN QUERY SELECT * FROM augur.recommendations r WHERE r.id = apply.id;
END
$$;
REVOKE ALL ON FUNCTION augur.apply(bigint) FROM PUBLIC;

-- Everything Augur recommends for this database now, refreshed, best first within each
-- kind, with a one-line reason: index creations (by planner cost saved per day; only
-- with hypopg installed, else a NOTICE says how to get them), then index drops (by bytes
-- freed).
CREATE FUNCTION augur.advise()
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
END
$$;
REVOKE ALL ON FUNCTION augur.advise() FROM PUBLIC;

CREATE FUNCTION augur.simulate_recommendation(id bigint) RETURNS void
    LANGUAGE c STRICT VOLATILE AS 'MODULE_PATHNAME', 'augur_sql_simulate';
REVOKE ALL ON FUNCTION augur.simulate_recommendation(bigint) FROM PUBLIC;

-- One recommendation's what-if, alone, against the captured workload as it is now: the
-- planner's cost of each statement using its table with and without the change (a
-- hypothetical index; for a drop, the index hidden with hypopg_hide_index), in
-- evidence -> 'simulation'. A proposed one becomes simulated; logged. Nothing real
-- changes. Needs hypopg (55000); unknown id 22023; rejected or applied 55000. Runs under
-- the caller's search_path, like recommend_indexes().
CREATE FUNCTION augur.simulate(id bigint) RETURNS SETOF augur.recommendations
    LANGUAGE plpgsql VOLATILE
AS $$
BEGIN
    PERFORM augur.simulate_recommendation(id);
    RETURN QUERY SELECT * FROM augur.recommendations r WHERE r.id = simulate.id;
END
$$;
REVOKE ALL ON FUNCTION augur.simulate(bigint) FROM PUBLIC;
