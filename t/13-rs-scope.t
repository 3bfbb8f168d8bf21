# Require mcp-scope: all listed scopes needed, else 403 insufficient_scope
# (RFC 6750 §3.1) with the scope the request needs; composes with
# RequireAll, RequireAny and AuthzSendForbiddenOnFailure.
use strict;
use warnings FATAL => 'all';
use Apache::Test;
use Apache::TestUtil;
use Apache::TestRequest qw(GET);
use FindBin;
use lib "$FindBin::Bin/lib";
use MCP::RS qw(check resource mint challenge json_of bearer);

plan tests => 25;

my $metadata_url = resource('/.well-known/oauth-protected-resource/rs');
sub with_scope { bearer(mint(claims => { scope => $_[0] })) }

my $r = GET '/rs/scoped?text=hi', with_scope('mcp:echo');
my $c = challenge($r);
ok t_cmp($r->code, 403, 'lacking mcp:admin: 403');
ok t_cmp($c->{error}, 'insufficient_scope', 'error="insufficient_scope"');
ok t_cmp($c->{scope}, 'mcp:admin', 'scope the request needs');
ok t_cmp($c->{resource_metadata}, $metadata_url, 'resource_metadata');
ok t_cmp($r->content, qr/insufficient_scope/, 'the body says so too');

$r = GET '/rs/scoped?text=hi', with_scope('mcp:echo mcp:admin');
ok t_cmp($r->code, 200, 'with mcp:admin: 200');
$r = GET '/rs/scoped?text=hi', with_scope('mcp:administrator');
ok t_cmp($r->code, 403, 'a scope that only starts the same: 403');
$r = GET '/rs/scoped?text=hi';
ok t_cmp($r->code, 401, 'no token: 401, not 403');
check !exists challenge($r)->{error}, 'no token: no error code';
$r = GET '/rs/scoped?text=hi', Authorization => 'Bearer x.y.z';
ok t_cmp(challenge($r)->{error}, 'invalid_token', 'bad token: invalid_token, not insufficient_scope');

# RequireAll of two mcp-scope lines
$r = GET '/rs/all?text=hi', with_scope('mcp:echo');
ok t_cmp($r->code, 403, 'RequireAll, one scope missing: 403');
ok t_cmp(challenge($r)->{scope}, 'mcp:write', 'names the missing line\'s scope');
$r = GET '/rs/all?text=hi', with_scope('mcp:write');
ok t_cmp(challenge($r)->{scope}, 'mcp:echo', 'the other one');
$r = GET '/rs/all?text=hi', with_scope('mcp:write mcp:echo');
ok t_cmp($r->code, 200, 'RequireAll, both: 200');

# RequireAny: another Require can grant
$r = GET '/rs/any?text=hi', with_scope('mcp:admin');
ok t_cmp($r->code, 200, 'RequireAny, scope granted: 200');
check !defined $r->header('WWW-Authenticate'), 'no challenge on success';
$r = GET '/rs/any?text=hi', with_scope('mcp:echo');
ok t_cmp($r->code, 403, 'RequireAny, neither: 403');
ok t_cmp(challenge($r)->{error}, 'insufficient_scope', 'insufficient_scope');

# AuthzSendForbiddenOnFailure On: httpd answers 403 itself; the header is ours
$r = GET '/rs/forbid?text=hi', with_scope('mcp:echo');
ok t_cmp($r->code, 403, 'AuthzSendForbiddenOnFailure: 403');
ok t_cmp(challenge($r)->{error}, 'insufficient_scope', 'with insufficient_scope');
ok t_cmp(challenge($r)->{scope}, 'mcp:admin', 'and the scope');

# browsers can read it
$r = GET '/rs/scoped?text=hi', with_scope('mcp:echo'), Origin => 'https://app.example';
ok t_cmp($r->header('Access-Control-Allow-Origin'), '*', '403: CORS');
ok t_cmp($r->header('Access-Control-Expose-Headers'), qr/WWW-Authenticate/, '403: header exposed');

# scp arrays count as scopes
$r = GET '/rs/scoped?text=hi', bearer(mint(claims => { scope => undef, scp => [ 'mcp:admin' ] }));
ok t_cmp($r->code, 200, 'scp array grants too');
ok t_cmp(json_of($r)->{scope}, 'mcp:admin', 'and is what the tool sees');
