/*
 * private_key_jwt client authentication (RFC 7523 §2.2, OpenID Connect
 * Core §9): a short-lived JWT signed with the client's own key, for agents
 * that authenticate without a shared secret (--client-key FILE).
 */
#include "config.h"

#include <string.h>
#include <time.h>
#include <apr_strings.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "mcp_common.h"
#include "mcpc.h"

/* JWS signature of `input`: raw r||s for ECDSA (RFC 7518 §3.4), PKCS#1 v1.5 for RSA. */
static int sign(apr_pool_t *pool, EVP_PKEY *pkey, const EVP_MD *md, int ec_size,
                const char *input, char **out)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char *der = NULL, *raw;
    size_t der_len = 0;
    int status = MCP_ERROR;

    if (ctx == NULL
        || EVP_DigestSignInit(ctx, NULL, md, NULL, pkey) != 1
        || EVP_DigestSign(ctx, NULL, &der_len, (const unsigned char *)input, strlen(input)) != 1
        || (der = OPENSSL_malloc(der_len)) == NULL
        || EVP_DigestSign(ctx, der, &der_len, (const unsigned char *)input, strlen(input)) != 1) {
        goto done;
    }
    if (ec_size == 0) {
        *out = mcp_b64url_encode(pool, der, der_len);
        status = MCP_OK;
    }
    else {
        const unsigned char *p = der;
        ECDSA_SIG *signature = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
        const BIGNUM *r, *s;
        if (signature == NULL) {
            goto done;
        }
        ECDSA_SIG_get0(signature, &r, &s);
        raw = apr_palloc(pool, (apr_size_t)ec_size * 2);
        if (BN_bn2binpad(r, raw, ec_size) == ec_size
            && BN_bn2binpad(s, raw + ec_size, ec_size) == ec_size) {
            *out = mcp_b64url_encode(pool, raw, (apr_size_t)ec_size * 2);
            status = MCP_OK;
        }
        ECDSA_SIG_free(signature);
    }
done:
    OPENSSL_free(der);
    EVP_MD_CTX_free(ctx);
    return status;
}

int mcpc_client_assertion(mcpc_t *c, const char *client_id, const char *audience,
                          char **assertion)
{
    BIO *bio = BIO_new_file(c->client_key, "r");
    EVP_PKEY *pkey = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
    const char *alg = NULL;
    const EVP_MD *md = NULL;
    int ec_size = 0, status;
    json_t *header, *claims;
    char *jti, *input, *signature;
    time_t now = time(NULL);

    BIO_free(bio);
    if (pkey == NULL) {
        return mcpc_fail(c, MCPC_EXIT_USAGE, "--client-key %s: not a readable PEM private key",
                         c->client_key);
    }
    switch (EVP_PKEY_get_base_id(pkey)) {
    case EVP_PKEY_EC:
        switch (EVP_PKEY_get_bits(pkey)) {
        case 256: alg = "ES256"; md = EVP_sha256(); ec_size = 32; break;
        case 384: alg = "ES384"; md = EVP_sha384(); ec_size = 48; break;
        case 521: alg = "ES512"; md = EVP_sha512(); ec_size = 66; break;
        }
        break;
    case EVP_PKEY_RSA:
        if (EVP_PKEY_get_bits(pkey) >= 2048) {
            alg = "RS256";
            md = EVP_sha256();
        }
        break;
    }
    if (alg == NULL) {
        EVP_PKEY_free(pkey);
        return mcpc_fail(c, MCPC_EXIT_USAGE, "--client-key %s: expected an EC P-256, P-384 "
                         "or P-521 key, or an RSA key of 2048 bits or more", c->client_key);
    }
    if (mcp_random_b64url(c->pool, 16, &jti) != MCP_OK) {
        EVP_PKEY_free(pkey);
        return mcpc_fail(c, MCPC_EXIT_AUTH, "no randomness for a client assertion");
    }
    header = mcp_json_pool_own(c->pool, json_pack("{s:s, s:s}", "alg", alg, "typ", "JWT"));
    /* RFC 7523 §3: iss and sub are the client, aud the authorization server */
    claims = mcp_json_pool_own(c->pool, json_pack("{s:s, s:s, s:s, s:s, s:I, s:I}",
                               "iss", client_id, "sub", client_id, "aud", audience,
                               "jti", jti, "iat", (json_int_t)now, "exp", (json_int_t)now + 120));
    input = apr_pstrcat(c->pool,
                        mcp_b64url_encode(c->pool, (const unsigned char *)mcp_json_dump(c->pool, header),
                                          strlen(mcp_json_dump(c->pool, header))), ".",
                        mcp_b64url_encode(c->pool, (const unsigned char *)mcp_json_dump(c->pool, claims),
                                          strlen(mcp_json_dump(c->pool, claims))), NULL);
    status = sign(c->pool, pkey, md, ec_size, input, &signature);
    EVP_PKEY_free(pkey);
    if (status != MCP_OK) {
        return mcpc_fail(c, MCPC_EXIT_AUTH, "cannot sign a client assertion with %s",
                         c->client_key);
    }
    *assertion = apr_pstrcat(c->pool, input, ".", signature, NULL);
    mcpc_trace(c, "client assertion %s signed with %s (%s)", jti, c->client_key, alg);
    return MCP_OK;
}
