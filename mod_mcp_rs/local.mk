# mod_mcp_rs: the resource-server module.
apachemod_LTLIBRARIES += mod_mcp_rs/mod_mcp_rs.la

mod_mcp_rs_mod_mcp_rs_la_SOURCES = \
	mod_mcp_rs/mcp_rs.h \
	mod_mcp_rs/mod_mcp_rs.c \
	mod_mcp_rs/mcp_rs_config.c \
	mod_mcp_rs/mcp_rs_authn.c \
	mod_mcp_rs/mcp_rs_authz.c \
	mod_mcp_rs/mcp_rs_cache.c \
	mod_mcp_rs/mcp_rs_challenge.c \
	mod_mcp_rs/mcp_rs_echo.c \
	mod_mcp_rs/mcp_rs_http.c \
	mod_mcp_rs/mcp_rs_introspect.c \
	mod_mcp_rs/mcp_rs_jwks.c \
	mod_mcp_rs/mcp_rs_jwt.c \
	mod_mcp_rs/mcp_rs_metadata.c \
	mod_mcp_rs/mcp_rs_token.c
mod_mcp_rs_mod_mcp_rs_la_LDFLAGS = $(MODULE_LDFLAGS) $(AM_LDFLAGS)
mod_mcp_rs_mod_mcp_rs_la_LIBADD = common/libmcp_httpd.la common/libmcp.la \
	$(CURL_LIBS) $(OPENSSL_LIBS)
