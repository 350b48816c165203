/*
 * events.c -- a fleet broker's change feed (events.h): the directory's
 * changes, found by reading what it held before ingest applies a batch or
 * a snapshot, published once the store says they were applied.
 */
#include "events.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/log.h"
#include "../common/strutil.h"
#include "../common/walltime.h"
#include "../events/feed_store.h"
#include "broker.h"

#define PAGE_ROWS 1000

/*
 * A host's journal's (spec/fleet.md 3.3): at least 65,536 events and 10
 * minutes, so that a subscriber at the broker resumes by bookmark across a
 * broker restart or a short partition, and at most 1,048,576: an event of
 * the broker's costs about 350 (Creation, Deletion) to 560 bytes
 * (Modification), so 10 minutes of a steady 1,000 changes/s fleet-wide is
 * about 300 MiB, and the bound about 550 MiB.
 */
const rdms_feed_limits fleet_events_limits = {
	.min_events = 65536,
	.min_age_s = 600,
	.max_events = 1048576,
};

struct fleet_events {
	rdms_feed_store *store;
	rdms_feed       *feed;
	pthread_mutex_t  lock;        /* the counts */
	uint64_t         published, lost;
};

/* ---- sessions: the directory's rows as event sessions ----------------------------- */

/* Row S as an event session (its texts copied into OUT's block); false when out of memory. */
static bool session_of(rdms_event_session *out, const fleet_session *s)
{
	const rdms_event_origin o = { .host = s->host, .vm_name = s->vm_name,
	                              .domain = s->domain_name, .collection = s->collection_id };

	memset(out, 0, sizeof *out);
	out->id = s->id;
	out->connect_state = s->connect_state;
	out->display = -1;
	if (rdms_event_session_set(out, s->user_name, s->client_machine_name, "", &o))
		return true;
	memset(out, 0, sizeof *out);
	return false;
}

