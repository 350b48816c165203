/*
 * test_fleet_reads.c -- reads at a fleet broker (spec/fleet.md 3.6):
 *   - the stateless enumeration context (src/wsman/wsman_ctx.h) under the
 *     broker's HMAC: round trip, every byte tampered, every truncation,
 *     expiry, another caller, another secret, the directory's secret kept
 *     across a restart;
 *   - the WQL pushdown (broker.c): every query read page by page through
 *     the pushdown gives exactly what the one evaluator gives on all the
 *     rows, for admins and owners, and what must not be pushed is not;
 *   - WS-Man Enumerate/Pull/Release through the broker's provider: paged
 *     union, a Pull after a restart, refused contexts, a request sent
 *     again read again (not replayed), a Pull reading about what it sends,
 *     a selector filter paged as the query of its equalities.
 * Run on each store: `test_fleet_reads sqlite` and `test_fleet_reads
 * postgresql` (on a PostgreSQL 15 it starts itself: pg_server.h; skipped,
 * exit 77, when it is not installed).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>

#include "check.h"
#include "pg_server.h"
#include "fleet/broker.h"
#include "fleet/store.h"
#include "ops/provider.h"
#include "schema/schema.h"
#include "wsman/wsman_ctx.h"
#include "wsman/wsman_internal.h"

static char dir[] = "/tmp/test_fleet_reads.XXXXXX";
/* the store under test: "sqlite" (PATH) or "postgresql" (PG, database rdms) */
static const char *store_kind = "sqlite";
static pg_server pg;

/* Store kind's directory: the test's (DB "rdms"), or another one; for a broker. */
static fleet_store *open_store(const char *db, rdms_error *err)
{
	char where[256];

	if (strcmp(store_kind, "sqlite") == 0) {
		snprintf(where, sizeof where, "%s/%s.db", dir, strcmp(db, "rdms") == 0 ? "fleet" : db);
		return fleet_store_open("sqlite", where, FLEET_OPEN_BROKER, err);
	}
	pg_server_dsn(&pg, db, where, sizeof where);
	/* the first opening makes the schema: a broker's would be refused without it */
	return fleet_store_open("postgresql", where, FLEET_OPEN_INIT, err);
}

#define NHOSTS   3
#define PER_HOST 700       /* 2,100 rows: a cursor's pages of 128, 512 and 1,000, and more */

static const char *const hosts[NHOSTS] = { "HVb", "hvA", "hvc" };   /* key order: bytewise */
static const char *const users[] = { "alice", "ALICE", "Bob", NULL, "carol", "bob" };

static rdms_caller admin = { .uid = 0, .user = "root", .is_admin = true,
                             .protocol = "wsman", .source = "test" };
static rdms_caller alice = { .uid = 1001, .user = "alice", .is_admin = false,
                             .protocol = "wsman", .source = "test" };

static int64_t now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* ---- the directory -------------------------------------------------------------- */

static void fill(fleet_store *st)
{
	static fleet_session s[PER_HOST];
	rdms_error err = { 0 };

	for (int h = 0; h < NHOSTS; h++) {
		fleet_host fh = { .url = "https://198.18.1.1:5986/wsman" };

		snprintf(fh.name, sizeof fh.name, "%s", hosts[h]);
		CHECK_EQ(fleet_store_host_add(st, &fh, &err), 0);
		for (int i = 0; i < PER_HOST; i++) {
			/* SessionIds shared between hosts, a few NULL users, mixed case */
			s[i] = (fleet_session){
				.host = hosts[h], .id = (uint32_t)(i * 3 + (h == 2 ? 1 : 0)),
				.vm_name = "vm", .connect_state = (i % 5 == 0) ? 4 : 0,
				.user_name = users[(i + h) % 6], .domain_name = i % 2 ? "CORP" : "corp",
				.collection_id = "pool", .client_machine_name = i % 7 ? "PC" : NULL,
			};
		}
		CHECK_EQ(fleet_store_apply_snapshot(st, hosts[h], fleet_version(1, 1), s, PER_HOST,
		                                    &err), FLEET_APPLIED);
	}
}

/* A broker on the directory at PATH: its store, provider and context key. */
typedef struct broker_env {
	rdms_config   cfg;
	fleet_broker  b;
	rdms_provider p;
} broker_env;

static bool broker_open(broker_env *e, int timeout_s)
{
	rdms_error err = { 0 };

	memset(e, 0, sizeof *e);
	rdms_config_defaults(&e->cfg);
	e->cfg.enumeration_timeout_s = timeout_s;
	snprintf(e->cfg.broker_name, sizeof e->cfg.broker_name, "b1");
	e->b.cfg = &e->cfg;
	e->b.store = open_store("rdms", &err);
	if (e->b.store == NULL) {
		fprintf(stderr, "%s\n", err.message);
		return false;
	}
	rdms_provider_init(&e->p, &e->cfg);
	e->p.classes = fleet_broker_classes;
	e->p.fleet = &e->b;
	return fleet_broker_contexts(&e->b, &e->p, &err) == WBEM_S_NO_ERROR;
}

static void broker_close(broker_env *e)
{
	fleet_store_close(e->b.store);
}

/* ---- the context codec ---------------------------------------------------------- */

