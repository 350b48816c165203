/*
 * ingest_wire.c -- what the ingest (ingest.c) sends to hosts and reads
 * from them (ingest_internal.h): the WS-Man requests it writes itself (a
 * Pull with its own OperationTimeout, an Enumerate asking for
 * rdms:Position), replies as SOAP bodies or faults, positions from
 * bookmarks and rdms:Position headers, instances and events as the
 * directory's sessions and changes.
 */
#include "ingest_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../ops/provider.h"
#include "../schema/schema.h"

#define CATCH_ALL "SELECT * FROM __InstanceOperationEvent WHERE TargetInstance ISA " \
	"'Win32_VirtualDesktopSession'"

/* ---- requests -------------------------------------------------------------------- */

void ingest_head(strbuf *b, const char *to, const char *action, const char *uri,
                 int timeout_s, const char *extra)
{
	char id[48];

	wsman_uuid(id, sizeof id);
	strbuf_free(b);
	PUTS(b, "<s:Envelope xmlns:s=\"" NS_SOAP "\" xmlns:wsa=\"" NS_WSA "\" xmlns:wsman=\""
	        NS_WSMAN "\" xmlns:wsen=\"" NS_WSEN "\" xmlns:wse=\"" NS_WSE "\"><s:Header><wsa:To>");
	wsman_escape(b, to, false);
	PUTS(b, "</wsa:To><wsman:ResourceURI s:mustUnderstand=\"true\">");
	wsman_escape(b, uri, false);
	strbuf_printf(b, "</wsman:ResourceURI><wsa:ReplyTo><wsa:Address s:mustUnderstand=\"true\">"
	              URI_ANONYMOUS "</wsa:Address></wsa:ReplyTo><wsa:Action s:mustUnderstand="
	              "\"true\">%s</wsa:Action><wsman:MaxEnvelopeSize s:mustUnderstand=\"true\">"
	              "%d</wsman:MaxEnvelopeSize><wsa:MessageID>%s</wsa:MessageID>"
	              "<wsman:OperationTimeout>PT%dS</wsman:OperationTimeout>%s</s:Header><s:Body>",
	              action, INGEST_ENVELOPE_MAX, id, timeout_s, extra != NULL ? extra : "");
}

void ingest_subscribe_body(strbuf *b, int heartbeat_s, uint64_t from)
{
	strbuf_printf(b, "<wse:Subscribe><wse:Delivery Mode=\"" MODE_PULL "\"><wsman:"
	              "Heartbeats>PT%d.000S</wsman:Heartbeats></wse:Delivery><wsman:Filter "
	              "Dialect=\"" DIALECT_WQL "\">" CATCH_ALL "</wsman:Filter><wsman:SendBookmarks/>",
	              heartbeat_s);
	if (from != 0)
		strbuf_printf(b, "<wsman:Bookmark>rdms:%" PRIu64 ":%" PRIu64 "</wsman:Bookmark>",
		              fleet_version_epoch(from), fleet_version_seq(from));
	PUTS(b, "</wse:Subscribe>");
}

void ingest_pull_body(strbuf *b, const char *ctx, unsigned max)
{
	PUTS(b, "<wsen:Pull><wsen:EnumerationContext>");
	wsman_escape(b, ctx, false);
	strbuf_printf(b, "</wsen:EnumerationContext><wsen:MaxElements>%u</wsen:MaxElements>"
	              "</wsen:Pull>", max);
}

void ingest_enumerate_body(strbuf *b, unsigned max)
{
	strbuf_printf(b, "<wsen:Enumerate><wsman:OptimizeEnumeration/><wsman:MaxElements>%u"
	              "</wsman:MaxElements></wsen:Enumerate>", max);
}

/* ---- replies --------------------------------------------------------------------- */

const char *ingest_text(const xmlNode *n, char *buf, size_t size)
{
	xmlChar *t = n != NULL ? xmlNodeGetContent(n) : NULL;
	const char *s = t != NULL ? (const char *)t : "";
	size_t len;

	s += strspn(s, " \t\r\n");
	len = strcspn(s, " \t\r\n");
	buf[0] = '\0';
	if (len < size) {
		memcpy(buf, s, len);
		buf[len] = '\0';
	}
	xmlFree(t);
	return buf;
}

