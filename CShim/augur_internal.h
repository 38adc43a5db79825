/*
 * augur_internal.h: declarations shared by the C shim's files. Unlike augur_shim.h this
 * may include PostgreSQL headers; Swift never sees it.
 */
#ifndef AUGUR_INTERNAL_H
#define AUGUR_INTERNAL_H

#include "postgres.h"

#include "storage/lwlock.h"
#include "utils/elog.h"
#include "nodes/parsenodes.h"
#include "port/atomics.h"
#include "utils/timestamp.h"
#if PG_VERSION_NUM >= 160000
#include "nodes/queryjumble.h"
#elif PG_VERSION_NUM >= 140000
#include "utils/queryjumble.h"
#else
typedef struct JumbleState JumbleState;    /* no core query id before 14 */
#endif

#include "augur_shim.h"

/* GUCs (module.c) */
extern bool   augur_enabled;
extern char  *augur_database;
extern int    augur_naptime;
extern int    augur_max_queries;
extern double augur_sample_rate;
extern int    augur_max_sampled_xacts;
extern int    augur_histogram_bytes;
extern char  *augur_maintenance_window;
extern int    augur_track;
extern int    augur_coaccess_half_life;
extern int    augur_dictionary_interval;

typedef enum AugurTrack
{
    AUGUR_TRACK_NONE,
    AUGUR_TRACK_TOP,
    AUGUR_TRACK_ALL,
} AugurTrack;

/* Shared state (shmem.c). NULL when the library was not preloaded. */
#define AUGUR_LAST_ERROR_LEN 256

typedef struct AugurWorkerStatus
{
    int         pid;            /* 0 when no worker runs */
    TimestampTz started_at;
    TimestampTz last_cycle_at;
    int64       cycles;
    int32       state;          /* augur_worker_state */
    TimestampTz last_error_at;
    char        last_error[AUGUR_LAST_ERROR_LEN];
} AugurWorkerStatus;

typedef struct AugurSharedState
{
    LWLock           *lock;             /* guards worker and the flush fields */
    AugurWorkerStatus worker;
    TimestampTz       last_flush_at;
    int64             flushed_samples;  /* rows written by flushes since start */
    LWLock           *queries_lock;     /* the capture table (capture.c) */
    LWLock           *errors_lock;      /* the error counts (capture_errors.c) */
    LWLock           *sampling_lock;    /* the sampled transactions (sampling.c) */
    pg_atomic_uint64  evictions;        /* entries evicted to make room */
    pg_atomic_uint64  dropped;          /* executions or errors not recorded: busy or full */
    pg_atomic_uint32  apply_requested;  /* augur.apply() asked the worker to look now */
    Oid               installation;     /* the augur extension the last flush wrote into */
} AugurSharedState;

extern AugurSharedState *augur_shared;

void augur_request_shared_memory(void);
void augur_install_shmem_startup_hook(void);
void augur_require_shared_state(void);
struct HTAB *augur_fixed_shared_hash(const char *name, long entries, Size keysize, Size entrysize);

/* The shape types are plain C and live in augur_shim.h, so that Swift reads them as is. */
typedef augur_column_use AugurColumnUse;
typedef augur_join_pair AugurJoinPair;
typedef augur_lineage_edge AugurLineageEdge;
typedef augur_query_shape AugurQueryShape;

/* Fills shape's relations, columns, join pairs and lineage from an analysed query. */
void  augur_collect_shape(Query *query, AugurQueryShape *shape);
void  augur_shape_add_relation(AugurQueryShape *shape, Oid relid, bool written);
void  augur_shape_add_column(AugurQueryShape *shape, Oid relid, AttrNumber attnum, uint16 roles);
Oid   augur_root_relation(Oid relid);
bool  augur_root_column(Oid *relid, AttrNumber *attnum);
void  augur_append_unique(void *array, int16_t *count, int capacity, const void *item, size_t size);
List *augur_level_quals(Query *query);
bool  augur_is_equi_join(Node *qual);
Node *augur_strip_relabel(Node *node);
/* Lineage of one query level that writes, and of a query that defines target_relid's
 * columns (CREATE TABLE AS, views, materialized views) (lineage.c). */
void  augur_collect_lineage(Query *query, AugurQueryShape *shape);
void  augur_collect_defined_lineage(Query *definition, Oid target_relid, AugurQueryShape *shape);
void  augur_shape_add_ingestion(AugurQueryShape *shape, Oid relid, AttrNumber attnum, uint8 source_kind,
                                int16 field);
/* The shape of a utility statement that ran: what it defines, ingests or refreshes
 * (utility_shape.c). definition is a copy of a CREATE TABLE AS query, taken before it ran. */
void  augur_collect_utility_shape(Node *statement, Query *definition, AugurQueryShape *shape);
bool  augur_utility_defines_object(Node *statement);

/* Capture table (capture.c) */
Size  augur_capture_shmem_size(void);
void  augur_capture_shmem_init(void);
bool  augur_capture_has_shape(int64 queryid, bool toplevel);
void  augur_capture_store_shape(int64 queryid, bool toplevel, const AugurQueryShape *shape, bool replacing);
bool  augur_capture_record(int64 queryid, bool toplevel, double time_ms, uint64 rows);
void  augur_capture_store_example(int64 queryid, bool toplevel, const augur_query_example *example);
int64 augur_capture_entry_count(void);

/* Error counts (capture_errors.c) */
Size  augur_errors_shmem_size(void);
void  augur_errors_shmem_init(void);
void  augur_errors_record(const ErrorData *edata);
void  augur_errors_drain(augur_capture_batch *out);
void  augur_errors_return(const augur_capture_batch *batch);

/* A drained batch goes back to shared memory if its transaction aborts (capture.c),
 * unless the worker says a flush failed too often: then it is counted as dropped. */
