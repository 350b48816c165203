/*
 * cli_commands.c -- what each `rdms` command does.
 *
 * A command works the same whether the sessions are reached in-process
 * (--direct: the operation layer and back-ends run here, as root) or
 * through rdmsd (the WS-Man client); the src_* functions pick the way.
 */
#include "cli.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "../audit/audit.h"
#include "../common/log.h"
#include "../common/strutil.h"
#include "../schema/schema.h"

static const cim_class *session_class(void)
{
	return &rdms_class_Win32_VirtualDesktopSession;
}

static uint32_t src_enumerate(cli_ctx *ctx, cim_instance_list *out, rdms_error *err)
{
	if (ctx->opt.direct)
		return rdms_op_enumerate(&ctx->provider, &ctx->caller, NULL,
		                         session_class()->name, out, err);
	return rdms_client_enumerate(ctx->client, session_class(), out, err);
}

static uint32_t src_query(cli_ctx *ctx, const char *wql, wql_query **q,
                          cim_instance_list *out, rdms_error *err)
{
	uint32_t rc;

	if (ctx->opt.direct)
		return rdms_op_query(&ctx->provider, &ctx->caller, NULL, wql, q, out, err);
	/* Parse here too: bad WQL fails before any network traffic, and the
	 * parsed query tells the printer which properties were selected. */
	rc = wql_parse(wql, rdms_schema_find, q, err);
	if (rc == WBEM_S_NO_ERROR)
		rc = rdms_client_query(ctx->client, wql_class(*q), wql, out, err);
	if (rc != WBEM_S_NO_ERROR) {
		wql_free(*q);
		*q = NULL;
	}
	return rc;
}

/*
 * A page of the sessions (WQL: a query on them, or NULL), as --first and
 * --after ask: in key order, through rdmsd's keyset enumeration or, with
 * --direct, sorted here the same way.  *Q gets the parsed query, if any.
 */
static uint32_t src_page(cli_ctx *ctx, const char *wql, wql_query **q, cim_instance_list *out,
                         bool *more, rdms_error *err)
{
	const rdms_key *after = ctx->opt.after_given ? &ctx->opt.after : NULL;
	uint32_t rc;

	*q = NULL;
	*more = false;
	if (ctx->opt.direct) {
		rc = wql != NULL ? rdms_op_query(&ctx->provider, &ctx->caller, NULL, wql, q, out, err)
		                 : src_enumerate(ctx, out, err);
		if (rc != WBEM_S_NO_ERROR)
			return rc;
		if (!rdms_keyset_trim(out, after))
			return rdms_fail(err, WBEM_E_OUT_OF_MEMORY, "out of memory");
		*more = out->count > ctx->opt.first;
		while (out->count > ctx->opt.first)
			cim_instance_free(out->items[--out->count]);
		return WBEM_S_NO_ERROR;
	}
	if (wql != NULL && (rc = wql_parse(wql, rdms_schema_find, q, err)) != WBEM_S_NO_ERROR)
		return rc;
	rc = rdms_client_page(ctx->client, session_class(), wql, after, ctx->opt.first, out, more,
	                      err);
	if (rc != WBEM_S_NO_ERROR) {
		wql_free(*q);
		*q = NULL;
	}
	return rc;
}

/* On stderr, how to ask for the page after L's last session (the text output's hint). */
static void hint_next_page(const cli_ctx *ctx, const cim_instance_list *l, bool more)
{
	rdms_key k;

	if (!more || l->count == 0 || ctx->opt.json)
		return;
	rdms_session_key(l->items[l->count - 1], &k);
	fprintf(stderr, "%s: more sessions may follow: add --after '%s,%" PRIu32 "'\n",
	        log_progname(), k.text, k.num);
}

/* The WQL that selects what `rdms list FILTER` shows (a SessionId or a user), malloc'd. */
static char *list_filter_wql(const char *filter)
{
	strbuf b = { 0 };

	strbuf_printf(&b, "SELECT * FROM %s WHERE ", session_class()->name);
	if (cli_is_id(filter)) {
		strbuf_printf(&b, "SessionId = %s", filter);
	} else {
		strbuf_puts(&b, "UserName = '");
		for (const char *p = filter; *p != '\0'; p++) {
			if (*p == '\\' || *p == '\'')
				strbuf_append(&b, "\\", 1);
			strbuf_append(&b, p, 1);
		}
		strbuf_puts(&b, "'");
	}
	if (b.failed) {
		strbuf_free(&b);
		return NULL;
	}
	return b.data;
}

