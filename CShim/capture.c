/*
 * capture.c: per-query execution statistics in shared memory.
 *
 * One entry per (userid, dbid, queryid, toplevel), in a fixed-size shared hash sized by
 * augur.max_queries. Backends add to an entry's pending counters under its spinlock while
 * holding the table lock shared; the worker drains pending counters into augur.query.
 * Nothing here ever waits: if the table lock is busy (an insert or an eviction holds it),
 * the execution is dropped and counted. A full table evicts its least-used entries
 * (usage decays at each eviction, as in pg_stat_statements); their unflushed counts are
 * lost and counted as evictions.
 */
#include "augur_internal.h"

#include "access/xact.h"
#include "common/hashfn.h"
#include "miscadmin.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "utils/builtins.h"
#include "common/pg_prng.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"

#define USAGE_DECAY 0.99
#define EVICT_FRACTION 0.05
#define EVICT_MINIMUM 10

typedef struct AugurQueryKey
{
    Oid         userid;
    Oid         dbid;
    int64       queryid;
    bool        toplevel;
} AugurQueryKey;

typedef struct AugurQueryEntry
{
    AugurQueryKey key;          /* hash key; must be first */
    slock_t     mutex;          /* guards everything below */
    int64       calls;          /* pending: since the last drain */
    double      total_time_ms;
    double      max_time_ms;
    int64       rows;
    double      usage;
    TimestampTz first_seen;
    TimestampTz last_seen;
    bool        shape_drained;  /* shape already handed to the worker */
    bool        has_histogram;  /* histogram below formatted (augur.histogram_bytes > 0) */
    augur_query_example example;    /* one execution of this window, uniformly chosen */
    AugurQueryShape shape;      /* set once, under the exclusive lock */
    /* followed by augur.histogram_bytes of latency histogram, guarded by mutex */
} AugurQueryEntry;

static HTAB *augur_queries = NULL;

/*
 * Shapes a defining statement replaced before a drain took them (one CREATE TABLE AS
 * text writing two objects between two flushes), kept for the next drain so that each
 * object's lineage is recorded. Guarded by the queries lock, held exclusively.
 */
#define AUGUR_REPLACED_SHAPES 16
typedef struct ReplacedShapes
{
    int32       count;
    AugurQueryKey keys[AUGUR_REPLACED_SHAPES];
    AugurQueryShape shapes[AUGUR_REPLACED_SHAPES];
} ReplacedShapes;

static ReplacedShapes *replaced_shapes = NULL;

/* Each entry carries its latency histogram right after it (the core's fixed layout). */
static Size
entry_size(void)
{
    return MAXALIGN(sizeof(AugurQueryEntry)) + (Size) augur_histogram_bytes;
}

static void *
entry_histogram(AugurQueryEntry *entry)
{
    return (char *) entry + MAXALIGN(sizeof(AugurQueryEntry));
}

Size
augur_capture_shmem_size(void)
{
    return add_size(hash_estimate_size(augur_max_queries, entry_size()), sizeof(ReplacedShapes));
}

void
augur_capture_shmem_init(void)
{
    bool        found;

    augur_queries = augur_fixed_shared_hash("augur queries", augur_max_queries,
                                            sizeof(AugurQueryKey), entry_size());
    replaced_shapes = ShmemInitStruct("augur replaced shapes", sizeof(ReplacedShapes), &found);
    if (!found)
        replaced_shapes->count = 0;
}


static int
compare_usage(const void *a, const void *b)
{
    double      left = (*(AugurQueryEntry *const *) a)->usage;
    double      right = (*(AugurQueryEntry *const *) b)->usage;

    return left < right ? -1 : (left > right ? 1 : 0);
}

static void
count_dropped(void)
{
    pg_atomic_fetch_add_u64(&augur_shared->dropped, 1);
}

/* Keeps a shape for the next drain; caller holds the queries lock exclusively. */
static void
keep_replaced_shape(const AugurQueryKey *key, const AugurQueryShape *shape)
{
    if (replaced_shapes->count >= AUGUR_REPLACED_SHAPES)
    {
        count_dropped();
        return;
    }
    replaced_shapes->keys[replaced_shapes->count] = *key;
    replaced_shapes->shapes[replaced_shapes->count] = *shape;
    replaced_shapes->count++;
}

