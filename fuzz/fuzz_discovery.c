/* Discovery documents as mcp-client reads them from the network: RFC 9728
 * protected-resource metadata, then RFC 8414 authorization-server
 * metadata, through the client's own mcpc_discover().  The input is the
 * two documents separated by a NUL; the harness answers every metadata
 * URL the client asks for with them instead of the network (the client's
 * other files are linked whole).
 * fuzz-sources: client/mcpc_assertion.c client/mcpc_authorize.c client/mcpc_challenge.c client/mcpc_flow.c client/mcpc_http.c client/mcpc_mcp.c client/mcpc_register.c client/mcpc_store.c client/mcpc_token.c */
#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>
#include "fuzz.h"
#include "mcpc.h"

static const char *fuzz_prm, *fuzz_as;
static apr_size_t fuzz_prm_len, fuzz_as_len;

/* the network: a 200 with the document for the URL's kind, else 404 */
static int fuzz_http_request(mcpc_t *c, const char *method, const char *url,
                             const apr_array_header_t *headers,
                             const char *body, apr_size_t body_len,
                             const char *basic_user, const char *basic_password,
                             mcpc_response_t **out)
{
    mcpc_response_t *response = apr_pcalloc(c->pool, sizeof(*response));

    (void)method; (void)headers; (void)body; (void)body_len;
    (void)basic_user; (void)basic_password;
    response->headers = apr_table_make(c->pool, 1);
    response->content_type = "application/json";
    response->status = 404;
    response->body = "";
    if (strstr(url, "/.well-known/oauth-protected-resource") != NULL) {
        response->status = 200;
        response->body = apr_pstrmemdup(c->pool, fuzz_prm, fuzz_prm_len);
        response->body_len = fuzz_prm_len;
    }
    else if (strstr(url, "/.well-known/") != NULL) {
        response->status = 200;
        response->body = apr_pstrmemdup(c->pool, fuzz_as, fuzz_as_len);
        response->body_len = fuzz_as_len;
    }
    *out = response;
    return MCP_OK;
}

#define mcpc_http_request fuzz_http_request
#include "../client/mcpc_discovery.c"
#undef mcpc_http_request

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text;
    apr_pool_t *pool = fuzz_input(data, size, &text);
    mcpc_t *c = apr_pcalloc(pool, sizeof(*c));
    const char *resource = NULL, *scopes = NULL;
    mcpc_as_t *as = NULL;
    size_t first = strlen(text);

    fuzz_prm = text;
    fuzz_prm_len = first;
    fuzz_as = first < size ? text + first + 1 : "";
    fuzz_as_len = first < size ? size - first - 1 : 0;
    c->pool = pool;
    c->url = "https://mcp.test/mcp";
    c->grant = "authorization_code";
    c->quiet = 1;
    c->listener = -1;
    if (mcpc_discover(c, "https://mcp.test/.well-known/oauth-protected-resource/mcp",
                      &resource, &scopes, &as) == MCP_OK) {
        /* whatever the documents said, the endpoints the client will send
         * a user or a secret to are https (or loopback http) URLs, and the
         * issuer is the one the metadata was looked up for */
        if (as == NULL || as->issuer == NULL || as->token_endpoint == NULL
            || !mcp_uri_is_web(pool, as->token_endpoint, 0, NULL)
            || (as->authorization_endpoint != NULL
                && !mcp_uri_is_web(pool, as->authorization_endpoint, 0, NULL))
            || (as->registration_endpoint != NULL
                && !mcp_uri_is_web(pool, as->registration_endpoint, 0, NULL))) {
            abort();
        }
    }
    else if (c->exit_code == 0) {
        abort();
    }
    apr_pool_destroy(pool);
    return 0;
}
