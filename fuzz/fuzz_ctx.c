/*
 * fuzz_ctx.c -- stateless enumeration contexts (src/wsman/wsman_ctx.c): the
 * EnumerationContext a client hands back to a fleet broker with each Pull,
 * read before anything else of the Pull is done.
 *
 * The first byte says what the rest is:
 *   0  the context text as a client sends it;
 *   1  a payload, sealed here with this harness's MAC: what someone who
 *      holds the signing key could send, so the payload reader itself
 *      (lengths, strings, flags) is fuzzed behind the signature;
 *   2  a state's strings (NUL-separated: key text, owner, namespace, class,
 *      ResourceURI, selector, WQL) and numbers, sealed and opened again.
 * Contract: a context opens only for its owner before its expiry, with
 * every string terminated and a key text that fits; a refused one has a
 * reason and leaves nothing allocated; what was sealed opens as it was.
 */
#include "fuzz.h"

#include "wsman/wsman_ctx.h"

#define OWNER "alice"
#define NOW_MS 1000000

/* A stand-in for HMAC-SHA256 (the harness must be able to sign too): 32 bytes of FNV-1a. */
static void toy_mac(void *ctx, const void *data, size_t len, uint8_t out[WSMAN_CTX_MAC])
{
	const uint8_t *p = data;

	(void)ctx;
	for (int i = 0; i < WSMAN_CTX_MAC; i++) {
		uint32_t h = 2166136261u ^ (uint32_t)i;

		for (size_t k = 0; k < len; k++)
			h = (h ^ p[k]) * 16777619u;
		out[i] = (uint8_t)(h >> 24);
	}
}

/* base64url without padding, as wsman_ctx.c writes it, of IN (N bytes) into a new string. */
static char *b64url(const uint8_t *in, size_t n)
{
	static const char d[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	char *out = malloc(n / 3 * 4 + 5), *o = out;
	size_t i = 0;

	if (out == NULL)
		return NULL;
	for (; i + 3 <= n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];

		*o++ = d[v >> 18];
		*o++ = d[(v >> 12) & 63];
		*o++ = d[(v >> 6) & 63];
		*o++ = d[v & 63];
	}
	if (n - i == 1) {
		*o++ = d[in[i] >> 2];
		*o++ = d[(in[i] & 3) << 4];
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)in[i] << 8 | in[i + 1];

		*o++ = d[v >> 10];
		*o++ = d[(v >> 4) & 63];
		*o++ = d[(v & 15) << 2];
	}
	*o = '\0';
	return out;
}

/* TEXT opened: held together when accepted, a reason and nothing kept when refused. */
static void open_checked(const char *text)
{
	wsman_ctx_state s;
	void *buf = (void *)1;
	const char *why = NULL;

	if (wsman_ctx_open(text, toy_mac, NULL, OWNER, NOW_MS, &s, &buf, &why)) {
		FUZZ_CHECK(buf != NULL && why == NULL);
		FUZZ_CHECK(strcmp(s.owner, OWNER) == 0 && s.expires_ms > NOW_MS);
		FUZZ_CHECK(s.ns != NULL && s.class_name != NULL && s.uri != NULL);
		FUZZ_CHECK(memchr(s.after.text, '\0', sizeof s.after.text) != NULL);
		FUZZ_CHECK(strlen(s.ns) + strlen(s.class_name) + strlen(s.uri) <= strlen(text));
		if (s.wql != NULL)
			FUZZ_CHECK(strlen(s.wql) <= strlen(text));
		free(buf);
	} else {
		FUZZ_CHECK(buf == NULL && why != NULL && why[0] != '\0');
	}
}

