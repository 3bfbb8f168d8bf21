/*
 * JWT access-token validation for a request: the token cache, the issuer's
 * key set and introspection around the pure checks of mcp_rs_jwt.c.
 * Verified tokens are remembered (mcp_rs_cache.c) by the SHA-256 of the
 * token until they expire; the claims that depend on the location (iss,
 * aud, typ, alg) and exp are checked again on a hit.  So are tokens whose
 * signature failed, with the key it failed with: a replay is refused
 * without a verification while the key set offers the same key.
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

/* Keys for the token's issuer; *keyset is NULL on failure. */
static int get_keys(request_rec *r, const mcp_rs_dir_conf *conf,
                    const char *issuer, const mcp_rs_jwt *jwt,
                    mcp_rs_keyset **keyset, mcp_rs_failure *failure)
{
    const char *error;

    *keyset = NULL;
    if (mcp_rs_jwks_get(r, conf, issuer, jwt->kid, keyset, &error) != MCP_OK) {
        *keyset = NULL;
        failure->status = HTTP_UNAUTHORIZED;
        failure->error = "invalid_token";
        failure->description = apr_psprintf(r->pool,
            "no verification keys for this issuer: %s", error);
        return MCP_ERROR;
    }
    return MCP_OK;
}

/* The token's signature failed before with the very key the key set
 * still offers for it, and only that one. */
static int refused_before(request_rec *r, const char *cache_key,
                          const mcp_rs_jwt *jwt, const mcp_rs_keyset *keyset,
                          const struct evp_pkey_st *refused)
{
    if (refused == NULL
        || mcp_rs_jwt_only_key(jwt, mcp_rs_keyset_keys(keyset)) != refused) {
        return 0;
    }
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, APLOGNO(20025)
                  "mod_mcp_rs: token %.12s refused again without a "
                  "verification: its signature failed with the same key",
                  cache_key);
    return 1;
}

int mcp_rs_token_validate(request_rec *r, const mcp_rs_dir_conf *conf,
                          const char *token, mcp_rs_identity **identity,
                          mcp_rs_failure *failure)
{
    const char *cache_key;
    mcp_rs_keyset *keyset = NULL;
    mcp_rs_identity *id;
    mcp_rs_jwt *jwt;
    struct evp_pkey_st *refused;
    int rc;

    if (strlen(token) > MCP_RS_MAX_TOKEN_LEN) {
        failure->status = HTTP_UNAUTHORIZED;
        failure->error = "invalid_token";
        failure->description = apr_psprintf(r->pool,
            "the token is longer than %d bytes", MCP_RS_MAX_TOKEN_LEN);
        return MCP_ERROR;
    }
    cache_key = mcp_rs_cache_key(r->pool, token);
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
    /* a token refused before for its signature (mcp_rs_cache.c) */
    refused = mcp_rs_cache_refused(r, cache_key);
    if (mcp_rs_jwt_header(r->pool, conf, token, &jwt, failure) != MCP_OK) {
        return MCP_ERROR;
    }
    /* With one trusted issuer the key set is known before the claims are
     * read (a token naming another issuer is refused by its claims anyway):
     * a token naming a key that set does not have (a flood of made-up
     * kids) is refused without parsing its claims; bench/callgrind. */
    if (conf->issuers_set && conf->issuers->nelts == 1) {
        if (get_keys(r, conf, APR_ARRAY_IDX(conf->issuers, 0, const char *),
                     jwt, &keyset, failure) != MCP_OK) {
            return MCP_ERROR;
        }
        if (mcp_rs_jwt_candidates(jwt, mcp_rs_keyset_keys(keyset)) == 0) {
            mcp_rs_jwks_release(keyset);
            return mcp_rs_jwt_no_key(r->pool, jwt, failure);
        }
        if (refused_before(r, cache_key, jwt, keyset, refused)) {
            mcp_rs_jwks_release(keyset);
            return mcp_rs_jwt_bad_signature(failure);
        }
    }
    if (mcp_rs_jwt_claims(r->pool, conf, jwt, apr_time_sec(apr_time_now()),
                          failure) != MCP_OK
        || (keyset == NULL
            && get_keys(r, conf, jwt->identity->iss, jwt, &keyset,
                        failure) != MCP_OK)) {
        if (keyset != NULL) {
            mcp_rs_jwks_release(keyset);
        }
        return MCP_ERROR;
    }
    if (refused_before(r, cache_key, jwt, keyset, refused)) {
        rc = mcp_rs_jwt_bad_signature(failure);
    }
    else {
        rc = mcp_rs_jwt_verify(r->pool, jwt, mcp_rs_keyset_keys(keyset),
                               failure);
        if (rc == MCP_RS_BAD_SIGNATURE) {
            /* remembered only when one key fitted: the verdict is then a
             * function of the token's bytes and that key alone */
            mcp_rs_cache_put_refused(r, cache_key,
                mcp_rs_jwt_only_key(jwt, mcp_rs_keyset_keys(keyset)));
        }
    }
    mcp_rs_jwks_release(keyset);
    if (rc != MCP_OK) {
        return MCP_ERROR;
    }
    id = jwt->identity;
    mcp_rs_cache_put(r, cache_key, id, apr_time_from_sec(id->exp));
    *identity = id;
    return MCP_OK;
}
