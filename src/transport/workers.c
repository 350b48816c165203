/*
 * workers.c -- a fixed set of threads that run jobs in the order given
 * (workers.h).
 *
 * One queue under one lock: jobs are few next to the I/O they follow (a
 * method call, a PAM check), so a lock-free queue would buy nothing.
 * Finished job records are kept on a free list for reuse.
 */
#include "workers.h"

#include <pthread.h>
#include <stdlib.h>

struct job {
	struct job *next;
	worker_fn   fn;
	void       *arg;
};

struct workers {
	pthread_mutex_t lock;
	pthread_cond_t  ready;          /* a job was queued, or stop */
	struct job     *head, *tail;
	struct job     *spare;          /* finished records, for reuse */
	bool            stopping;
	int             n;              /* threads started */
	pthread_t      *threads;
};

static void *worker(void *arg)
{
	workers *w = arg;

	pthread_mutex_lock(&w->lock);
	for (;;) {
		struct job *j = w->head;

		if (j == NULL) {
			if (w->stopping)
				break;
			pthread_cond_wait(&w->ready, &w->lock);
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
	if (w->threads == NULL || pthread_mutex_init(&w->lock, NULL) != 0) {
		free(w->threads);
		free(w);
		return NULL;
	}
	if (pthread_cond_init(&w->ready, NULL) != 0) {
		pthread_mutex_destroy(&w->lock);
		free(w->threads);
		free(w);
		return NULL;
	}
	for (; w->n < n; w->n++)
		if (pthread_create(&w->threads[w->n], NULL, worker, w) != 0)
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
	pthread_cond_signal(&w->ready);
	pthread_mutex_unlock(&w->lock);
	return true;
}

void workers_stop(workers *w)
{
	int n;

	pthread_mutex_lock(&w->lock);
	w->stopping = true;
	pthread_cond_broadcast(&w->ready);
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
	pthread_cond_destroy(&w->ready);
	pthread_mutex_destroy(&w->lock);
	free(w->threads);
	free(w);
}
