/*
 * test_audit.c -- the audit database: recording, concurrent writers, group
 * commit (waiting, or told later) and answers only after their fsync, its
 * WAL kept allocated (and nothing lost to a kill -9), the reader and its
 * --since times.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sqlite3.h>

#include "../../src/audit/audit.h"
#include "check.h"

#define THREADS      8
#define PER_THREAD   25

static char dir[] = "/tmp/rdms-test-audit-XXXXXX";
static char db_path[256];

struct collected {
	int       count;
	long long last_id;
	bool      ordered;
	int       per_user[THREADS + 1];
	char      first_time[40];
	char      first_user[64];
	char      first_source[64];
	char      first_protocol[16];
	char      first_target[128];
	char      first_method[32];
	char      first_detail[64];
	long long first_uid;
	uint32_t  first_result;
	int       stop_after;   /* 0: never */
};

static int collect(void *ctx, const rdms_audit_entry *e)
{
	struct collected *c = ctx;
	int t;

	if (c->count == 0) {
		snprintf(c->first_time, sizeof c->first_time, "%s", e->time);
		snprintf(c->first_user, sizeof c->first_user, "%s", e->user);
		snprintf(c->first_source, sizeof c->first_source, "%s", e->source);
		snprintf(c->first_protocol, sizeof c->first_protocol, "%s", e->protocol);
		snprintf(c->first_target, sizeof c->first_target, "%s", e->target);
		snprintf(c->first_method, sizeof c->first_method, "%s", e->method);
		snprintf(c->first_detail, sizeof c->first_detail, "%s", e->detail);
		c->first_uid = e->uid;
		c->first_result = e->result;
		c->ordered = true;
	}
	if (e->id <= c->last_id)
		c->ordered = false;
	c->last_id = e->id;
	if (sscanf(e->user, "user%d", &t) == 1 && t >= 0 && t <= THREADS)
		c->per_user[t]++;
	c->count++;
	return c->stop_after != 0 && c->count >= c->stop_after;
}

static void test_record_and_read(void)
{
	rdms_error err = { 0 };
	rdms_audit_db *db = rdms_audit_open(db_path, &err);
	rdms_caller who = { .uid = 1001, .user = "alice", .is_admin = false,
	                    .protocol = "wsman", .source = "192.0.2.7:50123" };
	rdms_audit_event ev = { &who, "Win32_VirtualDesktopSession.VMHostName=\"h1\",SessionId=3",
	                        "Logoff", 0x80041003u, "access denied" };
	struct collected c = { 0 };
	struct stat sb;

	CHECK(db != NULL);
	if (db == NULL) {
		fprintf(stderr, "%s\n", err.message);
		return;
	}
	CHECK(stat(db_path, &sb) == 0 && (sb.st_mode & 0777) == 0600);
	CHECK_EQ(rdms_audit_record(db, &ev), 0);
	/* Missing caller fields are stored as "-", never NULL. */
	ev.caller = NULL;
	ev.method = "Disconnect";
	ev.result = 0;
	ev.detail = NULL;
	CHECK_EQ(rdms_audit_record(db, &ev), 0);
	rdms_audit_close(db);

	CHECK_EQ(rdms_audit_query(db_path, NULL, collect, &c, &err), 0);
	CHECK_EQ(c.count, 2);
	CHECK_STR(c.first_user, "alice");
	CHECK_EQ(c.first_uid, 1001);
	CHECK_STR(c.first_source, "192.0.2.7:50123");
	CHECK_STR(c.first_protocol, "wsman");
	CHECK_STR(c.first_target, "Win32_VirtualDesktopSession.VMHostName=\"h1\",SessionId=3");
	CHECK_STR(c.first_method, "Logoff");
	CHECK_EQ(c.first_result, 0x80041003u);   /* above INT32_MAX: stored unsigned */
	CHECK_STR(c.first_detail, "access denied");
	/* "2026-11-25T09:55:36.123Z" */
	CHECK_EQ(strlen(c.first_time), 24);
	CHECK_EQ(c.first_time[10], 'T');
	CHECK_EQ(c.first_time[23], 'Z');
}

