/*
 * write_all.h -- all of a buffer to a descriptor: the one write loop.
 */
#ifndef RDMS_COMMON_WRITE_ALL_H
#define RDMS_COMMON_WRITE_ALL_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Writes the N bytes at BUF to FD, however many calls it takes (a short
 * write continued, an interrupted one retried); false with errno at the
 * first failure (EIO when a write made no progress).
 */
bool write_all(int fd, const void *buf, size_t n);

#endif
