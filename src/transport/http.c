/*
 * http.c -- the HTTP(S) and Unix-socket servers on libmicrohttpd (http.h).
 *
 * Listeners: WS-Management over HTTP and HTTPS (http_port, https_port),
 * CIM-XML over HTTP and HTTPS (cimxml_http_port, cimxml_https_port) and the
 * Unix socket.  A TCP listener serves the endpoints of its protocol only
 * and is opened only when such an endpoint exists; the Unix socket serves
 * them all.
 *
 * A connection costs no thread.  Each listener is one MHD daemon in epoll
 * mode (poll for TLS: see start_one) on a fixed pool of I/O threads (the
 * CPUs, at most TRANSPORT_IO_THREADS_MAX), which read requests and write
 * replies for all its connections.  What happens once a request is in
 * depends on whether it may wait:
 *   - a quick one (the endpoint says so: a Get, from the session snapshot)
 *     with remembered or no credentials runs inline on its I/O thread --
 *     the cheapest path, and the most common request;
 *   - anything else (a method: a round trip to priv and the audit's fsync;
 *     an enumeration; a PAM check) is handed to a fixed set of workers
 *     (workers.h) while its connection is suspended, and the worker resumes
 *     it with the reply.  So a slow call never stalls the other connections
 *     of an I/O thread, and concurrent methods still run concurrently (the
 *     audit's group commit shares an fsync among them).
 * A failed login is answered only after a delay (pam_auth.h), and that
 * delay must stall only the connection that earned it: the connection
 * stays suspended and a timer resumes it (conn_watch.h), no thread sleeps.
 * A handler may also hold its request (http_hold(): a long-poll Pull): the
 * connection stays suspended until the holder completes it from any
 * thread; when the client hangs up meanwhile, the timer thread sees it and
 * the connection is closed; when the transport stops, every suspended
 * connection is closed before the daemons stop (MHD stops only with none
 * suspended).  Connections are capped (max_connections,
 * max_connections_per_ip) and idle ones time out (idle_timeout_s).
 *
 * MHD's time-out is one of inactivity: a client sending a byte a second
 * would hold its connection for ever.  So each connection also has a
 * deadline, request_timeout_s after it opened or after its previous reply,
 * by which its whole request must be in; the timer thread shuts down the
 * socket of a connection past it, and MHD then closes it as it would a
 * connection the client dropped.  The deadline is lifted while the request
 * is being answered (a PAM delay or a big enumeration is not the client's
 * slowness).
 *
 * A request goes through three calls of the access handler:
 *   begin   -- path (404), method (405; 501 for M-POST) and declared
 *              length (413) are checked before any body is read;
 *   body    -- chunks are appended up to max_envelope_size, the rest is
 *              drained and answered with 413;
 *   finish  -- the caller is identified and the endpoint's handler runs.
 * Credentials are checked only once the body is in, because an Identify
 * request (recognisable only by its body) needs none.
 *
 * Who the caller is:
 *   Unix socket: the peer's uid (SO_PEERCRED), no password; protocol "local".
 *   TCP:         Basic credentials, checked by PAM; protocol of the endpoint;
 *                or Negotiate/NTLM (MS-WSMV): a handshake of two or three
 *                legs on one connection, each 401 carrying the next
 *                challenge, the 200 the final token; the identity then
 *                belongs to the connection, whose later requests come
 *                without Authorization (negotiate legs: nego_caller()).
 * Plain HTTP is served on loopback only unless allow_remote_http is set
 * (transport_bind refuses otherwise), so Basic passwords cross the network
 * only inside TLS by default.
 */
#include "http.h"

#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "../auth/basic.h"
#include "../auth/negotiate_hdr.h"
#include "../auth/seal.h"
#include "../common/log.h"
#include "../common/monotime.h"
#include "../common/strutil.h"
#include "body_charset.h"
#include "browser_guard.h"
#include "conn_watch.h"
#include "encrypted_body.h"
#include "listen.h"
#include "fleet_trust.h"
#include "tls.h"
#include "tls_handshake.h"
#include "workers.h"

#define TLS_PRIORITIES  "NORMAL:-VERS-SSL3.0:-VERS-TLS1.0:-VERS-TLS1.1"
#define BASIC_CHALLENGE "Basic realm=\"WSMAN\""
#define SOURCE_TEXT     96   /* "[v6 address]:port" */
#define RHOST_TEXT      64
/*
 * What libmicrohttpd may use per connection: request line and headers, the
 * read buffer the body passes through in chunks, the reply's headers.  It
 * zeroes all of it after each request, so an idle kept-alive connection
 * holds all of it: its default of 32 KiB would make 10,000 idle
 * connections 320 MiB.  10 KiB holds headers of about 9 KiB, so a hostile
 * 8 KiB Authorization header still reaches the Basic parser (400, as
 * always); a request whose headers need more is refused (431, or
 * closed).  (4 KiB would hold every real client's headers and bring 10,000
 * idle connections under 64 MiB, but answer that 8 KiB header 431.)
 */
#define CONN_MEMORY     (10 * 1024)
/* The most of a declared body that is made room for before it comes. */
#define BODY_AHEAD      (16 * 1024)

/* A socket of priv's listen_set (listen.h), and the server on it. */
struct listener {
	enum listen_kind    kind;
	listen_socket       sock;           /* fd -1: not served */
	struct MHD_Daemon  *mhd;
	transport          *t;
	atomic_int          open;           /* its connections (max_connections) */
};

/* One open connection: its deadline, timer and hang-up watch, and its name. */
struct conn {
	conn_watch          w;              /* first: conn_watch callbacks get &w */
	transport          *t;
	struct request     *waiting;        /* its request in REQ_WAITING; hold_lock */
	const char         *kind;
	char                source[SOURCE_TEXT];
	bool                tls;            /* TLS's handshake is followed in PEER */
	tls_peer            peer;
	/* its client certificate, looked at by the first request (fleet_trust.h) */
	bool                peer_checked;
	fleet_peer          fleet;
	char                broker[64];
	/*
	 * Negotiate/NTLM: the security context is the connection's (MS-WSMV).
	 * Its requests come one at a time, so only the thread serving the
	 * current one touches these.
	 */
	uint64_t            nego_handshake; /* priv's number for the next leg; 0: none */
	bool                nego_done;      /* authenticated: NEGO_USER, NEGO_UID */
	uid_t               nego_uid;
	char                nego_user[256];
	seal_ctx           *seal;           /* its messages' encryption; NULL: none agreed */
};

/*
 * Where a request is.  READING and SERVING belong to the thread at hand;
 * once the connection is suspended the state changes under hold_lock,
 * and whoever moves it out of WAITING resumes the connection.
 */
enum req_state {
	REQ_READING,    /* headers and body coming in (I/O thread) */
	REQ_SERVING,    /* identify and the handler: inline, or on a worker (suspended) */
	REQ_WAITING,    /* suspended for a timer (failed login) or its holder */
	REQ_READY,      /* resumed with its reply in REPLY */
	REQ_GONE,       /* resumed to be closed without an answer */
};

struct transport {
	struct listener      l[LISTEN_KINDS];
	const http_endpoint *endpoints;
	size_t               nendpoints;
	char                *cert_pem;
	char                *key_pem;
	fleet_trust         *fleet;       /* brokers let in by certificate; NULL: none */
	transport_env        env;
	conn_watcher        *watcher;       /* deadlines, timers, hang-ups */
	workers             *workers;

	/* suspended requests: every one WAITING, and whether we are stopping */
	pthread_mutex_t      hold_lock;
	struct request      *waiting;
	bool                 stopping;
	atomic_long          nconns;        /* open connections (watched ones) */
};

/* A held request's handle, shared by the transport and the holder. */
struct http_held {
	transport      *t;
	struct request *r;          /* NULL once the request is finished; hold_lock */
	bool            done;       /* the holder completed it */
	int             refs;       /* transport's and holder's */
};

/* Credentials PAM still has to check (on a worker), and where they came from. */
struct pam_check {
	basic_cred cred;            /* wiped after */
	char       rhost[RHOST_TEXT];
};

