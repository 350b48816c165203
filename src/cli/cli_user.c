/*
 * cli_user.c -- `rdms user set|remove|list`: the NT-hash store of
 * Negotiate/NTLM logins (ntlm_store.h; rdmsd.conf ntlm_users).
 *
 * The store is root's (mode 0600, like /etc/shadow), so the command is
 * root's too.  The password never comes from the command line: from
 * standard input when it is not a terminal (one line), else typed twice
 * on the terminal without echo.
 */
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "../auth/ntlm_store.h"
#include "cli.h"

char *cli_tty_secret(const char *prompt)
{
	char buf[512];
	struct termios old, quiet;
	FILE *tty = fopen("/dev/tty", "r+");
	size_t n;

	if (tty == NULL)
		return NULL;
	fputs(prompt, tty);
	fflush(tty);
	if (tcgetattr(fileno(tty), &old) == 0) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(fileno(tty), TCSAFLUSH, &quiet);
	}
	if (fgets(buf, sizeof buf, tty) == NULL)
		buf[0] = '\0';
	tcsetattr(fileno(tty), TCSAFLUSH, &old);
	fputc('\n', tty);
	fclose(tty);
	n = strlen(buf);
	if (n > 0 && buf[n - 1] == '\n')
		buf[n - 1] = '\0';
	{
		char *s = strdup(buf);

		explicit_bzero(buf, sizeof buf);
		return s;
	}
}

/* The new password: stdin's first line, or typed twice; NULL with ERR. */
static char *new_password(const char *user, rdms_error *err)
{
	char prompt[160], *a, *b;

	if (!isatty(STDIN_FILENO)) {
		char buf[NTLM_PASSWORD_MAX + 2];
		size_t n;

		if (fgets(buf, sizeof buf, stdin) == NULL) {
			rdms_fail(err, WBEM_E_INVALID_PARAMETER, "no password on standard input");
			return NULL;
		}
		n = strlen(buf);
		if (n > 0 && buf[n - 1] == '\n')
			buf[--n] = '\0';
		if (n > 0 && buf[n - 1] == '\r')
			buf[--n] = '\0';
		a = strdup(buf);
		explicit_bzero(buf, sizeof buf);
		return a;
	}
	snprintf(prompt, sizeof prompt, "New NTLM password for %s: ", user);
	a = cli_tty_secret(prompt);
	b = cli_tty_secret("Again: ");
	if (a == NULL || b == NULL || strcmp(a, b) != 0) {
		rdms_fail(err, WBEM_E_INVALID_PARAMETER,
		          a == NULL || b == NULL ? "cannot read the password from the terminal"
		                                 : "the passwords differ");
		if (a != NULL)
			explicit_bzero(a, strlen(a));
		free(a);
		a = NULL;
	}
	if (b != NULL)
		explicit_bzero(b, strlen(b));
	free(b);
	return a;
}

static int user_set(cli_ctx *ctx, const char *user, rdms_error *err)
{
	struct passwd *pw = getpwnam(user);
	char *password;
	uint32_t rc;

	if (pw == NULL) {
		rdms_fail(err, WBEM_E_NOT_FOUND, "'%s' is no local account (an NTLM login maps to "
		          "the account of its name)", user);
		return cli_report(err);
	}
	password = new_password(user, err);
	if (password == NULL)
		return cli_report(err);
	rc = ntlm_store_set(ctx->cfg.ntlm_users, user, ctx->opt.domain != NULL ? ctx->opt.domain : "",
	                    password, pw->pw_uid, err);
	explicit_bzero(password, strlen(password));
	free(password);
	if (rc != WBEM_S_NO_ERROR)
		return cli_report(err);
	printf("%s%s%s can log in with Negotiate/NTLM\n", ctx->opt.domain != NULL ? ctx->opt.domain : "",
	       ctx->opt.domain != NULL ? "\\" : "", user);
	return CLI_OK;
}

static int user_list(cli_ctx *ctx, rdms_error *err)
{
	ntlm_entry *v;
	size_t n;

	if (ntlm_store_list(ctx->cfg.ntlm_users, &v, &n, err) != WBEM_S_NO_ERROR)
		return cli_report(err);
	if (ctx->opt.json) {
		printf("[");
		for (size_t i = 0; i < n; i++)   /* names are [A-Za-z0-9._-$]: no escaping */
			printf("%s{\"User\":\"%s\",\"Domain\":\"%s\"}", i > 0 ? "," : "", v[i].user,
			       v[i].domain);
		printf("]\n");
	} else {
		printf("%-24s %s\n", "USER", "DOMAIN");
		for (size_t i = 0; i < n; i++)
			printf("%-24s %s\n", v[i].user, v[i].domain[0] != '\0' ? v[i].domain : "*");
	}
	free(v);
	return CLI_OK;
}

uint32_t cli_user_check(const cli_options *o, rdms_error *err)
{
	const char *const *a = o->args;

	if (o->nargs == 1 && strcmp(a[0], "list") == 0 && o->domain == NULL)
		return WBEM_S_NO_ERROR;
	if (o->nargs == 2 && strcmp(a[0], "set") == 0)
		return WBEM_S_NO_ERROR;
	if (o->nargs == 2 && strcmp(a[0], "remove") == 0 && o->domain == NULL)
		return WBEM_S_NO_ERROR;
	return rdms_fail(err, WBEM_E_INVALID_PARAMETER,
	                 "user takes: set NAME [--domain D], remove NAME, list");
}

int cli_cmd_user(cli_ctx *ctx)
{
	const char *const *a = ctx->opt.args;
	rdms_error err = { 0 };

	if (ctx->cfg.ntlm_users[0] == '\0') {
		rdms_fail(&err, WBEM_E_INVALID_OPERATION, "Negotiate/NTLM is off (ntlm_users is empty)");
		return cli_report(&err);
	}
	if (geteuid() != 0) {
		rdms_fail(&err, WBEM_E_ACCESS_DENIED, "rdms user changes the root-only NT-hash store "
		          "%s: run it as root", ctx->cfg.ntlm_users);
		return cli_report(&err);
	}
	if (strcmp(a[0], "list") == 0)
		return user_list(ctx, &err);
	if (strcmp(a[0], "set") == 0)
		return user_set(ctx, a[1], &err);
	if (ntlm_store_remove(ctx->cfg.ntlm_users, a[1], &err) != WBEM_S_NO_ERROR)
		return cli_report(&err);
	printf("%s can no longer log in with Negotiate/NTLM\n", a[1]);
	return CLI_OK;
}
