/*
 * Verification keys: fetched from MCPJWKS (a URL or a file) or, by
 * default, from the jwks_uri in the issuer's metadata (RFC 8414 §3, then
 * OpenID Connect discovery), and cached per process.
 *
 * Rules (DESIGN.md, issue 3):
 * - one fetch in flight per key set; other threads keep using the keys
 *   they have, or wait for the fetch when there are none yet;
 * - a kid not in the set triggers a refetch, at most once per
 *   MCPJWKSRefetchInterval (30 s) per key set, so tokens with made-up kids
 *   cannot make us hammer the issuer;
 * - the set is refreshed after MCPJWKSRefresh even when nothing asks;
 * - when a fetch fails (down, slow, garbage) the old keys stay in use and
 *   the failure is logged; keys we never had fail closed.
 * A key set is reference-counted: a thread verifying with it keeps it
 * alive while a newer set replaces it.
 */
#include <stdlib.h>
#include <string.h>
#include <apr_file_io.h>
#include <apr_hash.h>
#include <apr_strings.h>
#include <apr_thread_cond.h>
#include <apr_thread_mutex.h>
#include <httpd.h>
#include <http_config.h>
#include <http_log.h>

#include "mcp_common.h"
#include "mcp_rs.h"

APLOG_USE_MODULE(mcp_rs);

/* Key sets and metadata are small; anything larger is not one. */
#define MAX_DOCUMENT_BYTES (512 * 1024)

struct mcp_rs_keyset {
    apr_pool_t *pool;                   /* owns keys; destroyed at refs 0 */
    apr_array_header_t *keys;           /* mcp_key_t */
    int refs;
    int retired;
};

typedef struct {
    const char *source;                 /* URL, file, or "issuer:" + issuer */
    mcp_rs_keyset *current;
    apr_time_t fetched_at;
    apr_time_t attempted_at;
    int fetching;
} jwks_entry;

/* Per process; every access holds `lock`. */
static struct {
    apr_thread_mutex_t *lock;
    apr_thread_cond_t *fetched;
    apr_pool_t *pool;
    apr_hash_t *entries;                /* source → jwks_entry */
} jwks;

static void drop_reference(mcp_rs_keyset *keyset);

/*
 * The key sets live in root pools of their own (a fetch must not create
 * children of the shared process pool): when the child ends, the sets
 * still in use go with it, and their jansson/cjose/OpenSSL objects are
 * released rather than left for the process's exit to drop
 * (t/78-hostile-lsan.t).  Runs before the lock, made earlier in the same
 * pool, is destroyed.
 */
static apr_status_t jwks_cleanup(void *data)
{
    apr_hash_index_t *index;

    apr_thread_mutex_lock(jwks.lock);
    for (index = apr_hash_first(NULL, jwks.entries); index != NULL;
         index = apr_hash_next(index)) {
        jwks_entry *entry = apr_hash_this_val(index);
        if (entry->current != NULL) {
            entry->current->retired = 1;
            drop_reference(entry->current);
            entry->current = NULL;
        }
    }
    apr_thread_mutex_unlock(jwks.lock);
    return APR_SUCCESS;
}

apr_status_t mcp_rs_jwks_init(apr_pool_t *pool, server_rec *s)
{
    apr_status_t rv;

    jwks.pool = pool;
    jwks.entries = apr_hash_make(pool);
    rv = apr_thread_mutex_create(&jwks.lock, APR_THREAD_MUTEX_DEFAULT, pool);
    if (rv == APR_SUCCESS) {
        rv = apr_thread_cond_create(&jwks.fetched, pool);
    }
    if (rv == APR_SUCCESS) {
        apr_pool_cleanup_register(pool, NULL, jwks_cleanup,
                                  apr_pool_cleanup_null);
    }
    return rv;
}

static int read_file(apr_pool_t *pool, const char *path, char **text,
                     apr_size_t *len, const char **error)
{
    apr_file_t *file;
    apr_finfo_t info;
    apr_status_t rv;

    rv = apr_file_open(&file, path, APR_FOPEN_READ | APR_FOPEN_BINARY,
                       APR_OS_DEFAULT, pool);
    if (rv == APR_SUCCESS) {
        rv = apr_file_info_get(&info, APR_FINFO_SIZE, file);
    }
    if (rv == APR_SUCCESS && info.size > MAX_DOCUMENT_BYTES) {
        apr_file_close(file);
        *error = apr_psprintf(pool, "%s is larger than %d bytes", path,
                              MAX_DOCUMENT_BYTES);
        return MCP_ERROR;
    }
    if (rv == APR_SUCCESS) {
        *text = apr_palloc(pool, (apr_size_t)info.size + 1);
        rv = apr_file_read_full(file, *text, (apr_size_t)info.size, len);
        (*text)[*len] = '\0';
        /* the key set's pool lives long: do not keep the file open with it */
        apr_file_close(file);
    }
    if (rv != APR_SUCCESS) {
        char message[120];
        *error = apr_psprintf(pool, "cannot read %s: %s", path,
                              apr_strerror(rv, message, sizeof(message)));
        return MCP_ERROR;
    }
    return MCP_OK;
}

