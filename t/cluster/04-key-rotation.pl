# The signing-key rotation of conf/cluster/README, node after node with
# graceful restarts: publish the new key, sign with it, retire the old one.
# At every moment a token signed by any node is accepted by every node.
use strict;
use warnings FATAL => 'all';
use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More tests => 16;
use JSON::PP ();
use Time::HiRes qw(time sleep);
use MCP::AS qw(token_request agent decode_jwt ua json);
use MCP::Cluster qw(on node_url env ctl introspect);

my $dir = $ENV{MCP_CLUSTER_DIR};
my $OLD = 'signing-es256.pem';
my $NEW = 'next-es256.pem';
system('openssl', 'genpkey', '-algorithm', 'EC', '-pkeyopt',
       'ec_paramgen_curve:P-256', '-out', "$dir/keys/$NEW") == 0
    or die "openssl genpkey failed\n";
chmod 0600, "$dir/keys/$NEW";

sub kids_of {
    my ($node) = @_;
    my $jwks = json(ua()->get(node_url($node) . '/oauth/jwks')) // {};
    return join ' ', sort map { $_->{kid} } @{ $jwks->{keys} || [] };
}

# Writes the node's key Defines, restarts it gracefully and waits until its
# new children answer: $count keys published and, when given, tokens signed
# with $kid (three answers in a row, so that no old child is left).
sub set_keys {
    my ($node, $signing, $published, $count, $kid) = @_;
    open my $fh, '>', "$dir/node-$node/keys.conf" or die $!;
    print $fh "Define MCP_SIGNING_KEY $signing\n";
    print $fh "Define MCP_PUBLISHED_KEY $published\n" if $published;
    close $fh;
    ctl('restart-node', $node);
    my ($start, $good) = (time, 0);
    while (time - $start < 15 && $good < 3) {
        my $n = () = kids_of($node) =~ /\S+/g;
        my $ok = $n == $count && (!defined $kid || (token_from($node))[1] eq $kid);
        $good = $ok ? $good + 1 : 0;
        sleep 0.2 unless $ok;
    }
    die "node $node: not $count keys after its graceful restart\n" if $good < 3;
}

sub token_from {
    my ($node) = @_;
    on($node);
    my (undef, $tokens) = token_request(grant_type => 'client_credentials',
                                        auth => [agent()]);
    my ($header) = decode_jwt($tokens->{access_token});
    return ($tokens->{access_token}, $header->{kid});
}
sub active_on {
    my ($node, $token) = @_;
    on($node);
    return introspect($token)->{active} ? 1 : 0;
}

# the RS256 key of the test configuration stays published throughout
my ($before, $old_kid) = token_from('a');
ok $old_kid, "before: node a signs with the old key ($old_kid)";

# ---- 1. publish the new key, node after node
set_keys('a', $OLD, $NEW, 3);
isnt kids_of('a'), kids_of('b'), 'step 1, node a done: it publishes the new key, node b not yet';
my (undef, $kid) = token_from('a');
is $kid, $old_kid, 'step 1: node a still signs with the old key';
set_keys('b', $OLD, $NEW, 3);
is kids_of('a'), kids_of('b'), 'step 1 done: both nodes publish the same three keys';
my ($new_kid) = grep { $_ ne $old_kid && $_ ne 'rsa-2' } split ' ', kids_of('a');

# ---- 2. sign with the new key, node after node
set_keys('a', $NEW, $OLD, 3, $new_kid);
my ($from_a, $kid_a) = token_from('a');
my ($from_b, $kid_b) = token_from('b');
is "$kid_a $kid_b", "$new_kid $old_kid", 'step 2, half-way: node a signs with the new key, node b with the old one';
ok active_on('b', $from_a), 'half-way: node b accepts the token node a signed with the new key';
ok active_on('a', $from_b), 'half-way: node a accepts the token node b signed with the old key';
set_keys('b', $NEW, $OLD, 3, $new_kid);
(my $from_b_new, $kid_b) = token_from('b');
is $kid_b, $new_kid, 'step 2 done: node b signs with the new key too';
ok active_on('a', $before) && active_on('b', $before),
   'step 2 done: a token signed with the old key before the rotation is still accepted on both nodes';
is kids_of('a'), kids_of('b'), 'step 2 done: both nodes publish the same keys';

# ---- 3. retire the old key, node after node
set_keys('a', $NEW, undef, 2);
ok active_on('a', $from_a), 'step 3, node a done: tokens signed with the new key are accepted';
ok active_on('b', $before), 'step 3, half-way: node b still accepts the old-key token';
set_keys('b', $NEW, undef, 2);
is kids_of('a'), kids_of('b'), 'step 3 done: both nodes publish the same two keys';
unlike kids_of('a'), qr/\Q$old_kid\E/, 'the old key is no longer published';
ok !active_on('a', $before) && !active_on('b', $before),
   'an old-key token is refused once the key is retired (hence: wait the access-token lifetime before step 3)';
ok active_on('a', $from_b_new) && active_on('b', $from_a),
   'tokens signed with the new key by either node are accepted by both';
