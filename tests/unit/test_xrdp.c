/*
 * test_xrdp.c -- the xrdp back-end's parsers and its enumerate on a fixture
 * /proc tree (built in a mkdtemp directory), plus the checks the actions
 * make before touching anything.  The real server is the e2e test's job.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend/backend.h"
#include "backend/xrdp/xrdp_internal.h"
#include "backend/xidle.h"
#include "check.h"

static char tmp[64];   /* /tmp/rdms-test-xrdp.XXXXXX */

/* ---- fixture helpers ---------------------------------------------------- */

static void put(const char *rel, const char *text, size_t len)
{
	char path[PATH_MAX * 2];
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", tmp, rel);
	f = fopen(path, "w");
	if (f == NULL) {
		perror(path);
		exit(2);
	}
	fwrite(text, 1, len, f);
	fclose(f);
}

static void puts_file(const char *rel, const char *text)
{
	put(rel, text, strlen(text));
}

static void dir(const char *rel)
{
	char path[PATH_MAX * 2];

	snprintf(path, sizeof path, "%s/%s", tmp, rel);
	if (mkdir(path, 0755) < 0 && errno != EEXIST) {
		perror(path);
		exit(2);
	}
}

/* proc/PID with stat, status and cmdline (NUL-separated CMD of CMDLEN bytes). */
static void proc(int pid, const char *comm, char state, int ppid, unsigned uid,
                 const char *cmd, size_t cmdlen)
{
	char rel[64], text[512];

	snprintf(rel, sizeof rel, "proc/%d", pid);
	dir(rel);
	snprintf(rel, sizeof rel, "proc/%d/stat", pid);
	snprintf(text, sizeof text, "%d (%s) %c %d %d %d 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 100\n",
	    pid, comm, state, ppid, ppid, ppid);
	puts_file(rel, text);
	snprintf(rel, sizeof rel, "proc/%d/status", pid);
	snprintf(text, sizeof text, "Name:\t%s\nUmask:\t0022\nState:\t%c (x)\nTgid:\t%d\nPid:\t%d\n"
	    "PPid:\t%d\nUid:\t%u\t%u\t%u\t%u\nGid:\t0\t0\t0\t0\n", comm, state, pid, pid, ppid,
	    uid, uid, uid, uid);
	puts_file(rel, text);
	snprintf(rel, sizeof rel, "proc/%d/cmdline", pid);
	put(rel, cmd, cmdlen);
}

static void fdlink(int pid, int fd, unsigned long inode)
{
	char path[PATH_MAX * 2], target[64];

	snprintf(path, sizeof path, "%s/proc/%d/fd", tmp, pid);
	mkdir(path, 0755);
	snprintf(path, sizeof path, "%s/proc/%d/fd/%d", tmp, pid, fd);
	snprintf(target, sizeof target, "socket:[%lu]", inode);
	if (symlink(target, path) < 0) {
		perror(path);
		exit(2);
	}
}

#define CMD(s) s, sizeof s    /* a literal with its final NUL */

/* ---- parsers ------------------------------------------------------------ */

static void test_stat(void)
{
	xrdp_proc p;
	rdms_error err = { 0 };

	CHECK_EQ(xrdp_parse_stat("42 (xrdp-sesman) S 17 42 42 0 -1", &p, &err), WBEM_S_NO_ERROR);
	CHECK_EQ(p.pid, 42);
	CHECK_EQ(p.ppid, 17);
	CHECK_EQ(p.state, 'S');
	CHECK_STR(p.comm, "xrdp-sesman");
	/* a comm with blanks and parentheses ends at the last ')' */
	CHECK_EQ(xrdp_parse_stat("7 (a) (b c) Z 1 7", &p, &err), WBEM_S_NO_ERROR);
	CHECK_STR(p.comm, "a) (b c");
	CHECK_EQ(p.state, 'Z');
	CHECK_EQ(p.ppid, 1);
	/* malformed */
	CHECK_EQ(xrdp_parse_stat("", &p, &err), WBEM_E_FAILED);
	CHECK(strstr(err.message, "pid") != NULL);
	CHECK_EQ(xrdp_parse_stat("x (a) S 1", &p, &err), WBEM_E_FAILED);
	CHECK_EQ(xrdp_parse_stat("12 a) S 1", &p, &err), WBEM_E_FAILED);
	CHECK(strstr(err.message, "'('") != NULL);
	CHECK_EQ(xrdp_parse_stat("12 (abc S 1", &p, &err), WBEM_E_FAILED);
	CHECK_EQ(xrdp_parse_stat("12 (abc)", &p, &err), WBEM_E_FAILED);
	CHECK(strstr(err.message, "state") != NULL);
	CHECK_EQ(xrdp_parse_stat("12 (abc) S x", &p, &err), WBEM_E_FAILED);
	CHECK(strstr(err.message, "parent") != NULL);
	CHECK_EQ(xrdp_parse_stat("-3 (abc) S 1", &p, &err), WBEM_E_FAILED);
	CHECK_EQ(xrdp_parse_stat("99999999999999999999 (a) S 1", &p, &err), WBEM_E_FAILED);
	/* an over-long comm is cut, not overflowed */
	CHECK_EQ(xrdp_parse_stat("5 (aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa) S 1", &p, &err),
	    WBEM_S_NO_ERROR);
	CHECK_EQ(strlen(p.comm), sizeof p.comm - 1);
}

