/*
 * ops.c -- enumerate, get, query and invoke: the one operation layer.
 *
 * Every front end comes through here, so the rules live here once:
 *  - the namespace and class must be ours (WBEM_E_INVALID_NAMESPACE/CLASS);
 *  - sessions are read fresh from the back-ends for each operation, and an
 *    action is given the session from that fresh read; only reads (Get,
 *    Enumerate, queries) may come from the provider's session cache, in
 *    which an action that changes its session puts that session as it reads
 *    afterwards (session_cache.h);
 *  - authorisation: an admin (root or admin_group) sees and acts on every
 *    session, anyone else on sessions of their own uid only, and is told
 *    the same for every other session, existing or not (rdms_resolve());
 *  - every method call, refused or not, and every refused read goes to the
 *    audit hook before the result is returned; nothing is touched while a
 *    request is invalid.
 */
#include "ops.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../common/log.h"
#include "../schema/schema.h"
#include "provider.h"

const rdms_class_provider *rdms_op_class_provider(const rdms_provider *p, const char *ns,
                                                  const char *class_name, rdms_error *err)
{
	const cim_class *any = rdms_session_class();
	const rdms_class_provider *cp;

	if (ns != NULL && *ns != '\0' && !cim_namespace_equal(ns, any->namespace_)) {
		rdms_fail(err, WBEM_E_INVALID_NAMESPACE, "namespace %s is not served here (only %s)",
		          ns, any->namespace_);
		return NULL;
	}
	cp = class_name != NULL ? rdms_class_provider_find(p, class_name) : NULL;
	if (cp == NULL)
		rdms_fail(err, WBEM_E_INVALID_CLASS, "no class %s in namespace %s",
		          class_name ? class_name : "(none)", any->namespace_);
	return cp;
}

static bool may_see(const rdms_caller *who, const rdms_session *s)
{
	return who->is_admin || s->uid == who->uid;
}

/*
 * Visible sessions from the cache's snapshot, one at a time: no list.  For
 * a non-admin a first pass counts what they may see, so LEFT is exact.
 */
static uint32_t each_cached(rdms_provider *p, const rdms_caller *who, rdms_visible_fn fn,
                            void *ctx, rdms_error *err)
{
	rdms_snapshot *snap;
	size_t n, left;
	uint32_t rc = rdms_session_cache_get(p->cache, &snap, err);

	if (rc != WBEM_S_NO_ERROR)
		return rc;
	n = rdms_snapshot_count(snap);
	left = n;
	if (!who->is_admin) {
		left = 0;
		for (size_t i = 0; i < n; i++)
			left += rdms_snapshot_uid(snap, i) == who->uid;
	}
	for (size_t i = 0; rc == WBEM_S_NO_ERROR && i < n; i++) {
		rdms_session s;

		if (!who->is_admin && rdms_snapshot_uid(snap, i) != who->uid)
			continue;
		rdms_snapshot_at(snap, i, &s);
		rc = fn(ctx, &s, left--, err);
	}
	rdms_snapshot_release(snap);
	return rc;
}

/* rdms_visible_fn: appends S to the list CTX. */
static uint32_t add_to_list(void *ctx, const rdms_session *s, size_t left, rdms_error *err)
{
	rdms_session *slot = rdms_session_list_add(ctx);

	(void)left;
	if (slot == NULL)
		return rdms_fail(err, WBEM_E_OUT_OF_MEMORY, "out of memory");
	*slot = *s;
	return WBEM_S_NO_ERROR;
}

/*
 * The sessions WHO may see, appended to OUT: from the cache's snapshot, or
 * else the back-ends append straight to OUT, which is then filtered in
 * place (with 10,000 sessions of ~600 bytes each, a second list would copy
 * 6 MB more per request).  On failure OUT is left as it was given.
 */
uint32_t rdms_op_sessions(rdms_provider *p, const rdms_caller *who,
                          rdms_session_list *out, rdms_error *err)
{
	size_t start = out->count, keep;

	if (p->cache != NULL) {
		uint32_t rc = each_cached(p, who, add_to_list, out, err);

		if (rc != WBEM_S_NO_ERROR)
			out->count = start;
		return rc;
	}
	for (size_t i = 0; i < p->nbackends; i++) {
		uint32_t rc = p->backends[i]->enumerate(p->cfg, out, err);

		if (rc != WBEM_S_NO_ERROR) {
			out->count = start;
			return rc;
		}
	}
	keep = start;
	for (size_t i = start; i < out->count; i++) {
		if (!may_see(who, &out->items[i]))
			continue;
		if (keep != i)
			out->items[keep] = out->items[i];
		keep++;
	}
	out->count = keep;
	return WBEM_S_NO_ERROR;
}

