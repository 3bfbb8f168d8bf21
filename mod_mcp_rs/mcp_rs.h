/* mod_mcp_rs: declarations shared by the module's source files. */
#ifndef MCP_RS_H
#define MCP_RS_H

#include <httpd.h>
#include <http_config.h>

extern module AP_MODULE_DECLARE_DATA mcp_rs_module;

typedef struct {
    const char *resource;
    unsigned int resource_set:1;
} mcp_rs_dir_conf;

#endif /* MCP_RS_H */
