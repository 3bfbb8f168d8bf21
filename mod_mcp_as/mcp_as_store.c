/*
 * Durable state through apr_dbd: registered clients, refresh-token
 * families, consents, revoked access tokens and used-code markers.
 *
 * MCPStore is self-sufficient: each child keeps its own pool of
 * connections (apr_reslist, as mod_dbd does) with the statements below
 * prepared on each, so no DBD* directives are needed and several
 * authorization servers with different stores can share one httpd.  The
 * same SQL serves SQLite and PostgreSQL: %s placeholders everywhere, and
 * CAST(... AS BIGINT) where a number is bound.
 *
 * Every operation runs inside a transaction; any failure (a database that
 * is locked past the bounded busy wait, or down) rolls it back and is
 * reported as MCP_AS_STORE_UNAVAILABLE, which the endpoints answer with
 * 503 temporarily_unavailable: never a partial write.
 *
 * A PostgreSQL server that restarts kills every connection the children
 * keep, and libpq notices only when one is next used.  A connection on
 * which a statement failed is never handed out again (apr_dbd_check_conn
 * would PQreset it: connected again, but without the prepared statements,
 * so that every later statement on it fails); and a transaction's first
 * statement that fails on a connection from the pool is retried on
 * another one, so that the first requests after the restart do not fail
 * (t/46-as-pgsql-outage.t).
 *
 * SQLite's WAL is checkpointed outside every lock.  Left to itself,
 * SQLite checkpoints inside the COMMIT that takes the WAL past 1,000
 * pages: two fsync()s, about 5 ms here, while this module's writer mutex
 * makes every other write wait (a third of the time the mutex was held
 * in bench/run's code exchanges).  Each connection instead only notes the
 * WAL's size (a WAL hook, which also turns SQLite's own checkpoints off),
 * and the request whose commit took it past that size checkpoints
 * passively once it has let go of the mutex: writers go on meanwhile, and
 * one thread per process does it at a time.  Then it takes the mutex for
 * a moment and checkpoints again the few pages written meanwhile, so that
 * the WAL is complete in the database with no writer about: only then
 * does the next writer start the WAL over from its beginning (otherwise
 * it would grow for ever).  The direct sqlite3 calls also keep this
 * outside apr_dbd's lock, which serialises every statement of a process.
 * A reader that keeps an old snapshot stops every checkpoint short of it
 * (SQLite's own too); meanwhile a child tries again after each 1,000 more
 * pages only, and once the WAL starts over its file is cut back to
 * WAL_FILE_LIMIT (t/47-as-wal-checkpoint.t).
 */
#include <httpd.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <apr_strings.h>
#include <apr_file_info.h>
#include <http_log.h>
#include <ap_mpm.h>
#include <unixd.h>
#include <util_mutex.h>
#include <apr_atomic.h>
#include <apr_thread_mutex.h>
#include <apr_thread_cond.h>
#include <sqlite3.h>

#include "mcp_common.h"
#include "mcp_as.h"

#define SCHEMA_VERSION 2
/* Each SQLite statement waits at most this long for a lock (apr_dbd also
 * retries a few times), so a locked database answers 503 in seconds. */
#define SQLITE_BUSY_TIMEOUT_MS 200
#define ACQUIRE_TIMEOUT (apr_time_from_sec(10))
/* PostgreSQL advisory lock held while the schema is created: the bytes
 * of "mcp_as" read as a number */
#define SCHEMA_LOCK_KEY "120273854488947"
/* the tables housekeeping sweeps on SQLite (swept[]) */
#define SWEPT 3
/* SQLite's own default checkpoint size, in pages */
#define WAL_CHECKPOINT_PAGES 1000
/* Once the WAL starts over, its file is cut back to this many bytes
 * (twice what WAL_CHECKPOINT_PAGES pages of 4 KiB take): a WAL that grew
 * while a reader kept an old snapshot does not keep its disk for ever. */
#define WAL_FILE_LIMIT (8 * 1024 * 1024)

struct mcp_as_store {
    apr_global_mutex_t *writer;     /* SQLite: one writer at a time */
    const char *driver_name;
    const char *params;
    const apr_dbd_driver_t *driver;
    int is_sqlite;
    apr_reslist_t *connections;     /* per child, created in child_init */
    server_rec *server;
    volatile apr_uint32_t checkpointing;  /* per child: a thread is at it */
    volatile apr_uint32_t checkpoint_mark;  /* per child: the WAL's size
                                             * at its last checkpoint */
    apr_int64_t sweep[SWEPT];       /* per child: where housekeeping stopped
                                     * in each of swept[], by rowid */
    struct store_batch *batch;      /* per child, SQLite: group commit */
};

typedef struct {
    apr_dbd_t *handle;
    apr_pool_t *pool;
    apr_hash_t *statements;         /* label -> apr_dbd_prepared_t * */
    int used;                       /* handed out before: may have died */
    int wal_pages;                  /* SQLite: the WAL's size, last commit */
    int schema_version;             /* SQLite: when statements were prepared */
} store_connection;

/*
 * Group commit (SQLite).  The write transactions of one child that meet
 * at the writer mutex share one SQLite transaction: the first request
 * (the opener) takes the mutex and a connection and runs BEGIN; each
 * request that arrives meanwhile waits for its turn on that connection,
 * runs its statements inside a SAVEPOINT of its own (so that one that
 * aborts rolls back its own statements only) and releases it; when no
 * request is waiting any more, or BATCH_MAX have had their turn, the
 * opener runs COMMIT, lets go of the mutex and tells each request the
 * outcome.  A request answers only after the COMMIT that holds its
 * writes, so nothing is acknowledged before it is durable; a COMMIT that
 * fails answers 503 to all of them; a kill -9 before it loses all of them
 * unanswered, as it would have lost each alone.  One transaction writes
 * the table pages that several requests share (the newest rows of each
 * table) to the WAL once, and the mutex changes hands between processes
 * once per batch instead of once per request (t/49-as-group-commit.t).
 */
#define BATCH_MAX 16

typedef struct store_batch {
    apr_thread_mutex_t *lock;
    apr_thread_cond_t *turn;        /* the batch takes another request */
    apr_thread_cond_t *ready;       /* the opener may commit */
    apr_thread_cond_t *settled;     /* the members have their outcome */
    store_connection *connection;   /* the open batch's; NULL: none open */
    mcp_as_txn *members[BATCH_MAX]; /* released their savepoint, waiting */
    int count;                      /* members[] */
    int turns;                      /* requests that had a turn */
    int aborted;                    /* of them, rolled back their own */
    int busy;                       /* a request runs its statements */
    int closing;                    /* no more turns: the opener commits */
    int waiting;                    /* requests waiting for a turn */
    int broken;                     /* a savepoint could not be undone:
                                     * the transaction is rolled back */
} store_batch;

/* Bounds the retries on dead pooled connections (a child holds at most
 * one per thread; the pool replaces each dead one it is given back). */
#define MAX_STALE_RETRIES 64

struct mcp_as_txn {
    request_rec *r;
    mcp_as_store *store;
    store_connection *connection;
    int locked;                     /* holds store->writer */
    int autocommit;                 /* a read: no BEGIN/COMMIT */
    int broken;                     /* a statement failed: do not reuse */
    int fresh;                      /* autocommit: its connection is new */
    int statements_run;
    int batched;                    /* a member of the child's batch */
    int opener;                     /* opened it: holds store->writer and
                                     * the connection, runs the COMMIT */
    int settled;                    /* the batch's outcome is known */
    int outcome;                    /* MCP_AS_STORE_OK or _UNAVAILABLE */
};

