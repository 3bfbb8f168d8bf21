# Rate limits: per client_id in mod_mcp_as (MCPClientRateLimit, GCRA over
# the shared socache) and per client address with mod_qos in front of it
# (t/conf/ratelimit.conf.in: the mcp_as_limited virtual host).  Each flood
# comes from a source address of its own (127.0.0.3-127.0.0.9: Linux routes
# all of 127/8 to the loopback), and a well-behaved client keeps working
# through every one of them.
use strict;
use warnings FATAL => 'all';
use Apache::Test;
use Apache::TestUtil;
use Apache::TestRequest ();
use FindBin;
use lib "$FindBin::Bin/lib";
use HTTP::Request::Common ();
use JSON::PP ();
use LWP::UserAgent ();
use Time::HiRes qw(time sleep);
use MCP::AS qw(pkce basic USER PASSWORD);
use MCP::ConfigTest qw(configtest);

plan tests => 42;

my $have_qos = Apache::Test::have_module('qos');
Apache::TestRequest::module('mcp_as_limited');
my $base = 'http://' . Apache::TestRequest::hostport();
Apache::TestRequest::module('default');
my %secret = map { ("limited-$_" => "limited-$_-secret-0123456789") } qw(a b c);
my $JSON = JSON::PP->new->utf8->canonical;

sub ua_from {
    my ($address) = @_;
    return LWP::UserAgent->new(max_redirect => 0, timeout => 30,
                               keep_alive => 0, local_address => $address);
}

