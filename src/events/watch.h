/*
 * watch.h -- what tells the change feed to look again (issue 14, item 1).
 *
 * One thread in the privileged process rescans the back-ends and hands
 * each listing to the feed (feed.h).  It does not poll: it sleeps in
 * epoll on what changes when a session does, and treats each wake-up as a
 * hint only -- the listing, not the hint, says what happened:
 *   - inotify on xrdp's socket directory (a session's sockets appear and
 *     go with it), on xrdp's log (a client connects, names its computer),
 *     on the directory of X2Go's session database, on each X2Go session's
 *     directory (nxagent's state file: a client attaching or going;
 *     watch_dirs.h), and on the fixture file;
 *   - a pidfd on each session's X server and on each xrdp connection
 *     process: readable the moment it exits (a client dropped, a session
 *     ended), found afresh after every scan;
 *   - rdms_watch_hint: rdmsd's own Disconnect, Logoff, and `rdms notify`.
 * Hints are debounced: the first one schedules a scan debounce_ms after it
 * came (a hint that came during a scan counts from that scan's start) and
 * the ones that come meanwhile join it, so a burst costs one scan and a
 * change is scanned within debounce_ms plus one scan's time.  A slow
 * safety scan every resync_s catches what no hint announced.  A path that
 * does not exist yet (xrdp not installed, no session yet) is tried again
 * at every scan.
 */
#ifndef RDMS_EVENTS_WATCH_H
#define RDMS_EVENTS_WATCH_H

#include "../backend/backend.h"
#include "../config/config.h"
#include "feed.h"

typedef struct rdms_watch rdms_watch;

typedef struct rdms_watch_params {
	const rdms_config         *cfg;        /* must outlive the watch */
	const rdms_backend *const *backends;   /* the NB back-ends served */
	size_t                     nb;
	rdms_feed                 *feed;
	int                        debounce_ms;  /* 0: 100 */
	int                        resync_s;     /* 0: 30 */
} rdms_watch_params;

/* Starts the thread; its first scan comes at once.  NULL with ERR on failure. */
rdms_watch *rdms_watch_start(const rdms_watch_params *p, rdms_error *err);

/* Something may have changed: a scan within debounce_ms.  Any thread. */
void rdms_watch_hint(rdms_watch *w);

/* Waits for the scan that follows this call (tests, and `rdms notify --wait`). */
void rdms_watch_sync(rdms_watch *w);

/* Stops the thread and frees W (NULL: nothing). */
void rdms_watch_stop(rdms_watch *w);

typedef struct rdms_watch_counts {
	unsigned long scans;        /* rescans done */
	unsigned long hints;        /* wake-ups that asked for one */
	unsigned long failures;     /* back-end listings that failed */
	size_t        pidfds;       /* processes watched now */
} rdms_watch_counts;

void rdms_watch_get_counts(rdms_watch *w, rdms_watch_counts *out);

#endif
