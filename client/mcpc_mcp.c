/*
 * MCP over Streamable HTTP (MCP 2025-11-25 "Transports"): initialize,
 * notifications/initialized, then tools/call or tools/list; replies as
 * application/json or text/event-stream; MCP-Protocol-Version and
 * Mcp-Session-Id sent as the server set them.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <apr_strings.h>

#include "mcp_common.h"
#include "mcpc.h"

#define MCPC_PROTOCOL_VERSION "2025-11-25"

typedef struct {
    const char *session_id;
    const char *protocol_version;    /* NULL until initialize has answered */
} session_t;

static apr_array_header_t *rpc_headers(mcpc_t *c, const session_t *session)
{
    apr_array_header_t *headers = apr_array_make(c->pool, 4, sizeof(const char *));

    APR_ARRAY_PUSH(headers, const char *) = "Content-Type: application/json";
    /* Streamable HTTP: the client MUST accept both */
    APR_ARRAY_PUSH(headers, const char *) = "Accept: application/json, text/event-stream";
    if (session->protocol_version != NULL) {
        APR_ARRAY_PUSH(headers, const char *) =
            apr_pstrcat(c->pool, "MCP-Protocol-Version: ", session->protocol_version, NULL);
    }
    if (session->session_id != NULL) {
        APR_ARRAY_PUSH(headers, const char *) =
            apr_pstrcat(c->pool, "Mcp-Session-Id: ", session->session_id, NULL);
    }
    return headers;
}

/* The JSON-RPC response with `id` in an SSE stream, or NULL. */
static json_t *from_event_stream(mcpc_t *c, const char *body, json_int_t id)
{
    char *copy = apr_pstrdup(c->pool, body), *line, *state;
    char *data = NULL;

    /* one more blank line so the last event is dispatched */
    copy = apr_pstrcat(c->pool, copy, "\n\n", NULL);
    for (line = copy; line != NULL; ) {
        char *next = strchr(line, '\n');
        if (next != NULL) {
            *next++ = '\0';
        }
        state = line;
        if (*state && state[strlen(state) - 1] == '\r') {
            state[strlen(state) - 1] = '\0';
        }
        if (*state == '\0') {
            if (data != NULL) {
                json_t *message;
                const char *error;
                if (mcp_json_parse_object(c->pool, data, strlen(data), &message, &error) == MCP_OK
                    && json_is_integer(json_object_get(message, "id"))
                    && json_integer_value(json_object_get(message, "id")) == id
                    && (json_object_get(message, "result") || json_object_get(message, "error"))) {
                    return message;
                }
                data = NULL;
            }
        }
        else if (strncmp(state, "data:", 5) == 0) {
            const char *value = state + 5;
            if (*value == ' ') {
                value++;
            }
            data = data ? apr_pstrcat(c->pool, data, "\n", value, NULL)
                        : apr_pstrdup(c->pool, value);
        }
        line = next;
    }
    return NULL;
}

