/*
 * feed.h -- rdmsd's change feed: what happened to the sessions, in order
 * (issue 14; spec/events.md "Proposal", 0).
 *
 * The privileged process, which sees the real sessions, hands the feed
 * each fresh listing of a back-end (rdms_feed_observe).  A differ compares
 * it with the feed's last listing of that back-end, session by session,
 * by SessionId *and* an identity token (pids and X2Go displays are reused,
 * and a key that now names another session must read as a deletion and a
 * creation, never as a modification), and appends
 *
 *   Creation      a session appeared
 *   Modification  ConnectState, UserName or ClientMachineName changed
 *                 (the other class properties are the host's), with the
 *                 session as it was before
 *   Deletion      a session ended, with its last known state
 *
 * to a journal.  Each event has a position (epoch, seq) and a time.  The
 * epoch is raised at every start of rdmsd (feed_store.h keeps it on disk),
 * and seq counts from 1 within an epoch, so positions compare with
 * rdms_feed_pos_cmp across restarts.  A subscriber's bookmark is a
 * position: reading after it gives every later event once, in order, as
 * long as the journal still holds the event that follows it.
 *
 * The journal keeps at least the newest `min_events` events and everything
 * of the last `min_age_s` seconds; beyond both it drops the oldest, and it
 * never holds more than `max_events` (memory stays bounded when sessions
 * change faster than min_events per min_age_s).
 *
 * Thread-safe: one lock, and a condition variable that wakes readers
 * waiting for events past a position (rdms_feed_wait).
 */
#ifndef RDMS_EVENTS_FEED_H
#define RDMS_EVENTS_FEED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../backend/backend.h"

typedef struct rdms_feed_pos {
	uint64_t epoch;
	uint64_t seq;     /* 0: before the epoch's first event */
} rdms_feed_pos;

/* <0, 0, >0 as A is before, at or after B. */
int rdms_feed_pos_cmp(rdms_feed_pos a, rdms_feed_pos b);

/* A session as an event carries it: what the class and the hooks need. */
typedef struct rdms_event_session {
	uint32_t    id;
	uint32_t    connect_state;
	uint32_t    uid;
	int32_t     display;          /* -1: unknown */
	int64_t     logon_time;       /* with server_pid: the identity token */
	int32_t     server_pid;
	/*
	 * A fleet broker's session (src/fleet/events.h): the block goes on
	 * with its host's VMHostName and the properties it has there
	 * (rdms_event_session_origin), USER being its UserName as it is.
	 * False: a host's own session, whose instance takes them from the
	 * config.  (In what was padding: a host's events cost nothing more.)
	 */
	bool        fleet;
	const char *backend;          /* the back-end's static name */
	/* one owned block holds the texts (rdms_event_session_set) */
	char       *user;             /* the block */
	char       *client;           /* in it; "" while disconnected */
	char       *client_addr;      /* in it; "" when unknown */
} rdms_event_session;

/* Where a fleet broker's session is: its host, and the properties it has there. */
typedef struct rdms_event_origin {
	const char *host;             /* VMHostName */
	const char *vm_name;          /* NULL: a NULL property */
	const char *domain;
	const char *collection;
} rdms_event_origin;

enum { RDMS_EVENT_CREATION = 1, RDMS_EVENT_MODIFICATION = 2, RDMS_EVENT_DELETION = 4 };

typedef struct rdms_event {
	rdms_feed_pos      pos;
	int64_t            time_us;   /* Unix time, microseconds */
	uint8_t            kind;      /* RDMS_EVENT_* (the same bits as WQL_EVENT_*) */
	rdms_event_session target;    /* the new, or the deleted, session */
	rdms_event_session previous;  /* MODIFICATION only; otherwise zero */
} rdms_event;

typedef struct rdms_feed_limits {
	size_t min_events;    /* at least 65,536 */
	int    min_age_s;     /* at least 600 */
	size_t max_events;    /* the hard bound, >= min_events */
} rdms_feed_limits;

