/*
 * cli_fleet.c -- `rdms fleet`: a broker's session directory, administered
 * on the broker itself (interface.md "Fleet"; spec/fleet.md 3.2, 3.8):
 *
 *   rdms fleet db init|upgrade                 make or upgrade the directory
 *   rdms fleet host add NAME URL --fingerprint SHA256:HEX
 *                                              (again, as registered: lifts a quarantine)
 *   rdms fleet host remove NAME
 *   rdms fleet hosts [--json]                  name, URL, state, sessions, last contact
 *
 * It opens the directory (store_path, or store_dsn with store = postgresql)
 * itself, beside a running broker (the database keeps the two apart), as
 * root: it audits in rdmsd's audit trail.  `db init` creates the schema
 * (PostgreSQL: in an empty database of the C locale), `db upgrade` brings
 * an older one to this rdms's version; a broker refuses any other.  Registering a host pins
 * its certificate's fingerprint and binds its VMHostName to it: the broker
 * then talks to that URL only while it shows that certificate.  Adding and
 * removing are audited in rdmsd's audit trail, as "rdms fleet" of root.
 */
#include "cli.h"

#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "../audit/audit.h"
#include "../fleet/host_tls.h"
#include "../common/strutil.h"
#include "../fleet/store.h"

static const char *state_name(int state)
{
	switch (state) {
	case FLEET_RUNNING: return "running";
	case FLEET_INVALID: return "invalid";
	default: return "unknown";
	}
}

/* MS (Unix ms) as "YYYY-MM-DDTHH:MM:SSZ"; "-" for never. */
static void when_text(int64_t ms, char *buf, size_t size)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (ms <= 0 || gmtime_r(&t, &tm) == NULL || strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, size, "-");
}

/* Records the administrator's ACTION on host NAME in rdmsd's audit trail. */
static void audit_admin(const cli_ctx *ctx, const char *action, const char *name, uint32_t rc,
                        const rdms_error *err)
{
	rdms_caller who = { .uid = getuid(), .is_admin = true, .protocol = "direct",
	                    .source = "rdms fleet" };
	rdms_audit_event ev = { .caller = &who, .target = name, .method = action, .result = rc,
	                        .detail = rc != WBEM_S_NO_ERROR ? err->message : "" };
	rdms_error e = { 0 };
	rdms_audit_db *db;
	struct passwd *pw = getpwuid(getuid());

	snprintf(who.user, sizeof who.user, "%s", pw != NULL ? pw->pw_name : "root");
	db = rdms_audit_open(ctx->cfg.audit_db, &e);
	if (db == NULL || rdms_audit_record(db, &ev) != 0)
		fprintf(stderr, "rdms: warning: not audited: %s\n", db == NULL ? e.message
		        : "the audit trail could not be written");
	rdms_audit_close(db);
}

struct listing {
	FILE *f;
	bool  json;
	int   n;
};

static int print_host(void *vctx, const fleet_host *h)
{
	struct listing *l = vctx;
	char when[32];

	when_text(h->contact_ms, when, sizeof when);
	if (!l->json) {
		fprintf(l->f, "%-24s %-40s %-8s %8llu  %s\n", h->name, h->url, state_name(h->state),
		        (unsigned long long)h->sessions, when);
	} else {
		fputs(l->n > 0 ? ",\n {" : "{", l->f);
		fputs("\"Name\": ", l->f);
		cli_json_string(l->f, h->name);
		fputs(", \"Url\": ", l->f);
		cli_json_string(l->f, h->url);
		fprintf(l->f, ", \"ServerState\": %d, \"Sessions\": %llu, \"LastContact\": ", h->state,
		        (unsigned long long)h->sessions);
		if (h->contact_ms > 0)
			cli_json_string(l->f, when);
		else
			fputs("null", l->f);
		fputc('}', l->f);
	}
	l->n++;
	return 0;
}

static int list_hosts(cli_ctx *ctx, fleet_store *st, rdms_error *err)
{
	struct listing l = { stdout, ctx->opt.json, 0 };

	if (!l.json)
		printf("%-24s %-40s %-8s %8s  %s\n", "NAME", "URL", "STATE", "SESSIONS",
		       "LAST CONTACT");
	else
		fputc('[', stdout);
	if (fleet_store_hosts(st, print_host, &l, err) != WBEM_S_NO_ERROR)
		return cli_report(err);
	if (l.json)
		fputs("]\n", stdout);
	return CLI_OK;
}

/*
 * H registered again as it is, while quarantined (ServerState 8): the
 * administrator lifts the quarantine, and the broker reads the host anew.
 * Anything else about a registered host is WBEM_E_ALREADY_EXISTS (ERR).
 */
static uint32_t lift_quarantine(fleet_store *st, const fleet_host *h, bool *lifted,
                                rdms_error *err)
{
	fleet_host now;
	rdms_error e = { 0 };

	*lifted = false;
	if (fleet_store_host_get(st, h->name, &now, &e) != WBEM_S_NO_ERROR)
		return err->code;
	if (strcmp(now.url, h->url) != 0 ||
	    memcmp(now.cert_sha256, h->cert_sha256, sizeof now.cert_sha256) != 0)
		return rdms_fail(err, WBEM_E_ALREADY_EXISTS, "host %s is registered already, at %s or "
		                 "with another fingerprint: 'rdms fleet host remove %s' first",
		                 h->name, now.url, h->name);
	if (now.state != FLEET_INVALID)
		return rdms_fail(err, WBEM_E_ALREADY_EXISTS, "host %s is registered already, as "
		                 "given", h->name);
	if (fleet_store_host_state(st, h->name, FLEET_UNKNOWN, true, err) != WBEM_S_NO_ERROR)
		return err->code;
	*lifted = true;
	return WBEM_S_NO_ERROR;
}

