/*
 * guard.c: the error boundary between Swift and PostgreSQL, written once.
 *
 * Swift -> PostgreSQL: augur_guarded() runs a C body under PG_TRY inside an internal
 * subtransaction (as PL/Python does for SPI). An ERROR rolls the subtransaction back,
 * which releases locks, buffer pins, SPI connections and memory the body took; the
 * memory context and resource owner are restored and the error is copied into an
 * augur_error for Swift to throw. No longjmp ever crosses a Swift frame.
 *
 * Swift -> the user: augur_raise_if_error() is called by fmgr wrappers after every Swift
 * frame has returned, and turns an augur_error into ereport(ERROR).
 */
#include "augur_internal.h"

#include "access/xact.h"
#include "catalog/pg_type_d.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/resowner.h"
#include "utils/syscache.h"

static void
copy_text(char *dst, size_t size, const char *src)
{
    if (src == NULL)
        dst[0] = '\0';
    else
        strlcpy(dst, src, size);
}

void
augur_error_from_edata(augur_error *err, const ErrorData *edata)
{
    err->sqlstate = edata->sqlerrcode != 0 ? edata->sqlerrcode : ERRCODE_INTERNAL_ERROR;
    copy_text(err->message, sizeof(err->message), edata->message);
    copy_text(err->detail, sizeof(err->detail), edata->detail);
    copy_text(err->hint, sizeof(err->hint), edata->hint);
}

void
augur_raise_if_error(const augur_error *err)
{
    if (err->sqlstate == 0)
        return;
    ereport(ERROR,
            (errcode(err->sqlstate),
             errmsg_internal("%s", err->message),
             err->detail[0] ? errdetail_internal("%s", err->detail) : 0,
             err->hint[0] ? errhint("%s", err->hint) : 0));
}

/*
 * Runs body(arg) in an internal subtransaction; returns false with *err filled if
 * anything raised, including starting the subtransaction itself. With roll_back, the
 * subtransaction is rolled back also when body succeeds: what it changed is undone,
 * what it copied out into memory of its own stays.
 */
static bool
guarded(void (*body) (void *), void *arg, augur_error *err, bool roll_back)
{
    MemoryContext caller_context = CurrentMemoryContext;
    ResourceOwner caller_owner = CurrentResourceOwner;
    volatile bool in_subtransaction = false;
    volatile bool ok = true;

    err->sqlstate = 0;
    PG_TRY();
    {
        BeginInternalSubTransaction(NULL);
        in_subtransaction = true;
        MemoryContextSwitchTo(caller_context);
        body(arg);
        if (roll_back)
            RollbackAndReleaseCurrentSubTransaction();
        else
            ReleaseCurrentSubTransaction();
        in_subtransaction = false;
    }
    PG_CATCH();
    {
        ErrorData  *edata;

        MemoryContextSwitchTo(caller_context);
        edata = CopyErrorData();
        FlushErrorState();
        if (in_subtransaction)
            RollbackAndReleaseCurrentSubTransaction();
        augur_error_from_edata(err, edata);
        FreeErrorData(edata);
        ok = false;
    }
    PG_END_TRY();
    MemoryContextSwitchTo(caller_context);
    CurrentResourceOwner = caller_owner;
    return ok;
}

/* Runs body(arg) in an internal subtransaction, kept when body succeeds. Called from Swift. */
bool
augur_guarded(void (*body) (void *), void *arg, augur_error *err)
{
    return guarded(body, arg, err, false);
}

/*
 * Results handed to Swift (SPI rows, drained samples) own a memory context, created by
 * the guarded body as a child of the caller's context so that it survives the
 * subtransaction, and freed by the result's *_free function (also after a failure).
 */
MemoryContext
augur_owned_memory(void **memory)
{
    *memory = AllocSetContextCreate(CurrentMemoryContext, "augur result", ALLOCSET_DEFAULT_SIZES);
    return (MemoryContext) *memory;
}

void
augur_free_owned_memory(void **memory)
{
    if (*memory != NULL)
        MemoryContextDelete((MemoryContext) *memory);
    *memory = NULL;
}

char *
augur_alloc_result(size_t size)
{
    return MemoryContextAllocExtended(CurrentMemoryContext, size, MCXT_ALLOC_NO_OOM);
}

/* ---- SPI ---------------------------------------------------------------- */

typedef struct SpiCall
{
    const char *sql;
    int32_t     nargs;
    const char *const *args;
    bool        read_only;
    Oid         as_role;
    augur_spi_result *out;
} SpiCall;

/*
 * The statement as call->as_role, under SECURITY_RESTRICTED_OPERATION (no SET ROLE, no
 * temporary tables, no PREPARE or LISTEN by the code it runs) with a GUC nest level of
 * its own, as ExecRefreshMatView does since CVE-2022-1552. On an error, the enclosing
 * subtransaction's abort restores the user id, security context and settings.
 */
