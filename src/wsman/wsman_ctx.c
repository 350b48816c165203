/*
 * wsman_ctx.c -- stateless enumeration contexts (wsman_ctx.h): the
 * payload's encoding, base64url, and the checks of an opened one.
 *
 * base64url is written here because the core library has no base64 and
 * because strictness matters: only the canonical text of each byte string
 * decodes (unused low bits of the last digit must be 0), so changing any
 * character of a context changes its bytes or is refused, and the MAC
 * decides the rest.
 */
#include "wsman_ctx.h"

#include <stdlib.h>
#include <string.h>

#define VERSION 1
enum { F_STARTED = 1, F_SELECTOR = 2, F_WQL = 4 };
#define FIXED (1 + 1 + 1 + 8 + 4)          /* version, mode, flags, expiry, key number */
#define NSTRINGS 7
#define STRING_MAX 0xffff

static const char digits[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static size_t b64_len(size_t n)
{
	return n / 3 * 4 + (n % 3 == 0 ? 0 : n % 3 + 1);
}

static void b64_encode(const uint8_t *in, size_t n, char *out)
{
	size_t i = 0;

	for (; i + 3 <= n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];

		*out++ = digits[v >> 18];
		*out++ = digits[(v >> 12) & 63];
		*out++ = digits[(v >> 6) & 63];
		*out++ = digits[v & 63];
	}
	if (n - i == 1) {
		*out++ = digits[in[i] >> 2];
		*out++ = digits[(in[i] & 3) << 4];
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)in[i] << 8 | in[i + 1];

		*out++ = digits[v >> 10];
		*out++ = digits[(v >> 4) & 63];
		*out++ = digits[(v & 15) << 2];
	}
	*out = '\0';
}

static int b64_digit(char c)
{
	const char *p = c != '\0' ? strchr(digits, c) : NULL;

	return p != NULL ? (int)(p - digits) : -1;
}

