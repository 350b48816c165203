/*
 * test_cimxml.c -- the CIM-XML front end over a small static back-end.
 *
 * The captured wbemcli requests (protocols.md 4.2) are replayed with the
 * CIMMethod/CIMObject headers they carried, and the replies are checked
 * with XPath.  Then a table of malformed and hostile requests, each with
 * the exact HTTP status / CIMError header or CIM status it must get, and
 * the guarantee that no back-end action ran.  The back-end counts every
 * call, so "nothing executed" is asserted, not assumed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <libxml/parser.h>
#include <libxml/xpath.h>

#include "check.h"
#include "cimxml/cimxml.h"
#include "cimxml/cimxml_internal.h"
#include "schema/schema.h"

/* ---- the test back-end ------------------------------------------------------ */

static int enum_calls, disconnects, logoffs, messages, audits;
static char last_title[64], last_message[64];

static bool tb_available(const rdms_config *c)
{
	(void)c;
	return true;
}

static uint32_t tb_enumerate(const rdms_config *c, rdms_session_list *out, rdms_error *err);

static uint32_t tb_disconnect(const rdms_config *c, const rdms_session *s, rdms_error *err)
{
	disconnects++;
	/* Session 3 is disconnected: as a real back-end does, refuse, with the reason. */
	if (s->id == 3)
		return rdms_fail(err, WBEM_E_INVALID_OPERATION, "session 3 is not connected");
	return WBEM_S_NO_ERROR;
}

static uint32_t tb_logoff(const rdms_config *c, const rdms_session *s, rdms_error *err)
{
	logoffs++;
	return WBEM_S_NO_ERROR;
}

static rdms_message_options last_opt;

static uint32_t tb_send(const rdms_config *c, const rdms_session *s, const char *title,
                        const char *message, const rdms_message_options *opt, rdms_error *err)
{
	messages++;
	last_opt = opt != NULL ? *opt : (rdms_message_options){ 0 };
	snprintf(last_title, sizeof last_title, "%s", title);
	snprintf(last_message, sizeof last_message, "%s", message);
	return WBEM_S_NO_ERROR;
}

static const rdms_backend test_backend = {
	.name = "test", .available = tb_available, .enumerate = tb_enumerate,
	.disconnect = tb_disconnect, .logoff = tb_logoff, .send_message = tb_send,
};

/* Session 2 belongs to alice (uid 1001), session 3 to nobody (65534). */
static uint32_t tb_enumerate(const rdms_config *c, rdms_session_list *out, rdms_error *err)
{
	static const struct { uint32_t id, state; uid_t uid; const char *user, *client; } fixed[] = {
		{ 2, 0, 1001, "alice", "PC<1>&\"'" },
		{ 3, 4, 65534, "nobody", "" },
	};

	enum_calls++;
	for (size_t i = 0; i < 2; i++) {
		rdms_session *s = rdms_session_list_add(out);

		if (s == NULL)
			return rdms_fail(err, WBEM_E_OUT_OF_MEMORY, "out of memory");
		s->id = fixed[i].id;
		s->connect_state = fixed[i].state;
		s->uid = fixed[i].uid;
		snprintf(s->user, sizeof s->user, "%s", fixed[i].user);
		snprintf(s->client, sizeof s->client, "%s", fixed[i].client);
		s->backend = &test_backend;
		s->display = -1;
	}
	return WBEM_S_NO_ERROR;
}

static int count_audit(void *ctx, const rdms_audit_event *ev)
{
	(void)ctx; (void)ev;
	audits++;
	return 0;
}

static rdms_config cfg;
static rdms_provider prov;
static const rdms_caller admin = { .uid = 0, .user = "root", .is_admin = true,
                                   .protocol = "cimxml", .source = "unit" };
static const rdms_caller nobody = { .uid = 65534, .user = "nobody", .is_admin = false,
                                    .protocol = "cimxml", .source = "unit" };

static void reset_counters(void)
{
	enum_calls = disconnects = logoffs = messages = audits = 0;
	last_title[0] = last_message[0] = '\0';
}

static int actions(void)
{
	return disconnects + logoffs + messages;
}

/* ---- requests and replies --------------------------------------------------- */

#define MC_HDR "MethodCall"
#define XML_CT "application/xml; charset=\"utf-8\""

static void send_as(const rdms_caller *who, const char *method, const char *object,
                    const char *body, cimxml_reply *r)
{
	cimxml_request req = {
		.cim_operation = MC_HDR, .cim_method = method, .cim_object = object,
		.content_type = XML_CT, .body = body, .len = body ? strlen(body) : 0,
	};

	cimxml_handle(&prov, &cfg, who, &req, r);
}

static xmlDoc *reply_doc(const cimxml_reply *r)
{
	if (r->body == NULL)
		return NULL;
	return xmlReadMemory(r->body, (int)r->len, NULL, NULL, XML_PARSE_NONET | XML_PARSE_NOERROR);
}

/* The string value of XPath EXPR in DOC (malloc'd; "" when nothing). */
static char *xp(xmlDoc *doc, const char *expr)
{
	xmlXPathContext *ctx;
	xmlXPathObject *o;
	char wrapped[512], *s = NULL;

	if (doc == NULL)
		return strdup("(no document)");
	snprintf(wrapped, sizeof wrapped, "string(%s)", expr);
	ctx = xmlXPathNewContext(doc);
	o = ctx ? xmlXPathEvalExpression((const xmlChar *)wrapped, ctx) : NULL;
	if (o != NULL && o->stringval != NULL)
		s = strdup((const char *)o->stringval);
	xmlXPathFreeObject(o);
	xmlXPathFreeContext(ctx);
	return s ? s : strdup("");
}

static double xpn(xmlDoc *doc, const char *expr)
{
	xmlXPathContext *ctx;
	xmlXPathObject *o;
	double v = -1;

	if (doc == NULL)
		return -1;
	ctx = xmlXPathNewContext(doc);
	o = ctx ? xmlXPathEvalExpression((const xmlChar *)expr, ctx) : NULL;
	if (o != NULL)
		v = xmlXPathCastToNumber(o);
	xmlXPathFreeObject(o);
	xmlXPathFreeContext(ctx);
	return v;
}

#define CHECK_XP(doc, expr, want) do { \
	char *got_ = xp(doc, expr); \
	CHECK_STR(got_, want); \
	free(got_); \
} while (0)

/* ERROR/@CODE of a reply, 0 when it has none, -1 when it is no CIM-XML. */
static int error_code(const cimxml_reply *r)
{
	xmlDoc *d = reply_doc(r);
	int code;

	if (d == NULL)
		return -1;
	code = (int)xpn(d, "count(/CIM/MESSAGE/SIMPLERSP/*/ERROR)") == 1
	     ? (int)xpn(d, "number(/CIM/MESSAGE/SIMPLERSP/*/ERROR/@CODE)") : 0;
	xmlFreeDoc(d);
	return code;
}

static void reply_free(cimxml_reply *r)
{
	free(r->body);
	free(r->return_value_text);
	memset(r, 0, sizeof *r);
}

/* ---- request bodies ---------------------------------------------------------- */

#define ENV(x) "<?xml version=\"1.0\" encoding=\"utf-8\"?><CIM CIMVERSION=\"2.0\" DTDVERSION=\"2.0\">" \
	"<MESSAGE ID=\"1001\" PROTOCOLVERSION=\"1.0\"><SIMPLEREQ>" x "</SIMPLEREQ></MESSAGE></CIM>"
#define NSP "<LOCALNAMESPACEPATH><NAMESPACE NAME=\"root\"/><NAMESPACE NAME=\"cimv2\"/>" \
	"<NAMESPACE NAME=\"rdms\"/></LOCALNAMESPACEPATH>"
#define NSP_BAD "<LOCALNAMESPACEPATH><NAMESPACE NAME=\"root\"/><NAMESPACE NAME=\"cimv2\"/>" \
	"</LOCALNAMESPACEPATH>"
