/*
 * message_keeper.c -- rdms-msgwait, the keeper of one SendMessage dialog
 * (message_keeper.h).
 *
 * Started by rdms_message_show (rdmsd's privileged process, or `rdms
 * --direct`), as root, with the handoff on standard input and the report
 * pipe on KEEPER_REPORT_FD.  It
 *   1. runs the dialog (gxmessage) as the session's user, on the session's
 *      display, in the session's locale when that is UTF-8 (else C.UTF-8),
 *      the message on the dialog's standard input;
 *   2. reports RUNNING once the dialog has lasted KEEPER_EARLY_EXIT_MS, or
 *      why it could not start;
 *   3. follows the session through its back-end once a second: the
 *      timeout counts only the seconds the session is connected (Active),
 *      so a message sent to a disconnected session waits for its user to
 *      reconnect; when the session ends, so does the dialog;
 *   4. ends the dialog (SIGTERM to its pid, then SIGKILL) when the timeout
 *      is used up -- also the cure for an X client hung in connection
 *      setup (backends.md P10) -- and reports how the dialog ended.
 * Nobody may be reading the report any more (a call that did not wait):
 * writes then fail with EPIPE, which is ignored.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../common/monotime.h"
#include "backend.h"
#include "message_keeper.h"
#include "proc.h"
#include "userexec.h"

#define POLL_MS        100
#define CHECK_EVERY_MS 1000
#define TERM_GRACE_MS  2000
#define LOCALE_VARS    5
#define ENV_MAX        (9 + LOCALE_VARS)

typedef struct dialog_env {
	char  vars[ENV_MAX][PATH_MAX + 32];
	char *envp[ENV_MAX + 1];
} dialog_env;

static void report(int kind, int value)
{
	keeper_report r = { kind, value };

	if (write(KEEPER_REPORT_FD, &r, sizeof r) != (ssize_t)sizeof r) {
		/* nobody listens (a call that did not wait) */
	}
}

