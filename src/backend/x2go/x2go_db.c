/*
 * x2go_db.c -- the rows of X2Go's session database.
 *
 * The database is SQLite by default (/var/lib/x2go/x2go_sessions, chosen
 * by backend=sqlite in /etc/x2go/x2gosql/sql), written by X2Go's Perl code
 * in short immediate transactions with a 2 s busy timeout (x2go.md §3).
 * rdms only reads it, and so that it can never write to it nor hold X2Go
 * up:
 *
 *   - it is opened with SQLITE_OPEN_READONLY: no journal is created, no
 *     page is written, whatever happens;
 *   - not immutable=1 or nolock=1: those read without a lock and would let
 *     a concurrent write show half-written pages (SQLITE_CORRUPT, or rows
 *     that never existed).  A SHARED lock held for the one SELECT (about a
 *     millisecond) is what every X2Go reader takes; a writer waits that out
 *     within its busy timeout, and rdms waits out a writer the same way;
 *   - the rows are copied out and the database is closed before /proc and
 *     the state files are looked at, so the lock is never held longer;
 *   - the cookie column (the session's X credential, §7.7) is never
 *     selected.
 *
 * Where the database is not SQLite (PostgreSQL, for server farms), or the
 * table is not the one X2Go 4.1 makes, the rows come from
 * x2golistsessions_root instead.  That script writes to the database as a
 * side effect (R->S, purging finished rows: §4) and costs ~130 ms, so it is
 * only a fallback; its output carries the cookie in field 7, which is
 * skipped and never quoted in an error.  No database handle is open while
 * it runs, so its writes cannot wait on rdms.
 *
 * Both sources go through x2go_row_parse, which rejects what cannot be
 * safely used: the session and user names become path components.
 */
#include "x2go_internal.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "../../common/array.h"
#include "../../common/log.h"
#include "../../common/strutil.h"
#include "../userexec.h"

void x2go_rows_free(x2go_rows *r)
{
	free(r->v);
	r->v = NULL;
	r->n = r->cap = 0;
}

static x2go_row *rows_add(x2go_rows *r)
{
	if (!array_reserve(&r->v, r->n, &r->cap, sizeof *r->v, 16))
		return NULL;
	memset(&r->v[r->n], 0, sizeof r->v[r->n]);
	return &r->v[r->n++];
}

/* ---- one row ------------------------------------------------------------ */

/* A decimal in [LO, HI] that is all of S, or -1. */
static long decimal(const char *s, long lo, long hi)
{
	char *end;
	long v;

	if (s == NULL || !isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < lo || v > hi)
		return -1;
	return v;
}

static bool session_char(char c)
{
	return isalnum((unsigned char)c) || c == '.' || c == '_' || c == '-' || c == '@';
}

/* An IPv4 or IPv6 address in text: hex digits, '.', ':' and nothing else. */
static bool address_text(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= sizeof ((x2go_row *)0)->client)
		return false;
	for (; *s; s++)
		if (!isxdigit((unsigned char)*s) && *s != '.' && *s != ':')
			return false;
	return true;
}

uint32_t x2go_row_parse(const char *const f[X2GO_NFIELDS], x2go_row *r,
                        rdms_error *err)
{
	const char *sid = f[X2GO_F_SESSION], *user = f[X2GO_F_USER], *st = f[X2GO_F_STATUS];
	long v;

	memset(r, 0, sizeof *r);
	if (sid == NULL || *sid == '\0')
		return rdms_fail(err, WBEM_E_FAILED, "session_id is empty");
	if (strlen(sid) >= sizeof r->session)
		return rdms_fail(err, WBEM_E_FAILED, "session_id is longer than %zu bytes",
		    sizeof r->session - 1);
	for (size_t i = 0; sid[i]; i++)
		if (!session_char(sid[i]))
			return rdms_fail(err, WBEM_E_FAILED,
			    "session_id has a character outside [A-Za-z0-9._@-] at offset %zu", i);
	str_copy(r->session, sizeof r->session, sid);

	if (user == NULL || *user == '\0')
		return rdms_fail(err, WBEM_E_FAILED, "uname of %s is empty", r->session);
	if (strlen(user) >= sizeof r->user)
		return rdms_fail(err, WBEM_E_FAILED, "uname of %s is too long", r->session);
	for (size_t i = 0; user[i]; i++)
		if (user[i] == '/' || (unsigned char)user[i] < 0x20 || user[i] == 0x7f)
			return rdms_fail(err, WBEM_E_FAILED,
			    "uname of %s has a '/' or control character at offset %zu", r->session, i);
	str_copy(r->user, sizeof r->user, user);

	if ((v = decimal(f[X2GO_F_DISPLAY], 0, 65535)) < 0)
		return rdms_fail(err, WBEM_E_FAILED, "display of %s is not a number in 0..65535",
		    r->session);
	r->display = (int)v;

	if (f[X2GO_F_PID] == NULL || *f[X2GO_F_PID] == '\0')
		r->agent_pid = 0;     /* the session is starting (x2go.md §7.5) */
	else if ((v = decimal(f[X2GO_F_PID], 1, INT_MAX)) < 0)
		return rdms_fail(err, WBEM_E_FAILED, "agent_pid of %s is not a process id",
		    r->session);
	else
		r->agent_pid = (pid_t)v;

	if (st == NULL || st[0] == '\0' || st[1] != '\0' || strchr("RSFT", st[0]) == NULL)
		return rdms_fail(err, WBEM_E_FAILED, "status of %s is not one of R, S, F, T",
		    r->session);
	r->status = st[0];

	if (f[X2GO_F_CLIENT] != NULL && address_text(f[X2GO_F_CLIENT]))
		str_copy(r->client, sizeof r->client, f[X2GO_F_CLIENT]);
	return WBEM_S_NO_ERROR;
}

