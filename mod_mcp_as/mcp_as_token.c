/*
 * The token endpoint, POST …/token (OAuth 2.1 §3.2, RFC 6749 §5):
 * authorization_code with PKCE, refresh_token with rotation and reuse
 * detection, client_credentials for confidential clients.
 */
#include <httpd.h>
#include <string.h>
#include <apr_lib.h>
#include <apr_strings.h>
#include <http_log.h>
#include <http_protocol.h>

#include "mcp_common.h"
#include "mcp_httpd.h"
#include "mcp_as.h"

static int token_error(request_rec *r, const char *error, const char *why)
{
    return mcp_reply_oauth_error(r, HTTP_BAD_REQUEST, error, why);
}

static const char *seconds(apr_pool_t *pool, apr_time_t value)
{
    return apr_psprintf(pool, "%" APR_TIME_T_FMT, value);
}

/* RFC 7636 §4.1: 43-128 characters of [A-Z] / [a-z] / [0-9] / "-._~" */
static int valid_verifier(const char *verifier)
{
    apr_size_t len = strlen(verifier), i;

    if (len < 43 || len > 128) {
        return 0;
    }
    for (i = 0; i < len; i++) {
        char c = verifier[i];
        if (!apr_isalnum(c) && c != '-' && c != '.' && c != '_' && c != '~') {
            return 0;
        }
    }
    return 1;
}

/* Signs the access token and sends the RFC 6749 §5.1 response. */
static int reply_tokens(request_rec *r, mcp_as_server_conf *conf,
                        mcp_as_token_claims *claims, const char *jwt,
                        const char *refresh_token)
{
    json_t *body = mcp_json_pool_own(r->pool, json_object());

    json_object_set_new(body, "access_token", json_string(jwt));
    json_object_set_new(body, "token_type", json_string("Bearer"));
    json_object_set_new(body, "expires_in",
                        json_integer(claims->exp - claims->iat));
    json_object_set_new(body, "scope", json_string(claims->scope));
    if (refresh_token != NULL) {
        json_object_set_new(body, "refresh_token", json_string(refresh_token));
    }
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    apr_table_setn(r->headers_out, "Pragma", "no-cache");
    return mcp_reply_json(r, HTTP_OK, body);
}

static int sign(request_rec *r, mcp_as_server_conf *conf,
                mcp_as_token_claims *claims, char **jwt)
{
    claims->iat = mcp_as_now();
    claims->exp = claims->iat + conf->access_lifetime;
    return mcp_as_jwt_issue(r, conf, claims, jwt);
}

/* A replayed code revokes what it produced (OAuth 2.1 §4.1.3). */
static int revoke_code_products(request_rec *r, mcp_as_server_conf *conf,
                                const char *code_hash, const char *client_id)
{
    const char **row;
    mcp_as_txn *txn;
    int rc;

    rc = mcp_as_txn_begin(r, conf->store, 1, &txn);
    if (rc != MCP_AS_STORE_OK) {
        return rc;
    }
    rc = mcp_as_txn_select1(txn, "code_get", &row, code_hash, MCP_AS_END);
    if (rc == MCP_AS_STORE_OK) {
        if (row[0][0] != '\0') {
            rc = mcp_as_txn_exec(txn, "family_revoke", NULL, row[0], MCP_AS_END);
        }
        if (rc == MCP_AS_STORE_OK) {
            rc = mcp_as_txn_exec(txn, "jti_revoke", NULL, row[1],
                seconds(r->pool, mcp_as_now() + conf->access_lifetime), MCP_AS_END);
        }
        if (rc == MCP_AS_STORE_OK) {
            rc = mcp_as_txn_commit(txn);
            if (rc == MCP_AS_STORE_OK) {
                mcp_as_audit(r, "code_replay", "client=%s jti=%s family=%s "
                             "outcome=revoked", client_id ? client_id : "-",
                             row[1], row[0][0] ? row[0] : "-");
            }
            return rc == MCP_AS_STORE_OK ? MCP_AS_STORE_CONFLICT : rc;
        }
    }
    mcp_as_txn_abort(txn);
    return rc;
}

