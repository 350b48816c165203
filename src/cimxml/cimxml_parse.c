/*
 * cimxml_parse.c -- a CIM-XML request (CIM headers + body) to a cimxml_call.
 *
 * libxml2's SAX2 parser builds the light tree of src/common/xml_read.c (as
 * for WS-Man: the same checks and refusals as its DOM reader, at a fraction
 * of the allocations): no network, and a DOCTYPE stops the parser, so
 * external entities and entity expansion (XXE, billion laughs) never
 * happen; nesting is bounded while the tree is built.
 *
 * The checks come in the order DSP0200 implies, because the kind of answer
 * depends on how far we got:
 *   1. the CIMOperation header, the body size and media type;
 *   2. XML well-formedness                     -> 400 request-not-well-formed
 *   3. the envelope CIM/MESSAGE/SIMPLEREQ/(I)METHODCALL, its versions and
 *      the target path's structure             -> 400 request-not-valid, 501
 *   4. CIMMethod/CIMObject against the body    -> 400 header-mismatch
 *   5. parameters: names, values, key bindings -> a CIM error (HTTP 200)
 * Anything the DTD requires is step 3; what depends on the operation or on
 * the class is step 5, so that a client sees e.g. CIM_ERR_INVALID_PARAMETER
 * naming the parameter.  Nothing here calls the operation layer.
 */
#include "cimxml_internal.h"

#include <ctype.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>


#include "../common/xml_read.h"
#include "../schema/schema.h"

/* The parse in progress. */
typedef struct pctx {
	cimxml_call   *call;
	cimxml_status *st;
	bool           oom;   /* an allocation failed; reported at the end */
} pctx;

/* ---- failures ------------------------------------------------------------ */

static bool __attribute__((format(printf, 5, 0)))
vfail(pctx *c, int http, const char *cim_error, uint32_t code, const char *fmt, va_list ap)
{
	c->st->http_status = http;
	c->st->cim_error = cim_error;
	c->st->err.code = code;
	vsnprintf(c->st->err.message, sizeof c->st->err.message, fmt, ap);
	return false;
}

/* An HTTP-level failure: status HTTP with the CIMError header CIM_ERROR. */
static bool __attribute__((format(printf, 4, 5)))
http_fail(pctx *c, int http, const char *cim_error, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail(c, http, cim_error, WBEM_E_INVALID_PARAMETER, fmt, ap);
	va_end(ap);
	return false;
}

/* A CIM error, answered inside the method response with HTTP 200. */
static bool __attribute__((format(printf, 3, 4)))
cim_fail(pctx *c, uint32_t code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail(c, 200, NULL, code, fmt, ap);
	va_end(ap);
	return false;
}

static bool invalid(pctx *c, const char *what)
{
	return http_fail(c, CIMXML_HTTP_BAD_REQUEST, CIMERR_NOT_VALID, "%s", what);
}

/* ---- tree helpers -------------------------------------------------------- */

static bool is(const xml_node *n, const char *name)
{
	return n != NULL && n->name != NULL && n->uri == NULL && strcmp(n->name, name) == 0;
}

static const xml_node *first_child(const xml_node *n)
{
	return n != NULL ? xml_node_first_elem(n) : NULL;
}

static const xml_node *next_sibling(const xml_node *n)
{
	return n != NULL ? xml_node_next_elem(n) : NULL;
}

static const char *elem_name(const xml_node *n)
{
	return n != NULL ? n->name : "(nothing)";
}

/* S copied (malloc'd); NULL with C->oom set when out of memory. */
static char *dup_text(pctx *c, const char *s)
{
	char *d = strdup(s);

	if (d == NULL)
		c->oom = true;
	return d;
}

/* Attribute NAME (in no namespace) of N (malloc'd), NULL when absent. */
static char *get_attr(pctx *c, const xml_node *n, const char *name)
{
	const char *v = xml_node_attr_ns(n, name, NULL);

	return v != NULL ? dup_text(c, v) : NULL;
}

/*
 * The character content of N (malloc'd, "" when empty).  VALUE and KEYVALUE
 * are #PCDATA: an element inside is a CIM error (NULL, not an allocation
 * failure).  Without element children N has at most one text child, which
 * holds all its character data (xml_read.h).
 */
static char *get_text(pctx *c, const xml_node *n)
{
	const xml_node *e = first_child(n);

	if (e != NULL) {
		cim_fail(c, WBEM_E_INVALID_PARAMETER, "<%s> may hold only text, not <%s>",
		         elem_name(n), elem_name(e));
		return NULL;
	}
	return dup_text(c, n->children != NULL ? n->children->text : "");
}

/* ---- step 1: headers ----------------------------------------------------- */

const char *const cimxml_media_types[] = { "application/xml", "text/xml", NULL };

