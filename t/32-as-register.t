# RFC 7591 dynamic client registration: what is accepted, and every way a
# request can be refused.
use strict;
use warnings FATAL => 'all';
use Apache::Test;
use Apache::TestUtil;
use FindBin;
use lib "$FindBin::Bin/lib";
use JSON::PP ();
use MCP::AS qw(base ua json register_client sqlite);

my @bad_redirects = (
    [ 'javascript:alert(1)',               qr/forbidden scheme/ ],
    [ 'data:text/html,hi',                 qr/forbidden scheme/ ],
    [ 'https://client.example/cb#frag',    qr/fragment/ ],
    [ 'https://user:pw@client.example/cb', qr/userinfo/ ],
    [ 'https://user@client.example/cb',    qr/userinfo/ ],
    [ '/relative/cb',                      qr/not an absolute URI/ ],
    [ 'client.example/cb',                 qr/not an absolute URI/ ],
    [ 'https://*.client.example/cb',       qr/wildcard/ ],
    [ 'http://client.example/cb',          qr/http on a host that is not a loopback/ ],
    [ 'https:///cb',                       qr/no host/ ],
    [ "https://client.example/c b",        qr/spaces or control/ ],
    [ 'https://client.example/a/../cb',    qr/dot segments/ ],
);
my @bad_metadata = (
    [ { token_endpoint_auth_method => 'private_key_jwt' }, qr/not supported/ ],
    [ { token_endpoint_auth_method => 7 },                 qr/must be a string/ ],
    [ { grant_types => ['implicit'] },                     qr/grant_types: 'implicit' is not supported/ ],
    [ { grant_types => ['password'] },                     qr/not supported/ ],
    [ { grant_types => 'authorization_code' },             qr/array of strings/ ],
    [ { grant_types => [] },                               qr/must not be empty/ ],
    [ { response_types => ['token'] },                     qr/response_types: 'token'/ ],
    [ { response_types => [] },                            qr/go together/ ],
    [ { grant_types => ['refresh_token'] , response_types => []}, qr/only issued with authorization_code/ ],
    [ { grant_types => ['client_credentials'], response_types => [], token_endpoint_auth_method => 'none' },
                                                           qr/client_credentials needs a confidential client/ ],
    [ { scope => 'mcp:echo not:here' },                    qr/scope 'not:here' is not supported/ ],
    [ { scope => ['mcp:echo'] },                           qr/scope must be a string/ ],
    [ { client_name => { a => 1 } },                       qr/client_name must be a string/ ],
    [ { client_name => 'x' x 300 },                        qr/client_name must be a string of at most 256/ ],
    [ { client_uri => 'javascript:alert(1)' },             qr/client_uri must be an https URL/ ],
    [ { contacts => 'me@example.com' },                    qr/contacts must be an array/ ],
);

plan tests => 26 + 2 * @bad_redirects + 3 * @bad_metadata;

# A public client, as MCP clients register
my ($response, $client) = register_client(
    redirect_uris => ['http://127.0.0.1:33418/callback', 'https://client.example/cb',
                      'com.example.app:/oauth2redirect'],
    scope => 'mcp:echo', client_uri => 'https://client.example/',
    contacts => ['ops@client.example'], software_id => 'mod-mcp-tests');
ok t_cmp($response->code, 201, 'public client: 201');
ok t_cmp(length $client->{client_id}, 43, 'client_id is a 256-bit random value');
ok $client->{client_id_issued_at} > 1_700_000_000;
ok t_cmp(join(' ', @{ $client->{redirect_uris} }),
         'http://127.0.0.1:33418/callback https://client.example/cb com.example.app:/oauth2redirect',
         'every redirect URI is echoed');
ok t_cmp($client->{token_endpoint_auth_method}, 'none', 'auth method echoed');
ok t_cmp(join(',', @{ $client->{grant_types} }), 'authorization_code,refresh_token', 'grant types echoed');
ok t_cmp(join(',', @{ $client->{response_types} }), 'code', 'response_types default to code');
ok t_cmp($client->{scope}, 'mcp:echo', 'scope echoed');
ok t_cmp($client->{software_id}, 'mod-mcp-tests', 'software_id echoed');
ok !exists $client->{client_secret};
ok t_cmp($response->header('Cache-Control'), 'no-store', 'no-store');

