/*
 * http.c -- the HTTP(S) and Unix-socket servers on libmicrohttpd (http.h).
 *
 * Listeners: WS-Management over HTTP and HTTPS (http_port, https_port),
 * CIM-XML over HTTP and HTTPS (cimxml_http_port, cimxml_https_port) and the
 * Unix socket.  A TCP listener serves the endpoints of its protocol only
 * and is opened only when such an endpoint exists; the Unix socket serves
 * them all.
 *
 * Each listener is one MHD daemon in thread-per-connection mode: a failed
 * login is answered only after a delay (pam_auth.h), and that sleep must
 * stall only the connection that earned it.  Connections are capped
 * (max_connections, max_connections_per_ip) and idle ones time out
 * (idle_timeout_s), so the thread count stays bounded.
 *
 * MHD's time-out is one of inactivity: a client sending a byte a second
 * would hold its connection (and thread) for ever.  So each connection also
 * has a deadline, request_timeout_s after it opened or after its previous
 * reply, by which its whole request must be in; a reaper thread shuts down
 * the socket of a connection past it, and MHD then closes it as it would a
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
 *   TCP:         Basic credentials, checked by PAM; protocol of the endpoint.
 * Plain HTTP is served on loopback only unless allow_remote_http is set
 * (transport_bind refuses otherwise), so Basic passwords cross the network
 * only inside TLS by default.
 */
#include "http.h"

#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "../auth/basic.h"
#include "../common/log.h"
#include "../common/strutil.h"
#include "listen.h"
#include "tls.h"
#include "tls_handshake.h"

#define TLS_PRIORITIES  "NORMAL:-VERS-SSL3.0:-VERS-TLS1.0:-VERS-TLS1.1"
#define BASIC_CHALLENGE "Basic realm=\"WSMAN\""
#define SOURCE_TEXT     96   /* "[v6 address]:port" */

/* A socket of priv's listen_set (listen.h), and the server on it. */
struct listener {
	enum listen_kind    kind;
	listen_socket       sock;           /* fd -1: not served */
	struct MHD_Daemon  *mhd;
	transport          *t;
};

/* One open connection and its request deadline (see reaper()). */
struct conn_watch {
	struct conn_watch *prev, *next;
	int                fd;
	int64_t            deadline;       /* CLOCK_MONOTONIC ms; 0: none */
	bool               cut;            /* shut down by the reaper */
	const char        *kind;
	char               source[SOURCE_TEXT];
	bool               tls;            /* TLS's handshake is followed in PEER */
	tls_peer           peer;
};

struct transport {
	struct listener      l[LISTEN_KINDS];
	const http_endpoint *endpoints;
	size_t               nendpoints;
	char                *cert_pem;
	char                *key_pem;
	transport_env        env;

	/* the request deadlines: every open connection, and the reaper */
	pthread_mutex_t      watch_lock;
	pthread_cond_t       watch_cond;
	struct conn_watch   *watches;
	pthread_t            reaper;
	bool                 reaper_running;
	bool                 reaper_stop;
	bool                 reaper_idle;  /* waiting without a deadline */
};

/* One request's state, from the first call of the handler to completion. */
struct request {
	const http_endpoint *ep;
	strbuf               body;
	bool                 too_large;
	bool                 answered;      /* a response is queued already */
	char                 source[SOURCE_TEXT];
	rdms_caller          who;
};

/* ---- request deadlines ---------------------------------------------------- */

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool watch_init(transport *t)
{
	pthread_condattr_t attr;
	bool ok;

	if (pthread_condattr_init(&attr) != 0)
		return false;
	ok = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC) == 0
	  && pthread_cond_init(&t->watch_cond, &attr) == 0;
	pthread_condattr_destroy(&attr);
	if (ok && pthread_mutex_init(&t->watch_lock, NULL) != 0) {
		pthread_cond_destroy(&t->watch_cond);
		ok = false;
	}
	return ok;
}

