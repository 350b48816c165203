/*
 * xml_read.h -- the one way rdms parses untrusted XML (WS-Man envelopes,
 * CIM-XML requests, replies the client reads): libxml2 with no network
 * access, no DTD at all (a <!DOCTYPE> stops the parser before any entity
 * is declared, so XXE and "billion laughs" cannot expand), UTF-8 only, and
 * a bound on element nesting checked without recursion.  Each front end
 * maps the reason for a refusal onto its own fault vocabulary.
 */
#ifndef RDMS_XML_READ_H
#define RDMS_XML_READ_H

#include <stddef.h>

#include <libxml/tree.h>

typedef enum xml_read_error {
	XML_READ_OK = 0,
	XML_READ_EMPTY,        /* no bytes */
	XML_READ_TOO_LARGE,    /* more than libxml2 takes in one call */
	XML_READ_NOT_UTF8,     /* UTF-16/32 byte-order mark, NUL, or another declared encoding */
	XML_READ_NO_MEMORY,
	XML_READ_DTD,          /* a <!DOCTYPE> */
	XML_READ_MALFORMED,    /* not well-formed; MSG says what and where */
	XML_READ_TOO_DEEP,     /* nesting beyond MAX_DEPTH */
} xml_read_error;

/*
 * Parses LEN bytes of BODY.  Returns the document, or NULL with *WHY set
 * and a one-line explanation in MSG (MSGSIZE bytes).
 */
xmlDoc *xml_read_safe(const char *body, size_t len, int max_depth,
                      xml_read_error *why, char *msg, size_t msgsize);

/* True when the element tree under ROOT nests no deeper than MAX_DEPTH. */
int xml_depth_ok(const xmlNode *root, int max_depth);

#endif
