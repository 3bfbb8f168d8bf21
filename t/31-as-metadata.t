# RFC 8414 metadata at the issuer's well-known URL, and the JWKS.
use strict;
use warnings FATAL => 'all';
use Apache::Test;
use Apache::TestUtil;
use FindBin;
use lib "$FindBin::Bin/lib";
use MCP::AS qw(base issuer ua json);

plan tests => 32;

my $ua = ua();
my $response = $ua->get(base() . '/.well-known/oauth-authorization-server');
ok t_cmp($response->code, 200, 'metadata: 200');
ok t_cmp($response->header('Content-Type'), qr{^application/json}, 'metadata is JSON');
my $meta = json($response);
my $iss = issuer();
ok t_cmp($meta->{issuer}, $iss, 'issuer exactly as configured');
ok t_cmp($meta->{authorization_endpoint}, "$iss/oauth/authorize", 'authorization_endpoint names the real URL');
ok t_cmp($meta->{token_endpoint}, "$iss/oauth/token", 'token_endpoint');
ok t_cmp($meta->{registration_endpoint}, "$iss/oauth/register", 'registration_endpoint');
ok t_cmp($meta->{revocation_endpoint}, "$iss/oauth/revoke", 'revocation_endpoint');
ok t_cmp($meta->{introspection_endpoint}, "$iss/oauth/introspect", 'introspection_endpoint');
ok t_cmp($meta->{jwks_uri}, "$iss/oauth/jwks", 'jwks_uri');
ok t_cmp(join(',', @{ $meta->{response_types_supported} }), 'code', 'response_types_supported');
ok t_cmp(join(',', @{ $meta->{code_challenge_methods_supported} }), 'S256', 'only S256');
ok t_cmp(join(',', sort @{ $meta->{grant_types_supported} }),
         'authorization_code,client_credentials,refresh_token', 'grant_types_supported');
ok t_cmp(join(',', sort @{ $meta->{token_endpoint_auth_methods_supported} }),
         'client_secret_basic,client_secret_post,none', 'token endpoint auth methods');
ok $meta->{revocation_endpoint_auth_methods_supported}
   && $meta->{introspection_endpoint_auth_methods_supported};
ok t_cmp(join(',', @{ $meta->{scopes_supported} }), 'mcp:echo,mcp:admin,mcp:read', 'scopes_supported');
ok $meta->{authorization_response_iss_parameter_supported} eq '1'
   || $meta->{authorization_response_iss_parameter_supported} == 1;
ok exists $meta->{client_id_metadata_document_supported};
ok !defined $response->header('Access-Control-Allow-Origin');

# CORS for browser-based clients (MCP Inspector)
$response = $ua->get(base() . '/.well-known/oauth-authorization-server',
                     Origin => 'http://inspector.example');
ok t_cmp($response->header('Access-Control-Allow-Origin'), '*', 'metadata: CORS');
my $preflight = HTTP::Request->new(OPTIONS => base() . '/oauth/token');
$preflight->header(Origin => 'http://inspector.example');
$preflight->header('Access-Control-Request-Method' => 'POST');
$response = $ua->request($preflight);
ok t_cmp($response->code, 204, 'token endpoint: CORS preflight answered');
ok t_cmp($response->header('Access-Control-Allow-Methods'), qr/POST/, 'preflight allows POST');
my $authz = HTTP::Request->new(GET => base() . '/oauth/authorize');
$authz->header(Origin => 'http://inspector.example');
$response = $ua->request($authz);
ok !defined $response->header('Access-Control-Allow-Origin');

$response = $ua->post(base() . '/.well-known/oauth-authorization-server');
ok t_cmp($response->code, 405, 'metadata: POST is 405');

# JWKS: every signing key, public parts only
$response = $ua->get(base() . '/oauth/jwks', Origin => 'http://inspector.example');
ok t_cmp($response->code, 200, 'jwks: 200');
ok t_cmp($response->header('Access-Control-Allow-Origin'), '*', 'jwks: CORS');
my $jwks = json($response);
ok t_cmp(scalar @{ $jwks->{keys} }, 2, 'both keys are published');
my ($es, $rs) = @{ $jwks->{keys} };
ok t_cmp($es->{kty} . '/' . $es->{alg}, 'EC/ES256', 'first key: ES256 (generated)');
ok t_cmp(length $es->{kid}, 43, 'kid defaults to the RFC 7638 thumbprint');
ok t_cmp($rs->{kty} . '/' . $rs->{alg} . '/' . $rs->{kid}, 'RSA/RS256/old-rsa', 'second key: RS256 with its configured kid');
ok !grep({ exists $_->{d} || exists $_->{p} } @{ $jwks->{keys} });

my $mode = (stat("$FindBin::Bin/state/as-es256.pem"))[2];
ok t_cmp(sprintf('%o', $mode & 0777), '600', 'generated key file has mode 0600');

$response = $ua->get(base() . '/oauth/nothing-here');
ok t_cmp($response->code, 404, 'unknown endpoint: 404');
