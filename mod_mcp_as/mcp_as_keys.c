/*
 * Signing keys: PEM files read (or generated on first start) with OpenSSL
 * 3 and turned into cjose JWKs; the JWKS endpoint publishes all of them so
 * that a new first key can sign while tokens signed by the old one are
 * still verified.
 */
#include <httpd.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <apr_strings.h>
#include <http_log.h>
#include <http_protocol.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "mcp_common.h"
#include "mcp_httpd.h"
#include "mcp_as.h"

/* Big-endian bytes of a key parameter, left-padded to `len` when len > 0. */
static int key_param(apr_pool_t *pool, EVP_PKEY *pkey, const char *name,
                     int len, uint8_t **out, size_t *out_len)
{
    BIGNUM *bn = NULL;
    int size;

    if (!EVP_PKEY_get_bn_param(pkey, name, &bn)) {
        return MCP_ERROR;
    }
    size = len > 0 ? len : BN_num_bytes(bn);
    *out = apr_palloc(pool, (apr_size_t)size);
    if (BN_bn2binpad(bn, *out, size) != size) {
        BN_clear_free(bn);
        return MCP_ERROR;
    }
    BN_clear_free(bn);
    *out_len = (size_t)size;
    return MCP_OK;
}

static cjose_jwk_t *jwk_from_pkey(apr_pool_t *ptemp, EVP_PKEY *pkey,
                                  const char **alg, const char **error)
{
    cjose_err err;
    cjose_jwk_t *jwk = NULL;

    if (EVP_PKEY_is_a(pkey, "EC")) {
        char group[64];
        cjose_jwk_ec_keyspec spec;
        memset(&spec, 0, sizeof(spec));
        if (!EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME,
                                            group, sizeof(group), NULL)
            || (strcmp(group, "prime256v1") != 0 && strcmp(group, "P-256") != 0)) {
            *error = "an EC key must be on the P-256 curve (ES256)";
            return NULL;
        }
        spec.crv = CJOSE_JWK_EC_P_256;
        if (key_param(ptemp, pkey, OSSL_PKEY_PARAM_PRIV_KEY, 32, &spec.d,
                      &spec.dlen) != MCP_OK
            || key_param(ptemp, pkey, OSSL_PKEY_PARAM_EC_PUB_X, 32, &spec.x,
                         &spec.xlen) != MCP_OK
            || key_param(ptemp, pkey, OSSL_PKEY_PARAM_EC_PUB_Y, 32, &spec.y,
                         &spec.ylen) != MCP_OK) {
            *error = "cannot read the EC key's parameters";
            return NULL;
        }
        jwk = cjose_jwk_create_EC_spec(&spec, &err);
        *alg = "ES256";
    }
    else if (EVP_PKEY_is_a(pkey, "RSA")) {
        cjose_jwk_rsa_keyspec spec;
        memset(&spec, 0, sizeof(spec));
        if (EVP_PKEY_get_bits(pkey) < 2048) {
            *error = "an RSA key must have at least 2048 bits";
            return NULL;
        }
        if (key_param(ptemp, pkey, OSSL_PKEY_PARAM_RSA_N, 0, &spec.n,
                      &spec.nlen) != MCP_OK
            || key_param(ptemp, pkey, OSSL_PKEY_PARAM_RSA_E, 0, &spec.e,
                         &spec.elen) != MCP_OK
            || key_param(ptemp, pkey, OSSL_PKEY_PARAM_RSA_D, 0, &spec.d,
                         &spec.dlen) != MCP_OK
            || key_param(ptemp, pkey, OSSL_PKEY_PARAM_RSA_FACTOR1, 0, &spec.p,
                         &spec.plen) != MCP_OK
            || key_param(ptemp, pkey, OSSL_PKEY_PARAM_RSA_FACTOR2, 0, &spec.q,
                         &spec.qlen) != MCP_OK
            || key_param(ptemp, pkey, OSSL_PKEY_PARAM_RSA_EXPONENT1, 0,
                         &spec.dp, &spec.dplen) != MCP_OK
            || key_param(ptemp, pkey, OSSL_PKEY_PARAM_RSA_EXPONENT2, 0,
                         &spec.dq, &spec.dqlen) != MCP_OK
            || key_param(ptemp, pkey, OSSL_PKEY_PARAM_RSA_COEFFICIENT1, 0,
                         &spec.qi, &spec.qilen) != MCP_OK) {
            *error = "cannot read the RSA key's parameters";
            return NULL;
        }
        jwk = cjose_jwk_create_RSA_spec(&spec, &err);
        *alg = "RS256";
    }
    else {
        *error = "the key is neither EC P-256 nor RSA";
        return NULL;
    }
    if (jwk == NULL) {
        *error = apr_psprintf(ptemp, "cjose: %s", err.message);
    }
    return jwk;
}