/* Sends one request (id > 0) or notification (id == 0); *result for requests. */
static int rpc(mcpc_t *c, session_t *session, const char *method, json_t *params,
               json_int_t id, json_t **result, mcpc_response_t **response_out)
{
    json_t *message = mcp_json_pool_own(c->pool, json_object()), *reply = NULL, *error;
    const char *body, *session_header;
    mcpc_response_t *response;

    json_object_set_new(message, "jsonrpc", json_string("2.0"));
    if (id > 0) {
        json_object_set_new(message, "id", json_integer(id));
    }
    json_object_set_new(message, "method", json_string(method));
    if (params != NULL) {
        json_object_set(message, "params", params);
    }
    body = mcp_json_dump(c->pool, message);
    if (mcpc_request(c, "POST", c->url, rpc_headers(c, session), body, strlen(body),
                     &response) != MCP_OK) {
        return MCP_ERROR;
    }
    if (response_out != NULL) {
        *response_out = response;
    }
    if (id == 0) {
        if (response->status != 202 && response->status != 200 && response->status != 204) {
            return mcpc_fail(c, MCPC_EXIT_SERVER, "%s: %s answered %ld", c->url, method,
                             response->status);
        }
        return MCP_OK;
    }
    if (response->status == 404 && session->session_id != NULL) {
        return mcpc_fail(c, MCPC_EXIT_SERVER, "%s: the server ended the MCP session", c->url);
    }
    if (response->status != 200) {
        if (response->body_len > 0) {
            fprintf(stderr, "%s\n", mcp_printable(c->pool, response->body, 2000));
        }
        return mcpc_fail(c, response->status == 401 || response->status == 403
                         ? MCPC_EXIT_AUTH : MCPC_EXIT_SERVER,
                         "%s: %s answered %ld", c->url, method, response->status);
    }
    session_header = apr_table_get(response->headers, "Mcp-Session-Id");
    if (session_header != NULL && session->session_id == NULL) {
        session->session_id = session_header;
        mcpc_trace(c, "MCP session %s", session_header);
    }
    if (response->content_type != NULL
        && strcmp(response->content_type, "text/event-stream") == 0) {
        reply = from_event_stream(c, response->body, id);
        if (reply == NULL) {
            return mcpc_fail(c, MCPC_EXIT_PROTOCOL, "%s: the event stream for %s ended "
                             "without its response", c->url, method);
        }
    }
    else if (response->content_type != NULL
             && strcmp(response->content_type, "application/json") == 0) {
        if (mcpc_json_reply(c, response, apr_psprintf(c->pool, "the reply to %s", method),
                            &reply) != MCP_OK) {
            return MCP_ERROR;
        }
    }
    else {
        return mcpc_fail(c, MCPC_EXIT_PROTOCOL, "%s: %s answered with %s, not JSON or an "
                         "event stream", c->url, method,
                         response->content_type ? response->content_type : "no content type");
    }
    error = json_object_get(reply, "error");
    if (error != NULL) {
        const char *text = mcp_json_string(error, "message");
        return mcpc_fail(c, MCPC_EXIT_SERVER, "%s: %s failed: %s (%" JSON_INTEGER_FORMAT ")",
                         c->url, method,
                         text ? mcp_printable(c->pool, text, 500) : "no message",
                         json_integer_value(json_object_get(error, "code")));
    }
    *result = json_object_get(reply, "result");
    if (!json_is_object(*result)) {
        return mcpc_fail(c, MCPC_EXIT_PROTOCOL, "%s: the reply to %s has no result object",
                         c->url, method);
    }
    return MCP_OK;
}

static int tool_arguments(mcpc_t *c, json_t **out)
{
    json_t *arguments = mcp_json_pool_own(c->pool, json_object());
    int i;

    for (i = 0; c->tool_args != NULL && i < c->tool_args->nelts; i++) {
        const char *arg = APR_ARRAY_IDX(c->tool_args, i, const char *);
        const char *equals = strchr(arg, '=');
        char *key;
        json_t *value;

        if (equals == NULL || equals == arg) {
            return mcpc_fail(c, MCPC_EXIT_USAGE, "--arg %s: expected KEY=VALUE or KEY:=JSON", arg);
        }
        if (equals[-1] == ':' && equals - 1 > arg) {
            /* KEY:=JSON for numbers, booleans, arrays, objects */
            json_error_t json_error;
            key = apr_pstrndup(c->pool, arg, (apr_size_t)(equals - 1 - arg));
            value = json_loads(equals + 1, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &json_error);
            if (value == NULL) {
                return mcpc_fail(c, MCPC_EXIT_USAGE, "--arg %s: not JSON: %s", arg,
                                 json_error.text);
            }
        }
        else {
            key = apr_pstrndup(c->pool, arg, (apr_size_t)(equals - arg));
            value = json_string(equals + 1);
            if (value == NULL) {
                return mcpc_fail(c, MCPC_EXIT_USAGE, "--arg %s: not UTF-8", arg);
            }
        }
        json_object_set_new(arguments, key, value);
    }
    *out = arguments;
    return MCP_OK;
}

