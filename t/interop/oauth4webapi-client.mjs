// oauth4webapi, a strict OAuth 2 / OpenID client library, against
// mod_mcp_as with no relaxation but http on loopback
// (allowInsecureRequests): RFC 8414 discovery, RFC 7591 registration (201),
// authorization code with PKCE S256, state and the RFC 9207 `iss` check,
// token exchange with an RFC 8707 resource, RFC 9068 validation of the
// access token against the jwks_uri (validateJwtAccessToken), refresh
// rotation, RFC 7662 introspection, RFC 7009 revocation.
//   node oauth4webapi-client.mjs BASE-URL
import http from 'node:http';
import * as oauth from 'oauth4webapi';
import { authorize, loopbackListener, check } from './player.mjs';

const base = process.argv[2];
const issuer = new URL(base);
const resource = new URL('/mcp', base).href;
const insecure = { [oauth.allowInsecureRequests]: true };   // http, loopback only
const done = [];

async function main() {
  const as = await oauth.processDiscoveryResponse(issuer,
    await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...insecure }));
  check(as.code_challenge_methods_supported?.includes('S256'), 'no S256 in metadata');
  check(as.authorization_response_iss_parameter_supported === true, 'iss parameter not advertised');
  done.push('discovery');

  const listener = await loopbackListener(http);
  const registration = await oauth.dynamicClientRegistrationRequest(as, {
    client_name: 'oauth4webapi interop test', redirect_uris: [listener.redirectUri],
    grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic', scope: 'mcp:echo' }, insecure);
  check(registration.status === 201, `registration answered ${registration.status}`);
  const client = await oauth.processDynamicClientRegistrationResponse(registration);
  const clientAuth = oauth.ClientSecretBasic(client.client_secret);
  done.push('registration (201)');

  const verifier = oauth.generateRandomCodeVerifier();
  const state = oauth.generateRandomState();
  const url = new URL(as.authorization_endpoint);
  url.search = new URLSearchParams({ response_type: 'code', client_id: client.client_id,
    redirect_uri: listener.redirectUri, scope: 'mcp:echo', state, resource,
    code_challenge: await oauth.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256' });
  const { location } = await authorize(url.href, { user: 'alice', password: 'alice-password-1' });
  await fetch(location);
  // validateAuthResponse checks state and, as the metadata says so, iss
  const params = oauth.validateAuthResponse(as, client, await listener.received, state);
  listener.server.close();
  // a response with a foreign iss is refused by the library
  const forged = new URLSearchParams(params); forged.set('iss', 'http://127.0.0.1:1');
  let refused = false;
  try { oauth.validateAuthResponse(as, client, forged, state); } catch { refused = true; }
  check(refused, 'a foreign iss was accepted');
  done.push('PKCE + state + iss');

  const tokens = await oauth.processAuthorizationCodeResponse(as, client,
    await oauth.authorizationCodeGrantRequest(as, client, clientAuth, params, listener.redirectUri, verifier,
      { additionalParameters: { resource }, ...insecure }));
  check(tokens.token_type.toLowerCase() === 'bearer' && tokens.refresh_token, 'no bearer + refresh token');
  done.push('token');

  const bearer = (token) => new Request(resource, { headers: { authorization: `Bearer ${token}` } });
  const claims = await oauth.validateJwtAccessToken(as, bearer(tokens.access_token), resource, insecure);
  check(claims.sub === 'alice' && claims.client_id === client.client_id && claims.scope === 'mcp:echo',
        `claims ${JSON.stringify(claims)}`);
  let wrongAudience = false;
  try { await oauth.validateJwtAccessToken(as, bearer(tokens.access_token), 'http://127.0.0.1/other', insecure); }
  catch { wrongAudience = true; }
  check(wrongAudience, 'a token for another audience validated');
  done.push('validateJwtAccessToken (RFC 9068)');

  const refreshed = await oauth.processRefreshTokenResponse(as, client,
    await oauth.refreshTokenGrantRequest(as, client, clientAuth, tokens.refresh_token,
      { additionalParameters: { resource }, ...insecure }));
  check(refreshed.refresh_token && refreshed.refresh_token !== tokens.refresh_token, 'refresh token not rotated');
  await oauth.validateJwtAccessToken(as, bearer(refreshed.access_token), resource, insecure);
  done.push('refresh (rotated)');

  const introspect = (token) => oauth.introspectionRequest(as, client, clientAuth, token, insecure)
    .then((r) => oauth.processIntrospectionResponse(as, client, r));
  const active = await introspect(refreshed.access_token);
  check(active.active === true && active.sub === 'alice' && active.client_id === client.client_id,
        `introspection ${JSON.stringify(active)}`);
  done.push('introspection');

  await oauth.processRevocationResponse(
    await oauth.revocationRequest(as, client, clientAuth, refreshed.access_token, insecure));
  check((await introspect(refreshed.access_token)).active === false, 'a revoked access token is active');
  await oauth.processRevocationResponse(await oauth.revocationRequest(as, client, clientAuth,
    refreshed.refresh_token, { additionalParameters: { token_type_hint: 'refresh_token' }, ...insecure }));
  let refreshRefused = false;
  try {
    await oauth.processRefreshTokenResponse(as, client, await oauth.refreshTokenGrantRequest(as, client,
      clientAuth, refreshed.refresh_token, { additionalParameters: { resource }, ...insecure }));
  } catch (e) { refreshRefused = e instanceof oauth.ResponseBodyError && e.error === 'invalid_grant'; }
  check(refreshRefused, 'a revoked refresh token still refreshes');
  done.push('revocation');
  console.log('oauth4webapi: ' + done.join(', '));
}

main().then(() => process.exit(0), (e) => {
  console.error('oauth4webapi: FAILED after', done.join(', ') || 'nothing', '\n', e, e.cause ?? '');
  process.exit(1);
});
