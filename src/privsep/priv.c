/*
 * priv.c -- the privileged side of rdmsd (privsep.h): requests from the
 * network process, served as root.
 *
 * One thread per channel reads a request, checks it completely (wire.c),
 * does the one thing it names and answers.  Nothing here trusts the
 * network process: a session to act on is looked up again, fresh, in the
 * back-end the request names, and acted on only when it is still the
 * session the request describes (same uid, same X server).  A message's
 * size is bounded by the wire; its text is checked by the back-end that
 * shows it (rdms_message_check), here, before it reaches the dialog.  A
 * message that waits for its user holds no channel here: the DONE carries
 * the descriptor to wait on, and net waits.
 * Sessions are streamed: each back-end hands them one at a time
 * (rdms_backend_each) into the batch being filled, and a full batch is sent
 * at once, so no list of them is built whatever their number.  A back-end
 * failing after some batches went out still ends the reply with a DONE
 * carrying its error, and net drops what it got.
 * A method call may come whole (INVOKE): looked up, acted on and audited
 * in one exchange, the owner checked against the fresh read.
 * The back-ends' state (STATUS), idle times (IDLE: looked up again, like an
 * action) and the audit trail (AUDIT_READ, streamed as AUDIT_ROWS batches
 * like sessions) are read here too.
 * The PAM check has no cache and no delay here: both live in the network
 * process, so a client guessing passwords stalls its own connection only,
 * never a channel that other requests need.  PAM itself runs in a process
 * of its own per check, rdmsd-pam (pam_relay.h), not in priv.
 */
#include "privsep.h"
#include "ntlm_relay.h"
#include "pam_relay.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../common/log.h"
#include "../common/strutil.h"
#include "../common/thread_name.h"

struct slot {
	priv_server *s;
	int          fd;
	pthread_t    thread;
	bool         started;
};

struct priv_server {
	priv_env    env;
	struct slot slot[PRIV_CHANNELS];
};

/* ---- replies ------------------------------------------------------------- */

/* DONE with RC (and ERROR), carrying descriptor PASS unless it is -1. */
static bool reply_done_fd(int fd, uint32_t id, uint32_t rc, const char *error, int pass,
                          void *buf)
{
	priv_done d = { .rc = rc };
	rdms_error err = { 0 };

	str_copy(d.error, sizeof d.error, rc != WBEM_S_NO_ERROR ? error : "");
	if (!priv_send_fd(fd, buf, priv_encode_done(buf, PRIV_MSG_MAX, id, &d), pass, &err)) {
		log_warn("%s", err.message);
		return false;
	}
	return true;
}

static bool reply_done(int fd, uint32_t id, uint32_t rc, const char *error, void *buf)
{
	return reply_done_fd(fd, id, rc, error, -1, buf);
}

/* A request that failed its checks: logged, and answered as an error. */
static bool refuse(int fd, uint32_t id, const rdms_error *err, void *buf)
{
	log_warn("refused a request of the network process: %s", err->message);
	return reply_done(fd, id, err->code != 0 ? err->code : WBEM_E_INVALID_PARAMETER,
	                  err->message, buf);
}

/* ---- sessions ------------------------------------------------------------ */

/*
 * Sessions on their way to net: each is added to the batch in BUF, and a
 * full batch is sent before the next is begun, so no list of them is ever
 * built (10,000 sessions would be 6 MB).
 */
struct stream {
	int        fd;
	uint32_t   id;
	void      *buf;        /* PRIV_MSG_MAX bytes */
	priv_batch b;
	uint8_t    origin;     /* the back-end index the sessions are sent with */
	bool       rows;       /* audit records (AUDIT_ROWS), not sessions */
	bool       broken;     /* FD failed: nothing more can be sent */
};

static void batch_begin(struct stream *st)
{
	if (st->rows)
		priv_rows_begin(&st->b, st->buf, PRIV_MSG_MAX, st->id);
	else
		priv_batch_begin(&st->b, st->buf, PRIV_MSG_MAX, st->id);
}

static void stream_begin(struct stream *st, int fd, uint32_t id, void *buf)
{
	*st = (struct stream){ .fd = fd, .id = id, .buf = buf };
	batch_begin(st);
}

