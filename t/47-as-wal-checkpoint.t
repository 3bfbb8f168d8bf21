# SQLite's WAL is checkpointed outside the writer mutex, and still starts
# over: 1,500 registrations (about two WAL pages each, so three times the
# 1,000-page checkpoint size) leave a WAL of about that size, every
# checkpoint copied most pages before it took the mutex, and nothing was
# lost.  Without the catch-up under the mutex the WAL never starts over and
# grows past 2,500 pages here; with SQLite's own checkpoints (inside the
# commit) there is no AH30112.  SQLite only.
use strict;
use warnings FATAL => 'all';
use Apache::Test;
use Apache::TestUtil;
use FindBin;
use lib "$FindBin::Bin/lib";
use File::Temp qw(tempdir);
use JSON::PP;
use MCP::AS qw(base sqlite);

my $dir = Apache::Test::vars('t_dir') . '/state';
if (!defined sqlite('SELECT 1')) {
    plan tests => 1;
    skip 'the store is not SQLite', 1;
    exit 0;
}
plan tests => 7;

my $registrations = 1500;
my $page = 4096 + 24;                       # a WAL frame: header and page
my $log = Apache::Test::vars('t_logs') . '/error_log';
my $offset = -s $log;
my ($before) = sqlite('SELECT COUNT(*) FROM clients') =~ /(\d+)/;

# four at a time, as fast as curl sends them
my $work = tempdir(CLEANUP => 1);
open my $cfg, '>', "$work/register.curl" or die $!;
for my $n (1 .. $registrations) {
    (my $body = JSON::PP->new->canonical->encode({
        redirect_uris => ['http://127.0.0.1:9/cb'],
        token_endpoint_auth_method => 'none', client_name => "wal $n" })) =~ s/(["\\])/\\$1/g;
    print $cfg "next\n" if $n > 1;
    print $cfg 'url = "', base(), "/oauth/register\"\n",
        qq{header = "Content-Type: application/json"\n}, qq{data = "$body"\n},
        "output = /dev/null\nwrite-out = \"%{http_code}\\n\"\n";
}
close $cfg;
my @codes = split /\n/, `curl -s --parallel --parallel-max 4 -K $work/register.curl 2>/dev/null`;
ok t_cmp(scalar(grep { $_ eq '201' } @codes), $registrations, "$registrations registrations, each 201");

open my $fh, '<', $log or die "$log: $!";
seek $fh, $offset, 0;
my @checkpoints = grep { /AH30112/ } <$fh>;
close $fh;
t_debug($_) for @checkpoints;
t_debug('the WAL was checkpointed by the module (AH30112)');
ok @checkpoints >= 1;
my ($copied, $late) = (0, 0);
for (@checkpoints) {
    /checkpointed (\d+) of the WAL's \d+ pages, (\d+) of them holding/ or next;
    $copied += $1;
    $late += $2;
}
t_debug("pages copied: $copied, of them holding the writer mutex: $late");
t_debug("checkpoints copied $copied pages");
ok $copied >= 1000;
t_debug('most of them before taking the writer mutex');
ok $late * 2 < $copied;

my $wal = -s "$dir/as.db-wal";
t_debug("WAL: $wal bytes, " . int($wal / $page) . ' pages');
t_debug('the WAL started over: it stays near the checkpoint size');
ok $wal < 1600 * $page;

my ($after) = sqlite('SELECT COUNT(*) FROM clients') =~ /(\d+)/;
ok t_cmp($after - $before, $registrations, 'every registration is in the store');
ok t_cmp(sqlite('PRAGMA integrity_check'), "ok\n", 'the database is intact');
