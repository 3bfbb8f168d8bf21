# The mcp-echo tool: plain GET ?text=, and MCP Streamable HTTP JSON-RPC
# (MCP 2025-11-25): initialize with version negotiation, notifications,
# ping, tools/list, tools/call, JSON-RPC errors, 405 on GET, Origin check.
use strict;
use warnings FATAL => 'all';
use Apache::Test;
use Apache::TestUtil;
use Apache::TestRequest qw(GET POST);
use JSON::PP;
use FindBin;
use lib "$FindBin::Bin/lib";
use MCP::RS qw(check resource mint bearer json_of);

plan tests => 59;

my $json = JSON::PP->new->canonical;
sub rpc {
    my ($path, $message, @headers) = @_;
    my $body = ref $message ? $json->encode($message) : $message;
    return POST $path, content => $body, 'Content-Type' => 'application/json',
        Accept => 'application/json, text/event-stream', @headers;
}
sub call { rpc('/echo', { jsonrpc => '2.0', id => 1, @_ }) }

# plain GET
my $r = GET '/echo?text=hello';
my $data = json_of($r);
ok t_cmp($r->code, 200, 'GET ?text=: 200');
ok t_cmp($data->{echo}, 'hello', 'echo');
check exists $data->{sub} && !defined $data->{sub}, 'sub null when unprotected';
$r = GET '/echo?text=' . 'caf%C3%A9%20%22q%22';
ok t_cmp(json_of($r)->{echo}, "caf\x{e9} \"q\"", 'UTF-8 and quotes survive');
$r = GET '/echo?other=1';
ok t_cmp($r->code, 400, 'no text parameter: 400');
$r = GET '/echo?text=a&text=b';
ok t_cmp($r->code, 400, 'text twice: 400');
$r = GET '/echo?text=%FF';
ok t_cmp($r->code, 400, 'not UTF-8: 400');
$r = GET '/echo';
ok t_cmp($r->code, 405, 'GET without ?text (no SSE stream): 405');
ok t_cmp($r->header('Allow'), qr/POST/, 'Allow names POST');
$r = Apache::TestRequest::user_agent()->request(HTTP::Request->new(DELETE => resource('/echo')));
ok t_cmp($r->code, 405, 'DELETE (no session): 405');

# protected: the caller's identity
$r = GET '/rs/echo?text=hi', bearer(mint());
$data = json_of($r);
ok t_cmp($data->{sub}, 'alice', 'protected: sub');
ok t_cmp($data->{client_id}, 'client-1', 'protected: client_id');
ok t_cmp($data->{scope}, 'mcp:echo', 'protected: scope');

# initialize and version negotiation
for my $version ('2025-11-25', '2025-06-18', '2025-03-26') {
    $data = json_of(call(method => 'initialize', params => {
        protocolVersion => $version, capabilities => {}, clientInfo => { name => 't', version => '1' } }));
    ok t_cmp($data->{result}{protocolVersion}, $version, "initialize $version: agreed");
}
ok t_cmp($data->{jsonrpc}, '2.0', 'jsonrpc 2.0');
ok t_cmp($data->{id}, 1, 'id echoed');
ok t_cmp($data->{result}{serverInfo}{name}, 'mod_mcp_rs-echo', 'serverInfo');
check exists $data->{result}{capabilities}{tools}, 'tools capability';
$data = json_of(call(method => 'initialize', params => { protocolVersion => '1999-01-01', capabilities => {} }));
ok t_cmp($data->{result}{protocolVersion}, '2025-11-25', 'unknown version: server proposes its latest');
$data = json_of(call(method => 'initialize', params => {}));
ok t_cmp($data->{error}{code}, -32602, 'initialize without protocolVersion: -32602');
$r = rpc('/echo', { jsonrpc => '2.0', id => 1, method => 'initialize',
                    params => { protocolVersion => '2025-11-25', capabilities => {} } });
check !defined $r->header('Mcp-Session-Id'), 'stateless: no Mcp-Session-Id';

# notifications and responses: 202, no body
$r = rpc('/echo', { jsonrpc => '2.0', method => 'notifications/initialized' });
ok t_cmp($r->code, 202, 'notifications/initialized: 202');
ok t_cmp($r->content, '', 'no body');
$r = rpc('/echo', { jsonrpc => '2.0', id => 5, result => {} });
ok t_cmp($r->code, 202, 'a JSON-RPC response: 202');

# ping, tools/list, tools/call
$data = json_of(call(method => 'ping'));
ok t_cmp($json->encode($data->{result}), '{}', 'ping: empty result');
$data = json_of(rpc('/echo', { jsonrpc => '2.0', id => 'list-1', method => 'tools/list' },
                    'MCP-Protocol-Version' => '2025-11-25'));
