/*
 * capture_errors.c: errors counted by SQLSTATE, per database and query id, from
 * emit_log_hook (the anomaly work reads them later).
 *
 * The hook runs while an error is being reported, so it must not raise or wait: it only
 * takes its lock conditionally, uses HASH_ENTER_NULL, and drops (counting) what does not
 * fit. The table holds AUGUR_ERROR_KINDS distinct (database, SQLSTATE, query id) kinds
 * between two flushes; the worker's drain empties it.
 */
#include "augur_internal.h"

#include "miscadmin.h"
#include "storage/proc.h"
#include "storage/shmem.h"
#include "utils/backend_status.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"

#define AUGUR_ERROR_KINDS 1024

typedef struct AugurErrorKey
{
    Oid         dbid;
    int32       sqlstate;
    int64       queryid;
} AugurErrorKey;

typedef struct AugurErrorEntry
{
    AugurErrorKey key;          /* hash key; must be first */
    int64       count;
    TimestampTz first_seen;
    TimestampTz last_seen;
} AugurErrorEntry;

static HTAB *augur_errors = NULL;

Size
augur_errors_shmem_size(void)
{
    return hash_estimate_size(AUGUR_ERROR_KINDS, sizeof(AugurErrorEntry));
}

void
augur_errors_shmem_init(void)
{
    augur_errors = augur_fixed_shared_hash("augur errors", AUGUR_ERROR_KINDS,
                                           sizeof(AugurErrorKey), sizeof(AugurErrorEntry));
}

void
augur_errors_record(const ErrorData *edata)
{
    AugurErrorKey key;
    AugurErrorEntry *entry;
    bool        found;
    TimestampTz now;

    /* Only backends count: the postmaster has no PGPROC to take a lock with. */
    if (edata->elevel != ERROR || MyProc == NULL)
        return;

    memset(&key, 0, sizeof(key));
    key.dbid = MyDatabaseId;
    key.sqlstate = edata->sqlerrcode;
#if PG_VERSION_NUM >= 140000
    key.queryid = (int64) pgstat_get_my_query_id();
#endif
    now = GetCurrentTimestamp();

    if (!LWLockConditionalAcquire(augur_shared->errors_lock, LW_EXCLUSIVE))
    {
        pg_atomic_fetch_add_u64(&augur_shared->dropped, 1);
        return;
    }
    entry = hash_search(augur_errors, &key, HASH_ENTER_NULL, &found);
    if (entry == NULL)
        pg_atomic_fetch_add_u64(&augur_shared->dropped, 1);
    else
    {
        if (!found)
        {
            entry->count = 0;
            entry->first_seen = now;
        }
        entry->count++;
        entry->last_seen = now;
    }
    LWLockRelease(augur_shared->errors_lock);
}

/* Moves every counted error kind into out (capture.c's drain, under the guard). */
void
augur_errors_drain(augur_capture_batch *out)
{
    HASH_SEQ_STATUS scan;
    AugurErrorEntry *entry;
    int32       n = 0;

    out->errors = MemoryContextAllocZero(out->memory, sizeof(augur_error_sample) * AUGUR_ERROR_KINDS);
    LWLockAcquire(augur_shared->errors_lock, LW_EXCLUSIVE);
    hash_seq_init(&scan, augur_errors);
    while ((entry = hash_seq_search(&scan)) != NULL)
    {
        augur_error_sample *sample = &out->errors[n++];

        sample->dbid = entry->key.dbid;
        strlcpy(sample->sqlstate, unpack_sql_state(entry->key.sqlstate), sizeof(sample->sqlstate));
        sample->queryid = entry->key.queryid;
        sample->count = entry->count;
        sample->first_seen = (int64_t) entry->first_seen;
        sample->last_seen = (int64_t) entry->last_seen;
        hash_search(augur_errors, &entry->key, HASH_REMOVE, NULL);
    }
    LWLockRelease(augur_shared->errors_lock);
    out->error_count = n;
}

/* Puts drained error counts back (their flush's transaction aborted). */
void
augur_errors_return(const augur_capture_batch *batch)
{
    LWLockAcquire(augur_shared->errors_lock, LW_EXCLUSIVE);
    for (int32 i = 0; i < batch->error_count; i++)
    {
        const augur_error_sample *sample = &batch->errors[i];
        AugurErrorKey key;
        AugurErrorEntry *entry;
        bool        found;

        memset(&key, 0, sizeof(key));
        key.dbid = sample->dbid;
        key.sqlstate = MAKE_SQLSTATE(sample->sqlstate[0], sample->sqlstate[1], sample->sqlstate[2],
                                     sample->sqlstate[3], sample->sqlstate[4]);
        key.queryid = sample->queryid;
        entry = hash_search(augur_errors, &key, HASH_ENTER_NULL, &found);
        if (entry == NULL)
        {
            pg_atomic_fetch_add_u64(&augur_shared->dropped, (uint64) Max(sample->count, 0));
            continue;
        }
        if (!found)
        {
            entry->count = 0;
            entry->first_seen = (TimestampTz) sample->first_seen;
            entry->last_seen = (TimestampTz) sample->last_seen;
        }
        entry->count += sample->count;
        entry->first_seen = Min(entry->first_seen, (TimestampTz) sample->first_seen);
        entry->last_seen = Max(entry->last_seen, (TimestampTz) sample->last_seen);
    }
    LWLockRelease(augur_shared->errors_lock);
}