/* One request's state, from the first call of the handler to completion. */
struct request {
	struct listener       *l;
	struct MHD_Connection *c;
	struct conn           *conn;          /* NULL: unwatched */
	const http_endpoint   *ep;
	strbuf                 body;
	bool                   too_large;
	size_t                 max_body;      /* max_envelope_size, and an encrypted one's framing */
	bool                   answered;      /* a response is queued already */
	char                   source[SOURCE_TEXT];
	rdms_caller            who;
	const rdms_caller     *caller;        /* &who, or NULL: anonymous */
	/* for PAM on a worker; NULL when none is needed (most requests: their
	 * credentials are remembered), so a request waiting its turn holds none */
	struct pam_check      *pam;
	nego_hdr              *nego;          /* a Negotiate/NTLM leg for a worker; NULL: none */
	char                  *www_auth;      /* a Negotiate token to send (401 or 200); NULL: none */
	const char            *refused;       /* identify()'s 400: why (NULL: a bad Authorization) */
	/*
	 * WinRM message encryption: the request came encrypted (its body is now
	 * the plaintext, SEALED_TYPE its Content-Type), so its reply is sent
	 * encrypted; CLOSE: the connection ends after the reply (its security
	 * context is out of step).
	 */
	bool                   sealed;
	bool                   close;
	/* SEALED_TYPE is the Content-Type the handler sees: an encrypted request's
	 * own, a UTF-16 one's as converted to UTF-8 (RETYPED) */
	bool                   retyped;
	bool                   charset_done;  /* body_utf8() ran */
	char                   sealed_type[ENCBODY_TYPE_MAX];
	char                   why[BROWSER_GUARD_WHY + 2];   /* REFUSED's text when made */
	http_request           req;
	enum req_state         state;
	http_reply             reply;         /* READY's */
	int64_t                not_before;    /* a failed login's answer: not earlier */
	http_held             *held;
	bool                   hup_watched;   /* the watcher may call on_hangup() */
	struct request        *wprev, *wnext; /* on transport.waiting */
};

/* Set on the I/O thread that closes a connection unanswered (REQ_GONE) on purpose. */
static _Thread_local bool closing_unanswered;

/* ---- connections: the watcher's list ------------------------------------ */

static void on_cut(conn_watch *w, void *arg)
{
	const struct conn *cn = (const struct conn *)w;

	(void)arg;
	log_warn("%s %s: no complete request within %d s; connection closed", cn->kind,
	         cn->source, cn->t->env.cfg->request_timeout_s);
}

static void watch_set(transport *t, struct MHD_Connection *c, bool arm)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	struct conn *cn = ci != NULL ? ci->socket_context : NULL;

	if (cn != NULL)
		conn_watch_arm(t->watcher, &cn->w, arm);
}

/* A handshake whose client went: priv is told, on a worker, to end its process now. */
struct abandoned {
	transport *t;
	uint64_t   handshake;
};

static void abandon_job(void *arg)
{
	struct abandoned *a = arg;
	priv_negotiate *m = calloc(1, sizeof *m);
	priv_negotiated *o = calloc(1, sizeof *o);

	if (m != NULL && o != NULL) {
		m->handshake = a->handshake;   /* no token: given up */
		a->t->env.negotiate(a->t->env.negotiate_ctx, m, o);
		log_debug("Negotiate: a handshake given up (its client closed the connection): %s",
		          o->error);
	}
	free(m);
	free(o);
	free(a);
}

/* CN closes in the middle of a handshake: its slot and process are freed at once. */
static void abandon_handshake(transport *t, const struct conn *cn)
{
	struct abandoned *a;

	if (cn->nego_handshake == 0 || t->env.negotiate == NULL)
		return;
	a = malloc(sizeof *a);
	if (a == NULL)
		return;
	*a = (struct abandoned){ t, cn->nego_handshake };
	/* under hold_lock: transport_stop() sets STOPPING under it before it frees the workers */
	pthread_mutex_lock(&t->hold_lock);
	if (t->stopping || t->workers == NULL || !workers_submit(t->workers, abandon_job, a))
		free(a);   /* (stopping: the handshake times out in priv) */
	pthread_mutex_unlock(&t->hold_lock);
}

/*
 * MHD's connection notice: a connection is listed, with its deadline armed,
 * from its start (before the TLS handshake) until MHD has finished with it
 * but not yet closed its socket.
 */
static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
	struct listener *l = cls;
	transport *t = l->t;
	struct conn *cn;

	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *fd =
			MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
		const union MHD_ConnectionInfo *ca =
			MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);

		atomic_fetch_add(&l->open, 1);
		atomic_fetch_add(&t->nconns, 1);

		*socket_context = NULL;
		if (fd == NULL || (cn = calloc(1, sizeof *cn)) == NULL)
			return;   /* unwatched: the idle time-out still applies */
		cn->t = t;
		cn->kind = listen_kinds[l->kind].name;
		sockaddr_text(ca != NULL ? ca->client_addr : NULL, cn->source, sizeof cn->source);
		if (listen_kinds[l->kind].tls) {
			const union MHD_ConnectionInfo *ts =
				MHD_get_connection_info(c, MHD_CONNECTION_INFO_GNUTLS_SESSION);

			cn->tls = ts != NULL && ts->tls_session != NULL;
			cn->peer = (tls_peer){ .kind = cn->kind, .source = cn->source };
			if (cn->tls)
				tls_peer_watch(&cn->peer, ts->tls_session);
		}
		conn_watch_add(t->watcher, &cn->w, fd->connect_fd);
		*socket_context = cn;
		return;
	}
	atomic_fetch_sub(&l->open, 1);
	cn = *socket_context;
	if (cn != NULL) {
		conn_watch_remove(t->watcher, &cn->w);
		if (cn->tls)
			tls_peer_closed(&cn->peer);
		seal_free(cn->seal);   /* the security context is the connection's */
		abandon_handshake(t, cn);
		free(cn);
		*socket_context = NULL;
	}
	/*
	 * The last connection is gone: give back what glibc keeps of freed
	 * memory (a big enumeration's buffers or a burst of connections leave
	 * megabytes in the I/O and worker threads' arenas).  Cheap next to a
	 * connection's life, and only when idle.
	 */
	if (atomic_fetch_sub(&t->nconns, 1) == 1)
		malloc_trim(0);
}

/* True when listener kind K serves endpoints of PROTOCOL. */
static bool serves(enum listen_kind k, const char *protocol)
{
	return listen_kinds[k].protocol == NULL || strcmp(listen_kinds[k].protocol, protocol) == 0;
}

/* True when some endpoint is served by listener kind K. */
static bool has_endpoints(const transport *t, enum listen_kind k)
{
	for (size_t i = 0; i < t->nendpoints; i++)
		if (serves(k, t->endpoints[i].protocol))
			return true;
	return false;
}

/* Takes over the certificate and key (tls.h) when a TLS listener is served. */
static uint32_t load_tls(transport *t, const rdms_config *cfg, rdms_error *err)
{
	if (t->l[LISTEN_HTTPS].sock.fd >= 0 &&
	    fleet_trust_load(cfg, &t->fleet, err) != WBEM_S_NO_ERROR)
		return err->code;
	for (int k = 0; k < LISTEN_KINDS; k++)
		if (listen_kinds[k].tls && t->l[k].sock.fd >= 0)
			return tls_load(cfg, &t->cert_pem, &t->key_pem, err);
	return WBEM_S_NO_ERROR;
}

transport *transport_new(const http_endpoint *endpoints, size_t n, const listen_set *sockets,
                         const rdms_config *cfg, rdms_error *err)
{
	transport *t = calloc(1, sizeof *t);

	if (t == NULL) {
		rdms_fail(err, WBEM_E_OUT_OF_MEMORY, "out of memory");
		return NULL;
	}
	t->endpoints = endpoints;
	t->nendpoints = n;
	if (pthread_mutex_init(&t->hold_lock, NULL) != 0) {
		free(t);
		rdms_fail(err, WBEM_E_FAILED, "cannot set up the transport's lock");
		return NULL;
	}
	for (int k = 0; k < LISTEN_KINDS; k++) {
		t->l[k].kind = (enum listen_kind)k;
		t->l[k].sock = sockets->s[k];
		if (!has_endpoints(t, (enum listen_kind)k))
			t->l[k].sock.fd = -1;
		t->l[k].t = t;
	}
	if (load_tls(t, cfg, err) != WBEM_S_NO_ERROR) {
		transport_free(t);
		return NULL;
	}
	return t;
}

/* ---- responses ----------------------------------------------------------- */

/*
 * A body written while it is sent (body_stream.h): MHD's content reader
 * takes the piece at hand, and asks the stream for the next one when it is
 * used up; its size is unknown, so HTTP/1.1 sends it chunked.  The first
 * piece is the reply's BODY.
 *
 * What such a reply holds while it waits for its client, at 1,000
 * connections most of them: the piece, made once to its size (doubling
 * would leave it at twice BODY_STREAM_PIECE) and freed as soon as the last
 * one is read; and MHD's block, which chunked replies do not use at all
 * (MHD reads them straight into the connection's write buffer) -- only a
 * HTTP/1.0 client, sent the body unframed, is fed through it, so it is
 * small.
 */
