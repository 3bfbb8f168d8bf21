# The authorization endpoint and the consent page: exact redirect URI
# matching, errors before and after the client is verified, PKCE, scope,
# resource, CSRF, remembered consent and its withdrawal.
use strict;
use warnings FATAL => 'all';
use Apache::Test;
use Apache::TestUtil;
use FindBin;
use lib "$FindBin::Bin/lib";
use Encode qw(encode_utf8 decode_utf8);
use HTTP::Request::Common ();
use MCP::AS qw(base issuer resource ua json pkce register_client authorize
               consent_form approve query_of);

my ($verifier, $challenge) = pkce();
my ($response, $client) = register_client(
    redirect_uris => ['https://client.example/cb', 'http://127.0.0.1:33418/callback'],
    client_name => '<script>alert("x")</script> Tool');
my $id = $client->{client_id};
my %good = (client_id => $id, response_type => 'code', code_challenge => $challenge,
            code_challenge_method => 'S256', redirect_uri => 'https://client.example/cb',
            state => 's1');

my @mismatch = (
    'https://client.example/cb/',          # trailing slash
    'https://CLIENT.example/cb',           # case of the host
    'https://client.example/CB',           # case of the path
    'https://client.example/cb?x=1',       # extra query
    'https://client.example/x/../cb',      # dot segments
    'https://u@client.example/cb',         # userinfo
    'https://client.example:8443/cb',      # another port, not loopback
    'https://evil.example/cb',             # another host
    'http://client.example/cb',            # another scheme
    'http://localhost:33418/callback',     # another loopback name
    'http://127.0.0.1:33418/callback/x',   # loopback, another path
);
my @after = (
    [ { response_type => undef },                       'invalid_request', qr/response_type is required/ ],
    [ { response_type => 'token' },                     'unsupported_response_type', qr/code/ ],
    [ { code_challenge_method => undef },               'invalid_request', qr/PKCE is required/ ],
    [ { code_challenge_method => 'plain' },             'invalid_request', qr/plain is not allowed/ ],
    [ { code_challenge => undef },                      'invalid_request', qr/code_challenge/ ],
    [ { code_challenge => 'short' },                    'invalid_request', qr/43-character/ ],
    [ { scope => 'mcp:echo nope' },                     'invalid_scope', qr/'nope' is not supported/ ],
    [ { resource => 'https://other.example/mcp' },      'invalid_target', qr/does not issue tokens/ ],
    [ { resource => resource() . '#frag' },             'invalid_target', qr/fragment/ ],
    [ { resource => 'relative/path' },                  'invalid_target', qr/absolute/ ],
);

plan tests => 2 * @mismatch + 5 * @after + 65;

sub page_400 {
    my ($response, $what) = @_;
    ok t_cmp($response->code, 400, "$what: 400 page");
    ok !defined $response->header('Location');
}

# ---- errors before the client and redirect URI are verified: pages
page_400(authorize(%good, client_id => undef), 'no client_id');
page_400(authorize(%good, client_id => 'unknown-client'), 'unknown client');
ok t_cmp(authorize(%good, client_id => 'unknown-client')->decoded_content, qr/not registered/, 'says why');
page_400(authorize(%good, redirect_uri => undef), 'no redirect_uri with two registered');
for my $uri (@mismatch) {
    page_400(authorize(%good, redirect_uri => $uri), "redirect_uri $uri");
}
# a parameter sent twice
my $dup = HTTP::Request->new(GET => base() . "/oauth/authorize?client_id=$id&state=a&state=b&response_type=code");
$dup->authorization_basic('alice', 'wonderland-pass');
$response = ua()->request($dup);
page_400($response, 'state sent twice');
ok t_cmp($response->decoded_content, qr/state.*more than once/, 'names the duplicate');

# login is Apache's
$response = authorize(%good, user => undef);
ok t_cmp($response->code, 401, 'no login: 401 from Apache');
$response = authorize(%good, password => 'wrong');
ok t_cmp($response->code, 401, 'bad password: 401');