uint32_t rdms_each_visible(rdms_provider *p, const rdms_caller *who, rdms_visible_fn fn,
                           void *ctx, rdms_error *err)
{
	rdms_session_list sl = { 0 };
	uint32_t rc;

	if (p->cache != NULL)
		return each_cached(p, who, fn, ctx, err);
	rc = rdms_op_sessions(p, who, &sl, err);
	for (size_t i = 0; rc == WBEM_S_NO_ERROR && i < sl.count; i++)
		rc = fn(ctx, &sl.items[i], sl.count - i, err);
	rdms_session_list_free(&sl);
	return rc;
}

/*
 * Fresh session ID from the first back-end that has it, in the order an
 * enumeration lists them.  A back-end with a find hook looks up that one
 * session (a Get must not cost a copy of every session); the others are
 * enumerated and searched.  WBEM_E_NOT_FOUND when no back-end has it.
 */
static uint32_t find_session(rdms_provider *p, uint32_t id, rdms_session *out,
                             rdms_error *err)
{
	for (size_t i = 0; i < p->nbackends; i++) {
		uint32_t rc = rdms_backend_lookup(p->backends[i], p->cfg, id, out, err);

		if (rc != WBEM_E_NOT_FOUND)
			return rc;
	}
	return WBEM_E_NOT_FOUND;
}

/* Session ID from the cache's snapshot; WBEM_E_NOT_FOUND when it has none. */
static uint32_t find_cached(rdms_provider *p, uint32_t id, rdms_session *out, rdms_error *err)
{
	rdms_snapshot *snap;
	uint32_t rc = rdms_session_cache_get(p->cache, &snap, err);

	if (rc != WBEM_S_NO_ERROR)
		return rc;
	rc = rdms_snapshot_find(snap, id, out) ? (uint32_t)WBEM_S_NO_ERROR
	                                       : (uint32_t)WBEM_E_NOT_FOUND;
	rdms_snapshot_release(snap);
	return rc;
}

/* What collect_instance needs: an optional filter and the list. */
struct collect {
	const wql_query   *q;
	cim_instance_list *out;
};

/* rdms_instance_fn: INST onto the list, when it matches the query. */
static uint32_t collect_instance(void *ctx, cim_instance *inst, size_t left, rdms_error *err)
{
	struct collect *c = ctx;

	(void)left;
	if (c->q != NULL && !wql_match(c->q, inst)) {
		cim_instance_free(inst);
		return WBEM_S_NO_ERROR;
	}
	if (!cim_instance_list_push(c->out, inst)) {
		cim_instance_free(inst);
		return rdms_fail(err, WBEM_E_OUT_OF_MEMORY, "out of memory");
	}
	return WBEM_S_NO_ERROR;
}

uint32_t rdms_op_enumerate(rdms_provider *p, const rdms_caller *who,
                           const char *ns, const char *class_name,
                           cim_instance_list *out, rdms_error *err)
{
	struct collect c = { NULL, out };
	const rdms_class_provider *cp = rdms_op_class_provider(p, ns, class_name, err);
	uint32_t rc = cp != NULL ? cp->each(p, who, collect_instance, &c, err) : err->code;

	if (rc != WBEM_S_NO_ERROR)
		cim_instance_list_free(out);
	return rc;
}

uint32_t rdms_op_enumerate_each(rdms_provider *p, const rdms_caller *who,
                                const char *ns, const char *class_name,
                                rdms_instance_fn fn, void *ctx, rdms_error *err)
{
	const rdms_class_provider *cp = rdms_op_class_provider(p, ns, class_name, err);

	return cp != NULL ? cp->each(p, who, fn, ctx, err) : err->code;
}

