/*
 * Authorization code with PKCE (RFC 7636, S256 only), `state`, and the
 * resource indicator (RFC 8707).  The redirect comes back to a loopback
 * listener (RFC 8252 §7.3: 127.0.0.1, a port of our choosing, /callback),
 * reached by the user's browser, or, with --login, by mcp-client itself
 * logging in and consenting the way a browser would.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <apr_lib.h>
#include <apr_strings.h>

#include "mcp_common.h"
#include "mcpc.h"

/* ------------------------------------------------------------ pure helpers */

int mcpc_pkce_new(apr_pool_t *pool, char **verifier, char **challenge)
{
    /* RFC 7636 §4.1: 32 random octets, base64url: 43 characters */
    if (mcp_random_b64url(pool, 32, verifier) != MCP_OK) {
        return MCP_ERROR;
    }
    /* RFC 7636 §4.2: BASE64URL(SHA256(ASCII(code_verifier))) */
    *challenge = mcp_sha256_b64url(pool, *verifier);
    return MCP_OK;
}

static int scope_has(const char *list, const char *scope, apr_size_t len)
{
    const char *p = list;

    while (p != NULL && *p) {
        const char *end = strchr(p, ' ');
        apr_size_t n = end ? (apr_size_t)(end - p) : strlen(p);
        if (n == len && strncmp(p, scope, len) == 0) {
            return 1;
        }
        p = end ? end + 1 : NULL;
    }
    return 0;
}

/* The next space-separated scope of *p (length *len), or NULL at the end. */
static const char *next_scope(const char **p, apr_size_t *len)
{
    const char *start = *p, *end;

    while (start != NULL && *start == ' ') {
        start++;
    }
    if (start == NULL || *start == '\0') {
        return NULL;
    }
    end = strchr(start, ' ');
    *len = end ? (apr_size_t)(end - start) : strlen(start);
    *p = end;
    return start;
}

const char *mcpc_scope_union(apr_pool_t *pool, const char *a, const char *b)
{
    const char *lists[2] = { a, b };
    char *out = apr_pstrdup(pool, "");
    const char *p, *scope;
    apr_size_t n;
    int i;

    for (i = 0; i < 2; i++) {
        p = lists[i];
        while ((scope = next_scope(&p, &n)) != NULL) {
            if (!scope_has(out, scope, n)) {
                out = apr_pstrcat(pool, out, *out ? " " : "",
                                  apr_pstrndup(pool, scope, n), NULL);
            }
        }
    }
    return *out ? out : NULL;
}

int mcpc_scope_covers(apr_pool_t *pool, const char *have, const char *needed)
{
    const char *p = needed, *scope;
    apr_size_t n;

    (void)pool;
    while ((scope = next_scope(&p, &n)) != NULL) {
        if (!scope_has(have, scope, n)) {
            return 0;
        }
    }
    return 1;
}

/* ------------------------------------------------------------ the loopback listener */

int mcpc_redirect_uri(mcpc_t *c, int preferred_port, const char **uri)
{
    struct sockaddr_in address;
    socklen_t length = sizeof(address);
    int one = 1;

    if (c->listener < 0) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            return mcpc_fail(c, MCPC_EXIT_AUTH, "cannot open a loopback socket: %s",
                             strerror(errno));
        }
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        memset(&address, 0, sizeof(address));
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        address.sin_port = htons((unsigned short)preferred_port);
        if (bind(fd, (struct sockaddr *)&address, sizeof(address)) != 0) {
            /* that port is taken now: any port will do (and means a new registration) */
            address.sin_port = 0;
            if (preferred_port == 0
                || bind(fd, (struct sockaddr *)&address, sizeof(address)) != 0) {
                close(fd);
                return mcpc_fail(c, MCPC_EXIT_AUTH, "cannot bind a loopback socket: %s",
                                 strerror(errno));
            }
        }
        if (listen(fd, 8) != 0
            || getsockname(fd, (struct sockaddr *)&address, &length) != 0) {
            close(fd);
            return mcpc_fail(c, MCPC_EXIT_AUTH, "cannot listen on a loopback socket: %s",
                             strerror(errno));
        }
        c->listener = fd;
        c->listener_port = ntohs(address.sin_port);
    }
    *uri = apr_psprintf(c->pool, "http://127.0.0.1:%d/callback", c->listener_port);
    return MCP_OK;
}

