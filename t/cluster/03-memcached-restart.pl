# memcached restarts (stopped, started empty on the same port): codes in
# flight are lost, as documented; nothing durable is; the nodes recover on
# their own within a bounded time.
use strict;
use warnings FATAL => 'all';
use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More tests => 15;
use JSON::PP ();
use Time::HiRes qw(time sleep);
use MCP::AS qw(register_client pkce login_code exchange_code refresh
               token_request agent authorize query_of);
use MCP::Cluster qw(on env ctl introspect revoke flow_on);

my $true = JSON::PP::true();
my $RECOVERY_MAX = 8;      # seconds; apr_memcache retries a dead server after 5 s
my $WINDOW = 11;           # seconds of requests after memcached is back

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

# every node recovers by itself.  Each Apache child finds out on its own:
# its first operation after the restart fails on a stale connection, and
# apr_memcache then skips the server for 5 s before trying it again.  So:
# four clients ask both nodes for codes for $WINDOW seconds; a failure is
# a clean temporarily_unavailable, and failures stop within $RECOVERY_MAX s.
my $back = time;
my $dir = $ENV{MCP_CLUSTER_DIR};
my @pids;
for my $w (0 .. 3) {
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        open my $log, '>', "$dir/recovery-$w.log" or die $!;
        my $n = 0;
        while (time - $back < $WINDOW) {
            my $node = ($w + $n++) % 2 ? 'b' : 'a';
            on($node);
            my $response = authorize(client_id => $flow->{client_id}, response_type => 'code',
                                     code_challenge => $challenge, code_challenge_method => 'S256');
            my $query = query_of($response);
            my $result = $query->{code} ? 'code'
                : ($query->{error} // $response->code);
            printf $log "%.2f %s %s\n", time - $back, $node, $result;
        }
        close $log;
        POSIX::_exit(0);
    }
    push @pids, $pid;
}
waitpid $_, 0 for @pids;
my (%codes, %failed, %last_failure, %other);
for my $w (0 .. 3) {
    open my $log, '<', "$dir/recovery-$w.log" or die $!;
    while (<$log>) {
        my ($t, $node, $result) = split;
        if ($result eq 'code') { $codes{$node}++ }
        elsif ($result eq 'temporarily_unavailable') {
            $failed{$node}++;
            $last_failure{$node} = $t if $t > ($last_failure{$node} // 0);
        }
        else { $other{$node}++ }
    }
}
is join(',', map { $other{$_} // 0 } qw(a b)), '0,0',
   'after the restart every authorization request got a code or temporarily_unavailable (no 5xx)';
for my $node (qw(a b)) {
    ok(($codes{$node} // 0) > 0 && ($last_failure{$node} // 0) < $RECOVERY_MAX,
       sprintf 'node %s issues codes again: %d failed, the last %.1fs after memcached came back; %d codes',
               $node, $failed{$node} // 0, $last_failure{$node} // 0, $codes{$node} // 0);
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

use POSIX ();