uint32_t rdms_op_query(rdms_provider *p, const rdms_caller *who,
                       const char *ns, const char *wql, wql_query **query,
                       cim_instance_list *out, rdms_error *err)
{
	wql_query *q = NULL;
	struct collect c = { NULL, out };
	const rdms_class_provider *cp = NULL;
	uint32_t rc;

	*query = NULL;
	rc = wql_parse(wql, rdms_schema_find, &q, err);
	if (rc == WBEM_S_NO_ERROR && (cp = rdms_op_class_provider(p, ns, wql_class(q)->name, err)) == NULL)
		rc = err->code;
	c.q = q;
	if (rc == WBEM_S_NO_ERROR && cp != NULL)
		rc = cp->each(p, who, collect_instance, &c, err);
	if (rc != WBEM_S_NO_ERROR) {
		cim_instance_list_free(out);
		wql_free(q);
		return rc;
	}
	*query = q;
	return WBEM_S_NO_ERROR;
}

uint32_t rdms_op_query_cursor(rdms_provider *p, const rdms_caller *who, const char *ns,
                              const char *wql, wql_query **query, rdms_cursor **out,
                              rdms_error *err)
{
	wql_query *q = NULL;
	uint32_t rc = wql_parse(wql, rdms_schema_find, &q, err);

	*query = NULL;
	*out = NULL;
	if (rc == WBEM_S_NO_ERROR)
		rc = rdms_op_cursor(p, who, ns, wql_class(q)->name, q, out, err);
	if (rc != WBEM_S_NO_ERROR) {
		wql_free(q);
		return rc;
	}
	*query = q;
	return WBEM_S_NO_ERROR;
}

/* The key of PATH named NAME, or NULL. */
static const cim_keybinding *path_key(const cim_path *path, const char *name)
{
	for (size_t i = 0; i < path->nkeys; i++)
		if (path->keys[i].name != NULL && strcasecmp(path->keys[i].name, name) == 0)
			return &path->keys[i];
	return NULL;
}

/*
 * A path that gives SessionId alone -- a bare id, as `rdms disconnect 773`
 * sends it -- names that session on this host: an id is unambiguous on one
 * host, and only the daemon knows the VMHostName it serves (interface.md).
 * For such a PATH, FULL becomes the path with this host's VMHostName added
 * (its keys in BOTH, borrowed from PATH and the config) and true is
 * returned; otherwise FULL is PATH.
 */
static bool add_host(const rdms_provider *p, const cim_path *path, cim_path *full,
                     cim_keybinding both[2])
{
	*full = *path;
	if (path->nkeys != 1 || path_key(path, "SessionId") == NULL)
		return false;
	both[0] = (cim_keybinding){ .name = (char *)"VMHostName",
	                            .value = { .type = CIM_TYPE_STRING,
	                                       .u.str = (char *)p->cfg->vm_host_name } };
	both[1] = path->keys[0];
	full->keys = both;
	full->nkeys = 2;
	return true;
}

/*
 * What the audit trail records as the target: TEXT as given (NULL: PATH's
 * text), or for a bare id the whole path, host included; *OWNED is what to
 * free.
 */
static const char *audit_target(const rdms_provider *p, const cim_path *path, const char *text,
                                char **owned)
{
	cim_keybinding both[2];
	cim_path full;

	*owned = NULL;
	if (add_host(p, path, &full, both))
		*owned = cim_path_format(&full);
	else if (text == NULL)
		*owned = cim_path_format(path);
	return *owned != NULL ? *owned : text != NULL ? text : "?";
}

/* The audit record of a refusal: what the caller was told, and what was true. */
static void audit_refusal(rdms_provider *p, const rdms_caller *who, const cim_path *path,
                          const char *verb, const char *text, const rdms_error *told,
                          const rdms_error *truth)
{
	rdms_error both;
	char *owned;

	rdms_fail(&both, told->code, "%s (%s)", told->message, truth->message);
	rdms_ops_audit(p, who, audit_target(p, path, text, &owned), verb, both.code, &both);
	free(owned);
}

/*
 * The keys of PATH, a path of session class CLS (a bare id taken as this
 * host's), into KEYS in class order: VMHostName, SessionId.
 */
