/*
 * authz.c -- admin-group membership with a small cache (authz.h).
 *
 * Membership is computed the way login does it: getgrouplist() of the
 * user's passwd entry, which sees both the primary group and supplementary
 * memberships from every NSS source.  The cache key is (user, uid, group),
 * so a reload with another admin_group never reuses a stale answer.
 */
#include "authz.h"

#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../common/monotime.h"
#include "../common/strutil.h"

#define AUTHZ_SLOTS   64
#define MAX_GROUPS    1024

struct authz_entry {
	bool   used;
	char   user[256];
	char   group[64];
	uid_t  uid;
	bool   is_admin;
	time_t expires;   /* CLOCK_MONOTONIC seconds */
};

struct authz {
	int                ttl_s;
	pthread_mutex_t    lock;
	struct authz_entry slot[AUTHZ_SLOTS];
};

authz *authz_new(int ttl_s)
{
	authz *a = calloc(1, sizeof *a);

	if (a == NULL)
		return NULL;
	a->ttl_s = ttl_s;
	pthread_mutex_init(&a->lock, NULL);
	return a;
}

void authz_free(authz *a)
{
	if (a == NULL)
		return;
	pthread_mutex_destroy(&a->lock);
	free(a);
}

void authz_flush(authz *a)
{
	pthread_mutex_lock(&a->lock);
	memset(a->slot, 0, sizeof a->slot);
	pthread_mutex_unlock(&a->lock);
}

bool authz_user_name(uid_t uid, char *buf, size_t size)
{
	struct passwd pw, *res = NULL;
	char tmp[4096];

	if (getpwuid_r(uid, &pw, tmp, sizeof tmp, &res) != 0 || res == NULL)
		return false;
	return str_copy(buf, size, pw.pw_name);
}

bool authz_user_id(const char *user, uid_t *uid)
{
	struct passwd pw, *res = NULL;
	char tmp[4096];

	if (getpwnam_r(user, &pw, tmp, sizeof tmp, &res) != 0 || res == NULL)
		return false;
	*uid = pw.pw_uid;
	return true;
}

/* The uncached answer: is USER in GROUP? */
static bool in_group(const char *group, const char *user)
{
	struct passwd pw, *pres = NULL;
	struct group gr, *gres = NULL;
	char pbuf[4096], gbuf[16384];
	gid_t groups[MAX_GROUPS];
	int n = MAX_GROUPS;

	if (getgrnam_r(group, &gr, gbuf, sizeof gbuf, &gres) != 0 || gres == NULL)
		return false;
	if (getpwnam_r(user, &pw, pbuf, sizeof pbuf, &pres) != 0 || pres == NULL)
		return false;
	if (pw.pw_gid == gr.gr_gid)
		return true;
	/* A user in more than MAX_GROUPS groups is judged on the first ones. */
	if (getgrouplist(user, pw.pw_gid, groups, &n) < 0)
		n = MAX_GROUPS;
	for (int i = 0; i < n; i++)
		if (groups[i] == gr.gr_gid)
			return true;
	return false;
}

/*
 * The answer remembered for USER in GROUP into *ANSWER, and its uid into
 * *UID -- an entry of that uid only, when MATCH_UID; else any.
 */
static bool cached(authz *a, const char *group, const char *user, uid_t *uid, bool match_uid,
                   bool *answer)
{
	time_t now = mono_s();
	bool hit = false;

	pthread_mutex_lock(&a->lock);
	for (size_t i = 0; i < AUTHZ_SLOTS && !hit; i++) {
		struct authz_entry *e = &a->slot[i];

		if (!e->used || e->expires <= now)
			continue;
		if ((!match_uid || e->uid == *uid) && strcmp(e->user, user) == 0 &&
		    strcmp(e->group, group) == 0) {
			*answer = e->is_admin;
			*uid = e->uid;
			hit = true;
		}
	}
	pthread_mutex_unlock(&a->lock);
	return hit;
}

static void remember(authz *a, const char *group, const char *user, uid_t uid,
                     bool answer)
{
	struct authz_entry *e = &a->slot[0];

	pthread_mutex_lock(&a->lock);
	for (size_t i = 0; i < AUTHZ_SLOTS; i++) {
		if (!a->slot[i].used) {
			e = &a->slot[i];
			break;
		}
		if (a->slot[i].expires < e->expires)
			e = &a->slot[i];
	}
	e->used = str_copy(e->user, sizeof e->user, user) &&
	          str_copy(e->group, sizeof e->group, group);
	e->uid = uid;
	e->is_admin = answer;
	e->expires = mono_s() + a->ttl_s;
	pthread_mutex_unlock(&a->lock);
}

bool authz_is_admin(authz *a, const char *group, const char *user, uid_t uid)
{
	bool answer;

	if (uid == 0)
		return true;
	if (group[0] == '\0')
		return false;
	if (a->ttl_s > 0 && cached(a, group, user, &uid, true, &answer))
		return answer;
	answer = in_group(group, user);
	if (a->ttl_s > 0)
		remember(a, group, user, uid, answer);
	return answer;
}

bool authz_user(authz *a, const char *group, const char *user, uid_t *uid, bool *is_admin)
{
	if (a->ttl_s > 0 && cached(a, group, user, uid, false, is_admin))
		return true;
	if (!authz_user_id(user, uid))
		return false;
	*is_admin = authz_is_admin(a, group, user, *uid);   /* remembered with the uid, */
	if (a->ttl_s > 0 && (*uid == 0 || group[0] == '\0'))
		remember(a, group, user, *uid, *is_admin);      /* unless no group was asked */
	return true;
}
