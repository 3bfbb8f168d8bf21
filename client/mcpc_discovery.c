/*
 * Discovery: protected-resource metadata (RFC 9728), then the
 * authorization server's metadata (RFC 8414 / OpenID Connect Discovery) in
 * the order MCP 2025-11-25 prescribes, with the 2025-03-26 fallbacks for
 * servers that publish no protected-resource metadata.
 */
#include "config.h"

#include <string.h>
#include <apr_strings.h>

#include "mcp_common.h"
#include "mcpc.h"

static void add_candidate(apr_array_header_t *list, const char *url,
                          const char *derived_from)
{
    mcpc_candidate_t *candidate = apr_array_push(list);

    candidate->url = url;
    candidate->derived_from = derived_from;
}

int mcpc_origin_of(apr_pool_t *pool, const char *url, char **out)
{
    apr_uri_t parsed;
    char *canonical;

    if (mcp_uri_canonical(pool, url, &canonical) != MCP_OK
        || apr_uri_parse(pool, canonical, &parsed) != APR_SUCCESS) {
        return MCP_ERROR;
    }
    parsed.path = NULL;
    parsed.query = NULL;
    parsed.fragment = NULL;
    *out = apr_uri_unparse(pool, &parsed, APR_URI_UNP_OMITPATHINFO);
    return *out ? MCP_OK : MCP_ERROR;
}

int mcpc_resource_of_url(apr_pool_t *pool, const char *url, char **out)
{
    char *canonical, *query, *path;
    apr_size_t len;

    if (mcp_uri_canonical(pool, url, &canonical) != MCP_OK) {
        return MCP_ERROR;
    }
    query = strchr(canonical, '?');
    if (query != NULL) {
        *query = '\0';
    }
    /* mcp_uri_canonical strips a path's trailing slashes only before a query */
    path = strchr(strstr(canonical, "://") + 3, '/');
    if (path != NULL) {
        len = strlen(path);
        while (len > 0 && path[len - 1] == '/') {
            path[--len] = '\0';
        }
    }
    *out = canonical;
    return MCP_OK;
}

int mcpc_resource_covers(apr_pool_t *pool, const char *resource,
                         const char *url)
{
    char *canonical_resource, *canonical_url;
    apr_size_t len;

    if (resource == NULL
        || mcpc_resource_of_url(pool, resource, &canonical_resource) != MCP_OK
        || mcpc_resource_of_url(pool, url, &canonical_url) != MCP_OK
        || strchr(resource, '?') != NULL) {
        return 0;
    }
    len = strlen(canonical_resource);
    /* equal, or a prefix that ends where a path segment ends */
    return strncmp(canonical_resource, canonical_url, len) == 0
           && (canonical_url[len] == '\0' || canonical_url[len] == '/');
}

apr_array_header_t *mcpc_prm_candidates(apr_pool_t *pool,
                                        const char *resource_url,
                                        const char *from_header)
{
    apr_array_header_t *list = apr_array_make(pool, 3, sizeof(mcpc_candidate_t));
    char *resource, *origin, *url;

    if (from_header != NULL) {
        add_candidate(list, from_header, NULL);
    }
    if (mcpc_resource_of_url(pool, resource_url, &resource) != MCP_OK
        || mcpc_origin_of(pool, resource_url, &origin) != MCP_OK) {
        return list;
    }
    /* RFC 9728 §3.1: path-inserted, unless the resource has no path */
    if (strcmp(resource, origin) != 0
        && mcp_well_known_url(pool, resource, "oauth-protected-resource", &url) == MCP_OK) {
        add_candidate(list, url, resource);
    }
    if (mcp_well_known_url(pool, origin, "oauth-protected-resource", &url) == MCP_OK) {
        add_candidate(list, url, origin);
    }
    return list;
}

