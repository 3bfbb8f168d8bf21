# Another connection changes the SQLite store's schema while the server
# runs (an operator's CREATE INDEX, VACUUM, DROP INDEX with the sqlite3
# shell): the pooled connections' statements, which apr_dbd prepares with
# the legacy sqlite3_prepare(), expire; each connection prepares them
# again (AH30117) and no request fails.  Before that fix every request on
# a pooled connection answered 503 until httpd restarted.  SQLite only.
use strict;
use warnings FATAL => 'all';
use Apache::Test;
use Apache::TestUtil;
use FindBin;
use lib "$FindBin::Bin/lib";
use MCP::AS qw(full_flow refresh register_parallel created log_since sqlite);

plan tests => 9, need { 'the SQLite store' => defined sqlite('SELECT 1') };

my $log = Apache::Test::vars('t_logs') . '/error_log';
my $run = time . "-$$";

# $n registrations, 16 at a time (so that they reach many pooled
# connections of every child): how many 201
sub register_many {
    my ($n, $tag) = @_;
    return created(register_parallel(16, map { "schema $tag $run $_" } 1 .. $n));
}

# every pooled connection has prepared its statements
ok t_cmp(register_many(64, 'before'), 64, '64 registrations before, each 201');

my $offset = -s $log;
for my $change ('CREATE INDEX t45_clients_created ON clients (created)',
                'VACUUM', 'DROP INDEX t45_clients_created') {
    sqlite($change);
    ok t_cmp(register_many(64, $change), 64, "after $change: 64 registrations, each 201");
    my $flow = full_flow(authorize => { scope => 'mcp:echo' });
    my ($response) = refresh($flow->{client_id}, $flow->{tokens}{refresh_token} // '');
    ok t_cmp($flow->{response}->code . ' ' . $response->code, '200 200',
             "after $change: a code exchange and a refresh, each 200");
}
# (which connections meet a change depends on which the pool hands out)
my $count = log_since($offset, qr/AH30117/);
t_debug("times a connection prepared its statements again: $count");
ok $count >= 1;
ok t_cmp(sqlite('PRAGMA integrity_check'), "ok\n", 'the database is intact');
