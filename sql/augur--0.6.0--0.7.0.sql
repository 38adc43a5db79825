-- Augur 0.7.0: sharding advice. A plan for Citus learned from the sampled transactions:
-- which table to distribute by which column, which to copy to every node, which key values
-- to place together; scored on the transactions sampled after the ones it learned from.
\echo Use "ALTER EXTENSION augur UPDATE TO '0.7.0'" to load this file. \quit

CREATE FUNCTION augur.refresh_sharding_advice(nodes int, held_out float8, reference_max_rows float8,
                                              imbalance float8, min_transactions int, half_life_seconds float8,
                                              prediction_weight float8, from_plan bigint, split text)
    RETURNS bigint
    LANGUAGE c STRICT VOLATILE AS 'MODULE_PATHNAME', 'augur_sql_refresh_sharding_advice';
REVOKE ALL ON FUNCTION augur.refresh_sharding_advice(int, float8, float8, float8, int, float8, float8, bigint, text) FROM PUBLIC;

-- Every key value a sharding plan places, with its node (the evidence shows a sample).
CREATE TABLE augur.sharding_placement (
    recommendation_id bigint NOT NULL REFERENCES augur.recommendation ON DELETE CASCADE,
    value             text   NOT NULL,
    node              int    NOT NULL,
    PRIMARY KEY (recommendation_id, value)
);
SELECT pg_catalog.pg_extension_config_dump('augur.sharding_placement', '');
GRANT SELECT ON augur.sharding_placement TO pg_read_all_stats;

CREATE FUNCTION augur.sharding_evaluate_json(id bigint, measured boolean) RETURNS jsonb
    LANGUAGE c CALLED ON NULL INPUT VOLATILE AS 'MODULE_PATHNAME', 'augur_sql_sharding_evaluate';
REVOKE ALL ON FUNCTION augur.sharding_evaluate_json(bigint, boolean) FROM PUBLIC;

-- A sharding plan (a distribute recommendation) scored again on the transactions sampled
-- after the ones it was made from: does it still hold?
CREATE FUNCTION augur.sharding_evaluate(id bigint)
    RETURNS TABLE (transactions float8, distributed_share float8, access_balance float8, since timestamptz)
    LANGUAGE sql VOLATILE
AS $$
    SELECT r.transactions, r.distributed_share, r.access_balance, r.since
      FROM jsonb_to_record(augur.sharding_evaluate_json(id, false))
           AS r(transactions float8, distributed_share float8, access_balance float8, since timestamptz)
$$;
REVOKE ALL ON FUNCTION augur.sharding_evaluate(bigint) FROM PUBLIC;

-- An applied sharding plan measured on the Citus cluster: the transactions sampled since
-- it was applied, each key value on the node Citus actually has it on, beside what the
-- plan predicted for the same transactions; recorded as the plan's measured benefit.
CREATE FUNCTION augur.sharding_measure(id bigint)
    RETURNS TABLE (transactions float8, distributed_share float8, predicted_share float8, access_balance float8,
                   since timestamptz, citus_queries float8, citus_multi_shard_share float8)
    LANGUAGE sql VOLATILE
AS $$
    SELECT r.transactions, r.distributed_share, r.predicted_share, r.access_balance, r.since,
           r.citus_queries, r.citus_multi_shard_share
      FROM jsonb_to_record(augur.sharding_evaluate_json(id, true))
           AS r(transactions float8, distributed_share float8, predicted_share float8, access_balance float8, since timestamptz,
                citus_queries float8, citus_multi_shard_share float8)
$$;
REVOKE ALL ON FUNCTION augur.sharding_measure(bigint) FROM PUBLIC;

-- Refreshes and returns the sharding plan for `nodes` nodes (kind distribute, target
-- '<nodes> nodes'), learned from the oldest sampled transactions of this database and
-- scored on the latest (options->>'held_out' of them, 0.3 by default). options:
--   held_out            share of the sampled transactions, the latest, kept to score on
--   reference_max_rows  the largest table made a reference table (100000)
--   imbalance           how much busier than the mean a node may be (0.1)
--   min_transactions    the fewest sampled transactions to learn from (200)
--   half_life           age at which a sampled transaction counts half (augur.coaccess_half_life)
--   predict             weight of the predicted key co-access added to the observed (1; 0: none)
--   from                a plan (recommendation id) to move as few keys from as the nodes allow
--   split               a tenant column: every table that has it is distributed by it
CREATE FUNCTION augur.recommend_sharding(nodes int, options jsonb DEFAULT '{}')
    RETURNS SETOF augur.recommendations
    LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    known constant text[] := '{held_out,reference_max_rows,imbalance,min_transactions,half_life,predict,from,split}';
    half_life interval;
    unknown text;
    proposed bigint;
BEGIN
    IF nodes IS NULL OR options IS NULL THEN
        RAISE EXCEPTION '% must not be NULL', CASE WHEN nodes IS NULL THEN 'nodes' ELSE 'options' END
            USING ERRCODE = '22004';
    END IF;
    IF jsonb_typeof(options) <> 'object' THEN
        RAISE EXCEPTION 'options must be a JSON object' USING ERRCODE = '22023',
            HINT = 'For example ''{"held_out": 0.3}''.';
    END IF;
    SELECT k INTO unknown FROM jsonb_object_keys(options) AS k WHERE k <> ALL (known) LIMIT 1;
    IF unknown IS NOT NULL THEN
        RAISE EXCEPTION 'sharding option "%" does not exist', unknown USING ERRCODE = '22023',
            HINT = 'The options are held_out, reference_max_rows, imbalance, min_transactions, half_life, predict, from and split.';
    END IF;
    BEGIN
        half_life := coalesce(options->>'half_life', current_setting('augur.coaccess_half_life'))::interval;
    EXCEPTION WHEN invalid_datetime_format OR datetime_field_overflow OR interval_field_overflow THEN
        RAISE EXCEPTION 'sharding option half_life must be an interval: %', options->'half_life' USING ERRCODE = '22023',
            HINT = 'For example ''{"half_life": "1 hour"}''.';
    END;
    BEGIN
        proposed := augur.refresh_sharding_advice(nodes,
            coalesce((options->>'held_out')::float8, 0.3),
            coalesce((options->>'reference_max_rows')::float8, 100000),
            coalesce((options->>'imbalance')::float8, 0.1),
            coalesce((options->>'min_transactions')::int, 200),
            extract(epoch FROM half_life)::float8,
            coalesce((options->>'predict')::float8, 1),
            coalesce((options->>'from')::bigint, 0),
            coalesce(options->>'split', ''));
    EXCEPTION WHEN invalid_text_representation OR numeric_value_out_of_range THEN
        RAISE EXCEPTION 'sharding options must be numbers: %', options USING ERRCODE = '22023';
    END;
    RETURN QUERY SELECT * FROM augur.recommendations r
                  WHERE r.kind = 'distribute' AND r.target = nodes || ' nodes'
                    AND r.status IN ('proposed', 'simulated', 'approved');
END
$$;
REVOKE ALL ON FUNCTION augur.recommend_sharding(int, jsonb) FROM PUBLIC;

