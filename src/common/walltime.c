/*
 * walltime.c -- the wall clock (walltime.h).
 */
#include "walltime.h"

#include "clock_read.h"

int64_t wall_ms(void)
{
	return clock_read_ms(CLOCK_REALTIME);
}

int64_t wall_us(void)
{
	return clock_read_us(CLOCK_REALTIME);
}
