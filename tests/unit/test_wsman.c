/*
 * test_wsman.c -- the WS-Management front end (src/wsman) and the WS-Man
 * client (src/client).
 *
 * Requests go straight into wsman_handle() with a provider whose only
 * back-end wraps the fixture back-end: sessions come from a fixture file,
 * and the actions only count their calls, so every malformed request can
 * assert that nothing ran.  Replies are checked with libxml2 XPath on
 * namespace URIs.  The captured requests of real clients (protocols.md
 * section 4, captures/NAME.req) are embedded below byte for byte and also
 * replayed from the spec directory when it is there.  The client is tested
 * against the same service through a minimal HTTP responder on a Unix
 * socket (test scaffolding only; rdmsd uses libmicrohttpd).
 */
#include <dirent.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>

#include "backend/fixture/fixture.h"
#include "client/client.h"
#include "common/body_stream.h"
#include "ops/session_cache.h"
#include "cim/path.h"
#include "common/utf8.h"
#include "common/xml_read.h"
#include "fleet/events.h"
#include "schema/schema.h"
#include "wsman/wsman.h"
#include "wsman/wsman_internal.h"

#include "check.h"
#include "events/feed.h"
#include <time.h>

#define URI_WMI   "http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/rdms/Win32_VirtualDesktopSession"
#define URI_DMTF  "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/Win32_VirtualDesktopSession"
#define URI_WILD  "http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/rdms/*"
#define URI_CLASS "http://schemas.dmtf.org/wbem/cim-xml/2/cim-schema/2/*"
#define NS_ERR    "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/MSFT_WmiError"
#define HOST      "host1.example.com"

/* ---- the counting back-end ---------------------------------------------- */

static int n_disconnect, n_logoff, n_send;
static char last_title[128], last_message[128];
static const rdms_backend counting;

static int calls(void)
{
	return n_disconnect + n_logoff + n_send;
}

static bool cb_available(const rdms_config *cfg)
{
	(void)cfg;
	return true;
}

static uint32_t cb_enumerate(const rdms_config *cfg, rdms_session_list *out, rdms_error *err)
{
	size_t before = out->count;
	uint32_t rc = rdms_backend_fixture.enumerate(cfg, out, err);

	for (size_t i = before; i < out->count; i++)
		out->items[i].backend = &counting;
	return rc;
}

/* When set, the next Disconnect fails as a real one of a disconnected session does. */
static bool disconnect_fails;

static uint32_t cb_disconnect(const rdms_config *cfg, const rdms_session *s, rdms_error *err)
{
	(void)cfg;
	n_disconnect++;
	if (disconnect_fails) {
		disconnect_fails = false;
		return rdms_fail(err, WBEM_E_INVALID_OPERATION, "session %u is not connected",
		                 (unsigned)s->id);
	}
	return 0;
}

static uint32_t cb_logoff(const rdms_config *cfg, const rdms_session *s, rdms_error *err)
{
	(void)cfg; (void)s; (void)err;
	n_logoff++;
	return 0;
}

static rdms_message_options last_opt;

static uint32_t cb_send(const rdms_config *cfg, const rdms_session *s, const char *title,
                        const char *message, const rdms_message_options *opt, rdms_error *err)
{
	(void)cfg; (void)s; (void)err;
	n_send++;
	last_opt = opt != NULL ? *opt : (rdms_message_options){ 0 };
	snprintf(last_title, sizeof last_title, "%s", title);
	snprintf(last_message, sizeof last_message, "%s", message);
	return 0;
}

static const rdms_backend counting = {
	.name = "fixture", .available = cb_available, .enumerate = cb_enumerate,
	.disconnect = cb_disconnect, .logoff = cb_logoff, .send_message = cb_send,
};

static rdms_caller admin = { .uid = 0, .user = "root", .is_admin = true,
                             .protocol = "wsman", .source = "test" };
static rdms_caller carol = { .uid = 4242, .user = "carol", .is_admin = false,
                             .protocol = "wsman", .source = "test" };

/* A config over fixture file PATH and a provider with the counting back-end. */
static void setup(rdms_config *cfg, rdms_provider *p, const char *path, int timeout_s)
{
	rdms_config_defaults(cfg);
	snprintf(cfg->vm_host_name, sizeof cfg->vm_host_name, "%s", HOST);
	snprintf(cfg->vm_name, sizeof cfg->vm_name, "vm-a");
	snprintf(cfg->collection_id, sizeof cfg->collection_id, "Pool1");
	snprintf(cfg->domain_name, sizeof cfg->domain_name, "CORP");
	snprintf(cfg->fixture_file, sizeof cfg->fixture_file, "%s", path);
	cfg->enumeration_timeout_s = timeout_s;
	memset(p, 0, sizeof *p);
	p->cfg = cfg;
	p->backends[0] = &counting;
	p->nbackends = 1;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f == NULL) {
		perror(path);
		exit(2);
	}
	fputs(text, f);
	fclose(f);
}

/* ---- request building and reply checking -------------------------------- */

#define ENV_OPEN "<s:Envelope xmlns:s=\"" NS_SOAP "\" xmlns:wsa=\"" NS_WSA \
	"\" xmlns:wsman=\"" NS_WSMAN "\" xmlns:wsen=\"" NS_WSEN "\">"
#define SEL(host, id) "<wsman:SelectorSet><wsman:Selector Name=\"VMHostName\">" host \
	"</wsman:Selector><wsman:Selector Name=\"SessionId\">" id "</wsman:Selector></wsman:SelectorSet>"
#define SEL2 SEL(HOST, "2")

/* An envelope; ACTION/URI NULL leave those headers out (malloc'd). */
static char *build(const char *action, const char *uri, const char *headers, const char *body)
{
	static int id;
	strbuf b = { 0 };

	strbuf_puts(&b, ENV_OPEN "<s:Header>");
	if (action != NULL)
		strbuf_printf(&b, "<wsa:Action s:mustUnderstand=\"true\">%s</wsa:Action>", action);
	if (uri != NULL)
		strbuf_printf(&b, "<wsman:ResourceURI s:mustUnderstand=\"true\">%s</wsman:ResourceURI>", uri);
	strbuf_printf(&b, "<wsa:MessageID>uuid:00000000-0000-0000-0000-%012d</wsa:MessageID>", ++id);
	strbuf_puts(&b, "<wsa:ReplyTo><wsa:Address>" URI_ANONYMOUS "</wsa:Address></wsa:ReplyTo>");
	strbuf_puts(&b, headers != NULL ? headers : "");
	strbuf_printf(&b, "</s:Header><s:Body>%s</s:Body></s:Envelope>", body != NULL ? body : "");
	return strbuf_take(&b);
}

static wsman_reply call(wsman_service *s, const rdms_caller *who, const char *body)
{
	wsman_reply r;

	wsman_handle(s, who, body, strlen(body), &r);
	return r;
}

/* call() for a request built here, which it frees. */
static wsman_reply callf(wsman_service *s, const rdms_caller *who, char *req)
{
	wsman_reply r = call(s, who, req);

	free(req);
	return r;
}

static xmlDoc *xdoc(const wsman_reply *r)
{
	if (r->body == NULL)
		return NULL;
	return xmlReadMemory(r->body, (int)r->len, NULL, NULL, XML_PARSE_NONET | XML_PARSE_NOERROR);
}

static xmlXPathObjectPtr xeval(xmlDoc *d, const char *expr)
{
	static const char *const ns[][2] = {
		{ "s", NS_SOAP }, { "wsa", NS_WSA }, { "wsen", NS_WSEN }, { "wsman", NS_WSMAN },
		{ "wsmid", NS_WSMID }, { "f", NS_WSMANFAULT }, { "e", NS_ERR },
		{ "pw", URI_WMI }, { "pd", URI_DMTF }, { "xsi", NS_XSI }, { "r", NS_RDMS },
		{ "wse", NS_WSE },
		{ "ev", "http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/rdms/"
		        "__InstanceModificationEvent" },
		{ "cr", "http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/rdms/"
		        "__InstanceCreationEvent" },
		{ "q", "http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/rdms/"
		       "Win32_VirtualDesktopSession" },
		{ "dm", "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_InstModification" },
	};
	xmlXPathContextPtr ctx;
	xmlXPathObjectPtr o;

	if (d == NULL)
		return NULL;
	ctx = xmlXPathNewContext(d);
	for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++)
		xmlXPathRegisterNs(ctx, (const xmlChar *)ns[i][0], (const xmlChar *)ns[i][1]);
	o = xmlXPathEvalExpression((const xmlChar *)expr, ctx);
	xmlXPathFreeContext(ctx);
	return o;
}

/* string(EXPR) in a static buffer ("" on any failure). */
static const char *xs(xmlDoc *d, const char *expr)
{
	static char buf[4096];
	char e[1024];
	xmlXPathObjectPtr o;

	snprintf(e, sizeof e, "string(%s)", expr);
	o = xeval(d, e);
	buf[0] = '\0';
	if (o != NULL && o->type == XPATH_STRING)
		snprintf(buf, sizeof buf, "%s", (const char *)o->stringval);
	xmlXPathFreeObject(o);
	return buf;
}

static int xn(xmlDoc *d, const char *expr)
{
	char e[1024];
	xmlXPathObjectPtr o;
	int n = -1;

	snprintf(e, sizeof e, "count(%s)", expr);
	o = xeval(d, e);
	if (o != NULL && o->type == XPATH_NUMBER)
		n = (int)o->floatval;
	xmlXPathFreeObject(o);
	return n;
}

#define FAULT "/s:Envelope/s:Body/s:Fault"

/*
 * Runs BODY (LEN bytes) and checks the fault: HTTP STATUS, SUBCODE (or the
 * SOAP code for s:*), the WMI CODE in both details, and that no method ran.
 */
static void fault_case(wsman_service *s, const rdms_caller *who, const char *label,
                       const char *body, size_t len, int status, const char *subcode,
                       uint32_t code)
{
	int failed = check_failed, before = calls();
	wsman_reply r;
	xmlDoc *d;

	wsman_handle(s, who, body, len, &r);
	d = xdoc(&r);
	CHECK_EQ(r.http_status, status);
	CHECK(d != NULL);
	CHECK_STR(xs(d, "/s:Envelope/s:Header/wsa:Action"),
	          strncmp(subcode, "wsa:", 4) == 0 || strncmp(subcode, "s:", 2) == 0
	          ? NS_WSA "/fault" : strncmp(subcode, "wsen:", 5) == 0 ? NS_WSEN "/fault"
	          : NS_WSMAN "/fault");
	if (strncmp(subcode, "s:", 2) == 0)
		CHECK_STR(xs(d, FAULT "/s:Code/s:Value"), subcode);
	else
		CHECK_STR(xs(d, FAULT "/s:Code/s:Subcode/s:Value"), subcode);
	CHECK(xs(d, FAULT "/s:Reason/s:Text")[0] != '\0');
	if (code != 0) {
		const wbem_code *wc = wbem_lookup(code);

		CHECK_EQ(strtoul(xs(d, FAULT "/s:Detail/f:WSManFault/@Code"), NULL, 10), code);
		CHECK_EQ(strtoul(xs(d, FAULT "/s:Detail/e:MSFT_WmiError/e:error_Code"), NULL, 10), code);
		CHECK_EQ(atoi(xs(d, FAULT "/s:Detail/e:MSFT_WmiError/e:CIMStatusCode")),
		         wc != NULL ? wc->cim_status : -1);
	}
	CHECK_EQ(calls(), before);
	if (check_failed != failed)
		fprintf(stderr, "  ^ in case '%s': %.*s\n", label, (int)(r.len < 1500 ? r.len : 1500),
		        r.body ? r.body : "(null)");
	xmlFreeDoc(d);
	free(r.body);
}

/* fault_case for a request built with build(). */
static void fault_built(wsman_service *s, const char *label, char *req, int status,
                        const char *subcode, uint32_t code)
{
	CHECK(req != NULL);
	if (req != NULL)
		fault_case(s, &admin, label, req, strlen(req), status, subcode, code);
	free(req);
}

static void fault_text(wsman_service *s, const char *label, const char *req, int status,
                       const char *subcode, uint32_t code)
{
	fault_case(s, &admin, label, req, strlen(req), status, subcode, code);
}

/* Runs REQ (freed) as admin, expects HTTP 200 and returns the parsed reply. */
static xmlDoc *ok_call(wsman_service *s, const rdms_caller *who, char *req, const char *label)
{
	wsman_reply r = call(s, who, req);
	xmlDoc *d = xdoc(&r);

	CHECK_EQ(r.http_status, 200);
	if (r.http_status != 200)
		fprintf(stderr, "  ^ in '%s': %.*s\n", label, (int)(r.len < 1500 ? r.len : 1500),
		        r.body ? r.body : "(null)");
	CHECK(d != NULL);
	free(r.body);
	free(req);
	return d;
}

/* ---- the captured requests (captures/NAME.req, bodies byte for byte) ------- */

static const char cap_pywinrm_shell_create[] =
	"<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<env:Envelope xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\" "
	"xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xmlns:env=\"http://www.w3.org/2003/05/soap-envelope\" "
	"xmlns:a=\"http://schemas.xmlsoap.org/ws/2004/08/addressing\" xmlns:b=\"http://schemas.dmtf.org/wbem/wsman/1/cimbinding.xsd\" "
	"xmlns:n=\"http://schemas.xmlsoap.org/ws/2004/09/enumeration\" xmlns:x=\"http://schemas.xmlsoap.org/ws/2004/09/transfer\" "
	"xmlns:w=\"http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd\" xmlns:p=\"http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd\" "
	"xmlns:rsp=\"http://schemas.microsoft.com/wbem/wsman/1/windows/shell\" xmlns:cfg=\"http://schemas.microsoft.com/wbem/wsman/1/config\">"
	"<env:Header><a:To>http://windows-host:5985/wsman</a:To><a:ReplyTo><a:Address mustUnderstand=\"true\">"
	"http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:Address></a:ReplyTo>"
	"<w:MaxEnvelopeSize mustUnderstand=\"true\">153600</w:MaxEnvelopeSize><a:MessageID>"
	"uuid:edf1c3a6-48f7-48e3-a01e-bee6265e5bf9</a:MessageID><w:Locale mustUnderstand=\"false\" "
	"xml:lang=\"en-US\"></w:Locale><p:DataLocale mustUnderstand=\"false\" xml:lang=\"en-US\">"
	"</p:DataLocale><w:OperationTimeout>PT20S</w:OperationTimeout><w:ResourceURI mustUnderstand=\"true\">"
	"http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd</w:ResourceURI><a:Action "
	"mustUnderstand=\"true\">http://schemas.xmlsoap.org/ws/2004/09/transfer/Create</a:Action>"
	"<w:OptionSet><w:Option Name=\"WINRS_NOPROFILE\">FALSE</w:Option><w:Option Name=\"WINRS_CODEPAGE\">"
	"437</w:Option></w:OptionSet></env:Header><env:Body><rsp:Shell><rsp:InputStreams>"
	"stdin</rsp:InputStreams><rsp:OutputStreams>stdout stderr</rsp:OutputStreams></rsp:Shell>"
	"</env:Body></env:Envelope>";

static const char cap_wsl_enumerate_wql_optimized[] =
	"<?xml version=\"1.0\"?><s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\" "
	"xmlns:wsa=\"http://schemas.xmlsoap.org/ws/2004/08/addressing\" xmlns:wsman=\"http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd\" "
	"xmlns:wsen=\"http://schemas.xmlsoap.org/ws/2004/09/enumeration\">  <s:Header>    <wsa:Action "
	"s:mustUnderstand=\"true\">http://schemas.xmlsoap.org/ws/2004/09/enumeration/Enumerate</wsa:Action>"
	"    <wsa:To s:mustUnderstand=\"true\">http://127.0.0.1:15985/wsman</wsa:To>    <wsman:ResourceURI "
	"s:mustUnderstand=\"true\">http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/rdms/Win32_VirtualDesktopSession</wsman:ResourceURI>"
	"    <wsa:MessageID s:mustUnderstand=\"true\">c53d48a2-0a7a-46aa-a61c-43b814f9363e</wsa:MessageID>"
	"    <wsa:ReplyTo>      <wsa:Address>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</wsa:Address>"
	"    </wsa:ReplyTo>  </s:Header>  <s:Body>    <wsen:Enumerate>      <wsman:OptimizeEnumeration/>"
	"      <wsman:MaxElements>50</wsman:MaxElements>      <wsman:Filter Dialect=\"http://schemas.microsoft.com/wbem/wsman/1/WQL\">"
	"SELECT * FROM Win32_VirtualDesktopSession WHERE UserName='alice'</wsman:Filter> "
	"   </wsen:Enumerate>  </s:Body></s:Envelope>";

static const char cap_wsl_get[] =
	"<?xml version=\"1.0\"?><s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\" "
	"xmlns:wsa=\"http://schemas.xmlsoap.org/ws/2004/08/addressing\" xmlns:wsman=\"http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd\" "
	"xmlns:wsen=\"http://schemas.xmlsoap.org/ws/2004/09/enumeration\">  <s:Header>    <wsa:Action "
	"s:mustUnderstand=\"true\">http://schemas.xmlsoap.org/ws/2004/09/transfer/Get</wsa:Action>"
	"    <wsa:To s:mustUnderstand=\"true\">http://127.0.0.1:15985/wsman</wsa:To>    <wsman:ResourceURI "
	"s:mustUnderstand=\"true\">http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/rdms/Win32_VirtualDesktopSession</wsman:ResourceURI>"
	"    <wsa:MessageID s:mustUnderstand=\"true\">d6d424a6-8818-4ca8-ab88-f2e053b54187</wsa:MessageID>"
	"    <wsa:ReplyTo>      <wsa:Address>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</wsa:Address>"
	"    </wsa:ReplyTo>    <wsman:SelectorSet>      <wsman:Selector Name=\"VMHostName\">"
	"host1.example.com</wsman:Selector>      <wsman:Selector Name=\"SessionId\">2</wsman:Selector>"
	"    </wsman:SelectorSet>  </s:Header>  <s:Body/></s:Envelope>";

static const char cap_wsl_identify[] =
	"<?xml version=\"1.0\"?><s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\" "
	"xmlns:wsmid=\"http://schemas.dmtf.org/wbem/wsman/identity/1/wsmanidentity.xsd\">  "
	"<s:Header/>  <s:Body>    <wsmid:Identify/>  </s:Body></s:Envelope>";

static const char cap_wsl_invoke_disconnect[] =
	"<?xml version=\"1.0\"?><s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\" "
	"xmlns:wsa=\"http://schemas.xmlsoap.org/ws/2004/08/addressing\" xmlns:wsman=\"http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd\" "
	"xmlns:wsen=\"http://schemas.xmlsoap.org/ws/2004/09/enumeration\">  <s:Header>    <wsa:Action "
	"s:mustUnderstand=\"true\">http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/rdms/Win32_VirtualDesktopSession/Disconnect</wsa:Action>"
	"    <wsa:To s:mustUnderstand=\"true\">http://127.0.0.1:15985/wsman</wsa:To>    <wsman:ResourceURI "
	"s:mustUnderstand=\"true\">http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/rdms/Win32_VirtualDesktopSession</wsman:ResourceURI>"
	"    <wsa:MessageID s:mustUnderstand=\"true\">27281823-759f-449d-b87c-b46e2e2e2170</wsa:MessageID>"
	"    <wsa:ReplyTo>      <wsa:Address>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</wsa:Address>"
	"    </wsa:ReplyTo>    <wsman:SelectorSet>      <wsman:Selector Name=\"SessionId\">"
	"2</wsman:Selector>      <wsman:Selector Name=\"VMHostName\">host1.example.com</wsman:Selector>"
	"    </wsman:SelectorSet>  </s:Header>  <s:Body>    <p:Disconnect_INPUT xmlns:p=\"http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/rdms/Win32_VirtualDesktopSession\">"
	"             </p:Disconnect_INPUT>  </s:Body></s:Envelope>";

static const char cap_wsl_pull[] =
	"<?xml version=\"1.0\"?><s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\" "
	"xmlns:wsa=\"http://schemas.xmlsoap.org/ws/2004/08/addressing\" xmlns:wsman=\"http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd\" "
	"xmlns:wsen=\"http://schemas.xmlsoap.org/ws/2004/09/enumeration\">  <s:Header>    <wsa:Action "
	"s:mustUnderstand=\"true\">http://schemas.xmlsoap.org/ws/2004/09/enumeration/Pull</wsa:Action>"
	"    <wsa:To s:mustUnderstand=\"true\">http://127.0.0.1:15991/wsman</wsa:To>    <wsman:ResourceURI "
	"s:mustUnderstand=\"true\">http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/rdms/Win32_VirtualDesktopSession</wsman:ResourceURI>"
	"    <wsa:MessageID s:mustUnderstand=\"true\">0b9d5469-8b86-448e-bf9e-62241e4af464</wsa:MessageID>"
	"    <wsa:ReplyTo>      <wsa:Address>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</wsa:Address>"
	"    </wsa:ReplyTo>  </s:Header>  <s:Body>    <wsen:Pull>      <wsen:EnumerationContext>"
	"uuid:EnumerateEPR-84485530-a6a0-440e-9c94-be1d411c6c02</wsen:EnumerationContext>"
	"    </wsen:Pull>  </s:Body></s:Envelope>";

/* ---- health (a fleet broker's) ------------------------------------------- */

static bool unhealthy(void *ctx, rdms_error *why)
{
	(void)ctx;
	rdms_fail(why, WBEM_E_NOT_AVAILABLE, "session directory (PostgreSQL database \"rdms\"): "
	          "cannot connect");
	return false;
}

/*
 * A provider that cannot serve answers Identify -- the load balancer's
 * health check -- with 503 and a fault saying why, authenticated or not.
 */
static void test_unhealthy(wsman_service *s, rdms_provider *p)
{
	wsman_reply r;
	xmlDoc *d;

	p->healthy = unhealthy;
	for (int authenticated = 0; authenticated < 2; authenticated++) {
		r = call(s, authenticated ? &admin : NULL, cap_wsl_identify);
		d = xdoc(&r);
		CHECK_EQ(r.http_status, 503);
		CHECK_EQ(xn(d, "//wsmid:IdentifyResponse"), 0);
		CHECK(strstr(xs(d, "//s:Reason/s:Text"), "unhealthy: session directory") != NULL);
		xmlFreeDoc(d);
		free(r.body);
	}
	p->healthy = NULL;
	r = call(s, NULL, cap_wsl_identify);
	CHECK_EQ(r.http_status, 200);
	free(r.body);
}

/* ---- captured requests -------------------------------------------------- */

