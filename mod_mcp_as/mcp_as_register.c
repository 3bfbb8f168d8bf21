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

static int reg_error(request_rec *r, const char *error, const char *why)
{
    return mcp_reply_oauth_error(r, HTTP_BAD_REQUEST, error, why);
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
    const char *type, *method, *client_secret = NULL;
    mcp_as_register_result checked;
    json_t *client;
    char *body, *client_id, *stored;
    apr_size_t len;
    apr_time_t now = mcp_as_now();
    mcp_as_txn *txn;
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
    if (mcp_as_register_validate(r->pool, conf, body, len, &checked)
        != MCP_OK) {
        return reg_error(r, checked.error, checked.description);
    }
    client = checked.client;
    method = checked.method;

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
