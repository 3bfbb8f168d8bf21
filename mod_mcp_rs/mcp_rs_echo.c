/*
 * `SetHandler mcp-echo`: the reference tool.
 *
 * GET ?text=… answers {"echo", "sub", "client_id", "scope"} as plain JSON.
 * POST is MCP Streamable HTTP (MCP 2025-11-25, "Transports"): one
 * JSON-RPC 2.0 message per POST, answered with application/json.  The
 * tool is stateless, so it issues no Mcp-Session-Id (sessions are optional
 * in the transport) and ignores one a client sends; it offers no SSE
 * stream, so a GET without ?text= is a 405.  Origin is checked on every
 * request (DNS-rebinding protection the transport requires): the tool's
 * own origin and those MCPAllowedOrigin lists pass, any other is a 403.
 */
#include <string.h>
#include <apr_strings.h>
#include <httpd.h>
#include <http_config.h>
#include <http_core.h>
#include <http_log.h>
#include <http_protocol.h>
#include <http_request.h>

#include "mcp_common.h"
#include "mcp_httpd.h"
#include "mcp_rs.h"

APLOG_USE_MODULE(mcp_rs);

#define MAX_MESSAGE_BYTES (64 * 1024)
#define LATEST_PROTOCOL "2025-11-25"

/* Protocol versions this tool speaks, newest first. */
static const char *const protocol_versions[] = {
    "2025-11-25", "2025-06-18", "2025-03-26", NULL
};

/* JSON-RPC 2.0 §5.1 error codes */
#define PARSE_ERROR      -32700
#define INVALID_REQUEST  -32600
#define METHOD_NOT_FOUND -32601
#define INVALID_PARAMS   -32602

static int supported_version(const char *version)
{
    int i;

    for (i = 0; version != NULL && protocol_versions[i] != NULL; i++) {
        if (strcmp(version, protocol_versions[i]) == 0) {
            return 1;
        }
    }
    return 0;
}

/* The port an origin's URL names, its scheme's default when it names none. */
static apr_port_t origin_port(const apr_uri_t *uri)
{
    return uri->port_str != NULL ? uri->port
                                 : apr_uri_port_of_scheme(uri->scheme);
}

/* Whether HOST is one of this virtual host's names (ServerName,
 * ServerAlias, wildcard aliases included). */
static int server_has_name(const server_rec *server, const char *host)
{
    int i;

    if (server->server_hostname != NULL
        && strcasecmp(server->server_hostname, host) == 0) {
        return 1;
    }
    for (i = 0; server->names != NULL && i < server->names->nelts; i++) {
        if (strcasecmp(APR_ARRAY_IDX(server->names, i, const char *), host) == 0) {
            return 1;
        }
    }
    for (i = 0; server->wild_names != NULL && i < server->wild_names->nelts; i++) {
        if (ap_strcasecmp_match(host, APR_ARRAY_IDX(server->wild_names, i,
                                                    const char *)) == 0) {
            return 1;
        }
    }
    return 0;
}

/*
 * The tool's own origin is what the configuration says it is: the origin
 * of MCPResource, else this virtual host's names with the port and scheme
 * it serves.  Never the Host header: in a DNS-rebinding attack the page's
 * Origin and the Host header both carry the attacker's name, which now
 * resolves to this server, so "Origin matches Host" would let it through
 * (MCP 2025-11-25, Transports, "Security Warning").
 */
