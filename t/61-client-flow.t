# mcp-client's whole flow against the fake servers of t/cgi-bin/client-fake:
# discovery, registration, PKCE, the loopback listener (with a scripted
# browser), headless --login through a consent form, the token store,
# reuse, refresh, step-up, the retry limit, MCP over JSON and SSE.
use strict;
use warnings FATAL => 'all';
use Apache::Test;
use Apache::TestUtil;
use FindBin;
use lib "$FindBin::Bin/lib";
use MCP::Client qw(mcp_client client_binary server_base fresh_store);

plan tests => 43, sub { need_cgi() && -x client_binary() };

my $base = server_base();
my $store = fresh_store();
(my $store_dir = $store) =~ s{/[^/]+$}{};
my $r;

sub okr {
    my ($r, $exit, $name) = @_;
    ok t_cmp($r->{exit} == $exit ? 1 : "exit $r->{exit}; stderr: $r->{err}", 1, $name);
}

# 1. a plain GET; the "browser" is curl following the redirect to the listener
$r = mcp_client({ env => { BROWSER => 'curl -fsSL -o /dev/null' } },
                '-v', '--token-store', $store, "$base/client-fake/good/mcp?text=hello");
okr($r, 0, 'GET through the whole flow with a browser: exit 0');
ok t_cmp($r->{out}, qr/"echo":"hello"/, 'the echo is printed');
ok t_cmp($r->{out}, qr/"scope":"fake:read"/, 'the challenge scope was asked for');
ok t_cmp($r->{err}, qr{protected-resource metadata from \Q$base\E/client-fake/good/prm},
         'the PRM came from the header URL');
ok t_cmp($r->{err}, qr{metadata from \Q$base\E/\.well-known/oauth-authorization-server/client-fake/good},
         'the AS metadata from the path-inserted URL');
ok t_cmp($r->{err}, qr/registered as client fake-client-\d+/, 'registered dynamically');
ok t_cmp($r->{err}, qr/opening a browser/, 'the browser was opened');
ok t_cmp($r->{err} !~ /tok\.good\.|ref\.good\./ ? 1 : 0, 1, 'no token appears in the trace');

# the store: 0600 in a 0700 directory, holding the token and the registration
ok t_cmp(sprintf('%04o', (stat $store)[2] & 07777), '0600', 'the token store is mode 0600');
ok t_cmp(sprintf('%04o', (stat $store_dir)[2] & 07777), '0700', 'its directory is mode 0700');
my $stored = do { local $/; open my $fh, '<', $store or die; <$fh> };
ok t_cmp($stored, qr/"access_token"\s*:\s*"tok\.good\.code\.fake:read"/, 'the token is stored');
ok t_cmp($stored, qr/"client_id"\s*:\s*"fake-client-\d+"/, 'the registration is remembered');
my ($client_id) = $stored =~ /"client_id"\s*:\s*"(fake-client-\d+)"/;

# 2. the stored token is reused: no discovery, no authorization
$r = mcp_client('-v', '--token-store', $store, "$base/client-fake/good/mcp?text=again");
okr($r, 0, 'second run: exit 0');
ok t_cmp($r->{out}, qr/"echo":"again"/, 'second run: the echo');
ok t_cmp($r->{err} =~ /stored token/ && $r->{err} !~ /authorization request|registered/ ? 1 : $r->{err}, 1,
         'second run: the stored token, no new authorization');

$r = mcp_client('-v', '--show-token', '--token-store', $store, "$base/client-fake/good/mcp?text=shown");
ok t_cmp($r->{err}, qr/stored token for \Q$base\E\/client-fake\/good\/mcp \(tok\.good\.code\.fake:read\)/,
         '--show-token lets the trace show the token');

# 3. MCP: initialize, notifications/initialized, tools/call (SSE reply), session and version headers
$r = mcp_client('-v', '--token-store', $store, '--tool', 'echo', '--arg', 'text=hi there',
                '--arg', 'n:=3', "$base/client-fake/good/mcp");
