/*
 * test_ops.c -- the operation layer over the fixture back-end: class and
 * namespace checks, the authorisation rule, method parameters, audit, and
 * that nothing is touched when a request is invalid or refused.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "ops/ops.h"
#include "schema/schema.h"

static char fixture[64];
static rdms_config cfg;
static rdms_provider prov;
static int audit_calls;
static rdms_audit_event last;
static char last_target[256], last_method[64], last_detail[1100];

static int record(void *ctx, const rdms_audit_event *ev)
{
	audit_calls++;
	last = *ev;
	snprintf(last_target, sizeof last_target, "%s", ev->target);
	snprintf(last_method, sizeof last_method, "%s", ev->method);
	snprintf(last_detail, sizeof last_detail, "%s", ev->detail);
	return 0;
}

static void write_fixture(void)
{
	FILE *f = fopen(fixture, "w");

	/* uid of root is 0; "nobody" exists on Debian (65534) */
	fputs("# id user state client\n"
	      "101 root 0 PC-ROOT\n"
	      "102 nobody 0 PC-NOBODY\n"
	      "103 nobody 4 -\n"
	      "104 EXAMPLE\\carol 0 10.0.0.5\n", f);
	fclose(f);
}

static rdms_caller admin = { .uid = 0, .user = "root", .is_admin = true,
                             .protocol = "test", .source = "unit" };
static rdms_caller nobody = { .uid = 65534, .user = "nobody", .is_admin = false,
                              .protocol = "test", .source = "unit" };

static cim_path path_of(const char *text)
{
	cim_path p;
	rdms_error e;

	memset(&p, 0, sizeof p);
	if (cim_path_parse(text, &p, &e) != 0)
		fprintf(stderr, "path %s: %s\n", text, e.message);
	return p;
}

static size_t count_sessions(void)
{
	cim_instance_list l = { 0 };
	rdms_error e;
	size_t n;

	rdms_op_enumerate(&prov, &admin, NULL, "Win32_VirtualDesktopSession", &l, &e);
	n = l.count;
	cim_instance_list_free(&l);
	return n;
}

static void test_enumerate(void)
{
	cim_instance_list l = { 0 };
	rdms_error e = { 0 };

	CHECK_EQ(rdms_op_enumerate(&prov, &admin, "root/cimv2/rdms", "Win32_VirtualDesktopSession", &l, &e), 0);
	CHECK_EQ(l.count, 4);
	if (l.count == 4) {
		const cim_instance *i = l.items[0];
		CHECK_EQ(cim_instance_get(i, "SessionId")->u.u32, 101);
		CHECK_STR(cim_instance_get(i, "VMHostName")->u.str, "hv1");
		CHECK_STR(cim_instance_get(i, "VMName")->u.str, "vm1");
		CHECK_STR(cim_instance_get(i, "CollectionId")->u.str, "Pool1");
		CHECK_STR(cim_instance_get(i, "DomainName")->u.str, "LOCALDOM");
		CHECK_STR(cim_instance_get(i, "ClientMachineName")->u.str, "PC-ROOT");
		CHECK_STR(cim_instance_get(l.items[2], "ClientMachineName")->u.str, "");
		CHECK_EQ(cim_instance_get(l.items[2], "ConnectState")->u.u32, 4);
		/* DOMAIN\user accounts carry their domain */
		CHECK_STR(cim_instance_get(l.items[3], "UserName")->u.str, "carol");
		CHECK_STR(cim_instance_get(l.items[3], "DomainName")->u.str, "EXAMPLE");
	}
	cim_instance_list_free(&l);
	CHECK_EQ(rdms_op_enumerate(&prov, &nobody, "ROOT\\CIMV2\\RDMS", "win32_virtualdesktopsession", &l, &e), 0);
	CHECK_EQ(l.count, 2);   /* only nobody's own sessions */
	cim_instance_list_free(&l);
	CHECK_EQ(rdms_op_enumerate(&prov, &admin, "root/cimv2", "Win32_VirtualDesktopSession", &l, &e),
	         WBEM_E_INVALID_NAMESPACE);
	CHECK_EQ(rdms_op_enumerate(&prov, &admin, NULL, "Win32_Process", &l, &e), WBEM_E_INVALID_CLASS);
	CHECK(strstr(e.message, "Win32_Process") != NULL);
}

