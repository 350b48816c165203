/*
 * file_read.h -- a small file (a PEM certificate or key) read whole.
 */
#ifndef RDMS_COMMON_FILE_READ_H
#define RDMS_COMMON_FILE_READ_H

#include <stddef.h>

#include "../cim/wbem.h"

/*
 * PATH's contents as a new NUL-terminated string; NULL with ERR when it
 * cannot be read, is empty or is larger than MAX bytes.
 */
char *file_read_small(const char *path, size_t max, rdms_error *err);

#endif
