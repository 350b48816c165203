/*
 * test_x2go.c -- the X2Go back-end on fixtures made in a mkdtemp directory:
 * the row validator, the SQLite reader (X2Go's own schema, odd rows, a
 * schema it does not know, a locked database, the guarantee that nothing is
 * written), the x2golistsessions_root parser, the sql config, the state
 * file (FIFOs and symlinks included), the agent's cmdline, rows to sessions
 * on a fixture /proc, the actions' checks before they touch anything, and
 * the shared run-as-user helper.  The real server is the e2e test's job.
 */
#include <errno.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "backend/backend.h"
#include "backend/proc.h"
#include "backend/userexec.h"
#include "backend/x2go/x2go_internal.h"
#include "backend/x2go/x2go_watch.h"
#include "common/monotime.h"
#include "common/strutil.h"
#include "check.h"
#include "events/watch.h"

static char tmp[64];   /* /tmp/rdms-test-x2go.XXXXXX */

/* ---- fixture helpers ---------------------------------------------------- */

static void path_of(char *out, size_t size, const char *rel)
{
	snprintf(out, size, "%s/%s", tmp, rel);
}

static void put(const char *rel, const char *text, size_t len)
{
	char path[PATH_MAX];
	FILE *f;

	path_of(path, sizeof path, rel);
	if ((f = fopen(path, "w")) == NULL) {
		perror(path);
		exit(2);
	}
	fwrite(text, 1, len, f);
	fclose(f);
}

static void puts_file(const char *rel, const char *text)
{
	put(rel, text, strlen(text));
}

static void dir(const char *rel)
{
	char path[PATH_MAX];

	path_of(path, sizeof path, rel);
	if (mkdir(path, 0755) < 0 && errno != EEXIST) {
		perror(path);
		exit(2);
	}
}

#define CMD(s) s, sizeof(s)

/* proc/PID with status (uid UID) and cmdline. */
static void proc(int pid, char state, unsigned uid, const char *cmd, size_t cmdlen)
{
	char rel[64], text[256];

	snprintf(rel, sizeof rel, "proc/%d", pid);
	dir(rel);
	snprintf(rel, sizeof rel, "proc/%d/status", pid);
	snprintf(text, sizeof text, "Name:\tx2goagent\nState:\t%c (x)\nPPid:\t1\nUid:\t%u\t%u\t%u\t%u\n",
	    state, uid, uid, uid, uid);
	puts_file(rel, text);
	snprintf(rel, sizeof rel, "proc/%d/cmdline", pid);
	put(rel, cmd, cmdlen);
}

/* TMP/x2gotmp/.x2go-USER/C-SESSION/state */
static void state(const char *user, const char *session, const char *text)
{
	char rel[PATH_MAX];

	snprintf(rel, sizeof rel, "x2gotmp/.x2go-%s", user);
	dir(rel);
	snprintf(rel, sizeof rel, "x2gotmp/.x2go-%s/C-%s", user, session);
	dir(rel);
	snprintf(rel, sizeof rel, "x2gotmp/.x2go-%s/C-%s/state", user, session);
	puts_file(rel, text);
}

/* X2Go 4.1's own table, as x2godbadmin --createdb makes it. */
static const char *const schema =
	"CREATE TABLE sessions(session_id varchar(500) primary key, display integer not null,"
	" uname varchar(100) not null, server varchar(100) not null, client inet,"
	" status char(1) not null default 'R', init_time timestamp not null default CURRENT_TIMESTAMP,"
	" last_time timestamp not null default CURRENT_TIMESTAMP, cookie char(33), agent_pid int,"
	" gr_port int, sound_port int, fs_port int, tekictrl_port int, tekidata_port int,"
	" unique(display));"
	"CREATE TABLE used_ports(server varchar(100) not null, session_id varchar(500)"
	" references sessions on delete cascade, port integer primary key);";

static sqlite3 *db_make(const char *rel, const char *ddl, const char *rows)
{
	char path[PATH_MAX];
	sqlite3 *db;
	char *msg = NULL;

	path_of(path, sizeof path, rel);
	unlink(path);
	if (sqlite3_open(path, &db) != SQLITE_OK ||
	    sqlite3_exec(db, ddl, NULL, NULL, &msg) != SQLITE_OK ||
	    (rows != NULL && sqlite3_exec(db, rows, NULL, NULL, &msg) != SQLITE_OK)) {
		fprintf(stderr, "fixture db %s: %s\n", rel, msg ? msg : sqlite3_errmsg(db));
		exit(2);
	}
	return db;
}

static char *slurp(const char *rel, size_t *len)
{
	char path[PATH_MAX];
	FILE *f;
	char *buf = malloc(1 << 20);

	path_of(path, sizeof path, rel);
	if (buf == NULL || (f = fopen(path, "rb")) == NULL) {
		free(buf);
		return NULL;
	}
	*len = fread(buf, 1, 1 << 20, f);
	fclose(f);
	return buf;
}

static const x2go_row *row_named(const x2go_rows *r, const char *session)
{
	for (size_t i = 0; i < r->n; i++)
		if (strcmp(r->v[i].session, session) == 0)
			return &r->v[i];
	return NULL;
}

static void test_config(rdms_config *cfg)
{
	rdms_config_defaults(cfg);
	snprintf(cfg->proc_root, sizeof cfg->proc_root, "%s/proc", tmp);
	snprintf(cfg->x2go_tmpdir, sizeof cfg->x2go_tmpdir, "%s/x2gotmp", tmp);
	snprintf(cfg->x2go_db, sizeof cfg->x2go_db, "%s/x2go_sessions", tmp);
	snprintf(cfg->x2go_sqlconf, sizeof cfg->x2go_sqlconf, "%s/sql", tmp);
}

/* ---- rows ----------------------------------------------------------------- */

static uint32_t parse(const char *pid, const char *sid, const char *disp, const char *user,
                      const char *client, const char *status, x2go_row *r, rdms_error *err)
{
	const char *f[X2GO_NFIELDS];

	f[X2GO_F_PID] = pid;
	f[X2GO_F_SESSION] = sid;
	f[X2GO_F_DISPLAY] = disp;
	f[X2GO_F_USER] = user;
	f[X2GO_F_CLIENT] = client;
	f[X2GO_F_STATUS] = status;
	return x2go_row_parse(f, r, err);
}

