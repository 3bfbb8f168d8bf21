/*
 * JWT access-token checks that need no request (RFC 9068, RFC 8725,
 * RFC 7519): pure functions of the token, the location's configuration,
 * a key set and the time, so that fuzz/fuzz_token.c can drive exactly the
 * code the resource server runs.  mcp_rs_token.c adds the request glue:
 * the token cache, key fetching and introspection.
 *
 * The token's syntax is checked here, strictly, before any signature
 * arithmetic: three base64url segments and nothing else, a header and
 * claims that are JSON objects without duplicate members, claims of the
 * right JSON types, an algorithm from the allowlist that agrees with the
 * key's type and curve.  Only then is the signature checked, with a key
 * chosen by `kid`, by OpenSSL (common/mcp_jws.c).  The header is checked
 * first and alone (mcp_rs_jwt_header) so that a token naming a key we do
 * not have can be refused before its claims are parsed.
 */
#include <string.h>
#include <apr_strings.h>

#include "mcp_common.h"
#include "mcp_jws.h"
#include "mcp_rs.h"

static int fail(mcp_rs_failure *failure, const char *description)
{
    failure->status = HTTP_UNAUTHORIZED;
    failure->error = "invalid_token";
    failure->description = description;
    return MCP_ERROR;
}

int mcp_rs_jwt_acceptable(apr_pool_t *pool, const mcp_rs_dir_conf *conf,
                          const mcp_rs_identity *identity, apr_time_t now,
                          mcp_rs_failure *failure)
{
    int i, audience_ok = 0;

    if (identity->iss != NULL || !identity->introspected) {
        if (identity->iss == NULL
            || (!mcp_rs_array_contains(conf->issuers, identity->iss)
                && !(identity->introspected && !conf->issuers_set))) {
            /* RFC 9068 §4: iss must exactly match a trusted issuer. */
            return fail(failure, apr_psprintf(pool,
                "the token's issuer '%s' is not trusted here",
                identity->iss ? mcp_printable(pool, identity->iss, 100) : ""));
        }
    }
    /* RFC 8707 / RFC 9068 §4 / MCP: the audience names this resource,
     * compared canonically (scheme and host case, trailing slash). */
    for (i = 0; i < identity->aud->nelts; i++) {
        const char *aud = APR_ARRAY_IDX(identity->aud, i, const char *);
        /* the usual case first: the very string MCPResource has */
        if (strcmp(aud, conf->resource) == 0
            || mcp_uri_same_resource(pool, conf->resource, aud)) {
            audience_ok = 1;
            break;
        }
    }
    if (!audience_ok) {
        return fail(failure, apr_psprintf(pool,
            "the token's audience does not include %s", conf->resource));
    }
    if (identity->exp != 0 && identity->exp + conf->clock_skew <= now) {
        return fail(failure, "the token has expired");
    }
    if (!identity->introspected) {
        if (conf->require_typ && !identity->typ_at_jwt) {
            return fail(failure, "the token's typ is not at+jwt (RFC 9068 "
                        "section 2.1)");
        }
        /* RFC 9068 §2.2: sub is required in the profile MCPRequireTyp
         * enforces; relaxed for foreign issuers (client_id stands in). */
        if (conf->require_typ && identity->sub == NULL) {
            return fail(failure, "the token has no sub claim (RFC 9068 "
                        "section 2.2)");
        }
        if (!mcp_rs_array_contains(conf->algorithms, identity->alg)) {
            return fail(failure, apr_psprintf(pool,
                "algorithm %s is not accepted here", identity->alg));
        }
    }
    return MCP_OK;
}

