# Refusals remembered (mcp_rs_cache.c): a token whose signature does not
# verify is refused again without a verification while the key set offers
# the very same key for it; once the set offers another key under that
# kid, the token is verified afresh, so that a refusal can never outlive
# the key it was made with.
#
# /rsjwks refreshes its keys after 3 s (t/conf/rs.conf.in) from a file the
# test rewrites (as t/15-rs-jwks-http.t does).
use strict;
use warnings FATAL => 'all';
use Apache::Test;
use Apache::TestUtil;
use Apache::TestRequest qw(GET);
use Time::HiRes qw(sleep);
use Digest::SHA qw(sha256);
use MIME::Base64 qw(encode_base64url);
use JSON::PP;
use FindBin;
use lib "$FindBin::Bin/lib";
use MCP::RS qw(check mint challenge bearer key_dir serve_jwks);

plan tests => 9;

my $rotating = Apache::Test::vars('documentroot') . '/rs/jwks/rotating.jwks.json';
my $error_log = Apache::Test::vars('t_logs') . '/error_log';
sub log_text { open my $fh, '<', $error_log or return ''; local $/; <$fh> }
sub hash_of { substr(encode_base64url(sha256($_[0])), 0, 12) }
sub slurp { open my $fh, '<', $_[0] or die "$_[0]: $!"; local $/; <$fh> }
sub again {
    my ($token) = @_;
    my $hash = hash_of($token);
    return scalar(() = log_text() =~ /AH20025: mod_mcp_rs: token \Q$hash\E refused again/g);
}

# kid rot-a is key A; a token naming rot-a but signed with key B is forged
serve_jwks(slurp(key_dir() . '/test-rotate-a.jwks.json'));
sleep 3.2;
my $forged = mint(path => '/rsjwks', kid => 'rot-a', key => 'rot-b');
# one connection: one process, so at most one verification however many
# children the server runs
Apache::TestRequest::user_agent(keep_alive => 1, reset => 1);
my @codes = map { GET('/rsjwks?text=hi', bearer($forged))->code } 1 .. 6;
ok t_cmp(join(' ', @codes), '401 401 401 401 401 401', 'a forged token is refused every time');
my $r = GET '/rsjwks?text=hi', bearer($forged);
ok t_cmp(challenge($r)->{error_description}, qr/signature does not verify/,
         'a remembered refusal says the same');
my $hits = again($forged);
check $hits >= 5, "the replays are refused without a verification ($hits of 7)";

# a valid token is never refused by another token's refusal
$r = GET '/rsjwks?text=hi', bearer(mint(path => '/rsjwks', kid => 'rot-a'));
ok t_cmp($r->code, 200, 'a valid token with the same kid: 200');

# a refusal is no verdict on other bytes: each forgery is verified
my $other = mint(path => '/rsjwks', kid => 'rot-a', key => 'rot-b');
$r = GET '/rsjwks?text=hi', bearer($other);
ok t_cmp($r->code, 401, 'another forged token: 401');
ok t_cmp(again($other), 0, 'a token never seen is verified');

# the key set changes: kid rot-a now names key B, and the token that
# failed with key A is verified afresh (and is valid now)
my $set = decode_json(slurp(key_dir() . '/test-rotate-b.jwks.json'));
$_->{kid} = 'rot-a' for @{ $set->{keys} };
serve_jwks(encode_json($set));
sleep 3.2;
GET '/rsjwks?text=hi', bearer(mint(path => '/rsjwks', kid => 'rot-a', key => 'rot-b'));
@codes = map { GET('/rsjwks?text=hi', bearer($forged))->code } 1 .. 3;
ok t_cmp(join(' ', @codes), '200 200 200', 'after the key set changed, the same token is verified again: 200');
my $before = $hits;
ok t_cmp(again($forged), $before + 0, 'no refusal was replayed after the change');
Apache::TestRequest::user_agent(keep_alive => 0, reset => 1);

# leave the rotating set as the suites before left it, and old enough
# that every process refreshes it on its next request
serve_jwks(slurp(key_dir() . '/test-rotate-a.jwks.json'));
sleep 3.2;
check -s $rotating, "key set restored";