apr_array_header_t *mcpc_as_candidates(apr_pool_t *pool, const char *issuer)
{
    apr_array_header_t *list = apr_array_make(pool, 3, sizeof(mcpc_candidate_t));
    apr_uri_t parsed;
    char *url;
    const char *path;
    apr_size_t len;

    if (apr_uri_parse(pool, issuer, &parsed) != APR_SUCCESS) {
        return list;
    }
    path = parsed.path ? parsed.path : "";
    len = strlen(path);
    while (len > 0 && path[len - 1] == '/') {
        len--;
    }
    if (len == 0) {
        if (mcp_well_known_url(pool, issuer, "oauth-authorization-server", &url) == MCP_OK) {
            add_candidate(list, url, issuer);
        }
        if (mcp_well_known_url(pool, issuer, "openid-configuration", &url) == MCP_OK) {
            add_candidate(list, url, issuer);
        }
        return list;
    }
    if (mcp_well_known_url(pool, issuer, "oauth-authorization-server", &url) == MCP_OK) {
        add_candidate(list, url, issuer);
    }
    if (mcp_well_known_url(pool, issuer, "openid-configuration", &url) == MCP_OK) {
        add_candidate(list, url, issuer);
    }
    /* OpenID Connect Discovery 1.0 §4: issuer + "/.well-known/openid-configuration" */
    {
        apr_size_t issuer_len = strlen(issuer);
        while (issuer_len > 0 && issuer[issuer_len - 1] == '/') {
            issuer_len--;
        }
        add_candidate(list, apr_pstrcat(pool, apr_pstrndup(pool, issuer, issuer_len),
                                        "/.well-known/openid-configuration", NULL),
                      issuer);
    }
    return list;
}

/* A space-separated list from a JSON array of strings, or NULL. */
static const char *join_strings(apr_pool_t *pool, const json_t *array)
{
    const char *joined = NULL;
    size_t i;

    if (!json_is_array(array)) {
        return NULL;
    }
    for (i = 0; i < json_array_size(array); i++) {
        const char *s = json_string_value(json_array_get(array, i));
        if (s != NULL && *s != '\0' && strchr(s, ' ') == NULL) {
            joined = joined ? apr_pstrcat(pool, joined, " ", s, NULL) : s;
        }
    }
    return joined;
}

int mcpc_array_has(const json_t *array, const char *value)
{
    size_t i;

    for (i = 0; json_is_array(array) && i < json_array_size(array); i++) {
        const char *s = json_string_value(json_array_get(array, i));
        if (s != NULL && strcmp(s, value) == 0) {
            return 1;
        }
    }
    return 0;
}

/* GET `url`; *found is 1 with the JSON object on 200, 0 on any other status. */
static int fetch_metadata(mcpc_t *c, const char *url, const char *what,
                          json_t **json, int *found)
{
    mcpc_response_t *response;
    apr_array_header_t *headers = apr_array_make(c->pool, 1, sizeof(const char *));

    *found = 0;
    APR_ARRAY_PUSH(headers, const char *) = "Accept: application/json";
    APR_ARRAY_PUSH(headers, const char *) = "MCP-Protocol-Version: 2025-11-25";
    if (mcpc_http_request(c, "GET", url, headers, NULL, 0, NULL, NULL,
                          &response) != MCP_OK) {
        return MCP_ERROR;
    }
    if (response->status != 200) {
        mcpc_trace(c, "no %s at %s (%ld)", what, url, response->status);
        return MCP_OK;
    }
    if (mcpc_json_reply(c, response, apr_psprintf(c->pool, "the %s at %s", what, url),
                        json) != MCP_OK) {
        return MCP_ERROR;
    }
    *found = 1;
    return MCP_OK;
}

static int endpoint(mcpc_t *c, json_t *metadata, const char *name,
                    const char *where, int required, const char **out)
{
    const char *value = mcp_json_string(metadata, name);

    *out = NULL;
    if (value == NULL) {
        if (required) {
            return mcpc_fail(c, MCPC_EXIT_PROTOCOL,
                             "the authorization server metadata at %s has no %s",
                             where, name);
        }
        return MCP_OK;
    }
    if (!mcp_uri_is_web(c->pool, value, 0, NULL)) {
        return mcpc_fail(c, MCPC_EXIT_REFUSED,
                         "the authorization server metadata at %s names %s %s, "
                         "which is neither https nor loopback http", where, name,
                         mcp_printable(c->pool, value, 200));
    }
    *out = value;
    return MCP_OK;
}

