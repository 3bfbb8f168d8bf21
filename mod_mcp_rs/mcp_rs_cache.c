/*
 * Verified tokens, remembered per process (DESIGN.md: the resource server
 * shares no state; each child verifies a token once).
 *
 * Keyed by base64url(SHA-256(token)), never the token.  Bounded: entries
 * live in two generations, each a pool and a hash of at most half of
 * MCPTokenCacheSize entries; when the current one is full the older one is
 * dropped as a whole and a new one started, and a hit in the older one is
 * copied forward, so tokens in use stay.  Entries are copied out under the
 * lock, so no request ever holds memory a later eviction frees.  The cache
 * is split in shards chosen by the key, each with its own mutex, so that
 * the event MPM's threads rarely wait for one another (one global mutex
 * cost 5% of the protected request rate in bench/rs.sh).
 *
 * Refusals too, of one kind only: a token whose signature did not verify
 * with the one key of the current key set that fits it (kid, type).  That
 * verdict depends on nothing but the token's bytes and that key, so the
 * entry names the key (holding a reference: its address stays unique) and
 * counts only while the key set still offers that very key for the token;
 * a refreshed set has new key objects, and the token is verified afresh.
 * Nothing else is remembered as refused: not a missing key (a refetch may
 * bring it), not a failed fetch, not an expired or not-yet-valid claim.
 * A replayed forged token then costs a header parse instead of a
 * signature verification (bench/callgrind: 487k -> see bench/README).
 */
#include <string.h>
#include <openssl/evp.h>
#include <apr_hash.h>
#include <apr_strings.h>
#include <apr_thread_mutex.h>
#include <httpd.h>
#include <http_config.h>
#include <http_log.h>

#include "mcp_common.h"
#include "mcp_jws.h"
#include "mcp_rs.h"

APLOG_USE_MODULE(mcp_rs);

typedef struct {
    mcp_rs_identity identity;           /* unset in a refusal */
    apr_time_t until;
    /* A refusal: the token's signature did not verify with this key, the
     * only one that fitted it.  The entry holds a reference, so that no
     * other key can ever have this address while it is compared. */
    EVP_PKEY *refused_key;
} cache_entry;

typedef struct {
    apr_pool_t *pool;
    apr_hash_t *entries;
} generation;

#define SHARDS 16

typedef struct {
    apr_thread_mutex_t *lock;
    generation generations[2];          /* [0] current, [1] older */
} shard;

/* Per process; every access to a shard holds its lock. */
static struct {
    shard shards[SHARDS];
    int capacity;                       /* per generation of a shard */
    int ready;
} token_cache;

/*
 * SHA-256 fetched once per process: EVP_sha256() makes OpenSSL 3 look the
 * algorithm up in its provider store (under a lock) on every digest, which
 * showed in the benchmark.  Same value as mcp_sha256_b64url().
 */
static EVP_MD *sha256;

const char *mcp_rs_cache_key(apr_pool_t *pool, const char *token)
{
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int len = 0;

    if (sha256 == NULL
        || !EVP_Digest(token, strlen(token), digest, &len, sha256, NULL)) {
        return mcp_sha256_b64url(pool, token);
    }
    return mcp_b64url_encode(pool, digest, len);
}

static apr_status_t free_sha256(void *unused)
{
    EVP_MD_free(sha256);
    sha256 = NULL;
    return APR_SUCCESS;
}

/* Keys are base64url SHA-256: any character spreads them well. */
static shard *shard_of(const char *key)
{
    return &token_cache.shards[((unsigned char)key[0] ^ (unsigned char)key[1])
                               % SHARDS];
}

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
    apr_status_t rv = APR_SUCCESS;
    int i, j;

    sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    apr_pool_cleanup_register(pool, NULL, free_sha256, apr_pool_cleanup_null);
    /* the same for signature verification (common/mcp_jws.c) */
    mcp_jws_init(pool);
    token_cache.capacity = conf->token_cache_size / 2 / SHARDS;
    if (conf->token_cache_size > 0 && token_cache.capacity == 0) {
        token_cache.capacity = 1;
    }
    for (j = 0; rv == APR_SUCCESS && j < SHARDS; j++) {
        shard *part = &token_cache.shards[j];
        rv = apr_thread_mutex_create(&part->lock, APR_THREAD_MUTEX_DEFAULT, pool);
        for (i = 0; rv == APR_SUCCESS && i < 2; i++) {
            rv = apr_pool_create(&part->generations[i].pool, pool);
            if (rv == APR_SUCCESS) {
                part->generations[i].entries =
                    apr_hash_make(part->generations[i].pool);
            }
        }
    }
    token_cache.ready = rv == APR_SUCCESS;
    return rv;
}

static apr_status_t release_key(void *pkey)
{
    EVP_PKEY_free(pkey);
    return APR_SUCCESS;
}

