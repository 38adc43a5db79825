/*
 * shape.c: what an analysed query touches. The relations it reads and writes, and per
 * column its roles: projected, filtered (by equality, range, pattern, IN/ANY, IS NULL or
 * otherwise), join key, grouped, ordered, written.
 *
 * Equi-join pairs (a.x = b.y) are kept as pairs too; a window's PARTITION BY counts as
 * grouping and its ORDER BY as ordering.
 *
 * Walks every query level (subqueries, CTEs including writable ones, sublinks). Views
 * are kept as views (the parse tree is not rewritten yet); a partition named directly is
 * given as the root of its partition tree, its columns by name in the root.
 */
#include "augur_internal.h"

#include "catalog/partition.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/optimizer.h"
#include "parser/parsetree.h"
#include "utils/lsyscache.h"

/* The root of a partition tree, or relid itself. */
Oid
augur_root_relation(Oid relid)
{
    if (get_rel_relispartition(relid))
    {
        List       *ancestors = get_partition_ancestors(relid);

        relid = llast_oid(ancestors);
        list_free(ancestors);
    }
    return relid;
}

void
augur_shape_add_relation(AugurQueryShape *shape, Oid relid, bool written)
{
    relid = augur_root_relation(relid);
    for (int i = 0; i < shape->nrelations; i++)
    {
        if (shape->relations[i] == relid)
        {
            shape->written[i] |= written;
            return;
        }
    }
    if (shape->nrelations >= AUGUR_SHAPE_RELATIONS)
        return;                 /* the first AUGUR_SHAPE_RELATIONS are kept */
    shape->relations[shape->nrelations] = relid;
    shape->written[shape->nrelations] = written;
    shape->nrelations++;
}

/* A column as the shape keeps it: a partition's column becomes its root's (by name). */
bool
augur_root_column(Oid *relid, AttrNumber *attnum)
{
    Oid         root = augur_root_relation(*relid);
    char       *name;

    if (*attnum <= 0)
        return false;           /* whole-row and system columns */
    if (root == *relid)
        return true;
    name = get_attname(*relid, *attnum, true);
    *attnum = name != NULL ? get_attnum(root, name) : InvalidAttrNumber;
    *relid = root;
    return *attnum != InvalidAttrNumber;
}

void
augur_shape_add_column(AugurQueryShape *shape, Oid relid, AttrNumber attnum, uint16 roles)
{
    if (!augur_root_column(&relid, &attnum))
        return;
    for (int i = 0; i < shape->ncolumns; i++)
    {
        if (shape->columns[i].relid == relid && shape->columns[i].attnum == attnum)
        {
            shape->columns[i].roles |= roles;
            return;
        }
    }
    if (shape->ncolumns >= AUGUR_SHAPE_COLUMNS)
        return;                 /* the first AUGUR_SHAPE_COLUMNS are kept */
    shape->columns[shape->ncolumns].relid = relid;
    shape->columns[shape->ncolumns].attnum = attnum;
    shape->columns[shape->ncolumns].roles = roles;
    shape->ncolumns++;
}

/*
 * Appends item to a shape array unless an equal one is there (compared bytewise, so
 * items must be zeroed before they are filled) or the array is full: the first ones
 * are kept.
 */
void
augur_append_unique(void *array, int16_t *count, int capacity, const void *item, size_t size)
{
    char       *base = array;

    for (int i = 0; i < *count; i++)
    {
        if (memcmp(base + i * size, item, size) == 0)
            return;
    }
    if (*count >= capacity)
        return;
    memcpy(base + (*count) * size, item, size);
    (*count)++;
}

