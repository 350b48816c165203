/*
 * listen.h -- listening sockets for the transport (http.h): TCP on an
 * address and port, and a Unix socket anyone may connect to.
 */
#ifndef RDMS_TRANSPORT_LISTEN_H
#define RDMS_TRANSPORT_LISTEN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "../cim/wbem.h"

/*
 * A listening TCP socket on ADDRESS (numeric or a name; "" means every
 * address, IPv6 and IPv4) and PORT.  *LOOPBACK tells whether it is bound to
 * a loopback address only.  -1 with ERR set on failure.
 */
int listen_tcp(const char *address, int port, bool *loopback, rdms_error *err);

/*
 * A listening Unix socket at PATH, mode 0666, its directory created 0755
 * when missing.  A stale socket file is replaced; a live one (another
 * daemon answers) is an error.
 */
int listen_unix(const char *path, rdms_error *err);

/* "192.0.2.1:5985", "[2001:db8::1]:5986" or "unix" for SA into BUF. */
void sockaddr_text(const struct sockaddr *sa, char *buf, size_t size);
/* The address alone: "192.0.2.1", "2001:db8::1" (PAM's RHOST). */
void sockaddr_host(const struct sockaddr *sa, char *buf, size_t size);

#endif
