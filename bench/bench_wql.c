/*
 * bench_wql.c -- how fast a compiled WQL query filters instances.
 *
 * Builds 100,000 Win32_VirtualDesktopSession instances in memory (several
 * hosts, users, states, collections, some NULLs), then times wql_match()
 * over all of them for five queries that exercise equality, an AND/OR mix,
 * LIKE, IS NULL and NOT.  Each query runs RUNS times; a run is PASSES
 * sweeps over the instances so that one timing covers enough work to
 * dwarf clock resolution.  Prints the median rate per query and the median
 * of all runs; the target is 5 M evaluations per second or more.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "bench_time.h"
#include "cim/instance.h"
#include "schema/schema.h"
#include "wql/wql.h"

#define NINST   100000
#define RUNS    7
#define PASSES  5

static const char *const queries[] = {
	"SELECT * FROM Win32_VirtualDesktopSession WHERE SessionId = 4242",
	"SELECT * FROM Win32_VirtualDesktopSession WHERE VMHostName = 'rdvh3.contoso.com' "
	"AND (ConnectState = 4 OR ConnectState = 0) OR UserName = 'ADM_7'",
	"SELECT UserName FROM Win32_VirtualDesktopSession WHERE UserName LIKE 'adm[_]%'",
	"SELECT * FROM Win32_VirtualDesktopSession WHERE ClientMachineName IS NULL",
	"SELECT * FROM Win32_VirtualDesktopSession WHERE NOT CollectionId = 'Pool1' "
	"AND NOT ConnectState <> 0",
};
#define NQUERIES (sizeof queries / sizeof queries[0])

static double median(double *v, size_t n)
{
	bench_sort(v, (int)n);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void set(cim_instance *inst, const char *name, cim_value v)
{
	rdms_error err;

	if (cim_instance_set(inst, name, v, &err) != 0) {
		fprintf(stderr, "bench_wql: %s: %s\n", name, err.message);
		exit(1);
	}
}

static cim_instance *make(const cim_class *cls, unsigned i)
{
	/* WTS states, weighted towards Active (0) and Disconnected (4). */
	static const uint32_t states[] = { 0, 0, 0, 4, 4, 1, 2, 3, 5, 6, 8, 9 };
	static const char *const domains[] = { "CONTOSO", "FABRIKAM", NULL };
	cim_instance *inst = cim_instance_new(cls);
	char host[32], user[32], coll[16], client[32];

	if (inst == NULL) {
		fprintf(stderr, "bench_wql: out of memory\n");
		exit(1);
	}
	snprintf(host, sizeof host, "rdvh%u.contoso.com", i % 8 + 1);
	if (i % 50 == 0)
		snprintf(user, sizeof user, "adm_%u", i / 50 % 100);
	else
		snprintf(user, sizeof user, "User%05u", i % 20000);
	snprintf(coll, sizeof coll, "Pool%u", i % 5 + 1);
	snprintf(client, sizeof client, "PC-%u", i % 997);
	set(inst, "VMHostName", cim_string(host));
	set(inst, "SessionId", cim_u32(i));
	set(inst, "VMName", cim_string(host));
	set(inst, "ConnectState", cim_u32(states[i % (sizeof states / sizeof states[0])]));
	set(inst, "UserName", cim_string(user));
	set(inst, "DomainName", domains[i % 3] ? cim_string(domains[i % 3]) : cim_null(CIM_TYPE_STRING));
	set(inst, "CollectionId", cim_string(coll));
	set(inst, "ClientMachineName", i % 7 == 0 ? cim_null(CIM_TYPE_STRING) : cim_string(client));
	return inst;
}

int main(void)
{
	const cim_class *cls = rdms_schema_find("Win32_VirtualDesktopSession");
	static cim_instance *insts[NINST];
	double all[NQUERIES * RUNS], rates[RUNS];
	size_t nall = 0;

	if (cls == NULL) {
		fprintf(stderr, "bench_wql: class Win32_VirtualDesktopSession not in the schema\n");
		return 1;
	}
	for (unsigned i = 0; i < NINST; i++)
		insts[i] = make(cls, i);

	for (size_t k = 0; k < NQUERIES; k++) {
		wql_query *q;
		rdms_error err;
		size_t matches = 0;

		if (wql_parse(queries[k], rdms_schema_find, &q, &err) != 0) {
			fprintf(stderr, "bench_wql: %s: %s\n", queries[k], err.message);
			return 1;
		}
		for (int r = 0; r < RUNS; r++) {
			double t0 = (bench_now_ms() / 1e3), dt;

			matches = 0;
			for (int pass = 0; pass < PASSES; pass++)
				for (size_t i = 0; i < NINST; i++)
					matches += wql_match(q, insts[i]);
			dt = (bench_now_ms() / 1e3) - t0;
			rates[r] = (double)NINST * PASSES / (dt > 0 ? dt : 1e-9);
			all[nall++] = rates[r];
		}
		printf("wql: query %zu: %6.1f M evals/s (%zu of %d match)  %s\n", k + 1,
		       median(rates, RUNS) / 1e6, matches / PASSES, NINST, queries[k]);
		wql_free(q);
	}
	printf("wql: median %.1f M evals/s over %zu queries x %d runs\n",
	       median(all, nall) / 1e6, NQUERIES, RUNS);
	for (unsigned i = 0; i < NINST; i++)
		cim_instance_free(insts[i]);
	return 0;
}
