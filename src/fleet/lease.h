/*
 * lease.h -- a fleet broker's hold on its name in the session directory
 * (store.h, "brokers"), its janitor, and its health.
 *
 * At start the broker claims its name for this process (its *holder*:
 * "pid PID on HOST since TICKS", the process's start time making a reused
 * pid another holder); a name whose lease is live elsewhere refuses the
 * start.  A lease whose holder is a process of this machine that is gone
 * is taken over at once, so a broker restarted after a crash need not wait
 * for it to expire.  Then a thread, every FLEET_BEAT_MS:
 *   refreshes the lease -- the broker is healthy while that succeeds, and
 *     unhealthy (Identify says so: the load balancer drains it) from the
 *     first time it fails until it succeeds again;
 *   records the outcomes of this broker's calls that the store did not
 *     take when they ended (fleet_lease_defer_outcome), once it answers;
 *   sweeps: the pending calls of brokers whose leases are gone become
 *     unknown (fleet_store_calls_sweep), so a dead broker's are said within
 *     FLEET_LEASE_MS + FLEET_BEAT_MS;
 *   prunes: about once a minute, the calls older than the time they are
 *     kept (fleet_store_calls_prune), FLEET_PRUNE_MAX at a time -- at each
 *     beat while there are more -- so that the directory does not grow
 *     with every call ever made, nor stall its writers for long.
 * A lease taken over by another process while this one could not reach
 * the directory ends this process (exit 1, logged): two processes never
 * serve one name.
 */
#ifndef RDMS_FLEET_LEASE_H
#define RDMS_FLEET_LEASE_H

#include <stdbool.h>
#include <stdint.h>

#include "store.h"

typedef struct fleet_lease fleet_lease;

/* This process as a lease holder into OUT. */
void fleet_holder_self(char out[FLEET_HOLDER_MAX + 1]);
/* True when HOLDER names a process of this machine that no longer runs. */
bool fleet_holder_dead(const char *holder);

/* The prunes (above): at most this many calls at a time, this often. */
#define FLEET_PRUNE_MAX      5000
#define FLEET_PRUNE_EVERY_MS (60 * 1000)

/*
 * Broker NAME's lease on ST (which must outlive it) for this process, kept
 * by a thread; the calls are kept KEEP_CALLS_MS (forward_keep_s), or for
 * ever when it is 0.  NULL with ERR (WBEM_E_ALREADY_EXISTS: held by a live
 * process elsewhere, named).
 */
fleet_lease *fleet_lease_start(fleet_store *st, const char *name, int64_t keep_calls_ms,
                               rdms_error *err);
/* Whether the directory answered the last refresh; when not, WHY (may be NULL) says why. */
bool fleet_lease_healthy(fleet_lease *l, rdms_error *why);
/*
 * The store's clock (Unix ms), as this machine's plus the difference the
 * last refresh measured: what times that other brokers judge are taken by
 * (enumeration contexts' expiry), so that a broker whose clock is wrong
 * issues none that another takes for expired, or for good too long.
 */
int64_t fleet_lease_now_ms(fleet_lease *l);
/*
 * Most outcomes L keeps for the store at once: each is a call that ended
 * while the store did not answer, so about a few seconds of calls.
 */
#define FLEET_DEFERRED_MAX 1024
/*
 * Keeps C's outcome, which the store did not take (it did not answer), for
 * L's thread to record when the store answers again -- else the call would
 * stay pending while this broker lives, since the janitor says unknown
 * only for brokers whose lease is gone.  False (nothing kept) when
 * FLEET_DEFERRED_MAX are kept already or out of memory: the call stays
 * pending until this broker stops and another's janitor says unknown.
 */
bool fleet_lease_defer_outcome(fleet_lease *l, const fleet_call *c);
/* The holder this lease names (for the calls this process claims). */
const char *fleet_lease_holder(const fleet_lease *l);
/* Stops the thread and gives the lease up (NULL: nothing). */
void fleet_lease_stop(fleet_lease *l);

#endif
