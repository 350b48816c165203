/*
 * proxy.c -- the network process's side of privilege separation
 * (privsep.h): a session back-end, an audit hook and a PAM check that are
 * requests to the privileged process.
 *
 * The operation layer keeps working as it does with real back-ends: its
 * provider has one back-end, "privsep", whose enumerate, each and find ask
 * priv for the sessions of all real back-ends at once (one round trip,
 * sessions in batches; each hands them on batch by batch, never holding
 * them all).  Each session it hands out points to a proxy named after
 * the real back-end that found it ("xrdp", "x2go", ...), so `rdms list`
 * and the actions know where it came from; an action on it sends priv that
 * back-end's index and the session's identity.
 *
 * The back-end interface has no context argument, so the client lives in
 * one static pointer: there is one net process and one client in it.
 *
 * A broken channel -- priv gone, or a reply that is not what was asked
 * for -- leaves the channel out of step with its requests, so the process
 * stops (fatal); systemd restarts the pair.
 */
#include "privsep.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../backend/userexec.h"
#include "../events/feed_internal.h"
#include "../schema/schema.h"
#include "../common/log.h"
#include "../common/strutil.h"

#define MAX_BACKENDS 8

struct priv_client {
	int                 fd[PRIV_CHANNELS];
	unsigned char      *buf[PRIV_CHANNELS];   /* PRIV_MSG_MAX each */
	bool                busy[PRIV_CHANNELS];
	pthread_mutex_t     lock;
	pthread_cond_t      freed;
	uint32_t            next_id;
	char                names[MAX_BACKENDS][16];
	rdms_backend        named[MAX_BACKENDS];  /* what sessions point to */
	const rdms_backend *named_ptr[MAX_BACKENDS];
	size_t              nnamed;
};

static priv_client *client;

/* One request/reply exchange on a channel held for its duration. */
struct exchange {
	priv_client   *c;
	int            ch;
	uint32_t       id;
	unsigned char *buf;
};

static void exchange_begin(priv_client *c, struct exchange *x)
{
	pthread_mutex_lock(&c->lock);
	for (;;) {
		for (int i = 0; i < PRIV_CHANNELS; i++) {
			if (!c->busy[i]) {
				c->busy[i] = true;
				*x = (struct exchange){ c, i, ++c->next_id, c->buf[i] };
				pthread_mutex_unlock(&c->lock);
				return;
			}
		}
		pthread_cond_wait(&c->freed, &c->lock);
	}
}

static void exchange_end(struct exchange *x)
{
	pthread_mutex_lock(&x->c->lock);
	x->c->busy[x->ch] = false;
	pthread_cond_signal(&x->c->freed);
	pthread_mutex_unlock(&x->c->lock);
}

/* Sends the LEN-byte request in X's buffer (0: it did not fit). */
static uint32_t exchange_send(struct exchange *x, size_t len, rdms_error *err)
{
	if (len == 0)
		return rdms_fail(err, WBEM_E_INVALID_PARAMETER,
		                 "privsep: the request does not fit in a message");
	if (!priv_send(x->c->fd[x->ch], x->buf, len, err))
		fatal("lost the privileged process: %s", err->message);
	return WBEM_S_NO_ERROR;
}

/*
 * The next reply of X, into X's buffer; any surprise is fatal.  PASSED:
 * where a descriptor that comes with it goes (NULL: none may come).
 */
static void exchange_recv_fd(struct exchange *x, priv_header *h, int *passed)
{
	rdms_error err = { 0 };
	size_t n;

	if (priv_recv_fd(x->c->fd[x->ch], x->buf, &n, h, passed, &err) != WBEM_S_NO_ERROR)
		fatal("lost the privileged process: %s", err.message);
	if (h->id != x->id)
		fatal("privsep: reply %u to request %u", (unsigned)h->id, (unsigned)x->id);
}

static void exchange_recv(struct exchange *x, priv_header *h)
{
	exchange_recv_fd(x, h, NULL);
}

static const unsigned char *payload(const struct exchange *x)
{
	return x->buf + PRIV_HEADER_SIZE;
}

/* Reads a PRIV_DONE reply already received; its rc (and ERR when not 0). */
static uint32_t take_done(struct exchange *x, const priv_header *h, rdms_error *err)
{
	priv_done d;
	rdms_error e = { 0 };

	if (h->type != PRIV_DONE)
		fatal("privsep: %s where DONE was due", priv_type_name(h->type));
	if (priv_decode_done(payload(x), h->len, &d, &e) != WBEM_S_NO_ERROR)
		fatal("%s", e.message);
	if (d.rc != WBEM_S_NO_ERROR)
		rdms_fail(err, d.rc, "%s", d.error);
	return d.rc;
}

