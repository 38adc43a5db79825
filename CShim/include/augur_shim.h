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
 * and the caller's state intact. Must be called inside a transaction (any fmgr call or
 * the worker's cycle).
 */
bool augur_spi_execute(const char *sql, int32_t nargs, const char *const *args, bool read_only,
                       augur_spi_result *out, augur_error *err);
void augur_spi_result_free(augur_spi_result *result);

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
    const char *text;           /* normalized text; NULL if already handed over or unknown */
    int32_t     nrelations;     /* relations the query uses, with the text (else 0) */
    uint32_t    relations[8];   /* partitions are given as their root */
    bool        written[8];
    int32_t     ncolumns;       /* columns the query uses, with the text (else 0) */
    uint32_t    column_relids[24];
    int16_t     column_attnums[24];
    uint16_t    column_roles[24];   /* AUGUR_ROLE_* bits */
    int32_t     njoins;         /* equi-join pairs left = right, with the text (else 0) */
    uint32_t    join_left_relids[8];
    int16_t     join_left_attnums[8];
    uint32_t    join_right_relids[8];
    int16_t     join_right_attnums[8];
    int32_t     nlineage;       /* lineage edges, with the text (else 0) */
    uint32_t    lineage_target_relids[32];
    int16_t     lineage_target_attnums[32];
    uint32_t    lineage_source_relids[32];
    int16_t     lineage_source_attnums[32];
    uint8_t     lineage_subtypes[32];   /* AUGUR_LINEAGE_* */
} augur_query_sample;

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
};

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

/* Everything captured since the last drain. */
typedef struct augur_capture_batch
{
    int32_t             query_count;
    augur_query_sample *queries;
    int32_t             error_count;
    augur_error_sample *errors;
    void               *memory;     /* owning memory context; opaque to Swift */
} augur_capture_batch;

/*
 * Takes what was captured since the last drain out of shared memory (query counters
 * restart from zero, error counts are emptied). Free it with augur_capture_drain_free.
 */
bool augur_capture_drain(augur_capture_batch *out, augur_error *err);
void augur_capture_drain_free(augur_capture_batch *batch);

/* Records that a flush stored `samples` rows (augur.capture_status). */
void augur_capture_note_flush(int64_t samples);

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
