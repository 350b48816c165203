/*
 * feed_internal.h -- what the journal (feed.c), the differ (differ.c) and
 * the store (feed_store.c) share.
 */
#ifndef RDMS_EVENTS_FEED_INTERNAL_H
#define RDMS_EVENTS_FEED_INTERNAL_H

#include <pthread.h>

#include "feed.h"

/* What the feed last saw of one back-end: its sessions, sorted by id. */
typedef struct rdms_feed_backend {
	const char         *name;      /* static (rdms_backend.name) */
	rdms_event_session *s;
	size_t              n;
} rdms_feed_backend;

/*
 * An event as the journal holds it: the session before a modification
 * (an event in eight or so) is allocated apart, so every other event does
 * not carry an empty one -- 104 bytes an event instead of 160.
 */
typedef struct rdms_ring_event {
	rdms_feed_pos       pos;
	int64_t             time_us;
	rdms_event_session  target;
	rdms_event_session *previous;  /* MODIFICATION only; otherwise NULL */
	uint8_t             kind;
} rdms_ring_event;

struct rdms_feed {
	/*
	 * Held from rdms_feed_observe_begin to its end: one observation at a
	 * time.  The listings (BACKENDS) change with both locks held, so an
	 * observer reads them with this one alone while it walks a back-end.
	 */
	pthread_mutex_t    observing;
	pthread_mutex_t    lock;
	pthread_cond_t     cond;       /* CLOCK_MONOTONIC; new events, or a wake */
	unsigned long      wakes;      /* rdms_feed_wake calls */
	rdms_feed_limits   lim;
	uint64_t           epoch;
	uint64_t           seq;        /* of the epoch's newest event */
	rdms_feed_pos      last;       /* the newest position issued (or restored) */
	rdms_feed_pos      floor;      /* just before the oldest event held */
	uint64_t           dropped;

	rdms_ring_event    *ring;
	size_t             cap, head, count;
	/* PREVIOUS holders made by rdms_feed_reserve for the batch it makes room for */
	rdms_event_session **spare;
	size_t             nspare;

	rdms_feed_backend *backends;
	size_t             nbackends;

	/*
	 * Told every batch appended (positions given, floor moved), under the
	 * lock, before readers can see it (feed_store.c); may be NULL.
	 */
	void             (*sink)(void *ctx, const rdms_feed *f, const rdms_event *batch,
	                         size_t n);
	void              *sink_ctx;
};

/*
 * Room for the N events of BATCH (rdms_feed_append); false when out of
 * memory.  The lock is held.
 */
bool rdms_feed_reserve(rdms_feed *f, const rdms_event *batch, size_t n);
/*
 * Appends the N events of BATCH after rdms_feed_reserve(F, BATCH, N): gives them
 * their positions (in BATCH too) and takes over their strings; prunes as of
 * NOW_US; tells the sink what it holds of them.  A batch larger than
 * max_events keeps its newest (the first ones are dropped at once, their
 * strings freed).  The lock is held.
 */
void rdms_feed_append(rdms_feed *f, rdms_event *batch, size_t n, int64_t now_us);

void rdms_event_clear(rdms_event *ev);

/* Frees what the differ keeps (the back-ends' last listings). */
void rdms_differ_free(rdms_feed *f);

/*
 * Restoring a feed (feed_store.c), before it is used: first the kept
 * journal's floor, then its events in position order (taken over), and the
 * sessions of each back-end's last listing (taken over; BACKEND static).
 */
bool rdms_feed_restore_event(rdms_feed *f, rdms_event *ev);
void rdms_feed_restore_floor(rdms_feed *f, rdms_feed_pos floor);
bool rdms_feed_restore_session(rdms_feed *f, const char *backend, rdms_event_session *es);

/*
 * A mirror: a feed that holds another feed's events, with their positions
 * (the network process's copy of priv's journal, privsep.h).  Reset drops
 * every event and makes FLOOR its floor and head (the start, or after the
 * mirror fell behind).  Append takes over the N events of EV (those not
 * after the head are cleared by the caller: the count appended is
 * returned), drops what is not after the source's FLOOR, and wakes the
 * readers.  Both lock.
 */
void rdms_feed_mirror_reset(rdms_feed *f, rdms_feed_pos floor);
size_t rdms_feed_mirror_append(rdms_feed *f, rdms_event *ev, size_t n, rdms_feed_pos floor);

#endif