static bool read_handoff(keeper_handoff *h)
{
	size_t got = 0;
	char extra;

	while (got < sizeof *h) {
		ssize_t n = read(STDIN_FILENO, (char *)h + got, sizeof *h - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		got += (size_t)n;
	}
	return read(STDIN_FILENO, &extra, 1) == 0;
}

static bool terminated(const char *s, size_t size)
{
	return memchr(s, '\0', size) != NULL;
}

/* The handoff as sound as one this build would write. */
static bool handoff_valid(const keeper_handoff *h)
{
	rdms_error err = { 0 };

	return memcmp(h->magic, KEEPER_MAGIC, sizeof h->magic) == 0 &&
	       terminated(h->version, sizeof h->version) &&
	       strcmp(h->version, RDMS_VERSION) == 0 && h->size == sizeof *h &&
	       h->config_layout == rdms_config_layout() && rdms_config_valid(&h->cfg) &&
	       terminated(h->backend, sizeof h->backend) &&
	       terminated(h->xauthority, sizeof h->xauthority) &&
	       terminated(h->title, sizeof h->title) && terminated(h->text, sizeof h->text) &&
	       h->display >= 0 && h->timeout_s >= 1 &&
	       h->timeout_s <= RDMS_MESSAGE_MAX_TIMEOUT_S &&
	       rdms_message_check(h->title, h->text, &err) == WBEM_S_NO_ERROR &&
	       rdms_backend_find(h->backend) != NULL;
}

/* ---- the dialog ------------------------------------------------------------ */

static void make_env(const keeper_handoff *h, const rdms_user *u, dialog_env *e)
{
	char env_text[16384];
	ssize_t len = -1;
	size_t n = 0;

	snprintf(e->vars[n++], sizeof e->vars[0], "HOME=%s", u->home);
	snprintf(e->vars[n++], sizeof e->vars[0], "USER=%s", u->name);
	snprintf(e->vars[n++], sizeof e->vars[0], "LOGNAME=%s", u->name);
	snprintf(e->vars[n++], sizeof e->vars[0], "PATH=/usr/local/bin:/usr/bin:/bin");
	snprintf(e->vars[n++], sizeof e->vars[0], "DISPLAY=:%d", (int)h->display);
	if (h->xauthority[0] != '\0')
		snprintf(e->vars[n++], sizeof e->vars[0], "XAUTHORITY=%s", h->xauthority);
	else
		snprintf(e->vars[n++], sizeof e->vars[0], "XAUTHORITY=%s/.Xauthority", u->home);
	/* GTK: X11 only, and no accessibility bus to look for (no session D-Bus) */
	snprintf(e->vars[n++], sizeof e->vars[0], "GDK_BACKEND=x11");
	snprintf(e->vars[n++], sizeof e->vars[0], "NO_AT_BRIDGE=1");
	if (h->env_pid > 0)
		len = rdms_proc_read(h->cfg.proc_root, h->env_pid, "environ", env_text, sizeof env_text);
	n += rdms_message_locale(env_text, len > 0 ? (size_t)len : 0, e->vars[n],
	                         sizeof e->vars[0], LOCALE_VARS);
	for (size_t i = 0; i < n; i++)
		e->envp[i] = e->vars[i];
	e->envp[n] = NULL;
}

/* In the dialog's process: the message on stdin, the user's identity, exec. */
static _Noreturn void run_dialog(const rdms_user *u, char *const argv[], char *const envp[],
                                 int text_fd, int err_fd)
{
	int e, devnull = open("/dev/null", O_WRONLY);

	if (dup2(text_fd, STDIN_FILENO) < 0 || devnull < 0 || dup2(devnull, STDOUT_FILENO) < 0 ||
	    dup2(devnull, STDERR_FILENO) < 0)
		goto fail;
	close(KEEPER_REPORT_FD);
	if (rdms_user_become(u) < 0)
		goto fail;
	execve(RDMS_MESSAGE_DIALOG, argv, envp);
fail:
	e = errno;
	if (write(err_fd, &e, sizeof e) < 0) {
		/* the keeper then sees the dialog exit at once */
	}
	_exit(127);
}

/* Starts the dialog; its pid, or -1 once the failure is reported. */
static pid_t start_dialog(const keeper_handoff *h, const rdms_user *u)
{
	static dialog_env env;
	char *argv[] = { "gxmessage", "-title", (char *)h->title, "-center", "-wrap",
	                 "-encoding", "UTF-8", "-file", "-", NULL };
	int tp[2], ep[2], e;
	size_t len = strlen(h->text);
	ssize_t n;
	pid_t pid;

	make_env(h, u, &env);
	if (pipe2(tp, O_CLOEXEC) < 0 || pipe2(ep, O_CLOEXEC) < 0) {
		report(KEEPER_FAILED, errno);
		return -1;
	}
	/* at most RDMS_MESSAGE_MAX_TEXT bytes: the pipe's buffer holds them */
	if (len > 0 && write(tp[1], h->text, len) != (ssize_t)len) {
		report(KEEPER_FAILED, errno);
		return -1;
	}
	close(tp[1]);
	if ((pid = fork()) < 0) {
		report(KEEPER_FAILED, errno);
		return -1;
	}
	if (pid == 0)
		run_dialog(u, argv, env.envp, tp[0], ep[1]);
	close(tp[0]);
	close(ep[1]);
	do
		n = read(ep[0], &e, sizeof e);
	while (n < 0 && errno == EINTR);
	close(ep[0]);
	if (n == (ssize_t)sizeof e) {
		waitpid(pid, NULL, 0);
		report(KEEPER_EXEC_FAILED, e);
		return -1;
	}
	return pid;
}

/* Ends the dialog PID: SIGTERM, then SIGKILL.  That pid only. */
static void end_dialog(pid_t pid)
{
	long long end = mono_ms() + TERM_GRACE_MS;

	kill(pid, SIGTERM);
	while (waitpid(pid, NULL, WNOHANG) == 0) {
		if (mono_ms() >= end) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			return;
		}
		rdms_sleep_ms(POLL_MS);
	}
}

