/*
 * pam_txn.h -- one PAM transaction: authentication and account management
 * of a user name and password, as rdmsd-pam (src/daemon/rdmsd_pam.c) runs
 * it for priv.  Only that program links PAM: the modules PAM loads (and
 * the memory they take: pam_unix's yescrypt hash alone is 16 MiB) live in
 * a process that ends with the check, never in rdmsd's own two.
 */
#ifndef RDMS_AUTH_PAM_TXN_H
#define RDMS_AUTH_PAM_TXN_H

#include <stddef.h>
#include <stdint.h>

#include "../cim/wbem.h"

/*
 * Runs PAM service SERVICE for USER/PASSWORD, from a client at RHOST (for
 * PAM's logs; may be NULL), with no delay on failure (the caller's to
 * make).  Returns 0 with the account's name as PAM settled it in CANON
 * (CANON_SIZE bytes), else WBEM_E_ACCESS_DENIED with PAM's reason in ERR.
 */
uint32_t pam_txn_run(const char *service, const char *user, const char *password,
                     const char *rhost, char *canon, size_t canon_size, rdms_error *err);

#endif
