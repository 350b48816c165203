/*
 * workers.c -- a fixed set of threads that run jobs in the order given
 * (workers.h).
 *
 * One queue under one lock: jobs are few next to the I/O they follow (a
 * method call, a PAM check), so a lock-free queue would buy nothing.
 * Finished job records are kept on a free list for reuse.
 *
 * Idle threads wait on a stack, each on its own condition variable, and a
 * job wakes the one that went idle last: its stack and the data it touched
 * are still in the cache.  One shared condition variable woke them in
 * turn, so that with one client every call ran on the coldest thread.
 */
#include "workers.h"

#include <pthread.h>
#include <stdlib.h>

#include "../common/thread_name.h"

struct job {
	struct job *next;
	worker_fn   fn;
	void       *arg;
};

/* One thread's place on the idle stack. */
struct idler {
	struct idler   *next;
	struct workers *owner;
	pthread_cond_t  wake;
	bool            woken;          /* taken off the stack: a job, or stop */
};

struct workers {
	pthread_mutex_t lock;
	struct idler   *idle;           /* the last one to go idle first */
	struct job     *head, *tail;
	struct job     *spare;          /* finished records, for reuse */
	bool            stopping;
	int             n;              /* threads started */
	int             made;           /* idlers whose condition variable exists */
	pthread_t      *threads;
	struct idler   *idlers;         /* one per thread */
};

/* Takes the idle thread on top of the stack off it and wakes it; under the lock. */
static void wake_one(workers *w)
{
	struct idler *i = w->idle;

	if (i == NULL)
		return;
	w->idle = i->next;
	i->woken = true;
	pthread_cond_signal(&i->wake);
}

static void *worker(void *arg)
{
	struct idler *me = arg;
	workers *w = me->owner;

	rdms_thread_name("worker");
	pthread_mutex_lock(&w->lock);
	for (;;) {
		struct job *j = w->head;

		if (j == NULL) {
			if (w->stopping)
				break;
			me->woken = false;
			me->next = w->idle;
			w->idle = me;
			while (!me->woken)
				pthread_cond_wait(&me->wake, &w->lock);
			continue;
		}
		w->head = j->next;
		if (w->head == NULL)
			w->tail = NULL;
		pthread_mutex_unlock(&w->lock);
		j->fn(j->arg);
		pthread_mutex_lock(&w->lock);
		j->next = w->spare;
		w->spare = j;
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

workers *workers_new(int n)
{
	workers *w = calloc(1, sizeof *w);

	if (w == NULL)
		return NULL;
	w->threads = calloc((size_t)n, sizeof *w->threads);
	w->idlers = calloc((size_t)n, sizeof *w->idlers);
	if (w->threads == NULL || w->idlers == NULL || pthread_mutex_init(&w->lock, NULL) != 0) {
		free(w->threads);
		free(w->idlers);
		free(w);
		return NULL;
	}
	for (; w->made < n; w->made++) {
		w->idlers[w->made].owner = w;
		if (pthread_cond_init(&w->idlers[w->made].wake, NULL) != 0)
			break;
	}
	for (; w->n < w->made; w->n++)
		if (pthread_create(&w->threads[w->n], NULL, worker, &w->idlers[w->n]) != 0)
			break;
	if (w->n == 0) {
		workers_free(w);
		return NULL;
	}
	return w;
}

bool workers_submit(workers *w, worker_fn fn, void *arg)
{
	struct job *j;

	pthread_mutex_lock(&w->lock);
	if (w->stopping) {
		pthread_mutex_unlock(&w->lock);
		return false;
	}
	j = w->spare;
	if (j != NULL)
		w->spare = j->next;
	else if ((j = malloc(sizeof *j)) == NULL) {
		pthread_mutex_unlock(&w->lock);
		return false;
	}
	*j = (struct job){ .fn = fn, .arg = arg };
	if (w->tail != NULL)
		w->tail->next = j;
	else
		w->head = j;
	w->tail = j;
	wake_one(w);
	pthread_mutex_unlock(&w->lock);
	return true;
}

void workers_stop(workers *w)
{
	int n;

	pthread_mutex_lock(&w->lock);
	w->stopping = true;
	while (w->idle != NULL)
		wake_one(w);
	n = w->n;
	w->n = 0;
	pthread_mutex_unlock(&w->lock);
	for (int i = 0; i < n; i++)
		pthread_join(w->threads[i], NULL);
}

void workers_free(workers *w)
{
	if (w == NULL)
		return;
	workers_stop(w);
	while (w->spare != NULL) {
		struct job *j = w->spare;

		w->spare = j->next;
		free(j);
	}
	for (int i = 0; i < w->made; i++)
		pthread_cond_destroy(&w->idlers[i].wake);
	pthread_mutex_destroy(&w->lock);
	free(w->idlers);
	free(w->threads);
	free(w);
}
