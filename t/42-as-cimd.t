# Client ID Metadata Documents: a client_id that is a URL to the client's
# metadata, fetched (here from this very server, over http on 127.0.0.1,
# with the test-only MCPClientMetadataAllowPrivate), validated, cached by
# its Cache-Control and never cached on failure.
use strict;
use warnings FATAL => 'all';
use Apache::Test;
use Apache::TestUtil;
use Apache::TestRequest ();
use FindBin;
use lib "$FindBin::Bin/lib";
use MCP::AS qw(base issuer ua json pkce authorize consent_form approve query_of
               exchange_code refresh token_request decode_jwt);

my @bad = (
    [ mismatch    => qr/client_id is not the URL it was fetched from/ ],
    [ secret      => qr/cannot use a shared secret/ ],
    [ redirect    => qr/HTTP 302 \(no redirects are followed\)/ ],
    [ big         => qr/larger than 16 KiB/ ],
    [ html        => qr/not application\/json/ ],
    [ missing     => qr/HTTP 404/ ],
    [ dupkeys     => qr/duplicate/ ],
    [ noredirect  => qr/redirect_uris must be a non-empty array/ ],
    [ badredirect => qr/forbidden scheme/ ],
);
plan tests => 19 + 2 * @bad;

my $fetches = Apache::Test::vars('t_dir') . '/state/cimd-fetches';
sub fetched {
    my ($variant) = @_;
    open my $fh, '<', $fetches or return 0;
    return scalar grep { $_ eq "$variant\n" } <$fh>;
}
my $doc = issuer() . '/as-cimd';
my ($verifier, $challenge) = pkce();
my %req = (response_type => 'code', code_challenge => $challenge,
           code_challenge_method => 'S256', scope => 'mcp:echo', state => 'c1');

my $metadata = json(ua()->get(base() . '/.well-known/oauth-authorization-server'));
ok t_cmp($metadata->{client_id_metadata_document_supported}, JSON::PP::true(), 'advertised in the metadata');

# ---- a good document: consent, code, token, refresh
my $good = "$doc/good" . time;    # a fresh URL, never cached before
my $response = authorize(%req, client_id => $good);
ok t_cmp($response->code, 200, 'a metadata document client gets the consent page');
ok t_cmp($response->decoded_content, qr/CIMD good &lt;client&gt;/, 'its client_name, escaped');
ok t_cmp($response->decoded_content, qr/\Q$good\E/, 'and its identity (the URL)');
$response = approve(consent_form($response));
my $q = query_of($response);
ok t_cmp($response->header('Location'), qr{^http://127\.0\.0\.1:9/cimd-cb\?code=}, 'redirected to its redirect URI');
my ($token_response, $tokens) = exchange_code($good, $q->{code}, $verifier);
ok t_cmp($token_response->code, 200, 'the code exchange works for it (public client, no secret)');
my (undef, $claims) = decode_jwt($tokens->{access_token});
ok t_cmp($claims->{client_id}, $good, 'client_id claim is the URL');
(my $variant = $good) =~ s{^.*/}{};
ok t_cmp(fetched($variant), 1, 'max-age=300: fetched once for authorize, consent and token');
# a 12 KiB document (the limit is 16 KiB) is cached as well
my $large = "$doc/large" . time;
ok t_cmp(authorize(%req, client_id => $large)->code, 200, 'a 12 KiB document is accepted');
authorize(%req, client_id => $large) for 1 .. 2;
(my $large_variant = $large) =~ s{^.*/}{};
ok t_cmp(fetched($large_variant), 1, 'and fetched once for three authorization requests');
my ($r2, $t2) = refresh($good, $tokens->{refresh_token});
ok t_cmp($r2->code, 200, 'refresh works');
($r2, $t2) = token_request(grant_type => 'authorization_code', code => 'x', client_id => $good,
                           client_secret => 'anything');
ok t_cmp($t2->{error}, 'invalid_client', 'it cannot present a secret');

# ---- no-store: fetched every time
my $nocache = "$doc/nocache" . time;
authorize(%req, client_id => $nocache) for 1 .. 2;
(my $nc = $nocache) =~ s{^.*/}{};
ok t_cmp(fetched($nc), 2, 'no-store: fetched every time');

# ---- bad documents: an error page that says why, never a redirect, never cached
my $mismatches = fetched('mismatch');
for my $case (@bad) {
    my ($name, $why) = @$case;
    $response = authorize(%req, client_id => "$doc/$name");
    ok t_cmp($response->code, 400, "$name: 400 page");
    ok t_cmp($response->decoded_content, $why, "$name: says why");
}
authorize(%req, client_id => "$doc/mismatch");
ok t_cmp(fetched('mismatch') - $mismatches, 2, 'a failure is not cached');
($response, my $body) = token_request(grant_type => 'authorization_code', code => 'x',
    code_verifier => 'v' x 43, client_id => "$doc/secret");
ok t_cmp($body->{error}, 'invalid_client', 'token endpoint: a bad document is an unknown client');

# ---- URL rules
$response = authorize(%req, client_id => issuer() . '/');
ok t_cmp($response->decoded_content, qr/must have a path/, 'the bare origin is refused');
$response = authorize(%req, client_id => "$doc/good#frag");
ok t_cmp($response->code, 400, 'a fragment is refused');

# ---- without the test allowance: https only, and no loopback address
Apache::TestRequest::module('mcp_as_strict');
my $strict = 'http://' . Apache::TestRequest::hostport();
Apache::TestRequest::module('default');
my $uri = URI->new("$strict/oauth/authorize");
$uri->query_form(%req, client_id => "$doc/good");
my $request = HTTP::Request->new(GET => $uri);
$request->authorization_basic('alice', 'wonderland-pass');
ok t_cmp(ua()->request($request)->decoded_content, qr/must be https/, 'strict server: http refused');
(my $https = "$doc/good") =~ s/^http:/https:/;
$uri->query_form(%req, client_id => $https);
$request = HTTP::Request->new(GET => $uri);
$request->authorization_basic('alice', 'wonderland-pass');
ok t_cmp(ua()->request($request)->decoded_content, qr/loopback, private or link-local/,
         'strict server: a loopback address is refused before connecting');
