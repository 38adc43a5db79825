/*
 * augur_shim.h: the only C interface Swift sees. Plain C types only: no PostgreSQL
 * header may be included here, so the Swift side never depends on server internals.
 *
 * Every function here that reaches into PostgreSQL runs its work under PG_TRY inside an
 * internal subtransaction: a PostgreSQL ERROR never longjmps across a Swift frame, it
 * comes back as an augur_error that Swift throws.
 */
#ifndef AUGUR_SHIM_H
#define AUGUR_SHIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* An error on its way across the boundary, in either direction. sqlstate is
 * PostgreSQL's packed MAKE_SQLSTATE code; 0 means "no error". */
typedef struct augur_error
{
    int32_t sqlstate;
    char    message[1024];
    char    detail[1024];
    char    hint[512];
} augur_error;

/*
 * The result of one SPI statement, copied out of SPI's memory into a context of its own
 * (freed with augur_spi_result_free). Values are in text form, NULL for SQL NULL,
 * row-major: values[row * ncols + col].
 */
typedef struct augur_spi_result
{
    uint64_t            processed;   /* rows affected or returned */
    uint64_t            nrows;       /* rows in values (0 for utility/DML without RETURNING) */
    int32_t             ncols;
    const char *const  *colnames;
    const uint32_t     *coltypes;
    const char *const  *values;
    void               *memory;      /* owning memory context; opaque to Swift */
} augur_spi_result;

/*
 * Run one SQL statement with parameters $1..$n of type text (NULL = SQL NULL; cast in
 * the SQL where another type is needed, e.g. $1::int). Returns true on success; on
 * failure fills *err and returns false, with everything the statement did rolled back
 * and the caller's state intact. With roll_back, what it did is rolled back also on
 * success (its result is kept). Must be called inside a transaction (any fmgr call or
 * the worker's cycle).
 *
 * With as_role (an OID, 0 for none) the statement runs as that role inside a
 * security-restricted operation, as autovacuum and REFRESH MATERIALIZED VIEW run other
 * roles' code: whatever it calls has that role's rights and no more, and settings it
 * changes are undone. A role that no longer exists is 42704 and nothing runs.
 */
bool augur_spi_execute(const char *sql, int32_t nargs, const char *const *args, bool read_only,
                       bool roll_back, uint32_t as_role, augur_spi_result *out, augur_error *err);
void augur_spi_result_free(augur_spi_result *result);

/* Milliseconds on the server's clock (GetCurrentTimestamp), for time budgets. */
int64_t augur_clock_ms(void);

/* Whether a cancel or a termination is waiting: long work in Swift asks, stops, and
 * returns; the C caller then lets CHECK_FOR_INTERRUPTS raise it. Never raises itself. */
bool augur_interrupt_pending(void);

/*
 * What the parse hook learns once per query id: its normalized text, the relations it
 * reads and writes, how it uses columns, its equi-join pairs and its column lineage.
 * Relations are given by OID (partitions as their root), columns by attnum.
 */
#define AUGUR_QUERY_TEXT_LEN 1024
#define AUGUR_SHAPE_RELATIONS 8
#define AUGUR_SHAPE_COLUMNS 24
#define AUGUR_SHAPE_JOINS 8
#define AUGUR_SHAPE_LINEAGE 32

typedef struct augur_column_use
{
    uint32_t    relid;
    int16_t     attnum;
    uint16_t    roles;          /* AUGUR_ROLE_* bits */
} augur_column_use;

/* left = right, the side with the smaller (relid, attnum) on the left. */
typedef struct augur_join_pair
{
    uint32_t    left_relid;
    int16_t     left_attnum;
    uint32_t    right_relid;
    int16_t     right_attnum;
} augur_join_pair;

/*
 * A written column and a column it comes from. target_attnum AUGUR_LINEAGE_ALL_WRITTEN
 * stands for every column the query writes to target_relid (row-deciding INDIRECT
 * edges). A COPY FROM edge has no source relation: source_kind says file, program or
 * stdin, and source_attnum is the field's position in the input.
 */
#define AUGUR_LINEAGE_ALL_WRITTEN 0

typedef struct augur_lineage_edge
{
    uint32_t    target_relid;
    uint32_t    source_relid;
    int16_t     target_attnum;
    int16_t     source_attnum;
    uint8_t     subtype;        /* AUGUR_LINEAGE_* */
    uint8_t     source_kind;    /* AUGUR_SOURCE_* */
} augur_lineage_edge;

