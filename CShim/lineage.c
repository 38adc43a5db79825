/*
 * lineage.c: column-level lineage of what a statement writes or defines, in
 * OpenLineage's terms.
 *
 * DIRECT edges run from the columns a written column's value is computed from:
 * IDENTITY (copied as is, through subqueries, CTEs, set operations and join aliases),
 * TRANSFORMATION (computed), AGGREGATION (through an aggregate or a window aggregate).
 * INDIRECT edges run from the columns that decide which rows are written (FILTER: WHERE,
 * ON, HAVING, EXCEPT's right side and the sublinks in them, also inside the subqueries
 * and CTEs read, writable ones included; JOIN: equi-join keys; GROUP_BY, also DISTINCT;
 * SORT) to every written column; and from the columns that shape one column's value
 * (WINDOW: its PARTITION BY and ORDER BY; CONDITIONAL: its CASE conditions; FILTER: an
 * aggregate's FILTER and a scalar subquery's WHERE) to that column only.
 *
 * Row-deciding edges are kept once, with target_attnum AUGUR_LINEAGE_ALL_WRITTEN, and
 * expanded to the written columns when flushed: that keeps a wide INSERT within the
 * shape's fixed room. Sources are base relation columns (views kept as views),
 * partitions as their root.
 */
#include "augur_internal.h"

#include "catalog/pg_class.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/optimizer.h"
#include "parser/parsetree.h"
#include "utils/lsyscache.h"

#define MAX_TRACE_DEPTH 32

typedef struct LineageContext
{
    AugurQueryShape *shape;
    Oid         target_relid;
    AttrNumber  target_attnum;  /* or AUGUR_LINEAGE_ALL_WRITTEN */
    bool        indirect;       /* the subtype is fixed (INDIRECT), not derived */
    List       *outer;          /* enclosing levels of the one traced, innermost first */
    int         depth;
} LineageContext;

static void trace_expr(LineageContext *context, Query *query, Node *expr, uint8 subtype);
static void trace_level_indirect(LineageContext *context, Query *level, List *level_outer);

static void
add_edge(LineageContext *context, Oid source_relid, AttrNumber source_attnum, uint8 subtype)
{
    AugurLineageEdge edge;

    memset(&edge, 0, sizeof(edge));    /* padding too: edges are compared bytewise */
    edge.target_relid = augur_root_relation(context->target_relid);
    edge.target_attnum = context->target_attnum;
    edge.source_relid = source_relid;
    edge.source_attnum = source_attnum;
    edge.subtype = subtype;
    edge.source_kind = AUGUR_SOURCE_RELATION;
    if ((edge.target_attnum != AUGUR_LINEAGE_ALL_WRITTEN &&
         !augur_root_column(&edge.target_relid, &edge.target_attnum)) ||
        !augur_root_column(&edge.source_relid, &edge.source_attnum))
        return;
    augur_append_unique(context->shape->lineage, &context->shape->nlineage, AUGUR_SHAPE_LINEAGE,
                        &edge, sizeof(edge));
}

/* Casts the parser added do not change a value: see through them. */
static Node *
strip_implicit(Node *node)
{
    for (;;)
    {
        if (node != NULL && IsA(node, RelabelType))
            node = (Node *) ((RelabelType *) node)->arg;
        else if (node != NULL && IsA(node, FuncExpr) &&
                 ((FuncExpr *) node)->funcformat == COERCE_IMPLICIT_CAST &&
                 list_length(((FuncExpr *) node)->args) == 1)
            node = linitial(((FuncExpr *) node)->args);
        else
            return node;
    }
}

/* The CTE an RTE_CTE entry of `query` names, and the levels enclosing the CTE's query. */
static CommonTableExpr *
find_cte(List *outer, Query *query, RangeTblEntry *rte, List **cte_outer)
{
    Query      *owner;
    ListCell   *cell;

    if (rte->ctelevelsup == 0)
    {
        owner = query;
        *cte_outer = lcons(query, list_copy(outer));
    }
    else if (rte->ctelevelsup <= list_length(outer))
    {
        owner = list_nth(outer, rte->ctelevelsup - 1);
        *cte_outer = list_copy_tail(outer, rte->ctelevelsup - 1);
    }
    else
        return NULL;
    foreach(cell, owner->cteList)
    {
        CommonTableExpr *cte = lfirst(cell);

        if (strcmp(cte->ctename, rte->ctename) == 0 && IsA(cte->ctequery, Query))
            return cte;
    }
    return NULL;
}

