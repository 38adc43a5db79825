-- Augur 0.3.0: lineage through utility statements (CREATE TABLE AS, SELECT INTO, views,
-- materialized views, REFRESH, COPY FROM) and more query forms; utility statements
-- counted per call; column type history; dropped objects marked; column-level
-- co-access; pg_stat_statements' calls merged into co-access weights; sampled
-- transactions with their key values (record-level co-access); predicted co-access.
\echo Use "ALTER EXTENSION augur UPDATE TO '0.3.0'" to load this file. \quit

-- One row per column whose type an ALTER TABLE ... ALTER COLUMN ... TYPE changed, written
-- by the augur_type_change_* event triggers in the ALTER's own transaction.
CREATE TABLE augur.type_history (
    dbid        oid         NOT NULL,
    relid       oid         NOT NULL,
    attnum      smallint    NOT NULL,
    column_name text        NOT NULL,   -- schema.table.column when it changed
    old_type    text        NOT NULL,
    new_type    text        NOT NULL,
    changed_at  timestamptz NOT NULL DEFAULT now(),
    changed_by  name        NOT NULL
);
CREATE INDEX ON augur.type_history (dbid, relid, attnum);
SELECT pg_catalog.pg_extension_config_dump('augur.type_history', '');
GRANT SELECT ON augur.type_history TO pg_read_all_stats;

CREATE FUNCTION augur.note_type_change_start() RETURNS event_trigger
    LANGUAGE c AS 'MODULE_PATHNAME', 'augur_sql_note_type_change_start';
-- Runs as the extension's owner, so that any role's ALTER TABLE can be recorded.
CREATE FUNCTION augur.note_type_change_end() RETURNS event_trigger
    LANGUAGE c SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'augur_sql_note_type_change_end';
REVOKE ALL ON FUNCTION augur.note_type_change_start() FROM PUBLIC;
REVOKE ALL ON FUNCTION augur.note_type_change_end() FROM PUBLIC;
CREATE EVENT TRIGGER augur_type_change_start ON ddl_command_start WHEN TAG IN ('ALTER TABLE')
    EXECUTE FUNCTION augur.note_type_change_start();
CREATE EVENT TRIGGER augur_type_change_end ON ddl_command_end WHEN TAG IN ('ALTER TABLE')
    EXECUTE FUNCTION augur.note_type_change_end();

-- Relations and columns dropped in this database (attnum 0: the relation itself). What
-- Augur recorded about them stays, resolvable by the names it kept; this says they are
-- gone, and since when (an OID can be reused after a drop).
CREATE TABLE augur.dropped_object (
    dbid        oid         NOT NULL,
    relid       oid         NOT NULL,
    attnum      smallint    NOT NULL,
    object_type text        NOT NULL,   -- as pg_event_trigger_dropped_objects() says
    name        text        NOT NULL,   -- schema.table or schema.table.column
    dropped_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (dbid, relid, attnum, dropped_at)
);
SELECT pg_catalog.pg_extension_config_dump('augur.dropped_object', '');
GRANT SELECT ON augur.dropped_object TO pg_read_all_stats;

CREATE FUNCTION augur.note_dropped_objects() RETURNS event_trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    INSERT INTO augur.dropped_object (dbid, relid, attnum, object_type, name)
    SELECT d.oid, o.objid, o.objsubid, o.object_type, o.object_identity
      FROM pg_event_trigger_dropped_objects() o
      JOIN pg_database d ON d.datname = current_database()
     WHERE o.classid = 'pg_class'::regclass AND NOT o.is_temporary
       AND o.schema_name IS DISTINCT FROM 'augur'
       AND o.object_type IN ('table', 'view', 'materialized view', 'foreign table', 'table column',
                             'view column', 'materialized view column', 'foreign table column')
    ON CONFLICT DO NOTHING;
