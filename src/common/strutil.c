/*
 * strutil.c -- see strutil.h.
 */
#include "strutil.h"
#include "utf8.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>

bool str_copy(char *dst, size_t size, const char *src)
{
	size_t n = strlen(src);

	if (size == 0)
		return false;
	if (n >= size) {
		n = utf8_cut(src, size - 1);     /* not inside a character */
		memcpy(dst, src, n);
		dst[n] = '\0';
		return false;
	}
	memcpy(dst, src, n + 1);
	return true;
}

bool str_vformat(char *dst, size_t size, const char *fmt, va_list ap)
{
	int n;

	if (size == 0)
		return false;
	n = vsnprintf(dst, size, fmt, ap);
	if (n < 0) {
		dst[0] = '\0';
		return false;
	}
	if ((size_t)n >= size) {
		dst[utf8_cut(dst, size - 1)] = '\0';     /* not inside a character */
		return false;
	}
	return true;
}

bool str_format(char *dst, size_t size, const char *fmt, ...)
{
	va_list ap;
	bool whole;

	va_start(ap, fmt);
	whole = str_vformat(dst, size, fmt, ap);
	va_end(ap);
	return whole;
}

char *str_trim(char *s)
{
	char *end;

	while (*s == ' ' || *s == '\t')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
		*--end = '\0';
	return s;
}

char *str_trim_space(char *s)
{
	static const char space[] = " \t\r\n";
	char *end;

	s += strspn(s, space);
	end = s + strlen(s);
	while (end > s && strchr(space, end[-1]) != NULL)
		*--end = '\0';
	return s;
}

void str_blank_controls(char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = ' ';
}

bool str_ieq(const char *a, const char *b)
{
	return strcasecmp(a, b) == 0;
}

bool str_media_type_in(const char *content_type, const char *const *types)
{
	const char *ct = content_type, *rest;
	size_t n;

	if (ct == NULL)
		return false;
	ct += strspn(ct, " \t");
	n = strcspn(ct, "; \t");
	/* nothing but blanks between the type and its parameters */
	rest = ct + n + strspn(ct + n, " \t");
	if (*rest != '\0' && *rest != ';')
		return false;
	for (; *types != NULL; types++)
		if (strlen(*types) == n && strncasecmp(ct, *types, n) == 0)
			return true;
	return false;
}

enum str_param str_media_param(const char *s, bool skip_type, const char *name, char *out,
                               size_t size)
{
	size_t nlen = strlen(name);
	const char *p = skip_type ? s + strcspn(s, ";") : s;
	bool first = !skip_type;   /* no ';' before the first parameter */

	while (*p != '\0') {
		const char *v, *end;
		size_t n;

		if (!first)
			p++;   /* the ';' */
		first = false;
		p += strspn(p, " \t");
		v = strchr(p, '=');
		if (v == NULL)
			return STR_PARAM_BAD;
		n = (size_t)(v - p);
		while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
			n--;
		v++;
		v += strspn(v, " \t");
		if (*v == '"') {
			end = strchr(v + 1, '"');
			if (end == NULL || memchr(v + 1, '\\', (size_t)(end - v - 1)) != NULL)
				return STR_PARAM_BAD;
			v++;
		} else {
			end = v + strcspn(v, "; \t");
		}
		if (n == nlen && strncasecmp(p, name, n) == 0) {
			if ((size_t)(end - v) >= size)
				return STR_PARAM_BAD;
			memcpy(out, v, (size_t)(end - v));
			out[end - v] = '\0';
			return STR_PARAM_FOUND;
		}
		p = end + (*end == '"');
		p += strspn(p, " \t");
		if (*p != ';' && *p != '\0')
			return STR_PARAM_BAD;
	}
	return STR_PARAM_NONE;
}

void str_printable(const char *s, char *out, size_t size)
{
	size_t o = 0;

	if (size == 0)
		return;
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
		if (o + 5 >= size)
			break;
		if (*p >= 0x20 && *p < 0x7f && *p != '\\' && *p != '\'')
			out[o++] = (char)*p;
		else
			o += (size_t)snprintf(out + o, size - o, "\\x%02x", *p);
	}
	out[o] = '\0';
}

char *str_after_key(char *line, const char *key)
{
	size_t n = strlen(key);
	char *v = line;

	while (*v == ' ' || *v == '\t')
		v++;
	if (strncasecmp(v, key, n) != 0)
		return NULL;
	for (v += n; *v == ' ' || *v == '\t'; v++)
		;
	if (*v++ != '=')
		return NULL;
	while (*v == ' ' || *v == '\t')
		v++;
	return v;
}

bool str_take_digits(const char **p, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if ((*p)[i] < '0' || (*p)[i] > '9')
			return false;   /* also stops at the NUL */
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return true;
}

