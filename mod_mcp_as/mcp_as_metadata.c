/*
 * RFC 8414 authorization server metadata, served at the well-known URL of
 * the issuer (path-inserted when the issuer has a path, §3.1) whatever
 * <Location> the endpoints live in.
 */
#include <httpd.h>
#include <string.h>
#include <apr_strings.h>
#include <http_protocol.h>

#include "mcp_common.h"
#include "mcp_httpd.h"
#include "mcp_as.h"

static json_t *string_array(const char *const *values)
{
    json_t *array = json_array();

    for (; *values != NULL; values++) {
        json_array_append_new(array, json_string(*values));
    }
    return array;
}

int mcp_as_handle_metadata(request_rec *r, mcp_as_server_conf *conf)
{
    static const char *const response_types[] = { "code", NULL };
    static const char *const grant_types[] = {
        "authorization_code", "refresh_token", "client_credentials", NULL };
    static const char *const challenge_methods[] = { "S256", NULL };
    static const char *const auth_methods[] = {
        "none", "client_secret_basic", "client_secret_post", NULL };
    static const char *const secret_methods[] = {
        "client_secret_basic", "client_secret_post", NULL };
    static const char *const response_modes[] = { "query", NULL };
    json_t *body, *scopes;
    int i, reply;

    if (mcp_cors_get_only(r, "the metadata", &reply)) {
        return reply;
    }
    body = mcp_json_pool_own(r->pool, json_object());
    json_object_set_new(body, "issuer", json_string(conf->issuer));
    json_object_set_new(body, "authorization_endpoint",
        json_string(mcp_as_endpoint_url(r->pool, conf, "authorize")));
    json_object_set_new(body, "token_endpoint",
        json_string(mcp_as_endpoint_url(r->pool, conf, "token")));
    json_object_set_new(body, "jwks_uri",
        json_string(mcp_as_endpoint_url(r->pool, conf, "jwks")));
    if (conf->registration != MCP_AS_REGISTRATION_OFF) {
        json_object_set_new(body, "registration_endpoint",
            json_string(mcp_as_endpoint_url(r->pool, conf, "register")));
    }
    json_object_set_new(body, "revocation_endpoint",
        json_string(mcp_as_endpoint_url(r->pool, conf, "revoke")));
    json_object_set_new(body, "introspection_endpoint",
        json_string(mcp_as_endpoint_url(r->pool, conf, "introspect")));
    json_object_set_new(body, "response_types_supported",
                        string_array(response_types));
    json_object_set_new(body, "response_modes_supported",
                        string_array(response_modes));
    json_object_set_new(body, "grant_types_supported",
                        string_array(grant_types));
    json_object_set_new(body, "code_challenge_methods_supported",
                        string_array(challenge_methods));
    json_object_set_new(body, "token_endpoint_auth_methods_supported",
                        string_array(auth_methods));
    json_object_set_new(body, "revocation_endpoint_auth_methods_supported",
                        string_array(auth_methods));
    json_object_set_new(body, "introspection_endpoint_auth_methods_supported",
                        string_array(secret_methods));
    scopes = json_array();
    for (i = 0; i < conf->scopes->nelts; i++) {
        json_array_append_new(scopes,
            json_string(APR_ARRAY_IDX(conf->scopes, i, const char *)));
    }
    json_object_set_new(body, "scopes_supported", scopes);
    /* RFC 9207 §3 */
    json_object_set_new(body, "authorization_response_iss_parameter_supported",
                        json_true());
    json_object_set_new(body, "client_id_metadata_document_supported",
                        json_boolean(conf->cimd));
    apr_table_setn(r->headers_out, "Cache-Control", "public, max-age=300");
    return mcp_reply_json(r, HTTP_OK, body);
}