#define CN(c) "<IPARAMVALUE NAME=\"ClassName\"><CLASSNAME NAME=\"" c "\"/></IPARAMVALUE>"
#define VSC "Win32_VirtualDesktopSession"
#define IMC(name, params) ENV("<IMETHODCALL NAME=\"" name "\">" NSP params "</IMETHODCALL>")
#define KB(n, t, v) "<KEYBINDING NAME=\"" n "\"><KEYVALUE VALUETYPE=\"" t "\">" v "</KEYVALUE></KEYBINDING>"
#define INAME(keys) "<INSTANCENAME CLASSNAME=\"" VSC "\">" keys "</INSTANCENAME>"
#define KEYS(id) KB("VMHostName", "string", "host1.example.com") KB("SessionId", "numeric", id)
#define GI(keys) IMC("GetInstance", "<IPARAMVALUE NAME=\"InstanceName\">" INAME(keys) "</IPARAMVALUE>")
#define MC(name, keys, params) ENV("<METHODCALL NAME=\"" name "\"><LOCALINSTANCEPATH>" NSP \
	INAME(keys) "</LOCALINSTANCEPATH>" params "</METHODCALL>")
#define PV(n, v) "<PARAMVALUE NAME=\"" n "\"><VALUE>" v "</VALUE></PARAMVALUE>"
#define QUERY(lang, q) IMC("ExecQuery", "<IPARAMVALUE NAME=\"QueryLanguage\"><VALUE>" lang \
	"</VALUE></IPARAMVALUE><IPARAMVALUE NAME=\"Query\"><VALUE>" q "</VALUE></IPARAMVALUE>")

#define NSO "root%2Fcimv2%2Frdms"
#define OBJ(id) NSO "%3AWin32_VirtualDesktopSession.VMHostName=\"host1.example.com\",SessionId=" id

/* ---- replaying the captures ---------------------------------------------------- */

typedef struct capture {
	char *raw;
	char  method[128], object[512], operation[64], ctype[128];
	const char *body;
} capture;

static const char *captures_dir(void)
{
	return SOURCE_ROOT "/tests/captures";
}

static void header(const char *raw, const char *name, char *out, size_t size)
{
	size_t n = strlen(name);

	out[0] = '\0';
	for (const char *l = raw; l != NULL && *l != '\r' && *l != '\n'; l = strchr(l, '\n'), l = l ? l + 1 : l) {
		if (strncasecmp(l, name, n) == 0 && l[n] == ':') {
			const char *v = l + n + 1;

			v += strspn(v, " ");
			snprintf(out, size, "%.*s", (int)strcspn(v, "\r\n"), v);
			return;
		}
	}
}

static bool load_capture(const char *name, capture *c)
{
	char path[512];
	FILE *f;
	long n;
	char *sep;

	memset(c, 0, sizeof *c);
	snprintf(path, sizeof path, "%s/%s", captures_dir(), name);
	if ((f = fopen(path, "rb")) == NULL) {
		fprintf(stderr, "cannot open %s\n", path);
		return false;
	}
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	c->raw = calloc(1, (size_t)n + 1);
	if (c->raw == NULL || fread(c->raw, 1, (size_t)n, f) != (size_t)n) {
		fclose(f);
		free(c->raw);
		return false;
	}
	fclose(f);
	sep = strstr(c->raw, "\r\n\r\n");
	if (sep == NULL)
		return false;
	c->body = sep + 4;
	header(c->raw, "CIMMethod", c->method, sizeof c->method);
	header(c->raw, "CIMObject", c->object, sizeof c->object);
	header(c->raw, "CIMOperation", c->operation, sizeof c->operation);
	header(c->raw, "Content-Type", c->ctype, sizeof c->ctype);
	return true;
}

/* Sends capture NAME as WHO; returns the parsed reply (caller frees). */
static xmlDoc *replay(const char *name, const rdms_caller *who, cimxml_reply *r)
{
	capture c;
	cimxml_request req;

	memset(r, 0, sizeof *r);
	if (!load_capture(name, &c)) {
		CHECK(!"capture missing");
		return NULL;
	}
	req = (cimxml_request){
		.cim_operation = c.operation, .cim_method = c.method, .cim_object = c.object,
		.content_type = c.ctype, .body = c.body, .len = strlen(c.body),
	};
	cimxml_handle(&prov, &cfg, who, &req, r);
	free(c.raw);
	CHECK_EQ(r->http_status, 200);
	CHECK(r->cim_error == NULL);
	return reply_doc(r);
}

#define RSP "/CIM/MESSAGE/SIMPLERSP/IMETHODRESPONSE"
#define INST1 RSP "/IRETURNVALUE/VALUE.NAMEDINSTANCE[1]"

static void test_capture_ei(void)
{
	cimxml_reply r;
	xmlDoc *d = replay("wbemcli-ei.req", &admin, &r);

	CHECK_XP(d, "/CIM/MESSAGE/@ID", "4711");
	CHECK_XP(d, "/CIM/@CIMVERSION", "2.0");
	CHECK_XP(d, RSP "/@NAME", "EnumerateInstances");
	CHECK_EQ(xpn(d, "count(" RSP "/IRETURNVALUE/VALUE.NAMEDINSTANCE)"), 2);
	CHECK_XP(d, INST1 "/INSTANCENAME/@CLASSNAME", VSC);
	CHECK_XP(d, INST1 "/INSTANCENAME/KEYBINDING[@NAME='VMHostName']/KEYVALUE", "host1.example.com");
	CHECK_XP(d, INST1 "/INSTANCENAME/KEYBINDING[@NAME='SessionId']/KEYVALUE/@VALUETYPE", "numeric");
	CHECK_XP(d, INST1 "/INSTANCENAME/KEYBINDING[@NAME='SessionId']/KEYVALUE", "2");
	CHECK_EQ(xpn(d, "count(" INST1 "/INSTANCE/PROPERTY)"), 8);
	CHECK_XP(d, INST1 "/INSTANCE/PROPERTY[@NAME='SessionId']/@TYPE", "uint32");
	CHECK_XP(d, INST1 "/INSTANCE/PROPERTY[@NAME='UserName']/VALUE", "alice");
	CHECK_XP(d, INST1 "/INSTANCE/PROPERTY[@NAME='DomainName']/VALUE", "CORP");
	CHECK_XP(d, INST1 "/INSTANCE/PROPERTY[@NAME='VMName']/VALUE", "vm-a");
	CHECK_XP(d, INST1 "/INSTANCE/PROPERTY[@NAME='CollectionId']/VALUE", "Pool1");
	/* the client name carries every XML special character */
	CHECK_XP(d, INST1 "/INSTANCE/PROPERTY[@NAME='ClientMachineName']/VALUE", "PC<1>&\"'");
	/* wbemcli asked for IncludeClassOrigin */
	CHECK_XP(d, INST1 "/INSTANCE/PROPERTY[@NAME='UserName']/@CLASSORIGIN", VSC);
	CHECK_XP(d, RSP "/IRETURNVALUE/VALUE.NAMEDINSTANCE[2]/INSTANCE/PROPERTY[@NAME='ConnectState']/VALUE", "4");
	CHECK_EQ(actions(), 0);
	xmlFreeDoc(d);
	reply_free(&r);

	/* a non-admin sees only their own session */
	d = replay("wbemcli-ei.req", &nobody, &r);
	CHECK_EQ(xpn(d, "count(" RSP "/IRETURNVALUE/VALUE.NAMEDINSTANCE)"), 1);
	CHECK_XP(d, INST1 "/INSTANCE/PROPERTY[@NAME='UserName']/VALUE", "nobody");
	xmlFreeDoc(d);
	reply_free(&r);
}

