/*
 * ntlm_store.h -- the NT-hash store of Negotiate/NTLM logins (rdmsd.conf
 * ntlm_users, default /etc/rdms/ntlm-users).
 *
 * NTLM cannot be checked against PAM or /etc/shadow: the server needs the
 * NT hash, MD4 of the UTF-16LE password.  So its users have a store of
 * their own, in the smbpasswd-style format gss-ntlmssp reads itself on
 * every authentication (spec/ntlm.md §1.1):
 *
 *     [DOMAIN\]user:uid:XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX:NTHASH:[U          ]:LCT-00000000
 *
 * No password is stored, but an NT hash is as good as the password to an
 * NTLM client (pass-the-hash): the file is root's, mode 0600, like
 * /etc/shadow, and is replaced atomically (a reader never sees half of it).
 * An entry without a domain accepts any domain the client names; one with
 * a domain only that one.  One entry per account: setting a user again
 * replaces its entry.
 */
#ifndef RDMS_AUTH_NTLM_STORE_H
#define RDMS_AUTH_NTLM_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../cim/wbem.h"

#define NTLM_NAME_MAX   64    /* a user or domain name, bytes */
#define NTLM_PASSWORD_MAX 256 /* bytes of UTF-8 */

/* MD4(UTF-16LE(PASSWORD)) into OUT; false when PASSWORD is not valid UTF-8 or too long. */
bool ntlm_nt_hash(const char *password, uint8_t out[16]);

/* True when NAME is usable as a user or domain name in the store. */
bool ntlm_name_ok(const char *name);

/*
 * Sets USER's entry (DOMAIN may be "" for any domain) to PASSWORD's hash,
 * replacing any entry of USER (case-insensitively); UID is recorded beside
 * it.  Creates PATH (0600) when missing.  WBEM_E_INVALID_PARAMETER for a
 * bad name or password, WBEM_E_FAILED when the file cannot be written.
 */
uint32_t ntlm_store_set(const char *path, const char *user, const char *domain,
                        const char *password, uid_t uid, rdms_error *err);

/* Removes USER's entry; WBEM_E_NOT_FOUND when it has none. */
uint32_t ntlm_store_remove(const char *path, const char *user, rdms_error *err);

typedef struct ntlm_entry {
	char user[NTLM_NAME_MAX + 1];
	char domain[NTLM_NAME_MAX + 1];   /* "" = any */
} ntlm_entry;

/*
 * The entries of PATH (a missing file has none) into a malloc'd array
 * *OUT of *N.  Lines that are not entries (comments, others) are skipped.
 */
uint32_t ntlm_store_list(const char *path, ntlm_entry **out, size_t *n, rdms_error *err);

#endif
