/*
 * shape.c: the relations an analysed query reads and writes, for relation use and the
 * co-access graph. Walks the whole query tree (subqueries, CTEs, sublinks); views are
 * kept as views (the parse tree is not rewritten yet), and a partition named directly
 * is given as the root of its partition tree.
 */
#include "augur_internal.h"

#include "catalog/partition.h"
#include "nodes/nodeFuncs.h"
#include "parser/parsetree.h"
#include "utils/lsyscache.h"

static void
add_relation(AugurQueryShape *shape, Oid relid, bool written)
{
    if (get_rel_relispartition(relid))
    {
        List       *ancestors = get_partition_ancestors(relid);

        relid = llast_oid(ancestors);   /* the root */
        list_free(ancestors);
    }
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

static bool
collect_walker(Node *node, void *context)
{
    AugurQueryShape *shape = (AugurQueryShape *) context;

    if (node == NULL)
        return false;
    if (IsA(node, Query))
    {
        Query      *query = (Query *) node;

        if (query->resultRelation > 0)
            add_relation(shape, rt_fetch(query->resultRelation, query->rtable)->relid, true);
        return query_tree_walker(query, collect_walker, context, QTW_EXAMINE_RTES_BEFORE);
    }
    if (IsA(node, RangeTblEntry))
    {
        RangeTblEntry *rte = (RangeTblEntry *) node;

        if (rte->rtekind == RTE_RELATION)
            add_relation(shape, rte->relid, false);
        return false;
    }
    return expression_tree_walker(node, collect_walker, context);
}

void
augur_collect_relations(Query *query, AugurQueryShape *shape)
{
    shape->nrelations = 0;
    (void) collect_walker((Node *) query, shape);
}
