#!/bin/sh
# The storage-dependent mod_mcp_as suites against PostgreSQL: starts a
# private PostgreSQL cluster on 127.0.0.1 (a free port, a temporary
# directory, run as the postgres user when we are root), points the test
# server's MCPStore at it (t/state/as-store.conf, which t/conf/as.conf.in
# includes), runs the suites, and stops the cluster again.
#
# t/46-as-pgsql-outage.t stops and starts the cluster itself, through the
# MCP_PGSQL_* commands exported below.
#
# Usage: t/suites/pgsql.sh BUILDDIR [SUITE...]   (default: every store suite)
set -eu
builddir=$(cd "${1:-.}" && pwd)
[ $# -gt 0 ] && shift
[ -f "$builddir/t/TEST.PL" ] || { echo "pgsql.sh: $builddir/t/TEST.PL not found (build first)" >&2; exit 1; }

pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -n "$pgbin" ] && [ -x "$pgbin/initdb" ] || { echo "pgsql.sh: PostgreSQL server binaries not found (Debian package postgresql)" >&2; exit 1; }

tmp=$(mktemp -d /tmp/mcp-as-pgsql.XXXXXX)
chmod 755 "$tmp"
if [ "$(id -u)" -eq 0 ]; then
    chown postgres "$tmp"
    as_pg() { runuser -u postgres -- "$@"; }
else
    as_pg() { "$@"; }
fi
port=$(perl -MIO::Socket::INET -e 'my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => "127.0.0.1", LocalPort => 0) or die; print $s->sockport')
store_conf="$builddir/t/state/as-store.conf"

cleanup() {
    rc=$?
    (cd "$builddir" && perl t/TEST.PL -stop-httpd >/dev/null 2>&1) || true
    as_pg "$pgbin/pg_ctl" -D "$tmp/data" -m immediate stop >/dev/null 2>&1 || true
    rm -f "$store_conf"
    rm -rf "$tmp"
    exit $rc
}
trap cleanup EXIT INT TERM

echo "==> PostgreSQL ($pgbin) on 127.0.0.1:$port in $tmp"
as_pg "$pgbin/initdb" -D "$tmp/data" -A trust -U postgres --no-sync >"$tmp/initdb.log" 2>&1 \
    || { cat "$tmp/initdb.log"; exit 1; }
as_pg "$pgbin/pg_ctl" -D "$tmp/data" -w -l "$tmp/postgres.log" \
    -o "-h 127.0.0.1 -p $port -k $tmp -c fsync=off" start >/dev/null \
    || { cat "$tmp/postgres.log"; exit 1; }
# for t/46-as-pgsql-outage.t: stop (fast: connections cut) and start again
run_as=""
[ "$(id -u)" -eq 0 ] && run_as="runuser -u postgres --"
MCP_PGSQL_STOP="$run_as $pgbin/pg_ctl -D $tmp/data -w -m fast stop"
MCP_PGSQL_START="$run_as $pgbin/pg_ctl -D $tmp/data -w -l $tmp/postgres.log -o '-h 127.0.0.1 -p $port -k $tmp -c fsync=off' start"
MCP_PGSQL_PSQL="$run_as $pgbin/psql -h 127.0.0.1 -p $port -U postgres -At mcp_as"
export MCP_PGSQL_STOP MCP_PGSQL_START MCP_PGSQL_PSQL
as_pg "$pgbin/psql" -h 127.0.0.1 -p "$port" -U postgres -q -c "CREATE DATABASE mcp_as" postgres

mkdir -p "$builddir/t/state"
cat >"$store_conf" <<EOC
# written by t/suites/pgsql.sh; removed when it ends
MCPStore pgsql "host=127.0.0.1 port=$port dbname=mcp_as user=postgres"
EOC

cd "$builddir"
perl t/TEST.PL -clean >/dev/null 2>&1 || true
# every suite that touches the store (the SQLite-only lock test skips
# itself), and the kill -9 test
status=0
if [ $# -gt 0 ]; then
    perl t/TEST.PL "$@" t/99-sanitizer-report.t || status=$?
else
    perl t/TEST.PL t/3[1-9]-as-*.t t/4[0-9]-as-*.t t/50-as-schema-migrate.t t/76-hostile-kill.t t/99-sanitizer-report.t || status=$?
fi
tables=$(as_pg "$pgbin/psql" -h 127.0.0.1 -p "$port" -U postgres -At -c \
    "SELECT COUNT(*) FROM clients" mcp_as)
echo "==> the PostgreSQL store holds $tables registered clients"
[ "$tables" -gt 0 ] || { echo "pgsql.sh: nothing reached PostgreSQL" >&2; exit 1; }
exit $status
