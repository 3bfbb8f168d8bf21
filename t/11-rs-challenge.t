# The 401 challenge (RFC 6750 §3, RFC 9728 §5.1, MCP 2025-11-25), CORS on
# it, preflights, and the RFC 9728 metadata served for every MCPResource.
use strict;
use warnings FATAL => 'all';
use Apache::Test;
use Apache::TestUtil;
use Apache::TestRequest qw(GET POST);
use FindBin;
use lib "$FindBin::Bin/lib";
use MCP::RS qw(check resource challenge json_of mint bearer);

plan tests => 51;

my $metadata_url = resource('/.well-known/oauth-protected-resource/rs');

# no token at all
my $r = GET '/rs/echo?text=hi';
ok t_cmp($r->code, 401, 'no token: 401');
my $c = challenge($r);
ok t_cmp($c->{scheme}, 'Bearer', 'Bearer challenge');
ok t_cmp($c->{resource_metadata}, $metadata_url, 'absolute, path-inserted resource_metadata');
ok t_cmp($c->{scope}, 'mcp:echo mcp:admin', 'scope hint from MCPScopes');
check !exists $c->{error}, 'no error code without credentials (RFC 6750 §3.1)';
ok t_cmp($r->header('Cache-Control'), 'no-store', 'challenge not cached');
check !defined $r->header('Access-Control-Allow-Origin'), 'no CORS headers without Origin';

# browsers can read it
$r = GET '/rs/echo?text=hi', Origin => 'https://app.example';
ok t_cmp($r->code, 401, 'with Origin: still 401');
ok t_cmp($r->header('Access-Control-Allow-Origin'), '*', 'CORS: any origin');
ok t_cmp($r->header('Access-Control-Expose-Headers'), qr/WWW-Authenticate/, 'WWW-Authenticate exposed');

# preflight, answered before authentication
$r = Apache::TestRequest::OPTIONS('/rs/echo', Origin => 'https://app.example',
    'Access-Control-Request-Method' => 'POST',
    'Access-Control-Request-Headers' => 'authorization, content-type');
ok t_cmp($r->code, 204, 'preflight: 204 without a token');
ok t_cmp($r->header('Access-Control-Allow-Headers'), qr/Authorization/, 'Authorization allowed');
ok t_cmp($r->header('Access-Control-Allow-Methods'), qr/POST/, 'POST allowed');
check !defined $r->header('WWW-Authenticate'), 'no challenge on a preflight';
$r = Apache::TestRequest::OPTIONS('/rs/proxy/env.pl', Origin => 'https://app.example',
    'Access-Control-Request-Method' => 'GET');
ok t_cmp($r->code, 204, 'preflight answered here, not proxied');
$r = Apache::TestRequest::OPTIONS('/rs/echo');
ok t_cmp($r->code, 401, 'a plain OPTIONS is no preflight: needs a token');

# other schemes and bad tokens
$r = GET '/rs/echo?text=hi', Authorization => 'Basic YWxpY2U6c2VjcmV0';
ok t_cmp($r->code, 401, 'Basic credentials: 401');
check !exists challenge($r)->{error}, 'Basic: no error code';
$r = GET '/rs/echo?text=hi', Authorization => 'Bearer not-a-jwt';
$c = challenge($r);
ok t_cmp($r->code, 401, 'bad token: 401');
ok t_cmp($c->{error}, 'invalid_token', 'error="invalid_token"');
ok t_cmp($c->{error_description}, qr/not a JWT/, 'a description that helps');
ok t_cmp($c->{resource_metadata}, $metadata_url, 'same resource_metadata');
check !exists $c->{scope}, 'no scope hint with an error';
$r = GET '/rs/echo?text=hi', Authorization => 'Bearer', 'X-Test' => 1;
ok t_cmp($r->code, 401, 'Bearer without a token: 401');

# two Authorization headers: 400 invalid_request (RFC 6750 §3.1)
{
    my $ua = Apache::TestRequest::user_agent();
    my $request = HTTP::Request->new(GET => resource('/rs/echo?text=hi'));
    $request->push_header(Authorization => 'Bearer ' . mint());
    $request->push_header(Authorization => 'Bearer ' . mint());
    $r = $ua->request($request);
    ok t_cmp($r->code, 400, 'two Authorization headers: 400');
    ok t_cmp(challenge($r)->{error}, 'invalid_request', 'error="invalid_request"');
}