/* Decodes one base64url segment and parses it as a JSON object. */
static int decode_object(apr_pool_t *pool, const char *segment, apr_size_t len,
                         const char *what, json_t **out,
                         mcp_rs_failure *failure)
{
    unsigned char *bytes;
    apr_size_t bytes_len;
    const char *error;

    if (len == 0 || mcp_b64url_decode(pool, segment, len, &bytes,
                                      &bytes_len) != MCP_OK) {
        return fail(failure, apr_psprintf(pool,
            "the token's %s is not base64url", what));
    }
    if (mcp_json_parse_object(pool, (const char *)bytes, bytes_len, out,
                              &error) != MCP_OK) {
        return fail(failure, apr_psprintf(pool,
            "the token's %s is not a JSON object without duplicate members: %s",
            what, error));
    }
    return MCP_OK;
}

/* The key type and curve the algorithm needs (RFC 7518 §3.1, §3.4). */
static int key_fits(const mcp_key_t *key, const char *alg)
{
    if (key->alg != NULL && strcmp(key->alg, alg) != 0) {
        return 0;
    }
    if (alg[0] == 'R' || alg[0] == 'P') {
        return strcmp(key->kty, "RSA") == 0;
    }
    if (strcmp(key->kty, "EC") != 0 || key->crv == NULL) {
        return 0;
    }
    return (strcmp(alg, "ES256") == 0 && strcmp(key->crv, "P-256") == 0)
        || (strcmp(alg, "ES384") == 0 && strcmp(key->crv, "P-384") == 0)
        || (strcmp(alg, "ES512") == 0 && strcmp(key->crv, "P-521") == 0);
}

/* A claim of the wrong JSON type makes the whole token unacceptable. */
static int optional_string(apr_pool_t *pool, json_t *claims, const char *name,
                           const char **out, mcp_rs_failure *failure)
{
    json_t *value = json_object_get(claims, name);

    *out = NULL;
    if (value == NULL) {
        return MCP_OK;
    }
    if (!json_is_string(value)) {
        return fail(failure, apr_psprintf(pool,
            "the token's %s claim is not a string", name));
    }
    *out = apr_pstrdup(pool, json_string_value(value));
    return MCP_OK;
}

static int optional_time(apr_pool_t *pool, json_t *claims, const char *name,
                         apr_time_t *out, mcp_rs_failure *failure)
{
    json_t *value = json_object_get(claims, name);

    *out = 0;
    if (value == NULL) {
        return MCP_OK;
    }
    /* RFC 7519 §2 NumericDate: a JSON number of seconds. */
    if (!json_is_number(value) || json_number_value(value) < 0
        || json_number_value(value) > 253402300799.0) {
        return fail(failure, apr_psprintf(pool,
            "the token's %s claim is not a NumericDate", name));
    }
    *out = (apr_time_t)json_number_value(value);
    return MCP_OK;
}

/* Appends copies of a JSON array's strings to `list`; MCP_ERROR when an
 * entry is not a string (the scp and aud claims). */
static int push_strings(apr_pool_t *pool, const json_t *array,
                        apr_array_header_t *list)
{
    const json_t *entry;
    size_t index;

    json_array_foreach(array, index, entry) {
        if (!json_is_string(entry)) {
            return MCP_ERROR;
        }
        APR_ARRAY_PUSH(list, const char *) =
            apr_pstrdup(pool, json_string_value(entry));
    }
    return MCP_OK;
}

/* RFC 9068 §2.2.3 scope (a string); scp (an array, or a string) as some
 * issuers send it. */
static int read_scope(apr_pool_t *pool, json_t *claims, const char **out,
                      mcp_rs_failure *failure)
{
    json_t *scope = json_object_get(claims, "scope");
    json_t *scp = json_object_get(claims, "scp");

    *out = NULL;
    if (scope != NULL) {
        return optional_string(pool, claims, "scope", out, failure);
    }
    if (scp == NULL) {
        return MCP_OK;
    }
    if (json_is_string(scp)) {
        *out = apr_pstrdup(pool, json_string_value(scp));
        return MCP_OK;
    }
    if (json_is_array(scp)) {
        apr_array_header_t *list = apr_array_make(pool, 4, sizeof(char *));
        if (push_strings(pool, scp, list) != MCP_OK) {
            return fail(failure, "the token's scp claim is not an array "
                        "of strings");
        }
        *out = apr_array_pstrcat(pool, list, ' ');
        return MCP_OK;
    }
    return fail(failure, "the token's scp claim is not an array of strings");
}

