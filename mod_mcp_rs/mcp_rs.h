/* mod_mcp_rs: declarations shared by the module's source files. */
#ifndef MCP_RS_H
#define MCP_RS_H

#include <httpd.h>
#include <http_config.h>
#include <apr_tables.h>
#include <jansson.h>

extern module AP_MODULE_DECLARE_DATA mcp_rs_module;

/* The auth type this module answers for (compared case-insensitively). */
#define MCP_RS_AUTH_TYPE "MCP"

/* RFC 8725 §3.1 / DESIGN.md: what is accepted when MCPAlgorithms is absent. */
#define MCP_RS_DEFAULT_ALGORITHMS "RS256 PS256 ES256"
#define MCP_RS_DEFAULT_CLOCK_SKEW 60
#define MCP_RS_DEFAULT_INTROSPECTION_CACHE 60
/* Tokens longer than this are refused before anything parses them. */
#define MCP_RS_MAX_TOKEN_LEN 16384

/* Per directory / <Location> configuration. */
typedef struct {
    const char *section;                /* the section's path, for messages */
    const char *resource;               /* MCPResource, as written */
    apr_array_header_t *issuers;        /* MCPAuthorizationServer (char *) */
    const char *jwks;                   /* MCPJWKS: URL, or absolute file */
    apr_array_header_t *scopes;         /* MCPScopes (char *) */
    apr_array_header_t *algorithms;     /* MCPAlgorithms (char *) */
    int clock_skew;                     /* MCPClockSkew, seconds */
    int require_typ;                    /* MCPRequireTyp */
    int pass_token;                     /* MCPPassToken */
    const char *introspection_url;      /* MCPIntrospection URL ID SECRET */
    const char *introspection_client_id;
    const char *introspection_secret;
    int introspection_cache;            /* MCPIntrospectionCache, seconds */
    apr_array_header_t *origins;        /* MCPAllowedOrigin (char *) */
    unsigned int resource_set:1;
    unsigned int issuers_set:1;
    unsigned int jwks_set:1;
    unsigned int scopes_set:1;
    unsigned int algorithms_set:1;
    unsigned int clock_skew_set:1;
    unsigned int require_typ_set:1;
    unsigned int pass_token_set:1;
    unsigned int introspection_set:1;
    unsigned int introspection_cache_set:1;
    unsigned int origins_set:1;
} mcp_rs_dir_conf;

/* One protected resource's metadata (RFC 9728 §2), per virtual host. */
typedef struct {
    const char *resource;
    const char *path;                   /* path of the well-known URL */
    apr_array_header_t *issuers;
    apr_array_header_t *scopes;
} mcp_rs_metadata_entry;

/* Per server: key fetching and cache limits, and the metadata registry. */
typedef struct {
    int jwks_timeout_ms;                /* MCPJWKSTimeout (total) */
    int jwks_refresh;                   /* MCPJWKSRefresh, seconds */
    int jwks_refetch_interval;          /* MCPJWKSRefetchInterval, seconds */
    int token_cache_size;               /* MCPTokenCacheSize, entries */
    int metadata_max_age;               /* MCPMetadataMaxAge, seconds */
    apr_array_header_t *metadata;       /* mcp_rs_metadata_entry, post_config */
    unsigned int jwks_timeout_ms_set:1;
    unsigned int jwks_refresh_set:1;
    unsigned int jwks_refetch_interval_set:1;
    unsigned int token_cache_size_set:1;
    unsigned int metadata_max_age_set:1;
} mcp_rs_server_conf;

/* Who a valid token speaks for. */
typedef struct {
    const char *sub;
    const char *client_id;
    const char *scope;                  /* space-separated */
    const char *iss;
    apr_array_header_t *aud;            /* char * */
    const char *alg;                    /* NULL for introspected tokens */
    const char *jti;
    apr_time_t exp;                     /* seconds since the epoch */
    int typ_at_jwt;                     /* typ was at+jwt */
    int introspected;
} mcp_rs_identity;

/* Why a token was refused: becomes the 401's error / error_description. */
typedef struct {
    int status;                         /* HTTP_UNAUTHORIZED or HTTP_BAD_REQUEST */
    const char *error;                  /* invalid_token, invalid_request, NULL */
    const char *description;
} mcp_rs_failure;

