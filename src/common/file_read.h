/*
 * file_read.h -- a small file (a PEM certificate or key) read whole, and
 * the one read loop under every reader of /proc and of log files.
 */
#ifndef RDMS_COMMON_FILE_READ_H
#define RDMS_COMMON_FILE_READ_H

#include <stddef.h>
#include <sys/types.h>

#include "../cim/wbem.h"

/*
 * PATH's contents as a new NUL-terminated string; NULL with ERR when it
 * cannot be read, is empty or is larger than MAX bytes.
 */
char *file_read_small(const char *path, size_t max, rdms_error *err);

/*
 * Up to N bytes of FD into BUF, from offset AT (pread), or from FD's
 * position when AT is negative (read): however many calls it takes, an
 * interrupted call retried; it stops at end of file or at an error.
 * Returns how many bytes it read.
 */
size_t fd_read_upto(int fd, char *buf, size_t n, off_t at);

#endif