#define WRITER_MUTEX_TYPE "mcp-as-store"

void mcp_as_store_pre_config(apr_pool_t *pconf)
{
    ap_mutex_register(pconf, WRITER_MUTEX_TYPE, NULL, APR_LOCK_DEFAULT, 0);
}

static const char *const schema_v1[] = {
    "CREATE TABLE IF NOT EXISTS clients ("
    " client_id VARCHAR(255) PRIMARY KEY,"
    " secret_hash TEXT NOT NULL,"         /* '' for public clients */
    " metadata TEXT NOT NULL,"
    " created BIGINT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS families ("
    " family_id VARCHAR(64) PRIMARY KEY,"
    " client_id VARCHAR(255) NOT NULL,"
    " sub TEXT NOT NULL,"
    " scope TEXT NOT NULL,"
    " resource TEXT NOT NULL,"
    " revoked INTEGER NOT NULL,"
    " created BIGINT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS refresh_tokens ("
    " token_hash VARCHAR(64) PRIMARY KEY,"
    " family_id VARCHAR(64) NOT NULL,"
    " expires BIGINT NOT NULL,"
    " used INTEGER NOT NULL)",
    "CREATE INDEX IF NOT EXISTS refresh_tokens_family"
    " ON refresh_tokens (family_id)",
    "CREATE TABLE IF NOT EXISTS consents ("
    " sub VARCHAR(255) NOT NULL,"
    " client_id VARCHAR(255) NOT NULL,"
    " resource VARCHAR(1024) NOT NULL,"
    " scope TEXT NOT NULL,"
    " created BIGINT NOT NULL,"
    " PRIMARY KEY (sub, client_id, resource))",
    "CREATE TABLE IF NOT EXISTS revoked_jti ("
    " jti VARCHAR(64) PRIMARY KEY,"
    " expires BIGINT NOT NULL)",
    /* exactly-once code redemption: the winner's INSERT is the arbiter */
    "CREATE TABLE IF NOT EXISTS used_codes ("
    " code_hash VARCHAR(64) PRIMARY KEY,"
    " family_id VARCHAR(64) NOT NULL,"    /* '' when no refresh token */
    " jti VARCHAR(64) NOT NULL,"
    " expires BIGINT NOT NULL)",
    NULL
};

/* Version 1 -> 2: no statement reads refresh_tokens by family_id, and
 * the index on it cost every refresh token issued one more B-tree insert
 * at a random place (on a store of a million rows per table, about a
 * tenth of httpd's CPU per code exchange). */
static const char *const schema_v2[] = {
    "DROP INDEX IF EXISTS refresh_tokens_family",
    NULL
};

/* migrations[v] takes the schema from version v to v + 1 */
static const char *const *const migrations[SCHEMA_VERSION] = {
    schema_v1, schema_v2
};

typedef struct {
    const char *label;
    const char *sql;
} store_statement;

static const store_statement statements[] = {
    { "client_insert",
      "INSERT INTO clients (client_id, secret_hash, metadata, created)"
      " VALUES (%s, %s, %s, CAST(%s AS BIGINT))" },
    { "client_get",
      "SELECT client_id, secret_hash, metadata FROM clients"
      " WHERE client_id = %s" },
    { "family_insert",
      "INSERT INTO families (family_id, client_id, sub, scope, resource,"
      " revoked, created) VALUES (%s, %s, %s, %s, %s, 0, CAST(%s AS BIGINT))" },
    { "family_revoke",
      "UPDATE families SET revoked = 1 WHERE family_id = %s" },
    { "refresh_insert",
      "INSERT INTO refresh_tokens (token_hash, family_id, expires, used)"
      " VALUES (%s, %s, CAST(%s AS BIGINT), 0)" },
    { "refresh_get",
      "SELECT t.family_id, t.expires, t.used, f.client_id, f.sub, f.scope,"
      " f.resource, f.revoked FROM refresh_tokens t"
      " JOIN families f ON f.family_id = t.family_id WHERE t.token_hash = %s" },
    { "refresh_use",
      "UPDATE refresh_tokens SET used = 1 WHERE token_hash = %s AND used = 0" },
    { "consent_get",
      "SELECT scope FROM consents WHERE sub = %s AND client_id = %s"
      " AND resource = %s" },
    { "consent_put",
      "INSERT INTO consents (sub, client_id, resource, scope, created)"
      " VALUES (%s, %s, %s, %s, CAST(%s AS BIGINT))"
      " ON CONFLICT (sub, client_id, resource) DO UPDATE"
      " SET scope = excluded.scope, created = excluded.created" },
    { "consent_list",
      "SELECT client_id, resource, scope, created FROM consents"
      " WHERE sub = %s ORDER BY created, client_id" },
    { "consent_delete",
      "DELETE FROM consents WHERE sub = %s AND client_id = %s" },
    { "jti_revoke",
      "INSERT INTO revoked_jti (jti, expires) VALUES (%s, CAST(%s AS BIGINT))"
      " ON CONFLICT (jti) DO NOTHING" },
    { "jti_get",
      "SELECT expires FROM revoked_jti WHERE jti = %s" },
    { "code_mark",
      "INSERT INTO used_codes (code_hash, family_id, jti, expires)"
      " VALUES (%s, %s, %s, CAST(%s AS BIGINT))"
      " ON CONFLICT (code_hash) DO NOTHING" },
    { "code_get",
      "SELECT family_id, jti FROM used_codes WHERE code_hash = %s" },
    { "expire_codes",
      "DELETE FROM used_codes WHERE expires < CAST(%s AS BIGINT)" },
    { "expire_jti",
      "DELETE FROM revoked_jti WHERE expires < CAST(%s AS BIGINT)" },
    { "expire_refresh",
      "DELETE FROM refresh_tokens WHERE expires < CAST(%s AS BIGINT)" },
    { NULL, NULL }
};

/* SQLite's transaction statements, prepared once per connection as well:
 * apr_dbd_query would compile them again for every transaction.
 * (PostgreSQL cannot PREPARE them; there they go through apr_dbd_query.) */
static const store_statement sqlite_control[] = {
    { "begin", "BEGIN IMMEDIATE" },
    { "commit", "COMMIT" },
    { "rollback", "ROLLBACK" },
    { "savepoint", "SAVEPOINT member" },
    { "release", "RELEASE member" },
    { "rollback_to", "ROLLBACK TO member" },
    { NULL, NULL }
};

/*
 * Housekeeping on SQLite sweeps each table a slice at a time: the next
 * SWEEP_ROWS rows by rowid after where the last run of this child
 * stopped, starting over at the end.  The expire_* statements above read
 * the whole table (there is no index on expires, which would cost every
 * insert one more page), 53 ms for a million refresh tokens here, and on
 * SQLite they would do it holding the writer mutex, with every token
 * request waiting.  A run examines at most SWEEP_ROWS rows of each table
 * while about 256 token requests add at most 256 rows to one, so the
 * sweep outruns the growth.  PostgreSQL has no writer mutex: there the
 * plain DELETEs hold up no other request.
 */
