#!/usr/bin/perl
# Client ID Metadata Documents for t/42-as-cimd.t, served by the test
# server itself: the document's client_id is the URL it is served from;
# PATH_INFO picks a variant, good or broken.  Every fetch is counted in
# t/state/cimd-fetches.
use strict;
use warnings;

my $variant = $ENV{PATH_INFO} // '/';
$variant =~ s{^/}{};
my $url = "http://127.0.0.1:$ENV{SERVER_PORT}$ENV{SCRIPT_NAME}$ENV{PATH_INFO}";
if (open my $count, '>>', "$ENV{DOCUMENT_ROOT}/../state/cimd-fetches") {
    print $count "$variant\n";
    close $count;
}
my $name = $variant =~ /^([a-z]+)/ ? $1 : 'x';
my %doc = (
    client_id => $url,
    client_name => "CIMD $name <client>",
    redirect_uris => ['http://127.0.0.1:9/cimd-cb'],
    grant_types => ['authorization_code', 'refresh_token'],
    token_endpoint_auth_method => 'none',
);
my $cache = 'Cache-Control: max-age=300';
my $type = 'application/json';
my $status = '200 OK';
my $extra = '';
$cache = 'Cache-Control: no-store' if $name eq 'nocache';
$doc{client_id} = "$url-other" if $name eq 'mismatch';
$doc{token_endpoint_auth_method} = 'client_secret_basic' if $name eq 'secret';
delete $doc{redirect_uris} if $name eq 'noredirect';
$doc{redirect_uris} = ['javascript:alert(1)'] if $name eq 'badredirect';
$doc{client_name} = 'x' x 20000 if $name eq 'big';
# between 8 and 16 KiB: accepted, and cached like any other
$doc{software_id} = 'p' x 12000 if $name eq 'large';
$type = 'text/html' if $name eq 'html';
if ($name eq 'redirect') {
    $status = '302 Found';
    $extra = "Location: $ENV{SCRIPT_NAME}/good\r\n";
}
$status = '404 Not Found' if $name eq 'missing';
my $body = $name eq 'dupkeys'
    ? qq({"client_id":"$url","client_id":"$url","redirect_uris":["http://127.0.0.1:9/cb"]})
    : json(\%doc);
print "Status: $status\r\nContent-Type: $type\r\n$cache\r\n$extra\r\n$body";

# a tiny JSON writer (core Perl only, no modules the test server might lack)
sub json {
    my ($v) = @_;
    return '[' . join(',', map { json($_) } @$v) . ']' if ref $v eq 'ARRAY';
    return '{' . join(',', map { json_string($_) . ':' . json($v->{$_}) } sort keys %$v) . '}'
        if ref $v eq 'HASH';
    return json_string($v);
}
sub json_string {
    my ($s) = @_;
    $s =~ s/(["\\])/\\$1/g;
    return qq("$s");
}
