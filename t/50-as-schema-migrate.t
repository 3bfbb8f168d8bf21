# The store's schema is migrated when the server starts: a database that
# the previous release left at version 1 (with the refresh_tokens_family
# index, which no statement used) is brought to version 2 in one
# transaction, its data kept (AH30118); a database at the current version
# is left alone; one with a newer version stops the server (AH30012) and
# is not touched, as is one with a negative version; a migration whose
# step fails is rolled back whole and stops the server.  On SQLite (the sqlite3 shell plays the old release)
# and, under t/suites/pgsql.sh, on PostgreSQL (psql does).
use strict;
use warnings FATAL => 'all';
use Apache::Test;
use Apache::TestUtil;
use FindBin;
use lib "$FindBin::Bin/lib";
use MCP::AS qw(full_flow refresh log_since sqlite);
use MCP::Faults qw(server_pid server_command start_server wait_up wait_down);

my $sqlite = defined sqlite('SELECT 1');
my $psql = $ENV{MCP_PGSQL_PSQL};
plan tests => 22, need { 'the SQLite or the PostgreSQL store' => $sqlite || $psql };

# SQL on the server's store; the first line of the answer
sub store {
    my ($sql) = @_;
    my $out = $sqlite ? sqlite($sql) : `$psql -c "$sql" 2>&1`;
    die "store: $sql: $out" if $? != 0;
    return (split /\n/, $out // '')[0] // '';
}
my $driver = $sqlite ? 'sqlite3' : 'pgsql';
my $index_query = $sqlite
    ? "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name = 'refresh_tokens_family'"
    : "SELECT COUNT(*) FROM pg_indexes WHERE indexname = 'refresh_tokens_family'";
my $log = Apache::Test::vars('t_logs') . '/error_log';
sub version { store('SELECT MAX(version) FROM schema_version') }
sub has_index { store($index_query) }
my $pidfile = Apache::Test::vars('t_logs') . '/httpd.pid';
# SIGHUP on a store the server must refuse: it stops; its log lines about
# the store since
sub refused_restart {
    my $offset = -s $log;
    my $pid = server_pid();
    kill 'HUP', $pid or die "kill HUP $pid: $!";
    my $down = wait_down($pid, 60);
    unlink $pidfile;
    return ($down, log_since($offset, qr/AH3001[02]/));
}
sub restart {
    my $pid = server_pid();
    kill 'HUP', $pid or die "kill HUP $pid: $!";
    sleep 1;
    return wait_up();
}

# the suite's store was created by this module: the current version
ok t_cmp(version(), 2, 'a new store has schema version 2');
ok t_cmp(has_index(), 0, 'without the refresh_tokens_family index');

# ---- version 1, as the previous release left it
my $flow = full_flow(authorize => { scope => 'mcp:echo' });
my $refresh = $flow->{tokens}{refresh_token} // '';
store('BEGIN; CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);'
     . ' DELETE FROM schema_version WHERE version > 1; COMMIT;');
ok t_cmp(version() . ' ' . has_index(), '1 1', 'the store is back at version 1');
my $saved = server_command();
my $offset = -s $log;
ok t_cmp(restart(), 1, 'the server restarts on a version 1 store');
my @migrated = log_since($offset, qr/AH30118/);
ok t_cmp(scalar @migrated, 1, 'one migration logged');
ok t_cmp($migrated[0] // '', qr/migrated the $driver store's schema from version 1 to 2/,
         'naming the versions');
ok t_cmp(version() . ' ' . has_index(), '2 0', 'now at version 2, the index gone');
my ($response, $tokens) = refresh($flow->{client_id}, $refresh);
ok t_cmp($response->code, 200, 'a refresh token issued before the migration works');
($response) = refresh($flow->{client_id}, $tokens->{refresh_token} // '');
ok t_cmp($response->code, 200, 'and so does the one issued after it');

# ---- the current version: nothing to do
$offset = -s $log;
ok t_cmp(restart(), 1, 'the server restarts on a version 2 store');
ok t_cmp(scalar(log_since($offset, qr/AH3001[23]|AH30118/)), 0,
         'no schema work logged');

# ---- a migration whose step fails: rolled back whole, the server stops
store('BEGIN; CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);'
     . ' DELETE FROM schema_version WHERE version > 1; COMMIT;');
# the version row the migration writes last is refused
my ($refuse, $allow) = $sqlite
    ? ("CREATE TRIGGER t50_refuse BEFORE INSERT ON schema_version BEGIN SELECT RAISE(ABORT, 't50 refuses'); END;",
       'DROP TRIGGER t50_refuse')
    : ('ALTER TABLE schema_version ADD CONSTRAINT t50_refuse CHECK (version < 2)',
       'ALTER TABLE schema_version DROP CONSTRAINT t50_refuse');
store($refuse);
my ($down, @lines) = refused_restart();
ok t_cmp($down, 1, 'a migration that fails stops the server');
ok t_cmp(join('', @lines), qr/AH30010: MCPStore: 'INSERT INTO schema_version/, 'the failed statement logged');
ok t_cmp(version() . ' ' . has_index(), '1 1', 'the store is still at version 1, with its index');
store($allow);
$offset = -s $log;
ok t_cmp(start_server($saved), 1, 'once the statement can run, the server starts');
ok t_cmp(version() . ' ' . has_index() . ' ' . scalar(log_since($offset, qr/AH30118/)), '2 0 1',
         'and migrates the store');

# ---- a newer version: refused, the store left as it is
store('INSERT INTO schema_version (version) VALUES (3)');
($down, @lines) = refused_restart();
ok t_cmp($down, 1, 'the server does not start on a version 3 store');
ok t_cmp(join('', @lines), qr/AH30012: .*schema version 3 and this module knows versions 0 to 2/,
         'AH30012 says why');
store('DELETE FROM schema_version WHERE version = 3');
ok t_cmp(start_server($saved), 1, 'back at version 2, the server starts again');

# ---- a version that is no version
store('DELETE FROM schema_version; INSERT INTO schema_version (version) VALUES (-1)');
($down, @lines) = refused_restart();
ok t_cmp($down, 1, 'the server does not start on a version -1 store');
ok t_cmp(join('', @lines), qr/AH30012: .*schema version -1 and this module knows versions 0 to 2/,
         'AH30012 says so');
store('DELETE FROM schema_version; INSERT INTO schema_version (version) VALUES (1);'
    . ' INSERT INTO schema_version (version) VALUES (2)');
ok t_cmp(start_server($saved), 1, 'back at version 2, the server starts again');
