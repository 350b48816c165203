/*
 * feed.c -- the change feed's journal and its readers (feed.h).
 *
 * The journal is a ring of events that grows by doubling up to max_events.
 * Positions only grow, so finding the first event after a bookmark is a
 * binary search over the ring.  `floor` is the position just before the
 * oldest event held: a bookmark at or after it can be served, one before
 * it has lost events to pruning (RDMS_FEED_GONE).
 *
 * The differ (differ.c) builds a batch of events outside the journal,
 * reserves room for it and appends it in one step under the lock, so a
 * reader never sees half a listing and an append cannot fail half-way.
 */
#include "feed_internal.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../common/monotime.h"

const rdms_feed_limits rdms_feed_default_limits = {
	.min_events = 65536,
	.min_age_s = 600,
	.max_events = 1048576,
};

#define RING_START 1024

int rdms_feed_pos_cmp(rdms_feed_pos a, rdms_feed_pos b)
{
	if (a.epoch != b.epoch)
		return a.epoch < b.epoch ? -1 : 1;
	return (a.seq > b.seq) - (a.seq < b.seq);
}

/* ---- event sessions ------------------------------------------------------------ */

/*
 * An event session's three texts live in one block, "user\0client\0addr\0",
 * owned through USER: a journal of 10,000 events and a listing of 10,000
 * sessions are one small allocation per session each, not three (the
 * smallest malloc chunk holds 24 bytes, so three short texts cost 96 bytes
 * apart and usually 32 together).  A fleet broker's session's block goes
 * on with its origin: a byte of ORIGIN_NULL_* bits (which properties are
 * NULL), then "host\0vm\0domain\0collection\0" (a NULL one as "").
 */
enum { ORIGIN_NULL_VM = 1, ORIGIN_NULL_DOMAIN = 2, ORIGIN_NULL_COLLECTION = 4,
       ORIGIN_MARK = 0x40 };   /* (so that the byte is never a NUL) */

/* TEXT's length with its NUL (of "" when NULL). */
static size_t size_of(const char *text)
{
	return (text != NULL ? strlen(text) : 0) + 1;
}

/* TEXT (NULL: "") copied to P; P after it. */
static char *put(char *p, const char *text)
{
	size_t n = size_of(text);

	memcpy(p, text != NULL ? text : "", n);
	return p + n;
}

bool rdms_event_session_set(rdms_event_session *out, const char *user, const char *client,
                            const char *addr, const rdms_event_origin *origin)
{
	size_t size = size_of(user) + size_of(client) + size_of(addr);
	char *block, *p;

	if (origin != NULL)
		size += 1 + size_of(origin->host) + size_of(origin->vm_name) +
		        size_of(origin->domain) + size_of(origin->collection);
	out->user = out->client = out->client_addr = NULL;
	out->fleet = origin != NULL;
	if ((block = malloc(size)) == NULL)
		return false;
	out->user = block;
	out->client = put(block, user);
	out->client_addr = put(out->client, client);
	p = put(out->client_addr, addr);
	if (origin != NULL) {
		*p++ = (char)(ORIGIN_MARK | (origin->vm_name == NULL ? ORIGIN_NULL_VM : 0) |
		              (origin->domain == NULL ? ORIGIN_NULL_DOMAIN : 0) |
		              (origin->collection == NULL ? ORIGIN_NULL_COLLECTION : 0));
		p = put(p, origin->host);
		p = put(p, origin->vm_name);
		p = put(p, origin->domain);
		put(p, origin->collection);
	}
	return true;
}

bool rdms_event_session_set_texts(rdms_event_session *out, const char *user,
                                  const char *client, const char *addr)
{
	return rdms_event_session_set(out, user, client, addr, NULL);
}

