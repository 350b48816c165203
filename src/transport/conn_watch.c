/*
 * conn_watch.c -- request deadlines, timers and hang-ups on one thread
 * (conn_watch.h).
 *
 * The thread sleeps in epoll_wait() until the earliest deadline or timer;
 * the epoll set holds an eventfd (woken when an earlier time is set) and
 * the sockets of held connections (EPOLLRDHUP).  Every watched connection
 * is on one list, scanned when a time comes: deadlines are armed at the
 * same distance ahead, so the earliest one comes rarely, and timers are
 * few (failed logins).  An epoll event names its watch by a number, never
 * a pointer, so an event that raced with conn_watch_remove() finds nothing.
 */
#include "conn_watch.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../common/monotime.h"
#include "../common/thread_name.h"

#define WAKE_ID 0       /* the eventfd's epoll data; hang-up ids start at 1 */

struct conn_watcher {
	pthread_mutex_t lock;
	conn_watch     *watches;
	int             epfd;
	int             wakefd;
	pthread_t       thread;
	bool            running;
	bool            stop;
	int64_t         sleep_until;     /* 0: no time to wake for */
	uint64_t        next_hup_id;
	int64_t         timeout_ms;      /* request_timeout_s */
	conn_watch_fn   on_cut;
};

conn_watcher *conn_watcher_new(int request_timeout_s, conn_watch_fn on_cut)
{
	conn_watcher *cw = calloc(1, sizeof *cw);
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = WAKE_ID };

	if (cw == NULL)
		return NULL;
	cw->timeout_ms = (int64_t)request_timeout_s * 1000;
	cw->on_cut = on_cut;
	cw->next_hup_id = WAKE_ID + 1;
	cw->epfd = epoll_create1(EPOLL_CLOEXEC);
	cw->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (cw->epfd < 0 || cw->wakefd < 0 ||
	    epoll_ctl(cw->epfd, EPOLL_CTL_ADD, cw->wakefd, &ev) != 0 ||
	    pthread_mutex_init(&cw->lock, NULL) != 0) {
		if (cw->epfd >= 0)
			close(cw->epfd);
		if (cw->wakefd >= 0)
			close(cw->wakefd);
		free(cw);
		return NULL;
	}
	return cw;
}

/* Makes the thread look at the times again when AT is earlier than its sleep. */
static void wake_for(conn_watcher *cw, int64_t at)
{
	uint64_t one = 1;

	if (cw->sleep_until != 0 && cw->sleep_until <= at)
		return;
	cw->sleep_until = at;
	if (write(cw->wakefd, &one, sizeof one) < 0 && errno != EAGAIN)
		return;   /* (a full counter wakes the thread all the same) */
}

/* Cuts what is past its deadline, fires due timers; returns the next time. */
static int64_t scan(conn_watcher *cw, int64_t now)
{
	int64_t next = 0;

	for (conn_watch *w = cw->watches; w != NULL; w = w->next) {
		if (w->wake_at != 0 && w->wake_at <= now) {
			conn_watch_fn fn = w->wake_fn;

			w->wake_at = 0;
			fn(w, w->wake_arg);
		}
		if (w->deadline != 0 && w->deadline <= now) {
			/* The HTTP server sees end-of-file and closes; the fd stays its own. */
			shutdown(w->fd, SHUT_RDWR);
			w->deadline = 0;
			w->cut = true;
			if (cw->on_cut != NULL)
				cw->on_cut(w, NULL);
		}
		if (w->deadline != 0 && (next == 0 || w->deadline < next))
			next = w->deadline;
		if (w->wake_at != 0 && (next == 0 || w->wake_at < next))
			next = w->wake_at;
	}
	return next;
}

static void hangup_off(conn_watcher *cw, conn_watch *w)
{
	if (w->hup_id == 0)
		return;
	epoll_ctl(cw->epfd, EPOLL_CTL_DEL, w->fd, NULL);
	w->hup_id = 0;
}

/* An epoll event: the wake-up, or the hang-up of the watch numbered ID. */
static void on_event(conn_watcher *cw, uint64_t id)
{
	uint64_t n;

	if (id == WAKE_ID) {
		while (read(cw->wakefd, &n, sizeof n) > 0)
			;
		return;
	}
	for (conn_watch *w = cw->watches; w != NULL; w = w->next)
		if (w->hup_id == id) {
			hangup_off(cw, w);
			w->hup_fn(w, w->hup_arg);
			return;
		}
}

