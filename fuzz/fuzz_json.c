/* Strict JSON objects (duplicate keys refused) and quoting of their strings. */
#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text;
    apr_pool_t *pool = fuzz_input(data, size, &text);
    json_t *object;
    const char *error;

    if (mcp_json_parse_object(pool, text, size, &object, &error) == MCP_OK) {
        const char *key;
        json_t *value;
        json_object_foreach(object, key, value) {
            const char *quoted = mcp_http_quote(pool, key);
            const char *printable = mcp_printable(pool, key, 64);
            /* a quoted value never carries a raw CR or LF into a header */
            if (strpbrk(quoted, "\r\n") != NULL || strpbrk(printable, "\r\n\"") != NULL) {
                abort();
            }
            (void)mcp_json_string(object, key);
        }
        (void)mcp_json_dump(pool, object);
    }
    apr_pool_destroy(pool);
    return 0;
}
