# Clock skew of two minutes between the authorization server and the
# resource server: tokens from an issuer whose clock runs 2 min ahead (iat
# and nbf in the future) or 2 min behind (exp already past) are accepted
# where MCPClockSkew allows 150 s, refused with the default 60 s, and
# refused everywhere once the skew passes the leeway.
use strict;
use warnings FATAL => 'all';
use Apache::Test;
use Apache::TestUtil;
use Apache::TestRequest qw(GET);
use FindBin;
use lib "$FindBin::Bin/lib";
use MCP::RS qw(check mint bearer challenge);

plan tests => 12;

my $now = time;
my %ahead  = (iat => $now + 120, nbf => $now + 120, exp => $now + 420);
my %behind = (iat => $now - 420, exp => $now - 120);
my %far_ahead  = (iat => $now + 200, nbf => $now + 200, exp => $now + 500);
my %far_behind = (iat => $now - 500, exp => $now - 200);

sub try {
    my ($path, $claims) = @_;
    return GET "$path?text=skew", bearer(mint(claims => $claims));
}

# inside the 150 s leeway
ok t_cmp(try('/rs/skew150', \%ahead)->code, 200, 'issuer 2 min ahead, leeway 150 s: accepted');
ok t_cmp(try('/rs/skew150', \%behind)->code, 200, 'issuer 2 min behind, leeway 150 s: accepted');

# beyond the default 60 s
my $r = try('/rs/echo', \%ahead);
ok t_cmp($r->code, 401, 'issuer 2 min ahead, leeway 60 s: refused');
ok t_cmp(challenge($r)->{error_description}, qr/not valid yet|future/, '... as not valid yet');
$r = try('/rs/echo', \%behind);
ok t_cmp($r->code, 401, 'issuer 2 min behind, leeway 60 s: refused');
ok t_cmp(challenge($r)->{error_description}, qr/expired/, '... as expired');

# beyond the 150 s leeway
$r = try('/rs/skew150', \%far_ahead);
ok t_cmp($r->code, 401, 'issuer 200 s ahead, leeway 150 s: refused');
ok t_cmp(challenge($r)->{error_description}, qr/not valid yet|future/, '... as not valid yet');
$r = try('/rs/skew150', \%far_behind);
ok t_cmp($r->code, 401, 'issuer 200 s behind, leeway 150 s: refused');
ok t_cmp(challenge($r)->{error_description}, qr/expired/, '... as expired');

# a token accepted under skew is re-checked on a cache hit, not trusted
# forever: the same "behind" token, cached at /rs/skew150, stays refused
# at the 60 s location
ok t_cmp(try('/rs/skew150', \%behind)->code, 200, 'behind token again at 150 s (cached)');
my $token = mint(claims => \%behind);
GET '/rs/skew150?text=skew', bearer($token);
ok t_cmp(GET('/rs/echo?text=skew', bearer($token))->code, 401,
         'the cached token is still refused where the leeway is 60 s');