static void test_captures(wsman_service *s)
{
	wsman_reply r;
	xmlDoc *d;
	int before;

	/* wsl Identify: with and without authentication. */
	CHECK(wsman_is_identify(cap_wsl_identify, strlen(cap_wsl_identify)));
	CHECK(!wsman_is_identify(cap_wsl_get, strlen(cap_wsl_get)));
	CHECK(!wsman_is_identify("<x", 2));
	r = call(s, NULL, cap_wsl_identify);
	d = xdoc(&r);
	CHECK_EQ(r.http_status, 200);
	CHECK_STR(xs(d, "/s:Envelope/s:Body/wsmid:IdentifyResponse/wsmid:ProtocolVersion"), NS_WSMAN);
	CHECK_STR(xs(d, "//wsmid:ProductVendor"), "rdms");
	CHECK(strstr(xs(d, "//wsmid:ProductVersion"), "Stack: 3.0") != NULL);
	CHECK_EQ(xn(d, "//wsmid:SecurityProfiles"), 0);
	xmlFreeDoc(d);
	free(r.body);
	r = call(s, &admin, cap_wsl_identify);
	d = xdoc(&r);
	CHECK_EQ(xn(d, "//wsmid:SecurityProfiles/wsmid:SecurityProfileName"), 2);
	xmlFreeDoc(d);
	free(r.body);

	/* wsl Get: the instance, typed elements in class order. */
	d = ok_call(s, &admin, strdup(cap_wsl_get), "wsl get");
	CHECK_STR(xs(d, "/s:Envelope/s:Header/wsa:Action"), ACTION_GET "Response");
	CHECK_STR(xs(d, "/s:Envelope/s:Header/wsa:RelatesTo"), "d6d424a6-8818-4ca8-ab88-f2e053b54187");
	CHECK_STR(xs(d, "/s:Envelope/s:Header/wsa:To"), URI_ANONYMOUS);
	CHECK(strncmp(xs(d, "/s:Envelope/s:Header/wsa:MessageID"), "uuid:", 5) == 0);
	CHECK_STR(xs(d, "/s:Envelope/s:Body/pw:Win32_VirtualDesktopSession/pw:SessionId"), "2");
	CHECK_STR(xs(d, "//pw:Win32_VirtualDesktopSession/pw:UserName"), "alice");
	CHECK_STR(xs(d, "//pw:Win32_VirtualDesktopSession/pw:VMHostName"), HOST);
	CHECK_STR(xs(d, "//pw:Win32_VirtualDesktopSession/pw:ClientMachineName"), "PC-1");
	CHECK_STR(xs(d, "//pw:Win32_VirtualDesktopSession/pw:DomainName"), "CORP");
	CHECK_STR(xs(d, "//pw:Win32_VirtualDesktopSession/@xsi:type"), "p:Win32_VirtualDesktopSession_Type");
	CHECK_EQ(xn(d, "//pw:Win32_VirtualDesktopSession/*"), 8);
	/* property order of the class */
	const cim_class *cls = rdms_schema_find("Win32_VirtualDesktopSession");
	for (size_t i = 0; cls != NULL && i < cls->nprops; i++) {
		char e[128];
		snprintf(e, sizeof e, "local-name(//pw:Win32_VirtualDesktopSession/*[%zu])", i + 1);
		CHECK_STR(xs(d, e), cls->props[i].name);
	}
	xmlFreeDoc(d);

	/* wsl optimized WQL enumeration. */
	d = ok_call(s, &admin, strdup(cap_wsl_enumerate_wql_optimized), "wsl enumerate");
	CHECK_STR(xs(d, "/s:Envelope/s:Header/wsa:Action"), ACTION_ENUMERATE "Response");
	CHECK_EQ(xn(d, "/s:Envelope/s:Body/wsen:EnumerateResponse/wsman:Items/pw:Win32_VirtualDesktopSession"), 1);
	CHECK_STR(xs(d, "//wsman:Items/pw:Win32_VirtualDesktopSession/pw:UserName"), "alice");
	CHECK_EQ(xn(d, "//wsen:EnumerateResponse/wsman:EndOfSequence"), 1);
	CHECK_STR(xs(d, "//wsen:EnumerateResponse/wsen:EnumerationContext"), "");
	xmlFreeDoc(d);

	/* wsl Pull of a context this server never gave out. */
	fault_text(s, "wsl pull (foreign context)", cap_wsl_pull, 500,
	           "wsen:InvalidEnumerationContext", WBEM_E_INVALID_CONTEXT);

	/* wsl invoke Disconnect; the curl --retry re-send must not run it again. */
	before = n_disconnect;
	d = ok_call(s, &admin, strdup(cap_wsl_invoke_disconnect), "wsl invoke");
	CHECK_STR(xs(d, "/s:Envelope/s:Header/wsa:Action"), URI_WMI "/DisconnectResponse");
	CHECK_STR(xs(d, "/s:Envelope/s:Body/pw:Disconnect_OUTPUT/pw:ReturnValue"), "0");
	CHECK_EQ(n_disconnect, before + 1);
	xmlFreeDoc(d);
	r = call(s, &admin, cap_wsl_invoke_disconnect);
	CHECK_EQ(r.http_status, 200);
	CHECK(strstr(r.body, "Disconnect_OUTPUT") != NULL);
	CHECK_EQ(n_disconnect, before + 1);
	free(r.body);
	/* ... but another caller with the same MessageID is a new request. */
	r = call(s, &carol, cap_wsl_invoke_disconnect);
	CHECK_EQ(r.http_status, 500);    /* carol may not act on alice's session */
	CHECK(strstr(r.body, "wsman:AccessDenied") != NULL);
	CHECK_EQ(n_disconnect, before + 1);
	free(r.body);

	/* pywinrm shell Create: its header style parses; the action is refused. */
	fault_text(s, "pywinrm shell create", cap_pywinrm_shell_create, 500,
	           "wsa:ActionNotSupported", WBEM_E_NOT_SUPPORTED);
}

/* Every tests/captures/NAME.req (copied from the spec's captures). */
static void test_capture_dir(wsman_service *s)
{
	const char *dir = getenv("RDMS_CAPTURES") ? getenv("RDMS_CAPTURES")
	                                          : SOURCE_ROOT "/tests/captures";
	DIR *dp = opendir(dir);
	struct dirent *de;
	int seen = 0;

	CHECK(dp != NULL);
	if (dp == NULL)
		return;
	while ((de = readdir(dp)) != NULL) {
		char path[512], *data, *body;
		size_t len;
		FILE *f;
		wsman_reply r;

		if (strlen(de->d_name) < 5 || strcmp(de->d_name + strlen(de->d_name) - 4, ".req") != 0)
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
		f = fopen(path, "rb");
		if (f == NULL)
			continue;
		data = calloc(1, 1 << 20);
		len = fread(data, 1, (1 << 20) - 1, f);
		fclose(f);
		body = strstr(data, "\r\n\r\n");
		body = body != NULL ? body + 4 : strstr(data, "\n\n") ? strstr(data, "\n\n") + 2 : data;
		len -= (size_t)(body - data);
		int before = calls();
		wsman_handle(s, &admin, body, len, &r);
		seen++;
		if (strncmp(de->d_name, "wbemcli", 7) == 0) {
			/* CIM-XML sent to /wsman: not SOAP, refused, nothing runs. */
			CHECK_EQ(r.http_status, 500);
			CHECK(strstr(r.body, "wsman:SchemaValidationError") != NULL);
			CHECK_EQ(calls(), before);
		} else if (strcmp(de->d_name, "wsl-pull.req") == 0) {
			CHECK(strstr(r.body, "wsen:InvalidEnumerationContext") != NULL);
		} else if (strncmp(de->d_name, "pywinrm", 7) == 0) {
			CHECK(strstr(r.body, "wsa:ActionNotSupported") != NULL);
		} else {
			CHECK_EQ(r.http_status, 200);
			if (r.http_status != 200)
				fprintf(stderr, "  ^ %s: %s\n", de->d_name, r.body);
		}
		free(r.body);
		free(data);
	}
	closedir(dp);
	CHECK(seen >= 6);
}

/* ---- PowerShell / MI client and npm builder styles (4.4, 4.6) ----------- */

#define MI_HEADERS \
	"<w:MaxEnvelopeSize s:mustUnderstand=\"true\">512000</w:MaxEnvelopeSize>" \
	"<w:OperationTimeout>PT1M30S</w:OperationTimeout>" \
	"<w:Locale xml:lang=\"en-US\" s:mustUnderstand=\"false\"/>" \
	"<p:DataLocale xml:lang=\"en-US\" s:mustUnderstand=\"false\"/>" \
	"<p:SessionId s:mustUnderstand=\"false\">uuid:5B0B5B9E-4B7B-4D1C-9D0E-2C0C5F0A1A11</p:SessionId>" \
	"<p:OperationID s:mustUnderstand=\"false\">uuid:0B8AAAE1-1F6A-4C6B-8F7E-0E8A4C2B1D22</p:OperationID>" \
	"<p:SequenceId s:mustUnderstand=\"false\">1</p:SequenceId>"

static char *mi_request(const char *action, const char *uri, const char *selectors,
                        const char *options, const char *body)
{
	static int id;
	strbuf b = { 0 };

	strbuf_printf(&b, "<s:Envelope xmlns:s=\"%s\" xmlns:a=\"%s\" xmlns:n=\"%s\" xmlns:w=\"%s\" "
	              "xmlns:p=\"%s\"><s:Header><a:To>HTTP://127.0.0.1:5985/wsman/</a:To>"
	              "<w:ResourceURI s:mustUnderstand=\"true\">%s</w:ResourceURI>"
	              "<a:ReplyTo><a:Address s:mustUnderstand=\"true\">%s</a:Address></a:ReplyTo>"
	              "<a:Action s:mustUnderstand=\"true\">%s</a:Action>"
	              "<a:MessageID>uuid:6D1E1D2C-0000-4000-8000-%012d</a:MessageID>" MI_HEADERS
	              "%s<w:SelectorSet><w:Selector Name=\"__cimnamespace\">root/cimv2/rdms</w:Selector>%s"
	              "</w:SelectorSet></s:Header><s:Body>%s</s:Body></s:Envelope>",
	              NS_SOAP, NS_WSA, NS_WSEN, NS_WSMAN, NS_MSWSMAN, uri, URI_ANONYMOUS, action,
	              ++id, options, selectors, body);
	return strbuf_take(&b);
}

#define MI_KEYS "<w:Selector Name=\"SessionId\">3</w:Selector><w:Selector Name=\"VMHostName\">" HOST "</w:Selector>"

static void test_mi_client(wsman_service *s)
{
	wsman_reply failed;
	xmlDoc *d;
	int before;

	/* Get-CimInstance -ClassName: DMTF URI, ObjectAndEPR, optimized. */
	d = ok_call(s, &admin, mi_request(ACTION_ENUMERATE, URI_DMTF, "",
	            "<w:OptionSet s:mustUnderstand=\"true\"/>",
	            "<n:Enumerate><w:OptimizeEnumeration/><w:MaxElements>32000</w:MaxElements>"
	            "<w:EnumerationMode>EnumerateObjectAndEPR</w:EnumerationMode></n:Enumerate>"),
	            "MI enumerate");
	CHECK_EQ(xn(d, "//wsman:Items/wsman:Item"), 2);
	CHECK_EQ(xn(d, "//wsman:Item/pd:Win32_VirtualDesktopSession"), 2);
	CHECK_STR(xs(d, "//wsman:Item[2]/pd:Win32_VirtualDesktopSession/pd:UserName"), "bob");
	CHECK_STR(xs(d, "//wsman:Item[1]/wsa:EndpointReference/wsa:ReferenceParameters/wsman:ResourceURI"),
	          URI_DMTF);
	CHECK_STR(xs(d, "//wsman:Item[1]//wsman:Selector[@Name='__cimnamespace']"), "root/cimv2/rdms");
	CHECK_STR(xs(d, "//wsman:Item[2]//wsman:Selector[@Name='SessionId']"), "3");
	CHECK_EQ(xn(d, "//wsen:EnumerateResponse/wsman:EndOfSequence"), 1);
	xmlFreeDoc(d);
	/* EPR selectors use the literal prefix wsman: (wslinvoke splices them as text). */
	{
		wsman_reply r = callf(s, &admin, mi_request(ACTION_ENUMERATE, URI_DMTF, "",
		                     "", "<n:Enumerate><w:OptimizeEnumeration/><w:MaxElements>9"
		                     "</w:MaxElements><w:EnumerationMode>EnumerateEPR</w:EnumerationMode>"
		                     "</n:Enumerate>"));
		CHECK(strstr(r.body, "<wsman:Selector Name=\"VMHostName\">" HOST "</wsman:Selector>") != NULL);
		free(r.body);
	}

	/* Get-CimInstance -Query: the wildcard URI with a matching __cimnamespace. */
	d = ok_call(s, &admin, mi_request(ACTION_ENUMERATE, URI_WILD, "", "",
	            "<n:Enumerate><w:OptimizeEnumeration/><w:MaxElements>32000</w:MaxElements>"
	            "<w:Filter Dialect=\"" DIALECT_WQL "\">SELECT * FROM Win32_VirtualDesktopSession "
	            "WHERE SessionId = 3</w:Filter></n:Enumerate>"), "MI query");
	CHECK_EQ(xn(d, "//wsman:Items/pw:Win32_VirtualDesktopSession"), 1);
	CHECK_STR(xs(d, "//pw:Win32_VirtualDesktopSession/pw:UserName"), "bob");
	xmlFreeDoc(d);

	/* Invoke-CimMethod Disconnect: empty body. */
	before = n_disconnect;
	d = ok_call(s, &admin, mi_request(URI_DMTF "/Disconnect", URI_DMTF, MI_KEYS, "", ""),
	            "MI invoke");
	CHECK_STR(xs(d, "/s:Envelope/s:Body/pd:Disconnect_OUTPUT/pd:ReturnValue"), "0");
	CHECK_EQ(n_disconnect, before + 1);
	CHECK_EQ(xn(d, "/s:Envelope/s:Header/r:ReturnValueText"), 0);   /* only for a failure */
	xmlFreeDoc(d);

	/*
	 * A method that ran and failed is no fault (protocols.md 1.5): its
	 * ReturnValue in _OUTPUT, exactly the class's, and its reason in a
	 * header no client must understand.
	 */
	before = n_disconnect;
	disconnect_fails = true;
	failed = callf(s, &admin, mi_request(URI_DMTF "/Disconnect", URI_DMTF, MI_KEYS, "", ""));
	d = xdoc(&failed);
	CHECK_EQ(failed.http_status, 200);
	CHECK_EQ(n_disconnect, before + 1);
	CHECK_EQ(xn(d, FAULT), 0);
	CHECK_EQ(strtoul(xs(d, "/s:Envelope/s:Body/pd:Disconnect_OUTPUT/pd:ReturnValue"), NULL, 10),
	         WBEM_E_INVALID_OPERATION);
	CHECK_EQ(xn(d, "/s:Envelope/s:Body/pd:Disconnect_OUTPUT/*"), 1);
	CHECK_STR(xs(d, "/s:Envelope/s:Header/r:ReturnValueText"), "session 3 is not connected");
	CHECK_STR(xs(d, "/s:Envelope/s:Header/r:ReturnValueText/@s:mustUnderstand"), "false");
	xmlFreeDoc(d);
	free(failed.body);

	/* SendMessage with arguments. */
	before = n_send;
	d = ok_call(s, &admin, mi_request(URI_DMTF "/SendMessage", URI_DMTF, MI_KEYS, "",
	            "<p:SendMessage_INPUT xmlns:p=\"" URI_DMTF "\"><p:Title>hi &amp; you</p:Title>"
	            "<p:Message>bye &lt;3</p:Message></p:SendMessage_INPUT>"), "MI SendMessage");
	CHECK_STR(xs(d, "//pd:SendMessage_OUTPUT/pd:ReturnValue"), "0");
	CHECK_EQ(n_send, before + 1);
	CHECK_STR(last_title, "hi & you");
	CHECK_STR(last_message, "bye <3");
	CHECK(last_opt.timeout_s == 0 && !last_opt.wait);
	xmlFreeDoc(d);

	/* SendMessage's own options in the OptionSet, beside the MI client's */
	before = n_send;
	d = ok_call(s, &admin, mi_request(URI_DMTF "/SendMessage", URI_DMTF, MI_KEYS,
	            "<w:OptionSet s:mustUnderstand=\"true\">"
	            "<w:Option Name=\"__MI_CallbackRegistration\" Type=\"xs:unsignedInt\">0</w:Option>"
	            "<w:Option Name=\"MessageTimeout\" Type=\"xs:unsignedInt\"> 45 </w:Option>"
	            "<w:Option Name=\"MessageWait\" Type=\"xs:boolean\">true</w:Option></w:OptionSet>",
	            "<p:SendMessage_INPUT xmlns:p=\"" URI_DMTF "\"><p:Title>t</p:Title>"
	            "<p:Message>m</p:Message></p:SendMessage_INPUT>"), "MI SendMessage with options");
	CHECK_STR(xs(d, "//pd:SendMessage_OUTPUT/pd:ReturnValue"), "0");
	CHECK_EQ(n_send, before + 1);
	CHECK_EQ(last_opt.timeout_s, 45);
	CHECK(last_opt.wait);
	xmlFreeDoc(d);
	{
		char *req = mi_request(URI_DMTF "/SendMessage", URI_DMTF, MI_KEYS,
		                       "<w:OptionSet><w:Option Name=\"MessageTimeout\">0</w:Option>"
		                       "</w:OptionSet>",
		                       "<p:SendMessage_INPUT xmlns:p=\"" URI_DMTF "\"><p:Title>t</p:Title>"
		                       "<p:Message>m</p:Message></p:SendMessage_INPUT>");

		fault_case(s, &admin, "MessageTimeout 0", req, strlen(req), 500,
		           "wsman:InvalidOptions", WBEM_E_INVALID_PARAMETER);
		free(req);
		req = mi_request(URI_DMTF "/Disconnect", URI_DMTF, MI_KEYS,
		                 "<w:OptionSet><w:Option Name=\"MessageWait\">true</w:Option>"
		                 "</w:OptionSet>", "");
		fault_case(s, &admin, "MessageWait on a Disconnect", req, strlen(req), 500,
		           "wsman:InvalidParameter", WBEM_E_INVALID_PARAMETER);
		free(req);
	}

	/* Logoff through the WMI URI with the selectors of the DMTF form's keys. */
	before = n_logoff;
	d = ok_call(s, &admin, build(URI_WMI "/Logoff", URI_WMI, SEL(HOST, "3"),
	            "<p:Logoff_INPUT xmlns:p=\"" URI_WMI "\"/>"), "wsl logoff");
	CHECK_STR(xs(d, "//pw:Logoff_OUTPUT/pw:ReturnValue"), "0");
	CHECK_EQ(n_logoff, before + 1);
	xmlFreeDoc(d);

	/* Get-CimClass: the class as CIM-XML, from the schema table. */
	d = ok_call(s, &admin, mi_request(ACTION_GET, URI_CLASS,
	            "<w:Selector Name=\"ClassName\">Win32_VirtualDesktopSession</w:Selector>",
	            "<w:OptionSet><w:Option Name=\"IncludeQualifiers\">true</w:Option></w:OptionSet>", ""),
	            "MI GetClass");
	CHECK_STR(xs(d, "/s:Envelope/s:Body/CLASS/@NAME"), "Win32_VirtualDesktopSession");
	CHECK_EQ(xn(d, "//CLASS/PROPERTY"), 8);
	CHECK_STR(xs(d, "//CLASS/PROPERTY[@NAME='SessionId']/@TYPE"), "uint32");
	CHECK_EQ(xn(d, "//CLASS/PROPERTY[@NAME='SessionId']/QUALIFIER[translate(@NAME,'KEY','key')='key']"), 1);
	CHECK_EQ(xn(d, "//CLASS/PROPERTY[@NAME='UserName']/QUALIFIER[translate(@NAME,'KEY','key')='key']"), 0);
	CHECK_EQ(xn(d, "//CLASS/METHOD"), 3);
	CHECK_EQ(xn(d, "//CLASS/METHOD[@NAME='SendMessage']/PARAMETER"), 2);
	CHECK_STR(xs(d, "//CLASS/METHOD[@NAME='Disconnect']/@TYPE"), "uint32");
	xmlFreeDoc(d);
	d = ok_call(s, &admin, mi_request(ACTION_ENUMERATE, URI_CLASS, "", "",
	            "<n:Enumerate><w:OptimizeEnumeration/><w:MaxElements>10</w:MaxElements></n:Enumerate>"),
	            "MI EnumerateClasses");
	CHECK_EQ(xn(d, "//wsman:Items/CLASS"), (int)rdms_schema_nclasses);
	xmlFreeDoc(d);
}

static void test_npm_style(wsman_service *s)
{
	/* SOAP in the default namespace, numeric MessageIDs, h: prefix, empty _INPUT. */
	static const char get[] =
		"<?xml version=\"1.0\" encoding=\"utf-8\"?><Envelope xmlns=\"" NS_SOAP "\" "
		"xmlns:a=\"" NS_WSA "\" xmlns:w=\"" NS_WSMAN "\"><Header>"
		"<a:Action>" ACTION_GET "</a:Action><a:To>/wsman</a:To>"
		"<w:ResourceURI>" URI_WMI "</w:ResourceURI><a:MessageID>0</a:MessageID>"
		"<a:ReplyTo><a:Address>" URI_ANONYMOUS "</a:Address></a:ReplyTo>"
		"<w:OperationTimeout>PT60S</w:OperationTimeout><w:SelectorSet>"
		"<w:Selector Name=\"SessionId\">2</w:Selector><w:Selector Name=\"vmhostname\">HOST1.example.com</w:Selector>"
		"</w:SelectorSet></Header><Body></Body></Envelope>";
	static const char invoke[] =
		"<Envelope xmlns=\"" NS_SOAP "\" xmlns:a=\"" NS_WSA "\" xmlns:w=\"" NS_WSMAN "\" "
		"xmlns:h=\"" URI_WMI "\"><Header><a:Action>" URI_WMI "/Disconnect</a:Action>"
		"<w:ResourceURI>" URI_WMI "</w:ResourceURI><a:MessageID>1</a:MessageID>"
		"<w:SelectorSet><w:Selector Name=\"SessionId\">2</w:Selector>"
		"<w:Selector Name=\"VMHostName\">" HOST "</w:Selector></w:SelectorSet></Header>"
		"<Body><h:Disconnect_INPUT></h:Disconnect_INPUT></Body></Envelope>";
	wsman_reply r;
	xmlDoc *d;
	int before = n_disconnect;

	r = call(s, &admin, get);
	d = xdoc(&r);
	CHECK_EQ(r.http_status, 200);
	CHECK_STR(xs(d, "/s:Envelope/s:Header/wsa:RelatesTo"), "0");
	CHECK_STR(xs(d, "//pw:Win32_VirtualDesktopSession/pw:SessionId"), "2");
	xmlFreeDoc(d);
	free(r.body);
	r = call(s, &admin, invoke);
	d = xdoc(&r);
	CHECK_EQ(r.http_status, 200);
	CHECK_STR(xs(d, "//pw:Disconnect_OUTPUT/pw:ReturnValue"), "0");
	CHECK_EQ(n_disconnect, before + 1);
	xmlFreeDoc(d);
	free(r.body);
}

/* pywinrm's header style (unqualified mustUnderstand, header order) on a Get. */
static void test_pywinrm_style(wsman_service *s)
{
	char *req = build(ACTION_GET, URI_WMI,
		"<wsman:MaxEnvelopeSize mustUnderstand=\"true\">153600</wsman:MaxEnvelopeSize>"
		"<wsman:Locale mustUnderstand=\"false\" xml:lang=\"en-US\"/>"
		"<p:DataLocale xmlns:p=\"" NS_MSWSMAN "\" mustUnderstand=\"false\" xml:lang=\"en-US\"/>"
		"<wsman:OperationTimeout>PT20S</wsman:OperationTimeout>"
		"<wsman:OptionSet><wsman:Option Name=\"WINRS_CODEPAGE\">437</wsman:Option></wsman:OptionSet>"
		"<wsa:To>http://windows-host:5985/wsman</wsa:To>"
		"<Unknown mustUnderstand=\"true\">ignored: not SOAP mustUnderstand</Unknown>" SEL2, "");
	xmlDoc *d = ok_call(s, &admin, req, "pywinrm style");

	CHECK_STR(xs(d, "//pw:Win32_VirtualDesktopSession/pw:UserName"), "alice");
	xmlFreeDoc(d);
}

/* ---- enumeration contexts ----------------------------------------------- */

static const char *ctx_of(xmlDoc *d, const char *resp)
{
	char e[160];

	snprintf(e, sizeof e, "/s:Envelope/s:Body/wsen:%s/wsen:EnumerationContext", resp);
	return xs(d, e);
}

