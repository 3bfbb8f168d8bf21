/*
 * Verified tokens, remembered per process (DESIGN.md: the resource server
 * shares no state; each child verifies a token once).
 *
 * Keyed by base64url(SHA-256(token)), never the token.  Bounded: entries
 * live in two generations, each a pool and a hash of at most half of
 * MCPTokenCacheSize entries; when the current one is full the older one is
 * dropped as a whole and a new one started, and a hit in the older one is
 * copied forward, so tokens in use stay.  Entries are copied out under the
 * lock, so no request ever holds memory a later eviction frees.  One mutex
 * guards it all: the work under it is a hash lookup and a few copies.
 */
#include <string.h>
#include <apr_hash.h>
#include <apr_strings.h>
#include <apr_thread_mutex.h>
#include <httpd.h>
#include <http_config.h>
#include <http_log.h>

#include "mcp_common.h"
#include "mcp_rs.h"

APLOG_USE_MODULE(mcp_rs);

typedef struct {
    mcp_rs_identity identity;
    apr_time_t until;
} cache_entry;

typedef struct {
    apr_pool_t *pool;
    apr_hash_t *entries;
} generation;

/* Per process; every access holds `lock`. */
static struct {
    apr_thread_mutex_t *lock;
    generation generations[2];          /* [0] current, [1] older */
    int capacity;                       /* per generation */
} token_cache;

static const char *copy_string(apr_pool_t *pool, const char *s)
{
    return s ? apr_pstrdup(pool, s) : NULL;
}

static void copy_identity(apr_pool_t *pool, mcp_rs_identity *to,
                          const mcp_rs_identity *from)
{
    int i;

    *to = *from;
    to->sub = copy_string(pool, from->sub);
    to->client_id = copy_string(pool, from->client_id);
    to->scope = copy_string(pool, from->scope);
    to->iss = copy_string(pool, from->iss);
    to->alg = copy_string(pool, from->alg);
    to->jti = copy_string(pool, from->jti);
    to->aud = apr_array_make(pool, from->aud->nelts, sizeof(char *));
    for (i = 0; i < from->aud->nelts; i++) {
        APR_ARRAY_PUSH(to->aud, const char *) =
            apr_pstrdup(pool, APR_ARRAY_IDX(from->aud, i, const char *));
    }
}

apr_status_t mcp_rs_cache_init(apr_pool_t *pool, server_rec *s)
{
    const mcp_rs_server_conf *conf = mcp_rs_server(s);
    apr_status_t rv;
    int i;

    token_cache.capacity = conf->token_cache_size / 2;
    if (conf->token_cache_size > 0 && token_cache.capacity == 0) {
        token_cache.capacity = 1;
    }
    rv = apr_thread_mutex_create(&token_cache.lock, APR_THREAD_MUTEX_DEFAULT,
                                 pool);
    for (i = 0; rv == APR_SUCCESS && i < 2; i++) {
        rv = apr_pool_create(&token_cache.generations[i].pool, pool);
        if (rv == APR_SUCCESS) {
            token_cache.generations[i].entries =
                apr_hash_make(token_cache.generations[i].pool);
        }
    }
    return rv;
}

/* Under the lock: store into the current generation, rotating when full. */
static void store(const char *key, const mcp_rs_identity *identity,
                  apr_time_t until)
{
    generation *current = &token_cache.generations[0];
    cache_entry *entry = apr_hash_get(current->entries, key, APR_HASH_KEY_STRING);

    if (entry != NULL) {
        /* an entry that expired (introspection results end before the
         * token does) is renewed in place */
        if (until > entry->until) {
            copy_identity(current->pool, &entry->identity, identity);
            entry->until = until;
        }
        return;
    }
    if ((int)apr_hash_count(current->entries) >= token_cache.capacity) {
        generation older = token_cache.generations[1];
        apr_pool_clear(older.pool);
        older.entries = apr_hash_make(older.pool);
        token_cache.generations[1] = *current;
        token_cache.generations[0] = older;
        current = &token_cache.generations[0];
    }
    entry = apr_palloc(current->pool, sizeof(*entry));
    copy_identity(current->pool, &entry->identity, identity);
    entry->until = until;
    apr_hash_set(current->entries, apr_pstrdup(current->pool, key),
                 APR_HASH_KEY_STRING, entry);
}

int mcp_rs_cache_get(request_rec *r, const char *key, mcp_rs_identity **out)
{
    cache_entry *entry = NULL;
    int found = 0, i;

    if (token_cache.lock == NULL || token_cache.capacity == 0) {
        return 0;
    }
    apr_thread_mutex_lock(token_cache.lock);
    for (i = 0; i < 2 && entry == NULL; i++) {
        entry = apr_hash_get(token_cache.generations[i].entries, key,
                             APR_HASH_KEY_STRING);
    }
    if (entry != NULL && entry->until > apr_time_now()) {
        *out = apr_palloc(r->pool, sizeof(**out));
        copy_identity(r->pool, *out, &entry->identity);
        found = 1;
        if (i == 2) {
            /* found in the older generation: keep it past the next drop */
            store(key, *out, entry->until);
        }
    }
    apr_thread_mutex_unlock(token_cache.lock);
    return found;
}

void mcp_rs_cache_put(request_rec *r, const char *key,
                      const mcp_rs_identity *identity, apr_time_t until)
{
    if (token_cache.lock == NULL || token_cache.capacity == 0
        || until <= apr_time_now()) {
        return;
    }
    apr_thread_mutex_lock(token_cache.lock);
    store(key, identity, until);
    apr_thread_mutex_unlock(token_cache.lock);
}