static void test_row_parse(void)
{
	const char *sid = "x2gotest-50-1795596872_stDtwm_dp24";
	char long_sid[300];
	rdms_error err = { 0 };
	x2go_row r;

	CHECK_EQ(parse("22785", sid, "50", "x2gotest", "127.0.0.1", "R", &r, &err), 0);
	CHECK_EQ(r.agent_pid, 22785);
	CHECK_STR(r.session, sid);
	CHECK_EQ(r.display, 50);
	CHECK_STR(r.user, "x2gotest");
	CHECK_STR(r.client, "127.0.0.1");
	CHECK_EQ(r.status, 'R');
	/* starting: no pid yet, no client (x2go.md §7.5) */
	CHECK_EQ(parse(NULL, sid, "50", "x2gotest", NULL, "R", &r, &err), 0);
	CHECK_EQ(r.agent_pid, 0);
	CHECK_STR(r.client, "");
	CHECK_EQ(parse("", sid, "50", "x2gotest", "", "S", &r, &err), 0);
	CHECK_EQ(r.agent_pid, 0);
	/* IPv6 client kept; something else is dropped, the row is not */
	CHECK_EQ(parse("7", sid, "50", "u", "fe80::1", "R", &r, &err), 0);
	CHECK_STR(r.client, "fe80::1");
	CHECK_EQ(parse("7", sid, "50", "u", "evil; rm -rf", "R", &r, &err), 0);
	CHECK_STR(r.client, "");
	/* AD-style user names pass (ops splits them) */
	CHECK_EQ(parse("7", sid, "50", "DOM\\alice", NULL, "S", &r, &err), 0);
	CHECK_STR(r.user, "DOM\\alice");

	/* malformed: each names the field */
	CHECK_EQ(parse("12a", sid, "50", "u", NULL, "R", &r, &err), WBEM_E_FAILED);
	CHECK(strstr(err.message, "agent_pid") != NULL);
	CHECK_EQ(parse("-5", sid, "50", "u", NULL, "R", &r, &err), WBEM_E_FAILED);
	CHECK_EQ(parse("0", sid, "50", "u", NULL, "R", &r, &err), WBEM_E_FAILED);
	CHECK_EQ(parse("99999999999", sid, "50", "u", NULL, "R", &r, &err), WBEM_E_FAILED);
	CHECK_EQ(parse(" 7", sid, "50", "u", NULL, "R", &r, &err), WBEM_E_FAILED);
	CHECK_EQ(parse("7", "../../etc", "50", "u", NULL, "R", &r, &err), WBEM_E_FAILED);
	CHECK(strstr(err.message, "session_id has a character outside") != NULL &&
	      strstr(err.message, "offset 2") != NULL);
	CHECK_EQ(parse("7", "", "50", "u", NULL, "R", &r, &err), WBEM_E_FAILED);
	CHECK(strstr(err.message, "session_id is empty") != NULL);
	CHECK_EQ(parse("7", NULL, "50", "u", NULL, "R", &r, &err), WBEM_E_FAILED);
	memset(long_sid, 'a', sizeof long_sid - 1);
	long_sid[sizeof long_sid - 1] = '\0';
	CHECK_EQ(parse("7", long_sid, "50", "u", NULL, "R", &r, &err), WBEM_E_FAILED);
	CHECK(strstr(err.message, "longer than 255") != NULL);
	CHECK_EQ(parse("7", "a b", "50", "u", NULL, "R", &r, &err), WBEM_E_FAILED);
	CHECK_EQ(parse("7", sid, "50", "a/b", NULL, "R", &r, &err), WBEM_E_FAILED);
	CHECK(strstr(err.message, "uname") != NULL && strstr(err.message, "offset 1") != NULL);
	CHECK_EQ(parse("7", sid, "50", "a\nb", NULL, "R", &r, &err), WBEM_E_FAILED);
	CHECK_EQ(parse("7", sid, "50", "", NULL, "R", &r, &err), WBEM_E_FAILED);
	CHECK_EQ(parse("7", sid, "50", NULL, NULL, "R", &r, &err), WBEM_E_FAILED);
	CHECK_EQ(parse("7", sid, "abc", "u", NULL, "R", &r, &err), WBEM_E_FAILED);
	CHECK(strstr(err.message, "display") != NULL);
	CHECK_EQ(parse("7", sid, "70000", "u", NULL, "R", &r, &err), WBEM_E_FAILED);
	CHECK_EQ(parse("7", sid, "50.0", "u", NULL, "R", &r, &err), WBEM_E_FAILED);
	CHECK_EQ(parse("7", sid, NULL, "u", NULL, "R", &r, &err), WBEM_E_FAILED);
	CHECK_EQ(parse("7", sid, "50", "u", NULL, "X", &r, &err), WBEM_E_FAILED);
	CHECK(strstr(err.message, "status") != NULL);
	CHECK_EQ(parse("7", sid, "50", "u", NULL, "RS", &r, &err), WBEM_E_FAILED);
	CHECK_EQ(parse("7", sid, "50", "u", NULL, "", &r, &err), WBEM_E_FAILED);
	CHECK_EQ(parse("7", sid, "50", "u", NULL, NULL, &r, &err), WBEM_E_FAILED);
	CHECK_EQ(parse("7", sid, "50", "u", NULL, "F", &r, &err), 0);
	CHECK_EQ(parse("7", sid, "50", "u", NULL, "T", &r, &err), 0);
}

/* ---- the SQLite database ---------------------------------------------------- */

