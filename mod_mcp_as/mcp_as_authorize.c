/*
 * The authorization endpoint, GET/POST …/authorize (OAuth 2.1 §4.1.1).
 *
 * Until the client and its redirect URI are verified, every error is an
 * HTML page (400) and never a redirect; after that, errors redirect with
 * error, state and iss (RFC 9207).  Login is Apache's: r->user.
 */
#include <httpd.h>
#include <string.h>
#include <apr_strings.h>
#include <http_log.h>
#include <http_protocol.h>

#include "mcp_common.h"
#include "mcp_httpd.h"
#include "mcp_as.h"
#include "mcp_as_authorize.h"

/* An HTML error page: the client or its redirect URI is not verified. */
int mcp_as_error_page(request_rec *r, int status, const char *message)
{
    mcp_as_page_headers(r);
    r->status = status;
    ap_set_content_type(r, "text/html; charset=utf-8");
    ap_rprintf(r,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width\">"
        "<title>Authorization error</title>%s</head><body><main>"
        "<h1>This authorization request cannot be completed</h1>"
        "<p>%s</p><p class=\"muted\">You can close this window.</p>"
        "</main></body></html>\n",
        MCP_AS_PAGE_STYLE, ap_escape_html2(r->pool, message, 0));
    return OK;
}

void mcp_as_page_headers(request_rec *r)
{
    apr_table_setn(r->headers_out, "X-Frame-Options", "DENY");
    apr_table_setn(r->headers_out, "Content-Security-Policy",
                   "default-src 'none'; style-src 'unsafe-inline'; "
                   "frame-ancestors 'none'; base-uri 'none'");
    apr_table_setn(r->headers_out, "Referrer-Policy", "no-referrer");
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    apr_table_setn(r->headers_out, "X-Content-Type-Options", "nosniff");
}

/* Appends code|error, state and iss to the verified redirect URI. */
int mcp_as_redirect(request_rec *r, mcp_as_server_conf *conf,
                    mcp_as_authz_request *request, const char *name,
                    const char *value, const char *description)
{
    const char *uri = request->redirect_uri;
    char *location = apr_pstrcat(r->pool, uri,
        strchr(uri, '?') ? (uri[strlen(uri) - 1] == '?' ? "" : "&") : "?",
        name, "=", mcp_url_encode(r->pool, value), NULL);

    if (description != NULL) {
        location = apr_pstrcat(r->pool, location, "&error_description=",
                               mcp_url_encode(r->pool, description), NULL);
    }
    if (request->state != NULL) {
        location = apr_pstrcat(r->pool, location, "&state=",
                               mcp_url_encode(r->pool, request->state), NULL);
    }
    location = apr_pstrcat(r->pool, location, "&iss=",
                           mcp_url_encode(r->pool, conf->issuer), NULL);
    apr_table_setn(r->headers_out, "Location", location);
    /* an error response keeps only err_headers_out (and Location) */
    apr_table_setn(r->err_headers_out, "Cache-Control", "no-store");
    apr_table_setn(r->err_headers_out, "Referrer-Policy", "no-referrer");
    return HTTP_MOVED_TEMPORARILY;
}

/* OAuth 2.1 §2.3.1 / RFC 8252 §7.3: exact match, except for the port of
 * a loopback http redirect URI, which a native app chooses at run time. */
static int redirect_uri_matches(apr_pool_t *pool, const char *registered,
                                const char *requested)
{
    apr_uri_t a, b;

    if (strcmp(registered, requested) == 0) {
        return 1;
    }
    if (strncmp(registered, "http://", 7) != 0
        || strncmp(requested, "http://", 7) != 0
        || strchr(requested, '@') != NULL || strchr(requested, '#') != NULL
        || apr_uri_parse(pool, registered, &a) != APR_SUCCESS
        || apr_uri_parse(pool, requested, &b) != APR_SUCCESS
        || a.hostname == NULL || b.hostname == NULL
        || !mcp_host_is_loopback(a.hostname)
        || strcmp(a.hostname, b.hostname) != 0) {
        return 0;
    }
    a.port_str = b.port_str = NULL;
    a.port = b.port = 0;
    return strcmp(apr_uri_unparse(pool, &a, 0), apr_uri_unparse(pool, &b, 0))
        == 0;
}

