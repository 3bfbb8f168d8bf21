/*
 * Client ID Metadata Documents (what MCP 2025-11-25 prefers over dynamic
 * registration): a client_id that is an https URL names a JSON document,
 * published by the client, describing it.
 *
 * It is fetched with libcurl: short timeouts, a small size cap, no
 * redirects, and never from a loopback, private, link-local or otherwise
 * internal address (checked on the address actually connected to, so DNS
 * cannot smuggle one in) unless MCPClientMetadataAllowPrivate is on for
 * tests.  A good document is kept in the socache as long as its
 * Cache-Control max-age says (at most a day); a failure is never cached.
 */
#include <httpd.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <apr_strings.h>
#include <http_log.h>
#include <curl/curl.h>

#include "mcp_common.h"
#include "mcp_as.h"

#define CIMD_MAX_SIZE      (16 * 1024)
#define CIMD_TIMEOUT_MS    5000
#define CIMD_CONNECT_MS    3000
#define CIMD_MAX_AGE       86400

typedef struct {
    apr_pool_t *pool;
    char *body;
    apr_size_t len;
    int too_large;
    int allow_private;
    int refused_address;
    long max_age;          /* -1: do not cache */
} fetch_state;

void mcp_as_cimd_global_init(apr_pool_t *pconf)
{
    /* before any thread exists (post_config, in the parent) */
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

int mcp_as_cimd_is_url(const char *client_id)
{
    return strncmp(client_id, "https://", 8) == 0
        || strncmp(client_id, "http://", 7) == 0;
}

/* Loopback, private, link-local, CGNAT, multicast, unspecified... */
static int address_is_internal(const struct sockaddr *address)
{
    if (address->sa_family == AF_INET) {
        const unsigned char *ip = (const unsigned char *)
            &((const struct sockaddr_in *)address)->sin_addr;
        return ip[0] == 0 || ip[0] == 10 || ip[0] == 127
            || (ip[0] == 100 && (ip[1] & 0xc0) == 64)
            || (ip[0] == 169 && ip[1] == 254)
            || (ip[0] == 172 && (ip[1] & 0xf0) == 16)
            || (ip[0] == 192 && ip[1] == 168)
            || (ip[0] == 192 && ip[1] == 0 && ip[2] == 0)
            || (ip[0] == 198 && (ip[1] & 0xfe) == 18)
            || ip[0] >= 224;
    }
    if (address->sa_family == AF_INET6) {
        const struct in6_addr *ip6 =
            &((const struct sockaddr_in6 *)address)->sin6_addr;
        const unsigned char *b = ip6->s6_addr;
        if (IN6_IS_ADDR_V4MAPPED(ip6) || IN6_IS_ADDR_V4COMPAT(ip6)) {
            struct sockaddr_in v4;
            memset(&v4, 0, sizeof(v4));
            v4.sin_family = AF_INET;
            memcpy(&v4.sin_addr, b + 12, 4);
            return address_is_internal((struct sockaddr *)&v4);
        }
        return IN6_IS_ADDR_LOOPBACK(ip6) || IN6_IS_ADDR_UNSPECIFIED(ip6)
            || IN6_IS_ADDR_LINKLOCAL(ip6) || IN6_IS_ADDR_SITELOCAL(ip6)
            || IN6_IS_ADDR_MULTICAST(ip6) || (b[0] & 0xfe) == 0xfc;
    }
    return 1;
}

static curl_socket_t open_socket(void *data, curlsocktype purpose,
                                 struct curl_sockaddr *address)
{
    fetch_state *state = data;

    if (purpose != CURLSOCKTYPE_IPCXN
        || (!state->allow_private && address_is_internal(&address->addr))) {
        state->refused_address = 1;
        return CURL_SOCKET_BAD;
    }
    return socket(address->family, address->socktype, address->protocol);
}

static size_t write_body(char *data, size_t size, size_t count, void *arg)
{
    fetch_state *state = arg;
    size_t len = size * count;

    if (state->len + len > CIMD_MAX_SIZE) {
        state->too_large = 1;
        return 0;
    }
    memcpy(state->body + state->len, data, len);
    state->len += len;
    return len;
}

/* RFC 9111 §5.2.2: max-age; no-store and no-cache mean no caching here. */
static size_t read_header(char *data, size_t size, size_t count, void *arg)
{
    fetch_state *state = arg;
    size_t len = size * count;
    char *line = apr_pstrndup(state->pool, data, len);

    if (strncasecmp(line, "Cache-Control:", 14) == 0) {
        char *value = line + 14;
        if (strstr(value, "no-store") || strstr(value, "no-cache")
            || strstr(value, "private")) {
            state->max_age = -1;
        }
        else if ((value = strstr(value, "max-age=")) != NULL
                 && state->max_age != -1) {
            state->max_age = atol(value + 8);
        }
    }
    return len;
}

static int fetch(request_rec *r, mcp_as_server_conf *conf, const char *url,
                 fetch_state *state, const char **error)
{
    CURL *curl = curl_easy_init();
    char curl_error[CURL_ERROR_SIZE] = "";
    long status = 0;
    char *type = NULL;
    CURLcode rc;

    if (curl == NULL) {
        *error = "cannot start an HTTP client";
        return MCP_ERROR;
    }
    state->pool = r->pool;
    state->body = apr_palloc(r->pool, CIMD_MAX_SIZE + 1);
    state->allow_private = conf->cimd_allow_private;
    state->max_age = 0;
    curl_easy_setopt(curl, CURLOPT_URL, url);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR,
                     conf->cimd_allow_private ? "http,https" : "https");
#else
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS, conf->cimd_allow_private
                     ? (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS)
                     : (long)CURLPROTO_HTTPS);
