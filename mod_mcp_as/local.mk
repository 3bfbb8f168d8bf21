# mod_mcp_as: the authorization server module.
apachemod_LTLIBRARIES += mod_mcp_as/mod_mcp_as.la

mod_mcp_as_mod_mcp_as_la_SOURCES = \
	mod_mcp_as/mcp_as.h \
	mod_mcp_as/mcp_as_authorize.h \
	mod_mcp_as/mod_mcp_as.c \
	mod_mcp_as/mcp_as_authorize.c \
	mod_mcp_as/mcp_as_cache.c \
	mod_mcp_as/mcp_as_cimd.c \
	mod_mcp_as/mcp_as_client_metadata.c \
	mod_mcp_as/mcp_as_client_auth.c \
	mod_mcp_as/mcp_as_config.c \
	mod_mcp_as/mcp_as_consent.c \
	mod_mcp_as/mcp_as_introspect.c \
	mod_mcp_as/mcp_as_jwt.c \
	mod_mcp_as/mcp_as_keys.c \
	mod_mcp_as/mcp_as_metadata.c \
	mod_mcp_as/mcp_as_ratelimit.c \
	mod_mcp_as/mcp_as_register.c \
	mod_mcp_as/mcp_as_revoke.c \
	mod_mcp_as/mcp_as_store.c \
	mod_mcp_as/mcp_as_token.c \
	mod_mcp_as/mcp_as_util.c
mod_mcp_as_mod_mcp_as_la_LDFLAGS = $(MODULE_LDFLAGS) $(AM_LDFLAGS)
mod_mcp_as_mod_mcp_as_la_LIBADD = common/libmcp_httpd.la common/libmcp.la \
	$(CURL_LIBS) $(OPENSSL_LIBS) $(CJOSE_LIBS) $(JANSSON_LIBS) $(APU_LIBS) \
	$(SQLITE3_LIBS)
