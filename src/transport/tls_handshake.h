/*
 * tls_handshake.h -- a failed TLS handshake, logged as what it is.
 *
 * libmicrohttpd reports every failed handshake with the same line, "Error:
 * received handshake message out of context", without the client or the
 * reason -- which, for a client that rejects the self-signed certificate
 * (curl without -k, a default Python ssl context), reads like a fault of
 * the server.  Instead each failure is logged once, with the client's
 * address and what happened: "TLS handshake with 127.0.0.1:40022 failed:
 * the client rejected this server's certificate (TLS alert: Unknown CA)".
 */
#ifndef RDMS_TRANSPORT_TLS_HANDSHAKE_H
#define RDMS_TRANSPORT_TLS_HANDSHAKE_H

#include <stdbool.h>

/* One TLS connection, as its handshake goes (owned by the connection's watcher). */
typedef struct tls_peer {
	const char *kind;        /* "HTTPS WS-Man" */
	const char *source;      /* "127.0.0.1:40022" */
	void       *session;     /* its gnutls_session_t */
	bool        hello;       /* a handshake message was processed */
	bool        cert_sent;   /* ... among them the server's certificate */
	bool        finished;    /* ... and the client's Finished */
	bool        reported;    /* its failure was logged */
} tls_peer;

/*
 * Follows the handshake of SESSION (a gnutls_session_t, before its
 * handshake starts), which P describes and must outlive.
 */
void tls_peer_watch(tls_peer *p, void *session);

/*
 * For the HTTP server's logger: when MSG is its report of a failed
 * handshake, logs the failure of the connection whose handshake runs on
 * this thread as what it is, and returns true (MSG is then not logged).
 */
bool tls_handshake_failure(const char *msg);

/*
 * When P's connection closes: a client that closed it before sending any
 * TLS handshake message (not a TLS client, or a port probe) is logged here,
 * at info level, since no handshake was there to fail.
 */
void tls_peer_closed(const tls_peer *p);

#endif
