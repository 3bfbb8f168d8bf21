/*
 * Client metadata a client sends: an RFC 7591 registration request and a
 * Client ID Metadata Document.  Pure functions of the text and the
 * server's configuration, so that fuzz/fuzz_register.c and
 * fuzz/fuzz_cimd.c drive exactly what the endpoints run; the request
 * glue (reading the body, storing, fetching) stays in mcp_as_register.c
 * and mcp_as_cimd.c.
 */
#include <string.h>
#include <apr_lib.h>
#include <apr_strings.h>
#include <apr_uri.h>

#include "mcp_common.h"
#include "mcp_as.h"

#define URI_MAX 2048

/*
 * OAuth 2.1 §2.3.1 and RFC 8252: https anywhere, http only on a loopback
 * host, or a private-use scheme for native apps; never a fragment,
 * userinfo, wildcard, relative URI or a scheme that runs code.
 */
int mcp_as_redirect_uri_valid(apr_pool_t *pool, const char *uri,
                              const char **why)
{
    static const char *const refused[] = {
        "javascript", "data", "vbscript", "file", "about", "blob", "ftp",
        "ws", "wss", NULL };
    apr_uri_t parsed;
    const char *c, *colon;
    int i;

    if (strlen(uri) > URI_MAX) {
        *why = "is too long";
        return 0;
    }
    for (c = uri; *c; c++) {
        if ((unsigned char)*c <= 0x20 || *c == 0x7f) {
            *why = "contains spaces or control characters";
            return 0;
        }
    }
    if (strchr(uri, '#') != NULL) {
        *why = "has a fragment";
        return 0;
    }
    if (strchr(uri, '*') != NULL) {
        *why = "has a wildcard";
        return 0;
    }
    colon = strchr(uri, ':');
    if (colon == NULL || colon == uri || !apr_isalpha(uri[0])) {
        *why = "is not an absolute URI";
        return 0;
    }
    for (c = uri; c < colon; c++) {
        if (!apr_isalnum(*c) && *c != '+' && *c != '-' && *c != '.') {
            *why = "is not an absolute URI";
            return 0;
        }
    }
    if (apr_uri_parse(pool, uri, &parsed) != APR_SUCCESS
        || parsed.scheme == NULL) {
        *why = "is not a valid URI";
        return 0;
    }
    for (i = 0; refused[i] != NULL; i++) {
        if (strcasecmp(parsed.scheme, refused[i]) == 0) {
            *why = apr_psprintf(pool, "uses the forbidden scheme '%s'",
                                refused[i]);
            return 0;
        }
    }
    if (parsed.user != NULL || parsed.password != NULL
        || (parsed.hostinfo != NULL && strchr(parsed.hostinfo, '@') != NULL)) {
        *why = "has userinfo";
        return 0;
    }
    if (parsed.path != NULL && (strstr(parsed.path, "/../") != NULL
                                || strstr(parsed.path, "/./") != NULL
                                || (strlen(parsed.path) >= 3
                                    && strcmp(parsed.path + strlen(parsed.path)
                                              - 3, "/..") == 0))) {
        *why = "has dot segments";
        return 0;
    }
    if (strcasecmp(parsed.scheme, "https") == 0
        || strcasecmp(parsed.scheme, "http") == 0) {
        if (strncmp(colon, "://", 3) != 0 || parsed.hostname == NULL
            || parsed.hostname[0] == '\0') {
            *why = "has no host";
            return 0;
        }
        if (strcmp(parsed.scheme, "http") == 0
            && !mcp_host_is_loopback(parsed.hostname)) {
            *why = "uses http on a host that is not a loopback address";
            return 0;
        }
        if (strcmp(parsed.scheme, "http") != 0
            && strcmp(parsed.scheme, "https") != 0) {
            *why = "must have a lower-case scheme";
            return 0;
        }
        return 1;
    }
    /* RFC 8252 §7.1: a private-use scheme for a native app */
    return 1;
}

static int valid_web_url(apr_pool_t *pool, const char *value)
{
    return strlen(value) <= URI_MAX && mcp_uri_is_web(pool, value, 0, NULL);
}

static int in_list(const char *value, const char *const *list)
{
    for (; *list != NULL; list++) {
        if (strcmp(value, *list) == 0) {
            return 1;
        }
    }
    return 0;
}

