/*
 * mod_mcp_rs configuration: per-directory and per-server records, the
 * directive setters (each checks its value and names itself in the
 * message), and the cross-directive checks that run in check_config, so
 * that `apachectl configtest` (httpd -t) already reports them.
 */
#include <string.h>
#include <apr_lib.h>
#include <apr_strings.h>
#include <httpd.h>
#include <http_config.h>
#include <http_core.h>
#include <http_log.h>
#include <http_request.h>
#include <util_time.h>

#include "mcp_common.h"
#include "mcp_rs.h"

APLOG_USE_MODULE(mcp_rs);

/* JWS algorithms we can verify with a public key (RFC 7518 §3.1). */
static const char *const known_algorithms[] = {
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
    "ES256", "ES384", "ES512", NULL
};

static apr_array_header_t *words(apr_pool_t *pool, const char *list)
{
    apr_array_header_t *out = apr_array_make(pool, 4, sizeof(char *));
    char *copy = apr_pstrdup(pool, list), *state, *word;

    for (word = apr_strtok(copy, " ", &state); word != NULL;
         word = apr_strtok(NULL, " ", &state)) {
        APR_ARRAY_PUSH(out, char *) = word;
    }
    return out;
}

const char *mcp_rs_scopes_string(apr_pool_t *pool,
                                 const apr_array_header_t *scopes)
{
    if (scopes == NULL || scopes->nelts == 0) {
        return NULL;
    }
    return apr_array_pstrcat(pool, scopes, ' ');
}

void *mcp_rs_create_dir_config(apr_pool_t *pool, char *path)
{
    mcp_rs_dir_conf *conf = apr_pcalloc(pool, sizeof(*conf));

    conf->section = path ? apr_pstrdup(pool, path) : "(server)";
    conf->algorithms = words(pool, MCP_RS_DEFAULT_ALGORITHMS);
    conf->clock_skew = MCP_RS_DEFAULT_CLOCK_SKEW;
    conf->require_typ = 1;
    conf->introspection_cache = MCP_RS_DEFAULT_INTROSPECTION_CACHE;
    return conf;
}

#define MERGE(field) \
    do { \
        conf->field = add->field##_set ? add->field : base->field; \
        conf->field##_set = add->field##_set || base->field##_set; \
    } while (0)

void *mcp_rs_merge_dir_config(apr_pool_t *pool, void *base_conf, void *add_conf)
{
    mcp_rs_dir_conf *base = base_conf, *add = add_conf;
    mcp_rs_dir_conf *conf = apr_pcalloc(pool, sizeof(*conf));

    conf->section = add->section;
    MERGE(resource);
    MERGE(issuers);
    MERGE(jwks);
    MERGE(scopes);
    MERGE(algorithms);
    MERGE(clock_skew);
    MERGE(require_typ);
    MERGE(pass_token);
    MERGE(introspection_cache);
    MERGE(origins);
    /* The three introspection values travel together. */
    if (add->introspection_set) {
        conf->introspection_url = add->introspection_url;
        conf->introspection_client_id = add->introspection_client_id;
        conf->introspection_secret = add->introspection_secret;
    }
    else {
        conf->introspection_url = base->introspection_url;
        conf->introspection_client_id = base->introspection_client_id;
        conf->introspection_secret = base->introspection_secret;
    }
    conf->introspection_set = add->introspection_set || base->introspection_set;
    /* Defaults that were never set still need a value. */
    if (!conf->algorithms_set) {
        conf->algorithms = add->algorithms;
    }
    if (!conf->clock_skew_set) {
        conf->clock_skew = MCP_RS_DEFAULT_CLOCK_SKEW;
    }
    if (!conf->require_typ_set) {
        conf->require_typ = 1;
    }
    if (!conf->introspection_cache_set) {
        conf->introspection_cache = MCP_RS_DEFAULT_INTROSPECTION_CACHE;
    }
    return conf;
}

