/*
 * events_run.h -- what the privileged rdmsd runs for session events: the
 * change feed and its database, the rescan thread, and the hooks fed from
 * the feed (src/events).
 */
#ifndef RDMS_DAEMON_EVENTS_RUN_H
#define RDMS_DAEMON_EVENTS_RUN_H

#include "../audit/audit.h"
#include "../backend/backend.h"
#include "../config/config.h"
#include "../events/feed.h"

typedef struct rdmsd_events rdmsd_events;

/* Opens the feed on CFG's events_db (the epoch rises).  NULL with ERR. */
rdmsd_events *rdmsd_events_open(const rdms_config *cfg, rdms_error *err);

/*
 * Starts the rescan thread over the NB BACKENDS, the hook runner and the
 * dispatcher between them, with CFG (which must stay unchanged until
 * rdmsd_events_stop); hook failures are audited in AUDIT.
 */
bool rdmsd_events_start(rdmsd_events *e, const rdms_config *cfg,
                        const rdms_backend *const *backends, size_t nb, rdms_audit_db *audit,
                        rdms_error *err);

/* Sessions may have changed (rdmsd acted on one): rescan soon. */
void rdmsd_events_hint(rdmsd_events *e);

/* Stops what rdmsd_events_start started (hooks running finish first). */
void rdmsd_events_stop(rdmsd_events *e);

rdms_feed *rdmsd_events_feed(rdmsd_events *e);

/* Stops everything and closes the feed (NULL: nothing). */
void rdmsd_events_close(rdmsd_events *e);

#endif
