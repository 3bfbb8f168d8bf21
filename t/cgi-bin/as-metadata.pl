#!/usr/bin/perl
# RFC 8414 metadata of the test issuer http://127.0.0.1:PORT/issuer, whose
# jwks_uri is the static rotate-a key set.
use strict;
use warnings;
my $base = "http://127.0.0.1:$ENV{SERVER_PORT}";
print "Content-Type: application/json\n\n";
print qq({"issuer":"$base/issuer","jwks_uri":"$base/jwks/discovered.jwks.json",)
    . qq("response_types_supported":["code"]}\n);
