# Hostile bodies: 1 MiB to every endpoint that reads one is refused quickly
# (413 or 400, never a 500), the server keeps answering, and the children's
# memory does not grow with repetition; a body trickled slowly is bounded
# by the server's timeout, not held forever.
use strict;
use warnings FATAL => 'all';
use Apache::Test;
use Apache::TestUtil;
use FindBin;
use lib "$FindBin::Bin/lib";
use IO::Socket::INET;
use Time::HiRes qw(time sleep);
use HTTP::Request;
use MCP::AS qw(base ua basic agent);
use MCP::RS qw(check mint bearer);

my $big = 'a=' . ('x' x (1024 * 1024));
my @endpoints = (
    [ '/oauth/register',   'application/json', {} ],
    [ '/oauth/token',      'application/x-www-form-urlencoded', {} ],
    [ '/oauth/token',      'application/x-www-form-urlencoded', { Authorization => basic(agent()) } ],
    [ '/oauth/revoke',     'application/x-www-form-urlencoded', { Authorization => basic(agent()) } ],
    [ '/oauth/introspect', 'application/x-www-form-urlencoded', { Authorization => basic('as-rs', 'as-rs-secret-0123456789') } ],
    [ '/oauth/authorize',  'application/x-www-form-urlencoded', { Authorization => 'Basic ' . MIME::Base64::encode_base64('alice:wonderland-pass', '') } ],
    [ '/echo',             'application/json', {} ],
    [ '/rs/echo',          'application/json', { bearer(mint()) } ],
    [ '/rs/echo',          'application/json', {} ],
);

plan tests => 3 * @endpoints + 4;

sub post_big {
    my ($path, $type, $headers) = @_;
    my $request = HTTP::Request->new(POST => base() . $path,
        [ 'Content-Type' => $type, %$headers ], $big);
    my $start = time;
    my $response = ua()->request($request);
    return ($response, time - $start);
}

# the children of the test server, and their resident memory in KiB
sub children_rss {
    my $pidfile = Apache::Test::vars('t_logs') . '/httpd.pid';
    open my $fh, '<', $pidfile or return 0;
    chomp(my $parent = <$fh>);
    my $total = 0;
    for my $status (glob '/proc/[0-9]*/status') {
        open my $s, '<', $status or next;
        local $/;
        my $text = <$s>;
        next unless $text =~ /^PPid:\s+$parent$/m && $text =~ /^VmRSS:\s+(\d+)/m;
        $total += $1;
    }
    return $total;
}

for my $endpoint (@endpoints) {
    my ($path, $type, $headers) = @$endpoint;
    my $label = "$path" . (%$headers ? ' (' . join(',', sort keys %$headers) . ')' : '');
    my ($response, $seconds) = post_big(@$endpoint);
    ok t_cmp($response->code, qr/^(?:400|401|413)$/, "1 MiB to $label: refused (" . $response->code . ')');
    check $seconds < 10, "1 MiB to $label: answered in ${\ sprintf '%.1f', $seconds} s";
    my $after = ua()->get(base() . '/echo?text=alive');
    ok t_cmp($after->code, 200, "after 1 MiB to $label: the server answers");
}

# memory: once warm, twenty more rounds of every endpoint add no more than
# a few MiB across all children (each round is 9 MiB of bodies)
post_big(@$_) for @endpoints;
my $before = children_rss();
for (1 .. 20) { post_big(@$_) for @endpoints }
my $growth = children_rss() - $before;
t_debug("children RSS before $before KiB, growth $growth KiB");
check $before > 0 && $growth < 16 * 1024,
    "180 MiB of refused bodies: children RSS grew ${\ int($growth / 1024)} MiB (< 16)";

# a body trickled one byte a second: the server gives up within its
# Timeout, and meanwhile others are served
my $socket = IO::Socket::INET->new(PeerAddr => Apache::TestRequest::hostport(), Timeout => 5)
    or die "connect: $!";
print $socket "POST /oauth/token HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    . "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\n";
my $start = time;
my $closed = 0;
$SIG{PIPE} = 'IGNORE';
my $during;
while (time - $start < 60) {
    last unless print $socket 'a';
    $socket->flush;
    $during //= ua()->get(base() . '/echo?text=meanwhile')->code if time - $start > 2;
    my $rin = ''; vec($rin, fileno($socket), 1) = 1;
    if (select(my $rout = $rin, undef, undef, 1) > 0) {
        my $n = sysread($socket, my $buffer, 4096);
        $closed = 1;
        last;
    }
}
my $elapsed = time - $start;
ok t_cmp($during, 200, 'while a body trickles in, other requests are served');
check $closed, "a trickled body is cut off by the server (after ${\ int $elapsed} s)";
check $elapsed >= 5 && $elapsed < 60, "after RequestReadTimeout's 10 s body limit, not held forever (${\ int $elapsed} s)";
