#!/bin/sh
# Token-endpoint benchmark for mod_mcp_as, on loopback and bounded in time:
#   1. client_credentials (an MCPClient with Basic): ab, concurrency C;
#   2. authorization-code exchange (PKCE, refresh token issued, the
#      used-code marker and the refresh family written to the store):
#      N codes minted beforehand, redeemed by curl --parallel.
# It starts the Apache::Test server of the build tree (the SQLite store,
# whatever the build's flags: a sanitizer build is several times slower),
# prints tokens/s, and stops the server.
#
# Usage: bench/as.sh [BUILDDIR]   (env: REQUESTS=2000 CODES=500 CONCURRENCY=8)
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
builddir=$(cd "${1:-$top}" && pwd)
requests=${REQUESTS:-2000}
codes=${CODES:-500}
concurrency=${CONCURRENCY:-8}
command -v ab >/dev/null || { echo "bench/as.sh: ab not found (Debian package apache2-utils)" >&2; exit 1; }
[ -f "$builddir/t/TEST.PL" ] || { echo "bench/as.sh: build $builddir first" >&2; exit 1; }

work=$(mktemp -d /tmp/mcp-as-bench.XXXXXX)
cd "$builddir"
# a separate build directory has no copy of the suites' files yet (make
# check makes one): bring the ones the test server needs
if [ "$builddir" != "$top" ]; then
    for d in conf lib htdocs cgi-bin keys; do
        if [ -d "$top/t/$d" ]; then mkdir -p "t/$d" && cp -pR "$top/t/$d/." "t/$d/" && chmod -R u+w "t/$d"; fi
    done
fi
cleanup() { perl t/TEST.PL -stop-httpd >/dev/null 2>&1 || true; [ -n "${KEEP:-}" ] || rm -rf "$work"; }
trap cleanup EXIT INT TERM
perl t/TEST.PL -start-httpd >"$work/start.log" 2>&1 || { cat "$work/start.log"; exit 1; }
port=$(sed -n 's/^Listen *\([0-9.]*:\)\{0,1\}\([0-9]*\)$/\2/p' t/conf/httpd.conf | head -1)
base="http://127.0.0.1:$port"
sanitizers=$(grep -q 'fsanitize' "$builddir/Makefile" 2>/dev/null && grep -q '^SANITIZER_CFLAGS = -f' "$builddir/Makefile" && echo yes || echo no)

echo "==> mod_mcp_as token endpoint, $base (sanitizers: $sanitizers, $(nproc) CPUs)"

# 1. client_credentials
printf 'grant_type=client_credentials&scope=mcp%%3Aecho' >"$work/cc.body"
timeout 120 ab -q -n "$requests" -c "$concurrency" -p "$work/cc.body" \
    -T application/x-www-form-urlencoded -A as-agent:as-agent-secret-0123456789 \
    "$base/oauth/token" >"$work/cc.out" 2>&1 || { cat "$work/cc.out"; exit 1; }
cc_rate=$(sed -n 's/^Requests per second: *\([0-9.]*\).*/\1/p' "$work/cc.out")
cc_failed=$(sed -n 's/^Failed requests: *\([0-9]*\).*/\1/p' "$work/cc.out")
cc_non2xx=$(sed -n 's/^Non-2xx responses: *\([0-9]*\).*/\1/p' "$work/cc.out")
cc_p50=$(awk '$1 == "50%" { print $2 }' "$work/cc.out")
cc_p99=$(awk '$1 == "99%" { print $2 }' "$work/cc.out")
echo "client_credentials: $cc_rate tokens/s ($requests requests, concurrency $concurrency, failed ${cc_failed:-0}, non-2xx ${cc_non2xx:-0}, p50 ${cc_p50}ms, p99 ${cc_p99}ms)"

# 2. authorization-code exchange: mint the codes first (remembered consent,
#    so /authorize answers 302 with a code at once), then redeem them all.
perl -I"$builddir/t/lib" -MApache::TestRequest -e '
    use strict; use MCP::AS qw(pkce register_client authorize consent_form approve query_of);
    Apache::TestRequest::module("default");
    my ($codes, $dir) = @ARGV;
    my ($verifier, $challenge) = pkce();
    my (undef, $client) = register_client();
    my %req = (client_id => $client->{client_id}, response_type => "code", scope => "mcp:echo",
               code_challenge => $challenge, code_challenge_method => "S256");
    approve(consent_form(authorize(%req)));
    open my $cfg, ">", "$dir/curl.cfg" or die $!;
    for my $n (1 .. $codes) {
        my $code = query_of(authorize(%req))->{code} or die "no code";
        print $cfg "next\n" if $n > 1;
        print $cfg "url = \"", MCP::AS::base(), "/oauth/token\"\n",
            "data = \"grant_type=authorization_code&code=$code&code_verifier=$verifier&client_id=$client->{client_id}\"\n",
            "output = /dev/null\nwrite-out = \"%{http_code}\\n\"\n";
    }
' "$codes" "$work" || exit 1
start=$(date +%s.%N)
timeout 120 curl -s -S --parallel --parallel-max "$concurrency" -K "$work/curl.cfg" >"$work/codes.out" 2>"$work/codes.err"
end=$(date +%s.%N)
ok=$(grep -c '^200$' "$work/codes.out" || true)
code_rate=$(echo "$start $end $ok" | awk '{ printf "%.1f", $3 / ($2 - $1) }')
echo "authorization_code: $code_rate tokens/s ($codes codes, concurrency $concurrency, $ok answered 200)"
[ "$ok" -eq "$codes" ] || { echo "bench/as.sh: $((codes - ok)) code exchanges failed" >&2; exit 1; }
[ "${cc_failed:-0}" -eq 0 ] && [ "${cc_non2xx:-0}" -eq 0 ] || { echo "bench/as.sh: client_credentials failures" >&2; exit 1; }
echo "ratio code exchange / client_credentials: $(echo "$code_rate $cc_rate" | awk '{ printf "%.2f", $1 / $2 }')"
