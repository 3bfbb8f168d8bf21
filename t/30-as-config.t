# mod_mcp_as directives: every bad value stops the server (configtest) with
# a message that names the directive and what it expects.
use strict;
use warnings FATAL => 'all';
use Apache::Test;
use Apache::TestUtil;
use FindBin;
use lib "$FindBin::Bin/lib";
use MCP::ConfigTest qw(configtest);
use File::Temp qw(tempdir);

my $good = "MCPIssuer https://as.example\n<Location /oauth>\nSetHandler mcp-as\n</Location>\n";
my @cases = (
    [ 'MCPEndpointBase oauth',                   qr/MCPEndpointBase: .*not a URL path/ ],
    [ 'MCPEndpointBase /oauth/../x',             qr/MCPEndpointBase: / ],
    [ 'MCPSigningKey /tmp/k.pem kid ES384',      qr/MCPSigningKey: .*ES256\|RS256/ ],
    [ 'MCPSigningKey /tmp/k.pem "bad kid"',      qr/MCPSigningKey: .*neither a key id/ ],
    [ 'MCPSigningKey',                           qr/MCPSigningKey/ ],
    [ 'MCPStore mysql "host=x"',                 qr/MCPStore: unsupported driver 'mysql'/ ],
    [ 'MCPStore sqlite3 ""',                     qr/MCPStore takes two arguments, DRIVER PARAMS/ ],
    [ 'MCPStore pgsql ""',                       qr/MCPStore takes two arguments/ ],
    [ 'MCPCache nosuchcache',                    qr/MCPCache: unknown socache provider 'nosuchcache'/ ],
    [ 'MCPScopesSupported "a b"',                qr/MCPScopesSupported: .*not a valid scope/ ],
    [ 'MCPScopesSupported a"b',                  qr/MCPScopesSupported: .*not a valid scope/ ],
    [ 'MCPScopeDescription mcp:x " "',            qr/MCPScopeDescription: expected SCOPE/ ],
    [ 'MCPScopeDescription mcp:x ""',            qr/MCPScopeDescription takes two arguments/ ],
    [ 'MCPAllowedResource not-a-uri',            qr/MCPAllowedResource: .*not a resource URI/ ],
    [ 'MCPAllowedResource https://rs.example/#f', qr/MCPAllowedResource: .*no fragment/ ],
    [ 'MCPAccessTokenLifetime 0',                qr/MCPAccessTokenLifetime: .*from 10 to 86400/ ],
    [ 'MCPAccessTokenLifetime ten',              qr/MCPAccessTokenLifetime: .*number of seconds/ ],
    [ 'MCPRefreshTokenLifetime 99999999999',     qr/MCPRefreshTokenLifetime: / ],
    [ 'MCPCodeLifetime 601',                     qr/MCPCodeLifetime: .*from 1 to 600/ ],
    [ 'MCPRegistration maybe',                   qr/MCPRegistration: expected 'open', 'off' or 'token SECRET'/ ],
    [ 'MCPRegistration token short',             qr/MCPRegistration: .*at least 16/ ],
    [ 'MCPRegistration open extra',              qr/MCPRegistration: expected/ ],
    [ 'MCPClient onlyid',                        qr/MCPClient: expected CLIENT_ID SECRET/ ],
    [ 'MCPClient "bad id" secret-0123456789abcdef', qr/MCPClient: .*not a client id/ ],
    [ 'MCPClient agent short',                   qr/MCPClient: the secret must be at least 16/ ],
    [ 'MCPClient agent sha256:abc',              qr/MCPClient: sha256:HASH must be/ ],
    [ "MCPClient a secret-0123456789abcdef\nMCPClient a secret-0123456789abcdef",
                                                 qr/MCPClient: client 'a' is configured twice/ ],
    [ "<VirtualHost *:65534>\nMCPCache shmcb\n</VirtualHost>",
                                                 qr/MCPCache: one cache serves the whole server/ ],
    [ "<Location /oauth>\nSetHandler mcp-as\n</Location>",
                                                 qr/SetHandler mcp-as in <Location \/oauth> needs MCPIssuer/ ],
    [ 'MCPClientMetadataAllowPrivate maybe',     qr/MCPClientMetadataAllowPrivate/ ],
    [ 'MCPClientMetadataCAFile /nonexistent/ca.pem', qr/MCPClientMetadataCAFile: .*not a readable file/ ],
);

