/*
 * RFC 7591 dynamic client registration, POST …/register, JSON only.
 */
#include <httpd.h>
#include <string.h>
#include <apr_lib.h>
#include <apr_strings.h>
#include <http_log.h>
#include <http_protocol.h>

#include "mcp_common.h"
#include "mcp_httpd.h"
#include "mcp_as.h"

#define URI_MAX 2048

static int reg_error(request_rec *r, const char *error, const char *why)
{
    return mcp_reply_oauth_error(r, HTTP_BAD_REQUEST, error, why);
}

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
static int string_array(request_rec *r, json_t *in, const char *name,
                        const char *const *allowed, json_t **out,
                        const char **why)
{
    size_t i;

    if (!json_is_array(in)) {
        *why = apr_psprintf(r->pool, "%s must be an array of strings", name);
        return 0;
    }
    *out = json_array();
    mcp_json_pool_own(r->pool, *out);
    for (i = 0; i < json_array_size(in); i++) {
        const char *value = json_string_value(json_array_get(in, i));
        if (value == NULL || value[0] == '\0' || strlen(value) > URI_MAX) {
            *why = apr_psprintf(r->pool, "%s must be an array of strings",
                                name);
            return 0;
        }
        if (allowed != NULL && !in_list(value, allowed)) {
            *why = apr_psprintf(r->pool, "%s: '%s' is not supported", name,
                                mcp_printable(r->pool, value, 64));
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

static int check_registration_access(request_rec *r, mcp_as_server_conf *conf)
{
    const char *header;

    if (conf->registration == MCP_AS_REGISTRATION_OFF) {
        return mcp_reply_oauth_error(r, HTTP_FORBIDDEN, "access_denied",
            "dynamic client registration is disabled on this server");
    }
    if (conf->registration == MCP_AS_REGISTRATION_OPEN) {
        return DECLINED;
    }
    /* RFC 7591 §3: an initial access token as a bearer token */
    header = apr_table_get(r->headers_in, "Authorization");
    if (header == NULL || strncasecmp(header, "Bearer ", 7) != 0
        || !mcp_secret_equal(mcp_sha256_b64url(r->pool, header + 7),
                             conf->registration_token_hash)) {
        apr_table_setn(r->err_headers_out, "WWW-Authenticate",
            header ? "Bearer error=\"invalid_token\"" : "Bearer");
        return mcp_reply_oauth_error(r, HTTP_UNAUTHORIZED, "invalid_token",
            "registration needs a valid initial access token");
    }
    return DECLINED;
}

int mcp_as_handle_register(request_rec *r, mcp_as_server_conf *conf)
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
    const char *type, *why = NULL, *method, *client_secret = NULL;
    json_t *request, *client, *value, *redirects = NULL, *grant_types,
           *response_types;
    char *body, *client_id, *stored;
    apr_size_t len;
    apr_time_t now = mcp_as_now();
    mcp_as_txn *txn;
    size_t i;
    int rc;

    if (mcp_cors(r, "POST, OPTIONS") == OK) {
        return OK;
    }
    if (r->method_number != M_POST) {
        apr_table_setn(r->err_headers_out, "Allow", "POST, OPTIONS");
        return mcp_reply_oauth_error(r, HTTP_METHOD_NOT_ALLOWED,
            "invalid_request", "registration is a POST of a JSON document");
    }
    if ((rc = check_registration_access(r, conf)) != DECLINED) {
        return rc;
    }
    type = apr_table_get(r->headers_in, "Content-Type");
    if (type == NULL || strncasecmp(type, "application/json", 16) != 0
        || (type[16] != '\0' && type[16] != ';' && type[16] != ' ')) {
        return reg_error(r, "invalid_client_metadata",
                         "the request must be application/json");
    }
    rc = mcp_read_body(r, MCP_AS_REGISTER_MAX, &body, &len);
    if (rc == HTTP_REQUEST_ENTITY_TOO_LARGE) {
        return mcp_reply_oauth_error(r, rc, "invalid_client_metadata",
                                     "the registration request is larger "
                                     "than 64 KiB");
    }
    if (rc != OK) {
        return reg_error(r, "invalid_client_metadata",
                         "cannot read the request body");
    }
    if (mcp_json_parse_object(r->pool, body, len, &request, &why) != MCP_OK) {
        return reg_error(r, "invalid_client_metadata",
                         apr_pstrcat(r->pool, "the body is not a JSON object: ",
                                     why, NULL));
    }
    client = mcp_json_pool_own(r->pool, json_object());

    /* token_endpoint_auth_method: RFC 7591 §2 default client_secret_basic */
    value = json_object_get(request, "token_endpoint_auth_method");
    if (value != NULL && !json_is_string(value)) {
        return reg_error(r, "invalid_client_metadata",
                         "token_endpoint_auth_method must be a string");
    }
    method = value ? json_string_value(value) : "client_secret_basic";
    if (!in_list(method, auth_methods)) {
        return reg_error(r, "invalid_client_metadata",
            apr_psprintf(r->pool, "token_endpoint_auth_method '%s' is not "
                         "supported; use none, client_secret_basic or "
                         "client_secret_post",
                         mcp_printable(r->pool, method, 64)));
    }
    json_object_set_new(client, "token_endpoint_auth_method",
                        json_string(method));

    value = json_object_get(request, "grant_types");
    if (value == NULL) {
        grant_types = mcp_json_pool_own(r->pool, json_array());
        json_array_append_new(grant_types, json_string("authorization_code"));
    }
    else if (!string_array(r, value, "grant_types", grants, &grant_types,
                           &why)) {
        return reg_error(r, "invalid_client_metadata", why);
    }
    value = json_object_get(request, "response_types");
    if (value == NULL) {
        response_types = mcp_json_pool_own(r->pool, json_array());
        if (array_has(grant_types, "authorization_code")) {
            json_array_append_new(response_types, json_string("code"));
        }
    }
    else if (!string_array(r, value, "response_types", responses,
                           &response_types, &why)) {
        return reg_error(r, "invalid_client_metadata", why);
    }
    if (json_array_size(grant_types) == 0) {
        return reg_error(r, "invalid_client_metadata",
                         "grant_types must not be empty");
    }
    /* RFC 7591 §2.1: grant and response types must agree */
    if (array_has(grant_types, "authorization_code")
        != array_has(response_types, "code")) {
        return reg_error(r, "invalid_client_metadata",
            "grant_types authorization_code and response_types code go "
            "together");
    }
    if (array_has(grant_types, "refresh_token")
        && !array_has(grant_types, "authorization_code")) {
        return reg_error(r, "invalid_client_metadata",
            "refresh_token is only issued with authorization_code");
    }
    if (array_has(grant_types, "client_credentials")
        && strcmp(method, "none") == 0) {
        return reg_error(r, "invalid_client_metadata",
            "client_credentials needs a confidential client: "
            "token_endpoint_auth_method must not be none");
    }
    json_object_set(client, "grant_types", grant_types);
    json_object_set(client, "response_types", response_types);

    value = json_object_get(request, "redirect_uris");
    if (value != NULL) {
        if (!string_array(r, value, "redirect_uris", NULL, &redirects, &why)) {
            return reg_error(r, "invalid_redirect_uri", why);
        }
        for (i = 0; i < json_array_size(redirects); i++) {
            const char *uri = json_string_value(json_array_get(redirects, i));
            if (!mcp_as_redirect_uri_valid(r->pool, uri, &why)) {
                return reg_error(r, "invalid_redirect_uri",
                    apr_psprintf(r->pool, "redirect URI '%s' %s",
                                 mcp_printable(r->pool, uri, 200), why));
            }
        }
        if (json_array_size(redirects) > 20) {
            return reg_error(r, "invalid_redirect_uri",
                             "at most 20 redirect URIs");
        }
    }
    if (array_has(grant_types, "authorization_code")
        && (redirects == NULL || json_array_size(redirects) == 0)) {
        return reg_error(r, "invalid_redirect_uri",
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
            return reg_error(r, "invalid_client_metadata",
                             "scope must be a string of space-separated scopes");
        }
        scopes = mcp_as_scope_split(r->pool, json_string_value(value));
        for (j = 0; j < scopes->nelts; j++) {
            const char *scope = APR_ARRAY_IDX(scopes, j, const char *);
            if (!mcp_as_scope_supported(conf, scope)) {
                return reg_error(r, "invalid_client_metadata",
                    apr_psprintf(r->pool, "scope '%s' is not supported here",
                                 mcp_printable(r->pool, scope, 64)));
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
            return reg_error(r, "invalid_client_metadata",
                apr_psprintf(r->pool, "%s must be a string of at most 256 "
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
            || !valid_web_url(r->pool, json_string_value(value))) {
            return reg_error(r, "invalid_client_metadata",
                apr_psprintf(r->pool, "%s must be an https URL",
                             url_fields[i]));
        }
        json_object_set(client, url_fields[i], value);
    }
    value = json_object_get(request, "contacts");
    if (value != NULL) {
        json_t *contacts;
        if (!string_array(r, value, "contacts", NULL, &contacts, &why)) {
            return reg_error(r, "invalid_client_metadata", why);
        }
        json_object_set(client, "contacts", contacts);
    }

    if (mcp_random_b64url(r->pool, 32, &client_id) != MCP_OK) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    json_object_set_new(client, "client_id_issued_at", json_integer(now));
    stored = mcp_json_dump(r->pool, client);
    if (strcmp(method, "none") != 0) {
        char *secret;
        if (mcp_random_b64url(r->pool, 32, &secret) != MCP_OK) {
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        client_secret = secret;
    }
    rc = mcp_as_txn_begin(r, conf->store, 1, &txn);
    if (rc == MCP_AS_STORE_OK) {
        rc = mcp_as_txn_exec(txn, "client_insert", NULL, client_id,
                             client_secret
                                 ? mcp_sha256_b64url(r->pool, client_secret)
                                 : "",
                             stored, apr_psprintf(r->pool, "%" APR_TIME_T_FMT,
                                                  now), MCP_AS_END);
        if (rc == MCP_AS_STORE_OK) {
            rc = mcp_as_txn_commit(txn);
        }
        else {
            mcp_as_txn_abort(txn);
        }
    }
    if (rc != MCP_AS_STORE_OK) {
        return mcp_as_unavailable(r);
    }
    mcp_as_audit(r, "register", "client=%s name=\"%s\" method=%s "
                 "outcome=registered", client_id,
                 mcp_printable(r->pool, mcp_json_string(client, "client_name")
                     ? mcp_json_string(client, "client_name") : "", 64),
                 method);
    json_object_set_new(client, "client_id", json_string(client_id));
    if (client_secret != NULL) {
        json_object_set_new(client, "client_secret", json_string(client_secret));
        json_object_set_new(client, "client_secret_expires_at", json_integer(0));
    }
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    return mcp_reply_json(r, HTTP_CREATED, client);
}
