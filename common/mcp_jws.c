/*
 * JWS verification on OpenSSL EVP keys built once per key set (see
 * mcp_jws.h for why).  bench/callgrind: cjose's import of the token and of
 * the key data were a fifth of a never-seen token's instructions besides
 * the signature arithmetic itself.
 */
#include <stdlib.h>
#include <string.h>
#include <apr_thread_mutex.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/crypto.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>

#include "mcp_common.h"
#include "mcp_jws.h"

static apr_status_t free_pkey(void *data)
{
    EVP_PKEY_free(data);
    return APR_SUCCESS;
}

/* A base64url member already checked by mcp_jwk.c, decoded. */
static const unsigned char *member(apr_pool_t *pool, const json_t *jwk,
                                   const char *name, apr_size_t *len)
{
    const char *text = mcp_json_string(jwk, name);
    unsigned char *bytes;

    if (text == NULL
        || mcp_b64url_decode(pool, text, strlen(text), &bytes, len) != MCP_OK
        || *len == 0) {
        return NULL;
    }
    return bytes;
}

/*
 * Verification contexts kept per key: EVP_PKEY_CTX_new_from_pkey and
 * EVP_PKEY_verify_init look the algorithm up by name in OpenSSL's provider
 * store on every call (bench/callgrind: 28,000 instructions, 6 % of a
 * never-seen RS256 token).  A context initialised once is used again for
 * the next verification with the same parameters (EVP_PKEY_verify(3):
 * "can be called more than once on the same context"), one thread at a
 * time: idle contexts wait on a small stack under a mutex.  The stack
 * hangs off the key as OpenSSL ex_data and is emptied when the key's pool
 * is (before the key itself is freed).
 */
#define JWS_ALGS 9                      /* RS/PS/ES x 256/384/512 */
#define IDLE_CONTEXTS 8                 /* per key and algorithm */

typedef struct {
    apr_thread_mutex_t *lock;
    EVP_PKEY_CTX *idle[JWS_ALGS][IDLE_CONTEXTS];
    int count[JWS_ALGS];
    EVP_PKEY *pkey;
} verifier;

static int verifier_index = -1;
static CRYPTO_ONCE verifier_once = CRYPTO_ONCE_STATIC_INIT;

static void verifier_index_init(void)
{
    verifier_index = EVP_PKEY_get_ex_new_index(0, NULL, NULL, NULL, NULL);
}

static apr_status_t verifier_cleanup(void *data)
{
    verifier *contexts = data;
    int alg, i;

    /* the key may outlive its pool (mod_mcp_rs's refusal cache holds a
     * reference): it must not lead to freed memory */
    EVP_PKEY_set_ex_data(contexts->pkey, verifier_index, NULL);
    for (alg = 0; alg < JWS_ALGS; alg++) {
        for (i = 0; i < contexts->count[alg]; i++) {
            EVP_PKEY_CTX_free(contexts->idle[alg][i]);
        }
        contexts->count[alg] = 0;
    }
    free(contexts);
    return APR_SUCCESS;
}

/* After the key's own cleanup is registered: cleanups run last first. */
static void verifier_attach(apr_pool_t *pool, EVP_PKEY *pkey)
{
    verifier *contexts;

    if (!CRYPTO_THREAD_run_once(&verifier_once, verifier_index_init)
        || verifier_index < 0) {
        return;
    }
    /* malloc, not the pool: the idle contexts must stay reachable for
     * leak checkers, which do not look into an APR allocator's mmap'ed
     * blocks (fuzz/fuzz_token.c runs with LeakSanitizer) */
    contexts = calloc(1, sizeof(*contexts));
    if (contexts == NULL) {
        return;
    }
    contexts->pkey = pkey;
    if (apr_thread_mutex_create(&contexts->lock, APR_THREAD_MUTEX_DEFAULT,
                                pool) != APR_SUCCESS
        || EVP_PKEY_set_ex_data(pkey, verifier_index, contexts) != 1) {
        free(contexts);
        return;
    }
    apr_pool_cleanup_register(pool, contexts, verifier_cleanup,
                              apr_pool_cleanup_null);
}