void *mcp_rs_create_server_config(apr_pool_t *pool, server_rec *s)
{
    mcp_rs_server_conf *conf = apr_pcalloc(pool, sizeof(*conf));

    conf->jwks_timeout_ms = 5000;
    conf->jwks_refresh = 3600;
    conf->jwks_refetch_interval = 30;
    conf->token_cache_size = 10000;
    conf->metadata_max_age = 3600;
    conf->metadata = apr_array_make(pool, 2, sizeof(mcp_rs_metadata_entry));
    return conf;
}

void *mcp_rs_merge_server_config(apr_pool_t *pool, void *base_conf,
                                 void *add_conf)
{
    mcp_rs_server_conf *base = base_conf, *add = add_conf;
    mcp_rs_server_conf *conf = apr_pcalloc(pool, sizeof(*conf));

    MERGE(jwks_timeout_ms);
    MERGE(jwks_refresh);
    MERGE(jwks_refetch_interval);
    MERGE(token_cache_size);
    MERGE(metadata_max_age);
    if (!conf->jwks_timeout_ms_set) conf->jwks_timeout_ms = add->jwks_timeout_ms;
    if (!conf->jwks_refresh_set) conf->jwks_refresh = add->jwks_refresh;
    if (!conf->jwks_refetch_interval_set) conf->jwks_refetch_interval = add->jwks_refetch_interval;
    if (!conf->token_cache_size_set) conf->token_cache_size = add->token_cache_size;
    if (!conf->metadata_max_age_set) conf->metadata_max_age = add->metadata_max_age;
    /* Each virtual host gets its own registry, filled at post_config. */
    conf->metadata = apr_array_make(pool, 2, sizeof(mcp_rs_metadata_entry));
    return conf;
}

const mcp_rs_dir_conf *mcp_rs_dir(request_rec *r)
{
    return ap_get_module_config(r->per_dir_config, &mcp_rs_module);
}

const mcp_rs_server_conf *mcp_rs_server(server_rec *s)
{
    return ap_get_module_config(s->module_config, &mcp_rs_module);
}

int mcp_rs_is_mcp_auth(request_rec *r)
{
    const char *type = ap_auth_type(r);

    return type != NULL && strcasecmp(type, MCP_RS_AUTH_TYPE) == 0;
}

/* ------------------------------------------------------------ setters */

static const char *set_resource(cmd_parms *cmd, void *dir_conf, const char *arg)
{
    mcp_rs_dir_conf *conf = dir_conf;
    char *canonical;

    /* RFC 8707 §2: an absolute URI without a fragment. */
    if (!mcp_uri_is_web(cmd->pool, arg, 1, NULL)
        || mcp_uri_canonical(cmd->pool, arg, &canonical) != MCP_OK) {
        return apr_psprintf(cmd->pool,
            "MCPResource: '%s' is not a valid resource URI; expected an "
            "absolute http(s) URL with no fragment or user info", arg);
    }
    conf->resource = arg;
    conf->resource_set = 1;
    return NULL;
}

static const char *add_issuer(cmd_parms *cmd, void *dir_conf, const char *arg)
{
    mcp_rs_dir_conf *conf = dir_conf;
    apr_uri_t parsed;

    /* RFC 8414 §2: https, no query, no fragment (http only on loopback). */
    if (!mcp_uri_is_web(cmd->pool, arg, 0, &parsed)
        || parsed.query != NULL || strchr(arg, '#') != NULL) {
        return apr_psprintf(cmd->pool,
            "MCPAuthorizationServer: '%s' is not an issuer identifier; "
            "expected an https URL (http only on a loopback host) with no "
            "query or fragment", arg);
    }
    if (!conf->issuers_set || conf->issuers == NULL) {
        conf->issuers = apr_array_make(cmd->pool, 2, sizeof(char *));
    }
    APR_ARRAY_PUSH(conf->issuers, const char *) = arg;
    conf->issuers_set = 1;
    return NULL;
}