/* `rdms list --first N [--after HOST,ID] [USER|ID]`: one page, without the details. */
static int list_page(cli_ctx *ctx, const char *filter)
{
	cim_instance_list l = { 0 };
	rdms_error err = { 0 };
	wql_query *q = NULL;
	char *wql = NULL;
	bool more;
	uint32_t rc = WBEM_S_NO_ERROR;

	if (filter != NULL && (wql = list_filter_wql(filter)) == NULL)
		rc = rdms_fail(&err, WBEM_E_OUT_OF_MEMORY, "out of memory");
	if (rc == WBEM_S_NO_ERROR)
		rc = src_page(ctx, wql, &q, &l, &more, &err);
	free(wql);
	wql_free(q);
	if (rc != WBEM_S_NO_ERROR)
		return cli_report(&err);
	/* the details (idle time) cost a look at every session's X server: not for a page */
	if (ctx->opt.json)
		cli_print_json_sessions(stdout, &l, NULL);
	else
		cli_print_sessions(stdout, &l, NULL);
	hint_next_page(ctx, &l, more);
	cim_instance_list_free(&l);
	return CLI_OK;
}

static uint32_t src_get(cli_ctx *ctx, const cim_path *path, cim_instance **out,
                        rdms_error *err)
{
	if (ctx->opt.direct)
		return rdms_op_get(&ctx->provider, &ctx->caller, path, out, err);
	return rdms_client_get(ctx->client, session_class(), path, out, err);
}

/* The path that names session ID by its SessionId alone (ID: digits). */
static uint32_t bare_path(const char *id, cim_path *path, rdms_error *err)
{
	char text[128];

	snprintf(text, sizeof text, "%s.SessionId=%s", session_class()->name, id);
	return cim_path_parse(text, path, err);
}

/*
 * Turns ID or PATH into an object path.  A bare id is resolved where the
 * sessions are: in direct mode and through the local rdmsd the path gives
 * SessionId alone, which the operation layer takes as that session on its
 * own host (with its VMHostName, whatever this command's config says), so
 * that `rdms list` and `rdms disconnect ID` agree, and a refused attempt on
 * someone else's session reaches that layer and its audit trail.  With
 * --host (perhaps not rdmsd) the host's name is found by listing; an id
 * held by several hosts is refused, and one not listed is sent bare, for
 * the server to answer (a caller may not see every session).
 */
static uint32_t target_path(cli_ctx *ctx, const char *arg, cim_path *path, rdms_error *err)
{
	cim_instance_list l = { 0 };
	char *text = NULL;
	uint32_t rc;
	size_t hits = 0;

	memset(path, 0, sizeof *path);
	if (!cli_is_id(arg))
		return cim_path_parse(arg, path, err);
	if ((rc = cli_id_in_range(arg, err)) != WBEM_S_NO_ERROR)
		return rc;
	if (ctx->opt.host_url == NULL)
		return bare_path(arg, path, err);
	rc = src_enumerate(ctx, &l, err);
	for (size_t i = 0; rc == WBEM_S_NO_ERROR && i < l.count; i++) {
		char buf[16];

		if (strcmp(cim_value_text(&l.items[i]->values[RDMS_WIN32_VIRTUALDESKTOPSESSION_SESSIONID],
		                          buf, sizeof buf), arg) != 0 || hits++ > 0)
			continue;
		text = cim_instance_path(session_class(), l.items[i]->values);
	}
	cim_instance_list_free(&l);
	if (rc == WBEM_S_NO_ERROR && hits == 0)
		rc = bare_path(arg, path, err);
	else if (rc == WBEM_S_NO_ERROR && hits > 1)
		rc = rdms_fail(err, WBEM_E_AMBIGUOUS_OPERATION,
		               "session id %s exists on %zu hosts; give a PATH", arg, hits);
	else if (rc == WBEM_S_NO_ERROR && text == NULL)
		rc = rdms_fail(err, WBEM_E_OUT_OF_MEMORY, "out of memory");
	else if (rc == WBEM_S_NO_ERROR)
		rc = cim_path_parse(text, path, err);
	free(text);
	return rc;
}

