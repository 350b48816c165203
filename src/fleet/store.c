/*
 * store.c -- the session directory's interface (store.h): argument checks
 * and the apply rules every store shares, then the implementation's call.
 */
#include "store_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "../common/strutil.h"
#include "../common/walltime.h"

uint64_t fleet_version(uint64_t epoch, uint64_t seq)
{
	if (epoch == 0 || epoch > FLEET_EPOCH_MAX || seq > FLEET_SEQ_MAX)
		return 0;
	return epoch << FLEET_SEQ_BITS | seq;
}

uint64_t fleet_version_epoch(uint64_t v)
{
	return v >> FLEET_SEQ_BITS;
}

uint64_t fleet_version_seq(uint64_t v)
{
	return v & FLEET_SEQ_MAX;
}

const char *fleet_apply_name(fleet_apply_rc rc)
{
	switch (rc) {
	case FLEET_APPLIED:   return "applied";
	case FLEET_STALE:     return "stale";
	case FLEET_GAP:       return "gap";
	case FLEET_NEW_EPOCH: return "new epoch";
	case FLEET_REFUSED:   return "refused";
	case FLEET_FAILED:    return "failed";
	}
	return "?";
}

/* ---- the checks ------------------------------------------------------------- */

bool fleet_check_name(const char *name, rdms_error *err)
{
	size_t n = name != NULL ? strnlen(name, FLEET_NAME_MAX + 1) : 0;

	if (n == 0 || n > FLEET_NAME_MAX) {
		rdms_fail(err, WBEM_E_INVALID_PARAMETER, "a VMHostName of 1 to %d bytes is needed",
		          FLEET_NAME_MAX);
		return false;
	}
	return true;
}

/* A version an event or a snapshot may carry: a valid epoch and seq. */
static bool valid_version(uint64_t v)
{
	return v != 0 && fleet_version(fleet_version_epoch(v), fleet_version_seq(v)) == v;
}

static bool text_ok(const char *s)
{
	return s == NULL || strnlen(s, FLEET_TEXT_MAX + 1) <= FLEET_TEXT_MAX;
}

/* S belongs to HOST and its texts are within bounds; ERR names WHAT when not. */
static bool session_ok(const char *host, const fleet_session *s, const char *what,
                       rdms_error *err)
{
	if (s->host == NULL || strcmp(s->host, host) != 0) {
		rdms_fail(err, WBEM_E_INVALID_PARAMETER, "%s: session %" PRIu32 " of VMHostName "
		          "'%.80s' from host %.80s (a host speaks only for itself)", what, s->id,
		          s->host != NULL ? s->host : "(none)", host);
		return false;
	}
	if (!text_ok(s->vm_name) || !text_ok(s->user_name) || !text_ok(s->domain_name) ||
	    !text_ok(s->collection_id) || !text_ok(s->client_machine_name)) {
		rdms_fail(err, WBEM_E_INVALID_PARAMETER, "%s: session %" PRIu32 " has a text of "
		          "more than %d bytes", what, s->id, FLEET_TEXT_MAX);
		return false;
	}
	return true;
}

bool fleet_check_batch(const char *host, const fleet_change *ch, size_t n, rdms_error *err)
{
	if (!fleet_check_name(host, err))
		return false;
	for (size_t i = 0; i < n; i++) {
		char what[64];

		snprintf(what, sizeof what, "change %zu", i);
		if (!valid_version(ch[i].version) || fleet_version_seq(ch[i].version) == 0) {
			rdms_fail(err, WBEM_E_INVALID_PARAMETER, "%s: position %" PRIu64 " is not an "
			          "event's", what, ch[i].version);
			return false;
		}
		if (i > 0 && ch[i].version <= ch[i - 1].version) {
			rdms_fail(err, WBEM_E_INVALID_PARAMETER, "%s: positions out of order "
			          "(%" PRIu64 ":%" PRIu64 " after %" PRIu64 ":%" PRIu64 ")", what,
			          fleet_version_epoch(ch[i].version), fleet_version_seq(ch[i].version),
			          fleet_version_epoch(ch[i - 1].version),
			          fleet_version_seq(ch[i - 1].version));
			return false;
		}
		if (ch[i].kind != FLEET_UPSERT && ch[i].kind != FLEET_DELETE) {
			rdms_fail(err, WBEM_E_INVALID_PARAMETER, "%s: unknown kind %u", what,
			          (unsigned)ch[i].kind);
			return false;
		}
		if (!session_ok(host, &ch[i].s, what, err))
			return false;
	}
	return true;
}

