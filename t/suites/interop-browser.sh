#!/bin/sh
# A real browser against the modules and mcp-client just built: Debian's
# chromium (installed when missing; never a downloaded browser) driven by
# playwright-core (pinned in t/interop/package-lock.json) signs in on the
# demo's login page (mod_auth_form), checks the consent page's anti-framing
# headers, saves a screenshot of it as t/logs/interop/consent-page.png in
# the build directory, approves (mcp-client --no-browser completes) and
# denies (mcp-client gets access_denied).  Usage: interop-browser.sh BUILDDIR
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:?usage: interop-browser.sh BUILDDIR}" && pwd)
. "$top/scripts/lib.sh"
mcp_install_packages chromium
. "$top/t/interop/lib.sh"
interop_init interop-browser

interop_start_httpd
if (cd "$interop" && node browser.mjs "$base" "$build/client/mcp-client" "$work" "$out") \
        >"$work/browser.log" 2>&1; then
    interop_summary OK "playwright-core $(node -p "require('$interop/node_modules/playwright-core/package.json').version") + $(sed -n 's/^chromium /Debian chromium /p' "$work/browser.log"); screenshot $out/consent-page.png"
else
    sed 's/^/    /' "$work/browser.log" | tail -40 >&2
    interop_summary FAIL "playwright-core + Debian chromium"
fi
interop_finish