static void test_db(void)
{
	rdms_config cfg;
	x2go_rows rows = { 0 };
	rdms_error err = { 0 };
	char path[PATH_MAX], journal[PATH_MAX + 16];
	const x2go_row *r;
	size_t len1 = 0, len2 = 0;
	char *before, *after;
	struct stat st1, st2;
	sqlite3 *db, *writer;

	test_config(&cfg);
	db = db_make("x2go_sessions", schema,
	    /* a running and a suspended session */
	    "INSERT INTO sessions (session_id, display, uname, server, client, status, cookie, agent_pid)"
	    " VALUES ('alice-50-1795596872_stDtwm_dp24', 50, 'alice', 'vm', '127.0.0.1', 'R',"
	    " 'secretcookie', 1000);"
	    "INSERT INTO sessions (session_id, display, uname, server, client, status, agent_pid)"
	    " VALUES ('bob-51-1795596999_stDtwm_dp24', 51, 'bob', 'vm', '10.0.0.7', 'S', '1001');"
	    /* start-up: no pid, no client yet */
	    "INSERT INTO sessions (session_id, display, uname, server, status)"
	    " VALUES ('carol-52-1795597000_stDtwm_dp24', 52, 'carol', 'vm', 'R');"
	    /* finished */
	    "INSERT INTO sessions (session_id, display, uname, server, status, agent_pid)"
	    " VALUES ('dave-53-1795597001_stDtwm_dp24', 53, 'dave', 'vm', 'F', 1003);"
	    /* odd rows: a path in the name, a real for a pid, an unknown status,"
	     * a text display, an empty user */
	    "INSERT INTO sessions (session_id, display, uname, server, status, agent_pid)"
	    " VALUES ('../../etc/passwd', 54, 'eve', 'vm', 'R', 1004);"
	    "INSERT INTO sessions (session_id, display, uname, server, status, agent_pid)"
	    " VALUES ('frank-55-1_stDtwm_dp24', 55, 'frank', 'vm', 'R', 1005.5);"
	    "INSERT INTO sessions (session_id, display, uname, server, status, agent_pid)"
	    " VALUES ('gina-56-1_stDtwm_dp24', 56, 'gina', 'vm', 'Q', 1006);"
	    "INSERT INTO sessions (session_id, display, uname, server, status, agent_pid)"
	    " VALUES ('hal-57-1_stDtwm_dp24', 'fifty-seven', 'hal', 'vm', 'R', 1007);"
	    "INSERT INTO sessions (session_id, display, uname, server, status, agent_pid)"
	    " VALUES ('ivy-58-1_stDtwm_dp24', 58, '', 'vm', 'R', 1008);");
	sqlite3_close(db);
	path_of(path, sizeof path, "x2go_sessions");
	snprintf(journal, sizeof journal, "%s-journal", path);
	before = slurp("x2go_sessions", &len1);
	stat(path, &st1);

	CHECK_EQ(x2go_db_read(cfg.x2go_db, 100, &rows, &err), 0);
	CHECK_EQ(rows.n, 4);       /* alice, bob, carol, dave; the odd ones left out */
	r = row_named(&rows, "alice-50-1795596872_stDtwm_dp24");
	CHECK(r != NULL && r->agent_pid == 1000 && r->display == 50 && r->status == 'R' &&
	      strcmp(r->user, "alice") == 0 && strcmp(r->client, "127.0.0.1") == 0);
	r = row_named(&rows, "bob-51-1795596999_stDtwm_dp24");
	CHECK(r != NULL && r->agent_pid == 1001 && r->status == 'S');   /* pid stored as text */
	r = row_named(&rows, "carol-52-1795597000_stDtwm_dp24");
	CHECK(r != NULL && r->agent_pid == 0 && r->client[0] == '\0');
	r = row_named(&rows, "dave-53-1795597001_stDtwm_dp24");
	CHECK(r != NULL && r->status == 'F');
	CHECK(row_named(&rows, "../../etc/passwd") == NULL);
	CHECK(row_named(&rows, "frank-55-1_stDtwm_dp24") == NULL);
	x2go_rows_free(&rows);

	/* read-only: not a byte written, no journal made */
	after = slurp("x2go_sessions", &len2);
	stat(path, &st2);
	CHECK(before != NULL && after != NULL && len1 == len2 && memcmp(before, after, len1) == 0);
	CHECK(st1.st_mtim.tv_sec == st2.st_mtim.tv_sec && st1.st_mtim.tv_nsec == st2.st_mtim.tv_nsec);
	CHECK(access(journal, F_OK) != 0);
	free(before);
	free(after);

	/* a writer in the middle of a transaction (RESERVED lock, as X2Go's
	 * immediate transactions take it): the reader neither waits nor sees
	 * the uncommitted row */
	CHECK(sqlite3_open(path, &writer) == SQLITE_OK);
	CHECK(sqlite3_exec(writer, "BEGIN IMMEDIATE; INSERT INTO sessions (session_id, display,"
	    " uname, server, status, agent_pid) VALUES ('new-60-1_stDtwm_dp24', 60, 'new', 'vm', 'R',"
	    " 1060)", NULL, NULL, NULL) == SQLITE_OK);
	CHECK_EQ(x2go_db_read(cfg.x2go_db, 100, &rows, &err), 0);
	CHECK_EQ(rows.n, 4);
	CHECK(row_named(&rows, "new-60-1_stDtwm_dp24") == NULL);
	x2go_rows_free(&rows);
	/* a writer holding the EXCLUSIVE lock past the busy timeout: a clear error */
	CHECK(sqlite3_exec(writer, "COMMIT; BEGIN EXCLUSIVE; UPDATE sessions SET status = 'S'"
	    " WHERE display = 50", NULL, NULL, NULL) == SQLITE_OK);
	CHECK_EQ(x2go_db_read(cfg.x2go_db, 100, &rows, &err), WBEM_E_FAILED);
	CHECK(strstr(err.message, "locked") != NULL && strstr(err.message, "x2go_sessions") != NULL);
	CHECK_EQ(rows.n, 0);
	CHECK(sqlite3_exec(writer, "COMMIT", NULL, NULL, NULL) == SQLITE_OK);
	sqlite3_close(writer);
	CHECK_EQ(x2go_db_read(cfg.x2go_db, 100, &rows, &err), 0);
	CHECK_EQ(rows.n, 5);
	r = row_named(&rows, "alice-50-1795596872_stDtwm_dp24");
	CHECK(r != NULL && r->status == 'S');
	x2go_rows_free(&rows);

	/* no database: installed but never used */
	CHECK_EQ(x2go_db_read("/nonexistent/x2go_sessions", 100, &rows, &err), 0);
	CHECK_EQ(rows.n, 0);
	/* not a database */
	puts_file("garbage", "this is not an SQLite file, but long enough to look at its header...\n");
	path_of(path, sizeof path, "garbage");
	CHECK_EQ(x2go_db_read(path, 100, &rows, &err), WBEM_E_FAILED);
	CHECK(strstr(err.message, "garbage") != NULL);
	CHECK_EQ(rows.n, 0);
	/* a directory */
	dir("adir");
	path_of(path, sizeof path, "adir");
	CHECK_EQ(x2go_db_read(path, 100, &rows, &err), WBEM_E_FAILED);
	CHECK(strstr(err.message, "not a regular file") != NULL);
	/* schema drift: the caller falls back to x2golistsessions_root */
	sqlite3_close(db_make("drift", "CREATE TABLE sessions(session_id text, display int,"
	    " uname text, status text, client text)", NULL));
	path_of(path, sizeof path, "drift");
	CHECK_EQ(x2go_db_read(path, 100, &rows, &err), WBEM_E_NOT_SUPPORTED);
	CHECK(strstr(err.message, "no column agent_pid") != NULL);
	sqlite3_close(db_make("empty", "CREATE TABLE other(x int)", NULL));
	path_of(path, sizeof path, "empty");
	CHECK_EQ(x2go_db_read(path, 100, &rows, &err), WBEM_E_NOT_SUPPORTED);
	CHECK(strstr(err.message, "no column session_id") != NULL);
	x2go_rows_free(&rows);
}