static int valid_code_challenge(apr_pool_t *pool, const char *challenge)
{
    unsigned char *raw;
    apr_size_t raw_len;

    /* RFC 7636 §4.2: BASE64URL(SHA256(verifier)) is 43 characters */
    return challenge != NULL && strlen(challenge) == 43
        && mcp_b64url_decode(pool, challenge, 43, &raw, &raw_len) == MCP_OK
        && raw_len == MCP_SHA256_LEN;
}

const char *mcp_as_request_hash(apr_pool_t *pool,
                                const mcp_as_authz_request *request)
{
    return mcp_sha256_b64url(pool, apr_pstrcat(pool,
        request->client->client_id, "\n", request->redirect_uri, "\n",
        request->redirect_uri_given ? "1" : "0", "\n", request->scope, "\n",
        request->resource, "\n", request->code_challenge, "\n",
        request->state ? request->state : "", NULL));
}

/*
 * Validates an authorization request.  Returns DECLINED with *out filled
 * when it is good; otherwise it has answered (error page or redirect) and
 * returns what the handler must return.
 */
int mcp_as_authz_validate(request_rec *r, mcp_as_server_conf *conf,
                          apr_table_t *params, mcp_as_authz_request **out)
{
    mcp_as_authz_request *request = apr_pcalloc(r->pool, sizeof(*request));
    const char *client_id = apr_table_get(params, "client_id");
    const char *redirect_uri = apr_table_get(params, "redirect_uri");
    const char *response_type = apr_table_get(params, "response_type");
    const char *method = apr_table_get(params, "code_challenge_method");
    const char *scope = apr_table_get(params, "scope");
    const char *resource = apr_table_get(params, "resource");
    int rc, i;

    if (client_id == NULL || client_id[0] == '\0') {
        return mcp_as_error_page(r, HTTP_BAD_REQUEST,
                                 "The request has no client_id.");
    }
    rc = mcp_as_client_find(r, conf, client_id, &request->client);
    if (rc == MCP_AS_STORE_UNAVAILABLE) {
        return mcp_as_error_page(r, HTTP_SERVICE_UNAVAILABLE,
            "The authorization server is busy (temporarily_unavailable). "
            "Please try again.");
    }
    if (rc != MCP_AS_STORE_OK) {
        const char *error = apr_table_get(r->notes, "mcp-as-cimd-error");
        return mcp_as_error_page(r, HTTP_BAD_REQUEST, apr_pstrcat(r->pool,
            "The application that sent you here is not registered with this "
            "server (unknown client_id)", error ? ": " : ".",
            error ? error : "", NULL));
    }
    if (!mcp_as_client_has_grant(request->client, "authorization_code")
        || request->client->redirect_uris->nelts == 0) {
        return mcp_as_error_page(r, HTTP_BAD_REQUEST,
            "This client is not allowed to use the authorization code flow "
            "(unauthorized_client).");
    }
    if (redirect_uri == NULL) {
        /* OAuth 2.1 §4.1.1: optional only when exactly one is registered */
        if (request->client->redirect_uris->nelts != 1) {
            return mcp_as_error_page(r, HTTP_BAD_REQUEST,
                "The request has no redirect_uri, and the client registered "
                "more than one.");
        }
        request->redirect_uri =
            APR_ARRAY_IDX(request->client->redirect_uris, 0, const char *);
    }
    else {
        for (i = 0; i < request->client->redirect_uris->nelts; i++) {
            if (redirect_uri_matches(r->pool,
                    APR_ARRAY_IDX(request->client->redirect_uris, i,
                                  const char *), redirect_uri)) {
                request->redirect_uri = redirect_uri;
                request->redirect_uri_given = 1;
                break;
            }
        }
        if (request->redirect_uri == NULL) {
            return mcp_as_error_page(r, HTTP_BAD_REQUEST,
                "The redirect_uri does not exactly match one registered by "
                "the client; nothing is sent to it.");
        }
    }
    /* From here on errors go back to the client (OAuth 2.1 §4.1.2.1). */
    request->state = apr_table_get(params, "state");
    if (request->state != NULL && strlen(request->state) > 4096) {
        request->state = NULL;
        return mcp_as_redirect(r, conf, request, "error", "invalid_request",
                               "state is longer than 4096 characters");
    }
    if (response_type == NULL) {
        return mcp_as_redirect(r, conf, request, "error", "invalid_request",
                               "response_type is required");
    }
    if (strcmp(response_type, "code") != 0) {
        return mcp_as_redirect(r, conf, request, "error",
                               "unsupported_response_type",
                               "only response_type=code is supported");
    }
    if (method == NULL) {
        return mcp_as_redirect(r, conf, request, "error", "invalid_request",
                               "PKCE is required: send code_challenge with "
                               "code_challenge_method=S256");
    }
    if (strcmp(method, "S256") != 0) {
        return mcp_as_redirect(r, conf, request, "error", "invalid_request",
                               "code_challenge_method must be S256 (plain is "
                               "not allowed)");
    }
    request->code_challenge = apr_table_get(params, "code_challenge");
    if (!valid_code_challenge(r->pool, request->code_challenge)) {
        return mcp_as_redirect(r, conf, request, "error", "invalid_request",
                               "code_challenge must be the 43-character "
                               "base64url SHA-256 of the code verifier");
    }
    if (scope != NULL && scope[0] != '\0') {
        apr_array_header_t *scopes = mcp_as_scope_split(r->pool, scope);
        for (i = 0; i < scopes->nelts; i++) {
            const char *one = APR_ARRAY_IDX(scopes, i, const char *);
            if (!mcp_as_scope_supported(conf, one)) {
                return mcp_as_redirect(r, conf, request, "error",
                    "invalid_scope", apr_psprintf(r->pool,
                    "scope '%s' is not supported", one));
            }
        }
        if (request->client->scope != NULL
            && !mcp_as_scope_subset(r->pool, scope, request->client->scope)) {
            return mcp_as_redirect(r, conf, request, "error", "invalid_scope",
                "the client did not register all the scopes it asks for");
        }
        request->scope = apr_array_pstrcat(r->pool, scopes, ' ');
    }
    else if (request->client->scope != NULL) {
        request->scope = request->client->scope;
    }
    else {
        request->scope = apr_array_pstrcat(r->pool, conf->scopes, ' ');
    }
    /* RFC 8707 §2: the resource the token is for becomes its aud */
    if (resource != NULL) {
        if (strchr(resource, '#') != NULL
            || !mcp_uri_is_web(r->pool, resource, 1, NULL)) {
            return mcp_as_redirect(r, conf, request, "error", "invalid_target",
                "resource must be an absolute URI without a fragment");
        }
        for (i = 0; i < conf->resources->nelts; i++) {
            const char *allowed = APR_ARRAY_IDX(conf->resources, i,
                                                const char *);
            if (mcp_uri_same_resource(r->pool, allowed, resource)) {
                request->resource = allowed;
                break;
            }
        }
        if (request->resource == NULL) {
            return mcp_as_redirect(r, conf, request, "error", "invalid_target",
                "this server does not issue tokens for that resource");
        }
    }
    else if (conf->resources->nelts == 1) {
        request->resource = APR_ARRAY_IDX(conf->resources, 0, const char *);
    }
    else {
        return mcp_as_redirect(r, conf, request, "error", "invalid_target",
            "resource is required (RFC 8707): name the MCP server the token "
            "is for");
    }
    request->prompt = apr_table_get(params, "prompt");
    *out = request;
    return DECLINED;
}

