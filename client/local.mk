# mcp-client: the command-line client.
bin_PROGRAMS += client/mcp-client

client_mcp_client_SOURCES = \
	client/mcp-client.c
client_mcp_client_LDADD = common/libmcp.la $(CURL_LIBS) $(APR_LIBS) $(APU_LIBS)