END
$$;
REVOKE ALL ON FUNCTION augur.note_dropped_objects() FROM PUBLIC;
CREATE EVENT TRIGGER augur_dropped_objects ON sql_drop EXECUTE FUNCTION augur.note_dropped_objects();

-- Transactions sampled with probability augur.sample_rate: the relations each touched
-- (partitions as their root) and, in augur.sampled_key, the key values it used: columns
-- compared for equality with a constant or parameter, and primary/foreign key columns
-- given one by INSERT ... VALUES. (ended_at, pid, lxid) identifies a transaction. Rows
-- older than augur.sample_retention are deleted at each flush. Key values are constants
-- from the workload: only superusers and pg_read_all_stats may read them.
CREATE TABLE augur.sampled_xact (
    dbid        oid         NOT NULL,
    userid      oid         NOT NULL,
    pid         int         NOT NULL,
    lxid        bigint      NOT NULL,
    ended_at    timestamptz NOT NULL,
    sample_rate float8      NOT NULL,   -- so that counts can be scaled up: 1 / sample_rate each
    relids      oid[]       NOT NULL,
    relnames    text[],                 -- schema.table, resolved at the flush (this database)
    PRIMARY KEY (ended_at, pid, lxid)
);
CREATE TABLE augur.sampled_key (
    ended_at    timestamptz NOT NULL,
    pid         int         NOT NULL,
    lxid        bigint      NOT NULL,
    relid       oid         NOT NULL,
    attnum      smallint    NOT NULL,
    column_name text,                   -- schema.table.column, resolved at the flush
    value       text        NOT NULL,   -- the value's text form, cut to 47 bytes
    PRIMARY KEY (ended_at, pid, lxid, relid, attnum, value),
    FOREIGN KEY (ended_at, pid, lxid) REFERENCES augur.sampled_xact ON DELETE CASCADE
);
SELECT pg_catalog.pg_extension_config_dump('augur.sampled_xact', '');
SELECT pg_catalog.pg_extension_config_dump('augur.sampled_key', '');
GRANT SELECT ON augur.sampled_xact, augur.sampled_key TO pg_read_all_stats;

-- Pairs of key columns used in the same sampled transactions, and how often with the
-- same value: a high share says that sharding both by that key keeps those transactions
-- on one shard.
CREATE VIEW augur.key_coaccess AS
SELECT d.datname AS database,
       coalesce(a.column_name, a.relid || '.' || a.attnum) AS key_a,
       coalesce(b.column_name, b.relid || '.' || b.attnum) AS key_b,
       count(DISTINCT (a.ended_at, a.pid, a.lxid)) AS transactions,
       count(DISTINCT (a.ended_at, a.pid, a.lxid)) FILTER (WHERE a.value = b.value) AS same_value_transactions,
       max(a.ended_at) AS last_seen
  FROM augur.sampled_key a
  JOIN augur.sampled_key b ON (b.ended_at, b.pid, b.lxid) = (a.ended_at, a.pid, a.lxid)
                          AND (a.relid, a.attnum) < (b.relid, b.attnum)
  JOIN augur.sampled_xact x ON (x.ended_at, x.pid, x.lxid) = (a.ended_at, a.pid, a.lxid)
  LEFT JOIN pg_catalog.pg_database d ON d.oid = x.dbid
 GROUP BY 1, 2, 3;
-- The most used values of each key column in the sampled transactions: hot keys, skew.
CREATE VIEW augur.key_values AS
SELECT d.datname AS database, coalesce(k.column_name, k.relid || '.' || k.attnum) AS key,
       k.value, count(*) AS transactions,
       count(*)::float8 / sum(count(*)) OVER (PARTITION BY d.datname, k.relid, k.attnum) AS share
  FROM augur.sampled_key k
  JOIN augur.sampled_xact x ON (x.ended_at, x.pid, x.lxid) = (k.ended_at, k.pid, k.lxid)
  LEFT JOIN pg_catalog.pg_database d ON d.oid = x.dbid
 GROUP BY d.datname, k.relid, k.attnum, k.column_name, k.value;
