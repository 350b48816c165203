/*
 * cli_watch.c -- `rdms watch`: a WS-Eventing Pull subscriber (client.h)
 * that prints sessions' events as they happen, one line or one JSON object
 * each, until SIGINT/SIGTERM ends it (with an Unsubscribe).
 *
 * --event picks events by the reasons of rdms-hooks(7) (logon, logoff,
 * connect, disconnect, change), computed by the same function as the
 * hooks' (rdms_event_reasons), so that `rdms watch --event disconnect` and
 * the remote-disconnect hooks see the same events.  The server is asked
 * for the narrowest event class that covers the list; the reasons are
 * picked here.  --query sends the user's event query as it is.
 */
#include "cli.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../backend/backend.h"
#include "../events/hooks.h"
#include "../ops/provider.h"
#include "../schema/schema.h"

#define HEARTBEAT_S 30

enum { SESSION_STATE = RDMS_WIN32_VIRTUALDESKTOPSESSION_CONNECTSTATE,
       SESSION_CLIENT = RDMS_WIN32_VIRTUALDESKTOPSESSION_CLIENTMACHINENAME };

/* The words of --event, the reason each stands for, and the kinds of event it needs. */
static const struct {
	const char *word, *reason;
	unsigned    kinds;
} event_words[] = {
	{ "logon", "session-logon", RDMS_EVENT_CREATION },
	{ "logoff", "session-logoff", RDMS_EVENT_DELETION },
	{ "connect", "remote-connect", RDMS_EVENT_CREATION | RDMS_EVENT_MODIFICATION },
	{ "disconnect", "remote-disconnect", RDMS_EVENT_MODIFICATION },
	{ "change", "session-change",
	  RDMS_EVENT_CREATION | RDMS_EVENT_MODIFICATION | RDMS_EVENT_DELETION },
};
#define NWORDS (sizeof event_words / sizeof event_words[0])

static volatile sig_atomic_t stop_watching;

static void on_stop_signal(int sig)
{
	(void)sig;
	stop_watching = 1;
}

/*
 * The words of LIST as bits (1 << index in event_words) into *PICKED;
 * WBEM_E_INVALID_PARAMETER naming the first that is none.
 */
static uint32_t parse_event_words(const char *list, unsigned *picked, rdms_error *err)
{
	const char *p = list;

	*picked = 0;
	for (;;) {
		size_t len = strcspn(p, ",");
		size_t i;

		for (i = 0; i < NWORDS; i++)
			if (strlen(event_words[i].word) == len && strncmp(p, event_words[i].word, len) == 0)
				break;
		if (i == NWORDS)
			return rdms_fail(err, WBEM_E_INVALID_PARAMETER,
			                 "--event: '%.*s' is not one of logon, logoff, connect, "
			                 "disconnect, change", (int)(len > 40 ? 40 : len), p);
		*picked |= 1u << i;
		if (p[len] == '\0')
			return WBEM_S_NO_ERROR;
		p += len + 1;
	}
}

uint32_t cli_watch_check(const cli_options *o, rdms_error *err)
{
	unsigned picked;
	wql_query *q = NULL;
	uint32_t rc = WBEM_S_NO_ERROR;

	if (o->direct)
		return rdms_fail(err, WBEM_E_INVALID_PARAMETER,
		                 "watch: the events come from rdmsd; --direct has none");
	if (o->query != NULL && o->events != NULL)
		return rdms_fail(err, WBEM_E_INVALID_PARAMETER,
		                 "watch: --query and --event exclude each other");
	if (o->events != NULL)
		rc = parse_event_words(o->events, &picked, err);
	if (o->query != NULL)
		rc = wql_parse_event(o->query, rdms_schema_find, &q, err);
	wql_free(q);
	if (rc == WBEM_S_NO_ERROR && o->since != NULL && o->since[0] == '\0')
		rc = rdms_fail(err, WBEM_E_INVALID_PARAMETER, "--since: an empty bookmark");
	return rc;
}

