/*
 * userexec.h -- running programs as a session's user, shared by the
 * back-ends: the SendMessage dialog (gxmessage on the session's display)
 * and the servers' own per-user scripts (X2Go's suspend and terminate,
 * which do nothing when run as root: x2go.md §7).
 *
 * The account (groups included) is looked up before any fork; after the
 * fork only async-signal-safe calls are made, since rdmsd has threads.
 */
#ifndef RDMS_BACKEND_USEREXEC_H
#define RDMS_BACKEND_USEREXEC_H

#include <limits.h>
#include <stdbool.h>
#include <sys/types.h>

#include "backend.h"
#include "message.h"

/* Everything needed to become an account, prepared before fork. */
typedef struct rdms_user {
	uid_t  uid;
	gid_t  gid;
	gid_t *groups;       /* supplementary groups, the primary one included */
	int    ngroups;
	char   name[256];
	char   home[PATH_MAX];
} rdms_user;

/* Looks up UID's account and groups (WBEM_E_FAILED when it has none). */
uint32_t rdms_user_lookup(uid_t uid, rdms_user *u, rdms_error *err);
void rdms_user_free(rdms_user *u);

/*
 * In a forked child: takes U's groups, gid and uid (checking that root
 * cannot be regained) and changes to its home directory.  0, or -1 with
 * errno set.  Async-signal-safe.
 */
int rdms_user_become(const rdms_user *u);

/*
 * Runs ARGV (ARGV[0] an absolute path) as U with a login-like environment
 * (HOME, USER, LOGNAME, SHELL, PATH, LANG=C), stdin on /dev/null, in a new
 * session, and waits for it at most TIMEOUT_MS (then SIGKILLs it: that pid
 * only).  Its stdout and stderr, cut to OUTSIZE - 1 bytes, go to OUT; its
 * wait status to *STATUS.  WBEM_E_FAILED when it could not be run or timed
 * out; the exit status is the caller's to judge.
 */
uint32_t rdms_user_run(const rdms_user *u, char *const argv[], int timeout_ms,
                       int *status, char *out, size_t outsize, rdms_error *err);

/* At most this many extra variables, each cut at RDMS_USER_EXTRA_ENV_SIZE - 1 bytes. */
#define RDMS_USER_MAX_EXTRA_ENV  20
#define RDMS_USER_EXTRA_ENV_SIZE 600

/*
 * rdms_user_run with EXTRA ("NAME=value" strings, NULL-terminated) added to
 * the environment, and on a timeout the program's whole process group
 * killed (it runs in a session of its own, so the group is its own: a hook
 * that started a background job takes it along).
 */
uint32_t rdms_user_run_env(const rdms_user *u, char *const argv[], const char *const *extra,
                           int timeout_ms, int *status, char *out, size_t outsize,
                           rdms_error *err);

/*
 * SendMessage: a dialog (gxmessage, message_keeper.h) on S's display
 * (s->display) as its user (s->uid), with XAUTHORITY (NULL:
 * ~/.Xauthority).  Returns once the dialog is up (fire-and-forget); it goes
 * away after OPT's timeout (NULL or 0: cfg->message_timeout_s) of time the
 * session is connected.  With OPT->wait, returns how the user answered, as
 * rdms_message_wait does; or, with OPT->wait_fd, leaves the descriptor
 * to wait on there.
 */
uint32_t rdms_message_show(const rdms_config *cfg, const rdms_session *s,
                           const char *xauthority, const char *title, const char *message,
                           const rdms_message_options *opt, rdms_error *err);

/*
 * Waits on FD (from rdms_message_show's OPT->wait_fd) until the dialog
 * ends, TIMEOUT_S seconds (and a few more) at most, and closes FD.  0 when
 * the user closed the dialog; WBEM_E_TIMED_OUT when it was not closed in
 * time; WBEM_E_FAILED when the session ended first.
 */
uint32_t rdms_message_wait(int fd, uint32_t timeout_s, rdms_error *err);

#endif
