/*
 * lineage.c: column-level lineage of INSERT ... SELECT and UPDATE ... SET, in
 * OpenLineage's terms.
 *
 * DIRECT edges run from the columns a written column's value is computed from:
 * IDENTITY (copied as is, through subqueries, CTEs and join aliases), TRANSFORMATION
 * (computed), AGGREGATION (through an aggregate). INDIRECT edges run from the columns
 * that decide which rows are written (FILTER: WHERE and ON; JOIN: equi-join keys;
 * GROUP_BY; SORT) to every written column. Sources are given as base relation columns,
 * partitions as their root.
 */
#include "augur_internal.h"

#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/clauses.h"
#include "optimizer/optimizer.h"
#include "parser/parsetree.h"
#include "utils/lsyscache.h"

#define MAX_TRACE_DEPTH 32

typedef struct LineageContext
{
    AugurQueryShape *shape;
    Oid         target_relid;
    AttrNumber  target_attnum;
    bool        indirect;       /* the subtype is fixed (INDIRECT), not derived */
    List       *outer;          /* enclosing queries, innermost first, for CTE lookups */
    int         depth;
} LineageContext;

static void trace_expr(LineageContext *context, Query *query, Node *expr, uint8 subtype);

static void
add_edge(LineageContext *context, Oid source_relid, AttrNumber source_attnum, uint8 subtype)
{
    AugurLineageEdge edge;

    memset(&edge, 0, sizeof(edge));
    edge.target_relid = context->target_relid;
    edge.target_attnum = context->target_attnum;
    edge.source_relid = source_relid;
    edge.source_attnum = source_attnum;
    edge.subtype = subtype;
    if (!augur_root_column(&edge.target_relid, &edge.target_attnum) ||
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

/* The CTE an RTE_CTE entry of `query` names, and the query level it belongs to. */
static CommonTableExpr *
find_cte(LineageContext *context, Query *query, RangeTblEntry *rte, List **cte_outer)
{
    Query      *owner;
    ListCell   *cell;

    if (rte->ctelevelsup == 0)
    {
        owner = query;
        *cte_outer = lcons(query, list_copy(context->outer));
    }
    else if (rte->ctelevelsup <= list_length(context->outer))
    {
        owner = list_nth(context->outer, rte->ctelevelsup - 1);
        *cte_outer = list_copy_tail(context->outer, rte->ctelevelsup - 1);
    }
    else
        return NULL;
    foreach(cell, owner->cteList)
    {
        CommonTableExpr *cte = lfirst(cell);

        if (strcmp(cte->ctename, rte->ctename) == 0)
            return cte;
    }
    return NULL;
}

/* Follows one output column of a subquery or CTE into its own level. */
static void
trace_output(LineageContext *context, Query *inner, List *inner_outer, AttrNumber attnum, uint8 subtype)
{
    List       *saved = context->outer;
    TargetEntry *entry;

    if (inner == NULL || inner->setOperations != NULL)
        return;                 /* set operations are not traced yet */
    entry = get_tle_by_resno(inner->returningList != NIL ? inner->returningList : inner->targetList, attnum);
    if (entry == NULL)
        return;
    context->outer = inner_outer;
    trace_expr(context, inner, (Node *) entry->expr, subtype);
    context->outer = saved;
}

static void
trace_var(LineageContext *context, Query *query, Var *var, uint8 subtype)
{
    RangeTblEntry *rte;

    if (var->varlevelsup != 0 || var->varno < 1 || var->varno > list_length(query->rtable))
        return;                 /* correlated references are traced at their own level */
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
                CommonTableExpr *cte = find_cte(context, query, rte, &cte_outer);

                if (cte != NULL && IsA(cte->ctequery, Query))
                    trace_output(context, (Query *) cte->ctequery, cte_outer, var->varattno, subtype);
                break;
            }
        case RTE_JOIN:
            if (var->varattno > 0 && var->varattno <= list_length(rte->joinaliasvars))
                trace_expr(context, query, list_nth(rte->joinaliasvars, var->varattno - 1), subtype);
            break;
        default:
            break;              /* VALUES, functions: constants or opaque */
    }
}

typedef struct VarWalk
{
    LineageContext *context;
    Query      *query;
    uint8       subtype;
} VarWalk;

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
    if (IsA(node, Query))
        return false;           /* a sublink's value is not traced yet */
    return expression_tree_walker(node, trace_vars_walker, walk);
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
            walk.subtype = (subtype == AUGUR_LINEAGE_AGGREGATION || contain_agg_clause(expr))
                ? AUGUR_LINEAGE_AGGREGATION : AUGUR_LINEAGE_TRANSFORMATION;
        (void) trace_vars_walker(expr, &walk);
    }
    context->depth--;
}

/* The INDIRECT sources of `level`: its WHERE/ON conjuncts, GROUP BY and ORDER BY. */
static void
trace_indirect(LineageContext *context, Query *level)
{
    List       *quals = NIL;
    ListCell   *cell;

    context->indirect = true;
    quals = augur_level_quals(level);
    foreach(cell, quals)
    {
        Node       *qual = lfirst(cell);

        trace_expr(context, level, qual,
                   augur_is_equi_join(qual) ? AUGUR_LINEAGE_JOIN : AUGUR_LINEAGE_FILTER);
    }
    foreach(cell, level->groupClause)
        trace_expr(context, level, (Node *) get_sortgroupclause_tle(lfirst(cell), level->targetList)->expr,
                   AUGUR_LINEAGE_GROUP_BY);
    foreach(cell, level->sortClause)
        trace_expr(context, level, (Node *) get_sortgroupclause_tle(lfirst(cell), level->targetList)->expr,
                   AUGUR_LINEAGE_SORT);
    context->indirect = false;
}

void
augur_collect_lineage(Query *query, AugurQueryShape *shape)
{
    LineageContext context = {shape, InvalidOid, 0, false, NIL, 0};
    Query      *source = query;
    ListCell   *cell;

    if (query->resultRelation <= 0 ||
        (query->commandType != CMD_INSERT && query->commandType != CMD_UPDATE))
        return;
    /* INSERT ... SELECT reads from its "*SELECT*" subquery; UPDATE from its own level. */
    if (query->commandType == CMD_INSERT)
    {
        source = NULL;
        foreach(cell, query->rtable)
        {
            RangeTblEntry *rte = lfirst(cell);

            if (rte->rtekind == RTE_SUBQUERY)
                source = rte->subquery;
        }
    }
    context.target_relid = rt_fetch(query->resultRelation, query->rtable)->relid;
    foreach(cell, query->targetList)
    {
        TargetEntry *entry = lfirst(cell);

        if (entry->resjunk)
            continue;
        context.target_attnum = entry->resno;
        trace_expr(&context, query, (Node *) entry->expr, AUGUR_LINEAGE_IDENTITY);
        if (source != NULL)
        {
            context.outer = source == query ? NIL : list_make1(query);
            trace_indirect(&context, source);
            context.outer = NIL;
        }
    }
}