static void trace_output(LineageContext *context, Query *inner, List *inner_outer,
                         AttrNumber attnum, uint8 subtype);

/* Output column attnum of a set operation is that column of each of its leaves. */
static void
trace_set_operation(LineageContext *context, Query *inner, List *inner_outer, Node *node,
                    AttrNumber attnum, uint8 subtype)
{
    if (IsA(node, SetOperationStmt))
    {
        SetOperationStmt *operation = (SetOperationStmt *) node;
        bool        saved = context->indirect;

        trace_set_operation(context, inner, inner_outer, operation->larg, attnum, subtype);
        /* EXCEPT's right side only removes rows: it filters, it gives no values. */
        if (operation->op == SETOP_EXCEPT && !context->indirect)
        {
            context->indirect = true;
            subtype = AUGUR_LINEAGE_FILTER;
        }
        trace_set_operation(context, inner, inner_outer, operation->rarg, attnum, subtype);
        context->indirect = saved;
    }
    else if (IsA(node, RangeTblRef))
    {
        RangeTblEntry *leaf = rt_fetch(((RangeTblRef *) node)->rtindex, inner->rtable);

        if (leaf->rtekind == RTE_SUBQUERY)
            trace_output(context, leaf->subquery, lcons(inner, list_copy(inner_outer)), attnum, subtype);
    }
}

/* Follows one output column of a subquery, CTE or sublink into its own level. */
static void
trace_output(LineageContext *context, Query *inner, List *inner_outer, AttrNumber attnum, uint8 subtype)
{
    List       *saved = context->outer;
    TargetEntry *entry;

    if (inner == NULL || context->depth >= MAX_TRACE_DEPTH)
        return;
    context->depth++;
    if (inner->setOperations != NULL)
        trace_set_operation(context, inner, inner_outer, inner->setOperations, attnum, subtype);
    else if ((entry = get_tle_by_resno(inner->returningList != NIL ? inner->returningList : inner->targetList,
                                        attnum)) != NULL)
    {
        context->outer = inner_outer;
        trace_expr(context, inner, (Node *) entry->expr, subtype);
        context->outer = saved;
    }
    context->depth--;
}

static void
trace_var(LineageContext *context, Query *query, Var *var, uint8 subtype)
{
    RangeTblEntry *rte;
    ListCell   *cell;

    if (var->varlevelsup > 0)
    {
        /* A correlated reference: trace it at the level it belongs to. */
        List       *saved = context->outer;
        Var         local = *var;

        if (var->varlevelsup > list_length(saved))
            return;
        local.varlevelsup = 0;
        context->outer = list_copy_tail(saved, var->varlevelsup);
        trace_var(context, list_nth(saved, var->varlevelsup - 1), &local, subtype);
        context->outer = saved;
        return;
    }
    if (var->varno < 1 || var->varno > list_length(query->rtable))
        return;
    rte = rt_fetch(var->varno, query->rtable);
    switch (rte->rtekind)
    {
        case RTE_RELATION:
            add_edge(context, rte->relid, var->varattno, subtype);
            break;
        case RTE_SUBQUERY:
            trace_output(context, rte->subquery, lcons(query, list_copy(context->outer)),
                         var->varattno, subtype);
            break;
        case RTE_CTE:
            {
                List       *cte_outer = NIL;
                CommonTableExpr *cte = find_cte(context->outer, query, rte, &cte_outer);

                if (cte != NULL)
                    trace_output(context, (Query *) cte->ctequery, cte_outer, var->varattno, subtype);
                break;
            }
        case RTE_JOIN:
            if (var->varattno > 0 && var->varattno <= list_length(rte->joinaliasvars))
                trace_expr(context, query, list_nth(rte->joinaliasvars, var->varattno - 1), subtype);
            break;
        case RTE_FUNCTION:
            /* unnest(t.a), generate_series(...): computed from the arguments */
            foreach(cell, rte->functions)
                trace_expr(context, query, ((RangeTblFunction *) lfirst(cell))->funcexpr, subtype);
            break;
        case RTE_VALUES:
            foreach(cell, rte->values_lists)
            {
                List       *row = lfirst(cell);

                if (var->varattno > 0 && var->varattno <= list_length(row))
                    trace_expr(context, query, list_nth(row, var->varattno - 1), subtype);
            }
            break;
        default:
            break;
    }
}

