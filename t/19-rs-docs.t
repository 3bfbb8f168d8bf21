# The directive reference in conf/mcp_rs.conf documents every directive the
# module declares, and nothing it does not.
use strict;
use warnings FATAL => 'all';
use Apache::Test;
use Apache::TestUtil;
use FindBin;

my $top = "$FindBin::Bin/..";
$top = $ENV{MCP_TOP_SRCDIR} if $ENV{MCP_TOP_SRCDIR};
my ($source) = grep { -f } map { "$_/mod_mcp_rs/mcp_rs_config.c" } ($top, "$FindBin::Bin/../..");
my ($reference) = grep { -f } map { "$_/conf/mcp_rs.conf" } ($top, "$FindBin::Bin/../..");

plan tests => 2, need { 'sources present' => defined $source && defined $reference };

open my $fh, '<', $source or die "$source: $!";
my @declared = grep { $_ ne 'AuthType' } map { /AP_INIT_\w+\("(\w+)"/ ? $1 : () } <$fh>;
open $fh, '<', $reference or die "$reference: $!";
my $doc = do { local $/; <$fh> };
my @documented = $doc =~ /^# (MCP\w+) /mg;

my @missing = grep { my $d = $_; !grep { $_ eq $d } @documented } @declared;
my @unknown = grep { my $d = $_; !grep { $_ eq $d } @declared } @documented;
ok t_cmp("@missing", '', 'every directive is documented in conf/mcp_rs.conf');
ok t_cmp("@unknown", '', 'no documented directive that does not exist');
