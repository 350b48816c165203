/*
 * session_cache.c -- see session_cache.h.
 */
#include "session_cache.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "../common/array.h"
#include "../common/id_index.h"
#include "../common/monotime.h"
#include "../common/strutil.h"
#include "../common/thread_name.h"

/* Back-ends a snapshot can tell apart (rdmsd has one proxy per real one). */
#define MAX_ORIGINS 32
/*
 * How much nicer the refresher is than rdmsd.  A read of every session is
 * a burst of CPU (10,000 sessions through priv: about 7 ms of net's).  At
 * the same priority it shares a CPU evenly with the request threads, and
 * requests served meanwhile are late: on 2 CPUs, a Get's p99 on one
 * connection was ten times the transport's (bench/wsman_bench.sh).  At
 * nice 10 (a tenth of a request thread's weight) a request thread that
 * wakes takes the CPU, and the read, with a tenth of a CPU shared with one
 * busy thread (some 70 ms), still ends long before its snapshot is too old
 * to serve.  SCHED_IDLE cut the tail a little more, but load can starve it,
 * and then readers wait for it; and net, without CAP_SYS_NICE, could not
 * raise either back.
 */
#define REFRESHER_NICE 10

/* One session, compactly: its strings are in the snapshot's pool. */
struct entry {
	uint32_t id;
	uint32_t connect_state;
	uid_t    uid;
	int32_t  display;
	pid_t    server_pid, wm_pid, conn_pid;
	int64_t  logon_time;
	uint32_t str;          /* offset of "user\0client\0kind\0addr\0" in the pool */
	uint8_t  origin;       /* index in origins[] */
	uint8_t  user_len, client_len, kind_len, addr_len;
};

struct rdms_snapshot {
	atomic_int          refs;
	int64_t             taken_ms;    /* when its reading began */
	unsigned            generation;  /* the cache's generation then */
	struct entry       *e;
	size_t              n, cap;
	strbuf              pool;        /* the entries' strings, each NUL-terminated */
	id_key             *index;       /* SessionId -> position in e */
	const rdms_backend *origins[MAX_ORIGINS];
	size_t              norigins;
};

struct rdms_session_cache {
	pthread_mutex_t lock;
	pthread_cond_t  refreshed;
	rdms_snapshot  *current;     /* the cache's own reference, or NULL */
	bool            refreshing;
	unsigned        generation;  /* bumped by every invalidation */

	/* What it reads. */
	const rdms_config         *cfg;
	const rdms_backend *const *b;
	size_t                     nb;

	/* The refresher thread, started on first need. */
	pthread_t       worker;
	bool            worker_up, stop, wanted;
	pthread_cond_t  wake;
};

static void snapshot_free(rdms_snapshot *s)
{
	free(s->e);
	strbuf_free(&s->pool);
	free(s->index);
	free(s);
}

void rdms_snapshot_release(rdms_snapshot *s)
{
	if (s != NULL && atomic_fetch_sub(&s->refs, 1) == 1)
		snapshot_free(s);
}

/* ---- building a snapshot ------------------------------------------------ */

/* TEXT (LEN bytes) and its terminator onto S's pool. */
static bool pool_add(rdms_snapshot *s, const char *text, size_t len)
{
	strbuf_append(&s->pool, text, len);
	strbuf_append(&s->pool, "", 1);
	return !s->pool.failed;
}

static int origin_of(rdms_snapshot *s, const rdms_backend *b)
{
	for (size_t i = 0; i < s->norigins; i++)
		if (s->origins[i] == b)
			return (int)i;
	if (s->norigins == MAX_ORIGINS)
		return -1;
	s->origins[s->norigins] = b;
	return (int)s->norigins++;
}

