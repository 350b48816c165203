/*
 * xrdp_actions.c -- Disconnect, Logoff and SendMessage on an xrdp 0.9
 * session (backends.md §3.4-3.7).
 *
 * sesman 0.9 cannot act on a session (P5), so the actions go to the
 * processes: a datagram to xorgxrdp's disconnect socket or SIGTERM to the
 * serving xrdp child (Disconnect), SIGTERM to the window manager and then
 * the X server (Logoff; never the session process, which ignores it (P6),
 * and never a process group, which is sesman's own (P7)), and an xmessage
 * dialog run as the session's user (SendMessage).
 *
 * Each action first re-checks that the pids it was given still are what the
 * listing said (pid reuse), and returns success only once it has seen the
 * effect: the connection gone, the session process gone, the dialog's
 * program started and still running.
 */
#include "xrdp_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../common/strutil.h"

#define POLL_MS            20
#define DISCONNECT_WAIT_MS 3000
#define XMESSAGE           "/usr/bin/xmessage"
/* How long SendMessage watches the dialog start before calling it shown. */
#define EARLY_EXIT_MS      500

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The session process and its X server are still the ones S describes. */
static uint32_t check_session(const rdms_config *cfg, const rdms_session *s,
                              rdms_error *err)
{
	char buf[1024];
	xrdp_proc p;

	if (s->id == 0 || s->id > INT_MAX ||
	    xrdp_read_proc_file(cfg->proc_root, (pid_t)s->id, "stat", buf, sizeof buf) <= 0 ||
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
	long long end = now_ms() + ms;

	for (;;) {
		if (pred(cfg, s))
			return true;
		if (now_ms() >= end)
			return false;
		sleep_ms(POLL_MS);
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

	return pid > 0 && xrdp_read_proc_file(root, pid, "stat", buf, sizeof buf) > 0 &&
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
	return !xrdp_pid_alive(cfg->proc_root, s->server_pid);
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

/*
 * The dialog is xmessage run as the session's user on its display.  The
 * caller must not wait for the user's answer (the method is fire-and-forget)
 * but must learn when the dialog cannot start, and must not be left with a
 * zombie.  So:
 *
 *   caller --fork--> helper --fork--> watcher --fork--> xmessage
 *            (waited for: exits at once)    (orphan, reaped by init)
 *
 * The watcher reports on a CLOEXEC pipe: exec failed (errno, through a second
 * CLOEXEC pipe from xmessage's side), xmessage exited within EARLY_EXIT_MS
 * (it cannot open the display, say), or "running".  It then stays to kill an
 * xmessage that outlives its own -timeout by far: an X client can hang in
 * connection setup in this kind of container (P10).  The message goes in on
 * stdin (-file -): message words are then never taken for Xt options such
 * as -display.  Everything after fork is async-signal-safe, since the
 * daemon may have threads: names, groups and the environment are prepared
 * before.
 */

enum report_kind { REPORT_RUNNING = 1, REPORT_EXEC_FAILED, REPORT_EXITED, REPORT_FORK_FAILED };

typedef struct report {
	int kind;
	int value;     /* errno, or the wait status */
} report;

typedef struct launch {
	uid_t  uid;
	gid_t  gid;
	gid_t *groups;
	int    ngroups;
	char   home[PATH_MAX];
	char  *argv[10];
	char  *envp[8];
	char   env[6][PATH_MAX + 32];
	char   timeout[16];
	int    deadline_s;   /* the watcher's limit on xmessage */
} launch;

static void write_report(int fd, int kind, int value)
{
	report r = { kind, value };

	if (write(fd, &r, sizeof r) != (ssize_t)sizeof r) {
		/* nobody to tell */
	}
}

/* In xmessage's process: become the user, then exec.  Never returns. */
static _Noreturn void run_xmessage(const launch *ln, int msg_fd, int err_fd)
{
	int e, devnull;

	if (dup2(msg_fd, 0) < 0)
		goto fail;
	if ((devnull = open("/dev/null", O_WRONLY)) >= 0) {
		dup2(devnull, 1);
		dup2(devnull, 2);
		if (devnull > 2)
			close(devnull);
	}
	if (setgroups((size_t)ln->ngroups, ln->groups) < 0 || setgid(ln->gid) < 0 ||
	    setuid(ln->uid) < 0)
		goto fail;
	if (getuid() != ln->uid || geteuid() != ln->uid || getgid() != ln->gid ||
	    (ln->uid != 0 && setuid(0) == 0)) {
		errno = EPERM;
		goto fail;
	}
	if (chdir(ln->home) < 0 && chdir("/") < 0)
		goto fail;
	execve(XMESSAGE, ln->argv, ln->envp);
fail:
	e = errno;
	if (write(err_fd, &e, sizeof e) < 0) {
		/* the watcher sees EOF without data and reports an exit instead */
	}
	_exit(127);
}

/*
 * In the helper: stdio on /dev/null and every other descriptor closed but
 * the two pipe ends KEEP1 and KEEP2, so that neither the watcher nor the
 * dialog holds the caller's sockets, or the pipes a caller such as a test
 * harness waits on for EOF, for the dialog's lifetime.
 */
static void detach_fds(int keep1, int keep2)
{
	int lo = keep1 < keep2 ? keep1 : keep2, hi = keep1 < keep2 ? keep2 : keep1;
	int devnull = open("/dev/null", O_RDWR);

	if (devnull >= 0) {
		for (int fd = 0; fd < 3; fd++)
			if (fd != keep1 && fd != keep2)
				dup2(devnull, fd);
		if (devnull > 2 && devnull != keep1 && devnull != keep2)
			close(devnull);
	}
	if (lo > 3)
		close_range(3, (unsigned)lo - 1, 0);
	if (hi > lo + 1)
		close_range((unsigned)lo + 1, (unsigned)hi - 1, 0);
	close_range((unsigned)hi + 1, ~0u, 0);
}

/* The watcher.  Never returns. */
static _Noreturn void watch(const launch *ln, int report_fd, int msg_fd)
{
	int ep[2], e, status;
	pid_t pid;
	ssize_t n;
	long long end;

	if (pipe2(ep, O_CLOEXEC) < 0) {
		write_report(report_fd, REPORT_FORK_FAILED, errno);
		_exit(1);
	}
	if ((pid = fork()) < 0) {
		write_report(report_fd, REPORT_FORK_FAILED, errno);
		_exit(1);
	}
	if (pid == 0) {
		close(ep[0]);
		close(report_fd);
		run_xmessage(ln, msg_fd, ep[1]);
	}
	close(ep[1]);
	close(msg_fd);
	do
		n = read(ep[0], &e, sizeof e);
	while (n < 0 && errno == EINTR);
	close(ep[0]);
	if (n == (ssize_t)sizeof e) {
		waitpid(pid, &status, 0);
		write_report(report_fd, REPORT_EXEC_FAILED, e);
		_exit(1);
	}
	end = now_ms() + EARLY_EXIT_MS;
	while (now_ms() < end) {
		if (waitpid(pid, &status, WNOHANG) == pid) {
			write_report(report_fd, REPORT_EXITED, status);
			_exit(0);
		}
		sleep_ms(POLL_MS);
	}
	write_report(report_fd, REPORT_RUNNING, 0);
	close(report_fd);
	end = now_ms() + (long long)ln->deadline_s * 1000;
	while (waitpid(pid, &status, WNOHANG) == 0) {
		if (now_ms() >= end) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			break;
		}
		sleep_ms(200);
	}
	_exit(0);
}

static uint32_t check_text(const char *what, const char *text, size_t max, bool lines,
                           rdms_error *err)
{
	size_t n;

	if (text == NULL)
		return rdms_fail(err, WBEM_E_INVALID_PARAMETER, "%s is missing", what);
	n = strlen(text);
	if (n > max)
		return rdms_fail(err, WBEM_E_INVALID_PARAMETER, "%s is longer than %zu bytes",
		    what, max);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)text[i];

		if ((c < 0x20 && !(lines && (c == '\n' || c == '\t'))) || c == 0x7f)
			return rdms_fail(err, WBEM_E_INVALID_PARAMETER,
			    "%s has a control character at offset %zu", what, i);
	}
	return WBEM_S_NO_ERROR;
}