/* The event query for PICKED (bits of event_words): the narrowest class covering them. */
static void query_for(unsigned picked, char *buf, size_t size)
{
	unsigned kinds = 0;
	const char *cls = "__InstanceOperationEvent";

	for (size_t i = 0; i < NWORDS; i++)
		if (picked & (1u << i))
			kinds |= event_words[i].kinds;
	if (kinds == RDMS_EVENT_CREATION)
		cls = "__InstanceCreationEvent";
	else if (kinds == RDMS_EVENT_DELETION)
		cls = "__InstanceDeletionEvent";
	else if (kinds == RDMS_EVENT_MODIFICATION)
		cls = "__InstanceModificationEvent";
	snprintf(buf, size, "SELECT * FROM %s WHERE TargetInstance ISA '%s'", cls,
	         rdms_session_class()->name);
}

/* INST's values for the reason mapping of hooks.h. */
static void event_session_of(const cim_instance *inst, rdms_event_session *es)
{
	const cim_value *state = &inst->values[SESSION_STATE];
	const cim_value *client = &inst->values[SESSION_CLIENT];

	es->connect_state = state->is_null ? WTS_DOWN : state->u.u32;
	/* only read by rdms_event_reasons, never freed */
	es->client = client->is_null || client->u.str == NULL ? "" : (char *)client->u.str;
}

/*
 * The reason EV is shown for: the first of its reasons that PICKED (bits
 * of event_words; 0: all) holds; NULL when none is.
 */
static const char *shown_for(const rdms_client_event *ev, unsigned picked)
{
	rdms_event e = { .kind = (uint8_t)ev->kind };
	const char *reasons[4];
	size_t n;

	event_session_of(ev->target, &e.target);
	if (ev->previous != NULL)
		event_session_of(ev->previous, &e.previous);
	else if (ev->kind == RDMS_EVENT_MODIFICATION)
		e.previous = e.target;     /* a query that does not select PreviousInstance */
	n = rdms_event_reasons(&e, reasons);
	for (size_t r = 0; r < n; r++) {
		if (picked == 0)
			return reasons[r];
		for (size_t i = 0; i < NWORDS; i++)
			if ((picked & (1u << i)) && strcmp(event_words[i].reason, reasons[r]) == 0)
				return reasons[r];
	}
	return NULL;
}

static const char *kind_name(unsigned kind)
{
	switch (kind) {
	case RDMS_EVENT_CREATION: return "Creation";
	case RDMS_EVENT_DELETION: return "Deletion";
	default: return "Modification";
	}
}

/* T (Unix microseconds; 0: now) as RFC 3339 UTC, to the second. */
static void time_text(int64_t t, char *buf, size_t size)
{
	time_t s = t > 0 ? (time_t)(t / 1000000) : time(NULL);
	struct tm tm;

	if (gmtime_r(&s, &tm) == NULL || strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, size, "-");
}

static const char *text_of(const cim_instance *inst, size_t i, char *buf, size_t size)
{
	const cim_value *v = &inst->values[i];

	const char *text;

	if (v->is_null)
		return "-";
	if (i == SESSION_STATE)
		return wts_state_name(v->u.u32);
	text = cim_value_text(v, buf, size);
	return text[0] != '\0' ? text : "-";     /* as the tables show an empty value */
}

/* What changed from PREV to T: "Active -> Disconnected, ClientMachineName A -> B". */
static void print_changes(FILE *f, const cim_instance *prev, const cim_instance *t)
{
	bool first = true;

	for (size_t i = 0; i < t->cls->nprops; i++) {
		char a[256], b[256];
		const char *from = text_of(prev, i, a, sizeof a), *to = text_of(t, i, b, sizeof b);

		if (strcmp(from, to) == 0)
			continue;
		fprintf(f, "%s", first ? " " : ", ");
		first = false;
		if (i != SESSION_STATE)
			fprintf(f, "%s ", t->cls->props[i].name);
		fprintf(f, "%s -> %s", from, to);
	}
	if (first)
		fputs(" (no change in what the query selects)", f);
}

static void print_line(FILE *f, const rdms_client_event *ev)
{
	const cim_instance *t = ev->target;
	char when[32], host[256], id[32], user[256], client[256];

	time_text(ev->time_us, when, sizeof when);
	fprintf(f, "%s %-12s %s %s %s", when, kind_name(ev->kind),
	        text_of(t, RDMS_WIN32_VIRTUALDESKTOPSESSION_VMHOSTNAME, host, sizeof host),
	        text_of(t, RDMS_WIN32_VIRTUALDESKTOPSESSION_SESSIONID, id, sizeof id),
	        text_of(t, RDMS_WIN32_VIRTUALDESKTOPSESSION_USERNAME, user, sizeof user));
	if (ev->kind == RDMS_EVENT_CREATION) {
		const char *from = text_of(t, SESSION_CLIENT, client, sizeof client);

		fprintf(f, " logon, %s", text_of(t, SESSION_STATE, NULL, 0));
		if (strcmp(from, "-") != 0)
			fprintf(f, " from %s", from);
	}
	else if (ev->kind == RDMS_EVENT_DELETION)
		fputs(" logoff", f);
	else if (ev->previous != NULL)
		print_changes(f, ev->previous, t);
	fputc('\n', f);
}

