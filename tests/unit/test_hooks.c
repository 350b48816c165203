/*
 * test_hooks.c -- the hook runner (src/events/hooks.h) with real scripts:
 * reasons, environment, order within a session, the timeout (the hook's
 * background job goes too), hooks run as the session's user, unsafe and
 * failing hooks reported.  Running as another user needs root; without it
 * those checks are skipped and say so.
 */
#include <errno.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "config/config.h"
#include "events/hooks.h"

static char dir[] = "/tmp/rdms-test-hooks.XXXXXX";
static rdms_config cfg;

/* What the report function heard. */
static pthread_mutex_t heard_lock = PTHREAD_MUTEX_INITIALIZER;
static char heard[16][400];
static int nheard;

static void on_report(void *ctx, const rdms_hook_outcome *o)
{
	(void)ctx;
	pthread_mutex_lock(&heard_lock);
	if (nheard < 16)
		snprintf(heard[nheard++], sizeof heard[0], "%s %s %s", o->reason,
		         strrchr(o->hook, '/') + 1, o->detail);
	pthread_mutex_unlock(&heard_lock);
}

static bool heard_of(const char *needle)
{
	bool found = false;

	pthread_mutex_lock(&heard_lock);
	for (int i = 0; i < nheard; i++)
		found |= strstr(heard[i], needle) != NULL;
	pthread_mutex_unlock(&heard_lock);
	return found;
}

static void put_hook(const char *reason, const char *name, mode_t mode, const char *body)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof path, "%s/%s.d", dir, reason);
	mkdir(path, 0755);
	chmod(path, 0755);
	snprintf(path, sizeof path, "%s/%s.d/%s", dir, reason, name);
	f = fopen(path, "w");
	CHECK(f != NULL);
	if (f == NULL)
		return;
	/* a shell script, unless BODY names its own interpreter */
	fprintf(f, "%s%s\n", strncmp(body, "#!", 2) == 0 ? "" : "#!/bin/sh\n", body);
	fclose(f);
	CHECK_EQ(chmod(path, mode), 0);
}

/* The contents of DIR/NAME ("" when absent). */
static const char *read_out(const char *name)
{
	static char buf[4096];
	char path[512];
	FILE *f;
	size_t n = 0;

	snprintf(path, sizeof path, "%s/out/%s", dir, name);
	buf[0] = '\0';
	if ((f = fopen(path, "r")) != NULL) {
		n = fread(buf, 1, sizeof buf - 1, f);
		fclose(f);
	}
	buf[n] = '\0';
	return buf;
}

static rdms_event ev(uint8_t kind, uint32_t id, uint32_t uid, uint32_t state, const char *client,
                     uint32_t prev_state, const char *prev_client)
{
	rdms_event e;

	memset(&e, 0, sizeof e);
	e.kind = kind;
	e.time_us = 1764928800LL * 1000000;   /* 2025-12-05T10:00:00Z */
	e.target = (rdms_event_session){ .id = id, .connect_state = state, .uid = uid,
	                                 .display = 12, .backend = "xrdp", .user = (char *)"alice",
	                                 .client = (char *)client, .client_addr = (char *)"" };
	if (kind == RDMS_EVENT_MODIFICATION)
		e.previous = (rdms_event_session){ .id = id, .connect_state = prev_state, .uid = uid,
		                                   .backend = "xrdp", .user = (char *)"alice",
		                                   .client = (char *)prev_client,
		                                   .client_addr = (char *)"" };
	return e;
}

static void test_reasons(void)
{
	const char *r[4];
	rdms_event e;

	e = ev(RDMS_EVENT_CREATION, 1, 0, 0, "pc", 0, NULL);
	CHECK_EQ(rdms_event_reasons(&e, r), 3);
	CHECK_STR(r[0], "session-logon");
	CHECK_STR(r[1], "remote-connect");
	CHECK_STR(r[2], "session-change");
	e = ev(RDMS_EVENT_CREATION, 1, 0, 4, "", 0, NULL);
	CHECK_EQ(rdms_event_reasons(&e, r), 2);
	e = ev(RDMS_EVENT_DELETION, 1, 0, 0, "pc", 0, NULL);
	CHECK_EQ(rdms_event_reasons(&e, r), 2);
	CHECK_STR(r[0], "session-logoff");
	e = ev(RDMS_EVENT_MODIFICATION, 1, 0, 4, "", 0, "pc");
	CHECK_EQ(rdms_event_reasons(&e, r), 2);
	CHECK_STR(r[0], "remote-disconnect");
	e = ev(RDMS_EVENT_MODIFICATION, 1, 0, 0, "pc2", 4, "");
	CHECK_EQ(rdms_event_reasons(&e, r), 2);
	CHECK_STR(r[0], "remote-connect");
	/* taken over by another client while Active */
	e = ev(RDMS_EVENT_MODIFICATION, 1, 0, 0, "pc2", 0, "pc1");
	CHECK_EQ(rdms_event_reasons(&e, r), 3);
	CHECK_STR(r[0], "remote-disconnect");
	CHECK_STR(r[1], "remote-connect");
	CHECK_STR(r[2], "session-change");
	/* a user name change only */
	e = ev(RDMS_EVENT_MODIFICATION, 1, 0, 0, "pc1", 0, "pc1");
	CHECK_EQ(rdms_event_reasons(&e, r), 1);
	CHECK_STR(r[0], "session-change");
}

