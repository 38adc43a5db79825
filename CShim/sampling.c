/*
 * sampling.c: record-level co-access, sampled by transaction.
 *
 * A transaction is sampled with probability augur.sample_rate, decided at its first
 * statement. While it runs, the relations its statements touch and the key values they
 * use are gathered in backend-local fixed arrays: a key is a column compared for
 * equality with a constant or a parameter in a scan's quals (primary keys, foreign keys
 * and equality filters alike), or a primary or foreign key column given a constant or a
 * parameter by INSERT ... VALUES. At commit the transaction goes to a fixed shared ring
 * that the worker drains; when the ring is full or busy it is dropped and counted.
 * Nothing here runs for a transaction that is not sampled beyond one comparison.
 */
#include "augur_internal.h"

#include "access/transam.h"
#include "access/xact.h"
#include "common/pg_prng.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "nodes/nodeFuncs.h"
#include "storage/proc.h"
#include "storage/shmem.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/relcache.h"

typedef struct AugurSampleRing
{
    int         capacity;
    int         count;          /* events waiting for the worker */
    pg_atomic_uint64 dropped;   /* sampled transactions lost: ring full or busy */
    augur_sampled_xact events[FLEXIBLE_ARRAY_MEMBER];
} AugurSampleRing;

static AugurSampleRing *ring = NULL;

/* The transaction being sampled in this backend, if any. */
static LocalTransactionId decided_lxid = InvalidLocalTransactionId;
static bool sampled = false;
static augur_sampled_xact current;

Size
augur_sampling_shmem_size(void)
{
    return add_size(offsetof(AugurSampleRing, events),
                    mul_size(sizeof(augur_sampled_xact), augur_max_sampled_xacts));
}

void
augur_sampling_shmem_init(void)
{
    bool        found;

    ring = ShmemInitStruct("augur sampled transactions", augur_sampling_shmem_size(), &found);
    if (!found)
    {
        ring->capacity = augur_max_sampled_xacts;
        ring->count = 0;
        pg_atomic_init_u64(&ring->dropped, 0);
    }
}

int64
augur_sampling_dropped(void)
{
    return ring != NULL ? (int64) pg_atomic_read_u64(&ring->dropped) : 0;
}

/* The catalogs and Augur's own tables (written by its event triggers) are not workload. */
static bool
is_workload(Oid relid)
{
    char       *schema;
    bool        own;

    if (relid < FirstNormalObjectId)
        return false;
    schema = get_namespace_name(get_rel_namespace(relid));
    own = schema != NULL && strcmp(schema, "augur") == 0;
    if (schema != NULL)
        pfree(schema);
    return !own;
}

static void
add_relation(Oid relid)
{
    if (!is_workload(relid))
        return;
    relid = augur_root_relation(relid);
    for (int i = 0; i < current.nrelations; i++)
        if (current.relations[i] == relid)
            return;
    if (current.nrelations < AUGUR_SAMPLE_RELATIONS)
        current.relations[current.nrelations++] = relid;
}

static void
add_key(Oid relid, AttrNumber attnum, Oid type, Datum value)
{
    Oid         output;
    bool        varlena;
    char       *text;
    augur_sampled_key *key;

    if (current.nkeys >= AUGUR_SAMPLE_KEYS || !is_workload(relid) || !augur_root_column(&relid, &attnum))
        return;
    getTypeOutputInfo(type, &output, &varlena);
    text = OidOutputFunctionCall(output, value);
    key = &current.keys[current.nkeys];
    for (int i = 0; i < current.nkeys; i++)
        if (current.keys[i].relid == relid && current.keys[i].attnum == attnum &&
            strncmp(current.keys[i].value, text, AUGUR_KEY_VALUE_LEN - 1) == 0)
            return;
    key->relid = relid;
    key->attnum = attnum;
    strlcpy(key->value, text, sizeof(key->value));
    current.nkeys++;
}

/* The value of a constant or an external parameter; false for anything else. */
static bool
known_value(Node *node, ParamListInfo params, Oid *type, Datum *value)
{
    node = augur_strip_relabel(node);
    if (node != NULL && IsA(node, Const) && !((Const *) node)->constisnull)
    {
        *type = ((Const *) node)->consttype;
        *value = ((Const *) node)->constvalue;
        return true;
    }
    if (node != NULL && IsA(node, Param) && ((Param *) node)->paramkind == PARAM_EXTERN && params != NULL)
    {
        int         id = ((Param *) node)->paramid;
        ParamExternData workspace;
        ParamExternData *param;

        if (id < 1 || id > params->numParams)
            return false;
        param = params->paramFetch != NULL ? params->paramFetch(params, id, true, &workspace)
            : &params->params[id - 1];
        if (param == NULL || param->isnull || !OidIsValid(param->ptype))
            return false;
        *type = param->ptype;
        *value = param->value;
        return true;
    }
    return false;
}

