/*
 * RFC 9728 protected-resource metadata, served for every MCPResource in
 * the configuration with nothing more to configure.
 *
 * At post_config every section that sets MCPResource is found (per
 * virtual host) and its metadata registered under the path of its
 * well-known URL (RFC 9728 §3.1: /.well-known/oauth-protected-resource
 * inserted before the resource's path).  When a host has exactly one
 * resource, the root well-known URL answers for it too (root_entry).  The answer comes from a quick_handler, before
 * translation and authorization, because the metadata must stay public
 * even when it sits under a location that AuthType MCP protects.
 */
#include <string.h>
#include <apr_strings.h>
#include <httpd.h>
#include <http_config.h>
#include <http_core.h>
#include <http_log.h>
#include <http_protocol.h>
#include <http_request.h>

#include "mcp_common.h"
#include "mcp_httpd.h"
#include "mcp_rs.h"

APLOG_USE_MODULE(mcp_rs);

#define ROOT_PATH "/.well-known/oauth-protected-resource"

const char *mcp_rs_metadata_url(apr_pool_t *pool, const char *resource)
{
    char *url;

    if (mcp_well_known_url(pool, resource, "oauth-protected-resource",
                           &url) != MCP_OK) {
        return resource;                /* cannot happen: checked at config */
    }
    return url;
}

static void add_entry(apr_pool_t *pconf, apr_pool_t *ptemp, server_rec *s,
                      apr_array_header_t *registry, const mcp_rs_dir_conf *conf)
{
    mcp_rs_metadata_entry *entry = NULL;
    apr_uri_t parsed;
    const char *url = mcp_rs_metadata_url(ptemp, conf->resource);
    int i;

    if (apr_uri_parse(ptemp, url, &parsed) != APR_SUCCESS || parsed.path == NULL) {
        return;
    }
    for (i = 0; i < registry->nelts; i++) {
        entry = &APR_ARRAY_IDX(registry, i, mcp_rs_metadata_entry);
        if (strcmp(entry->path, parsed.path) == 0) {
            if (!mcp_uri_same_resource(ptemp, entry->resource, conf->resource)) {
                ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, APLOGNO(20060)
                             "mod_mcp_rs: resources %s and %s share the "
                             "metadata URL path %s; serving the later one, "
                             "as httpd merges sections", entry->resource,
                             conf->resource, parsed.path);
            }
            break;
        }
    }
    if (i >= registry->nelts) {
        entry = apr_array_push(registry);
    }
    entry->resource = apr_pstrdup(pconf, conf->resource);
    entry->path = apr_pstrdup(pconf, parsed.path);
    entry->issuers = conf->issuers_set ? apr_array_copy(pconf, conf->issuers) : NULL;
    entry->scopes = conf->scopes_set ? apr_array_copy(pconf, conf->scopes) : NULL;
}

int mcp_rs_metadata_build(apr_pool_t *pconf, apr_pool_t *ptemp, server_rec *s)
{
    server_rec *server;

    for (server = s; server != NULL; server = server->next) {
        mcp_rs_server_conf *sconf =
            ap_get_module_config(server->module_config, &mcp_rs_module);
        core_server_config *core =
            ap_get_core_module_config(server->module_config);
        mcp_rs_dir_conf *defaults =
            ap_get_module_config(server->lookup_defaults, &mcp_rs_module);
        apr_array_header_t *lists[2];
        int list, i;

        lists[0] = core->sec_url;
        lists[1] = core->sec_dir;
        apr_array_clear(sconf->metadata);
        if (defaults->resource_set) {
            add_entry(pconf, ptemp, server, sconf->metadata, defaults);
        }
        for (list = 0; list < 2; list++) {
            for (i = 0; lists[list] != NULL && i < lists[list]->nelts; i++) {
                ap_conf_vector_t *section =
                    ((ap_conf_vector_t **)lists[list]->elts)[i];
                mcp_rs_dir_conf *own = ap_get_module_config(section, &mcp_rs_module);
                if (own != NULL && own->resource_set) {
                    add_entry(pconf, ptemp, server, sconf->metadata,
                              mcp_rs_section_conf(ptemp, server, lists[list], i));
                }
            }
        }
    }
    return OK;
}

