/*
 * test_feed.c -- the change feed: the differ's events, the journal's
 * positions, bounds and bookmarks, waiting (src/events/feed.h).
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "check.h"
#include "events/feed.h"
#include "events/feed_store.h"
#include "events/follow.h"
#include "events/watch.h"
#include "backend/fixture/fixture.h"
#include "config/config.h"

#define T0 1700000000000000LL   /* a Unix time in microseconds */

static rdms_session mk(uint32_t id, uint32_t state, const char *user, const char *client,
                       int64_t logon, pid_t pid)
{
	rdms_session s;

	memset(&s, 0, sizeof s);
	s.id = id;
	s.connect_state = state;
	s.uid = 1000 + id;
	s.display = (int)id;
	s.logon_time = logon;
	s.server_pid = pid;
	snprintf(s.user, sizeof s.user, "%s", user);
	snprintf(s.client, sizeof s.client, "%s", client);
	return s;
}

/* What a read hands over, flattened for checking. */
typedef struct seen {
	size_t        n;
	uint8_t       kind[64];
	uint32_t      id[64];
	uint32_t      state[64], prev_state[64];
	char          client[64][32], prev_client[64][32], prev_addr[64][48];
	rdms_feed_pos pos[64];
	int           stop_after;   /* 0: never */
} seen;

static int collect(void *ctx, const rdms_event *ev)
{
	seen *s = ctx;

	if (s->n < 64) {
		s->kind[s->n] = ev->kind;
		s->id[s->n] = ev->target.id;
		s->state[s->n] = ev->target.connect_state;
		s->prev_state[s->n] = ev->previous.connect_state;
		snprintf(s->client[s->n], 32, "%s", ev->target.client ? ev->target.client : "");
		snprintf(s->prev_client[s->n], 32, "%s",
		         ev->previous.client ? ev->previous.client : "");
		snprintf(s->prev_addr[s->n], 48, "%s",
		         ev->previous.client_addr ? ev->previous.client_addr : "");
		s->pos[s->n] = ev->pos;
	}
	s->n++;
	return s->stop_after != 0 && (int)s->n >= s->stop_after;
}

static seen read_after(rdms_feed *f, rdms_feed_pos after, rdms_feed_read_rc *rc,
                       rdms_feed_pos *next)
{
	seen s;
	rdms_feed_pos dummy;

	memset(&s, 0, sizeof s);
	*rc = rdms_feed_read(f, after, 1000, collect, &s, next != NULL ? next : &dummy);
	return s;
}

static void test_differ(void)
{
	rdms_feed *f = rdms_feed_new(3, NULL);
	rdms_session a[4];
	rdms_feed_read_rc rc;
	rdms_feed_pos next;
	seen s;

	CHECK(f != NULL);
	/* first listing: two creations, in SessionId order */
	a[0] = mk(20, 0, "bob", "pc2", 100, 2000);
	a[1] = mk(10, 0, "alice", "pc1", 100, 1000);
	CHECK_EQ(rdms_feed_observe(f, "xrdp", a, 2, T0), 2);
	s = read_after(f, (rdms_feed_pos){ 3, 0 }, &rc, &next);
	CHECK_EQ(rc, RDMS_FEED_OK);
	CHECK_EQ(s.n, 2);
	CHECK(s.kind[0] == RDMS_EVENT_CREATION && s.id[0] == 10 && s.id[1] == 20);
	CHECK(s.pos[0].epoch == 3 && s.pos[0].seq == 1 && s.pos[1].seq == 2);
	CHECK(next.epoch == 3 && next.seq == 2);

	/* the same listing again: nothing */
	CHECK_EQ(rdms_feed_observe(f, "xrdp", a, 2, T0 + 1), 0);
	/* a detail that is not a class property: nothing either */
	a[1].display = 77;
	snprintf(a[1].client_addr, sizeof a[1].client_addr, "10.0.0.9");
	CHECK_EQ(rdms_feed_observe(f, "xrdp", a, 2, T0 + 2), 0);

	/* alice disconnects: a modification with the previous state */
	a[1].connect_state = 4;
	a[1].client[0] = '\0';
	CHECK_EQ(rdms_feed_observe(f, "xrdp", a, 2, T0 + 3), 1);
	s = read_after(f, next, &rc, &next);
	CHECK_EQ(s.n, 1);
	CHECK(s.kind[0] == RDMS_EVENT_MODIFICATION && s.id[0] == 10);
	CHECK(s.state[0] == 4 && s.prev_state[0] == 0);
	CHECK_STR(s.client[0], "");
	CHECK_STR(s.prev_client[0], "pc1");
	/* the address learnt quietly above is the listing's, with its other texts */
	CHECK_STR(s.prev_addr[0], "10.0.0.9");

	/* bob's key is reused by another session (another pid): deletion + creation */
	a[0] = mk(20, 0, "carol", "pc3", 300, 2001);
	/* and a new session, and alice ends */
	a[1] = mk(30, 0, "dave", "pc4", 300, 3000);
	CHECK_EQ(rdms_feed_observe(f, "xrdp", a, 2, T0 + 4), 4);
	s = read_after(f, next, &rc, &next);
	CHECK_EQ(s.n, 4);
	CHECK(s.kind[0] == RDMS_EVENT_DELETION && s.id[0] == 10 && s.state[0] == 4);
	CHECK(s.kind[1] == RDMS_EVENT_DELETION && s.id[1] == 20);
	CHECK_STR(s.client[1], "pc2");
	CHECK(s.kind[2] == RDMS_EVENT_CREATION && s.id[2] == 20);
	CHECK_STR(s.client[2], "pc3");
	CHECK(s.kind[3] == RDMS_EVENT_CREATION && s.id[3] == 30);

	/* another back-end is separate; a duplicate id counts once */
	a[2] = mk(20, 0, "x2", "pcx", 1, 1);
	a[3] = mk(20, 4, "x2", "", 1, 1);
	CHECK_EQ(rdms_feed_observe(f, "x2go", &a[2], 2, T0 + 5), 1);
	/* a reconnect from another client while Active */
	a[0] = mk(20, 0, "carol", "pc9", 300, 2001);
	CHECK_EQ(rdms_feed_observe(f, "xrdp", a, 2, T0 + 6), 1);
	s = read_after(f, next, &rc, &next);
	CHECK_EQ(s.n, 2);
	CHECK(s.kind[1] == RDMS_EVENT_MODIFICATION);
	CHECK_STR(s.client[1], "pc9");
	CHECK_STR(s.prev_client[1], "pc3");
	/* the x2go back-end empties: its session ends; xrdp's stay */
	CHECK_EQ(rdms_feed_observe(f, "x2go", NULL, 0, T0 + 7), 1);
	CHECK_EQ(rdms_feed_observe(f, "xrdp", a, 2, T0 + 8), 0);
	rdms_feed_free(f);
}