void mcpc_listener_close(mcpc_t *c)
{
    if (c->listener >= 0) {
        close(c->listener);
        c->listener = -1;
    }
}

static void send_all(int fd, const char *text)
{
    apr_size_t len = strlen(text), done = 0;

    while (done < len) {
        ssize_t n = send(fd, text + done, len - done, MSG_NOSIGNAL);
        if (n <= 0) {
            if (n < 0 && errno == EINTR) {
                continue;
            }
            return;
        }
        done += (apr_size_t)n;
    }
}

static const char page[] =
    "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>mcp-client</title></head>\n"
    "<body><h1>mcp-client</h1><p>The authorization server has answered. "
    "You can close this window; the terminal says how it went.</p></body></html>\n";

/*
 * Reads one request head from `fd`; on "GET /callback?..." fills *query and
 * answers with the page, on anything else answers 404.
 */
static int serve_one(mcpc_t *c, int fd, char **query)
{
    char buffer[16384];
    apr_size_t len = 0;
    char *line_end, *target, *space;
    time_t deadline = time(NULL) + 10;

    *query = NULL;
    for (;;) {
        struct pollfd waiting = { fd, POLLIN, 0 };
        ssize_t n;
        if (len >= sizeof(buffer) - 1 || time(NULL) > deadline
            || poll(&waiting, 1, 1000) < 0) {
            return MCP_ERROR;
        }
        if (!(waiting.revents & (POLLIN | POLLHUP))) {
            continue;
        }
        n = recv(fd, buffer + len, sizeof(buffer) - 1 - len, 0);
        if (n <= 0) {
            return MCP_ERROR;
        }
        len += (apr_size_t)n;
        buffer[len] = '\0';
        if (strstr(buffer, "\r\n\r\n") != NULL || strstr(buffer, "\n\n") != NULL) {
            break;
        }
    }
    line_end = strpbrk(buffer, "\r\n");
    if (line_end != NULL) {
        *line_end = '\0';
    }
    if (strncmp(buffer, "GET ", 4) != 0) {
        send_all(fd, "HTTP/1.1 405 Method Not Allowed\r\nAllow: GET\r\n"
                     "Content-Length: 0\r\nConnection: close\r\n\r\n");
        return MCP_OK;
    }
    target = buffer + 4;
    space = strchr(target, ' ');
    if (space != NULL) {
        *space = '\0';
    }
    if (strncmp(target, "/callback", 9) != 0 || (target[9] != '?' && target[9] != '\0')) {
        /* browsers ask for /favicon.ico and the like */
        send_all(fd, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n"
                     "Connection: close\r\n\r\n");
        return MCP_OK;
    }
    *query = apr_pstrdup(c->pool, target[9] == '?' ? target + 10 : "");
    send_all(fd, apr_psprintf(c->pool,
                              "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n"
                              "Cache-Control: no-store\r\nReferrer-Policy: no-referrer\r\n"
                              "Content-Length: %" APR_SIZE_T_FMT "\r\n"
                              "Connection: close\r\n\r\n%s", strlen(page), page));
    return MCP_OK;
}

static int wait_for_callback(mcpc_t *c, char **query)
{
    time_t deadline = time(NULL) + c->wait;

    while (time(NULL) < deadline) {
        struct pollfd waiting = { c->listener, POLLIN, 0 };
        int ready = poll(&waiting, 1, 1000), fd;
        if (ready < 0 && errno != EINTR) {
            break;
        }
        if (ready <= 0) {
            continue;
        }
        fd = accept(c->listener, NULL, NULL);
        if (fd < 0) {
            continue;
        }
        if (serve_one(c, fd, query) == MCP_OK && *query != NULL) {
            close(fd);
            return MCP_OK;
        }
        close(fd);
    }
    return mcpc_fail(c, MCPC_EXIT_AUTH,
                     "no authorization response reached %s within %ld seconds; "
                     "try again (or --wait SECONDS, --no-browser, --login USER:PASS)",
                     apr_psprintf(c->pool, "http://127.0.0.1:%d/callback", c->listener_port),
                     c->wait);
}

