# Two nodes, one authorization server: what one node did, the other sees.
use strict;
use warnings FATAL => 'all';
use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More tests => 24;
use JSON::PP ();
use MCP::AS qw(register_client pkce login_code exchange_code refresh
               token_request agent ua);
use MCP::Cluster qw(on node_url env introspect revoke concurrently flow_on);

my $true = JSON::PP::true();
my ($verifier, $challenge);
sub code_for {
    my ($client_id) = @_;
    ($verifier, $challenge) = pkce();
    my ($code) = login_code(client_id => $client_id, response_type => 'code',
                            code_challenge => $challenge,
                            code_challenge_method => 'S256', state => 's');
    return $code;
}

# ---- one issuer: the same metadata and keys on both nodes
my %seen;
for my $node (qw(a b)) {
    my $response = ua()->get(node_url($node) . '/oauth/jwks');
    $seen{jwks}{ $response->decoded_content } = 1;
    $response = ua()->get(node_url($node) . '/.well-known/oauth-authorization-server');
    $seen{metadata}{ $response->decoded_content } = 1;
    is $response->header('MCP-Node'), "node-$node", "node $node answers as node-$node";
}
is scalar(keys %{ $seen{jwks} }), 1, 'both nodes publish the same JWKS (same signing keys)';
is scalar(keys %{ $seen{metadata} }), 1, 'both nodes serve the same metadata, issuer ' . env('ISSUER');
my %via_lb;
for (1 .. 6) {
    my $response = ua()->get(env('ISSUER') . '/oauth/jwks');
    $via_lb{ $response->header('MCP-Node') // 'none' }++ if $response->code == 200;
}
is join(',', sort keys %via_lb), 'node-a,node-b', 'the load balancer at the issuer spreads requests over both nodes';

# ---- a client registered on A works on B
on('a');
my ($response, $client) = register_client();
is $response->code, 201, 'register on node a';
my $client_id = $client->{client_id};
on('b');
my $code = code_for($client_id);
ok $code, 'node b knows the client registered on node a: login and consent give a code';
my ($token_response, $tokens) = exchange_code($client_id, $code, $verifier);
is $token_response->code, 200, 'and node b redeems it';

# ---- a code issued by A is redeemed on B; a replay on A fails
on('a');
$code = code_for($client_id);
ok $code, 'node a issues a code';
on('b');
($token_response, $tokens) = exchange_code($client_id, $code, $verifier);
is $token_response->code, 200, 'node b redeems the code node a issued';
on('a');
my ($replay, $error) = exchange_code($client_id, $code, $verifier);
is $replay->code . ' ' . ($error->{error} // ''), '400 invalid_grant',
   'a replay of that code on node a fails (invalid_grant)';
on('b');
is introspect($tokens->{access_token})->{active} ? 'active' : 'inactive', 'inactive',
   'and the replay on node a revoked the access token node b issued';
($response, $error) = refresh($client_id, $tokens->{refresh_token});
is $error->{error} // $response->code, 'invalid_grant',
   'and the refresh token node b issued';

# ---- a refresh token rotated on B is detected as reused on A
my $flow = flow_on(register => 'a', code => 'a', token => 'a');
my $first = $flow->{tokens}{refresh_token};
on('b');
($response, my $rotated) = refresh($flow->{client_id}, $first);
is $response->code, 200, 'node b rotates a refresh token node a issued';
on('a');
($response, $error) = refresh($flow->{client_id}, $first);
is $response->code . ' ' . ($error->{error} // ''), '400 invalid_grant',
   'node a detects the reuse of the rotated refresh token';
on('b');
($response, $error) = refresh($flow->{client_id}, $rotated->{refresh_token});
is $error->{error} // $response->code, 'invalid_grant',
   'the whole family is revoked: node b refuses the newest refresh token too';

# ---- a revocation on A is reported by introspection on B
$flow = flow_on(register => 'b', code => 'b', token => 'b');
on('b');
is introspect($flow->{tokens}{access_token})->{active}, $true,
   'node b: its access token is active';
on('a');
is revoke($flow->{client_id}, $flow->{tokens}{access_token})->code, 200,
   'node a revokes it';
on('b');
is introspect($flow->{tokens}{access_token})->{active} ? 'active' : 'inactive',
   'inactive', 'node b introspects it as inactive';
on('a');
revoke($flow->{client_id}, $flow->{tokens}{refresh_token});
on('b');
is introspect($flow->{tokens}{refresh_token})->{active} ? 'active' : 'inactive',
   'inactive', 'a refresh token revoked on node a is inactive on node b';
($response, $error) = refresh($flow->{client_id}, $flow->{tokens}{refresh_token});
is $error->{error} // $response->code, 'invalid_grant', 'and node b refuses it';

# client_credentials: a token from A introspects as active on B
on('a');
($response, $tokens) = token_request(grant_type => 'client_credentials',
                                     auth => [agent()]);
on('b');
is introspect($tokens->{access_token})->{active}, $true,
   'an access token signed by node a verifies on node b';

# ---- 20 concurrent redemptions of one code, spread over both nodes
on('a');
$code = code_for($client_id);
my @results = concurrently(20, sub {
    my ($i) = @_;
    on($i % 2 ? 'b' : 'a');
    my ($response, $answer) = exchange_code($client_id, $code, $verifier);
    return 0 if $response->code == 200;
    return 1 if $response->code == 400 && ($answer->{error} // '') eq 'invalid_grant';
    return 2;
});
my %count;
$count{$_}++ for @results;
is $count{0} // 0, 1, '20 concurrent redemptions over both nodes: exactly one success';
is $count{1} // 0, 19, 'and 19 invalid_grant (no other answer: ' . join(',', @results) . ')';
