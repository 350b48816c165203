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
 * The dialog must not make the caller wait for the user's answer (unless
 * the call asks to: MessageWait), but the caller must learn when it cannot
 * start, and must not be left with a zombie.  So:
 *
 *   caller --fork--> helper --fork--> rdms-msgwait --fork--> gxmessage
 *            (waited for: exits at once)   (orphan, reaped by init)
 *
 * rdms-msgwait (message_keeper.h) is a program of its own: it is handed
 * the session and the text on a pipe, runs the dialog as the user, and
 * reports on a second pipe -- first whether the dialog is up, later how it
 * ended.  A call that waits reads the second report too (rdms_message_wait).
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

#include "message_keeper.h"
#include "proc.h"
#include "../common/child_signals.h"
#include "../common/monotime.h"
#include "../common/program_path.h"
#include "../common/strutil.h"

#define POLL_MS       20

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
	char  more[RDMS_USER_MAX_EXTRA_ENV][RDMS_USER_EXTRA_ENV_SIZE];
	char *envp[8 + RDMS_USER_MAX_EXTRA_ENV];
} user_env;

/* The login environment of U, with EXTRA and then MORE (NULL-terminated) added. */
static void make_env(const rdms_user *u, const char *extra, const char *const *more,
                     user_env *e)
{
	int n = 0, m = 0;

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
	for (; more != NULL && more[m] != NULL && m < RDMS_USER_MAX_EXTRA_ENV; m++) {
		snprintf(e->more[m], sizeof e->more[0], "%s", more[m]);
		e->envp[n + m] = e->more[m];
	}
	e->envp[n + m] = NULL;
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
	child_default_signals();
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

/* rdms_user_run and rdms_user_run_env; KILL_GROUP: a timeout kills the program's group. */
static uint32_t run_as(const rdms_user *u, char *const argv[], const char *const *more,
                       bool kill_group, int timeout_ms, int *status, char *out, size_t outsize,
                       rdms_error *err)
{
	int op[2] = { -1, -1 }, ep[2] = { -1, -1 }, e = 0;
	long long end = mono_ms() + timeout_ms;
	size_t len = 0;
	bool open_out = true, exited = false;
	user_env env = { 0 };
	uint32_t rc = WBEM_S_NO_ERROR;
	ssize_t n;
	pid_t pid;

	if (outsize > 0)
		out[0] = '\0';
	make_env(u, NULL, more, &env);
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
		} else if (mono_ms() >= end) {
			/* the child made its own session: its group is its pid */
			kill(kill_group ? -pid : pid, SIGKILL);
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

uint32_t rdms_user_run(const rdms_user *u, char *const argv[], int timeout_ms,
                       int *status, char *out, size_t outsize, rdms_error *err)
{
	return run_as(u, argv, NULL, false, timeout_ms, status, out, outsize, err);
}

uint32_t rdms_user_run_env(const rdms_user *u, char *const argv[], const char *const *extra,
                           int timeout_ms, int *status, char *out, size_t outsize,
                           rdms_error *err)
{
	return run_as(u, argv, extra, true, timeout_ms, status, out, outsize, err);
}

/* ---- SendMessage ------------------------------------------------------------ */

/* Where `make install` puts rdms-msgwait (meson.build defines it). */
#ifndef RDMS_KEEPER_PROGRAM
#define RDMS_KEEPER_PROGRAM "/usr/local/libexec/rdms/" KEEPER_PROGRAM_NAME
#endif
/* A waiting caller gives the keeper this long beyond the timeout to report. */
#define WAIT_GRACE_MS 5000

/* Everything the helper needs, prepared before fork. */
typedef struct launch {
	char  program[PATH_MAX];
	char  args[3][300];
	char *argv[5];
} launch;

static uint32_t prepare(const rdms_config *cfg, const rdms_session *s, const char *xauthority,
                        const char *title, const char *message,
                        const rdms_message_options *opt, keeper_handoff *h, launch *ln,
                        rdms_error *err)
{
	struct passwd pw, *res = NULL;
	char buf[4096];

	memset(h, 0, sizeof *h);
	memcpy(h->magic, KEEPER_MAGIC, sizeof h->magic);
	str_copy(h->version, sizeof h->version, RDMS_VERSION);
	h->size = sizeof *h;
	h->config_layout = rdms_config_layout();
	h->cfg = *cfg;
	h->session_id = s->id;
	h->uid = (uint32_t)s->uid;
	h->server_pid = (int32_t)s->server_pid;
	h->display = s->display;
	h->env_pid = s->wm_pid > 0 ? s->wm_pid : s->server_pid;
	h->timeout_s = opt != NULL && opt->timeout_s != 0 ? opt->timeout_s
	                                                   : (uint32_t)cfg->message_timeout_s;
	if (s->backend == NULL || !str_copy(h->backend, sizeof h->backend, s->backend->name) ||
	    !str_copy(h->xauthority, sizeof h->xauthority, xauthority ? xauthority : "") ||
	    !str_copy(h->title, sizeof h->title, title) ||
	    !str_copy(h->text, sizeof h->text, message))
		return rdms_fail(err, WBEM_E_FAILED, "session %u: cannot describe it to %s", s->id,
		                 KEEPER_PROGRAM_NAME);
	if (s->display < 0)
		return rdms_fail(err, WBEM_E_FAILED, "session %u has no X display", s->id);
	/* beside the running program (rdms, rdmsd), else where `make install` put it */
	if (!program_path(ln->program, sizeof ln->program, KEEPER_PROGRAM_NAME,
	                  RDMS_KEEPER_PROGRAM))
		return rdms_fail(err, WBEM_E_FAILED, "%s is not installed (%s)", KEEPER_PROGRAM_NAME,
		                 RDMS_KEEPER_PROGRAM);
	if (getpwuid_r(s->uid, &pw, buf, sizeof buf, &res) != 0 || res == NULL)
		return rdms_fail(err, WBEM_E_FAILED, "no account for uid %lu", (unsigned long)s->uid);
	/* what `ps` shows: whose dialog this keeper keeps */
	snprintf(ln->args[0], sizeof ln->args[0], "session=%u", s->id);
	snprintf(ln->args[1], sizeof ln->args[1], "user=%s", pw.pw_name);
	snprintf(ln->args[2], sizeof ln->args[2], "display=:%d", s->display);
	ln->argv[0] = (char *)KEEPER_PROGRAM_NAME;
	for (int i = 0; i < 3; i++)
		ln->argv[i + 1] = ln->args[i];
	ln->argv[4] = NULL;
	return WBEM_S_NO_ERROR;
}

/*
 * In the helper (a fork of the caller, which may have threads: system
 * calls only): the handoff on stdin, the report pipe on KEEPER_REPORT_FD,
 * nothing else of the caller's, a session of its own; then, in a second
 * fork that init inherits, the keeper.  Never returns.
 */
static _Noreturn void run_helper(const launch *ln, int handoff_fd, int report_fd)
{
	static char *const envp[] = { "PATH=/usr/bin:/bin", NULL };
	keeper_report r = { KEEPER_EXEC_FAILED, 0 };
	int devnull;
	pid_t pid;

	setsid();
	if ((pid = fork()) != 0) {
		if (pid < 0) {
			r.kind = KEEPER_FAILED;
			r.value = errno;
			if (write(report_fd, &r, sizeof r) < 0) {
				/* the caller then hears nothing, and says so */
			}
		}
		_exit(0);
	}
	/* above every fd the dup2s below write to */
	if ((handoff_fd = fcntl(handoff_fd, F_DUPFD, 10)) < 0 ||
	    (report_fd = fcntl(report_fd, F_DUPFD, 10)) < 0 ||
	    (devnull = open("/dev/null", O_RDWR)) < 0 || dup2(handoff_fd, STDIN_FILENO) < 0 ||
	    dup2(devnull, STDOUT_FILENO) < 0 || dup2(devnull, STDERR_FILENO) < 0 ||
	    dup2(report_fd, KEEPER_REPORT_FD) < 0)
		_exit(127);
	close_range(KEEPER_REPORT_FD + 1, ~0u, 0);
	child_default_signals();
	execve(ln->program, ln->argv, envp);
	r.value = errno;
	if (write(KEEPER_REPORT_FD, &r, sizeof r) < 0) {
		/* as above */
	}
	_exit(127);
}

/* Reads one report from FD, waiting at most MS milliseconds (< 0: no limit). */
static bool read_report(int fd, long long ms, keeper_report *r)
{
	long long end = mono_ms() + ms;
	size_t got = 0;

	while (got < sizeof *r) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		long long left = end - mono_ms();
		int n;
		ssize_t k;

		if (left <= 0)
			return false;
		n = poll(&pfd, 1, left > 60000 ? 60000 : (int)left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return false;
		if (n == 0)
			continue;
		k = read(fd, (char *)r + got, sizeof *r - got);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return false;
		got += (size_t)k;
	}
	return true;
}

static uint32_t explain_start(const keeper_report *r, const rdms_session *s, rdms_error *err)
{
	switch (r->kind) {
	case KEEPER_RUNNING:
		return WBEM_S_NO_ERROR;
	case KEEPER_EXEC_FAILED:
		return rdms_fail(err, WBEM_E_FAILED, "cannot show the message in session %u as uid %lu: "
		                 "%s", s->id, (unsigned long)s->uid, strerror(r->value));
	case KEEPER_EXITED:
		if (WIFEXITED(r->value))
			return rdms_fail(err, WBEM_E_FAILED,
			                 "the message dialog exited at once with status %d "
			                 "(cannot open display :%d?)", WEXITSTATUS(r->value), s->display);
		return rdms_fail(err, WBEM_E_FAILED, "the message dialog was killed at once by signal %d",
		                 WIFSIGNALED(r->value) ? WTERMSIG(r->value) : 0);
	default:
		return rdms_fail(err, WBEM_E_FAILED, "%s could not start the message dialog: %s",
		                 KEEPER_PROGRAM_NAME, strerror(r->value));
	}
}

uint32_t rdms_message_wait(int fd, uint32_t timeout_s, rdms_error *err)
{
	keeper_report r;
	uint32_t rc;

	if (!read_report(fd, (long long)timeout_s * 1000 + WAIT_GRACE_MS, &r))
		rc = rdms_fail(err, WBEM_E_TIMED_OUT,
		               "the message was not closed within %u s (time the session spends "
		               "disconnected does not count: the dialog stays until its user has "
		               "had it that long)", (unsigned)timeout_s);
	else if (r.kind == KEEPER_CLOSED)
		rc = WBEM_S_NO_ERROR;
	else if (r.kind == KEEPER_TIMED_OUT)
		rc = rdms_fail(err, WBEM_E_TIMED_OUT,
		               "the message was shown but not closed within %d s", (int)r.value);
	else if (r.kind == KEEPER_SESSION_ENDED)
		rc = rdms_fail(err, WBEM_E_FAILED, "the session ended before the message was closed");
	else
		rc = rdms_fail(err, WBEM_E_FAILED, "%s ended without saying how the dialog ended",
		               KEEPER_PROGRAM_NAME);
	close(fd);
	return rc;
}

uint32_t rdms_message_show(const rdms_config *cfg, const rdms_session *s,
                           const char *xauthority, const char *title, const char *message,
                           const rdms_message_options *opt, rdms_error *err)
{
	int hp[2] = { -1, -1 }, rp[2] = { -1, -1 }, status;
	keeper_handoff *h = NULL;
	launch ln;
	keeper_report r;
	pid_t helper;
	uint32_t rc;

	if ((rc = rdms_message_check(title, message, err)) != WBEM_S_NO_ERROR)
		return rc;
	if (access(RDMS_MESSAGE_DIALOG, X_OK) < 0)
		return rdms_fail(err, WBEM_E_FAILED, "%s is not installed (Debian package gxmessage)",
		                 RDMS_MESSAGE_DIALOG);
	if ((h = malloc(sizeof *h)) == NULL)
		return rdms_fail(err, WBEM_E_OUT_OF_MEMORY, "out of memory");
	if ((rc = prepare(cfg, s, xauthority, title, message, opt, h, &ln, err)) != WBEM_S_NO_ERROR)
		goto out;
	if (pipe2(hp, O_CLOEXEC) < 0 || pipe2(rp, O_CLOEXEC) < 0) {
		rc = rdms_fail(err, WBEM_E_FAILED, "pipe: %s", strerror(errno));
		goto out;
	}
	/* the handoff (~15 KiB) fits an empty pipe's buffer (64 KiB): one write,
	 * before any fork */
	if (write(hp[1], h, sizeof *h) != (ssize_t)sizeof *h) {
		rc = rdms_fail(err, WBEM_E_FAILED, "cannot pass the message on: %s", strerror(errno));
		goto out;
	}
	close(hp[1]);
	hp[1] = -1;
	if ((helper = fork()) < 0) {
		rc = rdms_fail(err, WBEM_E_FAILED, "fork: %s", strerror(errno));
		goto out;
	}
	if (helper == 0)
		run_helper(&ln, hp[0], rp[1]);
	close(rp[1]);
	rp[1] = -1;
	while (waitpid(helper, &status, 0) < 0 && errno == EINTR)
		;
	if (!read_report(rp[0], KEEPER_EARLY_EXIT_MS + 5000, &r)) {
		rc = rdms_fail(err, WBEM_E_FAILED, "no word from %s for session %u",
		               KEEPER_PROGRAM_NAME, s->id);
		goto out;
	}
	if ((rc = explain_start(&r, s, err)) != WBEM_S_NO_ERROR || opt == NULL || !opt->wait)
		goto out;
	if (opt->wait_fd != NULL) {
		*opt->wait_fd = rp[0];    /* the caller waits */
		rp[0] = -1;
	} else {
		rc = rdms_message_wait(rp[0], h->timeout_s, err);
		rp[0] = -1;
	}
out:
	for (int i = 0; i < 2; i++) {
		if (hp[i] >= 0)
			close(hp[i]);
		if (rp[i] >= 0)
			close(rp[i]);
	}
	free(h);
	return rc;
}
