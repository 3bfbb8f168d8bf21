/* mod_mcp_as: declarations shared by the module's source files. */
#ifndef MCP_AS_H
#define MCP_AS_H

#include <httpd.h>
#include <http_config.h>
#include <http_log.h>
#include <apr_dbd.h>
#include <apr_hash.h>
#include <apr_reslist.h>
#include <apr_global_mutex.h>
#include <ap_socache.h>
#include <jansson.h>
#include <cjose/cjose.h>

extern module AP_MODULE_DECLARE_DATA mcp_as_module;

#if defined(APLOG_USE_MODULE) && !defined(MCP_AS_MODULE_FILE)
APLOG_USE_MODULE(mcp_as);
#endif

/* http_log.h defines it; static analysers that skip system headers need
 * to see it too, or the string after it makes no sense to them. */
#ifndef APLOGNO
#define APLOGNO(n) "AH" #n ": "
#endif

/* The handler name (SetHandler mcp-as) and the internal one for metadata. */
#define MCP_AS_HANDLER          "mcp-as"
#define MCP_AS_METADATA_HANDLER "mcp-as-metadata"

/* RFC 7591 registration request cap (the issue asks for 64 KiB). */
#define MCP_AS_REGISTER_MAX     (64 * 1024)
/* Form bodies of the token, revocation, introspection and consent posts. */
#define MCP_AS_FORM_MAX         (16 * 1024)

typedef enum {
    MCP_AS_REGISTRATION_OPEN = 0,
    MCP_AS_REGISTRATION_TOKEN,
    MCP_AS_REGISTRATION_OFF
} mcp_as_registration_mode;

/* One MCPSigningKey line, and the key loaded from it in post_config. */
typedef struct {
    const char *file;
    const char *kid;          /* as configured; NULL: RFC 7638 thumbprint */
    const char *alg;          /* "ES256" or "RS256" */
    cjose_jwk_t *jwk;         /* private key, loaded in post_config */
    const char *effective_kid;
} mcp_as_key;

/* One MCPClient line: a pre-configured confidential client. */
typedef struct {
    const char *client_id;
    const char *secret_hash;  /* base64url(SHA-256(secret)) */
    apr_array_header_t *scopes;
} mcp_as_static_client;

/* Durable store: one per distinct (driver, params), shared by servers. */
typedef struct mcp_as_store mcp_as_store;

typedef struct {
    const char *issuer;
    const char *endpoint_base;          /* URL path of SetHandler mcp-as */
    apr_array_header_t *keys;           /* mcp_as_key */
    const char *store_driver;
    const char *store_params;
    const char *cache_spec;             /* PROVIDER[:ARGS], global */
    apr_array_header_t *scopes;         /* const char * */
    apr_table_t *scope_descriptions;
    apr_array_header_t *resources;      /* const char * */
    apr_interval_time_t access_lifetime;  /* seconds */
    apr_interval_time_t refresh_lifetime; /* seconds */
    apr_interval_time_t code_lifetime;    /* seconds */
    mcp_as_registration_mode registration;
    const char *registration_token_hash;
    apr_array_header_t *clients;        /* mcp_as_static_client */
    apr_array_header_t *introspectors;  /* client ids allowed to introspect any token */
    int cimd_allow_private;
    int cimd;                           /* Client ID Metadata Documents on/off */
    const char *cimd_ca_file;           /* CA bundle for fetching them, or NULL */
    int rate_count;                     /* MCPClientRateLimit; 0: off */
    apr_interval_time_t rate_period;    /* seconds */

    unsigned int issuer_set:1;
    unsigned int endpoint_base_set:1;
    unsigned int keys_set:1;
    unsigned int store_set:1;
    unsigned int cache_set:1;
    unsigned int scopes_set:1;
    unsigned int resources_set:1;
    unsigned int access_lifetime_set:1;
    unsigned int refresh_lifetime_set:1;
    unsigned int code_lifetime_set:1;
    unsigned int registration_set:1;
    unsigned int clients_set:1;
    unsigned int introspectors_set:1;
    unsigned int cimd_allow_private_set:1;
    unsigned int cimd_set:1;
    unsigned int cimd_ca_file_set:1;
    unsigned int rate_set:1;

    /* runtime, filled in post_config */
    mcp_as_store *store;
    const char *metadata_path;          /* RFC 8414 well-known URL path */
} mcp_as_server_conf;

#define MCP_AS_CONF(s) \
    ((mcp_as_server_conf *)ap_get_module_config((s)->module_config, &mcp_as_module))

/* ------------------------------------------------------------ config (mcp_as_config.c) */
extern const command_rec mcp_as_directives[];
void *mcp_as_create_server_config(apr_pool_t *pool, server_rec *s);
void *mcp_as_merge_server_config(apr_pool_t *pool, void *base, void *add);
/* Cross-directive checks and defaults; returns an error message or NULL. */
const char *mcp_as_check_config(apr_pool_t *pool, apr_pool_t *ptemp,
                                server_rec *s);
/* The absolute URL of endpoint `name` (authorize, token, ...). */
const char *mcp_as_endpoint_url(apr_pool_t *pool,
                                const mcp_as_server_conf *conf,
                                const char *name);
