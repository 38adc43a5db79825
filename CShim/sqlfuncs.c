/*
 * sqlfuncs.c: fmgr V1 wrappers for the SQL API. Each calls Swift, and only after every
 * Swift frame has returned raises the error Swift reported (augur_raise_if_error).
 */
#include "augur_internal.h"

#include "fmgr.h"
#include "commands/dbcommands.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "catalog/pg_type_d.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/timestamp.h"

#define AUGUR_SQL_FUNCTION(name) \
    PGDLLEXPORT Datum name(PG_FUNCTION_ARGS); \
    PG_FUNCTION_INFO_V1(name)

AUGUR_SQL_FUNCTION(augur_sql_version);
AUGUR_SQL_FUNCTION(augur_sql_detect);
AUGUR_SQL_FUNCTION(augur_sql_dictionary_create);
AUGUR_SQL_FUNCTION(augur_sql_dictionary_view);
AUGUR_SQL_FUNCTION(augur_sql_dictionary_drop);
AUGUR_SQL_FUNCTION(augur_sql_worker_status);
AUGUR_SQL_FUNCTION(augur_sql_spi_probe);
AUGUR_SQL_FUNCTION(augur_sql_capture_status);
AUGUR_SQL_FUNCTION(augur_sql_flush);
AUGUR_SQL_FUNCTION(augur_sql_coaccess_predicted);
AUGUR_SQL_FUNCTION(augur_sql_latency_quantiles);
AUGUR_SQL_FUNCTION(augur_sql_latency_histogram);
AUGUR_SQL_FUNCTION(augur_sql_latency_changes);
AUGUR_SQL_FUNCTION(augur_sql_refresh_index_advice);
AUGUR_SQL_FUNCTION(augur_sql_refresh_index_creation_advice);
AUGUR_SQL_FUNCTION(augur_sql_wake_worker);
AUGUR_SQL_FUNCTION(augur_sql_simulate);
AUGUR_SQL_FUNCTION(augur_sql_refresh_schema_advice);
AUGUR_SQL_FUNCTION(augur_sql_refresh_sharding_advice);
AUGUR_SQL_FUNCTION(augur_sql_sharding_evaluate);

/* augur.version(): the version of the loaded library. */
Datum
augur_sql_version(PG_FUNCTION_ARGS)
{
    char        version[64];

    augur_swift_version(version, sizeof(version));
    PG_RETURN_TEXT_P(cstring_to_text(version));
}

static const char *
worker_state_name(int32 state)
{
    switch ((augur_worker_state) state)
    {
        case AUGUR_WORKER_STARTING:
            return "starting";
        case AUGUR_WORKER_WAITING_FOR_EXTENSION:
            return "waiting for extension";
        case AUGUR_WORKER_RUNNING:
            return "running";
        case AUGUR_WORKER_VERSION_MISMATCH:
            return "version mismatch";
    }
    return "unknown";
}

/* augur.worker_status(): one row read from shared memory. */
Datum
augur_sql_worker_status(PG_FUNCTION_ARGS)
{
    TupleDesc   desc;
    AugurWorkerStatus status;
    Datum       values[8];
    bool        nulls[8] = {false};
    int         i = 0;

    augur_require_shared_state();
    if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
        elog(ERROR, "augur.worker_status must return a composite type");

    LWLockAcquire(augur_shared->lock, LW_SHARED);
    status = augur_shared->worker;
    LWLockRelease(augur_shared->lock);

    nulls[i] = status.pid == 0;
    values[i++] = Int32GetDatum(status.pid);
    values[i++] = CStringGetTextDatum(worker_state_name(status.state));
    nulls[i] = status.started_at == 0;
    values[i++] = TimestampTzGetDatum(status.started_at);
    nulls[i] = status.last_cycle_at == 0;
    values[i++] = TimestampTzGetDatum(status.last_cycle_at);
    values[i++] = Int64GetDatum(status.cycles);
    nulls[i] = status.last_error_at == 0;
    values[i++] = TimestampTzGetDatum(status.last_error_at);
    nulls[i] = status.last_error[0] == '\0';
    values[i++] = CStringGetTextDatum(status.last_error);
    values[i++] = CStringGetTextDatum(augur_database);

    PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(desc), values, nulls)));
}

