/*
 * ingest.h -- how a fleet broker learns its hosts' sessions (spec/fleet.md
 * 3.3, 3.4, 3.9): one WS-Eventing Pull subscription per host, every batch
 * applied to the session directory (store.h) in one transaction.
 *
 * One thread drives every host on one libcurl multi handle, each host with
 * its own connection and one request in flight at a time:
 *
 *   subscribe   the catch-all event query (every Win32_VirtualDesktopSession
 *               event), SendBookmarks, Heartbeats, from the bookmark the
 *               store keeps (the host's version), or without one to resync;
 *   pull        MaxElements, OperationTimeout; the host holds it until
 *               events come or the heartbeat; the events' positions are the
 *               reply's bookmark and those before it (the catch-all query
 *               sees every seq), applied as one batch; then the next Pull;
 *   resync      when the host no longer holds the bookmark
 *               (wsman:InvalidBookmark), or the store finds a gap or a new
 *               epoch, or the host was never synced: a Subscribe without a
 *               bookmark, then an optimized Enumerate asking for
 *               rdms:Position, all its pages applied as one snapshot at that
 *               position, then Pulls (whose events up to it the store
 *               drops).  At most max_resyncs at a time; the rest wait.
 *
 * A subscription the host lost (wsen:InvalidEnumerationContext: the host
 * restarted or reaped it) is subscribed again from the stored bookmark,
 * which costs no resync when the host's journal still covers it.  A host
 * that cannot be reached is marked ServerState 1 (unknown) at once and
 * tried again after a backoff with jitter (its sessions stay listed); one
 * whose Pulls succeed is 3 (running).
 *
 * Bad or hostile hosts (spec/fleet.md 3.9): a reply past the
 * MaxEnvelopeSize asked for, one that is not SOAP, malformed events or
 * instances, events without a position or going back before the
 * subscription's, a batch or snapshot the store refuses (sessions of
 * another VMHostName, an instance without its keys) -- nothing of it is
 * applied, it is logged, and the host is resynced; the third such reply
 * within 10 minutes quarantines it: ServerState 8, logged with the reason,
 * not pulled again until an administrator lifts it (`rdms fleet host add`
 * again with the same URL and fingerprint: the host is then read anew).
 * A host showing another certificate than the one pinned is quarantined
 * at once.  Other hosts are not affected.
 *
 * Every host is resynced in full every FLEET_FULL_RESYNC_S +- 50 % as a
 * safety net (spec/fleet.md 3.4, "periodic anti-entropy"), through the
 * same path (max_resyncs at once).  Tests shorten it with the environment
 * variable RDMS_TEST_FLEET_RESYNC_MS (milliseconds, at least 1000; logged
 * as a warning when set); it is not a configuration key.  The first
 * subscriptions and every retry are spread by jitter.
 *
 * The broker must be an admin on each host (the catch-all query then sees
 * every event, so positions are consecutive): by its client certificate
 * (fleet_ca and fleet_brokers on the host; spec/fleet.md 3.2), or Basic
 * credentials.  Hosts added or removed by another writer of the store
 * (`rdms fleet host add`) are noticed within a couple of seconds.
 */
#ifndef RDMS_FLEET_INGEST_H
#define RDMS_FLEET_INGEST_H

#include <stdbool.h>
#include <stdint.h>

#include "store.h"

struct fleet_events;
struct fleet_pool;

/* The periodic safety resync's mean interval, in seconds (ingest.h above). */
#define FLEET_FULL_RESYNC_S 1800

typedef struct fleet_ingest_options {
	fleet_store *store;
	/* the broker's change feed (events.h): every change applied goes there; NULL: none */
	struct fleet_events *events;
	/* the forwarded calls' kept connections, sized to the host count (forward_pool.h); NULL: none */
	struct fleet_pool *pool;
	/*
	 * The broker's client certificate (host_tls.h): presented to every
	 * host, whose own certificate must be the one pinned at its
	 * registration.  NULL: USER/PASSWORD and INSECURE instead (tests).
	 */
	const struct fleet_identity *identity;
	const char  *user;             /* Basic credentials every host accepts; NULL: none */
	const char  *password;
	bool         insecure;         /* HTTPS without certificate checks (tests) */
	int          pull_timeout_s;   /* OperationTimeout of a Pull; 0: 25 */
	int          heartbeat_s;      /* 0: 20 */
	unsigned     max_elements;     /* 0: 1000 */
	unsigned     max_resyncs;      /* resyncs at once; 0: 8 */
	int          jitter_ms;        /* the first subscriptions spread over this; 0: 5000 */
	int          retry_max_ms;     /* the longest wait before retrying a host; 0: 30000 */
	int          connect_timeout_ms;   /* 0: 2000 */
} fleet_ingest_options;

typedef struct fleet_ingest fleet_ingest;

/* Starts ingesting every host of O->store (which must outlive it).  NULL with ERR. */
fleet_ingest *fleet_ingest_start(const fleet_ingest_options *o, rdms_error *err);
/* Hosts were added, removed or marked: read the store's list again. */
void fleet_ingest_reload(fleet_ingest *in);
/* Stops (requests in flight are abandoned) and frees. */
void fleet_ingest_stop(fleet_ingest *in);

/* What ingest did, for one host or (HOST NULL) all of them. */
typedef struct fleet_ingest_stats {
	uint64_t subscribes;       /* Subscribe requests answered */
	uint64_t resumes;          /* ...of them from a bookmark */
	uint64_t resyncs;          /* snapshots applied */
	uint64_t refused;          /* replies refused as bad input (each a resync or quarantine) */
	uint64_t batches;          /* change batches applied */
	uint64_t events;           /* events in them (dropped ones too) */
	uint64_t heartbeats;       /* empty PullResponses */
	uint64_t failures;         /* transport failures and faults */
	unsigned resyncs_peak;     /* the most resyncs in flight at once */
} fleet_ingest_stats;

void fleet_ingest_stats_get(fleet_ingest *in, const char *host, fleet_ingest_stats *out);

#endif
