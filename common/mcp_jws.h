/*
 * JWS signature verification with OpenSSL's EVP interface on keys built
 * once, when a key set is read (common/mcp_jws.c).  cjose imports the
 * whole token again (base64url and JSON) for every verification; a caller
 * that has already checked the token's segments needs only the signing
 * input (RFC 7515 §5.2: the first two segments, as sent) and the decoded
 * signature.  The cryptography is OpenSSL's; nothing here computes it.
 */
#ifndef MCP_JWS_H
#define MCP_JWS_H

#include <apr_pools.h>
#include <jansson.h>
#include <openssl/evp.h>

/*
 * The public key of a JWK that common/mcp_jwk.c has already checked (RSA
 * n/e of 2048 to 8192 bits, or EC crv/x/y of the curve's size), as an
 * OpenSSL key owned by `pool` (freed at its cleanup).  NULL if OpenSSL
 * refuses it (a point not on the curve, for one).  The key is never
 * modified after this, so threads may verify with it at the same time.
 */
EVP_PKEY *mcp_jws_public_key(apr_pool_t *pool, const json_t *jwk);

/*
 * Verifies `signature` over `input` with `pkey` for the JWS algorithm
 * `alg` (RFC 7518 §3: RS256/384/512, PS256/384/512, ES256/384/512).  ECDSA
 * signatures are the raw R || S of RFC 7518 §3.4, exactly twice the
 * curve's size.  1 if it verifies; 0 if it does not (including an
 * algorithm that does not fit the key, or a signature of the wrong size),
 * a verdict that depends on nothing but these bytes and this key; -1 if
 * OpenSSL could not verify at all (out of memory, say): no verdict.
 */
int mcp_jws_verify(EVP_PKEY *pkey, const char *alg,
                   const unsigned char *input, apr_size_t input_len,
                   const unsigned char *signature, apr_size_t signature_len);

/*
 * Optional: fetches the digests once, for the lifetime of `pool`, so that
 * verifications skip OpenSSL 3's per-call algorithm lookup.  Call it
 * before threads verify (a child_init hook).  Without it verification
 * works the same, a little slower.
 */
void mcp_jws_init(apr_pool_t *pool);

#endif /* MCP_JWS_H */