static char *pull_req(const char *ctx, const char *extra)
{
	char body[512];

	snprintf(body, sizeof body, "<wsen:Pull><wsen:EnumerationContext>%s</wsen:EnumerationContext>%s"
	         "</wsen:Pull>", ctx, extra);
	return build(ACTION_PULL, URI_WMI, "", body);
}

static void test_enumeration(wsman_service *s)
{
	char ctx[128];
	xmlDoc *d;

	/* Non-optimized, EPR mode: context, then Pulls of one item (the default). */
	d = ok_call(s, &admin, build(ACTION_ENUMERATE, URI_WMI, "",
	            "<wsen:Enumerate><wsman:EnumerationMode>EnumerateEPR</wsman:EnumerationMode>"
	            "</wsen:Enumerate>"), "enumerate epr");
	snprintf(ctx, sizeof ctx, "%s", ctx_of(d, "EnumerateResponse"));
	CHECK(strncmp(ctx, "uuid:", 5) == 0);
	CHECK_EQ(xn(d, "//wsman:Items"), 0);
	xmlFreeDoc(d);
	/* the wsl Pull capture, with our context in place of the fake one */
	{
		const char *old = "uuid:EnumerateEPR-84485530-a6a0-440e-9c94-be1d411c6c02";
		const char *at = strstr(cap_wsl_pull, old);
		strbuf b = { 0 };

		CHECK(at != NULL);
		strbuf_append(&b, cap_wsl_pull, (size_t)(at - cap_wsl_pull));
		strbuf_puts(&b, ctx);
		strbuf_puts(&b, at + strlen(old));
		d = ok_call(s, &admin, strbuf_take(&b), "wsl pull 1");
	}
	CHECK_EQ(xn(d, "//wsen:PullResponse/wsen:Items/wsa:EndpointReference"), 1);
	CHECK_STR(xs(d, "//wsen:Items//wsman:Selector[@Name='SessionId']"), "2");
	CHECK_STR(ctx_of(d, "PullResponse"), ctx);
	CHECK_EQ(xn(d, "//wsen:EndOfSequence"), 0);
	xmlFreeDoc(d);
	d = ok_call(s, &admin, pull_req(ctx, ""), "pull 2");
	CHECK_STR(xs(d, "//wsen:Items//wsman:Selector[@Name='SessionId']"), "3");
	CHECK_EQ(xn(d, "//wsen:PullResponse/wsen:EnumerationContext"), 0);
	CHECK_EQ(xn(d, "//wsen:PullResponse/wsen:EndOfSequence"), 1);
	xmlFreeDoc(d);
	fault_built(s, "pull after the end", pull_req(ctx, ""), 500,
	            "wsen:InvalidEnumerationContext", WBEM_E_INVALID_CONTEXT);

	/* Release, and no Pull after it; other users cannot use a context. */
	d = ok_call(s, &admin, build(ACTION_ENUMERATE, URI_WMI, "", "<wsen:Enumerate/>"), "enum 2");
	snprintf(ctx, sizeof ctx, "%s", ctx_of(d, "EnumerateResponse"));
	xmlFreeDoc(d);
	{
		char *req = pull_req(ctx, "");
		fault_case(s, &carol, "pull of another user's context", req, strlen(req), 500,
		           "wsen:InvalidEnumerationContext", WBEM_E_INVALID_CONTEXT);
		free(req);
	}
	{
		char body[256];
		snprintf(body, sizeof body, "<wsen:Release><wsen:EnumerationContext>%s"
		         "</wsen:EnumerationContext></wsen:Release>", ctx);
		d = ok_call(s, &admin, build(ACTION_RELEASE, URI_WMI, "", body), "release");
		CHECK_STR(xs(d, "/s:Envelope/s:Header/wsa:Action"), ACTION_RELEASE "Response");
		CHECK_EQ(xn(d, "/s:Envelope/s:Body/*"), 0);
		xmlFreeDoc(d);
		fault_built(s, "release twice", build(ACTION_RELEASE, URI_WMI, "", body), 500,
		            "wsen:InvalidEnumerationContext", WBEM_E_INVALID_CONTEXT);
	}
	fault_built(s, "pull after release", pull_req(ctx, ""), 500,
	            "wsen:InvalidEnumerationContext", WBEM_E_INVALID_CONTEXT);

	/* ObjectAndEPR through Pull with MaxElements (npm: 999 and MaxCharacters). */
	d = ok_call(s, &admin, build(ACTION_ENUMERATE, URI_WMI, "",
	            "<wsen:Enumerate><wsman:EnumerationMode>EnumerateObjectAndEPR</wsman:EnumerationMode>"
	            "</wsen:Enumerate>"), "enum objepr");
	snprintf(ctx, sizeof ctx, "%s", ctx_of(d, "EnumerateResponse"));
	xmlFreeDoc(d);
	d = ok_call(s, &admin, pull_req(ctx, "<wsen:MaxElements>999</wsen:MaxElements>"
	            "<wsen:MaxCharacters>99999</wsen:MaxCharacters>"), "pull objepr");
	CHECK_EQ(xn(d, "//wsen:Items/wsman:Item/pw:Win32_VirtualDesktopSession"), 2);
	CHECK_EQ(xn(d, "//wsen:Items/wsman:Item/wsa:EndpointReference"), 2);
	CHECK_EQ(xn(d, "//wsen:EndOfSequence"), 1);
	xmlFreeDoc(d);

	/* Selector filter and WQL projection. */
	d = ok_call(s, &admin, build(ACTION_ENUMERATE, URI_WMI, "",
	            "<wsen:Enumerate><wsman:OptimizeEnumeration/><wsman:MaxElements>10</wsman:MaxElements>"
	            "<wsman:Filter Dialect=\"" DIALECT_SELECTOR "\"><wsman:SelectorSet>"
	            "<wsman:Selector Name=\"SessionId\">3</wsman:Selector></wsman:SelectorSet>"
	            "</wsman:Filter></wsen:Enumerate>"), "selector filter");
	CHECK_EQ(xn(d, "//wsman:Items/pw:Win32_VirtualDesktopSession"), 1);
	CHECK_STR(xs(d, "//pw:UserName"), "bob");
	xmlFreeDoc(d);
	d = ok_call(s, &admin, build(ACTION_ENUMERATE, URI_WMI, "",
	            "<wsen:Enumerate><wsman:OptimizeEnumeration/><wsman:MaxElements>10</wsman:MaxElements>"
	            "<wsman:Filter Dialect=\"" DIALECT_CQL "\">SELECT UserName FROM "
	            "Win32_VirtualDesktopSession</wsman:Filter></wsen:Enumerate>"), "projection");
	CHECK_EQ(xn(d, "//wsman:Items/pw:Win32_VirtualDesktopSession"), 2);
	CHECK_EQ(xn(d, "//pw:Win32_VirtualDesktopSession/*"), 2);
	CHECK_STR(xs(d, "//pw:Win32_VirtualDesktopSession[2]/pw:UserName"), "bob");
	xmlFreeDoc(d);
	/* Association filter: no associations, an empty result. */
	d = ok_call(s, &admin, build(ACTION_ENUMERATE, URI_WMI, "",
	            "<wsen:Enumerate><wsman:OptimizeEnumeration/><wsman:Filter Dialect=\"" DIALECT_ASSOC
	            "\"/></wsen:Enumerate>"), "assoc filter");
	CHECK_EQ(xn(d, "//wsman:Items/*"), 0);
	CHECK_EQ(xn(d, "//wsman:EndOfSequence"), 1);
	xmlFreeDoc(d);
	/* A non-admin sees only their own sessions (none here). */
	d = ok_call(s, &carol, build(ACTION_ENUMERATE, URI_WMI, "",
	            "<wsen:Enumerate><wsman:OptimizeEnumeration/></wsen:Enumerate>"), "carol enum");
	CHECK_EQ(xn(d, "//wsman:Items/*"), 0);
	xmlFreeDoc(d);

	/* Quota: a caller cannot pile up contexts. */
	int refused = 0;
	for (int i = 0; i < WSMAN_CTX_PER_USER + 2; i++) {
		wsman_reply r = callf(s, &carol, build(ACTION_ENUMERATE, URI_WMI, "", "<wsen:Enumerate/>"));
		if (r.http_status == 500 && strstr(r.body, "wsman:QuotaLimit") != NULL)
			refused++;
		free(r.body);
	}
	CHECK(refused >= 2);
}

/* Paging by MaxEnvelopeSize over many sessions. */
static void test_paging(wsman_service *s, int nsessions)
{
	char ctx[128];
	xmlDoc *d;
	int got, pulls = 0;
	char *seen = calloc((size_t)nsessions + 200, 1);

	d = ok_call(s, &admin, build(ACTION_ENUMERATE, URI_WMI,
	            "<wsman:MaxEnvelopeSize s:mustUnderstand=\"true\">8192</wsman:MaxEnvelopeSize>",
	            "<wsen:Enumerate><wsman:OptimizeEnumeration/><wsman:MaxElements>100000</wsman:MaxElements>"
	            "</wsen:Enumerate>"), "paged enumerate");
	got = xn(d, "//wsman:Items/pw:Win32_VirtualDesktopSession");
	CHECK(got > 0 && got < nsessions);
	snprintf(ctx, sizeof ctx, "%s", ctx_of(d, "EnumerateResponse"));
	CHECK(ctx[0] != '\0');
	xmlFreeDoc(d);
	while (ctx[0] != '\0' && pulls < 10000) {
		char extra[128];
		wsman_reply r;

		snprintf(extra, sizeof extra, "<wsen:MaxElements>%d</wsen:MaxElements>", 1 + pulls % 7);
		char *req = pull_req(ctx, extra);
		/* The envelope header rides on the request: add MaxEnvelopeSize. */
		r = call(s, &admin, req);
		free(req);
		CHECK_EQ(r.http_status, 200);
		d = xdoc(&r);
		int n = xn(d, "//wsen:Items/pw:Win32_VirtualDesktopSession");
		CHECK(n >= 1 && n <= 1 + pulls % 7);
		got += n;
		snprintf(ctx, sizeof ctx, "%s", ctx_of(d, "PullResponse"));
		xmlFreeDoc(d);
		free(r.body);
		pulls++;
	}
	CHECK_EQ(got, nsessions);
	free(seen);

	/* Every reply stays within the envelope the client allowed. */
	wsman_reply r = callf(s, &admin, build(ACTION_ENUMERATE, URI_WMI,
	                     "<wsman:MaxEnvelopeSize>8192</wsman:MaxEnvelopeSize>",
	                     "<wsen:Enumerate><wsman:OptimizeEnumeration/><wsman:MaxElements>5000"
	                     "</wsman:MaxElements><wsman:EnumerationMode>EnumerateObjectAndEPR"
	                     "</wsman:EnumerationMode></wsen:Enumerate>"));
	CHECK_EQ(r.http_status, 200);
	CHECK(r.len <= 8192);
	d = xdoc(&r);
	snprintf(ctx, sizeof ctx, "%s", ctx_of(d, "EnumerateResponse"));
	xmlFreeDoc(d);
	free(r.body);
	/* A Pull whose MaxCharacters cannot hold one item: EncodingLimit, context kept. */
	fault_built(s, "MaxCharacters too small", pull_req(ctx, "<wsen:MaxCharacters>10</wsen:MaxCharacters>"),
	            500, "wsman:EncodingLimit", WBEM_E_TOO_MUCH_DATA);
	d = ok_call(s, &admin, pull_req(ctx, "<wsen:MaxElements>3</wsen:MaxElements>"), "pull after limit");
	CHECK_EQ(xn(d, "//wsen:Items/wsman:Item"), 3);
	xmlFreeDoc(d);
}

/*
 * The SessionIds of R's instances, in their order, appended to IDS (*N of
 * them, at most MAX); false when one is not above the one before (an
 * enumeration lists sessions in one order, each once).
 */
static bool ids_in_order(const wsman_reply *r, int *ids, int *n, int max)
{
	static const char tag[] = "<p:SessionId>";
	const char *p = r->body;

	while ((p = strstr(p, tag)) != NULL && *n < max) {
		ids[*n] = atoi(p + sizeof tag - 1);
		if (*n > 0 && ids[*n] <= ids[*n - 1])
			return false;
		++*n;
		p++;
	}
	return true;
}

/* Occurrences of NEEDLE in the N bytes of HAY. */
static int count_of(const char *hay, size_t n, const char *needle)
{
	int k = 0;

	for (const char *p = hay; p != NULL && (p = memmem(p, n - (size_t)(p - hay), needle,
	                                                    strlen(needle))) != NULL; p++)
		k++;
	return k;
}

#define ENUM_ALL_BODY "<wsen:Enumerate><wsman:OptimizeEnumeration/><wsman:MaxElements>100000" \
	"</wsman:MaxElements>%s</wsen:Enumerate>"
#define ENV_SIZE "<wsman:MaxEnvelopeSize>%zu</wsman:MaxEnvelopeSize>"

/* An optimized enumeration of every session, MODE ("" or an EnumerationMode), within ENVELOPE. */
static wsman_reply enum_all(wsman_service *s, const rdms_caller *who, const char *mode,
                            size_t envelope, bool streamed)
{
	char hdr[128], body[256];
	char *req;
	wsman_reply r;

	snprintf(hdr, sizeof hdr, ENV_SIZE, envelope);
	snprintf(body, sizeof body, ENUM_ALL_BODY, mode);
	req = build(ACTION_ENUMERATE, URI_WMI, hdr, body);
	if (streamed)
		wsman_handle_streamed(s, who, req, strlen(req), &r);
	else
		wsman_handle(s, who, req, strlen(req), &r);
	free(req);
	return r;
}

/*
 * Issue 13: an optimized enumeration whose items surely fit goes out while
 * it is written (wsman_handle_streamed leaves them in a stream), from the
 * session snapshot, with the caller's sessions only; one that may not fit
 * is written whole, within MaxEnvelopeSize, as before.  Either way the
 * instances declare no namespaces: the Items element does, once.
 */
static void test_streamed(wsman_service *s, wsman_service *plain, int n, int mine)
{
	static const rdms_caller nob = { .uid = 65534, .user = "nobody", .is_admin = false,
	                                 .protocol = "wsman", .source = "unit" };
	wsman_reply r = enum_all(s, &admin, "", 100000000, true), whole;
	xmlDoc *d;
	size_t first;

	CHECK_EQ(r.http_status, 200);
	CHECK(r.stream.next != NULL);
	/* The envelope up to the items, with the empty context: nothing of an item yet. */
	CHECK(r.body != NULL && strstr(r.body, "<wsen:EnumerationContext/>") != NULL);
	CHECK(r.body != NULL && strstr(r.body, "<p:Win32_VirtualDesktopSession") == NULL);
	CHECK(r.len > 14 && memcmp(r.body + r.len - 1, ">", 1) == 0 &&
	      strstr(r.body, "<wsman:Items xmlns:p=\"" URI_WMI "\" xmlns:xsi=\"") != NULL);
	CHECK(body_stream_into(&r.stream, &r.body, &r.len));
	CHECK(r.stream.next == NULL);
	d = xdoc(&r);
	CHECK(d != NULL);
	CHECK_EQ(xn(d, "//wsman:Items/pw:Win32_VirtualDesktopSession"), n);
	CHECK_EQ(xn(d, "//wsen:EnumerateResponse/wsman:EndOfSequence"), 1);
	CHECK_EQ(count_of(r.body, r.len, "xmlns:xsi="), 1);
	CHECK_EQ(count_of(r.body, r.len, "xmlns:p="), 1);
	CHECK_EQ(count_of(r.body, r.len, "xsi:type=\"p:Win32_VirtualDesktopSession_Type\""), n);
	xmlFreeDoc(d);
	/* The same reply as the one written whole (the MessageID aside). */
	whole = enum_all(plain, &admin, "", 100000000, false);
	CHECK_EQ(whole.len, r.len);
	first = r.len;
	free(whole.body);
	free(r.body);

	/* A caller who is not an admin: their own sessions only, as uncached. */
	r = enum_all(s, &nob, "<wsman:EnumerationMode>EnumerateObjectAndEPR</wsman:EnumerationMode>",
	             100000000, true);
	CHECK(r.stream.next != NULL);
	CHECK(body_stream_into(&r.stream, &r.body, &r.len));
	d = xdoc(&r);
	CHECK_EQ(xn(d, "//wsman:Items/wsman:Item/pw:Win32_VirtualDesktopSession"), mine);
	CHECK_EQ(xn(d, "//wsman:Items/wsman:Item/wsa:EndpointReference"), mine);
	CHECK_EQ(xn(d, "//pw:Win32_VirtualDesktopSession[pw:UserName != 'nobody']"), 0);
	xmlFreeDoc(d);
	free(r.body);

	/* It would fit, but not surely (the bound of an item is its longest
	 * text escaped): written whole, every item, within the envelope. */
	r = enum_all(s, &admin, "", first + 600, true);
	CHECK_EQ(r.http_status, 200);
	CHECK(r.stream.next == NULL);
	CHECK(r.len <= first + 600);
	d = xdoc(&r);
	CHECK_EQ(xn(d, "//wsman:Items/pw:Win32_VirtualDesktopSession"), n);
	CHECK_EQ(xn(d, "//wsen:EnumerateResponse/wsman:EndOfSequence"), 1);
	xmlFreeDoc(d);
	free(r.body);

	/* It does not fit: a context (holding the cursor), and the Pulls' items
	 * declare nothing either; every session comes once, in order, though
	 * a Pull refused for a too small MaxCharacters gave its item back. */
	r = enum_all(s, &admin, "", 8192, true);
	CHECK(r.stream.next == NULL);
	CHECK(r.len <= 8192);
	d = xdoc(&r);
	{
		char ctx[128];
		int *ids = calloc((size_t)n, sizeof *ids), got = 0, pulls = 0;
		bool ordered = ids != NULL && ids_in_order(&r, ids, &got, n);

		snprintf(ctx, sizeof ctx, "%s", ctx_of(d, "EnumerateResponse"));
		CHECK(ctx[0] != '\0' && got > 0 && got < n);
		while (ids != NULL && ctx[0] != '\0' && pulls++ < n) {
			wsman_reply pr;
			char *req;

			fault_built(s, "Pull with MaxCharacters too small for an item",
			            pull_req(ctx, "<wsen:MaxCharacters>10</wsen:MaxCharacters>"), 500,
			            "wsman:EncodingLimit", WBEM_E_TOO_MUCH_DATA);
			req = pull_req(ctx, "<wsen:MaxElements>37</wsen:MaxElements>");
			pr = call(s, &admin, req);
			free(req);
			CHECK(strstr(pr.body, "<wsen:Items xmlns:p=\"" URI_WMI "\"") != NULL);
			CHECK_EQ(count_of(pr.body, pr.len, "xmlns:xsi="), 1);
			ordered = ids_in_order(&pr, ids, &got, n) && ordered;
			xmlFreeDoc(d);
			d = xdoc(&pr);
			snprintf(ctx, sizeof ctx, "%s", ctx_of(d, "PullResponse"));
			free(pr.body);
		}
		CHECK_EQ(got, n);
		CHECK(ordered);
		free(ids);
	}
	xmlFreeDoc(d);
	free(r.body);

	/* A stream that is never sent is ended (ASan: nothing leaks). */
	r = enum_all(s, &admin, "", 100000000, true);
	CHECK(r.stream.next != NULL);
	body_stream_end(&r.stream);
	free(r.body);
}

static void test_expiry(wsman_service *s)
{
	char ctx[128];
	xmlDoc *d = ok_call(s, &admin, build(ACTION_ENUMERATE, URI_WMI, "", "<wsen:Enumerate/>"),
	                    "enumerate to expire");

	snprintf(ctx, sizeof ctx, "%s", ctx_of(d, "EnumerateResponse"));
	xmlFreeDoc(d);
	sleep(2);
	fault_built(s, "expired context", pull_req(ctx, ""), 500,
	            "wsen:InvalidEnumerationContext", WBEM_E_INVALID_CONTEXT);
}

/* ---- malformed and hostile requests ------------------------------------- */

