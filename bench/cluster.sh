#!/bin/sh
# Token-endpoint throughput of a mod_mcp_as cluster on this machine, one
# node against two, and what the shared PostgreSQL database costs per
# issued token.  Loopback only, bounded in time (about a minute and a half).
#
#   bench/cluster.sh [BUILDDIR]     (default: builds _build/bench, no sanitizers)
#
# Starts the cluster of the test suite (t/cluster/ctl.sh: PostgreSQL with
# pg_stat_statements, memcached, nodes a and b including
# conf/cluster/node.conf, same issuer and keys), then measures:
#   client_credentials   wrk, CONNECTIONS connections for DURATION seconds:
#                        to node a alone, then to a and b at once (half the
#                        connections each, the sum of both);
#   authorization_code   CODES codes minted beforehand (remembered consent,
#                        so /authorize answers with a code at once), each
#                        redeemed once with PKCE by curl --parallel
#                        (CONNECTIONS at a time): on node a alone, then
#                        half on a and half on b at once;
# and, from pg_stat_statements reset before each single-node run, the SQL
# statements (each one a round trip: apr_dbd's pgsql driver sends BEGIN,
# every prepared statement and COMMIT separately) per issued token, and per
# code issued by /authorize.
# Both nodes run on the same CPUs as the load generator and PostgreSQL:
# on one machine a second node adds processes, not CPU.  So the
# client_credentials runs are repeated with each node held to a CPU of its
# own (taskset), as on separate machines, and the CPU time per token of the
# node and of PostgreSQL is measured (/proc), which is what decides how
# far more nodes carry.  client_credentials runs are repeated ROUNDS times,
# interleaved, and the best kept; the load average is printed first, since
# other work on the machine moves the figures.
# Environment: DURATION (default 6), CONNECTIONS (default 16), CODES
# (default 2000), ROUNDS (default 2), KEEP (keep the cluster's directory).
set -eu
MCP_TOP=$(cd "$(dirname "$0")/.." && pwd)
. "$MCP_TOP/scripts/lib.sh"

DURATION=${DURATION:-6}
ROUNDS=${ROUNDS:-2}
CONNECTIONS=${CONNECTIONS:-16}
CODES=${CODES:-2000}
half=$((CONNECTIONS / 2))

mcp_install_packages wrk curl postgresql memcached $MCP_BUILD_PACKAGES

builddir=${1:-}
if [ -z "$builddir" ]; then
    builddir="$MCP_TOP/_build/bench"
    mcp_build "$builddir"
fi
builddir=$(cd "$builddir" && pwd)
if grep -q "^preload='.\+'" "$builddir/t/bin/httpd" 2>/dev/null; then
    mcp_say "note: $builddir is a sanitizer build; figures will be low"
fi

