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

/* Length of the valid UTF-8 sequence at S (1..4), or 0 when invalid. */
static size_t utf8_len(const unsigned char *s)
{
	unsigned c = s[0];

	if (c >= 0xC2 && c <= 0xDF)
		return (s[1] & 0xC0) == 0x80 ? 2 : 0;
	if (c >= 0xE0 && c <= 0xEF) {
		if ((s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80)
			return 0;
		if (c == 0xE0 && s[1] < 0xA0)
			return 0;     /* overlong */
		if (c == 0xED && s[1] >= 0xA0)
			return 0;     /* surrogate */
		if (c == 0xEF && s[1] == 0xBF && (s[2] == 0xBE || s[2] == 0xBF))
			return 0;     /* U+FFFE, U+FFFF are not XML characters */
		return 3;
	}
	if (c >= 0xF0 && c <= 0xF4) {
		if ((s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80 || (s[3] & 0xC0) != 0x80)
			return 0;
		if ((c == 0xF0 && s[1] < 0x90) || (c == 0xF4 && s[1] >= 0x90))
			return 0;
		return 4;
	}
	return 0;
}

/*
 * Bytes copied as they are: printable ASCII but < > & and ".  A table
 * lets the common case (names, numbers, URIs) cost one load per byte;
 * an enumeration escapes some 40 strings per instance.
 */
#define P16 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1
static const unsigned char plain_byte[256] = {
	[0x20] = 1, 1, 0, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1,    /* " & */
	[0x30] = 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 0, 1,    /* < > */
	[0x40] = P16, P16, P16, P16,
};
#undef P16

void wsman_escape(strbuf *b, const char *s, bool attr)
{
	const unsigned char *p = (const unsigned char *)s, *run = p;

	for (;;) {
		unsigned c;
		const char *rep;

		while (plain_byte[*p])
			p++;
		c = *p;
		if (c == 0)
			break;
		if (c >= 0x80) {
			size_t n = utf8_len(p);
			if (n != 0) {
				p += n;
				continue;
			}
			rep = "?";
		} else if (c == '<') {
			rep = "&lt;";
		} else if (c == '>') {
			rep = "&gt;";
		} else if (c == '&') {
			rep = "&amp;";
		} else if (c == '"') {
			if (!attr) {
				p++;
				continue;
			}
			rep = "&quot;";
		} else if (c == '\t' || c == '\n' || c == '\r') {
			if (!attr) {
				p++;
				continue;
			}
			rep = c == '\t' ? "&#9;" : c == '\n' ? "&#10;" : "&#13;";
		} else {
			rep = "?";      /* C0 control characters cannot appear in XML 1.0 */
		}
		put(b, (const char *)run, (size_t)(p - run));
		put_str(b, rep);
		run = ++p;
	}
	put(b, (const char *)run, (size_t)(p - run));
}

static void put_u32(strbuf *b, uint32_t v)
{
	char tmp[12], *e = tmp + sizeof tmp, *p = e;

	do {
		*--p = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	put(b, p, (size_t)(e - p));
}

void wsman_uuid(char *buf, size_t size)
{
	unsigned char r[16];
	size_t got = 0;

	while (got < sizeof r) {
		ssize_t n = getrandom(r + got, sizeof r - got, 0);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	if (got < sizeof r) {
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

void wsman_write_head(strbuf *b, const char *action, const char *relates_to)
{
	write_head_ex(b, action, relates_to, NULL);
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

static void write_value(strbuf *b, const cim_value *v)
{
	switch (v->type) {
	case CIM_TYPE_STRING:
		wsman_escape(b, v->u.str != NULL ? v->u.str : "", false);
		break;
	case CIM_TYPE_UINT32:
		put_u32(b, v->u.u32);
		break;
	case CIM_TYPE_SINT32:
		if (v->u.s32 < 0) {
			PUTS(b, "-");
			put_u32(b, (uint32_t)0 - (uint32_t)v->u.s32);
		} else {
			put_u32(b, (uint32_t)v->u.s32);
		}
		break;
	case CIM_TYPE_BOOLEAN:
		put_str(b, v->u.boolean ? "true" : "false");
		break;
	case CIM_TYPE_DATETIME: {
		const char *s = v->u.str != NULL ? v->u.str : "";
		bool iv = is_interval(s);
		put_str(b, iv ? "<cim:Interval>" : "<cim:Datetime>");
		wsman_escape(b, s, false);
		put_str(b, iv ? "</cim:Interval>" : "</cim:Datetime>");
		break;
	}
	case CIM_TYPE_NONE:
		break;
	}
}

/*
 * The text every instance of one class written with one ResourceURI
 * shares: the opening element with its namespace declarations (the URI
 * escaped), "<p:Name" and "</p:Name>" of each property, the closing
 * element.  An enumeration writes thousands of instances of one class, so
 * each thread keeps the last one it built (fixed-size, so an exiting
 * connection thread leaves nothing behind); what does not fit is written
 * the long way.
 */
#define TMPL_TEXT  4096
#define TMPL_URI   512
#define TMPL_PROPS 64

struct instance_tmpl {
	const cim_class *cls;
	char             uri[TMPL_URI];
	char             text[TMPL_TEXT];
	uint16_t         head_len;                   /* text[0, head_len) */
	uint16_t         lt[TMPL_PROPS], lt_len[TMPL_PROPS];     /* "<p:Name" */
	uint16_t         end[TMPL_PROPS], end_len[TMPL_PROPS];   /* "</p:Name>" */
	uint16_t         tail, tail_len;             /* "</p:Class>" */
};

static _Thread_local struct instance_tmpl tmpl;

/* Appends S to T's text; false when it does not fit. */
static bool tmpl_add(strbuf *t, uint16_t *off, uint16_t *len, const char *s, size_t n)
{
	if (t->len + n >= TMPL_TEXT)
		return false;
	*off = (uint16_t)t->len;
	*len = (uint16_t)n;
	strbuf_append(t, s, n);
	return !t->failed;
}

/* The template of CLS and URI, or NULL when it cannot be kept. */
static const struct instance_tmpl *instance_tmpl(const cim_class *cls, const char *uri)
{
	struct instance_tmpl *t = &tmpl;
	strbuf txt = { 0 }, piece = { 0 };
	bool ok;

	if (t->cls == cls && strcmp(t->uri, uri) == 0)
		return t;
	if (cls->nprops > TMPL_PROPS || strlen(uri) >= sizeof t->uri)
		return NULL;
	t->cls = NULL;
	PUTS(&txt, "<p:");
	put_str(&txt, cls->name);
	PUTS(&txt, " xmlns:p=\"");
	wsman_escape(&txt, uri, true);
	PUTS(&txt, "\" xmlns:xsi=\"" NS_XSI "\" xmlns:cim=\"" NS_CIM "\" xsi:type=\"p:");
	put_str(&txt, cls->name);
	PUTS(&txt, "_Type\">");
	ok = !txt.failed && txt.len < TMPL_TEXT;
	t->head_len = (uint16_t)txt.len;
	for (size_t i = 0; ok && i < cls->nprops; i++) {
		piece.len = 0;
		PUTS(&piece, "<p:");
		put_str(&piece, cls->props[i].name);
		ok = !piece.failed && tmpl_add(&txt, &t->lt[i], &t->lt_len[i], piece.data, piece.len);
		piece.len = 0;
		PUTS(&piece, "</p:");
		put_str(&piece, cls->props[i].name);
		PUTS(&piece, ">");
		ok = ok && !piece.failed &&
		     tmpl_add(&txt, &t->end[i], &t->end_len[i], piece.data, piece.len);
	}
	if (ok) {
		piece.len = 0;
		PUTS(&piece, "</p:");
		put_str(&piece, cls->name);
		PUTS(&piece, ">");
		ok = !piece.failed && tmpl_add(&txt, &t->tail, &t->tail_len, piece.data, piece.len);
	}
	if (ok) {
		memcpy(t->text, txt.data, txt.len);
		str_copy(t->uri, sizeof t->uri, uri);
		t->cls = cls;
	}
	strbuf_free(&txt);
	strbuf_free(&piece);
	return ok ? t : NULL;
}

void wsman_write_instance(strbuf *b, const cim_instance *inst, const char *uri,
                          const wql_query *query)
{
	const cim_class *cls = inst->cls;
	const struct instance_tmpl *t = instance_tmpl(cls, uri);

	if (t != NULL) {
		put(b, t->text, t->head_len);
		for (size_t i = 0; i < cls->nprops; i++) {
			const cim_value *v = &inst->values[i];

			if (query != NULL && !wql_selects(query, i))
				continue;
			put(b, t->text + t->lt[i], t->lt_len[i]);
			if (v->is_null) {
				PUTS(b, " xsi:nil=\"true\"/>");
				continue;
			}
			PUTS(b, ">");
			write_value(b, v);
			put(b, t->text + t->end[i], t->end_len[i]);
		}
		put(b, t->text + t->tail, t->tail_len);
		return;
	}
	/* The long way: a class or URI too large for the template. */

	PUTS(b, "<p:");
	put_str(b, cls->name);
	PUTS(b, " xmlns:p=\"");
	wsman_escape(b, uri, true);
	PUTS(b, "\" xmlns:xsi=\"" NS_XSI "\" xmlns:cim=\"" NS_CIM "\" xsi:type=\"p:");
	put_str(b, cls->name);
	PUTS(b, "_Type\">");
	for (size_t i = 0; i < cls->nprops; i++) {
		const cim_value *v = &inst->values[i];
		const char *name = cls->props[i].name;

		if (query != NULL && !wql_selects(query, i))
			continue;
		PUTS(b, "<p:");
		put_str(b, name);
		if (v->is_null) {
			PUTS(b, " xsi:nil=\"true\"/>");
			continue;
		}
		PUTS(b, ">");
		write_value(b, v);
		PUTS(b, "</p:");
		put_str(b, name);
		PUTS(b, ">");
	}
	PUTS(b, "</p:");
	put_str(b, cls->name);
	PUTS(b, ">");
}

void wsman_write_epr(strbuf *b, const cim_instance *inst, const char *uri,
                     const char *ns_selector)
{
	const cim_class *cls = inst->cls;

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
		wsman_write_instance(b, inst, r->uri, r->query);
		break;
	case WSMAN_MODE_EPR:
		wsman_write_epr(b, inst, r->uri, r->ns_selector);
		break;
	case WSMAN_MODE_OBJECT_EPR:
		PUTS(b, "<wsman:Item>");
		wsman_write_instance(b, inst, r->uri, r->query);
		wsman_write_epr(b, inst, r->uri, r->ns_selector);
		PUTS(b, "</wsman:Item>");
		break;
	}
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
	PUTS(&b, "<s:Fault><s:Code><s:Value>");
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
