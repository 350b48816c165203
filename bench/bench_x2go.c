/*
 * bench_x2go.c -- how long the X2Go back-end takes to list 1, 10 and 50
 * sessions.
 *
 *   bench_x2go [-n ITERATIONS]
 *
 * Real X2Go sessions cost a client, an sshd login and an nxagent each, so
 * this benchmark synthesizes what the back-end reads, in a temp dir, for
 * each count: a session database of X2Go 4.1's own schema (plus as many
 * finished rows, as a busy server has), one nxagent state file per session,
 * and a fixture /proc entry (status, cmdline) per agent.  Real /proc entries
 * cannot be faked, and procfs reads cost a little more than these tmpfs
 * reads, so the parts are timed separately:
 *
 *   db           x2go_db_read: open read-only, check the schema, SELECT
 *   db + state   the above plus every session's state file
 *   enumerate    the back-end's whole enumerate (rows, /proc, state files,
 *                account look-ups) on the fixture /proc
 *
 * Prints the median and 90th percentile in milliseconds for ITERATIONS
 * (default 300) runs of each.  Nothing here forks: x2golistsessions_root,
 * the fallback for non-SQLite databases, costs ~130 ms a call (x2go.md §8).
 */
#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bench_time.h"
#include "backend/backend.h"
#include "backend/x2go/x2go_internal.h"
#include "config/config.h"

static char dir[64];

static void report(const char *what, int sessions, double *t, int n)
{
	bench_sort(t, n);
	printf("  %-12s %3d sessions  median %7.3f ms  p90 %7.3f ms  (%d runs)\n",
	    what, sessions, t[n / 2], t[(n * 9) / 10], n);
}

static int mkdirs(const char *path)
{
	char buf[PATH_MAX];

	snprintf(buf, sizeof buf, "%s", path);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	return mkdir(buf, 0755) < 0 && errno != EEXIST ? -1 : 0;
}

static int write_file(const char *path, const char *text, size_t len)
{
	FILE *f = fopen(path, "w");

	if (f == NULL)
		return -1;
	fwrite(text, 1, len, f);
	return fclose(f);
}

