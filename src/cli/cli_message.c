/*
 * cli_message.c -- `rdms message` [msg]: SendMessage to one session (ID or
 * PATH), to every session of a user (USER, or DOMAIN\USER, as `msg USER`)
 * or to every session the caller may see (`*`, as `msg *`).
 *
 * --timeout S and --wait (`msg /TIME:S /W`) go with each call as
 * SendMessage's out-of-band options (src/backend/message.h), never as
 * arguments of the method.  Recipients are sent to at once, one thread
 * each (at most MAX_THREADS), so that with --wait every user sees the
 * message at the same time and the command ends when the last has answered.
 *
 * One session: silent on success, as `msg` is, the error on stderr
 * otherwise.  A user or `*`: one line per recipient -- SESSIONID, USER and
 * RESULT (shown, closed, or the error) -- or, with --json, one object each
 * with SessionId, UserName, ReturnValue (the method's, or the call's
 * failure), Result and Error.  Exit status 1 when any recipient failed.
 */
#include "cli.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../schema/schema.h"

#define MAX_THREADS 16

typedef struct recipient {
	cim_path   path;
	char      *path_text;
	char       id[16];
	char       user[256];
	uint32_t   result;      /* the call's failure, else the ReturnValue */
	bool       ran;         /* the method ran (RESULT is its ReturnValue) */
	rdms_error err;
} recipient;

typedef struct sending {
	cli_ctx         *ctx;
	recipient       *r;
	size_t           n, next;
	pthread_mutex_t  lock;
} sending;

/* SendMessage to R over CLIENT (NULL: --direct); fills R's result and error. */
static void send_one(cli_ctx *ctx, rdms_client *client, recipient *r)
{
	rdms_param in[2] = {
		{ "Title", cim_string(ctx->opt.title) },
		{ "Message", cim_string(ctx->opt.message) },
	};
	uint32_t rv = WBEM_E_FAILED, rc;

	if (in[0].value.is_null || in[1].value.is_null)
		rc = rdms_fail(&r->err, WBEM_E_OUT_OF_MEMORY, "out of memory");
	else
		rc = cli_invoke(ctx, client, &r->path, r->path_text, "SendMessage", in, 2,
		                &ctx->opt.msg_opts, &rv, &r->err);
	r->ran = rc == WBEM_S_NO_ERROR;
	r->result = rc != WBEM_S_NO_ERROR ? rc : rv;
	if (rc == WBEM_S_NO_ERROR && rv != WBEM_S_NO_ERROR)
		rdms_op_method_failure("SendMessage", rv, &r->err);
	cim_value_clear(&in[0].value);
	cim_value_clear(&in[1].value);
}

static void *sender(void *arg)
{
	sending *s = arg;
	rdms_client *client = NULL;
	rdms_error err = { 0 };

	if (!s->ctx->opt.direct)
		client = rdms_client_new(&s->ctx->client_opt, &err);
	for (;;) {
		size_t i;

		pthread_mutex_lock(&s->lock);
		i = s->next++;
		pthread_mutex_unlock(&s->lock);
		if (i >= s->n)
			break;
		if (!s->ctx->opt.direct && client == NULL) {
			s->r[i].err = err;
			s->r[i].result = err.code;
			continue;
		}
		send_one(s->ctx, client, &s->r[i]);
	}
	rdms_client_free(client);
	return NULL;
}

/* Sends to the N recipients R, all at once. */
static void send_all(cli_ctx *ctx, recipient *r, size_t n)
{
	sending s = { .ctx = ctx, .r = r, .n = n };
	pthread_t t[MAX_THREADS];
	size_t nt = n < MAX_THREADS ? n : MAX_THREADS, started = 0;

	pthread_mutex_init(&s.lock, NULL);
	for (; started < nt; started++)
		if (pthread_create(&t[started], NULL, sender, &s) != 0)
			break;
	if (started == 0)
		sender(&s);   /* no thread could be had: one after another */
	for (size_t i = 0; i < started; i++)
		pthread_join(t[i], NULL);
	pthread_mutex_destroy(&s.lock);
}

/* ---- who gets it --------------------------------------------------------- */

/* True when instance values V belong to WHO: USER, or DOMAIN\USER; "*" is everyone. */
static bool addressed(const cim_value *v, const char *who)
{
	const char *user = v[RDMS_WIN32_VIRTUALDESKTOPSESSION_USERNAME].u.str;
	const char *domain = v[RDMS_WIN32_VIRTUALDESKTOPSESSION_DOMAINNAME].u.str;
	const char *slash = strchr(who, '\\');

	if (strcmp(who, "*") == 0)
		return true;
	if (user == NULL)
		return false;
	/* names as `rdms list USER` matches them: case does not matter (msg, quser) */
	if (slash == NULL)
		return strcasecmp(user, who) == 0;
	return domain != NULL && strlen(domain) == (size_t)(slash - who) &&
	       strncasecmp(domain, who, (size_t)(slash - who)) == 0 &&
	       strcasecmp(user, slash + 1) == 0;
}

static uint32_t add_recipient(recipient *r, char *path_text, const char *id, const char *user,
                              rdms_error *err)
{
	r->path_text = path_text;
	snprintf(r->id, sizeof r->id, "%s", id);
	snprintf(r->user, sizeof r->user, "%s", user);
	return path_text != NULL ? cim_path_parse(path_text, &r->path, err)
	                         : rdms_fail(err, WBEM_E_OUT_OF_MEMORY, "out of memory");
}