static bool check_transport(pctx *c, const cimxml_request *req, size_t max_len)
{
	if (req->cim_operation == NULL || strcasecmp(req->cim_operation, "MethodCall") != 0)
		return http_fail(c, CIMXML_HTTP_BAD_REQUEST, CIMERR_UNSUPPORTED_OP,
		                 "the CIMOperation header is %s; expected MethodCall",
		                 req->cim_operation ? "not MethodCall" : "missing");
	if (req->content_type != NULL && !str_media_type_in(req->content_type, cimxml_media_types))
		return http_fail(c, CIMXML_HTTP_BAD_REQUEST, CIMERR_NOT_VALID,
		                 "Content-Type must be application/xml or text/xml");
	if (max_len > 0 && req->len > max_len)
		return http_fail(c, CIMXML_HTTP_TOO_LARGE, NULL,
		                 "the request has %zu bytes; the limit is %zu", req->len, max_len);
	if (req->body == NULL || req->len == 0)
		return http_fail(c, CIMXML_HTTP_BAD_REQUEST, CIMERR_NOT_WELL_FORMED,
		                 "the request body is empty");
	if (req->len > INT_MAX)
		return http_fail(c, CIMXML_HTTP_TOO_LARGE, NULL, "the request is too large");
	return true;
}

/* ---- step 2: XML --------------------------------------------------------- */

/* The shared safe reader (src/common/xml_read.c), its refusals as DSP0200 errors. */
static xml_tree *read_xml(pctx *c, const char *body, size_t len)
{
	xml_read_error why;
	char msg[300];
	xml_tree *doc = xml_tree_read(body, len, CIMXML_MAX_DEPTH, &why, msg, sizeof msg);

	switch (why) {
	case XML_READ_OK:
		return doc;
	case XML_READ_NO_MEMORY:
		c->oom = true;
		http_fail(c, 500, NULL, "out of memory");
		break;
	case XML_READ_TOO_LARGE:
		http_fail(c, CIMXML_HTTP_TOO_LARGE, NULL, "%s", msg);
		break;
	case XML_READ_TOO_DEEP:
		http_fail(c, CIMXML_HTTP_BAD_REQUEST, CIMERR_NOT_VALID, "%s", msg);
		break;
	case XML_READ_EMPTY:
	case XML_READ_NOT_UTF8:
	case XML_READ_DTD:
	case XML_READ_MALFORMED:
		http_fail(c, CIMXML_HTTP_BAD_REQUEST, CIMERR_NOT_WELL_FORMED, "%s", msg);
		break;
	}
	return NULL;
}

/* ---- step 3: the envelope ------------------------------------------------ */

/* True when version text V has major version MAJOR ("2.0", "2.4" ...). */
static bool major_is(const char *v, char major)
{
	return v != NULL && v[0] == major && (v[1] == '\0' || v[1] == '.');
}

static bool check_version(pctx *c, const xml_node *n, const char *attr, char major,
                          const char *cim_error)
{
	char *v = get_attr(c, n, attr);
	bool ok = major_is(v, major);

	if (v == NULL)
		http_fail(c, CIMXML_HTTP_BAD_REQUEST, CIMERR_NOT_VALID,
		          "<%s> has no %s attribute", elem_name(n), attr);
	else if (!ok)
		http_fail(c, CIMXML_HTTP_NOT_IMPLEMENTED, cim_error,
		          "%s %.20s is not supported (%c.x is)", attr, v, major);
	free(v);
	return v != NULL && ok;
}

/* CIM/MESSAGE/SIMPLEREQ: returns the IMETHODCALL or METHODCALL element. */
static const xml_node *parse_envelope(pctx *c, const xml_tree *doc)
{
	const xml_node *root = xml_tree_root(doc), *msg, *req, *callnode;
	char *id;

	if (!is(root, "CIM"))
		return invalid(c, root && root->uri ? "the root element must be <CIM> without a namespace"
		                                   : "the root element must be <CIM>"), NULL;
	if (!check_version(c, root, "CIMVERSION", '2', CIMERR_CIM_VERSION)
	    || !check_version(c, root, "DTDVERSION", '2', CIMERR_DTD_VERSION))
		return NULL;
	msg = first_child(root);
	if (!is(msg, "MESSAGE") || next_sibling(msg) != NULL)
		return invalid(c, "<CIM> must hold exactly one <MESSAGE>"), NULL;
	if ((id = get_attr(c, msg, "ID")) == NULL)
		return invalid(c, "<MESSAGE> has no ID attribute"), NULL;
	if (strlen(id) > CIMXML_MAX_ID_LEN) {
		free(id);
		return invalid(c, "the MESSAGE ID is too long"), NULL;
	}
	c->call->message_id = id;
	if (!check_version(c, msg, "PROTOCOLVERSION", '1', CIMERR_PROTOCOL_VERSION))
		return NULL;
	req = first_child(msg);
	if (is(req, "MULTIREQ"))
		return http_fail(c, CIMXML_HTTP_NOT_IMPLEMENTED, CIMERR_MULTIREQ,
		                 "multiple requests (MULTIREQ) are not supported"), NULL;
	if (!is(req, "SIMPLEREQ") || next_sibling(req) != NULL)
		return http_fail(c, CIMXML_HTTP_BAD_REQUEST, CIMERR_NOT_VALID,
		                 "<MESSAGE> must hold one <SIMPLEREQ>, not <%s>", elem_name(req)), NULL;
	/* DSP0201 2.4 allows CORRELATORs before the call; they carry nothing for us. */
	callnode = first_child(req);
	while (is(callnode, "CORRELATOR"))
		callnode = next_sibling(callnode);
	if (!is(callnode, "IMETHODCALL") && !is(callnode, "METHODCALL"))
		return http_fail(c, CIMXML_HTTP_BAD_REQUEST, CIMERR_NOT_VALID,
		                 "<SIMPLEREQ> must hold <IMETHODCALL> or <METHODCALL>, not <%s>",
		                 elem_name(callnode)), NULL;
	if (next_sibling(callnode) != NULL)
		return invalid(c, "<SIMPLEREQ> holds more than one call"), NULL;
	c->call->intrinsic = is(callnode, "IMETHODCALL");
	c->call->method = get_attr(c, callnode, "NAME");
	if (c->call->method == NULL || c->call->method[0] == '\0'
	    || strlen(c->call->method) > CIMXML_MAX_NAME_LEN)
		return invalid(c, "the call has no valid NAME attribute"), NULL;
	return callnode;
}

