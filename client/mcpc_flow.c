/*
 * A request with the authorization dance around it: present the stored
 * token, refresh it when it has expired or is refused, authorize on 401,
 * step up on 403 insufficient_scope (MCP 2025-11-25 "Scope Challenge
 * Handling"), never more than MCPC_MAX_AUTHORIZATIONS times in one run.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <apr_strings.h>
#include <apr_time.h>

#include "mcp_common.h"
#include "mcpc.h"

#define MCPC_MAX_AUTHORIZATIONS 3

void mcpc_trace(mcpc_t *c, const char *fmt, ...)
{
    va_list ap;

    if (!c->verbose) {
        return;
    }
    fputs("mcp-client: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int mcpc_fail(mcpc_t *c, int code, const char *fmt, ...)
{
    va_list ap;

    c->exit_code = code;
    if (c->quiet > 0 && !c->verbose) {
        return MCP_ERROR;
    }
    fputs("mcp-client: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return MCP_ERROR;
}

const char *mcpc_secret_label(mcpc_t *c, const char *secret)
{
    if (c->show_token) {
        return secret;
    }
    /* enough to tell two apart in a trace, useless to an attacker */
    return apr_psprintf(c->pool, "sha256:%.8s…", mcp_sha256_b64url(c->pool, secret));
}

static int expired(const mcpc_token_t *token)
{
    /* a little early, so it does not expire on the way */
    return token->expires_at > 0 && apr_time_sec(apr_time_now()) + 30 >= token->expires_at;
}

/* Loads the stored token for c->url, refreshing it if it has expired. */
static void load_token(mcpc_t *c)
{
    mcpc_token_t *token = mcpc_store_find_token(c, c->url);

    if (token == NULL) {
        return;
    }
    c->token = token;
    mcpc_trace(c, "stored token for %s (%s)", token->resource,
               mcpc_secret_label(c, token->access_token));
    if (expired(token)) {
        mcpc_trace(c, "it has expired; refreshing");
        if (mcpc_refresh(c) != MCP_OK) {
            mcpc_trace(c, "refresh failed; will authorize anew");
            mcpc_store_drop_token(c, token);
            c->token = NULL;
        }
    }
}

static int client_credentials(mcpc_t *c, const char *scope)
{
    apr_table_t *params = apr_table_make(c->pool, 4);
    mcpc_token_t *token;

    apr_table_setn(params, "grant_type", "client_credentials");
    if (scope != NULL) {
        apr_table_setn(params, "scope", scope);
    }
    if (mcpc_token_request(c, c->as->token_endpoint, c->as->metadata, c->client, params,
                           c->resource, c->as->issuer, &token) != MCP_OK) {
        return MCP_ERROR;
    }
    if (token->scope == NULL) {
        token->scope = scope;
    }
    c->token = token;
    mcpc_store_put_token(c, token);
    return mcpc_store_save(c);
}

/*
 * Gets a new token.  `scope` is what the challenge asked for (NULL: none);
 * `step_up` adds the scopes of the token in hand.
 */
static int obtain_token(mcpc_t *c, const char *resource_metadata, const char *scope,
                        int step_up, const char *why)
{
    const char *requested;

    if (c->authorizations >= MCPC_MAX_AUTHORIZATIONS) {
        return mcpc_fail(c, MCPC_EXIT_AUTH,
                         "%s, still, after %d authorizations; giving up (the server may "
                         "need scopes you cannot be granted%s%s)", why, c->authorizations,
                         scope ? ": " : "", scope ? scope : "");
    }
    c->authorizations++;
    if (c->as == NULL) {
        if (mcpc_discover(c, resource_metadata, &c->resource, &c->scopes_supported,
                          &c->as) != MCP_OK) {
            return MCP_ERROR;
        }
    }
    if (c->client == NULL && mcpc_client_identity(c, c->as, &c->client) != MCP_OK) {
        return MCP_ERROR;
    }
    /* MCP 2025-11-25 "Scope Selection Strategy": the challenge's scope, else
     * the resource's scopes_supported, else none at all */
    requested = scope != NULL ? scope : (step_up ? NULL : c->scopes_supported);
    if (step_up && c->token != NULL) {
        requested = mcpc_scope_union(c->pool, c->token->scope, requested);
    }
    requested = mcpc_scope_union(c->pool, requested, c->scope);
    if (strcmp(c->grant, "client_credentials") == 0) {
        return client_credentials(c, requested);
    }
    return mcpc_authorize(c, c->as, c->client, c->resource, requested);
}