/* ------------------------------------------------------------ the browser */

static pid_t open_browser(mcpc_t *c, const char *url)
{
    const char *browser = getenv("BROWSER");
    pid_t pid;

    pid = fork();
    if (pid != 0) {
        return pid;
    }
    /* the child: keep our stdout for the tool's answer */
    dup2(STDERR_FILENO, STDOUT_FILENO);
    if (browser != NULL && *browser != '\0') {
        /* $BROWSER: a ':'-separated list of commands, "%s" for the URL;
         * the URL goes in as "$1", never through the shell's parser */
        char *first = apr_pstrdup(c->pool, browser), *colon = strchr(first, ':');
        char *command, *percent;
        if (colon != NULL) {
            *colon = '\0';
        }
        percent = strstr(first, "%s");
        if (percent != NULL) {
            *percent = '\0';
            command = apr_pstrcat(c->pool, first, "\"$1\"", percent + 2, NULL);
        }
        else {
            command = apr_pstrcat(c->pool, first, " \"$1\"", NULL);
        }
        execl("/bin/sh", "sh", "-c", command, "sh", url, (char *)NULL);
    }
    else {
        execlp("xdg-open", "xdg-open", url, (char *)NULL);
    }
    _exit(127);
}

/* ------------------------------------------------------------ headless login */

static char *html_unescape(apr_pool_t *pool, const char *in, apr_size_t len)
{
    char *out = apr_palloc(pool, len + 1), *o = out;
    apr_size_t i = 0;

    while (i < len) {
        if (in[i] == '&') {
            static const struct { const char *name; char c; } entities[] = {
                { "&amp;", '&' }, { "&quot;", '"' }, { "&lt;", '<' }, { "&gt;", '>' },
                { "&#39;", '\'' }, { "&#x27;", '\'' }, { "&apos;", '\'' }, { "&#34;", '"' },
                { "&#38;", '&' }, { "&#x2F;", '/' }, { "&#47;", '/' }
            };
            apr_size_t k;
            int matched = 0;
            for (k = 0; k < sizeof(entities) / sizeof(entities[0]); k++) {
                apr_size_t n = strlen(entities[k].name);
                if (i + n <= len && strncasecmp(in + i, entities[k].name, n) == 0) {
                    *o++ = entities[k].c;
                    i += n;
                    matched = 1;
                    break;
                }
            }
            if (matched) {
                continue;
            }
        }
        *o++ = in[i++];
    }
    *o = '\0';
    return out;
}

/* The value of attribute `name` in the tag text [tag, end), or NULL. */
static char *attribute(apr_pool_t *pool, const char *tag, const char *end, const char *name)
{
    apr_size_t name_len = strlen(name);
    const char *p = tag;

    while (p < end) {
        const char *value_start, *value_end;
        if (!(apr_isspace((unsigned char)p[0]) && (apr_size_t)(end - p) > name_len
              && strncasecmp(p + 1, name, name_len) == 0)) {
            p++;
            continue;
        }
        p += 1 + name_len;
        while (p < end && apr_isspace((unsigned char)*p)) {
            p++;
        }
        if (p >= end || *p != '=') {
            continue;
        }
        p++;
        while (p < end && apr_isspace((unsigned char)*p)) {
            p++;
        }
        if (p < end && (*p == '"' || *p == '\'')) {
            char quote = *p++;
            value_start = p;
            while (p < end && *p != quote) {
                p++;
            }
            value_end = p;
        }
        else {
            value_start = p;
            while (p < end && !apr_isspace((unsigned char)*p) && *p != '>') {
                p++;
            }
            value_end = p;
        }
        return html_unescape(pool, value_start, (apr_size_t)(value_end - value_start));
    }
    return NULL;
}