static void test_malformed(wsman_service *s)
{
	char big[300];
	strbuf b = { 0 };

	/* Not XML at all, or broken XML. */
	fault_case(s, &admin, "empty body", "", 0, 400, "wsman:SchemaValidationError",
	           WBEM_E_INVALID_PARAMETER);
	fault_text(s, "not XML", "hello", 400, "wsman:SchemaValidationError", WBEM_E_INVALID_PARAMETER);
	fault_case(s, &admin, "truncated capture", cap_wsl_invoke_disconnect,
	           strlen(cap_wsl_invoke_disconnect) / 2, 400, "wsman:SchemaValidationError",
	           WBEM_E_INVALID_PARAMETER);
	fault_case(s, &admin, "truncated by one byte", cap_wsl_invoke_disconnect,
	           strlen(cap_wsl_invoke_disconnect) - 1, 400, "wsman:SchemaValidationError",
	           WBEM_E_INVALID_PARAMETER);
	fault_text(s, "undefined entity", ENV_OPEN "<s:Body>&foo;</s:Body></s:Envelope>", 400,
	           "wsman:SchemaValidationError", WBEM_E_INVALID_PARAMETER);
	fault_text(s, "XXE",
	           "<?xml version=\"1.0\"?><!DOCTYPE s:Envelope [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>"
	           ENV_OPEN "<s:Header><wsa:Action>" ACTION_GET "</wsa:Action><wsa:MessageID>1</wsa:MessageID>"
	           "<wsman:ResourceURI>&xxe;</wsman:ResourceURI></s:Header><s:Body/></s:Envelope>",
	           400, "wsman:SchemaValidationError", WBEM_E_INVALID_PARAMETER);
	fault_text(s, "billion laughs",
	           "<!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol2 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">"
	           "<!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">"
	           "<!ENTITY lol4 \"&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;\">]>"
	           "<lolz>&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;</lolz>",
	           400, "wsman:SchemaValidationError", WBEM_E_INVALID_PARAMETER);
	fault_text(s, "external DTD", "<!DOCTYPE x SYSTEM \"http://example.com/x.dtd\">" ENV_OPEN
	           "<s:Body/></s:Envelope>", 400, "wsman:SchemaValidationError", WBEM_E_INVALID_PARAMETER);
	/* Deep nesting: 40 levels (our limit) and 100000 (libxml2's). */
	strbuf_puts(&b, ENV_OPEN "<s:Body>");
	for (int i = 0; i < 40; i++)
		strbuf_puts(&b, "<a>");
	for (int i = 0; i < 40; i++)
		strbuf_puts(&b, "</a>");
	strbuf_puts(&b, "</s:Body></s:Envelope>");
	fault_case(s, &admin, "depth 40", b.data, b.len, 400, "wsman:SchemaValidationError",
	           WBEM_E_INVALID_PARAMETER);
	strbuf_free(&b);
	for (int i = 0; i < 30000; i++)
		strbuf_puts(&b, "<a>");
	fault_case(s, &admin, "depth 30000", b.data, b.len, 400, "wsman:SchemaValidationError",
	           WBEM_E_INVALID_PARAMETER);
	strbuf_free(&b);
	/* Oversize: more than the maximum envelope (153600 by default). */
	strbuf_puts(&b, ENV_OPEN "<s:Header><wsa:MessageID>x</wsa:MessageID></s:Header><s:Body>");
	while (b.len < 200000)
		strbuf_puts(&b, "<x>padding padding padding</x>");
	strbuf_puts(&b, "</s:Body></s:Envelope>");
	fault_case(s, &admin, "oversize", b.data, b.len, 413, "wsman:EncodingLimit",
	           WBEM_E_TOO_MUCH_DATA);
	strbuf_free(&b);
	/* Encodings other than UTF-8. */
	fault_case(s, &admin, "UTF-16 BOM", "\xff\xfe<\0s\0", 6, 500, "wsman:EncodingLimit",
	           WBEM_E_TOO_MUCH_DATA);
	fault_text(s, "Latin-1", "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>" ENV_OPEN
	           "<s:Body/></s:Envelope>", 500, "wsman:EncodingLimit", WBEM_E_TOO_MUCH_DATA);

	/* Not a SOAP 1.2 envelope. */
	fault_text(s, "SOAP 1.1", "<e:Envelope xmlns:e=\"http://schemas.xmlsoap.org/soap/envelope/\">"
	           "<e:Body/></e:Envelope>", 500, "s:VersionMismatch", WBEM_E_INVALID_PARAMETER);
	fault_text(s, "wrong root", "<CIM CIMVERSION=\"2.0\"/>", 500, "wsman:SchemaValidationError",
	           WBEM_E_INVALID_PARAMETER);
	fault_text(s, "no Body", ENV_OPEN "<s:Header/></s:Envelope>", 500,
	           "wsman:SchemaValidationError", WBEM_E_INVALID_PARAMETER);
	fault_text(s, "two Bodies", ENV_OPEN "<s:Body/><s:Body/></s:Envelope>", 500,
	           "wsman:SchemaValidationError", WBEM_E_INVALID_PARAMETER);
	fault_text(s, "Envelope with a stranger", ENV_OPEN "<s:Body/><x/></s:Envelope>", 500,
	           "wsman:SchemaValidationError", WBEM_E_INVALID_PARAMETER);
	fault_text(s, "Identify in the wrong namespace", ENV_OPEN "<s:Header/><s:Body><Identify/></s:Body></s:Envelope>",
	           500, "wsa:MessageInformationHeaderRequired", WBEM_E_INVALID_PARAMETER);

	/* Addressing headers. */
	fault_text(s, "no MessageID", ENV_OPEN "<s:Header><wsa:Action>" ACTION_GET "</wsa:Action>"
	           "<wsman:ResourceURI>" URI_WMI "</wsman:ResourceURI>" SEL2 "</s:Header><s:Body/></s:Envelope>",
	           500, "wsa:MessageInformationHeaderRequired", WBEM_E_INVALID_PARAMETER);
	fault_built(s, "two Actions", build(ACTION_GET, URI_WMI, "<wsa:Action>" ACTION_GET "</wsa:Action>" SEL2, ""),
	            500, "wsa:InvalidMessageInformationHeader", WBEM_E_INVALID_PARAMETER);
	fault_built(s, "two MessageIDs", build(ACTION_GET, URI_WMI, "<wsa:MessageID>x</wsa:MessageID>" SEL2, ""),
	            500, "wsa:InvalidMessageInformationHeader", WBEM_E_INVALID_PARAMETER);
	fault_built(s, "two ResourceURIs", build(ACTION_GET, URI_WMI,
	            "<wsman:ResourceURI>" URI_WMI "</wsman:ResourceURI>" SEL2, ""),
	            500, "wsa:InvalidMessageInformationHeader", WBEM_E_INVALID_PARAMETER);
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	{
		strbuf_printf(&b, ENV_OPEN "<s:Header><wsa:Action>" ACTION_GET "</wsa:Action><wsa:MessageID>%s"
		              "</wsa:MessageID></s:Header><s:Body/></s:Envelope>", big);
		fault_case(s, &admin, "long MessageID", b.data, b.len, 500,
		           "wsa:InvalidMessageInformationHeader", WBEM_E_INVALID_PARAMETER);
		strbuf_free(&b);
	}
	fault_text(s, "empty MessageID (wsl without uuidgen)", ENV_OPEN "<s:Header><wsa:Action>"
	           ACTION_GET "</wsa:Action><wsa:MessageID></wsa:MessageID><wsman:ResourceURI>" URI_WMI
	           "</wsman:ResourceURI>" SEL2 "</s:Header><s:Body/></s:Envelope>", 500,
	           "wsa:InvalidMessageInformationHeader", WBEM_E_INVALID_PARAMETER);
	fault_built(s, "Action with markup", build("<x/>", URI_WMI, SEL2, ""), 500,
	            "wsman:SchemaValidationError", WBEM_E_INVALID_PARAMETER);

	/* Actions. */
	fault_built(s, "Put", build(ACTION_PUT, URI_WMI, SEL2, ""), 500, "wsa:ActionNotSupported",
	            WBEM_E_NOT_SUPPORTED);
	fault_built(s, "Delete", build(ACTION_DELETE, URI_WMI, SEL2, ""), 500,
	            "wsa:ActionNotSupported", WBEM_E_NOT_SUPPORTED);
	fault_built(s, "Subscribe without a body", build(ACTION_SUBSCRIBE, URI_WMI, "", ""), 500,
	            "wsman:SchemaValidationError", WBEM_E_INVALID_PARAMETER);
	fault_built(s, "GetStatus", build(ACTION_GETSTATUS, URI_WMI, "", ""), 500,
	            "wsa:ActionNotSupported", WBEM_E_NOT_SUPPORTED);
	fault_built(s, "unknown method", build(URI_WMI "/Reboot", URI_WMI, SEL2, ""), 500,
	            "wsa:ActionNotSupported", WBEM_E_INVALID_METHOD);
	fault_built(s, "method of another class", build(URI_WMI "x/Disconnect", URI_WMI, SEL2, ""), 500,
	            "wsa:ActionNotSupported", WBEM_E_INVALID_METHOD);
	fault_built(s, "action of another URI", build("urn:foo/Disconnect", URI_WMI, SEL2, ""), 500,
	            "wsa:ActionNotSupported", WBEM_E_INVALID_METHOD);
	fault_built(s, "invoke on the class URI", build(URI_CLASS "/Disconnect", URI_CLASS,
	            "<wsman:SelectorSet><wsman:Selector Name=\"__cimnamespace\">root/cimv2/rdms</wsman:Selector>"
	            "</wsman:SelectorSet>", ""), 500, "wsa:ActionNotSupported", WBEM_E_INVALID_METHOD);

	/* ResourceURIs. */
	fault_built(s, "no ResourceURI", build(ACTION_GET, NULL, SEL2, ""), 500,
	            "wsa:DestinationUnreachable", WBEM_E_INVALID_CLASS);
	fault_built(s, "unknown class", build(ACTION_GET,
	            "http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/rdms/Win32_Nope", SEL2, ""),
	            500, "wsa:DestinationUnreachable", WBEM_E_INVALID_CLASS);
	fault_built(s, "unknown namespace", build(ACTION_GET,
	            "http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/Win32_VirtualDesktopSession",
	            SEL2, ""), 500, "wsa:DestinationUnreachable", WBEM_E_INVALID_NAMESPACE);
	fault_built(s, "shell URI", build(ACTION_GET,
	            "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd", "", ""), 500,
	            "wsa:DestinationUnreachable", WBEM_E_INVALID_CLASS);
	fault_built(s, "class name with a quote", build(ACTION_GET, URI_DMTF "%22", SEL2, ""), 500,
	            "wsa:DestinationUnreachable", WBEM_E_INVALID_CLASS);
	fault_built(s, "DMTF URI without __cimnamespace", build(ACTION_GET, URI_DMTF, SEL2, ""), 500,
	            "wsman:InvalidSelectors", WBEM_E_INVALID_NAMESPACE);
	fault_built(s, "__cimnamespace disagreeing with the URI", build(ACTION_GET, URI_WMI,
	            "<wsman:SelectorSet><wsman:Selector Name=\"__cimnamespace\">root/cimv2</wsman:Selector>"
	            "<wsman:Selector Name=\"VMHostName\">" HOST "</wsman:Selector><wsman:Selector Name=\"SessionId\">"
	            "2</wsman:Selector></wsman:SelectorSet>", ""), 500, "wsman:InvalidSelectors",
	            WBEM_E_INVALID_NAMESPACE);
	fault_built(s, "wildcard Get", build(ACTION_GET, URI_WILD, SEL2, ""), 500,
	            "wsa:DestinationUnreachable", WBEM_E_INVALID_CLASS);
	fault_built(s, "wildcard without filter", build(ACTION_ENUMERATE, URI_WILD, "",
	            "<wsen:Enumerate/>"), 500, "wsa:DestinationUnreachable", WBEM_E_INVALID_CLASS);
	fault_built(s, "class Get without ClassName", build(ACTION_GET, URI_CLASS,
	            "<wsman:SelectorSet><wsman:Selector Name=\"__cimnamespace\">root/cimv2/rdms</wsman:Selector>"
	            "</wsman:SelectorSet>", ""), 500, "wsman:InvalidSelectors", WBEM_E_INVALID_OBJECT_PATH);
	fault_built(s, "class Get of an unknown class", build(ACTION_GET, URI_CLASS,
	            "<wsman:SelectorSet><wsman:Selector Name=\"__cimnamespace\">root/cimv2/rdms</wsman:Selector>"
	            "<wsman:Selector Name=\"ClassName\">Win32_Process</wsman:Selector></wsman:SelectorSet>", ""),
	            500, "wsa:DestinationUnreachable", WBEM_E_INVALID_CLASS);

	/* Selectors. */
	fault_built(s, "missing key", build(ACTION_GET, URI_WMI, "<wsman:SelectorSet><wsman:Selector "
	            "Name=\"VMHostName\">" HOST "</wsman:Selector></wsman:SelectorSet>", ""), 500,
	            "wsman:InvalidSelectors", WBEM_E_INVALID_OBJECT_PATH);
	/* SessionId alone names that session on this host (rdms's bare ids). */
	{
		xmlDoc *d = ok_call(s, &admin, build(ACTION_GET, URI_WMI, "<wsman:SelectorSet>"
		                    "<wsman:Selector Name=\"SessionId\">2</wsman:Selector>"
		                    "</wsman:SelectorSet>", ""), "Get by SessionId alone");

		CHECK_STR(xs(d, "//pw:Win32_VirtualDesktopSession/pw:VMHostName"), HOST);
		CHECK_STR(xs(d, "//pw:Win32_VirtualDesktopSession/pw:SessionId"), "2");
		xmlFreeDoc(d);
	}
	fault_built(s, "no selectors", build(ACTION_GET, URI_WMI, "", ""), 500,
	            "wsman:InvalidSelectors", WBEM_E_INVALID_OBJECT_PATH);
	fault_built(s, "extra selector", build(ACTION_GET, URI_WMI, "<wsman:SelectorSet>"
	            "<wsman:Selector Name=\"VMHostName\">" HOST "</wsman:Selector><wsman:Selector "
	            "Name=\"SessionId\">2</wsman:Selector><wsman:Selector Name=\"UserName\">alice"
	            "</wsman:Selector></wsman:SelectorSet>", ""), 500, "wsman:InvalidSelectors",
	            WBEM_E_INVALID_OBJECT_PATH);
	fault_built(s, "duplicate selector", build(ACTION_GET, URI_WMI, "<wsman:SelectorSet>"
	            "<wsman:Selector Name=\"VMHostName\">" HOST "</wsman:Selector><wsman:Selector "
	            "Name=\"SessionId\">2</wsman:Selector><wsman:Selector Name=\"sessionid\">3"
	            "</wsman:Selector></wsman:SelectorSet>", ""), 500, "wsman:InvalidSelectors",
	            WBEM_E_INVALID_OBJECT_PATH);
	fault_built(s, "two SelectorSets", build(ACTION_GET, URI_WMI, SEL2 SEL2, ""), 500,
	            "wsman:InvalidSelectors", WBEM_E_INVALID_OBJECT_PATH);
	fault_built(s, "key of the wrong type", build(ACTION_GET, URI_WMI, SEL(HOST, "abc"), ""), 500,
	            "wsman:InvalidSelectors", WBEM_E_INVALID_OBJECT_PATH);
	fault_built(s, "key out of range", build(ACTION_GET, URI_WMI, SEL(HOST, "99999999999"), ""), 500,
	            "wsman:InvalidSelectors", WBEM_E_INVALID_OBJECT_PATH);
	fault_built(s, "negative key", build(ACTION_GET, URI_WMI, SEL(HOST, "-1"), ""), 500,
	            "wsman:InvalidSelectors", WBEM_E_INVALID_OBJECT_PATH);
	fault_built(s, "selector without Name", build(ACTION_GET, URI_WMI, "<wsman:SelectorSet>"
	            "<wsman:Selector>2</wsman:Selector></wsman:SelectorSet>", ""), 500,
	            "wsman:InvalidSelectors", WBEM_E_INVALID_OBJECT_PATH);
	fault_built(s, "EPR as selector value", build(ACTION_GET, URI_WMI, "<wsman:SelectorSet>"
	            "<wsman:Selector Name=\"VMHostName\"><wsa:EndpointReference/></wsman:Selector>"
	            "<wsman:Selector Name=\"SessionId\">2</wsman:Selector></wsman:SelectorSet>", ""), 500,
	            "wsman:InvalidSelectors", WBEM_E_INVALID_OBJECT_PATH);
	fault_built(s, "foreign element in SelectorSet", build(ACTION_GET, URI_WMI, "<wsman:SelectorSet>"
	            "<Selector Name=\"SessionId\">2</Selector></wsman:SelectorSet>", ""), 500,
	            "wsman:InvalidSelectors", WBEM_E_INVALID_OBJECT_PATH);
	fault_built(s, "not found (WMI URI)", build(ACTION_GET, URI_WMI, SEL(HOST, "99"), ""), 500,
	            "wsa:DestinationUnreachable", WBEM_E_NOT_FOUND);
	fault_built(s, "other host (WMI URI)", build(ACTION_GET, URI_WMI, SEL("other", "2"), ""), 500,
	            "wsa:DestinationUnreachable", WBEM_E_NOT_FOUND);
	{
		char *req = mi_request(ACTION_GET, URI_DMTF, "<w:Selector Name=\"SessionId\">99</w:Selector>"
		                       "<w:Selector Name=\"VMHostName\">" HOST "</w:Selector>", "", "");
		fault_built(s, "not found (DMTF URI)", req, 500, "wsman:InvalidSelectors", WBEM_E_NOT_FOUND);
	}

	/* Headers we must understand. */
	fault_built(s, "unknown mustUnderstand header", build(ACTION_GET, URI_WMI,
	            "<x:Frob xmlns:x=\"urn:frob\" s:mustUnderstand=\"true\">1</x:Frob>" SEL2, ""),
	            500, "s:MustUnderstand", WBEM_E_NOT_SUPPORTED);
	{
		wsman_reply r = callf(s, &admin, build(ACTION_GET, URI_WMI,
		                     "<x:Frob xmlns:x=\"urn:frob\" s:mustUnderstand=\"1\"/>" SEL2, ""));
		xmlDoc *d = xdoc(&r);
		CHECK(strstr(r.body, "<s:NotUnderstood qname=\"nu:Frob\" xmlns:nu=\"urn:frob\"/>") != NULL);
		CHECK_EQ(xn(d, "/s:Envelope/s:Header/s:NotUnderstood"), 1);
		xmlFreeDoc(d);
		free(r.body);
	}
	fault_built(s, "unknown wsman header, mustUnderstand", build(ACTION_GET, URI_WMI,
	            "<wsman:Frobnicate s:mustUnderstand=\"true\"/>" SEL2, ""),
	            500, "s:MustUnderstand", WBEM_E_NOT_SUPPORTED);
	fault_built(s, "FragmentTransfer", build(ACTION_GET, URI_WMI,
	            "<wsman:FragmentTransfer s:mustUnderstand=\"true\">p:UserName</wsman:FragmentTransfer>" SEL2, ""),
	            500, "wsman:UnsupportedFeature", WBEM_E_NOT_SUPPORTED);
	fault_built(s, "MaxEnvelopeSize too small", build(ACTION_GET, URI_WMI,
	            "<wsman:MaxEnvelopeSize s:mustUnderstand=\"true\">100</wsman:MaxEnvelopeSize>" SEL2, ""),
	            500, "wsman:EncodingLimit", WBEM_E_TOO_MUCH_DATA);
	fault_built(s, "MaxEnvelopeSize not a number", build(ACTION_GET, URI_WMI,
	            "<wsman:MaxEnvelopeSize>lots</wsman:MaxEnvelopeSize>" SEL2, ""),
	            500, "wsman:InvalidParameter", WBEM_E_INVALID_PARAMETER);

	/* Enumerate bodies and filters. */
	fault_built(s, "Enumerate with a Get body", build(ACTION_ENUMERATE, URI_WMI, "", "<wsen:Pull/>"),
	            500, "wsman:SchemaValidationError", WBEM_E_INVALID_PARAMETER);
	fault_built(s, "Enumerate with an empty body", build(ACTION_ENUMERATE, URI_WMI, "", ""),
	            500, "wsman:SchemaValidationError", WBEM_E_INVALID_PARAMETER);
	fault_built(s, "bad WQL", build(ACTION_ENUMERATE, URI_WMI, "", "<wsen:Enumerate>"
	            "<wsman:Filter Dialect=\"" DIALECT_WQL "\">SELECT * FROM Win32_VirtualDesktopSession "
	            "WHERE (UserName = 'alice'</wsman:Filter></wsen:Enumerate>"), 500,
	            "wsen:CannotProcessFilter", WBEM_E_INVALID_QUERY);
	fault_built(s, "WQL with an unknown property", build(ACTION_ENUMERATE, URI_WMI, "",
	            "<wsen:Enumerate><wsman:Filter Dialect=\"" DIALECT_WQL "\">SELECT * FROM "
	            "Win32_VirtualDesktopSession WHERE Nope = 1</wsman:Filter></wsen:Enumerate>"), 500,
	            "wsen:CannotProcessFilter", WBEM_E_INVALID_QUERY);
	fault_built(s, "WQL for an unknown class", build(ACTION_ENUMERATE, URI_WILD,
	            "<wsman:SelectorSet><wsman:Selector Name=\"__cimnamespace\">root/cimv2/rdms</wsman:Selector>"
	            "</wsman:SelectorSet>", "<wsen:Enumerate><wsman:Filter Dialect=\"" DIALECT_WQL
	            "\">SELECT * FROM Win32_Process</wsman:Filter></wsen:Enumerate>"), 500,
	            "wsa:DestinationUnreachable", WBEM_E_INVALID_CLASS);
	fault_built(s, "empty WQL", build(ACTION_ENUMERATE, URI_WMI, "", "<wsen:Enumerate>"
	            "<wsman:Filter Dialect=\"" DIALECT_WQL "\">  </wsman:Filter></wsen:Enumerate>"), 500,
	            "wsen:CannotProcessFilter", WBEM_E_INVALID_QUERY);
	fault_built(s, "unknown dialect", build(ACTION_ENUMERATE, URI_WMI, "", "<wsen:Enumerate>"
	            "<wsman:Filter Dialect=\"http://www.w3.org/TR/1999/REC-xpath-19991116\">/</wsman:Filter>"
	            "</wsen:Enumerate>"), 500, "wsen:FilterDialectRequestedUnavailable",
	            WBEM_E_INVALID_QUERY_TYPE);
	fault_built(s, "filter without Dialect", build(ACTION_ENUMERATE, URI_WMI, "", "<wsen:Enumerate>"
	            "<wsen:Filter>SELECT * FROM Win32_VirtualDesktopSession</wsen:Filter></wsen:Enumerate>"),
	            500, "wsen:FilterDialectRequestedUnavailable", WBEM_E_INVALID_QUERY_TYPE);
	fault_built(s, "two filters", build(ACTION_ENUMERATE, URI_WMI, "", "<wsen:Enumerate>"
	            "<wsman:Filter Dialect=\"" DIALECT_WQL "\">SELECT * FROM Win32_VirtualDesktopSession</wsman:Filter>"
	            "<wsen:Filter Dialect=\"" DIALECT_WQL "\">SELECT * FROM Win32_VirtualDesktopSession</wsen:Filter>"
	            "</wsen:Enumerate>"), 500, "wsen:CannotProcessFilter", WBEM_E_INVALID_QUERY);
	fault_built(s, "selector filter on an unknown property", build(ACTION_ENUMERATE, URI_WMI, "",
	            "<wsen:Enumerate><wsman:Filter Dialect=\"" DIALECT_SELECTOR "\"><wsman:SelectorSet>"
	            "<wsman:Selector Name=\"Shoe\">3</wsman:Selector></wsman:SelectorSet></wsman:Filter>"
	            "</wsen:Enumerate>"), 500, "wsen:CannotProcessFilter", WBEM_E_INVALID_QUERY);
	fault_built(s, "selector filter of the wrong type", build(ACTION_ENUMERATE, URI_WMI, "",
	            "<wsen:Enumerate><wsman:Filter Dialect=\"" DIALECT_SELECTOR "\"><wsman:SelectorSet>"
	            "<wsman:Selector Name=\"SessionId\">three</wsman:Selector></wsman:SelectorSet></wsman:Filter>"
	            "</wsen:Enumerate>"), 500, "wsen:CannotProcessFilter", WBEM_E_INVALID_QUERY);
	fault_built(s, "selector filter without SelectorSet", build(ACTION_ENUMERATE, URI_WMI, "",
	            "<wsen:Enumerate><wsman:Filter Dialect=\"" DIALECT_SELECTOR "\">SessionId=3</wsman:Filter>"
	            "</wsen:Enumerate>"), 500, "wsen:CannotProcessFilter", WBEM_E_INVALID_QUERY);
	fault_built(s, "bogus EnumerationMode", build(ACTION_ENUMERATE, URI_WMI, "", "<wsen:Enumerate>"
	            "<wsman:EnumerationMode>EnumerateEverything</wsman:EnumerationMode></wsen:Enumerate>"),
	            500, "wsman:UnsupportedFeature", WBEM_E_NOT_SUPPORTED);
	fault_built(s, "MaxElements 0", build(ACTION_ENUMERATE, URI_WMI, "", "<wsen:Enumerate>"
	            "<wsman:OptimizeEnumeration/><wsman:MaxElements>0</wsman:MaxElements></wsen:Enumerate>"),
	            500, "wsman:InvalidParameter", WBEM_E_INVALID_PARAMETER);
	fault_built(s, "MaxElements junk", build(ACTION_ENUMERATE, URI_WMI, "", "<wsen:Enumerate>"
	            "<wsman:OptimizeEnumeration/><wsman:MaxElements>12abc</wsman:MaxElements></wsen:Enumerate>"),
	            500, "wsman:InvalidParameter", WBEM_E_INVALID_PARAMETER);
	fault_built(s, "MaxElements with markup", build(ACTION_ENUMERATE, URI_WMI, "", "<wsen:Enumerate>"
	            "<wsman:MaxElements><b>1</b></wsman:MaxElements></wsen:Enumerate>"),
	            500, "wsman:SchemaValidationError", WBEM_E_INVALID_PARAMETER);

	/* Pull and Release bodies. */
	fault_built(s, "Pull without context", build(ACTION_PULL, URI_WMI, "", "<wsen:Pull/>"), 500,
	            "wsen:InvalidEnumerationContext", WBEM_E_INVALID_PARAMETER);
	fault_built(s, "Pull with an empty body", build(ACTION_PULL, URI_WMI, "", ""), 500,
	            "wsman:SchemaValidationError", WBEM_E_INVALID_PARAMETER);
	fault_built(s, "Pull MaxElements junk", pull_req("uuid:x", "<wsen:MaxElements>-4</wsen:MaxElements>"),
	            500, "wsman:InvalidParameter", WBEM_E_INVALID_PARAMETER);
	fault_built(s, "Release unknown", build(ACTION_RELEASE, URI_WMI, "", "<wsen:Release>"
	            "<wsen:EnumerationContext>uuid:nope</wsen:EnumerationContext></wsen:Release>"), 500,
	            "wsen:InvalidEnumerationContext", WBEM_E_INVALID_CONTEXT);

	/* Method invocation bodies: nothing may run. */
	fault_built(s, "_INPUT of another method", build(URI_WMI "/Disconnect", URI_WMI, SEL2,
	            "<p:Logoff_INPUT xmlns:p=\"" URI_WMI "\"/>"), 500, "wsman:InvalidParameter",
	            WBEM_E_INVALID_METHOD_PARAMETERS);
	fault_built(s, "_INPUT in a foreign namespace", build(URI_WMI "/Disconnect", URI_WMI, SEL2,
	            "<p:Disconnect_INPUT xmlns:p=\"urn:other\"/>"), 500, "wsman:InvalidParameter",
	            WBEM_E_INVALID_METHOD_PARAMETERS);
	fault_built(s, "_INPUT without namespace", build(URI_WMI "/Disconnect", URI_WMI, SEL2,
	            "<Disconnect_INPUT/>"), 500, "wsman:InvalidParameter", WBEM_E_INVALID_METHOD_PARAMETERS);
	fault_built(s, "two body elements", build(URI_WMI "/Disconnect", URI_WMI, SEL2,
	            "<p:Disconnect_INPUT xmlns:p=\"" URI_WMI "\"/><x/>"), 500, "wsman:InvalidParameter",
	            WBEM_E_INVALID_METHOD_PARAMETERS);
	fault_built(s, "unknown parameter", build(URI_WMI "/Disconnect", URI_WMI, SEL2,
	            "<p:Disconnect_INPUT xmlns:p=\"" URI_WMI "\"><p:Force>true</p:Force></p:Disconnect_INPUT>"),
	            500, "wsman:InvalidParameter", WBEM_E_INVALID_METHOD_PARAMETERS);
	fault_built(s, "duplicate parameter", build(URI_WMI "/SendMessage", URI_WMI, SEL2,
	            "<p:SendMessage_INPUT xmlns:p=\"" URI_WMI "\"><p:Title>a</p:Title><p:Title>b</p:Title>"
	            "<p:Message>m</p:Message></p:SendMessage_INPUT>"), 500, "wsman:InvalidParameter",
	            WBEM_E_INVALID_DUPLICATE_PARAMETER);
	fault_built(s, "missing parameter", build(URI_WMI "/SendMessage", URI_WMI, SEL2,
	            "<p:SendMessage_INPUT xmlns:p=\"" URI_WMI "\"><p:Title>a</p:Title></p:SendMessage_INPUT>"),
	            500, "wsman:InvalidParameter", WBEM_E_INVALID_PARAMETER);
	fault_built(s, "nil parameter", build(URI_WMI "/SendMessage", URI_WMI, SEL2,
	            "<p:SendMessage_INPUT xmlns:p=\"" URI_WMI "\" xmlns:xsi=\"" NS_XSI "\"><p:Title>a</p:Title>"
	            "<p:Message xsi:nil=\"true\"/></p:SendMessage_INPUT>"),
	            500, "wsman:InvalidParameter", WBEM_E_INVALID_PARAMETER);
	fault_built(s, "structured parameter", build(URI_WMI "/SendMessage", URI_WMI, SEL2,
	            "<p:SendMessage_INPUT xmlns:p=\"" URI_WMI "\"><p:Title><p:x/></p:Title>"
	            "<p:Message>m</p:Message></p:SendMessage_INPUT>"), 500, "wsman:InvalidParameter",
	            WBEM_E_TYPE_MISMATCH);
	fault_built(s, "parameter in another namespace", build(URI_WMI "/SendMessage", URI_WMI, SEL2,
	            "<p:SendMessage_INPUT xmlns:p=\"" URI_WMI "\"><q:Title xmlns:q=\"urn:q\">a</q:Title>"
	            "<p:Message>m</p:Message></p:SendMessage_INPUT>"), 500, "wsman:InvalidParameter",
	            WBEM_E_INVALID_METHOD_PARAMETERS);
	fault_built(s, "stray text in _INPUT", build(URI_WMI "/Disconnect", URI_WMI, SEL2,
	            "<p:Disconnect_INPUT xmlns:p=\"" URI_WMI "\">now</p:Disconnect_INPUT>"), 500,
	            "wsman:InvalidParameter", WBEM_E_INVALID_METHOD_PARAMETERS);
	fault_built(s, "control characters in Message", build(URI_WMI "/SendMessage", URI_WMI, SEL2,
	            "<p:SendMessage_INPUT xmlns:p=\"" URI_WMI "\"><p:Title>a</p:Title>"
	            "<p:Message>&#x1b;[2J</p:Message></p:SendMessage_INPUT>"), 400,
	            "wsman:SchemaValidationError", WBEM_E_INVALID_PARAMETER);
	fault_built(s, "invoke: not found", build(URI_WMI "/Logoff", URI_WMI, SEL(HOST, "7"), ""), 500,
	            "wsa:DestinationUnreachable", WBEM_E_NOT_FOUND);
	fault_built(s, "invoke: bad key", build(URI_WMI "/Logoff", URI_WMI, SEL(HOST, "7x"), ""), 500,
	            "wsman:InvalidSelectors", WBEM_E_INVALID_OBJECT_PATH);
	fault_built(s, "invoke: missing key", build(URI_WMI "/Logoff", URI_WMI, "", ""), 500,
	            "wsman:InvalidSelectors", WBEM_E_INVALID_OBJECT_PATH);

	/* Authentication and authorisation. */
	{
		char *req = build(ACTION_GET, URI_WMI, SEL2, "");
		fault_case(s, NULL, "unauthenticated Get", req, strlen(req), 500, "wsman:AccessDenied",
		           WBEM_E_ACCESS_DENIED);
		fault_case(s, &carol, "Get of another user's session", req, strlen(req), 500,
		           "wsman:AccessDenied", WBEM_E_ACCESS_DENIED);
		free(req);
		req = build(URI_WMI "/Logoff", URI_WMI, SEL2, "");
		fault_case(s, NULL, "unauthenticated invoke", req, strlen(req), 500, "wsman:AccessDenied",
		           WBEM_E_ACCESS_DENIED);
		fault_case(s, &carol, "Logoff of another user's session", req, strlen(req), 500,
		           "wsman:AccessDenied", WBEM_E_ACCESS_DENIED);
		free(req);
	}
}

