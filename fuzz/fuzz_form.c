/* application/x-www-form-urlencoded bodies and query strings. */
#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>
#include "fuzz.h"

static int check_entry(void *data, const char *key, const char *value)
{
    /* decoding never lets a NUL through (an encoded %00 is refused) */
    (void)data;
    return key[0] != '\0' && value != NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text;
    apr_pool_t *pool = fuzz_input(data, size, &text);
    apr_table_t *form;
    const char *error;

    if (mcp_form_parse(pool, text, size, &form, &error) == MCP_OK) {
        if (!apr_table_do(check_entry, NULL, form, NULL)) {
            abort();
        }
    }
    else if (error == NULL) {
        abort();
    }
    apr_pool_destroy(pool);
    return 0;
}