# MCPSigningKey files whose contents cannot sign: configtest reads them
# as the start would (a file that does not exist yet is generated then)
my $keys = Apache::Test::vars('t_dir') . '/keys';
my $dir = tempdir(CLEANUP => 1);
sub write_file { open my $fh, '>', $_[0] or die "$_[0]: $!"; print $fh $_[1]; close $fh; $_[0] }
system('openssl', 'genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:1024',
       '-out', "$dir/rsa1024.pem") == 0 or die 'openssl genpkey failed';
system('openssl', 'genpkey', '-algorithm', 'ED25519', '-out', "$dir/ed25519.pem") == 0
    or die 'openssl genpkey failed';
my @key_cases = (
    [ write_file("$dir/text.pem", "not a key\n"),  qr/AH30034: MCPSigningKey: \S+text.pem is not a PEM private key/ ],
    [ "$dir",                                       qr/AH30034: MCPSigningKey: \S+ is not a PEM private key/ ],
    [ "$keys/test-ec384.pem",                       qr/AH30036: MCPSigningKey: \S+: an EC key must be on the P-256 curve/ ],
    [ "$dir/rsa1024.pem",                           qr/AH30036: MCPSigningKey: \S+: an RSA key must have at least 2048 bits/ ],
    [ "$dir/ed25519.pem",                           qr/AH30036: MCPSigningKey: \S+: the key is neither EC P-256 nor RSA/ ],
    [ "$keys/test-rsa.pem ES256",                   qr/AH30037: MCPSigningKey: \S+ holds an RS256 key, but ES256 was asked for/ ],
    [ "$keys/test-ec.pem ec-1 RS256",               qr/AH30037: MCPSigningKey: \S+ holds an ES256 key, but RS256 was asked for/ ],
);

plan tests => 4 + 2 * @cases + 2 * @key_cases;

my ($status, $output) = configtest($good . join("\n",
    'MCPSigningKey /tmp/never-created.pem',
    'MCPSigningKey /tmp/never-created-rsa.pem old RS256',
    'MCPStore sqlite3 /tmp/never-created.db',
    'MCPCache shmcb',
    'MCPScopesSupported mcp:echo mcp:admin',
    'MCPScopeDescription mcp:echo "Call the echo tool"',
    'MCPAllowedResource https://rs.example/mcp http://127.0.0.1:8080/mcp',
    'MCPAccessTokenLifetime 600',
    'MCPRefreshTokenLifetime 86400',
    'MCPCodeLifetime 30',
    'MCPRegistration token initial-access-token-0123',
    'MCPClient agent secret-0123456789abcdef mcp:echo',
    'MCPClient rs sha256:tzq7d3UDj31RyjW4AsyzthuGmYUXsyn7BpnWsgnovcM',
    'MCPIntrospector rs',
    'MCPClientMetadataDocuments off',
    'MCPClientMetadataAllowPrivate off',
    'MCPClientMetadataCAFile /etc/ssl/certs/ca-certificates.crt',
    'MCPEndpointBase /oauth'));
ok t_cmp($status, 0, 'every directive with a good value passes configtest');
ok t_cmp($output, qr/Syntax OK/, 'configtest says Syntax OK');

for my $case (@cases) {
    my ($snippet, $expect) = @$case;
    my ($status, $output) = configtest($snippet);
    ok $status != 0;
    ok t_cmp($output, $expect, "configtest refuses: $snippet");
}

for my $case (@key_cases) {
    my ($arguments, $expect) = @$case;
    my ($status, $output) = configtest("${good}MCPSigningKey $arguments");
    ok $status != 0;
    ok t_cmp($output, $expect, "configtest refuses the key: $arguments");
}
($status, $output) = configtest("${good}MCPSigningKey $keys/test-ec.pem ec-1 ES256\n"
                              . "MCPSigningKey $keys/test-rsa.pem rsa-1 RS256");
ok t_cmp($status, 0, 'an ES256 and an RS256 key file pass configtest');
ok t_cmp($output, qr/Syntax OK/, 'Syntax OK');
