/*
 * wsman_parse.c -- a SOAP request body to a wsman_request.
 *
 * libxml2's SAX2 parser builds a light tree (src/common/xml_read.c: no
 * network, no DTD: a DOCTYPE stops the parser, so external entities and
 * entity expansion never happen; depth bounded).  Every element is
 * recognised by namespace URI and local name, never by prefix, because
 * clients use s/env/none, wsa/a, wsman/w ... as they like.
 *
 * Everything that can be wrong with the request itself is found here, so
 * that a malformed request faults before the operation layer is called.
 * What needs the class (typing selectors and arguments) is checked in
 * wsman.c, still before anything runs.  Strings are copied into the
 * request's arena; the XML tree is freed before returning.
 */
#include "wsman_internal.h"
#include "wsman_ctx.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../cim/path.h"

/* ---- arena -------------------------------------------------------------- */

struct wsman_arena_blk {
	struct wsman_arena_blk *next;
	size_t used, cap;
	char data[];
};

/*
 * The first block is 1 KiB in all, which holds the strings of a Get, Put
 * or Invoke: a size glibc serves from the thread's cache, without the
 * arena lock a larger one takes (which every connection thread contends
 * for).  Later blocks are 2 KiB or what a longer string needs.
 */
#define ARENA_FIRST (1024 - sizeof(struct wsman_arena_blk))
#define ARENA_NEXT  2048

char *wsman_arena_strndup(wsman_arena *a, const char *s, size_t n)
{
	struct wsman_arena_blk *b = a->head;

	if (b == NULL || b->cap - b->used < n + 1) {
		size_t want = b == NULL ? ARENA_FIRST : ARENA_NEXT;
		size_t cap = n + 1 > want ? n + 1 : want;
		b = malloc(sizeof *b + cap);
		if (b == NULL)
			return NULL;
		b->used = 0;
		b->cap = cap;
		b->next = a->head;
		a->head = b;
	}
	char *p = b->data + b->used;
	memcpy(p, s, n);
	p[n] = '\0';
	b->used += n + 1;
	return p;
}

void wsman_arena_free(wsman_arena *a)
{
	while (a->head != NULL) {
		struct wsman_arena_blk *n = a->head->next;
		free(a->head);
		a->head = n;
	}
}

bool wsman_fail(wsman_fault *f, uint32_t code, const char *subcode,
                const char *detail, const char *fmt, ...)
{
	va_list ap;

	memset(f, 0, sizeof *f);
	f->code = code;
	f->subcode = subcode;
	f->detail = detail;
	va_start(ap, fmt);
	vsnprintf(f->reason, sizeof f->reason, fmt, ap);
	va_end(ap);
	return false;
}

/* ---- safe XML reading --------------------------------------------------- */

/* A refusal of the shared safe reader (src/common/xml_read.c) as a WS-Man fault. */
static void read_fault(xml_read_error why, const char *msg, wsman_fault *f)
{
	switch (why) {
	case XML_READ_OK:
		break;
	case XML_READ_TOO_LARGE:
		wsman_fail(f, WBEM_E_TOO_MUCH_DATA, NULL, "MaxEnvelopeSize", "%s", msg);
		break;
	case XML_READ_NOT_UTF8:
		wsman_fail(f, WBEM_E_TOO_MUCH_DATA, "wsman:EncodingLimit", "CharacterSet", "%s", msg);
		break;
	case XML_READ_NO_MEMORY:
		wsman_fail(f, WBEM_E_OUT_OF_MEMORY, NULL, NULL, "%s", msg);
		break;
	case XML_READ_EMPTY:
	case XML_READ_DTD:
	case XML_READ_MALFORMED:
	case XML_READ_TOO_DEEP:
		wsman_fail(f, WBEM_E_INVALID_PARAMETER, "wsman:SchemaValidationError", NULL,
		           "%s", msg);
		f->http_status = 400;
		break;
	}
}

xml_tree *wsman_tree_read(const char *body, size_t len, wsman_fault *f)
{
	xml_read_error why;
	char msg[300];
	xml_tree *t = xml_tree_read(body, len, WSMAN_MAX_DEPTH, &why, msg, sizeof msg);

	read_fault(why, msg, f);
	return t;
}

xmlDoc *wsman_xml_read(const char *body, size_t len, wsman_fault *f)
{
	xml_read_error why;
	char msg[300];
	xmlDoc *doc = xml_read_safe(body, len, WSMAN_MAX_DEPTH, &why, msg, sizeof msg);

	read_fault(why, msg, f);
	return doc;
}

/* ---- tree helpers ------------------------------------------------------- */

/* The client's libxml2 tree (src/client): */
bool wsman_is(const xmlNode *node, const char *ns, const char *local)
{
	return node != NULL && node->type == XML_ELEMENT_NODE && node->ns != NULL
	    && strcmp((const char *)node->ns->href, ns) == 0
	    && strcmp((const char *)node->name, local) == 0;
}

xmlNode *wsman_next_elem(const xmlNode *node)
{
	for (node = node->next; node != NULL; node = node->next)
		if (node->type == XML_ELEMENT_NODE)
			return (xmlNode *)node;
	return NULL;
}

xmlNode *wsman_first_elem(const xmlNode *node)
{
	for (node = node->children; node != NULL; node = node->next)
		if (node->type == XML_ELEMENT_NODE)
			return (xmlNode *)node;
	return NULL;
}

/* The request's light tree: */
static bool in_ns(const xml_node *node, const char *ns)
{
	return node->uri != NULL && strcmp(node->uri, ns) == 0;
}

static bool is_xml_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool only_space(const char *s)
{
	for (; *s; s++)
		if (!is_xml_space(*s))
			return false;
	return true;
}

/*
 * "prefix:name" of element N for messages.  An element in a default
 * namespace has always printed as "(null)name" (glibc's rendering of the
 * NULL prefix the libxml2 tree gave): kept so that messages stay the same.
 */
static const char *qname(const xml_node *n)
{
	static _Thread_local char buf[160];

	/* In a default namespace (no prefix) the name is written bare. */
	if (n->prefix == NULL)
		return n->name;
	snprintf(buf, sizeof buf, "%s:%s", n->prefix, n->name);
	return buf;
}

/*
 * The character data of element N, copied into the arena and, when TRIM,
 * without surrounding white space.  Element children are an error: every
 * element we read for text is a simple type.  The tree joins adjacent
 * text (also across comments), so there is at most one text child.
 */