/* Arms (ARM) or lifts the deadline of W; the lock is held. */
static void watch_arm(transport *t, struct conn_watch *w, bool arm)
{
	if (w->cut)
		return;
	w->deadline = arm ? now_ms() + (int64_t)t->env.cfg->request_timeout_s * 1000 : 0;
	if (arm && t->reaper_idle) {
		t->reaper_idle = false;
		pthread_cond_signal(&t->watch_cond);
	}
}

/* The same for connection C, found through its socket context. */
static void watch_set(transport *t, struct MHD_Connection *c, bool arm)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	struct conn_watch *w = ci != NULL ? ci->socket_context : NULL;

	if (w == NULL)
		return;
	pthread_mutex_lock(&t->watch_lock);
	watch_arm(t, w, arm);
	pthread_mutex_unlock(&t->watch_lock);
}

/* Shuts down every connection past its deadline; returns the next deadline. */
static int64_t reap(transport *t, int64_t now)
{
	int64_t next = 0;

	for (struct conn_watch *w = t->watches; w != NULL; w = w->next) {
		if (w->deadline == 0)
			continue;
		if (w->deadline > now) {
			if (next == 0 || w->deadline < next)
				next = w->deadline;
			continue;
		}
		log_warn("%s %s: no complete request within %d s; connection closed", w->kind,
		         w->source, t->env.cfg->request_timeout_s);
		/* MHD sees end-of-file and closes; the fd stays MHD's to close. */
		shutdown(w->fd, SHUT_RDWR);
		w->deadline = 0;
		w->cut = true;
	}
	return next;
}

static void *reaper(void *arg)
{
	transport *t = arg;

	pthread_mutex_lock(&t->watch_lock);
	while (!t->reaper_stop) {
		int64_t next = reap(t, now_ms());

		t->reaper_idle = next == 0;
		if (next == 0) {
			pthread_cond_wait(&t->watch_cond, &t->watch_lock);
		} else {
			struct timespec ts = { (time_t)(next / 1000), (long)(next % 1000) * 1000000 };

			pthread_cond_timedwait(&t->watch_cond, &t->watch_lock, &ts);
		}
	}
	pthread_mutex_unlock(&t->watch_lock);
	return NULL;
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
	struct conn_watch *w;
	bool idle;

	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *fd =
			MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
		const union MHD_ConnectionInfo *ca =
			MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);

		*socket_context = NULL;
		if (fd == NULL || (w = calloc(1, sizeof *w)) == NULL)
			return;   /* unwatched: the idle time-out still applies */
		w->fd = fd->connect_fd;
		w->kind = listen_kinds[l->kind].name;
		sockaddr_text(ca != NULL ? ca->client_addr : NULL, w->source, sizeof w->source);
		if (listen_kinds[l->kind].tls) {
			const union MHD_ConnectionInfo *ts =
				MHD_get_connection_info(c, MHD_CONNECTION_INFO_GNUTLS_SESSION);

			w->tls = ts != NULL && ts->tls_session != NULL;
			w->peer = (tls_peer){ .kind = w->kind, .source = w->source };
			if (w->tls)
				tls_peer_watch(&w->peer, ts->tls_session);
		}
		pthread_mutex_lock(&t->watch_lock);
		w->next = t->watches;
		if (t->watches != NULL)
			t->watches->prev = w;
		t->watches = w;
		watch_arm(t, w, true);
		pthread_mutex_unlock(&t->watch_lock);
		*socket_context = w;
		return;
	}
	w = *socket_context;
	if (w == NULL)
		return;
	pthread_mutex_lock(&t->watch_lock);
	if (w->prev != NULL)
		w->prev->next = w->next;
	else
		t->watches = w->next;
	if (w->next != NULL)
		w->next->prev = w->prev;
	idle = t->watches == NULL;
	pthread_mutex_unlock(&t->watch_lock);
	if (w->tls)
		tls_peer_closed(&w->peer);
	free(w);
	*socket_context = NULL;
	/*
	 * The last connection is gone: give back what glibc keeps of freed
	 * memory (each connection thread has an arena of its own, and a big
	 * enumeration's buffers or a burst of connections leave megabytes
	 * there).  Cheap next to a connection's life, and only when idle.
	 */
	if (idle)
		malloc_trim(0);
}

