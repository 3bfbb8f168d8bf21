/*
 * mcp-client: gets from an MCP tool's URL to its answer, doing whatever
 * OAuth 2.1 dance the tool's authorization server asks for.  This file
 * reads the command line and runs the request; the flow lives in mcpc_*.c.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <apr_general.h>
#include <apr_getopt.h>
#include <apr_strings.h>

#include "mcp_common.h"
#include "mcpc.h"

static void usage(FILE *out)
{
    fputs(
"usage: mcp-client [options] URL\n"
"\n"
"Requests URL; when it asks for OAuth (401, 403 insufficient_scope), discovers\n"
"its authorization server, registers, authorizes (PKCE, in your browser or with\n"
"--login), stores the token, and tries again.  The response goes to stdout.\n"
"\n"
"MCP:\n"
"  --tool NAME           call the MCP tool NAME (initialize, tools/call)\n"
"  --arg KEY=VALUE       a string argument for the tool (repeatable)\n"
"  --arg KEY:=JSON       a JSON argument (number, boolean, array, object)\n"
"  --list-tools          list the server's tools\n"
"  --json                print the raw JSON-RPC result\n"
"  without --tool or --list-tools, URL is fetched with GET\n"
"\n"
"Authorization:\n"
"  --no-browser          print the authorization URL instead of opening a browser\n"
"  --login USER:PASS     log in and consent headlessly (mod_mcp_as, HTTP Basic)\n"
"  --client-id ID        a pre-registered client\n"
"  --client-secret SECRET  its secret (or the MCP_CLIENT_SECRET variable)\n"
"  --client-key FILE     a PEM private key: authenticate the pre-registered\n"
"                        client with a signed JWT (private_key_jwt, RFC 7523)\n"
"  --client-metadata-url URL  a Client ID Metadata Document, used when the\n"
"                        server supports them\n"
"  --grant client_credentials  a token for the client itself (agents; needs\n"
"                        --client-id and --client-secret or --client-key)\n"
"  --scope SCOPES        scopes to ask for besides those the server names\n"
"  --token-store FILE    default $XDG_CACHE_HOME/mcp-client/tokens.json (0600)\n"
"  --wait SECONDS        how long to wait for the browser (default 300)\n"
"\n"
"Connection:\n"
"  --cacert FILE         trust the CAs in FILE (TLS is always verified;\n"
"                        http is allowed only to loopback hosts)\n"
"  --timeout SECONDS     for each HTTP exchange (default 30)\n"
"\n"
"Output:\n"
"  -v, --verbose         trace each step on stderr (no tokens or secrets)\n"
"  --show-token          let the trace show tokens and codes\n"
"  -h, --help            this text\n"
"  --version             the version\n"
"\n"
"Environment: BROWSER (command to open the authorization URL; else xdg-open),\n"
"XDG_CACHE_HOME, HOME, MCP_CLIENT_SECRET.\n"
"\n"
"Exit status:\n"
"  0  the tool answered\n"
"  1  the tool answered with an error (HTTP status, JSON-RPC error, isError)\n"
"  2  bad command line\n"
"  3  network, TLS or timeout error\n"
"  4  authorization failed or was denied\n"
"  5  a server failed a security check (no PKCE S256, issuer or iss mismatch,\n"
"     state mismatch, metadata for another resource, non-https URL)\n"
"  6  the token store cannot be read or written\n"
"  7  a server's reply breaks its protocol\n", out);
}

enum {
    OPT_TOOL = 256, OPT_ARG, OPT_LIST_TOOLS, OPT_JSON, OPT_NO_BROWSER, OPT_LOGIN,
    OPT_CLIENT_ID, OPT_CLIENT_SECRET, OPT_CLIENT_METADATA_URL, OPT_GRANT, OPT_SCOPE,
    OPT_CLIENT_KEY, OPT_TOKEN_STORE, OPT_WAIT, OPT_CACERT, OPT_TIMEOUT, OPT_SHOW_TOKEN, OPT_VERSION
};

static const apr_getopt_option_t options[] = {
    { "tool", OPT_TOOL, 1, "" },
    { "arg", OPT_ARG, 1, "" },
    { "list-tools", OPT_LIST_TOOLS, 0, "" },
    { "json", OPT_JSON, 0, "" },
    { "no-browser", OPT_NO_BROWSER, 0, "" },
    { "login", OPT_LOGIN, 1, "" },
    { "client-id", OPT_CLIENT_ID, 1, "" },
    { "client-secret", OPT_CLIENT_SECRET, 1, "" },
    { "client-key", OPT_CLIENT_KEY, 1, "" },
    { "client-metadata-url", OPT_CLIENT_METADATA_URL, 1, "" },
    { "grant", OPT_GRANT, 1, "" },
    { "scope", OPT_SCOPE, 1, "" },
    { "token-store", OPT_TOKEN_STORE, 1, "" },
    { "wait", OPT_WAIT, 1, "" },
    { "cacert", OPT_CACERT, 1, "" },
    { "timeout", OPT_TIMEOUT, 1, "" },
    { "show-token", OPT_SHOW_TOKEN, 0, "" },
    { "verbose", 'v', 0, "" },
    { "help", 'h', 0, "" },
    { "version", OPT_VERSION, 0, "" },
    { NULL, 0, 0, NULL }
};

static int positive(const char *text, long *out)
{
    char *end;
    long value = strtol(text, &end, 10);

    if (*text == '\0' || *end != '\0' || value <= 0 || value > 86400) {
        return 0;
    }
    *out = value;
    return 1;
}

/* Reads the command line into `c`; MCPC_EXIT_OK to go on, else the exit code. */
static int parse_options(mcpc_t *c, int argc, const char *const *argv, int *done)
{
    apr_getopt_t *getopt;
    apr_status_t rv;
    int option;
    const char *value;

    *done = 0;
    apr_getopt_init(&getopt, c->pool, argc, argv);
    getopt->errfn = NULL;
    while ((rv = apr_getopt_long(getopt, options, &option, &value)) == APR_SUCCESS) {
        switch (option) {
        case 'h':
            usage(stdout);
            *done = 1;
            return MCPC_EXIT_OK;
        case OPT_VERSION:
            puts("mcp-client " PACKAGE_VERSION);
            *done = 1;
            return MCPC_EXIT_OK;
        case 'v': c->verbose = 1; break;
        case OPT_SHOW_TOKEN: c->show_token = 1; break;
        case OPT_TOOL: c->tool = value; break;
        case OPT_ARG: APR_ARRAY_PUSH(c->tool_args, const char *) = value; break;
        case OPT_LIST_TOOLS: c->list_tools = 1; break;
        case OPT_JSON: c->raw_json = 1; break;
        case OPT_NO_BROWSER: c->no_browser = 1; break;
        case OPT_LOGIN: {
            const char *colon = strchr(value, ':');
            if (colon == NULL || colon == value) {
                fprintf(stderr, "mcp-client: --login expects USER:PASSWORD\n");
                return MCPC_EXIT_USAGE;
            }
            c->login_user = apr_pstrndup(c->pool, value, (apr_size_t)(colon - value));
            c->login_password = colon + 1;
            break;
        }
        case OPT_CLIENT_ID: c->client_id = value; break;
        case OPT_CLIENT_SECRET: c->client_secret = value; break;
        case OPT_CLIENT_KEY: c->client_key = value; break;
        case OPT_CLIENT_METADATA_URL:
            /* draft-ietf-oauth-client-id-metadata-document: an https URL with a path */
            if (strncmp(value, "https://", 8) != 0 || strchr(value + 8, '/') == NULL) {
                fprintf(stderr, "mcp-client: --client-metadata-url expects an https URL "
                        "with a path\n");
                return MCPC_EXIT_USAGE;
            }
            c->client_metadata_url = value;
            break;
        case OPT_GRANT:
            if (strcmp(value, "authorization_code") != 0
                && strcmp(value, "client_credentials") != 0) {
                fprintf(stderr, "mcp-client: --grant expects authorization_code or "
                        "client_credentials\n");
                return MCPC_EXIT_USAGE;
            }
            c->grant = value;
            break;
        case OPT_SCOPE: c->scope = value; break;
        case OPT_TOKEN_STORE: c->token_store = value; break;
        case OPT_CACERT: c->cacert = value; break;
        case OPT_WAIT:
            if (!positive(value, &c->wait)) {
                fprintf(stderr, "mcp-client: --wait expects seconds (1-86400)\n");
                return MCPC_EXIT_USAGE;
            }
            break;
        case OPT_TIMEOUT:
            if (!positive(value, &c->timeout)) {
                fprintf(stderr, "mcp-client: --timeout expects seconds (1-86400)\n");
                return MCPC_EXIT_USAGE;
            }
            break;
        }
    }
    if (rv != APR_EOF) {
        fprintf(stderr, "mcp-client: unknown option or missing value near %s\n",
                getopt->ind > 0 && getopt->ind <= argc ? argv[getopt->ind - 1] : "?");
        usage(stderr);
        return MCPC_EXIT_USAGE;
    }
    if (getopt->ind != argc - 1) {
        fprintf(stderr, "mcp-client: expected exactly one URL\n");
        usage(stderr);
        return MCPC_EXIT_USAGE;
    }
    c->url = argv[getopt->ind];
    if (c->client_secret == NULL && getenv("MCP_CLIENT_SECRET") != NULL
        && c->client_id != NULL) {
        c->client_secret = getenv("MCP_CLIENT_SECRET");
    }
    if ((c->client_secret != NULL || c->client_key != NULL) && c->client_id == NULL) {
        fprintf(stderr, "mcp-client: --client-secret and --client-key need --client-id\n");
        return MCPC_EXIT_USAGE;
    }
    if (strcmp(c->grant, "client_credentials") == 0
        && (c->client_id == NULL || (c->client_secret == NULL && c->client_key == NULL))) {
        fprintf(stderr, "mcp-client: --grant client_credentials needs --client-id and "
                "--client-secret or --client-key\n");
        return MCPC_EXIT_USAGE;
    }
    if (c->tool_args->nelts > 0 && c->tool == NULL) {
        fprintf(stderr, "mcp-client: --arg needs --tool\n");
        return MCPC_EXIT_USAGE;
    }
    if (!mcp_uri_is_web(c->pool, c->url, 0, NULL)) {
        fprintf(stderr, "mcp-client: %s: expected an https URL (http only on a "
                "loopback host)\n", c->url);
        return MCPC_EXIT_USAGE;
    }
    if (c->token_store == NULL) {
        c->token_store = mcpc_store_default_path(c->pool);
    }
    return MCPC_EXIT_OK;
}

