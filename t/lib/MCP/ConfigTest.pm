package MCP::ConfigTest;
# Runs `httpd -t` (what `apachectl configtest` runs) on a small configuration
# that loads the modules just built, to check how directives are validated.
use strict;
use warnings;
use File::Temp qw(tempdir);
use Apache::Test ();
use Apache::TestConfig ();
use Exporter 'import';
our @EXPORT_OK = qw(configtest);

# configtest($snippet) -> ($exit_status, $output)
sub configtest {
    my ($snippet) = @_;
    my $config = Apache::Test::config();
    my $vars = $config->{vars};
    my $top = $ENV{MCP_TOP_BUILDDIR} || "$vars->{t_dir}/..";
    my $dir = tempdir(CLEANUP => 1);
    my $base = "$vars->{t_dir}/../t/httpd-base.conf";
    open my $fh, '>', "$dir/httpd.conf" or die "$dir/httpd.conf: $!";
    print $fh <<"EOC";
ServerRoot "$dir"
ServerName 127.0.0.1
# httpd -t binds nothing, so any port will do
Listen 127.0.0.1:65534
PidFile "$dir/httpd.pid"
ErrorLog "$dir/error_log"
DefaultRuntimeDir "$dir"
Include "$base"
LoadModule mcp_as_module "$top/mod_mcp_as/.libs/mod_mcp_as.so"
LoadModule mcp_rs_module "$top/mod_mcp_rs/.libs/mod_mcp_rs.so"
$snippet
EOC
    close $fh;
    my $httpd = $vars->{httpd};
    my $output = `'$httpd' -t -f '$dir/httpd.conf' 2>&1`;
    return ($? >> 8, $output);
}

1;