static const char *elem_text(wsman_request *r, const xml_node *n, bool trim,
                             wsman_fault *f)
{
	const xml_node *c;
	const char *s = "";
	size_t len = 0;

	for (c = n->children; c != NULL; c = c->next) {
		if (c->name != NULL) {
			wsman_fail(f, WBEM_E_INVALID_PARAMETER, "wsman:SchemaValidationError",
			           NULL, "element %s must contain text only", qname(n));
			return NULL;
		}
		s = c->text;
		len = c->len;
	}
	if (trim) {
		while (len > 0 && is_xml_space(*s)) {
			s++;
			len--;
		}
		while (len > 0 && is_xml_space(s[len - 1]))
			len--;
	}
	s = wsman_arena_strndup(&r->arena, s, len);
	if (s == NULL)
		wsman_fail(f, WBEM_E_OUT_OF_MEMORY, NULL, NULL, "out of memory");
	return s;
}

/* True for "true" and "1": xsi:nil and s:mustUnderstand. */
static bool is_true(const char *v)
{
	return v != NULL && (strcmp(v, "true") == 0 || strcmp(v, "1") == 0);
}

static bool must_understand(const xml_node *n)
{
	return is_true(xml_node_attr_ns(n, "mustUnderstand", NS_SOAP));
}

static bool not_understood(wsman_request *r, const xml_node *n, wsman_fault *f)
{
	wsman_fail(f, WBEM_E_NOT_SUPPORTED, "s:MustUnderstand", NULL,
	           "the header %s is marked mustUnderstand but is not supported", qname(n));
	/* Copies: the tree is freed before the fault is written. */
	f->nu_name = wsman_arena_strndup(&r->arena, n->name, strlen(n->name));
	if (n->uri != NULL)
		f->nu_ns = wsman_arena_strndup(&r->arena, n->uri, strlen(n->uri));
	return false;
}

/* Decimal in [MIN, MAX] with nothing else around it but white space. */
static bool parse_count(const char *s, unsigned long min, unsigned long max,
                        unsigned long *out)
{
	char *end;
	unsigned long v;

	while (is_xml_space(*s))
		s++;
	if (!isdigit((unsigned char)*s))
		return false;
	errno = 0;
	v = strtoul(s, &end, 10);
	while (is_xml_space(*end))
		end++;
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return false;
	*out = v;
	return true;
}