/* The database, state files and fixture /proc of N sessions of USER under dir/N. */
static int synthesize(int n, const char *user, uid_t uid, rdms_config *cfg)
{
	char path[PATH_MAX], text[512], sid[128];
	sqlite3 *db;
	sqlite3_stmt *st;
	int rc = 0;

	rdms_config_defaults(cfg);
	snprintf(cfg->proc_root, sizeof cfg->proc_root, "%s/%d/proc", dir, n);
	snprintf(cfg->x2go_tmpdir, sizeof cfg->x2go_tmpdir, "%s/%d/tmp", dir, n);
	snprintf(cfg->x2go_db, sizeof cfg->x2go_db, "%s/%d/x2go_sessions", dir, n);
	snprintf(cfg->x2go_sqlconf, sizeof cfg->x2go_sqlconf, "%s/%d/sql", dir, n);
	if (mkdirs(cfg->proc_root) < 0 || mkdirs(cfg->x2go_tmpdir) < 0 ||
	    write_file(cfg->x2go_sqlconf, "backend=sqlite\n", 15) < 0)
		return -1;
	if (sqlite3_open(cfg->x2go_db, &db) != SQLITE_OK ||
	    sqlite3_exec(db, "CREATE TABLE sessions(session_id varchar(500) primary key,"
	        " display integer not null, uname varchar(100) not null, server varchar(100) not null,"
	        " client inet, status char(1) not null default 'R', init_time timestamp not null"
	        " default CURRENT_TIMESTAMP, last_time timestamp not null default CURRENT_TIMESTAMP,"
	        " cookie char(33), agent_pid int, gr_port int, sound_port int, fs_port int,"
	        " tekictrl_port int, tekidata_port int, unique(display)); BEGIN", NULL, NULL, NULL) !=
	        SQLITE_OK ||
	    sqlite3_prepare_v2(db, "INSERT INTO sessions (session_id, display, uname, server, client,"
	        " status, cookie, agent_pid, gr_port, sound_port, fs_port) VALUES"
	        " (?, ?, ?, 'vm', '192.0.2.7', ?, '0123456789abcdef0123456789abcdef', ?, 30001, 30002,"
	        " 30003)", -1, &st, NULL) != SQLITE_OK) {
		fprintf(stderr, "bench_x2go: %s\n", sqlite3_errmsg(db));
		sqlite3_close(db);
		return -1;
	}
	/* N live sessions (every other one suspended) and N finished rows */
	for (int i = 0; i < 2 * n && rc == 0; i++) {
		int pid = 100000 + i, display = 50 + i;
		bool live = i < n;

		snprintf(sid, sizeof sid, "%s-%d-1795596872_stDtwm_dp24", user, display);
		sqlite3_reset(st);
		sqlite3_bind_text(st, 1, sid, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int(st, 2, display);
		sqlite3_bind_text(st, 3, user, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 4, live ? "R" : "F", -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 5, pid);
		if (sqlite3_step(st) != SQLITE_DONE)
			rc = -1;
		if (!live)
			continue;
		snprintf(path, sizeof path, "%s/%d", cfg->proc_root, pid);
		if (mkdirs(path) < 0)
			rc = -1;
		snprintf(path, sizeof path, "%s/%d/status", cfg->proc_root, pid);
		snprintf(text, sizeof text, "Name:\tx2goagent\nState:\tS (sleeping)\nPPid:\t1\n"
		    "Uid:\t%u\t%u\t%u\t%u\n", (unsigned)uid, (unsigned)uid, (unsigned)uid, (unsigned)uid);
		if (write_file(path, text, strlen(text)) < 0)
			rc = -1;
		snprintf(path, sizeof path, "%s/%d/cmdline", cfg->proc_root, pid);
		int len = snprintf(text, sizeof text, "x2goagent%c-auth%c/home/%s/.Xauthority%c-name%c"
		    "X2GO-%s%c:%d", 0, 0, user, 0, 0, sid, 0, display);
		if (write_file(path, text, (size_t)len + 1) < 0)
			rc = -1;
		snprintf(path, sizeof path, "%s/.x2go-%s/C-%s", cfg->x2go_tmpdir, user, sid);
		if (mkdirs(path) < 0)
			rc = -1;
		snprintf(path, sizeof path, "%s/.x2go-%s/C-%s/state", cfg->x2go_tmpdir, user, sid);
		if (write_file(path, i % 2 ? "SUSPENDED" : "RUNNING", i % 2 ? 9 : 7) < 0)
			rc = -1;
	}
	sqlite3_finalize(st);
	if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		rc = -1;
	sqlite3_close(db);
	return rc;
}

static int bench(int n, const char *user, uid_t uid, int iters, double *t)
{
	rdms_config cfg;
	rdms_error err = { 0 };
	x2go_rows rows = { 0 };
	rdms_session_list l = { 0 };

	if (synthesize(n, user, uid, &cfg) < 0) {
		fprintf(stderr, "bench_x2go: cannot build the %d-session fixture in %s\n", n, dir);
		return 1;
	}
	for (int i = 0; i < iters; i++) {
		double t0 = bench_now_ms();

		if (x2go_db_read(cfg.x2go_db, X2GO_DB_BUSY_MS, &rows, &err) != WBEM_S_NO_ERROR)
			goto fail;
		t[i] = bench_now_ms() - t0;
		x2go_rows_free(&rows);
	}
	report("db", n, t, iters);
	for (int i = 0; i < iters; i++) {
		double t0 = bench_now_ms();
		size_t live = 0;

		if (x2go_db_read(cfg.x2go_db, X2GO_DB_BUSY_MS, &rows, &err) != WBEM_S_NO_ERROR)
			goto fail;
		for (size_t k = 0; k < rows.n; k++) {
			enum x2go_state st;

			if (rows.v[k].status == 'R' &&
			    x2go_state_read(cfg.x2go_tmpdir, rows.v[k].user, rows.v[k].session, uid, &st,
			    NULL) == WBEM_S_NO_ERROR)
				live++;
		}
		t[i] = bench_now_ms() - t0;
		x2go_rows_free(&rows);
		if (live != (size_t)n) {
			fprintf(stderr, "bench_x2go: %zu state files read, expected %d\n", live, n);
			return 1;
		}
	}
	report("db + state", n, t, iters);
	for (int i = 0; i < iters; i++) {
		double t0 = bench_now_ms();

		if (rdms_backend_x2go.enumerate(&cfg, &l, &err) != WBEM_S_NO_ERROR)
			goto fail;
		t[i] = bench_now_ms() - t0;
		if (l.count != (size_t)n) {
			fprintf(stderr, "bench_x2go: enumerate found %zu sessions, expected %d\n", l.count, n);
			rdms_session_list_free(&l);
			return 1;
		}
		rdms_session_list_free(&l);
	}
	report("enumerate", n, t, iters);
	return 0;
fail:
	fprintf(stderr, "bench_x2go: %s: %s\n", wbem_name(err.code), err.message);
	x2go_rows_free(&rows);
	return 1;
}

int main(int argc, char **argv)
{
	static const int counts[] = { 1, 10, 50 };
	int iters = 300, rc = 0;
	struct passwd *pw = getpwuid(getuid());
	char user[64], cmd[128];
	double *t;

	if (argc == 3 && strcmp(argv[1], "-n") == 0)
		iters = atoi(argv[2]);
	if (iters < 1 || iters > 1000000 || (argc != 1 && argc != 3)) {
		fprintf(stderr, "usage: bench_x2go [-n ITERATIONS]\n");
		return 2;
	}
	/* the sessions belong to whoever runs this: a real account to look up */
	snprintf(user, sizeof user, "%s", pw != NULL ? pw->pw_name : "root");
	snprintf(dir, sizeof dir, "/tmp/rdms-bench-x2go.XXXXXX");
	if (mkdtemp(dir) == NULL || (t = calloc((size_t)iters, sizeof *t)) == NULL) {
		perror("bench_x2go");
		return 1;
	}
	printf("X2Go listing, synthesized database + state files + fixture /proc in %s\n"
	    "(db: the SQLite read alone; db + state: plus every state file; enumerate: the\n"
	    "whole back-end on a fixture /proc -- real procfs reads cost somewhat more)\n", dir);
	for (size_t i = 0; i < sizeof counts / sizeof counts[0] && rc == 0; i++)
		rc = bench(counts[i], user, getuid(), iters, t);
	free(t);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);   /* our own mkdtemp directory only */
	if (system(cmd) != 0)
		fprintf(stderr, "bench_x2go: could not remove %s\n", dir);
	return rc;
}
