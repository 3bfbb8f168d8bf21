/*
 * Opaque access tokens: RFC 7662 token introspection, for authorization
 * servers whose tokens are not JWTs.  The resource server authenticates
 * with HTTP Basic (RFC 7662 §2.1, RFC 6749 §2.3.1: the id and secret are
 * form-urlencoded first).  An active answer is remembered until the
 * token's exp, and never longer than MCPIntrospectionCache.  The answer
 * must name this resource in `aud` (MCP requires the audience check; an
 * introspection answer without one cannot show it).
 */
#include <string.h>
#include <apr_strings.h>
#include <httpd.h>
#include <http_config.h>
#include <http_log.h>

#include "mcp_common.h"
#include "mcp_rs.h"

APLOG_USE_MODULE(mcp_rs);

#define MAX_ANSWER_BYTES (64 * 1024)

static int fail(mcp_rs_failure *failure, int status, const char *description)
{
    failure->status = status;
    failure->error = status == HTTP_UNAUTHORIZED ? "invalid_token" : NULL;
    failure->description = description;
    return MCP_ERROR;
}

static int string_member(request_rec *r, json_t *answer, const char *name,
                         const char **out)
{
    json_t *value = json_object_get(answer, name);

    *out = NULL;
    if (value == NULL) {
        return MCP_OK;
    }
    if (!json_is_string(value)) {
        return MCP_ERROR;
    }
    *out = apr_pstrdup(r->pool, json_string_value(value));
    return MCP_OK;
}

int mcp_rs_introspect(request_rec *r, const mcp_rs_dir_conf *conf,
                      const char *token, mcp_rs_identity **identity,
                      mcp_rs_failure *failure)
{
    const mcp_rs_server_conf *sconf = mcp_rs_server(r->server);
    mcp_rs_http_request request;
    mcp_rs_identity *id;
    const char *error;
    json_t *answer, *active, *aud, *exp;
    char *body;
    apr_size_t len;
    long status = 0;
    apr_time_t until;

    request.url = conf->introspection_url;
    request.post_body = apr_pstrcat(r->pool, "token=",
                                    mcp_url_encode(r->pool, token),
                                    "&token_type_hint=access_token", NULL);
    request.user = mcp_url_encode(r->pool, conf->introspection_client_id);
    request.password = mcp_url_encode(r->pool, conf->introspection_secret);
    request.timeout_ms = sconf->jwks_timeout_ms;
    request.max_bytes = MAX_ANSWER_BYTES;
    if (mcp_rs_http_fetch(r->pool, &request, &status, &body, &len, &error) != MCP_OK
        || status != 200
        || mcp_json_parse_object(r->pool, body, len, &answer, &error) != MCP_OK) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, APLOGNO(20040)
                      "mod_mcp_rs: introspection at %s failed: %s",
                      conf->introspection_url,
                      status != 200 && status != 0
                      ? apr_psprintf(r->pool, "status %ld", status) : error);
        /* our trouble, not the client's: 503, and no challenge that would
         * send the client off for a new token */
        return fail(failure, HTTP_SERVICE_UNAVAILABLE,
                    "the token could not be introspected");
    }
    active = json_object_get(answer, "active");
    if (!json_is_true(active)) {
        return fail(failure, HTTP_UNAUTHORIZED, "the token is not active");
    }
    id = apr_pcalloc(r->pool, sizeof(*id));
    id->introspected = 1;
    id->aud = apr_array_make(r->pool, 2, sizeof(char *));
    aud = json_object_get(answer, "aud");
    if (json_is_string(aud)) {
        APR_ARRAY_PUSH(id->aud, const char *) =
            apr_pstrdup(r->pool, json_string_value(aud));
    }
    else if (json_is_array(aud)) {
        json_t *entry;
        size_t index;
        json_array_foreach(aud, index, entry) {
            if (json_is_string(entry)) {
                APR_ARRAY_PUSH(id->aud, const char *) =
                    apr_pstrdup(r->pool, json_string_value(entry));
            }
        }
    }
    exp = json_object_get(answer, "exp");
    if (exp != NULL && !json_is_number(exp)) {
        return fail(failure, HTTP_UNAUTHORIZED,
                    "the introspection answer's exp is not a number");
    }
    id->exp = exp ? (apr_time_t)json_number_value(exp) : 0;
    if (string_member(r, answer, "iss", &id->iss) != MCP_OK
        || string_member(r, answer, "sub", &id->sub) != MCP_OK
        || string_member(r, answer, "client_id", &id->client_id) != MCP_OK
        || string_member(r, answer, "scope", &id->scope) != MCP_OK
        || string_member(r, answer, "jti", &id->jti) != MCP_OK) {
        return fail(failure, HTTP_UNAUTHORIZED,
                    "the introspection answer has members of the wrong type");
    }
    if (mcp_rs_identity_acceptable(r, conf, id, failure) != MCP_OK) {
        return MCP_ERROR;
    }
    until = apr_time_now() + apr_time_from_sec(conf->introspection_cache);
    if (id->exp != 0 && apr_time_from_sec(id->exp) < until) {
        until = apr_time_from_sec(id->exp);
    }
    mcp_rs_cache_put(r, mcp_rs_cache_key(r->pool, token), id, until);
    *identity = id;
    return MCP_OK;
}