/* ---- replay protection -------------------------------------------------- */

/* ---- the light tree reader (src/common/xml_read.c) ---------------------- */

#define NS_A "urn:a"
#define NS_B "urn:b"

/* xml_tree_read of TEXT (LEN bytes, or strlen when 0) with MAX_DEPTH; *WHY and MSG set. */
static xml_tree *tree_of(const char *text, size_t len, int max_depth, xml_read_error *why,
                         char *msg, size_t msgsize)
{
	return xml_tree_read(text, len ? len : strlen(text), max_depth, why, msg, msgsize);
}

/* Both readers refuse TEXT for WANT with the same message, which contains PART. */
static void tree_refuses(const char *label, const char *text, size_t len, int max_depth,
                         xml_read_error want, const char *part)
{
	xml_read_error why = XML_READ_OK, why_doc = XML_READ_OK;
	char msg[300] = "", msg_doc[300] = "";
	xml_tree *t = tree_of(text, len, max_depth, &why, msg, sizeof msg);
	xmlDoc *d = xml_read_safe(text, len ? len : strlen(text), max_depth, &why_doc,
	                          msg_doc, sizeof msg_doc);

	if (t != NULL || why != want || strstr(msg, part) == NULL)
		fprintf(stderr, "tree reader, %s: %d \"%s\"\n", label, why, msg);
	CHECK(t == NULL);
	CHECK_EQ(why, want);
	CHECK(strstr(msg, part) != NULL);
	CHECK(d == NULL);
	CHECK_EQ(why_doc, why);
	CHECK_STR(msg_doc, msg);
	xml_tree_free(t);
	xmlFreeDoc(d);
}

/* The text of the only child of N ("" when none), checking there is at most one. */
static const char *only_text(const xml_node *n)
{
	if (n == NULL || n->children == NULL)
		return "";
	CHECK(n->children->next == NULL);
	CHECK(n->children->name == NULL);
	return n->children->text;
}

static void test_tree_refusals(void)
{
	strbuf b = { 0 };

	tree_refuses("empty", "", 0, 32, XML_READ_EMPTY, "the request body is empty");
	CHECK(xml_tree_read("<a/>", (size_t)INT_MAX + 1, 32, &(xml_read_error){ 0 },
	                    (char[64]){ 0 }, 64) == NULL);
	tree_refuses("UTF-16 BOM", "\xff\xfe<\0a\0/\0>\0", 10, 32, XML_READ_NOT_UTF8,
	             "only UTF-8 requests are supported");
	tree_refuses("UTF-16BE BOM", "\xfe\xff\0<\0a\0/\0>", 10, 32, XML_READ_NOT_UTF8, "UTF-8");
	tree_refuses("leading NUL", "\0<a/>", 5, 32, XML_READ_NOT_UTF8, "UTF-8");
	tree_refuses("Latin-1", "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a/>", 0, 32,
	             XML_READ_NOT_UTF8, "character set ISO-8859-1 is not supported; use UTF-8");
	tree_refuses("UTF-16 without BOM", "<\0a\0/\0>\0", 8, 32, XML_READ_MALFORMED,
	             "StartTag: invalid element name at line 1, column 2");
	tree_refuses("internal DTD", "<!DOCTYPE a [<!ENTITY e \"x\">]><a>&e;</a>", 0, 32,
	             XML_READ_DTD, "a DTD (<!DOCTYPE>) is not allowed in a request");
	tree_refuses("external DTD", "<!DOCTYPE a SYSTEM \"file:///etc/passwd\"><a/>", 0, 32,
	             XML_READ_DTD, "DTD");
	/* libxml2's message quotes a long non-ASCII name: cut between characters */
	{
		strbuf long_name = { 0 };
		xml_read_error why = XML_READ_OK;
		char msg[300];

		strbuf_puts(&long_name, "<a");
		for (int i = 0; i < 120; i++)
			strbuf_puts(&long_name, "\xc3\xa9");
		strbuf_puts(&long_name, "></b>");
		tree_refuses("a long name, mismatched", long_name.data, 0, 32, XML_READ_MALFORMED,
		             "Opening and ending tag mismatch: a\xc3\xa9\xc3\xa9");
		CHECK(tree_of(long_name.data, 0, 32, &why, msg, sizeof msg) == NULL);
		CHECK(utf8_valid(msg, strlen(msg)));       /* every character whole */
		CHECK(strstr(msg, " at line 1, column ") != NULL);
		strbuf_free(&long_name);
	}
	tree_refuses("not XML", "hello", 0, 32, XML_READ_MALFORMED,
	             "the request is not well-formed XML: Start tag expected, '<' not found "
	             "at line 1, column 1");
	tree_refuses("unclosed", "<a><b></a>", 0, 32, XML_READ_MALFORMED,
	             "Premature end of data in tag a line 1 at line 1, column 11");
	tree_refuses("undefined entity", "<a>&foo;</a>", 0, 32, XML_READ_MALFORMED,
	             "Entity 'foo' not defined");
	tree_refuses("undeclared prefix", "<p:a/>", 0, 32, XML_READ_MALFORMED,
	             "Namespace prefix p on a is not defined");
	tree_refuses("undeclared attribute prefix", "<a p:x=\"1\"/>", 0, 32, XML_READ_MALFORMED,
	             "Namespace prefix p for x on a is not defined");
	tree_refuses("attribute twice by URI", "<a xmlns:p=\"" NS_A "\" xmlns:q=\"" NS_A "\" "
	             "p:x=\"1\" q:x=\"2\"/>", 0, 32, XML_READ_MALFORMED, "redefined");
	/* libxml2's xml:id checks are the last error after a namespace error. */
	tree_refuses("xml:id after a namespace error", "<a><p:b/><c xml:id=\"1 x\"/></a>", 0, 32,
	             XML_READ_MALFORMED, "xml:id : attribute value 1 x is not an NCName");
	tree_refuses("xml:id twice after a namespace error",
	             "<a><p:b/><c xml:id=\"i\"/><c xml:id=\"i\"/></a>", 0, 32,
	             XML_READ_MALFORMED, "ID i already defined");
	tree_refuses("namespace error after xml:id", "<a><c xml:id=\"1\"/><p:b/></a>", 0, 32,
	             XML_READ_MALFORMED, "Namespace prefix p on b is not defined");

	/* Depth: the root is level 1; text, comments and PIs are a level below their element. */
	tree_refuses("element at 4", "<a><b><c><d/></c></b></a>", 0, 3, XML_READ_TOO_DEEP,
	             "the request nests elements deeper than 3 levels");
	tree_refuses("text at 4", "<a><b><c>x</c></b></a>", 0, 3, XML_READ_TOO_DEEP, "deeper");
	tree_refuses("white space at 4", "<a><b><c> </c></b></a>", 0, 3, XML_READ_TOO_DEEP, "deeper");
	tree_refuses("empty CDATA at 4", "<a><b><c><![CDATA[]]></c></b></a>", 0, 3,
	             XML_READ_TOO_DEEP, "deeper");
	tree_refuses("comment at 4", "<a><b><c><!--x--></c></b></a>", 0, 3, XML_READ_TOO_DEEP,
	             "deeper");
	tree_refuses("PI at 4", "<a><b><c><?p x?></c></b></a>", 0, 3, XML_READ_TOO_DEEP, "deeper");
	/* Too deep and not well-formed further on: not well-formed, as before. */
	tree_refuses("deep, then malformed", "<a><b><c><d/></c></b></a><e/>", 0, 3,
	             XML_READ_MALFORMED, "Extra content at the end of the document");
	tree_refuses("deep, then Latin-1", "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>"
	             "<a><b><c><d/></c></b></a>", 0, 3, XML_READ_NOT_UTF8, "ISO-8859-1");
	/* libxml2's own limit (256) comes first: a fatal error. */
	for (int i = 0; i < 300; i++)
		strbuf_puts(&b, "<a>");
	tree_refuses("depth 300", b.data, b.len, 32, XML_READ_MALFORMED, "Excessive depth");
	strbuf_free(&b);
}

/*
 * Documents longer than libxml2's lookahead, read by the DOM reader (which,
 * like the tree reader, drops the memory input's read callback at its
 * start): content at the very end is read whole, a Latin-1 document (an
 * encoder keeps the callback) is converted as before and refused, and a
 * document cut at its end is refused by both readers alike.
 */
static void test_dom_long(void)
{
	strbuf b = { 0 };
	xml_read_error why;
	char msg[300];
	xmlDoc *d;
	xmlNode *root, *last = NULL;
	xmlChar *v;

	strbuf_puts(&b, "<?xml version=\"1.0\" encoding=\"utf-8\"?><r>");
	for (int i = 0; i < 300; i++)
		strbuf_printf(&b, "<e i=\"%d\">text %d</e>", i, i);
	strbuf_puts(&b, "<z a=\"\xc3\xa4&amp;end\">last \xc3\xa4</z></r>");
	d = xml_read_safe(b.data, b.len, 32, &why, msg, sizeof msg);
	CHECK(d != NULL);
	CHECK_EQ(why, XML_READ_OK);
	root = d != NULL ? xmlDocGetRootElement(d) : NULL;
	for (xmlNode *n = root != NULL ? root->children : NULL; n != NULL; n = n->next)
		last = n;
	CHECK(last != NULL && strcmp((const char *)last->name, "z") == 0);
	if (last != NULL) {
		v = xmlGetProp(last, (const xmlChar *)"a");
		CHECK_STR((const char *)v, "\xc3\xa4&end");
		xmlFree(v);
		v = xmlNodeGetContent(last);
		CHECK_STR((const char *)v, "last \xc3\xa4");
		xmlFree(v);
	}
	xmlFreeDoc(d);

	/* Cut at its end: the same refusal from both readers. */
	tree_refuses("long, cut", b.data, b.len - 6, 32, XML_READ_MALFORMED,
	             "Premature end of data in tag r");

	/* Latin-1, longer than the lookahead, a converted byte near its end. */
	strbuf_free(&b);
	strbuf_puts(&b, "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><r>");
	for (int i = 0; i < 100; i++)
		strbuf_printf(&b, "<e>%d</e>", i);
	strbuf_puts(&b, "<z>\xe4</z></r>");
	tree_refuses("long Latin-1", b.data, b.len, 32, XML_READ_NOT_UTF8,
	             "character set ISO-8859-1 is not supported; use UTF-8");
	strbuf_free(&b);
}

static void test_tree_nodes(void)
{
	xml_read_error why;
	char msg[300];
	const xml_node *r, *c;
	xml_tree *t, *t2;
	strbuf b = { 0 };

	/* Within the limit; comments and PIs outside the root; a UTF-8 BOM and declaration. */
	t = tree_of("\xef\xbb\xbf<?xml version=\"1.0\" encoding=\"utf-8\"?><!--c--><?p?>"
	            "<a><b><c/></b></a><!--c-->", 0, 3, &why, msg, sizeof msg);
	CHECK(t != NULL);
	CHECK_EQ(why, XML_READ_OK);
	xml_tree_free(t);

	/* Namespaces by URI, whatever the prefix; the default namespace; none. */
	t = tree_of("<x:a xmlns:x=\"" NS_A "\" xmlns=\"" NS_B "\"><y:b xmlns:y=\"" NS_A "\"/>"
	            "<c/><d xmlns=\"\"/></x:a>", 0, 32, &why, msg, sizeof msg);
	CHECK(t != NULL);
	r = t ? xml_tree_root(t) : NULL;
	CHECK(xml_node_is(r, NS_A, "a"));
	CHECK(!xml_node_is(r, NS_B, "a"));
	CHECK_STR(r ? r->prefix : NULL, "x");
	c = r ? xml_node_first_elem(r) : NULL;
	CHECK(xml_node_is(c, NS_A, "b"));
	c = c ? xml_node_next_elem(c) : NULL;
	CHECK(xml_node_is(c, NS_B, "c"));
	CHECK(c != NULL && c->prefix == NULL);
	c = c ? xml_node_next_elem(c) : NULL;
	CHECK(c != NULL && c->uri == NULL && strcmp(c->name, "d") == 0);
	CHECK(!xml_node_is(c, "", "d"));
	CHECK(c != NULL && xml_node_next_elem(c) == NULL);
	xml_tree_free(t);

	/* Attributes with and without a namespace; namespace declarations are none. */
	t = tree_of("<a xmlns:p=\"" NS_A "\" xmlns:q=\"" NS_B "\" n=\"plain\" p:n=\"in a\" "
	            "q:m=\"in b\" e=\"\" r=\"&amp;&#x41;&lt;&#38;#38;\tx&#10;\"/>", 0, 32,
	            &why, msg, sizeof msg);
	CHECK(t != NULL);
	r = t ? xml_tree_root(t) : NULL;
	CHECK_EQ(r ? r->nattrs : 0, 5);
	CHECK_STR(xml_node_attr(r, "n"), "plain");              /* the first, any namespace */
	CHECK_STR(xml_node_attr(r, "m"), "in b");
	CHECK_STR(xml_node_attr_ns(r, "n", NS_A), "in a");
	CHECK_STR(xml_node_attr_ns(r, "n", NULL), "plain");
	CHECK(xml_node_attr_ns(r, "m", NULL) == NULL);
	CHECK(xml_node_attr_ns(r, "m", NS_A) == NULL);
	CHECK(xml_node_attr(r, "xmlns") == NULL && xml_node_attr(r, "p") == NULL);
	CHECK_STR(xml_node_attr(r, "e"), "");
	CHECK_STR(xml_node_attr(r, "r"), "&A<&#38; x\n");     /* white space normalised */
	xml_tree_free(t);

	/* Text: references, CDATA, comments and PIs in between make one node. */
	t = tree_of("<a>x&amp;y&#x41;<![CDATA[<b>&amp;]]><!--c-->z<?p q?> </a>", 0, 32,
	            &why, msg, sizeof msg);
	CHECK(t != NULL);
	r = t ? xml_tree_root(t) : NULL;
	CHECK_STR(only_text(r), "x&yA<b>&amp;z ");
	CHECK_EQ(r && r->children ? r->children->len : 0, 14);
	xml_tree_free(t);
	t = tree_of("<a> <b/>t<c>u</c> </a>", 0, 32, &why, msg, sizeof msg);
	r = t ? xml_tree_root(t) : NULL;
	c = r ? r->children : NULL;
	CHECK(c != NULL && c->name == NULL && strcmp(c->text, " ") == 0);
	c = c ? c->next : NULL;
	CHECK(c != NULL && c->name != NULL && strcmp(c->name, "b") == 0 && c->children == NULL);
	c = c ? c->next : NULL;
	CHECK(c != NULL && c->name == NULL && strcmp(c->text, "t") == 0 && c->parent == r);
	c = c ? c->next : NULL;
	CHECK_STR(only_text(c), "u");
	c = c ? c->next : NULL;
	CHECK(c != NULL && c->name == NULL && strcmp(c->text, " ") == 0 && c->next == NULL);
	xml_tree_free(t);

	/* Text in many chunks, beyond the arena's first block. */
	strbuf_puts(&b, "<a>");
	for (int i = 0; i < 20000; i++)
		strbuf_puts(&b, i % 3 ? "abcdefgh" : "&amp;<![CDATA[--]]><!---->");
	strbuf_puts(&b, "</a>");
	t = tree_of(b.data, b.len, 32, &why, msg, sizeof msg);
	r = t ? xml_tree_root(t) : NULL;
	CHECK(r != NULL && r->children != NULL && r->children->len == 6667 * 3 + 13333 * 8);
	CHECK(r != NULL && r->children != NULL && strlen(r->children->text) == r->children->len);
	CHECK(r != NULL && r->children != NULL && strncmp(r->children->text, "&--abcdefgh", 11) == 0);
	strbuf_free(&b);

	/* Many attributes and elements; a second tree while the first is alive. */
	strbuf_puts(&b, "<a");
	for (int i = 0; i < 5000; i++)
		strbuf_printf(&b, " n%d=\"%d\"", i, i);
	strbuf_puts(&b, ">");
	for (int i = 0; i < 5000; i++)
		strbuf_printf(&b, "<e i=\"%d\">%d</e>", i, i);
	strbuf_puts(&b, "</a>");
	t2 = tree_of(b.data, b.len, 32, &why, msg, sizeof msg);
	strbuf_free(&b);
	r = t2 ? xml_tree_root(t2) : NULL;
	CHECK_EQ(r ? r->nattrs : 0, 5000);
	CHECK_STR(r ? xml_node_attr(r, "n4999") : NULL, "4999");
	c = r ? xml_node_first_elem(r) : NULL;
	for (int i = 0; i < 4999 && c != NULL; i++)
		c = xml_node_next_elem(c);
	CHECK_STR(c ? xml_node_attr(c, "i") : NULL, "4999");
	CHECK_STR(only_text(c), "4999");
	xml_tree_free(t);
	xml_tree_free(t2);
	/* The thread's spare block again. */
	t = tree_of("<a>x</a>", 0, 32, &why, msg, sizeof msg);
	CHECK_STR(t ? only_text(xml_tree_root(t)) : NULL, "x");
	xml_tree_free(t);
	xml_tree_free(NULL);
}

/* A header in a default namespace is named bare in the message (not "(null)X"). */
static void test_tree_wsman(void)
{
	static const char req[] = ENV_OPEN "<s:Header><wsa:Action>" ACTION_GET "</wsa:Action>"
		"<wsa:MessageID>1</wsa:MessageID><X xmlns=\"urn:x\" s:mustUnderstand=\"1\"/>"
		"</s:Header><s:Body/></s:Envelope>";
	wsman_request r = { 0 };
	wsman_fault f;

	CHECK(!wsman_parse(req, sizeof req - 1, &r, &f));
	CHECK_STR(f.subcode, "s:MustUnderstand");
	CHECK_STR(f.nu_ns, "urn:x");
	CHECK_STR(f.nu_name, "X");
	CHECK_STR(f.reason, "the header X is marked mustUnderstand but is not supported");
	wsman_request_free(&r);
}