static json_t *string_array(const apr_array_header_t *values)
{
    json_t *array = json_array();
    int i;

    for (i = 0; values != NULL && i < values->nelts; i++) {
        json_array_append_new(array,
            json_string(APR_ARRAY_IDX(values, i, const char *)));
    }
    return array;
}

/*
 * The root well-known URL, for clients that do not insert the path: it is
 * unambiguous when exactly one resource lives on the host the request
 * names (main-server sections apply to every virtual host, so the Host
 * the resource URI names is what tells them apart), or when the server has
 * one resource at all.
 */
static const mcp_rs_metadata_entry *root_entry(request_rec *r,
                                               const apr_array_header_t *registry)
{
    const mcp_rs_metadata_entry *found = NULL;
    int i, matches = 0;

    for (i = 0; i < registry->nelts; i++) {
        const mcp_rs_metadata_entry *entry =
            &APR_ARRAY_IDX(registry, i, mcp_rs_metadata_entry);
        apr_uri_t parsed;
        if (r->hostname != NULL
            && apr_uri_parse(r->pool, entry->resource, &parsed) == APR_SUCCESS
            && parsed.hostname != NULL
            && strcasecmp(parsed.hostname, r->hostname) == 0) {
            found = entry;
            matches++;
        }
    }
    if (matches == 1) {
        return found;
    }
    if (matches == 0 && registry->nelts == 1) {
        return &APR_ARRAY_IDX(registry, 0, mcp_rs_metadata_entry);
    }
    return NULL;
}

int mcp_rs_metadata_handler(request_rec *r, int lookup)
{
    const mcp_rs_server_conf *sconf = mcp_rs_server(r->server);
    const mcp_rs_metadata_entry *entry = NULL;
    json_t *body;
    int i;

    if (lookup || r->main != NULL || r->uri == NULL
        || strncmp(r->uri, ROOT_PATH, sizeof(ROOT_PATH) - 1) != 0) {
        return DECLINED;
    }
    for (i = 0; i < sconf->metadata->nelts; i++) {
        const mcp_rs_metadata_entry *candidate =
            &APR_ARRAY_IDX(sconf->metadata, i, mcp_rs_metadata_entry);
        if (strcmp(candidate->path, r->uri) == 0) {
            entry = candidate;
            break;
        }
    }
    if (entry == NULL && strcmp(r->uri, ROOT_PATH) == 0) {
        entry = root_entry(r, sconf->metadata);
    }
    if (entry == NULL) {
        return DECLINED;
    }
    if (mcp_cors(r, "GET, OPTIONS") == OK) {
        return OK;                      /* preflight answered */
    }
    if (r->method_number != M_GET) {
        apr_table_setn(r->headers_out, "Allow", "GET, HEAD, OPTIONS");
        if (r->method_number == M_OPTIONS) {
            return OK;
        }
        return mcp_reply_oauth_error(r, HTTP_METHOD_NOT_ALLOWED,
                                     "invalid_request",
                                     "the metadata is read with GET");
    }
    body = mcp_json_pool_own(r->pool, json_object());
    json_object_set_new(body, "resource", json_string(entry->resource));
    json_object_set_new(body, "authorization_servers",
                        string_array(entry->issuers));
    if (entry->scopes != NULL) {
        json_object_set_new(body, "scopes_supported", string_array(entry->scopes));
    }
    json_object_set_new(body, "bearer_methods_supported",
                        json_pack("[s]", "header"));
    apr_table_setn(r->headers_out, "Cache-Control",
                   apr_psprintf(r->pool, "public, max-age=%d",
                                sconf->metadata_max_age));
    return mcp_reply_json(r, HTTP_OK, body);
}