/* An admin's Get of TEXT fails with CODE (and MESSAGE, unless NULL). */
static void admin_get_fails(const char *text, uint32_t code, const char *message)
{
	cim_path p = path_of(text);
	cim_instance *inst = NULL;
	rdms_error e = { 0 };

	CHECK_EQ(rdms_op_get(&prov, &admin, &p, &inst, &e), code);
	CHECK(inst == NULL);
	if (message != NULL)
		CHECK_STR(e.message, message);
	cim_path_free(&p);
}

static void test_query_and_get(void)
{
	cim_instance_list l = { 0 };
	rdms_error e = { 0 };
	wql_query *q = NULL;
	cim_instance *inst = NULL;
	cim_path p;

	CHECK_EQ(rdms_op_query(&prov, &admin, NULL,
	         "SELECT SessionId FROM Win32_VirtualDesktopSession WHERE ConnectState = 0 AND UserName LIKE 'n%'",
	         &q, &l, &e), 0);
	CHECK_EQ(l.count, 1);
	CHECK(q != NULL && wql_selects(q, RDMS_WIN32_VIRTUALDESKTOPSESSION_SESSIONID));
	CHECK(q != NULL && !wql_selects(q, RDMS_WIN32_VIRTUALDESKTOPSESSION_USERNAME));
	cim_instance_list_free(&l);
	wql_free(q);
	CHECK_EQ(rdms_op_query(&prov, &nobody, NULL, "SELECT * FROM Win32_VirtualDesktopSession", &q, &l, &e), 0);
	CHECK_EQ(l.count, 2);
	cim_instance_list_free(&l);
	wql_free(q);
	CHECK_EQ(rdms_op_query(&prov, &admin, NULL, "SELECT * FROM Win32_VirtualDesktopSession WHERE", &q, &l, &e),
	         WBEM_E_INVALID_QUERY);
	CHECK(q == NULL);
	CHECK_EQ(rdms_op_query(&prov, &admin, NULL, "SELECT * FROM Nope", &q, &l, &e), WBEM_E_INVALID_CLASS);

	p = path_of("Win32_VirtualDesktopSession.SessionId=102,VMHostName=\"HV1\"");
	CHECK_EQ(rdms_op_get(&prov, &nobody, &p, &inst, &e), 0);
	CHECK(inst != NULL && cim_instance_get(inst, "SessionId")->u.u32 == 102);
	cim_instance_free(inst);
	cim_path_free(&p);
	admin_get_fails("Win32_VirtualDesktopSession.SessionId=7,VMHostName=\"hv1\"",
	                WBEM_E_NOT_FOUND, "no session 7 on host hv1");
	admin_get_fails("Win32_VirtualDesktopSession.SessionId=101,VMHostName=\"other\"",
	                WBEM_E_NOT_FOUND, "no session 101 on host other");
	/* A bare id names that session on this host, whatever VMHostName the caller knows. */
	p = path_of("Win32_VirtualDesktopSession.SessionId=101");
	CHECK_EQ(rdms_op_get(&prov, &admin, &p, &inst, &e), 0);
	CHECK(inst != NULL && strcmp(cim_instance_get(inst, "VMHostName")->u.str, "hv1") == 0);
	cim_instance_free(inst);
	cim_path_free(&p);
	admin_get_fails("Win32_VirtualDesktopSession.SessionId=7", WBEM_E_NOT_FOUND,
	                "no session 7 on host hv1");
	admin_get_fails("Win32_VirtualDesktopSession.VMHostName=\"hv1\"", WBEM_E_INVALID_OBJECT_PATH,
	                NULL);
	p = path_of("//./root/default:Win32_VirtualDesktopSession.SessionId=101,VMHostName=\"hv1\"");
	CHECK_EQ(rdms_op_get(&prov, &admin, &p, &inst, &e), WBEM_E_INVALID_NAMESPACE);
	cim_path_free(&p);
}

/*
 * A caller who is not an admin is told the same about every session that is
 * not theirs -- someone else's (101), none (7), on another host -- by path
 * and by bare id, for Get and each method; each refusal is audited with
 * what was true, which only the audit trail says.
 */