static int read_claims(apr_pool_t *pool, const mcp_rs_dir_conf *conf,
                       json_t *claims, apr_time_t now, mcp_rs_identity *id,
                       mcp_rs_failure *failure)
{
    json_t *aud = json_object_get(claims, "aud");
    apr_time_t nbf, iat;

    id->aud = apr_array_make(pool, 2, sizeof(char *));
    if (json_is_string(aud)) {
        APR_ARRAY_PUSH(id->aud, const char *) =
            apr_pstrdup(pool, json_string_value(aud));
    }
    else if (json_is_array(aud) && json_array_size(aud) > 0) {
        if (push_strings(pool, aud, id->aud) != MCP_OK) {
            return fail(failure, "the token's aud claim is not a string "
                        "or an array of strings");
        }
    }
    else if (aud == NULL) {
        return fail(failure, "the token has no aud claim");
    }
    else {
        return fail(failure, "the token's aud claim is not a string or an "
                    "array of strings");
    }
    if (optional_string(pool, claims, "iss", &id->iss, failure) != MCP_OK
        || optional_string(pool, claims, "sub", &id->sub, failure) != MCP_OK
        || optional_string(pool, claims, "client_id", &id->client_id, failure) != MCP_OK
        || optional_string(pool, claims, "jti", &id->jti, failure) != MCP_OK
        || read_scope(pool, claims, &id->scope, failure) != MCP_OK
        || optional_time(pool, claims, "exp", &id->exp, failure) != MCP_OK
        || optional_time(pool, claims, "nbf", &nbf, failure) != MCP_OK
        || optional_time(pool, claims, "iat", &iat, failure) != MCP_OK) {
        return MCP_ERROR;
    }
    if (id->iss == NULL) {
        return fail(failure, "the token has no iss claim");
    }
    if (json_object_get(claims, "exp") == NULL) {
        /* RFC 9068 §2.2: exp is required; a token must not live forever. */
        return fail(failure, "the token has no exp claim");
    }
    if (nbf != 0 && nbf > now + conf->clock_skew) {
        return fail(failure, "the token is not valid yet (nbf)");
    }
    if (iat != 0 && iat > now + conf->clock_skew) {
        return fail(failure, "the token was issued in the future (iat)");
    }
    return MCP_OK;
}

static int check_header(apr_pool_t *pool, const mcp_rs_dir_conf *conf,
                        json_t *header, mcp_rs_identity *id, const char **kid,
                        mcp_rs_failure *failure)
{
    static const char *const refused[] = { "jwk", "jku", "x5u", "x5c", "crit", NULL };
    json_t *typ = json_object_get(header, "typ");
    json_t *kid_value = json_object_get(header, "kid");
    const char *alg = mcp_json_string(header, "alg");
    int i;

    if (alg == NULL) {
        return fail(failure, "the token's header has no alg");
    }
    if (strcasecmp(alg, "none") == 0) {
        return fail(failure, "unsigned tokens (alg none) are never accepted");
    }
    if (!mcp_rs_array_contains(conf->algorithms, alg)) {
        return fail(failure, apr_psprintf(pool,
            "algorithm %s is not accepted here",
            mcp_printable(pool, alg, 20)));
    }
    for (i = 0; refused[i] != NULL; i++) {
        if (json_object_get(header, refused[i]) != NULL) {
            /* RFC 8725 §3.10 and DESIGN.md: keys come from our JWKS only;
             * and no extension we do not understand (RFC 7515 §4.1.11). */
            return fail(failure, apr_psprintf(pool,
                "the token's header has %s; keys and extensions named in a "
                "token are never used", refused[i]));
        }
    }
    if (typ != NULL && !json_is_string(typ)) {
        return fail(failure, "the token's typ is not a string");
    }
    /* RFC 9068 §2.1: "at+jwt", or the full media type (RFC 7515 §4.1.9);
     * media types compare case-insensitively. */
    id->typ_at_jwt = typ != NULL
        && (strcasecmp(json_string_value(typ), "at+jwt") == 0
            || strcasecmp(json_string_value(typ), "application/at+jwt") == 0);
    if (conf->require_typ && !id->typ_at_jwt) {
        return fail(failure, "the token's typ is not at+jwt (RFC 9068 "
                    "section 2.1)");
    }
    if (kid_value != NULL && !json_is_string(kid_value)) {
        return fail(failure, "the token's kid is not a string");
    }
    *kid = kid_value ? apr_pstrdup(pool, json_string_value(kid_value)) : NULL;
    id->alg = apr_pstrdup(pool, alg);
    return MCP_OK;
}