/* a bare attribute such as `checked` */
static int tag_has_word(const char *tag, const char *end, const char *word)
{
    apr_size_t n = strlen(word);
    const char *p;

    for (p = tag; p + n < end; p++) {
        if (apr_isspace((unsigned char)p[0]) && strncasecmp(p + 1, word, n) == 0
            && (apr_isspace((unsigned char)p[1 + n]) || p[1 + n] == '>' || p[1 + n] == '/')) {
            return 1;
        }
    }
    return 0;
}

static const char *find_tag(const char *p, const char *end, const char *name)
{
    apr_size_t n = strlen(name);

    for (; p + n + 1 < end; p++) {
        if (p[0] == '<' && strncasecmp(p + 1, name, n) == 0
            && (apr_isspace((unsigned char)p[1 + n]) || p[1 + n] == '>')) {
            return p;
        }
    }
    return NULL;
}

/* +1 for a word that approves, -1 for one that declines, 0 for neither */
static int judge(const char *text)
{
    static const char *const yes[] = { "approve", "allow", "accept", "grant",
                                       "authorize", "consent", "yes", NULL };
    static const char *const no[] = { "deny", "reject", "decline", "cancel", "refuse", NULL };
    char *lower;
    int i;

    if (text == NULL || *text == '\0') {
        return 0;
    }
    lower = strdup(text);
    if (lower == NULL) {
        return 0;
    }
    for (i = 0; lower[i]; i++) {
        lower[i] = (char)apr_tolower((unsigned char)lower[i]);
    }
    for (i = 0; no[i] != NULL; i++) {
        if (strstr(lower, no[i]) != NULL) {
            free(lower);
            return -1;
        }
    }
    for (i = 0; yes[i] != NULL; i++) {
        if (strstr(lower, yes[i]) != NULL) {
            free(lower);
            return 1;
        }
    }
    free(lower);
    return 0;
}

/* A submit button approves by its value, or, without one, by its name. */
static int approving(const char *name, const char *value)
{
    int verdict = judge(value);

    return verdict != 0 ? verdict > 0 : judge(name) > 0;
}

/*
 * The consent page's first POST form: its action and the body a browser
 * would send when the approving button is pressed.
 */