static int origin_allowed(request_rec *r, const char *origin)
{
    const mcp_rs_dir_conf *conf = mcp_rs_dir(r);
    apr_uri_t parsed, own;
    apr_port_t port;
    int i;

    for (i = 0; conf->origins != NULL && i < conf->origins->nelts; i++) {
        const char *allowed = APR_ARRAY_IDX(conf->origins, i, const char *);
        if (strcmp(allowed, "*") == 0 || strcasecmp(allowed, origin) == 0) {
            return 1;
        }
    }
    if (apr_uri_parse(r->pool, origin, &parsed) != APR_SUCCESS
        || parsed.scheme == NULL || parsed.hostname == NULL) {
        return 0;
    }
    if (conf->resource != NULL) {
        return apr_uri_parse(r->pool, conf->resource, &own) == APR_SUCCESS
            && own.scheme != NULL && own.hostname != NULL
            && strcasecmp(parsed.scheme, own.scheme) == 0
            && strcasecmp(parsed.hostname, own.hostname) == 0
            && origin_port(&parsed) == origin_port(&own);
    }
    port = r->server->port != 0 ? r->server->port
                                : r->connection->local_addr->port;
    return strcasecmp(parsed.scheme, ap_http_scheme(r)) == 0
        && origin_port(&parsed) == port
        && server_has_name(r->server, parsed.hostname);
}

static json_t *identity_json(request_rec *r, json_t *object)
{
    const mcp_rs_identity *identity = mcp_rs_identity_get(r);

    json_object_set_new(object, "sub", identity && identity->sub
                        ? json_string(identity->sub) : json_null());
    json_object_set_new(object, "client_id", identity && identity->client_id
                        ? json_string(identity->client_id) : json_null());
    json_object_set_new(object, "scope", identity && identity->scope
                        ? json_string(identity->scope) : json_null());
    return object;
}

static int plain_echo(request_rec *r)
{
    apr_table_t *args;
    const char *error, *text;
    json_t *body;

    if (mcp_form_parse(r->pool, r->args, strlen(r->args), &args, &error) != MCP_OK) {
        return mcp_reply_oauth_error(r, HTTP_BAD_REQUEST, "invalid_request", error);
    }
    text = apr_table_get(args, "text");
    if (text == NULL) {
        return mcp_reply_oauth_error(r, HTTP_BAD_REQUEST, "invalid_request",
                                     "the text parameter is missing");
    }
    body = mcp_json_pool_own(r->pool, json_object());
    json_object_set_new(body, "echo", json_string(text));
    if (json_object_get(body, "echo") == json_null()
        || !json_is_string(json_object_get(body, "echo"))) {
        return mcp_reply_oauth_error(r, HTTP_BAD_REQUEST, "invalid_request",
                                     "the text parameter is not UTF-8");
    }
    identity_json(r, body);
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    return mcp_reply_json(r, HTTP_OK, body);
}

/* Streamable HTTP: a notification or response is acknowledged with 202
 * and no body. */
static int accepted(request_rec *r)
{
    r->status = HTTP_ACCEPTED;
    ap_set_content_length(r, 0);
    return OK;
}

static int rpc_error(request_rec *r, int http_status, json_t *id, int code,
                     const char *message)
{
    json_t *reply = mcp_json_pool_own(r->pool, json_object());

    json_object_set_new(reply, "jsonrpc", json_string("2.0"));
    json_object_set(reply, "id", id ? id : json_null());
    json_object_set_new(reply, "error",
                        json_pack("{s:i,s:s}", "code", code, "message", message));
    return mcp_reply_json(r, http_status, reply);
}

static int rpc_result(request_rec *r, json_t *id, json_t *result)
{
    json_t *reply = mcp_json_pool_own(r->pool, json_object());

    json_object_set_new(reply, "jsonrpc", json_string("2.0"));
    json_object_set(reply, "id", id);
    json_object_set_new(reply, "result", result);
    return mcp_reply_json(r, HTTP_OK, reply);
}

static json_t *echo_tool(void)
{
    return json_pack("{s:s,s:s,s:s,s:{s:s,s:{s:{s:s,s:s}},s:[s],s:b}}",
        "name", "echo",
        "title", "Echo",
        "description", "Returns the text it is given, with the caller's identity.",
        "inputSchema",
            "type", "object",
            "properties",
                "text", "type", "string", "description", "the text to echo",
            "required", "text",
            "additionalProperties", 0);
}

