/*
 * handoff.c -- priv to net at exec time (handoff.h).
 */
#include "handoff.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "../common/write_all.h"

#ifndef RDMS_VERSION
#define RDMS_VERSION "unknown"
#endif

#define HANDOFF_MAGIC "rdmsnet"

/* The child writes it into a pipe before exec, with nobody reading yet. */
_Static_assert(sizeof(net_handoff) <= 16384, "a handoff must fit a pipe's buffer");

void net_handoff_seal(net_handoff *h)
{
	memcpy(h->magic, HANDOFF_MAGIC, sizeof HANDOFF_MAGIC);
	memset(h->version, 0, sizeof h->version);
	strncpy(h->version, RDMS_VERSION, sizeof h->version - 1);
	h->size = (uint32_t)sizeof *h;
	h->config_layout = rdms_config_layout();
}

size_t net_handoff_fds(const net_handoff *h, int *fds, size_t max)
{
	size_t n = 0;

	for (int i = 0; i < PRIV_CHANNELS && n < max; i++)
		fds[n++] = h->channels[i];
	if (n < max)
		fds[n++] = h->ready_fd;
	if (h->log_fd >= 0 && n < max)
		fds[n++] = h->log_fd;
	for (int k = 0; k < LISTEN_KINDS && n < max; k++)
		if (h->sockets.s[k].fd >= 0)
			fds[n++] = h->sockets.s[k].fd;
	return n;
}

bool net_handoff_send(int fd, const net_handoff *h)
{
	return write_all(fd, h, sizeof *h);
}

static bool terminated(const char *s, size_t size)
{
	return memchr(s, '\0', size) != NULL;
}

/* The config sound, the back-end names and socket addresses terminated. */
static bool well_formed(const net_handoff *h)
{
	if (!rdms_config_valid(&h->cfg) || h->nbackends > HANDOFF_BACKENDS)
		return false;
	for (uint32_t i = 0; i < h->nbackends; i++)
		if (!terminated(h->backends[i], sizeof h->backends[i]))
			return false;
	for (int k = 0; k < LISTEN_KINDS; k++)
		if (!terminated(h->sockets.s[k].address, sizeof h->sockets.s[k].address))
			return false;
	return true;
}

bool net_handoff_receive(int fd, net_handoff *h, rdms_error *err)
{
	char *p = (char *)h;
	size_t got = 0;
	int fds[PRIV_CHANNELS + 2 + LISTEN_KINDS];
	size_t nfds;

	while (got < sizeof *h) {
		ssize_t r = read(fd, p + got, sizeof *h - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rdms_fail(err, WBEM_E_FAILED, "cannot read the handoff from rdmsd: %s",
			          strerror(errno));
			return false;
		}
		if (r == 0) {
			rdms_fail(err, WBEM_E_FAILED, "the handoff from rdmsd is cut short after %zu "
			          "of %zu bytes", got, sizeof *h);
			return false;
		}
		got += (size_t)r;
	}
	if (memcmp(h->magic, HANDOFF_MAGIC, sizeof HANDOFF_MAGIC) != 0) {
		rdms_fail(err, WBEM_E_FAILED, "not a handoff from rdmsd");
		return false;
	}
	if (!terminated(h->version, sizeof h->version) || strcmp(h->version, RDMS_VERSION) != 0 ||
	    h->size != sizeof *h || h->config_layout != rdms_config_layout()) {
		rdms_fail(err, WBEM_E_FAILED, "rdmsd and rdmsd-net are from different builds "
		          "(rdmsd-net is %s); restart rdmsd", RDMS_VERSION);
		return false;
	}
	if (!well_formed(h)) {
		rdms_fail(err, WBEM_E_FAILED, "the handoff from rdmsd is malformed");
		return false;
	}
	nfds = net_handoff_fds(h, fds, sizeof fds / sizeof fds[0]);
	for (size_t i = 0; i < nfds; i++)
		if (fds[i] < 0 || fcntl(fds[i], F_GETFD) < 0) {
			rdms_fail(err, WBEM_E_FAILED, "descriptor %d named by the handoff is not open",
			          fds[i]);
			return false;
		}
	return true;
}
