/*
 * The token store: one JSON file, mode 0600 in a 0700 directory, replaced
 * atomically (write a temporary file beside it, fsync, rename), holding
 * tokens per (resource, authorization server) and client registrations per
 * authorization server.  Several runs may share it: each save re-reads the
 * file under a lock and replays this run's changes onto it, so one run
 * does not undo another's.
 *
 *   { "clients": { ISSUER: { client_id, client_secret, auth_method, redirect_uri } },
 *     "tokens":  [ { resource, issuer, token_endpoint, access_token,
 *                    refresh_token, scope, expires_at } ] }
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <apr_strings.h>

#include "mcp_common.h"
#include "mcpc.h"

const char *mcpc_store_default_path(apr_pool_t *pool)
{
    const char *cache = getenv("XDG_CACHE_HOME");
    const char *home = getenv("HOME");

    /* XDG Base Directory: $XDG_CACHE_HOME must be absolute to count */
    if (cache != NULL && cache[0] == '/') {
        return apr_pstrcat(pool, cache, "/mcp-client/tokens.json", NULL);
    }
    if (home != NULL && home[0] != '\0') {
        return apr_pstrcat(pool, home, "/.cache/mcp-client/tokens.json", NULL);
    }
    return NULL;
}

static json_t *empty_store(apr_pool_t *pool)
{
    json_t *store = mcp_json_pool_own(pool, json_object());

    json_object_set_new(store, "clients", json_object());
    json_object_set_new(store, "tokens", json_array());
    return store;
}

/* Reads the store file into *out (an empty store when there is none).
 * The size and mode come from the file opened, not from the path: another
 * run may rename a new store over it in between (mcpc_store_save), and a
 * size taken from the old file would cut the new one short. */
static int read_store(mcpc_t *c, json_t **out)
{
    struct stat st;
    FILE *file;
    char *text;
    size_t len;
    json_t *store;
    const char *error = NULL;

    if (c->token_store == NULL) {
        return mcpc_fail(c, MCPC_EXIT_STORE, "no token store: set HOME or "
                         "XDG_CACHE_HOME, or give --token-store FILE");
    }
    file = fopen(c->token_store, "r");
    if (file == NULL) {
        if (errno == ENOENT) {
            *out = empty_store(c->pool);
            return MCP_OK;
        }
        return mcpc_fail(c, MCPC_EXIT_STORE, "token store %s: %s",
                         c->token_store, strerror(errno));
    }
    if (fstat(fileno(file), &st) != 0) {
        int error_number = errno;
        fclose(file);
        return mcpc_fail(c, MCPC_EXIT_STORE, "token store %s: %s",
                         c->token_store, strerror(error_number));
    }
    if ((st.st_mode & 077) != 0) {
        fclose(file);
        /* it holds bearer tokens and client secrets */
        return mcpc_fail(c, MCPC_EXIT_STORE, "token store %s is readable by others "
                         "(mode %03o); run chmod 600 on it", c->token_store,
                         (unsigned)(st.st_mode & 0777));
    }
    if (st.st_size > 16 * 1024 * 1024) {
        fclose(file);
        return mcpc_fail(c, MCPC_EXIT_STORE, "token store %s is implausibly large",
                         c->token_store);
    }
    text = apr_palloc(c->pool, (apr_size_t)st.st_size + 1);
    len = fread(text, 1, (size_t)st.st_size, file);
    fclose(file);
    text[len] = '\0';
    if (len == 0) {
        *out = empty_store(c->pool);
        return MCP_OK;
    }
    if (mcp_json_parse_object(c->pool, text, len, &store, &error) != MCP_OK
        || !json_is_object(json_object_get(store, "clients"))
        || !json_is_array(json_object_get(store, "tokens"))) {
        return mcpc_fail(c, MCPC_EXIT_STORE, "token store %s is damaged (%s); "
                         "remove it to start afresh", c->token_store,
                         error ? error : "unexpected layout");
    }
    *out = store;
    return MCP_OK;
}

