/*
 * remote.c: SQL run by the worker in a session of its own on this server, over libpq.
 *
 * CREATE INDEX CONCURRENTLY and DROP INDEX CONCURRENTLY cannot run inside a transaction
 * block, so neither SPI nor a function called by a user can run them (a caller's open
 * snapshot would even make the build wait for the caller forever). The worker runs them
 * between its cycles, holding no snapshot, as pg_cron runs jobs: it connects through the
 * server's first Unix socket (or localhost) as its own role, to the recommendation's
 * database. It runs outside any transaction, so it reads no catalog: what it needs comes
 * in the augur_apply_item. It waits on the socket with its latch, so SIGTERM is served at once: the
 * remote statement is cancelled before the worker exits.
 */
#include "augur_internal.h"

#include "libpq-fe.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/postmaster.h"
#include "storage/latch.h"
#include "utils/builtins.h"

static void
set_error(augur_error *err, const char *sqlstate, const char *message)
{
    err->sqlstate = (sqlstate != NULL && strlen(sqlstate) == 5)
        ? MAKE_SQLSTATE(sqlstate[0], sqlstate[1], sqlstate[2], sqlstate[3], sqlstate[4])
        : ERRCODE_CONNECTION_FAILURE;
    strlcpy(err->message, message != NULL ? message : "unknown error", sizeof(err->message));
    err->detail[0] = '\0';
    err->hint[0] = '\0';
}

static PGconn *
connect_to(const char *database, const char *user, augur_error *err)
{
    char        host[MAXPGPATH];
    char        port[16];
    const char *keywords[] = {"host", "port", "dbname", "user", "application_name", NULL};
    const char *values[] = {host, port, database, user, "augur apply", NULL};
    PGconn     *conn;

    /* The first socket directory, else TCP on localhost. */
    strlcpy(host, Unix_socket_directories != NULL ? Unix_socket_directories : "", sizeof(host));
    host[strcspn(host, ",")] = '\0';
    if (host[0] == '\0')
        strlcpy(host, "localhost", sizeof(host));
    snprintf(port, sizeof(port), "%d", PostPortNumber);
    conn = PQconnectdbParams(keywords, values, 0);
    if (conn == NULL || PQstatus(conn) != CONNECTION_OK)
    {
        set_error(err, NULL, conn != NULL ? PQerrorMessage(conn) : "out of memory");
        if (conn != NULL)
            PQfinish(conn);
        return NULL;
    }
    return conn;
}

/* Waits for the statement sent on conn; cancels it if this process is interrupted. */
static void
wait_for_result(PGconn *conn)
{
    PG_TRY();
    {
        while (PQisBusy(conn))
        {
            (void) WaitLatchOrSocket(MyLatch, WL_LATCH_SET | WL_SOCKET_READABLE | WL_EXIT_ON_PM_DEATH,
                                     PQsocket(conn), -1L, PG_WAIT_EXTENSION);
            ResetLatch(MyLatch);
            CHECK_FOR_INTERRUPTS();
            if (!PQconsumeInput(conn))
                break;
        }
    }
    PG_CATCH();
    {
        char        ignored[256];
        PGcancel   *cancel = PQgetCancel(conn);

        if (cancel != NULL)
        {
            (void) PQcancel(cancel, ignored, sizeof(ignored));
            PQfreeCancel(cancel);
        }
        PQfinish(conn);
        PG_RE_THROW();
    }
    PG_END_TRY();
}

/*
 * Runs sql (one or more statements) in database as user; true on success, with *rows the number
 * of rows the last statement returned. Otherwise false, with the remote error in *err.
 */
bool
augur_remote_execute(const char *database, const char *user, const char *sql, int64_t *rows,
                     augur_error *err)
{
    PGconn     *conn = connect_to(database, user, err);
    PGresult   *result;
    bool        ok = true;

    *rows = 0;
    err->sqlstate = 0;
    if (conn == NULL)
        return false;
    if (!PQsendQuery(conn, sql))
    {
        set_error(err, NULL, PQerrorMessage(conn));
        PQfinish(conn);
        return false;
    }
    wait_for_result(conn);
    while ((result = PQgetResult(conn)) != NULL)
    {
        ExecStatusType status = PQresultStatus(result);

        if (status == PGRES_TUPLES_OK)
            *rows = PQntuples(result);
        else if (status != PGRES_COMMAND_OK && ok)
        {
            set_error(err, PQresultErrorField(result, PG_DIAG_SQLSTATE),
                      PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY));
            ok = false;
        }
        PQclear(result);
    }
    PQfinish(conn);
    return ok;
}

/*
 * Drops index (a qualified name, quoted as needed) in database if it exists and is
 * INVALID: what a failed or cancelled CREATE/DROP INDEX CONCURRENTLY leaves behind.
 * Returns whether one was dropped; a failure to look or to drop goes to *err.
 */
bool
augur_remote_drop_invalid_index(const char *database, const char *user, const char *index,
                                augur_error *err)
{
    char       *literal = quote_literal_cstr(index);
    char       *probe = psprintf("SELECT 1 FROM pg_catalog.pg_index "
                                 "WHERE indexrelid = pg_catalog.to_regclass(%s) AND NOT indisvalid",
                                 literal);
    int64_t     rows = 0;
    bool        dropped = false;

    if (augur_remote_execute(database, user, probe, &rows, err) && rows > 0)
    {
        char       *drop = psprintf("DROP INDEX CONCURRENTLY IF EXISTS %s", index);

        dropped = augur_remote_execute(database, user, drop, &rows, err);
        pfree(drop);
    }
    pfree(probe);
    pfree(literal);
    return dropped;
}
