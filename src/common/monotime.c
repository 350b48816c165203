/*
 * monotime.c -- this machine's monotonic clock in milliseconds (monotime.h).
 */
#include "monotime.h"

#include <time.h>

int64_t mono_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}
