/* Unit tests for mcp-client's pure parts: WWW-Authenticate parsing,
 * discovery URL order, resource matching, PKCE, scope sets. */
#include <string.h>
#include <apr_general.h>
#include <apr_lib.h>
#include <apr_strings.h>

#include "mcp_common.h"
#include "mcpc.h"
#include "tap.h"

static apr_pool_t *pool;

static const mcpc_challenge_t *nth(apr_array_header_t *list, int i)
{
    return list != NULL && i < list->nelts ? &APR_ARRAY_IDX(list, i, mcpc_challenge_t) : NULL;
}

static const char *param(apr_array_header_t *list, int i, const char *name)
{
    const mcpc_challenge_t *challenge = nth(list, i);

    return challenge ? apr_table_get(challenge->params, name) : NULL;
}

static void test_challenge(void)
{
    apr_array_header_t *list = NULL;
    const char *error = NULL;
    const char *header;

    header = "Bearer resource_metadata=\"https://rs.example/.well-known/oauth-protected-resource/mcp\", "
             "scope=\"mcp:echo mcp:read\"";
    ok(mcpc_challenge_parse(pool, header, &list, &error) == MCP_OK && list->nelts == 1,
       "one Bearer challenge");
    is_str(nth(list, 0) ? nth(list, 0)->scheme : NULL, "Bearer", "scheme kept as sent");
    is_str(param(list, 0, "resource_metadata"),
           "https://rs.example/.well-known/oauth-protected-resource/mcp", "resource_metadata");
    is_str(param(list, 0, "scope"), "mcp:echo mcp:read", "scope with a space");

    /* RFC 9110 §11.6.1's own example: several challenges, escapes, token values */
    header = "Newauth realm=\"apps\", type=1, title=\"Login to \\\"apps\\\"\", Basic realm=\"simple\"";
    ok(mcpc_challenge_parse(pool, header, &list, &error) == MCP_OK && list->nelts == 2,
       "RFC 9110 example: two challenges");
    is_str(param(list, 0, "title"), "Login to \"apps\"", "quoted-pair unescaped");
    is_str(param(list, 0, "type"), "1", "token value");
    is_str(nth(list, 1) ? nth(list, 1)->scheme : NULL, "Basic", "second scheme");
    is_str(param(list, 1, "realm"), "simple", "second challenge's realm");

    header = "bEaReR ERROR=\"insufficient_scope\" , Scope=\"a b\",error_description=\"needs \\\\ b\"";
    ok(mcpc_challenge_parse(pool, header, &list, &error) == MCP_OK, "odd case and spacing");
    ok(mcpc_challenge_find(list, "Bearer") != NULL, "scheme found case-insensitively");
    is_str(param(list, 0, "error"), "insufficient_scope", "parameter names lower-cased");
    is_str(param(list, 0, "scope"), "a b", "Scope= read as scope");
    is_str(param(list, 0, "error_description"), "needs \\ b", "escaped backslash");

    header = "Basic dXNlcjpwYXNz==, Bearer realm=\"x\"";
    ok(mcpc_challenge_parse(pool, header, &list, &error) == MCP_OK && list->nelts == 2,
       "token68 then another challenge");
    is_str(nth(list, 0) ? nth(list, 0)->token68 : NULL, "dXNlcjpwYXNz==", "token68 with padding");
    is_str(param(list, 1, "realm"), "x", "challenge after a token68");

    header = "Negotiate, Bearer";
    ok(mcpc_challenge_parse(pool, header, &list, &error) == MCP_OK && list->nelts == 2
       && mcpc_challenge_find(list, "bearer") != NULL, "bare schemes");
    header = "Bearer error=\"invalid_token\", error_description=\"Missing Authorization header\", "
             "resource_metadata=\"http://localhost:1/x\", DPoP algs=\"ES256\"";
    ok(mcpc_challenge_parse(pool, header, &list, &error) == MCP_OK && list->nelts == 2
       && strcmp(param(list, 0, "resource_metadata"), "http://localhost:1/x") == 0
       && strcmp(param(list, 1, "algs"), "ES256") == 0, "Bearer next to DPoP");
    header = ", ,Bearer realm=x,,";
    ok(mcpc_challenge_parse(pool, header, &list, &error) == MCP_OK && list->nelts == 1
       && strcmp(param(list, 0, "realm"), "x") == 0, "empty list elements ignored");

    ok(mcpc_challenge_parse(pool, "Bearer realm=\"open", &list, &error) == MCP_ERROR,
       "unterminated quoted-string refused");
    ok(mcpc_challenge_parse(pool, "Bearer realm=\"a\", realm=\"b\"", &list, &error) == MCP_ERROR
       && strstr(error, "twice") != NULL, "duplicate auth-param refused");
    ok(mcpc_challenge_parse(pool, "Bearer a=b, realm=", &list, &error) == MCP_ERROR,
       "empty token value refused");
    ok(mcpc_challenge_parse(pool, "Bearer realm=", &list, &error) == MCP_OK
       && strcmp(nth(list, 0)->token68, "realm=") == 0, "a lone name= is a token68");
    ok(mcpc_challenge_parse(pool, "Bearer realm=\"a\" scope=\"b\"", &list, &error) == MCP_ERROR,
       "missing comma refused");
    ok(mcpc_challenge_parse(pool, "Bearer realm=\"a\x01\"", &list, &error) == MCP_ERROR,
       "control character refused");
    ok(mcpc_challenge_parse(pool, "", &list, &error) == MCP_ERROR, "empty header refused");
    ok(mcpc_challenge_parse(pool, "=x", &list, &error) == MCP_ERROR, "no scheme refused");
    ok(mcpc_challenge_find(NULL, "Bearer") == NULL, "find in nothing");
}