bool rdms_event_session_origin(const rdms_event_session *es, rdms_event_origin *out)
{
	const char *p;
	unsigned nulls;

	if (!es->fleet || es->client_addr == NULL)
		return false;
	p = es->client_addr + strlen(es->client_addr) + 1;
	nulls = (unsigned char)*p++;
	out->host = p;
	p += strlen(p) + 1;
	out->vm_name = nulls & ORIGIN_NULL_VM ? NULL : p;
	p += strlen(p) + 1;
	out->domain = nulls & ORIGIN_NULL_DOMAIN ? NULL : p;
	p += strlen(p) + 1;
	out->collection = nulls & ORIGIN_NULL_COLLECTION ? NULL : p;
	return true;
}

bool rdms_event_session_from(rdms_event_session *out, const rdms_session *s)
{
	memset(out, 0, sizeof *out);
	out->id = s->id;
	out->connect_state = s->connect_state;
	out->uid = (uint32_t)s->uid;
	out->display = s->display;
	out->logon_time = s->logon_time;
	out->server_pid = (int32_t)s->server_pid;
	out->backend = s->backend != NULL ? s->backend->name : NULL;
	if (rdms_event_session_set_texts(out, s->user, s->client, s->client_addr))
		return true;
	memset(out, 0, sizeof *out);
	return false;
}

bool rdms_event_session_copy(rdms_event_session *out, const rdms_event_session *in)
{
	rdms_event_origin o;
	bool fleet = rdms_event_session_origin(in, &o);

	*out = *in;
	if (rdms_event_session_set(out, in->user, in->client, in->client_addr, fleet ? &o : NULL))
		return true;
	memset(out, 0, sizeof *out);
	return false;
}

void rdms_event_session_clear(rdms_event_session *es)
{
	free(es->user);      /* the block of all three */
	memset(es, 0, sizeof *es);
}

/* Copies TEXT into BUF[SIZE], cut at SIZE - 1 bytes. */
static void copy_text(char *buf, size_t size, const char *text)
{
	size_t n = text != NULL ? strlen(text) : 0;

	if (n >= size)
		n = size - 1;
	if (n > 0)
		memcpy(buf, text, n);
	buf[n] = '\0';
}

void rdms_event_session_to(const rdms_event_session *es, rdms_session *out)
{
	memset(out, 0, sizeof *out);
	out->id = es->id;
	out->connect_state = es->connect_state;
	out->uid = (uid_t)es->uid;
	out->display = es->display;
	out->logon_time = es->logon_time;
	out->server_pid = (pid_t)es->server_pid;
	out->backend = es->backend != NULL ? rdms_backend_find(es->backend) : NULL;
	copy_text(out->user, sizeof out->user, es->user);
	copy_text(out->client, sizeof out->client, es->client);
	copy_text(out->client_addr, sizeof out->client_addr, es->client_addr);
}

void rdms_event_clear(rdms_event *ev)
{
	rdms_event_session_clear(&ev->target);
	rdms_event_session_clear(&ev->previous);
	memset(ev, 0, sizeof *ev);
}

/* ---- the journal's events -------------------------------------------------------- */

static void ring_clear(rdms_ring_event *r)
{
	rdms_event_session_clear(&r->target);
	if (r->previous != NULL) {
		rdms_event_session_clear(r->previous);
		free(r->previous);
	}
	memset(r, 0, sizeof *r);
}

/*
 * EV (its texts taken over, its struct left readable) as the journal holds
 * it, into R; HOLDER takes a MODIFICATION's previous session (NULL for the
 * other kinds).
 */
static void ring_put(rdms_ring_event *r, rdms_event *ev, rdms_event_session *holder)
{
	*r = (rdms_ring_event){ .pos = ev->pos, .time_us = ev->time_us, .kind = ev->kind,
	                        .target = ev->target };
	if (ev->kind == RDMS_EVENT_MODIFICATION) {
		*holder = ev->previous;
		r->previous = holder;
	} else {
		rdms_event_session_clear(&ev->previous);   /* (empty but for a bad row) */
	}
}

/* R as an event for a reader (sharing R's texts). */
static void ring_get(const rdms_ring_event *r, rdms_event *out)
{
	*out = (rdms_event){ .pos = r->pos, .time_us = r->time_us, .kind = r->kind,
	                     .target = r->target };
	if (r->previous != NULL)
		out->previous = *r->previous;
}