static uint32_t reaper_start(transport *t, rdms_error *err)
{
	if (t->reaper_running)
		return WBEM_S_NO_ERROR;
	t->reaper_stop = false;
	if (pthread_create(&t->reaper, NULL, reaper, t) != 0)
		return rdms_fail(err, WBEM_E_FAILED, "cannot start the request timer thread");
	t->reaper_running = true;
	return WBEM_S_NO_ERROR;
}

/* After the MHD daemons stopped: no connection is left to watch. */
static void reaper_stop(transport *t)
{
	if (!t->reaper_running)
		return;
	pthread_mutex_lock(&t->watch_lock);
	t->reaper_stop = true;
	pthread_cond_signal(&t->watch_cond);
	pthread_mutex_unlock(&t->watch_lock);
	pthread_join(t->reaper, NULL);
	t->reaper_running = false;
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
	if (!watch_init(t)) {
		free(t);
		rdms_fail(err, WBEM_E_FAILED, "cannot set up the request timers");
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
 */
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
	resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, BODY_STREAM_PIECE, stream_read,
	                                         st, stream_free);
	if (resp == NULL)
		stream_free(st);
	return resp;
}

/* Queues REPLY; its body (malloc'd, may be NULL) and stream are taken over. */
static enum MHD_Result respond_reply(struct MHD_Connection *c, struct request *r,
                                     http_reply *reply)
{
	struct MHD_Response *resp;
	enum MHD_Result ok;

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
	ok = MHD_queue_response(c, (unsigned)reply->status, resp);
	MHD_destroy_response(resp);
	r->answered = true;
	log_debug("%s -> %d", r->source, reply->status);
	return ok;
}

/* The same for a transport-made answer. */
static enum MHD_Result respond(struct MHD_Connection *c, struct request *r, int status,
                               char *body, size_t len, const char *ctype,
                               const char *hname, const char *hvalue)
{
	http_reply reply = { .status = status, .body = body, .len = len, .content_type = ctype,
	                     .extra = { { hname, hvalue } } };

	return respond_reply(c, r, &reply);
}

/* A short plain-text error page. */
static enum MHD_Result respond_text(struct MHD_Connection *c, struct request *r, int status,
                                    const char *text, const char *hname, const char *hvalue)
{
	char *body = strdup(text);

	return respond(c, r, status, body, body != NULL ? strlen(body) : 0,
	               "text/plain;charset=UTF-8", hname, hvalue);
}

static enum MHD_Result challenge(struct MHD_Connection *c, struct request *r)
{
	return respond(c, r, MHD_HTTP_UNAUTHORIZED, NULL, 0, NULL,
	               MHD_HTTP_HEADER_WWW_AUTHENTICATE, BASIC_CHALLENGE);
}

/* ---- identifying the caller ---------------------------------------------- */

/* USER made safe for one log line: no control or non-ASCII bytes. */
static void log_safe(const char *user, char *out, size_t size)
{
	size_t o = 0;

	for (const unsigned char *p = (const unsigned char *)user; *p != '\0'; p++) {
		if (o + 5 >= size)
			break;
		if (*p >= 0x20 && *p < 0x7f && *p != '\\' && *p != '\'')
			out[o++] = (char)*p;
		else
			o += (size_t)snprintf(out + o, size - o, "\\x%02x", *p);
	}
	out[o] = '\0';
}

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

