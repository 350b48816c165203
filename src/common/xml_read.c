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

#include <libxml/SAX2.h>
#include <libxml/hash.h>
#include <libxml/parser.h>
#include <libxml/parserInternals.h>

#include "strutil.h"

#define READ_OPTIONS (XML_PARSE_NONET | XML_PARSE_NOCDATA | XML_PARSE_NOERROR | \
                      XML_PARSE_NOWARNING)

/* What the SAX hooks of both readers share; ctxt->_private points to it. */
typedef struct parse_state {
	bool   dtd;    /* a <!DOCTYPE> was refused */
	size_t len;    /* of the document */
} parse_state;

/* SAX hook for <!DOCTYPE: refuse any DTD before its content is read. */
static void refuse_dtd(void *ctx, const xmlChar *name, const xmlChar *ext,
                       const xmlChar *sys)
{
	xmlParserCtxtPtr c = ctx;
	parse_state *st = c->_private;

	(void)name; (void)ext; (void)sys;
	st->dtd = true;
	xmlStopParser(c);
}

/*
 * Called from startDocument: after the XML declaration, when any change of
 * encoding has been made.  libxml2 reads a document in memory as if from a
 * stream: within 250 bytes of its end every lookahead asks the input's
 * read callback for more, which has nothing to give but costs a sixth of
 * a WS-Man Get (and an eighth of a CIM-XML GetInstance).  Without a
 * callback it does not ask.  That is all the callback does here when no
 * encoder converts the input piecemeal and the document is shorter than
 * XML_MAX_LOOKUP_LIMIT (beyond which xmlGROW refuses a lookahead when there
 * is a callback other than the initial one).
 */
static void drop_read_callback(xmlParserCtxtPtr c)
{
	const parse_state *st = c->_private;
	xmlParserInputBufferPtr in = c->input != NULL ? c->input->buf : NULL;

	if (in != NULL && in->encoder == NULL && c->inputNr == 1 &&
	    st->len <= XML_MAX_LOOKUP_LIMIT)
		in->readcallback = NULL;
}

