/*
 * test_pam_cache.c -- pam_auth's credential cache, with a fake verifier in
 * place of PAM (pam_auth_set_verifier), so no account or PAM service is
 * needed.
 *
 * The case that matters most: many requests with the same credentials miss
 * the cache at the same moment (a busy client whose entry just expired).
 * Exactly one of them may go to the verifier; the others must wait for it
 * and take its result from the cache.  Failures are never cached, a TTL of
 * 0 caches nothing, and a flush forgets everything.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "../../src/auth/pam_auth.h"
#include "check.h"

#define THREADS 32

static atomic_int verifier_calls;

/* "good" is the password; every check takes 20 ms, like a password hash. */
static uint32_t fake_verify(void *ctx, const char *user, const char *password,
                            const char *rhost, char *canon, size_t canon_size,
                            uid_t *uid, rdms_error *err)
{
	struct timespec ts = { 0, 20 * 1000000L };

	(void)ctx;
	(void)rhost;
	atomic_fetch_add(&verifier_calls, 1);
	nanosleep(&ts, NULL);
	if (strcmp(password, "good") != 0)
		return rdms_fail(err, WBEM_E_ACCESS_DENIED, "Authentication failure");
	snprintf(canon, canon_size, "%s", user);
	*uid = 1234;
	return WBEM_S_NO_ERROR;
}

struct caller {
	pam_auth          *pa;
	const char        *password;
	pthread_barrier_t *start;
	uint32_t           rc;
	char               canon[64];
	uid_t              uid;
};

static void *call(void *arg)
{
	struct caller *c = arg;
	rdms_error err = { 0 };

	pthread_barrier_wait(c->start);
	c->rc = pam_auth_check(c->pa, "alice", c->password, "192.0.2.1", c->canon,
	                       sizeof c->canon, &c->uid, &err);
	return NULL;
}

/* THREADS concurrent checks of alice/PASSWORD; returns how many succeeded. */
static int concurrent(pam_auth *pa, const char *password, int n)
{
	pthread_t t[THREADS];
	struct caller c[THREADS];
	pthread_barrier_t start;
	int ok = 0;

	pthread_barrier_init(&start, NULL, (unsigned)n);
	for (int i = 0; i < n; i++) {
		c[i] = (struct caller){ .pa = pa, .password = password, .start = &start,
		                        .rc = 1, .uid = (uid_t)-1 };
		pthread_create(&t[i], NULL, call, &c[i]);
	}
	for (int i = 0; i < n; i++) {
		pthread_join(t[i], NULL);
		if (c[i].rc == WBEM_S_NO_ERROR && strcmp(c[i].canon, "alice") == 0 &&
		    c[i].uid == 1234)
			ok++;
	}
	pthread_barrier_destroy(&start);
	return ok;
}

static uint32_t check_once(pam_auth *pa, const char *password)
{
	char canon[64];
	uid_t uid;
	rdms_error err = { 0 };

	return pam_auth_check(pa, "alice", password, NULL, canon, sizeof canon, &uid, &err);
}

int main(void)
{
	pam_auth *pa = pam_auth_new(60, 0);

	CHECK(pa != NULL);
	if (pa == NULL)
		return check_summary("pam_cache");
	pam_auth_set_verifier(pa, fake_verify, NULL);

	/* A crowd of misses at once: one verification, every caller served. */
	CHECK_EQ(concurrent(pa, "good", THREADS), THREADS);
	CHECK_EQ(atomic_load(&verifier_calls), 1);

	/* Cached now: no verification at all. */
	CHECK_EQ(concurrent(pa, "good", THREADS), THREADS);
	CHECK_EQ(atomic_load(&verifier_calls), 1);

	/* A wrong password is never cached: each check goes to the verifier. */
	atomic_store(&verifier_calls, 0);
	CHECK_EQ(concurrent(pa, "bad", 4), 0);
	CHECK_EQ(atomic_load(&verifier_calls), 4);
	CHECK_EQ(check_once(pa, "bad"), WBEM_E_ACCESS_DENIED);
	CHECK_EQ(atomic_load(&verifier_calls), 5);
	/* ... and does not disturb the good entry. */
	CHECK_EQ(check_once(pa, "good"), WBEM_S_NO_ERROR);
	CHECK_EQ(atomic_load(&verifier_calls), 5);

	/* A flush forgets the entry: the next check verifies again. */
	pam_auth_flush(pa);
	CHECK_EQ(check_once(pa, "good"), WBEM_S_NO_ERROR);
	CHECK_EQ(atomic_load(&verifier_calls), 6);
	pam_auth_free(pa);

	/* TTL 0: nothing is remembered. */
	pa = pam_auth_new(0, 0);
	CHECK(pa != NULL);
	if (pa != NULL) {
		pam_auth_set_verifier(pa, fake_verify, NULL);
		atomic_store(&verifier_calls, 0);
		CHECK_EQ(check_once(pa, "good"), WBEM_S_NO_ERROR);
		CHECK_EQ(check_once(pa, "good"), WBEM_S_NO_ERROR);
		CHECK_EQ(atomic_load(&verifier_calls), 2);
		CHECK_EQ(concurrent(pa, "good", 8), 8);
		CHECK_EQ(atomic_load(&verifier_calls), 10);
		pam_auth_free(pa);
	}

	/* No verifier set: a miss is refused with the reason, and nothing is cached. */
	pa = pam_auth_new(60, 0);
	CHECK(pa != NULL);
	if (pa != NULL) {
		char canon[64] = "";
		uid_t uid = 0;
		rdms_error err = { 0 };

		CHECK_EQ(pam_auth_check(pa, "alice", "good", NULL, canon, sizeof canon, &uid, &err),
		         WBEM_E_ACCESS_DENIED);
		CHECK(strstr(err.message, "no password checker") != NULL);
		CHECK(!pam_auth_cached(pa, "alice", "good", canon, sizeof canon, &uid));
		pam_auth_free(pa);
	}
	return check_summary("pam_cache");
}
