/* JWK and JWKS handling on top of cjose, with keys owned by APR pools. */
#include <string.h>
#include <apr_strings.h>

#include "mcp_common.h"
#include "mcp_jws.h"

static apr_status_t jwk_cleanup(void *data)
{
    cjose_jwk_release((cjose_jwk_t *)data);
    return APR_SUCCESS;
}

cjose_jwk_t *mcp_jwk_pool_own(apr_pool_t *pool, cjose_jwk_t *jwk)
{
    if (jwk != NULL) {
        apr_pool_cleanup_register(pool, jwk, jwk_cleanup,
                                  apr_pool_cleanup_null);
    }
    return jwk;
}

/* The public half of `jwk` as a pool-owned JSON object. */
static json_t *jwk_public_object(apr_pool_t *pool, cjose_jwk_t *jwk)
{
    cjose_err err;
    char *text = cjose_jwk_to_json(jwk, false, &err);
    json_t *json;

    if (text == NULL) {
        return NULL;
    }
    json = json_loads(text, 0, NULL);
    cjose_get_dealloc()(text);
    return mcp_json_pool_own(pool, json);
}

/* Bytes of a strict base64url member of `entry`, or -1 if absent or malformed. */
static apr_ssize_t member_bytes(apr_pool_t *pool, const json_t *entry,
                                const char *name)
{
    const char *value = mcp_json_string(entry, name);
    unsigned char *decoded;
    apr_size_t decoded_len;

    if (value == NULL
        || mcp_b64url_decode(pool, value, strlen(value), &decoded,
                             &decoded_len) != MCP_OK) {
        return -1;
    }
    return (apr_ssize_t)decoded_len;
}

/*
 * The public members of a JWK that we accept, re-serialised from checked
 * values only: cjose's own decoder asserts (aborting the process) on some
 * malformed base64url, so it must never see text from the network as is.
 * RFC 7518 §6.2.1: EC coordinates are exactly the curve's size; §3.3: RSA
 * moduli of at least 2048 bits.
 */
static char *checked_public_jwk(apr_pool_t *pool, const json_t *entry,
                                const char *kty, const char *kid)
{
    json_t *clean = mcp_json_pool_own(pool, json_object());

    json_object_set_new(clean, "kty", json_string(kty));
    if (strcmp(kty, "EC") == 0) {
        const char *crv = mcp_json_string(entry, "crv");
        apr_ssize_t size;
        if (crv == NULL) {
            return NULL;
        }
        if (strcmp(crv, "P-256") == 0) size = 32;
        else if (strcmp(crv, "P-384") == 0) size = 48;
        else if (strcmp(crv, "P-521") == 0) size = 66;
        else return NULL;
        if (member_bytes(pool, entry, "x") != size
            || member_bytes(pool, entry, "y") != size) {
            return NULL;
        }
        json_object_set_new(clean, "crv", json_string(crv));
        json_object_set(clean, "x", json_object_get(entry, "x"));
        json_object_set(clean, "y", json_object_get(entry, "y"));
    }
    else {
        apr_ssize_t n_len = member_bytes(pool, entry, "n");
        apr_ssize_t e_len = member_bytes(pool, entry, "e");
        if (n_len < 256 || n_len > 1024 || e_len < 1 || e_len > 8) {
            return NULL;
        }
        json_object_set(clean, "n", json_object_get(entry, "n"));
        json_object_set(clean, "e", json_object_get(entry, "e"));
    }
    if (kid != NULL) {
        json_object_set_new(clean, "kid", json_string(kid));
    }
    return mcp_json_dump(pool, clean);
}

