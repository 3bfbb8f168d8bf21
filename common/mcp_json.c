/* jansson objects tied to APR pools, and strict object parsing. */
#include <stdlib.h>
#include <apr_strings.h>

#include "mcp_common.h"

static apr_status_t json_cleanup(void *data)
{
    json_decref((json_t *)data);
    return APR_SUCCESS;
}

json_t *mcp_json_pool_own(apr_pool_t *pool, json_t *json)
{
    if (json != NULL) {
        apr_pool_cleanup_register(pool, json, json_cleanup,
                                  apr_pool_cleanup_null);
    }
    return json;
}

int mcp_json_parse_object(apr_pool_t *pool, const char *text, apr_size_t len,
                          json_t **out, const char **error)
{
    json_error_t json_error;
    json_t *json;

    /* JSON_REJECT_DUPLICATES: a second "aud" or "alg" must never be able
     * to override the first one a different parser would have seen. */
    json = json_loadb(text, len, JSON_REJECT_DUPLICATES, &json_error);
    if (json == NULL) {
        *error = apr_psprintf(pool, "malformed JSON at offset %d: %s",
                              json_error.position, json_error.text);
        return MCP_ERROR;
    }
    if (!json_is_object(json)) {
        json_decref(json);
        *error = "JSON text is not an object";
        return MCP_ERROR;
    }
    *out = mcp_json_pool_own(pool, json);
    return MCP_OK;
}

char *mcp_json_dump(apr_pool_t *pool, const json_t *json)
{
    char *text = json_dumps(json, JSON_COMPACT);
    char *copy;

    if (text == NULL) {
        return NULL;
    }
    copy = apr_pstrdup(pool, text);
    free(text);
    return copy;
}

const char *mcp_json_string(const json_t *object, const char *key)
{
    const json_t *value = json_object_get(object, key);

    return json_is_string(value) ? json_string_value(value) : NULL;
}
