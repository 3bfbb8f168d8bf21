/*
 * mcp-client internals: one context shared by the parts of the flow, and
 * the functions each file provides.  Prefix mcpc_.
 *
 * Pure parts (no curl, no sockets) come first so that the unit tests and
 * the fuzzers can link them alone: the WWW-Authenticate parser, the
 * discovery URL order, PKCE, resource matching, scope union.
 */
#ifndef MCPC_H
#define MCPC_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <jansson.h>

/* Exit codes, documented in --help and mcp-client(1). */
#define MCPC_EXIT_OK        0  /* the tool answered */
#define MCPC_EXIT_SERVER    1  /* the tool answered with an error */
#define MCPC_EXIT_USAGE     2  /* bad command line */
#define MCPC_EXIT_NETWORK   3  /* connection, TLS or timeout */
#define MCPC_EXIT_AUTH      4  /* authorization failed or was denied */
#define MCPC_EXIT_REFUSED   5  /* a server failed a security check */
#define MCPC_EXIT_STORE     6  /* the token store cannot be read or written */
#define MCPC_EXIT_PROTOCOL  7  /* a server's reply breaks its protocol */

/* ------------------------------------------------------------ pure parts */

/* One challenge of a WWW-Authenticate header (RFC 9110 §11.6.1). */
typedef struct {
    const char *scheme;    /* as sent; compare case-insensitively */
    const char *token68;   /* NULL unless the challenge carries one */
    apr_table_t *params;   /* auth-params, names lower-cased, values unquoted */
} mcpc_challenge_t;

/*
 * Parses a WWW-Authenticate field value (several header lines joined with
 * ", " are one value) into an array of mcpc_challenge_t.  MCP_ERROR with
 * *error set when the syntax is broken.
 */
int mcpc_challenge_parse(apr_pool_t *pool, const char *value,
                         apr_array_header_t **challenges, const char **error);
/* The first challenge with `scheme` (case-insensitive), or NULL. */
const mcpc_challenge_t *mcpc_challenge_find(const apr_array_header_t *challenges,
                                            const char *scheme);

/* A candidate metadata URL and the identifier it was derived from. */
typedef struct {
    const char *url;
    const char *derived_from;  /* the resource or issuer the URL encodes */
} mcpc_candidate_t;

/*
 * RFC 9728 §3.1 and MCP 2025-11-25: where to look for protected-resource
 * metadata of `resource_url`: the header's URL when given, then the
 * path-inserted well-known URL, then the root one.
 */
apr_array_header_t *mcpc_prm_candidates(apr_pool_t *pool,
                                        const char *resource_url,
                                        const char *from_header);
/*
 * MCP 2025-11-25 "Authorization Server Metadata Discovery": for an issuer
 * with a path, RFC 8414 path-inserted, OpenID Connect path-inserted, OpenID
 * Connect path-appended; without a path, the two root URLs.
 */
apr_array_header_t *mcpc_as_candidates(apr_pool_t *pool, const char *issuer);

/*
 * 1 when `resource` (from protected-resource metadata) may stand for
 * `url`: same scheme, host and port, and its path equals the URL's path
 * or is a whole-segment prefix of it (a tool at /mcp/echo is covered by the
 * resource /mcp).
 */
int mcpc_resource_covers(apr_pool_t *pool, const char *resource,
                         const char *url);
/* The URL without query and fragment, canonical (mcp_uri_canonical). */
int mcpc_resource_of_url(apr_pool_t *pool, const char *url, char **out);
/* The scheme://host[:port] part of `url`. */
int mcpc_origin_of(apr_pool_t *pool, const char *url, char **out);

/* RFC 7636 §4.1-4.2: a 43-character verifier and its S256 challenge. */
int mcpc_pkce_new(apr_pool_t *pool, char **verifier, char **challenge);

