/*
 * array.h -- growing a heap array by doubling, the one way rdms does it.
 */
#ifndef RDMS_ARRAY_H
#define RDMS_ARRAY_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Makes room for element number N+1 of the array *ITEMS (a pointer to the
 * array's pointer) holding N of *CAP elements of SIZE bytes: when full, the
 * capacity doubles, starting at INITIAL.  Returns false, leaving the array
 * as it was, when memory runs out or the size would overflow.
 */
bool array_reserve(void *items, size_t n, size_t *cap, size_t size, size_t initial);

#endif