/* Sends the batch when it holds anything; false (BROKEN set, ERR) when FD failed. */
static bool stream_flush(struct stream *st, rdms_error *err)
{
	if (st->b.count > 0 && !priv_send(st->fd, st->buf, priv_batch_end(&st->b), err)) {
		st->broken = true;
		return false;
	}
	batch_begin(st);
	return true;
}

/* An rdms_session_fn (CTX: the stream). */
static uint32_t stream_add(void *ctx, const rdms_session *s, rdms_error *err)
{
	struct stream *st = ctx;

	if (priv_batch_add(&st->b, s, st->origin))
		return WBEM_S_NO_ERROR;
	/* Full: send it and start the next (a session always fits an empty batch). */
	if (!stream_flush(st, err))
		return err->code;
	if (!priv_batch_add(&st->b, s, st->origin))
		return rdms_fail(err, WBEM_E_FAILED, "privsep: session %u does not fit a message",
		                 (unsigned)s->id);
	return WBEM_S_NO_ERROR;
}

/*
 * The final reply of a stream: the last batch, then DONE with RC.  After a
 * failure the batches already sent are followed by DONE carrying the error
 * (net then drops them).  False when FD failed.
 */
static bool stream_end(struct stream *st, uint32_t rc, const rdms_error *err)
{
	rdms_error e = { 0 };

	if (!st->broken && rc == WBEM_S_NO_ERROR)
		stream_flush(st, &e);
	if (st->broken) {
		log_warn("%s", e.code != 0 ? e.message : err->message);
		return false;
	}
	return reply_done(st->fd, st->id, rc, err->message, st->buf);
}

static bool do_enumerate(const priv_env *env, int fd, uint32_t id, void *buf)
{
	const rdms_provider *p = env->provider;
	rdms_error err = { 0 };
	uint32_t rc = WBEM_S_NO_ERROR;
	struct stream st;

	stream_begin(&st, fd, id, buf);
	for (size_t i = 0; i < p->nbackends && rc == WBEM_S_NO_ERROR; i++) {
		st.origin = (uint8_t)i;
		rc = rdms_backend_each(p->backends[i], p->cfg, stream_add, &st, &err);
	}
	return stream_end(&st, rc, &err);
}

static bool do_find(const priv_env *env, int fd, uint32_t id, const void *p, size_t len,
                    void *buf)
{
	const rdms_provider *pr = env->provider;
	rdms_error err = { 0 };
	uint32_t sid, rc = WBEM_E_NOT_FOUND;
	struct stream st;

	if (priv_decode_find(p, len, &sid, &err) != WBEM_S_NO_ERROR)
		return refuse(fd, id, &err, buf);
	stream_begin(&st, fd, id, buf);
	/* In enumeration order: the first back-end that has it, as ops.c does. */
	for (size_t i = 0; i < pr->nbackends && rc == WBEM_E_NOT_FOUND; i++) {
		rdms_session s;

		rdms_error_clear(&err);
		rc = rdms_backend_lookup(pr->backends[i], pr->cfg, sid, &s, &err);
		if (rc == WBEM_S_NO_ERROR) {
			st.origin = (uint8_t)i;
			rc = stream_add(&st, &s, &err);
		}
	}
	if (rc == WBEM_E_NOT_FOUND && err.code == 0)
		rdms_fail(&err, rc, "no session %u", (unsigned)sid);
	return stream_end(&st, rc, &err);
}

/* ACTION on S, a session just looked up in its back-end (S->backend). */
static uint32_t perform(const rdms_config *cfg, const rdms_session *s, uint8_t action,
                        const char *title, const char *text, const rdms_message_options *o,
                        rdms_error *err)
{
	const rdms_backend *b = s->backend;

	log_debug("privsep: %s session %u (%s, uid %u)",
	          action == PRIV_DISCONNECT ? "disconnect" :
	          action == PRIV_LOGOFF ? "log off" : "message to",
	          (unsigned)s->id, b->name, (unsigned)s->uid);
	switch (action) {
	case PRIV_DISCONNECT:
		return b->disconnect(cfg, s, err);
	case PRIV_LOGOFF:
		return b->logoff(cfg, s, err);
	default:
		return b->send_message(cfg, s, title, text, o, err);
	}
}

