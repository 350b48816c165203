/*
 * xrdp_actions.c -- Disconnect, Logoff and SendMessage on an xrdp 0.9
 * session (backends.md §3.4-3.7).
 *
 * sesman 0.9 cannot act on a session (P5), so the actions go to the
 * processes: a datagram to xorgxrdp's disconnect socket or SIGTERM to the
 * serving xrdp child (Disconnect), SIGTERM to the window manager and then
 * the X server (Logoff; never the session process, which ignores it (P6),
 * and never a process group, which is sesman's own (P7)), and a message
 * dialog run as the session's user (SendMessage, userexec.h).
 *
 * Each action first re-checks that the pids it was given still are what the
 * listing said (pid reuse), and returns success only once it has seen the
 * effect: the connection gone, the session process gone, the dialog's
 * program started and still running.
 */
#include "../../common/monotime.h"
#include "xrdp_internal.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define POLL_MS            20
#define DISCONNECT_WAIT_MS 3000

/* The session process and its X server are still the ones S describes. */
static uint32_t check_session(const rdms_config *cfg, const rdms_session *s,
                              rdms_error *err)
{
	char buf[1024];
	xrdp_proc p;

	if (s->id == 0 || s->id > INT_MAX ||
	    rdms_proc_read(cfg->proc_root, (pid_t)s->id, "stat", buf, sizeof buf) <= 0 ||
	    xrdp_parse_stat(buf, &p, NULL) != WBEM_S_NO_ERROR ||
	    strcmp(p.comm, "xrdp-sesman") != 0 || p.state == 'Z')
		return rdms_fail(err, WBEM_E_NOT_FOUND, "session %u has ended", s->id);
	if (!xrdp_pid_matches(cfg->proc_root, s->server_pid, (pid_t)s->id, s->kind))
		return rdms_fail(err, WBEM_E_NOT_FOUND,
		    "session %u has no X server any more (pid %d)", s->id, (int)s->server_pid);
	return WBEM_S_NO_ERROR;
}

/* Polls PRED(cfg, s) for up to MS milliseconds; true once it holds. */
static bool wait_until(const rdms_config *cfg, const rdms_session *s, int ms,
                       bool (*pred)(const rdms_config *, const rdms_session *))
{
	long long end = mono_ms() + ms;

	for (;;) {
		if (pred(cfg, s))
			return true;
		if (mono_ms() >= end)
			return false;
		rdms_sleep_ms(POLL_MS);
	}
}

/* ---- Disconnect --------------------------------------------------------- */

static bool detached(const rdms_config *cfg, const rdms_session *s)
{
	return !xrdp_session_attached(cfg, s);
}

/* xrdp-dis's way: any datagram to xorgxrdp's disconnect socket (Xorg only). */
static bool send_disconnect_datagram(const rdms_config *cfg, int display)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	bool ok;
	int fd;

	if ((size_t)snprintf(sa.sun_path, sizeof sa.sun_path, "%s/xrdp_disconnect_display_%d",
	    cfg->xrdp_sockdir, display) >= sizeof sa.sun_path)
		return false;
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return false;
	ok = sendto(fd, "x", 1, MSG_DONTWAIT, (struct sockaddr *)&sa, sizeof sa) == 1;
	close(fd);
	return ok;
}

static bool read_proc(const char *root, pid_t pid, xrdp_proc *p)
{
	char buf[1024];

	return pid > 0 && rdms_proc_read(root, pid, "stat", buf, sizeof buf) > 0 &&
	    xrdp_parse_stat(buf, p, NULL) == WBEM_S_NO_ERROR && p->state != 'Z' &&
	    p->state != 'X';
}

/* The per-connection xrdp process: named xrdp, child of the main xrdp. */
static bool is_xrdp_child(const char *root, pid_t pid)
{
	xrdp_proc c, m, g;

	if (!read_proc(root, pid, &c) || strcmp(c.comm, "xrdp") != 0 ||
	    !read_proc(root, c.ppid, &m) || strcmp(m.comm, "xrdp") != 0)
		return false;
	/* the parent is the main xrdp: its own parent has another name */
	return !read_proc(root, m.ppid, &g) || strcmp(g.comm, "xrdp") != 0;
}

