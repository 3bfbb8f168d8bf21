#!/usr/bin/perl
# RFC 7662 introspection endpoint for a fixed list of opaque test tokens.
# Counts its calls in state/introspect.count so the cache can be seen.
use strict;
use warnings;
use MIME::Base64 qw(encode_base64);
use JSON::PP;

my $expected = 'Basic ' . encode_base64('rs-client:rs-secret', '');
my $auth = $ENV{HTTP_AUTHORIZATION} // '';
my $body = '';
read STDIN, $body, $ENV{CONTENT_LENGTH} // 0;
my %form = map { my ($k, $v) = split /=/, $_, 2; $v //= ''; $v =~ tr/+/ /;
                 $v =~ s/%([0-9A-Fa-f]{2})/chr hex $1/ge; ($k => $v) }
           split /&/, $body;

if (open my $count, '>>', "$ENV{DOCUMENT_ROOT}/../state/introspect.count") {
    print $count "$form{token}\n";
}
if ($auth ne $expected) {
    print "Status: 401 Unauthorized\nContent-Type: application/json\n\n";
    print qq({"error":"invalid_client"}\n);
    exit;
}
my $resource = $ENV{MCP_TEST_INTROSPECTED_RESOURCE} // die "MCP_TEST_INTROSPECTED_RESOURCE not set";
my $now = time;
my %tokens = (
    'opaque-good'     => { active => JSON::PP::true, sub => 'olivia', client_id => 'opaque-client',
                           scope => 'mcp:echo', aud => $resource, iss => 'https://as.test', exp => $now + 300 },
    'opaque-otheraud' => { active => JSON::PP::true, sub => 'olivia', aud => 'https://elsewhere.test',
                           iss => 'https://as.test', exp => $now + 300 },
    'opaque-otheriss' => { active => JSON::PP::true, sub => 'olivia', aud => $resource,
                           iss => 'https://evil.test', exp => $now + 300 },
    'opaque-expired'  => { active => JSON::PP::true, sub => 'olivia', aud => $resource,
                           iss => 'https://as.test', exp => $now - 3600 },
    'opaque-noaud'    => { active => JSON::PP::true, sub => 'olivia', iss => 'https://as.test' },
);
my $answer = $tokens{$form{token} // ''} // { active => JSON::PP::false };
print "Content-Type: application/json\n\n", JSON::PP->new->canonical->encode($answer), "\n";
