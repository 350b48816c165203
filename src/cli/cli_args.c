/*
 * cli_args.c -- command-line parsing for `rdms`, and its help texts.
 *
 * Options may stand before or after the command (GNU getopt permutes);
 * every mistake gets one precise line and exit status 2.  A mistake is
 * anything found without asking for a session: an unknown command or
 * option, a missing or extra argument or option, an option without the
 * one it needs, an ID, PATH or WQL query that does not parse, a --since
 * that is no time.  What fails afterwards (no such session, access
 * denied, rdmsd not running) is an operation failure, exit status 1.
 */
#include "cli.h"

#include <ctype.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "../audit/audit.h"
#include "../schema/schema.h"

enum { OPT_CONFIG = 256, OPT_DIRECT, OPT_JSON, OPT_MOF, OPT_HOST, OPT_INSECURE,
       OPT_TITLE, OPT_MESSAGE, OPT_SINCE, OPT_DEBUG, OPT_VERSION, OPT_TIMEOUT, OPT_WAIT,
       OPT_QUERY, OPT_EVENT, OPT_FINGERPRINT, OPT_DOMAIN, OPT_FIRST, OPT_AFTER };

static const struct option long_options[] = {
	{ "config",   required_argument, NULL, OPT_CONFIG },
	{ "direct",   no_argument,       NULL, OPT_DIRECT },
	{ "json",     no_argument,       NULL, OPT_JSON },
	{ "mof",      no_argument,       NULL, OPT_MOF },
	{ "host",     required_argument, NULL, OPT_HOST },
	{ "user",     required_argument, NULL, 'u' },
	{ "insecure", no_argument,       NULL, OPT_INSECURE },
	{ "title",    required_argument, NULL, OPT_TITLE },
	{ "message",  required_argument, NULL, OPT_MESSAGE },
	{ "timeout",  required_argument, NULL, OPT_TIMEOUT },
	{ "wait",     no_argument,       NULL, OPT_WAIT },
	{ "since",    required_argument, NULL, OPT_SINCE },
	{ "query",    required_argument, NULL, OPT_QUERY },
	{ "event",    required_argument, NULL, OPT_EVENT },
	{ "fingerprint", required_argument, NULL, OPT_FINGERPRINT },
	{ "domain",   required_argument, NULL, OPT_DOMAIN },
	{ "first",    required_argument, NULL, OPT_FIRST },
	{ "after",    required_argument, NULL, OPT_AFTER },
	{ "debug",    no_argument,       NULL, OPT_DEBUG },
	{ "help",     no_argument,       NULL, 'h' },
	{ "version",  no_argument,       NULL, OPT_VERSION },
	{ NULL, 0, NULL, 0 },
};

__attribute__((format(printf, 1, 2)))
static int usage_error(const char *fmt, ...)
{
	rdms_error err = { .code = WBEM_E_INVALID_PARAMETER };
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err.message, sizeof err.message, fmt, ap);
	va_end(ap);
	return cli_report_usage(&err);
}

bool cli_is_id(const char *arg)
{
	const char *p = arg;

	while (isdigit((unsigned char)*p))
		p++;
	return *arg != '\0' && *p == '\0';
}

uint32_t cli_id_in_range(const char *arg, rdms_error *err)
{
	if (strlen(arg) > 10 || strtoull(arg, NULL, 10) > UINT32_MAX)
		return rdms_fail(err, WBEM_E_INVALID_OBJECT_PATH,
		                 "session id %s is out of range for uint32", arg);
	return WBEM_S_NO_ERROR;
}

/* A SessionId in range, or an object path of a class rdms serves that parses. */
static uint32_t check_target(const char *arg, rdms_error *err)
{
	cim_path path;
	uint32_t rc;

	if (cli_is_id(arg))
		return cli_id_in_range(arg, err);
	rc = cim_path_parse(arg, &path, err);
	if (rc != WBEM_S_NO_ERROR)
		return rc;
	/* `rdms get alice` is a mistake, not a path of a class "alice"; rdms's
	 * own classes (RDMS_SessionDetail...) are read by path too */
	if (rdms_schema_find(path.class_name) == NULL)
		rc = rdms_fail(err, WBEM_E_INVALID_OBJECT_PATH,
		               "'%s' is neither a SessionId nor a path of %s or another class "
		               "rdms serves", arg, rdms_class_Win32_VirtualDesktopSession.name);
	cim_path_free(&path);
	return rc;
}

/* The most sessions one page may ask for (a broker's directory reads no more at once). */
#define CLI_PAGE_MAX 100000

/* --first N: a count from 1 to CLI_PAGE_MAX. */
static int parse_first(const char *arg, cli_options *o)
{
	char *end;
	unsigned long long n;

	if (!isdigit((unsigned char)*arg) || (n = strtoull(arg, &end, 10), *end != '\0') ||
	    n < 1 || n > CLI_PAGE_MAX)
		return usage_error("--first '%s' is not a count from 1 to %d", arg, CLI_PAGE_MAX);
	o->first = (size_t)n;
	return CLI_OK;
}

