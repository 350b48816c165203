/*
 * pam_relay.c -- password checks in rdmsd-pam, one process each
 * (pam_relay.h).
 */
#include "pam_relay.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../common/log.h"
#include "../common/monotime.h"
#include "../common/strutil.h"
#include "helper_spawn.h"

struct pam_relay {
	char program[PATH_MAX];
	char service[64];
	int  timeout_ms;
};

pam_relay *pam_relay_new(const char *program, const char *service, int timeout_ms)
{
	pam_relay *r = calloc(1, sizeof *r);

	if (r == NULL)
		return NULL;
	if (!str_copy(r->program, sizeof r->program, program) ||
	    !str_copy(r->service, sizeof r->service, service)) {
		free(r);
		return NULL;
	}
	r->timeout_ms = timeout_ms;
	return r;
}

void pam_relay_free(pam_relay *r)
{
	free(r);
}

/* Waits up to DEADLINE (mono_ms) for SOCK to have something; false on timeout. */
static bool wait_readable(int sock, int64_t deadline)
{
	for (;;) {
		struct pollfd p = { .fd = sock, .events = POLLIN };
		int64_t left = deadline - mono_ms();
		int n;

		if (left <= 0)
			return false;
		n = poll(&p, 1, left > INT_MAX ? INT_MAX : (int)left);
		if (n > 0)
			return true;
		if (n == 0 || errno != EINTR)
			return n != 0;   /* a poll error: let the read say what it is */
	}
}

/* How the child PID ended, for a message; reaps it. */
static void reap(pid_t pid, char *how, size_t size)
{
	int st = 0;

	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(st))
		snprintf(how, size, "exit status %d%s", WEXITSTATUS(st),
		         WEXITSTATUS(st) == 127 ? ": it could not be run" : "");
	else if (WIFSIGNALED(st))
		snprintf(how, size, "killed by signal %d", WTERMSIG(st));
	else
		str_copy(how, size, "ended");
}

/* How an exchange with rdmsd-pam went. */
enum outcome { ANSWERED, NOT_SENT, NO_ANSWER, LATE, WRONG_ANSWER };

/* One exchange with a started rdmsd-pam on SOCK: A out, *OUT back; ERR when not ANSWERED. */
static enum outcome exchange(const pam_relay *r, int sock, const priv_auth *a,
                             priv_auth_reply *out, void *buf, rdms_error *err)
{
	size_t len = priv_encode_auth(buf, PRIV_MSG_MAX, 1, a);
	priv_header h;
	size_t n = 0;
	bool sent;

	if (len == 0) {
		rdms_fail(err, WBEM_E_FAILED, "user name or password too long");
		return NOT_SENT;
	}
	sent = priv_send(sock, buf, len, err);
	explicit_bzero(buf, len);
	if (!sent)
		return NOT_SENT;
	if (!wait_readable(sock, mono_ms() + r->timeout_ms)) {
		rdms_fail(err, WBEM_E_FAILED, "no answer within %d ms", r->timeout_ms);
		return LATE;
	}
	if (priv_recv(sock, buf, &n, &h, err) != WBEM_S_NO_ERROR)
		return n == 0 ? NO_ANSWER : WRONG_ANSWER;
	if (h.type != PRIV_AUTH_REPLY || h.id != 1) {
		rdms_fail(err, WBEM_E_FAILED, "%s (id %u), not AUTH_REPLY",
		          priv_type_name(h.type), (unsigned)h.id);
		return WRONG_ANSWER;
	}
	if (priv_decode_auth_reply((const char *)buf + PRIV_HEADER_SIZE, h.len, out, err) !=
	    WBEM_S_NO_ERROR)
		return WRONG_ANSWER;
	return ANSWERED;
}

void pam_relay_check(const pam_relay *r, const priv_auth *a, priv_auth_reply *out, void *buf)
{
	static const char *const said[] = {
		[NOT_SENT] = "was not asked", [NO_ANSWER] = "ended without an answer",
		[LATE] = "did not answer in time", [WRONG_ANSWER] = "answered wrongly",
	};
	rdms_error err = { 0 };
	char how[64] = "not started";
	enum outcome got = NOT_SENT;
	char *argv[] = { (char *)r->program, (char *)r->service, NULL };
	char *envp[] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL };
	int sock = -1;
	pid_t pid = helper_spawn(argv, envp, &sock, &err);

	memset(out, 0, sizeof *out);
	if (pid > 0) {
		got = exchange(r, sock, a, out, buf, &err);
		close(sock);
		if (got != ANSWERED)
			kill(pid, SIGKILL);   /* our own child, not yet reaped: the pid is still its */
		reap(pid, how, sizeof how);
	}
	explicit_bzero(buf, PRIV_MSG_MAX);
	if (got == ANSWERED)
		return;
	memset(out, 0, sizeof *out);
	out->rc = WBEM_E_ACCESS_DENIED;
	snprintf(out->error, sizeof out->error, "password check failed: %.200s %s (%s; %.200s)",
	         r->program, said[got], how, err.message);
	log_warn("%s", out->error);
}
