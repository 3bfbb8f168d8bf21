# Runs last: the server's error log must hold no AddressSanitizer or
# UndefinedBehaviorSanitizer report from anything the suites did.
use strict;
use warnings FATAL => 'all';
use Apache::Test;
use Apache::TestUtil;

plan tests => 2;

my $log = Apache::Test::vars('t_logs') . '/error_log';
open my $fh, '<', $log or die "$log: $!";
my @asan = grep { /ERROR: (AddressSanitizer|LeakSanitizer)/ } <$fh>;
seek $fh, 0, 0;
my @ubsan = grep { /runtime error:/ } <$fh>;
ok t_cmp(scalar @asan, 0, 'no AddressSanitizer report in the error log')
    or print map { "# $_" } @asan;
ok t_cmp(scalar @ubsan, 0, 'no UndefinedBehaviorSanitizer report in the error log')
    or print map { "# $_" } @ubsan;
