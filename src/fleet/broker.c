/*
 * broker.c -- the classes a fleet broker serves from its directory
 * (broker.h).
 */
#include "broker.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "../common/log.h"
#include "../common/strutil.h"
#include "../common/walltime.h"
#include "../schema/schema.h"
#include "../wsman/wsman_internal.h"
#include "forward.h"

#define PAGE_ROWS 1000

/* ---- Win32_VirtualDesktopSession ------------------------------------------- */

cim_instance *fleet_session_instance(const fleet_session *s)
{
	const char *text[RDMS_WIN32_VIRTUALDESKTOPSESSION_NPROPS] = { NULL };
	cim_instance *inst;

	text[RDMS_WIN32_VIRTUALDESKTOPSESSION_VMHOSTNAME] = s->host;
	text[RDMS_WIN32_VIRTUALDESKTOPSESSION_VMNAME] = s->vm_name;
	text[RDMS_WIN32_VIRTUALDESKTOPSESSION_USERNAME] = s->user_name;
	text[RDMS_WIN32_VIRTUALDESKTOPSESSION_DOMAINNAME] = s->domain_name;
	text[RDMS_WIN32_VIRTUALDESKTOPSESSION_COLLECTIONID] = s->collection_id;
	text[RDMS_WIN32_VIRTUALDESKTOPSESSION_CLIENTMACHINENAME] = s->client_machine_name;
	inst = cim_instance_new_packed(&rdms_class_Win32_VirtualDesktopSession, text);
	if (inst != NULL) {
		inst->values[RDMS_WIN32_VIRTUALDESKTOPSESSION_SESSIONID] = cim_u32(s->id);
		inst->values[RDMS_WIN32_VIRTUALDESKTOPSESSION_CONNECTSTATE] =
			cim_u32(s->connect_state);
	}
	return inst;
}

bool fleet_user_owns(const char *user, const char *user_name)
{
	return user_name != NULL && strcasecmp(user_name, user) == 0;
}

/* One page of a walk: each row to the caller's FN, and where the next page starts. */
struct walk {
	rdms_instance_fn fn;
	void            *ctx;
	rdms_error      *err;
	uint32_t         rc;
	char             last_host[FLEET_NAME_MAX + 1];
	uint32_t         last_id;
	size_t           left;      /* of this page, for the reply's size estimate */
};

static int walk_row(void *ctx, const fleet_session *s)
{
	struct walk *w = ctx;
	cim_instance *inst = fleet_session_instance(s);

	str_copy(w->last_host, sizeof w->last_host, s->host);
	w->last_id = s->id;
	w->rc = inst != NULL ? w->fn(w->ctx, inst, w->left > 0 ? w->left-- : 1, w->err)
	                     : rdms_fail(w->err, WBEM_E_OUT_OF_MEMORY, "out of memory");
	return w->rc != WBEM_S_NO_ERROR;
}

/*
 * The page WHO may read with what MATCH requires pushed down (spec/fleet.md
 * 3.6): each `Prop = literal` the query needs on every path to acceptance
 * (wql_required_equal) on UserName, VMHostName, SessionId or ConnectState
 * becomes the store's equality, compared as WQL compares (ASCII-folded
 * strings).  Anything else is left to the evaluator, which runs on every
 * row read all the same, so a pushdown can only narrow, never be wrong.
 * A caller who is not an admin reads their own sessions only; a query
 * for someone else's UserName then reads nothing (*NONE).
 */
