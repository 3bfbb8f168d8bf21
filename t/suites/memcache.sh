#!/bin/sh
# The authorization-code suites with codes in memcached (MCPCache
# memcache) instead of shmcb: codes then outlive a kill -9 of the server,
# so t/76-hostile-kill.t shows that the used-code markers in the store,
# alone, keep a redeemed code from working twice.  Starts memcached on
# 127.0.0.1 (a free port), points the test server's MCPCache at it
# (t/state/as-store.conf, which t/conf/as.conf.in includes), runs the
# suites, and stops memcached again.
#
# Usage: t/suites/memcache.sh BUILDDIR [SUITE...]
set -eu
builddir=$(cd "${1:-.}" && pwd)
[ $# -gt 0 ] && shift
[ -f "$builddir/t/TEST.PL" ] || { echo "memcache.sh: $builddir/t/TEST.PL not found (build first)" >&2; exit 1; }
command -v memcached >/dev/null || { echo "memcache.sh: memcached not found (Debian package memcached)" >&2; exit 1; }
libexec=$(sed -n 's/^LoadModule socache_shmcb_module \(.*\)\/mod_socache_shmcb\.so$/\1/p' "$builddir/t/httpd-base.conf")
[ -f "$libexec/mod_socache_memcache.so" ] || { echo "memcache.sh: $libexec/mod_socache_memcache.so not found" >&2; exit 1; }

port=$(perl -MIO::Socket::INET -e 'my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => "127.0.0.1", LocalPort => 0) or die; print $s->sockport')
store_conf="$builddir/t/state/as-store.conf"
user=""
[ "$(id -u)" -eq 0 ] && user="-u nobody"
memcached -l 127.0.0.1 -p "$port" -U 0 -m 64 $user &
memcached_pid=$!

cleanup() {
    rc=$?
    (cd "$builddir" && perl t/TEST.PL -stop-httpd >/dev/null 2>&1) || true
    kill "$memcached_pid" 2>/dev/null || true
    wait "$memcached_pid" 2>/dev/null || true
    rm -f "$store_conf"
    exit $rc
}
trap cleanup EXIT INT TERM

i=0
until perl -MIO::Socket::INET -e "IO::Socket::INET->new('127.0.0.1:$port') or exit 1"; do
    i=$((i + 1)); [ $i -lt 50 ] || { echo "memcache.sh: memcached did not start" >&2; exit 1; }
    sleep 0.1
done
echo "==> memcached on 127.0.0.1:$port"
mkdir -p "$builddir/t/state"
cat >"$store_conf" <<EOC
# written by t/suites/memcache.sh; removed when it ends
LoadModule socache_memcache_module $libexec/mod_socache_memcache.so
MCPCache memcache:127.0.0.1:$port
EOC

cd "$builddir"
perl t/TEST.PL -clean >/dev/null 2>&1 || true
status=0
if [ $# -gt 0 ]; then
    perl t/TEST.PL "$@" t/99-sanitizer-report.t || status=$?
else
    perl t/TEST.PL t/33-as-authorize.t t/34-as-token-code.t t/35-as-concurrency.t \
        t/76-hostile-kill.t t/99-sanitizer-report.t || status=$?
fi
# the codes went through memcached
items=$(perl -MIO::Socket::INET -e '
    my $s = IO::Socket::INET->new("127.0.0.1:'"$port"'") or die; print $s "stats\r\n";
    while (<$s>) { print "$1\n" if /^STAT total_items (\d+)/; last if /^END/ }')
echo "==> memcached stored $items items"
[ "${items:-0}" -gt 0 ] || { echo "memcache.sh: nothing reached memcached" >&2; exit 1; }
exit $status