static void test_sqlconf(void)
{
	char b[64], path[PATH_MAX];
	rdms_error err = { 0 };

	path_of(path, sizeof path, "sqlconf");
	CHECK_EQ(x2go_sql_backend("/nonexistent/sql", b, sizeof b, &err), 0);
	CHECK_STR(b, "sqlite");
	puts_file("sqlconf", "# comment\nbackend=sqlite\n\n[postgres]\nhost=localhost\n");
	CHECK_EQ(x2go_sql_backend(path, b, sizeof b, &err), 0);
	CHECK_STR(b, "sqlite");
	puts_file("sqlconf", "  backend = postgres  # farm\n[postgres]\nbackend=mysql\n");
	CHECK_EQ(x2go_sql_backend(path, b, sizeof b, &err), 0);
	CHECK_STR(b, "postgres");
	puts_file("sqlconf", "[postgres]\nbackend=postgres\n");
	CHECK_EQ(x2go_sql_backend(path, b, sizeof b, &err), 0);
	CHECK_STR(b, "sqlite");          /* only the top part counts */
	puts_file("sqlconf", "backendx=postgres\nbackend=\n");
	CHECK_EQ(x2go_sql_backend(path, b, sizeof b, &err), WBEM_E_FAILED);
	CHECK(strstr(err.message, "sqlconf:2: bad backend value") != NULL);
	CHECK_STR(b, "sqlite");
}

/* ---- x2golistsessions_root ------------------------------------------------- */

static void test_list_parse(void)
{
	x2go_rows rows = { 0 };
	rdms_error err = { 0 };
	size_t bad = 0;
	const char *text =
	    "22785|x2gotest-50-1795596617_stDtwm_dp24|50|vm|R|2026-11-25T08:50:17|fd60c0ffee|"
	    "127.0.0.1|60402|60403|2026-11-25T08:50:18|x2gotest|2|60404|-1|-1\n"
	    "\n"
	    "|x2gotest2-51-1795596700_stDtwm_dp24|51|vm|R|2026-11-25T08:51:40||||||x2gotest2|0|||\r\n"
	    "22999|x2gotest3-52-1795596800_stDtwm_dp24|52|vm|F|2026-11-25T08:53:20|aa|127.0.0.1|1|2|"
	    "2026-11-25T08:53:20|x2gotest3|5|3|-1|-1\n"
	    "23000|short|53|vm|R|cookiesecret\n"
	    "23001|bad/name|54|vm|R|t|cookiesecret2|127.0.0.1|1|2|t|u|1|3|-1|-1\n";

	CHECK_EQ(x2go_list_parse(text, &rows, &bad, &err), 0);
	CHECK_EQ(rows.n, 3);
	CHECK_EQ(bad, 2);
	CHECK(rows.n == 3 && rows.v[0].agent_pid == 22785 && rows.v[0].display == 50 &&
	      strcmp(rows.v[0].user, "x2gotest") == 0 && strcmp(rows.v[0].client, "127.0.0.1") == 0 &&
	      rows.v[0].status == 'R');
	CHECK(rows.n == 3 && rows.v[1].agent_pid == 0 && rows.v[1].client[0] == '\0');
	CHECK(rows.n == 3 && rows.v[2].status == 'F');
	CHECK(strstr(err.message, "line 6") != NULL && strstr(err.message, "session_id") != NULL);
	/* the cookie never reaches a message */
	CHECK(strstr(err.message, "cookie") == NULL);
	x2go_rows_free(&rows);
	CHECK_EQ(x2go_list_parse("23000|short|53|vm|R|cookiesecret", &rows, &bad, &err), 0);
	CHECK_EQ(bad, 1);
	CHECK(strstr(err.message, "line 1: 6 fields, expected 16") != NULL);
	CHECK(strstr(err.message, "cookiesecret") == NULL);
	CHECK_EQ(x2go_list_parse("", &rows, &bad, &err), 0);
	CHECK_EQ(rows.n, 0);
	CHECK_EQ(bad, 0);
	x2go_rows_free(&rows);
}

/* ---- state files and agents --------------------------------------------- */

/* The Unix time in a session's name: its logon time. */
static void test_session_epoch(void)
{
	CHECK_EQ(x2go_session_epoch("alice-50-1795596872_stDtwm_dp24"), 1795596872);
	CHECK_EQ(x2go_session_epoch("mary-jane-51-1700000000_stRgnome-session_dp32"), 1700000000);
	CHECK_EQ(x2go_session_epoch("alice-50-_stDtwm_dp24"), 0);
	CHECK_EQ(x2go_session_epoch("alice-50-1795596872"), 0);
	CHECK_EQ(x2go_session_epoch("1795596872_stDtwm"), 0);
	CHECK_EQ(x2go_session_epoch("a-5-9999999999999_stD"), 0);     /* 13 digits: no */
}