void  augur_install_drain_callbacks(void);
void  augur_capture_give_back_on_abort(bool give_back);

/* This backend's local transaction id (PostgreSQL 17 moved it into vxid). */
#if PG_VERSION_NUM >= 170000
#define CURRENT_LXID (MyProc->vxid.lxid)
#else
#define CURRENT_LXID (MyProc->lxid)
#endif

/* Sampled transactions (sampling.c) */
struct QueryDesc;
Size  augur_sampling_shmem_size(void);
void  augur_sampling_shmem_init(void);
void  augur_install_sampling(void);
void  augur_sample_statement(struct QueryDesc *query_desc);
void  augur_sample_parsed(Query *query);
/* One execution as sent, for the index advisor (example.c). */
bool  augur_take_example(struct QueryDesc *query_desc, augur_query_example *example);
void  augur_sampling_drain(augur_capture_batch *out);
void  augur_sampling_return(const augur_capture_batch *batch);
int64 augur_sampling_dropped(void);

/* Normalized query text (normalize.c): constants replaced by $n, cut to size. */
void  augur_normalize_query(const char *source, int stmt_location, int stmt_len,
                            JumbleState *jstate, char *out, size_t out_size);

/* Hooks (hooks.c) */
extern bool augur_capture_off_in_this_process;
void augur_install_hooks(void);

/* Background worker (worker.c) */
void augur_register_worker(void);
PGDLLEXPORT void augur_worker_main(Datum main_arg);

/* Error boundary (guard.c) */
bool augur_guarded(void (*body) (void *), void *arg, augur_error *err);
MemoryContext augur_owned_memory(void **memory);
void augur_free_owned_memory(void **memory);
void augur_error_from_edata(augur_error *err, const ErrorData *edata);
void augur_raise_if_error(const augur_error *err);

/* Implemented in Swift (Sources/AugurBridge). They never raise and never longjmp. */
extern void    augur_swift_version(char *buffer, size_t size);
extern bool    augur_swift_spi_probe(const char *sql, int32_t nargs, const char *const *args,
                                     char *outcome, size_t outcome_size, augur_error *err);
extern int32_t augur_swift_worker_cycle(int32_t previous_state, const char *database,
                                        augur_error *err);
extern bool    augur_swift_check_maintenance_window(const char *value, augur_error *err);
extern bool    augur_swift_check_index_budget(const char *value, augur_error *err);
extern void    augur_swift_normalize_query(const char *statement, int32_t statement_len,
                                           const int32_t *locations, const int32_t *lengths,
                                           int32_t count, int32_t first_param,
                                           char *out, size_t out_size);
extern bool    augur_swift_flush(int64_t *flushed, augur_error *err);
/* Latency histograms in shared memory (the core's fixed layout); record and reset run
 * under the entry's spinlock: they allocate nothing and never raise. Merge (a rolled-back
 * flush's window going back) never raises either, but may allocate: it is not the hot path. */
extern bool    augur_swift_histogram_format(void *buffer, int32_t bytes);
extern void    augur_swift_histogram_record(void *buffer, uint64_t nanoseconds);
extern void    augur_swift_histogram_reset(void *buffer);
extern bool    augur_swift_histogram_merge(void *buffer, const void *other);
extern bool    augur_swift_latency_quantiles(int64_t queryid, const double *quantiles, int32_t nquantiles,
                                             const char *since, const char *until, char **json, augur_error *err);
extern bool    augur_swift_latency_histogram(int64_t queryid, char **json, augur_error *err);
extern bool    augur_swift_latency_changes(bool all_queries, int64_t queryid, char **json, augur_error *err);
extern bool    augur_swift_recommend_indexes(double unused_after_seconds, int64_t *proposed, augur_error *err);
extern bool    augur_swift_recommend_new_indexes(double budget_bytes, double time_budget_seconds, int64_t *proposed,
                                                  augur_error *err);
extern bool    augur_swift_simulate(int64_t id, augur_error *err);
extern bool    augur_swift_recommend_schema(double large_table_bytes, double sample_rows, bool simulate,
                                            int64_t *proposed, augur_error *err);
extern bool    augur_swift_recommend_sharding(const augur_sharding_options *options, int64_t *proposed, augur_error *err);
extern bool    augur_swift_sharding_evaluate(int64_t id, bool measured, char **json, augur_error *err);
extern bool    augur_swift_dictionary_create(uint32_t relid, const char *column, const char *target,
                                              const char *options, char **name, augur_error *err);
extern bool    augur_swift_dictionary_view(const char *name, char **view, augur_error *err);
extern bool    augur_swift_dictionary_drop(const char *name, augur_error *err);
/* SQLSTATE 22004 naming the argument when it is NULL (sqlfuncs.c). */
extern void    require_argument(FunctionCallInfo fcinfo, int argument, const char *name);
extern bool    augur_swift_detect(const double *values, int32_t count, const char *method, char **json,
                                  augur_error *err);
extern bool    augur_swift_next_apply(augur_apply_item *item, augur_error *err);
extern bool    augur_swift_finish_apply(const augur_apply_item *item, bool done, const char *error, augur_error *err);

/* SQL in a session of the worker's own (remote.c). */
bool  augur_remote_execute(const char *database, const char *user, const char *sql, int64_t *rows,
                           augur_error *err);
bool  augur_remote_drop_invalid_index(const char *database, const char *user, const char *index,
                                      augur_error *err);
/* Wakes the worker at this transaction's commit to apply what was asked (worker.c). */
void  augur_wake_worker_at_commit(void);
extern bool    augur_swift_coaccess_predicted(int32_t k, const char *level, const char *method, char **json,
                                              augur_error *err);

#endif /* AUGUR_INTERNAL_H */
