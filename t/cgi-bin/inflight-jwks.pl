#!/usr/bin/perl
# A slow key endpoint for t/77-rs-jwks-inflight.t: sleeps ?sleep=SECONDS,
# then serves the rot-a key set.  The access log counts the fetches.
use strict;
use warnings;
use FindBin;
use Time::HiRes qw(sleep);
my ($seconds) = ($ENV{QUERY_STRING} // '') =~ /sleep=([0-9.]+)/;
sleep($seconds // 0);
open my $fh, '<', "$FindBin::Bin/../keys/test-rotate-a.jwks.json" or die $!;
local $/;
print "Content-Type: application/json\n\n", <$fh>;
