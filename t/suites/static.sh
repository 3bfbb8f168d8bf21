#!/bin/sh
# Static analysis: clang-tidy with the checked-in .clang-tidy over every C
# file of the modules, the shared code and the client must be clean
# (t/suites/cppcheck.sh runs cppcheck).  Two files at a time.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
command -v clang-tidy >/dev/null || { echo "not ok - clang-tidy is not installed (Debian: clang-tidy)"; exit 1; }
work="$top/_build/static"
mkdir -p "$work"
# the client's files include config.h for their version string
printf '#define PACKAGE_VERSION "static"\n#define VERSION "static"\n' >"$work/config.h"
flags="-std=c99 -D_GNU_SOURCE -I$work -Icommon -Imod_mcp_as -Imod_mcp_rs -Iclient
  -I$(apxs -q INCLUDEDIR) $(pkg-config --cflags apr-1 apr-util-1 jansson cjose openssl libcurl)"
files=$(ls common/*.c mod_mcp_as/*.c mod_mcp_rs/*.c client/*.c)
# shellcheck disable=SC2086
if echo "$files" | xargs -P 2 -n 4 sh -c 'clang-tidy --quiet "$@" -- '"$(echo $flags)"' 2>/dev/null' tidy \
       >"$work/clang-tidy.log" 2>&1 && ! grep -q 'error:\|warning:' "$work/clang-tidy.log"; then
    echo "ok - clang-tidy: no findings in $(echo "$files" | wc -l) C files"
else
    echo "not ok - clang-tidy findings:"
    grep -A3 'error:\|warning:' "$work/clang-tidy.log" | head -60
    exit 1
fi
