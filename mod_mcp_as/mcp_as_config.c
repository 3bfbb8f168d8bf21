/*
 * mod_mcp_as configuration: the directive setters (each validates its
 * value), the server-config merge, and the cross-directive checks run in
 * post_config.
 */
#include <httpd.h>
#include <string.h>
#include <errno.h>
#include <apr_lib.h>
#include <apr_strings.h>
#include <http_core.h>
#include <http_request.h>
#include <ap_expr.h>

#include "mcp_common.h"
#include "mcp_as.h"

#define DEFAULT_ACCESS_LIFETIME   3600
#define DEFAULT_REFRESH_LIFETIME  (30 * 24 * 3600)
#define DEFAULT_CODE_LIFETIME     60
#define DEFAULT_STORE_DRIVER      "sqlite3"
#define DEFAULT_STORE_PATH        "/var/lib/mod_mcp/as.db"

void *mcp_as_create_server_config(apr_pool_t *pool, server_rec *s)
{
    mcp_as_server_conf *conf = apr_pcalloc(pool, sizeof(*conf));

    conf->keys = apr_array_make(pool, 2, sizeof(mcp_as_key));
    conf->scopes = apr_array_make(pool, 4, sizeof(const char *));
    conf->scope_descriptions = apr_table_make(pool, 4);
    conf->resources = apr_array_make(pool, 2, sizeof(const char *));
    conf->clients = apr_array_make(pool, 2, sizeof(mcp_as_static_client));
    conf->introspectors = apr_array_make(pool, 2, sizeof(const char *));
    conf->access_lifetime = DEFAULT_ACCESS_LIFETIME;
    conf->refresh_lifetime = DEFAULT_REFRESH_LIFETIME;
    conf->code_lifetime = DEFAULT_CODE_LIFETIME;
    conf->store_driver = DEFAULT_STORE_DRIVER;
    conf->store_params = DEFAULT_STORE_PATH;
    conf->cimd = 1;
    return conf;
}

