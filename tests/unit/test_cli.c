/*
 * test_cli.c -- `rdms` argument parsing: every command's arguments and
 * options, and the precise usage errors (exit status 2).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "cli/cli.h"
#include "common/log.h"

static int parse(cli_options *o, const char *a0, ...)
{
	char *argv[16];
	int argc = 0;
	va_list ap;
	const char *s;

	argv[argc++] = (char *)"rdms";
	va_start(ap, a0);
	for (s = a0; s != NULL && argc < 15; s = va_arg(ap, const char *))
		argv[argc++] = (char *)s;
	va_end(ap);
	argv[argc] = NULL;
	optind = 0;   /* reset getopt between calls */
	return cli_parse_args(argc, argv, o);
}

static void test_good(void)
{
	cli_options o;

	CHECK_EQ(parse(&o, "list", NULL), CLI_OK);
	CHECK_STR(o.command, "list");
	CHECK(!o.json);
	CHECK_EQ(parse(&o, "--json", "list", NULL), CLI_OK);
	CHECK(o.json);
	CHECK_EQ(parse(&o, "list", "--json", "--direct", "--config", "/x.conf", NULL), CLI_OK);
	CHECK(o.json && o.direct && o.config_given);
	CHECK_STR(o.config_path, "/x.conf");
	CHECK_EQ(parse(&o, "get", "Win32_VirtualDesktopSession.SessionId=3,VMHostName=\"h\"", NULL), CLI_OK);
	CHECK_EQ(o.nargs, 1);
	CHECK_EQ(parse(&o, "message", "3", "--title", "Hi", "--message", "Bye", NULL), CLI_OK);
	CHECK_STR(o.title, "Hi");
	CHECK_STR(o.message, "Bye");
	CHECK_EQ(parse(&o, "--host", "https://h:5986/wsman", "-u", "admin", "--insecure", "list", NULL), CLI_OK);
	CHECK_STR(o.host_url, "https://h:5986/wsman");
	CHECK_STR(o.user, "admin");
	CHECK(o.insecure);
	CHECK_EQ(parse(&o, "class", "--mof", NULL), CLI_OK);
	CHECK(o.mof);
	CHECK_EQ(parse(&o, "disconnect", "--help", NULL), CLI_OK);
	CHECK(o.help);
	CHECK_EQ(parse(&o, "--help", NULL), CLI_OK);
	CHECK_STR(o.command, "help");
	CHECK_EQ(parse(&o, "--version", NULL), CLI_OK);
	CHECK_STR(o.command, "version");
	CHECK(cli_find_command("logoff") != NULL);
	CHECK(cli_find_command("reboot") == NULL);
}

static void test_bad(void)
{
	cli_options o;

	CHECK_EQ(parse(&o, NULL), CLI_USAGE);
	CHECK_EQ(parse(&o, "reboot", NULL), CLI_USAGE);
	CHECK_EQ(parse(&o, "list", "--bogus", NULL), CLI_USAGE);
	CHECK_EQ(parse(&o, "list", "alice", "extra", NULL), CLI_USAGE);
	CHECK_EQ(parse(&o, "get", NULL), CLI_USAGE);
	CHECK_EQ(parse(&o, "disconnect", "1", "2", NULL), CLI_USAGE);
	CHECK_EQ(parse(&o, "message", "3", "--title", "T", NULL), CLI_USAGE);
	CHECK_EQ(parse(&o, "logoff", "3", "--title", "T", NULL), CLI_USAGE);
	CHECK_EQ(parse(&o, "list", "--mof", NULL), CLI_USAGE);
	CHECK_EQ(parse(&o, "list", "--config", NULL), CLI_USAGE);
	CHECK_EQ(parse(&o, "--direct", "--host", "http://x", "list", NULL), CLI_USAGE);
	CHECK_EQ(parse(&o, "a", "b", "c", "d", "e", "f", NULL), CLI_USAGE);
}

int main(void)
{
	log_init("rdms", false);
	test_good();
	test_bad();
	return check_summary("cli");
}