ctl="$MCP_TOP/t/cluster/ctl.sh"
work=$(mktemp -d /tmp/mcp-cluster-bench.XXXXXX)
cleanup() {
    sh "$ctl" "$work" stop >/dev/null 2>&1 || true
    if [ -n "${KEEP:-}" ]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT INT TERM

sh "$ctl" "$work" start "$builddir" pg_stat_statements >/dev/null
. "$work/env"
# the benchmark measures the module, not its debug log
for node in a b; do
    sed -i 's/^LogLevel .*/LogLevel warn/' "$work/node-$node/httpd.conf"
    sh "$ctl" "$work" restart-node "$node"
done
sleep 1

sql() {
    psql_user=""
    [ "$(id -u)" -eq 0 ] && psql_user="runuser -u postgres --"
    $psql_user "$PGBIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -At -F ' ' -c "$1" mcp_as
}
stats_reset() { sql "SELECT pg_stat_statements_reset()" >/dev/null; }
# "statements per token" and the breakdown, for $1 tokens issued
stats_report() {
    tokens=$1
    sql "SELECT calls, regexp_replace(left(query, 60), '\s+', ' ', 'g') FROM pg_stat_statements
         WHERE dbid = (SELECT oid FROM pg_database WHERE datname = 'mcp_as')
           AND query NOT LIKE '%pg_stat_statements%' ORDER BY calls DESC" >"$work/stats"
    total=$(awk '{ s += $1 } END { print s + 0 }' "$work/stats")
    echo "$total $tokens" | awk '{ printf "  %.2f SQL statements (= round trips) per token (%d for %d tokens)\n", $1 / $2, $1, $2 }'
    awk -v n="$tokens" '{ c = $1; $1 = ""; printf "    %6.3f %s\n", c / n, $0 }' "$work/stats"
}

auth=$(printf 'as-agent:as-agent-secret-0123456789' | base64 -w0)
cat >"$work/cc.lua" <<EOL
wrk.method = "POST"
wrk.body = "grant_type=client_credentials&scope=mcp%3Aecho"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic $auth"
done = function(summary, latency, requests)
  io.write(string.format("WRK %d %d %d %.3f\n", summary.requests,
    summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.timeout, summary.errors.status, summary.duration / 1e6))
end
EOL
# wrk against node $1 with $2 connections: "requests errors non2xx seconds"
wrk_cc() {
    timeout $((DURATION + 30)) wrk -t1 -c "$2" -d "${DURATION}s" -s "$work/cc.lua" \
        "$1/oauth/token" | sed -n 's/^WRK //p'
}
# CPU seconds used so far by the processes whose parent is $1 (httpd's
# children, PostgreSQL's backends), from /proc/PID/stat (utime + stime)
cpu_of() {
    for child in $(pgrep -P "$1"); do
        cut -d' ' -f14,15 "/proc/$child/stat" 2>/dev/null || true
    done | awk -v hz="$(getconf CLK_TCK)" '{ s += $1 + $2 } END { printf "%.3f", s / hz }'
}
pg_pid() { head -1 "$work/pgdata/postmaster.pid"; }
node_pid() { cat "$work/node-$1/httpd.pid"; }
# "CPU per token" of a run: $1 before, $2 after, $3 tokens -> microseconds
per_token_us() { echo "$1 $2 $3" | awk '{ printf "%.0f", ($2 - $1) * 1e6 / $3 }'; }
rate() { awk '{ printf "%.0f", $1 / $4 }'; }
bad() { awk '{ print $2 + $3 }'; }

echo "==> mod_mcp_as cluster on $(nproc) CPUs: PostgreSQL, memcached, nodes a and b (event MPM), issuer $ISSUER"
echo "    load average before: $(cut -d' ' -f1-3 /proc/loadavg)"

# warm-up: every child's connections to PostgreSQL and memcached are open
for node in "$NODE_A" "$NODE_B"; do
    timeout 30 wrk -t1 -c "$CONNECTIONS" -d 2s -s "$work/cc.lua" "$node/oauth/token" >/dev/null
done

# ---- client_credentials
pin() {
    parent=$(node_pid "$1")
    for pid in $parent $(pgrep -P "$parent"); do
        taskset -a -p -c "$2" "$pid" >/dev/null
    done
}
max() { awk -v a="$1" -v b="$2" 'BEGIN { print (a + 0 > b + 0) ? a : b }'; }
both() {    # a and b at once, half the connections each: "sum a b"
    wrk_cc "$NODE_A" "$half" >"$work/cc-a" & pid_a=$!
    wrk_cc "$NODE_B" "$half" >"$work/cc-b" & pid_b=$!
    wait "$pid_a" "$pid_b"
    cat "$work/cc-a" "$work/cc-b" >>"$work/cc-all"
    echo "$(cat "$work/cc-a" "$work/cc-b" | awk '{ r += $1 / $4 } END { printf "%.0f", r }') $(rate <"$work/cc-a") $(rate <"$work/cc-b")"
}
pinning=no
command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ] && pinning=yes
all_cpus="0-$(($(nproc) - 1))"
cc1=0 cc2=0 p1=0 p2=0 cc2_split="" p2_split=""
: >"$work/cc-all"
for round in $(seq 1 "$ROUNDS"); do
    stats_reset
    node_cpu=$(cpu_of "$(node_pid a)") pg_cpu=$(cpu_of "$(pg_pid)")
    one=$(wrk_cc "$NODE_A" "$CONNECTIONS")
    echo "$one" >>"$work/cc-all"
    cc_tokens=$(echo "$one" | awk '{ print $1 }')
    if [ "$(echo "$one" | rate)" -gt "$cc1" ]; then
        cc1=$(echo "$one" | rate)
        cc_node_us=$(per_token_us "$node_cpu" "$(cpu_of "$(node_pid a)")" "$cc_tokens")
        cc_pg_us=$(per_token_us "$pg_cpu" "$(cpu_of "$(pg_pid)")" "$cc_tokens")
        stats_report "$cc_tokens" >"$work/cc-stats"
    fi
    set -- $(both)
    [ "$1" -gt "$cc2" ] && cc2=$1 cc2_split="a $2/s, b $3/s"
    if [ "$pinning" = yes ]; then
        pin a 0
        pin b 1
        r=$(wrk_cc "$NODE_A" "$CONNECTIONS")
        echo "$r" >>"$work/cc-all"
        p1=$(max "$p1" "$(echo "$r" | rate)")
        set -- $(both)
        [ "$1" -gt "$p2" ] && p2=$1 p2_split="a $2/s, b $3/s"
        pin a "$all_cpus"
        pin b "$all_cpus"
    fi
done
cc_bad=$(awk '{ s += $2 + $3 } END { print s + 0 }' "$work/cc-all")
echo "client_credentials (best of $ROUNDS runs of ${DURATION}s, $CONNECTIONS connections in all):"
echo "  1 node : $cc1 tokens/s"
echo "  2 nodes: $cc2 tokens/s ($cc2_split)"
echo "$cc2 $cc1" | awk '{ printf "  2 nodes / 1 node: %.2f (all on the same %d CPUs)\n", $1 / $2, '"$(nproc)"' }'
if [ "$pinning" = yes ]; then
    echo "  1 node,  1 CPU of its own : $p1 tokens/s"
    echo "  2 nodes, 1 CPU each       : $p2 tokens/s ($p2_split)"
    echo "$p2 $p1" | awk '{ printf "  2 nodes / 1 node: %.2f (each node its own CPU)\n", $1 / $2 }'
