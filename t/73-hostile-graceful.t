# apachectl -k graceful twenty times under a steady load against the echo
# tool, the token endpoint and registration (which writes to the store):
# no request fails because of the restarts,
# and the server's file descriptors, store handles and shared-memory
# mappings stay flat.
use strict;
use warnings FATAL => 'all';
use Apache::Test;
use Apache::TestUtil;
use FindBin;
use lib "$FindBin::Bin/lib";
use Time::HiRes qw(sleep time);
use HTTP::Request::Common ();
use MCP::AS qw(base ua basic agent register_client);
use MCP::RS qw(check);

plan tests => 7;

my $logs = Apache::Test::vars('t_logs');
my $pidfile = "$logs/httpd.pid";
sub server_pid { open my $fh, '<', $pidfile or return; my $pid = <$fh>; chomp $pid; $pid }
sub log_text { open my $fh, '<', "$logs/error_log" or return ''; local $/; <$fh> }

# the parent and its children: open descriptors, those on the store, and
# shared-memory mappings (socache shmcb, scoreboard)
sub resources {
    my $parent = server_pid();
    my @pids = ($parent);
    for my $status (glob '/proc/[0-9]*/status') {
        open my $s, '<', $status or next;
        local $/;
        my $text = <$s>;
        push @pids, $1 if $text =~ /^PPid:\s+$parent$/m && $status =~ m{/proc/(\d+)/};
    }
    my %r = (fds => 0, store => 0, shm => 0, children => @pids - 1);
    for my $pid (@pids) {
        for my $fd (glob "/proc/$pid/fd/*") {
            my $target = readlink($fd) // next;
            $r{fds}++;
            $r{store}++ if $target =~ /as\.db/;
        }
    }
    if (open my $maps, '<', "/proc/$parent/maps") {
        $r{shm} = grep { m{/dev/shm|/dev/zero|SYSV|\(deleted\)} } <$maps>;
    }
    return \%r;
}

# warm up, so that the children open what they keep (the store too)
sub warm_up { ua()->get(base() . '/echo?text=warm') for 1 .. 10; register_client() for 1 .. 20 }
# One graceful restart before measuring: a module may set up once, at the
# first restart, what it keeps across restarts (mod_qos maps three more
# shared-memory segments then, and none at any later restart); growth is
# what the next twenty restarts add.
my $first = () = log_text() =~ /resuming normal operations/g;
kill 'USR1', server_pid();
for (1 .. 100) { last if (() = log_text() =~ /resuming normal operations/g) > $first; sleep 0.1 }
sleep 1;
warm_up();
my $before = resources();
my $generations_before = () = log_text() =~ /resuming normal operations/g;

my $stop = Apache::Test::vars('t_dir') . "/state/graceful-stop.$$";
unlink $stop;
my @loaders;
for my $kind ('echo', 'token') {
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        my ($ok, $n, @failures) = (0, 0);
        my $agent = ua();
        until (-e $stop) {
            my $response = $kind eq 'echo'
                ? $agent->get(base() . '/echo?text=steady')
                : ++$n % 4 == 0 ? (register_client())[0]
                : $agent->request(HTTP::Request::Common::POST(base() . '/oauth/token',
                      [ grant_type => 'client_credentials' ],
                      Authorization => basic(agent())));
            if ($response->code == 200 || $response->code == 201) { $ok++ }
            else { push @failures, $response->status_line }
        }
        open my $out, '>', "$stop.$kind" or die $!;
        print $out join("\n", $ok, @failures), "\n";
        close $out;
        exit 0;
    }
    push @loaders, $pid;
}

my $parent = server_pid();
for (1 .. 20) {
    kill 'USR1', $parent or die "cannot signal httpd $parent";
    sleep 1.5;
}
sleep 2;
open my $flag, '>', $stop or die $!; close $flag;
waitpid $_, 0 for @loaders;

my ($served, @failed) = (0);
for my $kind ('echo', 'token') {
    open my $in, '<', "$stop.$kind" or die "no result from the $kind loader";
    chomp(my @lines = <$in>);
    $served += shift @lines;
    push @failed, map { "$kind: $_" } @lines;
    unlink "$stop.$kind";
}
unlink $stop;
my $generations = (() = log_text() =~ /resuming normal operations/g) - $generations_before;
ok t_cmp(server_pid(), $parent, 'the same parent process throughout');
check $generations >= 20, "twenty graceful restarts happened ($generations)";
check $served > 50, "the load kept being served ($served requests)";
ok t_cmp(scalar(@failed), 0, 'no request failed during the restarts'
         . (@failed ? ': ' . join('; ', @failed[0 .. ($#failed < 4 ? $#failed : 4)]) : ''));

warm_up();
sleep 2;   # old generations finish and exit
my $after = resources();
t_debug("before: @{[ map { \"$_=$before->{$_}\" } sort keys %$before ]}");
t_debug("after:  @{[ map { \"$_=$after->{$_}\" } sort keys %$after ]}");
# children come and go; per child, descriptors and store handles are flat
my $per_child = sub { my ($r, $what) = @_; $r->{children} ? $r->{$what} / $r->{children} : $r->{$what} };
check $per_child->($after, 'fds') <= $per_child->($before, 'fds') + 4,
    "descriptors per process flat ($before->{fds}/$before->{children} -> $after->{fds}/$after->{children})";
# a store connection is three files (db, -wal, -shm); a handle leaked per
# restart would leave twenty more
my $store_bound = ($before->{store} > 3 * $after->{children} ? $before->{store} : 3 * $after->{children}) + 3;
check $after->{store} <= $store_bound,
    "store handles flat ($before->{store} -> $after->{store}, at most $store_bound for $after->{children} children)";
ok t_cmp($after->{shm}, $before->{shm}, 'shared-memory mappings of the parent unchanged');