/* Does what A names; a waiting message leaves the descriptor to wait on in *WAIT_FD. */
static uint32_t act(const priv_env *env, const priv_act *a, int *wait_fd, rdms_error *err)
{
	rdms_message_options o = { a->timeout_s, a->wait != 0, a->wait != 0 ? wait_fd : NULL };
	const rdms_provider *p = env->provider;
	const rdms_backend *b;
	rdms_session s;
	uint32_t rc;

	if (a->backend >= p->nbackends)
		return rdms_fail(err, WBEM_E_INVALID_PARAMETER,
		                 "privsep: ACT message: back-end %u out of range (%zu back-ends)",
		                 (unsigned)a->backend, p->nbackends);
	b = p->backends[a->backend];
	rc = rdms_backend_lookup(b, p->cfg, a->id, &s, err);
	if (rc != WBEM_S_NO_ERROR)
		return rc;
	if (s.uid != (uid_t)a->uid || s.server_pid != (pid_t)a->server_pid)
		return rdms_fail(err, WBEM_E_NOT_FOUND,
		                 "session %u changed while the call was made", (unsigned)a->id);
	s.backend = b;
	rc = perform(p->cfg, &s, a->action, a->title, a->text, &o, err);
	if (env->acted != NULL && a->action != PRIV_MESSAGE)
		env->acted(env->acted_ctx);      /* the session changed: tell the events */
	return rc;
}

static bool do_act(const priv_env *env, int fd, uint32_t id, const void *p, size_t len,
                   void *buf)
{
	priv_act *a = malloc(sizeof *a);   /* 4 KiB of text: not on a thread's stack */
	rdms_error err = { 0 };
	int wait_fd = -1;
	uint32_t rc;
	bool ok;

	if (a == NULL)
		return reply_done(fd, id, WBEM_E_OUT_OF_MEMORY, "out of memory", buf);
	if (priv_decode_act(p, len, a, &err) != WBEM_S_NO_ERROR) {
		free(a);
		return refuse(fd, id, &err, buf);
	}
	rc = act(env, a, &wait_fd, &err);
	free(a);
	ok = reply_done_fd(fd, id, rc, err.message, rc == WBEM_S_NO_ERROR ? wait_fd : -1, buf);
	if (wait_fd >= 0)
		close(wait_fd);   /* net has its own copy now */
	return ok;
}

/* ---- back-ends and idle times -------------------------------------------- */

static bool do_status(const priv_env *env, int fd, uint32_t id, void *buf)
{
	priv_status st = { 0 };
	rdms_error err = { 0 };
	size_t n = 0;
	uint32_t rc = rdms_provider_status((void *)env->provider, st.v, RDMS_MAX_BACKENDS, &n, &err);

	if (rc != WBEM_S_NO_ERROR)
		return reply_done(fd, id, rc, err.message, buf);
	st.count = (uint32_t)n;
	if (!priv_send(fd, buf, priv_encode_status(buf, PRIV_MSG_MAX, id, &st), &err)) {
		log_warn("%s", err.message);
		return false;
	}
	return true;
}

/*
 * The idle times of the sessions REQ names.  Each is looked up again in its
 * back-end and asked only when it is still the session net saw (uid, X
 * server), as for an action: xprintidle runs as the uid priv found.
 */
static void idle_of(const priv_env *env, const priv_idle *req, priv_idle_reply *out)
{
	const rdms_provider *p = env->provider;

	out->count = req->count;
	for (uint32_t i = 0; i < req->count; i++) {
		const priv_idle_session *q = &req->v[i];
		rdms_session s;

		out->idle[i] = RDMS_IDLE_UNKNOWN;
		if (q->backend >= p->nbackends || p->backends[q->backend]->idle == NULL ||
		    rdms_backend_lookup(p->backends[q->backend], p->cfg, q->id, &s, NULL) !=
		        WBEM_S_NO_ERROR ||
		    s.uid != (uid_t)q->uid || s.server_pid != (pid_t)q->server_pid)
			continue;
		s.backend = p->backends[q->backend];
		p->backends[q->backend]->idle(p->cfg, &s, 1, &out->idle[i]);
	}
}

static bool do_idle(const priv_env *env, int fd, uint32_t id, const void *p, size_t len,
                    void *buf)
{
	priv_idle *req = malloc(sizeof *req);
	priv_idle_reply *out = malloc(sizeof *out);
	rdms_error err = { 0 };
	bool ok;

	if (req == NULL || out == NULL) {
		free(req);
		free(out);
		return reply_done(fd, id, WBEM_E_OUT_OF_MEMORY, "out of memory", buf);
	}
	if (priv_decode_idle(p, len, req, &err) != WBEM_S_NO_ERROR) {
		free(req);
		free(out);
		return refuse(fd, id, &err, buf);
	}
	idle_of(env, req, out);
	ok = priv_send(fd, buf, priv_encode_idle_reply(buf, PRIV_MSG_MAX, id, out), &err);
	if (!ok)
		log_warn("%s", err.message);
	free(req);
	free(out);
	return ok;
}

