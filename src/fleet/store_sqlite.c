/*
 * store_sqlite.c -- the session directory in SQLite (store.h), the default
 * for a single broker (spec/fleet.md 5.7).
 *
 * The schema is spec/fleet.md 3.5's in SQLite's terms: times are integer
 * milliseconds (UTC), the tables are WITHOUT ROWID so that a keyset page
 * over (vmhostname, session_id) is one range scan of the primary key, and
 * UserName lookups use an index on (lower(user_name), vmhostname,
 * session_id), which also gives their rows in key order; so do the indexes
 * of the WQL pushdown (lower(vmhostname), session_id, connect_state).  SQLite's lower()
 * folds ASCII only and its BINARY collation compares bytes, exactly as
 * rdms's WQL compares strings.
 *
 * One connection and one lock for writes: a write is one BEGIN IMMEDIATE
 * transaction of prepared statements (per-row upserts inside one
 * transaction are what PostgreSQL does with arrays: in-process they cost
 * microseconds).  Reads have connections of their own, each with its
 * lock: READERS for reads by key (a session, a host), PAGERS for keyset
 * pages.  In WAL mode a reader never waits for the writer, so a Get is
 * answered in microseconds whatever the ingest is applying (the network
 * process serves it on its I/O thread), a page (an enumeration, a query)
 * no longer waits the 8-12 ms of a 1,000-session snapshot, and a reader
 * preempted while it holds its lock stalls no other read; pages and Gets
 * never wait for each other.  journal_mode=WAL with synchronous=NORMAL: a crash
 * of the machine may lose the last transactions, never half of one, and a
 * host's version always goes with its rows, so a broker that lost some
 * only pulls them again (the hosts are authoritative).
 *
 * SQLite is single-node: the database file is flock()ed for the store's
 * life, so a second broker (or a second store in this process) on the
 * same file is refused instead of interleaving with the first.
 */
#include "store_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include <sqlite3.h>

#include "../common/strutil.h"

#define BUSY_TIMEOUT_MS 5000
#define READERS         4        /* connections for reads by key */
#define PAGERS          3        /* connections for keyset pages, after the readers */
#define READER_CACHE    "-512"   /* KiB of page cache each: the OS caches the file too */
#define SCHEMA_VERSION  4

static const char schema[] =
	"CREATE TABLE hosts ("
	"  vmhostname  TEXT PRIMARY KEY,"
	"  url         TEXT NOT NULL,"
	"  cert_sha256 BLOB NOT NULL CHECK (length(cert_sha256) = 32),"
	"  version     INTEGER NOT NULL DEFAULT 0,"
	"  state       INTEGER NOT NULL DEFAULT 1,"
	"  registered  INTEGER NOT NULL,"
	"  contact     INTEGER NOT NULL DEFAULT 0"
	") WITHOUT ROWID;"
	"CREATE TABLE sessions ("
	"  vmhostname    TEXT NOT NULL REFERENCES hosts ON DELETE CASCADE,"
	"  session_id    INTEGER NOT NULL CHECK (session_id BETWEEN 0 AND 4294967295),"
	"  vm_name TEXT, connect_state INTEGER NOT NULL, user_name TEXT, domain_name TEXT,"
	"  collection_id TEXT, client_machine_name TEXT,"
	"  version       INTEGER NOT NULL,"
	"  PRIMARY KEY (vmhostname, session_id)"
	") WITHOUT ROWID;"
	"CREATE INDEX sessions_user ON sessions (lower(user_name), vmhostname, session_id);";

/*
 * Version 2: the secrets (fleet_store_secret) and the indexes of the WQL
 * pushdown, each giving its rows in key order for keyset pages.
 */
static const char schema_2[] =
	"CREATE TABLE IF NOT EXISTS meta ("
	"  name  TEXT PRIMARY KEY,"
	"  value BLOB NOT NULL"
	") WITHOUT ROWID;"
	"CREATE INDEX IF NOT EXISTS sessions_host ON sessions (lower(vmhostname), vmhostname, "
	"session_id);"
	"CREATE INDEX IF NOT EXISTS sessions_id ON sessions (session_id, vmhostname);"
	"CREATE INDEX IF NOT EXISTS sessions_state ON sessions (connect_state, vmhostname, "
	"session_id);"
	"PRAGMA user_version = 2;";

/*
 * Version 3: the brokers' leases and the forwarded calls (store.h), as
 * PostgreSQL's; a single broker has one lease, and its calls are its audit
 * of them and its MessageIDs' claims.
 */
static const char schema_3[] =
	"CREATE TABLE IF NOT EXISTS brokers ("
	"  name    TEXT PRIMARY KEY,"
	"  holder  TEXT NOT NULL,"
	"  started INTEGER NOT NULL,"
	"  seen    INTEGER NOT NULL"
	") WITHOUT ROWID;"
	"CREATE TABLE IF NOT EXISTS calls ("
	"  caller       TEXT NOT NULL,"
	"  message_id   TEXT NOT NULL,"
	"  broker       TEXT NOT NULL,"
	"  holder       TEXT NOT NULL,"
	"  source TEXT, protocol TEXT,"
	"  vmhostname   TEXT NOT NULL,"
	"  session_id   INTEGER NOT NULL,"
	"  method       TEXT NOT NULL,"
	"  state        TEXT NOT NULL CHECK (state IN ('pending', 'done', 'refused', 'unknown')),"
	"  hresult      INTEGER, return_value INTEGER, detail TEXT,"
	"  at           INTEGER NOT NULL,"
	"  done_at      INTEGER,"
	"  PRIMARY KEY (caller, message_id)"
	") WITHOUT ROWID;"
	"CREATE INDEX IF NOT EXISTS calls_pending ON calls (broker) WHERE state = 'pending';"
	"PRAGMA user_version = 3;";

/* Version 4: the forwarded calls by age, for their retention (fleet_store_calls_prune). */
static const char schema_4[] =
	"CREATE INDEX IF NOT EXISTS calls_at ON calls (at);"
	"PRAGMA user_version = 4;";

#define SESSION_COLS "vmhostname, session_id, vm_name, connect_state, user_name, " \
	"domain_name, collection_id, client_machine_name, version"

enum stmt {
	S_BEGIN, S_COMMIT, S_ROLLBACK,
	S_HOST_ADD, S_HOST_REMOVE, S_HOST_GET, S_HOSTS, S_HOST_STATE, S_HOST_STATE_FORCE,
	S_HOST_VERSION, S_HOST_APPLIED, S_HOST_RESET, S_SESSIONS_RESET,
	S_UPSERT, S_DELETE, S_MARK_CLEAR, S_MARK, S_SWEEP,
	S_GET, S_SECRET_ADD, S_SECRET,
	S_BROKER_GET, S_BROKER_TAKE, S_BROKER_BEAT, S_BROKER_DROP,
	S_CALL_CLAIM, S_CALL_GET, S_CALL_FINISH, S_CALLS_SWEEP, S_CALLS_PRUNE,
	S_END
};