/* LOCALNAMESPACEPATH: NAMESPACE NAME segments joined with '/'. */
static bool parse_namespace(pctx *c, const xml_node *n)
{
	strbuf b = { 0 };
	size_t parts = 0;

	if (!is(n, "LOCALNAMESPACEPATH"))
		return http_fail(c, CIMXML_HTTP_BAD_REQUEST, CIMERR_NOT_VALID,
		                 "expected <LOCALNAMESPACEPATH>, found <%s>", elem_name(n));
	for (const xml_node *ns = first_child(n); ns != NULL; ns = next_sibling(ns)) {
		char *name;

		if (!is(ns, "NAMESPACE") || ++parts > CIMXML_MAX_NS_PARTS) {
			strbuf_free(&b);
			return invalid(c, "<LOCALNAMESPACEPATH> may hold only NAMESPACE elements");
		}
		name = get_attr(c, ns, "NAME");
		if (name == NULL || name[0] == '\0' || strpbrk(name, "/\\:") != NULL) {
			free(name);
			strbuf_free(&b);
			return invalid(c, "a NAMESPACE needs a NAME without / \\ or :");
		}
		if (b.len > 0)
			strbuf_puts(&b, "/");
		strbuf_puts(&b, name);
		free(name);
	}
	if (parts == 0)
		return invalid(c, "<LOCALNAMESPACEPATH> holds no NAMESPACE");
	if (b.len > CIMXML_MAX_NS_LEN) {
		strbuf_free(&b);
		return invalid(c, "the namespace is too long");
	}
	c->call->ns = strbuf_take(&b);
	if (c->call->ns == NULL)
		c->oom = true;
	return c->call->ns != NULL;
}

/* ---- step 4: CIMMethod and CIMObject against the body ---------------------- */

static int hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	ch = tolower(ch);
	return ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

/* %XX-decodes S; NULL (and *bad) for a broken escape or %00. */
static char *url_decode(pctx *c, const char *s, bool *bad)
{
	char *out = malloc(strlen(s) + 1), *o = out;

	*bad = false;
	if (out == NULL) {
		c->oom = true;
		return NULL;
	}
	while (*s != '\0') {
		if (*s == '%') {
			int hi = hexval((unsigned char)s[1]), lo = hi < 0 ? -1 : hexval((unsigned char)s[2]);

			if (lo < 0 || (hi | lo) == 0) {
				free(out);
				*bad = true;
				return NULL;
			}
			*o++ = (char)(hi << 4 | lo);
			s += 3;
		} else {
			*o++ = *s++;
		}
	}
	*o = '\0';
	return out;
}

static bool mismatch(pctx *c, const char *what)
{
	return http_fail(c, CIMXML_HTTP_HEADER_MISMATCH, CIMERR_HEADER_MISMATCH, "%s", what);
}

static bool check_method_header(pctx *c, const cimxml_request *req)
{
	if (req->cim_method == NULL)
		return mismatch(c, "the CIMMethod header is missing");
	if (strcasecmp(req->cim_method, c->call->method) != 0)
		return mismatch(c, "the CIMMethod header names another method than the body");
	return true;
}

/*
 * The CIMObject header: the namespace for an intrinsic call, the namespace
 * and object path for an extrinsic one.  CLASS_NAME is the class the body
 * targets (extrinsic calls); the keys are compared by check_object_keys()
 * once the body's INSTANCENAME is parsed.  *HDR receives the parsed path.
 */
static bool check_object_header(pctx *c, const cimxml_request *req, const char *class_name,
                                cim_path *hdr)
{
	rdms_error e;
	bool bad, ok;
	char *text;

	if (req->cim_object == NULL)
		return mismatch(c, "the CIMObject header is missing");
	if ((text = url_decode(c, req->cim_object, &bad)) == NULL)
		return bad ? mismatch(c, "the CIMObject header has a broken %-escape") : false;
	if (c->call->intrinsic) {
		ok = cim_namespace_equal(text, c->call->ns);
		free(text);
		return ok ? true : mismatch(c, "the CIMObject header names another namespace than the body");
	}
	ok = cim_path_parse(text, hdr, &e) == WBEM_S_NO_ERROR;
	free(text);
	if (!ok)
		return mismatch(c, "the CIMObject header is not an object path");
	if (hdr->namespace_ == NULL || !cim_namespace_equal(hdr->namespace_, c->call->ns))
		return mismatch(c, "the CIMObject header names another namespace than the body");
	if (class_name == NULL || strcasecmp(hdr->class_name, class_name) != 0)
		return mismatch(c, "the CIMObject header names another class than the body");
	return true;
}