struct writer {
	int       n;
	rdms_audit_db *db;    /* shared, or NULL: open an own connection (another process) */
	int       fails;
};

static void *write_events(void *arg)
{
	struct writer *w = arg;
	rdms_error err = { 0 };
	rdms_audit_db *db = w->db != NULL ? w->db : rdms_audit_open(db_path, &err);
	rdms_caller who = { .uid = (uid_t)(2000 + w->n), .protocol = "local", .source = "uid 0" };
	rdms_audit_event ev = { &who, "Win32_VirtualDesktopSession.VMHostName=\"h\",SessionId=1",
	                        "SendMessage", 0, "" };

	if (db == NULL) {
		w->fails = PER_THREAD;
		return NULL;
	}
	snprintf(who.user, sizeof who.user, "user%d", w->n);
	for (int i = 0; i < PER_THREAD; i++)
		if (rdms_audit_record(db, &ev) != 0)
			w->fails++;
	if (w->db == NULL)
		rdms_audit_close(db);
	return NULL;
}

static void test_concurrent(void)
{
	rdms_error err = { 0 };
	rdms_audit_db *shared = rdms_audit_open(db_path, &err);
	pthread_t th[THREADS];
	struct writer w[THREADS];
	struct collected c = { 0 };
	int fails = 0;

	CHECK(shared != NULL);
	if (shared == NULL)
		return;
	/* Half the threads share the daemon's handle, half have their own. */
	for (int i = 0; i < THREADS; i++) {
		w[i] = (struct writer){ .n = i + 1, .db = i % 2 == 0 ? shared : NULL };
		pthread_create(&th[i], NULL, write_events, &w[i]);
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(th[i], NULL);
		fails += w[i].fails;
	}
	rdms_audit_close(shared);
	CHECK_EQ(fails, 0);
	CHECK_EQ(rdms_audit_query(db_path, NULL, collect, &c, &err), 0);
	CHECK_EQ(c.count, 2 + THREADS * PER_THREAD);
	CHECK(c.ordered);
	for (int i = 1; i <= THREADS; i++)
		CHECK_EQ(c.per_user[i], PER_THREAD);
}

struct grouped {
	rdms_audit_db *db;
	int            n;
	int            rc;
	int            syncs_before;   /* fsyncs finished when it was called (slow_sync) */
	int            syncs_after;    /* ... when it returned */
};

static int syncs(void);

static void *record_one(void *arg)
{
	struct grouped *g = arg;
	rdms_caller who = { .uid = 1000, .protocol = "wsman", .source = "127.0.0.1" };
	rdms_audit_event ev = { .caller = &who, .target = "t", .method = "Logoff" };

	snprintf(who.user, sizeof who.user, "user%d", g->n);
	g->syncs_before = syncs();
	g->rc = rdms_audit_record(g->db, &ev);
	g->syncs_after = syncs();
	return NULL;
}

/*
 * A new database NAME in the test directory (its path in PATH), with
 * another connection, *BLOCKER, holding its write lock: a commit waits in
 * BEGIN until the blocker commits.  NULL when it could not be opened.
 */
static rdms_audit_db *open_blocked(const char *name, char *path, size_t size,
                                   sqlite3 **blocker)
{
	rdms_error err = { 0 };
	rdms_audit_db *db;

	snprintf(path, size, "%s/%s", dir, name);
	db = rdms_audit_open(path, &err);
	CHECK(db != NULL);
	if (db == NULL)
		return NULL;
	CHECK_EQ(sqlite3_open(path, blocker), SQLITE_OK);
	CHECK_EQ(sqlite3_exec(*blocker, "BEGIN IMMEDIATE;", NULL, NULL, NULL), SQLITE_OK);
	return db;
}

