#!/bin/sh
# mod_mcp_rs benchmark: wrk on loopback, bounded in time (about a minute).
#
#   bench/rs.sh [BUILDDIR]      (default: builds _build/bench, no sanitizers)
#
# Starts a private httpd (event MPM) on 127.0.0.1 with the mcp-echo tool
# unprotected (/echo) and behind AuthType MCP (/mcp, RS256 keys from a
# file), then measures, one after the other:
#   unprotected   GET /echo?text=hi
#   protected     GET /mcp?text=hi with one valid token, reused (cache hit)
#   cold          GET /mcp?text=hi, every request a never-seen token (full
#                 RS256 verification; tokens pre-minted)
#   401           GET /mcp?text=hi without a token
# and prints requests/s and the ratios to the unprotected run.
# Each of unprotected, protected and 401 is measured ROUNDS times,
# interleaved, and the best run of each kept, so that a burst of other load
# on the machine does not decide the ratio.
# Environment: DURATION (s per run, default 4), ROUNDS (default 3),
# CONNECTIONS (default 32), THREADS (wrk threads, default 2),
# COLD_TOKENS (default 40000), COLD_SECONDS (default 3), KEEP (keep the
# server running and its directory, for profiling).
set -eu
MCP_TOP=$(cd "$(dirname "$0")/.." && pwd)
. "$MCP_TOP/scripts/lib.sh"

DURATION=${DURATION:-4}
ROUNDS=${ROUNDS:-3}
COLD_SECONDS=${COLD_SECONDS:-3}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-2}
COLD_TOKENS=${COLD_TOKENS:-40000}

mcp_install_packages wrk libcrypt-jwt-perl $MCP_BUILD_PACKAGES

builddir=${1:-}
if [ -z "$builddir" ]; then
    builddir="$MCP_TOP/_build/bench"
    mcp_build "$builddir"
fi
builddir=$(cd "$builddir" && pwd)
module="$builddir/mod_mcp_rs/.libs/mod_mcp_rs.so"
[ -f "$module" ] || mcp_die "$module not built"
httpd=$(sed -n "s/^exec '\(.*\)' \"\$@\"$/\1/p" "$builddir/t/bin/httpd")
[ -x "$httpd" ] || mcp_die "cannot find httpd (from $builddir/t/bin/httpd)"
if grep -q "^preload='.\+'" "$builddir/t/bin/httpd"; then
    mcp_say "note: $builddir is a sanitizer build; figures will be low"
fi

work=$(mktemp -d)
port=$(perl -MIO::Socket::INET -e 'print IO::Socket::INET->new(Listen => 1, LocalAddr => "127.0.0.1:0")->sockport')
cleanup() {
    if [ -n "${KEEP:-}" ]; then echo "kept $work (port $port)"; return; fi
    if [ -f "$work/httpd.pid" ]; then kill "$(cat "$work/httpd.pid")" 2>/dev/null || true; sleep 1; fi
    rm -rf "$work"
}
trap cleanup EXIT INT TERM

# the base module list the test suite uses, plus the module just built
cat > "$work/httpd.conf" <<EOC
ServerRoot "$work"
ServerName 127.0.0.1
Listen 127.0.0.1:$port
PidFile "$work/httpd.pid"
ErrorLog "$work/error_log"
LogLevel warn
DefaultRuntimeDir "$work"
Include "$builddir/t/httpd-base.conf"
LoadModule mcp_rs_module "$module"
User $(id -un)
StartServers 2
ServerLimit 4
ThreadsPerChild 32
MaxRequestWorkers 128
MaxConnectionsPerChild 0
KeepAliveTimeout 30
MaxKeepAliveRequests 0
DocumentRoot "$work"
<Location /echo>
    SetHandler mcp-echo
    Require all granted
</Location>
<Location /mcp>
    AuthType MCP
    SetHandler mcp-echo
    MCPResource http://127.0.0.1:$port/mcp
    MCPAuthorizationServer https://as.bench
    MCPJWKS "$MCP_TOP/t/keys/test-main.jwks.json"
    Require valid-user
</Location>
EOC
if [ "$(id -u)" -eq 0 ]; then sed -i "s/^User .*/User nobody/" "$work/httpd.conf"; chmod 755 "$work"; fi

mcp_say "minting 1 reused and $COLD_TOKENS cold RS256 tokens"
perl -MCrypt::JWT=encode_jwt -MCrypt::PK::RSA -e '
    my ($key_file, $aud, $count, $out) = @ARGV;
    my $key = Crypt::PK::RSA->new($key_file);
    my $exp = time + 3600;
    # two processes: signing is the slow part
    my $pid = fork;
    my @range = $pid ? (1, int($count / 2)) : (int($count / 2) + 1, $count);
    open my $fh, ">", "$out." . ($pid ? "a" : "b") or die $!;
    for my $i ($range[0] .. $range[1]) {
        print $fh encode_jwt(payload => { iss => "https://as.bench", aud => $aud, sub => "user$i",
            client_id => "bench", scope => "mcp:echo", exp => $exp, iat => time, jti => "cold-$i" },
            alg => "RS256", key => $key, extra_headers => { typ => "at+jwt", kid => "rsa-1" }), "\n";
    }
    close $fh;
    if ($pid) { waitpid $pid, 0 } else { exit 0 }