/* The limits issue 14 asks for, and a hard bound of 1,048,576 events. */
extern const rdms_feed_limits rdms_feed_default_limits;

typedef struct rdms_feed rdms_feed;

/*
 * A feed for boot epoch EPOCH (>= 1) with the journal bounds LIMITS (NULL:
 * the defaults).  NULL when out of memory.
 */
rdms_feed *rdms_feed_new(uint64_t epoch, const rdms_feed_limits *limits);
void rdms_feed_free(rdms_feed *f);

/*
 * The N sessions S, a complete fresh listing of back-end BACKEND, observed
 * at NOW_US: the events they imply are appended.  Returns how many, or -1
 * when out of memory (then nothing was appended and the feed's idea of the
 * back-end is unchanged, so the next observation catches up).  A back-end
 * that could not be read must not be observed (that would read as every
 * one of its sessions ending).
 */
long rdms_feed_observe(rdms_feed *f, const char *backend, const rdms_session *s, size_t n,
                       int64_t now_us);

/*
 * A listing handed over one session at a time (rdms_feed_observe by
 * parts): the watch walks a back-end with rdms_backend_each straight into
 * the differ, so a rescan builds no list, and one that finds nothing new
 * allocates nothing.  Begin; rdms_feed_observe_one with each session, in
 * the back-end's order (it is an rdms_session_fn); then end (appends the
 * events, as rdms_feed_observe) or cancel (the walk failed: nothing
 * changes).  Observations of one feed take turns: begin waits for the one
 * in progress to end.  The fields are the differ's own.
 */
typedef struct rdms_feed_observer {
	rdms_feed                  *f;
	size_t                      backend;    /* index of the back-end's last listing */
	int64_t                     now_us;
	size_t                      old;        /* the last listing's next session */
	size_t                      seen;       /* distinct SessionIds handed so far */
	uint32_t                    last_id;
	bool                        failed;     /* out of memory */
	bool                        unsorted;   /* not listed by SessionId */
	struct rdms_observed_change *changes;
	size_t                      nchanges, cap;
} rdms_feed_observer;

/* rdms_feed_observe_end when the sessions were not handed in SessionId order. */
#define RDMS_FEED_UNSORTED (-2L)

void rdms_feed_observe_begin(rdms_feed_observer *o, rdms_feed *f, const char *backend,
                             int64_t now_us);
/*
 * The next session S of the listing (CTX: the observer).  Returns 0 to go
 * on; WBEM_S_FALSE when S comes before the session handed last (the walk
 * stops; end then says RDMS_FEED_UNSORTED, and the caller observes the
 * listing as a whole), or WBEM_E_OUT_OF_MEMORY (ERR filled).  A SessionId
 * handed again is skipped: the first counts.
 */
uint32_t rdms_feed_observe_one(void *ctx, const rdms_session *s, rdms_error *err);
/*
 * The listing is complete: the events it implies are appended.  Returns
 * how many, -1 when out of memory, or RDMS_FEED_UNSORTED; in both failures
 * nothing changed.
 */
long rdms_feed_observe_end(rdms_feed_observer *o);
void rdms_feed_observe_cancel(rdms_feed_observer *o);

/*
 * Appends the N events of BATCH, made elsewhere (a fleet broker's, from
 * what its ingest applied), observed at NOW_US: they get their positions
 * (in BATCH too) and the journal takes over their texts, in one step
 * under the lock, stored as a listing's events are.  The caller then
 * frees BATCH's array only.  False when out of memory: nothing was
 * appended and BATCH still owns its texts.
 */
bool rdms_feed_publish(rdms_feed *f, rdms_event *batch, size_t n, int64_t now_us);

/* Called with each event read, oldest first; a non-zero return stops. */
typedef int (*rdms_event_fn)(void *ctx, const rdms_event *ev);

typedef enum rdms_feed_read_rc {
	RDMS_FEED_OK = 0,
	RDMS_FEED_GONE,     /* the journal no longer holds what follows AFTER */
	RDMS_FEED_FUTURE,   /* AFTER is past anything this feed has issued */
} rdms_feed_read_rc;

