// oidc-provider as the peer authorization server for bench/run.
//   node oidc-provider.js PORT WORKERS CODES CODEFILE
// In-memory adapter (the library's default), client_credentials enabled,
// JWT access tokens (ES256) for one resource via resource indicators
// (RFC 8707), PKCE required.  With WORKERS > 1 the node cluster module
// runs that many processes on one port.  With CODES > 0 (one worker only:
// the in-memory adapter is per process) it mints that many authorization
// codes for the bench client and writes "code verifier" lines to CODEFILE.
'use strict';
const cluster = require('cluster');
const crypto = require('crypto');
const fs = require('fs');
const path = require('path');
const [port, workers, codes, codeFile] = process.argv.slice(2);
const issuer = `http://127.0.0.1:${port}`;
const resource = `http://127.0.0.1:${port}/mcp`;

if (cluster.isPrimary && Number(workers) > 1) {
  for (let i = 0; i < Number(workers); i++) cluster.fork();
  return;
}

(async () => {
  const { default: Provider } = await import('oidc-provider');
  const pem = fs.readFileSync(path.join(__dirname, '..', '..', 't', 'keys', 'test-ec.pem'));
  const jwk = crypto.createPrivateKey(pem).export({ format: 'jwk' });
  const provider = new Provider(issuer, {
    clients: [{
      client_id: 'bench-agent',
      client_secret: 'bench-agent-secret-0123456789',
      grant_types: ['client_credentials', 'authorization_code'],
      response_types: ['code'],
      redirect_uris: ['http://127.0.0.1:9/cb'],
      token_endpoint_auth_method: 'client_secret_basic',
      id_token_signed_response_alg: 'ES256',
      scope: 'mcp:echo',
    }],
    jwks: { keys: [{ ...jwk, kid: 'ec-1', alg: 'ES256', use: 'sig' }] },
    scopes: ['mcp:echo'],
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => resource,
        useGrantedResource: () => true,
        getResourceServerInfo: () => ({
          scope: 'mcp:echo', audience: resource, accessTokenFormat: 'jwt',
          accessTokenTTL: 3600, jwt: { sign: { alg: 'ES256' } },
        }),
      },
    },
    ttl: { AuthorizationCode: 600, ClientCredentials: 3600, AccessToken: 3600, Grant: 3600 },
    findAccount: (ctx, sub) => ({ accountId: sub, claims: () => ({ sub }) }),
  });
  provider.on('server_error', (ctx, err) => console.error('server_error', err));
  if (Number(codes) > 0) {
    const client = await provider.Client.find('bench-agent');
    const lines = [];
    for (let i = 0; i < Number(codes); i++) {
      const verifier = crypto.randomBytes(32).toString('base64url');
      const challenge = crypto.createHash('sha256').update(verifier).digest('base64url');
      const grant = new provider.Grant({ accountId: `user${i}`, clientId: client.clientId });
      grant.addResourceScope(resource, 'mcp:echo');
      const grantId = await grant.save();
      const code = new provider.AuthorizationCode({
        accountId: `user${i}`, client, grantId, scope: 'mcp:echo', resource,
        redirectUri: 'http://127.0.0.1:9/cb', codeChallenge: challenge,
        codeChallengeMethod: 'S256', authTime: Math.floor(Date.now() / 1000),
      });
      lines.push(`${await code.save()} ${verifier}`);
    }
    fs.writeFileSync(codeFile, lines.join('\n') + '\n');
  }
  provider.listen(Number(port), '127.0.0.1');
})();
