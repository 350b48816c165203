/*
 * test_cli.c -- `rdms` argument parsing: every command's arguments and
 * options, the precise usage errors (exit status 2) -- everything found
 * without asking for a session -- and each command's --help.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "cli/cli.h"
#include "common/log.h"
#include "schema/schema.h"

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
	CHECK(!rdms_message_options_given(&o.msg_opts));
	/* msg USER /TIME:30 /W, and msg * */
	CHECK_EQ(parse(&o, "message", "alice", "--title", "T", "--message", "M", "--timeout", "30",
	               "--wait", NULL), CLI_OK);
	CHECK_STR(o.args[0], "alice");
	CHECK_EQ(o.msg_opts.timeout_s, 30);
	CHECK(o.msg_opts.wait);
	CHECK_EQ(parse(&o, "message", "*", "--title", "\xc3\x84nderungen", "--message", "M", NULL),
	         CLI_OK);
	CHECK_STR(o.args[0], "*");
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
	/* a page: --first N, --after HOST,ID (the host may hold commas: the last one splits) */
	CHECK_EQ(parse(&o, "list", "--first", "100", "--after", "h,1.example,42", NULL), CLI_OK);
	CHECK_EQ(o.first, 100);
	CHECK(o.after_given);
	CHECK_STR(o.after.text, "h,1.example");
	CHECK_EQ(o.after.num, 42);
	CHECK_EQ(parse(&o, "query", "SELECT * FROM Win32_VirtualDesktopSession", "--first", "5",
	               NULL), CLI_OK);
	CHECK_EQ(o.first, 5);
	CHECK(!o.after_given);
}

/* --first and --after: what is not a page is a usage error. */
static void test_bad_pages(void)
{
	cli_options o;

	CHECK_EQ(parse(&o, "list", "--first", "0", NULL), CLI_USAGE);
	CHECK_EQ(parse(&o, "list", "--first", "100001", NULL), CLI_USAGE);
	CHECK_EQ(parse(&o, "list", "--first", "10x", NULL), CLI_USAGE);
	CHECK_EQ(parse(&o, "list", "--first", "-3", NULL), CLI_USAGE);
	CHECK_EQ(parse(&o, "list", "--after", "h,1", NULL), CLI_USAGE);          /* no --first */
	CHECK_EQ(parse(&o, "list", "--first", "9", "--after", "h", NULL), CLI_USAGE);
	CHECK_EQ(parse(&o, "list", "--first", "9", "--after", ",4", NULL), CLI_USAGE);
	CHECK_EQ(parse(&o, "list", "--first", "9", "--after", "h,", NULL), CLI_USAGE);
	CHECK_EQ(parse(&o, "list", "--first", "9", "--after", "h,4294967296", NULL), CLI_USAGE);
	CHECK_EQ(parse(&o, "get", "3", "--first", "9", NULL), CLI_USAGE);
	CHECK_EQ(parse(&o, "watch", "--first", "9", NULL), CLI_USAGE);
}

static void test_bad(void)
{
	cli_options o;

	CHECK_EQ(parse(&o, NULL), CLI_USAGE);
	CHECK_EQ(parse(&o, "reboot", NULL), CLI_USAGE);
	CHECK_EQ(parse(&o, "list", "--bogus", NULL), CLI_USAGE);
	CHECK_EQ(parse(&o, "list", "alice", "extra", NULL), CLI_USAGE);
	CHECK_EQ(parse(&o, "list", "alice", NULL), CLI_OK);
	CHECK_EQ(parse(&o, "list", "16023", "--json", NULL), CLI_OK);
	CHECK_EQ(parse(&o, "get", NULL), CLI_USAGE);
	CHECK_EQ(parse(&o, "disconnect", "1", "2", NULL), CLI_USAGE);
	CHECK_EQ(parse(&o, "message", "3", "--title", "T", NULL), CLI_USAGE);
	CHECK_EQ(parse(&o, "message", "3", "--title", "T", "--message", "M", "--timeout", "0", NULL),
	         CLI_USAGE);
	CHECK_EQ(parse(&o, "message", "3", "--title", "T", "--message", "M", "--timeout", "86401",
	               NULL), CLI_USAGE);
	CHECK_EQ(parse(&o, "list", "--wait", NULL), CLI_USAGE);
	CHECK_EQ(parse(&o, "disconnect", "3", "--timeout", "5", NULL), CLI_USAGE);
	/* the limits rdmsd applies, named before anything is sent */
	{
		char big[RDMS_MESSAGE_MAX_TEXT + 2];

		memset(big, 'm', sizeof big - 1);
		big[sizeof big - 1] = '\0';
		CHECK_EQ(parse(&o, "message", "3", "--title", "T", "--message", big, NULL), CLI_USAGE);
		big[RDMS_MESSAGE_MAX_TEXT] = '\0';
		CHECK_EQ(parse(&o, "message", "3", "--title", "T", "--message", big, NULL), CLI_OK);
		big[RDMS_MESSAGE_MAX_TITLE + 1] = '\0';
		CHECK_EQ(parse(&o, "message", "3", "--title", big, "--message", "m", NULL), CLI_USAGE);
	}
	CHECK_EQ(parse(&o, "message", "3", "--title", "a\nb", "--message", "m", NULL), CLI_USAGE);
	CHECK_EQ(parse(&o, "logoff", "3", "--title", "T", NULL), CLI_USAGE);
	CHECK_EQ(parse(&o, "list", "--mof", NULL), CLI_USAGE);
	CHECK_EQ(parse(&o, "list", "--config", NULL), CLI_USAGE);
	CHECK_EQ(parse(&o, "--direct", "--host", "http://x", "list", NULL), CLI_USAGE);
	CHECK_EQ(parse(&o, "a", "b", "c", "d", "e", "f", NULL), CLI_USAGE);
}