/* rdms_session_fn: appends one session. */
static uint32_t add_session(void *ctx, const rdms_session *in, rdms_error *err)
{
	rdms_snapshot *s = ctx;
	size_t user = strnlen(in->user, sizeof in->user - 1);
	size_t client = strnlen(in->client, sizeof in->client - 1);
	size_t kind = strnlen(in->kind, sizeof in->kind - 1);
	size_t addr = strnlen(in->client_addr, sizeof in->client_addr - 1);
	int origin = origin_of(s, in->backend);
	struct entry *e;

	if (origin < 0)
		return rdms_fail(err, WBEM_E_PROVIDER_FAILURE,
		                 "sessions come from more than %d back-ends", MAX_ORIGINS);
	if (s->n >= UINT32_MAX || s->pool.len > UINT32_MAX - 1024 ||
	    !array_reserve(&s->e, s->n, &s->cap, sizeof *s->e, 256))
		return rdms_fail(err, WBEM_E_OUT_OF_MEMORY, "out of memory");
	e = &s->e[s->n];
	*e = (struct entry){
		.id = in->id, .connect_state = in->connect_state, .uid = in->uid,
		.display = in->display, .server_pid = in->server_pid, .wm_pid = in->wm_pid,
		.conn_pid = in->conn_pid, .logon_time = in->logon_time, .str = (uint32_t)s->pool.len,
		.origin = (uint8_t)origin, .user_len = (uint8_t)user, .client_len = (uint8_t)client,
		.kind_len = (uint8_t)kind, .addr_len = (uint8_t)addr,
	};
	if (!pool_add(s, in->user, user) || !pool_add(s, in->client, client) ||
	    !pool_add(s, in->kind, kind) || !pool_add(s, in->client_addr, addr))
		return rdms_fail(err, WBEM_E_OUT_OF_MEMORY, "out of memory");
	s->n++;
	return WBEM_S_NO_ERROR;
}

/* Fills S's index (allocated for S->n keys, or NULL when S is empty). */
static void index_build(rdms_snapshot *s)
{
	if (s->index == NULL)
		return;
	for (size_t i = 0; i < s->n; i++)
		s->index[i] = (id_key){ s->e[i].id, (uint32_t)i };
	id_index_sort(s->index, s->n);
}

uint32_t rdms_snapshot_take(rdms_session_walk_fn walk, void *ctx, rdms_snapshot **out,
                           rdms_error *err)
{
	rdms_snapshot *s = calloc(1, sizeof *s);
	uint32_t rc;

	*out = NULL;
	if (s == NULL)
		return rdms_fail(err, WBEM_E_OUT_OF_MEMORY, "out of memory");
	atomic_init(&s->refs, 1);
	s->taken_ms = mono_ms();
	rc = walk(ctx, add_session, s, err);
	if (rc == WBEM_S_NO_ERROR && s->n > 0) {
		s->index = malloc(s->n * sizeof *s->index);
		if (s->index == NULL)
			rc = rdms_fail(err, WBEM_E_OUT_OF_MEMORY, "out of memory");
	}
	if (rc != WBEM_S_NO_ERROR) {
		snapshot_free(s);
		return rc;
	}
	index_build(s);
	*out = s;
	return WBEM_S_NO_ERROR;
}

/* An rdms_session_walk_fn (CTX: the cache): every back-end, in order. */
static uint32_t walk_backends(void *ctx, rdms_session_fn fn, void *fn_ctx, rdms_error *err)
{
	const rdms_session_cache *c = ctx;
	uint32_t rc = WBEM_S_NO_ERROR;

	for (size_t i = 0; i < c->nb && rc == WBEM_S_NO_ERROR; i++)
		rc = rdms_backend_each(c->b[i], c->cfg, fn, fn_ctx, err);
	return rc;
}

/* Reads every back-end into a new snapshot (no lock held). */
static uint32_t snapshot_take(rdms_session_cache *c, unsigned generation,
                              rdms_snapshot **out, rdms_error *err)
{
	uint32_t rc = rdms_snapshot_take(walk_backends, c, out, err);

	if (*out != NULL)
		(*out)->generation = generation;
	return rc;
}

/* ---- the cache ------------------------------------------------------------ */

rdms_session_cache *rdms_session_cache_new(const rdms_config *cfg, const rdms_backend *const *b,
                                           size_t nb)
{
	rdms_session_cache *c = calloc(1, sizeof *c);

	if (c == NULL)
		return NULL;
	c->cfg = cfg;
	c->b = b;
	c->nb = nb;
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->refreshed, NULL);
	pthread_cond_init(&c->wake, NULL);
	return c;
}

void rdms_session_cache_free(rdms_session_cache *c)
{
	if (c == NULL)
		return;
	pthread_mutex_lock(&c->lock);
	c->stop = true;
	pthread_cond_signal(&c->wake);
	pthread_mutex_unlock(&c->lock);
	if (c->worker_up)
		pthread_join(c->worker, NULL);
	rdms_snapshot_release(c->current);
	pthread_mutex_destroy(&c->lock);
	pthread_cond_destroy(&c->refreshed);
	pthread_cond_destroy(&c->wake);
	free(c);
}

void rdms_session_cache_invalidate(rdms_session_cache *c)
{
	pthread_mutex_lock(&c->lock);
	c->generation++;
	pthread_mutex_unlock(&c->lock);
}

