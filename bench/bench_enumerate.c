/*
 * bench_enumerate.c -- how long listing this host's real xrdp sessions takes.
 *
 *   bench_enumerate [--config FILE] [-n ITERATIONS]
 *
 * Times ITERATIONS (default 200) calls of the xrdp back-end's enumerate,
 * then as many of the full operation-layer enumerate (back-end + instances
 * + authorisation, as `rdms list` and every front end do it), on whatever
 * sessions run here; tests/e2e/bench.sh starts a lab with ten real ones.
 * Prints the sessions found (and how many were attached) and the median
 * and 90th percentile in milliseconds; the target is 5 ms for 10 sessions.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_time.h"
#include "backend/backend.h"
#include "cim/instance.h"
#include "config/config.h"
#include "ops/ops.h"

static void report(const char *what, double *t, int n, size_t found)
{
	bench_sort(t, n);
	printf("%-34s %3zu sessions  median %7.3f ms  p90 %7.3f ms  max %7.3f ms  (%d runs)\n",
	    what, found, t[n / 2], t[(n * 9) / 10], t[n - 1], n);
}

static int bench_backend(const rdms_config *cfg, const rdms_backend *b, int n, double *t)
{
	rdms_session_list l = { 0 };
	rdms_error err = { 0 };
	size_t found = 0, active = 0;

	for (int i = 0; i < n; i++) {
		double t0 = bench_now_ms();

		if (b->enumerate(cfg, &l, &err) != WBEM_S_NO_ERROR) {
			fprintf(stderr, "bench_enumerate: %s: %s\n", wbem_name(err.code), err.message);
			rdms_session_list_free(&l);
			return 1;
		}
		t[i] = bench_now_ms() - t0;
		found = l.count;
		active = 0;
		for (size_t k = 0; k < l.count; k++)
			active += l.items[k].connect_state == WTS_ACTIVE;
		if (i == 0)
			for (size_t k = 0; k < l.count; k++)
				printf("  session %u  %-10s %-4s :%d  %s  %s\n", l.items[k].id,
				    l.items[k].user, l.items[k].kind, l.items[k].display,
				    wts_state_name(l.items[k].connect_state), l.items[k].client);
		rdms_session_list_free(&l);
	}
	printf("(%zu of %zu sessions attached)\n", active, found);
	report("xrdp back-end enumerate", t, n, found);
	return 0;
}

static int bench_ops(const rdms_config *cfg, int n, double *t)
{
	rdms_provider p;
	rdms_caller who = { .uid = 0, .is_admin = true, .protocol = "direct", .source = "bench" };
	cim_instance_list out = { 0 };
	rdms_error err = { 0 };
	size_t found = 0;

	strcpy(who.user, "root");
	rdms_provider_init(&p, cfg);
	for (int i = 0; i < n; i++) {
		double t0 = bench_now_ms();

		if (rdms_op_enumerate(&p, &who, NULL, "Win32_VirtualDesktopSession", &out, &err) !=
		    WBEM_S_NO_ERROR) {
			fprintf(stderr, "bench_enumerate: rdms_op_enumerate: %s: %s\n",
			    wbem_name(err.code), err.message);
			cim_instance_list_free(&out);
			return 1;
		}
		t[i] = bench_now_ms() - t0;
		found = out.count;
		cim_instance_list_free(&out);
	}
	report("rdms_op_enumerate (instances)", t, n, found);
	return 0;
}

int main(int argc, char **argv)
{
	const char *config = NULL;
	const rdms_backend *b = rdms_backend_find("xrdp");
	rdms_config cfg;
	rdms_error err = { 0 };
	double *t;
	int n = 200, rc;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
			config = argv[++i];
		else if (strcmp(argv[i], "-n") == 0 && i + 1 < argc && atoi(argv[i + 1]) > 0)
			n = atoi(argv[++i]);
		else {
			fprintf(stderr, "usage: bench_enumerate [--config FILE] [-n ITERATIONS]\n");
			return 2;
		}
	}
	rdms_config_defaults(&cfg);
	if (config != NULL && rdms_config_load(&cfg, config, true, &err) != WBEM_S_NO_ERROR) {
		fprintf(stderr, "bench_enumerate: %s\n", err.message);
		return 1;
	}
	if (b == NULL || (t = calloc((size_t)n, sizeof *t)) == NULL)
		return 1;
	if (!b->available(&cfg))
		printf("xrdp is not installed here: expect 0 sessions\n");
	rc = bench_backend(&cfg, b, n, t) || bench_ops(&cfg, n, t);
	free(t);
	return rc;
}
