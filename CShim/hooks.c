/*
 * hooks.c: Augur's place in the hook chains. Each hook saves the previous one and calls
 * it (or the standard implementation), so Augur composes with pg_stat_statements,
 * auto_explain and the rest in any load order. The capture issue fills the bodies; for
 * now they only pass through, which is what the idle-overhead benchmark measures.
 */
#include "augur_internal.h"

#include "executor/executor.h"
#include "parser/analyze.h"
#include "tcop/utility.h"

static post_parse_analyze_hook_type prev_post_parse_analyze = NULL;
static ExecutorStart_hook_type prev_executor_start = NULL;
static ExecutorEnd_hook_type prev_executor_end = NULL;
static ProcessUtility_hook_type prev_process_utility = NULL;
static emit_log_hook_type prev_emit_log = NULL;

#if PG_VERSION_NUM >= 140000
static void
augur_post_parse_analyze(ParseState *pstate, Query *query, JumbleState *jstate)
{
    if (prev_post_parse_analyze)
        prev_post_parse_analyze(pstate, query, jstate);
}
#else
static void
augur_post_parse_analyze(ParseState *pstate, Query *query)
{
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
}

static void
augur_executor_end(QueryDesc *query_desc)
{
    if (prev_executor_end)
        prev_executor_end(query_desc);
    else
        standard_ExecutorEnd(query_desc);
}

#if PG_VERSION_NUM >= 140000
static void
augur_process_utility(PlannedStmt *pstmt, const char *query_string, bool read_only_tree,
                      ProcessUtilityContext context, ParamListInfo params,
                      QueryEnvironment *query_env, DestReceiver *dest, QueryCompletion *qc)
{
    if (prev_process_utility)
        prev_process_utility(pstmt, query_string, read_only_tree, context, params,
                             query_env, dest, qc);
    else
        standard_ProcessUtility(pstmt, query_string, read_only_tree, context, params,
                                query_env, dest, qc);
}
#else
static void
augur_process_utility(PlannedStmt *pstmt, const char *query_string,
                      ProcessUtilityContext context, ParamListInfo params,
                      QueryEnvironment *query_env, DestReceiver *dest, QueryCompletion *qc)
{
    if (prev_process_utility)
        prev_process_utility(pstmt, query_string, context, params, query_env, dest, qc);
    else
        standard_ProcessUtility(pstmt, query_string, context, params, query_env, dest, qc);
}
#endif

static void
augur_emit_log(ErrorData *edata)
{
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
    prev_executor_end = ExecutorEnd_hook;
    ExecutorEnd_hook = augur_executor_end;
    prev_process_utility = ProcessUtility_hook;
    ProcessUtility_hook = augur_process_utility;
    prev_emit_log = emit_log_hook;
    emit_log_hook = augur_emit_log;
}
