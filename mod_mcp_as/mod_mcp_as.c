/*
 * mod_mcp_as: an OAuth 2.1 authorization server for MCP clients.
 *
 * This file holds the module record and the hook registration; the
 * directives are in mcp_as_config.c, and each endpoint and concern lives
 * in its own file.
 */
#include <stdlib.h>
#include <string.h>
#define MCP_AS_MODULE_FILE
#include <httpd.h>
#include <http_config.h>
#include <http_core.h>
#include <http_log.h>
#include <http_protocol.h>
#include <http_request.h>
#include <apr_strings.h>

#include "mcp_common.h"
#include "mcp_httpd.h"
#include "mcp_as.h"

#define METADATA_NOTE "mcp-as-metadata"

static int pre_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp)
{
    mcp_as_cache_pre_config(pconf);
    mcp_as_store_pre_config(pconf);
    return OK;
}

static int post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                       server_rec *main_server)
{
    apr_hash_t *stores = apr_hash_make(ptemp);
    int any = 0, rc;
    server_rec *s;

    for (s = main_server; s != NULL; s = s->next) {
        const char *error = mcp_as_check_config(pconf, ptemp, s);
        if (error != NULL) {
            ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, APLOGNO(30060) "%s",
                         error);
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        any |= MCP_AS_CONF(s)->issuer_set;
    }
    if (!any) {
        return OK;
    }
    /* The first pass only checks the configuration (httpd does it twice
     * at start-up): keys and the store are set up on the real one. */
    if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG) {
        return OK;
    }
    mcp_as_cimd_global_init(pconf);
    for (s = main_server; s != NULL; s = s->next) {
        mcp_as_server_conf *conf = MCP_AS_CONF(s);
        if (!conf->issuer_set) {
            continue;
        }
        if ((rc = mcp_as_keys_load(pconf, ptemp, s, conf)) != OK
            || (rc = mcp_as_store_init(pconf, ptemp, s, conf, stores)) != OK) {
            return rc;
        }
        if (conf->resources->nelts == 0) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, APLOGNO(30061)
                         "MCPIssuer %s has no MCPAllowedResource: every "
                         "authorization request will fail with invalid_target",
                         conf->issuer);
        }
    }
    return mcp_as_cache_post_config(pconf, ptemp, main_server);
}

/* httpd -t (apachectl configtest) runs this instead of post_config. */
static void test_config(apr_pool_t *pconf, server_rec *main_server)
{
    server_rec *s;

    for (s = main_server; s != NULL; s = s->next) {
        const char *error = mcp_as_check_config(pconf, pconf, s);
        if (error != NULL) {
            ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, APLOGNO(30064) "%s",
                         error);
            /* the only way to fail configtest from this hook */
            exit(1);
        }
        /* the key files' contents, as the start would find them */
        if (MCP_AS_CONF(s)->issuer_set
            && mcp_as_keys_check(pconf, pconf, s, MCP_AS_CONF(s)) != MCP_OK) {
            exit(1);
        }
    }
}

static void child_init(apr_pool_t *pchild, server_rec *s)
{
    mcp_as_cache_child_init(pchild, s);
    mcp_as_store_child_init(pchild, s);
}

/* The metadata lives at the issuer's well-known URL, outside the
 * endpoints' <Location>: claim that exact path. */
static int translate_name(request_rec *r)
{
    mcp_as_server_conf *conf = MCP_AS_CONF(r->server);

    if (!conf->issuer_set || conf->metadata_path == NULL
        || strcmp(r->uri, conf->metadata_path) != 0) {
        return DECLINED;
    }
    apr_table_setn(r->notes, METADATA_NOTE, "1");
    r->filename = apr_pstrcat(r->pool, "mcp-as:", r->uri, NULL);
    return OK;
}

static int map_to_storage(request_rec *r)
{
    return apr_table_get(r->notes, METADATA_NOTE) ? OK : DECLINED;
}

static int handler(request_rec *r)
{
    mcp_as_server_conf *conf = MCP_AS_CONF(r->server);
    const char *endpoint, *slash;
    apr_size_t parent_len;

    if (apr_table_get(r->notes, METADATA_NOTE) != NULL && !r->main) {
        return mcp_as_handle_metadata(r, conf);
    }
    if (r->handler == NULL || strcmp(r->handler, MCP_AS_HANDLER) != 0) {
        return DECLINED;
    }
    if (!conf->issuer_set || conf->store == NULL) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, APLOGNO(30062)
                      "SetHandler mcp-as for %s, but this server has no "
                      "MCPIssuer", r->uri);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    slash = strrchr(r->uri, '/');
    if (slash == NULL) {
        return HTTP_NOT_FOUND;
    }
    endpoint = slash + 1;
    parent_len = (apr_size_t)(slash - r->uri);
    if (strlen(conf->endpoint_base) != parent_len
        || strncmp(r->uri, conf->endpoint_base, parent_len) != 0) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, APLOGNO(30063)
                      "%s is not under the endpoint base '%s' the metadata "
                      "names (MCPEndpointBase)", r->uri, conf->endpoint_base);
        return HTTP_NOT_FOUND;
    }
    if (strcmp(endpoint, "authorize") == 0) {
        return mcp_as_handle_authorize(r, conf);
    }
    if (strcmp(endpoint, "token") == 0) {
        return mcp_as_handle_token(r, conf);
    }
    if (strcmp(endpoint, "register") == 0) {
        return mcp_as_handle_register(r, conf);
    }
    if (strcmp(endpoint, "revoke") == 0) {
        return mcp_as_handle_revoke(r, conf);
    }
    if (strcmp(endpoint, "introspect") == 0) {
        return mcp_as_handle_introspect(r, conf);
    }
    if (strcmp(endpoint, "jwks") == 0) {
        return mcp_as_handle_jwks(r, conf);
    }
    return HTTP_NOT_FOUND;
}

static void register_hooks(apr_pool_t *pool)
{
    ap_hook_pre_config(pre_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(post_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_test_config(test_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(child_init, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_translate_name(translate_name, NULL, NULL, APR_HOOK_FIRST);
    ap_hook_map_to_storage(map_to_storage, NULL, NULL, APR_HOOK_FIRST);
    ap_hook_handler(handler, NULL, NULL, APR_HOOK_MIDDLE);
}

AP_DECLARE_MODULE(mcp_as) = {
    STANDARD20_MODULE_STUFF,
    NULL,                       /* per-directory config */
    NULL,                       /* merge per-directory */
    mcp_as_create_server_config,
    mcp_as_merge_server_config,
    mcp_as_directives,
    register_hooks,
    AP_MODULE_FLAG_NONE
};
