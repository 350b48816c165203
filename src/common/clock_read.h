/*
 * clock_read.h -- one reading of a clock, in milliseconds or microseconds:
 * what monotime.c's and walltime.c's functions are made of.
 */
#ifndef RDMS_COMMON_CLOCK_READ_H
#define RDMS_COMMON_CLOCK_READ_H

#include <stdint.h>
#include <time.h>

static inline int64_t clock_read_ms(clockid_t clock)
{
	struct timespec t;

	clock_gettime(clock, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static inline int64_t clock_read_us(clockid_t clock)
{
	struct timespec t;

	clock_gettime(clock, &t);
	return (int64_t)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}

#endif