/* A session of the Windows class and its RDMS_SessionDetail. */
static void add_session(cim_instance_list *l, cim_instance_list *d, uint32_t id, const char *user,
                        const char *host, uint32_t state, const char *idle)
{
	const char *text[RDMS_WIN32_VIRTUALDESKTOPSESSION_NPROPS] = { host, NULL, "vm1", NULL, user,
	                                                              "DOM", "Pool", "PC" };
	const char *dtext[RDMS_RDMS_SESSIONDETAIL_NPROPS] = { host, NULL, NULL, NULL, "192.0.2.1",
	                                                      "xrdp", "Xorg", NULL };
	cim_instance *s = cim_instance_new_packed(&rdms_class_Win32_VirtualDesktopSession, text);
	cim_instance *x = cim_instance_new_packed(&rdms_class_RDMS_SessionDetail, dtext);

	s->values[RDMS_WIN32_VIRTUALDESKTOPSESSION_SESSIONID] = cim_u32(id);
	s->values[RDMS_WIN32_VIRTUALDESKTOPSESSION_CONNECTSTATE] = cim_u32(state);
	x->values[RDMS_RDMS_SESSIONDETAIL_SESSIONID] = cim_u32(id);
	x->values[RDMS_RDMS_SESSIONDETAIL_IDLETIME] = cim_datetime(idle);
	x->values[RDMS_RDMS_SESSIONDETAIL_LOGONTIME] = cim_datetime("20260102030405.000000+000");
	cim_instance_list_push(l, s);
	cim_instance_list_push(d, x);
}

/* True when TEXT begins with PREFIX. */
static bool starts(const char *text, const char *prefix)
{
	return strncmp(text, prefix, strlen(prefix)) == 0;
}