/* Instances of CLS: in-process with --direct, else from rdmsd or --host. */
static uint32_t src_enumerate_class(cli_ctx *ctx, const cim_class *cls, cim_instance_list *out,
                                    rdms_error *err)
{
	if (ctx->opt.direct)
		return rdms_op_enumerate(&ctx->provider, &ctx->caller, NULL, cls->name, out, err);
	return rdms_client_enumerate(ctx->client, cls, out, err);
}

/* True when session INST is the one FILTER names: its SessionId, or its user's name. */
static bool list_selects(const cim_instance *inst, const char *filter)
{
	char buf[16];
	const cim_value *user = &inst->values[RDMS_WIN32_VIRTUALDESKTOPSESSION_USERNAME];

	if (filter == NULL)
		return true;
	if (cli_is_id(filter))
		return strcmp(cim_value_text(&inst->values[RDMS_WIN32_VIRTUALDESKTOPSESSION_SESSIONID],
		                             buf, sizeof buf), filter) == 0;
	return !user->is_null && strcasecmp(user->u.str, filter) == 0;
}

/*
 * Says on stderr which configured servers are not running, so an empty
 * list is not taken for "no sessions" when xrdp is down.  A server that
 * does not serve RDMS_Backend (an older rdmsd, Windows) says nothing.
 */
static void warn_not_running(cli_ctx *ctx)
{
	cim_instance_list b = { 0 };
	rdms_error err = { 0 };

	if (src_enumerate_class(ctx, &rdms_class_RDMS_Backend, &b, &err) != WBEM_S_NO_ERROR)
		log_debug("back-ends: %s", err.message);
	for (size_t i = 0; i < b.count; i++) {
		const cim_value *v = b.items[i]->values;

		if (v[RDMS_RDMS_BACKEND_SERVED].is_null || !v[RDMS_RDMS_BACKEND_SERVED].u.boolean ||
		    v[RDMS_RDMS_BACKEND_RUNNING].is_null || v[RDMS_RDMS_BACKEND_RUNNING].u.boolean)
			continue;
		fprintf(stderr, "%s: %s is not running: %s; its sessions are not listed\n",
		        log_progname(), v[RDMS_RDMS_BACKEND_NAME].u.str,
		        v[RDMS_RDMS_BACKEND_REASON].is_null ? "" : v[RDMS_RDMS_BACKEND_REASON].u.str);
	}
	cim_instance_list_free(&b);
}

uint32_t cli_enumerate(cli_ctx *ctx, cim_instance_list *out, rdms_error *err)
{
	return src_enumerate(ctx, out, err);
}

uint32_t cli_target_path(cli_ctx *ctx, const char *arg, cim_path *path, rdms_error *err)
{
	return target_path(ctx, arg, path, err);
}

static int cmd_list(cli_ctx *ctx)
{
	const char *filter = ctx->opt.nargs > 0 ? ctx->opt.args[0] : NULL;
	cim_instance_list l = { 0 }, details = { 0 };
	rdms_error err = { 0 }, derr = { 0 };
	uint32_t rc;
	size_t keep = 0;

	if (ctx->opt.first)
		return list_page(ctx, filter);
	if ((rc = src_enumerate(ctx, &l, &err)) != WBEM_S_NO_ERROR)
		return cli_report(&err);
	for (size_t i = 0; i < l.count; i++) {
		if (list_selects(l.items[i], filter))
			l.items[keep++] = l.items[i];
		else
			cim_instance_free(l.items[i]);
	}
	l.count = keep;
	/* the details cost a look at every session's X server: only when some are listed */
	if (l.count > 0 &&
	    src_enumerate_class(ctx, &rdms_class_RDMS_SessionDetail, &details, &derr) != 0)
		log_debug("session details: %s", derr.message);
	warn_not_running(ctx);
	if (filter != NULL && l.count == 0) {
		rdms_fail(&err, WBEM_E_NOT_FOUND, cli_is_id(filter) ? "no session %s"
		                                                      : "no session of user %s", filter);
		rc = WBEM_E_NOT_FOUND;
	} else if (ctx->opt.json) {
		cli_print_json_sessions(stdout, &l, &details);
	} else {
		cli_print_sessions(stdout, &l, &details);
	}
	cim_instance_list_free(&l);
	cim_instance_list_free(&details);
	return rc == WBEM_S_NO_ERROR ? CLI_OK : cli_report(&err);
}

