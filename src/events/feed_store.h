/*
 * feed_store.h -- the change feed on disk: the boot epoch, the journal and
 * the last listing of every back-end, in an SQLite database beside the
 * audit trail (events.db in rdmsd's state directory).
 *
 * Why on disk: a subscriber's bookmark must stay good across a restart of
 * rdmsd, with nothing lost and nothing twice.  So at start the store
 *   - raises the epoch (committed with a full sync before anything else:
 *     an epoch is never issued twice, so positions of two runs never mix),
 *   - gives the new feed the journal it kept (older epochs' positions stay
 *     readable) and the last listing of each back-end, so that the first
 *     listing of this run is diffed against it and whatever happened while
 *     rdmsd was down (a logoff, a new session) becomes events too.
 * While running, each batch the feed appends is written in one transaction
 * before readers can see it (WAL, synchronous=NORMAL: a killed rdmsd loses
 * nothing it already published; a power cut may cost the last batches,
 * which a later bookmark then reads as gone or future, never wrong).
 * Events the journal has dropped are deleted with it.
 */
#ifndef RDMS_EVENTS_FEED_STORE_H
#define RDMS_EVENTS_FEED_STORE_H

#include "../cim/wbem.h"
#include "feed.h"

typedef struct rdms_feed_store rdms_feed_store;

/*
 * Opens (or creates, mode 0600) the database at PATH, raises the epoch and
 * makes *FEED, restored from it and bound to the store, with LIMITS (NULL:
 * the defaults).  Fails with ERR when the file cannot be used.
 */
uint32_t rdms_feed_store_open(const char *path, const rdms_feed_limits *limits,
                              rdms_feed_store **store, rdms_feed **feed, rdms_error *err);

/* Frees the feed and closes the store (the feed must be idle). */
void rdms_feed_store_close(rdms_feed_store *st, rdms_feed *feed);

/* Batches that could not be written (logged each time); 0 when all were. */
unsigned long rdms_feed_store_failures(const rdms_feed_store *st);

/*
 * Staged events: a batch written to the store before the change it
 * reports is committed elsewhere (a fleet broker's directory,
 * src/fleet/events.h), so that a process killed between that commit and
 * the publishing still publishes the batch at its next start.  KEY (a
 * host's name) holds one batch at a time, at position AT (the writer's:
 * what the other commit must have reached).  Called by the feed's one
 * publishing thread, or before it runs.
 *
 * rdms_feed_store_stage: KEY's batch is EV[0..N) now (its strings stay
 * the caller's); false when it could not be written (logged).
 * rdms_feed_store_publish_staged: rdms_feed_publish of EV into FEED, and
 * KEY's staged batch dropped in the same transaction.
 * rdms_feed_store_unstage: KEY's batch dropped (its change was not made).
 * rdms_feed_store_staged: each staged batch, by key, to FN, which either
 * publishes it (rdms_feed_store_publish_staged) and returns true, or
 * returns false: then its events are dropped and the key unstaged.
 */
typedef bool (*rdms_staged_fn)(void *ctx, const char *key, uint64_t at, rdms_event *ev,
                               size_t n);

bool rdms_feed_store_stage(rdms_feed_store *st, const char *key, uint64_t at,
                           const rdms_event *ev, size_t n);
bool rdms_feed_store_publish_staged(rdms_feed_store *st, rdms_feed *feed, const char *key,
                                    rdms_event *ev, size_t n, int64_t now_us);
void rdms_feed_store_unstage(rdms_feed_store *st, const char *key);
uint32_t rdms_feed_store_staged(rdms_feed_store *st, rdms_staged_fn fn, void *ctx,
                                rdms_error *err);

#endif
