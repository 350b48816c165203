/*
 * cimxml.c -- the CIM-XML front end: a parsed request (cimxml_parse.c) is
 * run on the operation layer and answered in DSP0201 form (cimxml_write.c).
 *
 * The operation layer owns every rule about namespaces, classes, keys,
 * authorisation and audit; this file only maps intrinsic methods onto it:
 *   EnumerateInstances(Names), GetInstance, ExecQuery -> rdms_op_enumerate/get/query
 *   extrinsic METHODCALL (Disconnect, Logoff, SendMessage) -> rdms_op_invoke
 *   GetClass, EnumerateClasses(Names) -> the schema table directly, since a
 *   class declaration is public and needs no session data.
 * Each operation writes its IRETURNVALUE contents straight into the reply;
 * a failure half-way takes the reply back, leaving nothing of it but <ERROR>.
 * EnumerateInstances(Names) and ExecQuery take their instances from a
 * cursor (rdms_op_cursor), with no list of them all, and write them while
 * the reply is sent (body_stream.h): whatever can fail has failed when the
 * cursor opened, so the reply is an ERROR or every instance.
 *
 * LocalOnly and DeepInheritance change nothing here: the served classes
 * have neither superclasses nor subclasses.  IncludeQualifiers on instances
 * is deprecated in DSP0200 and ignored; IncludeClassOrigin adds CLASSORIGIN.
 */
#include "cimxml_internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/parser.h>

#include "../common/log.h"
#include "../schema/schema.h"

#define PUTS(b, s) strbuf_append((b), (s), sizeof(s) - 1)

typedef struct cimxml_ctx {
	rdms_provider     *p;
	const rdms_config *cfg;
	const rdms_caller *who;
	const cimxml_call *call;
	const cimxml_request *req;
	char              *return_value_text;   /* for the reply's header */
	body_stream        stream;              /* the instances, written while sent */
} cimxml_ctx;

static uint32_t nomem(rdms_error *err)
{
	return rdms_fail(err, WBEM_E_OUT_OF_MEMORY, "out of memory");
}

/*
 * *SHOW gets, for each property of C, whether the call's PropertyList names
 * it; NULL (every property) when the call has no list.  Names the class does
 * not have are ignored, as DSP0200 asks.
 */
static uint32_t property_filter(const cim_class *c, const cimxml_call *call, bool **show,
                                rdms_error *err)
{
	*show = NULL;
	if (!call->has_property_list)
		return WBEM_S_NO_ERROR;
	if ((*show = calloc(c->nprops + 1, sizeof **show)) == NULL)
		return nomem(err);
	for (size_t i = 0; i < call->nproperties; i++) {
		size_t idx;

		if (cim_class_property(c, call->property_list[i], &idx) != NULL)
			(*show)[idx] = true;
	}
	return WBEM_S_NO_ERROR;
}

/* ---- instances ------------------------------------------------------------ */

/*
 * What instances_next needs to write the instances of a cursor: which
 * operation, the property filter, and for ExecQuery the query and what an
 * instance path names.  Owned by the transport once cimxml_handle returns.
 */
typedef struct instance_stream {
	cimxml_op          op;
	rdms_cursor       *cur;
	wql_query         *query;       /* ExecQuery's; NULL otherwise */
	bool              *show;        /* properties to write; NULL: all */
	bool               class_origin;
	const rdms_config *cfg;         /* the host of ExecQuery's paths */
	char              *ns;          /* the call's namespace */
} instance_stream;

static void instance_stream_free(void *ctx)
{
	instance_stream *is = ctx;

	rdms_cursor_free(is->cur);
	wql_free(is->query);
	free(is->show);
	free(is->ns);
	free(is);
}