/*
 * Where the sessions of SESSIONS replies go: decoded into LIST (appended),
 * or with FN, each handed to FN as it is decoded, so a walk holds one
 * session at a time, not every session (nor a message's worth).
 */
struct sink {
	rdms_session_list *list;   /* without FN */
	rdms_session_fn    fn;     /* NULL: the sessions stay in LIST */
	void              *ctx;
};

/* What FN of a sink said, told apart from a malformed message. */
struct relay {
	const struct sink *k;
	uint32_t           rc;
	rdms_error        *err;
};

/* An rdms_session_fn (CTX: a relay): S to the sink's FN. */
static uint32_t relay_one(void *ctx, const rdms_session *s, rdms_error *e)
{
	struct relay *rl = ctx;

	(void)e;
	rl->rc = rl->k->fn(rl->k->ctx, s, rl->err);
	return rl->rc;
}

/*
 * One SESSIONS payload into K: WBEM_S_NO_ERROR, K's failure (FN's error,
 * or out of memory: in ERR), or -- a malformed message -- fatal.
 */
static uint32_t take_sessions(struct exchange *x, size_t len, const struct sink *k,
                              rdms_error *err)
{
	rdms_error e = { 0 };
	struct relay rl = { .k = k, .rc = WBEM_S_NO_ERROR, .err = err };
	uint32_t rc;

	if (k->fn != NULL)
		rc = priv_decode_sessions_each(payload(x), len, x->c->named_ptr, x->c->nnamed,
		                               relay_one, &rl, &e);
	else
		rc = priv_decode_sessions(payload(x), len, x->c->named_ptr, x->c->nnamed, k->list,
		                          &e);
	if (rl.rc != WBEM_S_NO_ERROR)
		return rl.rc;
	if (rc == WBEM_E_OUT_OF_MEMORY) {
		*err = e;
		return rc;
	}
	if (rc != WBEM_S_NO_ERROR)
		fatal("%s", e.message);
	return WBEM_S_NO_ERROR;
}

/*
 * Sends the request in X (LEN bytes) and takes the SESSIONS replies into K
 * up to DONE.  Once K fails (out of memory, or FN's error) the rest is read
 * and dropped, so the channel stays in step, and that error is returned;
 * otherwise DONE's.  Without FN, on failure K's list keeps only what it had.
 */
static uint32_t receive(struct exchange *x, size_t len, const struct sink *k, rdms_error *err)
{
	size_t start = k->list != NULL ? k->list->count : 0;
	uint32_t rc = exchange_send(x, len, err), failed = WBEM_S_NO_ERROR;
	rdms_error ignored = { 0 };
	priv_header h;

	if (rc != WBEM_S_NO_ERROR)
		return rc;
	for (;;) {
		exchange_recv(x, &h);
		if (h.type != PRIV_SESSIONS)
			break;
		if (failed != WBEM_S_NO_ERROR)
			continue;   /* read on to DONE, so the channel stays in step */
		failed = take_sessions(x, h.len, k, err);
	}
	rc = take_done(x, &h, failed != WBEM_S_NO_ERROR ? &ignored : err);
	if (failed != WBEM_S_NO_ERROR)
		rc = failed;
	if (rc != WBEM_S_NO_ERROR && k->list != NULL)
		k->list->count = start;
	return rc;
}

/* ---- the back-end -------------------------------------------------------- */

/* An ENUMERATE exchange: every session of priv's back-ends, into K. */
static uint32_t enumerate_into(const struct sink *k, rdms_error *err)
{
	struct exchange x;
	uint32_t rc;

	exchange_begin(client, &x);
	rc = receive(&x, priv_encode_empty(x.buf, PRIV_MSG_MAX, x.id, PRIV_ENUMERATE), k, err);
	exchange_end(&x);
	return rc;
}

static uint32_t proxy_enumerate(const rdms_config *cfg, rdms_session_list *out,
                                rdms_error *err)
{
	struct sink k = { .list = out };

	(void)cfg;
	return enumerate_into(&k, err);
}

/*
 * Every session of priv's back-ends to FN, each as it is decoded: one
 * session is held at a time (a message's worth of 624-byte sessions
 * would be 700 KB, made again at every snapshot refresh).  A
 * failure in priv after some batches went out reaches the caller as an
 * error after FN has seen those sessions, so the caller drops what it made
 * of them.  FN runs while the walk holds a channel, so it must not wait for
 * another request to priv (every channel might be held by such walks).
 */