static uint32_t session_keys(const rdms_provider *p, const cim_path *path, const cim_class *cls,
                             cim_value keys[2], rdms_error *err)
{
	cim_keybinding both[2];
	cim_path full;

	if (path->namespace_ != NULL && !cim_namespace_equal(path->namespace_, cls->namespace_))
		return rdms_fail(err, WBEM_E_INVALID_NAMESPACE,
		                 "namespace %s is not served here (only %s)",
		                 path->namespace_, cls->namespace_);
	if (path->class_name == NULL || strcasecmp(path->class_name, cls->name) != 0)
		return rdms_fail(err, WBEM_E_INVALID_CLASS, "no class %s in namespace %s",
		                 path->class_name ? path->class_name : "(none)", cls->namespace_);
	add_host(p, path, &full, both);
	return cim_path_bind(&full, cls, keys, err);
}

uint32_t rdms_resolve(rdms_provider *p, const rdms_caller *who, const cim_path *path,
                      const cim_class *cls, bool fresh, const char *verb, const char *text,
                      rdms_session *found, rdms_error *err)
{
	cim_value keys[2] = { cim_null(CIM_TYPE_STRING), cim_null(CIM_TYPE_UINT32) };
	rdms_session match;
	rdms_error truth = { 0 };
	const cim_value *host = &keys[0], *id = &keys[1];
	bool exists;
	uint32_t rc = session_keys(p, path, cls, keys, err);

	if (rc != WBEM_S_NO_ERROR)
		return rc;
	rc = WBEM_E_NOT_FOUND;
	if (strcasecmp(host->u.str, p->cfg->vm_host_name) == 0)
		rc = fresh || p->cache == NULL ? find_session(p, id->u.u32, &match, err)
		                               : find_cached(p, id->u.u32, &match, err);
	exists = rc == WBEM_S_NO_ERROR;
	if (rc == WBEM_E_NOT_FOUND)
		rc = rdms_fail(err, WBEM_E_NOT_FOUND, "no session %u on host %s",
		               (unsigned)id->u.u32, host->u.str);
	if (!who->is_admin && (rc == WBEM_E_NOT_FOUND || (exists && !may_see(who, &match)))) {
		if (exists)
			rdms_fail(&truth, WBEM_E_ACCESS_DENIED, "session %u on host %s is %s's",
			          (unsigned)id->u.u32, host->u.str, match.user);
		else
			truth = *err;
		rc = rdms_fail(err, WBEM_E_ACCESS_DENIED,
		               "%s may use their own sessions only, and session %u on host %s "
		               "is not one of them", who->user, (unsigned)id->u.u32, host->u.str);
		audit_refusal(p, who, path, verb, text, err, &truth);
	} else if (exists) {
		*found = match;
	}
	cim_value_clear(&keys[0]);
	cim_value_clear(&keys[1]);
	return rc;
}

/* What match_keys looks for (the keys of a path, in class order), and where it puts it. */
struct key_match {
	const cim_value *keys;
	size_t           nkeys;
	cim_instance    *found;
};

/* rdms_instance_fn: keeps the instance whose keys are those sought, and stops. */
static uint32_t match_keys(void *ctx, cim_instance *inst, size_t left, rdms_error *err)
{
	struct key_match *m = ctx;
	size_t k = 0;

	(void)left;
	(void)err;
	for (size_t i = 0; i < inst->cls->nprops && k < m->nkeys; i++) {
		const cim_value *v = &inst->values[i], *want = &m->keys[k];

		if (!inst->cls->props[i].is_key)
			continue;
		k++;
		if (v->is_null || (v->type == CIM_TYPE_STRING ? strcasecmp(v->u.str, want->u.str) != 0
		                                              : !cim_value_equal(v, want))) {
			cim_instance_free(inst);
			return WBEM_S_NO_ERROR;
		}
	}
	m->found = inst;
	return WBEM_S_FALSE;
}

