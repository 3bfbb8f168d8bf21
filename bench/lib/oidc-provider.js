// oidc-provider as the peer authorization server for bench/run.
//   node oidc-provider.js PORT WORKERS CODES
// An in-memory adapter (below), client_credentials enabled,
// JWT access tokens (ES256) for one resource via resource indicators
// (RFC 8707), PKCE required.  With WORKERS > 1 the node cluster module
// runs that many processes on one port.  With CODES > 0 (one worker only:
// the in-memory adapter is per process) it mints authorization
// codes for the bench client on GET /bench-mint?n=N ("code verifier" lines).
'use strict';
const cluster = require('cluster');
const crypto = require('crypto');
const fs = require('fs');
const path = require('path');
const [port, workers, codes] = process.argv.slice(2);
const issuer = `http://127.0.0.1:${port}`;
const resource = `http://127.0.0.1:${port}/mcp`;

if (cluster.isPrimary && Number(workers) > 1) {
  for (let i = 0; i < Number(workers); i++) cluster.fork();
  return;
}

// An in-memory adapter like the library's own, without its LRU bound of
// 1000 entries (which would evict a round's codes before they are used).
const store = new Map();
class MemoryAdapter {
  constructor(name) { this.name = name; }
  key(id) { return `${this.name}:${id}`; }
  async upsert(id, payload, expiresIn) {
    store.set(this.key(id), { payload, expires: expiresIn ? Date.now() + expiresIn * 1000 : 0 });
    if (payload.grantId) {
      const grant = `grant:${payload.grantId}`;
      if (!store.has(grant)) store.set(grant, { payload: [], expires: 0 });
      store.get(grant).payload.push(this.key(id));
    }
  }
  async find(id) {
    const entry = store.get(this.key(id));
    if (!entry) return undefined;
    if (entry.expires && entry.expires < Date.now()) { store.delete(this.key(id)); return undefined; }
    return entry.payload;
  }
  async findByUid(uid) {
    for (const [, entry] of store) if (entry.payload && entry.payload.uid === uid) return entry.payload;
    return undefined;
  }
  async findByUserCode(userCode) {
    for (const [, entry] of store) if (entry.payload && entry.payload.userCode === userCode) return entry.payload;
    return undefined;
  }
  async consume(id) {
    const entry = store.get(this.key(id));
    if (entry) entry.payload.consumed = Math.floor(Date.now() / 1000);
  }
  async destroy(id) { store.delete(this.key(id)); }
  async revokeByGrantId(grantId) {
    const grant = store.get(`grant:${grantId}`);
    if (grant) { for (const key of grant.payload) store.delete(key); store.delete(`grant:${grantId}`); }
  }
}

(async () => {
  const { default: Provider } = await import('oidc-provider');
  const pem = fs.readFileSync(path.join(__dirname, '..', '..', 't', 'keys', 'test-ec.pem'));
  const jwk = crypto.createPrivateKey(pem).export({ format: 'jwk' });
  const provider = new Provider(issuer, {
    adapter: MemoryAdapter,
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
  // the in-memory adapter is an LRU of 1000 entries: codes are minted
  // per round, just before they are redeemed, by GET /bench-mint?n=N
  const mint = async (n) => {
    const client = await provider.Client.find('bench-agent');
    const lines = [];
    for (let i = 0; i < n; i++) {
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
    return lines.join('\n') + '\n';
  };
  provider.use(async (ctx, next) => {
    if (ctx.path === '/bench-mint' && Number(codes) > 0) {
      ctx.body = await mint(Math.min(Number(ctx.query.n) || 1, 400));
      return;
    }
    await next();
  });
  provider.listen(Number(port), '127.0.0.1');
})();