/* A key this token may be verified with: its kid (when the token names
 * one) and a type that fits the algorithm. */
static int key_matches(const mcp_key_t *key, const char *kid, const char *alg)
{
    return (kid == NULL || (key->kid != NULL && strcmp(key->kid, kid) == 0))
           && key_fits(key, alg);
}

int mcp_rs_jwt_candidates(const mcp_rs_jwt *jwt,
                          const apr_array_header_t *keys)
{
    int i, count = 0;

    for (i = 0; i < keys->nelts; i++) {
        count += key_matches(&APR_ARRAY_IDX(keys, i, mcp_key_t), jwt->kid,
                             jwt->identity->alg);
    }
    return count;
}

int mcp_rs_jwt_no_key(apr_pool_t *pool, const mcp_rs_jwt *jwt,
                      mcp_rs_failure *failure)
{
    return fail(failure, jwt->kid
        ? apr_psprintf(pool, "no %s key with kid '%s' in the issuer's key set",
                       jwt->identity->alg, mcp_printable(pool, jwt->kid, 64))
        : apr_psprintf(pool, "no %s key in the issuer's key set",
                       jwt->identity->alg));
}

/*
 * Verifies the signature with a fitting key of the issuer's key set:
 * OpenSSL's EVP on keys built when the set was read (common/mcp_jws.c),
 * over the signing input as sent (RFC 7515 §5.2), with the signature this
 * file already decoded, so that nothing parses the token a second time.
 */
int mcp_rs_jwt_verify(apr_pool_t *pool, const mcp_rs_jwt *jwt,
                      const apr_array_header_t *keys, mcp_rs_failure *failure)
{
    int i;

    if (mcp_rs_jwt_candidates(jwt, keys) == 0) {
        return mcp_rs_jwt_no_key(pool, jwt, failure);
    }
    for (i = 0; i < keys->nelts; i++) {
        const mcp_key_t *key = &APR_ARRAY_IDX(keys, i, mcp_key_t);
        if (key_matches(key, jwt->kid, jwt->identity->alg)) {
            int verified = mcp_jws_verify(key->pkey, jwt->identity->alg,
                                          (const unsigned char *)jwt->token,
                                          jwt->input_len, jwt->signature,
                                          jwt->signature_len);
            if (verified == 1) {
                return MCP_OK;
            }
            if (verified < 0) {
                /* no verdict: refused, but not as a bad signature (which
                 * mcp_rs_cache.c would remember) */
                return fail(failure, "the token's signature could not be "
                            "verified");
            }
        }
    }
    return mcp_rs_jwt_bad_signature(failure);
}

int mcp_rs_jwt_bad_signature(mcp_rs_failure *failure)
{
    fail(failure, "the token's signature does not verify");
    return MCP_RS_BAD_SIGNATURE;
}

EVP_PKEY *mcp_rs_jwt_only_key(const mcp_rs_jwt *jwt,
                              const apr_array_header_t *keys)
{
    EVP_PKEY *only = NULL;
    int i;

    for (i = 0; i < keys->nelts; i++) {
        const mcp_key_t *key = &APR_ARRAY_IDX(keys, i, mcp_key_t);
        if (key_matches(key, jwt->kid, jwt->identity->alg)) {
            if (only != NULL) {
                return NULL;
            }
            only = key->pkey;
        }
    }
    return only;
}

