// The official TypeScript SDK's MCP client (StreamableHTTPClientTransport
// with an OAuthClientProvider) against the echo tool behind mod_mcp_rs and
// mod_mcp_as.  node sdk-client.mjs MODE BASE-URL, MODE one of
//   dcr           public client, dynamic registration (RFC 7591)
//   confidential  a client registered beforehand (client_secret_basic)
//   cimd          a Client ID Metadata Document served over https by this
//                 process (INTEROP_CIMD_CERT / INTEROP_CIMD_KEY: a cert for
//                 127.0.0.1 signed by the run's throwaway test CA)
//   agent         client_credentials with an MCPClient (the SDK's
//                 ClientCredentialsProvider)
// Prints what it checked; exits non-zero on the first failure.
import http from 'node:http';
import https from 'node:https';
import fs from 'node:fs';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
import { ClientCredentialsProvider } from '@modelcontextprotocol/sdk/client/auth-extensions.js';
import { authorize, loopbackListener, check } from './player.mjs';

const [mode, base] = process.argv.slice(2);
const issuer = base;
const mcpUrl = new URL('/mcp', base);
const user = { user: 'alice', password: 'alice-password-1' };
const seen = [];      // METHOD path of every request the SDK made
const loggingFetch = async (url, init) => {
  seen.push(`${init?.method || 'GET'} ${new URL(url).pathname}`);
  return fetch(url, init);
};
const log = (...a) => console.log(`sdk ${mode}:`, ...a);

class Provider {
  constructor(redirectUri, extra = {}) {
    this.redirectUri = redirectUri;
    this.saved = [];
    Object.assign(this, extra);
  }
  get redirectUrl() { return this.redirectUri; }
  get clientMetadata() {
    return {
      client_name: 'MCP TypeScript SDK interop test',
      redirect_uris: [this.redirectUri],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    };
  }
  clientInformation() { return this.info; }
  saveClientInformation(info) { this.info = info; this.registered = true; }
  tokens() { return this.tokenSet; }
  saveTokens(tokens) { this.tokenSet = tokens; this.saved.push(tokens); }
  saveCodeVerifier(v) { this.verifier = v; }
  codeVerifier() { return this.verifier; }
  async redirectToAuthorization(url) {
    this.authorizationUrl = url;
    // the user's browser: log in, approve, land on the loopback listener
    const { location } = await authorize(url.href, user);
    await fetch(location);
  }
}

async function connect(provider) {
  const transport = new StreamableHTTPClientTransport(mcpUrl, { authProvider: provider, fetch: loggingFetch });
  const client = new Client({ name: 'mod-mcp-interop', version: '1.0.0' });
  await client.connect(transport);
  return { client, transport };
}

async function callEcho(client, text) {
  const tools = await client.listTools();
  check(tools.tools.some((t) => t.name === 'echo'), `tools/list has no echo: ${JSON.stringify(tools)}`);
  const result = await client.callTool({ name: 'echo', arguments: { text } });
  const body = JSON.stringify(result.content);
  check(!result.isError && body.includes(text), `tools/call echo answered ${JSON.stringify(result)}`);
}

async function authorizationCodeFlow(provider, listener) {
  // first attempt: 401, discovery, registration (or not), authorization
  try {
    await connect(provider);
    throw new Error('the first connection succeeded without authorization');
  } catch (e) {
    if (!(e instanceof UnauthorizedError)) throw e;
  }
  const params = await listener.received;
  const url = provider.authorizationUrl;
  check(url.searchParams.get('code_challenge_method') === 'S256', 'no S256 PKCE in the authorization URL');
  check(url.searchParams.get('resource') === mcpUrl.href, `resource in the authorization URL: ${url.searchParams.get('resource')}`);
  check(params.get('iss') === issuer, `iss in the redirect: ${params.get('iss')} (RFC 9207)`);
  check(params.get('code'), `no code in the redirect: ${params}`);
  const probe = new StreamableHTTPClientTransport(mcpUrl, { authProvider: provider, fetch: loggingFetch });
  await probe.finishAuth(params.get('code'));
  check(provider.tokenSet?.access_token && provider.tokenSet?.refresh_token, 'no access and refresh token');
  const { client } = await connect(provider);
  await callEcho(client, 'hello from the TypeScript SDK');
  await client.close();
}