/* mcp_rs_config.c */
void *mcp_rs_create_dir_config(apr_pool_t *pool, char *path);
void *mcp_rs_merge_dir_config(apr_pool_t *pool, void *base, void *add);
void *mcp_rs_create_server_config(apr_pool_t *pool, server_rec *s);
void *mcp_rs_merge_server_config(apr_pool_t *pool, void *base, void *add);
extern const command_rec mcp_rs_directives[];
int mcp_rs_check_config(apr_pool_t *pconf, apr_pool_t *plog,
                        apr_pool_t *ptemp, server_rec *s);
int mcp_rs_is_mcp_auth(request_rec *r);
/* One <Location>/<Directory> section's configuration as requests see it. */
mcp_rs_dir_conf *mcp_rs_section_conf(apr_pool_t *pool, server_rec *s,
                                     apr_array_header_t *sections, int index);
const mcp_rs_dir_conf *mcp_rs_dir(request_rec *r);
const mcp_rs_server_conf *mcp_rs_server(server_rec *s);
const char *mcp_rs_scopes_string(apr_pool_t *pool, const apr_array_header_t *scopes);
int mcp_rs_array_contains(const apr_array_header_t *array, const char *value);

/* mcp_rs_authn.c */
int mcp_rs_check_authn(request_rec *r);
int mcp_rs_access_checker_ex(request_rec *r);
int mcp_rs_preflight_handler(request_rec *r);
int mcp_rs_fixups(request_rec *r);
const mcp_rs_identity *mcp_rs_identity_get(request_rec *r);

/* mcp_rs_token.c */
int mcp_rs_token_validate(request_rec *r, const mcp_rs_dir_conf *conf,
                          const char *token, mcp_rs_identity **identity,
                          mcp_rs_failure *failure);
int mcp_rs_identity_acceptable(request_rec *r, const mcp_rs_dir_conf *conf,
                               const mcp_rs_identity *identity,
                               mcp_rs_failure *failure);

/* mcp_rs_jwt.c: pure checks, no request needed (fuzz/fuzz_token.c) */
int mcp_rs_jwt_shaped(const char *token);
int mcp_rs_jwt_acceptable(apr_pool_t *pool, const mcp_rs_dir_conf *conf,
                          const mcp_rs_identity *identity, apr_time_t now,
                          mcp_rs_failure *failure);
/* A token whose syntax and JOSE header have been checked. */
typedef struct {
    const char *token;
    apr_size_t input_len;               /* signing input: the first two
                                         * segments (RFC 7515 §5.2) */
    const char *claims;                 /* the claims segment, encoded */
    apr_size_t claims_len;
    const unsigned char *signature;     /* decoded */
    apr_size_t signature_len;
    const char *kid;                    /* NULL when the header has none */
    mcp_rs_identity *identity;          /* alg and typ; the claims after
                                         * mcp_rs_jwt_claims */
} mcp_rs_jwt;
int mcp_rs_jwt_header(apr_pool_t *pool, const mcp_rs_dir_conf *conf,
                      const char *token, mcp_rs_jwt **jwt,
                      mcp_rs_failure *failure);
int mcp_rs_jwt_claims(apr_pool_t *pool, const mcp_rs_dir_conf *conf,
                      mcp_rs_jwt *jwt, apr_time_t now, mcp_rs_failure *failure);
/* How many keys of `keys` the token may be verified with (kid, type). */
int mcp_rs_jwt_candidates(const mcp_rs_jwt *jwt,
                          const apr_array_header_t *keys);
/* The failure for a token no key fits. */
int mcp_rs_jwt_no_key(apr_pool_t *pool, const mcp_rs_jwt *jwt,
                      mcp_rs_failure *failure);
/* MCP_OK, MCP_ERROR, or MCP_RS_BAD_SIGNATURE: a key fitted and the
 * signature did not verify with it. */
#define MCP_RS_BAD_SIGNATURE -2
int mcp_rs_jwt_verify(apr_pool_t *pool, const mcp_rs_jwt *jwt,
                      const apr_array_header_t *keys, mcp_rs_failure *failure);
/* The key, when exactly one of `keys` fits the token; else NULL. */
struct evp_pkey_st *mcp_rs_jwt_only_key(const mcp_rs_jwt *jwt,
                                        const apr_array_header_t *keys);
