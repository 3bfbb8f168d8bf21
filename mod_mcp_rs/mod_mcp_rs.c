/*
 * mod_mcp_rs: AuthType MCP, bearer-token protection for any Apache-served
 * tool, with protected-resource metadata and the mcp-echo reference tool.
 *
 * This file holds the module record, the directive table and the hook
 * registration; each concern lives in its own file.
 */
#include <httpd.h>
#include <http_config.h>
#include <http_log.h>
#include <apr_strings.h>

#include "mcp_common.h"
#include "mcp_rs.h"


static void *create_dir_config(apr_pool_t *pool, char *path)
{
    return apr_pcalloc(pool, sizeof(mcp_rs_dir_conf));
}

static void *merge_dir_config(apr_pool_t *pool, void *base_conf, void *add_conf)
{
    mcp_rs_dir_conf *base = base_conf, *add = add_conf;
    mcp_rs_dir_conf *conf = apr_pcalloc(pool, sizeof(*conf));

    conf->resource = add->resource_set ? add->resource : base->resource;
    conf->resource_set = add->resource_set || base->resource_set;
    return conf;
}

static const char *set_resource(cmd_parms *cmd, void *dir_conf, const char *arg)
{
    mcp_rs_dir_conf *conf = dir_conf;
    char *canonical;

    /* RFC 8707 §2: an absolute URI without a fragment. */
    if (!mcp_uri_is_web(cmd->pool, arg, 1, NULL)
        || mcp_uri_canonical(cmd->pool, arg, &canonical) != MCP_OK) {
        return apr_psprintf(cmd->pool,
            "MCPResource: '%s' is not a valid resource URI; expected an "
            "absolute http(s) URL with no fragment or user info", arg);
    }
    conf->resource = arg;
    conf->resource_set = 1;
    return NULL;
}

static const command_rec mcp_rs_directives[] = {
    AP_INIT_TAKE1("MCPResource", set_resource, NULL, OR_AUTHCFG,
                  "this tool's canonical resource URI (the required token audience)"),
    { NULL }
};

static void register_hooks(apr_pool_t *pool)
{
}

AP_DECLARE_MODULE(mcp_rs) = {
    STANDARD20_MODULE_STUFF,
    create_dir_config,
    merge_dir_config,
    NULL,                       /* per-server config */
    NULL,                       /* merge per-server */
    mcp_rs_directives,
    register_hooks,
    AP_MODULE_FLAG_NONE
};
