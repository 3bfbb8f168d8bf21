/*
 * mod_mcp_as: an OAuth 2.1 authorization server for MCP clients.
 *
 * This file holds the module record, the directive table and the hook
 * registration; each endpoint and concern lives in its own file.
 */
#include <httpd.h>
#include <http_config.h>
#include <http_log.h>
#include <apr_strings.h>

#include "mcp_common.h"
#include "mcp_as.h"


static void *create_server_config(apr_pool_t *pool, server_rec *s)
{
    return apr_pcalloc(pool, sizeof(mcp_as_server_conf));
}

static void *merge_server_config(apr_pool_t *pool, void *base_conf,
                                 void *add_conf)
{
    mcp_as_server_conf *base = base_conf, *add = add_conf;
    mcp_as_server_conf *conf = apr_pcalloc(pool, sizeof(*conf));

    conf->issuer = add->issuer_set ? add->issuer : base->issuer;
    conf->issuer_set = add->issuer_set || base->issuer_set;
    return conf;
}

static const char *set_issuer(cmd_parms *cmd, void *dir_conf, const char *arg)
{
    mcp_as_server_conf *conf =
        ap_get_module_config(cmd->server->module_config, &mcp_as_module);
    apr_uri_t parsed;

    /* RFC 8414 §2: https, no query, no fragment (http only on loopback). */
    if (!mcp_uri_is_web(cmd->pool, arg, 0, &parsed) || parsed.query != NULL) {
        return apr_psprintf(cmd->pool,
            "MCPIssuer: '%s' is not a valid issuer; expected an https URL "
            "(http only on a loopback host) with no query or fragment", arg);
    }
    conf->issuer = arg;
    conf->issuer_set = 1;
    return NULL;
}

static const command_rec mcp_as_directives[] = {
    AP_INIT_TAKE1("MCPIssuer", set_issuer, NULL, RSRC_CONF,
                  "the authorization server's issuer identifier (an https URL)"),
    { NULL }
};

static void register_hooks(apr_pool_t *pool)
{
}

AP_DECLARE_MODULE(mcp_as) = {
    STANDARD20_MODULE_STUFF,
    NULL,                       /* per-directory config */
    NULL,                       /* merge per-directory */
    create_server_config,
    merge_server_config,
    mcp_as_directives,
    register_hooks,
    AP_MODULE_FLAG_NONE
};
