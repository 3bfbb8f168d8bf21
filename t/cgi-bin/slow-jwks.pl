#!/usr/bin/perl
# A key endpoint slower than MCPJWKSTimeout (1 s in the tests).
use strict;
use warnings;
sleep 3;
print "Content-Type: application/json\n\n{\"keys\":[]}\n";
