# The audit log: one line per registration, consent, issuance, refresh,
# reuse detection and revocation, with who and what, and never a secret.
use strict;
use warnings FATAL => 'all';
use Apache::Test;
use Apache::TestUtil;
use FindBin;
use lib "$FindBin::Bin/lib";
use HTTP::Request::Common ();
use MCP::AS qw(base ua register_client refresh full_flow token_request agent PASSWORD);

plan tests => 10;

my $flow = full_flow(register => { token_endpoint_auth_method => 'client_secret_post' },
                     authorize => { scope => 'mcp:echo' });
# full_flow authenticates as a public client; do it again with the secret
my $id = $flow->{client_id};
my $secret = $flow->{client}{client_secret};
my @secrets = ($secret, PASSWORD, $flow->{code});
my (undef, $tokens) = MCP::AS::exchange_code($id, $flow->{code}, $flow->{verifier},
                                             client_secret => $secret);
my $flow2 = full_flow(authorize => { scope => 'mcp:echo' });
my $id2 = $flow2->{client_id};
push @secrets, $flow2->{code}, $flow2->{tokens}{refresh_token}, $flow2->{tokens}{access_token};
my (undef, $rotated) = refresh($id2, $flow2->{tokens}{refresh_token});
push @secrets, $rotated->{refresh_token}, $rotated->{access_token};
refresh($id2, $flow2->{tokens}{refresh_token});          # reuse
my $flow3 = full_flow(authorize => { scope => 'mcp:echo' });
push @secrets, $flow3->{tokens}{refresh_token};
my $revoke = HTTP::Request::Common::POST(base() . '/oauth/revoke',
    [token => $flow3->{tokens}{refresh_token}, client_id => $flow3->{client_id}]);
ua()->request($revoke);
my (undef, $cc) = token_request(grant_type => 'client_credentials', auth => [agent()]);
push @secrets, $cc->{access_token}, (agent())[1];

sleep 1;
my $log = Apache::Test::vars('t_logs') . '/error_log';
open my $fh, '<', $log or die "$log: $!";
my $text = do { local $/; <$fh> };
close $fh;
my @audit = $text =~ /^.*audit event=.*$/mg;

sub has { my ($re) = @_; scalar grep { /$re/ } @audit }
ok t_cmp(has(qr/event=register client=\Q$id\E .*method=client_secret_post outcome=registered/), 1, 'registration');
ok t_cmp(has(qr/event=consent client=\Q$id\E user=alice scope="mcp:echo" .*outcome=approved/), 1, 'consent');
ok t_cmp(has(qr/event=code_issued client=\Q$id\E user=alice/), 1, 'code issued');
ok t_cmp(has(qr/event=token_issued grant=authorization_code client=\Q$id\E user=alice scope="mcp:echo" resource=\S+ jti=\S+ family=\S+ outcome=ok/), 1, 'token issued, with jti');
ok t_cmp(has(qr/event=token_refreshed client=\Q$id2\E user=alice .*jti=/), 1, 'refresh');
ok t_cmp(has(qr/event=refresh_reuse client=\Q$id2\E .*outcome=family_revoked/), 1, 'reuse detection');
ok t_cmp(has(qr/event=revoke type=refresh_token client=\Q$flow3->{client_id}\E .*outcome=revoked/), 1, 'revocation');
ok has(qr/event=token_issued grant=client_credentials client=as-agent/) >= 1;
ok t_cmp(scalar(grep { /\[mcp_as:notice\]/ } @audit), scalar(@audit), 'audit lines are notices of mcp_as');
my @leaks = grep { defined && length && index($text, $_) >= 0 } @secrets;
ok t_cmp(scalar(@leaks), 0, 'no token, code, secret or password in the log');