/* The position of the first session ID of back-end B in S, or -1. */
static long position_of(const rdms_snapshot *s, uint32_t id, const rdms_backend *b)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->e[i].id == id && s->origins[s->e[i].origin] == b)
			return (long)i;
	return -1;
}

/*
 * A copy of OLD with session ID of back-end B replaced by NOW (appended
 * when OLD lacks it), or removed when NOW is NULL; NULL when out of memory.
 * The copy's strings are OLD's pool plus NOW's (the next full read drops
 * what the replaced entry left there).
 */
static rdms_snapshot *snapshot_patched(const rdms_snapshot *old, uint32_t id,
                                       const rdms_backend *b, const rdms_session *now)
{
	rdms_snapshot *s = calloc(1, sizeof *s);
	long at = position_of(old, id, b);
	size_t n = old->n + (now != NULL && at < 0) - (now == NULL && at >= 0);
	rdms_error err = { 0 };
	bool ok;

	if (s == NULL)
		return NULL;
	atomic_init(&s->refs, 1);
	s->taken_ms = old->taken_ms;
	memcpy(s->origins, old->origins, sizeof s->origins);
	s->norigins = old->norigins;
	if (old->pool.len > 0)
		strbuf_append(&s->pool, old->pool.data, old->pool.len);
	s->cap = old->n + 1;
	s->e = malloc(s->cap * sizeof *s->e);
	s->index = n > 0 ? malloc(n * sizeof *s->index) : NULL;
	ok = s->e != NULL && (n == 0 || s->index != NULL) && !s->pool.failed;
	if (ok) {
		memcpy(s->e, old->e, old->n * sizeof *s->e);
		s->n = old->n;
		if (at >= 0) {   /* out of the list; NOW goes back in at the same place */
			memmove(&s->e[at], &s->e[at + 1], (s->n - (size_t)at - 1) * sizeof *s->e);
			s->n--;
		}
		ok = now == NULL || add_session(s, now, &err) == WBEM_S_NO_ERROR;
	}
	if (ok && now != NULL && at >= 0 && (size_t)at != s->n - 1) {
		struct entry e = s->e[s->n - 1];

		memmove(&s->e[at + 1], &s->e[at], (s->n - 1 - (size_t)at) * sizeof *s->e);
		s->e[at] = e;
	}
	if (!ok) {
		snapshot_free(s);
		return NULL;
	}
	index_build(s);
	return s;
}

void rdms_session_cache_update(rdms_session_cache *c, uint32_t id, const rdms_backend *b,
                               const rdms_session *now)
{
	rdms_snapshot *s;

	pthread_mutex_lock(&c->lock);
	s = c->current;
	c->generation++;
	/* Only a snapshot still valid is patched; otherwise the next read is fresh anyway. */
	if (s != NULL && s->generation == c->generation - 1) {
		rdms_snapshot *patched = snapshot_patched(s, id, b, now);

		if (patched != NULL) {
			patched->generation = c->generation;
			rdms_snapshot_release(s);
			c->current = patched;
		}
	}
	pthread_mutex_unlock(&c->lock);
}

/*
 * Installs a finished read (lock held): FRESH, or nothing after a failure.
 * A read begun before a method patched the snapshot misses the method's
 * effect: it serves the reader that asked, and the patched one stays.
 */
static void finish_refresh(rdms_session_cache *c, uint32_t rc, rdms_snapshot *fresh)
{
	c->refreshing = false;
	if (rc == WBEM_S_NO_ERROR && fresh != NULL) {
		bool patched = c->current != NULL && c->current->generation == c->generation &&
		               fresh->generation != c->generation;

		if (patched) {
			rdms_snapshot_release(fresh);
		} else {
			rdms_snapshot_release(c->current);
			c->current = fresh;
		}
	}
	pthread_cond_broadcast(&c->refreshed);
}

/*
 * The calling thread REFRESHER_NICE nicer than it was (the kernel stops at
 * 19).  On Linux a nice value is a thread's alone; failing leaves it as it
 * was.
 */
static void lower_priority(void)
{
	id_t self = (id_t)gettid();

	(void)setpriority(PRIO_PROCESS, self, getpriority(PRIO_PROCESS, self) + REFRESHER_NICE);
}

/*
 * The refresher: reads the back-ends whenever a reader found the snapshot
 * stale but still young enough to serve meanwhile, so that under steady
 * load no request waits for a read of every session.
 */