static void test_replay(wsman_service *s)
{
	char *req = build(URI_WMI "/SendMessage", URI_WMI, SEL2,
	                  "<p:SendMessage_INPUT xmlns:p=\"" URI_WMI "\"><p:Title>t</p:Title>"
	                  "<p:Message>once</p:Message></p:SendMessage_INPUT>");
	char *fault = build(URI_WMI "/Logoff", URI_WMI, SEL(HOST, "8"), "");
	int before = n_send;
	wsman_reply a = call(s, &admin, req), b = call(s, &admin, req);

	CHECK_EQ(n_send, before + 1);
	CHECK_EQ(a.http_status, 200);
	CHECK_EQ(b.http_status, 200);
	CHECK(a.len == b.len && memcmp(a.body, b.body, a.len) == 0);
	free(a.body);
	free(b.body);
	/* A fault is replayed too (wsl re-sends after every HTTP 500). */
	a = call(s, &admin, fault);
	b = call(s, &admin, fault);
	CHECK_EQ(b.http_status, 500);
	CHECK(a.len == b.len && memcmp(a.body, b.body, a.len) == 0);
	free(a.body);
	free(b.body);
	/* Same MessageID, another body (a client numbering from 0 again): runs. */
	{
		const char *id = strstr(req, "<wsa:MessageID>");
		char *other = build(URI_WMI "/Disconnect", URI_WMI, SEL2, "");
		char *o_id = strstr(other, "<wsa:MessageID>");
		int d0 = n_disconnect;

		CHECK(id != NULL && o_id != NULL);
		memcpy(o_id, id, strlen("<wsa:MessageID>uuid:00000000-0000-0000-0000-000000000000"));
		a = call(s, &admin, other);
		CHECK_EQ(a.http_status, 200);
		CHECK_EQ(n_disconnect, d0 + 1);
		free(a.body);
		free(other);
	}
	/* A re-sent Pull returns the same page instead of skipping one. */
	{
		xmlDoc *d = ok_call(s, &admin, build(ACTION_ENUMERATE, URI_WMI, "", "<wsen:Enumerate/>"), "e");
		char ctx[128], *pull;

		snprintf(ctx, sizeof ctx, "%s", ctx_of(d, "EnumerateResponse"));
		xmlFreeDoc(d);
		pull = pull_req(ctx, "");
		a = call(s, &admin, pull);
		b = call(s, &admin, pull);
		CHECK(a.len == b.len && memcmp(a.body, b.body, a.len) == 0);
		CHECK(strstr(a.body, "<p:SessionId>2</p:SessionId>") != NULL);
		free(a.body);
		free(b.body);
		free(pull);
	}
	free(req);
	free(fault);
}

/* ---- writer details ----------------------------------------------------- */

static void test_writer(void)
{
	const cim_class *cls = rdms_schema_find("Win32_VirtualDesktopSession");
	cim_instance *inst = cim_instance_new(cls);
	strbuf b = { 0 };
	rdms_error err = { 0 };
	xmlDoc *d;

	strbuf_puts(&b, "<r>");
	wsman_escape(&b, "a<b>&\"c\" \x01\x1f\t\xc3\xa9 \xff\xfe \xed\xa0\x80 \xef\xbf\xbf ok", false);
	strbuf_puts(&b, "</r>");
	CHECK_STR(b.data, "<r>a&lt;b&gt;&amp;\"c\" ??\t\xc3\xa9 ?? ??? ??? ok</r>");
	strbuf_free(&b);
	/* an attribute value: quotes and white space as references, apostrophes as they are */
	wsman_escape(&b, "it's \"q\"\t\n\r<\x02", true);
	CHECK_STR(b.data, "it's &quot;q&quot;&#9;&#10;&#13;&lt;?");
	strbuf_free(&b);

	CHECK(inst != NULL);
	cim_instance_set(inst, "SessionId", cim_u32(4000000000u), &err);
	cim_instance_set(inst, "VMHostName", cim_string("h<1>"), &err);
	cim_instance_set(inst, "UserName", cim_string("d\xc3\xa9j\xc3\xa0 \x07"), &err);
	wsman_write_instance(&b, inst, URI_WMI, NULL);
	d = xmlReadMemory(b.data, (int)b.len, NULL, NULL, XML_PARSE_NOERROR);
	CHECK(d != NULL);
	CHECK_STR(xs(d, "/pw:Win32_VirtualDesktopSession/pw:SessionId"), "4000000000");
	CHECK_STR(xs(d, "/pw:Win32_VirtualDesktopSession/pw:VMHostName"), "h<1>");
	CHECK_STR(xs(d, "/pw:Win32_VirtualDesktopSession/pw:UserName"), "d\xc3\xa9j\xc3\xa0 ?");
	CHECK_STR(xs(d, "/pw:Win32_VirtualDesktopSession/pw:DomainName/@xsi:nil"), "true");
	CHECK_EQ(xn(d, "/pw:Win32_VirtualDesktopSession/*[@xsi:nil='true']"), 5);
	xmlFreeDoc(d);
	strbuf_free(&b);
	cim_instance_free(inst);
}

/* ---- the client, through a minimal HTTP responder on a Unix socket ------ */

typedef struct responder {
	int            fd;
	wsman_service *svc;
	pthread_t      thread;
	int            served;
} responder;

static void respond(responder *rs, int c)
{
	strbuf in = { 0 };
	char buf[65536], *hdr_end = NULL;
	size_t want = 0, hlen = 0;
	ssize_t n;

	/* Test scaffolding: enough of HTTP/1.1 for libcurl's POSTs. */
	while ((n = read(c, buf, sizeof buf)) > 0) {
		strbuf_append(&in, buf, (size_t)n);
		if (hdr_end == NULL && (hdr_end = strstr(in.data, "\r\n\r\n")) != NULL) {
			const char *cl = strcasestr(in.data, "\r\nContent-Length:");
			hlen = (size_t)(hdr_end - in.data) + 4;
			want = cl != NULL ? strtoul(cl + 17, NULL, 10) : 0;
		}
		if (hdr_end != NULL && in.len >= hlen + want)
			break;
	}
	if (hdr_end != NULL) {
		wsman_reply r;
		char head[256];
		int hn;

		wsman_handle(rs->svc, &admin, in.data + hlen, want, &r);
		hn = snprintf(head, sizeof head, "HTTP/1.1 %d X\r\nContent-Type: application/soap+xml;"
		              "charset=UTF-8\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
		              r.http_status, r.len);
		if (write(c, head, (size_t)hn) != hn || write(c, r.body, r.len) != (ssize_t)r.len)
			perror("responder write");
		free(r.body);
		rs->served++;
	}
	strbuf_free(&in);
}

static void *responder_main(void *arg)
{
	responder *rs = arg;
	int c;

	while ((c = accept(rs->fd, NULL, NULL)) >= 0) {
		char probe;

		if (recv(c, &probe, 1, MSG_PEEK) <= 0) {   /* the stop signal */
			close(c);
			break;
		}
		respond(rs, c);
		close(c);
	}
	return NULL;
}

static bool responder_start(responder *rs, wsman_service *s, const char *sock)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	memset(rs, 0, sizeof *rs);
	rs->svc = s;
	unlink(sock);
	if (snprintf(sa.sun_path, sizeof sa.sun_path, "%s", sock) >= (int)sizeof sa.sun_path)
		return false;
	rs->fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (rs->fd < 0 || bind(rs->fd, (struct sockaddr *)&sa, sizeof sa) != 0
	    || listen(rs->fd, 8) != 0)
		return false;
	return pthread_create(&rs->thread, NULL, responder_main, rs) == 0;
}

/* Stops the responder with an empty connection. */
static void responder_stop(responder *rs, const char *sock)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int k = socket(AF_UNIX, SOCK_STREAM, 0);

	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", sock);
	if (connect(k, (struct sockaddr *)&sa, sizeof sa) == 0)
		close(k);
	pthread_join(rs->thread, NULL);
	close(rs->fd);
	unlink(sock);
}

static void test_client(wsman_service *s, const char *sock)
{
	responder rs;
	rdms_client_options o = { .socket_path = sock };
	rdms_error err = { 0 };
	rdms_client *c;
	cim_instance_list l = { 0 };
	cim_instance *inst = NULL;
	cim_path path = { 0 };
	const cim_class *cls = rdms_schema_find("Win32_VirtualDesktopSession");
	uint32_t rv = 99;
	int before;

	if (!responder_start(&rs, s, sock)) {
		CHECK(!"responder");
		return;
	}

	c = rdms_client_new(&o, &err);
	CHECK(c != NULL);
	CHECK_EQ(rdms_client_enumerate(c, cls, &l, &err), 0);
	CHECK_EQ(l.count, 2);
	if (l.count == 2) {
		CHECK_EQ(cim_instance_get(l.items[0], "SessionId")->u.u32, 2);
		CHECK_STR(cim_instance_get(l.items[1], "UserName")->u.str, "bob");
		CHECK_STR(cim_instance_get(l.items[0], "ClientMachineName")->u.str, "PC-1");
		CHECK_EQ(cim_instance_get(l.items[1], "ConnectState")->u.u32, 4);
	}
	cim_instance_list_free(&l);
	CHECK_EQ(rdms_client_query(c, cls, "SELECT * FROM Win32_VirtualDesktopSession WHERE UserName = 'bob'",
	                           &l, &err), 0);
	CHECK_EQ(l.count, 1);
	cim_instance_list_free(&l);
	CHECK_EQ(rdms_client_query(c, cls, "SELECT * FROM", &l, &err), WBEM_E_INVALID_QUERY);
	CHECK(err.message[0] != '\0');
	cim_instance_list_free(&l);

	CHECK_EQ(cim_path_parse("Win32_VirtualDesktopSession.VMHostName=\"" HOST "\",SessionId=3",
	                        &path, &err), 0);
	CHECK_EQ(rdms_client_get(c, cls, &path, &inst, &err), 0);
	CHECK(inst != NULL && strcmp(cim_instance_get(inst, "UserName")->u.str, "bob") == 0);
	cim_instance_free(inst);
	inst = NULL;
	before = n_send;
	rdms_param in[2] = { { "Title", cim_string("T") }, { "Message", cim_string("a <b> & \"c\"") } };
	CHECK_EQ(rdms_client_invoke(c, cls, &path, "SendMessage", in, 2, &rv, &err), 0);
	CHECK_EQ(rv, 0);
	CHECK_EQ(n_send, before + 1);
	CHECK_STR(last_message, "a <b> & \"c\"");
	cim_value_clear(&in[0].value);
	cim_value_clear(&in[1].value);
	before = n_disconnect;
	CHECK_EQ(rdms_client_invoke(c, cls, &path, "Disconnect", NULL, 0, &rv, &err), 0);
	CHECK_EQ(n_disconnect, before + 1);
	CHECK_EQ(rv, 0);
	/* a method that failed: its ReturnValue, and the reason from rdms:ReturnValueText */
	disconnect_fails = true;
	rdms_error_clear(&err);
	CHECK_EQ(rdms_client_invoke(c, cls, &path, "Disconnect", NULL, 0, &rv, &err), 0);
	CHECK_EQ(rv, WBEM_E_INVALID_OPERATION);
	CHECK_EQ(err.code, WBEM_E_INVALID_OPERATION);
	CHECK_STR(err.message, "session 3 is not connected");
	CHECK_EQ(rdms_client_invoke(c, cls, &path, "Reboot", NULL, 0, &rv, &err), WBEM_E_INVALID_METHOD);
	cim_path_free(&path);

	memset(&path, 0, sizeof path);
	CHECK_EQ(cim_path_parse("Win32_VirtualDesktopSession.VMHostName=\"" HOST "\",SessionId=77",
	                        &path, &err), 0);
	CHECK_EQ(rdms_client_get(c, cls, &path, &inst, &err), WBEM_E_NOT_FOUND);
	CHECK(strstr(err.message, "77") != NULL);
	CHECK(inst == NULL);
	cim_path_free(&path);
	rdms_client_free(c);

	/* No daemon behind the socket. */
	o.socket_path = "/nonexistent/rdmsd.sock";
	c = rdms_client_new(&o, &err);
	CHECK_EQ(rdms_client_enumerate(c, cls, &l, &err), WBEM_E_TRANSPORT_FAILURE);
	rdms_client_free(c);
	rdms_client_options bad = { .url = "ftp://x/" };
	CHECK(rdms_client_new(&bad, &err) == NULL);
	CHECK_EQ(err.code, WBEM_E_INVALID_PARAMETER);

	responder_stop(&rs, sock);
	CHECK(rs.served >= 8);
}

/* The client paging through many sessions. */
static void test_client_many(wsman_service *s, const char *sock, int n)
{
	responder rs;
	rdms_client_options o = { .socket_path = sock };
	rdms_error err = { 0 };
	cim_instance_list l = { 0 };
	rdms_client *c;

	if (!responder_start(&rs, s, sock)) {
		CHECK(!"responder");
		return;
	}
	c = rdms_client_new(&o, &err);
	CHECK_EQ(rdms_client_enumerate(c, rdms_schema_find("Win32_VirtualDesktopSession"), &l, &err), 0);
	CHECK_EQ(l.count, (size_t)n);
	CHECK(rs.served >= 2);   /* Enumerate and at least one Pull */
	cim_instance_list_free(&l);
	rdms_client_free(c);
	responder_stop(&rs, sock);
}

/*
 * Keyset pages on a host (rdms:Keyset, `rdms list --first N --after
 * HOST,ID`): the fixture lists its N sessions out of order; pages of 7
 * through the client come in SessionId order, each once, the last says no
 * more; a WQL page is filtered first; and the header's mistakes are faults.
 */
static void test_client_pages(wsman_service *s, const char *sock, int n)
{
	const cim_class *cls = rdms_schema_find("Win32_VirtualDesktopSession");
	rdms_client_options o = { .socket_path = sock };
	rdms_error err = { 0 };
	rdms_key after = { HOST, 0 };
	responder rs;
	rdms_client *c;
	int seen = 0, disconnected = 0, prev = -1, pages = 0;
	bool more = true, ordered = true;

	if (!responder_start(&rs, s, sock)) {
		CHECK(!"responder");
		return;
	}
	c = rdms_client_new(&o, &err);
	for (; more && pages < 1000; pages++) {
		cim_instance_list l = { 0 };

		CHECK_EQ(rdms_client_page(c, cls, NULL, pages ? &after : NULL, 7, &l, &more, &err), 0);
		CHECK(l.count == 7 || (!more && l.count <= 7));
		for (size_t i = 0; i < l.count; i++) {
			int id = (int)cim_instance_get(l.items[i], "SessionId")->u.u32;

			ordered = ordered && id > prev;
			prev = id;
			seen++;
		}
		if (l.count > 0)
			rdms_session_key(l.items[l.count - 1], &after);
		cim_instance_list_free(&l);
	}
	CHECK(ordered);
	CHECK_EQ(seen, n);
	CHECK_EQ(pages, (n + 6) / 7);
	/* a query's page: its matches only, after the key */
	after.num = 50;
	prev = 50;
	more = true;
	for (pages = 0; more && pages < 1000; pages++) {
		cim_instance_list l = { 0 };

		CHECK_EQ(rdms_client_page(c, cls, "SELECT * FROM Win32_VirtualDesktopSession "
		                          "WHERE ConnectState = 4", &after, 5, &l, &more, &err), 0);
		for (size_t i = 0; i < l.count; i++) {
			int id = (int)cim_instance_get(l.items[i], "SessionId")->u.u32;

			CHECK(id > prev);
			CHECK_EQ(cim_instance_get(l.items[i], "ConnectState")->u.u32, 4);
			prev = id;
			disconnected++;
		}
		if (l.count > 0)
			rdms_session_key(l.items[l.count - 1], &after);
		cim_instance_list_free(&l);
	}
	CHECK(disconnected > 0);
	rdms_client_free(c);
	responder_stop(&rs, sock);

	/* the header's mistakes */
	fault_built(s, "Keyset without SessionId", build(ACTION_ENUMERATE, URI_WMI,
	            "<rdms:Keyset xmlns:rdms=\"" NS_RDMS "\" VMHostName=\"h\"/>",
	            "<wsen:Enumerate><wsman:OptimizeEnumeration/></wsen:Enumerate>"),
	            500, "wsman:SchemaValidationError", WBEM_E_INVALID_PARAMETER);
	fault_built(s, "Keyset SessionId not a number", build(ACTION_ENUMERATE, URI_WMI,
	            "<rdms:Keyset xmlns:rdms=\"" NS_RDMS "\" VMHostName=\"h\" SessionId=\"-1\"/>",
	            "<wsen:Enumerate><wsman:OptimizeEnumeration/></wsen:Enumerate>"),
	            500, "wsman:SchemaValidationError", WBEM_E_INVALID_PARAMETER);
	fault_built(s, "Keyset of another class", build(ACTION_ENUMERATE,
	            URI_WMI_PREFIX "root/cimv2/rdms/RDMS_Backend",
	            "<rdms:Keyset xmlns:rdms=\"" NS_RDMS "\"/>",
	            "<wsen:Enumerate><wsman:OptimizeEnumeration/></wsen:Enumerate>"),
	            500, "wsman:InvalidParameter", WBEM_E_INVALID_PARAMETER);
}

/*
 * The request arena: strings in its first (1 KiB) block, across blocks,
 * and one longer than any block, each intact and NUL-terminated.
 */
static void test_arena(void)
{
	wsman_arena a = { 0 };
	char big[5000], *s[200], *b;

	memset(big, 'x', sizeof big);
	for (int i = 0; i < 200; i++) {
		char want[16];

		snprintf(want, sizeof want, "s%03d-%s", i, "abcdefgh");
		s[i] = wsman_arena_strndup(&a, want, strlen(want));
		CHECK(s[i] != NULL);
	}
	b = wsman_arena_strndup(&a, big, sizeof big);
	CHECK(b != NULL);
	CHECK_EQ(strlen(b), sizeof big);
	CHECK(memcmp(b, big, sizeof big) == 0);
	CHECK_STR(wsman_arena_strndup(&a, "", 0), "");
	CHECK_STR(wsman_arena_strndup(&a, "abc", 2), "ab");
	for (int i = 0; i < 200; i++) {
		char want[16];

		snprintf(want, sizeof want, "s%03d-%s", i, "abcdefgh");
		CHECK_STR(s[i], want);
	}
	wsman_arena_free(&a);
	CHECK(a.head == NULL);
}

/* ---- subscriptions (WS-Eventing, wsman_events.c) ---------------------------- */

#define URI_ALLC "http://schemas.dmtf.org/wbem/wscim/1/*"
#define EV_URI(c) "http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/rdms/" c
#define URI_DMTF_EV(c) "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/" c
#define CIMNS "<wsman:SelectorSet><wsman:Selector Name=\"__cimnamespace\">root/cimv2/rdms" \
	"</wsman:Selector></wsman:SelectorSet>"
#define Q_MOD "SELECT * FROM __InstanceModificationEvent WITHIN 5 WHERE TargetInstance ISA " \
	"'Win32_VirtualDesktopSession'"
#define EV_T0 1700000000000000LL

static rdms_feed *ev_feed;

static rdms_feed_pos ev_head(void *ctx)
{
	(void)ctx;
	return rdms_feed_head(ev_feed);
}

/* A Subscribe body (MI-shaped, spec/events.md 2.3) with MODE, the FILTER element and EXTRA. */
static char *subscribe(const char *uri, const char *headers, const char *mode,
                       const char *delivery, const char *filter, const char *extra)
{
	strbuf b = { 0 };
	char *req;

	strbuf_printf(&b, "<e:Subscribe xmlns:e=\"" NS_WSE "\"><e:Delivery%s%s%s>%s</e:Delivery>"
	              "%s%s</e:Subscribe>", mode != NULL ? " Mode=\"" : "",
	              mode != NULL ? mode : "", mode != NULL ? "\"" : "", delivery, filter, extra);
	req = build(ACTION_SUBSCRIBE, uri, headers, b.data);
	strbuf_free(&b);
	return req;
}

static char *wql_filter(const char *q)
{
	static char buf[1024];

	snprintf(buf, sizeof buf, "<w:Filter xmlns:w=\"" NS_WSMAN "\" Dialect=\"" DIALECT_WQL
	         "\">%s</w:Filter>", q);
	return buf;
}

/* Subscribes WHO with the usual MI request plus EXTRA; the context ("" on failure). */
static const char *subscribe_ok(wsman_service *s, const rdms_caller *who, const char *heartbeat,
                                const char *query, const char *extra, char *ctx, size_t size)
{
	char delivery[200];
	wsman_reply r;
	xmlDoc *d;

	snprintf(delivery, sizeof delivery, "<w:Heartbeats xmlns:w=\"" NS_WSMAN "\">%s</w:Heartbeats>",
	         heartbeat);
	r = callf(s, who, subscribe(URI_WILD, "", MODE_PULL, delivery, wql_filter(query), extra));
	d = xdoc(&r);
	CHECK_EQ(r.http_status, 200);
	snprintf(ctx, size, "%s", xs(d, "//wse:SubscribeResponse/wsen:EnumerationContext"));
	CHECK(ctx[0] != '\0');
	CHECK_STR(xs(d, "//wse:SubscriptionManager/wsa:ReferenceProperties/wse:Identifier"), ctx);
	xmlFreeDoc(d);
	free(r.body);
	return ctx;
}

static char *sub_pull(const char *ctx, const char *timeout, int max)
{
	char headers[200], body[600];

	snprintf(headers, sizeof headers, "<wsman:OperationTimeout>%s</wsman:OperationTimeout>",
	         timeout);
	snprintf(body, sizeof body, "<wsen:Pull><wsen:EnumerationContext>%s</wsen:EnumerationContext>"
	         "<wsen:MaxElements>%d</wsen:MaxElements></wsen:Pull>", ctx, max);
	return build(ACTION_PULL, URI_WILD, headers, body);
}

static char *unsubscribe_req(const char *id)
{
	char headers[300];

	snprintf(headers, sizeof headers, "<e:Identifier xmlns:e=\"" NS_WSE "\">%s</e:Identifier>",
	         id);
	return build(ACTION_UNSUBSCRIBE, URI_WILD, headers,
	             "<e:Unsubscribe xmlns:e=\"" NS_WSE "\"/>");
}

/* A held request of the unit test: what was answered, and when. */
struct held_req {
	pthread_mutex_t lock;
	pthread_cond_t  cond;
	bool            held, done, gone;
	wsman_reply     reply;
};

static void *test_hold(void *ctx)
{
	struct held_req *h = ctx;

	h->held = true;
	return h;
}

static bool test_complete(void *held, wsman_reply *reply)
{
	struct held_req *h = held;

	pthread_mutex_lock(&h->lock);
	h->reply = *reply;
	h->done = true;
	pthread_cond_broadcast(&h->cond);
	pthread_mutex_unlock(&h->lock);
	return !h->gone;
}

/* Waits up to MS for H's answer; true when it came. */
static bool held_wait(struct held_req *h, int ms)
{
	struct timespec until;
	bool done;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += ms / 1000;
	until.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&h->lock);
	while (!h->done && pthread_cond_timedwait(&h->cond, &h->lock, &until) == 0)
		;
	done = h->done;
	pthread_mutex_unlock(&h->lock);
	return done;
}

/* A Pull through a holder: held (true) or answered at once into *R. */
static bool pull_held(wsman_service *s, const rdms_caller *who, char *req, struct held_req *h,
                      wsman_reply *r)
{
	wsman_holder holder = { .hold = test_hold, .complete = test_complete, .ctx = h };
	bool held = false;

	*h = (struct held_req){ .held = false };
	pthread_mutex_init(&h->lock, NULL);
	pthread_cond_init(&h->cond, NULL);
	wsman_handle_held(s, who, req, strlen(req), &holder, r, &held);
	free(req);
	if (held)
		memset(r, 0, sizeof *r);
	return held;
}

static void held_free(struct held_req *h)
{
	free(h->reply.body);
	pthread_mutex_destroy(&h->lock);
	pthread_cond_destroy(&h->cond);
}