/*
 * Evicts the least-used entries; caller holds the queries lock exclusively. Runs inside
 * a user's statement, so it must not raise: without memory it evicts nothing, and the
 * insert that needed room is dropped instead.
 */
static void
evict_least_used(void)
{
    HASH_SEQ_STATUS scan;
    AugurQueryEntry **entries;
    AugurQueryEntry *entry;
    long        count = hash_get_num_entries(augur_queries);
    long        victims;
    long        i = 0;

    entries = palloc_extended(sizeof(AugurQueryEntry *) * Max(count, 1), MCXT_ALLOC_NO_OOM);
    if (entries == NULL)
        return;
    hash_seq_init(&scan, augur_queries);
    while ((entry = hash_seq_search(&scan)) != NULL)
    {
        entries[i++] = entry;
        entry->usage *= USAGE_DECAY;
    }
    qsort(entries, i, sizeof(AugurQueryEntry *), compare_usage);
    victims = Min(i, Max((long) (i * EVICT_FRACTION), EVICT_MINIMUM));
    for (long v = 0; v < victims; v++)
        hash_search(augur_queries, &entries[v]->key, HASH_REMOVE, NULL);
    pfree(entries);
    pg_atomic_fetch_add_u64(&augur_shared->evictions, victims);
}

/* Creates an entry (or returns the existing one); caller holds the lock exclusively. */
static AugurQueryEntry *
create_entry(const AugurQueryKey *key, const AugurQueryShape *shape)
{
    AugurQueryEntry *entry;
    bool        found;

    if (hash_get_num_entries(augur_queries) >= augur_max_queries)
        evict_least_used();
    /* HASH_ENTER_NULL: a surprise never raises into the user's statement. */
    entry = hash_search(augur_queries, key, HASH_ENTER_NULL, &found);
    if (entry == NULL)
    {
        count_dropped();
        return NULL;
    }
    if (!found)
    {
        SpinLockInit(&entry->mutex);
        entry->calls = 0;
        entry->total_time_ms = 0;
        entry->max_time_ms = 0;
        entry->rows = 0;
        entry->usage = 1.0;
        entry->first_seen = GetCurrentStatementStartTimestamp();
        entry->last_seen = entry->first_seen;
        entry->shape_drained = false;
        entry->example.present = false;
        entry->has_histogram = augur_histogram_bytes > 0 &&
            augur_swift_histogram_format(entry_histogram(entry), augur_histogram_bytes);
        entry->shape.text[0] = '\0';
        entry->shape.nrelations = 0;
        entry->shape.ncolumns = 0;
        entry->shape.njoins = 0;
        entry->shape.nlineage = 0;
    }
    if (shape != NULL && entry->shape.text[0] == '\0')
        entry->shape = *shape;
    return entry;
}

static void
make_key(AugurQueryKey *key, int64 queryid, bool toplevel)
{
    memset(key, 0, sizeof(*key));   /* padding is hashed too (HASH_BLOBS) */
    key->userid = GetUserId();
    key->dbid = MyDatabaseId;
    key->queryid = queryid;
    key->toplevel = toplevel;
}

bool
augur_capture_has_shape(int64 queryid, bool toplevel)
{
    AugurQueryKey key;
    AugurQueryEntry *entry;
    bool        known = false;

    make_key(&key, queryid, toplevel);
    if (!LWLockConditionalAcquire(augur_shared->queries_lock, LW_SHARED))
        return true;            /* busy: try again on a later parse */
    entry = hash_search(augur_queries, &key, HASH_FIND, NULL);
    known = entry != NULL && entry->shape.text[0] != '\0';
    LWLockRelease(augur_shared->queries_lock);
    return known;
}

/*
 * Keeps a query's shape (its first: a shape is stable once set). With `replacing`, for a
 * statement that defines an object and so is shaped again after each run: a shape that
 * differs from the one kept (another object written) replaces it and goes to the next
 * flush, which adds its lineage to what earlier objects had; one not handed over yet
 * waits among the replaced shapes.
 */