#define SWEEP_ROWS "1000"
#define SWEEP(table) \
    { "sweep_end_" table, \
      "SELECT MAX(rowid) FROM (SELECT rowid FROM " table \
      " WHERE rowid > CAST(%s AS BIGINT) ORDER BY rowid LIMIT " SWEEP_ROWS ")" }, \
    { "sweep_" table, \
      "DELETE FROM " table " WHERE rowid > CAST(%s AS BIGINT)" \
      " AND rowid <= CAST(%s AS BIGINT) AND expires < CAST(%s AS BIGINT)" }

static const char *const swept[SWEPT] = { "used_codes", "revoked_jti",
                                           "refresh_tokens" };

static const store_statement sqlite_sweep[] = {
    SWEEP("used_codes"),
    SWEEP("revoked_jti"),
    SWEEP("refresh_tokens"),
    { NULL, NULL }
};

static int run_sql(apr_pool_t *pool, const apr_dbd_driver_t *driver,
                   apr_dbd_t *handle, server_rec *s, const char *sql)
{
    int nrows = 0;
    int rc = apr_dbd_query(driver, handle, &nrows, sql);

    if (rc != 0) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, APLOGNO(30010)
                     "MCPStore: '%.60s...' failed: %s", sql,
                     apr_dbd_error(driver, handle, rc));
        return MCP_ERROR;
    }
    return MCP_OK;
}

/* A PRAGMA may answer with a row, which apr_dbd_query counts as a failure. */
static int run_pragma(apr_pool_t *pool, const apr_dbd_driver_t *driver,
                      apr_dbd_t *handle, const char *sql)
{
    apr_dbd_results_t *results = NULL;
    apr_dbd_row_t *row = NULL;

    if (apr_dbd_select(driver, pool, handle, &results, sql, 0) != 0) {
        return MCP_ERROR;
    }
    while (apr_dbd_get_row(driver, pool, results, &row, -1) == 0) {
    }
    return MCP_OK;
}

/* The schema, created or migrated by the module (table schema_version). */
static int create_schema(apr_pool_t *ptemp, mcp_as_store *store,
                         apr_dbd_t *handle, server_rec *s)
{
    const apr_dbd_driver_t *driver = store->driver;
    apr_dbd_results_t *results = NULL;
    apr_dbd_row_t *row = NULL;
    int version = 0, step, i;

    /* On a graceful restart the children of the old generation may be
     * writing: wait for their locks (longer than a request would, as no
     * client waits on the parent) rather than fail the restart, and so
     * stop the server, on SQLITE_BUSY (t/73-hostile-graceful.t). */
    if (store->is_sqlite) {
        run_pragma(ptemp, driver, handle, "PRAGMA busy_timeout = 10000");
    }
    if (store->is_sqlite
        && run_pragma(ptemp, driver, handle, "PRAGMA journal_mode=WAL")
           != MCP_OK) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, APLOGNO(30026)
                     "MCPStore: cannot switch %s to WAL", store->params);
        return MCP_ERROR;
    }
    /*
     * Several nodes may start at once on an empty PostgreSQL database, and
     * CREATE TABLE IF NOT EXISTS is not safe against a concurrent CREATE
     * there (one of them fails on the catalog's unique index, and that
     * node does not start).  A session advisory lock serialises the schema
     * work; it goes when this connection is closed, right after.
     */
    if (!store->is_sqlite
        && run_pragma(ptemp, driver, handle,
                      "SELECT pg_advisory_lock(" SCHEMA_LOCK_KEY ")")
           != MCP_OK) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, APLOGNO(30097)
                     "MCPStore: cannot take the schema lock: %s",
                     apr_dbd_error(driver, handle, 0));
        return MCP_ERROR;
    }
    if (run_sql(ptemp, driver, handle, s,
                "CREATE TABLE IF NOT EXISTS schema_version"
                " (version INTEGER NOT NULL)") != MCP_OK) {
        return MCP_ERROR;
    }
    if (apr_dbd_select(driver, ptemp, handle, &results,
                       "SELECT MAX(version) FROM schema_version", 0) != 0) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, APLOGNO(30011)
                     "MCPStore: cannot read the schema version");
        return MCP_ERROR;
    }
    while (apr_dbd_get_row(driver, ptemp, results, &row, -1) == 0) {
        const char *value = apr_dbd_get_entry(driver, row, 0);
        if (value != NULL) {
            version = atoi(value);
        }
    }
    if (version < 0 || version > SCHEMA_VERSION) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, APLOGNO(30012)
                     "MCPStore: the database has schema version %d and this "
                     "module knows versions 0 to %d (a newer mod_mcp_as "
                     "wrote it, or it was changed by hand); refusing to use "
                     "it", version, SCHEMA_VERSION);
        return MCP_ERROR;
    }
    if (version == SCHEMA_VERSION) {
        return MCP_OK;
    }
    /* One transaction from the version found to this module's: a failed
     * step leaves the database as it was. */
    if (run_sql(ptemp, driver, handle, s, "BEGIN") != MCP_OK) {
        return MCP_ERROR;
    }
    for (step = version; step < SCHEMA_VERSION; step++) {
        for (i = 0; migrations[step][i] != NULL; i++) {
            if (run_sql(ptemp, driver, handle, s, migrations[step][i])
                != MCP_OK) {
                run_sql(ptemp, driver, handle, s, "ROLLBACK");
                return MCP_ERROR;
            }
        }
        if (run_sql(ptemp, driver, handle, s,
                    apr_psprintf(ptemp, "INSERT INTO schema_version (version)"
                                 " VALUES (%d)", step + 1)) != MCP_OK) {
            run_sql(ptemp, driver, handle, s, "ROLLBACK");
            return MCP_ERROR;
        }
    }
    if (run_sql(ptemp, driver, handle, s, "COMMIT") != MCP_OK) {
        run_sql(ptemp, driver, handle, s, "ROLLBACK");
        return MCP_ERROR;
    }
    if (version == 0) {
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s, APLOGNO(30013)
                     "MCPStore: created the schema (version %d) in the %s "
                     "store", SCHEMA_VERSION, store->driver_name);
    }
    else {
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s, APLOGNO(30118)
                     "MCPStore: migrated the %s store's schema from version "
                     "%d to %d", store->driver_name, version, SCHEMA_VERSION);
    }
    return MCP_OK;
}

/*
 * The children run as the User of the server, the parent as root: the
 * SQLite file, its WAL files and (when we create it) its directory must
 * belong to the child user.
 */
static void sqlite_give_to_child(apr_pool_t *ptemp, const char *path,
                                 server_rec *s)
{
    static const char *const suffixes[] = { "", "-wal", "-shm", NULL };
    int i;

    for (i = 0; suffixes[i] != NULL; i++) {
        const char *file = apr_pstrcat(ptemp, path, suffixes[i], NULL);
        /* hashes only, but who registered and consented to what */
        if (chmod(file, 0600) != 0 && errno != ENOENT) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, errno, s, APLOGNO(30029)
                         "MCPStore: cannot make %s private", file);
        }
        if (geteuid() == 0
            && chown(file, ap_unixd_config.user_id, ap_unixd_config.group_id)
               != 0 && errno != ENOENT) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, errno, s, APLOGNO(30014)
                         "MCPStore: cannot give %s to the server's user", file);
        }
    }
}