' "$MCP_TOP/t/keys/test-rsa.pem" "http://127.0.0.1:$port/mcp" "$COLD_TOKENS" "$work/tokens"
cat "$work/tokens.a" "$work/tokens.b" > "$work/cold.txt"
reused=$(head -1 "$work/cold.txt")
sed -i 1d "$work/cold.txt"

"$httpd" -f "$work/httpd.conf" -k start || { cat "$work/error_log"; mcp_die "httpd did not start"; }
for _ in 1 2 3 4 5 6 7 8 9 10; do
    curl -s -o /dev/null "http://127.0.0.1:$port/echo?text=up" && break
    sleep 0.5
done
status=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $reused" "http://127.0.0.1:$port/mcp?text=hi")
[ "$status" = 200 ] || { cat "$work/error_log"; mcp_die "the reused token was refused ($status)"; }

cat > "$work/reused.lua" <<EOL
wrk.headers["Authorization"] = "Bearer $reused"
EOL
# each wrk thread takes its own slice of the never-seen tokens
cat > "$work/cold.lua" <<'EOL'
local tokens = {}
for line in io.lines(os.getenv("COLD_FILE")) do tokens[#tokens + 1] = line end
local threads, counter = 0, 0
function setup(thread) thread:set("id", threads); threads = threads + 1 end
function init(args)
    local per = math.floor(#tokens / tonumber(os.getenv("THREADS")))
    first = id * per
    count = per
    i = 0
    wrapped = false
end
function request()
    if i >= count then i = 0; wrapped = true end
    local token = tokens[first + i + 1]
    i = i + 1
    return wrk.format("GET", "/mcp?text=hi", { Authorization = "Bearer " .. token })
end
function done(summary, latency, requests)
    if summary.requests > #tokens then
        io.write(string.format("note: %d requests but %d tokens: some were cache hits\n",
                               summary.requests, #tokens))
    end
end
EOL

measure() {   # url [script] -> prints requests/s and non-2xx count
    out=$(COLD_FILE="$work/cold.txt" THREADS="$THREADS" \
          wrk -t"$THREADS" -c"$CONNECTIONS" -d"$1" ${3:+-s "$3"} "$2")
    rps=$(printf '%s\n' "$out" | sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p')
    non2xx=$(printf '%s\n' "$out" | sed -n 's/^ *Non-2xx or 3xx responses: *\([0-9]*\).*/\1/p')
    note=$(printf '%s\n' "$out" | grep '^note:' || true)
    echo "$rps ${non2xx:-0} $note"
}
best() { awk -v a="$1" -v b="$2" 'BEGIN { print (a + 0 > b + 0) ? a : b }'; }

echo
echo "mod_mcp_rs benchmark: wrk -t$THREADS -c$CONNECTIONS, $ROUNDS interleaved rounds of ${DURATION}s (best of each kept),"
echo "127.0.0.1, $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg), $("$httpd" -v | sed -n 's/^Server version: //p')"
unprotected_url="http://127.0.0.1:$port/echo?text=hi"
protected_url="http://127.0.0.1:$port/mcp?text=hi"
# warm-up: every child reads the keys and caches the reused token
measure 2s "$unprotected_url" >/dev/null
measure 2s "$protected_url" "$work/reused.lua" >/dev/null
rps_unprotected=0; rps_protected=0; rps_unauthorized=0
round=1
while [ "$round" -le "$ROUNDS" ]; do
    set -- $(measure "${DURATION}s" "$unprotected_url"); u=$1
    set -- $(measure "${DURATION}s" "$protected_url" "$work/reused.lua"); p=$1; p_bad=$2
    set -- $(measure "${DURATION}s" "$protected_url"); d=$1
    printf '  round %d: unprotected %s, protected %s (non-2xx %s), 401 path %s req/s\n' "$round" "$u" "$p" "$p_bad" "$d"
    rps_unprotected=$(best "$rps_unprotected" "$u")
    rps_protected=$(best "$rps_protected" "$p")
    rps_unauthorized=$(best "$rps_unauthorized" "$d")
    round=$((round + 1))
done
# never-seen tokens: one run, shorter than the supply of tokens lasts
set -- $(measure "${COLD_SECONDS}s" "$protected_url" "$work/cold.lua"); rps_cold=$1; shift 2
cold_note="$*"

echo
printf '%-28s %10s req/s\n' "unprotected" "$rps_unprotected"
printf '%-28s %10s req/s\n' "protected, reused token" "$rps_protected"
printf '%-28s %10s req/s %s\n' "protected, never-seen tokens" "$rps_cold" "$cold_note"
printf '%-28s %10s req/s\n' "401 path (no token)" "$rps_unauthorized"
echo
awk -v u="$rps_unprotected" -v p="$rps_protected" -v c="$rps_cold" -v d="$rps_unauthorized" 'BEGIN {
    printf "protected (reused token) / unprotected: %.3f  (target >= 0.90)\n", p / u;
    printf "cold (never-seen tokens) / unprotected: %.3f\n", c / u;
    printf "401 path / unprotected:                 %.3f\n", d / u;
    exit (p / u >= 0.90) ? 0 : 1
}' && verdict=0 || verdict=1
[ "$verdict" -eq 0 ] || echo "below the 0.90 target"
exit "$verdict"
