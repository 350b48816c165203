/*
 * body_charset.h -- a request body in UTF-16 turned into UTF-8, before the
 * protocol front ends see it.
 *
 * The XML reader takes UTF-8 only (xml_read.h), as every Linux client
 * sends.  Windows' WinRM client sends UTF-16 where the charset says so --
 * in an encrypted message's OriginalContent above all (MS-WSMV's own
 * example is "type=application/soap+xml;charset=UTF-16") -- so the body is
 * converted here (iconv), once, and the front end gets UTF-8 and a
 * Content-Type that says so.  The reply is UTF-8, which WinRM clients read.
 */
#ifndef RDMS_TRANSPORT_BODY_CHARSET_H
#define RDMS_TRANSPORT_BODY_CHARSET_H

#include <stdbool.h>
#include <stddef.h>

#include "../common/strutil.h"

enum body_charset {
	BODY_UTF8 = 0,      /* nothing to do */
	BODY_CONVERTED,     /* BODY is UTF-8 now, TYPE its Content-Type */
	BODY_REFUSED,       /* WHY says what is wrong (a 400) */
};

/*
 * BODY sent with CONTENT_TYPE (NULL: none): when its charset is UTF-16
 * (UTF-16LE, UTF-16BE; a byte order mark decides, else the NUL bytes of
 * '<'), converted in place to UTF-8 without a byte order mark or an XML
 * declaration that would still name UTF-16, and TYPE (SIZE bytes) set to
 * CONTENT_TYPE's media type with charset=UTF-8.
 */
enum body_charset body_to_utf8(const char *content_type, strbuf *body, char *type,
                               size_t size, char *why, size_t why_size);

#endif