/*
 * Generates a key and publishes it as FILE atomically: it is written (mode
 * 0600) to a temporary file next to FILE, then hard-linked to FILE, which
 * fails when FILE exists.  Several nodes sharing a key directory (or two
 * servers on one host) may start at once and race here: the loser never
 * reads a half-written file, drops its own key and loads the winner's
 * (*lost_race), so every node signs with the same key.
 */
static EVP_PKEY *generate_key(apr_pool_t *ptemp, const char *file,
                              const char *alg, server_rec *s, int *lost_race)
{
    EVP_PKEY *pkey;
    BIO *bio;
    char *suffix;
    const char *tmp;
    int fd, ok, link_errno;

    *lost_race = 0;
    if (mcp_random_b64url(ptemp, 9, &suffix) != MCP_OK) {
        return NULL;
    }
    if (alg != NULL && strcmp(alg, "RS256") == 0) {
        pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)3072);
    }
    else {
        pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    }
    if (pkey == NULL) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, APLOGNO(30030)
                     "MCPSigningKey: cannot generate a key for %s", file);
        return NULL;
    }
    tmp = apr_pstrcat(ptemp, file, ".", suffix, ".tmp", NULL);
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, errno, s, APLOGNO(30031)
                     "MCPSigningKey: cannot create %s", tmp);
        EVP_PKEY_free(pkey);
        return NULL;
    }
    bio = BIO_new_fd(fd, BIO_NOCLOSE);
    ok = bio != NULL && PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0,
                                                 NULL, NULL);
    if (bio != NULL) {
        ok = BIO_flush(bio) == 1 && ok;
        BIO_free(bio);
    }
    /* on disk before it has its name: a crash never leaves a torn key */
    ok = fsync(fd) == 0 && ok;
    ok = close(fd) == 0 && ok;
    if (!ok) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, APLOGNO(30032)
                     "MCPSigningKey: cannot write %s", tmp);
        unlink(tmp);
        EVP_PKEY_free(pkey);
        return NULL;
    }
    ok = link(tmp, file) == 0;
    link_errno = errno;
    unlink(tmp);
    if (!ok) {
        EVP_PKEY_free(pkey);
        if (link_errno == EEXIST) {
            *lost_race = 1;
            return NULL;
        }
        ap_log_error(APLOG_MARK, APLOG_CRIT, link_errno, s, APLOGNO(30095)
                     "MCPSigningKey: cannot create %s", file);
        return NULL;
    }
    ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s, APLOGNO(30033)
                 "MCPSigningKey: generated a new %s key in %s",
                 alg ? alg : "ES256", file);
    return pkey;
}

/* Reads FILE (generating it first when absent and may_generate), checks
 * it and sets key->jwk.  Without may_generate (configtest) an absent file
 * is fine: the first start generates it. */
