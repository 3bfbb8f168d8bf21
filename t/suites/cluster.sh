#!/bin/sh
# mod_mcp_as as one authorization server on two nodes: starts PostgreSQL
# and memcached on 127.0.0.1 (free ports, a temporary directory, as
# unprivileged users), two httpd nodes that include conf/cluster/node.conf
# with the same issuer, store, cache and signing keys, and a load balancer
# (t/cluster/ctl.sh), then checks:
#   - cold starts: both nodes at once on an empty database and without
#     keys, several times: both come up, with the same keys;
#   - t/cluster/*.pl (TAP, run by prove; not *.t, which make check would
#     pick up): cross-node flows, code replay, refresh reuse,
#     revocation, 20 concurrent redemptions; node failure under load;
#     memcached restart; signing-key rotation across the nodes; database
#     round trips per code issued, code exchange and client_credentials;
#   - no sanitizer report and no crashed child in the nodes' error logs.
# One line per check; everything is stopped on exit; non-zero on failure.
#
# Usage: t/suites/cluster.sh BUILDDIR
set -eu
builddir=$(cd "${1:-.}" && pwd)
tdir=$(cd "$(dirname "$0")/.." && pwd)
ctl="$tdir/cluster/ctl.sh"
command -v prove >/dev/null || { echo "cluster.sh: prove not found (Debian package perl)" >&2; exit 1; }

tmp=$(mktemp -d /tmp/mcp-cluster.XXXXXX)
cleanup() {
    rc=$?
    sh "$ctl" "$tmp" stop >/dev/null 2>&1 || true
    if [ "$rc" -ne 0 ] && [ -z "${KEEP:-}" ]; then
        for log in "$tmp"/node-*/error.log; do
            [ -f "$log" ] || continue
            echo "--- last lines of $log"
            tail -n 15 "$log"
        done
    fi
    [ -n "${KEEP:-}" ] && echo "kept $tmp" || rm -rf "$tmp"
    exit $rc
}
trap cleanup EXIT INT TERM

failed=0
check() {
    name=$1; shift
    if "$@" >"$tmp/check.out" 2>&1; then
        echo "ok - $name"
    else
        echo "not ok - $name"
        sed 's/^/    /' "$tmp/check.out"
        failed=$((failed + 1))
    fi
}

# pg_stat_statements: t/cluster/05-db-round-trips.pl counts round trips
sh "$ctl" "$tmp" start "$builddir" pg_stat_statements
. "$tmp/env"

same_keys() {
    a=$(curl -sf "$NODE_A/oauth/jwks") && b=$(curl -sf "$NODE_B/oauth/jwks") || return 1
    [ "$a" = "$b" ] || { echo "node a: $a"; echo "node b: $b"; return 1; }
    # both keys of the test configuration (ES256 signs, RS256 published)
    [ "$(echo "$a" | grep -o '"kid"' | wc -l)" -eq 2 ] || { echo "expected 2 keys: $a"; return 1; }
}
cold_start() { sh "$ctl" "$tmp" cold-start && same_keys; }

# Nodes starting together race to create the schema (PostgreSQL's CREATE
# TABLE IF NOT EXISTS is not safe against a concurrent one) and to
# generate a missing key in a shared directory; both must come up, with
# the same keys.  Each round wins the race for one node or the other.
for round in 1 2 3 4; do
    check "cold start $round: nodes a and b at once, empty database, no keys: both up, same JWKS" cold_start
done

MCP_CLUSTER_DIR=$tmp prove -v "$tdir"/cluster/*.pl || failed=$((failed + 1))

# the nodes' own view: no sanitizer report, no child that crashed
clean_logs() {
    ! grep -E 'AddressSanitizer|LeakSanitizer|runtime error:|exit signal (Segmentation|Aborted|Bus)' \
        "$tmp"/node-*/error.log
}
check "no sanitizer report or crashed child in the nodes' error logs" clean_logs

echo "cluster: $failed failed"
[ "$failed" -eq 0 ]
