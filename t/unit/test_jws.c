/* Unit tests for common/mcp_jws.c: keys from JWK members, and signatures
 * made here with OpenSSL verified (or refused) the way mod_mcp_rs does. */
#include <string.h>
#include <apr_general.h>
#include <apr_strings.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/rsa.h>

#include "mcp_common.h"
#include "mcp_jws.h"
#include "tap.h"

static apr_pool_t *pool;
static const char input[] = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ0ZXN0In0";

static char *b64_bn(const BIGNUM *bn, int size)
{
    int len = size ? size : BN_num_bytes(bn);
    unsigned char *bytes = apr_palloc(pool, (apr_size_t)len);

    BN_bn2binpad(bn, bytes, len);
    return mcp_b64url_encode(pool, bytes, (apr_size_t)len);
}

/* The public JWK of a key pair made by OpenSSL. */
static json_t *public_jwk(EVP_PKEY *pair, const char *crv)
{
    json_t *jwk = mcp_json_pool_own(pool, json_object());
    BIGNUM *a = NULL, *b = NULL;

    if (crv == NULL) {
        EVP_PKEY_get_bn_param(pair, OSSL_PKEY_PARAM_RSA_N, &a);
        EVP_PKEY_get_bn_param(pair, OSSL_PKEY_PARAM_RSA_E, &b);
        json_object_set_new(jwk, "kty", json_string("RSA"));
        json_object_set_new(jwk, "n", json_string(b64_bn(a, 0)));
        json_object_set_new(jwk, "e", json_string(b64_bn(b, 0)));
    }
    else {
        int size = (EVP_PKEY_get_bits(pair) + 7) / 8;
        EVP_PKEY_get_bn_param(pair, OSSL_PKEY_PARAM_EC_PUB_X, &a);
        EVP_PKEY_get_bn_param(pair, OSSL_PKEY_PARAM_EC_PUB_Y, &b);
        json_object_set_new(jwk, "kty", json_string("EC"));
        json_object_set_new(jwk, "crv", json_string(crv));
        json_object_set_new(jwk, "x", json_string(b64_bn(a, size)));
        json_object_set_new(jwk, "y", json_string(b64_bn(b, size)));
    }
    BN_free(a);
    BN_free(b);
    return jwk;
}

/* A JWS signature over `input` (RFC 7518: R || S for ECDSA). */
static unsigned char *sign(EVP_PKEY *pair, const char *alg, apr_size_t *len)
{
    const EVP_MD *md = strstr(alg, "384") ? EVP_sha384()
                       : strstr(alg, "512") ? EVP_sha512() : EVP_sha256();
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx;
    unsigned char *der;
    size_t der_len = 0;

    EVP_DigestSignInit(ctx, &pctx, md, NULL, pair);
    if (alg[0] == 'P') {
        EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING);
        EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST);
    }
    EVP_DigestSign(ctx, NULL, &der_len, (const unsigned char *)input,
                   strlen(input));
    der = apr_palloc(pool, der_len);
    EVP_DigestSign(ctx, der, &der_len, (const unsigned char *)input,
                   strlen(input));
    EVP_MD_CTX_free(ctx);
    if (alg[0] == 'E') {
        const unsigned char *p = der;
        ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
        int size = (EVP_PKEY_get_bits(pair) + 7) / 8;
        unsigned char *raw = apr_palloc(pool, 2 * (apr_size_t)size);
        BN_bn2binpad(ECDSA_SIG_get0_r(sig), raw, size);
        BN_bn2binpad(ECDSA_SIG_get0_s(sig), raw + size, size);
        ECDSA_SIG_free(sig);
        *len = 2 * (apr_size_t)size;
        return raw;
    }
    *len = der_len;
    return der;
}

static int verify(EVP_PKEY *pkey, const char *alg, const unsigned char *sig,
                  apr_size_t len)
{
    return mcp_jws_verify(pkey, alg, (const unsigned char *)input,
                          strlen(input), sig, len);
}