void
augur_capture_store_shape(int64 queryid, bool toplevel, const AugurQueryShape *shape, bool replacing)
{
    AugurQueryKey key;
    AugurQueryEntry *entry;

    make_key(&key, queryid, toplevel);
    if (!LWLockConditionalAcquire(augur_shared->queries_lock, LW_EXCLUSIVE))
    {
        count_dropped();
        return;
    }
    entry = create_entry(&key, shape);
    /* The exclusive lock keeps every reader of the shape out (drains hold it shared). */
    if (replacing && entry != NULL && memcmp(&entry->shape, shape, sizeof(*shape)) != 0)
    {
        if (!entry->shape_drained && entry->shape.text[0] != '\0')
            keep_replaced_shape(&entry->key, &entry->shape);
        entry->shape = *shape;
        entry->shape_drained = false;
    }
    LWLockRelease(augur_shared->queries_lock);
}

/*
 * Counts one execution. Returns whether it should become the window's example: the n-th
 * execution of a window replaces the example with probability 1/n (a reservoir of one),
 * so the example is uniformly chosen among the window's executions, and is taken about
 * ln(n) times per window rather than n.
 */
bool
augur_capture_record(int64 queryid, bool toplevel, double time_ms, uint64 rows)
{
    AugurQueryKey key;
    AugurQueryEntry *entry;
    TimestampTz now = GetCurrentStatementStartTimestamp();
    int64       calls;

    make_key(&key, queryid, toplevel);
    if (!LWLockConditionalAcquire(augur_shared->queries_lock, LW_SHARED))
    {
        count_dropped();
        return false;
    }
    entry = hash_search(augur_queries, &key, HASH_FIND, NULL);
    if (entry == NULL)
    {
        /* First execution seen without a parse (text evicted or dropped): insert. */
        LWLockRelease(augur_shared->queries_lock);
        if (!LWLockConditionalAcquire(augur_shared->queries_lock, LW_EXCLUSIVE))
        {
            count_dropped();
            return false;
        }
        entry = create_entry(&key, NULL);
        if (entry == NULL)
        {
            LWLockRelease(augur_shared->queries_lock);
            return false;
        }
    }
    SpinLockAcquire(&entry->mutex);
    entry->calls++;
    entry->total_time_ms += time_ms;
    entry->max_time_ms = Max(entry->max_time_ms, time_ms);
    entry->rows += rows;
    entry->usage += 1.0;
    entry->last_seen = now;
    if (entry->has_histogram)
        augur_swift_histogram_record(entry_histogram(entry), (uint64) (time_ms * 1000000.0));
    calls = entry->calls;
    SpinLockRelease(&entry->mutex);
    LWLockRelease(augur_shared->queries_lock);
    /* The 1/n draw, outside the locks and in integers. */
    return pg_prng_uint64(&pg_global_prng_state) % (uint64) Max(calls, 1) == 0;
}

/* Makes an execution the query's example for this window (see augur_capture_record). */
void
augur_capture_store_example(int64 queryid, bool toplevel, const augur_query_example *example)
{
    AugurQueryKey key;
    AugurQueryEntry *entry;

    make_key(&key, queryid, toplevel);
    if (!LWLockConditionalAcquire(augur_shared->queries_lock, LW_SHARED))
        return;
    entry = hash_search(augur_queries, &key, HASH_FIND, NULL);
    if (entry != NULL)
    {
        SpinLockAcquire(&entry->mutex);
        entry->example = *example;
        SpinLockRelease(&entry->mutex);
    }
    LWLockRelease(augur_shared->queries_lock);
}

/*
 * Hands the pending counters of every entry that ran since the last drain, and every
 * shape not handed over yet, to the worker, and zeroes the counters. The table lock is
 * held shared only while copying.
 */
