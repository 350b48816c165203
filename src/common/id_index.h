/*
 * id_index.h -- an index from a 32-bit id (a SessionId) to positions in an
 * array, sorted by (id, position): a look-up is a binary search and finds
 * the first position holding the id, as a scan in array order would.  The
 * fixture back-end and the session snapshot index their sessions with it.
 */
#ifndef RDMS_ID_INDEX_H
#define RDMS_ID_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct id_key {
	uint32_t id;
	uint32_t pos;
} id_key;

/* Sorts the N keys of K (filled with each element's id and position). */
void id_index_sort(id_key *k, size_t n);

/* The lowest position holding ID into *POS; false when none does. */
bool id_index_find(const id_key *k, size_t n, uint32_t id, uint32_t *pos);

#endif