/* Mints a code in the socache and redirects to the client. */
int mcp_as_issue_code(request_rec *r, mcp_as_server_conf *conf,
                      mcp_as_authz_request *request)
{
    json_t *value = mcp_json_pool_own(r->pool, json_object());
    apr_time_t expires = mcp_as_now() + conf->code_lifetime;
    char *code;

    if (mcp_random_b64url(r->pool, 32, &code) != MCP_OK) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    json_object_set_new(value, "client_id",
                        json_string(request->client->client_id));
    json_object_set_new(value, "redirect_uri",
                        json_string(request->redirect_uri));
    json_object_set_new(value, "redirect_uri_given",
                        json_boolean(request->redirect_uri_given));
    json_object_set_new(value, "code_challenge",
                        json_string(request->code_challenge));
    json_object_set_new(value, "scope", json_string(request->scope));
    json_object_set_new(value, "resource", json_string(request->resource));
    json_object_set_new(value, "sub", json_string(r->user));
    json_object_set_new(value, "exp", json_integer(expires));
    if (mcp_as_cache_store(r, mcp_as_cache_key(r->pool, "code", code),
                           mcp_json_dump(r->pool, value),
                           apr_time_from_sec(expires)) != MCP_OK) {
        return mcp_as_redirect(r, conf, request, "error",
                               "temporarily_unavailable",
                               "cannot store the authorization code");
    }
    mcp_as_audit(r, "code_issued", "client=%s user=%s scope=\"%s\" "
                 "resource=%s outcome=ok", request->client->client_id,
                 r->user, request->scope, request->resource);
    return mcp_as_redirect(r, conf, request, "code", code, NULL);
}