bool fleet_check_snapshot(const char *host, uint64_t at, const fleet_session *s, size_t n,
                          rdms_error *err)
{
	if (!fleet_check_name(host, err))
		return false;
	if (!valid_version(at)) {
		rdms_fail(err, WBEM_E_INVALID_PARAMETER, "snapshot position %" PRIu64 " is not one",
		          at);
		return false;
	}
	for (size_t i = 0; i < n; i++)
		if (!session_ok(host, &s[i], "snapshot", err))
			return false;
	return true;
}

/*
 * Nothing is applied across what the broker cannot vouch for: a gap in
 * the same epoch (events it never saw), a new epoch (it cannot tell
 * whether it saw the old epoch's last event), or a host it never synced
 * (no state to apply changes to).  Each needs a snapshot instead.
 */
fleet_apply_rc fleet_plan_batch(uint64_t version, int state, const fleet_change *ch, size_t n,
                                size_t *first, rdms_error *err)
{
	size_t i = 0;

	if (state == FLEET_INVALID) {
		rdms_fail(err, WBEM_E_ACCESS_DENIED, "the host is marked invalid");
		return FLEET_REFUSED;
	}
	while (i < n && ch[i].version <= version)
		i++;
	*first = i;
	if (i == n)
		return FLEET_STALE;
	if (version == 0) {
		rdms_fail(err, WBEM_E_INVALID_OPERATION, "the host was never synced");
		return FLEET_GAP;
	}
	for (size_t k = i; k < n; k++) {
		uint64_t before = k == i ? version : ch[k - 1].version;

		if (fleet_version_epoch(ch[k].version) != fleet_version_epoch(before)) {
			rdms_fail(err, WBEM_E_INVALID_OPERATION, "epoch %" PRIu64 " after %" PRIu64
			          ": the host restarted", fleet_version_epoch(ch[k].version),
			          fleet_version_epoch(before));
			return FLEET_NEW_EPOCH;
		}
		if (ch[k].version != before + 1) {
			rdms_fail(err, WBEM_E_INVALID_OPERATION, "seq %" PRIu64 " after %" PRIu64
			          ": events missing", fleet_version_seq(ch[k].version),
			          fleet_version_seq(before));
			return FLEET_GAP;
		}
	}
	return FLEET_APPLIED;
}

/* ---- the interface --------------------------------------------------------- */

fleet_store *fleet_store_open(const char *store, const char *where, fleet_open_mode mode,
                              rdms_error *err)
{
	if (strcmp(store, "sqlite") == 0)
		return mode == FLEET_OPEN_BROKER ? fleet_store_open_sqlite(where, err)
		       : fleet_store_open_sqlite_admin(where, err);
	if (strcmp(store, "postgresql") != 0) {
		rdms_fail(err, WBEM_E_INVALID_PARAMETER, "store '%.40s' is not sqlite or postgresql",
		          store);
		return NULL;
	}
	/* libpq's defaults would pick some database: better to say which is meant */
	if (where == NULL || where[0] == '\0') {
		rdms_fail(err, WBEM_E_INVALID_PARAMETER, "store = postgresql needs store_dsn, a libpq "
		          "connection string (e.g. \"host=/run/postgresql dbname=rdms\")");
		return NULL;
	}
	return fleet_store_open_postgresql(where, mode, err);
}

const char *fleet_store_describe(fleet_store *st)
{
	return st->vt->describe(st);
}

void fleet_store_close(fleet_store *st)
{
	if (st != NULL)
		st->vt->close(st);
}

uint32_t fleet_store_host_add(fleet_store *st, const fleet_host *h, rdms_error *err)
{
	size_t url = strnlen(h->url, sizeof h->url);

	if (!fleet_check_name(h->name, err))
		return err->code;
	if (url == 0 || url > FLEET_URL_MAX)
		return rdms_fail(err, WBEM_E_INVALID_PARAMETER, "host %s: a URL of 1 to %d bytes is "
		                 "needed", h->name, FLEET_URL_MAX);
	return st->vt->host_add(st, h, wall_ms(), err);
}

uint32_t fleet_store_host_remove(fleet_store *st, const char *name, rdms_error *err)
{
	if (!fleet_check_name(name, err))
		return err->code;
	return st->vt->host_remove(st, name, err);
}

uint32_t fleet_store_host_get(fleet_store *st, const char *name, fleet_host *out,
                              rdms_error *err)
{
	if (!fleet_check_name(name, err))
		return err->code;
	return st->vt->host_get(st, name, out, err);
}

