/*
 * xml_read.h -- the one way rdms parses untrusted XML (WS-Man envelopes,
 * CIM-XML requests, replies the client reads): libxml2 with no network
 * access, no DTD at all (a <!DOCTYPE> stops the parser before any entity
 * is declared, so XXE and "billion laughs" cannot expand), UTF-8 only, and
 * a bound on element nesting checked without recursion.  Each front end
 * maps the reason for a refusal onto its own fault vocabulary.
 *
 * Two forms of the same reader: xml_read_safe builds a libxml2 document
 * (CIM-XML, the client), xml_tree_read a light read-only tree (WS-Man):
 * libxml2's SAX2 parser with the same checks and refusals, its elements,
 * attributes and text copied into one arena, which costs a fraction of
 * libxml2's per-node allocations.
 */
#ifndef RDMS_XML_READ_H
#define RDMS_XML_READ_H

#include <stdbool.h>
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

/* ---- the light tree ----------------------------------------------------- */

/* An attribute as written (namespace declarations are not attributes). */
typedef struct xml_attr {
	const char *name;    /* local name */
	const char *uri;     /* namespace URI; NULL: no namespace */
	const char *value;   /* references replaced */
} xml_attr;

/*
 * An element (NAME set) or character data (NAME NULL).  Adjacent character
 * data -- text, CDATA sections, character and entity references, also on
 * either side of a comment or processing instruction, which are left out --
 * is one text node, so an element without element children has at most one
 * text child, holding what xmlNodeGetContent would return.
 */
typedef struct xml_node xml_node;
struct xml_node {
	xml_node       *parent;
	xml_node       *next;       /* next sibling, element or text */
	xml_node       *children;   /* first child, element or text */
	xml_node       *last;       /* last child */
	const char     *name;       /* element: local name; text: NULL */
	const char     *uri;        /* element: namespace URI, NULL for none */
	const char     *prefix;     /* element: prefix as written, NULL for none */
	const xml_attr *attrs;      /* element: attributes in document order */
	size_t          nattrs;
	const char     *text;       /* text: the characters, NUL-terminated */
	size_t          len;        /* text: their length in bytes */
};

typedef struct xml_tree xml_tree;

/*
 * Parses LEN bytes of BODY as xml_read_safe does (same refusals, reasons
 * and messages) into a tree.  Returns it (free with xml_tree_free), or NULL
 * with *WHY set and a one-line explanation in MSG (MSGSIZE bytes).
 */
xml_tree *xml_tree_read(const char *body, size_t len, int max_depth,
                        xml_read_error *why, char *msg, size_t msgsize);
const xml_node *xml_tree_root(const xml_tree *t);
void xml_tree_free(xml_tree *t);

/* True when N is an element named LOCAL in namespace URI. */
bool xml_node_is(const xml_node *n, const char *uri, const char *local);
/* The first element child of N, and the next element sibling: NULL when none. */
const xml_node *xml_node_first_elem(const xml_node *n);
const xml_node *xml_node_next_elem(const xml_node *n);
/* The value of the first attribute NAME of N in any namespace (as xmlGetProp), or NULL. */
const char *xml_node_attr(const xml_node *n, const char *name);
/* The value of attribute NAME in namespace URI (as xmlGetNsProp; NULL: none), or NULL. */
const char *xml_node_attr_ns(const xml_node *n, const char *name, const char *uri);

#endif
