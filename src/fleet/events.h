/*
 * events.h -- a fleet broker's change feed: what its ingest applied to the
 * session directory, as session events (issue 15, "broker events").
 *
 * `rdms watch` and WS-Eventing subscribers at a broker read this feed the
 * way they read a host's (src/events/feed.h, src/wsman/wsman_events.c),
 * and so see the whole fleet's changes.  Its events are the directory's
 * changes, never the hosts' events passed on as they came:
 *
 *   a batch      each applied change (those a host's version had not yet
 *                reached), compared with the session as the directory
 *                held it (or as the batch's earlier changes left it):
 *                Creation when it had none, Modification (with the
 *                previous session) when a property differs, Deletion of
 *                the session it held; nothing for a change that changes
 *                nothing (or deletes what it did not hold);
 *   a snapshot   (a resync) the sessions it lists against the host's
 *                sessions the directory held: Creation, Modification or
 *                Deletion for what differs, nothing for the unchanged.
 *                A snapshot without an identity token cannot tell a
 *                session that ended from a new one under the same
 *                SessionId: that reads as a Modification.
 *
 * A host's first synchronisation (the directory never held a session of
 * it, nor a position) makes no events: its sessions did not begin, the
 * broker learned of them, and they are listed from then on.  A host
 * removed by `rdms fleet host remove` takes its sessions with it, without
 * events.  Each event carries its session's own VMHostName and the
 * properties its host gave it (rdms_event_session_origin), and its time
 * is when the broker applied it.
 *
 * Positions are the broker's own: its journal (src/events/feed_store.h)
 * is a file of the broker's, with the epoch raised at every start, so
 * bookmarks taken at the broker resume across its restarts as far as the
 * journal reaches: as a host's, at least the newest 65,536 events and
 * those of the last 10 minutes, at most 1,048,576 (fleet_events_limits).
 *
 * The directory and the journal are two commits, made so that a broker
 * killed anywhere between them loses no event and publishes none twice:
 * the events of a batch are computed before it is applied, staged in the
 * journal's file at the host's coming version (rdms_feed_store_stage),
 * the directory commits, then they are published with the staged copy
 * dropped in one transaction.  At the next start, before ingest runs,
 * fleet_events_recover publishes each staged batch whose host's version
 * in the directory reached it (committed: its events were lost with the
 * process) and drops the others (never committed: the host sends the
 * changes again, and their events come then).
 */
#ifndef RDMS_FLEET_EVENTS_H
#define RDMS_FLEET_EVENTS_H

#include "../events/feed.h"
#include "../wsman/wsman.h"
#include "store.h"

/* The broker's journal's bounds: a host's (65,536 events and 10 minutes), at most 1,048,576. */
extern const rdms_feed_limits fleet_events_limits;

typedef struct fleet_events fleet_events;

/*
 * The broker's feed, journaled in PATH (created when missing; its epoch
 * raised).  NULL with ERR.
 */
fleet_events *fleet_events_open(const char *path, rdms_error *err);
void fleet_events_close(fleet_events *fe);

/*
 * Publishes the events of batches STORE committed before the broker died
 * (above), drops those it did not; call before the ingest starts.
 */
uint32_t fleet_events_recover(fleet_events *fe, fleet_store *st, rdms_error *err);

rdms_feed *fleet_events_feed(fleet_events *fe);

/*
 * The journal of a broker whose directory is STORE_PATH: events_db when
 * set, else "-events.db" in place of STORE_PATH's ".db" (beside it).
 */
void fleet_events_path(const rdms_config *cfg, char *path, size_t size);

/*
 * fleet_store_apply_batch and fleet_store_apply_snapshot, and the changes
 * they made to the directory into FE's feed (FE NULL: only the store's
 * call).  The store's result either way; the events are published only
 * when the changes were applied.  The directory is read before, by the
 * caller's thread, which must be the only one writing HOST's sessions.
 */
fleet_apply_rc fleet_events_apply_batch(fleet_events *fe, fleet_store *st, const char *host,
                                        const fleet_change *ch, size_t n, uint64_t *version,
                                        rdms_error *err);
fleet_apply_rc fleet_events_apply_snapshot(fleet_events *fe, fleet_store *st, const char *host,
                                           uint64_t at, const fleet_session *s, size_t n,
                                           rdms_error *err);

/* How many events were published, and batches whose events could not be (out of memory). */
void fleet_events_counts(fleet_events *fe, uint64_t *published, uint64_t *lost);

/* The source subscriptions at the broker read (wsman_service_events). */
wsman_event_source fleet_events_source(fleet_events *fe);

#endif