static uint32_t op_get_instance(cimxml_ctx *x, strbuf *ret, rdms_error *err)
{
	cim_instance *inst = NULL;
	bool *show = NULL;
	uint32_t rc;

	rc = rdms_op_get(x->p, x->who, &x->call->path, &inst, err);
	if (rc == WBEM_S_NO_ERROR)
		rc = property_filter(inst->cls, x->call, &show, err);
	if (rc == WBEM_S_NO_ERROR)
		cimxml_write_instance(ret, inst, show, x->call->include_class_origin);
	free(show);
	cim_instance_free(inst);
	return rc;
}

/* VALUE.OBJECTWITHPATH: the full instance path (host, namespace, keys) and INST. */
static void write_object_with_path(const instance_stream *is, strbuf *ret,
                                   const cim_instance *inst)
{
	const char *ns = inst->cls->namespace_ ? inst->cls->namespace_ : is->ns;

	strbuf_puts(ret, "<VALUE.OBJECTWITHPATH><INSTANCEPATH><NAMESPACEPATH><HOST>");
	cimxml_escape(ret, is->cfg->vm_host_name);
	strbuf_puts(ret, "</HOST>");
	cimxml_write_localnamespacepath(ret, ns);
	strbuf_puts(ret, "</NAMESPACEPATH>");
	cimxml_write_instancename(ret, inst);
	strbuf_puts(ret, "</INSTANCEPATH>");
	cimxml_write_instance(ret, inst, is->show, false);
	strbuf_puts(ret, "</VALUE.OBJECTWITHPATH>");
}

/* INST as the operation answers it: INSTANCENAME, VALUE.NAMEDINSTANCE or VALUE.OBJECTWITHPATH. */
static void write_one(const instance_stream *is, strbuf *b, const cim_instance *inst)
{
	switch (is->op) {
	case CIMXML_OP_ENUMERATE_INSTANCE_NAMES:
		cimxml_write_instancename(b, inst);
		break;
	case CIMXML_OP_EXEC_QUERY:
		write_object_with_path(is, b, inst);
		break;
	default:
		PUTS(b, "<VALUE.NAMEDINSTANCE>");
		cimxml_write_instancename(b, inst);
		cimxml_write_instance(b, inst, is->show, is->class_origin);
		PUTS(b, "</VALUE.NAMEDINSTANCE>");
		break;
	}
}

/* body_stream's next: instances until the piece is full, then the end of the message. */
static body_stream_rc instances_next(void *ctx, strbuf *b)
{
	instance_stream *is = ctx;
	rdms_error err = { 0 };
	cim_instance *inst;

	while (b->len < BODY_STREAM_PIECE && (inst = rdms_cursor_next(is->cur, &err)) != NULL) {
		write_one(is, b, inst);
		cim_instance_free(inst);
	}
	if (err.code != WBEM_S_NO_ERROR) {
		log_warn("cimxml: enumeration cut off midway: %s", err.message);
		return BODY_STREAM_FAILED;
	}
	if (b->len >= BODY_STREAM_PIECE)
		return BODY_STREAM_MORE;
	PUTS(b, "</IRETURNVALUE>");
	cimxml_write_response_end(b, true);
	cimxml_write_end(b);
	return BODY_STREAM_END;
}

/*
 * EnumerateInstances(Names) and ExecQuery: the cursor opens (every
 * failure the operation can have) and its instances become X's stream.
 */