/* Traces expr with a fixed INDIRECT subtype, to the current target column(s). */
static void
trace_indirect(LineageContext *context, Query *query, Node *expr, uint8 subtype)
{
    bool        saved = context->indirect;

    context->indirect = true;
    trace_expr(context, query, expr, subtype);
    context->indirect = saved;
}

/* The expressions named by a list of SortGroupClauses (GROUP BY, ORDER BY, DISTINCT,
 * PARTITION BY). */
static void
trace_clauses(LineageContext *context, Query *query, List *clauses, uint8 subtype)
{
    ListCell   *cell;

    foreach(cell, clauses)
    {
        TargetEntry *entry = get_sortgroupclause_tle(lfirst(cell), query->targetList);

        trace_indirect(context, query, (Node *) entry->expr, subtype);
    }
}

typedef struct VarWalk
{
    LineageContext *context;
    Query      *query;
    uint8       subtype;
} VarWalk;

static bool trace_vars_walker(Node *node, VarWalk *walk);

/* A sublink's value comes from its subquery's output; which rows it sees is decided by
 * the subquery's own WHERE, grouping and so on. */
static void
trace_sublink(VarWalk *walk, SubLink *sublink)
{
    LineageContext *context = walk->context;
    Query      *sub = (Query *) sublink->subselect;
    List       *sub_outer = lcons(walk->query, list_copy(context->outer));
    ListCell   *cell;

    (void) trace_vars_walker(sublink->testexpr, walk);
    foreach(cell, sub->targetList)
    {
        TargetEntry *entry = lfirst(cell);

        if (!entry->resjunk)
            trace_output(context, sub, sub_outer, entry->resno, walk->subtype);
    }
    trace_level_indirect(context, sub, sub_outer);
}

/* A window function's PARTITION BY and ORDER BY shape its value (WINDOW); where the
 * function only decides rows (WHERE rn = 1 over a subquery), they decide rows too. */
static void
trace_window(VarWalk *walk, WindowFunc *function)
{
    ListCell   *cell;
    uint8       subtype = walk->context->indirect ? walk->subtype : AUGUR_LINEAGE_WINDOW;

    foreach(cell, walk->query->windowClause)
    {
        WindowClause *window = lfirst(cell);

        if (window->winref != function->winref)
            continue;
        trace_clauses(walk->context, walk->query, window->partitionClause, subtype);
        trace_clauses(walk->context, walk->query, window->orderClause, subtype);
    }
}

/* CASE conditions choose between values: CONDITIONAL for the column computed. */
static void
trace_case(VarWalk *walk, CaseExpr *expr)
{
    ListCell   *cell;

    trace_indirect(walk->context, walk->query, (Node *) expr->arg, AUGUR_LINEAGE_CONDITIONAL);
    foreach(cell, expr->args)
    {
        CaseWhen   *when = lfirst(cell);

        trace_indirect(walk->context, walk->query, (Node *) when->expr, AUGUR_LINEAGE_CONDITIONAL);
        (void) trace_vars_walker((Node *) when->result, walk);
    }
    (void) trace_vars_walker((Node *) expr->defresult, walk);
}