/* True when PID has ended: no such process, or a zombie. */
static bool gone(pid_t pid)
{
	char path[64], line[256];
	bool zombie = false;
	FILE *f;

	if (kill(pid, 0) != 0 && errno == ESRCH)
		return true;
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return true;
	while (fgets(line, sizeof line, f) != NULL)
		if (strncmp(line, "State:", 6) == 0)
			zombie = strchr(line, 'Z') != NULL;
	fclose(f);
	return zombie;
}

static void test_run(void)
{
	struct passwd *nobody = getpwnam("nobody");
	bool root = geteuid() == 0 && nobody != NULL;
	char out[300], script[1200];
	rdms_hooks *h;
	rdms_error err;
	rdms_event e;
	pid_t bg = 0;

	snprintf(out, sizeof out, "%s/out", dir);
	mkdir(out, 0777);
	chmod(out, 0777);
	chmod(dir, 0755);
	/* the environment, as root */
	snprintf(script, sizeof script, "env | grep -E '^(RDMS_|DISPLAY|XAUTHORITY)' | sort > "
	         "%s/logon.$RDMS_SESSION_ID; echo \"$1 $(id -u)\" >> %s/logon.$RDMS_SESSION_ID",
	         out, out);
	put_hook("session-logon", "10-env", 0755, script);
	/* the signals a hook starts with: rdmsd's blocked and ignored ones are not its
	 * (in perl: dash would clear the mask itself, hiding what it was given) */
	snprintf(script, sizeof script, "#!/usr/bin/perl\nopen(my $o, '>', '%s/signals') or die;\n"
	         "open(my $s, '<', '/proc/self/status') or die;\n"
	         "print $o grep { /^Sig(Blk|Ign):/ } <$s>;", out);
	put_hook("session-logon", "20-signals", 0755, script);
	/* order within a session: each event's hook starts and ends before the next */
	snprintf(script, sizeof script, "echo \"start $RDMS_EVENT $RDMS_CONNECT_STATE\" >> "
	         "%s/order.$RDMS_SESSION_ID; sleep 0.2; echo \"end $RDMS_EVENT\" >> "
	         "%s/order.$RDMS_SESSION_ID", out, out);
	put_hook("session-change", "50-order", 0755, script);
	/* a hook that hangs, with a background job of its own */
	snprintf(script, sizeof script, "sleep 60 & echo $! > %s/bg; sleep 60", out);
	put_hook("remote-disconnect", "10-hang", 0755, script);
	/* unsafe, failing, and an editor's leftover */
	put_hook("session-logoff", "10-open", 0777, "echo should not run");
	put_hook("session-logoff", "20-fail", 0755, "echo broken; exit 3");
	put_hook("session-logoff", "30-old~", 0755, "exit 9");
	/* as the session's user */
	snprintf(script, sizeof script, "echo \"$(id -u) $DISPLAY $XAUTHORITY\" > %s/user", out);
	put_hook("remote-connect", "10-who", 0755, script);

	rdms_config_defaults(&cfg);
	snprintf(cfg.hooks_dir, sizeof cfg.hooks_dir, "%s", dir);
	snprintf(cfg.vm_host_name, sizeof cfg.vm_host_name, "rdvh1");
	snprintf(cfg.domain_name, sizeof cfg.domain_name, "LAB");
	snprintf(cfg.hooks_as_session_user, sizeof cfg.hooks_as_session_user, " remote-connect,x");
	cfg.hook_timeout_s = 1;
	cfg.hook_max_running = 4;
	h = rdms_hooks_start(&cfg, on_report, NULL, &err);
	CHECK(h != NULL);
	if (h == NULL)
		return;

	e = ev(RDMS_EVENT_CREATION, 7, root ? nobody->pw_uid : geteuid(), 4, "", 0, NULL);
	CHECK(rdms_hooks_event(h, &e));
	e = ev(RDMS_EVENT_MODIFICATION, 7, root ? nobody->pw_uid : geteuid(), 0, "pc\"2",
	       4, "");
	CHECK(rdms_hooks_event(h, &e));
	e = ev(RDMS_EVENT_MODIFICATION, 7, 0, 4, "", 0, "pc\"2");
	CHECK(rdms_hooks_event(h, &e));
	e = ev(RDMS_EVENT_DELETION, 7, 0, 4, "", 0, NULL);
	CHECK(rdms_hooks_event(h, &e));
	rdms_hooks_drain(h);

	/* session-logon: every variable, as the class shows the user */
	CHECK(strstr(read_out("logon.7"), "RDMS_EVENT=Creation\n") != NULL);
	CHECK(strstr(read_out("logon.7"), "RDMS_REASON=session-logon\n") != NULL);
	CHECK(strstr(read_out("logon.7"), "RDMS_HOST=rdvh1\n") != NULL);
	CHECK(strstr(read_out("logon.7"), "RDMS_DOMAIN=LAB\n") != NULL);
	CHECK(strstr(read_out("logon.7"), "RDMS_USER=alice\n") != NULL);
	CHECK(strstr(read_out("logon.7"), "RDMS_CONNECT_STATE=4\n") != NULL);
	CHECK(strstr(read_out("logon.7"), "RDMS_PREVIOUS_CONNECT_STATE=\n") != NULL);
	CHECK(strstr(read_out("logon.7"), "RDMS_DISPLAY=:12\n") != NULL);
	CHECK(strstr(read_out("logon.7"), "RDMS_TIME=2025-12-05T10:00:00Z\n") != NULL);
	CHECK(strstr(read_out("logon.7"), "RDMS_SESSION_ID=7\n") != NULL);
	/* root hooks get no display of the user's */
	CHECK(strncmp(read_out("logon.7"), "DISPLAY=", 8) != 0 &&
	      strstr(read_out("logon.7"), "\nDISPLAY=") == NULL);
	CHECK(strstr(read_out("logon.7"), "XAUTHORITY") == NULL);
	CHECK(strstr(read_out("logon.7"), "session-logon 0\n") != NULL);
	/* a hook starts with no signal blocked and SIGPIPE not ignored, whatever the
	 * thread that ran it had (main() blocks and ignores as rdmsd does) */
	CHECK(strstr(read_out("signals"), "SigBlk:\t0000000000000000\n") != NULL);
	CHECK(strstr(read_out("signals"), "SigIgn:\t") != NULL);
	{
		const char *ign = strstr(read_out("signals"), "SigIgn:\t");
		unsigned long long mask = ign != NULL ? strtoull(ign + 8, NULL, 16) : ~0ULL;

		CHECK((mask & (1ULL << (SIGPIPE - 1))) == 0);
	}
	/* the four events' session-change hooks, one after the other, in order */
	CHECK_STR(read_out("order.7"), "start Creation 4\nend Creation\n"
	          "start Modification 0\nend Modification\n"
	          "start Modification 4\nend Modification\n"
	          "start Deletion 4\nend Deletion\n");
	/* the hanging hook was killed at its timeout, with its background job */
	CHECK(heard_of("remote-disconnect 10-hang"));
	CHECK(heard_of("did not finish within 1000 ms"));
	{
		FILE *f;
		char path[400];

		snprintf(path, sizeof path, "%s/bg", out);
		if ((f = fopen(path, "r")) != NULL) {
			CHECK_EQ(fscanf(f, "%d", &bg), 1);
			fclose(f);
		}
		CHECK(bg > 0);
		/* gone, or a zombie waiting for init to reap it (backends.md P11) */
		for (int i = 0; i < 50 && bg > 0 && !gone(bg); i++)
			usleep(40000);
		CHECK(bg > 0 && gone(bg));
	}
	/* unsafe and failing hooks are reported; leftovers ignored */
	CHECK(heard_of("session-logoff 10-open skipped: writable by others than root"));
	CHECK(heard_of("session-logoff 20-fail exit status 3: broken"));
	CHECK(!heard_of("30-old~"));
	/* as the session's user, with its display */
	if (root) {
		char want[300];

		snprintf(want, sizeof want, "%u :12 %s/.Xauthority\n", (unsigned)nobody->pw_uid,
		         nobody->pw_dir);
		CHECK_STR(read_out("user"), want);
	} else {
		printf("hooks: not root, the run-as-user check is skipped\n");
	}
	rdms_hooks_stop(h);
}

