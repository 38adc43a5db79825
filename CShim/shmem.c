/*
 * shmem.c: Augur's shared memory segment and its named LWLock tranche.
 *
 * PostgreSQL 15 introduced shmem_request_hook; earlier releases request space directly
 * from _PG_init. Later issues grow AugurSharedState (query table, histograms) sized by
 * augur.max_queries.
 */
#include "augur_internal.h"

#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/shmem.h"

#define AUGUR_TRANCHE "augur"

AugurSharedState *augur_shared = NULL;

static shmem_startup_hook_type prev_shmem_startup_hook = NULL;
#if PG_VERSION_NUM >= 150000
static shmem_request_hook_type prev_shmem_request_hook = NULL;
#endif

static Size
augur_shared_size(void)
{
    return MAXALIGN(sizeof(AugurSharedState));
}

static void
request_space(void)
{
    RequestAddinShmemSpace(augur_shared_size());
    RequestNamedLWLockTranche(AUGUR_TRANCHE, 1);
}

#if PG_VERSION_NUM >= 150000
static void
augur_shmem_request(void)
{
    if (prev_shmem_request_hook)
        prev_shmem_request_hook();
    request_space();
}
#endif

void
augur_request_shared_memory(void)
{
#if PG_VERSION_NUM >= 150000
    prev_shmem_request_hook = shmem_request_hook;
    shmem_request_hook = augur_shmem_request;
#else
    request_space();
#endif
}

static void
augur_shmem_startup(void)
{
    bool        found;

    if (prev_shmem_startup_hook)
        prev_shmem_startup_hook();

    LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
    augur_shared = ShmemInitStruct("augur", augur_shared_size(), &found);
    if (!found)
    {
        memset(augur_shared, 0, augur_shared_size());
        augur_shared->lock = &(GetNamedLWLockTranche(AUGUR_TRANCHE))->lock;
        augur_shared->worker.state = AUGUR_WORKER_STARTING;
    }
    LWLockRelease(AddinShmemInitLock);
}

void
augur_install_shmem_startup_hook(void)
{
    prev_shmem_startup_hook = shmem_startup_hook;
    shmem_startup_hook = augur_shmem_startup;
}

void
augur_require_shared_state(void)
{
    if (augur_shared == NULL)
        ereport(ERROR,
                (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                 errmsg("augur must be loaded via shared_preload_libraries"),
                 errhint("Add augur to shared_preload_libraries in postgresql.conf and restart the server.")));
}