static bool
trace_vars_walker(Node *node, VarWalk *walk)
{
    if (node == NULL)
        return false;
    if (IsA(node, Var))
    {
        trace_var(walk->context, walk->query, (Var *) node, walk->subtype);
        return false;
    }
    if (IsA(node, SubLink))
    {
        trace_sublink(walk, (SubLink *) node);
        return false;
    }
    if (IsA(node, CaseExpr) && !walk->context->indirect)
    {
        trace_case(walk, (CaseExpr *) node);
        return false;
    }
    if (IsA(node, Aggref) && !walk->context->indirect)
    {
        /* count(*) FILTER (WHERE ...) decides which rows feed this column's aggregate. */
        Aggref     *aggregate = (Aggref *) node;

        trace_indirect(walk->context, walk->query, (Node *) aggregate->aggfilter, AUGUR_LINEAGE_FILTER);
        (void) trace_vars_walker((Node *) aggregate->aggdirectargs, walk);
        (void) trace_vars_walker((Node *) aggregate->args, walk);
        return false;
    }
    if (IsA(node, WindowFunc))
        trace_window(walk, (WindowFunc *) node);
    return expression_tree_walker(node, trace_vars_walker, walk);
}

static bool
contains_aggregation_walker(Node *node, void *unused)
{
    if (node == NULL)
        return false;
    if (IsA(node, Aggref) || (IsA(node, WindowFunc) && ((WindowFunc *) node)->winagg))
        return true;
    if (IsA(node, Query))
        return false;
    return expression_tree_walker(node, contains_aggregation_walker, unused);
}

/* Traces an expression of `query` to base columns. A bare Var keeps the subtype so far;
 * anything else makes a DIRECT edge a TRANSFORMATION, or an AGGREGATION. */
static void
trace_expr(LineageContext *context, Query *query, Node *expr, uint8 subtype)
{
    VarWalk     walk = {context, query, subtype};

    expr = strip_implicit(expr);
    if (expr == NULL || context->depth >= MAX_TRACE_DEPTH)
        return;
    context->depth++;
    if (IsA(expr, Var))
        trace_var(context, query, (Var *) expr, subtype);
    else
    {
        if (!context->indirect)
            walk.subtype = (subtype == AUGUR_LINEAGE_AGGREGATION || contains_aggregation_walker(expr, NULL))
                ? AUGUR_LINEAGE_AGGREGATION : AUGUR_LINEAGE_TRANSFORMATION;
        (void) trace_vars_walker(expr, &walk);
    }
    context->depth--;
}

/*
 * The columns that decide which rows `level` produces: its WHERE/ON conjuncts, HAVING,
 * GROUP BY, DISTINCT and ORDER BY, and those of the subqueries and CTEs it reads from
 * (for a set operation, of its leaves).
 */
static void
trace_level_indirect(LineageContext *context, Query *level, List *level_outer)
{
    List       *saved_outer = context->outer;
    List       *inner_outer;
    ListCell   *cell;

    if (context->depth >= MAX_TRACE_DEPTH)
        return;
    context->depth++;
    context->outer = level_outer;
    inner_outer = lcons(level, list_copy(level_outer));
    if (level->setOperations == NULL)
    {
        foreach(cell, augur_level_quals(level))
        {
            Node       *qual = lfirst(cell);

            trace_indirect(context, level, qual,
                           augur_is_equi_join(qual) ? AUGUR_LINEAGE_JOIN : AUGUR_LINEAGE_FILTER);
        }
        trace_indirect(context, level, level->havingQual, AUGUR_LINEAGE_FILTER);
        trace_clauses(context, level, level->groupClause, AUGUR_LINEAGE_GROUP_BY);
        trace_clauses(context, level, level->distinctClause, AUGUR_LINEAGE_GROUP_BY);
        trace_clauses(context, level, level->sortClause, AUGUR_LINEAGE_SORT);
    }
    foreach(cell, level->rtable)
    {
        RangeTblEntry *rte = lfirst(cell);
        List       *cte_outer = NIL;
        CommonTableExpr *cte;

        if (rte->rtekind == RTE_SUBQUERY)
            trace_level_indirect(context, rte->subquery, inner_outer);
        else if (rte->rtekind == RTE_CTE && (cte = find_cte(level_outer, level, rte, &cte_outer)) != NULL)
            trace_level_indirect(context, (Query *) cte->ctequery, cte_outer);
    }
    context->outer = saved_outer;
    context->depth--;
}

