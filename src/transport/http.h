/*
 * http.h -- rdmsd's transport: the HTTP, HTTPS and Unix-socket listeners,
 * authentication and the admin check, in front of the protocol layers.
 *
 * A protocol front end registers an endpoint (a URL path and a handler).
 * The transport reads the request body (bounded by max_envelope_size),
 * identifies the caller -- Basic credentials checked by PAM on TCP, the
 * peer's uid from SO_PEERCRED on the Unix socket -- and calls the handler
 * with an rdms_caller.  Nothing above this layer sees sockets, TLS or
 * passwords.
 *
 * The listening sockets are not the transport's: the privileged process
 * opens them (listen.h) before it starts the network process (so "port in
 * use" reaches the terminal) and keeps them across config reloads, so a
 * new network process takes over without refusing connections.
 */
#ifndef RDMS_TRANSPORT_HTTP_H
#define RDMS_TRANSPORT_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include "../auth/authz.h"
#include "../auth/pam_auth.h"
#include "../cim/wbem.h"
#include "../common/body_stream.h"
#include "../config/config.h"
#include "../ops/ops.h"
#include "../privsep/privsep.h"
#include "listen.h"

typedef struct http_request {
	const char *body;     /* NUL-terminated; LEN excludes the NUL */
	size_t      len;
	void       *conn;     /* the transport's; use http_header(), http_hold() */
} http_request;

/* The value of request header NAME (case-insensitive), or NULL. */
const char *http_header(const http_request *req, const char *name);

typedef struct http_reply {
	int         status;         /* HTTP status */
	char       *body;           /* malloc'd, handed to the transport; may be NULL */
	size_t      len;
	const char *content_type;   /* static text */
	struct {
		const char *name;       /* more response headers (CIMOperation, */
		const char *value;      /* CIMError); NULL name: unused */
	} extra[3];
	char       *owned;          /* malloc'd text an extra value points to; the
	                               transport frees it with the reply (may be NULL) */
	body_stream stream;         /* the rest of the body, after BODY, written while
	                               it is sent (chunked); the transport ends it */
} http_reply;

/*
 * A protocol front end.  Its PROTOCOL picks the TCP listeners that serve it
 * ("wsman": http_port/https_port, "cimxml": cimxml_http_port/
 * cimxml_https_port) and is rdms_caller.protocol there; the Unix socket
 * serves every endpoint.
 */
typedef struct http_endpoint {
	const char *path;       /* "/wsman"; "/wsman/" matches too */
	const char *protocol;   /* "wsman" or "cimxml" */
	/*
	 * The media types its requests come in (NULL-terminated): any other
	 * Content-Type, or none, is refused with 415 before the body is read,
	 * as is a browser's request for another page (browser_guard.h).
	 */
	const char *const *media_types;
	/* True when BODY may be served without credentials (WS-Man Identify). */
	bool (*anonymous)(const char *body, size_t len);
	/*
	 * True when REQ is answered without waiting -- no method, no disk, no
	 * PAM: it is then served on the connection's I/O thread (cheapest).
	 * Otherwise (or when NULL) it is served on a worker thread while its
	 * connection is suspended.  A wrong guess costs speed, never a check.
	 */
	bool (*quick)(void *ctx, const http_request *req);
	/* Serves one request; WHO is NULL only for an anonymous one. */
	void (*handle)(void *ctx, const rdms_caller *who, const http_request *req,
	               http_reply *out);
	void *ctx;
} http_endpoint;

/*
 * Held requests (a long-poll Pull): a handler that cannot answer yet calls
 * http_hold() and returns; OUT is then ignored.  The connection is
 * suspended -- no thread waits for it -- until http_held_complete() is
 * called, from any thread, with the reply.  When the client hangs up
 * meanwhile, or the transport stops, the transport closes the connection;
 * http_held_complete() still must be called once (after transport_stop()
 * too, but before transport_free()), and then frees the reply and returns
 * false.  The holder keeps its own time limit (a held request does not
 * time out by itself: neither the idle time-out nor the request deadline
 * runs while it is held).
 */
typedef struct http_held http_held;

/* Holds REQ (during its handler only); NULL when it cannot be held (answer now). */
http_held *http_hold(const http_request *req);

/*
 * Answers held request H with REPLY (taken over, as from a handler) and
 * gives H up.  False when its client is gone (REPLY is freed).
 */
bool http_held_complete(http_held *h, http_reply *reply);

/*
 * One leg of a Negotiate/NTLM handshake, carried out elsewhere (rdmsd:
 * priv_proxy_negotiate, in rdmsd-ntlm through priv).
 */
typedef void (*negotiate_fn)(void *ctx, const priv_negotiate *m, priv_negotiated *out);

/* What the servers need while running; must outlive transport_stop(). */
typedef struct transport_env {
	const rdms_config   *cfg;
	pam_auth            *pam;
	authz               *authz;
	negotiate_fn         negotiate;      /* NULL: Negotiate/NTLM is not offered */
	void                *negotiate_ctx;
} transport_env;

typedef struct transport transport;

#define TRANSPORT_IO_THREADS_MAX 4   /* per listener: the CPUs, at most this */
#define TRANSPORT_WORKERS        8   /* PRIV_CHANNELS: more would wait for a channel */

/*
 * A transport for the N ENDPOINTS (kept by reference, for its lifetime) on
 * the open sockets of SOCKETS that serve one of their protocols; the
 * sockets stay the caller's to close.  When an HTTPS listener is among
 * them, the TLS certificate and key that CFG names are loaded (or, when
 * none is configured, created on first use: tls.h), so this runs before
 * the process gives up root.  NULL with ERR when the certificate cannot be
 * had.
 */
transport *transport_new(const http_endpoint *endpoints, size_t n, const listen_set *sockets,
                         const rdms_config *cfg, rdms_error *err);

/*
 * Starts serving (threads: call once the process is what it will stay).
 * Threads are fixed, whatever the number of connections: per listener
 * TRANSPORT_IO_THREADS I/O threads (libmicrohttpd's epoll mode), shared by
 * all listeners TRANSPORT_WORKERS workers for requests that wait (see
 * http_endpoint.quick), and one timer thread (conn_watch.h).
 */
uint32_t transport_start(transport *t, const transport_env *env, rdms_error *err);

/* Stops the servers (requests in progress finish); sockets stay open. */
void transport_stop(transport *t);

/* Stops and frees T (the sockets stay open). */
void transport_free(transport *t);

#endif