/* Under the shard's lock: store into its current generation, rotating
 * when full.  `identity` NULL stores a refusal with `refused_key`. */
static void store(shard *part, const char *key,
                  const mcp_rs_identity *identity, EVP_PKEY *refused_key,
                  apr_time_t until)
{
    generation *current = &part->generations[0];
    cache_entry *entry = apr_hash_get(current->entries, key, APR_HASH_KEY_STRING);

    if (entry != NULL && identity != NULL) {
        /* an entry that expired (introspection results end before the
         * token does) is renewed in place; a refusal gives way to a
         * verification (the key set changed since) */
        if (until > entry->until || entry->refused_key != NULL) {
            copy_identity(current->pool, &entry->identity, identity);
            entry->until = until;
            entry->refused_key = NULL;
        }
        return;
    }
    if (entry != NULL) {
        return;                         /* never a refusal over a token */
    }
    if ((int)apr_hash_count(current->entries) >= token_cache.capacity) {
        generation older = part->generations[1];
        apr_pool_clear(older.pool);
        older.entries = apr_hash_make(older.pool);
        part->generations[1] = *current;
        part->generations[0] = older;
        current = &part->generations[0];
    }
    entry = apr_pcalloc(current->pool, sizeof(*entry));
    if (identity != NULL) {
        copy_identity(current->pool, &entry->identity, identity);
    }
    else if (EVP_PKEY_up_ref(refused_key) == 1) {
        entry->refused_key = refused_key;
        apr_pool_cleanup_register(current->pool, refused_key, release_key,
                                  apr_pool_cleanup_null);
    }
    else {
        return;
    }
    entry->until = until;
    apr_hash_set(current->entries, apr_pstrdup(current->pool, key),
                 APR_HASH_KEY_STRING, entry);
}

int mcp_rs_cache_get(request_rec *r, const char *key, mcp_rs_identity **out)
{
    cache_entry *entry = NULL;
    shard *part;
    int found = 0, i;

    if (!token_cache.ready || token_cache.capacity == 0) {
        return 0;
    }
    part = shard_of(key);
    apr_thread_mutex_lock(part->lock);
    for (i = 0; i < 2 && entry == NULL; i++) {
        entry = apr_hash_get(part->generations[i].entries, key,
                             APR_HASH_KEY_STRING);
    }
    if (entry != NULL && entry->refused_key == NULL
        && entry->until > apr_time_now()) {
        *out = apr_palloc(r->pool, sizeof(**out));
        copy_identity(r->pool, *out, &entry->identity);
        found = 1;
        if (i == 2) {
            /* found in the older generation: keep it past the next drop */
            store(part, key, *out, NULL, entry->until);
        }
    }
    apr_thread_mutex_unlock(part->lock);
    return found;
}

void mcp_rs_cache_put(request_rec *r, const char *key,
                      const mcp_rs_identity *identity, apr_time_t until)
{
    shard *part;

    if (!token_cache.ready || token_cache.capacity == 0
        || until <= apr_time_now()) {
        return;
    }
    part = shard_of(key);
    apr_thread_mutex_lock(part->lock);
    store(part, key, identity, NULL, until);
    apr_thread_mutex_unlock(part->lock);
}

EVP_PKEY *mcp_rs_cache_refused(request_rec *r, const char *key)
{
    cache_entry *entry = NULL;
    EVP_PKEY *pkey = NULL;
    shard *part;
    int i;

    if (!token_cache.ready || token_cache.capacity == 0) {
        return NULL;
    }
    part = shard_of(key);
    apr_thread_mutex_lock(part->lock);
    for (i = 0; i < 2 && entry == NULL; i++) {
        entry = apr_hash_get(part->generations[i].entries, key,
                             APR_HASH_KEY_STRING);
    }
    if (entry != NULL && entry->refused_key != NULL
        && entry->until > apr_time_now()
        && EVP_PKEY_up_ref(entry->refused_key) == 1) {
        pkey = entry->refused_key;
    }
    apr_thread_mutex_unlock(part->lock);
    if (pkey != NULL) {
        /* the caller only compares the address, while the request lasts */
        apr_pool_cleanup_register(r->pool, pkey, release_key,
                                  apr_pool_cleanup_null);
    }
    return pkey;
}

void mcp_rs_cache_put_refused(request_rec *r, const char *key, EVP_PKEY *pkey)
{
    shard *part;

    if (!token_cache.ready || token_cache.capacity == 0 || pkey == NULL) {
        return;
    }
    part = shard_of(key);
    apr_thread_mutex_lock(part->lock);
    store(part, key, NULL, pkey,
          apr_time_now() + apr_time_from_sec(MCP_RS_REFUSAL_TTL));
    apr_thread_mutex_unlock(part->lock);
}