static void test_capture_ein_gi(void)
{
	cimxml_reply r;
	xmlDoc *d = replay("wbemcli-ein.req", &admin, &r);

	CHECK_EQ(xpn(d, "count(" RSP "/IRETURNVALUE/INSTANCENAME)"), 2);
	CHECK_EQ(xpn(d, "count(" RSP "/IRETURNVALUE/INSTANCENAME/KEYBINDING)"), 4);
	CHECK_XP(d, RSP "/IRETURNVALUE/INSTANCENAME[2]/KEYBINDING[@NAME='SessionId']/KEYVALUE", "3");
	CHECK_EQ(xpn(d, "count(//INSTANCE)"), 0);
	xmlFreeDoc(d);
	reply_free(&r);

	d = replay("wbemcli-gi.req", &admin, &r);
	CHECK_XP(d, RSP "/@NAME", "GetInstance");
	CHECK_XP(d, RSP "/IRETURNVALUE/INSTANCE/@CLASSNAME", VSC);
	CHECK_XP(d, RSP "/IRETURNVALUE/INSTANCE/PROPERTY[@NAME='SessionId']/VALUE", "2");
	CHECK_XP(d, RSP "/IRETURNVALUE/INSTANCE/PROPERTY[@NAME='ConnectState']/VALUE", "0");
	xmlFreeDoc(d);
	reply_free(&r);
}

static void test_capture_getclass(void)
{
	cimxml_reply r;
	xmlDoc *d = replay("wbemcli-cm-getclass.req", &admin, &r);

	CHECK_XP(d, RSP "/IRETURNVALUE/CLASS/@NAME", VSC);
	CHECK_EQ(xpn(d, "count(" RSP "/IRETURNVALUE/CLASS/PROPERTY)"), 8);
	CHECK_EQ(xpn(d, "count(//CLASS/PROPERTY[QUALIFIER[@NAME='Key']/VALUE='TRUE'])"), 2);
	CHECK_XP(d, "//CLASS/PROPERTY[@NAME='SessionId']/QUALIFIER[@NAME='Key']/@OVERRIDABLE", "false");
	CHECK_XP(d, "//CLASS/PROPERTY[@NAME='VMHostName']/QUALIFIER/@NAME", "Key");
	CHECK_EQ(xpn(d, "count(//CLASS/PROPERTY[@NAME='VMName']/QUALIFIER)"), 0);
	CHECK_EQ(xpn(d, "count(//CLASS/METHOD)"), 3);
	CHECK_XP(d, "//CLASS/METHOD[@NAME='Disconnect']/@TYPE", "uint32");
	CHECK_EQ(xpn(d, "count(//CLASS/METHOD[@NAME='SendMessage']/PARAMETER)"), 2);
	CHECK_XP(d, "//METHOD[@NAME='SendMessage']/PARAMETER[1]/@NAME", "Title");
	CHECK_XP(d, "//METHOD[@NAME='SendMessage']/PARAMETER[2]/QUALIFIER[@NAME='In']/VALUE", "TRUE");
	CHECK_XP(d, "//CLASS/QUALIFIER[@NAME='dynamic']/VALUE", "TRUE");
	CHECK_XP(d, "//CLASS/QUALIFIER[@NAME='provider']/VALUE", "Win32_RDManagement_Prov");
	CHECK_XP(d, "//CLASS/QUALIFIER[@NAME='AMENDMENT']/@TYPE", "boolean");
	/* wbemcli's quirk: a METHOD must never be self-closed */
	CHECK(r.body != NULL && strstr(r.body, "<METHOD NAME=\"Disconnect\" TYPE=\"uint32\" "
	                                 "CLASSORIGIN=\"" VSC "\"></METHOD>") != NULL);
	for (const char *m = r.body; m != NULL && (m = strstr(m, "<METHOD ")) != NULL; m++)
		CHECK(strchr(m, '>')[-1] != '/');
	xmlFreeDoc(d);
	reply_free(&r);
}

static void test_capture_invoke(void)
{
	cimxml_reply r;
	xmlDoc *d;

	reset_counters();
	d = replay("wbemcli-cm-disconnect.req", &admin, &r);
	CHECK_XP(d, "/CIM/MESSAGE/SIMPLERSP/METHODRESPONSE/@NAME", "Disconnect");
	CHECK_XP(d, "/CIM/MESSAGE/SIMPLERSP/METHODRESPONSE/RETURNVALUE/@PARAMTYPE", "uint32");
	CHECK_XP(d, "/CIM/MESSAGE/SIMPLERSP/METHODRESPONSE/RETURNVALUE/VALUE", "0");
	CHECK_EQ(disconnects, 1);
	CHECK_EQ(audits, 1);
	xmlFreeDoc(d);
	reply_free(&r);

	reset_counters();
	d = replay("wbemcli-cm-sendmessage.req", &admin, &r);
	CHECK_XP(d, "/CIM/MESSAGE/SIMPLERSP/METHODRESPONSE/RETURNVALUE/VALUE", "0");
	CHECK_EQ(messages, 1);
	CHECK_STR(last_title, "hi");
	CHECK_STR(last_message, "bye");
	CHECK(last_opt.timeout_s == 0 && !last_opt.wait);
	CHECK_EQ(disconnects + logoffs, 0);
	xmlFreeDoc(d);
	reply_free(&r);

	/* SendMessage's options as RDMS-Message* headers (CIM-XML has no other channel) */
	{
		capture c;
		cimxml_request req;

		if (load_capture("wbemcli-cm-sendmessage.req", &c)) {
			req = (cimxml_request){
				.cim_operation = c.operation, .cim_method = c.method,
				.cim_object = c.object, .content_type = c.ctype, .body = c.body,
				.len = strlen(c.body), .message_timeout = "20", .message_wait = "true",
			};
			reset_counters();
			cimxml_handle(&prov, &cfg, &admin, &req, &r);
			d = reply_doc(&r);
			CHECK_XP(d, "/CIM/MESSAGE/SIMPLERSP/METHODRESPONSE/RETURNVALUE/VALUE", "0");
			CHECK_EQ(messages, 1);
			CHECK(last_opt.timeout_s == 20 && last_opt.wait);
			xmlFreeDoc(d);
			reply_free(&r);
			/* a bad one: a CIM error naming it, and nothing shown */
			req.message_timeout = "never";
			reset_counters();
			cimxml_handle(&prov, &cfg, &admin, &req, &r);
			d = reply_doc(&r);
			CHECK_XP(d, "/CIM/MESSAGE/SIMPLERSP/METHODRESPONSE/ERROR/@CODE", "4");
			CHECK(strstr(r.body, "MessageTimeout &apos;never&apos;") != NULL ||
			      strstr(r.body, "MessageTimeout 'never'") != NULL);
			CHECK_EQ(messages, 0);
			xmlFreeDoc(d);
			reply_free(&r);
			free(c.raw);
		} else {
			CHECK(!"capture missing");
		}
	}
}

/* ---- more well-formed requests -------------------------------------------------- */

