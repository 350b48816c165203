/*
 * cimxml_write.c -- DSP0201 elements as text: the reply envelope, INSTANCE,
 * INSTANCENAME, CLASS and ERROR.
 *
 * Replies are written straight into a strbuf rather than built as a tree:
 * the shapes are few and fixed, and writing them by hand keeps the exact
 * form the real clients accepted (protocols.md 2.2 and captures/cimxml-*):
 * explicit end tags on every container element (wbemcli rejects a
 * self-closed METHOD), self-closing only the always-empty NAMESPACE and
 * ERROR.  All text goes through cimxml_escape(), the one place that knows
 * XML escaping, so no value from a back-end can break the document.
 */
#include "cimxml_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "../cim/wbem.h"

/* DSP0200 status names, indexed by status code. */
static const char *const status_names[] = {
	[1] = "CIM_ERR_FAILED",
	[2] = "CIM_ERR_ACCESS_DENIED",
	[3] = "CIM_ERR_INVALID_NAMESPACE",
	[4] = "CIM_ERR_INVALID_PARAMETER",
	[5] = "CIM_ERR_INVALID_CLASS",
	[6] = "CIM_ERR_NOT_FOUND",
	[7] = "CIM_ERR_NOT_SUPPORTED",
	[8] = "CIM_ERR_CLASS_HAS_CHILDREN",
	[9] = "CIM_ERR_CLASS_HAS_INSTANCES",
	[10] = "CIM_ERR_INVALID_SUPERCLASS",
	[11] = "CIM_ERR_ALREADY_EXISTS",
	[12] = "CIM_ERR_NO_SUCH_PROPERTY",
	[13] = "CIM_ERR_TYPE_MISMATCH",
	[14] = "CIM_ERR_QUERY_LANGUAGE_NOT_SUPPORTED",
	[15] = "CIM_ERR_INVALID_QUERY",
	[16] = "CIM_ERR_METHOD_NOT_AVAILABLE",
	[17] = "CIM_ERR_METHOD_NOT_FOUND",
	[20] = "CIM_ERR_NAMESPACE_NOT_EMPTY",
	[21] = "CIM_ERR_INVALID_ENUMERATION_CONTEXT",
	[22] = "CIM_ERR_INVALID_OPERATION_TIMEOUT",
	[23] = "CIM_ERR_PULL_HAS_BEEN_ABANDONED",
	[24] = "CIM_ERR_PULL_CANNOT_BE_ABANDONED",
	[25] = "CIM_ERR_FILTERED_ENUMERATION_NOT_SUPPORTED",
	[26] = "CIM_ERR_CONTINUATION_ON_ERROR_NOT_SUPPORTED",
	[27] = "CIM_ERR_SERVER_LIMITS_EXCEEDED",
	[28] = "CIM_ERR_SERVER_IS_SHUTTING_DOWN",
};

const char *cimxml_status_name(int cim_status)
{
	const size_t n = sizeof status_names / sizeof status_names[0];
	size_t i = cim_status > 0 ? (size_t)cim_status : 1;

	if (i >= n || status_names[i] == NULL)
		i = 1;   /* CIM_ERR_FAILED */
	return status_names[i];
}

int cimxml_cim_status(uint32_t code)
{
	const wbem_code *c = wbem_lookup(code);

	/* A success code here would be a bug upstream: report a failure. */
	return c != NULL && c->cim_status > 0 ? c->cim_status : 1;
}

/* ---- escaping ------------------------------------------------------------ */

/* Length of the valid UTF-8 sequence at S that XML can carry, 0 if none. */
static size_t utf8_char(const unsigned char *s)
{
	uint32_t cp;
	size_t n;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xC2 && s[0] <= 0xDF) {
		n = 2;
		cp = s[0] & 0x1F;
	} else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
		n = 3;
		cp = s[0] & 0x0F;
	} else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
		n = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3F);
	}
	/* overlong forms, surrogates, beyond Unicode, and XML's U+FFFE/FFFF */
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10FFFF
	    || (cp >= 0xD800 && cp <= 0xDFFF) || cp == 0xFFFE || cp == 0xFFFF)
		return 0;
	return n;
}