/* No hook directory (most hosts): nothing is queued, however many events come. */
static void test_none(void)
{
	static rdms_config none;
	rdms_hooks *h;
	rdms_error err;
	rdms_event e = ev(RDMS_EVENT_CREATION, 9, 0, 0, "pc", 0, NULL);
	int accepted = 0;

	rdms_config_defaults(&none);
	snprintf(none.hooks_dir, sizeof none.hooks_dir, "%s/no-such-dir", dir);
	h = rdms_hooks_start(&none, on_report, NULL, &err);
	CHECK(h != NULL);
	if (h == NULL)
		return;
	for (int i = 0; i < 20000; i++)     /* twice the queue's room */
		accepted += rdms_hooks_event(h, &e);
	CHECK_EQ(accepted, 20000);
	rdms_hooks_drain(h);
	rdms_hooks_stop(h);
}

static void cleanup(void)
{
	char cmd[200];

	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
}

int main(void)
{
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	/* as rdmsd's threads run: SIGHUP, SIGTERM, SIGINT blocked (a signalfd takes
	 * them) and SIGPIPE ignored -- what a child must not inherit */
	{
		sigset_t set;

		sigemptyset(&set);
		sigaddset(&set, SIGHUP);
		sigaddset(&set, SIGTERM);
		sigaddset(&set, SIGINT);
		pthread_sigmask(SIG_BLOCK, &set, NULL);
		signal(SIGPIPE, SIG_IGN);
	}
	test_reasons();
	test_run();
	test_none();
	cleanup();
	return check_summary("hooks");
}
