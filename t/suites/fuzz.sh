#!/bin/sh
# Replays every fuzz corpus, then fuzzes each target for a bounded time
# (FUZZ_SECONDS, default 30).  `make fuzz` runs them longer.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
exec "$top/fuzz/run.sh" "${FUZZ_SECONDS:-30}"
