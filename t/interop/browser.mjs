// A real browser: Debian's Chromium driven by playwright-core (no browser
// download) through the whole flow of `mcp-client --no-browser`: it opens
// the authorization URL the client prints, signs in on the demo's login
// page (mod_auth_form), sees the consent page (its anti-framing headers are
// checked, a screenshot saved, an attempt to frame it fails), clicks
// Approve, and the client, listening on its loopback redirect, completes
// the tools/call.  A second client (fresh registration) is denied: it
// must get access_denied.
//   node browser.mjs BASE-URL MCP-CLIENT WORKDIR OUTDIR
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { check } from './player.mjs';

const [base, mcpClient, work, outdir] = process.argv.slice(2);
const done = [];
const authorizePrefix = new URL('/oauth/authorize?', base).href;

// Starts mcp-client; resolves `url` with the authorization URL it prints
// and `exit` with its status and output.
function startClient(name) {
  const child = spawn(mcpClient, ['--no-browser', '--wait', '60', '--timeout', '10',
    '--token-store', path.join(work, `${name}-tokens.json`), '--tool', 'echo', '--arg', 'text=hello from chromium',
    new URL('/mcp', base).href], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, XDG_CACHE_HOME: work } });
  let output = '', found;
  const url = new Promise((resolve) => { found = resolve; });
  const take = (chunk) => {
    output += chunk;
    const m = output.match(new RegExp(authorizePrefix.replace(/[.?*+^$()[\]{}|\\/]/g, '\\$&') + '\\S+'));
    if (m) found(m[0]);
  };
  child.stdout.on('data', take);
  child.stderr.on('data', take);
  const exit = new Promise((resolve) => child.on('exit', (code) => resolve({ code, output })));
  exit.then(() => found(undefined));
  return { url, exit, child };
}

async function main() {
  const profile = fs.mkdtempSync(path.join(work, 'chromium-profile-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium', headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
           '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 900, height: 760 },
  });
  try {
    const page = context.pages()[0] || await context.newPage();
    const version = context.browser()?.version() ?? (await page.evaluate(() => navigator.userAgent)).match(/Chrome\/(\S+)/)?.[1];

    // --- Approve
    const approve = startClient('approve');
    const url = await approve.url;
    if (!url) throw new Error(`mcp-client printed no authorization URL:\n${(await approve.exit).output}`);
    let response = await page.goto(url);
    check(response.status() === 401 && await page.locator('input[name=httpd_username]').count() === 1,
          `no login page at the authorization URL (${response.status()})`);
    await page.fill('input[name=httpd_username]', 'alice');
    await page.fill('input[name=httpd_password]', 'alice-password-1');
    [response] = await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
    check(response.status() === 200 && await page.locator('button[value=approve]').count() === 1,
          `no consent page after signing in (${response.status()}): ${(await page.content()).slice(0, 300)}`);
    done.push('login page');
    const headers = response.headers();
    const xfo = headers['x-frame-options'] || '';
    const csp = headers['content-security-policy'] || '';
    check(/^deny$/i.test(xfo) && /frame-ancestors 'none'/.test(csp),
          `consent page anti-framing headers: X-Frame-Options=${xfo} CSP=${csp}`);
    fs.mkdirSync(outdir, { recursive: true });
    await page.screenshot({ path: path.join(outdir, 'consent-page.png'), fullPage: true });
    // the browser itself refuses to show it in a frame
    const framer = await context.newPage();
    await framer.setContent(`<iframe src="${url}" width="600" height="400"></iframe>`);
    await framer.waitForTimeout(500);
    const framed = await framer.frames()[1]?.locator('button[value=approve]').count().catch(() => 0);
    check(!framed, 'the consent page rendered inside a frame');
    await framer.close();
    done.push(`consent page (X-Frame-Options ${xfo}, frame-ancestors 'none', not framable)`);
    [response] = await Promise.all([page.waitForNavigation(), page.click('button[value=approve]')]);
    const landed = new URL(page.url());
    check(landed.hostname === '127.0.0.1' && landed.pathname === '/callback' && landed.searchParams.get('code'),
          `after Approve the browser is at ${page.url()}`);
    const approved = await approve.exit;
    check(approved.code === 0 && approved.output.includes('hello from chromium'),
          `mcp-client after Approve: exit ${approved.code}\n${approved.output}`);
    done.push('Approve → mcp-client completes tools/call');

    // --- Deny (a second client: registers anew, so the consent page shows)
    const deny = startClient('deny');
    const denyUrl = await deny.url;
    if (!denyUrl) throw new Error(`second mcp-client printed no URL:\n${(await deny.exit).output}`);
    response = await page.goto(denyUrl);
    check(response.status() === 200 && await page.locator('button[value=deny]').count() === 1,
          `no consent page for the second client (${response.status()})`);
    await Promise.all([page.waitForNavigation(), page.click('button[value=deny]')]);
    const denied = await deny.exit;
    check(denied.code === 4 && /access_denied/.test(denied.output),
          `mcp-client after Deny: exit ${denied.code}\n${denied.output}`);
    done.push('Deny → access_denied (exit 4)');
    console.log(`chromium ${version}: ${done.join(', ')}`);
  } finally {
    await context.close();
  }
}

main().then(() => process.exit(0), (e) => { console.error('chromium: FAILED after', done.join(', ') || 'nothing', '\n', e); process.exit(1); });