/* augur.capture_status(): the capture table's fill and losses. */
Datum
augur_sql_capture_status(PG_FUNCTION_ARGS)
{
    TupleDesc   desc;
    Datum       values[7];
    bool        nulls[7] = {false};
    TimestampTz last_flush_at;
    int64       flushed;

    augur_require_shared_state();
    if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
        elog(ERROR, "augur.capture_status must return a composite type");

    LWLockAcquire(augur_shared->lock, LW_SHARED);
    last_flush_at = augur_shared->last_flush_at;
    flushed = augur_shared->flushed_samples;
    LWLockRelease(augur_shared->lock);

    values[0] = Int64GetDatum(augur_capture_entry_count());
    values[1] = Int32GetDatum(augur_max_queries);
    values[2] = Int64GetDatum((int64) pg_atomic_read_u64(&augur_shared->evictions));
    values[3] = Int64GetDatum((int64) pg_atomic_read_u64(&augur_shared->dropped));
    values[4] = Int64GetDatum(flushed);
    nulls[5] = last_flush_at == 0;
    values[5] = TimestampTzGetDatum(last_flush_at);
    /* 0.2.0's declaration has no sampled_dropped: heap_form_tuple reads desc->natts values */
    values[6] = Int64GetDatum(augur_sampling_dropped());
    PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(desc), values, nulls)));
}

/* augur.flush(): flush captured statistics now instead of waiting for the worker. */
Datum
augur_sql_flush(PG_FUNCTION_ARGS)
{
    augur_error err;
    int64_t     flushed = 0;
    char       *database;
    bool        ok;

    augur_require_shared_state();
    database = get_database_name(MyDatabaseId);
    if (database == NULL || strcmp(database, augur_database) != 0)
        ereport(ERROR,
                (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                 errmsg("augur keeps its tables in database \"%s\", not here", augur_database),
                 errhint("Connect to database \"%s\" to call augur.flush(), or change augur.database.",
                         augur_database)));
    /* The flush's own statements are not part of the workload. Swift never longjmps, so
     * the flag is always restored. */
    augur_capture_off_in_this_process = true;
    ok = augur_swift_flush(&flushed, &err);
    augur_capture_off_in_this_process = false;
    if (!ok)
        augur_raise_if_error(&err);
    PG_RETURN_INT64(flushed);
}

/* The jsonb text a Swift function handed back, or the error it reported, raised now that
 * it has returned. */
static Datum
jsonb_from_swift(bool ok, const char *json, augur_error *err)
{
    if (!ok)
        augur_raise_if_error(err);
    return DirectFunctionCall1(jsonb_in, CStringGetDatum(json));
}

/*
 * The one rule for NULL arguments: an argument whose NULL means nothing is SQLSTATE
 * 22004, named; functions take NULL only where it has a meaning (no time bound, every
 * query, the default budget).
 */
void
require_argument(FunctionCallInfo fcinfo, int argument, const char *name)
{
    if (PG_ARGISNULL(argument))
        ereport(ERROR,
                (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
                 errmsg("%s must not be NULL", name)));
}

/* augur.coaccess_predicted_json(k, level, method): the predicted pairs as a jsonb array,
 * which augur.coaccess_predicted() turns into rows. */
Datum
augur_sql_coaccess_predicted(PG_FUNCTION_ARGS)
{
    char       *level;
    char       *method;
    char       *json = NULL;
    augur_error err;
    bool        ok;

    require_argument(fcinfo, 0, "k");
    require_argument(fcinfo, 1, "level");
    require_argument(fcinfo, 2, "method");
    level = text_to_cstring(PG_GETARG_TEXT_PP(1));
    method = text_to_cstring(PG_GETARG_TEXT_PP(2));
    ok = augur_swift_coaccess_predicted(PG_GETARG_INT32(0), level, method, &json, &err);
    PG_RETURN_DATUM(jsonb_from_swift(ok, json, &err));
}

/* Text of a nullable timestamptz argument, or NULL. */
static const char *
optional_timestamp(FunctionCallInfo fcinfo, int argument)
{
    if (PG_ARGISNULL(argument))
        return NULL;
    return DatumGetCString(DirectFunctionCall1(timestamptz_out, PG_GETARG_DATUM(argument)));
}

