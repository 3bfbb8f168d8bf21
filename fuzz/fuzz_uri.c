/* Resource and issuer URIs: canonical forms are stable and well-formed. */
#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text, *canonical, *again, *well_known;
    apr_pool_t *pool = fuzz_input(data, size, &text);

    if (strlen(text) == size
        && mcp_uri_canonical(pool, text, &canonical) == MCP_OK) {
        /* canonicalisation is idempotent */
        if (mcp_uri_canonical(pool, canonical, &again) != MCP_OK
            || strcmp(canonical, again) != 0
            || !mcp_uri_same_resource(pool, text, canonical)) {
            abort();
        }
        (void)mcp_well_known_url(pool, canonical, "oauth-protected-resource",
                                 &well_known);
    }
    (void)mcp_uri_is_web(pool, text, 0, NULL);
    (void)mcp_host_is_loopback(text);
    apr_pool_destroy(pool);
    return 0;
}
