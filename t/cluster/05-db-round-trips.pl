# What the shared database costs per request, counted by PostgreSQL itself
# (pg_stat_statements): every statement is one round trip from a node.
# Housekeeping (expired markers, about one request in 256) is counted apart.
use strict;
use warnings FATAL => 'all';
use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More tests => 8;
use MCP::AS qw(register_client pkce login_code authorize query_of
               exchange_code token_request agent);
use MCP::Cluster qw(on env);

sub psql {
    my ($sql) = @_;
    open my $fh, '-|', env('PGBIN') . '/psql', '-h', '127.0.0.1', '-p', env('PG_PORT'),
        '-U', 'postgres', '-At', '-F', "\t", '-c', $sql, 'mcp_as' or die "psql: $!";
    local $/;
    my $out = <$fh>;
    close $fh or die "psql failed: $sql\n";
    return $out;
}
sub reset_counts { psql('SELECT pg_stat_statements_reset()') }

# label => calls: BEGIN, COMMIT, ROLLBACK, or the prepared statement's name
sub counts {
    my %calls;
    for (split /\n/, psql(q{SELECT calls, query FROM pg_stat_statements
            WHERE dbid = (SELECT oid FROM pg_database WHERE datname = 'mcp_as')
              AND query NOT LIKE '%pg_stat_statements%'})) {
        my ($calls, $query) = split /\t/, $_, 2;
        my $label = $query =~ /^PREPARE (\w+)/ ? $1 : (split ' ', $query)[0];
        $calls{$label} += $calls;
    }
    # a housekeeping run: BEGIN, three DELETEs, COMMIT
    my $housekeeping = $calls{expire_codes} // 0;
    delete @calls{qw(expire_codes expire_jti expire_refresh)};
    $calls{BEGIN} -= $housekeeping if $calls{BEGIN};
    $calls{COMMIT} -= $housekeeping if $calls{COMMIT};
    delete $calls{$_} for grep { !$calls{$_} } keys %calls;
    return \%calls;
}
sub describe {
    my ($calls, $n) = @_;
    return join(' ', map { "$_=" . $calls->{$_} / $n } sort keys %$calls) || 'none';
}
sub total { my $t = 0; $t += $_ for values %{ $_[0] }; $t }

my $N = 20;
on('a');
my (undef, $client) = register_client();
my ($verifier, $challenge) = pkce();
my %request = (client_id => $client->{client_id}, response_type => 'code',
               code_challenge => $challenge, code_challenge_method => 'S256');
login_code(%request);                   # consent given and remembered

reset_counts();
my @codes = map { query_of(authorize(%request))->{code} } 1 .. $N;
is scalar(grep { $_ } @codes), $N, "$N codes issued on node a";
my $calls = counts();
is total($calls) / $N, 2, 'per code issued: 2 round trips (' . describe($calls, $N) . ')';
ok !$calls->{BEGIN}, 'reads run without BEGIN/COMMIT';

reset_counts();
on('b');
my $ok = grep { (exchange_code($client->{client_id}, $_, $verifier))[0]->code == 200 } @codes;
is $ok, $N, "$N codes redeemed on node b";
$calls = counts();
is total($calls) / $N, 6, 'per code exchange: 6 round trips (' . describe($calls, $N) . ')';
is $calls->{BEGIN} / $N, 1, 'in one write transaction (code marker, family, refresh token)';

reset_counts();
$ok = grep { (token_request(grant_type => 'client_credentials', auth => [agent()]))[0]->code == 200 } 1 .. $N;
is $ok, $N, "$N client_credentials tokens";
$calls = counts();
is total($calls), 0, 'client_credentials (a configured client) never touches the database ('
   . describe($calls, $N) . ')';
