/*
 * test_fleet_events.c -- a fleet broker's change feed (src/fleet/events.h)
 * on a real SQLite directory and journal: the events of a batch (each
 * applied change against what the directory held, through the batch),
 * of a snapshot (only what differs), none for a host's first sync, a
 * stale, gapped or refused batch; each event with its session's own host
 * and properties; the journal across a reopen (a new epoch, the events
 * and their hosts kept); a host's events.db of before the broker columns
 * opened and kept; the owner rule of the broker's subscribers; a broker
 * killed (SIGKILL) at random moments while it applies batches: after each
 * restart its journal, folded from the start, is exactly its directory
 * (no event lost between the two commits, none twice).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "backend/fixture/fixture.h"
#include "check.h"
#include "events/feed_store.h"
#include "fleet/broker.h"
#include "fleet/events.h"
#include "schema/schema.h"

#define V(e, s) fleet_version((e), (s))

static char dir[] = "/tmp/rdms-fleet-events-XXXXXX";
static char store_path[96], journal_path[96];

/* A directory row of HOST: the lab's VMName, domain and collection. */
static fleet_session row(const char *host, uint32_t id, const char *user, uint32_t state,
                         const char *client)
{
	return (fleet_session){ .host = host, .id = id, .vm_name = host, .connect_state = state,
	                        .user_name = user, .domain_name = "FLEET",
	                        .collection_id = "pool", .client_machine_name = client };
}

static fleet_change up(uint64_t v, fleet_session s)
{
	return (fleet_change){ .version = v, .kind = FLEET_UPSERT, .s = s };
}

static fleet_change del(uint64_t v, const char *host, uint32_t id)
{
	return (fleet_change){ .version = v, .kind = FLEET_DELETE, .s = { .host = host, .id = id } };
}

/* What a test reads back of the journal: copies of its events. */
typedef struct seen {
	rdms_event ev[64];
	size_t     n;
} seen;

static int keep(void *ctx, const rdms_event *ev)
{
	seen *s = ctx;
	rdms_event *e = &s->ev[s->n];

	if (s->n == sizeof s->ev / sizeof s->ev[0])
		return 1;
	*e = (rdms_event){ .pos = ev->pos, .time_us = ev->time_us, .kind = ev->kind };
	CHECK(rdms_event_session_copy(&e->target, &ev->target));
	if (ev->kind == RDMS_EVENT_MODIFICATION)
		CHECK(rdms_event_session_copy(&e->previous, &ev->previous));
	s->n++;
	return 0;
}

static void seen_free(seen *s)
{
	for (size_t i = 0; i < s->n; i++) {
		rdms_event_session_clear(&s->ev[i].target);
		rdms_event_session_clear(&s->ev[i].previous);
	}
	s->n = 0;
}

/* The events after *AT into S (emptied first); *AT moves past them. */
static size_t read_after(fleet_events *fe, rdms_feed_pos *at, seen *s)
{
	rdms_feed_pos next;

	seen_free(s);
	CHECK_EQ(rdms_feed_read(fleet_events_feed(fe), *at, 64, keep, s, &next), RDMS_FEED_OK);
	*at = next;
	return s->n;
}

/* ES's host and its properties there (all NULL for a host's own session). */
static rdms_event_origin origin(const rdms_event_session *es)
{
	rdms_event_origin o = { 0 };

	rdms_event_session_origin(es, &o);
	return o;
}

static bool is(const rdms_event *e, uint8_t kind, const char *host, uint32_t id,
               uint32_t state, const char *client)
{
	const char *h = origin(&e->target).host;

	return e->kind == kind && h != NULL && strcmp(h, host) == 0 &&
	       e->target.id == id && e->target.connect_state == state &&
	       strcmp(e->target.client, client) == 0;
}

