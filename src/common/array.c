/*
 * array.c -- see array.h.
 */
#include "array.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

bool array_reserve(void *items, size_t n, size_t *cap, size_t size, size_t initial)
{
	void *old, *grown;
	size_t want;

	if (n < *cap)
		return true;
	want = *cap ? *cap * 2 : initial;
	if (want <= n || want > SIZE_MAX / size)
		return false;
	/* ITEMS points at a typed pointer; copy it rather than cast its type. */
	memcpy(&old, items, sizeof old);
	grown = realloc(old, want * size);
	if (grown == NULL)
		return false;
	/* The caller's pointer now owns GROWN. */
	memcpy(items, &grown, sizeof grown);
	*cap = want;
	return true;   // cppcheck-suppress memleak
}
