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
#include "tcop/tcopprot.h"
#include "utils/guc.h"
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

/* One cycle, in its own transaction. Returns the state the Swift cycle reported. */
static int32
run_cycle(int32 previous_state)
{
    augur_error err;
    int32       state;

    SetCurrentStatementStartTimestamp();
    StartTransactionCommand();
    PushActiveSnapshot(GetTransactionSnapshot());
    pgstat_report_activity(STATE_RUNNING, "augur collector cycle");

    state = augur_swift_worker_cycle(previous_state, augur_database, &err);

    PopActiveSnapshot();
    CommitTransactionCommand();
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
        CHECK_FOR_INTERRUPTS();
        if (ConfigReloadPending)
            return;
    }
}

void
augur_worker_main(Datum main_arg)
{
    int32       state = AUGUR_WORKER_STARTING;
    TimestampTz cycle_started;

    pqsignal(SIGHUP, SignalHandlerForConfigReload);
    pqsignal(SIGTERM, die);
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

    for (;;)
    {
        CHECK_FOR_INTERRUPTS();
        if (ConfigReloadPending)
        {
            ConfigReloadPending = false;
            ProcessConfigFile(PGC_SIGHUP);
        }

        cycle_started = GetCurrentTimestamp();
        state = run_cycle(state);
        wait_for_next_cycle(cycle_started);
    }
}
