/*
 * utility_shape.c: the shape of a utility statement, taken after it ran (the objects it
 * creates exist only then).
 *
 * CREATE TABLE AS and SELECT INTO: the lineage of the new table's columns from the query
 * (a copy taken before execution, which may scribble on it). CREATE VIEW, CREATE
 * MATERIALIZED VIEW and REFRESH: the lineage of the view's columns from its stored
 * definition, so lineage runs through views. COPY FROM: an ingestion edge per column
 * from its field in the file, program or stdin. Other utility statements have no shape
 * beyond their text.
 */
#include "augur_internal.h"

#include "access/relation.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "rewrite/rewriteHandler.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

/* The stored definition of a view or materialized view, copied; NULL for other kinds. */
static Query *
view_definition(Oid relid)
{
    char        relkind = get_rel_relkind(relid);
    Relation    view;
    Query      *definition;

    if (relkind != RELKIND_VIEW && relkind != RELKIND_MATVIEW)
        return NULL;
    view = relation_open(relid, AccessShareLock);
    definition = copyObject(get_view_query(view));
    relation_close(view, AccessShareLock);
    return definition;
}

/* What a definition that ran (CREATE TABLE AS, a materialized view) read counts as
 * workload, co-access included; a view's definition did not run. */
static void
collect_defined(Query *definition, Oid relid, bool ran, AugurQueryShape *shape)
{
    if (definition == NULL || !OidIsValid(relid))
        return;
    if (ran)
        augur_collect_shape(definition, shape);
    augur_collect_defined_lineage(definition, relid, shape);
    augur_shape_add_relation(shape, relid, true);
}

/* COPY ... FROM: column i of the list (or of the table) is field i of the input. */
static void
collect_copy_from(CopyStmt *copy, AugurQueryShape *shape)
{
    Oid         relid = RangeVarGetRelid(copy->relation, NoLock, true);
    uint8       kind = copy->filename == NULL ? AUGUR_SOURCE_STDIN
        : copy->is_program ? AUGUR_SOURCE_PROGRAM : AUGUR_SOURCE_FILE;
    int16       field = 0;
    Relation    target;

    if (!OidIsValid(relid))
        return;
    augur_shape_add_relation(shape, relid, true);
    target = relation_open(relid, AccessShareLock);
    for (int i = 0; i < RelationGetNumberOfAttributes(target); i++)
    {
        Form_pg_attribute attribute = TupleDescAttr(RelationGetDescr(target), i);
        ListCell   *cell;
        int16       position = 0;

        if (attribute->attisdropped || attribute->attgenerated)
            continue;
        if (copy->attlist == NIL)
            position = ++field;
        else
        {
            int16       n = 0;

            foreach(cell, copy->attlist)
            {
                n++;
                if (strcmp(strVal(lfirst(cell)), NameStr(attribute->attname)) == 0)
                    position = n;
            }
        }
        if (position > 0)
        {
            augur_shape_add_column(shape, relid, attribute->attnum, AUGUR_ROLE_WRITTEN);
            augur_shape_add_ingestion(shape, relid, attribute->attnum, kind, position);
        }
    }
    relation_close(target, AccessShareLock);
}

/*
 * Whether the statement's lineage belongs to an object it names: the same text can write
 * another object next time (another schema on the search_path, a table dropped and made
 * again), and the lineage is the object's, not the text's.
 */
bool
augur_utility_defines_object(Node *statement)
{
    return IsA(statement, CreateTableAsStmt) || IsA(statement, ViewStmt) ||
        IsA(statement, RefreshMatViewStmt) ||
        (IsA(statement, CopyStmt) && ((CopyStmt *) statement)->is_from);
}

void
augur_collect_utility_shape(Node *statement, Query *definition, AugurQueryShape *shape)
{
    shape->nrelations = 0;
    shape->ncolumns = 0;
    shape->njoins = 0;
    shape->nlineage = 0;
    if (IsA(statement, CreateTableAsStmt))
    {
        CreateTableAsStmt *create = (CreateTableAsStmt *) statement;
        Oid         relid = RangeVarGetRelid(create->into->rel, NoLock, true);

        if (create->objtype == OBJECT_MATVIEW)
            definition = OidIsValid(relid) ? view_definition(relid) : NULL;
        collect_defined(definition, relid, true, shape);
    }
    else if (IsA(statement, ViewStmt))
    {
        Oid         relid = RangeVarGetRelid(((ViewStmt *) statement)->view, NoLock, true);

        collect_defined(OidIsValid(relid) ? view_definition(relid) : NULL, relid, false, shape);
    }
    else if (IsA(statement, RefreshMatViewStmt))
    {
        Oid         relid = RangeVarGetRelid(((RefreshMatViewStmt *) statement)->relation, NoLock, true);

        collect_defined(OidIsValid(relid) ? view_definition(relid) : NULL, relid, true, shape);
    }
    else if (IsA(statement, CopyStmt) && ((CopyStmt *) statement)->is_from &&
             ((CopyStmt *) statement)->relation != NULL)
        collect_copy_from((CopyStmt *) statement, shape);
}
