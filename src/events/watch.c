/*
 * watch.c -- the feed's rescan thread and its wake-ups (watch.h).
 *
 * One epoll set holds: the inotify descriptor, an eventfd for hints and
 * stopping, a timerfd for the next due scan, and one pidfd per watched
 * process.  An epoll entry's data says which: the small tags below, or
 * PIDFD_TAG | fd for a pidfd.
 */
#include "watch.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "../backend/xrdp/xrdp_logfile.h"
#include "../common/array.h"
#include "../common/log.h"
#include "../common/monotime.h"
#include "../common/thread_name.h"
#include "../common/walltime.h"
#include "watch_dirs.h"

#define TAG_INOTIFY 1u
#define TAG_EVENT   2u
#define TAG_TIMER   3u
#define PIDFD_TAG   (1ull << 32)

#define MAX_PATHS   4

/* A path watched with inotify; wd -1 until it exists. */
struct watched_path {
	char     path[PATH_MAX];
	char     only[64];      /* a directory: only names starting so count ("": all) */
	uint32_t mask;
	int      wd;
	bool     xrdp_log;      /* found afresh while it is not watched */
};

struct pidwatch {
	pid_t pid;
	int   fd;
};

struct rdms_watch {
	rdms_watch_params   p;
	pthread_t           thread;
	bool                running;
	int                 epfd, infd, evfd, tfd;
	struct watched_path paths[MAX_PATHS];
	size_t              npaths;
	struct pidwatch    *pids;       /* sorted by pid */
	size_t              npids;
	rdms_watch_dirs     dirs;       /* X2Go sessions' directories */

	pthread_mutex_t     lock;       /* what follows */
	pthread_cond_t      scanned;
	bool                stop;
	unsigned long       requested, done;   /* rdms_watch_sync's generations */
	rdms_watch_counts   counts;
};

/* ---- inotify: the paths ----------------------------------------------------------- */

/* Adds PATH to the paths watched; NULL when it is empty or there is no room. */
static struct watched_path *add_path(rdms_watch *w, const char *path, uint32_t mask)
{
	struct watched_path *wp;

	if (path[0] == '\0' || w->npaths == MAX_PATHS)
		return NULL;
	wp = &w->paths[w->npaths++];
	snprintf(wp->path, sizeof wp->path, "%s", path);
	wp->mask = mask;
	wp->wd = -1;
	return wp;
}

/*
 * PATH's directory, watched for the files whose names start with PATH's
 * own name (a database's journal, a file replaced by a rename): what else
 * happens there (a benchmark's temporary files) wakes nobody.
 */
static void add_file_dir(rdms_watch *w, const char *path, uint32_t mask)
{
	const char *slash = strrchr(path, '/');
	char dir[PATH_MAX];
	struct watched_path *wp;

	if (path[0] == '\0')
		return;
	if (slash == NULL)
		snprintf(dir, sizeof dir, ".");
	else if (slash == path)
		snprintf(dir, sizeof dir, "/");
	else
		snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
	if ((wp = add_path(w, dir, mask | IN_ONLYDIR)) != NULL)
		snprintf(wp->only, sizeof wp->only, "%s", slash != NULL ? slash + 1 : path);
}

/* What each served back-end writes when its sessions change. */
static void choose_paths(rdms_watch *w)
{
	const rdms_config *cfg = w->p.cfg;

	for (size_t i = 0; i < w->p.nb; i++) {
		const char *name = w->p.backends[i]->name;

		if (strcmp(name, "xrdp") == 0) {
			add_path(w, cfg->xrdp_sockdir, IN_CREATE | IN_DELETE | IN_MOVED_FROM |
			         IN_MOVED_TO | IN_ONLYDIR);
			/* a file that log rotation replaces: found and added again when it goes */
			struct watched_path *logp = add_path(w, "xrdp.log", IN_MODIFY | IN_MOVE_SELF |
			                                    IN_DELETE_SELF);

			if (logp != NULL)
				logp->xrdp_log = true;
		} else if (strcmp(name, "x2go") == 0) {
			/* the database and its -journal */
			add_file_dir(w, cfg->x2go_db, IN_MODIFY | IN_CLOSE_WRITE | IN_CREATE |
			             IN_DELETE | IN_MOVED_TO);
		} else if (strcmp(name, "fixture") == 0) {
			add_file_dir(w, cfg->fixture_file, IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE);
		}
	}
}