static void
add_join_pair(AugurQueryShape *shape, Oid left_relid, AttrNumber left_attnum,
              Oid right_relid, AttrNumber right_attnum)
{
    AugurJoinPair pair;

    if (!augur_root_column(&left_relid, &left_attnum) || !augur_root_column(&right_relid, &right_attnum))
        return;
    memset(&pair, 0, sizeof(pair));    /* padding too: pairs are compared bytewise */
    if (left_relid > right_relid || (left_relid == right_relid && left_attnum > right_attnum))
    {
        pair.left_relid = right_relid;
        pair.left_attnum = right_attnum;
        pair.right_relid = left_relid;
        pair.right_attnum = left_attnum;
    }
    else
    {
        pair.left_relid = left_relid;
        pair.left_attnum = left_attnum;
        pair.right_relid = right_relid;
        pair.right_attnum = right_attnum;
    }
    augur_append_unique(shape->joins, &shape->njoins, AUGUR_SHAPE_JOINS, &pair, sizeof(pair));
}

/* Columns of one query level: the level's range table, the shape, the role to give. */
typedef struct ColumnContext
{
    Query      *query;
    AugurQueryShape *shape;
    uint16      roles;
} ColumnContext;

static void mark_var(ColumnContext *context, Var *var);

/* Marks every column a (non-Query) expression of this level reads with context->roles. */
static bool
mark_vars_walker(Node *node, ColumnContext *context)
{
    if (node == NULL)
        return false;
    if (IsA(node, Var))
    {
        mark_var(context, (Var *) node);
        return false;
    }
    if (IsA(node, Query))
        return false;           /* a sublink's own level is walked on its own */
    return expression_tree_walker(node, mark_vars_walker, context);
}

static void
mark_vars(ColumnContext *context, Node *node, uint16 roles)
{
    uint16      saved = context->roles;

    context->roles = roles;
    (void) mark_vars_walker(node, context);
    context->roles = saved;
}

/* The range table entry a Var of this level refers to; NULL for outer levels. */
static RangeTblEntry *
level_rte(ColumnContext *context, Var *var)
{
    if (var->varlevelsup != 0 || var->varno < 1 || var->varno > list_length(context->query->rtable))
        return NULL;
    return rt_fetch(var->varno, context->query->rtable);
}

/* A join's alias column: the expression it stands for, or NULL. */
static Node *
join_alias(RangeTblEntry *rte, Var *var)
{
    if (rte->rtekind != RTE_JOIN || var->varattno <= 0 || var->varattno > list_length(rte->joinaliasvars))
        return NULL;
    return augur_strip_relabel(list_nth(rte->joinaliasvars, var->varattno - 1));
}

/* The relation column a Var of this level stands for, through join aliases; false if
 * it is not one (a subquery's output, an expression). */
static bool
base_column(ColumnContext *context, Var *var, Oid *relid, AttrNumber *attnum)
{
    RangeTblEntry *rte = level_rte(context, var);
    Node       *alias;

    if (rte == NULL)
        return false;
    if (rte->rtekind == RTE_RELATION)
    {
        *relid = rte->relid;
        *attnum = var->varattno;
        return true;
    }
    alias = join_alias(rte, var);
    return alias != NULL && IsA(alias, Var) && base_column(context, (Var *) alias, relid, attnum);
}

/* Marks the column a Var stands for; a join alias for an expression (USING on a full
 * join: COALESCE(a.x, b.x)) marks every column in it. */
static void
mark_var(ColumnContext *context, Var *var)
{
    RangeTblEntry *rte = level_rte(context, var);
    Oid         relid;
    AttrNumber  attnum;
    Node       *alias;

    if (base_column(context, var, &relid, &attnum))
        augur_shape_add_column(context->shape, relid, attnum, context->roles);
    else if (rte != NULL && (alias = join_alias(rte, var)) != NULL)
        (void) mark_vars_walker(alias, context);
}

/* A binary-compatible cast (RelabelType) leaves the column as it is: see through it. */
Node *
augur_strip_relabel(Node *node)
{
    while (node != NULL && IsA(node, RelabelType))
        node = (Node *) ((RelabelType *) node)->arg;
    return node;
}

