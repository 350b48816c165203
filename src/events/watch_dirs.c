/*
 * watch_dirs.c -- the session watch's per-session directories (watch_dirs.h).
 */
#include "watch_dirs.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "../backend/x2go/x2go_watch.h"
#include "../common/log.h"

#define DIR_MASK (IN_CLOSE_WRITE | IN_MODIFY | IN_CREATE | IN_MOVED_TO | IN_ONLYDIR | \
                  IN_DONT_FOLLOW)

static int by_pid(const void *a, const void *b)
{
	pid_t x = ((const rdms_session_dir *)a)->pid, y = ((const rdms_session_dir *)b)->pid;

	return (x > y) - (x < y);
}

/* The entry of PID in D; NULL when none. */
static rdms_session_dir *find(const rdms_watch_dirs *d, pid_t pid)
{
	rdms_session_dir key = { .pid = pid };

	return d->n == 0 ? NULL : bsearch(&key, d->v, d->n, sizeof key, by_pid);
}

/* Whether a watch WD is used by an entry of V (N of them). */
static bool in_use(const rdms_session_dir *v, size_t n, int wd)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].wd == wd)
			return true;
	return false;
}

/* The watch of S's directory: -1 when there is none to watch. */
static int watch_session(int infd, const rdms_config *cfg, const rdms_session *s)
{
	char dir[PATH_MAX];
	int wd;

	if (!rdms_x2go_session_dir(cfg, s, dir, sizeof dir))
		return -1;
	wd = inotify_add_watch(infd, dir, DIR_MASK);
	if (wd >= 0)
		log_debug("events: watching %s", dir);
	return wd;
}

void rdms_watch_dirs_update(rdms_watch_dirs *d, int infd, const rdms_config *cfg,
                            const rdms_session_list *l)
{
	rdms_session_dir *next = malloc((l->count != 0 ? l->count : 1) * sizeof *next);
	size_t k = 0, u = 0;

	if (next == NULL)
		return;
	/* kept as they are, or looked up the first time they are listed */
	for (size_t i = 0; i < l->count; i++) {
		const rdms_session *s = &l->items[i];
		const rdms_session_dir *old = find(d, s->server_pid);

		if (s->server_pid > 0)
			next[k++] = old != NULL ? *old
			          : (rdms_session_dir){ s->server_pid, watch_session(infd, cfg, s) };
	}
	qsort(next, k, sizeof *next, by_pid);
	for (size_t i = 0; i < k; i++)
		if (u == 0 || next[u - 1].pid != next[i].pid)
			next[u++] = next[i];
	/* the sessions that went: their watches, unless a listed one shares it */
	for (size_t i = 0; i < d->n; i++) {
		rdms_session_dir key = d->v[i];

		if (key.wd >= 0 && (u == 0 || bsearch(&key, next, u, sizeof key, by_pid) == NULL) &&
		    !in_use(next, u, key.wd))
			inotify_rm_watch(infd, key.wd);
	}
	free(d->v);
	d->v = next;
	d->n = u;
}

bool rdms_watch_dirs_hint(rdms_watch_dirs *d, const struct inotify_event *ev)
{
	bool ours = false;

	for (size_t i = 0; i < d->n; i++) {
		if (d->v[i].wd != ev->wd)
			continue;
		ours = true;
		if (ev->mask & IN_IGNORED)      /* the directory went: its session is ending */
			d->v[i].wd = -1;
	}
	return ours && ev->len > 0 && strcmp(ev->name, RDMS_X2GO_STATE_FILE) == 0;
}

void rdms_watch_dirs_clear(rdms_watch_dirs *d, int infd)
{
	for (size_t i = 0; i < d->n; i++) {
		if (d->v[i].wd >= 0)
			inotify_rm_watch(infd, d->v[i].wd);
		/* one directory shared by two entries is removed once */
		for (size_t j = i + 1; j < d->n; j++)
			if (d->v[j].wd == d->v[i].wd)
				d->v[j].wd = -1;
	}
	free(d->v);
	d->v = NULL;
	d->n = 0;
}
