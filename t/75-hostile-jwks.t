# A JWKS endpoint that answers with a huge body (2 MiB, over the 512 KiB
# the module reads): the document is refused, never parsed, so a key in it
# is not trusted; the keys already cached keep verifying; the request that
# triggered the fetch is answered promptly.  All over one connection, so
# that one process's key cache is observed.
use strict;
use warnings FATAL => 'all';
use Apache::Test;
use Apache::TestUtil;
use Apache::TestRequest qw(GET);
use File::Copy qw(copy);
use Time::HiRes qw(time sleep);
use FindBin;
use lib "$FindBin::Bin/lib";
use MCP::RS qw(check mint challenge bearer key_dir serve_jwks);

plan tests => 7;

my $error_log = Apache::Test::vars('t_logs') . '/error_log';

sub slurp { local $/; open my $fh, '<', $_[0] or die $!; <$fh> }
sub token { mint(path => '/rsjwks', kid => $_[0]) }

Apache::TestRequest::user_agent(keep_alive => 1, reset => 1);
serve_jwks(slurp(key_dir() . '/test-rotate-b.jwks.json'));
sleep 1.2;   # past MCPJWKSRefetchInterval of earlier suites
my $r = GET '/rsjwks?text=hi', bearer(token('rot-b'));
ok t_cmp($r->code, 200, 'rot-b fetched and cached');

# the same key set as rot-a, padded to 2 MiB: valid JSON, too big to read
my $doc = slurp(key_dir() . '/test-rotate-a.jwks.json');
$doc =~ s/\}\s*$/, "padding": "${\ ('x' x (2 * 1024 * 1024))}"}\n/ or die 'unexpected JWKS';
serve_jwks($doc);
my $offset = -s $error_log;
sleep 3.2;   # past MCPJWKSRefresh: the next use refetches
my $start = time;
$r = GET '/rsjwks?text=hi', bearer(token('rot-a'));
my $seconds = time - $start;
ok t_cmp($r->code, 401, 'a key only in the 2 MiB document is not trusted');
ok t_cmp(challenge($r)->{error}, 'invalid_token', '... invalid_token');
check $seconds < 10, sprintf('answered in %.1f s', $seconds);
$r = GET '/rsjwks?text=hi', bearer(token('rot-b'));
ok t_cmp($r->code, 200, 'the cached key still verifies');
my $log = do { open my $fh, '<', $error_log or die $!; seek $fh, $offset, 0; local $/; <$fh> };
check $log =~ /AH20030: .*rotating\.jwks\.json: the answer is larger than \d+ bytes; keeping/,
    'the log says the document was too large, and that cached keys are kept';

# and once the endpoint is sane again, its keys are used
serve_jwks(slurp(key_dir() . '/test-rotate-a.jwks.json'));
sleep 1.2;
$r = GET '/rsjwks?text=hi', bearer(token('rot-a'));
ok t_cmp($r->code, 200, 'a sane document again: its key is picked up');
Apache::TestRequest::user_agent(keep_alive => 0, reset => 1);
