/*
 * x2go.c -- the X2Go 4.1 back-end object: available() and enumerate().
 *
 * enumerate reads the session rows (x2go_db.c: read-only SQLite, about a
 * millisecond; x2golistsessions_root only where the database is not
 * SQLite), then checks each against /proc and the state file
 * (x2go_state.c).  Nothing is forked on the SQLite path.  find (a Get, a
 * method call) first asks /proc whether the id is an X2Go agent at all, so
 * the ids of other back-ends' sessions cost no database read.
 */
#include "x2go_internal.h"

#include <ctype.h>
#include <dirent.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../common/log.h"
#include "../../common/strutil.h"
#include "../proc.h"
#include "../xidle.h"

static bool x2go_available(const rdms_config *cfg)
{
	struct stat st;

	/* installed (the agent and the housekeeping daemon) or serving (its database) */
	return access("/usr/bin/x2goagent", X_OK) == 0 ||
	    access("/usr/sbin/x2gocleansessions", X_OK) == 0 ||
	    (stat(cfg->x2go_db, &st) == 0 && S_ISREG(st.st_mode));
}

/* The rows, from the database or, where it is not SQLite, from X2Go's script. */
static uint32_t read_rows(const rdms_config *cfg, x2go_rows *rows, rdms_error *err)
{
	char backend[64];
	uint32_t rc;

	if ((rc = x2go_sql_backend(cfg->x2go_sqlconf, backend, sizeof backend, err)) != WBEM_S_NO_ERROR)
		return rc;
	if (strcmp(backend, "sqlite") == 0) {
		rc = x2go_db_read(cfg->x2go_db, X2GO_DB_BUSY_MS, rows, err);
		if (rc != WBEM_E_NOT_SUPPORTED)
			return rc;
		log_warn("x2go: %s; asking %s instead", err != NULL ? err->message : "unknown schema",
		    X2GO_LISTSESSIONS_ROOT);
		rdms_error_clear(err);
	}
	return x2go_list_run(rows, err);
}

static uint32_t x2go_enumerate(const rdms_config *cfg, rdms_session_list *out,
                               rdms_error *err)
{
	x2go_rows rows = { 0 };
	uint32_t rc;

	if ((rc = read_rows(cfg, &rows, err)) == WBEM_S_NO_ERROR)
		rc = x2go_sessions_from_rows(cfg, &rows, out, err);
	x2go_rows_free(&rows);
	return rc;
}

/* One session: only the rows of agent ID are checked against /proc. */
static uint32_t x2go_find(const rdms_config *cfg, uint32_t id, rdms_session *out,
                          rdms_error *err)
{
	x2go_rows rows = { 0 };
	rdms_session_list l = { 0 };
	x2go_agent a;
	size_t keep = 0;
	uint32_t rc;

	/* most ids asked here are another back-end's: no X2Go agent, no database read */
	if (id == 0 || id > INT_MAX ||
	    x2go_agent_read(cfg->proc_root, (pid_t)id, &a, NULL) != WBEM_S_NO_ERROR)
		return rdms_fail(err, WBEM_E_NOT_FOUND, "no X2Go session %u", id);
	if ((rc = read_rows(cfg, &rows, err)) != WBEM_S_NO_ERROR)
		goto out;
	for (size_t i = 0; i < rows.n; i++)
		if (rows.v[i].agent_pid == (pid_t)id)
			rows.v[keep++] = rows.v[i];
	rows.n = keep;
	if ((rc = x2go_sessions_from_rows(cfg, &rows, &l, err)) != WBEM_S_NO_ERROR)
		goto out;
	if (l.count == 0)
		rc = rdms_fail(err, WBEM_E_NOT_FOUND, "no X2Go session %u", id);
	else
		*out = l.items[0];
out:
	rdms_session_list_free(&l);
	x2go_rows_free(&rows);
	return rc;
}

/* True when ARG is (a path of) X2Go's daemon. */
static bool is_cleansessions(const char *arg)
{
	const char *base = strrchr(arg, '/');

	return strcmp(base != NULL ? base + 1 : arg, "x2gocleansessions") == 0;
}

/*
 * X2Go has no listener of its own (sessions start over SSH); its server is
 * x2gocleansessions, the daemon x2goserver.service runs, which keeps the
 * session database and ends what is left of finished sessions.
 */
static bool x2go_running(const rdms_config *cfg, char *why, size_t size)
{
	DIR *d = opendir(cfg->proc_root);
	struct dirent *e;
	bool found = false;

	if (d == NULL) {
		str_copy(why, size, "cannot read the process table");
		return false;
	}
	while (!found && (e = readdir(d)) != NULL) {
		char cmdline[512], *end;
		long pid = strtol(e->d_name, &end, 10);
		ssize_t n;

		if (!isdigit((unsigned char)e->d_name[0]) || *end != '\0' || pid <= 0 || pid > INT_MAX)
			continue;
		n = rdms_proc_read(cfg->proc_root, (pid_t)pid, "cmdline", cmdline, sizeof cmdline);
		/* the daemon itself, or perl running it: the first two arguments */
		found = n > 0 && (is_cleansessions(cmdline) ||
		                  (strlen(cmdline) + 1 < (size_t)n &&
		                   is_cleansessions(cmdline + strlen(cmdline) + 1)));
	}
	closedir(d);
	if (!found)
		str_copy(why, size, "x2gocleansessions (X2Go's server daemon) is not running");
	return found;
}

/* Each agent's X server is asked as the session's user, with the agent's own cookie. */
static void x2go_idle(const rdms_config *cfg, const rdms_session *s, size_t n, uint32_t *idle)
{
	for (size_t i = 0; i < n; i++) {
		x2go_agent a;

		idle[i] = RDMS_IDLE_UNKNOWN;
		if (x2go_agent_read(cfg->proc_root, s[i].server_pid, &a, NULL) == WBEM_S_NO_ERROR &&
		    a.uid == s[i].uid)
			idle[i] = rdms_x_idle(&s[i], a.xauth[0] != '\0' ? a.xauth : NULL);
	}
}

const rdms_backend rdms_backend_x2go = {
	.name = "x2go",
	.available = x2go_available,
	.enumerate = x2go_enumerate,
	.disconnect = x2go_disconnect,
	.logoff = x2go_logoff,
	.send_message = x2go_send_message,
	.find = x2go_find,
	.running = x2go_running,
	.idle = x2go_idle,
};
