/*
 * dictionary.c: augur.encode and augur.decode, a dictionary's lookups. They are called
 * once per value a client encodes, so they read the indexes directly, as a primary-key
 * lookup does, rather than through SPI or a PL/pgSQL function (twice the cost).
 *
 * A dictionary shows its column's values: a role reads it only if it may read that
 * column (the row-level policy of augur.dictionary_entry, checked here the same way).
 */
#include "augur_internal.h"

#include "access/genam.h"
#include "access/relscan.h"
#include "access/table.h"
#include "access/tableam.h"
#include "executor/tuptable.h"
#include "catalog/namespace.h"
#include "catalog/pg_collation_d.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/datum.h"
#include "utils/syscache.h"

#include <math.h>

PGDLLEXPORT Datum augur_sql_encode(PG_FUNCTION_ARGS);
PGDLLEXPORT Datum augur_sql_decode(PG_FUNCTION_ARGS);
PGDLLEXPORT Datum augur_sql_laplace(PG_FUNCTION_ARGS);
PG_FUNCTION_INFO_V1(augur_sql_encode);
PG_FUNCTION_INFO_V1(augur_sql_decode);
PG_FUNCTION_INFO_V1(augur_sql_laplace);

/* augur.dictionary's columns, and augur.dictionary_entry's, as the SQL script makes them. */
enum
{
    DICTIONARY_ID = 1, DICTIONARY_NAME = 2, DICTIONARY_RELID = 3, DICTIONARY_ATTNUM = 4
};
enum
{
    ENTRY_DICTIONARY = 1, ENTRY_CODE = 2, ENTRY_VALUE = 3
};

static Oid
augur_relation(const char *name)
{
    Oid         relid = get_relname_relid(name, get_namespace_oid("augur", false));

    if (!OidIsValid(relid))
        ereport(ERROR,
                (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                 errmsg("augur.%s does not exist", name),
                 errhint("Run ALTER EXTENSION augur UPDATE.")));
    return relid;
}

/*
 * Scans augur's index `index` (of `table`) with `keys` (their sk_attno index columns, the
 * index's collations set here) for the first visible row that `matches` accepts (NULL:
 * any), and copies its columns `columns` into `values`. False when none.
 */
static bool
first_row(const char *table, const char *index, ScanKey keys, int nkeys,
          bool (*matches) (TupleTableSlot *, void *), void *arg,
          const AttrNumber *columns, int ncolumns, Datum *values, bool *nulls)
{
    Relation    rel = table_open(augur_relation(table), AccessShareLock);
    Relation    irel = index_open(augur_relation(index), AccessShareLock);
    TupleTableSlot *slot = table_slot_create(rel, NULL);
    IndexScanDesc scan;
    bool        found = false;

    for (int i = 0; i < nkeys; i++)
        keys[i].sk_collation = irel->rd_indcollation[keys[i].sk_attno - 1];
    scan = index_beginscan(rel, irel, GetActiveSnapshot(), nkeys, 0);
    index_rescan(scan, keys, nkeys, NULL, 0);
    while (index_getnext_slot(scan, ForwardScanDirection, slot))
    {
        if (matches != NULL && !matches(slot, arg))
            continue;
        for (int i = 0; i < ncolumns; i++)
        {
            Form_pg_attribute attribute = TupleDescAttr(RelationGetDescr(rel), columns[i] - 1);

            values[i] = slot_getattr(slot, columns[i], &nulls[i]);
            if (!nulls[i])
                values[i] = datumCopy(values[i], attribute->attbyval, attribute->attlen);
        }
        found = true;
        break;
    }
    index_endscan(scan);
    ExecDropSingleTupleTableSlot(slot);
    index_close(irel, AccessShareLock);
    table_close(rel, AccessShareLock);
    return found;
}

/*
 * The id of dictionary `name`, if the current role may read its column; raises
 * undefined_object when there is no such dictionary. *readable false: no lookup.
 */
static int32
dictionary_id(text *name, bool *readable)
{
    static const AttrNumber columns[] = {DICTIONARY_ID, DICTIONARY_RELID, DICTIONARY_ATTNUM};
    Datum       values[3];
    bool        nulls[3];
    ScanKeyData key;
    Oid         user = GetUserId();
    Oid         relid;

    ScanKeyInit(&key, 1, BTEqualStrategyNumber, F_TEXTEQ, PointerGetDatum(name));
    if (!first_row("dictionary", "dictionary_name_key", &key, 1, NULL, NULL, columns, 3, values, nulls))
        ereport(ERROR,
                (errcode(ERRCODE_UNDEFINED_OBJECT),
                 errmsg("dictionary \"%s\" does not exist", text_to_cstring(name)),
                 errhint("augur.dictionaries lists them.")));
    relid = DatumGetObjectId(values[1]);
    *readable = SearchSysCacheExists1(RELOID, ObjectIdGetDatum(relid))
        && (pg_class_aclcheck(relid, user, ACL_SELECT) == ACLCHECK_OK
            || pg_attribute_aclcheck(relid, DatumGetInt16(values[2]), user, ACL_SELECT) == ACLCHECK_OK);
    return DatumGetInt32(values[0]);
}

