/*
 * shmem.c: Augur's shared memory segment and its named LWLock tranche.
 *
 * PostgreSQL 15 introduced shmem_request_hook; earlier releases request space directly
 * from _PG_init. The segment holds AugurSharedState, the capture table (sized by
 * augur.max_queries) and the error counts.
 */
#include "augur_internal.h"

#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/shmem.h"
#include "utils/hsearch.h"

#define AUGUR_TRANCHE "augur"

AugurSharedState *augur_shared = NULL;

static shmem_startup_hook_type prev_shmem_startup_hook = NULL;
#if PG_VERSION_NUM >= 150000
static shmem_request_hook_type prev_shmem_request_hook = NULL;
#endif

/* The tranche's locks: AugurSharedState.lock, .queries_lock, .errors_lock, .sampling_lock. */
#define AUGUR_LOCKS 4

static Size
augur_shared_size(void)
{
    return MAXALIGN(sizeof(AugurSharedState));
}

static void
request_space(void)
{
    RequestAddinShmemSpace(add_size(add_size(augur_shared_size(), augur_sampling_shmem_size()),
                                    add_size(augur_capture_shmem_size(), augur_errors_shmem_size())));
    RequestNamedLWLockTranche(AUGUR_TRANCHE, AUGUR_LOCKS);
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
        LWLockPadded *locks = GetNamedLWLockTranche(AUGUR_TRANCHE);

        memset(augur_shared, 0, augur_shared_size());
        augur_shared->lock = &locks[0].lock;
        augur_shared->queries_lock = &locks[1].lock;
        augur_shared->errors_lock = &locks[2].lock;
        augur_shared->sampling_lock = &locks[3].lock;
        augur_shared->worker.state = AUGUR_WORKER_STARTING;
        pg_atomic_init_u64(&augur_shared->evictions, 0);
        pg_atomic_init_u64(&augur_shared->dropped, 0);
        pg_atomic_init_u32(&augur_shared->apply_requested, 0);
    }
    augur_capture_shmem_init();
    augur_errors_shmem_init();
    augur_sampling_shmem_init();
    LWLockRelease(AddinShmemInitLock);
}

void
augur_install_shmem_startup_hook(void)
{
    prev_shmem_startup_hook = shmem_startup_hook;
    shmem_startup_hook = augur_shmem_startup;
}

/* A shared hash table of exactly `entries` entries, all allocated at startup. */
HTAB *
augur_fixed_shared_hash(const char *name, long entries, Size keysize, Size entrysize)
{
    HASHCTL     info;

    memset(&info, 0, sizeof(info));
    info.keysize = keysize;
    info.entrysize = entrysize;
    return ShmemInitHash(name, entries, entries, &info, HASH_ELEM | HASH_BLOBS);
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