uint32_t fleet_store_hosts(fleet_store *st, fleet_host_fn fn, void *ctx, rdms_error *err)
{
	return st->vt->hosts(st, fn, ctx, err);
}

uint32_t fleet_store_host_state(fleet_store *st, const char *name, int state, bool force,
                                rdms_error *err)
{
	if (!fleet_check_name(name, err))
		return err->code;
	if (state != FLEET_UNKNOWN && state != FLEET_RUNNING && state != FLEET_INVALID)
		return rdms_fail(err, WBEM_E_INVALID_PARAMETER, "ServerState %d is not 1, 3 or 8",
		                 state);
	return st->vt->host_state(st, name, state, force, wall_ms(), err);
}

uint32_t fleet_host_unchanged(fleet_store *st, const char *name, bool force, rdms_error *err)
{
	fleet_host h;
	uint32_t rc = st->vt->host_get(st, name, &h, err);

	if (rc == WBEM_S_NO_ERROR && h.state == FLEET_INVALID && !force)
		rc = rdms_fail(err, WBEM_E_ACCESS_DENIED, "host %s is marked invalid", name);
	return rc;
}

uint32_t fleet_store_host_reset(fleet_store *st, const char *name, rdms_error *err)
{
	if (!fleet_check_name(name, err))
		return err->code;
	return st->vt->host_reset(st, name, err);
}

fleet_apply_rc fleet_store_apply_batch(fleet_store *st, const char *host,
                                       const fleet_change *ch, size_t n, uint64_t *version,
                                       rdms_error *err)
{
	uint64_t ignored;

	if (!fleet_check_batch(host, ch, n, err))
		return FLEET_REFUSED;
	return st->vt->apply_batch(st, host, ch, n, wall_ms(),
	                           version != NULL ? version : &ignored, err);
}

fleet_apply_rc fleet_store_apply_snapshot(fleet_store *st, const char *host, uint64_t at,
                                          const fleet_session *s, size_t n, rdms_error *err)
{
	if (!fleet_check_snapshot(host, at, s, n, err))
		return FLEET_REFUSED;
	return st->vt->apply_snapshot(st, host, at, s, n, wall_ms(), err);
}

uint32_t fleet_store_enumerate(fleet_store *st, const fleet_page *p, fleet_session_fn fn,
                               void *ctx, size_t *rows, rdms_error *err)
{
	size_t ignored;

	if (p->limit == 0 || p->limit > FLEET_PAGE_MAX)
		return rdms_fail(err, WBEM_E_INVALID_PARAMETER, "a page of 1 to %d rows", FLEET_PAGE_MAX);
	if (p->domain != NULL && p->user == NULL)
		return rdms_fail(err, WBEM_E_INVALID_PARAMETER, "a domain without a user");
	return st->vt->enumerate(st, p, fn, ctx, rows != NULL ? rows : &ignored, err);
}

uint32_t fleet_store_get(fleet_store *st, const char *host, uint32_t id, fleet_session_fn fn,
                         void *ctx, rdms_error *err)
{
	if (!fleet_check_name(host, err))
		return err->code;
	return st->vt->get(st, host, id, fn, ctx, err);
}

bool fleet_store_changed_elsewhere(fleet_store *st)
{
	return st->vt->changed_elsewhere != NULL && st->vt->changed_elsewhere(st);
}

uint32_t fleet_store_secret(fleet_store *st, const char *name, uint8_t out[FLEET_SECRET_BYTES],
                            rdms_error *err)
{
	uint8_t fresh[FLEET_SECRET_BYTES];
	size_t n = name != NULL ? strnlen(name, 64) : 0;
	uint32_t rc;

	if (n == 0 || n > 63)
		return rdms_fail(err, WBEM_E_INVALID_PARAMETER, "a secret's name of 1 to 63 bytes");
	if (getrandom(fresh, sizeof fresh, 0) != (ssize_t)sizeof fresh)
		return rdms_fail(err, WBEM_E_FAILED, "no random bytes for a new secret");
	rc = st->vt->secret(st, name, fresh, out, err);
	memset(fresh, 0, sizeof fresh);
	return rc;
}

/* ---- brokers' leases ------------------------------------------------------------ */

static bool holder_ok(const char *holder, rdms_error *err)
{
	size_t n = holder != NULL ? strnlen(holder, FLEET_HOLDER_MAX + 1) : 0;

	if (n == 0 || n > FLEET_HOLDER_MAX) {
		rdms_fail(err, WBEM_E_INVALID_PARAMETER, "a lease holder of 1 to %d bytes is needed",
		          FLEET_HOLDER_MAX);
		return false;
	}
	return true;
}

