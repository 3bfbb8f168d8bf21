package MCP::Faults;
# Helpers for the fault tests (t/76, t/77, t/78, t/46): kill the whole
# test server and start it again exactly as Apache::Test started it (same
# command line, same environment, optionally with changes), stop it
# gracefully, wait for it to answer.
use strict;
use warnings;
use Exporter 'import';
use Time::HiRes qw(time sleep);
use Apache::Test ();
use MCP::AS qw(base ua);

our @EXPORT_OK = qw(server_pid server_command kill_server start_server
    stop_server_gracefully wait_up wait_down children);

sub pidfile { Apache::Test::vars('t_logs') . '/httpd.pid' }

sub server_pid {
    open my $fh, '<', pidfile() or return;
    my $pid = <$fh>;
    return unless defined $pid;
    chomp $pid;
    return $pid;
}

# The running parent's command line and environment, to start it again.
sub server_command {
    my $pid = server_pid() // die 'no httpd.pid';
    my $cmdline = do { local $/; open my $fh, '<', "/proc/$pid/cmdline" or die "$pid: $!"; <$fh> };
    my $environ = do { local $/; open my $fh, '<', "/proc/$pid/environ" or die "$pid: $!"; <$fh> };
    my @command = split /\0/, $cmdline;
    my %env = map { /^([^=]+)=(.*)$/s ? ($1 => $2) : () } split /\0/, $environ;
    # the environment of the parent holds the preload the wrapper set:
    # starting t/bin/httpd's target directly with it is what the wrapper does
    return { pid => $pid, command => \@command, env => \%env };
}

# The server's children (pids), from /proc.
sub children {
    my $parent = server_pid() // return ();
    my @pids;
    for my $status (glob '/proc/[0-9]*/status') {
        open my $s, '<', $status or next;
        local $/;
        my $text = <$s>;
        push @pids, $1 if $text =~ /^PPid:\s+$parent$/m && $status =~ m{/proc/(\d+)/};
    }
    return @pids;
}

# kill -9 of the parent and every child (the parent leads its group).
sub kill_server {
    my ($saved) = @_;
    my $pid = $saved->{pid};
    my $pgid = getpgrp($pid);
    my @victims = ($pid, children());
    my $ok = ($pgid > 1 && kill('KILL', -$pgid)) || kill('KILL', @victims);
    kill 'KILL', @victims;
    my $deadline = time + 10;
    while (time < $deadline && grep { kill 0, $_ } @victims) { sleep 0.05 }
    unlink pidfile();
    return $ok;
}

# Starts the server again with the saved command (and %override env).
# A port that a killed server held may take a moment to be free again
# (many threads, ASan's mappings to tear down, a busy machine): retry.
sub start_server {
    my ($saved, %override) = @_;
    local %ENV = (%{ $saved->{env} }, %override);
    my $deadline = time + 20;
    until (system(@{ $saved->{command} }) == 0) {
        die "cannot start httpd: @{ $saved->{command} }" if time > $deadline;
        sleep 0.5;
    }
    return wait_up();
}

sub wait_up {
    my $deadline = time + 60;
    while (time < $deadline) {
        my $response = ua()->get(base() . '/.well-known/oauth-authorization-server');
        return 1 if $response->code == 200;
        sleep 0.2;
    }
    return 0;
}

sub wait_down {
    my ($pid, $seconds) = @_;
    my $deadline = time + ($seconds // 60);
    while (time < $deadline) {
        return 1 unless kill 0, $pid;
        sleep 0.1;
    }
    return 0;
}

# SIGWINCH: graceful stop, children finish their requests and exit
# normally (their pools destroyed, atexit handlers run).
sub stop_server_gracefully {
    my $pid = server_pid() // return 0;
    my @children = children();
    kill 'WINCH', $pid or return 0;
    my $ok = wait_down($pid, 60);
    wait_down($_, 10) for @children;
    unlink pidfile();
    return $ok;
}

1;
