# A locked store: 503 temporarily_unavailable after a bounded wait, and no
# partial write (the code that could not be redeemed still works once the
# store is free again).  SQLite only: another process holds the write lock.
use strict;
use warnings FATAL => 'all';
use Apache::Test;
use Apache::TestUtil;
use FindBin;
use lib "$FindBin::Bin/lib";
use IPC::Open2 qw(open2);
use Time::HiRes qw(time);
use MCP::AS qw(pkce register_client login_code exchange_code refresh full_flow
               authorize consent_form approve query_of);

my $dir = Apache::Test::vars('t_dir') . '/state';
if (-e "$dir/as-store.conf" || !-e "$dir/as.db") {
    plan tests => 1;
    skip 'the store is not SQLite', 1;
    exit 0;
}
plan tests => 14;

my ($verifier, $challenge) = pkce();
my (undef, $client) = register_client();
my ($code) = login_code(client_id => $client->{client_id}, response_type => 'code',
    code_challenge => $challenge, code_challenge_method => 'S256', scope => 'mcp:echo');
my $flow = full_flow(authorize => { scope => 'mcp:echo' });
ok t_cmp(length $code, 43, 'a code, before the store is locked');

# hold the write lock from another process, as the store's owner
my @as = $> == 0 ? ('runuser', '-u', scalar getpwuid((stat "$dir/as.db")[4]), '--') : ();
my $pid = open2(my $out, my $in, @as, 'sqlite3', "$dir/as.db");
print $in "BEGIN IMMEDIATE;\nSELECT 'locked';\n";
$in->flush;
my $line = <$out>;
ok t_cmp($line, qr/locked/, 'another process holds the write lock');

my $t0 = time;
my ($response, $body) = register_client();
my $elapsed = time - $t0;
ok t_cmp($response->code, 503, 'register: 503');
ok t_cmp($body->{error}, 'temporarily_unavailable', 'temporarily_unavailable');
ok t_cmp($response->header('Retry-After'), 1, 'Retry-After');
ok $elapsed < 15;
t_debug("a locked store answered after $elapsed s");

($response, $body) = exchange_code($client->{client_id}, $code, $verifier);
ok t_cmp($response->code, 503, 'code exchange: 503');
ok t_cmp($body->{error}, 'temporarily_unavailable', 'temporarily_unavailable');
($response, $body) = refresh($flow->{client_id}, $flow->{tokens}{refresh_token});
ok t_cmp($body->{error}, 'temporarily_unavailable', 'refresh: temporarily_unavailable');

# remembering a consent cannot be written: the client hears it
my $page = authorize(client_id => $client->{client_id}, response_type => 'code',
    code_challenge => $challenge, code_challenge_method => 'S256', scope => 'mcp:read', state => 'st');
$response = approve(consent_form($page));
ok t_cmp(query_of($response)->{error}, 'temporarily_unavailable', 'consent: redirect with temporarily_unavailable');

print $in "ROLLBACK;\n.quit\n";
close $in;
waitpid $pid, 0;

# nothing was half-written: the code and the refresh token still work, once
($response, $body) = exchange_code($client->{client_id}, $code, $verifier);
ok t_cmp($response->code, 200, 'after the lock: the same code is redeemed');
($response, $body) = exchange_code($client->{client_id}, $code, $verifier);
ok t_cmp($body->{error}, 'invalid_grant', 'and only once');
($response, $body) = refresh($flow->{client_id}, $flow->{tokens}{refresh_token});
ok t_cmp($response->code, 200, 'the refresh token was not consumed by the failed attempt');
($response, $body) = register_client();
ok t_cmp($response->code, 201, 'registration works again');