#define MERGE(field) \
    do { conf->field = add->field##_set ? add->field : base->field; \
         conf->field##_set = add->field##_set || base->field##_set; } while (0)

void *mcp_as_merge_server_config(apr_pool_t *pool, void *base_conf,
                                 void *add_conf)
{
    mcp_as_server_conf *base = base_conf, *add = add_conf;
    mcp_as_server_conf *conf = apr_pcalloc(pool, sizeof(*conf));

    MERGE(issuer);
    MERGE(endpoint_base);
    MERGE(keys);
    MERGE(resources);
    MERGE(access_lifetime);
    MERGE(refresh_lifetime);
    MERGE(code_lifetime);
    MERGE(registration);
    MERGE(clients);
    MERGE(introspectors);
    MERGE(cimd_allow_private);
    MERGE(cimd);
    MERGE(cimd_ca_file);
    conf->rate_count = add->rate_set ? add->rate_count : base->rate_count;
    conf->rate_period = add->rate_set ? add->rate_period : base->rate_period;
    conf->rate_set = add->rate_set || base->rate_set;
    conf->scopes = add->scopes_set ? add->scopes : base->scopes;
    conf->scopes_set = add->scopes_set || base->scopes_set;
    conf->scope_descriptions = apr_table_overlay(pool, base->scope_descriptions,
                                                 add->scope_descriptions);
    conf->registration_token_hash = add->registration_set
        ? add->registration_token_hash : base->registration_token_hash;
    conf->store_driver = add->store_set ? add->store_driver : base->store_driver;
    conf->store_params = add->store_set ? add->store_params : base->store_params;
    conf->store_set = add->store_set || base->store_set;
    conf->cache_spec = add->cache_set ? add->cache_spec : base->cache_spec;
    conf->cache_set = add->cache_set || base->cache_set;
    return conf;
}

static mcp_as_server_conf *server_conf(cmd_parms *cmd)
{
    return MCP_AS_CONF(cmd->server);
}

static const char *set_issuer(cmd_parms *cmd, void *dir_conf, const char *arg)
{
    mcp_as_server_conf *conf = server_conf(cmd);
    apr_uri_t parsed;

    /* RFC 8414 §2: https, no query, no fragment (http only on loopback). */
    if (!mcp_uri_is_web(cmd->pool, arg, 0, &parsed) || parsed.query != NULL) {
        return apr_psprintf(cmd->pool,
            "MCPIssuer: '%s' is not a valid issuer; expected an https URL "
            "(http only on a loopback host) with no query or fragment", arg);
    }
    conf->issuer = arg;
    conf->issuer_set = 1;
    return NULL;
}

static const char *set_endpoint_base(cmd_parms *cmd, void *dir_conf,
                                     const char *arg)
{
    mcp_as_server_conf *conf = server_conf(cmd);
    apr_size_t len = strlen(arg);

    if (arg[0] != '/' || strpbrk(arg, "?#*\\ \t") != NULL
        || strstr(arg, "/..") != NULL || strstr(arg, "//") != NULL) {
        return apr_psprintf(cmd->pool,
            "MCPEndpointBase: '%s' is not a URL path; expected the path of the "
            "<Location> with SetHandler mcp-as, such as /oauth", arg);
    }
    while (len > 1 && arg[len - 1] == '/') {
        len--;
    }
    conf->endpoint_base = apr_pstrndup(cmd->pool, arg, len == 1 ? 0 : len);
    conf->endpoint_base_set = 1;
    return NULL;
}

static int valid_kid(const char *kid)
{
    const char *c;

    if (kid[0] == '\0' || strlen(kid) > 128) {
        return 0;
    }
    for (c = kid; *c; c++) {
        if (!apr_isalnum(*c) && *c != '-' && *c != '_' && *c != '.') {
            return 0;
        }
    }
    return 1;
}

static const char *set_signing_key(cmd_parms *cmd, void *dir_conf,
                                   int argc, char *const argv[])
{
    mcp_as_server_conf *conf = server_conf(cmd);
    mcp_as_key *key;
    int i;

    if (argc < 1 || argc > 3) {
        return "MCPSigningKey: expected FILE [KID] [ES256|RS256]";
    }
    if (!conf->keys_set) {
        /* a virtual host's first key replaces the inherited list */
        conf->keys = apr_array_make(cmd->pool, 2, sizeof(mcp_as_key));
        conf->keys_set = 1;
    }
    key = apr_array_push(conf->keys);
    memset(key, 0, sizeof(*key));
    key->file = ap_server_root_relative(cmd->pool, argv[0]);
    if (key->file == NULL) {
        return apr_psprintf(cmd->pool, "MCPSigningKey: invalid file name '%s'",
                            argv[0]);
    }
    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "ES256") == 0 || strcmp(argv[i], "RS256") == 0) {
            if (key->alg != NULL) {
                return "MCPSigningKey: the algorithm is given twice";
            }
            key->alg = argv[i];
        }
        else if (i == 1 && valid_kid(argv[i])) {
            key->kid = argv[i];
        }
        else {
            return apr_psprintf(cmd->pool,
                "MCPSigningKey: '%s' is neither a key id (letters, digits, "
                "'-', '_', '.'; at most 128) nor an algorithm (ES256 or RS256); "
                "expected FILE [KID] [ES256|RS256]", argv[i]);
        }
    }
    return NULL;
}