/* Basic credentials checked by PAM; 0 or the HTTP status to answer. */
static int basic_caller(struct listener *l, struct MHD_Connection *c, struct request *r,
                        const char *value, size_t vlen, const char *rhost)
{
	const transport_env *env = &l->t->env;
	basic_cred cred;
	rdms_error err = { 0 };
	char safe[300];
	uint32_t rc;

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
	rc = pam_auth_check(env->pam, cred.user, cred.password, rhost, r->who.user,
	                    sizeof r->who.user, &r->who.uid, &err);
	if (rc != 0) {
		log_safe(cred.user, safe, sizeof safe);
		log_warn("%s %s: login failed for '%s': %s", listen_kinds[l->kind].name, r->source,
		         safe, err.message);
		basic_cred_wipe(&cred);
		return MHD_HTTP_UNAUTHORIZED;
	}
	basic_cred_wipe(&cred);
	r->who.is_admin = authz_is_admin(env->authz, env->cfg->admin_group, r->who.user,
	                                 r->who.uid);
	r->who.protocol = r->ep->protocol;
	r->who.source = r->source;
	return 0;
}

/*
 * Identifies the caller of R.  Returns 0 with *WHO set (NULL for an
 * anonymous request), or the HTTP status to answer.
 */
static int identify(struct listener *l, struct MHD_Connection *c, struct request *r,
                    const rdms_caller **who)
{
	const union MHD_ConnectionInfo *ci;
	const char *value = NULL;
	size_t vlen = 0;
	char rhost[64];
	int status;

	*who = NULL;
	if (l->kind == LISTEN_UNIX) {
		status = peer_caller(l, c, r);
		if (status == 0)
			*who = &r->who;
		return status;
	}
	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	sockaddr_host(ci != NULL ? ci->client_addr : NULL, rhost, sizeof rhost);
	if (MHD_lookup_connection_value_n(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION,
	                                  strlen(MHD_HTTP_HEADER_AUTHORIZATION),
	                                  &value, &vlen) != MHD_YES) {
		if (r->ep->anonymous != NULL && r->ep->anonymous(r->body.data, r->body.len))
			return 0;
		return MHD_HTTP_UNAUTHORIZED;
	}
	status = basic_caller(l, c, r, value, vlen, rhost);
	if (status == 0)
		*who = &r->who;
	return status;
}

/* ---- the three steps of a request ---------------------------------------- */

const char *http_header(const http_request *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
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

static enum MHD_Result begin(struct listener *l, struct MHD_Connection *c,
                             const char *url, const char *method, void **con_cls)
{
	const transport_env *env = &l->t->env;
	const union MHD_ConnectionInfo *ci;
	struct request *r = calloc(1, sizeof *r);
	const char *clen;

	if (r == NULL)
		return MHD_NO;
	*con_cls = r;
	/* The connection's address text, made once when it opened (on_connection). */
	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	if (ci != NULL && ci->socket_context != NULL) {
		const struct conn_watch *w = ci->socket_context;

		memcpy(r->source, w->source, sizeof r->source);
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
	clen = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (clen != NULL && strtoull(clen, NULL, 10) > (unsigned long long)env->cfg->max_envelope_size)
		return respond_text(c, r, MHD_HTTP_CONTENT_TOO_LARGE, "request too large\n",
		                    NULL, NULL);
	return MHD_YES;
}

static void take_body(const transport_env *env, struct request *r, const char *data,
                      size_t n)
{
	if (r->too_large || r->answered)
		return;
	if (r->body.len + n > (size_t)env->cfg->max_envelope_size) {
		r->too_large = true;
		strbuf_free(&r->body);
		return;
	}
	strbuf_append(&r->body, data, n);
}

static enum MHD_Result finish(struct listener *l, struct MHD_Connection *c,
                              struct request *r)
{
	http_reply reply = { 0 };
	http_request req;
	const rdms_caller *who;
	int status;

	/* The request is in: what follows is our time, not the client's. */
	watch_set(l->t, c, false);
	if (r->too_large)
		return respond_text(c, r, MHD_HTTP_CONTENT_TOO_LARGE, "request too large\n",
		                    NULL, NULL);
	if (r->body.failed)
		return respond_text(c, r, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n",
		                    NULL, NULL);
	status = identify(l, c, r, &who);
	if (status == MHD_HTTP_UNAUTHORIZED)
		return challenge(c, r);
	if (status != 0)
		return respond_text(c, r, status, status == MHD_HTTP_BAD_REQUEST ?
		                    "malformed Authorization header\n" : "forbidden\n", NULL, NULL);
	req.body = r->body.data != NULL ? r->body.data : "";
	req.len = r->body.len;
	req.conn = c;
	r->ep->handle(r->ep->ctx, who, &req, &reply);
	if (who != NULL)
		log_debug("%s: served %s (uid %u%s)", r->source, who->user, (unsigned)who->uid,
		          who->is_admin ? ", admin" : "");
	return respond_reply(c, r, &reply);
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
		take_body(&l->t->env, r, data, *size);
		*size = 0;
		return MHD_YES;
	}
	if (r->answered)
		return MHD_YES;
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
	strbuf_free(&r->body);
	explicit_bzero(r, sizeof *r);
	free(r);
	*con_cls = NULL;
}

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
	log_warn("libmicrohttpd: %s", msg);
}