bool fleet_session_page(const rdms_caller *who, const wql_query *match, fleet_page *page,
                        bool *none)
{
	cim_value v;

	*none = false;
	page->user = who->is_admin ? NULL : who->user;
	if (match == NULL || wql_class(match) != &rdms_class_Win32_VirtualDesktopSession)
		return page->user != NULL;
	if (wql_required_equal(match, RDMS_WIN32_VIRTUALDESKTOPSESSION_USERNAME, &v)) {
		if (page->user != NULL && strcasecmp(page->user, v.u.str) != 0)
			*none = true;
		page->user = v.u.str;
	}
	if (wql_required_equal(match, RDMS_WIN32_VIRTUALDESKTOPSESSION_VMHOSTNAME, &v))
		page->host = v.u.str;
	if (wql_required_equal(match, RDMS_WIN32_VIRTUALDESKTOPSESSION_SESSIONID, &v)) {
		page->by_id = true;
		page->id = v.u.u32;
	}
	if (wql_required_equal(match, RDMS_WIN32_VIRTUALDESKTOPSESSION_CONNECTSTATE, &v)) {
		page->by_state = true;
		page->state = v.u.u32;
	}
	return page->user != NULL || page->host != NULL || page->by_id || page->by_state;
}

static uint32_t sessions_page(rdms_provider *p, const rdms_caller *who, const wql_query *match,
                              const rdms_key *after, size_t limit, rdms_instance_fn fn,
                              void *ctx, size_t *rows, rdms_error *err)
{
	fleet_broker *b = p->fleet;
	struct walk w = { .fn = fn, .ctx = ctx, .err = err, .left = limit };
	fleet_page page = { .limit = limit };
	bool none;
	uint32_t rc;

	*rows = 0;
	fleet_session_page(who, match, &page, &none);
	if (none)
		return WBEM_S_NO_ERROR;
	if (after != NULL) {
		page.after_host = after->text;
		page.after_id = after->num;
	}
	rc = fleet_store_enumerate(b->store, &page, walk_row, &w, rows, err);
	return rc != WBEM_S_NO_ERROR ? rc : w.rc;
}

/* Every session WHO may see, page after page (what the pages list, in their order). */
static uint32_t sessions_each(rdms_provider *p, const rdms_caller *who, rdms_instance_fn fn,
                              void *ctx, rdms_error *err)
{
	fleet_broker *b = p->fleet;
	struct walk w = { .fn = fn, .ctx = ctx, .err = err };
	fleet_page page = { .limit = PAGE_ROWS, .user = who->is_admin ? NULL : who->user };
	char after[FLEET_NAME_MAX + 1];
	size_t rows;
	uint32_t rc;

	do {
		w.left = PAGE_ROWS;
		rows = 0;
		rc = fleet_store_enumerate(b->store, &page, walk_row, &w, &rows, err);
		if (rc == WBEM_S_NO_ERROR)
			rc = w.rc;
		/* a copy: the walk writes LAST_HOST while the next page is read */
		str_copy(after, sizeof after, w.last_host);
		page.after_host = after;
		page.after_id = w.last_id;
	} while (rc == WBEM_S_NO_ERROR && rows == PAGE_ROWS);
	return rc;
}

/* The session a Get or a method names: its keys bound, its row's instance found. */
struct found {
	cim_instance *inst;
};

static int found_row(void *ctx, const fleet_session *s)
{
	struct found *f = ctx;

	f->inst = fleet_session_instance(s);
	return 0;
}

/*
 * The session PATH names, for WHO (VERB and TARGET for the audit): *OUT,
 * or WBEM_E_NOT_FOUND (an admin), or WBEM_E_ACCESS_DENIED for anyone else
 * whose session it is not (or that does not exist: existence is not told),
 * audited with what was true.
 */