-- Raises a clear error unless this database has Citus and (unless `workers` is false) is
-- a coordinator with active workers that all have Citus: what applying a sharding plan
-- needs.
CREATE FUNCTION augur.require_citus(workers boolean DEFAULT true) RETURNS void
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    missing text;
BEGIN
    IF NOT EXISTS (SELECT FROM pg_extension WHERE extname = 'citus') THEN
        RAISE EXCEPTION 'Citus is not installed in database %', current_database() USING ERRCODE = '0A000',
            HINT = 'Put citus first in shared_preload_libraries, CREATE EXTENSION citus here, add the workers with citus_add_node().';
    END IF;
    IF NOT workers THEN
        RETURN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_dist_node WHERE noderole = 'primary' AND isactive AND groupid <> 0) THEN
        RAISE EXCEPTION 'this Citus coordinator has no active worker node' USING ERRCODE = '55000',
            HINT = 'Add each worker with SELECT citus_add_node(host, port).';
    END IF;
    SELECT string_agg(format('%s:%s', w.nodename, w.nodeport), ', ') INTO missing
      FROM run_command_on_workers($q$SELECT count(*) FROM pg_extension WHERE extname = 'citus'$q$) AS w
     WHERE NOT w.success OR w.result <> '1';
    IF missing IS NOT NULL THEN
        RAISE EXCEPTION 'Citus is not installed or not reachable on worker %', missing USING ERRCODE = '55000',
            HINT = 'CREATE EXTENSION citus on each worker, and check that the coordinator can connect to it.';
    END IF;
END
$$;
REVOKE ALL ON FUNCTION augur.require_citus(boolean) FROM PUBLIC;

-- Runs an approved sharding plan's Citus script (the collector calls it in a session of
-- its own, so the whole script commits or none of it does). The plan is checked against
-- the tables as they are now, and the tables it converts are locked against writes first:
-- a write waiting on that lock is planned after the conversion, on the distributed
-- table, so none lands in the local copy. The locks are taken all or none, each wait
-- shorter than deadlock_timeout: a writer holding one of the tables and waiting for
-- another makes this let go and try again, rather than deadlock with it.
CREATE FUNCTION augur.distribute(id bigint) RETURNS void
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    plan augur.recommendation;
    entry record;
    statement text;
    steps int;
    step int := 0;
    locks text[] := '{}';
    previous_timeout constant text := current_setting('lock_timeout');
    wait constant int := least(200, greatest(extract(epoch FROM current_setting('deadlock_timeout')::interval) * 500, 1))::int;
    locked boolean := false;
    target text;
    owner name;
