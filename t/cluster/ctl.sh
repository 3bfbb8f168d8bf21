#!/bin/sh
# A mod_mcp_as cluster on this machine, for t/suites/cluster.sh and
# bench/cluster.sh: PostgreSQL and memcached on 127.0.0.1 (free ports, a
# temporary directory, run as unprivileged users when we are root), two
# httpd nodes "a" and "b" that include the shipped conf/cluster/node.conf
# with the same issuer, store, cache and signing keys, and an httpd load
# balancer (mod_proxy_balancer) whose address is the issuer.
#
# Usage: ctl.sh DIR start BUILDDIR [pg_stat_statements]
#        ctl.sh DIR cold-start
#        ctl.sh DIR start-node|stop-node|kill-node NAME
#        ctl.sh DIR start-memcached|stop-memcached
#        ctl.sh DIR stop
# `start` writes DIR/env (sourced by the callers): the ports, the URLs of
# the nodes and of the issuer, and the psql command line.
set -eu
dir=$1
action=$2
shift 2
srcdir=$(cd "$(dirname "$0")/../.." && pwd)
moddir=/usr/lib/apache2/modules

say() { printf '==> %s\n' "$*"; }
die() { printf 'cluster: %s\n' "$*" >&2; exit 1; }

free_port() {
    perl -MIO::Socket::INET -e 'my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => "127.0.0.1", LocalPort => 0) or die; print $s->sockport'
}

# Waits until something answers on 127.0.0.1:$1 (at most $2 seconds).
wait_port() {
    perl -MIO::Socket::INET -MTime::HiRes=sleep -e '
        my ($port, $max) = @ARGV;
        for (1 .. $max * 10) {
            exit 0 if IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port", Timeout => 1);
            sleep 0.1;
        }
        exit 1' "$1" "$2"
}

as_user() {
    if [ "$(id -u)" -eq 0 ]; then user=$1; shift; runuser -u "$user" -- "$@"; else shift; "$@"; fi
}

pg() { as_user postgres "$PGBIN/$@"; }

node_conf() {
    name=$1 port=$2
    mkdir -p "$dir/node-$name"
    {
        echo "# node $name of the test cluster, written by t/cluster/ctl.sh"
        echo "ServerRoot \"$dir/node-$name\""
        echo "ServerName 127.0.0.1"
        echo "Listen 127.0.0.1:$port"
        echo "PidFile \"$dir/node-$name/httpd.pid\""
        echo "ErrorLog \"$dir/node-$name/error.log\""
        echo "DefaultRuntimeDir \"$dir/node-$name\""
        echo "LogLevel info mcp_as:debug"
        [ "$(id -u)" -eq 0 ] && echo "User nobody" && echo "Group nogroup"
        for m in mpm_event authz_core authz_user authn_core authn_file auth_basic \
                 headers socache_memcache; do
            echo "LoadModule ${m}_module $moddir/mod_$m.so"
        done
        echo "LoadModule mcp_as_module \"$BUILDDIR/mod_mcp_as/.libs/mod_mcp_as.so\""
        echo "StartServers 2"
        echo "ThreadsPerChild 25"
        echo "MaxRequestWorkers 100"
        echo "KeepAliveTimeout 5"
        echo "Define MCP_NODE node-$name"
        echo "Define MCP_ISSUER $ISSUER"
        echo "Define MCP_RESOURCE $ISSUER/mcp"
        echo "Define MCP_KEY_DIR $dir/keys"
        echo "Define MCP_STORE \"host=127.0.0.1 port=$PG_PORT dbname=mcp_as user=mcp_as\""
        echo "Define MCP_MEMCACHE 127.0.0.1:$MC_PORT"
        echo "Define MCP_USERS $srcdir/t/lib/MCP/as.htpasswd"
        echo "# the key rotation check defines MCP_SIGNING_KEY and MCP_PUBLISHED_KEY here"
        echo "IncludeOptional \"$dir/node-$name/keys.conf\""
        echo "Include \"$srcdir/conf/cluster/node.conf\""
        echo "# a second key, published but not signing: an RSA key takes long"
        echo "# enough to generate that nodes starting together race for it"
        echo "MCPSigningKey $dir/keys/signing-rs256.pem rsa-2 RS256"
        echo "# test clients: an agent (client_credentials) and a resource server"
        echo "# allowed to introspect, as in t/conf/as.conf.in"
        echo "MCPScopesSupported mcp:read"
        echo "MCPClient as-agent as-agent-secret-0123456789 mcp:echo mcp:read"
        echo "MCPClient as-rs sha256:tzq7d3UDj31RyjW4AsyzthuGmYUXsyn7BpnWsgnovcM"
        echo "MCPIntrospector as-rs"
    } >"$dir/node-$name/httpd.conf"
}