/*
 * The relation column a Var of a scan's quals stands for: the scanned relation's own, or,
 * in an index-only scan's quals (varno INDEX_VAR), the one the index column holds.
 */
static AttrNumber
scanned_column(Var *var, Index scanrelid, List *index_tlist)
{
    Node       *indexed;

    if (var->varno == scanrelid)
        return var->varattno;
    if (index_tlist == NIL || var->varno != INDEX_VAR || var->varattno < 1 ||
        var->varattno > list_length(index_tlist))
        return InvalidAttrNumber;
    indexed = (Node *) ((TargetEntry *) list_nth(index_tlist, var->varattno - 1))->expr;
    return IsA(indexed, Var) ? ((Var *) indexed)->varattno : InvalidAttrNumber;
}

/* column = value conjuncts of one scan's quals, for the relation it scans. */
static void
add_equality_keys(List *quals, Oid relid, Index scanrelid, List *index_tlist, ParamListInfo params)
{
    ListCell   *cell;

    foreach(cell, quals)
    {
        OpExpr     *op = lfirst(cell);
        Node       *column;
        Node       *other;
        Oid         type;
        Datum       value;
        char       *name;
        AttrNumber  attnum;

        if (!IsA(op, OpExpr) || list_length(op->args) != 2)
            continue;
        column = augur_strip_relabel(linitial(op->args));
        other = lsecond(op->args);
        if (column == NULL || !IsA(column, Var))
        {
            /* value = column */
            other = column;
            column = augur_strip_relabel(lsecond(op->args));
        }
        if (column == NULL || !IsA(column, Var) ||
            (attnum = scanned_column((Var *) column, scanrelid, index_tlist)) == InvalidAttrNumber ||
            !known_value(other, params, &type, &value))
            continue;
        name = get_opname(op->opno);
        if (name != NULL && strcmp(name, "=") == 0)
            add_key(relid, attnum, type, value);
    }
}

/* INSERT ... VALUES: the primary and foreign key columns given a known value. */
static void
add_inserted_keys(ModifyTableState *modify, ParamListInfo params)
{
    Relation    target = modify->resultRelInfo->ri_RelationDesc;
    Plan       *source = outerPlan(modify->ps.plan);
    Bitmapset  *keys = RelationGetIndexAttrBitmap(target, INDEX_ATTR_BITMAP_PRIMARY_KEY);
    ListCell   *cell;

    if (source == NULL || !IsA(source, Result))
        return;                 /* INSERT ... SELECT: its scans give the keys */
    foreach(cell, RelationGetFKeyList(target))
    {
        ForeignKeyCacheInfo *foreign = lfirst(cell);

        for (int i = 0; i < foreign->nkeys; i++)
            keys = bms_add_member(keys, foreign->conkey[i] - FirstLowInvalidHeapAttributeNumber);
    }
    foreach(cell, source->targetlist)
    {
        TargetEntry *entry = lfirst(cell);
        Oid         type;
        Datum       value;

        if (!entry->resjunk &&
            bms_is_member(entry->resno - FirstLowInvalidHeapAttributeNumber, keys) &&
            known_value((Node *) entry->expr, params, &type, &value))
            add_key(RelationGetRelid(target), entry->resno, type, value);
    }
}

typedef struct KeyWalk
{
    EState     *estate;
    ParamListInfo params;
} KeyWalk;

static bool
collect_keys(PlanState *state, KeyWalk *walk)
{
    Plan       *plan;

    if (state == NULL)
        return false;
    plan = state->plan;
    switch (nodeTag(plan))
    {
        case T_SeqScan:
        case T_IndexScan:
        case T_IndexOnlyScan:
        case T_BitmapHeapScan:
        case T_TidScan:
            {
                Index       scanrelid = ((Scan *) plan)->scanrelid;
                Oid         relid = exec_rt_fetch(scanrelid, walk->estate)->relid;

                add_equality_keys(plan->qual, relid, scanrelid, NIL, walk->params);
                if (IsA(plan, IndexScan))
                    add_equality_keys(((IndexScan *) plan)->indexqualorig, relid, scanrelid, NIL, walk->params);
                else if (IsA(plan, IndexOnlyScan))
                    add_equality_keys(((IndexOnlyScan *) plan)->indexqual, relid, scanrelid,
                                      ((IndexOnlyScan *) plan)->indextlist, walk->params);
                else if (IsA(plan, BitmapHeapScan))
                    add_equality_keys(((BitmapHeapScan *) plan)->bitmapqualorig, relid, scanrelid, NIL, walk->params);
                break;
            }
        case T_ModifyTable:
            if (((ModifyTable *) plan)->operation == CMD_INSERT)
                add_inserted_keys((ModifyTableState *) state, walk->params);
            break;
        default:
            break;
    }
    return planstate_tree_walker(state, collect_keys, walk);
}

