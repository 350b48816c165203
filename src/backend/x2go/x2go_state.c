/*
 * x2go_state.c -- what a session really is: nxagent's state file and the
 * agent's /proc entry.
 *
 * The database's status lags (a lost client leaves R until somebody
 * corrects it; RESUMING shows as R or S: x2go.md §7.4), so ConnectState
 * comes from the state file nxagent itself writes, one word without a
 * newline: STARTING, RUNNING, SUSPENDING, SUSPENDED, RESUMING,
 * TERMINATING, TERMINATED.  The file lives in a directory the user owns,
 * so it is opened without following a symlink, without blocking on a FIFO,
 * and must be a small regular file of the user (or root).
 *
 * A row is only believed when its agent is: the pid alive, not a zombie,
 * owned by the row's user, and started with "-name X2GO-<session>" -- X2Go's
 * own liveness test, which also rules out a pid reused by another program.
 * The set of sessions a listing shows is thus the database's, checked
 * against /proc; leftover session directories (state TERMINATED, §7.9)
 * are never taken for sessions.
 */
#include "x2go_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../common/log.h"
#include "../../common/strutil.h"
#include "../proc.h"
#include "x2go_watch.h"

static const char *const state_names[] = {
	[X2GO_STARTING] = "STARTING", [X2GO_RUNNING] = "RUNNING",
	[X2GO_SUSPENDING] = "SUSPENDING", [X2GO_SUSPENDED] = "SUSPENDED",
	[X2GO_RESUMING] = "RESUMING", [X2GO_TERMINATING] = "TERMINATING",
	[X2GO_TERMINATED] = "TERMINATED",
};

const char *x2go_state_name(enum x2go_state st)
{
	return (unsigned)st < sizeof state_names / sizeof state_names[0] ? state_names[st] : "?";
}

uint32_t x2go_state_parse(const char *text, size_t len, enum x2go_state *st,
                          rdms_error *err)
{
	size_t n = len;

	while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == '\r' || text[n - 1] == ' ' ||
	    text[n - 1] == '\t'))
		n--;
	if (n == 0)
		return rdms_fail(err, WBEM_E_FAILED, "state file is empty");
	for (size_t i = 0; i < sizeof state_names / sizeof state_names[0]; i++) {
		if (strlen(state_names[i]) == n && memcmp(text, state_names[i], n) == 0) {
			*st = (enum x2go_state)i;
			return WBEM_S_NO_ERROR;
		}
	}
	for (size_t i = 0; i < n; i++)
		if (text[i] < 'A' || text[i] > 'Z')
			return rdms_fail(err, WBEM_E_FAILED,
			    "state file has a character other than A-Z at offset %zu", i);
	return rdms_fail(err, WBEM_E_FAILED, "state file names no known state ('%.*s')",
	    (int)(n > 16 ? 16 : n), text);
}

/* Reads the state file once; WBEM_E_NOT_FOUND when it is not there. */
static uint32_t read_once(const char *path, uid_t uid, enum x2go_state *st, rdms_error *err)
{
	char buf[64];
	struct stat sb;
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY)) < 0)
		return rdms_fail(err, errno == ENOENT ? WBEM_E_NOT_FOUND : WBEM_E_FAILED, "%s: %s",
		    path, strerror(errno));
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode) || (sb.st_uid != uid && sb.st_uid != 0) ||
	    sb.st_size >= (off_t)sizeof buf) {
		close(fd);
		return rdms_fail(err, WBEM_E_FAILED,
		    "%s is not a small regular file of uid %lu", path, (unsigned long)uid);
	}
	do
		n = read(fd, buf, sizeof buf - 1);
	while (n < 0 && errno == EINTR);
	close(fd);
	if (n < 0)
		return rdms_fail(err, WBEM_E_FAILED, "%s: %s", path, strerror(errno));
	return x2go_state_parse(buf, (size_t)n, st, err);
}

