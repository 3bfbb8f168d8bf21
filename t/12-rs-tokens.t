# JWT validation (RFC 9068, RFC 8725): good tokens of every allowed
# algorithm pass; every hostile or unacceptable token is a 401 with
# error="invalid_token" and a description saying why.
use strict;
use warnings FATAL => 'all';
use Apache::Test;
use Apache::TestUtil;
use Apache::TestRequest qw(GET);
use Crypt::JWT qw(encode_jwt);
use Crypt::PK::RSA;
use FindBin;
use lib "$FindBin::Bin/lib";
use MCP::RS qw(check resource mint mint_raw sign_raw b64url challenge json_of bearer key_dir);

my $now = time;
my $aud = resource('/rs');
my $rsa_public_pem = Crypt::PK::RSA->new(key_dir() . '/test-rsa.pem')->export_key_pem('public');
my $good = mint();
my ($good_header, $good_claims, $good_sig) = split /\./, $good;
my $claims_json = qq({"iss":"https://as.test","aud":"$aud","sub":"alice","exp":@{[$now + 300]}});

my @refused = (
    [ 'alg none', mint_raw('{"alg":"none","typ":"at+jwt"}', $claims_json, ''), qr/alg none/ ],
    [ 'alg None', mint_raw('{"alg":"None","typ":"at+jwt"}', $claims_json, ''), qr/alg none/ ],
    [ 'HS256 keyed with the RSA public key',
      encode_jwt(payload => { iss => 'https://as.test', aud => $aud, sub => 'alice', exp => $now + 300 },
                 alg => 'HS256', key => $rsa_public_pem, extra_headers => { typ => 'at+jwt', kid => 'rsa-1' }),
      qr/algorithm HS256 is not accepted/ ],
    [ 'unknown kid', mint(header => { kid => 'nobody-knows' }, key => 'rsa-1'), qr/no RS256 key with kid 'nobody-knows'/ ],
    [ 'expired', mint(claims => { exp => $now - 3600 }), qr/expired/ ],
    [ 'nbf in the future', mint(claims => { nbf => $now + 3600 }), qr/not valid yet/ ],
    [ 'iat in the future', mint(claims => { iat => $now + 3600 }), qr/issued in the future/ ],
    [ 'wrong iss', mint(claims => { iss => 'https://evil.test' }), qr/issuer 'https:\/\/evil.test' is not trusted/ ],
    [ 'no iss', mint(claims => { iss => undef }), qr/no iss/ ],
    [ 'wrong aud', mint(claims => { aud => 'https://elsewhere.test/rs' }), qr/audience does not include/ ],
    [ 'aud array without this resource', mint(claims => { aud => [ 'https://a.test', 'https://b.test' ] }),
      qr/audience does not include/ ],
    [ 'aud a prefix of the resource', mint(claims => { aud => resource('/r') }), qr/audience/ ],
    [ 'aud a sub-path of the resource', mint(claims => { aud => resource('/rs/echo') }), qr/audience/ ],
    [ 'no aud', mint(claims => { aud => undef }), qr/no aud/ ],
    [ 'missing exp', mint(claims => { exp => undef }), qr/no exp/ ],
    [ 'missing sub (RFC 9068 profile)', mint(claims => { sub => undef }), qr/no sub claim/ ],
    [ 'typ JWT where at+jwt is required', mint(header => { typ => 'JWT' }), qr/typ is not at\+jwt/ ],
    [ 'no typ', mint(header => { typ => undef }), qr/typ is not at\+jwt/ ],
    [ 'jku in the header', mint(header => { jku => 'https://evil.test/jwks' }), qr/has jku/ ],
    [ 'jwk in the header', mint(header => { jwk => { kty => 'RSA', n => 'AQAB', e => 'AQAB' } }), qr/has jwk/ ],
    [ 'x5u in the header', mint(header => { x5u => 'https://evil.test/cert' }), qr/has x5u/ ],
    [ 'x5c in the header', mint(header => { x5c => ['MIIB'] }), qr/has x5c/ ],
    [ 'crit in the header', mint(header => { crit => ['exp'] }), qr/has crit/ ],
    [ 'broken base64url (standard alphabet)', "$good_header+.$good_claims.$good_sig", qr/header is not base64url/ ],
    [ 'broken base64url (padding)', "$good_header.$good_claims=.$good_sig",
      qr/characters a Bearer token cannot have/ ],
    [ 'broken base64url (non-zero trailing bits)',
      "$good_header.$good_claims." . substr($good_sig, 0, -1) . (substr($good_sig, -1) eq 'B' ? 'C' : 'B'),
      qr/signature|verify/ ],
    [ 'trailing garbage segment', "$good.AAAA", qr/not a JWT/ ],
    [ 'trailing garbage on the signature', "${good}AAAA", qr/signature/ ],
    [ 'two segments', "$good_header.$good_claims", qr/not a JWT/ ],
    [ 'empty signature', "$good_header.$good_claims.", qr/signature is missing/ ],
    [ 'a 20 KiB token', mint(claims => { pad => 'x' x 20480 }), qr/longer than 16384 bytes/ ],
    [ 'signed by another key', mint(key => 'rot-b'), qr/signature does not verify/ ],
    [ 'claims tampered after signing',
      "$good_header." . b64url(qq({"iss":"https://as.test","aud":"$aud","sub":"root","exp":@{[$now + 300]}})) . ".$good_sig",
      qr/signature does not verify/ ],
    [ 'RS256 claimed for an EC key', mint(header => { kid => 'ec-1' }), qr/no RS256 key with kid 'ec-1'/ ],
    [ 'ES256 claimed for a P-384 key', mint(alg => 'ES256', kid => 'ec384-1', key => 'ec-1'),
      qr/no ES256 key with kid 'ec384-1'/ ],
    [ 'algorithm outside the allowlist (RS512)', mint(alg => 'RS512'), qr/algorithm RS512 is not accepted/ ],
    [ 'duplicate claim (two aud members)',
      sign_raw('{"alg":"RS256","typ":"at+jwt","kid":"rsa-1"}',
               qq({"iss":"https://as.test","aud":"https://evil.test","aud":"$aud","sub":"alice","exp":@{[$now + 300]}})),
      qr/duplicate/ ],
    [ 'duplicate header member (two alg)',
      sign_raw('{"alg":"none","alg":"RS256","typ":"at+jwt","kid":"rsa-1"}', $claims_json), qr/duplicate/ ],
    [ 'header not an object', mint_raw('["RS256"]', $claims_json, 'x'), qr/header is not a JSON object/ ],
    [ 'claims not JSON', sign_raw('{"alg":"RS256","typ":"at+jwt","kid":"rsa-1"}', 'not json'),
      qr/claims is not a JSON object/ ],
    [ 'exp as a string', mint(claims => { exp => "" . ($now + 300) }), qr/exp claim is not a NumericDate/ ],
    [ 'sub as a number', mint(claims => { sub => 42 }), qr/sub claim is not a string/ ],
    [ 'aud as a number', mint(claims => { aud => 42 }), qr/aud claim is not a string/ ],
    [ 'aud array with a number', mint(claims => { aud => [ $aud, 42 ] }), qr/aud claim is not a string/ ],
    [ 'scope as an array', mint(claims => { scope => [ 'mcp:echo' ] }), qr/scope claim is not a string/ ],
    [ 'scp with a number', mint(claims => { scope => undef, scp => [ 'a', 1 ] }), qr/scp claim/ ],
    [ 'kid as a number', mint(header => { kid => 7 }, key => 'rsa-1'), qr/kid is not a string/ ],
    [ 'typ as a number', mint(header => { typ => 1 }), qr/typ is not a string/ ],
);