/*
 * Group commit, made deterministic: another connection holds the write
 * lock, so the first caller (the leader) waits in BEGIN while the others
 * queue up behind it; once the lock is let go the leader commits its own
 * event and the committer all the others at once: THREADS events in 2
 * transactions, each caller told it is stored, every row there.
 */
static void test_group_commit(void)
{
	rdms_error err = { 0 };
	char path[300];
	rdms_audit_db *db;
	sqlite3 *blocker = NULL;
	pthread_t th[THREADS];
	struct grouped g[THREADS];
	struct collected c = { 0 };
	rdms_audit_counts n = { 0 };

	db = open_blocked("group.db", path, sizeof path, &blocker);
	if (db == NULL)
		return;
	g[0] = (struct grouped){ .db = db, .n = 1 };
	pthread_create(&th[0], NULL, record_one, &g[0]);
	for (int i = 0; i < 1000 && !(rdms_audit_stats(db, &n), n.writing); i++)
		usleep(10000);      /* until the leader has taken its group */
	CHECK(n.writing && n.queued == 0);
	for (int i = 1; i < THREADS; i++) {
		g[i] = (struct grouped){ .db = db, .n = i + 1 };
		pthread_create(&th[i], NULL, record_one, &g[i]);
	}
	for (int i = 0; i < 1000 && (rdms_audit_stats(db, &n), n.queued < THREADS - 1); i++)
		usleep(10000);
	CHECK_EQ(n.queued, THREADS - 1);
	CHECK_EQ(n.groups, 0);          /* nothing is acknowledged before its commit */
	CHECK_EQ(sqlite3_exec(blocker, "COMMIT;", NULL, NULL, NULL), SQLITE_OK);
	for (int i = 0; i < THREADS; i++) {
		pthread_join(th[i], NULL);
		CHECK_EQ(g[i].rc, 0);
	}
	rdms_audit_stats(db, &n);
	CHECK_EQ(n.groups, 2);
	CHECK_EQ(n.events, THREADS);
	rdms_audit_close(db);
	sqlite3_close(blocker);
	CHECK_EQ(rdms_audit_query(path, NULL, collect, &c, &err), 0);
	CHECK_EQ(c.count, THREADS);
	for (int i = 1; i <= THREADS; i++)
		CHECK_EQ(c.per_user[i], 1);
}

/* What rdms_audit_record_then's function saw. */
struct told {
	pthread_mutex_t lock;
	int             calls, stored;
	int             other_thread;    /* calls from a thread other than the caller's */
	pthread_t       caller;
};

static void on_told(void *ctx, bool stored)
{
	struct told *t = ctx;

	pthread_mutex_lock(&t->lock);
	t->calls++;
	t->stored += stored;
	t->other_thread += !pthread_equal(pthread_self(), t->caller);
	pthread_mutex_unlock(&t->lock);
}

static int told_calls(struct told *t)
{
	int n;

	pthread_mutex_lock(&t->lock);
	n = t->calls;
	pthread_mutex_unlock(&t->lock);
	return n;
}

/*
 * rdms_audit_record_then: a caller that does not wait.  Queued behind a
 * commit under way, each returns at once and its function is called only
 * once its event is committed -- by the committer, in one group, not by a
 * thread of the caller's; alone, its own thread commits it before it
 * returns; rdms_audit_flush returns only when every function was called.
 */