static int consent_form(mcpc_t *c, const mcpc_response_t *response,
                        const char *base, const char **action, const char **body)
{
    const char *html = response->body, *end = html + response->body_len;
    const char *form = html, *form_end, *tag;
    char *form_body = apr_pstrdup(c->pool, "");
    const char *button = NULL;
    apr_uri_t base_uri, resolved;

    for (;;) {
        const char *tag_end, *method;
        form = find_tag(form, end, "form");
        if (form == NULL) {
            return MCP_ERROR;
        }
        tag_end = memchr(form, '>', (apr_size_t)(end - form));
        if (tag_end == NULL) {
            return MCP_ERROR;
        }
        method = attribute(c->pool, form, tag_end, "method");
        if (method != NULL && strcasecmp(method, "post") == 0) {
            *action = attribute(c->pool, form, tag_end, "action");
            break;
        }
        form = tag_end;
    }
    form_end = strstr(form, "</form");
    if (form_end == NULL) {
        form_end = end;
    }
    for (tag = form; tag < form_end; tag++) {
        const char *tag_end, *type, *name, *value;
        int is_input = (tag = find_tag(tag, form_end, "input")) != NULL;
        if (!is_input) {
            break;
        }
        tag_end = memchr(tag, '>', (apr_size_t)(form_end - tag));
        if (tag_end == NULL) {
            break;
        }
        type = attribute(c->pool, tag, tag_end, "type");
        name = attribute(c->pool, tag, tag_end, "name");
        value = attribute(c->pool, tag, tag_end, "value");
        if (name == NULL) {
            continue;
        }
        if (type != NULL && strcasecmp(type, "submit") == 0) {
            if (button == NULL && approving(name, value)) {
                button = apr_pstrcat(c->pool, mcp_url_encode(c->pool, name), "=",
                                     mcp_url_encode(c->pool, value ? value : ""), NULL);
            }
            continue;
        }
        if (type != NULL && (strcasecmp(type, "checkbox") == 0 || strcasecmp(type, "radio") == 0)
            && attribute(c->pool, tag, tag_end, "checked") == NULL
            && !tag_has_word(tag, tag_end, "checked")) {
            continue;
        }
        form_body = apr_pstrcat(c->pool, form_body, *form_body ? "&" : "",
                                mcp_url_encode(c->pool, name), "=",
                                mcp_url_encode(c->pool, value ? value : ""), NULL);
    }
    for (tag = form; button == NULL && tag < form_end; tag++) {
        const char *tag_end, *name, *value;
        tag = find_tag(tag, form_end, "button");
        if (tag == NULL) {
            break;
        }
        tag_end = memchr(tag, '>', (apr_size_t)(form_end - tag));
        if (tag_end == NULL) {
            break;
        }
        name = attribute(c->pool, tag, tag_end, "name");
        value = attribute(c->pool, tag, tag_end, "value");
        if (name != NULL && approving(name, value)) {
            button = apr_pstrcat(c->pool, mcp_url_encode(c->pool, name), "=",
                                 mcp_url_encode(c->pool, value ? value : ""), NULL);
        }
    }
    if (button != NULL) {
        form_body = apr_pstrcat(c->pool, form_body, *form_body ? "&" : "", button, NULL);
    }
    /* resolve the action against the page's URL (an empty action is the page) */
    if (apr_uri_parse(c->pool, base, &base_uri) != APR_SUCCESS) {
        return MCP_ERROR;
    }
    if (*action == NULL || **action == '\0') {
        *action = base;
    }
    else if (strstr(*action, "://") == NULL) {
        resolved = base_uri;
        resolved.query = NULL;
        resolved.fragment = NULL;
        if ((*action)[0] == '/') {
            char *query = strchr(*action, '?');
            resolved.path = apr_pstrdup(c->pool, *action);
            if (query != NULL) {
                resolved.path[query - *action] = '\0';
                resolved.query = query + 1;
            }
        }
        else {
            char *dir = apr_pstrdup(c->pool, base_uri.path ? base_uri.path : "/");
            char *slash = strrchr(dir, '/'), *query;
            if (slash != NULL) {
                slash[1] = '\0';
            }
            resolved.path = apr_pstrcat(c->pool, dir, *action, NULL);
            query = strchr(resolved.path, '?');
            if (query != NULL) {
                *query = '\0';
                resolved.query = query + 1;
            }
        }
        *action = apr_uri_unparse(c->pool, &resolved, APR_URI_UNP_OMITUSERINFO);
    }
    *body = form_body;
    return MCP_OK;
}

/* 1 when `location` is our redirect URI (whatever its query). */
static int is_redirect_to(const char *location, const char *redirect_uri, char **query)
{
    apr_size_t n = strlen(redirect_uri);

    if (strncmp(location, redirect_uri, n) != 0
        || (location[n] != '?' && location[n] != '\0')) {
        return 0;
    }
    *query = (char *)(location[n] == '?' ? location + n + 1 : "");
    return 1;
}

static int same_origin(apr_pool_t *pool, const char *a, const char *b)
{
    char *origin_a, *origin_b;

    return mcpc_origin_of(pool, a, &origin_a) == MCP_OK
           && mcpc_origin_of(pool, b, &origin_b) == MCP_OK
           && strcmp(origin_a, origin_b) == 0;
}

