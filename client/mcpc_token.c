/*
 * The token endpoint (RFC 6749 §3.2, OAuth 2.1 §3.2): the code exchange,
 * refresh, client credentials; client authentication as the registration
 * or the server's metadata says; the resource indicator (RFC 8707) on
 * every request.
 */
#include "config.h"

#include <string.h>
#include <apr_base64.h>
#include <apr_strings.h>
#include <apr_time.h>

#include "mcp_common.h"
#include "mcpc.h"

typedef struct {
    apr_pool_t *pool;
    char *body;
} form_t;

static int add_field(void *arg, const char *name, const char *value)
{
    form_t *form = arg;

    form->body = apr_pstrcat(form->pool, form->body, *form->body ? "&" : "",
                             mcp_url_encode(form->pool, name), "=",
                             mcp_url_encode(form->pool, value), NULL);
    return 1;
}

/* RFC 6749 §2.3.1: both parts form-urlencoded before base64 */
static const char *basic_header(apr_pool_t *pool, const char *id, const char *secret)
{
    const char *plain = apr_pstrcat(pool, mcp_url_encode(pool, id), ":",
                                    mcp_url_encode(pool, secret), NULL);
    int len = (int)strlen(plain);
    char *encoded = apr_palloc(pool, (apr_size_t)apr_base64_encode_len(len));

    apr_base64_encode(encoded, plain, len);
    return apr_pstrcat(pool, "Authorization: Basic ", encoded, NULL);
}

int mcpc_token_request(mcpc_t *c, const char *token_endpoint,
                       const json_t *as_metadata, mcpc_client_t *client,
                       apr_table_t *params, const char *resource,
                       const char *issuer, mcpc_token_t **out)
{
    apr_array_header_t *headers = apr_array_make(c->pool, 3, sizeof(const char *));
    const char *method = client->auth_method;
    const char *grant = apr_table_get(params, "grant_type");
    const char *access_token, *token_type;
    mcpc_response_t *response;
    json_t *reply, *expires_in;
    form_t form = { c->pool, apr_pstrdup(c->pool, "") };
    mcpc_token_t *token;

    if (method == NULL) {
        method = mcpc_auth_method(as_metadata, client->client_secret != NULL);
    }
    if (resource != NULL) {
        apr_table_setn(params, "resource", resource);
    }
    if (strcmp(method, "private_key_jwt") == 0 && c->client_key != NULL) {
        char *assertion;
        if (mcpc_client_assertion(c, client->client_id, issuer, &assertion) != MCP_OK) {
            return MCP_ERROR;
        }
        apr_table_setn(params, "client_id", client->client_id);
        apr_table_setn(params, "client_assertion_type",
                       "urn:ietf:params:oauth:client-assertion-type:jwt-bearer");
        apr_table_setn(params, "client_assertion", assertion);
    }
    else if (strcmp(method, "client_secret_basic") == 0 && client->client_secret != NULL) {
        APR_ARRAY_PUSH(headers, const char *) =
            basic_header(c->pool, client->client_id, client->client_secret);
    }
    else if (strcmp(method, "client_secret_post") == 0 && client->client_secret != NULL) {
        apr_table_setn(params, "client_id", client->client_id);
        apr_table_setn(params, "client_secret", client->client_secret);
    }
    else {
        /* a public client identifies itself in the body (RFC 6749 §3.2.1) */
        method = "none";
        apr_table_setn(params, "client_id", client->client_id);
    }
    apr_table_do(add_field, &form, params, NULL);
    APR_ARRAY_PUSH(headers, const char *) = "Content-Type: application/x-www-form-urlencoded";
    APR_ARRAY_PUSH(headers, const char *) = "Accept: application/json";
    mcpc_trace(c, "token request (%s) to %s, client auth %s", grant, token_endpoint, method);
    if (mcpc_http_request(c, "POST", token_endpoint, headers, form.body,
                          strlen(form.body), NULL, NULL, &response) != MCP_OK) {
        return MCP_ERROR;
    }
    if (response->status != 200) {
        json_t *error_reply = NULL;
        const char *ignored, *error = NULL, *description = NULL;
        if (mcp_json_parse_object(c->pool, response->body, response->body_len,
                                  &error_reply, &ignored) == MCP_OK) {
            error = mcp_json_string(error_reply, "error");
            description = mcp_json_string(error_reply, "error_description");
        }
        return mcpc_fail(c, MCPC_EXIT_AUTH, "the token endpoint %s refused the %s grant "
                         "(%ld%s%s%s%s)", token_endpoint, grant, response->status,
                         error ? ", " : "", error ? mcp_printable(c->pool, error, 100) : "",
                         description ? ": " : "",
                         description ? mcp_printable(c->pool, description, 300) : "");
    }
    if (mcpc_json_reply(c, response, "the token reply", &reply) != MCP_OK) {
        return MCP_ERROR;
    }
    access_token = mcp_json_string(reply, "access_token");
    token_type = mcp_json_string(reply, "token_type");
    if (access_token == NULL || *access_token == '\0') {
        return mcpc_fail(c, MCPC_EXIT_PROTOCOL, "the token reply of %s has no access_token",
                         token_endpoint);
    }
    /* RFC 6750: only bearer tokens are something this client can present */
    if (token_type == NULL || strcasecmp(token_type, "Bearer") != 0) {
        return mcpc_fail(c, MCPC_EXIT_PROTOCOL, "the token reply of %s has token_type %s; "
                         "mcp-client only uses Bearer tokens", token_endpoint,
                         token_type ? mcp_printable(c->pool, token_type, 50) : "(none)");
    }
    token = apr_pcalloc(c->pool, sizeof(*token));
    token->access_token = apr_pstrdup(c->pool, access_token);
    if (mcp_json_string(reply, "refresh_token") != NULL) {
        token->refresh_token = apr_pstrdup(c->pool, mcp_json_string(reply, "refresh_token"));
    }
    if (mcp_json_string(reply, "scope") != NULL) {
        token->scope = apr_pstrdup(c->pool, mcp_json_string(reply, "scope"));
    }
    expires_in = json_object_get(reply, "expires_in");
    if (json_is_integer(expires_in) && json_integer_value(expires_in) > 0) {
        token->expires_at = apr_time_sec(apr_time_now()) + (apr_int64_t)json_integer_value(expires_in);
    }
    token->resource = resource;
    token->issuer = issuer;
    token->token_endpoint = token_endpoint;
    mcpc_trace(c, "access token %s%s%s, expires in %s s", mcpc_secret_label(c, token->access_token),
               token->scope ? ", scope " : "", token->scope ? token->scope : "",
               json_is_integer(expires_in)
               ? apr_psprintf(c->pool, "%" APR_INT64_T_FMT, (apr_int64_t)json_integer_value(expires_in))
               : "?");
    *out = token;
    return MCP_OK;
}

