/*
 * wsman.c -- the WS-Management service: one request in, one reply out.
 *
 *   wsman_handle: size check -> wsman_parse (all request-level checks) ->
 *                 authentication check -> replay cache -> dispatch -> reply
 *
 * The dispatchers turn a parsed request into calls on the operation layer
 * (src/ops), which does authorisation, audit and the back-end work, and
 * turn the result or the WBEM code into a reply or a fault.  What needs the
 * class -- typing selectors and method arguments -- is checked here against
 * the generated schema table before the operation layer is called, so a
 * malformed request never reaches a back-end.
 *
 * Faults use the one error table (wbem_codes.def) for HRESULT, CIM status
 * and subcode; the few overrides are the ones protocols.md 1.7 gives
 * (e.g. "not found" through the DMTF URI form is InvalidSelectors).
 */
#include "wsman_internal.h"
#include "wsman_ctx.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <libxml/parser.h>

#include "../cim/path.h"
#include "../common/log.h"
#include "../common/walltime.h"
#include "../cimxml/cimxml_internal.h"
#include "../ops/provider.h"
#include "../schema/schema.h"

#define PUTS(b, s) strbuf_append((b), (s), sizeof(s) - 1)

#define REPLY_START 2048

/* Room left in an envelope for the enumeration wrapper around the items. */
#define ENUM_OVERHEAD 320

struct wsman_service {
	rdms_provider     *provider;
	const rdms_config *cfg;
	long               max_envelope;   /* default reply limit and request limit */
	char               machine[256];
	wsman_enum_table   enums;
	wsman_replay      *replay;
	wsman_events      *events;         /* NULL: session events are off */
	wsman_user_resolver resolve;       /* users a broker speaks for; NULL: none known */
	void              *resolve_ctx;
};

/* What one request's handler needs. */
typedef struct wsman_call {
	wsman_service     *s;
	const rdms_caller *who;
	const char        *owner;
	wsman_request     *r;
	size_t             limit;          /* reply size limit (MaxEnvelopeSize) */
	body_stream       *stream;         /* where a reply written while sent goes */
	const wsman_holder *holder;        /* how a Pull on a subscription is held (or NULL) */
	bool               held;           /* it was: no reply now */
	bool               positioned;     /* an enumeration's snapshot is at journal position AT */
	rdms_feed_pos      at;
	bool               stateless;      /* an enumeration with a sealed context: not replayed */
} wsman_call;

wsman_service *wsman_service_new(rdms_provider *p, const rdms_config *cfg)
{
	wsman_service *s = calloc(1, sizeof *s);

	if (s == NULL)
		return NULL;
	xmlInitParser();
	s->provider = p;
	s->cfg = cfg;
	s->max_envelope = cfg != NULL && cfg->max_envelope_size > 0 ? cfg->max_envelope_size
	                                                            : 153600;
	if (gethostname(s->machine, sizeof s->machine) != 0)
		strcpy(s->machine, "localhost");
	s->machine[sizeof s->machine - 1] = '\0';
	wsman_enum_init(&s->enums, cfg != NULL ? cfg->enumeration_timeout_s : 60);
	if (cfg != NULL && cfg->max_enumerations_per_user > 0)
		s->enums.per_user = (size_t)cfg->max_enumerations_per_user;
	s->replay = wsman_replay_new(1024, 16u << 20, 300);
	if (s->replay == NULL) {
		wsman_enum_destroy(&s->enums);
		free(s);
		return NULL;
	}
	return s;
}

void wsman_service_free(wsman_service *s)
{
	if (s == NULL)
		return;
	wsman_events_free(s->events);
	wsman_enum_destroy(&s->enums);
	wsman_replay_free(s->replay);
	free(s);
}

void wsman_service_users(wsman_service *s, wsman_user_resolver fn, void *ctx)
{
	s->resolve = fn;
	s->resolve_ctx = ctx;
}

bool wsman_service_events(wsman_service *s, const wsman_event_source *src)
{
	s->events = wsman_events_new(s->provider, s->cfg, src);
	return s->events != NULL;
}

/* ---- helpers ------------------------------------------------------------ */

static bool oom(wsman_fault *f)
{
	return wsman_fail(f, WBEM_E_OUT_OF_MEMORY, NULL, NULL, "out of memory");
}

/* A fault for a failure reported by the operation layer. */
static bool op_fault(const wsman_request *r, uint32_t code, const rdms_error *err,
                     wsman_fault *f)
{
	const wbem_code *wc = wbem_lookup(code);
	const char *sub = NULL, *detail = NULL;

	if (code == WBEM_E_NOT_FOUND && r->uri_kind == WSMAN_URI_DMTF)
		sub = "wsman:InvalidSelectors";     /* what the MI client expects (4.4) */
	else if (code == WBEM_E_INVALID_CLASS || code == WBEM_E_INVALID_NAMESPACE)
		detail = "InvalidResourceURI";
	else if (code == WBEM_E_INVALID_OBJECT_PATH)
		detail = "InvalidValue";
	return wsman_fail(f, code, sub, detail, "%s",
	                  err->message[0] != '\0' ? err->message
	                  : wc != NULL ? wc->text : "the operation failed");
}

static const cim_class *resolve_class(const wsman_request *r, const char *name,
                                      wsman_fault *f)
{
	const cim_class *cls = rdms_schema_find(name);

	if (cls == NULL) {
		wsman_fail(f, WBEM_E_INVALID_CLASS, NULL, "InvalidResourceURI",
		           "class %.100s does not exist in namespace %.100s", name, r->ns);
		return NULL;
	}
	if (!cim_namespace_equal(r->ns, cls->namespace_)) {
		wsman_fail(f, WBEM_E_INVALID_NAMESPACE, NULL, "InvalidResourceURI",
		           "namespace %.100s does not exist (class %s is in %s)", r->ns,
		           cls->name, cls->namespace_);
		return NULL;
	}
	return cls;
}

/*
 * The object path the selectors name: only keys, each value of the key's
 * type.  Which keys a path needs is the operation layer's to say (it
 * accepts SessionId alone, for a session on this host), so a selector set
 * that gives some keys goes there, which binds it (cim_path_bind) as it
 * does for every front end; one that gives none is refused here.
 */
static bool build_path(const wsman_request *r, const cim_class *cls, cim_path *path,
                       wsman_fault *f)
{
	rdms_error err = { 0 };

	for (size_t i = 0; i < r->nsel; i++) {
		const cim_property *p = cim_class_property(cls, r->sel[i].name, NULL);

		if (p == NULL || !p->is_key)
			return wsman_fail(f, WBEM_E_INVALID_OBJECT_PATH, "wsman:InvalidSelectors",
			                  "UnexpectedSelectors", "selector %.100s is not a key of %s",
			                  r->sel[i].name, cls->name);
	}
	if (r->nsel == 0)
		return wsman_fail(f, WBEM_E_INVALID_OBJECT_PATH, "wsman:InvalidSelectors",
		                  "InsufficientSelectors", "%s needs key selectors", cls->name);
	path->namespace_ = strdup(r->ns);
	path->class_name = strdup(cls->name);
	path->keys = calloc(r->nsel ? r->nsel : 1, sizeof *path->keys);
	if (path->namespace_ == NULL || path->class_name == NULL || path->keys == NULL)
		return oom(f);
	for (size_t i = 0; i < r->nsel; i++) {
		const cim_property *p = cim_class_property(cls, r->sel[i].name, NULL);
		cim_keybinding *kb = &path->keys[i];
		char what[160];

		kb->name = strdup(p->name);
		if (kb->name == NULL)
			return oom(f);
		path->nkeys = i + 1;
		str_join(what, sizeof what, "selector ", p->name);
		if (cim_value_parse(p->type, r->sel[i].value, what, &kb->value, &err) != 0)
			return wsman_fail(f, WBEM_E_INVALID_OBJECT_PATH, "wsman:InvalidSelectors",
			                  "TypeMismatch", "%s", err.message);
	}
	return true;
}