GRANT SELECT ON augur.key_coaccess, augur.key_values TO pg_read_all_stats;

-- capture_status gains sampled_dropped.
DROP VIEW augur.capture_status;
DROP FUNCTION augur.capture_status();
CREATE FUNCTION augur.capture_status(
    OUT entries bigint,           -- queries in shared memory now
    OUT max_queries integer,      -- augur.max_queries
    OUT evictions bigint,         -- entries evicted to make room (their unflushed counts are lost)
    OUT dropped bigint,           -- executions or errors not recorded: table busy or full
    OUT flushed_rows bigint,      -- rows written by flushes since the server started
    OUT last_flush_at timestamptz,
    OUT sampled_dropped bigint)   -- sampled transactions lost: augur.max_sampled_xacts full, or busy
    RETURNS record
    LANGUAGE c STRICT VOLATILE
    AS 'MODULE_PATHNAME', 'augur_sql_capture_status';
CREATE VIEW augur.capture_status AS SELECT * FROM augur.capture_status();
REVOKE ALL ON FUNCTION augur.capture_status() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION augur.capture_status() TO pg_read_all_stats;
REVOKE ALL ON augur.capture_status FROM PUBLIC;
GRANT SELECT ON augur.capture_status TO pg_read_all_stats;

-- Co-access at the relation or the column level, or between relations touched by the same
-- sampled transaction ('transaction': calls is then the sampled transactions scaled by
-- 1 / sample_rate, queries the sampled transactions themselves). Where pg_stat_statements is installed
-- in this database, a query's calls it counted beyond Augur's (calls from before Augur
-- captured the query, since pg_stat_statements' last reset) are added, decayed from
-- that reset.
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
    IF level IS NULL OR level NOT IN ('relation', 'column', 'transaction') THEN
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
        HAVING sum(power(0.5, extract(epoch FROM now() - a.ended_at) / half_life) / a.sample_rate) >= coalesce(min_weight, 0)
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
    HAVING sum(m.weight) >= coalesce($2, 0)
     ORDER BY 4 DESC, 2, 3
    $query$, pgss_calls) USING half_life, min_weight, level;
END
$$;

-- Pairs not used together yet that probably will be, scored from the co-access graph's
-- neighbourhoods ('resource_allocation' or 'cosine'; see docs/architecture.md), best first.
CREATE FUNCTION augur.coaccess_predicted_json(k int, level text, method text) RETURNS jsonb
    LANGUAGE c STRICT STABLE AS 'MODULE_PATHNAME', 'augur_sql_coaccess_predicted';
CREATE FUNCTION augur.coaccess_predicted(k int DEFAULT 20, level text DEFAULT 'relation',
                                         method text DEFAULT 'resource_allocation')
    RETURNS TABLE (relation_a text, relation_b text, score float8, shared_neighbours int)
    LANGUAGE sql STABLE
    AS $$ SELECT * FROM jsonb_to_recordset(augur.coaccess_predicted_json(k, level, method))
                     AS p(relation_a text, relation_b text, score float8, shared_neighbours int)
             ORDER BY score DESC, relation_a, relation_b $$;