EVP_PKEY *mcp_jws_public_key(apr_pool_t *pool, const json_t *jwk)
{
    const char *kty = mcp_json_string(jwk, "kty");
    OSSL_PARAM_BLD *build = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    EVP_PKEY *pkey = NULL;
    BIGNUM *n = NULL, *e = NULL;
    int ok = 0;

    if (build == NULL || kty == NULL) {
        goto done;
    }
    if (strcmp(kty, "RSA") == 0) {
        apr_size_t n_len, e_len;
        const unsigned char *n_bytes = member(pool, jwk, "n", &n_len);
        const unsigned char *e_bytes = member(pool, jwk, "e", &e_len);
        if (n_bytes == NULL || e_bytes == NULL
            || (n = BN_bin2bn(n_bytes, (int)n_len, NULL)) == NULL
            || (e = BN_bin2bn(e_bytes, (int)e_len, NULL)) == NULL) {
            goto done;
        }
        ok = OSSL_PARAM_BLD_push_BN(build, OSSL_PKEY_PARAM_RSA_N, n)
             && OSSL_PARAM_BLD_push_BN(build, OSSL_PKEY_PARAM_RSA_E, e);
    }
    else if (strcmp(kty, "EC") == 0) {
        const char *crv = mcp_json_string(jwk, "crv");
        const char *group = NULL;
        apr_size_t x_len, y_len;
        const unsigned char *x = member(pool, jwk, "x", &x_len);
        const unsigned char *y = member(pool, jwk, "y", &y_len);
        unsigned char *point;

        if (crv != NULL && strcmp(crv, "P-256") == 0) group = "prime256v1";
        else if (crv != NULL && strcmp(crv, "P-384") == 0) group = "secp384r1";
        else if (crv != NULL && strcmp(crv, "P-521") == 0) group = "secp521r1";
        if (group == NULL || x == NULL || y == NULL || x_len != y_len) {
            goto done;
        }
        /* SEC 1 §2.3.3: an uncompressed point, 04 || X || Y */
        point = apr_palloc(pool, 1 + x_len + y_len);
        point[0] = 0x04;
        memcpy(point + 1, x, x_len);
        memcpy(point + 1 + x_len, y, y_len);
        ok = OSSL_PARAM_BLD_push_utf8_string(build, OSSL_PKEY_PARAM_GROUP_NAME,
                                             group, 0)
             && OSSL_PARAM_BLD_push_octet_string(build, OSSL_PKEY_PARAM_PUB_KEY,
                                                 point, 1 + x_len + y_len);
    }
    if (!ok) {
        goto done;
    }
    ok = 0;
    /* fromdata checks that an EC point lies on its curve */
    params = OSSL_PARAM_BLD_to_param(build);
    ctx = EVP_PKEY_CTX_new_from_name(NULL, kty, NULL);
    if (params != NULL && ctx != NULL && EVP_PKEY_fromdata_init(ctx) == 1
        && EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) == 1) {
        apr_pool_cleanup_register(pool, pkey, free_pkey, apr_pool_cleanup_null);
        verifier_attach(pool, pkey);
        ok = 1;
    }
done:
    if (!ok) {
        EVP_PKEY_free(pkey);
        pkey = NULL;
    }
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(build);
    BN_free(n);
    BN_free(e);
    return pkey;
}

/* SHA-256/384/512, fetched once by mcp_jws_init. */
static EVP_MD *digests[3];

static apr_status_t free_digests(void *unused)
{
    int i;

    for (i = 0; i < 3; i++) {
        EVP_MD_free(digests[i]);
        digests[i] = NULL;
    }
    return APR_SUCCESS;
}

void mcp_jws_init(apr_pool_t *pool)
{
    static const char *const names[3] = { "SHA256", "SHA384", "SHA512" };
    int i;

    for (i = 0; i < 3; i++) {
        digests[i] = EVP_MD_fetch(NULL, names[i], NULL);
    }
    apr_pool_cleanup_register(pool, NULL, free_digests, apr_pool_cleanup_null);
}

static const EVP_MD *digest_of(const char *alg)
{
    /* RFC 7518 §3.1: the last three characters name the SHA-2 size */
    int index = strcmp(alg + 2, "256") == 0 ? 0
                : strcmp(alg + 2, "384") == 0 ? 1
                : strcmp(alg + 2, "512") == 0 ? 2 : -1;

    if (index < 0) {
        return NULL;
    }
    if (digests[index] != NULL) {
        return digests[index];
    }
    return index == 0 ? EVP_sha256() : index == 1 ? EVP_sha384() : EVP_sha512();
}

/* Room for the DER ECDSA-Sig-Value of the largest curve (P-521): a
 * SEQUENCE of two INTEGERs of up to 66 bytes and a sign byte each. */
#define ECDSA_DER_MAX (3 + 2 * (2 + 1 + 66))

/*
 * RFC 7518 §3.4: R || S, each the curve's size, as the DER ECDSA-Sig-Value
 * (SEC 1 §C.5) that EVP_PKEY_verify takes, encoded by OpenSSL.  Returns
 * the DER length; 0 when the signature has the wrong size for the curve
 * (it does not verify); -1 when OpenSSL could not encode it (no verdict).
 */