static void test_record_then(void)
{
	rdms_error err = { 0 };
	char path[300];
	rdms_audit_db *db;
	sqlite3 *blocker = NULL;
	pthread_t leader;
	struct grouped g = { .n = 1 };
	struct told t = { .lock = PTHREAD_MUTEX_INITIALIZER, .caller = pthread_self() };
	struct collected c = { 0 };
	rdms_audit_counts n = { 0 };
	rdms_caller who = { .uid = 1000, .protocol = "wsman", .source = "127.0.0.1" };
	rdms_audit_event ev = { .caller = &who, .target = "t", .method = "Disconnect" };

	db = open_blocked("then.db", path, sizeof path, &blocker);
	if (db == NULL)
		return;
	snprintf(who.user, sizeof who.user, "user5");
	g.db = db;
	pthread_create(&leader, NULL, record_one, &g);
	for (int i = 0; i < 1000 && !(rdms_audit_stats(db, &n), n.writing); i++)
		usleep(10000);
	CHECK(n.writing);
	for (int i = 0; i < THREADS - 1; i++)
		CHECK_EQ(rdms_audit_record_then(db, &ev, on_told, &t), 0);
	rdms_audit_stats(db, &n);
	CHECK_EQ(n.queued, THREADS - 1);
	CHECK_EQ(told_calls(&t), 0);       /* nothing is told before its commit */
	CHECK_EQ(n.groups, 0);
	CHECK_EQ(sqlite3_exec(blocker, "COMMIT;", NULL, NULL, NULL), SQLITE_OK);
	pthread_join(leader, NULL);
	CHECK_EQ(g.rc, 0);
	rdms_audit_flush(db);
	CHECK_EQ(told_calls(&t), THREADS - 1);
	CHECK_EQ(t.stored, THREADS - 1);
	CHECK_EQ(t.other_thread, THREADS - 1);
	rdms_audit_stats(db, &n);
	CHECK_EQ(n.groups, 2);
	/* alone: committed and told by the caller's own thread, before it returns */
	CHECK_EQ(rdms_audit_record_then(db, &ev, on_told, &t), 0);
	CHECK_EQ(told_calls(&t), THREADS);
	CHECK_EQ(t.other_thread, THREADS - 1);
	rdms_audit_close(db);
	sqlite3_close(blocker);
	CHECK_EQ(rdms_audit_query(path, NULL, collect, &c, &err), 0);
	CHECK_EQ(c.count, THREADS + 1);
	CHECK_EQ(c.per_user[5], THREADS);
}

/*
 * A slow fsync, injected: a VFS that wraps the default one, sleeps in every
 * xSync and counts the syncs that have finished.  Callers note that count
 * before and after rdms_audit_record, so a return (after which rdmsd sends
 * the reply) could be seen to precede its commit's fsync.
 */
static sqlite3_vfs *real_vfs;
static sqlite3_vfs slow_vfs;
/* the unix VFS has a methods table per locking style; each gets its slow twin */
static const sqlite3_io_methods *real_methods[4];
static sqlite3_io_methods slow_methods[4];
static int (*real_sync)(sqlite3_file *, int);
static pthread_mutex_t sync_lock = PTHREAD_MUTEX_INITIALIZER;
static int syncs_done;

static int syncs(void)
{
	int n;

	pthread_mutex_lock(&sync_lock);
	n = syncs_done;
	pthread_mutex_unlock(&sync_lock);
	return n;
}

static int slow_sync(sqlite3_file *f, int flags)
{
	int rc;

	usleep(20000);
	rc = real_sync(f, flags);
	pthread_mutex_lock(&sync_lock);
	syncs_done++;
	pthread_mutex_unlock(&sync_lock);
	return rc;
}

static int slow_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags, int *out)
{
	int rc = real_vfs->xOpen(real_vfs, name, f, flags, out);

	(void)vfs;
	if (rc != SQLITE_OK || f->pMethods == NULL)
		return rc;
	pthread_mutex_lock(&sync_lock);
	for (int i = 0; i < 4; i++) {
		if (real_methods[i] == NULL) {
			real_methods[i] = f->pMethods;
			slow_methods[i] = *f->pMethods;
			slow_methods[i].xSync = slow_sync;
			real_sync = f->pMethods->xSync;
		}
		if (real_methods[i] == f->pMethods && f->pMethods->xSync == real_sync) {
			f->pMethods = &slow_methods[i];
			break;
		}
	}
	pthread_mutex_unlock(&sync_lock);
	return rc;
}