static int sqlite_prepare_directory(apr_pool_t *ptemp, const char *path,
                                    server_rec *s)
{
    char *dir = apr_pstrdup(ptemp, path), *slash = strrchr(dir, '/');
    apr_finfo_t finfo;

    if (slash == NULL || slash == dir) {
        return MCP_OK;
    }
    *slash = '\0';
    if (apr_stat(&finfo, dir, APR_FINFO_TYPE, ptemp) == APR_SUCCESS) {
        return MCP_OK;
    }
    if (apr_dir_make_recursive(dir, APR_FPROT_UREAD | APR_FPROT_UWRITE
                               | APR_FPROT_UEXECUTE, ptemp) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, errno, s, APLOGNO(30015)
                     "MCPStore: cannot create the directory %s", dir);
        return MCP_ERROR;
    }
    /* SQLite creates its -wal and -shm files next to the database, as the
     * child user: the directory we made must be theirs. */
    if (geteuid() == 0
        && chown(dir, ap_unixd_config.user_id, ap_unixd_config.group_id) != 0) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, errno, s, APLOGNO(30016)
                     "MCPStore: cannot give %s to the server's user", dir);
    }
    return MCP_OK;
}

int mcp_as_store_init(apr_pool_t *pconf, apr_pool_t *ptemp, server_rec *s,
                      mcp_as_server_conf *conf, apr_hash_t *stores)
{
    const char *key = apr_pstrcat(ptemp, conf->store_driver, "\n",
                                  conf->store_params, NULL);
    mcp_as_store *store = apr_hash_get(stores, key, APR_HASH_KEY_STRING);
    apr_dbd_t *handle = NULL;
    const char *error = NULL;
    apr_status_t rv;
    int rc;

    if (store != NULL) {
        conf->store = store;
        return OK;
    }
    store = apr_pcalloc(pconf, sizeof(*store));
    store->driver_name = apr_pstrdup(pconf, conf->store_driver);
    store->params = apr_pstrdup(pconf, conf->store_params);
    store->is_sqlite = strcmp(store->driver_name, "sqlite3") == 0;
    store->server = s;
    apr_dbd_init(pconf);
    rv = apr_dbd_get_driver(pconf, store->driver_name, &store->driver);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, APLOGNO(30017)
                     "MCPStore: cannot load the apr_dbd driver '%s'",
                     store->driver_name);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    if (store->is_sqlite
        && sqlite_prepare_directory(ptemp, store->params, s) != MCP_OK) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    rv = apr_dbd_open_ex(store->driver, ptemp, store->params, &handle, &error);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, APLOGNO(30018)
                     "MCPStore: cannot open the %s store: %s",
                     store->driver_name, error ? error : "unknown error");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    rc = create_schema(ptemp, store, handle, s);
    apr_dbd_close(store->driver, handle);
    if (rc != MCP_OK) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    if (store->is_sqlite) {
        sqlite_give_to_child(ptemp, store->params, s);
        /*
         * SQLite lets one writer in at a time and makes the others poll
         * with sleeps, which collapses under concurrent writers from
         * several processes; a global mutex queues them instead.
         */
        rv = ap_global_mutex_create(&store->writer, NULL, WRITER_MUTEX_TYPE,
                                    apr_psprintf(ptemp, "%pp", (void *)store),
                                    s, pconf, 0);
        if (rv != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, APLOGNO(30027)
                         "MCPStore: cannot create the SQLite writer mutex");
            return HTTP_INTERNAL_SERVER_ERROR;
        }
    }
    apr_hash_set(stores, key, APR_HASH_KEY_STRING, store);
    conf->store = store;
    return OK;
}

static int prepare_statements(mcp_as_store *store,
                              store_connection *connection,
                              const store_statement *table)
{
    int i;

    for (i = 0; table[i].label != NULL; i++) {
        apr_dbd_prepared_t *prepared = NULL;
        int rc = apr_dbd_prepare(store->driver, connection->pool,
                                 connection->handle, table[i].sql,
                                 table[i].label, &prepared);
        if (rc != 0) {
            ap_log_error(APLOG_MARK, APLOG_ERR, 0, store->server,
                         APLOGNO(30020) "MCPStore: cannot prepare %s: %s",
                         table[i].label,
                         apr_dbd_error(store->driver, connection->handle, rc));
            return MCP_ERROR;
        }
        apr_hash_set(connection->statements, table[i].label,
                     APR_HASH_KEY_STRING, prepared);
    }
    return MCP_OK;
}

/* Called by SQLite after each commit on the connection, with the WAL's
 * size in pages. */
static int wal_hook(void *data, sqlite3 *db, const char *name, int pages)
{
    store_connection *connection = data;

    connection->wal_pages = pages;
    return SQLITE_OK;
}

static int schema_version_row(void *data, int columns, char **values,
                              char **names)
{
    *(int *)data = columns > 0 && values[0] != NULL ? atoi(values[0]) : -1;
    return SQLITE_OK;
}

/* SQLite's schema version (PRAGMA schema_version), -1 if unknown. */
static int schema_version(mcp_as_store *store, store_connection *connection)
{
    int version = -1;

    if (sqlite3_exec(apr_dbd_native_handle(store->driver, connection->handle),
                     "PRAGMA schema_version", schema_version_row, &version,
                     NULL) != SQLITE_OK) {
        return -1;
    }
    return version;
}

/* The connection's statements; on SQLite, with the schema version they
 * were prepared for (read first: a schema that changes meanwhile only
 * means preparing them once more). */
static int prepare_all(mcp_as_store *store, store_connection *connection)
{
    if (store->is_sqlite) {
        connection->schema_version = schema_version(store, connection);
    }
    if (prepare_statements(store, connection, statements) != MCP_OK
        || (store->is_sqlite
            && (prepare_statements(store, connection, sqlite_control)
                != MCP_OK
                || prepare_statements(store, connection, sqlite_sweep)
                   != MCP_OK))) {
        return MCP_ERROR;
    }
    return MCP_OK;
}

static apr_status_t connection_construct(void **resource, void *params,
                                         apr_pool_t *pool)
{
    mcp_as_store *store = params;
    store_connection *connection;
    apr_pool_t *cpool;
    const char *error = NULL;
    apr_status_t rv;

    rv = apr_pool_create(&cpool, pool);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    connection = apr_pcalloc(cpool, sizeof(*connection));
    connection->pool = cpool;
    connection->statements = apr_hash_make(cpool);
    rv = apr_dbd_open_ex(store->driver, cpool, store->params,
                         &connection->handle, &error);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, store->server, APLOGNO(30019)
                     "MCPStore: cannot connect to the %s store: %s",
                     store->driver_name, error ? error : "unknown error");
        apr_pool_destroy(cpool);
        return rv;
    }
    if (store->is_sqlite) {
        run_pragma(cpool, store->driver, connection->handle,
                   apr_psprintf(cpool, "PRAGMA busy_timeout = %d",
                                SQLITE_BUSY_TIMEOUT_MS));
        /* WAL with synchronous=NORMAL survives a crash of the server
         * (kill -9); only a power loss may lose the last commits. */
        run_pragma(cpool, store->driver, connection->handle,
                   "PRAGMA synchronous = NORMAL");
        run_pragma(cpool, store->driver, connection->handle,
                   apr_psprintf(cpool, "PRAGMA journal_size_limit = %d",
                                WAL_FILE_LIMIT));
        sqlite3_wal_hook(apr_dbd_native_handle(store->driver,
                                               connection->handle),
                         wal_hook, connection);
    }
    if (prepare_all(store, connection) != MCP_OK) {
        apr_dbd_close(store->driver, connection->handle);
        apr_pool_destroy(cpool);
        return APR_EGENERAL;
    }
    *resource = connection;
    return APR_SUCCESS;
}

