/*
 * augur_internal.h: declarations shared by the C shim's files. Unlike augur_shim.h this
 * may include PostgreSQL headers; Swift never sees it.
 */
#ifndef AUGUR_INTERNAL_H
#define AUGUR_INTERNAL_H

#include "postgres.h"

#include "storage/lwlock.h"
#include "utils/elog.h"
#include "utils/timestamp.h"

#include "augur_shim.h"

/* GUCs (module.c) */
extern bool   augur_enabled;
extern char  *augur_database;
extern int    augur_naptime;
extern int    augur_max_queries;
extern double augur_sample_rate;
extern char  *augur_maintenance_window;

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
    LWLock           *lock;     /* guards everything below */
    AugurWorkerStatus worker;
} AugurSharedState;

extern AugurSharedState *augur_shared;

void augur_request_shared_memory(void);
void augur_install_shmem_startup_hook(void);
void augur_require_shared_state(void);

/* Hooks (hooks.c) */
void augur_install_hooks(void);

/* Background worker (worker.c) */
void augur_register_worker(void);
PGDLLEXPORT void augur_worker_main(Datum main_arg);

/* Error boundary (guard.c) */
void augur_error_from_edata(augur_error *err, const ErrorData *edata);
void augur_raise_if_error(const augur_error *err);

/* Implemented in Swift (Sources/AugurBridge). They never raise and never longjmp. */
extern void    augur_swift_version(char *buffer, size_t size);
extern bool    augur_swift_spi_probe(const char *sql, int32_t nargs, const char *const *args,
                                     char *outcome, size_t outcome_size, augur_error *err);
extern int32_t augur_swift_worker_cycle(int32_t previous_state, const char *database,
                                        augur_error *err);
extern bool    augur_swift_check_maintenance_window(const char *value, augur_error *err);

#endif /* AUGUR_INTERNAL_H */