static void test_codec(broker_env *e)
{
	fleet_broker other = { 0 };
	wsman_ctx_state st = {
		.mode = 2, .expires_ms = now_ms() + 60000, .started = true,
		.after = { "hvA", 42 }, .owner = "alice", .ns = "root/cimv2/rdms",
		.class_name = "Win32_VirtualDesktopSession",
		.uri = URI_WMI_PREFIX "root/cimv2/rdms/Win32_VirtualDesktopSession",
		.wql = "SELECT * FROM Win32_VirtualDesktopSession WHERE UserName = 'alice'",
	};
	wsman_ctx_state got;
	const char *why;
	void *buf;
	char *text = wsman_ctx_seal(&st, fleet_ctx_mac, &e->b), *bad;
	size_t len, refused = 0, cut = 0;

	CHECK(text != NULL);
	if (text == NULL)
		return;
	len = strlen(text);
	CHECK(wsman_ctx_is_sealed(text));
	CHECK(len <= wsman_ctx_sealed_max(&st));
	CHECK(wsman_ctx_open(text, fleet_ctx_mac, &e->b, "alice", now_ms(), &got, &buf, &why));
	CHECK_EQ(got.mode, 2);
	CHECK(got.started);
	CHECK_STR(got.after.text, "hvA");
	CHECK_EQ(got.after.num, 42);
	CHECK_STR(got.owner, "alice");
	CHECK_STR(got.class_name, "Win32_VirtualDesktopSession");
	CHECK_STR(got.wql, st.wql);
	CHECK(got.ns_selector == NULL);
	CHECK_EQ(got.expires_ms, st.expires_ms);
	free(buf);

	/* every byte changed, to every other character of the alphabet and to a stranger */
	bad = strdup(text);
	for (size_t i = 0; bad != NULL && i < len; i++) {
		static const char alt[] = "AZaz09-_x!";

		for (const char *a = alt; *a != '\0'; a++) {
			if (*a == text[i])
				continue;
			bad[i] = *a;
			refused += !wsman_ctx_open(bad, fleet_ctx_mac, &e->b, "alice", now_ms(), &got,
			                           &buf, &why);
			bad[i] = text[i];
		}
	}
	{
		size_t tries = 0;

		for (size_t i = 0; i < len; i++)
			for (const char *a = "AZaz09-_x!"; *a != '\0'; a++)
				tries += *a != text[i];
		CHECK_EQ(refused, tries);
	}
	/* every truncation */
	for (size_t n = 0; bad != NULL && n < len; n++) {
		bad[n] = '\0';
		cut += !wsman_ctx_open(bad, fleet_ctx_mac, &e->b, "alice", now_ms(), &got, &buf, &why);
		bad[n] = text[n];
	}
	CHECK_EQ(cut, len);
	free(bad);

	/* expired, another caller, another secret */
	CHECK(!wsman_ctx_open(text, fleet_ctx_mac, &e->b, "alice", st.expires_ms, &got, &buf, &why));
	CHECK_STR(why, "expired");
	CHECK(!wsman_ctx_open(text, fleet_ctx_mac, &e->b, "bob", now_ms(), &got, &buf, &why));
	CHECK_STR(why, "issued to another caller");
	memcpy(other.ctx_key, e->b.ctx_key, sizeof other.ctx_key);
	other.ctx_key[31] ^= 1;
	CHECK(!wsman_ctx_open(text, fleet_ctx_mac, &other, "alice", now_ms(), &got, &buf, &why));
	CHECK(strstr(why, "signature") != NULL);
	CHECK(buf == NULL);
	free(text);

	/* a context of no query, not started, with a __cimnamespace selector */
	st.wql = NULL;
	st.started = false;
	st.ns_selector = "root/cimv2/rdms";
	text = wsman_ctx_seal(&st, fleet_ctx_mac, &e->b);
	CHECK(text != NULL &&
	      wsman_ctx_open(text, fleet_ctx_mac, &e->b, "alice", now_ms(), &got, &buf, &why));
	CHECK(!got.started && got.wql == NULL);
	CHECK_STR(got.ns_selector, "root/cimv2/rdms");
	free(buf);
	free(text);
}

/* The directory's secret: made once, the same after a restart, another directory's differs. */
static void test_secret(broker_env *e)
{
	uint8_t again[FLEET_SECRET_BYTES], elsewhere[FLEET_SECRET_BYTES];
	rdms_error err = { 0 };
	fleet_store *st;

	CHECK_EQ(fleet_store_secret(e->b.store, FLEET_CTX_SECRET, again, &err), 0);
	CHECK(memcmp(again, e->b.ctx_key, sizeof again) == 0);
	st = open_store("other", &err);
	CHECK(st != NULL);
	if (st != NULL) {
		CHECK_EQ(fleet_store_secret(st, FLEET_CTX_SECRET, elsewhere, &err), 0);
		CHECK(memcmp(elsewhere, again, sizeof again) != 0);
		CHECK(fleet_store_secret(st, "", elsewhere, &err) == WBEM_E_INVALID_PARAMETER);
		fleet_store_close(st);
	}
}

/* ---- the pushdown ----------------------------------------------------------------- */

typedef struct keys {
	strbuf b;
	size_t n;
} keys;

static uint32_t key_of_row(void *ctx, cim_instance *inst, size_t left, rdms_error *err)
{
	keys *k = ctx;

	(void)left; (void)err;
	strbuf_printf(&k->b, "%s/%u ",
	              inst->values[RDMS_WIN32_VIRTUALDESKTOPSESSION_VMHOSTNAME].u.str,
	              inst->values[RDMS_WIN32_VIRTUALDESKTOPSESSION_SESSIONID].u.u32);
	k->n++;
	cim_instance_free(inst);
	return WBEM_S_NO_ERROR;
}