async function refreshAndBogus(provider) {
  // The access token goes bad (as if expired or revoked): the SDK gets
  // 401 invalid_token, refreshes with the rotating refresh token, retries.
  const before = provider.tokenSet;
  provider.tokenSet = { ...before, access_token: 'bogus.' + before.access_token.split('.')[1] + '.AAAA' };
  const { client } = await connect(provider);
  await callEcho(client, 'after refresh');
  await client.close();
  const after = provider.tokenSet;
  check(after.refresh_token && after.refresh_token !== before.refresh_token, 'the refresh token did not rotate');
  check(seen.filter((s) => s === 'POST /oauth/token').length >= 2, `no refresh at the token endpoint: ${seen}`);
  // a bogus token with nothing to refresh with is refused
  const bogus = new Provider(provider.redirectUri, { info: provider.info });
  bogus.tokenSet = { access_token: 'not-a-token', token_type: 'Bearer' };
  bogus.redirectToAuthorization = async () => { bogus.sentToLogin = true; };
  let refused = false;
  try { await connect(bogus); } catch (e) { refused = e instanceof UnauthorizedError; }
  check(refused && bogus.sentToLogin, 'a bogus token was not refused');
  const res = await fetch(mcpUrl, { method: 'POST', headers: {
    authorization: 'Bearer not-a-token', 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }) });
  check(res.status === 401 && /error="invalid_token"/.test(res.headers.get('www-authenticate')),
        `bogus token: ${res.status} ${res.headers.get('www-authenticate')}`);
}

async function register(redirectUri) {
  const res = await fetch(new URL('/oauth/register', base), { method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ client_name: 'Pre-registered confidential SDK client',
      redirect_uris: [redirectUri], grant_types: ['authorization_code', 'refresh_token'],
      token_endpoint_auth_method: 'client_secret_basic' }) });
  check(res.status === 201, `registration answered ${res.status}`);
  return res.json();
}

function serveCimd(listener) {
  const server = https.createServer({
    cert: fs.readFileSync(process.env.INTEROP_CIMD_CERT), key: fs.readFileSync(process.env.INTEROP_CIMD_KEY),
  }, (req, res) => {
    server.fetched = (server.fetched || 0) + 1;
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=60' });
    res.end(JSON.stringify(server.document));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => {
    const url = `https://127.0.0.1:${server.address().port}/clients/sdk-interop.json`;
    server.document = { client_id: url, client_name: 'SDK client with a metadata document',
      redirect_uris: [listener.redirectUri], grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'], token_endpoint_auth_method: 'none' };
    resolve({ server, url });
  }));
}

async function main() {
  if (mode === 'agent') {
    const provider = new ClientCredentialsProvider({ clientId: 'interop-agent',
      clientSecret: 'interop-agent-secret-0123456789', expectedIssuer: issuer, scope: 'mcp:echo' });
    const { client } = await connect(provider);
    await callEcho(client, 'from an agent');
    await client.close();
    check(provider.tokens()?.access_token, 'no token');
    check(!seen.includes('POST /oauth/register'), 'an agent registered');
    log('client_credentials, tools/call');
    return;
  }
  const listener = await loopbackListener(http);
  const provider = new Provider(listener.redirectUri);
  let cimd;
  if (mode === 'confidential') {
    const registered = await register(listener.redirectUri);
    provider.info = { client_id: registered.client_id, client_secret: registered.client_secret,
                      token_endpoint_auth_method: 'client_secret_basic' };
  } else if (mode === 'cimd') {
    cimd = await serveCimd(listener);
    provider.clientMetadataUrl = cimd.url;
  }
  await authorizationCodeFlow(provider, listener);
  check(seen.includes('GET /.well-known/oauth-protected-resource/mcp'), `no RFC 9728 discovery: ${seen}`);
  check(seen.includes('GET /.well-known/oauth-authorization-server'), `no RFC 8414 discovery: ${seen}`);
  if (mode === 'dcr') check(provider.registered && seen.includes('POST /oauth/register'), 'no registration');
  else check(!seen.includes('POST /oauth/register'), `${mode}: the SDK registered anyway`);
  if (mode === 'cimd') {
    check(provider.info?.client_id === cimd.url, `client_id ${provider.info?.client_id}`);
    check(cimd.server.fetched >= 1, 'the authorization server never fetched the metadata document');
  }
  await refreshAndBogus(provider);
  listener.server.close();
  cimd?.server.close();
  log('discovery, ' + { dcr: 'DCR', confidential: 'pre-registered client_secret_basic', cimd: 'CIMD over https' }[mode]
      + ', PKCE, iss, tools/list, tools/call, refresh (rotated), bogus token refused');
}

main().then(() => process.exit(0), (e) => { console.error(`sdk ${mode}: FAILED:`, e); console.error('requests:', seen.join(', ')); process.exit(1); });