/* Refreshes c->token; the caller holds the store lock. */
static int refresh_locked(mcpc_t *c)
{
    mcpc_token_t *old = c->token, *fresh, *current;
    mcpc_client_t *client;
    apr_table_t *params;
    int status;

    if (old == NULL || old->refresh_token == NULL || old->token_endpoint == NULL
        || old->issuer == NULL) {
        return MCP_ERROR;
    }
    /* another run may have refreshed it while we waited for the lock: its
     * new tokens are the ones to use, and our refresh token is spent */
    current = mcpc_store_reread_token(c, old->resource, old->issuer);
    if (current != NULL && strcmp(current->access_token, old->access_token) != 0) {
        mcpc_trace(c, "another mcp-client run has renewed the token; using its token");
        c->token = current;
        if (current->expires_at == 0
            || apr_time_sec(apr_time_now()) + 30 < current->expires_at
            || current->refresh_token == NULL) {
            return MCP_OK;
        }
        old = current;
    }
    if (c->client_id != NULL) {
        client = apr_pcalloc(c->pool, sizeof(*client));
        client->client_id = c->client_id;
        client->client_secret = c->client_secret;
        client->auth_method = c->client_key != NULL ? "private_key_jwt" : NULL;
    }
    else if ((client = mcpc_store_find_client(c, old->issuer)) == NULL) {
        return MCP_ERROR;
    }
    params = apr_table_make(c->pool, 4);
    apr_table_setn(params, "grant_type", "refresh_token");
    apr_table_setn(params, "refresh_token", old->refresh_token);
    if (old->scope != NULL) {
        apr_table_setn(params, "scope", old->scope);
    }
    c->quiet++;
    status = mcpc_token_request(c, old->token_endpoint, NULL, client, params,
                                old->resource, old->issuer, &fresh);
    c->quiet--;
    if (status != MCP_OK) {
        /* the refresh token is spent or revoked: forget it, authorize anew */
        mcpc_store_drop_token(c, old);
        c->token = NULL;
        mcpc_store_save(c);
        return MCP_ERROR;
    }
    /* mcpc_token_request()
     * sets fresh whenever it returns MCP_OK */
    /* NOLINTNEXTLINE(clang-analyzer-core.NullDereference) */
    if (fresh->refresh_token == NULL) {
        fresh->refresh_token = old->refresh_token;   /* RFC 6749 §6: the old one stays */
    }
    if (fresh->scope == NULL) {
        fresh->scope = old->scope;
    }
    mcpc_trace(c, "refreshed the access token for %s", old->resource);
    c->token = fresh;
    mcpc_store_put_token(c, fresh);
    return mcpc_store_save(c);
}

int mcpc_refresh(mcpc_t *c)
{
    int status;

    mcpc_store_lock(c);
    status = refresh_locked(c);
    mcpc_store_unlock(c);
    return status;
}