REVOKE ALL ON FUNCTION augur.coaccess_predicted_json(int, text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION augur.coaccess_predicted(int, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION augur.coaccess_predicted_json(int, text, text) TO pg_read_all_stats;
GRANT EXECUTE ON FUNCTION augur.coaccess_predicted(int, text, text) TO pg_read_all_stats;

-- Latency histograms (docs/histogram.md). Each query's histogram lives in shared memory
-- (augur.histogram_bytes each); at every flush its window is merged into the cumulative
-- histogram here, and the window's non-empty cells go to histogram_delta (kept for
-- augur.histogram_retention).
CREATE TABLE augur.histogram (
    userid     oid         NOT NULL,
    dbid       oid         NOT NULL,
    queryid    bigint      NOT NULL,
    toplevel   boolean     NOT NULL,
    histogram  bytea       NOT NULL,    -- the core's layout, version byte first
    count      bigint      NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (dbid, queryid, userid, toplevel)       -- read by query id
);
CREATE TABLE augur.histogram_delta (
    userid     oid         NOT NULL,
    dbid       oid         NOT NULL,
    queryid    bigint      NOT NULL,
    toplevel   boolean     NOT NULL,
    window_end timestamptz NOT NULL,
    level      smallint    NOT NULL,    -- 0: clamped (below 512 ns or above ~73 min), 1-3: bucket level
    lower_ns   bigint      NOT NULL,
    upper_ns   bigint,                  -- NULL: unbounded (clamped high)
    count      bigint      NOT NULL,
    -- read by query id and time range; expired by time
    PRIMARY KEY (dbid, queryid, window_end, userid, toplevel, level, lower_ns)
);
CREATE INDEX ON augur.histogram_delta (window_end);
SELECT pg_catalog.pg_extension_config_dump('augur.histogram', '');
SELECT pg_catalog.pg_extension_config_dump('augur.histogram_delta', '');
GRANT SELECT ON augur.histogram, augur.histogram_delta TO pg_read_all_stats;

CREATE FUNCTION augur.latency_quantiles_json(queryid bigint, q float8[], since timestamptz, until timestamptz)
    RETURNS jsonb LANGUAGE c STABLE AS 'MODULE_PATHNAME', 'augur_sql_latency_quantiles';
CREATE FUNCTION augur.latency_histogram_json(queryid bigint) RETURNS jsonb
    LANGUAGE c STRICT STABLE AS 'MODULE_PATHNAME', 'augur_sql_latency_histogram';
CREATE FUNCTION augur.latency_changes_json(queryid bigint) RETURNS jsonb
    LANGUAGE c STABLE AS 'MODULE_PATHNAME', 'augur_sql_latency_changes';

-- A query's latency quantiles (all users' executions in this database, as flushed), each
-- with the interval the true value is known to lie in and the relative error bound. With
-- since and/or until, from the flush windows ending in (since, until] (kept for
-- augur.histogram_retention); otherwise from the cumulative histogram.
CREATE FUNCTION augur.latency_quantiles(queryid bigint, q float8[] DEFAULT '{0.5,0.9,0.99,0.999}',
                                        since timestamptz DEFAULT NULL, until timestamptz DEFAULT NULL)
    RETURNS TABLE (q float8, value_ms float8, lower_ms float8, upper_ms float8, error_bound float8, count bigint)
    LANGUAGE sql STABLE
    AS $$ SELECT r.q, r.nanoseconds / 1e6, r.lower_ns / 1e6, r.upper_ns / 1e6, r.error_bound, r.count
            FROM jsonb_to_recordset(augur.latency_quantiles_json(queryid, q, since, until))
                 AS r(q float8, nanoseconds float8, lower_ns float8, upper_ns float8, error_bound float8, count bigint)
           ORDER BY r.q $$;
