/* Shared set-up for the libFuzzer targets: one APR pool per input. */
#ifndef MCP_FUZZ_H
#define MCP_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <apr_general.h>
#include <apr_pools.h>

#include "mcp_common.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static apr_pool_t *fuzz_root_pool;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    apr_initialize();
    apr_pool_create(&fuzz_root_pool, NULL);
    return 0;
}

/* A pool for one input, and a NUL-terminated copy of the input in it. */
static apr_pool_t *fuzz_input(const uint8_t *data, size_t size, char **text)
{
    apr_pool_t *pool;

    apr_pool_create(&pool, fuzz_root_pool);
    *text = apr_pstrmemdup(pool, (const char *)data, size);
    return pool;
}

#endif /* MCP_FUZZ_H */
