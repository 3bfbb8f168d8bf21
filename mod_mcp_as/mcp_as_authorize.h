/* Shared by the authorization endpoint and its consent pages. */
#ifndef MCP_AS_AUTHORIZE_H
#define MCP_AS_AUTHORIZE_H

#include "mcp_as.h"

typedef struct {
    mcp_as_client *client;
    const char *redirect_uri;       /* verified */
    int redirect_uri_given;         /* the request named it (RFC 6749 §4.1.3) */
    const char *state;
    const char *code_challenge;
    const char *scope;              /* effective, space-separated */
    const char *resource;           /* as configured in MCPAllowedResource */
    const char *prompt;
} mcp_as_authz_request;

/* Inline CSS shared by the pages: no third-party resources. */
#define MCP_AS_PAGE_STYLE \
    "<style>body{font-family:system-ui,sans-serif;background:#f4f5f7;" \
    "color:#1d2230;margin:0}main{max-width:34rem;margin:3rem auto;" \
    "background:#fff;padding:2rem;border-radius:10px;box-shadow:0 1px 4px " \
    "rgba(0,0,0,.12)}h1{font-size:1.3rem;margin-top:0}ul{padding-left:1.2rem}" \
    "li{margin:.3rem 0}code{background:#eef0f4;padding:0 .25rem;" \
    "border-radius:3px}.warn{background:#fff4d6;border:1px solid #e8c35a;" \
    "padding:.6rem;border-radius:6px}.muted{color:#667}.actions{display:flex;" \
    "gap:.75rem;margin-top:1.5rem}button{font-size:1rem;padding:.55rem 1.3rem;" \
    "border-radius:6px;border:1px solid #99a;background:#fff;cursor:pointer}" \
    "button.primary{background:#2456d3;border-color:#2456d3;color:#fff}" \
    "table{border-collapse:collapse;width:100%}td,th{text-align:left;" \
    "padding:.35rem;border-bottom:1px solid #e3e5ea;vertical-align:top}</style>"

void mcp_as_page_headers(request_rec *r);
int mcp_as_error_page(request_rec *r, int status, const char *message);
int mcp_as_redirect(request_rec *r, mcp_as_server_conf *conf,
                    mcp_as_authz_request *request, const char *name,
                    const char *value, const char *description);
int mcp_as_authz_validate(request_rec *r, mcp_as_server_conf *conf,
                          apr_table_t *params, mcp_as_authz_request **out);
const char *mcp_as_request_hash(apr_pool_t *pool,
                                const mcp_as_authz_request *request);
int mcp_as_issue_code(request_rec *r, mcp_as_server_conf *conf,
                      mcp_as_authz_request *request);

/* mcp_as_consent.c */
int mcp_as_consent_page(request_rec *r, mcp_as_server_conf *conf,
                        mcp_as_authz_request *request);
int mcp_as_consent_submit(request_rec *r, mcp_as_server_conf *conf,
                          apr_table_t *params);
int mcp_as_consents_page(request_rec *r, mcp_as_server_conf *conf,
                         apr_table_t *params, const char *action);

#endif /* MCP_AS_AUTHORIZE_H */
