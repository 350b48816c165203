/*
 * wsman_reply.c -- WS-Management replies as text.
 *
 * Replies are appended to one strbuf by a small escaping writer rather than
 * built as a libxml2 tree: an enumeration of thousands of instances is then
 * a single pass of memcpy-sized appends, and the size of each item is known
 * the moment it is written, which is what MaxEnvelopeSize needs.  Every
 * piece of data goes through wsman_escape(), which also drops what XML 1.0
 * cannot carry (control characters, invalid UTF-8) as WinRM does ('?').
 *
 * Shapes follow protocols.md 1.5-1.7 and the replies in captures/ that
 * wsl, omicli and wbemcli accepted.
 */
#include "wsman_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "../cim/wbem.h"
#include "../common/frag.h"
#include "../common/strbuf_raw.h"
#include "../common/xml_escape.h"

/*
 * The writer's hot path: an append that stays inline while the buffer has
 * room (an enumeration makes millions of small appends).  A failed strbuf
 * keeps its capacity and its flag, so writing into the room it has is
 * harmless and strbuf_take still reports the failure.
 */
static inline void put(strbuf *b, const char *s, size_t n)
{
	if (b->len + n < b->cap) {
		memcpy(b->data + b->len, s, n);
		b->len += n;
		b->data[b->len] = '\0';
	} else {
		strbuf_append(b, s, n);
	}
}

static inline void put_str(strbuf *b, const char *s)
{
	put(b, s, strlen(s));
}

#define PUTS(b, s) put((b), (s), sizeof(s) - 1)

/*
 * What is written most (escaped text, instances) goes through the cursor
 * of strbuf_raw.h: the most a piece can take is reserved once, then its
 * bytes are stored with no check per byte.  Escaping makes at most
 * ESC_MAX bytes of one ("&quot;").
 */
#define ESC_MAX XML_ESC_MAX

/*
 * How WS-Man text is escaped, what WinRM writes: " and white space as they
 * are in text, as references in an attribute; what XML cannot carry as '?'.
 */
static inline unsigned escape_flags(bool attr)
{
	return attr ? XML_ESC_QUOT | XML_ESC_WS : 0;
}

/* Appends S to O, escaped as wsman_escape does; returns the end. */
static inline char *escape_to(char *o, const char *s, bool attr)
{
	return xml_escape_to(o, s, escape_flags(attr));
}

void wsman_escape(strbuf *b, const char *s, bool attr)
{
	xml_escape_append(b, s, escape_flags(attr));
}

static void put_u32(strbuf *b, uint32_t v)
{
	char *o = strbuf_room(b, 10);

	if (o != NULL)
		strbuf_done(b, strbuf_raw_u32(o, v));
}

/*
 * 16 random bytes into R; false when there is no entropy source.  Drawn
 * from a per-thread pool refilled 512 bytes at a time: a getrandom call per
 * reply was a system call on every Get.  MessageIDs need to be unique, not
 * secret, so bytes waiting in a pool are fine.
 */
static bool random16(unsigned char r[16])
{
	static _Thread_local unsigned char pool[512];
	static _Thread_local size_t left;

	if (left < 16) {
		ssize_t n = getrandom(pool, sizeof pool, 0);

		if (n < 16)
			return false;
		left = (size_t)n;
	}
	left -= 16;
	memcpy(r, pool + left, 16);
	explicit_bzero(pool + left, 16);   /* a byte goes out once */
	return true;
}

void wsman_uuid(char *buf, size_t size)
{
	unsigned char r[16];

	if (!random16(r)) {
		/* No entropy source: still unique enough for a MessageID. */
		static _Thread_local unsigned long counter;
		unsigned long v = ++counter ^ (unsigned long)(uintptr_t)&counter;
		memcpy(r, &v, sizeof v < sizeof r ? sizeof v : sizeof r);
	}
	r[6] = (unsigned char)((r[6] & 0x0F) | 0x40);
	r[8] = (unsigned char)((r[8] & 0x3F) | 0x80);
	/* By hand, not snprintf: every reply carries one (a sixth of a Get's
	 * time went to formatting it). */
	{
		static const char hex[] = "0123456789ABCDEF";
		char text[42] = "uuid:", *o = text + 5;

		for (int i = 0; i < 16; i++) {
			if (i == 4 || i == 6 || i == 8 || i == 10)
				*o++ = '-';
			*o++ = hex[r[i] >> 4];
			*o++ = hex[r[i] & 15];
		}
		*o = '\0';
		str_copy(buf, size, text);
	}
}

