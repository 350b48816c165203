/*
 * test_fleet_ingest.c -- the fleet ingest's wire (src/fleet/ingest_wire.c):
 * the requests it writes (parsed back by rdmsd's own WS-Man parser), the
 * replies it reads (faults by subcode, positions from bookmarks and
 * rdms:Position headers, events as changes), and what it refuses.  The
 * ingest against real rdmsd hosts is tests/e2e/test_fleet_ingest.py.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "fleet/ingest_internal.h"

#define V(e, s) fleet_version((e), (s))
#define WMI "http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/rdms/"
#define ENV(header, body) "<s:Envelope xmlns:s=\"" NS_SOAP "\" xmlns:wsman=\"" NS_WSMAN \
	"\" xmlns:wsen=\"" NS_WSEN "\"><s:Header>" header "</s:Header><s:Body>" body \
	"</s:Body></s:Envelope>"

static rdms_client *client(void)
{
	rdms_client_options o = { .url = "http://127.0.0.1:1/wsman" };
	rdms_error err = { 0 };
	rdms_client *c = rdms_client_new(&o, &err);

	CHECK(c != NULL);
	return c;
}

/* C's reply as if TEXT had come with HTTP 200. */
static uint32_t reply_of(rdms_client *c, const char *text, CURLcode result, ingest_reply_t *r,
                         rdms_error *err)
{
	strbuf_free(&c->reply);
	strbuf_puts(&c->reply, text);
	return ingest_reply(c, result, r, err);
}

static void test_bookmarks(void)
{
	CHECK_EQ(ingest_bookmark_version("rdms:3:5"), V(3, 5));
	CHECK_EQ(ingest_bookmark_version("rdms:1:0"), V(1, 0));
	CHECK_EQ(ingest_bookmark_version("rdms:0:5"), 0);           /* epochs start at 1 */
	CHECK_EQ(ingest_bookmark_version("rdms:1:"), 0);
	CHECK_EQ(ingest_bookmark_version("rdms::1"), 0);
	CHECK_EQ(ingest_bookmark_version("rdms:1:2:3"), 0);
	CHECK_EQ(ingest_bookmark_version("rdms:x:1"), 0);
	CHECK_EQ(ingest_bookmark_version("rdms:-1:1"), 0);
	CHECK_EQ(ingest_bookmark_version("rdms:99999999999999999999:1"), 0);
	CHECK_EQ(ingest_bookmark_version("rdms:9000000:1"), 0);     /* past FLEET_EPOCH_MAX */
	CHECK_EQ(ingest_bookmark_version("xyz"), 0);
	CHECK_EQ(ingest_bookmark_version(""), 0);
}

/* The requests, read back by rdmsd's parser: what a host will see. */
static void test_requests(void)
{
	wsman_request r;
	wsman_fault f;
	strbuf b = { 0 };

	ingest_head(&b, "http://h/wsman", ACTION_SUBSCRIBE, WMI "*", 60, NULL);
	ingest_subscribe_body(&b, 20, V(4, 77));
	PUTS(&b, "</s:Body></s:Envelope>");
	memset(&r, 0, sizeof r);
	CHECK(wsman_parse(b.data, b.len, &r, &f));
	CHECK_EQ(r.op, WSMAN_OP_SUBSCRIBE);
	CHECK_EQ(r.heartbeat_ms, 20000);
	CHECK(r.send_bookmarks);
	CHECK_STR(r.bookmark, "rdms:4:77");
	CHECK_STR(r.delivery_mode, MODE_PULL);
	CHECK(r.filter_text != NULL && strstr(r.filter_text, "__InstanceOperationEvent") != NULL);
	CHECK_EQ(r.timeout_ms, 60000);
	wsman_request_free(&r);
	/* without a bookmark (a resync) */
	ingest_head(&b, "http://h/wsman", ACTION_SUBSCRIBE, WMI "*", 60, NULL);
	ingest_subscribe_body(&b, 20, 0);
	PUTS(&b, "</s:Body></s:Envelope>");
	memset(&r, 0, sizeof r);
	CHECK(wsman_parse(b.data, b.len, &r, &f));
	CHECK(r.bookmark == NULL);
	wsman_request_free(&r);
	/* a Pull with its OperationTimeout; a context with XML in it is escaped */
	ingest_head(&b, "http://h/wsman", ACTION_PULL, WMI "*", 25, NULL);
	ingest_pull_body(&b, "uuid:<&>", 1000);
	PUTS(&b, "</s:Body></s:Envelope>");
	memset(&r, 0, sizeof r);
	CHECK(wsman_parse(b.data, b.len, &r, &f));
	CHECK_EQ(r.op, WSMAN_OP_PULL);
	CHECK_EQ(r.timeout_ms, 25000);
	CHECK_EQ(r.max_elements, 1000);
	CHECK_STR(r.context, "uuid:<&>");
	CHECK_EQ(r.max_envelope, 512000);
	wsman_request_free(&r);
	/* the Enumerate asking for its position */
	ingest_head(&b, "http://h/wsman", ACTION_ENUMERATE, WMI "Win32_VirtualDesktopSession", 60,
	            "<rdms:Position xmlns:rdms=\"" NS_RDMS "\" s:mustUnderstand=\"false\"/>");
	ingest_enumerate_body(&b, 1000);
	PUTS(&b, "</s:Body></s:Envelope>");
	memset(&r, 0, sizeof r);
	CHECK(wsman_parse(b.data, b.len, &r, &f));
	CHECK_EQ(r.op, WSMAN_OP_ENUMERATE);
	CHECK(r.want_position);
	CHECK(r.optimize);
	CHECK_EQ(r.max_elements, 1000);
	wsman_request_free(&r);
	strbuf_free(&b);
}