static void test_refusals_tell_nothing(void)
{
	static const char *const targets[][2] = {
		{ "Win32_VirtualDesktopSession.VMHostName=\"hv1\",SessionId=101",
		  "session 101 on host hv1 is root's" },
		{ "Win32_VirtualDesktopSession.SessionId=101", "session 101 on host hv1 is root's" },
		{ "Win32_VirtualDesktopSession.VMHostName=\"hv1\",SessionId=7", "no session 7 on host hv1" },
		{ "Win32_VirtualDesktopSession.SessionId=7", "no session 7 on host hv1" },
		{ "Win32_VirtualDesktopSession.VMHostName=\"other\",SessionId=102",
		  "no session 102 on host other" },
	};
	static const char *const told[] = {
		"nobody may use their own sessions only, and session 101 on host hv1 is not one of them",
		"nobody may use their own sessions only, and session 101 on host hv1 is not one of them",
		"nobody may use their own sessions only, and session 7 on host hv1 is not one of them",
		"nobody may use their own sessions only, and session 7 on host hv1 is not one of them",
		"nobody may use their own sessions only, and session 102 on host other is not one of them",
	};
	rdms_param msg[2] = { { "Title", cim_string("T") }, { "Message", cim_string("M") } };
	const char *methods[] = { "Get", "Disconnect", "Logoff", "SendMessage" };

	for (size_t t = 0; t < sizeof targets / sizeof targets[0]; t++) {
		for (size_t m = 0; m < sizeof methods / sizeof methods[0]; m++) {
			cim_path p = path_of(targets[t][0]);
			cim_instance *inst = NULL;
			rdms_error e = { 0 };
			uint32_t rc, rv = 0;
			int before = audit_calls;
			char want[1024];

			if (m == 0)
				rc = rdms_op_get(&prov, &nobody, &p, &inst, &e);
			else
				rc = rdms_op_invoke(&prov, &nobody, &p, targets[t][0], methods[m],
				                    m == 3 ? msg : NULL, m == 3 ? 2 : 0, &rv, &e);
			cim_path_free(&p);
			CHECK_EQ(rc, WBEM_E_ACCESS_DENIED);
			CHECK_STR(e.message, told[t]);
			CHECK(inst == NULL);
			CHECK_EQ(audit_calls, before + 1);
			CHECK_EQ(last.result, WBEM_E_ACCESS_DENIED);
			CHECK_STR(last_method, methods[m]);
			/* the audit names the whole path, for a bare id too */
			CHECK(strstr(last_target, "VMHostName=") != NULL);
			snprintf(want, sizeof want, "%s (%s)", told[t], targets[t][1]);
			CHECK_STR(last_detail, want);
		}
	}
	CHECK_EQ(count_sessions(), 4);
	cim_value_clear(&msg[0].value);
	cim_value_clear(&msg[1].value);
}

/* An admin's Get of a session that does not exist is an answer, not a refusal. */
static void test_admin_get_not_audited(void)
{
	cim_path p = path_of("Win32_VirtualDesktopSession.SessionId=7");
	cim_instance *inst = NULL;
	rdms_error e = { 0 };
	int before = audit_calls;

	CHECK_EQ(rdms_op_get(&prov, &admin, &p, &inst, &e), WBEM_E_NOT_FOUND);
	CHECK_EQ(audit_calls, before);
	cim_path_free(&p);
}

static uint32_t invoke(const rdms_caller *who, const char *path, const char *method,
                       const rdms_param *in, size_t nin, uint32_t *rv, rdms_error *e)
{
	cim_path p = path_of(path);
	uint32_t rc = rdms_op_invoke(&prov, who, &p, path, method, in, nin, rv, e);

	cim_path_free(&p);
	return rc;
}

