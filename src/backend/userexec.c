/*
 * userexec.c -- running programs as a session's user: the servers' own
 * per-user scripts (rdms_user_run) and the SendMessage dialog
 * (rdms_message_show), for every back-end.
 *
 * Becoming the user is one routine (rdms_user_become): supplementary
 * groups, gid, uid, then a check that the change took and that root cannot
 * be regained.  The account, its groups, argv and the environment are all
 * prepared before fork, so the child only makes system calls: rdmsd has
 * threads, and after fork only async-signal-safe calls are allowed.
 *
 * The dialog must not make the caller wait for the user's answer (the
 * method is fire-and-forget) but the caller must learn when it cannot
 * start, and must not be left with a zombie.  So:
 *
 *   caller --fork--> helper --fork--> watcher --fork--> xmessage
 *            (waited for: exits at once)    (orphan, reaped by init)
 *
 * The watcher reports on a CLOEXEC pipe: exec failed (errno, through a
 * second CLOEXEC pipe from xmessage's side), xmessage exited within
 * EARLY_EXIT_MS (it cannot open the display, say), or "running".  It then
 * stays to kill an xmessage that outlives its own -timeout by far: an X
 * client can hang in connection setup in this kind of container
 * (backends.md P10).  The message goes in on stdin (-file -): message words
 * are then never taken for Xt options such as -display.
 */
#include "userexec.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "proc.h"
#include "../common/strutil.h"

#define POLL_MS       20
#define XMESSAGE      "/usr/bin/xmessage"
/* How long SendMessage watches the dialog start before calling it shown. */
#define EARLY_EXIT_MS 500

/* ---- the account ---------------------------------------------------------- */

uint32_t rdms_user_lookup(uid_t uid, rdms_user *u, rdms_error *err)
{
	struct passwd pw, *res = NULL;
	char buf[8192];
	gid_t *groups;
	int n = 0;

	memset(u, 0, sizeof *u);
	if (getpwuid_r(uid, &pw, buf, sizeof buf, &res) != 0 || res == NULL)
		return rdms_fail(err, WBEM_E_FAILED, "no account for uid %lu", (unsigned long)uid);
	u->uid = pw.pw_uid;
	u->gid = pw.pw_gid;
	if (!str_copy(u->name, sizeof u->name, pw.pw_name) ||
	    !str_copy(u->home, sizeof u->home, pw.pw_dir))
		return rdms_fail(err, WBEM_E_FAILED, "name or home directory of uid %lu too long",
		    (unsigned long)uid);
	getgrouplist(pw.pw_name, pw.pw_gid, NULL, &n);
	if (n <= 0)
		n = 1;
	if ((groups = calloc((size_t)n, sizeof *groups)) == NULL)
		return rdms_fail(err, WBEM_E_OUT_OF_MEMORY, "out of memory");
	if (getgrouplist(pw.pw_name, pw.pw_gid, groups, &n) < 0) {
		free(groups);
		return rdms_fail(err, WBEM_E_FAILED, "cannot list the groups of %s", pw.pw_name);
	}
	u->groups = groups;
	u->ngroups = n;
	return WBEM_S_NO_ERROR;
}

void rdms_user_free(rdms_user *u)
{
	free(u->groups);
	u->groups = NULL;
	u->ngroups = 0;
}

int rdms_user_become(const rdms_user *u)
{
	if (setgroups((size_t)u->ngroups, u->groups) < 0 || setgid(u->gid) < 0 ||
	    setuid(u->uid) < 0)
		return -1;
	if (getuid() != u->uid || geteuid() != u->uid || getgid() != u->gid ||
	    getegid() != u->gid || (u->uid != 0 && setuid(0) == 0)) {
		errno = EPERM;
		return -1;
	}
	if (chdir(u->home) < 0 && chdir("/") < 0)
		return -1;
	return 0;
}

/* The environment of a login: ENV holds the strings, ENVP points at them. */
typedef struct user_env {
	char  env[7][PATH_MAX + 32];
	char *envp[8];
} user_env;

static void make_env(const rdms_user *u, const char *extra, user_env *e)
{
	int n = 0;

	snprintf(e->env[n++], sizeof e->env[0], "HOME=%s", u->home);
	snprintf(e->env[n++], sizeof e->env[0], "USER=%s", u->name);
	snprintf(e->env[n++], sizeof e->env[0], "LOGNAME=%s", u->name);
	snprintf(e->env[n++], sizeof e->env[0], "SHELL=/bin/sh");
	snprintf(e->env[n++], sizeof e->env[0], "PATH=/usr/local/bin:/usr/bin:/bin");
	snprintf(e->env[n++], sizeof e->env[0], "LANG=C");
	if (extra != NULL)
		snprintf(e->env[n++], sizeof e->env[0], "%s", extra);
	for (int i = 0; i < n; i++)
		e->envp[i] = e->env[i];
	e->envp[n] = NULL;
}