static void test_bookmarks(void)
{
	rdms_feed_limits lim = { .min_events = 4, .min_age_s = 0, .max_events = 8 };
	rdms_feed *f = rdms_feed_new(7, &lim);
	rdms_feed_read_rc rc;
	rdms_feed_pos next;
	size_t held;
	uint64_t dropped;
	seen s;

	/* ten sessions appear one by one */
	for (uint32_t i = 1; i <= 10; i++) {
		rdms_session one[10];

		for (uint32_t k = 0; k < i; k++)
			one[k] = mk(k + 1, 0, "u", "c", 1, 1);
		CHECK_EQ(rdms_feed_observe(f, "fixture", one, i, T0), 1);
	}
	/* min_age 0: beyond min_events the oldest go */
	rdms_feed_counts(f, &held, &dropped);
	CHECK_EQ(held, 4);
	CHECK_EQ(dropped, 6);
	CHECK(rdms_feed_earliest(f).epoch == 7 && rdms_feed_earliest(f).seq == 6);
	CHECK(rdms_feed_head(f).seq == 10);
	s = read_after(f, (rdms_feed_pos){ 7, 5 }, &rc, NULL);
	CHECK_EQ(rc, RDMS_FEED_GONE);
	CHECK_EQ(s.n, 0);
	s = read_after(f, (rdms_feed_pos){ 6, 99 }, &rc, NULL);
	CHECK_EQ(rc, RDMS_FEED_GONE);
	s = read_after(f, (rdms_feed_pos){ 7, 6 }, &rc, &next);
	CHECK_EQ(rc, RDMS_FEED_OK);
	CHECK(s.n == 4 && s.id[0] == 7 && s.id[3] == 10 && next.seq == 10);
	s = read_after(f, (rdms_feed_pos){ 7, 10 }, &rc, &next);
	CHECK(rc == RDMS_FEED_OK && s.n == 0 && next.seq == 10);
	s = read_after(f, (rdms_feed_pos){ 7, 11 }, &rc, NULL);
	CHECK_EQ(rc, RDMS_FEED_FUTURE);
	s = read_after(f, (rdms_feed_pos){ 8, 0 }, &rc, NULL);
	CHECK_EQ(rc, RDMS_FEED_FUTURE);
	/* MAX and a callback that stops */
	{
		seen part;

		memset(&part, 0, sizeof part);
		CHECK_EQ(rdms_feed_read(f, (rdms_feed_pos){ 7, 6 }, 2, collect, &part, &next), 0);
		CHECK(part.n == 2 && next.seq == 8);
		memset(&part, 0, sizeof part);
		part.stop_after = 1;
		CHECK_EQ(rdms_feed_read(f, (rdms_feed_pos){ 7, 6 }, 9, collect, &part, &next), 0);
		CHECK(part.n == 1 && next.seq == 7);
	}
	/* one batch bigger than max_events keeps its newest */
	{
		rdms_session many[20];

		for (uint32_t k = 0; k < 20; k++)
			many[k] = mk(100 + k, 0, "u", "c", 1, 1);
		CHECK_EQ(rdms_feed_observe(f, "other", many, 20, T0), 20);
		/* 12 never held, 8 held, then min_age 0 prunes to min_events */
		rdms_feed_counts(f, &held, &dropped);
		CHECK_EQ(held, 4);
		CHECK_EQ(dropped, 26);
		CHECK(rdms_feed_head(f).seq == 30 && rdms_feed_earliest(f).seq == 26);
		s = read_after(f, rdms_feed_earliest(f), &rc, NULL);
		CHECK(rc == RDMS_FEED_OK && s.n == 4 && s.id[0] == 116 && s.id[3] == 119);
	}
	rdms_feed_free(f);

	/* min_age keeps young events beyond min_events, up to max_events */
	lim = (rdms_feed_limits){ .min_events = 2, .min_age_s = 600, .max_events = 5 };
	f = rdms_feed_new(1, &lim);
	for (uint32_t i = 1; i <= 4; i++) {
		rdms_session one[4];

		for (uint32_t k = 0; k < i; k++)
			one[k] = mk(k + 1, 0, "u", "c", 1, 1);
		CHECK_EQ(rdms_feed_observe(f, "fixture", one, i, T0), 1);
	}
	rdms_feed_counts(f, &held, &dropped);
	CHECK_EQ(held, 4);
	/* eleven minutes later the old ones may go, down to min_events */
	{
		rdms_session one[5];

		for (uint32_t k = 0; k < 5; k++)
			one[k] = mk(k + 1, 0, "u", "c", 1, 1);
		CHECK_EQ(rdms_feed_observe(f, "fixture", one, 5, T0 + 660LL * 1000000), 1);
	}
	rdms_feed_counts(f, &held, &dropped);
	CHECK_EQ(held, 2);
	rdms_feed_free(f);
}

struct waiter {
	rdms_feed *f;
	bool       got;
};

static void *wait_thread(void *arg)
{
	struct waiter *w = arg;

	w->got = rdms_feed_wait(w->f, rdms_feed_head(w->f), 5000);
	return NULL;
}

