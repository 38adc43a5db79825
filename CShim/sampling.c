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

#include "access/table.h"
#include "access/transam.h"
#include "access/xact.h"
#include "catalog/pg_namespace.h"
#include "common/pg_prng.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "parser/parsetree.h"
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

/*
 * The catalogs (with what extensions keep there, as Citus its metadata) and Augur's own
 * tables (written by its event triggers) are not workload.
 */
static bool
is_workload(Oid relid)
{
    Oid         namespace;
    char       *schema;
    bool        own;

    if (relid < FirstNormalObjectId)
        return false;
    namespace = get_rel_namespace(relid);
    if (namespace == PG_CATALOG_NAMESPACE)
        return false;
    schema = get_namespace_name(namespace);
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

/*
 * Where the Vars of some quals point: a scan's (one relation, its index-only scan's
 * index columns) or a parse tree's (its range table).
 */
typedef struct QualColumns
{
    Oid         relid;          /* a scan's relation */
    Index       scanrelid;
    List       *index_tlist;
    List       *rtable;         /* a parse tree's; NIL for a scan */
} QualColumns;

/* The relation and column a Var of the quals stands for; false when it is not one. */
static bool
qual_column(Var *var, const QualColumns *columns, Oid *relid, AttrNumber *attnum)
{
    RangeTblEntry *rte;

    if (columns->rtable == NIL)
    {
        *relid = columns->relid;
        *attnum = scanned_column(var, columns->scanrelid, columns->index_tlist);
        return *attnum != InvalidAttrNumber;
    }
    if (var->varlevelsup != 0 || var->varno < 1 || var->varno > list_length(columns->rtable) || var->varattno < 1)
        return false;
    rte = rt_fetch(var->varno, columns->rtable);
    if (rte->rtekind != RTE_RELATION)
        return false;
    *relid = rte->relid;
    *attnum = var->varattno;
    return true;
}

/* column = value conjuncts of some quals. */
static void
add_equality_keys(List *quals, const QualColumns *columns, ParamListInfo params)
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
        Oid         relid;
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
        if (column == NULL || !IsA(column, Var) || !qual_column((Var *) column, columns, &relid, &attnum) ||
            !known_value(other, params, &type, &value))
            continue;
        name = get_opname(op->opno);
        if (name != NULL && strcmp(name, "=") == 0)
            add_key(relid, attnum, type, value);
    }
}

/*
 * INSERT ... VALUES: the primary and foreign key columns given a known value in
 * `targetlist` (the row inserted).
 */
static void
add_inserted_keys(Relation target, List *targetlist, ParamListInfo params)
{
    Bitmapset  *keys = RelationGetIndexAttrBitmap(target, INDEX_ATTR_BITMAP_PRIMARY_KEY);
    ListCell   *cell;

    foreach(cell, RelationGetFKeyList(target))
    {
        ForeignKeyCacheInfo *foreign = lfirst(cell);

        for (int i = 0; i < foreign->nkeys; i++)
            keys = bms_add_member(keys, foreign->conkey[i] - FirstLowInvalidHeapAttributeNumber);
    }
    foreach(cell, targetlist)
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
                QualColumns columns = {exec_rt_fetch(scanrelid, walk->estate)->relid, scanrelid, NIL, NIL};

                add_equality_keys(plan->qual, &columns, walk->params);
                if (IsA(plan, IndexScan))
                    add_equality_keys(((IndexScan *) plan)->indexqualorig, &columns, walk->params);
                else if (IsA(plan, IndexOnlyScan))
                {
                    columns.index_tlist = ((IndexOnlyScan *) plan)->indextlist;
                    add_equality_keys(((IndexOnlyScan *) plan)->indexqual, &columns, walk->params);
                }
                else if (IsA(plan, BitmapHeapScan))
                    add_equality_keys(((BitmapHeapScan *) plan)->bitmapqualorig, &columns, walk->params);
                break;
            }
        case T_ModifyTable:
            {
                ModifyTableState *modify = (ModifyTableState *) state;
                Plan       *source = outerPlan(plan);

                /* INSERT ... SELECT: its scans give the keys. */
                if (((ModifyTable *) plan)->operation == CMD_INSERT && source != NULL && IsA(source, Result))
                    add_inserted_keys(modify->resultRelInfo->ri_RelationDesc, source->targetlist, walk->params);
                break;
            }
        default:
            break;
    }
    return planstate_tree_walker(state, collect_keys, walk);
}

/* Whether this transaction is sampled: decided at its first statement. */
static bool
transaction_sampled(void)
{
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
    return sampled;
}

/*
 * A sampled transaction's keys from a statement's parse tree: the column = constant
 * conjuncts of its WHERE clause, and the key values an INSERT's single row gives. Where a
 * plan's scans cannot be read (Citus's distributed plans are custom scans) this is where
 * the keys come from; elsewhere it finds what the plan gives too (a key is kept once).
 * Constants only: a prepared statement's parameters are known at execution, from its plan.
 */
void
augur_sample_parsed(Query *query)
{
    QualColumns columns = {InvalidOid, 0, NIL, query->rtable};

    if (query->utilityStmt != NULL || !transaction_sampled())
        return;
    if (query->jointree != NULL && query->jointree->quals != NULL)
        add_equality_keys(make_ands_implicit((Expr *) query->jointree->quals), &columns, NULL);
    if (query->commandType == CMD_INSERT && query->resultRelation > 0 &&
        list_length(query->rtable) >= query->resultRelation)
    {
        Relation    target = table_open(rt_fetch(query->resultRelation, query->rtable)->relid, NoLock);

        add_inserted_keys(target, query->targetList, NULL);
        table_close(target, NoLock);
    }
}

void
augur_sample_statement(QueryDesc *query_desc)
{
    ListCell   *cell;
    KeyWalk     walk;

    if (!transaction_sampled() || query_desc->planstate == NULL)
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
