# The verified-token cache: a token is verified once per process and
# remembered until it expires; a hit re-checks what depends on the
# location (iss, aud, typ, alg) and exp; concurrent use is safe.
use strict;
use warnings FATAL => 'all';
use Apache::Test;
use Apache::TestUtil;
use Apache::TestRequest qw(GET);
use Time::HiRes qw(sleep);
use Digest::SHA qw(sha256);
use MIME::Base64 qw(encode_base64url);
use FindBin;
use lib "$FindBin::Bin/lib";
use MCP::RS qw(check resource mint challenge bearer json_of);

plan tests => 14;

my $error_log = Apache::Test::vars('t_logs') . '/error_log';
sub log_text { open my $fh, '<', $error_log or return ''; local $/; <$fh> }
sub hash_of { substr(encode_base64url(sha256($_[0])), 0, 12) }

# the same token, several times over one connection (so one process, and
# at most one miss however many children the server runs): verified, then
# found in the cache
my $token = mint();
my $hits = 0;
Apache::TestRequest::user_agent(keep_alive => 1, reset => 1);
for (1 .. 8) {
    my $r = GET '/rs/echo?text=hi', bearer($token);
    die "unexpected " . $r->code unless $r->code == 200;
}
Apache::TestRequest::user_agent(keep_alive => 0, reset => 1);
my $hash = hash_of($token);
$hits = () = log_text() =~ /AH20024: mod_mcp_rs: token \Q$hash\E found in the token cache/g;
check $hits >= 7, "a reused token is served from the cache ($hits of 8 requests)";
check index(log_text(), $token) < 0, 'the cache key in the log is a hash, not the token';

# a hit re-checks the audience: cached at /rs, refused at another resource
my $r = GET '/rs/other-resource?text=hi', bearer($token);
ok t_cmp($r->code, 401, 'cached token, other MCPResource: 401');
ok t_cmp(challenge($r)->{error_description}, qr/audience/, 'audience re-checked on a hit');

# ... and typ: accepted where typ is relaxed, refused where it is required
my $jwt_typ = mint(header => { typ => 'JWT' });
$r = GET '/rs/typ-relaxed?text=hi', bearer($jwt_typ);
ok t_cmp($r->code, 200, 'typ JWT accepted where relaxed (and cached)');
$r = GET '/rs/echo?text=hi', bearer($jwt_typ);
ok t_cmp($r->code, 401, 'the same token where at+jwt is required: 401');
ok t_cmp(challenge($r)->{error_description}, qr/typ/, 'typ re-checked on a hit');

# ... and alg: an RS256 token cached at /rs is refused where only ES256 is
$r = GET '/rs/es256-only?text=hi', bearer($token);
ok t_cmp(challenge($r)->{error_description}, qr/algorithm RS256/, 'alg re-checked on a hit');

# ... and exp: a token cached while valid is refused once it expires
my $short = mint(claims => { exp => time + 2 });
$r = GET '/rs/skew0?text=hi', bearer($short);
ok t_cmp($r->code, 200, 'short-lived token: 200 while valid');
sleep 2.5;
$r = GET '/rs/skew0?text=hi', bearer($short);
ok t_cmp($r->code, 401, 'the same token after exp: 401');
ok t_cmp(challenge($r)->{error_description}, qr/expired/, 'expired');

# many threads, many tokens, at once (sanitizers watch for races)
my @tokens = map { mint(claims => { sub => "user$_" }) } 1 .. 10;
my @pids;
for my $child (1 .. 6) {
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        my $bad = 0;
        for my $i (1 .. 40) {
            my $n = ($i + $child) % 10;
            my $res = GET '/rs/echo?text=x', bearer($tokens[$n]);
            my $data = json_of($res);
            $bad++ unless $res->code == 200 && $data && $data->{sub} eq 'user' . ($n + 1);
        }
        exit($bad ? 1 : 0);
    }
    push @pids, $pid;
}
my $failures = 0;
for my $pid (@pids) { waitpid $pid, 0; $failures++ if $? }
ok t_cmp($failures, 0, '240 concurrent requests with 10 tokens: every answer right');

# the cache never confuses two tokens: a token differing in one claim
$r = GET '/rs/echo?text=hi', bearer(mint(claims => { sub => 'user1', aud => 'https://elsewhere.test' }));
ok t_cmp($r->code, 401, 'a different token with the same sub is verified on its own');
$r = GET '/rs/echo?text=hi', bearer(substr($tokens[0], 0, -2) . 'AA');
ok t_cmp($r->code, 401, 'a cached token with a changed signature is not a hit');