uint32_t x2go_state_read(const char *tmp, const char *user, const char *session,
                         uid_t uid, enum x2go_state *st, rdms_error *err)
{
	char path[PATH_MAX];
	uint32_t rc = WBEM_E_FAILED;

	if (strchr(user, '/') != NULL || strchr(session, '/') != NULL)
		return rdms_fail(err, WBEM_E_FAILED, "user or session name with '/'");
	if ((size_t)snprintf(path, sizeof path, "%s/.x2go-%s/C-%s/state", tmp, user, session) >=
	    sizeof path)
		return rdms_fail(err, WBEM_E_FAILED, "state file path too long");
	/* nxagent truncates, then writes: an empty read is retried briefly */
	for (int i = 0; i < 3; i++) {
		rdms_error e = { 0 };

		rc = read_once(path, uid, st, &e);
		if (rc == WBEM_S_NO_ERROR || strcmp(e.message, "state file is empty") != 0 || i == 2) {
			if (rc != WBEM_S_NO_ERROR && err != NULL)
				rdms_fail(err, rc, "%s: %s", path, e.message);
			break;
		}
		rdms_sleep_ms(5);
	}
	return rc;
}

bool x2go_state_wts(enum x2go_state st, uint32_t *wts)
{
	switch (st) {
	case X2GO_RUNNING:
		*wts = WTS_ACTIVE;
		return true;
	case X2GO_SUSPENDING:
	case X2GO_SUSPENDED:
		*wts = WTS_DISCONNECTED;
		return true;
	case X2GO_STARTING:
	case X2GO_RESUMING:
		/* no client attached yet: "in the middle of connecting" */
		*wts = WTS_CONNECT_QUERY;
		return true;
	default:
		return false;
	}
}

/* ---- the agent ------------------------------------------------------------ */

uint32_t x2go_agent_parse_cmdline(const char *cmdline, size_t len, x2go_agent *a,
                                  rdms_error *err)
{
	const char *name = rdms_cmdline_option(cmdline, len, "-name");
	const char *auth = rdms_cmdline_option(cmdline, len, "-auth");

	a->session[0] = a->xauth[0] = '\0';
	if (name == NULL || strncmp(name, "X2GO-", 5) != 0 || name[5] == '\0')
		return rdms_fail(err, WBEM_E_NOT_FOUND, "no -name X2GO-<session> argument");
	if (!str_copy(a->session, sizeof a->session, name + 5))
		return rdms_fail(err, WBEM_E_NOT_FOUND, "session name too long");
	if (auth != NULL && auth[0] == '/')
		str_copy(a->xauth, sizeof a->xauth, auth);   /* too long: left "" */
	a->display = rdms_cmdline_display(cmdline, len);
	return WBEM_S_NO_ERROR;
}

uint32_t x2go_agent_read(const char *root, pid_t pid, x2go_agent *a, rdms_error *err)
{
	char buf[8192];
	ssize_t len;

	memset(a, 0, sizeof *a);
	a->display = -1;
	if (!rdms_proc_alive_uid(root, pid, &a->uid))
		return rdms_fail(err, WBEM_E_NOT_FOUND, "agent %d is gone", (int)pid);
	if ((len = rdms_proc_read(root, pid, "cmdline", buf, sizeof buf)) <= 0)
		return rdms_fail(err, WBEM_E_NOT_FOUND, "agent %d is gone", (int)pid);
	if (x2go_agent_parse_cmdline(buf, (size_t)len, a, err) != WBEM_S_NO_ERROR)
		return rdms_fail(err, WBEM_E_NOT_FOUND, "pid %d is no X2Go agent", (int)pid);
	return WBEM_S_NO_ERROR;
}

/* ---- rows to sessions --------------------------------------------------------- */

/* The last account looked up, for the rows of one listing (a user's sessions are often several). */
typedef struct uid_cache {
	char  name[256];
	uid_t uid;
	bool  found;
} uid_cache;

static bool user_uid(const char *name, uid_t *uid, uid_cache *c)
{
	struct passwd pw, *res = NULL;
	char buf[4096];

	if (c->name[0] == '\0' || strcmp(c->name, name) != 0) {
		str_copy(c->name, sizeof c->name, name);
		c->found = getpwnam_r(name, &pw, buf, sizeof buf, &res) == 0 && res != NULL;
		c->uid = c->found ? pw.pw_uid : 0;
	}
	*uid = c->uid;
	return c->found;
}