/* DIRECT edges of each written column, and its column-specific INDIRECT ones. */
static void
trace_written(LineageContext *context, Query *query, List *target_list, Node *action_qual)
{
    ListCell   *cell;

    foreach(cell, target_list)
    {
        TargetEntry *entry = lfirst(cell);

        if (entry->resjunk)
            continue;
        context->target_attnum = entry->resno;
        trace_expr(context, query, (Node *) entry->expr, AUGUR_LINEAGE_IDENTITY);
        /* MERGE ... WHEN ... AND cond decides the rows of this action's columns only */
        trace_indirect(context, query, action_qual, AUGUR_LINEAGE_FILTER);
    }
}

void
augur_collect_lineage(Query *query, AugurQueryShape *shape)
{
    LineageContext context = {shape, InvalidOid, 0, false, NIL, 0};
    ListCell   *cell;

    if (query->resultRelation <= 0)
        return;
    context.target_relid = rt_fetch(query->resultRelation, query->rtable)->relid;
    switch (query->commandType)
    {
        case CMD_INSERT:
            trace_written(&context, query, query->targetList, NULL);
            /* INSERT ... SELECT reads from its "*SELECT*" subquery. */
            context.target_attnum = AUGUR_LINEAGE_ALL_WRITTEN;
            foreach(cell, query->rtable)
            {
                RangeTblEntry *rte = lfirst(cell);

                if (rte->rtekind == RTE_SUBQUERY)
                    trace_level_indirect(&context, rte->subquery, list_make1(query));
            }
            break;
        case CMD_UPDATE:
            trace_written(&context, query, query->targetList, NULL);
            context.target_attnum = AUGUR_LINEAGE_ALL_WRITTEN;
            trace_level_indirect(&context, query, NIL);
            break;
#if PG_VERSION_NUM >= 150000
        case CMD_MERGE:
            foreach(cell, query->mergeActionList)
            {
                MergeAction *action = lfirst(cell);

                if (action->commandType == CMD_INSERT || action->commandType == CMD_UPDATE)
                    trace_written(&context, query, action->targetList, action->qual);
            }
            /* The ON condition (and the source's own filters) decide every action's rows. */
            context.target_attnum = AUGUR_LINEAGE_ALL_WRITTEN;
            trace_level_indirect(&context, query, NIL);
#if PG_VERSION_NUM >= 170000
            trace_indirect(&context, query, query->mergeJoinCondition, AUGUR_LINEAGE_FILTER);
#endif
            break;
#endif
        default:
            break;
    }
}

void
augur_collect_defined_lineage(Query *definition, Oid target_relid, AugurQueryShape *shape)
{
    LineageContext context = {shape, target_relid, 0, false, NIL, 0};
    ListCell   *cell;

    foreach(cell, definition->targetList)
    {
        TargetEntry *entry = lfirst(cell);

        if (entry->resjunk)
            continue;
        context.target_attnum = entry->resno;
        augur_shape_add_column(shape, target_relid, entry->resno, AUGUR_ROLE_WRITTEN);
        trace_output(&context, definition, NIL, entry->resno, AUGUR_LINEAGE_IDENTITY);
    }
    context.target_attnum = AUGUR_LINEAGE_ALL_WRITTEN;
    trace_level_indirect(&context, definition, NIL);
}

/* COPY FROM: column (relid, attnum) is loaded from field `field` of the input. */
void
augur_shape_add_ingestion(AugurQueryShape *shape, Oid relid, AttrNumber attnum, uint8 source_kind, int16 field)
{
    AugurLineageEdge edge;

    memset(&edge, 0, sizeof(edge));
    edge.target_relid = relid;
    edge.target_attnum = attnum;
    edge.source_attnum = field;
    edge.subtype = AUGUR_LINEAGE_IDENTITY;
    edge.source_kind = source_kind;
    if (augur_root_column(&edge.target_relid, &edge.target_attnum))
        augur_append_unique(shape->lineage, &shape->nlineage, AUGUR_SHAPE_LINEAGE, &edge, sizeof(edge));
}
