# Opaque tokens: RFC 7662 introspection (MCPIntrospection) against a test
# endpoint on this server (t/cgi-bin/introspect.pl); results cached until
# exp, at most MCPIntrospectionCache (2 s here).
use strict;
use warnings FATAL => 'all';
use Apache::Test;
use Apache::TestUtil;
use Apache::TestRequest qw(GET);
use Time::HiRes qw(sleep time);
use FindBin;
use lib "$FindBin::Bin/lib";
use MCP::RS qw(check resource mint challenge bearer json_of);

plan tests => 18;

my $counter = Apache::Test::vars('t_dir') . '/state/introspect.count';
sub calls {
    my ($token) = @_;
    open my $fh, '<', $counter or return 0;
    return scalar grep { $_ eq "$token\n" } <$fh>;
}

my $r = GET '/rsintro?text=hi', bearer('opaque-good');
my $data = json_of($r);
ok t_cmp($r->code, 200, 'active opaque token: 200');
ok t_cmp($data->{sub}, 'olivia', 'sub from introspection');
ok t_cmp($data->{client_id}, 'opaque-client', 'client_id from introspection');
ok t_cmp($data->{scope}, 'mcp:echo', 'scope from introspection');

for my $case ([ 'opaque-unknown', qr/not active/, 'inactive' ],
              [ 'opaque-otheraud', qr/audience/, 'another audience' ],
              [ 'opaque-noaud', qr/audience/, 'no audience' ],
              [ 'opaque-otheriss', qr/issuer/, 'untrusted issuer' ],
              [ 'opaque-expired', qr/expired/, 'expired' ]) {
    my ($token, $why, $name) = @$case;
    $r = GET '/rsintro?text=hi', bearer($token);
    ok t_cmp($r->code, 401, "$name: 401");
    ok t_cmp(challenge($r)->{error_description}, $why, "$name: says why");
}

# the resource server's own credentials are wrong: our trouble, a 503
$r = GET '/rsintro-bad?text=hi', bearer('opaque-never-seen');
ok t_cmp($r->code, 503, 'introspection refused us: 503');
check !defined $r->header('WWW-Authenticate'), 'no challenge that would send the client away';

# cached: a burst costs at most one call per process, then expires (2 s)
sleep 2.2;
my $before = calls('opaque-good');
my $start = time;
GET '/rsintro?text=hi', bearer('opaque-good') for 1 .. 20;
my $elapsed = time - $start;
my $burst = calls('opaque-good') - $before;
# about one call per child (up to 3, and httpd may replace an idle one)
# per 2 s cache period
check $burst >= 1 && $burst <= 6 * (int($elapsed / 2) + 1),
      "20 requests in ${elapsed}s, $burst introspection calls";
sleep 2.2;
$before = calls('opaque-good');
GET '/rsintro?text=hi', bearer('opaque-good');
check calls('opaque-good') - $before == 1, 'introspected again after MCPIntrospectionCache';