/* The sessions of WHO (a user name or "*") the caller may see, into *R. */
static uint32_t recipients_of(cli_ctx *ctx, const char *who, recipient **r, size_t *n,
                              rdms_error *err)
{
	cim_instance_list l = { 0 };
	uint32_t rc = cli_enumerate(ctx, &l, err);

	recipient *list;

	*r = NULL;
	*n = 0;
	if (rc != WBEM_S_NO_ERROR)
		return rc;
	if ((list = calloc(l.count + 1, sizeof *list)) == NULL) {
		cim_instance_list_free(&l);
		return rdms_fail(err, WBEM_E_OUT_OF_MEMORY, "out of memory");
	}
	*r = list;
	for (size_t i = 0; rc == WBEM_S_NO_ERROR && i < l.count; i++) {
		const cim_value *v = l.items[i]->values;
		char id[16];

		if (!addressed(v, who))
			continue;
		cim_value_text(&v[RDMS_WIN32_VIRTUALDESKTOPSESSION_SESSIONID], id, sizeof id);
		rc = add_recipient(&list[(*n)++],
		                   cim_instance_path(&rdms_class_Win32_VirtualDesktopSession, v), id,
		                   v[RDMS_WIN32_VIRTUALDESKTOPSESSION_USERNAME].u.str
		                   ? v[RDMS_WIN32_VIRTUALDESKTOPSESSION_USERNAME].u.str : "", err);
	}
	cim_instance_list_free(&l);
	if (rc == WBEM_S_NO_ERROR && *n == 0)
		rc = strcmp(who, "*") == 0
		     ? rdms_fail(err, WBEM_E_NOT_FOUND, "no sessions to send the message to")
		     : rdms_fail(err, WBEM_E_NOT_FOUND, "no session of user %s", who);
	return rc;
}

static void free_recipients(recipient *r, size_t n)
{
	for (size_t i = 0; r != NULL && i < n; i++) {
		cim_path_free(&r[i].path);
		free(r[i].path_text);
	}
	free(r);
}

/* ---- what is said ----------------------------------------------------------- */

static const char *outcome(const cli_ctx *ctx, const recipient *r)
{
	if (r->result != WBEM_S_NO_ERROR)
		return "failed";
	return ctx->opt.msg_opts.wait ? "closed" : "shown";
}

static void print_results(const cli_ctx *ctx, const recipient *r, size_t n)
{
	size_t wu = strlen("USER");

	if (ctx->opt.json) {
		for (size_t i = 0; i < n; i++) {
			fputs(i == 0 ? "[" : ",\n ", stdout);
			printf("{\"SessionId\": %s, \"UserName\": ", r[i].id);
			cli_json_string(stdout, r[i].user);
			printf(", \"ReturnValue\": %u, \"Result\": \"%s\", \"Error\": ",
			       (unsigned)r[i].result, outcome(ctx, &r[i]));
			cli_json_string(stdout, r[i].result != WBEM_S_NO_ERROR ? r[i].err.message : "");
			putchar('}');
		}
		puts("]");
		return;
	}
	for (size_t i = 0; i < n; i++)
		if (strlen(r[i].user) > wu)
			wu = strlen(r[i].user);
	printf("%-10s %-*s  %s\n", "SESSIONID", (int)wu, "USER", "RESULT");
	for (size_t i = 0; i < n; i++) {
		const wbem_code *c = wbem_lookup(r[i].result);

		printf("%-10s %-*s  ", r[i].id, (int)wu, r[i].user);
		if (r[i].result == WBEM_S_NO_ERROR)
			printf("%s\n", outcome(ctx, &r[i]));
		else
			printf("%s (0x%08X): %s\n", c ? c->name : "WBEM_E_FAILED",
			       (unsigned)r[i].result, r[i].err.message);
	}
}

int cli_cmd_message(cli_ctx *ctx)
{
	const char *target = ctx->opt.args[0];
	rdms_error err = { 0 };
	recipient *r = NULL;
	size_t n = 0;
	uint32_t rc;
	int status = CLI_OK;

	/* ID or PATH: one session, as before; else a user, or everyone */
	if ((target[0] != '\0' && strspn(target, "0123456789") == strlen(target)) ||
	    strchr(target, '=') != NULL) {
		if ((r = calloc(1, sizeof *r)) == NULL) {
			rdms_fail(&err, WBEM_E_OUT_OF_MEMORY, "out of memory");
			return cli_report(&err);
		}
		rc = cli_target_path(ctx, target, &r->path, &err);
		if (rc == WBEM_S_NO_ERROR && (r->path_text = cim_path_format(&r->path)) == NULL)
			rc = rdms_fail(&err, WBEM_E_OUT_OF_MEMORY, "out of memory");
		if (rc != WBEM_S_NO_ERROR) {
			free_recipients(r, 1);
			return cli_report(&err);
		}
		send_one(ctx, ctx->opt.direct ? NULL : ctx->client, r);
		if (ctx->opt.json && r->ran)
			printf("{\"ReturnValue\": %u}\n", (unsigned)r->result);
		status = r->result == WBEM_S_NO_ERROR ? CLI_OK : cli_report(&r->err);
		free_recipients(r, 1);
		return status;
	}
	rc = recipients_of(ctx, target, &r, &n, &err);
	if (rc != WBEM_S_NO_ERROR) {
		free_recipients(r, n);
		return cli_report(&err);
	}
	send_all(ctx, r, n);
	print_results(ctx, r, n);
	for (size_t i = 0; i < n; i++)
		if (r[i].result != WBEM_S_NO_ERROR)
			status = CLI_FAILED;
	free_recipients(r, n);
	return status;
}
