# refresh_token: rotation on every use, reuse revokes the whole family,
# bound to its client, scope may narrow but not widen.
use strict;
use warnings FATAL => 'all';
use Apache::Test;
use Apache::TestUtil;
use FindBin;
use lib "$FindBin::Bin/lib";
use MCP::AS qw(resource register_client refresh full_flow decode_jwt sqlite token_request);

use Digest::SHA qw(sha256);
use MIME::Base64 qw(encode_base64url);

plan tests => 27;

my $flow = full_flow(authorize => { scope => 'mcp:echo mcp:read' });
my $id = $flow->{client_id};
my $first = $flow->{tokens}{refresh_token};
ok t_cmp($flow->{tokens}{scope}, 'mcp:echo mcp:read', 'initial scope');

my ($response, $tokens) = refresh($id, $first);
ok t_cmp($response->code, 200, 'refresh: 200');
ok t_cmp($response->header('Cache-Control'), 'no-store', 'no-store');
my $second = $tokens->{refresh_token};
ok $second && $second ne $first;
my (undef, $claims) = decode_jwt($tokens->{access_token});
ok t_cmp("$claims->{sub} $claims->{aud} $claims->{scope}", 'alice ' . resource() . ' mcp:echo mcp:read',
         'the new access token keeps sub, aud, scope');

# narrowing is allowed, widening is not
($response, $tokens) = refresh($id, $second, scope => 'mcp:echo');
ok t_cmp($response->code, 200, 'narrowed refresh: 200');
ok t_cmp($tokens->{scope}, 'mcp:echo', 'narrowed scope');
my $third = $tokens->{refresh_token};
($response, $tokens) = refresh($id, $third, scope => 'mcp:echo mcp:admin');
ok t_cmp($tokens->{error}, 'invalid_scope', 'widening: invalid_scope');
# the failed attempt did not consume the token; the family keeps its full scope
($response, $tokens) = refresh($id, $third);
ok t_cmp($tokens->{scope}, 'mcp:echo mcp:read', 'a later refresh gets the original scope back');
my $fourth = $tokens->{refresh_token};
($response, $tokens) = refresh($id, $fourth, resource => 'https://other.example/mcp');
ok t_cmp($tokens->{error}, 'invalid_target', 'another resource: invalid_target');

# bound to its client
my (undef, $other) = register_client();
($response, $tokens) = refresh($other->{client_id}, $fourth);
ok t_cmp($tokens->{error}, 'invalid_grant', "another client's refresh token: invalid_grant");
($response, $tokens) = refresh($id, $fourth);
ok t_cmp($response->code, 200, 'the theft attempt did not revoke it');
my $fifth = $tokens->{refresh_token};

# reuse of an old token revokes the family, including the newest token
($response, $tokens) = refresh($id, $second);
ok t_cmp($tokens->{error}, 'invalid_grant', 'reuse: invalid_grant');
ok t_cmp($tokens->{error_description}, qr/already used.*revoked/, 'says the family is revoked');
($response, $tokens) = refresh($id, $fifth);
ok t_cmp($tokens->{error}, 'invalid_grant', 'the newest token of the family is revoked too');
ok t_cmp($tokens->{error_description}, qr/revoked/, 'says revoked');

# bad requests
($response, $tokens) = refresh($id, undef);
ok t_cmp($tokens->{error}, 'invalid_request', 'no refresh_token: invalid_request');
($response, $tokens) = refresh($id, 'B' x 43);
ok t_cmp($tokens->{error}, 'invalid_grant', 'unknown refresh token');
($response, $tokens) = refresh($id, 'x' x 1000);
ok t_cmp($tokens->{error}, 'invalid_grant', 'an absurdly long refresh token');

# a client registered without the refresh_token grant may not refresh
my (undef, $plain) = register_client(grant_types => ['authorization_code']);
($response, $tokens) = refresh($plain->{client_id}, $first);
ok t_cmp($tokens->{error}, 'unauthorized_client', 'no refresh_token grant: unauthorized_client');

# the store keeps only hashes of refresh tokens
my $flow2 = full_flow(authorize => { scope => 'mcp:echo' });
my $plain_hits = sqlite("SELECT COUNT(*) FROM refresh_tokens WHERE token_hash = '$flow2->{tokens}{refresh_token}'");
if (defined $plain_hits) {
    ok t_cmp($plain_hits + 0, 0, 'the refresh token itself is not stored');
    my $hash = encode_base64url(sha256($flow2->{tokens}{refresh_token}));
    ok t_cmp(sqlite("SELECT COUNT(*) FROM refresh_tokens WHERE token_hash = '$hash'") + 0, 1,
             'its SHA-256 is');
}
else {
    skip 'not the SQLite store', 1 for 1 .. 2;
}
($response, $tokens) = refresh($flow2->{client_id}, $flow2->{tokens}{refresh_token});
ok t_cmp($response->code, 200, 'a second family is independent of the revoked one');
($response, $tokens) = token_request(grant_type => 'refresh_token', refresh_token => $tokens->{refresh_token});
ok t_cmp($tokens->{error}, 'invalid_client', 'refresh without client_id: invalid_client');

# an expired refresh token (its expiry moved into the past in the store):
# invalid_grant, and nothing issued
my $flow3 = full_flow(authorize => { scope => 'mcp:echo' });
my $stale = $flow3->{tokens}{refresh_token} // '';
if (defined sqlite('SELECT 1')) {
    my $hash = encode_base64url(sha256($stale));
    sqlite("UPDATE refresh_tokens SET expires = 1 WHERE token_hash = '$hash'");
    ($response, $tokens) = refresh($flow3->{client_id}, $stale);
    ok t_cmp($response->code . ' ' . ($tokens->{error} // ''), '400 invalid_grant',
             'an expired refresh token: 400 invalid_grant');
    ok t_cmp($tokens->{error_description} // '', 'the refresh token expired', '... saying so');
    ok !exists $tokens->{access_token};
}
else {
    skip 'not the SQLite store', 1 for 1 .. 3;
}
