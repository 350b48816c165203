/*
 * feed_store.c -- the change feed in SQLite (feed_store.h).
 *
 *   meta(k, v)          'epoch', and 'floor_epoch'/'floor_seq': the journal's floor
 *   events(epoch, seq, time_us, kind, t_*, p_*)   the journal, t_ target, p_ previous
 *   sessions(backend, id, ...)                    each back-end's last listing
 *   staged(key, epoch, seq, ...)                  events not yet published: a broker's
 *                                                 batch, written before its directory's
 *                                                 commit (the events columns; epoch: the
 *                                                 key's position, seq: the index)
 *
 * A fleet broker's journal (src/fleet/events.h) is the same table: its
 * sessions carry their host and its properties (t_host, t_vm, t_domain,
 * t_collection, and p_ the same; NULL in a host's journal, and added to a
 * journal made before they existed), and it has no listings (its
 * directory is its state), so its events leave the sessions table alone.
 *
 * A session is stored as its columns (no private blob format), so
 * `sqlite3 events.db` shows what rdmsd knows.  The store is the feed's
 * sink: it is called under the feed's lock with each batch, and keeps the
 * sessions table equal to the feed's listings by applying the batch's
 * creations, modifications and deletions.
 */
#include "feed_store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sqlite3.h>

#include "../common/log.h"
#include "feed_internal.h"

#define BUSY_TIMEOUT_MS 5000

struct rdms_feed_store {
	sqlite3       *db;
	char          *path;
	sqlite3_stmt  *put_event, *put_session, *del_session, *put_meta, *prune;
	sqlite3_stmt  *put_staged, *del_staged;
	const char    *unstage;     /* store_batch drops this key's staged batch too */
	rdms_feed_pos  pruned;      /* the floor as last written */
	unsigned long  failures;
};

/* An event's columns but its host's (ORIGIN_COLS, added to the events table later). */
#define EVENT_COLS_DEF \
	" epoch INTEGER NOT NULL, seq INTEGER NOT NULL, time_us INTEGER NOT NULL," \
	" kind INTEGER NOT NULL," \
	" t_backend TEXT, t_id INTEGER, t_state INTEGER, t_uid INTEGER, t_display INTEGER," \
	" t_logon INTEGER, t_pid INTEGER, t_user TEXT, t_client TEXT, t_addr TEXT," \
	" p_backend TEXT, p_id INTEGER, p_state INTEGER, p_uid INTEGER, p_display INTEGER," \
	" p_logon INTEGER, p_pid INTEGER, p_user TEXT, p_client TEXT, p_addr TEXT,"

static const char schema_sql[] =
	"PRAGMA journal_mode=WAL;"
	"PRAGMA cache_size=-256;"
	"CREATE TABLE IF NOT EXISTS meta(k TEXT PRIMARY KEY, v INTEGER NOT NULL) WITHOUT ROWID;"
	"CREATE TABLE IF NOT EXISTS events(" EVENT_COLS_DEF
	" PRIMARY KEY(epoch, seq)) WITHOUT ROWID;"
	"CREATE TABLE IF NOT EXISTS sessions("
	" backend TEXT NOT NULL, id INTEGER NOT NULL, state INTEGER, uid INTEGER,"
	" display INTEGER, logon INTEGER, pid INTEGER, user TEXT, client TEXT, addr TEXT,"
	" PRIMARY KEY(backend, id)) WITHOUT ROWID;"
	"CREATE TABLE IF NOT EXISTS staged(key TEXT NOT NULL," EVENT_COLS_DEF
	" t_host TEXT, t_vm TEXT, t_domain TEXT, t_collection TEXT,"
	" p_host TEXT, p_vm TEXT, p_domain TEXT, p_collection TEXT,"
	" PRIMARY KEY(key, seq)) WITHOUT ROWID;";

#define SESSION_COLS "backend, id, state, uid, display, logon, pid, user, client, addr"
#define EVENT_COLS "epoch, seq, time_us, kind, t_backend, t_id, t_state, t_uid, t_display, " \
	"t_logon, t_pid, t_user, t_client, t_addr, p_backend, p_id, p_state, p_uid, p_display, " \
	"p_logon, p_pid, p_user, p_client, p_addr, " ORIGIN_COLS
/* a broker's: the session's host and its properties there (added after the rest) */
#define ORIGIN_COLS "t_host, t_vm, t_domain, t_collection, p_host, p_vm, p_domain, p_collection"
static const char *const origin_cols[] = {
	"t_host", "t_vm", "t_domain", "t_collection", "p_host", "p_vm", "p_domain", "p_collection",
};