/* The failure for a signature that does not verify. */
int mcp_rs_jwt_bad_signature(mcp_rs_failure *failure);
int mcp_rs_jwt_check(apr_pool_t *pool, const mcp_rs_dir_conf *conf,
                     const char *token, const apr_array_header_t *keys,
                     apr_time_t now, mcp_rs_identity **identity,
                     mcp_rs_failure *failure);

/* mcp_rs_cache.c: verified tokens, per process */
apr_status_t mcp_rs_cache_init(apr_pool_t *pool, server_rec *s);
/* base64url(SHA-256(token)), the cache key (= mcp_sha256_b64url). */
const char *mcp_rs_cache_key(apr_pool_t *pool, const char *token);
int mcp_rs_cache_get(request_rec *r, const char *key, mcp_rs_identity **out);
void mcp_rs_cache_put(request_rec *r, const char *key,
                      const mcp_rs_identity *identity, apr_time_t until);
/* A refusal for a signature that does not verify with `pkey`, the only key
 * that fitted the token; and the key such a refusal names (referenced for
 * the request), or NULL. */
void mcp_rs_cache_put_refused(request_rec *r, const char *key,
                              struct evp_pkey_st *pkey);
struct evp_pkey_st *mcp_rs_cache_refused(request_rec *r, const char *key);
/* How long such a refusal counts, seconds. */
#define MCP_RS_REFUSAL_TTL 300

/* mcp_rs_jwks.c: verification keys, per process */
apr_status_t mcp_rs_jwks_init(apr_pool_t *pool, server_rec *s);
int mcp_rs_jwks_check_source(apr_pool_t *pool, const char *source,
                             const char **error);
typedef struct mcp_rs_keyset mcp_rs_keyset;
/* Keys for `issuer` (from `conf`'s MCPJWKS or the issuer's metadata).  With
 * `want_kid` set and absent from the cached set, a refetch is attempted
 * (rate-limited).  The set stays valid until mcp_rs_jwks_release. */
int mcp_rs_jwks_get(request_rec *r, const mcp_rs_dir_conf *conf,
                    const char *issuer, const char *want_kid,
                    mcp_rs_keyset **keyset, const char **error);
const apr_array_header_t *mcp_rs_keyset_keys(const mcp_rs_keyset *keyset);
void mcp_rs_jwks_release(mcp_rs_keyset *keyset);

/* mcp_rs_http.c: outgoing HTTP with libcurl */
typedef struct {
    const char *url;
    const char *post_body;              /* NULL for GET */
    const char *user, *password;        /* HTTP Basic, or NULL */
    long timeout_ms;
    apr_size_t max_bytes;
} mcp_rs_http_request;
int mcp_rs_http_fetch(apr_pool_t *pool, const mcp_rs_http_request *request,
                      long *status, char **body, apr_size_t *len,
                      const char **error);

/* mcp_rs_introspect.c */
int mcp_rs_introspect(request_rec *r, const mcp_rs_dir_conf *conf,
                      const char *token, mcp_rs_identity **identity,
                      mcp_rs_failure *failure);

/* mcp_rs_challenge.c */
int mcp_rs_note_auth_failure(request_rec *r, const char *auth_type);
void mcp_rs_set_challenge(request_rec *r, const mcp_rs_failure *failure);
void mcp_rs_insert_error_filter(request_rec *r);
void mcp_rs_note_failure(request_rec *r, const mcp_rs_failure *failure);

/* mcp_rs_authz.c */
void mcp_rs_register_authz(apr_pool_t *pool);

/* mcp_rs_metadata.c */
int mcp_rs_metadata_build(apr_pool_t *pconf, apr_pool_t *ptemp, server_rec *s);
int mcp_rs_metadata_handler(request_rec *r, int lookup);
const char *mcp_rs_metadata_url(apr_pool_t *pool, const char *resource);

/* mcp_rs_echo.c */
int mcp_rs_echo_handler(request_rec *r);

/* Request notes shared between hooks. */
#define MCP_RS_NOTE_ERROR       "mcp-rs-error"
#define MCP_RS_NOTE_DESCRIPTION "mcp-rs-error-description"
#define MCP_RS_NOTE_SCOPE       "mcp-rs-required-scope"
#define MCP_RS_NOTE_PREFLIGHT   "mcp-rs-preflight"

#endif /* MCP_RS_H */