BEGIN
    SELECT * INTO plan FROM augur.recommendation r WHERE r.id = distribute.id;
    IF NOT FOUND OR plan.kind <> 'distribute' THEN
        RAISE EXCEPTION 'recommendation % is not a sharding plan', id USING ERRCODE = '22023';
    END IF;
    IF plan.status <> 'approved' THEN
        RAISE EXCEPTION 'recommendation % is %, not approved', id, plan.status USING ERRCODE = '55000';
    END IF;
    PERFORM augur.require_citus();
    FOR entry IN SELECT t.key AS relation, t.value ->> 'choice' AS choice, t.value ->> 'column' AS col
                   FROM jsonb_each(plan.evidence -> 'tables') AS t
                  WHERE t.value ->> 'choice' IN ('distributed', 'reference') ORDER BY t.key LOOP
        IF to_regclass(entry.relation) IS NULL THEN
            RAISE EXCEPTION 'table % of sharding plan % no longer exists', entry.relation, id USING ERRCODE = '42P01',
                HINT = 'Make a new plan: augur.recommend_sharding(nodes).';
        END IF;
        IF EXISTS (SELECT FROM pg_dist_partition WHERE logicalrelid = to_regclass(entry.relation)) THEN
            RAISE EXCEPTION 'table % is already distributed', entry.relation USING ERRCODE = '55000',
                HINT = 'Make a new plan from the cluster as it is: augur.recommend_sharding(nodes).';
        END IF;
        IF entry.choice = 'distributed' AND NOT EXISTS (
               SELECT FROM pg_attribute WHERE attrelid = to_regclass(entry.relation) AND attname = entry.col AND NOT attisdropped) THEN
            RAISE EXCEPTION 'column % of table % no longer exists', entry.col, entry.relation USING ERRCODE = '42703',
                HINT = 'Make a new plan: augur.recommend_sharding(nodes).';
        END IF;
        locks := locks || format('LOCK TABLE %s IN EXCLUSIVE MODE', entry.relation);
    END LOOP;
    FOR attempt IN 1..600 LOOP
        BEGIN
            PERFORM set_config('lock_timeout', wait || 'ms', true);
            FOREACH statement IN ARRAY locks LOOP
                EXECUTE statement;
            END LOOP;
            locked := true;
        EXCEPTION WHEN lock_not_available THEN
            IF attempt % 50 = 1 THEN
                RAISE NOTICE 'augur: sharding plan %: waiting for writers to let go of its tables (attempt %)', id, attempt;
            END IF;
        END;
        EXIT WHEN locked;
        PERFORM pg_sleep(0.01);
    END LOOP;
    PERFORM set_config('lock_timeout', previous_timeout, true);
    IF NOT locked THEN
        RAISE EXCEPTION 'could not lock the tables of sharding plan % against writes', id USING ERRCODE = '55P03',
            HINT = 'Writers held them throughout; apply it when the load is lighter (augur.maintenance_window).';
    END IF;
    SELECT count(*) INTO steps FROM regexp_split_to_table(plan.ddl, E'\n') AS line WHERE line ~ '^(SELECT|ALTER|SET) ';
    FOREACH statement IN ARRAY regexp_split_to_array(plan.ddl, E'\n') LOOP
        CONTINUE WHEN statement !~ '^(SELECT|ALTER|SET) ';
        step := step + 1;
        -- Each statement runs as the owner of the table it names, never with more rights:
        -- Citus builds the table's indexes and copies its rows, which runs the owner's
        -- functions (an index expression), as PostgreSQL's own maintenance does.
        target := coalesce(substring(statement FROM '^ALTER TABLE (\S+) '),
                           replace(substring(statement FROM '^SELECT \w+\(''((?:[^'']|'''')*)'''), '''''', ''''));
        owner := (SELECT pg_get_userbyid(c.relowner) FROM pg_class c WHERE c.oid = to_regclass(target));
        IF owner IS NOT NULL THEN
            EXECUTE format('SET LOCAL ROLE %I', owner);
        END IF;
        RAISE NOTICE 'augur: sharding plan %, step % of %: %', id, step, steps, statement;
        EXECUTE statement;
        RESET ROLE;
    END LOOP;
END
$$;
REVOKE ALL ON FUNCTION augur.distribute(bigint) FROM PUBLIC;

-- Where Citus has each of `keys`, values of sharding plan `id`'s keys: the shard of the
-- plan's first distributed table (the script's first co-location group) holding it, the
-- node that shard is on, and that node's number as plans count them (`node`: 0 for the
-- first worker by node id), with the table (`anchor`) and the workers by node id. What
-- placing a plan's keys and measuring the plan both read.
CREATE FUNCTION augur.key_nodes(id bigint, keys text[])
    RETURNS TABLE (value text, shardid bigint, nodeid int, node int, anchor regclass, workers int[])
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
BEGIN
    SELECT to_regclass(t.key) INTO anchor
      FROM augur.recommendation r, jsonb_each(r.evidence -> 'tables') AS t
     WHERE r.id = key_nodes.id AND t.value ->> 'choice' = 'distributed' ORDER BY t.key LIMIT 1;
    SELECT array_agg(n.nodeid ORDER BY n.nodeid) INTO workers FROM pg_dist_node n
     WHERE n.noderole = 'primary' AND n.isactive AND n.shouldhaveshards AND n.groupid <> 0;
    IF anchor IS NULL OR workers IS NULL THEN
        RETURN;
    END IF;
    RETURN QUERY
        SELECT k.value, k.shardid, n.nodeid, array_position(workers, n.nodeid) - 1, anchor, workers
          FROM (SELECT v.value, get_shard_id_for_distribution_column(anchor, v.value) AS shardid
                  FROM unnest(keys) AS v(value)) AS k
          JOIN pg_dist_placement pl ON pl.shardid = k.shardid
          JOIN pg_dist_node n ON n.groupid = pl.groupid;
END
$$;
REVOKE ALL ON FUNCTION augur.key_nodes(bigint, text[]) FROM PUBLIC;

-- The next step that puts an applied sharding plan's placed keys on their nodes, as a
-- statement for the collector to run on its own (Citus moves shards outside transaction
-- blocks), or NULL when every placed key is where the plan puts it. Plan node i is the
-- i-th worker by node id. Keys that share a shard but not a node: one of them, not going
-- where most of them go, is isolated into a shard of its own first. A shard moves with
-- its co-located shards, without blocking writes where every table of the group has a
-- replica identity (else blocking them for the move). An error here (a table
-- undistributed since, say) is recorded in the plan's evidence as placement_failed, which
-- ends its placement.
CREATE FUNCTION augur.next_placement_step(id bigint) RETURNS text
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    plan augur.recommendation;
    anchor regclass;
    mode text;
    shard record;
BEGIN
    SELECT * INTO plan FROM augur.recommendation r WHERE r.id = next_placement_step.id;
    IF NOT FOUND OR plan.kind <> 'distribute' OR plan.status <> 'applied' OR plan.evidence ? 'placement_failed'
       OR NOT EXISTS (SELECT FROM pg_extension WHERE extname = 'citus') THEN
        RETURN NULL;
    END IF;
    BEGIN
        FOR shard IN
            WITH located AS (
                SELECT k.value, k.shardid, k.nodeid AS current, k.anchor,
                       k.workers[1 + p.node % array_length(k.workers, 1)] AS target
                  FROM augur.sharding_placement p
                  JOIN augur.key_nodes(next_placement_step.id,
                                       ARRAY(SELECT value FROM augur.sharding_placement
                                              WHERE recommendation_id = next_placement_step.id)) AS k USING (value)
                 WHERE p.recommendation_id = next_placement_step.id),
            most AS (
                SELECT l.shardid, mode() WITHIN GROUP (ORDER BY l.target) AS target FROM located l GROUP BY l.shardid)
            SELECT l.shardid, l.current, m.target, l.anchor,
                   min(l.value) FILTER (WHERE l.target <> m.target) AS stray
              FROM located l JOIN most m USING (shardid)
             GROUP BY l.shardid, l.current, m.target, l.anchor ORDER BY l.shardid
        LOOP
            anchor := shard.anchor;
            mode := CASE WHEN EXISTS (
                        SELECT FROM pg_dist_partition d JOIN pg_class c ON c.oid = d.logicalrelid
                         WHERE d.colocationid = (SELECT colocationid FROM pg_dist_partition WHERE logicalrelid = anchor)
                           AND (c.relreplident = 'n' OR (c.relreplident = 'd' AND NOT EXISTS (
                                   SELECT FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary))))
                    THEN 'block_writes' ELSE 'auto' END;
            IF shard.stray IS NOT NULL THEN
                RETURN format('SELECT isolate_tenant_to_new_shard(%L, %L, %L, %L)', anchor::text, shard.stray, 'CASCADE', mode);
            ELSIF shard.current <> shard.target THEN
                RETURN format('SELECT citus_move_shard_placement(%s, %s, %s, %L)', shard.shardid, shard.current, shard.target, mode);
            END IF;
        END LOOP;
        RETURN NULL;
    EXCEPTION WHEN OTHERS THEN
        UPDATE augur.recommendation r SET evidence = r.evidence || jsonb_build_object('placement_failed', SQLERRM), updated_at = now()
         WHERE r.id = next_placement_step.id;
        RETURN NULL;
    END;
END
$$;
REVOKE ALL ON FUNCTION augur.next_placement_step(bigint) FROM PUBLIC;

-- The rows of augur.queries or augur.errors (`view`) as one JSON array a node: here
-- ('coordinator') and on every Citus worker (host:port, read as the calling role), every
-- node flushed first when `flush`. A worker that cannot answer is named in a WARNING and
-- left out.
CREATE FUNCTION augur.cluster_rows(view text, flush boolean) RETURNS TABLE (node text, result jsonb)
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    command text;
    answer record;
BEGIN
    IF view IS NULL OR flush IS NULL THEN
        RAISE EXCEPTION '% must not be NULL', CASE WHEN view IS NULL THEN 'view' ELSE 'flush' END USING ERRCODE = '22004';
    END IF;
    IF view NOT IN ('queries', 'errors') THEN
        RAISE EXCEPTION 'view must be queries or errors, not %', view USING ERRCODE = '22023';
    END IF;
    PERFORM augur.require_citus(workers => false);
    command := format('SELECT coalesce(json_agg(v), ''[]'') FROM augur.%I v', view);
    IF flush THEN
        PERFORM augur.flush();
        PERFORM FROM run_command_on_workers('SELECT augur.flush()');
    END IF;
    node := 'coordinator';
    EXECUTE command INTO result;
    RETURN NEXT;
    FOR answer IN SELECT * FROM run_command_on_workers(command) LOOP
        IF answer.success THEN
            node := format('%s:%s', answer.nodename, answer.nodeport);
            result := answer.result::jsonb;
            RETURN NEXT;
        ELSE
            RAISE WARNING 'augur: worker %:% did not answer: %', answer.nodename, answer.nodeport, answer.result;
        END IF;
    END LOOP;
END
$$;
REVOKE ALL ON FUNCTION augur.cluster_rows(text, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION augur.require_citus(boolean), augur.cluster_rows(text, boolean) TO pg_read_all_stats;

-- Augur's captured queries on every node of a Citus cluster, read from the coordinator.
-- On the workers the queries are the shards' fragments Citus sends them.
CREATE FUNCTION augur.cluster_queries(flush boolean DEFAULT false)
    RETURNS TABLE (node text, database name, username name, queryid bigint, toplevel boolean, query text, calls bigint,
                   total_exec_time float8, mean_exec_time float8, max_exec_time float8, rows bigint, last_seen timestamptz)
    LANGUAGE sql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT c.node, r.*
      FROM augur.cluster_rows('queries', flush) AS c,
           jsonb_to_recordset(c.result) AS r(database name, username name, queryid bigint, toplevel boolean, query text,
               calls bigint, total_exec_time float8, mean_exec_time float8, max_exec_time float8, rows bigint,
               last_seen timestamptz)
     ORDER BY r.total_exec_time DESC, c.node
$$;
REVOKE ALL ON FUNCTION augur.cluster_queries(boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION augur.cluster_queries(boolean) TO pg_read_all_stats;

-- Errors by SQLSTATE on every node of a Citus cluster, read from the coordinator.
CREATE FUNCTION augur.cluster_errors(flush boolean DEFAULT false)
    RETURNS TABLE (node text, database name, sqlstate text, queryid bigint, query text, count bigint,
                   first_seen timestamptz, last_seen timestamptz)
    LANGUAGE sql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT c.node, r.*
      FROM augur.cluster_rows('errors', flush) AS c,
           jsonb_to_recordset(c.result) AS r(database name, sqlstate text, queryid bigint, query text, count bigint,
               first_seen timestamptz, last_seen timestamptz)
     ORDER BY r.count DESC, c.node
$$;
REVOKE ALL ON FUNCTION augur.cluster_errors(boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION augur.cluster_errors(boolean) TO pg_read_all_stats;

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
    IF current.kind = 'distribute' THEN
        PERFORM augur.require_citus();
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

-- A flush's statements are short: compiling one with LLVM cost more than running it.
ALTER FUNCTION augur.flush() SET jit = off;

-- Dictionaries: for a categorical column, each value's code and statistics, versioned,
-- kept current from the changes written to the column (see docs/dictionaries.md).
CREATE SCHEMA augur_dict;
GRANT USAGE ON SCHEMA augur_dict TO PUBLIC;

CREATE TABLE augur.dictionary (
    id            int         GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name          text        NOT NULL UNIQUE,
    relid         oid         NOT NULL,
    attnum        int2        NOT NULL,
    target_attnum int2,
    -- the column's and the target's types when made: the triggers run with their maker's
    -- rights, the type's text form and casts must stay the built-in ones checked then
    typid         oid         NOT NULL,
    target_typid  oid,
    target_kind   text        CHECK (target_kind IN ('numeric', 'binary')),
    -- schema.table.column (and target) when made, for messages once the table is gone
    source        text        NOT NULL,
    target        text,
    options       jsonb       NOT NULL,
    version       int         NOT NULL DEFAULT 0,
    next_code     int         NOT NULL DEFAULT 1,
    -- why change capture stopped (a write it could not read): the next refresh counts again
    problem       text,
    -- rolled back: the worker leaves it be until augur.dictionary_refresh, which counts again
    paused        boolean     NOT NULL DEFAULT false,
    -- a Citus distributed or reference table: its rows are on the workers, where no trigger
    -- of the coordinator sees them change, so every version counts it again (Citus counts
    -- each worker's shards there and adds the counts and sums up, exactly)
    recounts      boolean     NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL DEFAULT now(),
    refreshed_at  timestamptz
);
SELECT pg_catalog.pg_extension_config_dump('augur.dictionary', '');
GRANT SELECT ON augur.dictionary TO PUBLIC;

-- One row per version: what the refresh read and the totals the encodings use.
CREATE TABLE augur.dictionary_version (
    dictionary     int         NOT NULL REFERENCES augur.dictionary ON DELETE CASCADE,
    version        int         NOT NULL,
    kind           text        NOT NULL CHECK (kind IN ('build', 'refresh', 'rebuild', 'rollback')),
    made_at        timestamptz NOT NULL DEFAULT now(),
    restores       int,
    rows_read      bigint      NOT NULL,
    values_added   int         NOT NULL,
    values_changed int         NOT NULL,
    total_count    bigint      NOT NULL,
    target_count   bigint,
    target_sum     float8,
    target_sumsq   float8,
    epsilon        float8,               -- the privacy budget this version spent
    PRIMARY KEY (dictionary, version)
);
SELECT pg_catalog.pg_extension_config_dump('augur.dictionary_version', '');
GRANT SELECT ON augur.dictionary_version TO PUBLIC;

-- The current entries of every dictionary. A value keeps its code for good; a value whose
-- rows are all gone stays with count 0. NULL is a value like any other.
-- (No foreign key to augur.dictionary: checking one per entry doubled a build's time;
-- augur.dictionary_drop deletes a dictionary's entries and history.)
CREATE TABLE augur.dictionary_entry (
    dictionary   int         NOT NULL,
    code         int         NOT NULL,
    value        text,
    count        bigint      NOT NULL,
    target_count bigint,
    target_sum   float8,
    target_sumsq float8,
    added_in     int         NOT NULL,  -- the version that gave it its code
    first_seen   timestamptz NOT NULL,
    last_seen    timestamptz NOT NULL,
    -- with the option epsilon: the Laplace noise its statistics are published with, drawn
    -- anew whenever they change (augur.dictionary_published adds it)
    noise_count        float8,
    noise_target_count float8,
    noise_target_sum   float8,
    noise_target_sumsq float8,
    PRIMARY KEY (dictionary, code)
);
-- Values by their hash: values of any length (a B-tree entry is limited to a third of a
-- page), and a lookup that needs no statistics to find the one entry.
CREATE INDEX dictionary_entry_value ON augur.dictionary_entry (dictionary, pg_catalog.hashtextextended(value, 0));
CREATE UNIQUE INDEX dictionary_entry_null ON augur.dictionary_entry (dictionary) WHERE value IS NULL;
SELECT pg_catalog.pg_extension_config_dump('augur.dictionary_entry', '');
-- Readable by whoever may read the column the dictionary describes.
ALTER TABLE augur.dictionary_entry ENABLE ROW LEVEL SECURITY;
CREATE POLICY readable_source ON augur.dictionary_entry FOR SELECT USING (
    EXISTS (SELECT 1 FROM augur.dictionary d
             WHERE d.id = dictionary AND pg_catalog.has_column_privilege(d.relid, d.attnum, 'SELECT')));
GRANT SELECT ON augur.dictionary_entry TO PUBLIC;

-- What a version changed, as it was before: when version v + 1 changes an entry (or a
-- rollback takes it out, present = false), its state at version v. An entry at version k
-- is so the first such image at or after k, or else the entry as it is now; an entry
-- added after k was not there. A first version writes nothing here.
CREATE TABLE augur.dictionary_entry_history (
    LIKE augur.dictionary_entry,
    version      int         NOT NULL,
    present      boolean     NOT NULL,
    PRIMARY KEY (dictionary, code, version)
);
SELECT pg_catalog.pg_extension_config_dump('augur.dictionary_entry_history', '');

-- The entries' statistics as readers see them: with differential privacy, their noise
-- added (counts rounded, never below 0); else as counted.
CREATE VIEW augur.dictionary_published WITH (security_invoker = true) AS
SELECT e.dictionary, e.code, e.value, e.first_seen, e.last_seen,
       CASE WHEN e.noise_count IS NULL THEN e.count
            ELSE greatest(round(e.count + e.noise_count), 0)::bigint END AS count,
       CASE WHEN e.noise_target_count IS NULL THEN e.target_count
            ELSE greatest(round(e.target_count + e.noise_target_count), 0)::bigint END AS target_count,
       e.target_sum + coalesce(e.noise_target_sum, 0) AS target_sum,
       -- (a boolean target's sum of squares is its sum: published as its noisy sum)
       CASE WHEN e.noise_target_sum IS NULL THEN e.target_sumsq
            WHEN e.noise_target_sumsq IS NULL THEN greatest(e.target_sum + e.noise_target_sum, 0)
            ELSE greatest(e.target_sumsq + e.noise_target_sumsq, 0) END AS target_sumsq
  FROM augur.dictionary_entry e;
GRANT SELECT ON augur.dictionary_published TO PUBLIC;

-- What writers changed since the last refresh, per statement and value: written by each
-- dictionary's triggers, consumed (deleted) by the refresh that counts it. truncated: the
-- table was emptied; the next refresh counts it again from scratch.
CREATE TABLE augur.dictionary_delta (
    dictionary   int         NOT NULL,
    value        text,
    rows         bigint      NOT NULL DEFAULT 0,
    target_count bigint,
    target_sum   float8,
    target_sumsq float8,
    truncated    boolean     NOT NULL DEFAULT false,
    written_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX dictionary_delta_dictionary ON augur.dictionary_delta (dictionary);
SELECT pg_catalog.pg_extension_config_dump('augur.dictionary_delta', '');

-- Makes a dictionary's next version, in one statement (all of it or nothing): from what
-- its writers changed since the last one, or, for the first version, after a TRUNCATE, a
-- capture problem or a rollback, from its table counted again (the changes written
-- meanwhile consumed in the same snapshot, so none is counted twice or missed). Returns
-- the new version, or NULL when no value changed.
CREATE FUNCTION augur.dictionary_next_version(dictionary_id int, count_again boolean)
    RETURNS int
    LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    d augur.dictionary;
    column_name name;
    value_text text;
    target_value text;
    rows_read bigint;
    added int;
    changed int;
    new_version int;
    kind text;
    -- Differential privacy: ε per version, split evenly over the statistics published
    -- (count; with a target its count, sum and, for a number, sum of squares); each is
    -- moved by one row by at most 1, the target's bound, its square.
    epsilon float8;
    released int;
    bound float8;
    spent float8;
BEGIN
    SELECT * INTO d FROM augur.dictionary WHERE id = dictionary_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'dictionary % does not exist', dictionary_id USING ERRCODE = '42704';
    END IF;
    epsilon := (d.options ->> 'epsilon')::float8;
    released := CASE d.target_kind WHEN 'numeric' THEN 4 WHEN 'binary' THEN 3 ELSE 1 END;
    bound := CASE d.target_kind WHEN 'binary' THEN 1 ELSE (d.options ->> 'target_bound')::float8 END;
    IF epsilon IS NOT NULL AND d.options ? 'epsilon_budget' THEN
        SELECT coalesce(sum(v.epsilon), 0) INTO spent FROM augur.dictionary_version v WHERE v.dictionary = d.id;
        IF spent + epsilon > (d.options ->> 'epsilon_budget')::float8 * (1 + 1e-12) THEN
            RAISE EXCEPTION 'dictionary "%" has spent % of its privacy budget of %; another version would spend %',
                d.name, spent, d.options ->> 'epsilon_budget', epsilon
                USING ERRCODE = '54000',
                      HINT = 'Its versions stay readable. A new budget needs a new dictionary (augur.dictionary_drop, then augur.dictionary_create).';
        END IF;
    END IF;
    SELECT a.attname INTO column_name
      FROM pg_attribute a WHERE a.attrelid = d.relid AND a.attnum = d.attnum AND NOT a.attisdropped;
    IF column_name IS NULL THEN
        RAISE EXCEPTION 'the column of dictionary "%" (%) no longer exists', d.name, d.source
            USING ERRCODE = '42703', HINT = format('Drop it with augur.dictionary_drop(%L).', d.name);
    END IF;
    IF d.target_attnum IS NOT NULL THEN
        -- (a number clipped to the option target_bound, when there is one)
        SELECT CASE WHEN d.target_kind = 'binary' THEN format('%I::int::float8', a.attname)
                    WHEN d.options ? 'target_bound'
                    THEN format('least(greatest(%I::float8, -%s::float8), %2$s::float8)', a.attname,
                                (d.options ->> 'target_bound')::float8)
                    ELSE format('%I::float8', a.attname) END
          INTO target_value
          FROM pg_attribute a WHERE a.attrelid = d.relid AND a.attnum = d.target_attnum AND NOT a.attisdropped;
        IF target_value IS NULL THEN
            RAISE EXCEPTION 'the target of dictionary "%" (%) no longer exists', d.name, d.target
                USING ERRCODE = '42703', HINT = format('Drop it with augur.dictionary_drop(%L).', d.name);
        END IF;
    END IF;
    IF EXISTS (SELECT 1 FROM pg_attribute a
                WHERE a.attrelid = d.relid AND ((a.attnum = d.attnum AND a.atttypid <> d.typid)
                                                OR (a.attnum = d.target_attnum AND a.atttypid <> d.target_typid))) THEN
        RAISE EXCEPTION 'the type of a column of dictionary "%" (%) changed since it was made', d.name, d.source
            USING ERRCODE = '42804',
                  HINT = format('Drop it with augur.dictionary_drop(%L) and make it again.', d.name);
    END IF;
    -- Counting runs with this function's caller's rights: no foreign table may be read
    -- with them (a child or partition of the table, the server its owner chose).
    IF EXISTS (WITH RECURSIVE tree AS (
                   SELECT i.inhrelid FROM pg_inherits i WHERE i.inhparent = d.relid
                   UNION SELECT i.inhrelid FROM pg_inherits i JOIN tree t ON i.inhparent = t.inhrelid)
               SELECT 1 FROM tree JOIN pg_class c ON c.oid = tree.inhrelid WHERE c.relkind = 'f') THEN
        RAISE EXCEPTION 'dictionary "%" (%) would read a foreign table among its table''s children or partitions',
            d.name, d.source USING ERRCODE = '0A000',
            HINT = 'A dictionary counts its table with its maker''s rights; a foreign table would be read with them.';
    END IF;
    -- The column's text form by its type's output function, never a cast (a role can
    -- make a cast from a type it owns, an enum).
    value_text := format('CASE WHEN %1$I IS NULL THEN NULL ELSE pg_catalog.format(''%%s'', %1$I) END', column_name);
    new_version := d.version + 1;

    IF d.version = 0 THEN
        -- The first version: every value, coded the most frequent first, straight into the
        -- entries (the notes written meanwhile consumed in the same snapshot).
        EXECUTE format($sql$
            WITH consumed AS (DELETE FROM augur.dictionary_delta WHERE dictionary = $1)
            INSERT INTO augur.dictionary_entry (dictionary, code, value, count, target_count, target_sum,
                                                target_sumsq, added_in, first_seen, last_seen, noise_count,
                                                noise_target_count, noise_target_sum, noise_target_sumsq)
            SELECT $1, row_number() OVER (ORDER BY CASE WHEN $3 IS NULL THEN count(*) END DESC NULLS LAST,
                                                   %4$s NULLS FIRST),
                   %4$s, count(*),
                   CASE WHEN $2 THEN count(%2$s) END, CASE WHEN $2 THEN coalesce(sum(%2$s), 0) END,
                   CASE WHEN $2 THEN coalesce(sum((%2$s) * (%2$s)), 0) END, 1, now(), now(),
                   augur.laplace($3 / $4), CASE WHEN $2 THEN augur.laplace($3 / $4) END,
                   CASE WHEN $2 THEN augur.laplace($3 * $5 / $4) END,
                   CASE WHEN $2 AND $6 THEN augur.laplace($3 * $5 * $5 / $4) END
              FROM %3$s GROUP BY %4$s
            $sql$, column_name, coalesce(target_value, 'NULL::float8'), d.relid::regclass, value_text)
            USING d.id, d.target_attnum IS NOT NULL, released::float8, epsilon, bound, d.target_kind = 'numeric';
        GET DIAGNOSTICS added = ROW_COUNT;
        PERFORM augur.dictionary_record_version(d.id, 1, 'build', NULL, NULL, added, 0);
        UPDATE augur.dictionary SET version = 1, next_code = added + 1, refreshed_at = now(), problem = NULL
         WHERE id = d.id;
        RETURN 1;
    END IF;

    IF to_regclass('pg_temp.augur_dictionary_next') IS NOT NULL THEN
        DROP TABLE pg_temp.augur_dictionary_next;
    END IF;
    CREATE TEMP TABLE augur_dictionary_next (
        code int, value text, count bigint, target_count bigint, target_sum float8, target_sumsq float8,
        old_count bigint, old_target_count bigint, old_target_sum float8, old_target_sumsq float8,
        first_seen timestamptz, added_in int
    ) ON COMMIT DROP;
    count_again := count_again OR d.recounts OR d.problem IS NOT NULL
        OR EXISTS (SELECT 1 FROM augur.dictionary_delta WHERE dictionary = d.id AND truncated);
    IF count_again THEN
        -- Every value's statistics, and the entries whose statistics they change.
        EXECUTE format($sql$
            WITH consumed AS (DELETE FROM augur.dictionary_delta WHERE dictionary = $1),
            counted AS (
                SELECT %4$s AS value, count(*) AS count, count(%2$s) AS target_count,
                       sum(%2$s) AS target_sum, sum((%2$s) * (%2$s)) AS target_sumsq
                  FROM %3$s GROUP BY 1)
            INSERT INTO pg_temp.augur_dictionary_next
            SELECT * FROM (
                SELECT e.code, coalesce(c.value, e.value) AS value, coalesce(c.count, 0) AS count,
                       CASE WHEN $2 THEN coalesce(c.target_count, 0) END AS target_count,
                       CASE WHEN $2 THEN coalesce(c.target_sum, 0) END AS target_sum,
                       CASE WHEN $2 THEN coalesce(c.target_sumsq, 0) END AS target_sumsq,
                       e.count AS old_count, e.target_count AS old_target_count,
                       e.target_sum AS old_target_sum, e.target_sumsq AS old_target_sumsq
                  FROM counted c
                  FULL JOIN (SELECT * FROM augur.dictionary_entry WHERE dictionary = $1) e
                    ON (e.value IS NULL) = (c.value IS NULL) AND coalesce(e.value, '') = coalesce(c.value, '')) n
             WHERE (n.count, n.target_count, n.target_sum, n.target_sumsq)
                   IS DISTINCT FROM (n.old_count, n.old_target_count, n.old_target_sum, n.old_target_sumsq)
            $sql$, column_name, coalesce(target_value, 'NULL::float8'), d.relid::regclass, value_text)
            USING d.id, d.target_attnum IS NOT NULL;
    ELSE
        -- The writers' changes, per value, added to the entries they change.
        WITH consumed AS (DELETE FROM augur.dictionary_delta WHERE dictionary = d.id RETURNING *),
        changes AS (
            SELECT value, sum(rows) AS rows, sum(target_count) AS target_count,
                   sum(target_sum) AS target_sum, sum(target_sumsq) AS target_sumsq
              FROM consumed GROUP BY value),
        next AS (
            INSERT INTO pg_temp.augur_dictionary_next
            SELECT e.code, c.value, coalesce(e.count, 0) + c.rows,
                   coalesce(e.target_count, 0) + c.target_count,
                   coalesce(e.target_sum, 0) + c.target_sum,
                   coalesce(e.target_sumsq, 0) + c.target_sumsq
              FROM changes c
              LEFT JOIN (SELECT * FROM augur.dictionary_entry WHERE dictionary = d.id) e
                ON (e.value IS NULL) = (c.value IS NULL) AND coalesce(e.value, '') = coalesce(c.value, '')
             WHERE c.rows <> 0 OR c.target_count <> 0 OR c.target_sum <> 0 OR c.target_sumsq <> 0
            RETURNING 1)
        SELECT coalesce(sum(abs(rows)), 0) INTO rows_read FROM consumed;
    END IF;

    -- A value that had a code before (a rollback took it out) gets it back.
    IF EXISTS (SELECT 1 FROM pg_temp.augur_dictionary_next WHERE code IS NULL) THEN
        UPDATE pg_temp.augur_dictionary_next n SET code = h.code, first_seen = h.first_seen, added_in = h.added_in
          FROM (SELECT DISTINCT ON (past.code) past.code, past.value, past.first_seen, past.added_in
                  FROM augur.dictionary_entry_history past WHERE past.dictionary = d.id) h
         WHERE n.code IS NULL
           AND (h.value IS NULL) = (n.value IS NULL) AND coalesce(h.value, '') = coalesce(n.value, '');
    END IF;
    SELECT count(*) FILTER (WHERE code IS NULL), count(*) FILTER (WHERE code IS NOT NULL)
      INTO added, changed FROM pg_temp.augur_dictionary_next;
    IF added + changed = 0 THEN
        UPDATE augur.dictionary SET refreshed_at = now(), problem = NULL WHERE id = d.id;
        RETURN NULL;
    END IF;
    kind := CASE WHEN count_again THEN 'rebuild' ELSE 'refresh' END;

    -- What the changed codes were at the current version (absent: given back a code)…
    INSERT INTO augur.dictionary_entry_history (dictionary, version, code, present, value, count, target_count,
                                                target_sum, target_sumsq, added_in, first_seen, last_seen,
                                                noise_count, noise_target_count, noise_target_sum, noise_target_sumsq)
    SELECT d.id, d.version, n.code, e.code IS NOT NULL, coalesce(e.value, n.value), coalesce(e.count, 0),
           e.target_count, e.target_sum, e.target_sumsq, coalesce(e.added_in, n.added_in),
           coalesce(e.first_seen, n.first_seen), coalesce(e.last_seen, n.first_seen),
           e.noise_count, e.noise_target_count, e.noise_target_sum, e.noise_target_sumsq
      FROM pg_temp.augur_dictionary_next n
      LEFT JOIN augur.dictionary_entry e ON e.dictionary = d.id AND e.code = n.code
     WHERE n.code IS NOT NULL;
    -- …then what they are now; new values get the next codes, the most frequent first
    -- (with differential privacy in the order of their values: ranks would tell counts).
    UPDATE pg_temp.augur_dictionary_next n SET code = f.code
      FROM (SELECT ctid, d.next_code - 1 + row_number() OVER (ORDER BY CASE WHEN epsilon IS NULL THEN count END
                                                                             DESC NULLS LAST, value NULLS FIRST) AS code
              FROM pg_temp.augur_dictionary_next WHERE code IS NULL) f
     WHERE n.ctid = f.ctid;
    INSERT INTO augur.dictionary_entry (dictionary, code, value, count, target_count, target_sum, target_sumsq,
                                        added_in, first_seen, last_seen, noise_count, noise_target_count,
                                        noise_target_sum, noise_target_sumsq)
    SELECT d.id, n.code, n.value, n.count, n.target_count, n.target_sum, n.target_sumsq,
           coalesce(n.added_in, new_version), coalesce(n.first_seen, now()), now(),
           augur.laplace(released / epsilon),
           CASE WHEN d.target_kind IS NOT NULL THEN augur.laplace(released / epsilon) END,
           CASE WHEN d.target_kind IS NOT NULL THEN augur.laplace(released * bound / epsilon) END,
           CASE WHEN d.target_kind = 'numeric' THEN augur.laplace(released * bound * bound / epsilon) END
      FROM pg_temp.augur_dictionary_next n
    ON CONFLICT (dictionary, code) DO UPDATE SET
        count = excluded.count, target_count = excluded.target_count, target_sum = excluded.target_sum,
        target_sumsq = excluded.target_sumsq, last_seen = excluded.last_seen, noise_count = excluded.noise_count,
        noise_target_count = excluded.noise_target_count, noise_target_sum = excluded.noise_target_sum,
        noise_target_sumsq = excluded.noise_target_sumsq;
    PERFORM augur.dictionary_record_version(d.id, new_version, kind, NULL, rows_read, added, changed);
    UPDATE augur.dictionary
       SET version = new_version, next_code = next_code + added, refreshed_at = now(), problem = NULL, paused = false
     WHERE id = d.id;
    RETURN new_version;
END
$$;
REVOKE ALL ON FUNCTION augur.dictionary_next_version(int, boolean) FROM PUBLIC;

-- A version's row, with the totals of the entries as they now are.
CREATE FUNCTION augur.dictionary_record_version(dictionary_id int, version int, kind text, restores int,
                                                rows_read bigint, values_added int, values_changed int)
    RETURNS void
    LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$
    INSERT INTO augur.dictionary_version (dictionary, version, kind, restores, rows_read, values_added,
                                          values_changed, total_count, target_count, target_sum, target_sumsq,
                                          epsilon)
    SELECT dictionary_id, version, kind, restores, coalesce(rows_read, sum(e.count), 0), values_added, values_changed,
           coalesce(sum(e.count), 0), sum(e.target_count), sum(e.target_sum), sum(e.target_sumsq),
           CASE WHEN kind <> 'rollback' THEN (SELECT (d.options ->> 'epsilon')::float8 FROM augur.dictionary d
                                                WHERE d.id = dictionary_id) END
      FROM augur.dictionary_published e WHERE e.dictionary = dictionary_id
$$;
REVOKE ALL ON FUNCTION augur.dictionary_record_version(int, int, text, int, bigint, int, int) FROM PUBLIC;

-- Makes a new version equal to an earlier one (its codes and statistics, with differential
-- privacy the same noise: republished, they tell nothing new and spend nothing), and pauses
-- the worker's refreshes of it until augur.dictionary_refresh, which counts the table again.
CREATE FUNCTION augur.dictionary_rollback(name text, version int)
    RETURNS int
    LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    d augur.dictionary;
    restored int := version;
    new_version int;
    changed int;
BEGIN
    IF name IS NULL OR version IS NULL THEN
        RAISE EXCEPTION '% must not be NULL', CASE WHEN name IS NULL THEN 'name' ELSE 'version' END
            USING ERRCODE = '22004';
    END IF;
    SELECT * INTO d FROM augur.dictionary WHERE dictionary.name = dictionary_rollback.name FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'dictionary "%" does not exist', name USING ERRCODE = '42704',
            HINT = 'augur.dictionaries lists them.';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM augur.dictionary_version v WHERE v.dictionary = d.id AND v.version = restored) THEN
        RAISE EXCEPTION 'dictionary "%" has no version %', name, restored USING ERRCODE = '22023',
            HINT = format('augur.dictionary_versions(%L) lists its versions (1 to %s).', name, d.version);
    END IF;
    IF restored = d.version THEN
        RAISE EXCEPTION 'version % of dictionary "%" is the current one', restored, name USING ERRCODE = '22023';
    END IF;
    new_version := d.version + 1;
    -- Each code as it was at that version (not there yet when added after it; else its
    -- first image written after it; else as it is now), where that differs from now.
    CREATE TEMP TABLE augur_dictionary_restore ON COMMIT DROP AS
    SELECT * FROM (
        SELECT c.code, c.added_in,
               CASE WHEN c.added_in > restored THEN false WHEN i.code IS NOT NULL THEN i.present
                    ELSE e.code IS NOT NULL END AS present,
               coalesce(i.value, e.value) AS value,
               CASE WHEN i.code IS NOT NULL THEN i.count ELSE e.count END AS count,
               CASE WHEN i.code IS NOT NULL THEN i.target_count ELSE e.target_count END AS target_count,
               CASE WHEN i.code IS NOT NULL THEN i.target_sum ELSE e.target_sum END AS target_sum,
               CASE WHEN i.code IS NOT NULL THEN i.target_sumsq ELSE e.target_sumsq END AS target_sumsq,
               coalesce(i.first_seen, e.first_seen) AS first_seen, coalesce(i.last_seen, e.last_seen) AS last_seen,
               CASE WHEN i.code IS NOT NULL THEN i.noise_count ELSE e.noise_count END AS noise_count,
               CASE WHEN i.code IS NOT NULL THEN i.noise_target_count ELSE e.noise_target_count END AS noise_target_count,
               CASE WHEN i.code IS NOT NULL THEN i.noise_target_sum ELSE e.noise_target_sum END AS noise_target_sum,
               CASE WHEN i.code IS NOT NULL THEN i.noise_target_sumsq ELSE e.noise_target_sumsq END AS noise_target_sumsq,
               e.code IS NOT NULL AS present_now, e.count AS count_now, e.target_count AS target_count_now,
               e.target_sum AS target_sum_now, e.target_sumsq AS target_sumsq_now, e.last_seen AS last_seen_now,
               e.noise_count AS noise_count_now, e.noise_target_count AS noise_target_count_now,
               e.noise_target_sum AS noise_target_sum_now, e.noise_target_sumsq AS noise_target_sumsq_now
          FROM (SELECT code, added_in FROM augur.dictionary_entry WHERE dictionary = d.id
                UNION SELECT code, added_in FROM augur.dictionary_entry_history WHERE dictionary = d.id) c
          LEFT JOIN (SELECT DISTINCT ON (past.code) * FROM augur.dictionary_entry_history past
                      WHERE past.dictionary = d.id AND past.version >= restored
                      ORDER BY past.code, past.version) i ON i.code = c.code
          LEFT JOIN augur.dictionary_entry e ON e.dictionary = d.id AND e.code = c.code) r
     WHERE r.present <> r.present_now
        OR (r.present AND (r.count, r.target_count, r.target_sum, r.target_sumsq, r.noise_count, r.noise_target_count,
                           r.noise_target_sum, r.noise_target_sumsq)
                          IS DISTINCT FROM (r.count_now, r.target_count_now, r.target_sum_now, r.target_sumsq_now,
                                            r.noise_count_now, r.noise_target_count_now, r.noise_target_sum_now,
                                            r.noise_target_sumsq_now));
    -- What those codes are now, kept as the current version's images…
    INSERT INTO augur.dictionary_entry_history (dictionary, version, code, present, value, count, target_count,
                                                target_sum, target_sumsq, added_in, first_seen, last_seen,
                                                noise_count, noise_target_count, noise_target_sum, noise_target_sumsq)
    SELECT d.id, d.version, r.code, r.present_now, r.value, coalesce(r.count_now, 0), r.target_count_now,
           r.target_sum_now, r.target_sumsq_now, r.added_in, r.first_seen, coalesce(r.last_seen_now, r.last_seen),
           r.noise_count_now, r.noise_target_count_now, r.noise_target_sum_now, r.noise_target_sumsq_now
      FROM pg_temp.augur_dictionary_restore r;
    -- …then what they were.
    DELETE FROM augur.dictionary_entry e USING pg_temp.augur_dictionary_restore r
     WHERE e.dictionary = d.id AND e.code = r.code AND NOT r.present;
    INSERT INTO augur.dictionary_entry (dictionary, code, value, count, target_count, target_sum, target_sumsq,
                                        added_in, first_seen, last_seen, noise_count, noise_target_count,
                                        noise_target_sum, noise_target_sumsq)
    SELECT d.id, r.code, r.value, r.count, r.target_count, r.target_sum, r.target_sumsq, r.added_in,
           r.first_seen, r.last_seen, r.noise_count, r.noise_target_count, r.noise_target_sum, r.noise_target_sumsq
      FROM pg_temp.augur_dictionary_restore r WHERE r.present
    ON CONFLICT (dictionary, code) DO UPDATE SET
        count = excluded.count, target_count = excluded.target_count, target_sum = excluded.target_sum,
        target_sumsq = excluded.target_sumsq, last_seen = excluded.last_seen, noise_count = excluded.noise_count,
        noise_target_count = excluded.noise_target_count, noise_target_sum = excluded.noise_target_sum,
        noise_target_sumsq = excluded.noise_target_sumsq;
    SELECT count(*) INTO changed FROM pg_temp.augur_dictionary_restore;
    PERFORM augur.dictionary_record_version(d.id, new_version, 'rollback', restored, 0, 0, changed);
    UPDATE augur.dictionary SET version = new_version, paused = true WHERE id = d.id;
    DROP TABLE pg_temp.augur_dictionary_restore;
    RETURN new_version;
END
$$;
REVOKE ALL ON FUNCTION augur.dictionary_rollback(text, int) FROM PUBLIC;

CREATE FUNCTION augur.dictionary_versions(name text)
    RETURNS TABLE (version int, kind text, made_at timestamptz, restores int, rows_read bigint,
                   values_added int, values_changed int, total_count bigint, current boolean,
                   epsilon float8, epsilon_spent float8)
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$
    SELECT v.version, v.kind, v.made_at, v.restores, v.rows_read, v.values_added, v.values_changed,
           v.total_count, v.version = d.version, v.epsilon,
           CASE WHEN d.options ? 'epsilon' THEN coalesce(sum(v.epsilon) OVER (ORDER BY v.version), 0) END
      FROM augur.dictionary d JOIN augur.dictionary_version v ON v.dictionary = d.id
     WHERE d.name = dictionary_versions.name
     ORDER BY v.version
$$;

-- A value's code (NULL has one too; a value the dictionary does not have, or a role that
-- may not read its column: NULL), and a code's value. In C: read from the indexes as a
-- primary-key lookup is, once per value a client encodes. Unknown dictionary: 42704.
-- Laplace noise of scale `scale` (the difference of two exponential draws), from the
-- server's strong random source.
CREATE FUNCTION augur.laplace(scale float8) RETURNS float8
    LANGUAGE c STRICT VOLATILE PARALLEL RESTRICTED AS 'MODULE_PATHNAME', 'augur_sql_laplace';
REVOKE ALL ON FUNCTION augur.laplace(float8) FROM PUBLIC;

CREATE FUNCTION augur.encode(name text, value text) RETURNS int
    LANGUAGE c CALLED ON NULL INPUT STABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'augur_sql_encode';
CREATE FUNCTION augur.decode(name text, code int) RETURNS text
    LANGUAGE c CALLED ON NULL INPUT STABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'augur_sql_decode';

CREATE VIEW augur.dictionaries AS
SELECT d.name, d.source, d.target, d.version, d.refreshed_at,
       (SELECT count(*) FROM augur.dictionary_entry e WHERE e.dictionary = d.id) AS "values",
       v.total_count AS rows,
       (SELECT coalesce(sum(pg_catalog.pg_column_size(e.*)), 0) FROM augur.dictionary_entry e
         WHERE e.dictionary = d.id) AS bytes,
       (SELECT count(*) FROM augur.dictionary_delta c WHERE c.dictionary = d.id) AS pending_changes,
       d.paused, d.problem, d.options
  FROM augur.dictionary d
  LEFT JOIN augur.dictionary_version v ON v.dictionary = d.id AND v.version = d.version;
GRANT SELECT ON augur.dictionaries TO PUBLIC;

CREATE FUNCTION augur.dictionary_create(rel regclass, col name, target name DEFAULT NULL,
                                        options jsonb DEFAULT '{}')
    RETURNS text
    LANGUAGE c CALLED ON NULL INPUT VOLATILE AS 'MODULE_PATHNAME', 'augur_sql_dictionary_create';
REVOKE ALL ON FUNCTION augur.dictionary_create(regclass, name, name, jsonb) FROM PUBLIC;

CREATE FUNCTION augur.dictionary_view(name text) RETURNS text
    LANGUAGE c CALLED ON NULL INPUT VOLATILE AS 'MODULE_PATHNAME', 'augur_sql_dictionary_view';
REVOKE ALL ON FUNCTION augur.dictionary_view(text) FROM PUBLIC;

CREATE FUNCTION augur.dictionary_drop(name text) RETURNS void
    LANGUAGE c CALLED ON NULL INPUT VOLATILE AS 'MODULE_PATHNAME', 'augur_sql_dictionary_drop';
REVOKE ALL ON FUNCTION augur.dictionary_drop(text) FROM PUBLIC;

-- Counts what changed since the last version now (after a rollback: the whole table, and
-- the worker's refreshes resume); the current version.
CREATE FUNCTION augur.dictionary_refresh(name text) RETURNS int
    LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    d augur.dictionary;
    made int;
BEGIN
    IF name IS NULL THEN
        RAISE EXCEPTION 'name must not be NULL' USING ERRCODE = '22004';
    END IF;
    SELECT * INTO d FROM augur.dictionary WHERE dictionary.name = dictionary_refresh.name;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'dictionary "%" does not exist', name USING ERRCODE = '42704',
            HINT = 'augur.dictionaries lists them.';
    END IF;
    RAISE NOTICE 'augur: dictionary %: counting %', name,
        CASE WHEN d.paused OR d.recounts OR d.problem IS NOT NULL THEN 'the values of ' || d.source || ' again'
             ELSE 'the changes since version ' || d.version END;
    made := augur.dictionary_next_version(d.id, d.paused);
    IF made IS NULL THEN
        RAISE NOTICE 'augur: dictionary %: no value changed; still version %', name, d.version;
        RETURN d.version;
    END IF;
    RAISE NOTICE 'augur: dictionary %: version %', name, made;
    RETURN made;
END
$$;
REVOKE ALL ON FUNCTION augur.dictionary_refresh(text) FROM PUBLIC;

-- A dictionary's triggers run with their maker's rights and convert its column and target
-- with their types' casts, built-in when it was made. A type changed since (a role's own
-- type, with a cast of its own) would run that role's code with those rights: the
-- triggers are dropped in the same ALTER TABLE, and the dictionary says why.
CREATE FUNCTION augur.dictionary_watch_ddl() RETURNS event_trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    d augur.dictionary;
    trigger name;
BEGIN
    FOR d IN SELECT di.* FROM augur.dictionary di
              WHERE di.relid IN (SELECT c.objid FROM pg_event_trigger_ddl_commands() c
                                  WHERE c.classid = 'pg_catalog.pg_class'::regclass)
                AND EXISTS (SELECT 1 FROM pg_attribute a
                             WHERE a.attrelid = di.relid
                               AND ((a.attnum = di.attnum AND a.atttypid <> di.typid)
                                    OR (a.attnum = di.target_attnum AND a.atttypid <> di.target_typid)))
    LOOP
        FOR trigger IN SELECT t.tgname FROM pg_trigger t
                        WHERE t.tgrelid = d.relid
                          AND t.tgfoid = to_regprocedure(format('augur_dict.%I()', 'capture_' || d.name))
        LOOP
            EXECUTE format('DROP TRIGGER %I ON %s', trigger, d.relid::regclass);
        END LOOP;
        UPDATE augur.dictionary
           SET problem = 'the type of its column or target changed: its triggers were dropped'
         WHERE id = d.id;
    END LOOP;
END
$$;
REVOKE ALL ON FUNCTION augur.dictionary_watch_ddl() FROM PUBLIC;
CREATE EVENT TRIGGER augur_dictionary_watch_ddl ON ddl_command_end WHEN TAG IN ('ALTER TABLE')
    EXECUTE FUNCTION augur.dictionary_watch_ddl();

-- Anomaly detection over any series given to it (docs/health.md).
CREATE FUNCTION augur.detect_json(v float8[], method text) RETURNS jsonb
    LANGUAGE c CALLED ON NULL INPUT IMMUTABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'augur_sql_detect';

-- Each value's anomaly score in [0, 1] (0 while the detector is still learning the
-- series), and whether it passes the threshold augur.detect alarms at.
CREATE FUNCTION augur.detect(ts timestamptz[], v float8[], method text DEFAULT NULL)
    RETURNS TABLE (at timestamptz, value float8, score float8, anomaly boolean)
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
AS $$
DECLARE
    result jsonb;
    bad int;
BEGIN
    IF detect.ts IS NULL OR detect.v IS NULL THEN
        RAISE EXCEPTION '% must not be NULL', CASE WHEN detect.ts IS NULL THEN 'ts' ELSE 'v' END USING ERRCODE = '22004';
    END IF;
    IF array_ndims(detect.ts) > 1 OR array_ndims(detect.v) > 1
       OR coalesce(cardinality(detect.ts), 0) <> coalesce(cardinality(detect.v), 0) THEN
        RAISE EXCEPTION 'ts and v must be one-dimensional arrays of the same length, not % and %',
            cardinality(detect.ts), cardinality(detect.v) USING ERRCODE = '22023',
            HINT = 'One value per timestamp, in time order.';
    END IF;
    SELECT min(i) INTO bad FROM unnest(detect.ts) WITH ORDINALITY AS u(t, i) WHERE t IS NULL;
    IF bad IS NOT NULL THEN
        RAISE EXCEPTION 'ts[%] is NULL', bad USING ERRCODE = '22004';
    END IF;
    SELECT min(i) INTO bad
      FROM (SELECT i, t <= lag(t) OVER (ORDER BY i) AS behind FROM unnest(detect.ts) WITH ORDINALITY AS u(t, i)) o
     WHERE behind;
    IF bad IS NOT NULL THEN
        RAISE EXCEPTION 'ts[%] (%) is not after ts[%] (%)', bad, detect.ts[bad], bad - 1, detect.ts[bad - 1]
            USING ERRCODE = '22023', HINT = 'Timestamps must increase strictly: sort the series, and merge duplicates.';
    END IF;
    result := augur.detect_json(detect.v, detect.method);
    RETURN QUERY
    SELECT u.t, u.x, s.score::float8, s.score::float8 >= (result ->> 'threshold')::float8
      FROM unnest(detect.ts, detect.v) WITH ORDINALITY AS u(t, x, i)
      JOIN jsonb_array_elements_text(result -> 'scores') WITH ORDINALITY AS s(score, i) ON s.i = u.i
     ORDER BY u.i;
END
$$;
