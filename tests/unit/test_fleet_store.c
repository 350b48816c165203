/*
 * test_fleet_store.c -- the fleet broker's session directory
 * (src/fleet/store.h), one conformance suite run against each store:
 * `test_fleet_store sqlite` and `test_fleet_store postgresql` (on a
 * PostgreSQL 15 it starts itself: pg_server.h; skipped, exit 77, when
 * PostgreSQL 15 is not installed).  The same checks for both: hosts, the
 * apply rules of change batches and snapshots (version guard, gaps,
 * epochs, idempotence, forged or unknown hosts, huge batches), keyset
 * reads, threads.  Then each store's own: SQLite's query plans and
 * one-broker lock; PostgreSQL's schema versions, C locale, two brokers on
 * one database, and a database that fails.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include <libpq-fe.h>

#include "check.h"
#include "common/walltime.h"
#include "fleet/lease.h"
#include "fleet/store.h"
#include "pg_server.h"

#define V(e, s) fleet_version((e), (s))

static char dir[] = "/tmp/test_fleet_store.XXXXXX";
static char path[128];

/* ---- helpers ------------------------------------------------------------------ */

static fleet_host host_of(const char *name)
{
	fleet_host h;

	memset(&h, 0, sizeof h);
	snprintf(h.name, sizeof h.name, "%s", name);
	snprintf(h.url, sizeof h.url, "https://%s:5986/wsman", name);
	memset(h.cert_sha256, name[0], sizeof h.cert_sha256);
	return h;
}

static void add_host(fleet_store *st, const char *name)
{
	fleet_host h = host_of(name);
	rdms_error err = { 0 };

	CHECK_EQ(fleet_store_host_add(st, &h, &err), 0);
}

/* Session texts kept for the changes and snapshots built here. */
static char users[200000][24], clients[200000][24];

static fleet_session sess(const char *host, uint32_t id, uint32_t state, const char *user)
{
	fleet_session s = {
		.host = host, .id = id, .vm_name = "vm", .connect_state = state, .user_name = user,
		.domain_name = "CORP", .collection_id = "Pool1", .client_machine_name = "PC",
	};
	return s;
}

static fleet_change up(uint64_t v, const char *host, uint32_t id, uint32_t state,
                       const char *user)
{
	fleet_change c = { .version = v, .kind = FLEET_UPSERT, .s = sess(host, id, state, user) };
	return c;
}

static fleet_change del(uint64_t v, const char *host, uint32_t id)
{
	fleet_change c = { .version = v, .kind = FLEET_DELETE, .s = { .host = host, .id = id } };
	return c;
}

/* WQL's comparison of strings: ASCII letters folded, every other byte as it is. */
static bool wql_equal(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return false;
	for (; *a != '\0' && *b != '\0'; a++, b++) {
		char x = *a >= 'A' && *a <= 'Z' ? (char)(*a + 32) : *a;
		char y = *b >= 'A' && *b <= 'Z' ? (char)(*b + 32) : *b;

		if (x != y)
			return false;
	}
	return *a == *b;
}

static bool page_wants(const fleet_page *f, const fleet_session *s)
{
	return (f->user == NULL || (wql_equal(f->user, s->user_name) &&
	                            (f->domain == NULL || wql_equal(f->domain, s->domain_name)))) &&
	       (f->host == NULL || wql_equal(f->host, s->host)) &&
	       (!f->by_id || s->id == f->id) && (!f->by_state || s->connect_state == f->state);
}

/* What a read gave, flattened. */
typedef struct rows {
	size_t   n;
	char     host[64][32];
	uint32_t id[64];
	uint32_t state[64];
	char     user[64][32];
	bool     null_vm[64];
	uint64_t version[64];
	/* for big reads: order and count only */
	char     last_host[64];
	uint32_t last_id;
	bool     ordered;
	size_t   stop_after;
	/* for filtered reads: whether a row the filter does not select came */
	const fleet_page *filter;
	bool     unwanted;
} rows;

static int take_row(void *ctx, const fleet_session *s)
{
	rows *r = ctx;
	int c = r->n == 0 ? 1 : strcmp(s->host, r->last_host);

	if (r->filter != NULL && !page_wants(r->filter, s))
		r->unwanted = true;

	if (c < 0 || (c == 0 && s->id <= r->last_id))
		r->ordered = false;
	snprintf(r->last_host, sizeof r->last_host, "%s", s->host);
	r->last_id = s->id;
	if (r->n < 64) {
		snprintf(r->host[r->n], 32, "%s", s->host);
		r->id[r->n] = s->id;
		r->state[r->n] = s->connect_state;
		snprintf(r->user[r->n], 32, "%s", s->user_name != NULL ? s->user_name : "(null)");
		r->null_vm[r->n] = s->vm_name == NULL;
		r->version[r->n] = s->version;
	}
	r->n++;
	return r->stop_after != 0 && r->n >= r->stop_after;
}

/* Every session of the directory, page by page (PAGE rows), optionally one user's. */
static rows all_rows(fleet_store *st, size_t page, const char *user, const char *domain)
{
	rows r = { .ordered = true };
	char after[64] = "";
	uint32_t after_id = 0;
	rdms_error err = { 0 };

	for (;;) {
		fleet_page p = { .after_host = after[0] != '\0' ? after : NULL, .after_id = after_id,
		                 .limit = page, .user = user, .domain = domain };
		size_t got = 0, before = r.n;

		CHECK_EQ(fleet_store_enumerate(st, &p, take_row, &r, &got, &err), 0);
		CHECK_EQ(got, r.n - before);
		if (got < page)
			break;
		snprintf(after, sizeof after, "%s", r.last_host);
		after_id = r.last_id;
	}
	return r;
}

struct one_host {
	const char *name;
	uint64_t    sessions;
	int         found;
};

/* fleet_host_fn: the session count of the host CTX names. */
static int count_of(void *ctx, const fleet_host *h)
{
	struct one_host *c = ctx;

	if (strcmp(h->name, c->name) == 0) {
		c->sessions = h->sessions;
		c->found++;
	}
	return 0;
}

/* Host NAME by name, with the session count its listing gives (a host by name has none). */
static fleet_host get_host(fleet_store *st, const char *name)
{
	fleet_host h;
	rdms_error err = { 0 };
	struct one_host c = { .name = name };

	memset(&h, 0, sizeof h);
	CHECK_EQ(fleet_store_host_get(st, name, &h, &err), 0);
	CHECK_EQ(h.sessions, 0);
	CHECK_EQ(fleet_store_hosts(st, count_of, &c, &err), 0);
	CHECK_EQ(c.found, 1);
	h.sessions = c.sessions;
	return h;
}

/* Session (HOST, ID)'s state, or -1 when the directory has none. */
static long state_of(fleet_store *st, const char *host, uint32_t id)
{
	rows r = { .ordered = true };
	rdms_error err = { 0 };
	uint32_t rc = fleet_store_get(st, host, id, take_row, &r, &err);

	if (rc == WBEM_E_NOT_FOUND)
		return -1;
	CHECK_EQ(rc, 0);
	CHECK_EQ(r.n, 1);
	return r.n == 1 ? (long)r.state[0] : -2;
}

static double ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) * 1e3 + (double)(t.tv_nsec - t0->tv_nsec) / 1e6;
}

/* ---- versions ------------------------------------------------------------------- */

static void test_versions(void)
{
	CHECK_EQ(V(1, 0), UINT64_C(1) << 40);
	CHECK_EQ(V(2, 5), (UINT64_C(2) << 40) | 5);
	CHECK(V(1, FLEET_SEQ_MAX) < V(2, 0));
	CHECK_EQ(fleet_version_epoch(V(7, 9)), 7);
	CHECK_EQ(fleet_version_seq(V(7, 9)), 9);
	CHECK_EQ(V(0, 5), 0);                            /* epochs start at 1 */
	CHECK_EQ(V(FLEET_EPOCH_MAX + 1, 0), 0);          /* past a signed 64-bit column */
	CHECK_EQ(V(1, FLEET_SEQ_MAX + 1), 0);
	CHECK(V(FLEET_EPOCH_MAX, FLEET_SEQ_MAX) <= (uint64_t)INT64_MAX);
	CHECK_STR(fleet_apply_name(FLEET_NEW_EPOCH), "new epoch");
}

/* ---- hosts ---------------------------------------------------------------------- */

static void test_hosts(fleet_store *st)
{
	fleet_host h = host_of("hv1"), got;
	rdms_error err = { 0 };
	rows r;

	CHECK_EQ(fleet_store_host_add(st, &h, &err), 0);
	CHECK_EQ(fleet_store_host_add(st, &h, &err), WBEM_E_ALREADY_EXISTS);
	got = get_host(st, "hv1");
	CHECK_STR(got.url, "https://hv1:5986/wsman");
	CHECK_EQ(got.cert_sha256[31], 'h');
	CHECK_EQ(got.version, 0);
	CHECK_EQ(got.state, FLEET_UNKNOWN);
	CHECK(got.registered_ms > 1700000000000LL);
	CHECK_EQ(got.contact_ms, 0);
	CHECK_EQ(fleet_store_host_get(st, "nope", &got, &err), WBEM_E_NOT_FOUND);
	/* bad names and URLs */
	h = host_of("x");
	h.name[0] = '\0';
	CHECK_EQ(fleet_store_host_add(st, &h, &err), WBEM_E_INVALID_PARAMETER);
	h = host_of("hv9");
	h.url[0] = '\0';
	CHECK_EQ(fleet_store_host_add(st, &h, &err), WBEM_E_INVALID_PARAMETER);
	/* states: RUNNING is a contact; INVALID sticks unless forced */
	CHECK_EQ(fleet_store_host_state(st, "hv1", FLEET_RUNNING, false, &err), 0);
	got = get_host(st, "hv1");
	CHECK_EQ(got.state, FLEET_RUNNING);
	CHECK(got.contact_ms > 0);
	/* a heartbeat within FLEET_CONTACT_MS of the last writes nothing; a state change does */
	{
		const struct timespec a_while = { 0, 20 * 1000000L };

		nanosleep(&a_while, NULL);
		CHECK_EQ(fleet_store_host_state(st, "hv1", FLEET_RUNNING, false, &err), 0);
		CHECK_EQ(get_host(st, "hv1").contact_ms, got.contact_ms);
		CHECK_EQ(fleet_store_host_state(st, "hv1", FLEET_UNKNOWN, false, &err), 0);
		CHECK_EQ(get_host(st, "hv1").state, FLEET_UNKNOWN);
		CHECK_EQ(fleet_store_host_state(st, "hv1", FLEET_RUNNING, false, &err), 0);
		CHECK_EQ(get_host(st, "hv1").state, FLEET_RUNNING);
		CHECK(get_host(st, "hv1").contact_ms > got.contact_ms);
		CHECK_EQ(fleet_store_host_state(st, "nope", FLEET_RUNNING, false, &err),
		         WBEM_E_NOT_FOUND);
	}
	CHECK_EQ(fleet_store_host_state(st, "hv1", 5, false, &err), WBEM_E_INVALID_PARAMETER);
	CHECK_EQ(fleet_store_host_state(st, "hv1", FLEET_INVALID, false, &err), 0);
	CHECK_EQ(fleet_store_host_state(st, "hv1", FLEET_RUNNING, false, &err),
	         WBEM_E_ACCESS_DENIED);
	CHECK_EQ(get_host(st, "hv1").state, FLEET_INVALID);
	CHECK_EQ(fleet_store_host_state(st, "hv1", FLEET_UNKNOWN, true, &err), 0);
	CHECK_EQ(get_host(st, "hv1").state, FLEET_UNKNOWN);
	CHECK_EQ(fleet_store_host_state(st, "nope", FLEET_UNKNOWN, false, &err), WBEM_E_NOT_FOUND);
	/* removing a host removes its sessions */
	{
		fleet_session s[2] = { sess("hv1", 1, 0, "a"), sess("hv1", 2, 0, "b") };

		CHECK_EQ(fleet_store_apply_snapshot(st, "hv1", V(1, 0), s, 2, &err), FLEET_APPLIED);
		CHECK_EQ(get_host(st, "hv1").sessions, 2);
	}
	CHECK_EQ(fleet_store_host_remove(st, "hv1", &err), 0);
	CHECK_EQ(fleet_store_host_remove(st, "hv1", &err), WBEM_E_NOT_FOUND);
	r = all_rows(st, 100, NULL, NULL);
	CHECK_EQ(r.n, 0);
}

/* ---- change batches ------------------------------------------------------------ */

