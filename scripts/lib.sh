# Shell helpers the quick-start scripts share.  Sourced, not run.

# Debian packages the build and the test suites need.
MCP_BUILD_PACKAGES="build-essential autoconf automake libtool pkg-config
  apache2 apache2-dev libapr1-dev libaprutil1-dev libssl-dev libjansson-dev
  libcjose-dev libcurl4-openssl-dev libaprutil1-dbd-sqlite3 libaprutil1-dbd-pgsql
  libsqlite3-dev sqlite3 curl ca-certificates openssl"
MCP_TEST_PACKAGES="libapache2-mod-perl2 libwww-perl
  libcrypt-jwt-perl libio-socket-ssl-perl postgresql memcached
  libasan8 libubsan1 cppcheck clang clang-tidy libclang-rt-14-dev
  chromium libapache2-mod-auth-openidc libapache2-mod-qos libpcre3"

mcp_say() { printf '==> %s\n' "$*"; }
mcp_die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Installs whichever of the named Debian packages are missing; says nothing
# about the ones already there.
mcp_install_packages() {
    missing=""
    for pkg in "$@"; do
        status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
        case "$status" in
            *" installed") ;;
            *) missing="$missing $pkg" ;;
        esac
    done
    [ -z "$missing" ] && return 0
    [ "$(id -u)" -eq 0 ] || mcp_die "missing Debian packages:$missing (run as root, or install them)"
    mcp_say "installing Debian packages:$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null || mcp_die "apt-get update failed"
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $missing >/dev/null \
        || mcp_die "apt-get could not install:$missing"
    case "$missing" in *libapache2-mod-qos*) mcp_qos_fixup ;; esac
}

# Debian 12's libapache2-mod-qos enables itself in the system's Apache, but
# it cannot load there: it was built against PCRE1 symbols that httpd no
# longer provides (it uses PCRE2), so `apache2ctl configtest` fails.  The
# test suites load it themselves, after libpcre.so.3 (conf/mcp_as-ratelimit.conf
# shows how); the system configuration is put back the way it was.
mcp_qos_fixup() {
    [ -e /etc/apache2/mods-enabled/qos.load ] || return 0
    if apache2ctl -t 2>&1 | grep -q 'mod_qos.so.*pcre'; then
        mcp_say "disabling mod_qos in /etc/apache2 (it cannot load there without libpcre.so.3)"
        a2dismod -q qos >/dev/null
    fi
}

# Configures (when needed) and builds the tree in build directory $1 with
# the configure flags that follow.
mcp_build() {
    builddir=$1; shift
    if [ ! -x "$MCP_TOP/configure" ] || [ "$MCP_TOP/configure.ac" -nt "$MCP_TOP/configure" ]; then
        mcp_say "generating ./configure"
        "$MCP_TOP/bootstrap"
    fi
    mkdir -p "$builddir"
    flags="$*"
    if [ ! -f "$builddir/Makefile" ] || [ "$(cat "$builddir/.mcp-flags" 2>/dev/null)" != "$flags" ]; then
        mcp_say "configuring in $builddir ($flags)"
        (cd "$builddir" && "$MCP_TOP/configure" $flags >configure.out 2>&1) \
            || { tail -20 "$builddir/configure.out"; mcp_die "configure failed"; }
        printf '%s' "$flags" > "$builddir/.mcp-flags"
    fi
    mcp_say "building in $builddir"
    make -C "$builddir" -j"$(nproc)" >"$builddir/make.out" 2>&1 \
        || { tail -40 "$builddir/make.out"; mcp_die "build failed"; }
}