/* Space-separated scope union (order kept, duplicates dropped); NULL if empty. */
const char *mcpc_scope_union(apr_pool_t *pool, const char *a, const char *b);
/* 1 when every scope in `needed` is in `have`. */
int mcpc_scope_covers(apr_pool_t *pool, const char *have, const char *needed);
/* Whether the JSON array holds the string `value` (0 when not an array). */
int mcpc_array_has(const json_t *array, const char *value);

/* ------------------------------------------------------------ the context */

typedef struct mcpc_http_t mcpc_http_t;

typedef struct {
    const char *client_id;
    const char *client_secret;       /* NULL for a public client */
    const char *auth_method;         /* none, client_secret_basic, client_secret_post */
    const char *redirect_uri;        /* what was registered, if anything */
    const char *source;              /* "pre-registered", "metadata document", "registered" */
} mcpc_client_t;

typedef struct {
    const char *issuer;
    const char *authorization_endpoint;
    const char *token_endpoint;
    const char *registration_endpoint;
    json_t *metadata;                /* NULL when none was found (2025-03-26 fallback) */
    int legacy;                      /* found by the 2025-03-26 rules */
} mcpc_as_t;

typedef struct {
    const char *access_token;
    const char *refresh_token;
    const char *scope;
    apr_int64_t expires_at;          /* seconds since the epoch, 0 = unknown */
    const char *resource;
    const char *issuer;
    const char *token_endpoint;
} mcpc_token_t;

typedef struct {
    apr_pool_t *pool;
    /* options */
    const char *url;
    int verbose;
    int show_token;
    int no_browser;
    int list_tools;
    int raw_json;
    const char *tool;
    apr_array_header_t *tool_args;   /* "key=value" strings */
    const char *login_user;
    const char *login_password;
    const char *client_id;
    const char *client_secret;
    const char *client_metadata_url;
    const char *client_key;          /* PEM private key for private_key_jwt */
    const char *grant;               /* authorization_code or client_credentials */
    const char *scope;               /* --scope: asked for in addition */
    const char *token_store;
    const char *cacert;
    long timeout;                    /* seconds for one HTTP exchange */
    long wait;                       /* seconds to wait for the browser */
    /* state */
    mcpc_http_t *http;
    json_t *store;                   /* the token store document */
    apr_array_header_t *store_changes; /* made since the last save, replayed on the file */
    int store_lock;                  /* the lock file's descriptor, -1 when not held */
    int store_lock_depth;
    mcpc_token_t *token;             /* the token in use, or NULL */
    int authorizations;              /* authorization attempts so far */
    int listener;                    /* loopback socket, -1 when closed */
    int listener_port;
    int exit_code;                   /* set with the message of the last failure */
    int quiet;                       /* > 0: failures are traced, not printed */
    int token_loaded;                /* the store was consulted for c->url */
    mcpc_as_t *as;                   /* discovered once per run */
    mcpc_client_t *client;
    const char *resource;            /* the resource indicator to ask tokens for */
    const char *scopes_supported;    /* from the protected-resource metadata */
} mcpc_t;