/* The header's keys must be the body's: same names, same values as text. */
static bool check_object_keys(pctx *c, const cim_path *hdr, const cim_path *body)
{
	if (hdr->nkeys != body->nkeys)
		return mismatch(c, "the CIMObject header has other keys than the body");
	for (size_t i = 0; i < hdr->nkeys; i++) {
		const cim_keybinding *h = &hdr->keys[i];
		bool found = false;

		for (size_t j = 0; j < body->nkeys && !found; j++) {
			const cim_keybinding *k = &body->keys[j];
			char a[64], b[64];
			const char *ta, *tb;

			if (strcasecmp(h->name ? h->name : "", k->name ? k->name : "") != 0)
				continue;
			ta = h->value.type == CIM_TYPE_STRING ? h->value.u.str
			                                      : cim_value_text(&h->value, a, sizeof a);
			tb = k->value.type == CIM_TYPE_STRING ? k->value.u.str
			                                      : cim_value_text(&k->value, b, sizeof b);
			found = strcasecmp(ta ? ta : "", tb ? tb : "") == 0;
		}
		if (!found)
			return mismatch(c, "the CIMObject header has other key values than the body");
	}
	return true;
}

/* ---- step 5: values and instance names ------------------------------------- */

/* A KEYVALUE as a typed value: VALUETYPE string (default), numeric, boolean. */
static bool parse_keyvalue(pctx *c, const xml_node *kv, const char *key, cim_value *out)
{
	char *vt = get_attr(c, kv, "VALUETYPE"), *type = get_attr(c, kv, "TYPE");
	char *text = get_text(c, kv), what[CIMXML_MAX_NAME_LEN + 8];
	cim_type t = CIM_TYPE_STRING;
	rdms_error e = { 0 };
	bool ok = false;

	snprintf(what, sizeof what, "key %s", key);
	if (text == NULL)
		goto out;
	if (vt == NULL || strcmp(vt, "string") == 0) {
		*out = cim_string(text);
		if (out->is_null)
			c->oom = true;
		ok = !out->is_null;
		goto out;
	}
	if (strcmp(vt, "boolean") == 0) {
		t = CIM_TYPE_BOOLEAN;
	} else if (strcmp(vt, "numeric") == 0) {
		cim_type declared = type ? cim_type_from_name(type) : CIM_TYPE_NONE;
		const char *p = text + strspn(text, " \t\r\n");

		if (declared == CIM_TYPE_UINT32 || declared == CIM_TYPE_SINT32)
			t = declared;
		else
			t = *p == '-' ? CIM_TYPE_SINT32 : CIM_TYPE_UINT32;
	} else {
		cim_fail(c, WBEM_E_INVALID_PARAMETER,
		         "key %s: KEYVALUE VALUETYPE must be string, boolean or numeric, not \"%.40s\"",
		         key, vt);
		goto out;
	}
	/* Numbers and booleans may come padded; strings are taken as they are. */
	{
		char *p = text + strspn(text, " \t\r\n"), *end = p + strlen(p);

		while (end > p && strchr(" \t\r\n", end[-1]) != NULL)
			*--end = '\0';
		if (cim_value_parse(t, p, what, out, &e) != WBEM_S_NO_ERROR) {
			cim_fail(c, e.code == WBEM_E_OUT_OF_MEMORY ? e.code : WBEM_E_INVALID_PARAMETER,
			         "%s", e.message);
			goto out;
		}
	}
	ok = true;
out:
	free(vt);
	free(type);
	free(text);
	return ok;
}

static bool add_key(pctx *c, cim_path *p, const char *name, const xml_node *kv)
{
	cim_keybinding *k;

	if (p->nkeys >= CIMXML_MAX_KEYS)
		return cim_fail(c, WBEM_E_INVALID_PARAMETER, "more than %d key bindings",
		                CIMXML_MAX_KEYS);
	k = &p->keys[p->nkeys];
	memset(k, 0, sizeof *k);
	if (name != NULL && (k->name = strdup(name)) == NULL) {
		c->oom = true;
		return false;
	}
	if (!parse_keyvalue(c, kv, name ? name : "(unnamed)", &k->value)) {
		free(k->name);
		k->name = NULL;
		return false;
	}
	p->nkeys++;
	return true;
}

