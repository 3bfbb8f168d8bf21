/*
 * The Bearer challenge (RFC 6750 §3, RFC 9728 §5.1, MCP authorization
 * 2025-11-25): every 401 on an AuthType MCP location, and the 403 for
 * insufficient scope, say where the protected-resource metadata is.
 *
 * How the pieces meet Apache's authentication and authorization phases:
 *
 * - check_authn (mcp_rs_authn.c) refuses a missing or bad token by noting
 *   why in r->notes, calling ap_note_auth_failure() and returning 401;
 * - when a Require fails for a user whose token was valid, mod_authz_core
 *   calls ap_note_auth_failure() too and returns 401 (or 403 with
 *   AuthzSendForbiddenOnFailure On);
 * - note_auth_failure below writes WWW-Authenticate from those notes;
 * - the token was valid in the second case, so a 401 would only send the
 *   client to get the same token again: insert_error_filter, which runs
 *   when httpd builds the error response, turns that 401 into a 403 and,
 *   when `Require mcp-scope` was the reason (mcp_rs_authz.c leaves the
 *   scopes it wanted in r->notes), says error="insufficient_scope" with
 *   the scope the request needs (RFC 6750 §3.1).
 */
#include <string.h>
#include <apr_strings.h>
#include <httpd.h>
#include <http_config.h>
#include <http_core.h>
#include <http_log.h>
#include <http_protocol.h>
#include <http_request.h>

#include "mcp_common.h"
#include "mcp_httpd.h"
#include "mcp_rs.h"

APLOG_USE_MODULE(mcp_rs);

#define NOTE_AUTHZ_FAILED "mcp-rs-authz-failed"
#define CORS_METHODS "GET, POST, DELETE, OPTIONS"

void mcp_rs_note_failure(request_rec *r, const mcp_rs_failure *failure)
{
    if (failure->error != NULL) {
        apr_table_setn(r->notes, MCP_RS_NOTE_ERROR, failure->error);
    }
    if (failure->description != NULL) {
        apr_table_setn(r->notes, MCP_RS_NOTE_DESCRIPTION, failure->description);
    }
}

static char *challenge(request_rec *r, const mcp_rs_dir_conf *conf,
                       const char *error, const char *description,
                       const char *scope)
{
    char *value = "Bearer";
    const char *separator = " ";

    if (conf->resource != NULL) {
        value = apr_pstrcat(r->pool, value, separator, "resource_metadata=",
                            mcp_http_quote(r->pool,
                                mcp_rs_metadata_url(r->pool, conf->resource)),
                            NULL);
        separator = ", ";
    }
    if (error != NULL) {
        value = apr_pstrcat(r->pool, value, separator, "error=",
                            mcp_http_quote(r->pool, error), NULL);
        separator = ", ";
    }
    if (description != NULL) {
        /* RFC 6750 §3: error_description is %x20-21 / %x23-5B / %x5D-7E */
        value = apr_pstrcat(r->pool, value, separator, "error_description=",
                            mcp_http_quote(r->pool,
                                mcp_printable(r->pool, description, 200)),
                            NULL);
        separator = ", ";
    }
    if (scope != NULL) {
        value = apr_pstrcat(r->pool, value, separator, "scope=",
                            mcp_http_quote(r->pool, scope), NULL);
    }
    return value;
}

void mcp_rs_set_challenge(request_rec *r, const mcp_rs_failure *failure)
{
    const mcp_rs_dir_conf *conf = mcp_rs_dir(r);
    const char *scope = NULL;

    /* RFC 6750 §3: with no credentials at all, no error code; the scope
     * hint tells the client what to ask for (MCP 2025-11-25). */
    if (failure == NULL || failure->error == NULL) {
        scope = mcp_rs_scopes_string(r->pool, conf->scopes);
    }
    apr_table_setn(r->err_headers_out, "WWW-Authenticate",
                   challenge(r, conf, failure ? failure->error : NULL,
                             failure ? failure->description : NULL, scope));
    apr_table_setn(r->err_headers_out, "Cache-Control", "no-store");
    mcp_cors(r, CORS_METHODS);
}

int mcp_rs_note_auth_failure(request_rec *r, const char *auth_type)
{
    mcp_rs_failure failure;

    if (auth_type == NULL || strcasecmp(auth_type, MCP_RS_AUTH_TYPE) != 0) {
        return DECLINED;
    }
    if (r->user != NULL && mcp_rs_identity_get(r) != NULL) {
        /* A Require failed for a valid token: see insert_error_filter. */
        apr_table_setn(r->notes, NOTE_AUTHZ_FAILED, "1");
        return OK;
    }
    failure.status = HTTP_UNAUTHORIZED;
    failure.error = apr_table_get(r->notes, MCP_RS_NOTE_ERROR);
    failure.description = apr_table_get(r->notes, MCP_RS_NOTE_DESCRIPTION);
    mcp_rs_set_challenge(r, &failure);
    return OK;
}

void mcp_rs_insert_error_filter(request_rec *r)
{
    const mcp_rs_dir_conf *conf;
    const char *scope, *body;

    if (r->main != NULL || !mcp_rs_is_mcp_auth(r) || r->user == NULL
        || mcp_rs_identity_get(r) == NULL) {
        return;
    }
    scope = apr_table_get(r->notes, MCP_RS_NOTE_SCOPE);
    if (!((r->status == HTTP_UNAUTHORIZED
           && apr_table_get(r->notes, NOTE_AUTHZ_FAILED) != NULL)
          || (r->status == HTTP_FORBIDDEN && scope != NULL))) {
        return;
    }
    conf = mcp_rs_dir(r);
    if (scope != NULL) {
        apr_table_setn(r->err_headers_out, "WWW-Authenticate",
            challenge(r, conf, "insufficient_scope",
                      "the access token does not grant the scope this "
                      "request needs", scope));
        body = apr_psprintf(r->pool,
            "<p>insufficient_scope: this request needs the scope %s</p>\n",
            ap_escape_html(r->pool, scope));
    }
    else {
        apr_table_setn(r->err_headers_out, "WWW-Authenticate",
                       challenge(r, conf, NULL, NULL, NULL));
        body = "<p>The access token is valid, but this request is not "
               "allowed.</p>\n";
    }
    apr_table_setn(r->err_headers_out, "Cache-Control", "no-store");
    mcp_cors(r, CORS_METHODS);
    if (r->status == HTTP_UNAUTHORIZED) {
        /* ap_send_error_response picks the body by the status it started
         * with (401); the status line follows r->status. */
        ap_custom_response(r, HTTP_UNAUTHORIZED, body);
        r->status = HTTP_FORBIDDEN;
        r->status_line = ap_get_status_line(HTTP_FORBIDDEN);
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, APLOGNO(20010)
                      "mod_mcp_rs: token of '%s' valid but not authorized for "
                      "%s%s%s: 403", r->user, r->uri,
                      scope ? ", needs scope " : "", scope ? scope : "");
    }
}
