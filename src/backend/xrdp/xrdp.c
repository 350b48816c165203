/*
 * xrdp.c -- the xrdp 0.9 back-end object: available(), enumerate() and find().
 *
 * enumerate is one pass over the process table (xrdp_scan.c), one read of
 * /proc/net/unix and the TCP tables (xrdp_state.c), a readlink of the fds
 * of xrdp's few connection processes, one sock_diag request per attached
 * Xorg session and, only when a session is attached, the tail of the xrdp
 * log (xrdp_client.c).  Nothing is forked and sesman is not asked: its
 * management protocol knows less than /proc and blocks it while asked (P3).
 */
#include "xrdp_internal.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../common/strutil.h"
#include "../xidle.h"

static bool xrdp_available(const rdms_config *cfg)
{
	struct stat st;

	/* installed (the package's binary) or serving (its socket directory) */
	return access("/usr/sbin/xrdp-sesman", X_OK) == 0 ||
	    (stat(cfg->xrdp_sockdir, &st) == 0 && S_ISDIR(st.st_mode));
}

/*
 * The sessions into OUT: every one, or with ONLY not 0 that one alone -- the
 * process table is read whole either way (a session is known by its place
 * in it), but only the chosen session's files, sockets and log lines are.
 */
static uint32_t scan(const rdms_config *cfg, uint32_t only, rdms_session_list *out,
                     rdms_error *err)
{
	xrdp_proctab t = { 0 };
	size_t first = out->count;
	xrdp_conn *conns = NULL;
	long long btime;
	uint32_t rc;

	if ((rc = xrdp_proctab_read(cfg->proc_root, &t, err)) != WBEM_S_NO_ERROR)
		goto out;
	if ((rc = xrdp_scan_sessions(cfg->proc_root, &t, only, out, err)) != WBEM_S_NO_ERROR)
		goto out;
	if (out->count == first)
		goto out;
	if ((conns = calloc(out->count - first, sizeof *conns)) == NULL) {
		rc = rdms_fail(err, WBEM_E_OUT_OF_MEMORY, "out of memory listing sessions");
		goto out;
	}
	if ((rc = xrdp_state_fill(cfg, &t, out, first, conns, err)) != WBEM_S_NO_ERROR)
		goto out;
	xrdp_client_fill(cfg, &t, out, first, conns);
	/* the X server starts with the session and outlives reconnects */
	btime = rdms_proc_boot_time(cfg->proc_root);
	for (size_t i = first; i < out->count; i++)
		out->items[i].logon_time = rdms_proc_start_time(cfg->proc_root,
		                                                out->items[i].server_pid, btime);
out:
	if (rc != WBEM_S_NO_ERROR)
		out->count = first;     /* all or nothing */
	free(conns);
	xrdp_proctab_free(&t);
	return rc;
}

static uint32_t xrdp_enumerate(const rdms_config *cfg, rdms_session_list *out,
                               rdms_error *err)
{
	return scan(cfg, 0, out, err);
}

/* A method's or a Get's one session, read as freshly as enumerate reads them all. */
static uint32_t xrdp_find(const rdms_config *cfg, uint32_t id, rdms_session *out,
                          rdms_error *err)
{
	rdms_session_list l = { 0 };
	/* most ids asked here are another back-end's: one stat, no process table */
	uint32_t rc = id == 0 || id > INT_MAX ||
	              !xrdp_is_session_process(cfg->proc_root, (pid_t)id)
	              ? (uint32_t)WBEM_E_NOT_FOUND : scan(cfg, id, &l, err);

	if (rc == WBEM_S_NO_ERROR && l.count == 0)
		rc = WBEM_E_NOT_FOUND;
	if (rc == WBEM_S_NO_ERROR)
		*out = l.items[0];
	else if (rc == WBEM_E_NOT_FOUND)
		rdms_fail(err, rc, "no xrdp session %u", (unsigned)id);
	rdms_session_list_free(&l);
	return rc;
}

/* True when T has a main process named COMM (one whose parent has another name). */
static bool has_main(const xrdp_proctab *t, const char *comm)
{
	for (size_t i = 0; i < t->n; i++)
		if (xrdp_proc_is_main(t, &t->v[i], comm))
			return true;
	return false;
}

/* Sessions need sesman (it starts and keeps them) and xrdp (clients reach them through it). */
static bool xrdp_running(const rdms_config *cfg, char *why, size_t size)
{
	xrdp_proctab t = { 0 };
	rdms_error err = { 0 };
	bool sesman, xrdp;

	if (xrdp_proctab_read(cfg->proc_root, &t, &err) != WBEM_S_NO_ERROR) {
		str_copy(why, size, err.message);
		return false;
	}
	sesman = has_main(&t, "xrdp-sesman");
	xrdp = has_main(&t, "xrdp");
	xrdp_proctab_free(&t);
	if (!sesman)
		str_copy(why, size, xrdp ? "xrdp-sesman is not running"
		                         : "xrdp and xrdp-sesman are not running");
	else if (!xrdp)
		str_copy(why, size, "xrdp is not running: clients cannot connect");
	return sesman && xrdp;
}

/* Every session's X server is asked as the session's user, with sesman's cookie. */
static void xrdp_idle(const rdms_config *cfg, const rdms_session *s, size_t n, uint32_t *idle)
{
	(void)cfg;
	for (size_t i = 0; i < n; i++)
		idle[i] = rdms_x_idle(&s[i], NULL);
}

const rdms_backend rdms_backend_xrdp = {
	.name = "xrdp",
	.available = xrdp_available,
	.enumerate = xrdp_enumerate,
	.disconnect = xrdp_disconnect,
	.logoff = xrdp_logoff,
	.send_message = xrdp_send_message,
	.find = xrdp_find,
	.running = xrdp_running,
	.idle = xrdp_idle,
};
