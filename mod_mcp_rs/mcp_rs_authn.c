/*
 * AuthType MCP: the bearer check (check_authn), CORS preflights let through
 * before it, and the caller's identity handed to the backend (fixups).
 *
 * Identity for backends (DESIGN.md): r->user is the token's sub; the
 * environment gets MCP_SUB, MCP_CLIENT_ID and MCP_SCOPE (CGI, SSI,
 * RewriteCond %{ENV:…}); the request gets the headers MCP-Sub,
 * MCP-Client-Id and MCP-Scope (what mod_proxy passes on, and a CGI sees as
 * HTTP_MCP_SUB…).  Incoming headers of those names, spelt with '-' or '_',
 * are removed first on every AuthType MCP location, even where
 * `Require all granted` skipped authentication, so a client can never
 * pose as someone else.  Authorization is removed too unless
 * `MCPPassToken On`: MCP forbids passing the client's token through.
 */
#include <string.h>
#include <apr_lib.h>
#include <apr_strings.h>
#include <httpd.h>
#include <http_config.h>
#include <http_core.h>
#include <http_log.h>
#include <http_protocol.h>
#include <http_request.h>
#include <mod_auth.h>

#include "mcp_common.h"
#include "mcp_httpd.h"
#include "mcp_rs.h"

APLOG_USE_MODULE(mcp_rs);

#define CORS_METHODS "GET, POST, DELETE, OPTIONS"

/* What check_authn leaves for the later phases of one request. */
typedef struct {
    mcp_rs_identity *identity;
    const char *token;                  /* for internal redirects only */
} request_state;

static request_state *state_of(request_rec *r)
{
    return ap_get_module_config(r->request_config, &mcp_rs_module);
}

/* The state of this request, or of the one it was redirected from or is a
 * subrequest of. */
static request_state *find_state(request_rec *r)
{
    while (r != NULL) {
        request_state *state = state_of(r);
        if (state != NULL) {
            return state;
        }
        r = r->prev ? r->prev : r->main;
    }
    return NULL;
}

const mcp_rs_identity *mcp_rs_identity_get(request_rec *r)
{
    request_state *state = find_state(r);

    return state ? state->identity : NULL;
}

static int is_preflight(request_rec *r)
{
    return r->method_number == M_OPTIONS
           && apr_table_get(r->headers_in, "Origin") != NULL
           && apr_table_get(r->headers_in, "Access-Control-Request-Method") != NULL;
}

int mcp_rs_access_checker_ex(request_rec *r)
{
    if (!mcp_rs_is_mcp_auth(r) || !is_preflight(r)) {
        return DECLINED;
    }
    /* A CORS preflight never carries credentials (Fetch standard §4.8);
     * answering it reveals nothing, and refusing it would keep browser
     * clients from ever sending their token.  OK here skips authn and
     * authz; the handler below answers it. */
    apr_table_setn(r->notes, MCP_RS_NOTE_PREFLIGHT, "1");
    return OK;
}

int mcp_rs_preflight_handler(request_rec *r)
{
    if (apr_table_get(r->notes, MCP_RS_NOTE_PREFLIGHT) == NULL
        || !is_preflight(r)) {
        return DECLINED;
    }
    mcp_cors(r, CORS_METHODS);
    return OK;
}

/* Token68 (RFC 9110 §11.2), the only syntax a Bearer token has
 * (RFC 6750 §2.1). */
static int token68_char(unsigned char c)
{
    return apr_isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~'
           || c == '+' || c == '/';
}

static int is_token68(const char *token)
{
    const unsigned char *c = (const unsigned char *)token;

    if (*c == '\0') {
        return 0;
    }
    /* no strchr per character: this scan is one of the few costs that grow
     * with the token (RS256 tokens are 250 bytes longer than ES256 ones) */
    while (token68_char(*c)) {
        c++;
    }
    while (*c == '=') {
        c++;
    }
    return *c == '\0';
}

/* Refuses: logs why (with a short hash of the token, never the token),
 * then answers with the challenge. */
static int refuse(request_rec *r, const mcp_rs_failure *failure,
                  const char *token)
{
    /* the token's hash only when the line is written: bench/callgrind
     * counted it at a tenth of a refusal's instructions */
    if (APLOGrinfo(r)) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, APLOGNO(20020)
                      "mod_mcp_rs: refused %s for %s: %s%s%.12s%s",
                      token ? "token" : "request", r->uri,
                      failure->description ? failure->description : "no token",
                      token ? " (token hash " : "",
                      token ? mcp_sha256_b64url(r->pool, token) : "",
                      token ? ")" : "");
    }
    if (failure->status != HTTP_UNAUTHORIZED) {
        /* RFC 6750 §3.1: invalid_request is a 400, which httpd does not
         * pass through note_auth_failure, so the challenge is set here. */
        if (failure->error != NULL) {
            mcp_rs_set_challenge(r, failure);
        }
        return failure->status;
    }
    mcp_rs_note_failure(r, failure);
    ap_note_auth_failure(r);
    return HTTP_UNAUTHORIZED;
}

static int query_has_token(request_rec *r)
{
    apr_table_t *args;
    const char *error;

    return r->args != NULL
           && mcp_form_parse(r->pool, r->args, strlen(r->args), &args,
                             &error) == MCP_OK
           && apr_table_get(args, "access_token") != NULL;
}