static apr_status_t connection_destruct(void *resource, void *params,
                                        apr_pool_t *pool)
{
    mcp_as_store *store = params;
    store_connection *connection = resource;

    apr_dbd_close(store->driver, connection->handle);
    apr_pool_destroy(connection->pool);
    return APR_SUCCESS;
}

/* Runs before the child pool's subpools (which hold the connections) go. */
static apr_status_t connections_destroy(void *data)
{
    mcp_as_store *store = data;

    if (store->connections != NULL) {
        apr_reslist_destroy(store->connections);
        store->connections = NULL;
    }
    return APR_SUCCESS;
}

static apr_status_t batch_create(store_batch **out, apr_pool_t *pchild)
{
    store_batch *batch = apr_pcalloc(pchild, sizeof(*batch));
    apr_status_t rv;

    rv = apr_thread_mutex_create(&batch->lock, APR_THREAD_MUTEX_DEFAULT,
                                 pchild);
    if (rv == APR_SUCCESS) {
        rv = apr_thread_cond_create(&batch->turn, pchild);
    }
    if (rv == APR_SUCCESS) {
        rv = apr_thread_cond_create(&batch->ready, pchild);
    }
    if (rv == APR_SUCCESS) {
        rv = apr_thread_cond_create(&batch->settled, pchild);
    }
    *out = batch;
    return rv;
}

void mcp_as_store_child_init(apr_pool_t *pchild, server_rec *s)
{
    int threads = 0;
    server_rec *server;

    ap_mpm_query(AP_MPMQ_MAX_THREADS, &threads);
    if (threads < 1) {
        threads = 1;
    }
    for (server = s; server != NULL; server = server->next) {
        mcp_as_server_conf *conf = MCP_AS_CONF(server);
        mcp_as_store *store = conf->store;
        apr_status_t rv;

        if (store == NULL || store->connections != NULL) {
            continue;
        }
        if (store->writer != NULL) {
            apr_global_mutex_child_init(&store->writer,
                apr_global_mutex_lockfile(store->writer), pchild);
            rv = batch_create(&store->batch, pchild);
            if (rv != APR_SUCCESS) {
                ap_log_error(APLOG_MARK, APLOG_CRIT, rv, server, APLOGNO(30116)
                             "MCPStore: cannot create the group commit's "
                             "thread mutex");
                continue;           /* no connections: every request 503 */
            }
        }
        rv = apr_reslist_create(&store->connections, 0, 1, threads,
                                apr_time_from_sec(60), connection_construct,
                                connection_destruct, store, pchild);
        if (rv != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_CRIT, rv, server, APLOGNO(30021)
                         "MCPStore: cannot create the connection pool");
            continue;
        }
        apr_reslist_timeout_set(store->connections, ACQUIRE_TIMEOUT);
        apr_pool_pre_cleanup_register(pchild, store, connections_destroy);
    }
}

static apr_dbd_prepared_t *statement(mcp_as_txn *txn, const char *label)
{
    return apr_hash_get(txn->connection->statements, label,
                        APR_HASH_KEY_STRING);
}

/* BEGIN, COMMIT or ROLLBACK on the transaction's connection: SQLite's
 * prepared ones (sqlite_control), PostgreSQL's as plain queries. */
static int txn_control(mcp_as_txn *txn, const char *label, const char *sql)
{
    apr_dbd_prepared_t *prepared = NULL;
    int nrows = 0;

    if (txn->store->is_sqlite) {
        prepared = statement(txn, label);
    }
    if (prepared != NULL) {
        return apr_dbd_pquery(txn->store->driver, txn->r->pool,
                              txn->connection->handle, &nrows, prepared,
                              0, NULL);
    }
    return apr_dbd_query(txn->store->driver, txn->connection->handle, &nrows,
                         sql);
}

static void txn_unlock(mcp_as_txn *txn)
{
    if (txn->locked) {
        apr_global_mutex_unlock(txn->store->writer);
        txn->locked = 0;
    }
}

static void txn_release(mcp_as_txn *txn, int broken)
{
    txn_unlock(txn);
    if (txn->connection == NULL) {
        return;
    }
    if (broken || txn->broken) {
        apr_reslist_invalidate(txn->store->connections, txn->connection);
    }
    else {
        apr_reslist_release(txn->store->connections, txn->connection);
    }
    txn->connection = NULL;
}

/* COMMIT (commit) or ROLLBACK on the transaction's connection; a COMMIT
 * that fails is logged and rolled back, and a connection that cannot
 * even roll back is marked broken.  MCP_AS_STORE_OK if committed. */
static int txn_finish(mcp_as_txn *txn, int commit)
{
    if (commit) {
        int rc = txn_control(txn, "commit", "COMMIT");
        if (rc == 0) {
            return MCP_AS_STORE_OK;
        }
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, txn->r, APLOGNO(30024)
                      "MCPStore: commit failed: %s",
                      apr_dbd_error(txn->store->driver,
                                    txn->connection->handle, rc));
    }
    if (txn_control(txn, "rollback", "ROLLBACK") != 0) {
        txn->broken = 1;
    }
    return MCP_AS_STORE_UNAVAILABLE;
}

static apr_status_t txn_cleanup(void *data)
{
    /* the request ended before its transaction did */
    mcp_as_txn_abort(data);
    return APR_SUCCESS;
}

/*
 * A connection from the pool, checked.  *fresh says whether it was just
 * opened (a statement failing on it means the database is down) or used
 * before (it may have died with a database restart since).
 */
static int acquire_connection(request_rec *r, mcp_as_store *store,
                              store_connection **out, int *fresh)
{
    void *resource = NULL;
    apr_status_t rv;
    int attempt;

    for (attempt = 0; attempt < 2; attempt++) {
        rv = apr_reslist_acquire(store->connections, &resource);
        if (rv != APR_SUCCESS) {
            ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, r, APLOGNO(30022)
                          "MCPStore: no connection to the %s store",
                          store->driver_name);
            return MCP_AS_STORE_UNAVAILABLE;
        }
        if (apr_dbd_check_conn(store->driver, r->pool,
                               ((store_connection *)resource)->handle)
            == APR_SUCCESS) {
            break;
        }
        /* a PostgreSQL server that restarted: reconnect once */
        apr_reslist_invalidate(store->connections, resource);
        resource = NULL;
    }
    if (resource == NULL) {
        return MCP_AS_STORE_UNAVAILABLE;
    }
    *out = resource;
    *fresh = !(*out)->used;
    (*out)->used = 1;
    return MCP_AS_STORE_OK;
}

/* A pooled connection that failed its first statement: drop it, and say
 * whether the statement is worth retrying on another connection. */
