/*
 * worker.c: the "augur collector" background worker.
 *
 * It connects to augur.database and loops on its latch every augur.naptime seconds. Each
 * cycle runs in its own transaction and calls the Swift cycle, which reports what it
 * found; an error in a cycle is recorded in augur.worker_status and the loop goes on, so
 * a bad cycle never restarts the worker. SIGHUP reloads the configuration; SIGTERM ends
 * the worker at the next interrupt check (die()).
 */
#include "augur_internal.h"

#include "access/xact.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "storage/procarray.h"
#include "tcop/tcopprot.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

/* Seconds the postmaster waits before restarting a worker that exited with an error. */
#define AUGUR_WORKER_RESTART_SECONDS 10

void
augur_register_worker(void)
{
    BackgroundWorker worker;

    memset(&worker, 0, sizeof(worker));
    worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
    worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
    worker.bgw_restart_time = AUGUR_WORKER_RESTART_SECONDS;
    snprintf(worker.bgw_library_name, BGW_MAXLEN, "augur");
    snprintf(worker.bgw_function_name, BGW_MAXLEN, "augur_worker_main");
    snprintf(worker.bgw_name, BGW_MAXLEN, "augur collector");
    snprintf(worker.bgw_type, BGW_MAXLEN, "augur collector");
    RegisterBackgroundWorker(&worker);
}

static void
clear_worker_pid(int code, Datum arg)
{
    LWLockAcquire(augur_shared->lock, LW_EXCLUSIVE);
    augur_shared->worker.pid = 0;
    LWLockRelease(augur_shared->lock);
}

static void
record_cycle(int32 state, const augur_error *err)
{
    LWLockAcquire(augur_shared->lock, LW_EXCLUSIVE);
    augur_shared->worker.cycles++;
    augur_shared->worker.last_cycle_at = GetCurrentTimestamp();
    augur_shared->worker.state = state;
    if (err->sqlstate != 0)
    {
        augur_shared->worker.last_error_at = augur_shared->worker.last_cycle_at;
        strlcpy(augur_shared->worker.last_error, err->message, AUGUR_LAST_ERROR_LEN);
    }
    LWLockRelease(augur_shared->lock);
}

/* Flushes that fail in a row on something in what they drained before it is dropped. */
#define AUGUR_FLUSH_ATTEMPTS 3

/*
 * Whether a failed cycle may succeed by itself next time: a lock it gave up on, a
 * cancel, a deadlock or serialization failure, resources or the system. Those always
 * put back what they drained; any other error (something in the batch it cannot store)
 * does AUGUR_FLUSH_ATTEMPTS times, then the batch is dropped, counted and logged, so that
 * one bad batch cannot stop every later flush.
 */
static bool
is_transient(int sqlstate)
{
    int         category = ERRCODE_TO_CATEGORY(sqlstate);

    return sqlstate == ERRCODE_LOCK_NOT_AVAILABLE ||
        category == ERRCODE_TO_CATEGORY(ERRCODE_T_R_SERIALIZATION_FAILURE) ||
        category == ERRCODE_TO_CATEGORY(ERRCODE_INSUFFICIENT_RESOURCES) ||
        category == ERRCODE_TO_CATEGORY(ERRCODE_OPERATOR_INTERVENTION) ||
        category == ERRCODE_TO_CATEGORY(ERRCODE_SYSTEM_ERROR);
}

/*
 * Runs body in a transaction of its own, with a snapshot; errors come back in *err. A
 * body that reports an error is rolled back, not committed: a flush that failed halfway
 * puts what it drained back (capture.c) rather than committing part of it; on its
 * `last_attempt` an error that is not transient drops it instead.
 */
static bool
in_transaction(bool (*body) (void *, augur_error *), void *arg, augur_error *err, bool last_attempt)
{
    bool        result;

    SetCurrentStatementStartTimestamp();
    StartTransactionCommand();
    PushActiveSnapshot(GetTransactionSnapshot());
    result = body(arg, err);
    PopActiveSnapshot();
    if (err->sqlstate == 0)
    {
        CommitTransactionCommand();
        return result;
    }
    augur_capture_give_back_on_abort(!last_attempt || is_transient(err->sqlstate));
    AbortCurrentTransaction();
    augur_capture_give_back_on_abort(true);
    return result;
}

typedef struct CycleStates
{
    int32       previous;
    int32       reported;
} CycleStates;

static bool
worker_cycle(void *states, augur_error *err)
{
    CycleStates *s = (CycleStates *) states;

    s->reported = augur_swift_worker_cycle(s->previous, augur_database, err);
    return true;
}