int mcpc_store_load(mcpc_t *c)
{
    c->store_changes = apr_array_make(c->pool, 4, sizeof(json_t *));
    return read_store(c, &c->store);
}

/* mkdir -p with mode 0700 for the directories the store needs */
static int make_parents(apr_pool_t *pool, const char *path)
{
    char *dir = apr_pstrdup(pool, path), *slash;

    slash = strrchr(dir, '/');
    if (slash == NULL || slash == dir) {
        return 0;
    }
    *slash = '\0';
    for (slash = dir + 1; *slash; slash++) {
        if (*slash == '/') {
            *slash = '\0';
            if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
                return -1;
            }
            *slash = '/';
        }
    }
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        return -1;
    }
    return 0;
}

static int write_store(mcpc_t *c);
static void apply_change(json_t *store, json_t *change);

int mcpc_store_save(mcpc_t *c)
{
    int status;

    if (c->store == NULL) {
        return MCP_OK;
    }
    mcpc_store_lock(c);
    status = write_store(c);
    mcpc_store_unlock(c);
    return status;
}

/* Under the lock: this run's changes replayed onto the file as it is now. */
static int write_store(mcpc_t *c)
{
    char *text, *temporary;
    int fd;
    apr_size_t len, done = 0;
    json_t *current = NULL;
    int exit_code = c->exit_code;

    c->quiet++;
    if (read_store(c, &current) != MCP_OK) {
        current = NULL;                  /* unreadable now: ours replaces it */
        c->exit_code = exit_code;
    }
    c->quiet--;
    if (current != NULL) {
        int i;
        for (i = 0; i < c->store_changes->nelts; i++) {
            apply_change(current, APR_ARRAY_IDX(c->store_changes, i, json_t *));
        }
        c->store = current;
    }
    apr_array_clear(c->store_changes);
    text = json_dumps(c->store, JSON_INDENT(1) | JSON_SORT_KEYS);
    if (text == NULL) {
        return mcpc_fail(c, MCPC_EXIT_STORE, "cannot serialise the token store");
    }
    len = strlen(text);
    if (make_parents(c->pool, c->token_store) != 0) {
        free(text);
        return mcpc_fail(c, MCPC_EXIT_STORE, "cannot create the directory of %s: %s",
                         c->token_store, strerror(errno));
    }
    temporary = apr_pstrcat(c->pool, c->token_store, ".XXXXXX", NULL);
    fd = mkstemp(temporary);           /* mode 0600 */
    if (fd < 0) {
        free(text);
        return mcpc_fail(c, MCPC_EXIT_STORE, "cannot write beside %s: %s",
                         c->token_store, strerror(errno));
    }
    fchmod(fd, 0600);
    while (done < len) {
        ssize_t n = write(fd, text + done, len - done);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            break;
        }
        done += (apr_size_t)n;
    }
    free(text);
    if (done != len || write(fd, "\n", 1) != 1 || fsync(fd) != 0) {
        int saved = errno;
        close(fd);
        unlink(temporary);
        return mcpc_fail(c, MCPC_EXIT_STORE, "cannot write %s: %s", temporary,
                         strerror(saved));
    }
    if (close(fd) != 0 || rename(temporary, c->token_store) != 0) {
        int saved = errno;
        unlink(temporary);
        return mcpc_fail(c, MCPC_EXIT_STORE, "cannot replace %s: %s", c->token_store,
                         strerror(saved));
    }
    mcpc_trace(c, "token store %s updated", c->token_store);
    return MCP_OK;
}

static const char *string_member(apr_pool_t *pool, json_t *object, const char *key)
{
    const char *value = mcp_json_string(object, key);

    return value ? apr_pstrdup(pool, value) : NULL;
}

