/*
 * module.c: what PostgreSQL sees first. PG_MODULE_MAGIC, the GUCs and _PG_init.
 *
 * When preloaded, _PG_init runs in the postmaster and only defines GUCs, requests shared
 * memory, installs hooks and registers the worker; no Swift code runs before fork except
 * the pure maintenance-window validator, which keeps nothing and starts no threads.
 * Loaded later (CREATE EXTENSION without the preload) it does nothing at all.
 */
#include "augur_internal.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "utils/guc.h"

PG_MODULE_MAGIC;

bool    augur_enabled = true;
char   *augur_database = NULL;
int     augur_naptime = 10;
int     augur_max_queries = 5000;
double  augur_sample_rate = 0.01;
char   *augur_maintenance_window = NULL;
static char *augur_index_budget = NULL;
static int  augur_verify_calls = 100;
static int  augur_advise_interval = 86400;
static double augur_rollback_threshold = 0.2;
int     augur_track = AUGUR_TRACK_TOP;
int     augur_coaccess_half_life = 7 * 24 * 3600;
int     augur_max_sampled_xacts = 1000;
int     augur_sample_retention = 7 * 24 * 3600;
int     augur_dictionary_interval = 60;
int     augur_histogram_bytes = 2048;
int     augur_histogram_retention = 24 * 3600;

static const struct config_enum_entry track_options[] = {
    {"none", AUGUR_TRACK_NONE, false},
    {"top", AUGUR_TRACK_TOP, false},
    {"all", AUGUR_TRACK_ALL, false},
    {NULL, 0, false}
};

/* Which proposals the worker approves itself, to apply in the maintenance window. */
static int  augur_auto_apply = 0;
static const struct config_enum_entry auto_apply_options[] = {
    {"off", 0, false},
    {"indexes", 1, false},
    {"all", 2, false},
    {NULL, 0, false}
};

void _PG_init(void);

/* A check hook's verdict from a Swift validator: false with its SQLSTATE, detail and hint. */
static bool
checked(bool ok, const augur_error *err)
{
    if (ok)
        return true;
    GUC_check_errcode(err->sqlstate);
    GUC_check_errdetail("%s", err->message);
    if (err->hint[0])
        GUC_check_errhint("%s", err->hint);
    return false;
}

static bool
check_maintenance_window(char **newval, void **extra, GucSource source)
{
    augur_error err;

    return checked(augur_swift_check_maintenance_window(*newval != NULL ? *newval : "", &err), &err);
}

static bool
check_index_budget(char **newval, void **extra, GucSource source)
{
    augur_error err;

    return checked(augur_swift_check_index_budget(*newval != NULL ? *newval : "", &err), &err);
}

static bool
check_histogram_bytes(int *newval, void **extra, GucSource source)
{
    if (*newval == 0 || *newval >= 256)
        return true;
    GUC_check_errdetail("augur.histogram_bytes must be 0 (no histograms) or at least 256.");
    return false;
}

