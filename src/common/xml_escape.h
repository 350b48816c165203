/*
 * xml_escape.h -- UTF-8 text as XML character data or an attribute value:
 * the one escaper of the WS-Man and CIM-XML writers and of the client's
 * requests.  Each protocol keeps its own output (what its clients were
 * seen to accept), chosen with the flags below; what the escaper cannot
 * get wrong -- & < >, and only what XML 1.0 can carry -- is the same for
 * all.
 */
#ifndef RDMS_XML_ESCAPE_H
#define RDMS_XML_ESCAPE_H

#include "strutil.h"

/* The most bytes one input byte becomes ("&quot;", "&apos;"). */
#define XML_ESC_MAX 6

enum xml_escape_flags {
	XML_ESC_QUOT = 1u << 0,   /* " as &quot; (attribute values); otherwise as it is */
	XML_ESC_APOS = 1u << 1,   /* ' as &apos;; otherwise as it is */
	/* TAB, LF and CR as &#9; &#10; &#13;, which attribute normalisation keeps */
	XML_ESC_WS   = 1u << 2,
	/* a byte XML 1.0 cannot carry (a C0 control, broken UTF-8, U+FFFE/F) as
	 * U+FFFD; otherwise as '?' */
	XML_ESC_FFFD = 1u << 3,
};

/*
 * S (not NULL), escaped as FLAGS say, written at O, which has room for
 * XML_ESC_MAX * strlen(S) bytes; returns the end (no NUL is written).
 */
char *xml_escape_to(char *o, const char *s, unsigned flags);
/* S (not NULL), escaped as FLAGS say, appended to B (B fails when out of memory). */
void xml_escape_append(strbuf *b, const char *s, unsigned flags);

#endif
