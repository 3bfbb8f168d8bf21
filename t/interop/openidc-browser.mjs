// Login through an external identity provider: /oauth/authorize is behind
// mod_auth_openidc, whose OpenID provider is oidc-provider (op.mjs).
// Chromium (playwright-core) opens the URL `mcp-client --no-browser`
// prints, signs in at the provider as op-user-alice, accepts the provider's
// consent, comes back through mod_auth_openidc to our consent page (which
// names the provider's user), approves; mcp-client completes, and the
// access token's sub (and what the tool sees) is the provider's user.
//   node openidc-browser.mjs BASE-URL OP-URL MCP-CLIENT WORKDIR
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { check } from './player.mjs';

const [base, opUrl, mcpClient, work] = process.argv.slice(2);
const user = 'op-user-alice';
const done = [];
const tokenStore = path.join(work, 'openidc-tokens.json');

function startClient() {
  const child = spawn(mcpClient, ['--no-browser', '--wait', '60', '--timeout', '10', '--token-store', tokenStore,
    new URL('/mcp?text=signed+in+elsewhere', base).href], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '', found;
  const url = new Promise((resolve) => { found = resolve; });
  const take = (chunk) => {
    output += chunk;
    const m = output.match(/http:\/\/127\.0\.0\.1:\d+\/oauth\/authorize\?\S+/);
    if (m) found(m[0]);
  };
  child.stdout.on('data', take);
  child.stderr.on('data', take);
  const exit = new Promise((resolve) => child.on('exit', (code) => resolve({ code, output })));
  exit.then(() => found(undefined));
  return { url, exit };
}

async function main() {
  const context = await chromium.launchPersistentContext(fs.mkdtempSync(path.join(work, 'chromium-profile-')), {
    executablePath: '/usr/bin/chromium', headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
           '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  // nothing leaves 127.0.0.1 (the provider's development pages link a web font)
  await context.route((url) => url.hostname !== '127.0.0.1', (route) => route.abort());
  try {
    const page = context.pages()[0] || await context.newPage();
    const client = startClient();
    const url = await client.url;
    if (!url) throw new Error(`mcp-client printed no URL:\n${(await client.exit).output}`);
    await page.goto(url);
    check(page.url().startsWith(opUrl) && await page.locator('input[name=login]').count() === 1,
          `not at the provider's sign-in page: ${page.url()}`);
    done.push('redirected to the OpenID provider');
    await page.fill('input[name=login]', user);
    await page.fill('input[name=password]', 'op-password');
    await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
    // the provider's own consent (openid profile for mod-mcp-as)
    if (page.url().startsWith(opUrl)) {
      await Promise.all([page.waitForURL((u) => u.href.startsWith(base)), page.click('button[type=submit]')]);
    }
    check(page.url().startsWith(new URL('/oauth/authorize', base).href)
          && await page.locator('button[value=approve]').count() === 1,
          `not at our consent page after the provider: ${page.url()}\n${(await page.content()).slice(0, 400)}`);
    const signedIn = await page.locator('strong').first().textContent();
    check(signedIn === user, `the consent page says signed in as ${signedIn}`);
    done.push(`signed in at the provider, back through mod_auth_openidc as ${user}`);
    await Promise.all([page.waitForURL(/\/callback\?/), page.click('button[value=approve]')]);
    const result = await client.exit;
    check(result.code === 0, `mcp-client: exit ${result.code}\n${result.output}`);
    const answer = JSON.parse(result.output.slice(result.output.lastIndexOf('{"')));
    check(answer.echo === 'signed in elsewhere' && answer.sub === user, `the tool answered ${JSON.stringify(answer)}`);
    const stored = fs.readFileSync(tokenStore, 'utf8').match(/"access_token"\s*:\s*"([^"]+)"/);
    check(stored, 'no access token in the token store');
    const claims = JSON.parse(Buffer.from(stored[1].split('.')[1], 'base64url').toString());
    check(claims.sub === user && claims.iss === base, `access token claims ${JSON.stringify(claims)}`);
    done.push(`approved; access token sub=${claims.sub}, the tool sees sub=${answer.sub}`);
    console.log(`openidc: ${done.join(', ')}`);
  } finally {
    await context.close();
  }
}

main().then(() => process.exit(0), (e) => { console.error('openidc: FAILED after', done.join(', ') || 'nothing', '\n', e); process.exit(1); });