static int cmd_query(cli_ctx *ctx)
{
	cim_instance_list l = { 0 };
	rdms_error err = { 0 };
	wql_query *q = NULL;
	bool more = false;
	uint32_t rc = ctx->opt.first ? src_page(ctx, ctx->opt.args[0], &q, &l, &more, &err)
	                             : src_query(ctx, ctx->opt.args[0], &q, &l, &err);

	if (rc != WBEM_S_NO_ERROR)
		return cli_report(&err);
	if (ctx->opt.json)
		cli_print_json_list(stdout, &l, q);
	else
		cli_print_table(stdout, &l, q);
	hint_next_page(ctx, &l, more);
	cim_instance_list_free(&l);
	wql_free(q);
	return CLI_OK;
}

static int cmd_get(cli_ctx *ctx)
{
	rdms_error err = { 0 };
	cim_instance *inst = NULL;
	cim_path path;
	uint32_t rc = target_path(ctx, ctx->opt.args[0], &path, &err);

	if (rc == WBEM_S_NO_ERROR)
		rc = src_get(ctx, &path, &inst, &err);
	cim_path_free(&path);
	if (rc != WBEM_S_NO_ERROR)
		return cli_report(&err);
	if (ctx->opt.json) {
		cli_print_json_instance(stdout, inst, NULL);
		fputc('\n', stdout);
	} else {
		cli_print_instance(stdout, inst);
	}
	cim_instance_free(inst);
	return CLI_OK;
}

uint32_t cli_invoke(cli_ctx *ctx, rdms_client *client, const cim_path *path,
                    const char *path_text, const char *method, const rdms_param *in,
                    size_t nin, const rdms_message_options *mopt, uint32_t *rv,
                    rdms_error *err)
{
	if (ctx->opt.direct)
		return rdms_op_invoke_opts(&ctx->provider, &ctx->caller, path, path_text, method, in,
		                           nin, mopt, rv, err);
	return rdms_client_invoke_opts(client, session_class(), path, method, in, nin, mopt, rv,
	                               err);
}

static int invoke(cli_ctx *ctx, const char *method, const rdms_param *in, size_t nin)
{
	rdms_error err = { 0 };
	uint32_t rv = WBEM_E_FAILED;
	cim_path path;
	char *text = NULL;
	uint32_t rc = target_path(ctx, ctx->opt.args[0], &path, &err);

	if (rc == WBEM_S_NO_ERROR) {
		text = cim_path_format(&path);
		if (text == NULL)
			rc = rdms_fail(&err, WBEM_E_OUT_OF_MEMORY, "out of memory");
	}
	if (rc == WBEM_S_NO_ERROR)
		rc = cli_invoke(ctx, ctx->client, &path, text, method, in, nin, NULL, &rv, &err);
	cim_path_free(&path);
	free(text);
	if (rc != WBEM_S_NO_ERROR)
		return cli_report(&err);
	if (ctx->opt.json)
		printf("{\"ReturnValue\": %u}\n", (unsigned)rv);
	/* A method that failed: its code and reason, through rdmsd as --direct. */
	if (rv != WBEM_S_NO_ERROR) {
		rdms_op_method_failure(method, rv, &err);
		return cli_report(&err);
	}
	return CLI_OK;
}

static int cmd_disconnect(cli_ctx *ctx)
{
	return invoke(ctx, "Disconnect", NULL, 0);
}

static int cmd_logoff(cli_ctx *ctx)
{
	return invoke(ctx, "Logoff", NULL, 0);
}

static void print_qualifiers(FILE *f, const cim_qualifier *q, size_t n)
{
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%s%s", i ? ", " : "", q[i].name);
}