#define STREAM_BLOCK (4 * 1024)

struct streamed {
	body_stream s;
	strbuf      piece;
	size_t      off;        /* of PIECE, sent already */
	bool        ended;      /* PIECE is the last */
};

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct streamed *st = cls;
	size_t n = 0;

	(void)pos;
	if (max == 0)
		return 0;
	/* as much as MHD has room for: fewer, fuller chunks */
	while (n < max) {
		size_t k;

		if (st->off >= st->piece.len) {
			body_stream_rc rc;

			if (st->ended)
				break;
			st->piece.len = 0;
			st->off = 0;
			/* a piece is BODY_STREAM_PIECE and the item that crossed it */
			strbuf_reserve_exact(&st->piece, BODY_STREAM_PIECE + BODY_STREAM_PIECE / 4);
			rc = st->s.next(st->s.ctx, &st->piece);
			if (rc == BODY_STREAM_FAILED || st->piece.failed)
				return MHD_CONTENT_READER_END_WITH_ERROR;   /* the client sees it incomplete */
			st->ended = rc == BODY_STREAM_END;
			continue;
		}
		k = st->piece.len - st->off < max - n ? st->piece.len - st->off : max - n;
		memcpy(buf + n, st->piece.data + st->off, k);
		st->off += k;
		n += k;
	}
	if (st->ended && st->off >= st->piece.len && st->piece.data != NULL) {
		strbuf_free(&st->piece);   /* all read: nothing to hold while the rest is sent */
		st->off = 0;
	}
	return n > 0 ? (ssize_t)n : MHD_CONTENT_READER_END_OF_STREAM;
}

static void stream_free(void *cls)
{
	struct streamed *st = cls;

	body_stream_end(&st->s);
	strbuf_free(&st->piece);
	free(st);
}

/* A response of BODY (taken over) and then what STREAM writes; NULL on failure (both freed). */
static struct MHD_Response *streamed_response(char *body, size_t len, body_stream *stream)
{
	struct streamed *st = calloc(1, sizeof *st);
	struct MHD_Response *resp;

	if (st == NULL) {
		free(body);
		body_stream_end(stream);
		return NULL;
	}
	st->s = *stream;
	*stream = (body_stream){ 0 };
	st->piece = (strbuf){ .data = body, .len = body != NULL ? len : 0,
	                      .cap = body != NULL ? len + 1 : 0 };
	resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, STREAM_BLOCK, stream_read, st,
	                                         stream_free);
	if (resp == NULL)
		stream_free(st);
	return resp;
}

/* The value of request header NAME (case-insensitive), or NULL. */
static const char *header_of(struct MHD_Connection *c, const char *name)
{
	return MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
}

/* A transport-made answer: TEXT (NULL: no body) and one more header. */
static void make_reply(http_reply *out, int status, const char *text, const char *hname,
                       const char *hvalue)
{
	char *body = text != NULL ? strdup(text) : NULL;

	*out = (http_reply){ .status = status, .body = body,
	                     .len = body != NULL ? strlen(body) : 0,
	                     .content_type = text != NULL ? "text/plain;charset=UTF-8" : NULL,
	                     .extra = { { hname, hvalue } } };
}

/*
 * REPLY to an encrypted request, encrypted in turn (encrypted_body.h) --
 * SOAP faults and the transport's own answers alike: the whole body (a
 * stream drained: its length goes in the header), wrapped with the
 * connection's context.  A failure leaves a plain 500 and closes.
 */
static void seal_reply(struct request *r, http_reply *reply)
{
	strbuf wrapped = { 0 }, out = { 0 };
	rdms_error err = { 0 };
	size_t sig = 0;
	bool ok = body_stream_into(&reply->stream, &reply->body, &reply->len);
	strbuf plain = { .data = reply->body, .len = reply->body != NULL ? reply->len : 0 };

	reply->body = NULL;
	ok = ok && seal_wrap(r->conn->seal, plain.data != NULL ? plain.data : "", plain.len,
	                     &wrapped, &sig, &err);
	if (ok) {
		encbody_build(&out, reply->content_type != NULL ? reply->content_type :
		              "text/plain;charset=UTF-8", plain.len, wrapped.data, wrapped.len, sig);
		ok = !out.failed;
	}
	if (plain.data != NULL)
		explicit_bzero(plain.data, plain.len);
	strbuf_free(&plain);
	strbuf_free(&wrapped);
	if (!ok) {
		log_warn("%s: %s", r->source, err.message[0] != '\0' ? err.message : "out of memory");
		strbuf_free(&out);
		free(reply->owned);
		make_reply(reply, MHD_HTTP_INTERNAL_SERVER_ERROR, "the reply cannot be encrypted\n",
		           NULL, NULL);
		r->close = true;
		return;
	}
	reply->len = out.len;
	reply->body = strbuf_take(&out);
	reply->content_type = ENCBODY_CONTENT_TYPE;
}

/* Queues REPLY; its body (malloc'd, may be NULL) and stream are taken over. */
static enum MHD_Result respond_reply(struct MHD_Connection *c, struct request *r,
                                     http_reply *reply)
{
	struct MHD_Response *resp;
	enum MHD_Result ok;

	if (r->sealed && r->conn != NULL && r->conn->seal != NULL &&
	    (reply->len > 0 || reply->stream.next != NULL))
		seal_reply(r, reply);
	if (reply->stream.next != NULL) {
		resp = streamed_response(reply->body, reply->len, &reply->stream);
	} else if (reply->body != NULL && reply->len > 0) {
		resp = MHD_create_response_from_buffer(reply->len, reply->body, MHD_RESPMEM_MUST_FREE);
		if (resp == NULL)
			free(reply->body);
	} else {
		free(reply->body);
		resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
	}
	if (resp == NULL) {
		free(reply->owned);
		return MHD_NO;
	}
	if (reply->content_type != NULL)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, reply->content_type);
	/* (MHD copies the names and values) */
	for (size_t i = 0; i < sizeof reply->extra / sizeof reply->extra[0]; i++)
		if (reply->extra[i].name != NULL && reply->extra[i].value != NULL)
			MHD_add_response_header(resp, reply->extra[i].name, reply->extra[i].value);
	free(reply->owned);
	if (r->www_auth != NULL)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, r->www_auth);
	if (r->close)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
	ok = MHD_queue_response(c, (unsigned)reply->status, resp);
	MHD_destroy_response(resp);
	r->answered = true;
	log_debug("%s -> %d", r->source, reply->status);
	return ok;
}

/* 401 with the schemes offered: Basic, and Negotiate when it is served (never NTLM). */
static void make_challenge(const transport *t, http_reply *out)
{
	make_reply(out, MHD_HTTP_UNAUTHORIZED, NULL, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
	           BASIC_CHALLENGE);
	if (t->env.negotiate != NULL) {
		out->extra[1].name = MHD_HTTP_HEADER_WWW_AUTHENTICATE;
		out->extra[1].value = "Negotiate";
	}
}

/* Frees a reply that will not be sent (its stream ended unrun). */
static void drop_reply(http_reply *reply)
{
	free(reply->body);
	free(reply->owned);
	body_stream_end(&reply->stream);
	*reply = (http_reply){ 0 };
}

/* A short plain-text error page. */
static enum MHD_Result respond_text(struct MHD_Connection *c, struct request *r, int status,
                                    const char *text, const char *hname, const char *hvalue)
{
	http_reply reply;

	make_reply(&reply, status, text, hname, hvalue);
	return respond_reply(c, r, &reply);
}

/* ---- identifying the caller ---------------------------------------------- */

/* The Unix-socket peer, by its uid; 0 or the HTTP status to answer. */
static int peer_caller(struct listener *l, struct MHD_Connection *c, struct request *r)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
	const transport_env *env = &l->t->env;
	struct ucred cred;
	socklen_t len = sizeof cred;

	if (ci == NULL || getsockopt(ci->connect_fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
		log_warn("Unix socket: cannot read peer credentials: %s", strerror(errno));
		return MHD_HTTP_FORBIDDEN;
	}
	snprintf(r->source, sizeof r->source, "uid %u", (unsigned)cred.uid);
	if (!authz_user_name(cred.uid, r->who.user, sizeof r->who.user)) {
		log_warn("Unix socket: uid %u has no user name; refused", (unsigned)cred.uid);
		return MHD_HTTP_FORBIDDEN;
	}
	r->who.uid = cred.uid;
	r->who.is_admin = authz_is_admin(env->authz, env->cfg->admin_group, r->who.user,
	                                 cred.uid);
	r->who.protocol = "local";
	r->who.source = r->source;
	return 0;
}