int mcp_as_handle_authorize(request_rec *r, mcp_as_server_conf *conf)
{
    apr_table_t *params;
    mcp_as_authz_request *request;
    const char *error, *action;
    const char **row;
    mcp_as_txn *txn;
    int rc, status, replayed_get = 0;

    if (r->method_number != M_GET && r->method_number != M_POST) {
        apr_table_setn(r->err_headers_out, "Allow", "GET, POST");
        return mcp_as_error_page(r, HTTP_METHOD_NOT_ALLOWED,
                                 "The authorization endpoint takes GET or POST.");
    }
    if (r->user == NULL) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, APLOGNO(30080)
                      "%s has no authenticated user: protect the authorize "
                      "endpoint with Apache authentication (AuthType, Require "
                      "valid-user)", r->uri);
        return mcp_as_error_page(r, HTTP_FORBIDDEN,
            "Login is not configured for this authorization server.");
    }
    if (r->method_number == M_POST) {
        if (mcp_as_read_form(r, &params, &error, &status) != MCP_OK) {
            return mcp_as_error_page(r, status, apr_pstrcat(r->pool,
                "The request is malformed (invalid_request): ", error, NULL));
        }
        /*
         * A login page in front of this endpoint (mod_auth_form's inline
         * login, as in the demo) posts its own fields back to the URL that
         * asked for a login: the authorization request is in the query
         * string, the body holds only the login, or nothing once
         * mod_auth_form has read it.  SetHandler keeps mod_auth_form from
         * replaying it as the original GET, so a POST with no decision, no
         * action and no request of its own is answered as that GET.  It can
         * do nothing a GET cannot: a decision needs a POSTed mcp_consent
         * and its CSRF token.
         */
        if (apr_table_get(params, "mcp_consent") == NULL
            && apr_table_get(params, "mcp_action") == NULL
            && apr_table_get(params, "response_type") == NULL
            && r->args != NULL && r->args[0] != '\0') {
            replayed_get = 1;
        }
    }
    if (r->method_number != M_POST || replayed_get) {
        if (mcp_form_parse(r->pool, r->args ? r->args : "",
                           r->args ? strlen(r->args) : 0, &params, &error)
            != MCP_OK) {
            return mcp_as_error_page(r, HTTP_BAD_REQUEST, apr_pstrcat(r->pool,
                "The request is malformed (invalid_request): ", error, NULL));
        }
        if (replayed_get && (apr_table_get(params, "mcp_consent") != NULL
                             || apr_table_get(params, "mcp_action") != NULL)) {
            return mcp_as_error_page(r, HTTP_BAD_REQUEST,
                "The request is malformed (invalid_request): a decision "
                "must be in the body of a POST.");
        }
    }
    action = apr_table_get(params, "mcp_action");
    if (action != NULL) {
        return mcp_as_consents_page(r, conf, params, action);
    }
    if (r->method_number == M_POST
        && apr_table_get(params, "mcp_consent") != NULL) {
        return mcp_as_consent_submit(r, conf, params);
    }
    rc = mcp_as_authz_validate(r, conf, params, &request);
    if (rc != DECLINED) {
        return rc;
    }
    if (mcp_as_rate_limit(r, conf, request->client->client_id, 1, &rc)
        != MCP_OK) {
        return rc;
    }
    /* A remembered consent covering these scopes skips the page. */
    if (request->prompt == NULL || strcmp(request->prompt, "consent") != 0) {
        rc = mcp_as_txn_begin(r, conf->store, 0, &txn);
        if (rc == MCP_AS_STORE_OK) {
            rc = mcp_as_txn_select1(txn, "consent_get", &row, r->user,
                                    request->client->client_id,
                                    request->resource, MCP_AS_END);
            mcp_as_txn_abort(txn);
        }
        if (rc == MCP_AS_STORE_UNAVAILABLE) {
            return mcp_as_redirect(r, conf, request, "error",
                                   "temporarily_unavailable",
                                   "the authorization server is busy");
        }
        if (rc == MCP_AS_STORE_OK
            && mcp_as_scope_subset(r->pool, request->scope, row[0])) {
            return mcp_as_issue_code(r, conf, request);
        }
    }
    if (request->prompt != NULL && strcmp(request->prompt, "none") == 0) {
        return mcp_as_redirect(r, conf, request, "error", "consent_required",
                               "the user has not approved this client yet");
    }
    return mcp_as_consent_page(r, conf, request);
}