static int cmd_class(cli_ctx *ctx)
{
	const cim_class *c = session_class();

	if (ctx->opt.mof) {
		char *mof = cim_class_to_mof(c);

		if (mof == NULL) {
			rdms_error err;
			rdms_fail(&err, WBEM_E_OUT_OF_MEMORY, "out of memory");
			return cli_report(&err);
		}
		fputs(mof, stdout);
		free(mof);
		return CLI_OK;
	}
	if (ctx->opt.json) {
		printf("{\"Name\": \"%s\", \"Namespace\": \"%s\", \"Properties\": [", c->name,
		       c->namespace_);
		for (size_t i = 0; i < c->nprops; i++)
			printf("%s{\"Name\": \"%s\", \"Type\": \"%s\", \"Key\": %s}", i ? ", " : "",
			       c->props[i].name, cim_type_name(c->props[i].type),
			       c->props[i].is_key ? "true" : "false");
		printf("], \"Methods\": [");
		for (size_t i = 0; i < c->nmethods; i++) {
			printf("%s{\"Name\": \"%s\", \"ReturnType\": \"%s\", \"Parameters\": [",
			       i ? ", " : "", c->methods[i].name,
			       cim_type_name(c->methods[i].return_type));
			for (size_t j = 0; j < c->methods[i].nparams; j++)
				printf("%s{\"Name\": \"%s\", \"Type\": \"%s\"}", j ? ", " : "",
				       c->methods[i].params[j].name,
				       cim_type_name(c->methods[i].params[j].type));
			printf("]}");
		}
		printf("]}\n");
		return CLI_OK;
	}
	printf("class %s (namespace %s)\n  qualifiers: ", c->name, c->namespace_);
	print_qualifiers(stdout, c->quals, c->nquals);
	printf("\n  properties:\n");
	for (size_t i = 0; i < c->nprops; i++)
		printf("    %-8s %s%s\n", cim_type_name(c->props[i].type), c->props[i].name,
		       c->props[i].is_key ? " [key]" : "");
	printf("  methods:\n");
	for (size_t i = 0; i < c->nmethods; i++) {
		printf("    %s %s(", cim_type_name(c->methods[i].return_type), c->methods[i].name);
		for (size_t j = 0; j < c->methods[i].nparams; j++)
			printf("%s[in] %s %s", j ? ", " : "",
			       cim_type_name(c->methods[i].params[j].type),
			       c->methods[i].params[j].name);
		printf(")\n");
	}
	return CLI_OK;
}

struct audit_print {
	bool   json;
	bool   header;    /* the table's header is still to be printed */
	size_t rows;
};

static void print_audit_header(void)
{
	printf("%-24s %-10s %-7s %-22s %-11s %-10s %-26s %s\n", "TIME", "USER", "PROTO",
	       "SOURCE", "METHOD", "RESULT", "", "TARGET");
}

static int print_audit_row(void *vctx, const rdms_audit_entry *e)
{
	struct audit_print *ap = vctx;
	const wbem_code *code = wbem_lookup(e->result);
	const char *name = code != NULL ? code->name : "";

	if (ap->header) {
		print_audit_header();
		ap->header = false;
	}
	if (!ap->json) {
		printf("%-24s %-10s %-7s %-22s %-11s 0x%08X %-26s %s%s%s\n", e->time, e->user,
		       e->protocol, e->source, e->method, (unsigned)e->result, name, e->target,
		       e->detail[0] ? "  -- " : "", e->detail);
		ap->rows++;
		return 0;
	}
	fputs(ap->rows++ == 0 ? "[" : ",\n ", stdout);
	printf("{\"id\": %lld, \"time\": ", e->id);
	cli_json_string(stdout, e->time);
	printf(", \"user\": ");
	cli_json_string(stdout, e->user);
	printf(", \"uid\": %lld, \"source\": ", e->uid);
	cli_json_string(stdout, e->source);
	printf(", \"protocol\": ");
	cli_json_string(stdout, e->protocol);
	printf(", \"target\": ");
	cli_json_string(stdout, e->target);
	printf(", \"method\": ");
	cli_json_string(stdout, e->method);
	printf(", \"result\": %u, \"result_name\": ", (unsigned)e->result);
	cli_json_string(stdout, name);
	printf(", \"detail\": ");
	cli_json_string(stdout, e->detail);
	putchar('}');
	return 0;
}

bool cli_audit_local(const cli_ctx *ctx)
{
	return ctx->opt.direct ||
	       (ctx->opt.host_url == NULL && access(ctx->cfg.socket_path, F_OK) != 0 &&
	        geteuid() == 0);
}