void cimxml_escape(strbuf *b, const char *text)
{
	const unsigned char *s = (const unsigned char *)(text ? text : "");

	while (*s != '\0') {
		const unsigned char *run = s;
		size_t n;

		/* Plain ASCII is copied a run at a time, not byte by byte: an
		 * EnumerateInstances of 10,000 sessions escapes ~150,000 strings. */
		while (*s >= 0x20 && *s < 0x80 && *s != '&' && *s != '<' && *s != '>' &&
		       *s != '"' && *s != '\'')
			s++;
		if (s != run)
			strbuf_append(b, (const char *)run, (size_t)(s - run));
		if (*s == '\0')
			break;
		switch (*s) {
		case '&':  strbuf_puts(b, "&amp;");  s++; continue;
		case '<':  strbuf_puts(b, "&lt;");   s++; continue;
		case '>':  strbuf_puts(b, "&gt;");   s++; continue;
		case '"':  strbuf_puts(b, "&quot;"); s++; continue;
		case '\'': strbuf_puts(b, "&apos;"); s++; continue;
		/* As references so that attribute normalisation keeps them. */
		case '\t': strbuf_puts(b, "&#9;");   s++; continue;
		case '\n': strbuf_puts(b, "&#10;");  s++; continue;
		case '\r': strbuf_puts(b, "&#13;");  s++; continue;
		}
		n = *s < 0x20 ? 0 : utf8_char(s);
		if (n == 0) {
			/* XML 1.0 cannot carry it at all: U+FFFD REPLACEMENT CHARACTER. */
			strbuf_puts(b, "\xEF\xBF\xBD");
			s++;
			continue;
		}
		strbuf_append(b, (const char *)s, n);
		s += n;
	}
}

/* <ELEMENT ATTR="value"> with VALUE escaped. */
static void open_tag(strbuf *b, const char *element, const char *attr, const char *value)
{
	strbuf_puts(b, "<");
	strbuf_puts(b, element);
	strbuf_puts(b, " ");
	strbuf_puts(b, attr);
	strbuf_puts(b, "=\"");
	cimxml_escape(b, value);
	strbuf_puts(b, "\">");
}

/* ---- envelope ------------------------------------------------------------ */

void cimxml_write_begin(strbuf *b, const char *message_id)
{
	strbuf_puts(b, "<?xml version=\"1.0\" encoding=\"utf-8\" ?>\n"
	               "<CIM CIMVERSION=\"2.0\" DTDVERSION=\"2.0\"><MESSAGE ID=\"");
	cimxml_escape(b, message_id);
	strbuf_puts(b, "\" PROTOCOLVERSION=\"1.0\"><SIMPLERSP>");
}

void cimxml_write_end(strbuf *b)
{
	strbuf_puts(b, "</SIMPLERSP></MESSAGE></CIM>\n");
}

void cimxml_write_response_begin(strbuf *b, bool intrinsic, const char *method)
{
	open_tag(b, intrinsic ? "IMETHODRESPONSE" : "METHODRESPONSE", "NAME", method);
}

void cimxml_write_response_end(strbuf *b, bool intrinsic)
{
	strbuf_puts(b, intrinsic ? "</IMETHODRESPONSE>" : "</METHODRESPONSE>");
}

void cimxml_write_error(strbuf *b, uint32_t code, const char *message)
{
	int status = cimxml_cim_status(code);

	strbuf_printf(b, "<ERROR CODE=\"%d\" DESCRIPTION=\"", status);
	cimxml_escape(b, cimxml_status_name(status));
	if (message != NULL && *message != '\0') {
		strbuf_puts(b, ": ");
		cimxml_escape(b, message);
	}
	strbuf_puts(b, "\"/>");
}

