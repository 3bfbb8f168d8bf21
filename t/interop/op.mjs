// An upstream OpenID provider for the mod_auth_openidc interop suite:
// oidc-provider on 127.0.0.1 with its built-in development login and
// consent pages (any login name signs in as that user; the password is not
// checked: this stands in for the operator's identity provider).  One
// confidential client, the authorization server's mod_auth_openidc.
//   node op.mjs PORT RP-REDIRECT-URI CLIENT-SECRET
// Prints "op ready" when it listens.
import Provider from 'oidc-provider';

const [port, redirectUri, secret] = process.argv.slice(2);
const issuer = `http://127.0.0.1:${port}`;
const provider = new Provider(issuer, {
  clients: [{
    client_id: 'mod-mcp-as', client_secret: secret, redirect_uris: [redirectUri],
    grant_types: ['authorization_code'], response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  pkce: { required: () => true },
  claims: { openid: ['sub'], profile: ['name'] },
  findAccount: async (ctx, id) => ({
    accountId: id,
    claims: async () => ({ sub: id, name: `${id} (from the OpenID provider)` }),
  }),
  cookies: { keys: [secret] },
  features: { devInteractions: { enabled: true } },
});
// the development pages are meant for this; keep its warning out of the log
provider.on('server_error', (ctx, err) => console.error('op server_error:', err));
provider.listen(+port, '127.0.0.1', () => console.log('op ready'));
