/*
 * workers.h -- a fixed set of threads that run jobs in the order given.
 *
 * The HTTP servers' I/O threads must not wait: a handler that waits for
 * the privileged process (a method, its audit row's fsync, a PAM check)
 * runs here while its connection is suspended, so the I/O threads go on
 * serving every other connection.  The count is fixed at start, whatever
 * the number of connections.
 */
#ifndef RDMS_TRANSPORT_WORKERS_H
#define RDMS_TRANSPORT_WORKERS_H

#include <stdbool.h>

typedef struct workers workers;

/* A job: FN(ARG) on one of the threads.  The caller owns ARG. */
typedef void (*worker_fn)(void *arg);

/* N threads, started; NULL when they cannot be had. */
workers *workers_new(int n);

/*
 * Queues FN(ARG).  False (nothing queued) once workers_stop() has begun,
 * or when out of memory: the caller then runs the job itself.
 */
bool workers_submit(workers *w, worker_fn fn, void *arg);

/* Runs what is queued, then ends the threads; later submissions fail. */
void workers_stop(workers *w);

/* Stops W and frees it. */
void workers_free(workers *w);

#endif