static const char *set_jwks(cmd_parms *cmd, void *dir_conf, const char *arg)
{
    mcp_rs_dir_conf *conf = dir_conf;
    const char *source = arg, *error;

    if (strstr(arg, "://") == NULL) {
        source = ap_server_root_relative(cmd->pool, arg);
        if (source == NULL) {
            return apr_psprintf(cmd->pool, "MCPJWKS: invalid file path '%s'", arg);
        }
    }
    else if (!mcp_uri_is_web(cmd->pool, arg, 0, NULL)) {
        return apr_psprintf(cmd->pool,
            "MCPJWKS: '%s' is not usable; expected an https URL (http only "
            "on a loopback host) or a file holding a JWKS", arg);
    }
    if (mcp_rs_jwks_check_source(cmd->temp_pool, source, &error) != MCP_OK) {
        return apr_psprintf(cmd->pool, "MCPJWKS: %s", error);
    }
    conf->jwks = source;
    conf->jwks_set = 1;
    return NULL;
}

/* RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ) */
static int valid_scope_token(const char *scope)
{
    const unsigned char *c = (const unsigned char *)scope;

    if (*c == '\0') {
        return 0;
    }
    for (; *c; c++) {
        if (*c < 0x21 || *c == 0x22 || *c == 0x5c || *c > 0x7e) {
            return 0;
        }
    }
    return 1;
}

static const char *add_scope(cmd_parms *cmd, void *dir_conf, const char *arg)
{
    mcp_rs_dir_conf *conf = dir_conf;

    if (!valid_scope_token(arg)) {
        return apr_psprintf(cmd->pool,
            "MCPScopes: '%s' is not a scope; expected printable ASCII "
            "without spaces, '\"' or '\\' (RFC 6749 section 3.3)", arg);
    }
    if (!conf->scopes_set) {
        conf->scopes = apr_array_make(cmd->pool, 4, sizeof(char *));
        conf->scopes_set = 1;
    }
    if (!mcp_rs_array_contains(conf->scopes, arg)) {
        APR_ARRAY_PUSH(conf->scopes, const char *) = arg;
    }
    return NULL;
}

static const char *add_algorithm(cmd_parms *cmd, void *dir_conf, const char *arg)
{
    mcp_rs_dir_conf *conf = dir_conf;
    int i;

    if (strcasecmp(arg, "none") == 0 || strncasecmp(arg, "HS", 2) == 0) {
        /* RFC 8725 §3.1-3.2: no unsigned tokens, and no shared-secret
         * algorithms where the verification keys are public. */
        return apr_psprintf(cmd->pool,
            "MCPAlgorithms: '%s' is never accepted by a resource server that "
            "verifies with public keys; expected RS256, RS384, RS512, PS256, "
            "PS384, PS512, ES256, ES384 or ES512", arg);
    }
    for (i = 0; known_algorithms[i] != NULL; i++) {
        if (strcmp(arg, known_algorithms[i]) == 0) {
            break;
        }
    }
    if (known_algorithms[i] == NULL) {
        return apr_psprintf(cmd->pool,
            "MCPAlgorithms: unknown algorithm '%s'; expected RS256, RS384, "
            "RS512, PS256, PS384, PS512, ES256, ES384 or ES512", arg);
    }
    if (!conf->algorithms_set) {
        conf->algorithms = apr_array_make(cmd->pool, 4, sizeof(char *));
        conf->algorithms_set = 1;
    }
    if (!mcp_rs_array_contains(conf->algorithms, arg)) {
        APR_ARRAY_PUSH(conf->algorithms, const char *) = known_algorithms[i];
    }
    return NULL;
}

