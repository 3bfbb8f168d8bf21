/*
 * RFC 7662 token introspection, POST …/introspect: for confidential
 * clients (about their own tokens) and the MCPIntrospector resource
 * servers (about any).  Anything expired, revoked, unknown or not the
 * caller's is {"active":false} and nothing more (§2.2).
 */
#include <httpd.h>
#include <string.h>
#include <apr_strings.h>
#include <http_protocol.h>

#include "mcp_common.h"
#include "mcp_httpd.h"
#include "mcp_as.h"

static int may_see(mcp_as_server_conf *conf, mcp_as_client *caller,
                   const char *client_id)
{
    int i;

    if (client_id != NULL && strcmp(client_id, caller->client_id) == 0) {
        return 1;
    }
    for (i = 0; i < conf->introspectors->nelts; i++) {
        if (strcmp(APR_ARRAY_IDX(conf->introspectors, i, const char *),
                   caller->client_id) == 0) {
            return 1;
        }
    }
    return 0;
}

int mcp_as_handle_introspect(request_rec *r, mcp_as_server_conf *conf)
{
    static const char *const copied[] = {
        "scope", "client_id", "sub", "aud", "iss", "exp", "iat", "jti", NULL };
    apr_table_t *form;
    mcp_as_client *client;
    const char *token, *error, **row;
    json_t *body, *claims;
    mcp_as_txn *txn;
    int status, reply, rc;

    if (r->method_number != M_POST) {
        apr_table_setn(r->err_headers_out, "Allow", "POST");
        return mcp_reply_oauth_error(r, HTTP_METHOD_NOT_ALLOWED,
            "invalid_request", "the introspection endpoint takes POST only");
    }
    if (mcp_as_read_form(r, &form, &error, &status) != MCP_OK) {
        return mcp_reply_oauth_error(r, status, "invalid_request", error);
    }
    if (mcp_as_client_authenticate(r, conf, form, &client, &reply) != MCP_OK) {
        return reply;
    }
    if (client->secret_hash == NULL) {
        return mcp_reply_oauth_error(r, HTTP_UNAUTHORIZED, "invalid_client",
            "introspection is for confidential clients and resource servers");
    }
    token = apr_table_get(form, "token");
    if (token == NULL || token[0] == '\0') {
        return mcp_reply_oauth_error(r, HTTP_BAD_REQUEST, "invalid_request",
                                     "token is required");
    }
    body = mcp_json_pool_own(r->pool, json_object());
    json_object_set_new(body, "active", json_false());
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");

    if (mcp_as_jwt_verify(r, conf, token, &claims) == MCP_OK) {
        json_int_t exp = json_integer_value(json_object_get(claims, "exp"));
        if (exp > mcp_as_now()
            && may_see(conf, client, mcp_json_string(claims, "client_id"))) {
            rc = mcp_as_txn_begin(r, conf->store, 0, &txn);
            if (rc == MCP_AS_STORE_OK) {
                rc = mcp_as_txn_select1(txn, "jti_get", &row,
                                        mcp_json_string(claims, "jti"), MCP_AS_END);
                mcp_as_txn_abort(txn);
            }
            if (rc == MCP_AS_STORE_UNAVAILABLE) {
                return mcp_as_unavailable(r);
            }
            if (rc == MCP_AS_STORE_NOTFOUND) {
                json_object_set_new(body, "active", json_true());
                int i;
                for (i = 0; copied[i] != NULL; i++) {
                    json_t *value = json_object_get(claims, copied[i]);
                    if (value != NULL) {
                        json_object_set(body, copied[i], value);
                    }
                }
                json_object_set_new(body, "token_type", json_string("Bearer"));
            }
        }
    }
    else if (strlen(token) <= 256 && strchr(token, '.') == NULL) {
        rc = mcp_as_txn_begin(r, conf->store, 0, &txn);
        if (rc == MCP_AS_STORE_OK) {
            rc = mcp_as_txn_select1(txn, "refresh_get", &row,
                                    mcp_sha256_b64url(r->pool, token), MCP_AS_END);
            mcp_as_txn_abort(txn);
        }
        if (rc == MCP_AS_STORE_UNAVAILABLE) {
            return mcp_as_unavailable(r);
        }
        /* row: family_id, expires, used, client_id, sub, scope, resource, revoked */
        if (rc == MCP_AS_STORE_OK && strcmp(row[2], "0") == 0
            && strcmp(row[7], "0") == 0 && apr_atoi64(row[1]) > mcp_as_now()
            && may_see(conf, client, row[3])) {
            json_object_set_new(body, "active", json_true());
            json_object_set_new(body, "client_id", json_string(row[3]));
            json_object_set_new(body, "sub", json_string(row[4]));
            json_object_set_new(body, "scope", json_string(row[5]));
            json_object_set_new(body, "aud", json_string(row[6]));
            json_object_set_new(body, "iss", json_string(conf->issuer));
            json_object_set_new(body, "exp", json_integer(apr_atoi64(row[1])));
        }
    }
    return mcp_reply_json(r, HTTP_OK, body);
}