/* ---- envelope ----------------------------------------------------------- */

static void write_head_ex(strbuf *b, const char *action, const char *relates_to,
                          const char *extra_header)
{
	char id[48];

	PUTS(b, "<s:Envelope xmlns:s=\"" NS_SOAP "\" xmlns:wsa=\"" NS_WSA
	        "\" xmlns:wsen=\"" NS_WSEN "\" xmlns:wsman=\"" NS_WSMAN
	        "\" xml:lang=\"en-US\"><s:Header>");
	if (action != NULL) {
		PUTS(b, "<wsa:Action>");
		wsman_escape(b, action, false);
		wsman_uuid(id, sizeof id);
		PUTS(b, "</wsa:Action><wsa:MessageID>");
		put_str(b, id);
		PUTS(b, "</wsa:MessageID><wsa:To>" URI_ANONYMOUS "</wsa:To>");
		if (relates_to != NULL) {
			PUTS(b, "<wsa:RelatesTo>");
			wsman_escape(b, relates_to, false);
			PUTS(b, "</wsa:RelatesTo>");
		}
	}
	if (extra_header != NULL)
		put_str(b, extra_header);
	PUTS(b, "</s:Header><s:Body>");
}

void wsman_write_head_extra(strbuf *b, const char *action, const char *relates_to,
                            const char *extra)
{
	write_head_ex(b, action, relates_to, extra);
}

void wsman_write_head(strbuf *b, const char *action, const char *relates_to)
{
	write_head_ex(b, action, relates_to, NULL);
}

void wsman_write_invoke_head(strbuf *b, const char *action, const char *relates_to,
                             const char *return_value_text)
{
	strbuf h = { 0 };

	if (return_value_text != NULL) {
		PUTS(&h, "<rdms:ReturnValueText xmlns:rdms=\"" NS_RDMS "\" "
		         "s:mustUnderstand=\"false\">");
		wsman_escape(&h, return_value_text, false);
		PUTS(&h, "</rdms:ReturnValueText>");
		if (h.failed)
			b->failed = true;
	}
	write_head_ex(b, action, relates_to, h.data);
	strbuf_free(&h);
}

void wsman_write_tail(strbuf *b)
{
	PUTS(b, "</s:Body></s:Envelope>");
}

/* ---- instances ---------------------------------------------------------- */

/* A datetime is an interval when it carries ':' as its UTC offset sign. */
static bool is_interval(const char *s)
{
	return strlen(s) == 25 && s[21] == ':';
}

/* Bytes value_to() writes for a value besides escaped text (datetime tags, numbers). */
#define VALUE_MAX 32

/* Bytes value_to() may write for V. */
static size_t value_room(const cim_value *v)
{
	switch (v->type) {
	case CIM_TYPE_STRING:
		return v->u.str != NULL ? ESC_MAX * strlen(v->u.str) : 0;
	case CIM_TYPE_DATETIME:
		return sizeof "<cim:Interval></cim:Interval>" +
		       (v->u.str != NULL ? ESC_MAX * strlen(v->u.str) : 0);
	default:
		return 16;
	}
}

/*
 * V's text at O (NULL or not: an EPR selector writes what it holds);
 * returns the end.  value_room(V) bytes must be free at O.
 */
static char *value_to(char *o, const cim_value *v)
{
	const char *s;

	switch (v->type) {
	case CIM_TYPE_STRING:
		return escape_to(o, v->u.str != NULL ? v->u.str : "", false);
	case CIM_TYPE_UINT32:
		return strbuf_raw_u32(o, v->u.u32);
	case CIM_TYPE_SINT32:
		if (v->u.s32 >= 0)
			return strbuf_raw_u32(o, (uint32_t)v->u.s32);
		*o++ = '-';
		return strbuf_raw_u32(o, (uint32_t)0 - (uint32_t)v->u.s32);
	case CIM_TYPE_BOOLEAN:
		memcpy(o, v->u.boolean ? "true" : "false", v->u.boolean ? 4 : 5);
		return o + (v->u.boolean ? 4 : 5);
	case CIM_TYPE_DATETIME:
		s = v->u.str != NULL ? v->u.str : "";
		if (is_interval(s)) {
			memcpy(o, "<cim:Interval>", 14);
			o = escape_to(o + 14, s, false);
			memcpy(o, "</cim:Interval>", 15);
		} else {
			memcpy(o, "<cim:Datetime>", 14);
			o = escape_to(o + 14, s, false);
			memcpy(o, "</cim:Datetime>", 15);
		}
		return o + 15;
	case CIM_TYPE_NONE:
		break;
	}
	return o;
}