/* ---- the feed -------------------------------------------------------------------- */

rdms_feed *rdms_feed_new(uint64_t epoch, const rdms_feed_limits *limits)
{
	rdms_feed *f = calloc(1, sizeof *f);
	pthread_condattr_t attr;

	if (f == NULL)
		return NULL;
	f->lim = limits != NULL ? *limits : rdms_feed_default_limits;
	if (f->lim.max_events < f->lim.min_events)
		f->lim.max_events = f->lim.min_events;
	if (f->lim.max_events == 0)
		f->lim.max_events = 1;
	f->epoch = epoch;
	f->floor = f->last = (rdms_feed_pos){ epoch, 0 };
	if (pthread_condattr_init(&attr) != 0) {
		free(f);
		return NULL;
	}
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	if (pthread_cond_init(&f->cond, &attr) != 0) {
		pthread_condattr_destroy(&attr);
		free(f);
		return NULL;
	}
	pthread_condattr_destroy(&attr);
	if (pthread_mutex_init(&f->lock, NULL) != 0) {
		pthread_cond_destroy(&f->cond);
		free(f);
		return NULL;
	}
	if (pthread_mutex_init(&f->observing, NULL) != 0) {
		pthread_mutex_destroy(&f->lock);
		pthread_cond_destroy(&f->cond);
		free(f);
		return NULL;
	}
	return f;
}

void rdms_feed_free(rdms_feed *f)
{
	if (f == NULL)
		return;
	for (size_t i = 0; i < f->count; i++)
		ring_clear(&f->ring[(f->head + i) % f->cap]);
	free(f->ring);
	for (size_t i = 0; i < f->nspare; i++)
		free(f->spare[i]);
	free(f->spare);
	rdms_differ_free(f);
	pthread_cond_destroy(&f->cond);
	pthread_mutex_destroy(&f->lock);
	pthread_mutex_destroy(&f->observing);
	free(f);
}

/* Event I (0: the oldest held); the lock is held. */
static rdms_ring_event *at(const rdms_feed *f, size_t i)
{
	return &f->ring[(f->head + i) % f->cap];
}

/* Grows the ring to hold WANT events; the lock is held. */
static bool grow(rdms_feed *f, size_t want)
{
	size_t cap = f->cap != 0 ? f->cap : RING_START;
	rdms_ring_event *ring;

	assert(f->cap != 0 || f->count == 0);   /* events live in a block */
	if (want <= f->cap)
		return true;
	while (cap < want)
		cap *= 2;
	ring = malloc(cap * sizeof *ring);
	if (ring == NULL)
		return false;
	/* unroll the ring into the new block, oldest first (none before the first block) */
	for (size_t i = 0; f->cap != 0 && i < f->count; i++)
		ring[i] = *at(f, i);
	free(f->ring);
	f->ring = ring;
	f->cap = cap;
	f->head = 0;
	return true;
}

/* Holders for WANT previous sessions on the spare list; the lock is held. */
static bool spare_holders(rdms_feed *f, size_t want)
{
	rdms_event_session **spare;

	if (want <= f->nspare)
		return true;
	spare = realloc(f->spare, want * sizeof(rdms_event_session *));
	if (spare == NULL)
		return false;
	f->spare = spare;
	while (f->nspare < want)
		if ((f->spare[f->nspare++] = malloc(sizeof(rdms_event_session))) == NULL) {
			f->nspare--;
			return false;
		}
	return true;
}

bool rdms_feed_reserve(rdms_feed *f, const rdms_event *batch, size_t n)
{
	size_t keep = n < f->lim.max_events ? n : f->lim.max_events;
	size_t room = f->lim.max_events - keep;
	size_t after = (f->count < room ? f->count : room) + keep;
	size_t mods = 0;

	for (size_t i = 0; i < n; i++)
		mods += batch[i].kind == RDMS_EVENT_MODIFICATION;
	return grow(f, after > f->count ? after : f->count) && spare_holders(f, mods);
}