/* One cycle, in its own transaction. Returns the state the Swift cycle reported. */
static int32
run_cycle(int32 previous_state)
{
    static int  failures_in_a_row = 0;
    bool        last_attempt = failures_in_a_row + 1 >= AUGUR_FLUSH_ATTEMPTS;
    augur_error err;
    CycleStates states = {previous_state, previous_state};
    int32       state;

    pgstat_report_activity(STATE_RUNNING, "augur collector cycle");
    (void) in_transaction(worker_cycle, &states, &err, last_attempt);
    state = states.reported;
    if (err.sqlstate == 0 || is_transient(err.sqlstate))
        failures_in_a_row = 0;
    else if (last_attempt)
    {
        ereport(LOG,
                (errmsg("augur collector: a flush failed %d times in a row; what it drained is dropped",
                        AUGUR_FLUSH_ATTEMPTS),
                 errdetail_internal("%s", err.message),
                 errhint("augur.capture_status counts it under dropped.")));
        failures_in_a_row = 0;
    }
    else
        failures_in_a_row++;
    pgstat_report_stat(false);
    pgstat_report_activity(STATE_IDLE, NULL);

    if (err.sqlstate != 0)
        ereport(WARNING,
                (errcode(err.sqlstate),
                 errmsg("augur collector cycle failed: %s", err.message),
                 err.detail[0] ? errdetail_internal("%s", err.detail) : 0));
    record_cycle(state, &err);
    return state;
}

/*
 * SIGTERM (a clean shutdown, DROP DATABASE, pg_terminate_backend): what runs now is
 * cancelled at its next interrupt check, and the main loop flushes once more before it
 * exits, so that a clean restart loses nothing captured.
 */
static volatile sig_atomic_t shutdown_requested = false;

/* Milliseconds the worker waits for a lock (see augur_worker_main); under deadlock_timeout. */
#define AUGUR_WORKER_LOCK_TIMEOUT "200"

/* Most recommendations applied in one go, so that a long list cannot starve the flushes. */
#define AUGUR_APPLIES_PER_ROUND 8

static bool
next_apply(void *item, augur_error *err)
{
    return augur_swift_next_apply((augur_apply_item *) item, err);
}

typedef struct ApplyOutcome
{
    const augur_apply_item *item;
    bool        done;
    const char *error;
} ApplyOutcome;

static bool
finish_apply(void *outcome, augur_error *err)
{
    ApplyOutcome *o = (ApplyOutcome *) outcome;

    return augur_swift_finish_apply(o->item, o->done, o->error, err);
}

/*
 * Rolls back the applied changes that made their queries slower (augur.verify_calls
 * executions since, augur.rollback_threshold), then takes the next step placing an applied
 * sharding plan's keys (a shard move, a tenant isolated), then applies the approved
 * recommendations that are due (asked for with augur.apply(), or any while augur.maintenance_window is
 * open), each outside any transaction over a session of its own, so that CONCURRENTLY
 * works. An INVALID index a failed, cancelled or
 * interrupted build left is dropped before the build and after a failure. The outcome
 * goes to augur.recommendation and augur.action_log.
 */
static void
run_pending_applies(void)
{
    static MemoryContext apply_context = NULL;

    if (apply_context == NULL)
        apply_context = AllocSetContextCreate(TopMemoryContext, "augur apply", ALLOCSET_SMALL_SIZES);
    for (int i = 0; i < AUGUR_APPLIES_PER_ROUND; i++)
    {
        MemoryContext caller;
        augur_apply_item item;
        augur_error err;
        augur_error build;
        augur_error cleanup;
        ApplyOutcome outcome;
        int64_t     rows;

        memset(&item, 0, sizeof(item));
        if (!in_transaction(next_apply, &item, &err, false))
        {
            if (err.sqlstate != 0)
                ereport(WARNING,
                        (errcode(err.sqlstate),
                         errmsg("augur collector could not look for recommendations to apply: %s", err.message)));
            return;
        }
        /* No transaction from here: what the libpq calls allocate goes with this context. */
        caller = MemoryContextSwitchTo(apply_context);
        pgstat_report_activity(STATE_RUNNING, "augur collector applying a recommendation");
        if (item.index[0] != '\0')
            (void) augur_remote_drop_invalid_index(item.database, item.user, item.index, &cleanup);
        outcome.item = &item;
        outcome.done = augur_remote_execute(item.database, item.user, item.ddl, &rows, &build);
        outcome.error = outcome.done ? NULL : build.message;
        if (!outcome.done && item.index[0] != '\0')
            (void) augur_remote_drop_invalid_index(item.database, item.user, item.index, &cleanup);
        pgstat_report_activity(STATE_IDLE, NULL);
        MemoryContextSwitchTo(caller);
        MemoryContextReset(apply_context);
        if (!in_transaction(finish_apply, &outcome, &err, false) && err.sqlstate != 0)
            ereport(WARNING,
                    (errcode(err.sqlstate),
                     errmsg("augur collector could not record the outcome of recommendation %lld: %s",
                            (long long) item.id, err.message)));
    }
    /* More may be due (a plan's next shard move): look again at once rather than a naptime later. */
    pg_atomic_write_u32(&augur_shared->apply_requested, 1);
    SetLatch(MyLatch);
}

/* augur.apply() asks at commit, so that the worker sees the request when it looks. */
static bool wake_at_commit = false;