int mcp_rs_jwt_shaped(const char *token)
{
    const char *first = strchr(token, '.');
    const char *second = first ? strchr(first + 1, '.') : NULL;

    return second != NULL && strchr(second + 1, '.') == NULL;
}

int mcp_rs_jwt_header(apr_pool_t *pool, const mcp_rs_dir_conf *conf,
                      const char *token, mcp_rs_jwt **out,
                      mcp_rs_failure *failure)
{
    const char *first, *second;
    json_t *header;
    unsigned char *signature;
    mcp_rs_jwt *jwt;

    if (strlen(token) > MCP_RS_MAX_TOKEN_LEN) {
        return fail(failure, apr_psprintf(pool,
            "the token is longer than %d bytes", MCP_RS_MAX_TOKEN_LEN));
    }
    if (!mcp_rs_jwt_shaped(token)) {
        return fail(failure, "the token is not a JWT (three base64url "
                    "segments separated by dots)");
    }
    first = strchr(token, '.');
    second = strchr(first + 1, '.');
    jwt = apr_pcalloc(pool, sizeof(*jwt));
    jwt->token = token;
    jwt->input_len = (apr_size_t)(second - token);
    jwt->claims = first + 1;
    jwt->claims_len = (apr_size_t)(second - first - 1);
    jwt->identity = apr_pcalloc(pool, sizeof(*jwt->identity));
    if (decode_object(pool, token, (apr_size_t)(first - token), "header",
                      &header, failure) != MCP_OK
        || check_header(pool, conf, header, jwt->identity, &jwt->kid,
                        failure) != MCP_OK) {
        return MCP_ERROR;
    }
    if (second[1] == '\0'
        || mcp_b64url_decode(pool, second + 1, strlen(second + 1),
                             &signature, &jwt->signature_len) != MCP_OK) {
        return fail(failure, "the token's signature is missing or not base64url");
    }
    jwt->signature = signature;
    *out = jwt;
    return MCP_OK;
}

int mcp_rs_jwt_claims(apr_pool_t *pool, const mcp_rs_dir_conf *conf,
                      mcp_rs_jwt *jwt, apr_time_t now, mcp_rs_failure *failure)
{
    json_t *claims;

    if (decode_object(pool, jwt->claims, jwt->claims_len, "claims", &claims,
                      failure) != MCP_OK
        || read_claims(pool, conf, claims, now, jwt->identity,
                       failure) != MCP_OK
        || mcp_rs_jwt_acceptable(pool, conf, jwt->identity, now,
                                 failure) != MCP_OK) {
        return MCP_ERROR;
    }
    return MCP_OK;
}

int mcp_rs_jwt_check(apr_pool_t *pool, const mcp_rs_dir_conf *conf,
                     const char *token, const apr_array_header_t *keys,
                     apr_time_t now, mcp_rs_identity **identity,
                     mcp_rs_failure *failure)
{
    mcp_rs_jwt *jwt;

    if (mcp_rs_jwt_header(pool, conf, token, &jwt, failure) != MCP_OK
        || mcp_rs_jwt_claims(pool, conf, jwt, now, failure) != MCP_OK
        || mcp_rs_jwt_verify(pool, jwt, keys, failure) != MCP_OK) {
        return MCP_ERROR;
    }
    *identity = jwt->identity;
    return MCP_OK;
}

/* Used by the configuration too; here so that this file links alone. */
int mcp_rs_array_contains(const apr_array_header_t *array, const char *value)
{
    int i;

    for (i = 0; array != NULL && i < array->nelts; i++) {
        if (strcmp(APR_ARRAY_IDX(array, i, const char *), value) == 0) {
            return 1;
        }
    }
    return 0;
}