static rdms_session ev_s(uint32_t id, uint32_t state, uid_t uid, const char *user,
                         const char *client)
{
	rdms_session s;

	memset(&s, 0, sizeof s);
	s.id = id;
	s.connect_state = state;
	s.uid = uid;
	s.display = 10;
	s.logon_time = 1700000000;
	s.server_pid = (pid_t)(5000 + id);
	s.backend = &rdms_backend_fixture;
	snprintf(s.user, sizeof s.user, "%s", user);
	snprintf(s.client, sizeof s.client, "%s", client);
	return s;
}

/* The last audit event (an rdms_audit_fn). */
static char last_audit_method[64], last_audit_detail[512];
static uint32_t last_audit_result;

static int note_audit(void *ctx, const rdms_audit_event *ev)
{
	(void)ctx;
	snprintf(last_audit_method, sizeof last_audit_method, "%s", ev->method);
	snprintf(last_audit_detail, sizeof last_audit_detail, "%s", ev->detail);
	last_audit_result = ev->result;
	return 0;
}

static void test_subscriptions(rdms_config *cfg, rdms_provider *p)
{
	rdms_session now[2] = { ev_s(7, 0, 0, "root", "PC-7"), ev_s(8, 0, 4242, "carol", "PC-8") };
	char ctx[64], ctx2[64], ctx3[64], bm[80];
	wsman_event_source src;
	struct held_req h;
	wsman_service *s;
	wsman_reply r;
	xmlDoc *d;

	cfg->max_subscriptions_per_user = 3;
	ev_feed = rdms_feed_new(3, NULL);
	src = (wsman_event_source){ .feed = ev_feed, .head = ev_head };
	s = wsman_service_new(p, cfg);
	CHECK(s != NULL && wsman_service_events(s, &src));
	CHECK_EQ(rdms_feed_observe(ev_feed, "fixture", now, 2, EV_T0), 2);

	/* faults: each precise, nothing left behind */
	fault_built(s, "Push", subscribe(URI_WILD, "", "http://schemas.xmlsoap.org/ws/2004/08/"
	            "eventing/DeliveryModes/Push", "", wql_filter(Q_MOD), ""), 500,
	            "wse:DeliveryModeRequestedUnavailable", WBEM_E_NOT_SUPPORTED);
	fault_built(s, "no Mode (Push)", subscribe(URI_WILD, "", NULL, "", wql_filter(Q_MOD), ""),
	            500, "wse:DeliveryModeRequestedUnavailable", WBEM_E_NOT_SUPPORTED);
	fault_built(s, "XPath filter", subscribe(URI_WILD, "", MODE_PULL, "",
	            "<e:Filter xmlns:e=\"" NS_WSE "\">/a</e:Filter>", ""), 500,
	            "wse:FilteringRequestedUnavailable", WBEM_E_INVALID_QUERY_TYPE);
	fault_built(s, "data query", subscribe(URI_WILD, "", MODE_PULL, "",
	            wql_filter("SELECT * FROM Win32_VirtualDesktopSession"), ""), 500,
	            "wse:EventSourceUnableToProcess", WBEM_E_NOT_EVENT_CLASS);
	fault_built(s, "no ISA", subscribe(URI_WILD, "", MODE_PULL, "",
	            wql_filter("SELECT * FROM __InstanceModificationEvent"), ""), 500,
	            "wse:EventSourceUnableToProcess", WBEM_E_UNPARSABLE_QUERY);
	fault_built(s, "no filter", subscribe(URI_WILD, "", MODE_PULL, "", "", ""), 500,
	            "wse:EventSourceUnableToProcess", WBEM_E_INVALID_QUERY);
	fault_built(s, "ConnectionRetry", subscribe(URI_WILD, "", MODE_PULL,
	            "<w:ConnectionRetry xmlns:w=\"" NS_WSMAN "\" Total=\"3\">PT10S</w:ConnectionRetry>",
	            wql_filter(Q_MOD), ""), 500, "wsman:UnsupportedFeature", WBEM_E_NOT_SUPPORTED);
	fault_built(s, "bad Heartbeats", subscribe(URI_WILD, "", MODE_PULL,
	            "<w:Heartbeats xmlns:w=\"" NS_WSMAN "\">PT0.1S</w:Heartbeats>", wql_filter(Q_MOD),
	            ""), 500, "wsman:UnsupportedFeature", WBEM_E_NOT_SUPPORTED);
	fault_built(s, "Expires as a date", subscribe(URI_WILD, "", MODE_PULL, "", wql_filter(Q_MOD),
	            "<e:Expires xmlns:e=\"" NS_WSE "\">2030-01-01T00:00:00Z</e:Expires>"), 500,
	            "wse:UnsupportedExpirationType", WBEM_E_NOT_SUPPORTED);
	fault_built(s, "Expires zero", subscribe(URI_WILD, "", MODE_PULL, "", wql_filter(Q_MOD),
	            "<e:Expires xmlns:e=\"" NS_WSE "\">PT0S</e:Expires>"), 500,
	            "wse:InvalidExpirationTime", WBEM_E_INVALID_PARAMETER);
	fault_built(s, "garbage bookmark", subscribe(URI_WILD, "", MODE_PULL, "", wql_filter(Q_MOD),
	            "<w:Bookmark xmlns:w=\"" NS_WSMAN "\">xyz</w:Bookmark>"), 500,
	            "wsman:InvalidBookmark", WBEM_E_INVALID_PARAMETER);
	fault_built(s, "bookmark of a past epoch", subscribe(URI_WILD, "", MODE_PULL, "",
	            wql_filter(Q_MOD), "<w:Bookmark xmlns:w=\"" NS_WSMAN "\">rdms:2:5</w:Bookmark>"),
	            500, "wsman:InvalidBookmark", WBEM_E_INVALID_PARAMETER);
	/* the ResourceURI and the filter: each URI takes what it names, nothing else */
	fault_built(s, "a data class URI", subscribe("http://schemas.microsoft.com/wbem/wsman/1/wmi/"
	            "root/cimv2/rdms/RDMS_SessionDetail", "", MODE_PULL, "", wql_filter(Q_MOD), ""),
	            500, "wsa:DestinationUnreachable", WBEM_E_INVALID_CLASS);
	fault_built(s, "the class-definition URI", subscribe(URI_CLASS, CIMNS, MODE_PULL, "",
	            wql_filter(Q_MOD), ""), 500, "wsa:DestinationUnreachable", WBEM_E_INVALID_CLASS);
	fault_built(s, "creation URI, modification filter", subscribe(EV_URI("__InstanceCreationEvent"),
	            "", MODE_PULL, "", wql_filter(Q_MOD), ""), 500, "wse:EventSourceUnableToProcess",
	            WBEM_E_INVALID_QUERY);
	fault_built(s, "modification URI, operation filter (its superclass)",
	            subscribe(EV_URI("__InstanceModificationEvent"), "", MODE_PULL, "",
	            wql_filter("SELECT * FROM __InstanceOperationEvent WHERE TargetInstance ISA "
	            "'Win32_VirtualDesktopSession'"), ""), 500, "wse:EventSourceUnableToProcess",
	            WBEM_E_INVALID_QUERY);
	fault_built(s, "a DMTF event class URI, a WMI event filter",
	            subscribe(URI_DMTF_EV("CIM_InstModification"), CIMNS, MODE_PULL, "",
	            wql_filter(Q_MOD), ""), 500, "wse:EventSourceUnableToProcess",
	            WBEM_E_INVALID_QUERY);
	{
		static const char *const takes[][3] = {
			{ URI_WMI, "", Q_MOD },
			{ URI_DMTF, CIMNS, Q_MOD },
			{ EV_URI("__InstanceOperationEvent"), "", Q_MOD },
			{ EV_URI("__instancemodificationevent"), "", Q_MOD },
			{ URI_DMTF_EV("CIM_InstIndication"), CIMNS, "SELECT * FROM CIM_InstDeletion "
			  "WHERE SourceInstance ISA 'Win32_VirtualDesktopSession'" },
		};

		for (size_t i = 0; i < sizeof takes / sizeof takes[0]; i++) {
			char id[64];

			r = callf(s, &admin, subscribe(takes[i][0], takes[i][1], MODE_PULL, "",
			                               wql_filter(takes[i][2]), ""));
			CHECK_EQ(r.http_status, 200);
			d = xdoc(&r);
			snprintf(id, sizeof id, "%s", xs(d, "//wse:Identifier"));
			CHECK_STR(xs(d, "//wse:SubscriptionManager/wsa:ReferenceProperties/"
			             "wsman:ResourceURI"), takes[i][0]);
			xmlFreeDoc(d);
			free(r.body);
			r = callf(s, &admin, unsubscribe_req(id));
			CHECK_EQ(r.http_status, 200);
			free(r.body);
		}
	}
	fault_built(s, "all classes without __cimnamespace", subscribe(URI_ALLC, "", MODE_PULL, "",
	            wql_filter(Q_MOD), ""), 500, "wsman:InvalidSelectors", WBEM_E_INVALID_NAMESPACE);
	fault_built(s, "Renew", build(ACTION_RENEW, URI_WILD, "<e:Identifier xmlns:e=\"" NS_WSE
	            "\">uuid:x</e:Identifier>", "<e:Renew xmlns:e=\"" NS_WSE "\"/>"), 500,
	            "wse:UnableToRenew", WBEM_E_NOT_SUPPORTED);
	fault_built(s, "Unsubscribe of nothing", unsubscribe_req("uuid:nothing"), 500,
	            "wsa:DestinationUnreachable", WBEM_E_NOT_FOUND);
	fault_built(s, "Pull on an unknown context", sub_pull("uuid:nothing", "PT5S", 1), 500,
	            "wsen:InvalidEnumerationContext", WBEM_E_INVALID_CONTEXT);
	CHECK_EQ(rdms_feed_head(ev_feed).seq, 2);

	/* the all-classes and event-class URIs are served too */
	char first[2][64];

	for (int i = 0; i < 2; i++) {
		r = callf(s, &admin, i == 0 ? subscribe(URI_ALLC, CIMNS, MODE_PULL, "", wql_filter(Q_MOD), "")
		          : subscribe("http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/rdms/"
		                      "__InstanceModificationEvent", "", MODE_PULL, "", wql_filter(Q_MOD), ""));
		CHECK_EQ(r.http_status, 200);
		d = xdoc(&r);
		snprintf(first[i], sizeof first[i], "%s", xs(d, "//wse:Identifier"));
		xmlFreeDoc(d);
		free(r.body);
	}
	/* the quota: 3 per user here (admin holds 2) */
	subscribe_ok(s, &admin, "PT60S", Q_MOD, "<w:SendBookmarks xmlns:w=\"" NS_WSMAN "\"/>", ctx,
	             sizeof ctx);
	/* a refused start is audited like a start */
	p->audit = note_audit;
	last_audit_method[0] = '\0';
	fault_built(s, "over the quota", subscribe(URI_WILD, "", MODE_PULL, "", wql_filter(Q_MOD),
	            ""), 500, "wsman:QuotaLimit", WBEM_E_QUOTA_VIOLATION);
	CHECK_STR(last_audit_method, "Subscribe");
	CHECK_EQ(last_audit_result, WBEM_E_QUOTA_VIOLATION);
	CHECK(strstr(last_audit_detail, "too many subscriptions (3 per user)") != NULL);
	p->audit = NULL;
	subscribe_ok(s, &carol, "PT60S", Q_MOD, "", ctx2, sizeof ctx2);
	for (int i = 0; i < 2; i++) {
		r = callf(s, &admin, unsubscribe_req(first[i]));
		CHECK_EQ(r.http_status, 200);
		free(r.body);
	}

	/* a change: the admin's Pull gets it at once, Previous 0 and Target 4, with a bookmark */
	now[0].connect_state = 4;
	now[0].client[0] = '\0';
	now[1].connect_state = 4;
	CHECK_EQ(rdms_feed_observe(ev_feed, "fixture", now, 2, EV_T0 + 1000), 2);
	r = callf(s, &admin, sub_pull(ctx, "PT60S", 5));
	d = xdoc(&r);
	CHECK_EQ(r.http_status, 200);
	CHECK_EQ(atoi(xs(d, "count(//wsen:Items/ev:__InstanceModificationEvent)")), 2);
	CHECK_STR(xs(d, "//ev:__InstanceModificationEvent[1]/ev:PreviousInstance/q:ConnectState"), "0");
	CHECK_STR(xs(d, "//ev:__InstanceModificationEvent[1]/ev:TargetInstance/q:ConnectState"), "4");
	CHECK_STR(xs(d, "//ev:__InstanceModificationEvent[1]/ev:TargetInstance/q:SessionId"), "7");
	CHECK_STR(xs(d, "//ev:__InstanceModificationEvent[1]/ev:PreviousInstance/q:ClientMachineName"),
	          "PC-7");
	CHECK_STR(xs(d, "//ev:__InstanceModificationEvent[1]/ev:TargetInstance/@xsi:type"),
	          "q:Win32_VirtualDesktopSession_Type");
	CHECK_STR(xs(d, "//ev:__InstanceModificationEvent[1]/ev:SECURITY_DESCRIPTOR/@xsi:nil"), "true");
	CHECK_STR(xs(d, "//ev:__InstanceModificationEvent[1]/ev:TIME_CREATED"),
	          "133444736000010000");   /* EV_T0 + 1 ms as FILETIME */
	CHECK_STR(xs(d, "/s:Envelope/s:Header/wsman:Bookmark"), "rdms:3:4");
	CHECK_STR(xs(d, "//wsen:PullResponse/wsen:EnumerationContext"), ctx);
	CHECK_EQ(atoi(xs(d, "count(//wsen:EndOfSequence)")), 0);
	xmlFreeDoc(d);
	free(r.body);
	/* carol (not an admin) sees only her own session's */
	r = callf(s, &carol, sub_pull(ctx2, "PT60S", 5));
	d = xdoc(&r);
	CHECK_EQ(atoi(xs(d, "count(//wsen:Items/ev:__InstanceModificationEvent)")), 1);
	CHECK_STR(xs(d, "//ev:TargetInstance/q:UserName"), "carol");
	xmlFreeDoc(d);
	free(r.body);
	/* a subscription is its owner's: carol cannot pull or end the admin's */
	{
		char *q = sub_pull(ctx, "PT5S", 1);

		fault_case(s, &carol, "foreign Pull", q, strlen(q), 500,
		           "wsen:InvalidEnumerationContext", WBEM_E_INVALID_CONTEXT);
		free(q);
		q = unsubscribe_req(ctx);

		fault_case(s, &carol, "foreign Unsubscribe", q, strlen(q), 500,
		           "wsa:DestinationUnreachable", WBEM_E_NOT_FOUND);
		free(q);
	}

	/* nothing new: the Pull is held, then answered when an event comes */
	CHECK(pull_held(s, &admin, sub_pull(ctx, "PT60S", 5), &h, &r));
	CHECK(!held_wait(&h, 200));
	now[0].connect_state = 0;
	snprintf(now[0].client, sizeof now[0].client, "PC-NEW");
	CHECK_EQ(rdms_feed_observe(ev_feed, "fixture", now, 2, EV_T0 + 2000), 1);
	CHECK(held_wait(&h, 2000));
	d = xdoc(&h.reply);
	CHECK_STR(xs(d, "//ev:TargetInstance/q:ClientMachineName"), "PC-NEW");
	CHECK_STR(xs(d, "//ev:PreviousInstance/q:ConnectState"), "4");
	snprintf(bm, sizeof bm, "%s", xs(d, "/s:Envelope/s:Header/wsman:Bookmark"));
	CHECK_STR(bm, "rdms:3:5");
	xmlFreeDoc(d);
	held_free(&h);
	/* one Pull at a time */
	CHECK(pull_held(s, &admin, sub_pull(ctx, "PT60S", 5), &h, &r));
	{
		struct held_req h2;

		CHECK(!pull_held(s, &admin, sub_pull(ctx, "PT60S", 5), &h2, &r));
		d = xdoc(&r);
		CHECK_STR(xs(d, FAULT "/s:Code/s:Subcode/s:Value"), "wsman:ConcurrencyExceeded");
		xmlFreeDoc(d);
		free(r.body);
		held_free(&h2);
	}
	/* Unsubscribe ends it and answers the held Pull with the end */
	r = callf(s, &admin, unsubscribe_req(ctx));
	CHECK_EQ(r.http_status, 200);
	d = xdoc(&r);
	CHECK_STR(xs(d, "/s:Envelope/s:Header/wsa:Action"), ACTION_UNSUBSCRIBE "Response");
	xmlFreeDoc(d);
	free(r.body);
	CHECK(held_wait(&h, 2000));
	d = xdoc(&h.reply);
	CHECK_STR(xs(d, FAULT "/s:Code/s:Subcode/s:Value"), "wsen:InvalidEnumerationContext");
	xmlFreeDoc(d);
	held_free(&h);
	fault_built(s, "Pull after Unsubscribe", sub_pull(ctx, "PT5S", 1), 500,
	            "wsen:InvalidEnumerationContext", WBEM_E_INVALID_CONTEXT);

	/* a bookmark resumes: after rdms:3:4 comes the reconnect (seq 5) */
	{
		char extra[200];

		snprintf(extra, sizeof extra, "<w:Bookmark xmlns:w=\"" NS_WSMAN "\">rdms:3:4</w:Bookmark>");
		subscribe_ok(s, &admin, "PT60S", Q_MOD, extra, ctx3, sizeof ctx3);
		r = callf(s, &admin, sub_pull(ctx3, "PT60S", 5));
		d = xdoc(&r);
		CHECK_EQ(atoi(xs(d, "count(//wsen:Items/ev:__InstanceModificationEvent)")), 1);
		CHECK_STR(xs(d, "//ev:TargetInstance/q:ClientMachineName"), "PC-NEW");
		xmlFreeDoc(d);
		free(r.body);
		r = callf(s, &admin, unsubscribe_req(ctx3));
		free(r.body);
	}
	/* earliest: every creation from the start, in the DMTF form for a CIM_Inst query */
	subscribe_ok(s, &admin, "PT60S", "SELECT * FROM CIM_InstModification WHERE SourceInstance "
	             "ISA 'Win32_VirtualDesktopSession' AND SourceInstance.SessionId = 7",
	             "<w:Bookmark xmlns:w=\"" NS_WSMAN "\">" BOOKMARK_EARLIEST "</w:Bookmark>", ctx3,
	             sizeof ctx3);
	r = callf(s, &admin, sub_pull(ctx3, "PT60S", 10));
	d = xdoc(&r);
	CHECK_EQ(atoi(xs(d, "count(//wsen:Items/*)")), 2);
	CHECK_STR(xs(d, "//wsen:Items/*[1]/@xsi:type"), "p:CIM_InstModification_Type");
	CHECK(xs(d, "//wsen:Items/*[1]/*[local-name()='IndicationTime']")[0] == '2');
	CHECK_STR(xs(d, "//wsen:Items/*[1]/*[local-name()='SourceInstance']/*[local-name()="
	          "'ConnectState']"), "4");
	xmlFreeDoc(d);
	free(r.body);
	r = callf(s, &admin, unsubscribe_req(ctx3));
	free(r.body);

	/* the heartbeat: an empty PullResponse (never a Heartbeat message) */
	subscribe_ok(s, &admin, "PT1S", Q_MOD, "", ctx3, sizeof ctx3);
	CHECK(pull_held(s, &admin, sub_pull(ctx3, "PT60S", 5), &h, &r));
	CHECK(held_wait(&h, 3000));
	d = xdoc(&h.reply);
	CHECK_STR(xs(d, "/s:Envelope/s:Header/wsa:Action"), ACTION_PULL "Response");
	CHECK_EQ(atoi(xs(d, "count(//wsen:Items/*)")), 0);
	CHECK_EQ(atoi(xs(d, "count(//wsen:Items)")), 1);
	xmlFreeDoc(d);
	held_free(&h);
	/* before the OperationTimeout */
	{
		struct timespec t0, t1;

		clock_gettime(CLOCK_MONOTONIC, &t0);
		subscribe_ok(s, &admin, "PT60S", Q_MOD, "", ctx, sizeof ctx);
		CHECK(pull_held(s, &admin, sub_pull(ctx, "PT2S", 5), &h, &r));
		CHECK(held_wait(&h, 4000));
		clock_gettime(CLOCK_MONOTONIC, &t1);
		CHECK(t1.tv_sec - t0.tv_sec < 3);
		d = xdoc(&h.reply);
		CHECK_STR(xs(d, "/s:Envelope/s:Header/wsa:Action"), ACTION_PULL "Response");
		xmlFreeDoc(d);
		held_free(&h);
	}
	/* reaping: no Pull for two heartbeats (2 s) ends the PT1S one */
	{
		struct timespec pause = { 3, 0 };

		nanosleep(&pause, NULL);
		fault_built(s, "Pull on a reaped subscription", sub_pull(ctx3, "PT5S", 1), 500,
		            "wsen:InvalidEnumerationContext", WBEM_E_INVALID_CONTEXT);
	}
	wsman_service_free(s);
	rdms_feed_free(ev_feed);
}

/*
 * At a fleet broker (src/fleet/events.h): subscriptions read the broker's
 * feed, whose events carry each session's own host and properties, and a
 * caller who is not an admin gets the events of sessions whose UserName
 * is theirs, on any host.
 */
/* The reply to a Pull of WHO on subscription CTX, read. */
static xmlDoc *pulled(wsman_service *s, const rdms_caller *who, const char *ctx)
{
	wsman_reply r = callf(s, who, sub_pull(ctx, "PT60S", 5));
	xmlDoc *d = xdoc(&r);

	CHECK_EQ(r.http_status, 200);
	free(r.body);
	return d;
}