/* ---- sessions as columns ------------------------------------------------------------ */

/* Binds ES to the 10 parameters from FIRST on (NULL ES: all NULL). */
static void bind_session(sqlite3_stmt *st, int first, const rdms_event_session *es)
{
	if (es == NULL || es->user == NULL) {
		for (int i = 0; i < 10; i++)
			sqlite3_bind_null(st, first + i);
		return;
	}
	sqlite3_bind_text(st, first, es->backend != NULL ? es->backend : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, first + 1, es->id);
	sqlite3_bind_int64(st, first + 2, es->connect_state);
	sqlite3_bind_int64(st, first + 3, es->uid);
	sqlite3_bind_int64(st, first + 4, es->display);
	sqlite3_bind_int64(st, first + 5, es->logon_time);
	sqlite3_bind_int64(st, first + 6, es->server_pid);
	sqlite3_bind_text(st, first + 7, es->user, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, first + 8, es->client, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, first + 9, es->client_addr, -1, SQLITE_STATIC);
}

/* Binds ES's host and its properties to the 4 parameters from FIRST on (NULL ES: all NULL). */
static void bind_origin(sqlite3_stmt *st, int first, const rdms_event_session *es)
{
	rdms_event_origin o = { 0 };

	if (es != NULL)
		rdms_event_session_origin(es, &o);     /* none: all NULL */
	sqlite3_bind_text(st, first, o.host, -1, SQLITE_STATIC);   /* NULL binds NULL */
	sqlite3_bind_text(st, first + 1, o.vm_name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, first + 2, o.domain, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, first + 3, o.collection, -1, SQLITE_STATIC);
}

static const char *column_text(sqlite3_stmt *st, int col)
{
	const unsigned char *t = sqlite3_column_text(st, col);

	return t != NULL ? (const char *)t : "";
}

/* Column COL's text, NULL when it is NULL. */
static const char *column_text_null(sqlite3_stmt *st, int col)
{
	return (const char *)sqlite3_column_text(st, col);
}

/*
 * Reads the 10 columns from FIRST on, and the 4 of its host from ORIGIN
 * on (-1: none), into OUT.  A host's session must be of a back-end this
 * rdmsd knows (its name is kept by reference); a broker's has its host
 * instead.  False when it is neither, or when out of memory.
 */
static bool read_session(sqlite3_stmt *st, int first, int origin, rdms_event_session *out)
{
	const unsigned char *name = sqlite3_column_text(st, first);
	const rdms_backend *b = name != NULL ? rdms_backend_find((const char *)name) : NULL;
	rdms_event_origin o = { 0 };

	memset(out, 0, sizeof *out);
	if (origin >= 0)
		o.host = column_text_null(st, origin);
	if (b == NULL && o.host == NULL)
		return false;
	out->backend = b != NULL ? b->name : NULL;
	out->id = (uint32_t)sqlite3_column_int64(st, first + 1);
	out->connect_state = (uint32_t)sqlite3_column_int64(st, first + 2);
	out->uid = (uint32_t)sqlite3_column_int64(st, first + 3);
	out->display = (int32_t)sqlite3_column_int64(st, first + 4);
	out->logon_time = sqlite3_column_int64(st, first + 5);
	out->server_pid = (int32_t)sqlite3_column_int64(st, first + 6);
	if (o.host != NULL) {
		o.vm_name = column_text_null(st, origin + 1);
		o.domain = column_text_null(st, origin + 2);
		o.collection = column_text_null(st, origin + 3);
	}
	/* (each pointer stays good while the other columns are read) */
	if (rdms_event_session_set(out, column_text(st, first + 7), column_text(st, first + 8),
	                           column_text(st, first + 9), o.host != NULL ? &o : NULL))
		return true;
	memset(out, 0, sizeof *out);
	return false;
}

/* ---- writing --------------------------------------------------------------------------- */

static bool step_done(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_DONE;
}

static bool put_meta(rdms_feed_store *st, const char *k, uint64_t v)
{
	sqlite3_bind_text(st->put_meta, 1, k, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st->put_meta, 2, (sqlite3_int64)v);
	return step_done(st->put_meta);
}