static void test_wait(void)
{
	rdms_feed *f = rdms_feed_new(1, NULL);
	rdms_session one = mk(5, 0, "u", "c", 1, 1);
	struct waiter w = { f, false };
	pthread_t t;

	CHECK(!rdms_feed_wait(f, rdms_feed_head(f), 10));   /* times out */
	CHECK_EQ(pthread_create(&t, NULL, wait_thread, &w), 0);
	usleep(50000);
	CHECK_EQ(rdms_feed_observe(f, "fixture", &one, 1, T0), 1);
	pthread_join(t, NULL);
	CHECK(w.got);
	CHECK(rdms_feed_wait(f, (rdms_feed_pos){ 1, 0 }, 0));   /* already there */
	/* at shutdown waits end at once */
	w.got = true;
	CHECK_EQ(pthread_create(&t, NULL, wait_thread, &w), 0);
	usleep(50000);
	rdms_feed_wake(f);
	pthread_join(t, NULL);
	CHECK(!w.got);
	/* a wake after the count was taken ends even a wait without end at once */
	{
		unsigned long gen = rdms_feed_wakes(f);

		rdms_feed_wake(f);
		CHECK(!rdms_feed_wait_since(f, rdms_feed_head(f), -1, gen));
		CHECK(rdms_feed_wait_since(f, (rdms_feed_pos){ 1, 0 }, -1, rdms_feed_wakes(f)));
	}
	rdms_feed_free(f);
}

/* ---- the follower (follow.h) ---------------------------------------------------- */

struct followed {
	atomic_long    n;
	rdms_feed_pos  last;
	atomic_bool    in_order;
};

static int follow_one(void *ctx, const rdms_event *ev)
{
	struct followed *fd = ctx;

	if (rdms_feed_pos_cmp(ev->pos, fd->last) <= 0)
		atomic_store(&fd->in_order, false);
	fd->last = ev->pos;
	atomic_fetch_add(&fd->n, 1);
	return 0;
}