/* What the evaluator selects of every row WHO may see (the walk with no pushdown). */
struct evaluated {
	keys       *k;
	wql_query  *q;
};

static uint32_t eval_row(void *ctx, cim_instance *inst, size_t left, rdms_error *err)
{
	struct evaluated *ev = ctx;

	if (!wql_match(ev->q, inst)) {
		cim_instance_free(inst);
		return WBEM_S_NO_ERROR;
	}
	return key_of_row(ev->k, inst, left, err);
}

/* Q through the paged cursor (pushdown) and through the evaluator alone: the same rows. */
static void same_rows(broker_env *e, const rdms_caller *who, const char *q, bool pushed)
{
	keys want = { 0 }, got = { 0 };
	rdms_error err = { 0 };
	wql_query *parsed = NULL, *cq = NULL;
	rdms_cursor *c = NULL;
	struct evaluated ev = { &want, NULL };
	fleet_page page = { .limit = 1 };
	bool none;
	cim_instance *inst;
	int failed = check_failed;

	CHECK_EQ(wql_parse(q, rdms_schema_find, &parsed, &err), 0);
	if (parsed == NULL)
		return;
	ev.q = parsed;
	CHECK_EQ(rdms_op_enumerate_each(&e->p, who, NULL, "Win32_VirtualDesktopSession", eval_row,
	                                &ev, &err), 0);
	CHECK_EQ(rdms_op_query_cursor(&e->p, who, NULL, q, &cq, &c, &err), 0);
	while (c != NULL && (inst = rdms_cursor_next(c, &err)) != NULL)
		key_of_row(&got, inst, 0, &err);
	CHECK_EQ(err.code, 0);
	CHECK_EQ(got.n, want.n);
	CHECK_STR(got.b.data != NULL ? got.b.data : "", want.b.data != NULL ? want.b.data : "");
	/* pushed down, or (an admin's query) not */
	CHECK_EQ(fleet_session_page(who, parsed, &page, &none), pushed || !who->is_admin);
	if (check_failed != failed)
		fprintf(stderr, "  ^ query %s as %s: %zu rows, expected %zu\n", q, who->user, got.n,
		        want.n);
	rdms_cursor_free(c);
	wql_free(cq);
	wql_free(parsed);
	strbuf_free(&want.b);
	strbuf_free(&got.b);
}

#define Q "SELECT * FROM Win32_VirtualDesktopSession WHERE "

static void test_pushdown(broker_env *e)
{
	static const char *const pushed[] = {
		Q "UserName = 'alice'", Q "UserName = 'ALICE'", Q "username = \"bOB\"",
		Q "'carol' = UserName", Q "VMHostName = 'hva'", Q "VMHostName = 'HVB'",
		Q "SessionId = 42", Q "SessionId = 43", Q "ConnectState = 4",
		Q "UserName = 'alice' AND ConnectState = 4",
		Q "VMHostName = 'hvc' AND SessionId = 301 AND ConnectState = 0",
		Q "UserName = 'bob' AND (SessionId = 3 OR SessionId = 6)",
		Q "UserName = 'alice' AND ClientMachineName LIKE 'P%'",
		Q "NOT (UserName <> 'alice') AND UserName = 'alice'",
		Q "UserName = 'alice' AND UserName = 'bob'",
		Q "UserName = 'nobody'", Q "SessionId = 4294967295",
		Q "(UserName = 'alice' OR ConnectState = 4) AND VMHostName = 'hvA'",
	};
	static const char *const not_pushed[] = {
		"SELECT * FROM Win32_VirtualDesktopSession",
		Q "UserName = 'alice' OR UserName = 'bob'",
		Q "NOT (UserName = 'alice')", Q "UserName <> 'alice'", Q "UserName LIKE 'ali%'",
		Q "UserName IS NULL", Q "UserName IS NOT NULL", Q "SessionId > 100",
		Q "SessionId <= 3", Q "ConnectState != 4", Q "DomainName = 'corp'",
		Q "ClientMachineName = 'PC'", Q "NOT (ConnectState = 4 AND UserName = 'bob')",
		Q "UserName = 'alice' OR SessionId = 3",
	};

	for (size_t i = 0; i < sizeof pushed / sizeof pushed[0]; i++) {
		same_rows(e, &admin, pushed[i], true);
		same_rows(e, &alice, pushed[i], true);
	}
	for (size_t i = 0; i < sizeof not_pushed / sizeof not_pushed[0]; i++) {
		same_rows(e, &admin, not_pushed[i], false);
		same_rows(e, &alice, not_pushed[i], false);
	}
}

/* ---- WS-Man through the broker ---------------------------------------------------- */

#define ENV_OPEN "<s:Envelope xmlns:s=\"" NS_SOAP "\" xmlns:wsa=\"" NS_WSA \
	"\" xmlns:wsman=\"" NS_WSMAN "\" xmlns:wsen=\"" NS_WSEN "\">"
#define URI_SESS URI_WMI_PREFIX "root/cimv2/rdms/Win32_VirtualDesktopSession"
#define URI_ANY URI_WMI_PREFIX "root/cimv2/rdms/*"

