/*
 * bench_time.h -- what the C benchmarks (bench_enumerate, bench_x2go,
 * bench_wsman) share: a monotonic clock and sorting their timings for
 * medians and percentiles.
 */
#ifndef RDMS_BENCH_TIME_H
#define RDMS_BENCH_TIME_H

#include <stdlib.h>
#include <time.h>

/* Milliseconds on the monotonic clock. */
static inline double bench_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Microseconds on the monotonic clock. */
static inline double bench_now_us(void)
{
	return bench_now_ms() * 1e3;
}

static inline int bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Sorts the N timings of V in increasing order. */
static inline void bench_sort(double *v, int n)
{
	qsort(v, (size_t)n, sizeof *v, bench_cmp_double);
}

#endif