static uint32_t proxy_each(const rdms_config *cfg, rdms_session_fn fn, void *ctx,
                           rdms_error *err)
{
	struct sink k = { .fn = fn, .ctx = ctx };

	(void)cfg;
	return enumerate_into(&k, err);
}

static uint32_t proxy_find(const rdms_config *cfg, uint32_t id, rdms_session *out,
                           rdms_error *err)
{
	rdms_session_list l = { 0 };
	struct sink k = { .list = &l };
	struct exchange x;
	uint32_t rc;

	(void)cfg;
	exchange_begin(client, &x);
	rc = receive(&x, priv_encode_find(x.buf, PRIV_MSG_MAX, x.id, id), &k, err);
	exchange_end(&x);
	if (rc == WBEM_S_NO_ERROR) {
		if (l.count == 1)
			*out = l.items[0];
		else
			rc = rdms_fail(err, WBEM_E_PROVIDER_FAILURE,
			               "privsep: %zu sessions found for SessionId %u", l.count,
			               (unsigned)id);
	}
	rdms_session_list_free(&l);
	return rc;
}

/* The index of S's back-end in priv's list, or -1 when S did not come from priv. */
static int backend_index(const priv_client *c, const rdms_session *s)
{
	for (size_t i = 0; i < c->nnamed; i++)
		if (c->named_ptr[i] == s->backend)
			return (int)i;
	return -1;
}

/*
 * ACTION on S through priv.  A message that waits for its user comes back
 * with the descriptor to wait on, and is waited for here, in the request's
 * own thread: priv's channel is free again at once.
 */
static uint32_t proxy_act(const rdms_config *cfg, const rdms_session *s,
                          enum priv_action action, const char *title, const char *text,
                          const rdms_message_options *opt, rdms_error *err)
{
	int backend = backend_index(client, s);
	priv_act *a;
	struct exchange x;
	priv_header h;
	uint32_t rc, timeout_s = 0;
	bool wait = opt != NULL && opt->wait;
	int wait_fd = -1;

	if (backend < 0)
		return rdms_fail(err, WBEM_E_PROVIDER_FAILURE,
		                 "session %u was not found through the privileged process",
		                 (unsigned)s->id);
	a = calloc(1, sizeof *a);
	if (a == NULL)
		return rdms_fail(err, WBEM_E_OUT_OF_MEMORY, "out of memory");
	a->action = (uint8_t)action;
	a->backend = (uint8_t)backend;
	a->id = s->id;
	a->uid = (uint32_t)s->uid;
	a->server_pid = (int32_t)s->server_pid;
	if (opt != NULL) {
		timeout_s = a->timeout_s = opt->timeout_s;
		a->wait = wait;
	}
	if (timeout_s == 0)
		timeout_s = (uint32_t)cfg->message_timeout_s;
	/* The operation layer checked both against the same limits (message.h). */
	if (!str_copy(a->title, sizeof a->title, title) ||
	    !str_copy(a->text, sizeof a->text, text)) {
		free(a);
		return rdms_fail(err, WBEM_E_INVALID_PARAMETER, "Title or Message is too long");
	}
	exchange_begin(client, &x);
	rc = exchange_send(&x, priv_encode_act(x.buf, PRIV_MSG_MAX, x.id, a), err);
	free(a);
	if (rc == WBEM_S_NO_ERROR) {
		exchange_recv_fd(&x, &h, wait ? &wait_fd : NULL);
		rc = take_done(&x, &h, err);
	}
	exchange_end(&x);
	if (rc == WBEM_S_NO_ERROR && wait && wait_fd < 0)
		rc = rdms_fail(err, WBEM_E_FAILED, "privsep: no dialog to wait for came back");
	else if (rc == WBEM_S_NO_ERROR && wait)
		return rdms_message_wait(wait_fd, timeout_s, err);
	if (wait_fd >= 0)
		close(wait_fd);
	return rc;
}

static uint32_t proxy_disconnect(const rdms_config *cfg, const rdms_session *s,
                                 rdms_error *err)
{
	return proxy_act(cfg, s, PRIV_DISCONNECT, "", "", NULL, err);
}

static uint32_t proxy_logoff(const rdms_config *cfg, const rdms_session *s, rdms_error *err)
{
	return proxy_act(cfg, s, PRIV_LOGOFF, "", "", NULL, err);
}

