/*
 * Client identity, in the priority MCP 2025-11-25 gives it: pre-registered
 * credentials (--client-id), a Client ID Metadata Document URL when the
 * server supports them (--client-metadata-url), a registration remembered
 * for this authorization server, dynamic registration (RFC 7591).
 */
#include "config.h"

#include <string.h>
#include <apr_strings.h>

#include "mcp_common.h"
#include "mcpc.h"

const char *mcpc_auth_method(const json_t *as_metadata, int has_secret)
{
    const json_t *methods = json_object_get(as_metadata, "token_endpoint_auth_methods_supported");

    if (!has_secret) {
        return "none";
    }
    /* RFC 8414 §2: client_secret_basic when the server lists nothing */
    if (!json_is_array(methods) || mcpc_array_has(methods, "client_secret_basic")) {
        return "client_secret_basic";
    }
    if (mcpc_array_has(methods, "client_secret_post")) {
        return "client_secret_post";
    }
    return "client_secret_basic";
}

static int port_of(const char *uri)
{
    apr_uri_t parsed;
    apr_pool_t *pool;
    int port = 0;

    if (uri == NULL || apr_pool_create(&pool, NULL) != APR_SUCCESS) {
        return 0;
    }
    if (apr_uri_parse(pool, uri, &parsed) == APR_SUCCESS && parsed.port_str != NULL) {
        port = parsed.port;
    }
    apr_pool_destroy(pool);
    return port;
}

/* RFC 7591 §3.1 */
static int register_client(mcpc_t *c, mcpc_as_t *as, const char *redirect_uri,
                           mcpc_client_t **out)
{
    json_t *request = mcp_json_pool_own(c->pool, json_object()), *reply;
    const json_t *methods = json_object_get(as->metadata, "token_endpoint_auth_methods_supported");
    const char *method, *body, *client_id, *secret, *granted_method;
    apr_array_header_t *headers = apr_array_make(c->pool, 2, sizeof(const char *));
    mcpc_response_t *response;
    mcpc_client_t *client;

    /* a command-line tool cannot keep a secret safe: public client if allowed */
    if (!json_is_array(methods) || mcpc_array_has(methods, "none")) {
        method = "none";
    }
    else if (mcpc_array_has(methods, "client_secret_basic")) {
        method = "client_secret_basic";
    }
    else if (mcpc_array_has(methods, "client_secret_post")) {
        method = "client_secret_post";
    }
    else {
        return mcpc_fail(c, MCPC_EXIT_AUTH,
                         "the authorization server %s supports none of the token "
                         "endpoint authentication methods mcp-client has (none, "
                         "client_secret_basic, client_secret_post)", as->issuer);
    }
    json_object_set_new(request, "client_name", json_string("mcp-client"));
    json_object_set_new(request, "software_id", json_string("mod_mcp/mcp-client"));
    json_object_set_new(request, "software_version", json_string(PACKAGE_VERSION));
    json_object_set_new(request, "redirect_uris", json_pack("[s]", redirect_uri));
    json_object_set_new(request, "grant_types",
                        json_pack("[ss]", "authorization_code", "refresh_token"));
    json_object_set_new(request, "response_types", json_pack("[s]", "code"));
    json_object_set_new(request, "token_endpoint_auth_method", json_string(method));
    body = mcp_json_dump(c->pool, request);
    APR_ARRAY_PUSH(headers, const char *) = "Content-Type: application/json";
    APR_ARRAY_PUSH(headers, const char *) = "Accept: application/json";
    if (mcpc_http_request(c, "POST", as->registration_endpoint, headers, body,
                          strlen(body), NULL, NULL, &response) != MCP_OK) {
        return MCP_ERROR;
    }
    if (response->status != 201 && response->status != 200) {
        json_t *error_reply = NULL;
        const char *error = NULL, *description = NULL;
        const char *ignored;
        if (mcp_json_parse_object(c->pool, response->body, response->body_len,
                                  &error_reply, &ignored) == MCP_OK) {
            error = mcp_json_string(error_reply, "error");
            description = mcp_json_string(error_reply, "error_description");
        }
        return mcpc_fail(c, MCPC_EXIT_AUTH,
                         "dynamic registration at %s failed (%ld%s%s%s%s); give "
                         "--client-id of a client registered there instead",
                         as->registration_endpoint, response->status,
                         error ? ", " : "", error ? mcp_printable(c->pool, error, 100) : "",
                         description ? ": " : "",
                         description ? mcp_printable(c->pool, description, 300) : "");
    }
    if (mcpc_json_reply(c, response, "the registration reply", &reply) != MCP_OK) {
        return MCP_ERROR;
    }
    client_id = mcp_json_string(reply, "client_id");
    if (client_id == NULL || *client_id == '\0') {
        return mcpc_fail(c, MCPC_EXIT_PROTOCOL,
                         "the registration reply of %s has no client_id",
                         as->registration_endpoint);
    }
    secret = mcp_json_string(reply, "client_secret");
    granted_method = mcp_json_string(reply, "token_endpoint_auth_method");
    client = apr_pcalloc(c->pool, sizeof(*client));
    client->client_id = apr_pstrdup(c->pool, client_id);
    client->client_secret = secret ? apr_pstrdup(c->pool, secret) : NULL;
    /* RFC 7591 §3.2.1: the server may change what was asked for */
    if (granted_method != NULL) {
        client->auth_method = apr_pstrdup(c->pool, granted_method);
    }
    else {
        client->auth_method = secret ? mcpc_auth_method(as->metadata, 1) : "none";
    }
    client->redirect_uri = redirect_uri;
    client->source = "registered";
    mcpc_trace(c, "registered as client %s at %s (token endpoint auth: %s)",
               client->client_id, as->registration_endpoint, client->auth_method);
    mcpc_store_put_client(c, as->issuer, client);
    if (mcpc_store_save(c) != MCP_OK) {
        return MCP_ERROR;
    }
    *out = client;
    return MCP_OK;
}

