/*
 * basic.h -- the HTTP Basic credentials of an Authorization header
 * (RFC 7617), parsed strictly.
 *
 * The header comes from the network before anyone is authenticated, so the
 * parser accepts exactly `Basic <base64 of user:password>` and nothing
 * else: canonical base64 with correct padding, no embedded NUL, a user name
 * without control characters, bounded lengths.  A different scheme is not
 * an error of the client (it may try Negotiate first): the transport
 * answers it with a Basic challenge.
 */
#ifndef RDMS_AUTH_BASIC_H
#define RDMS_AUTH_BASIC_H

#include <stddef.h>

#include "../cim/wbem.h"

/* Longest Authorization value accepted, scheme included. */
#define BASIC_MAX_HEADER 1024

enum basic_status {
	BASIC_OK = 0,
	BASIC_OTHER_SCHEME,   /* not Basic (Negotiate, Kerberos, ...): answer 401 */
	BASIC_MALFORMED,      /* Basic, but unusable: answer 400 */
};

typedef struct basic_cred {
	char user[256];
	char password[512];
} basic_cred;

/*
 * Parses the Authorization header VALUE of LEN bytes (LEN lets embedded NUL
 * bytes be seen) into OUT.  On anything but BASIC_OK, OUT is wiped and ERR
 * says what was wrong and where.
 */
enum basic_status basic_parse(const char *value, size_t len, basic_cred *out,
                              rdms_error *err);

/*
 * Decodes the canonical base64 text IN (N bytes, a multiple of 4, padding
 * only at the end, unused bits zero) into OUT (room for N / 4 * 3 bytes);
 * *OUTLEN gets the length.  Returns NULL, or what was wrong with *WHERE
 * the offset.  (Negotiate tokens use it too: negotiate_hdr.h.)
 */
const char *basic_b64_decode(const char *in, size_t n, unsigned char *out,
                             size_t *outlen, size_t *where);

/* Erases the password (and user) so it does not linger in memory. */
void basic_cred_wipe(basic_cred *c);

#endif
