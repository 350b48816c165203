/*
 * pam_relay.h -- where priv has a password checked: by PAM in a process of
 * its own, rdmsd-pam (src/daemon/rdmsd_pam.c), started for the one check
 * and gone once it has answered, like unix_chkpwd for pam_unix.
 *
 * Why not in priv itself (README "Privilege separation"):
 *   - memory: a PAM module's work stays in priv for good.  One yescrypt
 *     hash (pam_unix, Debian's default) takes 16 MiB, freed at once but
 *     still the daemon's high-water mark; other modules (directories, MFA)
 *     load libraries and keep caches, and some leak.  A process per check
 *     gives all of it back when it exits;
 *   - faults: a module that crashes ends the check, not priv;
 *   - time: a module that hangs (a directory that does not answer) is
 *     killed after the relay's timeout instead of holding a priv thread
 *     for ever, and checks no longer wait on each other behind a lock
 *     (each process has a PAM of its own, so nothing needs serialising).
 * rdmsd-pam keeps what PAM had in priv -- uid 0, the capabilities, the
 * environment reduced to PATH -- and talks priv's wire (AUTH in,
 * AUTH_REPLY out) on a socketpair at its fd 3.  A check costs a process
 * more: 3.4-3.6 ms for one PAM refuses at once, against 0.8-1.1 ms
 * in-process, measured here; net's credential cache makes checks rare.
 */
#ifndef RDMS_PRIVSEP_PAM_RELAY_H
#define RDMS_PRIVSEP_PAM_RELAY_H

#include "privsep.h"

/* How long a check may take before its rdmsd-pam is killed. */
#define PAM_RELAY_TIMEOUT_MS 30000

typedef struct pam_relay pam_relay;

/*
 * A relay running PROGRAM (rdmsd-pam) for PAM service SERVICE, giving each
 * check TIMEOUT_MS; NULL when out of memory or a name is too long.
 */
pam_relay *pam_relay_new(const char *program, const char *service, int timeout_ms);
void pam_relay_free(pam_relay *r);

/*
 * Checks A's user and password (rhost for PAM's logs) and fills *OUT as
 * priv answers net: rc 0 with the account's name as PAM settled it and its
 * uid, else WBEM_E_ACCESS_DENIED with the reason -- PAM's, or what went
 * wrong with rdmsd-pam (which is also logged).  BUF: PRIV_MSG_MAX bytes to
 * work in, wiped before return.  Safe from several threads at once; the
 * rdmsd-pam it started is reaped before it returns.
 */
void pam_relay_check(const pam_relay *r, const priv_auth *a, priv_auth_reply *out, void *buf);

#endif