static fleet_store *open_store(void)
{
	rdms_error err = { 0 };
	fleet_store *st = fleet_store_open_sqlite(store_path, &err);
	fleet_host h = { .url = "https://198.18.1.1:5986/wsman" };

	CHECK(st != NULL);
	for (int i = 0; st != NULL && i < 2; i++) {
		snprintf(h.name, sizeof h.name, "%s", i == 0 ? "hvA" : "hvB");
		memset(h.cert_sha256, i + 1, sizeof h.cert_sha256);
		CHECK_EQ(fleet_store_host_add(st, &h, &err), 0);
	}
	return st;
}

static void test_events(void)
{
	rdms_error err = { 0 };
	fleet_store *st = open_store();
	fleet_events *fe = fleet_events_open(journal_path, &err);
	rdms_feed_pos at;
	uint64_t v = 0, pub = 0, lost = 0;
	seen s = { .n = 0 };

	CHECK(fe != NULL);
	if (st == NULL || fe == NULL)
		return;
	at = rdms_feed_head(fleet_events_feed(fe));
	CHECK_EQ(at.epoch, 1);

	/* a host's first sync: listed, no events */
	{
		fleet_session snap[3] = { row("hvA", 1, "alice", 0, "PC-1"),
		                          row("hvA", 2, "bob", 4, ""), row("hvA", 3, "carol", 0, "PC-3") };

		CHECK_EQ(fleet_events_apply_snapshot(fe, st, "hvA", V(1, 10), snap, 3, &err),
		         FLEET_APPLIED);
		CHECK_EQ(read_after(fe, &at, &s), 0);
	}

	/* a batch: each applied change against what the directory held, in order */
	{
		fleet_change ch[] = {
			up(V(1, 11), row("hvA", 1, "alice", 4, "")),          /* Active -> Disconnected */
			up(V(1, 12), row("hvA", 4, "dave", 0, "PC-4")),       /* new */
			del(V(1, 13), "hvA", 2),                              /* bob logs off */
			up(V(1, 14), row("hvA", 3, "carol", 0, "PC-3")),      /* nothing changes */
			del(V(1, 15), "hvA", 99),                             /* not held: nothing */
			up(V(1, 16), row("hvA", 4, "dave", 4, "")),           /* the new one, twice */
			up(V(1, 17), row("hvA", 4, "dave", 0, "PC-44")),
		};

		CHECK_EQ(fleet_events_apply_batch(fe, st, "hvA", ch, 7, &v, &err), FLEET_APPLIED);
		CHECK_EQ(v, V(1, 17));
		CHECK_EQ(read_after(fe, &at, &s), 5);
		CHECK(is(&s.ev[0], RDMS_EVENT_MODIFICATION, "hvA", 1, 4, ""));
		CHECK_EQ(s.ev[0].previous.connect_state, 0);
		CHECK_STR(s.ev[0].previous.client, "PC-1");
		CHECK_STR(origin(&s.ev[0].previous).host, "hvA");
		CHECK(is(&s.ev[1], RDMS_EVENT_CREATION, "hvA", 4, 0, "PC-4"));
		CHECK(s.ev[1].previous.user == NULL);
		CHECK(is(&s.ev[2], RDMS_EVENT_DELETION, "hvA", 2, 4, ""));
		CHECK_STR(s.ev[2].target.user, "bob");           /* the last state it had */
		CHECK(is(&s.ev[3], RDMS_EVENT_MODIFICATION, "hvA", 4, 4, ""));
		CHECK_STR(s.ev[3].previous.client, "PC-4");
		CHECK(is(&s.ev[4], RDMS_EVENT_MODIFICATION, "hvA", 4, 0, "PC-44"));
		CHECK_EQ(s.ev[4].previous.connect_state, 4);    /* the batch's own earlier change */
		/* the properties the host gave it, not the broker's */
		CHECK_STR(origin(&s.ev[1].target).vm_name, "hvA");
		CHECK_STR(origin(&s.ev[1].target).domain, "FLEET");
		CHECK_STR(origin(&s.ev[1].target).collection, "pool");
		CHECK_STR(s.ev[1].target.user, "dave");
		CHECK(s.ev[0].time_us > 0 && s.ev[0].time_us == s.ev[4].time_us);
		CHECK_EQ(s.ev[0].pos.epoch, 1);
		CHECK_EQ(s.ev[4].pos.seq, s.ev[0].pos.seq + 4);
	}

	/* a batch pulled twice: only what is new makes events */
	{
		fleet_change ch[] = {
			up(V(1, 16), row("hvA", 4, "dave", 4, "")),
			up(V(1, 17), row("hvA", 4, "dave", 0, "PC-44")),
			up(V(1, 18), row("hvA", 3, "carol", 1, "PC-3")),
		};

		CHECK_EQ(fleet_events_apply_batch(fe, st, "hvA", ch, 3, &v, &err), FLEET_APPLIED);
		CHECK_EQ(read_after(fe, &at, &s), 1);
		CHECK(is(&s.ev[0], RDMS_EVENT_MODIFICATION, "hvA", 3, 1, "PC-3"));
		/* all of it seen already: stale, nothing */
		CHECK_EQ(fleet_events_apply_batch(fe, st, "hvA", ch, 3, &v, &err), FLEET_STALE);
		CHECK_EQ(read_after(fe, &at, &s), 0);
	}

	/* a gap, a new epoch, another host's session, a host never synced: nothing applied, no events */
	{
		fleet_change gap[] = { up(V(1, 30), row("hvA", 1, "alice", 0, "X")) };
		fleet_change epoch[] = { up(V(2, 1), row("hvA", 1, "alice", 0, "X")) };
		fleet_change forged[] = { up(V(1, 19), row("hvB", 1, "alice", 0, "X")) };
		fleet_change unsynced[] = { up(V(1, 1), row("hvB", 1, "alice", 0, "X")) };

		CHECK_EQ(fleet_events_apply_batch(fe, st, "hvA", gap, 1, &v, &err), FLEET_GAP);
		CHECK_EQ(fleet_events_apply_batch(fe, st, "hvA", epoch, 1, &v, &err), FLEET_NEW_EPOCH);
		CHECK_EQ(fleet_events_apply_batch(fe, st, "hvA", forged, 1, &v, &err), FLEET_REFUSED);
		CHECK_EQ(fleet_events_apply_batch(fe, st, "hvB", unsynced, 1, &v, &err), FLEET_GAP);
		CHECK_EQ(read_after(fe, &at, &s), 0);
	}

	/* a resync: only what differs, in SessionId order; the unchanged make nothing */
	{
		fleet_session snap[] = {
			row("hvA", 5, "erin", 0, "PC-5"),            /* began meanwhile */
			row("hvA", 3, "carol", 1, "PC-3"),           /* as held */
			row("hvA", 1, "alice", 0, "PC-1b"),          /* changed */
		};                                               /* 4 ended meanwhile */

		CHECK_EQ(fleet_events_apply_snapshot(fe, st, "hvA", V(2, 7), snap, 3, &err),
		         FLEET_APPLIED);
		CHECK_EQ(read_after(fe, &at, &s), 3);
		CHECK(is(&s.ev[0], RDMS_EVENT_MODIFICATION, "hvA", 1, 0, "PC-1b"));
		CHECK_EQ(s.ev[0].previous.connect_state, 4);
		CHECK(is(&s.ev[1], RDMS_EVENT_DELETION, "hvA", 4, 0, "PC-44"));
		CHECK(is(&s.ev[2], RDMS_EVENT_CREATION, "hvA", 5, 0, "PC-5"));
		/* the same snapshot again, later: no change, no events */
		CHECK_EQ(fleet_events_apply_snapshot(fe, st, "hvA", V(2, 8), snap, 3, &err),
		         FLEET_APPLIED);
		CHECK_EQ(read_after(fe, &at, &s), 0);
		/* an older one: stale, nothing */
		CHECK_EQ(fleet_events_apply_snapshot(fe, st, "hvA", V(2, 1), snap, 1, &err),
		         FLEET_STALE);
		CHECK_EQ(read_after(fe, &at, &s), 0);
	}

	/* another host sharing SessionId 1: its first sync is quiet, its changes are its own */
	{
		fleet_session snap[] = { row("hvB", 1, "alice", 0, "B-1") };
		fleet_change ch[] = { up(V(7, 3), row("hvB", 1, "alice", 4, "")) };

		CHECK_EQ(fleet_events_apply_snapshot(fe, st, "hvB", V(7, 2), snap, 1, &err),
		         FLEET_APPLIED);
		CHECK_EQ(read_after(fe, &at, &s), 0);
		CHECK_EQ(fleet_events_apply_batch(fe, st, "hvB", ch, 1, &v, &err), FLEET_APPLIED);
		CHECK_EQ(read_after(fe, &at, &s), 1);
		CHECK(is(&s.ev[0], RDMS_EVENT_MODIFICATION, "hvB", 1, 4, ""));
		CHECK_STR(s.ev[0].previous.client, "B-1");
		CHECK_STR(origin(&s.ev[0].target).vm_name, "hvB");
	}

	/* a host whose journal was lost (reset): its resync is diffed against what was held */
	{
		fleet_session snap[] = { row("hvB", 1, "alice", 4, ""), row("hvB", 2, "zoe", 0, "B-2") };

		CHECK_EQ(fleet_store_host_reset(st, "hvB", &err), 0);
		CHECK_EQ(fleet_events_apply_snapshot(fe, st, "hvB", V(1, 1), snap, 2, &err),
		         FLEET_APPLIED);
		CHECK_EQ(read_after(fe, &at, &s), 1);
		CHECK(is(&s.ev[0], RDMS_EVENT_CREATION, "hvB", 2, 0, "B-2"));
	}

	/* a NULL property stays NULL; NULL events (no feed) still apply */
	{
		fleet_session x = row("hvB", 3, "yan", 0, "B-3");
		fleet_change ch[2];

		x.domain_name = NULL;
		ch[0] = up(V(1, 2), x);
		ch[1] = up(V(1, 3), row("hvB", 4, "yan", 0, "B-4"));
		CHECK_EQ(fleet_events_apply_batch(fe, st, "hvB", ch, 1, &v, &err), FLEET_APPLIED);
		CHECK_EQ(read_after(fe, &at, &s), 1);
		CHECK(origin(&s.ev[0].target).domain == NULL);
		CHECK_EQ(fleet_events_apply_batch(NULL, st, "hvB", ch + 1, 1, &v, &err), FLEET_APPLIED);
		CHECK_EQ(read_after(fe, &at, &s), 0);
	}
	fleet_events_counts(fe, &pub, &lost);
	CHECK_EQ(pub, 12);
	CHECK_EQ(lost, 0);
	seen_free(&s);
	fleet_events_close(fe);

	/* reopened: a new epoch, the journal kept with each session's host and properties */
	fe = fleet_events_open(journal_path, &err);
	CHECK(fe != NULL);
	if (fe != NULL) {
		at = rdms_feed_earliest(fleet_events_feed(fe));
		CHECK_EQ(rdms_feed_epoch(fleet_events_feed(fe)), 2);
		CHECK_EQ(read_after(fe, &at, &s), 12);
		CHECK(is(&s.ev[0], RDMS_EVENT_MODIFICATION, "hvA", 1, 4, ""));
		CHECK_STR(s.ev[0].previous.client, "PC-1");
		CHECK_STR(origin(&s.ev[0].target).collection, "pool");
		CHECK(is(&s.ev[2], RDMS_EVENT_DELETION, "hvA", 2, 4, ""));
		CHECK(is(&s.ev[11], RDMS_EVENT_CREATION, "hvB", 3, 0, "B-3"));
		CHECK(origin(&s.ev[11].target).domain == NULL);
		CHECK_STR(origin(&s.ev[11].target).vm_name, "hvB");
		/* the next event is of the new epoch */
		{
			fleet_change ch[] = { up(V(1, 4), row("hvB", 3, "yan", 4, "")) };

			CHECK_EQ(fleet_events_apply_batch(fe, st, "hvB", ch, 1, &v, &err), FLEET_APPLIED);
			CHECK_EQ(read_after(fe, &at, &s), 1);
			CHECK_EQ(s.ev[0].pos.epoch, 2);
			CHECK_EQ(s.ev[0].pos.seq, 1);
		}
		seen_free(&s);
		fleet_events_close(fe);
	}
	fleet_store_close(st);
}

