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
 * Listening sockets are opened by transport_bind() before the daemon forks
 * (so "port in use" reaches the terminal) and outlive transport_stop(), so
 * a config reload restarts the servers without refusing connections.
 */
#ifndef RDMS_TRANSPORT_HTTP_H
#define RDMS_TRANSPORT_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include "../auth/authz.h"
#include "../auth/pam_auth.h"
#include "../cim/wbem.h"
#include "../config/config.h"
#include "../ops/ops.h"

typedef struct http_request {
	const char *body;     /* NUL-terminated; LEN excludes the NUL */
	size_t      len;
	void       *conn;     /* the transport's; use http_header() */
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
	} extra[2];
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
	/* True when BODY may be served without credentials (WS-Man Identify). */
	bool (*anonymous)(const char *body, size_t len);
	/* Serves one request; WHO is NULL only for an anonymous one. */
	void (*handle)(void *ctx, const rdms_caller *who, const http_request *req,
	               http_reply *out);
	void *ctx;
} http_endpoint;

/* What the servers need while running; must outlive transport_stop(). */
typedef struct transport_env {
	const rdms_config   *cfg;
	pam_auth            *pam;
	authz               *authz;
} transport_env;

typedef struct transport transport;

/* A transport for the N ENDPOINTS (kept by reference, for its lifetime). */
transport *transport_new(const http_endpoint *endpoints, size_t n);

/*
 * Opens the listening sockets CFG asks for -- plain HTTP on listen_address,
 * HTTPS on https_listen_address, for each protocol that has an endpoint,
 * and the Unix socket -- and loads or creates the TLS certificate.  Sockets whose address did not change since the
 * last call are kept; a socket that cannot be replaced keeps the old one.
 * Errors name the listener, e.g. "HTTP 127.0.0.1:5985: address already
 * in use".
 */
uint32_t transport_bind(transport *t, const rdms_config *cfg, rdms_error *err);

/* Starts serving on every bound socket (threads: call after forking). */
uint32_t transport_start(transport *t, const transport_env *env, rdms_error *err);

/* Stops the servers (requests in progress finish); sockets stay open. */
void transport_stop(transport *t);

/* Stops, closes every socket and removes the Unix socket file. */
void transport_free(transport *t);

#endif
