/*
 * The consent page, its form post, and the page where a user sees and
 * withdraws remembered consents (…/authorize?mcp_action=consents).
 *
 * Every form carries a CSRF token: 256 random bits, kept in the socache
 * (hashed) with the user it was made for and a hash of the request it
 * approves, and usable once.  The forms post back to …/authorize, so the
 * same Apache login protects them.
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

#define CSRF_LIFETIME 600

static const char *html(request_rec *r, const char *text)
{
    return ap_escape_html2(r->pool, text ? text : "", 0);
}

static int csrf_make(request_rec *r, const char *binding, char **token)
{
    json_t *value = mcp_json_pool_own(r->pool, json_object());

    if (mcp_random_b64url(r->pool, 32, token) != MCP_OK) {
        return MCP_ERROR;
    }
    json_object_set_new(value, "user", json_string(r->user));
    json_object_set_new(value, "binding", json_string(binding));
    return mcp_as_cache_store(r, mcp_as_cache_key(r->pool, "csrf", *token),
                              mcp_json_dump(r->pool, value),
                              apr_time_from_sec(mcp_as_now() + CSRF_LIFETIME));
}

/* Checks and consumes a CSRF token: same user, same request. */
static int csrf_check(request_rec *r, const char *token, const char *binding)
{
    const unsigned char *key;
    const char *error, *user, *bound;
    char *text;
    json_t *value;

    if (token == NULL || strlen(token) != 43) {
        return MCP_ERROR;
    }
    key = mcp_as_cache_key(r->pool, "csrf", token);
    if (mcp_as_cache_get(r, key, &text) != MCP_OK) {
        return MCP_ERROR;
    }
    mcp_as_cache_remove(r, key);
    if (mcp_json_parse_object(r->pool, text, strlen(text), &value, &error)
        != MCP_OK) {
        return MCP_ERROR;
    }
    user = mcp_json_string(value, "user");
    bound = mcp_json_string(value, "binding");
    return (user && bound && strcmp(user, r->user) == 0
            && mcp_secret_equal(bound, binding)) ? MCP_OK : MCP_ERROR;
}

static void hidden(request_rec *r, const char *name, const char *value)
{
    if (value != NULL) {
        ap_rprintf(r, "<input type=\"hidden\" name=\"%s\" value=\"%s\">\n",
                   name, html(r, value));
    }
}

int mcp_as_consent_page(request_rec *r, mcp_as_server_conf *conf,
                        mcp_as_authz_request *request)
{
    apr_array_header_t *scopes = mcp_as_scope_split(r->pool, request->scope);
    apr_uri_t parsed;
    const char *host = request->redirect_uri, *name;
    char *csrf;
    int i, loopback = 0;

    if (csrf_make(r, mcp_as_request_hash(r->pool, request), &csrf) != MCP_OK) {
        return mcp_as_redirect(r, conf, request, "error",
                               "temporarily_unavailable",
                               "cannot store the consent form's token");
    }
    if (apr_uri_parse(r->pool, request->redirect_uri, &parsed) == APR_SUCCESS
        && parsed.hostname != NULL) {
        host = parsed.hostname;
        loopback = mcp_host_is_loopback(parsed.hostname);
    }
    else if (parsed.scheme != NULL) {
        host = apr_pstrcat(r->pool, parsed.scheme, ":", NULL);
    }
    name = request->client->name ? request->client->name
                                 : request->client->client_id;
    mcp_as_page_headers(r);
    ap_set_content_type(r, "text/html; charset=utf-8");
    ap_rprintf(r,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width\">"
        "<title>Authorize %s</title>%s</head><body><main>\n"
        "<h1>Allow <q>%s</q> to act for you?</h1>\n"
        "<p>Signed in as <strong>%s</strong>.</p>\n"
        "<p>After you decide, you will be sent to <strong>%s</strong>.</p>\n",
        html(r, name), MCP_AS_PAGE_STYLE, html(r, name), html(r, r->user),
        html(r, host));
    if (loopback) {
        ap_rputs("<p class=\"warn\">This application runs on your own "
                 "computer (a local address). Only approve if you started it "
                 "just now.</p>\n", r);
    }
    if (request->client->is_metadata_document) {
        ap_rprintf(r, "<p class=\"muted\">Client identity: <code>%s</code></p>\n",
                   html(r, request->client->client_id));
    }
    ap_rprintf(r, "<p>It will be able to use <strong>%s</strong> with these "
               "permissions:</p>\n<ul>\n", html(r, request->resource));
    for (i = 0; i < scopes->nelts; i++) {
        const char *scope = APR_ARRAY_IDX(scopes, i, const char *);
        const char *description = apr_table_get(conf->scope_descriptions,
                                                scope);
        ap_rprintf(r, "<li><code>%s</code>%s%s</li>\n", html(r, scope),
                   description ? " &mdash; " : "",
                   description ? html(r, description) : "");
    }
    if (scopes->nelts == 0) {
        ap_rputs("<li>no particular permission</li>\n", r);
    }
    ap_rprintf(r, "</ul>\n<form method=\"post\" action=\"%s\">\n",
               html(r, mcp_as_endpoint_url(r->pool, conf, "authorize")));
    hidden(r, "response_type", "code");
    hidden(r, "client_id", request->client->client_id);
    if (request->redirect_uri_given) {
        hidden(r, "redirect_uri", request->redirect_uri);
    }
    hidden(r, "scope", request->scope);
    hidden(r, "resource", request->resource);
    hidden(r, "state", request->state);
    hidden(r, "code_challenge", request->code_challenge);
    hidden(r, "code_challenge_method", "S256");
    hidden(r, "mcp_csrf", csrf);
    ap_rputs("<label><input type=\"checkbox\" name=\"mcp_remember\" value=\"1\""
             " checked> Remember this decision</label>\n"
             "<div class=\"actions\">"
             "<button class=\"primary\" type=\"submit\" name=\"mcp_consent\" "
             "value=\"approve\">Approve</button>"
             "<button type=\"submit\" name=\"mcp_consent\" value=\"deny\">"
             "Deny</button></div>\n</form>\n"
             "<p class=\"muted\">You can withdraw remembered approvals on the "
             "<a href=\"?mcp_action=consents\">approvals page</a>.</p>\n"
             "</main></body></html>\n", r);
    return OK;
}