static int parse_keys(apr_pool_t *pool, const char *where, const char *text,
                      apr_size_t len, apr_array_header_t **keys,
                      const char **error)
{
    if (mcp_jwks_parse(pool, text, len, keys, error) != MCP_OK) {
        *error = apr_psprintf(pool, "%s is not a JWKS: %s", where, *error);
        return MCP_ERROR;
    }
    if ((*keys)->nelts == 0) {
        *error = apr_psprintf(pool, "%s has no usable RSA or EC signature "
                              "key", where);
        return MCP_ERROR;
    }
    return MCP_OK;
}

int mcp_rs_jwks_check_source(apr_pool_t *pool, const char *source,
                             const char **error)
{
    apr_array_header_t *keys;
    char *text;
    apr_size_t len;

    if (strstr(source, "://") != NULL) {
        return MCP_OK;                  /* fetched when first needed */
    }
    if (read_file(pool, source, &text, &len, error) != MCP_OK
        || parse_keys(pool, source, text, len, &keys, error) != MCP_OK) {
        return MCP_ERROR;
    }
    return MCP_OK;
}

static int fetch_json(apr_pool_t *pool, const char *url, long timeout_ms,
                      char **text, apr_size_t *len, const char **error)
{
    mcp_rs_http_request request = { url, NULL, NULL, NULL, timeout_ms,
                                    MAX_DOCUMENT_BYTES };
    long status = 0;

    if (mcp_rs_http_fetch(pool, &request, &status, text, len, error) != MCP_OK) {
        *error = apr_psprintf(pool, "%s: %s", url, *error);
        return MCP_ERROR;
    }
    if (status != 200) {
        *error = apr_psprintf(pool, "%s answered with status %ld", url, status);
        return MCP_ERROR;
    }
    return MCP_OK;
}

/* RFC 8414 §3: the issuer's metadata names its jwks_uri; the document
 * must be the issuer's own (§3.3). OpenID discovery as the fallback. */
static int discover_jwks_uri(apr_pool_t *pool, const char *issuer,
                             long timeout_ms, const char **jwks_uri,
                             const char **error)
{
    char *urls[2], *text;
    apr_size_t len;
    int i;

    if (mcp_well_known_url(pool, issuer, "oauth-authorization-server",
                           &urls[0]) != MCP_OK) {
        *error = "the issuer is not a URL";
        return MCP_ERROR;
    }
    urls[1] = apr_pstrcat(pool, issuer,
                          issuer[strlen(issuer) - 1] == '/' ? "" : "/",
                          ".well-known/openid-configuration", NULL);
    for (i = 0; i < 2; i++) {
        json_t *metadata;
        const char *uri, *claimed;
        if (fetch_json(pool, urls[i], timeout_ms, &text, &len, error) != MCP_OK
            || mcp_json_parse_object(pool, text, len, &metadata, error) != MCP_OK) {
            continue;
        }
        claimed = mcp_json_string(metadata, "issuer");
        uri = mcp_json_string(metadata, "jwks_uri");
        if (claimed == NULL || strcmp(claimed, issuer) != 0) {
            *error = apr_psprintf(pool, "%s is metadata of another issuer",
                                  urls[i]);
            continue;
        }
        if (uri == NULL || !mcp_uri_is_web(pool, uri, 0, NULL)) {
            *error = apr_psprintf(pool, "%s has no usable https jwks_uri",
                                  urls[i]);
            continue;
        }
        *jwks_uri = uri;
        return MCP_OK;
    }
    return MCP_ERROR;
}

/* Fetches a new key set for `source`, outside the lock. */
static int fetch_keyset(server_rec *s, const char *source,
                        mcp_rs_keyset **out, const char **error)
{
    const mcp_rs_server_conf *sconf = mcp_rs_server(s);
    mcp_rs_keyset *keyset;
    apr_pool_t *pool;
    const char *url = source;
    char *text;
    apr_size_t len;
    int rc;

    /* a root pool: this thread must not create children of the shared
     * process pool while other threads may do the same */
    if (apr_pool_create(&pool, NULL) != APR_SUCCESS) {
        /* the caller frees the message */
        *error = strdup("out of memory");
        return MCP_ERROR;
    }
    if (strncmp(source, "issuer:", 7) == 0
        && discover_jwks_uri(pool, source + 7, sconf->jwks_timeout_ms, &url,
                             error) != MCP_OK) {
        rc = MCP_ERROR;
    }
    else if (strstr(url, "://") != NULL) {
        rc = fetch_json(pool, url, sconf->jwks_timeout_ms, &text, &len, error);
    }
    else {
        rc = read_file(pool, url, &text, &len, error);
    }
    keyset = apr_pcalloc(pool, sizeof(*keyset));
    if (rc == MCP_OK) {
        rc = parse_keys(pool, url, text, len, &keyset->keys, error);
    }
    if (rc != MCP_OK) {
        /* the message outlives the pool */
        *error = strdup(*error);
        apr_pool_destroy(pool);
        return MCP_ERROR;
    }
    keyset->pool = pool;
    *out = keyset;
    return MCP_OK;
}

