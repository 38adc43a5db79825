-- Augur 0.6.0: trust. Captured statements are planned and replayed as the role that sent
-- them, never with more rights; what a flush drains survives its transaction's abort.
\echo Use "ALTER EXTENSION augur UPDATE TO '0.6.0'" to load this file. \quit

-- The role that sent each example execution: the advisors plan and replay it as that
-- role (in a security-restricted operation). Examples captured before 0.6.0 have none
-- and are never replayed; they age out as new ones arrive.
ALTER TABLE augur.query_example ADD COLUMN userid oid;

-- NULL arguments follow one rule: where NULL means nothing, SQLSTATE 22004 naming the
-- argument (NULL is taken only where it means something: no time bound, every query,
-- the default budget, all columns, all hops).
ALTER FUNCTION augur.coaccess_predicted_json(int, text, text) CALLED ON NULL INPUT;
ALTER FUNCTION augur.latency_histogram_json(bigint) CALLED ON NULL INPUT;
ALTER FUNCTION augur.refresh_index_advice(interval) CALLED ON NULL INPUT;
ALTER FUNCTION augur.simulate_recommendation(bigint) CALLED ON NULL INPUT;

CREATE OR REPLACE FUNCTION augur.recommendation_for_change(id bigint, verb text, allowed text[], hint text)
    RETURNS augur.recommendation
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    current augur.recommendation;
BEGIN
    IF id IS NULL THEN
        RAISE EXCEPTION 'id must not be NULL' USING ERRCODE = '22004', HINT = 'augur.recommendations lists the ids.';
    END IF;
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

CREATE OR REPLACE FUNCTION augur.coaccess(level text DEFAULT 'relation', min_weight float8 DEFAULT 0)
    RETURNS TABLE (database name, relation_a text, relation_b text, weight float8,
                   calls bigint, queries bigint, last_seen timestamptz)
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    half_life float8 := extract(epoch FROM current_setting('augur.coaccess_half_life')::interval);
    pgss_schema name;
    pgss_calls text := 'SELECT NULL::oid, NULL::bigint, NULL::bigint, NULL::timestamptz WHERE false';
BEGIN
    IF level IS NULL OR min_weight IS NULL THEN
        RAISE EXCEPTION '% must not be NULL', CASE WHEN level IS NULL THEN 'level' ELSE 'min_weight' END
            USING ERRCODE = '22004';
    END IF;
    IF level NOT IN ('relation', 'column', 'transaction') THEN
        RAISE EXCEPTION 'co-access level "%" does not exist', level
            USING ERRCODE = '22023', HINT = 'Use ''relation'', ''column'' or ''transaction''.';
    END IF;
    IF level = 'transaction' THEN
        RETURN QUERY
        WITH member AS (
            SELECT x.dbid, x.ended_at, x.pid, x.lxid, x.sample_rate, coalesce(u.relname, u.relid::text) AS name
              FROM augur.sampled_xact x, unnest(x.relids, x.relnames) AS u(relid, relname)
        )
        SELECT d.datname, a.name, b.name,
               sum(power(0.5, extract(epoch FROM now() - a.ended_at) / half_life) / a.sample_rate)::float8,
               round(sum(1 / a.sample_rate))::bigint, count(*), max(a.ended_at)
          FROM member a
          JOIN member b ON (b.ended_at, b.pid, b.lxid) = (a.ended_at, a.pid, a.lxid) AND a.name < b.name
          LEFT JOIN pg_database d ON d.oid = a.dbid
         GROUP BY d.datname, a.dbid, a.name, b.name
        HAVING sum(power(0.5, extract(epoch FROM now() - a.ended_at) / half_life) / a.sample_rate) >= min_weight
         ORDER BY 4 DESC, 2, 3;
        RETURN;
    END IF;
    SELECT n.nspname INTO pgss_schema
      FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
     WHERE e.extname = 'pg_stat_statements';
    IF pgss_schema IS NOT NULL THEN
        BEGIN
            EXECUTE format('SELECT 1 FROM %I.pg_stat_statements(false) LIMIT 1', pgss_schema);
            pgss_calls := format('SELECT s.dbid, s.queryid, sum(s.calls)::bigint, '
                                 '(SELECT stats_reset FROM %1$I.pg_stat_statements_info) '
                                 'FROM %1$I.pg_stat_statements(false) s GROUP BY 1, 2', pgss_schema);
        EXCEPTION WHEN object_not_in_prerequisite_state THEN
            NULL;   -- created but not preloaded: it has nothing to merge
        END;
    END IF;
    RETURN QUERY EXECUTE format($query$
    WITH pgss(dbid, queryid, calls, since) AS (%s),
    per_query AS (
        SELECT q.dbid, q.queryid, sum(q.calls) AS calls, max(q.last_seen) AS last_seen,
               sum(q.decayed_calls * power(0.5, extract(epoch FROM now() - q.decayed_at) / $1)) AS weight
          FROM augur.query q
         GROUP BY q.dbid, q.queryid
    ),
    merged AS (
        SELECT p.dbid, p.queryid, p.last_seen,
               p.calls + greatest(coalesce(s.calls, 0) - p.calls, 0) AS calls,
               p.weight + greatest(coalesce(s.calls, 0) - p.calls, 0)
                          * power(0.5, extract(epoch FROM now() - coalesce(s.since, now())) / $1) AS weight
          FROM per_query p LEFT JOIN pgss s ON s.dbid = p.dbid AND s.queryid = p.queryid
    ),
    used AS (
        SELECT u.dbid, u.queryid, coalesce(u.relname, u.relid::text) AS name
          FROM augur.relation_use u WHERE $3 = 'relation'
        UNION ALL
        SELECT c.dbid, c.queryid, coalesce(c.relname || '.' || quote_ident(c.attname), c.relid || '.' || c.attnum)
          FROM augur.column_use c WHERE $3 = 'column'
    )
    SELECT d.datname, a.name, b.name, sum(m.weight)::float8, sum(m.calls)::bigint, count(*), max(m.last_seen)
      FROM merged m
      JOIN used a ON a.dbid = m.dbid AND a.queryid = m.queryid
      JOIN used b ON b.dbid = m.dbid AND b.queryid = m.queryid AND a.name < b.name
      LEFT JOIN pg_database d ON d.oid = m.dbid
     GROUP BY d.datname, m.dbid, a.name, b.name
    HAVING sum(m.weight) >= $2
     ORDER BY 4 DESC, 2, 3
    $query$, pgss_calls) USING half_life, min_weight, level;