/* Binds EV, at position POS, to S's EVENT_COLS from parameter FIRST on. */
static void bind_event(sqlite3_stmt *s, int first, const rdms_event *ev, rdms_feed_pos pos)
{
	const int o = first - 1;

	sqlite3_bind_int64(s, o + 1, (sqlite3_int64)pos.epoch);
	sqlite3_bind_int64(s, o + 2, (sqlite3_int64)pos.seq);
	sqlite3_bind_int64(s, o + 3, ev->time_us);
	sqlite3_bind_int64(s, o + 4, ev->kind);
	bind_session(s, o + 5, &ev->target);
	bind_session(s, o + 15, ev->kind == RDMS_EVENT_MODIFICATION ? &ev->previous : NULL);
	bind_origin(s, o + 25, &ev->target);
	bind_origin(s, o + 29, ev->kind == RDMS_EVENT_MODIFICATION ? &ev->previous : NULL);
}

/* Reads the EVENT_COLS of Q from column FIRST on into *EV; false for a bad row. */
static bool read_event(sqlite3_stmt *q, int first, rdms_event *ev)
{
	memset(ev, 0, sizeof *ev);
	ev->pos = (rdms_feed_pos){ (uint64_t)sqlite3_column_int64(q, first),
	                           (uint64_t)sqlite3_column_int64(q, first + 1) };
	ev->time_us = sqlite3_column_int64(q, first + 2);
	ev->kind = (uint8_t)sqlite3_column_int64(q, first + 3);
	return read_session(q, first + 4, first + 24, &ev->target) &&
	       (ev->kind != RDMS_EVENT_MODIFICATION ||
	        read_session(q, first + 14, first + 28, &ev->previous));
}

static bool write_event(rdms_feed_store *st, const rdms_event *ev)
{
	sqlite3_stmt *s = st->put_event;
	bool ok;

	bind_event(s, 1, ev, ev->pos);
	ok = step_done(s);
	if (!ok || ev->target.fleet)
		return ok;     /* a broker's event: no listing to follow */
	/* the sessions table follows the feed's listing */
	if (ev->kind == RDMS_EVENT_DELETION) {
		sqlite3_bind_text(st->del_session, 1, ev->target.backend, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st->del_session, 2, ev->target.id);
		return step_done(st->del_session);
	}
	bind_session(st->put_session, 1, &ev->target);
	return step_done(st->put_session);
}

/* Deletes the events the journal dropped (up to its floor). */
static bool prune_to(rdms_feed_store *st, rdms_feed_pos floor)
{
	if (rdms_feed_pos_cmp(floor, st->pruned) <= 0)
		return true;
	sqlite3_bind_int64(st->prune, 1, (sqlite3_int64)floor.epoch);
	sqlite3_bind_int64(st->prune, 2, (sqlite3_int64)floor.seq);
	if (!step_done(st->prune) || !put_meta(st, "floor_epoch", floor.epoch) ||
	    !put_meta(st, "floor_seq", floor.seq))
		return false;
	st->pruned = floor;
	return true;
}

/* The feed's sink: one transaction per batch, under the feed's lock. */
static void store_batch(void *ctx, const rdms_feed *f, const rdms_event *batch, size_t n)
{
	rdms_feed_store *st = ctx;
	bool ok;

	if (n == 0)
		return;
	ok = sqlite3_exec(st->db, "BEGIN IMMEDIATE;", NULL, NULL, NULL) == SQLITE_OK;
	for (size_t i = 0; ok && i < n; i++)
		ok = write_event(st, &batch[i]);
	if (ok)
		ok = prune_to(st, f->floor);
	if (ok && st->unstage != NULL) {
		sqlite3_bind_text(st->del_staged, 1, st->unstage, -1, SQLITE_STATIC);
		ok = step_done(st->del_staged);
	}
	if (ok)
		ok = sqlite3_exec(st->db, "COMMIT;", NULL, NULL, NULL) == SQLITE_OK;
	if (!ok) {
		st->failures++;
		log_warn("events database %s: a batch of %zu events was not stored: %s", st->path, n,
		         sqlite3_errmsg(st->db));
		sqlite3_exec(st->db, "ROLLBACK;", NULL, NULL, NULL);
	}
}

/* ---- opening ---------------------------------------------------------------------------- */

/*
 * The columns of a broker's sessions, added to a journal made before them
 * (a host's events.db of an older rdmsd); true when they are there.
 */
