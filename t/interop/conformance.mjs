// The MCP conformance suite (@modelcontextprotocol/conformance) against our
// servers:
//   node conformance.mjs authorization BASE-URL OUTDIR
//     its authorization-server scenarios (metadata endpoint, authorization
//     code grant) against mod_mcp_as with a public client registered
//     beforehand; the user's part (login, consent) is played with the URL
//     the harness prints.  (Not with a confidential client: the harness
//     then sends no secret when the metadata lists `none`, see
//     COMPATIBILITY.md.)
//   node conformance.mjs server BASE-URL OUTDIR SCENARIO...
//     server scenarios against the mcp-echo tool at BASE-URL/open/mcp
// Prints one line per scenario and a total; exits non-zero on a failure.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { authorize } from './player.mjs';

const [command, base, outdir, ...scenarios] = process.argv.slice(2);
const here = path.dirname(fileURLToPath(import.meta.url));
const harness = path.join(here, 'node_modules/@modelcontextprotocol/conformance/dist/index.js');
let passed = 0, failed = 0;

const freePort = () => new Promise((resolve) => {
  const s = net.createServer().listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); });
});

function run(args, onLine) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [harness, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const take = (chunk) => {
      output += chunk;
      if (onLine) for (const line of chunk.toString().split('\n')) onLine(line);
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    const timer = setTimeout(() => child.kill(), 120000);
    child.on('exit', (code) => { clearTimeout(timer); resolve({ code, output }); });
  });
}

// every checks.json under DIR written since START: one line per scenario
function report(dir, label, since) {
  for (const entry of fs.readdirSync(dir).sort()) {
    const file = path.join(dir, entry, 'checks.json');
    if (!fs.existsSync(file) || fs.statSync(file).mtimeMs < since) continue;
    const checks = JSON.parse(fs.readFileSync(file, 'utf8'));
    const ok = checks.filter((c) => c.status === 'SUCCESS').length;
    const bad = checks.filter((c) => c.status === 'FAILURE' || c.status === 'WARNING');
    const name = entry.replace(/-\d{4}-\d{2}-\d{2}T[\d-]+Z$/, '').replace(/^(authorization-)?server-/, '');
    console.log(`${bad.length === 0 && ok > 0 ? 'ok  ' : 'FAIL'} ${label}${name}: ${ok} checks passed, ${bad.length} failed`);
    for (const c of bad) console.log(`       ${c.status} ${c.id}: ${c.errorMessage || c.description}`);
    if (bad.length === 0 && ok > 0) passed++; else failed++;
  }
}

async function register(confidential, redirectUri) {
  const res = await fetch(new URL('/oauth/register', base), { method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ client_name: `MCP conformance suite (${confidential ? 'confidential' : 'public'})`,
      redirect_uris: [redirectUri], grant_types: ['authorization_code'],
      token_endpoint_auth_method: confidential ? 'client_secret_basic' : 'none' }) });
  if (res.status !== 201) throw new Error(`registration: ${res.status}`);
  return res.json();
}

async function authorizationScenarios() {
  for (const confidential of [false]) {
    const port = await freePort();
    const client = await register(confidential, `http://127.0.0.1:${port}/callback`);
    const out = path.join(outdir, confidential ? 'as-confidential' : 'as-public');
    fs.mkdirSync(out, { recursive: true });
    const args = ['authorization', '--url', base, '--client-id', client.client_id,
      '--resource', new URL('/mcp', base).href, '--port', String(port), '-o', out];
    if (confidential) args.push('--client-secret', client.client_secret);
    let played;
    const since = Date.now();
    const { output } = await run(args, (line) => {
      // the harness prints the URL for a person to open: play that person
      if (!played && line.startsWith(new URL('/oauth/authorize?', base).href)) {
        played = authorize(line.trim(), { user: 'alice', password: 'alice-password-1' })
          .then(({ location }) => fetch(location))
          .catch((e) => console.error('playing the user failed:', e));
      }
    });
    await played;
    fs.writeFileSync(path.join(out, 'harness.log'), output);
    report(out, '', since);
  }
}

async function serverScenarios() {
  const out = path.join(outdir, 'server');
  fs.mkdirSync(out, { recursive: true });
  const since = Date.now();
  for (const scenario of scenarios) {
    const { output } = await run(['server', '--url', new URL('/open/mcp', base).href,
      '--scenario', scenario, '-o', out]);
    fs.appendFileSync(path.join(out, 'harness.log'), output);
  }
  report(out, '', since);
}

await (command === 'authorization' ? authorizationScenarios() : serverScenarios());
console.log(`conformance ${command}: ${passed} passed, ${failed} failed`);
process.exit(failed > 0 || passed === 0 ? 1 : 0);