static void test_batches(fleet_store *st)
{
	rdms_error err = { 0 };
	uint64_t v = 99;

	add_host(st, "hv2");
	/* never synced: a batch cannot be applied to nothing */
	{
		fleet_change c[1] = { up(V(2, 1), "hv2", 5, 0, "alice") };

		CHECK_EQ(fleet_store_apply_batch(st, "hv2", c, 1, &v, &err), FLEET_GAP);
		CHECK_EQ(v, 0);
		CHECK_EQ(state_of(st, "hv2", 5), -1);
	}
	/* a snapshot at (2, 10), then the events after it */
	{
		fleet_session s[3] = { sess("hv2", 5, 0, "alice"), sess("hv2", 6, 4, "bob"),
		                       sess("hv2", 7, 0, "carol") };

		CHECK_EQ(fleet_store_apply_snapshot(st, "hv2", V(2, 10), s, 3, &err), FLEET_APPLIED);
		CHECK_EQ(get_host(st, "hv2").version, V(2, 10));
		CHECK_EQ(get_host(st, "hv2").state, FLEET_RUNNING);
		CHECK(get_host(st, "hv2").contact_ms > 0);
	}
	{
		fleet_change c[2] = { up(V(2, 11), "hv2", 5, 4, "alice"), del(V(2, 12), "hv2", 6) };

		CHECK_EQ(fleet_store_apply_batch(st, "hv2", c, 2, &v, &err), FLEET_APPLIED);
		CHECK_EQ(v, V(2, 12));
		CHECK_EQ(state_of(st, "hv2", 5), 4);
		CHECK_EQ(state_of(st, "hv2", 6), -1);
		/* idempotent: the same batch again (a re-sent Pull, a second broker) changes nothing */
		CHECK_EQ(fleet_store_apply_batch(st, "hv2", c, 2, &v, &err), FLEET_STALE);
		CHECK_EQ(v, V(2, 12));
		CHECK_EQ(state_of(st, "hv2", 5), 4);
		CHECK_EQ(state_of(st, "hv2", 6), -1);
	}
	/* a batch straddling the version: only the new part is applied */
	{
		fleet_change c[2] = { up(V(2, 12), "hv2", 5, 0, "WRONG"), up(V(2, 13), "hv2", 7, 4,
		                                                                "carol") };
		rows r = { .ordered = true };

		CHECK_EQ(fleet_store_apply_batch(st, "hv2", c, 2, &v, &err), FLEET_APPLIED);
		CHECK_EQ(v, V(2, 13));
		CHECK_EQ(state_of(st, "hv2", 5), 4);
		CHECK_EQ(state_of(st, "hv2", 7), 4);
		CHECK_EQ(fleet_store_get(st, "hv2", 7, take_row, &r, &err), 0);
		CHECK_EQ(r.version[0], V(2, 13));
	}
	/* out of order: a later batch first is a gap (nothing applied), then both in order */
	{
		fleet_change later[2] = { up(V(2, 15), "hv2", 8, 0, "dave"), del(V(2, 16), "hv2", 7) };
		fleet_change sooner[1] = { up(V(2, 14), "hv2", 5, 0, "alice") };

		CHECK_EQ(fleet_store_apply_batch(st, "hv2", later, 2, &v, &err), FLEET_GAP);
		CHECK(strstr(err.message, "seq 15 after 13") != NULL);
		CHECK_EQ(v, V(2, 13));
		CHECK_EQ(state_of(st, "hv2", 8), -1);
		CHECK_EQ(fleet_store_apply_batch(st, "hv2", sooner, 1, &v, &err), FLEET_APPLIED);
		CHECK_EQ(fleet_store_apply_batch(st, "hv2", later, 2, &v, &err), FLEET_APPLIED);
		CHECK_EQ(v, V(2, 16));
		CHECK_EQ(state_of(st, "hv2", 5), 0);
		CHECK_EQ(state_of(st, "hv2", 8), 0);
		CHECK_EQ(state_of(st, "hv2", 7), -1);
	}
	/* a gap inside a batch: all or nothing */
	{
		fleet_change c[2] = { up(V(2, 17), "hv2", 9, 0, "eve"), up(V(2, 19), "hv2", 10, 0, "f") };

		CHECK_EQ(fleet_store_apply_batch(st, "hv2", c, 2, &v, &err), FLEET_GAP);
		CHECK_EQ(state_of(st, "hv2", 9), -1);
		CHECK_EQ(get_host(st, "hv2").version, V(2, 16));
	}
	/* a session ends and another begins under its id in one batch */
	{
		fleet_change c[2] = { del(V(2, 17), "hv2", 8), up(V(2, 18), "hv2", 8, 4, "zed") };
		rows r = { .ordered = true };

		CHECK_EQ(fleet_store_apply_batch(st, "hv2", c, 2, &v, &err), FLEET_APPLIED);
		CHECK_EQ(fleet_store_get(st, "hv2", 8, take_row, &r, &err), 0);
		CHECK_STR(r.user[0], "zed");
	}
	/* the host restarted: a new epoch needs a snapshot */
	{
		fleet_change c[1] = { up(V(3, 1), "hv2", 5, 4, "alice") };
		fleet_session s[2] = { sess("hv2", 5, 0, "alice"), sess("hv2", 20, 0, "gus") };

		CHECK_EQ(fleet_store_apply_batch(st, "hv2", c, 1, &v, &err), FLEET_NEW_EPOCH);
		CHECK(strstr(err.message, "restarted") != NULL);
		CHECK_EQ(v, V(2, 18));
		CHECK_EQ(fleet_store_apply_snapshot(st, "hv2", V(3, 0), s, 2, &err), FLEET_APPLIED);
		/* the sweep: 8 ended before (3, 0); 5 and 20 are there */
		CHECK_EQ(state_of(st, "hv2", 8), -1);
		CHECK_EQ(state_of(st, "hv2", 5), 0);
		CHECK_EQ(state_of(st, "hv2", 20), 0);
		CHECK_EQ(get_host(st, "hv2").sessions, 2);
		/* re-applying the snapshot changes nothing; an older one is stale */
		CHECK_EQ(fleet_store_apply_snapshot(st, "hv2", V(3, 0), s, 2, &err), FLEET_APPLIED);
		CHECK_EQ(get_host(st, "hv2").sessions, 2);
		CHECK_EQ(fleet_store_apply_snapshot(st, "hv2", V(2, 30), s, 1, &err), FLEET_STALE);
		CHECK_EQ(get_host(st, "hv2").sessions, 2);
		/* now the new epoch's events follow */
		CHECK_EQ(fleet_store_apply_batch(st, "hv2", c, 1, &v, &err), FLEET_APPLIED);
		CHECK_EQ(state_of(st, "hv2", 5), 4);
		/* an epoch change inside a batch */
		fleet_change e[2] = { up(V(3, 2), "hv2", 5, 0, "alice"), up(V(4, 1), "hv2", 5, 4, "a") };

		CHECK_EQ(fleet_store_apply_batch(st, "hv2", e, 2, &v, &err), FLEET_NEW_EPOCH);
		CHECK_EQ(state_of(st, "hv2", 5), 4);
	}
	/* the host's positions started over (its events database lost): after a reset, a
	 * snapshot at an older position replaces everything */
	{
		fleet_session s[1] = { sess("hv2", 40, 0, "reborn") };
		size_t before = get_host(st, "hv2").sessions;

		CHECK_EQ(fleet_store_apply_snapshot(st, "hv2", V(1, 3), s, 1, &err), FLEET_STALE);
		CHECK_EQ(get_host(st, "hv2").sessions, before);
		CHECK_EQ(fleet_store_host_reset(st, "hv2", &err), 0);
		CHECK_EQ(get_host(st, "hv2").version, 0);
		CHECK_EQ(get_host(st, "hv2").sessions, before);       /* still listed meanwhile */
		CHECK_EQ(fleet_store_apply_snapshot(st, "hv2", V(1, 3), s, 1, &err), FLEET_APPLIED);
		CHECK_EQ(get_host(st, "hv2").sessions, 1);
		CHECK_EQ(state_of(st, "hv2", 40), 0);
		CHECK_EQ(fleet_store_host_reset(st, "nope", &err), WBEM_E_NOT_FOUND);
		/* back to where the tests below expect it */
		fleet_session t[2] = { sess("hv2", 5, 4, "alice"), sess("hv2", 20, 0, "gus") };

		CHECK_EQ(fleet_store_host_reset(st, "hv2", &err), 0);
		CHECK_EQ(fleet_store_apply_snapshot(st, "hv2", V(3, 1), t, 2, &err), FLEET_APPLIED);
	}
	/* refused whole, and said why */
	{
		fleet_change forged[2] = { up(V(3, 2), "hv2", 21, 0, "x"), up(V(3, 3), "hvX", 1, 0, "x") };
		fleet_change backwards[2] = { up(V(3, 3), "hv2", 21, 0, "x"), up(V(3, 2), "hv2", 22, 0,
		                                                                    "x") };
		fleet_change kindless[1] = { up(V(3, 2), "hv2", 21, 0, "x") };
		fleet_change seq0[1] = { up(V(3, 0), "hv2", 21, 0, "x") };
		fleet_change noepoch[1] = { up(5, "hv2", 21, 0, "x") };
		static char big[FLEET_TEXT_MAX + 2];
		fleet_change huge_text[1] = { up(V(3, 2), "hv2", 21, 0, big) };

		memset(big, 'u', sizeof big - 1);
		kindless[0].kind = 9;
		CHECK_EQ(fleet_store_apply_batch(st, "hv2", forged, 2, &v, &err), FLEET_REFUSED);
		CHECK(strstr(err.message, "speaks only for itself") != NULL);
		CHECK_EQ(fleet_store_apply_batch(st, "hv2", backwards, 2, &v, &err), FLEET_REFUSED);
		CHECK(strstr(err.message, "out of order") != NULL);
		CHECK_EQ(fleet_store_apply_batch(st, "hv2", kindless, 1, &v, &err), FLEET_REFUSED);
		CHECK_EQ(fleet_store_apply_batch(st, "hv2", seq0, 1, &v, &err), FLEET_REFUSED);
		CHECK_EQ(fleet_store_apply_batch(st, "hv2", noepoch, 1, &v, &err), FLEET_REFUSED);
		CHECK_EQ(fleet_store_apply_batch(st, "hv2", huge_text, 1, &v, &err), FLEET_REFUSED);
		CHECK(strstr(err.message, "more than 1024 bytes") != NULL);
		CHECK_EQ(state_of(st, "hv2", 21), -1);
		CHECK_EQ(get_host(st, "hv2").version, V(3, 1));
		/* an unknown host, with its own sessions: refused, nothing created */
		fleet_change stranger[1] = { up(V(1, 1), "hv-unknown", 1, 0, "x") };

		CHECK_EQ(fleet_store_apply_batch(st, "hv-unknown", stranger, 1, &v, &err), FLEET_REFUSED);
		CHECK_EQ(err.code, WBEM_E_NOT_FOUND);
		CHECK_EQ(fleet_store_apply_snapshot(st, "hv-unknown", V(1, 1), &stranger[0].s, 1, &err),
		         FLEET_REFUSED);
		CHECK_EQ(state_of(st, "hv-unknown", 1), -1);
		/* an invalid host: nothing of it is applied */
		fleet_change next[1] = { up(V(3, 2), "hv2", 21, 0, "x") };

		CHECK_EQ(fleet_store_host_state(st, "hv2", FLEET_INVALID, false, &err), 0);
		CHECK_EQ(fleet_store_apply_batch(st, "hv2", next, 1, &v, &err), FLEET_REFUSED);
		CHECK_EQ(fleet_store_apply_snapshot(st, "hv2", V(3, 5), &next[0].s, 1, &err),
		         FLEET_REFUSED);
		CHECK_EQ(get_host(st, "hv2").state, FLEET_INVALID);
		CHECK_EQ(fleet_store_host_state(st, "hv2", FLEET_UNKNOWN, true, &err), 0);
		CHECK_EQ(fleet_store_apply_batch(st, "hv2", next, 1, &v, &err), FLEET_APPLIED);
		CHECK_EQ(get_host(st, "hv2").state, FLEET_RUNNING);
	}
	/* a snapshot naming a SessionId twice, or another host's session: refused, rolled back */
	{
		fleet_session twice[3] = { sess("hv2", 30, 0, "x"), sess("hv2", 31, 0, "y"),
		                           sess("hv2", 30, 4, "z") };
		fleet_session forged[2] = { sess("hv2", 30, 0, "x"), sess("hv9", 31, 0, "y") };
		size_t before = get_host(st, "hv2").sessions;

		CHECK_EQ(fleet_store_apply_snapshot(st, "hv2", V(3, 9), twice, 3, &err), FLEET_REFUSED);
		CHECK(strstr(err.message, "given twice") != NULL);
		CHECK_EQ(fleet_store_apply_snapshot(st, "hv2", V(3, 9), forged, 2, &err), FLEET_REFUSED);
		CHECK_EQ(fleet_store_apply_snapshot(st, "hv2", 0, twice, 1, &err), FLEET_REFUSED);
		CHECK_EQ(state_of(st, "hv2", 30), -1);
		CHECK_EQ(get_host(st, "hv2").sessions, before);
		CHECK_EQ(get_host(st, "hv2").version, V(3, 2));
	}
}