/* N's whole text (a fault's reason), its ends trimmed, cut to fit BUF; "" when none. */
static const char *reason_text(const xmlNode *n, char *buf, size_t size)
{
	xmlChar *t = n != NULL ? xmlNodeGetContent(n) : NULL;

	str_copy(buf, size, t != NULL ? str_trim_space((char *)t) : "");
	xmlFree(t);
	return buf;
}

uint32_t ingest_reply(rdms_client *c, CURLcode result, ingest_reply_t *r, rdms_error *err)
{
	long status = 0;

	memset(r, 0, sizeof *r);
	if (c->reply_too_big)
		return rdms_fail(err, WBEM_E_TOO_MUCH_DATA, "the reply is too large");
	if (result != CURLE_OK)
		return rdms_fail(err, result == CURLE_OPERATION_TIMEDOUT ? WBEM_E_TIMED_OUT
		                 : WBEM_E_TRANSPORT_FAILURE, "%s", c->errbuf[0] != '\0'
		                 ? c->errbuf : curl_easy_strerror(result));
	curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &status);
	if (status == 401)
		return rdms_fail(err, WBEM_E_ACCESS_DENIED, "the host refused the credentials");
	return ingest_reply_parse(c->reply.data, c->reply.len, status, r, err);
}

uint32_t ingest_reply_parse(const char *body, size_t len, long status, ingest_reply_t *r,
                            rdms_error *err)
{
	wsman_fault f = { 0 };
	xmlNode *soap_body;

	memset(r, 0, sizeof *r);
	r->doc = len > 0 ? wsman_xml_read(body, len, &f) : NULL;
	soap_body = r->doc != NULL ? client_soap_body(r->doc) : NULL;
	r->body = soap_body != NULL ? wsman_first_elem(soap_body) : NULL;
	/* an error page (a proxy's, a busy server's) is a failure; a 200 or a fault's status
	 * without SOAP is what the host sent: bad input */
	if (r->body == NULL && status >= 300 && status != 400 && status != 500)
		return rdms_fail(err, WBEM_E_TRANSPORT_FAILURE, "HTTP %ld without a SOAP reply",
		                 status);
	if (r->body == NULL)
		return rdms_fail(err, WBEM_E_INVALID_STREAM, "HTTP %ld without a SOAP reply", status);
	if (wsman_is(r->body, NS_SOAP, "Fault")) {
		char code[160], why[400];
		const char *colon;

		ingest_text(client_find_desc(client_find_desc(r->body, "Subcode"), "Value"), code,
		        sizeof code);
		colon = strrchr(code, ':');
		str_copy(r->subcode, sizeof r->subcode, colon != NULL ? colon + 1 : code);
		reason_text(client_find_desc(r->body, "Text"), why, sizeof why);
		return rdms_fail(err, WBEM_E_FAILED, "fault%s%s: %s", code[0] != '\0' ? " " : "", code,
		                 why[0] != '\0' ? why : "(no reason given)");
	}
	return WBEM_S_NO_ERROR;
}

xmlNode *ingest_header(const ingest_reply_t *r, const char *ns, const char *name)
{
	xmlNode *root = xmlDocGetRootElement(r->doc);

	for (xmlNode *h = wsman_first_elem(root); h != NULL; h = wsman_next_elem(h))
		if (wsman_is(h, NS_SOAP, "Header"))
			for (xmlNode *n = wsman_first_elem(h); n != NULL; n = wsman_next_elem(n))
				if (wsman_is(n, ns, name))
					return n;
	return NULL;
}

/* A position "rdms:E:S" or attributes Epoch/Seq as a version; 0 when it is none. */
static uint64_t parse_version(const char *epoch, const char *seq)
{
	char *end;
	unsigned long long e, s;

	if (epoch == NULL || seq == NULL || *epoch < '0' || *epoch > '9' || *seq < '0' || *seq > '9')
		return 0;
	e = strtoull(epoch, &end, 10);
	if (*end != '\0' && *end != ':')
		return 0;
	s = strtoull(seq, &end, 10);
	return *end == '\0' ? fleet_version(e, s) : 0;
}