int mcpc_request(mcpc_t *c, const char *method, const char *url,
                 const apr_array_header_t *headers,
                 const char *body, apr_size_t body_len,
                 mcpc_response_t **out)
{
    int refreshed = 0;

    if (!c->token_loaded) {
        c->token_loaded = 1;
        load_token(c);
    }
    for (;;) {
        apr_array_header_t *these = headers ? apr_array_copy(c->pool, headers)
                                            : apr_array_make(c->pool, 1, sizeof(const char *));
        const mcpc_challenge_t *bearer = NULL;
        apr_array_header_t *challenges = NULL;
        const char *www_authenticate, *error = NULL, *oauth_error = NULL, *scope = NULL;
        const char *resource_metadata = NULL;
        mcpc_response_t *response;

        if (c->token != NULL) {
            APR_ARRAY_PUSH(these, const char *) =
                apr_pstrcat(c->pool, "Authorization: Bearer ", c->token->access_token, NULL);
        }
        if (mcpc_http_request(c, method, url, these, body, body_len, NULL, NULL,
                              &response) != MCP_OK) {
            return MCP_ERROR;
        }
        if (response->status != 401 && response->status != 403) {
            *out = response;
            return MCP_OK;
        }
        www_authenticate = mcpc_header(c->pool, response, "WWW-Authenticate");
        if (www_authenticate != NULL) {
            if (mcpc_challenge_parse(c->pool, www_authenticate, &challenges, &error) != MCP_OK) {
                mcpc_trace(c, "cannot parse WWW-Authenticate (%s): %s", error,
                           mcp_printable(c->pool, www_authenticate, 300));
            }
            bearer = mcpc_challenge_find(challenges, "Bearer");
        }
        if (bearer != NULL) {
            oauth_error = apr_table_get(bearer->params, "error");
            scope = apr_table_get(bearer->params, "scope");
            resource_metadata = apr_table_get(bearer->params, "resource_metadata");
            mcpc_trace(c, "Bearer challenge: error=%s scope=%s resource_metadata=%s",
                       oauth_error ? oauth_error : "-", scope ? scope : "-",
                       resource_metadata ? resource_metadata : "-");
        }
        if (response->status == 403) {
            /* RFC 6750 §3.1: only insufficient_scope is ours to fix */
            if (c->token == NULL || oauth_error == NULL
                || strcmp(oauth_error, "insufficient_scope") != 0) {
                *out = response;
                return MCP_OK;
            }
            mcpc_trace(c, "insufficient scope; asking for %s in addition to %s",
                       scope ? scope : "(nothing named)", c->token->scope ? c->token->scope : "-");
            if (obtain_token(c, resource_metadata, scope, 1,
                             "the server answers 403 insufficient_scope") != MCP_OK) {
                return MCP_ERROR;
            }
            continue;
        }
        if (www_authenticate != NULL && challenges != NULL && bearer == NULL) {
            return mcpc_fail(c, MCPC_EXIT_AUTH, "%s wants %s authentication, not OAuth "
                             "bearer tokens", url,
                             APR_ARRAY_IDX(challenges, 0, mcpc_challenge_t).scheme);
        }
        /* 401: the token is missing, expired or revoked */
        if (c->token != NULL && !refreshed && c->token->refresh_token != NULL) {
            refreshed = 1;
            mcpc_trace(c, "token refused (%s); refreshing", oauth_error ? oauth_error : "401");
            if (mcpc_refresh(c) == MCP_OK) {
                continue;
            }
            mcpc_trace(c, "refresh failed; authorizing anew");
        }
        else if (c->token != NULL) {
            mcpc_store_drop_token(c, c->token);
            c->token = NULL;
        }
        if (obtain_token(c, resource_metadata, scope, 0,
                         "the server answers 401") != MCP_OK) {
            return MCP_ERROR;
        }
    }
}