/* Finishes a successful reply: EncodingLimit when it outgrew the envelope. */
static bool finish(wsman_call *c, strbuf *b, wsman_fault *f)
{
	if (b->failed)
		return oom(f);
	if (b->len > c->limit)
		return wsman_fail(f, WBEM_E_TOO_MUCH_DATA, "wsman:EncodingLimit",
		                  "MaxEnvelopeSize",
		                  "the reply (%zu bytes) exceeds MaxEnvelopeSize (%zu bytes)",
		                  b->len, c->limit);
	return true;
}

static char *response_action(const char *action)
{
	size_t n = strlen(action);
	char *s = malloc(n + sizeof "Response");

	if (s != NULL) {
		memcpy(s, action, n);
		memcpy(s + n, "Response", sizeof "Response");
	}
	return s;
}

/*
 * A class definition is answered in CIM-XML (MS-WSMV 3.1.4.1.38, 3.1.4.2),
 * so the CIM-XML front end's writer serves both protocols.
 */
static void write_class(strbuf *b, const cim_class *cls)
{
	cimxml_write_class(b, cls, true, false, NULL);
}

/* ---- Get ---------------------------------------------------------------- */

static const char *selector(const wsman_request *r, const char *name)
{
	for (size_t i = 0; i < r->nsel; i++)
		if (strcasecmp(r->sel[i].name, name) == 0)
			return r->sel[i].value;
	return NULL;
}

/* Get-CimClass: the class as CIM-XML. */
static bool do_get_class(wsman_call *c, strbuf *b, wsman_fault *f)
{
	const wsman_request *r = c->r;
	const char *name = selector(r, "ClassName");
	const cim_class *cls;

	if (name == NULL)
		return wsman_fail(f, WBEM_E_INVALID_OBJECT_PATH, "wsman:InvalidSelectors",
		                  "InsufficientSelectors", "the ClassName selector is missing");
	if (r->nsel != 1)
		return wsman_fail(f, WBEM_E_INVALID_OBJECT_PATH, "wsman:InvalidSelectors",
		                  "UnexpectedSelectors",
		                  "a class request takes only __cimnamespace and ClassName");
	cls = resolve_class(r, name, f);
	if (cls == NULL)
		return false;
	wsman_write_head(b, ACTION_GET "Response", r->message_id);
	write_class(b, cls);
	wsman_write_tail(b);
	return finish(c, b, f);
}

static bool do_get(wsman_call *c, strbuf *b, wsman_fault *f)
{
	const wsman_request *r = c->r;
	const cim_class *cls;
	cim_path path = { 0 };
	cim_instance *inst = NULL;
	rdms_error err = { 0 };
	uint32_t code;
	bool ok = false;

	if (r->uri_kind == WSMAN_URI_CLASSDEF)
		return do_get_class(c, b, f);
	cls = resolve_class(r, r->class_name, f);
	if (cls == NULL)
		return false;
	if (!build_path(r, cls, &path, f))
		goto out;
	code = rdms_op_get(c->s->provider, c->who, &path, &inst, &err);
	if (code != 0 || inst == NULL) {
		op_fault(r, code != 0 ? code : WBEM_E_FAILED, &err, f);
		goto out;
	}
	wsman_write_head(b, ACTION_GET "Response", r->message_id);
	wsman_write_instance(b, inst, r->resource_uri, NULL);
	wsman_write_tail(b);
	ok = finish(c, b, f);
out:
	cim_instance_free(inst);
	cim_path_free(&path);
	return ok;
}

/* ---- Invoke ------------------------------------------------------------- */

static bool type_args(const wsman_request *r, const cim_method *m, rdms_param *params,
                      size_t *n, wsman_fault *f)
{
	rdms_error err = { 0 };

	for (size_t i = 0; i < r->nargs; i++) {
		const cim_parameter *p = cim_method_parameter(m, r->args[i].name);
		char what[160];

		if (p == NULL || !p->is_in)
			return wsman_fail(f, WBEM_E_INVALID_METHOD_PARAMETERS, "wsman:InvalidParameter",
			                  NULL, "%.100s is not an input parameter of %s",
			                  r->args[i].name, m->name);
		params[i].name = p->name;
		*n = i + 1;
		if (r->args[i].value == NULL) {
			params[i].value = cim_null(p->type);
			continue;
		}
		str_join(what, sizeof what, "parameter ", p->name);
		if (cim_value_parse(p->type, r->args[i].value, what, &params[i].value, &err) != 0) {
			params[i].value = cim_null(p->type);
			return wsman_fail(f, err.code ? err.code : WBEM_E_TYPE_MISMATCH,
			                  "wsman:InvalidParameter", NULL, "%s", err.message);
		}
	}
	return true;
}

static bool do_invoke(wsman_call *c, strbuf *b, wsman_fault *f)
{
	const wsman_request *r = c->r;
	const cim_class *cls;
	const cim_method *m;
	cim_path path = { 0 };
	rdms_param params[WSMAN_MAX_PARAMS];
	size_t nparams = 0;
	rdms_error err = { 0 };
	uint32_t code, rv = 0;
	char *path_text = NULL, *action = NULL;
	bool ok = false;

	cls = resolve_class(r, r->class_name, f);
	if (cls == NULL)
		return false;
	m = cim_class_method(cls, r->method);
	if (m == NULL)
		return wsman_fail(f, WBEM_E_INVALID_METHOD, "wsa:ActionNotSupported", NULL,
		                  "%.100s is not a method of %s", r->method, cls->name);
	if (!build_path(r, cls, &path, f) || !type_args(r, m, params, &nparams, f))
		goto out;
	path_text = cim_path_format(&path);
	action = response_action(r->action);
	if (path_text == NULL || action == NULL) {
		oom(f);
		goto out;
	}
	code = rdms_op_invoke_opts(c->s->provider, c->who, &path, path_text, m->name,
	                           params, nparams, &r->msg_opts, &rv, &err);
	if (code != 0) {
		op_fault(r, code, &err, f);
		goto out;
	}
	/* A method that ran and failed is no fault (protocols.md 1.5): its
	 * ReturnValue is in _OUTPUT, its reason in a header beside it. */
	if (rv != WBEM_S_NO_ERROR)
		rdms_op_method_failure(m->name, rv, &err);
	wsman_write_invoke_head(b, action, r->message_id,
	                        rv != WBEM_S_NO_ERROR ? err.message : NULL);
	PUTS(b, "<p:");
	strbuf_puts(b, m->name);
	PUTS(b, "_OUTPUT xmlns:p=\"");
	wsman_escape(b, r->resource_uri, true);
	PUTS(b, "\"><p:ReturnValue>");
	strbuf_printf(b, "%u", (unsigned)rv);
	PUTS(b, "</p:ReturnValue></p:");
	strbuf_puts(b, m->name);
	PUTS(b, "_OUTPUT>");
	wsman_write_tail(b);
	ok = finish(c, b, f);
out:
	for (size_t i = 0; i < nparams; i++)
		cim_value_clear(&params[i].value);
	free(path_text);
	free(action);
	cim_path_free(&path);
	return ok;
}

/* ---- Enumerate, Pull, Release ------------------------------------------- */

/* The items (classes or instances) X has still to give. */
static size_t ctx_left(const wsman_enum_ctx *x)
{
	if (x->classes != NULL)
		return x->nclasses - x->pos;
	return x->cur != NULL ? rdms_cursor_left(x->cur) : 0;
}

/* X's next instance into *INST (NULL at the end); false when out of memory. */
static bool next_instance(wsman_enum_ctx *x, cim_instance **inst)
{
	rdms_error err = { 0 };

	*inst = rdms_cursor_next(x->cur, &err);
	return *inst != NULL || err.code == WBEM_S_NO_ERROR;
}

/*
 * Appends the items of X from its position: at most MAX, and only as many
 * as fit in BUDGET bytes.  Returns how many were written; the instances
 * written go to TAKEN (the caller frees them, or gives them back to X's
 * cursor if the reply fails: untake).  Out of memory fails B.
 */