/* Drops the oldest event; the lock is held. */
static void drop_oldest(rdms_feed *f)
{
	rdms_ring_event *ev = at(f, 0);

	f->floor = ev->pos;
	ring_clear(ev);
	f->head = (f->head + 1) % f->cap;
	f->count--;
	f->dropped++;
}

/* Keeps the journal within its limits as of NOW_US; the lock is held. */
static void prune(rdms_feed *f, int64_t now_us)
{
	int64_t keep_after = now_us - (int64_t)f->lim.min_age_s * 1000000;

	while (f->count > f->lim.max_events ||
	       (f->count > f->lim.min_events && at(f, 0)->time_us <= keep_after))
		drop_oldest(f);
}

void rdms_feed_append(rdms_feed *f, rdms_event *batch, size_t n, int64_t now_us)
{
	/* beyond the hard bound a batch keeps only its newest events */
	size_t skip = n > f->lim.max_events ? n - f->lim.max_events : 0;

	if (n == 0)
		return;
	while (f->count > 0 && f->count + (n - skip) > f->lim.max_events)
		drop_oldest(f);
	for (size_t i = 0; i < n; i++) {
		batch[i].pos = (rdms_feed_pos){ f->epoch, ++f->seq };
		if (i < skip) {
			/* never held: the floor moves past it */
			f->floor = batch[i].pos;
			f->dropped++;
			rdms_event_clear(&batch[i]);
			batch[i].pos = f->floor;
			continue;
		}
		ring_put(at(f, f->count), &batch[i],
		         batch[i].kind == RDMS_EVENT_MODIFICATION ? f->spare[--f->nspare] : NULL);
		f->count++;
	}
	f->last = batch[n - 1].pos;
	while (f->nspare > 0)     /* left only by events skipped */
		free(f->spare[--f->nspare]);
	prune(f, now_us);
	if (f->sink != NULL)
		f->sink(f->sink_ctx, f, batch + skip, n - skip);
	pthread_cond_broadcast(&f->cond);
}

bool rdms_feed_publish(rdms_feed *f, rdms_event *batch, size_t n, int64_t now_us)
{
	bool room;

	if (n == 0)
		return true;
	pthread_mutex_lock(&f->lock);
	if ((room = rdms_feed_reserve(f, batch, n)))
		rdms_feed_append(f, batch, n, now_us);
	pthread_mutex_unlock(&f->lock);
	return room;
}

uint64_t rdms_feed_epoch(rdms_feed *f)
{
	return f->epoch;    /* set once, at creation */
}

bool rdms_feed_restore_event(rdms_feed *f, rdms_event *ev)
{
	rdms_event_session *holder = NULL;

	if (rdms_feed_pos_cmp(ev->pos, f->last) <= 0 || !grow(f, f->count + 1) ||
	    (ev->kind == RDMS_EVENT_MODIFICATION && (holder = malloc(sizeof *holder)) == NULL))
		return false;
	if (f->count > 0 && f->count == f->lim.max_events)
		drop_oldest(f);
	ring_put(at(f, f->count), ev, holder);
	f->count++;
	f->last = ev->pos;
	memset(ev, 0, sizeof *ev);
	return true;
}

void rdms_feed_restore_floor(rdms_feed *f, rdms_feed_pos floor)
{
	f->floor = f->last = floor;
}

/* ---- a mirror of another process's feed (events_pump.h) ---------------------- */

void rdms_feed_mirror_reset(rdms_feed *f, rdms_feed_pos floor)
{
	pthread_mutex_lock(&f->lock);
	while (f->count > 0)
		drop_oldest(f);
	f->floor = f->last = floor;
	pthread_cond_broadcast(&f->cond);
	pthread_mutex_unlock(&f->lock);
}

