/*
 * xml_escape.c -- see xml_escape.h.
 */
#include "xml_escape.h"

#include <string.h>

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
			o = flags & XML_ESC_QUOT ? put(o, "&quot;", 6) : put(o, "\"", 1);
			break;
		case '\'':
			o = flags & XML_ESC_APOS ? put(o, "&apos;", 6) : put(o, "'", 1);
			break;
		case '\t':
			o = flags & XML_ESC_WS ? put(o, "&#9;", 4) : put(o, "\t", 1);
			break;
		case '\n':
			o = flags & XML_ESC_WS ? put(o, "&#10;", 5) : put(o, "\n", 1);
			break;
		case '\r':
			o = flags & XML_ESC_WS ? put(o, "&#13;", 5) : put(o, "\r", 1);
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