static uint32_t proxy_send_message(const rdms_config *cfg, const rdms_session *s,
                                   const char *title, const char *message,
                                   const rdms_message_options *opt, rdms_error *err)
{
	return proxy_act(cfg, s, PRIV_MESSAGE, title, message, opt, err);
}

/* Up to PRIV_IDLE_MAX sessions in one IDLE exchange; unknown where anything fails. */
static void idle_chunk(const rdms_session *s, size_t n, uint32_t *idle, priv_idle *req,
                       priv_idle_reply *rep)
{
	rdms_error err = { 0 };
	struct exchange x;
	priv_header h;

	req->count = 0;
	for (size_t i = 0; i < n; i++) {
		int b = backend_index(client, &s[i]);

		idle[i] = RDMS_IDLE_UNKNOWN;
		if (b < 0)
			return;
		req->v[req->count++] = (priv_idle_session){ (uint8_t)b, s[i].id, (uint32_t)s[i].uid,
		                                            (int32_t)s[i].server_pid };
	}
	exchange_begin(client, &x);
	if (exchange_send(&x, priv_encode_idle(x.buf, PRIV_MSG_MAX, x.id, req), &err) ==
	    WBEM_S_NO_ERROR) {
		exchange_recv(&x, &h);
		if (h.type == PRIV_DONE)
			take_done(&x, &h, &err);
		else if (h.type != PRIV_IDLE_REPLY)
			fatal("privsep: %s where IDLE_REPLY was due", priv_type_name(h.type));
		else if (priv_decode_idle_reply(payload(&x), h.len, req->count, rep, &err) !=
		         WBEM_S_NO_ERROR)
			fatal("%s", err.message);
		else
			memcpy(idle, rep->idle, n * sizeof *idle);
	}
	exchange_end(&x);
	if (err.code != 0)
		log_warn("idle times: %s", err.message);
}

/* The idle hook of every proxy: priv asks the real back-ends, PRIV_IDLE_MAX at a time. */
static void proxy_idle(const rdms_config *cfg, const rdms_session *s, size_t n, uint32_t *idle)
{
	priv_idle *req = malloc(sizeof *req);
	priv_idle_reply *rep = malloc(sizeof *rep);

	(void)cfg;
	for (size_t i = 0; i < n; i++)
		idle[i] = RDMS_IDLE_UNKNOWN;
	for (size_t i = 0; req != NULL && rep != NULL && i < n; i += PRIV_IDLE_MAX)
		idle_chunk(s + i, n - i < PRIV_IDLE_MAX ? n - i : PRIV_IDLE_MAX, idle + i, req, rep);
	free(req);
	free(rep);
}

static const rdms_backend proxy_all = {
	.name = "privsep",
	.enumerate = proxy_enumerate,
	.disconnect = proxy_disconnect,
	.logoff = proxy_logoff,
	.send_message = proxy_send_message,
	.find = proxy_find,
	.each = proxy_each,
	.idle = proxy_idle,
};

priv_client *priv_client_new(const int fds[PRIV_CHANNELS], const rdms_backend *const *backends,
                             size_t nbackends)
{
	priv_client *c = calloc(1, sizeof *c);

	if (c == NULL)
		return NULL;
	for (int i = 0; i < PRIV_CHANNELS; i++) {
		c->fd[i] = fds[i];
		c->buf[i] = malloc(PRIV_MSG_MAX);
		if (c->buf[i] == NULL) {
			priv_client_free(c);
			return NULL;
		}
	}
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->freed, NULL);
	for (size_t i = 0; i < nbackends && i < MAX_BACKENDS; i++) {
		str_copy(c->names[i], sizeof c->names[i], backends[i]->name);
		c->named[i] = proxy_all;
		c->named[i].name = c->names[i];
		c->named_ptr[i] = &c->named[i];
		c->nnamed++;
	}
	return c;
}

void priv_client_free(priv_client *c)
{
	if (c == NULL)
		return;
	if (client == c)
		client = NULL;
	for (int i = 0; i < PRIV_CHANNELS; i++) {
		free(c->buf[i]);
		if (c->fd[i] >= 0)
			close(c->fd[i]);
	}
	pthread_mutex_destroy(&c->lock);
	pthread_cond_destroy(&c->freed);
	free(c);
}

void priv_proxy_provider(rdms_provider *p, const rdms_config *cfg, priv_client *c)
{
	client = c;
	memset(p, 0, sizeof *p);
	p->cfg = cfg;
	if (c->nnamed > 0)
		p->backends[p->nbackends++] = &proxy_all;
	p->audit = priv_proxy_audit;
	p->audit_ctx = c;
	p->act = priv_proxy_act;
	p->act_ctx = c;
	p->status = priv_proxy_status;
	p->status_ctx = c;
	p->audit_read = priv_proxy_audit_read;
	p->audit_read_ctx = c;
}