static bool is_identifier(const char *s)
{
	if (!isalpha((unsigned char)*s) && *s != '_')
		return false;
	for (s++; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_')
			return false;
	return true;
}

static bool is_namespace_text(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_' && *s != '/' && *s != '\\')
			return false;
	return true;
}

/* ---- selectors ---------------------------------------------------------- */

/*
 * A wsman:SelectorSet into SEL/N; __cimnamespace goes to *NS when NS is
 * given, otherwise it is an ordinary selector.
 */
static bool parse_selectors(wsman_request *r, const xml_node *set, wsman_selector *sel,
                            size_t *n, const char **ns, wsman_fault *f)
{
	const xml_node *c;

	for (c = xml_node_first_elem(set); c != NULL; c = xml_node_next_elem(c)) {
		const char *name, *value, *nm;

		if (!xml_node_is(c, NS_WSMAN, "Selector"))
			return wsman_fail(f, WBEM_E_INVALID_OBJECT_PATH, "wsman:InvalidSelectors",
			                  "UnexpectedSelectors",
			                  "unexpected element %s in the SelectorSet", qname(c));
		name = xml_node_attr(c, "Name");
		if (name == NULL || *name == '\0' || strlen(name) > 128)
			return wsman_fail(f, WBEM_E_INVALID_OBJECT_PATH, "wsman:InvalidSelectors",
			                  "InsufficientSelectors",
			                  "a Selector has no (or an over-long) Name attribute");
		nm = wsman_arena_strndup(&r->arena, name, strlen(name));
		if (nm == NULL)
			return wsman_fail(f, WBEM_E_OUT_OF_MEMORY, NULL, NULL, "out of memory");
		if (xml_node_first_elem(c) != NULL)
			return wsman_fail(f, WBEM_E_INVALID_OBJECT_PATH, "wsman:InvalidSelectors",
			                  "TypeMismatch",
			                  "selector %s: reference values are not supported", nm);
		value = elem_text(r, c, true, f);
		if (value == NULL)
			return false;
		if (ns != NULL && strcasecmp(nm, "__cimnamespace") == 0) {
			if (*ns != NULL)
				return wsman_fail(f, WBEM_E_INVALID_OBJECT_PATH,
				                  "wsman:InvalidSelectors", "DuplicateSelectors",
				                  "selector __cimnamespace is given twice");
			*ns = value;
			continue;
		}
		for (size_t i = 0; i < *n; i++)
			if (strcasecmp(sel[i].name, nm) == 0)
				return wsman_fail(f, WBEM_E_INVALID_OBJECT_PATH,
				                  "wsman:InvalidSelectors", "DuplicateSelectors",
				                  "selector %s is given twice", nm);
		if (*n == WSMAN_MAX_SELECTORS)
			return wsman_fail(f, WBEM_E_INVALID_OBJECT_PATH, "wsman:InvalidSelectors",
			                  "UnexpectedSelectors", "more than %d selectors",
			                  WSMAN_MAX_SELECTORS);
		sel[*n].name = nm;
		sel[*n].value = value;
		(*n)++;
	}
	return true;
}

/* ---- header ------------------------------------------------------------- */

typedef struct header_seen {
	bool selectors;
	const char *cimns;    /* __cimnamespace selector */
} header_seen;

/* Stores the text of a once-only header into *DST. */
static bool header_once(wsman_request *r, const xml_node *h, const char **dst,
                        size_t maxlen, wsman_fault *f)
{
	const char *v;

	if (*dst != NULL)
		return wsman_fail(f, WBEM_E_INVALID_PARAMETER,
		                  "wsa:InvalidMessageInformationHeader", NULL,
		                  "header %s is given twice", qname(h));
	v = elem_text(r, h, true, f);
	if (v == NULL)
		return false;
	/* wsl sends an empty MessageID when uuidgen (uuid-runtime) is missing. */
	if (*v == '\0')
		return wsman_fail(f, WBEM_E_INVALID_PARAMETER,
		                  "wsa:InvalidMessageInformationHeader", NULL,
		                  "header %s is empty", qname(h));
	if (strlen(v) > maxlen)
		return wsman_fail(f, WBEM_E_INVALID_PARAMETER,
		                  "wsa:InvalidMessageInformationHeader", NULL,
		                  "header %s is longer than %zu characters", qname(h), maxlen);
	*dst = v;
	return true;
}

/*
 * The OptionSet: SendMessage's options (message.h) are read; any other
 * option is let be, as before (MI clients send several of their own).
 */
static bool parse_options(wsman_request *r, const xml_node *set, wsman_fault *f)
{
	for (const xml_node *c = xml_node_first_elem(set); c != NULL; c = xml_node_next_elem(c)) {
		const char *name = xml_node_attr(c, "Name"), *value;
		rdms_message_options probe = { 0 };
		rdms_error err = { 0 };

		if (!xml_node_is(c, NS_WSMAN, "Option") || name == NULL ||
		    rdms_message_option(&probe, name, "1", &err) == WBEM_E_NOT_FOUND)
			continue;
		if ((value = elem_text(r, c, true, f)) == NULL)
			return false;
		if (rdms_message_option(&r->msg_opts, name, value, &err) != WBEM_S_NO_ERROR)
			return wsman_fail(f, WBEM_E_INVALID_PARAMETER, "wsman:InvalidOptions",
			                  "InvalidValue", "%s", err.message);
	}
	return true;
}

static bool parse_wsman_header(wsman_request *r, const xml_node *h, header_seen *seen,
                               wsman_fault *f)
{
	const char *name = h->name;

	if (strcmp(name, "ResourceURI") == 0)
		return header_once(r, h, &r->resource_uri, 2048, f);
	if (strcmp(name, "SelectorSet") == 0) {
		if (seen->selectors)
			return wsman_fail(f, WBEM_E_INVALID_OBJECT_PATH, "wsman:InvalidSelectors",
			                  "DuplicateSelectors", "two SelectorSet headers");
		seen->selectors = true;
		return parse_selectors(r, h, r->sel, &r->nsel, &seen->cimns, f);
	}
	if (strcmp(name, "MaxEnvelopeSize") == 0) {
		const char *v = elem_text(r, h, true, f);
		unsigned long n;

		if (v == NULL)
			return false;
		if (r->max_envelope != 0)
			return wsman_fail(f, WBEM_E_INVALID_PARAMETER,
			                  "wsa:InvalidMessageInformationHeader", NULL,
			                  "header MaxEnvelopeSize is given twice");
		if (!parse_count(v, 1, INT_MAX, &n))
			return wsman_fail(f, WBEM_E_INVALID_PARAMETER, "wsman:InvalidParameter",
			                  NULL, "MaxEnvelopeSize '%.40s' is not a positive integer", v);
		if (n < WSMAN_MIN_ENVELOPE)
			return wsman_fail(f, WBEM_E_TOO_MUCH_DATA, "wsman:EncodingLimit",
			                  "MinimumEnvelopeLimit",
			                  "MaxEnvelopeSize %lu is below the minimum of %d", n,
			                  WSMAN_MIN_ENVELOPE);
		r->max_envelope = (long)n;
		return true;
	}
	if (strcmp(name, "FragmentTransfer") == 0) {
		if (must_understand(h))
			return wsman_fail(f, WBEM_E_NOT_SUPPORTED, "wsman:UnsupportedFeature",
			                  "FragmentLevelAccess",
			                  "fragment transfer is not supported");
		return true;
	}
	if (strcmp(name, "OptionSet") == 0)
		return parse_options(r, h, f);
	if (strcmp(name, "OperationTimeout") == 0) {
		const char *v = elem_text(r, h, true, f);

		if (v == NULL)
			return false;
		if (!wsman_duration_ms(v, &r->timeout_ms) || r->timeout_ms <= 0)
			return wsman_fail(f, WBEM_E_INVALID_PARAMETER, "wsman:InvalidParameter",
			                  "InvalidValue", "OperationTimeout '%.40s' is not a positive "
			                  "xs:duration", v);
		return true;
	}
	/* Processed (as no-ops) whatever their mustUnderstand says. */
	static const char *const known[] = {
		"Locale", "RequestEPR", "RequestTotalItemsCountEstimate",
	};
	for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
		if (strcmp(name, known[i]) == 0)
			return true;
	return must_understand(h) ? not_understood(r, h, f) : true;
}

/*
 * rdms:OnBehalfOf User= Domain= Source= Protocol= Broker=: the user a
 * broker forwards a call for.  Who may send it is the caller's business
 * (wsman.c); here only its form: once, a User of at most 255 bytes, every
 * attribute without control characters.
 */
static bool parse_on_behalf(wsman_request *r, const xml_node *h, wsman_fault *f)
{
	static const char *const names[] = { "User", "Domain", "Source", "Protocol", "Broker" };
	const char **out[] = { &r->on_behalf.user, &r->on_behalf.domain, &r->on_behalf.source,
	                       &r->on_behalf.protocol, &r->on_behalf.broker };

	if (r->on_behalf.user != NULL)
		return wsman_fail(f, WBEM_E_INVALID_PARAMETER, "wsa:InvalidMessageInformationHeader",
		                  NULL, "header OnBehalfOf is given twice");
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		const char *v = xml_node_attr(h, names[i]);

		if (v == NULL) {
			if (i == 0)
				return wsman_fail(f, WBEM_E_INVALID_PARAMETER,
				                  "wsman:SchemaValidationError", NULL,
				                  "OnBehalfOf needs a User attribute");
			continue;
		}
		for (const unsigned char *p = (const unsigned char *)v; *p != '\0'; p++)
			if (*p < 0x20 || *p == 0x7f)
				return wsman_fail(f, WBEM_E_INVALID_PARAMETER,
				                  "wsman:SchemaValidationError", NULL,
				                  "OnBehalfOf %s holds a control character", names[i]);
		if (strlen(v) > 255 || (i == 0 && *v == '\0'))
			return wsman_fail(f, WBEM_E_INVALID_PARAMETER, "wsman:SchemaValidationError",
			                  NULL, "OnBehalfOf %s must be 1 to 255 bytes", names[i]);
		if ((*out[i] = wsman_arena_strndup(&r->arena, v, strlen(v))) == NULL)
			return wsman_fail(f, WBEM_E_OUT_OF_MEMORY, NULL, NULL, "out of memory");
	}
	return true;
}

/*
 * rdms:Keyset [VMHostName= SessionId=]: an Enumerate of the sessions in key
 * order, from the one after that key (both attributes) or from the first
 * (neither), so that a client can ask for any page without a context.
 */
static bool parse_keyset(wsman_request *r, const xml_node *h, wsman_fault *f)
{
	const char *host = xml_node_attr(h, "VMHostName");
	const char *id = xml_node_attr(h, "SessionId");
	unsigned long n;

	if (r->keyset)
		return wsman_fail(f, WBEM_E_INVALID_PARAMETER, "wsa:InvalidMessageInformationHeader",
		                  NULL, "header Keyset is given twice");
	r->keyset = true;
	if (host == NULL && id == NULL)
		return true;
	if (host == NULL || id == NULL)
		return wsman_fail(f, WBEM_E_INVALID_PARAMETER, "wsman:SchemaValidationError", NULL,
		                  "Keyset needs both VMHostName and SessionId, or neither");
	if (strlen(host) >= sizeof r->keyset_after.text)
		return wsman_fail(f, WBEM_E_INVALID_PARAMETER, "wsman:SchemaValidationError", NULL,
		                  "Keyset VMHostName is longer than %zu bytes",
		                  sizeof r->keyset_after.text - 1);
	if (!parse_count(id, 0, UINT32_MAX, &n))
		return wsman_fail(f, WBEM_E_INVALID_PARAMETER, "wsman:SchemaValidationError", NULL,
		                  "Keyset SessionId '%.40s' is not a uint32", id);
	str_copy(r->keyset_after.text, sizeof r->keyset_after.text, host);
	r->keyset_after.num = (uint32_t)n;
	r->keyset_started = true;
	return true;
}