int mcp_as_scope_supported(const mcp_as_server_conf *conf, const char *scope);

/* ------------------------------------------------------------ store (mcp_as_store.c) */
/* Status codes of store operations. */
#define MCP_AS_STORE_OK           0
#define MCP_AS_STORE_NOTFOUND     1
#define MCP_AS_STORE_CONFLICT     2   /* the row was already there / used */
#define MCP_AS_STORE_UNAVAILABLE  3   /* locked, down: 503 temporarily_unavailable */

typedef struct mcp_as_txn mcp_as_txn;

/* Ends the string arguments of the statement functions below. */
#define MCP_AS_END ((const char *)NULL)

void mcp_as_store_pre_config(apr_pool_t *pconf);
int mcp_as_store_init(apr_pool_t *pconf, apr_pool_t *ptemp, server_rec *s,
                      mcp_as_server_conf *conf, apr_hash_t *stores);
/* Removes expired codes markers and revocations (now and then). */
void mcp_as_store_housekeeping(request_rec *r, mcp_as_store *store);
void mcp_as_store_child_init(apr_pool_t *pchild, server_rec *s);

/* A transaction on a pooled connection; all statements run inside it. */
/* `write`: the transaction will write (SQLite: BEGIN IMMEDIATE, so two
 * writers never deadlock upgrading their locks).  Without it, the
 * transaction is one SELECT: on PostgreSQL it runs alone, without BEGIN
 * and COMMIT (two round trips fewer to the shared database). */
int mcp_as_txn_begin(request_rec *r, mcp_as_store *store, int write,
                     mcp_as_txn **txn);
int mcp_as_txn_commit(mcp_as_txn *txn);
void mcp_as_txn_abort(mcp_as_txn *txn);
/* Runs prepared statement `label` with string arguments; *nrows changed. */
int mcp_as_txn_exec(mcp_as_txn *txn, const char *label, int *nrows, ...);
/* Runs a select; the first row's columns are copied into *row (NULL-terminated). */
int mcp_as_txn_select1(mcp_as_txn *txn, const char *label,
                       const char ***row, ...);
/* Runs a select returning all rows as an array of const char ** */
int mcp_as_txn_select(mcp_as_txn *txn, const char *label,
                      apr_array_header_t **rows, ...);

/* ------------------------------------------------------------ cache (mcp_as_cache.c) */
const char *mcp_as_cache_configure(cmd_parms *cmd, const char *spec);
void mcp_as_cache_pre_config(apr_pool_t *pconf);
int mcp_as_cache_post_config(apr_pool_t *pconf, apr_pool_t *ptemp,
                             server_rec *s);
void mcp_as_cache_child_init(apr_pool_t *pchild, server_rec *s);
/*
 * Cache keys are SHA-256(kind ":" secret), binary: the secret never sits in
 * shared memory, and shmcb, which picks a subcache by the key's first
 * byte, spreads them over all of its subcaches.
 */
const unsigned char *mcp_as_cache_key(apr_pool_t *pool, const char *kind,
                                      const char *secret);
int mcp_as_cache_store(request_rec *r, const unsigned char *key,
                       const char *value, apr_time_t expiry);
/* MCP_OK and *value, or MCP_ERROR when absent or expired. */
int mcp_as_cache_get(request_rec *r, const unsigned char *key, char **value);
void mcp_as_cache_remove(request_rec *r, const unsigned char *key);
/*
 * Read-modify-write of one entry: `update` gets the current value (NULL
 * when absent or expired) and returns the new one and its *expiry, or
 * NULL to leave the entry as it is.  Atomic across the server's processes
 * and threads when the provider needs the cache mutex (shmcb, the
 * default); with a provider that is safe on its own (memcache) two
 * concurrent updates of the same key may both read the old value.
 */
typedef const char *(*mcp_as_cache_updater)(request_rec *r, const char *old,
                                            void *baton, apr_time_t *expiry);
int mcp_as_cache_update(request_rec *r, const unsigned char *key,
                        mcp_as_cache_updater update, void *baton);

/* ------------------------------------------------------------ rate limits (mcp_as_ratelimit.c) */
/*
 * MCPClientRateLimit: MCP_OK when this client may make one more request;
 * MCP_ERROR with the reply (429, Retry-After) in *reply when it may not.  `page`: answer with an HTML
 * page (the authorization endpoint) rather than a JSON error.
 */
int mcp_as_rate_limit(request_rec *r, mcp_as_server_conf *conf,
                      const char *client_id, int page, int *reply);

/* ------------------------------------------------------------ keys (mcp_as_keys.c) */
int mcp_as_keys_load(apr_pool_t *pconf, apr_pool_t *ptemp, server_rec *s,
                     mcp_as_server_conf *conf);
/* configtest: every MCPSigningKey file that exists is a key that can sign
 * with the algorithm asked for (the messages logged at start-up): MCP_OK */
int mcp_as_keys_check(apr_pool_t *pconf, apr_pool_t *ptemp, server_rec *s,
                      mcp_as_server_conf *conf);