static void slow_fsync_install(void)
{
	real_vfs = sqlite3_vfs_find(NULL);
	slow_vfs = *real_vfs;
	slow_vfs.zName = "rdms-test-slow-sync";
	slow_vfs.xOpen = slow_open;
	sqlite3_vfs_register(&slow_vfs, 1);   /* the default: rdms_audit_open uses it */
}

static void slow_fsync_remove(void)
{
	sqlite3_vfs_register(real_vfs, 1);
	sqlite3_vfs_unregister(&slow_vfs);
}

/*
 * With a slow fsync injected: no caller returns (so no reply leaves) before
 * an fsync that finished after it was called, none while the write lock
 * is held elsewhere; concurrent callers share commits; every row is there.
 */
static void test_return_after_fsync(void)
{
	rdms_error err = { 0 };
	char path[300];
	rdms_audit_db *db;
	sqlite3 *blocker = NULL;
	pthread_t th[THREADS];
	struct grouped rec[THREADS];
	struct collected c = { 0 };
	rdms_audit_counts n = { 0 };

	slow_fsync_install();
	/* while another connection holds the write lock, nothing is acknowledged */
	db = open_blocked("slow.db", path, sizeof path, &blocker);
	if (db == NULL) {
		slow_fsync_remove();
		return;
	}
	CHECK(real_sync != NULL);           /* the database's files went through the shim */
	for (int i = 0; i < THREADS; i++) {
		rec[i] = (struct grouped){ .db = db, .n = i + 1, .rc = -2 };
		pthread_create(&th[i], NULL, record_one, &rec[i]);
	}
	for (int i = 0; i < 1000 && (rdms_audit_stats(db, &n), n.queued < THREADS - 1); i++)
		usleep(10000);
	CHECK_EQ(n.groups, 0);
	for (int i = 0; i < THREADS; i++)
		CHECK_EQ(rec[i].rc, -2);        /* still waiting */
	CHECK_EQ(sqlite3_exec(blocker, "COMMIT;", NULL, NULL, NULL), SQLITE_OK);
	for (int i = 0; i < THREADS; i++) {
		pthread_join(th[i], NULL);
		CHECK_EQ(rec[i].rc, 0);
		CHECK(rec[i].syncs_after > rec[i].syncs_before);
	}
	rdms_audit_stats(db, &n);
	CHECK_EQ(n.events, THREADS);
	CHECK(n.groups <= 2);               /* the queued ones went in one commit */
	/* one alone: returns only after an fsync that began after it was called */
	rec[0] = (struct grouped){ .db = db, .n = 1 };
	record_one(&rec[0]);
	CHECK_EQ(rec[0].rc, 0);
	CHECK(rec[0].syncs_after > rec[0].syncs_before);
	rdms_audit_close(db);
	sqlite3_close(blocker);
	slow_fsync_remove();
	CHECK_EQ(rdms_audit_query(path, NULL, collect, &c, &err), 0);
	CHECK_EQ(c.count, THREADS + 1);
	for (int i = 2; i <= THREADS; i++)
		CHECK_EQ(c.per_user[i], 1);
}

/* The WAL's size: what it holds at the checkpoint threshold (audit.c), for the default pages. */
#define WAL_KEPT ((off_t)(32 + (1000 + 256) * (4096 + 24)))

static off_t file_size(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0 ? sb.st_size : -1;
}

/*
 * The WAL is kept allocated: at its full size from the open on (so a
 * commit overwrites and its fdatasync commits no size change), kept at
 * close, never shrunk; and a writer killed with acknowledged rows in that
 * WAL -- frames followed by zeros -- loses none of them, to a reader or to
 * the next open.
 */
