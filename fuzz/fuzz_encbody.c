/*
 * fuzz_encbody.c -- WinRM message encryption's framing
 * (src/transport/encrypted_body.c), read before anything is decrypted.
 *
 * The input is a Content-Type, a newline, then the body.  On success the
 * parts must lie inside the body and add up (signature + Length); on
 * failure the reason must be set.  Every accepted body must build back
 * into one that parses to the same lengths.
 */
#include "fuzz.h"

#include "transport/encrypted_body.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	size_t ct_len = nl != NULL ? (size_t)(nl - data) : size;
	char *ct = fuzz_cstr(data, ct_len);
	/* the body in a buffer of its exact size, so a read past it is caught */
	size_t body_len = nl != NULL ? size - ct_len - 1 : 0;
	uint8_t *body = malloc(body_len > 0 ? body_len : 1);
	char why[200] = "";
	encbody eb;

	if (ct == NULL || body == NULL) {
		free(ct);
		free(body);
		return 0;
	}
	if (body_len > 0)
		memcpy(body, nl + 1, body_len);
	if (encbody_parse(ct, body, body_len, &eb, why, sizeof why)) {
		strbuf again = { 0 };
		encbody eb2;

		FUZZ_CHECK(eb.wrapped >= body && eb.wrapped + eb.wrapped_len <= body + body_len);
		FUZZ_CHECK(eb.wrapped_len == eb.sig_len + eb.length);
		FUZZ_CHECK(eb.sig_len >= 1 && eb.sig_len <= ENCBODY_SIG_MAX);
		FUZZ_CHECK(memchr(eb.type, '\0', sizeof eb.type) != NULL);
		encbody_build(&again, eb.type, eb.length, eb.wrapped, eb.wrapped_len, eb.sig_len);
		FUZZ_CHECK(!again.failed);
		FUZZ_CHECK(encbody_parse(ENCBODY_CONTENT_TYPE, again.data, again.len, &eb2, why,
		                         sizeof why));
		FUZZ_CHECK(eb2.length == eb.length && eb2.sig_len == eb.sig_len);
		FUZZ_CHECK(memcmp(eb2.wrapped, eb.wrapped, eb.wrapped_len) == 0);
		strbuf_free(&again);
	} else {
		FUZZ_CHECK(why[0] != '\0');
	}
	free(ct);
	free(body);
	return 0;
}
