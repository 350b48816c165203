/*
 * test_pam_relay.c -- priv's password checks in rdmsd-pam
 * (src/privsep/pam_relay.h).
 *
 *     test_pam_relay RDMSD-PAM
 *
 * With the real helper (the built rdmsd-pam): a check PAM refuses comes
 * back with PAM's own reason over the wire, from several threads at once;
 * a helper started wrong (no service) says so.  With stand-ins written
 * here: a helper that ends without answering, one that answers nothing in
 * time (killed at the timeout), one that answers garbage, and a program
 * that does not exist.  Every time: access denied, a reason, the work
 * buffer wiped, and no child left behind (each is reaped before the call
 * returns).  A check PAM accepts needs an account and a PAM service: the
 * e2e tests make both (tests/e2e/test_privsep.py).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../src/privsep/pam_relay.h"
#include "check.h"

#define THREADS 4

static unsigned char buf[THREADS][PRIV_MSG_MAX];

static bool no_child_left(void)
{
	return waitpid(-1, NULL, WNOHANG) == -1 && errno == ECHILD;
}

static bool all_zero(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != 0)
			return false;
	return true;
}

/* One check of a made-up account through R; its reply in *OUT. */
static void check_one(const pam_relay *r, unsigned char *work, priv_auth_reply *out)
{
	priv_auth a = { 0 };

	strcpy(a.user, "rdms-no-such-user-7f3a");
	strcpy(a.password, "not-the-password");
	strcpy(a.rhost, "192.0.2.7");
	memset(work, 0xa5, PRIV_MSG_MAX);
	pam_relay_check(r, &a, out, work);
}

static void *check_thread(void *arg)
{
	const pam_relay *r = *(const pam_relay *const *)arg;
	static priv_auth_reply out[THREADS];
	static int next;
	int me = __atomic_fetch_add(&next, 1, __ATOMIC_SEQ_CST);

	check_one(r, buf[me], &out[me]);
	return &out[me];
}

/* A stand-in helper: a shell script with BODY, in DIR; its path in PATH. */
static void write_script(const char *dir, const char *name, const char *body, char *path,
                         size_t size)
{
	FILE *f;

	snprintf(path, size, "%s/%s", dir, name);
	f = fopen(path, "w");
	CHECK(f != NULL);
	if (f == NULL)
		return;
	fprintf(f, "#!/bin/sh\n%s\n", body);
	fclose(f);
	CHECK(chmod(path, 0700) == 0);
}

/* A check through PROGRAM that must fail: denied, with WHY in the reason. */
static void expect_failure(const char *program, const char *service, int timeout_ms,
                           const char *why)
{
	pam_relay *r = pam_relay_new(program, service, timeout_ms);
	priv_auth_reply out;

	CHECK(r != NULL);
	if (r == NULL)
		return;
	check_one(r, buf[0], &out);
	CHECK_EQ(out.rc, WBEM_E_ACCESS_DENIED);
	CHECK_STR(out.user, "");
	if (strstr(out.error, why) == NULL)
		fprintf(stderr, "reason for %s: %s (wanted '%s')\n", program, out.error, why);
	CHECK(strstr(out.error, why) != NULL);
	CHECK(all_zero(buf[0], PRIV_MSG_MAX));
	CHECK(no_child_left());
	pam_relay_free(r);
}

int main(int argc, char **argv)
{
	char dir[] = "/tmp/test_pam_relay.XXXXXX", path[256];
	pthread_t t[THREADS];
	pam_relay *r;
	struct timespec t0, t1;
	double took;

	if (argc != 2) {
		fprintf(stderr, "usage: test_pam_relay RDMSD-PAM\n");
		return 2;
	}
	CHECK(mkdtemp(dir) != NULL);

	/* The real helper: PAM refuses the made-up account, and says why. */
	r = pam_relay_new(argv[1], "rdms-test-no-such-service", 10000);
	CHECK(r != NULL);
	for (int i = 0; r != NULL && i < THREADS; i++)
		CHECK(pthread_create(&t[i], NULL, check_thread, &r) == 0);
	for (int i = 0; r != NULL && i < THREADS; i++) {
		void *res = NULL;
		const priv_auth_reply *out;

		CHECK(pthread_join(t[i], &res) == 0);
		out = res;
		if (out == NULL)
			continue;
		CHECK_EQ(out->rc, WBEM_E_ACCESS_DENIED);
		CHECK_STR(out->user, "");
		CHECK(out->error[0] != '\0');
		/* PAM's own reason, not the relay's */
		if (strstr(out->error, "password check failed") != NULL)
			fprintf(stderr, "relay failure: %s\n", out->error);
		CHECK(strstr(out->error, "password check failed") == NULL);
		if (i == 0)
			printf("PAM's reason: %s\n", out->error);
	}
	for (int i = 0; i < THREADS; i++)
		CHECK(all_zero(buf[i], PRIV_MSG_MAX));
	CHECK(no_child_left());
	pam_relay_free(r);

	/* The real helper without a service: its usage, exit 2. */
	expect_failure(argv[1], "", 10000, "exit status 2");

	/* Stand-ins failing each way. */
	/* one that reads the request, then ends without answering */
	write_script(dir, "ends", "head -c 1 <&3 >/dev/null; exit 3", path, sizeof path);
	expect_failure(path, "rdms", 10000, "ended without an answer (exit status 3;");
	/*
	 * one that ends at once: before the request is sent ("was not asked",
	 * the send failing) or after ("ended without an answer"), as the two
	 * processes happen to run -- refused with its exit status either way
	 */
	write_script(dir, "ends_at_once", "exit 3", path, sizeof path);
	expect_failure(path, "rdms", 10000, " (exit status 3;");
	write_script(dir, "garbage", "printf 'garbage' >&3; sleep 10", path, sizeof path);
	expect_failure(path, "rdms", 10000, "answered wrongly (killed by signal 9");
	write_script(dir, "hangs", "exec sleep 30", path, sizeof path);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	expect_failure(path, "rdms", 300, "did not answer in time (killed by signal 9; no answer within 300 ms");
	clock_gettime(CLOCK_MONOTONIC, &t1);
	took = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	CHECK(took >= 0.29 && took < 5.0);   /* killed at the timeout, not after its sleep */
	expect_failure("/nonexistent/rdmsd-pam", "rdms", 10000, "it could not be run");

	/* Names that do not fit are refused at once. */
	memset(path, 'x', sizeof path - 1);
	path[sizeof path - 1] = '\0';
	CHECK(pam_relay_new("/bin/true", path, 1000) == NULL);

	snprintf(path, sizeof path, "rm -rf '%s'", dir);
	CHECK(system(path) == 0);
	return check_summary("pam_relay");
}
