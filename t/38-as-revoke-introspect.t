# RFC 7009 revocation and RFC 7662 introspection.
use strict;
use warnings FATAL => 'all';
use Apache::Test;
use Apache::TestUtil;
use FindBin;
use lib "$FindBin::Bin/lib";
use HTTP::Request::Common ();
use JSON::PP ();
use MCP::AS qw(base issuer resource ua json register_client refresh full_flow
               token_request agent rs_client basic);

plan tests => 36;

sub post_form {
    my ($endpoint, $auth, @form) = @_;
    my $request = HTTP::Request::Common::POST(base() . "/oauth/$endpoint", \@form);
    $request->header(Authorization => basic(@$auth)) if $auth;
    my $response = ua()->request($request);
    return ($response, json($response));
}
sub introspect { post_form('introspect', [rs_client()], token => $_[0]) }

my $flow = full_flow(authorize => { scope => 'mcp:echo' });
my $id = $flow->{client_id};
my ($access, $refresh_token) = @{ $flow->{tokens} }{qw(access_token refresh_token)};

# ---- introspection by the configured resource server
my ($response, $info) = introspect($access);
ok t_cmp($response->code, 200, 'introspect: 200');
ok t_cmp($info->{active}, JSON::PP::true(), 'a fresh access token is active');
ok t_cmp("$info->{sub}|$info->{client_id}|$info->{scope}|$info->{aud}|$info->{iss}",
         "alice|$id|mcp:echo|" . resource() . '|' . issuer(), 'with its claims');
ok t_cmp($info->{token_type}, 'Bearer', 'token_type');
ok $info->{exp} > time;
ok t_cmp($response->header('Cache-Control'), 'no-store', 'no-store');
($response, $info) = introspect($refresh_token);
ok t_cmp($info->{active}, JSON::PP::true(), 'a refresh token is active');
ok t_cmp($info->{client_id}, $id, 'with its client');

for my $junk ('', 'A' x 43, 'a.b.c', $access . 'x', 'x' x 10000) {
    ($response, $info) = introspect($junk);
    if ($junk eq '') {
        ok t_cmp($info->{error}, 'invalid_request', 'no token: invalid_request');
    }
    else {
        ok t_cmp(JSON::PP->new->canonical->encode($info), '{"active":false}',
                 'junk is inactive and nothing more (' . length($junk) . ' chars)');
    }
}

# who may introspect
my @agent = agent();
($response, $info) = post_form('introspect', \@agent, token => $access);
ok t_cmp(JSON::PP->new->canonical->encode($info), '{"active":false}', "another client's token is inactive for it");
my (undef, $conf) = register_client(token_endpoint_auth_method => 'client_secret_post');
($response, $info) = post_form('introspect', undef, token => $access, client_id => $id);
ok t_cmp($response->code, 401, 'a public client may not introspect');
ok t_cmp($info->{error}, 'invalid_client', 'invalid_client');
($response, $info) = post_form('introspect', undef, token => $access);
ok t_cmp($response->code, 401, 'no authentication: 401');
($response, $info) = post_form('introspect', ['as-rs', 'wrong-secret-0000000'], token => $access);
ok t_cmp($response->header('WWW-Authenticate'), qr/^Basic/, 'a wrong secret: 401 + WWW-Authenticate');
$response = ua()->get(base() . '/oauth/introspect');
ok t_cmp($response->code, 405, 'GET: 405');
my $cors = HTTP::Request::Common::POST(base() . '/oauth/introspect', [token => $access], Origin => 'http://x.example');
$cors->header(Authorization => basic(rs_client()));
ok !defined ua()->request($cors)->header('Access-Control-Allow-Origin');

# a client sees its own client_credentials token
($response, my $cc) = token_request(grant_type => 'client_credentials', auth => \@agent);
($response, $info) = post_form('introspect', \@agent, token => $cc->{access_token});
ok t_cmp($info->{active}, JSON::PP::true(), 'a confidential client introspects its own token');

# ---- revocation
($response) = post_form('revoke', undef, token => 'A' x 43, client_id => $id);
ok t_cmp($response->code, 200, 'revoking an unknown token: 200');
($response) = post_form('revoke', undef, token => $refresh_token, client_id => $conf->{client_id},
                        client_secret => $conf->{client_secret});
ok t_cmp($response->code, 200, "revoking another client's token: 200 ...");
($response, $info) = introspect($refresh_token);
ok t_cmp($info->{active}, JSON::PP::true(), '... and nothing happens');
($response, $info) = post_form('revoke', undef, client_id => $id);
ok t_cmp($info->{error}, 'invalid_request', 'no token: invalid_request');
($response, $info) = post_form('revoke', undef, token => $refresh_token);
ok t_cmp($info->{error}, 'invalid_client', 'no client: invalid_client');
$response = ua()->get(base() . '/oauth/revoke');
ok t_cmp($response->code, 405, 'GET: 405');

# a rotated family: revoking any one token revokes all of it
my ($r1, $t1) = refresh($id, $refresh_token);
my $newest = $t1->{refresh_token};
($response) = post_form('revoke', undef, token => $newest, token_type_hint => 'refresh_token', client_id => $id);
ok t_cmp($response->code, 200, 'revoke the refresh token: 200');
ok t_cmp($response->content, '', 'with an empty body');
($response, $info) = introspect($newest);
ok t_cmp($info->{active}, JSON::PP::false(), 'it is inactive');
(undef, $info) = refresh($id, $newest);
ok t_cmp($info->{error}, 'invalid_grant', 'and cannot be used');

# access tokens by jti
($response, $info) = introspect($access);
ok t_cmp($info->{active}, JSON::PP::true(), 'the access token is still active');
($response) = post_form('revoke', undef, token => $access, token_type_hint => 'access_token', client_id => $id);
ok t_cmp($response->code, 200, 'revoke the access token: 200');
($response, $info) = introspect($access);
ok t_cmp($info->{active}, JSON::PP::false(), 'introspection reports it inactive from then on');
($response) = post_form('revoke', \@agent, token => $cc->{access_token});
($response, $info) = post_form('introspect', \@agent, token => $cc->{access_token});
ok t_cmp($info->{active}, JSON::PP::false(), 'a client_credentials token revoked by its client');

# CORS on revoke (browser clients), never on introspect
my $preflight = HTTP::Request->new(OPTIONS => base() . '/oauth/revoke');
$preflight->header(Origin => 'http://inspector.example');
$preflight->header('Access-Control-Request-Method' => 'POST');
ok t_cmp(ua()->request($preflight)->code, 204, 'revoke: CORS preflight');