/* Adds the inotify watches of paths that exist now and have none. */
static void watch_paths(rdms_watch *w)
{
	for (size_t i = 0; i < w->npaths; i++) {
		struct watched_path *wp = &w->paths[i];

		if (wp->wd >= 0)
			continue;
		if (wp->xrdp_log && !rdms_xrdp_log_path(w->p.cfg, wp->path, sizeof wp->path))
			continue;
		wp->wd = inotify_add_watch(w->infd, wp->path, wp->mask);
		if (wp->wd >= 0)
			log_debug("events: watching %s", wp->path);
	}
}

/* True when EV, on WP, is about a file that WP watches for. */
static bool relevant(const struct watched_path *wp, const struct inotify_event *ev)
{
	return wp->only[0] == '\0' || ev->len == 0 ||
	       strncmp(ev->name, wp->only, strlen(wp->only)) == 0;
}

/*
 * Reads what inotify has; true when some of it may concern sessions.  A
 * path whose watch ended is watched again at the next scan.
 */
static bool drain_inotify(rdms_watch *w)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	bool hint = false;
	ssize_t n;

	while ((n = read(w->infd, buf, sizeof buf)) > 0) {
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const struct inotify_event *)p;

			hint |= rdms_watch_dirs_hint(&w->dirs, ev);
			for (size_t i = 0; i < w->npaths; i++) {
				if (w->paths[i].wd != ev->wd)
					continue;
				hint |= relevant(&w->paths[i], ev);
				if (ev->mask & (IN_IGNORED | IN_MOVE_SELF | IN_DELETE_SELF)) {
					if (!(ev->mask & IN_IGNORED))
						inotify_rm_watch(w->infd, ev->wd);
					w->paths[i].wd = -1;
					hint = true;
				}
			}
			p += sizeof *ev + ev->len;
		}
	}
	return hint;
}

/* ---- pidfds: the sessions' processes --------------------------------------------------- */

static int pidfd_open_(pid_t pid)
{
#ifdef SYS_pidfd_open
	return (int)syscall(SYS_pidfd_open, pid, 0);
#else
	(void)pid;
	errno = ENOSYS;
	return -1;
#endif
}

static int by_pid(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;

	return (x > y) - (x < y);
}

static void drop_pidfd(rdms_watch *w, size_t i)
{
	epoll_ctl(w->epfd, EPOLL_CTL_DEL, w->pids[i].fd, NULL);
	close(w->pids[i].fd);
	memmove(&w->pids[i], &w->pids[i + 1], (w->npids - i - 1) * sizeof w->pids[0]);
	w->npids--;
}

/* A watched process exited: its pidfd goes (its absence is the scan's to judge). */
static void pid_exited(rdms_watch *w, int fd)
{
	for (size_t i = 0; i < w->npids; i++)
		if (w->pids[i].fd == fd) {
			log_debug("events: process %d ended (t=%lld ms)", (int)w->pids[i].pid,
			          (long long)mono_ms());
			drop_pidfd(w, i);
			return;
		}
}

/* Watches exactly the N processes WANT (sorted, unique). */
static void watch_pids(rdms_watch *w, const pid_t *want, size_t n)
{
	struct pidwatch *next = malloc((n != 0 ? n : 1) * sizeof *next);
	size_t i = 0, j = 0, k = 0;

	if (next == NULL)
		return;   /* keep the old set; the safety scan still runs */
	while (i < w->npids || j < n) {
		if (j == n || (i < w->npids && w->pids[i].pid < want[j])) {
			epoll_ctl(w->epfd, EPOLL_CTL_DEL, w->pids[i].fd, NULL);
			close(w->pids[i++].fd);
		} else if (i < w->npids && w->pids[i].pid == want[j]) {
			next[k++] = w->pids[i++];
			j++;
		} else {
			int fd = pidfd_open_(want[j]);
			struct epoll_event ev = { .events = EPOLLIN };

			ev.data.u64 = PIDFD_TAG | (uint32_t)fd;
			if (fd >= 0 && epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &ev) == 0)
				next[k++] = (struct pidwatch){ want[j], fd };
			else if (fd >= 0)
				close(fd);
			j++;
		}
	}
	free(w->pids);
	w->pids = next;
	w->npids = k;
}

