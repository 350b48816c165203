/*
 * body_charset.c -- UTF-16 request bodies to UTF-8 (body_charset.h).
 */
#include "body_charset.h"

#include <errno.h>
#include <iconv.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* The iconv name for BODY of charset CS (UTF-16 family), by its BOM or its NULs. */
static const char *utf16_of(const char *cs, const unsigned char *b, size_t n)
{
	if (n >= 2 && b[0] == 0xFF && b[1] == 0xFE)
		return "UTF-16";   /* iconv reads the BOM and drops it */
	if (n >= 2 && b[0] == 0xFE && b[1] == 0xFF)
		return "UTF-16";
	if (strcasecmp(cs, "UTF-16LE") == 0 || strcasecmp(cs, "UTF-16BE") == 0)
		return strcasecmp(cs, "UTF-16LE") == 0 ? "UTF-16LE" : "UTF-16BE";
	/* no BOM: '<' as 3C 00 is little-endian (Windows), 00 3C big */
	return n >= 2 && b[0] == 0 ? "UTF-16BE" : "UTF-16LE";
}

/* Drops a leading XML declaration from B: it would name UTF-16, which B no longer is. */
static void drop_declaration(strbuf *b)
{
	const char *end;
	size_t n;

	if (b->len < 5 || memcmp(b->data, "<?xml", 5) != 0)
		return;
	end = memmem(b->data, b->len < 256 ? b->len : 256, "?>", 2);
	if (end == NULL)
		return;   /* left to the XML reader, which says what is wrong */
	n = (size_t)(end + 2 - b->data);
	memmove(b->data, b->data + n, b->len - n + 1);
	b->len -= n;
}

enum body_charset body_to_utf8(const char *content_type, strbuf *body, char *type,
                               size_t size, char *why, size_t why_size)
{
	const unsigned char *u = (const unsigned char *)body->data;
	char cs[32], media[96];
	strbuf out = { 0 };
	iconv_t cd;
	char *in, *o;
	size_t in_left, out_left, media_len;
	bool bom16 = body->len >= 2 && ((u[0] == 0xFF && u[1] == 0xFE) || (u[0] == 0xFE && u[1] == 0xFF));

	if (content_type == NULL ||
	    str_media_param(content_type, true, "charset", cs, sizeof cs) != STR_PARAM_FOUND)
		cs[0] = '\0';
	if (strncasecmp(cs, "UTF-16", 6) != 0 && !(cs[0] == '\0' && bom16))
		return BODY_UTF8;
	if (body->len % 2 != 0) {
		snprintf(why, why_size, "a UTF-16 body of an odd number of bytes (%zu)", body->len);
		return BODY_REFUSED;
	}
	cd = iconv_open("UTF-8", utf16_of(cs, u, body->len));
	if (cd == (iconv_t)-1) {
		snprintf(why, why_size, "UTF-16 cannot be read here: %s", strerror(errno));
		return BODY_REFUSED;
	}
	/* UTF-8 of UTF-16 text: at most 3 bytes for every 2 */
	if (!strbuf_reserve_exact(&out, body->len / 2 * 3 + 1)) {
		iconv_close(cd);
		snprintf(why, why_size, "out of memory");
		return BODY_REFUSED;
	}
	in = body->data;
	in_left = body->len;
	o = out.data;
	out_left = out.cap - 1;
	if (iconv(cd, &in, &in_left, &o, &out_left) == (size_t)-1) {
		snprintf(why, why_size, "the body is not valid UTF-16 (at byte %zu)",
		         body->len - in_left);
		iconv_close(cd);
		strbuf_free(&out);
		return BODY_REFUSED;
	}
	iconv_close(cd);
	out.len = (size_t)(o - out.data);
	out.data[out.len] = '\0';
	if (out.len >= 3 && memcmp(out.data, "\xEF\xBB\xBF", 3) == 0) {   /* a BOM iconv kept */
		memmove(out.data, out.data + 3, out.len - 2);
		out.len -= 3;
	}
	drop_declaration(&out);
	explicit_bzero(body->data, body->len);
	strbuf_free(body);
	*body = out;
	media_len = content_type != NULL ? strcspn(content_type, "; \t") : 0;
	snprintf(media, sizeof media, "%.*s", (int)(media_len < sizeof media ? media_len : 0),
	         content_type != NULL ? content_type : "");
	snprintf(type, size, "%s;charset=UTF-8", media);
	return BODY_CONVERTED;
}
