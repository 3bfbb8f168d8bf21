#!/bin/sh
# Static analysis: cppcheck over every C source of the project must be clean.
# httpd's and APR's headers are not parsed (slow, and not ours); the two
# logging macros cppcheck must understand are defined for it instead.
# varFuncNullUB is off: APR's variadic string functions end with NULL by
# design, and glibc's NULL is a pointer.  variableScope is off: the house
# style (httpd's) declares a function's variables at the top.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
cppcheck --quiet --std=c99 --inline-suppr --error-exitcode=1 \
    --enable=warning,style,performance,portability \
    --suppress=missingIncludeSystem \
    --suppress=varFuncNullUB \
    --suppress=variableScope \
    '-DAPLOGNO(n)=' '-DAPLOG_MARK=__FILE__,__LINE__,-1' \
    -I common -I mod_mcp_as -I mod_mcp_rs -I client \
    common mod_mcp_as mod_mcp_rs client t/unit fuzz
echo "ok - cppcheck: no findings in $(find common mod_mcp_as mod_mcp_rs client t/unit fuzz -name '*.c' | wc -l) C files"
