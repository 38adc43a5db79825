-- Augur 0.2.0: workload capture. Per-query execution statistics, query shapes (relations,
-- column roles, equi-join pairs), error counts, and the relation-level co-access graph.
\echo Use "ALTER EXTENSION augur UPDATE TO '0.2.0'" to load this file. \quit

-- Flushed by the worker every augur.naptime (or by augur.flush()). One row per user,
-- database, query id and nesting (toplevel); query is the normalized text, constants
-- replaced by $n. Kept across restarts and included in pg_dump.
CREATE TABLE augur.query (
    userid          oid         NOT NULL,
    dbid            oid         NOT NULL,
    queryid         bigint      NOT NULL,
    toplevel        boolean     NOT NULL,
    query           text,
    first_seen      timestamptz NOT NULL,
    last_seen       timestamptz NOT NULL,
    calls           bigint      NOT NULL,
    total_exec_time float8      NOT NULL,   -- milliseconds
    max_exec_time   float8      NOT NULL,   -- milliseconds
    rows            bigint      NOT NULL,
    -- calls decayed with augur.coaccess_half_life, as of decayed_at (co-access weights)
    decayed_calls   float8      NOT NULL,
    decayed_at      timestamptz NOT NULL,
    PRIMARY KEY (userid, dbid, queryid, toplevel)
);
SELECT pg_catalog.pg_extension_config_dump('augur.query', '');

-- The relations each query reads and writes (partitions as their root, views as views),
-- learnt once per query id. relname is resolved at the first flush for relations of
-- augur.database and kept, so rows outlive a DROP.
CREATE TABLE augur.relation_use (
    dbid    oid     NOT NULL,
    queryid bigint  NOT NULL,
    relid   oid     NOT NULL,
    relname text,
    written boolean NOT NULL,
    PRIMARY KEY (dbid, queryid, relid)
);
SELECT pg_catalog.pg_extension_config_dump('augur.relation_use', '');
GRANT SELECT ON augur.relation_use TO pg_read_all_stats;

-- The columns each query uses and how: projected, filter_equality, filter_range,
-- filter_pattern, filter_in, filter_null, filter_other, join_key, grouped, ordered,
-- written (at most 24 columns per query). Names resolved like relation_use's.
CREATE TABLE augur.column_use (
    dbid    oid      NOT NULL,
    queryid bigint   NOT NULL,
    relid   oid      NOT NULL,
    attnum  smallint NOT NULL,
    relname text,
    attname name,
    roles   text[]   NOT NULL,
    PRIMARY KEY (dbid, queryid, relid, attnum)
);
SELECT pg_catalog.pg_extension_config_dump('augur.column_use', '');
GRANT SELECT ON augur.column_use TO pg_read_all_stats;

-- Equi-join pairs (left = right, the side with the smaller relid first), per query.
-- Column names ('schema.table.column') are resolved like column_use's.
CREATE TABLE augur.join_pair (
    dbid         oid      NOT NULL,
    queryid      bigint   NOT NULL,
    left_relid   oid      NOT NULL,
    left_attnum  smallint NOT NULL,
    right_relid  oid      NOT NULL,
    right_attnum smallint NOT NULL,
    left_column  text,
    right_column text,
    PRIMARY KEY (dbid, queryid, left_relid, left_attnum, right_relid, right_attnum)
);
SELECT pg_catalog.pg_extension_config_dump('augur.join_pair', '');
GRANT SELECT ON augur.join_pair TO pg_read_all_stats;

-- Column-level lineage of INSERT ... SELECT and UPDATE ... SET: target column <- source
-- column, kind DIRECT (IDENTITY, TRANSFORMATION, AGGREGATION) or INDIRECT (FILTER, JOIN,
-- GROUP_BY, SORT), as OpenLineage's ColumnLineageDatasetFacet names them. Column names
-- ('schema.table.column') are resolved like column_use's and kept after a DROP.
CREATE TABLE augur.lineage_edge (
    dbid          oid         NOT NULL,
    queryid       bigint      NOT NULL,
    target_relid  oid         NOT NULL,
    target_attnum smallint    NOT NULL,
    source_relid  oid         NOT NULL,
    source_attnum smallint    NOT NULL,
    kind          text        NOT NULL CHECK (kind IN ('DIRECT', 'INDIRECT')),
    subtype       text        NOT NULL,
    target_column text,
    source_column text,
    first_seen    timestamptz NOT NULL,
    PRIMARY KEY (dbid, queryid, target_relid, target_attnum, source_relid, source_attnum, subtype)
);
SELECT pg_catalog.pg_extension_config_dump('augur.lineage_edge', '');
GRANT SELECT ON augur.lineage_edge TO pg_read_all_stats;