static char *build(const char *action, const char *uri, const char *body)
{
	static int id;
	strbuf b = { 0 };

	strbuf_puts(&b, ENV_OPEN "<s:Header>");
	strbuf_printf(&b, "<wsa:Action s:mustUnderstand=\"true\">%s</wsa:Action>", action);
	strbuf_printf(&b, "<wsman:ResourceURI s:mustUnderstand=\"true\">%s</wsman:ResourceURI>", uri);
	strbuf_printf(&b, "<wsa:MessageID>uuid:00000000-0000-0000-0000-%012d</wsa:MessageID>", ++id);
	strbuf_puts(&b, "<wsa:ReplyTo><wsa:Address>" URI_ANONYMOUS "</wsa:Address></wsa:ReplyTo>");
	strbuf_puts(&b, "<wsman:MaxEnvelopeSize>512000</wsman:MaxEnvelopeSize>");
	strbuf_printf(&b, "</s:Header><s:Body>%s</s:Body></s:Envelope>", body);
	return strbuf_take(&b);
}

static xmlDoc *call(wsman_service *s, const rdms_caller *who, char *req, int *status)
{
	wsman_reply r;
	xmlDoc *d;

	wsman_handle(s, who, req, strlen(req), &r);
	free(req);
	*status = r.http_status;
	d = r.body != NULL ? xmlReadMemory(r.body, (int)r.len, NULL, NULL, XML_PARSE_NONET |
	                                   XML_PARSE_NOERROR | XML_PARSE_HUGE) : NULL;
	free(r.body);
	return d;
}

/* string(EXPR) of D, malloc'd ("" when nothing). */
static char *xs(xmlDoc *d, const char *expr)
{
	xmlXPathContextPtr ctx;
	xmlXPathObjectPtr o;
	char e[512], *out;

	if (d == NULL)
		return strdup("");
	ctx = xmlXPathNewContext(d);
	xmlXPathRegisterNs(ctx, (const xmlChar *)"s", (const xmlChar *)NS_SOAP);
	xmlXPathRegisterNs(ctx, (const xmlChar *)"wsen", (const xmlChar *)NS_WSEN);
	xmlXPathRegisterNs(ctx, (const xmlChar *)"wsman", (const xmlChar *)NS_WSMAN);
	xmlXPathRegisterNs(ctx, (const xmlChar *)"q", (const xmlChar *)URI_SESS);
	snprintf(e, sizeof e, "string(%s)", expr);
	o = xmlXPathEvalExpression((const xmlChar *)e, ctx);
	out = strdup(o != NULL && o->type == XPATH_STRING ? (const char *)o->stringval : "");
	xmlXPathFreeObject(o);
	xmlXPathFreeContext(ctx);
	return out;
}

/* The keys of D's items ("host/id " each) onto K. */
static void item_keys(xmlDoc *d, keys *k)
{
	xmlXPathContextPtr ctx = xmlXPathNewContext(d);
	xmlXPathObjectPtr o;

	xmlXPathRegisterNs(ctx, (const xmlChar *)"q", (const xmlChar *)URI_SESS);
	o = xmlXPathEvalExpression((const xmlChar *)"//q:Win32_VirtualDesktopSession", ctx);
	for (int i = 0; o != NULL && o->nodesetval != NULL && i < o->nodesetval->nodeNr; i++) {
		xmlChar *host = NULL, *id = NULL;

		for (xmlNode *c = o->nodesetval->nodeTab[i]->children; c != NULL; c = c->next) {
			if (c->type != XML_ELEMENT_NODE)
				continue;
			if (strcmp((const char *)c->name, "VMHostName") == 0)
				host = xmlNodeGetContent(c);
			else if (strcmp((const char *)c->name, "SessionId") == 0)
				id = xmlNodeGetContent(c);
		}
		strbuf_printf(&k->b, "%s/%s ", host ? (char *)host : "?", id ? (char *)id : "?");
		k->n++;
		xmlFree(host);
		xmlFree(id);
	}
	xmlXPathFreeObject(o);
	xmlXPathFreeContext(ctx);
}

#define OPT_ENUM(max, extra) "<wsen:Enumerate><wsman:OptimizeEnumeration/><wsman:MaxElements>" \
	max "</wsman:MaxElements><wsman:EnumerationMode>EnumerateObjectAndEPR" \
	"</wsman:EnumerationMode>" extra "</wsen:Enumerate>"

static char *pull_body(const char *ctx, int max)
{
	strbuf b = { 0 };

	strbuf_printf(&b, "<wsen:Pull><wsen:EnumerationContext>%s</wsen:EnumerationContext>"
	              "<wsen:MaxElements>%d</wsen:MaxElements></wsen:Pull>", ctx, max);
	return strbuf_take(&b);
}

/* Pulls CTX (freed) to its end as WHO, the items onto K; the number of Pulls. */
static int pull_all(wsman_service *s, const rdms_caller *who, char *ctx, int max, keys *k)
{
	int pulls = 0, status;

	while (ctx != NULL && ctx[0] != '\0' && pulls < 10000) {
		char *body = pull_body(ctx, max);
		xmlDoc *d = call(s, who, build(ACTION_PULL, URI_SESS, body), &status);

		free(body);
		CHECK_EQ(status, 200);
		free(ctx);
		ctx = status == 200 ? xs(d, "//wsen:PullResponse/wsen:EnumerationContext") : NULL;
		CHECK(ctx == NULL || ctx[0] == '\0' || wsman_ctx_is_sealed(ctx));
		item_keys(d, k);
		xmlFreeDoc(d);
		pulls++;
	}
	free(ctx);
	return pulls;
}

