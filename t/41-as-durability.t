# Durability: after `apachectl -k restart` (SIGHUP) and after kill -9 of
# the whole server under load, every client that got a 201 is still
# registered and every refresh token handed out works exactly once.
use strict;
use warnings FATAL => 'all';
use Apache::Test;
use Apache::TestUtil;
use FindBin;
use lib "$FindBin::Bin/lib";
use File::Temp qw(tempdir);
use Time::HiRes qw(time sleep);
use MCP::AS qw(base ua register_client refresh full_flow token_request);
use MCP::Faults qw(server_pid wait_up server_command kill_server start_server);

plan tests => 9;

# A client still registered: the token endpoint knows it (invalid_grant
# for a junk refresh token rather than invalid_client).
sub registered {
    my ($client_id) = @_;
    my (undef, $body) = refresh($client_id, 'J' x 43);
    return ($body->{error} // '') eq 'invalid_grant';
}
# Works exactly once: a refresh succeeds, and the same token is then refused.
sub exactly_once {
    my ($client_id, $token) = @_;
    my ($first) = refresh($client_id, $token);
    my (undef, $second) = refresh($client_id, $token);
    return $first->code == 200 && ($second->{error} // '') eq 'invalid_grant';
}
sub verify {
    my ($records, $what) = @_;
    my @lost_clients = grep { !registered($_->[0]) } @$records;
    my @bad_tokens = grep { defined $_->[1] && !exactly_once(@$_) } @$records;
    ok t_cmp(scalar @lost_clients, 0, "$what: every client that got 201 is registered");
    ok t_cmp(scalar @bad_tokens, 0, "$what: every refresh token handed out works exactly once");
}

# ---- graceful restart
my @records;
for (1 .. 5) {
    my $flow = full_flow(authorize => { scope => 'mcp:echo' });
    push @records, [$flow->{client_id}, $flow->{tokens}{refresh_token}];
    my ($response, $client) = register_client();
    push @records, [$client->{client_id}, undef] if $response->code == 201;
}
my $pid = server_pid();
ok kill('HUP', $pid);
sleep 1;
ok t_cmp(wait_up(), 1, 'the server is back after a restart');
verify(\@records, 'after a restart');

# ---- kill -9 of the whole server under load
my $saved = server_command();
my $dir = tempdir(CLEANUP => 1);

my @loaders;
for my $n (1 .. 4) {
    my $child = fork // die "fork: $!";
    if ($child == 0) {
        open my $out, '>', "$dir/loader$n" or die $!;
        $out->autoflush(1);
        my $deadline = time + 6;
        while (time < $deadline) {
            my ($response, $client) = eval { register_client() };
            last unless $response;
            print $out "$client->{client_id}\n" if $response->code == 201;
            my $flow = eval { full_flow(authorize => { scope => 'mcp:echo' }) };
            print $out "$flow->{client_id} $flow->{tokens}{refresh_token}\n"
                if $flow && $flow->{response}->code == 200;
            # keep a family rotating, as a real client would
            if ($flow && $flow->{tokens}{refresh_token}) {
                my (undef, $rotated) = eval { refresh($flow->{client_id}, $flow->{tokens}{refresh_token}) };
                print $out "$flow->{client_id} $rotated->{refresh_token}\n"
                    if $rotated && $rotated->{refresh_token};
                print $out "USED $flow->{tokens}{refresh_token}\n";
            }
        }
        close $out;
        require POSIX;
        POSIX::_exit(0);
    }
    push @loaders, $child;
}
sleep 2.5;
# kill_server waits until every process of the server is gone, and
# start_server retries while the port is still held
ok kill_server($saved);
waitpid $_, 0 for @loaders;
start_server($saved);
ok t_cmp(wait_up(), 1, 'the server comes back after kill -9');

@records = ();
my %used;
for my $n (1 .. 4) {
    open my $in, '<', "$dir/loader$n" or next;
    while (<$in>) {
        chomp;
        if (/^USED (\S+)$/) { $used{$1} = 1; next }
        my ($client_id, $token) = split / /;
        push @records, [$client_id, $token];
    }
}
# a token the loader went on to rotate is no longer unused
$_->[1] = undef for grep { defined $_->[1] && $used{$_->[1]} } @records;
t_debug(scalar(@records) . ' clients and ' . scalar(grep { defined $_->[1] } @records)
        . ' unused refresh tokens were handed out before the kill');
ok @records >= 4;
verify(\@records, 'after kill -9 under load');
