/*
 * id_index.c -- see id_index.h.
 */
#include "id_index.h"

#include <stdlib.h>

static int key_cmp(const void *a, const void *b)
{
	const id_key *x = a, *y = b;

	if (x->id != y->id)
		return x->id < y->id ? -1 : 1;
	return (x->pos > y->pos) - (x->pos < y->pos);
}

void id_index_sort(id_key *k, size_t n)
{
	if (n > 1)
		qsort(k, n, sizeof *k, key_cmp);
}

bool id_index_find(const id_key *k, size_t n, uint32_t id, uint32_t *pos)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {   /* lower bound: the first key of ID */
		size_t mid = lo + (hi - lo) / 2;

		if (k[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == n || k[lo].id != id)
		return false;
	*pos = k[lo].pos;
	return true;
}