my @passes = (
    [ 'RS256', mint(), '/rs/echo' ],
    [ 'PS256', mint(alg => 'PS256'), '/rs/echo' ],
    [ 'ES256', mint(alg => 'ES256'), '/rs/echo' ],
    [ 'ES384', mint(alg => 'ES384'), '/rs/echo' ],
    [ 'second trusted issuer', mint(claims => { iss => 'https://other-as.test' }), '/rs/echo' ],
    [ 'typ application/at+jwt', mint(header => { typ => 'application/at+jwt' }), '/rs/echo' ],
    [ 'typ AT+JWT (case-insensitive)', mint(header => { typ => 'AT+JWT' }), '/rs/echo' ],
    [ 'aud array with this resource', mint(claims => { aud => [ 'https://a.test', $aud ] }), '/rs/echo' ],
    [ 'aud differing only in case and trailing slash',
      mint(claims => { aud => do { my $a = uc(resource('')) . '/rs/'; $a =~ s/^HTTP/http/; $a } }), '/rs/echo' ],
    [ 'expired 30 s ago, inside the 60 s skew', mint(claims => { exp => $now - 30 }), '/rs/echo' ],
    [ 'no kid: any fitting key', mint(header => { kid => undef }, key => 'rsa-1'), '/rs/echo' ],
    [ 'typ JWT where MCPRequireTyp Off', mint(header => { typ => 'JWT' }), '/rs/typ-relaxed' ],
    [ 'no typ where MCPRequireTyp Off', mint(header => { typ => undef }), '/rs/typ-relaxed' ],
    [ 'no sub where MCPRequireTyp Off', mint(claims => { sub => undef }), '/rs/typ-relaxed' ],
    [ 'ES256 where only ES256 is allowed', mint(alg => 'ES256'), '/rs/es256-only' ],
);