/* R's caller, named and checked: the admin check and the protocol. */
static int caller_known(struct request *r)
{
	const transport_env *env = &r->l->t->env;

	r->who.is_admin = authz_is_admin(env->authz, env->cfg->admin_group, r->who.user,
	                                 r->who.uid);
	r->who.protocol = r->ep->protocol;
	r->who.source = r->source;
	r->caller = &r->who;
	return 0;
}

/* R's credentials, wiped, and their holder freed. */
static void pam_check_free(struct request *r)
{
	if (r->pam == NULL)
		return;
	basic_cred_wipe(&r->pam->cred);
	free(r->pam);
	r->pam = NULL;
}

/*
 * A fleet broker, by its client certificate (checked once per connection):
 * 0 with R->caller set for a broker, 0 without for no certificate, 403
 * for a certificate that is not a broker's.
 */
static int broker_caller(struct listener *l, struct MHD_Connection *c, struct request *r)
{
	struct conn *cn = r->conn;

	if (!cn->peer_checked) {
		const union MHD_ConnectionInfo *ts =
			MHD_get_connection_info(c, MHD_CONNECTION_INFO_GNUTLS_SESSION);
		char why[320];

		cn->fleet = ts != NULL ? fleet_trust_peer(l->t->fleet, ts->tls_session, cn->broker,
		                                          sizeof cn->broker, why, sizeof why)
		                       : FLEET_PEER_NONE;
		cn->peer_checked = true;
		if (cn->fleet == FLEET_PEER_REFUSED)
			log_warn("%s %s: client certificate refused: %s", listen_kinds[l->kind].name,
			         r->source, why);
		else if (cn->fleet == FLEET_PEER_BROKER)
			log_info("%s %s: broker %s", listen_kinds[l->kind].name, r->source, cn->broker);
	}
	if (cn->fleet == FLEET_PEER_REFUSED)
		return MHD_HTTP_FORBIDDEN;
	if (cn->fleet != FLEET_PEER_BROKER)
		return 0;
	/* a broker: sees every session; acts on one only on behalf of a user (wsman.c) */
	str_copy(r->who.user, sizeof r->who.user, cn->broker);
	r->who.uid = (uid_t)-1;
	r->who.is_admin = true;
	r->who.broker = cn->broker;
	r->who.protocol = r->ep->protocol;
	r->who.source = r->source;
	r->caller = &r->who;
	return 0;
}

/*
 * Basic credentials that are not remembered, checked by PAM (on a worker:
 * it may wait); 0 or the HTTP status to answer.  A failure sets the time
 * before which it must not be answered.
 */
static int pam_caller(struct request *r)
{
	const transport_env *env = &r->l->t->env;
	rdms_error err = { 0 };
	char safe[300];
	uint32_t rc;

	rc = pam_auth_check_undelayed(env->pam, r->pam->cred.user, r->pam->cred.password,
	                              r->pam->rhost, r->who.user, sizeof r->who.user, &r->who.uid,
	                              &err);
	if (rc != 0) {
		str_printable(r->pam->cred.user, safe, sizeof safe);
		log_warn("%s %s: login failed for '%s': %s", listen_kinds[r->l->kind].name,
		         r->source, safe, err.message);
		pam_check_free(r);
		r->not_before = mono_ms() + pam_auth_fail_delay_ms(env->pam);
		return MHD_HTTP_UNAUTHORIZED;
	}
	pam_check_free(r);
	return caller_known(r);
}

/* ---- Negotiate/NTLM ------------------------------------------------------ */

/*
 * True when R's body would travel in the clear after Negotiate: plain HTTP
 * and allow_unencrypted off (MS-WSMV AllowUnencrypted, off by default on
 * both sides: such a request, and so its reply, must be encrypted).
 */
static bool plain_refused(const struct request *r)
{
	return !listen_kinds[r->l->kind].tls && !r->l->t->env.cfg->allow_unencrypted;
}

#define PLAIN_REFUSED "unencrypted request after Negotiate on plain HTTP refused " \
	"(allow_unencrypted = false; send it encrypted, or use HTTPS)\n"

/* Ends the connection's Negotiate login: its context and identity are gone. */
static void nego_forget(struct conn *cn)
{
	cn->nego_done = false;
	cn->nego_handshake = 0;
	seal_free(cn->seal);
	cn->seal = NULL;
}

/* R's request as its handler sees it: its body as it is now (decrypted, converted). */
static void request_from_body(struct request *r)
{
	r->req = (http_request){ .body = r->body.data != NULL ? r->body.data : "",
	                         .len = r->body.len, .conn = r };
}

