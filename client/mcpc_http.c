/*
 * The libcurl wrapper: one easy handle for the whole run (connection
 * reuse), TLS verification always on, no redirects followed, bodies capped,
 * only https URLs or http on a loopback host.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <apr_lib.h>
#include <apr_strings.h>
#include <curl/curl.h>

#include "mcp_common.h"
#include "mcpc.h"

/* No reply we expect (metadata, tokens, tool results) comes near this. */
#define MCPC_MAX_BODY (8 * 1024 * 1024)

struct mcpc_http_t {
    CURL *curl;
};

typedef struct {
    apr_pool_t *pool;
    mcpc_response_t *response;
    struct {
        char *data;
        apr_size_t len, size;
    } body;
    int too_big;
} exchange_t;

int mcpc_http_init(mcpc_t *c)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        return mcpc_fail(c, MCPC_EXIT_NETWORK, "cannot initialise libcurl");
    }
    c->http = apr_pcalloc(c->pool, sizeof(*c->http));
    c->http->curl = curl_easy_init();
    if (c->http->curl == NULL) {
        return mcpc_fail(c, MCPC_EXIT_NETWORK, "cannot initialise libcurl");
    }
    return MCP_OK;
}

void mcpc_http_cleanup(mcpc_t *c)
{
    if (c->http != NULL && c->http->curl != NULL) {
        curl_easy_cleanup(c->http->curl);
        c->http->curl = NULL;
    }
    curl_global_cleanup();
}

static size_t on_body(char *data, size_t size, size_t count, void *arg)
{
    exchange_t *x = arg;
    apr_size_t n = size * count;

    if (x->body.len + n > MCPC_MAX_BODY) {
        x->too_big = 1;
        return 0;                       /* aborts the transfer */
    }
    if (x->body.len + n + 1 > x->body.size) {
        apr_size_t size_new = x->body.size ? x->body.size * 2 : 4096;
        char *grown;
        while (size_new < x->body.len + n + 1) {
            size_new *= 2;
        }
        grown = apr_palloc(x->pool, size_new);
        if (x->body.len) {
            memcpy(grown, x->body.data, x->body.len);
        }
        x->body.data = grown;
        x->body.size = size_new;
    }
    memcpy(x->body.data + x->body.len, data, n);
    x->body.len += n;
    x->body.data[x->body.len] = '\0';
    return n;
}

static size_t on_header(char *data, size_t size, size_t count, void *arg)
{
    exchange_t *x = arg;
    apr_size_t n = size * count, name_len;
    const char *colon;
    char *name, *value;

    /* A new status line (after 100 Continue, say) starts a new header set. */
    if (n >= 5 && strncmp(data, "HTTP/", 5) == 0) {
        apr_table_clear(x->response->headers);
        return n;
    }
    colon = memchr(data, ':', n);
    if (colon == NULL) {
        return n;
    }
    name_len = (apr_size_t)(colon - data);
    name = apr_pstrndup(x->pool, data, name_len);
    colon++;
    while ((apr_size_t)(colon - data) < n && (*colon == ' ' || *colon == '\t')) {
        colon++;
    }
    value = apr_pstrndup(x->pool, colon, n - (apr_size_t)(colon - data));
    /* trim CRLF and trailing whitespace */
    {
        apr_size_t len = strlen(value);
        while (len > 0 && apr_isspace((unsigned char)value[len - 1])) {
            value[--len] = '\0';
        }
    }
    apr_table_addn(x->response->headers, name, value);
    return n;
}