# metadata, RFC 9728 §3
$r = GET '/.well-known/oauth-protected-resource/rs';
my $meta = json_of($r);
ok t_cmp($r->code, 200, 'metadata served');
ok t_cmp($r->header('Content-Type'), qr{^application/json}, 'as application/json');
ok t_cmp($r->header('Cache-Control'), qr/public, max-age=3600/, 'cacheable');
ok t_cmp($meta->{resource}, resource('/rs'), 'resource');
ok t_cmp(join(' ', @{ $meta->{authorization_servers} }), 'https://as.test https://other-as.test',
         'authorization_servers');
ok t_cmp(join(' ', @{ $meta->{scopes_supported} }), 'mcp:echo mcp:admin', 'scopes_supported');
ok t_cmp(join(' ', @{ $meta->{bearer_methods_supported} }), 'header', 'bearer_methods_supported');
$r = GET '/.well-known/oauth-protected-resource/rs', Origin => 'https://app.example';
ok t_cmp($r->header('Access-Control-Allow-Origin'), '*', 'metadata: CORS');
$r = Apache::TestRequest::OPTIONS('/.well-known/oauth-protected-resource/rs',
    Origin => 'https://app.example', 'Access-Control-Request-Method' => 'GET');
ok t_cmp($r->code, 204, 'metadata: preflight');
$r = POST '/.well-known/oauth-protected-resource/rs', content => 'x=1';
ok t_cmp($r->code, 405, 'metadata: POST is 405');
$r = GET '/.well-known/oauth-protected-resource/tool';
ok t_cmp(json_of($r)->{resource}, 'https://elsewhere.test/tool',
         'a nested MCPResource gets its own metadata');
$r = GET '/.well-known/oauth-protected-resource/rsjwks';
ok t_cmp(json_of($r)->{resource}, resource('/rsjwks'), 'every resource has metadata');
$r = GET '/.well-known/oauth-protected-resource';
ok t_cmp($r->code, 404, 'no root metadata when the host has several resources');
$r = GET '/.well-known/oauth-protected-resource/nothing';
ok t_cmp($r->code, 404, 'unknown resource: 404');

# one resource on a host: the root URL answers too
{
    my $hostport = Apache::TestRequest::module2url('mcp_rs_single', { path => '/' });
    $r = GET "${hostport}.well-known/oauth-protected-resource", Host => 'single.test';
    ok t_cmp($r->code, 200, 'single-resource host: root metadata');
    ok t_cmp(json_of($r)->{resource}, 'https://single.test/tool', 'names that resource');
    $r = GET "${hostport}.well-known/oauth-protected-resource/tool";
    ok t_cmp(json_of($r)->{resource}, 'https://single.test/tool', 'and the path-inserted URL');
    $r = GET "${hostport}tool?text=x";
    ok t_cmp(challenge($r)->{resource_metadata},
             'https://single.test/.well-known/oauth-protected-resource/tool',
             'its challenge points there');
}

# a valid token passes; Require all granted skips authentication
$r = GET '/rs/echo?text=hi', bearer(mint());
ok t_cmp($r->code, 200, 'a valid token passes');
$r = GET '/rs/open/cgi/env.pl';
ok t_cmp($r->code, 200, 'Require all granted: no token needed');
# an AuthType with no Require at all is httpd's 500 (AH01627), as
# conf/mcp_rs.conf documents, even with a good token
$r = GET '/norequire?text=hi', bearer(mint(path => '/norequire'));
ok t_cmp($r->code, 500, 'AuthType MCP without any Require: 500 (documented)');

# a Require other than mcp-scope failing for a valid token: 403, not 401
$r = GET '/rs/user?text=hi', bearer(mint());
ok t_cmp($r->code, 403, 'valid token, Require user bob fails: 403');
$c = challenge($r);
ok t_cmp($c->{resource_metadata}, $metadata_url, '403 still names the metadata');
check !exists $c->{error}, 'and no insufficient_scope';
$r = GET '/rs/user?text=hi';
ok t_cmp($r->code, 401, 'same location without a token: 401');
