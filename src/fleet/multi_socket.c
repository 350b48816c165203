/*
 * multi_socket.c -- a libcurl multi handle driven by its sockets' events
 * (multi_socket.h).
 */
#include "multi_socket.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "../common/monotime.h"

#define MAX_EVENTS 64
#define WAKE_TAG   UINT64_MAX    /* the eventfd's epoll data; a socket's is its fd */

struct fleet_multi {
	CURLM   *multi;
	int      epfd;
	int      wakefd;
	int64_t  timer_at;       /* when libcurl wants CURL_SOCKET_TIMEOUT (monotonic ms); -1: never */
};

/* CURLMOPT_SOCKETFUNCTION: the socket S watched for what libcurl waits on, or no more. */
static int on_socket(CURL *easy, curl_socket_t s, int what, void *ctx, void *socketp)
{
	fleet_multi *m = ctx;
	struct epoll_event ev = { .data.u64 = (uint64_t)s };

	(void)easy;
	(void)socketp;
	if (what == CURL_POLL_REMOVE) {
		epoll_ctl(m->epfd, EPOLL_CTL_DEL, s, NULL);   /* (it may be closed already) */
		return 0;
	}
	ev.events = (what & CURL_POLL_IN ? EPOLLIN : 0) | (what & CURL_POLL_OUT ? EPOLLOUT : 0);
	if (epoll_ctl(m->epfd, EPOLL_CTL_MOD, s, &ev) != 0 && errno == ENOENT)
		epoll_ctl(m->epfd, EPOLL_CTL_ADD, s, &ev);
	return 0;
}

/* CURLMOPT_TIMERFUNCTION: when libcurl wants to be called for its timers (-1: not). */
static int on_timer(CURLM *multi, long timeout_ms, void *ctx)
{
	fleet_multi *m = ctx;

	(void)multi;
	m->timer_at = timeout_ms < 0 ? -1 : mono_ms() + timeout_ms;
	return 0;
}

fleet_multi *fleet_multi_new(void)
{
	fleet_multi *m = calloc(1, sizeof *m);
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = WAKE_TAG };

	if (m == NULL)
		return NULL;
	m->timer_at = -1;
	m->epfd = epoll_create1(EPOLL_CLOEXEC);
	m->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	m->multi = curl_multi_init();
	if (m->epfd < 0 || m->wakefd < 0 || m->multi == NULL ||
	    epoll_ctl(m->epfd, EPOLL_CTL_ADD, m->wakefd, &ev) != 0) {
		fleet_multi_free(m);
		return NULL;
	}
	curl_multi_setopt(m->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
	curl_multi_setopt(m->multi, CURLMOPT_SOCKETDATA, m);
	curl_multi_setopt(m->multi, CURLMOPT_TIMERFUNCTION, on_timer);
	curl_multi_setopt(m->multi, CURLMOPT_TIMERDATA, m);
	return m;
}

CURLM *fleet_multi_curl(fleet_multi *m)
{
	return m->multi;
}

void fleet_multi_run(fleet_multi *m, int wait_ms)
{
	struct epoll_event ev[MAX_EVENTS];
	int64_t now = mono_ms();
	int n, running;

	if (m->timer_at >= 0 && m->timer_at - now < wait_ms)
		wait_ms = m->timer_at > now ? (int)(m->timer_at - now) : 0;
	n = epoll_wait(m->epfd, ev, MAX_EVENTS, wait_ms);
	for (int i = 0; i < n; i++) {
		int bits = (ev[i].events & EPOLLIN ? CURL_CSELECT_IN : 0) |
		           (ev[i].events & EPOLLOUT ? CURL_CSELECT_OUT : 0) |
		           (ev[i].events & (EPOLLERR | EPOLLHUP) ? CURL_CSELECT_ERR : 0);
		uint64_t drained;

		if (ev[i].data.u64 == WAKE_TAG) {
			if (read(m->wakefd, &drained, sizeof drained) < 0)
				drained = 0;     /* nothing to drain: an earlier read took it */
			continue;
		}
		curl_multi_socket_action(m->multi, (curl_socket_t)ev[i].data.u64, bits, &running);
	}
	if (m->timer_at >= 0 && m->timer_at <= mono_ms()) {
		m->timer_at = -1;    /* libcurl sets the next one as it goes */
		curl_multi_socket_action(m->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	}
}

void fleet_multi_wakeup(fleet_multi *m)
{
	uint64_t one = 1;

	if (write(m->wakefd, &one, sizeof one) < 0 && errno != EAGAIN)
		return;    /* (a full counter wakes the loop all the same) */
}

void fleet_multi_free(fleet_multi *m)
{
	if (m == NULL)
		return;
	if (m->multi != NULL)
		curl_multi_cleanup(m->multi);
	if (m->epfd >= 0)
		close(m->epfd);
	if (m->wakefd >= 0)
		close(m->wakefd);
	free(m);
}
