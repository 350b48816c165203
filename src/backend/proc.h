/*
 * proc.h -- reading the process table, shared by the back-ends.
 *
 * Every function takes the /proc root (cfg->proc_root) so that unit tests
 * run the same code on fixture trees.  A process that vanishes while it is
 * read is "not there", never an error.
 */
#ifndef RDMS_BACKEND_PROC_H
#define RDMS_BACKEND_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../cim/wbem.h"

/* Reads ROOT/PID/NAME into BUF (NUL-terminated); bytes read or -1. */
ssize_t rdms_proc_read(const char *root, pid_t pid, const char *name,
                       char *buf, size_t size);
/* From the text of /proc/PID/status: the State letter and the real Uid. */
uint32_t rdms_proc_parse_status(const char *text, char *state, uid_t *uid,
                                rdms_error *err);
/* True when PID under ROOT exists and is not a zombie; its real uid in *UID (may be NULL). */
bool rdms_proc_alive_uid(const char *root, pid_t pid, uid_t *uid);
/* True when PID under ROOT exists and is not a zombie (backends.md P11). */
bool rdms_proc_alive(const char *root, pid_t pid);

/*
 * A process's argv as read from /proc/PID/cmdline: LEN bytes of
 * NUL-terminated arguments.  An unterminated last argument (the read was
 * cut short) is ignored.
 */
/* Calls FN on each argument and the next one (NULL at the end); stops at the first result >= 0. */
int rdms_cmdline_find(const char *cmdline, size_t len,
                      int (*fn)(const char *arg, const char *next));
/* The argument following the first OPTION, or NULL. */
const char *rdms_cmdline_option(const char *cmdline, size_t len, const char *option);
/* The X display ":N" among the arguments, or -1. */
int rdms_cmdline_display(const char *cmdline, size_t len);
/* A decimal 0..65535 that is all of S, or -1. */
int rdms_decimal_u16(const char *s);

/*
 * From the text of /proc/PID/stat: the process's start time, field 22, in
 * clock ticks after boot.  False when the text is not a stat line.
 */
bool rdms_proc_parse_starttime(const char *text, unsigned long long *ticks);
/* From the text of /proc/stat: the boot time ("btime"), Unix seconds. */
bool rdms_proc_parse_btime(const char *text, long long *btime);
/* ROOT/stat's boot time, Unix seconds; -1 when it cannot be read. */
long long rdms_proc_boot_time(const char *root);
/*
 * When PID under ROOT started, Unix seconds, from the boot time BTIME
 * (rdms_proc_boot_time: read once for a whole listing); 0 when it cannot be
 * told.
 */
int64_t rdms_proc_start_time(const char *root, pid_t pid, long long btime);

/* For the actions, which poll the system until they see their effect. */
void rdms_sleep_ms(int ms);           /* restarted on EINTR */

#endif
