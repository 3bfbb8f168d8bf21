/* Unit tests for the shared code (common/): pure functions, no server. */
#include <string.h>
#include <apr_general.h>
#include <apr_strings.h>

#include "mcp_common.h"
#include "tap.h"

static apr_pool_t *pool;

static void test_b64url(void)
{
    unsigned char *out;
    apr_size_t out_len;

    is_str(mcp_b64url_encode(pool, (const unsigned char *)"", 0), "", "encode empty");
    is_str(mcp_b64url_encode(pool, (const unsigned char *)"f", 1), "Zg", "encode 1 byte");
    is_str(mcp_b64url_encode(pool, (const unsigned char *)"fo", 2), "Zm8", "encode 2 bytes");
    is_str(mcp_b64url_encode(pool, (const unsigned char *)"foo", 3), "Zm9v", "encode 3 bytes");
    is_str(mcp_b64url_encode(pool, (const unsigned char *)"\xfb\xff", 2), "-_8", "url alphabet");
    ok(mcp_b64url_decode(pool, "Zm9vYg", 6, &out, &out_len) == MCP_OK
       && out_len == 4 && memcmp(out, "foob", 4) == 0, "decode round trip");
    ok(mcp_b64url_decode(pool, "Zm9vYg==", 8, &out, &out_len) == MCP_ERROR, "padding refused");
    ok(mcp_b64url_decode(pool, "Zm9v+g", 6, &out, &out_len) == MCP_ERROR, "'+' refused");
    ok(mcp_b64url_decode(pool, "Zm9 v", 5, &out, &out_len) == MCP_ERROR, "space refused");
    ok(mcp_b64url_decode(pool, "Z", 1, &out, &out_len) == MCP_ERROR, "length 1 mod 4 refused");
    ok(mcp_b64url_decode(pool, "Zh", 2, &out, &out_len) == MCP_ERROR, "stray low bits refused");
}

