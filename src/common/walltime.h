/*
 * walltime.h -- the wall clock: for times that are shown, stored or
 * compared with another machine's (event times, enumeration contexts'
 * expiry, a fleet's leases), which a change of the wall clock is meant to
 * move.  Deadlines and intervals use monotime.h instead.
 */
#ifndef RDMS_COMMON_WALLTIME_H
#define RDMS_COMMON_WALLTIME_H

#include <stdint.h>

/* CLOCK_REALTIME: milliseconds since the Unix epoch. */
int64_t wall_ms(void);
/* CLOCK_REALTIME: microseconds since the Unix epoch. */
int64_t wall_us(void);

#endif