/* INSTANCENAME into C->call->path, in the call's namespace. */
static bool parse_instancename(pctx *c, const xml_node *n)
{
	cim_path *p = &c->call->path;
	const xml_node *kb;

	p->class_name = get_attr(c, n, "CLASSNAME");
	if (p->class_name == NULL || p->class_name[0] == '\0')
		return cim_fail(c, WBEM_E_INVALID_PARAMETER, "INSTANCENAME has no CLASSNAME");
	if ((p->namespace_ = strdup(c->call->ns)) == NULL
	    || (p->keys = calloc(CIMXML_MAX_KEYS, sizeof *p->keys)) == NULL) {
		c->oom = true;
		return false;
	}
	c->call->has_path = true;
	kb = first_child(n);
	if (is(kb, "KEYVALUE")) {
		/* The single-key shorthand; binding it to the class checks the key count. */
		if (next_sibling(kb) != NULL)
			return cim_fail(c, WBEM_E_INVALID_PARAMETER,
			                "INSTANCENAME holds more than one unnamed KEYVALUE");
		return add_key(c, p, NULL, kb);
	}
	for (; kb != NULL; kb = next_sibling(kb)) {
		const xml_node *kv = first_child(kb);
		char *name;
		bool ok;

		if (is(kb, "VALUE.REFERENCE") || is(kv, "VALUE.REFERENCE"))
			return cim_fail(c, WBEM_E_INVALID_PARAMETER,
			                "reference-valued keys are not supported");
		if (!is(kb, "KEYBINDING"))
			return cim_fail(c, WBEM_E_INVALID_PARAMETER,
			                "INSTANCENAME may hold KEYBINDING elements, not <%s>",
			                elem_name(kb));
		name = get_attr(c, kb, "NAME");
		if (name == NULL || name[0] == '\0' || strlen(name) > CIMXML_MAX_NAME_LEN) {
			free(name);
			return cim_fail(c, WBEM_E_INVALID_PARAMETER, "a KEYBINDING has no valid NAME");
		}
		if (!is(kv, "KEYVALUE") || next_sibling(kv) != NULL) {
			cim_fail(c, WBEM_E_INVALID_PARAMETER,
			         "KEYBINDING %s must hold one KEYVALUE", name);
			free(name);
			return false;
		}
		ok = add_key(c, p, name, kv);
		free(name);
		if (!ok)
			return false;
	}
	return true;
}

/* "ns:Class.Key=..." for the audit record. */
static bool make_path_text(pctx *c)
{
	char *rel = cim_path_format(&c->call->path);
	strbuf b = { 0 };

	if (rel == NULL) {
		c->oom = true;
		return false;
	}
	strbuf_printf(&b, "%s:%s", c->call->ns, rel);
	free(rel);
	if ((c->call->path_text = strbuf_take(&b)) == NULL)
		c->oom = true;
	return c->call->path_text != NULL;
}

/* ---- step 5: intrinsic parameters ------------------------------------------ */

enum param_kind { PK_CLASSNAME, PK_INSTANCENAME, PK_BOOL, PK_STRING, PK_STRINGLIST };

enum {
	P_CLASSNAME = 1u << 0, P_INSTANCENAME = 1u << 1, P_LOCALONLY = 1u << 2,
	P_DEEP = 1u << 3, P_QUALS = 1u << 4, P_ORIGIN = 1u << 5, P_PROPLIST = 1u << 6,
	P_QUERYLANG = 1u << 7, P_QUERY = 1u << 8,
};

static const struct param_def {
	const char     *name;
	unsigned        bit;
	enum param_kind kind;
} param_defs[] = {
	{ "ClassName",          P_CLASSNAME,    PK_CLASSNAME },
	{ "InstanceName",       P_INSTANCENAME, PK_INSTANCENAME },
	{ "LocalOnly",          P_LOCALONLY,    PK_BOOL },
	{ "DeepInheritance",    P_DEEP,         PK_BOOL },
	{ "IncludeQualifiers",  P_QUALS,        PK_BOOL },
	{ "IncludeClassOrigin", P_ORIGIN,       PK_BOOL },
	{ "PropertyList",       P_PROPLIST,     PK_STRINGLIST },
	{ "QueryLanguage",      P_QUERYLANG,    PK_STRING },
	{ "Query",              P_QUERY,        PK_STRING },
};

/* The intrinsic methods served, their parameters and DSP0200 defaults. */
static const struct op_def {
	const char *name;
	cimxml_op   op;
	unsigned    allowed;
	unsigned    required;
	bool        deep_default;
	bool        quals_default;
} op_defs[] = {
	{ "EnumerateInstances", CIMXML_OP_ENUMERATE_INSTANCES,
	  P_CLASSNAME | P_LOCALONLY | P_DEEP | P_QUALS | P_ORIGIN | P_PROPLIST, P_CLASSNAME,
	  true, false },
	{ "EnumerateInstanceNames", CIMXML_OP_ENUMERATE_INSTANCE_NAMES,
	  P_CLASSNAME, P_CLASSNAME, true, false },
	{ "GetInstance", CIMXML_OP_GET_INSTANCE,
	  P_INSTANCENAME | P_LOCALONLY | P_QUALS | P_ORIGIN | P_PROPLIST, P_INSTANCENAME,
	  false, false },
	{ "ExecQuery", CIMXML_OP_EXEC_QUERY,
	  P_QUERYLANG | P_QUERY, P_QUERYLANG | P_QUERY, false, false },
	{ "GetClass", CIMXML_OP_GET_CLASS,
	  P_CLASSNAME | P_LOCALONLY | P_QUALS | P_ORIGIN | P_PROPLIST, P_CLASSNAME,
	  false, true },
	{ "EnumerateClasses", CIMXML_OP_ENUMERATE_CLASSES,
	  P_CLASSNAME | P_DEEP | P_LOCALONLY | P_QUALS | P_ORIGIN, 0, false, true },
	{ "EnumerateClassNames", CIMXML_OP_ENUMERATE_CLASS_NAMES,
	  P_CLASSNAME | P_DEEP, 0, false, false },
};