void
augur_sample_statement(QueryDesc *query_desc)
{
    ListCell   *cell;
    KeyWalk     walk;

    if (decided_lxid != CURRENT_LXID)
    {
        decided_lxid = CURRENT_LXID;
        /* A draw below rate × 2^64, in integers (a rate of 1 samples everything). */
        sampled = augur_sample_rate >= 1.0 ||
            (augur_sample_rate > 0 &&
             pg_prng_uint64(&pg_global_prng_state) < (uint64) (augur_sample_rate * 18446744073709551616.0));
        /*
         * A full ring would drop the transaction at commit: skip the work now (count read
         * without the lock: a hint is enough). At high rates this caps sampling at
         * augur.max_sampled_xacts per flush.
         */
        if (sampled && ring->count >= ring->capacity)
        {
            pg_atomic_fetch_add_u64(&ring->dropped, 1);
            sampled = false;
        }
        if (sampled)
        {
            memset(&current, 0, sizeof(current));
            current.dbid = MyDatabaseId;
            current.userid = GetUserId();
            current.pid = MyProcPid;
            current.lxid = CURRENT_LXID;
            current.sample_rate = augur_sample_rate;
        }
    }
    if (!sampled || query_desc->planstate == NULL)
        return;
    foreach(cell, query_desc->plannedstmt->rtable)
    {
        RangeTblEntry *rte = lfirst(cell);

        if (rte->rtekind == RTE_RELATION && rte->relkind != RELKIND_VIEW)
            add_relation(rte->relid);
    }
    walk.estate = query_desc->estate;
    walk.params = query_desc->params;
    (void) collect_keys(query_desc->planstate, &walk);
}

/* At commit the sampled transaction goes to the ring; whatever ends, sampling stops. */
static void
sampling_xact_callback(XactEvent event, void *arg)
{
    if (event != XACT_EVENT_COMMIT && event != XACT_EVENT_ABORT &&
        event != XACT_EVENT_PARALLEL_COMMIT && event != XACT_EVENT_PARALLEL_ABORT &&
        event != XACT_EVENT_PREPARE)
        return;
    if (sampled && event == XACT_EVENT_COMMIT && current.nrelations > 0 && ring != NULL)
    {
        current.ended_at = (int64_t) GetCurrentTimestamp();
        if (!LWLockConditionalAcquire(augur_shared->sampling_lock, LW_EXCLUSIVE))
            pg_atomic_fetch_add_u64(&ring->dropped, 1);
        else
        {
            if (ring->count < ring->capacity)
                ring->events[ring->count++] = current;
            else
                pg_atomic_fetch_add_u64(&ring->dropped, 1);
            LWLockRelease(augur_shared->sampling_lock);
        }
    }
    sampled = false;
    decided_lxid = InvalidLocalTransactionId;
}

void
augur_install_sampling(void)
{
    RegisterXactCallback(sampling_xact_callback, NULL);
}

/* Moves the waiting sampled transactions into the batch; runs under the drain's guard. */
void
augur_sampling_drain(augur_capture_batch *out)
{
    /* Allocated before the lock is taken: a failure here must not leave it held. */
    out->sampled = MemoryContextAlloc(out->memory, sizeof(augur_sampled_xact) * Max(ring->capacity, 1));
    LWLockAcquire(augur_shared->sampling_lock, LW_EXCLUSIVE);
    out->sampled_count = ring->count;
    memcpy(out->sampled, ring->events, sizeof(augur_sampled_xact) * ring->count);
    ring->count = 0;
    LWLockRelease(augur_shared->sampling_lock);
}

/* Puts drained sampled transactions back in the ring (their flush's transaction aborted). */
void
augur_sampling_return(const augur_capture_batch *batch)
{
    int32       kept;

    LWLockAcquire(augur_shared->sampling_lock, LW_EXCLUSIVE);
    kept = Min(batch->sampled_count, ring->capacity - ring->count);
    if (kept > 0)
    {
        memcpy(ring->events + ring->count, batch->sampled, sizeof(augur_sampled_xact) * kept);
        ring->count += kept;
    }
    LWLockRelease(augur_shared->sampling_lock);
    if (batch->sampled_count > kept)
        pg_atomic_fetch_add_u64(&ring->dropped, (uint64) (batch->sampled_count - Max(kept, 0)));
}