static bool parse_header(wsman_request *r, const xml_node *header, header_seen *seen,
                         wsman_fault *f)
{
	static const char *const ms_known[] = {
		"DataLocale", "SessionId", "OperationID", "SequenceId", "CompressionType",
	};
	static const char *const wsa_known[] = {
		"To", "ReplyTo", "FaultTo", "From", "RelatesTo",
	};
	const xml_node *h;

	for (h = xml_node_first_elem(header); h != NULL; h = xml_node_next_elem(h)) {
		const char *name = h->name;
		bool known = false;

		if (in_ns(h, NS_WSA)) {
			if (strcmp(name, "Action") == 0) {
				if (!header_once(r, h, &r->action, 2048, f))
					return false;
				continue;
			}
			if (strcmp(name, "MessageID") == 0) {
				if (!header_once(r, h, &r->message_id, WSMAN_MAX_ID_LEN, f))
					return false;
				continue;
			}
			if (strcmp(name, "To") == 0 && r->to == NULL &&
			    (r->to = elem_text(r, h, true, f)) == NULL)
				return false;
			for (size_t i = 0; i < sizeof wsa_known / sizeof wsa_known[0]; i++)
				known = known || strcmp(name, wsa_known[i]) == 0;
		} else if (in_ns(h, NS_WSMAN)) {
			if (!parse_wsman_header(r, h, seen, f))
				return false;
			continue;
		} else if (in_ns(h, NS_MSWSMAN)) {
			for (size_t i = 0; i < sizeof ms_known / sizeof ms_known[0]; i++)
				known = known || strcmp(name, ms_known[i]) == 0;
		} else if (in_ns(h, NS_WSE) && strcmp(name, "Identifier") == 0) {
			if (!header_once(r, h, &r->identifier, WSMAN_MAX_ID_LEN, f))
				return false;
			continue;
		} else if (in_ns(h, NS_WSMB)) {
			/* PolymorphismMode etc.: the class has no subclasses, so any mode holds. */
			known = true;
		} else if (in_ns(h, NS_RDMS) && strcmp(name, "OnBehalfOf") == 0) {
			if (!parse_on_behalf(r, h, f))
				return false;
			continue;
		} else if (in_ns(h, NS_RDMS) && strcmp(name, "Keyset") == 0) {
			if (!parse_keyset(r, h, f))
				return false;
			continue;
		} else if (in_ns(h, NS_RDMS) && strcmp(name, "Position") == 0) {
			/* an Enumerate asking for its snapshot's journal position (fleet brokers) */
			r->want_position = known = true;
		}
		if (!known && must_understand(h))
			return not_understood(r, h, f);
	}
	return true;
}

/* ---- ResourceURI -------------------------------------------------------- */

static bool prefix_ci(const char *s, const char *prefix)
{
	return strncasecmp(s, prefix, strlen(prefix)) == 0;
}

/* The fault for a ResourceURI that needs the __cimnamespace selector (URI; NULL: a class request). */
static bool cimns_missing(wsman_fault *f, const char *uri)
{
	if (uri == NULL)
		return wsman_fail(f, WBEM_E_INVALID_NAMESPACE, "wsman:InvalidSelectors",
		                  "InsufficientSelectors",
		                  "the __cimnamespace selector is required for class requests");
	return wsman_fail(f, WBEM_E_INVALID_NAMESPACE, "wsman:InvalidSelectors",
	                  "InsufficientSelectors",
	                  "the __cimnamespace selector is required with ResourceURI %.300s", uri);
}

static bool parse_resource_uri(wsman_request *r, const char *cimns, wsman_fault *f)
{
	const char *uri = r->resource_uri, *rest, *slash;

	if (prefix_ci(uri, URI_WMI_PREFIX)) {
		rest = uri + strlen(URI_WMI_PREFIX);
		slash = strrchr(rest, '/');
		if (slash == NULL || slash == rest || slash[1] == '\0')
			goto unknown;
		r->ns = wsman_arena_strndup(&r->arena, rest, (size_t)(slash - rest));
		r->class_name = slash + 1;
		if (r->ns == NULL)
			return wsman_fail(f, WBEM_E_OUT_OF_MEMORY, NULL, NULL, "out of memory");
		if (!is_namespace_text(r->ns))
			goto unknown;
		if (strcmp(r->class_name, "*") == 0) {
			r->uri_kind = WSMAN_URI_WILDCARD;
			r->class_name = NULL;
		} else {
			r->uri_kind = WSMAN_URI_WMI;
			if (!is_identifier(r->class_name))
				goto unknown;
		}
		if (cimns != NULL && !cim_namespace_equal(cimns, r->ns))
			return wsman_fail(f, WBEM_E_INVALID_NAMESPACE, "wsman:InvalidSelectors",
			                  "UnexpectedSelectors",
			                  "the resource URI and __cimnamespace selector attempted "
			                  "to use different namespaces (%.100s, %.100s)", r->ns, cimns);
		return true;
	}
	if (prefix_ci(uri, URI_DMTF_PREFIX)) {
		r->uri_kind = WSMAN_URI_DMTF;
		r->class_name = uri + strlen(URI_DMTF_PREFIX);
		if (!is_identifier(r->class_name))
			goto unknown;
		if (cimns == NULL)
			return cimns_missing(f, uri);
		r->ns = cimns;
		if (!is_namespace_text(r->ns))
			return wsman_fail(f, WBEM_E_INVALID_NAMESPACE, "wsa:DestinationUnreachable",
			                  "InvalidResourceURI", "invalid namespace '%.100s'", r->ns);
		return true;
	}
	if (strcasecmp(uri, URI_ALL_CLASSES) == 0) {
		r->uri_kind = WSMAN_URI_ALL;
		if (cimns == NULL)
			return cimns_missing(f, uri);
		r->ns = cimns;
		return true;
	}
	if (prefix_ci(uri, URI_CIMXML_PREFIX)) {
		rest = uri + strlen(URI_CIMXML_PREFIX);
		if (strcmp(rest, "*") != 0)
			goto unknown;
		r->uri_kind = WSMAN_URI_CLASSDEF;
		if (cimns == NULL)
			return cimns_missing(f, NULL);
		r->ns = cimns;
		return true;
	}
unknown:
	return wsman_fail(f, WBEM_E_INVALID_CLASS, "wsa:DestinationUnreachable",
	                  "InvalidResourceURI", "no resource is served at ResourceURI %.300s",
	                  uri);
}

