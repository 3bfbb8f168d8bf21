# LeakSanitizer over a 10,000-request loop (ASan builds only).
#
# The test server is stopped and started again with detect_leaks=1, its
# reports written to files (log_path) rather than to the error log, full
# allocation stacks (fast_unwind_on_malloc=0: httpd and most libraries
# have no frame pointers) and the suppressions of t/lib/lsan.supp.  It serves
# 10,000 requests (the echo tool with valid tokens, GET and JSON-RPC; the
# token endpoint with client_credentials; introspection and revocation;
# full registration + authorization + code + refresh flows; error paths),
# and is then stopped gracefully (SIGWINCH): every child finishes, runs
# its exit handlers, and LeakSanitizer checks it.
#
# What a report may hold.  Children never destroy the configuration pool,
# and Debian's APR keeps pool memory in mmap()ed blocks that LeakSanitizer
# does not scan (libapr's allocator calls mmap/munmap), so in a child every
# object a pool cleanup of the configuration pool owns (signing keys,
# parsed key sets) is reported as unreachable at exit although it was
# allocated once, before the fork.  So:
# - a child may report leaks allocated while reading the configuration
#   (the stack goes through ap_run_pre_config/post_config/...); counted,
#   not failed;
# - no leak in any process may have been allocated by our modules while
#   serving (a stack naming mod_mcp_*, mcp_* and not the configuration
#   hooks): that would be a leak per request;
# - the parent destroys its configuration pool on exit: it may report no
#   leak naming our modules at all.
use strict;
use warnings FATAL => 'all';
use Apache::Test;
use Apache::TestUtil;
use FindBin;
use lib "$FindBin::Bin/lib";
use File::Path qw(make_path remove_tree);
use POSIX ();
use Time::HiRes qw(time sleep);
use LWP::UserAgent;
use HTTP::Request::Common ();
use JSON::PP ();
use MCP::AS qw(base basic agent rs_client full_flow refresh register_client);
use MCP::RS qw(check mint bearer);
use MCP::Faults qw(server_command stop_server_gracefully start_server server_pid);

my $t_dir = Apache::Test::vars('t_dir');
my $wrapper = do { local $/; open my $fh, '<', "$t_dir/bin/httpd" or die $!; <$fh> };
plan tests => 8, need { 'LeakSanitizer needs the ASan build (--enable-sanitizers)'
                        => ($wrapper =~ /preload='[^']+'/ ? 1 : 0) };

my $total = $ENV{MCP_LSAN_REQUESTS} // 10000;
my $dir = "$t_dir/state/lsan";
remove_tree($dir);
make_path($dir);
if ($> == 0) {
    my ($uid, $gid) = (getpwnam($ENV{APACHE_TEST_USER} || 'nobody'))[2, 3];
    chown $uid, $gid, $dir;
}
chmod 0777, $dir;

# ---- restart the server with LeakSanitizer on
my $saved = server_command();
ok t_cmp(stop_server_gracefully() ? 1 : 0, 1, 'the server stops');
my $options = join ':', 'detect_leaks=1', "log_path=$dir/lsan",
    'fast_unwind_on_malloc=0', 'malloc_context_size=40',
    'abort_on_error=0', 'allow_user_segv_handler=1';
ok t_cmp(start_server($saved, ASAN_OPTIONS => $options,
                      LSAN_OPTIONS => "suppressions=$t_dir/lib/lsan.supp:print_suppressions=0"), 1,
         'the server starts again with detect_leaks=1');
my $parent = server_pid();

# ---- the loop: four clients in parallel, keep-alive
my $token = mint(claims => { exp => time + 3600 });
my $json = JSON::PP->new->canonical;
my @kinds = (
    # [weight, name, request builder]
    [30, 'echo GET with a token', sub {
        HTTP::Request->new(GET => base() . '/rs/echo?text=leak', [ bearer($token) ]) }],
    [10, 'echo JSON-RPC tools/call', sub {
        HTTP::Request->new(POST => base() . '/rs/echo',
            [ bearer($token), 'Content-Type' => 'application/json',
              Accept => 'application/json, text/event-stream' ],
            $json->encode({ jsonrpc => '2.0', id => 1, method => 'tools/call',
                            params => { name => 'echo', arguments => { text => 'leak' } } })) }],
    [30, 'token client_credentials', sub {
        HTTP::Request::Common::POST(base() . '/oauth/token',
            [ grant_type => 'client_credentials', scope => 'mcp:echo' ], Authorization => basic(agent())) }],
    [5, 'echo without a token (401)', sub { HTTP::Request->new(GET => base() . '/rs/echo?text=x') }],
    [5, 'echo with a bad token (401)', sub {
        HTTP::Request->new(GET => base() . '/rs/echo?text=x', [ bearer("$token.x") ]) }],
    [5, 'token: bad grant (400)', sub {
        HTTP::Request::Common::POST(base() . '/oauth/token', [ grant_type => 'nope' ], Authorization => basic(agent())) }],
    [5, 'token: wrong secret (401)', sub {
        HTTP::Request::Common::POST(base() . '/oauth/token', [ grant_type => 'client_credentials' ],
            Authorization => basic('as-agent', 'wrong')) }],
    [4, 'register: invalid JSON (400)', sub {
        HTTP::Request->new(POST => base() . '/oauth/register', [ 'Content-Type' => 'application/json' ], '{"redirect_uris": [') }],
    [3, 'introspect', sub {
        HTTP::Request::Common::POST(base() . '/oauth/introspect', [ token => $token ], Authorization => basic(rs_client())) }],
    [3, 'revoke junk', sub {
        HTTP::Request::Common::POST(base() . '/oauth/revoke', [ token => 'junk' ], Authorization => basic(agent())) }],
);
my @schedule = map { ($_) x $_->[0] } @kinds;      # 100 slots
my $workers = 4;
my $t0 = time;
my @pids;
for my $w (0 .. $workers - 1) {
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        my $ua = LWP::UserAgent->new(keep_alive => 1, timeout => 60);
        my %result;
        for (my $i = $w; $i < $total; $i += $workers) {
            if ($i % 100 == 99) {
                # a full flow: register, authorize, consent, code, refresh (4+ requests)
                my $flow = eval { full_flow(authorize => { scope => 'mcp:echo' }) };
                my ($response) = $flow ? refresh($flow->{client_id}, $flow->{tokens}{refresh_token}) : ();
                $result{'full flow ' . ($response ? $response->code : 'failed')}++;
                next;
            }
            my $kind = $schedule[$i % 100];
            my $response = $ua->request($kind->[2]->());
            $result{"$kind->[1] " . $response->code}++;
        }
        open my $out, '>', "$dir/result.$w" or die $!;
        print $out "$_\t$result{$_}\n" for sort keys %result;
        close $out;
        POSIX::_exit(0);
    }
    push @pids, $pid;
}
waitpid $_, 0 for @pids;
my $elapsed = time - $t0;
my %result;
for my $w (0 .. $workers - 1) {
    open my $in, '<', "$dir/result.$w" or next;
    while (<$in>) { chomp; my ($k, $n) = split /\t/; $result{$k} += $n }
}
my $done = 0;
$done += $_ for values %result;
t_debug(sprintf '%d requests in %.1f s: %s', $done, $elapsed,
        join ', ', map { "$_ x$result{$_}" } sort keys %result);