/* A process's start time (/proc/PID/stat field 22 and /proc/stat's btime); xprintidle's answer. */
static void test_start_time_and_idle(void)
{
	unsigned long long ticks = 0;
	long long btime = 0;
	uint32_t secs = 0;
	char dir[] = "/tmp/test_xrdp_start.XXXXXX", path[PATH_MAX];
	FILE *f;
	static const char stat_line[] =
		"4242 (Xorg (x) y) S 1 4242 4242 0 -1 4194560 100 0 0 0 5 3 0 0 20 0 1 0 12345 "
		"100000 2000 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n";

	CHECK(rdms_proc_parse_starttime(stat_line, &ticks) && ticks == 12345);
	CHECK(!rdms_proc_parse_starttime("4242 (Xorg) S 1 2 3", &ticks));
	CHECK(!rdms_proc_parse_starttime("no parenthesis", &ticks));
	CHECK(rdms_proc_parse_btime("cpu  1 2 3\nintr 5\nbtime 1700000000\nprocesses 9\n", &btime) &&
	      btime == 1700000000);
	CHECK(!rdms_proc_parse_btime("cpu 1\nbtime x\n", &btime));
	CHECK(!rdms_proc_parse_btime("cpu 1\n", &btime));

	/* on a /proc tree of its own: boot time + ticks / HZ */
	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof path, "%s/stat", dir);
	f = fopen(path, "w");
	fputs("cpu 1\nbtime 1700000000\n", f);
	fclose(f);
	snprintf(path, sizeof path, "%s/4242", dir);
	mkdir(path, 0755);
	snprintf(path, sizeof path, "%s/4242/stat", dir);
	f = fopen(path, "w");
	fputs(stat_line, f);
	fclose(f);
	CHECK_EQ(rdms_proc_boot_time(dir), 1700000000);
	CHECK_EQ(rdms_proc_start_time(dir, 4242, rdms_proc_boot_time(dir)),
	         1700000000 + (int64_t)(12345 / (unsigned long long)sysconf(_SC_CLK_TCK)));
	CHECK_EQ(rdms_proc_start_time(dir, 4243, 1700000000), 0);     /* gone: unknown */
	CHECK_EQ(rdms_proc_start_time(dir, 4242, -1), 0);   /* no boot time: unknown */
	unlink(path);
	snprintf(path, sizeof path, "%s/4242", dir);
	rmdir(path);
	snprintf(path, sizeof path, "%s/stat", dir);
	unlink(path);
	rmdir(dir);

	CHECK(rdms_x_idle_parse("61234\n", &secs) && secs == 61);
	CHECK(rdms_x_idle_parse("999", &secs) && secs == 0);
	CHECK(!rdms_x_idle_parse("couldn't open display\n", &secs));
	CHECK(!rdms_x_idle_parse("12 34", &secs));
	CHECK(!rdms_x_idle_parse("", &secs));
	CHECK(!rdms_x_idle_parse("99999999999999999999999", &secs));
}

static void test_status(void)
{
	char state = 0;
	uid_t uid = 0;
	rdms_error err = { 0 };

	CHECK_EQ(rdms_proc_parse_status("Name:\tXorg\nState:\tS (sleeping)\nUid:\t1001\t1001\t1001\t1001\n",
	    &state, &uid, &err), WBEM_S_NO_ERROR);
	CHECK_EQ(state, 'S');
	CHECK_EQ(uid, 1001);
	CHECK_EQ(rdms_proc_parse_status("State:\tZ (zombie)\nUid:\t0\t0\t0\t0\n", &state, &uid, &err),
	    WBEM_S_NO_ERROR);
	CHECK_EQ(state, 'Z');
	CHECK_EQ(rdms_proc_parse_status("Name:\tx\nUid:\t1\n", &state, &uid, &err), WBEM_E_FAILED);
	CHECK(strstr(err.message, "State") != NULL);
	CHECK_EQ(rdms_proc_parse_status("Name:\tx\nState:\tS\n", &state, &uid, &err), WBEM_E_FAILED);
	CHECK(strstr(err.message, "Uid") != NULL);
	CHECK_EQ(rdms_proc_parse_status("Name:\tx\nState:\t?\nUid:\t1\n", &state, &uid, &err), WBEM_E_FAILED);
	CHECK_EQ(rdms_proc_parse_status("Name:\tx\nState:\tS\nUid:\tabc\n", &state, &uid, &err), WBEM_E_FAILED);
	CHECK_EQ(rdms_proc_parse_status("", &state, &uid, &err), WBEM_E_FAILED);
}

static void test_cmdline(void)
{
	CHECK_EQ(rdms_cmdline_display(CMD("/usr/lib/xorg/Xorg\0:11\0-auth\0.Xauthority")), 11);
	CHECK_EQ(rdms_cmdline_display(CMD("Xvnc\0-auth\0x\0:10")), 10);
	CHECK_EQ(rdms_cmdline_display(CMD("Xvnc\0:abc\0:\0-x")), -1);
	CHECK_EQ(rdms_cmdline_display(CMD("Xvnc\0:99999999")), -1);
	CHECK_EQ(rdms_cmdline_display("Xorg\0:1", 7), -1);       /* unterminated */
	CHECK_EQ(rdms_cmdline_display("", 0), -1);
	CHECK_EQ(xrdp_cmdline_rfbport(CMD("Xvnc\0:10\0-rfbport\0005999\0-bs")), 5999);
	CHECK_EQ(xrdp_cmdline_rfbport(CMD("Xvnc\0:10\0-rfbport")), -1);
	CHECK_EQ(xrdp_cmdline_rfbport(CMD("Xvnc\0:10")), -1);
}

static void test_unix_line(void)
{
	xrdp_unix_ent e;
	rdms_error err = { 0 };

	CHECK_EQ(xrdp_parse_unix_line("000000008c50697a: 00000002 00000000 00010000 0001 01  9356 "
	    "/run/xrdp/sockdir/xrdp_display_11", &e, &err), WBEM_S_NO_ERROR);
	CHECK_EQ(e.inode, 9356);
	CHECK_EQ(e.flags, 0x10000);
	CHECK_EQ(e.type, 1);
	CHECK_EQ(e.st, 1);
	CHECK_STR(e.path, "/run/xrdp/sockdir/xrdp_display_11");
	CHECK_EQ(xrdp_parse_unix_line("00000000d4c7efa9: 00000003 00000000 00000000 0001 03  9368 "
	    "/run/xrdp/sockdir/xrdp_display_11\n", &e, &err), WBEM_S_NO_ERROR);
	CHECK_EQ(e.st, 3);
	CHECK_STR(e.path, "/run/xrdp/sockdir/xrdp_display_11");
	/* unnamed socket, and a path with a blank */
	CHECK_EQ(xrdp_parse_unix_line("0000000000000000: 00000003 00000000 00000000 0001 03 12345",
	    &e, &err), WBEM_S_NO_ERROR);
	CHECK_STR(e.path, "");
	CHECK_EQ(xrdp_parse_unix_line("ffff: 00000002 00000000 00000000 0002 01 7 /tmp/a b",
	    &e, &err), WBEM_S_NO_ERROR);
	CHECK_STR(e.path, "/tmp/a b");
	/* malformed: each names what and where */
	CHECK_EQ(xrdp_parse_unix_line("Num       RefCount Protocol Flags    Type St Inode Path",
	    &e, &err), WBEM_E_FAILED);
	CHECK(strstr(err.message, "slot") != NULL);
	CHECK_EQ(xrdp_parse_unix_line("0000: 00000002 00000000 zz 0001 01 1 /x", &e, &err), WBEM_E_FAILED);
	CHECK(strstr(err.message, "flags") != NULL && strstr(err.message, "column") != NULL);
	CHECK_EQ(xrdp_parse_unix_line("0000: 00000002 00000000 00000000 0001 0101 1 /x", &e, &err),
	    WBEM_E_FAILED);
	CHECK(strstr(err.message, "state") != NULL);
	CHECK_EQ(xrdp_parse_unix_line("0000: 00000002 00000000 00000000 0001 01 x /x", &e, &err),
	    WBEM_E_FAILED);
	CHECK(strstr(err.message, "inode") != NULL);
	CHECK_EQ(xrdp_parse_unix_line("0000: 00000002", &e, &err), WBEM_E_FAILED);
	CHECK_EQ(xrdp_parse_unix_line("", &e, &err), WBEM_E_FAILED);
	{
		char line[600];

		snprintf(line, sizeof line, "0000: 00000002 00000000 00000000 0001 01 1 /%0400d", 0);
		CHECK_EQ(xrdp_parse_unix_line(line, &e, &err), WBEM_E_FAILED);
		CHECK(strstr(err.message, "longer") != NULL);
	}
}

