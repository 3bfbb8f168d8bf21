# Keys over HTTP (MCPJWKS URL, and the issuer's jwks_uri by default):
# rotation picked up on an unknown kid, old keys dropped after a refresh,
# refetches rate-limited, and an endpoint that is down, slow or returns
# garbage: the module keeps the keys it has and fails closed on the rest.
#
# The test server refetches at most once a second and refreshes after 3 s
# (t/conf/rs.conf.in), and serves the key sets itself.
use strict;
use warnings FATAL => 'all';
use Apache::Test;
use Apache::TestUtil;
use Apache::TestRequest qw(GET);
use File::Copy qw(copy);
use Time::HiRes qw(time sleep);
use FindBin;
use lib "$FindBin::Bin/lib";
use MCP::RS qw(check resource mint challenge bearer key_dir serve_jwks);

plan tests => 25;

my $jwks_dir = Apache::Test::vars('documentroot') . '/rs/jwks';
my $rotating = "$jwks_dir/rotating.jwks.json";
my $access_log = Apache::Test::vars('t_logs') . '/access_log';

# a key file's content, or the content itself
sub serve {
    my ($content_or_file) = @_;
    serve_jwks($content_or_file !~ /\n/ && -f $content_or_file
               ? do { local $/; open my $fh, '<', $content_or_file or die $!; <$fh> }
               : $content_or_file);
}
sub token { mint(path => $_[0] // '/rsjwks', kid => $_[1], @_[2 .. $#_]) }
sub fetches {
    open my $fh, '<', $access_log or return 0;
    return scalar grep { m{GET /jwks/rotating\.jwks\.json } } <$fh>;
}

# first use: fetched over HTTP
serve(key_dir() . '/test-rotate-a.jwks.json');
my $r = GET '/rsjwks?text=hi', bearer(token('/rsjwks', 'rot-a'));
ok t_cmp($r->code, 200, 'keys fetched over HTTP: 200');
$r = GET '/rsjwks?text=hi', bearer(token('/rsjwks', 'rot-b'));
ok t_cmp($r->code, 401, 'a kid the set does not have: 401');
ok t_cmp(challenge($r)->{error_description}, qr/no RS256 key with kid 'rot-b'/, 'says which kid');

# rotation: the new kid is picked up once the rate limit allows a refetch
serve(key_dir() . '/test-rotate-b.jwks.json');
sleep 1.2;
$r = GET '/rsjwks?text=hi', bearer(token('/rsjwks', 'rot-b'));
ok t_cmp($r->code, 200, 'rotated: the new kid is picked up');

# ... and the old key is gone after the periodic refresh (3 s)
sleep 3.2;
for (1 .. 3) { GET '/rsjwks?text=hi', bearer(token('/rsjwks', 'rot-b')) }
$r = GET '/rsjwks?text=hi', bearer(token('/rsjwks', 'rot-a'));
ok t_cmp($r->code, 401, 'rotated: the old kid is refused after a refresh');
ok t_cmp(challenge($r)->{error_description}, qr/no RS256 key with kid 'rot-a'/, 'old kid: says why');

# unknown kids cannot make us hammer the endpoint: at most one fetch per
# second (MCPJWKSRefetchInterval) in each process, whichever children
# httpd runs; counted from the error log, which names the process
sleep 1.2;
my $error_log = Apache::Test::vars('t_logs') . '/error_log';
my $offset = -s $error_log;
my $start = time;
for my $i (1 .. 30) {
    GET '/rsjwks?text=hi', bearer(token('/rsjwks', 'rot-a', header => { kid => "made-up-$i" }));
}
my $elapsed = time - $start;
my %per_process;
{
    open my $fh, '<', $error_log or die $!;
    seek $fh, $offset, 0;
    while (<$fh>) {
        $per_process{$1}++ if /\[pid (\d+):.*AH2003[01]: .*rotating\.jwks\.json/;
    }
}
my $most = 0;
$most < $_ and $most = $_ for values %per_process;
ok t_cmp($most <= int($elapsed) + 1 ? 'bounded' : "$most fetches by one process in ${elapsed}s", 'bounded',
         'unknown kids: refetches are rate-limited per process');
check scalar(keys %per_process) >= 1, 'but an unknown kid does trigger a refetch';

# the endpoint turns to garbage: the keys we have keep working
serve("<html>this is not JSON</html>\n");
sleep 3.2;
$r = GET '/rsjwks?text=hi', bearer(token('/rsjwks', 'rot-b'));
ok t_cmp($r->code, 200, 'garbage on refresh: cached keys still verify');
$r = GET '/rsjwks?text=hi', bearer(token('/rsjwks', 'rot-b'));
ok t_cmp($r->code, 200, 'and again');
$r = GET '/rsjwks?text=hi', bearer(token('/rsjwks', 'rot-a'));
ok t_cmp($r->code, 401, 'garbage: keys we do not have fail closed');

# the endpoint disappears: same
unlink $rotating;
sleep 1.2;
$r = GET '/rsjwks?text=hi', bearer(token('/rsjwks', 'rot-b'));
ok t_cmp($r->code, 200, '404 on refetch: cached keys still verify');

# endpoints that never worked
$start = time;
$r = GET '/rsslow?text=hi', bearer(token('/rsslow', 'rot-a'));
$elapsed = time - $start;
ok t_cmp($r->code, 401, 'slow endpoint (over the timeout): 401');
ok t_cmp(challenge($r)->{error}, 'invalid_token', 'slow: invalid_token');
ok t_cmp(challenge($r)->{error_description}, qr/keys could not be fetched/, 'slow: says why');
ok t_cmp($elapsed < 2.8 ? 'fast' : "took ${elapsed}s", 'fast', 'the 1 s timeout holds (the endpoint sleeps 3 s)');
$r = GET '/rsdown?text=hi', bearer(token('/rsdown', 'rot-a'));
ok t_cmp($r->code, 401, 'nothing listening: 401');
ok t_cmp(challenge($r)->{error_description}, qr/keys could not be fetched/, 'down: says why');
$r = GET '/rsgarbage?text=hi', bearer(token('/rsgarbage', 'rot-a'));
ok t_cmp($r->code, 401, 'garbage from the start: 401');
$start = time;
$r = GET '/rsslow?text=hi', bearer(token('/rsslow', 'rot-a'));
ok t_cmp($r->code, 401, 'slow, right after: still 401');

# no MCPJWKS: RFC 8414 metadata of the issuer names the jwks_uri
my $issuer = resource('/issuer');
$issuer =~ s/localhost/127.0.0.1/;
$r = GET '/rsdiscover?text=hi', bearer(token('/rsdiscover', 'rot-a', claims => { iss => $issuer }));
ok t_cmp($r->code, 200, 'keys from the issuer metadata: 200');
$r = GET '/rsdiscover?text=hi', bearer(token('/rsdiscover', 'rot-b', key => 'rot-b', claims => { iss => $issuer }));
ok t_cmp($r->code, 401, 'a key not in that set: 401');

# what the log says
open my $fh, '<', Apache::Test::vars('t_logs') . '/error_log' or die $!;
my $log = do { local $/; <$fh> };
ok t_cmp($log, qr/AH20030: mod_mcp_rs: cannot fetch keys for https:\/\/as.test: .*keeping the keys we have/,
         'a failed refresh is logged, keys kept');
ok t_cmp($log, qr/AH20030: .*rsslow|AH20030: .*slow-jwks\.pl|AH20030: .*Timeout|AH20030: .*timed out/i,
         'the timeout is logged');
ok t_cmp($log, qr/AH20031: mod_mcp_rs: fetched 1 keys for https:\/\/as.test/, 'fetches are logged');
unlink $rotating;
