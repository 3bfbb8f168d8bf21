# mcp-client: the command-line client.  Everything but main() is in a
# convenience library so the unit tests (and fuzzers) can link the parts.
bin_PROGRAMS += client/mcp-client
noinst_LTLIBRARIES += client/libmcpc.la

client_libmcpc_la_SOURCES = \
	client/mcpc.h \
	client/mcpc_challenge.c \
	client/mcpc_discovery.c \
	client/mcpc_http.c \
	client/mcpc_register.c \
	client/mcpc_authorize.c \
	client/mcpc_token.c \
	client/mcpc_assertion.c \
	client/mcpc_store.c \
	client/mcpc_flow.c \
	client/mcpc_mcp.c
client_libmcpc_la_LIBADD = common/libmcp.la $(CURL_LIBS) $(OPENSSL_LIBS) $(APR_LIBS) $(APU_LIBS)

client_mcp_client_SOURCES = client/mcp-client.c
client_mcp_client_LDADD = client/libmcpc.la common/libmcp.la $(CURL_LIBS) $(OPENSSL_LIBS) $(APR_LIBS) $(APU_LIBS)

dist_man_MANS += client/mcp-client.1
