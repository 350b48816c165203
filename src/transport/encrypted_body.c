/*
 * encrypted_body.c -- WinRM's multipart/encrypted framing (encrypted_body.h).
 */
#include "encrypted_body.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define BOUNDARY_MAX 70    /* RFC 2046 */
#define LINE_MAX_LEN 1024  /* a part header line */

static bool fail(char *why, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static bool fail(char *why, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, size, fmt, ap);
	va_end(ap);
	return false;
}

/* ---- the Content-Type ---------------------------------------------------- */

bool encbody_is_encrypted(const char *content_type)
{
	static const char *const types[] = { "multipart/encrypted", NULL };

	return str_media_type_in(content_type, types);
}

/* ---- the body ------------------------------------------------------------ */

struct cursor {
	const uint8_t *p;
	const uint8_t *end;
};

static size_t left(const struct cursor *c)
{
	return (size_t)(c->end - c->p);
}

static bool eat(struct cursor *c, const char *s)
{
	size_t n = strlen(s);

	if (left(c) < n || memcmp(c->p, s, n) != 0)
		return false;
	c->p += n;
	return true;
}

/* "--BOUNDARY" (MS-WSMV's "-- BOUNDARY" too), then "--" when CLOSING, then CRLF. */
static bool boundary_line(struct cursor *c, const char *boundary, bool closing, bool crlf)
{
	struct cursor at = *c;

	if (!eat(&at, "--"))
		return false;
	(void)eat(&at, " ");
	if (!eat(&at, boundary) || (closing && !eat(&at, "--")))
		return false;
	if (crlf && !eat(&at, "\r\n"))
		return false;
	*c = at;
	return true;
}

/* A part header line "\tName: value\r\n": NAME and VALUE (trimmed) copied out. */
static bool header_line(struct cursor *c, char *name, size_t nsize, char *value, size_t vsize,
                        char *why, size_t size)
{
	const uint8_t *eol;
	const char *line, *colon;
	size_t n, len;

	n = left(c) < LINE_MAX_LEN ? left(c) : LINE_MAX_LEN;
	eol = n >= 2 ? memmem(c->p, n, "\r\n", 2) : NULL;
	if (eol == NULL)
		return fail(why, size, "a part header line is unterminated or over %d bytes",
		            LINE_MAX_LEN);
	line = (const char *)c->p;
	len = (size_t)(eol - c->p);
	if (memchr(line, '\0', len) != NULL)
		return fail(why, size, "a part header line holds a NUL byte");
	while (len > 0 && (*line == '\t' || *line == ' ')) {
		line++;
		len--;
	}
	colon = memchr(line, ':', len);
	if (colon == NULL || colon == line || (size_t)(colon - line) >= nsize)
		return fail(why, size, "a part header line is not 'Name: value'");
	memcpy(name, line, (size_t)(colon - line));
	name[colon - line] = '\0';
	colon++;
	n = len - (size_t)(colon - line);
	while (n > 0 && (*colon == ' ' || *colon == '\t')) {
		colon++;
		n--;
	}
	while (n > 0 && (colon[n - 1] == ' ' || colon[n - 1] == '\t'))
		n--;
	if (n >= vsize)
		return fail(why, size, "the part header %s is too long", name);
	memcpy(value, colon, n);
	value[n] = '\0';
	c->p = eol + 2;
	return true;
}

/* OriginalContent's "type=...;charset=...;Length=N" into OUT. */
static bool original_content(const char *v, encbody *out, size_t body_len, char *why,
                             size_t size)
{
	char type[ENCBODY_TYPE_MAX / 2], charset[ENCBODY_TYPE_MAX / 2 - 16], length[24];
	enum str_param t = str_media_param(v, false, "type", type, sizeof type);
	enum str_param cs = str_media_param(v, false, "charset", charset, sizeof charset);
	enum str_param l = str_media_param(v, false, "Length", length, sizeof length);
	unsigned long long n = 0;

	if (t != STR_PARAM_FOUND || cs == STR_PARAM_BAD || l != STR_PARAM_FOUND)
		return fail(why, size, "OriginalContent '%.80s' does not give type and Length", v);
	if (length[0] == '\0' || strspn(length, "0123456789") != strlen(length) ||
	    strlen(length) > 19)
		return fail(why, size, "OriginalContent's Length '%s' is no number", length);
	n = strtoull(length, NULL, 10);
	if (n > body_len)
		return fail(why, size, "OriginalContent's Length %llu is more than the body holds", n);
	out->length = (size_t)n;
	if (cs == STR_PARAM_FOUND)
		snprintf(out->type, sizeof out->type, "%s;charset=%s", type, charset);
	else
		snprintf(out->type, sizeof out->type, "%s", type);
	return true;
}