static void print_content(mcpc_t *c, json_t *result)
{
    json_t *content = json_object_get(result, "content");
    size_t i;

    if (c->raw_json || !json_is_array(content)) {
        printf("%s\n", mcp_json_dump(c->pool, result));
        return;
    }
    for (i = 0; i < json_array_size(content); i++) {
        json_t *item = json_array_get(content, i);
        const char *type = mcp_json_string(item, "type");
        if (type != NULL && strcmp(type, "text") == 0 && mcp_json_string(item, "text")) {
            const char *text = mcp_json_string(item, "text");
            fputs(text, stdout);
            if (*text == '\0' || text[strlen(text) - 1] != '\n') {
                fputc('\n', stdout);
            }
        }
        else {
            printf("%s\n", mcp_json_dump(c->pool, item));
        }
    }
}

int mcpc_mcp_run(mcpc_t *c)
{
    session_t session = { NULL, NULL };
    /* initialized: the compiler cannot see that rpc() and tool_arguments()
     * set them whenever they return MCP_OK (gcc -O2 -Wmaybe-uninitialized) */
    json_t *params, *result = NULL, *arguments = NULL;
    const char *version;
    int status = MCP_OK;

    params = mcp_json_pool_own(c->pool, json_pack("{s:s, s:{}, s:{s:s, s:s}}",
                               "protocolVersion", MCPC_PROTOCOL_VERSION,
                               "capabilities",
                               "clientInfo", "name", "mcp-client", "version", PACKAGE_VERSION));
    if (rpc(c, &session, "initialize", params, 1, &result, NULL) != MCP_OK) {
        return MCP_ERROR;
    }
    version = mcp_json_string(result, "protocolVersion");
    session.protocol_version = version ? version : MCPC_PROTOCOL_VERSION;
    mcpc_trace(c, "initialized: protocol %s, server %s", session.protocol_version,
               mcp_json_string(json_object_get(result, "serverInfo"), "name")
               ? mcp_json_string(json_object_get(result, "serverInfo"), "name") : "?");
    if (rpc(c, &session, "notifications/initialized", NULL, 0, NULL, NULL) != MCP_OK) {
        return MCP_ERROR;
    }
    if (c->list_tools) {
        json_t *tools;
        if (rpc(c, &session, "tools/list", NULL, 2, &result, NULL) != MCP_OK) {
            return MCP_ERROR;
        }
        tools = json_object_get(result, "tools");
        if (c->raw_json || !json_is_array(tools)) {
            printf("%s\n", mcp_json_dump(c->pool, result));
        }
        else {
            size_t i;
            for (i = 0; i < json_array_size(tools); i++) {
                json_t *tool = json_array_get(tools, i);
                const char *description = mcp_json_string(tool, "description");
                printf("%s%s%s\n", mcp_json_string(tool, "name") ? mcp_json_string(tool, "name") : "?",
                       description ? "\t" : "", description ? description : "");
            }
        }
    }
    if (c->tool != NULL) {
        if (tool_arguments(c, &arguments) != MCP_OK) {
            return MCP_ERROR;
        }
        params = mcp_json_pool_own(c->pool, json_pack("{s:s, s:O}", "name", c->tool,
                                                      "arguments", arguments));
        if (rpc(c, &session, "tools/call", params, 3, &result, NULL) != MCP_OK) {
            return MCP_ERROR;
        }
        print_content(c, result);
        if (json_is_true(json_object_get(result, "isError"))) {
            status = mcpc_fail(c, MCPC_EXIT_SERVER, "the tool %s reported an error", c->tool);
        }
    }
    fflush(stdout);
    if (session.session_id != NULL) {
        /* Streamable HTTP §"Session Management": say goodbye; 405 is allowed */
        mcpc_response_t *response;
        apr_array_header_t *headers = rpc_headers(c, &session);
        int saved = c->exit_code;
        if (c->token != NULL) {
            APR_ARRAY_PUSH(headers, const char *) =
                apr_pstrcat(c->pool, "Authorization: Bearer ", c->token->access_token, NULL);
        }
        c->quiet++;
        mcpc_http_request(c, "DELETE", c->url, headers, NULL, 0, NULL, NULL, &response);
        c->quiet--;
        c->exit_code = saved;
    }
    return status;
}