-- Lineage walked from a relation's columns (or one column), transitively, up to depth
-- hops (NULL: all): upstream to where they come from, or downstream to what they feed.
-- One row per edge, with the hop it was reached at and the queries behind it.
CREATE FUNCTION augur.lineage_walk(rel regclass, col name, depth int, upstream boolean)
    RETURNS TABLE (hop int, target_column text, source_column text, kind text, subtype text,
                   queries bigint, calls bigint)
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    col_attnum smallint;
BEGIN
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
REVOKE ALL ON FUNCTION augur.lineage_walk(regclass, name, int, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION augur.lineage_walk(regclass, name, int, boolean) TO pg_read_all_stats;

CREATE FUNCTION augur.lineage_upstream(rel regclass, col name DEFAULT NULL, depth int DEFAULT NULL)
    RETURNS TABLE (hop int, target_column text, source_column text, kind text, subtype text,
                   queries bigint, calls bigint)
    LANGUAGE sql STABLE
    AS 'SELECT * FROM augur.lineage_walk(rel, col, depth, true)';
CREATE FUNCTION augur.lineage_downstream(rel regclass, col name DEFAULT NULL, depth int DEFAULT NULL)
    RETURNS TABLE (hop int, target_column text, source_column text, kind text, subtype text,
                   queries bigint, calls bigint)
    LANGUAGE sql STABLE
    AS 'SELECT * FROM augur.lineage_walk(rel, col, depth, false)';
REVOKE ALL ON FUNCTION augur.lineage_upstream(regclass, name, int) FROM PUBLIC;
REVOKE ALL ON FUNCTION augur.lineage_downstream(regclass, name, int) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION augur.lineage_upstream(regclass, name, int) TO pg_read_all_stats;
GRANT EXECUTE ON FUNCTION augur.lineage_downstream(regclass, name, int) TO pg_read_all_stats;

-- The lineage of one relation's columns as OpenLineage's ColumnLineageDatasetFacet:
-- {"fields": {col: {"inputFields": [{namespace, name, field, transformations}]}}}, with
-- namespace postgres://host:port and names db.schema.table.
CREATE FUNCTION augur.lineage_openlineage(rel regclass)
    RETURNS jsonb
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
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
      FROM inputs
$$;
REVOKE ALL ON FUNCTION augur.lineage_openlineage(regclass) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION augur.lineage_openlineage(regclass) TO pg_read_all_stats;

-- The lineage of this database as Graphviz text: one node per column, DIRECT edges solid,
-- INDIRECT ones dashed, labelled with their subtype.
CREATE FUNCTION augur.lineage_dot()
    RETURNS text
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT 'digraph lineage {' || E'\n' || '  rankdir=LR;' || E'\n'
           || coalesce(string_agg(DISTINCT format('  %s -> %s [label=%s%s];',
                  to_jsonb(coalesce(e.source_column, e.source_relid || '.' || e.source_attnum)),
                  to_jsonb(coalesce(e.target_column, e.target_relid || '.' || e.target_attnum)),
                  to_jsonb(e.subtype),
                  CASE WHEN e.kind = 'INDIRECT' THEN ', style=dashed' ELSE '' END), E'\n'), '')
           || E'\n}' || E'\n'
      FROM augur.lineage_edge e
     WHERE e.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
$$;
REVOKE ALL ON FUNCTION augur.lineage_dot() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION augur.lineage_dot() TO pg_read_all_stats;

-- Relations used together by the same queries, ranked by time-decayed calls; each pair
-- once, its names in alphabetical order.
CREATE FUNCTION augur.coaccess(level text DEFAULT 'relation', min_weight float8 DEFAULT 0)
    RETURNS TABLE (database name, relation_a text, relation_b text, weight float8,
                   calls bigint, queries bigint, last_seen timestamptz)
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    half_life float8 := extract(epoch FROM current_setting('augur.coaccess_half_life')::interval);
BEGIN
    IF level IS DISTINCT FROM 'relation' THEN
        RAISE EXCEPTION 'co-access level "%" is not available', level
            USING ERRCODE = '22023',
                  HINT = 'This release has the relation level; the column level comes with column capture.';
    END IF;
    RETURN QUERY
    WITH per_query AS (
        SELECT q.dbid, q.queryid, sum(q.calls) AS calls, max(q.last_seen) AS last_seen,
               sum(q.decayed_calls * power(0.5, extract(epoch FROM now() - q.decayed_at) / half_life)) AS weight
          FROM augur.query q
         GROUP BY q.dbid, q.queryid
    )
    SELECT d.datname, coalesce(a.relname, a.relid::text), coalesce(b.relname, b.relid::text),
           sum(p.weight)::float8, sum(p.calls)::bigint, count(*), max(p.last_seen)
      FROM per_query p
      JOIN augur.relation_use a ON a.dbid = p.dbid AND a.queryid = p.queryid
      JOIN augur.relation_use b ON b.dbid = p.dbid AND b.queryid = p.queryid
                               AND coalesce(a.relname, a.relid::text) < coalesce(b.relname, b.relid::text)
      LEFT JOIN pg_database d ON d.oid = p.dbid
     GROUP BY d.datname, p.dbid, a.relid, a.relname, b.relid, b.relname
    HAVING sum(p.weight) >= coalesce(min_weight, 0)
     ORDER BY 4 DESC, 2, 3;
END
$$;
REVOKE ALL ON FUNCTION augur.coaccess(text, float8) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION augur.coaccess(text, float8) TO pg_read_all_stats;
GRANT SELECT ON augur.query TO pg_read_all_stats;

-- Errors by SQLSTATE, per database and query id (0 when the error came before the query
-- had one, e.g. a syntax error), flushed with the query statistics.
CREATE TABLE augur.error_count (
    dbid       oid         NOT NULL,
    sqlstate   text        NOT NULL,
    queryid    bigint      NOT NULL,
    count      bigint      NOT NULL,
    first_seen timestamptz NOT NULL,
    last_seen  timestamptz NOT NULL,
    PRIMARY KEY (dbid, sqlstate, queryid)
);
SELECT pg_catalog.pg_extension_config_dump('augur.error_count', '');

CREATE VIEW augur.errors AS
    SELECT d.datname AS database, e.sqlstate, e.queryid,
           (SELECT q.query FROM augur.query q
             WHERE q.dbid = e.dbid AND q.queryid = e.queryid AND q.query IS NOT NULL LIMIT 1) AS query,
           e.count, e.first_seen, e.last_seen
      FROM augur.error_count e
      LEFT JOIN pg_catalog.pg_database d ON d.oid = e.dbid;
REVOKE ALL ON augur.errors FROM PUBLIC;
GRANT SELECT ON augur.errors TO pg_read_all_stats;

-- What pg_stat_statements shows others, Augur shows too: every row, but the query id and
-- text only to their own user, superusers and members of pg_read_all_stats.
CREATE VIEW augur.queries AS
    SELECT CASE WHEN visible THEN q.queryid END AS queryid,
           q.userid, r.rolname AS username, q.dbid, d.datname AS database, q.toplevel,
           CASE WHEN visible THEN q.query ELSE '<insufficient privilege>' END AS query,
           q.calls, q.total_exec_time, q.total_exec_time / nullif(q.calls, 0) AS mean_exec_time,
           q.max_exec_time, q.rows, q.first_seen, q.last_seen
      FROM augur.query q
      LEFT JOIN pg_catalog.pg_roles r ON r.oid = q.userid
      LEFT JOIN pg_catalog.pg_database d ON d.oid = q.dbid
      CROSS JOIN LATERAL (
          SELECT q.userid = (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = current_user)
                 OR pg_catalog.pg_has_role(current_user, 'pg_read_all_stats', 'MEMBER') AS visible
      ) v;
GRANT SELECT ON augur.queries TO PUBLIC;

CREATE FUNCTION augur.capture_status(
    OUT entries bigint,           -- queries in shared memory now
    OUT max_queries integer,      -- augur.max_queries
    OUT evictions bigint,         -- entries evicted to make room (their unflushed counts are lost)
    OUT dropped bigint,           -- executions or errors not recorded: table busy or full
    OUT flushed_rows bigint,      -- rows written to augur.query since the server started
    OUT last_flush_at timestamptz)
    RETURNS record
    LANGUAGE c STRICT VOLATILE
    AS 'MODULE_PATHNAME', 'augur_sql_capture_status';
CREATE VIEW augur.capture_status AS SELECT * FROM augur.capture_status();
REVOKE ALL ON FUNCTION augur.capture_status() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION augur.capture_status() TO pg_read_all_stats;
REVOKE ALL ON augur.capture_status FROM PUBLIC;
GRANT SELECT ON augur.capture_status TO pg_read_all_stats;

-- Flush now rather than at the worker's next cycle. Returns the rows written.
CREATE FUNCTION augur.flush() RETURNS bigint
    LANGUAGE c STRICT VOLATILE
    AS 'MODULE_PATHNAME', 'augur_sql_flush';
REVOKE ALL ON FUNCTION augur.flush() FROM PUBLIC;
