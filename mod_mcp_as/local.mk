# mod_mcp_as: the authorization server module.
apachemod_LTLIBRARIES += mod_mcp_as/mod_mcp_as.la

mod_mcp_as_mod_mcp_as_la_SOURCES = \
	mod_mcp_as/mcp_as.h \
	mod_mcp_as/mod_mcp_as.c
mod_mcp_as_mod_mcp_as_la_LDFLAGS = $(MODULE_LDFLAGS) $(AM_LDFLAGS)
mod_mcp_as_mod_mcp_as_la_LIBADD = common/libmcp_httpd.la common/libmcp.la \
	$(CURL_LIBS)