/* The keys the evaluator gives for query Q (NULL: every row) as WHO. */
static void expected(broker_env *e, const rdms_caller *who, const char *q, keys *k)
{
	rdms_error err = { 0 };
	struct evaluated ev = { k, NULL };

	if (q != NULL)
		CHECK_EQ(wql_parse(q, rdms_schema_find, &ev.q, &err), 0);
	if (q == NULL)
		CHECK_EQ(rdms_op_enumerate_each(&e->p, who, NULL, "Win32_VirtualDesktopSession",
		                                key_of_row, k, &err), 0);
	else
		CHECK_EQ(rdms_op_enumerate_each(&e->p, who, NULL, "Win32_VirtualDesktopSession",
		                                eval_row, &ev, &err), 0);
	wql_free(ev.q);
}

static void check_fault(xmlDoc *d, int status, const char *label)
{
	char *sub = xs(d, "/s:Envelope/s:Body/s:Fault/s:Code/s:Subcode/s:Value");

	CHECK_EQ(status, 500);
	CHECK_STR(sub, "wsen:InvalidEnumerationContext");
	if (strcmp(sub, "wsen:InvalidEnumerationContext") != 0)
		fprintf(stderr, "  ^ in %s\n", label);
	free(sub);
}

/* A Pull of CTX as WHO: refused with wsen:InvalidEnumerationContext. */
static void refused_pull(wsman_service *s, const rdms_caller *who, const char *ctx,
                         const char *label)
{
	char *body = pull_body(ctx, 10);
	int status;
	xmlDoc *d = call(s, who, build(ACTION_PULL, URI_SESS, body), &status);

	check_fault(d, status, label);
	xmlFreeDoc(d);
	free(body);
}

static void test_wsman(broker_env *e)
{
	keys want = { 0 }, got = { 0 };
	wsman_service *s = wsman_service_new(&e->p, &e->cfg);
	int status, pulls;
	char *ctx, *body;
	xmlDoc *d;

	CHECK(s != NULL);
	if (s == NULL)
		return;
	/* PowerShell's shape, smaller: optimized, ObjectAndEPR, then Pulls */
	expected(e, &admin, NULL, &want);
	CHECK_EQ(want.n, NHOSTS * PER_HOST);
	d = call(s, &admin, build(ACTION_ENUMERATE, URI_SESS, OPT_ENUM("500", "")), &status);
	CHECK_EQ(status, 200);
	item_keys(d, &got);
	CHECK_EQ(got.n, 500);
	ctx = xs(d, "//wsen:EnumerateResponse/wsen:EnumerationContext");
	CHECK(wsman_ctx_is_sealed(ctx));
	xmlFreeDoc(d);
	pulls = pull_all(s, &admin, ctx, 700, &got);
	CHECK_EQ(pulls, 3);    /* 1,600 left: 700 + 700 + 200 */
	CHECK_EQ(got.n, want.n);
	CHECK_STR(got.b.data, want.b.data);
	strbuf_free(&got.b);
	got = (keys){ 0 };

	/* not optimized: the context alone, then Pulls; and a Release */
	d = call(s, &admin, build(ACTION_ENUMERATE, URI_SESS, "<wsen:Enumerate/>"), &status);
	ctx = xs(d, "//wsen:EnumerateResponse/wsen:EnumerationContext");
	xmlFreeDoc(d);
	CHECK(wsman_ctx_is_sealed(ctx));
	body = strdup(ctx);
	pull_all(s, &admin, ctx, 1500, &got);
	CHECK_STR(got.b.data, want.b.data);
	ctx = body;
	body = malloc(strlen(ctx) + 100);
	sprintf(body, "<wsen:Release><wsen:EnumerationContext>%s</wsen:EnumerationContext>"
	        "</wsen:Release>", ctx);
	d = call(s, &admin, build(ACTION_RELEASE, URI_SESS, body), &status);
	CHECK_EQ(status, 200);
	xmlFreeDoc(d);
	/* Release by someone else, and a tampered one: faults */
	d = call(s, &alice, build(ACTION_RELEASE, URI_SESS, body), &status);
	check_fault(d, status, "release by another caller");
	xmlFreeDoc(d);
	body[strlen("<wsen:Release><wsen:EnumerationContext>") + 20] ^= 1;
	d = call(s, &admin, build(ACTION_RELEASE, URI_SESS, body), &status);
	check_fault(d, status, "tampered release");
	xmlFreeDoc(d);
	free(body);

	/* tampered, another caller's, expired, truncated: faulted */
	refused_pull(s, &alice, ctx, "another caller's pull");
	ctx[strlen(ctx) - 5] = ctx[strlen(ctx) - 5] == 'A' ? 'B' : 'A';
	refused_pull(s, &admin, ctx, "tampered pull");
	ctx[strlen(ctx) / 2] = '\0';
	refused_pull(s, &admin, ctx, "truncated pull");
	free(ctx);
	{
		wsman_ctx_state st = {
			.mode = WSMAN_MODE_OBJECT, .expires_ms = now_ms() - 1, .owner = "root",
			.ns = "root/cimv2/rdms", .class_name = "Win32_VirtualDesktopSession",
			.uri = URI_SESS,
		};

		ctx = wsman_ctx_seal(&st, fleet_ctx_mac, &e->b);
		refused_pull(s, &admin, ctx, "expired pull");
		free(ctx);
	}

	/* WQL through the broker, wildcard URI, pushed down, paged */
	strbuf_free(&want.b);
	strbuf_free(&got.b);
	want = got = (keys){ 0 };
	expected(e, &admin, Q "UserName = 'ALICE' AND ConnectState = 0", &want);
	CHECK(want.n > 100);
	d = call(s, &admin, build(ACTION_ENUMERATE, URI_ANY, OPT_ENUM("100",
	         "<wsman:Filter Dialect=\"" DIALECT_WQL "\">" Q "UserName = 'ALICE' AND "
	         "ConnectState = 0</wsman:Filter>")), &status);
	CHECK_EQ(status, 200);
	item_keys(d, &got);
	ctx = xs(d, "//wsen:EnumerateResponse/wsen:EnumerationContext");
	xmlFreeDoc(d);
	pull_all(s, &admin, ctx, 90, &got);
	CHECK_EQ(got.n, want.n);
	CHECK_STR(got.b.data, want.b.data);
	/* a non-admin's enumeration: her sessions only */
	strbuf_free(&want.b);
	strbuf_free(&got.b);
	want = got = (keys){ 0 };
	expected(e, &alice, NULL, &want);
	d = call(s, &alice, build(ACTION_ENUMERATE, URI_SESS, OPT_ENUM("50", "")), &status);
	item_keys(d, &got);
	ctx = xs(d, "//wsen:EnumerateResponse/wsen:EnumerationContext");
	xmlFreeDoc(d);
	pull_all(s, &alice, ctx, 333, &got);
	CHECK(want.n > 0);
	CHECK_STR(got.b.data, want.b.data);
	strbuf_free(&want.b);
	strbuf_free(&got.b);
	wsman_service_free(s);
}