okr($r, 0, '--tool echo: exit 0');
ok t_cmp($r->{out}, "hi there\nn=[3]\n", '--tool echo prints the text content; KEY:=JSON sends a number');
ok t_cmp($r->{err}, qr/initialized: protocol 2025-06-18/, 'the server\'s protocol version is used');
ok t_cmp($r->{err}, qr/MCP session fake-session/, 'the session id is kept');
$r = mcp_client('--token-store', $store, '--list-tools', "$base/client-fake/good/mcp");
okr($r, 0, '--list-tools: exit 0');
ok t_cmp($r->{out}, "echo\tEchoes its text\nfail\n", '--list-tools lists name and description');
$r = mcp_client('--token-store', $store, '--tool', 'fail', "$base/client-fake/good/mcp");
ok t_cmp($r->{exit} == 1 && $r->{out} eq "it failed\n" && $r->{err} =~ /reported an error/ ? 1 : "exit $r->{exit}: $r->{err}",
         1, 'a tool result with isError: printed, exit 1');
$r = mcp_client('--token-store', $store, '--tool', 'nosuch', "$base/client-fake/good/mcp");
ok t_cmp($r->{exit} == 1 && $r->{err} =~ /no method|tools\/call failed/ ? 1 : "exit $r->{exit}: $r->{err}",
         1, 'a JSON-RPC error: exit 1');

# 4. headless --login through Basic auth and a consent form
$r = mcp_client('-v', '--token-store', $store, '--login', 'alice:pw', "$base/client-fake/consent/mcp?text=c");
okr($r, 0, '--login through a consent form: exit 0');
ok t_cmp($r->{err}, qr/consenting at \Q$base\E\/client-fake\/consent\/authorize/, 'the form was posted');
$r = mcp_client('--token-store', fresh_store(), '--login', 'mallory:pw', "$base/client-fake/consent/mcp");
ok t_cmp($r->{exit} == 4 && $r->{err} =~ /refused the login of mallory/ ? 1 : "exit $r->{exit}: $r->{err}",
         1, 'a refused login: exit 4');

# 5. an expired token is refreshed before use
my $expiring = fresh_store();
$r = mcp_client('--token-store', $expiring, '--login', 'x:y', "$base/client-fake/expiring/mcp?text=1");
okr($r, 0, 'expiring: first run');
$r = mcp_client('-v', '--token-store', $expiring, "$base/client-fake/expiring/mcp?text=2");
okr($r, 0, 'expiring: second run');
ok t_cmp($r->{err}, qr/it has expired; refreshing.*refreshed the access token/s, 'the expired token was refreshed');
ok t_cmp($r->{out}, qr/"grant":"refresh"/, 'the refreshed token was used');
ok t_cmp($r->{err} !~ /authorization request/ ? 1 : 0, 1, 'no new authorization');

# 6. a token refused with invalid_token is refreshed, then the request retried
$r = mcp_client('-v', '--token-store', fresh_store(), '--login', 'x:y', "$base/client-fake/revoked/mcp?text=r");
okr($r, 0, 'revoked: exit 0');
ok t_cmp($r->{err}, qr/token refused \(invalid_token\); refreshing/, 'refresh after invalid_token');
ok t_cmp($r->{out}, qr/"grant":"refresh"/, 'the refreshed token was accepted');

# 7. step-up: 403 insufficient_scope, re-authorization with the union of scopes
$r = mcp_client('-v', '--token-store', fresh_store(), '--login', 'x:y', "$base/client-fake/stepup/mcp?text=s");
okr($r, 0, 'step-up: exit 0');
ok t_cmp($r->{err}, qr/authorization request to .*\(scope: fake:read\).*authorization request to .*\(scope: fake:read fake:write\)/s,
         'first the challenge scope, then the union');
ok t_cmp($r->{out}, qr/"scope":"fake:read fake:write"/, 'the stepped-up token was accepted');

# 8. a server that is never satisfied: three authorizations, then exit 4
$r = mcp_client('-v', '--token-store', fresh_store(), '--login', 'x:y', "$base/client-fake/neverenough/mcp");
ok t_cmp($r->{exit}, 4, 'never enough scope: exit 4');
my $attempts = () = $r->{err} =~ /authorization request to/g;
ok t_cmp($attempts, 3, 'exactly three authorizations');
ok t_cmp($r->{err}, qr/after 3 authorizations; giving up/, 'the message says why it stopped');

# 9. client credentials, with client_secret_basic
$r = mcp_client('-v', '--token-store', fresh_store(), '--grant', 'client_credentials',
                '--client-id', 'agent', '--client-secret', 'agent-secret', "$base/client-fake/good/mcp?text=cc");
okr($r, 0, 'client_credentials: exit 0');
ok t_cmp($r->{out}, qr/"grant":"cc"/, 'the client-credentials token was used');