size_t rdms_feed_mirror_append(rdms_feed *f, rdms_event *ev, size_t n, rdms_feed_pos floor)
{
	size_t added = 0;

	pthread_mutex_lock(&f->lock);
	for (size_t i = 0; i < n; i++)
		if (rdms_feed_restore_event(f, &ev[i]))
			added++;
	while (f->count > 0 && rdms_feed_pos_cmp(at(f, 0)->pos, floor) <= 0)
		drop_oldest(f);
	if (rdms_feed_pos_cmp(f->floor, floor) < 0 && rdms_feed_pos_cmp(floor, f->last) <= 0)
		f->floor = floor;
	pthread_cond_broadcast(&f->cond);
	pthread_mutex_unlock(&f->lock);
	return added;
}

/* Index of the first event after POS (f->count when none); the lock is held. */
static size_t first_after(const rdms_feed *f, rdms_feed_pos pos)
{
	size_t lo = 0, hi = f->count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (rdms_feed_pos_cmp(at(f, mid)->pos, pos) <= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

rdms_feed_read_rc rdms_feed_read(rdms_feed *f, rdms_feed_pos after, size_t max,
                                 rdms_event_fn fn, void *ctx, rdms_feed_pos *next)
{
	rdms_feed_read_rc rc = RDMS_FEED_OK;

	*next = after;
	pthread_mutex_lock(&f->lock);
	if (rdms_feed_pos_cmp(after, f->last) > 0) {
		rc = RDMS_FEED_FUTURE;
	} else if (rdms_feed_pos_cmp(after, f->floor) < 0) {
		rc = RDMS_FEED_GONE;
	} else {
		for (size_t i = first_after(f, after); i < f->count && max > 0; i++, max--) {
			rdms_event ev;

			ring_get(at(f, i), &ev);
			*next = ev.pos;
			if (fn(ctx, &ev) != 0)
				break;
		}
	}
	pthread_mutex_unlock(&f->lock);
	return rc;
}

/* *AT, one of F's positions, read under its lock. */
static rdms_feed_pos locked_pos(rdms_feed *f, const rdms_feed_pos *at)
{
	rdms_feed_pos p;

	pthread_mutex_lock(&f->lock);
	p = *at;
	pthread_mutex_unlock(&f->lock);
	return p;
}

rdms_feed_pos rdms_feed_head(rdms_feed *f)
{
	return locked_pos(f, &f->last);
}

rdms_feed_pos rdms_feed_earliest(rdms_feed *f)
{
	return locked_pos(f, &f->floor);
}

unsigned long rdms_feed_wakes(rdms_feed *f)
{
	unsigned long gen;

	pthread_mutex_lock(&f->lock);
	gen = f->wakes;
	pthread_mutex_unlock(&f->lock);
	return gen;
}

bool rdms_feed_wait(rdms_feed *f, rdms_feed_pos after, int timeout_ms)
{
	return rdms_feed_wait_since(f, after, timeout_ms, rdms_feed_wakes(f));
}

bool rdms_feed_wait_since(rdms_feed *f, rdms_feed_pos after, int timeout_ms, unsigned long gen)
{
	struct timespec until = mono_deadline(timeout_ms > 0 ? timeout_ms : 0);
	bool ready;

	pthread_mutex_lock(&f->lock);
	while (!(ready = rdms_feed_pos_cmp(f->last, after) > 0) && gen == f->wakes) {
		if (timeout_ms < 0)
			pthread_cond_wait(&f->cond, &f->lock);
		else if (pthread_cond_timedwait(&f->cond, &f->lock, &until) != 0)
			break;
	}
	pthread_mutex_unlock(&f->lock);
	return ready;
}

void rdms_feed_wake(rdms_feed *f)
{
	pthread_mutex_lock(&f->lock);
	f->wakes++;
	pthread_cond_broadcast(&f->cond);
	pthread_mutex_unlock(&f->lock);
}

void rdms_feed_counts(rdms_feed *f, size_t *held, uint64_t *dropped)
{
	pthread_mutex_lock(&f->lock);
	*held = f->count;
	*dropped = f->dropped;
	pthread_mutex_unlock(&f->lock);
}
