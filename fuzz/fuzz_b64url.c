/* base64url: decoding is strict, and what decodes re-encodes to the input. */
#include <string.h>
#include <stdlib.h>
#include <apr_strings.h>
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text;
    apr_pool_t *pool = fuzz_input(data, size, &text);
    unsigned char *decoded;
    apr_size_t decoded_len;

    if (mcp_b64url_decode(pool, text, size, &decoded, &decoded_len) == MCP_OK) {
        /* one byte string has exactly one encoding */
        if (strcmp(mcp_b64url_encode(pool, decoded, decoded_len), text) != 0) {
            abort();
        }
    }
    apr_pool_destroy(pool);
    return 0;
}