/* startDocument of the DOM reader: libxml2's own, and the same saving. */
static void dom_start_document(void *ctx)
{
	drop_read_callback(ctx);
	xmlSAX2StartDocument(ctx);
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
 * What a thread keeps between parses: a parser context for each reader,
 * reused (creating one -- SAX table, name dictionary, input and node
 * stacks -- costs as much as parsing a WS-Man Get), and the tree reader's
 * spare arena block.  A context's dictionary keeps the names of every
 * document parsed with it, so one whose dictionary has grown past
 * DICT_LIMIT names (a client sending ever new element names) is dropped
 * and made anew.
 */
#define DICT_LIMIT 4096

struct tree_blk;

struct thread_xml {
	xmlParserCtxtPtr  dom;     /* xml_read_safe's */
	xmlParserCtxtPtr  tree;    /* xml_tree_read's (its own SAX table) */
	struct tree_blk  *spare;
};

static pthread_key_t thread_key;
static pthread_once_t thread_once = PTHREAD_ONCE_INIT;

static void free_thread_xml(void *p)
{
	struct thread_xml *x = p;

	if (x->dom != NULL)
		xmlFreeParserCtxt(x->dom);
	if (x->tree != NULL)
		xmlFreeParserCtxt(x->tree);
	free(x->spare);
	free(x);
}

static void make_key(void)
{
	if (pthread_key_create(&thread_key, free_thread_xml) != 0)
		abort();
}

/* This thread's keepings, made on first use; NULL when out of memory. */
static struct thread_xml *thread_xml(void)
{
	struct thread_xml *x;

	pthread_once(&thread_once, make_key);
	x = pthread_getspecific(thread_key);
	if (x == NULL) {
		x = calloc(1, sizeof *x);
		if (x == NULL)
			return NULL;
		if (pthread_setspecific(thread_key, x) != 0) {
			free(x);
			return NULL;
		}
	}
	return x;
}

/* After a parse: drops *C when its dictionary has grown too big. */
static void drop_if_big(xmlParserCtxtPtr *c)
{
	if ((*c)->dict != NULL && xmlDictSize((*c)->dict) > DICT_LIMIT) {
		xmlFreeParserCtxt(*c);
		*c = NULL;
	}
}

/* The thread's DOM context, reset for a parse, or NULL. */
static xmlParserCtxtPtr thread_ctxt(struct thread_xml *x)
{
	if (x->dom == NULL) {
		x->dom = xmlNewParserCtxt();
		if (x->dom == NULL)
			return NULL;
	} else {
		xmlCtxtReset(x->dom);
	}
	x->dom->sax->internalSubset = refuse_dtd;
	x->dom->sax->startDocument = dom_start_document;
	return x->dom;
}

static xml_read_error refuse(xml_read_error reason, char *msg, size_t msgsize,
                             const char *text)
{
	snprintf(msg, msgsize, "%s", text);
	return reason;
}

/* The refusals that need no parse: XML_READ_OK when BODY may be parsed. */
static xml_read_error precheck(const char *body, size_t len, char *msg, size_t msgsize)
{
	const unsigned char *u = (const unsigned char *)body;

	if (len == 0)
		return refuse(XML_READ_EMPTY, msg, msgsize, "the request body is empty");
	if (len > INT_MAX)
		return refuse(XML_READ_TOO_LARGE, msg, msgsize, "the request is too large");
	/* UTF-16/32 byte order marks or a leading NUL: not UTF-8. */
	if ((len >= 2 && ((u[0] == 0xFE && u[1] == 0xFF) || (u[0] == 0xFF && u[1] == 0xFE)))
	    || u[0] == 0)
		return refuse(XML_READ_NOT_UTF8, msg, msgsize, "only UTF-8 requests are supported");
	return XML_READ_OK;
}

/* The message of a refusal as not well-formed: TEXT (libxml2's, or NULL) at LINE, COL. */
static xml_read_error malformed(char *msg, size_t msgsize, const char *text, int line, int col)
{
	char what[200] = "not well-formed";

	/* libxml2's text may quote the request's names: cut between characters */
	if (text != NULL) {
		str_copy(what, sizeof what, text);
		what[strcspn(what, "\n")] = '\0';
	}
	str_format(msg, msgsize, "the request is not well-formed XML: %s at line %d, column %d",
	           what, line, col);
	return XML_READ_MALFORMED;
}

/* The same from the parser's last error. */
static xml_read_error malformed_last(xmlParserCtxtPtr ctxt, char *msg, size_t msgsize)
{
	const xmlError *e = xmlCtxtGetLastError(ctxt);

	return malformed(msg, msgsize, e != NULL ? e->message : NULL, e != NULL ? e->line : 0,
	                 e != NULL ? e->int2 : 0);
}

/* XML_READ_NOT_UTF8 when ENC, the document's encoding (NULL: none declared), is not UTF-8. */
static xml_read_error check_encoding(const xmlChar *enc, char *msg, size_t msgsize)
{
	if (enc == NULL || strcasecmp((const char *)enc, "UTF-8") == 0 ||
	    strcasecmp((const char *)enc, "UTF8") == 0)
		return XML_READ_OK;
	snprintf(msg, msgsize, "character set %.40s is not supported; use UTF-8",
	         (const char *)enc);
	return XML_READ_NOT_UTF8;
}

static xml_read_error too_deep(char *msg, size_t msgsize, int max_depth)
{
	snprintf(msg, msgsize, "the request nests elements deeper than %d levels", max_depth);
	return XML_READ_TOO_DEEP;
}

xmlDoc *xml_read_safe(const char *body, size_t len, int max_depth,
                      xml_read_error *why, char *msg, size_t msgsize)
{
	parse_state st = { .dtd = false, .len = len };
	struct thread_xml *x;
	xmlParserCtxtPtr ctxt = NULL;
	xmlDoc *doc;

	*why = precheck(body, len, msg, msgsize);
	if (*why != XML_READ_OK)
		return NULL;
	if ((x = thread_xml()) != NULL)
		ctxt = thread_ctxt(x);
	if (ctxt == NULL) {
		*why = refuse(XML_READ_NO_MEMORY, msg, msgsize, "out of memory");
		return NULL;
	}
	ctxt->_private = &st;
	doc = xmlCtxtReadMemory(ctxt, body, (int)len, NULL, NULL, READ_OPTIONS);
	ctxt->_private = NULL;
	if (st.dtd) {
		*why = refuse(XML_READ_DTD, msg, msgsize,
		              "a DTD (<!DOCTYPE>) is not allowed in a request");
	} else if (doc == NULL || !ctxt->wellFormed || !ctxt->nsWellFormed) {
		/* nsWellFormed: an undeclared prefix is an error of XML Namespaces. */
		*why = malformed_last(ctxt, msg, msgsize);
	} else {
		*why = check_encoding(doc->encoding, msg, msgsize);
		if (*why == XML_READ_OK && !xml_depth_ok(xmlDocGetRootElement(doc), max_depth))
			*why = too_deep(msg, msgsize, max_depth);
	}
	drop_if_big(&x->dom);
	if (*why != XML_READ_OK && doc != NULL) {
		xmlFreeDoc(doc);
		doc = NULL;
	}
	return doc;
}

/* ---- the light tree ----------------------------------------------------- */

/*
 * The tree lives in an arena: blocks of at least TREE_BLOCK bytes, the
 * first of which also holds the xml_tree.  A thread keeps one first block
 * between parses; what a larger document needed more is freed with it.
 * Names, prefixes and namespace URIs are not copied: they stay in the
 * parser's dictionary, which the tree holds a reference to (as a libxml2
 * document does), so it outlives the context that made it.
 */
#define TREE_BLOCK      8192
#define TREE_BLOCK_MAX  (1024 * 1024)   /* blocks double up to this */

typedef struct tree_blk {
	struct tree_blk *next;
	size_t used, cap;
	char data[];     /* 8-byte aligned: follows three 8-byte members */
} tree_blk;

struct xml_tree {
	tree_blk   *blocks;    /* newest first; the last one holds this struct */
	xml_node   *root;
	xmlDictPtr  dict;      /* the names */
};

typedef struct tree_builder {
	parse_state      st;          /* first: what refuse_dtd sees through ctxt->_private */
	xmlParserCtxtPtr ctxt;
	xml_tree        *tree;
	xml_node        *cur;         /* the open element; NULL outside the root */
	xml_node        *text;        /* the text node data goes to: cur's last child */
	size_t           text_cap;    /* bytes reserved for it */
	int              depth;       /* open elements */
	int              max_depth;
	bool             started;     /* startDocument ran: libxml2 would have made a document */
	bool             too_deep;    /* then nothing more is built, but the parse goes on */
	bool             no_memory;   /* then the parser is stopped */
	unsigned long    nerr;        /* errors recorded as the parser's last so far */
	xmlHashTablePtr  ids;         /* xml:id values seen */
	struct {
		unsigned long at;     /* nerr when it was raised; 0: none */
		int           line, col;
		char          text[200];
	} id_err;
} tree_builder;

static tree_blk *new_blk(size_t cap)
{
	tree_blk *k = malloc(sizeof *k + cap);

	if (k != NULL) {
		k->next = NULL;
		k->used = 0;
		k->cap = cap;
	}
	return k;
}

static void out_of_memory(tree_builder *b)
{
	if (!b->no_memory) {
		b->no_memory = true;
		xmlStopParser(b->ctxt);
	}
}

/* SIZE bytes at the start of a new block, or NULL (parser stopped). */
static void *tree_alloc_block(tree_builder *b, size_t size)
{
	tree_blk *k = b->tree->blocks;
	size_t cap = k->cap < TREE_BLOCK_MAX / 2 ? k->cap * 2 : TREE_BLOCK_MAX;
	tree_blk *n = new_blk(cap > size ? cap : size);

	if (n == NULL) {
		out_of_memory(b);
		return NULL;
	}
	n->next = k;
	n->used = size;
	b->tree->blocks = n;
	return n->data;
}

/* SIZE bytes aligned to ALIGN (a power of two, at most 8), or NULL (parser stopped). */
static inline void *tree_alloc(tree_builder *b, size_t size, size_t align)
{
	tree_blk *k = b->tree->blocks;
	size_t at = (k->used + align - 1) & ~(align - 1);

	if (at > k->cap || k->cap - at < size)
		return tree_alloc_block(b, size);
	k->used = at + size;
	return k->data + at;
}

/* A new node, the last child of the open element. */
static xml_node *new_node(tree_builder *b)
{
	xml_node *n = tree_alloc(b, sizeof *n, _Alignof(xml_node));

	if (n == NULL)
		return NULL;
	*n = (xml_node){ .parent = b->cur };
	if (b->cur != NULL) {
		if (b->cur->last != NULL)
			b->cur->last->next = n;
		else
			b->cur->children = n;
		b->cur->last = n;
	}
	return n;
}

/*
 * An attribute value.  One libxml2 had to rewrite (references, white
 * space) comes NUL-terminated with each '&' left as "&#38;" for the tree
 * builder to resolve (xmlSAX2AttributeNs); one it did not ends at its
 * closing quote.
 */
static const char *attr_value(tree_builder *b, const xmlChar *v, const xmlChar *end)
{
	size_t n = (size_t)(end - v);
	char *p = tree_alloc(b, n + 1, 1), *o = p;

	if (p == NULL)
		return NULL;
	if (*end != 0) {
		memcpy(p, v, n);
		p[n] = '\0';
		return p;
	}
	while (v < end) {
		if (*v == '&' && end - v >= 5 && memcmp(v, "&#38;", 5) == 0) {
			*o++ = '&';
			v += 5;
		} else {
			*o++ = (char)*v++;
		}
	}
	*o = '\0';
	return p;
}

/* NB attributes of the SAX2 array A (local name, prefix, URI, value, end) into E. */
static void add_attrs(tree_builder *b, xml_node *e, int nb, const xmlChar **a)
{
	xml_attr *v = tree_alloc(b, (size_t)nb * sizeof *v, _Alignof(xml_attr));

	if (v == NULL)
		return;
	/* An attribute with an undeclared prefix is a namespace error: never returned. */
	for (int i = 0; i < nb; i++, a += 5) {
		v[i].name = (const char *)a[0];
		v[i].uri = (const char *)a[2];
		if ((v[i].value = attr_value(b, a[3], a[4])) == NULL)
			return;
	}
	e->attrs = v;
	e->nattrs = (size_t)nb;
}

/*
 * libxml2's tree builder checks each xml:id (an NCName, unique in the
 * document) and records a failure as the parser's last error.  That never
 * refuses a document, but when a namespace error does, the message quotes
 * the last error: these checks are repeated so that it stays the same.
 */
static void id_error(tree_builder *b, bool duplicate, const xmlChar *id)
{
	xmlParserInputPtr in = b->ctxt->input;

	b->id_err.at = ++b->nerr;
	b->id_err.line = in != NULL ? in->line : 0;
	b->id_err.col = in != NULL ? in->col : 0;
	snprintf(b->id_err.text, sizeof b->id_err.text,
	         duplicate ? "ID %s already defined" : "xml:id : attribute value %s is not an NCName",
	         (const char *)id);
}

static void check_id(tree_builder *b, const xmlChar *v, const xmlChar *end)
{
	xmlChar *id = xmlStrndup(v, (int)(end - v));

	if (id == NULL) {
		out_of_memory(b);
		return;
	}
	if (xmlValidateNCName(id, 1) != 0)
		id_error(b, false, id);
	if (*id != '\0') {
		if (b->ids == NULL && (b->ids = xmlHashCreate(0)) == NULL)
			out_of_memory(b);
		else if (xmlHashAddEntry(b->ids, id, b) < 0)
			id_error(b, true, id);
	}
	xmlFree(id);
}

/* serror: counts the errors libxml2 records as the context's last. */
static void count_error(void *ctx, xmlErrorPtr e)
{
	xmlParserCtxtPtr c = ctx;
	tree_builder *b = c->_private;

	if (b != NULL && e == &c->lastError)
		b->nerr++;
}

/* startDocument of the light tree: see drop_read_callback. */
static void on_start_document(void *ctx)
{
	xmlParserCtxtPtr c = ctx;
	tree_builder *b = c->_private;

	b->started = true;
	drop_read_callback(c);
}

static void on_start(void *ctx, const xmlChar *local, const xmlChar *prefix,
                     const xmlChar *uri, int nb_ns, const xmlChar **ns, int nb_attrs,
                     int nb_defaulted, const xmlChar **attrs)
{
	xmlParserCtxtPtr c = ctx;
	tree_builder *b = c->_private;
	xml_node *e;

	(void)nb_ns; (void)ns; (void)nb_defaulted;   /* no DTD: nothing defaulted */
	b->depth++;
	for (int i = 0; i < nb_attrs; i++)
		if (attrs[5 * i + 1] == c->str_xml && strcmp((const char *)attrs[5 * i], "id") == 0)
			check_id(b, attrs[5 * i + 3], attrs[5 * i + 4]);
	if (b->too_deep || b->no_memory)
		return;
	/* As xml_depth_ok: the root is level 1 and is not checked itself. */
	if (b->depth > 1 && b->depth > b->max_depth) {
		b->too_deep = true;
		return;
	}
	e = new_node(b);
	if (e == NULL)
		return;
	e->name = (const char *)local;
	e->prefix = (const char *)prefix;
	e->uri = (const char *)uri;
	if (nb_attrs > 0)
		add_attrs(b, e, nb_attrs, attrs);
	if (b->cur == NULL)
		b->tree->root = e;
	b->cur = e;
	b->text = NULL;
}

static void on_end(void *ctx, const xmlChar *local, const xmlChar *prefix, const xmlChar *uri)
{
	xmlParserCtxtPtr c = ctx;
	tree_builder *b = c->_private;

	(void)local; (void)prefix; (void)uri;
	b->depth--;
	if (b->too_deep || b->no_memory)
		return;
	b->cur = b->cur->parent;
	b->text = NULL;
}

/*
 * Character data, a comment or a processing instruction inside the root:
 * a child node in libxml2's tree, so one level deeper than the open
 * element for the depth bound.  False when it is not to be kept.
 */
static bool content_ok(tree_builder *b)
{
	if (b->depth == 0 || b->too_deep || b->no_memory)
		return false;
	if (b->depth + 1 > b->max_depth) {
		b->too_deep = true;
		return false;
	}
	return true;
}

/* Room for NEED bytes of text: in place while it is the newest allocation. */
static bool text_room(tree_builder *b, xml_node *t, size_t need)
{
	tree_blk *k = b->tree->blocks;
	char *old = (char *)t->text, *p;
	size_t cap = b->text_cap * 2 > need ? b->text_cap * 2 : need;

	if (b->text_cap > 0 && old + b->text_cap == k->data + k->used
	    && (size_t)(k->data + k->cap - old) >= need) {
		size_t room = (size_t)(k->data + k->cap - old);

		b->text_cap = room < cap ? room : cap;
		k->used = (size_t)(old - k->data) + b->text_cap;
		return true;
	}
	p = tree_alloc(b, cap, 1);
	if (p == NULL)
		return false;
	memcpy(p, old, t->len);
	t->text = p;
	b->text_cap = cap;
	return true;
}

/* characters and ignorableWhitespace (chunks, references and CDATA alike). */
static void on_text(void *ctx, const xmlChar *ch, int len)
{
	xmlParserCtxtPtr c = ctx;
	tree_builder *b = c->_private;
	xml_node *t = b->text;
	char *p;

	if (!content_ok(b))
		return;
	if (t == NULL) {
		if ((t = new_node(b)) == NULL)
			return;
		t->text = "";
		b->text = t;
		b->text_cap = 0;
	}
	if (t->len + (size_t)len + 1 > b->text_cap && !text_room(b, t, t->len + (size_t)len + 1))
		return;
	p = (char *)t->text;
	memcpy(p + t->len, ch, (size_t)len);
	t->len += (size_t)len;
	p[t->len] = '\0';
}

static void on_comment(void *ctx, const xmlChar *value)
{
	xmlParserCtxtPtr c = ctx;

	(void)value;
	content_ok(c->_private);
}

static void on_pi(void *ctx, const xmlChar *target, const xmlChar *data)
{
	xmlParserCtxtPtr c = ctx;

	(void)target; (void)data;
	content_ok(c->_private);
}

/*
 * SAX2 with the callbacks above and nothing for entities or DTDs (the
 * internal subset hook refuses them).  ignorableWhitespace is characters,
 * as in libxml2's own table, which keeps the parser from guessing which
 * white space is ignorable.  NOCDATA sends CDATA sections to characters.
 */
static const xmlSAXHandler tree_sax = {
	.internalSubset = refuse_dtd,
	.startDocument = on_start_document,
	.characters = on_text,
	.ignorableWhitespace = on_text,
	.processingInstruction = on_pi,
	.comment = on_comment,
	.initialized = XML_SAX2_MAGIC,
	.startElementNs = on_start,
	.endElementNs = on_end,
	.serror = count_error,
};

/* The thread's keepings with a tree context ready for a parse, or NULL. */
static struct thread_xml *thread_tree_reader(void)
{
	struct thread_xml *x = thread_xml();

	if (x == NULL)
		return NULL;
	if (x->tree == NULL) {
		x->tree = xmlNewParserCtxt();
		if (x->tree == NULL)
			return NULL;
		*x->tree->sax = tree_sax;
	}
	return x;
}

/* A tree in the thread's spare block or a new one. */
static xml_tree *new_tree(struct thread_xml *r)
{
	tree_blk *k = r->spare;
	xml_tree *t;

	if (k != NULL)
		r->spare = NULL;
	else if ((k = new_blk(TREE_BLOCK)) == NULL)
		return NULL;
	k->next = NULL;
	k->used = (sizeof *t + 7) & ~(size_t)7;
	t = (xml_tree *)(void *)k->data;
	t->blocks = k;
	t->root = NULL;
	t->dict = NULL;
	return t;
}

void xml_tree_free(xml_tree *t)
{
	struct thread_xml *r;
	tree_blk *k, *next;

	if (t == NULL)
		return;
	if (t->dict != NULL)
		xmlDictFree(t->dict);
	r = pthread_getspecific(thread_key);
	for (k = t->blocks; k != NULL; k = next) {
		next = k->next;
		if (next == NULL && r != NULL && r->spare == NULL && k->cap == TREE_BLOCK)
			r->spare = k;     /* the first block, which held T */
		else
			free(k);
	}
}

/* The outcome of a parse B made, in the order xml_read_safe decides it. */
static xml_read_error tree_verdict(tree_builder *b, int max_depth, char *msg, size_t msgsize)
{
	xmlParserCtxtPtr c = b->ctxt;
	const xmlChar *enc;

	if (b->no_memory)
		return refuse(XML_READ_NO_MEMORY, msg, msgsize, "out of memory");
	if (b->st.dtd)
		return refuse(XML_READ_DTD, msg, msgsize,
		              "a DTD (<!DOCTYPE>) is not allowed in a request");
	if (!b->started || !c->wellFormed || !c->nsWellFormed) {
		if (b->id_err.at != 0 && b->id_err.at == b->nerr)
			return malformed(msg, msgsize, b->id_err.text, b->id_err.line, b->id_err.col);
		return malformed_last(c, msg, msgsize);
	}
	/* The encoding libxml2's tree builder records (xmlSAX2EndDocument). */
	enc = c->encoding;
	if (enc == NULL && c->inputTab != NULL && c->inputNr > 0 && c->inputTab[0] != NULL)
		enc = c->inputTab[0]->encoding;
	if (check_encoding(enc, msg, msgsize) != XML_READ_OK)
		return XML_READ_NOT_UTF8;
	if (b->too_deep)
		return too_deep(msg, msgsize, max_depth);
	if (b->tree->root == NULL)
		return malformed(msg, msgsize, NULL, 0, 0);
	return XML_READ_OK;
}

xml_tree *xml_tree_read(const char *body, size_t len, int max_depth,
                        xml_read_error *why, char *msg, size_t msgsize)
{
	tree_builder b;
	struct thread_xml *r;

	*why = precheck(body, len, msg, msgsize);
	if (*why != XML_READ_OK)
		return NULL;
	memset(&b, 0, sizeof b);
	r = thread_tree_reader();
	if (r == NULL || (b.tree = new_tree(r)) == NULL) {
		*why = refuse(XML_READ_NO_MEMORY, msg, msgsize, "out of memory");
		return NULL;
	}
	b.ctxt = r->tree;
	if (xmlDictReference(b.ctxt->dict) != 0) {
		xml_tree_free(b.tree);
		*why = refuse(XML_READ_NO_MEMORY, msg, msgsize, "out of memory");
		return NULL;
	}
	b.tree->dict = b.ctxt->dict;
	b.max_depth = max_depth;
	b.st.len = len;
	b.ctxt->_private = &b;
	xmlCtxtReadMemory(b.ctxt, body, (int)len, NULL, NULL, READ_OPTIONS);
	b.ctxt->_private = NULL;
	*why = tree_verdict(&b, max_depth, msg, msgsize);
	if (b.ids != NULL)
		xmlHashFree(b.ids, NULL);
	drop_if_big(&r->tree);
	if (*why != XML_READ_OK) {
		xml_tree_free(b.tree);
		return NULL;
	}
	return b.tree;
}

const xml_node *xml_tree_root(const xml_tree *t)
{
	return t->root;
}

bool xml_node_is(const xml_node *n, const char *uri, const char *local)
{
	return n != NULL && n->name != NULL && n->uri != NULL && strcmp(n->uri, uri) == 0
	    && strcmp(n->name, local) == 0;
}

const xml_node *xml_node_first_elem(const xml_node *n)
{
	for (n = n->children; n != NULL; n = n->next)
		if (n->name != NULL)
			return n;
	return NULL;
}

const xml_node *xml_node_next_elem(const xml_node *n)
{
	for (n = n->next; n != NULL; n = n->next)
		if (n->name != NULL)
			return n;
	return NULL;
}

const char *xml_node_attr(const xml_node *n, const char *name)
{
	for (size_t i = 0; i < n->nattrs; i++)
		if (strcmp(n->attrs[i].name, name) == 0)
			return n->attrs[i].value;
	return NULL;
}

const char *xml_node_attr_ns(const xml_node *n, const char *name, const char *uri)
{
	for (size_t i = 0; i < n->nattrs; i++) {
		const xml_attr *a = &n->attrs[i];

		if (strcmp(a->name, name) == 0 && (uri == NULL ? a->uri == NULL
		                                   : a->uri != NULL && strcmp(a->uri, uri) == 0))
			return a->value;
	}
	return NULL;
}
