/*
 * cli_commands.c -- what each `rdms` command does.
 *
 * A command works the same whether the sessions are reached in-process
 * (--direct: the operation layer and back-ends run here, as root) or
 * through rdmsd (the WS-Man client); the src_* functions pick the way.
 */
#include "cli.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../audit/audit.h"
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

static uint32_t src_get(cli_ctx *ctx, const cim_path *path, cim_instance **out,
                        rdms_error *err)
{
	if (ctx->opt.direct)
		return rdms_op_get(&ctx->provider, &ctx->caller, path, out, err);
	return rdms_client_get(ctx->client, session_class(), path, out, err);
}

static bool all_digits(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

/*
 * Turns ID or PATH into an object path.  A bare id is unambiguous on this
 * host -- in direct mode and through the local rdmsd, which reads the same
 * config -- so it takes this host's VMHostName, and a refused attempt on
 * someone else's session reaches the operation layer and its audit trail.
 * With --host the remote host's name is found by listing, and an id held
 * by several hosts is refused.
 */
static uint32_t target_path(cli_ctx *ctx, const char *arg, cim_path *path, rdms_error *err)
{
	cim_instance_list l = { 0 };
	char *text = NULL;
	uint32_t rc;
	size_t hits = 0;

	memset(path, 0, sizeof *path);
	if (!all_digits(arg))
		return cim_path_parse(arg, path, err);
	if (strlen(arg) > 10 || strtoull(arg, NULL, 10) > UINT32_MAX)
		return rdms_fail(err, WBEM_E_INVALID_OBJECT_PATH,
		                 "session id %s is out of range for uint32", arg);
	if (ctx->opt.host_url == NULL) {
		size_t need = strlen(ctx->cfg.vm_host_name) * 2 + 96;
		char *p = malloc(need), *o;

		if (p == NULL)
			return rdms_fail(err, WBEM_E_OUT_OF_MEMORY, "out of memory");
		o = p + sprintf(p, "%s.VMHostName=\"", session_class()->name);
		for (const char *h = ctx->cfg.vm_host_name; *h; h++) {
			if (*h == '"' || *h == '\\')
				*o++ = '\\';
			*o++ = *h;
		}
		sprintf(o, "\",SessionId=%s", arg);
		rc = cim_path_parse(p, path, err);
		free(p);
		return rc;
	}
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
		rc = rdms_fail(err, WBEM_E_NOT_FOUND, "no session %s", arg);
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

static int cmd_list(cli_ctx *ctx)
{
	cim_instance_list l = { 0 };
	rdms_session_list sl = { 0 };
	rdms_error err = { 0 };
	uint32_t rc = WBEM_S_NO_ERROR;

	if (ctx->opt.direct) {
		rc = rdms_op_sessions(&ctx->provider, &ctx->caller, &sl, &err);
		for (size_t i = 0; rc == WBEM_S_NO_ERROR && i < sl.count; i++) {
			cim_instance *inst = rdms_op_instance(&ctx->provider, &sl.items[i]);

			if (inst == NULL || !cim_instance_list_push(&l, inst)) {
				cim_instance_free(inst);
				rc = rdms_fail(&err, WBEM_E_OUT_OF_MEMORY, "out of memory");
			}
		}
	} else {
		rc = src_enumerate(ctx, &l, &err);
	}
	if (rc == WBEM_S_NO_ERROR) {
		if (ctx->opt.json)
			cli_print_json_list(stdout, &l, NULL);
		else
			cli_print_sessions(stdout, &l, ctx->opt.direct ? &sl : NULL);
	}
	cim_instance_list_free(&l);
	rdms_session_list_free(&sl);
	return rc == WBEM_S_NO_ERROR ? CLI_OK : cli_report(&err);
}

static int cmd_query(cli_ctx *ctx)
{
	cim_instance_list l = { 0 };
	rdms_error err = { 0 };
	wql_query *q = NULL;
	uint32_t rc = src_query(ctx, ctx->opt.args[0], &q, &l, &err);

	if (rc != WBEM_S_NO_ERROR)
		return cli_report(&err);
	if (ctx->opt.json)
		cli_print_json_list(stdout, &l, q);
	else
		cli_print_table(stdout, &l, q);
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
	if (rc == WBEM_S_NO_ERROR && ctx->opt.direct)
		rc = rdms_op_invoke(&ctx->provider, &ctx->caller, &path, text, method, in, nin,
		                    &rv, &err);
	else if (rc == WBEM_S_NO_ERROR)
		rc = rdms_client_invoke(ctx->client, session_class(), &path, method, in, nin,
		                        &rv, &err);
	cim_path_free(&path);
	free(text);
	if (rc != WBEM_S_NO_ERROR)
		return cli_report(&err);
	if (ctx->opt.json)
		printf("{\"ReturnValue\": %u}\n", (unsigned)rv);
	if (rv != WBEM_S_NO_ERROR) {
		if (err.code != rv)
			rdms_fail(&err, rv, "%s returned %u", method, (unsigned)rv);
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

static int cmd_message(cli_ctx *ctx)
{
	rdms_param in[2] = {
		{ "Title", cim_string(ctx->opt.title) },
		{ "Message", cim_string(ctx->opt.message) },
	};
	int rc;

	if (in[0].value.is_null || in[1].value.is_null) {
		rdms_error err;

		cim_value_clear(&in[0].value);
		cim_value_clear(&in[1].value);
		rdms_fail(&err, WBEM_E_OUT_OF_MEMORY, "out of memory");
		return cli_report(&err);
	}
	rc = invoke(ctx, "SendMessage", in, 2);
	cim_value_clear(&in[0].value);
	cim_value_clear(&in[1].value);
	return rc;
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
	size_t rows;
};

static int print_audit_row(void *vctx, const rdms_audit_entry *e)
{
	struct audit_print *ap = vctx;
	const wbem_code *code = wbem_lookup(e->result);
	const char *name = code != NULL ? code->name : "";

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

/* The audit trail is root's file (mode 0600): admins read it as root. */
static int cmd_audit(cli_ctx *ctx)
{
	struct audit_print ap = { .json = ctx->opt.json, .rows = 0 };
	rdms_error err = { 0 };
	uint32_t rc;

	if (geteuid() != 0) {
		rdms_fail(&err, WBEM_E_ACCESS_DENIED,
		          "the audit trail %s is readable by root only", ctx->cfg.audit_db);
		return cli_report(&err);
	}
	if (ctx->opt.since != NULL) {
		char since[32];

		if (rdms_audit_normalize_time(ctx->opt.since, since, sizeof since, &err) != 0)
			return cli_report(&err);
	}
	if (access(ctx->cfg.audit_db, R_OK) != 0) {
		rdms_fail(&err, WBEM_E_NOT_FOUND, "no audit trail at %s", ctx->cfg.audit_db);
		return cli_report(&err);
	}
	if (!ap.json)
		printf("%-24s %-10s %-7s %-22s %-11s %-10s %-26s %s\n", "TIME", "USER", "PROTO",
		       "SOURCE", "METHOD", "RESULT", "", "TARGET");
	rc = rdms_audit_query(ctx->cfg.audit_db, ctx->opt.since, print_audit_row, &ap, &err);
	if (rc != WBEM_S_NO_ERROR)
		return cli_report(&err);
	if (ap.json)
		puts(ap.rows == 0 ? "[]" : "]");
	return CLI_OK;
}

const cli_command cli_commands[] = {
	{ "list", "[--json]", "list this host's sessions", "qwinsta", 0, 0, true, cmd_list },
	{ "query", "\"SELECT ... FROM Win32_VirtualDesktopSession [WHERE ...]\" [--json]",
	  "run a WQL query", NULL, 1, 1, true, cmd_query },
	{ "get", "ID|PATH [--json]", "show one session", NULL, 1, 1, true, cmd_get },
	{ "disconnect", "ID|PATH", "disconnect a session; it stays for reconnection",
	  "tsdiscon", 1, 1, true, cmd_disconnect },
	{ "logoff", "ID|PATH", "log a session off; its programs end", "logoff", 1, 1, true,
	  cmd_logoff },
	{ "message", "ID|PATH --title T --message M", "show a message in a session", "msg",
	  1, 1, true, cmd_message },
	{ "class", "[--mof] [--json]", "show the class definition", NULL, 0, 0, false,
	  cmd_class },
	{ "audit", "[--since T] [--json]", "show the audit trail of method calls (root)",
	  NULL, 0, 0, false, cmd_audit },
	{ NULL, NULL, NULL, NULL, 0, 0, false, NULL },
};
