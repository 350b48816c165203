/*
 * test_basic.c -- the Basic Authorization parser, on good and hostile input.
 */
#include <string.h>

#include "../../src/auth/basic.h"
#include "check.h"

/* Parses the C string S. */
static enum basic_status parse(const char *s, basic_cred *c, rdms_error *e)
{
	rdms_error_clear(e);
	return basic_parse(s, strlen(s), c, e);
}

static void test_good(void)
{
	basic_cred c;
	rdms_error e;

	/* alice:secret */
	CHECK_EQ(parse("Basic YWxpY2U6c2VjcmV0", &c, &e), BASIC_OK);
	CHECK_STR(c.user, "alice");
	CHECK_STR(c.password, "secret");
	/* Scheme is case-insensitive; extra blanks around the token are fine. */
	CHECK_EQ(parse("basic   YWxpY2U6c2VjcmV0  ", &c, &e), BASIC_OK);
	CHECK_STR(c.user, "alice");
	CHECK_EQ(parse("BASIC\tYWxpY2U6c2VjcmV0", &c, &e), BASIC_OK);
	/* The password may hold colons: only the first one splits. "bob:a:b:c" */
	CHECK_EQ(parse("Basic Ym9iOmE6Yjpj", &c, &e), BASIC_OK);
	CHECK_STR(c.user, "bob");
	CHECK_STR(c.password, "a:b:c");
	/* Empty password: syntactically fine, PAM refuses it later. "u:" */
	CHECK_EQ(parse("Basic dTo=", &c, &e), BASIC_OK);
	CHECK_STR(c.user, "u");
	CHECK_STR(c.password, "");
	/* Padding variants: "ab:c" (two '='), "ab:cd" (one '='). */
	CHECK_EQ(parse("Basic YWI6Yw==", &c, &e), BASIC_OK);
	CHECK_STR(c.password, "c");
	CHECK_EQ(parse("Basic YWI6Y2Q=", &c, &e), BASIC_OK);
	CHECK_STR(c.password, "cd");
	/* UTF-8 user names pass unchanged: "jürgen:pw" */
	CHECK_EQ(parse("Basic asO8cmdlbjpwdw==", &c, &e), BASIC_OK);
	CHECK_STR(c.user, "j\xc3\xbcrgen");
	/* DOMAIN\user survives. "DOM\\u:p" */
	CHECK_EQ(parse("Basic RE9NXHU6cA==", &c, &e), BASIC_OK);
	CHECK_STR(c.user, "DOM\\u");
}

static void test_other_schemes(void)
{
	basic_cred c;
	rdms_error e;

	CHECK_EQ(parse("Negotiate TlRMTVNTUAABAAAAB4IIogAAAAAAAAAAAAAAAAAAAAAKAGFKAAAADw==", &c, &e),
	         BASIC_OTHER_SCHEME);
	CHECK_EQ(e.code, WBEM_E_ACCESS_DENIED);
	CHECK_EQ(parse("Kerberos abc", &c, &e), BASIC_OTHER_SCHEME);
	CHECK_EQ(parse("Bearer abc", &c, &e), BASIC_OTHER_SCHEME);
	CHECK_EQ(parse("", &c, &e), BASIC_OTHER_SCHEME);
	CHECK_EQ(parse("Bas", &c, &e), BASIC_OTHER_SCHEME);
	/* "Basicx" is another token, not Basic. */
	CHECK_EQ(parse("BasicYWxpY2U6c2VjcmV0", &c, &e), BASIC_OTHER_SCHEME);
	CHECK_EQ(basic_parse(NULL, 0, &c, &e), BASIC_OTHER_SCHEME);

	/* Regression (hostile suite): a long Negotiate token is another scheme
	 * (401 with the Basic challenge), not a malformed Basic header (400). */
	char big[BASIC_MAX_HEADER + 200];
	memcpy(big, "Negotiate ", 10);
	memset(big + 10, 'A', sizeof big - 11);
	big[sizeof big - 1] = '\0';
	CHECK_EQ(parse(big, &c, &e), BASIC_OTHER_SCHEME);
}

