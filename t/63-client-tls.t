# mcp-client always verifies TLS: a self-signed server is refused (exit 3)
# until --cacert names its certificate, and a certificate for another name
# is refused even then.  The TLS server is `openssl s_server -www` on a
# loopback port, started and stopped here.
use strict;
use warnings FATAL => 'all';
use Apache::Test;
use Apache::TestUtil;
use File::Temp qw(tempdir);
use FindBin;
use IO::Socket::INET;
use lib "$FindBin::Bin/lib";
use MCP::Client qw(mcp_client client_binary fresh_store);

my $openssl = (grep { -x "$_/openssl" } split /:/, $ENV{PATH})[0];
plan tests => 7, sub { $openssl && -x client_binary() };

my $dir = tempdir('mcp-client-tls-XXXXXX', TMPDIR => 1, CLEANUP => 1);
system("$openssl/openssl", qw(req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1),
       '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost',
       '-keyout', "$dir/key.pem", '-out', "$dir/cert.pem") == 0 or die 'openssl req failed';
ok t_cmp(-s "$dir/cert.pem" ? 1 : 0, 1, 'a self-signed certificate for localhost');

# a free loopback port
my $probe = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1', LocalPort => 0) or die;
my $port = $probe->sockport;
close $probe;

my $pid = fork // die;
if ($pid == 0) {
    open STDIN, '<', '/dev/null';
    open STDOUT, '>', '/dev/null';
    open STDERR, '>', '/dev/null';
    exec "$openssl/openssl", 's_server', '-accept', "127.0.0.1:$port", '-cert', "$dir/cert.pem",
         '-key', "$dir/key.pem", '-www', '-quiet';
    exit 127;
}
my $up = 0;
for (1 .. 50) {
    if (IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port)) { $up = 1; last }
    select undef, undef, undef, 0.1;
}
ok t_cmp($up, 1, 'the TLS server is up');

my $r = mcp_client('--token-store', fresh_store(), "https://localhost:$port/");
ok t_cmp($r->{exit}, 3, 'an untrusted certificate: exit 3');
ok t_cmp($r->{err}, qr/certificate/i, 'the message says it is the certificate');

$r = mcp_client('--token-store', fresh_store(), '--cacert', "$dir/cert.pem", "https://localhost:$port/");
ok t_cmp($r->{exit}, 0, 'with --cacert naming it: exit 0');
ok t_cmp($r->{out}, qr/s_server|Ciphers|TLS/i, 'the page is printed');

# the certificate names localhost, not 127.0.0.1
$r = mcp_client('--token-store', fresh_store(), '--cacert', "$dir/cert.pem", "https://127.0.0.1:$port/");
ok t_cmp($r->{exit}, 3, 'a certificate for another name: exit 3, even with --cacert');

kill 'TERM', $pid;
waitpid $pid, 0;
