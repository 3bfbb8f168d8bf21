# mcp-client against our own modules (t/conf/client-modules.conf.in): the
# whole flow through mod_mcp_rs's echo tool and mod_mcp_as, with GET and
# with --tool echo; the token store; reuse; refresh after expiry and after
# invalid_token; step-up after a 403; client credentials for an agent.
use strict;
use warnings FATAL => 'all';
use Apache::Test;
use Apache::TestUtil;
use Apache::TestRequest ();
use FindBin;
use JSON::PP;
use File::Temp ();
use lib "$FindBin::Bin/lib";
use MCP::Client qw(mcp_client client_binary fresh_store);

plan tests => 36, sub { -x client_binary() };

Apache::TestRequest::module('mcp_client');
my $port = Apache::TestRequest::hostport() =~ s/.*://r;
Apache::TestRequest::module('default');
my $base = "http://127.0.0.1:$port";
my $login = 'carol:carol-password';
my $store = fresh_store();
my $r;

sub okr {
    my ($r, $exit, $name) = @_;
    ok t_cmp($r->{exit} == $exit ? 1 : "exit $r->{exit}; stderr: $r->{err}", 1, $name);
}
sub load_store { my $f = shift; local $/; open my $fh, '<', $f or die; JSON::PP->new->decode(<$fh>) }
sub save_store {
    my ($f, $data) = @_;
    open my $fh, '>', "$f.new" or die;
    print $fh JSON::PP->new->encode($data);
    close $fh;
    chmod 0600, "$f.new";
    rename "$f.new", $f or die;
}

# 1. from nothing to the echo: 401, discovery, registration, login, consent, token
$r = mcp_client('-v', '--login', $login, '--token-store', $store, "$base/mcp?text=hello");
okr($r, 0, 'GET through the whole flow: exit 0');
my $echo = eval { JSON::PP->new->decode($r->{out}) } || {};
ok t_cmp($echo->{echo}, 'hello', 'the echo tool answers');
ok t_cmp($echo->{sub}, 'carol', 'as the user who logged in');
ok t_cmp($echo->{scope}, 'mcp:echo', 'with the scope of the challenge');
ok t_cmp($r->{err}, qr{protected-resource metadata from \Q$base\E/\.well-known/oauth-protected-resource/mcp},
         'the resource metadata from the challenge\'s URL');
ok t_cmp($r->{err}, qr{authorization server \Q$base\E: metadata from \Q$base\E/\.well-known/oauth-authorization-server},
         'the authorization server metadata from the RFC 8414 URL');
ok t_cmp($r->{err}, qr/registered as client \S+ at \Q$base\E\/oauth\/register/, 'registered dynamically');
ok t_cmp($r->{err}, qr/consenting at \Q$base\E\/oauth\/authorize/, 'consented through the form');
ok t_cmp($r->{err} =~ /"access_token"|eyJ[A-Za-z0-9_-]{10,}\./ ? 0 : 1, 1, 'no token in the trace');

# 2. the token store
ok t_cmp(sprintf('%04o', (stat $store)[2] & 07777), '0600', 'the token store is mode 0600');
(my $store_dir = $store) =~ s{/[^/]+$}{};
ok t_cmp(sprintf('%04o', (stat $store_dir)[2] & 07777), '0700', 'in a 0700 directory');
my $data = load_store($store);
ok t_cmp(scalar @{ $data->{tokens} }, 1, 'one token stored');
ok t_cmp($data->{tokens}[0]{resource}, "$base/mcp", 'for the resource');
ok t_cmp($data->{tokens}[0]{issuer}, $base, 'and the authorization server');
ok t_cmp($data->{tokens}[0]{access_token}, qr/^eyJ/, 'a JWT access token');
ok t_cmp(defined $data->{tokens}[0]{refresh_token} ? 1 : 0, 1, 'with a refresh token');

# 3. reuse, and MCP: initialize, notifications/initialized, tools/call
$r = mcp_client('-v', '--token-store', $store, '--tool', 'echo', '--arg', 'text=hi there', "$base/mcp");
okr($r, 0, '--tool echo with the stored token: exit 0');
ok t_cmp($r->{out}, qr/^hi there\n/, 'the tool\'s text is printed');
ok t_cmp($r->{err} !~ /authorization request/ ? 1 : $r->{err}, 1, 'no new authorization');
ok t_cmp($r->{err}, qr/initialized: protocol 2025-11-25, server mod_mcp_rs-echo/, 'the MCP session was initialized');
$r = mcp_client('--token-store', $store, '--list-tools', "$base/mcp");
ok t_cmp($r->{exit} == 0 && $r->{out} =~ /^echo\t/m ? 1 : "exit $r->{exit}: $r->{err}", 1, '--list-tools lists echo');

