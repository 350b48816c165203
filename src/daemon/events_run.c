/*
 * events_run.c -- the session events in the privileged process (events_run.h).
 *
 *   back-ends --watch--> feed (journal, events.db) --dispatcher--> hooks
 *
 * The feed and its database stay open for the daemon's life; the watch,
 * the hook runner and the dispatcher depend on the config and the served
 * back-ends, so a reload stops and restarts them around the swap.  The
 * dispatcher follows the feed from where it stood when it started: hooks
 * run for what happens while rdmsd runs (and for what the first scan finds
 * changed since the last run), never for old journal entries.
 */
#include "events_run.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/log.h"
#include "../events/feed_store.h"
#include "../events/follow.h"
#include "../events/hooks.h"
#include "../events/watch.h"

struct rdmsd_events {
	rdms_feed_store *store;
	rdms_feed       *feed;
	rdms_watch      *watch;
	rdms_hooks      *hooks;
	rdms_audit_db   *audit;
	const rdms_config *cfg;
	rdms_feed_follower *dispatcher; /* the feed to the hooks */
	unsigned long    dropped;       /* events the hook queue had no room for */
};

/* A hook that failed, timed out or was skipped: an audit record. */
static void audit_hook(void *ctx, const rdms_hook_outcome *o)
{
	rdmsd_events *e = ctx;
	rdms_caller who = { .uid = 0, .is_admin = true, .protocol = "hook", .source = "rdmsd" };
	char target[600], detail[1200];
	rdms_audit_event ev = { .caller = &who, .target = target, .method = "Hook",
	                        .result = WBEM_E_FAILED, .detail = detail };

	snprintf(who.user, sizeof who.user, "root");
	snprintf(target, sizeof target, "Win32_VirtualDesktopSession.VMHostName=\"%s\",SessionId=%u",
	         e->cfg->vm_host_name, o->event->target.id);
	snprintf(detail, sizeof detail, "%s %s: %s", o->reason, o->hook, o->detail);
	if (e->audit != NULL && rdms_audit_record(e->audit, &ev) != 0)
		log_warn("audit record for a hook on %s could not be written", target);
}

static int queue_hooks(void *ctx, const rdms_event *ev)
{
	rdmsd_events *e = ctx;

	if (!rdms_hooks_event(e->hooks, ev) && e->dropped++ % 1000 == 0)
		log_warn("hooks: the queue is full; hooks for session %u (and others) dropped",
		         ev->target.id);
	return 0;
}

static void fell_behind(void *ctx)
{
	(void)ctx;
	log_warn("hooks: fell behind the journal; some events had no hooks run");
}

/* CFG's events_db, or events.db in audit_db's directory, into PATH. */
static void events_path(const rdms_config *cfg, char *path, size_t size)
{
	const char *slash = strrchr(cfg->audit_db, '/');

	if (cfg->events_db[0] != '\0')
		snprintf(path, size, "%s", cfg->events_db);
	else if (slash == NULL)
		snprintf(path, size, "events.db");
	else
		snprintf(path, size, "%.*s/events.db", (int)(slash - cfg->audit_db), cfg->audit_db);
}

rdmsd_events *rdmsd_events_open(const rdms_config *cfg, rdms_error *err)
{
	rdmsd_events *e = calloc(1, sizeof *e);
	char path[sizeof cfg->audit_db + 16];

	if (e == NULL) {
		rdms_fail(err, WBEM_E_OUT_OF_MEMORY, "out of memory");
		return NULL;
	}
	events_path(cfg, path, sizeof path);
	if (rdms_feed_store_open(path, NULL, &e->store, &e->feed, err) != 0) {
		free(e);
		return NULL;
	}
	log_info("events: journal %s, epoch %llu", path,
	         (unsigned long long)rdms_feed_epoch(e->feed));
	return e;
}

bool rdmsd_events_start(rdmsd_events *e, const rdms_config *cfg,
                        const rdms_backend *const *backends, size_t nb, rdms_audit_db *audit,
                        rdms_error *err)
{
	rdms_watch_params wp = { .cfg = cfg, .backends = backends, .nb = nb, .feed = e->feed,
	                         .resync_s = cfg->events_resync_s };
	rdms_feed_follow_params fp = { .feed = e->feed, .fn = queue_hooks, .lost = fell_behind,
	                               .ctx = e };

	e->cfg = cfg;
	e->audit = audit;
	if ((e->hooks = rdms_hooks_start(cfg, audit_hook, e, err)) == NULL)
		return false;
	/* from the head now: hooks for what happens from here on, never old entries */
	if ((e->dispatcher = rdms_feed_follow(&fp)) == NULL) {
		rdmsd_events_stop(e);
		return rdms_fail(err, WBEM_E_FAILED, "cannot start the events dispatcher") == 0;
	}
	if ((e->watch = rdms_watch_start(&wp, err)) == NULL) {
		rdmsd_events_stop(e);
		return false;
	}
	return true;
}

void rdmsd_events_hint(rdmsd_events *e)
{
	if (e != NULL)
		rdms_watch_hint(e->watch);
}

void rdmsd_events_stop(rdmsd_events *e)
{
	if (e == NULL)
		return;
	rdms_watch_stop(e->watch);
	e->watch = NULL;
	rdms_feed_follower_stop(e->dispatcher);
	e->dispatcher = NULL;
	rdms_hooks_stop(e->hooks);
	e->hooks = NULL;
}

rdms_feed *rdmsd_events_feed(rdmsd_events *e)
{
	return e != NULL ? e->feed : NULL;
}

void rdmsd_events_close(rdmsd_events *e)
{
	size_t held;
	uint64_t dropped;

	if (e == NULL)
		return;
	rdmsd_events_stop(e);
	rdms_feed_counts(e->feed, &held, &dropped);
	log_info("events: %zu held in the journal, head %llu:%llu", held,
	         (unsigned long long)rdms_feed_head(e->feed).epoch,
	         (unsigned long long)rdms_feed_head(e->feed).seq);
	rdms_feed_store_close(e->store, e->feed);
	free(e);
}
