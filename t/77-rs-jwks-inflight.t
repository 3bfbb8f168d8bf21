# At most one JWKS fetch in flight per key set in each server process, and
# no worker blocked past MCPJWKSTimeout (mcp_rs_jwks.c: the key cache is
# per process, so "at most one" is per process; t/conf/faults.conf.in).
#
# The key endpoint takes 2.5 s, more than the refetch interval (1 s), so
# the rate limit alone would let a thread that arrives 1 s into a fetch
# start another one.  Bursts of requests, spread over 2 s, arrive:
# - with a cold cache: every request waits for the one fetch of its
#   process and passes (200); each process fetched at most once;
# - with an unknown kid: one thread per process fetches, the others do not
#   wait for it and fail closed at once (401); each process fetched at
#   most once;
# - with a cold cache and an endpoint slower than the timeout (6 s > 4 s):
#   every request fails closed (401) within the timeout and the one second
#   a waiting thread allows on top; each process tried at most once.
use strict;
use warnings FATAL => 'all';
use Apache::Test;
use Apache::TestUtil;
use FindBin;
use lib "$FindBin::Bin/lib";
use File::Temp qw(tempdir);
use POSIX ();
use Time::HiRes qw(time sleep);
use LWP::UserAgent;
use MCP::RS qw(check mint bearer challenge);

plan tests => 15;

my $vhost = Apache::Test::config()->{vhosts}{mcp_faults_jwks}{hostport}
    // die 'no mcp_faults_jwks virtual host';
my $logs = Apache::Test::vars('t_logs');
my $dir = tempdir(CLEANUP => 1);