static void test_crypto(void)
{
    char *a, *b;

    ok(mcp_random_b64url(pool, 32, &a) == MCP_OK && strlen(a) == 43, "256-bit random is 43 chars");
    ok(mcp_random_b64url(pool, 32, &b) == MCP_OK && strcmp(a, b) != 0, "two randoms differ");
    /* RFC 7636 appendix B: S256 of the example verifier */
    is_str(mcp_sha256_b64url(pool, "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
           "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", "PKCE S256 example of RFC 7636");
    ok(mcp_secret_equal("abc", "abc"), "equal secrets");
    ok(!mcp_secret_equal("abc", "abd"), "different secrets");
    ok(!mcp_secret_equal("abc", "abcd"), "different lengths");
    ok(!mcp_secret_equal(NULL, "abc"), "NULL is never equal");
}

static void test_json(void)
{
    json_t *object;
    const char *error = NULL;

    ok(mcp_json_parse_object(pool, "{\"a\":1}", 7, &object, &error) == MCP_OK, "object parses");
    ok(mcp_json_parse_object(pool, "{\"a\":1,\"a\":2}", 13, &object, &error) == MCP_ERROR,
       "duplicate keys refused");
    ok(mcp_json_parse_object(pool, "[1]", 3, &object, &error) == MCP_ERROR
       && strstr(error, "not an object") != NULL, "array refused");
    ok(mcp_json_parse_object(pool, "{\"a\":1} x", 9, &object, &error) == MCP_ERROR,
       "trailing garbage refused");
}

static const char rfc7638_n[] =
    "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_"
    "BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR"
    "0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bF"
    "TWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";

static void test_jwk(void)
{
    const char *error = NULL;
    apr_array_header_t *keys = NULL;
    char *jwks, *thumbprint = NULL;
    mcp_key_t *key;

    jwks = apr_psprintf(pool,
        "{\"keys\":[{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"AQAB\",\"kid\":\"k1\",\"alg\":\"RS256\"},"
        "{\"kty\":\"oct\",\"k\":\"AAAA\"},"
        "{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"AQAB\",\"use\":\"enc\"}]}", rfc7638_n, rfc7638_n);
    ok(mcp_jwks_parse(pool, jwks, strlen(jwks), &keys, &error) == MCP_OK, "JWKS parses");
    ok(keys != NULL && keys->nelts == 1, "symmetric and encryption keys skipped");
    key = keys ? &APR_ARRAY_IDX(keys, 0, mcp_key_t) : NULL;
    is_str(key ? key->kid : NULL, "k1", "kid kept");
    is_str(key ? key->alg : NULL, "RS256", "alg kept");
    ok(key && mcp_jwk_thumbprint(pool, key->jwk, &thumbprint) == MCP_OK, "thumbprint computed");
    is_str(thumbprint, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs", "RFC 7638 §3.1 thumbprint");
    ok(mcp_jwks_parse(pool, "{\"keys\":{}}", 11, &keys, &error) == MCP_ERROR, "keys must be an array");
    /* found by fuzz_jwks: cjose aborts the process on '=' inside a coordinate */
    jwks = "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"f=3OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\","
           "\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\"},"
           "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\","
           "\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\",\"kid\":\"ok\"}]}";
    ok(mcp_jwks_parse(pool, jwks, strlen(jwks), &keys, &error) == MCP_OK && keys->nelts == 1,
       "malformed EC coordinate skipped, valid key kept");
    jwks = "{\"keys\":[{\"kty\":\"RSA\",\"n\":\"AQAB\",\"e\":\"AQAB\"}]}";
    ok(mcp_jwks_parse(pool, jwks, strlen(jwks), &keys, &error) == MCP_OK && keys->nelts == 0,
       "RSA modulus under 2048 bits skipped");
}

static void test_uri(void)
{
    char *out = NULL;

    ok(mcp_uri_canonical(pool, "HTTPS://RS.Example:443/mcp/", &out) == MCP_OK, "canonical form");
    is_str(out, "https://rs.example/mcp", "case, default port and trailing slash normalised");
    ok(mcp_uri_canonical(pool, "https://rs.example:8443/MCP", &out) == MCP_OK, "port kept");
    is_str(out, "https://rs.example:8443/MCP", "path case significant");
    ok(mcp_uri_canonical(pool, "https://rs.example/mcp#x", &out) == MCP_ERROR, "fragment refused");
    ok(mcp_uri_canonical(pool, "https://user@rs.example/mcp", &out) == MCP_ERROR, "userinfo refused");
    ok(mcp_uri_canonical(pool, "/mcp", &out) == MCP_ERROR, "relative refused");
    /* found by fuzz_uri: brackets inside an IPv6 literal */
    ok(mcp_uri_canonical(pool, "https://[[]:1/a?=", &out) == MCP_ERROR, "malformed host refused");
    ok(mcp_uri_canonical(pool, "https://[::1]:8443/a", &out) == MCP_OK, "IPv6 literal accepted");
    is_str(out, "https://[::1]:8443/a", "IPv6 literal keeps its brackets");
    ok(mcp_uri_same_resource(pool, "https://rs.example/mcp", "https://RS.EXAMPLE/mcp/"), "same resource");
    ok(!mcp_uri_same_resource(pool, "https://rs.example/mcp", "https://rs.example/mcp2"), "different resource");
    ok(mcp_host_is_loopback("127.0.0.1") && mcp_host_is_loopback("localhost")
       && mcp_host_is_loopback("::1"), "loopback hosts");
    ok(!mcp_host_is_loopback("127.0.0.1.evil.example") && !mcp_host_is_loopback("10.0.0.1"),
       "not loopback");
    ok(mcp_uri_is_web(pool, "https://as.example", 0, NULL), "https is web");
    ok(mcp_uri_is_web(pool, "http://127.0.0.1:8080/", 0, NULL), "http on loopback is web");
    ok(!mcp_uri_is_web(pool, "http://as.example", 0, NULL), "http elsewhere is not");
    ok(!mcp_uri_is_web(pool, "javascript:alert(1)", 1, NULL), "javascript: is not");
    ok(mcp_well_known_url(pool, "https://as.example/tenant/", "oauth-authorization-server", &out) == MCP_OK,
       "well-known URL");
    is_str(out, "https://as.example/.well-known/oauth-authorization-server/tenant", "path inserted");
    ok(mcp_well_known_url(pool, "http://127.0.0.1:8529", "oauth-protected-resource", &out) == MCP_OK,
       "root well-known URL");
    is_str(out, "http://127.0.0.1:8529/.well-known/oauth-protected-resource", "port kept, no path");
}

static void test_http(void)
{
    apr_table_t *form = NULL;
    const char *error = NULL;
    const char *body;

    is_str(mcp_http_quote(pool, "a\"b\\c"), "\"a\\\"b\\\\c\"", "quoted-string escapes");
    is_str(mcp_http_quote(pool, "a\r\nb"), "\"a??b\"", "CR LF never reach a header");
    is_str(mcp_printable(pool, "x\ty\x01z", 100), "x?y?z", "control characters replaced");
    is_str(mcp_url_encode(pool, "a b&c=d/é~"), "a%20b%26c%3Dd%2F%C3%A9~", "percent-encoding");

    body = "grant_type=authorization_code&code=abc%2Bdef&redirect_uri=http%3A%2F%2F127.0.0.1%2Fcb&x=a+b&empty=";
    ok(mcp_form_parse(pool, body, strlen(body), &form, &error) == MCP_OK, "form parses");
    is_str(form ? apr_table_get(form, "code") : NULL, "abc+def", "percent-decoding");
    is_str(form ? apr_table_get(form, "redirect_uri") : NULL, "http://127.0.0.1/cb", "URL value");
    is_str(form ? apr_table_get(form, "x") : NULL, "a b", "'+' is a space");
    is_str(form ? apr_table_get(form, "empty") : NULL, "", "empty value kept");
    body = "a=1&b=2&a=3";
    ok(mcp_form_parse(pool, body, strlen(body), &form, &error) == MCP_ERROR
       && strstr(error, "'a'") != NULL, "duplicate parameter named");
    ok(mcp_form_parse(pool, "a=%4", 4, &form, &error) == MCP_ERROR, "truncated escape");
    ok(mcp_form_parse(pool, "a=%zz", 5, &form, &error) == MCP_ERROR, "bad escape");
    ok(mcp_form_parse(pool, "a=%00", 5, &form, &error) == MCP_ERROR, "encoded NUL");
    ok(mcp_form_parse(pool, "=x", 2, &form, &error) == MCP_ERROR, "nameless parameter");
    ok(mcp_form_parse(pool, "&&a=1&", 6, &form, &error) == MCP_OK, "empty pairs ignored");
}

int main(int argc, const char *const *argv)
{
    apr_app_initialize(&argc, &argv, NULL);
    apr_pool_create(&pool, NULL);
    test_b64url();
    test_crypto();
    test_json();
    test_jwk();
    test_uri();
    test_http();
    apr_pool_destroy(pool);
    apr_terminate();
    return tap_done();
}
