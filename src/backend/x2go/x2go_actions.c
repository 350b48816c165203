/*
 * x2go_actions.c -- Disconnect (= suspend), Logoff (= terminate) and
 * SendMessage on an X2Go session (x2go.md §6).
 *
 * The actions use X2Go's own scripts, which do the whole job (the agent,
 * the session's command group, shares, the database row, extensions), run
 * as the session's owner: the scripts find the state file and cmd.pid
 * through $HOME and getpwuid($<), so run as root they return 0 and do
 * nothing (§7.1-2).  Their exit status therefore proves nothing; each
 * action polls the state file or the agent until it sees the effect.
 *
 * Every action first re-reads the agent from /proc: alive, the session's
 * uid, named X2GO-<session>.  The session name comes from there, so a pid
 * reused by another program is never acted on.
 *
 * SIGHUP toggles nxagent: on a suspended agent it means "resume" and the
 * agent waits for a client that never comes (§7.3).  So Disconnect of a
 * session that is not connected is refused before anything is sent, and
 * the SIGHUP fallback (only when the suspend script is not installed; a
 * script that ran and failed may have signalled already) is sent only to
 * an agent whose state file says RUNNING.
 */
#include "x2go_internal.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../common/log.h"
#include "../../common/monotime.h"
#include "../proc.h"
#include "../userexec.h"

#define POLL_MS            50
#define SCRIPT_TIMEOUT_MS  20000
/* 1.4 s measured, up to 6 s right after a resume (x2go.md §8) */
#define SUSPEND_WAIT_MS    10000
/* 0.5 s measured for the script; SIGTERM took up to 6 s with a client */
#define TERMINATE_WAIT_MS  8000
#define SIGTERM_WAIT_MS    7000
#define SIGKILL_WAIT_MS    2000

/* The agent and state of S now; WBEM_E_NOT_FOUND when it is gone or ending. */
static uint32_t recheck(const rdms_config *cfg, const rdms_session *s, x2go_agent *a,
                        enum x2go_state *st, rdms_error *err)
{
	rdms_error e = { 0 };

	if (s->id == 0 || s->id > INT_MAX ||
	    x2go_agent_read(cfg->proc_root, (pid_t)s->id, a, NULL) != WBEM_S_NO_ERROR ||
	    a->uid != s->uid || (a->display >= 0 && s->display >= 0 && a->display != s->display))
		return rdms_fail(err, WBEM_E_NOT_FOUND, "session %u has ended", s->id);
	if (x2go_state_read(cfg->x2go_tmpdir, s->user, a->session, s->uid, st, &e) != WBEM_S_NO_ERROR)
		return rdms_fail(err, WBEM_E_NOT_FOUND, "session %u: %s", s->id, e.message);
	if (*st == X2GO_TERMINATING || *st == X2GO_TERMINATED)
		return rdms_fail(err, WBEM_E_NOT_FOUND, "session %u is ending (%s)", s->id,
		    x2go_state_name(*st));
	return WBEM_S_NO_ERROR;
}

/* True while pid S->id still is the agent of SESSION. */
static bool same_agent(const rdms_config *cfg, const rdms_session *s, const char *session)
{
	x2go_agent a;

	return x2go_agent_read(cfg->proc_root, (pid_t)s->id, &a, NULL) == WBEM_S_NO_ERROR &&
	    a.uid == s->uid && strcmp(a.session, session) == 0;
}

/* Output of a script, made fit for a one-line error message. */
static void one_line(char *text)
{
	size_t n = strlen(text);

	while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == ' '))
		text[--n] = '\0';
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)text[i] < 0x20 || text[i] == 0x7f)
			text[i] = ' ';
}

/* Runs SCRIPT SESSION as the owner of S; its output in OUT. */
static uint32_t run_script(const char *script, const rdms_session *s, const char *session,
                           char *out, size_t outsize, rdms_error *err)
{
	char *argv[] = { (char *)script, (char *)session, NULL };
	rdms_user u;
	int status = 0;
	uint32_t rc;

	if ((rc = rdms_user_lookup(s->uid, &u, err)) != WBEM_S_NO_ERROR)
		return rc;
	rc = rdms_user_run(&u, argv, SCRIPT_TIMEOUT_MS, &status, out, outsize, err);
	rdms_user_free(&u);
	one_line(out);
	if (rc == WBEM_S_NO_ERROR && WIFEXITED(status) && WEXITSTATUS(status) != 0)
		log_debug("x2go: %s %s exited with %d: %s", script, session, WEXITSTATUS(status), out);
	return rc;
}

/* ---- Disconnect ------------------------------------------------------------- */

/* Polls until the state file says SUSPENDED; false on time-out or when the agent ends. */
static bool wait_suspended(const rdms_config *cfg, const rdms_session *s, const char *session,
                           enum x2go_state *st, bool *ended)
{
	long long end = mono_ms() + SUSPEND_WAIT_MS;

	*ended = false;
	for (;;) {
		if (!same_agent(cfg, s, session)) {
			*ended = true;
			return false;
		}
		if (x2go_state_read(cfg->x2go_tmpdir, s->user, session, s->uid, st, NULL) ==
		    WBEM_S_NO_ERROR && *st == X2GO_SUSPENDED)
			return true;
		if (mono_ms() >= end)
			return false;
		rdms_sleep_ms(POLL_MS);
	}
}