void cimxml_write_localnamespacepath(strbuf *b, const char *ns)
{
	const char *p = ns;

	strbuf_puts(b, "<LOCALNAMESPACEPATH>");
	while (*p != '\0') {
		size_t n = strcspn(p, "/\\");

		if (n > 0) {
			char part[CIMXML_MAX_NS_LEN + 1];

			snprintf(part, sizeof part, "%.*s", (int)n, p);
			strbuf_puts(b, "<NAMESPACE NAME=\"");
			cimxml_escape(b, part);
			strbuf_puts(b, "\"/>");
		}
		p += n;
		if (*p != '\0')
			p++;
	}
	strbuf_puts(b, "</LOCALNAMESPACEPATH>");
}

/* ---- instances ----------------------------------------------------------- */

static const char *valuetype(cim_type t)
{
	switch (t) {
	case CIM_TYPE_UINT32:
	case CIM_TYPE_SINT32:
		return "numeric";
	case CIM_TYPE_BOOLEAN:
		return "boolean";
	default:
		return "string";
	}
}

static void write_text_value(strbuf *b, const cim_value *v)
{
	char buf[64];

	if (v->type == CIM_TYPE_STRING || v->type == CIM_TYPE_DATETIME)
		cimxml_escape(b, v->u.str);
	else
		cimxml_escape(b, cim_value_text(v, buf, sizeof buf));
}

void cimxml_write_instancename(strbuf *b, const cim_instance *inst)
{
	const cim_class *c = inst->cls;

	open_tag(b, "INSTANCENAME", "CLASSNAME", c->name);
	for (size_t i = 0; i < c->nprops; i++) {
		const cim_value *v = &inst->values[i];

		if (!c->props[i].is_key)
			continue;
		open_tag(b, "KEYBINDING", "NAME", c->props[i].name);
		strbuf_printf(b, "<KEYVALUE VALUETYPE=\"%s\">", valuetype(c->props[i].type));
		if (!v->is_null)
			write_text_value(b, v);
		strbuf_puts(b, "</KEYVALUE></KEYBINDING>");
	}
	strbuf_puts(b, "</INSTANCENAME>");
}

/* NAME="n" TYPE="t" [CLASSORIGIN="c"] of a property, method or parameter. */
static void name_type(strbuf *b, const char *name, cim_type type, const char *origin)
{
	strbuf_puts(b, " NAME=\"");
	cimxml_escape(b, name);
	strbuf_puts(b, "\" TYPE=\"");
	strbuf_puts(b, cim_type_name(type));
	strbuf_puts(b, "\"");
	if (origin != NULL) {
		strbuf_puts(b, " CLASSORIGIN=\"");
		cimxml_escape(b, origin);
		strbuf_puts(b, "\"");
	}
}

void cimxml_write_instance(strbuf *b, const cim_instance *inst, const bool *show,
                           bool class_origin)
{
	const cim_class *c = inst->cls;

	open_tag(b, "INSTANCE", "CLASSNAME", c->name);
	for (size_t i = 0; i < c->nprops; i++) {
		const cim_value *v = &inst->values[i];

		if (show != NULL && !show[i])
			continue;
		strbuf_puts(b, "<PROPERTY");
		name_type(b, c->props[i].name, c->props[i].type, class_origin ? c->name : NULL);
		strbuf_puts(b, ">");
		/* A NULL property has no VALUE (DSP0201); wbemcli prints "Name=". */
		if (!v->is_null) {
			strbuf_puts(b, "<VALUE>");
			write_text_value(b, v);
			strbuf_puts(b, "</VALUE>");
		}
		strbuf_puts(b, "</PROPERTY>");
	}
	strbuf_puts(b, "</INSTANCE>");
}

/* ---- classes ------------------------------------------------------------- */

