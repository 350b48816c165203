/*
 * test_authz.c -- admin-group answers and the user a fleet broker names
 * (src/auth/authz.h): authz_user agrees with the uncached look-ups, and
 * remembers its answer, uid included.
 */
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <time.h>

#include "auth/authz.h"
#include "check.h"

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* authz_user on A says what authz_user_id and authz_is_admin say. */
static void check_agrees(authz *a, const char *group, const char *user)
{
	uid_t uid = 12345, want_uid = 54321;
	bool admin = false, known = authz_user_id(user, &want_uid);

	CHECK_EQ(authz_user(a, group, user, &uid, &admin), known);
	if (known) {
		CHECK_EQ(uid, want_uid);
		CHECK_EQ(admin, authz_is_admin(a, group, user, want_uid));
	}
}

static void test_answers(void)
{
	const struct passwd *pw = getpwnam("nobody");
	const struct group *gr = pw != NULL ? getgrgid(pw->pw_gid) : NULL;
	char own[64];
	authz *cache = authz_new(3600), *none = authz_new(0);
	uid_t uid;
	bool admin;

	CHECK(pw != NULL && gr != NULL);
	if (pw == NULL || gr == NULL)
		return;
	snprintf(own, sizeof own, "%s", gr->gr_name);   /* nobody's primary group */
	for (int round = 0; round < 2; round++) {        /* the second: from the cache */
		for (authz *a = cache; a != NULL; a = a == cache ? none : NULL) {
			check_agrees(a, "root", "root");
			check_agrees(a, "", "root");
			check_agrees(a, "root", "nobody");
			check_agrees(a, own, "nobody");
			check_agrees(a, "", "nobody");
			check_agrees(a, "root", "no-such-user-here");
		}
	}
	CHECK(authz_user(cache, own, "nobody", &uid, &admin) && uid == pw->pw_uid && admin);
	CHECK(authz_user(cache, "root", "nobody", &uid, &admin) && uid == pw->pw_uid && !admin);
	CHECK(authz_user(cache, "", "root", &uid, &admin) && uid == 0 && admin);
	CHECK(!authz_user(cache, "root", "no-such-user-here", &uid, &admin));
	authz_free(cache);
	authz_free(none);
}

/*
 * A remembered user costs no passwd look-up: many times cheaper than one
 * (each reads the passwd file).  Before, a broker's every call paid it.
 */
static void test_remembered(void)
{
	enum { N = 20000 };
	authz *a = authz_new(3600);
	double t0, looked_up, remembered;
	uid_t uid;
	bool admin, ok = true;

	t0 = now_ms();
	for (int i = 0; i < N; i++)
		ok &= authz_user_id("nobody", &uid);
	looked_up = now_ms() - t0;
	t0 = now_ms();
	for (int i = 0; i < N; i++)
		ok &= authz_user(a, "root", "nobody", &uid, &admin);
	remembered = now_ms() - t0;
	CHECK(ok);
	printf("authz: %d passwd look-ups %.1f ms, %d remembered answers %.1f ms\n", N, looked_up,
	       N, remembered);
	CHECK(remembered * 5 < looked_up);
	authz_free(a);
}

int main(void)
{
	test_answers();
	test_remembered();
	return check_summary("authz");
}