/* ---- listeners ----------------------------------------------------------- */

static struct MHD_Daemon *start_one(struct listener *l)
{
	const rdms_config *cfg = l->t->env.cfg;
	struct MHD_OptionItem opt[12];
	unsigned int flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
	                     MHD_USE_POLL | MHD_USE_ITC | MHD_USE_ERROR_LOG;
	int n = 0;

	opt[n++] = (struct MHD_OptionItem){ MHD_OPTION_LISTEN_SOCKET, l->sock.fd, NULL };
	opt[n++] = (struct MHD_OptionItem){ MHD_OPTION_NOTIFY_COMPLETED,
	                                    (intptr_t)on_completed, l };
	opt[n++] = (struct MHD_OptionItem){ MHD_OPTION_NOTIFY_CONNECTION,
	                                    (intptr_t)on_connection, l };
	opt[n++] = (struct MHD_OptionItem){ MHD_OPTION_CONNECTION_LIMIT,
	                                    cfg->max_connections, NULL };
	opt[n++] = (struct MHD_OptionItem){ MHD_OPTION_CONNECTION_TIMEOUT,
	                                    cfg->idle_timeout_s, NULL };
	if (l->kind != LISTEN_UNIX)
		opt[n++] = (struct MHD_OptionItem){ MHD_OPTION_PER_IP_CONNECTION_LIMIT,
		                                    cfg->max_connections_per_ip, NULL };
	if (listen_kinds[l->kind].tls) {
		flags |= MHD_USE_TLS;
		opt[n++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_CERT, 0, l->t->cert_pem };
		opt[n++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_KEY, 0, l->t->key_pem };
		opt[n++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_PRIORITIES, 0,
		                                    (void *)TLS_PRIORITIES };
	}
	opt[n++] = (struct MHD_OptionItem){ MHD_OPTION_END, 0, NULL };
	/* The logger goes first, or MHD reports option errors on stderr itself. */
	return MHD_start_daemon(flags, 0, NULL, NULL, on_request, l,
	                        MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
	                        MHD_OPTION_ARRAY, opt, MHD_OPTION_END);
}

uint32_t transport_start(transport *t, const transport_env *env, rdms_error *err)
{
	t->env = *env;
	if (reaper_start(t, err) != WBEM_S_NO_ERROR)
		return WBEM_E_FAILED;
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
	for (int k = 0; k < LISTEN_KINDS; k++) {
		struct listener *l = &t->l[k];

		if (l->mhd == NULL)
			continue;
		/* Quiescing first keeps MHD from closing our listening socket. */
		MHD_quiesce_daemon(l->mhd);
		MHD_stop_daemon(l->mhd);
		l->mhd = NULL;
	}
	reaper_stop(t);
}

void transport_free(transport *t)
{
	if (t == NULL)
		return;
	transport_stop(t);
	free(t->cert_pem);
	if (t->key_pem != NULL)
		explicit_bzero(t->key_pem, strlen(t->key_pem));
	free(t->key_pem);
	pthread_cond_destroy(&t->watch_cond);
	pthread_mutex_destroy(&t->watch_lock);
	free(t);
}
