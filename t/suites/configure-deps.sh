#!/bin/sh
# ./configure stops with the Debian package's name when a dependency is
# missing.  pkg-config is wrapped so that one module at a time looks absent,
# exactly as on a machine without its -dev package.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
real_pkg_config=$(command -v pkg-config)
if [ -f "$top/config.status" ]; then
    echo "not ok - $top is configured in-tree; run 'make distclean' there (configure refuses VPATH builds then)"
    exit 1
fi

failed=0
check() {   # check MODULE PACKAGE
    cat > "$work/pkg-config" <<EOT
#!/bin/sh
for arg in "\$@"; do
    case "\$arg" in $1|$1\ *) exit 1 ;; esac
done
exec "$real_pkg_config" "\$@"
EOT
    chmod +x "$work/pkg-config"
    mkdir -p "$work/build-$1"
    out=$(cd "$work/build-$1" && PKG_CONFIG="$work/pkg-config" "$top/configure" 2>&1)
    status=$?
    if [ $status -ne 0 ] && printf '%s' "$out" | grep -q "install the Debian package $2"; then
        echo "ok - without $1, configure stops and names $2"
    else
        echo "not ok - without $1, configure should stop naming $2 (exit $status)"
        printf '%s\n' "$out" | tail -3
        failed=$((failed + 1))
    fi
}

check cjose libcjose-dev
check jansson libjansson-dev
check libcurl libcurl4-openssl-dev
check openssl libssl-dev
check sqlite3 libsqlite3-dev

out=$(cd "$work" && "$top/configure" --with-apxs=/nonexistent/apxs 2>&1)
if [ $? -ne 0 ] && printf '%s' "$out" | grep -q "apache2-dev"; then
    echo "ok - without apxs, configure stops and names apache2-dev"
else
    echo "not ok - without apxs, configure should name apache2-dev"
    failed=$((failed + 1))
fi
[ $failed -eq 0 ]