static void print_json(FILE *f, const rdms_client_event *ev, const char *reason)
{
	char when[32];

	time_text(ev->time_us, when, sizeof when);
	fprintf(f, "{\"event\": \"%s\", \"reason\": ", kind_name(ev->kind));
	cli_json_string(f, reason);
	fprintf(f, ", \"time\": \"%s\", \"bookmark\": ", when);
	if (ev->bookmark != NULL)
		cli_json_string(f, ev->bookmark);
	else
		fputs("null", f);
	fputs(", \"previous\": ", f);
	if (ev->previous != NULL)
		cli_print_json_instance(f, ev->previous, NULL);
	else
		fputs("null", f);
	fputs(", \"target\": ", f);
	cli_print_json_instance(f, ev->target, NULL);
	fputs("}\n", f);
}

static void catch_stop_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_stop_signal;   /* no SA_RESTART: a wait ends at once */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sa.sa_handler = SIG_IGN;          /* a closed stdout is seen as a failed write */
	sigaction(SIGPIPE, &sa, NULL);
}

/* Ends S on the server; a failure is worth a warning, not a failed watch. */
static void unsubscribe(cli_ctx *ctx, rdms_client_subscription *s)
{
	rdms_error err = { 0 };

	rdms_client_interrupt_on(ctx->client, NULL);
	if (rdms_client_unsubscribe(ctx->client, s, &err) != WBEM_S_NO_ERROR)
		fprintf(stderr, "rdms: warning: could not end the subscription: %s\n", err.message);
}

int cli_cmd_watch(cli_ctx *ctx)
{
	const cli_options *o = &ctx->opt;
	rdms_client_subscription *sub = NULL;
	rdms_error err = { 0 };
	unsigned picked = 0;
	char query[256];
	uint32_t rc;
	int status = CLI_OK;

	if (o->events != NULL && parse_event_words(o->events, &picked, &err) != WBEM_S_NO_ERROR)
		return cli_report_usage(&err);
	if (picked & (1u << 4))
		picked = 0;     /* "change" is every event */
	query_for(picked, query, sizeof query);
	catch_stop_signals();
	rdms_client_interrupt_on(ctx->client, &stop_watching);
	rc = rdms_client_subscribe(ctx->client, rdms_session_class(),
	                           o->query != NULL ? o->query : query, o->since, HEARTBEAT_S,
	                           &sub, &err);
	if (rc != WBEM_S_NO_ERROR)
		return stop_watching ? CLI_OK : cli_report(&err);
	while (!stop_watching) {
		rdms_client_event *ev = NULL;
		const char *reason;

		rc = rdms_client_next_event(ctx->client, sub, &ev, &err);
		if (rc != WBEM_S_NO_ERROR) {
			if (stop_watching)
				break;
			const char *bm = rdms_client_subscription_bookmark(sub);

			fprintf(stderr, "rdms: the subscription was lost: %s (0x%08x)%s%s\n", err.message,
			        (unsigned)rc, bm != NULL ? "; resume with --since " : "",
			        bm != NULL ? bm : "");
			rdms_client_subscription_free(sub);
			return CLI_FAILED;
		}
		if (ev != NULL && (reason = shown_for(ev, picked)) != NULL) {
			if (o->json)
				print_json(stdout, ev, reason);
			else
				print_line(stdout, ev);
			if (fflush(stdout) != 0) {
				if (errno != EPIPE) {
					fprintf(stderr, "rdms: cannot write the events: %s\n", strerror(errno));
					status = CLI_FAILED;
				}
				stop_watching = 1;
			}
		}
		rdms_client_event_free(ev);
	}
	unsubscribe(ctx, sub);
	rdms_client_subscription_free(sub);
	return status;
}
