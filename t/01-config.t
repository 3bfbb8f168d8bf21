# A directive with a wrong value stops the server (apachectl configtest)
# with a message that names the directive and what it expects.
use strict;
use warnings FATAL => 'all';
use Apache::Test;
use Apache::TestUtil;
use FindBin;
use lib "$FindBin::Bin/lib";
use MCP::ConfigTest qw(configtest);

my @cases = (
    [ 'MCPIssuer ftp://as.example',                 qr/MCPIssuer: .*expected an https URL/ ],
    [ 'MCPIssuer https://as.example/?tenant=1',     qr/MCPIssuer: .*no query/ ],
    [ "<Location /mcp>\nMCPResource not-a-url\n</Location>",
                                                    qr/MCPResource: .*expected an absolute/ ],
    [ "<Location /mcp>\nMCPResource https://rs.example/mcp#frag\n</Location>",
                                                    qr/MCPResource: .*no fragment/ ],
);

plan tests => 2 + 2 * @cases;

my ($status, $output) = configtest("MCPIssuer https://as.example\n"
    . "<Location /mcp>\nMCPResource https://rs.example/mcp\n</Location>");
ok t_cmp($status, 0, 'a valid configuration passes configtest');
ok t_cmp($output, qr/Syntax OK/, 'configtest says Syntax OK');

for my $case (@cases) {
    my ($snippet, $expect) = @$case;
    my ($status, $output) = configtest($snippet);
    ok $status != 0;
    ok t_cmp($output, $expect, "configtest refuses: $snippet");
}