/* ---- /etc/x2go/x2gosql/sql ------------------------------------------------ */

uint32_t x2go_sql_backend(const char *path, char *buf, size_t size, rdms_error *err)
{
	FILE *f = fopen(path, "r");
	char line[512];
	unsigned lineno = 0;

	str_copy(buf, size, "sqlite");
	if (f == NULL) {
		if (errno == ENOENT)
			return WBEM_S_NO_ERROR;   /* X2Go's own default */
		return rdms_fail(err, WBEM_E_FAILED, "%s: %s", path, strerror(errno));
	}
	while (fgets(line, sizeof line, f) != NULL) {
		char *p = line, *v, *end;

		lineno++;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '[')
			break;               /* sections hold the servers' settings */
		if ((v = str_after_key(p, "backend")) == NULL)
			continue;
		end = v + strcspn(v, " \t\r\n#");
		*end = '\0';
		if (*v == '\0' || !str_copy(buf, size, v)) {
			fclose(f);
			str_copy(buf, size, "sqlite");
			return rdms_fail(err, WBEM_E_FAILED, "%s:%u: bad backend value", path, lineno);
		}
		break;
	}
	fclose(f);
	return WBEM_S_NO_ERROR;
}

/* ---- the SQLite database ---------------------------------------------------- */

static const char *const needed_columns[] = {
	"session_id", "display", "uname", "client", "status", "agent_pid",
};

/* WBEM_E_NOT_SUPPORTED unless the sessions table has every column we read. */
static uint32_t check_schema(sqlite3 *db, const char *path, rdms_error *err)
{
	bool have[sizeof needed_columns / sizeof needed_columns[0]] = { false };
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(db, "SELECT name FROM pragma_table_info('sessions')", -1, &st,
	    NULL) != SQLITE_OK)
		return rdms_fail(err, WBEM_E_FAILED, "%s: %s", path, sqlite3_errmsg(db));
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 0);

		for (size_t i = 0; name != NULL && i < sizeof have / sizeof have[0]; i++)
			if (strcmp(name, needed_columns[i]) == 0)
				have[i] = true;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return rdms_fail(err, WBEM_E_FAILED, "%s: %s", path, sqlite3_errmsg(db));
	for (size_t i = 0; i < sizeof have / sizeof have[0]; i++)
		if (!have[i])
			return rdms_fail(err, WBEM_E_NOT_SUPPORTED,
			    "%s: table sessions has no column %s", path, needed_columns[i]);
	return WBEM_S_NO_ERROR;
}

static uint32_t read_rows(sqlite3 *db, const char *path, x2go_rows *out, rdms_error *err)
{
	sqlite3_stmt *st;
	uint32_t rc = WBEM_S_NO_ERROR;
	int step;

	/* column order = the X2GO_F_* order */
	if (sqlite3_prepare_v2(db, "SELECT agent_pid, session_id, display, uname, client, status"
	    " FROM sessions ORDER BY display", -1, &st, NULL) != SQLITE_OK)
		return rdms_fail(err, WBEM_E_FAILED, "%s: %s", path, sqlite3_errmsg(db));
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		const char *f[X2GO_NFIELDS];
		rdms_error rerr = { 0 };
		x2go_row row, *slot;

		for (int i = 0; i < X2GO_NFIELDS; i++)
			f[i] = (const char *)sqlite3_column_text(st, i);
		if (x2go_row_parse(f, &row, &rerr) != WBEM_S_NO_ERROR) {
			log_debug("x2go: %s: row skipped: %s", path, rerr.message);
			continue;
		}
		if ((slot = rows_add(out)) == NULL) {
			rc = rdms_fail(err, WBEM_E_OUT_OF_MEMORY, "out of memory reading %s", path);
			break;
		}
		*slot = row;
	}
	if (rc == WBEM_S_NO_ERROR && step != SQLITE_DONE)
		rc = rdms_fail(err, WBEM_E_FAILED, "%s: %s", path, sqlite3_errmsg(db));
	sqlite3_finalize(st);
	return rc;
}

