# client_credentials: confidential clients only (MCPClient, or registered
# with a secret); no refresh token; scope within the client's.
use strict;
use warnings FATAL => 'all';
use Apache::Test;
use Apache::TestUtil;
use FindBin;
use lib "$FindBin::Bin/lib";
use MCP::AS qw(issuer resource register_client token_request decode_jwt agent);
use MIME::Base64 qw(encode_base64);

plan tests => 44;

my @agent = agent();
my ($response, $tokens) = token_request(grant_type => 'client_credentials', auth => \@agent);
ok t_cmp($response->code, 200, 'MCPClient with Basic: 200');
ok t_cmp($tokens->{scope}, 'mcp:echo mcp:read', "default scope: the client's");
ok !exists $tokens->{refresh_token};
ok t_cmp($response->header('Cache-Control'), 'no-store', 'no-store');
my ($header, $claims) = decode_jwt($tokens->{access_token});
ok t_cmp($header->{typ}, 'at+jwt', 'typ');
ok t_cmp("$claims->{sub}|$claims->{client_id}|$claims->{aud}|$claims->{iss}",
         "as-agent|as-agent|" . resource() . '|' . issuer(), 'sub = client_id, aud, iss');

($response, $tokens) = token_request(grant_type => 'client_credentials', scope => 'mcp:echo',
                                     client_id => $agent[0], client_secret => $agent[1]);
ok t_cmp($response->code, 200, 'client_secret_post: 200');
ok t_cmp($tokens->{scope}, 'mcp:echo', 'narrowed scope');
($response, $tokens) = token_request(grant_type => 'client_credentials', scope => 'mcp:admin', auth => \@agent);
ok t_cmp($tokens->{error}, 'invalid_scope', "a scope beyond the client's: invalid_scope");
($response, $tokens) = token_request(grant_type => 'client_credentials', scope => 'nope', auth => \@agent);
ok t_cmp($tokens->{error}, 'invalid_scope', 'an unknown scope: invalid_scope');
($response, $tokens) = token_request(grant_type => 'client_credentials', resource => 'https://other.example/',
                                     auth => \@agent);
ok t_cmp($tokens->{error}, 'invalid_target', 'another resource: invalid_target');
($response, $tokens) = token_request(grant_type => 'client_credentials', resource => resource() . '/',
                                     auth => \@agent);
ok t_cmp($response->code, 200, 'the resource in another spelling (trailing slash) is the same resource');

($response, $tokens) = token_request(grant_type => 'client_credentials', auth => [$agent[0], 'wrong-secret-000000']);
ok t_cmp($response->code, 401, 'wrong secret: 401');
ok t_cmp($tokens->{error}, 'invalid_client', 'invalid_client');
ok t_cmp($response->header('WWW-Authenticate'), qr/^Basic realm=/, 'WWW-Authenticate: Basic');
($response, $tokens) = token_request(grant_type => 'client_credentials', client_id => $agent[0]);
ok t_cmp($tokens->{error}, 'invalid_client', 'an MCPClient without its secret');
($response, $tokens) = token_request(grant_type => 'authorization_code', code => 'x', code_verifier => 'y' x 43,
                                     auth => \@agent);
ok t_cmp($tokens->{error}, 'unauthorized_client', 'an MCPClient may not use authorization_code');

# a public client is refused
my (undef, $public) = register_client();
($response, $tokens) = token_request(grant_type => 'client_credentials', client_id => $public->{client_id});
ok t_cmp($response->code, 400, 'public client: 400');
ok t_cmp($tokens->{error}, 'unauthorized_client', 'public client: unauthorized_client');

# a registered confidential client with the grant
my (undef, $service) = register_client(token_endpoint_auth_method => 'client_secret_basic',
    grant_types => ['client_credentials'], response_types => [], redirect_uris => undef, scope => 'mcp:read');
($response, $tokens) = token_request(grant_type => 'client_credentials',
                                     auth => [$service->{client_id}, $service->{client_secret}]);
ok t_cmp($response->code, 200, 'registered confidential client: 200');
ok t_cmp($tokens->{scope}, 'mcp:read', 'its registered scope');
($response, $tokens) = token_request(grant_type => 'client_credentials', scope => 'mcp:echo',
                                     auth => [$service->{client_id}, $service->{client_secret}]);
ok t_cmp($tokens->{error}, 'invalid_scope', 'beyond its registered scope');
($response, $tokens) = token_request(grant_type => 'client_credentials',
                                     auth => [$service->{client_id}, 'not-the-secret']);
ok t_cmp($tokens->{error}, 'invalid_client', 'its wrong secret');

# a confidential client registered without the grant
my (undef, $web) = register_client(token_endpoint_auth_method => 'client_secret_post');
($response, $tokens) = token_request(grant_type => 'client_credentials', client_id => $web->{client_id},
                                     client_secret => $web->{client_secret});
ok t_cmp($tokens->{error}, 'unauthorized_client', 'not registered for client_credentials');

# the error description never carries control characters
($response, $tokens) = token_request(grant_type => "pass\r\nword", auth => \@agent);
ok t_cmp($tokens->{error}, 'unsupported_grant_type', 'unknown grant');
ok $tokens->{error_description} !~ /[\r\n]/;

# client authentication the token endpoint refuses (RFC 6749 §2.3.1, §5.2)
sub with_authorization {
    my ($authorization, @form) = @_;
    return token_request(grant_type => 'client_credentials', authorization => $authorization, @form);
}
sub b64 { encode_base64($_[0], '') }
($response, $tokens) = with_authorization('Basic    ' . b64(join ':', @agent));
ok t_cmp($response->code, 200, 'Basic with several spaces before the credentials: 200');
for my $case (['longer than 4 KiB', 'Basic ' . ('QUFB' x 1100)],
              ['without a colon', 'Basic ' . b64('as-agent')],
              ['with a NUL inside', 'Basic ' . b64("as-agent\0x:$agent[1]")],
              ['with a bad percent-encoding', 'Basic ' . b64("as-agent%zz:$agent[1]")]) {
    my ($what, $authorization) = @$case;
    ($response, $tokens) = with_authorization($authorization);
    ok t_cmp($response->code . ' ' . ($tokens->{error} // ''), '401 invalid_client',
             "Basic credentials $what: 401 invalid_client");
    ok t_cmp($tokens->{error_description} // '', 'malformed Basic credentials', '... malformed');
    ok t_cmp($response->header('WWW-Authenticate') // '', qr/^Basic realm=/, '... with a Basic challenge');
}
($response, $tokens) = with_authorization('Basic ' . b64(join ':', @agent), client_secret => $agent[1]);
ok t_cmp($response->code . ' ' . ($tokens->{error} // ''), '400 invalid_request',
         'Basic and client_secret both: 400 invalid_request');
ok t_cmp($tokens->{error_description} // '', qr/one client authentication method/, '... one method');
($response, $tokens) = token_request(grant_type => 'client_credentials', client_secret => $agent[1]);
ok t_cmp($response->code . ' ' . ($tokens->{error} // ''), '401 invalid_client',
         'client_secret without client_id: 401 invalid_client');
ok t_cmp($tokens->{error_description} // '', 'client_secret without client_id', '... saying so');
# ... and no Basic challenge (Basic was not tried)
ok !defined $response->header('WWW-Authenticate');