# ---- after verification: redirects with error, state and iss
for my $case (@after) {
    my ($change, $error, $why) = @$case;
    my %params = (%good, %$change);
    delete $params{$_} for grep { !defined $params{$_} } keys %params;
    $response = authorize(%params);
    my $q = query_of($response);
    my $name = join ',', map { "$_=" . ($change->{$_} // 'none') } sort keys %$change;
    ok t_cmp($response->code, 302, "$name: redirect");
    ok t_cmp($response->header('Location'), qr{^https://client\.example/cb\?}, "$name: to the registered URI");
    ok t_cmp($q->{error}, $error, "$name: $error");
    ok t_cmp($q->{error_description}, $why, "$name: description");
    ok t_cmp("$q->{state}|$q->{iss}", 's1|' . issuer(), "$name: state and iss");
}

# ---- the consent page
$response = authorize(%good, redirect_uri => 'http://127.0.0.1:5555/callback', scope => 'mcp:echo');
ok t_cmp($response->code, 200, 'loopback redirect URI on another port is accepted (RFC 8252)');
ok t_cmp($response->header('X-Frame-Options'), 'DENY', 'X-Frame-Options');
ok t_cmp($response->header('Content-Security-Policy'), qr/frame-ancestors 'none'/, 'CSP');
ok t_cmp($response->header('Referrer-Policy'), 'no-referrer', 'Referrer-Policy');
ok t_cmp($response->header('Cache-Control'), 'no-store', 'Cache-Control');
ok !defined $response->header('Access-Control-Allow-Origin');
my $html = $response->decoded_content;
ok t_cmp($html, qr/&lt;script&gt;alert\(&quot;x&quot;\)&lt;\/script&gt; Tool/, 'client name escaped');
ok $html !~ /<script>/;
ok t_cmp($html, qr/local address/, 'loopback warning');
ok t_cmp($html, qr/Call the echo tool &lt;and&gt; see its answers/, 'scope description, escaped');
ok t_cmp($html, qr/\Q${\ resource()}\E/, 'names the resource');
ok $html !~ /(?:src|href)="https?:/;
my $form = consent_form($response);
ok t_cmp(length $form->{mcp_csrf}, 43, 'a CSRF token');

# CSRF: another user, a changed request, a forged token
$response = approve($form, user => 'bob', password => 'builder-pass');
ok t_cmp($response->code, 400, "another user's consent form is refused");
$response = authorize(%good, scope => 'mcp:echo');
$form = consent_form($response);
$response = approve({ %$form, scope => 'mcp:echo mcp:admin' });
ok t_cmp($response->code, 400, 'a form whose request was changed is refused');
$response = approve({ %$form, mcp_csrf => 'A' x 43 });
ok t_cmp($response->code, 400, 'a forged token is refused');
$response = approve({ %$form, mcp_csrf => undef });
ok t_cmp($response->code, 400, 'a missing token is refused');

# deny
$response = authorize(%good, scope => 'mcp:echo');
$form = consent_form($response);
$response = approve($form, decision => 'deny');
my $q = query_of($response);
ok t_cmp($response->code, 302, 'deny: redirect');
ok t_cmp("$q->{error}|$q->{state}|$q->{iss}", 'access_denied|s1|' . issuer(), 'deny: access_denied, state, iss');
$response = approve($form);
ok t_cmp($response->code, 400, 'a consent token works once');

# approve; state with &, #, CR/LF and UTF-8 comes back intact in one header line
my $state = encode_utf8("a&b=c#d\r\nSet-Cookie: x=1 \x{e9}\x{2603}");
$response = authorize(%good, scope => 'mcp:echo', state => $state);
$form = consent_form($response);
ok t_cmp($form->{state}, $state, 'state carried in the form');
$response = approve($form, remember => 0);
$q = query_of($response);
ok t_cmp($response->code, 302, 'approve: redirect');
ok t_cmp(length $q->{code}, 43, 'approve: a 256-bit code');
ok t_cmp($q->{state}, $state, 'state echoed intact');
ok t_cmp($q->{iss}, issuer(), 'iss (RFC 9207)');
ok !defined $response->header('Set-Cookie');
ok $response->header('Location') !~ /[\r\n ]/;

# not remembered: the page comes again; remembered: straight to the client
$response = authorize(%good, scope => 'mcp:echo');
ok t_cmp($response->code, 200, 'consent not remembered: page again');
$response = authorize(%good, scope => 'mcp:echo', prompt => 'none');
ok t_cmp(query_of($response)->{error}, 'consent_required', 'prompt=none without consent');
$response = approve(consent_form(authorize(%good, scope => 'mcp:echo')));
ok t_cmp($response->code, 302, 'approve and remember');
$response = authorize(%good, scope => 'mcp:echo', state => 's2');
$q = query_of($response);
ok t_cmp($response->code, 302, 'remembered consent skips the page');
ok t_cmp(length($q->{code}) . "|$q->{state}", '43|s2', 'with a code and the state');
$response = authorize(%good, scope => 'mcp:echo mcp:admin');
ok t_cmp($response->code, 200, 'more scopes than remembered: page again');
$response = authorize(%good, scope => 'mcp:echo', prompt => 'consent');
ok t_cmp($response->code, 200, 'prompt=consent shows the page');
$response = authorize(%good, scope => 'mcp:echo', user => 'bob', password => 'builder-pass');
ok t_cmp($response->code, 200, "alice's consent is not bob's");

# the approvals page, and withdrawal
$response = authorize(mcp_action => 'consents');
ok t_cmp($response->code, 200, 'approvals page');
ok t_cmp($response->decoded_content, qr/\Q$id\E/, 'lists the client');
ok t_cmp($response->header('X-Frame-Options'), 'DENY', 'approvals page: X-Frame-Options');
$form = consent_form($response);
my $withdraw = HTTP::Request::Common::POST(base() . '/oauth/authorize', [%$form]);
$withdraw->authorization_basic('alice', 'wonderland-pass');
$response = ua()->request($withdraw);
ok t_cmp($response->code, 200, 'withdraw');
ok t_cmp($response->decoded_content, qr/withdrawn/, 'says so');
$response = ua()->request($withdraw);
ok t_cmp($response->code, 400, 'the withdraw form works once');
$response = authorize(%good, scope => 'mcp:echo');
ok t_cmp($response->code, 200, 'after withdrawal the page comes again');
$withdraw = HTTP::Request::Common::POST(base() . '/oauth/authorize',
    [mcp_action => 'withdraw', client_id => $id, mcp_csrf => $form->{mcp_csrf}]);
$withdraw->authorization_basic('bob', 'builder-pass');
ok t_cmp(ua()->request($withdraw)->code, 400, "bob cannot use alice's withdraw form");

# methods and bodies
my $put = HTTP::Request->new(PUT => base() . '/oauth/authorize');
$put->authorization_basic('alice', 'wonderland-pass');
ok t_cmp(ua()->request($put)->code, 405, 'PUT: 405');
my $post = HTTP::Request::Common::POST(base() . '/oauth/authorize', [%good, scope => 'mcp:echo']);
$post->authorization_basic('alice', 'wonderland-pass');
ok t_cmp(ua()->request($post)->code, 200, 'POST authorization request (OAuth 2.1) shows the page');
my $json_post = HTTP::Request->new(POST => base() . '/oauth/authorize',
    ['Content-Type' => 'application/json'], '{}');
$json_post->authorization_basic('alice', 'wonderland-pass');
ok t_cmp(ua()->request($json_post)->code, 400, 'POST with JSON: 400 page');
# a login page's POST back to the URL that asked for a login (mod_auth_form's
# inline login): the request is in the query, the body is only the login
my $login_uri = URI->new(base() . '/oauth/authorize');
$login_uri->query_form(%good, scope => 'mcp:echo');
my $login_post = HTTP::Request::Common::POST($login_uri,
    [httpd_username => 'alice', httpd_password => 'wonderland-pass', httpd_method => 'GET']);
$login_post->authorization_basic('alice', 'wonderland-pass');
$response = ua()->request($login_post);
ok t_cmp($response->code, 200, 'login form posted back to the authorization URL: the consent page');
ok t_cmp(consent_form($response)->{code_challenge}, $challenge, 'for the request in the query');
my $empty_post = HTTP::Request::Common::POST($login_uri, []);
$empty_post->authorization_basic('alice', 'wonderland-pass');
ok t_cmp(ua()->request($empty_post)->code, 200, 'an empty POST (mod_auth_form read the login): the consent page');
$login_uri->query_form(%good, scope => 'mcp:echo', mcp_consent => 'approve');
my $query_decision = HTTP::Request::Common::POST($login_uri, []);
$query_decision->authorization_basic('alice', 'wonderland-pass');
ok t_cmp(ua()->request($query_decision)->code, 400, 'a decision in the query string is refused');

# a client registered with one redirect URI may omit it
my (undef, $single) = register_client(redirect_uris => ['https://single.example/cb']);
$response = authorize(%good, client_id => $single->{client_id}, redirect_uri => undef,
                      response_type => 'nope');
ok t_cmp($response->header('Location'), qr{^https://single\.example/cb\?error=unsupported_response_type}, 'single redirect URI used when omitted');
my (undef, $cc) = register_client(token_endpoint_auth_method => 'client_secret_basic',
    grant_types => ['client_credentials'], response_types => [], redirect_uris => undef);
page_400(authorize(%good, client_id => $cc->{client_id}), 'a client_credentials-only client');
