/* Client ID Metadata Documents, as mod_mcp_as parses one fetched from a
 * client_id URL, through the module's own parser (mcp_as_client_metadata.c).
 * fuzz-sources: mod_mcp_as/mcp_as_client_metadata.c */
#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>
#include "fuzz.h"
#include "mcp_as.h"

#define FUZZ_URL "https://client.test/mcp-client.json"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text;
    apr_pool_t *pool = fuzz_input(data, size, &text);
    mcp_as_client *client = NULL;
    const char *error = NULL;

    if (mcp_as_cimd_parse(pool, FUZZ_URL, text, size, &client, &error)
        == MCP_OK) {
        int i;
        /* a document client is public, is the URL, and has only valid
         * redirect URIs */
        if (client == NULL || strcmp(client->client_id, FUZZ_URL) != 0
            || strcmp(client->auth_method, "none") != 0
            || client->redirect_uris->nelts == 0
            || (client->name != NULL && strlen(client->name) > 256)) {
            abort();
        }
        for (i = 0; i < client->redirect_uris->nelts; i++) {
            const char *why;
            if (!mcp_as_redirect_uri_valid(pool,
                    APR_ARRAY_IDX(client->redirect_uris, i, const char *),
                    &why)) {
                abort();
            }
        }
    }
    else if (error == NULL) {
        abort();
    }
    apr_pool_destroy(pool);
    return 0;
}
