/*
 * type_history.c: ALTER TABLE ... ALTER COLUMN ... TYPE, kept in augur.type_history.
 *
 * The extension's event triggers call these: at ddl_command_start each column whose type
 * is about to change is noted with its old type; at ddl_command_end the new type is read
 * and one row per changed column is inserted. Only plain C runs here (no Swift frame),
 * so errors propagate as for any trigger.
 */
#include "augur_internal.h"

#include "catalog/namespace.h"
#include "catalog/pg_type_d.h"
#include "commands/event_trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "storage/proc.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

PGDLLEXPORT Datum augur_sql_note_type_change_start(PG_FUNCTION_ARGS);
PGDLLEXPORT Datum augur_sql_note_type_change_end(PG_FUNCTION_ARGS);
PG_FUNCTION_INFO_V1(augur_sql_note_type_change_start);
PG_FUNCTION_INFO_V1(augur_sql_note_type_change_end);

typedef struct PendingTypeChange
{
    Oid         relid;
    AttrNumber  attnum;
    char       *old_type;
} PendingTypeChange;

/* Noted at ddl_command_start, in TopTransactionContext: valid while pending_lxid is the
 * current transaction's (a failed ALTER leaves entries behind; the next transaction
 * ignores them). */
static List *pending = NIL;
static LocalTransactionId pending_lxid = InvalidLocalTransactionId;

static EventTriggerData *
event_trigger_data(FunctionCallInfo fcinfo)
{
    if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
        ereport(ERROR,
                (errcode(ERRCODE_E_R_I_E_EVENT_TRIGGER_PROTOCOL_VIOLATED),
                 errmsg("%s is an event trigger function", get_func_name(fcinfo->flinfo->fn_oid)),
                 errhint("It is called by the event triggers CREATE EXTENSION augur made.")));
    return (EventTriggerData *) fcinfo->context;
}

static char *
column_type(Oid relid, AttrNumber attnum)
{
    Oid         type;
    int32       typmod;
    Oid         collation;

    get_atttypetypmodcoll(relid, attnum, &type, &typmod, &collation);
    return format_type_with_typemod(type, typmod);
}

Datum
augur_sql_note_type_change_start(PG_FUNCTION_ARGS)
{
    EventTriggerData *data = event_trigger_data(fcinfo);
    AlterTableStmt *statement;
    Oid         relid;
    ListCell   *cell;

    if (!IsA(data->parsetree, AlterTableStmt))
        PG_RETURN_NULL();
    statement = (AlterTableStmt *) data->parsetree;
    relid = RangeVarGetRelid(statement->relation, NoLock, true);
    if (!OidIsValid(relid))
        PG_RETURN_NULL();       /* ALTER TABLE IF EXISTS of nothing, or an error to come */
    if (pending_lxid != CURRENT_LXID)
    {
        pending = NIL;
        pending_lxid = CURRENT_LXID;
    }
    foreach(cell, statement->cmds)
    {
        AlterTableCmd *command = lfirst(cell);
        AttrNumber  attnum;
        MemoryContext old;
        PendingTypeChange *change;

        if (command->subtype != AT_AlterColumnType ||
            (attnum = get_attnum(relid, command->name)) <= 0)
            continue;
        old = MemoryContextSwitchTo(TopTransactionContext);
        change = palloc(sizeof(PendingTypeChange));
        change->relid = relid;
        change->attnum = attnum;
        change->old_type = column_type(relid, attnum);
        pending = lappend(pending, change);
        MemoryContextSwitchTo(old);
    }
    PG_RETURN_NULL();
}

Datum
augur_sql_note_type_change_end(PG_FUNCTION_ARGS)
{
    static const char *insert =
        "INSERT INTO augur.type_history (dbid, relid, attnum, column_name, old_type, new_type, changed_by)"
        " SELECT d.oid, $1, $2, format('%I.%I.%I', n.nspname, c.relname, a.attname), $3, $4, $5"
        "   FROM pg_catalog.pg_database d, pg_catalog.pg_class c"
        "   JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
        "   JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum = $2"
        "  WHERE d.datname = current_database() AND c.oid = $1"
        "    AND n.nspname NOT IN ('augur_shadow', 'augur_shadow_twin')";   /* the advisors' copies */
    Oid         types[5] = {OIDOID, INT2OID, TEXTOID, TEXTOID, TEXTOID};
    char       *changed_by = GetUserNameFromId(GetOuterUserId(), false);
    ListCell   *cell;

    (void) event_trigger_data(fcinfo);
    if (pending_lxid != CURRENT_LXID || pending == NIL)
        PG_RETURN_NULL();
    SPI_connect();
    foreach(cell, pending)
    {
        PendingTypeChange *change = lfirst(cell);
        char       *new_type;
        Datum       values[5];

        if (get_attname(change->relid, change->attnum, true) == NULL)
            continue;           /* dropped by a later command of the same ALTER */
        new_type = column_type(change->relid, change->attnum);
        if (strcmp(new_type, change->old_type) == 0)
            continue;           /* unchanged: the ALTER failed in a savepoint, or a no-op */
        values[0] = ObjectIdGetDatum(change->relid);
        values[1] = Int16GetDatum(change->attnum);
        values[2] = CStringGetTextDatum(change->old_type);
        values[3] = CStringGetTextDatum(new_type);
        values[4] = CStringGetTextDatum(changed_by);
        SPI_execute_with_args(insert, 5, types, values, NULL, false, 0);
    }
    SPI_finish();
    pending = NIL;
    PG_RETURN_NULL();
}