/* R refused with 400 and WHY (printf), which is logged too. */
static int refuse_400(struct request *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int refuse_400(struct request *r, const char *fmt, ...)
{
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	vsnprintf(r->why, sizeof r->why - 1, fmt, ap);
	va_end(ap);
	log_warn("%s %s: %s; nothing done", listen_kinds[r->l->kind].name, r->source, r->why);
	n = strlen(r->why);
	r->why[n] = '\n';
	r->why[n + 1] = '\0';
	r->refused = r->why;
	return MHD_HTTP_BAD_REQUEST;
}

/*
 * R's body, when it came encrypted (multipart/encrypted), decrypted with
 * its connection's context in place: 0, or 400 for anything off -- the
 * framing, a signature that does not verify (tampered, replayed, out of
 * order: the context is then out of step, so it is dropped and the
 * connection closed), a plaintext of another length or type than it says.
 */
static int unseal(struct request *r)
{
	struct conn *cn = r->conn;
	const char *ct = header_of(r->c, MHD_HTTP_HEADER_CONTENT_TYPE);
	strbuf plain = { 0 };
	rdms_error err = { 0 };
	char why[BROWSER_GUARD_WHY];
	encbody eb;

	if (!encbody_is_encrypted(ct))
		return 0;
	if (cn == NULL || cn->seal == NULL)
		return refuse_400(r, "an encrypted body on a connection whose login agreed no "
		                  "encryption");
	if (!encbody_parse(ct, r->body.data, r->body.len, &eb, why, sizeof why))
		return refuse_400(r, "malformed encrypted body: %s", why);
	strbuf_reserve_exact(&plain, eb.length);
	if (!seal_unwrap(cn->seal, eb.wrapped, eb.wrapped_len, &plain, &err) ||
	    plain.len != eb.length) {
		if (err.message[0] == '\0')
			snprintf(err.message, sizeof err.message, "its plaintext is %zu bytes, not the "
			         "%zu its Length says", plain.len, eb.length);
		strbuf_free(&plain);
		nego_forget(cn);
		r->close = true;
		return refuse_400(r, "encrypted body refused, connection closed: %s", err.message);
	}
	if (eb.length > (size_t)r->l->t->env.cfg->max_envelope_size) {
		strbuf_free(&plain);
		return refuse_400(r, "the encrypted envelope holds %zu bytes; max_envelope_size is %d",
		                  eb.length, r->l->t->env.cfg->max_envelope_size);
	}
	if (encbody_is_encrypted(eb.type) || !str_media_type_in(eb.type, r->ep->media_types)) {
		strbuf_free(&plain);
		return refuse_400(r, "the encrypted body's OriginalContent type '%s' is not of %s",
		                  eb.type, r->ep->path);
	}
	explicit_bzero(r->body.data, r->body.len);
	strbuf_free(&r->body);
	r->body = plain;
	request_from_body(r);
	str_copy(r->sealed_type, sizeof r->sealed_type, eb.type);
	r->sealed = true;
	return 0;
}

/*
 * R's body in UTF-8 (body_charset.h): a UTF-16 one -- Windows' -- converted
 * in place; 0 or 400.
 */
static int body_utf8(struct request *r)
{
	const char *ct = r->sealed ? r->sealed_type : header_of(r->c, MHD_HTTP_HEADER_CONTENT_TYPE);
	char type[ENCBODY_TYPE_MAX], why[160];

	if (r->charset_done)
		return 0;
	r->charset_done = true;
	switch (body_to_utf8(ct, &r->body, type, sizeof type, why, sizeof why)) {
	case BODY_UTF8:
		return 0;
	case BODY_REFUSED:
		return refuse_400(r, "%s", why);
	case BODY_CONVERTED:
		break;
	}
	str_copy(r->sealed_type, sizeof r->sealed_type, type);
	r->retyped = true;
	request_from_body(r);
	return 0;
}

/* R on a connection Negotiate authenticated: its identity; 0 or the HTTP status. */
static int nego_known(struct request *r)
{
	int status = unseal(r);

	if (status == 0)
		status = body_utf8(r);
	if (status != 0)
		return status;
	if (!r->sealed && plain_refused(r)) {
		r->refused = PLAIN_REFUSED;
		return MHD_HTTP_BAD_REQUEST;
	}
	str_copy(r->who.user, sizeof r->who.user, r->conn->nego_user);
	r->who.uid = r->conn->nego_uid;
	return caller_known(r);
}

/*
 * An Authorization header VALUE of Negotiate or NTLM: its leg is kept in
 * R->nego for a worker (0).  -1 when it is another scheme (or Negotiate is
 * not served), 400 when its framing is bad.  Any such header restarts the
 * connection's authentication.
 */
static int nego_begin(const struct listener *l, struct request *r, const char *value,
                      size_t vlen)
{
	rdms_error err = { 0 };
	nego_hdr *h;

	if (l->t->env.negotiate == NULL || r->conn == NULL)
		return -1;
	h = malloc(sizeof *h);
	if (h == NULL)
		return MHD_HTTP_INTERNAL_SERVER_ERROR;
	switch (nego_hdr_parse(value, vlen, h, &err)) {
	case NEGO_HDR_OTHER_SCHEME:
		free(h);
		return -1;
	case NEGO_HDR_MALFORMED:
		free(h);
		nego_forget(r->conn);
		log_warn("%s %s: bad Authorization header: %s", listen_kinds[l->kind].name, r->source,
		         err.message);
		return MHD_HTTP_BAD_REQUEST;
	case NEGO_HDR_OK:
		break;
	}
	/* a new login (perhaps another user's): the old one's identity and keys go */
	seal_free(r->conn->seal);
	r->conn->seal = NULL;
	r->conn->nego_done = false;
	r->nego = h;
	return 0;
}

/* True when H opens a handshake: a raw NTLM NEGOTIATE or a SPNEGO NegTokenInit. */
static bool nego_opens(const nego_hdr *h)
{
	return h->token[0] == 0x60 || (h->token[0] == 'N' && h->token[8] == 1);
}

static void nego_free(struct request *r)
{
	if (r->nego != NULL) {
		explicit_bzero(r->nego, sizeof *r->nego);
		free(r->nego);
		r->nego = NULL;
	}
	free(r->www_auth);
	r->www_auth = NULL;
}

/* "SCHEME base64" of O's token into R->www_auth (none when O has none). */
static void nego_reply_token(struct request *r, const priv_negotiated *o)
{
	size_t n = strlen(o->token);

	if (n == 0)
		return;
	r->www_auth = malloc(n + 16);
	if (r->www_auth != NULL)
		snprintf(r->www_auth, n + 16, "%s %s", nego_scheme_name(r->nego->scheme), o->token);
}

/*
 * R's Negotiate/NTLM leg, on a worker: true when R is now authenticated
 * and its handler is to run; otherwise R->reply is the answer -- 401 with
 * the next challenge, 200 for a completing leg without a body
 * ("authentication only"), 401 after the failure delay, 400 for a token
 * out of order.
 */
static bool nego_caller(struct request *r)
{
	transport *t = r->l->t;
	struct conn *cn = r->conn;
	priv_negotiate *m = calloc(1, sizeof *m);
	priv_negotiated *o = calloc(1, sizeof *o);
	const union MHD_ConnectionInfo *ci;
	bool run = false;
	char safe[300];

	if (m == NULL || o == NULL) {
		make_reply(&r->reply, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n", NULL, NULL);
		goto out;
	}
	if (nego_opens(r->nego) && cn->nego_handshake != 0) {
		/* a new handshake on a connection that left one half done: that one ends now */
		m->handshake = cn->nego_handshake;
		t->env.negotiate(t->env.negotiate_ctx, m, o);
		memset(o, 0, sizeof *o);
	}
	m->handshake = nego_opens(r->nego) ? 0 : cn->nego_handshake;
	cn->nego_handshake = 0;
	if (m->handshake == 0 && !nego_opens(r->nego)) {
		log_warn("%s %s: Negotiate token out of order (no handshake in progress)",
		         listen_kinds[r->l->kind].name, r->source);
		make_reply(&r->reply, MHD_HTTP_BAD_REQUEST,
		           "Negotiate token out of order: no handshake in progress on this "
		           "connection\n", NULL, NULL);
		goto out;
	}
	str_copy(m->token, sizeof m->token, r->nego->b64);
	ci = MHD_get_connection_info(r->c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	sockaddr_host(ci != NULL ? ci->client_addr : NULL, m->rhost, sizeof m->rhost);
	t->env.negotiate(t->env.negotiate_ctx, m, o);
	switch ((enum priv_nego_state)o->state) {
	case PRIV_NEGO_CONTINUE:
		cn->nego_handshake = o->handshake;
		nego_reply_token(r, o);
		make_reply(&r->reply, MHD_HTTP_UNAUTHORIZED, NULL, NULL, NULL);
		break;
	case PRIV_NEGO_COMPLETE:
		cn->nego_done = true;
		cn->nego_uid = (uid_t)o->uid;
		str_copy(cn->nego_user, sizeof cn->nego_user, o->user);
		if (o->context_len > 0) {
			rdms_error err = { 0 };

			cn->seal = seal_import(o->context, o->context_len, &err);
			if (cn->seal == NULL)
				log_warn("%s %s: no message encryption on this connection: %s",
				         listen_kinds[r->l->kind].name, r->source, err.message);
		}
		str_printable(o->client, safe, sizeof safe);
		log_info("%s %s: %s: '%s' authenticated as %s", listen_kinds[r->l->kind].name,
		         r->source, nego_scheme_name(r->nego->scheme), safe, o->user);
		nego_reply_token(r, o);
		if (r->body.len == 0) {
			make_reply(&r->reply, MHD_HTTP_OK, NULL, NULL, NULL);
			break;
		}
		run = nego_known(r) == 0;
		if (!run)
			make_reply(&r->reply, MHD_HTTP_BAD_REQUEST, r->refused, NULL, NULL);
		break;
	default:
		log_warn("%s %s: %s login failed: %s", listen_kinds[r->l->kind].name, r->source,
		         nego_scheme_name(r->nego->scheme), o->error);
		r->not_before = mono_ms() + pam_auth_fail_delay_ms(t->env.pam);
		make_challenge(t, &r->reply);
		break;
	}
out:
	if (m != NULL)
		explicit_bzero(m, sizeof *m);
	if (o != NULL)
		explicit_bzero(o, sizeof *o);   /* the exported context's keys */
	free(m);
	free(o);
	return run;
}

/*
 * Identifies the caller of R on the I/O thread.  Returns 0 with R->caller
 * set (NULL for an anonymous request) or R->pam (credentials not
 * remembered: pam_caller() on a worker), or the HTTP status to answer.
 */
static int identify(struct listener *l, struct MHD_Connection *c, struct request *r)
{
	const transport_env *env = &l->t->env;
	const union MHD_ConnectionInfo *ci;
	const char *value = NULL;
	size_t vlen = 0;
	rdms_error err = { 0 };
	basic_cred cred;
	int status;

	r->caller = NULL;
	if (l->kind == LISTEN_UNIX) {
		status = peer_caller(l, c, r);
		if (status == 0)
			r->caller = &r->who;
		return status;
	}
	if (l->kind == LISTEN_HTTPS && l->t->fleet != NULL && r->conn != NULL && r->conn->tls) {
		status = broker_caller(l, c, r);
		if (status != 0 || r->caller != NULL)
			return status;
	}
	if (MHD_lookup_connection_value_n(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION,
	                                  strlen(MHD_HTTP_HEADER_AUTHORIZATION),
	                                  &value, &vlen) != MHD_YES) {
		if (r->conn != NULL && r->conn->nego_done)
			return nego_known(r);
		if (r->ep->anonymous != NULL && r->ep->anonymous(r->body.data, r->body.len))
			return 0;
		return MHD_HTTP_UNAUTHORIZED;
	}
	status = nego_begin(l, r, value, vlen);
	if (status >= 0)
		return status;
	switch (basic_parse(value, vlen, &cred, &err)) {
	case BASIC_OK:
		break;
	case BASIC_OTHER_SCHEME:
		log_debug("%s: %s", r->source, err.message);
		return MHD_HTTP_UNAUTHORIZED;
	case BASIC_MALFORMED:
		log_warn("%s %s: bad Authorization header: %s", listen_kinds[l->kind].name, r->source,
		         err.message);
		return MHD_HTTP_BAD_REQUEST;
	}
	if (pam_auth_cached(env->pam, cred.user, cred.password, r->who.user, sizeof r->who.user,
	                    &r->who.uid)) {
		basic_cred_wipe(&cred);
		return caller_known(r);
	}
	r->pam = malloc(sizeof *r->pam);
	if (r->pam == NULL) {
		basic_cred_wipe(&cred);
		return MHD_HTTP_INTERNAL_SERVER_ERROR;
	}
	r->pam->cred = cred;
	basic_cred_wipe(&cred);
	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	sockaddr_host(ci != NULL ? ci->client_addr : NULL, r->pam->rhost, sizeof r->pam->rhost);
	return 0;
}

/* ---- suspended requests --------------------------------------------------- */

/* Puts R (suspended) on the waiting list; hold_lock held. */
static void waiting_add(transport *t, struct request *r)
{
	r->state = REQ_WAITING;
	r->wprev = NULL;
	r->wnext = t->waiting;
	if (t->waiting != NULL)
		t->waiting->wprev = r;
	t->waiting = r;
	if (r->conn != NULL)
		r->conn->waiting = r;
}

/* Moves R on to STATE and resumes its connection; hold_lock held. */
static void wake(transport *t, struct request *r, enum req_state state)
{
	if (r->state == REQ_WAITING) {
		if (r->wprev != NULL)
			r->wprev->wnext = r->wnext;
		else
			t->waiting = r->wnext;
		if (r->wnext != NULL)
			r->wnext->wprev = r->wprev;
		r->wprev = r->wnext = NULL;
		if (r->conn != NULL && r->conn->waiting == r)
			r->conn->waiting = NULL;
	}
	r->state = state;
	MHD_resume_connection(r->c);
}

/* What the watcher tells on_watched(): ARG NULL is the timer. */
static const char hangup_event[] = "hang-up";

/*
 * The watcher's timer (a failed login's delay has passed: answer it) or
 * hang-up watch (the client of a held request went away: close it).
 */
static void on_watched(conn_watch *w, void *arg)
{
	struct conn *cn = (struct conn *)w;
	transport *t = cn->t;
	bool hangup = arg == hangup_event;
	struct request *r;

	pthread_mutex_lock(&t->hold_lock);
	r = cn->waiting;
	if (r != NULL && (r->held != NULL) == hangup) {
		if (hangup)
			log_debug("%s: client gone while its request was held", r->source);
		wake(t, r, hangup ? REQ_GONE : REQ_READY);
	}
	pthread_mutex_unlock(&t->hold_lock);
}

/* True when FD's peer has hung up (or the socket failed). */
static bool hung_up(int fd)
{
	char byte;
	ssize_t n = recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);

	return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

http_held *http_hold(const http_request *req)
{
	struct request *r = req->conn;
	transport *t = r->l->t;
	http_held *h;

	if (r->held != NULL)
		return NULL;
	h = calloc(1, sizeof *h);
	if (h == NULL)
		return NULL;
	pthread_mutex_lock(&t->hold_lock);
	if (t->stopping) {
		pthread_mutex_unlock(&t->hold_lock);
		free(h);
		return NULL;
	}
	*h = (http_held){ .t = t, .r = r, .refs = 2 };
	r->held = h;
	pthread_mutex_unlock(&t->hold_lock);
	/* Registered now, while nobody can resume R; a hang-up before R waits is seen below. */
	if (r->conn != NULL)
		conn_watch_hangup(t->watcher, &r->conn->w, on_watched, (void *)hangup_event);
	return h;
}

/* Drops one reference to H; hold_lock held.  True when H is to be freed. */
static bool held_unref(http_held *h)
{
	return --h->refs == 0;
}

bool http_held_complete(http_held *h, http_reply *reply)
{
	transport *t = h->t;
	struct request *r;
	bool ok, last;

	pthread_mutex_lock(&t->hold_lock);
	r = h->r;
	ok = r != NULL && !h->done && (r->state == REQ_SERVING || r->state == REQ_WAITING);
	if (ok) {
		h->done = true;
		r->reply = *reply;
		/* Still in its handler: the transport answers it when the handler returns. */
		if (r->state == REQ_WAITING)
			wake(t, r, REQ_READY);
	}
	last = held_unref(h);
	pthread_mutex_unlock(&t->hold_lock);
	if (!ok)
		drop_reply(reply);
	if (last)
		free(h);
	return ok;
}

/* R is finished (answered, or its connection closed): its hold ends. */
static void held_detach(transport *t, struct request *r)
{
	http_held *h = r->held;
	bool last;

	if (h == NULL)
		return;
	pthread_mutex_lock(&t->hold_lock);
	h->r = NULL;
	r->held = NULL;
	last = held_unref(h);
	pthread_mutex_unlock(&t->hold_lock);
	if (last)
		free(h);
}

/*
 * After R's handler: true when R now waits for its holder (its connection
 * suspended; IO_THREAD: the handler ran on the I/O thread, which suspends
 * it here).  False when R is to be answered now with R->reply, or closed
 * unanswered (state REQ_GONE: the transport stops, or the client left).
 */
static bool hold_or_answer(struct request *r, bool io_thread)
{
	transport *t = r->l->t;
	bool wait = false;

	if (r->held == NULL)
		return false;
	pthread_mutex_lock(&t->hold_lock);
	if (!r->held->done) {
		if (t->stopping || (r->conn != NULL && hung_up(r->conn->w.fd))) {
			/* Closed unanswered; the holder's reply will be dropped. */
			r->held->r = NULL;
			held_unref(r->held);
			r->held = NULL;
			r->state = REQ_GONE;
		} else {
			if (io_thread)
				MHD_suspend_connection(r->c);
			waiting_add(t, r);
			wait = true;
		}
	}
	pthread_mutex_unlock(&t->hold_lock);
	return wait;
}

/* ---- the three steps of a request ---------------------------------------- */

const char *http_header(const http_request *req, const char *name)
{
	const struct request *r = req->conn;

	/* an encrypted request's own type is the one its plaintext came with */
	if ((r->sealed || r->retyped) && strcasecmp(name, MHD_HTTP_HEADER_CONTENT_TYPE) == 0)
		return r->sealed_type;
	return MHD_lookup_connection_value(r->c, MHD_HEADER_KIND, name);
}

static const http_endpoint *find_endpoint(const struct listener *l, const char *url)
{
	const transport *t = l->t;

	for (size_t i = 0; i < t->nendpoints; i++) {
		const char *path = t->endpoints[i].path;
		size_t n = strlen(path);

		if (serves(l->kind, t->endpoints[i].protocol) && strncmp(url, path, n) == 0 &&
		    (url[n] == '\0' || strcmp(url + n, "/") == 0))
			return &t->endpoints[i];
	}
	return NULL;
}

/*
 * True when R is what a web page made a browser send, or not of its
 * endpoint's media type (browser_guard.h): refused before its body is read
 * and its caller identified, with *STATUS and the reason, which is logged.
 */
static bool forged(const struct listener *l, struct MHD_Connection *c, const struct request *r,
                   int *status, char *why, size_t size)
{
	browser_request br = {
		.media_types = r->ep->media_types,
		.content_type = header_of(c, MHD_HTTP_HEADER_CONTENT_TYPE),
		.origin = header_of(c, MHD_HTTP_HEADER_ORIGIN),
		.sec_fetch_site = header_of(c, "Sec-Fetch-Site"),
		.host = header_of(c, MHD_HTTP_HEADER_HOST),
		.scheme = l->kind == LISTEN_UNIX ? NULL : listen_kinds[l->kind].tls ? "https" : "http",
	};
	size_t n;

	*status = browser_guard_check(&br, why, size - 1);
	if (*status == 0)
		return false;
	log_warn("%s %s: POST %s: %s; nothing done", listen_kinds[l->kind].name, r->source,
	         r->ep->path, why);
	n = strlen(why);
	why[n] = '\n';   /* the reply's text */
	why[n + 1] = '\0';
	return true;
}

static enum MHD_Result begin(struct listener *l, struct MHD_Connection *c,
                             const char *url, const char *method, void **con_cls)
{
	const transport_env *env = &l->t->env;
	const union MHD_ConnectionInfo *ci;
	struct request *r = calloc(1, sizeof *r);
	unsigned long long declared;
	const char *clen;
	char why[BROWSER_GUARD_WHY + 1];
	int status;

	if (r == NULL)
		return MHD_NO;
	*con_cls = r;
	r->l = l;
	r->c = c;
	/* The connection's address text, made once when it opened (on_connection). */
	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	if (ci != NULL && ci->socket_context != NULL) {
		r->conn = ci->socket_context;
		memcpy(r->source, r->conn->source, sizeof r->source);
	} else {
		ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
		sockaddr_text(ci != NULL ? ci->client_addr : NULL, r->source, sizeof r->source);
	}
	log_debug("%s %s: %s %s", listen_kinds[l->kind].name, r->source, method, url);
	r->ep = find_endpoint(l, url);
	if (r->ep == NULL)
		return respond_text(c, r, MHD_HTTP_NOT_FOUND, "not found\n", NULL, NULL);
	/* DSP0200's extension-framework M-POST: not supported, and it says so. */
	if (strcmp(method, "M-POST") == 0)
		return respond_text(c, r, MHD_HTTP_NOT_IMPLEMENTED, "M-POST is not supported\n",
		                    NULL, NULL);
	if (strcmp(method, MHD_HTTP_METHOD_POST) != 0)
		return respond_text(c, r, MHD_HTTP_METHOD_NOT_ALLOWED, "only POST is served\n",
		                    MHD_HTTP_HEADER_ALLOW, MHD_HTTP_METHOD_POST);
	if (forged(l, c, r, &status, why, sizeof why))
		return respond_text(c, r, status, why, NULL, NULL);
	/* an encrypted envelope may be as big as a plain one: its framing comes on top */
	r->max_body = (size_t)env->cfg->max_envelope_size;
	if (encbody_is_encrypted(header_of(c, MHD_HTTP_HEADER_CONTENT_TYPE)))
		r->max_body += ENCBODY_OVERHEAD_MAX;
	clen = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	declared = clen != NULL ? strtoull(clen, NULL, 10) : 0;
	if (declared > (unsigned long long)r->max_body)
		return respond_text(c, r, MHD_HTTP_CONTENT_TOO_LARGE, "request too large\n",
		                    NULL, NULL);
	/*
	 * A body of the size declared, made once (doubling would hold up to
	 * twice it while the request waits its turn); up to BODY_AHEAD only,
	 * so a client declaring much and sending little holds no more than that.
	 */
	if (declared > 0)
		strbuf_reserve_exact(&r->body, declared < BODY_AHEAD ? (size_t)declared : BODY_AHEAD);
	return MHD_YES;
}

static void take_body(struct request *r, const char *data, size_t n)
{
	if (r->too_large || r->answered)
		return;
	if (r->body.len + n > r->max_body) {
		r->too_large = true;
		strbuf_free(&r->body);
		return;
	}
	strbuf_append(&r->body, data, n);
}

/* Queues R->reply (which is then R's no more). */
static enum MHD_Result respond_now(struct MHD_Connection *c, struct request *r)
{
	http_reply reply = r->reply;

	r->reply = (http_reply){ 0 };
	return respond_reply(c, r, &reply);
}

/* Runs R's handler (R identified); R->reply is its answer unless R is held. */
static void run_handler(struct request *r)
{
	http_reply out = { 0 };

	r->ep->handle(r->ep->ctx, r->caller, &r->req, &out);
	if (r->caller != NULL)
		log_debug("%s: served %s (uid %u%s)", r->source, r->caller->user,
		          (unsigned)r->caller->uid, r->caller->is_admin ? ", admin" : "");
	if (r->held != NULL)
		drop_reply(&out);   /* the holder answers */
	else
		r->reply = out;
}

/*
 * R served off the I/O thread (its connection suspended): resumes it with
 * its reply, or -- a failed login -- once the delay has passed.
 */
static void served(struct request *r)
{
	transport *t = r->l->t;
	bool timer = false;

	pthread_mutex_lock(&t->hold_lock);
	if (r->state == REQ_GONE)
		wake(t, r, REQ_GONE);
	else if (r->not_before <= mono_ms())
		wake(t, r, REQ_READY);
	else if (t->stopping || r->conn == NULL)
		wake(t, r, REQ_GONE);     /* closed unanswered: never early */
	else {
		waiting_add(t, r);
		timer = true;
	}
	pthread_mutex_unlock(&t->hold_lock);
	/* (Only a stop could end R meanwhile, and it stops the workers first.) */
	if (timer)
		conn_watch_timer(t->watcher, &r->conn->w, r->not_before, on_watched, NULL);
}

/* A worker's job: R's PAM check and handler, its connection suspended. */
static void serve_suspended(void *arg)
{
	struct request *r = arg;

	if (r->pam != NULL && pam_caller(r) != 0)
		make_challenge(r->l->t, &r->reply);
	else if (r->nego == NULL || nego_caller(r))
		run_handler(r);
	if (!hold_or_answer(r, false))
		served(r);
}

/* Suspends R's connection and hands R to a worker; false when stopping. */
static bool hand_off(struct request *r)
{
	transport *t = r->l->t;

	pthread_mutex_lock(&t->hold_lock);
	if (t->stopping) {
		pthread_mutex_unlock(&t->hold_lock);
		return false;
	}
	MHD_suspend_connection(r->c);
	r->state = REQ_SERVING;
	pthread_mutex_unlock(&t->hold_lock);
	if (!workers_submit(t->workers, serve_suspended, r))
		serve_suspended(r);   /* out of memory: here, all the same */
	return true;
}

static enum MHD_Result finish(struct listener *l, struct MHD_Connection *c,
                              struct request *r)
{
	int status;

	/* The request is in: what follows is our time, not the client's. */
	watch_set(l->t, c, false);
	if (r->too_large)
		return respond_text(c, r, MHD_HTTP_CONTENT_TOO_LARGE, "request too large\n",
		                    NULL, NULL);
	if (r->body.failed)
		return respond_text(c, r, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n",
		                    NULL, NULL);
	status = identify(l, c, r);
	if (status == MHD_HTTP_UNAUTHORIZED) {
		http_reply reply;

		make_challenge(l->t, &reply);
		return respond_reply(c, r, &reply);
	}
	if (status != 0)
		return respond_text(c, r, status,
		                    r->refused != NULL ? r->refused :
		                    status == MHD_HTTP_BAD_REQUEST ? "malformed Authorization header\n" :
		                    status == MHD_HTTP_INTERNAL_SERVER_ERROR ? "out of memory\n" :
		                    "forbidden\n", NULL, NULL);
	if (!r->sealed && r->nego == NULL &&
	    encbody_is_encrypted(header_of(c, MHD_HTTP_HEADER_CONTENT_TYPE)))
		return respond_text(c, r, MHD_HTTP_BAD_REQUEST,
		                    "an encrypted body needs a Negotiate login on its connection\n",
		                    NULL, NULL);
	request_from_body(r);
	if (r->nego == NULL && (status = body_utf8(r)) != 0)
		return respond_text(c, r, status, r->refused, NULL, NULL);
	if (r->pam != NULL || r->nego != NULL || r->ep->quick == NULL || !r->ep->quick(r->ep->ctx, &r->req)) {
		if (hand_off(r))
			return MHD_YES;
		/* Stopping: closed unanswered, as a connection the stop cuts. */
		closing_unanswered = true;
		return MHD_NO;
	}
	r->state = REQ_SERVING;
	run_handler(r);
	if (hold_or_answer(r, true))
		return MHD_YES;
	if (r->state == REQ_GONE) {
		closing_unanswered = true;
		return MHD_NO;
	}
	return respond_now(c, r);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *data, size_t *size, void **con_cls)
{
	struct listener *l = cls;
	struct request *r = *con_cls;

	(void)version;
	if (r == NULL)
		return begin(l, c, url, method, con_cls);
	if (*size > 0) {
		take_body(r, data, *size);
		*size = 0;
		return MHD_YES;
	}
	if (r->answered)
		return MHD_YES;
	/* Resumed: with the answer, or to close the connection unanswered. */
	if (r->state == REQ_READY)
		return respond_now(c, r);
	if (r->state == REQ_GONE) {
		closing_unanswered = true;
		return MHD_NO;
	}
	return finish(l, c, r);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode why)
{
	struct listener *l = cls;
	struct request *r = *con_cls;

	(void)why;
	/* A kept-alive connection has the same time again for its next request. */
	watch_set(l->t, c, true);
	if (r == NULL)
		return;
	held_detach(l->t, r);
	drop_reply(&r->reply);   /* one never sent */
	pam_check_free(r);
	nego_free(r);
	strbuf_free(&r->body);
	explicit_bzero(r, sizeof *r);
	free(r);
	*con_cls = NULL;
}

/* MHD's log callback: FMT is MHD's own printf format. */
__attribute__((format(printf, 2, 0)))
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	size_t n;

	(void)cls;
	vsnprintf(msg, sizeof msg, fmt, ap);
	n = strlen(msg);
	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = '\0';
	if (tls_handshake_failure(msg))
		return;
	if (closing_unanswered) {   /* our MHD_NO for a request closed on purpose */
		closing_unanswered = false;
		log_debug("libmicrohttpd: %s", msg);
		return;
	}
	log_warn("libmicrohttpd: %s", msg);
}

/* ---- listeners ----------------------------------------------------------- */

/*
 * max_connections, for the listener as a whole: libmicrohttpd splits its
 * own limit among the I/O threads, so one thread that accepted its share
 * would close connections while the listener is under its limit.  Its
 * limit is set to the whole for each thread, and this is the real one
 * (two threads accepting at once may let one more in per thread).
 */
static enum MHD_Result on_accept(void *cls, const struct sockaddr *addr, socklen_t len)
{
	struct listener *l = cls;
	char source[SOURCE_TEXT];

	(void)len;
	if (atomic_load(&l->open) < l->t->env.cfg->max_connections)
		return MHD_YES;
	sockaddr_text(addr, source, sizeof source);
	log_warn("%s %s: max_connections (%d) reached; connection closed",
	         listen_kinds[l->kind].name, l->kind == LISTEN_UNIX ? "client" : source,
	         l->t->env.cfg->max_connections);
	return MHD_NO;
}

/* I/O threads per listener: the CPUs, at most TRANSPORT_IO_THREADS_MAX. */
static unsigned io_threads(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : n > TRANSPORT_IO_THREADS_MAX ? TRANSPORT_IO_THREADS_MAX : (unsigned)n;
}

static struct MHD_Daemon *start_one(struct listener *l)
{
	const rdms_config *cfg = l->t->env.cfg;
	struct MHD_OptionItem opt[14];
	unsigned int flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME |
	                     MHD_USE_ERROR_LOG;
	int n = 0;

	opt[n++] = (struct MHD_OptionItem){ MHD_OPTION_LISTEN_SOCKET, l->sock.fd, NULL };
	opt[n++] = (struct MHD_OptionItem){ MHD_OPTION_THREAD_POOL_SIZE, io_threads(), NULL };
	opt[n++] = (struct MHD_OptionItem){ MHD_OPTION_CONNECTION_MEMORY_LIMIT, CONN_MEMORY,
	                                    NULL };
	opt[n++] = (struct MHD_OptionItem){ MHD_OPTION_NOTIFY_COMPLETED,
	                                    (intptr_t)on_completed, l };
	opt[n++] = (struct MHD_OptionItem){ MHD_OPTION_NOTIFY_CONNECTION,
	                                    (intptr_t)on_connection, l };
	opt[n++] = (struct MHD_OptionItem){ MHD_OPTION_CONNECTION_LIMIT,
	                                    cfg->max_connections * io_threads(), NULL };
	opt[n++] = (struct MHD_OptionItem){ MHD_OPTION_CONNECTION_TIMEOUT,
	                                    cfg->idle_timeout_s, NULL };
	if (l->kind != LISTEN_UNIX)
		opt[n++] = (struct MHD_OptionItem){ MHD_OPTION_PER_IP_CONNECTION_LIMIT,
		                                    cfg->max_connections_per_ip, NULL };
	if (listen_kinds[l->kind].tls) {
		/*
		 * poll(), not epoll, for TLS: libmicrohttpd 0.9.75's epoll loop
		 * keeps a connection whose handshake waits for the client on its
		 * ready list (GNUTLS_E_AGAIN from the handshake does not clear
		 * its read-ready flag), so the I/O thread spins -- a whole core
		 * for each client that sends a ClientHello and stops, until the
		 * request deadline, and hundreds of wasted system calls or more
		 * for every new connection (as long as its handshake takes).
		 * The poll loop waits on what the connection needs.
		 * (test_hostile: test_stalled_handshake.)
		 */
		flags = (flags & ~(unsigned int)MHD_USE_EPOLL_INTERNAL_THREAD) |
		        MHD_USE_POLL_INTERNAL_THREAD | MHD_USE_TLS;
		opt[n++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_CERT, 0, l->t->cert_pem };
		opt[n++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_KEY, 0, l->t->key_pem };
		opt[n++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_PRIORITIES, 0,
		                                    (void *)TLS_PRIORITIES };
		/* brokers (WS-Man only): a client certificate is asked for, not required */
		if (l->kind == LISTEN_HTTPS && l->t->fleet != NULL)
			opt[n++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_TRUST, 0,
			                                    (void *)fleet_trust_ca_pem(l->t->fleet) };
	}
	opt[n++] = (struct MHD_OptionItem){ MHD_OPTION_END, 0, NULL };
	/* The logger goes first, or MHD reports option errors on stderr itself. */
	return MHD_start_daemon(flags, 0, on_accept, l, on_request, l,
	                        MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
	                        MHD_OPTION_ARRAY, opt, MHD_OPTION_END);
}

/* The timer thread and the workers, before any listener. */
static uint32_t threads_start(transport *t, rdms_error *err)
{
	if (t->watcher == NULL &&
	    (t->watcher = conn_watcher_new(t->env.cfg->request_timeout_s, on_cut)) == NULL)
		return rdms_fail(err, WBEM_E_FAILED, "cannot set up the request timers");
	if (!conn_watcher_start(t->watcher))
		return rdms_fail(err, WBEM_E_FAILED, "cannot start the request timer thread");
	if (t->workers == NULL && (t->workers = workers_new(TRANSPORT_WORKERS)) == NULL)
		return rdms_fail(err, WBEM_E_FAILED, "cannot start the worker threads");
	return WBEM_S_NO_ERROR;
}

uint32_t transport_start(transport *t, const transport_env *env, rdms_error *err)
{
	t->env = *env;
	t->stopping = false;
	if (threads_start(t, err) != WBEM_S_NO_ERROR) {
		transport_stop(t);
		return WBEM_E_FAILED;
	}
	for (int k = 0; k < LISTEN_KINDS; k++) {
		struct listener *l = &t->l[k];

		if (l->sock.fd < 0 || l->mhd != NULL)
			continue;
		l->mhd = start_one(l);
		if (l->mhd == NULL) {
			transport_stop(t);
			return rdms_fail(err, WBEM_E_FAILED, "%s %s: cannot start the HTTP server",
			                 listen_kinds[k].name, l->sock.address);
		}
		if (l->kind == LISTEN_UNIX)
			log_info("serving %s %s", listen_kinds[k].name, l->sock.address);
		else
			log_info("serving %s on %s:%d%s", listen_kinds[k].name,
			         l->sock.address[0] != '\0' ? l->sock.address : "*", l->sock.port,
			         l->sock.loopback ? " (loopback)" : "");
	}
	return WBEM_S_NO_ERROR;
}

void transport_stop(transport *t)
{
	pthread_mutex_lock(&t->hold_lock);
	t->stopping = true;
	pthread_mutex_unlock(&t->hold_lock);
	for (int k = 0; k < LISTEN_KINDS; k++)
		if (t->l[k].mhd != NULL)   /* no new connections; keeps our listening socket open */
			MHD_quiesce_daemon(t->l[k].mhd);
	/* Requests on workers finish (each resumes its connection or waits) ... */
	if (t->workers != NULL) {
		workers_free(t->workers);
		t->workers = NULL;
	}
	/* ... and every waiting one is closed unanswered: libmicrohttpd stops
	 * only with no connection suspended. */
	pthread_mutex_lock(&t->hold_lock);
	while (t->waiting != NULL)
		wake(t, t->waiting, REQ_GONE);
	pthread_mutex_unlock(&t->hold_lock);
	for (int k = 0; k < LISTEN_KINDS; k++) {
		struct listener *l = &t->l[k];

		if (l->mhd == NULL)
			continue;
		MHD_stop_daemon(l->mhd);
		l->mhd = NULL;
	}
	if (t->watcher != NULL)
		conn_watcher_stop(t->watcher);
}

void transport_free(transport *t)
{
	if (t == NULL)
		return;
	transport_stop(t);
	conn_watcher_free(t->watcher);
	fleet_trust_free(t->fleet);
	free(t->cert_pem);
	if (t->key_pem != NULL)
		explicit_bzero(t->key_pem, strlen(t->key_pem));
	free(t->key_pem);
	pthread_mutex_destroy(&t->hold_lock);
	free(t);
}