/* The broker's subscribers: instances with each session's host; the owner rule of its reads. */
static void test_source(void)
{
	rdms_error err = { 0 };
	fleet_events *fe = fleet_events_open(journal_path, &err);
	wsman_event_source src;
	const rdms_event_origin o = { .host = "hv-x", .vm_name = "vm-x", .domain = "EXAMPLE",
	                              .collection = NULL };
	rdms_event_session es;
	fleet_session x = row("hv-x", 9, "Alice", 4, "");
	cim_instance *inst;

	CHECK(fe != NULL);
	if (fe == NULL)
		return;
	src = fleet_events_source(fe);
	CHECK(src.feed == fleet_events_feed(fe) && src.instance != NULL && src.visible != NULL);
	CHECK(src.state == NULL);     /* no positioned snapshot: brokers do not chain */
	CHECK_EQ(rdms_feed_pos_cmp(src.head(src.ctx), rdms_feed_head(src.feed)), 0);
	memset(&es, 0, sizeof es);
	es.id = 9;
	es.connect_state = 4;
	CHECK(rdms_event_session_set(&es, "Alice", "", "", &o));
	inst = src.instance(&es);
	CHECK(inst != NULL);
	if (inst != NULL) {
		const cim_value *p = inst->values;

		CHECK_STR(p[RDMS_WIN32_VIRTUALDESKTOPSESSION_VMHOSTNAME].u.str, "hv-x");
		CHECK_STR(p[RDMS_WIN32_VIRTUALDESKTOPSESSION_VMNAME].u.str, "vm-x");
		CHECK_STR(p[RDMS_WIN32_VIRTUALDESKTOPSESSION_DOMAINNAME].u.str, "EXAMPLE");
		CHECK(p[RDMS_WIN32_VIRTUALDESKTOPSESSION_COLLECTIONID].is_null);
		CHECK_EQ(p[RDMS_WIN32_VIRTUALDESKTOPSESSION_SESSIONID].u.u32, 9);
		CHECK_EQ(p[RDMS_WIN32_VIRTUALDESKTOPSESSION_CONNECTSTATE].u.u32, 4);
		cim_instance_free(inst);
	}
	/* as the broker's reads: the UserName, any case, any host */
	CHECK(src.visible("alice", &es));
	CHECK(src.visible("ALICE", &es));
	CHECK(!src.visible("bob", &es));
	rdms_event_session_clear(&es);
	CHECK(rdms_event_session_set(&es, NULL, "", "", &o));
	CHECK(!src.visible("alice", &es));
	rdms_event_session_clear(&es);
	CHECK(fleet_user_owns("alice", x.user_name));
	CHECK(!fleet_user_owns("alice", NULL));
	fleet_events_close(fe);
}

