/*
 * WWW-Authenticate parsing (RFC 9110 §11.6.1, RFC 6750 §3).
 *
 *   WWW-Authenticate = #challenge
 *   challenge  = auth-scheme [ 1*SP ( token68 / #auth-param ) ]
 *   auth-param = token BWS "=" BWS ( token / quoted-string )
 *
 * A header may carry several challenges, and the commas that separate
 * them are the same commas that separate one challenge's parameters: a new
 * challenge starts at a token that is not followed by "=".  Pure code (no
 * curl, no I/O) so the unit tests and fuzzers can drive it directly.
 *
 * It needs nothing from config.h, and does not include it, so the fuzzer can
 * compile this file alone.
 */
#include <string.h>
#include <apr_lib.h>
#include <apr_strings.h>

#include "mcp_common.h"
#include "mcpc.h"

/* RFC 9110 §5.6.2 tchar */
static int is_tchar(int c)
{
    return apr_isalnum(c) || (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* RFC 9110 §11.2 token68 characters (before the trailing "=") */
static int is_token68_char(int c)
{
    return apr_isalnum(c) || (c != 0 && strchr("-._~+/", c) != NULL);
}

static const char *skip_ows(const char *p)
{
    while (*p == ' ' || *p == '\t') {
        p++;
    }
    return p;
}

/* Skips whitespace and empty list elements (RFC 9110 §5.6.1). */
static const char *skip_list_separators(const char *p)
{
    while (*p == ' ' || *p == '\t' || *p == ',') {
        p++;
    }
    return p;
}

static const char *scan_token(const char *p)
{
    while (is_tchar((unsigned char)*p)) {
        p++;
    }
    return p;
}

/* RFC 9110 §5.6.4: quoted-string with quoted-pair; *p is at the opening quote. */
static int parse_quoted(apr_pool_t *pool, const char **p, char **out)
{
    const char *s = *p + 1;
    char *buf = apr_palloc(pool, strlen(s) + 1), *o = buf;

    for (;;) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '\0') {
            return MCP_ERROR;                /* unterminated */
        }
        if (ch == '"') {
            s++;
            break;
        }
        if (ch == '\\') {
            unsigned char next = (unsigned char)s[1];
            /* quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text ) */
            if (next == '\0' || (next < 0x20 && next != '\t') || next == 0x7f) {
                return MCP_ERROR;
            }
            *o++ = (char)next;
            s += 2;
            continue;
        }
        /* qdtext excludes controls other than HTAB */
        if ((ch < 0x20 && ch != '\t') || ch == 0x7f) {
            return MCP_ERROR;
        }
        *o++ = (char)ch;
        s++;
    }
    *o = '\0';
    *out = buf;
    *p = s;
    return MCP_OK;
}

/*
 * At `p` (after the scheme and its spaces) a token68 is a run of token68
 * characters, optional "=" padding, then the end of this list element.
 */
static const char *match_token68(const char *p)
{
    const char *s = p;

    while (is_token68_char((unsigned char)*s)) {
        s++;
    }
    if (s == p) {
        return NULL;
    }
    while (*s == '=') {
        s++;
    }
    s = skip_ows(s);
    return (*s == '\0' || *s == ',') ? s : NULL;
}

static char *lower(apr_pool_t *pool, const char *s, apr_size_t len)
{
    char *copy = apr_pstrndup(pool, s, len), *c;

    for (c = copy; *c; c++) {
        *c = (char)apr_tolower((unsigned char)*c);
    }
    return copy;
}

int mcpc_challenge_parse(apr_pool_t *pool, const char *value,
                         apr_array_header_t **challenges, const char **error)
{
    apr_array_header_t *list = apr_array_make(pool, 2, sizeof(mcpc_challenge_t));
    const char *p = value ? value : "";

    p = skip_list_separators(p);
    while (*p) {
        mcpc_challenge_t *challenge;
        const char *start = p, *end;

        p = scan_token(p);
        if (p == start) {
            *error = apr_psprintf(pool, "expected an auth-scheme at \"%s\"",
                                  mcp_printable(pool, start, 40));
            return MCP_ERROR;
        }
        challenge = apr_array_push(list);
        challenge->scheme = apr_pstrndup(pool, start, (apr_size_t)(p - start));
        challenge->token68 = NULL;
        challenge->params = apr_table_make(pool, 4);
        if (*p != ' ' && *p != '\0' && *p != ',' && *p != '\t') {
            *error = apr_psprintf(pool, "bad character after auth-scheme \"%s\"",
                                  challenge->scheme);
            return MCP_ERROR;
        }
        p = skip_ows(p);
        if (*p == '\0') {
            break;
        }
        if (*p != ',' && (end = match_token68(p)) != NULL) {
            /* "abc=" at the end of an element is a token68 (padding), not
             * an auth-param: an auth-param's value is never empty */
            const char *t = p;
            while (is_token68_char((unsigned char)*t)) {
                t++;
            }
            while (*t == '=') {
                t++;
            }
            challenge->token68 = apr_pstrndup(pool, p, (apr_size_t)(t - p));
            p = skip_list_separators(end);
            continue;
        }
        /* #auth-param, until a token that is not followed by "=" */
        for (;;) {
            const char *name_start, *name_end, *after;
            char *name, *param_value;

            p = skip_list_separators(p);
            if (*p == '\0') {
                break;
            }
            name_start = p;
            name_end = scan_token(p);
            if (name_end == name_start) {
                *error = apr_psprintf(pool, "expected an auth-param at \"%s\"",
                                      mcp_printable(pool, p, 40));
                return MCP_ERROR;
            }
            after = skip_ows(name_end);
            if (*after != '=') {
                /* the next challenge's scheme */
                p = name_start;
                break;
            }
            name = lower(pool, name_start, (apr_size_t)(name_end - name_start));
            p = skip_ows(after + 1);
            if (*p == '"') {
                if (parse_quoted(pool, &p, &param_value) != MCP_OK) {
                    *error = apr_psprintf(pool, "bad quoted-string for \"%s\"", name);
                    return MCP_ERROR;
                }
            }
            else {
                const char *value_start = p;
                p = scan_token(p);
                if (p == value_start) {
                    *error = apr_psprintf(pool, "no value for \"%s\"", name);
                    return MCP_ERROR;
                }
                param_value = apr_pstrndup(pool, value_start,
                                           (apr_size_t)(p - value_start));
            }
            /* RFC 9110 §11.2: each parameter name MUST only occur once. */
            if (apr_table_get(challenge->params, name) != NULL) {
                *error = apr_psprintf(pool, "auth-param \"%s\" given twice", name);
                return MCP_ERROR;
            }
            apr_table_setn(challenge->params, name, param_value);
            p = skip_ows(p);
            if (*p != ',' && *p != '\0') {
                *error = apr_psprintf(pool, "expected \",\" after \"%s\"", name);
                return MCP_ERROR;
            }
        }
        p = skip_list_separators(p);
    }
    if (list->nelts == 0) {
        *error = "no challenge";
        return MCP_ERROR;
    }
    *challenges = list;
    return MCP_OK;
}

const mcpc_challenge_t *mcpc_challenge_find(const apr_array_header_t *challenges,
                                            const char *scheme)
{
    int i;

    if (challenges == NULL) {
        return NULL;
    }
    for (i = 0; i < challenges->nelts; i++) {
        const mcpc_challenge_t *challenge =
            &APR_ARRAY_IDX(challenges, i, mcpc_challenge_t);
        if (strcasecmp(challenge->scheme, scheme) == 0) {
            return challenge;
        }
    }
    return NULL;
}