/* The elements of a one-dimensional float8 array argument `name` of `noun`, none NULL. */
static double *
float8_elements(ArrayType *array, const char *name, const char *noun, const char *hint, int *count)
{
    Datum      *elements;
    bool       *nulls;
    double     *values;

    if (ARR_NDIM(array) > 1)
        ereport(ERROR,
                (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                 errmsg("%s must be a one-dimensional array of %s", name, noun),
                 errhint("%s", hint)));
    deconstruct_array(array, FLOAT8OID, sizeof(float8), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE, &elements, &nulls, count);
    values = palloc(sizeof(double) * Max(*count, 1));
    for (int i = 0; i < *count; i++)
    {
        if (nulls[i])
            ereport(ERROR,
                    (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
                     errmsg("%s must not be NULL", noun),
                     errdetail("%s[%d] is NULL.", name, i + 1)));
        values[i] = DatumGetFloat8(elements[i]);
    }
    return values;
}

/* augur.latency_quantiles_json(queryid, q float8[], since, until): estimates with their
 * bounds, from the cumulative histogram or, given a time range, its windows in it. */
Datum
augur_sql_latency_quantiles(PG_FUNCTION_ARGS)
{
    int         count;
    double     *quantiles;
    char       *json = NULL;
    augur_error err;
    bool        ok;

    require_argument(fcinfo, 0, "queryid");
    require_argument(fcinfo, 1, "q");
    quantiles = float8_elements(PG_GETARG_ARRAYTYPE_P(1), "q", "quantiles", "For example '{0.5, 0.99}'.", &count);
    ok = augur_swift_latency_quantiles(PG_GETARG_INT64(0), quantiles, count, optional_timestamp(fcinfo, 2),
                                       optional_timestamp(fcinfo, 3), &json, &err);
    PG_RETURN_DATUM(jsonb_from_swift(ok, json, &err));
}

/* augur.latency_histogram_json(queryid): the merged histogram's non-empty cells. */
Datum
augur_sql_latency_histogram(PG_FUNCTION_ARGS)
{
    char       *json = NULL;
    augur_error err;
    bool        ok;

    require_argument(fcinfo, 0, "queryid");
    ok = augur_swift_latency_histogram(PG_GETARG_INT64(0), &json, &err);
    PG_RETURN_DATUM(jsonb_from_swift(ok, json, &err));
}

/* augur.latency_changes_json(queryid): change points found in the flush windows of one
 * query, or of all (NULL). */
Datum
augur_sql_latency_changes(PG_FUNCTION_ARGS)
{
    char       *json = NULL;
    augur_error err;
    bool        ok = augur_swift_latency_changes(PG_ARGISNULL(0), PG_ARGISNULL(0) ? 0 : PG_GETARG_INT64(0),
                                                 &json, &err);

    PG_RETURN_DATUM(jsonb_from_swift(ok, json, &err));
}

/* augur.refresh_index_advice(unused_after interval): refreshes the drop_index
 * recommendations; returns how many indexes are proposed. */
Datum
augur_sql_refresh_index_advice(PG_FUNCTION_ARGS)
{
    double      seconds;
    int64_t     proposed = 0;
    augur_error err;

    require_argument(fcinfo, 0, "unused_after");
    seconds = DatumGetFloat8(DirectFunctionCall2(interval_part, CStringGetTextDatum("epoch"),
                                                 PG_GETARG_DATUM(0)));
    if (seconds < 0)
        ereport(ERROR,
                (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                 errmsg("unused_after must not be negative")));
    if (!augur_swift_recommend_indexes(seconds, &proposed, &err))
        augur_raise_if_error(&err);
    PG_RETURN_INT64(proposed);
}

/* augur.refresh_index_creation_advice(budget_bytes float8, time_budget_seconds float8):
 * refreshes the create_index recommendations (hypopg what-if, Extend under the budget,
 * within the time budget); returns how many. */
Datum
augur_sql_refresh_index_creation_advice(PG_FUNCTION_ARGS)
{
    double      budget;
    double      seconds;
    int64_t     proposed = 0;
    augur_error err;

    require_argument(fcinfo, 0, "budget_bytes");
    require_argument(fcinfo, 1, "time_budget_seconds");
    budget = PG_GETARG_FLOAT8(0);
    seconds = PG_GETARG_FLOAT8(1);
    if (!(budget >= 0))
        ereport(ERROR,
                (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                 errmsg("the index budget must not be negative")));
    if (!(seconds > 0))
        ereport(ERROR,
                (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                 errmsg("the time budget must be positive")));
    if (!augur_swift_recommend_new_indexes(budget, seconds, &proposed, &err))
        augur_raise_if_error(&err);
    PG_RETURN_INT64(proposed);
}

