package MCP::RS;
# Helpers for the mod_mcp_rs suites: resource URIs of the test server,
# access tokens minted with the test keys in t/keys/, hand-built hostile
# tokens, and challenge parsing.
use strict;
use warnings;
use Apache::Test ();
use Apache::TestRequest ();
use Apache::TestUtil ();
use Crypt::JWT qw(encode_jwt);
use Crypt::PK::RSA;
use Crypt::PK::ECC;
use JSON::PP ();
use MIME::Base64 qw(encode_base64url);
use FindBin;
use Exporter 'import';

our @EXPORT_OK = qw(check resource mint mint_raw sign_raw b64url key_dir challenge
                    bearer json_of t_dir serve_jwks);

my $counter = 0;

# check($condition, $name): a named boolean test (Apache::Test's ok()
# takes a second argument as the expected value, not a name).
sub check {
    my ($condition, $name) = @_;
    return Apache::Test::ok(Apache::TestUtil::t_cmp($condition ? 'true' : 'false', 'true', $name));
}

sub t_dir { Apache::Test::vars('t_dir') }
sub key_dir { t_dir() . '/keys' }

# resource('/rs') -> http://localhost:PORT/rs, as MCPResource names it
sub resource {
    my ($path) = @_;
    my $vars = Apache::Test::config()->{vars};
    return "http://$vars->{servername}:$vars->{port}$path";
}

sub b64url { encode_base64url($_[0]) }

my %key_file = (
    'rsa-1'   => 'test-rsa.pem',
    'rot-a'   => 'test-rsa.pem',
    'rot-b'   => 'test-rsa2.pem',
    'ec-1'    => 'test-ec.pem',
    'ec384-1' => 'test-ec384.pem',
);

sub private_key {
    my ($kid) = @_;
    my $file = key_dir() . '/' . ($key_file{$kid} // die "no test key $kid");
    # the file's name, not its directory's, says what it holds
    return $key_file{$kid} =~ /ec/ ? Crypt::PK::ECC->new($file) : Crypt::PK::RSA->new($file);
}

# mint(%options): a signed access token for /rs.  Options:
#   claims  => { name => value (undef deletes) } over the defaults,
#   header  => { name => value (undef deletes) } over typ/kid,
#   alg     => RS256 (default), PS256, ES256, ES384,
#   kid     => the test key (default by alg), path => '/rs'
sub mint {
    my (%opt) = @_;
    my $alg = $opt{alg} // 'RS256';
    my $kid = $opt{kid} // ($alg eq 'ES256' ? 'ec-1' : $alg eq 'ES384' ? 'ec384-1' : 'rsa-1');
    my $now = time;
    my %claims = (
        iss       => 'https://as.test',
        aud       => resource($opt{path} // '/rs'),
        sub       => 'alice',
        client_id => 'client-1',
        scope     => 'mcp:echo',
        iat       => $now,
        exp       => $now + 300,
        jti       => "jti-$$-" . ++$counter . '-' . $now,
    );
    my %header = (typ => 'at+jwt', kid => $kid);
    for my $name (keys %{ $opt{claims} || {} }) {
        my $value = $opt{claims}{$name};
        defined $value ? ($claims{$name} = $value) : delete $claims{$name};
    }
    for my $name (keys %{ $opt{header} || {} }) {
        my $value = $opt{header}{$name};
        defined $value ? ($header{$name} = $value) : delete $header{$name};
    }
    return encode_jwt(payload => \%claims, alg => $alg,
                      key => private_key($opt{key} // $kid),
                      extra_headers => \%header);
}

# mint_raw($header_json, $claims_json, $signature_bytes): by hand.
sub mint_raw {
    my ($header, $claims, $signature) = @_;
    return join '.', b64url($header), b64url($claims), b64url($signature // '');
}

# sign_raw($header_json, $claims_json, $kid): RS256 over exactly these
# bytes, for tokens Crypt::JWT would not build (duplicate members, …).
sub sign_raw {
    my ($header, $claims, $kid) = @_;
    my $input = b64url($header) . '.' . b64url($claims);
    my $signature = private_key($kid // 'rsa-1')->sign_message($input, 'SHA256', 'v1.5');
    return "$input." . b64url($signature);
}

# Authorization header for GET/POST
sub bearer { (Authorization => "Bearer $_[0]") }

sub json_of {
    my ($response) = @_;
    my $data = eval { JSON::PP->new->utf8->decode($response->content) };
    return $data;
}

# challenge($response) -> { scheme => 'Bearer', param => value, ... }
sub challenge {
    my ($response) = @_;
    my $header = $response->header('WWW-Authenticate') // return undef;
    my %out;
    $header =~ s/^(\S+)\s*// or return undef;
    $out{scheme} = $1;
    while ($header =~ /\G\s*([A-Za-z_]+)="((?:[^"\\]|\\.)*)"\s*,?/gc) {
        my ($name, $value) = ($1, $2);
        $value =~ s/\\(.)/$1/g;
        $out{$name} = $value;
    }
    return \%out;
}

# Replaces the key set the test server serves at /jwks/rotating.jwks.json
# (t/15, t/21, t/75), atomically: a fetch never sees half a document.
sub serve_jwks {
    my ($content) = @_;
    my $rotating = Apache::Test::vars('documentroot') . '/rs/jwks/rotating.jwks.json';
    open my $fh, '>', "$rotating.tmp" or die "$rotating.tmp: $!";
    print {$fh} $content;
    close $fh or die "$rotating.tmp: $!";
    chmod 0644, "$rotating.tmp";
    rename "$rotating.tmp", $rotating or die "$rotating: $!";
}

1;