static int drop_stale(mcp_as_txn *txn, int fresh, int *retries)
{
    if (txn->store->is_sqlite) {
        return 0;                   /* busy, not dead: the caller says 503 */
    }
    apr_reslist_invalidate(txn->store->connections, txn->connection);
    txn->connection = NULL;
    if (fresh || ++*retries > MAX_STALE_RETRIES) {
        return 0;                   /* the database itself is not there */
    }
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, txn->r, APLOGNO(30110)
                  "MCPStore: a pooled connection to the %s store was dead "
                  "(database restarted?); trying another",
                  txn->store->driver_name);
    return 1;
}

/* A connection for the transaction; for a write, the writer mutex
 * (SQLite) and BEGIN. */
static int txn_start(mcp_as_txn *txn, int write)
{
    request_rec *r = txn->r;
    mcp_as_store *store = txn->store;
    store_connection *connection;
    const char *why;
    apr_status_t rv;
    int rc, fresh, retries = 0;

    for (;;) {
        if (acquire_connection(r, store, &connection, &fresh)
            != MCP_AS_STORE_OK) {
            txn_release(txn, 0);
            return MCP_AS_STORE_UNAVAILABLE;
        }
        txn->connection = connection;
        /*
         * Every read-only transaction is a single SELECT, which both
         * databases run atomically in a transaction of its own (SQLite on
         * one WAL snapshot): BEGIN and COMMIT around it would only add two
         * round trips to a shared PostgreSQL, and to SQLite two more turns
         * of apr_dbd's lock, which serialises every statement of a process.
         * That SELECT retries on a dead connection itself.
         */
        if (!write) {
            txn->autocommit = 1;
            txn->fresh = fresh;
            return MCP_AS_STORE_OK;
        }
        if (store->writer != NULL && !txn->locked) {
            rv = mcp_as_mutex_lock(store->writer);
            if (rv != APR_SUCCESS) {
                ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, r, APLOGNO(30028)
                              "MCPStore: cannot take the writer mutex");
                txn_release(txn, 0);
                return MCP_AS_STORE_UNAVAILABLE;
            }
            txn->locked = 1;
        }
        /* SQLite: take the write lock now, not at the first write */
        rc = txn_control(txn, "begin",
                         store->is_sqlite ? "BEGIN IMMEDIATE" : "BEGIN");
        if (rc == 0) {
            break;
        }
        why = apr_pstrdup(r->pool,
                          apr_dbd_error(store->driver, connection->handle, rc));
        if (!drop_stale(txn, fresh, &retries)) {
            ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, APLOGNO(30023)
                          "MCPStore: cannot begin a transaction: %s", why);
            txn_release(txn, !store->is_sqlite);
            return MCP_AS_STORE_UNAVAILABLE;
        }
    }
    return MCP_AS_STORE_OK;
}

/* Whether the WAL left by the transaction's commit wants a checkpoint:
 * past WAL_CHECKPOINT_PAGES, and then once per WAL_CHECKPOINT_PAGES more
 * while it cannot start over (a reader keeps an old snapshot). */
static int checkpoint_due(const mcp_as_txn *txn)
{
    apr_uint32_t pages = (apr_uint32_t)txn->connection->wal_pages;
    apr_uint32_t mark = apr_atomic_read32(&txn->store->checkpoint_mark);

    return pages >= WAL_CHECKPOINT_PAGES
           && (pages < mark || pages >= mark + WAL_CHECKPOINT_PAGES);
}

/* A passive checkpoint on the transaction's connection, once its commit
 * has let go of the writer mutex (see the top of this file). */
static void wal_checkpoint(mcp_as_txn *txn)
{
    sqlite3 *db = apr_dbd_native_handle(txn->store->driver,
                                        txn->connection->handle);
    int pages = 0, copied = 0, late = 0, rc;

    if (apr_atomic_cas32(&txn->store->checkpointing, 1, 0) != 0) {
        return;                     /* another thread of this child is at it */
    }
    rc = sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_PASSIVE,
                                   &pages, &copied);
    if (rc == SQLITE_OK && txn->store->writer != NULL
        && mcp_as_mutex_lock(txn->store->writer) == APR_SUCCESS) {
        int before = copied;
        rc = sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_PASSIVE,
                                       &pages, &copied);
        apr_global_mutex_unlock(txn->store->writer);
        late = copied >= before ? copied - before : copied;
    }
    apr_atomic_set32(&txn->store->checkpoint_mark,
                     (apr_uint32_t)(pages > 0 ? pages
                                              : txn->connection->wal_pages));
    apr_atomic_set32(&txn->store->checkpointing, 0);
    txn->connection->wal_pages = 0;
    if (rc == SQLITE_OK) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, txn->r, APLOGNO(30112)
                      "MCPStore: checkpointed %d of the WAL's %d pages, "
                      "%d of them holding the writer mutex",
                      copied, pages, late);
    }
    else if (rc != SQLITE_BUSY) {   /* BUSY: another process is at it */
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, txn->r, APLOGNO(30113)
                      "MCPStore: checkpoint of the WAL failed: %s",
                      sqlite3_errmsg(db));
    }
}

static void log_failure(mcp_as_txn *txn, const char *label, int rc)
{
    /* PostgreSQL: the connection may be dead, or reset by libpq without
     * its prepared statements; a new one is cheap */
    if (!txn->store->is_sqlite) {
        txn->broken = 1;
    }
    ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, txn->r, APLOGNO(30025)
                  "MCPStore: %s failed: %s", label,
                  apr_dbd_error(txn->store->driver, txn->connection->handle,
                                rc));
}

/* The opener, once every turn is over: COMMIT (ROLLBACK if a member's
 * savepoint could not be undone), the writer mutex let go, each member
 * told the outcome, and the batch closed, so that the next request
 * waiting opens another. */
static int batch_commit(mcp_as_txn *txn, int broken)
{
    store_batch *batch = txn->store->batch;
    int outcome, count, aborted, i;

    outcome = txn_finish(txn, !broken);
    txn_unlock(txn);
    apr_thread_mutex_lock(batch->lock);
    count = batch->count;
    aborted = batch->aborted;
    for (i = 0; i < count; i++) {
        batch->members[i]->outcome = outcome;
        batch->members[i]->settled = 1;
    }
    batch->count = batch->turns = batch->aborted = 0;
    batch->closing = batch->broken = 0;
    batch->connection = NULL;
    apr_thread_cond_broadcast(batch->settled);
    if (batch->waiting > 0) {
        apr_thread_cond_signal(batch->turn);
    }
    apr_thread_mutex_unlock(batch->lock);
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, txn->r, APLOGNO(30115)
                  "MCPStore: %s %d write transactions as one, "
                  "%d more rolled back on their own",
                  outcome == MCP_AS_STORE_OK ? "committed" : "lost",
                  count, aborted);
    if (outcome == MCP_AS_STORE_OK && checkpoint_due(txn)) {
        wal_checkpoint(txn);
    }
    txn_release(txn, 0);
    return txn->settled ? txn->outcome : MCP_AS_STORE_OK;
}

/* Leaves the batch after the request's turn (contributed: its savepoint
 * was released, its writes wait for the COMMIT); hands the turn to the
 * next request, or has the opener commit.  The outcome of the COMMIT for
 * a contributing request, which waits for it. */