/* Prints "mcp-client: ..." on stderr when -v is given. */
void mcpc_trace(mcpc_t *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Prints "mcp-client: ..." on stderr, records `code`, returns MCP_ERROR. */
int mcpc_fail(mcpc_t *c, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A token or secret as it may be traced: itself with --show-token, else a short hash. */
const char *mcpc_secret_label(mcpc_t *c, const char *secret);

/* ------------------------------------------------------------ HTTP (libcurl) */

typedef struct {
    long status;
    const char *content_type;        /* without parameters, lower-case */
    apr_table_t *headers;            /* names as sent; several values kept */
    char *body;
    apr_size_t body_len;
} mcpc_response_t;

int mcpc_http_init(mcpc_t *c);
void mcpc_http_cleanup(mcpc_t *c);
/*
 * One exchange; never follows redirects.  `headers` are extra request
 * headers ("Name: value" strings), `basic_user`/`basic_password` HTTP Basic
 * credentials (or NULL).  The URL must be https, or http on a loopback host.
 */
int mcpc_http_request(mcpc_t *c, const char *method, const char *url,
                      const apr_array_header_t *headers,
                      const char *body, apr_size_t body_len,
                      const char *basic_user, const char *basic_password,
                      mcpc_response_t **out);
/* All values of a response header joined with ", ", or NULL. */
const char *mcpc_header(apr_pool_t *pool, const mcpc_response_t *response,
                        const char *name);
/* Parses a JSON object reply; MCP_ERROR (exit code PROTOCOL) when it is not one. */
int mcpc_json_reply(mcpc_t *c, const mcpc_response_t *response,
                    const char *what, json_t **out);

/* ------------------------------------------------------------ the flow */

/* discovery: fills *as (and *resource, *scopes_supported from the PRM) */
int mcpc_discover(mcpc_t *c, const char *resource_metadata_url,
                  const char **resource, const char **scopes_supported,
                  mcpc_as_t **as);
/* client identity in the spec's priority order (binds the listener for the code flow) */
int mcpc_client_identity(mcpc_t *c, mcpc_as_t *as, mcpc_client_t **client);
/* authorization code + PKCE: a fresh token in c->token */
int mcpc_authorize(mcpc_t *c, mcpc_as_t *as, mcpc_client_t *client,
                   const char *resource, const char *scope);
/* the loopback listener's redirect URI (binds it on first use, on
 * `preferred_port` when that is free, else on a random port) */
int mcpc_redirect_uri(mcpc_t *c, int preferred_port, const char **uri);
/* the token endpoint authentication method for a client with or without a secret */
const char *mcpc_auth_method(const json_t *as_metadata, int has_secret);
void mcpc_listener_close(mcpc_t *c);
/* token endpoint: grant is "authorization_code", "refresh_token" or "client_credentials" */
int mcpc_token_request(mcpc_t *c, const char *token_endpoint,
                       const json_t *as_metadata, mcpc_client_t *client,
                       apr_table_t *params, const char *resource,
                       const char *issuer, mcpc_token_t **token);
int mcpc_refresh(mcpc_t *c);
/* RFC 7523 §2.2: a JWT signed with --client-key, for `audience` (the issuer) */
int mcpc_client_assertion(mcpc_t *c, const char *client_id, const char *audience,
                          char **assertion);

/* token store */
int mcpc_store_load(mcpc_t *c);
int mcpc_store_save(mcpc_t *c);
/*
 * An exclusive lock on the store (FILE.lock) across processes, reentrant
 * within one: held while a token is refreshed, so that two runs never spend
 * the same refresh token (a reused one revokes its whole family).
 */
void mcpc_store_lock(mcpc_t *c);
void mcpc_store_unlock(mcpc_t *c);
/* The token for (resource, issuer) as the file has it now, or NULL. */
mcpc_token_t *mcpc_store_reread_token(mcpc_t *c, const char *resource, const char *issuer);
const char *mcpc_store_default_path(apr_pool_t *pool);
mcpc_token_t *mcpc_store_find_token(mcpc_t *c, const char *url);
void mcpc_store_put_token(mcpc_t *c, const mcpc_token_t *token);
void mcpc_store_drop_token(mcpc_t *c, const mcpc_token_t *token);
mcpc_client_t *mcpc_store_find_client(mcpc_t *c, const char *issuer);
void mcpc_store_put_client(mcpc_t *c, const char *issuer, const mcpc_client_t *client);

/* a request with the whole authorization dance around it */
int mcpc_request(mcpc_t *c, const char *method, const char *url,
                 const apr_array_header_t *headers,
                 const char *body, apr_size_t body_len,
                 mcpc_response_t **out);

/* MCP Streamable HTTP */
int mcpc_mcp_run(mcpc_t *c);

#endif /* MCPC_H */