static uint32_t find_session(rdms_provider *p, const rdms_caller *who, const cim_path *path,
                             const char *verb, const char *target, cim_instance **out,
                             rdms_error *err)
{
	fleet_broker *b = p->fleet;
	cim_value keys[2] = { cim_null(CIM_TYPE_STRING), cim_null(CIM_TYPE_UINT32) };
	struct found f = { NULL };
	rdms_error truth = { 0 };
	const char *owner;
	uint32_t rc = cim_path_bind(path, rdms_session_class(), keys, err);

	*out = NULL;
	if (rc != WBEM_S_NO_ERROR)
		return rc;
	rc = fleet_store_get(b->store, keys[0].u.str, keys[1].u.u32, found_row, &f, err);
	if (rc == WBEM_S_NO_ERROR && f.inst == NULL)
		rc = rdms_fail(err, WBEM_E_OUT_OF_MEMORY, "out of memory");
	if (rc == WBEM_E_NOT_FOUND)
		rc = rdms_fail(err, WBEM_E_NOT_FOUND, "no session %u on host %s",
		               (unsigned)keys[1].u.u32, keys[0].u.str);
	owner = f.inst != NULL ? f.inst->values[RDMS_WIN32_VIRTUALDESKTOPSESSION_USERNAME].u.str
	                       : NULL;
	if (!who->is_admin && (rc == WBEM_E_NOT_FOUND ||
	                       (rc == WBEM_S_NO_ERROR && !fleet_user_owns(who->user, owner)))) {
		if (rc == WBEM_S_NO_ERROR)
			rdms_fail(&truth, WBEM_E_ACCESS_DENIED, "session %u on host %s is %s's",
			          (unsigned)keys[1].u.u32, keys[0].u.str, owner ? owner : "nobody");
		else
			truth = *err;
		rc = rdms_fail(err, WBEM_E_ACCESS_DENIED, "%s may use their own sessions only, and "
		               "session %u on host %s is not one of them (%s)", who->user,
		               (unsigned)keys[1].u.u32, keys[0].u.str, truth.message);
		rdms_ops_audit(p, who, target, verb, rc, err);
		cim_instance_free(f.inst);
		f.inst = NULL;
	}
	cim_value_clear(&keys[0]);
	cim_value_clear(&keys[1]);
	*out = f.inst;
	return rc;
}

static uint32_t sessions_get(rdms_provider *p, const rdms_caller *who, const cim_path *path,
                             cim_instance **out, rdms_error *err)
{
	char *target = cim_path_format(path);
	uint32_t rc = find_session(p, who, path, "Get", target != NULL ? target : "?", out, err);

	free(target);
	return rc;
}

/*
 * A retry of call C, whose MessageID FIRST had: its outcome again when it
 * is known, else "unknown" (WBEM_E_TIMED_OUT, as for a call sent and not
 * answered); never run a second time.
 */
static uint32_t first_outcome(const fleet_call *c, const fleet_call_seen *first, uint32_t *rv,
                              rdms_error *err)
{
	log_info("fleet: %s of session %u on %s by %s: MessageID %s was claimed before (by broker "
	         "%s, %s): not run again", c->method, (unsigned)c->session_id, c->host, c->caller,
	         c->message_id, first->broker, fleet_call_state_name(first->state));
	if (first->state != FLEET_CALL_DONE)
		return rdms_fail(err, WBEM_E_TIMED_OUT, "the call with MessageID %s went to host %s "
		                 "through broker %s before, and its outcome is %s: it is not run again",
		                 c->message_id, c->host, first->broker,
		                 first->state == FLEET_CALL_PENDING ? "not known yet" : "unknown");
	*rv = first->rv;
	if (first->hresult != WBEM_S_NO_ERROR)
		return rdms_fail(err, first->hresult, "%s", first->detail);
	if (first->rv != 0)
		rdms_fail(err, first->rv, "%s", first->detail);
	return WBEM_S_NO_ERROR;
}

/*
 * What became of forwarded call C (RC, RV, ERR: fleet_forward's), in the
 * directory: done when the host answered, refused when nothing was sent
 * (a retry may claim it again), unknown when it was sent and no answer came.
 */
static void record_outcome(fleet_broker *b, fleet_call *c, uint32_t rc, uint32_t rv,
                           const rdms_error *err)
{
	rdms_error failed = { 0 };

	c->state = rc == WBEM_E_TRANSPORT_FAILURE ? FLEET_CALL_REFUSED
	           : rc == WBEM_E_TIMED_OUT ? FLEET_CALL_UNKNOWN : FLEET_CALL_DONE;
	c->hresult = rc;
	c->rv = rv;
	c->detail = rc != WBEM_S_NO_ERROR || rv != 0 ? err->message : NULL;
	if (fleet_store_call_finish(b->store, c, &failed) == WBEM_S_NO_ERROR)
		return;
	if (b->lease != NULL && fleet_lease_defer_outcome(b->lease, c))
		log_warn("fleet: the outcome of %s MessageID %s (%s) is not recorded yet: %s; it "
		         "will be when the session directory answers", c->method, c->message_id,
		         fleet_call_state_name(c->state), failed.message);
	else
		log_warn("fleet: the outcome of %s MessageID %s (%s) is not recorded: %s; the "
		         "janitor will say unknown", c->method, c->message_id,
		         fleet_call_state_name(c->state), failed.message);
}

