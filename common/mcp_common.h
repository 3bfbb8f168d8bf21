/*
 * Code shared by mod_mcp_as, mod_mcp_rs and mcp-client: encodings, hashes,
 * JSON with strict parsing, JWK handling, URI rules of the MCP and OAuth
 * specifications, HTTP quoting and form decoding.
 *
 * Nothing here depends on httpd: the client links it too.  Everything
 * allocates from the APR pool it is given; library objects (jansson, cjose)
 * are released by pool cleanups registered here.
 */
#ifndef MCP_COMMON_H
#define MCP_COMMON_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_uri.h>
#include <jansson.h>
#include <cjose/cjose.h>

/* Return codes of the functions below that can fail. */
#define MCP_OK      0
#define MCP_ERROR  -1

/* SHA-256 digest length in bytes. */
#define MCP_SHA256_LEN 32

/* ------------------------------------------------------------ base64url */

/* RFC 4648 §5 without padding. */
char *mcp_b64url_encode(apr_pool_t *pool, const unsigned char *data,
                        apr_size_t len);

/*
 * Strict decoder: only the base64url alphabet, no padding, no whitespace,
 * and the unused low bits of the last character must be zero, so that one
 * byte string has exactly one encoding.  The output is NUL-terminated for
 * convenience (the terminator is not counted in *out_len).
 */
int mcp_b64url_decode(apr_pool_t *pool, const char *in, apr_size_t in_len,
                      unsigned char **out, apr_size_t *out_len);

/* ------------------------------------------------------------ randomness, hashes */

/* `bytes` random bytes from OpenSSL's CSPRNG, base64url encoded. */
int mcp_random_b64url(apr_pool_t *pool, apr_size_t bytes, char **out);

void mcp_sha256(const void *data, apr_size_t len,
                unsigned char digest[MCP_SHA256_LEN]);
/* base64url(SHA-256(str)): how stored secrets and token cache keys look. */
char *mcp_sha256_b64url(apr_pool_t *pool, const char *str);
/* Constant-time comparison of two strings (the length is not secret). */
int mcp_secret_equal(const char *a, const char *b);

/* ------------------------------------------------------------ JSON */

/*
 * Parses a JSON text that must be one object; duplicate keys are refused
 * (RFC 8725 §3.1 for JOSE, RFC 7591 for registration).  The object is owned
 * by `pool`.  On failure *error says what was wrong, for an error_description.
 */
int mcp_json_parse_object(apr_pool_t *pool, const char *text, apr_size_t len,
                          json_t **out, const char **error);
/* Hands `json` to `pool`: json_decref runs when the pool is cleared. */
json_t *mcp_json_pool_own(apr_pool_t *pool, json_t *json);
/* Compact serialisation into pool memory (NULL on failure). */
char *mcp_json_dump(apr_pool_t *pool, const json_t *json);
/* The string member `key` of `object`, or NULL if absent or not a string. */
const char *mcp_json_string(const json_t *object, const char *key);

/* ------------------------------------------------------------ JWK */

typedef struct {
    const char *kid;     /* NULL when the JWK has none */
    const char *kty;     /* "RSA" or "EC" */
    const char *crv;     /* "P-256" etc. for EC, NULL for RSA */
    const char *alg;     /* the JWK's "alg", or NULL */
    const char *use;     /* the JWK's "use", or NULL */
    cjose_jwk_t *jwk;    /* released with the pool */
    /* the same public key for OpenSSL's EVP (common/mcp_jws.h), built once
     * when the key set is read; released with the pool */
    struct evp_pkey_st *pkey;
} mcp_key_t;

/* Hands a cjose key to `pool`: cjose_jwk_release runs at cleanup. */
cjose_jwk_t *mcp_jwk_pool_own(apr_pool_t *pool, cjose_jwk_t *jwk);

/*
 * Parses a JWKS document (RFC 7517 §5) into an array of mcp_key_t.  Keys of
 * a type other than RSA or EC, private keys, and keys with "use" other than
 * "sig" are skipped; a document with duplicate keys or that is not an
 * object with a "keys" array is an error.
 */
int mcp_jwks_parse(apr_pool_t *pool, const char *text, apr_size_t len,
                   apr_array_header_t **keys, const char **error);

/* RFC 7638 JWK thumbprint (SHA-256, base64url) of a public RSA or EC key. */
int mcp_jwk_thumbprint(apr_pool_t *pool, cjose_jwk_t *jwk, char **out);

/* The public JWK as a JSON object owned by `pool`, with kid/alg/use added. */
json_t *mcp_jwk_public_json(apr_pool_t *pool, cjose_jwk_t *jwk,
                            const char *kid, const char *alg);

/* ------------------------------------------------------------ URIs */

/*
 * Canonical form of a resource or issuer URI, as MCP compares them:
 * absolute, scheme and host lower-case, default port dropped, no fragment,
 * no trailing slash on the path.  MCP_ERROR if `uri` is not absolute.
 */
int mcp_uri_canonical(apr_pool_t *pool, const char *uri, char **out);
/* 1 when both are valid and canonically equal. */
int mcp_uri_same_resource(apr_pool_t *pool, const char *a, const char *b);

/* 1 when `host` is a loopback name or address (localhost, 127/8, ::1). */
int mcp_host_is_loopback(const char *host);

/*
 * An absolute https URL, or an http one on a loopback host: what MCP
 * allows for issuers, resources and metadata.  When `allow_http` is set any
 * http URL passes (for tests behind plain HTTP).
 */
int mcp_uri_is_web(apr_pool_t *pool, const char *uri, int allow_http,
                   apr_uri_t *parsed);

/*
 * RFC 8414 §3.1 / RFC 9728 §3.1: the well-known URL for `id`, with the
 * well-known segment inserted between host and path:
 * https://as.example/tenant + "oauth-authorization-server" →
 * https://as.example/.well-known/oauth-authorization-server/tenant
 */
int mcp_well_known_url(apr_pool_t *pool, const char *id, const char *suffix,
                       char **out);

/* ------------------------------------------------------------ HTTP */

/*
 * RFC 9110 §5.6.4 quoted-string: wraps `value` in double quotes with '"'
 * and '\' escaped.  Control characters cannot appear in a header, so they
 * are replaced by '?' (they only ever come from bad input).
 */
char *mcp_http_quote(apr_pool_t *pool, const char *value);

/* Replaces control characters by '?' so a value is safe in a JSON error or log line. */
char *mcp_printable(apr_pool_t *pool, const char *value, apr_size_t max_len);

/*
 * Decodes application/x-www-form-urlencoded text (a body or a query
 * string) into a table.  A name given twice is an error that names it in
 * *error (OAuth 2.1 §3.1: parameters must not be included more than once);
 * so are bad percent-escapes and NUL bytes.
 */
int mcp_form_parse(apr_pool_t *pool, const char *text, apr_size_t len,
                   apr_table_t **out, const char **error);

/* Percent-encodes everything but RFC 3986 unreserved characters. */
char *mcp_url_encode(apr_pool_t *pool, const char *value);

#endif /* MCP_COMMON_H */