static const char *parse_seconds(cmd_parms *cmd, const char *arg, int min,
                                 int max, int *out)
{
    char *end;
    apr_int64_t value = apr_strtoi64(arg, &end, 10);

    if (*arg == '\0' || *end != '\0' || value < min || value > max) {
        return apr_psprintf(cmd->pool,
            "%s: '%s' is not a number of seconds between %d and %d",
            cmd->cmd->name, arg, min, max);
    }
    *out = (int)value;
    return NULL;
}

static const char *set_clock_skew(cmd_parms *cmd, void *dir_conf, const char *arg)
{
    mcp_rs_dir_conf *conf = dir_conf;
    const char *error = parse_seconds(cmd, arg, 0, 600, &conf->clock_skew);

    conf->clock_skew_set = error == NULL;
    return error;
}

static const char *set_require_typ(cmd_parms *cmd, void *dir_conf, int flag)
{
    mcp_rs_dir_conf *conf = dir_conf;

    conf->require_typ = flag;
    conf->require_typ_set = 1;
    return NULL;
}

static const char *set_pass_token(cmd_parms *cmd, void *dir_conf, int flag)
{
    mcp_rs_dir_conf *conf = dir_conf;

    conf->pass_token = flag;
    conf->pass_token_set = 1;
    return NULL;
}

static const char *set_introspection(cmd_parms *cmd, void *dir_conf,
                                     const char *url, const char *client_id,
                                     const char *secret)
{
    mcp_rs_dir_conf *conf = dir_conf;

    if (!mcp_uri_is_web(cmd->pool, url, 0, NULL)) {
        return apr_psprintf(cmd->pool,
            "MCPIntrospection: '%s' is not usable; expected an https URL "
            "(http only on a loopback host) followed by CLIENT_ID and SECRET",
            url);
    }
    if (*client_id == '\0' || *secret == '\0') {
        return "MCPIntrospection: CLIENT_ID and SECRET must not be empty";
    }
    conf->introspection_url = url;
    conf->introspection_client_id = client_id;
    conf->introspection_secret = secret;
    conf->introspection_set = 1;
    return NULL;
}

static const char *set_introspection_cache(cmd_parms *cmd, void *dir_conf,
                                           const char *arg)
{
    mcp_rs_dir_conf *conf = dir_conf;
    const char *error = parse_seconds(cmd, arg, 0, 86400,
                                      &conf->introspection_cache);

    conf->introspection_cache_set = error == NULL;
    return error;
}

static const char *add_origin(cmd_parms *cmd, void *dir_conf, const char *arg)
{
    mcp_rs_dir_conf *conf = dir_conf;
    apr_uri_t parsed;

    /* RFC 6454 §7: an origin is scheme://host[:port], nothing else. */
    if (strcmp(arg, "*") != 0
        && (apr_uri_parse(cmd->pool, arg, &parsed) != APR_SUCCESS
            || parsed.scheme == NULL || parsed.hostname == NULL
            || (parsed.path != NULL && parsed.path[0] != '\0')
            || parsed.query != NULL || parsed.fragment != NULL
            || parsed.user != NULL)) {
        return apr_psprintf(cmd->pool,
            "MCPAllowedOrigin: '%s' is not an origin; expected "
            "scheme://host[:port] or *", arg);
    }
    if (!conf->origins_set) {
        conf->origins = apr_array_make(cmd->pool, 2, sizeof(char *));
        conf->origins_set = 1;
    }
    APR_ARRAY_PUSH(conf->origins, const char *) = arg;
    return NULL;
}

static const char *set_jwks_timeout(cmd_parms *cmd, void *unused, const char *arg)
{
    mcp_rs_server_conf *conf =
        ap_get_module_config(cmd->server->module_config, &mcp_rs_module);
    apr_interval_time_t timeout;

    if (ap_timeout_parameter_parse(arg, &timeout, "s") != APR_SUCCESS
        || timeout < apr_time_from_msec(10) || timeout > apr_time_from_sec(120)) {
        return apr_psprintf(cmd->pool,
            "MCPJWKSTimeout: '%s' is not a timeout between 10ms and 120s "
            "(seconds, or a number followed by ms)", arg);
    }
    conf->jwks_timeout_ms = (int)apr_time_as_msec(timeout);
    conf->jwks_timeout_ms_set = 1;
    return NULL;
}

