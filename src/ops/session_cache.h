/*
 * session_cache.h -- a short-lived snapshot of every back-end's sessions,
 * shared by rdmsd's request threads for what only reads them (Get,
 * Enumerate, queries).
 *
 * Reading the sessions is what a Get costs most: a scan of /proc and the
 * servers' state for xrdp and X2Go, and in rdmsd a round trip to the
 * privileged process.  A monitoring tool polling a host, or a fleet broker
 * asking for one session after another, would pay it on every request.
 * So reads may be answered from a snapshot at most session_cache_ms old
 * (rdmsd.conf(5); 0 turns it off).  Methods never are: an action reads its
 * session fresh (the owner decides the authorisation), and afterwards that
 * session, read fresh again, replaces its entry in the snapshot (or leaves
 * it, once logged off), so a read that follows an action through the same
 * rdmsd sees its effect without every session being read again.  Changes made elsewhere (a client that drops,
 * a new login) show within session_cache_ms.
 *
 * One thread refreshes at a time; readers meanwhile keep using the previous
 * snapshot unless it was invalidated.  That thread runs at a lower CPU
 * priority (nice 10), so that requests do not wait behind it.  A snapshot
 * stays alive while any reader holds it.  It stores sessions compactly (no
 * 570-byte rdms_session per entry) with an index by SessionId.
 */
#ifndef RDMS_SESSION_CACHE_H
#define RDMS_SESSION_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../backend/backend.h"
#include "../cim/wbem.h"
#include "../config/config.h"

typedef struct rdms_session_cache rdms_session_cache;
typedef struct rdms_snapshot rdms_snapshot;

/*
 * A cache of the NB back-ends in B, read with CFG (whose session_cache_ms
 * is the age limit); all three must outlive the cache.
 */
rdms_session_cache *rdms_session_cache_new(const rdms_config *cfg, const rdms_backend *const *b,
                                           size_t nb);
void rdms_session_cache_free(rdms_session_cache *c);

/* Sessions may have changed in ways not known: the next read takes a fresh snapshot. */
void rdms_session_cache_invalidate(rdms_session_cache *c);

/*
 * A method changed session ID of back-end B, which now reads as NOW (NULL:
 * it is gone): the snapshot is patched -- that session alone replaced,
 * removed, or added when it was missing -- instead of read anew, so the
 * next reads see the method's effect at no cost.  When there is no valid
 * snapshot (or no memory to patch one) the next read is fresh instead.
 */
void rdms_session_cache_update(rdms_session_cache *c, uint32_t id, const rdms_backend *b,
                               const rdms_session *now);

/*
 * A snapshot of the back-ends no older than session_cache_ms (or the one
 * being replaced while another thread refreshes), in *OUT with a reference
 * the caller releases.  Fails as the back-ends fail.
 */
uint32_t rdms_session_cache_get(rdms_session_cache *c, rdms_snapshot **out, rdms_error *err);
void rdms_snapshot_release(rdms_snapshot *s);

/*
 * True when rdms_session_cache_get() would answer now from a snapshot
 * (valid, and young or being refreshed behind), without reading the
 * back-ends on the caller's thread.  A hint: the answer may change at once.
 */
bool rdms_session_cache_ready(rdms_session_cache *c);

/* Hands each session of a walk to FN (rdms_backend_each over some back-ends, a request...). */
typedef uint32_t (*rdms_session_walk_fn)(void *ctx, rdms_session_fn fn, void *fn_ctx,
                                         rdms_error *err);
/*
 * A snapshot, outside any cache, of the sessions WALK(CTX) hands over, in
 * its order, in *OUT with a reference the caller releases.  Fails as the
 * walk fails.
 */
uint32_t rdms_snapshot_take(rdms_session_walk_fn walk, void *ctx, rdms_snapshot **out,
                           rdms_error *err);

size_t rdms_snapshot_count(const rdms_snapshot *s);
/* The owner of session I (for filtering before expanding it). */
uid_t rdms_snapshot_uid(const rdms_snapshot *s, size_t i);
/* Session I, in enumeration order, into OUT. */
void rdms_snapshot_at(const rdms_snapshot *s, size_t i, rdms_session *out);
/* The first session (in enumeration order) with SessionId ID; false when none. */
bool rdms_snapshot_find(const rdms_snapshot *s, uint32_t id, rdms_session *out);

#endif
