# mcp-client's command line: help, version, usage errors and their exit
# codes, URLs it refuses, a network failure.
use strict;
use warnings FATAL => 'all';
use Apache::Test;
use Apache::TestUtil;
use FindBin;
use lib "$FindBin::Bin/lib";
use MCP::Client qw(mcp_client client_binary fresh_store);

plan tests => 23, sub { -x client_binary() };

my $r = mcp_client('--help');
ok t_cmp($r->{exit}, 0, '--help exits 0');
ok t_cmp($r->{out}, qr/^usage: mcp-client \[options\] URL/, '--help prints the usage');
ok t_cmp($r->{out}, qr/Exit status:.*\n  5  a server failed a security check/s,
         '--help documents the exit codes');

$r = mcp_client('--version');
ok t_cmp($r->{exit}, 0, '--version exits 0');
ok t_cmp($r->{out}, qr/^mcp-client \d/, '--version prints the version');

for my $case (
    [ [],                                        qr/expected exactly one URL/,     'no URL' ],
    [ [qw(http://a/ http://b/)],                 qr/expected exactly one URL/,     'two URLs' ],
    [ [qw(--bogus http://127.0.0.1/)],           qr/unknown option/,               'unknown option' ],
    [ ['http://example.com/mcp'],                qr/https URL \(http only on a loopback host\)/, 'http to a remote host' ],
    [ [qw(--grant password http://127.0.0.1/)],  qr/--grant expects/,              'unknown grant' ],
    [ [qw(--grant client_credentials http://127.0.0.1/)], qr/needs --client-id and --client-secret or --client-key/, 'client_credentials without a client' ],
    [ [qw(--login alice http://127.0.0.1/)],     qr/--login expects USER:PASSWORD/, '--login without a password' ],
    [ [qw(--timeout 0 http://127.0.0.1/)],       qr/--timeout expects seconds/,    'zero timeout' ],
    [ [qw(--arg a=b http://127.0.0.1/)],         qr/--arg needs --tool/,           '--arg without --tool' ],
    [ [qw(--client-metadata-url http://x/y http://127.0.0.1/)], qr/https URL with a path/, 'http client metadata URL' ],
    [ [qw(--client-secret s http://127.0.0.1/)], qr/--client-secret and --client-key need --client-id/, 'secret without id' ],
) {
    my ($args, $message, $name) = @$case;
    $r = mcp_client(@$args);
    ok t_cmp($r->{exit} == 2 && $r->{err} =~ $message ? 1 : "exit $r->{exit}: $r->{err}", 1,
             "$name: exit 2 with a message");
}

# nothing listens on port 1 of the loopback
$r = mcp_client('--token-store', fresh_store(), 'http://127.0.0.1:1/mcp');
ok t_cmp($r->{exit}, 3, 'connection refused: exit 3');
ok t_cmp($r->{err}, qr{GET http://127\.0\.0\.1:1/mcp: .*}, 'the failure names the URL');

# an https URL to a loopback port that speaks plain HTTP: TLS fails, exit 3
my $port = Apache::TestRequest::hostport() =~ s/.*://r;
$r = mcp_client('--token-store', fresh_store(), "https://127.0.0.1:$port/client-fake/good/mcp");
ok t_cmp($r->{exit}, 3, 'TLS handshake failure: exit 3');

# --client-key must name a PEM private key
my $base = 'http://' . Apache::TestRequest::hostport();
$r = mcp_client('--token-store', fresh_store(), '--grant', 'client_credentials', '--client-id', 'agent',
                '--client-key', '/dev/null', "$base/client-fake/good/mcp");
ok t_cmp($r->{exit} == 2 && $r->{err} =~ m{--client-key /dev/null: not a readable PEM private key}
         ? 1 : "exit $r->{exit}: $r->{err}", 1, 'a --client-key that is no key: exit 2');

# a store that others can read is refused before any request
my $store = fresh_store();
(my $dir = $store) =~ s{/[^/]+$}{};
mkdir $dir;
open my $fh, '>', $store or die;
print $fh "{}\n";
close $fh;
chmod 0644, $store;
$r = mcp_client('--token-store', $store, 'http://127.0.0.1:1/mcp');
ok t_cmp($r->{exit}, 6, 'a world-readable token store: exit 6');
ok t_cmp($r->{err}, qr/readable by others.*chmod 600/, 'the message says what to do');
chmod 0600, $store;
open $fh, '>', $store or die;
print $fh "{not json\n";
close $fh;
$r = mcp_client('--token-store', $store, 'http://127.0.0.1:1/mcp');
ok t_cmp($r->{exit} == 6 && $r->{err} =~ /damaged/ ? 1 : "exit $r->{exit}: $r->{err}", 1,
         'a damaged token store: exit 6');
