/*
 * hooks.c: Augur's place in the hook chains, and the capture of executions.
 *
 * Each hook saves the previous one and calls it (or the standard implementation), so
 * Augur composes with pg_stat_statements, auto_explain and the rest in any load order.
 * The nesting level follows pg_stat_statements' rules so that augur.track = top|all
 * means the same thing as pg_stat_statements.track.
 */
#include "augur_internal.h"

#include "access/parallel.h"
#include "executor/executor.h"
#include "executor/instrument.h"
#include "parser/analyze.h"
#include "mb/pg_wchar.h"
#include "tcop/utility.h"
#include "utils/memutils.h"

static post_parse_analyze_hook_type prev_post_parse_analyze = NULL;
static ExecutorStart_hook_type prev_executor_start = NULL;
static ExecutorRun_hook_type prev_executor_run = NULL;
static ExecutorFinish_hook_type prev_executor_finish = NULL;
static ExecutorEnd_hook_type prev_executor_end = NULL;
static ProcessUtility_hook_type prev_process_utility = NULL;
static emit_log_hook_type prev_emit_log = NULL;

/* 0 for a statement the client sent; deeper inside functions and utility statements. */
static int nesting_level = 0;

/* Set in the collector, and by augur.flush() while it runs: Augur's own bookkeeping is
 * not part of the workload. */
bool augur_capture_off_in_this_process = false;

/* Parallel workers run the leader's plan: counting them would count one execution twice. */
static bool
capture_on(void)
{
    return augur_enabled && augur_shared != NULL && !augur_capture_off_in_this_process &&
        augur_track != AUGUR_TRACK_NONE && !IsParallelWorker();
}

/* Whether this execution is counted, by augur.track and the nesting level. */
static bool
capturing(void)
{
    return capture_on() && (augur_track == AUGUR_TRACK_ALL || nesting_level == 0);
}

#if PG_VERSION_NUM >= 140000
static void
augur_post_parse_analyze(ParseState *pstate, Query *query, JumbleState *jstate)
{
    AugurQueryShape shape;

    if (prev_post_parse_analyze)
        prev_post_parse_analyze(pstate, query, jstate);

    /* A sampled transaction's keys, from the parse tree (see augur_sample_parsed). */
    if (capture_on() && augur_sample_rate > 0)
        augur_sample_parsed(query);

    /*
     * Keep the shape (normalized text, relations) the first time a query id is seen, at
     * any nesting level: a function's statements are parsed once and then run from
     * cached plans, so their shape must be kept even while augur.track = top, for when
     * it becomes all.
     */
    if (!capture_on() || jstate == NULL || query->queryId == UINT64CONST(0) ||
        query->utilityStmt != NULL || pstate->p_sourcetext == NULL)
        return;
    if (augur_capture_has_shape((int64) query->queryId, nesting_level == 0))
        return;
    augur_normalize_query(pstate->p_sourcetext, query->stmt_location, query->stmt_len, jstate,
                          shape.text, sizeof(shape.text));
    augur_collect_shape(query, &shape);
    augur_capture_store_shape((int64) query->queryId, nesting_level == 0, &shape, false);
}
#else
static void
augur_post_parse_analyze(ParseState *pstate, Query *query)
{
    /* PostgreSQL 13 computes no query id in core: nothing to capture. */
    if (prev_post_parse_analyze)
        prev_post_parse_analyze(pstate, query);
}
#endif

static void
augur_executor_start(QueryDesc *query_desc, int eflags)
{
    if (prev_executor_start)
        prev_executor_start(query_desc, eflags);
    else
        standard_ExecutorStart(query_desc, eflags);

    /* A sampled transaction's relations and keys, from the plan and its parameters. */
    if (capture_on() && augur_sample_rate > 0 && (eflags & EXEC_FLAG_EXPLAIN_ONLY) == 0)
        augur_sample_statement(query_desc);

    /* Time the whole execution, as pg_stat_statements does. */
    if (capturing() && query_desc->plannedstmt->queryId != UINT64CONST(0) &&
        query_desc->totaltime == NULL)
    {
        MemoryContext old = MemoryContextSwitchTo(query_desc->estate->es_query_cxt);

        query_desc->totaltime = InstrAlloc(1, INSTRUMENT_TIMER, false);
        MemoryContextSwitchTo(old);
    }
}

static void
augur_executor_run(QueryDesc *query_desc, ScanDirection direction, uint64 count,
                   bool execute_once)
{
    nesting_level++;
    PG_TRY();
    {
        if (prev_executor_run)
            prev_executor_run(query_desc, direction, count, execute_once);
        else
            standard_ExecutorRun(query_desc, direction, count, execute_once);
    }
    PG_FINALLY();
    {
        nesting_level--;
    }
    PG_END_TRY();
}

static void
augur_executor_finish(QueryDesc *query_desc)
{
    nesting_level++;
    PG_TRY();
    {
        if (prev_executor_finish)
            prev_executor_finish(query_desc);
        else
            standard_ExecutorFinish(query_desc);
    }
    PG_FINALLY();
    {
        nesting_level--;
    }
    PG_END_TRY();
}

static void
augur_executor_end(QueryDesc *query_desc)
{
    uint64      queryid = query_desc->plannedstmt->queryId;

    if (capturing() && queryid != UINT64CONST(0) && query_desc->totaltime != NULL)
    {
        /* Make sure the timer's totals are up to date. */
        InstrEndLoop(query_desc->totaltime);
        if (augur_capture_record((int64) queryid, nesting_level == 0,
                                 query_desc->totaltime->total * 1000.0,
                                 query_desc->estate->es_processed))
        {
            augur_query_example example;

            if (augur_take_example(query_desc, &example))
                augur_capture_store_example((int64) queryid, nesting_level == 0, &example);
        }
    }
    if (prev_executor_end)
        prev_executor_end(query_desc);
    else
        standard_ExecutorEnd(query_desc);
}