static void test_queries_and_lists(void)
{
	cimxml_reply r;
	xmlDoc *d;

	/* ExecQuery: projection, WHERE, full instance path */
	send_as(&admin, "ExecQuery", NSO,
	        QUERY("WQL", "SELECT SessionId, UserName FROM " VSC " WHERE ConnectState = 4"), &r);
	d = reply_doc(&r);
	CHECK_EQ(xpn(d, "count(" RSP "/IRETURNVALUE/VALUE.OBJECTWITHPATH)"), 1);
	CHECK_XP(d, "//VALUE.OBJECTWITHPATH/INSTANCEPATH/NAMESPACEPATH/HOST", "host1.example.com");
	CHECK_EQ(xpn(d, "count(//VALUE.OBJECTWITHPATH/INSTANCEPATH/NAMESPACEPATH/LOCALNAMESPACEPATH/NAMESPACE)"), 3);
	CHECK_XP(d, "//INSTANCEPATH/NAMESPACEPATH/LOCALNAMESPACEPATH/NAMESPACE[3]/@NAME", "rdms");
	CHECK_XP(d, "//INSTANCEPATH/INSTANCENAME/KEYBINDING[@NAME='SessionId']/KEYVALUE", "3");
	CHECK_EQ(xpn(d, "count(//VALUE.OBJECTWITHPATH/INSTANCE/PROPERTY)"), 2);
	CHECK_XP(d, "//VALUE.OBJECTWITHPATH/INSTANCE/PROPERTY[@NAME='UserName']/VALUE", "nobody");
	xmlFreeDoc(d);
	reply_free(&r);

	send_as(&admin, "ExecQuery", NSO, QUERY("wql", "SELECT * FROM " VSC), &r);
	d = reply_doc(&r);
	CHECK_EQ(xpn(d, "count(//VALUE.OBJECTWITHPATH)"), 2);
	CHECK_EQ(xpn(d, "count(//VALUE.OBJECTWITHPATH[1]/INSTANCE/PROPERTY)"), 8);
	xmlFreeDoc(d);
	reply_free(&r);

	/* PropertyList: only the listed properties; unknown names ignored */
	send_as(&admin, "EnumerateInstances", NSO, IMC("EnumerateInstances", CN(VSC)
	        "<IPARAMVALUE NAME=\"PropertyList\"><VALUE.ARRAY><VALUE>username</VALUE>"
	        "<VALUE>NoSuchProperty</VALUE></VALUE.ARRAY></IPARAMVALUE>"), &r);
	d = reply_doc(&r);
	CHECK_EQ(xpn(d, "count(//VALUE.NAMEDINSTANCE)"), 2);
	CHECK_EQ(xpn(d, "count(//VALUE.NAMEDINSTANCE/INSTANCE/PROPERTY)"), 2);
	CHECK_XP(d, "//VALUE.NAMEDINSTANCE[1]/INSTANCE/PROPERTY/@NAME", "UserName");
	CHECK_EQ(xpn(d, "count(//VALUE.NAMEDINSTANCE/INSTANCENAME/KEYBINDING)"), 4);
	CHECK_EQ(xpn(d, "count(//@CLASSORIGIN)"), 0);
	xmlFreeDoc(d);
	reply_free(&r);

	/* an empty PropertyList: no properties at all */
	send_as(&admin, "GetInstance", NSO, IMC("GetInstance",
	        "<IPARAMVALUE NAME=\"InstanceName\">" INAME(KEYS("2")) "</IPARAMVALUE>"
	        "<IPARAMVALUE NAME=\"PropertyList\"><VALUE.ARRAY></VALUE.ARRAY></IPARAMVALUE>"), &r);
	d = reply_doc(&r);
	CHECK_EQ(xpn(d, "count(" RSP "/IRETURNVALUE/INSTANCE)"), 1);
	CHECK_EQ(xpn(d, "count(//PROPERTY)"), 0);
	xmlFreeDoc(d);
	reply_free(&r);

	/* keys in any order, string-typed number, TYPE attribute, padding */
	send_as(&admin, "GetInstance", NSO, GI(
	        "<KEYBINDING NAME=\"sessionid\"><KEYVALUE VALUETYPE=\"numeric\" TYPE=\"uint32\"> 3 </KEYVALUE></KEYBINDING>"
	        KB("VMHostName", "string", "HOST1.example.com")), &r);
	d = reply_doc(&r);
	CHECK_XP(d, RSP "/IRETURNVALUE/INSTANCE/PROPERTY[@NAME='UserName']/VALUE", "nobody");
	xmlFreeDoc(d);
	reply_free(&r);
	send_as(&admin, "GetInstance", NSO, GI(KB("SessionId", "string", "2")
	        KB("VMHostName", "string", "host1.example.com")), &r);
	CHECK_EQ(error_code(&r), 0);
	reply_free(&r);

	/* class enumeration */
	send_as(&admin, "EnumerateClassNames", NSO, IMC("EnumerateClassNames", ""), &r);
	d = reply_doc(&r);
	/* the Windows classes, then rdms's own */
	CHECK_EQ(xpn(d, "count(" RSP "/IRETURNVALUE/CLASSNAME)"), 5);
	CHECK_XP(d, RSP "/IRETURNVALUE/CLASSNAME[1]/@NAME", VSC);
	CHECK_XP(d, RSP "/IRETURNVALUE/CLASSNAME[2]/@NAME", "Win32_RDSHServer");
	CHECK_XP(d, RSP "/IRETURNVALUE/CLASSNAME[3]/@NAME", "RDMS_SessionDetail");
	xmlFreeDoc(d);
	reply_free(&r);
	send_as(&admin, "EnumerateClasses", NSO, IMC("EnumerateClasses",
	        "<IPARAMVALUE NAME=\"DeepInheritance\"><VALUE>TRUE</VALUE></IPARAMVALUE>"), &r);
	d = reply_doc(&r);
	CHECK_EQ(xpn(d, "count(" RSP "/IRETURNVALUE/CLASS)"), 5);
	CHECK_EQ(xpn(d, "count(//CLASS/METHOD)"), 3);
	xmlFreeDoc(d);
	reply_free(&r);
	/* subclasses of the class: none */
	send_as(&admin, "EnumerateClassNames", NSO, IMC("EnumerateClassNames", CN(VSC)), &r);
	d = reply_doc(&r);
	CHECK_EQ(xpn(d, "count(" RSP "/IRETURNVALUE)"), 1);
	CHECK_EQ(xpn(d, "count(" RSP "/IRETURNVALUE/*)"), 0);
	xmlFreeDoc(d);
	reply_free(&r);

	/* GetClass without qualifiers: no QUALIFIER anywhere */
	send_as(&admin, "GetClass", NSO, IMC("GetClass", CN("win32_virtualdesktopsession")
	        "<IPARAMVALUE NAME=\"IncludeQualifiers\"><VALUE>false</VALUE></IPARAMVALUE>"), &r);
	d = reply_doc(&r);
	CHECK_EQ(xpn(d, "count(//CLASS)"), 1);
	CHECK_EQ(xpn(d, "count(//QUALIFIER)"), 0);
	CHECK_EQ(xpn(d, "count(//@CLASSORIGIN)"), 0);
	xmlFreeDoc(d);
	reply_free(&r);
}

static void test_invoke_rules(void)
{
	cimxml_reply r;
	xmlDoc *d;

	/* a non-admin may act on their own session */
	reset_counters();
	send_as(&nobody, "Logoff", OBJ("3"), MC("Logoff", KEYS("3"), ""), &r);
	d = reply_doc(&r);
	CHECK_XP(d, "//METHODRESPONSE/RETURNVALUE/VALUE", "0");
	CHECK_EQ(logoffs, 1);
	xmlFreeDoc(d);
	reply_free(&r);

	/* ... but not on someone else's: CIM_ERR_ACCESS_DENIED, audited, nothing done */
	reset_counters();
	send_as(&nobody, "Disconnect", OBJ("2"), MC("Disconnect", KEYS("2"), ""), &r);
	CHECK_EQ(r.http_status, 200);
	CHECK_EQ(error_code(&r), 2);
	d = reply_doc(&r);
	CHECK_XP(d, "/CIM/MESSAGE/SIMPLERSP/METHODRESPONSE/@NAME", "Disconnect");
	{
		char *desc = xp(d, "//ERROR/@DESCRIPTION");

		CHECK(strncmp(desc, "CIM_ERR_ACCESS_DENIED: ", 23) == 0);
		free(desc);
	}
	CHECK_EQ(actions(), 0);
	CHECK_EQ(audits, 1);
	xmlFreeDoc(d);
	reply_free(&r);

	/*
	 * a method that ran and failed: its RETURNVALUE, as the class defines
	 * it (no ERROR), and its reason in the RDMS-ReturnValueText header
	 */
	reset_counters();
	send_as(&nobody, "Disconnect", OBJ("3"), MC("Disconnect", KEYS("3"), ""), &r);
	CHECK_EQ(r.http_status, 200);
	CHECK_EQ(error_code(&r), 0);
	CHECK_EQ(disconnects, 1);
	d = reply_doc(&r);
	CHECK_XP(d, "//METHODRESPONSE/RETURNVALUE/VALUE", "2147749910");
	CHECK_EQ(xpn(d, "count(//METHODRESPONSE/*)"), 1);
	CHECK(r.return_value_text != NULL &&
	      strcmp(r.return_value_text, "session 3 is not connected") == 0);
	xmlFreeDoc(d);
	reply_free(&r);
	/* none when it succeeded */
	send_as(&nobody, "Logoff", OBJ("3"), MC("Logoff", KEYS("3"), ""), &r);
	CHECK_EQ(error_code(&r), 0);
	CHECK(r.return_value_text == NULL);
	reply_free(&r);

	/* the MESSAGE ID is echoed exactly, escaped */
	send_as(&admin, "EnumerateClassNames", NSO,
	        "<CIM CIMVERSION=\"2.0\" DTDVERSION=\"2.3\"><MESSAGE ID=\"a&amp;b&quot;c&lt;\" "
	        "PROTOCOLVERSION=\"1.0\"><SIMPLEREQ><IMETHODCALL NAME=\"EnumerateClassNames\">" NSP
	        "</IMETHODCALL></SIMPLEREQ></MESSAGE></CIM>", &r);
	d = reply_doc(&r);
	CHECK_XP(d, "/CIM/MESSAGE/@ID", "a&b\"c<");
	xmlFreeDoc(d);
	reply_free(&r);
}

