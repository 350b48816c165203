/*
 * store.c -- the session directory's interface (store.h): argument checks
 * and the apply rules every store shares, then the implementation's call.
 */
#include "store_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

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

int64_t fleet_now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
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
	return st->vt->host_add(st, h, fleet_now_ms(), err);
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
	return st->vt->host_state(st, name, state, force, fleet_now_ms(), err);
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
	return st->vt->apply_batch(st, host, ch, n, fleet_now_ms(),
	                           version != NULL ? version : &ignored, err);
}

fleet_apply_rc fleet_store_apply_snapshot(fleet_store *st, const char *host, uint64_t at,
                                          const fleet_session *s, size_t n, rdms_error *err)
{
	if (!fleet_check_snapshot(host, at, s, n, err))
		return FLEET_REFUSED;
	return st->vt->apply_snapshot(st, host, at, s, n, fleet_now_ms(), err);
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