static void test_wal_kept_allocated(void)
{
	rdms_error err = { 0 };
	struct collected c = { 0 };
	char path[300], wal[310];
	rdms_audit_db *db;
	int report[2], acked = 0, status = 0;
	pid_t pid;

	snprintf(path, sizeof path, "%s/wal.db", dir);
	snprintf(wal, sizeof wal, "%s-wal", path);
	db = rdms_audit_open(path, &err);
	CHECK(db != NULL);
	if (db == NULL)
		return;
	CHECK(file_size(wal) >= WAL_KEPT);
	for (int i = 0; i < 3; i++) {
		struct grouped g = { .db = db, .n = 1 };

		record_one(&g);
		CHECK_EQ(g.rc, 0);
	}
	CHECK(file_size(wal) >= WAL_KEPT);
	rdms_audit_close(db);
	CHECK(file_size(wal) >= WAL_KEPT);     /* persistent: kept at close, not cut */
	CHECK_EQ(rdms_audit_query(path, NULL, collect, &c, &err), 0);
	CHECK_EQ(c.count, 3);

	/* a writer killed (-9) after acknowledgements: every acknowledged row is there */
	CHECK_EQ(pipe(report), 0);
	pid = fork();
	if (pid == 0) {
		rdms_audit_db *w = rdms_audit_open(path, &err);

		close(report[0]);
		for (int i = 0; w != NULL && i < 20; i++) {
			struct grouped g = { .db = w, .n = 2 };

			record_one(&g);
			if (g.rc == 0 && write(report[1], "+", 1) != 1)
				break;
		}
		raise(SIGKILL);
		_exit(1);
	}
	close(report[1]);
	for (char b; read(report[0], &b, 1) == 1;)
		acked++;
	close(report[0]);
	CHECK(waitpid(pid, &status, 0) == pid && WIFSIGNALED(status));
	CHECK_EQ(acked, 20);
	memset(&c, 0, sizeof c);
	CHECK_EQ(rdms_audit_query(path, NULL, collect, &c, &err), 0);
	CHECK_EQ(c.count, 3 + acked);
	CHECK_EQ(c.per_user[2], acked);
	db = rdms_audit_open(path, &err);      /* reopened: recovered, and written on */
	CHECK(db != NULL);
	if (db != NULL) {
		struct grouped g = { .db = db, .n = 3 };

		record_one(&g);
		CHECK_EQ(g.rc, 0);
		rdms_audit_close(db);
	}
	memset(&c, 0, sizeof c);
	CHECK_EQ(rdms_audit_query(path, NULL, collect, &c, &err), 0);
	CHECK_EQ(c.count, 4 + acked);
	CHECK(c.ordered);
}

static void test_since(void)
{
	rdms_error err = { 0 };
	struct collected c = { 0 };

	/* Everything was written just now. */
	CHECK_EQ(rdms_audit_query(db_path, "2000-01-01", collect, &c, &err), 0);
	CHECK_EQ(c.count, 2 + THREADS * PER_THREAD);
	memset(&c, 0, sizeof c);
	CHECK_EQ(rdms_audit_query(db_path, "2999-01-01T00:00:00Z", collect, &c, &err), 0);
	CHECK_EQ(c.count, 0);
	/* The callback can stop early. */
	memset(&c, 0, sizeof c);
	c.stop_after = 5;
	CHECK_EQ(rdms_audit_query(db_path, NULL, collect, &c, &err), 0);
	CHECK_EQ(c.count, 5);
	/* Bad times and missing databases. */
	CHECK_EQ(rdms_audit_query(db_path, "yesterday", collect, &c, &err), WBEM_E_INVALID_PARAMETER);
	CHECK(strstr(err.message, "yesterday") != NULL);
	CHECK_EQ(rdms_audit_query("/nonexistent/dir/audit.db", NULL, collect, &c, &err),
	         WBEM_E_NOT_FOUND);
}