/* Decodes the canonical base64url text IN (N chars) into OUT; its length, or -1. */
static long b64_decode(const char *in, size_t n, uint8_t *out)
{
	size_t o = 0, i = 0;
	uint32_t acc = 0;
	int bits = 0;

	if (n % 4 == 1)
		return -1;
	for (; i < n; i++) {
		int d = b64_digit(in[i]);

		if (d < 0)
			return -1;
		acc = acc << 6 | (uint32_t)d;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (uint8_t)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	return acc == 0 ? (long)o : -1;     /* stray low bits: not canonical */
}

/* ---- the payload --------------------------------------------------------- */

static const char *const *strings_of(const wsman_ctx_state *s, const char *v[NSTRINGS])
{
	v[0] = s->started ? s->after.text : "";
	v[1] = s->owner;
	v[2] = s->ns;
	v[3] = s->class_name;
	v[4] = s->uri;
	v[5] = s->ns_selector != NULL ? s->ns_selector : "";
	v[6] = s->wql != NULL ? s->wql : "";
	return v;
}

/* Payload bytes of S with a key text of KEY_LEN bytes; 0 when a string is too long. */
static size_t payload_len(const wsman_ctx_state *s, size_t key_len)
{
	const char *v[NSTRINGS];
	size_t n = FIXED + 2 * NSTRINGS + key_len;

	strings_of(s, v);
	for (int i = 1; i < NSTRINGS; i++) {
		size_t l = v[i] != NULL ? strlen(v[i]) : 0;

		if (v[i] == NULL || l > STRING_MAX)
			return 0;
		n += l;
	}
	return n;
}

static size_t text_len(size_t payload)
{
	return sizeof WSMAN_CTX_PREFIX - 1 + b64_len(payload + WSMAN_CTX_MAC);
}

bool wsman_ctx_is_sealed(const char *text)
{
	return text != NULL && strncmp(text, WSMAN_CTX_PREFIX, sizeof WSMAN_CTX_PREFIX - 1) == 0;
}

size_t wsman_ctx_sealed_max(const wsman_ctx_state *s)
{
	size_t n = payload_len(s, sizeof s->after.text - 1);

	return n != 0 ? text_len(n) : SIZE_MAX;
}

static uint8_t *put_be(uint8_t *p, uint64_t v, int bytes)
{
	for (int i = bytes - 1; i >= 0; i--)
		*p++ = (uint8_t)(v >> (8 * i));
	return p;
}

static uint64_t get_be(const uint8_t *p, int bytes)
{
	uint64_t v = 0;

	for (int i = 0; i < bytes; i++)
		v = v << 8 | p[i];
	return v;
}

char *wsman_ctx_seal(const wsman_ctx_state *s, wsman_ctx_mac_fn mac, void *mac_ctx)
{
	const char *v[NSTRINGS];
	size_t key_len = s->started ? strnlen(s->after.text, sizeof s->after.text) : 0;
	size_t n = key_len < sizeof s->after.text ? payload_len(s, key_len) : 0;
	uint8_t *raw, *p;
	char *text;

	if (n == 0 || text_len(n) > WSMAN_CTX_MAX_LEN)
		return NULL;
	raw = malloc(n + WSMAN_CTX_MAC);
	text = malloc(text_len(n) + 1);
	if (raw == NULL || text == NULL) {
		free(raw);
		free(text);
		return NULL;
	}
	strings_of(s, v);
	p = raw;
	*p++ = VERSION;
	*p++ = s->mode;
	*p++ = (uint8_t)((s->started ? F_STARTED : 0) | (s->ns_selector != NULL ? F_SELECTOR : 0) |
	                 (s->wql != NULL ? F_WQL : 0));
	p = put_be(p, (uint64_t)s->expires_ms, 8);
	p = put_be(p, s->started ? s->after.num : 0, 4);
	for (int i = 0; i < NSTRINGS; i++) {
		size_t l = strlen(v[i]);

		p = put_be(p, l, 2);
		memcpy(p, v[i], l);
		p += l;
	}
	mac(mac_ctx, raw, n, raw + n);
	memcpy(text, WSMAN_CTX_PREFIX, sizeof WSMAN_CTX_PREFIX - 1);
	b64_encode(raw, n + WSMAN_CTX_MAC, text + sizeof WSMAN_CTX_PREFIX - 1);
	free(raw);
	return text;
}

/* Constant time: how much of a MAC matched tells nothing. */
static bool same_mac(const uint8_t *a, const uint8_t *b)
{
	uint8_t d = 0;

	for (int i = 0; i < WSMAN_CTX_MAC; i++)
		d |= a[i] ^ b[i];
	return d == 0;
}

/*
 * The strings of the verified payload RAW (N bytes) into S, each copied
 * terminated into STRS; false when the layout is not exactly NSTRINGS
 * strings without NUL bytes.
 */
static bool read_strings(const uint8_t *raw, size_t n, char *strs, wsman_ctx_state *s,
                         uint8_t flags)
{
	const char *v[NSTRINGS];
	size_t at = FIXED;

	for (int i = 0; i < NSTRINGS; i++) {
		size_t l;

		if (n - at < 2)
			return false;
		l = (size_t)get_be(raw + at, 2);
		at += 2;
		if (n - at < l || memchr(raw + at, '\0', l) != NULL)
			return false;
		memcpy(strs, raw + at, l);
		strs[l] = '\0';
		v[i] = strs;
		strs += l + 1;
		at += l;
	}
	if (at != n || strlen(v[0]) >= sizeof s->after.text)
		return false;
	memcpy(s->after.text, v[0], strlen(v[0]) + 1);
	s->owner = v[1];
	s->ns = v[2];
	s->class_name = v[3];
	s->uri = v[4];
	s->ns_selector = flags & F_SELECTOR ? v[5] : NULL;
	s->wql = flags & F_WQL ? v[6] : NULL;
	return true;
}

bool wsman_ctx_open(const char *text, wsman_ctx_mac_fn mac, void *mac_ctx, const char *owner,
                    int64_t now_ms, wsman_ctx_state *s, void **buf, const char **why)
{
	size_t len = text != NULL ? strnlen(text, WSMAN_CTX_MAX_LEN + 1) : 0;
	uint8_t *raw, want[WSMAN_CTX_MAC];
	char *strs;
	long n;
	bool ok = false;

	*buf = NULL;
	memset(s, 0, sizeof *s);
	*why = "not a context this service made";
	if (!wsman_ctx_is_sealed(text) || len > WSMAN_CTX_MAX_LEN)
		return false;
	text += sizeof WSMAN_CTX_PREFIX - 1;
	len -= sizeof WSMAN_CTX_PREFIX - 1;
	/* one allocation: the bytes, then the strings (each at most as long, plus NULs) */
	raw = malloc(len + len + NSTRINGS + 1);
	if (raw == NULL) {
		*why = "out of memory";
		return false;
	}
	strs = (char *)raw + len;
	*why = "tampered with or truncated (its signature does not verify)";
	n = b64_decode(text, len, raw);
	if (n < FIXED + 2 * NSTRINGS + WSMAN_CTX_MAC)
		goto out;
	n -= WSMAN_CTX_MAC;
	mac(mac_ctx, raw, (size_t)n, want);
	if (!same_mac(want, raw + n))
		goto out;
	*why = "of a format this service does not know";
	if (raw[0] != VERSION || !read_strings(raw, (size_t)n, strs, s, raw[2]))
		goto out;
	s->mode = raw[1];
	s->started = (raw[2] & F_STARTED) != 0;
	s->expires_ms = (int64_t)get_be(raw + 3, 8);
	s->after.num = (uint32_t)get_be(raw + 11, 4);
	if (strcmp(s->owner, owner) != 0) {
		*why = "issued to another caller";
		goto out;
	}
	if (s->expires_ms <= now_ms) {
		*why = "expired";
		goto out;
	}
	ok = true;
out:
	if (ok) {
		*buf = raw;
		*why = NULL;
	} else {
		free(raw);
		memset(s, 0, sizeof *s);
	}
	return ok;
}