enum
{
    AUGUR_SOURCE_RELATION = 0,
    AUGUR_SOURCE_FILE = 1,
    AUGUR_SOURCE_PROGRAM = 2,
    AUGUR_SOURCE_STDIN = 3,
};

typedef struct augur_query_shape
{
    char        text[AUGUR_QUERY_TEXT_LEN];     /* "" if not known */
    int16_t     nrelations;                     /* the first ones are kept */
    uint32_t    relations[AUGUR_SHAPE_RELATIONS];
    bool        written[AUGUR_SHAPE_RELATIONS];
    int16_t     ncolumns;
    augur_column_use columns[AUGUR_SHAPE_COLUMNS];
    int16_t     njoins;
    augur_join_pair joins[AUGUR_SHAPE_JOINS];
    int16_t     nlineage;
    augur_lineage_edge lineage[AUGUR_SHAPE_LINEAGE];
} augur_query_shape;

/* OpenLineage transformation subtypes: DIRECT ones first, then INDIRECT ones. */
enum
{
    AUGUR_LINEAGE_IDENTITY = 0,
    AUGUR_LINEAGE_TRANSFORMATION = 1,
    AUGUR_LINEAGE_AGGREGATION = 2,
    AUGUR_LINEAGE_FILTER = 3,
    AUGUR_LINEAGE_JOIN = 4,
    AUGUR_LINEAGE_GROUP_BY = 5,
    AUGUR_LINEAGE_SORT = 6,
    AUGUR_LINEAGE_WINDOW = 7,
    AUGUR_LINEAGE_CONDITIONAL = 8,
};

/*
 * One execution of a query as it was sent, constants and all: the index advisor plans it
 * again with the constants the workload really uses. Its text is the statement alone;
 * params holds nparams NUL-terminated values, the bound parameters $1..$n in text form.
 * One per query and flush window, chosen uniformly among its executions, for SELECT,
 * UPDATE and DELETE only, and only when text and parameters fit (none NULL).
 */
#define AUGUR_EXAMPLE_TEXT_LEN 768
#define AUGUR_EXAMPLE_PARAMS_LEN 256
typedef struct augur_query_example
{
    bool        present;
    int32_t     nparams;
    int64_t     captured_at;    /* TimestampTz */
    char        text[AUGUR_EXAMPLE_TEXT_LEN];
    char        params[AUGUR_EXAMPLE_PARAMS_LEN];
} augur_query_example;

/*
 * An approved recommendation the worker is to apply now, or an applied one to roll back
 * (CShim/worker.c): its DDL, the database it runs in, and the index it creates or drops,
 * whose INVALID leftover from a failed or cancelled concurrent build must not stay.
 */
typedef struct augur_apply_item
{
    int64_t     id;
    char        database[64];
    char        user[64];       /* the worker's role, which connects */
    char        ddl[1024];
    char        index[256];
    bool        rollback;       /* ddl undoes an applied change that made things worse */
    bool        placement;      /* ddl is a step placing an applied sharding plan's keys */
    char        reason[256];    /* why, for the log */
} augur_apply_item;

/* augur.recommend_sharding's options, checked by the shim. */
typedef struct augur_sharding_options
{
    int32_t     nodes;
    double      held_out;
    double      reference_max_rows;
    double      imbalance;
    int32_t     min_transactions;
    double      half_life_seconds;
    double      prediction_weight;
    int64_t     from_plan;      /* the plan to move few keys from; 0: none */
    const char *split;          /* the column of an existing split; NULL: none */
} augur_sharding_options;

/* The pending statistics of one captured query (see CShim/capture.c). */
typedef struct augur_query_sample
{
    uint32_t    userid;
    uint32_t    dbid;
    int64_t     queryid;
    bool        toplevel;
    int64_t     calls;
    double      total_time_ms;
    double      max_time_ms;
    int64_t     rows;
    int64_t     first_seen;     /* PostgreSQL TimestampTz: microseconds since 2000-01-01 UTC */
    int64_t     last_seen;
    const augur_query_shape *shape;     /* NULL if already handed over or unknown */
    const void *histogram;              /* this window's latency histogram, or NULL */
    int32_t     histogram_bytes;
    const augur_query_example *example; /* one execution of this window, or NULL */
} augur_query_sample;