/* augur.refresh_schema_advice(large_table_bytes float8, sample_rows float8, simulate bool):
 * refreshes the schema change recommendations, each measured on shadow copies when
 * simulate; returns how many. */
Datum
augur_sql_refresh_schema_advice(PG_FUNCTION_ARGS)
{
    double      large_table_bytes = PG_GETARG_FLOAT8(0);
    double      sample_rows = PG_GETARG_FLOAT8(1);
    int64_t     proposed = 0;
    augur_error err;

    if (!(large_table_bytes >= 0) || !(sample_rows >= 1 && sample_rows <= 1e9))
        ereport(ERROR,
                (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                 errmsg("large_table must not be negative and sample_rows must be between 1 and 1000000000")));
    if (!augur_swift_recommend_schema(large_table_bytes, sample_rows, PG_GETARG_BOOL(2), &proposed, &err))
        augur_raise_if_error(&err);
    PG_RETURN_INT64(proposed);
}

/* augur.refresh_sharding_advice(nodes int, held_out float8, reference_max_rows float8,
 * imbalance float8, min_transactions int, half_life_seconds float8, prediction_weight
 * float8, from_plan bigint, split text): refreshes the sharding plan for `nodes` nodes from the
 * sampled transactions; returns how many recommendations (0 or 1). */
Datum
augur_sql_refresh_sharding_advice(PG_FUNCTION_ARGS)
{
    augur_sharding_options options = {
        .nodes = PG_GETARG_INT32(0),
        .held_out = PG_GETARG_FLOAT8(1),
        .reference_max_rows = PG_GETARG_FLOAT8(2),
        .imbalance = PG_GETARG_FLOAT8(3),
        .min_transactions = PG_GETARG_INT32(4),
        .half_life_seconds = PG_GETARG_FLOAT8(5),
        .prediction_weight = PG_GETARG_FLOAT8(6),
        .from_plan = PG_GETARG_INT64(7),
    };
    char       *split = text_to_cstring(PG_GETARG_TEXT_PP(8));
    int64_t     proposed = 0;
    augur_error err;

    if (options.nodes < 2 || options.nodes > 10000)
        ereport(ERROR,
                (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                 errmsg("nodes must be between 2 and 10000, not %d", options.nodes)));
    if (!(options.held_out > 0 && options.held_out < 1) ||
        !(options.reference_max_rows >= 0 && options.reference_max_rows <= 1e15) ||
        !(options.imbalance >= 0 && options.imbalance <= 10) || options.min_transactions < 1 ||
        !(options.half_life_seconds > 0) || !(options.prediction_weight >= 0 && options.prediction_weight <= 100) ||
        options.from_plan < 0)
        ereport(ERROR,
                (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                 errmsg("held_out must be between 0 and 1 (exclusive), reference_max_rows not negative, "
                        "imbalance between 0 and 10, min_transactions at least 1, half_life positive, "
                        "predict between 0 and 100, from a recommendation id")));
    options.split = split[0] != '\0' ? split : NULL;
    if (strlen(split) >= NAMEDATALEN)
        ereport(ERROR,
                (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                 errmsg("split must name a column, not \"%s\"", split)));
    if (!augur_swift_recommend_sharding(&options, &proposed, &err))
    {
        /* Stopped for a cancel: raise PostgreSQL's own. */
        CHECK_FOR_INTERRUPTS();
        augur_raise_if_error(&err);
    }
    PG_RETURN_INT64(proposed);
}

/* augur.sharding_evaluate_json(id bigint, measured boolean): a stored sharding plan scored
 * on the transactions sampled since it was made, or since it was applied with the keys
 * where Citus has them (measured). */
Datum
augur_sql_sharding_evaluate(PG_FUNCTION_ARGS)
{
    char       *json = NULL;
    bool        ok;
    augur_error err;

    require_argument(fcinfo, 0, "id");
    require_argument(fcinfo, 1, "measured");
    ok = augur_swift_sharding_evaluate(PG_GETARG_INT64(0), PG_GETARG_BOOL(1), &json, &err);
    PG_RETURN_DATUM(jsonb_from_swift(ok, json, &err));
}

/* augur.simulate_recommendation(id bigint): the what-if of one recommendation, recorded. */
Datum
augur_sql_simulate(PG_FUNCTION_ARGS)
{
    augur_error err;

    require_argument(fcinfo, 0, "id");
    if (!augur_swift_simulate(PG_GETARG_INT64(0), &err))
        augur_raise_if_error(&err);
    PG_RETURN_VOID();
}

