/*
 * audit.c -- the audit trail in SQLite (audit.h).
 *
 * The daemon shares one connection between its threads, and commits by
 * group: a caller queues its event; whoever finds no commit under way
 * becomes the leader, takes every queued event, inserts them in one
 * transaction and commits it -- with journal_mode=WAL plus synchronous=FULL
 * that is one fsync for the whole group -- then tells each caller of the
 * group its own outcome.  Events queued meanwhile go in the next group,
 * which the leader hands to the committer thread (one wake for the group),
 * and so on while events keep coming.  A caller either waits on its own
 * condition (rdms_audit_record) or -- the privileged process's method
 * calls -- leaves a function that the thread committing its event calls
 * (rdms_audit_record_then): that function sends the method's reply, so
 * the thread serving the call goes back to its channel at once instead of
 * being woken to send it.  Either way concurrent method calls share an
 * fsync, and still no reply leaves before its own row is on disk (a kill
 * -9 loses no acknowledged event); one call alone is committed by its own
 * thread, with no hand-off at all.  WAL lets `rdms audit` read while the
 * daemon writes, and busy_timeout covers a second writer process (another
 * rdmsd, a direct-mode CLI).
 *
 * The WAL is kept allocated: grown once, at open, to the size it reaches
 * before a checkpoint starts it over, with zeros really written, and kept
 * at close (persistent WAL).  Every commit then overwrites blocks the file
 * already has, and an fdatasync that does not change the file's size need
 * not commit the file system's journal too: on this kind of machine (ext4
 * in a VM) 0.2-0.4 ms against 3-4 ms for an fsync that appends.  Without
 * it the WAL grew from nothing at every start, so the first ~500 commits
 * (the first 4 MB) each paid the dearer kind.  Nothing else changes: each
 * commit is still fsynced before its callers return, and zeros past the
 * WAL's last frame are no frame (SQLite stops reading a WAL at the first
 * frame whose checksum fails).
 *
 * Times are stored as text in one fixed UTC format, so that comparing
 * strings compares times and `--since` is a plain indexed range query.
 */
#include "audit.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "../common/log.h"
#include "../common/strutil.h"
#include "../common/thread_name.h"

#define BUSY_TIMEOUT_MS 10000
/* WAL frames written beyond the checkpoint threshold before the checkpoint runs: room for them */
#define WAL_SPARE_FRAMES 256
#define WAL_FRAME_HEADER 24
#define WAL_HEADER       32

/*
 * A caller's event, queued until it is committed: on the stack of a caller
 * that waits on its own condition (so a commit wakes exactly the callers
 * it served, not every thread waiting), or allocated, with the function to
 * call once it is committed, for a caller that does not wait.
 */
struct audit_waiter {
	const rdms_audit_event *ev;
	char                    now[80];
	pthread_cond_t          wake;     /* a waiting caller's */
	rdms_audit_done_fn      then;     /* NULL: the caller waits */
	void                   *then_ctx;
	bool                    done;     /* committed (or failed): return */
	bool                    stored;
	struct audit_waiter    *next;
};

struct rdms_audit_db {
	sqlite3             *db;
	sqlite3_stmt        *insert, *begin, *commit, *rollback;
	pthread_mutex_t      lock;       /* the queue and the counters */
	struct audit_waiter *queue, **queue_tail;
	bool                 leading;    /* a group is being written, or handed to the committer */
	size_t               queued;     /* waiting for the next group */
	unsigned long long   groups, events;
	/* the committer: writes the groups that queued while one was written */
	pthread_t            committer;
	bool                 committer_started;
	pthread_cond_t       handed;     /* the queue was handed to it, or stop */
	pthread_cond_t       idle;       /* nothing is being written any more */
	bool                 handoff, stopping;
	char                 path[PATH_MAX];
};

static void *committer(void *arg);