static bool parse_bool(pctx *c, const struct param_def *d, const xml_node *v, bool *out)
{
	char *text, *p;
	bool ok = true;

	if (v == NULL)
		return true;    /* NULL: the default */
	if (!is(v, "VALUE"))
		return cim_fail(c, WBEM_E_INVALID_PARAMETER, "%s must be a boolean VALUE", d->name);
	if ((text = get_text(c, v)) == NULL)
		return false;
	p = text + strspn(text, " \t\r\n");
	p[strcspn(p, " \t\r\n")] = '\0';
	if (strcasecmp(p, "TRUE") == 0)
		*out = true;
	else if (strcasecmp(p, "FALSE") == 0)
		*out = false;
	else
		ok = cim_fail(c, WBEM_E_INVALID_PARAMETER, "%s must be TRUE or FALSE, not \"%.40s\"",
		              d->name, p);
	free(text);
	return ok;
}

static bool parse_string_list(pctx *c, const struct param_def *d, const xml_node *v)
{
	cimxml_call *call = c->call;

	if (v == NULL)
		return true;    /* NULL: every property */
	if (!is(v, "VALUE.ARRAY"))
		return cim_fail(c, WBEM_E_INVALID_PARAMETER, "%s must be a VALUE.ARRAY", d->name);
	call->has_property_list = true;
	if ((call->property_list = calloc(CIMXML_MAX_PROPLIST, sizeof *call->property_list)) == NULL) {
		c->oom = true;
		return false;
	}
	for (const xml_node *e = first_child(v); e != NULL; e = next_sibling(e)) {
		if (is(e, "VALUE.NULL"))
			continue;
		if (!is(e, "VALUE"))
			return cim_fail(c, WBEM_E_INVALID_PARAMETER, "%s may hold VALUE elements only",
			                d->name);
		if (call->nproperties >= CIMXML_MAX_PROPLIST)
			return cim_fail(c, WBEM_E_INVALID_PARAMETER, "%s names more than %d properties",
			                d->name, CIMXML_MAX_PROPLIST);
		if ((call->property_list[call->nproperties] = get_text(c, e)) == NULL)
			return false;
		call->nproperties++;
	}
	return true;
}

static bool parse_iparam(pctx *c, const struct param_def *d, const xml_node *v)
{
	cimxml_call *call = c->call;
	char **dst;

	if (v != NULL && next_sibling(v) != NULL)
		return cim_fail(c, WBEM_E_INVALID_PARAMETER, "%s holds more than one value", d->name);
	switch (d->kind) {
	case PK_CLASSNAME:
		if (v == NULL)
			return true;
		if (!is(v, "CLASSNAME"))
			return cim_fail(c, WBEM_E_INVALID_PARAMETER, "%s must be a CLASSNAME", d->name);
		call->class_name = get_attr(c, v, "NAME");
		if (call->class_name == NULL || call->class_name[0] == '\0'
		    || strlen(call->class_name) > CIMXML_MAX_NAME_LEN)
			return cim_fail(c, WBEM_E_INVALID_PARAMETER, "CLASSNAME has no valid NAME");
		return true;
	case PK_INSTANCENAME:
		if (!is(v, "INSTANCENAME"))
			return cim_fail(c, WBEM_E_INVALID_PARAMETER, "%s must be an INSTANCENAME", d->name);
		return parse_instancename(c, v);
	case PK_BOOL:
		return parse_bool(c, d, v, d->bit == P_LOCALONLY ? &call->local_only
		                         : d->bit == P_DEEP ? &call->deep_inheritance
		                         : d->bit == P_QUALS ? &call->include_qualifiers
		                         : &call->include_class_origin);
	case PK_STRING:
		if (v == NULL)
			return true;
		if (!is(v, "VALUE"))
			return cim_fail(c, WBEM_E_INVALID_PARAMETER, "%s must be a string VALUE", d->name);
		dst = d->bit == P_QUERY ? &call->query : &call->query_language;
		return (*dst = get_text(c, v)) != NULL;
	case PK_STRINGLIST:
		return parse_string_list(c, d, v);
	}
	return false;
}

static const struct param_def *find_param(const char *name)
{
	for (size_t i = 0; i < sizeof param_defs / sizeof param_defs[0]; i++)
		if (strcasecmp(param_defs[i].name, name) == 0)
			return &param_defs[i];
	return NULL;
}

/* A required parameter must be present and not NULL. */
static bool check_required(pctx *c, const struct op_def *od)
{
	const cimxml_call *call = c->call;

	for (size_t i = 0; i < sizeof param_defs / sizeof param_defs[0]; i++) {
		const struct param_def *d = &param_defs[i];
		bool given;

		if (!(od->required & d->bit))
			continue;
		given = d->bit == P_CLASSNAME ? call->class_name != NULL
		      : d->bit == P_INSTANCENAME ? call->has_path
		      : d->bit == P_QUERY ? call->query != NULL
		      : call->query_language != NULL;
		if (!given)
			return cim_fail(c, WBEM_E_INVALID_PARAMETER, "%s needs the parameter %s",
			                od->name, d->name);
	}
	return true;
}