/*
 * Statements run inside a utility statement (DO, CALL, CREATE TABLE AS, ...) are nested.
 * EXECUTE and PREPARE are not bumped, so that the statement they run counts as top level.
 */
static bool
nests(PlannedStmt *pstmt)
{
    return !IsA(pstmt->utilityStmt, ExecuteStmt) && !IsA(pstmt->utilityStmt, PrepareStmt);
}

/* PostgreSQL 14 added read_only_tree to ProcessUtility. */
#if PG_VERSION_NUM >= 140000
#define READ_ONLY_TREE_PARAM bool read_only_tree,
#define READ_ONLY_TREE_ARG read_only_tree,
#else
#define READ_ONLY_TREE_PARAM
#define READ_ONLY_TREE_ARG
#endif

/*
 * Utility statements are counted per call like queries, under the query id the server
 * gives their text (EXECUTE, PREPARE and DEALLOCATE are not: the statement they run is).
 */
static bool
counts_utility(PlannedStmt *pstmt)
{
    return capturing() && pstmt->queryId != UINT64CONST(0) && nests(pstmt) &&
        !IsA(pstmt->utilityStmt, DeallocateStmt);
}

/* The statement's own text, trimmed as pg_stat_statements does, cut to the shape's room
 * on a character boundary. */
static void
copy_statement_text(const char *query_string, PlannedStmt *pstmt, char *out, size_t out_size)
{
    int         location = pstmt->stmt_location;
    int         length = pstmt->stmt_len;
    const char *start = CleanQuerytext(query_string, &location, &length);

    length = pg_mbcliplen(start, length, Min(length, (int) out_size - 1));
    memcpy(out, start, length);
    out[length] = '\0';
}

static void
augur_process_utility(PlannedStmt *pstmt, const char *query_string, READ_ONLY_TREE_PARAM
                      ProcessUtilityContext context, ParamListInfo params,
                      QueryEnvironment *query_env, DestReceiver *dest, QueryCompletion *qc)
{
    Node       *statement = pstmt->utilityStmt;
    bool        nested = nests(pstmt);
    bool        toplevel = nesting_level == 0;
    bool        counted = counts_utility(pstmt);
    /* One text may define another object each time it runs: its shape is taken every time. */
    bool        defines = augur_utility_defines_object(statement);
    bool        shaped = counted && !defines && augur_capture_has_shape((int64) pstmt->queryId, toplevel);
    Query      *definition = NULL;
    instr_time  start;
    instr_time  duration;

    /* CREATE TABLE AS may scribble on its query while it runs: keep a copy for lineage. */
    if (counted && !shaped && IsA(statement, CreateTableAsStmt) &&
        IsA(((CreateTableAsStmt *) statement)->query, Query))
        definition = copyObject((Query *) ((CreateTableAsStmt *) statement)->query);
    /* Read the clock only for statements that are counted (BEGIN and COMMIT are many). */
    INSTR_TIME_SET_ZERO(start);
    if (counted)
        INSTR_TIME_SET_CURRENT(start);
    if (nested)
        nesting_level++;
    PG_TRY();
    {
        if (prev_process_utility)
            prev_process_utility(pstmt, query_string, READ_ONLY_TREE_ARG context, params,
                                 query_env, dest, qc);
        else
            standard_ProcessUtility(pstmt, query_string, READ_ONLY_TREE_ARG context, params,
                                    query_env, dest, qc);
    }
    PG_FINALLY();
    {
        if (nested)
            nesting_level--;
    }
    PG_END_TRY();

    if (counted)
    {
        INSTR_TIME_SET_CURRENT(duration);
        INSTR_TIME_SUBTRACT(duration, start);
        if (!shaped)
        {
            AugurQueryShape shape;

            /* Zeroed, so that two shapes of the same objects compare equal byte for byte. */
            memset(&shape, 0, sizeof(shape));
            copy_statement_text(query_string, pstmt, shape.text, sizeof(shape.text));
            augur_collect_utility_shape(statement, definition, &shape);
            augur_capture_store_shape((int64) pstmt->queryId, toplevel, &shape, defines);
        }
        augur_capture_record((int64) pstmt->queryId, toplevel, INSTR_TIME_GET_MILLISEC(duration),
                             qc != NULL ? qc->nprocessed : 0);
    }
}

static void
augur_emit_log(ErrorData *edata)
{
    if (capture_on())
        augur_errors_record(edata);
    if (prev_emit_log)
        prev_emit_log(edata);
}

void
augur_install_hooks(void)
{
    prev_post_parse_analyze = post_parse_analyze_hook;
    post_parse_analyze_hook = augur_post_parse_analyze;
    prev_executor_start = ExecutorStart_hook;
    ExecutorStart_hook = augur_executor_start;
    prev_executor_run = ExecutorRun_hook;
    ExecutorRun_hook = augur_executor_run;
    prev_executor_finish = ExecutorFinish_hook;
    ExecutorFinish_hook = augur_executor_finish;
    prev_executor_end = ExecutorEnd_hook;
    ExecutorEnd_hook = augur_executor_end;
    prev_process_utility = ProcessUtility_hook;
    ProcessUtility_hook = augur_process_utility;
    prev_emit_log = emit_log_hook;
    emit_log_hook = augur_emit_log;
}
