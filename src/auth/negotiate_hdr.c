/*
 * negotiate_hdr.c -- Negotiate/NTLM Authorization framing (negotiate_hdr.h).
 */
#include "negotiate_hdr.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include <nettle/base64.h>

#include "basic.h"

static const char ntlmssp_sig[8] = { 'N', 'T', 'L', 'M', 'S', 'S', 'P', '\0' };

const char *nego_scheme_name(enum nego_scheme s)
{
	return s == NEGO_SCHEME_NTLM ? "NTLM" : "Negotiate";
}

/* Length of a DER length at P (of N bytes) into *VAL; bytes used, 0 when bad. */
static size_t der_length(const uint8_t *p, size_t n, size_t *val)
{
	size_t k;

	if (n == 0)
		return 0;
	if (p[0] < 0x80) {
		*val = p[0];
		return 1;
	}
	k = p[0] & 0x7f;
	if (k == 0 || k > 3 || k + 1 > n)   /* indefinite, or over 16 MiB: not a token */
		return 0;
	*val = 0;
	for (size_t i = 1; i <= k; i++)
		*val = (*val << 8) | p[i];
	return k + 1;
}

/* What is wrong with TOKEN under scheme S, or NULL. */
static const char *token_shape(enum nego_scheme s, const uint8_t *t, size_t n)
{
	size_t used, inner;

	if (n >= 12 && memcmp(t, ntlmssp_sig, sizeof ntlmssp_sig) == 0) {
		uint32_t type = (uint32_t)t[8] | (uint32_t)t[9] << 8 | (uint32_t)t[10] << 16 |
		                (uint32_t)t[11] << 24;

		if (type != 1 && type != 3)
			return "NTLMSSP token is not a NEGOTIATE or AUTHENTICATE message";
		return NULL;
	}
	if (s == NEGO_SCHEME_NTLM)
		return "NTLM token is not an NTLMSSP message";
	if (n < 2 || (t[0] != 0x60 && t[0] != 0xa1))
		return "Negotiate token is neither NTLMSSP nor SPNEGO";
	used = der_length(t + 1, n - 1, &inner);
	if (used == 0)
		return "SPNEGO token has a bad DER length";
	if (1 + used + inner != n)
		return "SPNEGO token's DER length does not match its size (truncated or padded)";
	return NULL;
}

enum nego_hdr_status nego_hdr_parse(const char *value, size_t len, nego_hdr *out,
                                    rdms_error *err)
{
	size_t start, end, where = 0;
	const char *why;

	out->scheme = NEGO_SCHEME_NONE;
	out->len = 0;
	out->b64[0] = '\0';
	if (len >= 10 && strncasecmp(value, "Negotiate", 9) == 0 &&
	    (value[9] == ' ' || value[9] == '\t'))
		out->scheme = NEGO_SCHEME_NEGOTIATE, start = 10;
	else if (len >= 5 && strncasecmp(value, "NTLM", 4) == 0 &&
	         (value[4] == ' ' || value[4] == '\t'))
		out->scheme = NEGO_SCHEME_NTLM, start = 5;
	else {
		rdms_fail(err, WBEM_E_INVALID_PARAMETER, "not a Negotiate or NTLM token");
		return NEGO_HDR_OTHER_SCHEME;
	}
	while (start < len && (value[start] == ' ' || value[start] == '\t'))
		start++;
	end = len;
	while (end > start && (value[end - 1] == ' ' || value[end - 1] == '\t'))
		end--;
	if (end == start) {
		rdms_fail(err, WBEM_E_INVALID_PARAMETER, "%s header without a token",
		          nego_scheme_name(out->scheme));
		return NEGO_HDR_MALFORMED;
	}
	if (end - start > NEGO_HDR_B64_MAX) {
		rdms_fail(err, WBEM_E_INVALID_PARAMETER, "%s token of %zu base64 bytes is over %d",
		          nego_scheme_name(out->scheme), end - start, NEGO_HDR_B64_MAX);
		return NEGO_HDR_MALFORMED;
	}
	why = basic_b64_decode(value + start, end - start, out->token, &out->len, &where);
	if (why == NULL)
		why = token_shape(out->scheme, out->token, out->len);
	if (why != NULL) {
		rdms_fail(err, WBEM_E_INVALID_PARAMETER, "%s token: %s (offset %zu)",
		          nego_scheme_name(out->scheme), why, where);
		out->len = 0;
		return NEGO_HDR_MALFORMED;
	}
	memcpy(out->b64, value + start, end - start);
	out->b64[end - start] = '\0';
	return NEGO_HDR_OK;
}

bool nego_b64(const void *token, size_t len, char *out, size_t size)
{
	if (BASE64_ENCODE_RAW_LENGTH(len) + 1 > size)
		return false;
	base64_encode_raw(out, len, token);
	out[BASE64_ENCODE_RAW_LENGTH(len)] = '\0';
	return true;
}

bool nego_hdr_challenge(enum nego_scheme s, const void *token, size_t len, char *out,
                        size_t size)
{
	const char *name = nego_scheme_name(s);
	size_t n = strlen(name);

	if (n + 2 > size)
		return false;
	memcpy(out, name, n);
	out[n] = '\0';
	if (len == 0)
		return true;
	out[n++] = ' ';
	return nego_b64(token, len, out + n, size - n);
}