/* Copies an array of strings, each checked by `allowed` (NULL: any). */
static int string_array(apr_pool_t *pool, json_t *in, const char *name,
                        const char *const *allowed, json_t **out,
                        const char **why)
{
    size_t i;

    if (!json_is_array(in)) {
        *why = apr_psprintf(pool, "%s must be an array of strings", name);
        return 0;
    }
    *out = json_array();
    mcp_json_pool_own(pool, *out);
    for (i = 0; i < json_array_size(in); i++) {
        const char *value = json_string_value(json_array_get(in, i));
        if (value == NULL || value[0] == '\0' || strlen(value) > URI_MAX) {
            *why = apr_psprintf(pool, "%s must be an array of strings",
                                name);
            return 0;
        }
        if (allowed != NULL && !in_list(value, allowed)) {
            *why = apr_psprintf(pool, "%s: '%s' is not supported", name,
                                mcp_printable(pool, value, 64));
            return 0;
        }
        json_array_append_new(*out, json_string(value));
    }
    return 1;
}

static int array_has(json_t *array, const char *value)
{
    size_t i;

    for (i = 0; i < json_array_size(array); i++) {
        if (strcmp(json_string_value(json_array_get(array, i)), value) == 0) {
            return 1;
        }
    }
    return 0;
}

apr_array_header_t *mcp_as_scope_split(apr_pool_t *pool, const char *scope)
{
    apr_array_header_t *scopes = apr_array_make(pool, 4, sizeof(const char *));
    char *copy, *token, *state;

    if (scope == NULL) {
        return scopes;
    }
    copy = apr_pstrdup(pool, scope);
    for (token = apr_strtok(copy, " ", &state); token != NULL;
         token = apr_strtok(NULL, " ", &state)) {
        int i, seen = 0;
        for (i = 0; i < scopes->nelts; i++) {
            if (strcmp(APR_ARRAY_IDX(scopes, i, const char *), token) == 0) {
                seen = 1;
            }
        }
        if (!seen) {
            APR_ARRAY_PUSH(scopes, const char *) = token;
        }
    }
    return scopes;
}

int mcp_as_scope_supported(const mcp_as_server_conf *conf, const char *scope)
{
    int i;

    for (i = 0; i < conf->scopes->nelts; i++) {
        if (strcmp(APR_ARRAY_IDX(conf->scopes, i, const char *), scope) == 0) {
            return 1;
        }
    }
    return 0;
}

static int reg_fail(mcp_as_register_result *out, const char *error,
                    const char *why)
{
    out->error = error;
    out->description = why;
    return MCP_ERROR;
}

/*
 * Checks a registration request (RFC 7591 §2, §3.1) and builds the
 * metadata to store, without client_id or secret.
 */