/* ---- bodies ------------------------------------------------------------- */

static bool schema_error(wsman_fault *f, const char *what)
{
	return wsman_fail(f, WBEM_E_INVALID_PARAMETER, "wsman:SchemaValidationError",
	                  NULL, "%s", what);
}

static bool parse_filter(wsman_request *r, const xml_node *n, wsman_fault *f)
{
	const char *dialect = xml_node_attr(n, "Dialect");
	bool ok = true;

	if (r->filter != WSMAN_FILTER_NONE)
		return wsman_fail(f, WBEM_E_INVALID_QUERY, "wsen:CannotProcessFilter", NULL,
		                  "the Enumerate request has two filters");
	if (dialect == NULL)
		return wsman_fail(f, WBEM_E_INVALID_QUERY_TYPE,
		                  "wsen:FilterDialectRequestedUnavailable", NULL,
		                  "the filter has no Dialect attribute");
	if (strcmp(dialect, DIALECT_WQL) == 0 || strcmp(dialect, DIALECT_CQL) == 0) {
		r->filter = WSMAN_FILTER_WQL;
		r->filter_text = elem_text(r, n, true, f);
		if (r->filter_text == NULL)
			ok = false;
		else if (*r->filter_text == '\0')
			ok = wsman_fail(f, WBEM_E_INVALID_QUERY, "wsen:CannotProcessFilter", NULL,
			                "the WQL filter is empty");
	} else if (strcmp(dialect, DIALECT_SELECTOR) == 0) {
		const xml_node *set = xml_node_first_elem(n);

		r->filter = WSMAN_FILTER_SELECTOR;
		if (set == NULL || !xml_node_is(set, NS_WSMAN, "SelectorSet") || xml_node_next_elem(set))
			ok = wsman_fail(f, WBEM_E_INVALID_QUERY, "wsen:CannotProcessFilter", NULL,
			                "a selector filter must hold one wsman:SelectorSet");
		else
			ok = parse_selectors(r, set, r->fsel, &r->nfsel, NULL, f);
	} else if (strcmp(dialect, DIALECT_ASSOC) == 0) {
		r->filter = WSMAN_FILTER_ASSOC;
	} else {
		ok = wsman_fail(f, WBEM_E_INVALID_QUERY_TYPE,
		                "wsen:FilterDialectRequestedUnavailable", NULL,
		                "filter dialect %.200s is not supported", dialect);
	}
	return ok;
}

static bool parse_enumerate(wsman_request *r, const xml_node *body_elem, wsman_fault *f)
{
	const xml_node *c;
	bool have_mode = false;

	if (!xml_node_is(body_elem, NS_WSEN, "Enumerate"))
		return schema_error(f, "the body of an Enumerate request must be wsen:Enumerate");
	for (c = xml_node_first_elem(body_elem); c != NULL; c = xml_node_next_elem(c)) {
		const char *name = c->name;

		if (in_ns(c, NS_WSMAN) && strcmp(name, "OptimizeEnumeration") == 0) {
			r->optimize = true;
		} else if (in_ns(c, NS_WSMAN) && strcmp(name, "MaxElements") == 0) {
			const char *v = elem_text(r, c, true, f);
			unsigned long n;

			if (v == NULL)
				return false;
			if (r->max_elements != 0 || !parse_count(v, 1, WSMAN_MAX_ELEMENTS, &n))
				return wsman_fail(f, WBEM_E_INVALID_PARAMETER, "wsman:InvalidParameter",
				                  "InvalidValue",
				                  "MaxElements '%.40s' is not a count from 1 to %d "
				                  "(or is given twice)", v, WSMAN_MAX_ELEMENTS);
			r->max_elements = (uint32_t)n;
		} else if (in_ns(c, NS_WSMAN) && strcmp(name, "EnumerationMode") == 0) {
			const char *v = elem_text(r, c, true, f);

			if (v == NULL)
				return false;
			if (have_mode)
				return schema_error(f, "EnumerationMode is given twice");
			have_mode = true;
			if (strcmp(v, "EnumerateObject") == 0)
				r->mode = WSMAN_MODE_OBJECT;
			else if (strcmp(v, "EnumerateEPR") == 0)
				r->mode = WSMAN_MODE_EPR;
			else if (strcmp(v, "EnumerateObjectAndEPR") == 0)
				r->mode = WSMAN_MODE_OBJECT_EPR;
			else
				return wsman_fail(f, WBEM_E_NOT_SUPPORTED, "wsman:UnsupportedFeature",
				                  "EnumerationMode",
				                  "EnumerationMode '%.60s' is not supported", v);
		} else if ((in_ns(c, NS_WSMAN) || in_ns(c, NS_WSEN)) && strcmp(name, "Filter") == 0) {
			if (!parse_filter(r, c, f))
				return false;
		}
		/* wsen:Expires, wsen:EndTo and unknown extensions: nothing to do. */
	}
	return true;
}

/* ---- Subscribe (WS-Eventing, spec/events.md 2.3) ------------------------- */

/* Digits of S into *V (at most 9 of them before an optional fraction); the end. */
static const char *duration_number(const char *s, double *v)
{
	char *end;

	if (!isdigit((unsigned char)*s))
		return NULL;
	errno = 0;
	*v = strtod(s, &end);
	if (errno != 0 || end == s || *v > 1e9)
		return NULL;
	return end;
}

bool wsman_duration_ms(const char *s, long *ms)
{
	double total = 0, v;
	bool in_time = false, any = false;
	const char *order = "DHMS";   /* the designators allowed, in order */

	if (*s++ != 'P')
		return false;
	while (*s != '\0') {
		const char *next;
		const char *at;

		if (*s == 'T' && !in_time) {
			in_time = true;
			s++;
			order = "HMS";
			if (*s == '\0')
				return false;
			continue;
		}
		if ((next = duration_number(s, &v)) == NULL || *next == '\0')
			return false;
		at = strchr(order, *next);
		if (at == NULL || (*next != 'D' && !in_time) || (*next == 'D' && in_time) ||
		    (*next != 'S' && memchr(s, '.', (size_t)(next - s)) != NULL))
			return false;
		total += v * (*next == 'D' ? 86400e3 : *next == 'H' ? 3600e3 : *next == 'M' ? 60e3 : 1e3);
		order = at + 1;
		s = next + 1;
		any = true;
	}
	if (!any || total > 86400e3 * 10000)
		return false;
	*ms = (long)total;
	return true;
}