static void test_invoke(void)
{
	const char *p101 = "Win32_VirtualDesktopSession.VMHostName=\"hv1\",SessionId=101";
	const char *p102 = "Win32_VirtualDesktopSession.VMHostName=\"hv1\",SessionId=102";
	const char *p103 = "Win32_VirtualDesktopSession.VMHostName=\"hv1\",SessionId=103";
	rdms_param msg[2] = { { "Title", cim_string("T") }, { "Message", cim_string("M") } };
	rdms_param wrong[1] = { { "Colour", cim_string("red") } };
	rdms_param badtype[2] = { { "Title", cim_u32(1) }, { "Message", cim_string("M") } };
	rdms_param ctl[2] = { { "Title", cim_string("T\x1b[2J") }, { "Message", cim_string("M") } };
	/* Regression (hostile suite): DEL and C1 controls (U+0085, U+009B) are controls too. */
	rdms_param c1[2] = { { "Title", cim_string("T") }, { "Message", cim_string("a\xc2\x9b" "2J") } };
	rdms_param del[2] = { { "Title", cim_string("T\x7f") }, { "Message", cim_string("M") } };
	rdms_param nel[2] = { { "Title", cim_string("T") }, { "Message", cim_string("a\xc2\x85" "b") } };
	char *text5000 = calloc(1, 5001);
	rdms_param big[2] = { { "Title", cim_string("T") }, { "Message", { 0 } } };
	rdms_error e = { 0 };
	uint32_t rv;
	int before;

	memset(text5000, 'M', 5000);
	big[1].value = cim_string(text5000);
	free(text5000);
	/* refused and invalid requests: audited, nothing touched */
	before = audit_calls;
	CHECK_EQ(invoke(&nobody, p101, "Disconnect", NULL, 0, &rv, &e), WBEM_E_ACCESS_DENIED);
	CHECK_EQ(audit_calls, before + 1);
	CHECK_EQ(last.result, WBEM_E_ACCESS_DENIED);
	CHECK_STR(last_method, "Disconnect");
	CHECK_STR(last_target, p101);
	CHECK_STR(last.caller->user, "nobody");
	CHECK_EQ(invoke(&admin, p101, "Reboot", NULL, 0, &rv, &e), WBEM_E_INVALID_METHOD);
	CHECK_EQ(invoke(&admin, p101, "SendMessage", msg, 1, &rv, &e), WBEM_E_INVALID_PARAMETER);
	CHECK(strstr(e.message, "Message") != NULL);
	CHECK_EQ(invoke(&admin, p101, "SendMessage", wrong, 1, &rv, &e), WBEM_E_INVALID_METHOD_PARAMETERS);
	CHECK_EQ(invoke(&admin, p101, "SendMessage", badtype, 2, &rv, &e), WBEM_E_TYPE_MISMATCH);
	CHECK_EQ(invoke(&admin, p101, "SendMessage", ctl, 2, &rv, &e), WBEM_E_INVALID_PARAMETER);
	CHECK_EQ(invoke(&admin, p101, "SendMessage", c1, 2, &rv, &e), WBEM_E_INVALID_PARAMETER);
	CHECK_EQ(invoke(&admin, p101, "SendMessage", del, 2, &rv, &e), WBEM_E_INVALID_PARAMETER);
	CHECK_EQ(invoke(&admin, p101, "SendMessage", nel, 2, &rv, &e), WBEM_E_INVALID_PARAMETER);
	CHECK_EQ(invoke(&admin, p101, "Disconnect", msg, 2, &rv, &e), WBEM_E_INVALID_METHOD_PARAMETERS);
	/* one limit (message.h), named in the error, before any session is looked at */
	before = audit_calls;
	CHECK_EQ(invoke(&admin, p101, "SendMessage", big, 2, &rv, &e), WBEM_E_INVALID_PARAMETER);
	CHECK_STR(e.message, "Message is 5000 bytes long; the limit is 4096 bytes (UTF-8)");
	CHECK_EQ(audit_calls, before + 1);
	CHECK_STR(last_detail, e.message);
	CHECK_EQ(invoke(&admin, "Win32_VirtualDesktopSession.VMHostName=\"hv1\",SessionId=999",
	                "SendMessage", big, 2, &rv, &e), WBEM_E_INVALID_PARAMETER);
	/* SendMessage's options belong to SendMessage */
	{
		rdms_message_options wait = { .wait = true }, quick = { .timeout_s = 5 };
		cim_path p = path_of(p101);

		CHECK_EQ(rdms_op_invoke_opts(&prov, &admin, &p, p101, "Disconnect", NULL, 0, &wait,
		                             &rv, &e), WBEM_E_INVALID_PARAMETER);
		CHECK_STR(e.message, "MessageTimeout and MessageWait apply to SendMessage, not "
		          "Disconnect");
		CHECK_EQ(rdms_op_invoke_opts(&prov, &admin, &p, p101, "Logoff", NULL, 0, &quick,
		                             &rv, &e), WBEM_E_INVALID_PARAMETER);
		cim_path_free(&p);
	}
	CHECK_EQ(invoke(&admin, "Win32_VirtualDesktopSession.VMHostName=\"hv1\",SessionId=999",
	                "Logoff", NULL, 0, &rv, &e), WBEM_E_NOT_FOUND);
	CHECK_EQ(count_sessions(), 4);

	/* the real thing: owner acts on own session, admin on anyone's */
	CHECK_EQ(invoke(&nobody, p102, "sendmessage", msg, 2, &rv, &e), 0);
	CHECK_EQ(rv, 0);
	CHECK_EQ(invoke(&nobody, p102, "Disconnect", NULL, 0, &rv, &e), 0);
	CHECK_EQ(rv, 0);
	CHECK_EQ(last.result, 0);
	CHECK_EQ(invoke(&nobody, p102, "Disconnect", NULL, 0, &rv, &e), 0);
	CHECK_EQ(rv, WBEM_E_INVALID_OPERATION);   /* already disconnected: never a silent 0 */
	CHECK_EQ(last.result, WBEM_E_INVALID_OPERATION);
	/* its reason, as the front ends report it */
	CHECK(strstr(e.message, "102") != NULL);
	CHECK_STR(last_detail, e.message);
	CHECK_EQ(rdms_op_method_failure("Disconnect", rv, &e), WBEM_E_INVALID_OPERATION);
	CHECK(strstr(e.message, "102") != NULL);
	rdms_error_clear(&e);
	CHECK_EQ(rdms_op_method_failure("Logoff", WBEM_E_FAILED, &e), WBEM_E_FAILED);
	CHECK_STR(e.message, "Logoff returned WBEM_E_FAILED");
	CHECK_EQ(invoke(&admin, p103, "Logoff", NULL, 0, &rv, &e), 0);
	CHECK_EQ(rv, 0);
	CHECK_EQ(count_sessions(), 3);
	for (int i = 0; i < 2; i++) {
		cim_value_clear(&msg[i].value);
		cim_value_clear(&badtype[i].value);
		cim_value_clear(&ctl[i].value);
		cim_value_clear(&c1[i].value);
		cim_value_clear(&del[i].value);
		cim_value_clear(&nel[i].value);
		cim_value_clear(&big[i].value);
	}
	cim_value_clear(&wrong[0].value);
}

