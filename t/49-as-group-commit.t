# Group commit on SQLite: the write transactions of one child that meet
# at the writer mutex share one SQLite transaction, each in a savepoint of
# its own.  64 code exchanges and 32 refresh requests with unknown tokens
# (each begins a write transaction, finds nothing and rolls back its own
# part) go 16 at a time: every exchange answers 200 with a refresh token
# that is in the store, every unknown token 400; the log (AH30115) shows
# transactions committed together, and batches in which a member rolled
# back while the others were committed.  Then failures injected with
# SQLite triggers on the clients table, 48 registrations 16 at a time:
# a statement that fails (RAISE(ABORT)) costs its own request a 503 and
# nobody else anything; one that rolls back the whole transaction
# (RAISE(ROLLBACK), as SQLite does itself on a full disk or an I/O error)
# loses the batch: every member answers 503, none is in the store, and
# every 201 is.  SQLite only.
use strict;
use warnings FATAL => 'all';
use Apache::Test;
use Apache::TestUtil;
use FindBin;
use lib "$FindBin::Bin/lib";
use Digest::SHA qw(sha256);
use MIME::Base64 qw(encode_base64url);
use JSON::PP;
use MCP::AS qw(pkce register_client register_parallel post_parallel log_since login_code sqlite);

plan tests => 14, need { 'the SQLite store' => defined sqlite('SELECT 1') };

my $log = Apache::Test::vars('t_logs') . '/error_log';
my ($exchanges, $rounds) = (64, 5);

my (undef, $client) = register_client();
my $client_id = $client->{client_id};

# One round: $exchanges fresh codes, every second one followed by an
# unknown refresh token, 16 at a time.  Returns the exchanges'
# [status, decoded body] and the unknown tokens' statuses.
sub round {
    my @requests;
    for my $i (1 .. $exchanges) {
        my ($verifier, $challenge) = pkce();
        my ($code) = login_code(client_id => $client_id, response_type => 'code',
            code_challenge => $challenge, code_challenge_method => 'S256',
            scope => 'mcp:echo');
        die "no code for exchange $i" unless $code;
        push @requests, ['exchange', "grant_type=authorization_code&code=$code"
                         . "&code_verifier=$verifier&client_id=$client_id"];
        if ($i % 2 == 0) {
            my $token = encode_base64url(join '', map { chr int rand 256 } 1 .. 32);
            push @requests, ['unknown', "grant_type=refresh_token"
                             . "&refresh_token=$token&client_id=$client_id"];
        }
    }
    my @replies = post_parallel(16, map {
        ['/oauth/token', 'application/x-www-form-urlencoded', $_->[1]]
    } @requests);
    my (@exchanged, @refused);
    for my $i (0 .. $#requests) {
        if ($requests[$i][0] eq 'unknown') {
            push @refused, $replies[$i][0];
        }
        else {
            push @exchanged, [$replies[$i][0], eval { decode_json($replies[$i][1]) } || {}];
        }
    }
    return (\@exchanged, \@refused);
}

# the batches (AH30115) logged since $offset: [committed, rolled back]
sub batches_since {
    my ($offset) = @_;
    return grep { defined $_->[0] }
        map { [/committed (\d+) write transactions as one, (\d+) more/] }
        log_since($offset, qr/AH30115/);
}

# Rounds until a batch held a rolled-back member beside committed ones
# (the first round nearly always has one), at most $rounds.
my (@exchanged, @refused, @batches);
my $offset = -s $log;
for my $n (1 .. $rounds) {
    my ($e, $u) = round();
    push @exchanged, @$e;
    push @refused, @$u;
    @batches = batches_since($offset);
    last if grep { $_->[0] > 0 && $_->[1] > 0 } @batches;
}
my $played = @exchanged / $exchanges;
t_debug("$played round(s), " . scalar(@batches) . ' batches: '
        . join ' ', map { "$_->[0]+$_->[1]" } @batches);

ok t_cmp(scalar(grep { $_->[0] eq '200' && $_->[1]{refresh_token} } @exchanged),
         scalar @exchanged, 'every code exchange: 200 with a refresh token');
ok t_cmp(scalar(grep { $_ eq '400' } @refused), scalar @refused,
         'every unknown refresh token: 400');