/* ---- scanning ---------------------------------------------------------------------------- */

/* The processes a scan found, to be watched with pidfds. */
struct pid_list {
	pid_t  *pid;
	size_t  n, cap;
};

/* Adds S's processes to WANT (grown as needed). */
static void want_pids(struct pid_list *want, const rdms_session *s)
{
	pid_t two[2] = { s->server_pid, s->conn_pid };

	for (int k = 0; k < 2; k++) {
		if (two[k] <= 0)
			continue;
		if (!array_reserve(&want->pid, want->n, &want->cap, sizeof *want->pid, 64))
			return;
		want->pid[want->n++] = two[k];
	}
}

/* A back-end's sessions walked into the differ (walk_session). */
struct walk {
	rdms_feed_observer obs;
	struct pid_list   *want;
	bool               observer_stopped;   /* rather than the back-end */
};

/* rdms_session_fn: S to the differ, its processes to the watched ones. */
static uint32_t walk_session(void *ctx, const rdms_session *s, rdms_error *err)
{
	struct walk *wk = ctx;
	uint32_t rc = rdms_feed_observe_one(&wk->obs, s, err);

	if (rc != WBEM_S_NO_ERROR) {
		wk->observer_stopped = true;
		return rc;
	}
	want_pids(wk->want, s);
	return WBEM_S_NO_ERROR;
}

enum observed { OBSERVED, NOT_READ, NOT_OBSERVED, UNSORTED };

/*
 * B's sessions handed to the feed one at a time as B walks them (its each
 * hook): a rescan of 10,000 sessions builds no list of 6 MB.
 */
static enum observed observe_walk(rdms_watch *w, const rdms_backend *b, struct pid_list *want,
                                  rdms_error *err)
{
	struct walk wk = { .want = want };
	uint32_t rc;
	long made;

	rdms_feed_observe_begin(&wk.obs, w->p.feed, b->name, wall_us());
	rc = rdms_backend_each(b, w->p.cfg, walk_session, &wk, err);
	if (rc != WBEM_S_NO_ERROR && !wk.observer_stopped) {
		rdms_feed_observe_cancel(&wk.obs);
		return NOT_READ;
	}
	made = rdms_feed_observe_end(&wk.obs);
	return made == RDMS_FEED_UNSORTED ? UNSORTED : made < 0 ? NOT_OBSERVED : OBSERVED;
}

/* B's sessions listed (when B is here), then handed to the feed. */
static enum observed observe_list(rdms_watch *w, const rdms_backend *b, struct pid_list *want,
                                  rdms_error *err)
{
	rdms_session_list l = { 0 };
	enum observed r = OBSERVED;

	if ((b->available == NULL || b->available(w->p.cfg)) &&
	    b->enumerate(w->p.cfg, &l, err) != WBEM_S_NO_ERROR) {
		rdms_session_list_free(&l);
		return NOT_READ;
	}
	if (rdms_feed_observe(w->p.feed, b->name, l.items, l.count, wall_us()) < 0)
		r = NOT_OBSERVED;
	for (size_t i = 0; i < l.count; i++)
		want_pids(want, &l.items[i]);
	if (strcmp(b->name, "x2go") == 0)
		rdms_watch_dirs_update(&w->dirs, w->infd, w->p.cfg, &l);
	rdms_session_list_free(&l);
	return r;
}

