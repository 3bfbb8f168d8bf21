#!/bin/sh
# Builds the libFuzzer targets with clang (ASan + UBSan), replays every seed
# corpus, then fuzzes each target for SECONDS (default 30) with new inputs
# kept outside the tree.  A crash leaves its input under the work directory
# and fails the run; keep it as a regression seed in fuzz/corpus/TARGET/.
#   fuzz/run.sh [SECONDS] [TARGET...]
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-30}
[ $# -gt 0 ] && shift
work="$top/_build/fuzz"
mkdir -p "$work/include"
# the client's files include config.h for their version string; the fuzz
# build needs no configure run
printf '#define PACKAGE_VERSION "fuzz"\n#define VERSION "fuzz"\n' >"$work/include/config.h"

cflags="-g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
  -I$work/include -I$top/common -I$top/mod_mcp_rs -I$top/mod_mcp_as -I$top/client
  -I$(apxs -q INCLUDEDIR) $(pkg-config --cflags apr-1 apr-util-1 jansson cjose openssl)"
libs="$(pkg-config --libs apr-1 apr-util-1 jansson cjose openssl libcurl)"
common_sources=$(ls "$top"/common/mcp_*.c | grep -v mcp_httpd.c)

targets=${*:-$(cd "$top/fuzz" && ls fuzz_*.c | sed 's/^fuzz_//; s/\.c$//')}
failed=0
for target in $targets; do
    binary="$work/fuzz_$target"
    # a target names the module or client files it needs beyond common/ in a
    # comment: /* fuzz-sources: mod_mcp_rs/mcp_rs_jwt.c */
    extra_sources=$(sed -n 's|.*fuzz-sources:\(.*\)\*/.*|\1|p' "$top/fuzz/fuzz_$target.c" |
                    tr ' ' '\n' | sed -n "s|^\(..*\)\$|$top/\1|p")
    # shellcheck disable=SC2086
    clang $cflags -o "$binary" "$top/fuzz/fuzz_$target.c" $common_sources $extra_sources $libs
    corpus="$work/corpus-$target"
    mkdir -p "$corpus" "$work/crashes-$target"
    seeds="$top/fuzz/corpus/$target"
    if ! "$binary" -runs=0 "$seeds" >"$work/$target.replay.log" 2>&1; then
        echo "not ok - fuzz_$target: a seed in fuzz/corpus/$target fails"; tail -30 "$work/$target.replay.log"
        failed=$((failed + 1)); continue
    fi
    if "$binary" -max_total_time="$seconds" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
           -artifact_prefix="$work/crashes-$target/" "$corpus" "$seeds" \
           >"$work/$target.log" 2>&1; then
        runs=$(grep -o 'Done [0-9]* runs' "$work/$target.log" | tail -1)
        echo "ok - fuzz_$target: seeds replayed, ${seconds}s of fuzzing clean (${runs:-no summary})"
    else
        echo "not ok - fuzz_$target: crash, input kept in $work/crashes-$target/"
        grep -A20 'ERROR\|runtime error' "$work/$target.log" | head -40
        failed=$((failed + 1))
    fi
done
[ $failed -eq 0 ]