-- The buckets of a query's histogram that hold values: level 1 octaves, level 2 and 3
-- refinements (a parent's count is what it held before it was refined).
CREATE FUNCTION augur.latency_histogram(queryid bigint)
    RETURNS TABLE (level int, lower_ms float8, upper_ms float8, count bigint, leaf boolean)
    LANGUAGE sql STABLE
    AS $$ SELECT r.level, r.lower_ns / 1e6, r.upper_ns / 1e6, r.count, r.leaf
            FROM jsonb_to_recordset(augur.latency_histogram_json(queryid))
                 AS r(level int, lower_ns float8, upper_ns float8, count bigint, leaf boolean)
           ORDER BY r.lower_ns, r.level $$;
-- Latency change points: a query's p50 or p99 moved by 2x or more and stayed, found by
-- two-sided CUSUMs over its flush windows (merged until each holds 1000 executions; the
-- first 8 make the baseline). started_at and detected_at are the ends of the flush
-- windows where the change began and where it was flagged.
CREATE FUNCTION augur.latency_changes(queryid bigint DEFAULT NULL)
    RETURNS TABLE (queryid bigint, started_at timestamptz, detected_at timestamptz,
                   before_p50_ms float8, before_p99_ms float8, after_p50_ms float8, after_p99_ms float8)
    LANGUAGE sql STABLE
    AS $$ SELECT r.queryid, r.started_at, r.detected_at, r.before_p50_ns / 1e6, r.before_p99_ns / 1e6,
                 r.after_p50_ns / 1e6, r.after_p99_ns / 1e6
            FROM jsonb_to_recordset(augur.latency_changes_json(queryid))
                 AS r(queryid bigint, started_at timestamptz, detected_at timestamptz, before_p50_ns float8,
                      before_p99_ns float8, after_p50_ns float8, after_p99_ns float8)
           ORDER BY r.detected_at, r.queryid $$;
REVOKE ALL ON FUNCTION augur.latency_quantiles_json(bigint, float8[], timestamptz, timestamptz) FROM PUBLIC;
REVOKE ALL ON FUNCTION augur.latency_histogram_json(bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION augur.latency_changes_json(bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION augur.latency_quantiles(bigint, float8[], timestamptz, timestamptz) FROM PUBLIC;
REVOKE ALL ON FUNCTION augur.latency_histogram(bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION augur.latency_changes(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION augur.latency_quantiles_json(bigint, float8[], timestamptz, timestamptz) TO pg_read_all_stats;
GRANT EXECUTE ON FUNCTION augur.latency_histogram_json(bigint) TO pg_read_all_stats;
GRANT EXECUTE ON FUNCTION augur.latency_changes_json(bigint) TO pg_read_all_stats;
GRANT EXECUTE ON FUNCTION augur.latency_quantiles(bigint, float8[], timestamptz, timestamptz) TO pg_read_all_stats;
GRANT EXECUTE ON FUNCTION augur.latency_histogram(bigint) TO pg_read_all_stats;
GRANT EXECUTE ON FUNCTION augur.latency_changes(bigint) TO pg_read_all_stats;

-- Advisories (issue 6). Each recommendation has a kind (so far 'drop_index'), the object
-- it concerns, the DDL that carries it out and the DDL that undoes it, a status
-- (proposed, simulated, approved, applied, verified, rolled_back, rejected), a one-line
-- reason, its evidence and its estimated benefit (for drop_index: bytes freed). Every
-- action a DBA or Augur takes on one goes to augur.action_log.
CREATE TABLE augur.recommendation (
    id                bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    dbid              oid         NOT NULL,
    kind              text        NOT NULL,
    target            text        NOT NULL,
    ddl               text        NOT NULL,
    rollback_ddl      text,
    status            text        NOT NULL DEFAULT 'proposed'
                      CHECK (status IN ('proposed', 'simulated', 'approved', 'applied', 'verified',
                                        'rolled_back', 'rejected')),
    reason            text        NOT NULL,
    evidence          jsonb       NOT NULL,
    estimated_benefit float8,
    measured_benefit  float8,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);
-- One open recommendation per object and kind.
CREATE UNIQUE INDEX ON augur.recommendation (dbid, kind, target)
    WHERE status IN ('proposed', 'simulated', 'approved');
CREATE TABLE augur.action_log (
    id                bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    recommendation_id bigint      REFERENCES augur.recommendation ON DELETE SET NULL,
    at                timestamptz NOT NULL DEFAULT now(),
    actor             name        NOT NULL DEFAULT session_user,
    action            text        NOT NULL,
    ddl               text,
    outcome           text        NOT NULL,
    error             text
);
SELECT pg_catalog.pg_extension_config_dump('augur.recommendation', '');
SELECT pg_catalog.pg_extension_config_dump('augur.action_log', '');
GRANT SELECT ON augur.recommendation, augur.action_log TO pg_read_all_stats;

-- This database's recommendations, best first.
CREATE VIEW augur.recommendations AS
SELECT r.id, r.kind, r.target, r.ddl, r.rollback_ddl, r.status, r.reason, r.evidence,
       r.estimated_benefit, r.measured_benefit, r.created_at, r.updated_at
  FROM augur.recommendation r
 WHERE r.dbid = (SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database());
GRANT SELECT ON augur.recommendations TO pg_read_all_stats;

CREATE FUNCTION augur.refresh_index_advice(unused_after interval) RETURNS bigint
    LANGUAGE c STRICT VOLATILE AS 'MODULE_PATHNAME', 'augur_sql_refresh_index_advice';
REVOKE ALL ON FUNCTION augur.refresh_index_advice(interval) FROM PUBLIC;

-- Index advice, refreshed: for now the indexes worth dropping (exact duplicates, B-tree
-- indexes whose columns lead another B-tree, indexes not scanned in the `unused_after`
-- the statistics cover), never a primary key, unique or constraint index. Returns the
-- open drop_index recommendations, largest first; none gives a NOTICE.
CREATE FUNCTION augur.recommend_indexes(unused_after interval DEFAULT '7 days')
    RETURNS SETOF augur.recommendations
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF augur.refresh_index_advice(unused_after) = 0 THEN
        RAISE NOTICE 'no index to drop';
    END IF;
    RETURN QUERY SELECT * FROM augur.recommendations r
                  WHERE r.kind = 'drop_index' AND r.status IN ('proposed', 'simulated', 'approved')
                  ORDER BY r.estimated_benefit DESC NULLS LAST, r.target;
END
$$;
REVOKE ALL ON FUNCTION augur.recommend_indexes(interval) FROM PUBLIC;

-- Status changes a DBA makes, logged. An unknown id is 22023; a recommendation not in a
-- state the change applies to is 55000.
CREATE FUNCTION augur.set_status(id bigint, action text, allowed text[], new_status text)
    RETURNS SETOF augur.recommendations
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    current augur.recommendation;
BEGIN
    SELECT * INTO current FROM augur.recommendation r WHERE r.id = set_status.id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'recommendation % does not exist', id
            USING ERRCODE = '22023', HINT = 'augur.recommendations lists the ids.';
    END IF;
    IF current.status <> ALL (allowed) THEN
        RAISE EXCEPTION 'recommendation % is %, so it cannot be %', id, current.status, new_status
            USING ERRCODE = '55000', HINT = format('Only a recommendation that is %s can be.', array_to_string(allowed, ' or '));
    END IF;
    UPDATE augur.recommendation r SET status = new_status, updated_at = now() WHERE r.id = set_status.id;
    INSERT INTO augur.action_log (recommendation_id, action, ddl, outcome)
    VALUES (id, action, current.ddl, new_status);
    RETURN QUERY SELECT * FROM augur.recommendations r WHERE r.id = set_status.id;
END
$$;
CREATE FUNCTION augur.approve(id bigint) RETURNS SETOF augur.recommendations
    LANGUAGE sql VOLATILE
    AS $$ SELECT * FROM augur.set_status(id, 'approve', '{proposed,simulated}', 'approved') $$;
CREATE FUNCTION augur.reject(id bigint) RETURNS SETOF augur.recommendations
    LANGUAGE sql VOLATILE
    AS $$ SELECT * FROM augur.set_status(id, 'reject', '{proposed,simulated,approved}', 'rejected') $$;
REVOKE ALL ON FUNCTION augur.set_status(bigint, text, text[], text) FROM PUBLIC;
REVOKE ALL ON FUNCTION augur.approve(bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION augur.reject(bigint) FROM PUBLIC;
