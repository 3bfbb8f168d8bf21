# mcp-client reads its token store while other runs rename new stores
# over it (they write a temporary file and rename it): each run must read
# one whole store, old or new.  It used to take the size from stat() on
# the path and then open the path, which by then could be another, longer
# file: read short, "token store is damaged" (about 1 run in 150 here).
# Two writers rename a short and a long store over the file as fast as
# they can while the client starts up to 300 times (at most 60 s); no run
# may fail on the store.  Each run then fails to connect to 127.0.0.1:9,
# which is all the test needs it to reach.
use strict;
use warnings FATAL => 'all';
use Apache::Test;
use Apache::TestUtil;
use FindBin;
use File::Temp ();
use POSIX ();
use Time::HiRes qw(time sleep);
use lib "$FindBin::Bin/lib";
use MCP::Client qw(client_binary);

plan tests => 3, sub { -x client_binary() };

my $dir = File::Temp::tempdir('mcp-client-race-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $store = "$dir/tokens.json";
my @stores = ('{"clients":{},"tokens":[]}',
              '{"clients":{"http://127.0.0.1:9":{"client_id":"' . ('a' x 600)
              . '"}},"tokens":[]}');

sub put {
    my ($text, $name) = @_;
    open my $fh, '>', $name or die "$name: $!";
    print $fh $text;
    close $fh;
    chmod 0600, $name;
    rename $name, $store or die "rename: $!";
}
put($stores[0], "$dir/first");

# the writers: rename stores over the file until told to stop
my $go = "$dir/go";
open my $flag, '>', $go or die $!;
close $flag;
my @writers;
for my $w (1 .. 2) {
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        my $renames = 0;
        while (-e $go) {
            put($stores[$renames++ % 2], "$dir/new.$w");
        }
        open my $out, '>', "$dir/renames.$w" or POSIX::_exit(1);
        print $out $renames;
        close $out;
        POSIX::_exit(0);
    }
    push @writers, $pid;
}

my ($runs, %exits, $damaged) = (0);
my $deadline = time + 60;
while ($runs < 300 && time < $deadline) {
    my $err = `'${\ client_binary()}' --timeout 1 --token-store '$store' http://127.0.0.1:9/mcp 2>&1 >/dev/null`;
    my $exit = $? >> 8;
    $exits{$exit}++;
    $damaged //= $err if $exit == 6;
    $runs++;
}
unlink $go;
waitpid $_, 0 for @writers;
my $renames = 0;
for my $w (1 .. 2) {
    open my $in, '<', "$dir/renames.$w" or next;
    $renames += <$in> // 0;
    close $in;
}
t_debug("$runs runs, exits: " . join(' ', map { "$_ x$exits{$_}" } sort keys %exits)
        . ", $renames renames meanwhile");
t_debug("a run failed on the store: $damaged") if $damaged;
ok t_cmp($runs >= 50 ? 1 : 0, 1, 'the client ran at least 50 times');
t_debug('the store was renamed over more often than the client ran');
ok $renames > $runs;
ok t_cmp($exits{6} // 0, 0, 'no run failed to read the store (exit 6)');