/*
 * Read, decide, compare-and-set: a second process claiming at the same
 * time changes the row under the first's EXPECT, whose set then takes
 * nothing, and the first reads again (and finds the second's live lease).
 */
uint32_t fleet_store_broker_claim(fleet_store *st, const char *name, const char *holder,
                                  bool (*dead)(const char *holder), rdms_error *err)
{
	if (!fleet_check_name(name, err) || !holder_ok(holder, err))
		return err->code;
	for (int attempt = 0; attempt < 3; attempt++) {
		char cur[FLEET_HOLDER_MAX + 1] = "";
		int64_t age_ms = 0;
		bool found = false, taken = false;
		uint32_t rc = st->vt->broker_get(st, name, &found, cur, &age_ms, wall_ms(), err);

		if (rc != WBEM_S_NO_ERROR)
			return rc;
		if (found && strcmp(cur, holder) != 0 && age_ms < FLEET_LEASE_MS &&
		    (dead == NULL || !dead(cur)))
			return rdms_fail(err, WBEM_E_ALREADY_EXISTS, "broker name %s is in use on the "
			                 "session directory (%s) by %s, seen %" PRId64 " ms ago: one "
			                 "process per broker name (give this broker another "
			                 "broker_name, or stop that one; its lease expires %d s after "
			                 "it was last seen)", name, fleet_store_describe(st), cur,
			                 age_ms < 0 ? 0 : age_ms, FLEET_LEASE_MS / 1000);
		rc = st->vt->broker_take(st, name, holder, found ? cur : NULL, &taken, wall_ms(),
		                         err);
		if (rc != WBEM_S_NO_ERROR || taken)
			return rc;
	}
	return rdms_fail(err, WBEM_E_ALREADY_EXISTS, "broker name %s: other processes claim it at "
	                 "the same time", name);
}

static uint32_t beat(fleet_store *st, const char *name, const char *holder, bool drop,
                     int64_t *store_now_ms, rdms_error *err)
{
	bool held = false;
	int64_t now = wall_ms(), at = now;
	uint32_t rc;

	if (!fleet_check_name(name, err) || !holder_ok(holder, err))
		return err->code;
	rc = st->vt->broker_beat(st, name, holder, drop, &held, &at, now, err);
	if (store_now_ms != NULL)
		*store_now_ms = at;
	if (rc == WBEM_S_NO_ERROR && !held && !drop)
		rc = rdms_fail(err, WBEM_E_NOT_FOUND, "broker name %s is no longer held by %s on the "
		               "session directory (%s): another process took it over", name, holder,
		               fleet_store_describe(st));
	return rc;
}

uint32_t fleet_store_broker_beat(fleet_store *st, const char *name, const char *holder,
                                 int64_t *store_now_ms, rdms_error *err)
{
	return beat(st, name, holder, false, store_now_ms, err);
}

uint32_t fleet_store_broker_release(fleet_store *st, const char *name, const char *holder,
                                    rdms_error *err)
{
	return beat(st, name, holder, true, NULL, err);
}

/* ---- forwarded calls ------------------------------------------------------------- */

const char *fleet_call_state_name(int state)
{
	switch (state) {
	case FLEET_CALL_PENDING: return "pending";
	case FLEET_CALL_DONE:    return "done";
	case FLEET_CALL_REFUSED: return "refused";
	case FLEET_CALL_UNKNOWN: return "unknown";
	}
	return "?";
}

static bool text_within(const char *s, size_t max, bool needed)
{
	size_t n = s != NULL ? strnlen(s, max + 1) : 0;

	return n <= max && (!needed || n > 0);
}

static bool call_ok(const fleet_call *c, rdms_error *err)
{
	if (!text_within(c->caller, FLEET_NAME_MAX, true) ||
	    !text_within(c->message_id, FLEET_MID_MAX, true)) {
		rdms_fail(err, WBEM_E_INVALID_PARAMETER, "a call needs a caller of 1 to %d bytes and a "
		          "MessageID of 1 to %d", FLEET_NAME_MAX, FLEET_MID_MAX);
		return false;
	}
	return true;
}