static uint32_t op_instances(cimxml_ctx *x, rdms_error *err)
{
	const cimxml_call *call = x->call;
	instance_stream *is = calloc(1, sizeof *is);
	uint32_t rc = WBEM_S_NO_ERROR;

	if (is == NULL || (is->ns = strdup(call->ns)) == NULL) {
		free(is);
		return nomem(err);
	}
	is->op = call->op;
	is->class_origin = call->include_class_origin;
	is->cfg = x->cfg;
	if (call->op == CIMXML_OP_EXEC_QUERY) {
		if (strcasecmp(call->query_language, "WQL") != 0)
			rc = rdms_fail(err, WBEM_E_INVALID_QUERY_TYPE,
			               "query language %.40s is not supported; use WQL",
			               call->query_language);
		else
			rc = rdms_op_query_cursor(x->p, x->who, call->ns, call->query, &is->query,
			                          &is->cur, err);
		if (rc == WBEM_S_NO_ERROR && !wql_selects_all(is->query)) {
			const cim_class *c = wql_class(is->query);

			if ((is->show = calloc(c->nprops + 1, sizeof *is->show)) == NULL)
				rc = nomem(err);
			for (size_t i = 0; is->show != NULL && i < c->nprops; i++)
				is->show[i] = wql_selects(is->query, i);
		}
	} else {
		rc = rdms_op_cursor(x->p, x->who, call->ns, call->class_name, NULL, &is->cur, err);
		if (rc == WBEM_S_NO_ERROR && call->op == CIMXML_OP_ENUMERATE_INSTANCES)
			rc = property_filter(rdms_schema_find(call->class_name), call, &is->show, err);
	}
	if (rc != WBEM_S_NO_ERROR) {
		instance_stream_free(is);
		return rc;
	}
	x->stream = (body_stream){ instances_next, instance_stream_free, is };
	return WBEM_S_NO_ERROR;
}

/* ---- classes -------------------------------------------------------------- */

static const char *class_namespace(const cim_class *c)
{
	return c->namespace_ != NULL ? c->namespace_ : rdms_schema_namespace;
}

static bool namespace_served(const char *ns)
{
	if (cim_namespace_equal(ns, rdms_schema_namespace))
		return true;
	for (size_t i = 0; i < rdms_schema_nclasses; i++)
		if (cim_namespace_equal(ns, class_namespace(rdms_schema_classes[i])))
			return true;
	return false;
}

/* The class NAME in namespace NS: WBEM_E_INVALID_NAMESPACE / _CLASS otherwise. */
static uint32_t find_class(const char *ns, const char *name, const cim_class **out,
                           rdms_error *err)
{
	const cim_class *c = rdms_schema_find(name);

	*out = NULL;
	if (!namespace_served(ns))
		return rdms_fail(err, WBEM_E_INVALID_NAMESPACE,
		                 "namespace %s is not served here (only %s)", ns, rdms_schema_namespace);
	if (name == NULL)
		return WBEM_S_NO_ERROR;
	if (c == NULL || !cim_namespace_equal(ns, class_namespace(c)))
		return rdms_fail(err, WBEM_E_INVALID_CLASS, "no class %s in namespace %s", name, ns);
	*out = c;
	return WBEM_S_NO_ERROR;
}

static uint32_t op_get_class(cimxml_ctx *x, strbuf *ret, rdms_error *err)
{
	const cim_class *c;
	bool *show = NULL;
	uint32_t rc = find_class(x->call->ns, x->call->class_name, &c, err);

	if (rc != WBEM_S_NO_ERROR)
		return rc;
	/* C is NULL only for a NULL name (the root), which check_required
	 * refuses for GetClass; said here so nothing below depends on that */
	if (c == NULL)
		return rdms_fail(err, WBEM_E_INVALID_PARAMETER,
		                 "GetClass needs the parameter ClassName");
	rc = property_filter(c, x->call, &show, err);
	if (rc == WBEM_S_NO_ERROR)
		cimxml_write_class(ret, c, x->call->include_qualifiers,
		                   x->call->include_class_origin, show);
	free(show);
	return rc;
}

/* True when C is a subclass of BASE (NULL: the root) that the call lists. */
static bool listed(const cim_class *c, const cim_class *base, bool deep)
{
	const char *super = c->superclass;

	if (base == NULL)
		return deep || super == NULL;
	/* Walk up the chain; bounded, so a cycle in a bad MOF cannot hang us. */
	for (int depth = 0; super != NULL && depth < 32; depth++) {
		const cim_class *parent;

		if (strcasecmp(super, base->name) == 0)
			return true;
		if (!deep || (parent = rdms_schema_find(super)) == NULL)
			return false;
		super = parent->superclass;
	}
	return false;
}