static void test_state(void)
{
	static const char *const names[] = { "STARTING", "RUNNING", "SUSPENDING", "SUSPENDED",
	                                     "RESUMING", "TERMINATING", "TERMINATED" };
	char tmpdir[256], path[PATH_MAX], target[PATH_MAX];
	rdms_error err = { 0 };
	enum x2go_state st;
	uint32_t wts = 99;

	for (int i = 0; i < 7; i++) {
		CHECK_EQ(x2go_state_parse(names[i], strlen(names[i]), &st, &err), 0);
		CHECK_EQ(st, i);
		CHECK_STR(x2go_state_name(st), names[i]);
	}
	CHECK_EQ(x2go_state_parse("SUSPENDED\n", 10, &st, &err), 0);
	CHECK_EQ(st, X2GO_SUSPENDED);
	CHECK_EQ(x2go_state_parse("", 0, &st, &err), WBEM_E_FAILED);
	CHECK(strstr(err.message, "empty") != NULL);
	CHECK_EQ(x2go_state_parse("\n\n", 2, &st, &err), WBEM_E_FAILED);
	CHECK_EQ(x2go_state_parse("RUNNINGX", 8, &st, &err), WBEM_E_FAILED);
	CHECK(strstr(err.message, "no known state ('RUNNINGX')") != NULL);
	CHECK_EQ(x2go_state_parse("running", 7, &st, &err), WBEM_E_FAILED);
	CHECK(strstr(err.message, "offset 0") != NULL);
	CHECK_EQ(x2go_state_parse("RUN\0ING", 7, &st, &err), WBEM_E_FAILED);
	CHECK(strstr(err.message, "offset 3") != NULL);
	CHECK_EQ(x2go_state_parse(" RUNNING", 8, &st, &err), WBEM_E_FAILED);
	CHECK_STR(x2go_state_name((enum x2go_state)42), "?");

	CHECK(x2go_state_wts(X2GO_RUNNING, &wts) && wts == WTS_ACTIVE);
	CHECK(x2go_state_wts(X2GO_SUSPENDED, &wts) && wts == WTS_DISCONNECTED);
	CHECK(x2go_state_wts(X2GO_SUSPENDING, &wts) && wts == WTS_DISCONNECTED);
	CHECK(x2go_state_wts(X2GO_STARTING, &wts) && wts == WTS_CONNECT_QUERY);
	CHECK(x2go_state_wts(X2GO_RESUMING, &wts) && wts == WTS_CONNECT_QUERY);
	CHECK(!x2go_state_wts(X2GO_TERMINATING, &wts));
	CHECK(!x2go_state_wts(X2GO_TERMINATED, &wts));

	/* the file itself */
	snprintf(tmpdir, sizeof tmpdir, "%s/x2gotmp", tmp);
	dir("x2gotmp");
	state("alice", "s1", "RUNNING");
	CHECK_EQ(x2go_state_read(tmpdir, "alice", "s1", getuid(), &st, &err), 0);
	CHECK_EQ(st, X2GO_RUNNING);
	CHECK_EQ(x2go_state_read(tmpdir, "alice", "nosuch", getuid(), &st, &err), WBEM_E_NOT_FOUND);
	CHECK_EQ(x2go_state_read(tmpdir, "alice", "a/b", getuid(), &st, &err), WBEM_E_FAILED);
	state("alice", "s2", "");
	CHECK_EQ(x2go_state_read(tmpdir, "alice", "s2", getuid(), &st, &err), WBEM_E_FAILED);
	CHECK(strstr(err.message, "s2/state: state file is empty") != NULL);
	state("alice", "s3", "RUNNING RUNNING RUNNING RUNNING RUNNING RUNNING RUNNING RUNNING RUNNING");
	CHECK_EQ(x2go_state_read(tmpdir, "alice", "s3", getuid(), &st, &err), WBEM_E_FAILED);
	CHECK(strstr(err.message, "not a small regular file") != NULL);
	/* the directory is the user's: a symlink to elsewhere is not followed */
	state("alice", "s4", "RUNNING");
	snprintf(path, sizeof path, "%s/.x2go-alice/C-s4/state", tmpdir);
	snprintf(target, sizeof target, "%s/.x2go-alice/C-s1/state", tmpdir);
	unlink(path);
	CHECK(symlink(target, path) == 0);
	CHECK_EQ(x2go_state_read(tmpdir, "alice", "s4", getuid(), &st, &err), WBEM_E_FAILED);
	/* ... nor a FIFO opened (it would block) */
	unlink(path);
	CHECK(mkfifo(path, 0644) == 0);
	CHECK_EQ(x2go_state_read(tmpdir, "alice", "s4", getuid(), &st, &err), WBEM_E_FAILED);
	CHECK(strstr(err.message, "not a small regular file") != NULL);
	/* owned by somebody else than the user (or root) */
	if (getuid() == 0) {
		snprintf(path, sizeof path, "%s/.x2go-alice/C-s1/state", tmpdir);
		CHECK(chown(path, 4242, 4242) == 0);
		CHECK_EQ(x2go_state_read(tmpdir, "alice", "s1", 4242, &st, &err), 0);
		CHECK_EQ(x2go_state_read(tmpdir, "alice", "s1", 4343, &st, &err), WBEM_E_FAILED);
		CHECK(chown(path, 0, 0) == 0);
		CHECK_EQ(x2go_state_read(tmpdir, "alice", "s1", 4343, &st, &err), 0);
	}
}

static void test_agent_cmdline(void)
{
	x2go_agent a;
	rdms_error err = { 0 };

	CHECK_EQ(x2go_agent_parse_cmdline(CMD("x2goagent\0-nolisten\0tcp\0-D\0-auth\0"
	    "/home/u/.Xauthority\0-geometry\0800x600\0-name\0X2GO-u-50-1_stDtwm_dp24\0:50"), &a, &err), 0);
	CHECK_STR(a.session, "u-50-1_stDtwm_dp24");
	CHECK_STR(a.xauth, "/home/u/.Xauthority");
	CHECK_EQ(a.display, 50);
	CHECK_EQ(x2go_agent_parse_cmdline(CMD("x2goagent\0-auth\0rel/.Xauthority\0-name\0X2GO-s\0"),
	    &a, &err), 0);
	CHECK_STR(a.xauth, "");
	CHECK_EQ(a.display, -1);
	CHECK_EQ(x2go_agent_parse_cmdline(CMD("Xorg\0:50\0-name\0Something"), &a, &err),
	    WBEM_E_NOT_FOUND);
	CHECK(strstr(err.message, "X2GO-") != NULL);
	CHECK_EQ(x2go_agent_parse_cmdline(CMD("x2goagent\0-name\0X2GO-"), &a, &err), WBEM_E_NOT_FOUND);
	CHECK_EQ(x2go_agent_parse_cmdline(CMD("x2goagent\0-name"), &a, &err), WBEM_E_NOT_FOUND);
	/* cut short by the read: the last argument is not trusted */
	CHECK_EQ(x2go_agent_parse_cmdline("x2goagent\0-name\0X2GO-s", 22, &a, &err), WBEM_E_NOT_FOUND);
	CHECK_EQ(x2go_agent_parse_cmdline("", 0, &a, &err), WBEM_E_NOT_FOUND);
}