static void test_ec(const char *crv, const char *group, const char *alg,
                    const char *other_alg)
{
    EVP_PKEY *pair = EVP_EC_gen(group);
    EVP_PKEY *pkey = mcp_jws_public_key(pool, public_jwk(pair, crv));
    unsigned char *sig;
    apr_size_t len;
    int i, all = 1;

    ok(pkey != NULL, "%s: public key from the JWK", crv);
    /* signatures whose R or S has leading zeros (1 in 256 each) are
     * encoded differently in DER: sign often enough to meet some */
    for (i = 0; i < 300; i++) {
        sig = sign(pair, alg, &len);
        all = all && 1 == verify(pkey, alg, sig, len);
    }
    ok(all, "%s: 300 signatures verify", alg);
    sig[len / 2] ^= 1;
    ok(0 == verify(pkey, alg, sig, len), "%s: a changed signature fails", alg);
    sig[len / 2] ^= 1;
    /* the key's verification context is used again after a failure */
    ok(1 == verify(pkey, alg, sig, len), "%s: verifies again after a failure", alg);
    ok(0 == verify(pkey, alg, sig, len - 1), "%s: a short signature fails", alg);
    ok(0 == verify(pkey, other_alg, sig, len), "%s: %s with this curve fails",
       alg, other_alg);
    ok(0 == verify(pkey, "RS256", sig, len), "%s: RS256 with an EC key fails", alg);
    memset(sig, 0, len);
    ok(0 == verify(pkey, alg, sig, len), "%s: R = S = 0 fails", alg);
    EVP_PKEY_free(pair);
}

static void test_rsa(void)
{
    EVP_PKEY *pair = EVP_RSA_gen(2048);
    EVP_PKEY *pkey = mcp_jws_public_key(pool, public_jwk(pair, NULL));
    const char *algs[] = { "RS256", "RS384", "RS512", "PS256", "PS384", "PS512" };
    unsigned char *sig;
    apr_size_t len;
    int i;

    ok(pkey != NULL, "RSA: public key from the JWK");
    for (i = 0; i < 6; i++) {
        sig = sign(pair, algs[i], &len);
        ok(1 == verify(pkey, algs[i], sig, len), "%s verifies", algs[i]);
        sig[10] ^= 1;
        ok(0 == verify(pkey, algs[i], sig, len), "%s: a changed signature fails",
           algs[i]);
    }
    sig = sign(pair, "RS256", &len);
    ok(0 == verify(pkey, "PS256", sig, len), "an RS256 signature is not PS256");
    ok(0 == verify(pkey, "ES256", sig, len), "ES256 with an RSA key fails");
    ok(0 == verify(pkey, "RS257", sig, len), "an unknown algorithm fails");
    ok(0 == verify(pkey, "none", sig, len), "none fails");
    ok(0 == verify(NULL, "RS256", sig, len), "no key fails");
    EVP_PKEY_free(pair);
}

static void test_bad_keys(void)
{
    json_t *jwk = mcp_json_pool_own(pool, json_object());

    json_object_set_new(jwk, "kty", json_string("EC"));
    json_object_set_new(jwk, "crv", json_string("P-256"));
    /* (1, 1) is not on P-256 */
    json_object_set_new(jwk, "x", json_string("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAE"));
    json_object_set_new(jwk, "y", json_string("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAE"));
    ok(mcp_jws_public_key(pool, jwk) == NULL, "a point off the curve is refused");
    json_object_set_new(jwk, "crv", json_string("P-999"));
    ok(mcp_jws_public_key(pool, jwk) == NULL, "an unknown curve is refused");
    json_object_set_new(jwk, "kty", json_string("oct"));
    ok(mcp_jws_public_key(pool, jwk) == NULL, "a symmetric key is refused");
}

int main(int argc, const char *const *argv)
{
    apr_app_initialize(&argc, &argv, NULL);
    apr_pool_create(&pool, NULL);
    test_ec("P-256", "P-256", "ES256", "ES384");
    test_ec("P-384", "P-384", "ES384", "ES256");
    test_ec("P-521", "P-521", "ES512", "ES256");
    test_rsa();
    test_bad_keys();
    /* the same after the digests are fetched once */
    mcp_jws_init(pool);
    test_ec("P-256", "P-256", "ES256", "ES512");
    test_rsa();
    apr_pool_destroy(pool);
    apr_terminate();
    return tap_done();
}