static const char schema_sql[] =
	"PRAGMA journal_mode=WAL;"
	"PRAGMA synchronous=FULL;"
	/*
	 * Rows are appended and read back in order, never looked up at random:
	 * 64 pages hold the B-trees' right edges.  SQLite's default (2 MB) would
	 * fill with pages the next insert never touches again -- in the
	 * privileged process, for as long as it runs.
	 */
	"PRAGMA cache_size=-256;"
	"CREATE TABLE IF NOT EXISTS audit ("
	" id       INTEGER PRIMARY KEY,"
	" time     TEXT    NOT NULL,"
	" user     TEXT    NOT NULL,"
	" uid      INTEGER NOT NULL,"
	" source   TEXT    NOT NULL,"
	" protocol TEXT    NOT NULL,"
	" target   TEXT    NOT NULL,"
	" method   TEXT    NOT NULL,"
	" result   INTEGER NOT NULL,"
	" detail   TEXT    NOT NULL);"
	"CREATE INDEX IF NOT EXISTS audit_time ON audit(time);";

static const char insert_sql[] =
	"INSERT INTO audit (time, user, uid, source, protocol, target, method, result, detail)"
	" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9);";

static const char select_sql[] =
	"SELECT id, time, user, uid, source, protocol, target, method, result, detail"
	" FROM audit WHERE time >= ?1 ORDER BY id;";

/* Runs a statement without results; true when it finished. */
static bool run_once(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	return rc == SQLITE_DONE;
}

/* Creates the directory holding PATH when it is missing (one level). */
static void make_parent_dir(const char *path)
{
	char dir[PATH_MAX];
	char *slash;

	if (!str_copy(dir, sizeof dir, path))
		return;
	slash = strrchr(dir, '/');
	if (slash == NULL || slash == dir)
		return;
	*slash = '\0';
	if (mkdir(dir, 0755) != 0 && errno != EEXIST)
		log_warn("cannot create %s: %s", dir, strerror(errno));
}

/* An integer PRAGMA's value; -1 when it cannot be read. */
static long long pragma_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	long long v = -1;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* Appends zeros to the open file FD from SIZE up to WANT bytes, then fdatasyncs it. */
static bool zero_fill(int fd, off_t size, off_t want)
{
	static const char zeros[65536];

	while (size < want) {
		size_t n = want - size < (off_t)sizeof zeros ? (size_t)(want - size) : sizeof zeros;
		ssize_t w = pwrite(fd, zeros, n, size);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		size += w;
	}
	return fdatasync(fd) == 0;
}

/*
 * Keeps A's WAL allocated (see the top of this file): persistent, and grown
 * to what it holds at the checkpoint threshold.  It is grown under the
 * write lock (BEGIN IMMEDIATE), so no other writer is appending to it
 * meanwhile, and only past its end, so no frame is touched.  Only an
 * optimisation: when any step fails, the WAL grows as SQLite writes it.
 */
static void keep_wal_allocated(rdms_audit_db *a)
{
	int persist = 1, fd;
	long long page = pragma_int(a->db, "PRAGMA page_size;");
	long long frames = pragma_int(a->db, "PRAGMA wal_autocheckpoint;");
	const char *wal = sqlite3_filename_wal(sqlite3_db_filename(a->db, "main"));
	struct stat sb;
	off_t want;
	bool locked;

	sqlite3_file_control(a->db, "main", SQLITE_FCNTL_PERSIST_WAL, &persist);
	if (page <= 0 || frames <= 0 || wal == NULL)
		return;
	/* another writer at work: not worth waiting for at start */
	sqlite3_busy_timeout(a->db, 0);
	locked = run_once(a->begin);
	sqlite3_busy_timeout(a->db, BUSY_TIMEOUT_MS);
	if (!locked)
		return;
	want = (off_t)(WAL_HEADER + (frames + WAL_SPARE_FRAMES) * (page + WAL_FRAME_HEADER));
	fd = open(wal, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd >= 0 && fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size < want &&
	    !zero_fill(fd, sb.st_size, want))
		log_warn("audit database %s: cannot keep its WAL allocated: %s", a->path,
		         strerror(errno));
	if (fd >= 0)
		close(fd);
	run_once(a->commit);
}

