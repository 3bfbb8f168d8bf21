/*
 * JWT access-token validation for a request: the token cache, the issuer's
 * key set and introspection around the pure checks of mcp_rs_jwt.c.
 * Verified tokens are remembered (mcp_rs_cache.c) by the SHA-256 of the
 * token until they expire; the claims that depend on the location (iss,
 * aud, typ, alg) and exp are checked again on a hit.
 */
#include <string.h>
#include <apr_strings.h>
#include <httpd.h>
#include <http_config.h>
#include <http_log.h>

#include "mcp_common.h"
#include "mcp_rs.h"

APLOG_USE_MODULE(mcp_rs);

int mcp_rs_identity_acceptable(request_rec *r, const mcp_rs_dir_conf *conf,
                               const mcp_rs_identity *identity,
                               mcp_rs_failure *failure)
{
    return mcp_rs_jwt_acceptable(r->pool, conf, identity,
                                 apr_time_sec(apr_time_now()), failure);
}

int mcp_rs_token_validate(request_rec *r, const mcp_rs_dir_conf *conf,
                          const char *token, mcp_rs_identity **identity,
                          mcp_rs_failure *failure)
{
    const char *kid = NULL, *error;
    const char *cache_key = mcp_rs_cache_key(r->pool, token);
    mcp_rs_keyset *keyset;
    mcp_rs_identity *id;
    int rc;

    if (strlen(token) > MCP_RS_MAX_TOKEN_LEN) {
        failure->status = HTTP_UNAUTHORIZED;
        failure->error = "invalid_token";
        failure->description = apr_psprintf(r->pool,
            "the token is longer than %d bytes", MCP_RS_MAX_TOKEN_LEN);
        return MCP_ERROR;
    }
    if (mcp_rs_cache_get(r, cache_key, &id)) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, APLOGNO(20024)
                      "mod_mcp_rs: token %.12s found in the token cache",
                      cache_key);
        if (mcp_rs_identity_acceptable(r, conf, id, failure) != MCP_OK) {
            return MCP_ERROR;
        }
        *identity = id;
        return MCP_OK;
    }
    if (!mcp_rs_jwt_shaped(token) && conf->introspection_set) {
        return mcp_rs_introspect(r, conf, token, identity, failure);
    }
    if (mcp_rs_jwt_parse(r->pool, conf, token, apr_time_sec(apr_time_now()),
                         &id, &kid, failure) != MCP_OK) {
        return MCP_ERROR;
    }
    if (mcp_rs_jwks_get(r, conf, id->iss, kid, &keyset, &error) != MCP_OK) {
        failure->status = HTTP_UNAUTHORIZED;
        failure->error = "invalid_token";
        failure->description = apr_psprintf(r->pool,
            "no verification keys for this issuer: %s", error);
        return MCP_ERROR;
    }
    rc = mcp_rs_jwt_verify(r->pool, token, id, kid,
                           mcp_rs_keyset_keys(keyset), failure);
    mcp_rs_jwks_release(keyset);
    if (rc != MCP_OK) {
        return MCP_ERROR;
    }
    mcp_rs_cache_put(r, cache_key, id, apr_time_from_sec(id->exp));
    *identity = id;
    return MCP_OK;
}