static double mono_ms_(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void *stop_follower(void *arg)
{
	rdms_feed_follower_stop(arg);
	return NULL;
}

/* Stops FL; false when that took more than 2 s (a stop was missed: its thread is left). */
static bool stopped_in_time(rdms_feed_follower *fl)
{
	struct timespec until;
	pthread_t t;

	if (pthread_create(&t, NULL, stop_follower, fl) != 0)
		return false;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 2;
	if (pthread_timedjoin_np(t, NULL, &until) == ETIMEDOUT) {
		pthread_detach(t);
		return false;
	}
	return true;
}

/*
 * The hook dispatcher's thread: every event after its start, in order, once;
 * it sleeps without a timeout, so it must never miss its stop -- not even one
 * that comes as it starts, between its look at the flag and its wait (the
 * window where the old dispatcher lost the wake and slept on for 200 ms; a
 * follower that loses it now sleeps for good, which stopped_in_time sees).
 */
static void test_follow(void)
{
	rdms_feed *f = rdms_feed_new(1, NULL);
	rdms_session s[3] = { mk(1, 0, "u", "a", 1, 1), mk(2, 0, "u", "b", 1, 2),
	                      mk(3, 0, "u", "c", 1, 3) };
	struct followed fd = { .last = { 1, 0 } };
	rdms_feed_follow_params p = { .feed = f, .fn = follow_one, .ctx = &fd, .batch = 2 };
	rdms_feed_follower *fl;
	bool all_stopped = true;
	double t0, worst = 0;

	atomic_init(&fd.n, 0);
	atomic_init(&fd.in_order, true);
	CHECK_EQ(rdms_feed_observe(f, "fixture", s, 1, T0), 1);   /* before the start: not followed */
	fd.last = rdms_feed_head(f);
	fl = rdms_feed_follow(&p);
	CHECK(fl != NULL);
	CHECK_EQ(rdms_feed_observe(f, "fixture", s, 3, T0 + 1), 2);
	s[0] = mk(1, 4, "u", "", 1, 1);
	CHECK_EQ(rdms_feed_observe(f, "fixture", s, 3, T0 + 2), 1);
	for (int i = 0; i < 500 && atomic_load(&fd.n) < 3; i++)
		usleep(2000);
	CHECK_EQ(atomic_load(&fd.n), 3);                 /* two reads of at most 2 */
	CHECK(atomic_load(&fd.in_order));
	CHECK(rdms_feed_pos_cmp(fd.last, rdms_feed_head(f)) == 0);
	t0 = mono_ms_();
	CHECK(stopped_in_time(fl));
	CHECK(mono_ms_() - t0 < 1000);

	/* stops as the thread starts, and while it sleeps: each at once */
	for (int i = 0; i < 3000 && all_stopped; i++) {
		fl = rdms_feed_follow(&p);
		if (fl == NULL) {
			all_stopped = false;
			break;
		}
		if (i % 3 == 1)
			sched_yield();
		else if (i % 3 == 2)
			usleep(200);
		t0 = mono_ms_();
		all_stopped = stopped_in_time(fl);
		if (mono_ms_() - t0 > worst)
			worst = mono_ms_() - t0;
	}
	CHECK(all_stopped);
	/* at once: not after a wait of the follower's (seconds); a loaded 2-CPU machine can
	 * leave a thread unscheduled for some hundreds of ms, which is no failure */
	if (worst >= 150)
		fprintf(stderr, "test_follow: the slowest stop took %.0f ms\n", worst);
	CHECK(worst < 1000);
	if (all_stopped)
		rdms_feed_free(f);   /* else a stuck thread still waits on it */
}

/* Positions compare across epochs. */
static void test_positions(void)
{
	CHECK(rdms_feed_pos_cmp((rdms_feed_pos){ 1, 99 }, (rdms_feed_pos){ 2, 0 }) < 0);
	CHECK(rdms_feed_pos_cmp((rdms_feed_pos){ 2, 1 }, (rdms_feed_pos){ 2, 0 }) > 0);
	CHECK(rdms_feed_pos_cmp((rdms_feed_pos){ 2, 1 }, (rdms_feed_pos){ 2, 1 }) == 0);
}

/* Many sessions changing at random: a replay of the events rebuilds the listing. */
/*
 * One random step of session I of a churning listing (round R): it
 * appears, ends, changes its state or client, or its key names a new
 * session; with QUIET, also its display or address changes (not the
 * class's).  Returns the draw.
 */
static unsigned churn(rdms_session *cur, bool *live, uint32_t i, int r, unsigned *seed,
                      bool quiet)
{
	unsigned x = (unsigned)rand_r(seed) % (quiet ? 12 : 10);

	if (!live[i] && x < 3)
		cur[i] = mk(i, 0, "u", "c0", r, (pid_t)(i + 1)), live[i] = true;
	else if (live[i] && x == 0)
		live[i] = false;
	else if (live[i] && x == 1)
		cur[i].connect_state = cur[i].connect_state == 0 ? 4 : 0;
	else if (live[i] && x == 2)
		snprintf(cur[i].client, sizeof cur[i].client, "c%u", (unsigned)rand_r(seed) % 5);
	else if (live[i] && x == 3)
		cur[i].logon_time++;   /* the key reused by a new session */
	else if (live[i] && quiet && x == 4)
		cur[i].display = rand_r(seed) % 3;
	else if (live[i] && quiet && x == 5)
		snprintf(cur[i].client_addr, sizeof cur[i].client_addr, "10.0.0.%d", rand_r(seed) % 3);
	return x;
}

static void test_replay(void)
{
	enum { N = 500, ROUNDS = 40 };
	static rdms_session cur[N], rebuilt[N];
	static bool live[N], rlive[N];
	rdms_feed *f = rdms_feed_new(1, NULL);
	rdms_feed_pos at = { 1, 0 };
	unsigned seed = 42;
	int bad = 0;

	for (int r = 0; r < ROUNDS; r++) {
		rdms_session list[N];
		size_t n = 0;

		for (uint32_t i = 0; i < N; i++) {
			churn(cur, live, i, r, &seed, false);
			if (live[i])
				list[n++] = cur[i];
		}
		/* listing order must not matter */
		for (size_t k = n; k > 1; k--) {
			size_t j = (size_t)rand_r(&seed) % k;
			rdms_session t = list[k - 1];

			list[k - 1] = list[j];
			list[j] = t;
		}
		CHECK(rdms_feed_observe(f, "fixture", list, n, T0 + r) >= 0);
	}
	/* replay */
	{
		rdms_feed_pos next;

		for (;;) {
			seen s;

			memset(&s, 0, sizeof s);
			CHECK_EQ(rdms_feed_read(f, at, 64, collect, &s, &next), 0);
			if (s.n == 0)
				break;
			for (size_t k = 0; k < s.n; k++) {
				uint32_t id = s.id[k];

				if (s.kind[k] == RDMS_EVENT_DELETION) {
					bad += !rlive[id];
					rlive[id] = false;
				} else {
					bad += s.kind[k] == RDMS_EVENT_CREATION ? rlive[id] : !rlive[id];
					rlive[id] = true;
					rebuilt[id].connect_state = s.state[k];
					snprintf(rebuilt[id].client, sizeof rebuilt[id].client, "%s", s.client[k]);
				}
			}
			at = next;
		}
	}
	for (uint32_t i = 0; i < N; i++) {
		bad += live[i] != rlive[i];
		if (live[i] && rlive[i])
			bad += cur[i].connect_state != rebuilt[i].connect_state ||
			       strcmp(cur[i].client, rebuilt[i].client) != 0;
	}
	CHECK_EQ(bad, 0);
	rdms_feed_free(f);
}

/* The journal and listings survive a restart; the epoch rises. */
static void test_store(void)
{
	char dir[] = "/tmp/rdms-test-feed.XXXXXX", path[64];
	rdms_feed_limits lim = { .min_events = 3, .min_age_s = 0, .max_events = 100 };
	rdms_feed_store *st;
	rdms_feed *f;
	rdms_error err;
	rdms_feed_read_rc rc;
	rdms_feed_pos next;
	rdms_session a[2];
	seen s;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof path, "%s/events.db", dir);
	CHECK_EQ(rdms_feed_store_open(path, &lim, &st, &f, &err), 0);
	CHECK(rdms_feed_head(f).epoch == 1 && rdms_feed_head(f).seq == 0);
	a[0] = mk(10, 0, "alice", "pc1", 100, 1000);
	a[1] = mk(20, 0, "bob", "pc2", 100, 2000);
	CHECK_EQ(rdms_feed_observe(f, "xrdp", a, 2, T0), 2);
	a[0].connect_state = 4;
	CHECK_EQ(rdms_feed_observe(f, "xrdp", a, 2, T0 + 1), 1);
	rdms_feed_store_close(st, f);

	/* second run: epoch 2, the three events readable, the listing known */
	CHECK_EQ(rdms_feed_store_open(path, &lim, &st, &f, &err), 0);
	CHECK(rdms_feed_head(f).epoch == 1 && rdms_feed_head(f).seq == 3);
	s = read_after(f, (rdms_feed_pos){ 1, 0 }, &rc, &next);
	CHECK(rc == RDMS_FEED_OK && s.n == 3);
	CHECK(s.kind[2] == RDMS_EVENT_MODIFICATION && s.state[2] == 4 && s.prev_state[2] == 0);
	CHECK_STR(s.prev_client[2], "pc1");
	/* nothing changed while it was down: no event */
	CHECK_EQ(rdms_feed_observe(f, "xrdp", a, 2, T0 + 2), 0);
	/* bob logged off meanwhile: a deletion in epoch 2 */
	CHECK_EQ(rdms_feed_observe(f, "xrdp", a, 1, T0 + 3), 1);
	s = read_after(f, next, &rc, &next);
	CHECK(rc == RDMS_FEED_OK && s.n == 1 && s.kind[0] == RDMS_EVENT_DELETION && s.id[0] == 20);
	CHECK(s.pos[0].epoch == 2 && s.pos[0].seq == 1);
	rdms_feed_store_close(st, f);

	/* third run: the journal was pruned to min_events (3) and its floor kept */
	CHECK_EQ(rdms_feed_store_open(path, &lim, &st, &f, &err), 0);
	CHECK(rdms_feed_earliest(f).epoch == 1 && rdms_feed_earliest(f).seq == 1);
	s = read_after(f, (rdms_feed_pos){ 1, 0 }, &rc, NULL);
	CHECK_EQ(rc, RDMS_FEED_GONE);
	s = read_after(f, rdms_feed_earliest(f), &rc, NULL);
	CHECK(rc == RDMS_FEED_OK && s.n == 3 && s.pos[2].epoch == 2);
	CHECK(rdms_feed_head(f).epoch == 2 && rdms_feed_head(f).seq == 1);
	/* the listing came back too: alice only */
	CHECK_EQ(rdms_feed_observe(f, "xrdp", a, 1, T0 + 4), 0);
	rdms_feed_store_close(st, f);

	/* rows of a back-end this rdmsd does not know are left out */
	{
		sqlite3 *db;

		CHECK_EQ(sqlite3_open(path, &db), SQLITE_OK);
		CHECK_EQ(sqlite3_exec(db, "INSERT INTO sessions VALUES ('nope', 1, 0, 0, 0, 0, 0, "
		                      "'u', 'c', '');", NULL, NULL, NULL), SQLITE_OK);
		sqlite3_close(db);
	}
	CHECK_EQ(rdms_feed_store_open(path, &lim, &st, &f, &err), 0);
	CHECK(rdms_feed_head(f).epoch == 2);
	CHECK_EQ(rdms_feed_store_failures(st), 0);
	rdms_feed_store_close(st, f);

	/* a place it cannot create */
	CHECK_EQ(rdms_feed_store_open("/nonexistent-dir/events.db", NULL, &st, &f, &err),
	         WBEM_E_FAILED);
	CHECK(st == NULL && f == NULL && strstr(err.message, "/nonexistent-dir") != NULL);
	unlink(path);
	{
		char side[80];

		snprintf(side, sizeof side, "%s-wal", path);
		unlink(side);
		snprintf(side, sizeof side, "%s-shm", path);
		unlink(side);
	}
	CHECK_EQ(rmdir(dir), 0);
}