void rdms_audit_close(rdms_audit_db *a)
{
	if (a == NULL)
		return;
	if (a->committer_started) {
		/* it writes what was handed to it first */
		pthread_mutex_lock(&a->lock);
		a->stopping = true;
		pthread_cond_signal(&a->handed);
		pthread_mutex_unlock(&a->lock);
		pthread_join(a->committer, NULL);
	}
	sqlite3_finalize(a->insert);
	sqlite3_finalize(a->begin);
	sqlite3_finalize(a->commit);
	sqlite3_finalize(a->rollback);
	sqlite3_close(a->db);
	pthread_cond_destroy(&a->handed);
	pthread_cond_destroy(&a->idle);
	pthread_mutex_destroy(&a->lock);
	free(a);
}

rdms_audit_db *rdms_audit_open(const char *path, rdms_error *err)
{
	rdms_audit_db *a = calloc(1, sizeof *a);
	char *msg = NULL;
	int rc;

	if (a == NULL) {
		rdms_fail(err, WBEM_E_OUT_OF_MEMORY, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&a->lock, NULL);
	pthread_cond_init(&a->handed, NULL);
	pthread_cond_init(&a->idle, NULL);
	a->queue_tail = &a->queue;
	if (!str_copy(a->path, sizeof a->path, path)) {
		rdms_fail(err, WBEM_E_INVALID_PARAMETER, "audit database path too long");
		rdms_audit_close(a);
		return NULL;
	}
	make_parent_dir(path);
	rc = sqlite3_open_v2(path, &a->db,
	                     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
	                     NULL);
	if (rc == SQLITE_OK) {
		/* Who did what to whose session is private: root only. */
		if (chmod(path, 0600) != 0)
			log_warn("cannot chmod %s: %s", path, strerror(errno));
		sqlite3_busy_timeout(a->db, BUSY_TIMEOUT_MS);
		rc = sqlite3_exec(a->db, schema_sql, NULL, NULL, &msg);
	}
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(a->db, insert_sql, -1, &a->insert, NULL);
	/* IMMEDIATE: the write lock is taken (or waited for) at BEGIN */
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(a->db, "BEGIN IMMEDIATE;", -1, &a->begin, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(a->db, "COMMIT;", -1, &a->commit, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(a->db, "ROLLBACK;", -1, &a->rollback, NULL);
	if (rc != SQLITE_OK) {
		rdms_fail(err, WBEM_E_FAILED, "audit database %s: %s", path,
		          msg != NULL ? msg : a->db != NULL ? sqlite3_errmsg(a->db)
		                                            : sqlite3_errstr(rc));
		sqlite3_free(msg);
		rdms_audit_close(a);
		return NULL;
	}
	keep_wal_allocated(a);
	if (pthread_create(&a->committer, NULL, committer, a) != 0) {
		rdms_fail(err, WBEM_E_FAILED, "audit database %s: cannot start its committer thread",
		          path);
		rdms_audit_close(a);
		return NULL;
	}
	a->committer_started = true;
	return a;
}

/* Now as "YYYY-MM-DDTHH:MM:SS.mmmZ". */
static void utc_now(char *buf, size_t size)
{
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ",
	         tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
	         tm.tm_sec, ts.tv_nsec / 1000000L);
}

static const char *or_dash(const char *s)
{
	return s != NULL && s[0] != '\0' ? s : "-";
}

/* Inserts W's event into the open transaction; true when it went in. */
static bool insert_event(rdms_audit_db *a, const struct audit_waiter *w)
{
	const rdms_audit_event *ev = w->ev;
	const rdms_caller *who = ev->caller;
	int rc;

	sqlite3_bind_text(a->insert, 1, w->now, -1, SQLITE_STATIC);
	sqlite3_bind_text(a->insert, 2, who != NULL ? or_dash(who->user) : "-", -1, SQLITE_STATIC);
	sqlite3_bind_int64(a->insert, 3, who != NULL ? (sqlite3_int64)who->uid : -1);
	sqlite3_bind_text(a->insert, 4, or_dash(who != NULL ? who->source : NULL), -1, SQLITE_STATIC);
	sqlite3_bind_text(a->insert, 5, or_dash(who != NULL ? who->protocol : NULL), -1, SQLITE_STATIC);
	sqlite3_bind_text(a->insert, 6, or_dash(ev->target), -1, SQLITE_STATIC);
	sqlite3_bind_text(a->insert, 7, or_dash(ev->method), -1, SQLITE_STATIC);
	sqlite3_bind_int64(a->insert, 8, (sqlite3_int64)ev->result);
	sqlite3_bind_text(a->insert, 9, ev->detail != NULL ? ev->detail : "", -1, SQLITE_STATIC);
	rc = sqlite3_step(a->insert);
	sqlite3_reset(a->insert);
	sqlite3_clear_bindings(a->insert);
	return rc == SQLITE_DONE;
}

/*
 * Writes the group G (the leader's, taken off the queue) in one transaction
 * and marks each event stored when the transaction committed with it in.
 * Called without the lock: only the leader touches the connection.
 */
static void write_group(rdms_audit_db *a, struct audit_waiter *g)
{
	bool ok = run_once(a->begin);

	for (struct audit_waiter *w = g; ok && w != NULL; w = w->next)
		w->stored = insert_event(a, w);
	if (ok && !run_once(a->commit)) {
		ok = false;
		run_once(a->rollback);
	}
	for (struct audit_waiter *w = g; w != NULL; w = w->next) {
		if (!ok)
			w->stored = false;
		if (!w->stored)
			log_warn("audit database %s: cannot record %s on %s: %s", a->path,
			         or_dash(w->ev->method), or_dash(w->ev->target), sqlite3_errmsg(a->db));
	}
}

/* Takes the whole queue as the next group; A->lock held. */
static struct audit_waiter *take_queue(rdms_audit_db *a)
{
	struct audit_waiter *g = a->queue;

	a->queue = NULL;
	a->queue_tail = &a->queue;
	a->queued = 0;
	return g;
}

/*
 * Writes the group G and tells each of its callers: the functions of those
 * that do not wait are called (no lock held), then the waiting ones are
 * woken.  Then, A->lock held again, what queued meanwhile is handed to the
 * committer, or the writing ends.  Called with A->lock held by the one
 * thread writing (A->leading), which it keeps held on return.
 */
static void commit_group(rdms_audit_db *a, struct audit_waiter *g)
{
	struct audit_waiter *waiting = NULL, **tail = &waiting, *next;
	size_t n = 0;

	pthread_mutex_unlock(&a->lock);
	write_group(a, g);
	for (struct audit_waiter *w = g; w != NULL; w = next, n++) {
		next = w->next;
		if (w->then != NULL) {
			w->then(w->then_ctx, w->stored);
			free(w);
		} else {
			*tail = w;
			tail = &w->next;
		}
	}
	*tail = NULL;
	pthread_mutex_lock(&a->lock);
	for (struct audit_waiter *w = waiting; w != NULL; w = next) {
		next = w->next;     /* W may return (and its stack go) once done and unlocked */
		w->done = true;
		pthread_cond_signal(&w->wake);
	}
	a->groups++;
	a->events += n;
	a->leading = a->queue != NULL;
	if (a->leading) {
		a->handoff = true;
		pthread_cond_signal(&a->handed);
	} else {
		pthread_cond_broadcast(&a->idle);
	}
}

/* Queues W and, when no group is being written, writes it (W's and what queued) at once. */
static void enqueue(rdms_audit_db *a, struct audit_waiter *w)
{
	utc_now(w->now, sizeof w->now);
	pthread_mutex_lock(&a->lock);
	*a->queue_tail = w;
	a->queue_tail = &w->next;
	a->queued++;
	if (!a->leading) {
		a->leading = true;
		commit_group(a, take_queue(a));
	}
}

/* The committer's thread: each group handed to it, until stopped with none. */
static void *committer(void *arg)
{
	rdms_audit_db *a = arg;

	rdms_thread_name("audit");
	pthread_mutex_lock(&a->lock);
	for (;;) {
		while (!a->handoff && !a->stopping)
			pthread_cond_wait(&a->handed, &a->lock);
		if (!a->handoff)
			break;
		a->handoff = false;
		commit_group(a, take_queue(a));
	}
	pthread_mutex_unlock(&a->lock);
	return NULL;
}

int rdms_audit_record(void *ctx, const rdms_audit_event *ev)
{
	rdms_audit_db *a = ctx;
	struct audit_waiter me = { .ev = ev };

	pthread_cond_init(&me.wake, NULL);
	enqueue(a, &me);
	while (!me.done)
		pthread_cond_wait(&me.wake, &a->lock);
	pthread_mutex_unlock(&a->lock);
	pthread_cond_destroy(&me.wake);
	return me.stored ? 0 : -1;
}

int rdms_audit_record_then(rdms_audit_db *a, const rdms_audit_event *ev, rdms_audit_done_fn then,
                           void *then_ctx)
{
	struct audit_waiter *w = calloc(1, sizeof *w);

	if (w == NULL)
		return -1;
	*w = (struct audit_waiter){ .ev = ev, .then = then, .then_ctx = then_ctx };
	enqueue(a, w);
	pthread_mutex_unlock(&a->lock);
	return 0;
}

void rdms_audit_flush(rdms_audit_db *a)
{
	pthread_mutex_lock(&a->lock);
	while (a->leading)
		pthread_cond_wait(&a->idle, &a->lock);
	pthread_mutex_unlock(&a->lock);
}

void rdms_audit_stats(rdms_audit_db *a, rdms_audit_counts *out)
{
	pthread_mutex_lock(&a->lock);
	out->groups = a->groups;
	out->events = a->events;
	out->queued = a->queued;
	out->writing = a->leading;
	pthread_mutex_unlock(&a->lock);
}

/* Parses the "HH:MM[:SS[.fff]]" part. */
static bool parse_clock(const char **p, struct tm *tm)
{
	if (!str_take_digits(p, 2, &tm->tm_hour) || !str_take_char(p, ':') ||
	    !str_take_digits(p, 2, &tm->tm_min))
		return false;
	if (**p != ':')
		return true;
	(*p)++;
	if (!str_take_digits(p, 2, &tm->tm_sec))
		return false;
	if (**p == '.') {
		(*p)++;
		if (**p < '0' || **p > '9')
			return false;
		while (**p >= '0' && **p <= '9')
			(*p)++;   /* fractions do not matter at one-second resolution */
	}
	return true;
}

/* Parses "", "Z" or "+HH:MM"/"-HH:MM" into seconds east of UTC. */
static bool parse_zone(const char **p, long *offset)
{
	int sign, hh, mm;

	*offset = 0;
	if (**p == '\0')
		return true;
	if (**p == 'Z' || **p == 'z') {
		(*p)++;
		return true;
	}
	if (**p != '+' && **p != '-')
		return false;
	sign = **p == '-' ? -1 : 1;
	(*p)++;
	if (!str_take_digits(p, 2, &hh))
		return false;
	(void)str_take_char(p, ':');
	if (!str_take_digits(p, 2, &mm) || hh > 23 || mm > 59)
		return false;
	*offset = sign * (hh * 3600L + mm * 60L);
	return true;
}

uint32_t rdms_audit_normalize_time(const char *text, char *out, size_t size,
                              rdms_error *err)
{
	const char *p = text;
	struct tm tm = { 0 }, back;
	long offset = 0;
	time_t t;
	bool ok;

	ok = str_take_digits(&p, 4, &tm.tm_year) && str_take_char(&p, '-') &&
	     str_take_digits(&p, 2, &tm.tm_mon) && str_take_char(&p, '-') &&
	     str_take_digits(&p, 2, &tm.tm_mday);
	if (ok && (*p == 'T' || *p == 't' || *p == ' ')) {
		p++;
		ok = parse_clock(&p, &tm);
	}
	ok = ok && parse_zone(&p, &offset) && *p == '\0';
	if (!ok)
		return rdms_fail(err, WBEM_E_INVALID_PARAMETER,
		                 "bad time '%s' at column %zu: expected YYYY-MM-DD[THH:MM[:SS]][Z|+HH:MM]",
		                 text, (size_t)(p - text) + 1);
	/* timegm() normalises 2024-02-30 to March; a round trip catches it. */
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	back = tm;
	t = timegm(&tm);
	if (t == (time_t)-1 || tm.tm_mday != back.tm_mday || tm.tm_mon != back.tm_mon ||
	    tm.tm_hour != back.tm_hour || tm.tm_min != back.tm_min || back.tm_sec > 59)
		return rdms_fail(err, WBEM_E_INVALID_PARAMETER, "no such time: '%s'", text);
	t -= offset;
	gmtime_r(&t, &tm);
	if (size < 20)
		return rdms_fail(err, WBEM_E_INVALID_PARAMETER, "time buffer too small");
	snprintf(out, size, "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900,
	         tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
	return WBEM_S_NO_ERROR;
}

static void row_entry(sqlite3_stmt *st, rdms_audit_entry *e)
{
	e->id = sqlite3_column_int64(st, 0);
	e->time = (const char *)sqlite3_column_text(st, 1);
	e->user = (const char *)sqlite3_column_text(st, 2);
	e->uid = sqlite3_column_int64(st, 3);
	e->source = (const char *)sqlite3_column_text(st, 4);
	e->protocol = (const char *)sqlite3_column_text(st, 5);
	e->target = (const char *)sqlite3_column_text(st, 6);
	e->method = (const char *)sqlite3_column_text(st, 7);
	e->result = (uint32_t)sqlite3_column_int64(st, 8);
	e->detail = (const char *)sqlite3_column_text(st, 9);
}

uint32_t rdms_audit_query(const char *db_path, const char *since, rdms_audit_row_fn fn,
                     void *ctx, rdms_error *err)
{
	char from[32] = "";
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	struct stat sb;
	uint32_t ret = WBEM_S_NO_ERROR;
	int rc;

	if (since != NULL && rdms_audit_normalize_time(since, from, sizeof from, err) != 0)
		return err != NULL ? err->code : WBEM_E_INVALID_PARAMETER;
	if (stat(db_path, &sb) != 0)
		return rdms_fail(err, errno == ENOENT ? WBEM_E_NOT_FOUND : WBEM_E_ACCESS_DENIED,
		                 "audit database %s: %s", db_path, strerror(errno));
	rc = sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_busy_timeout(db, BUSY_TIMEOUT_MS);
		rc = sqlite3_prepare_v2(db, select_sql, -1, &st, NULL);
	}
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 1, from, -1, SQLITE_STATIC);
	while (rc == SQLITE_OK || rc == SQLITE_ROW) {
		rdms_audit_entry e;

		rc = sqlite3_step(st);
		if (rc != SQLITE_ROW)
			break;
		row_entry(st, &e);
		if (fn(ctx, &e) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	if (rc != SQLITE_DONE)
		ret = rdms_fail(err, WBEM_E_FAILED, "audit database %s: %s", db_path,
		                db != NULL ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
	sqlite3_finalize(st);
	sqlite3_close(db);
	return ret;
}

uint32_t rdms_audit_read(void *ctx, const char *since, rdms_audit_row_fn fn, void *fn_ctx,
                         rdms_error *err)
{
	const rdms_config *cfg = ctx;

	return rdms_audit_query(cfg->audit_db, since, fn, fn_ctx, err);
}