/* The most an item of X like INST asks of the reply at once (0 when unknown). */
static size_t item_room(const cim_instance *inst, const wsman_enum_ctx *x,
                        const wsman_render *rd)
{
	size_t one = inst != NULL && x->cur != NULL
	             ? wsman_item_bound(inst->cls, rdms_cursor_text_max(x->cur), rd) : SIZE_MAX;

	return one < SIZE_MAX / 4 ? one : 0;
}

static size_t render_items(strbuf *b, wsman_enum_ctx *x, size_t max, size_t budget,
                           cim_instance_list *taken)
{
	wsman_render rd = { x->uri, x->ns_selector, x->query, x->mode, x->classes == NULL };
	size_t start = b->len, n = 0;

	while (n < max && ctx_left(x) > 0 && !b->failed) {
		size_t before = b->len;
		cim_instance *inst = NULL;

		if (x->classes != NULL) {
			write_class(b, x->classes[x->pos]);
		} else if (!next_instance(x, &inst)) {
			b->failed = true;
			break;
		} else if (inst == NULL) {
			break;
		} else {
			wsman_write_item(b, inst, &rd);
		}
		if (!b->failed && b->len - start > budget) {
			b->len = before;
			b->data[before] = '\0';
			if (inst != NULL && !rdms_cursor_unget(x->cur, inst)) {
				cim_instance_free(inst);
				b->failed = true;
			}
			break;
		}
		if (inst != NULL && (b->failed || !cim_instance_list_push(taken, inst))) {
			if (!rdms_cursor_unget(x->cur, inst))
				cim_instance_free(inst);
			b->failed = true;
			break;
		}
		/* A reply of many items: room for them at once, not by doubling --
		 * and for the room the last one asks (its bound, wsman_item_bound):
		 * without it, a full reply of 500 KB doubled to 1 MB, copied, at its
		 * last item */
		if (++n == 1 && max > 1 && ctx_left(x) > 0)
			strbuf_expect(b, b->len - before, max - 1 < ctx_left(x) ? max - 1 : ctx_left(x),
			              budget - (b->len - start) + item_room(inst, x, &rd));
		x->pos++;
	}
	return n;
}

/* The instances of TAKEN back to X's cursor, in their order (a reply that failed). */
static void untake(wsman_enum_ctx *x, cim_instance_list *taken)
{
	while (taken->count > 0) {
		cim_instance *inst = taken->items[--taken->count];

		if (!rdms_cursor_unget(x->cur, inst))
			cim_instance_free(inst);      /* lost, as the reply is: no memory */
	}
}

/* Bytes an item list may take in a reply whose envelope so far is USED. */
static size_t items_budget(const wsman_call *c, size_t used)
{
	size_t room = c->limit > used + ENUM_OVERHEAD ? c->limit - used - ENUM_OVERHEAD : 0;

	if (c->r->max_chars != 0 && c->r->max_chars < room)
		room = c->r->max_chars;
	return room;
}

static bool too_big_item(wsman_fault *f, size_t limit)
{
	return wsman_fail(f, WBEM_E_TOO_MUCH_DATA, "wsman:EncodingLimit", "MaxEnvelopeSize",
	                  "the next item does not fit in MaxEnvelopeSize (%zu bytes)", limit);
}

/*
 * An enumeration takes its instances from a cursor (rdms_op_cursor; a
 * query's result is a list under one) instead of a list of them all: with
 * 10,000 sessions that list is 4 MB built, touched and freed again for
 * every request, and kept for as long as Pulls come.  An optimized one
 * whose items surely fit (items_fit) is sent while it is written
 * (stream_next); otherwise render_items writes what fits and the context
 * keeps the cursor, on the instance that did not fit, for the Pulls.
 */
typedef struct enum_stream {
	strbuf        *b;
	wsman_render   rd;
	size_t         start;                /* where the items begin */
	size_t         ctx_at;               /* the context placeholder (put_ctx_placeholder) */
	bool           ctx_empty;            /* ...made empty before the items (expect_all) */
} enum_stream;

/* The classes a class enumeration lists (Get-CimClass without a name: all). */
static bool class_list(wsman_call *c, wsman_enum_ctx *x, wsman_fault *f)
{
	const wsman_request *r = c->r;
	const char *name = selector(r, "ClassName");

	if (r->nsel > (name != NULL ? 1u : 0u))
		return wsman_fail(f, WBEM_E_INVALID_OBJECT_PATH, "wsman:InvalidSelectors",
		                  "UnexpectedSelectors",
		                  "a class request takes only __cimnamespace and ClassName");
	/* an array of pointers into the schema, not of classes */
	x->classes = calloc(rdms_schema_nclasses ? rdms_schema_nclasses : 1,
	                    sizeof(const cim_class *));
	if (x->classes == NULL)
		return oom(f);
	if (name != NULL) {
		const cim_class *cls = resolve_class(r, name, f);
		if (cls == NULL)
			return false;
		x->classes[x->nclasses++] = cls;
		return true;
	}
	for (size_t i = 0; i < rdms_schema_nclasses; i++)
		if (cim_namespace_equal(r->ns, rdms_schema_classes[i]->namespace_))
			x->classes[x->nclasses++] = rdms_schema_classes[i];
	if (x->nclasses == 0)
		return wsman_fail(f, WBEM_E_INVALID_NAMESPACE, NULL, "InvalidResourceURI",
		                  "namespace %.100s does not exist", r->ns);
	return true;
}

/* The typed values of a selector filter, checked before anything runs. */
static bool filter_values(const wsman_request *r, const cim_class *cls, cim_value *vals,
                          size_t *idx, wsman_fault *f)
{
	rdms_error err = { 0 };

	for (size_t i = 0; i < r->nfsel; i++) {
		const cim_property *p = cim_class_property(cls, r->fsel[i].name, &idx[i]);
		char what[160];

		if (p == NULL)
			return wsman_fail(f, WBEM_E_INVALID_QUERY, "wsen:CannotProcessFilter", NULL,
			                  "selector filter: %.100s is not a property of %s",
			                  r->fsel[i].name, cls->name);
		str_join(what, sizeof what, "selector filter ", p->name);
		if (cim_value_parse(p->type, r->fsel[i].value, what, &vals[i], &err) != 0)
			return wsman_fail(f, WBEM_E_INVALID_QUERY, "wsen:CannotProcessFilter", NULL,
			                  "%s", err.message);
	}
	return true;
}

static bool value_matches(const cim_value *have, const cim_value *want)
{
	if (have->is_null)
		return false;
	if (have->type == CIM_TYPE_STRING && want->type == CIM_TYPE_STRING)
		return strcasecmp(have->u.str, want->u.str) == 0;
	return cim_value_equal(have, want);
}

/* Drops the instances that do not match every selector of the filter. */
static void apply_selector_filter(cim_instance_list *l, const cim_value *vals,
                                  const size_t *idx, size_t n)
{
	size_t keep = 0;

	for (size_t i = 0; i < l->count; i++) {
		bool match = true;

		for (size_t k = 0; k < n && match; k++)
			match = value_matches(&l->items[i]->values[idx[k]], &vals[k]);
		if (match)
			l->items[keep++] = l->items[i];
		else
			cim_instance_free(l->items[i]);
	}
	l->count = keep;
}

/* X's list of instances (a query's, a filter's) as its cursor. */
static bool list_cursor(wsman_enum_ctx *x, wsman_fault *f)
{
	return (x->cur = rdms_cursor_of_list(&x->items)) != NULL || oom(f);
}

/* True when class NAME is enumerated with sealed contexts here (a fleet broker's sessions). */
static bool stateless_class(const wsman_call *c, const char *name)
{
	return c->s->provider->ctx_mac != NULL && rdms_op_pages(c->s->provider, c->r->ns, name);
}

/* X's cursor from after X's key (if started), for a class that pages: nothing listed here. */
static bool paged_cursor(wsman_call *c, wsman_enum_ctx *x, wsman_fault *f)
{
	rdms_error err = { 0 };
	uint32_t code = rdms_op_cursor_after(c->s->provider, c->who, x->ns, x->class_name,
	                                     x->query, x->started ? &x->after : NULL, &x->cur,
	                                     &err);

	return code == 0 || op_fault(c->r, code, &err, f);
}