int mcp_as_consent_submit(request_rec *r, mcp_as_server_conf *conf,
                          apr_table_t *params)
{
    const char *decision = apr_table_get(params, "mcp_consent");
    const char *csrf = apr_table_get(params, "mcp_csrf");
    int remember = apr_table_get(params, "mcp_remember") != NULL;
    mcp_as_authz_request *request;
    mcp_as_txn *txn;
    int rc;

    apr_table_unset(params, "mcp_consent");
    apr_table_unset(params, "mcp_csrf");
    apr_table_unset(params, "mcp_remember");
    rc = mcp_as_authz_validate(r, conf, params, &request);
    if (rc != DECLINED) {
        return rc;
    }
    if (csrf_check(r, csrf, mcp_as_request_hash(r->pool, request)) != MCP_OK) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, APLOGNO(30081)
                      "consent form for client %s by %s has a missing, "
                      "expired or foreign CSRF token",
                      request->client->client_id, r->user);
        return mcp_as_error_page(r, HTTP_BAD_REQUEST,
            "This consent form has expired or was not made for you. Start "
            "again from the application.");
    }
    if (strcmp(decision, "approve") != 0) {
        mcp_as_audit(r, "consent", "client=%s user=%s scope=\"%s\" "
                     "resource=%s outcome=denied", request->client->client_id,
                     r->user, request->scope, request->resource);
        return mcp_as_redirect(r, conf, request, "error", "access_denied",
                               "the user denied the request");
    }
    if (remember) {
        rc = mcp_as_txn_begin(r, conf->store, 1, &txn);
        if (rc == MCP_AS_STORE_OK) {
            rc = mcp_as_txn_exec(txn, "consent_put", NULL, r->user,
                                 request->client->client_id, request->resource,
                                 request->scope, mcp_as_now_str(r->pool),
                                 MCP_AS_END);
            if (rc == MCP_AS_STORE_OK) {
                rc = mcp_as_txn_commit(txn);
            }
            else {
                mcp_as_txn_abort(txn);
            }
        }
        if (rc != MCP_AS_STORE_OK) {
            return mcp_as_redirect(r, conf, request, "error",
                                   "temporarily_unavailable",
                                   "the authorization server is busy");
        }
    }
    mcp_as_audit(r, "consent", "client=%s user=%s scope=\"%s\" resource=%s "
                 "remembered=%s outcome=approved", request->client->client_id,
                 r->user, request->scope, request->resource,
                 remember ? "yes" : "no");
    return mcp_as_issue_code(r, conf, request);
}

#define WITHDRAW_BINDING "withdraw-consent"