static void test_tcp_line(void)
{
	xrdp_tcp_ent e;
	rdms_error err = { 0 };

	CHECK_EQ(xrdp_parse_tcp_line("   2: 0100007F:0D3D 00000000:0000 0A 00000000:00000000 "
	    "00:00000000 00000000     0        0 9017 1 000000004f4cea1d 100 0 0 10 0", false,
	    &e, &err), WBEM_S_NO_ERROR);
	CHECK_STR(e.laddr, "127.0.0.1");
	CHECK_EQ(e.lport, 3389);
	CHECK_STR(e.raddr, "0.0.0.0");
	CHECK_EQ(e.rport, 0);
	CHECK_EQ(e.st, XRDP_TCP_LISTEN);
	CHECK_EQ(e.inode, 9017);
	/* v4-mapped v6 shows as v4; [::1] as ::1 */
	CHECK_EQ(xrdp_parse_tcp_line("   3: 0000000000000000FFFF00000100007F:A216 "
	    "0000000000000000FFFF00000100007F:1716 01 00000000:00000000 00:00000000 00000000     0"
	    "        0 9054 1 00000000a15fdd30 21 4 0 18 -1", true, &e, &err), WBEM_S_NO_ERROR);
	CHECK_STR(e.laddr, "127.0.0.1");
	CHECK_EQ(e.lport, 0xA216);
	CHECK_EQ(e.rport, 5910);
	CHECK_EQ(e.st, XRDP_TCP_ESTABLISHED);
	CHECK_EQ(e.inode, 9054);
	CHECK_EQ(xrdp_parse_tcp_line("   0: 00000000000000000000000001000000:1716 "
	    "00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000  1002"
	    "        0 9061 1 00000000b7f92222 100 0 0 10 0", true, &e, &err), WBEM_S_NO_ERROR);
	CHECK_STR(e.laddr, "::1");
	CHECK_STR(e.raddr, "::");
	/* malformed */
	CHECK_EQ(xrdp_parse_tcp_line("  sl  local_address rem_address   st tx_queue rx_queue", false,
	    &e, &err), WBEM_E_FAILED);
	CHECK(strstr(err.message, "slot") != NULL);
	CHECK_EQ(xrdp_parse_tcp_line("   2: 0100007G:0D3D 00000000:0000 0A", false, &e, &err),
	    WBEM_E_FAILED);
	CHECK(strstr(err.message, "local address") != NULL);
	CHECK_EQ(xrdp_parse_tcp_line("   2: 0100007F:0D3D 00000000 0A", false, &e, &err),
	    WBEM_E_FAILED);
	CHECK(strstr(err.message, "remote address") != NULL);
	CHECK_EQ(xrdp_parse_tcp_line("   2: 0100007F:0D3D 00000000:0000 0A 00000000:00000000",
	    false, &e, &err), WBEM_E_FAILED);
	CHECK(strstr(err.message, "inode") != NULL);
	CHECK_EQ(xrdp_parse_tcp_line("   2: 0100007F:0D3D 00000000:0000 XYZ 0 0 0 0 0 1", false,
	    &e, &err), WBEM_E_FAILED);
	CHECK(strstr(err.message, "state") != NULL);
	/* a v4 line read as v6 */
	CHECK_EQ(xrdp_parse_tcp_line("   2: 0100007F:0D3D 00000000:0000 0A 0 0 0 0 0 1", true,
	    &e, &err), WBEM_E_FAILED);
	CHECK_EQ(xrdp_parse_tcp_line("", false, &e, &err), WBEM_E_FAILED);
}

static const char log_text[] =
	"[20261125-09:50:25] [INFO ] starting xrdp with pid 6666\n"
	"[20261125-09:50:26] [INFO ] Socket 12: AF_INET connection received from 127.0.0.1 port 59790\n"
	"[20261125-09:50:26] [INFO ] Socket 12: AF_INET6 connection received from ::ffff:10.1.2.3 port 59796\n"
	"garbage without a timestamp connection received from\n"
	"[20261125-09:50:26] [INFO ] Connected client computer name: E2ECLIENT1\n"
	"[20261125-09:50:26] [INFO ] Connected client computer name: E2ECLIENT2\n"
	"[20261125-09:50:27] [INFO ] lib_mod_log_peer: xrdp_pid=6722 connected to X11rdp_pid=6737 "
	"X11rdp_uid=1001 X11rdp_gid=1001 client_ip=127.0.0.1 client_port=59790\n"
	"[20261125-09:50:27] [INFO ] lib_mod_log_peer: xrdp_pid=x connected to X11rdp_pid=\n"
	/* a connection that never sends a name, then one that does, much later */
	"[20261125-10:00:00] [INFO ] Socket 12: AF_INET connection received from 127.0.0.1 port 1000\n"
	"[20261125-10:05:00] [INFO ] Socket 12: AF_INET connection received from 127.0.0.1 port 1001\n"
	"[20261125-10:05:01] [INFO ] Connected client computer name: LATER\x01\n"
	/* a name with nothing waiting pairs with nothing */
	"[20261125-10:05:02] [INFO ] Connected client computer name: ORPHAN\n"
	"[20261125-10:05:03] [INFO ] Socket 12: AF_INET connection received from 127.0.0.1 port 99999\n"
	"[20261125-10:05:03] [INFO ] Socket 12: AF_INET connection received from bad;addr port 5\n"
	/* port 59790 reused later: the last pairing wins */
	"[20261125-11:00:00] [INFO ] Socket 12: AF_INET connection received from 127.0.0.1 port 59790\n"
	"[20261125-11:00:01] [INFO ] Connected client computer name: NEWER   \n"
	"[20261125-11:00:02] [INFO ] Connected client computer name: \n"
	"[2026";

