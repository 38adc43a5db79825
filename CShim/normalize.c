/*
 * normalize.c: the text Augur keeps for a query, with its constants replaced by $n so
 * that no captured value is stored (pg_stat_statements does the same).
 *
 * The core query jumble gives the start of each constant; its length comes from
 * re-scanning the statement with the server's own lexer, which leaves a NUL after each
 * token it returns. The replacement itself is done by the Swift core.
 */
#include "augur_internal.h"

#include "common/keywords.h"
#include "parser/scanner.h"

#if PG_VERSION_NUM >= 140000

static int
compare_locations(const void *a, const void *b)
{
    int         left = ((const LocationLen *) a)->location;
    int         right = ((const LocationLen *) b)->location;

    return left < right ? -1 : (left > right ? 1 : 0);
}

/* Fills jstate->clocations[].length; constants that cannot be measured keep -1. */
static void
measure_constants(const char *source, JumbleState *jstate)
{
    core_yy_extra_type extra;
    core_yyscan_t scanner;
    core_YYSTYPE value;
    YYLTYPE     location;
    int         previous = -1;

    qsort(jstate->clocations, jstate->clocations_count, sizeof(LocationLen), compare_locations);
    scanner = scanner_init(source, &extra, &ScanKeywords, ScanKeywordTokens);
    extra.escape_string_warning = false;    /* warnings were given at parse time */

    for (int i = 0; i < jstate->clocations_count; i++)
    {
        LocationLen *constant = &jstate->clocations[i];

        if (constant->location < 0 || constant->location == previous)
            continue;           /* unknown or a duplicate */
        previous = constant->location;
        for (;;)
        {
            int         token = core_yylex(&value, &location, scanner);

            if (token == 0)
                break;
            if (location < constant->location)
                continue;
            /* A negative number is two tokens, "-" and the number. */
            if (source[constant->location] == '-' && core_yylex(&value, &location, scanner) == 0)
                break;
            constant->length = (int) strlen(extra.scanbuf + constant->location);
            break;
        }
    }
    scanner_finish(scanner);
}

void
augur_normalize_query(const char *source, int stmt_location, int stmt_len,
                      JumbleState *jstate, char *out, size_t out_size)
{
    int         count = jstate->clocations_count;
    int32_t    *locations = palloc(sizeof(int32_t) * Max(count, 1));
    int32_t    *lengths = palloc(sizeof(int32_t) * Max(count, 1));
    int         source_len = (int) strlen(source);

    if (stmt_location < 0 || stmt_location > source_len)
    {
        stmt_location = 0;
        stmt_len = source_len;
    }
    if (stmt_len <= 0 || stmt_location + stmt_len > source_len)
        stmt_len = source_len - stmt_location;   /* 0 means "to the end" */

    measure_constants(source, jstate);
    for (int i = 0; i < count; i++)
    {
        /* Swift sees offsets within the statement. */
        locations[i] = jstate->clocations[i].location - stmt_location;
        lengths[i] = jstate->clocations[i].length;
    }
    augur_swift_normalize_query(source + stmt_location, stmt_len, locations, lengths, count,
                                jstate->highest_extern_param_id + 1, out, out_size);
    pfree(locations);
    pfree(lengths);
}

#endif