static void write_qualifier(strbuf *b, const char *name, cim_type type, const char *value,
                            bool not_overridable)
{
	strbuf_puts(b, "<QUALIFIER NAME=\"");
	cimxml_escape(b, name);
	strbuf_printf(b, "\" TYPE=\"%s\"%s><VALUE>", cim_type_name(type),
	              not_overridable ? " OVERRIDABLE=\"false\"" : "");
	if (type == CIM_TYPE_BOOLEAN)
		/* MOF writes flag qualifiers as "true"; CIM-XML spells TRUE. */
		strbuf_puts(b, value == NULL || strcasecmp(value, "false") != 0 ? "TRUE" : "FALSE");
	else
		cimxml_escape(b, value);
	strbuf_puts(b, "</VALUE></QUALIFIER>");
}

/*
 * The qualifiers in QUALS, except the ones named SKIP1/SKIP2: those (key,
 * in, out) are written from the structure's own flags under their DMTF
 * spelling, so a MOF writing [key] or [Key] gives the same Key qualifier.
 */
static void write_qualifiers(strbuf *b, const cim_qualifier *quals, size_t n,
                             const char *skip1, const char *skip2)
{
	for (size_t i = 0; i < n; i++) {
		if ((skip1 && strcasecmp(quals[i].name, skip1) == 0)
		    || (skip2 && strcasecmp(quals[i].name, skip2) == 0))
			continue;
		write_qualifier(b, quals[i].name, quals[i].type, quals[i].value, false);
	}
}

static void write_method(strbuf *b, const cim_class *c, const cim_method *m,
                         bool qualifiers, bool class_origin)
{
	strbuf_puts(b, "<METHOD");
	name_type(b, m->name, m->return_type, class_origin ? c->name : NULL);
	strbuf_puts(b, ">");
	if (qualifiers)
		write_qualifiers(b, m->quals, m->nquals, NULL, NULL);
	for (size_t i = 0; i < m->nparams; i++) {
		const cim_parameter *par = &m->params[i];

		strbuf_puts(b, "<PARAMETER");
		name_type(b, par->name, par->type, NULL);
		strbuf_puts(b, ">");
		if (qualifiers) {
			if (par->is_in)
				write_qualifier(b, "In", CIM_TYPE_BOOLEAN, "true", false);
			if (par->is_out)
				write_qualifier(b, "Out", CIM_TYPE_BOOLEAN, "true", false);
			write_qualifiers(b, par->quals, par->nquals, "in", "out");
		}
		strbuf_puts(b, "</PARAMETER>");
	}
	strbuf_puts(b, "</METHOD>");
}

void cimxml_write_class(strbuf *b, const cim_class *c, bool qualifiers,
                        bool class_origin, const bool *show)
{
	strbuf_puts(b, "<CLASS NAME=\"");
	cimxml_escape(b, c->name);
	strbuf_puts(b, "\"");
	if (c->superclass != NULL) {
		strbuf_puts(b, " SUPERCLASS=\"");
		cimxml_escape(b, c->superclass);
		strbuf_puts(b, "\"");
	}
	strbuf_puts(b, ">");
	if (qualifiers)
		write_qualifiers(b, c->quals, c->nquals, NULL, NULL);
	for (size_t i = 0; i < c->nprops; i++) {
		const cim_property *p = &c->props[i];

		if (show != NULL && !show[i])
			continue;
		strbuf_puts(b, "<PROPERTY");
		name_type(b, p->name, p->type, class_origin ? c->name : NULL);
		strbuf_puts(b, ">");
		if (qualifiers) {
			/* Key is DisableOverride in the DMTF qualifier list. */
			if (p->is_key)
				write_qualifier(b, "Key", CIM_TYPE_BOOLEAN, "true", true);
			write_qualifiers(b, p->quals, p->nquals, "key", NULL);
		}
		strbuf_puts(b, "</PROPERTY>");
	}
	for (size_t i = 0; i < c->nmethods; i++)
		write_method(b, c, &c->methods[i], qualifiers, class_origin);
	strbuf_puts(b, "</CLASS>");
}