t_debug('write transactions were committed together (a batch of more than one)');
ok scalar grep { $_->[0] > 1 } @batches;
t_debug('a batch committed its members while one of them rolled back its own part');
ok scalar grep { $_->[0] > 0 && $_->[1] > 0 } @batches;
my ($committed, $rolled_back) = (0, 0);
for (@batches) {
    $committed += $_->[0];
    $rolled_back += $_->[1];
}
t_debug("transactions committed in batches: $committed; rolled back: $rolled_back");
ok $committed >= @exchanged;

# every refresh token answered is in the store (durable before the answer)
my @hashes = map { "'" . encode_base64url(sha256($_->[1]{refresh_token} // '')) . "'" }
             @exchanged;
my $stored = sqlite('SELECT COUNT(*) FROM refresh_tokens WHERE token_hash IN ('
                    . join(',', @hashes) . ')');
ok t_cmp($stored, scalar(@exchanged) . "\n", 'every refresh token answered is in the store');

# $n registrations named "$tag-RUN-$i", poisoned (named "$poison-RUN-$i")
# every $every, RUN this run of the test (the store outlives it); returns
# { name => status }
my $run = time . "-$$";
sub register_round {
    my ($tag, $n, $poison, $every) = @_;
    return register_parallel(16, map { $_ % $every ? "$tag-$run-$_" : "$poison-$run-$_" } 1 .. $n);
}

# how many of these names are registered
sub stored {
    my @names = @_;
    return 0 unless @names;
    my ($count) = sqlite('SELECT COUNT(*) FROM clients WHERE '
        . join(' OR ', map { "metadata LIKE '%\"$_\"%'" } @names)) =~ /(\d+)/;
    return $count;
}

sqlite(q{CREATE TRIGGER t49_abort BEFORE INSERT ON clients
         WHEN NEW.metadata LIKE '%"gc-abort-%' BEGIN
         SELECT RAISE(ABORT, 'failure injected by t/49'); END;
         CREATE TRIGGER t49_rollback BEFORE INSERT ON clients
         WHEN NEW.metadata LIKE '%"gc-rollback%' BEGIN
         SELECT RAISE(ROLLBACK, 'failure injected by t/49'); END;});

my $status = register_round('gc-kept', 48, 'gc-abort', 4);
my @poisoned = grep { /abort/ } keys %$status;
my @kept = grep { !/abort/ } keys %$status;
t_debug('statuses: ' . join ' ', map { "$_=$status->{$_}" } sort keys %$status);
ok t_cmp(scalar(grep { $status->{$_} eq '503' } @poisoned), scalar @poisoned,
         'a statement that fails: 503 for its request');
ok t_cmp(scalar(grep { $status->{$_} eq '201' } @kept), scalar @kept,
         'and 201 for every other request, batched with it or not');
ok t_cmp(stored(@kept) . '/' . stored(@poisoned), scalar(@kept) . '/0',
         'every 201 is in the store, no 503');

# until a batch was lost with a request that did nothing wrong in it
my (%answered, @lost);
$offset = -s $log;
for my $n (1 .. $rounds) {
    my $round = register_round("gc-bystander$n", 48, "gc-rollback$n", 8);
    %answered = (%answered, %$round);
    @lost = grep { $_ > 0 } map { /lost (\d+) write transactions as one/ ? $1 : () }
            log_since($offset, qr/AH30115/);
    last if grep { !/rollback/ && $round->{$_} eq '503' } keys %$round;
}
sqlite('DROP TRIGGER t49_abort; DROP TRIGGER t49_rollback;');
my @created = grep { $answered{$_} eq '201' } keys %answered;
my @unavailable = grep { $answered{$_} eq '503' } keys %answered;
my @rolled = grep { /rollback/ } keys %answered;
t_debug(scalar(@created) . ' created, ' . scalar(@unavailable) . ' refused, '
        . 'lost batches (members): ' . join(' ', @lost));
ok t_cmp(scalar(grep { $answered{$_} eq '503' } @rolled), scalar @rolled,
         'a statement that rolls the transaction back: 503 for its request');
ok t_cmp(scalar(@created) + scalar(@unavailable), scalar(keys %answered),
         'every other request 201 or 503');
t_debug('a request that did nothing wrong lost its batch: 503, logged (AH30115)');
ok scalar(grep { !/rollback/ } @unavailable) > 0 && @lost > 0;
ok t_cmp(stored(@created) . '/' . stored(@unavailable), scalar(@created) . '/0',
         'every 201 is in the store, no 503');
ok t_cmp(sqlite('PRAGMA integrity_check'), "ok\n", 'the database is intact');