END
$$;

CREATE OR REPLACE FUNCTION augur.lineage_walk(rel regclass, col name, depth int, upstream boolean)
    RETURNS TABLE (hop int, target_column text, source_column text, kind text, subtype text,
                   queries bigint, calls bigint)
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    col_attnum smallint;
BEGIN
    IF rel IS NULL THEN
        RAISE EXCEPTION 'rel must not be NULL' USING ERRCODE = '22004',
            HINT = 'Name a table, view or materialized view; col NULL walks all of its columns.';
    END IF;
    IF col IS NOT NULL THEN
        SELECT a.attnum INTO col_attnum FROM pg_attribute a
         WHERE a.attrelid = rel AND a.attname = col AND a.attnum > 0 AND NOT a.attisdropped;
        IF col_attnum IS NULL THEN
            RAISE EXCEPTION 'column "%" of relation % does not exist', col, rel USING ERRCODE = '42703';
        END IF;
    END IF;
    IF depth IS NOT NULL AND depth < 1 THEN
        RAISE EXCEPTION 'depth must be at least 1, or NULL for all hops' USING ERRCODE = '22023';
    END IF;
    RETURN QUERY
    WITH RECURSIVE edges AS (
        SELECT e.target_relid, e.target_attnum, e.source_relid, e.source_attnum,
               coalesce(e.target_column, e.target_relid || '.' || e.target_attnum) AS target_column,
               coalesce(e.source_column, e.source_relid || '.' || e.source_attnum) AS source_column,
               e.kind, e.subtype, count(DISTINCT e.queryid) AS queries,
               coalesce(sum(q.calls), 0)::bigint AS calls
          FROM augur.lineage_edge e
          LEFT JOIN augur.query q ON q.dbid = e.dbid AND q.queryid = e.queryid
         WHERE e.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
         GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
    ), walk AS (
        SELECT 1 AS hop, e.* FROM edges e
         WHERE CASE WHEN upstream
                    THEN e.target_relid = rel AND (col_attnum IS NULL OR e.target_attnum = col_attnum)
                    ELSE e.source_relid = rel AND (col_attnum IS NULL OR e.source_attnum = col_attnum) END
        UNION
        SELECT w.hop + 1, e.* FROM walk w
          JOIN edges e ON CASE WHEN upstream
                               THEN e.target_relid = w.source_relid AND e.target_attnum = w.source_attnum
                               ELSE e.source_relid = w.target_relid AND e.source_attnum = w.target_attnum END
         WHERE (depth IS NULL OR w.hop < depth) AND w.hop < 64
    )
    SELECT min(w.hop), w.target_column, w.source_column, w.kind, w.subtype, max(w.queries), max(w.calls)
      FROM walk w GROUP BY w.target_column, w.source_column, w.kind, w.subtype
     ORDER BY 1, 2, 3, 5;
END
$$;