static int batch_leave(mcp_as_txn *txn, int contributed, int broken)
{
    store_batch *batch = txn->store->batch;
    int rc = MCP_AS_STORE_OK;

    apr_thread_mutex_lock(batch->lock);
    batch->busy = 0;
    batch->broken |= broken;
    if (contributed) {
        batch->members[batch->count++] = txn;
    }
    else {
        batch->aborted++;
    }
    if (!batch->broken && batch->waiting > 0 && batch->turns < BATCH_MAX) {
        apr_thread_cond_signal(batch->turn);
    }
    else {
        batch->closing = 1;
        apr_thread_cond_signal(batch->ready);
    }
    if (txn->opener) {
        while (!batch->closing) {
            apr_thread_cond_wait(batch->ready, batch->lock);
        }
        broken = batch->broken;
        apr_thread_mutex_unlock(batch->lock);
        return batch_commit(txn, broken);
    }
    txn->connection = NULL;         /* the opener's */
    while (contributed && !txn->settled) {
        apr_thread_cond_wait(batch->settled, batch->lock);
    }
    if (contributed) {
        rc = txn->outcome;
    }
    apr_thread_mutex_unlock(batch->lock);
    return rc;
}

/* Waits for a turn in the child's batch, opening one if none is open
 * (see the top of this file), and starts the request's savepoint. */
static int batch_join(mcp_as_txn *txn)
{
    store_batch *batch = txn->store->batch;
    int rc;

    apr_thread_mutex_lock(batch->lock);
    batch->waiting++;
    while (batch->busy || batch->closing) {
        apr_thread_cond_wait(batch->turn, batch->lock);
    }
    batch->waiting--;
    batch->busy = 1;
    batch->turns++;
    if (batch->connection == NULL) {
        apr_thread_mutex_unlock(batch->lock);
        rc = txn_start(txn, 1);
        apr_thread_mutex_lock(batch->lock);
        if (rc != MCP_AS_STORE_OK) {
            batch->busy = 0;
            batch->turns = 0;
            apr_thread_cond_signal(batch->turn);
            apr_thread_mutex_unlock(batch->lock);
            return rc;
        }
        txn->opener = 1;
        batch->connection = txn->connection;
    }
    txn->connection = batch->connection;
    txn->batched = 1;
    apr_thread_mutex_unlock(batch->lock);
    rc = txn_control(txn, "savepoint", "SAVEPOINT member");
    if (rc != 0) {
        log_failure(txn, "SAVEPOINT", rc);
        batch_leave(txn, 0, 0);
        return MCP_AS_STORE_UNAVAILABLE;
    }
    return MCP_AS_STORE_OK;
}

/* A member's abort: its own statements undone, the others' kept. */
static void batch_abort(mcp_as_txn *txn)
{
    int rc = txn_control(txn, "rollback_to", "ROLLBACK TO member");

    if (rc == 0) {
        rc = txn_control(txn, "release", "RELEASE member");
    }
    if (rc != 0) {
        log_failure(txn, "ROLLBACK TO", rc);
    }
    batch_leave(txn, 0, rc != 0);
}

/* A member's commit: its savepoint released, then the batch's COMMIT. */
static int batch_member_commit(mcp_as_txn *txn)
{
    int rc = txn_control(txn, "release", "RELEASE member");

    if (rc != 0) {
        log_failure(txn, "RELEASE", rc);
        batch_abort(txn);
        return MCP_AS_STORE_UNAVAILABLE;
    }
    return batch_leave(txn, 1, 0);
}

int mcp_as_txn_begin(request_rec *r, mcp_as_store *store, int write,
                     mcp_as_txn **out)
{
    mcp_as_txn *txn;
    int rc;

    if (store == NULL || store->connections == NULL) {
        return MCP_AS_STORE_UNAVAILABLE;
    }
    txn = apr_pcalloc(r->pool, sizeof(*txn));
    txn->r = r;
    txn->store = store;
    /* whatever happens to the request, the transaction ends with it */
    apr_pool_cleanup_register(r->pool, txn, txn_cleanup, apr_pool_cleanup_null);
    rc = write && store->batch != NULL ? batch_join(txn)
                                       : txn_start(txn, write);
    if (rc == MCP_AS_STORE_OK) {
        *out = txn;
    }
    return rc;
}

int mcp_as_txn_commit(mcp_as_txn *txn)
{
    int rc;

    if (txn->connection == NULL) {
        return MCP_AS_STORE_UNAVAILABLE;
    }
    if (txn->autocommit) {
        txn_release(txn, 0);
        return MCP_AS_STORE_OK;
    }
    if (txn->batched) {
        return batch_member_commit(txn);
    }
    rc = txn_finish(txn, 1);
    txn_release(txn, 0);
    return rc;
}

void mcp_as_txn_abort(mcp_as_txn *txn)
{
    if (txn == NULL || txn->connection == NULL) {
        return;
    }
    if (txn->autocommit) {
        txn_release(txn, 0);
        return;
    }
    if (txn->batched) {
        batch_abort(txn);
        return;
    }
    txn_finish(txn, 0);
    txn_release(txn, 0);
}

/*
 * apr_dbd prepares SQLite's statements with the legacy sqlite3_prepare(),
 * whose statements fail for good once another connection has changed the
 * schema: an operator's VACUUM, CREATE INDEX or ANALYZE with the sqlite3
 * shell would have every request on every pooled connection fail until
 * httpd restarts.  After a statement fails, a connection whose schema
 * version moved prepares its statements again, and the caller runs the
 * statement once more: an expired statement fails before it does anything
 * (t/45-as-schema-change.t).  apr_dbd keeps the old statements until the
 * connection closes.
 */
static int schema_moved(mcp_as_txn *txn)
{
    store_connection *connection = txn->connection;
    int version, was;

    if (!txn->store->is_sqlite || connection == NULL) {
        return 0;
    }
    was = connection->schema_version;
    version = schema_version(txn->store, connection);
    if (version < 0 || version == was) {
        return 0;
    }
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, txn->r, APLOGNO(30117)
                  "MCPStore: the SQLite store's schema changed (version %d, "
                  "was %d: VACUUM, a new index?); preparing this "
                  "connection's statements again", version, was);
    return prepare_all(txn->store, connection) == MCP_OK;
}

/* apr_dbd's pv* functions take the arguments as an array of strings. */
static const char **collect_args(apr_pool_t *pool, va_list ap, int *count)
{
    apr_array_header_t *args = apr_array_make(pool, 8, sizeof(const char *));
    const char *arg;

    /* the callers va_start() the list they pass */
    /* NOLINTNEXTLINE(clang-analyzer-valist.Uninitialized) */
    while ((arg = va_arg(ap, const char *)) != NULL) {
        APR_ARRAY_PUSH(args, const char *) = arg;
    }
    *count = args->nelts;
    return (const char **)args->elts;
}

int mcp_as_txn_exec(mcp_as_txn *txn, const char *label, int *nrows, ...)
{
    const char **args;
    va_list ap;
    int count, rc, changed = 0;

    if (txn->connection == NULL) {
        return MCP_AS_STORE_UNAVAILABLE;
    }
    va_start(ap, nrows);
    args = collect_args(txn->r->pool, ap, &count);
    va_end(ap);
    rc = apr_dbd_pquery(txn->store->driver, txn->r->pool,
                        txn->connection->handle, &changed,
                        statement(txn, label), count, args);
    if (rc != 0 && schema_moved(txn)) {
        rc = apr_dbd_pquery(txn->store->driver, txn->r->pool,
                            txn->connection->handle, &changed,
                            statement(txn, label), count, args);
    }
    if (rc != 0) {
        log_failure(txn, label, rc);
        return MCP_AS_STORE_UNAVAILABLE;
    }
    if (nrows != NULL) {
        *nrows = changed;
    }
    return MCP_AS_STORE_OK;
}

