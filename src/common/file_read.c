/*
 * file_read.c -- a small file read whole (file_read.h).
 */
#include "file_read.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

char *file_read_small(const char *path, size_t max, rdms_error *err)
{
	FILE *f = fopen(path, "r");
	char *buf;
	size_t n;

	if (f == NULL) {
		rdms_fail(err, WBEM_E_FAILED, "%s: %s", path, strerror(errno));
		return NULL;
	}
	buf = malloc(max + 1);
	if (buf == NULL) {
		fclose(f);
		rdms_fail(err, WBEM_E_OUT_OF_MEMORY, "out of memory");
		return NULL;
	}
	n = fread(buf, 1, max + 1, f);
	fclose(f);
	if (n == 0 || n > max) {
		free(buf);
		rdms_fail(err, WBEM_E_FAILED, "%s: empty or larger than %zu bytes", path, max);
		return NULL;
	}
	buf[n] = '\0';
	return buf;
}

size_t fd_read_upto(int fd, char *buf, size_t n, off_t at)
{
	size_t len = 0;
	ssize_t r;

	while (len < n) {
		r = at < 0 ? read(fd, buf + len, n - len) : pread(fd, buf + len, n - len, at + (off_t)len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		len += (size_t)r;
	}
	return len;
}