/* Mode 1: DATA as a payload, signed and encoded as wsman_ctx_seal would. */
static void open_payload(const uint8_t *data, size_t size)
{
	uint8_t *raw = malloc(size + WSMAN_CTX_MAC);
	char *b64, *text;

	if (raw == NULL)
		return;
	if (size > 0)
		memcpy(raw, data, size);
	toy_mac(NULL, raw, size, raw + size);
	b64 = b64url(raw, size + WSMAN_CTX_MAC);
	text = b64 != NULL ? malloc(sizeof WSMAN_CTX_PREFIX + strlen(b64)) : NULL;
	if (text != NULL) {
		memcpy(text, WSMAN_CTX_PREFIX, sizeof WSMAN_CTX_PREFIX - 1);
		strcpy(text + sizeof WSMAN_CTX_PREFIX - 1, b64);
		open_checked(text);
	}
	free(text);
	free(b64);
	free(raw);
}

/* The next NUL-terminated string of [*P, END), or NULL when none is left. */
static const char *next_str(const char **p, const char *end)
{
	const char *s = *p;
	const char *nul = s < end ? memchr(s, '\0', (size_t)(end - s)) : NULL;

	if (nul == NULL)
		return NULL;
	*p = nul + 1;
	return s;
}

static int same(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* Mode 2: a state from DATA, sealed and opened again. */
static void round_trip(const uint8_t *data, size_t size)
{
	char *copy = fuzz_cstr(data, size);
	const char *p, *end, *key, *sel, *wql;
	wsman_ctx_state in = { .expires_ms = NOW_MS + 60000, .owner = OWNER }, out;
	void *buf = NULL;
	const char *why = NULL;
	char *text;

	if (copy == NULL || size < 2)
		goto done;
	in.mode = (uint8_t)data[0];
	in.started = (data[1] & 1) != 0;
	in.after.num = data[1];
	p = copy + 2;
	end = copy + size;
	key = next_str(&p, end);
	in.ns = next_str(&p, end);
	in.class_name = next_str(&p, end);
	in.uri = next_str(&p, end);
	sel = next_str(&p, end);
	wql = next_str(&p, end);
	if (key == NULL || in.uri == NULL || strlen(key) >= sizeof in.after.text)
		goto done;
	strcpy(in.after.text, key);
	in.ns_selector = sel != NULL && *sel != '\0' ? sel : NULL;
	in.wql = wql != NULL && *wql != '\0' ? wql : NULL;
	text = wsman_ctx_seal(&in, toy_mac, NULL);
	if (text == NULL)     /* too long for a context: refused at the start, not cut */
		goto done;
	FUZZ_CHECK(strlen(text) <= WSMAN_CTX_MAX_LEN && strlen(text) <= wsman_ctx_sealed_max(&in));
	FUZZ_CHECK(wsman_ctx_open(text, toy_mac, NULL, OWNER, NOW_MS, &out, &buf, &why));
	FUZZ_CHECK(out.mode == in.mode && out.started == in.started &&
	           out.expires_ms == in.expires_ms);
	FUZZ_CHECK(!in.started || (out.after.num == in.after.num &&
	                           strcmp(out.after.text, in.after.text) == 0));
	FUZZ_CHECK(same(out.ns, in.ns) && same(out.class_name, in.class_name) &&
	           same(out.uri, in.uri) && same(out.ns_selector, in.ns_selector) &&
	           same(out.wql, in.wql));
	free(buf);
	/* another caller's, or later: refused */
	FUZZ_CHECK(!wsman_ctx_open(text, toy_mac, NULL, "bob", NOW_MS, &out, &buf, &why));
	FUZZ_CHECK(buf == NULL && strcmp(why, "issued to another caller") == 0);
	FUZZ_CHECK(!wsman_ctx_open(text, toy_mac, NULL, OWNER, NOW_MS + 60000, &out, &buf, &why));
	FUZZ_CHECK(buf == NULL && strcmp(why, "expired") == 0);
	free(text);
done:
	free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text;

	if (size == 0)
		return 0;
	switch (data[0] % 3) {
	case 0:
		if ((text = fuzz_cstr(data + 1, size - 1)) != NULL)
			open_checked(text);
		free(text);
		break;
	case 1:
		open_payload(data + 1, size - 1);
		break;
	default:
		round_trip(data + 1, size - 1);
		break;
	}
	return 0;
}