/*
 * Bytes value_to() may write for all of INST's values: every string
 * escaped at its worst, and room for a number or datetime tags each.
 */
static size_t values_room(const cim_instance *inst)
{
	size_t text = cim_instance_text_bytes(inst);

	if (text > SIZE_MAX / (8 * ESC_MAX))
		return SIZE_MAX / 2;    /* strbuf_room fails */
	return ESC_MAX * text + VALUE_MAX * inst->cls->nprops;
}

static void write_value(strbuf *b, const cim_value *v)
{
	char *o = strbuf_room(b, value_room(v));

	if (o != NULL)
		strbuf_done(b, value_to(o, v));
}

/*
 * The text every instance of one class written with one ResourceURI
 * shares, as fragments of one buffer: the opening element with its
 * namespace declarations (the URI escaped), each property's "<p:Name>",
 * "<p:Name xsi:nil=\"true\"/>" and "</p:Name>", the closing element, and
 * the EPR's constant parts.  An instance with every property set, written
 * whole, takes nprops + 1 "joins": the head and the first "<p:Name>", each
 * "</p:Name><p:Next>", the last "</p:Name>" and the tail.  An enumeration
 * writes thousands of instances of one class, so each thread keeps the
 * last template it built (fixed-size, so an exiting connection thread
 * leaves nothing behind); what does not fit is written the long way.
 */
#define TMPL_TEXT  FRAG_TEXT
#define TMPL_URI   512
#define TMPL_PROPS 64

struct instance_tmpl {
	const cim_class *cls;
	char             uri[TMPL_URI];
	size_t           fixed;        /* bytes of the fragments any one instance takes, at most */
	frag             head, tail;
	frag             head_bare, join_bare;  /* without the declarations (wsman_write_item_ns) */
	frag             open[TMPL_PROPS], nil[TMPL_PROPS], close[TMPL_PROPS];
	frag             join[TMPL_PROPS + 1];
	frag             epr_head, sel[TMPL_PROPS], sel_close, epr_tail;
	size_t           epr_fixed;    /* the same for an EPR */
	char             text[TMPL_TEXT + FRAG_BLOCK];   /* the block copy may read past the end */
};

static _Thread_local struct instance_tmpl tmpl;

/* Fragment *F made of A followed by B (both already in T's text). */
static bool tmpl_join(struct instance_tmpl *t, size_t *used, frag *f, frag a, frag b)
{
	if (*used + a.len + b.len > TMPL_TEXT)
		return false;
	memcpy(t->text + *used, t->text + a.off, a.len);
	memcpy(t->text + *used + a.len, t->text + b.off, b.len);
	f->off = (uint16_t)*used;
	f->len = (uint16_t)(a.len + b.len);
	*used += f->len;
	return true;
}

/* The fragments of the element "<p:NAME>" and its value, as the long way writes them. */
static bool tmpl_property(struct instance_tmpl *t, size_t *used, size_t i, const char *name,
                          strbuf *piece)
{
	bool ok;

	PUTS(piece, "<p:");
	put_str(piece, name);
	PUTS(piece, ">");
	ok = frag_take(t->text, used, &t->open[i], NULL, piece, NULL);
	PUTS(piece, "<p:");
	put_str(piece, name);
	PUTS(piece, " xsi:nil=\"true\"/>");
	ok = frag_take(t->text, used, &t->nil[i], NULL, piece, NULL) && ok;
	PUTS(piece, "</p:");
	put_str(piece, name);
	PUTS(piece, ">");
	return frag_take(t->text, used, &t->close[i], NULL, piece, NULL) && ok;
}

