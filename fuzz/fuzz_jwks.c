/* JWKS documents, as a resource server fetches them from the network. */
#include <stdlib.h>
#include <apr_strings.h>
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text;
    apr_pool_t *pool = fuzz_input(data, size, &text);
    apr_array_header_t *keys;
    const char *error;

    if (mcp_jwks_parse(pool, text, size, &keys, &error) == MCP_OK) {
        int i;
        for (i = 0; i < keys->nelts; i++) {
            mcp_key_t *key = &APR_ARRAY_IDX(keys, i, mcp_key_t);
            char *thumbprint;
            if (key->jwk == NULL || key->kty == NULL) {
                abort();
            }
            (void)mcp_jwk_thumbprint(pool, key->jwk, &thumbprint);
            (void)mcp_jwk_public_json(pool, key->jwk, key->kid, key->alg);
        }
    }
    apr_pool_destroy(pool);
    return 0;
}