/*
 * Keyset pages (rdms:Keyset, what `rdms list --first N --after HOST,ID`
 * sends): each an Enumerate of its own after the last key of the page
 * before, no context kept; put together they are the whole enumeration,
 * in order, for an admin, with a WQL filter, and for an owner.
 */
static void keyset_pages(wsman_service *s, const rdms_caller *who, const char *wql, keys *got)
{
	char after[300] = "";

	for (int pages = 0; pages < 1000; pages++) {
		strbuf b = { 0 };
		size_t before = got->b.len;
		int status;
		xmlDoc *d;
		char *last, *slash;

		strbuf_puts(&b, ENV_OPEN "<s:Header>");
		strbuf_puts(&b, "<wsa:Action s:mustUnderstand=\"true\">" ACTION_ENUMERATE "</wsa:Action>");
		strbuf_printf(&b, "<wsman:ResourceURI>%s</wsman:ResourceURI>", wql ? URI_ANY : URI_SESS);
		strbuf_printf(&b, "<wsa:MessageID>uuid:00000000-0000-0000-0001-%012d</wsa:MessageID>",
		              pages);
		strbuf_puts(&b, "<wsa:ReplyTo><wsa:Address>" URI_ANONYMOUS "</wsa:Address></wsa:ReplyTo>");
		strbuf_printf(&b, "<rdms:Keyset xmlns:rdms=\"" NS_RDMS "\" s:mustUnderstand=\"true\"%s/>"
		              "</s:Header><s:Body><wsen:Enumerate><wsman:OptimizeEnumeration/>"
		              "<wsman:MaxElements>37</wsman:MaxElements>", after);
		if (wql != NULL)
			strbuf_printf(&b, "<wsman:Filter Dialect=\"" DIALECT_WQL "\">%s</wsman:Filter>", wql);
		strbuf_puts(&b, "</wsen:Enumerate></s:Body></s:Envelope>");
		d = call(s, who, strbuf_take(&b), &status);
		CHECK_EQ(status, 200);
		item_keys(d, got);
		xmlFreeDoc(d);
		if (got->b.len == before || status != 200)
			return;
		/* the page after this one's last "host/id " */
		last = got->b.data + got->b.len - 1;
		while (last > got->b.data + before && last[-1] != ' ')
			last--;
		slash = strchr(last, '/');
		snprintf(after, sizeof after, " VMHostName=\"%.*s\" SessionId=\"%.*s\"",
		         (int)(slash - last), last, (int)strcspn(slash + 1, " "), slash + 1);
	}
	CHECK(!"keyset pages do not end");
}

static void test_keyset(broker_env *e)
{
	static const char *const queries[] = { NULL, Q "ConnectState = 4", Q "UserName LIKE '%e%'" };
	const rdms_caller *whos[] = { &admin, &alice };
	wsman_service *s = wsman_service_new(&e->p, &e->cfg);

	CHECK(s != NULL);
	for (size_t w = 0; s != NULL && w < 2; w++) {
		for (size_t i = 0; i < sizeof queries / sizeof queries[0]; i++) {
			keys want = { 0 }, got = { 0 };

			expected(e, whos[w], queries[i], &want);
			CHECK(want.n > 0);
			keyset_pages(s, whos[w], queries[i], &got);
			CHECK_EQ(got.n, want.n);
			CHECK_STR(got.b.data != NULL ? got.b.data : "", want.b.data);
			strbuf_free(&want.b);
			strbuf_free(&got.b);
		}
	}
	wsman_service_free(s);
}