uint32_t priv_proxy_status(void *ctx, rdms_backend_status *out, size_t max, size_t *n,
                           rdms_error *err)
{
	priv_client *c = ctx;
	priv_status *st = calloc(1, sizeof *st);
	rdms_error e = { 0 };
	struct exchange x;
	priv_header h;
	uint32_t rc;

	*n = 0;
	if (st == NULL)
		return rdms_fail(err, WBEM_E_OUT_OF_MEMORY, "out of memory");
	exchange_begin(c, &x);
	rc = exchange_send(&x, priv_encode_empty(x.buf, PRIV_MSG_MAX, x.id, PRIV_STATUS), err);
	if (rc == WBEM_S_NO_ERROR) {
		exchange_recv(&x, &h);
		if (h.type == PRIV_DONE)
			rc = take_done(&x, &h, err);
		else if (h.type != PRIV_STATUS_REPLY)
			fatal("privsep: %s where STATUS_REPLY was due", priv_type_name(h.type));
		else if (priv_decode_status(payload(&x), h.len, st, &e) != WBEM_S_NO_ERROR)
			fatal("%s", e.message);
	}
	exchange_end(&x);
	for (uint32_t i = 0; rc == WBEM_S_NO_ERROR && i < st->count && *n < max; i++)
		out[(*n)++] = st->v[i];
	free(st);
	return rc;
}

uint32_t priv_proxy_audit_read(void *ctx, const char *since, rdms_audit_row_fn fn,
                               void *fn_ctx, rdms_error *err)
{
	priv_client *c = ctx;
	priv_audit_row *row = malloc(sizeof *row);
	struct exchange x;
	priv_header h;
	bool stopped = false;
	uint32_t rc;

	if (row == NULL)
		return rdms_fail(err, WBEM_E_OUT_OF_MEMORY, "out of memory");
	exchange_begin(c, &x);
	rc = exchange_send(&x, priv_encode_audit_read(x.buf, PRIV_MSG_MAX, x.id,
	                                              since != NULL ? since : ""), err);
	/* the rows after FN asked to stop are read and dropped: the channel stays in step */
	for (;;) {
		rdms_error e = { 0 };

		if (rc != WBEM_S_NO_ERROR)
			break;
		exchange_recv(&x, &h);
		if (h.type != PRIV_AUDIT_ROWS) {
			rc = take_done(&x, &h, err);
			break;
		}
		if (!stopped && priv_decode_audit_rows(payload(&x), h.len, row, fn, fn_ctx, &stopped,
		                                       &e) != WBEM_S_NO_ERROR)
			fatal("%s", e.message);
	}
	exchange_end(&x);
	free(row);
	return rc;
}

/* ---- the change feed ------------------------------------------------------ */

/*
 * Waits until X's channel has something to read or CANCEL_FD (-1: none)
 * is readable; false for the latter.
 */
static bool reply_or_cancel(const struct exchange *x, int cancel_fd)
{
	struct pollfd pf[2] = { { x->c->fd[x->ch], POLLIN, 0 }, { cancel_fd, POLLIN, 0 } };

	if (cancel_fd < 0)
		return true;
	while (poll(pf, 2, -1) < 0)
		if (errno != EINTR)
			return true;      /* the read says what is wrong */
	return (pf[1].revents & POLLIN) == 0;
}

uint32_t priv_proxy_events(priv_client *c, const priv_events *req, priv_event_batch_fn fn,
                           void *fn_ctx, priv_events_end *end, rdms_error *err)
{
	return priv_proxy_events_until(c, req, -1, fn, fn_ctx, end, err);
}

/*
 * Room in *EVS (*CAP events) for a batch that says it has COUNT: a batch
 * is mostly an event or two, and room for PRIV_EVENTS_BATCH_MAX at every
 * exchange was an mmap of 180 KiB, its page faults and an munmap (a TLB
 * flush on every CPU) for each change the pump mirrored.  A count past
 * the maximum gets the maximum: the decoder refuses it.
 */
static bool batch_room(rdms_event **evs, size_t *cap, uint32_t count)
{
	size_t want = count < PRIV_EVENTS_BATCH_MAX ? count : PRIV_EVENTS_BATCH_MAX;
	rdms_event *p;

	if (want == 0)
		want = 1;
	if (want <= *cap)
		return true;
	if ((p = realloc(*evs, want * sizeof *p)) == NULL)
		return false;
	*evs = p;
	*cap = want;
	return true;
}

