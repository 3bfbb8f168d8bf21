# Ready-made configuration, installed where Debian's a2enmod looks for it.
modsavailabledir = $(APACHE_CONFDIR)/mods-available
modsavailable_DATA = conf/mcp_as.load conf/mcp_rs.load conf/mcp_as.conf conf/mcp_rs.conf
EXTRA_DIST += conf/mcp_as.load.in conf/mcp_rs.load.in conf/mcp_as.conf conf/mcp_rs.conf conf/demo \
	conf/mcp_as-openidc.conf.example conf/mcp_as-ratelimit.conf.example conf/cluster
