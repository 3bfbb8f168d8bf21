# Housekeeping drops expired used-code markers, revocations and refresh
# tokens and nothing that is still valid; on SQLite each run looks at the
# next 1,000 rows of each table only (a sweep by rowid per child).  A store
# of its own (virtual host mcp_as_housekeeping) gets 1,200 valid refresh
# tokens followed by 2,500 expired ones (a run that looked at the first
# 1,000 rows only would never reach them), 300 expired markers and 40
# expired revocations; then client_credentials requests (about one token
# request in 256 runs housekeeping) until the expired rows are gone: at
# least three runs, none dropping more than 1,000 of a kind.
use strict;
use warnings FATAL => 'all';
use Apache::Test;
use Apache::TestUtil;
use Apache::TestRequest;
use FindBin;
use lib "$FindBin::Bin/lib";
use Time::HiRes qw(time);
use MCP::AS qw(token_request sqlite);

my $db = Apache::Test::vars('t_dir') . '/state/housekeeping.db';
plan tests => 9, need { 'sqlite3 and the store of mcp_as_housekeeping' =>
    (-e $db && `sqlite3 --version 2>/dev/null` ne '') };

# many statements at once (too long for one argument), as the store's owner
sub sql {
    my ($statements) = @_;
    my @as = $> == 0 ? ('runuser', '-u', scalar getpwuid((stat $db)[4]), '--') : ();
    open my $fh, '|-', @as, 'sqlite3', '-cmd', '.timeout 5000', $db or die "sqlite3: $!";
    print $fh $statements;
    close $fh or die "sqlite3 failed";
}
sub value {
    my ($query) = @_;
    chomp(my $out = sqlite($query, $db));
    return $out;
}

my $expired = 2500;
my $run = sprintf '%d-%d', time, $$;
# This store is the test's own: an earlier run's rows go first (the valid
# ones would pile up over reruns, and the sweep, 1,000 rows a run, would
# need ever more requests to get round them).
sql("DELETE FROM refresh_tokens; DELETE FROM used_codes; DELETE FROM revoked_jti;\n");
my $live = value('SELECT COUNT(*) FROM refresh_tokens WHERE expires > 1000');
sql(join '', "BEGIN;\n",
    (map { "INSERT INTO refresh_tokens VALUES ('live-$run-$_', 'family-live', 4000000000, 0);\n" } 1 .. 1200),
    (map { "INSERT INTO refresh_tokens VALUES ('old-$run-$_', 'family-$_', 1, 0);\n" } 1 .. $expired),
    (map { "INSERT INTO used_codes VALUES ('code-$run-$_', '', 'jti-$_', 1);\n" } 1 .. 300),
    (map { "INSERT INTO revoked_jti VALUES ('revoked-$run-$_', 1);\n" } 1 .. 40),
    "COMMIT;\n");
ok t_cmp(value('SELECT COUNT(*) FROM refresh_tokens WHERE expires < 1000'), $expired,
         'expired refresh tokens in the store');

Apache::TestRequest::module('mcp_as_housekeeping');
my $log = Apache::Test::vars('t_logs') . '/error_log';
my $offset = -s $log;
my ($requests, $answered) = (0, 0);
my $deadline = time + 120;
while ($requests < 20000 && time < $deadline) {
    my ($response) = token_request(grant_type => 'client_credentials',
                                   auth => ['hk-agent', 'hk-agent-secret-0123456789']);
    $requests++;
    $answered++ if $response->code == 200;
    next if $requests % 100;
    last if value('SELECT COUNT(*) FROM refresh_tokens WHERE expires < 1000') == 0
         && value('SELECT COUNT(*) FROM used_codes') == 0;
}
Apache::TestRequest::module('default');
t_debug("$requests token requests");
ok t_cmp($answered, $requests, 'every token request answered 200');

open my $fh, '<', $log or die "$log: $!";
seek $fh, $offset, 0;
my @runs = map { [/dropped (\d+) used-code markers, (\d+) revoked token ids and (\d+) refresh tokens/] }
           grep { /AH30114/ } <$fh>;
close $fh;
t_debug(sprintf 'run: %d markers, %d revocations, %d refresh tokens', @$_) for @runs;
my ($codes, $revoked, $refresh) = (0, 0, 0);
my $most = 0;
for (@runs) {
    $codes += $_->[0];
    $revoked += $_->[1];
    $refresh += $_->[2];
    $most = $_->[2] if $_->[2] > $most;
}
t_debug(scalar(@runs) . ' housekeeping runs');
ok @runs >= 3;
t_debug("at most $most refresh tokens in one run");
ok $most <= 1000;
ok t_cmp($refresh, $expired, 'together they dropped every expired refresh token');
ok t_cmp($codes, 300, 'and every expired used-code marker');
ok t_cmp($revoked, 40, 'and every expired revocation');
ok t_cmp(value('SELECT COUNT(*) FROM refresh_tokens WHERE expires < 1000'), 0,
         'no expired refresh token is left');
ok t_cmp(value('SELECT COUNT(*) FROM refresh_tokens WHERE expires > 1000'), $live + 1200,
         'the valid ones are all there');