static void scan(rdms_watch *w)
{
	struct pid_list want = { 0 };
	size_t u = 0;
	unsigned long failures = 0;

	watch_paths(w);
	for (size_t i = 0; i < w->p.nb; i++) {
		const rdms_backend *b = w->p.backends[i];
		rdms_error err = { 0 };
		size_t mark = want.n;
		enum observed r = UNSORTED;

		/* a server that is not here has no sessions; one that cannot be read says nothing */
		if (b->each != NULL && (b->available == NULL || b->available(w->p.cfg)))
			r = observe_walk(w, b, &want, &err);
		if (r == UNSORTED) {      /* (or no walk): listed and sorted instead */
			want.n = mark;
			r = observe_list(w, b, &want, &err);
		}
		if (r == NOT_READ) {
			log_debug("events: %s not read: %s", b->name, err.message);
			want.n = mark;        /* its processes are not known now */
		} else if (r == NOT_OBSERVED) {
			log_warn("events: out of memory while comparing %s's sessions", b->name);
		}
		failures += r != OBSERVED;
	}
	if (want.n > 0) {
		qsort(want.pid, want.n, sizeof *want.pid, by_pid);
		for (size_t i = 0; i < want.n; i++)
			if (u == 0 || want.pid[u - 1] != want.pid[i])
				want.pid[u++] = want.pid[i];
	}
	watch_pids(w, want.pid, u);
	free(want.pid);
	pthread_mutex_lock(&w->lock);
	w->counts.scans++;
	w->counts.failures += failures;
	w->counts.pidfds = w->npids;
	pthread_mutex_unlock(&w->lock);
}

/* Arms the timer for AT (monotonic ms); 0 disarms. */
static void arm(rdms_watch *w, int64_t at)
{
	struct itimerspec its = { 0 };

	if (at > 0) {
		its.it_value.tv_sec = (time_t)(at / 1000);
		its.it_value.tv_nsec = (long)(at % 1000) * 1000000L;
	}
	timerfd_settime(w->tfd, TFD_TIMER_ABSTIME, &its, NULL);
}

/*
 * The scan a hint asks for is due debounce_ms after the hint came.  A hint
 * that came while the thread was scanning is found only after the scan:
 * it may have come as the scan began, so its time is taken as the last
 * look before the scan, not as the moment it is read -- else a change
 * made just after a scan began would wait for the scan, the whole
 * debounce, then the next scan.  Scans still begin at least debounce_ms
 * apart.
 */
static void *run(void *arg)
{
	rdms_watch *w = arg;
	int64_t due = mono_ms(), resync = due + (int64_t)w->p.resync_s * 1000, looked = due;
	bool pending = true;

	rdms_thread_name("watch");
	for (;;) {
		struct epoll_event evs[32];
		bool hinted = false, stop;
		int64_t came;      /* the earliest the wake-ups read now can have come */
		uint64_t junk;
		int n;

		/* what came while the thread was busy: since its last look */
		came = looked;
		n = epoll_wait(w->epfd, evs, 32, 0);
		if (n <= 0) {
			arm(w, pending && due < resync ? due : resync);
			n = epoll_wait(w->epfd, evs, 32, -1);
			came = mono_ms();
		}
		looked = mono_ms();
		for (int i = 0; i < n; i++) {
			uint64_t tag = evs[i].data.u64;

			if (tag == TAG_INOTIFY) {
				hinted |= drain_inotify(w);
			} else if (tag == TAG_EVENT) {
				if (read(w->evfd, &junk, sizeof junk) < 0)
					junk = 0;
				hinted = true;
			} else if (tag == TAG_TIMER) {
				if (read(w->tfd, &junk, sizeof junk) < 0)
					junk = 0;
			} else if (tag & PIDFD_TAG) {
				pid_exited(w, (int)(uint32_t)tag);
				hinted = true;
			}
		}
		pthread_mutex_lock(&w->lock);
		stop = w->stop;
		if (hinted)
			w->counts.hints++;
		pthread_mutex_unlock(&w->lock);
		if (stop)
			break;
		if (hinted && !pending) {
			pending = true;
			due = came + w->p.debounce_ms;
		}
		if ((pending && mono_ms() >= due) || mono_ms() >= resync) {
			unsigned long gen;

			pthread_mutex_lock(&w->lock);
			gen = w->requested;
			pthread_mutex_unlock(&w->lock);
			log_debug("events: scan (t=%lld ms)", (long long)mono_ms());
			scan(w);
			pending = false;
			resync = mono_ms() + (int64_t)w->p.resync_s * 1000;
			pthread_mutex_lock(&w->lock);
			w->done = gen;
			pthread_cond_broadcast(&w->scanned);
			pthread_mutex_unlock(&w->lock);
		}
	}
	return NULL;
}