/* A Pull after the broker restarted on the same directory goes on where it was. */
static void test_restart(broker_env *e)
{
	keys want = { 0 }, got = { 0 };
	wsman_service *s = wsman_service_new(&e->p, &e->cfg);
	int status;
	char *ctx;
	xmlDoc *d;

	expected(e, &admin, NULL, &want);
	d = call(s, &admin, build(ACTION_ENUMERATE, URI_SESS, OPT_ENUM("1234", "")), &status);
	item_keys(d, &got);
	ctx = xs(d, "//wsen:EnumerateResponse/wsen:EnumerationContext");
	xmlFreeDoc(d);
	wsman_service_free(s);
	broker_close(e);
	CHECK(broker_open(e, 60));
	s = wsman_service_new(&e->p, &e->cfg);
	pull_all(s, &admin, ctx, 32000, &got);
	CHECK_EQ(got.n, want.n);
	CHECK_STR(got.b.data, want.b.data);
	strbuf_free(&want.b);
	strbuf_free(&got.b);
	wsman_service_free(s);
}

/* Session (HVb, ID)'s ClientMachineName becomes NAME: the directory changed, at VERSION. */
static void rename_client(broker_env *e, uint32_t id, const char *name, uint64_t version)
{
	fleet_change ch = {
		.version = version, .kind = FLEET_UPSERT,
		.s = { .host = "HVb", .id = id, .vm_name = "vm", .user_name = "alice",
		       .domain_name = "corp", .collection_id = "pool", .client_machine_name = name },
	};
	rdms_error err = { 0 };

	CHECK_EQ(fleet_store_apply_batch(e->b.store, "HVb", &ch, 1, NULL, &err), FLEET_APPLIED);
}

/* REQ (kept) as WHO: the ClientMachineName of its first item. */
static char *first_client(wsman_service *s, const char *req, char **ctx)
{
	int status;
	xmlDoc *d = call(s, &admin, strdup(req), &status);
	char *out = xs(d, "(//q:Win32_VirtualDesktopSession)[1]/q:ClientMachineName");

	CHECK_EQ(status, 200);
	if (ctx != NULL)
		*ctx = xs(d, "//wsen:EnumerationContext");
	xmlFreeDoc(d);
	return out;
}

/*
 * REQ (kept), sent again after session (HVb, ID) got ClientMachineName
 * NAME, shows NAME in its first item, which showed WAS (*CTX, when not
 * NULL: the first reply's context).
 */
static void resent_shows(wsman_service *s, broker_env *e, const char *req, char **ctx,
                         uint32_t id, const char *was, const char *name, uint64_t version)
{
	char *before = first_client(s, req, ctx), *after;

	rename_client(e, id, name, version);
	after = first_client(s, req, NULL);
	CHECK_STR(before, was);
	CHECK_STR(after, name);
	free(before);
	free(after);
}

/*
 * An Enumerate or Pull sent again (the same MessageID and body, as wsl's
 * curl --retry does) is read again, not answered from the replay cache:
 * its sealed context is all its state, so it gives the same page -- with
 * what the directory holds now (keeping each page cost a third of a big
 * enumeration's CPU, and 16 MiB of the broker's memory).
 */
static void test_resent(broker_env *e)
{
	wsman_service *s = wsman_service_new(&e->p, &e->cfg);
	char *enumerate = build(ACTION_ENUMERATE, URI_SESS, OPT_ENUM("5", "")), *pull, *ctx, *body;

	/* HVb's sessions 0, 3, ... come first; 15 is the sixth */
	resent_shows(s, e, enumerate, &ctx, 0, "", "PC-resent-1", fleet_version(1, 2));
	body = pull_body(ctx, 5);
	pull = build(ACTION_PULL, URI_SESS, body);
	resent_shows(s, e, pull, NULL, 15, "PC", "PC-resent-2", fleet_version(1, 3));
	free(body);
	free(pull);
	free(ctx);
	free(enumerate);
	wsman_service_free(s);
}

#define SELECTORS(sels) "<wsman:Filter Dialect=\"" DIALECT_SELECTOR "\"><wsman:SelectorSet>" \
	sels "</wsman:SelectorSet></wsman:Filter>"
#define SELECTOR(name, value) "<wsman:Selector Name=\"" name "\">" value "</wsman:Selector>"

/* A selector filter Enumerate of BODY as WHO gives what query Q gives, paged. */
static void same_as_query(wsman_service *s, broker_env *e, const rdms_caller *who,
                          const char *body, const char *q, int max)
{
	keys want = { 0 }, got = { 0 };
	int status;
	char *ctx;
	xmlDoc *d;

	expected(e, who, q, &want);
	d = call(s, who, build(ACTION_ENUMERATE, URI_SESS, body), &status);
	CHECK_EQ(status, 200);
	item_keys(d, &got);
	ctx = xs(d, "//wsen:EnumerateResponse/wsen:EnumerationContext");
	xmlFreeDoc(d);
	/* more than a reply holds: a sealed context, nothing listed here */
	CHECK(want.n <= (size_t)max || wsman_ctx_is_sealed(ctx));
	pull_all(s, who, ctx, max, &got);
	CHECK_EQ(got.n, want.n);
	CHECK_STR(got.b.data != NULL ? got.b.data : "", want.b.data != NULL ? want.b.data : "");
	if (got.n != want.n)
		fprintf(stderr, "  ^ selector filter for %s\n", q);
	strbuf_free(&want.b);
	strbuf_free(&got.b);
}

/*
 * A selector filter Enumerate at the broker is read page by page as the
 * query of its equalities (pushed down), with a sealed context, not
 * listed whole in memory: the same instances as the query, for an admin
 * and for an owner, a value with a quote and a backslash matched exactly,
 * a number, and a value no session has.
 */