static int select_rows(mcp_as_txn *txn, const char *label,
                       apr_array_header_t **rows, int count,
                       const char **args)
{
    apr_dbd_results_t *results = NULL;
    apr_dbd_row_t *row = NULL;
    apr_array_header_t *out = apr_array_make(txn->r->pool, 4,
                                             sizeof(const char **));
    const apr_dbd_driver_t *driver = txn->store->driver;
    const char *why = NULL;
    int rc, columns, retries = 0;

    /* random access: the pgsql driver knows the columns only then */
    rc = apr_dbd_pselect(driver, txn->r->pool, txn->connection->handle,
                         &results, statement(txn, label), 1, count, args);
    if (rc != 0 && schema_moved(txn)) {
        rc = apr_dbd_pselect(driver, txn->r->pool, txn->connection->handle,
                             &results, statement(txn, label), 1, count, args);
    }
    /* a single-statement read on a pooled connection that died (the
     * database restarted): nothing was done, run it on another one */
    while (rc != 0 && txn->autocommit && txn->statements_run == 0) {
        why = apr_pstrdup(txn->r->pool,
                          apr_dbd_error(driver, txn->connection->handle, rc));
        if (!drop_stale(txn, txn->fresh, &retries)) {
            rc = -1;
            break;
        }
        if (acquire_connection(txn->r, txn->store, &txn->connection,
                               &txn->fresh) != MCP_AS_STORE_OK) {
            txn->connection = NULL;
            return MCP_AS_STORE_UNAVAILABLE;
        }
        rc = apr_dbd_pselect(driver, txn->r->pool, txn->connection->handle,
                             &results, statement(txn, label), 1, count, args);
    }
    txn->statements_run++;
    if (txn->connection == NULL) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, txn->r, APLOGNO(30111)
                      "MCPStore: %s failed: no live connection to the %s "
                      "store: %s", label, txn->store->driver_name,
                      why ? why : "unknown error");
        return MCP_AS_STORE_UNAVAILABLE;
    }
    if (rc != 0) {
        log_failure(txn, label, rc);
        return MCP_AS_STORE_UNAVAILABLE;
    }
    columns = apr_dbd_num_cols(driver, results);
    while ((rc = apr_dbd_get_row(driver, txn->r->pool, results, &row, -1))
           == 0) {
        const char **values = apr_pcalloc(txn->r->pool,
                                          sizeof(char *) * (columns + 1));
        int i;
        for (i = 0; i < columns; i++) {
            const char *value = apr_dbd_get_entry(driver, row, i);
            values[i] = apr_pstrdup(txn->r->pool, value ? value : "");
        }
        APR_ARRAY_PUSH(out, const char **) = values;
    }
    if (rc != -1) {
        log_failure(txn, label, rc);
        return MCP_AS_STORE_UNAVAILABLE;
    }
    *rows = out;
    return MCP_AS_STORE_OK;
}

int mcp_as_txn_select(mcp_as_txn *txn, const char *label,
                      apr_array_header_t **rows, ...)
{
    const char **args;
    va_list ap;
    int count;

    if (txn->connection == NULL) {
        return MCP_AS_STORE_UNAVAILABLE;
    }
    va_start(ap, rows);
    args = collect_args(txn->r->pool, ap, &count);
    va_end(ap);
    return select_rows(txn, label, rows, count, args);
}

int mcp_as_txn_select1(mcp_as_txn *txn, const char *label,
                       const char ***row, ...)
{
    apr_array_header_t *rows;
    const char **args;
    va_list ap;
    int count, rc;

    if (txn->connection == NULL) {
        return MCP_AS_STORE_UNAVAILABLE;
    }
    va_start(ap, row);
    args = collect_args(txn->r->pool, ap, &count);
    va_end(ap);
    rc = select_rows(txn, label, &rows, count, args);
    if (rc != MCP_AS_STORE_OK) {
        return rc;
    }
    if (rows->nelts == 0) {
        return MCP_AS_STORE_NOTFOUND;
    }
    *row = APR_ARRAY_IDX(rows, 0, const char **);
    return MCP_AS_STORE_OK;
}

/* One slice of each table on SQLite (sqlite_sweep), under the writer
 * mutex, which also guards the child's cursors; dropped[i] rows. */
static int sweep(mcp_as_txn *txn, const char *now, int *dropped)
{
    apr_pool_t *pool = txn->r->pool;
    const char **row;
    size_t i;
    int rc;

    for (i = 0; i < SWEPT; i++) {
        const char *from = apr_psprintf(pool, "%" APR_INT64_T_FMT,
                                        txn->store->sweep[i]);
        rc = mcp_as_txn_select1(txn, apr_pstrcat(pool, "sweep_end_",
                                                 swept[i], NULL),
                                &row, from, MCP_AS_END);
        if (rc != MCP_AS_STORE_OK) {
            return rc;
        }
        if (row[0][0] == '\0') {
            txn->store->sweep[i] = 0;   /* past the last row: start over */
            continue;
        }
        rc = mcp_as_txn_exec(txn, apr_pstrcat(pool, "sweep_", swept[i], NULL),
                             &dropped[i], from, row[0], now, MCP_AS_END);
        if (rc != MCP_AS_STORE_OK) {
            return rc;
        }
        /* a commit that fails only means these rows are looked at again
         * on the next round */
        txn->store->sweep[i] = apr_atoi64(row[0]);
    }
    return MCP_AS_STORE_OK;
}

void mcp_as_store_housekeeping(request_rec *r, mcp_as_store *store)
{
    mcp_as_txn *txn;
    const char *now = mcp_as_now_str(r->pool);
    int dropped[SWEPT] = { 0 };
    int rc;

    if (mcp_as_txn_begin(r, store, 1, &txn) != MCP_AS_STORE_OK) {
        return;
    }
    if (store->is_sqlite) {
        rc = sweep(txn, now, dropped);
    }
    else {
        rc = mcp_as_txn_exec(txn, "expire_codes", &dropped[0], now, MCP_AS_END);
        if (rc == MCP_AS_STORE_OK) {
            rc = mcp_as_txn_exec(txn, "expire_jti", &dropped[1], now,
                                 MCP_AS_END);
        }
        if (rc == MCP_AS_STORE_OK) {
            rc = mcp_as_txn_exec(txn, "expire_refresh", &dropped[2], now,
                                 MCP_AS_END);
        }
    }
    if (rc != MCP_AS_STORE_OK) {
        mcp_as_txn_abort(txn);
        return;
    }
    if (mcp_as_txn_commit(txn) != MCP_AS_STORE_OK) {
        return;
    }
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, APLOGNO(30114)
                  "MCPStore: housekeeping dropped %d used-code markers, "
                  "%d revoked token ids and %d refresh tokens from the "
                  "%s store", dropped[0], dropped[1], dropped[2],
                  store->driver_name);
}
