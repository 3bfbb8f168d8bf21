/*
 * RFC 7009 token revocation, POST …/revoke: refresh tokens (with their
 * whole family) and access tokens (by jti, so introspection reports them
 * inactive).  Always 200 for tokens the caller cannot revoke (§2.2).
 */
#include <httpd.h>
#include <string.h>
#include <apr_strings.h>
#include <http_protocol.h>

#include "mcp_common.h"
#include "mcp_httpd.h"
#include "mcp_as.h"

static int looks_like_jwt(const char *token)
{
    const char *dot = strchr(token, '.');
    return dot != NULL && strchr(dot + 1, '.') != NULL;
}

int mcp_as_handle_revoke(request_rec *r, mcp_as_server_conf *conf)
{
    apr_table_t *form;
    mcp_as_client *client;
    const char *token, *error;
    mcp_as_txn *txn;
    int status, reply, rc = MCP_AS_STORE_OK;

    if (mcp_cors(r, "POST, OPTIONS") == OK) {
        return OK;
    }
    if (r->method_number != M_POST) {
        apr_table_setn(r->err_headers_out, "Allow", "POST, OPTIONS");
        return mcp_reply_oauth_error(r, HTTP_METHOD_NOT_ALLOWED,
            "invalid_request", "the revocation endpoint takes POST only");
    }
    if (mcp_as_read_form(r, &form, &error, &status) != MCP_OK) {
        return mcp_reply_oauth_error(r, status, "invalid_request", error);
    }
    if (mcp_as_client_authenticate(r, conf, form, &client, &reply) != MCP_OK) {
        return reply;
    }
    token = apr_table_get(form, "token");
    if (token == NULL || token[0] == '\0') {
        return mcp_reply_oauth_error(r, HTTP_BAD_REQUEST, "invalid_request",
                                     "token is required");
    }
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    if (looks_like_jwt(token)) {
        json_t *claims;
        const char *client_id;
        if (mcp_as_jwt_verify(r, conf, token, &claims) == MCP_OK
            && (client_id = mcp_json_string(claims, "client_id")) != NULL
            && strcmp(client_id, client->client_id) == 0) {
            const char *jti = mcp_json_string(claims, "jti");
            rc = mcp_as_txn_begin(r, conf->store, 1, &txn);
            if (rc == MCP_AS_STORE_OK) {
                rc = mcp_as_txn_exec(txn, "jti_revoke", NULL, jti,
                    apr_psprintf(r->pool, "%" APR_INT64_T_FMT, (apr_int64_t)
                        json_integer_value(json_object_get(claims, "exp"))),
                    MCP_AS_END);
                rc = rc == MCP_AS_STORE_OK ? mcp_as_txn_commit(txn)
                                           : (mcp_as_txn_abort(txn), rc);
            }
            if (rc == MCP_AS_STORE_OK) {
                mcp_as_audit(r, "revoke", "type=access_token client=%s jti=%s "
                             "outcome=revoked", client->client_id, jti);
            }
        }
    }
    else if (strlen(token) <= 256) {
        const char **row;
        rc = mcp_as_txn_begin(r, conf->store, 1, &txn);
        if (rc == MCP_AS_STORE_OK) {
            rc = mcp_as_txn_select1(txn, "refresh_get", &row,
                                    mcp_sha256_b64url(r->pool, token), MCP_AS_END);
            if (rc == MCP_AS_STORE_OK
                && strcmp(row[3], client->client_id) == 0) {
                rc = mcp_as_txn_exec(txn, "family_revoke", NULL, row[0], MCP_AS_END);
                if (rc == MCP_AS_STORE_OK) {
                    rc = mcp_as_txn_commit(txn);
                    if (rc == MCP_AS_STORE_OK) {
                        mcp_as_audit(r, "revoke", "type=refresh_token "
                                     "client=%s user=%s family=%s "
                                     "outcome=revoked", client->client_id,
                                     row[4], row[0]);
                    }
                }
                else {
                    mcp_as_txn_abort(txn);
                }
            }
            else {
                mcp_as_txn_abort(txn);
                if (rc == MCP_AS_STORE_NOTFOUND) {
                    rc = MCP_AS_STORE_OK;
                }
            }
        }
    }
    if (rc == MCP_AS_STORE_UNAVAILABLE) {
        return mcp_as_unavailable(r);
    }
    /* RFC 7009 §2.2: 200 whether or not there was anything to revoke */
    r->status = HTTP_OK;
    ap_set_content_length(r, 0);
    return OK;
}
