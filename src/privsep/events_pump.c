/*
 * events_pump.c -- the network process's mirror of priv's change feed
 * (events_pump.h).
 */
#include "events_pump.h"

#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "../common/log.h"
#include "../common/thread_name.h"
#include "../events/feed_internal.h"

struct priv_events_pump {
	priv_client    *c;
	rdms_feed      *mirror;
	int             wait_ms;
	pthread_t       thread;
	pthread_mutex_t lock;
	rdms_feed_pos   head;      /* priv's, as last told */
	rdms_feed_pos   floor;     /* likewise */
	bool            stop;
	int             wake;      /* an eventfd: readable once stopping, it ends the long poll */
};

/* A priv_event_batch_fn (CTX: the pump): onto the mirror. */
static void append(void *ctx, rdms_event *ev, size_t n)
{
	priv_events_pump *p = ctx;
	rdms_feed_pos floor;

	pthread_mutex_lock(&p->lock);
	floor = p->floor;
	if (n > 0 && rdms_feed_pos_cmp(ev[n - 1].pos, p->head) > 0)
		p->head = ev[n - 1].pos;
	pthread_mutex_unlock(&p->lock);
	rdms_feed_mirror_append(p->mirror, ev, n, floor);
}

/* A priv_event_batch_fn for the first exchange, which asks for none. */
static void ignore(void *ctx, rdms_event *ev, size_t n)
{
	(void)ctx;
	(void)ev;
	(void)n;
}

/* Where priv's journal stands, from END. */
static void learn(priv_events_pump *p, const priv_events_end *end)
{
	pthread_mutex_lock(&p->lock);
	if (rdms_feed_pos_cmp(end->head, p->head) > 0)
		p->head = end->head;
	p->floor = end->floor;
	pthread_mutex_unlock(&p->lock);
}

static bool stopping(priv_events_pump *p)
{
	bool stop;

	pthread_mutex_lock(&p->lock);
	stop = p->stop;
	pthread_mutex_unlock(&p->lock);
	return stop;
}

static void *pump(void *arg)
{
	priv_events_pump *p = arg;

	rdms_thread_name("pump");
	while (!stopping(p)) {
		priv_events req = { .after = rdms_feed_head(p->mirror), .max = PRIV_EVENTS_MAX,
		                    .wait_ms = (uint32_t)p->wait_ms };
		priv_events_end end = { 0 };
		rdms_error err = { 0 };

		if (priv_proxy_events_until(p->c, &req, p->wake, append, p, &end, &err) !=
		    WBEM_S_NO_ERROR) {
			struct pollfd pf = { p->wake, POLLIN, 0 };

			if (err.code == WBEM_E_CALL_CANCELLED)
				break;
			/* refused: not expected; try again a little later rather than spin */
			log_warn("session events: %s", err.message);
			poll(&pf, 1, 1000);
			continue;
		}
		learn(p, &end);
		switch (end.rc) {
		case PRIV_EVENTS_OK:
			rdms_feed_mirror_append(p->mirror, NULL, 0, end.floor);
			break;
		case PRIV_EVENTS_GONE:     /* fell behind the journal: start again at its floor */
			log_warn("session events: the mirror fell behind priv's journal; "
			         "subscribers behind it lose their place");
			rdms_feed_mirror_reset(p->mirror, end.floor);
			break;
		case PRIV_EVENTS_FUTURE:   /* priv's journal is not the one mirrored */
			rdms_feed_mirror_reset(p->mirror, end.head);
			break;
		default:                   /* events went off: nothing more will come */
			return NULL;
		}
	}
	return NULL;
}

priv_events_pump *priv_events_pump_start(priv_client *c, int wait_ms, rdms_error *err)
{
	priv_events req = { .after = { 0, 0 }, .max = 1, .wait_ms = 0 };
	priv_events_end end = { 0 };
	priv_events_pump *p;
	int e;

	if (priv_proxy_events(c, &req, ignore, NULL, &end, err) != WBEM_S_NO_ERROR)
		return NULL;
	if (end.rc == PRIV_EVENTS_OFF)
		return NULL;
	p = calloc(1, sizeof *p);
	if (p == NULL || (p->mirror = rdms_feed_new(end.floor.epoch > 0 ? end.floor.epoch : 1,
	                                            NULL)) == NULL) {
		free(p);
		rdms_fail(err, WBEM_E_OUT_OF_MEMORY, "out of memory");
		return NULL;
	}
	p->c = c;
	p->wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	p->wait_ms = wait_ms > 0 && wait_ms <= PRIV_EVENTS_WAIT_MAX_MS ? wait_ms : 30000;
	p->head = end.head;
	p->floor = end.floor;
	pthread_mutex_init(&p->lock, NULL);
	rdms_feed_mirror_reset(p->mirror, end.floor);
	e = p->wake < 0 ? -1 : pthread_create(&p->thread, NULL, pump, p);
	if (e != 0) {
		rdms_fail(err, WBEM_E_FAILED, "session events: cannot start a thread");
		if (p->wake >= 0)
			close(p->wake);
		pthread_mutex_destroy(&p->lock);
		rdms_feed_free(p->mirror);
		free(p);
		return NULL;
	}
	return p;
}

rdms_feed *priv_events_pump_feed(priv_events_pump *p)
{
	return p->mirror;
}

rdms_feed_pos priv_events_pump_head(priv_events_pump *p)
{
	rdms_feed_pos head, mirrored = rdms_feed_head(p->mirror);

	pthread_mutex_lock(&p->lock);
	head = p->head;
	pthread_mutex_unlock(&p->lock);
	return rdms_feed_pos_cmp(mirrored, head) > 0 ? mirrored : head;
}

uint32_t priv_events_pump_state(void *ctx, rdms_session_fn fn, void *fn_ctx, rdms_feed_pos *at,
                                rdms_error *err)
{
	const priv_events_pump *p = ctx;

	return priv_proxy_feed_state(p->c, fn, fn_ctx, at, err);
}

void priv_events_pump_stop(priv_events_pump *p)
{
	uint64_t one = 1;

	if (p == NULL)
		return;
	pthread_mutex_lock(&p->lock);
	p->stop = true;
	pthread_mutex_unlock(&p->lock);
	/* an eventfd's counter: this write cannot fail short of overflow */
	if (write(p->wake, &one, sizeof one) != (ssize_t)sizeof one)
		log_warn("session events: the pump was not woken; it stops within its long poll");
	pthread_join(p->thread, NULL);
	close(p->wake);
	pthread_mutex_destroy(&p->lock);
	rdms_feed_free(p->mirror);
	free(p);
}