# 4. refresh after expiry (the store says the token has expired)
$data = load_store($store);
my $old_refresh = $data->{tokens}[0]{refresh_token};
$data->{tokens}[0]{expires_at} = time - 10;
save_store($store, $data);
$r = mcp_client('-v', '--token-store', $store, "$base/mcp?text=later");
okr($r, 0, 'expired token: exit 0');
ok t_cmp($r->{err}, qr/it has expired; refreshing.*refreshed the access token/s, 'refreshed before use');
ok t_cmp($r->{err} !~ /authorization request/ ? 1 : 0, 1, 'without a new authorization');
$data = load_store($store);
ok t_cmp($data->{tokens}[0]{refresh_token} ne $old_refresh ? 1 : 0, 1, 'the refresh token rotated');

# 5. refresh after invalid_token (the resource refuses a damaged token)
$data->{tokens}[0]{access_token} .= 'x';
save_store($store, $data);
$r = mcp_client('-v', '--token-store', $store, "$base/mcp?text=again");
okr($r, 0, 'refused token: exit 0');
ok t_cmp($r->{err}, qr/token refused \(invalid_token\); refreshing/, 'refreshed after invalid_token');

# 6. four runs at once with an expired token: one refreshes, the others
# wait for the store's lock and use its token; nobody spends a refresh
# token twice (which would revoke the whole family: every run would fail)
$data = load_store($store);
$data->{tokens}[0]{expires_at} = time - 10;
save_store($store, $data);
my $dir = File::Temp::tempdir('mcp-client-parallel-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my @pids;
for my $i (1 .. 4) {
    my $pid = fork // die;
    if ($pid == 0) {
        delete $ENV{BROWSER};
        open STDIN, '<', '/dev/null';
        open STDOUT, '>', "$dir/out$i";
        open STDERR, '>', "$dir/err$i";
        exec client_binary(), '-v', '--wait', '2', '--token-store', $store, "$base/mcp?text=p$i";
        exit 127;
    }
    push @pids, $pid;
}
my @exits = map { waitpid($_, 0); $? >> 8 } @pids;
my $errors = join '', map { local $/; open my $fh, '<', "$dir/err$_" or die; <$fh> } 1 .. 4;
ok t_cmp("@exits", '0 0 0 0', 'four runs at once: all exit 0');
my $refreshes = () = $errors =~ /refreshed the access token/g;
my $adopted = () = $errors =~ /another mcp-client run has renewed the token/g;
# a run that starts after the refresh simply finds the new token stored
ok t_cmp($refreshes, 1, 'exactly one run refreshes');
ok t_cmp($errors !~ /authorization request/ && $adopted <= 3 ? 1 : "adopted $adopted; $errors", 1,
         'the others use its token, adopted while waiting or found stored');

# 7. step-up: /mcp/admin needs mcp:admin too; 403, then the union of scopes
$r = mcp_client('-v', '--login', $login, '--token-store', $store, "$base/mcp/admin?text=up");
okr($r, 0, 'step-up: exit 0');
ok t_cmp($r->{err}, qr/insufficient scope; asking for .*mcp:admin/, 'the 403 was understood');
ok t_cmp($r->{err}, qr/authorization request to \S+ \(scope: mcp:echo mcp:admin\)/, 're-authorized with the union');
$echo = eval { JSON::PP->new->decode($r->{out}) } || {};
ok t_cmp($echo->{scope}, 'mcp:echo mcp:admin', 'the new token carries both scopes');

# 8. an agent: client credentials, no user
$r = mcp_client('--token-store', fresh_store(), '--grant', 'client_credentials', '--client-id', 'client-agent',
                '--client-secret', 'client-agent-secret-0123456789', "$base/mcp?text=agent");
okr($r, 0, 'client_credentials: exit 0');
$echo = eval { JSON::PP->new->decode($r->{out}) } || {};
ok t_cmp($echo->{client_id}, 'client-agent', 'the token is the agent\'s');