static void *refresher(void *arg)
{
	rdms_session_cache *c = arg;

	rdms_thread_name("cache");
	lower_priority();
	pthread_mutex_lock(&c->lock);
	while (!c->stop) {
		rdms_snapshot *fresh = NULL;
		rdms_error err = { 0 };
		unsigned generation;
		uint32_t rc;

		if (!c->wanted) {
			pthread_cond_wait(&c->wake, &c->lock);
			continue;
		}
		c->wanted = false;
		generation = c->generation;
		pthread_mutex_unlock(&c->lock);
		rc = snapshot_take(c, generation, &fresh, &err);
		pthread_mutex_lock(&c->lock);
		finish_refresh(c, rc, fresh);
	}
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

/* Asks the refresher for a new snapshot (lock held); false when it cannot run. */
static bool refresh_behind(rdms_session_cache *c)
{
	if (!c->worker_up) {
		if (pthread_create(&c->worker, NULL, refresher, c) != 0)
			return false;
		c->worker_up = true;
	}
	c->refreshing = true;
	c->wanted = true;
	pthread_cond_signal(&c->wake);
	return true;
}

uint32_t rdms_session_cache_get(rdms_session_cache *c, rdms_snapshot **out, rdms_error *err)
{
	rdms_snapshot *fresh = NULL;
	unsigned generation;
	uint32_t rc;

	pthread_mutex_lock(&c->lock);
	for (;;) {
		const rdms_snapshot *s = c->current;
		int64_t ttl = (int64_t)c->cfg->session_cache_ms;
		int64_t age = s != NULL ? mono_ms() - s->taken_ms : 0;
		bool valid = s != NULL && s->generation == c->generation;

		/*
		 * Young: serve it.  Stale but under twice the age: serve it while the
		 * refresher reads anew (or already does).  Older, or invalidated by a
		 * method: this reader waits for a fresh one (reading it itself).
		 */
		if (valid && (age < ttl || (age < 2 * ttl && (c->refreshing || refresh_behind(c))))) {
			atomic_fetch_add(&c->current->refs, 1);
			*out = c->current;
			pthread_mutex_unlock(&c->lock);
			return WBEM_S_NO_ERROR;
		}
		if (!c->refreshing)
			break;
		pthread_cond_wait(&c->refreshed, &c->lock);
	}
	c->refreshing = true;
	generation = c->generation;
	pthread_mutex_unlock(&c->lock);

	rc = snapshot_take(c, generation, &fresh, err);

	pthread_mutex_lock(&c->lock);
	if (rc == WBEM_S_NO_ERROR) {
		atomic_fetch_add(&fresh->refs, 1);
		*out = fresh;
	}
	finish_refresh(c, rc, fresh);
	pthread_mutex_unlock(&c->lock);
	return rc;
}

bool rdms_session_cache_ready(rdms_session_cache *c)
{
	bool ready;

	pthread_mutex_lock(&c->lock);
	ready = c->current != NULL && c->current->generation == c->generation &&
	        mono_ms() - c->current->taken_ms < 2 * (int64_t)c->cfg->session_cache_ms;
	pthread_mutex_unlock(&c->lock);
	return ready;
}

/* ---- reading a snapshot ----------------------------------------------------- */

size_t rdms_snapshot_count(const rdms_snapshot *s)
{
	return s->n;
}

uid_t rdms_snapshot_uid(const rdms_snapshot *s, size_t i)
{
	return s->e[i].uid;
}

void rdms_snapshot_at(const rdms_snapshot *s, size_t i, rdms_session *out)
{
	const struct entry *e = &s->e[i];
	const char *str = s->pool.data + e->str;

	out->id = e->id;
	out->connect_state = e->connect_state;
	out->uid = e->uid;
	out->backend = s->origins[e->origin];
	out->display = e->display;
	out->server_pid = e->server_pid;
	out->wm_pid = e->wm_pid;
	out->conn_pid = e->conn_pid;
	out->logon_time = e->logon_time;
	memcpy(out->user, str, (size_t)e->user_len + 1);
	str += e->user_len + 1;
	memcpy(out->client, str, (size_t)e->client_len + 1);
	str += e->client_len + 1;
	memcpy(out->kind, str, (size_t)e->kind_len + 1);
	str += e->kind_len + 1;
	memcpy(out->client_addr, str, (size_t)e->addr_len + 1);
}

bool rdms_snapshot_find(const rdms_snapshot *s, uint32_t id, rdms_session *out)
{
	uint32_t pos;

	/* The first with this id: the lowest position, as enumeration order wants. */
	if (s->index == NULL || !id_index_find(s->index, s->n, id, &pos))
		return false;
	rdms_snapshot_at(s, pos, out);
	return true;
}