/* The instance of CP's class whose keys PATH gives, among what CP lists. */
static uint32_t get_listed(rdms_provider *p, const rdms_caller *who,
                           const rdms_class_provider *cp, const cim_path *path,
                           cim_instance **out, rdms_error *err)
{
	cim_value keys[8];
	size_t nkeys = cim_class_nkeys(cp->cls);
	struct key_match m = { keys, nkeys, NULL };
	uint32_t rc;

	if (nkeys > sizeof keys / sizeof keys[0])
		return rdms_fail(err, WBEM_E_FAILED, "class %s has too many keys", cp->cls->name);
	for (size_t i = 0; i < nkeys; i++)
		keys[i] = cim_null(CIM_TYPE_NONE);
	rc = cim_path_bind(path, cp->cls, keys, err);
	if (rc == WBEM_S_NO_ERROR)
		rc = cp->each(p, who, match_keys, &m, err);
	if (rc == WBEM_S_FALSE)
		rc = WBEM_S_NO_ERROR;
	if (rc == WBEM_S_NO_ERROR && m.found == NULL) {
		char *text = cim_path_format(path);

		rc = rdms_fail(err, WBEM_E_NOT_FOUND, "no instance %s", text != NULL ? text : "");
		free(text);
	}
	for (size_t i = 0; i < nkeys; i++)
		cim_value_clear(&keys[i]);
	if (rc != WBEM_S_NO_ERROR)
		cim_instance_free(m.found);
	else
		*out = m.found;
	return rc;
}

uint32_t rdms_op_get(rdms_provider *p, const rdms_caller *who,
                     const cim_path *path, cim_instance **out, rdms_error *err)
{
	const rdms_class_provider *cp = rdms_op_class_provider(p, path->namespace_, path->class_name, err);

	*out = NULL;
	if (cp == NULL)
		return err->code;
	if (cp->get != NULL)
		return cp->get(p, who, path, out, err);
	return get_listed(p, who, cp, path, out, err);
}

/* Checks IN against M's [in] parameters; fills ARGS (by parameter order). */
static uint32_t check_params(const cim_method *m, const rdms_param *in, size_t nin,
                             const char **args, rdms_error *err)
{
	for (size_t i = 0; i < m->nparams; i++)
		args[i] = NULL;
	for (size_t i = 0; i < nin; i++) {
		const cim_parameter *par = cim_method_parameter(m, in[i].name);
		size_t idx;

		if (par == NULL || !par->is_in)
			return rdms_fail(err, WBEM_E_INVALID_METHOD_PARAMETERS,
			                 "%s has no input parameter %s", m->name, in[i].name);
		idx = (size_t)(par - m->params);
		if (args[idx] != NULL)
			return rdms_fail(err, WBEM_E_INVALID_METHOD_PARAMETERS,
			                 "parameter %s given twice", par->name);
		if (in[i].value.type != par->type)
			return rdms_fail(err, WBEM_E_TYPE_MISMATCH, "parameter %s is %s, not %s",
			                 par->name, cim_type_name(par->type),
			                 cim_type_name(in[i].value.type));
		if (in[i].value.is_null)
			return rdms_fail(err, WBEM_E_INVALID_PARAMETER,
			                 "parameter %s must not be NULL", par->name);
		args[idx] = in[i].value.u.str;
	}
	for (size_t i = 0; i < m->nparams; i++)
		if (m->params[i].is_in && args[i] == NULL)
			return rdms_fail(err, WBEM_E_INVALID_PARAMETER,
			                 "%s needs parameter %s", m->name, m->params[i].name);
	return WBEM_S_NO_ERROR;
}

/*
 * After method M ran (or failed) on S: the snapshot gets S as it is now --
 * read fresh, the one session -- or loses it once logged off.  SendMessage
 * changes nothing a session shows, so the snapshot stays as it is.
 */
static void cache_after(rdms_provider *p, const cim_method *m, const rdms_session *s)
{
	rdms_session now;
	rdms_error err = { 0 };
	uint32_t rc;

	if (p->cache == NULL ||
	    m - rdms_session_class()->methods == RDMS_WIN32_VIRTUALDESKTOPSESSION_METHOD_SENDMESSAGE)
		return;
	rc = rdms_backend_lookup(s->backend, p->cfg, s->id, &now, &err);
	/* (the same id in another back-end is another session: this one is gone) */
	if (rc == WBEM_S_NO_ERROR || rc == WBEM_E_NOT_FOUND)
		rdms_session_cache_update(p->cache, s->id, s->backend,
		                          rc == WBEM_S_NO_ERROR && now.backend == s->backend ? &now
		                                                                             : NULL);
	else
		rdms_session_cache_invalidate(p->cache);
}