static const char *url_at(apr_array_header_t *list, int i)
{
    return i < list->nelts ? APR_ARRAY_IDX(list, i, mcpc_candidate_t).url : NULL;
}

static void test_discovery_order(void)
{
    apr_array_header_t *list;

    list = mcpc_prm_candidates(pool, "https://rs.example/mcp/echo?text=hi", NULL);
    ok(list->nelts == 2, "PRM: two well-known candidates");
    is_str(url_at(list, 0), "https://rs.example/.well-known/oauth-protected-resource/mcp/echo",
           "PRM: path-inserted first (query dropped)");
    is_str(url_at(list, 1), "https://rs.example/.well-known/oauth-protected-resource",
           "PRM: root second");
    list = mcpc_prm_candidates(pool, "https://rs.example:8443/mcp/", "https://rs.example/meta.json");
    ok(list->nelts == 3, "PRM: header URL plus two");
    is_str(url_at(list, 0), "https://rs.example/meta.json", "PRM: the header's URL first");
    is_str(url_at(list, 1), "https://rs.example:8443/.well-known/oauth-protected-resource/mcp",
           "PRM: port kept, trailing slash dropped");
    list = mcpc_prm_candidates(pool, "https://rs.example/", NULL);
    ok(list->nelts == 1, "PRM: a resource without a path has only the root URL");

    list = mcpc_as_candidates(pool, "https://as.example/tenant1");
    ok(list->nelts == 3, "AS with a path: three candidates");
    is_str(url_at(list, 0), "https://as.example/.well-known/oauth-authorization-server/tenant1",
           "AS: RFC 8414 path-inserted first");
    is_str(url_at(list, 1), "https://as.example/.well-known/openid-configuration/tenant1",
           "AS: OIDC path-inserted second");
    is_str(url_at(list, 2), "https://as.example/tenant1/.well-known/openid-configuration",
           "AS: OIDC path-appended third");
    list = mcpc_as_candidates(pool, "https://as.example");
    ok(list->nelts == 2, "AS without a path: two candidates");
    is_str(url_at(list, 0), "https://as.example/.well-known/oauth-authorization-server",
           "AS root: RFC 8414 first");
    is_str(url_at(list, 1), "https://as.example/.well-known/openid-configuration",
           "AS root: OIDC second");
    list = mcpc_as_candidates(pool, "http://127.0.0.1:8529/");
    ok(list->nelts == 2, "AS with only a slash counts as no path");
}