/* X reads class CLS (of namespace NS; WQL the filter or NULL) with a sealed context. */
static bool stateless_open(wsman_call *c, wsman_enum_ctx *x, const char *cls, const char *wql,
                           wsman_fault *f)
{
	x->stateless = c->stateless = true;
	x->ns = strdup(c->r->ns);
	x->class_name = strdup(cls);
	x->wql = wql != NULL ? strdup(wql) : NULL;
	if (x->ns == NULL || x->class_name == NULL || (wql != NULL && x->wql == NULL))
		return oom(f);
	return paged_cursor(c, x, f);
}

/*
 * X's listed instances as a keyset page (rdms:Keyset): in key order, after
 * the request's key if it gave one.
 */
static bool keyset_cursor(wsman_call *c, wsman_enum_ctx *x, wsman_fault *f)
{
	if (!rdms_keyset_trim(&x->items, c->r->keyset_started ? &c->r->keyset_after : NULL))
		return oom(f);
	return list_cursor(x, f);
}

/* rdms:Keyset is for the session class (its keys are the page's). */
static bool keyset_class_ok(const wsman_request *r, const char *name, wsman_fault *f)
{
	if (!r->keyset || strcasecmp(name, rdms_session_class()->name) == 0)
		return true;
	return wsman_fail(f, WBEM_E_INVALID_PARAMETER, "wsman:InvalidParameter", NULL,
	                  "rdms:Keyset pages %s, not %s", rdms_session_class()->name, name);
}

/*
 * The selector filter of N equalities (VALS of the properties IDX of CLS)
 * as the WQL query that selects the same instances: a selector matches a
 * string as WQL's = does (ASCII case folded, bytewise) and NULL never.
 * Malloc'd; NULL for a type it does not write (or no memory).
 */
static char *selector_wql(const cim_class *cls, const cim_value *vals, const size_t *idx,
                          size_t n)
{
	strbuf b = { 0 };

	strbuf_printf(&b, "SELECT * FROM %s WHERE ", cls->name);
	for (size_t i = 0; i < n; i++) {
		const cim_value *v = &vals[i];

		strbuf_printf(&b, "%s%s = ", i > 0 ? " AND " : "", cls->props[idx[i]].name);
		if (v->type == CIM_TYPE_UINT32) {
			strbuf_printf(&b, "%" PRIu32, v->u.u32);
		} else if (v->type == CIM_TYPE_SINT32) {
			strbuf_printf(&b, "%" PRId32, v->u.s32);
		} else if (v->type == CIM_TYPE_STRING && !v->is_null) {
			PUTS(&b, "'");
			for (const char *p = v->u.str; *p != '\0'; p++) {
				if (*p == '\'' || *p == '\\')
					PUTS(&b, "\\");
				strbuf_append(&b, p, 1);
			}
			PUTS(&b, "'");
		} else {
			strbuf_free(&b);
			return NULL;
		}
	}
	return strbuf_take(&b);
}

/*
 * X runs R's selector filter on class CLS: a class that pages (a broker's
 * sessions) is read as the WQL query of the same equalities, page by page
 * with the equalities pushed down, like a query; any other is listed and
 * filtered here.
 */
static bool selector_filter(wsman_call *c, wsman_enum_ctx *x, const cim_class *cls,
                            wsman_fault *f)
{
	const wsman_request *r = c->r;
	cim_value vals[WSMAN_MAX_SELECTORS];
	size_t idx[WSMAN_MAX_SELECTORS];
	rdms_error err = { 0 };
	char *wql = NULL;
	uint32_t code;
	bool ok;

	for (size_t i = 0; i < r->nfsel; i++)
		vals[i] = cim_null(CIM_TYPE_NONE);
	ok = filter_values(r, cls, vals, idx, f);
	if (ok && stateless_class(c, cls->name) &&
	    (wql = selector_wql(cls, vals, idx, r->nfsel)) != NULL &&
	    wql_parse(wql, rdms_schema_find, &x->query, &err) != 0) {
		/* too long for a query, say: listed and filtered after all */
		free(wql);
		wql = NULL;
		err = (rdms_error){ 0 };
	}
	if (ok && wql != NULL) {
		ok = stateless_open(c, x, cls->name, wql, f);
	} else if (ok) {
		code = rdms_op_enumerate(c->s->provider, c->who, r->ns, cls->name, &x->items, &err);
		if (code != 0)
			ok = op_fault(r, code, &err, f);
		else
			apply_selector_filter(&x->items, vals, idx, r->nfsel);
		ok = ok && (r->keyset ? keyset_cursor(c, x, f) : list_cursor(x, f));
	}
	free(wql);
	for (size_t i = 0; i < r->nfsel; i++)
		cim_value_clear(&vals[i]);
	return ok;
}

/*
 * Runs the enumeration or query: X's cursor (or class list) gives its
 * result.
 */
static bool collect(wsman_call *c, wsman_enum_ctx *x, wsman_fault *f)
{
	const wsman_request *r = c->r;
	rdms_error err = { 0 };
	const cim_class *cls = NULL;
	uint32_t code;

	if (r->uri_kind == WSMAN_URI_CLASSDEF)
		return class_list(c, x, f);
	if (r->class_name != NULL && (cls = resolve_class(r, r->class_name, f)) == NULL)
		return false;
	if (cls != NULL && !keyset_class_ok(r, cls->name, f))
		return false;
	if (r->keyset && r->want_position)
		return wsman_fail(f, WBEM_E_INVALID_PARAMETER, "wsman:InvalidParameter", NULL,
		                  "rdms:Keyset and rdms:Position exclude each other");
	/* a page after a key: a class that pages starts there, a listed one is trimmed */
	x->started = r->keyset_started;
	if (r->keyset_started)
		x->after = r->keyset_after;
	x->uri = strdup(r->resource_uri);
	if (r->uri_kind == WSMAN_URI_DMTF && (x->ns_selector = strdup(r->ns)) == NULL)
		return oom(f);
	if (x->uri == NULL)
		return oom(f);

	if (r->filter == WSMAN_FILTER_WQL) {
		/* a class that pages is read by the cursor, the query its match */
		bool pages = c->s->provider->ctx_mac != NULL &&
		             wql_parse(r->filter_text, rdms_schema_find, &x->query, &err) == 0 &&
		             stateless_class(c, wql_class(x->query)->name);

		if (!pages) {
			wql_free(x->query);
			err = (rdms_error){ 0 };
			code = rdms_op_query(c->s->provider, c->who, r->ns, r->filter_text, &x->query,
			                     &x->items, &err);
			if (code != 0)
				return op_fault(r, code, &err, f);
		}
		const cim_class *qc = x->query != NULL ? wql_class(x->query) : NULL;
		if (qc == NULL)
			return wsman_fail(f, WBEM_E_FAILED, NULL, NULL, "the query has no class");
		if (!keyset_class_ok(r, qc->name, f))
			return false;
		if (cls != NULL && strcasecmp(qc->name, cls->name) != 0)
			return wsman_fail(f, WBEM_E_INVALID_QUERY, "wsen:CannotProcessFilter", NULL,
			                  "the query selects from %s but the ResourceURI names %s",
			                  qc->name, cls->name);
		if (cls == NULL) {
			/* Wildcard URI: the instances' own URI, in the WMI form. */
			free(x->uri);
			x->uri = malloc(strlen(URI_WMI_PREFIX) + strlen(r->ns) + strlen(qc->name) + 2);
			if (x->uri == NULL)
				return oom(f);
			sprintf(x->uri, "%s%s/%s", URI_WMI_PREFIX, r->ns, qc->name);
		}
		if (pages)
			return stateless_open(c, x, qc->name, r->filter_text, f);
		return r->keyset ? keyset_cursor(c, x, f) : list_cursor(x, f);
	}
	/* Only a WQL filter names its own class: check_uri_for_op refuses the
	 * wildcard URI without one, so CLS is set from here on. */
	if (cls == NULL)
		return wsman_fail(f, WBEM_E_INVALID_CLASS, "wsa:DestinationUnreachable",
		                  "InvalidResourceURI",
		                  "the wildcard ResourceURI needs a WQL filter naming the class");
	if (r->filter == WSMAN_FILTER_ASSOC)
		return list_cursor(x, f);    /* none: the class has no associations */
	if (r->filter == WSMAN_FILTER_SELECTOR)
		return selector_filter(c, x, cls, f);
	if (r->want_position && cls == rdms_session_class()) {
		rdms_snapshot *snap;

		if (wsman_events_snapshot(c->s->events, &snap, &c->at, &err)) {
			code = rdms_op_cursor_snapshot(c->s->provider, c->who, r->ns, cls->name, snap,
			                               &x->cur, &err);
			c->positioned = code == 0;
			return code == 0 ? true : op_fault(r, code, &err, f);
		}
		if (err.code != 0)
			return op_fault(r, err.code, &err, f);
		/* no change feed here: an ordinary enumeration, and no position in the reply */
	}
	if (stateless_class(c, cls->name))
		return stateless_open(c, x, cls->name, NULL, f);
	if (r->keyset) {
		code = rdms_op_enumerate(c->s->provider, c->who, r->ns, cls->name, &x->items, &err);
		return code == 0 ? keyset_cursor(c, x, f) : op_fault(r, code, &err, f);
	}
	code = rdms_op_cursor(c->s->provider, c->who, r->ns, cls->name, NULL, &x->cur, &err);
	return code == 0 ? true : op_fault(r, code, &err, f);
}