/* ---- authentication and audit -------------------------------------------- */

static bool do_auth(const priv_env *env, int fd, uint32_t id, const void *p, size_t len,
                    void *buf)
{
	priv_auth a;
	priv_auth_reply r = { 0 };
	rdms_error err = { 0 };
	size_t n;
	bool ok;

	if (priv_decode_auth(p, len, &a, &err) != WBEM_S_NO_ERROR) {
		explicit_bzero(&a, sizeof a);
		return refuse(fd, id, &err, buf);
	}
	if (env->pam != NULL) {
		pam_relay_check(env->pam, &a, &r, buf);   /* PAM in rdmsd-pam, not here */
	} else {
		r.rc = WBEM_E_ACCESS_DENIED;
		str_copy(r.error, sizeof r.error, "no password checks here (no PAM relay)");
	}
	explicit_bzero(&a, sizeof a);
	n = priv_encode_auth_reply(buf, PRIV_MSG_MAX, id, &r);
	ok = priv_send(fd, buf, n, &err);
	if (!ok)
		log_warn("%s", err.message);
	return ok;
}

/* What audit_add needs: the stream, and where a failure to send is told. */
struct row_stream {
	struct stream st;
	rdms_error    err;
};

/* An rdms_audit_row_fn (CTX: the row_stream): one record onto the batch. */
static int audit_add(void *ctx, const rdms_audit_entry *e)
{
	struct row_stream *rs = ctx;

	if (priv_rows_add(&rs->st.b, e))
		return 0;
	if (!stream_flush(&rs->st, &rs->err))
		return 1;
	if (priv_rows_add(&rs->st.b, e))
		return 0;
	rdms_fail(&rs->err, WBEM_E_FAILED, "privsep: audit record %lld does not fit a message",
	          e->id);
	return 1;
}

/* RDMS_AuditRecord: net decided the caller may read it (root or admin group). */
static bool do_audit_read(const priv_env *env, int fd, uint32_t id, const void *p, size_t len,
                          void *buf)
{
	const rdms_provider *pr = env->provider;
	struct row_stream *rs = calloc(1, sizeof *rs);
	char since[PRIV_TIME_MAX + 1];
	rdms_error err = { 0 };
	uint32_t rc;
	bool ok;

	if (rs == NULL)
		return reply_done(fd, id, WBEM_E_OUT_OF_MEMORY, "out of memory", buf);
	if (priv_decode_audit_read(p, len, since, &err) != WBEM_S_NO_ERROR) {
		free(rs);
		return refuse(fd, id, &err, buf);
	}
	if (pr->audit_read == NULL) {
		free(rs);
		return reply_done(fd, id, WBEM_E_NOT_SUPPORTED, "the audit trail is not read here",
		                  buf);
	}
	stream_begin(&rs->st, fd, id, buf);
	rs->st.rows = true;
	batch_begin(&rs->st);
	rc = pr->audit_read(pr->audit_read_ctx, since[0] != '\0' ? since : NULL, audit_add, rs,
	                    &err);
	if (rs->err.code != 0) {
		rc = rs->err.code;
		err = rs->err;
	}
	ok = stream_end(&rs->st, rc, &err);
	free(rs);
	return ok;
}

/* A's audit row with RESULT and DETAIL as an event (WHO: its caller; both point into A). */
static void audit_event(const priv_audit *a, uint32_t result, const char *detail,
                        rdms_caller *who, rdms_audit_event *ev)
{
	*who = (rdms_caller){ .uid = (uid_t)a->uid, .protocol = a->protocol, .source = a->source };
	str_copy(who->user, sizeof who->user, a->user);
	*ev = (rdms_audit_event){ .caller = who, .target = a->target, .method = a->method,
	                          .result = result, .detail = detail };
}

/* A's audit row with RESULT and DETAIL, committed; 0 when recorded (or nowhere to record). */
static int record(const priv_env *env, const priv_audit *a, uint32_t result, const char *detail)
{
	rdms_caller who;
	rdms_audit_event ev;

	audit_event(a, result, detail, &who, &ev);
	return env->audit != NULL ? rdms_audit_record(env->audit, &ev) : 0;
}