static int has_kid(const mcp_rs_keyset *keyset, const char *kid)
{
    int i;

    for (i = 0; i < keyset->keys->nelts; i++) {
        const mcp_key_t *key = &APR_ARRAY_IDX(keyset->keys, i, mcp_key_t);
        if (key->kid != NULL && strcmp(key->kid, kid) == 0) {
            return 1;
        }
    }
    return 0;
}

/* Under the lock. */
static void drop_reference(mcp_rs_keyset *keyset)
{
    if (--keyset->refs == 0 && keyset->retired) {
        apr_pool_destroy(keyset->pool);
    }
}

int mcp_rs_jwks_get(request_rec *r, const mcp_rs_dir_conf *conf,
                    const char *issuer, const char *want_kid,
                    mcp_rs_keyset **out, const char **error)
{
    const mcp_rs_server_conf *sconf = mcp_rs_server(r->server);
    const char *source = conf->jwks_set ? conf->jwks
                         : apr_pstrcat(r->pool, "issuer:", issuer, NULL);
    apr_time_t now = apr_time_now();
    apr_interval_time_t interval = apr_time_from_sec(sconf->jwks_refetch_interval);
    jwks_entry *entry;
    int need;

    if (jwks.lock == NULL) {
        *error = "the key cache is not initialised";
        return MCP_ERROR;
    }
    apr_thread_mutex_lock(jwks.lock);
    entry = apr_hash_get(jwks.entries, source, APR_HASH_KEY_STRING);
    if (entry == NULL) {
        /* one entry per configured source: bounded by the configuration */
        entry = apr_pcalloc(jwks.pool, sizeof(*entry));
        entry->source = apr_pstrdup(jwks.pool, source);
        apr_hash_set(jwks.entries, entry->source, APR_HASH_KEY_STRING, entry);
    }
    need = entry->current == NULL
           || (want_kid != NULL && !has_kid(entry->current, want_kid))
           || now - entry->fetched_at >= apr_time_from_sec(sconf->jwks_refresh);
    if (need && entry->attempted_at != 0 && now - entry->attempted_at < interval) {
        need = 0;                       /* rate limit, RFC 8725 spirit */
    }
    if (need && !entry->fetching) {
        mcp_rs_keyset *fresh = NULL;
        const char *fetch_error = NULL;
        int rc;

        entry->fetching = 1;
        entry->attempted_at = now;
        apr_thread_mutex_unlock(jwks.lock);
        rc = fetch_keyset(r->server, source, &fresh, &fetch_error);
        if (rc != MCP_OK) {
            ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, APLOGNO(20030)
                          "mod_mcp_rs: cannot fetch keys for %s: %s; %s",
                          issuer, fetch_error,
                          entry->current ? "keeping the keys we have"
                                         : "no keys to verify with");
            free((void *)fetch_error);
        }
        apr_thread_mutex_lock(jwks.lock);
        if (rc == MCP_OK) {
            mcp_rs_keyset *old = entry->current;
            ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, APLOGNO(20031)
                          "mod_mcp_rs: fetched %d keys for %s from %s",
                          fresh->keys->nelts, issuer, source);
            fresh->refs = 1;            /* the entry's own reference */
            entry->current = fresh;
            entry->fetched_at = apr_time_now();
            if (old != NULL) {
                old->retired = 1;
                drop_reference(old);
            }
        }
        entry->fetching = 0;
        apr_thread_cond_broadcast(jwks.fetched);
    }
    else if (entry->fetching && entry->current == NULL) {
        /* The first fetch is under way in another thread: wait for it
         * rather than refuse a token we may well be able to verify. */
        apr_time_t deadline = now + apr_time_from_msec(sconf->jwks_timeout_ms)
                              + apr_time_from_sec(1);
        while (entry->fetching && apr_time_now() < deadline) {
            apr_thread_cond_timedwait(jwks.fetched, jwks.lock,
                                      apr_time_from_msec(100));
        }
    }
    if (entry->current == NULL) {
        apr_thread_mutex_unlock(jwks.lock);
        *error = "the issuer's keys could not be fetched";
        return MCP_ERROR;
    }
    entry->current->refs++;
    *out = entry->current;
    apr_thread_mutex_unlock(jwks.lock);
    return MCP_OK;
}

const apr_array_header_t *mcp_rs_keyset_keys(const mcp_rs_keyset *keyset)
{
    return keyset->keys;
}

void mcp_rs_jwks_release(mcp_rs_keyset *keyset)
{
    apr_thread_mutex_lock(jwks.lock);
    drop_reference(keyset);
    apr_thread_mutex_unlock(jwks.lock);
}