plan tests => 3 * @refused + 2 * @passes + 17;

for my $case (@refused) {
    my ($name, $token, $why) = @$case;
    my $r = GET '/rs/echo?text=hi', Authorization => "Bearer $token";
    my $c = challenge($r) || {};
    ok t_cmp($r->code, 401, "$name: 401");
    ok t_cmp($c->{error}, 'invalid_token', "$name: invalid_token");
    ok t_cmp($c->{error_description}, $why, "$name: says why");
}
for my $case (@passes) {
    my ($name, $token, $path) = @$case;
    my $r = GET "$path?text=hi", Authorization => "Bearer $token";
    ok t_cmp($r->code, 200, "$name: accepted");
    ok t_cmp(json_of($r) && json_of($r)->{echo}, 'hi', "$name: the tool answered");
}

# location-specific refusals
my $r = GET '/rs/es256-only?text=hi', bearer(mint());
ok t_cmp(challenge($r)->{error_description}, qr/algorithm RS256 is not accepted/, 'MCPAlgorithms ES256 refuses RS256');
$r = GET '/rs/skew0?text=hi', bearer(mint(claims => { exp => $now - 5 }));
ok t_cmp($r->code, 401, 'MCPClockSkew 0: just expired is expired');
$r = GET '/rs/other-resource?text=hi', bearer(mint());
ok t_cmp(challenge($r)->{error_description}, qr{audience does not include https://elsewhere.test/tool},
         'a nested MCPResource is the audience there');
$r = GET '/rs/other-resource?text=hi', bearer(mint(claims => { aud => 'https://elsewhere.test/tool' }));
ok t_cmp($r->code, 200, 'and a token for it passes');

# only the Authorization header carries tokens
$r = GET '/rs/echo?text=hi&access_token=' . mint();
ok t_cmp($r->code, 401, 'token in the query string only: 401');
ok t_cmp(challenge($r)->{error}, 'invalid_token', 'query string: invalid_token');
ok t_cmp(challenge($r)->{error_description}, qr/only in the Authorization header/, 'query string: says why');

# the scheme is case-insensitive (RFC 9110 §11.1); the token68 syntax is strict
$r = GET '/rs/echo?text=hi', Authorization => 'bearer ' . mint();
ok t_cmp($r->code, 200, 'scheme "bearer"');
$r = GET '/rs/echo?text=hi', Authorization => 'BEARER ' . mint();
ok t_cmp($r->code, 200, 'scheme "BEARER"');
$r = GET '/rs/echo?text=hi', Authorization => 'Bearer ' . mint() . ' extra';
ok t_cmp(challenge($r)->{error_description}, qr/characters a Bearer token cannot have/, 'a space in the token');
$r = GET '/rs/echo?text=hi', Authorization => "Bearer a\x01b";
ok t_cmp($r->code, qr/^4\d\d$/, 'control characters: a 4xx');

# what the tool sees
my $data = json_of(GET '/rs/echo?text=hello', bearer(mint(claims => { sub => 'carol', client_id => 'app-7',
                                                                       scope => 'mcp:echo mcp:read' })));
ok t_cmp($data->{sub}, 'carol', 'sub');
ok t_cmp($data->{client_id}, 'app-7', 'client_id');
ok t_cmp($data->{scope}, 'mcp:echo mcp:read', 'scope');
$data = json_of(GET '/rs/echo?text=hello', bearer(mint(claims => { scope => undef, scp => [ 'a:b', 'c:d' ] })));
ok t_cmp($data->{scope}, 'a:b c:d', 'scp array as a scope string');

# never a 500, and the error log never holds a token
open my $log, '<', Apache::Test::vars('t_logs') . '/error_log' or die $!;
my $text = do { local $/; <$log> };
check index($text, $good_sig) < 0, 'no token in the error log';
open my $access, '<', Apache::Test::vars('t_logs') . '/access_log' or die $!;
my @errors = grep { m{"[A-Z]+ /rs[/?]\S* HTTP/1\.1" 5\d\d } } <$access>;
ok t_cmp(scalar(@errors), 0, 'no hostile token caused a 5xx');