/*
 * The head of an EnumerateResponse: with rdms:Position when its snapshot
 * is at a known journal position (spec/fleet.md 3.3), so that a broker can
 * pair it with the events it pulls.
 */
static void enumerate_head(const wsman_call *c, strbuf *b)
{
	char position[200];

	if (c->positioned)
		wsman_position_header(position, sizeof position, c->at);
	wsman_write_head_extra(b, ACTION_ENUMERATE "Response", c->r->message_id,
	                       c->positioned ? position : NULL);
}

/*
 * Items are written straight into the reply, after a context element whose
 * text is a placeholder of the id's fixed length: the id exists only once
 * we know items remain, and copying megabytes of items to put the context
 * first would cost more than patching it in afterwards.
 */
#define CTX_OPEN   "<wsen:EnumerationContext>"
#define CTX_CLOSE  "</wsen:EnumerationContext>"
#define CTX_ID_LEN 41           /* "uuid:" + 36, as wsman_uuid writes it */

static size_t put_ctx_placeholder(strbuf *b)
{
	size_t at = b->len;
	char pad[CTX_ID_LEN];

	memset(pad, 'x', sizeof pad);
	PUTS(b, CTX_OPEN);
	strbuf_append(b, pad, sizeof pad);
	PUTS(b, CTX_CLOSE);
	return at;
}

/* Replaces the placeholder context at AT with REP (shorter or equal). */
static void splice_ctx(strbuf *b, size_t at, const char *rep)
{
	size_t old = sizeof CTX_OPEN - 1 + CTX_ID_LEN + sizeof CTX_CLOSE - 1;
	size_t n = strlen(rep);

	if (b->failed || b->data == NULL)
		return;
	memcpy(b->data + at, rep, n);
	memmove(b->data + at + n, b->data + at + old, b->len - at - old + 1);
	b->len -= old - n;
}

static void fill_ctx(strbuf *b, size_t at, const char *id)
{
	if (!b->failed && b->data != NULL && strlen(id) == CTX_ID_LEN)
		memcpy(b->data + at + sizeof CTX_OPEN - 1, id, CTX_ID_LEN);
}

/* The placeholder at AT becomes the context ID, of any length (NULL: the reply fails). */
static void put_ctx(strbuf *b, size_t at, const char *id)
{
	size_t n, grow, tail;

	if (id == NULL) {
		b->failed = true;
		return;
	}
	n = strlen(id);
	if (n == CTX_ID_LEN || b->failed || b->data == NULL) {
		fill_ctx(b, at, id);
		return;
	}
	if (n < CTX_ID_LEN) {
		strbuf sb = { 0 };

		PUTS(&sb, CTX_OPEN);
		strbuf_puts(&sb, id);
		PUTS(&sb, CTX_CLOSE);
		if (sb.failed)
			b->failed = true;
		else
			splice_ctx(b, at, sb.data);
		strbuf_free(&sb);
		return;
	}
	grow = n - CTX_ID_LEN;
	tail = b->len - at - (sizeof CTX_OPEN - 1 + CTX_ID_LEN);   /* from the placeholder's end */
	if (!strbuf_reserve(b, grow))
		return;
	memmove(b->data + at + sizeof CTX_OPEN - 1 + n,
	        b->data + at + sizeof CTX_OPEN - 1 + CTX_ID_LEN, tail + 1);
	memcpy(b->data + at + sizeof CTX_OPEN - 1, id, n);
	b->len += grow;
}

/* The clock sealed contexts expire by (the provider's: a broker's is its directory's). */
static int64_t ctx_now_ms(const rdms_provider *p)
{
	return p->ctx_clock != NULL ? p->ctx_clock(p->ctx_mac_ctx) : wall_ms();
}

/* What X's sealed context says, going on after KEY (NULL: where X began). */
static void ctx_state(const wsman_call *c, const wsman_enum_ctx *x, const rdms_key *key,
                      wsman_ctx_state *st)
{
	*st = (wsman_ctx_state){
		.mode = (uint8_t)x->mode,
		.expires_ms = ctx_now_ms(c->s->provider) + (int64_t)c->s->enums.timeout_s * 1000,
		.started = key != NULL || x->started,
		.owner = c->who->user, .ns = x->ns, .class_name = x->class_name, .uri = x->uri,
		.ns_selector = x->ns_selector, .wql = x->wql,
	};
	if (key != NULL)
		st->after = *key;
	else if (x->started)
		st->after = x->after;
}

/* Bytes a sealed context of X may take beyond the placeholder's (0 for a listed one). */
static size_t ctx_extra(const wsman_call *c, const wsman_enum_ctx *x)
{
	wsman_ctx_state st;
	size_t n;

	if (!x->stateless)
		return 0;
	ctx_state(c, x, NULL, &st);
	n = wsman_ctx_sealed_max(&st);
	return n > CTX_ID_LEN ? n - CTX_ID_LEN : 0;
}

/*
 * The sealed context of the rest of stateless X after its items TAKEN
 * (written in this reply): it goes on after the key of TAKEN's last, or
 * where X began when TAKEN is empty.  Malloc'd; NULL with F.
 */
static char *sealed_context(const wsman_call *c, const wsman_enum_ctx *x,
                            const cim_instance_list *taken, wsman_fault *f)
{
	wsman_ctx_state st;
	rdms_key key;
	bool keyed = taken->count > 0 &&
	             rdms_cursor_key_of(x->cur, taken->items[taken->count - 1], &key);
	char *text;

	ctx_state(c, x, keyed ? &key : NULL, &st);
	text = wsman_ctx_seal(&st, c->s->provider->ctx_mac, c->s->provider->ctx_mac_ctx);
	if (text == NULL)
		oom(f);
	return text;
}

#define CTX_EMPTY "<wsen:EnumerationContext/>"

/*
 * Before the first item, when every item is expected to fit (no more than
 * MaxElements): the context at ST->ctx_at becomes the empty element now,
 * while only "<wsman:Items>" follows it, instead of moving megabytes of
 * items to splice it once they are written.  If they do not fit after all,
 * unexpect_all puts the placeholder back.
 */
static void expect_all(enum_stream *st)
{
	if (st->ctx_empty || st->b->failed || st->b->len != st->start)
		return;
	splice_ctx(st->b, st->ctx_at, CTX_EMPTY);
	st->start = st->b->len;
	st->ctx_empty = true;
}