/*
 * Method M on the session PATH names: found and authorised here, audited
 * as pending, forwarded to its host, its outcome audited.
 */
static uint32_t sessions_invoke(rdms_provider *p, const rdms_caller *who, const cim_path *path,
                                const char *target, const cim_method *m,
                                const char *const *args, const rdms_message_options *mopt,
                                uint32_t *rv, rdms_error *err)
{
	fleet_broker *b = p->fleet;
	cim_instance *inst;
	fleet_host host;
	rdms_error pending;
	const char *name;
	uint32_t rc = find_session(p, who, path, m->name, target, &inst, err);

	*rv = WBEM_E_FAILED;
	if (rc == WBEM_E_ACCESS_DENIED)
		return rc;    /* audited as a refusal; nothing forwarded */
	if (rc != WBEM_S_NO_ERROR || inst == NULL) {
		if (rc == WBEM_S_NO_ERROR)
			rc = rdms_fail(err, WBEM_E_OUT_OF_MEMORY, "out of memory");
		rdms_ops_audit(p, who, target, m->name, rc, err);
		return rc;
	}
	name = inst->values[RDMS_WIN32_VIRTUALDESKTOPSESSION_VMHOSTNAME].u.str;
	rc = fleet_store_host_get(b->store, name, &host, err);
	if (rc == WBEM_S_NO_ERROR && host.state == FLEET_INVALID)
		rc = rdms_fail(err, WBEM_E_TRANSPORT_FAILURE, "host %s is refused (ServerState 8: "
		               "its identity does not match its registration); nothing was sent",
		               name);
	if (rc == WBEM_S_NO_ERROR) {
		char mid[WSMAN_MAX_ID_LEN + 1], self[FLEET_HOLDER_MAX + 1];
		rdms_caller caller = *who;
		fleet_call fc = {
			.caller = who->user, .broker = b->cfg->broker_name,
			.holder = self, .source = who->source,
			.protocol = who->protocol, .host = name,
			.session_id = inst->values[RDMS_WIN32_VIRTUALDESKTOPSESSION_SESSIONID].u.u32,
			.method = m->name,
		};
		fleet_call_seen first;
		bool claimed = false;

		if (who->message_id != NULL) {
			str_copy(mid, sizeof mid, who->message_id);
		} else {
			wsman_uuid(mid, sizeof mid);    /* a CIM-XML call has none */
			caller.message_id = mid;
		}
		fc.message_id = mid;
		if (b->lease != NULL)
			str_copy(self, sizeof self, fleet_lease_holder(b->lease));
		else
			fleet_holder_self(self);     /* a broker without a lease: tests */
		/* the MessageID claimed in the directory: a retry on any broker runs nothing twice */
		rc = fleet_store_call_claim(b->store, &fc, &claimed, &first, err);
		if (rc == WBEM_S_NO_ERROR && !claimed) {
			rc = first_outcome(&fc, &first, rv, err);
		} else if (rc == WBEM_S_NO_ERROR) {
			fleet_forward_call call = {
				.url = host.url, .pin = host.cert_sha256, .host = name,
				.session_id = fc.session_id, .m = m, .args = args, .mopt = mopt,
				.who = &caller, .broker = b->cfg->broker_name,
				.timeout_ms = (long)b->cfg->forward_timeout_s * 1000,
			};

			/* pending first, durable before anything is sent: a crash leaves it said */
			rdms_fail(&pending, WBEM_S_PENDING, "forwarding to host %s (%s)", name, host.url);
			rdms_ops_audit(p, who, target, m->name, WBEM_S_PENDING, &pending);
			rc = fleet_forward(b->pool, &call, rv, err);
			record_outcome(b, &fc, rc, *rv, err);
		}
	}
	rdms_ops_audit(p, who, target, m->name, rc != WBEM_S_NO_ERROR ? rc : *rv, err);
	cim_instance_free(inst);
	return rc;
}