static int load_key(apr_pool_t *pconf, apr_pool_t *ptemp, server_rec *s,
                    mcp_as_key *key, int may_generate)
{
    EVP_PKEY *pkey = NULL;
    const char *error = NULL, *alg = NULL;
    cjose_jwk_t *jwk;
    int attempt, lost_race = 0;

    /* the second attempt reads the key another node has just published */
    for (attempt = 0; pkey == NULL && attempt < 2; attempt++) {
        BIO *bio = BIO_new_file(key->file, "r");
        if (bio != NULL) {
            pkey = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
            BIO_free(bio);
            if (pkey == NULL) {
                ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, APLOGNO(30034)
                             "MCPSigningKey: %s is not a PEM private key",
                             key->file);
                return MCP_ERROR;
            }
            if (lost_race) {
                ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s, APLOGNO(30096)
                             "MCPSigningKey: %s was generated by another "
                             "server at the same time; using that key",
                             key->file);
            }
        }
        else if (errno == ENOENT && attempt == 0 && !may_generate) {
            return MCP_OK;
        }
        else if (errno == ENOENT && attempt == 0) {
            pkey = generate_key(ptemp, key->file, key->alg, s, &lost_race);
            if (pkey == NULL && !lost_race) {
                return MCP_ERROR;
            }
        }
        else {
            ap_log_error(APLOG_MARK, APLOG_CRIT, errno, s, APLOGNO(30035)
                         "MCPSigningKey: cannot read %s", key->file);
            return MCP_ERROR;
        }
    }
    if (pkey == NULL) {
        return MCP_ERROR;
    }
    jwk = jwk_from_pkey(ptemp, pkey, &alg, &error);
    EVP_PKEY_free(pkey);
    if (jwk == NULL) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, APLOGNO(30036)
                     "MCPSigningKey: %s: %s", key->file, error);
        return MCP_ERROR;
    }
    mcp_jwk_pool_own(pconf, jwk);
    if (key->alg != NULL && strcmp(key->alg, alg) != 0) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, APLOGNO(30037)
                     "MCPSigningKey: %s holds an %s key, but %s was asked for",
                     key->file, alg, key->alg);
        return MCP_ERROR;
    }
    key->alg = alg;
    key->jwk = jwk;
    if (key->kid != NULL) {
        key->effective_kid = key->kid;
    }
    else {
        char *thumbprint;
        if (mcp_jwk_thumbprint(pconf, jwk, &thumbprint) != MCP_OK) {
            ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, APLOGNO(30038)
                         "MCPSigningKey: cannot compute the thumbprint of %s",
                         key->file);
            return MCP_ERROR;
        }
        key->effective_kid = thumbprint;
    }
    return MCP_OK;
}

int mcp_as_keys_load(apr_pool_t *pconf, apr_pool_t *ptemp, server_rec *s,
                     mcp_as_server_conf *conf)
{
    int i;

    if (conf->keys->nelts == 0) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, APLOGNO(30039)
                     "MCPIssuer %s needs at least one MCPSigningKey FILE "
                     "(generated on first start when absent)", conf->issuer);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    for (i = 0; i < conf->keys->nelts; i++) {
        mcp_as_key *key = &APR_ARRAY_IDX(conf->keys, i, mcp_as_key);
        if (key->jwk == NULL && load_key(pconf, ptemp, s, key, 1) != MCP_OK) {
            return HTTP_INTERNAL_SERVER_ERROR;
        }
    }
    return OK;
}

int mcp_as_keys_check(apr_pool_t *pconf, apr_pool_t *ptemp, server_rec *s,
                      mcp_as_server_conf *conf)
{
    int i;

    for (i = 0; i < conf->keys->nelts; i++) {
        mcp_as_key key = APR_ARRAY_IDX(conf->keys, i, mcp_as_key);
        if (load_key(pconf, ptemp, s, &key, 0) != MCP_OK) {
            return MCP_ERROR;
        }
    }
    return MCP_OK;
}

int mcp_as_handle_jwks(request_rec *r, mcp_as_server_conf *conf)
{
    json_t *body, *keys;
    int i, reply;

    if (mcp_cors_get_only(r, "the JWKS endpoint", &reply)) {
        return reply;
    }
    body = mcp_json_pool_own(r->pool, json_object());
    keys = json_array();
    json_object_set_new(body, "keys", keys);
    for (i = 0; i < conf->keys->nelts; i++) {
        mcp_as_key *key = &APR_ARRAY_IDX(conf->keys, i, mcp_as_key);
        json_t *pub = mcp_jwk_public_json(r->pool, key->jwk,
                                          key->effective_kid, key->alg);
        if (pub == NULL) {
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        json_array_append(keys, pub);
    }
    /* resource servers cache this; a few minutes keeps rotation quick */
    apr_table_setn(r->headers_out, "Cache-Control", "public, max-age=300");
    return mcp_reply_json(r, HTTP_OK, body);
}
