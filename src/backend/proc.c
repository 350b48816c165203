/*
 * proc.c -- reading the process table, shared by the back-ends.
 *
 * Sessions are found and checked through /proc, not through the servers'
 * own tools (backends.md, x2go.md §5): a file is read with one open/read
 * loop, status gives the state and real uid (a zombie counts as gone), and
 * cmdline is walked argument by argument -- it is NUL-separated, and an
 * argument cut short by a short read is never trusted.
 */
#include "proc.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../common/file_read.h"

ssize_t rdms_proc_read(const char *root, pid_t pid, const char *name,
                       char *buf, size_t size)
{
	char path[PATH_MAX];
	size_t len;
	int fd;

	if (size == 0)
		return -1;
	if ((size_t)snprintf(path, sizeof path, "%s/%d/%s", root, (int)pid, name) >= sizeof path)
		return -1;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	len = fd_read_upto(fd, buf, size - 1, -1);
	close(fd);
	buf[len] = '\0';
	return (ssize_t)len;
}

uint32_t rdms_proc_parse_status(const char *text, char *state, uid_t *uid,
                                rdms_error *err)
{
	const char *s = strstr(text, "\nState:");
	const char *u = strstr(text, "\nUid:");
	unsigned long v;
	char *end;

	if (strncmp(text, "State:", 6) == 0)
		s = text - 1;
	if (s == NULL)
		return rdms_fail(err, WBEM_E_FAILED, "status: no State line");
	s += 7;
	while (*s == ' ' || *s == '\t')
		s++;
	if (!isupper((unsigned char)*s))
		return rdms_fail(err, WBEM_E_FAILED, "status: bad State value");
	if (u == NULL)
		return rdms_fail(err, WBEM_E_FAILED, "status: no Uid line");
	errno = 0;
	v = strtoul(u + 5, &end, 10);
	if (end == u + 5 || errno != 0 || v > UINT32_MAX - 1 ||
	    (*end != '\t' && *end != ' ' && *end != '\n' && *end != '\0'))
		return rdms_fail(err, WBEM_E_FAILED, "status: bad Uid value");
	*state = *s;
	*uid = (uid_t)v;
	return WBEM_S_NO_ERROR;
}

bool rdms_proc_alive_uid(const char *root, pid_t pid, uid_t *uid)
{
	char buf[2048], state = 'X';
	uid_t u = 0;

	if (pid <= 0 || rdms_proc_read(root, pid, "status", buf, sizeof buf) <= 0 ||
	    rdms_proc_parse_status(buf, &state, &u, NULL) != WBEM_S_NO_ERROR)
		return false;
	if (uid != NULL)
		*uid = u;
	return state != 'Z' && state != 'X';
}

bool rdms_proc_alive(const char *root, pid_t pid)
{
	return rdms_proc_alive_uid(root, pid, NULL);
}

int rdms_cmdline_find(const char *cmdline, size_t len,
                      int (*fn)(const char *arg, const char *next))
{
	const char *p = cmdline, *end = cmdline + len, *next;
	int r;

	while (p < end) {
		const char *nul = memchr(p, '\0', (size_t)(end - p));

		if (nul == NULL)
			return -1;     /* unterminated last argument: ignore it */
		next = nul + 1 < end && memchr(nul + 1, '\0', (size_t)(end - nul - 1)) ? nul + 1 : NULL;
		if ((r = fn(p, next)) >= 0)
			return r;
		p = nul + 1;
	}
	return -1;
}

const char *rdms_cmdline_option(const char *cmdline, size_t len, const char *option)
{
	const char *p = cmdline, *end = cmdline + len;

	while (p < end) {
		const char *nul = memchr(p, '\0', (size_t)(end - p));

		if (nul == NULL)
			return NULL;
		if (strcmp(p, option) == 0)
			return nul + 1 < end && memchr(nul + 1, '\0', (size_t)(end - nul - 1)) ? nul + 1 : NULL;
		p = nul + 1;
	}
	return NULL;
}

int rdms_decimal_u16(const char *s)
{
	long v = 0;

	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (!isdigit((unsigned char)*s) || (v = v * 10 + (*s - '0')) > 65535)
			return -1;
	}
	return (int)v;
}

static int display_arg(const char *arg, const char *next)
{
	(void)next;
	return arg[0] == ':' ? rdms_decimal_u16(arg + 1) : -1;
}

int rdms_cmdline_display(const char *cmdline, size_t len)
{
	return rdms_cmdline_find(cmdline, len, display_arg);
}

void rdms_sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

bool rdms_proc_parse_starttime(const char *text, unsigned long long *ticks)
{
	/* the command name may hold spaces and ')': the fields follow the last ')' */
	const char *p = strrchr(text, ')');
	char *end;

	if (p == NULL || p[1] != ' ')
		return false;
	p += 2;
	/* after ") " come fields 3 (state) to 21; the start time is field 22 */
	for (int field = 3; field < 22; field++) {
		p = strchr(p, ' ');
		if (p == NULL)
			return false;
		p++;
	}
	if (!isdigit((unsigned char)*p))
		return false;
	errno = 0;
	*ticks = strtoull(p, &end, 10);
	return errno == 0 && (*end == ' ' || *end == '\n' || *end == '\0');
}

bool rdms_proc_parse_btime(const char *text, long long *btime)
{
	const char *p = strncmp(text, "btime ", 6) == 0 ? text : strstr(text, "\nbtime ");
	char *end;

	if (p == NULL)
		return false;
	p += *p == '\n' ? 7 : 6;
	errno = 0;
	*btime = strtoll(p, &end, 10);
	return errno == 0 && end != p && *btime > 0 && (*end == '\n' || *end == '\0');
}

long long rdms_proc_boot_time(const char *root)
{
	char path[PATH_MAX], buf[8192];
	long long btime = -1;
	FILE *f;
	size_t n;

	if ((size_t)snprintf(path, sizeof path, "%s/stat", root) >= sizeof path ||
	    (f = fopen(path, "re")) == NULL)
		return -1;
	n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	return rdms_proc_parse_btime(buf, &btime) ? btime : -1;
}

int64_t rdms_proc_start_time(const char *root, pid_t pid, long long btime)
{
	char buf[1024];
	unsigned long long ticks;
	long hz = sysconf(_SC_CLK_TCK);

	if (btime < 0 || hz <= 0 || rdms_proc_read(root, pid, "stat", buf, sizeof buf) <= 0 ||
	    !rdms_proc_parse_starttime(buf, &ticks))
		return 0;
	return (int64_t)btime + (int64_t)(ticks / (unsigned long long)hz);
}