int mcp_jwks_parse(apr_pool_t *pool, const char *text, apr_size_t len,
                   apr_array_header_t **keys, const char **error)
{
    json_t *doc, *list, *entry;
    apr_array_header_t *result;
    size_t index;

    if (mcp_json_parse_object(pool, text, len, &doc, error) != MCP_OK) {
        return MCP_ERROR;
    }
    list = json_object_get(doc, "keys");
    if (!json_is_array(list)) {
        *error = "JWKS has no \"keys\" array";
        return MCP_ERROR;
    }
    result = apr_array_make(pool, (int)json_array_size(list) + 1,
                            sizeof(mcp_key_t));
    json_array_foreach(list, index, entry) {
        const char *kty, *use, *kid, *alg;
        char *entry_text;
        cjose_jwk_t *jwk;
        cjose_err err;
        mcp_key_t *key;

        if (!json_is_object(entry)) {
            continue;
        }
        kty = mcp_json_string(entry, "kty");
        use = mcp_json_string(entry, "use");
        kid = mcp_json_string(entry, "kid");
        alg = mcp_json_string(entry, "alg");
        /* Only signature keys we can verify with; a published private key
         * or a symmetric key is never used to verify anything. */
        if (kty == NULL || (strcmp(kty, "RSA") != 0 && strcmp(kty, "EC") != 0)
            || (use != NULL && strcmp(use, "sig") != 0)
            || json_object_get(entry, "d") != NULL
            || (json_object_get(entry, "kid") != NULL && kid == NULL)
            || (json_object_get(entry, "alg") != NULL && alg == NULL)) {
            continue;
        }
        entry_text = checked_public_jwk(pool, entry, kty, kid);
        if (entry_text == NULL) {
            continue;
        }
        jwk = cjose_jwk_import(entry_text, strlen(entry_text), &err);
        if (jwk == NULL) {
            continue;
        }
        key = apr_array_push(result);
        key->jwk = mcp_jwk_pool_own(pool, jwk);
        key->pkey = mcp_jws_public_key(pool, entry);
        if (key->pkey == NULL) {
            /* cjose took it, OpenSSL did not: a key we cannot verify with */
            apr_array_pop(result);
            continue;
        }
        key->kid = kid ? apr_pstrdup(pool, kid) : NULL;
        key->kty = strcmp(kty, "EC") == 0 ? "EC" : "RSA";
        key->crv = mcp_json_string(entry, "crv") && strcmp(kty, "EC") == 0
                   ? apr_pstrdup(pool, mcp_json_string(entry, "crv")) : NULL;
        key->alg = alg ? apr_pstrdup(pool, alg) : NULL;
        key->use = use ? apr_pstrdup(pool, use) : NULL;
    }
    *keys = result;
    return MCP_OK;
}

int mcp_jwk_thumbprint(apr_pool_t *pool, cjose_jwk_t *jwk, char **out)
{
    json_t *pub = jwk_public_object(pool, jwk);
    const char *kty;
    char *members;

    if (pub == NULL || (kty = mcp_json_string(pub, "kty")) == NULL) {
        return MCP_ERROR;
    }
    /* RFC 7638 §3.2: the required members only, in lexicographic order,
     * no whitespace.  base64url values need no JSON escaping. */
    if (strcmp(kty, "EC") == 0) {
        const char *crv = mcp_json_string(pub, "crv");
        const char *x = mcp_json_string(pub, "x");
        const char *y = mcp_json_string(pub, "y");
        if (!crv || !x || !y) {
            return MCP_ERROR;
        }
        members = apr_psprintf(pool,
            "{\"crv\":\"%s\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}",
            crv, x, y);
    }
    else if (strcmp(kty, "RSA") == 0) {
        const char *e = mcp_json_string(pub, "e");
        const char *n = mcp_json_string(pub, "n");
        if (!e || !n) {
            return MCP_ERROR;
        }
        members = apr_psprintf(pool,
            "{\"e\":\"%s\",\"kty\":\"RSA\",\"n\":\"%s\"}", e, n);
    }
    else {
        return MCP_ERROR;
    }
    *out = mcp_sha256_b64url(pool, members);
    return MCP_OK;
}

json_t *mcp_jwk_public_json(apr_pool_t *pool, cjose_jwk_t *jwk,
                            const char *kid, const char *alg)
{
    json_t *pub = jwk_public_object(pool, jwk);

    if (pub == NULL) {
        return NULL;
    }
    if (kid != NULL) {
        json_object_set_new(pub, "kid", json_string(kid));
    }
    if (alg != NULL) {
        json_object_set_new(pub, "alg", json_string(alg));
    }
    json_object_set_new(pub, "use", json_string("sig"));
    return pub;
}
