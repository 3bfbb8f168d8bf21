#!/usr/bin/env node
// $BROWSER for clients that open the user's browser (mcp-remote): given the
// authorization URL, log in as the test user, approve, and deliver the
// redirect to the client's loopback listener, as the user's browser would.
// Writes a line to $INTEROP_BROWSER_LOG for each URL it was asked to open.
import fs from 'node:fs';
import { authorize } from './player.mjs';

const url = process.argv[2];
if (process.env.INTEROP_BROWSER_LOG) fs.appendFileSync(process.env.INTEROP_BROWSER_LOG, `${url}\n`);
const { location } = await authorize(url, { user: 'alice', password: 'alice-password-1' });
const res = await fetch(location);
if (process.env.INTEROP_BROWSER_LOG) fs.appendFileSync(process.env.INTEROP_BROWSER_LOG, `redirect ${res.status}\n`);