/* The filter role an operator gives a column compared with a value. */
static uint16
operator_role(Oid opno)
{
    char       *name = get_opname(opno);
    uint16      role = AUGUR_ROLE_FILTER_OTHER;

    if (name == NULL)
        return role;
    if (strcmp(name, "=") == 0)
        role = AUGUR_ROLE_FILTER_EQUALITY;
    else if (strcmp(name, "<") == 0 || strcmp(name, "<=") == 0 ||
             strcmp(name, ">") == 0 || strcmp(name, ">=") == 0)
        role = AUGUR_ROLE_FILTER_RANGE;
    else if (strcmp(name, "~~") == 0 || strcmp(name, "~~*") == 0 ||
             strcmp(name, "!~~") == 0 || strcmp(name, "!~~*") == 0 ||
             strcmp(name, "~") == 0 || strcmp(name, "~*") == 0)
        role = AUGUR_ROLE_FILTER_PATTERN;
    pfree(name);
    return role;
}

/* column = column of another relation */
bool
augur_is_equi_join(Node *qual)
{
    OpExpr     *op = (OpExpr *) augur_strip_relabel(qual);
    Node       *left;
    Node       *right;

    if (op == NULL || !IsA(op, OpExpr) || list_length(op->args) != 2 ||
        operator_role(op->opno) != AUGUR_ROLE_FILTER_EQUALITY)
        return false;
    left = augur_strip_relabel(linitial(op->args));
    right = augur_strip_relabel(lsecond(op->args));
    /* a comparison with an enclosing level's column (a correlated sublink) filters */
    return IsA(left, Var) && IsA(right, Var) && ((Var *) left)->varno != ((Var *) right)->varno &&
        ((Var *) left)->varlevelsup == 0 && ((Var *) right)->varlevelsup == 0;
}

static void
collect_quals(Node *node, List **quals)
{
    if (node == NULL)
        return;
    if (IsA(node, FromExpr))
    {
        ListCell   *cell;

        foreach(cell, ((FromExpr *) node)->fromlist)
            collect_quals(lfirst(cell), quals);
        *quals = list_concat(*quals, make_ands_implicit((Expr *) ((FromExpr *) node)->quals));
    }
    else if (IsA(node, JoinExpr))
    {
        collect_quals(((JoinExpr *) node)->larg, quals);
        collect_quals(((JoinExpr *) node)->rarg, quals);
        *quals = list_concat(*quals, make_ands_implicit((Expr *) ((JoinExpr *) node)->quals));
    }
}

/* The conjuncts of a level's WHERE and of every JOIN ... ON in it. */
List *
augur_level_quals(Query *query)
{
    List       *quals = NIL;

    collect_quals((Node *) query->jointree, &quals);
    return quals;
}

/* One conjunct: join keys and filter kinds. */
static void
mark_qual(ColumnContext *context, Node *qual)
{
    qual = augur_strip_relabel(qual);
    if (qual == NULL)
        return;
    if (augur_is_equi_join(qual))
    {
        OpExpr     *op = (OpExpr *) qual;
        Oid         left_relid, right_relid;
        AttrNumber  left_attnum, right_attnum;

        if (base_column(context, (Var *) augur_strip_relabel(linitial(op->args)), &left_relid, &left_attnum) &&
            base_column(context, (Var *) augur_strip_relabel(lsecond(op->args)), &right_relid, &right_attnum))
            add_join_pair(context->shape, left_relid, left_attnum, right_relid, right_attnum);
        mark_vars(context, qual, AUGUR_ROLE_JOIN_KEY);
    }
    else if (IsA(qual, OpExpr) && list_length(((OpExpr *) qual)->args) == 2)
        mark_vars(context, qual, operator_role(((OpExpr *) qual)->opno));
    else if (IsA(qual, ScalarArrayOpExpr))
        mark_vars(context, qual, AUGUR_ROLE_FILTER_IN);
    else if (IsA(qual, NullTest))
        mark_vars(context, qual, AUGUR_ROLE_FILTER_NULL);
    else
        mark_vars(context, qual, AUGUR_ROLE_FILTER_OTHER);
}

static void
mark_clause_columns(ColumnContext *context, List *clauses, uint16 roles)
{
    ListCell   *cell;

    foreach(cell, clauses)
    {
        TargetEntry *target = get_sortgroupclause_tle(lfirst(cell), context->query->targetList);

        mark_vars(context, (Node *) target->expr, roles);
    }
}

