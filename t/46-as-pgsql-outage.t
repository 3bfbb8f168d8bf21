# PostgreSQL stopped mid-run, under load: registration, code exchange and
# refresh answer 503 temporarily_unavailable (authorize shows the busy
# page), nothing is half-written (a refresh answered 503 leaves the old
# refresh token valid, exactly once; a registration answered 503 does not
# exist; a code whose exchange failed is redeemed once the database is
# back), and the same httpd, not restarted, works again as soon as
# PostgreSQL is back.  Then a restart of PostgreSQL while the server is
# idle: the connections the children keep are all dead, and still not one
# request fails (a dead connection is replaced before it is used).
#
# Run by t/suites/pgsql.sh, which starts the PostgreSQL cluster and tells
# this test how to stop and start it (MCP_PGSQL_STOP, MCP_PGSQL_START,
# MCP_PGSQL_PSQL); skipped otherwise.
use strict;
use warnings FATAL => 'all';
use Apache::Test;
use Apache::TestUtil;
use FindBin;
use lib "$FindBin::Bin/lib";
use File::Temp qw(tempdir);
use POSIX ();
use Time::HiRes qw(time sleep);
use HTTP::Request::Common ();
use MCP::AS qw(pkce register_client login_code exchange_code refresh full_flow
               authorize ua base);
use MCP::Faults qw(server_pid);

unless ($ENV{MCP_PGSQL_STOP} && $ENV{MCP_PGSQL_START} && $ENV{MCP_PGSQL_PSQL}) {
    plan tests => 1;
    skip 'PostgreSQL outage: run by t/suites/pgsql.sh only', 1;
    exit 0;
}
plan tests => 28;

