# The token endpoint's authorization_code grant: PKCE, redirect_uri,
# resource, client authentication, code replay (which revokes what the
# code produced), and the RFC 9068 access token.
use strict;
use warnings FATAL => 'all';
use Apache::Test;
use Apache::TestUtil;
use FindBin;
use lib "$FindBin::Bin/lib";
use Crypt::JWT qw(decode_jwt);
use MCP::AS qw(base issuer resource ua json pkce register_client login_code
               exchange_code token_request refresh full_flow basic);

plan tests => 58;

my ($verifier, $challenge) = pkce();
my (undef, $client) = register_client(redirect_uris => ['http://127.0.0.1:9/cb', 'https://two.example/cb']);
my $id = $client->{client_id};
sub code_for {
    my (%extra) = @_;
    my ($code) = login_code(client_id => $id, response_type => 'code',
        code_challenge => $challenge, code_challenge_method => 'S256',
        redirect_uri => 'http://127.0.0.1:9/cb', scope => 'mcp:echo', %extra);
    return $code;
}

# ---- a good exchange
my $code = code_for();
my ($response, $tokens) = exchange_code($id, $code, $verifier, redirect_uri => 'http://127.0.0.1:9/cb',
                                        resource => resource());
ok t_cmp($response->code, 200, 'code exchange: 200');
ok t_cmp($response->header('Cache-Control'), 'no-store', 'Cache-Control: no-store');
ok t_cmp($response->header('Content-Type'), qr{^application/json}, 'JSON');
ok t_cmp($tokens->{token_type}, 'Bearer', 'token_type Bearer');
ok t_cmp($tokens->{expires_in}, 300, 'expires_in = MCPAccessTokenLifetime');
ok t_cmp($tokens->{scope}, 'mcp:echo', 'scope');
ok t_cmp(length $tokens->{refresh_token}, 43, 'a 256-bit refresh token');

# RFC 9068: verify with the published JWKS
my $jwks = json(ua()->get(base() . '/oauth/jwks'));
my ($header, $claims) = decode_jwt(token => $tokens->{access_token}, kid_keys => $jwks,
                                   decode_header => 1, verify_exp => 1);
ok t_cmp($header->{typ}, 'at+jwt', 'typ at+jwt');
ok t_cmp($header->{alg}, 'ES256', 'alg ES256 (the first key)');
ok t_cmp($header->{kid}, $jwks->{keys}[0]{kid}, 'kid of the first key');
ok t_cmp($claims->{iss}, issuer(), 'iss');
ok t_cmp($claims->{sub}, 'alice', 'sub is the Apache user');
ok t_cmp($claims->{aud}, resource(), 'aud is the resource');
ok t_cmp($claims->{client_id}, $id, 'client_id');
ok t_cmp($claims->{scope}, 'mcp:echo', 'scope claim');
ok t_cmp($claims->{exp} - $claims->{iat}, 300, 'exp - iat');
ok t_cmp(length($claims->{jti}) >= 16, 1, 'jti');

# ---- replay: invalid_grant, and what the code produced is revoked
($response, my $replay) = exchange_code($id, $code, $verifier);
ok t_cmp($response->code, 400, 'replayed code: 400');
ok t_cmp($replay->{error}, 'invalid_grant', 'replayed code: invalid_grant');
ok t_cmp($replay->{error_description}, qr/already used.*revoked/, 'says the tokens are revoked');
($response, my $after) = refresh($id, $tokens->{refresh_token});
ok t_cmp($after->{error}, 'invalid_grant', 'the refresh token from the replayed code is revoked');
my ($rs_id, $rs_secret) = ('as-rs', 'as-rs-secret-0123456789');
my $introspect = HTTP::Request::Common::POST(base() . '/oauth/introspect', [token => $tokens->{access_token}]);
$introspect->header(Authorization => basic($rs_id, $rs_secret));
ok t_cmp(json(ua()->request($introspect))->{active}, JSON::PP::false(), 'the access token from the replayed code is inactive');