lb_conf() {
    mkdir -p "$dir/lb"
    {
        echo "# the load balancer in front of the nodes, written by t/cluster/ctl.sh"
        echo "ServerRoot \"$dir/lb\""
        echo "ServerName 127.0.0.1"
        echo "Listen 127.0.0.1:$LB_PORT"
        echo "PidFile \"$dir/lb/httpd.pid\""
        echo "ErrorLog \"$dir/lb/error.log\""
        echo "DefaultRuntimeDir \"$dir/lb\""
        [ "$(id -u)" -eq 0 ] && echo "User nobody" && echo "Group nogroup"
        for m in mpm_event authz_core proxy proxy_http proxy_balancer slotmem_shm \
                 lbmethod_byrequests; do
            echo "LoadModule ${m}_module $moddir/mod_$m.so"
        done
        echo "<Proxy balancer://mcp>"
        # a node that refuses connections is out for 5 s, then retried; no
        # pooled connections to the nodes, so that when one dies only the
        # requests in flight on it fail
        echo "    BalancerMember http://127.0.0.1:$PORT_A retry=5 connectiontimeout=1 disablereuse=On"
        echo "    BalancerMember http://127.0.0.1:$PORT_B retry=5 connectiontimeout=1 disablereuse=On"
        echo "</Proxy>"
        echo "ProxyPass / balancer://mcp/"
        echo "ProxyPreserveHost On"
    } >"$dir/lb/httpd.conf"
}

start_node() {
    name=$1
    port=$(eval echo "\$PORT_$(echo "$name" | tr a-z A-Z)")
    rm -f "$dir/node-$name/httpd.pid"
    "$HTTPD" -f "$dir/node-$name/httpd.conf" -k start \
        || { tail -20 "$dir/node-$name/error.log" >&2; die "node $name did not start"; }
    # up when it has written its pid file and answers (the socket listens
    # before the pid file exists); failed when its parent is gone
    pidfile="$dir/node-$name/httpd.pid"
    for _ in $(seq 1 300); do
        if [ -s "$pidfile" ]; then
            kill -0 "$(cat "$pidfile")" 2>/dev/null || break
            if wait_port "$port" 0.1; then return 0; fi
        else
            sleep 0.1
        fi
    done
    tail -20 "$dir/node-$name/error.log" >&2
    die "node $name does not answer on 127.0.0.1:$port"
}

# Stops an httpd and waits until its parent is gone.
stop_httpd() {
    pidfile=$1 signal=$2
    [ -f "$pidfile" ] || return 0
    pid=$(cat "$pidfile")
    if [ "$signal" = KILL ]; then
        # a node that dies: the parent and its children at once, unannounced
        # shellcheck disable=SC2046
        kill -KILL "$pid" $(pgrep -P "$pid") 2>/dev/null || return 0
    else
        kill "-$signal" "$pid" 2>/dev/null || return 0
    fi
    for _ in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    rm -f "$pidfile"
}

start_memcached() {
    # -u only when root (memcached refuses to run as root without it)
    user_opt=""
    [ "$(id -u)" -eq 0 ] && user_opt="-u memcache"
    # shellcheck disable=SC2086
    memcached $user_opt -l 127.0.0.1 -p "$MC_PORT" -U 0 -m 64 -t 2 -c 1024 \
        >"$dir/memcached.log" 2>&1 &
    echo $! >"$dir/memcached.pid"
    wait_port "$MC_PORT" 10 || die "memcached does not answer on $MC_PORT"
}

stop_memcached() {
    [ -f "$dir/memcached.pid" ] || return 0
    pid=$(cat "$dir/memcached.pid")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    rm -f "$dir/memcached.pid"
}

case "$action" in
start)
    BUILDDIR=$(cd "$1" && pwd)
    extension=${2:-}
    PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
    [ -n "$PGBIN" ] && [ -x "$PGBIN/initdb" ] || die "PostgreSQL server binaries not found (Debian package postgresql)"
    command -v memcached >/dev/null || die "memcached not found (Debian package memcached)"
    [ -f "$BUILDDIR/mod_mcp_as/.libs/mod_mcp_as.so" ] || die "$BUILDDIR/mod_mcp_as/.libs/mod_mcp_as.so not built"
    # the build's httpd wrapper preloads the sanitizer runtime when needed
    HTTPD="$BUILDDIR/t/bin/httpd"
    [ -x "$HTTPD" ] || HTTPD=/usr/sbin/apache2
    mkdir -p "$dir/keys"
    chmod 755 "$dir"
    [ "$(id -u)" -eq 0 ] && chown postgres "$dir"
    PG_PORT=$(free_port) MC_PORT=$(free_port) PORT_A=$(free_port) PORT_B=$(free_port) LB_PORT=$(free_port)
    ISSUER="http://127.0.0.1:$LB_PORT"
    cat >"$dir/env" <<EOE