uint64_t ingest_bookmark_version(const char *bm)
{
	const char *colon;
	char epoch[32];

	if (strncmp(bm, "rdms:", 5) != 0 || (colon = strchr(bm + 5, ':')) == NULL ||
	    (size_t)(colon - bm - 5) >= sizeof epoch)
		return 0;
	memcpy(epoch, bm + 5, (size_t)(colon - bm - 5));
	epoch[colon - bm - 5] = '\0';
	return parse_version(epoch, colon + 1);
}

uint64_t ingest_position(const ingest_reply_t *r)
{
	xmlNode *n = ingest_header(r, NS_RDMS, "Position");
	xmlChar *e = n != NULL ? xmlGetProp(n, (const xmlChar *)"Epoch") : NULL;
	xmlChar *s = n != NULL ? xmlGetProp(n, (const xmlChar *)"Seq") : NULL;
	uint64_t v = parse_version((const char *)e, (const char *)s);

	xmlFree(e);
	xmlFree(s);
	return v;
}

/* The child of E (any namespace) named NAME, or NULL. */
static xmlNode *child(const xmlNode *e, const char *name)
{
	for (xmlNode *n = wsman_first_elem(e); n != NULL; n = wsman_next_elem(n))
		if (strcmp((const char *)n->name, name) == 0)
			return n;
	return NULL;
}

fleet_session ingest_session(const cim_instance *inst)
{
	const cim_value *v = inst->values;

#define STR(p) (v[RDMS_WIN32_VIRTUALDESKTOPSESSION_##p].is_null ? NULL \
                : v[RDMS_WIN32_VIRTUALDESKTOPSESSION_##p].u.str)
	fleet_session s = {
		.host = STR(VMHOSTNAME), .id = v[RDMS_WIN32_VIRTUALDESKTOPSESSION_SESSIONID].u.u32,
		.vm_name = STR(VMNAME),
		.connect_state = v[RDMS_WIN32_VIRTUALDESKTOPSESSION_CONNECTSTATE].u.u32,
		.user_name = STR(USERNAME), .domain_name = STR(DOMAINNAME),
		.collection_id = STR(COLLECTIONID), .client_machine_name = STR(CLIENTMACHINENAME),
	};
#undef STR
	return s;
}

bool ingest_keyed(const cim_instance *inst)
{
	return !inst->values[RDMS_WIN32_VIRTUALDESKTOPSESSION_VMHOSTNAME].is_null &&
	       !inst->values[RDMS_WIN32_VIRTUALDESKTOPSESSION_SESSIONID].is_null;
}

bool ingest_change(const xmlNode *e, fleet_change *c, cim_instance_list *insts,
                      rdms_error *err)
{
	const char *cls_name = (const char *)e->name;
	xmlNode *t = child(e, "TargetInstance");
	cim_instance *inst = NULL;

	if (t == NULL)
		t = child(e, "SourceInstance");
	memset(c, 0, sizeof *c);
	/* __InstanceCreationEvent, CIM_InstCreation...: never __ClassCreationEvent */
	c->kind = strstr(cls_name, "Inst") == NULL ? 0
	        : strstr(cls_name, "Deletion") != NULL ? FLEET_DELETE
	        : strstr(cls_name, "Creation") != NULL || strstr(cls_name, "Modification") != NULL
	        ? FLEET_UPSERT : 0;
	if (c->kind == 0 || t == NULL) {
		rdms_fail(err, WBEM_E_INVALID_STREAM, "%.60s is not an instance event with a "
		          "TargetInstance", cls_name);
		return false;
	}
	if (client_read_instance(t, rdms_session_class(), true, &inst, err) != WBEM_S_NO_ERROR)
		return false;
	if (!ingest_keyed(inst) || !cim_instance_list_push(insts, inst)) {
		if (ingest_keyed(inst))
			rdms_fail(err, WBEM_E_OUT_OF_MEMORY, "out of memory");
		else
			rdms_fail(err, WBEM_E_INVALID_STREAM, "an event's instance without its keys");
		cim_instance_free(inst);
		return false;
	}
	c->s = ingest_session(inst);
	return true;
}
