/*
 * Request-level helpers both modules use: JSON replies, OAuth error
 * replies, CORS.  Linked into the modules only (the client has no httpd).
 */
#ifndef MCP_HTTPD_H
#define MCP_HTTPD_H

#include <httpd.h>
#include <jansson.h>

/* Sends `body` (not consumed) with `status`, as application/json. */
int mcp_reply_json(request_rec *r, int status, const json_t *body);

/*
 * RFC 6749 §5.2 style error object {"error", "error_description"}, with
 * the description stripped of control characters.
 */
int mcp_reply_oauth_error(request_rec *r, int status, const char *error,
                          const char *description);

/*
 * CORS for endpoints browser-based MCP clients call: any origin (they carry
 * no cookies), WWW-Authenticate exposed.  Returns 1 and answers the request
 * with 204 when it was a preflight.
 */
int mcp_cors(request_rec *r, const char *methods);

/*
 * mcp_cors for a read-only document, then anything but GET refused with
 * 405 and Allow.  Returns 1 with the reply in *reply when the request has
 * been answered (a preflight or another method); `what` names the
 * document in the error ("the JWKS endpoint").
 */
int mcp_cors_get_only(request_rec *r, const char *what, int *reply);

/* Reads a request body of at most `limit` bytes; HTTP_REQUEST_ENTITY_TOO_LARGE past that. */
int mcp_read_body(request_rec *r, apr_size_t limit, char **body,
                  apr_size_t *len);

#endif /* MCP_HTTPD_H */
