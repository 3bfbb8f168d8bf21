/*
 * Short-lived shared state (authorization codes, consent CSRF tokens)
 * through Apache's socache, so every child process and thread sees it:
 * shmcb by default, memcache across nodes (MCPCache).
 *
 * The cache is one per server (the main server's MCPCache), created in
 * post_config before the children fork; the global mutex is used only when
 * the provider is not safe across processes and threads.
 */
#include <httpd.h>
#include <string.h>
#include <apr_strings.h>
#include <ap_provider.h>
#include <util_mutex.h>
#include <http_log.h>

#include "mcp_common.h"
#include "mcp_as.h"

#define CACHE_MUTEX_TYPE "mcp-as-cache"
/* The largest value: a client metadata document (16 KiB, mcp_as_cimd.c)
 * and its terminating NUL; a larger one would be stored and never found. */
#define CACHE_VALUE_MAX  (16 * 1024 + 1)
/* shmcb's own default (512 KB) holds about a thousand codes; 4 MiB holds
 * several thousand, in a file under DefaultRuntimeDir */
#define CACHE_DEFAULT_ARGS "mcp_as_cache(4194304)"

/* Set while reading the configuration and in post_config, read-only after. */
static const ap_socache_provider_t *cache_provider;
static ap_socache_instance_t *cache_instance;
static apr_global_mutex_t *cache_mutex;

void mcp_as_cache_pre_config(apr_pool_t *pconf)
{
    cache_provider = NULL;
    cache_instance = NULL;
    cache_mutex = NULL;
    ap_mutex_register(pconf, CACHE_MUTEX_TYPE, NULL, APR_LOCK_DEFAULT, 0);
}

const char *mcp_as_cache_configure(cmd_parms *cmd, const char *spec)
{
    const char *name = spec, *args = NULL, *colon = strchr(spec, ':');
    const char *error;

    if (cmd->server->is_virtual) {
        return "MCPCache: one cache serves the whole server; set it outside "
               "<VirtualHost>";
    }
    if (colon != NULL) {
        name = apr_pstrndup(cmd->pool, spec, (apr_size_t)(colon - spec));
        args = colon + 1;
    }
    cache_provider = ap_lookup_provider(AP_SOCACHE_PROVIDER_GROUP, name,
                                        AP_SOCACHE_PROVIDER_VERSION);
    if (cache_provider == NULL) {
        return apr_psprintf(cmd->pool,
            "MCPCache: unknown socache provider '%s'; load its module "
            "(mod_socache_%s) or use shmcb", name, name);
    }
    error = cache_provider->create(&cache_instance, args, cmd->temp_pool,
                                   cmd->pool);
    if (error != NULL) {
        return apr_psprintf(cmd->pool, "MCPCache: %s", error);
    }
    return NULL;
}

static apr_status_t cache_destroy(void *data)
{
    if (cache_provider != NULL && cache_instance != NULL) {
        cache_provider->destroy(cache_instance, (server_rec *)data);
    }
    cache_instance = NULL;
    return APR_SUCCESS;
}

int mcp_as_cache_post_config(apr_pool_t *pconf, apr_pool_t *ptemp,
                             server_rec *s)
{
    /* ids are 32-byte digests, values a few hundred bytes of JSON */
    struct ap_socache_hints hints = { MCP_SHA256_LEN, 400, 60 };
    apr_status_t rv;

    if (cache_provider == NULL) {
        const char *error;
        cache_provider = ap_lookup_provider(AP_SOCACHE_PROVIDER_GROUP, "shmcb",
                                            AP_SOCACHE_PROVIDER_VERSION);
        if (cache_provider == NULL) {
            ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, APLOGNO(30001)
                         "mod_mcp_as needs a socache for codes: load "
                         "mod_socache_shmcb or set MCPCache");
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        error = cache_provider->create(&cache_instance, CACHE_DEFAULT_ARGS,
                                       ptemp, pconf);
        if (error != NULL) {
            ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, APLOGNO(30002)
                         "MCPCache: %s", error);
            return HTTP_INTERNAL_SERVER_ERROR;
        }
    }
    if (cache_provider->flags & AP_SOCACHE_FLAG_NOTMPSAFE) {
        rv = ap_global_mutex_create(&cache_mutex, NULL, CACHE_MUTEX_TYPE, NULL,
                                    s, pconf, 0);
        if (rv != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, APLOGNO(30003)
                         "MCPCache: cannot create the cache mutex");
            return HTTP_INTERNAL_SERVER_ERROR;
        }
    }
    rv = cache_provider->init(cache_instance, "mcp-as", &hints, s, pconf);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, APLOGNO(30004)
                     "MCPCache: cannot initialise the %s cache",
                     cache_provider->name);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    apr_pool_cleanup_register(pconf, s, cache_destroy, apr_pool_cleanup_null);
    return OK;
}