my @unexpected = grep { / 5\d\d$/ || / (?:0|failed)$/ } keys %result;
ok t_cmp(scalar @unexpected, 0, "$total requests, no 5xx and no failed flow");

# ---- graceful stop: LeakSanitizer runs in every process as it exits
ok t_cmp(stop_server_gracefully() ? 1 : 0, 1, 'graceful stop');
my (@request_leaks, @parent_leaks, %config_leaks, %other, %reporting);
for my $file (glob "$dir/lsan.*") {
    my ($pid) = $file =~ /lsan\.(\d+)$/;
    open my $fh, '<', $file or die "$file: $!";
    local $/;
    my $text = <$fh>;
    $reporting{$pid} = 1 if $text =~ /LeakSanitizer/;
    # one record per "Direct/Indirect leak of ..." block
    for my $record (split /\n(?=(?:Direct|Indirect) leak of )/, $text) {
        next unless $record =~ /^(Direct|Indirect) leak of (\d+) byte/;
        my $ours = $record =~ /\b(?:mod_mcp_\w+|mcp_\w+)\b/;
        my $config_time = $record =~ /\bap_run_(?:pre_config|post_config|open_logs|test_config)\b|\bap_(?:read_config|process_config_tree)\b/;
        if ($ours && $pid == $parent) { push @parent_leaks, $record }
        elsif ($ours && !$config_time) { push @request_leaks, $record }
        elsif ($ours) { $config_leaks{$pid}++ }
        else { $other{$pid}++ }
    }
}
t_debug(sprintf 'reports from %d processes; configuration-time records naming our modules in children: %s; '
        . 'records naming neither (unsuppressed third-party): %s',
        scalar keys %reporting,
        join(', ', map { "$_=$config_leaks{$_}" } sort keys %config_leaks) || 'none',
        join(', ', map { "$_=$other{$_}" } sort keys %other) || 'none');
# the children report what the configuration pool owns: LeakSanitizer ran
check scalar(grep { $_ != $parent } keys %reporting) >= 1, 'LeakSanitizer ran in the children (their reports are there)';
ok t_cmp(scalar @request_leaks, 0, 'no leak allocated by our modules while serving requests')
    or t_debug(@request_leaks[0 .. ($#request_leaks < 2 ? $#request_leaks : 2)]);
ok t_cmp(scalar @parent_leaks, 0, 'the parent, which destroys its configuration, leaks nothing of ours')
    or t_debug(@parent_leaks[0 .. ($#parent_leaks < 2 ? $#parent_leaks : 2)]);

# ---- the server as the other suites expect it
ok t_cmp(start_server($saved), 1, 'the server starts again as before');