uint32_t priv_proxy_events_until(priv_client *c, const priv_events *req, int cancel_fd,
                                 priv_event_batch_fn fn, void *fn_ctx, priv_events_end *end,
                                 rdms_error *err)
{
	rdms_event *evs = NULL;     /* room for the largest batch so far */
	size_t cap = 0;
	bool starved = false;
	struct exchange x;
	priv_header h;
	uint32_t rc;

	exchange_begin(c, &x);
	rc = exchange_send(&x, priv_encode_events(x.buf, PRIV_MSG_MAX, x.id, req), err);
	while (rc == WBEM_S_NO_ERROR) {
		rdms_error e = { 0 };
		size_t n;

		if (!reply_or_cancel(&x, cancel_fd)) {
			/* the channel is out of step now: it stays taken, for good */
			free(evs);
			return rdms_fail(err, WBEM_E_CALL_CANCELLED, "session events: stopped");
		}
		exchange_recv(&x, &h);
		if (h.type == PRIV_DONE) {          /* the request was refused */
			rc = take_done(&x, &h, err);
			if (rc == WBEM_S_NO_ERROR)
				fatal("privsep: DONE without an error where EVENTS_END was due");
			break;
		}
		if (h.type == PRIV_EVENTS_END) {
			if (priv_decode_events_end(payload(&x), h.len, end, &e) != WBEM_S_NO_ERROR)
				fatal("%s", e.message);
			break;
		}
		if (h.type != PRIV_EVENTS_BATCH)
			fatal("privsep: %s where EVENTS_BATCH was due", priv_type_name(h.type));
		/* short of memory: the rest is read, not handed on (no gap), to the end */
		if (starved || !batch_room(&evs, &cap, priv_events_batch_count(payload(&x), h.len))) {
			starved = true;
			continue;
		}
		if (priv_decode_events_batch(payload(&x), h.len, c->named_ptr, c->nnamed, evs,
		                             cap, &n, &e) != WBEM_S_NO_ERROR)
			fatal("%s", e.message);
		fn(fn_ctx, evs, n);
		for (size_t i = 0; i < n; i++)
			rdms_event_clear(&evs[i]);
	}
	exchange_end(&x);
	free(evs);
	if (starved && rc == WBEM_S_NO_ERROR)   /* (what it missed, the next call asks for again) */
		rc = rdms_fail(err, WBEM_E_OUT_OF_MEMORY, "out of memory");
	return rc;
}

uint32_t priv_proxy_feed_state(priv_client *c, rdms_session_fn fn, void *fn_ctx,
                               rdms_feed_pos *at, rdms_error *err)
{
	struct sink k = { .fn = fn, .ctx = fn_ctx };
	uint32_t rc = WBEM_S_NO_ERROR, failed = WBEM_S_NO_ERROR;
	priv_events_end end = { 0 };
	struct exchange x;
	priv_header h;

	exchange_begin(c, &x);
	rc = exchange_send(&x, priv_encode_empty(x.buf, PRIV_MSG_MAX, x.id, PRIV_FEED_STATE), err);
	while (rc == WBEM_S_NO_ERROR) {
		rdms_error e = { 0 };

		exchange_recv(&x, &h);
		if (h.type == PRIV_DONE) {          /* refused, or priv ran out of memory */
			rc = take_done(&x, &h, err);
			if (rc == WBEM_S_NO_ERROR)
				fatal("privsep: DONE without an error where EVENTS_END was due");
			break;
		}
		if (h.type == PRIV_EVENTS_END) {
			if (priv_decode_events_end(payload(&x), h.len, &end, &e) != WBEM_S_NO_ERROR)
				fatal("%s", e.message);
			break;
		}
		if (h.type != PRIV_SESSIONS)
			fatal("privsep: %s where SESSIONS was due", priv_type_name(h.type));
		if (failed != WBEM_S_NO_ERROR)
			continue;       /* read on to the end, so the channel stays in step */
		failed = take_sessions(&x, h.len, &k, err);
	}
	exchange_end(&x);
	if (rc == WBEM_S_NO_ERROR && failed != WBEM_S_NO_ERROR)
		rc = failed;
	if (rc == WBEM_S_NO_ERROR && end.rc == PRIV_EVENTS_OFF)
		rc = rdms_fail(err, WBEM_E_NOT_SUPPORTED, "session events are off on this host");
	*at = end.head;
	return rc;
}