bool str_take_char(const char **p, char c)
{
	if (**p != c)
		return false;
	(*p)++;
	return true;
}

/*
 * A reply of megabytes (an enumeration of 10,000 sessions is 6 MB) lives in
 * memory mmap'ed for it alone, written once and freed.  In 4 KiB pages that
 * is 1,500 page faults per reply, and on a virtual machine whose hypervisor
 * shadows the page tables each costs ~10 us: more than writing the XML.  So
 * a buffer of BIG_BUFFER bytes or more is aligned to and sized in whole huge
 * pages and marked for transparent huge pages, where the kernel has them
 * (madvise mode is Debian's default): three faults instead of 1,500.  It is
 * still one malloc'ed block (aligned_alloc), so free() and whoever the text
 * is handed to stay as they are; the pages go back to the system when it is
 * freed, as before (malloc_tune.h's mmap threshold).
 */
#define HUGE_PAGE  ((size_t)2 << 20)
#define BIG_BUFFER ((size_t)1 << 20)

/* B's buffer resized to CAP bytes (>= its length + 1); false if out of memory. */
static bool strbuf_resize(strbuf *b, size_t cap)
{
	char *p;

	if (cap < BIG_BUFFER) {
		p = realloc(b->data, cap);
	} else {
		cap = (cap + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
		p = aligned_alloc(HUGE_PAGE, cap);
		if (p != NULL) {
			(void)madvise(p, cap, MADV_HUGEPAGE);   /* only a hint: EINVAL without THP */
			if (b->data != NULL)
				memcpy(p, b->data, b->len + 1);
			free(b->data);
		}
	}
	if (p == NULL)
		return false;
	b->data = p;
	b->cap = cap;
	return true;
}

bool strbuf_reserve(strbuf *b, size_t extra)
{
	size_t need;

	if (b->failed)
		return false;
	/* A size that doubling could not reach without overflowing is a failure. */
	if (extra > SIZE_MAX / 4 - b->len) {
		b->failed = true;
		return false;
	}
	need = b->len + extra + 1;
	if (need <= b->cap)
		return true;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap *= 2;
	if (!strbuf_resize(b, cap)) {
		b->failed = true;
		return false;
	}
	return true;
}

bool strbuf_reserve_exact(strbuf *b, size_t extra)
{
	if (b->failed)
		return false;
	if (extra > SIZE_MAX / 4 - b->len) {
		b->failed = true;
		return false;
	}
	if (b->len + extra + 1 <= b->cap)
		return true;
	if (!strbuf_resize(b, b->len + extra + 1)) {
		b->failed = true;
		return false;
	}
	return true;
}

void strbuf_expect(strbuf *b, size_t item, size_t left, size_t limit)
{
	size_t want = left > 0 && item <= (SIZE_MAX / 4) / left ? (item + item / 8) * left : 0;

	if (want > limit)
		want = limit;
	want += 512;    /* what closes the reply */
	if (b->failed || b->data == NULL || b->cap - b->len > want)
		return;
	(void)strbuf_resize(b, b->len + want + 1);
}

void strbuf_append(strbuf *b, const char *s, size_t n)
{
	if (!strbuf_reserve(b, n))
		return;
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void strbuf_puts(strbuf *b, const char *s)
{
	strbuf_append(b, s, strlen(s));
}

void strbuf_put_header_value(strbuf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (size_t i = 0; s[i] != '\0'; i++) {
		unsigned char c = (unsigned char)s[i];
		bool edge = i == 0 || s[i + 1] == '\0';

		if (c > ' ' && c < 0x7F && c != '%') {
			strbuf_append(b, s + i, 1);
		} else if (c == ' ' && !edge) {
			strbuf_append(b, " ", 1);
		} else {
			char e[3] = { '%', hex[c >> 4], hex[c & 15] };

			strbuf_append(b, e, sizeof e);
		}
	}
}

void strbuf_printf(strbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || !strbuf_reserve(b, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

char *strbuf_take(strbuf *b)
{
	char *s;

	if (b->failed) {
		strbuf_free(b);
		return NULL;
	}
	if (b->data == NULL)
		return strdup("");
	s = b->data;
	b->data = NULL;
	b->len = b->cap = 0;
	return s;
}

void strbuf_free(strbuf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
	b->failed = false;
}

char *str_join(char *dst, size_t size, const char *a, const char *b)
{
	size_t na = strlen(a), nb = strlen(b);

	if (size == 0)
		return dst;
	if (na >= size)
		na = size - 1;
	memcpy(dst, a, na);
	if (nb >= size - na)
		nb = size - na - 1;
	memcpy(dst + na, b, nb);
	dst[na + nb] = '\0';
	return dst;
}
