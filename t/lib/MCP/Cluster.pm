package MCP::Cluster;
# Helpers for the cluster checks (t/cluster/*.pl, run by t/suites/cluster.sh):
# MCP::AS's helpers pointed at one node of the cluster that t/cluster/ctl.sh
# started (MCP_CLUSTER_DIR names its directory), the control of that
# cluster (stop a node, restart memcached), and a few more requests.
use strict;
use warnings;
use Exporter 'import';
use HTTP::Request::Common ();
use Time::HiRes ();
use MCP::AS ();

our @EXPORT_OK = qw(on node_url env ctl post_form introspect revoke
    concurrently flow_on);

my $dir = $ENV{MCP_CLUSTER_DIR} or die "MCP_CLUSTER_DIR is not set (run t/suites/cluster.sh)\n";
my %env;
open my $fh, '<', "$dir/env" or die "$dir/env: $!";
while (<$fh>) {
    $env{$1} = $2 // $3 if /^(\w+)=(?:'([^']*)'|(\S*))$/;
}
close $fh;

sub env { $env{ $_[0] } // die "no $_[0] in $dir/env\n" }

my $current = $env{NODE_A};

# The base URL of node a or b, or of the load balancer ("lb").
sub node_url {
    my ($name) = @_;
    return $name eq 'lb' ? $env{ISSUER} : $env{ 'NODE_' . uc $name }
        // die "no node $name\n";
}

# The node every MCP::AS helper talks to from now on.
sub on { $current = node_url($_[0]) }

{
    no warnings 'redefine';
    *MCP::AS::base     = sub { $current };
    *MCP::AS::issuer   = sub { $env{ISSUER} };
    *MCP::AS::resource = sub { "$env{ISSUER}/mcp" };
}

# t/cluster/ctl.sh DIR ACTION ARGS...
sub ctl {
    system('sh', "$env{SRCDIR}/t/cluster/ctl.sh", $dir, @_) == 0
        or die "ctl.sh @_ failed\n";
}

sub post_form {
    my ($endpoint, $auth, @form) = @_;
    my $request = HTTP::Request::Common::POST("$current/oauth/$endpoint", \@form);
    $request->header(Authorization => MCP::AS::basic(@$auth)) if $auth;
    my $response = MCP::AS::ua()->request($request);
    return ($response, MCP::AS::json($response));
}

# RFC 7662, as the configured resource server; returns the decoded answer.
sub introspect {
    my (undef, $info) = post_form('introspect', [MCP::AS::rs_client()],
                                  token => $_[0]);
    return $info // {};
}

# RFC 7009 by a public client; returns the response.
sub revoke {
    my ($client_id, $token) = @_;
    my ($response) = post_form('revoke', undef, token => $token,
                               client_id => $client_id);
    return $response;
}

# register on node $register_node, log in and consent on $code_node, redeem
# on $token_node: MCP::AS::full_flow across nodes.
sub flow_on {
    my (%nodes) = @_;
    on($nodes{register} // 'a');
    my ($reg, $client) = MCP::AS::register_client();
    die 'registration failed: ' . $reg->status_line . "\n" unless $reg->code == 201;
    on($nodes{code} // 'a');
    my ($verifier, $challenge) = MCP::AS::pkce();
    my ($code, $response) = MCP::AS::login_code(
        client_id => $client->{client_id}, response_type => 'code',
        code_challenge => $challenge, code_challenge_method => 'S256',
        state => 'cluster');
    die 'no code: ' . $response->status_line . "\n" unless $code;
    on($nodes{token} // 'a');
    my ($token_response, $tokens) = MCP::AS::exchange_code(
        $client->{client_id}, $code, $verifier);
    return { client_id => $client->{client_id}, tokens => $tokens,
             response => $token_response };
}

# Runs $count copies of $code->($i) in child processes that all start at
# the same instant (they wait on one pipe); returns the values they
# returned (small integers, 0-255), in order.
sub concurrently {
    my ($count, $code) = @_;
    pipe my $gate_r, my $gate_w or die "pipe: $!";
    my @pids;
    for my $i (0 .. $count - 1) {
        my $pid = fork // die "fork: $!";
        if ($pid == 0) {
            close $gate_w;
            my $ignored = <$gate_r>;    # EOF when the parent opens the gate
            my $result = eval { $code->($i) } // 255;
            POSIX::_exit($result);
        }
        push @pids, $pid;
    }
    close $gate_r;
    Time::HiRes::sleep(0.3);            # let every child reach the gate
    close $gate_w;
    my @results;
    for my $pid (@pids) {
        waitpid $pid, 0;
        push @results, $? >> 8;
    }
    return @results;
}

use POSIX ();

1;