static void test_log(void)
{
	xrdp_log_info li = { 0 };
	rdms_error err = { 0 };

	CHECK_EQ(xrdp_log_scan(log_text, sizeof log_text - 1, &li, &err), WBEM_S_NO_ERROR);
	CHECK_STR(xrdp_log_name_for(&li, "10.1.2.3", 59796), "E2ECLIENT2");
	CHECK_STR(xrdp_log_name_for(&li, "127.0.0.1", 59790), "NEWER");
	CHECK_STR(xrdp_log_name_for(&li, "127.0.0.1", 1001), "LATER?");
	CHECK(xrdp_log_name_for(&li, "127.0.0.1", 1000) == NULL);
	CHECK(xrdp_log_name_for(&li, "127.0.0.2", 59790) == NULL);
	CHECK_EQ(li.nnames, 4);
	CHECK_EQ(li.npeers, 1);
	if (li.npeers == 1) {
		CHECK_EQ(li.peers[0].xrdp_pid, 6722);
		CHECK_EQ(li.peers[0].x_pid, 6737);
		CHECK_EQ(li.peers[0].port, 59790);
		CHECK_STR(li.peers[0].addr, "127.0.0.1");
	}
	xrdp_log_free(&li);

	/* binary junk, NULs, an endless line: nothing found, nothing broken */
	{
		size_t n = 300000;
		char *junk = malloc(n);

		CHECK(junk != NULL);
		if (junk != NULL) {
			for (size_t i = 0; i < n; i++)
				junk[i] = (char)(i * 7919 % 251);
			CHECK_EQ(xrdp_log_scan(junk, n, &li, &err), WBEM_S_NO_ERROR);
			xrdp_log_free(&li);
			memset(junk, 'a', n);
			CHECK_EQ(xrdp_log_scan(junk, n, &li, &err), WBEM_S_NO_ERROR);
			CHECK_EQ(li.nnames, 0);
			xrdp_log_free(&li);
			free(junk);
		}
	}
	CHECK_EQ(xrdp_log_scan("", 0, &li, &err), WBEM_S_NO_ERROR);
	xrdp_log_free(&li);

	/* a name too long for ClientMachineName's 63 bytes is cut between characters */
	{
		static const char head[] = "[20261125-12:00:00] [INFO ] Socket 9: AF_INET connection "
		                           "received from 10.0.0.5 port 40000\n"
		                           "[20261125-12:00:01] [INFO ] Connected client computer name: ";
		char text[sizeof head + 100];
		const char *name;

		memcpy(text, head, sizeof head - 1);
		for (int i = 0; i < 40; i++)          /* 40 x U+00E9: 80 bytes */
			memcpy(text + sizeof head - 1 + 2 * i, "\xc3\xa9", 2);
		text[sizeof head - 1 + 80] = '\n';
		CHECK_EQ(xrdp_log_scan(text, sizeof head + 80, &li, &err), WBEM_S_NO_ERROR);
		name = xrdp_log_name_for(&li, "10.0.0.5", 40000);
		CHECK(name != NULL && strlen(name) == 62);      /* 31 whole characters */
		xrdp_log_free(&li);
	}
}

/* The tail reader starts at a line boundary. */
static void test_log_tail(void)
{
	char path[PATH_MAX * 2];
	xrdp_log_info li = { 0 };
	rdms_error err = { 0 };
	FILE *f;

	snprintf(path, sizeof path, "%s/tail.log", tmp);
	f = fopen(path, "w");
	CHECK(f != NULL);
	if (f == NULL)
		return;
	for (int i = 0; i < 5000; i++)
		fprintf(f, "[20261125-09:00:00] [INFO ] Socket 12: AF_INET connection received from "
		    "127.0.0.1 port %d\n[20261125-09:00:00] [INFO ] Connected client computer name: "
		    "C%d\n", 10000 + i, i);
	fclose(f);
	CHECK_EQ(xrdp_log_read(path, 4096, &li, &err), WBEM_S_NO_ERROR);
	CHECK_STR(xrdp_log_name_for(&li, "127.0.0.1", 14999), "C4999");
	CHECK(xrdp_log_name_for(&li, "127.0.0.1", 10000) == NULL);   /* beyond the tail */
	CHECK(li.nnames > 10 && li.nnames < 100);
	xrdp_log_free(&li);
	CHECK_EQ(xrdp_log_read("/nonexistent/xrdp.log", 4096, &li, &err), WBEM_E_FAILED);
	CHECK(strstr(err.message, "/nonexistent/xrdp.log") != NULL);
	CHECK_EQ(xrdp_log_read(tmp, 4096, &li, &err), WBEM_E_FAILED);   /* a directory */
}

/* ---- enumerate on a fixture tree ---------------------------------------- */