#define SERVER_SECONDS(fn, field, min, max) \
static const char *fn(cmd_parms *cmd, void *unused, const char *arg) \
{ \
    mcp_rs_server_conf *conf = \
        ap_get_module_config(cmd->server->module_config, &mcp_rs_module); \
    const char *error = parse_seconds(cmd, arg, min, max, &conf->field); \
    conf->field##_set = error == NULL; \
    return error; \
}

SERVER_SECONDS(set_jwks_refresh, jwks_refresh, 1, 604800)
SERVER_SECONDS(set_jwks_refetch_interval, jwks_refetch_interval, 0, 86400)
SERVER_SECONDS(set_metadata_max_age, metadata_max_age, 0, 604800)

static const char *set_token_cache_size(cmd_parms *cmd, void *unused,
                                        const char *arg)
{
    mcp_rs_server_conf *conf =
        ap_get_module_config(cmd->server->module_config, &mcp_rs_module);
    char *end;
    apr_int64_t value = apr_strtoi64(arg, &end, 10);

    if (*arg == '\0' || *end != '\0' || value < 0 || value > 10000000) {
        return apr_psprintf(cmd->pool,
            "MCPTokenCacheSize: '%s' is not a number of entries between 0 "
            "(no cache) and 10000000", arg);
    }
    conf->token_cache_size = (int)value;
    conf->token_cache_size_set = 1;
    return NULL;
}

/*
 * AuthType is mod_authn_core's directive; mod_mcp_rs also sees it (its own
 * handler records the value and declines, so mod_authn_core still sets it)
 * when loaded after mod_authn_core, as LoadModule order and Debian's
 * alphabetical mods-enabled give.  The value is only used here.
 */
/* Section config → "MCP" or "other".  Written and read only while the
 * configuration is read and checked (one thread); it lives in pconf and
 * is forgotten when pconf is cleared for a restart. */
static apr_hash_t *auth_types;

static apr_status_t forget_auth_types(void *unused)
{
    auth_types = NULL;
    return APR_SUCCESS;
}

static const char *note_auth_type(cmd_parms *cmd, void *dir_conf, const char *arg)
{
    if (auth_types == NULL) {
        auth_types = apr_hash_make(cmd->pool);
        apr_pool_cleanup_register(cmd->pool, NULL, forget_auth_types,
                                  apr_pool_cleanup_null);
    }
    /* keyed by the address of the section's configuration */
    apr_hash_set(auth_types, apr_pmemdup(cmd->pool, &dir_conf, sizeof(void *)),
                 sizeof(void *),
                 strcasecmp(arg, MCP_RS_AUTH_TYPE) == 0 ? "MCP" : "other");
    /* let mod_authn_core, which owns AuthType, set it as usual */
    return DECLINE_CMD;
}

