# No memory grows per request: 10,000 requests over one keep-alive
# connection (so one child serves them all) to the echo tool behind
# mod_mcp_rs with a bearer token, and 10,000 to the token endpoint
# (client_credentials); after a warm-up, the serving child's resident
# memory grows by at most 4 MiB (MCP_LEAK_BOUND_KIB): a leak of a few
# hundred bytes a request would show; what a fresh worker thread's
# allocator keeps (up to MaxMemFree) would not, so less is not promised.  Only without the
# sanitizers: ASan's allocator holds freed memory in its quarantine and
# its own metadata, so RSS says nothing there (run this suite from a
# build configured without --enable-sanitizers).
use strict;
use warnings FATAL => 'all';
use Apache::Test;
use Apache::TestUtil;
use FindBin;
use lib "$FindBin::Bin/lib";
use LWP::UserAgent;
use HTTP::Request::Common ();
use MCP::AS qw(base basic agent);
use MCP::RS qw(check mint bearer);

my $wrapper = do { local $/; open my $fh, '<', Apache::Test::vars('t_dir') . '/bin/httpd' or die $!; <$fh> };
plan tests => 4, need { 'RSS is meaningless under ASan; build without --enable-sanitizers'
                        => $wrapper !~ /preload='[^']+'/ };

my $logs = Apache::Test::vars('t_logs');
sub server_pid { open my $fh, '<', "$logs/httpd.pid" or return; my $pid = <$fh>; chomp $pid; $pid }

# RSS in KiB of every child of the server, by pid
sub children_rss {
    my $parent = server_pid();
    my %rss;
    for my $status (glob '/proc/[0-9]*/status') {
        open my $s, '<', $status or next;
        local $/;
        my $text = <$s>;
        next unless $text =~ /^PPid:\s+$parent$/m && $text =~ /^VmRSS:\s+(\d+)/m;
        my $kib = $1;
        my ($pid) = $status =~ m{/proc/(\d+)/};
        $rss{$pid} = $kib;
    }
    return \%rss;
}

sub loop {
    my ($count, $request) = @_;
    my $ua = LWP::UserAgent->new(keep_alive => 1, timeout => 30);
    my $failed = 0;
    for (1 .. $count) {
        my $response = $ua->request($request->());
        $failed++ unless $response->code == 200;
    }
    return $failed;
}

my $token = mint(claims => { exp => time + 3600 });
my %kinds = (
    'echo tool (mod_mcp_rs)' => sub { HTTP::Request->new(GET => base() . '/rs/echo?text=leak', [ bearer($token) ]) },
    'token endpoint' => sub { HTTP::Request::Common::POST(base() . '/oauth/token',
                                [ grant_type => 'client_credentials' ], Authorization => basic(agent())) },
);
for my $kind (sort keys %kinds) {
    # warm-up: per-process caches fill to their bounds first (the token
    # cache; SQLite's page cache, 2 MiB by default, as tokens are recorded)
    loop(10000, $kinds{$kind});
    my $before = children_rss();
    my $failed = loop(10000, $kinds{$kind});
    my $after = children_rss();
    my ($growth, $pid) = (0, 0);
    for my $child (keys %$after) {
        next unless exists $before->{$child};
        my $delta = $after->{$child} - $before->{$child};
        ($growth, $pid) = ($delta, $child) if $delta > $growth;
    }
    t_debug("$kind: largest child growth $growth KiB (pid $pid)");
    ok t_cmp($failed, 0, "$kind: 10,000 requests, none failed");
    my $bound = $ENV{MCP_LEAK_BOUND_KIB} // 4096;
    check $growth <= $bound,
        "$kind: the serving child's RSS grew $growth KiB over 10,000 requests";
}
