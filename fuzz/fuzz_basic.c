/*
 * fuzz_basic.c -- the HTTP Basic Authorization header parser (src/auth/basic.c).
 *
 * With Negotiate's (fuzz_negotiate.c), the parser that runs before anyone
 * is authenticated.  The header value comes in an exact-size buffer
 * (embedded NULs included, as the length says).  On BASIC_OK the user name
 * must be terminated, free of control characters and of ':'; on anything
 * else the credentials must be wiped and the error must say why.
 */
#include "fuzz.h"

#include "auth/basic.h"

static int all_zero(const void *p, size_t n)
{
	const unsigned char *c = p;

	for (size_t i = 0; i < n; i++)
		if (c[i] != 0)
			return 0;
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *value = fuzz_exact(data, size);
	basic_cred cred;
	rdms_error err;
	enum basic_status st;

	if (value == NULL)
		return 0;
	memset(&cred, 0x5a, sizeof cred);   /* no help from a zeroed start */
	st = basic_parse(value, size, &cred, &err);
	if (st == BASIC_OK) {
		FUZZ_CHECK(size <= BASIC_MAX_HEADER);
		FUZZ_CHECK(memchr(cred.user, '\0', sizeof cred.user) != NULL);
		FUZZ_CHECK(memchr(cred.password, '\0', sizeof cred.password) != NULL);
		FUZZ_CHECK(strchr(cred.user, ':') == NULL);
		for (const char *u = cred.user; *u; u++)
			FUZZ_CHECK((unsigned char)*u >= 0x20 && *u != 0x7f);
	} else {
		FUZZ_CHECK(st == BASIC_OTHER_SCHEME || st == BASIC_MALFORMED);
		FUZZ_CHECK(all_zero(&cred, sizeof cred));
		FUZZ_CHECK(err.message[0] != '\0');
	}
	basic_cred_wipe(&cred);
	FUZZ_CHECK(all_zero(&cred, sizeof cred));
	free(value);
	return 0;
}
