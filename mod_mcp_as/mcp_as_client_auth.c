/*
 * Clients: lookup (MCPClient, registered in the store, or a Client ID
 * Metadata Document) and authentication at the token, revocation and
 * introspection endpoints (RFC 6749 §2.3, OAuth 2.1 §2.4).
 */
#include <httpd.h>
#include <string.h>
#include <apr_base64.h>
#include <apr_strings.h>
#include <http_log.h>
#include <http_protocol.h>

#include "mcp_common.h"
#include "mcp_httpd.h"
#include "mcp_as.h"

static apr_array_header_t *json_strings(apr_pool_t *pool, json_t *array)
{
    apr_array_header_t *out = apr_array_make(pool, 4, sizeof(const char *));
    size_t i;

    if (!json_is_array(array)) {
        return out;
    }
    for (i = 0; i < json_array_size(array); i++) {
        const char *value = json_string_value(json_array_get(array, i));
        if (value != NULL) {
            APR_ARRAY_PUSH(out, const char *) = apr_pstrdup(pool, value);
        }
    }
    return out;
}

static int client_from_store(request_rec *r, const char *client_id,
                             const char *secret_hash, const char *metadata,
                             mcp_as_client **out)
{
    mcp_as_client *client = apr_pcalloc(r->pool, sizeof(*client));
    const char *error, *method;
    json_t *json;

    if (mcp_json_parse_object(r->pool, metadata, strlen(metadata), &json,
                              &error) != MCP_OK) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, APLOGNO(30070)
                      "stored metadata of client %s is not JSON: %s",
                      client_id, error);
        return MCP_AS_STORE_UNAVAILABLE;
    }
    client->client_id = apr_pstrdup(r->pool, client_id);
    client->secret_hash = secret_hash && secret_hash[0]
                        ? apr_pstrdup(r->pool, secret_hash) : NULL;
    client->metadata = json;
    method = mcp_json_string(json, "token_endpoint_auth_method");
    client->auth_method = method ? method : "client_secret_basic";
    client->redirect_uris = json_strings(r->pool,
                                         json_object_get(json, "redirect_uris"));
    client->grant_types = json_strings(r->pool,
                                       json_object_get(json, "grant_types"));
    client->scope = mcp_json_string(json, "scope");
    client->name = mcp_json_string(json, "client_name");
    *out = client;
    return MCP_AS_STORE_OK;
}

int mcp_as_client_find(request_rec *r, mcp_as_server_conf *conf,
                       const char *client_id, mcp_as_client **out)
{
    mcp_as_txn *txn;
    const char **row;
    int i, rc;

    if (client_id == NULL || client_id[0] == '\0' || strlen(client_id) > 2048) {
        return MCP_AS_STORE_NOTFOUND;
    }
    for (i = 0; i < conf->clients->nelts; i++) {
        mcp_as_static_client *configured =
            &APR_ARRAY_IDX(conf->clients, i, mcp_as_static_client);
        if (strcmp(configured->client_id, client_id) == 0) {
            mcp_as_client *client = apr_pcalloc(r->pool, sizeof(*client));
            client->client_id = configured->client_id;
            client->secret_hash = configured->secret_hash;
            client->auth_method = "client_secret_basic";
            client->redirect_uris = apr_array_make(r->pool, 1, sizeof(char *));
            client->grant_types = apr_array_make(r->pool, 1, sizeof(char *));
            APR_ARRAY_PUSH(client->grant_types, const char *) =
                "client_credentials";
            if (configured->scopes->nelts > 0) {
                int j;
                client->scope = "";
                for (j = 0; j < configured->scopes->nelts; j++) {
                    client->scope = apr_pstrcat(r->pool, client->scope,
                        j ? " " : "",
                        APR_ARRAY_IDX(configured->scopes, j, const char *),
                        NULL);
                }
            }
            client->name = configured->client_id;
            client->is_static = 1;
            *out = client;
            return MCP_AS_STORE_OK;
        }
    }
    if (mcp_as_cimd_is_url(client_id)) {
        const char *error = NULL;
        if (!conf->cimd) {
            return MCP_AS_STORE_NOTFOUND;
        }
        if (mcp_as_cimd_fetch(r, conf, client_id, out, &error) != MCP_OK) {
            ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, APLOGNO(30071)
                          "client metadata document %s refused: %s",
                          mcp_printable(r->pool, client_id, 256),
                          error ? error : "unknown error");
            apr_table_setn(r->notes, "mcp-as-cimd-error",
                           error ? error : "unknown error");
            return MCP_AS_STORE_NOTFOUND;
        }
        return MCP_AS_STORE_OK;
    }
    rc = mcp_as_txn_begin(r, conf->store, 0, &txn);
    if (rc != MCP_AS_STORE_OK) {
        return rc;
    }
    rc = mcp_as_txn_select1(txn, "client_get", &row, client_id, MCP_AS_END);
    if (rc != MCP_AS_STORE_OK) {
        mcp_as_txn_abort(txn);
        return rc;
    }
    rc = mcp_as_txn_commit(txn);
    if (rc != MCP_AS_STORE_OK) {
        return rc;
    }
    return client_from_store(r, row[0], row[1], row[2], out);
}