static void test_resource(void)
{
    char *out;

    ok(mcpc_resource_covers(pool, "https://rs.example/mcp", "https://rs.example/mcp"), "equal");
    ok(mcpc_resource_covers(pool, "https://RS.example:443/mcp/", "https://rs.example/mcp"),
       "canonically equal");
    ok(mcpc_resource_covers(pool, "https://rs.example/mcp", "https://rs.example/mcp/echo?text=1"),
       "a whole-segment prefix covers");
    ok(mcpc_resource_covers(pool, "https://rs.example", "https://rs.example/mcp"),
       "the origin covers everything on it");
    ok(!mcpc_resource_covers(pool, "https://rs.example/mc", "https://rs.example/mcp"),
       "a partial segment does not");
    ok(!mcpc_resource_covers(pool, "https://evil.example/mcp", "https://rs.example/mcp"),
       "another host does not");
    ok(!mcpc_resource_covers(pool, "http://rs.example/mcp", "https://rs.example/mcp"),
       "another scheme does not");
    ok(!mcpc_resource_covers(pool, "https://rs.example:8443/mcp", "https://rs.example/mcp"),
       "another port does not");
    ok(!mcpc_resource_covers(pool, "https://rs.example/mcp/echo", "https://rs.example/mcp"),
       "a more specific resource does not");
    ok(!mcpc_resource_covers(pool, NULL, "https://rs.example/mcp"), "none does not");
    ok(mcpc_resource_of_url(pool, "https://RS.example/mcp/?a=b#f", &out) == MCP_ERROR,
       "a fragment is no resource");
    ok(mcpc_resource_of_url(pool, "https://RS.example/mcp/?a=b", &out) == MCP_OK
       && strcmp(out, "https://rs.example/mcp") == 0, "resource of a URL: no query, no slash");
    ok(mcpc_origin_of(pool, "HTTP://Localhost:80/x/y?z", &out) == MCP_OK
       && strcmp(out, "http://localhost") == 0, "origin");
}

static void test_pkce_and_scope(void)
{
    char *verifier, *challenge, *verifier2, *challenge2;
    apr_size_t i;
    int alphabet = 1;

    ok(mcpc_pkce_new(pool, &verifier, &challenge) == MCP_OK, "PKCE pair made");
    ok(strlen(verifier) == 43, "verifier is 43 characters (RFC 7636 §4.1 minimum)");
    for (i = 0; i < strlen(verifier); i++) {
        if (!(apr_isalnum(verifier[i]) || verifier[i] == '-' || verifier[i] == '_')) {
            alphabet = 0;
        }
    }
    ok(alphabet, "verifier uses unreserved characters only");
    is_str(challenge, mcp_sha256_b64url(pool, verifier), "challenge is S256 of the verifier");
    ok(strlen(challenge) == 43, "challenge is 43 characters");
    ok(mcpc_pkce_new(pool, &verifier2, &challenge2) == MCP_OK
       && strcmp(verifier, verifier2) != 0, "each verifier is fresh");

    is_str(mcpc_scope_union(pool, "a b", "b c"), "a b c", "union keeps order, drops repeats");
    is_str(mcpc_scope_union(pool, NULL, " x  y "), "x y", "union trims spaces");
    is_str(mcpc_scope_union(pool, NULL, NULL), NULL, "empty union is none");
    is_str(mcpc_scope_union(pool, "mcp:basic", "mcp:basic mcp:write"), "mcp:basic mcp:write",
           "step-up union");
    ok(mcpc_scope_covers(pool, "a b c", "c a"), "covers");
    ok(!mcpc_scope_covers(pool, "a b", "a bb"), "whole words only");
    ok(mcpc_scope_covers(pool, NULL, NULL), "nothing needs nothing");
}

int main(int argc, const char *const *argv)
{
    apr_app_initialize(&argc, &argv, NULL);
    apr_pool_create(&pool, NULL);
    test_challenge();
    test_discovery_order();
    test_resource();
    test_pkce_and_scope();
    apr_pool_destroy(pool);
    apr_terminate();
    return tap_done();
}