fi
echo "  CPU per token (1 node): node $cc_node_us us, PostgreSQL $cc_pg_us us"
cat "$work/cc-stats"

# ---- authorization_code: mint the codes, then redeem them
# mint COUNT codes (4 workers, on both nodes) into the curl config FILE,
# to be redeemed on the nodes TARGETS ("a" or "a,b", in turn)
mint() {
    MCP_CLUSTER_DIR=$work perl -I"$MCP_TOP/t/lib" -e '
        use strict; use warnings;
        use MCP::AS qw(pkce register_client authorize consent_form approve query_of);
        use MCP::Cluster qw(on node_url);
        my ($count, $file, $targets, $workers) = @ARGV;
        my @targets = split /,/, $targets;
        on("a");
        my ($verifier, $challenge) = pkce();
        my (undef, $client) = register_client();
        my %req = (client_id => $client->{client_id}, response_type => "code",
                   scope => "mcp:echo", code_challenge => $challenge,
                   code_challenge_method => "S256");
        approve(consent_form(authorize(%req)));   # remembered from now on
        my @pids;
        for my $w (0 .. $workers - 1) {
            my $pid = fork // die "fork: $!";
            if ($pid == 0) {
                on($w % 2 ? "b" : "a");
                open my $cfg, ">", "$file.$w" or die $!;
                for my $n (1 .. $count / $workers) {
                    my $code = query_of(authorize(%req))->{code} or die "no code\n";
                    print $cfg "url = \"", node_url($targets[$n % @targets]), "/oauth/token\"\n",
                        "data = \"grant_type=authorization_code&code=$code&code_verifier=$verifier&client_id=$client->{client_id}\"\n",
                        "output = /dev/null\nwrite-out = \"%{http_code}\\n\"\nnext\n";
                }
                close $cfg;
                exit 0;
            }
            push @pids, $pid;
        }
        my $failed = 0;
        for (@pids) { waitpid $_, 0; $failed ||= $?; }
        exit($failed ? 1 : 0);
    ' "$1" "$2" "$3" 4 || mcp_die "minting codes failed"
    # one config; without the last "next", which would be an empty transfer
    cat "$2".[0-9] | sed '$d' >"$2"
    rm -f "$2".[0-9]
}
# redeems the codes of curl config $1, $2 at a time: "answered-200 seconds"
redeem() {
    start=$(date +%s.%N)
    timeout 300 curl -s -S --parallel --parallel-max "$2" -K "$1" >"$1.out" 2>"$1.err" || true
    end=$(date +%s.%N)
    echo "$(grep -c '^200$' "$1.out" || true) $start $end" | awk '{ printf "%d %.3f\n", $1, $3 - $2 }'
}
codes=$((CODES / 4 * 4))

stats_reset
mint "$codes" "$work/codes-one" a
echo "codes issued by /authorize (Basic login, remembered consent, code into memcached): $codes"
stats_report "$codes"
stats_reset
node_cpu=$(cpu_of "$(node_pid a)") pg_cpu=$(cpu_of "$(pg_pid)")
one=$(redeem "$work/codes-one" "$CONNECTIONS")
ok1=$(echo "$one" | cut -d' ' -f1)
code_node_us=$(per_token_us "$node_cpu" "$(cpu_of "$(node_pid a)")" "$ok1")
code_pg_us=$(per_token_us "$pg_cpu" "$(cpu_of "$(pg_pid)")" "$ok1")
stats_report "$ok1" >"$work/code-stats"
mint "$codes" "$work/codes-two" a,b
two=$(redeem "$work/codes-two" "$CONNECTIONS")
code1=$(echo "$one" | awk '{ printf "%.0f", $1 / $2 }')
code2=$(echo "$two" | awk '{ printf "%.0f", $1 / $2 }')
ok2=$(echo "$two" | cut -d' ' -f1)
echo "authorization_code, 1 node : $code1 tokens/s ($codes codes, $CONNECTIONS at a time, $ok1 answered 200)"
echo "authorization_code, 2 nodes: $code2 tokens/s ($codes codes alternating a and b, $ok2 answered 200)"
echo "$code2 $code1" | awk '{ printf "  2 nodes / 1 node: %.2f\n", $1 / $2 }'
echo "code exchange (PKCE, refresh token issued; the 1-node run):"
echo "  CPU per token (1 node): node $code_node_us us, PostgreSQL $code_pg_us us"
cat "$work/code-stats"

status=0
[ "$ok1" -eq "$codes" ] && [ "$ok2" -eq "$codes" ] || { echo "bench/cluster.sh: some code exchanges failed" >&2; status=1; }
[ "$cc_bad" -eq 0 ] || { echo "bench/cluster.sh: $cc_bad client_credentials requests failed" >&2; status=1; }
exit $status