int mcp_as_consents_page(request_rec *r, mcp_as_server_conf *conf,
                         apr_table_t *params, const char *action)
{
    apr_array_header_t *rows;
    mcp_as_txn *txn;
    const char *notice = NULL;
    char *csrf;
    int rc, i;

    if (strcmp(action, "withdraw") == 0) {
        const char *client_id = apr_table_get(params, "client_id");
        int nrows = 0;
        if (r->method_number != M_POST
            || csrf_check(r, apr_table_get(params, "mcp_csrf"),
                          mcp_sha256_b64url(r->pool, WITHDRAW_BINDING))
               != MCP_OK) {
            return mcp_as_error_page(r, HTTP_BAD_REQUEST,
                "This form has expired or was not made for you.");
        }
        if (client_id == NULL) {
            return mcp_as_error_page(r, HTTP_BAD_REQUEST,
                                     "Which approval? client_id is missing.");
        }
        rc = mcp_as_txn_begin(r, conf->store, 1, &txn);
        if (rc == MCP_AS_STORE_OK) {
            rc = mcp_as_txn_exec(txn, "consent_delete", &nrows, r->user,
                                 client_id, MCP_AS_END);
            if (rc == MCP_AS_STORE_OK) {
                rc = mcp_as_txn_commit(txn);
            }
            else {
                mcp_as_txn_abort(txn);
            }
        }
        if (rc != MCP_AS_STORE_OK) {
            return mcp_as_error_page(r, HTTP_SERVICE_UNAVAILABLE,
                "The authorization server is busy; nothing was changed.");
        }
        mcp_as_audit(r, "consent_withdrawn", "client=%s user=%s outcome=%s",
                     mcp_printable(r->pool, client_id, 256), r->user,
                     nrows ? "withdrawn" : "none");
        notice = nrows ? "The approval was withdrawn." : "There was no such "
                 "approval.";
    }
    else if (strcmp(action, "consents") != 0) {
        return mcp_as_error_page(r, HTTP_BAD_REQUEST,
                                 "Unknown mcp_action.");
    }
    rc = mcp_as_txn_begin(r, conf->store, 0, &txn);
    if (rc == MCP_AS_STORE_OK) {
        rc = mcp_as_txn_select(txn, "consent_list", &rows, r->user, MCP_AS_END);
        mcp_as_txn_abort(txn);
    }
    if (rc != MCP_AS_STORE_OK) {
        return mcp_as_error_page(r, HTTP_SERVICE_UNAVAILABLE,
            "The authorization server is busy. Please try again.");
    }
    if (csrf_make(r, mcp_sha256_b64url(r->pool, WITHDRAW_BINDING), &csrf)
        != MCP_OK) {
        return mcp_as_error_page(r, HTTP_SERVICE_UNAVAILABLE,
            "The authorization server is busy. Please try again.");
    }
    mcp_as_page_headers(r);
    ap_set_content_type(r, "text/html; charset=utf-8");
    ap_rprintf(r,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width\">"
        "<title>Your approvals</title>%s</head><body><main>\n"
        "<h1>Applications you approved</h1>\n<p>Signed in as "
        "<strong>%s</strong>.</p>\n", MCP_AS_PAGE_STYLE, html(r, r->user));
    if (notice != NULL) {
        ap_rprintf(r, "<p class=\"warn\">%s</p>\n", html(r, notice));
    }
    if (rows->nelts == 0) {
        ap_rputs("<p>None.</p>\n", r);
    }
    else {
        ap_rputs("<table><tr><th>Application</th><th>Resource</th>"
                 "<th>Permissions</th><th></th></tr>\n", r);
    }
    for (i = 0; i < rows->nelts; i++) {
        const char **row = APR_ARRAY_IDX(rows, i, const char **);
        ap_rprintf(r, "<tr><td><code>%s</code></td><td>%s</td><td>%s</td><td>"
                   "<form method=\"post\" action=\"%s\">",
                   html(r, row[0]), html(r, row[1]), html(r, row[2]),
                   html(r, mcp_as_endpoint_url(r->pool, conf, "authorize")));
        hidden(r, "mcp_action", "withdraw");
        hidden(r, "client_id", row[0]);
        hidden(r, "mcp_csrf", csrf);
        ap_rputs("<button type=\"submit\">Withdraw</button></form></td></tr>\n",
                 r);
    }
    if (rows->nelts > 0) {
        ap_rputs("</table>\n", r);
    }
    ap_rputs("</main></body></html>\n", r);
    return OK;
}