void mcp_as_cache_child_init(apr_pool_t *pchild, server_rec *s)
{
    if (cache_mutex != NULL) {
        apr_global_mutex_child_init(&cache_mutex,
            apr_global_mutex_lockfile(cache_mutex), pchild);
    }
}

/* MCP_OK holding the lock (or when the provider needs none); MCP_ERROR,
 * logged, when it cannot be taken: the caller then touches nothing. */
static int cache_lock(request_rec *r)
{
    apr_status_t rv;

    if (cache_mutex == NULL) {
        return MCP_OK;
    }
    rv = mcp_as_mutex_lock(cache_mutex);
    if (rv != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, r, APLOGNO(30102)
                      "cannot take the %s cache's mutex",
                      cache_provider->name);
        return MCP_ERROR;
    }
    return MCP_OK;
}

static void cache_unlock(request_rec *r)
{
    if (cache_mutex != NULL) {
        apr_global_mutex_unlock(cache_mutex);
    }
}

const unsigned char *mcp_as_cache_key(apr_pool_t *pool, const char *kind,
                                      const char *secret)
{
    unsigned char *digest = apr_palloc(pool, MCP_SHA256_LEN);
    const char *input = apr_pstrcat(pool, kind, ":", secret, NULL);

    mcp_sha256(input, strlen(input), digest);
    return digest;
}

int mcp_as_cache_store(request_rec *r, const unsigned char *key,
                       const char *value, apr_time_t expiry)
{
    apr_status_t rv;

    if (cache_instance == NULL || strlen(value) >= CACHE_VALUE_MAX
        || cache_lock(r) != MCP_OK) {
        return MCP_ERROR;
    }
    rv = cache_provider->store(cache_instance, r->server,
                               key, MCP_SHA256_LEN, expiry,
                               (unsigned char *)apr_pstrdup(r->pool, value),
                               (unsigned int)strlen(value) + 1, r->pool);
    cache_unlock(r);
    if (rv != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, r, APLOGNO(30005)
                      "cannot store short-lived state in the %s cache",
                      cache_provider->name);
        return MCP_ERROR;
    }
    return MCP_OK;
}

int mcp_as_cache_get(request_rec *r, const unsigned char *key, char **value)
{
    unsigned char *buffer;
    unsigned int len = CACHE_VALUE_MAX;
    apr_status_t rv;

    if (cache_instance == NULL) {
        return MCP_ERROR;
    }
    buffer = apr_palloc(r->pool, CACHE_VALUE_MAX);
    if (cache_lock(r) != MCP_OK) {
        return MCP_ERROR;
    }
    rv = cache_provider->retrieve(cache_instance, r->server,
                                  key, MCP_SHA256_LEN, buffer, &len,
                                  r->pool);
    cache_unlock(r);
    if (rv != APR_SUCCESS || len == 0 || buffer[len - 1] != '\0') {
        return MCP_ERROR;
    }
    *value = (char *)buffer;
    return MCP_OK;
}

void mcp_as_cache_remove(request_rec *r, const unsigned char *key)
{
    if (cache_instance == NULL || cache_lock(r) != MCP_OK) {
        return;
    }
    cache_provider->remove(cache_instance, r->server,
                           key, MCP_SHA256_LEN, r->pool);
    cache_unlock(r);
}

int mcp_as_cache_update(request_rec *r, const unsigned char *key,
                        mcp_as_cache_updater update, void *baton)
{
    unsigned char *buffer;
    unsigned int len = CACHE_VALUE_MAX;
    const char *old = NULL, *value;
    apr_time_t expiry = 0;
    apr_status_t rv = APR_SUCCESS;

    if (cache_instance == NULL) {
        return MCP_ERROR;
    }
    buffer = apr_palloc(r->pool, CACHE_VALUE_MAX);
    /* One lock over the read and the write: with shmcb, no other process
     * or thread can slip between them. */
    if (cache_lock(r) != MCP_OK) {
        return MCP_ERROR;
    }
    if (cache_provider->retrieve(cache_instance, r->server, key,
                                 MCP_SHA256_LEN, buffer, &len, r->pool)
        == APR_SUCCESS && len > 0 && buffer[len - 1] == '\0') {
        old = (const char *)buffer;
    }
    value = update(r, old, baton, &expiry);
    if (value != NULL) {
        rv = cache_provider->store(cache_instance, r->server, key,
                                   MCP_SHA256_LEN, expiry,
                                   (unsigned char *)apr_pstrdup(r->pool, value),
                                   (unsigned int)strlen(value) + 1, r->pool);
    }
    cache_unlock(r);
    if (rv != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, r, APLOGNO(30100)
                      "cannot update short-lived state in the %s cache",
                      cache_provider->name);
        return MCP_ERROR;
    }
    return MCP_OK;
}