static int
spi_execute_as_role(SpiCall *call, Oid *types, Datum *values, char *nulls)
{
    Oid         saved_user;
    int         saved_context;
    int         nest_level;
    int         rc;

    if (!SearchSysCacheExists1(AUTHOID, ObjectIdGetDatum(call->as_role)))
        ereport(ERROR,
                (errcode(ERRCODE_UNDEFINED_OBJECT),
                 errmsg("augur: role %u, which sent this statement, no longer exists", call->as_role),
                 errhint("Statements of a dropped role are not replayed.")));
    GetUserIdAndSecContext(&saved_user, &saved_context);
    SetUserIdAndSecContext(call->as_role,
                           saved_context | SECURITY_LOCAL_USERID_CHANGE | SECURITY_RESTRICTED_OPERATION);
    nest_level = NewGUCNestLevel();
    rc = SPI_execute_with_args(call->sql, call->nargs, types, values, nulls, call->read_only, 0);
    AtEOXact_GUC(false, nest_level);
    SetUserIdAndSecContext(saved_user, saved_context);
    return rc;
}

static void
spi_execute_body(void *arg)
{
    SpiCall    *call = (SpiCall *) arg;
    Oid        *types;
    Datum      *values;
    char       *nulls;
    int         rc;

    /* The result and the arguments live in memory the result owns (augur_owned_memory). */
    MemoryContext result_context = augur_owned_memory(&call->out->memory);

    MemoryContextSwitchTo(result_context);
    types = palloc0(sizeof(Oid) * Max(call->nargs, 1));
    values = palloc0(sizeof(Datum) * Max(call->nargs, 1));
    nulls = palloc0(Max(call->nargs, 1) + 1);

    for (int i = 0; i < call->nargs; i++)
    {
        types[i] = TEXTOID;
        nulls[i] = call->args[i] == NULL ? 'n' : ' ';
        if (call->args[i] != NULL)
            values[i] = CStringGetTextDatum(call->args[i]);
    }

    if (SPI_connect() != SPI_OK_CONNECT)
        elog(ERROR, "augur: SPI_connect failed");
    if (OidIsValid(call->as_role))
        rc = spi_execute_as_role(call, types, values, nulls);
    else
        rc = SPI_execute_with_args(call->sql, call->nargs, types, values, nulls,
                                   call->read_only, 0);
    if (rc < 0)
        ereport(ERROR,
                (errcode(ERRCODE_INTERNAL_ERROR),
                 errmsg("augur: SPI failed: %s", SPI_result_code_string(rc))));

    /* Copy the result out of SPI's memory before SPI_finish frees it. */
    {
        MemoryContext old = MemoryContextSwitchTo(result_context);
        augur_spi_result *out = call->out;

        out->processed = SPI_processed;
        if (SPI_tuptable != NULL)
        {
            TupleDesc   desc = SPI_tuptable->tupdesc;
            uint64      nrows = SPI_processed;
            int         ncols = desc->natts;
            char      **names = palloc0(sizeof(char *) * Max(ncols, 1));
            uint32_t   *coltypes = palloc0(sizeof(uint32_t) * Max(ncols, 1));
            char      **cells = MemoryContextAllocHuge(result_context,
                                                       sizeof(char *) * Max(nrows * ncols, 1));

            for (int c = 0; c < ncols; c++)
            {
                names[c] = pstrdup(NameStr(TupleDescAttr(desc, c)->attname));
                coltypes[c] = (uint32_t) TupleDescAttr(desc, c)->atttypid;
            }
            for (uint64 r = 0; r < nrows; r++)
            {
                CHECK_FOR_INTERRUPTS();
                for (int c = 0; c < ncols; c++)
                    /* SPI_getvalue pallocs in the current (result) context */
                    cells[r * ncols + c] = SPI_getvalue(SPI_tuptable->vals[r], desc, c + 1);
            }
            out->nrows = nrows;
            out->ncols = ncols;
            out->colnames = (const char *const *) names;
            out->coltypes = coltypes;
            out->values = (const char *const *) cells;
        }
        MemoryContextSwitchTo(old);
    }
    SPI_finish();
}

bool
augur_spi_execute(const char *sql, int32_t nargs, const char *const *args, bool read_only,
                  bool roll_back, uint32_t as_role, augur_spi_result *out, augur_error *err)
{
    SpiCall     call;
    bool        ok;

    memset(out, 0, sizeof(*out));
    call.sql = sql;
    call.nargs = nargs;
    call.args = args;
    call.read_only = read_only;
    call.as_role = (Oid) as_role;
    call.out = out;
    ok = guarded(spi_execute_body, &call, err, roll_back);
    if (!ok)
        augur_spi_result_free(out);
    return ok;
}

void
augur_spi_result_free(augur_spi_result *result)
{
    augur_free_owned_memory(&result->memory);
    memset(result, 0, sizeof(*result));
}

int64_t
augur_clock_ms(void)
{
    return (int64_t) (GetCurrentTimestamp() / 1000);
}

bool
augur_interrupt_pending(void)
{
    return INTERRUPTS_PENDING_CONDITION() && (QueryCancelPending || ProcDiePending);
}

/* ---- logging ------------------------------------------------------------ */

void
augur_log(const char *message)
{
    MemoryContext caller_context = CurrentMemoryContext;

    /* A LOG message can only fail on out-of-memory; swallow that rather than longjmp. */
    PG_TRY();
    {
        ereport(LOG, (errmsg_internal("augur: %s", message)));
    }
    PG_CATCH();
    {
        MemoryContextSwitchTo(caller_context);
        FlushErrorState();
    }
    PG_END_TRY();
}
