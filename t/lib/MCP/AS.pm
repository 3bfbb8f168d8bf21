package MCP::AS;
# Helpers for the mod_mcp_as suites: real HTTP requests to the test
# server's authorization server (issuer http://127.0.0.1:PORT, endpoints
# under /oauth, Basic login on /oauth/authorize).
use strict;
use warnings;
use Exporter 'import';
use JSON::PP ();
use LWP::UserAgent ();
use HTTP::Request::Common ();
use Digest::SHA qw(sha256);
use MIME::Base64 qw(encode_base64url decode_base64url);
use URI ();
use URI::Escape qw(uri_escape_utf8);
use File::Temp ();
use Apache::TestRequest ();

our @EXPORT_OK = qw(base issuer resource ua json pkce register_client
    authorize consent_form approve login_code exchange_code token_request
    refresh full_flow decode_jwt sqlite query_of basic agent rs_client
    register_parallel post_parallel created log_since USER PASSWORD);

use constant USER     => 'alice';
use constant PASSWORD => 'wonderland-pass';

sub base     { 'http://' . Apache::TestRequest::hostport() }
sub port     { (split /:/, Apache::TestRequest::hostport())[1] }
sub issuer   { 'http://127.0.0.1:' . port() }
sub resource { issuer() . '/mcp' }
sub agent    { ('as-agent', 'as-agent-secret-0123456789') }
sub rs_client { ('as-rs', 'as-rs-secret-0123456789') }

my $JSON = JSON::PP->new->utf8->canonical;

# A user agent that never follows redirects (we inspect them).
sub ua {
    my $ua = LWP::UserAgent->new(max_redirect => 0, timeout => 30,
                                 keep_alive => 0);
    return $ua;
}