/* ---- two hosts, one SessionId --------------------------------------------------- */

static void test_same_id(fleet_store *st)
{
	fleet_session a[1] = { sess("hvA", 7, 0, "ann") }, b[1] = { sess("hvB", 7, 4, "ben") };
	rdms_error err = { 0 };
	uint64_t v;
	rows r;

	add_host(st, "hvA");
	add_host(st, "hvB");
	CHECK_EQ(fleet_store_apply_snapshot(st, "hvA", V(1, 3), a, 1, &err), FLEET_APPLIED);
	CHECK_EQ(fleet_store_apply_snapshot(st, "hvB", V(5, 100), b, 1, &err), FLEET_APPLIED);
	CHECK_EQ(state_of(st, "hvA", 7), 0);
	CHECK_EQ(state_of(st, "hvB", 7), 4);
	r = all_rows(st, 1, "ann", NULL);
	CHECK_EQ(r.n, 1);
	CHECK_STR(r.host[0], "hvA");
	/* a deletion on one host leaves the other's session 7 */
	{
		fleet_change c[1] = { del(V(1, 4), "hvA", 7) };

		CHECK_EQ(fleet_store_apply_batch(st, "hvA", c, 1, &v, &err), FLEET_APPLIED);
		CHECK_EQ(state_of(st, "hvA", 7), -1);
		CHECK_EQ(state_of(st, "hvB", 7), 4);
	}
	/* hvA's snapshot sweeps only hvA */
	CHECK_EQ(fleet_store_apply_snapshot(st, "hvA", V(1, 9), NULL, 0, &err), FLEET_APPLIED);
	CHECK_EQ(state_of(st, "hvB", 7), 4);
	CHECK_EQ(fleet_store_host_remove(st, "hvA", &err), 0);
	CHECK_EQ(state_of(st, "hvB", 7), 4);
	CHECK_EQ(fleet_store_host_remove(st, "hvB", &err), 0);
}

/* ---- reads ------------------------------------------------------------------------ */

static void test_reads(fleet_store *st)
{
	static fleet_session s[3][500];
	const char *hosts[3] = { "hv-a", "hv-b", "hv-c" };
	rdms_error err = { 0 };
	rows r;

	for (int h = 0; h < 3; h++) {
		add_host(st, hosts[h]);
		for (uint32_t i = 0; i < 500; i++) {
			/* one user in 50 is "Dora" in some case; ids repeat across hosts */
			size_t k = (size_t)h * 500 + i;

			snprintf(users[k], sizeof users[k], "%s", i % 50 == 0 ? (i % 100 ? "DORA" : "dora")
			         : "user");
			s[h][i] = sess(hosts[h], 1000 - 2 * i, i % 2 ? 4 : 0, users[k]);
			if (i == 3)
				s[h][i].vm_name = NULL;        /* a NULL property stays NULL */
			if (i % 100 == 0 && h == 1)
				s[h][i].domain_name = "OTHER";
		}
		CHECK_EQ(fleet_store_apply_snapshot(st, hosts[h], V(1, 1), s[h], 500, &err),
		         FLEET_APPLIED);
	}
	/* every page size gives every session once, in key order (hv2's too) */
	for (size_t page = 1; page <= 1000; page *= 7) {
		r = all_rows(st, page, NULL, NULL);
		CHECK_EQ(r.n, 1500 + get_host(st, "hv2").sessions);
		CHECK(r.ordered);
	}
	r = all_rows(st, 2000, NULL, NULL);
	CHECK_STR(r.host[0], "hv-a");
	CHECK_EQ(r.id[0], 2);                 /* 1000 - 2 * 499 */
	/* a page from the middle of a host */
	{
		fleet_page p = { .after_host = "hv-b", .after_id = 998, .limit = 3 };
		rows m = { .ordered = true };
		size_t got;

		CHECK_EQ(fleet_store_enumerate(st, &p, take_row, &m, &got, &err), 0);
		CHECK_EQ(got, 3);
		CHECK_STR(m.host[0], "hv-b");
		CHECK_EQ(m.id[0], 1000);
		CHECK_STR(m.host[1], "hv-c");
		CHECK_EQ(m.id[1], 2);
	}
	/* one account's, ASCII case folded as WQL does; with a domain */
	r = all_rows(st, 4, "dOrA", NULL);
	CHECK_EQ(r.n, 30);
	CHECK(r.ordered);
	r = all_rows(st, 4, "dora", "corp");
	CHECK_EQ(r.n, 25);
	r = all_rows(st, 4, "nobody", NULL);
	CHECK_EQ(r.n, 0);
	/* Get by the compound key; a NULL property */
	{
		rows g = { .ordered = true };

		CHECK_EQ(fleet_store_get(st, "hv-c", 994, take_row, &g, &err), 0);
		CHECK_EQ(g.n, 1);
		CHECK(g.null_vm[0]);
		CHECK_EQ(g.version[0], V(1, 1));
		CHECK_EQ(fleet_store_get(st, "hv-c", 993, take_row, &g, &err), WBEM_E_NOT_FOUND);
		CHECK_EQ(fleet_store_get(st, "", 994, take_row, &g, &err), WBEM_E_INVALID_PARAMETER);
	}
	/* a reader that stops; bad pages */
	{
		fleet_page p = { .limit = 100 };
		rows g = { .ordered = true, .stop_after = 5 };

		CHECK_EQ(fleet_store_enumerate(st, &p, take_row, &g, NULL, &err), 0);
		CHECK_EQ(g.n, 5);
		p.limit = 0;
		CHECK_EQ(fleet_store_enumerate(st, &p, take_row, &g, NULL, &err),
		         WBEM_E_INVALID_PARAMETER);
		p = (fleet_page){ .limit = 1, .domain = "CORP" };
		CHECK_EQ(fleet_store_enumerate(st, &p, take_row, &g, NULL, &err),
		         WBEM_E_INVALID_PARAMETER);
	}
}

/* fleet_host_fn: counts hosts and their sessions. */
struct host_count {
	size_t   n;
	uint64_t sessions;
	char     first[FLEET_NAME_MAX + 1];
};

static int count_host(void *ctx, const fleet_host *h)
{
	struct host_count *c = ctx;

	if (c->n++ == 0)
		snprintf(c->first, sizeof c->first, "%s", h->name);
	c->sessions += h->sessions;
	return 0;
}

static void test_host_list(fleet_store *st)
{
	struct host_count c = { 0 };
	rdms_error err = { 0 };

	CHECK_EQ(fleet_store_hosts(st, count_host, &c, &err), 0);
	CHECK_EQ(c.n, 4);                     /* hv-a, hv-b, hv-c, hv2 */
	CHECK_STR(c.first, "hv-a");
	CHECK_EQ(c.sessions, 1500 + get_host(st, "hv2").sessions);
}

/* ---- the pushdown's filters ------------------------------------------------------- */

#define ANY SIZE_MAX

/* Counts the directory's sessions the page CTX selects, by reading all of it. */
static int count_wanted(void *ctx, const fleet_session *s)
{
	rows *r = ctx;

	r->n += page_wants(r->filter, s);
	return 0;
}

/* F's sessions in pages of PAGE (its paging fields ignored), checked against a full read. */
static size_t check_filter(fleet_store *st, fleet_page f, size_t page)
{
	rows want = { .filter = &f }, got = { .filter = &f, .ordered = true };
	fleet_page all = { .limit = FLEET_PAGE_MAX };
	rdms_error err = { 0 };

	CHECK_EQ(fleet_store_enumerate(st, &all, count_wanted, &want, NULL, &err), 0);
	f.after_host = NULL;
	f.limit = page;
	for (;;) {
		size_t rows_got = 0, before = got.n;
		char after[64];

		CHECK_EQ(fleet_store_enumerate(st, &f, take_row, &got, &rows_got, &err), 0);
		CHECK_EQ(rows_got, got.n - before);
		if (rows_got < page || err.code != 0)
			break;
		snprintf(after, sizeof after, "%s", got.last_host);
		f.after_host = after;       /* a copy: the store must not keep the pointer */
		f.after_id = got.last_id;
	}
	CHECK(!got.unwanted);
	CHECK(got.ordered);
	CHECK_EQ(got.n, want.n);
	if (got.n != want.n || got.unwanted)
		fprintf(stderr, "filter user=%s host=%s id=%d:%u state=%d:%u page %zu: %zu rows, "
		        "%zu wanted\n", f.user ? f.user : "-", f.host ? f.host : "-", f.by_id, f.id,
		        f.by_state, f.state, page, got.n, want.n);
	return got.n;
}

/*
 * Every combination of the pushdown's filters gives exactly the sessions it
 * selects, in key order, at any page size; strings fold ASCII only.
 */
static void test_filters(fleet_store *st)
{
	static fleet_session x[6];
	/* "Stra\303\237e": octal escapes (three digits at most), so the e stays a letter */
	static const char *const names[] = { "\xc3\x89mile", "\xc3\xa9mile", "EMILE", "emile",
	                                     "Stra\303\237e",
	                                     "STRASSE" };
	const char *host_e = "hv-\xc3\xa9t\xc3\xa9";      /* "hv-été" */
	rdms_error err = { 0 };
	/* n: how many (hv-a, hv-b, hv-c have 500 each), or ANY (hv2's too: as read) */
	struct { fleet_page f; size_t n; } cases[] = {
		{ { .host = "HV-B" }, 500 },
		{ { .host = "hv-b" }, 500 },
		{ { .host = "hv" }, 0 },
		{ { .by_id = true, .id = 1000 }, ANY },
		{ { .by_id = true, .id = 999 }, ANY },
		{ { .by_id = true, .id = 4294967295u }, ANY },
		{ { .by_state = true, .state = 4 }, ANY },
		{ { .host = "Hv-C", .by_id = true, .id = 2 }, 1 },
		{ { .host = "Hv-C", .by_state = true, .state = 0 }, 250 },
		{ { .by_id = true, .id = 998, .by_state = true, .state = 4 }, ANY },
		{ { .user = "DORA", .host = "hv-a" }, 10 },
		{ { .user = "dora", .domain = "other", .host = "HV-B" }, 5 },
		{ { .user = "dora", .by_state = true, .state = 0 }, 30 },
		{ { .user = "dora", .host = "hv-a", .by_id = true, .id = 1000, .by_state = true,
		    .state = 0 }, 1 },
		/* non-ASCII: never folded (a C-locale lower(), SQLite's lower()) */
		{ { .host = "HV-\xc3\xa9t\xc3\xa9" }, 6 },
		{ { .host = "hv-\xc3\x89t\xc3\x89" }, 0 },
		{ { .user = "\xc3\xa9MILE" }, 1 },
		{ { .user = "\xc3\x89MILE" }, 1 },
		{ { .user = "emile" }, 2 },
		{ { .user = "strasse" }, 1 },
		{ { .user = "stra\xc3\x9f" "e", .host = host_e }, 1 },
	};

	add_host(st, host_e);
	for (uint32_t i = 0; i < 6; i++)
		x[i] = sess(host_e, i + 1, i % 2 ? 4 : 0, names[i]);
	CHECK_EQ(fleet_store_apply_snapshot(st, host_e, V(1, 1), x, 6, &err), FLEET_APPLIED);
	for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
		size_t one = check_filter(st, cases[c].f, 1);

		if (cases[c].n != ANY)
			CHECK_EQ(one, cases[c].n);
		CHECK_EQ(check_filter(st, cases[c].f, 7), one);
		CHECK_EQ(check_filter(st, cases[c].f, 1000), one);
	}
	CHECK_EQ(fleet_store_host_remove(st, host_e, &err), 0);
}

/* ---- the secret ------------------------------------------------------------------- */

/* Another store on this directory (SAME) or on another one; the test's store kind's. */
static fleet_store *(*second_store)(bool same);

