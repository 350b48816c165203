/*
 * pam_auth.h -- password checks through PAM, for Basic credentials.
 *
 * WinRM clients send the credentials with every request, and a PAM round
 * (password hashing, maybe a directory lookup) per request would make an
 * enumeration of Pull calls slow.  A verified credential is therefore
 * remembered for a short while -- as a salted SHA-256 of user and password,
 * never the password itself -- and an identical one is accepted without
 * PAM until it expires.  A failure is never cached: each goes to PAM and is
 * answered only after a fixed delay, which slows guessing.
 */
#ifndef RDMS_AUTH_PAM_AUTH_H
#define RDMS_AUTH_PAM_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "../cim/wbem.h"

typedef struct pam_auth pam_auth;

/*
 * A checker whose cache misses go to the verifier set with
 * pam_auth_set_verifier() (none set: every miss is refused).  Verified
 * credentials are reused for CACHE_TTL_S seconds (0: never); a failed check
 * returns after FAIL_DELAY_MS.  NULL when out of memory or no random salt
 * could be drawn.
 */
pam_auth *pam_auth_new(int cache_ttl_s, int fail_delay_ms);
void pam_auth_free(pam_auth *pa);

/* Forgets every remembered credential (config reload, tests). */
void pam_auth_flush(pam_auth *pa);

/*
 * Checks USER/PASSWORD (authentication and account management) for a
 * client at RHOST (for PAM's logs; may be NULL).  On success returns 0 with
 * the account's name as PAM settled it in CANON (CANON_SIZE bytes) and its
 * uid in *UID.  Otherwise, after the failure delay, WBEM_E_ACCESS_DENIED
 * with the reason in ERR.  Safe to call from several threads; the delay
 * holds no lock, so one client's failures do not stall the others.
 */
uint32_t pam_auth_check(pam_auth *pa, const char *user, const char *password,
                        const char *rhost, char *canon, size_t canon_size,
                        uid_t *uid, rdms_error *err);

/*
 * True, with CANON and *UID set, when USER/PASSWORD is a remembered
 * credential: no PAM, no waiting (the HTTP server's I/O threads ask this
 * first and hand a miss to a worker).
 */
bool pam_auth_cached(pam_auth *pa, const char *user, const char *password, char *canon,
                     size_t canon_size, uid_t *uid);

/*
 * pam_auth_check() without the failure delay: the caller answers a failure
 * only once pam_auth_fail_delay_ms() have passed (rdmsd's transport does so
 * with a timer, so no thread sleeps for it).
 */
uint32_t pam_auth_check_undelayed(pam_auth *pa, const char *user, const char *password,
                                  const char *rhost, char *canon, size_t canon_size,
                                  uid_t *uid, rdms_error *err);
int pam_auth_fail_delay_ms(const pam_auth *pa);

/*
 * What a credential that is not in the cache goes to.  In rdmsd the network
 * process, which cannot run PAM, sets a function that asks the privileged
 * one (which has rdmsd-pam run PAM: src/privsep/pam_relay.h); the cache and
 * the failure delay stay on this side.
 */
typedef uint32_t (*pam_verify_fn)(void *ctx, const char *user, const char *password,
                                  const char *rhost, char *canon, size_t canon_size,
                                  uid_t *uid, rdms_error *err);
void pam_auth_set_verifier(pam_auth *pa, pam_verify_fn fn, void *ctx);

#endif