static void test_output(void)
{
	cim_instance_list l = { 0 }, d = { 0 };
	char buf[64], *text = NULL;
	size_t len = 0;
	cim_value v;
	FILE *f;

	/* quser's IDLE TIME */
	static const char *const idle[][2] = {
		{ "00000000000059.000000:000", "." }, { "00000000000500.000000:000", "5" },
		{ "00000000010500.000000:000", "1:05" }, { "00000002030400.000000:000", "2+03:04" },
	};

	for (size_t i = 0; i < sizeof idle / sizeof idle[0]; i++) {
		v = cim_datetime(idle[i][0]);
		cli_idle_text(&v, buf, sizeof buf);
		CHECK_STR(buf, idle[i][1]);
		cim_value_clear(&v);
	}
	v = cim_null(CIM_TYPE_DATETIME);
	cli_idle_text(&v, buf, sizeof buf);
	CHECK_STR(buf, "-");
	cli_logon_text(&v, buf, sizeof buf);
	CHECK_STR(buf, "-");
	v = cim_datetime("20260102030405.000000+000");
	cli_logon_text(&v, buf, sizeof buf);
	CHECK(strlen(buf) == 16 && buf[4] == '-' && buf[10] == ' ');    /* local time */
	cim_value_clear(&v);

	/* two sessions on one host: the host's columns once, above the table */
	add_session(&l, &d, 7, "alice", "hv1", 0, "00000000000200.000000:000");
	add_session(&l, &d, 9, "bob", "hv1", 4, "00000000000000.000000:000");
	f = open_memstream(&text, &len);
	cli_print_sessions(f, &l, &d);
	fclose(f);
	CHECK(starts(text, "DOMAIN DOM  VM vm1  VMHOST hv1  COLLECTION Pool  SERVER xrdp\n"));
	CHECK(strstr(text, "\nSESSIONID  USER   STATE         IDLE TIME  LOGON TIME        CLIENT  ADDRESS\n")
	      != NULL);
	CHECK(strstr(text, "\n7          alice  Active        2  ") != NULL);
	CHECK(strstr(text, "\n9          bob    Disconnected  .  ") != NULL);
	CHECK(strstr(text, "PC      192.0.2.1\n") != NULL);
	free(text);
	/* --json: the details under the class's name, the keys not repeated */
	text = NULL;
	f = open_memstream(&text, &len);
	cli_print_json_sessions(f, &l, &d);
	fclose(f);
	CHECK(strstr(text, "\"ClientMachineName\": \"PC\", \"RDMS_SessionDetail\": {\"LogonTime\": "
	                   "\"20260102030405.000000+000\", \"IdleTime\": \"00000000000200.000000:000\"")
	      != NULL);
	CHECK(strstr(text, "\"RDMS_SessionDetail\": {\"VMHostName\"") == NULL);
	free(text);
	/* another host on one row: every column on the rows, no summary line */
	add_session(&l, &d, 7, "carol", "hv2", 0, "00000000000200.000000:000");
	text = NULL;
	f = open_memstream(&text, &len);
	cli_print_sessions(f, &l, &d);
	fclose(f);
	CHECK(starts(text, "DOMAIN DOM  VM vm1  COLLECTION Pool  SERVER xrdp\nSESSIONID"));
	CHECK(strstr(text, "VMHOST") != NULL && strstr(text, "hv2") != NULL);
	free(text);
	/* without details (a server that has no such class): "-" */
	text = NULL;
	f = open_memstream(&text, &len);
	cli_print_sessions(f, &l, NULL);
	fclose(f);
	CHECK(strstr(text, "\n7          alice  Active        -          -           PC      -") != NULL);
	free(text);

	/* get and query: ConnectState with its word; the query's context said once */
	text = NULL;
	f = open_memstream(&text, &len);
	cli_print_instance(f, l.items[1]);
	fclose(f);
	CHECK(strstr(text, "    ConnectState = 4 (Disconnected)\n") != NULL);
	free(text);
	text = NULL;
	f = open_memstream(&text, &len);
	cli_print_table(f, &l, NULL);
	fclose(f);
	CHECK(starts(text, "VMName vm1  DomainName DOM  CollectionId Pool\n"));
	CHECK(strstr(text, "0 (Active)") != NULL && strstr(text, "4 (Disconnected)") != NULL);
	free(text);
	cim_instance_list_free(&l);
	cim_instance_list_free(&d);
}

