# mcp-client refuses servers that fail the specification's security
# checks, each with a clear message and exit code 5 (4 for a denial): no
# PKCE S256, an issuer that is not the one looked up (RFC 8414 §3.3), a
# state that does not match, an iss that does not match (RFC 9207),
# protected-resource metadata for another resource (RFC 9728 §3.3).
use strict;
use warnings FATAL => 'all';
use Apache::Test;
use Apache::TestUtil;
use FindBin;
use lib "$FindBin::Bin/lib";
use MCP::Client qw(mcp_client client_binary server_base fresh_store);

my @cases = (
    [ nos256        => 5, qr/does not advertise PKCE S256/,                       'no S256' ],
    [ badissuer     => 5, qr/says issuer .*impostor.*RFC 8414 section 3\.3/,      'issuer mismatch' ],
    [ badstate      => 5, qr/state does not match/,                               'state mismatch' ],
    [ mixup         => 5, qr/iss is https:\/\/evil\.example.*RFC 9207/,           'iss mismatch' ],
    [ wrongresource => 5, qr/is for resource .*elsewhere.*RFC 9728 section 3\.3/, 'metadata for another resource' ],
    [ httpendpoint  => 5, qr/names token_endpoint http:\/\/as\.example\/token, which is neither https nor loopback http/, 'plain http endpoint' ],
    [ garbled       => 7, qr/authorization server metadata at \S+ is not a JSON object/, 'metadata that is not JSON' ],
    [ noregister    => 4, qr/dynamic registration at \S+ failed \(400, invalid_client_metadata: registration is closed here\); give --client-id/, 'registration refused' ],
    [ badgrant      => 4, qr/refused the authorization_code grant \(400, invalid_grant: the code has expired\)/, 'code refused' ],
    [ notoken       => 7, qr/the token reply of \S+ has no access_token/, 'a token reply without a token' ],
    [ denied        => 4, qr/authorization was not granted: access_denied: the user said no/, 'the user says no' ],
);

plan tests => 3 * @cases + 6, sub { need_cgi() && -x client_binary() };

my $base = server_base();
for my $case (@cases) {
    my ($variant, $exit, $message, $name) = @$case;
    my $store = fresh_store();
    my $r = mcp_client('--token-store', $store, '--login', 'x:y', "$base/client-fake/$variant/mcp");
    ok t_cmp($r->{exit}, $exit, "$name: exit $exit");
    ok t_cmp($r->{err}, $message, "$name: the message says what is wrong");
    my $stored = -e $store ? do { local $/; open my $fh, '<', $store or die; <$fh> } : '';
    ok t_cmp($stored !~ /access_token/ ? 1 : 0, 1, "$name: no token stored");
}

# an event stream that ends without the response
my $r = mcp_client('--token-store', fresh_store(), '--login', 'x:y', '--tool', 'echo', "$base/client-fake/nosse/mcp");
ok t_cmp($r->{exit}, 7, 'an event stream without the response: exit 7');
ok t_cmp($r->{err}, qr/the event stream for tools\/call ended without its response/, 'the message says so');

# --no-browser prints the URL and waits; nobody comes
$r = mcp_client('--token-store', fresh_store(), '--no-browser', '--wait', '2',
                   "$base/client-fake/good/mcp");
ok t_cmp($r->{exit}, 4, 'nobody opens the URL: exit 4');
ok t_cmp($r->{err}, qr{open this URL.*\n\n  \Q$base\E/client-fake/good/authorize\?response_type=code&client_id=[^&]+&redirect_uri=http%3A%2F%2F127\.0\.0\.1%3A\d+%2Fcallback&code_challenge=[A-Za-z0-9_-]{43}&code_challenge_method=S256&state=[A-Za-z0-9_-]{43}&resource=\Q${\ (($base =~ s/([:\/])/sprintf('%%%02X', ord $1)/ger)) }\E%2Fclient-fake%2Fgood%2Fmcp&scope=fake%3Aread\n}s,
         '--no-browser prints the authorization URL with PKCE, state, resource and scope');
ok t_cmp($r->{err}, qr/no authorization response reached http:\/\/127\.0\.0\.1:\d+\/callback within 2 seconds/,
         'the timeout says what happened');

# a browser that fails to reach the listener is the same as no browser
$r = mcp_client({ env => { BROWSER => 'false' } }, '--token-store', fresh_store(), '--wait', '1',
                "$base/client-fake/good/mcp");
ok t_cmp($r->{exit}, 4, 'a browser that does nothing: exit 4');
