/*
 * bench_wsman.c -- the WS-Management front end's own cost, in one process:
 * no HTTP, no privilege separation, no PAM.
 *
 *   bench_wsman [-n ITERATIONS] [-s SESSIONS]
 *
 * Writes a fixture of SESSIONS (10,000) sessions to a temporary file and
 * times, through wsman_handle() as rdmsd calls it for an admin caller:
 *   - ITERATIONS (20,000) Gets by key, the request rdmsd's benchmark sends;
 *   - the XML parse of that request alone (wsman_parse);
 *   - 20 optimized Enumerates of every session in one reply.
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

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof *v, cmp_double);
	return v[n / 2];
}

int main(int argc, char **argv)
{
	int iters = 20000, sessions = 10000;
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
		else {
			fprintf(stderr, "usage: bench_wsman [-n ITERATIONS] [-s SESSIONS]\n");
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
	rdms_provider_init(&p, &cfg);
	s = wsman_service_new(&p, &cfg);
	strcpy(who.user, "root");

	/* Get: must answer 200 with the session, then timed in batches. */
	for (int b = 0; b < 9; b++) {
		double t0 = now_us();

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
		batch[b] = (now_us() - t0) / (iters / 9);
	}
	printf("wsman_handle Get by key        %8.2f us per request (%d sessions)\n",
	       median(batch, 9), sessions);

	for (int b = 0; b < 9; b++) {
		double t0 = now_us();

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
		batch[b] = (now_us() - t0) / (iters / 9);
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
		t0 = now_us();
		wsman_handle(s, &who, enum_body, strlen(enum_body), &r);
		enums[i] = (now_us() - t0) / 1000;
		if (r.http_status != 200) {
			fprintf(stderr, "bench_wsman: Enumerate answered %d:\n%.2000s\n", r.http_status,
			        r.body != NULL ? r.body : "");
			return 1;
		}
		free(r.body);
	}
	printf("wsman_handle Enumerate %d  %8.2f ms per request\n", sessions, median(enums, 20));

	wsman_service_free(s);
	unlink(fixture);
	return 0;
}
