/*
 * monotime.h -- this machine's monotonic clock: for deadlines and
 * intervals, which a change of the wall clock must not move.
 */
#ifndef RDMS_COMMON_MONOTIME_H
#define RDMS_COMMON_MONOTIME_H

#include <stdint.h>
#include <time.h>

/* CLOCK_MONOTONIC, in milliseconds. */
int64_t mono_ms(void);
/* CLOCK_MONOTONIC, in whole seconds (for expiry times kept in seconds). */
time_t mono_s(void);
/*
 * CLOCK_MONOTONIC MS milliseconds from now (MS >= 0): the deadline for a
 * pthread_cond_timedwait on a condition variable set to that clock.
 */
struct timespec mono_deadline(long ms);

#endif
