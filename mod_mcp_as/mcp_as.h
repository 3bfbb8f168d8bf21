/* mod_mcp_as: declarations shared by the module's source files. */
#ifndef MCP_AS_H
#define MCP_AS_H

#include <httpd.h>
#include <http_config.h>

extern module AP_MODULE_DECLARE_DATA mcp_as_module;

typedef struct {
    const char *issuer;
    unsigned int issuer_set:1;
} mcp_as_server_conf;

#endif /* MCP_AS_H */