static void build_tree(void)
{
	char text[4096];

	dir("proc");
	dir("proc/net");
	dir("sockdir");
	proc(1, "init", 'S', 0, 0, CMD("init"));
	/* sesman main + two sessions + a zombie session + a session without X */
	proc(100, "xrdp-sesman", 'S', 1, 0, CMD("xrdp-sesman\0--nodaemon"));
	proc(200, "xrdp-sesman", 'S', 100, 0, CMD("xrdp-sesman"));
	proc(201, "Xorg", 'S', 200, 0, CMD("/usr/lib/xorg/Xorg\0:10\0-auth\0.Xauthority"));
	proc(202, "twm", 'S', 200, 0, CMD("twm"));
	proc(203, "xrdp-chansrv", 'S', 200, 0, CMD("/usr/sbin/xrdp-chansrv"));
	proc(300, "xrdp-sesman", 'S', 100, 0, CMD("xrdp-sesman"));
	proc(301, "Xvnc", 'S', 300, 65534, CMD("Xvnc\0:11\0-rfbport\0005999\0-localhost"));
	proc(302, "xrdp-chansrv", 'S', 300, 65534, CMD("/usr/sbin/xrdp-chansrv"));
	proc(303, "startwm.sh", 'S', 300, 65534, CMD("/bin/sh\0startwm.sh"));
	proc(500, "xrdp-sesman", 'Z', 100, 0, "", 0);
	proc(501, "Xorg", 'S', 500, 0, CMD("Xorg\0:12"));
	proc(600, "xrdp-sesman", 'S', 100, 0, CMD("xrdp-sesman"));
	proc(601, "twm", 'S', 600, 0, CMD("twm"));
	proc(700, "Xvnc", 'S', 1, 0, CMD("Xvnc\0:13"));    /* not sesman's */
	/* left behind by a sesman restart: its session process is now PID 1's (P8) */
	proc(800, "xrdp-sesman", 'S', 1, 0, CMD("xrdp-sesman"));
	proc(801, "Xorg", 'S', 800, 1001, CMD("/usr/lib/xorg/Xorg\0:14\0-auth\0.Xauthority"));
	proc(802, "twm", 'S', 800, 1001, CMD("twm"));
	/* the same shape made by a user: no session (not root's) */
	proc(900, "xrdp-sesman", 'S', 1, 1002, CMD("xrdp-sesman"));
	proc(901, "Xorg", 'S', 900, 1002, CMD("Xorg\0:15"));
	/* xrdp main + children serving the two sessions */
	proc(400, "xrdp", 'S', 1, 0, CMD("xrdp\0--nodaemon"));
	proc(401, "xrdp", 'S', 400, 0, CMD("xrdp\0--nodaemon"));
	proc(402, "xrdp", 'S', 400, 0, CMD("xrdp\0--nodaemon"));
	fdlink(400, 11, 9017);          /* listening on 3389 */
	fdlink(401, 12, 9042);          /* client 127.0.0.1:59790 */
	fdlink(401, 19, 9348);          /* its end of xrdp_display_10 */
	fdlink(402, 12, 9310);          /* client 127.0.0.1:59796 */
	fdlink(402, 19, 9054);          /* its end of the VNC connection */
	/* a malformed process entry must not matter */
	dir("proc/999");
	puts_file("proc/999/stat", "garbage");
	dir("proc/notapid");

	snprintf(text, sizeof text,
	    "Num       RefCount Protocol Flags    Type St Inode Path\n"
	    "000000008c50697a: 00000002 00000000 00010000 0001 01  9356 %s/sockdir/xrdp_display_10\n"
	    "0000000082941a2a: 00000002 00000000 00000000 0002 01  9357 %s/sockdir/xrdp_disconnect_display_10\n"
	    "this line is broken\n"
	    "00000000d4c7efa9: 00000003 00000000 00000000 0001 03  3999999968 %s/sockdir/xrdp_display_10\n"
	    "00000000d4c7efaa: 00000003 00000000 00000000 0001 03  9369 %s/sockdir/xrdp_display_1\n"
	    "00000000d4c7efab: 00000003 00000000 00000000 0001 03  9370 %s/sockdir/xrdp_display_10x\n",
	    tmp, tmp, tmp, tmp, tmp);
	puts_file("proc/net/unix", text);
	puts_file("proc/net/tcp",
	    "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
	    "   2: 0100007F:0D3D 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 9017 1 0 100 0 0 10 0\n"
	    "   3: 0100007F:E98E 0100007F:0D3D 01 00000000:00000000 02:00000003 00000000     0        0 9308 2 0 20 4 21 18 -1\n"
	    "   4: 0100007F:E994 0100007F:0D3D 01 00000000:00000000 02:00000004 00000000     0        0 9046 2 0 21 4 11 18 -1\n"
	    "   6: 0100007F:0D3D 0100007F:E994 01 00000000:00000000 02:000AFA90 00000000     0        0 9310 2 0 20 4 14 18 -1\n"
	    "   7: 0100007F:0D3D 0100007F:E98E 01 00000000:00000000 02:000AFA8F 00000000     0        0 9042 2 0 20 4 21 18 -1\n"
	    "   8: broken\n"
	    "   5: 0100007F:176F 0100007F:A216 01 00000000:00000000 00:00000000 00000000  1002        0 9360 1 0 20 4 16 18 -1\n");
	puts_file("proc/net/tcp6",
	    "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
	    "   3: 0000000000000000FFFF00000100007F:A216 0000000000000000FFFF00000100007F:176F 01 00000000:00000000 00:00000000 00000000     0        0 9054 1 0 21 4 0 18 -1\n");
	puts_file("xrdp.log",
	    "[20261125-09:50:26] [INFO ] Socket 12: AF_INET connection received from 127.0.0.1 port 59790\n"
	    "[20261125-09:50:26] [INFO ] Socket 12: AF_INET connection received from 127.0.0.1 port 59796\n"
	    "[20261125-09:50:26] [INFO ] Connected client computer name: E2ECLIENT1\n"
	    "[20261125-09:50:27] [INFO ] lib_mod_log_peer: xrdp_pid=401 connected to X11rdp_pid=201 "
	    "X11rdp_uid=0 X11rdp_gid=0 client_ip=127.0.0.1 client_port=59790\n");
}

static void fixture_config(rdms_config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	snprintf(cfg->proc_root, sizeof cfg->proc_root, "%s/proc", tmp);
	snprintf(cfg->xrdp_sockdir, sizeof cfg->xrdp_sockdir, "%s/sockdir", tmp);
	snprintf(cfg->xrdp_log, sizeof cfg->xrdp_log, "%s/xrdp.log", tmp);
	cfg->logoff_grace_ms = 100;
	cfg->message_timeout_s = 5;
}

static const rdms_session *by_id(const rdms_session_list *l, uint32_t id)
{
	for (size_t i = 0; i < l->count; i++)
		if (l->items[i].id == id)
			return &l->items[i];
	return NULL;
}