static bool parse_intrinsic(pctx *c, const xml_node *first)
{
	cimxml_call *call = c->call;
	const struct op_def *od = NULL;
	unsigned seen = 0, count = 0;

	for (size_t i = 0; i < sizeof op_defs / sizeof op_defs[0]; i++)
		if (strcasecmp(op_defs[i].name, call->method) == 0)
			od = &op_defs[i];
	if (od == NULL)
		return cim_fail(c, WBEM_E_NOT_SUPPORTED,
		                "the intrinsic method %s is not supported by this server", call->method);
	call->op = od->op;
	call->local_only = true;
	call->deep_inheritance = od->deep_default;
	call->include_qualifiers = od->quals_default;
	call->include_class_origin = false;
	for (const xml_node *n = first; n != NULL; n = next_sibling(n)) {
		const struct param_def *d;
		char *name;

		if (!is(n, "IPARAMVALUE"))
			return invalid(c, "<IMETHODCALL> may hold only IPARAMVALUE elements "
			                  "after LOCALNAMESPACEPATH");
		if (++count > CIMXML_MAX_IPARAMS)
			return cim_fail(c, WBEM_E_INVALID_PARAMETER, "more than %d parameters",
			                CIMXML_MAX_IPARAMS);
		if ((name = get_attr(c, n, "NAME")) == NULL)
			return invalid(c, "an IPARAMVALUE has no NAME");
		d = find_param(name);
		if (d == NULL || !(od->allowed & d->bit)) {
			cim_fail(c, WBEM_E_INVALID_PARAMETER, "%s has no parameter %.*s",
			         od->name, CIMXML_MAX_NAME_LEN, name);
			free(name);
			return false;
		}
		free(name);
		if (seen & d->bit)
			return cim_fail(c, WBEM_E_INVALID_PARAMETER, "parameter %s is given twice", d->name);
		seen |= d->bit;
		if (!parse_iparam(c, d, first_child(n)))
			return false;
	}
	return check_required(c, od);
}

/* ---- step 5: extrinsic calls ---------------------------------------------- */

/* The declared type of parameter NAME, or NONE when the class does not know it. */
static cim_type declared_type(const cimxml_call *call, const char *name)
{
	const cim_class *cls = rdms_schema_find(call->path.class_name);
	const cim_method *m = cls ? cim_class_method(cls, call->method) : NULL;
	const cim_parameter *par = m ? cim_method_parameter(m, name) : NULL;

	return par ? par->type : CIM_TYPE_NONE;
}

static bool parse_paramvalue(pctx *c, const xml_node *n)
{
	cimxml_call *call = c->call;
	rdms_param *p = &call->params[call->nparams];
	char *ptype = get_attr(c, n, "PARAMTYPE"), *text = NULL, what[CIMXML_MAX_NAME_LEN + 16];
	const xml_node *v = first_child(n);
	cim_type declared, t;
	rdms_error e = { 0 };
	bool ok = false;

	memset(p, 0, sizeof *p);
	if ((p->name = get_attr(c, n, "NAME")) == NULL || p->name[0] == '\0'
	    || strlen(p->name) > CIMXML_MAX_NAME_LEN) {
		free((char *)p->name);
		p->name = NULL;
		invalid(c, "a PARAMVALUE has no valid NAME");
		goto out;
	}
	call->nparams++;    /* from here on the name is freed with the call */
	declared = declared_type(call, p->name);
	t = declared != CIM_TYPE_NONE ? declared : CIM_TYPE_STRING;
	if (ptype != NULL && declared != CIM_TYPE_NONE && cim_type_from_name(ptype) != declared) {
		cim_fail(c, WBEM_E_TYPE_MISMATCH, "parameter %s is %s, not %.20s",
		         p->name, cim_type_name(declared), ptype);
		goto out;
	}
	if (v != NULL && (!is(v, "VALUE") || next_sibling(v) != NULL)) {
		cim_fail(c, WBEM_E_INVALID_PARAMETER,
		         "parameter %s: only a single VALUE is supported, not <%s>", p->name, elem_name(v));
		goto out;
	}
	if (v == NULL) {
		p->value = cim_null(t);
		ok = true;
		goto out;
	}
	if ((text = get_text(c, v)) == NULL)
		goto out;
	snprintf(what, sizeof what, "parameter %s", p->name);
	if (cim_value_parse(t, text, what, &p->value, &e) != WBEM_S_NO_ERROR) {
		p->value = cim_null(t);
		cim_fail(c, e.code, "%s", e.message);
		goto out;
	}
	ok = true;
out:
	free(ptype);
	free(text);
	return ok;
}

