# Both modules load into the test server built from this tree.
use strict;
use warnings FATAL => 'all';
use Apache::Test;
use Apache::TestRequest qw(GET);
use Apache::TestUtil;

plan tests => 4, need_module 'info';

for my $module (qw(mod_mcp_as.c mod_mcp_rs.c)) {
    my $res = GET "/server-info?$module";
    ok t_cmp($res->code, 200, "server-info answers for $module");
    ok t_cmp($res->content, qr/Module Name:.*\Q$module\E/s,
             "$module is loaded");
}