static void test_replies(void)
{
	rdms_client *c = client();
	rdms_error err = { 0 };
	ingest_reply_t r;

	if (c == NULL)
		return;
	/* a SubscribeResponse with its position */
	CHECK_EQ(reply_of(c, ENV("<rdms:Position xmlns:rdms=\"" NS_RDMS "\" Epoch=\"7\" Seq=\"42\"/>",
	                         "<wse:SubscribeResponse xmlns:wse=\"" NS_WSE "\"/>"), CURLE_OK,
	                  &r, &err), 0);
	CHECK(wsman_is(r.body, NS_WSE, "SubscribeResponse"));
	CHECK_EQ(ingest_position(&r), V(7, 42));
	xmlFreeDoc(r.doc);
	/* no position, or a malformed one */
	CHECK_EQ(reply_of(c, ENV("<rdms:Position xmlns:rdms=\"" NS_RDMS "\" Epoch=\"7\"/>", "<x/>"),
	                  CURLE_OK, &r, &err), 0);
	CHECK_EQ(ingest_position(&r), 0);
	xmlFreeDoc(r.doc);
	CHECK_EQ(reply_of(c, ENV("<rdms:Position xmlns:rdms=\"urn:other\" Epoch=\"7\" Seq=\"1\"/>",
	                         "<x/>"), CURLE_OK, &r, &err), 0);
	CHECK_EQ(ingest_position(&r), 0);
	xmlFreeDoc(r.doc);
	/* a fault: its subcode's local name */
	CHECK(reply_of(c, ENV("", "<s:Fault><s:Code><s:Value>s:Sender</s:Value><s:Subcode>"
	                      "<s:Value>w:InvalidBookmark</s:Value></s:Subcode></s:Code><s:Reason>"
	                      "<s:Text xml:lang=\"en\">gone</s:Text></s:Reason></s:Fault>"),
	               CURLE_OK, &r, &err) != 0);
	CHECK_STR(r.subcode, "InvalidBookmark");
	CHECK(strstr(err.message, "gone") != NULL);
	xmlFreeDoc(r.doc);
	/* transport failures, time-outs, garbage, a document with a DOCTYPE */
	CHECK_EQ(reply_of(c, "", CURLE_COULDNT_CONNECT, &r, &err), WBEM_E_TRANSPORT_FAILURE);
	CHECK_EQ(reply_of(c, "", CURLE_OPERATION_TIMEDOUT, &r, &err), WBEM_E_TIMED_OUT);
	CHECK_EQ(reply_of(c, "not xml", CURLE_OK, &r, &err), WBEM_E_INVALID_STREAM);
	CHECK_EQ(reply_of(c, "<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY e \"e\">]><x>&e;</x>",
	                  CURLE_OK, &r, &err), WBEM_E_INVALID_STREAM);
	CHECK_EQ(reply_of(c, "<a xmlns=\"urn:x\"><Body/></a>", CURLE_OK, &r, &err),
	         WBEM_E_INVALID_STREAM);
	xmlFreeDoc(r.doc);
	rdms_client_free(c);
}