static bool parse_extrinsic(pctx *c, const xml_node *target, const xml_node *first)
{
	cimxml_call *call = c->call;

	call->op = CIMXML_OP_INVOKE_METHOD;
	if (is(target, "LOCALINSTANCEPATH")) {
		if (!parse_instancename(c, next_sibling(first_child(target))))
			return false;
	} else {
		/* LOCALCLASSPATH: a static call; the operation layer will want keys. */
		cim_path *p = &call->path;

		p->class_name = get_attr(c, next_sibling(first_child(target)), "NAME");
		if (p->class_name == NULL || (p->namespace_ = strdup(call->ns)) == NULL) {
			c->oom = true;
			return false;
		}
		call->has_path = true;
	}
	if (!make_path_text(c))
		return false;
	if ((call->params = calloc(CIMXML_MAX_PARAMS, sizeof *call->params)) == NULL) {
		c->oom = true;
		return false;
	}
	for (const xml_node *n = first; n != NULL; n = next_sibling(n)) {
		if (!is(n, "PARAMVALUE"))
			return invalid(c, "<METHODCALL> may hold only PARAMVALUE elements after the path");
		if (call->nparams >= CIMXML_MAX_PARAMS)
			return cim_fail(c, WBEM_E_INVALID_PARAMETER, "more than %d parameters",
			                CIMXML_MAX_PARAMS);
		if (!parse_paramvalue(c, n))
			return false;
	}
	return true;
}

/*
 * The target of an extrinsic call: LOCALINSTANCEPATH (LOCALNAMESPACEPATH,
 * INSTANCENAME) or LOCALCLASSPATH (LOCALNAMESPACEPATH, CLASSNAME).  Only the
 * structure and the class name here; the keys are parsed in step 5.
 */
static bool parse_target(pctx *c, const xml_node *target, char **class_name)
{
	const xml_node *nsp = first_child(target), *obj = next_sibling(nsp);
	bool instance = is(target, "LOCALINSTANCEPATH");

	if (!instance && !is(target, "LOCALCLASSPATH"))
		return http_fail(c, CIMXML_HTTP_BAD_REQUEST, CIMERR_NOT_VALID,
		                 "<METHODCALL> must start with LOCALINSTANCEPATH or LOCALCLASSPATH, not <%s>",
		                 elem_name(target));
	if (!parse_namespace(c, nsp))
		return false;
	if (!is(obj, instance ? "INSTANCENAME" : "CLASSNAME") || next_sibling(obj) != NULL)
		return http_fail(c, CIMXML_HTTP_BAD_REQUEST, CIMERR_NOT_VALID,
		                 "<%s> must hold LOCALNAMESPACEPATH and %s", elem_name(target),
		                 instance ? "INSTANCENAME" : "CLASSNAME");
	*class_name = get_attr(c, obj, instance ? "CLASSNAME" : "NAME");
	if (*class_name == NULL || (*class_name)[0] == '\0')
		return invalid(c, "the call's target has no class name");
	return true;
}

/* ---- the whole request ---------------------------------------------------- */

static bool parse_doc(pctx *c, const cimxml_request *req, const xml_tree *doc)
{
	const xml_node *callnode, *target;
	cim_path hdr = { 0 };
	char *class_name = NULL;
	bool ok = false;

	if ((callnode = parse_envelope(c, doc)) == NULL)
		return false;
	target = first_child(callnode);
	if (c->call->intrinsic ? !parse_namespace(c, target) : !parse_target(c, target, &class_name))
		goto out;
	if (!check_method_header(c, req) || !check_object_header(c, req, class_name, &hdr))
		goto out;
	if (c->call->intrinsic)
		ok = parse_intrinsic(c, next_sibling(target));
	else
		ok = parse_extrinsic(c, target, next_sibling(target))
		  && check_object_keys(c, &hdr, &c->call->path);
out:
	cim_path_free(&hdr);
	free(class_name);
	return ok;
}

bool cimxml_parse(const cimxml_request *req, size_t max_len, cimxml_call *call,
                  cimxml_status *st)
{
	pctx c = { .call = call, .st = st, .oom = false };
	xml_tree *doc;
	bool ok;

	memset(call, 0, sizeof *call);
	memset(st, 0, sizeof *st);
	st->http_status = 200;
	if (!check_transport(&c, req, max_len))
		return false;
	if ((doc = read_xml(&c, req->body, req->len)) == NULL)
		ok = false;
	else {
		ok = parse_doc(&c, req, doc);
		xml_tree_free(doc);
	}
	if (c.oom) {
		/* Report the real cause rather than whatever the NULL looked like. */
		st->http_status = call->message_id && call->method ? 200 : 500;
		st->cim_error = NULL;
		rdms_fail(&st->err, WBEM_E_OUT_OF_MEMORY, "out of memory");
		return false;
	}
	return ok;
}

void cimxml_call_free(cimxml_call *call)
{
	free(call->message_id);
	free(call->method);
	free(call->ns);
	free(call->class_name);
	for (size_t i = 0; i < call->nproperties; i++)
		free(call->property_list[i]);
	free(call->property_list);
	free(call->query_language);
	free(call->query);
	cim_path_free(&call->path);
	free(call->path_text);
	for (size_t i = 0; i < call->nparams; i++) {
		free((char *)call->params[i].name);
		cim_value_clear(&call->params[i].value);
	}
	free(call->params);
	memset(call, 0, sizeof *call);
}