uint32_t x2go_disconnect(const rdms_config *cfg, const rdms_session *s, rdms_error *err)
{
	char out[512] = "";
	enum x2go_state st = X2GO_TERMINATED;
	x2go_agent a = { 0 };
	rdms_error e = { 0 };
	bool ended;
	uint32_t rc;

	if ((rc = recheck(cfg, s, &a, &st, err)) != WBEM_S_NO_ERROR)
		return rc;
	if (st == X2GO_SUSPENDING || st == X2GO_SUSPENDED)
		return rdms_fail(err, WBEM_E_INVALID_OPERATION, "session %u is not connected (%s)",
		    s->id, x2go_state_name(st));
	/* RUNNING, or STARTING/RESUMING (no client yet): the script suspends all three */
	if (access(X2GO_SUSPEND_SESSION, X_OK) == 0) {
		rc = run_script(X2GO_SUSPEND_SESSION, s, a.session, out, sizeof out, &e);
		if (rc != WBEM_S_NO_ERROR)
			return rdms_fail(err, rc, "%s", e.message);   /* it may have signalled */
	} else {
		/* X2Go's scripts are gone: the agent's own suspend, but only on RUNNING */
		if (st != X2GO_RUNNING)
			return rdms_fail(err, WBEM_E_FAILED, "%s is missing and session %u is %s",
			    X2GO_SUSPEND_SESSION, s->id, x2go_state_name(st));
		log_warn("x2go: %s is missing; sending SIGHUP to agent %u", X2GO_SUSPEND_SESSION, s->id);
		if (kill((pid_t)s->id, SIGHUP) < 0)
			return rdms_fail(err, WBEM_E_FAILED, "cannot signal agent %u: %s", s->id,
			    strerror(errno));
	}
	if (wait_suspended(cfg, s, a.session, &st, &ended))
		return WBEM_S_NO_ERROR;
	if (ended)
		return rdms_fail(err, WBEM_E_FAILED, "session %u ended while disconnecting", s->id);
	return rdms_fail(err, WBEM_E_FAILED, "session %u is still %s %d ms after %s%s%.200s",
	    s->id, x2go_state_name(st), SUSPEND_WAIT_MS, X2GO_SUSPEND_SESSION,
	    out[0] ? ": " : "", out);
}

/* ---- Logoff ------------------------------------------------------------------ */

static bool wait_gone(const rdms_config *cfg, const rdms_session *s, const char *session, int ms)
{
	long long end = mono_ms() + ms;

	for (;;) {
		if (!same_agent(cfg, s, session))
			return true;
		if (mono_ms() >= end)
			return false;
		rdms_sleep_ms(POLL_MS);
	}
}

/* The agent did not go with the script: SIGTERM (as x2goruncommand would see it), then SIGKILL. */
static bool signal_agent(const rdms_config *cfg, const rdms_session *s, const char *session)
{
	if (same_agent(cfg, s, session) && kill((pid_t)s->id, SIGTERM) < 0 && errno != ESRCH)
		return false;
	if (wait_gone(cfg, s, session, SIGTERM_WAIT_MS))
		return true;
	log_warn("x2go: agent %u of %s ignored SIGTERM; SIGKILL", s->id, session);
	if (same_agent(cfg, s, session))
		kill((pid_t)s->id, SIGKILL);
	return wait_gone(cfg, s, session, SIGKILL_WAIT_MS);
}

uint32_t x2go_logoff(const rdms_config *cfg, const rdms_session *s, rdms_error *err)
{
	char out[512] = "";
	enum x2go_state st = X2GO_TERMINATED;
	x2go_agent a = { 0 };
	rdms_error e = { 0 };
	uint32_t rc;

	if ((rc = recheck(cfg, s, &a, &st, err)) != WBEM_S_NO_ERROR)
		return rc;
	rc = run_script(X2GO_TERMINATE_SESSION, s, a.session, out, sizeof out, &e);
	if (rc == WBEM_S_NO_ERROR && wait_gone(cfg, s, a.session, TERMINATE_WAIT_MS))
		return WBEM_S_NO_ERROR;
	log_warn("x2go: %s did not end %s (%s); signalling its agent %u", X2GO_TERMINATE_SESSION,
	    a.session, rc != WBEM_S_NO_ERROR ? e.message : out[0] ? out : "no output", s->id);
	if (signal_agent(cfg, s, a.session))
		return WBEM_S_NO_ERROR;
	return rdms_fail(err, WBEM_E_FAILED, "session %u did not end after %s, SIGTERM and SIGKILL",
	    s->id, X2GO_TERMINATE_SESSION);
}

/* ---- SendMessage ------------------------------------------------------------- */

uint32_t x2go_send_message(const rdms_config *cfg, const rdms_session *s,
                           const char *title, const char *message,
                           const rdms_message_options *opt, rdms_error *err)
{
	enum x2go_state st = X2GO_TERMINATED;
	x2go_agent a = { 0 };
	uint32_t rc;

	if ((rc = rdms_message_check(title, message, err)) != WBEM_S_NO_ERROR)
		return rc;
	if ((rc = recheck(cfg, s, &a, &st, err)) != WBEM_S_NO_ERROR)
		return rc;
	/* the agent keeps the session's cookie in its -auth file (x2go.md §6);
	 * a suspended session gets the window too, and shows it on resume
	 * (its timeout runs only while the session is connected) */
	return rdms_message_show(cfg, s, a.xauth[0] != '\0' ? a.xauth : NULL, title, message, opt,
	                         err);
}