/* --after HOST,ID: a session's keys, as the last row of the page before shows them. */
static int parse_after(const char *arg, cli_options *o)
{
	const char *comma = strrchr(arg, ',');
	rdms_error err = { 0 };
	size_t host = comma != NULL ? (size_t)(comma - arg) : 0;

	if (comma == NULL || host == 0 || !cli_is_id(comma + 1))
		return usage_error("--after '%s' is not HOST,ID (a session's VMHostName and "
		                   "SessionId, e.g. h1,42)", arg);
	if (cli_id_in_range(comma + 1, &err) != WBEM_S_NO_ERROR)
		return usage_error("--after: %s", err.message);
	if (host >= sizeof o->after.text)
		return usage_error("--after: the host name is longer than %zu bytes",
		                   sizeof o->after.text - 1);
	memcpy(o->after.text, arg, host);
	o->after.text[host] = '\0';
	o->after.num = (uint32_t)strtoul(comma + 1, NULL, 10);
	o->after_given = true;
	return CLI_OK;
}

/* The command's positional argument, checked before anything is asked. */
static int check_argument(const cli_options *o, const cli_command *cmd)
{
	rdms_error err = { 0 };
	wql_query *q = NULL;
	uint32_t rc = WBEM_S_NO_ERROR;

	if (cmd->arg == CLI_ARG_TARGET)
		rc = check_target(o->args[0], &err);
	else if (cmd->arg == CLI_ARG_WQL)
		rc = wql_parse(o->args[0], rdms_schema_find, &q, &err);
	wql_free(q);
	return rc == WBEM_S_NO_ERROR ? CLI_OK : cli_report_usage(&err);
}

/* Options that only one command takes. */
static int check_command_options(const cli_options *o)
{
	const char *c = o->command;
	rdms_error err = { 0 };

	if ((o->title || o->message || rdms_message_options_given(&o->msg_opts)) &&
	    strcmp(c, "message") != 0)
		return usage_error("--title, --message, --timeout and --wait belong to 'rdms message', "
		                   "not '%s'", c);
	if (o->mof && strcmp(c, "class") != 0)
		return usage_error("--mof belongs to 'rdms class', not '%s'", c);
	if (o->since && strcmp(c, "audit") != 0 && strcmp(c, "watch") != 0)
		return usage_error("--since belongs to 'rdms audit' and 'rdms watch', not '%s'", c);
	if ((o->query || o->events) && strcmp(c, "watch") != 0)
		return usage_error("--query and --event belong to 'rdms watch', not '%s'", c);
	if (strcmp(c, "watch") == 0 && cli_watch_check(o, &err) != WBEM_S_NO_ERROR)
		return cli_report_usage(&err);
	if ((o->first || o->after_given) && strcmp(c, "list") != 0 && strcmp(c, "query") != 0)
		return usage_error("--first and --after belong to 'rdms list' and 'rdms query', "
		                   "not '%s'", c);
	if (o->after_given && !o->first)
		return usage_error("--after goes with --first N (the size of the page)");
	if (o->fingerprint && strcmp(c, "fleet") != 0)
		return usage_error("--fingerprint belongs to 'rdms fleet host add', not '%s'", c);
	if (o->domain && strcmp(c, "user") != 0)
		return usage_error("--domain belongs to 'rdms user set', not '%s'", c);
	if (strcmp(c, "user") == 0 && !o->help && cli_user_check(o, &err) != WBEM_S_NO_ERROR)
		return cli_report_usage(&err);
	if (strcmp(c, "fleet") == 0 && !o->help && cli_fleet_check(o, &err) != WBEM_S_NO_ERROR)
		return cli_report_usage(&err);
	if (strcmp(c, "message") == 0 && !o->help && (!o->title || !o->message))
		return usage_error("%s needs both --title T and --message M", "rdms message");
	/* the limits rdmsd and the back-ends apply, checked before anything is sent */
	if (strcmp(c, "message") == 0 && !o->help &&
	    rdms_message_check(o->title, o->message, &err) != WBEM_S_NO_ERROR)
		return usage_error("%s", err.message);
	if (o->direct && o->host_url)
		return usage_error("%s: --direct and --host exclude each other", c);
	if (o->host_url && !o->user)
		return usage_error("--host needs -u USER");
	if (o->host_url && rdms_client_check_urls(o->host_url, &err) != WBEM_S_NO_ERROR)
		return usage_error("--host: %s", err.message);
	if (o->user && !o->host_url)
		return usage_error("-u USER goes with --host URL (locally rdmsd knows who you are)");
	if (o->insecure && !o->host_url)
		return usage_error("--insecure goes with --host URL");
	if (o->since && strcmp(c, "audit") == 0) {
		char since[32];

		if (rdms_audit_normalize_time(o->since, since, sizeof since, &err) != 0)
			return cli_report_usage(&err);
	}
	return CLI_OK;
}