int mcpc_client_identity(mcpc_t *c, mcpc_as_t *as, mcpc_client_t **out)
{
    int code_flow = strcmp(c->grant, "authorization_code") == 0;
    mcpc_client_t *client, *stored;
    const char *redirect_uri = NULL;

    if (c->client_id != NULL) {
        client = apr_pcalloc(c->pool, sizeof(*client));
        client->client_id = c->client_id;
        client->client_secret = c->client_secret;
        client->auth_method = c->client_key != NULL ? "private_key_jwt"
                              : mcpc_auth_method(as->metadata, c->client_secret != NULL);
        client->source = "pre-registered";
        if (code_flow && mcpc_redirect_uri(c, 0, &client->redirect_uri) != MCP_OK) {
            return MCP_ERROR;
        }
        mcpc_trace(c, "client %s (pre-registered, token endpoint auth: %s)",
                   client->client_id, client->auth_method);
        *out = client;
        return MCP_OK;
    }
    if (!code_flow) {
        return mcpc_fail(c, MCPC_EXIT_USAGE,
                         "--grant client_credentials needs --client-id and --client-secret");
    }
    if (c->client_metadata_url != NULL
        && json_is_true(json_object_get(as->metadata, "client_id_metadata_document_supported"))) {
        client = apr_pcalloc(c->pool, sizeof(*client));
        client->client_id = c->client_metadata_url;
        client->auth_method = "none";
        client->source = "metadata document";
        if (mcpc_redirect_uri(c, 0, &client->redirect_uri) != MCP_OK) {
            return MCP_ERROR;
        }
        mcpc_trace(c, "client %s (Client ID Metadata Document)", client->client_id);
        *out = client;
        return MCP_OK;
    }
    stored = mcpc_store_find_client(c, as->issuer);
    if (mcpc_redirect_uri(c, stored ? port_of(stored->redirect_uri) : 0,
                          &redirect_uri) != MCP_OK) {
        return MCP_ERROR;
    }
    if (stored != NULL
        && (stored->redirect_uri == NULL || strcmp(stored->redirect_uri, redirect_uri) == 0
            || as->registration_endpoint == NULL)) {
        stored->redirect_uri = redirect_uri;
        if (stored->auth_method == NULL) {
            stored->auth_method = mcpc_auth_method(as->metadata, stored->client_secret != NULL);
        }
        mcpc_trace(c, "client %s (registered earlier with %s)", stored->client_id, as->issuer);
        *out = stored;
        return MCP_OK;
    }
    if (as->registration_endpoint != NULL) {
        return register_client(c, as, redirect_uri, out);
    }
    return mcpc_fail(c, MCPC_EXIT_AUTH,
                     "the authorization server %s offers no dynamic client registration%s; "
                     "give --client-id (and --client-secret) of a client registered there",
                     as->issuer,
                     json_is_true(json_object_get(as->metadata, "client_id_metadata_document_supported"))
                     ? " but accepts Client ID Metadata Documents (--client-metadata-url)" : "");
}