/* The target columns a target list writes: each entry's resno is a column of relid. */
static void
mark_written(AugurQueryShape *shape, Oid relid, List *target_list)
{
    ListCell   *cell;

    foreach(cell, target_list)
    {
        TargetEntry *entry = lfirst(cell);

        if (!entry->resjunk)
            augur_shape_add_column(shape, relid, entry->resno, AUGUR_ROLE_WRITTEN);
    }
}

static void
collect_level(Query *query, AugurQueryShape *shape)
{
    ColumnContext context = {query, shape, 0};
    ListCell   *cell;

    augur_collect_lineage(query, shape);

    if (query->resultRelation > 0)
    {
        RangeTblEntry *target = rt_fetch(query->resultRelation, query->rtable);

        augur_shape_add_relation(shape, target->relid, true);
        /* INSERT and UPDATE: each target entry's resno is a column of the target. */
        if (query->commandType == CMD_INSERT || query->commandType == CMD_UPDATE)
            mark_written(shape, target->relid, query->targetList);
    }
#if PG_VERSION_NUM >= 150000
    /* MERGE: each action writes its own columns, from what its WHEN ... AND allows. */
    foreach(cell, query->mergeActionList)
    {
        MergeAction *action = lfirst(cell);
        ListCell   *qual;

        mark_written(shape, rt_fetch(query->resultRelation, query->rtable)->relid, action->targetList);
        mark_vars(&context, (Node *) action->targetList, AUGUR_ROLE_PROJECTED);
        foreach(qual, make_ands_implicit((Expr *) action->qual))
            mark_qual(&context, lfirst(qual));
    }
#endif
    if (query->commandType == CMD_SELECT)
    {
        foreach(cell, query->targetList)
        {
            TargetEntry *entry = lfirst(cell);

            if (!entry->resjunk)
                mark_vars(&context, (Node *) entry->expr, AUGUR_ROLE_PROJECTED);
        }
    }
    else if (query->commandType != CMD_INSERT)
    {
        /* UPDATE ... SET col = expr reads what expr reads; RETURNING projects. */
        foreach(cell, query->targetList)
            mark_vars(&context, (Node *) ((TargetEntry *) lfirst(cell))->expr, AUGUR_ROLE_PROJECTED);
    }
    foreach(cell, query->returningList)
        mark_vars(&context, (Node *) ((TargetEntry *) lfirst(cell))->expr, AUGUR_ROLE_PROJECTED);
    foreach(cell, augur_level_quals(query))
        mark_qual(&context, lfirst(cell));
    foreach(cell, make_ands_implicit((Expr *) query->havingQual))
        mark_qual(&context, lfirst(cell));
    mark_clause_columns(&context, query->groupClause, AUGUR_ROLE_GROUPED);
    mark_clause_columns(&context, query->sortClause, AUGUR_ROLE_ORDERED);
    /* A window's PARTITION BY groups and its ORDER BY orders, as for an index. */
    foreach(cell, query->windowClause)
    {
        WindowClause *window = lfirst(cell);

        mark_clause_columns(&context, window->partitionClause, AUGUR_ROLE_GROUPED);
        mark_clause_columns(&context, window->orderClause, AUGUR_ROLE_ORDERED);
    }
}

static bool
collect_walker(Node *node, void *shape)
{
    if (node == NULL)
        return false;
    if (IsA(node, Query))
    {
        collect_level((Query *) node, shape);
        return query_tree_walker((Query *) node, collect_walker, shape, QTW_EXAMINE_RTES_BEFORE);
    }
    if (IsA(node, RangeTblEntry))
    {
        RangeTblEntry *rte = (RangeTblEntry *) node;

        if (rte->rtekind == RTE_RELATION)
            augur_shape_add_relation(shape, rte->relid, false);
        return false;
    }
    return expression_tree_walker(node, collect_walker, shape);
}

void
augur_collect_shape(Query *query, AugurQueryShape *shape)
{
    shape->nrelations = 0;
    shape->ncolumns = 0;
    shape->njoins = 0;
    shape->nlineage = 0;
    (void) collect_walker((Node *) query, shape);
}