static int call_tool(request_rec *r, json_t *id, json_t *params)
{
    const char *name = mcp_json_string(params, "name");
    json_t *arguments = json_object_get(params, "arguments");
    json_t *text, *result, *structured;

    if (name == NULL) {
        return rpc_error(r, HTTP_OK, id, INVALID_PARAMS, "params.name is missing");
    }
    if (strcmp(name, "echo") != 0) {
        return rpc_error(r, HTTP_OK, id, INVALID_PARAMS,
                         apr_psprintf(r->pool, "Unknown tool: %s",
                                      mcp_printable(r->pool, name, 64)));
    }
    if (arguments != NULL && !json_is_object(arguments)) {
        return rpc_error(r, HTTP_OK, id, INVALID_PARAMS,
                         "params.arguments is not an object");
    }
    text = arguments ? json_object_get(arguments, "text") : NULL;
    if (!json_is_string(text)) {
        return rpc_error(r, HTTP_OK, id, INVALID_PARAMS,
                         "arguments.text must be a string");
    }
    structured = identity_json(r, json_object());
    json_object_set(structured, "echo", text);
    result = json_pack("{s:[{s:s,s:O}],s:o,s:b}",
                       "content", "type", "text", "text", text,
                       "structuredContent", structured,
                       "isError", 0);
    return rpc_result(r, id, result);
}

static int initialize(request_rec *r, json_t *id, json_t *params)
{
    const char *requested = mcp_json_string(params, "protocolVersion");
    const char *version;

    if (requested == NULL) {
        return rpc_error(r, HTTP_OK, id, INVALID_PARAMS,
                         "params.protocolVersion is missing");
    }
    /* MCP lifecycle: the requested version if we speak it, else our
     * latest; the client decides whether it can go on. */
    version = supported_version(requested) ? requested : LATEST_PROTOCOL;
    return rpc_result(r, id, json_pack(
        "{s:s,s:{s:{s:b}},s:{s:s,s:s,s:s}}",
        "protocolVersion", version,
        "capabilities", "tools", "listChanged", 0,
        "serverInfo", "name", "mod_mcp_rs-echo", "title", "mod_mcp echo tool",
                      "version", PACKAGE_VERSION));
}