/* An rdms_audit_read_fn of two stored events. */
static int audit_reads;
static uint32_t read_two(void *ctx, const char *since, rdms_audit_row_fn fn, void *fn_ctx,
                         rdms_error *err)
{
	rdms_audit_entry e = { .id = 1, .time = "2026-01-02T03:04:05.678Z", .user = "root",
	                       .uid = 0, .source = "uid 0", .protocol = "local",
	                       .target = "Win32_VirtualDesktopSession.SessionId=101",
	                       .method = "Logoff", .result = 0, .detail = "" };

	(void)ctx;
	(void)since;
	(void)err;
	audit_reads++;
	if (fn(fn_ctx, &e) != 0)
		return WBEM_S_NO_ERROR;
	e.id = 2;
	e.time = "not a time";
	e.result = WBEM_E_ACCESS_DENIED;
	fn(fn_ctx, &e);
	return WBEM_S_NO_ERROR;
}

/* rdms's own classes: the same operations, the same authorisation. */
static void test_vendor_classes(void)
{
	cim_instance_list l = { 0 };
	rdms_error e = { 0 };
	cim_instance *inst = NULL;
	wql_query *q = NULL;
	cim_path p;
	uint32_t rv;
	size_t all = count_sessions(), mine;

	/* what nobody may see of the sessions (test_invoke logged one off) */
	CHECK_EQ(rdms_op_enumerate(&prov, &nobody, NULL, "Win32_VirtualDesktopSession", &l, &e), 0);
	mine = l.count;
	cim_instance_list_free(&l);

	/* RDMS_SessionDetail: one per session the caller may see, the sessions' keys */
	CHECK_EQ(rdms_op_enumerate(&prov, &admin, NULL, "RDMS_SessionDetail", &l, &e), 0);
	CHECK_EQ(l.count, all);
	if (l.count >= 2) {
		const cim_value *v = l.items[1]->values;

		CHECK_STR(v[RDMS_RDMS_SESSIONDETAIL_VMHOSTNAME].u.str, "hv1");
		CHECK_EQ(v[RDMS_RDMS_SESSIONDETAIL_SESSIONID].u.u32, 102);
		CHECK_STR(v[RDMS_RDMS_SESSIONDETAIL_SERVER].u.str, "fixture");
		/* the fixture knows no idle time */
		CHECK(v[RDMS_RDMS_SESSIONDETAIL_IDLETIME].is_null);
	}
	cim_instance_list_free(&l);
	CHECK_EQ(rdms_op_enumerate(&prov, &nobody, "root\\cimv2\\rdms", "rdms_sessiondetail", &l,
	                           &e), 0);
	CHECK_EQ(l.count, mine);
	CHECK(mine >= 1 && mine < all);
	cim_instance_list_free(&l);
	p = path_of("RDMS_SessionDetail.SessionId=102,VMHostName=\"hv1\"");
	CHECK_EQ(rdms_op_get(&prov, &nobody, &p, &inst, &e), 0);
	CHECK(inst != NULL && inst->cls == &rdms_class_RDMS_SessionDetail);
	cim_instance_free(inst);
	cim_path_free(&p);
	p = path_of("RDMS_SessionDetail.SessionId=101,VMHostName=\"hv1\"");
	CHECK_EQ(rdms_op_get(&prov, &nobody, &p, &inst, &e), WBEM_E_ACCESS_DENIED);
	cim_path_free(&p);
	/* no methods: a call names the class it was made on */
	audit_calls = 0;
	p = path_of("RDMS_SessionDetail.SessionId=102,VMHostName=\"hv1\"");
	CHECK_EQ(rdms_op_invoke(&prov, &admin, &p, "x", "Logoff", NULL, 0, &rv, &e),
	         WBEM_E_INVALID_METHOD);
	CHECK_STR(e.message, "class RDMS_SessionDetail has no method Logoff");
	CHECK_EQ(audit_calls, 1);
	cim_path_free(&p);
	CHECK_EQ(count_sessions(), all);    /* nothing was logged off */

	/* RDMS_Backend: the fixture is enabled, served and (having no check) running */
	CHECK_EQ(rdms_op_query(&prov, &nobody, NULL, "SELECT * FROM RDMS_Backend WHERE Running = TRUE",
	                       &q, &l, &e), 0);
	CHECK_EQ(l.count, 1);
	if (l.count == 1) {
		CHECK_STR(l.items[0]->values[RDMS_RDMS_BACKEND_NAME].u.str, "fixture");
		CHECK(l.items[0]->values[RDMS_RDMS_BACKEND_SERVED].u.boolean);
	}
	cim_instance_list_free(&l);
	wql_free(q);
	/* a Get by key of a class without a get of its own: found among what it lists */
	p = path_of("RDMS_Backend.Name=\"FIXTURE\"");
	CHECK_EQ(rdms_op_get(&prov, &nobody, &p, &inst, &e), 0);
	CHECK(inst != NULL && inst->values[RDMS_RDMS_BACKEND_RUNNING].u.boolean);
	cim_instance_free(inst);
	cim_path_free(&p);
	p = path_of("RDMS_Backend.Name=\"xrdp\"");
	CHECK_EQ(rdms_op_get(&prov, &nobody, &p, &inst, &e), WBEM_E_NOT_FOUND);
	CHECK(inst == NULL);
	cim_path_free(&p);
	p = path_of("RDMS_Backend.Nom=\"xrdp\"");
	CHECK_EQ(rdms_op_get(&prov, &nobody, &p, &inst, &e), WBEM_E_INVALID_OBJECT_PATH);
	cim_path_free(&p);

	/* RDMS_AuditRecord: admins only; a refusal is audited and reads nothing */
	audit_calls = 0;
	audit_reads = 0;
	CHECK_EQ(rdms_op_enumerate(&prov, &nobody, NULL, "RDMS_AuditRecord", &l, &e),
	         WBEM_E_ACCESS_DENIED);
	CHECK_EQ(audit_calls, 1);
	CHECK_STR(last_method, "ReadAudit");
	CHECK_STR(last_target, "RDMS_AuditRecord");
	CHECK_EQ(last.result, WBEM_E_ACCESS_DENIED);
	CHECK_EQ(audit_reads, 0);
	CHECK_EQ(rdms_op_enumerate(&prov, &admin, NULL, "RDMS_AuditRecord", &l, &e),
	         WBEM_E_NOT_SUPPORTED);    /* nowhere to read it from */
	prov.audit_read = read_two;
	CHECK_EQ(rdms_op_query(&prov, &admin, NULL,
	                       "SELECT * FROM RDMS_AuditRecord WHERE Time >= '20260102000000.000000+000'",
	                       &q, &l, &e), 0);
	CHECK_EQ(l.count, 1);      /* the second has no time */
	if (l.count == 1) {
		CHECK_STR(l.items[0]->values[RDMS_RDMS_AUDITRECORD_TIME].u.str,
		          "20260102030405.678000+000");
		CHECK_EQ(l.items[0]->values[RDMS_RDMS_AUDITRECORD_ID].u.u32, 1);
		CHECK_STR(l.items[0]->values[RDMS_RDMS_AUDITRECORD_METHOD].u.str, "Logoff");
	}
	cim_instance_list_free(&l);
	wql_free(q);
	CHECK_EQ(rdms_op_enumerate(&prov, &admin, NULL, "RDMS_AuditRecord", &l, &e), 0);
	CHECK_EQ(l.count, 2);
	if (l.count == 2)
		CHECK(l.items[1]->values[RDMS_RDMS_AUDITRECORD_TIME].is_null);
	cim_instance_list_free(&l);
	p = path_of("RDMS_AuditRecord.Id=2");
	CHECK_EQ(rdms_op_get(&prov, &nobody, &p, &inst, &e), WBEM_E_ACCESS_DENIED);
	CHECK_EQ(rdms_op_get(&prov, &admin, &p, &inst, &e), 0);
	CHECK(inst != NULL && inst->values[RDMS_RDMS_AUDITRECORD_RESULT].u.u32 ==
	      WBEM_E_ACCESS_DENIED);
	cim_instance_free(inst);
	cim_path_free(&p);
	prov.audit_read = NULL;
}

