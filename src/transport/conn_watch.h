/*
 * conn_watch.h -- the HTTP servers' one timer thread: request deadlines,
 * delayed answers and hang-ups of held connections.
 *
 * libmicrohttpd's time-out is one of inactivity: a client sending a byte a
 * second would hold its connection for ever.  So each connection also has
 * a deadline by which its whole request must be in; past it the watcher
 * shuts the socket down (the HTTP server then sees end-of-file and closes
 * the connection as it would one the client dropped).
 *
 * A suspended connection is not polled by the HTTP server, so two more
 * things are the watcher's: a timer (a failed login is answered only when
 * its delay has passed, without a thread sleeping for it) and the hang-up
 * of a held request's client (the HTTP server would notice it only on
 * resuming).
 *
 * Callbacks run on the watcher's thread with its lock held: once
 * conn_watch_remove() has returned, none runs or will run for that
 * connection.  They must not call conn_watch_* themselves.
 */
#ifndef RDMS_TRANSPORT_CONN_WATCH_H
#define RDMS_TRANSPORT_CONN_WATCH_H

#include <stdbool.h>
#include <stdint.h>

typedef struct conn_watch conn_watch;
typedef void (*conn_watch_fn)(conn_watch *w, void *arg);

/* One connection; the caller allocates it, the watcher's fields are private. */
struct conn_watch {
	conn_watch     *prev, *next;
	int             fd;
	int64_t         deadline;      /* CLOCK_MONOTONIC ms; 0: none */
	bool            cut;           /* shut down past its deadline */
	int64_t         wake_at;       /* the timer; 0: none */
	conn_watch_fn   wake_fn;
	void           *wake_arg;
	uint64_t        hup_id;        /* the hang-up watch; 0: none */
	conn_watch_fn   hup_fn;
	void           *hup_arg;
};

typedef struct conn_watcher conn_watcher;

/*
 * A watcher cutting connections REQUEST_TIMEOUT_S after their deadline was
 * armed; ON_CUT (may be NULL) is told of each, to log it.  NULL when out
 * of resources.
 */
conn_watcher *conn_watcher_new(int request_timeout_s, conn_watch_fn on_cut);

/* Starts the thread; false when it cannot be had. */
bool conn_watcher_start(conn_watcher *cw);

/* Ends the thread; pending timers and hang-up watches are dropped, not called. */
void conn_watcher_stop(conn_watcher *cw);
void conn_watcher_free(conn_watcher *cw);

/* Watches W, the connection on socket FD, with its deadline armed. */
void conn_watch_add(conn_watcher *cw, conn_watch *w, int fd);

/* Stops watching W (its timer and hang-up watch too). */
void conn_watch_remove(conn_watcher *cw, conn_watch *w);

/*
 * Arms (ARM) W's deadline afresh -- the connection waits for its next
 * request, so its timer and hang-up watch are dropped -- or lifts it.
 */
void conn_watch_arm(conn_watcher *cw, conn_watch *w, bool arm);

/* Calls FN(W, ARG) once, at AT_MS (mono_ms() time, common/monotime.h) or soon after. */
void conn_watch_timer(conn_watcher *cw, conn_watch *w, int64_t at_ms, conn_watch_fn fn,
                      void *arg);

/*
 * Calls FN(W, ARG) once, when W's peer hangs up (or the socket fails), until
 * conn_watch_hangup_off().  For a suspended connection only: its pending
 * request data is not read.
 */
bool conn_watch_hangup(conn_watcher *cw, conn_watch *w, conn_watch_fn fn, void *arg);
void conn_watch_hangup_off(conn_watcher *cw, conn_watch *w);

#endif