/* The EPR's fragments: everything but the key values and the __cimnamespace selector. */
static bool tmpl_epr(struct instance_tmpl *t, size_t *used, const cim_class *cls,
                     const char *uri, strbuf *piece)
{
	bool ok;

	PUTS(piece, "<wsa:EndpointReference><wsa:Address>" URI_ANONYMOUS
	            "</wsa:Address><wsa:ReferenceParameters><wsman:ResourceURI>");
	wsman_escape(piece, uri, false);
	PUTS(piece, "</wsman:ResourceURI><wsman:SelectorSet>");
	ok = frag_take(t->text, used, &t->epr_head, NULL, piece, NULL);
	PUTS(piece, "</wsman:Selector>");
	ok = frag_take(t->text, used, &t->sel_close, NULL, piece, NULL) && ok;
	PUTS(piece, "</wsman:SelectorSet></wsa:ReferenceParameters></wsa:EndpointReference>");
	ok = frag_take(t->text, used, &t->epr_tail, NULL, piece, NULL) && ok;
	t->epr_fixed = (size_t)t->epr_head.len + t->epr_tail.len + FRAG_BLOCK;
	for (size_t i = 0; ok && i < cls->nprops; i++) {
		if (!cls->props[i].is_key)
			continue;
		PUTS(piece, "<wsman:Selector Name=\"");
		put_str(piece, cls->props[i].name);
		PUTS(piece, "\">");
		ok = frag_take(t->text, used, &t->sel[i], NULL, piece, NULL);
		t->epr_fixed += (size_t)t->sel[i].len + t->sel_close.len;
	}
	return ok;
}

/* T's fragments for CLS and URI; false when they do not fit. */
static bool tmpl_build(struct instance_tmpl *t, const cim_class *cls, const char *uri)
{
	strbuf piece = { 0 };
	size_t used = 0, n = cls->nprops;
	bool ok;

	PUTS(&piece, "<p:");
	put_str(&piece, cls->name);
	PUTS(&piece, " xmlns:p=\"");
	wsman_escape(&piece, uri, true);
	PUTS(&piece, "\" xmlns:xsi=\"" NS_XSI "\" xmlns:cim=\"" NS_CIM "\" xsi:type=\"p:");
	put_str(&piece, cls->name);
	PUTS(&piece, "_Type\">");
	ok = frag_take(t->text, &used, &t->head, NULL, &piece, NULL);
	PUTS(&piece, "<p:");
	put_str(&piece, cls->name);
	PUTS(&piece, " xsi:type=\"p:");
	put_str(&piece, cls->name);
	PUTS(&piece, "_Type\">");
	ok = frag_take(t->text, &used, &t->head_bare, NULL, &piece, NULL) && ok;
	PUTS(&piece, "</p:");
	put_str(&piece, cls->name);
	PUTS(&piece, ">");
	ok = frag_take(t->text, &used, &t->tail, NULL, &piece, NULL) && ok;
	t->fixed = (size_t)t->head.len + t->tail.len + FRAG_BLOCK;
	for (size_t i = 0; ok && i < n; i++) {
		size_t both;

		ok = tmpl_property(t, &used, i, cls->props[i].name, &piece);
		both = (size_t)t->open[i].len + t->close[i].len;
		t->fixed += both > t->nil[i].len ? both : t->nil[i].len;
	}
	for (size_t i = 0; ok && i <= n; i++)
		ok = tmpl_join(t, &used, &t->join[i], i == 0 ? t->head : t->close[i - 1],
		               i == n ? t->tail : t->open[i]);
	ok = ok && tmpl_join(t, &used, &t->join_bare, t->head_bare, n == 0 ? t->tail : t->open[0]);
	ok = ok && tmpl_epr(t, &used, cls, uri, &piece);
	strbuf_free(&piece);
	return ok;
}

/* The template of CLS and URI, or NULL when it cannot be kept. */
static const struct instance_tmpl *instance_tmpl(const cim_class *cls, const char *uri)
{
	struct instance_tmpl *t = &tmpl;

	if (t->cls == cls && strcmp(t->uri, uri) == 0)
		return t;
	if (cls->nprops > TMPL_PROPS || strlen(uri) >= sizeof t->uri)
		return NULL;
	t->cls = NULL;
	if (!tmpl_build(t, cls, uri))
		return NULL;
	str_copy(t->uri, sizeof t->uri, uri);
	t->cls = cls;
	return t;
}

/*
 * INST with template T: one reservation, then the fragments and values.
 * BARE leaves the namespace declarations to an enclosing element.
 */
