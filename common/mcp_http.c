/* HTTP-level text handling: quoted strings, form decoding, escaping. */
#include <string.h>
#include <apr_lib.h>
#include <apr_strings.h>

#include "mcp_common.h"

char *mcp_http_quote(apr_pool_t *pool, const char *value)
{
    apr_size_t len = strlen(value), extra = 0, i;
    char *out, *pos;

    for (i = 0; i < len; i++) {
        if (value[i] == '"' || value[i] == '\\') {
            extra++;
        }
    }
    out = apr_palloc(pool, len + extra + 3);
    pos = out;
    *pos++ = '"';
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)value[i];
        if (c == '"' || c == '\\') {
            *pos++ = '\\';
            *pos++ = (char)c;
        }
        else if (c < 0x20 || c == 0x7f) {
            *pos++ = '?';
        }
        else {
            *pos++ = (char)c;
        }
    }
    *pos++ = '"';
    *pos = '\0';
    return out;
}

char *mcp_printable(apr_pool_t *pool, const char *value, apr_size_t max_len)
{
    apr_size_t len = strlen(value), i;
    char *out;

    if (len > max_len) {
        len = max_len;
    }
    out = apr_pstrndup(pool, value, len);
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)out[i];
        if (c < 0x20 || c == 0x7f || c == '"' || c == '\\') {
            out[i] = '?';
        }
    }
    return out;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Decodes one name or value into a copy; MCP_ERROR on bad escapes. */
static int form_unescape(apr_pool_t *pool, const char *in, apr_size_t len,
                         char **out)
{
    char *buf = apr_palloc(pool, len + 1), *pos = buf;
    apr_size_t i;

    for (i = 0; i < len; i++) {
        if (in[i] == '+') {
            *pos++ = ' ';
        }
        else if (in[i] == '%') {
            int high, low;
            if (i + 2 >= len) {
                return MCP_ERROR;
            }
            high = hex_value(in[i + 1]);
            low = hex_value(in[i + 2]);
            if (high < 0 || low < 0 || (high == 0 && low == 0)) {
                return MCP_ERROR;       /* a bad escape, or an encoded NUL */
            }
            *pos++ = (char)(high * 16 + low);
            i += 2;
        }
        else if (in[i] == '\0') {
            return MCP_ERROR;
        }
        else {
            *pos++ = in[i];
        }
    }
    *pos = '\0';
    *out = buf;
    return MCP_OK;
}

int mcp_form_parse(apr_pool_t *pool, const char *text, apr_size_t len,
                   apr_table_t **out, const char **error)
{
    apr_table_t *table = apr_table_make(pool, 8);
    apr_size_t start = 0;

    while (start < len) {
        apr_size_t end = start, eq;
        char *name, *value;

        while (end < len && text[end] != '&') {
            end++;
        }
        if (end > start) {
            eq = start;
            while (eq < end && text[eq] != '=') {
                eq++;
            }
            if (form_unescape(pool, text + start, eq - start, &name) != MCP_OK
                || form_unescape(pool, text + (eq < end ? eq + 1 : end),
                                 eq < end ? end - eq - 1 : 0,
                                 &value) != MCP_OK) {
                *error = "malformed percent-encoding";
                return MCP_ERROR;
            }
            if (name[0] == '\0') {
                *error = "parameter without a name";
                return MCP_ERROR;
            }
            if (apr_table_get(table, name) != NULL) {
                *error = apr_psprintf(pool, "parameter '%s' given more than once",
                                      mcp_printable(pool, name, 64));
                return MCP_ERROR;
            }
            apr_table_setn(table, name, value);
        }
        start = end + 1;
    }
    *out = table;
    return MCP_OK;
}

char *mcp_url_encode(apr_pool_t *pool, const char *value)
{
    static const char hex[] = "0123456789ABCDEF";
    apr_size_t len = strlen(value), i;
    char *out = apr_palloc(pool, len * 3 + 1), *pos = out;

    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)value[i];
        if (apr_isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
            *pos++ = (char)c;
        }
        else {
            *pos++ = '%';
            *pos++ = hex[c >> 4];
            *pos++ = hex[c & 0x0f];
        }
    }
    *pos = '\0';
    return out;
}