/* rdmsd's log of the back-ends: all at first, then only what changed. */
static void test_report(void)
{
	rdms_backend_status last_state[RDMS_MAX_BACKENDS];
	size_t n = 0;

	rdms_provider_report(&prov, last_state, &n);
	CHECK_EQ(n, 1);
	CHECK_STR(last_state[0].name, "fixture");
	CHECK(last_state[0].served && last_state[0].running);
	last_state[0].running = false;      /* as if it had stopped */
	rdms_provider_report(&prov, last_state, &n);
	CHECK(last_state[0].running);
}

int main(void)
{
	snprintf(fixture, sizeof fixture, "/tmp/rdms-test-ops-%d", (int)getpid());
	write_fixture();
	rdms_config_defaults(&cfg);
	strcpy(cfg.backends, "fixture");
	strcpy(cfg.fixture_file, fixture);
	strcpy(cfg.vm_host_name, "hv1");
	strcpy(cfg.vm_name, "vm1");
	strcpy(cfg.collection_id, "Pool1");
	strcpy(cfg.domain_name, "LOCALDOM");
	rdms_provider_init(&prov, &cfg);
	prov.audit = record;
	CHECK_EQ(prov.nbackends, 1);
	test_enumerate();
	test_query_and_get();
	test_refusals_tell_nothing();
	test_admin_get_not_audited();
	test_invoke();
	test_vendor_classes();
	test_report();
	unlink(fixture);
	return check_summary("ops");
}