/* Names, groups, argv and environment, all before any fork. */
static uint32_t prepare(const rdms_config *cfg, const rdms_session *s, const char *title,
                        launch *ln, rdms_error *err)
{
	struct passwd pw, *res = NULL;
	char buf[8192];
	int n = 0;

	memset(ln, 0, sizeof *ln);
	if (getpwuid_r(s->uid, &pw, buf, sizeof buf, &res) != 0 || res == NULL)
		return rdms_fail(err, WBEM_E_FAILED, "session %u: no account for uid %lu",
		    s->id, (unsigned long)s->uid);
	ln->uid = pw.pw_uid;
	ln->gid = pw.pw_gid;
	if (!str_copy(ln->home, sizeof ln->home, pw.pw_dir))
		return rdms_fail(err, WBEM_E_FAILED, "home directory of %s too long", pw.pw_name);
	getgrouplist(pw.pw_name, pw.pw_gid, NULL, &n);
	if (n <= 0)
		n = 1;
	if ((ln->groups = calloc((size_t)n, sizeof *ln->groups)) == NULL)
		return rdms_fail(err, WBEM_E_OUT_OF_MEMORY, "out of memory");
	ln->ngroups = n;
	if (getgrouplist(pw.pw_name, pw.pw_gid, ln->groups, &ln->ngroups) < 0)
		return rdms_fail(err, WBEM_E_FAILED, "cannot list the groups of %s", pw.pw_name);

	snprintf(ln->env[0], sizeof ln->env[0], "DISPLAY=:%d", s->display);
	snprintf(ln->env[1], sizeof ln->env[1], "XAUTHORITY=%s/.Xauthority", ln->home);
	snprintf(ln->env[2], sizeof ln->env[2], "HOME=%s", ln->home);
	snprintf(ln->env[3], sizeof ln->env[3], "USER=%s", pw.pw_name);
	snprintf(ln->env[4], sizeof ln->env[4], "LOGNAME=%s", pw.pw_name);
	snprintf(ln->env[5], sizeof ln->env[5], "PATH=/usr/bin:/bin");
	for (int i = 0; i < 6; i++)
		ln->envp[i] = ln->env[i];
	ln->envp[6] = NULL;

	n = 0;
	ln->argv[n++] = (char *)"xmessage";
	ln->argv[n++] = (char *)"-title";
	ln->argv[n++] = (char *)title;
	ln->argv[n++] = (char *)"-center";
	if (cfg->message_timeout_s > 0) {
		snprintf(ln->timeout, sizeof ln->timeout, "%d", cfg->message_timeout_s);
		ln->argv[n++] = (char *)"-timeout";
		ln->argv[n++] = ln->timeout;
	}
	ln->argv[n++] = (char *)"-file";
	ln->argv[n++] = (char *)"-";
	ln->argv[n] = NULL;
	ln->deadline_s = cfg->message_timeout_s > 0 ? cfg->message_timeout_s + 15 : 24 * 3600;
	return WBEM_S_NO_ERROR;
}