/* A host's events.db made before the broker's columns: opened, its events kept, the columns added. */
static void test_old_journal(void)
{
	static const char *const added[] = { "t_host", "t_vm", "t_domain", "t_collection",
	                                     "p_host", "p_vm", "p_domain", "p_collection" };
	char path[128], sql[96];
	sqlite3 *db;
	rdms_feed_store *fs;
	rdms_feed *f;
	rdms_error err = { 0 };
	rdms_session one;
	seen s = { .n = 0 };
	rdms_feed_pos next;

	snprintf(path, sizeof path, "%s/old-events.db", dir);
	CHECK_EQ(rdms_feed_store_open(path, NULL, &fs, &f, &err), 0);
	if (f == NULL)
		return;
	memset(&one, 0, sizeof one);
	one.id = 7;
	one.uid = 1000;
	one.backend = &rdms_backend_fixture;
	snprintf(one.user, sizeof one.user, "alice");
	snprintf(one.client, sizeof one.client, "PC-7");
	CHECK_EQ(rdms_feed_observe(f, "fixture", &one, 1, 1700000000000000LL), 1);
	rdms_feed_store_close(fs, f);
	/* as an rdmsd before them wrote it */
	CHECK_EQ(sqlite3_open(path, &db), SQLITE_OK);
	for (size_t i = 0; i < sizeof added / sizeof added[0]; i++) {
		snprintf(sql, sizeof sql, "ALTER TABLE events DROP COLUMN %s;", added[i]);
		CHECK_EQ(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	}
	CHECK(sqlite3_exec(db, "SELECT t_host FROM events;", NULL, NULL, NULL) != SQLITE_OK);
	sqlite3_close(db);
	CHECK_EQ(rdms_feed_store_open(path, NULL, &fs, &f, &err), 0);
	if (f == NULL)
		return;
	CHECK_EQ(rdms_feed_epoch(f), 2);
	CHECK_EQ(rdms_feed_read(f, (rdms_feed_pos){ 1, 0 }, 8, keep, &s, &next), RDMS_FEED_OK);
	CHECK_EQ(s.n, 1);
	CHECK_STR(s.ev[0].target.user, "alice");
	CHECK(!s.ev[0].target.fleet);        /* a host's own session */
	CHECK_STR(s.ev[0].target.backend, "fixture");
	seen_free(&s);
	rdms_feed_store_close(fs, f);
	CHECK_EQ(sqlite3_open(path, &db), SQLITE_OK);
	CHECK_EQ(sqlite3_exec(db, "SELECT t_host, p_collection FROM events;", NULL, NULL, NULL),
	         SQLITE_OK);
	sqlite3_close(db);
	/* and again: the columns are there, nothing to add */
	CHECK_EQ(rdms_feed_store_open(path, NULL, &fs, &f, &err), 0);
	rdms_feed_store_close(fs, f);
}

static void test_path(void)
{
	rdms_config cfg;
	char path[600];

	memset(&cfg, 0, sizeof cfg);
	snprintf(cfg.store_path, sizeof cfg.store_path, "/var/lib/rdms/fleet.db");
	fleet_events_path(&cfg, path, sizeof path);
	CHECK_STR(path, "/var/lib/rdms/fleet-events.db");
	snprintf(cfg.store_path, sizeof cfg.store_path, "/srv/directory");
	fleet_events_path(&cfg, path, sizeof path);
	CHECK_STR(path, "/srv/directory-events.db");
	snprintf(cfg.events_db, sizeof cfg.events_db, "/srv/journal.db");
	fleet_events_path(&cfg, path, sizeof path);
	CHECK_STR(path, "/srv/journal.db");
}


/* ---- kill -9 mid-batch ------------------------------------------------------------- */

#define CRASH_IDS 40

/* What a session of the crash test is: user, state and client, by SessionId. */
typedef struct crash_row {
	bool     present;
	char     user[32], client[32];
	uint32_t state;
} crash_row;

static int take_crash_row(void *ctx, const fleet_session *s)
{
	crash_row *rows = ctx;

	if (strcmp(s->host, "hvK") != 0)
		return 1;
	if (s->id < CRASH_IDS) {
		rows[s->id].present = true;
		snprintf(rows[s->id].user, sizeof rows[s->id].user, "%s", s->user_name);
		snprintf(rows[s->id].client, sizeof rows[s->id].client, "%s",
		         s->client_machine_name != NULL ? s->client_machine_name : "");
		rows[s->id].state = s->connect_state;
	}
	return 0;
}

/* Host hvK's sessions in the directory. */
static void crash_directory(fleet_store *st, crash_row *rows)
{
	fleet_page p = { .after_host = "hvK", .after_id = 0, .limit = 1000 };
	rdms_error err = { 0 };

	memset(rows, 0, CRASH_IDS * sizeof *rows);
	CHECK_EQ(fleet_store_get(st, "hvK", 0, take_crash_row, rows, &err) == 0 ||
	         err.code == WBEM_E_NOT_FOUND, 1);
	CHECK_EQ(fleet_store_enumerate(st, &p, take_crash_row, rows, NULL, &err), 0);
}

static int fold_event(void *ctx, const rdms_event *ev)
{
	crash_row *rows = ctx;
	const char *host = origin(&ev->target).host;
	crash_row *r;

	if (host == NULL || strcmp(host, "hvK") != 0 || ev->target.id >= CRASH_IDS)
		return 0;
	r = &rows[ev->target.id];
	if (ev->kind == RDMS_EVENT_DELETION) {
		r->present = false;
		return 0;
	}
	r->present = true;
	snprintf(r->user, sizeof r->user, "%s", ev->target.user);
	snprintf(r->client, sizeof r->client, "%s", ev->target.client);
	r->state = ev->target.connect_state;
	return 0;
}

/* The child: batches of random changes to hvK, one after another, until killed. */
static void crash_child(unsigned seed)
{
	rdms_error err = { 0 };
	fleet_store *st = fleet_store_open_sqlite(store_path, &err);
	fleet_events *fe = st != NULL ? fleet_events_open(journal_path, &err) : NULL;
	fleet_host h;
	uint64_t v;

	if (fe == NULL || fleet_events_recover(fe, st, &err) != 0 ||
	    fleet_store_host_get(st, "hvK", &h, &err) != 0)
		_exit(3);
	v = h.version;
	for (;;) {
		fleet_change ch[8];
		char users[8][16], clients[8][16];

		for (int i = 0; i < 8; i++) {
			uint32_t id = (uint32_t)(rand_r(&seed) % CRASH_IDS);

			snprintf(users[i], sizeof users[i], "u%u", rand_r(&seed) % 5);
			snprintf(clients[i], sizeof clients[i], "pc%u", rand_r(&seed) % 7);
			ch[i] = rand_r(&seed) % 4 == 0 ? del(v + 1 + (uint64_t)i, "hvK", id)
			        : up(v + 1 + (uint64_t)i, row("hvK", id, users[i], rand_r(&seed) % 2 * 4,
			                                      clients[i]));
		}
		if (fleet_events_apply_batch(fe, st, "hvK", ch, 8, &v, &err) != FLEET_APPLIED)
			_exit(4);
	}
}

/*
 * The broker's start after a kill: staged batches published or dropped;
 * then the journal from FROM, folded onto BASE, must be the directory.
 */
static bool crash_consistent(const crash_row *base, rdms_feed_pos from)
{
	rdms_error err = { 0 };
	fleet_store *st = fleet_store_open_sqlite(store_path, &err);
	fleet_events *fe = st != NULL ? fleet_events_open(journal_path, &err) : NULL;
	crash_row have[CRASH_IDS], want[CRASH_IDS];
	rdms_feed_pos next;
	bool same = true;

	CHECK(fe != NULL);
	if (fe == NULL) {
		fleet_store_close(st);
		return false;
	}
	CHECK_EQ(fleet_events_recover(fe, st, &err), 0);
	memcpy(have, base, sizeof have);
	for (;;) {
		CHECK_EQ(rdms_feed_read(fleet_events_feed(fe), from, 4096, fold_event, have, &next),
		         RDMS_FEED_OK);
		if (rdms_feed_pos_cmp(next, from) == 0)
			break;
		from = next;
	}
	crash_directory(st, want);
	for (int i = 0; i < CRASH_IDS; i++)
		if (have[i].present != want[i].present ||
		    (want[i].present && (strcmp(have[i].user, want[i].user) != 0 ||
		                         strcmp(have[i].client, want[i].client) != 0 ||
		                         have[i].state != want[i].state))) {
			fprintf(stderr, "session %d: the journal says %d %s %s %u, the directory %d %s "
			        "%s %u\n", i, have[i].present, have[i].user, have[i].client, have[i].state,
			        want[i].present, want[i].user, want[i].client, want[i].state);
			same = false;
		}
	fleet_events_close(fe);
	fleet_store_close(st);
	return same;
}

static void test_crash(void)
{
	rdms_error err = { 0 };
	fleet_store *st = fleet_store_open_sqlite(store_path, &err);
	fleet_host h = { .name = "hvK", .url = "https://198.18.1.9:5986/wsman" };
	fleet_session first[] = { row("hvK", 1, "u0", 0, "pc0"), row("hvK", 2, "u1", 4, "") };
	crash_row base[CRASH_IDS];
	rdms_feed_pos from;
	unsigned kills = 0, consistent = 0;
	fleet_events *fe;

	CHECK(st != NULL);
	if (st == NULL)
		return;
	CHECK_EQ(fleet_store_host_add(st, &h, &err), 0);
	/* its first sync makes no events: the fold starts from it */
	CHECK_EQ(fleet_store_apply_snapshot(st, "hvK", V(1, 1), first, 2, &err), FLEET_APPLIED);
	crash_directory(st, base);
	fleet_store_close(st);      /* the child takes the directory's lock */
	fe = fleet_events_open(journal_path, &err);
	CHECK(fe != NULL);
	if (fe == NULL)
		return;
	from = rdms_feed_head(fleet_events_feed(fe));      /* the fold: after what is there */
	fleet_events_close(fe);
	for (int round = 0; round < 16; round++) {
		pid_t pid = fork();
		/* past the child's start (opening both databases), into its batches */
		struct timespec nap = { 0, (long)(150 + rand() % 250) * 1000000L };
		int status = 0;

		if (pid == 0)
			crash_child((unsigned)round * 7919u + 1);
		CHECK(pid > 0);
		nanosleep(&nap, NULL);
		if (kill(pid, SIGKILL) == 0)
			kills++;
		waitpid(pid, &status, 0);
		CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
		if (crash_consistent(base, from))
			consistent++;
	}
	CHECK_EQ(kills, 16);
	CHECK_EQ(consistent, 16);
	/* nothing stays staged */
	{
		sqlite3 *db;
		sqlite3_stmt *q;

		CHECK_EQ(sqlite3_open_v2(journal_path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
		CHECK_EQ(sqlite3_prepare_v2(db, "SELECT count(*) FROM staged;", -1, &q, NULL),
		         SQLITE_OK);
		CHECK_EQ(sqlite3_step(q), SQLITE_ROW);
		CHECK_EQ(sqlite3_column_int(q, 0), 0);
		sqlite3_finalize(q);
		sqlite3_close(db);
	}
}

int main(void)
{
	CHECK(mkdtemp(dir) != NULL);
	snprintf(store_path, sizeof store_path, "%s/fleet.db", dir);
	snprintf(journal_path, sizeof journal_path, "%s/fleet-events.db", dir);
	test_events();
	test_source();
	test_old_journal();
	test_path();
	test_crash();
	{
		char cmd[160];

		snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
		CHECK_EQ(system(cmd), 0);
	}
	return check_summary("fleet_events");
}
