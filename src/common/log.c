/*
 * log.c -- see log.h.
 */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "strutil.h"

static const char *prog = "rdms";
static bool debug_on;

void log_init(const char *progname, bool debug)
{
	prog = progname;
	debug_on = debug;
}

const char *log_progname(void)
{
	return prog;
}

/*
 * One line to stderr, written at once (no other thread's line inside it).
 * Messages quote what others sent -- a host's fault, a client's name, a
 * server's value -- so a control character in one becomes a space: a line
 * break there would start a forged line of its own (and a record of its own
 * once priv's syslog pump reads it).
 */
/* The attribute lets clang check callers' formats (and accept vsnprintf here). */
__attribute__((format(printf, 2, 0)))
static void vlog(const char *level, const char *fmt, va_list ap)
{
	char msg[4096];
	bool cut = !str_vformat(msg, sizeof msg, fmt, ap);

	str_blank_controls(msg);
	fprintf(stderr, "%s: %s%s%s\n", prog, level, msg, cut ? " [...]" : "");
}

void log_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog("", fmt, ap);
	va_end(ap);
}

void log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog("", fmt, ap);
	va_end(ap);
}

void log_debug(const char *fmt, ...)
{
	va_list ap;

	if (!debug_on)
		return;
	va_start(ap, fmt);
	vlog("debug: ", fmt, ap);
	va_end(ap);
}

void fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog("fatal: ", fmt, ap);
	va_end(ap);
	exit(2);
}
