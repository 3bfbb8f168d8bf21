/*
 * `Require mcp-scope SCOPE…`: every listed scope must be in the token.
 *
 * The provider only says granted or denied, as authz providers do, so it
 * composes with <RequireAll>, <RequireAny> and every other Require.  When
 * it denies, it leaves the scopes it wanted in r->notes; if the request is
 * finally refused, mcp_rs_challenge.c turns that into the RFC 6750 §3.1
 * answer: 403, error="insufficient_scope", scope="…".
 */
#include <string.h>
#include <apr_strings.h>
#include <httpd.h>
#include <http_config.h>
#include <http_log.h>
#include <http_request.h>
#include <mod_auth.h>

#include "mcp_common.h"
#include "mcp_rs.h"

APLOG_USE_MODULE(mcp_rs);

static const char *parse_require(cmd_parms *cmd, const char *line,
                                 const void **parsed)
{
    apr_array_header_t *scopes = apr_array_make(cmd->pool, 4, sizeof(char *));
    char *copy = apr_pstrdup(cmd->pool, line), *state, *scope;

    for (scope = apr_strtok(copy, " \t", &state); scope != NULL;
         scope = apr_strtok(NULL, " \t", &state)) {
        const unsigned char *c;
        for (c = (const unsigned char *)scope; *c; c++) {
            if (*c < 0x21 || *c == 0x22 || *c == 0x5c || *c > 0x7e) {
                return apr_psprintf(cmd->pool,
                    "Require mcp-scope: '%s' is not a scope (RFC 6749 "
                    "section 3.3)", scope);
            }
        }
        APR_ARRAY_PUSH(scopes, const char *) = scope;
    }
    if (scopes->nelts == 0) {
        return "Require mcp-scope: expected one or more scopes";
    }
    *parsed = scopes;
    return NULL;
}

static authz_status check_scope(request_rec *r, const char *line,
                                const void *parsed)
{
    const apr_array_header_t *required = parsed;
    const mcp_rs_identity *identity;
    apr_array_header_t *granted, *missing;
    const char *noted;
    char *copy, *state, *scope;
    int i;

    if (r->user == NULL) {
        return AUTHZ_DENIED_NO_USER;
    }
    identity = mcp_rs_identity_get(r);
    if (identity == NULL) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, APLOGNO(20050)
                      "mod_mcp_rs: Require mcp-scope for %s, but the user was "
                      "not authenticated by AuthType MCP", r->uri);
        return AUTHZ_DENIED;
    }
    granted = apr_array_make(r->pool, 8, sizeof(char *));
    copy = apr_pstrdup(r->pool, identity->scope ? identity->scope : "");
    for (scope = apr_strtok(copy, " ", &state); scope != NULL;
         scope = apr_strtok(NULL, " ", &state)) {
        APR_ARRAY_PUSH(granted, const char *) = scope;
    }
    missing = apr_array_make(r->pool, 4, sizeof(char *));
    for (i = 0; i < required->nelts; i++) {
        const char *want = APR_ARRAY_IDX(required, i, const char *);
        if (!mcp_rs_array_contains(granted, want)) {
            APR_ARRAY_PUSH(missing, const char *) = want;
        }
    }
    if (missing->nelts == 0) {
        return AUTHZ_GRANTED;
    }
    /* What the request needs: every scope of every mcp-scope line that
     * refused it (RequireAll/RequireAny may evaluate several). */
    noted = apr_table_get(r->notes, MCP_RS_NOTE_SCOPE);
    for (i = 0; i < required->nelts; i++) {
        const char *want = APR_ARRAY_IDX(required, i, const char *);
        apr_array_header_t *words = apr_array_make(r->pool, 4, sizeof(char *));
        char *list = apr_pstrdup(r->pool, noted ? noted : ""), *word;
        for (word = apr_strtok(list, " ", &state); word != NULL;
             word = apr_strtok(NULL, " ", &state)) {
            APR_ARRAY_PUSH(words, const char *) = word;
        }
        if (!mcp_rs_array_contains(words, want)) {
            noted = noted ? apr_pstrcat(r->pool, noted, " ", want, NULL) : want;
        }
    }
    apr_table_setn(r->notes, MCP_RS_NOTE_SCOPE, noted);
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, APLOGNO(20051)
                  "mod_mcp_rs: '%s' lacks scope %s for %s", r->user,
                  apr_array_pstrcat(r->pool, missing, ' '), r->uri);
    return AUTHZ_DENIED;
}

static const authz_provider scope_provider = {
    &check_scope,
    &parse_require,
};

void mcp_rs_register_authz(apr_pool_t *pool)
{
    ap_register_auth_provider(pool, AUTHZ_PROVIDER_GROUP, "mcp-scope",
                              AUTHZ_PROVIDER_VERSION, &scope_provider,
                              AP_AUTH_INTERNAL_PER_CONF);
}