/* FN run on A and on B in two threads at once, both ended. */
static void race2(void *(*fn)(void *), void *a, void *b)
{
	pthread_t t1, t2;

	pthread_create(&t1, NULL, fn, a);
	pthread_create(&t2, NULL, fn, b);
	pthread_join(t1, NULL);
	pthread_join(t2, NULL);
}

struct secret_race {
	fleet_store *st;
	char         name[32];
	uint8_t      key[FLEET_SECRET_BYTES];
	uint32_t     rc;
};

static void *take_secret(void *arg)
{
	struct secret_race *r = arg;
	rdms_error err = { 0 };

	r->rc = fleet_store_secret(r->st, r->name, r->key, &err);
	return NULL;
}

/*
 * A secret is made once per directory: the same from every store on it,
 * after a restart, and from two stores asking at once; another directory's
 * differs, and so does another name's.
 */
static void test_secret(fleet_store *st)
{
	uint8_t a[FLEET_SECRET_BYTES], b[FLEET_SECRET_BYTES], c[FLEET_SECRET_BYTES];
	static const uint8_t zero[FLEET_SECRET_BYTES];
	fleet_store *same = second_store(true), *other = second_store(false);
	rdms_error err = { 0 };

	CHECK(same != NULL && other != NULL);
	if (same == NULL || other == NULL) {
		fleet_store_close(same);
		fleet_store_close(other);
		return;
	}
	CHECK_EQ(fleet_store_secret(st, "enumeration-context", a, &err), 0);
	CHECK(memcmp(a, zero, sizeof a) != 0);
	CHECK_EQ(fleet_store_secret(same, "enumeration-context", b, &err), 0);
	CHECK(memcmp(a, b, sizeof a) == 0);
	CHECK_EQ(fleet_store_secret(st, "enumeration-context", b, &err), 0);
	CHECK(memcmp(a, b, sizeof a) == 0);
	CHECK_EQ(fleet_store_secret(other, "enumeration-context", c, &err), 0);
	CHECK(memcmp(a, c, sizeof a) != 0);
	CHECK_EQ(fleet_store_secret(st, "another", c, &err), 0);
	CHECK(memcmp(a, c, sizeof a) != 0);
	CHECK_EQ(fleet_store_secret(st, "", c, &err), WBEM_E_INVALID_PARAMETER);
	/* two stores making the same new secret at once agree on it */
	for (int i = 0; i < 20; i++) {
		struct secret_race r1 = { .st = st }, r2 = { .st = same };

		snprintf(r1.name, sizeof r1.name, "race-%d", i);
		snprintf(r2.name, sizeof r2.name, "race-%d", i);
		race2(take_secret, &r1, &r2);
		CHECK_EQ(r1.rc, 0);
		CHECK_EQ(r2.rc, 0);
		CHECK(memcmp(r1.key, r2.key, sizeof r1.key) == 0);
	}
	fleet_store_close(same);
	fleet_store_close(other);
}