# Sends one request per token, the n-th at start + n * spacing, each from
# its own process; returns [code, seconds, error_description] per request.
sub burst {
    my ($path, $spacing, @tokens) = @_;
    my $start = time + 0.3;
    my @pids;
    for my $n (0 .. $#tokens) {
        my $pid = fork // die "fork: $!";
        if ($pid == 0) {
            my $ua = LWP::UserAgent->new(timeout => 30, keep_alive => 0);
            my $at = $start + $n * $spacing;
            sleep($at - time) if $at > time;
            my $t0 = time;
            my $response = $ua->get("http://$vhost$path?text=hi", bearer($tokens[$n]));
            my $elapsed = time - $t0;
            open my $out, '>', "$dir/$n" or die $!;
            print $out join("\t", $response->code, $elapsed,
                            (challenge($response) || {})->{error_description} // ''), "\n";
            close $out;
            POSIX::_exit(0);
        }
        push @pids, $pid;
    }
    waitpid $_, 0 for @pids;
    my @results;
    for my $n (0 .. $#tokens) {
        open my $in, '<', "$dir/$n" or die "request $n: no result";
        chomp(my $line = <$in>);
        push @results, [split /\t/, $line, 3];
        unlink "$dir/$n";
    }
    return @results;
}

sub log_offset { -s "$logs/error_log" }
# fetches (done or failed) per server process since $offset, for $source
sub fetches_per_process {
    my ($offset, $source) = @_;
    my %per_process;
    open my $fh, '<', "$logs/error_log" or die $!;
    seek $fh, $offset, 0;
    while (<$fh>) {
        $per_process{$1}++ if /\[pid (\d+):[^]]*\].*AH2003[01]: .*\Q$source\E/;
    }
    return \%per_process;
}
sub most { my $most = 0; $most < $_ and $most = $_ for values %{ $_[0] }; $most }
sub summary {
    my ($what, $per_process, @results) = @_;
    my %codes;
    $codes{$_->[0]}++ for @results;
    my @latency = sort { $a <=> $b } map { $_->[1] } @results;
    t_debug(sprintf '%s: %s; latency min %.2f s, max %.2f s; fetches per process: %s',
            $what, join(', ', map { "$_ x$codes{$_}" } sort keys %codes),
            $latency[0], $latency[-1],
            join(', ', map { "$_=$per_process->{$_}" } sort keys %$per_process) || 'none');
    return (\%codes, $latency[-1]);
}
sub access_offset { -s "$logs/access_log" // 0 }
# fetches the key endpoint saw since $offset
sub access_fetches {
    my ($offset, $source) = @_;
    open my $fh, '<', "$logs/access_log" or return 0;
    seek $fh, $offset, 0;
    return scalar grep { /GET \/rs-cgi\/inflight-jwks\.pl\?sleep=\Q$source\E / } <$fh>;
}

# ---- a cold cache: everyone waits for the one fetch of their process
my $source = 'inflight-jwks.pl?sleep=2.5';
my $offset = log_offset();
my $access = access_offset();
my @results = burst('/rsinflight', 0.125, map { mint(path => '/rsinflight', kid => 'rot-a') } 1 .. 16);
my $per_process = fetches_per_process($offset, $source);
my ($codes, $slowest) = summary('cold cache', $per_process, @results);
ok t_cmp($codes->{200} // 0, 16, 'cold cache: every request passes once the keys are in');
ok t_cmp(most($per_process), 1, 'cold cache: each process fetched the keys once, not once per thread');
ok t_cmp(access_fetches($access, '2.5'), scalar(keys %$per_process),
         'the key endpoint saw exactly the fetches the processes logged');
ok t_cmp($slowest < 4 + 1 + 0.7 ? 'bounded' : $slowest, 'bounded',
         'cold cache: no request waited past the timeout (4 s) and the 1 s grace');

# ---- an unknown kid: one thread fetches, the others fail closed at once
my %warm = %$per_process;
sleep 1.2;                              # past the refetch interval
$offset = log_offset();
$access = access_offset();
@results = burst('/rsinflight', 0.125, map {
    mint(path => '/rsinflight', kid => 'rot-a', header => { kid => "made-up-$_" }) } 1 .. 16);
$per_process = fetches_per_process($offset, $source);
($codes, $slowest) = summary('unknown kid', $per_process, @results);
my $fetchers = keys %$per_process;
my @waited = grep { $_->[1] > 1.5 } @results;
ok t_cmp($codes->{401} // 0, 16, 'unknown kids fail closed: 401');
check scalar(grep { $_->[2] =~ /no RS256 key with kid 'made-up-/ } @results) == 16,
    'unknown kid: says which kid';
check $fetchers >= 1, 'an unknown kid does trigger a refetch';
ok t_cmp(most($per_process), 1, 'unknown kid: each process fetched once while the fetch was in flight');
ok t_cmp(access_fetches($access, '2.5'), $fetchers, 'the key endpoint saw those fetches only');
# a child the server started since the first burst has no keys yet, and
# its threads rightly wait for its first fetch: the check needs warm ones
my @cold = grep { !$warm{$_} } keys %$per_process;
t_debug('children without keys before this burst: ' . (join(', ', @cold) || 'none'));
ok t_cmp(@cold || scalar(@waited) <= $fetchers ? 'only the fetchers' : scalar(@waited) . ' requests waited',
         'only the fetchers', 'unknown kid: only the thread that fetches waits; the others answer at once');
ok t_cmp($slowest < 4 + 0.7 ? 'bounded' : $slowest, 'bounded', 'unknown kid: the fetcher waited less than the timeout');

# ---- an endpoint slower than the timeout, cold cache
$offset = log_offset();
@results = burst('/rsinflight-slow', 0.25, map { mint(path => '/rsinflight', kid => 'rot-a') } 1 .. 8);
$per_process = fetches_per_process($offset, 'inflight-jwks.pl?sleep=6');
($codes, $slowest) = summary('endpoint over the timeout', $per_process, @results);
ok t_cmp($codes->{401} // 0, 8, 'endpoint over the timeout: every request fails closed');
check scalar(grep { $_->[2] =~ /keys could not be fetched/ } @results) == 8, 'and says why';
ok t_cmp(most($per_process), 1, 'endpoint over the timeout: each process tried once');
ok t_cmp($slowest < 4 + 1 + 0.7 ? 'bounded' : $slowest, 'bounded',
         'endpoint over the timeout: no request waited past the timeout and the 1 s grace');
