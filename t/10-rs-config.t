# mod_mcp_rs directives: every bad value stops `httpd -t` (apachectl
# configtest) with a message naming the directive; so do the
# cross-directive checks, which run in check_config and so under -t too.
use strict;
use warnings FATAL => 'all';
use Apache::Test;
use Apache::TestUtil;
use FindBin;
use lib "$FindBin::Bin/lib";
use MCP::ConfigTest qw(configtest);

my $keys = "$FindBin::Bin/keys";
my $good = "MCPResource https://rs.example/mcp\nMCPAuthorizationServer https://as.example\n"
         . "MCPJWKS $keys/test-main.jwks.json\n";
sub loc { "<Location /mcp>\n" . join("\n", @_) . "\n</Location>" }

my @bad = (
    [ loc("AuthType MCP", "MCPAuthorizationServer https://as.example", "Require valid-user"),
      qr/AuthType MCP in <Location \/mcp> needs MCPResource/ ],
    [ loc("AuthType MCP", "MCPResource https://rs.example/mcp", "Require valid-user"),
      qr/AuthType MCP in <Location \/mcp> needs MCPAuthorizationServer/ ],
    [ loc("MCPAuthorizationServer ftp://as.example"), qr/MCPAuthorizationServer: .*expected an https URL/ ],
    [ loc("MCPAuthorizationServer http://as.example"), qr/MCPAuthorizationServer: .*loopback/ ],
    [ loc("MCPAuthorizationServer https://as.example/?x=1"), qr/MCPAuthorizationServer: .*no\s+query/ ],
    [ loc("MCPJWKS /no/such/jwks.json"), qr/MCPJWKS: cannot read \/no\/such\/jwks.json/ ],
    [ loc("MCPJWKS $FindBin::Bin/htdocs/rs/jwks/garbage.json"), qr/MCPJWKS: .*is not a JWKS/ ],
    [ loc("MCPJWKS http://keys.example/jwks.json"), qr/MCPJWKS: .*expected an https URL/ ],
    [ loc("MCPJWKS $keys/test-rsa.pem"), qr/MCPJWKS: .*not a JWKS/ ],
    [ loc("MCPAlgorithms none"), qr/MCPAlgorithms: 'none' is never accepted/ ],
    [ loc("MCPAlgorithms HS256"), qr/MCPAlgorithms: 'HS256' is never accepted/ ],
    [ loc("MCPAlgorithms RS256 XY999"), qr/MCPAlgorithms: unknown algorithm 'XY999'/ ],
    [ loc("MCPScopes good 'bad\"scope'"), qr/MCPScopes: .*is not a scope/ ],
    [ loc("MCPClockSkew -5"), qr/MCPClockSkew: '-5' is not a number of seconds/ ],
    [ loc("MCPClockSkew soon"), qr/MCPClockSkew: 'soon' is not a number of seconds/ ],
    [ loc("MCPClockSkew 3600"), qr/MCPClockSkew: .*between 0 and 600/ ],
    [ loc("MCPRequireTyp maybe"), qr/MCPRequireTyp must be On or Off/ ],
    [ loc("MCPPassToken yes"), qr/MCPPassToken must be On or Off/ ],
    [ loc("MCPIntrospection ftp://as.example/introspect id secret"), qr/MCPIntrospection: .*expected an https URL/ ],
    [ loc("MCPIntrospection https://as.example/introspect id"), qr/MCPIntrospection takes three arguments/ ],
    [ loc("MCPIntrospectionCache forever"), qr/MCPIntrospectionCache: .*seconds/ ],
    [ loc("MCPAllowedOrigin https://app.example/path"), qr/MCPAllowedOrigin: .*is not an origin/ ],
    [ "MCPJWKSTimeout 0", qr/MCPJWKSTimeout: '0' is not a timeout/ ],
    [ "MCPJWKSRefresh 0", qr/MCPJWKSRefresh: '0' is not a number of seconds/ ],
    [ "MCPJWKSRefetchInterval x", qr/MCPJWKSRefetchInterval: .*seconds/ ],
    [ "MCPTokenCacheSize -1", qr/MCPTokenCacheSize: '-1' is not a number of entries/ ],
    [ "MCPMetadataMaxAge year", qr/MCPMetadataMaxAge: .*seconds/ ],
    [ loc("AuthType MCP", $good, "Require mcp-scope"), qr/Require mcp-scope: expected one or more scopes/ ],
    [ loc("AuthType MCP", $good, "Require mcp-scope a\\b"), qr/Require mcp-scope: .*is not a scope/ ],
    [ loc("MCPJWKSTimeout 5"), qr/MCPJWKSTimeout not allowed in <Location> context/ ],
);

my @good = (
    [ loc("AuthType MCP", $good, "MCPScopes mcp:echo mcp:admin", "MCPAlgorithms ES256 PS256",
          "MCPClockSkew 0", "MCPRequireTyp Off", "MCPPassToken On",
          "MCPIntrospection https://as.example/introspect rs secret",
          "MCPIntrospectionCache 30", "MCPAllowedOrigin https://app.example *",
          "Require mcp-scope mcp:echo"),
      'every directive with a good value' ],
    [ "MCPJWKSTimeout 250ms\nMCPJWKSRefresh 600\nMCPJWKSRefetchInterval 0\n"
      . "MCPTokenCacheSize 0\nMCPMetadataMaxAge 60", 'server-level directives' ],
    [ "<Location /mcp>\n$good</Location>\n"
      . "<Location /mcp/tool>\nAuthType MCP\nRequire valid-user\n</Location>",
      'AuthType MCP inheriting MCPResource from an enclosing location' ],
    [ loc("AuthType MCP", "MCPResource https://rs.example/mcp",
          "MCPIntrospection https://as.example/introspect rs secret", "Require valid-user"),
      'introspection only, no MCPAuthorizationServer' ],
    [ loc("AuthType MCP", "MCPResource https://rs.example/mcp",
          "MCPAuthorizationServer https://as.example", "Require valid-user"),
      'keys from the issuer metadata (no MCPJWKS)' ],
    [ loc("AuthType Basic", "AuthName x", "Require valid-user"), 'other AuthTypes are left alone' ],
);

plan tests => 2 * @bad + @good;

for my $case (@bad) {
    my ($snippet, $expect) = @$case;
    my ($status, $output) = configtest($snippet);
    ok t_cmp($status, qr/^[1-9]/, "configtest fails: $snippet");
    ok t_cmp($output, $expect, "message names the directive: $snippet");
}
for my $case (@good) {
    my ($snippet, $name) = @$case;
    my ($status, $output) = configtest($snippet);
    ok t_cmp("$status $output", qr/^0 .*Syntax OK/s, $name);
}