/* ---- the writer on its own ------------------------------------------------------ */

static void test_writer(void)
{
	const cim_class *c = rdms_schema_find(VSC);
	cim_instance *inst = cim_instance_new(c);
	strbuf b = { 0 };
	char *s;

	/* NULL properties have no VALUE but keep their TYPE */
	CHECK(inst != NULL);
	if (inst != NULL) {
		cim_instance_set(inst, "SessionId", cim_u32(7), NULL);
		cimxml_write_instance(&b, inst, NULL, false);
		s = strbuf_take(&b);
		CHECK(s != NULL && strstr(s, "<PROPERTY NAME=\"DomainName\" TYPE=\"string\"></PROPERTY>") != NULL);
		CHECK(s != NULL && strstr(s, "<PROPERTY NAME=\"SessionId\" TYPE=\"uint32\"><VALUE>7</VALUE></PROPERTY>") != NULL);
		free(s);
		cimxml_write_instancename(&b, inst);
		s = strbuf_take(&b);
		CHECK(s != NULL && strstr(s, "<KEYVALUE VALUETYPE=\"string\"></KEYVALUE>") != NULL);
		free(s);
		cim_instance_free(inst);
	}
	/* escaping: specials, controls and broken UTF-8 never reach the document raw */
	cimxml_escape(&b, "a<b>&\"'\t\n\x01z\xff\xc3\xa9\xed\xa0\x80");
	s = strbuf_take(&b);
	CHECK_STR(s, "a&lt;b&gt;&amp;&quot;&apos;&#9;&#10;\xEF\xBF\xBDz\xEF\xBF\xBD\xc3\xa9"
	             "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
	free(s);
	cimxml_write_error(&b, WBEM_E_NOT_FOUND, "no <such> session");
	s = strbuf_take(&b);
	CHECK_STR(s, "<ERROR CODE=\"6\" DESCRIPTION=\"CIM_ERR_NOT_FOUND: no &lt;such&gt; session\"/>");
	free(s);
	CHECK_EQ(cimxml_cim_status(WBEM_E_ACCESS_DENIED), 2);
	CHECK_EQ(cimxml_cim_status(0x12345678u), 1);
	CHECK_STR(cimxml_status_name(14), "CIM_ERR_QUERY_LANGUAGE_NOT_SUPPORTED");
	CHECK_STR(cimxml_status_name(99), "CIM_ERR_FAILED");
}

/* ---- malformed and hostile requests ---------------------------------------------- */

typedef struct bad_case {
	const char *label;
	const char *method;     /* CIMMethod header */
	const char *object;     /* CIMObject header */
	const char *body;
	int         http;       /* expected HTTP status */
	const char *cimerror;   /* expected CIMError header (HTTP-level failures) */
	int         cim;        /* expected ERROR CODE (HTTP 200) */
	bool        reads;      /* the back-end may be read (the operation layer decided) */
} bad_case;

#define LAUGHS "<?xml version=\"1.0\"?><!DOCTYPE CIM [<!ENTITY a \"aaaaaaaaaa\">" \
	"<!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\"><!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\">" \
	"<!ENTITY d \"&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;\"><!ENTITY e \"&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;\">]>" \
	"<CIM CIMVERSION=\"2.0\" DTDVERSION=\"2.0\"><MESSAGE ID=\"&e;\" PROTOCOLVERSION=\"1.0\">" \
	"<SIMPLEREQ><IMETHODCALL NAME=\"EnumerateClassNames\">" NSP "</IMETHODCALL></SIMPLEREQ></MESSAGE></CIM>"
#define XXE "<?xml version=\"1.0\"?><!DOCTYPE CIM [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>" \
	"<CIM CIMVERSION=\"2.0\" DTDVERSION=\"2.0\"><MESSAGE ID=\"1\" PROTOCOLVERSION=\"1.0\">" \
	"<SIMPLEREQ><METHODCALL NAME=\"SendMessage\"><LOCALINSTANCEPATH>" NSP INAME(KEYS("2")) \
	"</LOCALINSTANCEPATH>" PV("Title", "&x;") PV("Message", "m") "</METHODCALL></SIMPLEREQ></MESSAGE></CIM>"

static const bad_case bad_cases[] = {
	/* HTTP level: XML */
	{ "not well-formed", "GetClass", NSO, "<CIM CIMVERSION=\"2.0\"><MESSAGE>", 400, CIMERR_NOT_WELL_FORMED, 0, false },
	{ "empty body", "GetClass", NSO, "", 400, CIMERR_NOT_WELL_FORMED, 0, false },
	{ "undefined entity", "GetClass", NSO, IMC("GetClass", CN("&nope;")), 400, CIMERR_NOT_WELL_FORMED, 0, false },
	{ "XXE", "SendMessage", OBJ("2"), XXE, 400, CIMERR_NOT_WELL_FORMED, 0, false },
	{ "billion laughs", "EnumerateClassNames", NSO, LAUGHS, 400, CIMERR_NOT_WELL_FORMED, 0, false },
	{ "garbage", "GetClass", NSO, "\x01\x02\xff\xfe", 400, CIMERR_NOT_WELL_FORMED, 0, false },
	/* HTTP level: envelope */
	{ "wrong root", "GetClass", NSO, "<CIMX CIMVERSION=\"2.0\" DTDVERSION=\"2.0\"/>", 400, CIMERR_NOT_VALID, 0, false },
	{ "namespaced root", "GetClass", NSO, "<CIM xmlns=\"urn:x\" CIMVERSION=\"2.0\" DTDVERSION=\"2.0\"/>", 400, CIMERR_NOT_VALID, 0, false },
	{ "CIM version 3", "GetClass", NSO, "<CIM CIMVERSION=\"3.0\" DTDVERSION=\"2.0\"/>", 501, CIMERR_CIM_VERSION, 0, false },
	{ "DTD version 1", "GetClass", NSO, "<CIM CIMVERSION=\"2.0\" DTDVERSION=\"1.1\"/>", 501, CIMERR_DTD_VERSION, 0, false },
	{ "no CIMVERSION", "GetClass", NSO, "<CIM DTDVERSION=\"2.0\"/>", 400, CIMERR_NOT_VALID, 0, false },
	{ "protocol 2.0", "GetClass", NSO, "<CIM CIMVERSION=\"2.0\" DTDVERSION=\"2.0\"><MESSAGE ID=\"1\" "
	  "PROTOCOLVERSION=\"2.0\"><SIMPLEREQ/></MESSAGE></CIM>", 501, CIMERR_PROTOCOL_VERSION, 0, false },
	{ "MULTIREQ", "GetClass", NSO, "<CIM CIMVERSION=\"2.0\" DTDVERSION=\"2.0\"><MESSAGE ID=\"1\" "
	  "PROTOCOLVERSION=\"1.0\"><MULTIREQ><SIMPLEREQ/><SIMPLEREQ/></MULTIREQ></MESSAGE></CIM>", 501, CIMERR_MULTIREQ, 0, false },
	{ "no MESSAGE ID", "GetClass", NSO, "<CIM CIMVERSION=\"2.0\" DTDVERSION=\"2.0\"><MESSAGE "
	  "PROTOCOLVERSION=\"1.0\"><SIMPLEREQ/></MESSAGE></CIM>", 400, CIMERR_NOT_VALID, 0, false },
	{ "empty SIMPLEREQ", "GetClass", NSO, ENV(""), 400, CIMERR_NOT_VALID, 0, false },
	{ "export request", "GetClass", NSO, "<CIM CIMVERSION=\"2.0\" DTDVERSION=\"2.0\"><MESSAGE ID=\"1\" "
	  "PROTOCOLVERSION=\"1.0\"><SIMPLEEXPREQ/></MESSAGE></CIM>", 400, CIMERR_NOT_VALID, 0, false },
	{ "two calls", "GetClass", NSO, ENV("<IMETHODCALL NAME=\"GetClass\">" NSP CN(VSC) "</IMETHODCALL>"
	  "<IMETHODCALL NAME=\"GetClass\">" NSP CN(VSC) "</IMETHODCALL>"), 400, CIMERR_NOT_VALID, 0, false },
	{ "no LOCALNAMESPACEPATH", "GetClass", NSO, ENV("<IMETHODCALL NAME=\"GetClass\">" CN(VSC) "</IMETHODCALL>"),
	  400, CIMERR_NOT_VALID, 0, false },
	{ "NAMESPACE without NAME", "GetClass", NSO, ENV("<IMETHODCALL NAME=\"GetClass\"><LOCALNAMESPACEPATH>"
	  "<NAMESPACE/></LOCALNAMESPACEPATH>" CN(VSC) "</IMETHODCALL>"), 400, CIMERR_NOT_VALID, 0, false },
	{ "call without NAME", "GetClass", NSO, ENV("<IMETHODCALL>" NSP CN(VSC) "</IMETHODCALL>"), 400, CIMERR_NOT_VALID, 0, false },
	{ "stray element", "GetClass", NSO, IMC("GetClass", CN(VSC) "<FOO/>"), 400, CIMERR_NOT_VALID, 0, false },
	{ "METHODCALL without path", "Disconnect", OBJ("2"), ENV("<METHODCALL NAME=\"Disconnect\">" PV("Title", "x")
	  "</METHODCALL>"), 400, CIMERR_NOT_VALID, 0, false },
	/* HTTP level: headers against the body */
	{ "CIMMethod mismatch", "EnumerateInstances", NSO, GI(KEYS("2")), 400, CIMERR_HEADER_MISMATCH, 0, false },
	{ "CIMMethod missing", NULL, NSO, GI(KEYS("2")), 400, CIMERR_HEADER_MISMATCH, 0, false },
	{ "CIMObject namespace", "GetInstance", "root%2Fcimv2", GI(KEYS("2")), 400, CIMERR_HEADER_MISMATCH, 0, false },
	{ "CIMObject missing", "GetInstance", NULL, GI(KEYS("2")), 400, CIMERR_HEADER_MISMATCH, 0, false },
	{ "CIMObject bad escape", "GetInstance", "root%2", GI(KEYS("2")), 400, CIMERR_HEADER_MISMATCH, 0, false },
	{ "CIMObject other key", "Disconnect", OBJ("3"), MC("Disconnect", KEYS("2"), ""), 400, CIMERR_HEADER_MISMATCH, 0, false },
	{ "CIMObject other class", "Disconnect", NSO "%3AWin32_Process.Handle=1", MC("Disconnect", KEYS("2"), ""),
	  400, CIMERR_HEADER_MISMATCH, 0, false },
	{ "CIMObject namespace only", "Disconnect", NSO, MC("Disconnect", KEYS("2"), ""), 400, CIMERR_HEADER_MISMATCH, 0, false },
	{ "deep nesting", "GetClass", NSO, IMC("GetClass", CN(VSC) "<IPARAMVALUE NAME=\"PropertyList\">"
	  "<a><a><a><a><a><a><a><a><a><a><a><a><a><a><a><a><a><a><a><a><a><a><a><a><a><a><a><a><a><a><a><a><a><a>"
	  "</a></a></a></a></a></a></a></a></a></a></a></a></a></a></a></a></a></a></a></a></a></a></a></a></a></a></a></a></a></a></a></a></a></a>"
	  "</IPARAMVALUE>"), 400, CIMERR_NOT_VALID, 0, false },
	/* CIM level: operations and parameters */
	{ "unknown IMETHODCALL", "DeleteInstance", NSO, IMC("DeleteInstance", ""), 200, NULL, 7, false },
	{ "missing ClassName", "EnumerateInstances", NSO, IMC("EnumerateInstances", ""), 200, NULL, 4, false },
	{ "NULL ClassName", "GetClass", NSO, IMC("GetClass", "<IPARAMVALUE NAME=\"ClassName\"/>"), 200, NULL, 4, false },
	{ "missing InstanceName", "GetInstance", NSO, IMC("GetInstance", ""), 200, NULL, 4, false },
	{ "unknown IPARAMVALUE", "EnumerateInstances", NSO, IMC("EnumerateInstances", CN(VSC)
	  "<IPARAMVALUE NAME=\"Bogus\"><VALUE>1</VALUE></IPARAMVALUE>"), 200, NULL, 4, false },
	{ "duplicate IPARAMVALUE", "EnumerateInstances", NSO, IMC("EnumerateInstances", CN(VSC) CN(VSC)), 200, NULL, 4, false },
	{ "bad boolean", "EnumerateInstances", NSO, IMC("EnumerateInstances", CN(VSC)
	  "<IPARAMVALUE NAME=\"LocalOnly\"><VALUE>maybe</VALUE></IPARAMVALUE>"), 200, NULL, 4, false },
	{ "PropertyList not an array", "GetClass", NSO, IMC("GetClass", CN(VSC)
	  "<IPARAMVALUE NAME=\"PropertyList\"><VALUE>x</VALUE></IPARAMVALUE>"), 200, NULL, 4, false },
	{ "unknown class", "EnumerateInstances", NSO, IMC("EnumerateInstances", CN("Win32_Process")), 200, NULL, 5, false },
	{ "GetClass unknown class", "GetClass", NSO, IMC("GetClass", CN("Win32_Process")), 200, NULL, 5, false },
	{ "bad namespace", "EnumerateInstances", "root%2Fcimv2", ENV("<IMETHODCALL NAME=\"EnumerateInstances\">"
	  NSP_BAD CN(VSC) "</IMETHODCALL>"), 200, NULL, 3, false },
	{ "GetClass bad namespace", "GetClass", "root/cimv2", ENV("<IMETHODCALL NAME=\"GetClass\">"
	  NSP_BAD CN(VSC) "</IMETHODCALL>"), 200, NULL, 3, false },
	{ "GetInstance bad namespace", "GetInstance", "root%2Fcimv2", ENV("<IMETHODCALL NAME=\"GetInstance\">"
	  NSP_BAD "<IPARAMVALUE NAME=\"InstanceName\">" INAME(KEYS("2")) "</IPARAMVALUE></IMETHODCALL>"), 200, NULL, 3, false },
	{ "missing KEYBINDING", "GetInstance", NSO, GI(KB("VMHostName", "string", "host1.example.com")), 200, NULL, 4, false },
	{ "duplicate KEYBINDING", "GetInstance", NSO, GI(KEYS("2") KB("SessionId", "numeric", "2")), 200, NULL, 4, false },
	{ "unknown KEYBINDING", "GetInstance", NSO, GI(KEYS("2") KB("Foo", "string", "x")), 200, NULL, 4, false },
	{ "non-numeric SessionId", "GetInstance", NSO, GI(KEYS("abc")), 200, NULL, 4, false },
	{ "string SessionId", "GetInstance", NSO, GI(KB("VMHostName", "string", "h") KB("SessionId", "string", "2x")), 200, NULL, 4, false },
	{ "negative SessionId", "GetInstance", NSO, GI(KEYS("-1")), 200, NULL, 4, false },
	{ "huge SessionId", "GetInstance", NSO, GI(KEYS("99999999999")), 200, NULL, 4, false },
	{ "bad VALUETYPE", "GetInstance", NSO, GI(KB("VMHostName", "string", "h") KB("SessionId", "float", "2")), 200, NULL, 4, false },
	{ "element in KEYVALUE", "GetInstance", NSO, GI(KB("VMHostName", "string", "h<b>x</b>") KB("SessionId", "numeric", "2")),
	  200, NULL, 4, false },
	{ "element in VALUE", "SendMessage", OBJ("2"), MC("SendMessage", KEYS("2"), PV("Title", "<i>t</i>") PV("Message", "m")),
	  200, NULL, 4, false },
	{ "KEYBINDING without NAME", "GetInstance", NSO, GI("<KEYBINDING><KEYVALUE>x</KEYVALUE></KEYBINDING>"), 200, NULL, 4, false },
	{ "reference key", "GetInstance", NSO, GI("<KEYBINDING NAME=\"VMHostName\"><VALUE.REFERENCE/></KEYBINDING>"), 200, NULL, 4, false },
	{ "INSTANCENAME of another class", "GetInstance", NSO, IMC("GetInstance", "<IPARAMVALUE NAME=\"InstanceName\">"
	  "<INSTANCENAME CLASSNAME=\"Win32_Process\">" KB("Handle", "string", "1") "</INSTANCENAME></IPARAMVALUE>"), 200, NULL, 5, false },
	{ "query language CQL", "ExecQuery", NSO, QUERY("DMTF:CQL", "SELECT * FROM " VSC), 200, NULL, 14, false },
	{ "bad WQL", "ExecQuery", NSO, QUERY("WQL", "SELECT FROM WHERE"), 200, NULL, 15, false },
	{ "missing Query", "ExecQuery", NSO, IMC("ExecQuery", "<IPARAMVALUE NAME=\"QueryLanguage\"><VALUE>WQL</VALUE></IPARAMVALUE>"),
	  200, NULL, 4, false },
	/* CIM level: extrinsic calls (audited refusals, never executed) */
	{ "unknown method", "Reboot", NSO "%3AWin32_VirtualDesktopSession.VMHostName=\"host1.example.com\",SessionId=2",
	  MC("Reboot", KEYS("2"), ""), 200, NULL, 17, false },
	{ "missing Title", "SendMessage", OBJ("2"), MC("SendMessage", KEYS("2"), PV("Message", "m")), 200, NULL, 4, false },
	{ "NULL Title", "SendMessage", OBJ("2"), MC("SendMessage", KEYS("2"), "<PARAMVALUE NAME=\"Title\"/>" PV("Message", "m")),
	  200, NULL, 4, false },
	{ "duplicate Title", "SendMessage", OBJ("2"), MC("SendMessage", KEYS("2"), PV("Title", "a") PV("Title", "b") PV("Message", "m")),
	  200, NULL, 4, false },
	{ "unknown parameter", "Disconnect", OBJ("2"), MC("Disconnect", KEYS("2"), PV("Force", "TRUE")), 200, NULL, 4, false },
	{ "PARAMTYPE mismatch", "SendMessage", OBJ("2"), MC("SendMessage", KEYS("2"),
	  "<PARAMVALUE NAME=\"Title\" PARAMTYPE=\"uint32\"><VALUE>1</VALUE></PARAMVALUE>" PV("Message", "m")), 200, NULL, 13, false },
	{ "array parameter", "SendMessage", OBJ("2"), MC("SendMessage", KEYS("2"),
	  "<PARAMVALUE NAME=\"Title\"><VALUE.ARRAY><VALUE>a</VALUE></VALUE.ARRAY></PARAMVALUE>" PV("Message", "m")), 200, NULL, 4, false },
	{ "control characters", "SendMessage", OBJ("2"), MC("SendMessage", KEYS("2"), PV("Title", "a&#13;b") PV("Message", "m")),
	  200, NULL, 4, false },
	{ "invoke missing key", "Disconnect", NSO "%3AWin32_VirtualDesktopSession.VMHostName=\"h1\"",
	  MC("Disconnect", KB("VMHostName", "string", "h1"), ""), 200, NULL, 4, false },
	{ "static call", "Disconnect", NSO "%3AWin32_VirtualDesktopSession", ENV("<METHODCALL NAME=\"Disconnect\">"
	  "<LOCALCLASSPATH>" NSP "<CLASSNAME NAME=\"" VSC "\"/></LOCALCLASSPATH></METHODCALL>"), 200, NULL, 4, false },
	/* CIM level: the operation layer looked and found nothing */
	{ "unknown instance", "GetInstance", NSO, GI(KEYS("9")), 200, NULL, 6, true },
	{ "invoke unknown instance", "Logoff", OBJ("9"), MC("Logoff", KEYS("9"), ""), 200, NULL, 6, true },
	{ "invoke other host", "Logoff", NSO "%3AWin32_VirtualDesktopSession.VMHostName=\"h2\",SessionId=2",
	  MC("Logoff", KB("VMHostName", "string", "h2") KB("SessionId", "numeric", "2"), ""), 200, NULL, 6, false },
};

static void run_bad_case(const bad_case *bc)
{
	cimxml_reply r;
	int code;

	reset_counters();
	send_as(&admin, bc->method, bc->object, bc->body, &r);
	code = error_code(&r);
	if (r.http_status != bc->http || (bc->cimerror && (!r.cim_error || strcmp(r.cim_error, bc->cimerror)))
	    || (bc->http == 200 && code != bc->cim))
		fprintf(stderr, "case \"%s\": got %d %s, ERROR %d\n%s\n", bc->label, r.http_status,
		        r.cim_error ? r.cim_error : "-", code, r.body ? r.body : "");
	CHECK_EQ(r.http_status, bc->http);
	if (bc->http == 200) {
		CHECK(r.cim_error == NULL);
		CHECK_EQ(code, bc->cim);
	} else {
		CHECK_STR(r.cim_error, bc->cimerror);
		CHECK(r.body == NULL);
	}
	CHECK_EQ(actions(), 0);
	if (!bc->reads)
		CHECK_EQ(enum_calls, 0);
	reply_free(&r);
}

static void test_bad_requests(void)
{
	size_t n = sizeof bad_cases / sizeof bad_cases[0];

	CHECK(n >= 30);
	for (size_t i = 0; i < n; i++)
		run_bad_case(&bad_cases[i]);
}

/* Header problems that the table's send_as() cannot express. */
static void test_bad_headers(void)
{
	const char *body = IMC("GetClass", CN(VSC));
	cimxml_request req = { .cim_operation = "MethodResponse", .cim_method = "GetClass",
	                       .cim_object = NSO, .content_type = XML_CT, .body = body,
	                       .len = strlen(body) };
	cimxml_reply r;
	int saved = cfg.max_envelope_size;

	cimxml_handle(&prov, &cfg, &admin, &req, &r);
	CHECK_EQ(r.http_status, 400);
	CHECK_STR(r.cim_error, CIMERR_UNSUPPORTED_OP);
	reply_free(&r);
	req.cim_operation = NULL;
	cimxml_handle(&prov, &cfg, &admin, &req, &r);
	CHECK_STR(r.cim_error, CIMERR_UNSUPPORTED_OP);
	reply_free(&r);
	req.cim_operation = "methodcall";
	req.content_type = "text/plain";
	cimxml_handle(&prov, &cfg, &admin, &req, &r);
	CHECK_EQ(r.http_status, 400);
	CHECK_STR(r.cim_error, CIMERR_NOT_VALID);
	reply_free(&r);
	req.content_type = "text/xml";
	cimxml_handle(&prov, &cfg, &admin, &req, &r);
	CHECK_EQ(r.http_status, 200);
	CHECK_EQ(error_code(&r), 0);
	reply_free(&r);
	/* over the configured envelope size */
	cfg.max_envelope_size = 64;
	cimxml_handle(&prov, &cfg, &admin, &req, &r);
	CHECK_EQ(r.http_status, 413);
	CHECK(r.body == NULL);
	reply_free(&r);
	cfg.max_envelope_size = saved;
	/* a NULL body */
	req.body = NULL;
	req.len = 0;
	cimxml_handle(&prov, &cfg, &admin, &req, &r);
	CHECK_EQ(r.http_status, 400);
	CHECK_STR(r.cim_error, CIMERR_NOT_WELL_FORMED);
	reply_free(&r);
}

/* Every prefix of a valid request is either refused cleanly or answered. */
static void test_truncations(void)
{
	const char *full = MC("SendMessage", KEYS("2"), PV("Title", "t") PV("Message", "m"));
	size_t n = strlen(full);
	char *buf = malloc(n + 1);
	int bad = 0;

	reset_counters();
	for (size_t i = 0; buf != NULL && i < n; i++) {
		cimxml_reply r;

		memcpy(buf, full, i);
		buf[i] = '\0';
		send_as(&admin, "SendMessage", OBJ("2"), buf, &r);
		if (r.http_status != 400)
			bad++;
		reply_free(&r);
	}
	CHECK_EQ(bad, 0);
	CHECK_EQ(actions(), 0);
	free(buf);
}

/* SEND_AS through cimxml_handle_streamed: the reply's start, its stream left in R. */
static void send_streamed(const char *method, const char *body, cimxml_reply *r)
{
	cimxml_request req = {
		.cim_operation = MC_HDR, .cim_method = method, .cim_object = NSO,
		.content_type = XML_CT, .body = body, .len = strlen(body),
	};

	cimxml_handle_streamed(&prov, &cfg, &admin, &req, r);
}

/*
 * Issue 13: EnumerateInstances(Names) and ExecQuery leave their instances
 * to a stream, written while the reply is sent; the whole reply is the
 * same as cimxml_handle's.  A failure is known before the stream opens: it
 * is an ERROR, with no stream.
 */
static void test_streamed(void)
{
	static const struct { const char *method, *body, *count; } ops[] = {
		{ "EnumerateInstances", IMC("EnumerateInstances", CN(VSC)),
		  "count(" RSP "/IRETURNVALUE/VALUE.NAMEDINSTANCE)" },
		{ "EnumerateInstanceNames", IMC("EnumerateInstanceNames", CN(VSC)),
		  "count(" RSP "/IRETURNVALUE/INSTANCENAME)" },
		{ "ExecQuery", QUERY("WQL", "SELECT * FROM " VSC " WHERE SessionId > 2"),
		  "count(" RSP "/IRETURNVALUE/VALUE.OBJECTWITHPATH)" },
	};
	static const int expect[] = { 2, 2, 1 };

	for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
		cimxml_reply r, whole;
		xmlDoc *d;

		send_streamed(ops[i].method, ops[i].body, &r);
		CHECK(r.stream.next != NULL);
		CHECK(r.len > 14 && memcmp(r.body + r.len - 14, "<IRETURNVALUE>", 14) == 0);
		CHECK(body_stream_into(&r.stream, &r.body, &r.len));
		send_as(&admin, ops[i].method, NSO, ops[i].body, &whole);
		CHECK(whole.stream.next == NULL);
		CHECK(r.len == whole.len && memcmp(r.body, whole.body, r.len) == 0);
		d = reply_doc(&r);
		CHECK_EQ(xpn(d, ops[i].count), expect[i]);
		xmlFreeDoc(d);
		reply_free(&r);
		reply_free(&whole);
	}
	{
		cimxml_reply r;

		send_streamed("EnumerateInstances", IMC("EnumerateInstances", CN("NoSuchClass")), &r);
		CHECK(r.stream.next == NULL);
		CHECK_EQ(error_code(&r), 5);     /* CIM_ERR_INVALID_CLASS */
		reply_free(&r);
		send_streamed("ExecQuery", QUERY("WQL", "SELECT * FROM"), &r);
		CHECK(r.stream.next == NULL);
		CHECK(r.body != NULL && strstr(r.body, "<ERROR") != NULL);
		reply_free(&r);
	}
}

