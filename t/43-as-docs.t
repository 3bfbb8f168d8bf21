# conf/mcp_as.conf documents every directive the module declares, and
# names no directive the module does not have.
use strict;
use warnings FATAL => 'all';
use Apache::Test;
use Apache::TestUtil;
use FindBin;

my ($source) = grep { -f } map { "$_/mod_mcp_as/mcp_as_config.c" }
    "$FindBin::Bin/..", $ENV{MCP_TOP_SRCDIR} // ();
my ($doc) = grep { -f } map { "$_/conf/mcp_as.conf" }
    "$FindBin::Bin/..", $ENV{MCP_TOP_SRCDIR} // ();
unless ($source && $doc) {
    plan tests => 1;
    skip 'the sources are not next to this build', 1;
    exit 0;
}
open my $fh, '<', $source or die "$source: $!";
my @declared = do { local $/; <$fh> } =~ /AP_INIT_\w+\("(MCP\w+)"/g;
open $fh, '<', $doc or die "$doc: $!";
my $text = do { local $/; <$fh> };
my %documented = map { $_ => 1 } $text =~ /^#\s+(MCP\w+)\s/mg;

plan tests => 1 + @declared;
ok @declared >= 15;
for my $directive (@declared) {
    ok t_cmp($documented{$directive} ? 1 : 0, 1, "$directive is documented in conf/mcp_as.conf");
}
