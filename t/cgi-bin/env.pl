#!/usr/bin/perl
# Shows what a backend receives: the MCP_* environment and the headers.
use strict;
use warnings;
print "Content-Type: text/plain\n\n";
for my $name (sort keys %ENV) {
    next unless $name =~ /^(MCP_|HTTP_|REMOTE_USER|AUTH_TYPE)/;
    print "$name=$ENV{$name}\n";
}