static void test_selector_filter(broker_env *e)
{
	wsman_service *s = wsman_service_new(&e->p, &e->cfg);
	fleet_change ch = {
		.version = fleet_version(1, 2), .kind = FLEET_UPSERT,
		.s = { .host = "hvc", .id = 100000, .vm_name = "vm", .user_name = "o'Brien\\x",
		       .domain_name = "corp", .collection_id = "pool" },
	};
	rdms_error err = { 0 };

	CHECK_EQ(fleet_store_apply_batch(e->b.store, "hvc", &ch, 1, NULL, &err), FLEET_APPLIED);
	same_as_query(s, e, &admin, OPT_ENUM("40", SELECTORS(SELECTOR("UserName", "ALICE"))),
	              Q "UserName = 'alice'", 40);
	same_as_query(s, e, &admin, OPT_ENUM("25", SELECTORS(SELECTOR("VMHostName", "hva")
	              SELECTOR("ConnectState", "4"))), Q "VMHostName = 'hvA' AND ConnectState = 4",
	              25);
	same_as_query(s, e, &alice, OPT_ENUM("30", SELECTORS(SELECTOR("VMHostName", "hvA"))),
	              Q "VMHostName = 'hvA'", 30);
	same_as_query(s, e, &admin, OPT_ENUM("5", SELECTORS(SELECTOR("UserName", "O'BRIEN\\X"))),
	              Q "SessionId = 100000", 5);
	same_as_query(s, e, &admin, OPT_ENUM("5", SELECTORS(SELECTOR("UserName", "nobody"))),
	              Q "UserName = 'nobody'", 5);
	wsman_service_free(s);
}

/* The broker's session class with the rows its pages read counted. */
static size_t rows_read;
static rdms_class_provider counted_sessions;

static uint32_t counted_page(rdms_provider *p, const rdms_caller *who, const wql_query *match,
                             const rdms_key *after, size_t limit, rdms_instance_fn fn,
                             void *ctx, size_t *rows, rdms_error *err)
{
	uint32_t rc = fleet_broker_classes[0]->page(p, who, match, after, limit, fn, ctx, rows,
	                                            err);

	rows_read += *rows;
	return rc;
}

/*
 * A Pull reads about what it sends: the rest of a page read for a reply
 * that is full is read for nothing (the next Pull reads on from the key
 * of its last item).  Pages of 1,000 read 1,000 for each Pull of 10.
 */
static void test_pull_reads(broker_env *e)
{
	const rdms_class_provider *classes[] = { &counted_sessions, NULL };
	const rdms_class_provider *const *was = e->p.classes;
	wsman_service *s;
	keys got = { 0 };
	char *ctx;
	xmlDoc *d;
	int status, pulls;

	counted_sessions = *fleet_broker_classes[0];
	counted_sessions.page = counted_page;
	e->p.classes = classes;
	s = wsman_service_new(&e->p, &e->cfg);
	d = call(s, &admin, build(ACTION_ENUMERATE, URI_SESS, OPT_ENUM("10", "")), &status);
	CHECK_EQ(status, 200);
	ctx = xs(d, "//wsen:EnumerateResponse/wsen:EnumerationContext");
	xmlFreeDoc(d);
	rows_read = 0;
	pulls = 0;
	for (int i = 0; i < 5; i++) {
		char *body = pull_body(ctx, 10);

		d = call(s, &admin, build(ACTION_PULL, URI_SESS, body), &status);
		free(body);
		free(ctx);
		CHECK_EQ(status, 200);
		item_keys(d, &got);
		ctx = xs(d, "//wsen:PullResponse/wsen:EnumerationContext");
		xmlFreeDoc(d);
		pulls++;
	}
	CHECK_EQ(got.n, 50);
	CHECK(rows_read <= (size_t)pulls * 200);
	if (rows_read > (size_t)pulls * 200)
		fprintf(stderr, "  %d Pulls of 10 read %zu rows\n", pulls, rows_read);
	free(ctx);
	strbuf_free(&got.b);
	wsman_service_free(s);
	e->p.classes = was;
}

int main(int argc, char **argv)
{
	broker_env e;
	char cmd[160];

	store_kind = argc > 1 ? argv[1] : "sqlite";
	if (strcmp(store_kind, "sqlite") != 0 && strcmp(store_kind, "postgresql") != 0) {
		fprintf(stderr, "usage: test_fleet_reads sqlite|postgresql\n");
		return 2;
	}
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 2;
	}
	if (strcmp(store_kind, "postgresql") == 0) {
		if (!pg_server_start(&pg)) {
			printf("fleet_reads postgresql: skipped: %s\n", pg.why);
			pg_server_stop(&pg);
			rmdir(dir);
			return 77;
		}
		CHECK(pg_server_createdb(&pg, "rdms", "C"));
		CHECK(pg_server_createdb(&pg, "other", "C"));
	}
	if (!broker_open(&e, 60)) {
		CHECK(false);
		pg_server_stop(&pg);
		return check_summary("fleet_reads");
	}
	fill(e.b.store);
	test_codec(&e);
	test_secret(&e);
	test_pushdown(&e);
	test_wsman(&e);
	test_keyset(&e);
	test_restart(&e);
	test_pull_reads(&e);
	test_selector_filter(&e);
	test_resent(&e);
	broker_close(&e);
	if (strcmp(store_kind, "postgresql") == 0)
		pg_server_stop(&pg);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	CHECK_EQ(system(cmd), 0);
	xmlCleanupParser();
	return check_summary(strcmp(store_kind, "sqlite") == 0 ? "fleet_reads sqlite"
	                     : "fleet_reads postgresql");
}
