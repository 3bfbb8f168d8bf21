/*
 * Per-client rate limits (MCPClientRateLimit COUNT SECONDS): at most COUNT
 * requests per SECONDS from one client_id at the token, revocation and
 * introspection endpoints (once the client has authenticated) and at the
 * authorization endpoint (once the client and its redirect URI are
 * verified).  This is the part of rate limiting that needs OAuth
 * knowledge; limits per client address belong in front of the module
 * (mod_qos, see conf/mcp_as-ratelimit.conf).
 *
 * The limiter is GCRA, the generic cell rate algorithm (ITU-T I.371, the
 * "virtual scheduling" form): one timestamp per client, the theoretical
 * arrival time (TAT) of its next request.  A request at `now` conforms when
 * TAT - now <= period - interval, where interval = period / COUNT; it then
 * moves TAT to max(TAT, now) + interval.  COUNT requests may come at once,
 * after which they are spaced by the interval, and a refused request costs
 * nothing, so a client that waits the Retry-After it was given gets in.
 *
 * The timestamp lives in the server's socache (MCPCache), so every process
 * shares it, and with memcache every node; the read-modify-write runs under
 * the cache mutex (shmcb).  Counting starts only after the client is known
 * and, for confidential clients, authenticated: counting unauthenticated
 * attempts against a client_id would let anybody who knows it lock that
 * client out (failed authentication is limited per address instead).
 */
#include <httpd.h>
#include <http_protocol.h>
#include <apr_strings.h>

#include "mcp_common.h"
#include "mcp_httpd.h"
#include "mcp_as.h"
#include "mcp_as_authorize.h"

typedef struct {
    const mcp_as_server_conf *conf;
    apr_time_t now;
    apr_time_t retry_after;   /* > 0: refused, wait this long */
} rate_check;

static const char *gcra(request_rec *r, const char *old, void *baton,
                        apr_time_t *expiry)
{
    rate_check *check = baton;
    apr_time_t period = apr_time_from_sec(check->conf->rate_period);
    apr_time_t interval = period / check->conf->rate_count;
    apr_time_t tat = check->now;
    char *end;

    if (old != NULL) {
        apr_int64_t stored = apr_strtoi64(old, &end, 10);
        if (*end == '\0' && stored > tat) {
            tat = stored;
        }
    }
    if (tat - check->now > period - interval) {
        check->retry_after = tat - check->now - (period - interval);
        return NULL;
    }
    tat += interval;
    /* once TAT has passed, the entry says nothing an empty one would not */
    *expiry = tat;
    return apr_psprintf(r->pool, "%" APR_TIME_T_FMT, tat);
}

int mcp_as_rate_limit(request_rec *r, mcp_as_server_conf *conf,
                      const char *client_id, int page, int *reply)
{
    rate_check check;
    apr_int64_t seconds;
    const char *wait;

    if (conf->rate_count == 0) {
        return MCP_OK;
    }
    check.conf = conf;
    check.now = apr_time_now();
    check.retry_after = 0;
    /* the issuer keeps two authorization servers' clients apart */
    if (mcp_as_cache_update(r, mcp_as_cache_key(r->pool, "ratelimit",
                                apr_pstrcat(r->pool, conf->issuer, " ",
                                            client_id, NULL)),
                            gcra, &check) != MCP_OK) {
        /* The cache said why; a limiter that cannot count lets the
         * request through rather than refuse every client. */
        return MCP_OK;
    }
    if (check.retry_after == 0) {
        return MCP_OK;
    }
    /* whole seconds, rounded up: a client that waits this long gets in */
    seconds = (check.retry_after + APR_USEC_PER_SEC - 1) / APR_USEC_PER_SEC;
    wait = apr_psprintf(r->pool, "%" APR_INT64_T_FMT, seconds);
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, APLOGNO(30101)
                  "client %s: over MCPClientRateLimit (%d per %" APR_TIME_T_FMT
                  " s) at %s; answered 429, retry after %s s",
                  mcp_printable(r->pool, client_id, 128), conf->rate_count,
                  conf->rate_period, r->uri, wait);
    apr_table_setn(r->err_headers_out, "Retry-After", wait);
    if (page) {
        *reply = mcp_as_error_page(r, HTTP_TOO_MANY_REQUESTS,
            apr_psprintf(r->pool, "This application has made too many "
                         "requests. Please try again in %s seconds.", wait));
    }
    else {
        /* OAuth has no error code for this; the status and Retry-After
         * are what clients act on (RFC 6585 §4). */
        *reply = mcp_reply_oauth_error(r, HTTP_TOO_MANY_REQUESTS,
            "temporarily_unavailable", apr_psprintf(r->pool,
                "this client made more than %d requests in %" APR_TIME_T_FMT
                " s; retry after %s s", conf->rate_count, conf->rate_period,
                wait));
    }
    return MCP_ERROR;
}