/*
 * Hands FN up to MAX events after position AFTER, oldest first, under the
 * feed's lock (FN must not call the feed).  *NEXT becomes the position of
 * the last event handed (AFTER when none), the bookmark to read after next.
 */
rdms_feed_read_rc rdms_feed_read(rdms_feed *f, rdms_feed_pos after, size_t max,
                                 rdms_event_fn fn, void *ctx, rdms_feed_pos *next);

/* This run's boot epoch. */
uint64_t rdms_feed_epoch(rdms_feed *f);
/* The newest event's position (epoch, 0 before any). */
rdms_feed_pos rdms_feed_head(rdms_feed *f);
/* The earliest bookmark still readable: just before the oldest event held. */
rdms_feed_pos rdms_feed_earliest(rdms_feed *f);

/*
 * Waits until an event after AFTER exists, at most TIMEOUT_MS (< 0: for as
 * long as it takes); true when one does.  rdms_feed_wake ends the waits in
 * progress (a reader stopping).
 */
bool rdms_feed_wait(rdms_feed *f, rdms_feed_pos after, int timeout_ms);
void rdms_feed_wake(rdms_feed *f);
/*
 * rdms_feed_wait that also ends at once when rdms_feed_wake was called
 * since rdms_feed_wakes returned GEN: a waker that changed what the waiter
 * waits for, then woke it, is never missed -- provided the waiter took GEN
 * before it looked at what it waits for (follow.h does).
 */
unsigned long rdms_feed_wakes(rdms_feed *f);
bool rdms_feed_wait_since(rdms_feed *f, rdms_feed_pos after, int timeout_ms, unsigned long gen);

/*
 * The sessions as the feed last saw them -- what its differ compares the
 * next listing with, back-end by back-end in the order they were first
 * observed, each sorted by SessionId -- copied into *OUT (*N of them; free
 * with rdms_event_sessions_free), and in *AT the position of the newest
 * event.  Both are read under the feed's lock, and the differ changes its
 * listings and appends their events in one step under that lock, so this
 * is exactly the state the journal has reached at *AT: replaying the
 * events after *AT onto it gives every later state (the snapshot a fleet
 * broker resyncs from, spec/fleet.md 3.3).  A mirror has no listings: its
 * state is empty.  False when out of memory.
 */
bool rdms_feed_state(rdms_feed *f, rdms_event_session **out, size_t *n, rdms_feed_pos *at);
void rdms_event_sessions_free(rdms_event_session *s, size_t n);

/* How many events the journal holds now, and has dropped since it started. */
void rdms_feed_counts(rdms_feed *f, size_t *held, uint64_t *dropped);

/*
 * OUT's three texts, copied into one new block (NULL: ""), and with
 * ORIGIN (not NULL: a fleet broker's session) its origin's after them;
 * OUT's fleet flag says which.  OUT's other fields are left as they are.
 * False, with the three NULL, when out of memory.
 */
bool rdms_event_session_set(rdms_event_session *out, const char *user, const char *client,
                            const char *addr, const rdms_event_origin *origin);
/* rdms_event_session_set of a host's own session. */
bool rdms_event_session_set_texts(rdms_event_session *out, const char *user,
                                  const char *client, const char *addr);
/* ES's origin (pointing into its block) into *OUT; false for a host's own session. */
bool rdms_event_session_origin(const rdms_event_session *es, rdms_event_origin *out);
/* A copy of IN with a block of its own; false when out of memory. */
bool rdms_event_session_copy(rdms_event_session *out, const rdms_event_session *in);
/* Copies of S's strings into OUT (fields as in rdms_event_session); false when out of memory. */
bool rdms_event_session_from(rdms_event_session *out, const rdms_session *s);
void rdms_event_session_clear(rdms_event_session *es);
/* An rdms_session with the fields an event carries (the rest zero), for instance building. */
void rdms_event_session_to(const rdms_event_session *es, rdms_session *out);

#endif
