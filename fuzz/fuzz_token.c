/* Bearer tokens, as mod_mcp_rs checks them: syntax, JOSE header, claims,
 * and the signature path, through the very functions the module runs
 * (mcp_rs_jwt.c), with a fixed key set, issuer, audience and time.
 * An input that starts with '{' (never base64url) is taken as
 * "HEADER-JSON\0CLAIMS-JSON" and
 * encoded into a token with a wrong signature, so that the fuzzer can
 * reach the header and claim checks without learning base64url.
 * fuzz-sources: mod_mcp_rs/mcp_rs_jwt.c */
#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>
#include <sanitizer/lsan_interface.h>
#include "fuzz.h"
#include "mcp_rs.h"

/* the public half of t/keys (rsa-1, ec-1, ec384-1); seeds are signed by
 * their private halves (fuzz/corpus/token/README) */
static const char test_jwks[] = "{\"keys\":[{\"e\":\"AQAB\",\"kid\":\"rsa-1\",\"kty\":\"RSA\",\"n\":\"x5WHBYXoTcmDrl3OF0VTGz5vRoUAWKzxE2sanLiAQ6ZwpeRwVQtjWBecDYTEa_E61opJKICHDv5Qc60i3C7Pt2cb7lgcZH1IyDt7lV2-sDw-NZWjf_TGzOF9Oa1N6qPIw8wSiHYraErUytaVynsWacxrBNihSHRDoW8l_oPpmajbH2yufe9ryirXSnJfH6SZ2m49r1Qtqmn-Bwian3hJZmSJ98tABKYWZIXkaV_CMOyjlZeeFVbNCeqbznHfFZQLQmqZgQzvT1z0Fi4fC_Xh0LKG85wjaor9hO4sNz01nvGjFidSxUvthJigPPb4TOcrwzH1xtwz_LsZcuMD7p7AZQ\",\"use\":\"sig\"},{\"alg\":\"ES256\",\"crv\":\"P-256\",\"kid\":\"ec-1\",\"kty\":\"EC\",\"use\":\"sig\",\"x\":\"vPutpm_efXlckhs6Zs3Smsh77cipd4LH1X2o1Nmz4Ds\",\"y\":\"om2T_dP2LnOi0hFo31wcQd2ItyMwfgUMJa9qd_myYNQ\"},{\"crv\":\"P-384\",\"kid\":\"ec384-1\",\"kty\":\"EC\",\"use\":\"sig\",\"x\":\"J6_K85ZxvmybzA6SiP5n55M7mLAeqIlrJLoRX9WU-a5gytiLezR-WVuTWOl87Hgz\",\"y\":\"AV9nlyAPWvaLh0BSi3m2URq9HFiORvo5zs89jHneRaH374RxVtuYkbN3O1aKS-gJ\"}]}";

#define FUZZ_NOW 1800000000

static apr_pool_t *fuzz_keys_pool;
static apr_array_header_t *fuzz_keys;
static mcp_rs_dir_conf fuzz_conf;

static void fuzz_setup(void)
{
    const char *error;

    /* the key set lives as long as the process: made during the first
     * input, it is not that input's leak */
    __lsan_disable();
    apr_pool_create(&fuzz_keys_pool, fuzz_root_pool);

    fuzz_conf.resource = "https://rs.test/mcp";
    fuzz_conf.issuers = apr_array_make(fuzz_keys_pool, 1, sizeof(char *));
    APR_ARRAY_PUSH(fuzz_conf.issuers, const char *) = "https://as.test";
    fuzz_conf.algorithms = apr_array_make(fuzz_keys_pool, 4, sizeof(char *));
    APR_ARRAY_PUSH(fuzz_conf.algorithms, const char *) = "RS256";
    APR_ARRAY_PUSH(fuzz_conf.algorithms, const char *) = "PS256";
    APR_ARRAY_PUSH(fuzz_conf.algorithms, const char *) = "ES256";
    APR_ARRAY_PUSH(fuzz_conf.algorithms, const char *) = "ES384";
    fuzz_conf.clock_skew = 60;
    fuzz_conf.require_typ = 1;
    if (mcp_jwks_parse(fuzz_keys_pool, test_jwks, strlen(test_jwks),
                       &fuzz_keys, &error) != MCP_OK) {
        abort();
    }
    __lsan_enable();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text;
    apr_pool_t *pool;
    mcp_rs_identity *identity = NULL;
    mcp_rs_failure failure = { 0, NULL, NULL };
    const char *token;

    if (fuzz_keys == NULL) {
        fuzz_setup();
    }
    pool = fuzz_input(data, size, &text);
    token = text;
    if (size > 0 && data[0] == '{') {
        /* raw mode: header and claims as JSON, separated by a NUL */
        size_t header_len = strlen(text);
        const char *claims = header_len < size ? text + header_len + 1 : "";
        size_t claims_len = header_len < size ? size - header_len - 1 : 0;
        token = apr_pstrcat(pool,
            mcp_b64url_encode(pool, (const unsigned char *)text, header_len),
            ".", mcp_b64url_encode(pool, (const unsigned char *)claims,
                                   claims_len),
            ".c2lnbmF0dXJl", NULL);
    }
    if (mcp_rs_jwt_check(pool, &fuzz_conf, token, fuzz_keys, FUZZ_NOW,
                         &identity, &failure) == MCP_OK) {
        /* what the module hands on must be there, and the token must
         * have said what the configuration demands */
        if (identity == NULL || identity->iss == NULL || identity->alg == NULL
            || identity->aud == NULL || identity->aud->nelts == 0
            || identity->exp + fuzz_conf.clock_skew <= FUZZ_NOW
            || strcmp(identity->iss, "https://as.test") != 0
            || !identity->typ_at_jwt) {
            abort();
        }
    }
    else if (failure.error == NULL || failure.description == NULL
             || strcmp(failure.error, "invalid_token") != 0) {
        abort();
    }
    apr_pool_destroy(pool);
    return 0;
}
