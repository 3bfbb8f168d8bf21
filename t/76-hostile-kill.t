# No code works twice, even across a kill -9 of the whole server.
#
# Four load generators obtain authorization codes (authorize, consent
# remembered) and exchange most of them, replaying every other redeemed
# code at once; some codes they keep unredeemed.  They write down every
# code before they send it, and what the token endpoint answered (200, an error,
# or nothing because the server died).  The server is killed with -9 in
# the middle, started again, and every code is then tried once more:
# - before the kill, no replay succeeded;
# - every code answered 200 has its used-code marker in the store (SQLite);
# - after the restart every code is refused with invalid_grant, whether
#   it was redeemed, never sent, or sent without an answer: across before
#   and after, a code succeeded at most once;
# - a code whose exchange was answered 200 left a durable used-code marker
#   (its replay after the restart says "already used"), and that replay
#   revokes the refresh token the code produced (OAuth 2.1 §4.1.3).
# Codes live in the socache (shmcb: gone with the killed server), the
# markers in the store: with a cache that outlives the server (memcache,
# t/suites/memcache.sh) the markers alone keep a redeemed code from
# working twice, and a code never redeemed may work after the restart,
# once.
use strict;
use warnings FATAL => 'all';
use Apache::Test;
use Apache::TestUtil;
use FindBin;
use lib "$FindBin::Bin/lib";
use File::Temp qw(tempdir);
use POSIX ();
use Time::HiRes qw(time sleep);
use Digest::SHA qw(sha256);
use MIME::Base64 qw(encode_base64url);
use MCP::AS qw(pkce register_client login_code exchange_code refresh sqlite);
use MCP::Faults qw(server_command kill_server start_server);

plan tests => 10;

my $dir = tempdir(CLEANUP => 1);
my $saved = server_command();
# t/suites/memcache.sh runs this with MCPCache memcache, whose codes
# survive the kill of the server
my $cache_survives = do {
    my $conf = Apache::Test::vars('t_dir') . '/state/as-store.conf';
    my $text = '';
    if (open my $fh, '<', $conf) { local $/; $text = <$fh> }
    $text =~ /^\s*MCPCache\s+memcache/m;
};