# ---- PKCE
$code = code_for();
($response, my $error) = exchange_code($id, $code, undef);
ok t_cmp($error->{error}, 'invalid_request', 'no code_verifier: invalid_request');
ok t_cmp($error->{error_description}, qr/code_verifier is required/, 'says PKCE');
($response, $error) = exchange_code($id, $code, 'too-short');
ok t_cmp($error->{error}, 'invalid_request', 'a too-short verifier: invalid_request');
($response, $error) = exchange_code($id, $code, 'a' x 129);
ok t_cmp($error->{error}, 'invalid_request', 'a too-long verifier: invalid_request');
($response, $error) = exchange_code($id, $code, ('a' x 42) . '!');
ok t_cmp($error->{error}, 'invalid_request', 'a verifier with a bad character');
my ($other_verifier) = pkce();
($response, $error) = exchange_code($id, $code, $other_verifier, redirect_uri => 'http://127.0.0.1:9/cb');
ok t_cmp($error->{error}, 'invalid_grant', 'wrong verifier: invalid_grant');
ok t_cmp($error->{error_description}, qr/code_challenge/, 'says why');

# ---- redirect_uri and resource must agree with the request
($response, $error) = exchange_code($id, $code, $verifier, redirect_uri => 'https://two.example/cb');
ok t_cmp($error->{error}, 'invalid_grant', 'another redirect_uri: invalid_grant');
($response, $error) = exchange_code($id, $code, $verifier);
ok t_cmp($error->{error}, 'invalid_grant', 'redirect_uri omitted although the request had one');
($response, $error) = exchange_code($id, $code, $verifier, redirect_uri => 'http://127.0.0.1:9/cb',
                                    resource => 'https://other.example/mcp');
ok t_cmp($error->{error}, 'invalid_target', 'another resource: invalid_target');
# ---- another client cannot redeem it
my (undef, $thief) = register_client();
($response, $error) = exchange_code($thief->{client_id}, $code, $verifier, redirect_uri => 'http://127.0.0.1:9/cb');
ok t_cmp($error->{error}, 'invalid_grant', "another client's code: invalid_grant");
# after all these failures the code still works once
($response, $tokens) = exchange_code($id, $code, $verifier, redirect_uri => 'http://127.0.0.1:9/cb');
ok t_cmp($response->code, 200, 'the right verifier, redirect_uri and client still work');

# ---- unknown and malformed codes
($response, $error) = exchange_code($id, 'A' x 43, $verifier);
ok t_cmp($error->{error}, 'invalid_grant', 'unknown code: invalid_grant');
($response, $error) = exchange_code($id, '', $verifier);
ok t_cmp($error->{error}, 'invalid_request', 'empty code: invalid_request');

# ---- request shape and client authentication (RFC 6749 §5.2)
$response = ua()->get(base() . '/oauth/token');
ok t_cmp($response->code, 405, 'GET: 405');
$response = ua()->post(base() . '/oauth/token', 'Content-Type' => 'application/json',
                       Content => '{"grant_type":"authorization_code"}');
ok t_cmp(json($response)->{error}, 'invalid_request', 'JSON body: invalid_request');
($response, $error) = token_request(client_id => $id);
ok t_cmp($error->{error}, 'invalid_request', 'no grant_type');
($response, $error) = token_request(grant_type => 'password', client_id => $id);
ok t_cmp($error->{error}, 'unsupported_grant_type', 'password grant');
my $dup = ua()->post(base() . '/oauth/token', 'Content-Type' => 'application/x-www-form-urlencoded',
                     Content => "grant_type=authorization_code&code=a&code=b&client_id=$id");
