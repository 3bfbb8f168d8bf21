#!/usr/bin/perl
# Writes fuzz/corpus/token/: tokens signed with the test keys in t/keys for
# the fixed issuer, audience and time of fuzz/fuzz_token.c, valid ones and
# hostile ones.  Run once from the top of the tree; the output is checked in.
use strict;
use warnings;
use Crypt::JWT qw(encode_jwt);
use Crypt::PK::RSA;
use Crypt::PK::ECC;
use MIME::Base64 qw(encode_base64url);

my $dir = 'fuzz/corpus/token';
my $now = 1800000000;
my %key = (
    'rsa-1'   => Crypt::PK::RSA->new('t/keys/test-rsa.pem'),
    'ec-1'    => Crypt::PK::ECC->new('t/keys/test-ec.pem'),
    'ec384-1' => Crypt::PK::ECC->new('t/keys/test-ec384.pem'),
);
my %claims = (iss => 'https://as.test', aud => 'https://rs.test/mcp',
              sub => 'alice', client_id => 'c1', scope => 'mcp:echo',
              iat => $now - 10, exp => $now + 300, jti => 'j1');

sub seed { my ($name, $text) = @_; open my $f, '>', "$dir/$name" or die; print $f $text; close $f }
sub mint {
    my (%o) = @_;
    my %c = (%claims, %{ $o{claims} || {} });
    delete $c{$_} for grep { !defined $c{$_} } keys %c;
    my $kid = $o{kid} // 'rsa-1';
    return encode_jwt(payload => \%c, alg => $o{alg} // 'RS256', key => $key{$o{key} // $kid},
                      extra_headers => { typ => 'at+jwt', kid => $kid, %{ $o{header} || {} } });
}
sub raw { join '.', map { encode_base64url($_) } @_ }

seed('valid-rs256', mint());
seed('valid-ps256', mint(alg => 'PS256'));
seed('valid-es256', mint(alg => 'ES256', kid => 'ec-1'));
seed('valid-es384', mint(alg => 'ES384', kid => 'ec384-1'));
seed('valid-aud-array-scp', mint(claims => { aud => ['x', 'https://rs.test/mcp'], scope => undef, scp => ['a', 'b'] }));
seed('expired', mint(claims => { exp => $now - 120 }));
seed('nbf-future', mint(claims => { nbf => $now + 600 }));
seed('wrong-aud', mint(claims => { aud => 'https://evil.test/mcp' }));
seed('wrong-iss', mint(claims => { iss => 'https://evil.test' }));
seed('no-exp', mint(claims => { exp => undef }));
seed('exp-string', mint(claims => { exp => "1800000300" }));
seed('kid-unknown', mint(header => { kid => 'nope' }, kid => 'rsa-1'));
seed('alg-key-mismatch', mint(alg => 'ES256', kid => 'ec-1', header => { kid => 'rsa-1' }));
seed('jwk-header', mint(header => { jwk => { kty => 'oct', k => 'AAAA' } }));
seed('jku-header', mint(header => { jku => 'https://evil.test/jwks' }));
seed('crit-header', mint(header => { crit => ['exp'] }));
seed('typ-jwt', mint(header => { typ => 'JWT' }));
seed('alg-none', raw('{"alg":"none","typ":"at+jwt"}', '{"iss":"https://as.test","aud":"https://rs.test/mcp","exp":1800000300}', ''));
seed('alg-hs256', raw('{"alg":"HS256","typ":"at+jwt","kid":"rsa-1"}', '{"iss":"https://as.test","aud":"https://rs.test/mcp","exp":1800000300}', 'x'));
seed('dup-header', raw('{"alg":"RS256","alg":"none","typ":"at+jwt"}', '{}', 'x'));
seed('dup-claims', raw('{"alg":"RS256","typ":"at+jwt"}', '{"aud":"a","aud":"https://rs.test/mcp"}', 'x'));
seed('four-segments', mint() . '.x');
seed('two-segments', 'eyJhbGciOiJSUzI1NiJ9.e30');
seed('padding', mint() . '==');
seed('not-json', raw('alg', 'claims', 'sig'));
seed('header-array', raw('[1,2]', '{}', 'x'));
seed('nested-deep', raw('{"alg":"RS256","typ":"at+jwt","x":' . ('[' x 2000) . (']' x 2000) . '}', '{}', 'x'));
seed('raw-mode-valid-claims', qq({"alg":"RS256","typ":"at+jwt","kid":"rsa-1"}\0{"iss":"https://as.test","aud":["https://rs.test/mcp"],"exp":1800000300,"scp":["a"]}));
seed('raw-mode-huge-numbers', qq({"alg":"ES256","typ":"at+jwt"}\0{"iss":"https://as.test","aud":"https://rs.test/mcp","exp":1e308,"nbf":-1,"iat":1e400}));