int64_t x2go_session_epoch(const char *session)
{
	/* USER-DISPLAY-EPOCH_stTYPE...: USER may hold '-', so from the "_st" back */
	const char *st = strstr(session, "_st"), *p;
	int64_t t = 0;

	if (st == NULL)
		return 0;
	for (p = st; p > session && p[-1] >= '0' && p[-1] <= '9'; p--)
		;
	if (p == st || p == session || p[-1] != '-' || st - p > 12)
		return 0;
	for (; p < st; p++)
		t = t * 10 + (*p - '0');
	return t;
}

static bool listed(const rdms_session_list *l, size_t first, uint32_t id)
{
	for (size_t i = first; i < l->count; i++)
		if (l->items[i].id == id)
			return true;
	return false;
}

/* Whether row R is a live session; fills T when it is. */
static bool live_session(const rdms_config *cfg, const x2go_row *r, rdms_session *t,
                         uid_cache *c)
{
	rdms_error e = { 0 };
	enum x2go_state st = X2GO_TERMINATED;
	x2go_agent a;
	uid_t uid = 0;

	if (r->status != 'R' && r->status != 'S')
		return false;            /* finished, or being terminated */
	if (r->agent_pid <= 0) {
		log_debug("x2go: %s has no agent yet (starting)", r->session);
		return false;
	}
	if (!user_uid(r->user, &uid, c)) {
		log_debug("x2go: %s: no account %s", r->session, r->user);
		return false;
	}
	if (x2go_agent_read(cfg->proc_root, r->agent_pid, &a, &e) != WBEM_S_NO_ERROR ||
	    a.uid != uid || strcmp(a.session, r->session) != 0 ||
	    (a.display >= 0 && a.display != r->display)) {
		log_debug("x2go: %s: agent %d is not this session's (%s)", r->session,
		    (int)r->agent_pid, e.message[0] ? e.message : "other user, name or display");
		return false;
	}
	if (x2go_state_read(cfg->x2go_tmpdir, r->user, r->session, uid, &st, &e) != WBEM_S_NO_ERROR) {
		log_debug("x2go: %s: %s", r->session, e.message);
		return false;
	}
	memset(t, 0, sizeof *t);
	if (!x2go_state_wts(st, &t->connect_state))
		return false;            /* ending */
	t->id = (uint32_t)r->agent_pid;
	t->uid = uid;
	str_copy(t->user, sizeof t->user, r->user);
	/* the database keeps the last address; nobody is there while suspended */
	if (t->connect_state == WTS_ACTIVE) {
		str_copy(t->client, sizeof t->client, r->client);
		str_copy(t->client_addr, sizeof t->client_addr, r->client);
	}
	t->logon_time = x2go_session_epoch(r->session);
	t->backend = &rdms_backend_x2go;
	str_copy(t->kind, sizeof t->kind, "x2goagent");
	t->display = r->display;
	t->server_pid = r->agent_pid;
	return true;
}

uint32_t x2go_sessions_from_rows(const rdms_config *cfg, const x2go_rows *rows,
                                 rdms_session_list *out, rdms_error *err)
{
	size_t first = out->count;
	uid_cache c = { .name = "" };

	for (size_t i = 0; i < rows->n; i++) {
		rdms_session t, *s;

		if (!live_session(cfg, &rows->v[i], &t, &c) || listed(out, first, t.id))
			continue;
		if ((s = rdms_session_list_add(out)) == NULL) {
			out->count = first;
			return rdms_fail(err, WBEM_E_OUT_OF_MEMORY, "out of memory listing sessions");
		}
		*s = t;
	}
	return WBEM_S_NO_ERROR;
}

bool rdms_x2go_session_dir(const rdms_config *cfg, const rdms_session *s, char *out,
                           size_t size)
{
	x2go_agent a;
	int n;

	if (x2go_agent_read(cfg->proc_root, s->server_pid, &a, NULL) != WBEM_S_NO_ERROR ||
	    strchr(s->user, '/') != NULL || strchr(a.session, '/') != NULL)
		return false;
	n = snprintf(out, size, "%s/.x2go-%s/C-%s", cfg->x2go_tmpdir, s->user, a.session);
	return n > 0 && (size_t)n < size;
}