static bool add_origin_columns(sqlite3 *db)
{
	sqlite3_stmt *q;
	bool has = false;

	if (sqlite3_prepare_v2(db, "SELECT 1 FROM pragma_table_info('events') WHERE name = ?;", -1,
	                       &q, NULL) != SQLITE_OK)
		return false;
	sqlite3_bind_text(q, 1, origin_cols[0], -1, SQLITE_STATIC);
	has = sqlite3_step(q) == SQLITE_ROW;
	sqlite3_finalize(q);
	if (has)
		return true;
	/* all of them or none */
	if (sqlite3_exec(db, "BEGIN IMMEDIATE;", NULL, NULL, NULL) != SQLITE_OK)
		return false;
	for (size_t i = 0; i < sizeof origin_cols / sizeof origin_cols[0]; i++) {
		char sql[96];

		snprintf(sql, sizeof sql, "ALTER TABLE events ADD COLUMN %s TEXT;", origin_cols[i]);
		if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK) {
			sqlite3_exec(db, "ROLLBACK;", NULL, NULL, NULL);
			return false;
		}
	}
	return sqlite3_exec(db, "COMMIT;", NULL, NULL, NULL) == SQLITE_OK;
}

static uint64_t get_meta(sqlite3 *db, const char *k)
{
	sqlite3_stmt *st;
	uint64_t v = 0;

	if (sqlite3_prepare_v2(db, "SELECT v FROM meta WHERE k = ?;", -1, &st, NULL) != SQLITE_OK)
		return 0;
	sqlite3_bind_text(st, 1, k, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = (uint64_t)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* The epoch of this run: the last one plus one, on disk before it is used. */
static bool raise_epoch(rdms_feed_store *st, uint64_t *epoch)
{
	bool ok;

	/* a full sync for this one commit: an epoch must never come twice */
	if (sqlite3_exec(st->db, "PRAGMA synchronous=FULL; BEGIN IMMEDIATE;", NULL, NULL, NULL) !=
	    SQLITE_OK)
		return false;
	*epoch = get_meta(st->db, "epoch") + 1;
	ok = put_meta(st, "epoch", *epoch) &&
	     sqlite3_exec(st->db, "COMMIT;", NULL, NULL, NULL) == SQLITE_OK;
	if (!ok)
		sqlite3_exec(st->db, "ROLLBACK;", NULL, NULL, NULL);
	return ok && sqlite3_exec(st->db, "PRAGMA synchronous=NORMAL;", NULL, NULL, NULL) ==
	             SQLITE_OK;
}

/* The kept journal and listings into F; counts what could not be read back. */
static bool restore(rdms_feed_store *st, rdms_feed *f, size_t *skipped)
{
	sqlite3_stmt *q;
	int rc;

	st->pruned = (rdms_feed_pos){ get_meta(st->db, "floor_epoch"),
	                              get_meta(st->db, "floor_seq") };
	rdms_feed_restore_floor(f, st->pruned);
	if (sqlite3_prepare_v2(st->db, "SELECT " EVENT_COLS " FROM events ORDER BY epoch, seq;", -1,
	                       &q, NULL) != SQLITE_OK)
		return false;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		rdms_event ev;

		if (!read_event(q, 0, &ev) || !rdms_feed_restore_event(f, &ev)) {
			/* an unknown back-end, a bad row: the journal goes on without it */
			rdms_event_clear(&ev);
			(*skipped)++;
		}
	}
	sqlite3_finalize(q);
	if (rc != SQLITE_DONE)
		return false;
	if (sqlite3_prepare_v2(st->db, "SELECT " SESSION_COLS " FROM sessions ORDER BY backend, id;",
	                       -1, &q, NULL) != SQLITE_OK)
		return false;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		rdms_event_session es;

		if (!read_session(q, 0, -1, &es) || !rdms_feed_restore_session(f, es.backend, &es)) {
			rdms_event_session_clear(&es);
			(*skipped)++;
		}
	}
	sqlite3_finalize(q);
	/* a new database: the feed's own start, (epoch, 0) */
	if (st->pruned.epoch == 0 && rdms_feed_pos_cmp(f->last, st->pruned) == 0)
		rdms_feed_restore_floor(f, (rdms_feed_pos){ f->epoch, 0 });
	return rc == SQLITE_DONE;
}

static void store_free(rdms_feed_store *st)
{
	if (st == NULL)
		return;
	sqlite3_finalize(st->put_event);
	sqlite3_finalize(st->put_session);
	sqlite3_finalize(st->del_session);
	sqlite3_finalize(st->put_meta);
	sqlite3_finalize(st->prune);
	sqlite3_finalize(st->put_staged);
	sqlite3_finalize(st->del_staged);
	sqlite3_close(st->db);
	free(st->path);
	free(st);
}