my @loaders;
for my $n (1 .. 4) {
    my $child = fork // die "fork: $!";
    if ($child == 0) {
        open my $out, '>', "$dir/loader$n" or die $!;
        $out->autoflush(1);
        my (undef, $client) = eval { register_client() };
        POSIX::_exit(0) unless $client && $client->{client_id};
        my $client_id = $client->{client_id};
        my $deadline = time + 8;
        my $i = 0;
        while (time < $deadline) {
            my ($verifier, $challenge) = pkce();
            my ($code) = eval { login_code(client_id => $client_id, response_type => 'code',
                code_challenge => $challenge, code_challenge_method => 'S256',
                scope => 'mcp:echo', state => 's') };
            next unless $code;
            # written down before the exchange is sent
            print $out "CODE $client_id $verifier $code\n";
            next if ++$i % 4 == 0;      # a code the client never redeems
            my ($response, $tokens) = eval { exchange_code($client_id, $code, $verifier) };
            my $status = $response ? $response->code : 0;
            # LWP answers 500 itself when the connection dies
            $status = 0 if $response && ($response->header('Client-Warning') // '') eq 'Internal response';
            print $out "RESULT $code $status ", ($tokens && $tokens->{refresh_token}) // '-', "\n";
            # every other redeemed code is replayed at once
            next unless $status == 200 && $i % 2 == 0;
            my ($replay, $replayed) = eval { exchange_code($client_id, $code, $verifier) };
            my $replay_status = $replay ? $replay->code : 0;
            $replay_status = 0 if $replay && ($replay->header('Client-Warning') // '') eq 'Internal response';
            print $out "REPLAY $code $replay_status ", ($replayed && $replayed->{error}) // '-', "\n";
        }
        close $out;
        POSIX::_exit(0);
    }
    push @loaders, $child;
}
sleep 3;
ok t_cmp(kill_server($saved) ? 1 : 0, 1, 'kill -9 of the whole server under load');
waitpid $_, 0 for @loaders;
sleep 0.5;
ok t_cmp(start_server($saved), 1, 'the server comes back after kill -9');

# what the load generators were told
my (%codes, %result, %replay);
for my $n (1 .. 4) {
    open my $in, '<', "$dir/loader$n" or next;
    while (<$in>) {
        chomp;
        my @f = split / /;
        if ($f[0] eq 'CODE') { $codes{$f[3]} = { client_id => $f[1], verifier => $f[2] } }
        elsif ($f[0] eq 'RESULT') { $result{$f[1]} = { status => $f[2], refresh => $f[3] } }
        elsif ($f[0] eq 'REPLAY') { $replay{$f[1]} = { status => $f[2], error => $f[3] } }
    }
}
my @redeemed = grep { $result{$_} && $result{$_}{status} == 200 } keys %codes;
my @unanswered = grep { $result{$_} && $result{$_}{status} == 0 } keys %codes;
my @unsent = grep { !$result{$_} } keys %codes;
t_debug(sprintf '%d codes: %d redeemed (200), %d sent without an answer, %d never sent, %d refused',
        scalar keys %codes, scalar @redeemed, scalar @unanswered, scalar @unsent,
        scalar(keys %codes) - @redeemed - @unanswered - @unsent);
ok @redeemed >= 10 && @unsent >= 3;

# before the kill: no replay worked (a replay cut off by the kill is no answer)
my @replayed_ok = grep { $replay{$_} && $replay{$_}{status} == 200 } @redeemed;
my @replayed = grep { $replay{$_} && $replay{$_}{status} != 0 } @redeemed;
my @replay_refused = grep { $replay{$_}{error} eq 'invalid_grant' } @replayed;
t_debug(scalar(@replayed) . ' codes replayed before the kill');
ok t_cmp(scalar @replayed_ok, 0, 'before the kill: no redeemed code worked a second time');
ok t_cmp(@replayed >= 5 && @replay_refused == @replayed ? 'refused'
         : scalar(@replay_refused) . ' of ' . scalar(@replayed),
         'refused', 'before the kill: replays were refused with invalid_grant');

# the used-code markers of every redeemed code are in the store (SQLite)
my $markers = sqlite('SELECT code_hash FROM used_codes;');
if (defined $markers) {
    my %marked = map { $_ => 1 } split /\n/, $markers;
    my @unmarked = grep { !$marked{ encode_base64url(sha256($_)) } } @redeemed;
    ok t_cmp(scalar @unmarked, 0, 'every code answered 200 has its used-code marker in the store');
}
else {
    skip 'the store is not SQLite', 1;
}

# after the restart: every code again (twice if it works), and what it
# was refused for
my (%after, @worked_twice, %description);
for my $code (sort keys %codes) {
    my ($response, $body) = exchange_code($codes{$code}{client_id}, $code, $codes{$code}{verifier});
    my $error = $response->code == 200 ? 'OK' : ($body && $body->{error}) // $response->code;
    $after{$error}++;
    $description{$code} = ($body && $body->{error_description}) // '';
    my $successes = ($response->code == 200) + ($result{$code} && $result{$code}{status} == 200 ? 1 : 0);
    if ($response->code == 200) {
        my ($again) = exchange_code($codes{$code}{client_id}, $code, $codes{$code}{verifier});
        $successes++ if $again->code == 200;
    }
    push @worked_twice, $code if $successes > 1;
}
t_debug(join ', ', map { "$_: $after{$_}" } sort keys %after);
if ($cache_survives) {
    # codes outlive the server (memcache): one never sent may be redeemed
    # now, once; one redeemed before may not
    my @redeemed_again = grep { $description{$_} eq '' } @redeemed;
    ok t_cmp(scalar @redeemed_again, 0, 'after kill -9: every redeemed code is refused (the cache kept the codes)');
}
else {
    ok t_cmp(join(',', sort keys %after), 'invalid_grant',
             'after kill -9: every code (redeemed, unanswered, never sent) is refused with invalid_grant');
}
ok t_cmp(scalar @worked_twice, 0, 'no code succeeded more than once across the kill');
my @forgotten = grep { $description{$_} !~ /already used/ } @redeemed;
ok t_cmp(scalar @forgotten, 0, 'every redeemed code is still known as used after the restart (durable marker)');

# ... and its replay revoked what it produced
my @still_valid;
my $checked = 0;
for my $code (@redeemed) {
    # a family a replay before the kill revoked says nothing here
    next if $result{$code}{refresh} eq '-' || $replay{$code};
    $checked++;
    my ($response) = refresh($codes{$code}{client_id}, $result{$code}{refresh});
    push @still_valid, $code if $response->code == 200;
}
t_debug("$checked refresh tokens of codes first replayed after the restart");
ok t_cmp($checked >= 5 ? scalar @still_valid : 'too few', 0, 'the replay after the restart revoked the refresh tokens the codes produced');