/* ---- audit and PAM ------------------------------------------------------- */

/* EV as the wire carries it. */
static void audit_fields(priv_audit *a, const rdms_audit_event *ev)
{
	const rdms_caller *who = ev->caller;

	a->uid = (uint32_t)who->uid;
	a->result = ev->result;
	/* A target longer than the field is recorded cut, not lost. */
	str_copy(a->user, sizeof a->user, who->user);
	str_copy(a->source, sizeof a->source, who->source != NULL ? who->source : "");
	str_copy(a->protocol, sizeof a->protocol, who->protocol != NULL ? who->protocol : "");
	str_copy(a->target, sizeof a->target, ev->target != NULL ? ev->target : "");
	str_copy(a->method, sizeof a->method, ev->method != NULL ? ev->method : "?");
	str_copy(a->detail, sizeof a->detail, ev->detail != NULL ? ev->detail : "");
}

/* The priv_action of a method of the session class; PRIV_ACTION_END for none. */
static enum priv_action action_of(unsigned method)
{
	switch (method) {
	case RDMS_WIN32_VIRTUALDESKTOPSESSION_METHOD_DISCONNECT:
		return PRIV_DISCONNECT;
	case RDMS_WIN32_VIRTUALDESKTOPSESSION_METHOD_LOGOFF:
		return PRIV_LOGOFF;
	case RDMS_WIN32_VIRTUALDESKTOPSESSION_METHOD_SENDMESSAGE:
		return PRIV_MESSAGE;
	default:
		return PRIV_ACTION_END;
	}
}

uint32_t priv_proxy_act(void *ctx, const rdms_act_call *call, uint32_t *result,
                        rdms_session *acted, rdms_act_after *after, bool *audited,
                        rdms_error *err)
{
	priv_client *c = ctx;
	enum priv_action action = action_of(call->method);
	priv_invoke *a;
	priv_invoked *r;
	rdms_error e = { 0 };
	struct exchange x;
	priv_header h;
	uint32_t rc;

	if (action == PRIV_ACTION_END || (call->mopt != NULL && call->mopt->wait))
		return WBEM_E_NOT_SUPPORTED;   /* the step-by-step way knows what to do */
	a = calloc(1, sizeof *a);
	r = calloc(1, sizeof *r);   /* a DONE in its place leaves it "not found" */
	if (a == NULL || r == NULL) {
		free(a);
		free(r);
		return rdms_fail(err, WBEM_E_OUT_OF_MEMORY, "out of memory");
	}
	a->action = (uint8_t)action;
	a->any_owner = call->any_owner;
	a->id = call->id;
	a->owner = (uint32_t)call->owner;
	a->timeout_s = call->mopt != NULL ? call->mopt->timeout_s : 0;
	audit_fields(&a->audit, call->ev);
	/* The operation layer checked both against the same limits (message.h). */
	if (!str_copy(a->title, sizeof a->title, call->title != NULL ? call->title : "") ||
	    !str_copy(a->text, sizeof a->text, call->text != NULL ? call->text : "")) {
		free(a);
		free(r);
		return rdms_fail(err, WBEM_E_INVALID_PARAMETER, "Title or Message is too long");
	}
	exchange_begin(c, &x);
	rc = exchange_send(&x, priv_encode_invoke(x.buf, PRIV_MSG_MAX, x.id, a), err);
	free(a);
	if (rc == WBEM_S_NO_ERROR) {
		exchange_recv(&x, &h);
		if (h.type == PRIV_DONE)
			rc = take_done(&x, &h, err);   /* refused as malformed */
		else if (h.type != PRIV_INVOKED)
			fatal("privsep: %s where INVOKED was due", priv_type_name(h.type));
		else if (priv_decode_invoked(payload(&x), h.len, r, c->named_ptr, c->nnamed, &e) !=
		         WBEM_S_NO_ERROR)
			fatal("%s", e.message);
	}
	exchange_end(&x);
	if (rc == WBEM_S_NO_ERROR && !r->found)
		rc = WBEM_E_NOT_FOUND;
	if (rc == WBEM_S_NO_ERROR && r->backend >= c->nnamed)
		fatal("privsep: INVOKED names back-end %u of %zu", (unsigned)r->backend, c->nnamed);
	if (rc == WBEM_S_NO_ERROR) {
		*result = r->rc;
		*audited = r->audited;
		if (r->rc != WBEM_S_NO_ERROR)
			rdms_fail(err, r->rc, "%s", r->error);
		if (r->after == RDMS_ACT_READ && r->now.id != call->id)
			fatal("privsep: INVOKED read session %u again after acting on %u",
			      (unsigned)r->now.id, (unsigned)call->id);
		if (r->after == RDMS_ACT_READ)
			*acted = r->now;
		else
			memset(acted, 0, sizeof *acted);
		acted->id = call->id;
		acted->backend = c->named_ptr[r->backend];
		*after = (rdms_act_after)r->after;
	}
	free(r);
	return rc;
}