/* Fills `as` from metadata found at `where`, after the checks MCP requires. */
static int use_metadata(mcpc_t *c, mcpc_as_t *as, json_t *metadata,
                        const char *where)
{
    const char *issuer = mcp_json_string(metadata, "issuer");
    int code_flow = strcmp(c->grant, "authorization_code") == 0;

    if (issuer == NULL) {
        return mcpc_fail(c, MCPC_EXIT_PROTOCOL,
                         "the authorization server metadata at %s has no issuer", where);
    }
    if (as->legacy) {
        /* 2025-03-26 servers have no issuer identifier to look up: the
         * metadata sits at the MCP server's origin, and only an issuer on
         * that same origin is accepted. */
        char *origin_expected, *origin_issuer;
        if (mcpc_origin_of(c->pool, as->issuer, &origin_expected) != MCP_OK
            || mcpc_origin_of(c->pool, issuer, &origin_issuer) != MCP_OK
            || strcmp(origin_expected, origin_issuer) != 0) {
            return mcpc_fail(c, MCPC_EXIT_REFUSED,
                             "the authorization server metadata at %s names issuer %s, "
                             "not on the MCP server's origin %s; refusing to use it",
                             where, mcp_printable(c->pool, issuer, 200), as->issuer);
        }
    }
    else if (!mcp_uri_same_resource(c->pool, issuer, as->issuer)) {
        /* RFC 8414 §3.3: the issuer must be the one the URL was built from */
        return mcpc_fail(c, MCPC_EXIT_REFUSED,
                         "the authorization server metadata at %s says issuer %s, "
                         "but it was looked up for %s (RFC 8414 section 3.3); refusing "
                         "to use it", where, mcp_printable(c->pool, issuer, 200),
                         as->issuer);
    }
    as->issuer = issuer;
    as->metadata = metadata;
    if (endpoint(c, metadata, "authorization_endpoint", where, code_flow,
                 &as->authorization_endpoint) != MCP_OK
        || endpoint(c, metadata, "token_endpoint", where, 1, &as->token_endpoint) != MCP_OK
        || endpoint(c, metadata, "registration_endpoint", where, 0,
                    &as->registration_endpoint) != MCP_OK) {
        return MCP_ERROR;
    }
    /* MCP 2025-11-25 "Authorization Code Protection": no advertised S256, no flow. */
    if (code_flow
        && !mcpc_array_has(json_object_get(metadata, "code_challenge_methods_supported"), "S256")) {
        return mcpc_fail(c, MCPC_EXIT_REFUSED,
                         "the authorization server %s does not advertise PKCE S256 "
                         "(code_challenge_methods_supported in %s); MCP requires it, "
                         "so mcp-client will not send you there", issuer, where);
    }
    mcpc_trace(c, "authorization server %s: metadata from %s", issuer, where);
    return MCP_OK;
}

static int discover_as(mcpc_t *c, mcpc_as_t *as)
{
    apr_array_header_t *candidates = mcpc_as_candidates(c->pool, as->issuer);
    int i, found;
    json_t *metadata;

    for (i = 0; i < candidates->nelts; i++) {
        const mcpc_candidate_t *candidate = &APR_ARRAY_IDX(candidates, i, mcpc_candidate_t);
        if (fetch_metadata(c, candidate->url, "authorization server metadata",
                           &metadata, &found) != MCP_OK) {
            return MCP_ERROR;
        }
        if (found) {
            return use_metadata(c, as, metadata, candidate->url);
        }
    }
    return mcpc_fail(c, MCPC_EXIT_AUTH,
                     "no authorization server metadata for %s at any of its "
                     "well-known URLs (RFC 8414, OpenID Connect Discovery)", as->issuer);
}