int mcpc_http_request(mcpc_t *c, const char *method, const char *url,
                      const apr_array_header_t *headers,
                      const char *body, apr_size_t body_len,
                      const char *basic_user, const char *basic_password,
                      mcpc_response_t **out)
{
    CURL *curl = c->http->curl;
    struct curl_slist *list = NULL;
    exchange_t x;
    CURLcode rc;
    char curl_error[CURL_ERROR_SIZE] = "";
    const char *content_type;
    int i;

    /* MCP authorization §"Communication Security": https everywhere but loopback. */
    if (!mcp_uri_is_web(c->pool, url, 0, NULL)) {
        return mcpc_fail(c, MCPC_EXIT_REFUSED,
                         "refusing %s: only https URLs, or http on a loopback host, "
                         "are allowed", mcp_printable(c->pool, url, 200));
    }
    memset(&x, 0, sizeof(x));
    x.pool = c->pool;
    x.response = apr_pcalloc(c->pool, sizeof(*x.response));
    x.response->headers = apr_table_make(c->pool, 8);

    curl_easy_reset(curl);
    curl_easy_setopt(curl, CURLOPT_URL, url);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
#else
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
    if (c->cacert != NULL) {
        curl_easy_setopt(curl, CURLOPT_CAINFO, c->cacert);
    }
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, c->timeout < 10 ? c->timeout : 10L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, c->timeout);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "mcp-client/" PACKAGE_VERSION);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, curl_error);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &x);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &x);
    if (strcmp(method, "GET") == 0) {
        curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
    }
    else if (body == NULL) {
        curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    }
    else {
        if (strcmp(method, "POST") != 0) {
            curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
        }
        curl_easy_setopt(curl, CURLOPT_POST, 1L);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body ? body : "");
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
    }
    if (basic_user != NULL) {
        curl_easy_setopt(curl, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(curl, CURLOPT_USERNAME, basic_user);
        curl_easy_setopt(curl, CURLOPT_PASSWORD, basic_password ? basic_password : "");
    }
    /* curl's "Expect: 100-continue" only slows small POSTs down */
    list = curl_slist_append(list, "Expect:");
    for (i = 0; headers != NULL && i < headers->nelts; i++) {
        list = curl_slist_append(list, APR_ARRAY_IDX(headers, i, const char *));
    }
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);

    rc = curl_easy_perform(curl);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(list);
    if (rc != CURLE_OK) {
        if (x.too_big) {
            return mcpc_fail(c, MCPC_EXIT_PROTOCOL, "%s %s: the reply is larger than %d bytes",
                             method, url, MCPC_MAX_BODY);
        }
        return mcpc_fail(c, MCPC_EXIT_NETWORK, "%s %s: %s", method, url,
                         curl_error[0] ? curl_error : curl_easy_strerror(rc));
    }
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &x.response->status);
    x.response->body = x.body.data ? x.body.data : apr_pstrdup(c->pool, "");
    x.response->body_len = x.body.len;
    content_type = apr_table_get(x.response->headers, "Content-Type");
    if (content_type != NULL) {
        char *ct = apr_pstrdup(c->pool, content_type), *semi = strchr(ct, ';'), *p;
        if (semi != NULL) {
            *semi = '\0';
        }
        for (p = ct; *p; p++) {
            *p = (char)apr_tolower((unsigned char)*p);
        }
        while (p > ct && apr_isspace((unsigned char)p[-1])) {
            *--p = '\0';
        }
        x.response->content_type = ct;
    }
    mcpc_trace(c, "%s %s -> %ld", method, url, x.response->status);
    *out = x.response;
    return MCP_OK;
}

typedef struct {
    apr_pool_t *pool;
    const char *joined;
} join_t;

static int join_one(void *arg, const char *key, const char *value)
{
    join_t *j = arg;

    (void)key;
    j->joined = j->joined ? apr_pstrcat(j->pool, j->joined, ", ", value, NULL) : value;
    return 1;
}

const char *mcpc_header(apr_pool_t *pool, const mcpc_response_t *response,
                        const char *name)
{
    join_t j = { pool, NULL };

    apr_table_do(join_one, &j, response->headers, name, NULL);
    return j.joined;
}

int mcpc_json_reply(mcpc_t *c, const mcpc_response_t *response,
                    const char *what, json_t **out)
{
    const char *error = NULL;

    if (mcp_json_parse_object(c->pool, response->body, response->body_len,
                              out, &error) != MCP_OK) {
        return mcpc_fail(c, MCPC_EXIT_PROTOCOL, "%s is not a JSON object: %s",
                         what, error ? error : "parse error");
    }
    return MCP_OK;
}