static void test_enumerate(void)
{
	rdms_config cfg;
	rdms_session_list l = { 0 };
	rdms_error err = { 0 };
	const rdms_session *a, *b, *o;
	rdms_session *pre;

	fixture_config(&cfg);
	/* sessions are appended after what the list already holds */
	pre = rdms_session_list_add(&l);
	CHECK(pre != NULL);
	CHECK_EQ(rdms_backend_xrdp.enumerate(&cfg, &l, &err), WBEM_S_NO_ERROR);
	CHECK_EQ(l.count, 4);
	a = by_id(&l, 200);
	b = by_id(&l, 300);
	CHECK(a != NULL && b != NULL);
	CHECK(by_id(&l, 500) == NULL);      /* zombie */
	CHECK(by_id(&l, 600) == NULL);      /* no X server */
	CHECK(by_id(&l, 100) == NULL);      /* the main sesman */
	CHECK(by_id(&l, 900) == NULL);      /* a user's look-alike */
	/* the orphan of a sesman restart is listed, disconnected, and can be acted on */
	o = by_id(&l, 800);
	CHECK(o != NULL);
	if (o != NULL) {
		CHECK_STR(o->kind, "Xorg");
		CHECK_EQ(o->display, 14);
		CHECK_EQ(o->server_pid, 801);
		CHECK_EQ(o->wm_pid, 802);
		CHECK_EQ(o->uid, 1001);
		CHECK_EQ(o->connect_state, WTS_DISCONNECTED);
	}
	if (a != NULL) {
		CHECK_STR(a->kind, "Xorg");
		CHECK_EQ(a->display, 10);
		CHECK_EQ(a->server_pid, 201);
		CHECK_EQ(a->wm_pid, 202);
		CHECK_EQ(a->uid, 0);
		CHECK_STR(a->user, "root");
		CHECK_EQ(a->connect_state, WTS_ACTIVE);
		/* no real socket for sock_diag: the logged peer line names 401 */
		CHECK_EQ(a->conn_pid, 401);
		CHECK_STR(a->client, "E2ECLIENT1");
		CHECK(a->backend == &rdms_backend_xrdp);
	}
	if (b != NULL) {
		CHECK_STR(b->kind, "Xvnc");
		CHECK_EQ(b->display, 11);
		CHECK_EQ(b->server_pid, 301);
		CHECK_EQ(b->wm_pid, 303);
		CHECK_EQ(b->uid, 65534);
		CHECK_EQ(b->connect_state, WTS_ACTIVE);     /* ESTABLISHED on -rfbport 5999 */
		CHECK_EQ(b->conn_pid, 402);
		/* paired in order, the second connection has no name: its address */
		CHECK_STR(b->client, "127.0.0.1");
	}
	rdms_session_list_free(&l);

	/* a client that closed its connection (CLOSE_WAIT: xrdp has not noticed yet) has left */
	{
		static const char tcp[] =
		    "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
		    "   2: 0100007F:0D3D 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 9017 1 0 100 0 0 10 0\n"
		    "   6: 0100007F:0D3D 0100007F:E994 08 00000000:00000000 02:000AFA90 00000000     0        0 9310 2 0 20 4 14 18 -1\n"
		    "   7: 0100007F:0D3D 0100007F:E98E 01 00000000:00000000 02:000AFA8F 00000000     0        0 9042 2 0 20 4 21 18 -1\n"
		    "   5: 0100007F:176F 0100007F:A216 01 00000000:00000000 00:00000000 00000000  1002        0 9360 1 0 20 4 16 18 -1\n";
		char saved[4096], path[PATH_MAX * 2];
		size_t n;
		FILE *f;

		snprintf(path, sizeof path, "%s/proc/net/tcp", tmp);
		f = fopen(path, "r");
		n = f != NULL ? fread(saved, 1, sizeof saved, f) : 0;
		if (f != NULL)
			fclose(f);
		puts_file("proc/net/tcp", tcp);
		CHECK_EQ(rdms_backend_xrdp.enumerate(&cfg, &l, &err), WBEM_S_NO_ERROR);
		b = by_id(&l, 300);
		CHECK(b != NULL && b->connect_state == WTS_DISCONNECTED && b->conn_pid == 0 &&
		      b->client[0] == '\0');
		a = by_id(&l, 200);
		CHECK(a != NULL && a->connect_state == WTS_ACTIVE);
		rdms_session_list_free(&l);
		put("proc/net/tcp", saved, n);
	}

	/* without the log the client is the address; without net/ files, disconnected */
	snprintf(cfg.xrdp_log, sizeof cfg.xrdp_log, "%s/no-such.log", tmp);
	CHECK_EQ(rdms_backend_xrdp.enumerate(&cfg, &l, &err), WBEM_S_NO_ERROR);
	a = by_id(&l, 200);
	CHECK(a != NULL && a->connect_state == WTS_ACTIVE && a->conn_pid == 0 && a->client[0] == '\0');
	b = by_id(&l, 300);
	CHECK(b != NULL && strcmp(b->client, "127.0.0.1") == 0);
	rdms_session_list_free(&l);

	/* another sockdir: the Xorg session is not attached */
	snprintf(cfg.xrdp_sockdir, sizeof cfg.xrdp_sockdir, "%s/other", tmp);
	CHECK_EQ(rdms_backend_xrdp.enumerate(&cfg, &l, &err), WBEM_S_NO_ERROR);
	a = by_id(&l, 200);
	CHECK(a != NULL && a->connect_state == WTS_DISCONNECTED && a->client[0] == '\0');
	if (a != NULL) {
		/* Disconnect of a disconnected session: refused before anything is touched */
		CHECK_EQ(rdms_backend_xrdp.disconnect(&cfg, a, &err), WBEM_E_INVALID_OPERATION);
		CHECK(strstr(err.message, "session 200 is not connected") != NULL);
	}
	rdms_session_list_free(&l);

	/* a missing proc root is an error, not a crash */
	snprintf(cfg.proc_root, sizeof cfg.proc_root, "%s/nothing", tmp);
	CHECK_EQ(rdms_backend_xrdp.enumerate(&cfg, &l, &err), WBEM_E_FAILED);
	CHECK_EQ(l.count, 0);
	rdms_session_list_free(&l);
}