/* ---- running a program and waiting for it ----------------------------------- */

/* In the child: stdio, identity, exec.  Reports errno on ERR_FD.  Never returns. */
static _Noreturn void run_child(const rdms_user *u, char *const argv[], char *const envp[],
                                int out_fd, int err_fd)
{
	int e, devnull;

	/* a caller without stdio may have been given pipe ends 0..2: move them up first */
	if (out_fd < 3 && (out_fd = fcntl(out_fd, F_DUPFD, 3)) < 0)
		_exit(127);
	if (err_fd < 3 && (err_fd = fcntl(err_fd, F_DUPFD_CLOEXEC, 3)) < 0)
		_exit(127);
	if ((devnull = open("/dev/null", O_RDONLY)) < 0 || dup2(devnull, 0) < 0 ||
	    dup2(out_fd, 1) < 0 || dup2(out_fd, 2) < 0)
		goto fail;
	/* nothing of the caller's (sockets, pipes) reaches the script */
	if (err_fd > 3)
		close_range(3, (unsigned)err_fd - 1, 0);
	close_range((unsigned)err_fd + 1, ~0u, 0);
	setsid();
	if (rdms_user_become(u) < 0)
		goto fail;
	execve(argv[0], argv, envp);
fail:
	e = errno;
	if (write(err_fd, &e, sizeof e) < 0) {
		/* the parent then sees an exit status of 127 */
	}
	_exit(127);
}

