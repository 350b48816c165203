/*
 * test_workers.c -- the transport's fixed set of threads (src/transport/
 * workers.c): every job runs once, in the order given when one thread is
 * free, jobs queued while all are busy still run, stop runs what is queued,
 * and a job that comes after the last one finished runs on the thread that
 * ran it (the idle stack), not on each thread in turn.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "../../src/transport/workers.h"
#include "check.h"

#define THREADS 4
#define MANY    2000
#define ONE_BY_ONE 40

static void sleep_ms(long ms)
{
	struct timespec t = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&t, NULL);
}

/* ---- every job once, from several submitters ------------------------------------- */

static atomic_int ran[MANY];

static void count_job(void *arg)
{
	atomic_fetch_add(&ran[(int)(intptr_t)arg], 1);
}

struct submitter {
	workers *w;
	int      from, to;
	int      refused;
};

static void *submit_range(void *arg)
{
	struct submitter *s = arg;

	for (int i = s->from; i < s->to; i++)
		if (!workers_submit(s->w, count_job, (void *)(intptr_t)i))
			s->refused++;
	return NULL;
}

static void test_every_job_once(void)
{
	workers *w = workers_new(THREADS);
	pthread_t t[4];
	struct submitter s[4];
	int once = 0;

	CHECK(w != NULL);
	if (w == NULL)
		return;
	for (int i = 0; i < 4; i++) {
		s[i] = (struct submitter){ w, i * MANY / 4, (i + 1) * MANY / 4, 0 };
		pthread_create(&t[i], NULL, submit_range, &s[i]);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		CHECK_EQ(s[i].refused, 0);
	}
	workers_stop(w);                   /* runs what is queued, then ends */
	for (int i = 0; i < MANY; i++)
		once += atomic_load(&ran[i]) == 1;
	CHECK_EQ(once, MANY);
	CHECK(!workers_submit(w, count_job, (void *)0));     /* refused after stop */
	CHECK_EQ(atomic_load(&ran[0]), 1);
	workers_free(w);
}

/* ---- busy threads: what is queued meanwhile waits, then runs --------------------- */

static pthread_mutex_t gate_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cond = PTHREAD_COND_INITIALIZER;
static bool gate_open;
static atomic_int at_gate, after_gate;

static void gate_job(void *arg)
{
	(void)arg;
	atomic_fetch_add(&at_gate, 1);
	pthread_mutex_lock(&gate_lock);
	while (!gate_open)
		pthread_cond_wait(&gate_cond, &gate_lock);
	pthread_mutex_unlock(&gate_lock);
}

static void after_job(void *arg)
{
	(void)arg;
	atomic_fetch_add(&after_gate, 1);
}

static void test_busy_then_queued(void)
{
	workers *w = workers_new(THREADS);

	CHECK(w != NULL);
	if (w == NULL)
		return;
	for (int i = 0; i < THREADS; i++)
		CHECK(workers_submit(w, gate_job, NULL));
	for (int i = 0; i < 5000 && atomic_load(&at_gate) < THREADS; i++)
		sleep_ms(1);
	CHECK_EQ(atomic_load(&at_gate), THREADS);        /* every thread is held */
	for (int i = 0; i < 10; i++)
		CHECK(workers_submit(w, after_job, NULL));
	sleep_ms(20);
	CHECK_EQ(atomic_load(&after_gate), 0);           /* nobody free to run them */
	pthread_mutex_lock(&gate_lock);
	gate_open = true;
	pthread_cond_broadcast(&gate_cond);
	pthread_mutex_unlock(&gate_lock);
	for (int i = 0; i < 5000 && atomic_load(&after_gate) < 10; i++)
		sleep_ms(1);
	CHECK_EQ(atomic_load(&after_gate), 10);
	workers_free(w);
}

/* ---- one job at a time: the last thread to go idle takes the next ---------------- */

static pthread_t runner[ONE_BY_ONE];
static atomic_int done_count;

static void note_thread(void *arg)
{
	runner[(int)(intptr_t)arg] = pthread_self();
	atomic_fetch_add(&done_count, 1);
}

static void test_last_idle_first(void)
{
	workers *w = workers_new(THREADS);
	int best = 0;

	CHECK(w != NULL);
	if (w == NULL)
		return;
	sleep_ms(50);                      /* every thread idle */
	for (int i = 0; i < ONE_BY_ONE; i++) {
		CHECK(workers_submit(w, note_thread, (void *)(intptr_t)i));
		for (int k = 0; k < 5000 && atomic_load(&done_count) <= i; k++)
			sleep_ms(1);
		sleep_ms(10);                  /* its thread is idle again */
	}
	CHECK_EQ(atomic_load(&done_count), ONE_BY_ONE);
	/*
	 * Waking in turn would spread the jobs evenly (a quarter each); from the
	 * stack, the thread that ran the first runs nearly all of them.
	 */
	for (int i = 0; i < ONE_BY_ONE; i++) {
		int same = 0;

		for (int k = 0; k < ONE_BY_ONE; k++)
			same += pthread_equal(runner[i], runner[k]) != 0;
		if (same > best)
			best = same;
	}
	if (best < ONE_BY_ONE * 9 / 10)
		fprintf(stderr, "the busiest thread ran %d of %d jobs\n", best, ONE_BY_ONE);
	CHECK(best >= ONE_BY_ONE * 9 / 10);
	workers_free(w);
}

int main(void)
{
	test_every_job_once();
	test_busy_then_queued();
	test_last_idle_first();
	return check_summary("workers");
}
