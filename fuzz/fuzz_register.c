/* RFC 7591 registration requests, as mod_mcp_as checks a POST …/register
 * body, through the endpoint's own validation (mcp_as_client_metadata.c).
 * fuzz-sources: mod_mcp_as/mcp_as_client_metadata.c */
#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>
#include "fuzz.h"
#include "mcp_as.h"

static const char *const fuzz_scopes[] = { "mcp:echo", "mcp:admin", NULL };

static int is_string_array(json_t *value)
{
    size_t i;

    if (!json_is_array(value)) {
        return 0;
    }
    for (i = 0; i < json_array_size(value); i++) {
        if (!json_is_string(json_array_get(value, i))) {
            return 0;
        }
    }
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text;
    apr_pool_t *pool = fuzz_input(data, size, &text);
    mcp_as_server_conf *conf = apr_pcalloc(pool, sizeof(*conf));
    mcp_as_register_result result;
    int i;

    conf->scopes = apr_array_make(pool, 2, sizeof(char *));
    for (i = 0; fuzz_scopes[i] != NULL; i++) {
        APR_ARRAY_PUSH(conf->scopes, const char *) = fuzz_scopes[i];
    }
    if (mcp_as_register_validate(pool, conf, text, size, &result) == MCP_OK) {
        json_t *redirects = json_object_get(result.client, "redirect_uris");
        size_t j;
        /* what is stored is well-formed, and every redirect URI passed
         * the rules the authorization endpoint relies on */
        if (result.client == NULL || result.method == NULL
            || result.error != NULL
            || !is_string_array(json_object_get(result.client, "grant_types"))
            || (redirects != NULL && !is_string_array(redirects))
            || mcp_json_dump(pool, result.client) == NULL) {
            abort();
        }
        for (j = 0; redirects != NULL && j < json_array_size(redirects); j++) {
            const char *why;
            const char *uri = json_string_value(json_array_get(redirects, j));
            if (!mcp_as_redirect_uri_valid(pool, uri, &why)
                || strpbrk(uri, "#* \r\n") != NULL) {
                abort();
            }
        }
    }
    else if (result.error == NULL || result.description == NULL) {
        abort();
    }
    apr_pool_destroy(pool);
    return 0;
}
