/*
 * watch_dirs.h -- the session watch's per-session directories (watch.c):
 * each live X2Go session's C-SESSION directory, followed with inotify for
 * its state file (backend/x2go/x2go_watch.h says why).  A directory is
 * looked up once, when its session first appears, and dropped when the
 * session goes.  Like every wake-up it is only a hint: a user who writes
 * into their own session directory buys a debounced rescan, nothing more.
 */
#ifndef RDMS_EVENTS_WATCH_DIRS_H
#define RDMS_EVENTS_WATCH_DIRS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/inotify.h>

#include "../backend/backend.h"
#include "../config/config.h"

typedef struct rdms_session_dir {
	pid_t pid;        /* the session's agent */
	int   wd;         /* -1: not watched (the directory is gone or was never found) */
} rdms_session_dir;

typedef struct rdms_watch_dirs {
	rdms_session_dir *v;      /* sorted by pid */
	size_t            n;
} rdms_watch_dirs;

/*
 * Follows, on the inotify descriptor INFD, the directories of exactly the
 * X2Go sessions of L (a complete listing of the x2go back-end): new
 * sessions' are added, those of sessions no longer listed removed.  Out of
 * memory, the old set stays (the safety rescan still runs).
 */
void rdms_watch_dirs_update(rdms_watch_dirs *d, int infd, const rdms_config *cfg,
                            const rdms_session_list *l);

/* True when EV (read from INFD) is about a state file of a followed directory. */
bool rdms_watch_dirs_hint(rdms_watch_dirs *d, const struct inotify_event *ev);

/* Removes every watch and frees D's memory (D stays usable, empty). */
void rdms_watch_dirs_clear(rdms_watch_dirs *d, int infd);

#endif
