/*
 * malloc_tune.c -- glibc malloc settings for both rdmsd processes
 * (malloc_tune.h):
 *  - a fixed mmap threshold: blocks of 128 KiB and more (session lists,
 *    reply buffers) are mmap'ed and go back to the system when freed;
 *    the default threshold grows after each such free, until the next big
 *    reply stays in the heap for good;
 *  - two arenas instead of 8 per core: the HTTP server's I/O threads and
 *    workers each would have one, and each arena keeps the memory it once
 *    held.
 * Together they keep RSS near its idle size after an enumeration.
 */
#include "malloc_tune.h"

#include <malloc.h>

void rdms_tune_malloc(void)
{
	mallopt(M_MMAP_THRESHOLD, 128 * 1024);
	mallopt(M_TRIM_THRESHOLD, 256 * 1024);
	mallopt(M_ARENA_MAX, 2);
}
