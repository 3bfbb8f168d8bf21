/*
 * RFC 9068 JWT access tokens, signed with cjose by the first
 * MCPSigningKey; verification of our own tokens for revocation and
 * introspection.
 */
#include <httpd.h>
#include <string.h>
#include <apr_strings.h>
#include <http_log.h>

#include "mcp_common.h"
#include "mcp_as.h"

static apr_status_t jws_cleanup(void *data)
{
    cjose_jws_release(data);
    return APR_SUCCESS;
}

int mcp_as_jwt_issue(request_rec *r, mcp_as_server_conf *conf,
                     mcp_as_token_claims *claims, char **jwt)
{
    mcp_as_key *key = &APR_ARRAY_IDX(conf->keys, 0, mcp_as_key);
    json_t *payload;
    cjose_header_t *header;
    cjose_jws_t *jws;
    cjose_err err;
    const char *compact = NULL;
    char *jti, *text;

    if (mcp_random_b64url(r->pool, 16, &jti) != MCP_OK) {
        return MCP_ERROR;
    }
    claims->jti = jti;
    /* RFC 9068 §2.2 */
    payload = mcp_json_pool_own(r->pool, json_object());
    json_object_set_new(payload, "iss", json_string(conf->issuer));
    json_object_set_new(payload, "sub", json_string(claims->sub));
    json_object_set_new(payload, "aud", json_string(claims->aud));
    json_object_set_new(payload, "client_id", json_string(claims->client_id));
    if (claims->scope != NULL && claims->scope[0] != '\0') {
        json_object_set_new(payload, "scope", json_string(claims->scope));
    }
    json_object_set_new(payload, "iat", json_integer(claims->iat));
    json_object_set_new(payload, "exp", json_integer(claims->exp));
    json_object_set_new(payload, "jti", json_string(jti));
    text = mcp_json_dump(r->pool, payload);
    if (text == NULL) {
        return MCP_ERROR;
    }
    header = cjose_header_new(&err);
    if (header == NULL) {
        return MCP_ERROR;
    }
    if (!cjose_header_set(header, CJOSE_HDR_ALG, key->alg, &err)
        || !cjose_header_set(header, "typ", "at+jwt", &err)
        || !cjose_header_set(header, CJOSE_HDR_KID, key->effective_kid, &err)) {
        cjose_header_release(header);
        return MCP_ERROR;
    }
    jws = cjose_jws_sign(key->jwk, header, (const uint8_t *)text, strlen(text),
                         &err);
    cjose_header_release(header);
    if (jws == NULL) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, APLOGNO(30040)
                      "cannot sign an access token: %s", err.message);
        return MCP_ERROR;
    }
    apr_pool_cleanup_register(r->pool, jws, jws_cleanup, apr_pool_cleanup_null);
    if (!cjose_jws_export(jws, &compact, &err) || compact == NULL) {
        return MCP_ERROR;
    }
    *jwt = apr_pstrdup(r->pool, compact);
    return MCP_OK;
}

/*
 * cjose's base64url decoder ignores trailing garbage, so a token with a
 * character appended to its signature would still verify: decode every
 * segment strictly first (one byte string, one encoding), and require an
 * ES256 signature of exactly 64 bytes.
 */
static int strict_segments(request_rec *r, const char *jwt)
{
    const char *start = jwt, *dot;
    unsigned char *raw;
    apr_size_t raw_len = 0;
    int i;

    for (i = 0; i < 3; i++) {
        dot = strchr(start, '.');
        if ((i < 2) != (dot != NULL)) {
            return MCP_ERROR;
        }
        if (i == 2) {
            dot = start + strlen(start);
        }
        if (dot == start
            || mcp_b64url_decode(r->pool, start, (apr_size_t)(dot - start),
                                 &raw, &raw_len) != MCP_OK) {
            return MCP_ERROR;
        }
        start = dot + 1;
    }
    /* the last segment decoded is the signature */
    return raw_len == 64 || raw_len >= 256 ? MCP_OK : MCP_ERROR;
}

int mcp_as_jwt_verify(request_rec *r, mcp_as_server_conf *conf,
                      const char *jwt, json_t **claims)
{
    cjose_jws_t *jws;
    cjose_header_t *header;
    cjose_err err;
    const char *kid, *alg, *typ, *error = NULL;
    uint8_t *plain = NULL;
    size_t plain_len = 0;
    mcp_as_key *key = NULL;
    json_t *payload;
    int i;

    if (jwt == NULL || strlen(jwt) > 8192 || strict_segments(r, jwt) != MCP_OK) {
        return MCP_ERROR;
    }
    jws = cjose_jws_import(jwt, strlen(jwt), &err);
    if (jws == NULL) {
        return MCP_ERROR;
    }
    apr_pool_cleanup_register(r->pool, jws, jws_cleanup, apr_pool_cleanup_null);
    header = cjose_jws_get_protected(jws);
    kid = header ? cjose_header_get(header, CJOSE_HDR_KID, &err) : NULL;
    alg = header ? cjose_header_get(header, CJOSE_HDR_ALG, &err) : NULL;
    typ = header ? cjose_header_get(header, "typ", &err) : NULL;
    if (kid == NULL || alg == NULL || typ == NULL
        || strcasecmp(typ, "at+jwt") != 0) {
        return MCP_ERROR;
    }
    for (i = 0; i < conf->keys->nelts; i++) {
        mcp_as_key *candidate = &APR_ARRAY_IDX(conf->keys, i, mcp_as_key);
        if (strcmp(candidate->effective_kid, kid) == 0) {
            key = candidate;
            break;
        }
    }
    /* RFC 8725 §3.1: the algorithm is the key's, never the token's choice */
    if (key == NULL || strcmp(key->alg, alg) != 0
        || (strcmp(alg, "ES256") == 0 && strlen(strrchr(jwt, '.') + 1) != 86)
        || !cjose_jws_verify(jws, key->jwk, &err)
        || !cjose_jws_get_plaintext(jws, &plain, &plain_len, &err)) {
        return MCP_ERROR;
    }
    if (mcp_json_parse_object(r->pool, (const char *)plain, plain_len,
                              &payload, &error) != MCP_OK) {
        return MCP_ERROR;
    }
    if (mcp_json_string(payload, "iss") == NULL
        || strcmp(mcp_json_string(payload, "iss"), conf->issuer) != 0
        || mcp_json_string(payload, "jti") == NULL
        || !json_is_integer(json_object_get(payload, "exp"))) {
        return MCP_ERROR;
    }
    *claims = payload;
    return MCP_OK;
}