/* The query plans: pages are range scans in key order, never a sort. */
static void test_plans(void)
{
	static const char *const q[] = {
		"EXPLAIN QUERY PLAN SELECT * FROM sessions WHERE (vmhostname, session_id) > ('a', 1) "
		"ORDER BY vmhostname, session_id LIMIT 10",
		"EXPLAIN QUERY PLAN SELECT * FROM sessions WHERE lower(user_name) = lower('x') AND "
		"(vmhostname, session_id) > ('a', 1) ORDER BY vmhostname, session_id LIMIT 10",
	};
	sqlite3 *db;

	CHECK_EQ(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	for (size_t i = 0; i < sizeof q / sizeof q[0]; i++) {
		sqlite3_stmt *st;
		char plan[1024] = "";

		CHECK_EQ(sqlite3_prepare_v2(db, q[i], -1, &st, NULL), SQLITE_OK);
		while (sqlite3_step(st) == SQLITE_ROW)
			snprintf(plan + strlen(plan), sizeof plan - strlen(plan), "%s; ",
			         (const char *)sqlite3_column_text(st, 3));
		sqlite3_finalize(st);
		CHECK(strstr(plan, "TEMP B-TREE") == NULL);
		CHECK(strstr(plan, i == 0 ? "PRIMARY KEY" : "sessions_user") != NULL);
		if (strstr(plan, "TEMP B-TREE") != NULL || strstr(plan, "SCAN") != NULL)
			fprintf(stderr, "plan %zu: %s\n", i, plan);
	}
	sqlite3_close(db);
}

/* ---- size ------------------------------------------------------------------------- */

/* Medians of the costs measured here, printed for the report. */
static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static void test_huge(fleet_store *st)
{
	enum { N = 100000, SNAP = 1000, RUNS = 9 };
	fleet_change *c = calloc(N, sizeof *c);
	fleet_session *s = calloc(SNAP, sizeof *s);
	rdms_error err = { 0 };
	struct timespec t0;
	double snap_ms[RUNS], batch_ms, get_us;
	uint64_t v;
	rows r;

	CHECK(c != NULL && s != NULL);
	if (c == NULL || s == NULL)
		goto out;
	add_host(st, "hv-big");
	/* a 1,000-session snapshot, applied fresh each time (every row written) */
	for (int run = 0; run < RUNS; run++) {
		for (uint32_t i = 0; i < SNAP; i++) {
			snprintf(users[i], sizeof users[i], "u%u-%d", i, run);
			s[i] = sess("hv-big", i, (uint32_t)run % 2 ? 4 : 0, users[i]);
		}
		clock_gettime(CLOCK_MONOTONIC, &t0);
		CHECK_EQ(fleet_store_apply_snapshot(st, "hv-big", V(1, (uint64_t)run), s, SNAP, &err),
		         FLEET_APPLIED);
		snap_ms[run] = ms_since(&t0);
	}
	qsort(snap_ms, RUNS, sizeof snap_ms[0], cmp_double);
	CHECK_EQ(get_host(st, "hv-big").sessions, SNAP);
	/* 100,000 events in one batch: 50,000 sessions created, then each modified */
	for (uint32_t i = 0; i < N; i++) {
		uint32_t id = 10000 + i % (N / 2);

		snprintf(clients[i], sizeof clients[i], "c%u", i);
		c[i] = up(V(1, RUNS + i), "hv-big", id, i < N / 2 ? 0 : 4, "bulk");
		c[i].s.client_machine_name = clients[i];
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK_EQ(fleet_store_apply_batch(st, "hv-big", c, N, &v, &err), FLEET_APPLIED);
	batch_ms = ms_since(&t0);
	CHECK_EQ(v, V(1, RUNS + N - 1));
	CHECK_EQ(get_host(st, "hv-big").sessions, SNAP + N / 2);
	CHECK_EQ(state_of(st, "hv-big", 10000 + N / 2 - 1), 4);
	r = all_rows(st, 1000, "bulk", NULL);
	CHECK_EQ(r.n, N / 2);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (uint32_t i = 0; i < 10000; i++)
		CHECK_EQ(state_of(st, "hv-big", 10000 + (i * 7919) % (N / 2)), 4);
	get_us = ms_since(&t0) * 1000 / 10000;
	printf("fleet_store: 1,000-session snapshot %.1f ms (median of %d), 100,000-event "
	       "batch %.0f ms, Get %.1f us\n", snap_ms[RUNS / 2], RUNS, batch_ms, get_us);
	/* an empty snapshot sweeps everything */
	CHECK_EQ(fleet_store_apply_snapshot(st, "hv-big", V(2, 0), NULL, 0, &err), FLEET_APPLIED);
	CHECK_EQ(get_host(st, "hv-big").sessions, 0);
	CHECK_EQ(fleet_store_host_remove(st, "hv-big", &err), 0);
out:
	free(c);
	free(s);
}

/* ---- threads ------------------------------------------------------------------------ */

struct reader {
	fleet_store *st;
	size_t       pages;
	bool         ok;
};

static void *read_loop(void *arg)
{
	struct reader *rd = arg;

	for (int i = 0; i < 200; i++) {
		rows r = all_rows(rd->st, 500, NULL, NULL);

		rd->ok = rd->ok && r.ordered && r.n >= 1500;
		rd->pages++;
	}
	return NULL;
}

static void test_threads(fleet_store *st)
{
	struct reader rd = { .st = st, .ok = true };
	rdms_error err = { 0 };
	pthread_t th;
	uint64_t v;

	add_host(st, "hv-t");
	CHECK_EQ(fleet_store_apply_snapshot(st, "hv-t", V(1, 0), NULL, 0, &err), FLEET_APPLIED);
	pthread_create(&th, NULL, read_loop, &rd);
	for (uint64_t i = 1; i <= 300; i++) {
		fleet_change c[1] = { i % 3 ? up(V(1, i), "hv-t", (uint32_t)(i % 7), 0, "t")
		                            : del(V(1, i), "hv-t", (uint32_t)(i % 7)) };

		CHECK_EQ(fleet_store_apply_batch(st, "hv-t", c, 1, &v, &err), FLEET_APPLIED);
	}
	pthread_join(th, NULL);
	CHECK(rd.ok);
	CHECK_EQ(rd.pages, 200);
}

/*
 * A read by key never waits for a page: while an enumeration page holds
 * its connection, Gets and host reads from other threads are answered,
 * each seeing what was committed.  (With one connection and one lock for
 * pages and writes, they waited for the page.)
 */
struct parked {
	pthread_mutex_t m;
	pthread_cond_t  c;
	bool            inside, release, got_done;
	fleet_store    *st;
	long            state;
	uint64_t        host_version;
};

static int park_row(void *ctx, const fleet_session *s)
{
	struct parked *k = ctx;
	struct timespec until;

	(void)s;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 10;     /* never for ever, whatever goes wrong */
	pthread_mutex_lock(&k->m);
	k->inside = true;
	pthread_cond_broadcast(&k->c);
	while (!k->release && pthread_cond_timedwait(&k->c, &k->m, &until) == 0)
		;
	pthread_mutex_unlock(&k->m);
	return 1;
}

static void *parked_page(void *arg)
{
	struct parked *k = arg;
	fleet_page p = { .limit = 10 };
	rdms_error err = { 0 };
	size_t n;

	fleet_store_enumerate(k->st, &p, park_row, k, &n, &err);
	return NULL;
}

static void *get_while_parked(void *arg)
{
	struct parked *k = arg;
	long state = state_of(k->st, "hv-p", 5);
	fleet_host h = get_host(k->st, "hv-p");

	pthread_mutex_lock(&k->m);
	k->state = state;
	k->host_version = h.version;
	k->got_done = true;
	pthread_cond_broadcast(&k->c);
	pthread_mutex_unlock(&k->m);
	return NULL;
}

static void test_reads_beside_writer(fleet_store *st)
{
	struct parked k = { .st = st };
	fleet_session s[1] = { sess("hv-p", 5, 4, "p") };
	rdms_error err = { 0 };
	struct timespec until;
	pthread_t page, get;

	pthread_mutex_init(&k.m, NULL);
	pthread_cond_init(&k.c, NULL);
	add_host(st, "hv-p");
	CHECK_EQ(fleet_store_apply_snapshot(st, "hv-p", V(1, 3), s, 1, &err), FLEET_APPLIED);
	pthread_create(&page, NULL, parked_page, &k);
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 5;
	pthread_mutex_lock(&k.m);
	while (!k.inside && pthread_cond_timedwait(&k.c, &k.m, &until) == 0)
		;
	CHECK(k.inside);
	pthread_mutex_unlock(&k.m);
	pthread_create(&get, NULL, get_while_parked, &k);
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 2;
	pthread_mutex_lock(&k.m);
	while (!k.got_done && pthread_cond_timedwait(&k.c, &k.m, &until) == 0)
		;
	CHECK(k.got_done);          /* answered with the page still parked */
	k.release = true;
	pthread_cond_broadcast(&k.c);
	pthread_mutex_unlock(&k.m);
	pthread_join(page, NULL);
	pthread_join(get, NULL);
	CHECK_EQ(k.state, 4);
	CHECK_EQ(k.host_version, V(1, 3));
	CHECK_EQ(fleet_store_host_remove(st, "hv-p", &err), 0);
	pthread_cond_destroy(&k.c);
	pthread_mutex_destroy(&k.m);
}

/*
 * A page never waits for the directory's writer: while a write waits
 * for the database (another connection holds its write lock, as a
 * snapshot being applied holds it for 8-12 ms), holding the store's
 * writer lock meanwhile, a page is answered at once with what was
 * committed.  (Pages were read on the writer's connection, under its
 * lock: this one waited the whole 5 s busy timeout.)
 */
struct waiting_write {
	fleet_store *st;
	uint32_t     rc;
};

static void *write_behind_lock(void *arg)
{
	struct waiting_write *w = arg;
	rdms_error err = { 0 };

	w->rc = fleet_store_host_state(w->st, "hv-w", FLEET_RUNNING, false, &err);
	return NULL;
}

static void test_pages_beside_writer(fleet_store *st)
{
	fleet_session s[2] = { sess("hv-w", 1, 0, "w"), sess("hv-w", 2, 4, "w") };
	struct waiting_write w = { .st = st, .rc = 1 };
	fleet_page p = { .host = "hv-w", .limit = 10 };
	rows r = { .ordered = true };
	rdms_error err = { 0 };
	struct timespec t0;
	sqlite3 *db = NULL;
	pthread_t th;
	size_t got = 0;
	double ms;

	add_host(st, "hv-w");
	CHECK_EQ(fleet_store_apply_snapshot(st, "hv-w", V(1, 1), s, 2, &err), FLEET_APPLIED);
	CHECK_EQ(sqlite3_open(path, &db), SQLITE_OK);
	CHECK_EQ(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
	pthread_create(&th, NULL, write_behind_lock, &w);
	usleep(300 * 1000);     /* the write is waiting for the database by now */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK_EQ(fleet_store_enumerate(st, &p, take_row, &r, &got, &err), 0);
	ms = ms_since(&t0);
	CHECK(ms < 1000);
	if (ms >= 1000)
		fprintf(stderr, "  a page waited %.0f ms for the writer\n", ms);
	CHECK_EQ(got, 2);
	CHECK_EQ(r.n, 2);
	CHECK_EQ(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
	pthread_join(th, NULL);
	CHECK_EQ(w.rc, 0);      /* the write went through once the database was free */
	sqlite3_close(db);
	CHECK_EQ(fleet_store_host_remove(st, "hv-w", &err), 0);
}

/* ---- the file ----------------------------------------------------------------------- */

static void test_file(fleet_store **st)
{
	rdms_error err = { 0 };
	sqlite3 *db;

	/* one broker per file: a second store is refused, even in this process */
	CHECK(fleet_store_open_sqlite(path, &err) == NULL);
	CHECK_EQ(err.code, WBEM_E_ALREADY_EXISTS);
	CHECK(strstr(err.message, "another broker") != NULL);
	/* reopened, it has what it had */
	fleet_store_close(*st);
	*st = fleet_store_open_sqlite(path, &err);
	CHECK(*st != NULL);
	if (*st == NULL)
		return;
	CHECK_EQ(get_host(*st, "hv2").version, V(3, 2));
	CHECK_EQ(all_rows(*st, 700, NULL, NULL).n, 1500 + get_host(*st, "hv2").sessions +
	         get_host(*st, "hv-t").sessions);
	fleet_store_close(*st);
	/* a schema it does not know: refused, not guessed at */
	CHECK_EQ(sqlite3_open(path, &db), SQLITE_OK);
	CHECK_EQ(sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	CHECK(fleet_store_open_sqlite(path, &err) == NULL);
	CHECK(strstr(err.message, "schema version 99") != NULL);
	CHECK_EQ(sqlite3_open(path, &db), SQLITE_OK);
	CHECK_EQ(sqlite3_exec(db, "PRAGMA user_version = 1", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	*st = fleet_store_open_sqlite(path, &err);
	CHECK(*st != NULL);
	fleet_store_close(*st);
	/* a version 3 file (calls not indexed by age): the index is made at the opening */
	CHECK_EQ(sqlite3_open(path, &db), SQLITE_OK);
	CHECK_EQ(sqlite3_exec(db, "DROP INDEX calls_at; PRAGMA user_version = 3", NULL, NULL, NULL),
	         SQLITE_OK);
	sqlite3_close(db);
	*st = fleet_store_open_sqlite(path, &err);
	CHECK(*st != NULL);
	CHECK_EQ(sqlite3_open(path, &db), SQLITE_OK);
	CHECK_EQ(sqlite3_exec(db, "SELECT 1 FROM calls INDEXED BY calls_at WHERE at < 0", NULL, NULL,
	                      NULL), SQLITE_OK);
	sqlite3_close(db);
	/* a directory that cannot be made */
	CHECK(fleet_store_open_sqlite("/nonexistent/dir/fleet.db", &err) == NULL);
	CHECK_EQ(err.code, WBEM_E_NOT_AVAILABLE);
}

/* ---- PostgreSQL's own ------------------------------------------------------------------ */

static pg_server pg;

static char *pg_dsn(const char *db)
{
	static char dsn[4][256];
	static int next;
	char *out = dsn[next++ % 4];

	pg_server_dsn(&pg, db, out, sizeof dsn[0]);
	return out;
}

/* Runs TEXT on database DB directly; true when it succeeded. */
static bool pg_sql(const char *db, const char *text)
{
	PGconn *c = PQconnectdb(pg_dsn(db));
	PGresult *r = PQexec(c, text);
	ExecStatusType st = PQresultStatus(r);

	PQclear(r);
	PQfinish(c);
	return st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
}

/* Versioned schema: made by init, refused when missing or of another version. */
static void test_pg_schema(void)
{
	rdms_error err = { 0 };
	fleet_store *st;

	CHECK(pg_server_createdb(&pg, "fresh", "C"));
	/* a broker on an empty database: refused, and told what to run */
	st = fleet_store_open_postgresql(pg_dsn("fresh"), FLEET_OPEN_BROKER, &err);
	CHECK(st == NULL);
	CHECK_EQ(err.code, WBEM_E_NOT_AVAILABLE);
	CHECK(strstr(err.message, "no rdms schema: run 'rdms fleet db init'") != NULL);
	CHECK(strstr(err.message, "PostgreSQL database \"fresh\"") != NULL);
	/* upgrade needs something to upgrade */
	CHECK(fleet_store_open_postgresql(pg_dsn("fresh"), FLEET_OPEN_UPGRADE, &err) == NULL);
	/* init makes it; a second init, and an upgrade of the current version, change nothing */
	st = fleet_store_open("postgresql", pg_dsn("fresh"), FLEET_OPEN_INIT, &err);
	CHECK(st != NULL);
	fleet_store_close(st);
	st = fleet_store_open("postgresql", pg_dsn("fresh"), FLEET_OPEN_INIT, &err);
	CHECK(st != NULL);
	fleet_store_close(st);
	st = fleet_store_open("postgresql", pg_dsn("fresh"), FLEET_OPEN_UPGRADE, &err);
	CHECK(st != NULL);
	fleet_store_close(st);
	/* a version 1 database (one broker, no leases or calls): a broker is told to upgrade */
	CHECK(pg_sql("fresh", "DROP TABLE brokers, calls; UPDATE meta SET value = '1' "
	                      "WHERE key = 'schema_version'"));
	CHECK(fleet_store_open_postgresql(pg_dsn("fresh"), FLEET_OPEN_BROKER, &err) == NULL);
	CHECK(strstr(err.message, "has schema version 1; this rdmsd knows 3: run 'rdms fleet db "
	                          "upgrade'") != NULL);
	st = fleet_store_open("postgresql", pg_dsn("fresh"), FLEET_OPEN_UPGRADE, &err);
	CHECK(st != NULL);
	if (st != NULL)
		CHECK_EQ(fleet_store_broker_claim(st, "b9", "pid 9 on far-away since 9", NULL, &err), 0);
	fleet_store_close(st);
	CHECK(pg_sql("fresh", "SELECT count(*) FROM calls"));
	/* a version 2 database (calls not indexed by age): upgraded, the index made */
	CHECK(pg_sql("fresh", "DROP INDEX calls_at; UPDATE meta SET value = '2' "
	                      "WHERE key = 'schema_version'"));
	CHECK(fleet_store_open_postgresql(pg_dsn("fresh"), FLEET_OPEN_BROKER, &err) == NULL);
	CHECK(strstr(err.message, "has schema version 2; this rdmsd knows 3") != NULL);
	st = fleet_store_open("postgresql", pg_dsn("fresh"), FLEET_OPEN_UPGRADE, &err);
	CHECK(st != NULL);
	fleet_store_close(st);
	CHECK(pg_sql("fresh", "SELECT 'calls_at'::regclass"));
	/* a newer schema: refused by every mode */
	CHECK(pg_sql("fresh", "UPDATE meta SET value = '99' WHERE key = 'schema_version'"));
	for (int mode = FLEET_OPEN_BROKER; mode <= FLEET_OPEN_UPGRADE; mode++) {
		CHECK(fleet_store_open_postgresql(pg_dsn("fresh"), (fleet_open_mode)mode, &err) ==
		      NULL);
		CHECK(strstr(err.message, "schema version 99, newer than this rdmsd's 3") != NULL);
	}
	/* a meta table that records no schema (0): a broker is told to run init */
	CHECK(pg_sql("fresh", "UPDATE meta SET value = '0' WHERE key = 'schema_version'"));
	CHECK(fleet_store_open_postgresql(pg_dsn("fresh"), FLEET_OPEN_BROKER, &err) == NULL);
	CHECK(strstr(err.message, "run 'rdms fleet db init'") != NULL);
	/* a database in another locale: refused, saying why */
	CHECK(pg_server_createdb(&pg, "utf8", "C.UTF-8"));
	CHECK(fleet_store_open_postgresql(pg_dsn("utf8"), FLEET_OPEN_INIT, &err) == NULL);
	CHECK(strstr(err.message, "LC_CTYPE 'C.UTF-8'; rdms needs the C locale") != NULL);
	/* nothing was created there */
	CHECK(!pg_sql("utf8", "SELECT 1 FROM meta"));
	/* bad connection strings and missing ones */
	CHECK(fleet_store_open("postgresql", "host=", FLEET_OPEN_BROKER, &err) == NULL);
	CHECK(fleet_store_open("postgresql", "", FLEET_OPEN_BROKER, &err) == NULL);
	CHECK_EQ(err.code, WBEM_E_INVALID_PARAMETER);
	CHECK(strstr(err.message, "needs store_dsn") != NULL);
	CHECK(fleet_store_open("postgresql", "nonsense", FLEET_OPEN_BROKER, &err) == NULL);
	CHECK_EQ(err.code, WBEM_E_INVALID_PARAMETER);
	CHECK(fleet_store_open("oracle", "x", FLEET_OPEN_BROKER, &err) == NULL);
	CHECK_EQ(err.code, WBEM_E_INVALID_PARAMETER);
	/* the password never shows in a message */
	{
		char dsn[300];

		snprintf(dsn, sizeof dsn, "%s password=s3cret dbname=nodb", pg_dsn("x"));
		CHECK(fleet_store_open("postgresql", dsn, FLEET_OPEN_BROKER, &err) == NULL);
		CHECK_EQ(err.code, WBEM_E_NOT_AVAILABLE);
		CHECK(strstr(err.message, "s3cret") == NULL);
		CHECK(strstr(err.message, "\"nodb\"") != NULL);
	}
}

/*
 * Each pushed-down equality can use its index in key order (no Sort): the
 * index expressions and collations match the statements' (store_pg.c).
 * Sequential scans are disabled, since on a small table they may be cheaper.
 */
static void test_pg_plans(void)
{
	static const struct { const char *cond, *index; } q[] = {
		{ "", "sessions_pkey" },
		{ " AND lower(user_name) = lower('dora'::text)", "sessions_user" },
		{ " AND lower(vmhostname) = lower('HV-B'::text)", "sessions_host" },
		{ " AND session_id = 998::bigint", "sessions_id" },
		{ " AND connect_state = 4::bigint", "sessions_state" },
	};
	PGconn *c = PQconnectdb(pg_dsn("rdms"));
	PGresult *r = PQexec(c, "SET enable_seqscan = off; SET enable_bitmapscan = off");

	CHECK_EQ(PQresultStatus(r), PGRES_COMMAND_OK);
	PQclear(r);
	for (size_t i = 0; i < sizeof q / sizeof q[0]; i++) {
		char text[400], plan[2048] = "";

		snprintf(text, sizeof text, "EXPLAIN SELECT * FROM sessions WHERE (vmhostname, "
		         "session_id) > ('hv-a'::text, 5::bigint)%s ORDER BY vmhostname, session_id "
		         "LIMIT 10", q[i].cond);
		r = PQexec(c, text);
		CHECK_EQ(PQresultStatus(r), PGRES_TUPLES_OK);
		for (int row = 0; row < PQntuples(r); row++)
			snprintf(plan + strlen(plan), sizeof plan - strlen(plan), "%s; ",
			         PQgetvalue(r, row, 0));
		PQclear(r);
		CHECK(strstr(plan, q[i].index) != NULL);
		CHECK(strstr(plan, "Sort") == NULL);
		if (strstr(plan, q[i].index) == NULL || strstr(plan, "Sort") != NULL)
			fprintf(stderr, "plan %zu: %s\n", i, plan);
	}
	PQfinish(c);
}

/* A second broker on the same database: every apply guarded, each batch applied once. */
struct applier {
	fleet_store *st;
	int          applied, stale, other;
};

static void *apply_all(void *arg)
{
	struct applier *a = arg;
	rdms_error err = { 0 };
	uint64_t v;

	for (uint64_t i = 1; i <= 200; i++) {
		fleet_change c[2] = { up(V(1, 2 * i - 1), "hv-ha", (uint32_t)(i % 13), 4, "ha"),
		                      del(V(1, 2 * i), "hv-ha", (uint32_t)((i + 5) % 13)) };
		fleet_apply_rc rc = fleet_store_apply_batch(a->st, "hv-ha", c, 2, &v, &err);

		if (rc == FLEET_APPLIED)
			a->applied++;
		else if (rc == FLEET_STALE)
			a->stale++;
		else
			a->other++;
	}
	return NULL;
}

static void test_pg_two_brokers(fleet_store *b1)
{
	rdms_error err = { 0 };
	fleet_store *b2 = fleet_store_open("postgresql", pg_dsn("rdms"), FLEET_OPEN_BROKER, &err);
	struct applier a1 = { .st = b1 }, a2 = { .st = b2 };
	rows r1, r2;

	CHECK(b2 != NULL);
	if (b2 == NULL)
		return;
	CHECK(!fleet_store_changed_elsewhere(b2));
	add_host(b1, "hv-ha");
	CHECK(fleet_store_changed_elsewhere(b2));       /* b1's new host, seen by b2 */
	CHECK(!fleet_store_changed_elsewhere(b2));
	CHECK_EQ(fleet_store_apply_snapshot(b2, "hv-ha", V(1, 0), NULL, 0, &err), FLEET_APPLIED);
	CHECK_EQ(fleet_store_apply_snapshot(b1, "hv-ha", V(1, 0), NULL, 0, &err), FLEET_APPLIED);
	/* both brokers pull the same 200 batches at once: each is applied exactly once */
	race2(apply_all, &a1, &a2);
	CHECK_EQ(a1.applied + a2.applied, 200);
	CHECK_EQ(a1.stale + a2.stale, 200);
	CHECK_EQ(a1.other + a2.other, 0);
	CHECK_EQ(get_host(b2, "hv-ha").version, V(1, 400));
	/* and both read the same directory: what one broker applying in order leaves */
	r1 = all_rows(b1, 3, "ha", NULL);
	r2 = all_rows(b2, 100, "HA", NULL);
	CHECK_EQ(r1.n, r2.n);
	CHECK(r1.n > 0 && r1.n < 13);
	for (size_t i = 0; i < r1.n && i < r2.n; i++)
		CHECK_EQ(r1.id[i], r2.id[i]);
	/* the last batch again, from either: stale */
	{
		fleet_change c[1] = { del(V(1, 400), "hv-ha", 0) };
		uint64_t v;

		CHECK_EQ(fleet_store_apply_batch(b2, "hv-ha", c, 1, &v, &err), FLEET_STALE);
		CHECK_EQ(v, V(1, 400));
	}
	CHECK_EQ(fleet_store_host_remove(b2, "hv-ha", &err), 0);
	fleet_store_close(b2);
}

/*
 * The database hangs: its sockets stay open and nothing answers (SIGSTOP
 * to every process of the server).  Each call, on a connection of the pool
 * (a read, a pipelined write) or a new one (opening another store), fails
 * with WBEM_E_NOT_AVAILABLE by its deadline (4 s) instead of waiting for
 * ever; once the server goes on, the next call works.
 */
static void test_pg_hung(fleet_store *st)
{
	rdms_error err = { 0 };
	struct timespec t0;
	fleet_host h;
	double ms[3];

	add_host(st, "hv-hung");
	CHECK_EQ(fleet_store_host_get(st, "hv-hung", &h, &err), 0);
	pg_server_pause(&pg);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK_EQ(fleet_store_host_get(st, "hv-hung", &h, &err), WBEM_E_NOT_AVAILABLE);
	ms[0] = ms_since(&t0);
	CHECK(strstr(err.message, "session directory (PostgreSQL database \"rdms\"") != NULL);
	CHECK(strstr(err.message, "no answer within 4000 ms") != NULL);
	{
		fleet_change c[1] = { up(V(1, 1), "hv-hung", 1, 0, "x") };
		uint64_t v;

		clock_gettime(CLOCK_MONOTONIC, &t0);
		CHECK_EQ(fleet_store_apply_batch(st, "hv-hung", c, 1, &v, &err), FLEET_FAILED);
		ms[1] = ms_since(&t0);
		CHECK_EQ(err.code, WBEM_E_NOT_AVAILABLE);
	}
	{
		char dsn[300];

		/* a new connection: the server's kernel accepts it, the server never answers */
		snprintf(dsn, sizeof dsn, "%s password=s3cret", pg_dsn("rdms"));
		clock_gettime(CLOCK_MONOTONIC, &t0);
		CHECK(fleet_store_open("postgresql", dsn, FLEET_OPEN_BROKER, &err) == NULL);
		ms[2] = ms_since(&t0);
		CHECK_EQ(err.code, WBEM_E_NOT_AVAILABLE);
		CHECK(strstr(err.message, "cannot connect: no answer within 4000 ms") != NULL);
		CHECK(strstr(err.message, "s3cret") == NULL);
	}
	pg_server_resume(&pg);
	for (int i = 0; i < 3; i++)
		CHECK(ms[i] >= 3500 && ms[i] < 5000);
	printf("fleet_store: database hung: a read failed in %.0f ms, a write in %.0f ms, a "
	       "connect in %.0f ms\n", ms[0], ms[1], ms[2]);
	/* going on: the dropped connections are replaced, the next calls work */
	CHECK_EQ(fleet_store_host_get(st, "hv-hung", &h, &err), 0);
	{
		fleet_change c[1] = { up(V(1, 1), "hv-hung", 1, 0, "x") };
		uint64_t v;

		CHECK_EQ(fleet_store_apply_snapshot(st, "hv-hung", V(1, 0), NULL, 0, &err),
		         FLEET_APPLIED);
		CHECK_EQ(fleet_store_apply_batch(st, "hv-hung", c, 1, &v, &err), FLEET_APPLIED);
	}
	CHECK_EQ(fleet_store_host_remove(st, "hv-hung", &err), 0);
}

/* The database goes away: precise faults, fast, never a hang. */
static void test_pg_down(fleet_store *st)
{
	rdms_error err = { 0 };
	fleet_lease *lease;
	struct timespec t0;
	fleet_host h;
	double ms;

	/* nothing listens at this address: the connect fails at once */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK(fleet_store_open("postgresql", "host=127.0.0.1 port=1 dbname=rdms",
	                       FLEET_OPEN_BROKER, &err) == NULL);
	CHECK_EQ(err.code, WBEM_E_NOT_AVAILABLE);
	CHECK(strstr(err.message, "cannot connect") != NULL);
	CHECK(ms_since(&t0) < 6000);
	/* the server stops under an open store: the broker's lease says it is unhealthy */
	lease = fleet_lease_start(st, "b-down", 0, &err);
	CHECK(lease != NULL);
	pg_server_halt(&pg);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK_EQ(fleet_store_host_get(st, "hv2", &h, &err), WBEM_E_NOT_AVAILABLE);
	CHECK(strstr(err.message, "session directory (PostgreSQL database \"rdms\"") != NULL);
	CHECK_EQ(fleet_store_host_get(st, "hv2", &h, &err), WBEM_E_NOT_AVAILABLE);
	{
		fleet_change c[1] = { up(V(9, 1), "hv2", 1, 0, "x") };
		uint64_t v;

		CHECK_EQ(fleet_store_apply_batch(st, "hv2", c, 1, &v, &err), FLEET_FAILED);
		CHECK_EQ(err.code, WBEM_E_NOT_AVAILABLE);
	}
	ms = ms_since(&t0);
	CHECK(ms < 5000);
	printf("fleet_store: database down: 3 calls failed in %.0f ms\n", ms);
	if (lease != NULL) {
		rdms_error why = { 0 };

		usleep((FLEET_BEAT_MS + 1000) * 1000);
		CHECK(!fleet_lease_healthy(lease, &why));
		CHECK_EQ(why.code, WBEM_E_NOT_AVAILABLE);
		CHECK(strstr(why.message, "session directory (PostgreSQL database \"rdms\"") != NULL);
		fleet_lease_stop(lease);
	}
}

/* ---- brokers' leases and forwarded calls ---------------------------------------------- */

/* PG_TEXT run on the PostgreSQL directory, or SQLITE_TEXT on the SQLite one (own connection). */
static bool on_directory(const char *pg_text, const char *sqlite_text)
{
	sqlite3 *db = NULL;
	bool ok;

	if (pg.pid > 0)
		return pg_sql("rdms", pg_text);
	ok = sqlite3_open(path, &db) == SQLITE_OK &&
	     sqlite3_exec(db, sqlite_text, NULL, NULL, NULL) == SQLITE_OK;
	sqlite3_close(db);
	return ok;
}

/* Makes broker NAME's lease look MS old (the store's own clock and SQL). */
static bool age_lease(const char *name, int ms)
{
	char pg_text[200], sqlite_text[200];

	snprintf(pg_text, sizeof pg_text, "UPDATE brokers SET seen = now() - interval '%d ms' "
	         "WHERE name = '%s'", ms, name);
	snprintf(sqlite_text, sizeof sqlite_text, "UPDATE brokers SET seen = seen - %d WHERE "
	         "name = '%s'", ms, name);
	return on_directory(pg_text, sqlite_text);
}

static bool always_dead(const char *holder)
{
	(void)holder;
	return true;
}

/*
 * One process per broker name: a live lease refuses another holder,
 * naming it; an expired one, a released one or one whose holder is dead
 * is taken over, and the old holder's next refresh learns it lost it.
 */
static void test_leases(fleet_store *st)
{
	const char *h1 = "pid 101 on far-away since 5", *h2 = "pid 202 on far-away since 6";
	char self[FLEET_HOLDER_MAX + 1], gone[FLEET_HOLDER_MAX + 1], host[64];
	rdms_error err = { 0 };

	CHECK_EQ(fleet_store_broker_claim(st, "b1", h1, NULL, &err), 0);
	CHECK_EQ(fleet_store_broker_claim(st, "b1", h1, NULL, &err), 0);     /* its own again */
	CHECK_EQ(fleet_store_broker_claim(st, "b1", h2, fleet_holder_dead, &err),
	         WBEM_E_ALREADY_EXISTS);
	CHECK(strstr(err.message, "broker name b1 is in use on the session directory") != NULL);
	CHECK(strstr(err.message, "by pid 101 on far-away since 5, seen ") != NULL);
	CHECK(strstr(err.message, "one process per broker name") != NULL);
	{
		/* a refresh says the store's clock: here, on this machine, about this one's */
		int64_t at = 0, before = wall_ms();

		CHECK_EQ(fleet_store_broker_beat(st, "b1", h1, &at, &err), 0);
		CHECK(at >= before - 1000 && at <= wall_ms() + 1000);
	}
	CHECK_EQ(fleet_store_broker_beat(st, "b1", h2, NULL, &err), WBEM_E_NOT_FOUND);
	/* another name is another broker */
	CHECK_EQ(fleet_store_broker_claim(st, "b2", h2, NULL, &err), 0);
	/* expired: taken over; the old holder is told at its next refresh */
	CHECK(age_lease("b1", FLEET_LEASE_MS + 1000));
	CHECK_EQ(fleet_store_broker_claim(st, "b1", h2, NULL, &err), 0);
	CHECK_EQ(fleet_store_broker_beat(st, "b1", h1, NULL, &err), WBEM_E_NOT_FOUND);
	CHECK(strstr(err.message, "no longer held by pid 101") != NULL);
	CHECK(strstr(err.message, "another process took it over") != NULL);
	/* a holder known dead: taken over at once */
	CHECK_EQ(fleet_store_broker_claim(st, "b1", h1, always_dead, &err), 0);
	/* released: free for anyone */
	CHECK_EQ(fleet_store_broker_release(st, "b1", h1, &err), 0);
	CHECK_EQ(fleet_store_broker_claim(st, "b1", h2, NULL, &err), 0);
	CHECK_EQ(fleet_store_broker_release(st, "b1", h2, &err), 0);
	CHECK_EQ(fleet_store_broker_release(st, "b2", h2, &err), 0);
	/* bad input */
	CHECK_EQ(fleet_store_broker_claim(st, "", h1, NULL, &err), WBEM_E_INVALID_PARAMETER);
	CHECK_EQ(fleet_store_broker_claim(st, "b1", "", NULL, &err), WBEM_E_INVALID_PARAMETER);
	/* this process is alive; a pid of this machine that runs nothing is not */
	fleet_holder_self(self);
	CHECK(!fleet_holder_dead(self));
	CHECK(gethostname(host, sizeof host) == 0);
	snprintf(gone, sizeof gone, "pid 999999999 on %s since 7", host);
	CHECK(fleet_holder_dead(gone));
	/* this very pid with another start time: a reused pid, so another process */
	snprintf(gone, sizeof gone, "pid %ld on %s since 1", (long)getpid(), host);
	CHECK(fleet_holder_dead(gone));
	CHECK(!fleet_holder_dead(h1));                      /* another machine's: not ours to say */
	CHECK(!fleet_holder_dead("garbage"));
}

static fleet_call call_of(const char *caller, const char *mid, const char *broker,
                          const char *holder, uint32_t sid, const char *method)
{
	fleet_call c = {
		.caller = caller, .message_id = mid, .broker = broker, .holder = holder,
		.source = "198.18.0.100", .protocol = "WS-Man", .host = "hv1", .session_id = sid,
		.method = method,
	};
	return c;
}

/* One side of a race between two stores on one directory: what it did, what failed. */
struct race {
	fleet_store *st;
	const char  *holder;
	size_t       done;
	int          failed;
};

static void *claim_all(void *arg)
{
	struct race *r = arg;

	for (int i = 0; i < 50; i++) {
		char mid[40];
		fleet_call c;
		fleet_call_seen first;
		rdms_error err = { 0 };
		bool claimed = false;

		snprintf(mid, sizeof mid, "uuid:race-%d", i);
		c = call_of("alice", mid, "b1", r->holder, 7, "Logoff");
		if (fleet_store_call_claim(r->st, &c, &claimed, &first, &err) != 0)
			r->failed++;
		r->done += claimed;
	}
	return NULL;
}

/*
 * Each MessageID runs once: claimed by one broker, found by a retry on
 * any (pending, then its outcome), claimed again only when nothing was
 * sent; the janitor says unknown for the pending calls of a broker whose
 * lease is gone, never for a live one's.
 */
static void test_calls(fleet_store *st)
{
	const char *h1 = "pid 101 on far-away since 5", *h2 = "pid 202 on far-away since 6";
	fleet_call c = call_of("alice", "uuid:1", "b1", h1, 7, "Disconnect");
	fleet_call_seen first;
	rdms_error err = { 0 };
	bool claimed = false;
	size_t swept = 0;
	char long_text[2000];
	fleet_store *same;

	CHECK_EQ(fleet_store_broker_claim(st, "b1", h1, NULL, &err), 0);
	CHECK_EQ(fleet_store_call_claim(st, &c, &claimed, &first, &err), 0);
	CHECK(claimed);
	/* the retry through b2 while b1 forwards it: found pending, not claimed */
	c = call_of("alice", "uuid:1", "b2", h2, 7, "Disconnect");
	CHECK_EQ(fleet_store_call_claim(st, &c, &claimed, &first, &err), 0);
	CHECK(!claimed);
	CHECK_EQ(first.state, FLEET_CALL_PENDING);
	CHECK_STR(first.broker, "b1");
	/* b1 learns the outcome; b2's finish of a call it did not claim changes nothing */
	c = call_of("alice", "uuid:1", "b2", h2, 7, "Disconnect");
	c.state = FLEET_CALL_DONE;
	c.rv = 5;
	c.detail = "wrong broker";
	CHECK_EQ(fleet_store_call_finish(st, &c, &err), 0);
	c = call_of("alice", "uuid:1", "b1", h1, 7, "Disconnect");
	c.state = FLEET_CALL_DONE;
	c.rv = 2;
	c.detail = "session 7 is not connected";
	CHECK_EQ(fleet_store_call_finish(st, &c, &err), 0);
	CHECK_EQ(fleet_store_call_get(st, "alice", "uuid:1", &first, &err), 0);
	CHECK_EQ(first.state, FLEET_CALL_DONE);
	CHECK_EQ(first.rv, 2);
	CHECK_EQ(first.hresult, 0);
	CHECK_STR(first.detail, "session 7 is not connected");
	CHECK_STR(first.host, "hv1");
	CHECK_EQ(first.session_id, 7);
	CHECK_STR(first.method, "Disconnect");
	/* a retry now gets that outcome */
	c = call_of("alice", "uuid:1", "b2", h2, 7, "Disconnect");
	CHECK_EQ(fleet_store_call_claim(st, &c, &claimed, &first, &err), 0);
	CHECK(!claimed);
	CHECK_EQ(first.state, FLEET_CALL_DONE);
	CHECK_EQ(first.rv, 2);
	/* the same MessageID for another call: refused, saying which */
	c = call_of("alice", "uuid:1", "b2", h2, 7, "Logoff");
	CHECK_EQ(fleet_store_call_claim(st, &c, &claimed, &first, &err), WBEM_E_INVALID_PARAMETER);
	CHECK(strstr(err.message, "was used by alice for another call (Disconnect of session 7 "
	                          "on host hv1)") != NULL);
	CHECK(!claimed);
	/* another caller's MessageID is another key */
	c = call_of("bob", "uuid:1", "b2", h2, 7, "Logoff");
	CHECK_EQ(fleet_store_call_claim(st, &c, &claimed, &first, &err), 0);
	CHECK(claimed);
	/* nothing sent (refused): a retry claims it again, and owns it now */
	c = call_of("alice", "uuid:2", "b1", h1, 8, "Logoff");
	CHECK_EQ(fleet_store_call_claim(st, &c, &claimed, &first, &err), 0);
	c.state = FLEET_CALL_REFUSED;
	c.hresult = WBEM_E_TRANSPORT_FAILURE;
	c.detail = "host hv1 cannot be reached";
	CHECK_EQ(fleet_store_call_finish(st, &c, &err), 0);
	c = call_of("alice", "uuid:2", "b2", h2, 8, "Logoff");
	CHECK_EQ(fleet_store_call_claim(st, &c, &claimed, &first, &err), 0);
	CHECK(claimed);
	CHECK_EQ(fleet_store_call_get(st, "alice", "uuid:2", &first, &err), 0);
	CHECK_EQ(first.state, FLEET_CALL_PENDING);
	CHECK_STR(first.broker, "b2");
	CHECK_STR(first.detail, "");
	/* the janitor: b2 holds no lease, so its pending calls become unknown; b1's stay */
	c = call_of("alice", "uuid:3", "b1", h1, 9, "SendMessage");
	CHECK_EQ(fleet_store_call_claim(st, &c, &claimed, &first, &err), 0);
	CHECK_EQ(fleet_store_calls_sweep(st, &swept, &err), 0);
	CHECK_EQ(swept, 2);                                   /* bob's uuid:1, alice's uuid:2 */
	CHECK_EQ(fleet_store_call_get(st, "alice", "uuid:2", &first, &err), 0);
	CHECK_EQ(first.state, FLEET_CALL_UNKNOWN);
	CHECK(strstr(first.detail, "broker b2 stopped before the outcome was known") != NULL);
	CHECK_EQ(fleet_store_call_get(st, "alice", "uuid:3", &first, &err), 0);
	CHECK_EQ(first.state, FLEET_CALL_PENDING);
	/* a retry of an unknown call: found unknown, never run */
	c = call_of("alice", "uuid:2", "b1", h1, 8, "Logoff");
	CHECK_EQ(fleet_store_call_claim(st, &c, &claimed, &first, &err), 0);
	CHECK(!claimed);
	CHECK_EQ(first.state, FLEET_CALL_UNKNOWN);
	/* b1's lease expires: its pending call too */
	CHECK(age_lease("b1", FLEET_LEASE_MS + 1000));
	CHECK_EQ(fleet_store_calls_sweep(st, &swept, &err), 0);
	CHECK_EQ(swept, 1);
	CHECK_EQ(fleet_store_call_get(st, "alice", "uuid:3", &first, &err), 0);
	CHECK_EQ(first.state, FLEET_CALL_UNKNOWN);
	/* ...which its broker may still correct, when it learns the outcome after all */
	c.message_id = "uuid:3";
	c.session_id = 9;
	c.method = "SendMessage";
	c.state = FLEET_CALL_DONE;
	c.detail = NULL;
	CHECK_EQ(fleet_store_call_finish(st, &c, &err), 0);
	CHECK_EQ(fleet_store_call_get(st, "alice", "uuid:3", &first, &err), 0);
	CHECK_EQ(first.state, FLEET_CALL_DONE);
	/* a long reason is cut at a character, within bounds */
	for (size_t i = 0; i + 2 < sizeof long_text; i += 2)
		memcpy(long_text + i, "\xc3\xa9", 2);
	long_text[sizeof long_text - 2] = '\0';
	c = call_of("alice", "uuid:4", "b1", h1, 9, "Logoff");
	CHECK_EQ(fleet_store_call_claim(st, &c, &claimed, &first, &err), 0);
	c.state = FLEET_CALL_DONE;
	c.hresult = WBEM_E_NOT_FOUND;
	c.detail = long_text;
	CHECK_EQ(fleet_store_call_finish(st, &c, &err), 0);
	CHECK_EQ(fleet_store_call_get(st, "alice", "uuid:4", &first, &err), 0);
	CHECK_EQ(first.hresult, WBEM_E_NOT_FOUND);
	CHECK_EQ(strlen(first.detail), 510);
	CHECK(memcmp(first.detail, long_text, 510) == 0);
	/* bad input: no MessageID, an outcome that is none, nothing recorded */
	c = call_of("alice", "", "b1", h1, 9, "Logoff");
	CHECK_EQ(fleet_store_call_claim(st, &c, &claimed, &first, &err), WBEM_E_INVALID_PARAMETER);
	c = call_of("alice", "uuid:5", "b1", h1, 9, "Logoff");
	c.state = FLEET_CALL_PENDING;
	CHECK_EQ(fleet_store_call_finish(st, &c, &err), WBEM_E_INVALID_PARAMETER);
	CHECK_EQ(fleet_store_call_get(st, "alice", "uuid:5", &first, &err), WBEM_E_NOT_FOUND);
	/* two stores claiming the same MessageIDs at once: each claimed exactly once */
	same = second_store(true);
	CHECK(same != NULL);
	if (same != NULL) {
		struct race r1 = { .st = st, .holder = h1 }, r2 = { .st = same, .holder = h2 };

		race2(claim_all, &r1, &r2);
		CHECK_EQ(r1.done + r2.done, 50);
		CHECK_EQ(r1.failed + r2.failed, 0);
		fleet_store_close(same);
	}
	CHECK_EQ(fleet_store_broker_release(st, "b1", h1, &err), 0);
}

/* Makes the call CALLER made with MID MS older. */
static bool age_call(const char *caller, const char *mid, int ms)
{
	char pg_text[300], sqlite_text[300];

	snprintf(pg_text, sizeof pg_text, "UPDATE calls SET at = at - interval '%d ms' WHERE "
	         "caller = '%s' AND message_id = '%s'", ms, caller, mid);
	snprintf(sqlite_text, sizeof sqlite_text, "UPDATE calls SET at = at - %d WHERE caller = "
	         "'%s' AND message_id = '%s'", ms, caller, mid);
	return on_directory(pg_text, sqlite_text);
}

/* dave's call MID on session SID claimed by b1 and, unless PENDING, done. */
static void dave_calls(fleet_store *st, const char *mid, uint32_t sid, bool pending)
{
	fleet_call c = call_of("dave", mid, "b1", "pid 101 on far-away since 5", sid, "Logoff");
	fleet_call_seen first;
	rdms_error err = { 0 };
	bool claimed = false;

	CHECK_EQ(fleet_store_call_claim(st, &c, &claimed, &first, &err), 0);
	CHECK(claimed);
	if (pending)
		return;
	c.state = FLEET_CALL_DONE;
	CHECK_EQ(fleet_store_call_finish(st, &c, &err), 0);
}

static void *prune_all(void *arg)
{
	struct race *r = arg;
	size_t n = 1;

	while (n > 0) {
		rdms_error err = { 0 };

		n = 0;
		if (fleet_store_calls_prune(r->st, 3600 * 1000, 70, &n, &err) != 0)
			r->failed++;
		r->done += n;
	}
	return NULL;
}

/* Two brokers pruning the same directory at once: each call forgotten once, no failure. */
static void prune_race(fleet_store *st)
{
	fleet_store *other = second_store(true);
	struct race r1 = { .st = st }, r2 = { .st = other };
	rdms_error err = { 0 };
	fleet_call_seen seen;

	CHECK(other != NULL);
	if (other == NULL)
		return;
	for (int i = 0; i < 400; i++) {
		char mid[40];

		snprintf(mid, sizeof mid, "uuid:race-prune-%d", i);
		dave_calls(st, mid, 30 + (uint32_t)i, false);
		CHECK(age_call("dave", mid, 7200 * 1000));
	}
	race2(prune_all, &r1, &r2);
	CHECK_EQ(r1.failed + r2.failed, 0);
	CHECK_EQ(r1.done + r2.done, 400);
	CHECK_EQ(fleet_store_call_get(st, "dave", "uuid:race-prune-0", &seen, &err),
	         WBEM_E_NOT_FOUND);
	fleet_store_close(other);
}

/*
 * Retention: calls older than the time kept and not pending are forgotten,
 * the oldest first and at most as many as asked; a retry of a forgotten
 * MessageID is claimed (runs) again; pending and recent calls stay.
 */
static void test_calls_prune(fleet_store *st)
{
	static const char *const mids[] = { "uuid:p1", "uuid:p2", "uuid:p3", "uuid:p4", "uuid:p5" };
	const int hour = 3600 * 1000;
	fleet_call_seen seen;
	rdms_error err = { 0 };
	size_t pruned = 99;
	bool claimed = false;
	fleet_call c;

	for (int i = 0; i < 5; i++)
		dave_calls(st, mids[i], 20 + (uint32_t)i, i == 3);
	/* p1 to p4 two hours old and more (p1 the oldest), p5 just made */
	for (int i = 0; i < 4; i++)
		CHECK(age_call("dave", mids[i], 2 * hour + (4 - i) * 1000));
	CHECK_EQ(fleet_store_calls_prune(st, hour, 2, &pruned, &err), 0);
	CHECK_EQ(pruned, 2);
	CHECK_EQ(fleet_store_call_get(st, "dave", "uuid:p1", &seen, &err), WBEM_E_NOT_FOUND);
	CHECK_EQ(fleet_store_call_get(st, "dave", "uuid:p2", &seen, &err), WBEM_E_NOT_FOUND);
	CHECK_EQ(fleet_store_call_get(st, "dave", "uuid:p3", &seen, &err), 0);
	CHECK_EQ(fleet_store_calls_prune(st, hour, 100, &pruned, &err), 0);
	CHECK_EQ(pruned, 1);
	CHECK_EQ(fleet_store_call_get(st, "dave", "uuid:p3", &seen, &err), WBEM_E_NOT_FOUND);
	/* the pending one stays, however old; the recent one too */
	CHECK_EQ(fleet_store_call_get(st, "dave", "uuid:p4", &seen, &err), 0);
	CHECK_EQ(seen.state, FLEET_CALL_PENDING);
	CHECK_EQ(fleet_store_call_get(st, "dave", "uuid:p5", &seen, &err), 0);
	CHECK_EQ(seen.state, FLEET_CALL_DONE);
	CHECK_EQ(fleet_store_calls_prune(st, hour, 100, &pruned, &err), 0);
	CHECK_EQ(pruned, 0);
	/* kept for no time: everything with an outcome goes, but the pending one */
	usleep(20 * 1000);
	CHECK_EQ(fleet_store_calls_prune(st, 0, 1000000, &pruned, &err), 0);
	CHECK(pruned >= 1);
	CHECK_EQ(fleet_store_call_get(st, "dave", "uuid:p5", &seen, &err), WBEM_E_NOT_FOUND);
	CHECK_EQ(fleet_store_call_get(st, "dave", "uuid:p4", &seen, &err), 0);
	/* a retry of a forgotten MessageID is a new call */
	c = call_of("dave", "uuid:p1", "b1", "pid 101 on far-away since 5", 20, "Logoff");
	CHECK_EQ(fleet_store_call_claim(st, &c, &claimed, &seen, &err), 0);
	CHECK(claimed);
	/* bad input: nothing done */
	CHECK_EQ(fleet_store_calls_prune(st, -1, 10, &pruned, &err), WBEM_E_INVALID_PARAMETER);
	CHECK_EQ(pruned, 0);
	CHECK_EQ(fleet_store_calls_prune(st, hour, 0, &pruned, &err), WBEM_E_INVALID_PARAMETER);
	CHECK_EQ(fleet_store_call_get(st, "dave", "uuid:p1", &seen, &err), 0);
	prune_race(st);
}

/*
 * The lease's thread: healthy while the directory answers; it sweeps the
 * calls of brokers without a lease within a beat; stopping gives the name up.
 */
static void test_lease_thread(fleet_store *st)
{
	rdms_error err = { 0 };
	fleet_call c = call_of("carol", "uuid:t0", "bx", "pid 3 on far-away since 3", 1, "Logoff");
	fleet_call_seen first;
	bool claimed = false;
	fleet_lease *l;

	/* a call done two days ago, kept for one: forgotten at the first beat */
	CHECK_EQ(fleet_store_call_claim(st, &c, &claimed, &first, &err), 0);
	c.state = FLEET_CALL_DONE;
	CHECK_EQ(fleet_store_call_finish(st, &c, &err), 0);
	CHECK(age_call("carol", "uuid:t0", 2 * 86400 * 1000));
	l = fleet_lease_start(st, "bt", 86400 * 1000, &err);
	c = call_of("carol", "uuid:t1", "bx", "pid 3 on far-away since 3", 1, "Logoff");
	CHECK(l != NULL);
	if (l == NULL)
		return;
	CHECK(fleet_lease_healthy(l, NULL));
	CHECK(strstr(fleet_lease_holder(l), "pid ") == fleet_lease_holder(l));
	/* the store's clock, measured at the start: here it is this machine's */
	CHECK(llabs(fleet_lease_now_ms(l) - wall_ms()) < 1000);
	CHECK_EQ(fleet_store_broker_claim(st, "bt", "pid 1 on far-away since 1", NULL, &err),
	         WBEM_E_ALREADY_EXISTS);
	CHECK_EQ(fleet_store_call_claim(st, &c, &claimed, &first, &err), 0);
	CHECK(claimed);
	usleep((FLEET_BEAT_MS + 700) * 1000);
	CHECK_EQ(fleet_store_call_get(st, "carol", "uuid:t1", &first, &err), 0);
	CHECK_EQ(first.state, FLEET_CALL_UNKNOWN);
	CHECK_EQ(fleet_store_call_get(st, "carol", "uuid:t0", &first, &err), WBEM_E_NOT_FOUND);
	CHECK(fleet_lease_healthy(l, NULL));
	fleet_lease_stop(l);
	CHECK_EQ(fleet_store_broker_claim(st, "bt", "pid 1 on far-away since 1", NULL, &err), 0);
	CHECK_EQ(fleet_store_broker_release(st, "bt", "pid 1 on far-away since 1", &err), 0);
}

/*
 * A live broker's call that ended while the store did not answer is
 * recorded by the lease's thread when it answers again: it does not stay
 * pending (the janitor says unknown only for brokers whose lease is gone).
 */
static void test_pg_deferred(fleet_store *st)
{
	rdms_error err = { 0 };
	fleet_lease *l = fleet_lease_start(st, "b-defer", 0, &err);
	fleet_call c;
	fleet_call_seen seen;
	bool claimed = false;
	int waited;

	CHECK(l != NULL);
	if (l == NULL)
		return;
	c = call_of("dave", "uuid:deferred-1", "b-defer", fleet_lease_holder(l), 7, "Disconnect");
	CHECK_EQ(fleet_store_call_claim(st, &c, &claimed, &seen, &err), 0);
	CHECK(claimed);
	/*
	 * The store hangs as the call ends (broker.c's record_outcome would
	 * have failed: its UPDATE is not sent here, since a timed-out one may
	 * still reach a paused server and run when it goes on); a beat fails
	 * meanwhile, and the outcome stays kept.
	 */
	pg_server_pause(&pg);
	c.state = FLEET_CALL_DONE;
	c.hresult = 0;
	c.rv = 0;
	CHECK(fleet_lease_defer_outcome(l, &c));
	for (waited = 0; waited < 3 * FLEET_BEAT_MS + 4000 && fleet_lease_healthy(l, NULL);
	     waited += 200)
		usleep(200 * 1000);
	CHECK(!fleet_lease_healthy(l, NULL));
	pg_server_resume(&pg);
	/* the next beats: the store answers, the outcome is recorded */
	for (waited = 0; waited < 3 * FLEET_BEAT_MS + 4000; waited += 200) {
		CHECK_EQ(fleet_store_call_get(st, "dave", "uuid:deferred-1", &seen, &err), 0);
		if (seen.state != FLEET_CALL_PENDING)
			break;
		usleep(200 * 1000);
	}
	CHECK_EQ(seen.state, FLEET_CALL_DONE);
	CHECK_EQ(seen.hresult, 0);
	printf("fleet_store: an outcome the hung store missed recorded %d ms after it went on\n",
	       waited);
	fleet_lease_stop(l);
}

/* The checks every store passes, in order (each builds on the last's directory). */
static void conformance(fleet_store *st, fleet_store *(*second)(bool same))
{
	test_hosts(st);
	test_batches(st);
	test_same_id(st);
	test_reads(st);
	test_host_list(st);
	test_filters(st);
	second_store = second;
	test_secret(st);
	test_leases(st);
	test_calls(st);
	test_calls_prune(st);
	test_lease_thread(st);
}

static fleet_store *sqlite_second(bool same)
{
	char other[160];
	rdms_error err = { 0 };

	if (same)
		return fleet_store_open_sqlite_admin(path, &err);
	snprintf(other, sizeof other, "%s/other.db", dir);
	return fleet_store_open_sqlite(other, &err);
}

static int run_sqlite(void)
{
	rdms_error err = { 0 };
	fleet_store *st;
	char cmd[200];

	if (mkdtemp(dir) == NULL)
		return 2;
	snprintf(path, sizeof path, "%s/fleet.db", dir);
	st = fleet_store_open_sqlite(path, &err);
	CHECK(st != NULL);
	if (st == NULL) {
		fprintf(stderr, "%s\n", err.message);
		return check_summary("fleet_store sqlite");
	}
	CHECK(strncmp(fleet_store_describe(st), "SQLite file /tmp/test_fleet_store", 33) == 0);
	test_versions();
	conformance(st, sqlite_second);
	test_plans();
	test_huge(st);
	test_threads(st);
	test_reads_beside_writer(st);
	test_pages_beside_writer(st);
	test_file(&st);
	fleet_store_close(st);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	return check_summary("fleet_store sqlite");
}

static fleet_store *pg_second(bool same)
{
	rdms_error err = { 0 };

	if (same)
		return fleet_store_open("postgresql", pg_dsn("rdms"), FLEET_OPEN_BROKER, &err);
	CHECK(pg_server_createdb(&pg, "other", "C"));
	return fleet_store_open("postgresql", pg_dsn("other"), FLEET_OPEN_INIT, &err);
}

static int run_postgresql(void)
{
	rdms_error err = { 0 };
	fleet_store *st = NULL;

	if (!pg_server_start(&pg)) {
		printf("fleet_store postgresql: skipped: %s\n", pg.why);
		pg_server_stop(&pg);
		return 77;
	}
	CHECK(pg_server_createdb(&pg, "rdms", "C"));
	st = fleet_store_open("postgresql", pg_dsn("rdms"), FLEET_OPEN_INIT, &err);
	CHECK(st != NULL);
	if (st == NULL) {
		fprintf(stderr, "%s\n", err.message);
	} else {
		CHECK(strstr(fleet_store_describe(st), "PostgreSQL database \"rdms\" on /tmp/") != NULL);
		conformance(st, pg_second);
		test_pg_plans();
		test_huge(st);
		test_threads(st);
		test_pg_two_brokers(st);
		test_pg_schema();
		test_pg_hung(st);
		test_pg_deferred(st);
		test_pg_down(st);
		fleet_store_close(st);
	}
	pg_server_stop(&pg);
	return check_summary("fleet_store postgresql");
}

int main(int argc, char **argv)
{
	const char *store = argc > 1 ? argv[1] : "sqlite";

	if (strcmp(store, "sqlite") == 0)
		return run_sqlite();
	if (strcmp(store, "postgresql") == 0)
		return run_postgresql();
	fprintf(stderr, "usage: test_fleet_store sqlite|postgresql\n");
	return 2;
}
