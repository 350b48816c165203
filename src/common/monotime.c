/*
 * monotime.c -- this machine's monotonic clock (monotime.h).
 */
#include "monotime.h"

#include "clock_read.h"

int64_t mono_ms(void)
{
	return clock_read_ms(CLOCK_MONOTONIC);
}

time_t mono_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec;
}

struct timespec mono_deadline(long ms)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	t.tv_sec += ms / 1000;
	t.tv_nsec += (ms % 1000) * 1000000L;
	if (t.tv_nsec >= 1000000000L) {
		t.tv_sec++;
		t.tv_nsec -= 1000000000L;
	}
	return t;
}