/* Writes TEXT to PATH by a rename, as editors and the benchmark do. */
static void put_file(const char *path, const char *text)
{
	char tmp[300];
	FILE *fp;

	snprintf(tmp, sizeof tmp, "%s.new", path);
	fp = fopen(tmp, "w");
	CHECK(fp != NULL);
	if (fp == NULL)
		return;
	fputs(text, fp);
	fclose(fp);
	CHECK_EQ(rename(tmp, path), 0);
}

static const rdms_backend *const fixture_only[] = { &rdms_backend_fixture };

/*
 * A watch of the fixture back-end on DIR (made here)/sessions.txt holding
 * TEXT, in *CFG and *WP (a feed of epoch 1, DEBOUNCE_MS); NULL when it did
 * not start.
 */
static rdms_watch *fixture_watch(rdms_config *cfg, char *dir, const char *text,
                                 int debounce_ms, rdms_watch_params *wp)
{
	rdms_error err;
	rdms_watch *w;

	CHECK(mkdtemp(dir) != NULL);
	rdms_config_defaults(cfg);
	snprintf(cfg->fixture_file, sizeof cfg->fixture_file, "%s/sessions.txt", dir);
	put_file(cfg->fixture_file, text);
	*wp = (rdms_watch_params){ .cfg = cfg, .backends = fixture_only, .nb = 1,
	                           .debounce_ms = debounce_ms, .resync_s = 3600,
	                           .feed = rdms_feed_new(1, NULL) };
	w = rdms_watch_start(wp, &err);
	CHECK(w != NULL);
	return w;
}

/* The rescan thread: a first scan at start, then a change seen without polling. */
static void test_watch(void)
{
	static rdms_config cfg;
	char dir[] = "/tmp/rdms-test-watch.XXXXXX";
	rdms_watch_params wp;
	rdms_watch_counts counts;
	rdms_feed_read_rc rc;
	rdms_feed_pos next;
	rdms_watch *w = fixture_watch(&cfg, dir, "1 root 0 pc1\n2 root 4 -\n", 20, &wp);
	seen s;

	if (w == NULL)
		return;
	rdms_watch_sync(w);
	s = read_after(wp.feed, (rdms_feed_pos){ 1, 0 }, &rc, &next);
	CHECK(rc == RDMS_FEED_OK && s.n == 2 && s.kind[0] == RDMS_EVENT_CREATION);

	/* the file changes: inotify, a debounced scan, two events -- no hint from us */
	put_file(cfg.fixture_file, "1 root 4 -\n");
	CHECK(rdms_feed_wait(wp.feed, next, 5000));
	usleep(100000);   /* both events come from one scan */
	s = read_after(wp.feed, next, &rc, &next);
	CHECK(rc == RDMS_FEED_OK && s.n == 2);
	CHECK(s.kind[0] == RDMS_EVENT_MODIFICATION && s.id[0] == 1 && s.state[0] == 4 &&
	      s.prev_state[0] == 0);
	CHECK(s.kind[1] == RDMS_EVENT_DELETION && s.id[1] == 2);

	/* other files in the same directory wake nobody */
	rdms_watch_get_counts(w, &counts);
	{
		unsigned long scans = counts.scans;
		char other[300];

		snprintf(other, sizeof other, "%s/unrelated.txt", dir);
		put_file(other, "x\n");
		usleep(300000);
		rdms_watch_get_counts(w, &counts);
		CHECK_EQ(counts.scans, scans);
		unlink(other);
	}

	/* a hint with nothing changed: a scan, no event */
	rdms_watch_sync(w);
	CHECK(rdms_feed_head(wp.feed).seq == next.seq);
	rdms_watch_get_counts(w, &counts);
	CHECK(counts.scans >= 3 && counts.hints >= 2 && counts.failures == 0);

	/* a file that cannot be read says nothing: no deletion */
	unlink(cfg.fixture_file);
	rdms_watch_sync(w);
	CHECK(rdms_feed_head(wp.feed).seq == next.seq);
	rdms_watch_get_counts(w, &counts);
	CHECK(counts.failures >= 1);
	rdms_watch_stop(w);
	rdms_feed_free(wp.feed);
	CHECK_EQ(rmdir(dir), 0);
}

/* ---- the state at a position (rdms_feed_state) -------------------------------- */

#define ST_IDS 64

/* Sessions by (back-end, SessionId): what a broker keeps of a host. */
typedef struct st_map {
	bool     present[2][ST_IDS];
	uint32_t state[2][ST_IDS];
	int32_t  pid[2][ST_IDS];
	char     client[2][ST_IDS][32];
} st_map;