static bool do_audit(const priv_env *env, int fd, uint32_t id, const void *p, size_t len,
                     void *buf)
{
	priv_audit *a = malloc(sizeof *a);
	rdms_error err = { 0 };
	int rc;

	if (a == NULL)
		return reply_done(fd, id, WBEM_E_OUT_OF_MEMORY, "out of memory", buf);
	if (priv_decode_audit(p, len, a, &err) != WBEM_S_NO_ERROR) {
		free(a);
		return refuse(fd, id, &err, buf);
	}
	rc = record(env, a, a->result, a->detail);
	free(a);
	return reply_done(fd, id, rc == 0 ? WBEM_S_NO_ERROR : WBEM_E_FAILED,
	                  "the audit record could not be written", buf);
}

/* A method call's answer on its way: sent once its audit row is committed. */
struct invoke_reply {
	int           fd;
	uint32_t      id;
	priv_invoke  *a;        /* the request: the audit row's strings */
	priv_invoked *r;        /* the answer, but for AUDITED */
	rdms_caller   who;
	rdms_audit_event ev;
};

static bool invoke_reply_send(struct invoke_reply *ir, void *buf)
{
	rdms_error err = { 0 };
	bool ok = priv_send(ir->fd, buf, priv_encode_invoked(buf, PRIV_MSG_MAX, ir->id, ir->r), &err);

	if (!ok)
		log_warn("%s", err.message);
	free(ir->a);
	free(ir->r);
	return ok;
}

/*
 * An rdms_audit_done_fn (CTX: a malloc'd invoke_reply): the row is
 * committed (or could not be), the answer goes out.  Called by whichever
 * thread committed the row -- often not the one serving the channel, which
 * has gone back to read its next request: so a call that shared a commit
 * wakes no thread of its own to answer.  A socket failure is the channel
 * thread's to see on its next read.
 */
static void invoke_audited(void *ctx, bool stored)
{
	struct invoke_reply *ir = ctx;
	void *buf = malloc(PRIV_MSG_MAX);

	ir->r->audited = stored;
	if (buf != NULL)
		invoke_reply_send(ir, buf);
	else {
		log_warn("privsep: out of memory; the answer to request %u is lost", (unsigned)ir->id);
		shutdown(ir->fd, SHUT_RDWR);   /* net must not wait for it for ever */
		free(ir->a);
		free(ir->r);
	}
	free(buf);
	free(ir);
}

/*
 * A whole method call: the session looked up fresh, the first back-end
 * that has it; acted on only when it is the owner's the request names (or
 * any, for an admin); after a Disconnect or Logoff read again in its
 * back-end, so that net patches its snapshot without asking once more;
 * its audit row committed before the answer, which is sent by the thread
 * that commits it (invoke_audited).  A session not found, or not
 * that owner's, is answered as such with nothing done and nothing
 * recorded: net then asks step by step, and says and audits what it finds.
 */
