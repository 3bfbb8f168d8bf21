// mcp-remote, the stdio-to-remote proxy desktop assistants use, in front of
// the echo tool: an MCP client (the SDK's stdio transport, as a desktop
// assistant would) starts it as a desktop assistant's configuration does,
// `mcp-remote URL` with no options; mcp-remote meets the 401, discovers,
// registers and opens $BROWSER (play-browser.mjs plays the user); then
// tools/list and tools/call echo round-trip through it.  A second start
// reuses the stored tokens without a browser.
//   node mcp-remote-client.mjs BASE-URL
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { check } from './player.mjs';

const base = process.argv[2];
const here = path.dirname(fileURLToPath(import.meta.url));
const proxy = path.join(here, 'node_modules/mcp-remote/dist/proxy.js');
const browserLog = process.env.INTEROP_BROWSER_LOG;
const stderrLog = fs.openSync(process.env.INTEROP_MCP_REMOTE_LOG || '/dev/null', 'a');

async function session(text) {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [proxy, new URL('/mcp', base).href],
    env: { ...process.env }, stderr: stderrLog,
  });
  const client = new Client({ name: 'desktop-assistant-stand-in', version: '1.0.0' });
  await client.connect(transport);
  const tools = await client.listTools();
  check(tools.tools.some((t) => t.name === 'echo'), `tools/list: ${JSON.stringify(tools)}`);
  const result = await client.callTool({ name: 'echo', arguments: { text } });
  check(!result.isError && JSON.stringify(result.content).includes(text), `tools/call: ${JSON.stringify(result)}`);
  await client.close();
}

async function main() {
  await session('through mcp-remote');
  const opened = fs.readFileSync(browserLog, 'utf8').split('\n').filter((l) => l.startsWith('http'));
  check(opened.length === 1, `the browser was opened ${opened.length} times`);
  const url = new URL(opened[0]);
  check(url.searchParams.get('code_challenge_method') === 'S256', 'no PKCE S256');
  await session('again, with stored tokens');
  const again = fs.readFileSync(browserLog, 'utf8').split('\n').filter((l) => l.startsWith('http'));
  check(again.length === 1, 'the second start opened the browser again');
  console.log('mcp-remote: discovery, DCR, $BROWSER login + consent, PKCE, tools/list, tools/call, stored tokens reused');
}

main().then(() => process.exit(0), (e) => { console.error('mcp-remote: FAILED:', e); process.exit(1); });
