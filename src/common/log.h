/*
 * log.h -- uniform diagnostics: log_warn(), log_info(), log_debug() and
 * fatal().  Messages go to stderr prefixed with the program name (set once
 * by log_init), one line each: a control character in a message (a line
 * break in something quoted) is written as a space, and a message is cut
 * at 4 KiB (" [...]").
 */
#ifndef RDMS_LOG_H
#define RDMS_LOG_H

#include <stdbool.h>

void log_init(const char *progname, bool debug);
const char *log_progname(void);
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
_Noreturn void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