const command_rec mcp_rs_directives[] = {
    AP_INIT_TAKE1("AuthType", note_auth_type, NULL, OR_AUTHCFG,
        "noted by mod_mcp_rs for its configuration checks"),
    AP_INIT_TAKE1("MCPResource", set_resource, NULL, OR_AUTHCFG,
        "this tool's canonical resource URI (the required token audience)"),
    AP_INIT_ITERATE("MCPAuthorizationServer", add_issuer, NULL, OR_AUTHCFG,
        "trusted issuer (repeatable); listed in the metadata, iss must match"),
    AP_INIT_TAKE1("MCPJWKS", set_jwks, NULL, OR_AUTHCFG,
        "verification keys: an https URL or a file (default: the issuer's jwks_uri)"),
    AP_INIT_ITERATE("MCPScopes", add_scope, NULL, OR_AUTHCFG,
        "scopes_supported, and the scope hint in the 401"),
    AP_INIT_ITERATE("MCPAlgorithms", add_algorithm, NULL, OR_AUTHCFG,
        "accepted JWS algorithms (default RS256 PS256 ES256)"),
    AP_INIT_TAKE1("MCPClockSkew", set_clock_skew, NULL, OR_AUTHCFG,
        "seconds of clock skew allowed on exp, nbf and iat (default 60)"),
    AP_INIT_FLAG("MCPRequireTyp", set_require_typ, NULL, OR_AUTHCFG,
        "On (default): JWTs must have typ at+jwt (RFC 9068); Off for foreign issuers"),
    AP_INIT_FLAG("MCPPassToken", set_pass_token, NULL, OR_AUTHCFG,
        "On: pass the Authorization header on to the backend (default Off)"),
    AP_INIT_TAKE3("MCPIntrospection", set_introspection, NULL, OR_AUTHCFG,
        "RFC 7662 introspection for opaque tokens: URL CLIENT_ID SECRET"),
    AP_INIT_TAKE1("MCPIntrospectionCache", set_introspection_cache, NULL, OR_AUTHCFG,
        "seconds an introspection result is remembered at most (default 60)"),
    AP_INIT_ITERATE("MCPAllowedOrigin", add_origin, NULL, OR_AUTHCFG,
        "Origins the mcp-echo tool accepts besides its own (DNS-rebinding check)"),
    AP_INIT_TAKE1("MCPJWKSTimeout", set_jwks_timeout, NULL, RSRC_CONF,
        "timeout for fetching keys, metadata and introspection (default 5s)"),
    AP_INIT_TAKE1("MCPJWKSRefresh", set_jwks_refresh, NULL, RSRC_CONF,
        "seconds after which cached keys are refreshed (default 3600)"),
    AP_INIT_TAKE1("MCPJWKSRefetchInterval", set_jwks_refetch_interval, NULL, RSRC_CONF,
        "minimum seconds between fetches of one key set (default 30)"),
    AP_INIT_TAKE1("MCPTokenCacheSize", set_token_cache_size, NULL, RSRC_CONF,
        "verified tokens remembered per process (default 10000, 0 = none)"),
    AP_INIT_TAKE1("MCPMetadataMaxAge", set_metadata_max_age, NULL, RSRC_CONF,
        "Cache-Control max-age of the protected-resource metadata (default 3600)"),
    { NULL }
};

/* ------------------------------------------------------------ check_config */

/*
 * The configuration of one <Location>/<Directory> section as a request
 * would see it: the server defaults, then every earlier section of the
 * same kind whose path is a prefix of this one, then the section itself.
 * Regex sections only inherit the server defaults.  This mirrors httpd's
 * own walk closely enough for the checks below; .htaccess files are not
 * visible here and are checked per request instead.
 */
static mcp_rs_dir_conf *effective_conf(apr_pool_t *pool, server_rec *s,
                                       apr_array_header_t *sections, int index,
                                       int by_prefix)
{
    ap_conf_vector_t **vectors = (ap_conf_vector_t **)sections->elts;
    mcp_rs_dir_conf *conf =
        ap_get_module_config(s->lookup_defaults, &mcp_rs_module);
    core_dir_config *target = ap_get_core_module_config(vectors[index]);
    int i;

    for (i = 0; i <= index; i++) {
        core_dir_config *core = ap_get_core_module_config(vectors[i]);
        mcp_rs_dir_conf *section = ap_get_module_config(vectors[i], &mcp_rs_module);
        if (section == NULL) {
            continue;
        }
        if (i != index) {
            if (!by_prefix || target->r != NULL || core->r != NULL
                || core->d == NULL || target->d == NULL
                || strncmp(core->d, target->d, strlen(core->d)) != 0) {
                continue;
            }
        }
        conf = mcp_rs_merge_dir_config(pool, conf, section);
    }
    return conf;
}