/* Looks up one entry of dictionary `id` by `index`, whose first column is the dictionary. */
static bool
find_entry(int32 id, const char *index, ScanKey key, int nkeys, bool (*matches) (TupleTableSlot *, void *),
           void *arg, AttrNumber column, Datum *result, bool *isnull)
{
    ScanKeyData keys[2];

    ScanKeyInit(&keys[0], 1, BTEqualStrategyNumber, F_INT4EQ, Int32GetDatum(id));
    if (nkeys > 0)
        keys[1] = *key;
    return first_row("dictionary_entry", index, keys, nkeys + 1, matches, arg, &column, 1, result, isnull);
}

/* Entries found by the hash of their value: the value itself compared (hashes collide). */
static bool
value_matches(TupleTableSlot *slot, void *value)
{
    bool        isnull;
    Datum       stored = slot_getattr(slot, ENTRY_VALUE, &isnull);

    return !isnull && DatumGetBool(DirectFunctionCall2Coll(texteq, DEFAULT_COLLATION_OID, stored,
                                                           PointerGetDatum(value)));
}

/* augur.encode(name text, value text): the value's code; NULL when it has none. */
Datum
augur_sql_encode(PG_FUNCTION_ARGS)
{
    bool        readable = false;
    int32       id;
    Datum       code;
    bool        isnull = true;
    bool        found;

    require_argument(fcinfo, 0, "name");
    id = dictionary_id(PG_GETARG_TEXT_PP(0), &readable);
    if (!readable)
        PG_RETURN_NULL();
    if (PG_ARGISNULL(1))
        found = find_entry(id, "dictionary_entry_null", NULL, 0, NULL, NULL, ENTRY_CODE, &code, &isnull);
    else
    {
        text       *value = PG_GETARG_TEXT_PP(1);
        ScanKeyData hash;

        ScanKeyInit(&hash, 2, BTEqualStrategyNumber, F_INT8EQ,
                    DirectFunctionCall2Coll(hashtextextended, DEFAULT_COLLATION_OID,
                                            PointerGetDatum(value), Int64GetDatum(0)));
        found = find_entry(id, "dictionary_entry_value", &hash, 1, value_matches, value, ENTRY_CODE, &code, &isnull);
    }
    if (!found || isnull)
        PG_RETURN_NULL();
    PG_RETURN_DATUM(code);
}

/* augur.decode(name text, code int): the code's value; NULL for NULL's code and for none. */
Datum
augur_sql_decode(PG_FUNCTION_ARGS)
{
    bool        readable = false;
    int32       id;
    Datum       value;
    bool        isnull = true;
    ScanKeyData code;

    require_argument(fcinfo, 0, "name");
    id = dictionary_id(PG_GETARG_TEXT_PP(0), &readable);
    if (!readable || PG_ARGISNULL(1))
        PG_RETURN_NULL();
    ScanKeyInit(&code, 2, BTEqualStrategyNumber, F_INT4EQ, Int32GetDatum(PG_GETARG_INT32(1)));
    if (!find_entry(id, "dictionary_entry_pkey", &code, 1, NULL, NULL, ENTRY_VALUE, &value, &isnull) || isnull)
        PG_RETURN_NULL();
    PG_RETURN_DATUM(value);
}

/* A uniform draw in (0, 1) from 53 strong random bits. */
static double
strong_uniform(void)
{
    uint64      bits;

    if (!pg_strong_random(&bits, sizeof bits))
        ereport(ERROR,
                (errcode(ERRCODE_INTERNAL_ERROR),
                 errmsg("could not generate random numbers for differential privacy")));
    return ((double) (bits >> 11) + 0.5) / 9007199254740992.0;
}

/*
 * augur.laplace(scale float8): Laplace noise of that scale, the difference of two
 * exponential draws, from the server's strong random source (not random(), whose state a
 * session could learn).
 */
Datum
augur_sql_laplace(PG_FUNCTION_ARGS)
{
    double      scale = PG_GETARG_FLOAT8(0);

    if (!(scale >= 0) || isinf(scale))
        ereport(ERROR,
                (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                 errmsg("scale must be a finite number at least 0, not %g", scale)));
    PG_RETURN_FLOAT8(scale * (log(strong_uniform()) - log(strong_uniform())));
}