/* Appends what FD has now to OUT (keeping the first OUTSIZE - 1 bytes); false at EOF. */
static bool drain(int fd, char *out, size_t outsize, size_t *len)
{
	char buf[1024];
	ssize_t n;

	for (;;) {
		n = read(fd, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN;
		if (n == 0)
			return false;
		for (ssize_t i = 0; i < n && *len + 1 < outsize; i++)
			out[(*len)++] = buf[i];
		if (outsize > 0)
			out[*len] = '\0';
	}
}

uint32_t rdms_user_run(const rdms_user *u, char *const argv[], int timeout_ms,
                       int *status, char *out, size_t outsize, rdms_error *err)
{
	int op[2] = { -1, -1 }, ep[2] = { -1, -1 }, e = 0;
	long long end = rdms_now_ms() + timeout_ms;
	size_t len = 0;
	bool open_out = true, exited = false;
	user_env env = { 0 };
	uint32_t rc = WBEM_S_NO_ERROR;
	ssize_t n;
	pid_t pid;

	if (outsize > 0)
		out[0] = '\0';
	make_env(u, NULL, &env);
	if (pipe2(op, O_CLOEXEC) < 0 || pipe2(ep, O_CLOEXEC) < 0) {
		rc = rdms_fail(err, WBEM_E_FAILED, "pipe: %s", strerror(errno));
		goto out;
	}
	if ((pid = fork()) < 0) {
		rc = rdms_fail(err, WBEM_E_FAILED, "fork: %s", strerror(errno));
		goto out;
	}
	if (pid == 0) {
		/* the dup2 in the child keeps the write end open across exec */
		close(op[0]);
		close(ep[0]);
		run_child(u, argv, env.envp, op[1], ep[1]);
	}
	close(op[1]);
	close(ep[1]);
	op[1] = ep[1] = -1;
	fcntl(op[0], F_SETFL, O_NONBLOCK);
	/* The script may leave children holding its stdout (X2Go's leave
	 * background helpers), so its exit, not EOF, ends the wait. */
	while (!exited) {
		struct pollfd pfd = { .fd = op[0], .events = POLLIN };

		if (open_out && poll(&pfd, 1, POLL_MS) > 0)
			open_out = drain(op[0], out, outsize, &len);
		else if (!open_out)
			rdms_sleep_ms(POLL_MS);
		if (waitpid(pid, status, WNOHANG) == pid) {
			exited = true;
			if (open_out)
				drain(op[0], out, outsize, &len);
		} else if (rdms_now_ms() >= end) {
			kill(pid, SIGKILL);
			while (waitpid(pid, status, 0) < 0 && errno == EINTR)
				;
			rc = rdms_fail(err, WBEM_E_FAILED, "%s did not finish within %d ms as %s",
			    argv[0], timeout_ms, u->name);
			goto out;
		}
	}
	do
		n = read(ep[0], &e, sizeof e);
	while (n < 0 && errno == EINTR);
	if (n == (ssize_t)sizeof e)
		rc = rdms_fail(err, WBEM_E_FAILED, "cannot run %s as %s: %s", argv[0], u->name,
		    strerror(e));
out:
	for (int i = 0; i < 2; i++) {
		if (op[i] >= 0)
			close(op[i]);
		if (ep[i] >= 0)
			close(ep[i]);
	}
	return rc;
}

/* ---- SendMessage ------------------------------------------------------------ */

enum report_kind { REPORT_RUNNING = 1, REPORT_EXEC_FAILED, REPORT_EXITED, REPORT_FORK_FAILED };

typedef struct report {
	int kind;
	int value;     /* errno, or the wait status */
} report;

typedef struct launch {
	rdms_user user;
	user_env  env;
	char     *argv[10];
	char      timeout[16];
	int       deadline_s;   /* the watcher's limit on xmessage */
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
	if (rdms_user_become(&ln->user) < 0)
		goto fail;
	execve(XMESSAGE, ln->argv, ln->env.envp);
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
	end = rdms_now_ms() + EARLY_EXIT_MS;
	while (rdms_now_ms() < end) {
		if (waitpid(pid, &status, WNOHANG) == pid) {
			write_report(report_fd, REPORT_EXITED, status);
			_exit(0);
		}
		rdms_sleep_ms(POLL_MS);
	}
	write_report(report_fd, REPORT_RUNNING, 0);
	close(report_fd);
	end = rdms_now_ms() + (long long)ln->deadline_s * 1000;
	while (waitpid(pid, &status, WNOHANG) == 0) {
		if (rdms_now_ms() >= end) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			break;
		}
		rdms_sleep_ms(200);
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

uint32_t rdms_message_check(const char *title, const char *message, rdms_error *err)
{
	uint32_t rc = check_text("Title", title, RDMS_MESSAGE_MAX_TITLE, false, err);

	if (rc == WBEM_S_NO_ERROR)
		rc = check_text("Message", message, RDMS_MESSAGE_MAX_TEXT, true, err);
	return rc;
}

/* Account, argv and environment, all before any fork. */
static uint32_t prepare(const rdms_config *cfg, const rdms_session *s, const char *xauthority,
                        const char *title, launch *ln, rdms_error *err)
{
	char xauth[PATH_MAX + 16];
	uint32_t rc;
	int n = 0;

	memset(ln, 0, sizeof *ln);
	if ((rc = rdms_user_lookup(s->uid, &ln->user, err)) != WBEM_S_NO_ERROR)
		return rc;
	if ((size_t)(xauthority != NULL
	    ? snprintf(xauth, sizeof xauth, "XAUTHORITY=%s", xauthority)
	    : snprintf(xauth, sizeof xauth, "XAUTHORITY=%s/.Xauthority", ln->user.home)) >= sizeof xauth)
		return rdms_fail(err, WBEM_E_FAILED, "session %u: Xauthority path too long", s->id);
	make_env(&ln->user, xauth, &ln->env);
	/* DISPLAY replaces SHELL, which xmessage does not need */
	snprintf(ln->env.env[3], sizeof ln->env.env[3], "DISPLAY=:%d", s->display);

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

uint32_t rdms_message_show(const rdms_config *cfg, const rdms_session *s,
                           const char *xauthority, const char *title,
                           const char *message, rdms_error *err)
{
	int rp[2] = { -1, -1 }, mp[2] = { -1, -1 }, status;
	size_t len, off = 0;
	launch ln;
	report r;
	pid_t helper;
	uint32_t rc;

	if ((rc = rdms_message_check(title, message, err)) != WBEM_S_NO_ERROR)
		return rc;
	if (access(XMESSAGE, X_OK) < 0)
		return rdms_fail(err, WBEM_E_FAILED, "%s is not installed", XMESSAGE);
	if ((rc = prepare(cfg, s, xauthority, title, &ln, err)) != WBEM_S_NO_ERROR)
		goto out;
	if (pipe2(rp, O_CLOEXEC) < 0 || pipe2(mp, O_CLOEXEC) < 0) {
		rc = rdms_fail(err, WBEM_E_FAILED, "pipe: %s", strerror(errno));
		goto out;
	}
	/* the message fits the pipe's buffer (RDMS_MESSAGE_MAX_TEXT < 64 KiB),
	 * and writing it before anyone can close the read end rules out SIGPIPE */
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
	rdms_user_free(&ln.user);
	return rc;
}
