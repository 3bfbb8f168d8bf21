# Hostile parameters: HTML and script in client_name and state are escaped
# on every page; CR/LF and NUL never split a header or forge a log line;
# open-redirect payloads in redirect_uri never become a Location; every
# endpoint refuses a repeated parameter.
use strict;
use warnings FATAL => 'all';
use Apache::Test;
use Apache::TestUtil;
use FindBin;
use lib "$FindBin::Bin/lib";
use URI;
use URI::Escape qw(uri_escape);
use HTTP::Request;
use HTTP::Request::Common ();
use MCP::AS qw(base ua json pkce basic agent register_client authorize
               consent_form approve query_of token_request USER PASSWORD);
use MCP::RS qw(check);

my $marker = 'FORGED-LOG-LINE';
my $script = q{"><script>alert(1)</script><img src=x onerror=alert(2)>'&};
my $state = "$script\r\n$marker: 1\r\nSet-Cookie: evil=1";
my $redirect = 'https://client.example/cb';

my @payloads = (
    '//evil.example/cb', '/\\evil.example/cb', '\\\\evil.example\\cb',
    'https:evil.example/cb', 'https:/evil.example/cb', 'https:\\\\evil.example\\cb',
    'https://client.example/cb@evil.example', 'https://client.example\\@evil.example/cb',
    'https://client.example%2F@evil.example/cb', 'https://evil.example%23@client.example/cb',
    '%2F%2Fevil.example%2Fcb', 'https://client.example/cb%0D%0ALocation:%20https://evil.example',
    "https://client.example/cb\r\nLocation: https://evil.example", "https://client.example/cb\0.evil.example",
    'https://client.example/cb/../../evil', 'javascript:alert(1)//https://client.example/cb',
);
my @duplicates = (
    [ GET => '/oauth/authorize', 'client_id' ],
    [ GET => '/oauth/authorize', 'redirect_uri' ],
    [ GET => '/oauth/authorize', 'state' ],
    [ GET => '/oauth/authorize', 'code_challenge' ],
    [ POST => '/oauth/token', 'grant_type' ],
    [ POST => '/oauth/token', 'client_id' ],
    [ POST => '/oauth/revoke', 'token' ],
    [ POST => '/oauth/introspect', 'token' ],
    [ GET => '/echo', 'text' ],
);
plan tests => 10 + 2 * @payloads + 3 + 2 * @duplicates;

my ($response, $client) = register_client(redirect_uris => [$redirect],
                                          client_name => $script);
ok t_cmp($response->code, 201, 'a client whose name is HTML and script registers');
my $id = $client->{client_id};
my ($verifier, $challenge) = pkce();
my %good = (client_id => $id, response_type => 'code', code_challenge => $challenge,
            code_challenge_method => 'S256', redirect_uri => $redirect, state => $state);

# the consent page shows both, escaped
$response = authorize(%good);
my $html = $response->decoded_content // '';
ok t_cmp($response->code, 200, 'consent page for the hostile client and state');
check $html !~ /<script>alert|<img src=x/, 'no script or img from client_name or state on the consent page';
check index($html, '&lt;script&gt;alert(1)&lt;/script&gt;') >= 0, 'client_name shown escaped';
check !defined $response->header($marker) && !defined $response->header('Set-Cookie'),
    'CR/LF in state split no header on the consent page';

# the redirect carries state back, encoded, byte for byte
my $fields = consent_form($response);
$response = approve($fields);
my $location = $response->header('Location') // '';
ok t_cmp($response->code, 302, 'approve: 302');
check index($location, "$redirect?") == 0 && $location !~ /[\r\n\0<>"' ]/,
    'Location goes to the registered URI, with nothing unencoded';
ok t_cmp(query_of($response)->{state}, $state, 'state comes back exactly');
check !defined $response->header($marker) && !defined $response->header('Set-Cookie'),
    'no header split on the redirect';

# an error after the client is known also redirects with state encoded
$response = authorize(%good, response_type => 'token');
check $response->code == 302 && ($response->header('Location') // '') !~ /[\r\n<>]/
    && query_of($response)->{state} eq $state, 'error redirect: state encoded, round-trips';

# open-redirect payloads: never a Location, neither at registration nor
# at the authorization endpoint
for my $payload (@payloads) {
    (my $shown = $payload) =~ s/([\r\n\0])/sprintf '\\x%02x', ord $1/ge;
    my ($reg) = register_client(redirect_uris => [$payload]);
    # a URI that is really on client.example (an @ or %0D%0A in its path)
    # may register: it can only ever send the browser to client.example
    my $host = eval { URI->new($payload)->host } // '';
    check $reg->code == 400 || ($reg->code == 201 && $host eq 'client.example'
                                && $payload !~ /[\\\r\n\0]/),
        "register redirect_uri $shown: 400, or only ever client.example (" . $reg->code . ')';
    my $r = authorize(%good, redirect_uri => $payload);
    check !defined $r->header('Location') && $r->code == 400,
        "authorize redirect_uri $shown: 400, no Location (" . $r->code . ' '
        . ($r->header('Location') // '') . ')';
}

# CR/LF in parameters that are logged: no forged line in the error log
my $error_log = Apache::Test::vars('t_logs') . '/error_log';
my $log_start = -s $error_log;
register_client(redirect_uris => [$redirect], client_name => "x\n$marker y");
authorize(%good, client_id => "nobody\r\n$marker x");
token_request(grant_type => 'authorization_code', code => "c\n$marker", client_id => "\n$marker",
              code_verifier => 'v' x 43);
token_request(grant_type => "client_credentials\n$marker", auth => [agent()]);
ua()->get(base() . '/rs/echo?text=x', Authorization => "Bearer a.b.c%0A$marker");
ua()->request(HTTP::Request::Common::POST(base() . '/oauth/revoke',
    [ token => "t\r\n$marker" ], Authorization => basic(agent())));
open my $log, '<', $error_log or die $!;
seek $log, $log_start, 0;
my $text = do { local $/; <$log> };
check $text ne '', 'the requests were logged';
check $text !~ /^\S*\Q$marker\E/m && $text !~ /\n\Q$marker\E/, 'no log line forged by CR/LF in a parameter';
check $text !~ /\0/, 'no NUL in the error log';

# repeated parameters: refused by every endpoint, and authorize never
# redirects on them
for my $case (@duplicates) {
    my ($method, $path, $name) = @$case;
    my %base = $path eq '/oauth/authorize' ? %good
             : $path eq '/oauth/token'     ? (grant_type => 'client_credentials', client_id => 'as-agent')
             : $path eq '/echo'            ? (text => 'a')
             :                               (token => 'abc');
    my @pairs = map { ($_ => $base{$_}) } sort keys %base;
    push @pairs, $name => ($base{$name} // 'x') . '2';
    my $r;
    if ($method eq 'GET') {
        my $uri = URI->new(base() . $path);
        $uri->query_form(@pairs);
        my $request = HTTP::Request->new(GET => $uri);
        $request->authorization_basic(USER, PASSWORD) if $path eq '/oauth/authorize';
        $r = ua()->request($request);
    }
    else {
        my $request = HTTP::Request::Common::POST(base() . $path, \@pairs);
        $request->header(Authorization => $path eq '/oauth/introspect'
            ? basic('as-rs', 'as-rs-secret-0123456789') : basic(agent()));
        $r = ua()->request($request);
    }
    ok t_cmp($r->code, 400, "$method $path with $name twice: 400");
    check !defined $r->header('Location'), "$method $path with $name twice: no redirect";
}
