/*
 * xml_read.c -- see xml_read.h.
 */
#include "xml_read.h"

#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <libxml/parser.h>

/* SAX hook for <!DOCTYPE: refuse any DTD before its content is read. */
static void refuse_dtd(void *ctx, const xmlChar *name, const xmlChar *ext,
                       const xmlChar *sys)
{
	xmlParserCtxtPtr c = ctx;

	(void)name; (void)ext; (void)sys;
	c->_private = (void *)refuse_dtd;
	xmlStopParser(c);
}

int xml_depth_ok(const xmlNode *root, int max_depth)
{
	const xmlNode *n = root;
	int depth = 1;

	/* Iterative pre-order walk: a hostile tree must not cost stack. */
	while (n != NULL) {
		if (n->children != NULL && n->type == XML_ELEMENT_NODE) {
			if (++depth > max_depth)
				return 0;
			n = n->children;
			continue;
		}
		while (n != NULL && n->next == NULL) {
			n = n->parent;
			depth--;
			if (n == root || depth <= 0)
				return 1;
		}
		if (n == NULL || n == root)
			return 1;
		n = n->next;
	}
	return 1;
}

/*
 * A parser context per thread, reused: creating one (SAX table, name
 * dictionary, input and node stacks) costs as much as parsing a WS-Man
 * Get.  The dictionary keeps the names of every document parsed with it,
 * so a context whose dictionary has grown past DICT_LIMIT names (a client
 * sending ever new element names) is dropped and made anew.
 */
#define DICT_LIMIT 4096

static pthread_key_t ctxt_key;
static pthread_once_t ctxt_once = PTHREAD_ONCE_INIT;

static void free_ctxt(void *p)
{
	xmlFreeParserCtxt(p);
}

static void make_key(void)
{
	if (pthread_key_create(&ctxt_key, free_ctxt) != 0)
		abort();
}

static xmlParserCtxtPtr thread_ctxt(void)
{
	xmlParserCtxtPtr c;

	pthread_once(&ctxt_once, make_key);
	c = pthread_getspecific(ctxt_key);
	if (c == NULL) {
		c = xmlNewParserCtxt();
		if (c == NULL)
			return NULL;
		if (pthread_setspecific(ctxt_key, c) != 0) {
			xmlFreeParserCtxt(c);
			return NULL;
		}
	} else {
		xmlCtxtReset(c);
	}
	c->_private = NULL;
	c->sax->internalSubset = refuse_dtd;
	return c;
}

/* After a parse: keeps the context for the next, unless its dictionary is too big. */
static void release_ctxt(xmlParserCtxtPtr c)
{
	if (c->dict != NULL && xmlDictSize(c->dict) > DICT_LIMIT) {
		pthread_setspecific(ctxt_key, NULL);
		xmlFreeParserCtxt(c);
	}
}

static xmlDoc *refuse(xml_read_error *why, xml_read_error reason, char *msg,
                      size_t msgsize, const char *text)
{
	*why = reason;
	snprintf(msg, msgsize, "%s", text);
	return NULL;
}

xmlDoc *xml_read_safe(const char *body, size_t len, int max_depth,
                      xml_read_error *why, char *msg, size_t msgsize)
{
	const unsigned char *u = (const unsigned char *)body;
	xmlParserCtxtPtr ctxt;
	xmlDoc *doc;

	*why = XML_READ_OK;
	if (len == 0)
		return refuse(why, XML_READ_EMPTY, msg, msgsize, "the request body is empty");
	if (len > INT_MAX)
		return refuse(why, XML_READ_TOO_LARGE, msg, msgsize, "the request is too large");
	/* UTF-16/32 byte order marks or a leading NUL: not UTF-8. */
	if ((len >= 2 && ((u[0] == 0xFE && u[1] == 0xFF) || (u[0] == 0xFF && u[1] == 0xFE)))
	    || u[0] == 0)
		return refuse(why, XML_READ_NOT_UTF8, msg, msgsize,
		              "only UTF-8 requests are supported");
	ctxt = thread_ctxt();
	if (ctxt == NULL)
		return refuse(why, XML_READ_NO_MEMORY, msg, msgsize, "out of memory");
	doc = xmlCtxtReadMemory(ctxt, body, (int)len, NULL, NULL,
	                        XML_PARSE_NONET | XML_PARSE_NOCDATA |
	                        XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (ctxt->_private == (void *)refuse_dtd) {
		refuse(why, XML_READ_DTD, msg, msgsize,
		       "a DTD (<!DOCTYPE>) is not allowed in a request");
	} else if (doc == NULL || !ctxt->wellFormed || !ctxt->nsWellFormed) {
		/* nsWellFormed: an undeclared prefix is an error of XML Namespaces. */
		const xmlError *e = xmlCtxtGetLastError(ctxt);
		char what[200] = "not well-formed";

		if (e != NULL && e->message != NULL) {
			snprintf(what, sizeof what, "%s", e->message);
			what[strcspn(what, "\n")] = '\0';
		}
		*why = XML_READ_MALFORMED;
		snprintf(msg, msgsize, "the request is not well-formed XML: %s at line %d, column %d",
		         what, e != NULL ? e->line : 0, e != NULL ? e->int2 : 0);
	} else if (doc->encoding != NULL &&
	           strcasecmp((const char *)doc->encoding, "UTF-8") != 0 &&
	           strcasecmp((const char *)doc->encoding, "UTF8") != 0) {
		*why = XML_READ_NOT_UTF8;
		snprintf(msg, msgsize, "character set %.40s is not supported; use UTF-8",
		         (const char *)doc->encoding);
	} else if (!xml_depth_ok(xmlDocGetRootElement(doc), max_depth)) {
		*why = XML_READ_TOO_DEEP;
		snprintf(msg, msgsize, "the request nests elements deeper than %d levels", max_depth);
	}
	release_ctxt(ctxt);
	if (*why != XML_READ_OK && doc != NULL) {
		xmlFreeDoc(doc);
		doc = NULL;
	}
	return doc;
}
