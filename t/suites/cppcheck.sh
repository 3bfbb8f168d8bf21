#!/bin/sh
# Static analysis: cppcheck over every C source of the project must be clean.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
cppcheck --quiet --std=c99 --inline-suppr --error-exitcode=1 \
    --enable=warning,style,performance,portability \
    --suppress=missingIncludeSystem \
    -I common -I mod_mcp_as -I mod_mcp_rs -I client \
    common mod_mcp_as mod_mcp_rs client t/unit fuzz
echo "ok - cppcheck: no findings in $(find common mod_mcp_as mod_mcp_rs client t/unit fuzz -name '*.c' | wc -l) C files"