#define EV(cls, inner) "<e:" cls " xmlns:e=\"" WMI cls "\">" inner "</e:" cls ">"
#define TARGET(props) "<e:TargetInstance xmlns:q=\"" WMI "Win32_VirtualDesktopSession\">" \
	props "</e:TargetInstance>"
#define PROPS(host, id, state) "<q:VMHostName>" host "</q:VMHostName><q:SessionId>" id \
	"</q:SessionId><q:ConnectState>" state "</q:ConnectState><q:UserName>alice</q:UserName>" \
	"<q:ClientMachineName>PC-1</q:ClientMachineName>"

/* The first event of ITEMS (an event element's text) as a change. */
static bool change(const char *items, fleet_change *c, cim_instance_list *insts,
                   rdms_error *err)
{
	char doc[4096];
	xmlDoc *d;
	wsman_fault f;
	bool ok;

	snprintf(doc, sizeof doc, "<i xmlns=\"urn:items\">%s</i>", items);
	d = wsman_xml_read(doc, strlen(doc), &f);
	CHECK(d != NULL);
	if (d == NULL)
		return false;
	ok = ingest_change(wsman_first_elem(xmlDocGetRootElement(d)), c, insts, err);
	if (ok)
		CHECK_STR(c->s.host, "hv1");    /* read while INSTS holds the instance */
	xmlFreeDoc(d);
	return ok;
}

static void test_events(void)
{
	cim_instance_list insts = { 0 };
	rdms_error err = { 0 };
	fleet_change c;

	CHECK(change(EV("__InstanceCreationEvent", TARGET(PROPS("hv1", "7", "0"))), &c, &insts,
	             &err));
	CHECK_EQ(c.kind, FLEET_UPSERT);
	CHECK_EQ(c.s.id, 7);
	CHECK_STR(c.s.user_name, "alice");
	CHECK_STR(c.s.client_machine_name, "PC-1");
	CHECK(c.s.vm_name == NULL);          /* not sent: NULL, not "" */
	CHECK(change(EV("__InstanceModificationEvent", TARGET(PROPS("hv1", "7", "4"))
	                "<e:PreviousInstance xmlns:q=\"" WMI "Win32_VirtualDesktopSession\">"
	                PROPS("hv1", "7", "0") "</e:PreviousInstance>"), &c, &insts, &err));
	CHECK_EQ(c.kind, FLEET_UPSERT);
	CHECK_EQ(c.s.connect_state, 4);
	CHECK(change(EV("__InstanceDeletionEvent", TARGET(PROPS("hv1", "9", "4"))), &c, &insts,
	             &err));
	CHECK_EQ(c.kind, FLEET_DELETE);
	CHECK_EQ(c.s.id, 9);
	/* the DMTF form: CIM_InstCreation with SourceInstance */
	CHECK(change("<e:CIM_InstCreation xmlns:e=\"urn:dmtf\"><e:SourceInstance xmlns:q=\"" WMI
	             "Win32_VirtualDesktopSession\">" PROPS("hv1", "11", "0") "</e:SourceInstance>"
	             "</e:CIM_InstCreation>", &c, &insts, &err));
	CHECK_EQ(c.kind, FLEET_UPSERT);
	CHECK_EQ(c.s.id, 11);
	/* refused: no target, no keys, a bad key, another kind of event */
	CHECK(!change(EV("__InstanceCreationEvent", ""), &c, &insts, &err));
	CHECK(!change(EV("__InstanceCreationEvent", TARGET("<q:SessionId>7</q:SessionId>")), &c,
	              &insts, &err));
	CHECK(strstr(err.message, "without its keys") != NULL);
	CHECK(!change(EV("__InstanceCreationEvent", TARGET(PROPS("hv1", "-3", "0"))), &c, &insts,
	              &err));
	CHECK(!change(EV("__ClassCreationEvent", TARGET(PROPS("hv1", "7", "0"))), &c, &insts, &err));
	CHECK_EQ(insts.count, 4);
	cim_instance_list_free(&insts);
}

int main(void)
{
	test_bookmarks();
	test_requests();
	test_replies();
	test_events();
	xmlCleanupParser();
	return check_summary("fleet_ingest");
}
