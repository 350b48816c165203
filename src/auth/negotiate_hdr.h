/*
 * negotiate_hdr.h -- the framing of `Authorization: Negotiate <token>` and
 * `Authorization: NTLM <token>` (RFC 4559; MS-WSMV), parsed strictly
 * before any token reaches GSSAPI, and the base64 of a reply token.
 *
 * A token is canonical base64 of at most NEGO_HDR_TOKEN_MAX bytes, and is
 * one of what clients send: a raw NTLMSSP message (NEGOTIATE or
 * AUTHENTICATE: python's requests-ntlm sends these under either scheme),
 * or under Negotiate a SPNEGO token -- a GSS-framed NegTokenInit
 * ([APPLICATION 0], 0x60) or a NegTokenResp ([1], 0xa1) -- whose DER
 * length covers the token exactly (a truncated or padded one is refused
 * here, with what was wrong).
 */
#ifndef RDMS_AUTH_NEGOTIATE_HDR_H
#define RDMS_AUTH_NEGOTIATE_HDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../cim/wbem.h"

#define NEGO_HDR_TOKEN_MAX 6144                         /* decoded bytes */
#define NEGO_HDR_B64_MAX   ((NEGO_HDR_TOKEN_MAX / 3) * 4) /* its base64 */

enum nego_scheme { NEGO_SCHEME_NONE = 0, NEGO_SCHEME_NEGOTIATE, NEGO_SCHEME_NTLM };

enum nego_hdr_status {
	NEGO_HDR_OK = 0,
	NEGO_HDR_OTHER_SCHEME,   /* neither Negotiate nor NTLM */
	NEGO_HDR_MALFORMED,      /* one of them, but unusable: answer 400 */
};

typedef struct nego_hdr {
	enum nego_scheme scheme;
	char             b64[NEGO_HDR_B64_MAX + 1];   /* the token's base64, as sent */
	uint8_t          token[NEGO_HDR_TOKEN_MAX];
	size_t           len;
} nego_hdr;

/* Parses the Authorization header VALUE of LEN bytes; ERR says what was wrong. */
enum nego_hdr_status nego_hdr_parse(const char *value, size_t len, nego_hdr *out,
                                    rdms_error *err);

/* The scheme's name as a challenge uses it ("Negotiate", "NTLM"). */
const char *nego_scheme_name(enum nego_scheme s);

/* base64 of TOKEN (LEN bytes) into OUT (SIZE bytes, NUL-terminated); false when it does not fit. */
bool nego_b64(const void *token, size_t len, char *out, size_t size);

/*
 * "SCHEME base64(TOKEN)" into OUT (SIZE bytes; "SCHEME" alone when LEN is
 * 0); false when it does not fit.
 */
bool nego_hdr_challenge(enum nego_scheme s, const void *token, size_t len, char *out,
                        size_t size);

#endif