BUILDDIR='$BUILDDIR'
SRCDIR='$srcdir'
PGBIN='$PGBIN'
HTTPD='$HTTPD'
PG_PORT=$PG_PORT
MC_PORT=$MC_PORT
PORT_A=$PORT_A
PORT_B=$PORT_B
LB_PORT=$LB_PORT
ISSUER='$ISSUER'
EXTENSION='$extension'
NODE_A='http://127.0.0.1:$PORT_A'
NODE_B='http://127.0.0.1:$PORT_B'
EOE
    say "PostgreSQL ($PGBIN) on 127.0.0.1:$PG_PORT, memcached on 127.0.0.1:$MC_PORT"
    pg initdb -D "$dir/pgdata" -A trust -U postgres --no-sync >"$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log" >&2; die "initdb failed"; }
    preload=""
    [ "$extension" = pg_stat_statements ] && preload="-c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track=all"
    pg pg_ctl -D "$dir/pgdata" -w -l "$dir/postgres.log" \
        -o "-h 127.0.0.1 -p $PG_PORT -k $dir -c fsync=off -c max_connections=300 $preload" start >/dev/null \
        || { cat "$dir/postgres.log" >&2; die "PostgreSQL did not start"; }
    pg psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -q \
        -c "CREATE ROLE mcp_as LOGIN" -c "CREATE DATABASE mcp_as OWNER mcp_as" postgres >/dev/null
    if [ -n "$extension" ]; then
        pg psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -q -c "CREATE EXTENSION $extension" mcp_as >/dev/null
    fi
    start_memcached
    node_conf a "$PORT_A"
    node_conf b "$PORT_B"
    lb_conf
    say "nodes a (127.0.0.1:$PORT_A) and b (127.0.0.1:$PORT_B), issuer $ISSUER ($HTTPD)"
    # both at once, with no signing key yet: the key-generation race of
    # several nodes sharing a key directory (the loser loads the winner's)
    ( start_node a ) & pid_a=$!
    ( start_node b ) & pid_b=$!
    wait "$pid_a" || die "node a failed"
    wait "$pid_b" || die "node b failed"
    /usr/sbin/apache2 -f "$dir/lb/httpd.conf" -k start || die "the load balancer did not start"
    wait_port "$LB_PORT" 10 || die "the load balancer does not answer"
    ;;
cold-start)
    # both nodes at once on an empty database and without signing keys:
    # they race to create the schema and to generate the keys
    . "$dir/env"
    stop_httpd "$dir/node-a/httpd.pid" TERM
    stop_httpd "$dir/node-b/httpd.pid" TERM
    pg psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -q -c "DROP DATABASE mcp_as WITH (FORCE)" \
        -c "CREATE DATABASE mcp_as OWNER mcp_as" postgres >/dev/null
    if [ -n "$EXTENSION" ]; then
        pg psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -q -c "CREATE EXTENSION $EXTENSION" mcp_as >/dev/null
    fi
    rm -f "$dir"/keys/*.pem
    ( start_node a ) & pid_a=$!
    ( start_node b ) & pid_b=$!
    status=0
    wait "$pid_a" || status=1
    wait "$pid_b" || status=1
    exit $status
    ;;
start-node)
    . "$dir/env"
    start_node "$1"
    ;;
stop-node)
    . "$dir/env"
    stop_httpd "$dir/node-$1/httpd.pid" TERM
    ;;
kill-node)
    . "$dir/env"
    stop_httpd "$dir/node-$1/httpd.pid" KILL
    ;;
restart-node)
    . "$dir/env"
    "$HTTPD" -f "$dir/node-$1/httpd.conf" -k graceful || die "graceful restart of $1 failed"
    ;;
start-memcached)
    . "$dir/env"
    start_memcached
    ;;
stop-memcached)
    . "$dir/env"
    stop_memcached
    ;;
stop)
    [ -f "$dir/env" ] || exit 0
    . "$dir/env"
    stop_httpd "$dir/lb/httpd.pid" TERM
    stop_httpd "$dir/node-a/httpd.pid" TERM
    stop_httpd "$dir/node-b/httpd.pid" TERM
    stop_memcached
    pg pg_ctl -D "$dir/pgdata" -m immediate stop >/dev/null 2>&1 || true
    ;;
*)
    die "unknown action $action"
    ;;
esac
