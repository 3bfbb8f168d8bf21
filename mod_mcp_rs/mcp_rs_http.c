/*
 * Outgoing HTTP for keys, issuer metadata and introspection: libcurl with a
 * total and a connect timeout, a cap on the body, no redirects (a key
 * endpoint that redirects is misconfigured, and following it would let a
 * third party choose our keys), http and https only.
 */
#include <string.h>
#include <apr_strings.h>
#include <curl/curl.h>

#include "mcp_common.h"
#include "mcp_rs.h"

typedef struct {
    apr_pool_t *pool;
    char *data;
    apr_size_t len, capacity, max;
    int too_big;
} body_buffer;

static size_t collect(char *chunk, size_t size, size_t count, void *data)
{
    body_buffer *buffer = data;
    apr_size_t len = size * count;

    if (len > buffer->max - buffer->len) {
        buffer->too_big = 1;
        return 0;                       /* makes curl stop with an error */
    }
    if (buffer->len + len + 1 > buffer->capacity) {
        apr_size_t capacity = buffer->capacity ? buffer->capacity : 4096;
        char *bigger;
        while (capacity < buffer->len + len + 1) {
            capacity *= 2;
        }
        bigger = apr_palloc(buffer->pool, capacity);
        if (buffer->len > 0) {
            memcpy(bigger, buffer->data, buffer->len);
        }
        buffer->data = bigger;
        buffer->capacity = capacity;
    }
    memcpy(buffer->data + buffer->len, chunk, len);
    buffer->len += len;
    buffer->data[buffer->len] = '\0';
    return len;
}

int mcp_rs_http_fetch(apr_pool_t *pool, const mcp_rs_http_request *request,
                      long *status, char **body, apr_size_t *len,
                      const char **error)
{
    body_buffer buffer = { pool, NULL, 0, 0, request->max_bytes, 0 };
    struct curl_slist *headers = NULL;
    char curl_error[CURL_ERROR_SIZE] = "";
    CURL *curl = curl_easy_init();
    CURLcode rc;

    if (curl == NULL) {
        *error = "cannot create a curl handle";
        return MCP_ERROR;
    }
    headers = curl_slist_append(headers, "Accept: application/json");
    curl_easy_setopt(curl, CURLOPT_URL, request->url);
    /* threads: no signals (and so no alarm-based DNS timeouts) */
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, request->timeout_ms);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, request->timeout_ms);
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
#else
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS, CURLPROTO_HTTP | CURLPROTO_HTTPS);
#endif
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "mod_mcp_rs");
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &buffer);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, curl_error);
    if (request->post_body != NULL) {
        headers = curl_slist_append(headers,
            "Content-Type: application/x-www-form-urlencoded");
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request->post_body);
    }
    if (request->user != NULL) {
        curl_easy_setopt(curl, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(curl, CURLOPT_USERNAME, request->user);
        curl_easy_setopt(curl, CURLOPT_PASSWORD, request->password);
    }
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);

    rc = curl_easy_perform(curl);
    if (rc == CURLE_OK) {
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, status);
    }
    curl_easy_cleanup(curl);
    curl_slist_free_all(headers);
    if (buffer.too_big) {
        *error = apr_psprintf(pool, "the answer is larger than %" APR_SIZE_T_FMT
                              " bytes", request->max_bytes);
        return MCP_ERROR;
    }
    if (rc != CURLE_OK) {
        *error = apr_pstrdup(pool, curl_error[0] ? curl_error
                                                 : curl_easy_strerror(rc));
        return MCP_ERROR;
    }
    *body = buffer.data ? buffer.data : apr_pstrdup(pool, "");
    *len = buffer.len;
    return MCP_OK;
}