sub decode { my $data = eval { $JSON->decode($_[0]->decoded_content // '') }; $data }

# client_credentials for one MCPClient, from one address
sub cc {
    my ($from, $client, $secret) = @_;
    my $request = HTTP::Request::Common::POST("$base/oauth/token",
        [grant_type => 'client_credentials']);
    $request->header(Authorization => basic($client, $secret // $secret{$client}));
    return ua_from($from)->request($request);
}

sub register {
    my ($from, $name) = @_;
    return ua_from($from)->post("$base/oauth/register",
        'Content-Type' => 'application/json',
        Content => $JSON->encode({ redirect_uris => ['http://127.0.0.1:9/cb'],
                                   token_endpoint_auth_method => 'none',
                                   client_name => $name }));
}

sub authorize {
    my ($from, $client_id, $password) = @_;
    my (undef, $challenge) = pkce();
    my $uri = URI->new("$base/oauth/authorize");
    $uri->query_form(client_id => $client_id, response_type => 'code',
                     code_challenge => $challenge,
                     code_challenge_method => 'S256', state => 's');
    my $request = HTTP::Request->new(GET => $uri);
    $request->authorization_basic(USER, $password // PASSWORD);
    return ua_from($from)->request($request);
}

# a named yes/no check (Apache::Test's ok(A, B) compares A with B)
sub check {
    my ($condition, $name) = @_;
    ok t_cmp($condition ? 'yes' : 'no', 'yes', $name);
}

# Six requests of one client in a row: five served and the sixth limited,
# unless the machine was so slow that the burst took over 4 s (then GCRA
# rightly lets one more through per 4 s).
sub burst_ok {
    my ($codes, $since, $name) = @_;
    my $elapsed = time - $since;
    if ($elapsed < 4) {
        ok t_cmp("@$codes", '200 200 200 200 200 429', $name);
    }
    else {
        my $served = grep { $_ == 200 } @$codes;
        check $served >= 5 && $served <= 5 + int($elapsed / 4), "$name (@$codes in "
            . sprintf('%.1f', $elapsed) . ' s)';
    }
}

sub retry_after_ok {
    my ($response, $max) = @_;
    my $value = $response->header('Retry-After') // '';
    return $value =~ /^[0-9]+$/ && $value >= 1 && $value <= $max;
}

# ------------------------------------------------------------ the directive
for my $bad ('0 10', '-1 10', 'ten 10', '5 0', '5 86401', '5 x', '5', '1000001 10') {
    my ($status, $output) = configtest(
        "MCPIssuer https://as.example\nMCPClientRateLimit $bad\n");
    check $status != 0 && $output =~ /MCPClientRateLimit: .*expected/,
       "MCPClientRateLimit $bad stops configtest with a message naming it";
}
my ($status, $output) = configtest("MCPIssuer https://as.example\nMCPClientRateLimit 100 60\n");
ok t_cmp($status, 0, 'MCPClientRateLimit 100 60 is accepted');
($status, $output) = configtest("MCPIssuer https://as.example\nMCPClientRateLimit off\n");
ok t_cmp($status, 0, 'MCPClientRateLimit off is accepted');

# ------------------------------------------------------------ per client_id
# limited-a floods the token endpoint: five at once, then one per 4 s.
my ($ok, $limited, $first) = (0, 0, undef);
my $start = time;
for (1 .. 12) {
    my $response = cc('127.0.0.3', 'limited-a');
    if ($response->code == 200) { $ok++ }
    elsif ($response->code == 429) { $limited++; $first //= $response }
}
my $elapsed = time - $start;
# GCRA lets 5 through at once, and one more per 4 s of flood
my $allowed = 5 + int($elapsed / 4);
check $ok >= 5 && $ok <= $allowed,
   "flooding client: $ok of 12 token requests served (5 + one per 4 s of the ${\ sprintf '%.1f', $elapsed} s flood allowed)";
ok t_cmp($limited, 12 - $ok, 'the rest answered 429');
check $first && retry_after_ok($first, 4), 'the 429 says when to come back (Retry-After 1-4 s): '
   . ($first ? $first->header('Retry-After') // 'none' : 'no 429');
my $error = $first ? decode($first) : undef;
check $error && $error->{error} eq 'temporarily_unavailable'
   && $error->{error_description} =~ /more than 5 requests in 20 s/,
   'the 429 is a JSON OAuth error saying which limit';
check $first && ($first->header('Cache-Control') // '') eq 'no-store', '429 from the token endpoint: no-store';

# the other client from the same address is not affected
my @b = map { cc('127.0.0.3', 'limited-b')->code } 1 .. 3;
ok t_cmp("@b", '200 200 200', 'another client_id from the same address keeps working');

# limited-a is served again once it waited what it was told
if ($first) {
    my $wait = cc('127.0.0.3', 'limited-a');
    if ($wait->code == 429) {
        sleep(($wait->header('Retry-After') // 4) + 0.2);
        $wait = cc('127.0.0.3', 'limited-a');
    }
    ok t_cmp($wait->code, 200, 'after Retry-After the flooding client is served again');
}
else {
    check 0, 'no 429 to wait for';
}

# Failed client authentication does not spend a client's budget (anyone
# knowing a client_id could lock it out); it is limited per address.
$start = time;
my @wrong = map { cc('127.0.0.8', 'limited-c', 'not-the-secret-0000000')->code } 1 .. 3;
ok t_cmp("@wrong", '401 401 401', 'three wrong secrets for limited-c: 401');
burst_ok([map { cc('127.0.0.3', 'limited-c')->code } 1 .. 6], $start,
         'limited-c still has its whole budget: five served, the sixth limited');

# The authorization endpoint counts too, once the client is verified:
# an HTML page, not a redirect to the client.
my $reg = register('127.0.0.4', 'rate-limited public client');
ok t_cmp($reg->code, 201, 'a public client registers');
my $public = decode($reg) || {};
$start = time;
burst_ok([map { authorize('127.0.0.3', $public->{client_id})->code } 1 .. 6], $start,
         'authorization requests per client_id: five consent pages, then 429');
my $page = authorize('127.0.0.3', $public->{client_id});
ok t_cmp($page->code, 429, 'still limited');
check retry_after_ok($page, 4), 'the page has Retry-After';
check !defined $page->header('Location'), '429 at authorize: no redirect to the client';
ok t_cmp($page->header('Content-Type'), qr{^text/html}, 'an HTML page for the user');
ok t_cmp($page->decoded_content, qr/too many requests/i, 'saying what happened');

# The main server (no MCPClientRateLimit) is not limited.
my @main = map {
    my $request = HTTP::Request::Common::POST(MCP::AS::base() . '/oauth/token',
        [grant_type => 'client_credentials']);
    $request->header(Authorization => basic(MCP::AS::agent()));
    ua_from('127.0.0.1')->request($request)->code;
} 1 .. 8;
ok t_cmp("@main", join(' ', (200) x 8), 'a server without MCPClientRateLimit: never 429');

# ------------------------------------------------------------ per address (mod_qos)
check $have_qos, 'mod_qos is loaded (Debian package libapache2-mod-qos; scripts/test installs it)';

# registration flood from 127.0.0.5; 127.0.0.4 keeps registering
my @flood = map { register('127.0.0.5', "flood $_")->code } 1 .. 8;
my $served = grep { $_ == 201 } @flood;
check $have_qos && $served >= 3 && $served <= 5 && $flood[-1] == 429,
   "registration flood from one address: $served of 8 registered, then 429 (@flood)";
my $qos429 = register('127.0.0.5', 'flood again');
ok t_cmp($qos429->code, 429, 'the address stays limited');
check retry_after_ok($qos429, 20), 'with Retry-After ('
   . ($qos429->header('Retry-After') // 'none') . ')';
ok t_cmp(register('127.0.0.4', 'well-behaved')->code, 201,
         'a well-behaved client at another address registers meanwhile');

# failed-login flood from 127.0.0.6; a user at 127.0.0.4 logs in meanwhile
my $reg2 = decode(register('127.0.0.9', 'login target')) || {};
my @logins = map { authorize('127.0.0.6', $reg2->{client_id}, 'wrong-password')->code } 1 .. 8;
my $refused = grep { $_ == 401 } @logins;
check $have_qos && $refused >= 3 && $refused <= 5 && $logins[-1] == 429,
   "wrong-password flood: $refused answered 401, then 429 (@logins)";
ok t_cmp(authorize('127.0.0.6', $reg2->{client_id})->code, 429,
         'from that address even the right password waits now');
ok t_cmp(authorize('127.0.0.4', $reg2->{client_id})->code, 200,
         'a user at another address logs in and sees the consent page');

# token endpoint flood of garbage from 127.0.0.7; 127.0.0.4 gets tokens
my @garbage = map {
    ua_from('127.0.0.7')->post("$base/oauth/token", [grant_type => 'nonsense'])->code
} 1 .. 45;
my $answered = grep { $_ == 400 } @garbage;
check $have_qos && $answered >= 38 && $answered <= 40 && $garbage[-1] == 429,
   "token endpoint flood from one address: $answered answered 400, then 429";
my $garbage429 = ua_from('127.0.0.7')->post("$base/oauth/token", [grant_type => 'x']);
ok t_cmp($garbage429->code, 429, 'the flooding address is limited');
check retry_after_ok($garbage429, 20), 'with Retry-After';
ok t_cmp(cc('127.0.0.4', 'limited-b')->code, 200,
         'a well-behaved client at another address gets its token');

# the limited addresses never reached the main server's clients either way
ok t_cmp(cc('127.0.0.4', 'limited-b')->code, 200, 'and again');

# ------------------------------------------------------------ logs
my $log = do {
    local $/;
    open my $fh, '<', Apache::Test::vars('t_logs') . '/error_log' or die $!;
    <$fh>;
};
ok t_cmp($log, qr/AH30101: client limited-a: over MCPClientRateLimit \(5 per 20 s\)/,
         'each refusal is logged with the client');
check $log !~ /limited-[abc]-secret/, 'no secret in the log';