uint32_t rdms_feed_store_open(const char *path, const rdms_feed_limits *limits,
                              rdms_feed_store **store, rdms_feed **feed, rdms_error *err)
{
	rdms_feed_store *st = calloc(1, sizeof *st);
	rdms_feed *f = NULL;
	uint64_t epoch = 0;
	size_t skipped = 0;
	char *msg = NULL;
	int rc;

	*store = NULL;
	*feed = NULL;
	if (st == NULL || (st->path = strdup(path)) == NULL) {
		store_free(st);
		return rdms_fail(err, WBEM_E_OUT_OF_MEMORY, "out of memory");
	}
	rc = sqlite3_open_v2(path, &st->db,
	                     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, NULL);
	if (rc == SQLITE_OK) {
		/* who was logged on when, from where: root only */
		if (chmod(path, 0600) != 0)
			log_warn("cannot chmod %s: %s", path, strerror(errno));
		sqlite3_busy_timeout(st->db, BUSY_TIMEOUT_MS);
		rc = sqlite3_exec(st->db, schema_sql, NULL, NULL, &msg);
	}
	if (rc == SQLITE_OK && !add_origin_columns(st->db))
		rc = SQLITE_ERROR;
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(st->db, "INSERT OR REPLACE INTO events (" EVENT_COLS ") "
		                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
		                        "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?);",
		                        -1, &st->put_event, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(st->db, "INSERT OR REPLACE INTO sessions (" SESSION_COLS
		                        ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?);", -1,
		                        &st->put_session, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(st->db, "DELETE FROM sessions WHERE backend = ? AND id = ?;",
		                        -1, &st->del_session, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(st->db, "INSERT OR REPLACE INTO meta VALUES (?, ?);", -1,
		                        &st->put_meta, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(st->db, "DELETE FROM events WHERE epoch < ?1 OR "
		                        "(epoch = ?1 AND seq <= ?2);", -1, &st->prune, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(st->db, "INSERT OR REPLACE INTO staged (key, " EVENT_COLS ") "
		                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
		                        "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?);",
		                        -1, &st->put_staged, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(st->db, "DELETE FROM staged WHERE key = ?;", -1,
		                        &st->del_staged, NULL);
	if (rc == SQLITE_OK && !raise_epoch(st, &epoch))
		rc = SQLITE_ERROR;
	if (rc == SQLITE_OK && (f = rdms_feed_new(epoch, limits)) == NULL)
		rc = SQLITE_NOMEM;
	if (rc == SQLITE_OK && !restore(st, f, &skipped))
		rc = SQLITE_ERROR;
	if (rc != SQLITE_OK) {
		rdms_fail(err, WBEM_E_FAILED, "events database %s: %s", path,
		          msg != NULL ? msg : st->db != NULL ? sqlite3_errmsg(st->db) : sqlite3_errstr(rc));
		sqlite3_free(msg);
		rdms_feed_free(f);
		store_free(st);
		return WBEM_E_FAILED;
	}
	if (skipped > 0)
		log_warn("events database %s: %zu kept rows could not be read back (a back-end no "
		         "longer served?)", path, skipped);
	f->sink = store_batch;
	f->sink_ctx = st;
	*store = st;
	*feed = f;
	return WBEM_S_NO_ERROR;
}

void rdms_feed_store_close(rdms_feed_store *st, rdms_feed *feed)
{
	rdms_feed_free(feed);
	store_free(st);
}

unsigned long rdms_feed_store_failures(const rdms_feed_store *st)
{
	return st != NULL ? st->failures : 0;
}

/* ---- staged events ---------------------------------------------------------------------- */

bool rdms_feed_store_stage(rdms_feed_store *st, const char *key, uint64_t at,
                           const rdms_event *ev, size_t n)
{
	bool ok = sqlite3_exec(st->db, "BEGIN IMMEDIATE;", NULL, NULL, NULL) == SQLITE_OK;

	if (ok) {
		sqlite3_bind_text(st->del_staged, 1, key, -1, SQLITE_STATIC);
		ok = step_done(st->del_staged);
	}
	for (size_t i = 0; ok && i < n; i++) {
		sqlite3_bind_text(st->put_staged, 1, key, -1, SQLITE_STATIC);
		bind_event(st->put_staged, 2, &ev[i], (rdms_feed_pos){ at, i });
		ok = step_done(st->put_staged);
	}
	if (ok)
		ok = sqlite3_exec(st->db, "COMMIT;", NULL, NULL, NULL) == SQLITE_OK;
	if (!ok) {
		st->failures++;
		log_warn("events database %s: %zu events of %s not staged: %s", st->path, n, key,
		         sqlite3_errmsg(st->db));
		sqlite3_exec(st->db, "ROLLBACK;", NULL, NULL, NULL);
	}
	return ok;
}

bool rdms_feed_store_publish_staged(rdms_feed_store *st, rdms_feed *feed, const char *key,
                                    rdms_event *ev, size_t n, int64_t now_us)
{
	unsigned long failures = st->failures;
	bool ok;

	st->unstage = key;
	ok = rdms_feed_publish(feed, ev, n, now_us);
	st->unstage = NULL;
	if (!ok || st->failures != failures)
		rdms_feed_store_unstage(st, key);     /* not to be published twice */
	return ok;
}

void rdms_feed_store_unstage(rdms_feed_store *st, const char *key)
{
	sqlite3_bind_text(st->del_staged, 1, key, -1, SQLITE_STATIC);
	if (!step_done(st->del_staged))
		log_warn("events database %s: the staged events of %s stay: %s", st->path, key,
		         sqlite3_errmsg(st->db));
}

/* One key's staged events, read so far. */
typedef struct staged_batch {
	char       *key;
	uint64_t    at;
	rdms_event *ev;
	size_t      n, cap;
} staged_batch;

static void staged_clear(staged_batch *b)
{
	for (size_t i = 0; i < b->n; i++)
		rdms_event_clear(&b->ev[i]);
	free(b->ev);
	free(b->key);
	memset(b, 0, sizeof *b);
}

/* Hands B to FN: published, or dropped (its events cleared, its key unstaged); B emptied. */
static void staged_hand(rdms_feed_store *st, staged_batch *b, rdms_staged_fn fn, void *ctx)
{
	if (b->key != NULL && fn(ctx, b->key, b->at, b->ev, b->n)) {
		free(b->ev);          /* the feed has the texts */
		b->ev = NULL;
		b->n = 0;
	} else if (b->key != NULL) {
		rdms_feed_store_unstage(st, b->key);
	}
	staged_clear(b);
}

uint32_t rdms_feed_store_staged(rdms_feed_store *st, rdms_staged_fn fn, void *ctx,
                                rdms_error *err)
{
	sqlite3_stmt *q;
	staged_batch b = { 0 };
	int rc;
	size_t skipped = 0;

	if (sqlite3_prepare_v2(st->db, "SELECT key, " EVENT_COLS " FROM staged ORDER BY key, seq;",
	                       -1, &q, NULL) != SQLITE_OK)
		return rdms_fail(err, WBEM_E_FAILED, "events database %s: %s", st->path,
		                 sqlite3_errmsg(st->db));
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		const char *key = column_text(q, 0);
		rdms_event ev;

		if (b.key != NULL && strcmp(b.key, key) != 0)
			staged_hand(st, &b, fn, ctx);
		if (b.key == NULL) {
			if ((b.key = strdup(key)) == NULL)
				break;
			b.at = (uint64_t)sqlite3_column_int64(q, 1);
		}
		if (b.n == b.cap) {
			size_t cap = b.cap != 0 ? b.cap * 2 : 16;
			rdms_event *grown = realloc(b.ev, cap * sizeof *grown);

			if (grown == NULL)
				break;
			b.ev = grown;
			b.cap = cap;
		}
		if (read_event(q, 1, &ev))
			b.ev[b.n++] = ev;
		else
			skipped++;
	}
	sqlite3_finalize(q);
	if (rc == SQLITE_DONE)
		staged_hand(st, &b, fn, ctx);
	staged_clear(&b);
	if (skipped > 0)
		log_warn("events database %s: %zu staged rows could not be read back", st->path,
		         skipped);
	if (rc == SQLITE_DONE)
		return WBEM_S_NO_ERROR;
	if (rc == SQLITE_ROW)
		return rdms_fail(err, WBEM_E_OUT_OF_MEMORY, "out of memory reading staged events");
	return rdms_fail(err, WBEM_E_FAILED, "events database %s: %s", st->path,
	                 sqlite3_errmsg(st->db));
}