static uint32_t run_method(rdms_provider *p, const cim_method *m, const rdms_session *s,
                           const char **args, const rdms_message_options *mopt,
                           rdms_error *err)
{
	const rdms_backend *b = s->backend;

	if (b == NULL)
		return rdms_fail(err, WBEM_E_PROVIDER_FAILURE, "session %u has no back-end",
		                 (unsigned)s->id);
	switch (m - rdms_session_class()->methods) {
	case RDMS_WIN32_VIRTUALDESKTOPSESSION_METHOD_DISCONNECT:
		return b->disconnect(p->cfg, s, err);
	case RDMS_WIN32_VIRTUALDESKTOPSESSION_METHOD_LOGOFF:
		return b->logoff(p->cfg, s, err);
	case RDMS_WIN32_VIRTUALDESKTOPSESSION_METHOD_SENDMESSAGE:
		/* SendMessage(Title, Message): arguments in MOF parameter order. */
		return b->send_message(p->cfg, s, args[0], args[1], mopt, err);
	}
	return rdms_fail(err, WBEM_E_METHOD_NOT_IMPLEMENTED, "%s is not implemented", m->name);
}

void rdms_ops_audit(rdms_provider *p, const rdms_caller *who, const char *target,
                    const char *method, uint32_t result, const rdms_error *err)
{
	rdms_audit_event ev = {
		.caller = who, .target = target, .method = method, .result = result,
		.detail = result != WBEM_S_NO_ERROR && err != NULL ? err->message : "",
	};

	if (p->audit != NULL && p->audit(p->audit_ctx, &ev) != 0)
		log_warn("audit record for %s on %s could not be written", method, target);
}

/* Everything that can be known wrong before a session is looked up. */
static uint32_t check_call(const cim_class *cls, const cim_method *m, const char *method,
                           const rdms_param *in, size_t nin, const rdms_message_options *mopt,
                           const char **args, size_t nargs, rdms_error *err)
{
	uint32_t rc;

	if (m == NULL)
		return rdms_fail(err, WBEM_E_INVALID_METHOD, "class %s has no method %s",
		                 cls->name, method);
	if (m->nparams > nargs)
		return rdms_fail(err, WBEM_E_INVALID_METHOD,
		                 "method %s has too many parameters", method);
	rc = check_params(m, in, nin, args, err);
	if (rc != WBEM_S_NO_ERROR)
		return rc;
	if (m - rdms_session_class()->methods != RDMS_WIN32_VIRTUALDESKTOPSESSION_METHOD_SENDMESSAGE)
		return rdms_message_options_given(mopt)
		       ? rdms_fail(err, WBEM_E_INVALID_PARAMETER, "%s and %s apply to SendMessage, "
		                   "not %s", RDMS_MESSAGE_OPT_TIMEOUT, RDMS_MESSAGE_OPT_WAIT, m->name)
		       : WBEM_S_NO_ERROR;
	/* check_params saw both [in] strings; the MOF order is Title, Message. */
	if (m->nparams != 2 || args[0] == NULL || args[1] == NULL)
		return rdms_fail(err, WBEM_E_INVALID_METHOD_PARAMETERS,
		                 "SendMessage takes Title and Message");
	return rdms_message_check(args[0], args[1], err);
}

/*
 * Method M on the session PATH names, in one step through P's act hook
 * (found fresh, acted on when the caller may, audited) -- rdmsd's network
 * process asks the privileged process once instead of three times.  True
 * when it ran (*RETURN_VALUE, ERR as run_method gives them); false when it
 * did nothing: no hook, a message that waits, a path naming no session
 * here, or no such session that the caller may use -- the step-by-step way
 * then finds out which and says it, refusals audited as ever.
 */