/*
 * What the request's tree gives the parser: character data joined across
 * comments, references and CDATA sections; attribute values with their
 * references replaced; an attribute in a namespace is not the one without;
 * an element inside a KEYVALUE is a CIM error naming both.
 */
static void parse_gi(const char *body, cimxml_call *call, cimxml_status *st, bool want_ok)
{
	cimxml_request req = { .cim_operation = "MethodCall", .cim_method = "GetInstance",
	                       .cim_object = NSO, .content_type = "application/xml",
	                       .body = body, .len = strlen(body) };
	bool ok = cimxml_parse(&req, 1 << 20, call, st);

	if (ok != want_ok)
		fprintf(stderr, "parse_gi: %d %s\n", st->http_status, st->err.message);
	CHECK(ok == want_ok);
}

static void test_tree_text(void)
{
	cimxml_call call;
	cimxml_status st;

	parse_gi(GI("<KEYBINDING xmlns:p=\"urn:x\" p:NAME=\"Other\" NAME=\"VMHost&#78;ame\">"
	            "<KEYVALUE VALUETYPE=\"string\">host1<!-- a comment -->.exa&#109;ple"
	            "<![CDATA[.com]]></KEYVALUE></KEYBINDING>" KB("SessionId", "numeric", " 2 ")),
	         &call, &st, true);
	CHECK_EQ(call.op, CIMXML_OP_GET_INSTANCE);
	CHECK_EQ(call.path.nkeys, 2);
	if (call.path.nkeys == 2) {
		CHECK_STR(call.path.keys[0].name, "VMHostName");
		CHECK_EQ(call.path.keys[0].value.type, CIM_TYPE_STRING);
		CHECK_STR(call.path.keys[0].value.u.str, "host1.example.com");
		CHECK_STR(call.path.keys[1].name, "SessionId");
	}
	cimxml_call_free(&call);

	parse_gi(GI("<KEYBINDING NAME=\"VMHostName\"><KEYVALUE VALUETYPE=\"string\">a<B/>"
	            "</KEYVALUE></KEYBINDING>" KB("SessionId", "numeric", "2")), &call, &st, false);
	CHECK_EQ(st.http_status, 200);
	CHECK_STR(st.err.message, "<KEYVALUE> may hold only text, not <B>");
	cimxml_call_free(&call);
}

int main(void)
{
	rdms_config_defaults(&cfg);
	snprintf(cfg.vm_host_name, sizeof cfg.vm_host_name, "host1.example.com");
	snprintf(cfg.vm_name, sizeof cfg.vm_name, "vm-a");
	snprintf(cfg.collection_id, sizeof cfg.collection_id, "Pool1");
	snprintf(cfg.domain_name, sizeof cfg.domain_name, "CORP");
	memset(&prov, 0, sizeof prov);
	prov.cfg = &cfg;
	prov.backends[0] = &test_backend;
	prov.nbackends = 1;
	prov.audit = count_audit;

	test_capture_ei();
	test_capture_ein_gi();
	test_capture_getclass();
	test_capture_invoke();
	test_queries_and_lists();
	test_invoke_rules();
	test_writer();
	test_tree_text();
	test_bad_requests();
	test_bad_headers();
	test_truncations();
	test_streamed();
	xmlCleanupParser();
	return check_summary("cimxml");
}
