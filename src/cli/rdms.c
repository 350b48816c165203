/*
 * rdms.c -- the `rdms` command: Windows' qwinsta/tsdiscon/logoff/msg for
 * Linux remote-desktop hosts, speaking Win32_VirtualDesktopSession.
 *
 * By default it asks the local rdmsd over its Unix socket (the daemon knows
 * who is calling from the socket's peer credentials), or a remote
 * WS-Management endpoint with --host.  --direct runs the back-ends in this
 * process instead; it needs root and exists for troubleshooting.
 */
#include "cli.h"

#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../audit/audit.h"
#include "../common/log.h"
#include "../common/strutil.h"

/* The password for --host: RDMS_PASSWORD, else a prompt on the terminal. */
static char *read_password(const char *user)
{
	const char *env = getenv("RDMS_PASSWORD");
	char prompt[300];

	if (env != NULL)
		return strdup(env);
	snprintf(prompt, sizeof prompt, "Password for %s: ", user);
	return cli_tty_secret(prompt);
}

static int setup_direct(cli_ctx *ctx)
{
	struct passwd *pw = getpwuid(geteuid());
	rdms_error err;

	if (geteuid() != 0) {
		rdms_fail(&err, WBEM_E_ACCESS_DENIED,
		          "--direct acts on the sessions in-process and needs root; "
		          "without it rdms asks rdmsd");
		return cli_report(&err);
	}
	rdms_provider_init(&ctx->provider, &ctx->cfg);
	ctx->provider.audit_read = rdms_audit_read;
	ctx->provider.audit_read_ctx = &ctx->cfg;
	ctx->caller.uid = 0;
	str_copy(ctx->caller.user, sizeof ctx->caller.user, pw ? pw->pw_name : "root");
	ctx->caller.is_admin = true;
	ctx->caller.protocol = "direct";
	ctx->caller.source = "local";
	return CLI_OK;
}

static int setup_client(cli_ctx *ctx)
{
	rdms_client_options o = { 0 };
	rdms_error err = { 0 };

	if (ctx->opt.host_url != NULL) {
		o.url = ctx->opt.host_url;
		o.user = ctx->opt.user;
		o.insecure = ctx->opt.insecure;
		ctx->password = read_password(o.user);
		if (ctx->password == NULL) {
			rdms_fail(&err, WBEM_E_INVALID_PARAMETER,
			          "no password: set RDMS_PASSWORD or run on a terminal");
			return cli_report(&err);
		}
		o.password = ctx->password;
	} else {
		o.socket_path = ctx->cfg.socket_path;
		if (access(o.socket_path, F_OK) != 0) {
			rdms_fail(&err, WBEM_E_TRANSPORT_FAILURE,
			          "rdmsd is not running here (no socket %s); start it, or use "
			          "--direct as root, or --host URL", o.socket_path);
			return cli_report(&err);
		}
	}
	ctx->client_opt = o;
	ctx->client = rdms_client_new(&o, &err);
	if (ctx->client == NULL)
		return cli_report(&err);
	return CLI_OK;
}

int main(int argc, char **argv)
{
	cli_ctx ctx;
	const cli_command *cmd;
	rdms_error err = { 0 };
	int rc;

	memset(&ctx, 0, sizeof ctx);
	log_init("rdms", false);
	rc = cli_parse_args(argc, argv, &ctx.opt);
	if (rc != CLI_OK)
		return rc;
	log_init("rdms", ctx.opt.debug);
	if (strcmp(ctx.opt.command, "version") == 0) {
		printf("rdms %s\n", RDMS_VERSION);
		return CLI_OK;
	}
	cmd = cli_find_command(ctx.opt.command);
	if (ctx.opt.help || cmd == NULL) {
		cli_print_help(stdout, cmd);
		return CLI_OK;
	}
	rdms_config_defaults(&ctx.cfg);
	if (rdms_config_load(&ctx.cfg, ctx.opt.config_path, ctx.opt.config_given, &err) != 0)
		return cli_report(&err);
	if (cmd->needs_sessions && !(strcmp(cmd->name, "audit") == 0 && cli_audit_local(&ctx))) {
		rc = ctx.opt.direct ? setup_direct(&ctx) : setup_client(&ctx);
		if (rc != CLI_OK)
			goto out;
	}
	rc = cmd->run(&ctx);
out:
	rdms_client_free(ctx.client);
	if (ctx.password != NULL) {
		explicit_bzero(ctx.password, strlen(ctx.password));
		free(ctx.password);
	}
	return rc;
}
