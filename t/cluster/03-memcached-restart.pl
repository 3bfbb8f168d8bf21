# memcached restarts (stopped, started empty on the same port): codes in
# flight are lost, as documented; nothing durable is; the nodes recover on
# their own within a bounded time.
use strict;
use warnings FATAL => 'all';
use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More tests => 14;
use JSON::PP ();
use Time::HiRes qw(time sleep);
use MCP::AS qw(register_client pkce login_code exchange_code refresh
               token_request agent authorize query_of);
use MCP::Cluster qw(on env ctl introspect revoke flow_on);

my $true = JSON::PP::true();
my $RECOVERY_MAX = 20;     # seconds; mod_socache_memcache retries a dead server every 5 s

# ---- before: durable state and a code in flight
my $flow = flow_on(register => 'a', code => 'a', token => 'a');
my $revoked = flow_on(register => 'b', code => 'b', token => 'b');
on('b');
revoke($revoked->{client_id}, $revoked->{tokens}{access_token});
on('a');
my ($verifier, $challenge) = pkce();
my ($code) = login_code(client_id => $flow->{client_id}, response_type => 'code',
                        code_challenge => $challenge, code_challenge_method => 'S256');
ok $code, 'node a issued a code that is not redeemed yet';

# ---- memcached is down
ctl('stop-memcached');
on('b');
my $response = authorize(client_id => $flow->{client_id}, response_type => 'code',
                          code_challenge => $challenge, code_challenge_method => 'S256');
is $response->code . ' ' . (query_of($response)->{error} // ''), '302 temporarily_unavailable',
   'memcached down: authorize redirects with temporarily_unavailable (no 5xx)';
my ($registered, $new_client) = register_client();
is $registered->code, 201, 'memcached down: registration (PostgreSQL only) works';
$response = authorize(client_id => $new_client->{client_id}, response_type => 'code',
                      code_challenge => $challenge, code_challenge_method => 'S256');
is $response->code . ' ' . (query_of($response)->{error} // ''), '302 temporarily_unavailable',
   'memcached down: the consent page (its CSRF token lives in memcached) redirects with temporarily_unavailable';
my ($token_response) = token_request(grant_type => 'client_credentials', auth => [agent()]);
is $token_response->code, 200, 'memcached down: client_credentials needs no cache and works';
($token_response, my $rotated) = refresh($flow->{client_id}, $flow->{tokens}{refresh_token});
is $token_response->code, 200, 'memcached down: refresh tokens (durable, PostgreSQL) rotate';

# ---- memcached is back, empty
ctl('start-memcached');
on('b');
my ($lost, $error) = exchange_code($flow->{client_id}, $code, $verifier);
is $lost->code . ' ' . ($error->{error} // ''), '400 invalid_grant',
   'the code in flight when memcached restarted is lost: invalid_grant, not a 5xx';

# every node recovers by itself: a whole flow works again on each
my $back = time;
my %recovered;
while (time - $back < $RECOVERY_MAX && keys %recovered < 2) {
    for my $node (grep { !$recovered{$_} } qw(a b)) {
        my $attempt = eval { flow_on(register => $node, code => $node, token => $node) };
        $recovered{$node} = time - $back
            if $attempt && $attempt->{response}->code == 200;
    }
    sleep 0.5 if keys %recovered < 2;
}
for my $node (qw(a b)) {
    ok defined $recovered{$node}, sprintf 'node %s issues codes again %s after memcached came back',
        $node, defined $recovered{$node} ? sprintf('%.1fs', $recovered{$node})
                                         : "not within ${RECOVERY_MAX}s";
}

# ---- nothing durable was lost
on('a');
($token_response) = refresh($flow->{client_id}, $rotated->{refresh_token});
is $token_response->code, 200, 'node a rotates the refresh token node b issued while memcached was down';
on('b');
is introspect($flow->{tokens}{access_token})->{active}, $true,
   'an access token issued before the restart is active';
is introspect($revoked->{tokens}{access_token})->{active} ? 'active' : 'inactive',
   'inactive', 'a token revoked before the restart stays revoked';
on('a');
my (undef, $challenge2) = pkce();
($code) = login_code(client_id => $revoked->{client_id}, response_type => 'code',
                     code_challenge => $challenge2, code_challenge_method => 'S256');
ok $code, 'a client registered before the restart logs in (remembered consent kept)';
my $consent = authorize(client_id => $revoked->{client_id}, response_type => 'code',
                        code_challenge => $challenge2, code_challenge_method => 'S256');
is $consent->code, 302, 'its remembered consent survived (no consent page: 302)';