ok t_cmp(json($dup)->{error_description}, qr/'code' given more than once/, 'a parameter twice: invalid_request');
ok t_cmp(json($dup)->{error}, 'invalid_request');
($response, $error) = token_request(grant_type => 'authorization_code', code => 'x', code_verifier => 'y');
ok t_cmp($response->code, 401, 'no client at all: 401');
ok t_cmp($error->{error}, 'invalid_client', 'invalid_client');
($response, $error) = token_request(grant_type => 'authorization_code', code => 'x', client_id => 'nobody-knows');
ok t_cmp($error->{error}, 'invalid_client', 'unknown client: invalid_client');
($response, $error) = token_request(grant_type => 'authorization_code', code => 'x', auth => ['nobody-knows', 'secret']);
ok t_cmp($response->code, 401, 'unknown client with Basic: 401');
ok t_cmp($response->header('WWW-Authenticate'), qr/^Basic/, 'WWW-Authenticate: Basic');
($response, $error) = token_request(grant_type => 'authorization_code', code => 'x', auth => [$id, 'a-secret']);
ok t_cmp($error->{error}, 'invalid_client', 'a public client presenting a secret');
my $bad_basic = HTTP::Request::Common::POST(base() . '/oauth/token', [grant_type => 'authorization_code']);
$bad_basic->header(Authorization => 'Basic !!!not-base64');
$response = ua()->request($bad_basic);
ok t_cmp(json($response)->{error}, 'invalid_client', 'malformed Basic credentials');
ok t_cmp($response->header('WWW-Authenticate'), qr/^Basic/, 'malformed Basic: WWW-Authenticate');
my $big = ua()->post(base() . '/oauth/token', 'Content-Type' => 'application/x-www-form-urlencoded',
                     Content => 'grant_type=authorization_code&code=' . ('a' x 20000));
ok t_cmp($big->code, 413, 'an oversized body: 413');

# ---- a confidential client authenticates with its secret, both ways
my (undef, $conf) = register_client(token_endpoint_auth_method => 'client_secret_post');
my ($conf_code) = login_code(client_id => $conf->{client_id}, response_type => 'code',
    code_challenge => $challenge, code_challenge_method => 'S256', scope => 'mcp:echo');
($response, $error) = exchange_code($conf->{client_id}, $conf_code, $verifier);
ok t_cmp($error->{error}, 'invalid_client', 'a confidential client without its secret');
($response, $error) = exchange_code($conf->{client_id}, $conf_code, $verifier, client_secret => 'wrong');
ok t_cmp($error->{error}, 'invalid_client', 'a wrong secret (post)');
($response, $error) = token_request(grant_type => 'authorization_code', code => $conf_code,
    code_verifier => $verifier, auth => [$conf->{client_id}, 'wrong']);
ok t_cmp($response->header('WWW-Authenticate'), qr/^Basic/, 'a wrong secret (Basic): 401 + WWW-Authenticate');
($response, $error) = token_request(grant_type => 'authorization_code', code => $conf_code,
    code_verifier => $verifier, client_secret => $conf->{client_secret}, auth => [$conf->{client_id}, $conf->{client_secret}]);
ok t_cmp($error->{error}, 'invalid_request', 'two authentication methods at once');
($response, $tokens) = exchange_code($conf->{client_id}, $conf_code, $verifier, client_secret => $conf->{client_secret});
ok t_cmp($response->code, 200, 'client_secret_post works');
my ($basic_code) = login_code(client_id => $conf->{client_id}, response_type => 'code',
    code_challenge => $challenge, code_challenge_method => 'S256', scope => 'mcp:echo');
($response, $tokens) = token_request(grant_type => 'authorization_code', code => $basic_code,
    code_verifier => $verifier, auth => [$conf->{client_id}, $conf->{client_secret}]);
ok t_cmp($response->code, 200, 'client_secret_basic works');

# a client without the refresh_token grant gets no refresh token
my (undef, $norefresh) = register_client(grant_types => ['authorization_code']);
my ($nr_code) = login_code(client_id => $norefresh->{client_id}, response_type => 'code',
    code_challenge => $challenge, code_challenge_method => 'S256', scope => 'mcp:echo');
($response, $tokens) = exchange_code($norefresh->{client_id}, $nr_code, $verifier);
ok t_cmp(exists $tokens->{refresh_token} ? 1 : 0, 0, 'no refresh_token grant: no refresh token');