static void
drain_queries(augur_capture_batch *out)
{
    HASH_SEQ_STATUS scan;
    AugurQueryEntry *entry;
    long        capacity;
    int32       n = 0;
    void       *spare_histogram = NULL;
    augur_query_example *spare_example = NULL;

    LWLockAcquire(augur_shared->queries_lock, LW_SHARED);
    capacity = Max(hash_get_num_entries(augur_queries), 1);
    out->queries = MemoryContextAllocZero(out->memory, sizeof(augur_query_sample) * capacity);
    hash_seq_init(&scan, augur_queries);
    while ((entry = hash_seq_search(&scan)) != NULL)
    {
        augur_query_sample *sample = &out->queries[n];
        bool        with_shape;

        if (n >= capacity)
        {
            hash_seq_term(&scan);
            break;
        }
        /* Room for the histogram's window, taken before the spinlock (palloc may raise). */
        if (spare_histogram == NULL && augur_histogram_bytes > 0)
            spare_histogram = MemoryContextAlloc(out->memory, augur_histogram_bytes);
        if (spare_example == NULL)
            spare_example = MemoryContextAlloc(out->memory, sizeof(augur_query_example));
        SpinLockAcquire(&entry->mutex);
        /*
         * Skip entries with nothing new. A top-level text without a call is kept: it is
         * most often a statement that failed, and augur.errors shows its text. Nested
         * texts without calls (a view's query inside CREATE VIEW, say) are not.
         */
        if (entry->calls == 0 &&
            (entry->shape_drained || entry->shape.text[0] == '\0' || !entry->key.toplevel))
        {
            SpinLockRelease(&entry->mutex);
            continue;
        }
        sample->userid = entry->key.userid;
        sample->dbid = entry->key.dbid;
        sample->queryid = entry->key.queryid;
        sample->toplevel = entry->key.toplevel;
        sample->calls = entry->calls;
        sample->total_time_ms = entry->total_time_ms;
        sample->max_time_ms = entry->max_time_ms;
        sample->rows = entry->rows;
        sample->first_seen = (int64_t) entry->first_seen;
        sample->last_seen = (int64_t) entry->last_seen;
        with_shape = !entry->shape_drained && entry->shape.text[0] != '\0';
        /* The window's latencies go with its counters; the layout stays for the next one. */
        if (entry->has_histogram && entry->calls > 0 && spare_histogram != NULL)
        {
            memcpy(spare_histogram, entry_histogram(entry), augur_histogram_bytes);
            augur_swift_histogram_reset(entry_histogram(entry));
            sample->histogram = spare_histogram;
            sample->histogram_bytes = augur_histogram_bytes;
            spare_histogram = NULL;
        }
        if (entry->example.present && spare_example != NULL)
        {
            *spare_example = entry->example;
            sample->example = spare_example;
            spare_example = NULL;
            entry->example.present = false;
        }
        entry->calls = 0;
        entry->total_time_ms = 0;
        entry->max_time_ms = 0;
        entry->rows = 0;
        if (with_shape)
            entry->shape_drained = true;
        SpinLockRelease(&entry->mutex);
        /* The shape is stable once set, so it can be copied outside the spinlock. */
        if (with_shape)
        {
            augur_query_shape *copy = MemoryContextAlloc(out->memory, sizeof(augur_query_shape));

            *copy = entry->shape;
            sample->shape = copy;
        }
        n++;
    }
    LWLockRelease(augur_shared->queries_lock);
    out->query_count = n;
}

/* The capture table's key of a drained sample. */
static void
sample_key(const augur_query_sample *sample, AugurQueryKey *key)
{
    memset(key, 0, sizeof(*key));   /* padding is hashed too (HASH_BLOBS) */
    key->userid = sample->userid;
    key->dbid = sample->dbid;
    key->queryid = sample->queryid;
    key->toplevel = sample->toplevel;
}

/*
 * Puts a drained query sample back (its transaction aborted): counters are added to the
 * entry, the window's latencies merged into its histogram, the example and the shape
 * handed over again. An entry evicted meanwhile cannot take them: its calls count as
 * dropped, as an eviction's would.
 */
static void
return_query(const augur_query_sample *sample)
{
    AugurQueryKey key;
    AugurQueryEntry *entry;

    sample_key(sample, &key);
    entry = hash_search(augur_queries, &key, HASH_FIND, NULL);
    if (entry == NULL)
    {
        pg_atomic_fetch_add_u64(&augur_shared->dropped, (uint64) Max(sample->calls, 0));
        return;
    }
    SpinLockAcquire(&entry->mutex);
    entry->calls += sample->calls;
    entry->total_time_ms += sample->total_time_ms;
    entry->max_time_ms = Max(entry->max_time_ms, sample->max_time_ms);
    entry->rows += sample->rows;
    entry->first_seen = Min(entry->first_seen, (TimestampTz) sample->first_seen);
    entry->last_seen = Max(entry->last_seen, (TimestampTz) sample->last_seen);
    if (sample->histogram != NULL && entry->has_histogram &&
        sample->histogram_bytes == augur_histogram_bytes)
        augur_swift_histogram_merge(entry_histogram(entry), sample->histogram);
    if (sample->example != NULL && !entry->example.present)
        entry->example = *sample->example;
    if (sample->shape != NULL)
        entry->shape_drained = false;
    SpinLockRelease(&entry->mutex);
}