int mcp_as_register_validate(apr_pool_t *pool,
                             const mcp_as_server_conf *conf,
                             const char *body, apr_size_t len,
                             mcp_as_register_result *out)
{
    static const char *const auth_methods[] = {
        "none", "client_secret_basic", "client_secret_post", NULL };
    static const char *const grants[] = {
        "authorization_code", "refresh_token", "client_credentials", NULL };
    static const char *const responses[] = { "code", NULL };
    static const char *const url_fields[] = {
        "client_uri", "logo_uri", "tos_uri", "policy_uri", NULL };
    static const char *const text_fields[] = {
        "client_name", "software_id", "software_version", NULL };
    const char *why = NULL, *method;
    json_t *request, *client, *value, *redirects = NULL, *grant_types,
           *response_types;
    size_t i;

    memset(out, 0, sizeof(*out));
    if (mcp_json_parse_object(pool, body, len, &request, &why) != MCP_OK) {
        return reg_fail(out, "invalid_client_metadata",
                        apr_pstrcat(pool, "the body is not a JSON object: ",
                                    why, NULL));
    }
    client = mcp_json_pool_own(pool, json_object());

    /* token_endpoint_auth_method: RFC 7591 §2 default client_secret_basic */
    value = json_object_get(request, "token_endpoint_auth_method");
    if (value != NULL && !json_is_string(value)) {
        return reg_fail(out, "invalid_client_metadata",
                         "token_endpoint_auth_method must be a string");
    }
    method = value ? json_string_value(value) : "client_secret_basic";
    if (!in_list(method, auth_methods)) {
        return reg_fail(out, "invalid_client_metadata",
            apr_psprintf(pool, "token_endpoint_auth_method '%s' is not "
                         "supported; use none, client_secret_basic or "
                         "client_secret_post",
                         mcp_printable(pool, method, 64)));
    }
    json_object_set_new(client, "token_endpoint_auth_method",
                        json_string(method));

    value = json_object_get(request, "grant_types");
    if (value == NULL) {
        grant_types = mcp_json_pool_own(pool, json_array());
        json_array_append_new(grant_types, json_string("authorization_code"));
    }
    else if (!string_array(pool, value, "grant_types", grants, &grant_types,
                           &why)) {
        return reg_fail(out, "invalid_client_metadata", why);
    }
    value = json_object_get(request, "response_types");
    if (value == NULL) {
        response_types = mcp_json_pool_own(pool, json_array());
        if (array_has(grant_types, "authorization_code")) {
            json_array_append_new(response_types, json_string("code"));
        }
    }
    else if (!string_array(pool, value, "response_types", responses,
                           &response_types, &why)) {
        return reg_fail(out, "invalid_client_metadata", why);
    }
    if (json_array_size(grant_types) == 0) {
        return reg_fail(out, "invalid_client_metadata",
                         "grant_types must not be empty");
    }
    /* RFC 7591 §2.1: grant and response types must agree */
    if (array_has(grant_types, "authorization_code")
        != array_has(response_types, "code")) {
        return reg_fail(out, "invalid_client_metadata",
            "grant_types authorization_code and response_types code go "
            "together");
    }
    if (array_has(grant_types, "refresh_token")
        && !array_has(grant_types, "authorization_code")) {
        return reg_fail(out, "invalid_client_metadata",
            "refresh_token is only issued with authorization_code");
    }
    if (array_has(grant_types, "client_credentials")
        && strcmp(method, "none") == 0) {
        return reg_fail(out, "invalid_client_metadata",
            "client_credentials needs a confidential client: "
            "token_endpoint_auth_method must not be none");
    }
    json_object_set(client, "grant_types", grant_types);
    json_object_set(client, "response_types", response_types);

    value = json_object_get(request, "redirect_uris");
    if (value != NULL) {
        if (!string_array(pool, value, "redirect_uris", NULL, &redirects, &why)) {
            return reg_fail(out, "invalid_redirect_uri", why);
        }
        for (i = 0; i < json_array_size(redirects); i++) {
            const char *uri = json_string_value(json_array_get(redirects, i));
            if (!mcp_as_redirect_uri_valid(pool, uri, &why)) {
                return reg_fail(out, "invalid_redirect_uri",
                    apr_psprintf(pool, "redirect URI '%s' %s",
                                 mcp_printable(pool, uri, 200), why));
            }
        }
        if (json_array_size(redirects) > 20) {
            return reg_fail(out, "invalid_redirect_uri",
                             "at most 20 redirect URIs");
        }
    }
    if (array_has(grant_types, "authorization_code")
        && (redirects == NULL || json_array_size(redirects) == 0)) {
        return reg_fail(out, "invalid_redirect_uri",
            "redirect_uris is required for the authorization_code grant");
    }
    if (redirects != NULL) {
        json_object_set(client, "redirect_uris", redirects);
    }

    value = json_object_get(request, "scope");
    if (value != NULL) {
        apr_array_header_t *scopes;
        int j;
        if (!json_is_string(value) || json_string_length(value) > 4096) {
            return reg_fail(out, "invalid_client_metadata",
                             "scope must be a string of space-separated scopes");
        }
        scopes = mcp_as_scope_split(pool, json_string_value(value));
        for (j = 0; j < scopes->nelts; j++) {
            const char *scope = APR_ARRAY_IDX(scopes, j, const char *);
            if (!mcp_as_scope_supported(conf, scope)) {
                return reg_fail(out, "invalid_client_metadata",
                    apr_psprintf(pool, "scope '%s' is not supported here",
                                 mcp_printable(pool, scope, 64)));
            }
        }
        if (scopes->nelts > 0) {
            json_object_set(client, "scope", value);
        }
    }
    for (i = 0; text_fields[i] != NULL; i++) {
        value = json_object_get(request, text_fields[i]);
        if (value == NULL) {
            continue;
        }
        if (!json_is_string(value) || json_string_length(value) > 256) {
            return reg_fail(out, "invalid_client_metadata",
                apr_psprintf(pool, "%s must be a string of at most 256 "
                             "characters", text_fields[i]));
        }
        json_object_set(client, text_fields[i], value);
    }
    for (i = 0; url_fields[i] != NULL; i++) {
        value = json_object_get(request, url_fields[i]);
        if (value == NULL) {
            continue;
        }
        if (!json_is_string(value)
            || !valid_web_url(pool, json_string_value(value))) {
            return reg_fail(out, "invalid_client_metadata",
                apr_psprintf(pool, "%s must be an https URL",
                             url_fields[i]));
        }
        json_object_set(client, url_fields[i], value);
    }
    value = json_object_get(request, "contacts");
    if (value != NULL) {
        json_t *contacts;
        if (!string_array(pool, value, "contacts", NULL, &contacts, &why)) {
            return reg_fail(out, "invalid_client_metadata", why);
        }
        json_object_set(client, "contacts", contacts);
    }

    out->client = client;
    out->method = method;
    return MCP_OK;
}