static void test_bad_base64(void)
{
	basic_cred c;
	rdms_error e;

	CHECK_EQ(parse("Basic", &c, &e), BASIC_MALFORMED);
	CHECK(strstr(e.message, "missing") != NULL);
	CHECK_EQ(parse("Basic    ", &c, &e), BASIC_MALFORMED);
	/* Length not a multiple of 4 (missing padding). */
	CHECK_EQ(parse("Basic YWxpY2U6c2VjcmV0a", &c, &e), BASIC_MALFORMED);
	CHECK(strstr(e.message, "multiple of 4") != NULL);
	CHECK_EQ(parse("Basic dTo", &c, &e), BASIC_MALFORMED);
	/* Characters outside the alphabet, with the column reported. */
	CHECK_EQ(parse("Basic YWxp*2U6c2VjcmV0", &c, &e), BASIC_MALFORMED);
	CHECK(strstr(e.message, "alphabet") != NULL);
	CHECK(strstr(e.message, "column 11") != NULL);
	CHECK_EQ(parse("Basic YWxpY2U6 c2VjcmV0", &c, &e), BASIC_MALFORMED);
	/* URL-safe alphabet is not the Basic alphabet. */
	CHECK_EQ(parse("Basic YW-pY2U6c2VjcmV0", &c, &e), BASIC_MALFORMED);
	/* Padding in the middle, or data after it. */
	CHECK_EQ(parse("Basic dTo=dTo=", &c, &e), BASIC_MALFORMED);
	CHECK_EQ(parse("Basic dT=w", &c, &e), BASIC_MALFORMED);
	CHECK_EQ(parse("Basic d===", &c, &e), BASIC_MALFORMED);
	CHECK_EQ(parse("Basic ====", &c, &e), BASIC_MALFORMED);
	/* Non-canonical: stray bits under the padding ("dTp=" vs "dTo="). */
	CHECK_EQ(parse("Basic dTp=", &c, &e), BASIC_MALFORMED);
	CHECK(strstr(e.message, "non-canonical") != NULL);
	CHECK_EQ(parse("Basic YWI6Yx==", &c, &e), BASIC_MALFORMED);
	/* Failures leave nothing behind. */
	CHECK_EQ(c.user[0], '\0');
	CHECK_EQ(c.password[0], '\0');
}

static void test_bad_content(void)
{
	basic_cred c;
	rdms_error e;
	char big[BASIC_MAX_HEADER + 64];

	/* No colon: "alicesecret" */
	CHECK_EQ(parse("Basic YWxpY2VzZWNyZXQ=", &c, &e), BASIC_MALFORMED);
	CHECK(strstr(e.message, "':'") != NULL);
	/* Empty user: ":pw" */
	CHECK_EQ(parse("Basic OnB3", &c, &e), BASIC_MALFORMED);
	CHECK(strstr(e.message, "empty user") != NULL);
	/* NUL inside the decoded credentials: "root\0:x" and "a:b\0c" */
	CHECK_EQ(parse("Basic cm9vdAA6eA==", &c, &e), BASIC_MALFORMED);
	CHECK(strstr(e.message, "NUL") != NULL);
	CHECK_EQ(parse("Basic YTpiAGM=", &c, &e), BASIC_MALFORMED);
	/* Control characters in the user name (log injection): "a\nb:c" */
	CHECK_EQ(parse("Basic YQpiOmM=", &c, &e), BASIC_MALFORMED);
	CHECK(strstr(e.message, "control character 0x0a") != NULL);
	/* "\x1b[31m:x" -- a terminal escape. */
	CHECK_EQ(parse("Basic G1szMW06eA==", &c, &e), BASIC_MALFORMED);
	/* A NUL byte in the header itself (seen through the explicit length). */
	CHECK_EQ(basic_parse("Basic dTo=\0junk", 15, &c, &e), BASIC_MALFORMED);
	CHECK(strstr(e.message, "NUL") != NULL);
	CHECK_EQ(basic_parse("Basic \0dTo=", 11, &c, &e), BASIC_MALFORMED);
	/* Over-long header. */
	memcpy(big, "Basic ", 6);
	memset(big + 6, 'A', sizeof big - 7);
	big[sizeof big - 1] = '\0';
	CHECK_EQ(parse(big, &c, &e), BASIC_MALFORMED);
	CHECK(strstr(e.message, "longer than") != NULL);
}

static void test_long_fields(void)
{
	static const char b64[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	unsigned char raw[700];
	char hdr[BASIC_MAX_HEADER + 8];
	basic_cred c;
	rdms_error e;
	size_t n, o;

	/* A 300-byte user name: longer than basic_cred.user holds. */
	memset(raw, 'u', 300);
	raw[300] = ':';
	raw[301] = 'p';
	n = 302;
	memcpy(hdr, "Basic ", 6);
	o = 6;
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = raw[i] << 16 | (i + 1 < n ? raw[i + 1] : 0) << 8 |
		             (i + 2 < n ? raw[i + 2] : 0);

		hdr[o++] = b64[v >> 18 & 63];
		hdr[o++] = b64[v >> 12 & 63];
		hdr[o++] = i + 1 < n ? b64[v >> 6 & 63] : '=';
		hdr[o++] = i + 2 < n ? b64[v & 63] : '=';
	}
	hdr[o] = '\0';
	CHECK_EQ(parse(hdr, &c, &e), BASIC_MALFORMED);
	CHECK(strstr(e.message, "user name is too long") != NULL);
}

int main(void)
{
	basic_cred c;

	test_good();
	test_other_schemes();
	test_bad_base64();
	test_bad_content();
	test_long_fields();
	memset(&c, 'x', sizeof c);
	basic_cred_wipe(&c);
	CHECK_EQ(c.password[0], 0);
	CHECK_EQ(c.password[sizeof c.password - 1], 0);
	return check_summary("basic");
}
