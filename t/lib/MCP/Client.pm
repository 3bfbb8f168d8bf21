# Runs the mcp-client just built, for t/6N-client-*.t.
package MCP::Client;
use strict;
use warnings;
use Exporter 'import';
use File::Temp qw(tempdir);
use FindBin;
use Apache::TestRequest ();

our @EXPORT_OK = qw(mcp_client client_binary server_base fresh_store);

sub client_binary {
    my $top = $ENV{MCP_TOP_BUILDDIR} || "$FindBin::Bin/..";
    return "$top/client/mcp-client";
}

# http://localhost:PORT of the test server
sub server_base { 'http://' . Apache::TestRequest::hostport() }

# A new empty directory for a token store; removed at exit.
sub fresh_store { tempdir('mcp-client-XXXXXX', TMPDIR => 1, CLEANUP => 1) . '/store/tokens.json' }

# mcp_client({ env => {...} }, ARGS...) runs the client (60 s at most)
# with stdin from /dev/null; returns { exit, out, err }.
sub mcp_client {
    my $opts = ref $_[0] eq 'HASH' ? shift : {};
    my $dir = tempdir('mcp-client-run-XXXXXX', TMPDIR => 1, CLEANUP => 1);
    my %env = %{ $opts->{env} || {} };
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        delete $ENV{BROWSER};
        $ENV{$_} = $env{$_} for keys %env;
        open STDIN, '<', '/dev/null';
        open STDOUT, '>', "$dir/out";
        open STDERR, '>', "$dir/err";
        exec client_binary(), @_;
        exit 127;
    }
    my $status;
    eval {
        local $SIG{ALRM} = sub { die "timeout\n" };
        alarm 60;
        waitpid $pid, 0;
        $status = $?;
        alarm 0;
    };
    if (!defined $status) {
        kill 'KILL', $pid;
        waitpid $pid, 0;
        $status = 9;
    }
    my $slurp = sub { local $/; open my $fh, '<', $_[0] or return ''; <$fh> // '' };
    return { exit => ($status & 127) ? 128 + ($status & 127) : $status >> 8,
             out => $slurp->("$dir/out"), err => $slurp->("$dir/err") };
}

1;
