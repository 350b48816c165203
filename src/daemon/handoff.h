/*
 * handoff.h -- what the privileged rdmsd process hands the network process
 * it starts (rdmsd-net): the config, the listening sockets, the privsep
 * channels, the account to become and the back-ends priv serves.
 *
 * net is a program of its own, not a fork of priv that keeps running priv's
 * code: priv (root, for the daemon's whole life) then maps only what it
 * needs -- the C library, PAM, SQLite -- and not the HTTP server, TLS or
 * XML libraries that parse what the network sends.  That is less code that
 * runs as root, and less memory (each of the two used to map all of it).
 *
 * priv forks, and the child writes one net_handoff into a pipe and execs
 * rdmsd-net with the pipe's read end; the descriptors the handoff names
 * are inherited.  Both programs come from one build: the handoff carries
 * the version, its own size and a fingerprint of the config's layout, and
 * net refuses one that does not match (an rdmsd-net upgraded under a
 * running rdmsd says so and stops).
 */
#ifndef RDMS_DAEMON_HANDOFF_H
#define RDMS_DAEMON_HANDOFF_H

#include <stdbool.h>
#include <stdint.h>

#include "../cim/wbem.h"
#include "../config/config.h"
#include "../privsep/privsep.h"
#include "../transport/listen.h"

#define HANDOFF_BACKENDS     8
#define HANDOFF_BACKEND_NAME 32

typedef struct net_handoff {
	char        magic[8];         /* "rdmsnet" */
	char        version[32];      /* RDMS_VERSION */
	uint32_t    size;             /* sizeof (net_handoff) */
	uint64_t    config_layout;    /* rdms_config_layout() */
	bool        debug;            /* --debug */
	priv_user   user;             /* who net becomes */
	rdms_config cfg;
	listen_set  sockets;
	int         channels[PRIV_CHANNELS];
	int         ready_fd;         /* net writes "R" here once it serves */
	int         log_fd;           /* net's stderr once it serves; -1: keep */
	uint32_t    nbackends;        /* priv's back-ends, in priv's order */
	char        backends[HANDOFF_BACKENDS][HANDOFF_BACKEND_NAME];
} net_handoff;

/* Sets H's magic, version, size and config layout (the rest is the caller's). */
void net_handoff_seal(net_handoff *h);

/*
 * The descriptors H names (channels, ready, log, open sockets) into FDS
 * (room for MAX); returns how many.
 */
size_t net_handoff_fds(const net_handoff *h, int *fds, size_t max);

/*
 * In the forked child, before exec: writes H to FD.  Async-signal-safe
 * (write only); false when it could not be written whole.
 */
bool net_handoff_send(int fd, const net_handoff *h);

/*
 * In net: reads one handoff from FD and checks it -- magic, version, size,
 * every string terminated, every named descriptor open, the back-end count
 * in range.  False with ERR otherwise.
 */
bool net_handoff_receive(int fd, net_handoff *h, rdms_error *err);

#endif