int cli_parse_args(int argc, char **argv, cli_options *o)
{
	const cli_command *cmd;
	rdms_error err = { 0 };
	int c;

	memset(o, 0, sizeof *o);
	o->config_path = RDMS_DEFAULT_CONFIG;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":u:h", long_options, NULL)) != -1) {
		switch (c) {
		case OPT_CONFIG: o->config_path = optarg; o->config_given = true; break;
		case OPT_DIRECT: o->direct = true; break;
		case OPT_JSON: o->json = true; break;
		case OPT_MOF: o->mof = true; break;
		case OPT_HOST: o->host_url = optarg; break;
		case 'u': o->user = optarg; break;
		case OPT_INSECURE: o->insecure = true; break;
		case OPT_TITLE: o->title = optarg; break;
		case OPT_MESSAGE: o->message = optarg; break;
		case OPT_SINCE: o->since = optarg; break;
		case OPT_QUERY: o->query = optarg; break;
		case OPT_EVENT: o->events = optarg; break;
		case OPT_FINGERPRINT: o->fingerprint = optarg; break;
		case OPT_DOMAIN: o->domain = optarg; break;
		case OPT_FIRST:
			if (parse_first(optarg, o) != CLI_OK)
				return CLI_USAGE;
			break;
		case OPT_AFTER:
			if (parse_after(optarg, o) != CLI_OK)
				return CLI_USAGE;
			break;
		case OPT_TIMEOUT:
			if (rdms_message_option(&o->msg_opts, RDMS_MESSAGE_OPT_TIMEOUT, optarg, &err))
				return usage_error("--timeout: %s", err.message);
			break;
		case OPT_WAIT: o->msg_opts.wait = true; break;
		case OPT_DEBUG: o->debug = true; break;
		case 'h': o->help = true; break;
		case OPT_VERSION: o->command = "version"; return CLI_OK;
		case ':': return usage_error("option %s needs a value", argv[optind - 1]);
		default: return usage_error("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind >= argc) {
		if (o->help) {
			o->command = "help";
			return CLI_OK;
		}
		return usage_error("%s", "missing command");
	}
	o->command = argv[optind++];
	cmd = cli_find_command(o->command);
	if (cmd == NULL)
		return usage_error("unknown command '%s'", o->command);
	while (optind < argc) {
		if (o->nargs == (int)(sizeof o->args / sizeof o->args[0]))
			return usage_error("too many arguments for '%s'", o->command);
		o->args[o->nargs++] = argv[optind++];
	}
	if (o->help)
		return CLI_OK;
	if (o->nargs < cmd->min_args)
		return usage_error("'%s' needs more arguments", o->command);
	if (o->nargs > cmd->max_args)
		return usage_error("too many arguments for '%s'", o->command);
	if (check_command_options(o) != CLI_OK)
		return CLI_USAGE;
	return check_argument(o, cmd);
}

const cli_command *cli_find_command(const char *name)
{
	for (const cli_command *c = cli_commands; c->name != NULL; c++)
		if (strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

static const char common_options[] =
	"Options for every command:\n"
	"  --json           print JSON objects keyed by the class's property names\n"
	"  --direct         act on this host's sessions in-process (root only; troubleshooting)\n"
	"  --host URL       talk to a remote WS-Management endpoint (https://host:5986/wsman);\n"
	"                   URL1,URL2...: brokers, the next tried when one cannot be reached\n"
	"  -u, --user USER  user for --host (password from RDMS_PASSWORD or a prompt)\n"
	"  --insecure       with --host: do not verify the TLS certificate\n"
	"  --config FILE    configuration (default " RDMS_DEFAULT_CONFIG ")\n"
	"  -h, --help       this help\n";

void cli_print_help(FILE *f, const cli_command *cmd)
{
	if (cmd != NULL) {
		fprintf(f, "usage: rdms %s %s\n\n%c%s", cmd->name, cmd->usage,
		        toupper((unsigned char)cmd->summary[0]), cmd->summary + 1);
		if (cmd->windows)
			fprintf(f, " (Windows: %s)", cmd->windows);
		fprintf(f, ".\n%s\n\nExample:\n  %s\n", cmd->details, cmd->example);
		if (cmd->arg == CLI_ARG_TARGET)
			fprintf(f, "\nID is a SessionId (see 'rdms list'); PATH is an object path such as\n"
			        "  Win32_VirtualDesktopSession.VMHostName=\"h1\",SessionId=3\n");
		fprintf(f, "\n%s", common_options);
		return;
	}
	fprintf(f, "usage: rdms [options] COMMAND [arguments]\n\n"
	        "Manage this host's remote-desktop sessions as Win32_VirtualDesktopSession\n"
	        "instances (namespace root/cimv2/rdms).\n\nCommands:\n");
	for (const cli_command *c = cli_commands; c->name != NULL; c++)
		fprintf(f, "  %-10s %-28s %s\n", c->name, c->usage, c->summary);
	fprintf(f, "\n%s\nExit status: 0 on success; 1 when the operation returned a WMI error\n"
	        "(named on stderr); 2 for a usage error.  'rdms COMMAND --help' explains\n"
	        "a command, with an example.  See rdms(1).\n", common_options);
}
