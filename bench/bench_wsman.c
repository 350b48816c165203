/*
 * bench_wsman.c -- the WS-Management front end's own cost, in one process:
 * no HTTP, no privilege separation, no PAM.
 *
 *   bench_wsman [-n ITERATIONS] [-s SESSIONS] [-f]
 *
 * Writes a fixture of SESSIONS (10,000) sessions to a temporary file and
 * times, through wsman_handle() as rdmsd calls it for an admin caller --
 * reads served from the session snapshot as rdmsd serves them by default
 * (session_cache_ms = 500), or with -f every read fresh from the back-end
 * (session_cache_ms = 0):
 *   - ITERATIONS (20,000) Gets by key, the request rdmsd's benchmark sends;
 *   - the XML parse of that request alone (wsman_parse);
 *   - 20 optimized Enumerates of every session in one reply, and as many
 *     walks of the operation layer alone (rdms_op_enumerate_each with a
 *     callback that only frees each instance: what the front end cannot
 *     go below);
 *   - through cimxml_handle(), ITERATIONS / 4 GetInstances by key and 20
 *     EnumerateInstances of every session (the requests of
 *     bench/wsman_bench.sh's cim-gi.xml and cim-ei.xml).
 * Prints the median of 9 batches (microseconds per Get, per parse) and the
 * median enumeration (milliseconds), so that rdmsd's figures in
 * bench/wsman_bench.sh can be split into front end and the rest.
 * Run it under `valgrind --tool=callgrind` to see where instructions go.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench_time.h"
#include "cimxml/cimxml.h"
#include "config/config.h"
#include "ops/ops.h"
#include "wsman/wsman.h"
#include "wsman/wsman_internal.h"

#define URI "http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/rdms/Win32_VirtualDesktopSession"
#define HEAD(action, id, max) \
	"<?xml version=\"1.0\"?><s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\" " \
	"xmlns:wsa=\"http://schemas.xmlsoap.org/ws/2004/08/addressing\" " \
	"xmlns:wsman=\"http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd\" " \
	"xmlns:wsen=\"http://schemas.xmlsoap.org/ws/2004/09/enumeration\"><s:Header>" \
	"<wsa:Action s:mustUnderstand=\"true\">" action "</wsa:Action>" \
	"<wsa:To s:mustUnderstand=\"true\">http://127.0.0.1:5985/wsman</wsa:To>" \
	"<wsman:ResourceURI s:mustUnderstand=\"true\">" URI "</wsman:ResourceURI>" \
	"<wsa:MessageID s:mustUnderstand=\"true\">" id "</wsa:MessageID>" \
	"<wsa:ReplyTo><wsa:Address>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous" \
	"</wsa:Address></wsa:ReplyTo><wsman:MaxEnvelopeSize s:mustUnderstand=\"true\">" max \
	"</wsman:MaxEnvelopeSize>"

static const char get_body[] =
	HEAD("http://schemas.xmlsoap.org/ws/2004/09/transfer/Get",
	     "uuid:6d3b1c2e-0000-4000-8000-000000000001", "153600")
	"<wsman:SelectorSet><wsman:Selector Name=\"VMHostName\">bench-host</wsman:Selector>"
	"<wsman:Selector Name=\"SessionId\">5000</wsman:Selector></wsman:SelectorSet>"
	"</s:Header><s:Body/></s:Envelope>";

#define CIM_LNS "<LOCALNAMESPACEPATH><NAMESPACE NAME=\"root\"></NAMESPACE>" \
	"<NAMESPACE NAME=\"cimv2\"></NAMESPACE><NAMESPACE NAME=\"rdms\"></NAMESPACE></LOCALNAMESPACEPATH>"
#define CIM_CALL(id, method, params) \
	"<?xml version=\"1.0\" encoding=\"utf-8\" ?><CIM CIMVERSION=\"2.0\" DTDVERSION=\"2.0\">" \
	"<MESSAGE ID=\"" id "\" PROTOCOLVERSION=\"1.0\"><SIMPLEREQ><IMETHODCALL NAME=\"" method \
	"\">" CIM_LNS params "</IMETHODCALL></SIMPLEREQ></MESSAGE></CIM>"

static const char cim_ei_body[] =
	CIM_CALL("4711", "EnumerateInstances",
	         "<IPARAMVALUE NAME=\"ClassName\"><CLASSNAME NAME=\"Win32_VirtualDesktopSession\"/>"
	         "</IPARAMVALUE><IPARAMVALUE NAME=\"LocalOnly\"><VALUE>FALSE</VALUE></IPARAMVALUE>");

static const char cim_gi_body[] =
	CIM_CALL("4712", "GetInstance",
	         "<IPARAMVALUE NAME=\"LocalOnly\"><VALUE>FALSE</VALUE></IPARAMVALUE>"
	         "<IPARAMVALUE NAME=\"InstanceName\"><INSTANCENAME CLASSNAME=\"Win32_VirtualDesktopSession\">"
	         "<KEYBINDING NAME=\"VMHostName\"><KEYVALUE VALUETYPE=\"string\">bench-host</KEYVALUE>"
	         "</KEYBINDING><KEYBINDING NAME=\"SessionId\"><KEYVALUE VALUETYPE=\"numeric\">5000"
	         "</KEYVALUE></KEYBINDING></INSTANCENAME></IPARAMVALUE>");

static double median(double *v, int n)
{
	bench_sort(v, n);
	return v[n / 2];
}

/* rdms_instance_fn of the operation-layer walk: counts and frees. */
static uint32_t drop_instance(void *ctx, cim_instance *inst, size_t left, rdms_error *err)
{
	(void)left;
	(void)err;
	++*(size_t *)ctx;
	cim_instance_free(inst);
	return 0;
}