int mcp_as_cimd_parse(apr_pool_t *pool, const char *url, const char *text,
                      apr_size_t len, mcp_as_client **out,
                      const char **error)
{
    static const char *const grants[] = {
        "authorization_code", "refresh_token", NULL };
    mcp_as_client *client = apr_pcalloc(pool, sizeof(*client));
    json_t *document, *value;
    const char *method, *why;
    size_t i;
    int j;

    if (mcp_json_parse_object(pool, text, len, &document, &why) != MCP_OK) {
        *error = apr_pstrcat(pool, "the document is not a JSON object: ",
                             why, NULL);
        return MCP_ERROR;
    }
    if (mcp_json_string(document, "client_id") == NULL
        || strcmp(mcp_json_string(document, "client_id"), url) != 0) {
        *error = "its client_id is not the URL it was fetched from";
        return MCP_ERROR;
    }
    method = mcp_json_string(document, "token_endpoint_auth_method");
    if (json_object_get(document, "client_secret") != NULL
        || (method != NULL && strcmp(method, "none") != 0)) {
        *error = "a metadata document client cannot use a shared secret "
                 "(token_endpoint_auth_method must be none)";
        return MCP_ERROR;
    }
    client->client_id = apr_pstrdup(pool, url);
    client->auth_method = "none";
    client->metadata = document;
    client->is_metadata_document = 1;
    client->redirect_uris = apr_array_make(pool, 2, sizeof(const char *));
    value = json_object_get(document, "redirect_uris");
    if (!json_is_array(value) || json_array_size(value) == 0
        || json_array_size(value) > 20) {
        *error = "redirect_uris must be a non-empty array";
        return MCP_ERROR;
    }
    for (i = 0; i < json_array_size(value); i++) {
        const char *uri = json_string_value(json_array_get(value, i));
        if (uri == NULL || !mcp_as_redirect_uri_valid(pool, uri, &why)) {
            *error = apr_psprintf(pool, "redirect URI %s %s",
                                  uri ? mcp_printable(pool, uri, 200) : "?",
                                  uri ? why : "is not a string");
            return MCP_ERROR;
        }
        APR_ARRAY_PUSH(client->redirect_uris, const char *) =
            apr_pstrdup(pool, uri);
    }
    client->grant_types = apr_array_make(pool, 2, sizeof(const char *));
    value = json_object_get(document, "grant_types");
    if (value == NULL) {
        APR_ARRAY_PUSH(client->grant_types, const char *) = "authorization_code";
        APR_ARRAY_PUSH(client->grant_types, const char *) = "refresh_token";
    }
    else if (!json_is_array(value)) {
        *error = "grant_types must be an array";
        return MCP_ERROR;
    }
    for (i = 0; value != NULL && i < json_array_size(value); i++) {
        const char *grant = json_string_value(json_array_get(value, i));
        int known = 0;
        for (j = 0; grant != NULL && grants[j] != NULL; j++) {
            known |= strcmp(grant, grants[j]) == 0;
        }
        if (!known) {
            *error = "grant_types may hold authorization_code and "
                     "refresh_token only";
            return MCP_ERROR;
        }
        APR_ARRAY_PUSH(client->grant_types, const char *) =
            apr_pstrdup(pool, grant);
    }
    if (mcp_json_string(document, "client_name") != NULL) {
        client->name = apr_pstrndup(pool,
            mcp_json_string(document, "client_name"), 256);
    }
    client->scope = mcp_json_string(document, "scope");
    *out = client;
    return MCP_OK;
}