/* Reads the watcher's report, waiting at most MS milliseconds. */
static bool read_report(int fd, int ms, report *r)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	size_t got = 0;

	while (got < sizeof *r) {
		ssize_t n;

		if (poll(&pfd, 1, ms) <= 0)
			return false;
		n = read(fd, (char *)r + got, sizeof *r - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		got += (size_t)n;
	}
	return true;
}

static uint32_t explain(const report *r, const rdms_session *s, rdms_error *err)
{
	switch (r->kind) {
	case REPORT_RUNNING:
		return WBEM_S_NO_ERROR;
	case REPORT_EXEC_FAILED:
		return rdms_fail(err, WBEM_E_FAILED, "cannot run %s as uid %lu: %s", XMESSAGE,
		    (unsigned long)s->uid, strerror(r->value));
	case REPORT_EXITED:
		if (WIFEXITED(r->value))
			return rdms_fail(err, WBEM_E_FAILED,
			    "xmessage exited at once with status %d (cannot open display :%d?)",
			    WEXITSTATUS(r->value), s->display);
		return rdms_fail(err, WBEM_E_FAILED, "xmessage was killed at once by signal %d",
		    WIFSIGNALED(r->value) ? WTERMSIG(r->value) : 0);
	default:
		return rdms_fail(err, WBEM_E_FAILED, "cannot start the message process: %s",
		    strerror(r->value));
	}
}

