/*
 * forward_pool.h -- a broker's keep-alive connections to its hosts, for
 * forwarded methods (forward.h).
 *
 * A forwarded call takes a client from the pool (one whose connection an
 * earlier call to the same URL and pinned certificate left open), or a new
 * one, and gives it back when the host answered.  Each client is a libcurl
 * handle with a cache of one connection; a new connection is checked
 * against the pin in its handshake (host_tls.h), and a reused one was, when
 * it was made (TLS sessions are never resumed).  At most
 * FLEET_POOL_PER_HOST idle clients are kept per host, and in all
 * FLEET_POOL_MAX or, with more hosts registered (fleet_pool_size_for),
 * one per host and FLEET_POOL_PER_HOST more, up to FLEET_POOL_CEILING
 * (the oldest go first): with calls spread over 100 hosts a cap of 64
 * closed a connection for nearly every call, and the next call to its
 * host paid a new mutual-TLS handshake on both ends.  One idle for
 * FLEET_POOL_IDLE_MS is closed, before the host's own idle_timeout_s (60 s
 * by default) would close it.
 */
#ifndef RDMS_FLEET_FORWARD_POOL_H
#define RDMS_FLEET_FORWARD_POOL_H

#include <stdbool.h>
#include <stdint.h>

#include "../client/client.h"
#include "host_tls.h"

#define FLEET_POOL_PER_HOST 8        /* the broker's workers: 8 calls at once */
#define FLEET_POOL_MAX      64
/*
 * Idle connections whatever the host count: one costs the broker about
 * 65 KiB (its libcurl handle, OpenSSL connection and context; measured
 * with 100), so these are some 16 MiB at most.
 */
#define FLEET_POOL_CEILING  256
#define FLEET_POOL_IDLE_MS  20000

typedef struct fleet_pool fleet_pool;

/* One client of the pool, with the pin its TLS checks new connections against. */
typedef struct fleet_conn {
	struct fleet_conn    *next;
	rdms_client          *client;
	const fleet_identity *id;
	fleet_pin             pin;
	char                 *url;
	int64_t               idle_since_ms;    /* CLOCK_MONOTONIC (mono_ms), while in the pool */
} fleet_conn;

/*
 * A pool presenting ID (which must outlive it) with connections closed
 * after IDLE_MS idle (by a thread of its own); NULL when out of memory.
 */
fleet_pool *fleet_pool_new(const fleet_identity *id, long idle_ms);
/*
 * How long a new connection may take, TLS handshake included: 1 s
 * (spec/fleet.md 3.7) unless set here before the first call -- for a peer
 * known to be slow, such as the tests' under valgrind.
 */
void fleet_pool_set_connect_timeout(fleet_pool *pool, long ms);
/*
 * HOSTS are registered: up to HOSTS + FLEET_POOL_PER_HOST idle connections
 * are kept (at least FLEET_POOL_MAX, at most FLEET_POOL_CEILING).  Any thread.
 */
void fleet_pool_size_for(fleet_pool *pool, size_t hosts);
/* How many idle connections POOL keeps at most. */
size_t fleet_pool_max(fleet_pool *pool);
/* Closes every idle connection and frees POOL (none may be taken). */
void fleet_pool_free(fleet_pool *pool);

/*
 * A client for URL trusting only PIN (32 bytes): a pooled one (*POOLED
 * true) unless FRESH, else a new one; NULL with ERR set when one cannot be
 * made.  Set up with the forward's limits: a 1 s connect, a request never
 * sent twice, one the host's TCP has not acknowledged in ACK_MS given up.
 */
fleet_conn *fleet_pool_take(fleet_pool *pool, const char *url, const uint8_t pin[32],
                            bool fresh, long ack_ms, bool *pooled, rdms_error *err);
/* Puts C back for the next call to its host (its host answered its last request). */
void fleet_pool_give(fleet_pool *pool, fleet_conn *c);
/* Closes C's connection and frees it (its last request failed). */
void fleet_conn_free(fleet_conn *c);
/* How many idle connections POOL holds (for tests). */
size_t fleet_pool_idle(fleet_pool *pool);

#endif
