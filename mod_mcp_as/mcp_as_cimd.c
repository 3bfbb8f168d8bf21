/*
 * Client ID Metadata Documents: a client_id that is an https URL names
 * the client's own metadata.  Not implemented yet: such client ids are
 * refused as unknown clients.
 */
#include <httpd.h>
#include <string.h>
#include "mcp_common.h"
#include "mcp_as.h"

int mcp_as_cimd_is_url(const char *client_id)
{
    return strncmp(client_id, "https://", 8) == 0
        || strncmp(client_id, "http://", 7) == 0;
}

int mcp_as_cimd_fetch(request_rec *r, mcp_as_server_conf *conf,
                      const char *client_id, mcp_as_client **client,
                      const char **error)
{
    *error = "client metadata documents are not supported yet";
    return MCP_ERROR;
}