static const char *const sql[S_END] = {
	[S_BEGIN] = "BEGIN IMMEDIATE",
	[S_COMMIT] = "COMMIT",
	[S_ROLLBACK] = "ROLLBACK",
	[S_HOST_ADD] = "INSERT INTO hosts (vmhostname, url, cert_sha256, registered) "
	               "VALUES (?1, ?2, ?3, ?4)",
	[S_HOST_REMOVE] = "DELETE FROM hosts WHERE vmhostname = ?1",
	/* no session count: it reads all the host's rows (store.h: listings only) */
	[S_HOST_GET] = "SELECT vmhostname, url, cert_sha256, version, state, registered, contact, "
	               "0 FROM hosts h WHERE vmhostname = ?1",
	[S_HOSTS] = "SELECT vmhostname, url, cert_sha256, version, state, registered, contact, "
	            "(SELECT count(*) FROM sessions s WHERE s.vmhostname = h.vmhostname) "
	            "FROM hosts h ORDER BY vmhostname",
	/* an invalid host stays invalid: that is an admin's decision (FORCE) */
	[S_HOST_STATE] = "UPDATE hosts SET state = ?2, contact = CASE WHEN ?2 = 3 THEN ?3 "
	                 "ELSE contact END WHERE vmhostname = ?1 AND state <> 8 AND NOT "
	                 "(?2 = 3 AND state = 3 AND contact > ?3 - ?4)",
	[S_HOST_STATE_FORCE] = "UPDATE hosts SET state = ?2, contact = CASE WHEN ?2 = 3 THEN ?3 "
	                       "ELSE contact END WHERE vmhostname = ?1",
	[S_HOST_VERSION] = "SELECT version, state FROM hosts WHERE vmhostname = ?1",
	[S_HOST_APPLIED] = "UPDATE hosts SET version = max(version, ?2), state = 3, contact = ?3 "
	                   "WHERE vmhostname = ?1",
	[S_HOST_RESET] = "UPDATE hosts SET version = 0 WHERE vmhostname = ?1",
	[S_SESSIONS_RESET] = "UPDATE sessions SET version = 0 WHERE vmhostname = ?1",
	[S_UPSERT] = "INSERT INTO sessions (" SESSION_COLS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, "
	             "?8, ?9) ON CONFLICT (vmhostname, session_id) DO UPDATE SET "
	             "vm_name = excluded.vm_name, connect_state = excluded.connect_state, "
	             "user_name = excluded.user_name, domain_name = excluded.domain_name, "
	             "collection_id = excluded.collection_id, "
	             "client_machine_name = excluded.client_machine_name, "
	             "version = excluded.version WHERE sessions.version < excluded.version",
	[S_DELETE] = "DELETE FROM sessions WHERE vmhostname = ?1 AND session_id = ?2 "
	             "AND version < ?3",
	[S_MARK_CLEAR] = "DELETE FROM temp.snapshot_ids",
	[S_MARK] = "INSERT INTO temp.snapshot_ids (id) VALUES (?1)",
	[S_SWEEP] = "DELETE FROM sessions WHERE vmhostname = ?1 AND version <= ?2 AND "
	            "session_id NOT IN (SELECT id FROM temp.snapshot_ids)",
	[S_GET] = "SELECT " SESSION_COLS " FROM sessions WHERE vmhostname = ?1 AND session_id = ?2",
	[S_SECRET_ADD] = "INSERT INTO meta (name, value) VALUES (?1, ?2) ON CONFLICT (name) DO NOTHING",
	[S_SECRET] = "SELECT value FROM meta WHERE name = ?1",
	[S_BROKER_GET] = "SELECT holder, ?2 - seen FROM brokers WHERE name = ?1",
	[S_BROKER_TAKE] = "INSERT INTO brokers (name, holder, started, seen) VALUES (?1, ?2, ?4, ?4) "
	                  "ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, "
	                  "started = excluded.started, seen = excluded.seen "
	                  "WHERE brokers.holder = ?3",
	[S_BROKER_BEAT] = "UPDATE brokers SET seen = ?3 WHERE name = ?1 AND holder = ?2",
	[S_BROKER_DROP] = "DELETE FROM brokers WHERE name = ?1 AND holder = ?2",
	[S_CALL_CLAIM] = "INSERT INTO calls (caller, message_id, broker, holder, source, protocol, "
	                 "vmhostname, session_id, method, state, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, "
	                 "?7, ?8, ?9, 'pending', ?10) ON CONFLICT (caller, message_id) DO UPDATE SET "
	                 "broker = excluded.broker, holder = excluded.holder, source = "
	                 "excluded.source, protocol = excluded.protocol, state = 'pending', "
	                 "hresult = NULL, return_value = NULL, detail = NULL, at = excluded.at, "
	                 "done_at = NULL WHERE calls.state = 'refused' AND calls.vmhostname = "
	                 "excluded.vmhostname AND calls.session_id = excluded.session_id AND "
	                 "calls.method = excluded.method",
	[S_CALL_GET] = "SELECT broker, vmhostname, session_id, method, state, coalesce(hresult, 0), "
	               "coalesce(return_value, 0), coalesce(detail, '') FROM calls "
	               "WHERE caller = ?1 AND message_id = ?2",
	[S_CALL_FINISH] = "UPDATE calls SET state = ?4, hresult = ?5, return_value = ?6, "
	                  "detail = ?7, done_at = ?8 WHERE caller = ?1 AND message_id = ?2 AND "
	                  "holder = ?3 AND state IN ('pending', 'unknown')",
	[S_CALLS_SWEEP] = "UPDATE calls SET state = 'unknown', done_at = ?2, detail = 'broker ' || "
	                  "broker || ' stopped before the outcome was known' WHERE state = 'pending' "
	                  "AND NOT EXISTS (SELECT 1 FROM brokers b WHERE b.name = calls.broker AND "
	                  "b.holder = calls.holder AND b.seen > ?2 - ?1)",
	[S_CALLS_PRUNE] = "DELETE FROM calls WHERE (caller, message_id) IN (SELECT caller, "
	                  "message_id FROM calls WHERE at < ?2 - ?1 AND state <> 'pending' "
	                  "ORDER BY at LIMIT ?3)",
};

/*
 * A keyset page's statement has one condition per filter of fleet_page
 * it uses: one statement per combination, prepared when first used.
 * Parameters: ?1 ?2 the key after which, ?3 the limit, ?4 ?5 user and
 * domain, ?6 host, ?7 SessionId, ?8 ConnectState.
 */
