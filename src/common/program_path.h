/*
 * program_path.h -- where one of rdms's own programs is: beside the
 * running program (a build tree, or both installed in one directory),
 * else where `make install` put it.
 */
#ifndef RDMS_COMMON_PROGRAM_PATH_H
#define RDMS_COMMON_PROGRAM_PATH_H

#include <stdbool.h>
#include <stddef.h>

/*
 * NAME beside /proc/self/exe when it is executable there, else INSTALLED,
 * into OUT (SIZE bytes).  True when OUT names an executable file; false
 * with OUT still naming INSTALLED (for the message).
 */
bool program_path(char *out, size_t size, const char *name, const char *installed);

#endif
