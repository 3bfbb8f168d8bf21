# Exactly-once redemption across processes: 20 clients race for one code
# (and 10 for one refresh token), forked so that the requests really run
# in parallel on the server's several child processes.
use strict;
use warnings FATAL => 'all';
use Apache::Test;
use Apache::TestUtil;
use FindBin;
use lib "$FindBin::Bin/lib";
use Time::HiRes qw(time sleep);
use MCP::AS qw(pkce register_client login_code exchange_code refresh full_flow);

plan tests => 8;

# Runs $count copies of $request at the same moment; returns their
# "status error" strings.
sub race {
    my ($count, $request) = @_;
    my $start = time + 1.0;
    my @pipes;
    for (1 .. $count) {
        pipe my $reader, my $writer or die "pipe: $!";
        my $pid = fork // die "fork: $!";
        if ($pid == 0) {
            close $reader;
            sleep 0.001 while time < $start;
            my ($response, $body) = $request->();
            print $writer $response->code, ' ', ($body->{error} // ($body->{access_token} ? 'token' : '-'));
            close $writer;
            require POSIX;
            POSIX::_exit(0);
        }
        close $writer;
        push @pipes, [$pid, $reader];
    }
    my @results;
    for my $entry (@pipes) {
        my ($pid, $reader) = @$entry;
        local $/;
        push @results, scalar <$reader> // 'no answer';
        waitpid $pid, 0;
    }
    return @results;
}

my ($verifier, $challenge) = pkce();
my (undef, $client) = register_client();
my ($code) = login_code(client_id => $client->{client_id}, response_type => 'code',
    code_challenge => $challenge, code_challenge_method => 'S256', scope => 'mcp:echo');
ok t_cmp(length $code, 43, 'a code to race for');

my @results = race(20, sub { exchange_code($client->{client_id}, $code, $verifier) });
my $winners = grep { $_ eq '200 token' } @results;
my $losers = grep { $_ eq '400 invalid_grant' } @results;
ok t_cmp($winners, 1, '20 concurrent redemptions: exactly one success');
ok t_cmp($losers, 19, 'and 19 invalid_grant');
t_debug("results: @results");

# the losers were replays: what the code produced is revoked
my $log = Apache::Test::vars('t_logs') . '/error_log';
open my $fh, '<', $log or die "$log: $!";
my %pids;
while (<$fh>) {
    $pids{$1} = 1 if /\[pid (\d+):tid \d+\].*audit event=code_replay client=\Q$client->{client_id}\E/;
}
close $fh;
ok t_cmp(scalar(keys %pids) >= 1, 1, 'replays were audited');
t_debug('replays detected in ' . scalar(keys %pids) . ' server processes');

# the same for a refresh token: one rotation wins, the others are reuse
my $flow = full_flow(authorize => { scope => 'mcp:echo' });
my $refresh_token = $flow->{tokens}{refresh_token};
@results = race(10, sub { refresh($flow->{client_id}, $refresh_token) });
$winners = grep { $_ eq '200 token' } @results;
$losers = grep { $_ eq '400 invalid_grant' } @results;
ok t_cmp($winners, 1, '10 concurrent refreshes: exactly one rotation');
ok t_cmp($losers, 9, 'and 9 invalid_grant (reuse)');
t_debug("results: @results");

# many registrations at once all succeed and none is lost
@results = race(20, sub { my ($r, $c) = register_client(); ($r, { access_token => $c->{client_id} }) });
ok t_cmp(scalar(grep { /^201 / } @results), 20, '20 concurrent registrations: all 201');
ok t_cmp(scalar(grep { /^5/ } @results), 0, 'no 5xx under concurrency');