/* The placeholder back in place of the empty context at AT (the reply was full after all). */
static void unexpect_all(strbuf *b, size_t at)
{
	char ph[sizeof CTX_OPEN - 1 + CTX_ID_LEN + sizeof CTX_CLOSE - 1];
	size_t empty = sizeof CTX_EMPTY - 1, grow = sizeof ph - empty;

	memcpy(ph, CTX_OPEN, sizeof CTX_OPEN - 1);
	memset(ph + sizeof CTX_OPEN - 1, 'x', CTX_ID_LEN);
	memcpy(ph + sizeof CTX_OPEN - 1 + CTX_ID_LEN, CTX_CLOSE, sizeof CTX_CLOSE - 1);
	strbuf_append(b, ph, grow);     /* room and the terminator: the text after AT moves over it */
	if (b->failed)
		return;
	memmove(b->data + at + sizeof ph, b->data + at + empty, b->len - grow - at - empty);
	memcpy(b->data + at, ph, sizeof ph);
}

/* ---- an optimized enumeration sent while it is written ---------------- */

/*
 * What stream_next needs: the context (its cursor, and the URI and mode
 * the render points into; it is never listed) and what the reply may
 * still take.  Owned by the transport once wsman_handle returns.
 */
typedef struct items_stream {
	wsman_enum_ctx *x;
	wsman_render    rd;
	size_t          room;     /* bytes the items may take at most (their budget) */
} items_stream;

static void items_stream_free(void *ctx)
{
	items_stream *is = ctx;

	wsman_enum_ctx_free(is->x);
	free(is);
}

#define ENUM_END "</wsman:Items><wsman:EndOfSequence/></wsen:EnumerateResponse></s:Body></s:Envelope>"

/* body_stream's next: items until the piece is full, then the end of the envelope. */
static body_stream_rc stream_next(void *ctx, strbuf *b)
{
	items_stream *is = ctx;
	rdms_error err = { 0 };

	while (b->len < BODY_STREAM_PIECE) {
		cim_instance *inst = rdms_cursor_next(is->x->cur, &err);
		size_t before = b->len;

		if (inst == NULL)
			break;
		wsman_write_item(b, inst, &is->rd);
		cim_instance_free(inst);
		if (b->len - before > is->room) {
			/* items_fit's bound says this cannot happen; were it wrong, the
			 * reply must not go over MaxEnvelopeSize all the same */
			log_warn("wsman: a streamed enumeration outgrew its bound; reply cut off");
			return BODY_STREAM_FAILED;
		}
		is->room -= b->len - before;
	}
	if (err.code != WBEM_S_NO_ERROR) {
		log_warn("wsman: enumeration cut off midway: %s", err.message);
		return BODY_STREAM_FAILED;
	}
	if (b->len >= BODY_STREAM_PIECE)
		return BODY_STREAM_MORE;
	PUTS(b, ENUM_END);
	return BODY_STREAM_END;
}

/*
 * True when every instance X still has surely fits in the reply: no more
 * than MAX of them, and each at its largest (wsman_item_bound) within
 * BUDGET.  Then the context is empty and the reply can go out before its
 * items are written.
 */
static bool items_fit(const wsman_render *rd, const cim_class *cls, const wsman_enum_ctx *x,
                      size_t max, size_t budget)
{
	size_t left = ctx_left(x), one;

	if (x->classes != NULL || x->cur == NULL || left > max)
		return false;
	if (left == 0)
		return true;
	one = cls != NULL ? wsman_item_bound(cls, rdms_cursor_text_max(x->cur), rd) : SIZE_MAX;
	return one != SIZE_MAX && one <= budget / left;
}

/*
 * The reply of B (the envelope up to the items) goes out with the items
 * of X written while it is sent (stream_next).  X is the stream's (freed
 * on failure too).
 */
static bool stream_items(wsman_call *c, strbuf *b, wsman_enum_ctx *x, const wsman_render *rd,
                         size_t budget, wsman_fault *f)
{
	items_stream *is = calloc(1, sizeof *is);

	if (is == NULL || b->failed) {
		free(is);
		wsman_enum_ctx_free(x);
		return oom(f);
	}
	*is = (items_stream){ x, *rd, budget };
	c->stream->next = stream_next;
	c->stream->done = items_stream_free;
	c->stream->ctx = is;
	return true;
}

static bool do_enumerate(wsman_call *c, strbuf *b, wsman_fault *f)
{
	const wsman_request *r = c->r;
	wsman_enum_ctx *x = wsman_enum_new(c->owner);
	size_t at, n, budget, max = r->max_elements != 0 ? r->max_elements : 1;
	cim_instance_list taken = { 0 };
	enum_stream st = { 0 };
	char *sealed = NULL;
	bool done;

	if (x == NULL)
		return oom(f);
	x->mode = r->mode;
	if (!r->optimize) {
		if (!collect(c, x, f))
			goto fail;
		if (x->stateless ? (sealed = sealed_context(c, x, &taken, f)) == NULL
		                 : !wsman_enum_put(&c->s->enums, x, f))
			goto fail;
		enumerate_head(c, b);
		PUTS(b, "<wsen:EnumerateResponse>");
		PUTS(b, CTX_OPEN);
		strbuf_puts(b, sealed != NULL ? sealed : x->id);
		PUTS(b, CTX_CLOSE "</wsen:EnumerateResponse>");
		wsman_write_tail(b);
		free(sealed);
		if (x->stateless)
			wsman_enum_ctx_free(x);    /* a listed one is the table's */
		return finish(c, b, f);
	}
	if (!collect(c, x, f))
		goto fail;
	st.rd = (wsman_render){ x->uri, x->ns_selector, x->query, x->mode, x->classes == NULL };
	enumerate_head(c, b);
	PUTS(b, "<wsen:EnumerateResponse>");
	at = put_ctx_placeholder(b);
	PUTS(b, "<wsman:Items");
	if (st.rd.shared_ns)
		wsman_write_item_ns(b, x->uri);
	PUTS(b, ">");
	st.b = b;
	st.start = b->len;
	st.ctx_at = at;
	budget = items_budget(c, b->len + ctx_extra(c, x));
	if (c->stream != NULL && !b->failed && r->class_name != NULL &&
	    items_fit(&st.rd, rdms_schema_find(r->class_name), x, max, budget)) {
		splice_ctx(b, at, CTX_EMPTY);
		return stream_items(c, b, x, &st.rd, budget, f) && finish(c, b, f);
	}
	if (ctx_left(x) <= max)
		expect_all(&st);
	n = render_items(b, x, max, budget, &taken);
	if (n == 0 && ctx_left(x) > 0) {
		cim_instance_list_free(&taken);
		if (!b->failed)
			too_big_item(f, c->limit);
		else
			oom(f);
		goto fail;
	}
	done = ctx_left(x) == 0;
	if (!done && x->stateless && (sealed = sealed_context(c, x, &taken, f)) == NULL) {
		cim_instance_list_free(&taken);
		goto fail;
	}
	cim_instance_list_free(&taken);
	PUTS(b, "</wsman:Items>");
	if (done)
		PUTS(b, "<wsman:EndOfSequence/>");
	PUTS(b, "</wsen:EnumerateResponse>");
	wsman_write_tail(b);
	if (b->failed) {
		oom(f);
		goto fail;
	}
	if (done) {
		if (!st.ctx_empty)
			splice_ctx(b, at, CTX_EMPTY);
		wsman_enum_ctx_free(x);
	} else if (x->stateless) {
		if (st.ctx_empty)
			unexpect_all(b, at);
		put_ctx(b, at, sealed);
		free(sealed);
		wsman_enum_ctx_free(x);     /* all of it is in the context */
	} else {
		if (!wsman_enum_put(&c->s->enums, x, f))
			goto fail;
		if (st.ctx_empty)
			unexpect_all(b, at);
		fill_ctx(b, at, x->id);
	}
	/* X, if listed, stays listed even if this reply fails: it expires. */
	return finish(c, b, f);
fail:
	free(sealed);
	wsman_enum_ctx_free(x);
	return false;
}

static bool bad_context(wsman_fault *f, const char *id)
{
	return wsman_fail(f, WBEM_E_INVALID_CONTEXT, "wsen:InvalidEnumerationContext", NULL,
	                  "enumeration context %.100s is unknown, expired or finished", id);
}