int mcp_as_handle_jwks(request_rec *r, mcp_as_server_conf *conf);

/* ------------------------------------------------------------ jwt (mcp_as_jwt.c) */
typedef struct {
    const char *sub, *client_id, *scope, *aud, *jti;
    apr_time_t iat, exp;     /* seconds */
} mcp_as_token_claims;
/* Signs an RFC 9068 access token with the first key; fills claims->jti. */
int mcp_as_jwt_issue(request_rec *r, mcp_as_server_conf *conf,
                     mcp_as_token_claims *claims, char **jwt);
/* Verifies one of our own access tokens (signature, iss, typ); exp not checked. */
int mcp_as_jwt_verify(request_rec *r, mcp_as_server_conf *conf,
                      const char *jwt, json_t **claims);

/* ------------------------------------------------------------ endpoints */
int mcp_as_handle_metadata(request_rec *r, mcp_as_server_conf *conf);
int mcp_as_handle_register(request_rec *r, mcp_as_server_conf *conf);
int mcp_as_handle_authorize(request_rec *r, mcp_as_server_conf *conf);
int mcp_as_handle_token(request_rec *r, mcp_as_server_conf *conf);
int mcp_as_handle_revoke(request_rec *r, mcp_as_server_conf *conf);
int mcp_as_handle_introspect(request_rec *r, mcp_as_server_conf *conf);

/* ------------------------------------------------------------ clients (mcp_as_client.c) */
typedef struct {
    const char *client_id;
    const char *auth_method;      /* none, client_secret_basic, client_secret_post */
    const char *secret_hash;      /* NULL for public clients */
    json_t *metadata;             /* registered metadata (pool-owned) */
    apr_array_header_t *redirect_uris;
    apr_array_header_t *grant_types;
    const char *scope;            /* registered scope or NULL */
    const char *name;
    int is_static;                /* MCPClient */
    int is_metadata_document;     /* CIMD */
} mcp_as_client;

/* Looks up a client; MCP_AS_STORE_* status. */
int mcp_as_client_find(request_rec *r, mcp_as_server_conf *conf,
                       const char *client_id, mcp_as_client **client);
int mcp_as_client_has_grant(const mcp_as_client *client, const char *grant);

/*
 * Client authentication at the token, revocation and introspection
 * endpoints (RFC 6749 §2.3, OAuth 2.1 §2.4).  On failure it has already
 * replied (invalid_client, 401, WWW-Authenticate when Basic was used, or
 * 503) and returns that status through *reply.
 */
int mcp_as_client_authenticate(request_rec *r, mcp_as_server_conf *conf,
                               apr_table_t *form, mcp_as_client **client,
                               int *reply);

/* ------------------------------------------------------------ client metadata (mcp_as_client_metadata.c) */
/* OAuth 2.1 §2.3.1 / RFC 8252 redirect URI rules. */
int mcp_as_redirect_uri_valid(apr_pool_t *pool, const char *uri,
                              const char **why);

/* A checked registration request: the metadata to store, or the error. */
typedef struct {
    json_t *client;               /* pool-owned; no client_id or secret yet */
    const char *method;           /* token_endpoint_auth_method */
    const char *error;            /* invalid_client_metadata, invalid_redirect_uri */
    const char *description;
} mcp_as_register_result;
int mcp_as_register_validate(apr_pool_t *pool, const mcp_as_server_conf *conf,
                             const char *body, apr_size_t len,
                             mcp_as_register_result *out);
/* A Client ID Metadata Document fetched from `url`. */
int mcp_as_cimd_parse(apr_pool_t *pool, const char *url, const char *text,
                      apr_size_t len, mcp_as_client **out, const char **error);

/* ------------------------------------------------------------ CIMD (mcp_as_cimd.c) */
int mcp_as_cimd_is_url(const char *client_id);
void mcp_as_cimd_global_init(apr_pool_t *pconf);
int mcp_as_cimd_fetch(request_rec *r, mcp_as_server_conf *conf,
                      const char *client_id, mcp_as_client **client,
                      const char **error);

/* ------------------------------------------------------------ helpers (mcp_as_util.c) */
/* Replies 503 temporarily_unavailable (the store is locked or down). */
int mcp_as_unavailable(request_rec *r);
/* apr_global_mutex_lock, asking again after a deadlock that fcntl()
 * locks report between threads of different processes (none is real). */
apr_status_t mcp_as_mutex_lock(apr_global_mutex_t *mutex);
/* Splits a space-separated scope string into an array. */
apr_array_header_t *mcp_as_scope_split(apr_pool_t *pool, const char *scope);
/* 1 when every scope of `want` is in `have`. */
int mcp_as_scope_subset(apr_pool_t *pool, const char *want, const char *have);
/* Reads and parses a form body (application/x-www-form-urlencoded only). */
int mcp_as_read_form(request_rec *r, apr_table_t **form, const char **error,
                     int *status);
/* Audit line (never a secret): event name and key=value pairs. */
void mcp_as_audit(request_rec *r, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
const char *mcp_as_now_str(apr_pool_t *pool);
apr_time_t mcp_as_now(void);

#endif /* MCP_AS_H */