static void test_normalize_time(void)
{
	char out[32];
	rdms_error err = { 0 };

	CHECK_EQ(rdms_audit_normalize_time("2024-05-01", out, sizeof out, &err), 0);
	CHECK_STR(out, "2024-05-01T00:00:00");
	CHECK_EQ(rdms_audit_normalize_time("2024-05-01T12:34", out, sizeof out, &err), 0);
	CHECK_STR(out, "2024-05-01T12:34:00");
	CHECK_EQ(rdms_audit_normalize_time("2024-05-01 12:34:56.789Z", out, sizeof out, &err), 0);
	CHECK_STR(out, "2024-05-01T12:34:56");
	/* Offsets are turned into UTC, across a day and a year boundary. */
	CHECK_EQ(rdms_audit_normalize_time("2024-05-01T01:00:00+02:00", out, sizeof out, &err), 0);
	CHECK_STR(out, "2024-04-30T23:00:00");
	CHECK_EQ(rdms_audit_normalize_time("2023-12-31T23:30:00-0100", out, sizeof out, &err), 0);
	CHECK_STR(out, "2024-01-01T00:30:00");
	CHECK_EQ(rdms_audit_normalize_time("2024-02-29", out, sizeof out, &err), 0);

	CHECK_EQ(rdms_audit_normalize_time("", out, sizeof out, &err), WBEM_E_INVALID_PARAMETER);
	CHECK_EQ(rdms_audit_normalize_time("2024-5-1", out, sizeof out, &err), WBEM_E_INVALID_PARAMETER);
	CHECK(strstr(err.message, "column 6") != NULL);
	CHECK_EQ(rdms_audit_normalize_time("2023-02-29", out, sizeof out, &err), WBEM_E_INVALID_PARAMETER);
	CHECK_EQ(rdms_audit_normalize_time("2024-13-01", out, sizeof out, &err), WBEM_E_INVALID_PARAMETER);
	CHECK_EQ(rdms_audit_normalize_time("2024-05-01T24:00", out, sizeof out, &err), WBEM_E_INVALID_PARAMETER);
	CHECK_EQ(rdms_audit_normalize_time("2024-05-01T12:60", out, sizeof out, &err), WBEM_E_INVALID_PARAMETER);
	CHECK_EQ(rdms_audit_normalize_time("2024-05-01T12", out, sizeof out, &err), WBEM_E_INVALID_PARAMETER);
	CHECK_EQ(rdms_audit_normalize_time("2024-05-01T12:00:00.", out, sizeof out, &err), WBEM_E_INVALID_PARAMETER);
	CHECK_EQ(rdms_audit_normalize_time("2024-05-01T12:00:00+25:00", out, sizeof out, &err), WBEM_E_INVALID_PARAMETER);
	CHECK_EQ(rdms_audit_normalize_time("2024-05-01T12:00:00Zjunk", out, sizeof out, &err), WBEM_E_INVALID_PARAMETER);
	CHECK_EQ(rdms_audit_normalize_time("2024-05-01'; DROP TABLE audit;--", out, sizeof out, &err),
	         WBEM_E_INVALID_PARAMETER);
}

static void test_open_errors(void)
{
	rdms_error err = { 0 };
	char notdb[300];
	FILE *f;

	/* A file that is not a database is refused with its name. */
	snprintf(notdb, sizeof notdb, "%s/not-a-db", dir);
	f = fopen(notdb, "w");
	CHECK(f != NULL);
	if (f != NULL) {
		fputs("this is not an SQLite database, just some text long enough to matter\n", f);
		fclose(f);
	}
	CHECK(rdms_audit_open(notdb, &err) == NULL);
	CHECK(strstr(err.message, "not-a-db") != NULL);
	unlink(notdb);
	/* An unusable directory. */
	CHECK(rdms_audit_open("/proc/nonexistent/x/audit.db", &err) == NULL);
	CHECK_EQ(err.code, WBEM_E_FAILED);
}

int main(void)
{
	char cmd[300];

	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(db_path, sizeof db_path, "%s/sub/audit.db", dir);   /* sub/ is created */
	test_record_and_read();
	test_concurrent();
	test_group_commit();
	test_record_then();
	test_return_after_fsync();
	test_wal_kept_allocated();
	test_since();
	test_normalize_time();
	test_open_errors();
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	return check_summary("audit");
}