int mcp_as_client_has_grant(const mcp_as_client *client, const char *grant)
{
    int i;

    for (i = 0; i < client->grant_types->nelts; i++) {
        if (strcmp(APR_ARRAY_IDX(client->grant_types, i, const char *),
                   grant) == 0) {
            return 1;
        }
    }
    return 0;
}

/* RFC 6749 §2.3.1: Basic credentials are form-urlencoded, then base64. */
static int parse_basic(request_rec *r, const char *header, const char **id,
                       const char **secret)
{
    const char *encoded = header + 6;
    char *decoded, *colon;
    apr_table_t *parts;
    const char *error;
    int len;

    while (*encoded == ' ') {
        encoded++;
    }
    if (strlen(encoded) > 4096) {
        return MCP_ERROR;
    }
    decoded = apr_palloc(r->pool, apr_base64_decode_len(encoded) + 1);
    len = apr_base64_decode(decoded, encoded);
    if (len <= 0) {
        return MCP_ERROR;
    }
    decoded[len] = '\0';
    if ((int)strlen(decoded) != len || (colon = strchr(decoded, ':')) == NULL) {
        return MCP_ERROR;
    }
    *colon = '\0';
    /* decode both halves with the form decoder (a=ID&b=SECRET) */
    if (mcp_form_parse(r->pool,
            apr_pstrcat(r->pool, "i=", decoded, "&s=", colon + 1, NULL),
            strlen(decoded) + strlen(colon + 1) + 5, &parts, &error)
        != MCP_OK) {
        return MCP_ERROR;
    }
    *id = apr_table_get(parts, "i");
    *secret = apr_table_get(parts, "s");
    return (*id && **id && *secret) ? MCP_OK : MCP_ERROR;
}

static int invalid_client(request_rec *r, int basic, const char *description,
                          int *reply)
{
    /* RFC 6749 §5.2: 401 and the scheme the client tried */
    if (basic) {
        apr_table_setn(r->err_headers_out, "WWW-Authenticate",
                       "Basic realm=\"mcp-as\", charset=\"UTF-8\"");
    }
    *reply = mcp_reply_oauth_error(r, HTTP_UNAUTHORIZED, "invalid_client",
                                   description);
    return MCP_ERROR;
}

int mcp_as_client_authenticate(request_rec *r, mcp_as_server_conf *conf,
                               apr_table_t *form, mcp_as_client **out,
                               int *reply)
{
    const char *header = apr_table_get(r->headers_in, "Authorization");
    const char *form_id = apr_table_get(form, "client_id");
    const char *form_secret = apr_table_get(form, "client_secret");
    const char *id = NULL, *secret = NULL, *method;
    mcp_as_client *client;
    int basic = 0, rc;

    if (header != NULL && strncasecmp(header, "Basic ", 6) == 0) {
        basic = 1;
        if (parse_basic(r, header, &id, &secret) != MCP_OK) {
            return invalid_client(r, 1, "malformed Basic credentials", reply);
        }
        if (form_secret != NULL) {
            *reply = mcp_reply_oauth_error(r, HTTP_BAD_REQUEST,
                "invalid_request", "use one client authentication method, "
                "not both Basic and client_secret");
            return MCP_ERROR;
        }
        if (form_id != NULL && strcmp(form_id, id) != 0) {
            *reply = mcp_reply_oauth_error(r, HTTP_BAD_REQUEST,
                "invalid_request", "client_id does not match the Basic "
                "credentials");
            return MCP_ERROR;
        }
        method = "client_secret_basic";
    }
    else if (form_secret != NULL) {
        id = form_id;
        secret = form_secret;
        method = "client_secret_post";
        if (id == NULL) {
            return invalid_client(r, 0, "client_secret without client_id",
                                  reply);
        }
    }
    else if (form_id != NULL) {
        id = form_id;
        method = "none";
    }
    else {
        return invalid_client(r, 0, "client authentication is required "
                              "(client_id, or Basic credentials)", reply);
    }
    rc = mcp_as_client_find(r, conf, id, &client);
    if (rc == MCP_AS_STORE_UNAVAILABLE) {
        *reply = mcp_as_unavailable(r);
        return MCP_ERROR;
    }
    if (rc != MCP_AS_STORE_OK) {
        return invalid_client(r, basic, "unknown client", reply);
    }
    if (client->secret_hash == NULL) {
        if (strcmp(method, "none") != 0) {
            return invalid_client(r, basic, "this is a public client; it has "
                                  "no secret to present", reply);
        }
    }
    else {
        if (strcmp(method, "none") == 0) {
            return invalid_client(r, 0, "this client must authenticate with "
                                  "its secret", reply);
        }
        if (!mcp_secret_equal(mcp_sha256_b64url(r->pool, secret),
                              client->secret_hash)) {
            ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, APLOGNO(30072)
                          "client %s: wrong secret",
                          mcp_printable(r->pool, id, 128));
            return invalid_client(r, basic, "client authentication failed",
                                  reply);
        }
    }
    if (mcp_as_rate_limit(r, conf, client->client_id, 0, reply) != MCP_OK) {
        return MCP_ERROR;
    }
    *out = client;
    return MCP_OK;
}