static const char *set_store(cmd_parms *cmd, void *dir_conf,
                             const char *driver, const char *params)
{
    mcp_as_server_conf *conf = server_conf(cmd);
    const apr_dbd_driver_t *dbd_driver;

    if (strcmp(driver, "sqlite3") == 0) {
        if (params[0] == '\0') {
            return "MCPStore: sqlite3 needs the database file, e.g. "
                   "MCPStore sqlite3 /var/lib/mod_mcp/as.db";
        }
        params = ap_server_root_relative(cmd->pool, params);
        if (params == NULL) {
            return "MCPStore: invalid sqlite3 file name";
        }
    }
    else if (strcmp(driver, "pgsql") == 0) {
        if (params[0] == '\0') {
            return "MCPStore: pgsql needs connection parameters, e.g. "
                   "MCPStore pgsql \"host=db.example dbname=mcp\"";
        }
    }
    else {
        return apr_psprintf(cmd->pool,
            "MCPStore: unsupported driver '%s'; expected sqlite3 or pgsql",
            driver);
    }
    apr_dbd_init(cmd->pool);
    if (apr_dbd_get_driver(cmd->pool, driver, &dbd_driver) != APR_SUCCESS) {
        return apr_psprintf(cmd->pool,
            "MCPStore: the apr_dbd driver '%s' cannot be loaded; install "
            "libaprutil1-dbd-%s", driver, driver);
    }
    conf->store_driver = driver;
    conf->store_params = params;
    conf->store_set = 1;
    return NULL;
}

static const char *set_cache(cmd_parms *cmd, void *dir_conf, const char *arg)
{
    const char *error = mcp_as_cache_configure(cmd, arg);
    mcp_as_server_conf *conf = server_conf(cmd);

    if (error != NULL) {
        return error;
    }
    conf->cache_spec = arg;
    conf->cache_set = 1;
    return NULL;
}

/* RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ) */
static int valid_scope_token(const char *scope)
{
    const unsigned char *c;

    if (*scope == '\0') {
        return 0;
    }
    for (c = (const unsigned char *)scope; *c; c++) {
        if (*c < 0x21 || *c > 0x7e || *c == '"' || *c == '\\') {
            return 0;
        }
    }
    return 1;
}

static const char *add_scope(cmd_parms *cmd, void *dir_conf, const char *arg)
{
    mcp_as_server_conf *conf = server_conf(cmd);

    if (!valid_scope_token(arg)) {
        return apr_psprintf(cmd->pool,
            "MCPScopesSupported: '%s' is not a valid scope (RFC 6749 §3.3: "
            "printable ASCII, no space, '\"' or '\\')", arg);
    }
    if (!conf->scopes_set) {
        conf->scopes = apr_array_make(cmd->pool, 4, sizeof(const char *));
        conf->scopes_set = 1;
    }
    /* a scope named twice is listed once in scopes_supported */
    if (!mcp_as_scope_supported(conf, arg)) {
        APR_ARRAY_PUSH(conf->scopes, const char *) = arg;
    }
    return NULL;
}

static const char *set_scope_description(cmd_parms *cmd, void *dir_conf,
                                         const char *scope, const char *text)
{
    mcp_as_server_conf *conf = server_conf(cmd);

    if (!valid_scope_token(scope)) {
        return apr_psprintf(cmd->pool,
            "MCPScopeDescription: '%s' is not a valid scope", scope);
    }
    if (strspn(text, " \t") == strlen(text) || strlen(text) > 512) {
        return "MCPScopeDescription: expected SCOPE \"a description of at "
               "most 512 characters\"";
    }
    apr_table_set(conf->scope_descriptions, scope, text);
    return NULL;
}

static const char *add_resource(cmd_parms *cmd, void *dir_conf,
                                const char *arg)
{
    mcp_as_server_conf *conf = server_conf(cmd);
    char *canonical;

    /* RFC 8707 §2: an absolute URI without a fragment. */
    if (strchr(arg, '#') != NULL
        || mcp_uri_canonical(cmd->pool, arg, &canonical) != MCP_OK
        || !mcp_uri_is_web(cmd->pool, arg, 1, NULL)) {
        return apr_psprintf(cmd->pool,
            "MCPAllowedResource: '%s' is not a resource URI; expected an "
            "absolute http(s) URL with no fragment (RFC 8707)", arg);
    }
    if (!conf->resources_set) {
        conf->resources = apr_array_make(cmd->pool, 2, sizeof(const char *));
        conf->resources_set = 1;
    }
    APR_ARRAY_PUSH(conf->resources, const char *) = arg;
    return NULL;
}