static int headless_login(mcpc_t *c, const char *authorization_url,
                          const char *redirect_uri, char **query)
{
    const char *url = authorization_url, *method = "GET", *body = NULL;
    apr_array_header_t *headers = apr_array_make(c->pool, 2, sizeof(const char *));
    int step;

    for (step = 0; step < 6; step++) {
        mcpc_response_t *response;
        const char *location;
        apr_array_header_t *these = apr_array_copy(c->pool, headers);
        /* credentials only ever go to the authorization server's own origin */
        int ours = same_origin(c->pool, url, authorization_url);

        if (body != NULL) {
            APR_ARRAY_PUSH(these, const char *) = "Content-Type: application/x-www-form-urlencoded";
        }
        if (mcpc_http_request(c, method, url, these, body, body ? strlen(body) : 0,
                              ours ? c->login_user : NULL,
                              ours ? c->login_password : NULL, &response) != MCP_OK) {
            return MCP_ERROR;
        }
        location = apr_table_get(response->headers, "Location");
        if (response->status >= 300 && response->status < 400 && location != NULL) {
            if (is_redirect_to(location, redirect_uri, query)) {
                *query = apr_pstrdup(c->pool, *query);
                return MCP_OK;
            }
            if (strstr(location, "://") == NULL || !same_origin(c->pool, location, authorization_url)) {
                return mcpc_fail(c, MCPC_EXIT_AUTH,
                                 "the login at %s redirected to %s, which --login cannot "
                                 "follow; authorize in a browser instead", url,
                                 mcp_printable(c->pool, location, 200));
            }
            url = location;
            method = "GET";
            body = NULL;
            continue;
        }
        if (response->status == 401) {
            return mcpc_fail(c, MCPC_EXIT_AUTH, "the authorization server refused the "
                             "login of %s at %s (401); check --login USER:PASS",
                             c->login_user, url);
        }
        if (response->status == 200 && response->content_type != NULL
            && strcmp(response->content_type, "text/html") == 0) {
            const char *action;
            if (consent_form(c, response, url, &action, &body) != MCP_OK) {
                return mcpc_fail(c, MCPC_EXIT_AUTH, "the page at %s has no form that "
                                 "--login understands; authorize in a browser instead", url);
            }
            if (!same_origin(c->pool, action, authorization_url)) {
                return mcpc_fail(c, MCPC_EXIT_REFUSED, "the consent form at %s posts to "
                                 "another origin (%s); refusing to send credentials there",
                                 url, mcp_printable(c->pool, action, 200));
            }
            mcpc_trace(c, "consenting at %s", action);
            url = action;
            method = "POST";
            continue;
        }
        return mcpc_fail(c, MCPC_EXIT_AUTH, "the authorization endpoint %s answered %ld; "
                         "expected a redirect or a consent page", url, response->status);
    }
    return mcpc_fail(c, MCPC_EXIT_AUTH, "the login at %s took too many steps",
                     authorization_url);
}

/* ------------------------------------------------------------ the flow */

static void add_param(apr_pool_t *pool, char **url, const char *name, const char *value)
{
    *url = apr_pstrcat(pool, *url, "&", name, "=", mcp_url_encode(pool, value), NULL);
}

