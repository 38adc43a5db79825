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
                   since timestamptz)
    LANGUAGE sql VOLATILE
AS $$
    SELECT r.transactions, r.distributed_share, r.predicted_share, r.access_balance, r.since
      FROM jsonb_to_record(augur.sharding_evaluate_json(id, true))
           AS r(transactions float8, distributed_share float8, predicted_share float8, access_balance float8, since timestamptz)
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