static bool act_at_once(rdms_provider *p, const rdms_caller *who, const cim_path *path,
                        const cim_method *m, const char **args,
                        const rdms_message_options *mopt, const char *target,
                        uint32_t *return_value, rdms_error *err)
{
	cim_value keys[2] = { cim_null(CIM_TYPE_STRING), cim_null(CIM_TYPE_UINT32) };
	unsigned method = (unsigned)(m - rdms_session_class()->methods);
	bool message = method == RDMS_WIN32_VIRTUALDESKTOPSESSION_METHOD_SENDMESSAGE;
	rdms_audit_event ev = { .caller = who, .target = target, .method = m->name };
	rdms_act_call call = { .method = method, .any_owner = who->is_admin, .owner = who->uid,
	                       .title = message ? args[0] : NULL,
	                       .text = message ? args[1] : NULL, .mopt = mopt, .ev = &ev };
	rdms_session acted = { 0 };
	rdms_act_after after = RDMS_ACT_UNREAD;
	rdms_error e = { 0 };
	bool here, audited = false;

	if (p->act == NULL || (mopt != NULL && mopt->wait) ||
	    session_keys(p, path, rdms_session_class(), keys, &e) != WBEM_S_NO_ERROR) {
		cim_value_clear(&keys[0]);
		cim_value_clear(&keys[1]);
		return false;
	}
	here = strcasecmp(keys[0].u.str, p->cfg->vm_host_name) == 0;
	call.id = keys[1].u.u32;
	cim_value_clear(&keys[0]);
	cim_value_clear(&keys[1]);
	if (!here || p->act(p->act_ctx, &call, return_value, &acted, &after, &audited, &e) !=
	                 WBEM_S_NO_ERROR)
		return false;
	*err = e;
	if (!audited)
		log_warn("audit record for %s on %s could not be written", m->name, target);
	if (after == RDMS_ACT_UNREAD)
		cache_after(p, m, &acted);
	else if (p->cache != NULL)   /* read again where it was acted on: no second round trip */
		rdms_session_cache_update(p->cache, acted.id, acted.backend,
		                          after == RDMS_ACT_READ ? &acted : NULL);
	return true;
}

uint32_t rdms_op_invoke(rdms_provider *p, const rdms_caller *who,
                        const cim_path *path, const char *path_text,
                        const char *method, const rdms_param *in, size_t nin,
                        uint32_t *return_value, rdms_error *err)
{
	return rdms_op_invoke_opts(p, who, path, path_text, method, in, nin, NULL, return_value,
	                           err);
}

uint32_t rdms_op_invoke_opts(rdms_provider *p, const rdms_caller *who,
                             const cim_path *path, const char *path_text,
                             const char *method, const rdms_param *in, size_t nin,
                             const rdms_message_options *mopt, uint32_t *return_value,
                             rdms_error *err)
{
	/* only the sessions have methods; another class's path is told so */
	const rdms_class_provider *cp =
		path->class_name != NULL ? rdms_class_provider_find(p, path->class_name) : NULL;
	const cim_class *cls = cp != NULL ? cp->cls : rdms_session_class();
	const cim_method *m = cim_class_method(cls, method);
	const char *args[8] = { NULL };
	rdms_session s = { 0 };
	char *owned;
	const char *target = audit_target(p, path, path_text, &owned);
	uint32_t rc;

	*return_value = WBEM_E_FAILED;
	rc = check_call(cls, m, method, in, nin, mopt, args, sizeof args / sizeof args[0], err);
	if (rc == WBEM_S_NO_ERROR && cp != NULL && cp->invoke != NULL) {
		rc = cp->invoke(p, who, path, target, m, args, mopt, return_value, err);
		free(owned);
		return rc;
	}
	if (rc == WBEM_S_NO_ERROR &&
	    act_at_once(p, who, path, m, args, mopt, target, return_value, err)) {
		free(owned);
		return WBEM_S_NO_ERROR;
	}
	if (rc == WBEM_S_NO_ERROR)
		rc = rdms_resolve(p, who, path, rdms_session_class(), true, m->name, path_text, &s,
		                  err);
	if (rc == WBEM_S_NO_ERROR) {
		*return_value = run_method(p, m, &s, args, mopt, err);
		cache_after(p, m, &s);
		rdms_ops_audit(p, who, target, m->name, *return_value, err);
	} else if (rc != WBEM_E_ACCESS_DENIED) {
		/* (a refusal, the only WBEM_E_ACCESS_DENIED here, rdms_resolve audited) */
		rdms_ops_audit(p, who, target, m != NULL ? m->name : method, rc, err);
	}
	free(owned);
	return rc;
}

uint32_t rdms_op_method_failure(const char *method, uint32_t rv, rdms_error *err)
{
	if (err->code != rv || err->message[0] == '\0')
		return rdms_fail(err, rv, "%s returned %s", method, wbem_name(rv));
	return rv;
}
