# Code shared by both modules and the client (DESIGN.md: written once).
noinst_LTLIBRARIES += common/libmcp.la common/libmcp_httpd.la

common_libmcp_la_SOURCES = \
	common/mcp_common.h \
	common/mcp_b64url.c \
	common/mcp_crypto.c \
	common/mcp_http.c \
	common/mcp_json.c \
	common/mcp_jwk.c \
	common/mcp_jws.h \
	common/mcp_jws.c \
	common/mcp_uri.c
common_libmcp_la_LIBADD = $(APR_LIBS) $(APU_LIBS) $(OPENSSL_LIBS) \
	$(JANSSON_LIBS) $(CJOSE_LIBS)

# Helpers that need httpd's request_rec; modules only.
common_libmcp_httpd_la_SOURCES = \
	common/mcp_httpd.h \
	common/mcp_httpd.c