/* Usage errors that exited 1 (as operation failures) before issue 12. */
static void test_bad_found_while_parsing(void)
{
	cli_options o;

	/* options that need another */
	CHECK_EQ(parse(&o, "--host", "https://h:5986/wsman", "list", NULL), CLI_USAGE);
	CHECK_EQ(parse(&o, "-u", "admin", "list", NULL), CLI_USAGE);
	CHECK_EQ(parse(&o, "--insecure", "list", NULL), CLI_USAGE);
	/* --since that is no time (was found only after the root check) */
	CHECK_EQ(parse(&o, "audit", "--since", "yesterday", NULL), CLI_USAGE);
	CHECK_EQ(parse(&o, "audit", "--since", "2024-02-30", NULL), CLI_USAGE);
	CHECK_EQ(parse(&o, "audit", "--since", "2024-02-28T10:00Z", NULL), CLI_OK);
	/* rdms watch: --since is a bookmark; --event words; --query an event query */
	CHECK_EQ(parse(&o, "watch", "--since", "rdms:3:17", "--json", NULL), CLI_OK);
	CHECK_EQ(parse(&o, "watch", "--since", "", NULL), CLI_USAGE);
	CHECK_EQ(parse(&o, "watch", "--event", "logon,disconnect", NULL), CLI_OK);
	CHECK_EQ(parse(&o, "watch", "--event", "logon,", NULL), CLI_USAGE);
	CHECK_EQ(parse(&o, "watch", "--event", "Logon", NULL), CLI_USAGE);
	CHECK_EQ(parse(&o, "watch", "--query", "SELECT * FROM __InstanceDeletionEvent WHERE "
	               "TargetInstance ISA 'Win32_VirtualDesktopSession'", NULL), CLI_OK);
	CHECK_EQ(parse(&o, "watch", "--query", "SELECT * FROM Win32_VirtualDesktopSession", NULL),
	         CLI_USAGE);
	CHECK_EQ(parse(&o, "watch", "--query", "SELECT * FROM __InstanceDeletionEvent WHERE "
	               "TargetInstance ISA 'Win32_VirtualDesktopSession'", "--event", "logon", NULL),
	         CLI_USAGE);
	CHECK_EQ(parse(&o, "watch", "--direct", NULL), CLI_USAGE);
	CHECK_EQ(parse(&o, "list", "--event", "logon", NULL), CLI_USAGE);
	CHECK_EQ(parse(&o, "list", "--since", "rdms:3:17", NULL), CLI_USAGE);
	CHECK_EQ(parse(&o, "watch", "extra", NULL), CLI_USAGE);
	/* ID or PATH that does not parse */
	CHECK_EQ(parse(&o, "get", "Win32_VirtualDesktopSession.SessionId=", NULL), CLI_USAGE);
	CHECK_EQ(parse(&o, "disconnect", "4294967296", NULL), CLI_USAGE);
	CHECK_EQ(parse(&o, "logoff", "12345678901", NULL), CLI_USAGE);
	CHECK_EQ(parse(&o, "get", "alice", NULL), CLI_USAGE);
	CHECK_EQ(parse(&o, "get", "Win32_Process.Handle=3", NULL), CLI_USAGE);
	CHECK_EQ(parse(&o, "get", "win32_virtualdesktopsession.SessionId=3", NULL), CLI_OK);
	/* rdms's own classes are read by path too */
	CHECK_EQ(parse(&o, "get", "RDMS_SessionDetail.VMHostName=\"h\",SessionId=3", NULL), CLI_OK);
	CHECK_EQ(parse(&o, "disconnect", "4294967295", NULL), CLI_OK);
	CHECK_EQ(parse(&o, "logoff", "Win32_VirtualDesktopSession.VMHostName=\"h\",SessionId=3",
	               NULL), CLI_OK);
	/* WQL that does not parse, or names what the class does not have */
	CHECK_EQ(parse(&o, "query", "SELEKT * FROM Win32_VirtualDesktopSession", NULL), CLI_USAGE);
	CHECK_EQ(parse(&o, "query", "SELECT Nope FROM Win32_VirtualDesktopSession", NULL), CLI_USAGE);
	CHECK_EQ(parse(&o, "query", "SELECT * FROM Win32_VirtualDesktopSession WHERE", NULL),
	         CLI_USAGE);
	CHECK_EQ(parse(&o, "query", "SELECT * FROM Win32_VirtualDesktopSession WHERE SessionId > 3",
	               NULL), CLI_OK);
	/* --help is never a usage error, whatever else is missing */
	CHECK_EQ(parse(&o, "message", "--help", NULL), CLI_OK);
	CHECK_EQ(parse(&o, "query", "--help", NULL), CLI_OK);
}

/* `rdms NAME --help`: what the command does, and an example of it. */
static void test_help(void)
{
	for (const cli_command *c = cli_commands; c->name != NULL; c++) {
		char *text = NULL, start[64];
		size_t len = 0;
		FILE *f = open_memstream(&text, &len);

		CHECK(f != NULL);
		if (f == NULL)
			continue;
		cli_print_help(f, c);
		fclose(f);
		CHECK(c->details != NULL && c->details[0] != '\0');
		snprintf(start, sizeof start, "rdms %s", c->name);
		CHECK(c->example != NULL && strncmp(c->example, start, strlen(start)) == 0);
		CHECK(strstr(text, c->details) != NULL);
		CHECK(strstr(text, "Example:\n  ") != NULL && strstr(text, c->example) != NULL);
		CHECK(strstr(text, c->summary + 1) != NULL);
		free(text);
	}
}

int main(void)
{
	log_init("rdms", false);
	test_good();
	test_bad();
	test_bad_pages();
	test_output();
	test_bad_found_while_parsing();
	test_help();
	return check_summary("cli");
}
