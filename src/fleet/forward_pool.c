/*
 * forward_pool.c -- a broker's keep-alive connections to its hosts
 * (forward_pool.h).
 */
#include "forward_pool.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../common/monotime.h"
#include "../common/thread_name.h"

#define CONNECT_TIMEOUT_MS 1000   /* spec/fleet.md 3.7: connect 1 s */

struct fleet_pool {
	const fleet_identity *id;
	long                  idle_ms;
	long                  connect_ms;
	pthread_mutex_t       lock;
	pthread_cond_t        wake;      /* the sweeper's: time to stop */
	pthread_t             sweeper;
	bool                  stop;
	fleet_conn           *idle;      /* newest first */
	size_t                nidle;
	size_t                max_idle;  /* fleet_pool_size_for */
};

void fleet_conn_free(fleet_conn *c)
{
	if (c == NULL)
		return;
	rdms_client_free(c->client);
	free(c->url);
	free(c);
}

/* Unlinks and returns the connections of the idle list *AT on that are older than CUTOFF. */
static fleet_conn *cut_older(fleet_conn **at, int64_t cutoff, size_t *nidle)
{
	fleet_conn *old = NULL;

	while (*at != NULL) {
		fleet_conn *c = *at;

		if (c->idle_since_ms <= cutoff) {
			*at = c->next;
			c->next = old;
			old = c;
			(*nidle)--;
		} else {
			at = &c->next;
		}
	}
	return old;
}

static void free_list(fleet_conn *c)
{
	while (c != NULL) {
		fleet_conn *next = c->next;

		fleet_conn_free(c);
		c = next;
	}
}