/* augur.wake_worker(): when this transaction commits, the worker looks for work at once. */
Datum
augur_sql_wake_worker(PG_FUNCTION_ARGS)
{
    augur_wake_worker_at_commit();
    PG_RETURN_VOID();
}

/*
 * Not declared by the extension script: the tests declare it to drive the error
 * boundary (Swift -> SPI -> PostgreSQL ERROR -> Swift throw -> C ereport) in a loop.
 * spi_probe(sql text, params text[]) runs sql with the params as $1..$n through the
 * Swift SPI API and returns what Swift decoded (see augurSwiftSPIProbe).
 */
Datum
augur_sql_spi_probe(PG_FUNCTION_ARGS)
{
    char       *sql = text_to_cstring(PG_GETARG_TEXT_PP(0));
    ArrayType  *params = PG_GETARG_ARRAYTYPE_P(1);
    Datum      *elements;
    bool       *element_nulls;
    int         nargs;
    const char **args;
    char        outcome[1024];
    augur_error err;

    deconstruct_array(params, TEXTOID, -1, false, TYPALIGN_INT, &elements, &element_nulls, &nargs);
    args = palloc0(sizeof(char *) * Max(nargs, 1));
    for (int i = 0; i < nargs; i++)
        args[i] = element_nulls[i] ? NULL : TextDatumGetCString(elements[i]);

    if (!augur_swift_spi_probe(sql, nargs, args, outcome, sizeof(outcome), &err))
        augur_raise_if_error(&err);
    PG_RETURN_TEXT_P(cstring_to_text(outcome));
}

/* augur.dictionary_create(rel regclass, col name, target name, options jsonb): makes a
 * dictionary and counts its first version; its name. */
Datum
augur_sql_dictionary_create(PG_FUNCTION_ARGS)
{
    char       *name = NULL;
    const char *target = NULL;
    char       *options;
    augur_error err;

    require_argument(fcinfo, 0, "rel");
    require_argument(fcinfo, 1, "col");
    require_argument(fcinfo, 3, "options");
    if (!PG_ARGISNULL(2))
        target = NameStr(*PG_GETARG_NAME(2));
    options = DatumGetCString(DirectFunctionCall1(jsonb_out, PG_GETARG_DATUM(3)));
    if (!augur_swift_dictionary_create(PG_GETARG_OID(0), NameStr(*PG_GETARG_NAME(1)), target, options, &name, &err))
    {
        CHECK_FOR_INTERRUPTS();
        augur_raise_if_error(&err);
    }
    PG_RETURN_TEXT_P(cstring_to_text(name));
}

/* augur.dictionary_view(name text): the view of the source rows with their encodings. */
Datum
augur_sql_dictionary_view(PG_FUNCTION_ARGS)
{
    char       *view = NULL;
    augur_error err;

    require_argument(fcinfo, 0, "name");
    if (!augur_swift_dictionary_view(text_to_cstring(PG_GETARG_TEXT_PP(0)), &view, &err))
        augur_raise_if_error(&err);
    PG_RETURN_TEXT_P(cstring_to_text(view));
}

/* augur.dictionary_drop(name text): the dictionary, its triggers and views. */
Datum
augur_sql_dictionary_drop(PG_FUNCTION_ARGS)
{
    augur_error err;

    require_argument(fcinfo, 0, "name");
    if (!augur_swift_dictionary_drop(text_to_cstring(PG_GETARG_TEXT_PP(0)), &err))
        augur_raise_if_error(&err);
    PG_RETURN_VOID();
}

/* augur.detect_json(v float8[], method text): each value's anomaly score, and the
 * threshold above which augur.detect calls it an anomaly. */
Datum
augur_sql_detect(PG_FUNCTION_ARGS)
{
    int         count;
    double     *values;
    char       *json = NULL;
    augur_error err;
    bool        ok;

    require_argument(fcinfo, 0, "v");
    values = float8_elements(PG_GETARG_ARRAYTYPE_P(0), "v", "values", "One value per timestamp, in time order.", &count);
    ok = augur_swift_detect(values, count, PG_ARGISNULL(1) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(1)), &json, &err);
    PG_RETURN_DATUM(jsonb_from_swift(ok, json, &err));
}
