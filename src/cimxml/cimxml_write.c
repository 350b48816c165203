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
#include "../common/frag.h"
#include "../common/strbuf_raw.h"
#include "../common/xml_escape.h"

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

/* Escaping makes at most this many bytes of one ("&quot;", "&apos;"). */
#define ESC_MAX XML_ESC_MAX

/*
 * How CIM-XML text is escaped: both quotes as references, white space too
 * (so that attribute normalisation keeps it), what XML cannot carry as
 * U+FFFD.
 */
#define ESCAPE_FLAGS (XML_ESC_QUOT | XML_ESC_APOS | XML_ESC_WS | XML_ESC_FFFD)

/* Appends TEXT (NULL: "") to O, escaped as cimxml_escape does; returns the end. */
static inline char *escape_to(char *o, const char *text)
{
	return xml_escape_to(o, text != NULL ? text : "", ESCAPE_FLAGS);
}

void cimxml_escape(strbuf *b, const char *text)
{
	xml_escape_append(b, text != NULL ? text : "", ESCAPE_FLAGS);
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

/* Bytes value_to() writes for a value that is not text, at most ("-2147483648"). */
#define VALUE_MAX 16

/* Bytes value_to() may write for V. */
static size_t value_room(const cim_value *v)
{
	if (v->type == CIM_TYPE_STRING || v->type == CIM_TYPE_DATETIME)
		return v->u.str != NULL ? ESC_MAX * strlen(v->u.str) : 0;
	return VALUE_MAX;
}

/* The same for all of INST's values: every string escaped at its worst. */
static size_t values_room(const cim_instance *inst)
{
	size_t text = cim_instance_text_bytes(inst);

	if (text > SIZE_MAX / (8 * ESC_MAX))
		return SIZE_MAX / 2;    /* strbuf_room fails */
	return ESC_MAX * text + VALUE_MAX * inst->cls->nprops;
}

/*
 * The text of V (not NULL) at O, as cim_value_text gives it and escaped;
 * returns the end.  value_room(V) bytes must be free at O.
 */
static char *value_to(char *o, const cim_value *v)
{
	switch (v->type) {
	case CIM_TYPE_STRING:
	case CIM_TYPE_DATETIME:
		return escape_to(o, v->u.str);
	case CIM_TYPE_UINT32:
		return strbuf_raw_u32(o, v->u.u32);
	case CIM_TYPE_SINT32:
		if (v->u.s32 >= 0)
			return strbuf_raw_u32(o, (uint32_t)v->u.s32);
		*o++ = '-';
		return strbuf_raw_u32(o, (uint32_t)0 - (uint32_t)v->u.s32);
	case CIM_TYPE_BOOLEAN:
		memcpy(o, v->u.boolean ? "TRUE" : "FALSE", v->u.boolean ? 4 : 5);
		return o + (v->u.boolean ? 4 : 5);
	case CIM_TYPE_NONE:
		break;
	}
	return o;
}

static void write_text_value(strbuf *b, const cim_value *v)
{
	char *o = strbuf_room(b, value_room(v));

	if (o != NULL)
		strbuf_done(b, value_to(o, v));
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

/*
 * The text every INSTANCE and INSTANCENAME of one class share, as
 * fragments of one buffer, made by the same calls as the long way below:
 * "<INSTANCE CLASSNAME=..>", each property's "<PROPERTY ..><VALUE>" and
 * "<PROPERTY ..></PROPERTY>" (NULL), "</VALUE></PROPERTY>", "</INSTANCE>",
 * and for the name "<INSTANCENAME ..>", each key's "<KEYBINDING ..>
 * <KEYVALUE ..>", "</KEYVALUE></KEYBINDING>", "</INSTANCENAME>".  Joins
 * pair the end of one value with the start of the next, so an instance
 * with every property set is nprops + 1 copies and its values.  An
 * EnumerateInstances writes thousands of instances of one class, so each
 * thread keeps the last template it built (fixed-size: an exiting thread
 * leaves nothing behind); a class too large for it is written the long way.
 */
#define TMPL_TEXT  FRAG_TEXT
#define TMPL_PROPS 64

struct cim_tmpl {
	const cim_class *cls;
	bool             class_origin;   /* the PROPERTY fragments carry CLASSORIGIN */
	size_t           inst_fixed;     /* fragment bytes of one INSTANCE, at most */
	size_t           name_fixed;     /* of one INSTANCENAME */
	frag             inst_head, inst_tail, val_close;
	frag             prop_val[TMPL_PROPS], prop_nil[TMPL_PROPS];
	frag             join[TMPL_PROPS + 1];
	size_t           nkeys;
	uint16_t         key[TMPL_PROPS];            /* property index of each key */
	frag             key_join[TMPL_PROPS + 1];   /* around the key values */
	char             text[TMPL_TEXT + FRAG_BLOCK];   /* the block copy may read past the end */
};

static _Thread_local struct cim_tmpl tmpl;

/* The INSTANCE fragments of property I. */
static bool tmpl_property(struct cim_tmpl *t, size_t *used, size_t i, strbuf *piece)
{
	const cim_class *c = t->cls;
	bool ok;

	strbuf_puts(piece, "<PROPERTY");
	name_type(piece, c->props[i].name, c->props[i].type, t->class_origin ? c->name : NULL);
	strbuf_puts(piece, "><VALUE>");
	ok = frag_take(t->text, used, &t->prop_val[i], NULL, piece, NULL);
	strbuf_puts(piece, "<PROPERTY");
	name_type(piece, c->props[i].name, c->props[i].type, t->class_origin ? c->name : NULL);
	strbuf_puts(piece, "></PROPERTY>");
	return frag_take(t->text, used, &t->prop_nil[i], NULL, piece, NULL) && ok;
}

/* The INSTANCENAME fragments: KEY_JOIN[k] comes before key k's value, [nkeys] last. */
static bool tmpl_name(struct cim_tmpl *t, size_t *used, strbuf *piece)
{
	const cim_class *c = t->cls;
	frag head, open, close, tail;
	bool ok;

	open_tag(piece, "INSTANCENAME", "CLASSNAME", c->name);
	ok = frag_take(t->text, used, &head, NULL, piece, NULL);
	strbuf_puts(piece, "</KEYVALUE></KEYBINDING>");
	ok = frag_take(t->text, used, &close, NULL, piece, NULL) && ok;
	strbuf_puts(piece, "</INSTANCENAME>");
	ok = frag_take(t->text, used, &tail, NULL, piece, NULL) && ok;
	t->nkeys = 0;
	for (size_t i = 0; ok && i < c->nprops; i++) {
		if (!c->props[i].is_key)
			continue;
		open_tag(piece, "KEYBINDING", "NAME", c->props[i].name);
		strbuf_printf(piece, "<KEYVALUE VALUETYPE=\"%s\">", valuetype(c->props[i].type));
		ok = frag_take(t->text, used, &open, NULL, piece, NULL) &&
		     frag_take(t->text, used, &t->key_join[t->nkeys], t->nkeys == 0 ? &head : &close,
		               piece, &open);
		t->key[t->nkeys++] = (uint16_t)i;
	}
	ok = ok && frag_take(t->text, used, &t->key_join[t->nkeys], t->nkeys == 0 ? &head : &close,
	                     piece, &tail);
	t->name_fixed = FRAG_BLOCK;
	for (size_t k = 0; ok && k <= t->nkeys; k++)
		t->name_fixed += t->key_join[k].len;
	return ok;
}

/* T's fragments for C; false when they do not fit. */
static bool tmpl_build(struct cim_tmpl *t, const cim_class *c, bool class_origin)
{
	strbuf piece = { 0 };
	size_t used = 0, n = c->nprops;
	bool ok;

	t->cls = c;
	t->class_origin = class_origin;
	open_tag(&piece, "INSTANCE", "CLASSNAME", c->name);
	ok = frag_take(t->text, &used, &t->inst_head, NULL, &piece, NULL);
	strbuf_puts(&piece, "</INSTANCE>");
	ok = frag_take(t->text, &used, &t->inst_tail, NULL, &piece, NULL) && ok;
	strbuf_puts(&piece, "</VALUE></PROPERTY>");
	ok = frag_take(t->text, &used, &t->val_close, NULL, &piece, NULL) && ok;
	t->inst_fixed = (size_t)t->inst_head.len + t->inst_tail.len + FRAG_BLOCK;
	for (size_t i = 0; ok && i < n; i++) {
		size_t set;

		ok = tmpl_property(t, &used, i, &piece);
		set = (size_t)t->prop_val[i].len + t->val_close.len;
		t->inst_fixed += set > t->prop_nil[i].len ? set : t->prop_nil[i].len;
	}
	for (size_t i = 0; ok && i <= n; i++)
		ok = frag_take(t->text, &used, &t->join[i], i == 0 ? &t->inst_head : &t->val_close, &piece,
		               i == n ? &t->inst_tail : &t->prop_val[i]);
	ok = ok && tmpl_name(t, &used, &piece);
	strbuf_free(&piece);
	return ok;
}

/*
 * The template of C, or NULL when it cannot be kept.  CLASS_ORIGIN matters
 * only to the INSTANCE fragments (FOR_INSTANCE).
 */
static const struct cim_tmpl *cim_tmpl(const cim_class *c, bool class_origin, bool for_instance)
{
	struct cim_tmpl *t = &tmpl;

	if (t->cls == c && (!for_instance || t->class_origin == class_origin))
		return t;
	t->cls = NULL;
	if (c->nprops > TMPL_PROPS || !tmpl_build(t, c, class_origin)) {
		t->cls = NULL;
		return NULL;
	}
	return t;
}

static void write_instancename_tmpl(strbuf *b, const struct cim_tmpl *t,
                                    const cim_instance *inst)
{
	char *o;

	if ((o = strbuf_room(b, t->name_fixed + values_room(inst))) == NULL)
		return;
	for (size_t k = 0; k < t->nkeys; k++) {
		const cim_value *v = &inst->values[t->key[k]];

		o = frag_to(o, t->text, t->key_join[k]);
		if (!v->is_null)
			o = value_to(o, v);
	}
	strbuf_done(b, frag_to(o, t->text, t->key_join[t->nkeys]));
}

void cimxml_write_instancename(strbuf *b, const cim_instance *inst)
{
	const cim_class *c = inst->cls;
	const struct cim_tmpl *t = cim_tmpl(c, false, false);

	if (t != NULL) {
		write_instancename_tmpl(b, t, inst);
		return;
	}
	/* The long way: a class too large for the template. */
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

static void write_instance_tmpl(strbuf *b, const struct cim_tmpl *t, const cim_instance *inst,
                                const bool *show)
{
	const cim_value *v = inst->values;
	size_t n = inst->cls->nprops;
	bool whole = show == NULL;
	char *o;

	for (size_t i = 0; i < n && whole; i++)
		whole = !v[i].is_null;
	if ((o = strbuf_room(b, t->inst_fixed + values_room(inst))) == NULL)
		return;
	if (whole) {
		for (size_t i = 0; i < n; i++)
			o = value_to(frag_to(o, t->text, t->join[i]), &v[i]);
		strbuf_done(b, frag_to(o, t->text, t->join[n]));
		return;
	}
	o = frag_to(o, t->text, t->inst_head);
	for (size_t i = 0; i < n; i++) {
		if (show != NULL && !show[i])
			continue;
		/* A NULL property has no VALUE (DSP0201); wbemcli prints "Name=". */
		if (v[i].is_null)
			o = frag_to(o, t->text, t->prop_nil[i]);
		else
			o = frag_to(value_to(frag_to(o, t->text, t->prop_val[i]), &v[i]), t->text, t->val_close);
	}
	strbuf_done(b, frag_to(o, t->text, t->inst_tail));
}

void cimxml_write_instance(strbuf *b, const cim_instance *inst, const bool *show,
                           bool class_origin)
{
	const cim_class *c = inst->cls;
	const struct cim_tmpl *t = cim_tmpl(c, class_origin, true);

	if (t != NULL) {
		write_instance_tmpl(b, t, inst, show);
		return;
	}
	/* The long way: a class too large for the template. */
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
