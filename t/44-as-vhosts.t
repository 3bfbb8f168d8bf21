# Other configurations in virtual hosts: an issuer with a path (RFC 8414
# §3.1 path-inserted metadata URL), registration with an initial access
# token, several allowed resources, registration off.
use strict;
use warnings FATAL => 'all';
use Apache::Test;
use Apache::TestUtil;
use Apache::TestRequest ();
use FindBin;
use lib "$FindBin::Bin/lib";
use JSON::PP ();
use HTTP::Request::Common ();
use MCP::AS qw(ua json pkce);

plan tests => 21;

sub host_of { Apache::TestRequest::module($_[0]); my $h = Apache::TestRequest::hostport();
              Apache::TestRequest::module('default'); "http://$h" }
my $strict = host_of('mcp_as_strict');
my $closed = host_of('mcp_as_closed');

# ---- issuer with a path
my $response = ua()->get("$strict/.well-known/oauth-authorization-server/tenant");
ok t_cmp($response->code, 200, 'path-inserted metadata URL');
my $meta = json($response);
ok t_cmp($meta->{issuer}, 'https://strict.example/tenant', 'issuer exactly as configured');
ok t_cmp($meta->{token_endpoint}, 'https://strict.example/oauth/token', 'endpoints where SetHandler mcp-as is');
$response = ua()->get("$strict/.well-known/oauth-authorization-server");
ok t_cmp($response->code, 404, 'not at the bare well-known URL');

# ---- registration with an initial access token (RFC 7591 §3)
my $body = JSON::PP->new->encode({ redirect_uris => ['https://c.example/cb'],
                                   token_endpoint_auth_method => 'none' });
$response = ua()->post("$strict/oauth/register", 'Content-Type' => 'application/json', Content => $body);
ok t_cmp($response->code, 401, 'no initial access token: 401');
ok t_cmp(json($response)->{error}, 'invalid_token', 'invalid_token');
ok t_cmp($response->header('WWW-Authenticate'), qr/^Bearer/, 'WWW-Authenticate: Bearer');
$response = ua()->post("$strict/oauth/register", 'Content-Type' => 'application/json', Content => $body,
                       Authorization => 'Bearer not-the-token-at-all');
ok t_cmp($response->code, 401, 'a wrong token: 401');
ok t_cmp($response->header('WWW-Authenticate'), qr/error="invalid_token"/, 'says invalid_token');
$response = ua()->post("$strict/oauth/register", 'Content-Type' => 'application/json', Content => $body,
                       Authorization => 'Bearer strict-initial-access-token');
ok t_cmp($response->code, 201, 'the right token: 201');
my $client = json($response);

# ---- two resources: the request must name one
my ($verifier, $challenge) = pkce();
my $uri = URI->new("$strict/oauth/authorize");
my %req = (client_id => $client->{client_id}, response_type => 'code', state => 'r',
           code_challenge => $challenge, code_challenge_method => 'S256', scope => 'mcp:echo');
$uri->query_form(%req);
my $request = HTTP::Request->new(GET => $uri);
$request->authorization_basic('alice', 'wonderland-pass');
$response = ua()->request($request);
my %q = URI->new($response->header('Location') // '')->query_form;
ok t_cmp($q{error}, 'invalid_target', 'several resources and none named: invalid_target');
ok t_cmp($q{iss}, 'https://strict.example/tenant', 'iss of this issuer');
$uri->query_form(%req, resource => 'https://two.example/mcp');
$request = HTTP::Request->new(GET => $uri);
$request->authorization_basic('alice', 'wonderland-pass');
ok t_cmp(ua()->request($request)->code, 200, 'naming one of them: the consent page');

# ---- registration off
$response = ua()->post("$closed/oauth/register", 'Content-Type' => 'application/json', Content => $body);
ok t_cmp($response->code, 403, 'registration off: 403');
ok t_cmp(json($response)->{error_description}, qr/disabled/, 'says it is disabled');
$meta = json(ua()->get("$closed/.well-known/oauth-authorization-server"));
ok !exists $meta->{registration_endpoint};
ok t_cmp($meta->{issuer}, $closed =~ s/localhost/127.0.0.1/r, 'its own issuer');

# ---- codes expire (MCPCodeLifetime 1 here); the store is shared, so a
# client registered on the main server is known here too
my (undef, $pub) = MCP::AS::register_client();
$uri = URI->new("$closed/oauth/authorize");
my %short = (%req, client_id => $pub->{client_id});
$uri->query_form(%short);
$request = HTTP::Request->new(GET => $uri);
$request->authorization_basic('alice', 'wonderland-pass');
my $page = ua()->request($request);
my $form = MCP::AS::consent_form($page);
my $approve = HTTP::Request::Common::POST("$closed/oauth/authorize", [%$form, mcp_consent => 'approve']);
$approve->authorization_basic('alice', 'wonderland-pass');
%q = URI->new(ua()->request($approve)->header('Location') // '')->query_form;
ok t_cmp(length($q{code} // ''), 43, 'a code from the short-lived-code server');
sleep 3;
$response = ua()->post("$closed/oauth/token", [grant_type => 'authorization_code', code => $q{code},
    code_verifier => $verifier, client_id => $pub->{client_id}]);
ok t_cmp(json($response)->{error}, 'invalid_grant', 'after its lifetime the code is refused');

# ---- the store file is private to the server's user
my $mode = (stat(Apache::Test::vars('t_dir') . '/state/as.db'))[2];
if (defined $mode && !-e Apache::Test::vars('t_dir') . '/state/as-store.conf') {
    ok t_cmp(sprintf('%o', $mode & 0777), '600', 'the SQLite file has mode 0600');
}
else {
    skip 'not the SQLite store', 1;
}

# ---- a scope named twice in MCPScopesSupported is listed once
# (t/conf/ratelimit.conf.in names mcp:echo twice)
$meta = json(ua()->get(host_of('mcp_as_limited') . '/.well-known/oauth-authorization-server'));
ok t_cmp(join(' ', @{ $meta->{scopes_supported} || [] }), 'mcp:echo mcp:read',
         'a scope configured twice is listed once');