int priv_proxy_audit(void *ctx, const rdms_audit_event *ev)
{
	priv_client *c = ctx;
	priv_audit *a = calloc(1, sizeof *a);
	rdms_error err = { 0 };
	struct exchange x;
	priv_header h;
	uint32_t rc;

	if (a == NULL)
		return -1;
	audit_fields(a, ev);
	exchange_begin(c, &x);
	rc = exchange_send(&x, priv_encode_audit(x.buf, PRIV_MSG_MAX, x.id, a), &err);
	free(a);
	if (rc == WBEM_S_NO_ERROR) {
		exchange_recv(&x, &h);
		rc = take_done(&x, &h, &err);
	}
	exchange_end(&x);
	if (rc != WBEM_S_NO_ERROR)
		log_warn("audit: %s", err.message);
	return rc == WBEM_S_NO_ERROR ? 0 : -1;
}

uint32_t priv_proxy_verify(void *ctx, const char *user, const char *password,
                           const char *rhost, char *canon, size_t canon_size, uid_t *uid,
                           rdms_error *err)
{
	priv_client *c = ctx;
	priv_auth a = { 0 };
	priv_auth_reply r;
	rdms_error e = { 0 };
	struct exchange x;
	priv_header h;
	size_t len = 0;

	if (str_copy(a.user, sizeof a.user, user) &&
	    str_copy(a.password, sizeof a.password, password))
		str_copy(a.rhost, sizeof a.rhost, rhost != NULL ? rhost : "");
	else
		a.user[0] = '\0';
	exchange_begin(c, &x);
	if (a.user[0] != '\0')
		len = priv_encode_auth(x.buf, PRIV_MSG_MAX, x.id, &a);
	explicit_bzero(&a, sizeof a);
	if (len == 0) {
		exchange_end(&x);
		return rdms_fail(err, WBEM_E_ACCESS_DENIED, "user name or password too long");
	}
	exchange_send(&x, len, err);
	explicit_bzero(x.buf, len);
	exchange_recv(&x, &h);
	if (h.type != PRIV_AUTH_REPLY)
		fatal("privsep: %s where AUTH_REPLY was due", priv_type_name(h.type));
	if (priv_decode_auth_reply(payload(&x), h.len, &r, &e) != WBEM_S_NO_ERROR)
		fatal("%s", e.message);
	exchange_end(&x);
	if (r.rc != WBEM_S_NO_ERROR)
		return rdms_fail(err, WBEM_E_ACCESS_DENIED, "%s", r.error);
	if (!str_copy(canon, canon_size, r.user))
		return rdms_fail(err, WBEM_E_ACCESS_DENIED, "user name too long");
	*uid = (uid_t)r.uid;
	return WBEM_S_NO_ERROR;
}

void priv_proxy_negotiate(void *ctx, const priv_negotiate *m, priv_negotiated *out)
{
	priv_client *c = ctx;
	rdms_error e = { 0 };
	struct exchange x;
	priv_header h;
	size_t len;

	memset(out, 0, sizeof *out);
	exchange_begin(c, &x);
	len = priv_encode_negotiate(x.buf, PRIV_MSG_MAX, x.id, m);
	if (len == 0) {
		exchange_end(&x);
		out->state = PRIV_NEGO_FAILED;
		str_copy(out->error, sizeof out->error, "token too long");
		return;
	}
	exchange_send(&x, len, &e);
	exchange_recv(&x, &h);
	if (h.type == PRIV_DONE) {
		rdms_error why = { 0 };

		take_done(&x, &h, &why);
		out->state = PRIV_NEGO_FAILED;
		str_copy(out->error, sizeof out->error, why.message);
	} else if (h.type != PRIV_NEGOTIATED) {
		fatal("privsep: %s where NEGOTIATED was due", priv_type_name(h.type));
	} else if (priv_decode_negotiated(payload(&x), h.len, out, &e) != WBEM_S_NO_ERROR) {
		fatal("%s", e.message);
	} else {
		explicit_bzero(x.buf + PRIV_HEADER_SIZE, h.len);   /* a security context's keys */
	}
	exchange_end(&x);
}