/* ---- rows to sessions, enumerate, actions ------------------------------------- */

static const rdms_session *session_of(const rdms_session_list *l, uint32_t id)
{
	for (size_t i = 0; i < l->count; i++)
		if (l->items[i].id == id)
			return &l->items[i];
	return NULL;
}

static void test_sessions(void)
{
	rdms_config cfg;
	rdms_session_list l = { 0 };
	rdms_error err = { 0 };
	const rdms_session *s;
	sqlite3 *db;

	test_config(&cfg);
	dir("proc");
	dir("x2gotmp");
	/* root's session, running; nobody's, suspended; nobody's, starting */
	proc(2000, 'S', 0, CMD("x2goagent\0-auth\0/root/.Xauthority\0-name\0X2GO-root-50-1_stDtwm_dp24\0:50"));
	state("root", "root-50-1_stDtwm_dp24", "RUNNING");
	proc(2001, 'S', 65534, CMD("x2goagent\0-name\0X2GO-nobody-51-1_stDtwm_dp24\0:51"));
	state("nobody", "nobody-51-1_stDtwm_dp24", "SUSPENDED");
	proc(2002, 'S', 65534, CMD("x2goagent\0-name\0X2GO-nobody-52-1_stDtwm_dp24\0:52"));
	state("nobody", "nobody-52-1_stDtwm_dp24", "RESUMING");
	/* stale rows: pid reused by another program, by another user, a zombie,
	 * a terminated agent, no state file, a display that does not match */
	proc(2003, 'S', 0, CMD("/usr/bin/python3\0-m\0http.server"));
	proc(2004, 'S', 0, CMD("x2goagent\0-name\0X2GO-nobody-54-1_stDtwm_dp24\0:54"));
	state("nobody", "nobody-54-1_stDtwm_dp24", "RUNNING");
	proc(2005, 'Z', 0, CMD(""));
	proc(2006, 'S', 0, CMD("x2goagent\0-name\0X2GO-root-56-1_stDtwm_dp24\0:56"));
	state("root", "root-56-1_stDtwm_dp24", "TERMINATED");
	proc(2007, 'S', 0, CMD("x2goagent\0-name\0X2GO-root-57-1_stDtwm_dp24\0:57"));
	proc(2008, 'S', 0, CMD("x2goagent\0-name\0X2GO-root-58-1_stDtwm_dp24\0:99"));
	state("root", "root-58-1_stDtwm_dp24", "RUNNING");
	db = db_make("x2go_sessions", schema,
	    "INSERT INTO sessions (session_id, display, uname, server, client, status, agent_pid) VALUES"
	    " ('root-50-1_stDtwm_dp24', 50, 'root', 'vm', '192.0.2.1', 'R', 2000),"
	    /* the database still says R: the state file is the truth */
	    " ('nobody-51-1_stDtwm_dp24', 51, 'nobody', 'vm', '192.0.2.2', 'R', 2001),"
	    " ('nobody-52-1_stDtwm_dp24', 52, 'nobody', 'vm', '192.0.2.3', 'S', 2002),"
	    " ('root-53-1_stDtwm_dp24', 53, 'root', 'vm', NULL, 'R', 2003),"
	    " ('nobody-54-1_stDtwm_dp24', 54, 'nobody', 'vm', NULL, 'R', 2004),"
	    " ('root-55-1_stDtwm_dp24', 55, 'root', 'vm', NULL, 'R', 2005),"
	    " ('root-56-1_stDtwm_dp24', 56, 'root', 'vm', NULL, 'R', 2006),"
	    " ('root-57-1_stDtwm_dp24', 57, 'root', 'vm', NULL, 'R', 2007),"
	    " ('root-58-1_stDtwm_dp24', 58, 'root', 'vm', NULL, 'R', 2008),"
	    " ('root-59-1_stDtwm_dp24', 59, 'root', 'vm', NULL, 'R', NULL),"
	    " ('root-60-1_stDtwm_dp24', 60, 'root', 'vm', NULL, 'F', 2000),"
	    " ('nosuchuser-61-1_stDtwm_dp24', 61, 'rdms-no-such-user', 'vm', NULL, 'R', 2000),"
	    /* two rows, one agent: only the one its -name names */
	    " ('root-62-1_stDtwm_dp24', 62, 'root', 'vm', NULL, 'S', 2000)");
	sqlite3_close(db);
	puts_file("sql", "backend=sqlite\n");

	CHECK(rdms_backend_x2go.available(&cfg));
	CHECK_EQ(rdms_backend_x2go.enumerate(&cfg, &l, &err), 0);
	CHECK_EQ(l.count, 3);
	s = session_of(&l, 2000);
	CHECK(s != NULL && s->connect_state == WTS_ACTIVE && s->uid == 0 &&
	      strcmp(s->user, "root") == 0 && strcmp(s->client, "192.0.2.1") == 0 &&
	      s->display == 50 && s->backend == &rdms_backend_x2go && s->server_pid == 2000);
	s = session_of(&l, 2001);
	CHECK(s != NULL && s->connect_state == WTS_DISCONNECTED && s->uid == 65534 &&
	      s->client[0] == '\0' && s->display == 51);
	s = session_of(&l, 2002);
	CHECK(s != NULL && s->connect_state == WTS_CONNECT_QUERY && s->client[0] == '\0');

	/* find: one session, the same as enumerate says; others not found */
	{
		rdms_session one;

		CHECK_EQ(rdms_backend_x2go.find(&cfg, 2001, &one, &err), 0);
		CHECK(one.id == 2001 && one.connect_state == WTS_DISCONNECTED && one.uid == 65534);
		CHECK_EQ(rdms_backend_x2go.find(&cfg, 2003, &one, &err), WBEM_E_NOT_FOUND);
		CHECK_EQ(rdms_backend_x2go.find(&cfg, 2006, &one, &err), WBEM_E_NOT_FOUND);
		CHECK_EQ(rdms_backend_x2go.find(&cfg, 2008, &one, &err), WBEM_E_NOT_FOUND);
		CHECK_EQ(rdms_backend_x2go.find(&cfg, 0, &one, &err), WBEM_E_NOT_FOUND);
		CHECK_EQ(rdms_backend_x2go.find(&cfg, 424242, &one, &err), WBEM_E_NOT_FOUND);
		CHECK(strstr(err.message, "no X2Go session 424242") != NULL);
	}
	/* the actions check before touching anything (no signal, no script) */
	s = session_of(&l, 2001);
	if (s != NULL) {
		CHECK_EQ(rdms_backend_x2go.disconnect(&cfg, s, &err), WBEM_E_INVALID_OPERATION);
		CHECK(strstr(err.message, "session 2001 is not connected (SUSPENDED)") != NULL);
		CHECK_EQ(rdms_backend_x2go.send_message(&cfg, s, "a\nb", "m", NULL, &err),
		    WBEM_E_INVALID_PARAMETER);
		CHECK(strstr(err.message, "Title has a control character at byte 1") != NULL);
		CHECK_EQ(rdms_backend_x2go.send_message(&cfg, s, "t", NULL, NULL, &err),
		    WBEM_E_INVALID_PARAMETER);
	}
	if (l.count > 0) {
		rdms_session gone = l.items[0];

		/* the agent ended since the listing */
		gone.id = 2005;
		CHECK_EQ(rdms_backend_x2go.disconnect(&cfg, &gone, &err), WBEM_E_NOT_FOUND);
		CHECK_EQ(rdms_backend_x2go.logoff(&cfg, &gone, &err), WBEM_E_NOT_FOUND);
		CHECK_EQ(rdms_backend_x2go.send_message(&cfg, &gone, "t", "m", NULL, &err), WBEM_E_NOT_FOUND);
		/* the pid now belongs to another program */
		gone.id = 2003;
		CHECK_EQ(rdms_backend_x2go.logoff(&cfg, &gone, &err), WBEM_E_NOT_FOUND);
		CHECK(strstr(err.message, "session 2003 has ended") != NULL);
		/* another user's agent under that pid */
		gone = l.items[0];
		gone.uid = 4242;
		CHECK_EQ(rdms_backend_x2go.disconnect(&cfg, &gone, &err), WBEM_E_NOT_FOUND);
		/* terminated meanwhile */
		gone.id = 2006;
		gone.uid = 0;
		gone.display = 56;
		CHECK_EQ(rdms_backend_x2go.logoff(&cfg, &gone, &err), WBEM_E_NOT_FOUND);
		CHECK(strstr(err.message, "is ending (TERMINATED)") != NULL);
		gone.id = 0;
		CHECK_EQ(rdms_backend_x2go.logoff(&cfg, &gone, &err), WBEM_E_NOT_FOUND);
	}
	rdms_session_list_free(&l);

	/* a broken database is an error, not an empty list */
	puts_file("x2go_sessions", "garbage garbage garbage garbage garbage garbage garbage garbage\n");
	CHECK_EQ(rdms_backend_x2go.enumerate(&cfg, &l, &err), WBEM_E_FAILED);
	CHECK_EQ(l.count, 0);
	/* an unreadable sql config too */
	snprintf(cfg.x2go_sqlconf, sizeof cfg.x2go_sqlconf, "%s/proc", tmp);
	CHECK_EQ(rdms_backend_x2go.enumerate(&cfg, &l, &err), WBEM_E_FAILED);
	rdms_session_list_free(&l);
	/* no database at all: nothing to list, and nothing installed-or-serving
	 * unless X2Go's programs are */
	test_config(&cfg);
	snprintf(cfg.x2go_db, sizeof cfg.x2go_db, "%s/none", tmp);
	CHECK_EQ(rdms_backend_x2go.enumerate(&cfg, &l, &err), 0);
	CHECK_EQ(l.count, 0);
	CHECK(rdms_backend_x2go.available(&cfg) ==
	      (access("/usr/bin/x2goagent", X_OK) == 0 ||
	       access("/usr/sbin/x2gocleansessions", X_OK) == 0));
	rdms_session_list_free(&l);
}

