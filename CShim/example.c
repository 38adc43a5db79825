/*
 * example.c: one execution of a query as it was sent, constants and bound parameters
 * included: one per query and flush window, uniformly chosen (see augur_capture_record).
 * The index advisor plans these again, so that skewed constants are priced as the
 * workload uses them rather than as a generic plan guesses.
 */
#include "augur_internal.h"

#include "access/transam.h"
#include "access/xact.h"
#include "executor/executor.h"
#include "utils/lsyscache.h"

/*
 * Fills example from the statement being finished; false when it is not a SELECT, UPDATE
 * or DELETE, or its text or parameters do not fit, or a parameter is NULL or of a type
 * whose output function is not built in (those are never called from here: an error in
 * one must not become the statement's).
 */
bool
augur_take_example(QueryDesc *query_desc, augur_query_example *example)
{
    PlannedStmt *stmt = query_desc->plannedstmt;
    ParamListInfo params = query_desc->params;
    const char *source = query_desc->sourceText;
    int         source_len;
    int         location = stmt->stmt_location;
    int         length = stmt->stmt_len;
    int         used = 0;

    if (source == NULL || stmt->utilityStmt != NULL ||
        (stmt->commandType != CMD_SELECT && stmt->commandType != CMD_UPDATE &&
         stmt->commandType != CMD_DELETE))
        return false;
    source_len = (int) strlen(source);
    if (location < 0 || location > source_len)
    {
        location = 0;
        length = source_len;
    }
    if (length <= 0 || location + length > source_len)
        length = source_len - location;     /* 0 means "to the end" */
    if (length >= AUGUR_EXAMPLE_TEXT_LEN)
        return false;
    memcpy(example->text, source + location, length);
    example->text[length] = '\0';
    example->nparams = 0;
    for (int id = 1; params != NULL && id <= params->numParams; id++)
    {
        ParamExternData workspace;
        ParamExternData *param;
        Oid         output;
        bool        varlena;
        char       *value;
        int         size;

        param = params->paramFetch != NULL ? params->paramFetch(params, id, true, &workspace)
            : &params->params[id - 1];
        if (param == NULL || param->isnull || !OidIsValid(param->ptype) ||
            param->ptype >= FirstNormalObjectId)
            return false;
        getTypeOutputInfo(param->ptype, &output, &varlena);
        value = OidOutputFunctionCall(output, param->value);
        size = (int) strlen(value) + 1;
        if (used + size > AUGUR_EXAMPLE_PARAMS_LEN)
            return false;
        memcpy(example->params + used, value, size);
        used += size;
        example->nparams++;
    }
    example->captured_at = (int64_t) GetCurrentStatementStartTimestamp();
    example->present = true;
    return true;
}