/* How a query uses a column (bits of augur_query_sample.column_roles). */
enum
{
    AUGUR_ROLE_PROJECTED = 1 << 0,
    AUGUR_ROLE_FILTER_EQUALITY = 1 << 1,
    AUGUR_ROLE_FILTER_RANGE = 1 << 2,
    AUGUR_ROLE_FILTER_PATTERN = 1 << 3,
    AUGUR_ROLE_FILTER_IN = 1 << 4,
    AUGUR_ROLE_FILTER_NULL = 1 << 5,
    AUGUR_ROLE_FILTER_OTHER = 1 << 6,
    AUGUR_ROLE_JOIN_KEY = 1 << 7,
    AUGUR_ROLE_GROUPED = 1 << 8,
    AUGUR_ROLE_ORDERED = 1 << 9,
    AUGUR_ROLE_WRITTEN = 1 << 10,
};

/* Errors of one kind (database, SQLSTATE, query id) since the last drain. */
typedef struct augur_error_sample
{
    uint32_t    dbid;
    char        sqlstate[6];    /* e.g. "22012" */
    int64_t     queryid;        /* 0 when the error came before a query id was known */
    int64_t     count;
    int64_t     first_seen;     /* TimestampTz, as in augur_query_sample */
    int64_t     last_seen;
} augur_error_sample;

/*
 * One sampled transaction (CShim/sampling.c): the relations it touched (partitions as
 * their root) and the key values it used, each as text cut to AUGUR_KEY_VALUE_LEN - 1
 * bytes. (pid, lxid, ended_at) identifies it.
 */
#define AUGUR_SAMPLE_RELATIONS 16
#define AUGUR_SAMPLE_KEYS 32
#define AUGUR_KEY_VALUE_LEN 48

typedef struct augur_sampled_key
{
    uint32_t    relid;
    int16_t     attnum;
    char        value[AUGUR_KEY_VALUE_LEN];
} augur_sampled_key;

typedef struct augur_sampled_xact
{
    uint32_t    dbid;
    uint32_t    userid;
    int32_t     pid;
    uint32_t    lxid;
    int64_t     ended_at;       /* TimestampTz of the commit */
    double      sample_rate;    /* augur.sample_rate when it was sampled */
    int16_t     nrelations;
    uint32_t    relations[AUGUR_SAMPLE_RELATIONS];
    int16_t     nkeys;
    augur_sampled_key keys[AUGUR_SAMPLE_KEYS];
} augur_sampled_xact;

/* Everything captured since the last drain. */
typedef struct augur_capture_batch
{
    int32_t             query_count;
    augur_query_sample *queries;
    int32_t             error_count;
    augur_error_sample *errors;
    int32_t             sampled_count;
    augur_sampled_xact *sampled;
    /* Shapes a statement defining objects had for objects it wrote before its latest one
     * (shape set, no counters): their lineage is recorded too. */
    int32_t             replaced_count;
    augur_query_sample *replaced;
    void               *memory;     /* owning memory context; opaque to Swift */
} augur_capture_batch;

/*
 * Takes what was captured since the last drain out of shared memory (query counters
 * restart from zero, error counts are emptied). Free it with augur_capture_drain_free.
 */
bool augur_capture_drain(augur_capture_batch *out, augur_error *err);
void augur_capture_drain_free(augur_capture_batch *batch);

/*
 * Tells the capture which augur extension (its pg_extension OID) a flush writes into.
 * When it is another than the last one (DROP and CREATE EXTENSION made the tables anew),
 * every query's text and shape is handed over again at the next drain.
 */
void augur_capture_note_installation(uint32_t extension_oid);

/* Records that a flush stored `samples` rows (augur.capture_status). */
void augur_capture_note_flush(int64_t samples);

/* size bytes in the current memory context, for a result Swift hands back to C (freed
 * with it); NULL when out of memory. Never raises. */
char *augur_alloc_result(size_t size);

/* Send a message to the server log at LOG level. Never raises. */
void augur_log(const char *message);

/* What the background worker found on its last cycle (augur.worker_status.state). */
typedef enum augur_worker_state
{
    AUGUR_WORKER_STARTING = 0,
    AUGUR_WORKER_WAITING_FOR_EXTENSION = 1,
    AUGUR_WORKER_RUNNING = 2,
    AUGUR_WORKER_VERSION_MISMATCH = 3,
} augur_worker_state;

#ifdef __cplusplus
}
#endif

#endif /* AUGUR_SHIM_H */