static unsigned long scans_of(rdms_watch *w)
{
	rdms_watch_counts counts;

	rdms_watch_get_counts(w, &counts);
	return counts.scans;
}

/*
 * The session watch follows nxagent's state file: a client attaching or
 * going changes only that file (the database follows later or never), and
 * must be seen without waiting for the safety rescan.
 */
static void test_watch_state(void)
{
	static rdms_config cfg;
	const rdms_backend *const backends[] = { &rdms_backend_x2go };
	rdms_watch_params wp = { .cfg = &cfg, .backends = backends, .nb = 1,
	                         .debounce_ms = 20, .resync_s = 3600 };
	const char *name = "root-70-1700000000_stDtwm_dp24";
	int agent = (int)getpid();   /* alive for the whole test; its pidfd never fires */
	rdms_session s = { .server_pid = agent };
	unsigned long scans;
	rdms_feed_pos at;
	rdms_error err = { 0 };
	rdms_watch *w;
	char cmd[128], rows[256], path[PATH_MAX], want[PATH_MAX];
	int n;
	sqlite3 *db;

	test_config(&cfg);
	dir("proc");
	dir("x2gotmp");
	n = snprintf(cmd, sizeof cmd, "x2goagent%c-name%cX2GO-%s%c:70", 0, 0, name, 0);
	proc(agent, 'S', 0, cmd, (size_t)n + 1);
	state("root", name, "STARTING");
	snprintf(rows, sizeof rows, "INSERT INTO sessions (session_id, display, uname, server, client,"
	         " status, agent_pid) VALUES ('%s', 70, 'root', 'vm', '192.0.2.7', 'R', %d)",
	         name, agent);
	db = db_make("x2go_sessions", schema, rows);
	sqlite3_close(db);
	puts_file("sql", "backend=sqlite\n");

	/* the session's directory, from its agent's name */
	str_copy(s.user, sizeof s.user, "root");
	CHECK(rdms_x2go_session_dir(&cfg, &s, path, sizeof path));
	snprintf(want, sizeof want, "%s/x2gotmp/.x2go-root/C-%s", tmp, name);
	CHECK_STR(path, want);
	CHECK(!rdms_x2go_session_dir(&cfg, &s, path, 8));
	s.server_pid = 1;   /* no agent there (in the fixture /proc) */
	CHECK(!rdms_x2go_session_dir(&cfg, &s, path, sizeof path));

	wp.feed = rdms_feed_new(1, NULL);
	w = rdms_watch_start(&wp, &err);
	CHECK(w != NULL);
	if (w == NULL) {
		rdms_feed_free(wp.feed);
		return;
	}
	rdms_watch_sync(w);
	at = rdms_feed_head(wp.feed);
	CHECK_EQ(at.seq, 1);   /* the creation, starting (ConnectState 2) */

	/* the client attaches: only the state file says so */
	state("root", name, "RUNNING");
	CHECK(rdms_feed_wait(wp.feed, at, 2000));
	at = rdms_feed_head(wp.feed);
	/* it goes: SUSPENDING, then SUSPENDED (one change: Active -> Disconnected) */
	state("root", name, "SUSPENDING");
	CHECK(rdms_feed_wait(wp.feed, at, 2000));
	at = rdms_feed_head(wp.feed);
	state("root", name, "SUSPENDED");
	usleep(200000);
	CHECK_EQ(rdms_feed_head(wp.feed).seq, at.seq);
	/* another file there wakes nobody */
	scans = scans_of(w);
	snprintf(path, sizeof path, "x2gotmp/.x2go-root/C-%s/cmd.pid", name);
	puts_file(path, "1\n");
	usleep(200000);
	CHECK_EQ(scans_of(w), scans);
	rdms_watch_stop(w);
	rdms_feed_free(wp.feed);
}