int mcpc_authorize(mcpc_t *c, mcpc_as_t *as, mcpc_client_t *client,
                   const char *resource, const char *scope)
{
    char *verifier, *challenge, *state, *url, *query = NULL;
    apr_table_t *params, *token_params;
    const char *error = NULL, *returned_state, *iss, *code, *oauth_error;
    mcpc_token_t *token;

    if (mcpc_pkce_new(c->pool, &verifier, &challenge) != MCP_OK
        || mcp_random_b64url(c->pool, 32, &state) != MCP_OK) {
        return mcpc_fail(c, MCPC_EXIT_AUTH, "no randomness for PKCE and state");
    }
    url = apr_pstrcat(c->pool, as->authorization_endpoint,
                      strchr(as->authorization_endpoint, '?') ? "&" : "?",
                      "response_type=code", NULL);
    add_param(c->pool, &url, "client_id", client->client_id);
    add_param(c->pool, &url, "redirect_uri", client->redirect_uri);
    add_param(c->pool, &url, "code_challenge", challenge);
    add_param(c->pool, &url, "code_challenge_method", "S256");
    add_param(c->pool, &url, "state", state);
    if (resource != NULL) {
        add_param(c->pool, &url, "resource", resource);   /* RFC 8707 §2 */
    }
    if (scope != NULL) {
        add_param(c->pool, &url, "scope", scope);
    }
    mcpc_trace(c, "authorization request to %s (scope: %s)", as->authorization_endpoint,
               scope ? scope : "none asked");
    if (c->login_user != NULL) {
        if (headless_login(c, url, client->redirect_uri, &query) != MCP_OK) {
            return MCP_ERROR;
        }
    }
    else {
        pid_t browser = -1;
        if (c->no_browser) {
            fprintf(stderr, "mcp-client: to authorize, open this URL in a browser on this "
                    "machine:\n\n  %s\n\n", url);
        }
        else {
            fprintf(stderr, "mcp-client: opening a browser to authorize; if none opens, "
                    "visit:\n  %s\n", url);
            browser = open_browser(c, url);
        }
        fflush(stderr);
        if (wait_for_callback(c, &query) != MCP_OK) {
            if (browser > 0) {
                waitpid(browser, NULL, WNOHANG);
            }
            return MCP_ERROR;
        }
        if (browser > 0) {
            waitpid(browser, NULL, WNOHANG);
        }
    }
    /* both callbacks set
     * query whenever they return MCP_OK (mcpc_fail never does) */
    /* NOLINTNEXTLINE(clang-analyzer-core.NonNullParamChecker) */
    if (mcp_form_parse(c->pool, query, strlen(query), &params, &error) != MCP_OK) {
        return mcpc_fail(c, MCPC_EXIT_PROTOCOL, "the authorization response is malformed: %s",
                         error ? error : "bad query");
    }
    /* RFC 6749 §10.12 / OAuth 2.1 §7.5.1: a response we did not ask for is an attack */
    returned_state = apr_table_get(params, "state");
    if (returned_state == NULL || !mcp_secret_equal(returned_state, state)) {
        return mcpc_fail(c, MCPC_EXIT_REFUSED,
                         "the authorization response's state does not match the request "
                         "(%s); it may be forged or replayed, so it was ignored",
                         returned_state ? "different value" : "missing");
    }
    /* RFC 9207 §2.4: iss, when sent or promised, must be this issuer */
    iss = apr_table_get(params, "iss");
    if (iss != NULL ? strcmp(iss, as->issuer) != 0
        : json_is_true(json_object_get(as->metadata,
                                       "authorization_response_iss_parameter_supported"))) {
        return mcpc_fail(c, MCPC_EXIT_REFUSED,
                         "the authorization response's iss is %s, not the issuer %s "
                         "(RFC 9207); it may come from another server (mix-up attack), "
                         "so it was ignored", iss ? mcp_printable(c->pool, iss, 200) : "missing",
                         as->issuer);
    }
    oauth_error = apr_table_get(params, "error");
    if (oauth_error != NULL) {
        const char *description = apr_table_get(params, "error_description");
        return mcpc_fail(c, MCPC_EXIT_AUTH, "authorization was not granted: %s%s%s",
                         mcp_printable(c->pool, oauth_error, 100),
                         description ? ": " : "",
                         description ? mcp_printable(c->pool, description, 300) : "");
    }
    code = apr_table_get(params, "code");
    if (code == NULL || *code == '\0') {
        return mcpc_fail(c, MCPC_EXIT_PROTOCOL, "the authorization response has no code");
    }
    mcpc_trace(c, "authorization code received (%s)", mcpc_secret_label(c, code));
    token_params = apr_table_make(c->pool, 6);
    apr_table_setn(token_params, "grant_type", "authorization_code");
    apr_table_setn(token_params, "code", code);
    apr_table_setn(token_params, "redirect_uri", client->redirect_uri);
    apr_table_setn(token_params, "code_verifier", verifier);
    if (mcpc_token_request(c, as->token_endpoint, as->metadata, client, token_params,
                           resource, as->issuer, &token) != MCP_OK) {
        return MCP_ERROR;
    }
    if (token->scope == NULL) {
        /* RFC 6749 §5.1: no scope in the reply means the scope asked for */
        token->scope = scope;
    }
    c->token = token;
    mcpc_store_put_token(c, token);
    return mcpc_store_save(c);
}