/* The database itself: root's file (mode 0600), for --direct or when rdmsd is not running. */
static uint32_t audit_from_file(cli_ctx *ctx, struct audit_print *ap, rdms_error *err)
{
	if (geteuid() != 0)
		return rdms_fail(err, WBEM_E_ACCESS_DENIED,
		                 "the audit trail %s is readable by root only; without --direct "
		                 "rdms asks rdmsd", ctx->cfg.audit_db);
	if (access(ctx->cfg.audit_db, R_OK) != 0)
		return rdms_fail(err, WBEM_E_NOT_FOUND, "no audit trail at %s", ctx->cfg.audit_db);
	if (!ctx->opt.direct)
		fprintf(stderr, "%s: rdmsd is not running here; reading %s itself\n", log_progname(),
		        ctx->cfg.audit_db);
	return rdms_audit_query(ctx->cfg.audit_db, ctx->opt.since, print_audit_row, ap, err);
}

/* A DMTF timestamp in UTC back to the audit's "YYYY-MM-DDTHH:MM:SS.mmmZ"; as is otherwise. */
static void audit_time_text(const cim_value *v, char *out, size_t size)
{
	const char *t = v->is_null ? "" : v->u.str;

	if (strlen(t) == 25 && strcmp(t + 21, "+000") == 0)
		snprintf(out, size, "%.4s-%.2s-%.2sT%.2s:%.2s:%.2s.%.3sZ", t, t + 4, t + 6, t + 8,
		         t + 10, t + 12, t + 15);
	else
		snprintf(out, size, "%s", t);
}

static const char *str_or_empty(const cim_value *v)
{
	return v->is_null ? "" : v->u.str;
}

/* The RDMS_AuditRecord instances of rdmsd (local socket or --host), printed as rows. */
static uint32_t audit_from_rdmsd(cli_ctx *ctx, struct audit_print *ap, rdms_error *err)
{
	cim_instance_list l = { 0 };
	wql_query *q = NULL;
	char wql[128];
	uint32_t rc;

	if (ctx->opt.since != NULL) {
		char since[32];

		/* "YYYY-MM-DDTHH:MM:SS", UTC, compared as a DMTF timestamp */
		rdms_audit_normalize_time(ctx->opt.since, since, sizeof since, err);
		snprintf(wql, sizeof wql, "SELECT * FROM RDMS_AuditRecord WHERE Time >= "
		         "'%.4s%.2s%.2s%.2s%.2s%.2s.000000+000'", since, since + 5, since + 8,
		         since + 11, since + 14, since + 17);
	} else {
		snprintf(wql, sizeof wql, "SELECT * FROM RDMS_AuditRecord");
	}
	rc = src_query(ctx, wql, &q, &l, err);
	for (size_t i = 0; rc == WBEM_S_NO_ERROR && i < l.count; i++) {
		const cim_value *v = l.items[i]->values;
		char time[40];
		rdms_audit_entry e;

		audit_time_text(&v[RDMS_RDMS_AUDITRECORD_TIME], time, sizeof time);
		e = (rdms_audit_entry){
			.id = v[RDMS_RDMS_AUDITRECORD_ID].is_null ? -1 : (long long)v[RDMS_RDMS_AUDITRECORD_ID].u.u32,
			.time = time, .user = str_or_empty(&v[RDMS_RDMS_AUDITRECORD_USERNAME]),
			.uid = v[RDMS_RDMS_AUDITRECORD_UID].is_null ? -1
		                                              : (long long)v[RDMS_RDMS_AUDITRECORD_UID].u.u32,
			.source = str_or_empty(&v[RDMS_RDMS_AUDITRECORD_SOURCE]),
			.protocol = str_or_empty(&v[RDMS_RDMS_AUDITRECORD_PROTOCOL]),
			.target = str_or_empty(&v[RDMS_RDMS_AUDITRECORD_TARGET]),
			.method = str_or_empty(&v[RDMS_RDMS_AUDITRECORD_METHOD]),
			.result = v[RDMS_RDMS_AUDITRECORD_RESULT].u.u32,
			.detail = str_or_empty(&v[RDMS_RDMS_AUDITRECORD_DETAIL]),
		};
		print_audit_row(ap, &e);
	}
	cim_instance_list_free(&l);
	wql_free(q);
	return rc;
}