static void write_instance_tmpl(strbuf *b, const struct instance_tmpl *t,
                                const cim_instance *inst, const wql_query *query, bool bare)
{
	const cim_value *v = inst->values;
	size_t n = inst->cls->nprops;
	bool whole = query == NULL;
	char *o;

	for (size_t i = 0; i < n && whole; i++)
		whole = !v[i].is_null;
	if ((o = strbuf_room(b, t->fixed + values_room(inst))) == NULL)
		return;
	if (whole) {
		for (size_t i = 0; i < n; i++)
			o = value_to(frag_to(o, t->text, i == 0 && bare ? t->join_bare : t->join[i]), &v[i]);
		strbuf_done(b, frag_to(o, t->text, n == 0 && bare ? t->join_bare : t->join[n]));
		return;
	}
	o = frag_to(o, t->text, bare ? t->head_bare : t->head);
	for (size_t i = 0; i < n; i++) {
		if (query != NULL && !wql_selects(query, i))
			continue;
		if (v[i].is_null)
			o = frag_to(o, t->text, t->nil[i]);
		else
			o = frag_to(value_to(frag_to(o, t->text, t->open[i]), &v[i]), t->text, t->close[i]);
	}
	strbuf_done(b, frag_to(o, t->text, t->tail));
}

/* The declarations an instance's element makes, or an enclosing element for it. */
static void write_ns(strbuf *b, const char *uri)
{
	PUTS(b, " xmlns:p=\"");
	wsman_escape(b, uri, true);
	PUTS(b, "\" xmlns:xsi=\"" NS_XSI "\" xmlns:cim=\"" NS_CIM "\"");
}

void wsman_write_item_ns(strbuf *b, const char *uri)
{
	write_ns(b, uri);
}

/* INST's properties (those QUERY selects, or all) as elements with PREFIX, the long way. */
static void write_props(strbuf *b, const cim_instance *inst, const char *prefix,
                        const wql_query *query)
{
	const cim_class *cls = inst->cls;

	for (size_t i = 0; i < cls->nprops; i++) {
		const cim_value *v = &inst->values[i];
		const char *name = cls->props[i].name;

		if (query != NULL && !wql_selects(query, i))
			continue;
		PUTS(b, "<");
		put_str(b, prefix);
		PUTS(b, ":");
		put_str(b, name);
		if (v->is_null) {
			PUTS(b, " xsi:nil=\"true\"/>");
			continue;
		}
		PUTS(b, ">");
		write_value(b, v);
		PUTS(b, "</");
		put_str(b, prefix);
		PUTS(b, ":");
		put_str(b, name);
		PUTS(b, ">");
	}
}

/* wsman_write_instance; BARE: without the declarations (wsman_write_item_ns). */
static void write_instance(strbuf *b, const cim_instance *inst, const char *uri,
                           const wql_query *query, bool bare)
{
	const cim_class *cls = inst->cls;
	const struct instance_tmpl *t = instance_tmpl(cls, uri);

	if (t != NULL) {
		write_instance_tmpl(b, t, inst, query, bare);
		return;
	}
	/* The long way: a class or URI too large for the template. */

	PUTS(b, "<p:");
	put_str(b, cls->name);
	if (!bare)
		write_ns(b, uri);
	PUTS(b, " xsi:type=\"p:");
	put_str(b, cls->name);
	PUTS(b, "_Type\">");
	write_props(b, inst, "p", query);
	PUTS(b, "</p:");
	put_str(b, cls->name);
	PUTS(b, ">");
}

void wsman_write_embedded(strbuf *b, const char *prop, const cim_instance *inst,
                          const char *uri)
{
	const cim_class *cls = inst->cls;

	PUTS(b, "<p:");
	put_str(b, prop);
	PUTS(b, " xmlns:q=\"");
	wsman_escape(b, uri, true);
	PUTS(b, "\" xsi:type=\"q:");
	put_str(b, cls->name);
	PUTS(b, "_Type\">");
	write_props(b, inst, "q", NULL);
	PUTS(b, "</p:");
	put_str(b, prop);
	PUTS(b, ">");
}

void wsman_write_instance(strbuf *b, const cim_instance *inst, const char *uri,
                          const wql_query *query)
{
	write_instance(b, inst, uri, query, false);
}