uint32_t xrdp_disconnect(const rdms_config *cfg, const rdms_session *s,
                         rdms_error *err)
{
	bool xorg = strcmp(s->kind, "Xorg") == 0;
	int waited = 0;
	uint32_t rc;

	if (s->connect_state != WTS_ACTIVE)
		return rdms_fail(err, WBEM_E_INVALID_OPERATION, "session %u is not connected", s->id);
	if ((rc = check_session(cfg, s, err)) != WBEM_S_NO_ERROR)
		return rc;
	if (xorg && send_disconnect_datagram(cfg, s->display)) {
		if (wait_until(cfg, s, DISCONNECT_WAIT_MS / 2, detached))
			goto done;
		waited = DISCONNECT_WAIT_MS / 2;
	}
	if (s->conn_pid <= 0)
		return rdms_fail(err, WBEM_E_FAILED,
		    "cannot tell which xrdp process serves session %u", s->id);
	if (!is_xrdp_child(cfg->proc_root, s->conn_pid))
		return rdms_fail(err, WBEM_E_FAILED,
		    "pid %d no longer is an xrdp connection process", (int)s->conn_pid);
	if (kill(s->conn_pid, SIGTERM) < 0)
		return rdms_fail(err, WBEM_E_FAILED, "cannot signal xrdp process %d: %s",
		    (int)s->conn_pid, strerror(errno));
	if (!wait_until(cfg, s, DISCONNECT_WAIT_MS - waited, detached))
		return rdms_fail(err, WBEM_E_FAILED,
		    "session %u is still connected %d ms after the disconnect", s->id,
		    DISCONNECT_WAIT_MS);
done:
	/* the point of Disconnect: the session and its X server stay */
	if (check_session(cfg, s, NULL) != WBEM_S_NO_ERROR)
		return rdms_fail(err, WBEM_E_FAILED, "session %u ended while disconnecting", s->id);
	return WBEM_S_NO_ERROR;
}

/* ---- Logoff ------------------------------------------------------------- */

static bool session_gone(const rdms_config *cfg, const rdms_session *s)
{
	xrdp_proc p;

	/* a zombie counts as gone (P11); so does a reused pid */
	return !read_proc(cfg->proc_root, (pid_t)s->id, &p) ||
	    strcmp(p.comm, "xrdp-sesman") != 0;
}

static bool server_gone(const rdms_config *cfg, const rdms_session *s)
{
	return !rdms_proc_alive(cfg->proc_root, s->server_pid);
}

uint32_t xrdp_logoff(const rdms_config *cfg, const rdms_session *s, rdms_error *err)
{
	int grace = cfg->logoff_grace_ms > 0 ? cfg->logoff_grace_ms : 2000;
	bool wm_signalled = false;
	uint32_t rc;

	if ((rc = check_session(cfg, s, err)) != WBEM_S_NO_ERROR)
		return rc;
	/* the session ends when its WM ends (sesman waits for it), then sesman
	 * stops the X server and chansrv and cleans up */
	if (s->wm_pid > 0 && xrdp_pid_matches(cfg->proc_root, s->wm_pid, (pid_t)s->id, NULL))
		wm_signalled = kill(s->wm_pid, SIGTERM) == 0;
	if (!wm_signalled || !wait_until(cfg, s, grace, session_gone)) {
		/* a WM that ignores SIGTERM: without its display it ends anyway */
		if (xrdp_pid_matches(cfg->proc_root, s->server_pid, (pid_t)s->id, s->kind) &&
		    kill(s->server_pid, SIGTERM) < 0 && errno != ESRCH)
			return rdms_fail(err, WBEM_E_FAILED, "cannot signal X server %d: %s",
			    (int)s->server_pid, strerror(errno));
		if (!wait_until(cfg, s, grace > 3000 ? grace : 3000, session_gone))
			return rdms_fail(err, WBEM_E_FAILED,
			    "session %u did not end after SIGTERM to its window manager (pid %d) "
			    "and X server (pid %d)", s->id, (int)s->wm_pid, (int)s->server_pid);
	}
	if (!wait_until(cfg, s, 3000, server_gone))
		return rdms_fail(err, WBEM_E_FAILED, "session %u ended but its X server %d is still running",
		    s->id, (int)s->server_pid);
	return WBEM_S_NO_ERROR;
}

/* ---- SendMessage -------------------------------------------------------- */

/* The dialog itself is the shared one (../userexec.c); xrdp's X servers
 * take the user's ~/.Xauthority (sesman writes the cookie there). */
uint32_t xrdp_send_message(const rdms_config *cfg, const rdms_session *s,
                           const char *title, const char *message,
                           const rdms_message_options *opt, rdms_error *err)
{
	uint32_t rc;

	if ((rc = rdms_message_check(title, message, err)) != WBEM_S_NO_ERROR)
		return rc;
	if ((rc = check_session(cfg, s, err)) != WBEM_S_NO_ERROR)
		return rc;
	return rdms_message_show(cfg, s, NULL, title, message, opt, err);
}