# A confidential client gets a secret
($response, $client) = register_client(token_endpoint_auth_method => 'client_secret_basic',
    grant_types => ['authorization_code', 'client_credentials'], response_types => ['code']);
ok t_cmp($response->code, 201, 'confidential client: 201');
ok t_cmp(length $client->{client_secret}, 43, 'client_secret is 256-bit');
ok t_cmp($client->{client_secret_expires_at}, 0, 'client_secret_expires_at: 0 (never)');

# RFC 7591 default auth method is client_secret_basic
($response, $client) = register_client(token_endpoint_auth_method => undef);
ok t_cmp($client->{token_endpoint_auth_method}, 'client_secret_basic', 'default method');
ok defined $client->{client_secret};

# the secret is stored only as a hash
my $found = sqlite("SELECT COUNT(*) FROM clients WHERE secret_hash = '$client->{client_secret}' OR metadata LIKE '%$client->{client_secret}%'");
if (defined $found) {
    ok t_cmp($found + 0, 0, 'the secret itself is not in the store');
}
else {
    skip 'not the SQLite store', 1;
}

# Transport and shape
my $ua = ua();
$response = $ua->post(base() . '/oauth/register', 'Content-Type' => 'application/x-www-form-urlencoded',
                      Content => 'redirect_uris=https://x.example/cb');
ok t_cmp($response->code, 400, 'form body: 400');
ok t_cmp(json($response)->{error}, 'invalid_client_metadata', 'form body: invalid_client_metadata');
$response = $ua->post(base() . '/oauth/register', 'Content-Type' => 'application/json',
                      Content => '{"redirect_uris":["https://a.example/cb"],"redirect_uris":["https://b.example/cb"]}');
ok t_cmp(json($response)->{error_description}, qr/duplicate|more than once/i, 'duplicate keys refused');
$response = $ua->post(base() . '/oauth/register', 'Content-Type' => 'application/json',
                      Content => '["not", "an", "object"]');
ok t_cmp(json($response)->{error}, 'invalid_client_metadata', 'an array is refused');
$response = $ua->post(base() . '/oauth/register', 'Content-Type' => 'application/json',
                      Content => '{"redirect_uris": [');
ok t_cmp(json($response)->{error}, 'invalid_client_metadata', 'broken JSON is refused');
$response = $ua->post(base() . '/oauth/register', 'Content-Type' => 'application/json',
                      Content => '{"client_name":"' . ('x' x (65 * 1024)) . '"}');
ok t_cmp($response->code, 413, 'more than 64 KiB: 413');
$response = $ua->get(base() . '/oauth/register');
ok t_cmp($response->code, 405, 'GET: 405');
($response, $client) = register_client(redirect_uris => undef);
ok t_cmp($client->{error}, 'invalid_redirect_uri', 'authorization_code without redirect_uris');
($response, $client) = register_client(redirect_uris => [7]);
ok t_cmp($client->{error}, 'invalid_redirect_uri', 'redirect_uris with a number');

for my $case (@bad_redirects) {
    my ($uri, $why) = @$case;
    ($response, $client) = register_client(redirect_uris => ['https://ok.example/cb', $uri]);
    ok t_cmp($client->{error}, 'invalid_redirect_uri', "refused: $uri");
    ok t_cmp($client->{error_description}, $why, "reason for $uri");
}
for my $case (@bad_metadata) {
    my ($fields, $why) = @$case;
    ($response, $client) = register_client(%$fields);
    my $name = JSON::PP->new->canonical->encode($fields);
    ok t_cmp($response->code, 400, "400 for $name");
    ok t_cmp($client->{error}, 'invalid_client_metadata', "invalid_client_metadata for $name");
    ok t_cmp($client->{error_description}, $why, "reason for $name");
}