/* Without --tool or --list-tools: GET the URL and print what comes back. */
static int fetch(mcpc_t *c)
{
    mcpc_response_t *response;

    if (mcpc_request(c, "GET", c->url, NULL, NULL, 0, &response) != MCP_OK) {
        return MCP_ERROR;
    }
    fwrite(response->body, 1, response->body_len, stdout);
    fflush(stdout);
    if (response->status < 200 || response->status >= 300) {
        return mcpc_fail(c, response->status == 401 || response->status == 403
                         ? MCPC_EXIT_AUTH : MCPC_EXIT_SERVER,
                         "%s answered %ld", c->url, response->status);
    }
    return MCP_OK;
}

int main(int argc, const char *const *argv)
{
    apr_pool_t *pool;
    mcpc_t *c;
    int exit_code, done;

    if (apr_app_initialize(&argc, &argv, NULL) != APR_SUCCESS
        || apr_pool_create(&pool, NULL) != APR_SUCCESS) {
        fputs("mcp-client: cannot initialise APR\n", stderr);
        return MCPC_EXIT_NETWORK;
    }
    c = apr_pcalloc(pool, sizeof(*c));
    c->pool = pool;
    c->grant = "authorization_code";
    c->timeout = 30;
    c->wait = 300;
    c->listener = -1;
    c->store_lock = -1;
    c->tool_args = apr_array_make(pool, 4, sizeof(const char *));
    exit_code = parse_options(c, argc, argv, &done);
    if (exit_code != MCPC_EXIT_OK || done) {
        apr_pool_destroy(pool);
        apr_terminate();
        return exit_code;
    }
    if (mcpc_store_load(c) != MCP_OK || mcpc_http_init(c) != MCP_OK) {
        exit_code = c->exit_code;
    }
    else {
        int status = (c->tool != NULL || c->list_tools) ? mcpc_mcp_run(c) : fetch(c);
        exit_code = status == MCP_OK ? MCPC_EXIT_OK
                    : (c->exit_code ? c->exit_code : MCPC_EXIT_SERVER);
        mcpc_http_cleanup(c);
    }
    mcpc_listener_close(c);
    apr_pool_destroy(pool);
    apr_terminate();
    return exit_code;
}