/* Closes, every quarter of the idle time, the connections idle for all of it. */
static void *sweep(void *arg)
{
	fleet_pool *p = arg;
	fleet_conn *old;

	rdms_thread_name("poolsweep");
	pthread_mutex_lock(&p->lock);
	while (!p->stop) {
		struct timespec until = mono_deadline(p->idle_ms / 4);

		if (pthread_cond_timedwait(&p->wake, &p->lock, &until) != ETIMEDOUT)
			continue;
		old = cut_older(&p->idle, mono_ms() - p->idle_ms, &p->nidle);
		pthread_mutex_unlock(&p->lock);
		free_list(old);      /* closing is I/O: not under the lock */
		pthread_mutex_lock(&p->lock);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

/* Unlinks and returns the oldest idle connection of P (locked); NULL when it has none. */
static fleet_conn *drop_oldest(fleet_pool *p)
{
	fleet_conn **at = &p->idle, *c;

	if (*at == NULL)
		return NULL;
	while ((*at)->next != NULL)
		at = &(*at)->next;
	c = *at;
	*at = NULL;
	p->nidle--;
	return c;
}

void fleet_pool_set_connect_timeout(fleet_pool *pool, long ms)
{
	if (ms > 0)
		pool->connect_ms = ms;
}

fleet_pool *fleet_pool_new(const fleet_identity *id, long idle_ms)
{
	fleet_pool *p = calloc(1, sizeof *p);
	pthread_condattr_t ca;

	if (p == NULL)
		return NULL;
	p->id = id;
	p->idle_ms = idle_ms > 0 ? idle_ms : FLEET_POOL_IDLE_MS;
	p->connect_ms = CONNECT_TIMEOUT_MS;
	p->max_idle = FLEET_POOL_MAX;
	pthread_mutex_init(&p->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&p->wake, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&p->sweeper, NULL, sweep, p) != 0) {
		pthread_cond_destroy(&p->wake);
		pthread_mutex_destroy(&p->lock);
		free(p);
		return NULL;
	}
	return p;
}

void fleet_pool_free(fleet_pool *p)
{
	if (p == NULL)
		return;
	pthread_mutex_lock(&p->lock);
	p->stop = true;
	pthread_cond_signal(&p->wake);
	pthread_mutex_unlock(&p->lock);
	pthread_join(p->sweeper, NULL);
	free_list(p->idle);
	pthread_cond_destroy(&p->wake);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

void fleet_pool_size_for(fleet_pool *p, size_t hosts)
{
	size_t max = hosts + FLEET_POOL_PER_HOST;
	fleet_conn *drop = NULL;

	if (max < FLEET_POOL_MAX)
		max = FLEET_POOL_MAX;
	if (max > FLEET_POOL_CEILING)
		max = FLEET_POOL_CEILING;
	pthread_mutex_lock(&p->lock);
	p->max_idle = max;
	while (p->nidle > p->max_idle) {       /* fewer hosts: the oldest go */
		fleet_conn *c = drop_oldest(p);

		if (c == NULL)
			break;
		c->next = drop;
		drop = c;
	}
	pthread_mutex_unlock(&p->lock);
	free_list(drop);
}

/* FIELD of P, read under its lock. */
static size_t read_locked(fleet_pool *p, const size_t *field)
{
	size_t n;

	pthread_mutex_lock(&p->lock);
	n = *field;
	pthread_mutex_unlock(&p->lock);
	return n;
}

size_t fleet_pool_max(fleet_pool *p)
{
	return read_locked(p, &p->max_idle);
}

size_t fleet_pool_idle(fleet_pool *p)
{
	return read_locked(p, &p->nidle);
}

static bool same_host(const fleet_conn *c, const char *url, const uint8_t pin[32])
{
	return strcmp(c->url, url) == 0 && memcmp(c->pin.sha256, pin, 32) == 0;
}

/* rdms_client_options.tls_setup: the broker's certificate, the host's pin, one connection kept. */
static bool conn_setup(void *h, void *ctx)
{
	fleet_conn *c = ctx;

	return fleet_tls_setup(h, c->id, &c->pin) &&
	       curl_easy_setopt(h, CURLOPT_MAXCONNECTS, 1L) == CURLE_OK;
}

fleet_conn *fleet_pool_take(fleet_pool *p, const char *url, const uint8_t pin[32],
                            bool fresh, long ack_ms, bool *pooled, rdms_error *err)
{
	fleet_conn *c = NULL;
	rdms_client_options o = { .url = url, .tls_setup = conn_setup,
	                          .connect_timeout_ms = p->connect_ms, .at_most_once = true,
	                          .ack_timeout_ms = ack_ms };

	*pooled = false;
	if (!fresh) {
		pthread_mutex_lock(&p->lock);
		for (fleet_conn **at = &p->idle; *at != NULL; at = &(*at)->next)
			if (same_host(*at, url, pin)) {
				c = *at;
				*at = c->next;
				p->nidle--;
				break;
			}
		pthread_mutex_unlock(&p->lock);
		if (c != NULL) {
			c->next = NULL;
			c->pin.mismatch = false;
			*pooled = true;
			return c;
		}
	}
	if ((c = calloc(1, sizeof *c)) == NULL || (c->url = strdup(url)) == NULL) {
		free(c);
		rdms_fail(err, WBEM_E_OUT_OF_MEMORY, "out of memory");
		return NULL;
	}
	c->id = p->id;
	memcpy(c->pin.sha256, pin, sizeof c->pin.sha256);
	o.tls_ctx = c;
	if ((c->client = rdms_client_new(&o, err)) == NULL) {
		fleet_conn_free(c);
		return NULL;
	}
	return c;
}

void fleet_pool_give(fleet_pool *p, fleet_conn *c)
{
	fleet_conn *drop = NULL;
	size_t same = 0;

	c->idle_since_ms = mono_ms();
	pthread_mutex_lock(&p->lock);
	for (fleet_conn *i = p->idle; i != NULL; i = i->next)
		same += same_host(i, c->url, c->pin.sha256);
	if (same < FLEET_POOL_PER_HOST) {
		c->next = p->idle;
		p->idle = c;
		p->nidle++;
		c = NULL;
	}
	if (p->nidle > p->max_idle)       /* the oldest goes */
		drop = drop_oldest(p);
	pthread_mutex_unlock(&p->lock);
	fleet_conn_free(c);
	fleet_conn_free(drop);
}