static void test_registry(void)
{
	rdms_config cfg;

	rdms_config_defaults(&cfg);
	CHECK(rdms_backend_find("x2go") == &rdms_backend_x2go);
	CHECK_STR(cfg.backends, "xrdp, x2go");
	CHECK(rdms_config_backend_enabled(&cfg, "xrdp"));
	CHECK(rdms_config_backend_enabled(&cfg, "x2go"));
	CHECK(!rdms_config_backend_enabled(&cfg, "fixture"));
	CHECK_STR(cfg.x2go_db, "/var/lib/x2go/x2go_sessions");
	CHECK_STR(cfg.x2go_sqlconf, "/etc/x2go/x2gosql/sql");
	CHECK_STR(cfg.x2go_tmpdir, "/tmp");
	{
		const char *text = "x2go_db = /srv/x2go.db\nx2go_tmpdir=/var/tmp\n";

		CHECK_EQ(rdms_config_parse(&cfg, text, strlen(text), "t", NULL), 0);
	}
	CHECK_STR(cfg.x2go_db, "/srv/x2go.db");
	CHECK_STR(cfg.x2go_tmpdir, "/var/tmp");
}

/* ---- the shared run-as-user helper ------------------------------------------ */

static void test_user_run(void)
{
	char out[256], *sh[] = { (char *)"/bin/sh", (char *)"-c",
	    (char *)"echo \"$USER:$HOME:$(id -u):$(id -G)\"; echo err >&2; exit 3", NULL };
	char *sleeper[] = { (char *)"/bin/sleep", (char *)"5", NULL };
	char *missing[] = { (char *)"/nonexistent/prog", NULL };
	rdms_error err = { 0 };
	rdms_user u;
	int status = 0;
	long long t0;

	CHECK_EQ(rdms_user_lookup(4000000000u, &u, &err), WBEM_E_FAILED);
	CHECK(strstr(err.message, "no account for uid 4000000000") != NULL);
	/* as nobody when we can switch, else as ourselves */
	CHECK_EQ(rdms_user_lookup(getuid() == 0 ? 65534 : getuid(), &u, &err), 0);
	CHECK_EQ(rdms_user_run(&u, sh, 5000, &status, out, sizeof out, &err), 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 3);
	if (getuid() == 0) {
		char want[PATH_MAX + 64];

		snprintf(want, sizeof want, "nobody:%s:65534:65534\nerr\n", u.home);
		CHECK_STR(out, want);     /* no root group left behind */
	}
	t0 = mono_ms();
	CHECK_EQ(rdms_user_run(&u, sleeper, 200, &status, out, sizeof out, &err), WBEM_E_FAILED);
	CHECK(strstr(err.message, "did not finish within 200 ms") != NULL);
	CHECK(mono_ms() - t0 < 2000);
	CHECK_EQ(rdms_user_run(&u, missing, 2000, &status, out, sizeof out, &err), WBEM_E_FAILED);
	CHECK(strstr(err.message, "cannot run /nonexistent/prog") != NULL);
	/* output longer than the buffer is cut, not overflowed */
	{
		char small[8], *yes[] = { (char *)"/bin/sh", (char *)"-c",
		    (char *)"printf 0123456789abcdef", NULL };

		CHECK_EQ(rdms_user_run(&u, yes, 5000, &status, small, sizeof small, &err), 0);
		CHECK_STR(small, "0123456");
	}
	rdms_user_free(&u);
}

int main(void)
{
	snprintf(tmp, sizeof tmp, "/tmp/rdms-test-x2go.XXXXXX");
	if (mkdtemp(tmp) == NULL) {
		perror("mkdtemp");
		return 2;
	}
	chmod(tmp, 0755);
	test_row_parse();
	test_db();
	test_sqlconf();
	test_list_parse();
	test_session_epoch();
	test_state();
	test_agent_cmdline();
	test_sessions();
	test_watch_state();
	test_registry();
	test_user_run();
	{
		/* our own mkdtemp directory only */
		char cmd[128];

		snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", tmp);
	}
	return check_summary("x2go");
}
