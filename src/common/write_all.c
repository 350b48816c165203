/*
 * write_all.c -- all of a buffer to a descriptor (write_all.h).
 */
#include "write_all.h"

#include <errno.h>
#include <unistd.h>

bool write_all(int fd, const void *buf, size_t n)
{
	const char *p = buf;

	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return false;
		if (w == 0) {
			errno = EIO;
			return false;
		}
		p += w;
		n -= (size_t)w;
	}
	return true;
}