static void test_broker_subscriptions(rdms_config *cfg, rdms_provider *p)
{
	char dir[] = "/tmp/rdms-wsman-broker-XXXXXX", path[96], cmd[128], ctx[64], ctx2[64];
	fleet_session a[] = {
		{ .host = "hvA", .id = 1, .vm_name = "vm-A", .user_name = "carol",
		  .domain_name = "FLEET", .collection_id = "pool", .client_machine_name = "PC-1" },
		{ .host = "hvA", .id = 2, .vm_name = "vm-A", .user_name = "bob",
		  .domain_name = "FLEET", .collection_id = "pool", .client_machine_name = "PC-2" },
	};
	fleet_session b = { .host = "hvB", .id = 1, .vm_name = "vm-B", .user_name = "bob",
	                    .domain_name = "FLEET", .collection_id = "pool",
	                    .client_machine_name = "PC-B" };
	fleet_host h = { .url = "https://198.18.1.1:5986/wsman" };
	rdms_error err = { 0 };
	fleet_store *st;
	fleet_events *fe;
	fleet_change ch[2];
	wsman_event_source src;
	wsman_service *s;
	xmlDoc *d;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof path, "%s/fleet.db", dir);
	st = fleet_store_open_sqlite(path, &err);
	snprintf(path, sizeof path, "%s/fleet-events.db", dir);
	fe = fleet_events_open(path, &err);
	CHECK(st != NULL && fe != NULL);
	if (st == NULL || fe == NULL)
		return;
	for (int i = 0; i < 2; i++) {
		snprintf(h.name, sizeof h.name, "hv%c", 'A' + i);
		CHECK_EQ(fleet_store_host_add(st, &h, &err), 0);
	}
	CHECK_EQ(fleet_events_apply_snapshot(fe, st, "hvA", fleet_version(1, 5), a, 2, &err),
	         FLEET_APPLIED);
	CHECK_EQ(fleet_events_apply_snapshot(fe, st, "hvB", fleet_version(3, 9), &b, 1, &err),
	         FLEET_APPLIED);
	src = fleet_events_source(fe);
	s = wsman_service_new(p, cfg);
	CHECK(s != NULL && wsman_service_events(s, &src));
	subscribe_ok(s, &admin, "PT60S", Q_MOD, "", ctx, sizeof ctx);
	subscribe_ok(s, &carol, "PT60S", Q_MOD, "", ctx2, sizeof ctx2);

	/* carol's session on hvA and bob's on hvB disconnect */
	a[0].connect_state = 4;
	a[0].client_machine_name = "";
	b.connect_state = 4;
	ch[0] = (fleet_change){ .version = fleet_version(1, 6), .kind = FLEET_UPSERT, .s = a[0] };
	CHECK_EQ(fleet_events_apply_batch(fe, st, "hvA", ch, 1, NULL, &err), FLEET_APPLIED);
	ch[1] = (fleet_change){ .version = fleet_version(3, 10), .kind = FLEET_UPSERT, .s = b };
	CHECK_EQ(fleet_events_apply_batch(fe, st, "hvB", ch + 1, 1, NULL, &err), FLEET_APPLIED);

	/* the admin: both, each with its host's VMHostName and VMName (not this config's) */
	d = pulled(s, &admin, ctx);
	CHECK_EQ(atoi(xs(d, "count(//wsen:Items/ev:__InstanceModificationEvent)")), 2);
	CHECK_STR(xs(d, "//ev:__InstanceModificationEvent[1]/ev:TargetInstance/q:VMHostName"), "hvA");
	CHECK_STR(xs(d, "//ev:__InstanceModificationEvent[1]/ev:TargetInstance/q:VMName"), "vm-A");
	CHECK_STR(xs(d, "//ev:__InstanceModificationEvent[1]/ev:PreviousInstance/q:ClientMachineName"),
	          "PC-1");
	CHECK_STR(xs(d, "//ev:__InstanceModificationEvent[2]/ev:TargetInstance/q:VMHostName"), "hvB");
	CHECK_STR(xs(d, "//ev:__InstanceModificationEvent[2]/ev:TargetInstance/q:SessionId"), "1");
	CHECK_STR(xs(d, "//ev:__InstanceModificationEvent[2]/ev:TargetInstance/q:CollectionId"),
	          "pool");
	CHECK_STR(xs(d, "/s:Envelope/s:Header/wsman:Bookmark"), "");   /* none asked */
	xmlFreeDoc(d);
	/* carol, not an admin: hers only, by UserName */
	d = pulled(s, &carol, ctx2);
	CHECK_STR(xs(d, "concat(count(//wsen:Items/*), ' ', //ev:TargetInstance/q:UserName, ' ', "
	              "//ev:TargetInstance/q:VMHostName, ' ', //ev:TargetInstance/q:ConnectState)"),
	          "1 carol hvA 4");
	xmlFreeDoc(d);
	wsman_service_free(s);
	fleet_events_close(fe);
	fleet_store_close(st);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	CHECK_EQ(system(cmd), 0);
}

/* ---- rdms:Position: a snapshot a broker can pair with the events ------------- */

#define WANT_POSITION "<r:Position xmlns:r=\"" NS_RDMS "\" s:mustUnderstand=\"false\"/>"
#define OPT_ENUM(max) "<wsen:Enumerate><wsman:OptimizeEnumeration/><wsman:MaxElements>" max \
	"</wsman:MaxElements></wsen:Enumerate>"

static uint32_t pos_fail_code;

/* A wsman_event_source's state over ev_feed (as rdms_feed_state gives it), or a failure. */
static uint32_t ev_state(void *ctx, rdms_session_fn fn, void *fn_ctx, rdms_feed_pos *at,
                         rdms_error *err)
{
	rdms_event_session *es;
	uint32_t rc = WBEM_S_NO_ERROR;
	size_t n;

	(void)ctx;
	if (pos_fail_code != 0)
		return rdms_fail(err, pos_fail_code, "the feed's state cannot be read");
	if (!rdms_feed_state(ev_feed, &es, &n, at))
		return rdms_fail(err, WBEM_E_OUT_OF_MEMORY, "out of memory");
	for (size_t i = 0; i < n && rc == WBEM_S_NO_ERROR; i++) {
		rdms_session one;

		rdms_event_session_to(&es[i], &one);
		rc = fn(fn_ctx, &one, err);
	}
	rdms_event_sessions_free(es, n);
	return rc;
}

static void test_positioned(rdms_config *cfg, rdms_provider *p)
{
	rdms_session now[3] = { ev_s(7, 0, 0, "root", "PC-7"), ev_s(8, 4, 4242, "carol", ""),
	                        ev_s(9, 0, 0, "root", "PC-9") };
	wsman_event_source src;
	wsman_service *s, *plain;
	char ctx[64], sub[64];
	wsman_reply r;
	xmlDoc *d;

	ev_feed = rdms_feed_new(9, NULL);
	src = (wsman_event_source){ .feed = ev_feed, .head = ev_head, .state = ev_state };
	s = wsman_service_new(p, cfg);
	CHECK(s != NULL && wsman_service_events(s, &src));
	CHECK_EQ(rdms_feed_observe(ev_feed, "fixture", now, 2, EV_T0), 2);

	/* a SubscribeResponse says where its events start: now (9, 2), or after its bookmark */
	r = callf(s, &admin, subscribe(URI_WILD, "", MODE_PULL, "", wql_filter(Q_MOD), ""));
	d = xdoc(&r);
	CHECK_EQ(r.http_status, 200);
	CHECK_STR(xs(d, "/s:Envelope/s:Header/r:Position/@Epoch"), "9");
	CHECK_STR(xs(d, "/s:Envelope/s:Header/r:Position/@Seq"), "2");
	CHECK_STR(xs(d, "/s:Envelope/s:Header/r:Position/@s:mustUnderstand"), "false");
	snprintf(sub, sizeof sub, "%s", xs(d, "//wse:SubscribeResponse/wsen:EnumerationContext"));
	xmlFreeDoc(d);
	free(r.body);
	r = callf(s, &admin, subscribe(URI_WILD, "", MODE_PULL, "", wql_filter(Q_MOD),
	                               "<w:Bookmark xmlns:w=\"" NS_WSMAN "\">rdms:9:1</w:Bookmark>"));
	d = xdoc(&r);
	CHECK_STR(xs(d, "/s:Envelope/s:Header/r:Position/@Seq"), "1");
	xmlFreeDoc(d);
	free(r.body);

	/* 7 disconnects: (9, 3).  The positioned Enumerate is the feed's state at (9, 3) --
	 * sessions 7 and 8, not the provider's 2 and 3 -- and says so */
	now[0].connect_state = 4;
	now[0].client[0] = '\0';
	CHECK_EQ(rdms_feed_observe(ev_feed, "fixture", now, 2, EV_T0 + 1000), 1);
	d = ok_call(s, &admin, build(ACTION_ENUMERATE, URI_WMI, WANT_POSITION, OPT_ENUM("10")),
	            "positioned enumerate");
	CHECK_STR(xs(d, "/s:Envelope/s:Header/r:Position/@Epoch"), "9");
	CHECK_STR(xs(d, "/s:Envelope/s:Header/r:Position/@Seq"), "3");
	CHECK_EQ(xn(d, "//wsman:Items/pw:Win32_VirtualDesktopSession"), 2);
	CHECK_STR(xs(d, "//wsman:Items/pw:Win32_VirtualDesktopSession[1]/pw:SessionId"), "7");
	CHECK_STR(xs(d, "//wsman:Items/pw:Win32_VirtualDesktopSession[1]/pw:ConnectState"), "4");
	CHECK_STR(xs(d, "//wsman:Items/pw:Win32_VirtualDesktopSession[2]/pw:UserName"), "carol");
	CHECK_STR(xs(d, "//wsman:Items/pw:Win32_VirtualDesktopSession[2]/pw:VMHostName"), HOST);
	CHECK_EQ(xn(d, "//wsman:EndOfSequence"), 1);
	xmlFreeDoc(d);
	/* carol's: her own session only, at the same position */
	d = ok_call(s, &carol, build(ACTION_ENUMERATE, URI_WMI, WANT_POSITION, OPT_ENUM("10")),
	            "carol's positioned enumerate");
	CHECK_STR(xs(d, "/s:Envelope/s:Header/r:Position/@Seq"), "3");
	CHECK_EQ(xn(d, "//wsman:Items/pw:Win32_VirtualDesktopSession"), 1);
	CHECK_STR(xs(d, "//wsman:Items/pw:Win32_VirtualDesktopSession/pw:SessionId"), "8");
	xmlFreeDoc(d);
	/* paged: the Pulls give the snapshot of the Enumerate, whatever happens meanwhile */
	d = ok_call(s, &admin, build(ACTION_ENUMERATE, URI_WMI, WANT_POSITION, OPT_ENUM("1")),
	            "positioned enumerate, paged");
	CHECK_STR(xs(d, "/s:Envelope/s:Header/r:Position/@Seq"), "3");
	CHECK_EQ(xn(d, "//wsman:Items/pw:Win32_VirtualDesktopSession"), 1);
	snprintf(ctx, sizeof ctx, "%s", ctx_of(d, "EnumerateResponse"));
	xmlFreeDoc(d);
	CHECK_EQ(rdms_feed_observe(ev_feed, "fixture", now, 3, EV_T0 + 2000), 1);   /* 9 appears */
	d = ok_call(s, &admin, pull_req(ctx, "<wsen:MaxElements>10</wsen:MaxElements>"),
	            "pull of the positioned enumerate");
	CHECK_EQ(xn(d, "//wsen:Items/*"), 1);
	CHECK_STR(xs(d, "//wsen:Items/*[1]/*[local-name()='SessionId']"), "8");
	CHECK_EQ(xn(d, "//wsen:EndOfSequence"), 1);
	xmlFreeDoc(d);
	/* the subscription that started at (9, 2) pulls exactly what followed: 7's (9, 3), 9's (9, 4) */
	r = callf(s, &admin, sub_pull(sub, "PT5S", 10));
	d = xdoc(&r);
	CHECK_EQ(atoi(xs(d, "count(//wsen:Items/*)")), 1);     /* Q_MOD: modifications only */
	CHECK_STR(xs(d, "//ev:TargetInstance/q:SessionId"), "7");
	xmlFreeDoc(d);
	free(r.body);

	/* without the header, or with a filter: the provider's sessions, no position */
	d = ok_call(s, &admin, build(ACTION_ENUMERATE, URI_WMI, "", OPT_ENUM("10")), "plain");
	CHECK_EQ(xn(d, "/s:Envelope/s:Header/r:Position"), 0);
	CHECK_STR(xs(d, "//wsman:Items/pw:Win32_VirtualDesktopSession[1]/pw:SessionId"), "2");
	xmlFreeDoc(d);
	d = ok_call(s, &admin, build(ACTION_ENUMERATE, URI_WMI, WANT_POSITION,
	            "<wsen:Enumerate><wsman:OptimizeEnumeration/><wsman:MaxElements>10"
	            "</wsman:MaxElements><wsman:Filter Dialect=\"" DIALECT_WQL "\">SELECT * FROM "
	            "Win32_VirtualDesktopSession</wsman:Filter></wsen:Enumerate>"), "filtered");
	CHECK_EQ(xn(d, "/s:Envelope/s:Header/r:Position"), 0);
	CHECK_EQ(xn(d, "//wsman:Items/pw:Win32_VirtualDesktopSession"), 2);
	xmlFreeDoc(d);
	/* a state that cannot be read: its fault, not a snapshot without a position */
	pos_fail_code = WBEM_E_NOT_AVAILABLE;
	fault_built(s, "state unreadable", build(ACTION_ENUMERATE, URI_WMI, WANT_POSITION,
	            OPT_ENUM("10")), 500, "wsman:InternalError", WBEM_E_NOT_AVAILABLE);
	pos_fail_code = 0;
	/* a service without a state (no change feed): an ordinary enumeration, no position */
	plain = wsman_service_new(p, cfg);
	CHECK(plain != NULL);
	d = ok_call(plain, &admin, build(ACTION_ENUMERATE, URI_WMI, WANT_POSITION, OPT_ENUM("10")),
	            "no feed");
	CHECK_EQ(xn(d, "/s:Envelope/s:Header/r:Position"), 0);
	CHECK_EQ(xn(d, "//wsman:Items/pw:Win32_VirtualDesktopSession"), 2);
	xmlFreeDoc(d);
	wsman_service_free(plain);
	wsman_service_free(s);
	rdms_feed_free(ev_feed);
}

/*
 * Held Pulls of several subscriptions answered in one dispatcher pass, which
 * builds each event's instances once for all of them: each gets exactly what
 * its filter and its owner allow, with its own event's values -- also for
 * events 1,024 apart, which share a slot of the pass's store.
 */
#define TARGET "*[local-name()='TargetInstance']"   /* of a creation: not in ev's namespace */

static void test_pass_instances(rdms_config *cfg, rdms_provider *p)
{
	enum { N = 1100, SUBS = 4 };
	static rdms_session now[N];
	static const char *const where[SUBS] = { " AND TargetInstance.SessionId = 3",
	                                         " AND TargetInstance.SessionId = 1027", "", "" };
	const rdms_caller *who[SUBS] = { &admin, &admin, &admin, &carol };
	char ctx[SUBS][64], q[300];
	struct held_req h[SUBS];
	wsman_event_source src;
	wsman_service *s;
	wsman_reply r;
	xmlDoc *d;

	ev_feed = rdms_feed_new(4, NULL);
	src = (wsman_event_source){ .feed = ev_feed, .head = ev_head };
	s = wsman_service_new(p, cfg);
	CHECK(s != NULL && wsman_service_events(s, &src));
	for (int k = 0; k < SUBS; k++) {
		snprintf(q, sizeof q, "SELECT * FROM __InstanceOperationEvent WITHIN 5 WHERE "
		         "TargetInstance ISA 'Win32_VirtualDesktopSession'%s", where[k]);
		subscribe_ok(s, who[k], "PT60S", q, "", ctx[k], sizeof ctx[k]);
		CHECK(pull_held(s, who[k], sub_pull(ctx[k], "PT60S", 5), &h[k], &r));
	}
	for (int i = 0; i < N; i++) {
		char client[32];

		snprintf(client, sizeof client, "PC-%d", i + 1);
		now[i] = i + 1 == 1050 ? ev_s(1050, 0, 4242, "carol", client)
		                       : ev_s((uint32_t)i + 1, 0, 0, "root", client);
	}
	CHECK_EQ(rdms_feed_observe(ev_feed, "fixture", now, N, EV_T0), N);
	for (int k = 0; k < SUBS; k++) {
		CHECK(held_wait(&h[k], 5000));
		d = xdoc(&h[k].reply);
		CHECK_STR(xs(d, "/s:Envelope/s:Header/wsa:Action"), ACTION_PULL "Response");
		if (k < 2) {
			CHECK_EQ(atoi(xs(d, "count(//wsen:Items/*)")), 1);
			CHECK_STR(xs(d, "//" TARGET "/q:ClientMachineName"), k == 0 ? "PC-3" : "PC-1027");
		} else if (k == 2) {
			CHECK_EQ(atoi(xs(d, "count(//wsen:Items/*)")), 5);    /* MaxElements */
			CHECK_STR(xs(d, "//wsen:Items/*[5]/" TARGET "/q:SessionId"), "5");
		} else {
			CHECK_EQ(atoi(xs(d, "count(//wsen:Items/*)")), 1);
			CHECK_STR(xs(d, "//" TARGET "/q:UserName"), "carol");
		}
		xmlFreeDoc(d);
		held_free(&h[k]);
	}
	/* both sessions change: each filtered subscription gets its own, with its previous values */
	for (int k = 0; k < 2; k++)
		CHECK(pull_held(s, &admin, sub_pull(ctx[k], "PT60S", 5), &h[k], &r));
	snprintf(now[2].client, sizeof now[2].client, "NEW-3");
	snprintf(now[1026].client, sizeof now[1026].client, "NEW-1027");
	CHECK_EQ(rdms_feed_observe(ev_feed, "fixture", now, N, EV_T0 + 1000), 2);
	for (int k = 0; k < 2; k++) {
		CHECK(held_wait(&h[k], 5000));
		d = xdoc(&h[k].reply);
		CHECK_EQ(atoi(xs(d, "count(//wsen:Items/ev:__InstanceModificationEvent)")), 1);
		CHECK_STR(xs(d, "//ev:TargetInstance/q:ClientMachineName"), k == 0 ? "NEW-3" : "NEW-1027");
		CHECK_STR(xs(d, "//ev:PreviousInstance/q:ClientMachineName"), k == 0 ? "PC-3" : "PC-1027");
		xmlFreeDoc(d);
		held_free(&h[k]);
	}
	wsman_service_free(s);
	rdms_feed_free(ev_feed);
}

/* Page faults of ROUNDS Pulls of one event each, asking for MAX (checked: one came each time). */
static long pulls_of_one(wsman_service *s, const char *ctx, rdms_session *now, int max,
                         int64_t *t)
{
	enum { ROUNDS = 200 };
	struct rusage r0, r1;
	int one = 0;

	getrusage(RUSAGE_SELF, &r0);
	for (int i = 1; i <= ROUNDS; i++) {
		wsman_reply r;
		xmlDoc *d;

		snprintf(now[1].client, sizeof now[1].client, "PC-%lld", (long long)++*t);
		rdms_feed_observe(ev_feed, "fixture", now, 2, EV_T0 + *t);
		r = callf(s, &admin, sub_pull(ctx, "PT60S", max));
		d = xdoc(&r);
		one += r.http_status == 200 && atoi(xs(d, "count(//wsen:Items/*)")) == 1;
		xmlFreeDoc(d);
		free(r.body);
	}
	getrusage(RUSAGE_SELF, &r1);
	CHECK_EQ(one, ROUNDS);
	return r1.ru_minflt - r0.ru_minflt;
}

/*
 * A Pull that may carry 1,000 events but finds one costs what one asking
 * for a single event does: it took room for 1,000 at once, an mmap of 160
 * KiB with its page faults and an munmap, at each Pull of a busy host's
 * broker.
 */
static void test_pull_small_scan(rdms_config *cfg, rdms_provider *p)
{
	rdms_session now[2];
	wsman_event_source src;
	wsman_service *s;
	int64_t t = 0;
	long small, big;
	char ctx[64];

	ev_feed = rdms_feed_new(5, NULL);
	src = (wsman_event_source){ .feed = ev_feed, .head = ev_head };
	s = wsman_service_new(p, cfg);
	CHECK(s != NULL && wsman_service_events(s, &src));
	subscribe_ok(s, &admin, "PT60S", "SELECT * FROM __InstanceOperationEvent WITHIN 5 WHERE "
	             "TargetInstance ISA 'Win32_VirtualDesktopSession'", "", ctx, sizeof ctx);
	now[0] = ev_s(1, 0, 0, "root", "PC-0");
	now[1] = ev_s(2, 0, 0, "root", "PC-0");
	CHECK_EQ(rdms_feed_observe(ev_feed, "fixture", now, 2, EV_T0), 2);
	free(callf(s, &admin, sub_pull(ctx, "PT60S", 1000)).body);
	pulls_of_one(s, ctx, now, 1, &t);        /* (settles what the first Pulls grow) */
	small = pulls_of_one(s, ctx, now, 1, &t);
	big = pulls_of_one(s, ctx, now, 1000, &t);
	printf("wsman: 200 Pulls of one event: %ld page faults asking for 1, %ld for 1000\n", small,
	       big);
	CHECK(big < small + 100);
	wsman_service_free(s);
	rdms_feed_free(ev_feed);
}

int main(void)
{
	char dir[] = "/tmp/test_wsman.XXXXXX", small[128], many[128], sock[160], mixed[128];
	char shuffled[128];
	rdms_config cfg, cfg_many, cfg_short, cfg_mixed, cfg_shuffled;
	rdms_provider p, p_many, p_short, p_mixed, p_cached, p_shuffled;
	wsman_service *s, *s_many, *s_short, *s_mixed, *s_cached, *s_shuffled;
	const int nshuffled = 101;
	const int nmixed = 600;
	int nobodys = 0;
	strbuf b = { 0 };
	const int nmany = 3000;

	if (mkdtemp(dir) == NULL)
		return 2;
	snprintf(small, sizeof small, "%s/small", dir);
	snprintf(many, sizeof many, "%s/many", dir);
	snprintf(sock, sizeof sock, "%s/sock", dir);
	snprintf(mixed, sizeof mixed, "%s/mixed", dir);
	write_file(small, "# two sessions\n2 alice 0 PC-1\n3 bob 4 -\n");
	for (int i = 0; i < nmany; i++)
		strbuf_printf(&b, "%d user%d %d client%d\n", 10 + i, i, i % 2 ? 4 : 0, i);
	write_file(many, b.data);
	strbuf_free(&b);
	/* sessions of two users, one in three nobody's */
	for (int i = 0; i < nmixed; i++) {
		strbuf_printf(&b, "%d %s %d client%d\n", 10 + i, i % 3 ? "root" : "nobody",
		              i % 2 ? 4 : 0, i);
		nobodys += i % 3 == 0;
	}
	write_file(mixed, b.data);
	strbuf_free(&b);
	/* sessions listed out of SessionId order: 1..101, 37 apart modulo 101 */
	snprintf(shuffled, sizeof shuffled, "%s/shuffled", dir);
	for (int i = 0; i < nshuffled; i++)
		strbuf_printf(&b, "%d root %d c%d\n", i * 37 % nshuffled + 1, i % 3 ? 0 : 4, i);
	write_file(shuffled, b.data);
	strbuf_free(&b);
	setup(&cfg_shuffled, &p_shuffled, shuffled, 60);
	s_shuffled = wsman_service_new(&p_shuffled, &cfg_shuffled);
	CHECK(s_shuffled != NULL);

	setup(&cfg, &p, small, 60);
	setup(&cfg_many, &p_many, many, 60);
	setup(&cfg_short, &p_short, small, 1);
	s = wsman_service_new(&p, &cfg);
	s_many = wsman_service_new(&p_many, &cfg_many);
	s_short = wsman_service_new(&p_short, &cfg_short);
	CHECK(s != NULL && s_many != NULL && s_short != NULL);
	setup(&cfg_mixed, &p_mixed, mixed, 60);
	p_cached = p_mixed;
	p_cached.cache = rdms_session_cache_new(&cfg_mixed, p_mixed.backends, p_mixed.nbackends);
	s_mixed = wsman_service_new(&p_mixed, &cfg_mixed);
	s_cached = wsman_service_new(&p_cached, &cfg_mixed);
	CHECK(p_cached.cache != NULL && s_mixed != NULL && s_cached != NULL);

	test_subscriptions(&cfg, &p);
	test_broker_subscriptions(&cfg, &p);
	test_positioned(&cfg, &p);
	test_pass_instances(&cfg, &p);
	test_pull_small_scan(&cfg, &p);
	test_writer();
	test_arena();
	test_tree_refusals();
	test_tree_nodes();
	test_dom_long();
	test_tree_wsman();
	test_captures(s);
	test_unhealthy(s, &p);
	test_capture_dir(s);
	test_mi_client(s);
	test_npm_style(s);
	test_pywinrm_style(s);
	test_enumeration(s);
	test_malformed(s);
	test_replay(s);
	test_paging(s_many, nmany);
	test_expiry(s_short);
	test_streamed(s_cached, s_mixed, nmixed, nobodys);
	test_streamed(s_mixed, s_mixed, nmixed, nobodys);     /* no cache: the cursor lists */
	test_client(s, sock);
	test_client_many(s_many, sock, nmany);
	test_client_pages(s_shuffled, sock, nshuffled);

	wsman_service_free(s);
	wsman_service_free(s_many);
	wsman_service_free(s_short);
	wsman_service_free(s_mixed);
	wsman_service_free(s_cached);
	wsman_service_free(s_shuffled);
	unlink(shuffled);
	rdms_session_cache_free(p_cached.cache);
	unlink(mixed);
	unlink(small);
	unlink(many);
	rmdir(dir);
	xmlCleanupParser();
	return check_summary("wsman");
}