static bool same_text(const char *a, const char *b)
{
	return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* True when row S says what HELD says (the key aside; a NULL UserName or client reads as ""). */
static bool unchanged(const rdms_event_session *held, const fleet_session *s)
{
	rdms_event_origin o;

	return rdms_event_session_origin(held, &o) && held->connect_state == s->connect_state &&
	       strcmp(held->user, s->user_name != NULL ? s->user_name : "") == 0 &&
	       strcmp(held->client, s->client_machine_name != NULL ? s->client_machine_name : "") == 0 &&
	       same_text(o.vm_name, s->vm_name) && same_text(o.domain, s->domain_name) &&
	       same_text(o.collection, s->collection_id);
}

/* ---- a batch of events under construction -------------------------------------------- */

typedef struct evbatch {
	rdms_event *ev;
	size_t      n, cap;
	bool        oom;
} evbatch;

static rdms_event *add(evbatch *b, uint8_t kind)
{
	if (b->oom)
		return NULL;
	if (b->n == b->cap) {
		size_t cap = b->cap != 0 ? b->cap * 2 : 16;
		rdms_event *ev = realloc(b->ev, cap * sizeof *ev);

		if (ev == NULL) {
			b->oom = true;
			return NULL;
		}
		b->ev = ev;
		b->cap = cap;
	}
	memset(&b->ev[b->n], 0, sizeof b->ev[b->n]);
	b->ev[b->n].kind = kind;
	return &b->ev[b->n++];
}

/* Frees B's events and their strings (those the journal has not taken). */
static void evbatch_free(evbatch *b)
{
	for (size_t i = 0; i < b->n; i++) {
		rdms_event_session_clear(&b->ev[i].target);
		rdms_event_session_clear(&b->ev[i].previous);
	}
	free(b->ev);
	*b = (evbatch){ 0 };
}

/*
 * What one change does to HELD (the session the directory holds under its
 * key; PRESENT when it holds one): the event, if any, into B, and HELD as
 * it is afterwards.  NOW (NULL: the session is gone) is its new state.
 */
static void change(evbatch *b, rdms_event_session *held, bool *present, const fleet_session *now)
{
	rdms_event *e;

	if (now == NULL) {
		if (*present && (e = add(b, RDMS_EVENT_DELETION)) != NULL) {
			e->target = *held;                /* the last state it had */
			memset(held, 0, sizeof *held);
			*present = false;
		}
		return;
	}
	if (*present && unchanged(held, now))
		return;
	if ((e = add(b, *present ? RDMS_EVENT_MODIFICATION : RDMS_EVENT_CREATION)) == NULL)
		return;
	if (!session_of(&e->target, now)) {
		b->oom = true;
		return;
	}
	if (*present)
		e->previous = *held;                  /* moved: held becomes the new state */
	if (!rdms_event_session_copy(held, &e->target)) {
		memset(held, 0, sizeof *held);
		b->oom = true;
	}
	*present = true;
}

/* ---- what the directory holds ---------------------------------------------------------- */

/* The held sessions of one host, by SessionId. */
typedef struct held {
	rdms_event_session *s;
	bool               *present;
	size_t              n, cap;
	const char         *host;
	bool                other;   /* a page reached another host's rows */
	bool                oom;
} held;

static int hold_row(void *ctx, const fleet_session *s)
{
	held *h = ctx;

	if (strcmp(s->host, h->host) != 0) {
		h->other = true;
		return 1;
	}
	if (h->n == h->cap) {
		size_t cap = h->cap != 0 ? h->cap * 2 : 64;
		rdms_event_session *ns = realloc(h->s, cap * sizeof *ns);
		bool *np;

		if (ns != NULL)
			h->s = ns;
		np = ns != NULL ? realloc(h->present, cap * sizeof *np) : NULL;
		if (np == NULL) {
			h->oom = true;
			return 1;
		}
		h->present = np;
		h->cap = cap;
	}
	if (!session_of(&h->s[h->n], s)) {
		h->oom = true;
		return 1;
	}
	h->present[h->n++] = true;
	return 0;
}

static void held_free(held *h)
{
	for (size_t i = 0; i < h->n; i++)
		rdms_event_session_clear(&h->s[i]);
	free(h->s);
	free(h->present);
}

/*
 * Every session of HOST the directory holds, in SessionId order, into H:
 * SessionId 0 by its key, then keyset pages after (HOST, 0) up to the
 * first row of another host.  False when the store or memory fails.
 */
static bool hold_host(fleet_store *st, const char *host, held *h)
{
	fleet_page page = { .after_host = host, .after_id = 0, .limit = PAGE_ROWS };
	rdms_error err = { 0 };
	size_t rows;
	uint32_t rc;

	*h = (held){ .host = host };
	rc = fleet_store_get(st, host, 0, hold_row, h, &err);
	if ((rc != WBEM_S_NO_ERROR && rc != WBEM_E_NOT_FOUND) || h->oom)
		return false;
	do {
		rows = 0;
		if (fleet_store_enumerate(st, &page, hold_row, h, &rows, &err) != WBEM_S_NO_ERROR ||
		    h->oom)
			return false;
		page.after_id = h->n > 0 ? h->s[h->n - 1].id : 0;
	} while (rows == PAGE_ROWS && !h->other);
	return true;
}

/* ---- publishing -------------------------------------------------------------------------- */

/*
 * B's events, before the directory commits the changes they report, staged
 * in the journal's file at the host's coming version AT (fleet_events_recover
 * publishes them if the broker dies before it does); true when they are.
 */
static bool stage(fleet_events *fe, evbatch *b, const char *host, uint64_t at)
{
	return fe != NULL && b->n > 0 && !b->oom &&
	       rdms_feed_store_stage(fe->store, host, at, b->ev, b->n);
}

/*
 * B's events into the journal (the journal takes their strings), with
 * HOST's staged batch (STAGED) dropped in the same transaction; B is
 * emptied.
 */
static void publish(fleet_events *fe, evbatch *b, const char *host, bool staged)
{
	int64_t t = wall_us();
	bool ok;

	if (b->oom) {
		log_warn("fleet: %s: the events of applied changes could not be made (out of "
		         "memory, or the directory unreadable); subscribers at the broker miss them",
		         host);
		pthread_mutex_lock(&fe->lock);
		fe->lost++;
		pthread_mutex_unlock(&fe->lock);
		evbatch_free(b);
		return;
	}
	for (size_t i = 0; i < b->n; i++)
		b->ev[i].time_us = t;
	ok = staged ? rdms_feed_store_publish_staged(fe->store, fe->feed, host, b->ev, b->n, t)
	     : rdms_feed_publish(fe->feed, b->ev, b->n, t);
	pthread_mutex_lock(&fe->lock);
	if (ok)
		fe->published += b->n;
	else
		fe->lost++;
	pthread_mutex_unlock(&fe->lock);
	if (ok) {
		free(b->ev);         /* the journal has the strings */
		*b = (evbatch){ 0 };
	} else {
		log_warn("fleet: %s: out of memory journaling %zu events", host, b->n);
		evbatch_free(b);
	}
}

/* ---- a batch ------------------------------------------------------------------------------ */

/* One key of a batch: the session the directory holds under it, as the batch goes on. */
typedef struct key_state {
	uint32_t           id;
	bool               present;
	rdms_event_session s;
} key_state;

static int by_key_id(const void *a, const void *b)
{
	uint32_t x = ((const key_state *)a)->id, y = ((const key_state *)b)->id;

	return (x > y) - (x < y);
}

/* fleet_session_fn: the row read by key into the key_state CTX. */
static int take_key(void *ctx, const fleet_session *s)
{
	key_state *k = ctx;

	k->present = session_of(&k->s, s);
	return k->present ? 0 : 1;
}

/*
 * The events of changes CH[0..N), all new to the directory, into B: each
 * key's session read once before, then followed through the batch.
 */
static void batch_events(fleet_store *st, const char *host, const fleet_change *ch, size_t n,
                         evbatch *b)
{
	key_state *keys = calloc(n, sizeof *keys);
	size_t nk = 0;

	if (keys == NULL) {
		b->oom = true;
		return;
	}
	for (size_t i = 0; i < n; i++)
		keys[i].id = ch[i].s.id;
	qsort(keys, n, sizeof *keys, by_key_id);
	for (size_t i = 0; i < n; i++)
		if (nk == 0 || keys[nk - 1].id != keys[i].id)
			keys[nk++].id = keys[i].id;
	for (size_t i = 0; i < nk && !b->oom; i++) {
		rdms_error err = { 0 };
		uint32_t rc = fleet_store_get(st, host, keys[i].id, take_key, &keys[i], &err);

		if (rc != WBEM_S_NO_ERROR && rc != WBEM_E_NOT_FOUND)
			b->oom = true;    /* cannot tell what changed: no events rather than wrong ones */
		else if (rc == WBEM_S_NO_ERROR && !keys[i].present)
			b->oom = true;
	}
	for (size_t i = 0; i < n && !b->oom; i++) {
		key_state want = { .id = ch[i].s.id };
		key_state *k = bsearch(&want, keys, nk, sizeof *keys, by_key_id);

		change(b, &k->s, &k->present, ch[i].kind == FLEET_UPSERT ? &ch[i].s : NULL);
	}
	for (size_t i = 0; i < nk; i++)
		rdms_event_session_clear(&keys[i].s);
	free(keys);
}

fleet_apply_rc fleet_events_apply_batch(fleet_events *fe, fleet_store *st, const char *host,
                                        const fleet_change *ch, size_t n, uint64_t *version,
                                        rdms_error *err)
{
	evbatch b = { 0 };
	fleet_host fh;
	fleet_apply_rc rc;
	size_t first = 0;
	rdms_error ignored = { 0 };
	bool staged;

	if (n == 0)
		return fleet_store_apply_batch(st, host, ch, n, version, err);
	/* what the host's version has not reached yet, against what the directory holds */
	if (fe != NULL && fleet_store_host_get(st, host, &fh, &ignored) == WBEM_S_NO_ERROR &&
	    fh.version != 0) {
		while (first < n && ch[first].version <= fh.version)
			first++;
		if (first < n)
			batch_events(st, host, ch + first, n - first, &b);
	}
	staged = stage(fe, &b, host, ch[n - 1].version);
	rc = fleet_store_apply_batch(st, host, ch, n, version, err);
	if (rc == FLEET_APPLIED && fe != NULL)
		publish(fe, &b, host, staged);
	else if (staged)
		rdms_feed_store_unstage(fe->store, host);
	evbatch_free(&b);
	return rc;
}

/* ---- a snapshot ---------------------------------------------------------------------------- */

static int by_session_id(const void *a, const void *b)
{
	uint32_t x = (*(const fleet_session *const *)a)->id;
	uint32_t y = (*(const fleet_session *const *)b)->id;

	return (x > y) - (x < y);
}

/* The events from the held sessions H to snapshot S[0..N), both merged by SessionId, into B. */
static void snapshot_events(held *h, const fleet_session *s, size_t n, evbatch *b)
{
	const fleet_session **sorted = malloc((n != 0 ? n : 1) * sizeof(const fleet_session *));
	size_t i = 0, j = 0;

	if (sorted == NULL) {
		b->oom = true;
		return;
	}
	for (size_t k = 0; k < n; k++)
		sorted[k] = &s[k];
	qsort(sorted, n, sizeof(const fleet_session *), by_session_id);
	while ((i < h->n || j < n) && !b->oom) {
		if (j == n || (i < h->n && h->s[i].id < sorted[j]->id)) {
			change(b, &h->s[i], &h->present[i], NULL);       /* ended */
			i++;
		} else if (i == h->n || sorted[j]->id < h->s[i].id) {
			rdms_event_session none = { 0 };
			bool present = false;

			change(b, &none, &present, sorted[j++]);         /* began */
			rdms_event_session_clear(&none);
		} else {
			change(b, &h->s[i], &h->present[i], sorted[j++]);
			i++;
		}
	}
	free(sorted);
}

fleet_apply_rc fleet_events_apply_snapshot(fleet_events *fe, fleet_store *st, const char *host,
                                           uint64_t at, const fleet_session *s, size_t n,
                                           rdms_error *err)
{
	held h = { 0 };
	evbatch b = { 0 };
	fleet_host fh;
	fleet_apply_rc rc;
	rdms_error ignored = { 0 };
	bool events = false, staged;

	if (fe != NULL && fleet_store_host_get(st, host, &fh, &ignored) == WBEM_S_NO_ERROR &&
	    fh.version <= at) {
		if (!hold_host(st, host, &h))
			b.oom = true;
		/* a host's first synchronisation is no change of its sessions (events.h) */
		events = fh.version != 0 || h.n > 0;
		if (events && !b.oom)
			snapshot_events(&h, s, n, &b);
	}
	staged = events && stage(fe, &b, host, at);
	rc = fleet_store_apply_snapshot(st, host, at, s, n, err);
	if (rc == FLEET_APPLIED && events)
		publish(fe, &b, host, staged);
	else if (staged)
		rdms_feed_store_unstage(fe->store, host);
	evbatch_free(&b);
	held_free(&h);
	return rc;
}

/* ---- the feed and its subscribers ------------------------------------------------------------ */

fleet_events *fleet_events_open(const char *path, rdms_error *err)
{
	fleet_events *fe = calloc(1, sizeof *fe);

	if (fe == NULL) {
		rdms_fail(err, WBEM_E_OUT_OF_MEMORY, "out of memory");
		return NULL;
	}
	if (rdms_feed_store_open(path, &fleet_events_limits, &fe->store, &fe->feed, err) !=
	    WBEM_S_NO_ERROR) {
		free(fe);
		return NULL;
	}
	pthread_mutex_init(&fe->lock, NULL);
	log_info("fleet: events journal %s, epoch %llu", path,
	         (unsigned long long)rdms_feed_epoch(fe->feed));
	return fe;
}

struct recovery {
	fleet_events *fe;
	fleet_store  *st;
	size_t        published, dropped;
};

/* rdms_staged_fn: a host's staged batch (fleet_events_recover). */
static bool recover_one(void *ctx, const char *host, uint64_t at, rdms_event *ev, size_t n)
{
	struct recovery *r = ctx;
	rdms_error err = { 0 };
	fleet_host fh;
	bool committed = fleet_store_host_get(r->st, host, &fh, &err) == WBEM_S_NO_ERROR &&
	                 fh.version >= at;

	if (committed && n > 0 &&
	    rdms_feed_store_publish_staged(r->fe->store, r->fe->feed, host, ev, n, wall_us())) {
		log_info("fleet: %s: %zu events of changes applied before the broker stopped are "
		         "published now", host, n);
		r->published += n;
		return true;
	}
	r->dropped += n;
	return false;
}

uint32_t fleet_events_recover(fleet_events *fe, fleet_store *st, rdms_error *err)
{
	struct recovery r = { fe, st, 0, 0 };
	uint32_t rc = rdms_feed_store_staged(fe->store, recover_one, &r, err);

	if (r.dropped > 0)
		log_info("fleet: %zu staged events of changes the directory never committed are "
		         "dropped (their hosts send them again)", r.dropped);
	if (r.published > 0) {
		pthread_mutex_lock(&fe->lock);
		fe->published += r.published;
		pthread_mutex_unlock(&fe->lock);
	}
	return rc;
}

void fleet_events_close(fleet_events *fe)
{
	if (fe == NULL)
		return;
	rdms_feed_store_close(fe->store, fe->feed);
	pthread_mutex_destroy(&fe->lock);
	free(fe);
}

rdms_feed *fleet_events_feed(fleet_events *fe)
{
	return fe->feed;
}

void fleet_events_path(const rdms_config *cfg, char *path, size_t size)
{
	size_t n = strlen(cfg->store_path);

	if (cfg->events_db[0] != '\0')
		snprintf(path, size, "%s", cfg->events_db);
	else if (n >= 3 && strcmp(cfg->store_path + n - 3, ".db") == 0)
		snprintf(path, size, "%.*s-events.db", (int)(n - 3), cfg->store_path);
	else
		snprintf(path, size, "%s-events.db", cfg->store_path);
}

void fleet_events_counts(fleet_events *fe, uint64_t *published, uint64_t *lost)
{
	pthread_mutex_lock(&fe->lock);
	*published = fe->published;
	*lost = fe->lost;
	pthread_mutex_unlock(&fe->lock);
}

/* wsman_event_source's: the instance of one of the broker's event sessions. */
static cim_instance *event_instance(const rdms_event_session *es)
{
	rdms_event_origin o = { 0 };
	fleet_session s;

	rdms_event_session_origin(es, &o);     /* (every one of the broker's has one) */
	s = (fleet_session){ .host = o.host, .id = es->id, .vm_name = o.vm_name,
	                     .connect_state = es->connect_state, .user_name = es->user,
	                     .domain_name = o.domain, .collection_id = o.collection,
	                     .client_machine_name = es->client };
	return fleet_session_instance(&s);
}

/* wsman_event_source's: the broker's owner rule, as its reads apply it. */
static bool event_visible(const char *user, const rdms_event_session *es)
{
	return fleet_user_owns(user, es->user);
}

static rdms_feed_pos feed_head(void *ctx)
{
	return rdms_feed_head(ctx);
}

wsman_event_source fleet_events_source(fleet_events *fe)
{
	return (wsman_event_source){ .feed = fe->feed, .head = feed_head, .ctx = fe->feed,
	                             .instance = event_instance, .visible = event_visible };
}