/* find reads the one session as enumerate does, and nothing for an id that is none. */
static void test_find(void)
{
	rdms_config cfg;
	rdms_session_list l = { 0 };
	rdms_error err = { 0 };
	rdms_session s;
	const uint32_t ids[] = { 200, 300, 800 };

	fixture_config(&cfg);
	CHECK(rdms_backend_xrdp.find != NULL);
	CHECK_EQ(rdms_backend_xrdp.enumerate(&cfg, &l, &err), WBEM_S_NO_ERROR);
	for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
		const rdms_session *e = by_id(&l, ids[i]);

		memset(&s, 0xAB, sizeof s);
		CHECK_EQ(rdms_backend_xrdp.find(&cfg, ids[i], &s, &err), WBEM_S_NO_ERROR);
		CHECK(e != NULL);
		if (e == NULL)
			continue;
		CHECK_EQ(s.id, e->id);
		CHECK_EQ(s.connect_state, e->connect_state);
		CHECK_EQ(s.uid, e->uid);
		CHECK_STR(s.user, e->user);
		CHECK_STR(s.client, e->client);
		CHECK_STR(s.client_addr, e->client_addr);
		CHECK_STR(s.kind, e->kind);
		CHECK_EQ(s.display, e->display);
		CHECK_EQ(s.server_pid, e->server_pid);
		CHECK_EQ(s.wm_pid, e->wm_pid);
		CHECK_EQ(s.conn_pid, e->conn_pid);
		CHECK_EQ(s.logon_time, e->logon_time);
		CHECK(s.backend == &rdms_backend_xrdp);
	}
	rdms_session_list_free(&l);
	/* what enumerate leaves out, find does not find */
	CHECK_EQ(rdms_backend_xrdp.find(&cfg, 500, &s, &err), WBEM_E_NOT_FOUND);   /* zombie */
	CHECK(strstr(err.message, "no xrdp session 500") != NULL);
	CHECK_EQ(rdms_backend_xrdp.find(&cfg, 600, &s, &err), WBEM_E_NOT_FOUND);   /* no X server */
	CHECK_EQ(rdms_backend_xrdp.find(&cfg, 100, &s, &err), WBEM_E_NOT_FOUND);   /* main sesman */
	CHECK_EQ(rdms_backend_xrdp.find(&cfg, 900, &s, &err), WBEM_E_NOT_FOUND);   /* a user's */
	CHECK_EQ(rdms_backend_xrdp.find(&cfg, 201, &s, &err), WBEM_E_NOT_FOUND);   /* an X server */
	CHECK_EQ(rdms_backend_xrdp.find(&cfg, 999, &s, &err), WBEM_E_NOT_FOUND);   /* bad stat */
	CHECK_EQ(rdms_backend_xrdp.find(&cfg, 0, &s, &err), WBEM_E_NOT_FOUND);
	CHECK_EQ(rdms_backend_xrdp.find(&cfg, 4000000000u, &s, &err), WBEM_E_NOT_FOUND);
	/* a session that ends is gone at the next find */
	proc(300, "xrdp-sesman", 'Z', 100, 0, "", 0);
	CHECK_EQ(rdms_backend_xrdp.find(&cfg, 300, &s, &err), WBEM_E_NOT_FOUND);
	proc(300, "xrdp-sesman", 'S', 100, 0, CMD("xrdp-sesman"));
	CHECK_EQ(rdms_backend_xrdp.find(&cfg, 300, &s, &err), WBEM_S_NO_ERROR);
}