/* The first part: its headers up to the next boundary line. */
static bool first_part(struct cursor *c, const char *boundary, encbody *out, size_t body_len,
                       char *why, size_t size)
{
	char name[64], value[256];
	bool protocol = false, original = false;

	while (!boundary_line(c, boundary, false, true)) {
		if (!header_line(c, name, sizeof name, value, sizeof value, why, size))
			return false;
		if (strcasecmp(name, "Content-Type") == 0) {
			if (strcasecmp(value, ENCBODY_PROTOCOL) != 0)
				return fail(why, size, "the first part is '%.80s', not %s", value,
				            ENCBODY_PROTOCOL);
			protocol = true;
		} else if (strcasecmp(name, "OriginalContent") == 0) {
			if (!original_content(value, out, body_len, why, size))
				return false;
			original = true;
		}
	}
	if (!protocol || !original)
		return fail(why, size, "the first part lacks its %s header",
		            protocol ? "OriginalContent" : "Content-Type");
	return true;
}

bool encbody_parse(const char *content_type, const void *body, size_t len, encbody *out,
                   char *why, size_t size)
{
	struct cursor c = { body, (const uint8_t *)body + len };
	char protocol[96], boundary[BOUNDARY_MAX + 1], name[64], value[256];
	uint32_t sig = 0;

	memset(out, 0, sizeof *out);
	if (!encbody_is_encrypted(content_type))
		return fail(why, size, "not multipart/encrypted");
	if (str_media_param(content_type, true, "protocol", protocol, sizeof protocol) != STR_PARAM_FOUND ||
	    strcasecmp(protocol, ENCBODY_PROTOCOL) != 0)
		return fail(why, size, "multipart/encrypted without protocol=\"%s\"", ENCBODY_PROTOCOL);
	if (str_media_param(content_type, true, "boundary", boundary, sizeof boundary) != STR_PARAM_FOUND ||
	    boundary[0] == '\0')
		return fail(why, size, "multipart/encrypted without a boundary of 1 to %d characters",
		            BOUNDARY_MAX);
	if (!boundary_line(&c, boundary, false, true))
		return fail(why, size, "the body does not begin with its boundary");
	if (!first_part(&c, boundary, out, len, why, size))
		return false;
	if (!header_line(&c, name, sizeof name, value, sizeof value, why, size))
		return false;
	if (strcasecmp(name, "Content-Type") != 0 ||
	    strcasecmp(value, "application/octet-stream") != 0)
		return fail(why, size, "the second part is not application/octet-stream");
	if (left(&c) < 4)
		return fail(why, size, "the encrypted part is cut short before its signature length");
	sig = (uint32_t)c.p[0] | (uint32_t)c.p[1] << 8 | (uint32_t)c.p[2] << 16 |
	      (uint32_t)c.p[3] << 24;
	c.p += 4;
	if (sig == 0 || sig > ENCBODY_SIG_MAX)
		return fail(why, size, "the signature length %u is out of range (1 to %d)",
		            (unsigned)sig, ENCBODY_SIG_MAX);
	if (left(&c) < sig + out->length)
		return fail(why, size, "the encrypted part is shorter (%zu bytes) than its signature "
		            "and Length say (%u + %zu)", left(&c), (unsigned)sig, out->length);
	out->wrapped = c.p;
	out->sig_len = sig;
	out->wrapped_len = sig + out->length;
	c.p += out->wrapped_len;
	if (!boundary_line(&c, boundary, true, false))
		return fail(why, size, "no closing boundary right after the %zu bytes Length gives",
		            out->length);
	(void)eat(&c, "\r\n");
	if (left(&c) > 0)
		return fail(why, size, "%zu bytes after the closing boundary", left(&c));
	return true;
}

void encbody_build(strbuf *out, const char *type, size_t plain_len, const void *wrapped,
                   size_t wrapped_len, size_t sig_len)
{
	uint8_t word[4] = { (uint8_t)sig_len, (uint8_t)(sig_len >> 8), (uint8_t)(sig_len >> 16),
	                    (uint8_t)(sig_len >> 24) };

	strbuf_reserve_exact(out, wrapped_len + 256 + strlen(type));
	strbuf_printf(out,
	              "--" ENCBODY_BOUNDARY "\r\n"
	              "\tContent-Type: " ENCBODY_PROTOCOL "\r\n"
	              "\tOriginalContent: type=%s;Length=%zu\r\n"
	              "--" ENCBODY_BOUNDARY "\r\n"
	              "\tContent-Type: application/octet-stream\r\n", type, plain_len);
	strbuf_append(out, (const char *)word, sizeof word);
	strbuf_append(out, wrapped, wrapped_len);
	strbuf_puts(out, "--" ENCBODY_BOUNDARY "--\r\n");
}