/* One CIM-XML request as rdmsd's transport hands it over; false unless 200 with WANT. */
static bool cim_call(rdms_provider *p, const rdms_config *cfg, const rdms_caller *who,
                     const char *method, const char *body, size_t len, const char *want)
{
	cimxml_request req = { .cim_operation = "MethodCall", .cim_method = method,
	                       .cim_object = "root%2Fcimv2%2Frdms",
	                       .content_type = "application/xml; charset=\"utf-8\"",
	                       .body = body, .len = len };
	cimxml_reply r;
	bool ok;

	cimxml_handle(p, cfg, who, &req, &r);
	ok = r.http_status == 200 && r.body != NULL && strstr(r.body, want) != NULL;
	if (!ok)
		fprintf(stderr, "bench_wsman: CIM-XML %s answered %d:\n%.2000s\n", method,
		        r.http_status, r.body != NULL ? r.body : "");
	free(r.body);
	return ok;
}

int main(int argc, char **argv)
{
	int iters = 20000, sessions = 10000;
	bool fresh = false;
	char fixture[] = "/tmp/bench_wsman.XXXXXX";
	rdms_config cfg;
	rdms_provider p;
	rdms_caller who = { .uid = 0, .is_admin = true, .protocol = "wsman", .source = "bench" };
	wsman_service *s;
	double batch[9], enums[20];
	char enum_body[2048];
	FILE *f;
	int fd;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-n") == 0 && i + 1 < argc && atoi(argv[i + 1]) > 0)
			iters = atoi(argv[++i]);
		else if (strcmp(argv[i], "-s") == 0 && i + 1 < argc && atoi(argv[i + 1]) > 0)
			sessions = atoi(argv[++i]);
		else if (strcmp(argv[i], "-f") == 0)
			fresh = true;
		else {
			fprintf(stderr, "usage: bench_wsman [-n ITERATIONS] [-s SESSIONS] [-f]\n");
			return 2;
		}
	}
	if ((fd = mkstemp(fixture)) < 0 || (f = fdopen(fd, "w")) == NULL) {
		perror("bench_wsman: fixture");
		return 1;
	}
	for (int i = 1; i <= sessions; i++)
		fprintf(f, i % 4 ? "%d root 0 client-%d\n" : "%d root 4 -\n", i, i);
	fclose(f);

	rdms_config_defaults(&cfg);
	strcpy(cfg.backends, "fixture");
	snprintf(cfg.fixture_file, sizeof cfg.fixture_file, "%s", fixture);
	snprintf(cfg.vm_host_name, sizeof cfg.vm_host_name, "bench-host");
	if (fresh)
		cfg.session_cache_ms = 0;
	rdms_provider_init(&p, &cfg);
	/* As rdmsd sets its provider up (src/daemon/rdmsd.c). */
	if (cfg.session_cache_ms > 0 && (p.cache = rdms_session_cache_new(&cfg, p.backends, p.nbackends)) == NULL) {
		fprintf(stderr, "bench_wsman: no memory for the session cache\n");
		return 1;
	}
	printf("%d fixture sessions, reads %s\n", sessions,
	       p.cache != NULL ? "from the session snapshot (session_cache_ms as rdmsd's default)"
	                       : "fresh (session_cache_ms = 0)");
	s = wsman_service_new(&p, &cfg);
	strcpy(who.user, "root");

	/* Get: must answer 200 with the session, then timed in batches. */
	for (int b = 0; b < 9; b++) {
		double t0 = bench_now_us();

		for (int i = 0; i < iters / 9; i++) {
			wsman_reply r = { 0 };

			wsman_handle(s, &who, get_body, sizeof get_body - 1, &r);
			if (r.http_status != 200 || strstr(r.body, "<p:SessionId>5000<") == NULL) {
				fprintf(stderr, "bench_wsman: Get answered %d:\n%.2000s\n", r.http_status,
				        r.body != NULL ? r.body : "");
				return 1;
			}
			free(r.body);
		}
		batch[b] = (bench_now_us() - t0) / (iters / 9);
	}
	printf("wsman_handle Get by key        %8.2f us per request (%d sessions)\n",
	       median(batch, 9), sessions);

	for (int b = 0; b < 9; b++) {
		double t0 = bench_now_us();

		for (int i = 0; i < iters / 9; i++) {
			wsman_request req;
			wsman_fault fault;

			memset(&req, 0, sizeof req);
			if (!wsman_parse(get_body, sizeof get_body - 1, &req, &fault)) {
				fprintf(stderr, "bench_wsman: the Get request does not parse\n");
				return 1;
			}
			wsman_request_free(&req);
		}
		batch[b] = (bench_now_us() - t0) / (iters / 9);
	}
	printf("  of which wsman_parse         %8.2f us per request\n", median(batch, 9));

	for (int i = 0; i < 20; i++) {
		wsman_reply r = { 0 };
		double t0;

		snprintf(enum_body, sizeof enum_body, "%s</s:Header><s:Body><wsen:Enumerate>"
		         "<wsman:OptimizeEnumeration/><wsman:MaxElements>%d</wsman:MaxElements>"
		         "</wsen:Enumerate></s:Body></s:Envelope>",
		         HEAD("http://schemas.xmlsoap.org/ws/2004/09/enumeration/Enumerate",
		              "uuid:6d3b1c2e-0000-4000-8000-00000000e%03d", "1000000000"),
		         sessions);
		/* a fresh MessageID each time: the HEAD's %03d */
		{
			char *mid = strstr(enum_body, "e%03d");
			char num[8];

			snprintf(num, sizeof num, "%04d", i);
			memcpy(mid, num, 4);
			memmove(mid + 4, mid + 5, strlen(mid + 5) + 1);
		}
		t0 = bench_now_us();
		wsman_handle(s, &who, enum_body, strlen(enum_body), &r);
		enums[i] = (bench_now_us() - t0) / 1000;
		if (r.http_status != 200) {
			fprintf(stderr, "bench_wsman: Enumerate answered %d:\n%.2000s\n", r.http_status,
			        r.body != NULL ? r.body : "");
			return 1;
		}
		free(r.body);
	}
	printf("wsman_handle Enumerate %d  %8.2f ms per request\n", sessions, median(enums, 20));

	for (int i = 0; i < 20; i++) {
		rdms_error err = { 0 };
		size_t n = 0;
		double t0 = bench_now_us();

		if (rdms_op_enumerate_each(&p, &who, NULL, "Win32_VirtualDesktopSession",
		                           drop_instance, &n, &err) != 0 || n != (size_t)sessions) {
			fprintf(stderr, "bench_wsman: the operation layer gave %zu instances: %s\n", n,
			        err.message);
			return 1;
		}
		enums[i] = (bench_now_us() - t0) / 1000;
	}
	printf("  of which operation layer     %8.2f ms (instances made and freed, not written)\n",
	       median(enums, 20));

	who.protocol = "cimxml";
	for (int b = 0; b < 9; b++) {
		double t0 = bench_now_us();

		for (int i = 0; i < iters / 36 + 1; i++)
			if (!cim_call(&p, &cfg, &who, "GetInstance", cim_gi_body, sizeof cim_gi_body - 1,
			              "<PROPERTY NAME=\"SessionId\" TYPE=\"uint32\"><VALUE>5000<"))
				return 1;
		batch[b] = (bench_now_us() - t0) / (iters / 36 + 1);
	}
	printf("cimxml_handle GetInstance      %8.2f us per request\n", median(batch, 9));

	for (int i = 0; i < 20; i++) {
		double t0 = bench_now_us();

		if (!cim_call(&p, &cfg, &who, "EnumerateInstances", cim_ei_body,
		              sizeof cim_ei_body - 1, "<VALUE.NAMEDINSTANCE>"))
			return 1;
		enums[i] = (bench_now_us() - t0) / 1000;
	}
	printf("cimxml_handle EnumerateInstances %d %6.2f ms per request\n", sessions,
	       median(enums, 20));

	wsman_service_free(s);
	rdms_session_cache_free(p.cache);
	unlink(fixture);
	return 0;
}