static bool do_invoke(const priv_env *env, int fd, uint32_t id, const void *p, size_t len,
                      void *buf)
{
	const rdms_provider *pr = env->provider;
	priv_invoke *a = malloc(sizeof *a);   /* 8 KiB of text: not on a thread's stack */
	priv_invoked *r = calloc(1, sizeof *r);
	struct invoke_reply *ir;
	rdms_error err = { 0 };
	rdms_session s;

	if (a == NULL || r == NULL) {
		free(a);
		free(r);
		return reply_done(fd, id, WBEM_E_OUT_OF_MEMORY, "out of memory", buf);
	}
	if (priv_decode_invoke(p, len, a, &err) != WBEM_S_NO_ERROR) {
		free(a);
		free(r);
		return refuse(fd, id, &err, buf);
	}
	for (size_t i = 0; i < pr->nbackends; i++) {   /* at most RDMS_MAX_BACKENDS: fits a u8 */
		uint32_t rc = rdms_backend_lookup(pr->backends[i], pr->cfg, a->id, &s, &err);

		if (rc == WBEM_E_NOT_FOUND)
			continue;
		/* a back-end failing: net's step-by-step find will say so */
		r->found = rc == WBEM_S_NO_ERROR && (a->any_owner || s.uid == (uid_t)a->owner);
		r->backend = (uint8_t)i;
		s.backend = pr->backends[i];
		break;
	}
	rdms_error_clear(&err);
	if (r->found) {
		rdms_message_options o = { a->timeout_s, false, NULL };

		r->rc = perform(pr->cfg, &s, a->action, a->title, a->text, &o, &err);
		if (a->action != PRIV_MESSAGE) {
			uint32_t rc = rdms_backend_lookup(s.backend, pr->cfg, a->id, &r->now, NULL);

			r->after = rc == WBEM_S_NO_ERROR ? RDMS_ACT_READ
			         : rc == WBEM_E_NOT_FOUND ? RDMS_ACT_GONE : RDMS_ACT_UNREAD;
			if (env->acted != NULL)
				env->acted(env->acted_ctx);   /* the session changed: tell the events */
		}
		str_copy(r->error, sizeof r->error, r->rc != WBEM_S_NO_ERROR ? err.message : "");
	} else {
		r->backend = 0;
	}
	ir = malloc(sizeof *ir);
	if (ir != NULL && r->found && env->audit != NULL) {
		*ir = (struct invoke_reply){ .fd = fd, .id = id, .a = a, .r = r };
		audit_event(&a->audit, r->rc, r->error, &ir->who, &ir->ev);
		if (rdms_audit_record_then(env->audit, &ir->ev, invoke_audited, ir) == 0)
			return true;       /* invoke_audited answers */
		r->audited = false;    /* out of memory: not recorded, and said so */
	} else if (r->found) {
		/* nowhere to record (0), or out of memory: recorded here, waiting */
		r->audited = record(env, &a->audit, r->rc, r->error) == 0;
	}
	free(ir);
	return invoke_reply_send(&(struct invoke_reply){ .fd = fd, .id = id, .a = a, .r = r }, buf);
}

/* ---- the change feed ------------------------------------------------------ */

/* Events on their way to net: a batch, sent when full (the feed's lock is not held then). */
struct event_stream {
	priv_batch    b;
	rdms_feed_pos last;    /* of the last event added */
	bool          full;    /* the last event handed did not fit: read it again */
};

/* An rdms_event_fn (CTX: the event_stream): stops at the first event that does not fit. */
static int event_add(void *ctx, const rdms_event *ev)
{
	struct event_stream *es = ctx;

	if (priv_events_add(&es->b, ev)) {
		es->last = ev->pos;
		return 0;
	}
	es->full = true;
	return 1;
}