/*
 * The enumeration a sealed context (a fleet broker's) goes on with: its
 * state checked (signature, caller, expiry) and its cursor reopened after
 * its key, when OPEN_CURSOR.  A refused one is logged and faulted as an
 * unknown one is on a host, with the reason.
 */
static wsman_enum_ctx *unseal(wsman_call *c, bool open_cursor, wsman_fault *f)
{
	const rdms_provider *p = c->s->provider;
	wsman_ctx_state st;
	wsman_enum_ctx *x;
	rdms_error err = { 0 };
	const char *why;
	void *buf;

	if (!wsman_ctx_open(c->r->context, p->ctx_mac, p->ctx_mac_ctx, c->who->user, ctx_now_ms(p),
	                    &st, &buf, &why)) {
		log_warn("%s %s (%s): enumeration context refused: %s", c->who->protocol,
		         c->who->source, c->who->user, why);
		wsman_fail(f, WBEM_E_INVALID_CONTEXT, "wsen:InvalidEnumerationContext", NULL,
		           "enumeration context %.40s... is %s", c->r->context, why);
		return NULL;
	}
	x = wsman_enum_new(c->owner);
	if (x != NULL) {
		x->stateless = true;
		x->mode = st.mode <= WSMAN_MODE_OBJECT_EPR ? (wsman_mode)st.mode : WSMAN_MODE_OBJECT;
		x->started = st.started;
		x->after = st.after;
		x->ns = strdup(st.ns);
		x->class_name = strdup(st.class_name);
		x->uri = strdup(st.uri);
		x->ns_selector = st.ns_selector != NULL ? strdup(st.ns_selector) : NULL;
		x->wql = st.wql != NULL ? strdup(st.wql) : NULL;
	}
	free(buf);
	if (x == NULL || x->ns == NULL || x->class_name == NULL || x->uri == NULL ||
	    (st.ns_selector != NULL && x->ns_selector == NULL) ||
	    (st.wql != NULL && x->wql == NULL)) {
		wsman_enum_ctx_free(x);
		oom(f);
		return NULL;
	}
	if (x->wql != NULL && wql_parse(x->wql, rdms_schema_find, &x->query, &err) != 0) {
		wsman_enum_ctx_free(x);
		op_fault(c->r, err.code, &err, f);
		return NULL;
	}
	if (open_cursor && !paged_cursor(c, x, f)) {
		wsman_enum_ctx_free(x);
		return NULL;
	}
	return x;
}

/* A sealed context is a broker's to open; anything else is looked up in the table. */
static bool is_sealed(const wsman_service *s, const wsman_request *r)
{
	return s->provider->ctx_mac != NULL && wsman_ctx_is_sealed(r->context);
}

static bool do_pull(wsman_call *c, strbuf *b, wsman_fault *f)
{
	const wsman_request *r = c->r;
	bool sealed = is_sealed(c->s, c->r);
	wsman_enum_ctx *x = sealed ? unseal(c, true, f)
	                           : wsman_enum_take(&c->s->enums, r->context, c->owner);
	size_t at, pos, n, max = r->max_elements != 0 ? r->max_elements : 1;
	cim_instance_list taken = { 0 };
	char *next = NULL;
	bool done;

	if (sealed && x == NULL)
		return false;
	if (x == NULL && wsman_events_owns(c->s->events, r->context))
		return wsman_events_pull(c->s->events, c->owner, r, c->limit, c->holder, b, &c->held,
		                         f);
	if (x == NULL)
		return bad_context(f, r->context);
	pos = x->pos;
	wsman_write_head(b, ACTION_PULL "Response", r->message_id);
	PUTS(b, "<wsen:PullResponse>");
	at = put_ctx_placeholder(b);
	PUTS(b, "<wsen:Items");
	if (x->classes == NULL)
		wsman_write_item_ns(b, x->uri);
	PUTS(b, ">");
	n = render_items(b, x, max, items_budget(c, b->len + ctx_extra(c, x)), &taken);
	if (n > 0 && !b->failed && ctx_left(x) > 0 && x->stateless)
		next = sealed_context(c, x, &taken, f);
	if ((n == 0 && ctx_left(x) > 0) || b->failed ||
	    (x->stateless && ctx_left(x) > 0 && next == NULL)) {
		bool too_big = n == 0 && !b->failed;

		x->pos = pos;
		untake(x, &taken);
		cim_instance_list_free(&taken);
		if (x->stateless)
			wsman_enum_ctx_free(x);           /* its context is still good: retry it */
		else
			wsman_enum_return(&c->s->enums, x);   /* the client may retry with more room */
		return too_big ? too_big_item(f, c->limit) : oom(f);
	}
	cim_instance_list_free(&taken);
	done = ctx_left(x) == 0;
	PUTS(b, "</wsen:Items>");
	if (done)
		PUTS(b, "<wsen:EndOfSequence/>");
	PUTS(b, "</wsen:PullResponse>");
	wsman_write_tail(b);
	if (done) {
		/* No context after the end: wsl pulls while one is there. */
		splice_ctx(b, at, "");
		wsman_enum_ctx_free(x);
	} else if (x->stateless) {
		put_ctx(b, at, next);
		free(next);
		wsman_enum_ctx_free(x);
	} else {
		fill_ctx(b, at, x->id);
		wsman_enum_return(&c->s->enums, x);
	}
	return finish(c, b, f);
}

static bool do_release(wsman_call *c, strbuf *b, wsman_fault *f)
{
	bool sealed = is_sealed(c->s, c->r);
	wsman_enum_ctx *x = sealed ? unseal(c, false, f)
	                           : wsman_enum_take(&c->s->enums, c->r->context, c->owner);

	if (x == NULL)
		return sealed ? false : bad_context(f, c->r->context);
	/* a sealed context holds nothing here: a valid one is released by forgetting it */
	wsman_enum_ctx_free(x);
	wsman_write_head(b, ACTION_RELEASE "Response", c->r->message_id);
	wsman_write_tail(b);
	return finish(c, b, f);
}

/* ---- the entry point ---------------------------------------------------- */

static bool dispatch(wsman_call *c, strbuf *b, wsman_fault *f)
{
	switch (c->r->op) {
	case WSMAN_OP_GET:       return do_get(c, b, f);
	case WSMAN_OP_ENUMERATE: return do_enumerate(c, b, f);
	case WSMAN_OP_PULL:      return do_pull(c, b, f);
	case WSMAN_OP_RELEASE:   return do_release(c, b, f);
	case WSMAN_OP_INVOKE:    return do_invoke(c, b, f);
	case WSMAN_OP_SUBSCRIBE:
		return wsman_events_subscribe(c->s->events, c->who, c->owner, c->r, b, f);
	case WSMAN_OP_UNSUBSCRIBE:
		return wsman_events_unsubscribe(c->s->events, c->who, c->owner, c->r, b, f);
	case WSMAN_OP_RENEW:
		return wsman_fail(f, WBEM_E_NOT_SUPPORTED, "wse:UnableToRenew", NULL,
		                  "subscriptions are not renewed: subscribe again (MS-WSMV "
		                  "3.1.4.1.30.4)");
	case WSMAN_OP_IDENTIFY:  break;
	}
	return wsman_fail(f, WBEM_E_FAILED, NULL, NULL, "unexpected operation");
}

static void take_reply(wsman_reply *out, strbuf *b, int status)
{
	out->http_status = status;
	out->len = b->len;
	out->body = strbuf_take(b);
	if (out->body == NULL)
		out->len = 0;
}

/* Refuses R for WHO (audited, logged): a fault with WHY. */
static bool refuse(wsman_service *s, const rdms_caller *who, const wsman_request *r,
                   const char *why, wsman_fault *f)
{
	rdms_error err;

	log_warn("%s %s (%s): refused: %s", who->protocol, who->source, who->user, why);
	rdms_fail(&err, WBEM_E_ACCESS_DENIED, "%s", why);
	rdms_ops_audit(s->provider, who, r->resource_uri != NULL ? r->resource_uri : "",
	               r->method != NULL ? r->method : "OnBehalfOf", WBEM_E_ACCESS_DENIED, &err);
	return wsman_fail(f, WBEM_E_ACCESS_DENIED, NULL, NULL, "%s", why);
}

