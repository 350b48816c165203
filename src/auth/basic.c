/*
 * basic.c -- strict parser of `Authorization: Basic ...` (see basic.h).
 *
 * The base64 decoder is ours because its strictness is the point: libraries
 * that decode PEM skip whitespace and tolerate missing padding, and a
 * credential that two components decode differently is a classic way to
 * confuse a log or an audit trail.  Only the canonical encoding passes.
 */
#include "basic.h"

#include <string.h>
#include <strings.h>

/* The decoded "user:password" can be at most 3/4 of the encoded text. */
#define BASIC_MAX_DECODED ((BASIC_MAX_HEADER / 4) * 3)

void basic_cred_wipe(basic_cred *c)
{
	explicit_bzero(c, sizeof *c);
}

/* Value of one base64 digit, or -1. */
static int b64_digit(unsigned char ch)
{
	if (ch >= 'A' && ch <= 'Z')
		return ch - 'A';
	if (ch >= 'a' && ch <= 'z')
		return ch - 'a' + 26;
	if (ch >= '0' && ch <= '9')
		return ch - '0' + 52;
	if (ch == '+')
		return 62;
	if (ch == '/')
		return 63;
	return -1;
}

const char *basic_b64_decode(const char *in, size_t n, unsigned char *out,
                             size_t *outlen, size_t *where)
{
	size_t o = 0;

	if (n == 0 || n % 4 != 0) {
		*where = n;
		return "base64 length is not a positive multiple of 4";
	}
	for (size_t i = 0; i < n; i += 4) {
		int d[4];
		int pad = 0;

		for (int j = 0; j < 4; j++) {
			unsigned char ch = (unsigned char)in[i + j];

			*where = i + j;
			if (ch == '=' && i + 4 == n && j >= 2) {
				d[j] = 0;
				pad++;
				continue;
			}
			if (pad > 0)
				return "base64 data after '=' padding";
			d[j] = b64_digit(ch);
			if (d[j] < 0)
				return ch == '=' ? "misplaced '=' in base64" : "character not in the base64 alphabet";
		}
		out[o++] = (unsigned char)(d[0] << 2 | d[1] >> 4);
		if (pad < 2)
			out[o++] = (unsigned char)((d[1] & 0xf) << 4 | d[2] >> 2);
		if (pad < 1)
			out[o++] = (unsigned char)((d[2] & 0x3) << 6 | d[3]);
		/* Non-zero bits under the padding: not the canonical encoding. */
		if ((pad == 2 && (d[1] & 0xf) != 0) || (pad == 1 && (d[2] & 0x3) != 0)) {
			*where = i + 3 - (size_t)pad;
			return "non-canonical base64 (stray bits before padding)";
		}
	}
	*outlen = o;
	return NULL;
}

/* Splits the decoded "user:password" of LEN bytes into OUT. */
static enum basic_status split_pair(const unsigned char *buf, size_t len,
                                    basic_cred *out, rdms_error *err)
{
	const unsigned char *colon = memchr(buf, ':', len);
	size_t ulen, plen;

	if (memchr(buf, '\0', len) != NULL) {
		rdms_fail(err, WBEM_E_INVALID_PARAMETER,
		          "Basic credentials contain a NUL byte at offset %zu",
		          (size_t)((const unsigned char *)memchr(buf, '\0', len) - buf));
		return BASIC_MALFORMED;
	}
	if (colon == NULL) {
		rdms_fail(err, WBEM_E_INVALID_PARAMETER,
		          "Basic credentials have no ':' between user and password");
		return BASIC_MALFORMED;
	}
	ulen = (size_t)(colon - buf);
	plen = len - ulen - 1;
	if (ulen == 0) {
		rdms_fail(err, WBEM_E_INVALID_PARAMETER, "Basic credentials have an empty user name");
		return BASIC_MALFORMED;
	}
	if (ulen >= sizeof out->user || plen >= sizeof out->password) {
		rdms_fail(err, WBEM_E_INVALID_PARAMETER, "Basic %s is too long",
		          ulen >= sizeof out->user ? "user name" : "password");
		return BASIC_MALFORMED;
	}
	for (size_t i = 0; i < ulen; i++) {
		if (buf[i] < 0x20 || buf[i] == 0x7f) {
			rdms_fail(err, WBEM_E_INVALID_PARAMETER,
			          "Basic user name has control character 0x%02x at offset %zu",
			          buf[i], i);
			return BASIC_MALFORMED;
		}
	}
	memcpy(out->user, buf, ulen);
	out->user[ulen] = '\0';
	memcpy(out->password, colon + 1, plen);
	out->password[plen] = '\0';
	return BASIC_OK;
}

static enum basic_status parse(const char *value, size_t len, basic_cred *out,
                               rdms_error *err)
{
	unsigned char buf[BASIC_MAX_DECODED + 4];
	size_t start, end, dlen = 0, where = 0;
	const char *why;
	enum basic_status st;

	/*
	 * The scheme is a token, compared case-insensitively (RFC 7235).  It is
	 * looked at first: a Negotiate or Kerberos token is often longer than
	 * any Basic header, and it still deserves the Basic challenge.
	 */
	if (len < 5 || strncasecmp(value, "Basic", 5) != 0 ||
	    (len > 5 && value[5] != ' ' && value[5] != '\t')) {
		rdms_fail(err, WBEM_E_ACCESS_DENIED, "authentication scheme is not Basic");
		return BASIC_OTHER_SCHEME;
	}
	if (len > BASIC_MAX_HEADER) {
		rdms_fail(err, WBEM_E_INVALID_PARAMETER,
		          "Authorization header is longer than %d bytes", BASIC_MAX_HEADER);
		return BASIC_MALFORMED;
	}
	if (memchr(value, '\0', len) != NULL) {
		rdms_fail(err, WBEM_E_INVALID_PARAMETER, "Authorization header contains a NUL byte");
		return BASIC_MALFORMED;
	}
	start = 5;
	while (start < len && (value[start] == ' ' || value[start] == '\t'))
		start++;
	end = len;
	while (end > start && (value[end - 1] == ' ' || value[end - 1] == '\t'))
		end--;
	if (start == end) {
		rdms_fail(err, WBEM_E_INVALID_PARAMETER, "Basic credentials are missing");
		return BASIC_MALFORMED;
	}
	why = basic_b64_decode(value + start, end - start, buf, &dlen, &where);
	if (why != NULL) {
		rdms_fail(err, WBEM_E_INVALID_PARAMETER,
		          "Basic credentials: %s at column %zu", why, start + where + 1);
		return BASIC_MALFORMED;
	}
	st = split_pair(buf, dlen, out, err);
	explicit_bzero(buf, sizeof buf);
	return st;
}

enum basic_status basic_parse(const char *value, size_t len, basic_cred *out,
                              rdms_error *err)
{
	enum basic_status st;

	memset(out, 0, sizeof *out);
	if (value == NULL) {
		rdms_fail(err, WBEM_E_ACCESS_DENIED, "no Authorization header");
		return BASIC_OTHER_SCHEME;
	}
	st = parse(value, len, out, err);
	if (st != BASIC_OK)
		basic_cred_wipe(out);
	return st;
}