/* The EPR of INST with template T; NS_SELECTOR as wsman_write_epr. */
static void write_epr_tmpl(strbuf *b, const struct instance_tmpl *t, const cim_instance *inst,
                           const char *ns_selector)
{
	static const char ns_open[] = "<wsman:Selector Name=\"__cimnamespace\">";
	const cim_class *cls = inst->cls;
	size_t need = t->epr_fixed + values_room(inst);
	char *o;

	if (ns_selector != NULL)
		need += sizeof ns_open + t->sel_close.len + ESC_MAX * strlen(ns_selector);
	if ((o = strbuf_room(b, need)) == NULL)
		return;
	o = frag_to(o, t->text, t->epr_head);
	for (size_t i = 0; i < cls->nprops; i++)
		if (cls->props[i].is_key)
			o = frag_to(value_to(frag_to(o, t->text, t->sel[i]), &inst->values[i]), t->text,
			            t->sel_close);
	if (ns_selector != NULL) {
		memcpy(o, ns_open, sizeof ns_open - 1);
		o = frag_to(escape_to(o + sizeof ns_open - 1, ns_selector, false), t->text, t->sel_close);
	}
	strbuf_done(b, frag_to(o, t->text, t->epr_tail));
}

void wsman_write_epr(strbuf *b, const cim_instance *inst, const char *uri,
                     const char *ns_selector)
{
	const cim_class *cls = inst->cls;
	const struct instance_tmpl *t = instance_tmpl(cls, uri);

	if (t != NULL) {
		write_epr_tmpl(b, t, inst, ns_selector);
		return;
	}
	PUTS(b, "<wsa:EndpointReference><wsa:Address>" URI_ANONYMOUS
	        "</wsa:Address><wsa:ReferenceParameters><wsman:ResourceURI>");
	wsman_escape(b, uri, false);
	PUTS(b, "</wsman:ResourceURI><wsman:SelectorSet>");
	for (size_t i = 0; i < cls->nprops; i++) {
		if (!cls->props[i].is_key)
			continue;
		PUTS(b, "<wsman:Selector Name=\"");
		put_str(b, cls->props[i].name);
		PUTS(b, "\">");
		write_value(b, &inst->values[i]);
		PUTS(b, "</wsman:Selector>");
	}
	if (ns_selector != NULL) {
		PUTS(b, "<wsman:Selector Name=\"__cimnamespace\">");
		wsman_escape(b, ns_selector, false);
		PUTS(b, "</wsman:Selector>");
	}
	PUTS(b, "</wsman:SelectorSet></wsa:ReferenceParameters></wsa:EndpointReference>");
}

void wsman_write_item(strbuf *b, const cim_instance *inst, const wsman_render *r)
{
	switch (r->mode) {
	case WSMAN_MODE_OBJECT:
		write_instance(b, inst, r->uri, r->query, r->shared_ns);
		break;
	case WSMAN_MODE_EPR:
		wsman_write_epr(b, inst, r->uri, r->ns_selector);
		break;
	case WSMAN_MODE_OBJECT_EPR:
		PUTS(b, "<wsman:Item>");
		write_instance(b, inst, r->uri, r->query, r->shared_ns);
		wsman_write_epr(b, inst, r->uri, r->ns_selector);
		PUTS(b, "</wsman:Item>");
		break;
	}
}

size_t wsman_item_bound(const cim_class *cls, size_t text_max, const wsman_render *r)
{
	const struct instance_tmpl *t = instance_tmpl(cls, r->uri);
	size_t values, n = 0;

	if (t == NULL || text_max > SIZE_MAX / (8 * ESC_MAX))
		return SIZE_MAX;
	/* values_room() of an instance with TEXT_MAX bytes of text */
	values = ESC_MAX * text_max + VALUE_MAX * cls->nprops;
	if (r->mode != WSMAN_MODE_EPR)
		n += t->fixed + values;
	if (r->mode != WSMAN_MODE_OBJECT) {
		n += t->epr_fixed + values;
		if (r->ns_selector != NULL)
			n += sizeof "<wsman:Selector Name=\"__cimnamespace\">" + t->sel_close.len +
			     ESC_MAX * strlen(r->ns_selector);
	}
	if (r->mode == WSMAN_MODE_OBJECT_EPR)
		n += sizeof "<wsman:Item></wsman:Item>";
	return n;
}