static const char *const st_backends[2] = { "fixture", "xrdp" };

static int st_backend(const char *name)
{
	return name != NULL && strcmp(name, "xrdp") == 0;
}

static void st_put(st_map *m, const rdms_event_session *es)
{
	int b = st_backend(es->backend);

	m->present[b][es->id] = true;
	m->state[b][es->id] = es->connect_state;
	m->pid[b][es->id] = es->server_pid;
	snprintf(m->client[b][es->id], 32, "%s", es->client);
}

/* The feed's state as a map; its position into *AT. */
static void st_take(rdms_feed *f, st_map *m, rdms_feed_pos *at)
{
	rdms_event_session *es;
	size_t n;

	memset(m, 0, sizeof *m);
	CHECK(rdms_feed_state(f, &es, &n, at));
	for (size_t i = 0; i < n; i++)
		st_put(m, &es[i]);
	rdms_event_sessions_free(es, n);
}

/* An rdms_event_fn: applies the event to the map (CTX), as a broker would. */
static int st_apply(void *ctx, const rdms_event *ev)
{
	st_map *m = ctx;

	if (ev->kind == RDMS_EVENT_DELETION)
		m->present[st_backend(ev->target.backend)][ev->target.id] = false;
	else
		st_put(m, &ev->target);
	return 0;
}

static bool st_equal(const st_map *a, const st_map *b)
{
	for (int k = 0; k < 2; k++)
		for (int i = 0; i < ST_IDS; i++) {
			if (a->present[k][i] != b->present[k][i])
				return false;
			if (a->present[k][i] && (a->state[k][i] != b->state[k][i] ||
			                         a->pid[k][i] != b->pid[k][i] ||
			                         strcmp(a->client[k][i], b->client[k][i]) != 0))
				return false;
		}
	return true;
}

/* A random listing of back-end B (ids 1..ST_IDS-1), remembered in EXPECT. */
static size_t st_listing(rdms_session *out, unsigned *seed, st_map *expect, int b)
{
	size_t n = 0;

	for (uint32_t id = 1; id < ST_IDS; id++) {
		if (rand_r(seed) % 3 == 0) {
			expect->present[b][id] = false;
			continue;
		}
		/* sometimes another session under the same id (a reused pid) */
		out[n] = mk(id, rand_r(seed) % 2 ? 0 : 4, "u", rand_r(seed) % 2 ? "PC" : "",
		            1700000000, (pid_t)(100 + rand_r(seed) % 2));
		expect->present[b][id] = true;
		expect->state[b][id] = out[n].connect_state;
		expect->pid[b][id] = out[n].server_pid;
		snprintf(expect->client[b][id], 32, "%.31s", out[n].client);
		n++;
	}
	return n;
}

struct st_churn {
	rdms_feed *f;
	unsigned   seed;
	int        rounds;
	st_map     last;      /* what was observed last */
};

static void *st_churn_thread(void *arg)
{
	struct st_churn *c = arg;
	rdms_session l[ST_IDS];

	for (int r = 0; r < c->rounds; r++) {
		int b = rand_r(&c->seed) % 2;
		size_t n = st_listing(l, &c->seed, &c->last, b);

		CHECK(rdms_feed_observe(c->f, st_backends[b], l, n, T0 + r) >= 0);
	}
	return NULL;
}

/*
 * The state read at a position and the events after it give every later
 * state: a broker that applies the snapshot and then the events it pulls
 * ends where the host is, whatever ran in between -- checked while another
 * thread keeps observing.
 */
static void test_state(void)
{
	rdms_feed *f = rdms_feed_new(5, NULL);
	struct st_churn c = { .f = f, .seed = 42, .rounds = 3000 };
	st_map snaps[40], now;
	rdms_feed_pos at[40], head;
	rdms_event_session *es;
	pthread_t th;
	size_t n;
	int taken = 0;

	/* empty: nothing, at (5, 0) */
	CHECK(rdms_feed_state(f, &es, &n, &head));
	CHECK_EQ(n, 0);
	CHECK(es == NULL);
	CHECK_EQ(head.epoch, 5);
	CHECK_EQ(head.seq, 0);
	memset(&c.last, 0, sizeof c.last);
	pthread_create(&th, NULL, st_churn_thread, &c);
	while (taken < 40) {
		struct timespec pause = { 0, 200000 };

		st_take(f, &snaps[taken], &at[taken]);
		taken++;
		nanosleep(&pause, NULL);
	}
	pthread_join(th, NULL);
	st_take(f, &now, &head);
	CHECK(st_equal(&now, &c.last));      /* the state is the last listings */
	CHECK_EQ(head.seq, rdms_feed_head(f).seq);
	for (int i = 0; i < taken; i++) {
		rdms_feed_read_rc rc;
		rdms_feed_pos next, from = at[i];

		do {
			rc = rdms_feed_read(f, from, 100000, st_apply, &snaps[i], &next);
			from = next;
		} while (rc == RDMS_FEED_OK && rdms_feed_pos_cmp(next, head) < 0);
		CHECK_EQ(rc, RDMS_FEED_OK);
		if (!st_equal(&snaps[i], &now))
			fprintf(stderr, "snapshot %d at seq %llu does not replay to the head\n", i,
			        (unsigned long long)at[i].seq);
		CHECK(st_equal(&snaps[i], &now));
	}
	/* several snapshots fell between observations (else this proved little) */
	CHECK(at[0].seq < at[taken - 1].seq);
	rdms_feed_free(f);
}

/* ---- the debounce, with a back-end whose listing takes as long as the test says ---- */

static struct slow {
	pthread_mutex_t lock;
	pthread_cond_t  cond;
	int             entered;     /* enumerate calls begun */
	double          entered_at;  /* the last one's start, monotonic ms */
	bool            hold;        /* enumerate waits while set */
} slow = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, false };

static uint32_t slow_enumerate(const rdms_config *cfg, rdms_session_list *out, rdms_error *err)
{
	(void)cfg;
	(void)out;
	(void)err;
	pthread_mutex_lock(&slow.lock);
	slow.entered++;
	slow.entered_at = mono_ms_();
	pthread_cond_broadcast(&slow.cond);
	while (slow.hold)
		pthread_cond_wait(&slow.cond, &slow.lock);
	pthread_mutex_unlock(&slow.lock);
	return WBEM_S_NO_ERROR;
}