int mcp_rs_check_authn(request_rec *r)
{
    const mcp_rs_dir_conf *conf;
    const char *header, *token;
    request_state *state, *previous;
    mcp_rs_failure failure = { HTTP_UNAUTHORIZED, "invalid_token", NULL };
    int status;

    if (!mcp_rs_is_mcp_auth(r)) {
        return DECLINED;
    }
    conf = mcp_rs_dir(r);
    if (!conf->resource_set
        || ((!conf->issuers_set || conf->issuers->nelts == 0)
            && !conf->introspection_set)) {
        /* Normally caught in check_config; .htaccess files are not. */
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, APLOGNO(20021)
                      "mod_mcp_rs: AuthType MCP for %s needs %s", r->uri,
                      conf->resource_set ? "MCPAuthorizationServer"
                                         : "MCPResource");
        return HTTP_INTERNAL_SERVER_ERROR;
    }

    header = apr_table_get(r->headers_in, "Authorization");
    previous = find_state(r);
    if (header == NULL && previous != NULL && previous->token != NULL) {
        /* an internal redirect or subrequest after the Authorization
         * header was taken away from the original request */
        token = previous->token;
    }
    else if (header == NULL) {
        if (query_has_token(r)) {
            /* RFC 9700 §2.4 / MCP: never in the query string. */
            failure.description = "access tokens are accepted only in the "
                                  "Authorization header, not the query string";
            return refuse(r, &failure, NULL);
        }
        failure.error = NULL;
        return refuse(r, &failure, NULL);
    }
    else {
        const char *space = strchr(header, ' ');
        /* RFC 9110 §11.1: the scheme is case-insensitive. */
        if (space == NULL || (apr_size_t)(space - header) != 6
            || strncasecmp(header, "Bearer", 6) != 0) {
            failure.error = NULL;
            failure.description = "no Bearer credentials";
            return refuse(r, &failure, NULL);
        }
        token = space;
        while (*token == ' ') {
            token++;
        }
        if (strchr(token, ',') != NULL) {
            /* httpd joins repeated headers with ", " */
            failure.status = HTTP_BAD_REQUEST;
            failure.error = "invalid_request";
            failure.description = "more than one Authorization header or "
                                  "credential";
            return refuse(r, &failure, NULL);
        }
        if (strlen(token) > MCP_RS_MAX_TOKEN_LEN) {
            failure.description = apr_psprintf(r->pool,
                "the token is longer than %d bytes", MCP_RS_MAX_TOKEN_LEN);
            return refuse(r, &failure, NULL);
        }
        if (!is_token68(token)) {
            failure.description = "the token has characters a Bearer token "
                                  "cannot have (RFC 6750 section 2.1)";
            return refuse(r, &failure, NULL);
        }
    }

    state = apr_pcalloc(r->pool, sizeof(*state));
    status = mcp_rs_token_validate(r, conf, token, &state->identity, &failure);
    if (status != OK) {
        return refuse(r, &failure, token);
    }
    state->token = token;
    ap_set_module_config(r->request_config, &mcp_rs_module, state);

    r->user = (char *)(state->identity->sub ? state->identity->sub
                       : state->identity->client_id ? state->identity->client_id
                       : "");
    r->ap_auth_type = (char *)"Bearer";
    /* the environment and headers for the backend are set in fixups */
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, APLOGNO(20022)
                  "mod_mcp_rs: token accepted for %s: sub '%s', client '%s', "
                  "jti '%s'", r->uri,
                  state->identity->sub ? state->identity->sub : "",
                  state->identity->client_id ? state->identity->client_id : "",
                  state->identity->jti ? state->identity->jti : "");
    return OK;
}

/* 1 if `name` is `wanted` with '-' and '_' taken as the same. */
static int header_name_is(const char *name, const char *wanted)
{
    for (; *name && *wanted; name++, wanted++) {
        char a = *name == '_' ? '-' : (char)apr_tolower((unsigned char)*name);
        char b = (char)apr_tolower((unsigned char)*wanted);
        if (a != b) {
            return 0;
        }
    }
    return *name == '\0' && *wanted == '\0';
}

static int scrub_header(void *data, const char *key, const char *value)
{
    apr_array_header_t *doomed = data;

    if (header_name_is(key, "mcp-sub") || header_name_is(key, "mcp-client-id")
        || header_name_is(key, "mcp-scope")) {
        APR_ARRAY_PUSH(doomed, const char *) = key;
    }
    return 1;
}

int mcp_rs_fixups(request_rec *r)
{
    const mcp_rs_dir_conf *conf;
    const mcp_rs_identity *identity;
    apr_array_header_t *doomed;
    int i;

    if (!mcp_rs_is_mcp_auth(r)) {
        return DECLINED;
    }
    conf = mcp_rs_dir(r);
    doomed = apr_array_make(r->pool, 2, sizeof(char *));
    apr_table_do(scrub_header, doomed, r->headers_in, NULL);
    for (i = 0; i < doomed->nelts; i++) {
        apr_table_unset(r->headers_in, APR_ARRAY_IDX(doomed, i, const char *));
    }
    identity = r->user ? mcp_rs_identity_get(r) : NULL;
    if (identity != NULL) {
        apr_table_setn(r->headers_in, "MCP-Sub", identity->sub ? identity->sub : "");
        apr_table_setn(r->headers_in, "MCP-Client-Id",
                       identity->client_id ? identity->client_id : "");
        apr_table_setn(r->headers_in, "MCP-Scope",
                       identity->scope ? identity->scope : "");
        apr_table_setn(r->subprocess_env, "MCP_SUB", identity->sub ? identity->sub : "");
        apr_table_setn(r->subprocess_env, "MCP_CLIENT_ID",
                       identity->client_id ? identity->client_id : "");
        apr_table_setn(r->subprocess_env, "MCP_SCOPE",
                       identity->scope ? identity->scope : "");
    }
    if (!conf->pass_token) {
        apr_table_unset(r->headers_in, "Authorization");
    }
    return DECLINED;
}