static bool parse_delivery(wsman_request *r, const xml_node *d, wsman_fault *f)
{
	const char *mode = xml_node_attr(d, "Mode");

	r->delivery_mode = mode != NULL ? wsman_arena_strndup(&r->arena, mode, strlen(mode))
	                                : NULL;
	if (mode != NULL && r->delivery_mode == NULL)
		return wsman_fail(f, WBEM_E_OUT_OF_MEMORY, NULL, NULL, "out of memory");
	for (const xml_node *c = xml_node_first_elem(d); c != NULL; c = xml_node_next_elem(c)) {
		if (in_ns(c, NS_WSMAN) && strcmp(c->name, "Heartbeats") == 0) {
			const char *v = elem_text(r, c, true, f);

			if (v == NULL)
				return false;
			if (!wsman_duration_ms(v, &r->heartbeat_ms) || r->heartbeat_ms < 1000)
				return wsman_fail(f, WBEM_E_NOT_SUPPORTED, "wsman:UnsupportedFeature",
				                  "Heartbeats", "Heartbeats '%.40s' is not an xs:duration "
				                  "of a second or more", v);
		} else if (in_ns(c, NS_WSMAN) && strcmp(c->name, "ConnectionRetry") == 0) {
			r->connection_retry = true;
		}
		/* NotifyTo (push), MaxElements, MaxTime, MaxEnvelopeSize, Locale, DataLocale,
		 * ContentEncoding, Auth: nothing a Pull subscription uses */
	}
	return true;
}

static bool parse_expires(wsman_request *r, const xml_node *c, wsman_fault *f)
{
	const char *v = elem_text(r, c, true, f);

	if (v == NULL)
		return false;
	if (v[0] != 'P')
		return wsman_fail(f, WBEM_E_NOT_SUPPORTED, "wse:UnsupportedExpirationType", NULL,
		                  "Expires '%.40s' is not an xs:duration (a date is not "
		                  "supported)", v);
	if (!wsman_duration_ms(v, &r->expires_ms) || r->expires_ms <= 0)
		return wsman_fail(f, WBEM_E_INVALID_PARAMETER, "wse:InvalidExpirationTime", NULL,
		                  "Expires '%.40s' is not a positive xs:duration", v);
	r->expires = v;
	return true;
}

static bool parse_event_filter(wsman_request *r, const xml_node *c, wsman_fault *f)
{
	const char *dialect = xml_node_attr(c, "Dialect");

	if (r->filter != WSMAN_FILTER_NONE)
		return wsman_fail(f, WBEM_E_INVALID_QUERY, "wse:EventSourceUnableToProcess", NULL,
		                  "the Subscribe request has two filters");
	if (dialect == NULL || strcmp(dialect, DIALECT_WQL) != 0)
		return wsman_fail(f, WBEM_E_INVALID_QUERY_TYPE, "wse:FilteringRequestedUnavailable",
		                  NULL, "filter dialect %.200s is not supported (only WQL: "
		                  DIALECT_WQL ")", dialect != NULL ? dialect
		                  : "XPath (WS-Eventing's default)");
	r->filter = WSMAN_FILTER_WQL;
	r->filter_text = elem_text(r, c, true, f);
	if (r->filter_text == NULL)
		return false;
	if (*r->filter_text == '\0')
		return wsman_fail(f, WBEM_E_INVALID_QUERY, "wse:EventSourceUnableToProcess", NULL,
		                  "the WQL filter is empty");
	return true;
}

static bool parse_subscribe(wsman_request *r, const xml_node *body_elem, wsman_fault *f)
{
	bool delivery = false;

	if (!xml_node_is(body_elem, NS_WSE, "Subscribe"))
		return schema_error(f, "the body of a Subscribe request must be wse:Subscribe");
	for (const xml_node *c = xml_node_first_elem(body_elem); c != NULL;
	     c = xml_node_next_elem(c)) {
		const char *name = c->name;

		if (in_ns(c, NS_WSE) && strcmp(name, "Delivery") == 0) {
			if (delivery)
				return schema_error(f, "Delivery is given twice");
			delivery = true;
			if (!parse_delivery(r, c, f))
				return false;
		} else if (in_ns(c, NS_WSE) && strcmp(name, "Expires") == 0) {
			if (r->expires != NULL)
				return schema_error(f, "Expires is given twice");
			if (!parse_expires(r, c, f))
				return false;
		} else if ((in_ns(c, NS_WSMAN) || in_ns(c, NS_WSE)) && strcmp(name, "Filter") == 0) {
			if (!parse_event_filter(r, c, f))
				return false;
		} else if (in_ns(c, NS_WSMAN) && strcmp(name, "SendBookmarks") == 0) {
			r->send_bookmarks = true;
		} else if (in_ns(c, NS_WSMAN) && strcmp(name, "Bookmark") == 0) {
			if (r->bookmark != NULL)
				return schema_error(f, "Bookmark is given twice");
			if ((r->bookmark = elem_text(r, c, true, f)) == NULL)
				return false;
			if (*r->bookmark == '\0' || strlen(r->bookmark) > WSMAN_MAX_ID_LEN)
				return wsman_fail(f, WBEM_E_INVALID_PARAMETER, "wsman:InvalidBookmark",
				                  "InvalidFormat", "the bookmark is empty or too long");
		}
		/* e:EndTo: for push modes; nothing to do in Pull mode */
	}
	return true;
}

static bool parse_context(wsman_request *r, const xml_node *body_elem, const char *what,
                          wsman_fault *f)
{
	const xml_node *c;

	if (!xml_node_is(body_elem, NS_WSEN, what)) {
		char msg[96];

		snprintf(msg, sizeof msg, "the body of a %s request must be wsen:%s", what, what);
		return schema_error(f, msg);
	}
	for (c = xml_node_first_elem(body_elem); c != NULL; c = xml_node_next_elem(c)) {
		const char *name = c->name;

		if (!in_ns(c, NS_WSEN))
			continue;
		if (strcmp(name, "EnumerationContext") == 0) {
			const char *v = elem_text(r, c, true, f);

			if (v == NULL)
				return false;
			if (r->context != NULL)
				return schema_error(f, "EnumerationContext is given twice");
			r->context = v;
		} else if (strcmp(name, "MaxElements") == 0 || strcmp(name, "MaxCharacters") == 0) {
			const char *v = elem_text(r, c, true, f);
			unsigned long n;

			if (v == NULL)
				return false;
			if (!parse_count(v, 1, name[3] == 'E' ? WSMAN_MAX_ELEMENTS : INT_MAX, &n))
				return wsman_fail(f, WBEM_E_INVALID_PARAMETER, "wsman:InvalidParameter",
				                  "InvalidValue", "%s '%.40s' is not a positive count",
				                  name, v);
			if (name[3] == 'E')
				r->max_elements = (uint32_t)n;
			else
				r->max_chars = n;
		}
	}
	/* a host's are uuids; a broker's carry what they need (wsman_ctx.h) */
	if (r->context == NULL || *r->context == '\0' || strlen(r->context) > WSMAN_CTX_MAX_LEN)
		return wsman_fail(f, WBEM_E_INVALID_PARAMETER, "wsen:InvalidEnumerationContext",
		                  NULL, "the %s request has no valid EnumerationContext", what);
	return true;
}