/* ---- a drained batch until its transaction ends --------------------------------- */

/*
 * What a flush drained belongs to the (sub)transaction that drained it until that ends:
 * on commit its rows are in augur.* and it is freed; on an abort of the transaction, or
 * of the subtransaction it was drained in, it goes back to shared memory, so that a
 * rolled-back flush (BEGIN; SELECT augur.flush(); ROLLBACK) loses nothing.
 */
typedef struct PendingBatch
{
    augur_capture_batch batch;
    SubTransactionId subid;
    struct PendingBatch *next;
} PendingBatch;

static PendingBatch *pending_batches = NULL;

/* Whether an abort gives the batches back (the worker turns it off for a flush that keeps failing). */
static bool give_back_on_abort = true;

void
augur_capture_give_back_on_abort(bool give_back)
{
    give_back_on_abort = give_back;
}

/* What a batch held, counted as dropped (augur.capture_status): it is not given back. */
static void
drop_batch(const augur_capture_batch *batch)
{
    uint64      lost = 0;

    for (int32 i = 0; i < batch->query_count; i++)
        lost += (uint64) Max(batch->queries[i].calls, 0);
    for (int32 i = 0; i < batch->error_count; i++)
        lost += (uint64) Max(batch->errors[i].count, 0);
    pg_atomic_fetch_add_u64(&augur_shared->dropped, lost);
}

static void
return_batch(const augur_capture_batch *batch)
{
    LWLockAcquire(augur_shared->queries_lock, LW_EXCLUSIVE);
    for (int32 i = 0; i < batch->query_count; i++)
        return_query(&batch->queries[i]);
    for (int32 i = 0; i < batch->replaced_count; i++)
    {
        AugurQueryKey key;

        sample_key(&batch->replaced[i], &key);
        keep_replaced_shape(&key, batch->replaced[i].shape);
    }
    LWLockRelease(augur_shared->queries_lock);
    augur_errors_return(batch);
    augur_sampling_return(batch);
}

/* Frees (returning them first when `give_back`) the batches drained at `subid`, or all. */
static void
end_pending(bool give_back, bool all, SubTransactionId subid)
{
    PendingBatch **link = &pending_batches;

    while (*link != NULL)
    {
        PendingBatch *batch = *link;

        if (!all && batch->subid != subid)
        {
            link = &batch->next;
            continue;
        }
        *link = batch->next;
        if (give_back && augur_shared != NULL)
        {
            if (give_back_on_abort)
                return_batch(&batch->batch);
            else
                drop_batch(&batch->batch);
        }
        /* The batch lives in the memory it owns. */
        MemoryContextDelete((MemoryContext) batch->batch.memory);
    }
}

static void
pending_xact_callback(XactEvent event, void *arg)
{
    switch (event)
    {
        case XACT_EVENT_COMMIT:
        case XACT_EVENT_PARALLEL_COMMIT:
        case XACT_EVENT_PREPARE:
            end_pending(false, true, InvalidSubTransactionId);
            break;
        case XACT_EVENT_ABORT:
        case XACT_EVENT_PARALLEL_ABORT:
            end_pending(true, true, InvalidSubTransactionId);
            break;
        default:
            break;
    }
}

static void
pending_subxact_callback(SubXactEvent event, SubTransactionId subid, SubTransactionId parent, void *arg)
{
    if (event == SUBXACT_EVENT_ABORT_SUB)
        end_pending(true, false, subid);
    else if (event == SUBXACT_EVENT_COMMIT_SUB)
    {
        for (PendingBatch *batch = pending_batches; batch != NULL; batch = batch->next)
            if (batch->subid == subid)
                batch->subid = parent;
    }
}

void
augur_install_drain_callbacks(void)
{
    RegisterXactCallback(pending_xact_callback, NULL);
    RegisterSubXactCallback(pending_subxact_callback, NULL);
}

static bool
is_pending(const augur_capture_batch *batch)
{
    for (PendingBatch *pending = pending_batches; pending != NULL; pending = pending->next)
        if (batch->memory != NULL && pending->batch.memory == batch->memory)
            return true;
    return false;
}