static int ecdsa_der(EVP_PKEY *pkey, const char *alg,
                     const unsigned char *signature, apr_size_t signature_len,
                     unsigned char *der)
{
    int bits = EVP_PKEY_get_bits(pkey);
    int size = (bits + 7) / 8, len = -1;
    ECDSA_SIG *sig;
    BIGNUM *r, *s;
    unsigned char *out = der;

    /* ES256 only with P-256, ES384 with P-384, ES512 with P-521 */
    if (!((bits == 256 && strcmp(alg, "ES256") == 0)
          || (bits == 384 && strcmp(alg, "ES384") == 0)
          || (bits == 521 && strcmp(alg, "ES512") == 0))
        || signature_len != 2 * (apr_size_t)size) {
        return 0;
    }
    sig = ECDSA_SIG_new();
    r = BN_bin2bn(signature, size, NULL);
    s = BN_bin2bn(signature + size, size, NULL);
    if (sig != NULL && r != NULL && s != NULL && ECDSA_SIG_set0(sig, r, s) == 1) {
        r = s = NULL;               /* the signature owns them now */
        len = i2d_ECDSA_SIG(sig, NULL);
        len = len > 0 && len <= ECDSA_DER_MAX ? i2d_ECDSA_SIG(sig, &out) : -1;
    }
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(sig);
    return len > 0 ? len : -1;
}

/* A context ready for EVP_PKEY_verify with `alg`'s parameters: an idle
 * one of the key's, or a new one. */
static EVP_PKEY_CTX *context_get(EVP_PKEY *pkey, verifier *contexts,
                                 int slot, const char *alg, const EVP_MD *md)
{
    EVP_PKEY_CTX *pctx = NULL;

    if (contexts != NULL) {
        apr_thread_mutex_lock(contexts->lock);
        if (contexts->count[slot] > 0) {
            pctx = contexts->idle[slot][--contexts->count[slot]];
        }
        apr_thread_mutex_unlock(contexts->lock);
        if (pctx != NULL) {
            return pctx;
        }
    }
    pctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
    if (pctx == NULL || EVP_PKEY_verify_init(pctx) != 1
        || EVP_PKEY_CTX_set_signature_md(pctx, md) != 1
        /* RFC 7518 §3.5: PSS with MGF1 on the same hash, salt as long as
         * the hash */
        || (alg[0] == 'P'
            && (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1
                || EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1
                || EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, md) != 1))) {
        EVP_PKEY_CTX_free(pctx);
        return NULL;
    }
    return pctx;
}

static void context_put(verifier *contexts, int slot, EVP_PKEY_CTX *pctx)
{
    if (contexts != NULL) {
        apr_thread_mutex_lock(contexts->lock);
        if (contexts->count[slot] < IDLE_CONTEXTS) {
            contexts->idle[slot][contexts->count[slot]++] = pctx;
            pctx = NULL;
        }
        apr_thread_mutex_unlock(contexts->lock);
    }
    EVP_PKEY_CTX_free(pctx);
}

int mcp_jws_verify(EVP_PKEY *pkey, const char *alg,
                   const unsigned char *input, apr_size_t input_len,
                   const unsigned char *signature, apr_size_t signature_len)
{
    const EVP_MD *md = strlen(alg) == 5 ? digest_of(alg) : NULL;
    verifier *contexts;
    EVP_PKEY_CTX *pctx;
    unsigned char der[ECDSA_DER_MAX];
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int digest_len = 0;
    int der_len, slot, verified;

    if (pkey == NULL || md == NULL) {
        return 0;
    }
    if (alg[0] == 'E' && alg[1] == 'S') {
        if (!EVP_PKEY_is_a(pkey, "EC")) {
            return 0;
        }
        der_len = ecdsa_der(pkey, alg, signature, signature_len, der);
        if (der_len <= 0) {
            return der_len;
        }
        signature = der;
        signature_len = (apr_size_t)der_len;
        slot = 6;
    }
    else if (!((alg[0] == 'R' || alg[0] == 'P') && alg[1] == 'S')
             || !EVP_PKEY_is_a(pkey, "RSA")) {
        return 0;
    }
    else {
        slot = alg[0] == 'R' ? 0 : 3;
    }
    slot += strcmp(alg + 2, "256") == 0 ? 0 : strcmp(alg + 2, "384") == 0 ? 1 : 2;
    if (EVP_Digest(input, input_len, digest, &digest_len, md, NULL) != 1) {
        return -1;
    }
    contexts = verifier_index >= 0 ? EVP_PKEY_get_ex_data(pkey, verifier_index)
                                   : NULL;
    pctx = context_get(pkey, contexts, slot, alg, md);
    if (pctx == NULL) {
        return -1;
    }
    /* 1: verified; 0: it does not verify; below 0: OpenSSL could not tell
     * (out of memory, for one), which is no verdict on the token */
    verified = EVP_PKEY_verify(pctx, signature, signature_len, digest,
                               digest_len);
    if (verified < 0) {
        /* a context in an unknown state is not used again */
        EVP_PKEY_CTX_free(pctx);
        return -1;
    }
    context_put(contexts, slot, pctx);
    return verified == 1 ? 1 : 0;
}