/* True when NS is a URI of the request's class: the one sent or either form. */
static bool class_namespace(const wsman_request *r, const char *ns)
{
	char buf[512];

	if (strcasecmp(ns, r->resource_uri) == 0)
		return true;
	snprintf(buf, sizeof buf, "%s%s", URI_DMTF_PREFIX, r->class_name);
	if (strcasecmp(ns, buf) == 0)
		return true;
	snprintf(buf, sizeof buf, "%s%s/%s", URI_WMI_PREFIX, r->ns, r->class_name);
	return strcasecmp(ns, buf) == 0;
}

static bool is_nil(const xml_node *n)
{
	return is_true(xml_node_attr_ns(n, "nil", NS_XSI));
}

static bool parse_invoke_body(wsman_request *r, const xml_node *in, wsman_fault *f)
{
	const xml_node *c;
	char want[160];

	if (in == NULL)
		return true;     /* the MI client sends an empty body for no arguments */
	snprintf(want, sizeof want, "%s_INPUT", r->method);
	if (strcasecmp(in->name, want) != 0 || in->uri == NULL || !class_namespace(r, in->uri))
		return wsman_fail(f, WBEM_E_INVALID_METHOD_PARAMETERS, "wsman:InvalidParameter",
		                  NULL, "the body must be <%s> in the namespace of the "
		                  "ResourceURI, not %s", want, qname(in));
	if (xml_node_next_elem(in) != NULL)
		return wsman_fail(f, WBEM_E_INVALID_METHOD_PARAMETERS, "wsman:InvalidParameter",
		                  NULL, "the body holds more than the %s element", want);
	for (c = in->children; c != NULL; c = c->next) {
		if (c->name == NULL && !only_space(c->text))
			return wsman_fail(f, WBEM_E_INVALID_METHOD_PARAMETERS,
			                  "wsman:InvalidParameter", NULL,
			                  "text outside a parameter element in %s", want);
		if (c->name == NULL)
			continue;
		if (c->uri == NULL || strcmp(c->uri, in->uri) != 0)
			return wsman_fail(f, WBEM_E_INVALID_METHOD_PARAMETERS,
			                  "wsman:InvalidParameter", NULL,
			                  "parameter %s is not in the namespace of %s", qname(c), want);
		for (size_t i = 0; i < r->nargs; i++)
			if (strcasecmp(r->args[i].name, c->name) == 0)
				return wsman_fail(f, WBEM_E_INVALID_DUPLICATE_PARAMETER,
				                  "wsman:InvalidParameter", NULL,
				                  "parameter %s is given twice", c->name);
		if (r->nargs == WSMAN_MAX_PARAMS)
			return wsman_fail(f, WBEM_E_INVALID_METHOD_PARAMETERS,
			                  "wsman:InvalidParameter", NULL, "too many parameters");
		wsman_arg *a = &r->args[r->nargs];
		a->name = wsman_arena_strndup(&r->arena, c->name, strlen(c->name));
		if (a->name == NULL)
			return wsman_fail(f, WBEM_E_OUT_OF_MEMORY, NULL, NULL, "out of memory");
		if (is_nil(c)) {
			a->value = NULL;
		} else {
			if (xml_node_first_elem(c) != NULL)
				return wsman_fail(f, WBEM_E_TYPE_MISMATCH, "wsman:InvalidParameter",
				                  NULL, "parameter %s must be a simple value", a->name);
			a->value = elem_text(r, c, false, f);
			if (a->value == NULL)
				return false;
		}
		r->nargs++;
	}
	return true;
}

/* The method of a custom action: "{ResourceURI}/{Method}". */
static bool parse_method_action(wsman_request *r, wsman_fault *f)
{
	const char *slash = strrchr(r->action, '/');
	size_t plen;

	if (r->class_name == NULL || slash == NULL || !is_identifier(slash + 1))
		goto unsupported;
	plen = (size_t)(slash - r->action);
	if (!(strlen(r->resource_uri) == plen && strncasecmp(r->action, r->resource_uri, plen) == 0)) {
		/* Accept the other URI form of the same class: its last segment is the class. */
		const char *cls = slash;
		while (cls > r->action && cls[-1] != '/')
			cls--;
		if (cls == r->action || (size_t)(slash - cls) != strlen(r->class_name)
		    || strncasecmp(cls, r->class_name, (size_t)(slash - cls)) != 0
		    || !(prefix_ci(r->action, URI_WMI_PREFIX) || prefix_ci(r->action, URI_DMTF_PREFIX)))
			goto unsupported;
	}
	r->method = slash + 1;
	r->op = WSMAN_OP_INVOKE;
	return true;
unsupported:
	return wsman_fail(f, WBEM_E_INVALID_METHOD, "wsa:ActionNotSupported", NULL,
	                  "the action %.300s is not supported", r->action);
}

static bool classify_action(wsman_request *r, wsman_fault *f)
{
	static const struct { const char *uri; wsman_op op; } ops[] = {
		{ ACTION_GET, WSMAN_OP_GET }, { ACTION_ENUMERATE, WSMAN_OP_ENUMERATE },
		{ ACTION_PULL, WSMAN_OP_PULL }, { ACTION_RELEASE, WSMAN_OP_RELEASE },
		{ ACTION_SUBSCRIBE, WSMAN_OP_SUBSCRIBE }, { ACTION_UNSUBSCRIBE, WSMAN_OP_UNSUBSCRIBE },
		{ ACTION_RENEW, WSMAN_OP_RENEW },
	};

	for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
		if (strcmp(r->action, ops[i].uri) == 0) {
			r->op = ops[i].op;
			return true;
		}
	if (prefix_ci(r->action, NS_WXF "/") || prefix_ci(r->action, NS_WSEN "/")
	    || prefix_ci(r->action, "http://schemas.xmlsoap.org/ws/2004/08/eventing/"))
		return wsman_fail(f, WBEM_E_NOT_SUPPORTED, "wsa:ActionNotSupported", NULL,
		                  "the action %.300s is not supported (the class is read-only; "
		                  "subscriptions take Subscribe, Pull and Unsubscribe)", r->action);
	r->op = WSMAN_OP_INVOKE;   /* refined once the ResourceURI is known */
	return true;
}