static const char *parse_seconds(cmd_parms *cmd, const char *directive,
                                 const char *arg, apr_int64_t min,
                                 apr_int64_t max, apr_interval_time_t *out)
{
    char *end;
    apr_int64_t value;

    if (!apr_isdigit(arg[0])) {
        value = -1;
    }
    else {
        value = apr_strtoi64(arg, &end, 10);
        if (*end != '\0' || errno == ERANGE) {
            value = -1;
        }
    }
    if (value < min || value > max) {
        return apr_psprintf(cmd->pool,
            "%s: '%s' is not a duration; expected a number of seconds from %"
            APR_INT64_T_FMT " to %" APR_INT64_T_FMT, directive, arg, min, max);
    }
    *out = (apr_interval_time_t)value;
    return NULL;
}

static const char *set_access_lifetime(cmd_parms *cmd, void *d, const char *arg)
{
    mcp_as_server_conf *conf = server_conf(cmd);
    const char *error = parse_seconds(cmd, "MCPAccessTokenLifetime", arg,
                                      10, 86400, &conf->access_lifetime);
    conf->access_lifetime_set = error == NULL;
    return error;
}

static const char *set_refresh_lifetime(cmd_parms *cmd, void *d, const char *arg)
{
    mcp_as_server_conf *conf = server_conf(cmd);
    const char *error = parse_seconds(cmd, "MCPRefreshTokenLifetime", arg,
                                      60, 366 * 86400, &conf->refresh_lifetime);
    conf->refresh_lifetime_set = error == NULL;
    return error;
}

static const char *set_code_lifetime(cmd_parms *cmd, void *d, const char *arg)
{
    mcp_as_server_conf *conf = server_conf(cmd);
    /* OAuth 2.1 §4.1.2: codes are short-lived; ten minutes at most. */
    const char *error = parse_seconds(cmd, "MCPCodeLifetime", arg,
                                      1, 600, &conf->code_lifetime);
    conf->code_lifetime_set = error == NULL;
    return error;
}

static const char *set_rate_limit(cmd_parms *cmd, void *d, const char *count,
                                  const char *period)
{
    mcp_as_server_conf *conf = server_conf(cmd);
    char *end;
    apr_int64_t value = -1;

    if (period == NULL && strcasecmp(count, "off") == 0) {
        conf->rate_count = 0;
        conf->rate_set = 1;
        return NULL;
    }
    if (apr_isdigit(count[0])) {
        value = apr_strtoi64(count, &end, 10);
        if (*end != '\0' || errno == ERANGE) {
            value = -1;
        }
    }
    if (value < 1 || value > 1000000 || period == NULL) {
        return apr_psprintf(cmd->pool,
            "MCPClientRateLimit: '%s%s%s' is not a rate; expected COUNT "
            "SECONDS (a count from 1 to 1000000 of requests per client_id "
            "in a number of seconds from 1 to 86400), or off",
            count, period ? " " : "", period ? period : "");
    }
    conf->rate_count = (int)value;
    conf->rate_set = 1;
    return parse_seconds(cmd, "MCPClientRateLimit", period, 1, 86400,
                         &conf->rate_period);
}

static const char *set_registration(cmd_parms *cmd, void *d, const char *mode,
                                    const char *secret)
{
    mcp_as_server_conf *conf = server_conf(cmd);

    if (strcmp(mode, "open") == 0 && secret == NULL) {
        conf->registration = MCP_AS_REGISTRATION_OPEN;
    }
    else if (strcmp(mode, "off") == 0 && secret == NULL) {
        conf->registration = MCP_AS_REGISTRATION_OFF;
    }
    else if (strcmp(mode, "token") == 0 && secret != NULL) {
        if (strlen(secret) < 16) {
            return "MCPRegistration: the initial access token must be at "
                   "least 16 characters";
        }
        conf->registration = MCP_AS_REGISTRATION_TOKEN;
        conf->registration_token_hash = mcp_sha256_b64url(cmd->pool, secret);
    }
    else {
        return "MCPRegistration: expected 'open', 'off' or 'token SECRET'";
    }
    conf->registration_set = 1;
    return NULL;
}