CREATE OR REPLACE FUNCTION augur.lineage_openlineage(rel regclass)
    RETURNS jsonb
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF rel IS NULL THEN
        RAISE EXCEPTION 'rel must not be NULL' USING ERRCODE = '22004';
    END IF;
    RETURN (
    WITH edges AS (
        SELECT a.attname AS field, e.source_relid, e.source_attnum, e.source_column,
               jsonb_agg(jsonb_build_object('type', e.kind, 'subtype', e.subtype,
                                            'description', '', 'masking', false)
                         ORDER BY e.kind, e.subtype) AS transformations
          FROM augur.lineage_edge e
          JOIN pg_attribute a ON a.attrelid = e.target_relid AND a.attnum = e.target_attnum
         WHERE e.target_relid = rel
           AND e.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
         GROUP BY a.attname, e.source_relid, e.source_attnum, e.source_column
    ), inputs AS (
        SELECT d.field,
               jsonb_agg(jsonb_build_object(
                   'namespace', 'postgres://' || coalesce(host(inet_server_addr()), 'localhost')
                                || ':' || current_setting('port'),
                   'name', current_database() || '.' || coalesce(n.nspname || '.' || c.relname,
                                                                 d.source_relid::text),
                   'field', coalesce(a.attname::text, d.source_attnum::text),
                   'transformations', d.transformations)
                   ORDER BY n.nspname, c.relname, a.attname) AS input_fields
          FROM edges d
          LEFT JOIN pg_class c ON c.oid = d.source_relid
          LEFT JOIN pg_namespace n ON n.oid = c.relnamespace
          LEFT JOIN pg_attribute a ON a.attrelid = d.source_relid AND a.attnum = d.source_attnum
         GROUP BY d.field
    )
    SELECT jsonb_build_object('fields', coalesce(jsonb_object_agg(field, jsonb_build_object('inputFields', input_fields)),
                                                 '{}'::jsonb))
      FROM inputs);
END
$$;

-- An index budget in bytes: a size ('2GB', '500 MB') or a percentage of this database's
-- size ('10%'). Anything else, a negative size included, is 22023; NULL gives NULL.
CREATE OR REPLACE FUNCTION augur.index_budget_bytes(budget text) RETURNS float8
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    percent float8;
    bytes float8;
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
        bytes := pg_size_bytes(budget)::float8;
    EXCEPTION WHEN invalid_parameter_value OR numeric_value_out_of_range THEN
        RAISE EXCEPTION 'index budget "%" is neither a size nor a percentage within bigint', budget
            USING ERRCODE = '22023', HINT = 'Use a size such as ''2GB'' or a percentage of the database size such as ''10%''.';
    END;
    IF bytes < 0 THEN
        RAISE EXCEPTION 'index budget "%" must not be negative', budget
            USING ERRCODE = '22023', HINT = 'Use a size such as ''2GB'' or a percentage of the database size such as ''10%''.';
    END IF;
    RETURN bytes;
END
$$;

-- Augur's own shadow copies (augur_shadow, augur_shadow_twin) are not the user's objects.
CREATE OR REPLACE FUNCTION augur.note_dropped_objects() RETURNS event_trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    INSERT INTO augur.dropped_object (dbid, relid, attnum, object_type, name)
    SELECT d.oid, o.objid, o.objsubid, o.object_type, o.object_identity
      FROM pg_event_trigger_dropped_objects() o
      JOIN pg_database d ON d.datname = current_database()
     WHERE o.classid = 'pg_class'::regclass AND NOT o.is_temporary
       AND coalesce(o.schema_name, '') NOT IN ('augur', 'augur_shadow', 'augur_shadow_twin')   -- the advisors' copies
       AND o.object_type IN ('table', 'view', 'materialized view', 'foreign table', 'table column',
                             'view column', 'materialized view column', 'foreign table column')
    ON CONFLICT DO NOTHING;
END
$$;

-- Index advice within a time budget: the search stops when it is spent and keeps the
-- indexes chosen so far (a NOTICE says so); each step's NOTICE says how much it used.
DROP FUNCTION augur.recommend_indexes(interval, text, boolean);
DROP FUNCTION augur.refresh_index_creation_advice(float8);
CREATE FUNCTION augur.refresh_index_creation_advice(budget_bytes float8, time_budget_seconds float8) RETURNS bigint
    LANGUAGE c VOLATILE AS 'MODULE_PATHNAME', 'augur_sql_refresh_index_creation_advice';
REVOKE ALL ON FUNCTION augur.refresh_index_creation_advice(float8, float8) FROM PUBLIC;

CREATE FUNCTION augur.recommend_indexes(unused_after interval DEFAULT '7 days', budget text DEFAULT NULL,
                                        include_new boolean DEFAULT true, time_budget interval DEFAULT '1 min')
    RETURNS SETOF augur.recommendations
    LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    created bigint := 0;
    dropped bigint;
BEGIN
    IF include_new IS NULL OR time_budget IS NULL THEN
        RAISE EXCEPTION '% must not be NULL', CASE WHEN include_new IS NULL THEN 'include_new' ELSE 'time_budget' END
            USING ERRCODE = '22004';
    END IF;
    IF time_budget <= interval '0' THEN
        RAISE EXCEPTION 'time_budget must be positive' USING ERRCODE = '22023';
    END IF;
    IF include_new THEN
        created := augur.refresh_index_creation_advice(
            augur.index_budget_bytes(coalesce(budget, current_setting('augur.index_budget'))),
            extract(epoch FROM time_budget)::float8);
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
REVOKE ALL ON FUNCTION augur.recommend_indexes(interval, text, boolean, interval) FROM PUBLIC;
