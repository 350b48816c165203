/*
 * encrypted_body.h -- the framing of WinRM message encryption over HTTP
 * (MS-WSMV 2.2.9.1.1; spec/ntlm.md 2.2), for requests and replies alike:
 *
 *   Content-Type: multipart/encrypted;
 *       protocol="application/HTTP-SPNEGO-session-encrypted";boundary="Encrypted Boundary"
 *
 *   --Encrypted Boundary\r\n
 *   \tContent-Type: application/HTTP-SPNEGO-session-encrypted\r\n
 *   \tOriginalContent: type=application/soap+xml;charset=UTF-8;Length=<plaintext bytes>\r\n
 *   --Encrypted Boundary\r\n
 *   \tContent-Type: application/octet-stream\r\n
 *   <u32 LE signature length><signature><ciphertext: Length bytes>--Encrypted Boundary--\r\n
 *
 * The last part is binary and may hold any bytes, the boundary's among
 * them, so it is found by its lengths, never by scanning for a boundary
 * (OMI's mistake).  What is written keeps to what clients check byte for
 * byte: the tabs before the part headers (pywinrm strips them by exact
 * match), no space after "--" (MS-WSMV's example has one; real ones do
 * not: it is accepted when read), and no CRLF between the ciphertext and
 * the closing boundary.  Only the framing is here; the cryptography is
 * seal.h's.
 */
#ifndef RDMS_TRANSPORT_ENCRYPTED_BODY_H
#define RDMS_TRANSPORT_ENCRYPTED_BODY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/strutil.h"

#define ENCBODY_PROTOCOL     "application/HTTP-SPNEGO-session-encrypted"
#define ENCBODY_BOUNDARY     "Encrypted Boundary"
#define ENCBODY_CONTENT_TYPE "multipart/encrypted;protocol=\"" ENCBODY_PROTOCOL "\";" \
                             "boundary=\"" ENCBODY_BOUNDARY "\""
#define ENCBODY_TYPE_MAX     128   /* bytes of the original Content-Type kept */
#define ENCBODY_SIG_MAX      1024  /* a signature longer than this is no GSSAPI header */
/* What the framing may add to an envelope: part headers, length word, signature */
#define ENCBODY_OVERHEAD_MAX (2048 + ENCBODY_SIG_MAX)

/* True when CONTENT_TYPE (NULL: none) is multipart/encrypted, whatever its parameters. */
bool encbody_is_encrypted(const char *content_type);

typedef struct encbody {
	/* OriginalContent's type and charset, as a Content-Type ("application/soap+xml;charset=UTF-8") */
	char           type[ENCBODY_TYPE_MAX];
	size_t         length;     /* OriginalContent's Length: the plaintext's bytes */
	const uint8_t *wrapped;    /* in the body: the signature, then the ciphertext */
	size_t         wrapped_len;
	size_t         sig_len;
} encbody;

/*
 * BODY (LEN bytes) sent with CONTENT_TYPE, read into *OUT (pointing into
 * BODY).  False with the reason in WHY (SIZE bytes; for the log and the
 * 400's text) when anything is off: the media type, its protocol or
 * boundary, a part or its headers, a length that does not match what
 * follows, anything after the closing boundary.
 */
bool encbody_parse(const char *content_type, const void *body, size_t len, encbody *out,
                   char *why, size_t size);

/*
 * The encrypted body of a reply into OUT (appended): TYPE is the
 * plaintext's Content-Type, PLAIN_LEN its bytes, WRAPPED (WRAPPED_LEN
 * bytes) the signature of SIG_LEN bytes then the ciphertext.
 */
void encbody_build(strbuf *out, const char *type, size_t plain_len, const void *wrapped,
                   size_t wrapped_len, size_t sig_len);

#endif