static const char *add_client(cmd_parms *cmd, void *d, int argc,
                              char *const argv[])
{
    mcp_as_server_conf *conf = server_conf(cmd);
    mcp_as_static_client *client;
    const char *secret;
    int i;

    if (argc < 2) {
        return "MCPClient: expected CLIENT_ID SECRET|sha256:HASH [SCOPE...]";
    }
    if (strlen(argv[0]) > 255 || strspn(argv[0],
            "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.~")
            != strlen(argv[0])) {
        return apr_psprintf(cmd->pool,
            "MCPClient: '%s' is not a client id; expected letters, digits "
            "and '-', '_', '.', '~' (at most 255)", argv[0]);
    }
    if (!conf->clients_set) {
        conf->clients = apr_array_make(cmd->pool, 2, sizeof(mcp_as_static_client));
        conf->clients_set = 1;
    }
    for (i = 0; i < conf->clients->nelts; i++) {
        if (strcmp(APR_ARRAY_IDX(conf->clients, i, mcp_as_static_client)
                   .client_id, argv[0]) == 0) {
            return apr_psprintf(cmd->pool, "MCPClient: client '%s' is "
                                "configured twice", argv[0]);
        }
    }
    client = apr_array_push(conf->clients);
    client->client_id = argv[0];
    secret = argv[1];
    if (strncmp(secret, "sha256:", 7) == 0) {
        unsigned char *raw;
        apr_size_t raw_len;
        if (mcp_b64url_decode(cmd->pool, secret + 7, strlen(secret + 7), &raw,
                              &raw_len) != MCP_OK || raw_len != MCP_SHA256_LEN) {
            return "MCPClient: sha256:HASH must be the base64url SHA-256 of "
                   "the secret (43 characters)";
        }
        client->secret_hash = secret + 7;
    }
    else {
        if (strlen(secret) < 16) {
            return "MCPClient: the secret must be at least 16 characters "
                   "(or sha256:HASH)";
        }
        client->secret_hash = mcp_sha256_b64url(cmd->pool, secret);
    }
    client->scopes = apr_array_make(cmd->pool, argc, sizeof(const char *));
    for (i = 2; i < argc; i++) {
        if (!valid_scope_token(argv[i])) {
            return apr_psprintf(cmd->pool, "MCPClient: '%s' is not a valid "
                                "scope", argv[i]);
        }
        APR_ARRAY_PUSH(client->scopes, const char *) = argv[i];
    }
    return NULL;
}

static const char *add_introspector(cmd_parms *cmd, void *d, const char *arg)
{
    mcp_as_server_conf *conf = server_conf(cmd);

    if (!conf->introspectors_set) {
        conf->introspectors = apr_array_make(cmd->pool, 2, sizeof(const char *));
        conf->introspectors_set = 1;
    }
    APR_ARRAY_PUSH(conf->introspectors, const char *) = arg;
    return NULL;
}

static const char *set_cimd(cmd_parms *cmd, void *d, int flag)
{
    mcp_as_server_conf *conf = server_conf(cmd);

    conf->cimd = flag;
    conf->cimd_set = 1;
    return NULL;
}

static const char *set_cimd_allow_private(cmd_parms *cmd, void *d, int flag)
{
    mcp_as_server_conf *conf = server_conf(cmd);

    conf->cimd_allow_private = flag;
    conf->cimd_allow_private_set = 1;
    return NULL;
}

static const char *set_cimd_ca_file(cmd_parms *cmd, void *d, const char *arg)
{
    mcp_as_server_conf *conf = server_conf(cmd);
    const char *path = ap_server_root_relative(cmd->pool, arg);
    apr_finfo_t info;

    if (path == NULL
        || apr_stat(&info, path, APR_FINFO_TYPE, cmd->pool) != APR_SUCCESS
        || info.filetype != APR_REG) {
        return apr_psprintf(cmd->pool, "MCPClientMetadataCAFile: '%s' is not "
                            "a readable file; expected a PEM file of CA "
                            "certificates", arg);
    }
    conf->cimd_ca_file = path;
    conf->cimd_ca_file_set = 1;
    return NULL;
}

