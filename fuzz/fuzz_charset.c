/*
 * fuzz_charset.c -- a request body in UTF-16 turned into UTF-8
 * (src/transport/body_charset.c), which runs before the caller is known:
 * the body is read, and converted, before its credentials are checked.
 *
 * The input is a Content-Type (its length in the first byte) and a body.
 * Checked: a body left as it is (UTF-8) is untouched; a refused one is
 * untouched and the reason is given; a converted one is valid UTF-8 with
 * no byte order mark (unless the sender's text holds U+FEFF), and the
 * Content-Type handed on says charset=UTF-8.
 */
#include "fuzz.h"

#include "common/utf8.h"
#include "transport/body_charset.h"

/* The UTF-16 body B (N bytes) holds U+FEFF (either byte order) past its first code unit. */
static int more_feff(const uint8_t *b, size_t n)
{
	for (size_t i = 2; i + 1 < n; i += 2)
		if ((b[i] == 0xFF && b[i + 1] == 0xFE) || (b[i] == 0xFE && b[i + 1] == 0xFF))
			return 1;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t n = size > 0 ? data[0] : 0;
	char *content_type, type[160], why[256] = "";
	strbuf body = { 0 };
	enum body_charset st;

	if (size == 0 || n > size - 1)
		return 0;
	content_type = fuzz_cstr(data + 1, n);
	strbuf_append(&body, (const char *)data + 1 + n, size - 1 - n);
	if (content_type == NULL || body.failed) {
		free(content_type);
		strbuf_free(&body);
		return 0;
	}
	st = body_to_utf8(n > 0 ? content_type : NULL, &body, type, sizeof type, why, sizeof why);
	if (st == BODY_CONVERTED) {
		const unsigned char *p = (const unsigned char *)body.data;
		const uint8_t *in = data + 1 + data[0];
		size_t len = body.len, k, in_len = size - 1 - (size_t)data[0];

		/* the byte order mark is dropped; a U+FEFF further on is the sender's text (it
		 * may end up first once the XML declaration is dropped), left to the XML reader */
		FUZZ_CHECK(len < 3 || memcmp(p, "\xEF\xBB\xBF", 3) != 0 || more_feff(in, in_len));
		for (size_t i = 0; i < len; i += k) {
			k = p[i] == 0 ? 1 : utf8_seq_len(p + i);    /* U+0000 is one byte */
			FUZZ_CHECK(k > 0 && i + k <= len);
		}
		FUZZ_CHECK(body.data[len] == '\0');
		n = strlen(type);
		FUZZ_CHECK(n >= 14 && strcmp(type + n - 14, ";charset=UTF-8") == 0);
	} else {
		FUZZ_CHECK(st == BODY_UTF8 || st == BODY_REFUSED);
		FUZZ_CHECK(body.len == size - 1 - (size_t)data[0] &&
		           memcmp(body.data, data + 1 + data[0], body.len) == 0);
		FUZZ_CHECK(st == BODY_UTF8 || why[0] != '\0');
	}
	free(content_type);
	strbuf_free(&body);
	return 0;
}
