// Mints the bench's JWT access tokens with Node's crypto (OpenSSL).
//   node mint.js KIND ALG COUNT FIRST AUD OUT
// KIND: valid  -- COUNT distinct valid tokens (cold verification)
//       kid    -- COUNT tokens signed by a kid the JWKS does not have
// ALG: ES256 (t/keys/test-ec.pem, kid ec-1) or RS256 (test-rsa.pem, rsa-1)
'use strict';
const crypto = require('crypto');
const fs = require('fs');
const path = require('path');
const [kind, alg, count, first, aud, out] = process.argv.slice(2);
const keys = path.join(__dirname, '..', '..', 't', 'keys');
const pem = fs.readFileSync(path.join(keys, alg === 'ES256' ? 'test-ec.pem' : 'test-rsa.pem'));
const key = crypto.createPrivateKey(pem);
const b64 = (b) => Buffer.from(b).toString('base64url');
const now = Math.floor(Date.now() / 1000);
const lines = [];
for (let i = Number(first); i < Number(first) + Number(count); i++) {
  const kid = kind === 'kid' ? `unknown-${i}` : (alg === 'ES256' ? 'ec-1' : 'rsa-1');
  const header = b64(JSON.stringify({ alg, typ: 'at+jwt', kid }));
  const payload = b64(JSON.stringify({
    iss: 'https://as.bench', aud, sub: `user${i}`, client_id: 'bench',
    scope: 'mcp:echo', iat: now, exp: now + 7200, jti: `${kind}-${alg}-${i}`,
  }));
  const input = `${header}.${payload}`;
  const signature = crypto.sign('sha256', Buffer.from(input),
    alg === 'ES256' ? { key, dsaEncoding: 'ieee-p1363' } : key);
  lines.push(`${input}.${b64(signature)}`);
}
fs.writeFileSync(out, lines.join('\n') + '\n');
