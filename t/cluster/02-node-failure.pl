# Node failure: node a dies (kill -9, parent and children) under load;
# node b keeps serving, the load balancer fails over, and nothing node a
# issued or stored before is lost.
use strict;
use warnings FATAL => 'all';
use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More tests => 14;
use JSON::PP ();
use Time::HiRes qw(time sleep);
use MCP::AS qw(register_client pkce login_code refresh token_request agent);
use MCP::Cluster qw(on node_url env ctl introspect revoke flow_on);

my $true = JSON::PP::true();
my $LOAD_SECONDS = 8;
my $KILL_AFTER = 2.5;

sub code_on {
    my ($node, $client_id) = @_;
    on($node);
    my (undef, $challenge) = pkce();
    my ($code) = login_code(client_id => $client_id, response_type => 'code',
                            code_challenge => $challenge,
                            code_challenge_method => 'S256');
    return $code;
}

# ---- issued by node a before it fails
my $flow = flow_on(register => 'a', code => 'a', token => 'a');
my $revoked = flow_on(register => 'a', code => 'a', token => 'a');
on('a');
revoke($revoked->{client_id}, $revoked->{tokens}{access_token});
my (undef, $agent_token) = token_request(grant_type => 'client_credentials',
                                         auth => [agent()]);

# ---- load: two workers through the load balancer, one on each node; each
# alternates client_credentials (signing only) and registration (a durable
# write), and logs "time status kind client_id"
my $dir = $ENV{MCP_CLUSTER_DIR};
my @targets = qw(lb lb b a);
my $start = time;
my @pids;
for my $i (0 .. $#targets) {
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        on($targets[$i]);
        open my $log, '>', "$dir/load-$i.log" or die $!;
        $log->autoflush(1);
        my $n = 0;
        while (time - $start < $LOAD_SECONDS) {
            if ($n++ % 2) {
                my ($response, $client) = register_client();
                printf $log "%.3f %d register %s\n", time - $start, $response->code,
                    $client->{client_id} // '-';
            }
            else {
                my ($response) = token_request(grant_type => 'client_credentials',
                                               auth => [agent()]);
                printf $log "%.3f %d token -\n", time - $start, $response->code;
            }
        }
        close $log;
        POSIX::_exit(0);
    }
    push @pids, $pid;
}
sleep $KILL_AFTER;
my $killed_at = time - $start;
ctl('kill-node', 'a');
waitpid $_, 0 for @pids;

my (%ok, %failed, %ok_after, @registered);
for my $i (0 .. $#targets) {
    open my $log, '<', "$dir/load-$i.log" or die $!;
    while (<$log>) {
        my ($t, $status, $kind, $client_id) = split;
        my $good = $status == 200 || $status == 201;
        $good ? $ok{ $targets[$i] }++ : $failed{ $targets[$i] }++;
        $ok_after{ $targets[$i] }++ if $good && $t > $killed_at + 1;
        push @registered, $client_id if $kind eq 'register' && $status == 201;
    }
}
my $summary = join ', ', map {
    sprintf '%s %d ok/%d failed', $_, $ok{$_} // 0, $failed{$_} // 0
} qw(lb b a);
diag "load for ${LOAD_SECONDS}s, node a killed at " . sprintf("%.1f", $killed_at) . "s: $summary";

is $failed{b} // 0, 0, "node b answered every request while node a died ($ok{b} answered)";
ok(($ok_after{b} // 0) > 0, 'node b kept serving after node a died');
ok(($failed{lb} // 0) <= 2, 'through the load balancer at most the requests in flight on node a failed ('
   . ($failed{lb} // 0) . ')');
ok(($ok_after{lb} // 0) > 0, 'and the load balancer kept serving from node b');
ok(($failed{a} // 0) > 0, 'node a itself is really gone (' . ($failed{a} // 0) . ' refused)');

# ---- nothing issued before, or during the load, is lost
my %stored = map { $_ => 1 } split /\n/, psql('SELECT client_id FROM clients');
my @missing = grep { !$stored{$_} } @registered;
is scalar(@missing), 0, scalar(@registered) . ' clients registered during the load (on both nodes) are all in the store';
ok code_on('b', $registered[0]), 'a client registered during the load logs in on node b';
on('b');
my ($response, $rotated) = refresh($flow->{client_id}, $flow->{tokens}{refresh_token});
is $response->code, 200, 'node b rotates a refresh token node a issued before it died';
is introspect($flow->{tokens}{access_token})->{active}, $true,
   'node b: an access token node a issued is active';
is introspect($revoked->{tokens}{access_token})->{active} ? 'active' : 'inactive',
   'inactive', 'node b: a token revoked on node a stays revoked';
is introspect($agent_token->{access_token})->{active}, $true,
   'node b: a client_credentials token node a issued is active';

# ---- node a comes back and sees what node b did meanwhile
on('b');
my (undef, $client_b) = register_client();
ctl('start-node', 'a');
ok code_on('a', $client_b->{client_id}), 'node a restarted: a client registered on node b during its outage logs in';
on('a');
($response) = refresh($flow->{client_id}, $rotated->{refresh_token});
is $response->code, 200, 'node a rotates the refresh token node b issued during its outage';
($response) = refresh($flow->{client_id}, $flow->{tokens}{refresh_token});
is $response->code, 400, 'and detects the reuse of the one node b had rotated';

sub psql {
    my ($sql) = @_;
    open my $fh, '-|', env('PGBIN') . '/psql', '-h', '127.0.0.1', '-p', env('PG_PORT'),
        '-U', 'mcp_as', '-At', '-c', $sql, 'mcp_as' or die "psql: $!";
    local $/;
    my $out = <$fh>;
    close $fh or die "psql failed\n";
    return $out;
}

use POSIX ();
