#!/bin/sh
# Login through an external OpenID provider, the recommended production
# set-up (conf/mcp_as-openidc.conf.example): Debian's mod_auth_openidc
# protects the authorization endpoint; its provider is oidc-provider (npm,
# pinned in t/interop/package-lock.json) on 127.0.0.1.  Chromium (Debian,
# driven by playwright-core) signs in at the provider; mcp-client completes
# and the access token's sub is the provider's user.
# Usage: interop-openidc.sh BUILDDIR
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:?usage: interop-openidc.sh BUILDDIR}" && pwd)
. "$top/scripts/lib.sh"
mcp_install_packages chromium libapache2-mod-auth-openidc
. "$top/t/interop/lib.sh"
interop_init interop-openidc

port=$(interop_free_port)
op_port=$(interop_free_port)
while [ "$op_port" = "$port" ]; do op_port=$(interop_free_port); done
op_secret=$(openssl rand -hex 24)
(cd "$interop" && exec node op.mjs "$op_port" "http://127.0.0.1:$port/oidc/callback" "$op_secret") \
    >"$work/op.log" 2>&1 &
interop_pids="$interop_pids $!"
interop_wait_port "$op_port" || { cat "$work/op.log" >&2; echo "interop-openidc: the OpenID provider did not start" >&2; exit 1; }

mkdir -p "$work/httpd"
(umask 077 && printf 'OIDCClientSecret %s\nOIDCCryptoPassphrase %s\n' "$op_secret" "$(openssl rand -hex 32)" \
    > "$work/httpd/openidc-secrets.conf")
interop_start_httpd "$interop/httpd.conf" -D INTEROP_OPENIDC -C "Define OP_PORT $op_port"

# The documented example passes configtest (with this run's paths)
modules=$(apxs -q LIBEXECDIR)
sed -e "s#/var/lib/mod_mcp/#$work/example-#; s#/etc/apache2/mcp-oidc-secrets.conf#$state/openidc-secrets.conf#" \
    -e "s#/usr/lib/apache2/modules/#$modules/#" "$top/conf/mcp_as-openidc.conf.example" > "$work/example.conf"
cat > "$work/example-main.conf" <<EOT
ServerRoot "$work"
ServerName 127.0.0.1
Listen 127.0.0.1:$(interop_free_port)
PidFile "$work/example.pid"
ErrorLog "$work/example-error_log"
LoadModule mpm_event_module $modules/mod_mpm_event.so
LoadModule authz_core_module $modules/mod_authz_core.so
LoadModule authn_core_module $modules/mod_authn_core.so
LoadModule authz_user_module $modules/mod_authz_user.so
LoadModule mcp_as_module $build/mod_mcp_as/.libs/mod_mcp_as.so
Include "$work/example.conf"
EOT
if "$build/t/bin/httpd" -t -f "$work/example-main.conf" >"$work/example-configtest.out" 2>&1; then
    example="conf/mcp_as-openidc.conf.example passes configtest"
else
    sed 's/^/    /' "$work/example-configtest.out" >&2
    interop_summary FAIL "conf/mcp_as-openidc.conf.example does not pass configtest"
    example="conf/mcp_as-openidc.conf.example FAILS configtest"
fi

if (cd "$interop" && node openidc-browser.mjs "$base" "http://127.0.0.1:$op_port" "$build/client/mcp-client" "$work") \
        >"$work/openidc.log" 2>&1; then
    interop_summary OK "mod_auth_openidc $(dpkg-query -W -f='${Version}' libapache2-mod-auth-openidc) + oidc-provider $(node -p "require('$interop/node_modules/oidc-provider/package.json').version"): $(sed -n 's/^openidc: //p' "$work/openidc.log"); $example"
else
    sed 's/^/    /' "$work/openidc.log" | tail -30 >&2
    sed 's/^/    op: /' "$work/op.log" | tail -10 >&2
    grep -i openidc "$state/error_log" | tail -10 | sed 's/^/    httpd: /' >&2 || true
    interop_summary FAIL "mod_auth_openidc + oidc-provider"
fi
interop_finish
