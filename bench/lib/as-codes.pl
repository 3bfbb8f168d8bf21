#!/usr/bin/perl
# Mints authorization codes at mod_mcp_as for bench/run:
#   as-codes.pl BASE USER PASSWORD COUNT OUT
# registers a public client (RFC 7591), approves the consent once with
# "remember", then asks /authorize COUNT times (each answers 302 with a
# code at once) and writes "code verifier client_id" lines to OUT.
use strict;
use warnings;
use LWP::UserAgent;
use HTTP::Request::Common qw(POST);
use JSON::PP;
use URI;
use Digest::SHA qw(sha256);
use MIME::Base64 qw(encode_base64url);

my ($base, $user, $password, $count, $out) = @ARGV;
my $ua = LWP::UserAgent->new(max_redirect => 0, timeout => 30, keep_alive => 4);
my $json = JSON::PP->new;
my $registered = $ua->post("$base/oauth/register", 'Content-Type' => 'application/json',
    Content => $json->encode({ redirect_uris => ['http://127.0.0.1:9/cb'],
        token_endpoint_auth_method => 'none', grant_types => ['authorization_code', 'refresh_token'],
        client_name => 'bench' }));
die "register: " . $registered->status_line . "\n" unless $registered->is_success;
my $client_id = $json->decode($registered->decoded_content)->{client_id};

sub authorize {
    my ($challenge) = @_;
    my $uri = URI->new("$base/oauth/authorize");
    $uri->query_form(client_id => $client_id, response_type => 'code', scope => 'mcp:echo',
        redirect_uri => 'http://127.0.0.1:9/cb', code_challenge => $challenge,
        code_challenge_method => 'S256', state => 'bench', resource => "$base/mcp");
    my $request = HTTP::Request->new(GET => $uri);
    $request->authorization_basic($user, $password);
    return $ua->request($request);
}
my $first = authorize(encode_base64url(sha256('x' x 43)));
if ($first->code == 200) {
    my %form;
    my $html = $first->decoded_content(charset => 'none');
    while ($html =~ /<input type="hidden" name="([^"]+)" value="([^"]*)">/g) {
        my ($name, $value) = ($1, $2);
        $value =~ s/&quot;/"/g; $value =~ s/&lt;/</g; $value =~ s/&gt;/>/g;
        $value =~ s/&#39;/'/g; $value =~ s/&amp;/&/g;
        $form{$name} = $value;
    }
    my $request = POST("$base/oauth/authorize", [%form, mcp_consent => 'approve', mcp_remember => 1]);
    $request->authorization_basic($user, $password);
    my $approved = $ua->request($request);
    die "consent: " . $approved->status_line . "\n" unless $approved->code == 302;
}
open my $fh, '>', $out or die "$out: $!";
for (1 .. $count) {
    my $verifier = encode_base64url(join '', map { chr int rand 256 } 1 .. 32);
    my $response = authorize(encode_base64url(sha256($verifier)));
    my ($code) = ($response->header('Location') // '') =~ /[?&]code=([^&]+)/
        or die "authorize: " . $response->status_line . "\n";
    print $fh "$code $verifier $client_id\n";
}
close $fh;