uint32_t fleet_store_call_claim(fleet_store *st, const fleet_call *c, bool *claimed,
                                fleet_call_seen *first, rdms_error *err)
{
	bool found = false;
	uint32_t rc;

	*claimed = false;
	memset(first, 0, sizeof *first);
	if (!call_ok(c, err) || !fleet_check_name(c->broker, err) || !holder_ok(c->holder, err) ||
	    !fleet_check_name(c->host, err))
		return err->code;
	if (!text_within(c->method, FLEET_METHOD_MAX, true) ||
	    !text_within(c->source, FLEET_TEXT_MAX, false) ||
	    !text_within(c->protocol, FLEET_TEXT_MAX, false))
		return rdms_fail(err, WBEM_E_INVALID_PARAMETER, "a call's method, source or protocol "
		                 "is too long");
	rc = st->vt->call_claim(st, c, claimed, wall_ms(), err);
	if (rc != WBEM_S_NO_ERROR || *claimed)
		return rc;
	rc = st->vt->call_get(st, c->caller, c->message_id, &found, first, err);
	if (rc == WBEM_S_NO_ERROR && !found)      /* deleted between the two: no such store */
		rc = rdms_fail(err, WBEM_E_NOT_AVAILABLE, "call %s of %s vanished from the session "
		               "directory", c->message_id, c->caller);
	if (rc == WBEM_S_NO_ERROR && (strcmp(first->host, c->host) != 0 ||
	                              first->session_id != c->session_id ||
	                              strcmp(first->method, c->method) != 0))
		rc = rdms_fail(err, WBEM_E_INVALID_PARAMETER, "MessageID %s was used by %s for "
		               "another call (%s of session %" PRIu32 " on host %s); a new call needs "
		               "a new MessageID", c->message_id, c->caller, first->method,
		               first->session_id, first->host);
	return rc;
}

/* SRC into DST (SIZE bytes), cut at a character boundary when too long. */
static void cut_text(char *dst, size_t size, const char *src)
{
	size_t n;

	str_copy(dst, size, src != NULL ? src : "");
	n = strlen(dst);
	if (src != NULL && n < strlen(src) && n > 0) {
		size_t k = n - 1;
		unsigned char lead;
		size_t need;

		while (k > 0 && ((unsigned char)dst[k] & 0xC0) == 0x80)
			k--;
		lead = (unsigned char)dst[k];
		need = lead < 0x80 ? 1 : (lead >> 5) == 6 ? 2 : (lead >> 4) == 14 ? 3 : 4;
		if (k + need > n)
			dst[k] = '\0';      /* the last character did not fit whole */
	}
}

uint32_t fleet_store_call_finish(fleet_store *st, const fleet_call *c, rdms_error *err)
{
	char detail[FLEET_DETAIL_MAX + 1];
	fleet_call cut = *c;

	if (!call_ok(c, err) || !holder_ok(c->holder, err))
		return err->code;
	if (c->state != FLEET_CALL_DONE && c->state != FLEET_CALL_REFUSED &&
	    c->state != FLEET_CALL_UNKNOWN)
		return rdms_fail(err, WBEM_E_INVALID_PARAMETER, "a call's outcome is done, refused or "
		                 "unknown");
	cut_text(detail, sizeof detail, c->detail);
	cut.detail = detail;
	return st->vt->call_finish(st, &cut, wall_ms(), err);
}

uint32_t fleet_store_call_get(fleet_store *st, const char *caller, const char *message_id,
                              fleet_call_seen *out, rdms_error *err)
{
	fleet_call key = { .caller = caller, .message_id = message_id };
	bool found = false;
	uint32_t rc;

	memset(out, 0, sizeof *out);
	if (!call_ok(&key, err))
		return err->code;
	rc = st->vt->call_get(st, caller, message_id, &found, out, err);
	if (rc == WBEM_S_NO_ERROR && !found)
		rc = rdms_fail(err, WBEM_E_NOT_FOUND, "no call %s of %s", message_id, caller);
	return rc;
}

uint32_t fleet_store_calls_sweep(fleet_store *st, size_t *swept, rdms_error *err)
{
	size_t ignored;

	return st->vt->calls_sweep(st, FLEET_LEASE_MS, swept != NULL ? swept : &ignored,
	                           wall_ms(), err);
}

uint32_t fleet_store_calls_prune(fleet_store *st, int64_t keep_ms, size_t max, size_t *pruned,
                                 rdms_error *err)
{
	size_t ignored;

	if (pruned == NULL)
		pruned = &ignored;
	*pruned = 0;
	if (keep_ms < 0 || max == 0)
		return rdms_fail(err, WBEM_E_INVALID_PARAMETER, "calls kept for %" PRId64 " ms, "
		                 "at most %zu pruned: nothing to do", keep_ms, max);
	return st->vt->calls_prune(st, keep_ms, max, pruned, wall_ms(), err);
}