uint32_t xrdp_send_message(const rdms_config *cfg, const rdms_session *s,
                           const char *title, const char *message, rdms_error *err)
{
	int rp[2] = { -1, -1 }, mp[2] = { -1, -1 }, status;
	size_t len, off = 0;
	launch ln;
	report r;
	pid_t helper;
	uint32_t rc;

	if ((rc = check_text("Title", title, XRDP_MAX_TITLE, false, err)) != WBEM_S_NO_ERROR ||
	    (rc = check_text("Message", message, XRDP_MAX_MESSAGE, true, err)) != WBEM_S_NO_ERROR)
		return rc;
	if ((rc = check_session(cfg, s, err)) != WBEM_S_NO_ERROR)
		return rc;
	if (access(XMESSAGE, X_OK) < 0)
		return rdms_fail(err, WBEM_E_FAILED, "%s is not installed", XMESSAGE);
	if ((rc = prepare(cfg, s, title, &ln, err)) != WBEM_S_NO_ERROR)
		goto out;
	if (pipe2(rp, O_CLOEXEC) < 0 || pipe2(mp, O_CLOEXEC) < 0) {
		rc = rdms_fail(err, WBEM_E_FAILED, "pipe: %s", strerror(errno));
		goto out;
	}
	/* the message fits the pipe's buffer (XRDP_MAX_MESSAGE < 64 KiB), and
	 * writing it before anyone can close the read end rules out SIGPIPE */
	len = strlen(message);
	while (off < len) {
		ssize_t n = write(mp[1], message + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = rdms_fail(err, WBEM_E_FAILED, "cannot pass the message on: %s",
			    strerror(errno));
			goto out;
		}
		off += (size_t)n;
	}
	close(mp[1]);
	mp[1] = -1;
	if ((helper = fork()) < 0) {
		rc = rdms_fail(err, WBEM_E_FAILED, "fork: %s", strerror(errno));
		goto out;
	}
	if (helper == 0) {
		pid_t w;

		detach_fds(rp[1], mp[0]);
		setsid();
		if ((w = fork()) == 0)
			watch(&ln, rp[1], mp[0]);
		if (w < 0)
			write_report(rp[1], REPORT_FORK_FAILED, errno);
		_exit(0);
	}
	close(rp[1]);
	close(mp[0]);
	rp[1] = mp[0] = -1;
	while (waitpid(helper, &status, 0) < 0 && errno == EINTR)
		;
	if (!read_report(rp[0], EARLY_EXIT_MS + 2500, &r))
		rc = rdms_fail(err, WBEM_E_FAILED, "no word from the message process for session %u",
		    s->id);
	else
		rc = explain(&r, s, err);
out:
	for (int i = 0; i < 2; i++) {
		if (rp[i] >= 0)
			close(rp[i]);
		if (mp[i] >= 0)
			close(mp[i]);
	}
	free(ln.groups);
	return rc;
}
