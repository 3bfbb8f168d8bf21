#!/bin/sh
# The conformance harness runs `sh run-client.sh MCP-CLIENT` with the
# scenario's server URL appended, MCP_CONFORMANCE_SCENARIO set to the
# scenario's name and, for scenarios that hand out pre-registered client
# credentials, MCP_CONFORMANCE_CONTEXT set to a JSON object (client_id,
# client_secret, or private_key_pem for private_key_jwt).  This adapter
# turns that context into mcp-client's own options, as a user would type
# them, and plays the user's browser with curl: it follows the
# authorization endpoint's redirect to mcp-client's loopback listener.
# mcp-client itself has no test mode.
set -eu
client=$1
url=$2
key=""
# Each scenario is a new user with no stored tokens or registrations: the
# mock servers listen on random ports, and a port used again by a later
# scenario would otherwise find the earlier scenario's token and skip the
# flow under test (seen once: client-credentials-basic made no token request).
store_dir=$(mktemp -d)
trap 'rm -rf "$store_dir"' EXIT
set -- --tool test-tool --wait 20 --timeout 10 --token-store "$store_dir/tokens.json" \
    --client-metadata-url https://conformance-test.local/client-metadata.json
if [ -n "${MCP_CONFORMANCE_CONTEXT:-}" ]; then
    key=$(mktemp)
    # node is on PATH: the harness runs under it
    context=$(MCP_KEY_FILE="$key" node -e '
        const fs = require("fs");
        const c = JSON.parse(process.env.MCP_CONFORMANCE_CONTEXT);
        if (c.private_key_pem) fs.writeFileSync(process.env.MCP_KEY_FILE, c.private_key_pem, { mode: 0o600 });
        process.stdout.write((c.client_id || "") + "\n" + (c.client_secret || "") + "\n"
                             + (c.private_key_pem ? "key" : "") + "\n");')
    client_id=$(printf '%s\n' "$context" | sed -n 1p)
    client_secret=$(printf '%s\n' "$context" | sed -n 2p)
    [ -n "$client_id" ] && set -- "$@" --client-id "$client_id"
    if [ -n "$client_secret" ]; then
        export MCP_CLIENT_SECRET="$client_secret"
    fi
    [ "$(printf '%s\n' "$context" | sed -n 3p)" = key ] && set -- "$@" --client-key "$key"
    case "${MCP_CONFORMANCE_SCENARIO:-}" in
        auth/client-credentials-*) set -- "$@" --grant client_credentials ;;
    esac
fi
status=0
BROWSER='curl -fsSL -o /dev/null' "$client" -v "$@" "$url" || status=$?
[ -z "$key" ] || rm -f "$key"
exit $status