/* Waits (up to 5 s) until enumerate has begun N times; when it began, monotonic ms. */
static double slow_began(int n)
{
	double at = 0;

	for (int i = 0; i < 2500; i++) {
		pthread_mutex_lock(&slow.lock);
		if (slow.entered >= n)
			at = slow.entered_at;
		pthread_mutex_unlock(&slow.lock);
		if (at != 0)
			return at;
		usleep(2000);
	}
	return 0;
}

static void slow_hold(bool hold)
{
	pthread_mutex_lock(&slow.lock);
	slow.hold = hold;
	pthread_cond_broadcast(&slow.cond);
	pthread_mutex_unlock(&slow.lock);
}

/* Checks that the Nth scan began between LO and HI ms after HINTED. */
static void scan_began_within(int n, double hinted, double lo, double hi, const char *what)
{
	double began = slow_began(n);

	CHECK(began != 0);
	if (began - hinted < lo || began - hinted > hi)
		fprintf(stderr, "test_watch_debounce: %s: %.0f ms\n", what, began - hinted);
	CHECK(began - hinted >= lo && began - hinted <= hi);
}

/*
 * A hint's scan begins debounce_ms after the hint, even when the hint came
 * during a scan (it used to wait for that scan's end plus the whole
 * debounce); and a hint on an idle watch still waits the debounce.
 */
static void test_watch_debounce(void)
{
	static rdms_config cfg;
	static const rdms_backend slow_backend = { .name = "slow", .enumerate = slow_enumerate };
	const rdms_backend *const backends[] = { &slow_backend };
	rdms_watch_params wp = { .cfg = &cfg, .backends = backends, .nb = 1,
	                         .debounce_ms = 300, .resync_s = 3600 };
	rdms_watch *w;
	rdms_error err;
	double hinted;

	rdms_config_defaults(&cfg);
	wp.feed = rdms_feed_new(1, NULL);
	slow_hold(true);
	w = rdms_watch_start(&wp, &err);
	CHECK(w != NULL);
	if (w == NULL)
		return;
	/* the first scan, held for 250 ms; a hint comes as it begins */
	CHECK(slow_began(1) != 0);
	hinted = mono_ms_();
	rdms_watch_hint(w);
	usleep(250000);
	slow_hold(false);
	scan_began_within(2, hinted, 250, 420, "hint during a scan to the next scan");  /* was 550 */

	/* idle: two hints 50 ms apart make one scan, 300 ms after the first */
	usleep(500000);
	hinted = mono_ms_();
	rdms_watch_hint(w);
	usleep(50000);
	rdms_watch_hint(w);
	scan_began_within(3, hinted, 280, 420, "idle hint to scan");
	usleep(400000);
	pthread_mutex_lock(&slow.lock);
	CHECK_EQ(slow.entered, 3);
	pthread_mutex_unlock(&slow.lock);
	rdms_watch_stop(w);
	rdms_feed_free(wp.feed);
}

/* ---- a listing handed over one session at a time (rdms_feed_observer) --------------- */

/* Hands the N sessions of S to F by parts; rdms_feed_observe_end's result. */
static long observe_parts(rdms_feed *f, const char *backend, const rdms_session *s, size_t n,
                          int64_t now_us)
{
	rdms_feed_observer o;
	rdms_error err = { 0 };

	rdms_feed_observe_begin(&o, f, backend, now_us);
	for (size_t i = 0; i < n; i++)
		if (rdms_feed_observe_one(&o, &s[i], &err) != WBEM_S_NO_ERROR)
			break;
	return rdms_feed_observe_end(&o);
}

/* Field by field, the two feeds' listings (rdms_feed_state) differ nowhere. */
static bool same_state(rdms_feed *a, rdms_feed *b)
{
	rdms_event_session *x, *y;
	size_t nx, ny;
	rdms_feed_pos px, py;
	bool same;

	CHECK(rdms_feed_state(a, &x, &nx, &px));
	CHECK(rdms_feed_state(b, &y, &ny, &py));
	same = nx == ny && rdms_feed_pos_cmp(px, py) == 0;
	for (size_t i = 0; same && i < nx; i++)
		same = x[i].id == y[i].id && x[i].connect_state == y[i].connect_state &&
		       x[i].uid == y[i].uid && x[i].display == y[i].display &&
		       x[i].logon_time == y[i].logon_time && x[i].server_pid == y[i].server_pid &&
		       strcmp(x[i].backend, y[i].backend) == 0 && strcmp(x[i].user, y[i].user) == 0 &&
		       strcmp(x[i].client, y[i].client) == 0 &&
		       strcmp(x[i].client_addr, y[i].client_addr) == 0;
	rdms_event_sessions_free(x, nx);
	rdms_event_sessions_free(y, ny);
	return same;
}

/* The events after *AT in A and in B are the same; *AT moves past them. */
static bool same_events(rdms_feed *a, rdms_feed *b, rdms_feed_pos *at)
{
	rdms_feed_read_rc rc;
	rdms_feed_pos na, nb;
	seen x = read_after(a, *at, &rc, &na), y = read_after(b, *at, &rc, &nb);
	bool same = x.n == y.n && rdms_feed_pos_cmp(na, nb) == 0;

	for (size_t i = 0; same && i < x.n && i < 64; i++)
		same = x.kind[i] == y.kind[i] && x.id[i] == y.id[i] && x.state[i] == y.state[i] &&
		       x.prev_state[i] == y.prev_state[i] && strcmp(x.client[i], y.client[i]) == 0 &&
		       strcmp(x.prev_client[i], y.prev_client[i]) == 0 &&
		       strcmp(x.prev_addr[i], y.prev_addr[i]) == 0;
	*at = na;
	return same;
}