ok t_cmp($data->{id}, 'list-1', 'string id echoed');
ok t_cmp(scalar @{ $data->{result}{tools} }, 1, 'one tool');
ok t_cmp($data->{result}{tools}[0]{name}, 'echo', 'named echo');
ok t_cmp($data->{result}{tools}[0]{inputSchema}{type}, 'object', 'with an input schema');
ok t_cmp($data->{result}{tools}[0]{inputSchema}{properties}{text}{type}, 'string', 'text: string');
ok t_cmp(join(',', @{ $data->{result}{tools}[0]{inputSchema}{required} }), 'text', 'text required');
$data = json_of(call(method => 'tools/call', params => { name => 'echo', arguments => { text => 'hi there' } }));
ok t_cmp($data->{result}{content}[0]{type}, 'text', 'tools/call: text content');
ok t_cmp($data->{result}{content}[0]{text}, 'hi there', 'the text echoed');
check !$data->{result}{isError}, 'isError false';
$data = json_of(rpc('/rs/echo', { jsonrpc => '2.0', id => 2, method => 'tools/call',
                                  params => { name => 'echo', arguments => { text => 'x' } } }, bearer(mint())));
ok t_cmp($data->{result}{structuredContent}{sub}, 'alice', 'protected tools/call knows the caller');

# JSON-RPC errors
$data = json_of(call(method => 'tools/call', params => { name => 'nope', arguments => { text => 'x' } }));
ok t_cmp($data->{error}{code}, -32602, 'unknown tool: -32602');
$data = json_of(call(method => 'tools/call', params => { name => 'echo', arguments => {} }));
ok t_cmp($data->{error}{code}, -32602, 'missing text: -32602');
$data = json_of(call(method => 'tools/call', params => { name => 'echo', arguments => { text => 5 } }));
ok t_cmp($data->{error}{code}, -32602, 'text a number: -32602');
$data = json_of(call(method => 'tools/call', params => { name => 'echo', arguments => 'x' }));
ok t_cmp($data->{error}{code}, -32602, 'arguments not an object: -32602');
$data = json_of(call(method => 'tools/call', params => [1]));
ok t_cmp($data->{error}{code}, -32602, 'params not an object: -32602');
$data = json_of(call(method => 'resources/list'));
ok t_cmp($data->{error}{code}, -32601, 'unknown method: -32601');
$r = rpc('/echo', '{"jsonrpc":"2.0","id":1,"method":');
ok t_cmp($r->code, 400, 'parse error: 400');
ok t_cmp(json_of($r)->{error}{code}, -32700, 'parse error: -32700');
$r = rpc('/echo', '{"jsonrpc":"2.0","id":1,"id":2,"method":"ping"}');
ok t_cmp(json_of($r)->{error}{code}, -32700, 'duplicate member: -32700');
$r = rpc('/echo', [ { jsonrpc => '2.0', id => 1, method => 'ping' } ]);
ok t_cmp(json_of($r)->{error}{code}, -32600, 'batch: -32600');
$r = rpc('/echo', { jsonrpc => '1.0', id => 1, method => 'ping' });
ok t_cmp(json_of($r)->{error}{code}, -32600, 'jsonrpc 1.0: -32600');
$r = rpc('/echo', { jsonrpc => '2.0', id => undef, method => 'ping' });
ok t_cmp(json_of($r)->{error}{code}, -32600, 'id null: -32600');
$r = rpc('/echo', { jsonrpc => '2.0', id => 1, method => 7 });
ok t_cmp(json_of($r)->{error}{code}, -32600, 'method not a string: -32600');
$r = rpc('/echo', { jsonrpc => '2.0', id => 1, method => 'ping' }, 'MCP-Protocol-Version' => '1999-01-01');
ok t_cmp($r->code, 400, 'unsupported MCP-Protocol-Version: 400');
$r = POST '/echo', content => '{"jsonrpc":"2.0","id":1,"method":"ping"}', 'Content-Type' => 'text/plain';
ok t_cmp($r->code, 415, 'Content-Type text/plain: 415');
$r = POST '/echo', content => '{"jsonrpc":"2.0","id":1,"method":"ping"}',
    'Content-Type' => 'application/json', Accept => 'text/html';
ok t_cmp($r->code, 406, 'Accept without JSON: 406');
$r = rpc('/echo', '{"jsonrpc":"2.0","id":1,"method":"ping","pad":"' . ('x' x 70000) . '"}');
ok t_cmp($r->code, 413, 'over 64 KiB: 413');

# Origin (DNS rebinding)
$r = call(method => 'ping');
$r = rpc('/echo', { jsonrpc => '2.0', id => 1, method => 'ping' }, Origin => 'https://evil.example');
ok t_cmp($r->code, 403, 'foreign Origin: 403');
$r = GET '/echo?text=x', Origin => 'https://evil.example';
ok t_cmp($r->code, 403, 'foreign Origin on GET: 403');
$r = rpc('/echo', { jsonrpc => '2.0', id => 1, method => 'ping' }, Origin => 'https://allowed.example');
ok t_cmp($r->code, 200, 'MCPAllowedOrigin: 200');
my ($hostport) = resource('') =~ m{^(http://[^/]+)};
$r = rpc('/echo', { jsonrpc => '2.0', id => 1, method => 'ping' }, Origin => $hostport);
ok t_cmp($r->code, 200, 'same origin: 200');
# DNS rebinding: the attacker's name resolves to this server, so Host and
# Origin agree with each other but not with the tool's configured origin
$r = rpc('/echo', { jsonrpc => '2.0', id => 1, method => 'initialize' },
         Host => 'evil.example:' . Apache::Test::vars('port'), Origin => 'http://evil.example:' . Apache::Test::vars('port'));
ok t_cmp($r->code, 403, 'Origin matching a foreign Host (DNS rebinding): 403');
