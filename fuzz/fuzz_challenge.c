/* WWW-Authenticate field values, as mcp-client parses them (RFC 9110 §11.6.1). */
#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>
#include "fuzz.h"
/* the parser is one pure file of the client; compiled in whole so that
 * fuzz/run.sh needs no client sources in its list */
#include "../client/mcpc_challenge.c"

static int check_param(void *data, const char *key, const char *value)
{
    const char *c;

    (void)data;
    /* names are non-empty lower-case tokens; values hold no control characters but HTAB */
    if (key[0] == '\0' || value == NULL) {
        return 0;
    }
    for (c = key; *c; c++) {
        if (apr_isupper(*c) || !is_tchar((unsigned char)*c)) {
            return 0;
        }
    }
    for (c = value; *c; c++) {
        if (((unsigned char)*c < 0x20 && *c != '\t') || *c == 0x7f) {
            return 0;
        }
    }
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text;
    apr_pool_t *pool = fuzz_input(data, size, &text);
    apr_array_header_t *challenges = NULL;
    const char *error = NULL;

    if (mcpc_challenge_parse(pool, text, &challenges, &error) == MCP_OK) {
        int i;
        if (challenges == NULL || challenges->nelts == 0) {
            abort();
        }
        for (i = 0; i < challenges->nelts; i++) {
            const mcpc_challenge_t *challenge = &APR_ARRAY_IDX(challenges, i, mcpc_challenge_t);
            if (challenge->scheme[0] == '\0'
                || !apr_table_do(check_param, NULL, challenge->params, NULL)) {
                abort();
            }
        }
        (void)mcpc_challenge_find(challenges, "Bearer");
    }
    else if (error == NULL) {
        abort();
    }
    apr_pool_destroy(pool);
    return 0;
}
