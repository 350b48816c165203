/*
 * follow.h -- a thread that follows the change feed: each event after the
 * feed's head at its start, handed in order to a function (the privileged
 * process's hook dispatcher, src/daemon/events_run.c).
 *
 * It sleeps until an event comes, however long that is (no polling: an
 * idle rdmsd does not wake for it), and stops at once when asked.  The
 * stop is a flag and a wake of the feed; the thread takes the feed's wake
 * count (rdms_feed_wakes) *before* it looks at the flag, so a stop that
 * comes between its look and its wait still ends the wait.
 */
#ifndef RDMS_EVENTS_FOLLOW_H
#define RDMS_EVENTS_FOLLOW_H

#include "feed.h"

typedef struct rdms_feed_follower rdms_feed_follower;

typedef struct rdms_feed_follow_params {
	rdms_feed     *feed;
	size_t         batch;          /* events per read under the feed's lock; 0: 256 */
	rdms_event_fn  fn;             /* each event (it must not call the feed) */
	void         (*lost)(void *ctx); /* fell behind the journal: went on at its earliest */
	void          *ctx;            /* for FN and LOST */
} rdms_feed_follow_params;

/* Starts following P->feed from its head now.  NULL when no thread could start. */
rdms_feed_follower *rdms_feed_follow(const rdms_feed_follow_params *p);

/* Stops the thread (once FN returns, if it runs) and frees FL (NULL: nothing). */
void rdms_feed_follower_stop(rdms_feed_follower *fl);

#endif
