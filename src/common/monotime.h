/*
 * monotime.h -- this machine's monotonic clock in milliseconds: for
 * deadlines and intervals, which a change of the wall clock must not move.
 */
#ifndef RDMS_COMMON_MONOTIME_H
#define RDMS_COMMON_MONOTIME_H

#include <stdint.h>

/* CLOCK_MONOTONIC, in milliseconds. */
int64_t mono_ms(void);

#endif
