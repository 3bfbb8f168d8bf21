/* URI rules shared by the modules and the client (MCP, RFC 8414, RFC 9728). */
#include <string.h>
#include <apr_lib.h>
#include <apr_strings.h>

#include "mcp_common.h"

static char *lower(apr_pool_t *pool, const char *s)
{
    char *copy = apr_pstrdup(pool, s), *c;

    for (c = copy; *c; c++) {
        *c = (char)apr_tolower((unsigned char)*c);
    }
    return copy;
}

static int has_control_or_space(const char *s)
{
    for (; *s; s++) {
        if ((unsigned char)*s <= 0x20 || *s == 0x7f) {
            return 1;
        }
    }
    return 0;
}

/*
 * A host name we can compare and connect to: letters, digits, '-', '.',
 * '_' (RFC 3986 reg-name, minus escapes and sub-delimiters), or an IPv6
 * literal (apr_uri_parse has removed its brackets).
 */
static int valid_host(const char *host)
{
    const char *c;
    int ipv6 = strchr(host, ':') != NULL;

    if (host[0] == '\0') {
        return 0;
    }
    for (c = host; *c; c++) {
        unsigned char ch = (unsigned char)*c;
        if (ipv6 ? !(apr_isxdigit(ch) || ch == ':' || ch == '.')
                 : !(apr_isalnum(ch) || ch == '-' || ch == '.' || ch == '_')) {
            return 0;
        }
    }
    return 1;
}

int mcp_uri_canonical(apr_pool_t *pool, const char *uri, char **out)
{
    apr_uri_t parsed;
    const char *scheme, *host, *path, *port = "";
    apr_size_t path_len;

    if (uri == NULL || has_control_or_space(uri)
        || apr_uri_parse(pool, uri, &parsed) != APR_SUCCESS
        || parsed.scheme == NULL || parsed.hostname == NULL
        || !valid_host(parsed.hostname) || parsed.fragment != NULL
        || strchr(uri, '#') != NULL
        || parsed.user != NULL || parsed.password != NULL) {
        return MCP_ERROR;
    }
    scheme = lower(pool, parsed.scheme);
    host = lower(pool, parsed.hostname);
    if (strchr(host, ':') != NULL) {
        host = apr_pstrcat(pool, "[", host, "]", NULL);
    }
    if (parsed.port_str != NULL && parsed.port_str[0] != '\0'
        && parsed.port != apr_uri_port_of_scheme(scheme)) {
        port = apr_psprintf(pool, ":%u", (unsigned)parsed.port);
    }
    path = parsed.path ? parsed.path : "";
    path_len = strlen(path);
    while (path_len > 0 && path[path_len - 1] == '/') {
        path_len--;
    }
    *out = apr_pstrcat(pool, scheme, "://", host, port,
                       apr_pstrndup(pool, path, path_len),
                       parsed.query ? "?" : "",
                       parsed.query ? parsed.query : "", NULL);
    return MCP_OK;
}

int mcp_uri_same_resource(apr_pool_t *pool, const char *a, const char *b)
{
    char *canonical_a, *canonical_b;

    return mcp_uri_canonical(pool, a, &canonical_a) == MCP_OK
        && mcp_uri_canonical(pool, b, &canonical_b) == MCP_OK
        && strcmp(canonical_a, canonical_b) == 0;
}

int mcp_host_is_loopback(const char *host)
{
    if (host == NULL) {
        return 0;
    }
    if (strcasecmp(host, "localhost") == 0 || strcmp(host, "::1") == 0
        || strcmp(host, "[::1]") == 0) {
        return 1;
    }
    /* 127.0.0.0/8, written as a dotted quad */
    if (strncmp(host, "127.", 4) == 0) {
        int dots = 0;
        const char *c;
        for (c = host; *c; c++) {
            if (*c == '.') {
                dots++;
            }
            else if (!apr_isdigit((unsigned char)*c)) {
                return 0;
            }
        }
        return dots == 3;
    }
    return 0;
}

int mcp_uri_is_web(apr_pool_t *pool, const char *uri, int allow_http,
                   apr_uri_t *parsed)
{
    apr_uri_t local;

    if (parsed == NULL) {
        parsed = &local;
    }
    if (uri == NULL || has_control_or_space(uri)
        || apr_uri_parse(pool, uri, parsed) != APR_SUCCESS
        || parsed->scheme == NULL || parsed->hostname == NULL
        || !valid_host(parsed->hostname) || parsed->fragment != NULL
        || parsed->user != NULL || parsed->password != NULL) {
        return 0;
    }
    if (strcasecmp(parsed->scheme, "https") == 0) {
        return 1;
    }
    return strcasecmp(parsed->scheme, "http") == 0
           && (allow_http || mcp_host_is_loopback(parsed->hostname));
}

int mcp_well_known_url(apr_pool_t *pool, const char *id, const char *suffix,
                       char **out)
{
    apr_uri_t parsed;
    const char *path, *host;
    apr_size_t path_len;

    if (apr_uri_parse(pool, id, &parsed) != APR_SUCCESS
        || parsed.scheme == NULL || parsed.hostname == NULL) {
        return MCP_ERROR;
    }
    path = parsed.path ? parsed.path : "";
    path_len = strlen(path);
    /* RFC 8414 §3.1: a terminating "/" is removed before inserting. */
    while (path_len > 0 && path[path_len - 1] == '/') {
        path_len--;
    }
    host = parsed.hostname;
    if (strchr(host, ':') != NULL) {
        host = apr_pstrcat(pool, "[", host, "]", NULL);
    }
    *out = apr_pstrcat(pool, parsed.scheme, "://", host,
                       parsed.port_str ? ":" : "",
                       parsed.port_str ? parsed.port_str : "",
                       "/.well-known/", suffix,
                       apr_pstrndup(pool, path, path_len), NULL);
    return MCP_OK;
}