/* True when net hung up on FD (it will not read the answer). */
static bool peer_gone(int fd)
{
	struct pollfd pf = { fd, POLLRDHUP, 0 };

	return poll(&pf, 1, 0) > 0 && (pf.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
}

/*
 * Waits up to WAIT_MS for an event after AFTER, in slices, so that a
 * channel whose net process went away is not held for a minute.
 */
static void wait_for_events(rdms_feed *f, int fd, rdms_feed_pos after, uint32_t wait_ms)
{
	while (wait_ms > 0 && !peer_gone(fd)) {
		uint32_t slice = wait_ms < 1000 ? wait_ms : 1000;

		if (rdms_feed_wait(f, after, (int)slice))
			return;
		wait_ms -= slice;
	}
}

static enum priv_events_rc events_rc(rdms_feed_read_rc rc)
{
	return rc == RDMS_FEED_GONE ? PRIV_EVENTS_GONE
	     : rc == RDMS_FEED_FUTURE ? PRIV_EVENTS_FUTURE : PRIV_EVENTS_OK;
}

/*
 * EVENTS: after a wait for the first, up to MAX events in batches (each
 * read from the feed while it fits one message, sent with the feed
 * unlocked), then EVENTS_END with where the journal stands.
 */
static bool do_events(const priv_env *env, int fd, uint32_t id, const void *p, size_t len,
                      void *buf)
{
	priv_events_end end = { .rc = PRIV_EVENTS_OFF };
	rdms_feed *f = env->feed;
	rdms_error err = { 0 };
	priv_events req;

	if (priv_decode_events(p, len, &req, &err) != WBEM_S_NO_ERROR)
		return refuse(fd, id, &err, buf);
	if (f != NULL) {
		rdms_feed_pos after = req.after;
		uint32_t left = req.max;

		if (rdms_feed_pos_cmp(after, (rdms_feed_pos){ 0, 0 }) != 0)
			wait_for_events(f, fd, after, req.wait_ms);
		if (peer_gone(fd))
			return false;   /* net stopped meanwhile: nobody reads an answer */
		end.rc = PRIV_EVENTS_OK;
		while (left > 0) {
			struct event_stream es = { .full = false };
			rdms_feed_pos next;   /* unused: es.last says what was sent */
			rdms_feed_read_rc rc;

			priv_events_begin(&es.b, buf, PRIV_MSG_MAX, id);
			rc = rdms_feed_read(f, after, left, event_add, &es, &next);
			end.rc = events_rc(rc);
			if (rc != RDMS_FEED_OK || es.b.count == 0)
				break;
			if (!priv_send(fd, buf, priv_batch_end(&es.b), &err)) {
				log_warn("%s", err.message);
				return false;
			}
			left -= es.b.count;
			if (!es.full)
				break;          /* the feed had no more */
			after = es.last;   /* not NEXT: that one did not fit, it goes first next time */
		}
		end.floor = rdms_feed_earliest(f);
		end.head = rdms_feed_head(f);
	}
	if (!priv_send(fd, buf, priv_encode_events_end(buf, PRIV_MSG_MAX, id, &end), &err)) {
		log_warn("%s", err.message);
		return false;
	}
	return true;
}

/*
 * FEED_STATE: the feed's sessions (copied under its lock, with their
 * position, then sent with it unlocked) as SESSIONS batches, and
 * EVENTS_END with that position.  Sessions of a back-end priv no longer
 * serves (a listing the feed restored from a run with another config) are
 * left out, as every read leaves them out.
 */
static bool do_feed_state(const priv_env *env, int fd, uint32_t id, void *buf)
{
	const rdms_provider *p = env->provider;
	priv_events_end end = { .rc = PRIV_EVENTS_OFF };
	rdms_event_session *es = NULL;
	rdms_error err = { 0 };
	uint32_t rc = WBEM_S_NO_ERROR;
	struct stream st;
	size_t n = 0;

	if (env->feed != NULL) {
		if (!rdms_feed_state(env->feed, &es, &n, &end.head))
			return reply_done(fd, id, WBEM_E_OUT_OF_MEMORY, "out of memory", buf);
		end.rc = PRIV_EVENTS_OK;
		end.floor = rdms_feed_earliest(env->feed);
		if (rdms_feed_pos_cmp(end.floor, end.head) > 0)
			end.floor = end.head;
	}
	stream_begin(&st, fd, id, buf);
	for (size_t i = 0; i < n && rc == WBEM_S_NO_ERROR; i++) {
		rdms_session s;
		size_t b = 0;

		while (b < p->nbackends && strcmp(p->backends[b]->name, es[i].backend) != 0)
			b++;
		if (b == p->nbackends)
			continue;
		rdms_event_session_to(&es[i], &s);
		st.origin = (uint8_t)b;
		rc = stream_add(&st, &s, &err);
	}
	rdms_event_sessions_free(es, n);
	if (rc == WBEM_S_NO_ERROR)
		stream_flush(&st, &err);
	if (st.broken || rc != WBEM_S_NO_ERROR) {
		log_warn("%s", err.message);
		return false;
	}
	if (!priv_send(fd, buf, priv_encode_events_end(buf, PRIV_MSG_MAX, id, &end), &err)) {
		log_warn("%s", err.message);
		return false;
	}
	return true;
}

/* ---- the channels -------------------------------------------------------- */

bool priv_serve_one(const priv_env *env, int fd, const void *msg, size_t n, void *reply)
{
	const unsigned char *payload = (const unsigned char *)msg + PRIV_HEADER_SIZE;
	rdms_error err = { 0 };
	priv_header h;

	if (priv_decode_header(msg, n, &h, &err) != WBEM_S_NO_ERROR)
		return refuse(fd, h.id, &err, reply);
	switch (h.type) {
	case PRIV_AUTH:
		return do_auth(env, fd, h.id, payload, h.len, reply);
	case PRIV_NEGOTIATE:
		if (env->ntlm == NULL) {
			rdms_fail(&err, WBEM_E_NOT_SUPPORTED, "Negotiate/NTLM is off here");
			return refuse(fd, h.id, &err, reply);
		}
		return ntlm_relay_serve(env->ntlm, fd, h.id, payload, h.len, reply);
	case PRIV_ENUMERATE:
		if (priv_decode_empty(payload, h.len, PRIV_ENUMERATE, &err) != WBEM_S_NO_ERROR)
			return refuse(fd, h.id, &err, reply);
		return do_enumerate(env, fd, h.id, reply);
	case PRIV_FIND:
		return do_find(env, fd, h.id, payload, h.len, reply);
	case PRIV_ACT:
		return do_act(env, fd, h.id, payload, h.len, reply);
	case PRIV_AUDIT:
		return do_audit(env, fd, h.id, payload, h.len, reply);
	case PRIV_STATUS:
		if (priv_decode_empty(payload, h.len, PRIV_STATUS, &err) != WBEM_S_NO_ERROR)
			return refuse(fd, h.id, &err, reply);
		return do_status(env, fd, h.id, reply);
	case PRIV_IDLE:
		return do_idle(env, fd, h.id, payload, h.len, reply);
	case PRIV_AUDIT_READ:
		return do_audit_read(env, fd, h.id, payload, h.len, reply);
	case PRIV_INVOKE:
		return do_invoke(env, fd, h.id, payload, h.len, reply);
	case PRIV_EVENTS:
		return do_events(env, fd, h.id, payload, h.len, reply);
	case PRIV_FEED_STATE:
		if (priv_decode_empty(payload, h.len, PRIV_FEED_STATE, &err) != WBEM_S_NO_ERROR)
			return refuse(fd, h.id, &err, reply);
		return do_feed_state(env, fd, h.id, reply);
	default:
		rdms_fail(&err, WBEM_E_INVALID_PARAMETER, "privsep: %s is not a request",
		          priv_type_name(h.type));
		return refuse(fd, h.id, &err, reply);
	}
}

static void *serve_channel(void *arg)
{
	struct slot *sl = arg;
	unsigned char *req = malloc(PRIV_MSG_MAX), *reply = malloc(PRIV_MSG_MAX);
	bool ok = req != NULL && reply != NULL;

	rdms_thread_name("channel");
	if (!ok)
		log_warn("privsep: out of memory; a channel is not served");
	while (ok) {
		rdms_error err = { 0 };
		priv_header h;
		size_t n;
		uint32_t rc = priv_recv(sl->fd, req, &n, &h, &err);

		if (rc == WBEM_E_FAILED)
			break;   /* the network process is gone (or the socket broke) */
		if (rc != WBEM_S_NO_ERROR)
			ok = refuse(sl->fd, h.id, &err, reply);
		else
			ok = priv_serve_one(&sl->s->env, sl->fd, req, n, reply);
		explicit_bzero(req, n);   /* it may have held a password */
	}
	free(req);
	free(reply);
	return NULL;
}

priv_server *priv_server_start(const int fds[PRIV_CHANNELS], const priv_env *env,
                               rdms_error *err)
{
	priv_server *s = calloc(1, sizeof *s);

	if (s == NULL) {
		rdms_fail(err, WBEM_E_OUT_OF_MEMORY, "out of memory");
		return NULL;
	}
	s->env = *env;
	for (int i = 0; i < PRIV_CHANNELS; i++) {
		s->slot[i].s = s;
		s->slot[i].fd = fds[i];
	}
	for (int i = 0; i < PRIV_CHANNELS; i++) {
		int e = pthread_create(&s->slot[i].thread, NULL, serve_channel, &s->slot[i]);

		if (e != 0) {
			rdms_fail(err, WBEM_E_FAILED, "privsep: cannot start a thread: %s", strerror(e));
			/* Wake the threads already waiting, so stop can join them. */
			for (int k = 0; k < i; k++)
				shutdown(s->slot[k].fd, SHUT_RDWR);
			priv_server_stop(s);
			return NULL;
		}
		s->slot[i].started = true;
	}
	return s;
}

void priv_server_stop(priv_server *s)
{
	if (s == NULL)
		return;
	for (int i = 0; i < PRIV_CHANNELS; i++) {
		if (s->slot[i].started)
			pthread_join(s->slot[i].thread, NULL);
	}
	/* answers still waiting for their commit are sent on these channels: before they close */
	if (s->env.audit != NULL)
		rdms_audit_flush(s->env.audit);
	for (int i = 0; i < PRIV_CHANNELS; i++) {
		if (s->slot[i].fd >= 0)
			close(s->slot[i].fd);
	}
	free(s);
}
