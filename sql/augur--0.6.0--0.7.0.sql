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

CREATE FUNCTION augur.sharding_evaluate_json(id bigint) RETURNS jsonb
    LANGUAGE c CALLED ON NULL INPUT VOLATILE AS 'MODULE_PATHNAME', 'augur_sql_sharding_evaluate';
REVOKE ALL ON FUNCTION augur.sharding_evaluate_json(bigint) FROM PUBLIC;

-- A sharding plan (a distribute recommendation) scored again on the transactions sampled
-- after the ones it was made from: does it still hold?
CREATE FUNCTION augur.sharding_evaluate(id bigint)
    RETURNS TABLE (transactions float8, distributed_share float8, access_balance float8, since timestamptz)
    LANGUAGE sql VOLATILE
AS $$
    SELECT r.transactions, r.distributed_share, r.access_balance, r.since
      FROM jsonb_to_record(augur.sharding_evaluate_json(id))
           AS r(transactions float8, distributed_share float8, access_balance float8, since timestamptz)
$$;
REVOKE ALL ON FUNCTION augur.sharding_evaluate(bigint) FROM PUBLIC;

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

-- Partition migrations and Citus distributions are scripts for a DBA: approving records
-- the decision, applying is refused.
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
        RAISE EXCEPTION 'recommendation % distributes tables with Citus: Augur does not run that script itself yet', id
            USING ERRCODE = '0A000',
                  HINT = 'Review its ddl and run it on the Citus coordinator.';
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