/* Per-operation checks of the URI kind. */
static bool check_uri_for_op(wsman_request *r, wsman_fault *f)
{
	if (r->uri_kind == WSMAN_URI_ALL && r->op != WSMAN_OP_SUBSCRIBE)
		return wsman_fail(f, WBEM_E_INVALID_CLASS, "wsa:DestinationUnreachable",
		                  "InvalidResourceURI",
		                  "the all-classes ResourceURI serves only subscriptions");
	if (r->op == WSMAN_OP_SUBSCRIBE)
		return true;    /* the URI and the filter are checked together (wsman_events.c) */
	if (r->uri_kind == WSMAN_URI_WILDCARD && r->op != WSMAN_OP_ENUMERATE)
		return wsman_fail(f, WBEM_E_INVALID_CLASS, "wsa:DestinationUnreachable",
		                  "InvalidResourceURI",
		                  "the wildcard ResourceURI serves only WQL enumerations");
	if (r->uri_kind == WSMAN_URI_WILDCARD && r->filter != WSMAN_FILTER_WQL)
		return wsman_fail(f, WBEM_E_INVALID_CLASS, "wsa:DestinationUnreachable",
		                  "InvalidResourceURI",
		                  "the wildcard ResourceURI needs a WQL filter naming the class");
	if (r->uri_kind == WSMAN_URI_CLASSDEF && r->op == WSMAN_OP_INVOKE)
		return wsman_fail(f, WBEM_E_INVALID_METHOD, "wsa:ActionNotSupported", NULL,
		                  "class definitions have no methods to invoke");
	if (r->uri_kind == WSMAN_URI_CLASSDEF && r->op == WSMAN_OP_ENUMERATE
	    && r->filter != WSMAN_FILTER_NONE)
		return wsman_fail(f, WBEM_E_INVALID_QUERY, "wsen:CannotProcessFilter", NULL,
		                  "class enumerations take no filter");
	return true;
}

static bool parse_envelope(wsman_request *r, const xml_node *env, wsman_fault *f)
{
	const xml_node *c, *header = NULL, *body = NULL, *be;
	header_seen seen = { 0 };

	if (!xml_node_is(env, NS_SOAP, "Envelope")) {
		if (strcmp(env->name, "Envelope") == 0)
			return wsman_fail(f, WBEM_E_INVALID_PARAMETER, "s:VersionMismatch", NULL,
			                  "the envelope is not in the SOAP 1.2 namespace");
		return schema_error(f, "the root element is not a SOAP 1.2 Envelope");
	}
	for (c = xml_node_first_elem(env); c != NULL; c = xml_node_next_elem(c)) {
		if (xml_node_is(c, NS_SOAP, "Header") && header == NULL && body == NULL)
			header = c;
		else if (xml_node_is(c, NS_SOAP, "Body") && body == NULL)
			body = c;
		else
			return schema_error(f, "the Envelope must hold one optional Header and one Body");
	}
	if (body == NULL)
		return schema_error(f, "the Envelope has no Body");
	if (header != NULL && !parse_header(r, header, &seen, f))
		return false;
	be = xml_node_first_elem(body);

	if (r->action == NULL) {
		if (be != NULL && xml_node_is(be, NS_WSMID, "Identify") && xml_node_next_elem(be) == NULL) {
			r->op = WSMAN_OP_IDENTIFY;
			return true;
		}
		return wsman_fail(f, WBEM_E_INVALID_PARAMETER, "wsa:MessageInformationHeaderRequired",
		                  NULL, "the request has no wsa:Action header");
	}
	if (r->message_id == NULL)
		return wsman_fail(f, WBEM_E_INVALID_PARAMETER, "wsa:MessageInformationHeaderRequired",
		                  NULL, "the request has no wsa:MessageID header");
	if (!classify_action(r, f))
		return false;

	if (r->op == WSMAN_OP_PULL || r->op == WSMAN_OP_RELEASE) {
		/* The ResourceURI of a Pull repeats the Enumerate's; the context decides. */
		if (be == NULL)
			return schema_error(f, "the Pull/Release request has an empty body");
		return parse_context(r, be, r->op == WSMAN_OP_PULL ? "Pull" : "Release", f);
	}
	if (r->op == WSMAN_OP_UNSUBSCRIBE || r->op == WSMAN_OP_RENEW) {
		/* the subscription's Identifier decides, whatever the ResourceURI says */
		if (r->identifier == NULL || *r->identifier == '\0')
			return wsman_fail(f, WBEM_E_INVALID_PARAMETER,
			                  "wsa:MessageInformationHeaderRequired", NULL,
			                  "the request has no wse:Identifier header");
		return true;
	}
	if (r->resource_uri == NULL)
		return wsman_fail(f, WBEM_E_INVALID_CLASS, "wsa:DestinationUnreachable",
		                  "InvalidResourceURI", "the request has no wsman:ResourceURI header");
	if (!parse_resource_uri(r, seen.cimns, f))
		return false;
	if (r->op == WSMAN_OP_INVOKE) {
		if (r->uri_kind == WSMAN_URI_CLASSDEF || r->uri_kind == WSMAN_URI_WILDCARD)
			return check_uri_for_op(r, f);
		if (!parse_method_action(r, f))
			return false;
		if (!parse_invoke_body(r, be, f))
			return false;
	} else if (r->op == WSMAN_OP_ENUMERATE) {
		if (be == NULL)
			return schema_error(f, "the Enumerate request has an empty body");
		if (!parse_enumerate(r, be, f))
			return false;
	} else if (r->op == WSMAN_OP_SUBSCRIBE) {
		if (be == NULL)
			return schema_error(f, "the Subscribe request has an empty body");
		if (!parse_subscribe(r, be, f))
			return false;
	}
	return check_uri_for_op(r, f);
}

bool wsman_parse(const char *body, size_t len, wsman_request *req, wsman_fault *f)
{
	xml_tree *t = wsman_tree_read(body, len, f);
	bool ok;

	if (t == NULL)
		return false;
	ok = parse_envelope(req, xml_tree_root(t), f);
	xml_tree_free(t);
	return ok;
}

void wsman_request_free(wsman_request *req)
{
	wsman_arena_free(&req->arena);
}

const char *const wsman_media_types[] = { "application/soap+xml", "text/xml", NULL };

bool wsman_is_identify(const char *body, size_t len)
{
	wsman_request r = { 0 };
	wsman_fault f;
	bool yes;

	yes = wsman_parse(body, len, &r, &f) && r.op == WSMAN_OP_IDENTIFY;
	wsman_request_free(&r);
	return yes;
}