static const rdms_class_provider broker_sessions = {
	.cls = &rdms_class_Win32_VirtualDesktopSession, .each = sessions_each,
	.get = sessions_get, .invoke = sessions_invoke,
	.page = sessions_page, .key_of = rdms_session_key,
};

/* ---- stateless enumeration contexts ------------------------------------------ */

bool fleet_broker_healthy(void *ctx, rdms_error *why)
{
	fleet_broker *b = ctx;

	return b->lease == NULL || fleet_lease_healthy(b->lease, why);
}

void fleet_ctx_mac(void *ctx, const void *data, size_t len, uint8_t out[32])
{
	const fleet_broker *b = ctx;
	unsigned int n = 32;

	if (HMAC(EVP_sha256(), b->ctx_key, sizeof b->ctx_key, data, len, out, &n) == NULL)
		memset(out, 0, 32);    /* no MAC: every context fails to verify */
}

int64_t fleet_ctx_clock(void *ctx)
{
	fleet_broker *b = ctx;

	return b->lease != NULL ? fleet_lease_now_ms(b->lease) : wall_ms();
}

uint32_t fleet_broker_contexts(fleet_broker *b, rdms_provider *p, rdms_error *err)
{
	uint32_t rc = fleet_store_secret(b->store, FLEET_CTX_SECRET, b->ctx_key, err);

	if (rc != WBEM_S_NO_ERROR)
		return rc;
	p->ctx_mac = fleet_ctx_mac;
	p->ctx_clock = fleet_ctx_clock;
	p->ctx_mac_ctx = b;
	return WBEM_S_NO_ERROR;
}

/* ---- Win32_RDSHServer: the hosts ------------------------------------------------ */

struct hosts_walk {
	const fleet_broker *b;
	rdms_instance_fn    fn;
	void               *ctx;
	rdms_error         *err;
	uint32_t            rc;
};

static int host_row(void *ctx, const fleet_host *h)
{
	struct hosts_walk *w = ctx;
	const char *text[RDMS_WIN32_RDSHSERVER_NPROPS] = { NULL };
	cim_instance *inst;

	text[RDMS_WIN32_RDSHSERVER_NAME] = h->name;
	text[RDMS_WIN32_RDSHSERVER_CONNECTIONBROKER] = w->b->cfg->broker_name;
	inst = cim_instance_new_packed(&rdms_class_Win32_RDSHServer, text);
	if (inst == NULL) {
		w->rc = rdms_fail(w->err, WBEM_E_OUT_OF_MEMORY, "out of memory");
		return 1;
	}
	inst->values[RDMS_WIN32_RDSHSERVER_SERVERSTATE] = cim_u32((uint32_t)h->state);
	w->rc = w->fn(w->ctx, inst, 1, w->err);
	return w->rc != WBEM_S_NO_ERROR;
}

static uint32_t servers_each(rdms_provider *p, const rdms_caller *who, rdms_instance_fn fn,
                             void *ctx, rdms_error *err)
{
	const fleet_broker *b = p->fleet;
	struct hosts_walk w = { b, fn, ctx, err, WBEM_S_NO_ERROR };
	uint32_t rc;

	(void)who;
	rc = fleet_store_hosts(b->store, host_row, &w, err);
	return rc != WBEM_S_NO_ERROR ? rc : w.rc;
}

static const rdms_class_provider broker_servers = {
	.cls = &rdms_class_Win32_RDSHServer, .each = servers_each,
};

/* The audit trail is the broker's own (its privileged process's, as on a host). */
const rdms_class_provider *const fleet_broker_classes[] = {
	&broker_sessions, &broker_servers, &rdms_audit_provider, NULL,
};