/*
 * The audit trail: from rdmsd -- the local one (root and the admin group)
 * or --host's -- or with --direct (or as root when rdmsd is not running)
 * from the database file.
 */
static int cmd_audit(cli_ctx *ctx)
{
	struct audit_print ap = { .json = ctx->opt.json, .rows = 0 };
	rdms_error err = { 0 };
	uint32_t rc;

	/* (a --since that is no time is a usage error, refused by cli_parse_args) */
	/* the header goes out with the first row (or at the end): not before a failure */
	ap.header = !ap.json;
	rc = cli_audit_local(ctx) ? audit_from_file(ctx, &ap, &err) : audit_from_rdmsd(ctx, &ap, &err);
	if (rc != WBEM_S_NO_ERROR)
		return cli_report(&err);
	if (ap.header)
		print_audit_header();
	if (ap.json)
		puts(ap.rows == 0 ? "[]" : "]");
	return CLI_OK;
}

const cli_command cli_commands[] = {
	{ .name = "list", .usage = "[USER|ID] [--json] [--first N [--after HOST,ID]]",
	  .summary = "list this host's sessions, or a user's, or one",
	  .details = "One row per session: its SessionId, user, state, idle and logon time,\n"
	             "client and host; a USER or a SessionId shows only theirs.\n"
	             "--first N shows one page of N sessions in key order (host, then\n"
	             "SessionId), without idle and logon time; --after HOST,ID starts it after\n"
	             "that session (the previous page's last row; stderr names it when more\n"
	             "may follow).  A broker reads only that page of its directory.",
	  .example = "rdms list --first 100 --after h1,42", .windows = "quser, qwinsta", .max_args = 1,
	  .needs_sessions = true, .run = cmd_list },
	{ .name = "query", .usage = "\"SELECT ... FROM Win32_VirtualDesktopSession [WHERE ...]\" [--json] "
	           "[--first N [--after HOST,ID]]",
	  .summary = "run a WQL query",
	  .details = "Shows the sessions that match a WQL data query, with the properties it\n"
	             "selects.  String comparisons ignore case.  --first and --after page the\n"
	             "answer as for 'rdms list'.",
	  .example = "rdms query \"SELECT SessionId, UserName FROM Win32_VirtualDesktopSession "
	             "WHERE ConnectState = 4\"",
	  .min_args = 1, .max_args = 1, .arg = CLI_ARG_WQL, .needs_sessions = true,
	  .run = cmd_query },
	{ .name = "get", .usage = "ID|PATH [--json]", .summary = "show one session",
	  .details = "Shows every property of one session.",
	  .example = "rdms get 16023 --json", .min_args = 1, .max_args = 1,
	  .arg = CLI_ARG_TARGET, .needs_sessions = true, .run = cmd_get },
	{ .name = "disconnect", .usage = "ID|PATH",
	  .summary = "disconnect a session; it stays for reconnection",
	  .details = "Drops the session's client; the desktop and its programs keep running\n"
	             "until the user connects again.",
	  .example = "rdms disconnect 16023", .windows = "tsdiscon", .min_args = 1,
	  .max_args = 1, .arg = CLI_ARG_TARGET, .needs_sessions = true, .run = cmd_disconnect },
	{ .name = "logoff", .usage = "ID|PATH", .summary = "log a session off; its programs end",
	  .details = "Ends the session: its window manager, its programs and its X server.",
	  .example = "rdms logoff 'Win32_VirtualDesktopSession.VMHostName=\"hv1\",SessionId=16023'",
	  .windows = "logoff", .min_args = 1, .max_args = 1, .arg = CLI_ARG_TARGET,
	  .needs_sessions = true, .run = cmd_logoff },
	{ .name = "message", .usage = "ID|PATH|USER|* --title T --message M [--timeout S] [--wait]",
	  .summary = "show a message in a session, a user's sessions or all",
	  .details = "Shows a dialog with title T and text M on the screen of one session, of\n"
	             "every session of USER, or of every session (*); --timeout S closes it\n"
	             "after S seconds, --wait waits until the user closes it.  One result per\n"
	             "session.",
	  .example = "rdms message alice --title Maintenance --message \"Please save your work\"",
	  .windows = "msg", .min_args = 1, .max_args = 1, .needs_sessions = true,
	  .run = cli_cmd_message },
	{ .name = "class", .usage = "[--mof] [--json]", .summary = "show the class definition",
	  .details = "Shows Win32_VirtualDesktopSession's properties and methods; --mof prints\n"
	             "it as MOF.",
	  .example = "rdms class --mof", .run = cmd_class },
	{ .name = "audit", .usage = "[--since T] [--json]",
	  .summary = "show the audit trail of method calls (root and the admin group)",
	  .details = "Shows every Disconnect, Logoff and SendMessage rdmsd carried out or\n"
	             "refused: time, caller, protocol, source, method, result and target.\n"
	             "--since T (YYYY-MM-DD[THH:MM[:SS]][Z|+HH:MM], UTC without a zone)\n"
	             "shows only newer ones.",
	  .example = "rdms audit --since 2026-01-01", .needs_sessions = true, .run = cmd_audit },
	{ .name = "watch",
	  .usage = "[--event LIST | --query WQL] [--since BOOKMARK] [--json]",
	  .summary = "show sessions as they log on, connect, disconnect, change, log off",
	  .details = "Subscribes to rdmsd's session events and prints one line per event until\n"
	             "interrupted: time (UTC), event, host, SessionId, user and what changed.\n"
	             "--event takes a comma-separated list of logon, logoff, connect,\n"
	             "disconnect and change (every event); --query a WQL event query such as\n"
	             "  SELECT * FROM __InstanceModificationEvent WHERE TargetInstance ISA\n"
	             "  'Win32_VirtualDesktopSession' AND TargetInstance.ConnectState = 4\n"
	             "--since BOOKMARK goes on right after the event that bookmark came with\n"
	             "(--json prints them; 'earliest' starts from the oldest event rdmsd keeps).\n"
	             "--json prints one object per line: event, reason, time, bookmark,\n"
	             "previous and target.  Ctrl-C ends the subscription; if it is lost\n"
	             "(rdmsd restarted) rdms watch exits 1 and names the bookmark to resume from.",
	  .example = "rdms watch --event connect,disconnect",
	  .windows = "Register-CimIndicationEvent", .needs_sessions = true,
	  .run = cli_cmd_watch },
	{ .name = "fleet", .usage = "hosts | host add NAME URL --fingerprint FP | host remove NAME | db init",
	  .summary = "administer a fleet broker's hosts (root, on the broker)",
	  .details = "A broker (role = broker) serves the sessions of the hosts registered in\n"
	             "its directory (store_path).  'host add' registers a host's WS-Management\n"
	             "URL and pins its certificate by the SHA-256 fingerprint its rdmsd logs at\n"
	             "start; 'host remove' forgets it and its sessions; 'hosts' lists them with\n"
	             "their state (running, unknown, invalid), sessions and last contact\n"
	             "(--json: Name, Url, ServerState, Sessions, LastContact); 'db init' or\n"
	             "'db upgrade' makes the directory or brings its schema up to date.",
	  .example = "rdms fleet host add hv001 https://198.18.1.1:5986/wsman --fingerprint "
	             "SHA256:4E:FD:81:8D:6B:02:A3:B6:F8:0B:9A:00:63:0F:CC:E9:24:08:E3:C2:E6:1E:29:9C:"
	             "C3:2D:F5:1D:A6:5B:12:D3",
	  .windows = "Add-RDServer", .min_args = 1, .max_args = 4, .run = cli_cmd_fleet },
	{ .name = "user", .usage = "set NAME [--domain D] | remove NAME | list",
	  .summary = "manage Negotiate/NTLM logins (root)",
	  .details = "Windows clients log in with Negotiate/NTLM by default, which needs the\n"
	             "NT hash of the password: 'set' stores it for the local account NAME in\n"
	             "rdmsd.conf's ntlm_users (root-only, like /etc/shadow; no password is\n"
	             "stored), with --domain D accepting only that domain (else any); the\n"
	             "password is read from standard input when it is not a terminal, else\n"
	             "typed twice, never from the command line.  'remove' forgets NAME,\n"
	             "'list' shows who is in the store (--json: User, Domain).",
	  .example = "rdms user set rdmsadmin --domain LAB",
	  .windows = "net user", .min_args = 1, .max_args = 2, .run = cli_cmd_user },
	{ .name = NULL },
};