static uint32_t op_enumerate_classes(cimxml_ctx *x, strbuf *ret, rdms_error *err)
{
	const cim_class *base;
	uint32_t rc = find_class(x->call->ns, x->call->class_name, &base, err);

	for (size_t i = 0; rc == WBEM_S_NO_ERROR && i < rdms_schema_nclasses; i++) {
		const cim_class *c = rdms_schema_classes[i];

		if (!cim_namespace_equal(x->call->ns, class_namespace(c))
		    || !listed(c, base, x->call->deep_inheritance))
			continue;
		if (x->call->op == CIMXML_OP_ENUMERATE_CLASSES) {
			cimxml_write_class(ret, c, x->call->include_qualifiers,
			                   x->call->include_class_origin, NULL);
		} else {
			strbuf_puts(ret, "<CLASSNAME NAME=\"");
			cimxml_escape(ret, c->name);
			strbuf_puts(ret, "\"/>");
		}
	}
	return rc;
}

/* ---- dispatch ------------------------------------------------------------- */

static uint32_t run_intrinsic(cimxml_ctx *x, strbuf *ret, rdms_error *err)
{
	switch (x->call->op) {
	case CIMXML_OP_ENUMERATE_INSTANCES:
	case CIMXML_OP_ENUMERATE_INSTANCE_NAMES:
	case CIMXML_OP_EXEC_QUERY:
		return op_instances(x, err);
	case CIMXML_OP_GET_INSTANCE:
		return op_get_instance(x, ret, err);
	case CIMXML_OP_GET_CLASS:
		return op_get_class(x, ret, err);
	case CIMXML_OP_ENUMERATE_CLASSES:
	case CIMXML_OP_ENUMERATE_CLASS_NAMES:
		return op_enumerate_classes(x, ret, err);
	default:
		return rdms_fail(err, WBEM_E_NOT_SUPPORTED, "%s is not supported", x->call->method);
	}
}

/*
 * Takes B back to its first AT bytes, so that an error can be written
 * instead.  A failed allocation since then is forgotten too (a failed
 * strbuf keeps its text), unless B had failed already (WAS_FAILED).
 */
static void rewind_to(strbuf *b, size_t at, bool was_failed)
{
	if (b->data == NULL)
		return;
	b->len = at;
	b->data[at] = '\0';
	b->failed = was_failed;
}

/* SendMessage's options from REQ's RDMS-Message* headers. */
static uint32_t message_options(const cimxml_request *req, rdms_message_options *o,
                                rdms_error *err)
{
	uint32_t rc = WBEM_S_NO_ERROR;

	if (req->message_timeout != NULL)
		rc = rdms_message_option(o, RDMS_MESSAGE_OPT_TIMEOUT, req->message_timeout, err);
	if (rc == WBEM_S_NO_ERROR && req->message_wait != NULL)
		rc = rdms_message_option(o, RDMS_MESSAGE_OPT_WAIT, req->message_wait, err);
	return rc;
}

/*
 * The response element's contents: IRETURNVALUE, RETURNVALUE or ERROR.  An
 * intrinsic operation writes straight into B, after "<IRETURNVALUE>": an
 * enumeration is megabytes, not to be copied once more.  If it fails, B is
 * taken back and gets the ERROR alone.
 */
