/*
 * mcp-client: gets from an MCP tool's URL to its answer, doing whatever
 * OAuth 2.1 dance the tool's authorization server asks for.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <apr_general.h>
#include <apr_pools.h>
#include <curl/curl.h>

#include "mcp_common.h"

#define MCP_CLIENT_EXIT_OK        0
#define MCP_CLIENT_EXIT_USAGE     2
#define MCP_CLIENT_EXIT_NETWORK   3
#define MCP_CLIENT_EXIT_AUTH      4

static void usage(FILE *out)
{
    fputs("usage: mcp-client [options] URL\n"
          "  -h, --help       this text\n"
          "  --version        print the version\n", out);
}

static size_t write_body(char *data, size_t size, size_t count, void *stream)
{
    return fwrite(data, size, count, (FILE *)stream);
}

int main(int argc, const char *const *argv)
{
    const char *url = NULL;
    apr_pool_t *pool;
    CURL *curl;
    CURLcode rc;
    long status = 0;
    int i, exit_code;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return MCP_CLIENT_EXIT_OK;
        }
        if (strcmp(argv[i], "--version") == 0) {
            puts("mcp-client " PACKAGE_VERSION);
            return MCP_CLIENT_EXIT_OK;
        }
        if (argv[i][0] == '-' || url != NULL) {
            usage(stderr);
            return MCP_CLIENT_EXIT_USAGE;
        }
        url = argv[i];
    }
    if (url == NULL) {
        usage(stderr);
        return MCP_CLIENT_EXIT_USAGE;
    }
    apr_app_initialize(&argc, &argv, NULL);
    apr_pool_create(&pool, NULL);
    if (!mcp_uri_is_web(pool, url, 0, NULL)) {
        fprintf(stderr, "mcp-client: %s: expected an https URL "
                "(http only on a loopback host)\n", url);
        apr_terminate();
        return MCP_CLIENT_EXIT_USAGE;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    curl = curl_easy_init();
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, write_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, stdout);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 60L);
    rc = curl_easy_perform(curl);
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    if (rc != CURLE_OK) {
        fprintf(stderr, "mcp-client: %s: %s\n", url, curl_easy_strerror(rc));
        exit_code = MCP_CLIENT_EXIT_NETWORK;
    }
    else if (status == 401) {
        fprintf(stderr, "mcp-client: %s answered 401; this build cannot "
                "authorize yet\n", url);
        exit_code = MCP_CLIENT_EXIT_AUTH;
    }
    else {
        exit_code = MCP_CLIENT_EXIT_OK;
    }
    curl_easy_cleanup(curl);
    curl_global_cleanup();
    apr_pool_destroy(pool);
    apr_terminate();
    return exit_code;
}
