/*
 * mod_mcp_rs: AuthType MCP, bearer-token protection for any Apache-served
 * tool, with protected-resource metadata and the mcp-echo reference tool.
 *
 * This file holds the module record and the hook registration; each
 * concern lives in its own file (mcp_rs_config.c has the directives).
 */
#include <httpd.h>
#include <http_config.h>
#include <http_log.h>
#include <http_protocol.h>
#include <http_request.h>
#include <mod_auth.h>
#include <curl/curl.h>

#include "mcp_common.h"
#include "mcp_rs.h"


static apr_status_t curl_cleanup(void *unused)
{
    curl_global_cleanup();
    return APR_SUCCESS;
}

static int pre_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp)
{
    /* curl_global_init is not thread-safe: run it while httpd is still one
     * thread.  It counts its callers, so mod_mcp_as doing the same is fine. */
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, NULL, APLOGNO(20002)
                     "mod_mcp_rs: curl_global_init failed");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    apr_pool_cleanup_register(pconf, NULL, curl_cleanup, apr_pool_cleanup_null);
    return OK;
}

static int post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                       server_rec *s)
{
    return mcp_rs_metadata_build(pconf, ptemp, s);
}

static void child_init(apr_pool_t *pchild, server_rec *s)
{
    if (mcp_rs_jwks_init(pchild, s) != APR_SUCCESS
        || mcp_rs_cache_init(pchild, s) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, APLOGNO(20003)
                     "mod_mcp_rs: cannot create the per-process caches");
    }
}

static int handler(request_rec *r)
{
    int status = mcp_rs_preflight_handler(r);

    if (status != DECLINED) {
        return status;
    }
    return mcp_rs_echo_handler(r);
}

static void register_hooks(apr_pool_t *pool)
{
    ap_hook_pre_config(pre_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_check_config(mcp_rs_check_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(post_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(child_init, NULL, NULL, APR_HOOK_MIDDLE);

    /* Metadata is public whatever protects the path it lives under, so it
     * is answered before translation and authorization even start. */
    ap_hook_quick_handler(mcp_rs_metadata_handler, NULL, NULL, APR_HOOK_MIDDLE);

    /* CORS preflights carry no token: let them through before authn. */
    ap_hook_check_access_ex(mcp_rs_access_checker_ex, NULL, NULL,
                            APR_HOOK_FIRST, AP_AUTH_INTERNAL_PER_CONF);
    ap_hook_check_authn(mcp_rs_check_authn, NULL, NULL, APR_HOOK_MIDDLE,
                        AP_AUTH_INTERNAL_PER_CONF);
    ap_hook_note_auth_failure(mcp_rs_note_auth_failure, NULL, NULL,
                              APR_HOOK_MIDDLE);
    mcp_rs_register_authz(pool);
    ap_hook_insert_error_filter(mcp_rs_insert_error_filter, NULL, NULL,
                                APR_HOOK_MIDDLE);

    /* Identity to the backend, after authorization, before any handler. */
    ap_hook_fixups(mcp_rs_fixups, NULL, NULL, APR_HOOK_MIDDLE);
    /* REALLY_FIRST so that a preflight is answered here, not by mod_proxy
     * or the CGI behind the location. */
    ap_hook_handler(handler, NULL, NULL, APR_HOOK_REALLY_FIRST);
}

AP_DECLARE_MODULE(mcp_rs) = {
    STANDARD20_MODULE_STUFF,
    mcp_rs_create_dir_config,
    mcp_rs_merge_dir_config,
    mcp_rs_create_server_config,
    mcp_rs_merge_server_config,
    mcp_rs_directives,
    register_hooks,
    AP_MODULE_FLAG_NONE
};