/*
 * Whom R acts as (spec/fleet.md 3.2): WHO, or, for a broker's call with
 * rdms:OnBehalfOf, the user it names -- looked up here (a local account,
 * the admin group), so that the owner rule is checked again on the host;
 * a user unknown here owns no session -- with the broker in its source, for
 * the audit ("via broker B").  Only a broker may speak for someone, and a
 * broker acts on a session only for someone.  The caller returned is in
 * EFF (with SRC, SIZE bytes), with R's MessageID.
 */
static const rdms_caller *acting_caller(wsman_service *s, const rdms_caller *who,
                                        const wsman_request *r, rdms_caller *eff, char *src,
                                        size_t size, wsman_fault *f)
{
	if (r->on_behalf.user == NULL) {
		if (who->broker != NULL && r->op == WSMAN_OP_INVOKE) {
			refuse(s, who, r, "a broker acts on a session only on behalf of a user "
			       "(rdms:OnBehalfOf)", f);
			return NULL;
		}
		*eff = *who;
		eff->message_id = r->message_id;
		return eff;
	}
	if (who->broker == NULL) {
		refuse(s, who, r, "rdms:OnBehalfOf is accepted only from a broker's certificate "
		       "(fleet_brokers)", f);
		return NULL;
	}
	*eff = (rdms_caller){ .uid = (uid_t)-1 };
	if (s->resolve == NULL || !s->resolve(s->resolve_ctx, r->on_behalf.user, eff)) {
		*eff = (rdms_caller){ .uid = (uid_t)-1 };
		str_copy(eff->user, sizeof eff->user, r->on_behalf.user);
	}
	snprintf(src, size, "via broker %s for %s", who->broker,
	         r->on_behalf.source != NULL ? r->on_behalf.source : "?");
	eff->protocol = who->protocol;
	eff->source = src;
	eff->broker = who->broker;
	eff->message_id = r->message_id;
	return eff;
}

/* wsman_handle; MAY_STREAM: an enumeration may leave the rest of its reply in OUT->stream. */
static void handle(wsman_service *s, const rdms_caller *who, const char *body, size_t len,
                   wsman_reply *out, bool may_stream, const wsman_holder *holder, bool *held)
{
	wsman_request r = { 0 };
	wsman_fault f = { 0 };
	strbuf b = { 0 };
	rdms_caller eff;
	char owner[600], via[400];
	uint64_t token = 0;
	bool cached, ok;

	memset(out, 0, sizeof *out);
	if (len > (size_t)s->max_envelope) {
		wsman_fail(&f, WBEM_E_TOO_MUCH_DATA, "wsman:EncodingLimit", "MaxEnvelopeSize",
		           "the request (%zu bytes) exceeds the maximum envelope size (%ld bytes)",
		           len, s->max_envelope);
		f.http_status = 413;
		wsman_write_fault(out, &f, NULL, s->machine);
		return;
	}
	if (!wsman_parse(body, len, &r, &f))
		goto fault;
	if (r.op == WSMAN_OP_IDENTIFY) {
		const rdms_provider *p = s->provider;
		rdms_error why = { 0 };

		if (p->healthy != NULL && !p->healthy(p->healthy_ctx, &why)) {
			/* the health check's answer: a load balancer expects 200 */
			wsman_fail(&f, WBEM_E_NOT_AVAILABLE, NULL, NULL, "unhealthy: %s", why.message);
			f.http_status = 503;
			goto fault;
		}
		wsman_write_identify(&b, who != NULL);
		take_reply(out, &b, 200);
		if (out->body == NULL) {
			oom(&f);
			goto fault;
		}
		goto done;
	}
	if (who == NULL) {
		wsman_fail(&f, WBEM_E_ACCESS_DENIED, NULL, NULL,
		           "authentication is required for everything but Identify");
		goto fault;
	}
	if ((who = acting_caller(s, who, &r, &eff, via, sizeof via, &f)) == NULL)
		goto fault;
	/* a broker's calls are its own: its replays and contexts never meet anyone else's */
	if (who->broker != NULL)
		snprintf(owner, sizeof owner, "broker %s:%s", who->broker, who->user);
	else
		snprintf(owner, sizeof owner, "%lu:%s", (unsigned long)who->uid, who->user);
	/* Get is idempotent; everything else has effects or state and is replayed,
	 * but for subscriptions, whose every Pull reads on from where it is, and
	 * a broker's sealed contexts: the context is the whole state, so a Pull
	 * or Release sent again reads the same page again (or releases nothing)
	 * -- and keeping each half-megabyte page cost a third of an enumeration's
	 * CPU and 16 MiB of the broker's memory */
	cached = r.op != WSMAN_OP_GET && r.op != WSMAN_OP_SUBSCRIBE &&
	         r.op != WSMAN_OP_UNSUBSCRIBE && r.op != WSMAN_OP_RENEW &&
	         !(r.op == WSMAN_OP_PULL && wsman_events_owns(s->events, r.context)) &&
	         !((r.op == WSMAN_OP_PULL || r.op == WSMAN_OP_RELEASE) && is_sealed(s, &r));
	if (cached && wsman_replay_begin(s->replay, owner, r.message_id,
	                                 wsman_hash(body, len, 0), out, &token))
		goto done;

	/* Room for a whole Get reply (~1.1 KB) or a method's output at once, not
	 * by doubling from 64 bytes; an enumeration grows it (strbuf_expect). */
	strbuf_reserve(&b, REPLY_START);
	wsman_call c = {
		.s = s, .who = who, .owner = owner, .r = &r,
		.limit = (size_t)(r.max_envelope != 0 ? r.max_envelope : s->max_envelope),
		.stream = may_stream ? &out->stream : NULL,
		.holder = holder,
	};
	ok = dispatch(&c, &b, &f);
	if (ok && c.held) {
		*held = true;     /* the reply goes to the holder later */
		strbuf_free(&b);
		goto done;
	}
	if (ok) {
		take_reply(out, &b, 200);
		if (out->body == NULL)
			oom(&f);
	}
	if (out->body == NULL) {
		strbuf_free(&b);
		body_stream_end(&out->stream);
		/* a broker whose directory fails: 503, so that clients and balancers go elsewhere */
		if (f.code == WBEM_E_NOT_AVAILABLE && s->provider->healthy != NULL)
			f.http_status = 503;
		wsman_write_fault(out, &f, r.message_id, s->machine);
	}
	if (cached) {
		/* A reply sent while it is written is not kept: it is an enumeration
		 * whose every item fitted, which may run again (as for one too big
		 * to keep); nor is a stateless enumeration's, whose context is all
		 * its state (a broker's: run again, it gives the same page). */
		wsman_reply none = { 0 };

		wsman_replay_finish(s->replay, token,
		                    out->stream.next != NULL || c.stateless ? &none : out);
	}
	goto done;
fault:
	strbuf_free(&b);
	wsman_write_fault(out, &f, r.message_id, s->machine);
done:
	wsman_request_free(&r);
}

void wsman_handle_streamed(wsman_service *s, const rdms_caller *who, const char *body,
                           size_t len, wsman_reply *out)
{
	bool held = false;

	handle(s, who, body, len, out, true, NULL, &held);
}

void wsman_handle_held(wsman_service *s, const rdms_caller *who, const char *body, size_t len,
                       const wsman_holder *h, wsman_reply *out, bool *held)
{
	*held = false;
	handle(s, who, body, len, out, true, h, held);
}

void wsman_handle(wsman_service *s, const rdms_caller *who, const char *body, size_t len,
                  wsman_reply *out)
{
	bool held = false;

	handle(s, who, body, len, out, true, NULL, &held);
	/* The whole reply, for callers in-process: the stream drained here. */
	if (!body_stream_into(&out->stream, &out->body, &out->len))
		out->http_status = 500;
}
