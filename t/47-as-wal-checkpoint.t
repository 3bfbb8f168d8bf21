# SQLite's WAL is checkpointed outside the writer mutex, and still starts
# over: 1,500 registrations (about two WAL pages each, so three times the
# 1,000-page checkpoint size) leave a WAL of about that size, every
# checkpoint copied most pages before it took the mutex, and nothing was
# lost.  Without the catch-up under the mutex the WAL never starts over and
# grows past 2,500 pages here; with SQLite's own checkpoints (inside the
# commit) there is no AH30112.  Then a reader keeps one snapshot while
# 2,000 more registrations go through: the WAL grows (nothing after the
# reader's snapshot can be checkpointed), and once the reader has ended
# it is copied whole and starts over, and its file is cut back to the
# module's limit (8 MiB).  How many frames the WAL holds is read from the
# wal-index (as.db-shm), not from the file's size: the file keeps the size
# of the longest WAL since it was last cut back, which earlier tests of
# the suite may have made.  SQLite only.
use strict;
use warnings FATAL => 'all';
use Apache::Test;
use Apache::TestUtil;
use FindBin;
use lib "$FindBin::Bin/lib";
use IPC::Open2 qw(open2);
use MCP::AS qw(register_parallel created log_since sqlite);

my $dir = Apache::Test::vars('t_dir') . '/state';
plan tests => 15, need { 'the SQLite store' => defined sqlite('SELECT 1') };

my $log = Apache::Test::vars('t_logs') . '/error_log';
my $wal_file = "$dir/as.db-wal";
my $file_limit = 8 * 1024 * 1024;           # WAL_FILE_LIMIT in mcp_as_store.c

# $n registrations, four at a time, as fast as curl sends them: how many 201
sub register_many {
    my ($n, $tag) = @_;
    return created(register_parallel(4, map { "wal $tag $_" } 1 .. $n));
}

# the checkpoints (AH30112) logged since $offset: [copied, WAL pages, late]
sub checkpoints_since {
    my ($offset) = @_;
    my @lines = log_since($offset, qr/AH30112/);
    t_debug($_) for @lines;
    return map { [/checkpointed (\d+) of the WAL's (\d+) pages, (\d+) of them holding/] } @lines;
}

# How many frames the WAL holds: mxFrame in the wal-index header (native
# byte order, 16 bytes in), which every commit updates.
sub wal_frames {
    open my $fh, '<:raw', "$dir/as.db-shm" or die "$dir/as.db-shm: $!";
    read($fh, my $header, 20) == 20 or die "$dir/as.db-shm: too short";
    close $fh;
    return unpack 'L', substr $header, 16, 4;
}

my $registrations = 1500;
my $offset = -s $log;
my ($before) = sqlite('SELECT COUNT(*) FROM clients') =~ /(\d+)/;
ok t_cmp(register_many($registrations, 'first'), $registrations,
         "$registrations registrations, each 201");

my @checkpoints = checkpoints_since($offset);
t_debug('the WAL was checkpointed by the module (AH30112)');
ok @checkpoints >= 1;
my ($copied, $late) = (0, 0);
for (@checkpoints) {
    $copied += $_->[0];
    $late += $_->[2];
}
t_debug("pages copied: $copied, of them holding the writer mutex: $late");
ok $copied >= 1000;
t_debug('most of them before taking the writer mutex');
ok $late * 2 < $copied;

my $frames = wal_frames();
t_debug("WAL: $frames frames, file " . (-s $wal_file) . ' bytes');
t_debug('the WAL started over: it stays near the checkpoint size');
ok $frames < 1600;

my ($after) = sqlite('SELECT COUNT(*) FROM clients') =~ /(\d+)/;
ok t_cmp($after - $before, $registrations, 'every registration is in the store');
ok t_cmp(sqlite('PRAGMA integrity_check'), "ok\n", 'the database is intact');

# A reader that keeps its snapshot: nothing written after it can be copied
# into the database, so the WAL grows past the checkpoint size; the writes
# go on all the same, and once the reader is gone the WAL starts over.
my @as = $> == 0 ? ('runuser', '-u', scalar getpwuid((stat "$dir/as.db")[4]), '--') : ();
my $reader = open2(my $out, my $in, @as, 'sqlite3', "$dir/as.db");
print $in "BEGIN;\nSELECT 'reading', COUNT(*) FROM clients;\n";
$in->flush;
my $line = <$out>;
ok t_cmp($line, qr/^reading/, 'a reader holds a snapshot');
ok t_cmp(register_many(2000, 'pinned'), 2000, 'meanwhile 2,000 registrations, each 201');
$frames = wal_frames();
my $pinned = -s $wal_file;
t_debug("WAL with the reader: $frames frames, file $pinned bytes");
t_debug('the WAL grew past the checkpoint size');
ok $frames > 1600 && $pinned > $file_limit;
print $in "COMMIT;\n.quit\n";
close $in;
waitpid $reader, 0;

$offset = -s $log;
ok t_cmp(register_many(1500, 'after'), 1500, 'then 1,500 more, each 201');
@checkpoints = checkpoints_since($offset);
my $first = $checkpoints[0] || [0, 0, 0];
my $last = $checkpoints[-1] || [0, 0, 0];
t_debug("first checkpoint after the reader: $first->[0] of $first->[1] pages; last: $last->[0] of $last->[1]");
t_debug('the first checkpoint after the reader copied the long WAL whole');
ok $first->[0] >= 1600 && $first->[0] == $first->[1];
t_debug('and the WAL started over: the last checkpoint found it near the checkpoint size');
ok $last->[1] > 0 && $last->[1] < 1600;
my $file = -s $wal_file;
t_debug("WAL file: $file bytes, $pinned with the reader");
t_debug("and its file was cut back to at most $file_limit bytes");
ok $file <= $file_limit;
ok t_cmp(sqlite('PRAGMA integrity_check'), "ok\n", 'the database is intact');