sub json {
    my ($response) = @_;
    my $data = eval { $JSON->decode($response->decoded_content // '') };
    return $data;
}

sub basic {
    my ($id, $secret) = @_;
    return 'Basic ' . MIME::Base64::encode_base64(
        uri_escape_utf8($id) . ':' . uri_escape_utf8($secret), '');
}

# (verifier, challenge) for PKCE S256.
sub pkce {
    my $verifier = encode_base64url(join '', map { chr int rand 256 } 1 .. 32);
    return ($verifier, encode_base64url(sha256($verifier)));
}

# POST …/register with a JSON body; returns (response, decoded JSON).
sub register_client {
    my (%metadata) = @_;
    my %body = (
        redirect_uris => ['http://127.0.0.1:9/cb'],
        token_endpoint_auth_method => 'none',
        grant_types => ['authorization_code', 'refresh_token'],
        client_name => 'mod_mcp_as test client',
        %metadata,
    );
    delete $body{$_} for grep { !defined $body{$_} } keys %body;
    my $response = ua()->post(base() . '/oauth/register',
        'Content-Type' => 'application/json', Content => $JSON->encode(\%body));
    return ($response, json($response));
}

# POSTs to this server through curl, $parallel at a time; each request is
# [path, content type, body].  Returns [status, body] for each, in order.
sub post_parallel {
    my ($parallel, @requests) = @_;
    my $dir = File::Temp::tempdir(CLEANUP => 1);
    open my $cfg, '>', "$dir/requests.curl" or die "$dir: $!";
    for my $i (0 .. $#requests) {
        my ($path, $type, $body) = @{ $requests[$i] };
        $body =~ s/(["\\])/\\$1/g;
        print $cfg "next\n" if $i > 0;
        print $cfg 'url = "', base(), "$path\"\n",
            qq{header = "Content-Type: $type"\n}, qq{data = "$body"\n},
            "output = $dir/reply.$i\n",
            qq{write-out = "%{http_code} %{filename_effective}\\n"\n};
    }
    close $cfg;
    # in parallel, curl reports the transfers as they end: by file name
    my %status = map { (split / /)[1] => (split / /)[0] } split /\n/,
        `curl -s --parallel --parallel-max $parallel -K $dir/requests.curl 2>/dev/null`;
    return map {
        open my $fh, '<', "$dir/reply.$_" or die "$dir/reply.$_: $!";
        local $/;
        my $reply = <$fh>;
        close $fh;
        [$status{"$dir/reply.$_"} // 'none', $reply // '']
    } 0 .. $#requests;
}

# Registers public clients named @names, $parallel at a time; returns
# { name => HTTP status }.
sub register_parallel {
    my ($parallel, @names) = @_;
    my @replies = post_parallel($parallel, map {
        ['/oauth/register', 'application/json',
         $JSON->encode({ redirect_uris => ['http://127.0.0.1:9/cb'],
                         token_endpoint_auth_method => 'none', client_name => $_ })]
    } @names);
    return { map { $names[$_] => $replies[$_][0] } 0 .. $#names };
}

# How many of register_parallel()'s registrations were answered 201.
sub created {
    my ($status) = @_;
    return scalar grep { $_ eq '201' } values %$status;
}

# The lines of the test server's error log past byte $offset that match
# $pattern.
sub log_since {
    my ($offset, $pattern) = @_;
    my $log = Apache::Test::vars('t_logs') . '/error_log';
    open my $fh, '<', $log or die "$log: $!";
    seek $fh, $offset, 0;
    my @lines = grep { /$pattern/ } <$fh>;
    close $fh;
    return @lines;
}

# GET …/authorize with the given parameters, logged in as `user`.
sub authorize {
    my (%args) = @_;
    my $user = exists $args{user} ? delete $args{user} : USER;
    my $password = delete $args{password} // PASSWORD;
    delete $args{$_} for grep { !defined $args{$_} } keys %args;
    my $uri = URI->new(base() . '/oauth/authorize');
    $uri->query_form(map { ($_ => $args{$_}) } sort keys %args);
    my $request = HTTP::Request->new(GET => $uri);
    $request->authorization_basic($user, $password) if defined $user;
    return ua()->request($request);
}

# The consent page's form as a hash of its hidden fields.
sub consent_form {
    my ($response) = @_;
    my %fields;
    my $html = $response->decoded_content(charset => 'none') // '';
    while ($html =~ /<input type="hidden" name="([^"]+)" value="([^"]*)">/g) {
        my ($name, $value) = ($1, $2);
        $value =~ s/&quot;/"/g; $value =~ s/&lt;/</g; $value =~ s/&gt;/>/g;
        $value =~ s/&#39;/'/g; $value =~ s/&amp;/&/g;
        $fields{$name} = $value;
    }
    return \%fields;
}

# Posts the consent form back (approve or deny).
sub approve {
    my ($fields, %opts) = @_;
    my $user = $opts{user} // USER;
    my $password = $opts{password} // PASSWORD;
    my %form = (%$fields, mcp_consent => $opts{decision} // 'approve');
    $form{mcp_remember} = 1 unless exists $opts{remember} && !$opts{remember};
    my $request = HTTP::Request::Common::POST(base() . '/oauth/authorize',
                                              [%form]);
    $request->authorization_basic($user, $password);
    return ua()->request($request);
}

# The query parameters of a redirect's Location.
sub query_of {
    my ($response) = @_;
    my $location = $response->header('Location') // return {};
    return { URI->new($location)->query_form };
}

# authorize + consent: returns the code (and the last response).
sub login_code {
    my (%args) = @_;
    my $response = authorize(%args);
    if ($response->code == 200) {
        $response = approve(consent_form($response), user => $args{user},
                            password => $args{password});
    }
    return (query_of($response)->{code}, $response);
}

# POST …/token with a form; `auth` => [id, secret] uses Basic.
# POST …/token; auth => [id, secret] sends Basic credentials, authorization
# => TEXT an Authorization header as it is
sub token_request {
    my (%form) = @_;
    my $auth = delete $form{auth};
    my $authorization = delete $form{authorization};
    delete $form{$_} for grep { !defined $form{$_} } keys %form;
    my $request = HTTP::Request::Common::POST(base() . '/oauth/token', [%form]);
    $request->header(Authorization => $auth ? basic(@$auth) : $authorization)
        if $auth || defined $authorization;
    my $response = ua()->request($request);
    return ($response, json($response));
}

sub exchange_code {
    my ($client_id, $code, $verifier, %extra) = @_;
    return token_request(grant_type => 'authorization_code', code => $code,
                         code_verifier => $verifier, client_id => $client_id,
                         %extra);
}

sub refresh {
    my ($client_id, $refresh_token, %extra) = @_;
    return token_request(grant_type => 'refresh_token',
                         refresh_token => $refresh_token,
                         client_id => $client_id, %extra);
}

# register → authorize (Basic login) → consent → token.
# Returns { client_id, tokens (decoded response), response, verifier }.
sub full_flow {
    my (%opts) = @_;
    my ($reg_response, $client) = register_client(%{ $opts{register} || {} });
    die 'registration failed: ' . $reg_response->status_line
        unless $reg_response->code == 201;
    my ($verifier, $challenge) = pkce();
    my ($code, $response) = login_code(
        client_id => $client->{client_id}, response_type => 'code',
        code_challenge => $challenge, code_challenge_method => 'S256',
        state => 'xyz', %{ $opts{authorize} || {} });
    die 'no code: ' . $response->status_line . ' ' . ($response->header('Location') // '')
        unless $code;
    my ($token_response, $tokens) = exchange_code($client->{client_id}, $code,
                                                  $verifier);
    return { client => $client, client_id => $client->{client_id},
             tokens => $tokens, response => $token_response, code => $code,
             verifier => $verifier };
}

# Runs SQL on the test server's SQLite store (or on the SQLite file $db),
# as the user owning it (so that root never creates WAL files the server's
# children cannot write).  Returns undef when the suite runs against
# another store.
sub sqlite {
    my ($sql, $db) = @_;
    my $dir = Apache::Test::vars('t_dir') . '/state';
    if (!defined $db) {
        return undef if -e "$dir/as-store.conf" || !-e "$dir/as.db";
        $db = "$dir/as.db";
    }
    my @as = ();
    if ($> == 0) {
        my $owner = getpwuid((stat $db)[4]);
        @as = ('runuser', '-u', $owner, '--');
    }
    open my $fh, '-|', @as, 'sqlite3', '-cmd', '.timeout 5000', $db, $sql
        or die "sqlite3: $!";
    local $/;
    my $out = <$fh>;
    close $fh;
    return $out;
}

# (header, claims) of a JWT, without verifying it.
sub decode_jwt {
    my ($jwt) = @_;
    my ($header, $payload) = split /\./, $jwt // '';
    return (eval { $JSON->decode(decode_base64url($header)) },
            eval { $JSON->decode(decode_base64url($payload)) });
}

1;
