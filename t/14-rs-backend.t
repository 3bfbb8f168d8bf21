# Identity handed to what AuthType MCP protects: a static file, a CGI and a
# mod_proxy backend.  r->user, MCP_SUB/MCP_CLIENT_ID/MCP_SCOPE and the
# MCP-Sub/MCP-Client-Id/MCP-Scope request headers; forged ones removed;
# Authorization removed unless MCPPassToken On.
use strict;
use warnings FATAL => 'all';
use Apache::Test;
use Apache::TestUtil;
use Apache::TestRequest qw(GET);
use FindBin;
use lib "$FindBin::Bin/lib";
use MCP::RS qw(check mint bearer challenge);

plan tests => 30;

my $token = mint(claims => { sub => 'alice', client_id => 'client-1', scope => 'mcp:echo mcp:read' });
my @forged = ('MCP-Sub' => 'mallory', 'MCP-Client-Id' => 'evil', 'MCP-Scope' => 'mcp:admin',
              'MCP_Sub' => 'mallory2');

sub env_of {
    my ($response) = @_;
    my %env = map { /^([^=]+)=(.*)$/ ? ($1 => $2) : () } split /\n/, $response->content;
    return \%env;
}

# static file
my $r = GET '/rs/static/hello.txt';
ok t_cmp($r->code, 401, 'static file without a token: 401');
$r = GET '/rs/static/hello.txt', bearer($token);
ok t_cmp($r->code, 200, 'static file with a token: 200');
ok t_cmp($r->content, qr/hello from a static file/, 'its content');

# CGI
$r = GET '/rs/cgi/env.pl';
ok t_cmp($r->code, 401, 'CGI without a token: 401');
$r = GET '/rs/cgi/env.pl', bearer($token), @forged;
my $env = env_of($r);
ok t_cmp($r->code, 200, 'CGI with a token: 200');
ok t_cmp($env->{REMOTE_USER}, 'alice', 'REMOTE_USER = sub');
ok t_cmp($env->{AUTH_TYPE}, 'Bearer', 'AUTH_TYPE');
ok t_cmp($env->{MCP_SUB}, 'alice', 'MCP_SUB');
ok t_cmp($env->{MCP_CLIENT_ID}, 'client-1', 'MCP_CLIENT_ID');
ok t_cmp($env->{MCP_SCOPE}, 'mcp:echo mcp:read', 'MCP_SCOPE');
ok t_cmp($env->{HTTP_MCP_SUB}, 'alice', 'forged MCP-Sub replaced');
ok t_cmp($env->{HTTP_MCP_SCOPE}, 'mcp:echo mcp:read', 'forged MCP-Scope replaced');
check !exists $env->{HTTP_AUTHORIZATION}, 'no Authorization for the CGI (CGIPassAuth On there)';

# Require all granted under AuthType MCP: no authentication, forged headers gone
$r = GET '/rs/open/cgi/env.pl', @forged;
$env = env_of($r);
ok t_cmp($r->code, 200, 'Require all granted: 200');
check !exists $env->{HTTP_MCP_SUB}, 'forged MCP-Sub removed';
check !exists $env->{HTTP_MCP_CLIENT_ID}, 'forged MCP-Client-Id removed';
check !exists $env->{HTTP_MCP_SCOPE}, 'forged MCP-Scope removed';
check !exists $env->{MCP_SUB}, 'no MCP_SUB';

# mod_proxy to a backend on this server
$r = GET '/rs/proxy/env.pl';
ok t_cmp($r->code, 401, 'proxy without a token: 401');
check !defined $r->header('X-Backend-Saw') && challenge($r)->{resource_metadata}, 'challenge from the guard';
$r = GET '/rs/proxy/env.pl', bearer($token), @forged;
$env = env_of($r);
ok t_cmp($r->code, 200, 'proxy with a token: 200');
ok t_cmp($env->{HTTP_MCP_SUB}, 'alice', 'backend gets MCP-Sub');
ok t_cmp($env->{HTTP_MCP_CLIENT_ID}, 'client-1', 'backend gets MCP-Client-Id');
ok t_cmp($env->{HTTP_MCP_SCOPE}, 'mcp:echo mcp:read', 'backend gets MCP-Scope');
check !exists $env->{HTTP_AUTHORIZATION}, 'backend does not get the token';
check !grep({ $_ eq 'mallory' || $_ eq 'mallory2' || $_ eq 'evil' } values %$env), 'no forged value reaches it';

# MCPPassToken On
$r = GET '/rs/pass/env.pl', bearer($token);
$env = env_of($r);
ok t_cmp($r->code, 200, 'MCPPassToken On: 200');
ok t_cmp($env->{HTTP_AUTHORIZATION}, "Bearer $token", 'the backend gets the token');
ok t_cmp($env->{HTTP_MCP_SUB}, 'alice', 'and the identity');
$r = GET '/rs/pass/env.pl';
ok t_cmp($r->code, 401, 'still protected');
