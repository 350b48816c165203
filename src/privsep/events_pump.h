/*
 * events_pump.h -- the network process's copy of priv's change feed.
 *
 * Subscribers (WS-Eventing, src/wsman/wsman_events.c) read and wait on a
 * feed in their own process: a mirror of priv's journal, with the same
 * positions.  One pump thread keeps it: it long-polls priv with EVENTS
 * (privsep.h), one exchange at a time, so it holds one privsep channel at
 * most, whatever the number of subscribers, and appends what comes.  The
 * mirror starts at priv's journal floor, so bookmarks (and `earliest`)
 * reach as far back as priv's journal does; when the mirror falls behind
 * the journal, it restarts at the journal's floor and readers behind that
 * read RDMS_FEED_GONE.
 */
#ifndef RDMS_PRIVSEP_EVENTS_PUMP_H
#define RDMS_PRIVSEP_EVENTS_PUMP_H

#include "privsep.h"

typedef struct priv_events_pump priv_events_pump;

/*
 * Asks priv where its journal stands, makes the mirror and starts the
 * thread, whose long polls last WAIT_MS (1 to PRIV_EVENTS_WAIT_MAX_MS).
 * NULL with ERR on failure; NULL with ERR's code 0 when priv runs no feed.
 */
priv_events_pump *priv_events_pump_start(priv_client *c, int wait_ms, rdms_error *err);

/* The mirror (valid until priv_events_pump_stop). */
rdms_feed *priv_events_pump_feed(priv_events_pump *p);

/*
 * The newest position priv has told of: where a subscription without a
 * bookmark starts (the mirror may still be catching up with the journal).
 */
rdms_feed_pos priv_events_pump_head(priv_events_pump *p);

/*
 * A wsman_event_source's state (CTX: the pump): the sessions exactly as
 * priv's feed has them, and that position (a FEED_STATE exchange), for an
 * Enumerate that asks for its position.
 */
uint32_t priv_events_pump_state(void *ctx, rdms_session_fn fn, void *fn_ctx, rdms_feed_pos *at,
                                rdms_error *err);

/*
 * Stops the thread at once (the long poll in flight is given up, and its
 * privsep channel with it: call this when the process stops) and frees the
 * mirror.  NULL: nothing.
 */
void priv_events_pump_stop(priv_events_pump *p);

#endif
