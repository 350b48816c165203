/*
 * authz.h -- who is an administrator of rdms, and who is behind a uid.
 *
 * interface.md: root and the members of the admin group act on every
 * session, anyone else on their own.  The transport decides it once per
 * request and hands the answer to the operation layer in
 * rdms_caller.is_admin.  Group lookups may go to a directory (sssd, LDAP),
 * so answers are remembered for a few seconds.
 */
#ifndef RDMS_AUTH_AUTHZ_H
#define RDMS_AUTH_AUTHZ_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

typedef struct authz authz;

/* Answers are reused for TTL_S seconds (0: never).  NULL when out of memory. */
authz *authz_new(int ttl_s);
void authz_free(authz *a);
/* Forgets every remembered answer (the admin group may have changed). */
void authz_flush(authz *a);

/*
 * True when UID is 0 or USER is a member (primary or supplementary) of
 * GROUP.  An unknown group or user means no.  Thread-safe.
 */
bool authz_is_admin(authz *a, const char *group, const char *user, uid_t uid);

/*
 * The uid of the login name USER into *UID and whether it is an admin by
 * GROUP (authz_is_admin) into *IS_ADMIN, both remembered as that answer is
 * -- a fleet broker names the user of every call it forwards, and a
 * passwd look-up for each cost more than the rest of the check.  False
 * when there is no such user (not remembered).
 */
bool authz_user(authz *a, const char *group, const char *user, uid_t *uid, bool *is_admin);

/* The login name of UID into BUF (SIZE bytes); false when it has none. */
bool authz_user_name(uid_t uid, char *buf, size_t size);

/* The uid of the login name USER into *UID; false when there is no such user. */
bool authz_user_id(const char *user, uid_t *uid);

#endif
