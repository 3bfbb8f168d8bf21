/* Random values, SHA-256 and constant-time comparison, all from OpenSSL. */
#include <limits.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "mcp_common.h"

int mcp_random_b64url(apr_pool_t *pool, apr_size_t bytes, char **out)
{
    unsigned char *buf = apr_palloc(pool, bytes);

    if (bytes > INT_MAX || RAND_bytes(buf, (int)bytes) != 1) {
        return MCP_ERROR;
    }
    *out = mcp_b64url_encode(pool, buf, bytes);
    OPENSSL_cleanse(buf, bytes);
    return MCP_OK;
}

void mcp_sha256(const void *data, apr_size_t len,
                unsigned char digest[MCP_SHA256_LEN])
{
    unsigned int digest_len = MCP_SHA256_LEN;

    /* One-shot EVP_Digest cannot fail for SHA-256 short of memory exhaustion;
     * clear the output first so a failure can never leave stale bytes. */
    memset(digest, 0, MCP_SHA256_LEN);
    EVP_Digest(data, len, digest, &digest_len, EVP_sha256(), NULL);
}

char *mcp_sha256_b64url(apr_pool_t *pool, const char *str)
{
    unsigned char digest[MCP_SHA256_LEN];

    mcp_sha256(str, strlen(str), digest);
    return mcp_b64url_encode(pool, digest, sizeof(digest));
}

int mcp_secret_equal(const char *a, const char *b)
{
    apr_size_t len_a, len_b;

    if (a == NULL || b == NULL) {
        return 0;
    }
    len_a = strlen(a);
    len_b = strlen(b);
    if (len_a != len_b) {
        return 0;
    }
    return CRYPTO_memcmp(a, b, len_a) == 0;
}
