/*
 * store_internal.h -- what a store implementation provides (store.h), and
 * the rules every implementation shares (store.c): the checks of a host,
 * a batch and a snapshot, and what a batch does to a host at a version.
 * An implementation only reads and writes; it decides nothing.
 * NOW_MS, where a function takes it, is this machine's wall clock
 * (wall_ms, Unix ms): the clock of every time a SQLite store keeps.
 * PostgreSQL keeps the database's now() instead, the one clock all
 * brokers on it share.
 */
#ifndef RDMS_FLEET_STORE_INTERNAL_H
#define RDMS_FLEET_STORE_INTERNAL_H

#include "store.h"

typedef struct fleet_store_vtbl {
	void           (*close)(fleet_store *st);
	uint32_t       (*host_add)(fleet_store *st, const fleet_host *h, int64_t now_ms,
	                           rdms_error *err);
	uint32_t       (*host_remove)(fleet_store *st, const char *name, rdms_error *err);
	uint32_t       (*host_get)(fleet_store *st, const char *name, fleet_host *out,
	                           rdms_error *err);
	uint32_t       (*hosts)(fleet_store *st, fleet_host_fn fn, void *ctx, rdms_error *err);
	uint32_t       (*host_state)(fleet_store *st, const char *name, int state, bool force,
	                             int64_t now_ms, rdms_error *err);
	uint32_t       (*host_reset)(fleet_store *st, const char *name, rdms_error *err);
	/* checked already (fleet_check_batch); the implementation runs fleet_plan_batch */
	fleet_apply_rc (*apply_batch)(fleet_store *st, const char *host, const fleet_change *ch,
	                              size_t n, int64_t now_ms, uint64_t *version,
	                              rdms_error *err);
	fleet_apply_rc (*apply_snapshot)(fleet_store *st, const char *host, uint64_t at,
	                                 const fleet_session *s, size_t n, int64_t now_ms,
	                                 rdms_error *err);
	uint32_t       (*enumerate)(fleet_store *st, const fleet_page *p, fleet_session_fn fn,
	                            void *ctx, size_t *rows, rdms_error *err);
	uint32_t       (*get)(fleet_store *st, const char *host, uint32_t id, fleet_session_fn fn,
	                      void *ctx, rdms_error *err);
	bool           (*changed_elsewhere)(fleet_store *st);
	/* secret NAME into OUT, FRESH (random) stored as it first when there is none */
	uint32_t       (*secret)(fleet_store *st, const char *name,
	                         const uint8_t fresh[FLEET_SECRET_BYTES],
	                         uint8_t out[FLEET_SECRET_BYTES], rdms_error *err);
	const char    *(*describe)(fleet_store *st);
	/* broker NAME's lease: *FOUND, its HOLDER and *AGE_MS since it was refreshed */
	uint32_t       (*broker_get)(fleet_store *st, const char *name, bool *found,
	                             char holder[FLEET_HOLDER_MAX + 1], int64_t *age_ms,
	                             int64_t now_ms, rdms_error *err);
	/* the lease for HOLDER where none is (EXPECT NULL) or EXPECT holds it; *TAKEN */
	uint32_t       (*broker_take)(fleet_store *st, const char *name, const char *holder,
	                              const char *expect, bool *taken, int64_t now_ms,
	                              rdms_error *err);
	/* refreshed (*HELD; *STORE_NOW the store's clock then) or dropped (DROP) */
	uint32_t       (*broker_beat)(fleet_store *st, const char *name, const char *holder,
	                              bool drop, bool *held, int64_t *store_now, int64_t now_ms,
	                              rdms_error *err);
	/* C inserted as pending, or a refused one with C's key taken over; *CLAIMED */
	uint32_t       (*call_claim)(fleet_store *st, const fleet_call *c, bool *claimed,
	                             int64_t now_ms, rdms_error *err);
	uint32_t       (*call_get)(fleet_store *st, const char *caller, const char *message_id,
	                           bool *found, fleet_call_seen *out, rdms_error *err);
	/* C's outcome where C->holder claimed it and it is pending or unknown */
	uint32_t       (*call_finish)(fleet_store *st, const fleet_call *c, int64_t now_ms,
	                              rdms_error *err);
	uint32_t       (*calls_sweep)(fleet_store *st, int64_t lease_ms, size_t *swept,
	                              int64_t now_ms, rdms_error *err);
	/* at most MAX calls older than KEEP_MS and not pending deleted, the oldest first */
	uint32_t       (*calls_prune)(fleet_store *st, int64_t keep_ms, size_t max, size_t *pruned,
	                              int64_t now_ms, rdms_error *err);
} fleet_store_vtbl;

/* Every implementation's handle begins with this. */
struct fleet_store {
	const fleet_store_vtbl *vt;
};


/* A VMHostName a store accepts: 1 to FLEET_NAME_MAX bytes. */
bool fleet_check_name(const char *name, rdms_error *err);
/*
 * What a host_state that changed no row means: host NAME does not exist
 * (WBEM_E_NOT_FOUND), is invalid and was not FORCEd (WBEM_E_ACCESS_DENIED),
 * or was heard from within FLEET_CONTACT_MS (success: nothing to write).
 */
uint32_t fleet_host_unchanged(fleet_store *st, const char *name, bool force, rdms_error *err);

/*
 * The checks of a batch that need no host: positions valid and strictly
 * rising, kinds known, every session of HOST, texts within FLEET_TEXT_MAX.
 */
bool fleet_check_batch(const char *host, const fleet_change *ch, size_t n, rdms_error *err);

/* The same for a snapshot's sessions (SessionIds not repeated is the store's to check). */
bool fleet_check_snapshot(const char *host, uint64_t at, const fleet_session *s, size_t n,
                          rdms_error *err);

/*
 * What checked batch CH (N changes) does to a host at VERSION in STATE:
 * FLEET_APPLIED with *FIRST the index of the first change to apply (all
 * from there are new and follow each other), or why nothing is applied.
 */
fleet_apply_rc fleet_plan_batch(uint64_t version, int state, const fleet_change *ch, size_t n,
                                size_t *first, rdms_error *err);

#endif