static void *watcher(void *arg)
{
	conn_watcher *cw = arg;
	struct epoll_event ev[32];

	rdms_thread_name("connwatch");
	pthread_mutex_lock(&cw->lock);
	while (!cw->stop) {
		int64_t now = mono_ms();
		int64_t next = scan(cw, now);
		int n, timeout;

		cw->sleep_until = next;
		timeout = next == 0 ? -1 : next - now > 60000 ? 60000 : (int)(next - now);
		pthread_mutex_unlock(&cw->lock);
		n = epoll_wait(cw->epfd, ev, (int)(sizeof ev / sizeof ev[0]), timeout);
		pthread_mutex_lock(&cw->lock);
		for (int i = 0; i < n; i++)
			on_event(cw, ev[i].data.u64);
	}
	pthread_mutex_unlock(&cw->lock);
	return NULL;
}

bool conn_watcher_start(conn_watcher *cw)
{
	if (cw->running)
		return true;
	cw->stop = false;
	if (pthread_create(&cw->thread, NULL, watcher, cw) != 0)
		return false;
	cw->running = true;
	return true;
}

void conn_watcher_stop(conn_watcher *cw)
{
	if (!cw->running)
		return;
	pthread_mutex_lock(&cw->lock);
	cw->stop = true;
	cw->sleep_until = 0;
	wake_for(cw, 1);
	pthread_mutex_unlock(&cw->lock);
	pthread_join(cw->thread, NULL);
	cw->running = false;
	for (conn_watch *w = cw->watches; w != NULL; w = w->next) {
		w->wake_at = 0;
		hangup_off(cw, w);
	}
}

void conn_watcher_free(conn_watcher *cw)
{
	if (cw == NULL)
		return;
	conn_watcher_stop(cw);
	close(cw->epfd);
	close(cw->wakefd);
	pthread_mutex_destroy(&cw->lock);
	free(cw);
}

void conn_watch_add(conn_watcher *cw, conn_watch *w, int fd)
{
	*w = (conn_watch){ .fd = fd };
	pthread_mutex_lock(&cw->lock);
	w->next = cw->watches;
	if (cw->watches != NULL)
		cw->watches->prev = w;
	cw->watches = w;
	w->deadline = mono_ms() + cw->timeout_ms;
	wake_for(cw, w->deadline);
	pthread_mutex_unlock(&cw->lock);
}

void conn_watch_remove(conn_watcher *cw, conn_watch *w)
{
	pthread_mutex_lock(&cw->lock);
	hangup_off(cw, w);
	if (w->prev != NULL)
		w->prev->next = w->next;
	else
		cw->watches = w->next;
	if (w->next != NULL)
		w->next->prev = w->prev;
	w->prev = w->next = NULL;
	pthread_mutex_unlock(&cw->lock);
}

void conn_watch_arm(conn_watcher *cw, conn_watch *w, bool arm)
{
	pthread_mutex_lock(&cw->lock);
	if (arm) {   /* a new request: nothing of the last one is pending */
		w->wake_at = 0;
		hangup_off(cw, w);
	}
	if (!w->cut) {
		w->deadline = arm ? mono_ms() + cw->timeout_ms : 0;
		if (arm)
			wake_for(cw, w->deadline);
	}
	pthread_mutex_unlock(&cw->lock);
}

void conn_watch_timer(conn_watcher *cw, conn_watch *w, int64_t at_ms, conn_watch_fn fn,
                      void *arg)
{
	pthread_mutex_lock(&cw->lock);
	w->wake_at = at_ms > 0 ? at_ms : 1;
	w->wake_fn = fn;
	w->wake_arg = arg;
	wake_for(cw, w->wake_at);
	pthread_mutex_unlock(&cw->lock);
}

bool conn_watch_hangup(conn_watcher *cw, conn_watch *w, conn_watch_fn fn, void *arg)
{
	struct epoll_event ev = { .events = EPOLLRDHUP };
	bool ok;

	pthread_mutex_lock(&cw->lock);
	hangup_off(cw, w);
	ev.data.u64 = cw->next_hup_id;
	ok = epoll_ctl(cw->epfd, EPOLL_CTL_ADD, w->fd, &ev) == 0;
	if (ok) {
		w->hup_id = cw->next_hup_id++;
		w->hup_fn = fn;
		w->hup_arg = arg;
	}
	pthread_mutex_unlock(&cw->lock);
	return ok;
}

void conn_watch_hangup_off(conn_watcher *cw, conn_watch *w)
{
	pthread_mutex_lock(&cw->lock);
	hangup_off(cw, w);
	pthread_mutex_unlock(&cw->lock);
}
