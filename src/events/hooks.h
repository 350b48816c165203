/*
 * hooks.h -- commands run when sessions change (issue 14, item 6;
 * rdms-hooks(7)).
 *
 * Each event of the change feed has one or more reasons, named after
 * Windows' session-change reasons:
 *
 *   Creation                          session-logon (+ remote-connect when Active)
 *   Deletion                          session-logoff
 *   ConnectState Active->Disconnected remote-disconnect
 *   ConnectState Disconnected->Active remote-connect
 *   ClientMachineName changed, Active remote-disconnect, then remote-connect
 *   every event                       session-change (last)
 *
 * For each reason the executables in HOOKS_DIR/REASON.d/ run in sorted
 * order, argv only (the program and the reason; no shell), with RDMS_EVENT,
 * RDMS_REASON, RDMS_HOST, RDMS_SESSION_ID, RDMS_USER, RDMS_DOMAIN,
 * RDMS_CONNECT_STATE, RDMS_PREVIOUS_CONNECT_STATE, RDMS_CLIENT_NAME,
 * RDMS_PREVIOUS_CLIENT_NAME, RDMS_DISPLAY and RDMS_TIME in a login-like
 * environment.  They run as root, or, for the reasons listed in
 * hooks_as_session_user, as the session's user with DISPLAY and XAUTHORITY
 * set so that X clients reach the session.  A hook must be a regular file,
 * executable, owned by root and writable by nobody else (it may run as
 * root); anything else is skipped and reported.
 *
 * Hooks never hold up events or requests: rdms_hooks_event only queues.
 * At most hook_max_running run at once; the hooks of one session run one
 * event after the other, in the order of the events; one that outlives
 * hook_timeout_s is killed with its process group.  Each outcome that is
 * not a clean exit 0 goes to the report function (log and audit).
 */
#ifndef RDMS_EVENTS_HOOKS_H
#define RDMS_EVENTS_HOOKS_H

#include "../config/config.h"
#include "feed.h"

#define RDMS_HOOK_REASONS 5

/* The five reasons, in the order of the table above. */
extern const char *const rdms_hook_reason_names[RDMS_HOOK_REASONS];

/* The reasons of EV in the order their hooks run; returns how many (at most 4). */
size_t rdms_event_reasons(const rdms_event *ev, const char *out[4]);

/* One hook that did not simply succeed: HOOK's path, RC/STATUS, DETAIL in words. */
typedef struct rdms_hook_outcome {
	const char       *reason;
	const char       *hook;
	const rdms_event *event;
	bool              ok;         /* ran and exited 0 */
	const char       *detail;     /* "exit status 3", "killed after 30 s", "skipped: ..." */
} rdms_hook_outcome;

typedef void (*rdms_hook_report_fn)(void *ctx, const rdms_hook_outcome *o);

typedef struct rdms_hooks rdms_hooks;

/*
 * Starts the runner with CFG's hooks_dir, hooks_as_session_user,
 * hook_timeout_s and hook_max_running (CFG must outlive it).  REPORT (may
 * be NULL) hears every hook that failed, timed out or was skipped, from a
 * runner thread.  NULL with ERR on failure.
 */
rdms_hooks *rdms_hooks_start(const rdms_config *cfg, rdms_hook_report_fn report, void *ctx,
                             rdms_error *err);

/*
 * Queues EV's hooks (EV is copied); never waits.  An event none of whose
 * reasons has a directory is not queued.  False when the queue is full.
 */
bool rdms_hooks_event(rdms_hooks *h, const rdms_event *ev);

/* Waits until every queued hook has run (tests). */
void rdms_hooks_drain(rdms_hooks *h);

/* Lets running hooks finish (each within its timeout), drops the queue, frees H. */
void rdms_hooks_stop(rdms_hooks *h);

#endif