static int grant_authorization_code(request_rec *r, mcp_as_server_conf *conf,
                                    apr_table_t *form, mcp_as_client *client)
{
    const char *code = apr_table_get(form, "code");
    const char *verifier = apr_table_get(form, "code_verifier");
    const char *redirect_uri = apr_table_get(form, "redirect_uri");
    const char *resource = apr_table_get(form, "resource");
    const unsigned char *cache_key;
    const char *code_hash, *error, *stored_redirect, *family = "";
    const char *challenge, *refresh_hash = NULL;
    char *text, *jwt, *refresh = NULL;
    mcp_as_token_claims claims;
    mcp_as_txn *txn;
    json_t *value;
    int rc, nrows = 0, with_refresh;

    if (code == NULL || code[0] == '\0') {
        return token_error(r, "invalid_request", "code is required");
    }
    if (verifier == NULL) {
        return token_error(r, "invalid_request",
                           "code_verifier is required (PKCE, RFC 7636)");
    }
    if (!valid_verifier(verifier)) {
        return token_error(r, "invalid_request",
                           "code_verifier must be 43 to 128 unreserved "
                           "characters (RFC 7636 §4.1)");
    }
    if (strlen(code) > 256) {
        return token_error(r, "invalid_grant", "unknown or expired code");
    }
    code_hash = mcp_sha256_b64url(r->pool, code);
    cache_key = mcp_as_cache_key(r->pool, "code", code);
    if (mcp_as_cache_get(r, cache_key, &text) != MCP_OK) {
        rc = revoke_code_products(r, conf, code_hash, client->client_id);
        if (rc == MCP_AS_STORE_UNAVAILABLE) {
            return mcp_as_unavailable(r);
        }
        if (rc == MCP_AS_STORE_CONFLICT) {
            return token_error(r, "invalid_grant", "this authorization code "
                               "was already used; the tokens it produced are "
                               "revoked");
        }
        return token_error(r, "invalid_grant",
                           "unknown or expired authorization code");
    }
    if (mcp_json_parse_object(r->pool, text, strlen(text), &value, &error)
        != MCP_OK) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    if (json_integer_value(json_object_get(value, "exp")) < mcp_as_now()) {
        return token_error(r, "invalid_grant", "the authorization code expired");
    }
    if (strcmp(mcp_json_string(value, "client_id"), client->client_id) != 0) {
        return token_error(r, "invalid_grant",
                           "the code was issued to another client");
    }
    stored_redirect = mcp_json_string(value, "redirect_uri");
    /* RFC 6749 §4.1.3: the same redirect_uri as in the request */
    if (redirect_uri != NULL ? strcmp(redirect_uri, stored_redirect) != 0
                             : json_is_true(json_object_get(value,
                                                "redirect_uri_given"))) {
        return token_error(r, "invalid_grant", "redirect_uri does not match "
                           "the one of the authorization request");
    }
    if (resource != NULL
        && !mcp_uri_same_resource(r->pool, resource,
                                  mcp_json_string(value, "resource"))) {
        return token_error(r, "invalid_target", "resource differs from the "
                           "one of the authorization request");
    }
    /* RFC 7636 §4.6 */
    challenge = mcp_json_string(value, "code_challenge");
    if (!mcp_secret_equal(mcp_sha256_b64url(r->pool, verifier), challenge)) {
        return token_error(r, "invalid_grant",
                           "code_verifier does not match the code_challenge");
    }

    memset(&claims, 0, sizeof(claims));
    claims.sub = mcp_json_string(value, "sub");
    claims.client_id = client->client_id;
    claims.scope = mcp_json_string(value, "scope");
    claims.aud = mcp_json_string(value, "resource");
    if (sign(r, conf, &claims, &jwt) != MCP_OK) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    with_refresh = mcp_as_client_has_grant(client, "refresh_token");
    if (with_refresh) {
        char *family_id;
        if (mcp_random_b64url(r->pool, 16, &family_id) != MCP_OK
            || mcp_random_b64url(r->pool, 32, &refresh) != MCP_OK) {
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        family = family_id;
        refresh_hash = mcp_sha256_b64url(r->pool, refresh);
    }
    /* The store decides which of several concurrent redemptions wins:
     * the used-code marker's INSERT succeeds exactly once. */
    rc = mcp_as_txn_begin(r, conf->store, 1, &txn);
    if (rc != MCP_AS_STORE_OK) {
        return mcp_as_unavailable(r);
    }
    rc = mcp_as_txn_exec(txn, "code_mark", &nrows, code_hash, family,
                         claims.jti,
                         seconds(r->pool, mcp_as_now() + conf->access_lifetime
                                 + conf->code_lifetime), MCP_AS_END);
    if (rc == MCP_AS_STORE_OK && nrows == 0) {
        mcp_as_txn_abort(txn);
        rc = revoke_code_products(r, conf, code_hash, client->client_id);
        if (rc == MCP_AS_STORE_UNAVAILABLE) {
            return mcp_as_unavailable(r);
        }
        return token_error(r, "invalid_grant", "this authorization code was "
                           "already used; the tokens it produced are revoked");
    }
    if (rc == MCP_AS_STORE_OK && with_refresh) {
        rc = mcp_as_txn_exec(txn, "family_insert", NULL, family,
                             client->client_id, claims.sub, claims.scope,
                             claims.aud, mcp_as_now_str(r->pool), MCP_AS_END);
        if (rc == MCP_AS_STORE_OK) {
            rc = mcp_as_txn_exec(txn, "refresh_insert", NULL, refresh_hash,
                                 family, seconds(r->pool, mcp_as_now()
                                                 + conf->refresh_lifetime),
                                 MCP_AS_END);
        }
    }
    if (rc != MCP_AS_STORE_OK) {
        mcp_as_txn_abort(txn);
        return mcp_as_unavailable(r);
    }
    if (mcp_as_txn_commit(txn) != MCP_AS_STORE_OK) {
        return mcp_as_unavailable(r);
    }
    mcp_as_cache_remove(r, cache_key);
    mcp_as_audit(r, "token_issued", "grant=authorization_code client=%s "
                 "user=%s scope=\"%s\" resource=%s jti=%s family=%s "
                 "outcome=ok", client->client_id, claims.sub, claims.scope,
                 claims.aud, claims.jti, with_refresh ? family : "-");
    return reply_tokens(r, conf, &claims, jwt, refresh);
}

static int grant_refresh_token(request_rec *r, mcp_as_server_conf *conf,
                               apr_table_t *form, mcp_as_client *client)
{
    const char *token = apr_table_get(form, "refresh_token");
    const char *scope = apr_table_get(form, "scope");
    const char *resource = apr_table_get(form, "resource");
    const char **row, *family, *token_hash;
    char *jwt, *refresh;
    mcp_as_token_claims claims;
    mcp_as_txn *txn;
    int rc, nrows = 0;

    if (token == NULL || token[0] == '\0') {
        return token_error(r, "invalid_request", "refresh_token is required");
    }
    if (strlen(token) > 256) {
        return token_error(r, "invalid_grant", "unknown refresh token");
    }
    token_hash = mcp_sha256_b64url(r->pool, token);
    rc = mcp_as_txn_begin(r, conf->store, 1, &txn);
    if (rc != MCP_AS_STORE_OK) {
        return mcp_as_unavailable(r);
    }
    rc = mcp_as_txn_select1(txn, "refresh_get", &row, token_hash, MCP_AS_END);
    if (rc != MCP_AS_STORE_OK) {
        mcp_as_txn_abort(txn);
        return rc == MCP_AS_STORE_NOTFOUND
            ? token_error(r, "invalid_grant", "unknown refresh token")
            : mcp_as_unavailable(r);
    }
    /* row: family_id, expires, used, client_id, sub, scope, resource, revoked */
    family = row[0];
    if (strcmp(row[3], client->client_id) != 0) {
        mcp_as_txn_abort(txn);
        return token_error(r, "invalid_grant",
                           "the refresh token was issued to another client");
    }
    if (strcmp(row[7], "0") != 0) {
        mcp_as_txn_abort(txn);
        return token_error(r, "invalid_grant", "the refresh token is revoked");
    }
    if (apr_atoi64(row[1]) < mcp_as_now()) {
        mcp_as_txn_abort(txn);
        return token_error(r, "invalid_grant", "the refresh token expired");
    }
    if (strcmp(row[2], "0") == 0) {
        rc = mcp_as_txn_exec(txn, "refresh_use", &nrows, token_hash, MCP_AS_END);
        if (rc != MCP_AS_STORE_OK) {
            mcp_as_txn_abort(txn);
            return mcp_as_unavailable(r);
        }
    }
    if (nrows == 0) {
        /* OAuth 2.1 §4.3.1 / RFC 9700 §4.14.2: reuse revokes the family */
        rc = mcp_as_txn_exec(txn, "family_revoke", NULL, family, MCP_AS_END);
        if (rc != MCP_AS_STORE_OK || mcp_as_txn_commit(txn) != MCP_AS_STORE_OK) {
            mcp_as_txn_abort(txn);
            return mcp_as_unavailable(r);
        }
        mcp_as_audit(r, "refresh_reuse", "client=%s user=%s family=%s "
                     "outcome=family_revoked", client->client_id, row[4],
                     family);
        return token_error(r, "invalid_grant", "this refresh token was already "
                           "used; all tokens of its family are revoked");
    }
    if (scope != NULL && !mcp_as_scope_subset(r->pool, scope, row[5])) {
        mcp_as_txn_abort(txn);
        return token_error(r, "invalid_scope", "a refresh may narrow the scope "
                           "but not widen it");
    }
    if (resource != NULL && !mcp_uri_same_resource(r->pool, resource, row[6])) {
        mcp_as_txn_abort(txn);
        return token_error(r, "invalid_target",
                           "resource differs from the one originally granted");
    }
    if (mcp_random_b64url(r->pool, 32, &refresh) != MCP_OK) {
        mcp_as_txn_abort(txn);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    rc = mcp_as_txn_exec(txn, "refresh_insert", NULL,
                         mcp_sha256_b64url(r->pool, refresh), family,
                         seconds(r->pool, mcp_as_now() + conf->refresh_lifetime),
                         MCP_AS_END);
    if (rc != MCP_AS_STORE_OK) {
        mcp_as_txn_abort(txn);
        return mcp_as_unavailable(r);
    }
    memset(&claims, 0, sizeof(claims));
    claims.sub = row[4];
    claims.client_id = client->client_id;
    claims.scope = scope != NULL
        ? apr_array_pstrcat(r->pool, mcp_as_scope_split(r->pool, scope), ' ')
        : row[5];
    claims.aud = row[6];
    if (sign(r, conf, &claims, &jwt) != MCP_OK) {
        mcp_as_txn_abort(txn);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    if (mcp_as_txn_commit(txn) != MCP_AS_STORE_OK) {
        return mcp_as_unavailable(r);
    }
    mcp_as_audit(r, "token_refreshed", "client=%s user=%s scope=\"%s\" "
                 "resource=%s jti=%s family=%s outcome=ok", client->client_id,
                 claims.sub, claims.scope, claims.aud, claims.jti, family);
    return reply_tokens(r, conf, &claims, jwt, refresh);
}

static int grant_client_credentials(request_rec *r, mcp_as_server_conf *conf,
                                    apr_table_t *form, mcp_as_client *client)
{
    const char *scope = apr_table_get(form, "scope");
    const char *resource = apr_table_get(form, "resource");
    const char *allowed;
    mcp_as_token_claims claims;
    char *jwt;
    int i;

    if (client->secret_hash == NULL) {
        return token_error(r, "unauthorized_client", "client_credentials is "
                           "for confidential clients only");
    }
    allowed = client->scope ? client->scope
                            : apr_array_pstrcat(r->pool, conf->scopes, ' ');
    if (scope != NULL) {
        apr_array_header_t *scopes = mcp_as_scope_split(r->pool, scope);
        for (i = 0; i < scopes->nelts; i++) {
            if (!mcp_as_scope_supported(conf,
                    APR_ARRAY_IDX(scopes, i, const char *))) {
                return token_error(r, "invalid_scope", apr_psprintf(r->pool,
                    "scope '%s' is not supported",
                    APR_ARRAY_IDX(scopes, i, const char *)));
            }
        }
        if (!mcp_as_scope_subset(r->pool, scope, allowed)) {
            return token_error(r, "invalid_scope",
                               "the client may not ask for that scope");
        }
        scope = apr_array_pstrcat(r->pool, scopes, ' ');
    }
    else {
        scope = allowed;
    }
    memset(&claims, 0, sizeof(claims));
    if (resource != NULL) {
        for (i = 0; i < conf->resources->nelts; i++) {
            const char *candidate = APR_ARRAY_IDX(conf->resources, i,
                                                  const char *);
            if (mcp_uri_same_resource(r->pool, candidate, resource)) {
                claims.aud = candidate;
            }
        }
    }
    else if (conf->resources->nelts == 1) {
        claims.aud = APR_ARRAY_IDX(conf->resources, 0, const char *);
    }
    if (claims.aud == NULL) {
        return token_error(r, "invalid_target", resource
            ? "this server does not issue tokens for that resource"
            : "resource is required (RFC 8707)");
    }
    claims.sub = client->client_id;
    claims.client_id = client->client_id;
    claims.scope = scope;
    if (sign(r, conf, &claims, &jwt) != MCP_OK) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    mcp_as_audit(r, "token_issued", "grant=client_credentials client=%s "
                 "scope=\"%s\" resource=%s jti=%s outcome=ok",
                 client->client_id, claims.scope, claims.aud, claims.jti);
    return reply_tokens(r, conf, &claims, jwt, NULL);
}

int mcp_as_handle_token(request_rec *r, mcp_as_server_conf *conf)
{
    apr_table_t *form;
    mcp_as_client *client;
    const char *grant, *error;
    int status, reply;

    if (mcp_cors(r, "POST, OPTIONS") == OK) {
        return OK;
    }
    if (r->method_number != M_POST) {
        apr_table_setn(r->err_headers_out, "Allow", "POST, OPTIONS");
        return mcp_reply_oauth_error(r, HTTP_METHOD_NOT_ALLOWED,
            "invalid_request", "the token endpoint takes POST only");
    }
    if (mcp_as_read_form(r, &form, &error, &status) != MCP_OK) {
        return mcp_reply_oauth_error(r, status, "invalid_request", error);
    }
    grant = apr_table_get(form, "grant_type");
    if (grant == NULL) {
        return token_error(r, "invalid_request", "grant_type is required");
    }
    if (strcmp(grant, "authorization_code") != 0
        && strcmp(grant, "refresh_token") != 0
        && strcmp(grant, "client_credentials") != 0) {
        return token_error(r, "unsupported_grant_type", apr_psprintf(r->pool,
            "grant_type '%s' is not supported",
            mcp_printable(r->pool, grant, 64)));
    }
    if (mcp_as_client_authenticate(r, conf, form, &client, &reply) != MCP_OK) {
        return reply;
    }
    if (!mcp_as_client_has_grant(client, grant)) {
        return token_error(r, "unauthorized_client", apr_psprintf(r->pool,
            "this client is not registered for the %s grant", grant));
    }
    /* now and then, drop expired markers (about one request in 256) */
    if ((apr_time_now() & 0xff) == 0) {
        mcp_as_store_housekeeping(r, conf->store);
    }
    if (strcmp(grant, "authorization_code") == 0) {
        return grant_authorization_code(r, conf, form, client);
    }
    if (strcmp(grant, "refresh_token") == 0) {
        return grant_refresh_token(r, conf, form, client);
    }
    return grant_client_credentials(r, conf, form, client);
}