mcpc_token_t *mcpc_store_find_token(mcpc_t *c, const char *url)
{
    json_t *tokens = json_object_get(c->store, "tokens");
    mcpc_token_t *best = NULL;
    apr_size_t best_len = 0;
    size_t i;

    for (i = 0; i < json_array_size(tokens); i++) {
        json_t *entry = json_array_get(tokens, i);
        const char *resource = mcp_json_string(entry, "resource");
        const char *access_token = mcp_json_string(entry, "access_token");
        if (resource == NULL || access_token == NULL
            || !mcpc_resource_covers(c->pool, resource, url)) {
            continue;
        }
        /* the most specific resource wins */
        if (best == NULL || strlen(resource) > best_len) {
            best = apr_pcalloc(c->pool, sizeof(*best));
            best->resource = apr_pstrdup(c->pool, resource);
            best->issuer = string_member(c->pool, entry, "issuer");
            best->token_endpoint = string_member(c->pool, entry, "token_endpoint");
            best->access_token = apr_pstrdup(c->pool, access_token);
            best->refresh_token = string_member(c->pool, entry, "refresh_token");
            best->scope = string_member(c->pool, entry, "scope");
            best->expires_at = (apr_int64_t)json_integer_value(json_object_get(entry, "expires_at"));
            best_len = strlen(resource);
        }
    }
    return best;
}

static int same_key(json_t *entry, const char *resource, const char *issuer)
{
    const char *entry_resource = mcp_json_string(entry, "resource");
    const char *entry_issuer = mcp_json_string(entry, "issuer");

    return entry_resource && entry_issuer && resource && issuer
           && strcmp(entry_resource, resource) == 0 && strcmp(entry_issuer, issuer) == 0;
}

static void drop_from(json_t *store, const char *resource, const char *issuer)
{
    json_t *tokens = json_object_get(store, "tokens");
    size_t i = 0;

    while (i < json_array_size(tokens)) {
        if (same_key(json_array_get(tokens, i), resource, issuer)) {
            json_array_remove(tokens, i);
        }
        else {
            i++;
        }
    }
}

/* Applies one recorded change to a store document. */
static void apply_change(json_t *store, json_t *change)
{
    const char *op = mcp_json_string(change, "op");
    json_t *entry = json_object_get(change, "entry");

    if (strcmp(op, "drop_token") == 0 || strcmp(op, "put_token") == 0) {
        drop_from(store, mcp_json_string(change, "resource"), mcp_json_string(change, "issuer"));
        if (strcmp(op, "put_token") == 0) {
            json_array_append(json_object_get(store, "tokens"), entry);
        }
    }
    else if (strcmp(op, "put_client") == 0) {
        json_object_set(json_object_get(store, "clients"), mcp_json_string(change, "issuer"), entry);
    }
}

/* Applies `change` to c->store now and keeps it for the next save. */
static void record(mcpc_t *c, json_t *change)
{
    mcp_json_pool_own(c->pool, change);
    apply_change(c->store, change);
    APR_ARRAY_PUSH(c->store_changes, json_t *) = change;
}

void mcpc_store_drop_token(mcpc_t *c, const mcpc_token_t *token)
{
    if (token->resource == NULL || token->issuer == NULL) {
        return;
    }
    record(c, json_pack("{s:s, s:s, s:s}", "op", "drop_token",
                        "resource", token->resource, "issuer", token->issuer));
}

static void set_string(json_t *object, const char *key, const char *value)
{
    if (value != NULL) {
        json_object_set_new(object, key, json_string(value));
    }
}

void mcpc_store_put_token(mcpc_t *c, const mcpc_token_t *token)
{
    json_t *entry = json_object();

    if (token->resource == NULL || token->issuer == NULL) {
        json_decref(entry);
        return;
    }
    set_string(entry, "resource", token->resource);
    set_string(entry, "issuer", token->issuer);
    set_string(entry, "token_endpoint", token->token_endpoint);
    set_string(entry, "access_token", token->access_token);
    set_string(entry, "refresh_token", token->refresh_token);
    set_string(entry, "scope", token->scope);
    if (token->expires_at > 0) {
        json_object_set_new(entry, "expires_at", json_integer((json_int_t)token->expires_at));
    }
    record(c, json_pack("{s:s, s:s, s:s, s:o}", "op", "put_token", "resource", token->resource,
                        "issuer", token->issuer, "entry", entry));
}