/* ---- Identify ----------------------------------------------------------- */

void wsman_write_identify(strbuf *b, bool authenticated)
{
	wsman_write_head(b, NULL, NULL);
	PUTS(b, "<wsmid:IdentifyResponse xmlns:wsmid=\"" NS_WSMID "\">"
	        "<wsmid:ProtocolVersion>" NS_WSMAN "</wsmid:ProtocolVersion>"
	        "<wsmid:ProductVendor>rdms</wsmid:ProductVendor>"
	        /* Windows clients read the stack version from this text. */
	        "<wsmid:ProductVersion>OS: 0.0.0 SP: 0.0 Stack: 3.0</wsmid:ProductVersion>");
	if (authenticated)
		PUTS(b, "<wsmid:SecurityProfiles><wsmid:SecurityProfileName>"
		        "http://schemas.dmtf.org/wbem/wsman/1/wsman/secprofile/https/basic"
		        "</wsmid:SecurityProfileName><wsmid:SecurityProfileName>"
		        "http://schemas.dmtf.org/wbem/wsman/1/wsman/secprofile/http/basic"
		        "</wsmid:SecurityProfileName></wsmid:SecurityProfiles>");
	PUTS(b, "</wsmid:IdentifyResponse>");
	wsman_write_tail(b);
}

/* ---- faults ------------------------------------------------------------- */

/* PowerShell ErrorCategory for a CIM status (what the MI stack reports). */
static unsigned error_category(int cim_status)
{
	switch (cim_status) {
	case 2:  return 18;   /* PermissionDenied */
	case 3: case 5: case 6: return 13;   /* ObjectNotFound */
	case 4: case 12: case 13: return 5;  /* InvalidArgument */
	case 7: case 16: case 17: return 6;  /* NotImplemented */
	case 14: case 15: return 5;
	case 27: return 26;   /* LimitsExceeded */
	default: return 0;    /* NotSpecified */
	}
}

static const char *fault_action(const char *subcode)
{
	if (strncmp(subcode, "wsa:", 4) == 0 || strncmp(subcode, "s:", 2) == 0)
		return NS_WSA "/fault";
	if (strncmp(subcode, "wsen:", 5) == 0)
		return NS_WSEN "/fault";
	return NS_WSMAN "/fault";
}

static bool receiver_fault(const char *subcode)
{
	return strcmp(subcode, "wsman:InternalError") == 0
	    || strcmp(subcode, "wsman:TimedOut") == 0
	    || strcmp(subcode, "wsen:InvalidEnumerationContext") == 0;
}

static void write_wmi_error(strbuf *b, uint32_t code, int cim_status,
                            const char *reason, const char *text)
{
	char hr[32];

	snprintf(hr, sizeof hr, "HRESULT 0x%08x", (unsigned)code);
	PUTS(b, "<p:MSFT_WmiError wsmb:IsCIM_Error=\"true\" xmlns:wsmb=\"" NS_WSMB
	        "\" xmlns:p=\"http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/MSFT_WmiError\""
	        " xmlns:cim=\"" NS_CIM "\" xmlns:xsi=\"" NS_XSI
	        "\" xsi:type=\"p:MSFT_WmiError_Type\">"
	        "<p:CIMStatusCode xsi:type=\"cim:cimUnsignedInt\">");
	put_u32(b, (uint32_t)cim_status);
	PUTS(b, "</p:CIMStatusCode><p:Message xsi:type=\"cim:cimString\">");
	wsman_escape(b, reason, false);
	PUTS(b, "</p:Message><p:MessageID xsi:type=\"cim:cimString\">");
	put_str(b, hr);
	PUTS(b, "</p:MessageID><p:PerceivedSeverity xsi:type=\"cim:cimUnsignedShort\">0"
	        "</p:PerceivedSeverity><p:error_Category xsi:type=\"cim:cimUnsignedInt\">");
	put_u32(b, error_category(cim_status));
	PUTS(b, "</p:error_Category><p:error_Code xsi:type=\"cim:cimUnsignedInt\">");
	put_u32(b, code);
	PUTS(b, "</p:error_Code><p:error_Type xsi:type=\"cim:cimString\">HRESULT</p:error_Type>"
	        "<p:error_WindowsErrorMessage xsi:type=\"cim:cimString\">");
	wsman_escape(b, text, false);
	PUTS(b, "</p:error_WindowsErrorMessage></p:MSFT_WmiError>");
}