const command_rec mcp_as_directives[] = {
    AP_INIT_TAKE1("MCPIssuer", set_issuer, NULL, RSRC_CONF,
        "the authorization server's issuer identifier (an https URL)"),
    AP_INIT_TAKE1("MCPEndpointBase", set_endpoint_base, NULL, RSRC_CONF,
        "URL path of the <Location> with SetHandler mcp-as (default: found "
        "from the configuration)"),
    AP_INIT_TAKE_ARGV("MCPSigningKey", set_signing_key, NULL, RSRC_CONF,
        "FILE [KID] [ES256|RS256]: a PEM signing key, generated if absent; "
        "repeatable, the first signs"),
    AP_INIT_TAKE2("MCPStore", set_store, NULL, RSRC_CONF,
        "DRIVER PARAMS: durable state through apr_dbd (sqlite3 FILE, or "
        "pgsql \"CONNINFO\")"),
    AP_INIT_TAKE1("MCPCache", set_cache, NULL, RSRC_CONF,
        "PROVIDER[:ARGS]: socache for codes and consent tokens (default shmcb)"),
    AP_INIT_ITERATE("MCPScopesSupported", add_scope, NULL, RSRC_CONF,
        "the scopes clients may ask for"),
    AP_INIT_TAKE2("MCPScopeDescription", set_scope_description, NULL, RSRC_CONF,
        "SCOPE TEXT: what the consent page says about a scope"),
    AP_INIT_ITERATE("MCPAllowedResource", add_resource, NULL, RSRC_CONF,
        "resource URIs (RFC 8707) tokens may be issued for"),
    AP_INIT_TAKE1("MCPAccessTokenLifetime", set_access_lifetime, NULL, RSRC_CONF,
        "access token lifetime in seconds (default 3600)"),
    AP_INIT_TAKE1("MCPRefreshTokenLifetime", set_refresh_lifetime, NULL,
        RSRC_CONF, "refresh token lifetime in seconds (default 30 days)"),
    AP_INIT_TAKE1("MCPCodeLifetime", set_code_lifetime, NULL, RSRC_CONF,
        "authorization code lifetime in seconds (default 60, at most 600)"),
    AP_INIT_TAKE12("MCPClientRateLimit", set_rate_limit, NULL, RSRC_CONF,
                   "COUNT SECONDS: requests per client_id at the token, "
                   "revocation, introspection and authorization endpoints "
                   "(default: off)"),
    AP_INIT_TAKE12("MCPRegistration", set_registration, NULL, RSRC_CONF,
        "open | token SECRET | off: dynamic client registration"),
    AP_INIT_TAKE_ARGV("MCPClient", add_client, NULL, RSRC_CONF,
        "CLIENT_ID SECRET|sha256:HASH [SCOPE...]: a confidential client for "
        "client_credentials"),
    AP_INIT_ITERATE("MCPIntrospector", add_introspector, NULL, RSRC_CONF,
        "MCPClient ids (resource servers) that may introspect any token"),
    AP_INIT_FLAG("MCPClientMetadataDocuments", set_cimd, NULL, RSRC_CONF,
        "accept https client_id URLs (Client ID Metadata Documents; default on)"),
    AP_INIT_FLAG("MCPClientMetadataAllowPrivate", set_cimd_allow_private, NULL,
        RSRC_CONF, "for tests only: fetch client metadata documents from "
        "http, loopback and private addresses"),
    AP_INIT_TAKE1("MCPClientMetadataCAFile", set_cimd_ca_file, NULL, RSRC_CONF,
        "FILE: PEM CA certificates trusted when fetching client metadata "
        "documents (default: the system's)"),
    { NULL }
};

/*
 * Where `SetHandler mcp-as` is: the core keeps the handler of a <Location>
 * as an expression; a plain string evaluates without touching the request,
 * so a minimal request_rec is enough to read it.
 */