static void test_observe_parts(void)
{
	enum { N = 40, ROUNDS = 300 };
	rdms_feed *f = rdms_feed_new(2, NULL), *whole = rdms_feed_new(2, NULL);
	rdms_session a[4], cur[N], list[N + 1];
	bool live[N] = { false };
	rdms_feed_observer o;
	rdms_error err = { 0 };
	rdms_feed_pos at = { 2, 0 };
	unsigned seed = 7;
	int differ = 0;

	/* a duplicate id counts once, the first */
	a[0] = mk(1, 0, "ann", "pc1", 5, 10);
	a[1] = mk(2, 0, "ben", "pc2", 5, 20);
	a[2] = mk(2, 4, "ben", "", 5, 20);
	a[3] = mk(3, 0, "cid", "pc3", 5, 30);
	CHECK_EQ(observe_parts(f, "fixture", a, 4, T0), 3);
	CHECK_EQ(observe_parts(f, "fixture", a, 2, T0 + 1), 1);       /* 3 ended */
	CHECK_EQ(rdms_feed_head(f).seq, 4);

	/* out of order: the walk stops, nothing changes */
	rdms_feed_observe_begin(&o, f, "fixture", T0 + 2);
	CHECK_EQ(rdms_feed_observe_one(&o, &a[1], &err), WBEM_S_NO_ERROR);
	CHECK_EQ(rdms_feed_observe_one(&o, &a[0], &err), WBEM_S_FALSE);
	CHECK_EQ(rdms_feed_observe_end(&o), RDMS_FEED_UNSORTED);
	CHECK_EQ(rdms_feed_head(f).seq, 4);

	/* a walk that failed half way: cancelled, nothing changes (a new session, 1 gone) */
	rdms_feed_observe_begin(&o, f, "fixture", T0 + 3);
	CHECK_EQ(rdms_feed_observe_one(&o, &a[3], &err), WBEM_S_NO_ERROR);
	rdms_feed_observe_cancel(&o);
	CHECK_EQ(rdms_feed_head(f).seq, 4);
	/* (its turn is over: the next observation goes ahead) and sees what it had */
	CHECK_EQ(rdms_feed_observe(f, "fixture", a, 2, T0 + 4), 0);
	rdms_feed_free(f);

	/*
	 * Churn: a feed given each listing by parts in SessionId order makes
	 * the same events and listings as one given it whole and shuffled --
	 * with quiet changes (display, address) and reused keys among them.
	 */
	f = rdms_feed_new(2, NULL);
	for (int r = 0; r < ROUNDS; r++) {
		size_t n = 0;

		for (uint32_t i = 0; i < N; i++) {
			unsigned x = churn(cur, live, i, r, &seed, true);

			if (live[i])
				list[n++] = cur[i];
			if (live[i] && x == 6)
				list[n++] = mk(i, 4, "dup", "", 0, 0);   /* listed twice: the first counts */
		}
		differ += observe_parts(f, "fixture", list, n, T0 + r) !=
		          rdms_feed_observe(whole, "fixture", list, n, T0 + r);
		for (size_t k = n; k > 1; k--) {       /* (the next round's order is its own) */
			size_t j = (size_t)rand_r(&seed) % k;
			rdms_session t = list[k - 1];

			list[k - 1] = list[j];
			list[j] = t;
		}
		differ += !same_events(f, whole, &at) + !same_state(f, whole);
	}
	CHECK_EQ(differ, 0);
	CHECK(rdms_feed_head(f).seq > ROUNDS);
	rdms_feed_free(f);
	rdms_feed_free(whole);
}

static long minor_faults(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_minflt;
}

/*
 * A rescan of 10,000 sessions that finds nothing new: the watch walks the
 * fixture into the differ, so it touches no new memory -- it built a list
 * of 6 MB (and the differ four arrays of 10,000) at every scan before, some
 * 1,800 page faults a scan.  A change is still seen, as one event.
 */
static void test_rescan_cost(void)
{
	enum { SESSIONS = 10000, SCANS = 40 };
	static rdms_config cfg;
	static char text[SESSIONS * 32];
	char dir[] = "/tmp/rdms-test-rescan.XXXXXX";
	rdms_watch_params wp;
	rdms_feed_read_rc rc;
	rdms_feed_pos next;
	rdms_watch *w;
	rdms_error err;
	size_t len = 0;
	long faults;
	seen s;

	for (int i = 1; i <= SESSIONS; i++)
		len += (size_t)snprintf(text + len, sizeof text - len, "%d root 0 client-%d\n", i, i);
	if ((w = fixture_watch(&cfg, dir, text, 1, &wp)) == NULL)
		return;
	rdms_watch_sync(w);
	rdms_watch_sync(w);    /* (the first scan's memory is the journal's; settled) */
	next = rdms_feed_head(wp.feed);
	CHECK_EQ(next.seq, SESSIONS);
	faults = minor_faults();
	for (int i = 0; i < SCANS; i++)
		rdms_watch_sync(w);
	faults = minor_faults() - faults;
	printf("feed: a rescan of %d unchanged sessions: %.1f page faults\n", SESSIONS,
	       (double)faults / SCANS);
	CHECK(faults < 20 * SCANS);
	CHECK_EQ(rdms_feed_head(wp.feed).seq, SESSIONS);

	/* session 5000 disconnects (the fixture's own Disconnect): one modification */
	{
		rdms_session one;

		CHECK_EQ(rdms_backend_fixture.find(&cfg, 5000, &one, &err), WBEM_S_NO_ERROR);
		CHECK_EQ(rdms_backend_fixture.disconnect(&cfg, &one, &err), WBEM_S_NO_ERROR);
	}
	rdms_watch_sync(w);
	s = read_after(wp.feed, next, &rc, &next);
	CHECK(rc == RDMS_FEED_OK && s.n == 1);
	CHECK(s.kind[0] == RDMS_EVENT_MODIFICATION && s.id[0] == 5000 && s.state[0] == 4 &&
	      s.prev_state[0] == 0);
	CHECK_STR(s.prev_client[0], "client-5000");
	rdms_watch_stop(w);
	rdms_feed_free(wp.feed);
	unlink(cfg.fixture_file);
	CHECK_EQ(rmdir(dir), 0);
}

int main(void)
{
	test_positions();
	test_differ();
	test_bookmarks();
	test_wait();
	test_follow();
	test_replay();
	test_state();
	test_store();
	test_watch();
	test_watch_debounce();
	test_observe_parts();
	test_rescan_cost();
	return check_summary("feed");
}