mcpc_client_t *mcpc_store_find_client(mcpc_t *c, const char *issuer)
{
    json_t *entry = json_object_get(json_object_get(c->store, "clients"), issuer);
    mcpc_client_t *client;

    if (!json_is_object(entry) || mcp_json_string(entry, "client_id") == NULL) {
        return NULL;
    }
    client = apr_pcalloc(c->pool, sizeof(*client));
    client->client_id = string_member(c->pool, entry, "client_id");
    client->client_secret = string_member(c->pool, entry, "client_secret");
    client->auth_method = string_member(c->pool, entry, "auth_method");
    client->redirect_uri = string_member(c->pool, entry, "redirect_uri");
    client->source = "registered earlier";
    return client;
}

void mcpc_store_put_client(mcpc_t *c, const char *issuer, const mcpc_client_t *client)
{
    json_t *entry = json_object();

    set_string(entry, "client_id", client->client_id);
    set_string(entry, "client_secret", client->client_secret);
    set_string(entry, "auth_method", client->auth_method);
    set_string(entry, "redirect_uri", client->redirect_uri);
    record(c, json_pack("{s:s, s:s, s:o}", "op", "put_client", "issuer", issuer, "entry", entry));
}

void mcpc_store_lock(mcpc_t *c)
{
    const char *path;
    int fd;

    if (c->store_lock_depth++ > 0 || c->token_store == NULL) {
        return;
    }
    path = apr_pstrcat(c->pool, c->token_store, ".lock", NULL);
    if (make_parents(c->pool, c->token_store) != 0
        || (fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0) {
        mcpc_trace(c, "cannot lock %s (%s); going on without", path, strerror(errno));
        return;
    }
    while (flock(fd, LOCK_EX) != 0) {
        if (errno != EINTR) {
            mcpc_trace(c, "cannot lock %s (%s); going on without", path, strerror(errno));
            close(fd);
            return;
        }
    }
    c->store_lock = fd;
}

void mcpc_store_unlock(mcpc_t *c)
{
    if (c->store_lock_depth == 0 || --c->store_lock_depth > 0) {
        return;
    }
    if (c->store_lock >= 0) {
        flock(c->store_lock, LOCK_UN);
        close(c->store_lock);
        c->store_lock = -1;
    }
}

mcpc_token_t *mcpc_store_reread_token(mcpc_t *c, const char *resource, const char *issuer)
{
    json_t *store = NULL, *tokens;
    size_t i;
    int saved = c->exit_code;

    c->quiet++;
    if (read_store(c, &store) != MCP_OK) {
        c->quiet--;
        c->exit_code = saved;
        return NULL;
    }
    c->quiet--;
    tokens = json_object_get(store, "tokens");
    for (i = 0; i < json_array_size(tokens); i++) {
        json_t *entry = json_array_get(tokens, i);
        if (same_key(entry, resource, issuer) && mcp_json_string(entry, "access_token") != NULL) {
            mcpc_token_t *token = apr_pcalloc(c->pool, sizeof(*token));
            token->resource = apr_pstrdup(c->pool, resource);
            token->issuer = apr_pstrdup(c->pool, issuer);
            token->token_endpoint = string_member(c->pool, entry, "token_endpoint");
            token->access_token = string_member(c->pool, entry, "access_token");
            token->refresh_token = string_member(c->pool, entry, "refresh_token");
            token->scope = string_member(c->pool, entry, "scope");
            token->expires_at = (apr_int64_t)json_integer_value(json_object_get(entry, "expires_at"));
            return token;
        }
    }
    return NULL;
}