static void run(cimxml_ctx *x, strbuf *b)
{
	const cimxml_call *call = x->call;
	rdms_error err = { 0 };
	size_t at = b->len;
	bool was_failed = b->failed;
	uint32_t rc, rv = 0;

	if (call->intrinsic) {
		strbuf_puts(b, "<IRETURNVALUE>");
		rc = run_intrinsic(x, b, &err);
	} else {
		rdms_message_options o = { 0 };

		rc = message_options(x->req, &o, &err);
		if (rc == WBEM_S_NO_ERROR)
			rc = rdms_op_invoke_opts(x->p, x->who, &call->path, call->path_text,
			                         call->method, call->params, call->nparams, &o, &rv,
			                         &err);
		/* A method that ran and failed answers its RETURNVALUE, as the
		 * class defines it; its reason goes in a header beside it. */
		if (rc == WBEM_S_NO_ERROR && rv != WBEM_S_NO_ERROR) {
			strbuf h = { 0 };

			rdms_op_method_failure(call->method, rv, &err);
			strbuf_put_header_value(&h, err.message);
			x->return_value_text = strbuf_take(&h);
		}
	}
	if (rc == WBEM_S_NO_ERROR && b->failed)
		rc = nomem(&err);
	if (rc != WBEM_S_NO_ERROR) {
		log_debug("cimxml: %s from %s: %s", call->method, x->who->user, err.message);
		rewind_to(b, at, was_failed);
		cimxml_write_error(b, rc, err.message);
		body_stream_end(&x->stream);
		free(x->return_value_text);     /* (out of memory after the method) */
		x->return_value_text = NULL;
	} else if (x->stream.next != NULL) {
		return;     /* the stream ends IRETURNVALUE */
	} else if (call->intrinsic) {
		strbuf_puts(b, "</IRETURNVALUE>");
	} else {
		/* ReturnValue is the method's uint32 result: 0 or a WBEM_E_* code. */
		strbuf_printf(b, "<RETURNVALUE PARAMTYPE=\"uint32\"><VALUE>%u</VALUE></RETURNVALUE>",
		              (unsigned)rv);
	}
}

void cimxml_handle_streamed(rdms_provider *p, const rdms_config *cfg, const rdms_caller *who,
                            const cimxml_request *req, cimxml_reply *out)
{
	size_t max = cfg != NULL && cfg->max_envelope_size > 0 ? (size_t)cfg->max_envelope_size : 0;
	cimxml_call call;
	cimxml_status st;
	strbuf b = { 0 };

	memset(out, 0, sizeof *out);
	/* A no-op after the first call; rdmsd makes that before its threads start. */
	xmlInitParser();
	if (!cimxml_parse(req, max, &call, &st) && st.http_status != 200) {
		log_debug("cimxml: request refused (%d %s): %s", st.http_status,
		          st.cim_error ? st.cim_error : "-", st.err.message);
		out->http_status = st.http_status;
		out->cim_error = st.cim_error;
		cimxml_call_free(&call);
		return;
	}
	cimxml_write_begin(&b, call.message_id);
	cimxml_write_response_begin(&b, call.intrinsic, call.method);
	if (st.err.code != WBEM_S_NO_ERROR) {
		log_debug("cimxml: %s refused: %s", call.method, st.err.message);
		cimxml_write_error(&b, st.err.code, st.err.message);
	} else {
		cimxml_ctx x = { .p = p, .cfg = cfg, .who = who, .call = &call, .req = req };

		run(&x, &b);
		out->return_value_text = x.return_value_text;
		out->stream = x.stream;
	}
	if (out->stream.next == NULL) {
		cimxml_write_response_end(&b, call.intrinsic);
		cimxml_write_end(&b);
	}
	cimxml_call_free(&call);
	out->len = b.len;
	out->body = strbuf_take(&b);
	out->http_status = out->body != NULL ? 200 : 500;
	if (out->body == NULL) {
		out->len = 0;
		free(out->return_value_text);
		out->return_value_text = NULL;
		body_stream_end(&out->stream);
	}
}

void cimxml_handle(rdms_provider *p, const rdms_config *cfg, const rdms_caller *who,
                   const cimxml_request *req, cimxml_reply *out)
{
	cimxml_handle_streamed(p, cfg, who, req, out);
	/* The whole reply, for callers in-process: the stream drained here. */
	if (!body_stream_into(&out->stream, &out->body, &out->len)) {
		free(out->return_value_text);
		out->return_value_text = NULL;
		out->http_status = 500;
	}
}