static void
define_gucs(void)
{
    DefineCustomBoolVariable("augur.enabled",
                             "Whether Augur observes the workload.",
                             "When off, hooks pass straight through and the worker only "
                             "keeps its status up to date.",
                             &augur_enabled, true, PGC_SUSET, 0,
                             NULL, NULL, NULL);
    DefineCustomStringVariable("augur.database",
                               "Database in which the Augur worker keeps its tables.",
                               "Run CREATE EXTENSION augur in this database.",
                               &augur_database, "postgres", PGC_POSTMASTER, 0,
                               NULL, NULL, NULL);
    DefineCustomIntVariable("augur.naptime",
                            "Seconds the Augur worker sleeps between cycles.",
                            NULL,
                            &augur_naptime, 10, 1, 3600, PGC_SIGHUP, GUC_UNIT_S,
                            NULL, NULL, NULL);
    DefineCustomIntVariable("augur.max_queries",
                            "Number of distinct queries Augur tracks in shared memory.",
                            "Sizes shared memory; changing it needs a restart.",
                            &augur_max_queries, 5000, 100, 1000000, PGC_POSTMASTER, 0,
                            NULL, NULL, NULL);
    DefineCustomRealVariable("augur.sample_rate",
                             "Fraction of transactions whose co-access events are sampled.",
                             "A sampled transaction's relations and key values go to "
                             "augur.sampled_xact and augur.sampled_key.",
                             &augur_sample_rate, 0.01, 0.0, 1.0, PGC_SUSET, 0,
                             NULL, NULL, NULL);
    DefineCustomIntVariable("augur.max_sampled_xacts",
                            "Sampled transactions kept in shared memory between two flushes.",
                            "More are dropped and counted; sizes shared memory (about 2 kB "
                            "each), so changing it needs a restart.",
                            &augur_max_sampled_xacts, 1000, 10, 1000000, PGC_POSTMASTER, 0,
                            NULL, NULL, NULL);
    DefineCustomIntVariable("augur.histogram_bytes",
                            "Bytes of latency histogram per query in shared memory (0: none).",
                            "The histogram's hard budget: at least 256 when not 0. Sizes "
                            "shared memory (augur.max_queries of them), so changing it needs a restart.",
                            &augur_histogram_bytes, 2048, 0, 16384, PGC_POSTMASTER, GUC_UNIT_BYTE,
                            check_histogram_bytes, NULL, NULL);
    DefineCustomIntVariable("augur.histogram_retention",
                            "Age after which per-flush histogram deltas are deleted.",
                            "Cumulative histograms (augur.histogram) are kept.",
                            &augur_histogram_retention, 24 * 3600, 60, INT_MAX,
                            PGC_SIGHUP, GUC_UNIT_S, NULL, NULL, NULL);
    DefineCustomIntVariable("augur.sample_retention",
                            "Age after which sampled transactions are deleted.",
                            NULL,
                            &augur_sample_retention, 7 * 24 * 3600, 60, INT_MAX,
                            PGC_SIGHUP, GUC_UNIT_S, NULL, NULL, NULL);
    DefineCustomIntVariable("augur.coaccess_half_life",
                            "Age at which a call counts half in co-access weights.",
                            "Applied at each flush to the decayed call counts in augur.query.",
                            &augur_coaccess_half_life, 7 * 24 * 3600, 60, INT_MAX,
                            PGC_SIGHUP, GUC_UNIT_S, NULL, NULL, NULL);
    DefineCustomIntVariable("augur.dictionary_interval",
                            "Seconds between the worker's refreshes of a dictionary with changes to count.",
                            "0 leaves dictionaries to augur.dictionary_refresh.",
                            &augur_dictionary_interval, 60, 0, INT_MAX,
                            PGC_SIGHUP, GUC_UNIT_S, NULL, NULL, NULL);
    DefineCustomEnumVariable("augur.track",
                             "Which statements Augur captures: top (sent by clients), all "
                             "(also those inside functions), or none.",
                             NULL,
                             &augur_track, AUGUR_TRACK_TOP, track_options, PGC_SUSET, 0,
                             NULL, NULL, NULL);
    DefineCustomStringVariable("augur.maintenance_window",
                               "When approved changes may be applied, e.g. 'Sun 02:00-04:00'.",
                               "Comma-separated list of [days] HH:MM-HH:MM; days are Mon..Sun, "
                               "a range such as Mon-Fri, or daily. Empty means never.",
                               &augur_maintenance_window, "", PGC_SIGHUP, 0,
                               check_maintenance_window, NULL, NULL);
    DefineCustomStringVariable("augur.index_budget",
                               "Storage the index advice may spend on new indexes.",
                               "A size such as '2GB' or a percentage of the database's size such as '10%'.",
                               &augur_index_budget, "10%", PGC_USERSET, 0,
                               check_index_budget, NULL, NULL);
    DefineCustomEnumVariable("augur.auto_apply",
                             "Which proposals the worker approves itself, to apply them in the maintenance window.",
                             "off: none (a DBA approves); indexes: index creations and drops; all: every kind.",
                             &augur_auto_apply, 0, auto_apply_options, PGC_SIGHUP, 0, NULL, NULL, NULL);
    DefineCustomIntVariable("augur.advise_interval",
                            "How often the worker refreshes the advice of its database while the maintenance window is open.",
                            "It runs augur.recommend_indexes() and augur.recommend_schema() at most this often; 0: never.",
                            &augur_advise_interval, 86400, 0, INT_MAX, PGC_SIGHUP, GUC_UNIT_S, NULL, NULL, NULL);
    DefineCustomIntVariable("augur.verify_calls",
                            "Executions of the affected queries after a change before it is judged.",
                            "Then it is verified, or rolled back if it made them slower than augur.rollback_threshold allows.",
                            &augur_verify_calls, 100, 1, INT_MAX, PGC_SIGHUP, 0, NULL, NULL, NULL);
    DefineCustomRealVariable("augur.rollback_threshold",
                             "How much slower an applied change may make its queries before it is rolled back.",
                             "The median time per execution of the queries using the changed table, weighed by "
                             "their executions since the change: 0.2 rolls back at 20 % slower.",
                             &augur_rollback_threshold, 0.2, 0.0, 100.0, PGC_SIGHUP, 0, NULL, NULL, NULL);
#if PG_VERSION_NUM >= 150000
    MarkGUCPrefixReserved("augur");
#else
    EmitWarningsOnPlaceholders("augur");
#endif
}

void
_PG_init(void)
{
    /*
     * Without the preload (CREATE EXTENSION alone) there is no shared memory, no worker
     * and no GUC: PGC_POSTMASTER variables cannot be defined after startup. The SQL
     * functions that need shared state then fail with SQLSTATE 55000 and a hint.
     */
    if (!process_shared_preload_libraries_in_progress)
        return;

    define_gucs();
#if PG_VERSION_NUM >= 140000
    EnableQueryId();            /* compute_query_id = auto then computes query ids */
#endif
    augur_request_shared_memory();
    augur_install_shmem_startup_hook();
    augur_install_hooks();
    augur_install_sampling();
    augur_install_drain_callbacks();
    augur_register_worker();
}