/* Checks one effective section; NULL when it is fine. */
static const char *check_section(apr_pool_t *pool, const mcp_rs_dir_conf *conf,
                                 const char *where, int auth_mcp)
{
    if (!auth_mcp) {
        return NULL;
    }
    if (!conf->resource_set) {
        return apr_psprintf(pool, "AuthType MCP in %s needs MCPResource "
                            "(this tool's resource URI, the token audience)",
                            where);
    }
    if ((!conf->issuers_set || conf->issuers->nelts == 0)
        && !conf->introspection_set) {
        return apr_psprintf(pool, "AuthType MCP in %s needs "
                            "MCPAuthorizationServer (or MCPIntrospection)",
                            where);
    }
    return NULL;
}

/* 1 if the sections merged into this one end with AuthType MCP. */
static int section_auth_mcp(server_rec *s, apr_array_header_t *sections,
                            int index, int by_prefix)
{
    ap_conf_vector_t **vectors = (ap_conf_vector_t **)sections->elts;
    core_dir_config *target = ap_get_core_module_config(vectors[index]);
    const char *type = NULL;
    void *section_conf;
    int i;

    if (auth_types == NULL) {
        return 0;
    }
    section_conf = ap_get_module_config(s->lookup_defaults, &mcp_rs_module);
    type = apr_hash_get(auth_types, &section_conf, sizeof(void *));
    for (i = 0; i <= index; i++) {
        core_dir_config *core = ap_get_core_module_config(vectors[i]);
        const char *value;
        if (i != index && (!by_prefix || target->r != NULL || core->r != NULL
                           || core->d == NULL || target->d == NULL
                           || strncmp(core->d, target->d, strlen(core->d)) != 0)) {
            continue;
        }
        section_conf = ap_get_module_config(vectors[i], &mcp_rs_module);
        if (section_conf == NULL) {
            continue;
        }
        value = apr_hash_get(auth_types, &section_conf, sizeof(void *));
        if (value != NULL) {
            type = value;
        }
    }
    return type != NULL && strcmp(type, "MCP") == 0;
}

int mcp_rs_check_config(apr_pool_t *pconf, apr_pool_t *plog,
                        apr_pool_t *ptemp, server_rec *s)
{
    server_rec *server;
    int failed = 0;

    for (server = s; server != NULL; server = server->next) {
        core_server_config *core = ap_get_core_module_config(server->module_config);
        apr_array_header_t *lists[2];
        const char *kinds[2] = { "<Location ", "<Directory " };
        int list, i;

        lists[0] = core->sec_url;
        lists[1] = core->sec_dir;
        for (list = 0; list < 2; list++) {
            for (i = 0; lists[list] != NULL && i < lists[list]->nelts; i++) {
                mcp_rs_dir_conf *conf =
                    effective_conf(ptemp, server, lists[list], i, 1);
                core_dir_config *section = ap_get_core_module_config(
                    ((ap_conf_vector_t **)lists[list]->elts)[i]);
                const char *where = apr_pstrcat(ptemp, kinds[list],
                    section->d ? section->d : "?", ">", NULL);
                const char *error = check_section(ptemp, conf, where,
                    section_auth_mcp(server, lists[list], i, 1));
                if (error != NULL) {
                    ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_EMERG, 0, s,
                                 APLOGNO(20001) "mod_mcp_rs: %s", error);
                    failed = 1;
                }
            }
        }
    }
    return failed ? HTTP_INTERNAL_SERVER_ERROR : OK;
}

mcp_rs_dir_conf *mcp_rs_section_conf(apr_pool_t *pool, server_rec *s,
                                     apr_array_header_t *sections, int index)
{
    return effective_conf(pool, s, sections, index, 1);
}