uint32_t x2go_db_read(const char *path, int busy_ms, x2go_rows *out, rdms_error *err)
{
	size_t first = out->n;
	struct stat sb;
	sqlite3 *db = NULL;
	uint32_t rc;

	if (stat(path, &sb) < 0) {
		if (errno == ENOENT)
			return WBEM_S_NO_ERROR;     /* installed, never used */
		return rdms_fail(err, WBEM_E_FAILED, "%s: %s", path, strerror(errno));
	}
	if (!S_ISREG(sb.st_mode))
		return rdms_fail(err, WBEM_E_FAILED, "%s is not a regular file", path);
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		rc = rdms_fail(err, WBEM_E_FAILED, "%s: %s", path,
		    db != NULL ? sqlite3_errmsg(db) : "cannot open");
		sqlite3_close(db);
		return rc;
	}
	sqlite3_busy_timeout(db, busy_ms);
	/* one read transaction: the schema check and the rows see one state */
	if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
		rc = rdms_fail(err, WBEM_E_FAILED, "%s: %s", path, sqlite3_errmsg(db));
		goto out;
	}
	if ((rc = check_schema(db, path, err)) == WBEM_S_NO_ERROR)
		rc = read_rows(db, path, out, err);
	sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
out:
	sqlite3_close(db);
	if (rc != WBEM_S_NO_ERROR)
		out->n = first;
	return rc;
}

/* ---- x2golistsessions_root ------------------------------------------------ */

/* Splits LINE (modified) at '|' into at most MAX fields; the count. */
static size_t split_fields(char *line, char **fields, size_t max)
{
	size_t n = 0;
	char *p = line;

	for (;;) {
		char *bar = strchr(p, '|');

		if (n < max)
			fields[n] = p;
		n++;
		if (bar == NULL)
			break;
		*bar = '\0';
		p = bar + 1;
	}
	return n;
}

uint32_t x2go_list_parse(const char *text, x2go_rows *out, size_t *bad, rdms_error *err)
{
	char *copy = strdup(text), *line, *next;
	size_t lineno = 0, nbad = 0;

	if (copy == NULL)
		return rdms_fail(err, WBEM_E_OUT_OF_MEMORY, "out of memory");
	for (line = copy; line != NULL; line = next) {
		char *fl[17];
		const char *f[X2GO_NFIELDS];
		rdms_error rerr = { 0 };
		x2go_row row, *slot;
		size_t n;

		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		lineno++;
		line[strcspn(line, "\r")] = '\0';
		if (*line == '\0')
			continue;
		if ((n = split_fields(line, fl, 17)) != 16) {
			/* never quote the line: field 7 is the session's cookie */
			rdms_fail(err, WBEM_E_FAILED, "x2golistsessions_root line %zu: %zu fields, "
			    "expected 16", lineno, n);
			nbad++;
			continue;
		}
		f[X2GO_F_PID] = fl[0];
		f[X2GO_F_SESSION] = fl[1];
		f[X2GO_F_DISPLAY] = fl[2];
		f[X2GO_F_STATUS] = fl[4];
		f[X2GO_F_CLIENT] = fl[7];
		f[X2GO_F_USER] = fl[11];
		if (x2go_row_parse(f, &row, &rerr) != WBEM_S_NO_ERROR) {
			rdms_fail(err, WBEM_E_FAILED, "x2golistsessions_root line %zu: %s", lineno,
			    rerr.message);
			nbad++;
			continue;
		}
		if ((slot = rows_add(out)) == NULL) {
			free(copy);
			return rdms_fail(err, WBEM_E_OUT_OF_MEMORY, "out of memory");
		}
		*slot = row;
	}
	free(copy);
	if (bad != NULL)
		*bad = nbad;
	return WBEM_S_NO_ERROR;
}

uint32_t x2go_list_run(x2go_rows *out, rdms_error *err)
{
	enum { OUT_MAX = 1 << 20 };
	char *argv[] = { (char *)X2GO_LISTSESSIONS_ROOT, NULL };
	char *text = malloc(OUT_MAX);
	rdms_user root;
	size_t bad = 0;
	int status = 0;
	uint32_t rc;

	if (text == NULL)
		return rdms_fail(err, WBEM_E_OUT_OF_MEMORY, "out of memory");
	if ((rc = rdms_user_lookup(0, &root, err)) != WBEM_S_NO_ERROR) {
		free(text);
		return rc;
	}
	rc = rdms_user_run(&root, argv, 15000, &status, text, OUT_MAX, err);
	rdms_user_free(&root);
	if (rc == WBEM_S_NO_ERROR && (!WIFEXITED(status) || WEXITSTATUS(status) != 0))
		rc = rdms_fail(err, WBEM_E_FAILED, "%s failed (status %d)", X2GO_LISTSESSIONS_ROOT,
		    WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
	if (rc == WBEM_S_NO_ERROR) {
		rdms_error perr = { 0 };

		rc = x2go_list_parse(text, out, &bad, &perr);
		if (bad > 0)
			log_debug("x2go: %zu lines of %s skipped, last: %s", bad,
			    X2GO_LISTSESSIONS_ROOT, perr.message);
		if (rc != WBEM_S_NO_ERROR && err != NULL)
			*err = perr;
	}
	free(text);
	return rc;
}