/* MCP 2025-03-26: the AS at the MCP server's origin, default endpoints when silent. */
static int discover_legacy(mcpc_t *c, mcpc_as_t *as)
{
    char *origin, *url;
    json_t *metadata;
    int found;

    if (mcpc_origin_of(c->pool, c->url, &origin) != MCP_OK
        || mcp_well_known_url(c->pool, origin, "oauth-authorization-server", &url) != MCP_OK) {
        return mcpc_fail(c, MCPC_EXIT_USAGE, "%s: not a URL", c->url);
    }
    as->legacy = 1;
    as->issuer = origin;
    mcpc_trace(c, "no protected-resource metadata; trying the 2025-03-26 rules at %s", origin);
    if (fetch_metadata(c, url, "authorization server metadata", &metadata, &found) != MCP_OK) {
        return MCP_ERROR;
    }
    if (found) {
        return use_metadata(c, as, metadata, url);
    }
    /* 2025-03-26 "Fallbacks for Servers without Metadata Discovery" */
    as->authorization_endpoint = apr_pstrcat(c->pool, origin, "/authorize", NULL);
    as->token_endpoint = apr_pstrcat(c->pool, origin, "/token", NULL);
    as->registration_endpoint = apr_pstrcat(c->pool, origin, "/register", NULL);
    mcpc_trace(c, "no metadata either; using the default endpoints under %s", origin);
    return MCP_OK;
}

int mcpc_discover(mcpc_t *c, const char *resource_metadata_url,
                  const char **resource, const char **scopes_supported,
                  mcpc_as_t **as_out)
{
    apr_array_header_t *candidates;
    mcpc_as_t *as = apr_pcalloc(c->pool, sizeof(*as));
    json_t *prm = NULL;
    const char *where = NULL, *prm_resource;
    json_t *servers;
    int i, found = 0;

    *resource = NULL;
    *scopes_supported = NULL;
    if (resource_metadata_url != NULL
        && !mcp_uri_is_web(c->pool, resource_metadata_url, 0, NULL)) {
        return mcpc_fail(c, MCPC_EXIT_REFUSED,
                         "the resource_metadata URL %s in the server's challenge is "
                         "neither https nor loopback http",
                         mcp_printable(c->pool, resource_metadata_url, 200));
    }
    candidates = mcpc_prm_candidates(c->pool, c->url, resource_metadata_url);
    for (i = 0; i < candidates->nelts && !found; i++) {
        where = APR_ARRAY_IDX(candidates, i, mcpc_candidate_t).url;
        if (fetch_metadata(c, where, "protected-resource metadata", &prm, &found) != MCP_OK) {
            return MCP_ERROR;
        }
    }
    if (!found) {
        char *canonical;
        if (discover_legacy(c, as) != MCP_OK) {
            return MCP_ERROR;
        }
        if (mcpc_resource_of_url(c->pool, c->url, &canonical) == MCP_OK) {
            *resource = canonical;
        }
        *as_out = as;
        return MCP_OK;
    }
    mcpc_trace(c, "protected-resource metadata from %s", where);
    prm_resource = mcp_json_string(prm, "resource");
    /* RFC 9728 §3.3 and §7.3: the metadata must be about the resource called */
    if (prm_resource == NULL || !mcpc_resource_covers(c->pool, prm_resource, c->url)) {
        return mcpc_fail(c, MCPC_EXIT_REFUSED,
                         "the protected-resource metadata at %s is for resource %s, "
                         "not for %s (RFC 9728 section 3.3); refusing to authorize", where,
                         prm_resource ? mcp_printable(c->pool, prm_resource, 200) : "(none)",
                         c->url);
    }
    *resource = prm_resource;
    *scopes_supported = join_strings(c->pool, json_object_get(prm, "scopes_supported"));
    servers = json_object_get(prm, "authorization_servers");
    for (i = 0; json_is_array(servers) && i < (int)json_array_size(servers); i++) {
        const char *issuer = json_string_value(json_array_get(servers, (size_t)i));
        if (issuer != NULL && mcp_uri_is_web(c->pool, issuer, 0, NULL)) {
            as->issuer = issuer;
            break;
        }
    }
    if (as->issuer == NULL) {
        return mcpc_fail(c, MCPC_EXIT_PROTOCOL,
                         "the protected-resource metadata at %s lists no usable "
                         "authorization_servers", where);
    }
    mcpc_trace(c, "resource %s, authorization server %s%s%s", prm_resource, as->issuer,
               *scopes_supported ? ", scopes " : "",
               *scopes_supported ? *scopes_supported : "");
    if (discover_as(c, as) != MCP_OK) {
        return MCP_ERROR;
    }
    *as_out = as;
    return MCP_OK;
}