static void
wake_worker_callback(XactEvent event, void *arg)
{
    int         pid;
    PGPROC     *proc;

    if (event != XACT_EVENT_COMMIT && event != XACT_EVENT_ABORT &&
        event != XACT_EVENT_PARALLEL_COMMIT && event != XACT_EVENT_PARALLEL_ABORT)
        return;
    if (wake_at_commit && event == XACT_EVENT_COMMIT)
    {
        pg_atomic_write_u32(&augur_shared->apply_requested, 1);
        LWLockAcquire(augur_shared->lock, LW_SHARED);
        pid = augur_shared->worker.pid;
        LWLockRelease(augur_shared->lock);
        proc = pid != 0 ? BackendPidGetProc(pid) : NULL;
        if (proc != NULL)
            SetLatch(&proc->procLatch);
    }
    wake_at_commit = false;
}

void
augur_wake_worker_at_commit(void)
{
    static bool registered = false;

    augur_require_shared_state();
    if (!registered)
    {
        RegisterXactCallback(wake_worker_callback, NULL);
        registered = true;
    }
    wake_at_commit = true;
}

/*
 * Sleeps until augur.naptime has passed since the cycle started, so that cycles start
 * every naptime however long a flush takes (the flush lag stays within naptime plus one
 * flush). The latch is also set by things that are not for us (sinval catch-up after a
 * burst of DDL, for one), so a wake alone does not start a cycle; a reload does, so a new
 * naptime applies at once.
 */
static void
wait_for_next_cycle(TimestampTz cycle_started)
{
    TimestampTz due = TimestampTzPlusMilliseconds(cycle_started, augur_naptime * 1000L);

    for (;;)
    {
        long        seconds;
        int         microseconds;
        long        remaining;

        TimestampDifference(GetCurrentTimestamp(), due, &seconds, &microseconds);
        remaining = seconds * 1000L + microseconds / 1000;
        if (remaining <= 0)
            return;
        (void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
                         remaining, PG_WAIT_EXTENSION);
        ResetLatch(MyLatch);
        if (shutdown_requested || ConfigReloadPending)
            return;
        CHECK_FOR_INTERRUPTS();
        if (pg_atomic_exchange_u32(&augur_shared->apply_requested, 0) != 0)
            run_pending_applies();
    }
}


static void
request_shutdown(SIGNAL_ARGS)
{
    int         save_errno = errno;

    /* A second SIGTERM (the postmaster may send more than one) must not cancel the last flush. */
    if (!shutdown_requested)
    {
        QueryCancelPending = true;
        InterruptPending = true;
    }
    shutdown_requested = true;
    SetLatch(MyLatch);
    errno = save_errno;
}

/*
 * The last flush, then exit; a flush that fails is logged (what it drained is lost with
 * the server). Exit code 1, as die() gives: outside a shutdown (pg_terminate_backend) the
 * postmaster starts the worker again.
 */
static void
flush_and_exit(int32 state)
{
    QueryCancelPending = false;
    (void) run_cycle(state);    /* it flushes if the extension is there (now) */
    proc_exit(1);
}

void
augur_worker_main(Datum main_arg)
{
    int32       state = AUGUR_WORKER_STARTING;
    TimestampTz cycle_started;

    pqsignal(SIGHUP, SignalHandlerForConfigReload);
    pqsignal(SIGTERM, request_shutdown);
    BackgroundWorkerUnblockSignals();
    augur_capture_off_in_this_process = true;

    before_shmem_exit(clear_worker_pid, (Datum) 0);
    LWLockAcquire(augur_shared->lock, LW_EXCLUSIVE);
    augur_shared->worker.pid = MyProcPid;
    augur_shared->worker.started_at = GetCurrentTimestamp();
    augur_shared->worker.state = AUGUR_WORKER_STARTING;
    LWLockRelease(augur_shared->lock);

    BackgroundWorkerInitializeConnection(augur_database, NULL, 0);
    pgstat_report_appname("augur collector");
    /*
     * The worker yields to a DBA's DDL: a lock it waits for longer than this fails its
     * cycle (rolled back, what it drained put back) well before deadlock_timeout, so that
     * DROP EXTENSION, ALTER TABLE and the like never fail or deadlock because of it.
     */
    SetConfigOption("lock_timeout", AUGUR_WORKER_LOCK_TIMEOUT, PGC_SUSET, PGC_S_OVERRIDE);
    /*
     * Its statements are short and run every cycle: compiling one with LLVM (the flush of
     * a thousand sampled transactions passes jit_above_cost) took longer than running it.
     */
    SetConfigOption("jit", "off", PGC_SUSET, PGC_S_OVERRIDE);

    for (;;)
    {
        if (shutdown_requested)
            flush_and_exit(state);
        CHECK_FOR_INTERRUPTS();
        if (ConfigReloadPending)
        {
            ConfigReloadPending = false;
            ProcessConfigFile(PGC_SIGHUP);
        }

        cycle_started = GetCurrentTimestamp();
        state = run_cycle(state);
        if (state == AUGUR_WORKER_RUNNING && !shutdown_requested)
            run_pending_applies();
        wait_for_next_cycle(cycle_started);
    }
}