enum { PAGE_USER = 1, PAGE_HOST = 2, PAGE_ID = 4, PAGE_STATE = 8, PAGE_KINDS = 16 };

static const char page_head[] = "SELECT " SESSION_COLS " FROM sessions WHERE "
                                "(vmhostname, session_id) > (?1, ?2)";
static const char *const page_cond[] = {
	" AND lower(user_name) = lower(?4) AND (?5 IS NULL OR lower(domain_name) = lower(?5))",
	" AND lower(vmhostname) = lower(?6)",
	" AND session_id = ?7",
	" AND connect_state = ?8",
};
static const char page_tail[] = " ORDER BY vmhostname, session_id LIMIT ?3";

/* A connection for reads: by key (a session, a host), or keyset pages. */
typedef struct reader {
	sqlite3        *db;
	sqlite3_stmt   *get, *host_get;     /* sql[S_GET], sql[S_HOST_GET] */
	sqlite3_stmt   *page[PAGE_KINDS];   /* keyset pages, by PAGE_* filters (prepared when used) */
	pthread_mutex_t lock;
} reader;

typedef struct sqlite_store {
	fleet_store     base;          /* first: the handle is this */
	sqlite3        *db;
	sqlite3_stmt   *st[S_END];
	pthread_mutex_t lock;
	reader          readers[READERS + PAGERS];   /* by key, then pagers */
	atomic_uint     next_reader;   /* where the next read starts looking */
	int             lock_fd;       /* the flock()ed database file */
	int64_t         data_version;  /* PRAGMA data_version last seen (changed_elsewhere) */
	char            where[300];    /* "SQLite file PATH", for messages */
} sqlite_store;

static sqlite_store *of(fleet_store *st)
{
	return (sqlite_store *)st;
}

/* Connection DB's failure as ERR: WBEM_E_NOT_AVAILABLE (spec/fleet.md 3.10). */
static uint32_t conn_fail(sqlite3 *db, const char *what, rdms_error *err)
{
	return rdms_fail(err, WBEM_E_NOT_AVAILABLE, "session directory: %s: %s", what,
	                 sqlite3_errmsg(db));
}

static uint32_t db_fail(sqlite_store *s, const char *what, rdms_error *err)
{
	return conn_fail(s->db, what, err);
}

/* Statement I, reset and unbound, ready for its parameters. */
static sqlite3_stmt *stmt(sqlite_store *s, enum stmt i)
{
	sqlite3_reset(s->st[i]);
	sqlite3_clear_bindings(s->st[i]);
	return s->st[i];
}

/* Runs statement I to its end (no rows wanted); false with ERR. */
static bool run(sqlite_store *s, enum stmt i, rdms_error *err)
{
	int rc = sqlite3_step(s->st[i]);

	sqlite3_reset(s->st[i]);
	if (rc == SQLITE_DONE || rc == SQLITE_ROW)
		return true;
	db_fail(s, sql[i], err);
	return false;
}

static bool run_plain(sqlite_store *s, enum stmt i, rdms_error *err)
{
	stmt(s, i);
	return run(s, i, err);
}

static void bind_text(sqlite3_stmt *q, int at, const char *text)
{
	if (text != NULL)
		sqlite3_bind_text(q, at, text, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(q, at);
}

/* ---- opening ------------------------------------------------------------------ */

static void sqlite_close(fleet_store *st);

static bool exec_on(sqlite3 *db, const char *text, rdms_error *err)
{
	char *msg = NULL;

	if (sqlite3_exec(db, text, NULL, NULL, &msg) == SQLITE_OK)
		return true;
	rdms_fail(err, WBEM_E_NOT_AVAILABLE, "session directory: %s", msg != NULL ? msg : "?");
	sqlite3_free(msg);
	return false;
}

static bool exec(sqlite_store *s, const char *text, rdms_error *err)
{
	return exec_on(s->db, text, err);
}

/* The schema: created in an empty database, checked in an existing one. */
static bool migrate(sqlite_store *s, const char *path, rdms_error *err)
{
	sqlite3_stmt *q;
	int version = -1;

	if (sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &q, NULL) != SQLITE_OK)
		return db_fail(s, "PRAGMA user_version", err) == 0;
	if (sqlite3_step(q) == SQLITE_ROW)
		version = sqlite3_column_int(q, 0);
	sqlite3_finalize(q);
	if (version >= 0 && version < SCHEMA_VERSION)
		return exec(s, "BEGIN IMMEDIATE", err) && (version > 0 || exec(s, schema, err)) &&
		       (version > 1 || exec(s, schema_2, err)) &&
		       (version > 2 || exec(s, schema_3, err)) && exec(s, schema_4, err) &&
		       exec(s, "COMMIT", err);
	if (version != SCHEMA_VERSION) {
		rdms_fail(err, WBEM_E_NOT_AVAILABLE, "session directory %s has schema version %d; "
		          "this rdmsd knows %d", path, version, SCHEMA_VERSION);
		return false;
	}
	return true;
}

static const fleet_store_vtbl sqlite_vtbl;

/* A connection to PATH; false with ERR (*DB, when set, is still to be closed). */
static bool connect(const char *path, sqlite3 **db, rdms_error *err)
{
	if (sqlite3_open_v2(path, db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) ==
	    SQLITE_OK) {
		sqlite3_busy_timeout(*db, BUSY_TIMEOUT_MS);
		return true;
	}
	rdms_fail(err, WBEM_E_NOT_AVAILABLE, "session directory %s: %s", path,
	          *db != NULL ? sqlite3_errmsg(*db) : "out of memory");
	return false;
}

/* Reader R on PATH, whose schema the writer made; false with ERR. */
static bool reader_open(reader *r, const char *path, rdms_error *err)
{
	if (!connect(path, &r->db, err) ||
	    !exec_on(r->db, "PRAGMA cache_size=" READER_CACHE "; PRAGMA query_only=ON;", err))
		return false;
	if (sqlite3_prepare_v3(r->db, sql[S_GET], -1, SQLITE_PREPARE_PERSISTENT, &r->get,
	                       NULL) != SQLITE_OK ||
	    sqlite3_prepare_v3(r->db, sql[S_HOST_GET], -1, SQLITE_PREPARE_PERSISTENT, &r->host_get,
	                       NULL) != SQLITE_OK)
		return conn_fail(r->db, "preparing a read", err) == 0;
	return true;
}

/*
 * One of the N connections from FIRST, locked: the first free one from a
 * rotating start, or, when all are busy, the start's (its holder is done
 * in microseconds, a page's in a millisecond).
 */