static int json_rpc(request_rec *r)
{
    const char *type = apr_table_get(r->headers_in, "Content-Type");
    const char *accept = apr_table_get(r->headers_in, "Accept");
    const char *version = apr_table_get(r->headers_in, "MCP-Protocol-Version");
    json_t *message, *id, *params;
    const char *method;
    json_error_t json_error;
    char *body;
    apr_size_t len;
    int status;

    if (type == NULL || strncasecmp(type, "application/json", 16) != 0
        || (type[16] != '\0' && type[16] != ';' && type[16] != ' ')) {
        return rpc_error(r, HTTP_UNSUPPORTED_MEDIA_TYPE, NULL, INVALID_REQUEST,
                         "Content-Type must be application/json");
    }
    if (accept != NULL && strstr(accept, "application/json") == NULL
        && strstr(accept, "*/*") == NULL && strstr(accept, "application/*") == NULL) {
        return rpc_error(r, HTTP_NOT_ACCEPTABLE, NULL, INVALID_REQUEST,
                         "Accept must allow application/json");
    }
    status = mcp_read_body(r, MAX_MESSAGE_BYTES, &body, &len);
    if (status != OK) {
        return status;
    }
    message = json_loadb(body, len, JSON_REJECT_DUPLICATES, &json_error);
    if (message == NULL) {
        return rpc_error(r, HTTP_BAD_REQUEST, NULL, PARSE_ERROR,
                         apr_psprintf(r->pool, "Parse error: %s", json_error.text));
    }
    mcp_json_pool_own(r->pool, message);
    if (!json_is_object(message)) {
        /* JSON-RPC batches were dropped from MCP in 2025-06-18 */
        return rpc_error(r, HTTP_BAD_REQUEST, NULL, INVALID_REQUEST,
                         "Invalid Request: one JSON-RPC message object per POST");
    }
    id = json_object_get(message, "id");
    method = mcp_json_string(message, "method");
    params = json_object_get(message, "params");
    if (!json_is_string(json_object_get(message, "jsonrpc"))
        || strcmp(mcp_json_string(message, "jsonrpc"), "2.0") != 0) {
        return rpc_error(r, HTTP_BAD_REQUEST, json_is_string(id) || json_is_integer(id)
                         ? id : NULL, INVALID_REQUEST,
                         "Invalid Request: jsonrpc must be \"2.0\"");
    }
    if (method == NULL) {
        if (json_object_get(message, "method") == NULL
            && (json_object_get(message, "result") != NULL
                || json_object_get(message, "error") != NULL)) {
            return accepted(r);         /* a response to us: nothing to say */
        }
        return rpc_error(r, HTTP_BAD_REQUEST, NULL, INVALID_REQUEST,
                         "Invalid Request: method must be a string");
    }
    if (id == NULL) {
        /* a notification (notifications/initialized, cancelled, …):
         * Streamable HTTP answers 202 with no body */
        return accepted(r);
    }
    if (!json_is_string(id) && !json_is_integer(id)) {
        /* MCP: ids are strings or integers, never null */
        return rpc_error(r, HTTP_BAD_REQUEST, NULL, INVALID_REQUEST,
                         "Invalid Request: id must be a string or an integer");
    }
    if (params != NULL && !json_is_object(params)) {
        return rpc_error(r, HTTP_OK, id, INVALID_PARAMS,
                         "params must be an object");
    }
    if (strcmp(method, "initialize") == 0) {
        return initialize(r, id, params);
    }
    /* Transports §"Protocol Version Header": after initialization every
     * request names the version; an unknown one is a 400. */
    if (version != NULL && !supported_version(version)) {
        const char *error = apr_psprintf(r->pool, "unsupported MCP-Protocol-Version %s",
                             mcp_printable(r->pool, version, 32));
        return rpc_error(r, HTTP_BAD_REQUEST, id, INVALID_REQUEST, error);
    }
    if (strcmp(method, "ping") == 0) {
        return rpc_result(r, id, json_object());
    }
    if (strcmp(method, "tools/list") == 0) {
        return rpc_result(r, id, json_pack("{s:[o]}", "tools", echo_tool()));
    }
    if (strcmp(method, "tools/call") == 0) {
        return call_tool(r, id, params);
    }
    return rpc_error(r, HTTP_OK, id, METHOD_NOT_FOUND,
                     apr_psprintf(r->pool, "Method not found: %s",
                                  mcp_printable(r->pool, method, 64)));
}

int mcp_rs_echo_handler(request_rec *r)
{
    const char *origin;

    if (r->handler == NULL || strcmp(r->handler, "mcp-echo") != 0) {
        return DECLINED;
    }
    origin = apr_table_get(r->headers_in, "Origin");
    if (origin != NULL && !origin_allowed(r, origin)) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, APLOGNO(20070)
                      "mod_mcp_rs: mcp-echo refused Origin %s",
                      mcp_printable(r->pool, origin, 100));
        return mcp_reply_oauth_error(r, HTTP_FORBIDDEN, "forbidden_origin",
                                     "this Origin may not use the tool");
    }
    if (mcp_cors(r, "GET, POST, OPTIONS") == OK) {
        return OK;
    }
    if (r->method_number == M_POST) {
        return json_rpc(r);
    }
    if (r->method_number == M_GET && r->args != NULL) {
        return plain_echo(r);
    }
    /* no server-sent event stream on GET, no session to DELETE; answered
     * here so that Allow says what this tool takes */
    apr_table_setn(r->headers_out, "Allow", "GET, POST, OPTIONS");
    return rpc_error(r, HTTP_METHOD_NOT_ALLOWED, NULL, INVALID_REQUEST,
                     "this MCP endpoint takes POST (and GET with ?text=); it "
                     "offers no event stream and no session");
}
