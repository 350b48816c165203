/*
 * listen.h -- listening sockets for the transport (http.h): TCP on an
 * address and port, a Unix socket anyone may connect to, and the set of
 * them that rdmsd's config asks for.
 *
 * The set is opened by the privileged process (ports below 1024, the
 * socket's directory) and handed to the network process, which serves it;
 * this file needs nothing but the C library, so priv does not carry the
 * HTTP, TLS and XML libraries for it.
 */
#ifndef RDMS_TRANSPORT_LISTEN_H
#define RDMS_TRANSPORT_LISTEN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "../cim/wbem.h"
#include "../config/config.h"

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

/* ---- the listeners of the config ------------------------------------------ */

enum listen_kind {
	LISTEN_HTTP,            /* WS-Man, http_port on listen_address */
	LISTEN_HTTPS,           /* WS-Man, https_port on https_listen_address */
	LISTEN_CIMXML_HTTP,     /* CIM-XML, cimxml_http_port */
	LISTEN_CIMXML_HTTPS,    /* CIM-XML, cimxml_https_port */
	LISTEN_UNIX,            /* every protocol, socket_path */
	LISTEN_KINDS
};

typedef struct listen_kind_info {
	const char *name;       /* "HTTPS", for messages */
	const char *protocol;   /* endpoints served; NULL: all */
	bool        tls;
	bool        plain_tcp;  /* loopback only, unless allow_remote_http */
} listen_kind_info;

extern const listen_kind_info listen_kinds[LISTEN_KINDS];

typedef struct listen_socket {
	char address[256];      /* TCP address ("" = every one), or the socket path */
	int  port;
	int  fd;                /* -1: off */
	bool loopback;
} listen_socket;

/* One socket per kind, indexed by enum listen_kind. */
typedef struct listen_set {
	listen_socket s[LISTEN_KINDS];
} listen_set;

/* Every socket off. */
void listen_set_init(listen_set *set);

/*
 * Makes SET match CFG: opens the sockets CFG asks for, closes the ones it
 * no longer does, keeps those whose address did not change; a socket that
 * cannot be replaced keeps the old one.  Plain HTTP beyond loopback is
 * refused unless allow_remote_http.  Returns the first error (which names
 * the listener: "HTTP 127.0.0.1:5985: address already in use") and logs
 * the others.
 */
uint32_t listen_set_bind(listen_set *set, const rdms_config *cfg, rdms_error *err);

/* Closes every socket and removes the Unix socket's file. */
void listen_set_close(listen_set *set);

#endif