#endif
    if (conf->cimd_ca_file != NULL) {
        curl_easy_setopt(curl, CURLOPT_CAINFO, conf->cimd_ca_file);
    }
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long)CIMD_TIMEOUT_MS);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, (long)CIMD_CONNECT_MS);
    curl_easy_setopt(curl, CURLOPT_MAXFILESIZE, (long)CIMD_MAX_SIZE);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, write_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, state);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, read_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, state);
    curl_easy_setopt(curl, CURLOPT_OPENSOCKETFUNCTION, open_socket);
    curl_easy_setopt(curl, CURLOPT_OPENSOCKETDATA, state);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, curl_error);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "mod_mcp_as");
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, NULL);
    rc = curl_easy_perform(curl);
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(curl, CURLINFO_CONTENT_TYPE, &type);
    if (rc == CURLE_OK && type != NULL) {
        type = apr_pstrdup(r->pool, type);
    }
    curl_easy_cleanup(curl);
    if (state->refused_address) {
        *error = "its host resolves to a loopback, private or link-local "
                 "address";
        return MCP_ERROR;
    }
    if (state->too_large || rc == CURLE_FILESIZE_EXCEEDED) {
        *error = "the document is larger than 16 KiB";
        return MCP_ERROR;
    }
    if (rc != CURLE_OK) {
        *error = apr_psprintf(r->pool, "cannot fetch it: %s",
                              curl_error[0] ? curl_error
                                            : curl_easy_strerror(rc));
        return MCP_ERROR;
    }
    if (status != 200) {
        *error = apr_psprintf(r->pool, "fetching it answered HTTP %ld (no "
                              "redirects are followed)", status);
        return MCP_ERROR;
    }
    if (type == NULL || strncasecmp(type, "application/json", 16) != 0) {
        *error = "the document is not application/json";
        return MCP_ERROR;
    }
    state->body[state->len] = '\0';
    return MCP_OK;
}

static int url_acceptable(request_rec *r, mcp_as_server_conf *conf,
                          const char *url, const char **error)
{
    apr_uri_t parsed;

    if (strlen(url) > 2048 || strchr(url, '#') != NULL
        || apr_uri_parse(r->pool, url, &parsed) != APR_SUCCESS
        || parsed.hostname == NULL || parsed.user != NULL
        || parsed.password != NULL) {
        *error = "it is not a valid URL";
        return 0;
    }
    if (strcmp(parsed.scheme, "https") != 0 && !conf->cimd_allow_private) {
        *error = "a client_id URL must be https";
        return 0;
    }
    /* the document is at a path, never the bare origin */
    if (parsed.path == NULL || strcmp(parsed.path, "/") == 0
        || strstr(parsed.path, "/./") || strstr(parsed.path, "/../")) {
        *error = "a client_id URL must have a path, without dot segments";
        return 0;
    }
    return 1;
}

int mcp_as_cimd_fetch(request_rec *r, mcp_as_server_conf *conf,
                      const char *client_id, mcp_as_client **client,
                      const char **error)
{
    const unsigned char *key = mcp_as_cache_key(r->pool, "cimd", client_id);
    fetch_state state;
    char *cached;

    if (!url_acceptable(r, conf, client_id, error)) {
        return MCP_ERROR;
    }
    if (mcp_as_cache_get(r, key, &cached) == MCP_OK) {
        return mcp_as_cimd_parse(r->pool, client_id, cached, strlen(cached),
                                 client, error);
    }
    memset(&state, 0, sizeof(state));
    if (fetch(r, conf, client_id, &state, error) != MCP_OK
        || mcp_as_cimd_parse(r->pool, client_id, state.body, state.len, client,
                             error)
           != MCP_OK) {
        return MCP_ERROR;
    }
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, APLOGNO(30090)
                  "fetched the client metadata document %s (max-age %ld)",
                  client_id, state.max_age);
    if (state.max_age > 0 && strlen(state.body) == state.len) {
        mcp_as_cache_store(r, key, state.body, apr_time_now()
            + apr_time_from_sec(state.max_age > CIMD_MAX_AGE ? CIMD_MAX_AGE
                                                             : state.max_age));
    }
    return MCP_OK;
}