static reader *reader_take_of(sqlite_store *s, unsigned first, unsigned n)
{
	unsigned at = atomic_fetch_add_explicit(&s->next_reader, 1, memory_order_relaxed);

	for (unsigned i = 0; i < n; i++) {
		reader *r = &s->readers[first + (at + i) % n];

		if (pthread_mutex_trylock(&r->lock) == 0)
			return r;
	}
	pthread_mutex_lock(&s->readers[first + at % n].lock);
	return &s->readers[first + at % n];
}

/* A connection for a read by key, locked. */
static reader *reader_take(sqlite_store *s)
{
	return reader_take_of(s, 0, READERS);
}

static void reader_give(reader *r)
{
	pthread_mutex_unlock(&r->lock);
}

static fleet_store *open_sqlite(const char *path, bool exclusive, rdms_error *err)
{
	sqlite_store *s = calloc(1, sizeof *s);

	if (s == NULL) {
		rdms_fail(err, WBEM_E_OUT_OF_MEMORY, "out of memory");
		return NULL;
	}
	s->base.vt = &sqlite_vtbl;
	pthread_mutex_init(&s->lock, NULL);
	snprintf(s->where, sizeof s->where, "SQLite file %s", path);
	for (int i = 0; i < READERS + PAGERS; i++)
		pthread_mutex_init(&s->readers[i].lock, NULL);
	s->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (s->lock_fd < 0) {
		rdms_fail(err, WBEM_E_NOT_AVAILABLE, "session directory %s: %s", path, strerror(errno));
		goto fail;
	}
	if (exclusive && flock(s->lock_fd, LOCK_EX | LOCK_NB) != 0) {
		rdms_fail(err, errno == EWOULDBLOCK ? WBEM_E_ALREADY_EXISTS : WBEM_E_NOT_AVAILABLE,
		          "session directory %s: %s", path, errno == EWOULDBLOCK
		          ? "in use by another broker (SQLite serves one broker only)" : strerror(errno));
		goto fail;
	}
	if (!connect(path, &s->db, err))
		goto fail;
	if (!exec(s, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
	             "CREATE TEMP TABLE snapshot_ids (id INTEGER PRIMARY KEY);", err) ||
	    !migrate(s, path, err))
		goto fail;
	for (int i = 0; i < S_END; i++)
		if (sqlite3_prepare_v3(s->db, sql[i], -1, SQLITE_PREPARE_PERSISTENT, &s->st[i],
		                       NULL) != SQLITE_OK) {
			db_fail(s, sql[i], err);
			goto fail;
		}
	for (int i = 0; i < READERS + PAGERS; i++)
		if (!reader_open(&s->readers[i], path, err))
			goto fail;
	return &s->base;
fail:
	sqlite_close(&s->base);
	return NULL;
}

fleet_store *fleet_store_open_sqlite(const char *path, rdms_error *err)
{
	return open_sqlite(path, true, err);
}

fleet_store *fleet_store_open_sqlite_admin(const char *path, rdms_error *err)
{
	return open_sqlite(path, false, err);
}

static void sqlite_close(fleet_store *st)
{
	sqlite_store *s = of(st);

	for (int i = 0; i < READERS + PAGERS; i++) {
		reader *r = &s->readers[i];

		sqlite3_finalize(r->get);
		sqlite3_finalize(r->host_get);
		for (int k = 0; k < PAGE_KINDS; k++)
			sqlite3_finalize(r->page[k]);
		sqlite3_close(r->db);
		pthread_mutex_destroy(&r->lock);
	}
	for (int i = 0; i < S_END; i++)
		sqlite3_finalize(s->st[i]);
	sqlite3_close(s->db);
	if (s->lock_fd >= 0)
		close(s->lock_fd);      /* after SQLite let go of the file: releases the flock */
	pthread_mutex_destroy(&s->lock);
	free(s);
}

/* ---- hosts -------------------------------------------------------------------- */