static int add_host(cli_ctx *ctx, fleet_store *st, rdms_error *err)
{
	const char *name = ctx->opt.args[2], *url = ctx->opt.args[3];
	fleet_host h = { 0 };
	bool lifted = false;
	uint32_t rc;

	str_copy(h.name, sizeof h.name, name);
	str_copy(h.url, sizeof h.url, url);
	fleet_fingerprint_parse(ctx->opt.fingerprint, h.cert_sha256);   /* checked at parsing */
	rc = fleet_store_host_add(st, &h, err);
	if (rc == WBEM_E_ALREADY_EXISTS)
		rc = lift_quarantine(st, &h, &lifted, err);
	audit_admin(ctx, lifted ? "FleetHostUnquarantine" : "FleetHostAdd", name, rc, err);
	if (rc != WBEM_S_NO_ERROR)
		return cli_report(err);
	if (lifted)
		printf("host %s is no longer quarantined; the broker reads it anew from %s\n", name,
		       url);
	else
		printf("host %s registered at %s; the broker trusts only the certificate %s\n", name,
		       url, ctx->opt.fingerprint);
	return CLI_OK;
}

static int remove_host(cli_ctx *ctx, fleet_store *st, rdms_error *err)
{
	const char *name = ctx->opt.args[2];
	uint32_t rc = fleet_store_host_remove(st, name, err);

	audit_admin(ctx, "FleetHostRemove", name, rc, err);
	if (rc != WBEM_S_NO_ERROR)
		return cli_report(err);
	printf("host %s removed with its sessions\n", name);
	return CLI_OK;
}

uint32_t cli_fleet_check(const cli_options *o, rdms_error *err)
{
	const char *const *a = o->args;
	uint8_t fp[32];
	bool add = o->nargs >= 2 && strcmp(a[0], "host") == 0 && strcmp(a[1], "add") == 0;

	if (o->direct || o->host_url)
		return rdms_fail(err, WBEM_E_INVALID_PARAMETER, "fleet works on this broker's "
		                 "directory: no --direct or --host");
	if (o->fingerprint != NULL && !add)
		return rdms_fail(err, WBEM_E_INVALID_PARAMETER, "--fingerprint belongs to "
		                 "'rdms fleet host add'");
	if (o->nargs == 1 && strcmp(a[0], "hosts") == 0)
		return WBEM_S_NO_ERROR;
	if (o->nargs == 2 && strcmp(a[0], "db") == 0 &&
	    (strcmp(a[1], "init") == 0 || strcmp(a[1], "upgrade") == 0))
		return WBEM_S_NO_ERROR;
	if (o->nargs == 3 && strcmp(a[0], "host") == 0 && strcmp(a[1], "remove") == 0)
		return WBEM_S_NO_ERROR;
	if (add && o->nargs == 4) {
		if (o->fingerprint == NULL || !fleet_fingerprint_parse(o->fingerprint, fp))
			return rdms_fail(err, WBEM_E_INVALID_PARAMETER, "host add needs --fingerprint "
			                 "SHA256:HEX, the SHA-256 of the host's certificate (rdmsd logs "
			                 "it at start)");
		if (strncasecmp(a[3], "https://", 8) != 0)
			return rdms_fail(err, WBEM_E_INVALID_PARAMETER, "host URL '%s' must start with "
			                 "https:// (brokers reach hosts over TLS only)", a[3]);
		if (strlen(a[2]) > FLEET_NAME_MAX || strlen(a[3]) > FLEET_URL_MAX || a[2][0] == '\0')
			return rdms_fail(err, WBEM_E_INVALID_PARAMETER, "host name or URL too long");
		return WBEM_S_NO_ERROR;
	}
	return rdms_fail(err, WBEM_E_INVALID_PARAMETER, "fleet takes: db init|upgrade, "
	                 "host add NAME URL --fingerprint SHA256:HEX, host remove NAME, hosts");
}

int cli_cmd_fleet(cli_ctx *ctx)
{
	const char *const *a = ctx->opt.args;
	rdms_error err = { 0 };
	fleet_open_mode mode = FLEET_OPEN_ADMIN;
	fleet_store *st;
	int rc;

	if (geteuid() != 0) {
		rdms_fail(&err, WBEM_E_ACCESS_DENIED, "rdms fleet opens the broker's directory (store "
		          "= %s): run it as root on the broker", ctx->cfg.store);
		return cli_report(&err);
	}
	if (strcmp(a[0], "db") == 0)
		mode = strcmp(a[1], "init") == 0 ? FLEET_OPEN_INIT : FLEET_OPEN_UPGRADE;
	st = fleet_store_open(ctx->cfg.store, rdms_config_store_target(&ctx->cfg), mode, &err);
	if (st == NULL)
		return cli_report(&err);
	if (strcmp(a[0], "db") == 0) {
		printf("session directory %s is ready\n", fleet_store_describe(st));
		rc = CLI_OK;
	} else if (strcmp(a[0], "hosts") == 0) {
		rc = list_hosts(ctx, st, &err);
	} else if (strcmp(a[1], "add") == 0) {
		rc = add_host(ctx, st, &err);
	} else {
		rc = remove_host(ctx, st, &err);
	}
	fleet_store_close(st);
	return rc;
}