/* SendMessage validates its text before anything else. */
static void test_message_checks(void)
{
	rdms_config cfg;
	rdms_session s;
	rdms_error err = { 0 };
	char big[RDMS_MESSAGE_MAX_TEXT + 2];

	fixture_config(&cfg);
	memset(&s, 0, sizeof s);
	s.id = 200;
	s.server_pid = 201;
	s.display = 10;
	memset(big, 'm', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	CHECK_EQ(rdms_backend_xrdp.send_message(&cfg, &s, "t", big, NULL, &err), WBEM_E_INVALID_PARAMETER);
	CHECK(strstr(err.message, "Message is 4097 bytes long; the limit is 4096 bytes") != NULL);
	big[RDMS_MESSAGE_MAX_TITLE + 1] = '\0';
	CHECK_EQ(rdms_backend_xrdp.send_message(&cfg, &s, big, "m", NULL, &err), WBEM_E_INVALID_PARAMETER);
	CHECK(strstr(err.message, "Title") != NULL);
	CHECK_EQ(rdms_backend_xrdp.send_message(&cfg, &s, "a\nb", "m", NULL, &err), WBEM_E_INVALID_PARAMETER);
	CHECK(strstr(err.message, "control character at byte 1") != NULL);
	CHECK_EQ(rdms_backend_xrdp.send_message(&cfg, &s, "t", "bell\a", NULL, &err), WBEM_E_INVALID_PARAMETER);
	CHECK_EQ(rdms_backend_xrdp.send_message(&cfg, &s, NULL, "m", NULL, &err), WBEM_E_INVALID_PARAMETER);
	/* a session whose process is not there any more */
	s.id = 4000000;
	CHECK_EQ(rdms_backend_xrdp.send_message(&cfg, &s, "t", "two\nlines", NULL, &err), WBEM_E_NOT_FOUND);
	CHECK_EQ(rdms_backend_xrdp.logoff(&cfg, &s, &err), WBEM_E_NOT_FOUND);
	s.connect_state = WTS_ACTIVE;
	CHECK_EQ(rdms_backend_xrdp.disconnect(&cfg, &s, &err), WBEM_E_NOT_FOUND);
}

static void test_common(void)
{
	rdms_session_list l = { 0 };

	CHECK_STR(wts_state_name(WTS_ACTIVE), "Active");
	CHECK_STR(wts_state_name(WTS_DISCONNECTED), "Disconnected");
	CHECK_STR(wts_state_name(WTS_INIT), "Init");
	CHECK_STR(wts_state_name(10), "Unknown");
	CHECK_STR(wts_state_name(0xffffffffu), "Unknown");
	CHECK(rdms_backend_find("xrdp") == &rdms_backend_xrdp);
	CHECK(rdms_backend_find("no-such-server") == NULL);
	CHECK(rdms_backends[0] == &rdms_backend_xrdp);
	for (int i = 0; i < 100; i++) {
		rdms_session *s = rdms_session_list_add(&l);

		CHECK(s != NULL && s->id == 0 && s->display == -1);
		if (s != NULL)
			s->id = (uint32_t)i + 1;
	}
	CHECK_EQ(l.count, 100);
	CHECK_EQ(l.items[99].id, 100);
	rdms_session_list_free(&l);
	CHECK_EQ(l.count, 0);
	CHECK(l.items == NULL);
}

static void cleanup(void)
{
	char cmd[PATH_MAX + 32];

	/* our own mkdtemp directory only */
	if (strncmp(tmp, "/tmp/rdms-test-xrdp.", 20) == 0) {
		snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", tmp);
	}
}

/* Where xrdp logs: the override, the file it holds open, its ini, the default. */
static void test_logfile(void)
{
	rdms_config cfg;
	xrdp_proctab t = { 0 };
	rdms_error err = { 0 };
	char out[PATH_MAX], want[PATH_MAX * 2 + 64], ini[PATH_MAX * 2];

	fixture_config(&cfg);
	CHECK_EQ(xrdp_proctab_read(cfg.proc_root, &t, &err), WBEM_S_NO_ERROR);
	/* the setting wins */
	xrdp_log_path(&cfg, &t, out, sizeof out);
	CHECK_STR(out, cfg.xrdp_log);
	cfg.xrdp_log[0] = '\0';

	/* an ini, as xrdp reads it: [Logging] LogFile, relative under /var/log */
	snprintf(ini, sizeof ini, "%s/xrdp.ini", tmp);
	puts_file("xrdp.ini", "[Globals]\nLogFile=wrong.log\n[Logging]\n  LogFile = mine.log  \n");
	CHECK_EQ(xrdp_ini_logfile(ini, out, sizeof out), WBEM_S_NO_ERROR);
	CHECK_STR(out, "/var/log/mine.log");
	puts_file("xrdp.ini", "[logging]\r\nLogFile=/srv/log/x.log\r\n");
	CHECK_EQ(xrdp_ini_logfile(ini, out, sizeof out), WBEM_S_NO_ERROR);
	CHECK_STR(out, "/srv/log/x.log");
	puts_file("xrdp.ini", "[Logging]\nLogLevel=INFO\nLogFile=\n");
	CHECK_EQ(xrdp_ini_logfile(ini, out, sizeof out), WBEM_E_NOT_FOUND);
	CHECK_STR(out, "/var/log/xrdp.log");
	CHECK_EQ(xrdp_ini_logfile("/nonexistent/xrdp.ini", out, sizeof out), WBEM_E_NOT_FOUND);

	/* the main xrdp (400) was started with --config INI */
	puts_file("xrdp.ini", "[Logging]\nLogFile=/srv/log/from-ini.log\n");
	snprintf(want, sizeof want, "xrdp%c--nodaemon%c--config%c%s", 0, 0, 0, ini);
	put("proc/400/cmdline", want, strlen("xrdp") + strlen("--nodaemon") + strlen("--config") +
	    strlen(ini) + 4);
	xrdp_log_path(&cfg, &t, out, sizeof out);
	CHECK_STR(out, "/srv/log/from-ini.log");
	snprintf(want, sizeof want, "xrdp%c--config=%s", 0, ini);
	put("proc/400/cmdline", want, strlen("xrdp") + strlen("--config=") + strlen(ini) + 2);
	xrdp_log_path(&cfg, &t, out, sizeof out);
	CHECK_STR(out, "/srv/log/from-ini.log");

	/* ... but the log file it holds open is the truth */
	puts_file("held.log", "x\n");
	{
		char path[PATH_MAX * 2], target[PATH_MAX * 2], other[PATH_MAX * 2], stat_text[256];

		dir("proc/400/fd");
		snprintf(path, sizeof path, "%s/proc/400/fd/3", tmp);
		CHECK_EQ(symlink("socket:[77]", path), 0);
		snprintf(path, sizeof path, "%s/proc/400/fd/4", tmp);
		snprintf(target, sizeof target, "%s/held.log", tmp);
		CHECK_EQ(symlink(target, path), 0);
		xrdp_log_path(&cfg, &t, out, sizeof out);
		CHECK_STR(out, target);
		/* rotated away: the file is gone, the ini says where the new one is */
		unlink(target);
		xrdp_log_path(&cfg, &t, out, sizeof out);
		CHECK_STR(out, "/srv/log/from-ini.log");

		/* found among the fds once, the file is kept for that xrdp process: a
		 * listing does not read its fds again (here they name another log) ... */
		puts_file("held.log", "x\n");
		xrdp_log_path(&cfg, &t, out, sizeof out);
		CHECK_STR(out, target);
		puts_file("other.log", "y\n");
		snprintf(other, sizeof other, "%s/other.log", tmp);
		CHECK_EQ(unlink(path), 0);
		CHECK_EQ(symlink(other, path), 0);
		xrdp_log_path(&cfg, &t, out, sizeof out);
		CHECK_STR(out, target);
		/* ... until xrdp is another process under the same pid (its start time) ... */
		snprintf(stat_text, sizeof stat_text, "400 (xrdp) S 1 1 1 0 -1 4194560 1 0 0 0 0 0 0 0 "
		         "20 0 1 0 777\n");
		puts_file("proc/400/stat", stat_text);
		xrdp_log_path(&cfg, &t, out, sizeof out);
		CHECK_STR(out, other);
		/* ... or the file kept is gone */
		CHECK_EQ(unlink(path), 0);
		CHECK_EQ(symlink(target, path), 0);
		xrdp_log_path(&cfg, &t, out, sizeof out);
		CHECK_STR(out, other);
		unlink(other);
		xrdp_log_path(&cfg, &t, out, sizeof out);
		CHECK_STR(out, target);
		unlink(path);
		unlink(target);
		snprintf(stat_text, sizeof stat_text, "400 (xrdp) S 1 1 1 0 -1 4194560 1 0 0 0 0 0 0 0 "
		         "20 0 1 0 100\n");
		puts_file("proc/400/stat", stat_text);
	}
	/* no xrdp at all: its default ini, here absent: the default */
	xrdp_log_path(&cfg, NULL, out, sizeof out);
	CHECK(out[0] == '/');
	xrdp_proctab_free(&t);
	put("proc/400/cmdline", "xrdp\0--nodaemon", sizeof "xrdp\0--nodaemon");
}

int main(void)
{
	snprintf(tmp, sizeof tmp, "/tmp/rdms-test-xrdp.XXXXXX");
	if (mkdtemp(tmp) == NULL) {
		perror("mkdtemp");
		return 2;
	}
	test_stat();
	test_start_time_and_idle();
	test_status();
	test_cmdline();
	test_unix_line();
	test_tcp_line();
	test_log();
	test_log_tail();
	build_tree();
	test_enumerate();
	test_find();
	test_logfile();
	test_message_checks();
	test_common();
	cleanup();
	return check_summary("xrdp");
}