/* ---- the session ------------------------------------------------------------ */

enum session_now { SESSION_CONNECTED, SESSION_AWAY, SESSION_GONE };

static enum session_now session_now(const keeper_handoff *h)
{
	const rdms_backend *b = rdms_backend_find(h->backend);
	rdms_session s;
	rdms_error err = { 0 };
	uint32_t rc = rdms_backend_lookup(b, &h->cfg, h->session_id, &s, &err);

	if (rc == WBEM_E_NOT_FOUND)
		return SESSION_GONE;
	if (rc != WBEM_S_NO_ERROR)
		return SESSION_CONNECTED;   /* cannot tell: let the time run */
	if (s.uid != (uid_t)h->uid || s.server_pid != (pid_t)h->server_pid)
		return SESSION_GONE;
	return s.connect_state == WTS_ACTIVE ? SESSION_CONNECTED : SESSION_AWAY;
}

/* Waits for the dialog PID to end, counting connected time; reports how it ended. */
static void keep(const keeper_handoff *h, pid_t pid)
{
	long long limit = (long long)h->timeout_s * 1000, connected = 0;
	long long last = mono_ms(), next_check = last + CHECK_EVERY_MS;
	enum session_now now = session_now(h);
	int status;

	for (;;) {
		long long t;

		if (waitpid(pid, &status, WNOHANG) == pid) {
			/* a dialog whose X server went away ends too: that is no answer */
			if (session_now(h) == SESSION_GONE)
				report(KEEPER_SESSION_ENDED, 0);
			else
				report(KEEPER_CLOSED, status);
			return;
		}
		t = mono_ms();
		if (t >= next_check) {
			if (now == SESSION_CONNECTED)
				connected += t - last;
			last = t;
			next_check = t + CHECK_EVERY_MS;
			now = session_now(h);
			if (now == SESSION_GONE) {
				end_dialog(pid);
				report(KEEPER_SESSION_ENDED, 0);
				return;
			}
			if (connected >= limit) {
				end_dialog(pid);
				report(KEEPER_TIMED_OUT, (int)h->timeout_s);
				return;
			}
		}
		rdms_sleep_ms(POLL_MS);
	}
}

int main(int argc, char **argv)
{
	keeper_handoff *h;
	rdms_user u;
	rdms_error err = { 0 };
	long long end;
	int status;
	pid_t pid;

	(void)argv;
	signal(SIGPIPE, SIG_IGN);
	if (argc < 2 || fcntl(KEEPER_REPORT_FD, F_GETFD) < 0) {
		fprintf(stderr, "%s: keeps a SendMessage dialog; started by rdmsd(8) and rdms(1) "
		        "only\n", KEEPER_PROGRAM_NAME);
		return 2;
	}
	if ((h = calloc(1, sizeof *h)) == NULL || !read_handoff(h) || !handoff_valid(h)) {
		report(KEEPER_FAILED, h == NULL ? ENOMEM : EINVAL);
		free(h);
		return 1;
	}
	if (rdms_user_lookup((uid_t)h->uid, &u, &err) != WBEM_S_NO_ERROR) {
		report(KEEPER_FAILED, ENOENT);
		free(h);
		return 1;
	}
	if ((pid = start_dialog(h, &u)) >= 0) {
		end = mono_ms() + KEEPER_EARLY_EXIT_MS;
		while (pid >= 0 && mono_ms() < end) {
			if (waitpid(pid, &status, WNOHANG) == pid) {
				report(KEEPER_EXITED, status);
				pid = -1;
			} else {
				rdms_sleep_ms(20);
			}
		}
	}
	if (pid >= 0) {
		report(KEEPER_RUNNING, 0);
		keep(h, pid);
	}
	rdms_user_free(&u);
	free(h);
	return pid >= 0 ? 0 : 1;
}