static const char *location_handler(apr_pool_t *ptemp, server_rec *s,
                                    ap_conf_vector_t *section,
                                    core_dir_config *dir)
{
    request_rec *r;
    conn_rec *c;
    const char *error = NULL, *handler;

    if (dir->expr_handler == NULL) {
        return dir->handler;
    }
    r = apr_pcalloc(ptemp, sizeof(*r));
    c = apr_pcalloc(ptemp, sizeof(*c));
    c->pool = ptemp;
    c->base_server = s;
    c->notes = apr_table_make(ptemp, 1);
    r->pool = ptemp;
    r->server = s;
    r->connection = c;
    r->per_dir_config = section;
    r->headers_in = apr_table_make(ptemp, 1);
    r->headers_out = apr_table_make(ptemp, 1);
    r->err_headers_out = apr_table_make(ptemp, 1);
    r->subprocess_env = apr_table_make(ptemp, 1);
    r->notes = apr_table_make(ptemp, 1);
    r->uri = r->unparsed_uri = r->filename = dir->d ? dir->d : "/";
    r->method = "GET";
    handler = ap_expr_str_exec(r, dir->expr_handler, &error);
    return error == NULL ? handler : NULL;
}

const char *mcp_as_check_config(apr_pool_t *pool, apr_pool_t *ptemp,
                                server_rec *s)
{
    mcp_as_server_conf *conf = MCP_AS_CONF(s);
    core_server_config *core = ap_get_core_module_config(s->module_config);
    const char *found = NULL;
    int i;

    for (i = 0; core->sec_url && i < core->sec_url->nelts; i++) {
        ap_conf_vector_t *section =
            APR_ARRAY_IDX(core->sec_url, i, ap_conf_vector_t *);
        core_dir_config *dir = ap_get_core_module_config(section);
        const char *handler = location_handler(ptemp, s, section, dir);

        if (handler == NULL || strcmp(handler, MCP_AS_HANDLER) != 0) {
            continue;
        }
        if (!conf->issuer_set) {
            return apr_psprintf(pool,
                "SetHandler mcp-as in <Location %s> needs MCPIssuer in the "
                "same server or virtual host (%s:%u)", dir->d,
                s->server_hostname ? s->server_hostname : "?", s->port);
        }
        if (dir->r == NULL && !dir->d_is_fnmatch && found == NULL) {
            found = dir->d;
        }
    }
    if (!conf->issuer_set) {
        return NULL;
    }
    if (!conf->endpoint_base_set) {
        apr_size_t len;
        if (found == NULL) {
            /* no plain <Location> (a LocationMatch, or SetHandler in a
             * <Directory>): the endpoints are taken to be directly under
             * the issuer; MCPEndpointBase says otherwise */
            apr_uri_t parsed;
            found = (apr_uri_parse(pool, conf->issuer, &parsed) == APR_SUCCESS
                     && parsed.path) ? parsed.path : "";
        }
        len = strlen(found);
        while (len > 0 && found[len - 1] == '/') {
            len--;
        }
        conf->endpoint_base = apr_pstrndup(pool, found, len);
    }
    {
        char *well_known;
        apr_uri_t parsed;
        if (mcp_well_known_url(pool, conf->issuer, "oauth-authorization-server",
                               &well_known) != MCP_OK
            || apr_uri_parse(pool, well_known, &parsed) != APR_SUCCESS) {
            return apr_psprintf(pool, "MCPIssuer %s: cannot derive the "
                                "metadata URL", conf->issuer);
        }
        conf->metadata_path = parsed.path;
    }
    return NULL;
}

const char *mcp_as_endpoint_url(apr_pool_t *pool,
                                const mcp_as_server_conf *conf,
                                const char *name)
{
    apr_uri_t parsed;
    const char *origin;

    if (apr_uri_parse(pool, conf->issuer, &parsed) != APR_SUCCESS) {
        return NULL;
    }
    origin = apr_uri_unparse(pool, &parsed, APR_URI_UNP_OMITPATHINFO);
    return apr_pstrcat(pool, origin, conf->endpoint_base, "/", name, NULL);
}
