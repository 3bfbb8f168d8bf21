/* Request-level helpers shared by mod_mcp_as and mod_mcp_rs. */
#include <string.h>
#include <apr_strings.h>
#include <http_protocol.h>
#include <http_request.h>

#include "mcp_common.h"
#include "mcp_httpd.h"

int mcp_reply_json(request_rec *r, int status, const json_t *body)
{
    char *text = mcp_json_dump(r->pool, body);

    if (text == NULL) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    r->status = status;
    ap_set_content_type(r, "application/json");
    ap_set_content_length(r, (apr_off_t)strlen(text));
    if (!r->header_only) {
        ap_rputs(text, r);
    }
    return OK;
}

int mcp_reply_oauth_error(request_rec *r, int status, const char *error,
                          const char *description)
{
    json_t *body = mcp_json_pool_own(r->pool, json_object());

    json_object_set_new(body, "error", json_string(error));
    if (description != NULL) {
        json_object_set_new(body, "error_description",
                            json_string(mcp_printable(r->pool, description, 512)));
    }
    /* RFC 6749 §5.1: nothing about an OAuth error may be cached either. */
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    return mcp_reply_json(r, status, body);
}

int mcp_cors(request_rec *r, const char *methods)
{
    if (apr_table_get(r->headers_in, "Origin") == NULL) {
        return DECLINED;
    }
    /* Browser-based MCP clients send no cookies and hold their tokens
     * themselves, so any origin may read these answers. */
    apr_table_setn(r->err_headers_out, "Access-Control-Allow-Origin", "*");
    apr_table_setn(r->err_headers_out, "Access-Control-Expose-Headers",
                   "WWW-Authenticate, Mcp-Session-Id, MCP-Protocol-Version");
    if (r->method_number == M_OPTIONS
        && apr_table_get(r->headers_in, "Access-Control-Request-Method")) {
        apr_table_setn(r->err_headers_out, "Access-Control-Allow-Methods",
                       methods);
        apr_table_setn(r->err_headers_out, "Access-Control-Allow-Headers",
                       "Authorization, Content-Type, Mcp-Session-Id, "
                       "MCP-Protocol-Version, Last-Event-ID");
        apr_table_setn(r->err_headers_out, "Access-Control-Max-Age", "86400");
        r->status = HTTP_NO_CONTENT;
        return OK;
    }
    return DECLINED;
}

int mcp_cors_get_only(request_rec *r, const char *what, int *reply)
{
    if (mcp_cors(r, "GET, OPTIONS") == OK) {
        *reply = OK;
        return 1;
    }
    if (r->method_number != M_GET) {
        apr_table_setn(r->err_headers_out, "Allow", "GET, OPTIONS");
        *reply = mcp_reply_oauth_error(r, HTTP_METHOD_NOT_ALLOWED,
            "invalid_request", apr_pstrcat(r->pool, what,
                                           " answers GET only", NULL));
        return 1;
    }
    return 0;
}

int mcp_read_body(request_rec *r, apr_size_t limit, char **body,
                  apr_size_t *len)
{
    char *buf;
    apr_size_t used = 0;
    int rc;

    rc = ap_setup_client_block(r, REQUEST_CHUNKED_DECHUNK);
    if (rc != OK) {
        return rc;
    }
    if (r->remaining > (apr_off_t)limit) {
        return HTTP_REQUEST_ENTITY_TOO_LARGE;
    }
    buf = apr_palloc(r->pool, limit + 1);
    if (ap_should_client_block(r)) {
        for (;;) {
            char chunk[8192];
            long got = ap_get_client_block(r, chunk, sizeof(chunk));
            if (got < 0) {
                return HTTP_BAD_REQUEST;
            }
            if (got == 0) {
                break;
            }
            if ((apr_size_t)got > limit - used) {
                return HTTP_REQUEST_ENTITY_TOO_LARGE;
            }
            memcpy(buf + used, chunk, (apr_size_t)got);
            used += (apr_size_t)got;
        }
    }
    buf[used] = '\0';
    *body = buf;
    *len = used;
    return OK;
}