/* Takes the replaced shapes kept since the last drain, as samples without counters. */
static void
drain_replaced_shapes(augur_capture_batch *out)
{
    augur_query_sample *samples = MemoryContextAllocZero(out->memory, sizeof(augur_query_sample) * AUGUR_REPLACED_SHAPES);
    augur_query_shape *shapes = MemoryContextAlloc(out->memory, sizeof(augur_query_shape) * AUGUR_REPLACED_SHAPES);

    LWLockAcquire(augur_shared->queries_lock, LW_EXCLUSIVE);
    for (int32 i = 0; i < replaced_shapes->count; i++)
    {
        const AugurQueryKey *key = &replaced_shapes->keys[i];

        samples[i].userid = key->userid;
        samples[i].dbid = key->dbid;
        samples[i].queryid = key->queryid;
        samples[i].toplevel = key->toplevel;
        shapes[i] = replaced_shapes->shapes[i];
        samples[i].shape = &shapes[i];
    }
    out->replaced_count = replaced_shapes->count;
    out->replaced = samples;
    replaced_shapes->count = 0;
    LWLockRelease(augur_shared->queries_lock);
}

/* Runs under the guard: it pallocs, and copying can fail only by raising. */
static void
drain_body(void *arg)
{
    augur_capture_batch *out = (augur_capture_batch *) arg;

    PendingBatch *pending;

    /* Kept past the caller's memory until the transaction ends (see PendingBatch). */
    MemoryContextSwitchTo(TopMemoryContext);
    augur_owned_memory(&out->memory);
    pending = MemoryContextAllocZero((MemoryContext) out->memory, sizeof(PendingBatch));
    drain_queries(out);
    drain_replaced_shapes(out);
    augur_errors_drain(out);
    augur_sampling_drain(out);
    /* Nothing below can fail: the batch is registered once everything is taken. */
    pending->batch = *out;
    pending->next = pending_batches;
    pending_batches = pending;
}

bool
augur_capture_drain(augur_capture_batch *out, augur_error *err)
{
    memset(out, 0, sizeof(*out));
    if (augur_shared == NULL)
        return true;
    if (!augur_guarded(drain_body, out, err))
    {
        augur_capture_drain_free(out);
        return false;
    }
    /* Drained in the guard's own subtransaction, which is gone: it is the caller's now. */
    pending_batches->subid = GetCurrentSubTransactionId();
    return true;
}

/* The batch stays until its transaction ends (freed, or returned on abort). */
void
augur_capture_drain_free(augur_capture_batch *batch)
{
    if (!is_pending(batch))
        augur_free_owned_memory(&batch->memory);
    memset(batch, 0, sizeof(*batch));
}

int64
augur_capture_entry_count(void)
{
    int64       count;

    LWLockAcquire(augur_shared->queries_lock, LW_SHARED);
    count = hash_get_num_entries(augur_queries);
    LWLockRelease(augur_shared->queries_lock);
    return count;
}

void
augur_capture_note_installation(uint32_t extension_oid)
{
    HASH_SEQ_STATUS scan;
    AugurQueryEntry *entry;
    bool        changed;

    if (augur_shared == NULL)
        return;
    LWLockAcquire(augur_shared->lock, LW_EXCLUSIVE);
    changed = augur_shared->installation != (Oid) extension_oid;
    augur_shared->installation = (Oid) extension_oid;
    LWLockRelease(augur_shared->lock);
    if (!changed)
        return;
    LWLockAcquire(augur_shared->queries_lock, LW_SHARED);
    hash_seq_init(&scan, augur_queries);
    while ((entry = hash_seq_search(&scan)) != NULL)
    {
        SpinLockAcquire(&entry->mutex);
        entry->shape_drained = false;
        SpinLockRelease(&entry->mutex);
    }
    LWLockRelease(augur_shared->queries_lock);
}

void
augur_capture_note_flush(int64_t samples)
{
    if (augur_shared == NULL)
        return;
    LWLockAcquire(augur_shared->lock, LW_EXCLUSIVE);
    augur_shared->last_flush_at = GetCurrentTimestamp();
    augur_shared->flushed_samples += samples;
    LWLockRelease(augur_shared->lock);
}