sub psql {
    my ($sql) = @_;
    my $out = `$ENV{MCP_PGSQL_PSQL} -c "$sql" 2>&1`;
    chomp $out;
    return $out;
}
sub pg_stop  { system("$ENV{MCP_PGSQL_STOP} >/dev/null 2>&1") == 0 }
sub pg_start { system("$ENV{MCP_PGSQL_START} >/dev/null 2>&1") == 0 }
# an error response LWP made up itself (no connection) is no answer
sub answered { my ($r) = @_; ($r->header('Client-Warning') // '') ne 'Internal response' }

my $httpd = server_pid();
my ($verifier, $challenge) = pkce();
my (undef, $client) = register_client();
my ($code) = login_code(client_id => $client->{client_id}, response_type => 'code',
    code_challenge => $challenge, code_challenge_method => 'S256', scope => 'mcp:echo');
my $flow = full_flow(authorize => { scope => 'mcp:echo' });
ok t_cmp(length($code // ''), 43, 'a code and a refresh token, before the outage');
ok t_cmp(psql('SELECT 1'), '1', 'PostgreSQL answers');

# load: registrations and refreshes from two processes, all through
my $dir = tempdir(CLEANUP => 1);
my $stop_file = "$dir/stop";
my @loaders;
for my $n (1 .. 2) {
    my $child = fork // die "fork: $!";
    if ($child == 0) {
        open my $out, '>', "$dir/load$n" or die $!;
        $out->autoflush(1);
        my $chain = eval { full_flow(authorize => { scope => 'mcp:echo' }) };
        my $token = $chain && $chain->{tokens}{refresh_token};
        until (-e $stop_file) {
            my ($response, $body) = register_client(client_name => "load $n");
            printf $out "register %d %s %.3f\n", $response->code,
                answered($response) ? ($body && $body->{error}) // '-' : 'no-answer', time;
            next unless $token;
            ($response, $body) = refresh($chain->{client_id}, $token);
            printf $out "refresh %d %s %.3f\n", $response->code,
                answered($response) ? ($body && $body->{error}) // '-' : 'no-answer', time;
            $token = $body->{refresh_token} if $response->code == 200;
        }
        close $out;
        POSIX::_exit(0);
    }
    push @loaders, $child;
}
sleep 1;

ok pg_stop();
my $stopped_at = time;
t_debug('PostgreSQL stopped (fast)');

# the endpoints while the database is down
my ($response, $body) = register_client(client_name => 'during the outage');
ok t_cmp($response->code, 503, 'register: 503');
ok t_cmp($body->{error}, 'temporarily_unavailable', 'register: temporarily_unavailable');
ok t_cmp($response->header('Retry-After'), 1, 'register: Retry-After');
($response, $body) = exchange_code($client->{client_id}, $code, $verifier);
ok t_cmp($response->code, 503, 'code exchange: 503');
ok t_cmp($body->{error}, 'temporarily_unavailable', 'code exchange: temporarily_unavailable');
($response, $body) = refresh($flow->{client_id}, $flow->{tokens}{refresh_token});
ok t_cmp($response->code, 503, 'refresh: 503');
ok t_cmp($body->{error}, 'temporarily_unavailable', 'refresh: temporarily_unavailable');
$response = authorize(client_id => $client->{client_id}, response_type => 'code',
    code_challenge => $challenge, code_challenge_method => 'S256', scope => 'mcp:echo');
ok t_cmp($response->code, 503, 'authorize: 503');
ok t_cmp($response->decoded_content, qr/busy \(temporarily_unavailable\)/, 'authorize: the busy page');
my $t0 = time;
($response) = register_client(client_name => 'during the outage');
my $elapsed = time - $t0;
t_debug(sprintf 'a request with the database down answered in %.3f s', $elapsed);
ok t_cmp($elapsed < 5 ? 'quick' : $elapsed, 'quick', 'a database that is down answers quickly');
sleep 2;

ok pg_start();
my $started_at = time;
t_debug('PostgreSQL started again');

# the same server, not restarted: the very first requests work
ok t_cmp(server_pid(), $httpd, 'the same httpd');
($response, $body) = register_client(client_name => 'after the outage');
ok t_cmp($response->code, 201, 'register works again, first try');
($response, $body) = refresh($flow->{client_id}, $flow->{tokens}{refresh_token});
ok t_cmp($response->code, 200, 'the refresh answered 503 did not consume the token: it works now');
($response, $body) = refresh($flow->{client_id}, $flow->{tokens}{refresh_token});
ok t_cmp($body->{error}, 'invalid_grant', 'and only once');
($response, $body) = exchange_code($client->{client_id}, $code, $verifier);
ok t_cmp($response->code, 200, 'the code whose exchange failed is redeemed now');
($response, $body) = exchange_code($client->{client_id}, $code, $verifier);
ok t_cmp($body->{error}, 'invalid_grant', 'and only once');
ok t_cmp(psql("SELECT COUNT(*) FROM clients WHERE metadata LIKE '%during the outage%'"), '0',
         'no registration answered 503 exists');

# let the load run on a little with the database back, then stop it
sleep 2;
open my $stop, '>', $stop_file or die $!;
close $stop;
waitpid $_, 0 for @loaders;
my (%seen, @bad, $late_failures, $ok_after);
for my $n (1 .. 2) {
    open my $in, '<', "$dir/load$n" or next;
    while (<$in>) {
        my ($kind, $status, $error, $when) = split;
        $seen{"$kind $status"}++;
        push @bad, $_ unless $status =~ /^20[01]$/
                             || ($status == 503 && $error eq 'temporarily_unavailable');
        # the server needs no warm-up once the database is back (start
        # returns when PostgreSQL accepts connections)
        $late_failures++ if $when > $started_at + 0.5 && $status !~ /^20[01]$/;
        $ok_after++ if $when > $started_at && $status =~ /^20[01]$/;
    }
}
t_debug(join ', ', map { "$_: $seen{$_}" } sort keys %seen);
ok t_cmp(scalar @bad, 0, 'under load: every answer was a success or 503 temporarily_unavailable')
    or t_debug(@bad[0 .. ($#bad < 4 ? $#bad : 4)]);
ok t_cmp(($seen{'register 503'} // 0) > 0 ? 'seen' : 'none', 'seen', 'the load saw the outage');
ok t_cmp($late_failures // 0, 0, 'the load recovered as soon as the database was back');
ok t_cmp(($ok_after // 0) > 5 ? 'yes' : 'no', 'yes', 'and went on succeeding');

# PostgreSQL restarted while the server is idle, with connections open in
# the children (many requests at once open several per child): the first
# requests afterwards land on dead connections, and must still work
my @warm;
for (1 .. 8) {
    my $child = fork // die "fork: $!";
    if ($child == 0) {
        for (1 .. 5) { register_client(client_name => 'warm'); refresh($flow->{client_id}, 'J' x 43) }
        POSIX::_exit(0);
    }
    push @warm, $child;
}
waitpid $_, 0 for @warm;
ok pg_stop() && pg_start();
my (%after_restart, @failed);
for my $i (1 .. 20) {
    ($response, $body) = register_client(client_name => 'after an idle restart');
    $after_restart{'register ' . $response->code}++;
    # a read: the token endpoint looks the client up
    my (undef, $refresh_body) = refresh($flow->{client_id}, 'J' x 43);
    $after_restart{'refresh ' . ($refresh_body->{error} // '-')}++;
    # a read through authorize
    $response = authorize(client_id => $client->{client_id}, response_type => 'code',
        code_challenge => $challenge, code_challenge_method => 'S256', scope => 'mcp:echo');
    $after_restart{'authorize ' . $response->code}++;
}
t_debug(join ', ', map { "$_: $after_restart{$_}" } sort keys %after_restart);
ok t_cmp($after_restart{'register 201'} // 0, 20, 'after an idle restart of PostgreSQL: every registration works');
ok t_cmp(($after_restart{'refresh invalid_grant'} // 0) + ($after_restart{'authorize 302'} // 0), 40,
         'and every read (client lookups by token and authorize) works');