void wsman_write_fault(wsman_reply *out, const wsman_fault *f,
                       const char *relates_to, const char *machine)
{
	static const char oom[] =
		"<s:Envelope xmlns:s=\"" NS_SOAP "\"><s:Body><s:Fault><s:Code><s:Value>"
		"s:Receiver</s:Value></s:Code><s:Reason><s:Text xml:lang=\"en-US\">out of "
		"memory</s:Text></s:Reason></s:Fault></s:Body></s:Envelope>";
	const wbem_code *wc = wbem_lookup(f->code);
	const char *subcode = f->subcode;
	int cim_status = wc != NULL && wc->cim_status != 0 ? wc->cim_status : 1;
	strbuf b = { 0 }, nu = { 0 };

	if (subcode == NULL)
		subcode = wc != NULL && wc->wsman_subcode != NULL ? wc->wsman_subcode
		                                                  : "wsman:InternalError";
	if (strcmp(subcode, "s:MustUnderstand") == 0 && f->nu_name != NULL &&
	    (f->nu_ns == NULL || f->nu_ns[0] == '\0')) {
		/* A header in no namespace: an unprefixed QName (xmlns:nu="" is not XML). */
		PUTS(&nu, "<s:NotUnderstood qname=\"");
		wsman_escape(&nu, f->nu_name, true);
		PUTS(&nu, "\"/>");
	} else if (strcmp(subcode, "s:MustUnderstand") == 0 && f->nu_name != NULL) {
		PUTS(&nu, "<s:NotUnderstood qname=\"nu:");
		wsman_escape(&nu, f->nu_name, true);
		PUTS(&nu, "\" xmlns:nu=\"");
		wsman_escape(&nu, f->nu_ns, true);
		PUTS(&nu, "\"/>");
	}
	write_head_ex(&b, fault_action(subcode), relates_to, nu.data);
	strbuf_free(&nu);
	PUTS(&b, "<s:Fault");
	if (strncmp(subcode, "wse:", 4) == 0)   /* WS-Eventing's subcodes: bound here only */
		PUTS(&b, " xmlns:wse=\"" NS_WSE "\"");
	PUTS(&b, "><s:Code><s:Value>");
	if (strncmp(subcode, "s:", 2) == 0) {
		/* VersionMismatch and MustUnderstand are SOAP codes, not subcodes. */
		strbuf_puts(&b, subcode);
		PUTS(&b, "</s:Value>");
	} else {
		strbuf_puts(&b, receiver_fault(subcode) ? "s:Receiver" : "s:Sender");
		PUTS(&b, "</s:Value><s:Subcode><s:Value>");
		strbuf_puts(&b, subcode);
		PUTS(&b, "</s:Value></s:Subcode>");
	}
	PUTS(&b, "</s:Code><s:Reason><s:Text xml:lang=\"en-US\">");
	wsman_escape(&b, f->reason, false);
	PUTS(&b, "</s:Text></s:Reason><s:Detail>");
	if (f->detail != NULL) {
		PUTS(&b, "<wsman:FaultDetail>" FAULT_DETAIL);
		strbuf_puts(&b, f->detail);
		PUTS(&b, "</wsman:FaultDetail>");
	}
	PUTS(&b, "<f:WSManFault xmlns:f=\"" NS_WSMANFAULT "\" Code=\"");
	put_u32(&b, f->code);
	PUTS(&b, "\" Machine=\"");
	wsman_escape(&b, machine, true);
	PUTS(&b, "\"><f:Message>");
	wsman_escape(&b, f->reason, false);
	PUTS(&b, "</f:Message></f:WSManFault>");
	write_wmi_error(&b, f->code, cim_status, f->reason,
	                wc != NULL ? wc->text : "Generic failure");
	PUTS(&b, "</s:Detail></s:Fault>");
	wsman_write_tail(&b);

	out->http_status = f->http_status != 0 ? f->http_status : 500;
	out->len = b.len;
	out->body = strbuf_take(&b);
	if (out->body == NULL) {
		out->http_status = 500;
		out->body = strdup(oom);
		out->len = out->body != NULL ? strlen(oom) : 0;
	}
}