/* ---- the handle ------------------------------------------------------------------------------ */

static void close_fds(rdms_watch *w)
{
	for (size_t i = 0; i < w->npids; i++)
		close(w->pids[i].fd);
	free(w->pids);
	if (w->infd >= 0)
		rdms_watch_dirs_clear(&w->dirs, w->infd);
	if (w->epfd >= 0)
		close(w->epfd);
	if (w->infd >= 0)
		close(w->infd);
	if (w->evfd >= 0)
		close(w->evfd);
	if (w->tfd >= 0)
		close(w->tfd);
}

static bool add_fd(rdms_watch *w, int fd, uint64_t tag)
{
	struct epoll_event ev = { .events = EPOLLIN };

	ev.data.u64 = tag;
	return fd >= 0 && epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &ev) == 0;
}

rdms_watch *rdms_watch_start(const rdms_watch_params *p, rdms_error *err)
{
	rdms_watch *w = calloc(1, sizeof *w);

	if (w == NULL) {
		rdms_fail(err, WBEM_E_OUT_OF_MEMORY, "out of memory");
		return NULL;
	}
	w->p = *p;
	if (w->p.debounce_ms <= 0)
		w->p.debounce_ms = 100;
	if (w->p.resync_s <= 0)
		w->p.resync_s = 30;
	w->epfd = epoll_create1(EPOLL_CLOEXEC);
	w->infd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	w->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	w->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->scanned, NULL);
	if (w->epfd < 0 || !add_fd(w, w->infd, TAG_INOTIFY) || !add_fd(w, w->evfd, TAG_EVENT) ||
	    !add_fd(w, w->tfd, TAG_TIMER)) {
		rdms_fail(err, WBEM_E_FAILED, "cannot set up the session watch: %s", strerror(errno));
		rdms_watch_stop(w);
		return NULL;
	}
	choose_paths(w);
	if (pthread_create(&w->thread, NULL, run, w) != 0) {
		rdms_fail(err, WBEM_E_FAILED, "cannot start the session watch thread");
		rdms_watch_stop(w);
		return NULL;
	}
	w->running = true;
	return w;
}

void rdms_watch_hint(rdms_watch *w)
{
	uint64_t one = 1;

	if (w != NULL && write(w->evfd, &one, sizeof one) < 0)
		log_debug("events: hint not sent: %s", strerror(errno));
}

void rdms_watch_sync(rdms_watch *w)
{
	unsigned long gen;

	pthread_mutex_lock(&w->lock);
	gen = ++w->requested;
	pthread_mutex_unlock(&w->lock);
	rdms_watch_hint(w);
	pthread_mutex_lock(&w->lock);
	while (w->done < gen && !w->stop && w->running)
		pthread_cond_wait(&w->scanned, &w->lock);
	pthread_mutex_unlock(&w->lock);
}

void rdms_watch_stop(rdms_watch *w)
{
	if (w == NULL)
		return;
	pthread_mutex_lock(&w->lock);
	w->stop = true;
	pthread_cond_broadcast(&w->scanned);
	pthread_mutex_unlock(&w->lock);
	if (w->running) {
		rdms_watch_hint(w);
		pthread_join(w->thread, NULL);
	}
	close_fds(w);
	pthread_cond_destroy(&w->scanned);
	pthread_mutex_destroy(&w->lock);
	free(w);
}

void rdms_watch_get_counts(rdms_watch *w, rdms_watch_counts *out)
{
	pthread_mutex_lock(&w->lock);
	*out = w->counts;
	pthread_mutex_unlock(&w->lock);
}