static uint32_t sqlite_host_add(fleet_store *st, const fleet_host *h, int64_t now_ms,
                                rdms_error *err)
{
	sqlite_store *s = of(st);
	sqlite3_stmt *q;
	uint32_t rc = WBEM_S_NO_ERROR;
	int step;

	pthread_mutex_lock(&s->lock);
	q = stmt(s, S_HOST_ADD);
	sqlite3_bind_text(q, 1, h->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, h->url, -1, SQLITE_STATIC);
	sqlite3_bind_blob(q, 3, h->cert_sha256, sizeof h->cert_sha256, SQLITE_STATIC);
	sqlite3_bind_int64(q, 4, now_ms);
	step = sqlite3_step(q);
	if (step == SQLITE_CONSTRAINT)
		rc = rdms_fail(err, WBEM_E_ALREADY_EXISTS, "host %s is registered already", h->name);
	else if (step != SQLITE_DONE)
		rc = db_fail(s, "adding a host", err);
	sqlite3_reset(q);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

static uint32_t sqlite_host_remove(fleet_store *st, const char *name, rdms_error *err)
{
	sqlite_store *s = of(st);
	uint32_t rc = WBEM_S_NO_ERROR;

	pthread_mutex_lock(&s->lock);
	sqlite3_bind_text(stmt(s, S_HOST_REMOVE), 1, name, -1, SQLITE_STATIC);
	if (!run(s, S_HOST_REMOVE, err))
		rc = err->code;
	else if (sqlite3_changes(s->db) == 0)
		rc = rdms_fail(err, WBEM_E_NOT_FOUND, "no host %s", name);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

static void host_row(sqlite3_stmt *q, fleet_host *h)
{
	const void *cert = sqlite3_column_blob(q, 2);

	memset(h, 0, sizeof *h);
	str_copy(h->name, sizeof h->name, (const char *)sqlite3_column_text(q, 0));
	str_copy(h->url, sizeof h->url, (const char *)sqlite3_column_text(q, 1));
	if (cert != NULL && sqlite3_column_bytes(q, 2) == (int)sizeof h->cert_sha256)
		memcpy(h->cert_sha256, cert, sizeof h->cert_sha256);
	h->version = (uint64_t)sqlite3_column_int64(q, 3);
	h->state = sqlite3_column_int(q, 4);
	h->registered_ms = sqlite3_column_int64(q, 5);
	h->contact_ms = sqlite3_column_int64(q, 6);
	h->sessions = (uint64_t)sqlite3_column_int64(q, 7);
}

/* Hands the host rows of Q to FN; *ROWS counts them. Q's connection's lock is held. */
static uint32_t host_rows(sqlite3_stmt *q, fleet_host_fn fn, void *ctx, size_t *rows,
                          rdms_error *err)
{
	uint32_t rc = WBEM_S_NO_ERROR;
	fleet_host h;
	int step;

	*rows = 0;
	while ((step = sqlite3_step(q)) == SQLITE_ROW) {
		host_row(q, &h);
		(*rows)++;
		if (fn(ctx, &h) != 0)
			break;
	}
	if (step != SQLITE_ROW && step != SQLITE_DONE)
		rc = conn_fail(sqlite3_db_handle(q), "reading hosts", err);
	sqlite3_reset(q);
	return rc;
}

static int copy_host(void *ctx, const fleet_host *h)
{
	*(fleet_host *)ctx = *h;
	return 1;
}

static uint32_t sqlite_host_get(fleet_store *st, const char *name, fleet_host *out,
                                rdms_error *err)
{
	reader *r = reader_take(of(st));
	size_t rows;
	uint32_t rc;

	sqlite3_bind_text(r->host_get, 1, name, -1, SQLITE_STATIC);
	rc = host_rows(r->host_get, copy_host, out, &rows, err);
	sqlite3_clear_bindings(r->host_get);
	reader_give(r);
	if (rc == WBEM_S_NO_ERROR && rows == 0)
		rc = rdms_fail(err, WBEM_E_NOT_FOUND, "no host %s", name);
	return rc;
}

static uint32_t sqlite_hosts(fleet_store *st, fleet_host_fn fn, void *ctx, rdms_error *err)
{
	sqlite_store *s = of(st);
	size_t rows;
	uint32_t rc;

	pthread_mutex_lock(&s->lock);
	rc = host_rows(stmt(s, S_HOSTS), fn, ctx, &rows, err);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

static uint32_t sqlite_host_state(fleet_store *st, const char *name, int state, bool force,
                                  int64_t now_ms, rdms_error *err)
{
	sqlite_store *s = of(st);
	enum stmt i = force ? S_HOST_STATE_FORCE : S_HOST_STATE;
	sqlite3_stmt *q;
	uint32_t rc = WBEM_S_NO_ERROR;

	pthread_mutex_lock(&s->lock);
	q = stmt(s, i);
	sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_int(q, 2, state);
	sqlite3_bind_int64(q, 3, now_ms);
	if (!force)
		sqlite3_bind_int64(q, 4, FLEET_CONTACT_MS);
	if (!run(s, i, err)) {
		rc = err->code;
	} else if (sqlite3_changes(s->db) == 0) {
		pthread_mutex_unlock(&s->lock);
		return fleet_host_unchanged(st, name, force, err);
	}
	pthread_mutex_unlock(&s->lock);
	return rc;
}

static uint32_t sqlite_host_reset(fleet_store *st, const char *name, rdms_error *err)
{
	sqlite_store *s = of(st);
	uint32_t rc = WBEM_S_NO_ERROR;
	bool ok;

	pthread_mutex_lock(&s->lock);
	ok = run_plain(s, S_BEGIN, err);
	if (ok) {
		sqlite3_bind_text(stmt(s, S_HOST_RESET), 1, name, -1, SQLITE_STATIC);
		ok = run(s, S_HOST_RESET, err);
	}
	if (ok && sqlite3_changes(s->db) == 0) {
		rc = rdms_fail(err, WBEM_E_NOT_FOUND, "no host %s", name);
		ok = false;
	}
	if (ok) {
		sqlite3_bind_text(stmt(s, S_SESSIONS_RESET), 1, name, -1, SQLITE_STATIC);
		ok = run(s, S_SESSIONS_RESET, err) && run_plain(s, S_COMMIT, err);
	}
	if (!ok) {
		run_plain(s, S_ROLLBACK, &(rdms_error){ 0 });
		if (rc == WBEM_S_NO_ERROR)
			rc = err->code;
	}
	pthread_mutex_unlock(&s->lock);
	return rc;
}

/* ---- writes --------------------------------------------------------------------- */

/*
 * Begins the transaction of a write for HOST and reads its version and
 * state; FLEET_APPLIED to go on, else why not (rolled back, ERR set).
 */
static fleet_apply_rc begin_host(sqlite_store *s, const char *host, uint64_t *version,
                                 int *state, rdms_error *err)
{
	sqlite3_stmt *q;
	int step;

	if (!run_plain(s, S_BEGIN, err))
		return FLEET_FAILED;
	q = stmt(s, S_HOST_VERSION);
	sqlite3_bind_text(q, 1, host, -1, SQLITE_STATIC);
	step = sqlite3_step(q);
	if (step == SQLITE_ROW) {
		*version = (uint64_t)sqlite3_column_int64(q, 0);
		*state = sqlite3_column_int(q, 1);
	}
	sqlite3_reset(q);
	if (step == SQLITE_ROW)
		return FLEET_APPLIED;
	if (step == SQLITE_DONE)
		rdms_fail(err, WBEM_E_NOT_FOUND, "no host %s is registered", host);
	else
		db_fail(s, "reading a host's version", err);
	run_plain(s, S_ROLLBACK, &(rdms_error){ 0 });
	return step == SQLITE_DONE ? FLEET_REFUSED : FLEET_FAILED;
}

/* Ends the write: RC FLEET_APPLIED commits (FLEET_FAILED when that fails), anything else rolls back. */
static fleet_apply_rc end_host(sqlite_store *s, fleet_apply_rc rc, rdms_error *err)
{
	if (rc == FLEET_APPLIED) {
		if (run_plain(s, S_COMMIT, err))
			return rc;
		rc = FLEET_FAILED;
	}
	run_plain(s, S_ROLLBACK, &(rdms_error){ 0 });
	return rc;
}

static bool upsert(sqlite_store *s, const fleet_session *x, uint64_t version, rdms_error *err)
{
	sqlite3_stmt *q = stmt(s, S_UPSERT);

	sqlite3_bind_text(q, 1, x->host, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, x->id);
	bind_text(q, 3, x->vm_name);
	sqlite3_bind_int64(q, 4, x->connect_state);
	bind_text(q, 5, x->user_name);
	bind_text(q, 6, x->domain_name);
	bind_text(q, 7, x->collection_id);
	bind_text(q, 8, x->client_machine_name);
	sqlite3_bind_int64(q, 9, (sqlite3_int64)version);
	return run(s, S_UPSERT, err);
}

static bool host_applied(sqlite_store *s, const char *host, uint64_t version, int64_t now_ms,
                         rdms_error *err)
{
	sqlite3_stmt *q = stmt(s, S_HOST_APPLIED);

	sqlite3_bind_text(q, 1, host, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, (sqlite3_int64)version);
	sqlite3_bind_int64(q, 3, now_ms);
	return run(s, S_HOST_APPLIED, err);
}

static fleet_apply_rc sqlite_apply_batch(fleet_store *st, const char *host,
                                         const fleet_change *ch, size_t n, int64_t now_ms,
                                         uint64_t *version, rdms_error *err)
{
	sqlite_store *s = of(st);
	fleet_apply_rc rc;
	size_t first = 0;
	int state = 0;

	pthread_mutex_lock(&s->lock);
	rc = begin_host(s, host, version, &state, err);
	if (rc != FLEET_APPLIED) {
		pthread_mutex_unlock(&s->lock);
		return rc;
	}
	rc = fleet_plan_batch(*version, state, ch, n, &first, err);
	for (size_t i = first; rc == FLEET_APPLIED && i < n; i++) {
		const fleet_change *c = &ch[i];
		bool ok;

		if (c->kind == FLEET_UPSERT) {
			ok = upsert(s, &c->s, c->version, err);
		} else {
			sqlite3_stmt *q = stmt(s, S_DELETE);

			sqlite3_bind_text(q, 1, host, -1, SQLITE_STATIC);
			sqlite3_bind_int64(q, 2, c->s.id);
			sqlite3_bind_int64(q, 3, (sqlite3_int64)c->version);
			ok = run(s, S_DELETE, err);
		}
		if (!ok)
			rc = FLEET_FAILED;
	}
	if (rc == FLEET_APPLIED && !host_applied(s, host, ch[n - 1].version, now_ms, err))
		rc = FLEET_FAILED;
	rc = end_host(s, rc, err);
	if (rc == FLEET_APPLIED)
		*version = ch[n - 1].version;
	pthread_mutex_unlock(&s->lock);
	return rc;
}

/* Marks session id ID of the snapshot; FLEET_REFUSED when it was marked already. */
static fleet_apply_rc mark(sqlite_store *s, const char *host, uint32_t id, rdms_error *err)
{
	sqlite3_stmt *q = stmt(s, S_MARK);
	int step;

	sqlite3_bind_int64(q, 1, id);
	step = sqlite3_step(q);
	sqlite3_reset(q);
	if (step == SQLITE_DONE)
		return FLEET_APPLIED;
	if (step == SQLITE_CONSTRAINT) {
		rdms_fail(err, WBEM_E_INVALID_PARAMETER, "snapshot of %s: SessionId %" PRIu32
		          " given twice", host, id);
		return FLEET_REFUSED;
	}
	db_fail(s, "marking a session", err);
	return FLEET_FAILED;
}

/*
 * Mark and sweep: the snapshot's ids are marked in a temporary table
 * (which also catches an id given twice), its rows upserted where older,
 * and every unmarked row at or below AT deleted.  Rows above AT cannot
 * exist (the version is at or below AT, or nothing is done), so the sweep
 * removes exactly what ended before AT.
 */
static fleet_apply_rc sqlite_apply_snapshot(fleet_store *st, const char *host, uint64_t at,
                                            const fleet_session *x, size_t n, int64_t now_ms,
                                            rdms_error *err)
{
	sqlite_store *s = of(st);
	fleet_apply_rc rc;
	uint64_t version = 0;
	int state = 0;

	pthread_mutex_lock(&s->lock);
	rc = begin_host(s, host, &version, &state, err);
	if (rc != FLEET_APPLIED) {
		pthread_mutex_unlock(&s->lock);
		return rc;
	}
	if (state == FLEET_INVALID) {
		rdms_fail(err, WBEM_E_ACCESS_DENIED, "host %s is marked invalid", host);
		rc = FLEET_REFUSED;
	} else if (version > at) {
		rc = FLEET_STALE;
	} else if (!run_plain(s, S_MARK_CLEAR, err)) {
		rc = FLEET_FAILED;
	}
	for (size_t i = 0; rc == FLEET_APPLIED && i < n; i++)
		if ((rc = mark(s, host, x[i].id, err)) == FLEET_APPLIED && !upsert(s, &x[i], at, err))
			rc = FLEET_FAILED;
	if (rc == FLEET_APPLIED) {
		sqlite3_stmt *q = stmt(s, S_SWEEP);

		sqlite3_bind_text(q, 1, host, -1, SQLITE_STATIC);
		sqlite3_bind_int64(q, 2, (sqlite3_int64)at);
		if (!run(s, S_SWEEP, err) || !host_applied(s, host, at, now_ms, err))
			rc = FLEET_FAILED;
	}
	rc = end_host(s, rc, err);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

/* ---- reads ---------------------------------------------------------------------- */

static const char *col_text(sqlite3_stmt *q, int i)
{
	return (const char *)sqlite3_column_text(q, i);
}

/* Hands the rows of Q (SESSION_COLS) to FN; *ROWS counts them. */
static uint32_t rows_to(sqlite3_stmt *q, fleet_session_fn fn, void *ctx, size_t *rows,
                        rdms_error *err)
{
	int step;

	*rows = 0;
	while ((step = sqlite3_step(q)) == SQLITE_ROW) {
		fleet_session x = {
			.host = col_text(q, 0), .id = (uint32_t)sqlite3_column_int64(q, 1),
			.vm_name = col_text(q, 2), .connect_state = (uint32_t)sqlite3_column_int64(q, 3),
			.user_name = col_text(q, 4), .domain_name = col_text(q, 5),
			.collection_id = col_text(q, 6), .client_machine_name = col_text(q, 7),
			.version = (uint64_t)sqlite3_column_int64(q, 8),
		};

		(*rows)++;
		if (fn(ctx, &x) != 0)
			break;
	}
	sqlite3_reset(q);
	if (step != SQLITE_ROW && step != SQLITE_DONE)
		return conn_fail(sqlite3_db_handle(q), "reading sessions", err);
	return WBEM_S_NO_ERROR;
}

/* R's page statement of the filters KIND (PAGE_*), prepared at its first use; R is held. */
static sqlite3_stmt *page_stmt(reader *r, unsigned kind, rdms_error *err)
{
	char text[sizeof page_head + sizeof page_tail + 256];
	size_t n = sizeof page_head - 1;

	if (r->page[kind] != NULL) {
		sqlite3_reset(r->page[kind]);
		sqlite3_clear_bindings(r->page[kind]);
		return r->page[kind];
	}
	memcpy(text, page_head, sizeof page_head);
	for (unsigned i = 0; i < sizeof page_cond / sizeof page_cond[0]; i++)
		if (kind & (1u << i)) {
			size_t c = strlen(page_cond[i]);

			memcpy(text + n, page_cond[i], c + 1);
			n += c;
		}
	memcpy(text + n, page_tail, sizeof page_tail);
	if (sqlite3_prepare_v3(r->db, text, -1, SQLITE_PREPARE_PERSISTENT, &r->page[kind],
	                       NULL) != SQLITE_OK) {
		conn_fail(r->db, "preparing a page", err);
		r->page[kind] = NULL;
	}
	return r->page[kind];
}

static uint32_t sqlite_enumerate(fleet_store *st, const fleet_page *p, fleet_session_fn fn,
                                 void *ctx, size_t *rows, rdms_error *err)
{
	unsigned kind = (p->user != NULL ? PAGE_USER : 0) | (p->host != NULL ? PAGE_HOST : 0) |
	                (p->by_id ? PAGE_ID : 0) | (p->by_state ? PAGE_STATE : 0);
	reader *r = reader_take_of(of(st), READERS, PAGERS);
	sqlite3_stmt *q;
	uint32_t rc;

	*rows = 0;
	q = page_stmt(r, kind, err);
	if (q == NULL) {
		reader_give(r);
		return err->code;
	}
	/* from the start: after ("", -1), before every key; a copy, as the row-value
	 * bound is read at every row and a caller may reuse its buffer meanwhile */
	sqlite3_bind_text(q, 1, p->after_host != NULL ? p->after_host : "", -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(q, 2, p->after_host != NULL ? (sqlite3_int64)p->after_id : -1);
	sqlite3_bind_int64(q, 3, (sqlite3_int64)p->limit);
	if (p->user != NULL) {
		sqlite3_bind_text(q, 4, p->user, -1, SQLITE_STATIC);
		bind_text(q, 5, p->domain);
	}
	if (p->host != NULL)
		sqlite3_bind_text(q, 6, p->host, -1, SQLITE_STATIC);
	if (p->by_id)
		sqlite3_bind_int64(q, 7, p->id);
	if (p->by_state)
		sqlite3_bind_int64(q, 8, p->state);
	rc = rows_to(q, fn, ctx, rows, err);
	sqlite3_clear_bindings(q);
	reader_give(r);
	return rc;
}

static uint32_t sqlite_get(fleet_store *st, const char *host, uint32_t id, fleet_session_fn fn,
                           void *ctx, rdms_error *err)
{
	reader *r = reader_take(of(st));
	size_t rows = 0;
	uint32_t rc;

	sqlite3_bind_text(r->get, 1, host, -1, SQLITE_STATIC);
	sqlite3_bind_int64(r->get, 2, id);
	rc = rows_to(r->get, fn, ctx, &rows, err);
	sqlite3_clear_bindings(r->get);
	reader_give(r);
	if (rc == WBEM_S_NO_ERROR && rows == 0)
		rc = rdms_fail(err, WBEM_E_NOT_FOUND, "no session %" PRIu32 " on host %s", id, host);
	return rc;
}

/*
 * SQLite's data_version changes when another connection commits (never
 * for this one's own writes): the cheap way to notice an administrator's
 * `rdms fleet host add` beside a running broker.
 */
static bool sqlite_changed_elsewhere(fleet_store *st)
{
	sqlite_store *s = of(st);
	sqlite3_stmt *q = NULL;
	int64_t v = s->data_version;

	pthread_mutex_lock(&s->lock);
	if (sqlite3_prepare_v2(s->db, "PRAGMA data_version", -1, &q, NULL) == SQLITE_OK &&
	    sqlite3_step(q) == SQLITE_ROW)
		v = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	pthread_mutex_unlock(&s->lock);
	if (v == s->data_version)
		return false;
	s->data_version = v;
	return true;
}

static uint32_t sqlite_secret(fleet_store *st, const char *name,
                              const uint8_t fresh[FLEET_SECRET_BYTES],
                              uint8_t out[FLEET_SECRET_BYTES], rdms_error *err)
{
	sqlite_store *s = of(st);
	sqlite3_stmt *q;
	uint32_t rc = WBEM_S_NO_ERROR;
	int step;

	pthread_mutex_lock(&s->lock);
	q = stmt(s, S_SECRET_ADD);
	sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_blob(q, 2, fresh, FLEET_SECRET_BYTES, SQLITE_STATIC);
	if (!run(s, S_SECRET_ADD, err)) {
		pthread_mutex_unlock(&s->lock);
		return err->code;
	}
	q = stmt(s, S_SECRET);
	sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
	step = sqlite3_step(q);
	if (step == SQLITE_ROW && sqlite3_column_bytes(q, 0) == FLEET_SECRET_BYTES)
		memcpy(out, sqlite3_column_blob(q, 0), FLEET_SECRET_BYTES);
	else if (step == SQLITE_ROW || step == SQLITE_DONE)
		rc = rdms_fail(err, WBEM_E_NOT_AVAILABLE, "session directory: secret %s is not "
		               "%d bytes", name, FLEET_SECRET_BYTES);
	else
		rc = db_fail(s, "reading a secret", err);
	sqlite3_reset(q);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

static const char *sqlite_describe(fleet_store *st)
{
	return of(st)->where;
}

/* ---- brokers and calls ------------------------------------------------------------- */

/* Statement I, bound already, run to its end: *CHANGED whether it changed a row; ERR. */
static uint32_t change_one(sqlite_store *s, enum stmt i, bool *changed, rdms_error *err)
{
	uint32_t rc = WBEM_S_NO_ERROR;

	if (run(s, i, err))
		*changed = sqlite3_changes(s->db) > 0;
	else
		rc = err->code;
	pthread_mutex_unlock(&s->lock);
	return rc;
}

static uint32_t sqlite_broker_get(fleet_store *st, const char *name, bool *found,
                                  char holder[FLEET_HOLDER_MAX + 1], int64_t *age_ms,
                                  int64_t now_ms, rdms_error *err)
{
	sqlite_store *s = of(st);
	sqlite3_stmt *q;
	uint32_t rc = WBEM_S_NO_ERROR;
	int step;

	pthread_mutex_lock(&s->lock);
	q = stmt(s, S_BROKER_GET);
	sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, now_ms);
	step = sqlite3_step(q);
	*found = step == SQLITE_ROW;
	if (*found) {
		str_copy(holder, FLEET_HOLDER_MAX + 1, (const char *)sqlite3_column_text(q, 0));
		*age_ms = sqlite3_column_int64(q, 1);
	} else if (step != SQLITE_DONE) {
		rc = db_fail(s, "reading a broker's lease", err);
	}
	sqlite3_reset(q);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

static uint32_t sqlite_broker_take(fleet_store *st, const char *name, const char *holder,
                                   const char *expect, bool *taken, int64_t now_ms,
                                   rdms_error *err)
{
	sqlite_store *s = of(st);
	sqlite3_stmt *q;

	pthread_mutex_lock(&s->lock);
	q = stmt(s, S_BROKER_TAKE);
	sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, holder, -1, SQLITE_STATIC);
	bind_text(q, 3, expect);
	sqlite3_bind_int64(q, 4, now_ms);
	return change_one(s, S_BROKER_TAKE, taken, err);
}

static uint32_t sqlite_broker_beat(fleet_store *st, const char *name, const char *holder,
                                   bool drop, bool *held, int64_t *store_now, int64_t now_ms,
                                   rdms_error *err)
{
	sqlite_store *s = of(st);
	enum stmt i = drop ? S_BROKER_DROP : S_BROKER_BEAT;
	sqlite3_stmt *q;

	pthread_mutex_lock(&s->lock);
	q = stmt(s, i);
	sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, holder, -1, SQLITE_STATIC);
	if (!drop)
		sqlite3_bind_int64(q, 3, now_ms);
	*store_now = now_ms;           /* one broker: its clock is the store's */
	return change_one(s, i, held, err);
}

static uint32_t sqlite_call_claim(fleet_store *st, const fleet_call *c, bool *claimed,
                                  int64_t now_ms, rdms_error *err)
{
	sqlite_store *s = of(st);
	sqlite3_stmt *q;

	pthread_mutex_lock(&s->lock);
	q = stmt(s, S_CALL_CLAIM);
	bind_text(q, 1, c->caller);
	bind_text(q, 2, c->message_id);
	bind_text(q, 3, c->broker);
	bind_text(q, 4, c->holder);
	bind_text(q, 5, c->source);
	bind_text(q, 6, c->protocol);
	bind_text(q, 7, c->host);
	sqlite3_bind_int64(q, 8, c->session_id);
	bind_text(q, 9, c->method);
	sqlite3_bind_int64(q, 10, now_ms);
	return change_one(s, S_CALL_CLAIM, claimed, err);
}

static uint32_t sqlite_call_get(fleet_store *st, const char *caller, const char *message_id,
                                bool *found, fleet_call_seen *out, rdms_error *err)
{
	sqlite_store *s = of(st);
	sqlite3_stmt *q;
	uint32_t rc = WBEM_S_NO_ERROR;
	int step;

	pthread_mutex_lock(&s->lock);
	q = stmt(s, S_CALL_GET);
	sqlite3_bind_text(q, 1, caller, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, message_id, -1, SQLITE_STATIC);
	step = sqlite3_step(q);
	*found = step == SQLITE_ROW;
	if (*found) {
		const char *state = (const char *)sqlite3_column_text(q, 4);

		str_copy(out->broker, sizeof out->broker, (const char *)sqlite3_column_text(q, 0));
		str_copy(out->host, sizeof out->host, (const char *)sqlite3_column_text(q, 1));
		out->session_id = (uint32_t)sqlite3_column_int64(q, 2);
		str_copy(out->method, sizeof out->method, (const char *)sqlite3_column_text(q, 3));
		out->state = 0;
		for (int k = FLEET_CALL_PENDING; k <= FLEET_CALL_UNKNOWN; k++)
			if (state != NULL && strcmp(state, fleet_call_state_name(k)) == 0)
				out->state = k;
		out->hresult = (uint32_t)sqlite3_column_int64(q, 5);
		out->rv = (uint32_t)sqlite3_column_int64(q, 6);
		str_copy(out->detail, sizeof out->detail, (const char *)sqlite3_column_text(q, 7));
	} else if (step != SQLITE_DONE) {
		rc = db_fail(s, "reading a call", err);
	}
	sqlite3_reset(q);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

static uint32_t sqlite_call_finish(fleet_store *st, const fleet_call *c, int64_t now_ms,
                                   rdms_error *err)
{
	sqlite_store *s = of(st);
	sqlite3_stmt *q;
	bool done;

	pthread_mutex_lock(&s->lock);
	q = stmt(s, S_CALL_FINISH);
	bind_text(q, 1, c->caller);
	bind_text(q, 2, c->message_id);
	bind_text(q, 3, c->holder);
	sqlite3_bind_text(q, 4, fleet_call_state_name(c->state), -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 5, c->hresult);
	sqlite3_bind_int64(q, 6, c->rv);
	bind_text(q, 7, c->detail);
	sqlite3_bind_int64(q, 8, now_ms);
	return change_one(s, S_CALL_FINISH, &done, err);
}

/*
 * Statement I on the calls, with ?1 MS (the lease's, or the time kept), ?2
 * NOW_MS and, when it has one, ?3 LIMIT; *CHANGED how many rows it changed.
 */
static uint32_t calls_change(fleet_store *st, enum stmt i, int64_t ms, int64_t now_ms,
                             int64_t limit, size_t *changed, rdms_error *err)
{
	sqlite_store *s = of(st);
	uint32_t rc = WBEM_S_NO_ERROR;
	sqlite3_stmt *q;

	pthread_mutex_lock(&s->lock);
	q = stmt(s, i);
	sqlite3_bind_int64(q, 1, ms);
	sqlite3_bind_int64(q, 2, now_ms);
	if (sqlite3_bind_parameter_count(q) >= 3)
		sqlite3_bind_int64(q, 3, limit);
	if (run(s, i, err))
		*changed = (size_t)sqlite3_changes(s->db);
	else
		rc = err->code;
	pthread_mutex_unlock(&s->lock);
	return rc;
}

static uint32_t sqlite_calls_sweep(fleet_store *st, int64_t lease_ms, size_t *swept,
                                   int64_t now_ms, rdms_error *err)
{
	return calls_change(st, S_CALLS_SWEEP, lease_ms, now_ms, 0, swept, err);
}

static uint32_t sqlite_calls_prune(fleet_store *st, int64_t keep_ms, size_t max, size_t *pruned,
                                   int64_t now_ms, rdms_error *err)
{
	return calls_change(st, S_CALLS_PRUNE, keep_ms, now_ms,
	                    max > INT64_MAX ? INT64_MAX : (int64_t)max, pruned, err);
}

static const fleet_store_vtbl sqlite_vtbl = {
	.close = sqlite_close,
	.host_add = sqlite_host_add,
	.host_remove = sqlite_host_remove,
	.host_get = sqlite_host_get,
	.hosts = sqlite_hosts,
	.host_state = sqlite_host_state,
	.host_reset = sqlite_host_reset,
	.apply_batch = sqlite_apply_batch,
	.apply_snapshot = sqlite_apply_snapshot,
	.enumerate = sqlite_enumerate,
	.get = sqlite_get,
	.changed_elsewhere = sqlite_changed_elsewhere,
	.secret = sqlite_secret,
	.describe = sqlite_describe,
	.broker_get = sqlite_broker_get,
	.broker_take = sqlite_broker_take,
	.broker_beat = sqlite_broker_beat,
	.call_claim = sqlite_call_claim,
	.call_get = sqlite_call_get,
	.call_finish = sqlite_call_finish,
	.calls_sweep = sqlite_calls_sweep,
	.calls_prune = sqlite_calls_prune,
};
