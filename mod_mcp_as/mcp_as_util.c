/* Small helpers the endpoints share: scopes, form bodies, audit lines. */
#include <httpd.h>
#include <stdarg.h>
#include <string.h>
#include <errno.h>
#include <apr_strings.h>
#include <http_log.h>
#include <http_protocol.h>

#include "mcp_common.h"
#include "mcp_httpd.h"
#include "mcp_as.h"

apr_time_t mcp_as_now(void)
{
    return apr_time_sec(apr_time_now());
}

const char *mcp_as_now_str(apr_pool_t *pool)
{
    return apr_psprintf(pool, "%" APR_TIME_T_FMT, mcp_as_now());
}

apr_status_t mcp_as_mutex_lock(apr_global_mutex_t *mutex)
{
    apr_status_t rv;
    int tries = 0;

    /*
     * With fcntl() locks (`Mutex file:`, which Debian's apache2.conf makes
     * the default for every mutex) Linux detects deadlocks per process,
     * not per thread: process A's thread holding the store's writer lock
     * while another of A's threads waits for the cache lock that process
     * B holds, with a thread of B asking for the writer lock, looks like
     * a cycle and that request gets EDEADLK, though every holder will let
     * go.  Measured: 1-3 code exchanges in 1,000 answered 503 under
     * bench/run.  Asking again is right; a real error is not retried.
     */
    while ((rv = apr_global_mutex_lock(mutex)) != APR_SUCCESS
           && rv == APR_FROM_OS_ERROR(EDEADLK) && ++tries < 1000) {
        apr_sleep(100);
    }
    return rv;
}

int mcp_as_unavailable(request_rec *r)
{
    apr_table_setn(r->err_headers_out, "Retry-After", "1");
    return mcp_reply_oauth_error(r, HTTP_SERVICE_UNAVAILABLE,
                                 "temporarily_unavailable",
                                 "the authorization server's store is busy "
                                 "or unavailable; nothing was changed, "
                                 "try again");
}

int mcp_as_scope_subset(apr_pool_t *pool, const char *want, const char *have)
{
    apr_array_header_t *wanted = mcp_as_scope_split(pool, want);
    apr_array_header_t *had = mcp_as_scope_split(pool, have);
    int i, j;

    for (i = 0; i < wanted->nelts; i++) {
        int found = 0;
        for (j = 0; j < had->nelts && !found; j++) {
            found = strcmp(APR_ARRAY_IDX(wanted, i, const char *),
                           APR_ARRAY_IDX(had, j, const char *)) == 0;
        }
        if (!found) {
            return 0;
        }
    }
    return 1;
}

int mcp_as_read_form(request_rec *r, apr_table_t **form, const char **error,
                     int *status)
{
    const char *type = apr_table_get(r->headers_in, "Content-Type");
    char *body;
    apr_size_t len;
    int rc;

    if (type == NULL
        || strncasecmp(type, "application/x-www-form-urlencoded", 33) != 0
        || (type[33] != '\0' && type[33] != ';' && type[33] != ' ')) {
        *error = "the body must be application/x-www-form-urlencoded";
        *status = HTTP_BAD_REQUEST;
        return MCP_ERROR;
    }
    rc = mcp_read_body(r, MCP_AS_FORM_MAX, &body, &len);
    if (rc != OK) {
        *error = rc == HTTP_REQUEST_ENTITY_TOO_LARGE
            ? "the request body is too large" : "cannot read the request body";
        *status = rc == HTTP_REQUEST_ENTITY_TOO_LARGE ? rc : HTTP_BAD_REQUEST;
        return MCP_ERROR;
    }
    if (strlen(body) != len) {
        *error = "the request body contains a NUL byte";
        *status = HTTP_BAD_REQUEST;
        return MCP_ERROR;
    }
    if (mcp_form_parse(r->pool, body, len, form, error) != MCP_OK) {
        *status = HTTP_BAD_REQUEST;
        return MCP_ERROR;
    }
    return MCP_OK;
}

void mcp_as_audit(request_rec *r, const char *event, const char *fmt, ...)
{
    va_list ap;
    char *details, *c;

    va_start(ap, fmt);
    details = apr_pvsprintf(r->pool, fmt, ap);
    va_end(ap);
    for (c = details; *c; c++) {
        if ((unsigned char)*c < 0x20 || *c == 0x7f) {
            *c = '?';
        }
    }
    /* one line per event; values come from validated input, and control
     * characters are replaced so that a line cannot be forged */
    ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, r, APLOGNO(30050)
                  "audit event=%s %.2048s", event, details);
}
