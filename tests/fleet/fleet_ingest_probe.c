/*
 * fleet_ingest_probe.c -- the fleet's ingest (src/fleet/ingest.h) on its
 * own, for tests/e2e/test_fleet_ingest.py until rdmsd has a broker role:
 * a SQLite session directory at DB, the hosts NAME=URL registered in it,
 * ingested until "quit".  Commands on stdin, one per line, answered on
 * stdout with one JSON object per line:
 *
 *   stats [HOST]   {"subscribes":..,"resumes":..,"resyncs":..,"batches":..,
 *                   "events":..,"heartbeats":..,"failures":..,"refused":..,
 *                   "resyncs_peak":..}
 *   clear HOST     marks HOST unknown (lifting a quarantine) and reloads
 *   add NAME=URL   registers another host and reloads
 *   quit
 *
 * The test reads the directory itself (SQLite allows readers beside the
 * writer).  Options: --user U (password in $RDMS_PASSWORD), --insecure,
 * --jitter MS, --heartbeat S, --pull-timeout S, --max-resyncs N.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "fleet/ingest.h"

static int usage(void)
{
	fprintf(stderr, "usage: fleet_ingest_probe DB [--user U] [--insecure] [--jitter MS] "
	        "[--heartbeat S] [--pull-timeout S] [--max-resyncs N] NAME=URL...\n");
	return 2;
}

/* Registers NAME=URL in ST unless it is there; false on a bad argument or failure. */
static bool add_host(fleet_store *st, const char *arg)
{
	const char *eq = strchr(arg, '=');
	fleet_host h;
	rdms_error err = { 0 };
	uint32_t rc;

	memset(&h, 0, sizeof h);
	if (eq == NULL || (size_t)(eq - arg) > FLEET_NAME_MAX)
		return false;
	memcpy(h.name, arg, (size_t)(eq - arg));
	snprintf(h.url, sizeof h.url, "%s", eq + 1);
	rc = fleet_store_host_add(st, &h, &err);
	if (rc != WBEM_S_NO_ERROR && rc != WBEM_E_ALREADY_EXISTS) {
		fprintf(stderr, "fleet_ingest_probe: %s\n", err.message);
		return false;
	}
	return true;
}

static void print_stats(fleet_ingest *in, const char *host)
{
	fleet_ingest_stats s;

	fleet_ingest_stats_get(in, host, &s);
	printf("{\"subscribes\":%llu,\"resumes\":%llu,\"resyncs\":%llu,\"batches\":%llu,"
	       "\"events\":%llu,\"heartbeats\":%llu,\"failures\":%llu,\"refused\":%llu,"
	       "\"resyncs_peak\":%u}\n",
	       (unsigned long long)s.subscribes, (unsigned long long)s.resumes,
	       (unsigned long long)s.resyncs, (unsigned long long)s.batches,
	       (unsigned long long)s.events, (unsigned long long)s.heartbeats,
	       (unsigned long long)s.failures, (unsigned long long)s.refused, s.resyncs_peak);
}

int main(int argc, char **argv)
{
	fleet_ingest_options o = { .password = getenv("RDMS_PASSWORD") };
	fleet_ingest *in;
	fleet_store *st;
	rdms_error err = { 0 };
	char line[2048];
	int i;

	if (argc < 2)
		return usage();
	log_init("fleet_ingest_probe", true);
	if ((st = fleet_store_open_sqlite(argv[1], &err)) == NULL) {
		fprintf(stderr, "fleet_ingest_probe: %s\n", err.message);
		return 1;
	}
	o.store = st;
	for (i = 2; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "--insecure") == 0) {
			o.insecure = true;
			continue;
		}
		if (strncmp(a, "--", 2) != 0) {
			if (!add_host(st, a))
				return usage();
			continue;
		}
		if (v == NULL)
			return usage();
		i++;
		if (strcmp(a, "--user") == 0)
			o.user = v;
		else if (strcmp(a, "--jitter") == 0)
			o.jitter_ms = atoi(v);
		else if (strcmp(a, "--heartbeat") == 0)
			o.heartbeat_s = atoi(v);
		else if (strcmp(a, "--pull-timeout") == 0)
			o.pull_timeout_s = atoi(v);
		else if (strcmp(a, "--max-resyncs") == 0)
			o.max_resyncs = (unsigned)atoi(v);
		else
			return usage();
	}
	if ((in = fleet_ingest_start(&o, &err)) == NULL) {
		fprintf(stderr, "fleet_ingest_probe: %s\n", err.message);
		fleet_store_close(st);
		return 1;
	}
	printf("{\"ready\":true}\n");
	fflush(stdout);
	while (fgets(line, sizeof line, stdin) != NULL) {
		line[strcspn(line, "\r\n")] = '\0';
		if (strcmp(line, "quit") == 0)
			break;
		if (strncmp(line, "stats", 5) == 0) {
			print_stats(in, line[5] == ' ' ? line + 6 : NULL);
		} else if (strncmp(line, "clear ", 6) == 0) {
			uint32_t rc = fleet_store_host_state(st, line + 6, FLEET_UNKNOWN, true, &err);

			fleet_ingest_reload(in);
			printf("{\"ok\":%s}\n", rc == WBEM_S_NO_ERROR ? "true" : "false");
		} else if (strncmp(line, "add ", 4) == 0) {
			bool ok = add_host(st, line + 4);

			fleet_ingest_reload(in);
			printf("{\"ok\":%s}\n", ok ? "true" : "false");
		} else {
			printf("{\"error\":\"unknown command\"}\n");
		}
		fflush(stdout);
	}
	fleet_ingest_stop(in);
	fleet_store_close(st);
	return 0;
}
