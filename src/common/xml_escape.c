/*
 * xml_escape.c -- see xml_escape.h.
 */
#include "xml_escape.h"

#include <stdint.h>
#include <string.h>

#include "strbuf_raw.h"
#include "utf8.h"

/*
 * Bytes copied as they are: ASCII from 0x20 but & < > " and '.  A table
 * lets the common case (names, numbers, host names, URIs) cost one load
 * per byte: an enumeration of 10,000 sessions escapes ~150,000 strings.
 */
#define P16 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1
static const unsigned char plain_byte[256] = {
	[0x20] = 1, 1, 0, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1,    /* " & ' */
	[0x30] = 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 0, 1,    /* < > */
	[0x40] = P16, P16, P16, P16,
};
#undef P16

static char *put(char *o, const char *text, size_t n)
{
	memcpy(o, text, n);
	return o + n;
}

/* C, one of the characters escaped only when FLAGS ask, as they say. */
static char *optional(char *o, unsigned c, unsigned flags)
{
	static const struct {
		char        c;
		unsigned    flag;
		const char *ref;
	} esc[] = {
		{ '"', XML_ESC_QUOT, "&quot;" }, { '\'', XML_ESC_APOS, "&apos;" },
		{ '\t', XML_ESC_WS, "&#9;" }, { '\n', XML_ESC_WS, "&#10;" }, { '\r', XML_ESC_WS, "&#13;" },
	};

	for (size_t i = 0; i < sizeof esc / sizeof esc[0]; i++)
		if ((unsigned char)esc[i].c == c)
			return flags & esc[i].flag ? put(o, esc[i].ref, strlen(esc[i].ref))
			                           : put(o, &esc[i].c, 1);
	return o;
}

/* What XML 1.0 cannot carry, as FLAGS say. */
static char *unfit(char *o, unsigned flags)
{
	return flags & XML_ESC_FFFD ? put(o, "\xEF\xBF\xBD", 3) : put(o, "?", 1);
}

char *xml_escape_to(char *o, const char *s, unsigned flags)
{
	const unsigned char *p = (const unsigned char *)s;

	for (;;) {
		unsigned c = *p;
		size_t n;

		while (plain_byte[c]) {
			*o++ = (char)c;
			c = *++p;
		}
		switch (c) {
		case '\0':
			return o;
		case '&':
			o = put(o, "&amp;", 5);
			break;
		case '<':
			o = put(o, "&lt;", 4);
			break;
		case '>':
			o = put(o, "&gt;", 4);
			break;
		case '"':
		case '\'':
		case '\t':
		case '\n':
		case '\r':
			o = optional(o, c, flags);
			break;
		default:
			n = c < 0x20 ? 0 : utf8_xml_len(p);
			if (n == 0) {
				o = unfit(o, flags);
				break;
			}
			o = put(o, (const char *)p, n);
			p += n;
			continue;
		}
		p++;
	}
}

void xml_escape_append(strbuf *b, const char *s, unsigned flags)
{
	size_t n = strlen(s);
	char *o;

	if (n > SIZE_MAX / (4 * XML_ESC_MAX)) {
		b->failed = true;
		return;
	}
	if ((o = strbuf_room(b, n * XML_ESC_MAX)) != NULL)
		strbuf_done(b, xml_escape_to(o, s, flags));
}
