/*
 * fuzz_negotiate.c -- the Negotiate/NTLM Authorization header parser
 * (src/auth/negotiate_hdr.c).
 *
 * Like Basic's (fuzz_basic.c), this parser runs before anyone is
 * authenticated, and what it accepts goes on to GSSAPI.  The header value
 * comes in an exact-size buffer.  On NEGO_HDR_OK the token must have the
 * shape the header promises (an NTLMSSP NEGOTIATE or AUTHENTICATE message,
 * or under Negotiate a SPNEGO token whose DER length covers it exactly),
 * its base64 must be the canonical encoding of the token, and the
 * challenge built from it must parse back to the same token; on anything
 * else no token is left and the error says why.
 */
#include "fuzz.h"

#include <strings.h>

#include "auth/negotiate_hdr.h"

static int shape_ok(const nego_hdr *h)
{
	const uint8_t *t = h->token;

	if (h->len >= 12 && memcmp(t, "NTLMSSP", 8) == 0)
		return (t[8] == 1 || t[8] == 3) && t[9] == 0 && t[10] == 0 && t[11] == 0;
	return h->scheme == NEGO_SCHEME_NEGOTIATE && h->len >= 2 && (t[0] == 0x60 || t[0] == 0xa1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *value = fuzz_exact(data, size);
	nego_hdr *h = malloc(sizeof *h), *again = malloc(sizeof *again);
	char b64[NEGO_HDR_B64_MAX + 1], challenge[NEGO_HDR_B64_MAX + 16];
	rdms_error err = { 0 };
	enum nego_hdr_status st;

	if (value == NULL || h == NULL || again == NULL)
		goto out;
	memset(h, 0x5a, sizeof *h);     /* no help from a zeroed start */
	st = nego_hdr_parse(value, size, h, &err);
	if (st == NEGO_HDR_OK) {
		const char *name = nego_scheme_name(h->scheme);

		FUZZ_CHECK(h->scheme == NEGO_SCHEME_NEGOTIATE || h->scheme == NEGO_SCHEME_NTLM);
		FUZZ_CHECK(strncasecmp(value, name, strlen(name)) == 0);
		FUZZ_CHECK(h->len > 0 && h->len <= NEGO_HDR_TOKEN_MAX);
		FUZZ_CHECK(memchr(h->b64, '\0', sizeof h->b64) != NULL);
		FUZZ_CHECK(shape_ok(h));
		/* canonical base64: the token encodes back to exactly what was sent */
		FUZZ_CHECK(nego_b64(h->token, h->len, b64, sizeof b64));
		FUZZ_CHECK(strcmp(b64, h->b64) == 0);
		/* what rdmsd would answer with this token parses back to it */
		FUZZ_CHECK(nego_hdr_challenge(h->scheme, h->token, h->len, challenge,
		                              sizeof challenge));
		st = nego_hdr_parse(challenge, strlen(challenge), again, &err);
		FUZZ_CHECK(st == NEGO_HDR_OK);
		FUZZ_CHECK(again->scheme == h->scheme && again->len == h->len &&
		           memcmp(again->token, h->token, h->len) == 0);
	} else {
		FUZZ_CHECK(st == NEGO_HDR_OTHER_SCHEME || st == NEGO_HDR_MALFORMED);
		FUZZ_CHECK(h->len == 0);
		FUZZ_CHECK(fuzz_error_set(err.code, err.code, err.message));
		FUZZ_CHECK(st == NEGO_HDR_OTHER_SCHEME ? h->scheme == NEGO_SCHEME_NONE
		                                       : h->scheme != NEGO_SCHEME_NONE);
	}
out:
	free(again);
	free(h);
	free(value);
	return 0;
}
