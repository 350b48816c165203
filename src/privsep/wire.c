/*
 * wire.c -- the messages between rdmsd's two processes (privsep.h).
 *
 * A writer appends fields to a fixed buffer and remembers when one did not
 * fit; a reader takes fields from a payload and stops at the first bad
 * one, recording which field of which message and why.  Every message's
 * encoder and decoder list the same fields in the same order, side by
 * side, so a change to one that the other does not follow is easy to see
 * (and the round-trip unit tests catch it).
 */
#include "privsep.h"

#include "../events/feed_internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static const char *const type_names[PRIV_TYPE_END] = {
	[PRIV_AUTH] = "AUTH", [PRIV_AUTH_REPLY] = "AUTH_REPLY",
	[PRIV_ENUMERATE] = "ENUMERATE", [PRIV_FIND] = "FIND", [PRIV_SESSIONS] = "SESSIONS",
	[PRIV_ACT] = "ACT", [PRIV_AUDIT] = "AUDIT", [PRIV_DONE] = "DONE",
	[PRIV_STATUS] = "STATUS", [PRIV_STATUS_REPLY] = "STATUS_REPLY", [PRIV_IDLE] = "IDLE",
	[PRIV_IDLE_REPLY] = "IDLE_REPLY", [PRIV_AUDIT_READ] = "AUDIT_READ",
	[PRIV_AUDIT_ROWS] = "AUDIT_ROWS", [PRIV_INVOKE] = "INVOKE", [PRIV_INVOKED] = "INVOKED",
	[PRIV_EVENTS] = "EVENTS", [PRIV_EVENTS_BATCH] = "EVENTS_BATCH",
	[PRIV_EVENTS_END] = "EVENTS_END", [PRIV_FEED_STATE] = "FEED_STATE",
	[PRIV_NEGOTIATE] = "NEGOTIATE", [PRIV_NEGOTIATED] = "NEGOTIATED",
};

const char *priv_type_name(unsigned t)
{
	return t > 0 && t < PRIV_TYPE_END ? type_names[t] : "?";
}

/* ---- writing ------------------------------------------------------------- */

struct writer {
	unsigned char *buf;
	size_t         size;
	size_t         len;
	bool           bad;    /* something did not fit */
};

static void put(struct writer *w, const void *p, size_t n)
{
	if (w->bad || n > w->size - w->len) {
		w->bad = true;
		return;
	}
	memcpy(w->buf + w->len, p, n);
	w->len += n;
}

static void put_u8(struct writer *w, uint8_t v) { put(w, &v, sizeof v); }
static void put_u16(struct writer *w, uint16_t v) { put(w, &v, sizeof v); }
static void put_u32(struct writer *w, uint32_t v) { put(w, &v, sizeof v); }
static void put_i32(struct writer *w, int32_t v) { put(w, &v, sizeof v); }
static void put_i64(struct writer *w, int64_t v) { put(w, &v, sizeof v); }
static void put_u64(struct writer *w, uint64_t v) { put(w, &v, sizeof v); }

/* A string of at most MAX bytes; a longer one spoils the message. */
static void put_str(struct writer *w, const char *s, size_t max)
{
	size_t n = strnlen(s, max + 1);

	if (n > max) {
		w->bad = true;
		return;
	}
	put_u16(w, (uint16_t)n);
	put(w, s, n);
}

/* Bytes (N of at most MAX): a u16 length, then them. */
static void put_blob(struct writer *w, const void *p, size_t n, size_t max)
{
	if (n > max || n > UINT16_MAX) {
		w->bad = true;
		return;
	}
	put_u16(w, (uint16_t)n);
	put(w, p, n);
}

/* Starts a message of TYPE; the payload length is filled in by finish(). */
static void start(struct writer *w, void *buf, size_t size, uint32_t id, enum priv_type type)
{
	*w = (struct writer){ .buf = buf, .size = size };
	put_u16(w, (uint16_t)type);
	put_u16(w, 0);
	put_u32(w, id);
	put_u32(w, 0);
}

static size_t finish(struct writer *w)
{
	uint32_t len;

	if (w->bad || w->len > PRIV_MSG_MAX)
		return 0;
	len = (uint32_t)(w->len - PRIV_HEADER_SIZE);
	memcpy(w->buf + 8, &len, sizeof len);
	return w->len;
}

/* ---- reading ------------------------------------------------------------- */

struct reader {
	const unsigned char *p;
	size_t               left;
	const char          *msg;    /* message name, for errors */
	rdms_error          *err;
	bool                 bad;
};

static void reader_init(struct reader *r, const void *p, size_t len, const char *msg,
                        rdms_error *err)
{
	*r = (struct reader){ .p = p, .left = len, .msg = msg, .err = err };
}

/* Records the first error only: it is the one that explains the rest. */
__attribute__((format(printf, 2, 3)))
static void bad(struct reader *r, const char *fmt, ...);

static void bad(struct reader *r, const char *fmt, ...)
{
	char what[256];
	va_list ap;

	if (r->bad)
		return;
	r->bad = true;
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	rdms_fail(r->err, WBEM_E_INVALID_PARAMETER, "privsep: %s message: %s", r->msg, what);
}

static bool get(struct reader *r, const char *field, void *out, size_t n)
{
	if (r->bad)
		return false;
	if (n > r->left) {
		bad(r, "truncated at %s (%zu bytes left, %zu needed)", field, r->left, n);
		return false;
	}
	memcpy(out, r->p, n);
	r->p += n;
	r->left -= n;
	return true;
}

static uint8_t get_u8(struct reader *r, const char *field)
{
	uint8_t v = 0;

	get(r, field, &v, sizeof v);
	return v;
}

static uint32_t get_u32(struct reader *r, const char *field)
{
	uint32_t v = 0;

	get(r, field, &v, sizeof v);
	return v;
}

static int32_t get_i32(struct reader *r, const char *field)
{
	int32_t v = 0;

	get(r, field, &v, sizeof v);
	return v;
}

static int64_t get_i64(struct reader *r, const char *field)
{
	int64_t v = 0;

	get(r, field, &v, sizeof v);
	return v;
}

static uint64_t get_u64(struct reader *r, const char *field)
{
	uint64_t v = 0;

	get(r, field, &v, sizeof v);
	return v;
}

/* Bytes into OUT (at most SIZE), their count into *LEN. */
static void get_blob(struct reader *r, const char *field, void *out, size_t size, uint32_t *len)
{
	uint16_t n = 0;

	*len = 0;
	if (!get(r, field, &n, sizeof n))
		return;
	if (n > size) {
		bad(r, "%s is %u bytes long, at most %zu allowed", field, (unsigned)n, size);
		return;
	}
	if (get(r, field, out, n))
		*len = n;
}

/* A string into OUT (SIZE bytes: its limit is SIZE - 1). */
static void get_str(struct reader *r, const char *field, char *out, size_t size)
{
	uint16_t n = 0;

	out[0] = '\0';
	if (!get(r, field, &n, sizeof n))
		return;
	if (n > size - 1) {
		bad(r, "%s is %u bytes long, at most %zu allowed", field, (unsigned)n, size - 1);
		return;
	}
	if (n > r->left) {
		bad(r, "truncated in %s (%zu of %u bytes)", field, r->left, (unsigned)n);
		return;
	}
	if (memchr(r->p, '\0', n) != NULL) {
		bad(r, "%s contains a NUL byte", field);
		return;
	}
	get(r, field, out, n);
	out[n] = '\0';
}

/* The last check of every decoder: no error and nothing left over. */
static uint32_t done(struct reader *r)
{
	if (!r->bad && r->left != 0)
		bad(r, "%zu unexpected bytes after the last field", r->left);
	return r->bad ? WBEM_E_INVALID_PARAMETER : WBEM_S_NO_ERROR;
}

/* ---- the header ---------------------------------------------------------- */

uint32_t priv_decode_header(const void *msg, size_t n, priv_header *h, rdms_error *err)
{
	const unsigned char *m = msg;
	uint16_t reserved;

	memset(h, 0, sizeof *h);
	if (n < PRIV_HEADER_SIZE)
		return rdms_fail(err, WBEM_E_INVALID_PARAMETER,
		                 "privsep: message of %zu bytes is shorter than its header", n);
	if (n > PRIV_MSG_MAX)
		return rdms_fail(err, WBEM_E_INVALID_PARAMETER,
		                 "privsep: message of %zu bytes is over the limit of %d", n,
		                 PRIV_MSG_MAX);
	memcpy(&h->type, m, 2);
	memcpy(&reserved, m + 2, 2);
	memcpy(&h->id, m + 4, 4);
	memcpy(&h->len, m + 8, 4);
	if (h->type == 0 || h->type >= PRIV_TYPE_END)
		return rdms_fail(err, WBEM_E_INVALID_PARAMETER, "privsep: unknown message type %u",
		                 (unsigned)h->type);
	if (reserved != 0)
		return rdms_fail(err, WBEM_E_INVALID_PARAMETER,
		                 "privsep: %s message: reserved header field is %u, not 0",
		                 priv_type_name(h->type), (unsigned)reserved);
	if (h->len != n - PRIV_HEADER_SIZE)
		return rdms_fail(err, WBEM_E_INVALID_PARAMETER,
		                 "privsep: %s message: header says %u payload bytes, %zu arrived",
		                 priv_type_name(h->type), (unsigned)h->len, n - PRIV_HEADER_SIZE);
	return WBEM_S_NO_ERROR;
}

/* ---- the messages -------------------------------------------------------- */

size_t priv_encode_auth(void *buf, size_t size, uint32_t id, const priv_auth *m)
{
	struct writer w;

	start(&w, buf, size, id, PRIV_AUTH);
	put_str(&w, m->user, PRIV_USER_MAX);
	put_str(&w, m->password, PRIV_PASSWORD_MAX);
	put_str(&w, m->rhost, PRIV_HOST_MAX);
	return finish(&w);
}

uint32_t priv_decode_auth(const void *p, size_t len, priv_auth *m, rdms_error *err)
{
	struct reader r;

	reader_init(&r, p, len, "AUTH", err);
	get_str(&r, "user", m->user, sizeof m->user);
	get_str(&r, "password", m->password, sizeof m->password);
	get_str(&r, "rhost", m->rhost, sizeof m->rhost);
	if (!r.bad && m->user[0] == '\0')
		bad(&r, "user is empty");
	return done(&r);
}

size_t priv_encode_negotiate(void *buf, size_t size, uint32_t id, const priv_negotiate *m)
{
	struct writer w;

	start(&w, buf, size, id, PRIV_NEGOTIATE);
	put_u64(&w, m->handshake);
	put_str(&w, m->token, PRIV_TOKEN_MAX);
	put_str(&w, m->rhost, PRIV_HOST_MAX);
	return finish(&w);
}

uint32_t priv_decode_negotiate(const void *p, size_t len, priv_negotiate *m, rdms_error *err)
{
	struct reader r;

	reader_init(&r, p, len, "NEGOTIATE", err);
	m->handshake = get_u64(&r, "handshake");
	get_str(&r, "token", m->token, sizeof m->token);
	get_str(&r, "rhost", m->rhost, sizeof m->rhost);
	if (!r.bad && m->token[0] == '\0' && m->handshake == 0)
		bad(&r, "token is empty (only a handshake in progress may be given up)");
	return done(&r);
}

size_t priv_encode_negotiated(void *buf, size_t size, uint32_t id, const priv_negotiated *m)
{
	struct writer w;

	start(&w, buf, size, id, PRIV_NEGOTIATED);
	put_u32(&w, m->state);
	put_u64(&w, m->handshake);
	put_str(&w, m->token, PRIV_TOKEN_MAX);
	put_u32(&w, m->uid);
	put_str(&w, m->user, PRIV_USER_MAX);
	put_str(&w, m->client, PRIV_USER_MAX);
	put_str(&w, m->error, PRIV_ERROR_MAX);
	put_blob(&w, m->context, m->context_len, PRIV_CONTEXT_MAX);
	return finish(&w);
}

uint32_t priv_decode_negotiated(const void *p, size_t len, priv_negotiated *m,
                                rdms_error *err)
{
	struct reader r;

	reader_init(&r, p, len, "NEGOTIATED", err);
	m->state = get_u32(&r, "state");
	m->handshake = get_u64(&r, "handshake");
	get_str(&r, "token", m->token, sizeof m->token);
	m->uid = get_u32(&r, "uid");
	get_str(&r, "user", m->user, sizeof m->user);
	get_str(&r, "client", m->client, sizeof m->client);
	get_str(&r, "error", m->error, sizeof m->error);
	get_blob(&r, "context", m->context, sizeof m->context, &m->context_len);
	if (!r.bad && m->state >= PRIV_NEGO_STATE_END)
		bad(&r, "state %u is out of range", (unsigned)m->state);
	if (!r.bad && m->state == PRIV_NEGO_COMPLETE && m->user[0] == '\0')
		bad(&r, "a completed handshake names no user");
	if (!r.bad && m->state == PRIV_NEGO_CONTINUE && m->token[0] == '\0')
		bad(&r, "a continued handshake has no token");
	if (!r.bad && m->state != PRIV_NEGO_COMPLETE && m->context_len > 0)
		bad(&r, "a security context comes only with a completed handshake");
	return done(&r);
}

size_t priv_encode_auth_reply(void *buf, size_t size, uint32_t id, const priv_auth_reply *m)
{
	struct writer w;

	start(&w, buf, size, id, PRIV_AUTH_REPLY);
	put_u32(&w, m->rc);
	put_u32(&w, m->uid);
	put_str(&w, m->user, PRIV_USER_MAX);
	put_str(&w, m->error, PRIV_ERROR_MAX);
	return finish(&w);
}

uint32_t priv_decode_auth_reply(const void *p, size_t len, priv_auth_reply *m,
                                rdms_error *err)
{
	struct reader r;

	reader_init(&r, p, len, "AUTH_REPLY", err);
	m->rc = get_u32(&r, "rc");
	m->uid = get_u32(&r, "uid");
	get_str(&r, "user", m->user, sizeof m->user);
	get_str(&r, "error", m->error, sizeof m->error);
	if (!r.bad && m->rc == WBEM_S_NO_ERROR && m->user[0] == '\0')
		bad(&r, "a successful check names no user");
	return done(&r);
}

size_t priv_encode_empty(void *buf, size_t size, uint32_t id, enum priv_type type)
{
	struct writer w;

	start(&w, buf, size, id, type);
	return finish(&w);
}

uint32_t priv_decode_empty(const void *p, size_t len, enum priv_type type, rdms_error *err)
{
	struct reader r;

	reader_init(&r, p, len, priv_type_name(type), err);
	return done(&r);
}

size_t priv_encode_find(void *buf, size_t size, uint32_t id, uint32_t session_id)
{
	struct writer w;

	start(&w, buf, size, id, PRIV_FIND);
	put_u32(&w, session_id);
	return finish(&w);
}

uint32_t priv_decode_find(const void *p, size_t len, uint32_t *session_id, rdms_error *err)
{
	struct reader r;

	reader_init(&r, p, len, "FIND", err);
	*session_id = get_u32(&r, "session id");
	return done(&r);
}

size_t priv_encode_act(void *buf, size_t size, uint32_t id, const priv_act *m)
{
	struct writer w;

	start(&w, buf, size, id, PRIV_ACT);
	put_u8(&w, m->action);
	put_u8(&w, m->backend);
	put_u32(&w, m->id);
	put_u32(&w, m->uid);
	put_i32(&w, m->server_pid);
	put_str(&w, m->title, PRIV_TITLE_MAX);
	put_str(&w, m->text, PRIV_TEXT_MAX);
	put_u32(&w, m->timeout_s);
	put_u8(&w, m->wait);
	return finish(&w);
}

uint32_t priv_decode_act(const void *p, size_t len, priv_act *m, rdms_error *err)
{
	struct reader r;

	reader_init(&r, p, len, "ACT", err);
	m->action = get_u8(&r, "action");
	m->backend = get_u8(&r, "backend");
	m->id = get_u32(&r, "session id");
	m->uid = get_u32(&r, "uid");
	m->server_pid = get_i32(&r, "server pid");
	get_str(&r, "title", m->title, sizeof m->title);
	get_str(&r, "message", m->text, sizeof m->text);
	m->timeout_s = get_u32(&r, "timeout");
	m->wait = get_u8(&r, "wait");
	if (!r.bad && m->action >= PRIV_ACTION_END)
		bad(&r, "action %u out of range", (unsigned)m->action);
	if (!r.bad && m->timeout_s > RDMS_MESSAGE_MAX_TIMEOUT_S)
		bad(&r, "timeout %u out of range", (unsigned)m->timeout_s);
	if (!r.bad && m->wait > 1)
		bad(&r, "wait %u is not 0 or 1", (unsigned)m->wait);
	if (!r.bad && m->action != PRIV_MESSAGE && (m->title[0] != '\0' || m->text[0] != '\0' ||
	                                            m->timeout_s != 0 || m->wait != 0))
		bad(&r, "title, message or options given for an action that is not a message");
	return done(&r);
}

size_t priv_encode_audit(void *buf, size_t size, uint32_t id, const priv_audit *m)
{
	struct writer w;

	start(&w, buf, size, id, PRIV_AUDIT);
	put_u32(&w, m->uid);
	put_u32(&w, m->result);
	put_str(&w, m->user, PRIV_USER_MAX);
	put_str(&w, m->source, PRIV_SOURCE_MAX);
	put_str(&w, m->protocol, PRIV_PROTO_MAX);
	put_str(&w, m->target, PRIV_TARGET_MAX);
	put_str(&w, m->method, PRIV_METHOD_MAX);
	put_str(&w, m->detail, PRIV_ERROR_MAX);
	return finish(&w);
}

uint32_t priv_decode_audit(const void *p, size_t len, priv_audit *m, rdms_error *err)
{
	struct reader r;

	reader_init(&r, p, len, "AUDIT", err);
	m->uid = get_u32(&r, "uid");
	m->result = get_u32(&r, "result");
	get_str(&r, "user", m->user, sizeof m->user);
	get_str(&r, "source", m->source, sizeof m->source);
	get_str(&r, "protocol", m->protocol, sizeof m->protocol);
	get_str(&r, "target", m->target, sizeof m->target);
	get_str(&r, "method", m->method, sizeof m->method);
	get_str(&r, "detail", m->detail, sizeof m->detail);
	if (!r.bad && m->method[0] == '\0')
		bad(&r, "method is empty");
	return done(&r);
}

size_t priv_encode_done(void *buf, size_t size, uint32_t id, const priv_done *m)
{
	struct writer w;

	start(&w, buf, size, id, PRIV_DONE);
	put_u32(&w, m->rc);
	put_str(&w, m->error, PRIV_ERROR_MAX);
	return finish(&w);
}

uint32_t priv_decode_done(const void *p, size_t len, priv_done *m, rdms_error *err)
{
	struct reader r;

	reader_init(&r, p, len, "DONE", err);
	m->rc = get_u32(&r, "rc");
	get_str(&r, "error", m->error, sizeof m->error);
	return done(&r);
}

/* ---- back-ends, idle times, the audit trail --------------------------------- */

size_t priv_encode_invoke(void *buf, size_t size, uint32_t id, const priv_invoke *m)
{
	struct writer w;

	start(&w, buf, size, id, PRIV_INVOKE);
	put_u8(&w, m->action);
	put_u8(&w, m->any_owner);
	put_u32(&w, m->id);
	put_u32(&w, m->owner);
	put_str(&w, m->title, PRIV_TITLE_MAX);
	put_str(&w, m->text, PRIV_TEXT_MAX);
	put_u32(&w, m->timeout_s);
	put_u32(&w, m->audit.uid);
	put_str(&w, m->audit.user, PRIV_USER_MAX);
	put_str(&w, m->audit.source, PRIV_SOURCE_MAX);
	put_str(&w, m->audit.protocol, PRIV_PROTO_MAX);
	put_str(&w, m->audit.target, PRIV_TARGET_MAX);
	put_str(&w, m->audit.method, PRIV_METHOD_MAX);
	return finish(&w);
}

static bool get_flag(struct reader *r, const char *field);

uint32_t priv_decode_invoke(const void *p, size_t len, priv_invoke *m, rdms_error *err)
{
	struct reader r;

	reader_init(&r, p, len, "INVOKE", err);
	m->action = get_u8(&r, "action");
	m->any_owner = get_flag(&r, "any owner");
	m->id = get_u32(&r, "session id");
	m->owner = get_u32(&r, "owner");
	get_str(&r, "title", m->title, sizeof m->title);
	get_str(&r, "message", m->text, sizeof m->text);
	m->timeout_s = get_u32(&r, "timeout");
	m->audit.uid = get_u32(&r, "uid");
	m->audit.result = 0;
	get_str(&r, "user", m->audit.user, sizeof m->audit.user);
	get_str(&r, "source", m->audit.source, sizeof m->audit.source);
	get_str(&r, "protocol", m->audit.protocol, sizeof m->audit.protocol);
	get_str(&r, "target", m->audit.target, sizeof m->audit.target);
	get_str(&r, "method", m->audit.method, sizeof m->audit.method);
	m->audit.detail[0] = '\0';
	if (!r.bad && m->action >= PRIV_ACTION_END)
		bad(&r, "action %u out of range", (unsigned)m->action);
	if (!r.bad && m->timeout_s > RDMS_MESSAGE_MAX_TIMEOUT_S)
		bad(&r, "timeout %u out of range", (unsigned)m->timeout_s);
	if (!r.bad && m->action != PRIV_MESSAGE &&
	    (m->title[0] != '\0' || m->text[0] != '\0' || m->timeout_s != 0))
		bad(&r, "title, message or options given for an action that is not a message");
	if (!r.bad && m->audit.method[0] == '\0')
		bad(&r, "method is empty");
	return done(&r);
}

static void put_session(struct writer *w, const rdms_session *s, uint8_t backend);
static void get_session(struct reader *r, rdms_session *s, const rdms_backend *const *backends,
                        size_t nbackends);

size_t priv_encode_invoked(void *buf, size_t size, uint32_t id, const priv_invoked *m)
{
	struct writer w;

	start(&w, buf, size, id, PRIV_INVOKED);
	put_u8(&w, m->found);
	put_u8(&w, m->backend);
	put_u8(&w, m->audited);
	put_u32(&w, m->rc);
	put_str(&w, m->error, PRIV_ERROR_MAX);
	put_u8(&w, m->after);
	if (m->after == RDMS_ACT_READ)
		put_session(&w, &m->now, m->backend);
	return finish(&w);
}

uint32_t priv_decode_invoked(const void *p, size_t len, priv_invoked *m,
                             const rdms_backend *const *backends, size_t nbackends,
                             rdms_error *err)
{
	struct reader r;

	reader_init(&r, p, len, "INVOKED", err);
	m->found = get_flag(&r, "found");
	m->backend = get_u8(&r, "backend");
	m->audited = get_flag(&r, "audited");
	m->rc = get_u32(&r, "rc");
	get_str(&r, "error", m->error, sizeof m->error);
	m->after = get_u8(&r, "after");
	if (!r.bad && m->after > RDMS_ACT_GONE)
		bad(&r, "after is %u", (unsigned)m->after);
	if (!r.bad && m->after == RDMS_ACT_READ) {
		get_session(&r, &m->now, backends, nbackends);
		if (!r.bad && (m->backend >= nbackends || m->now.backend != backends[m->backend]))
			bad(&r, "the session read again is in another back-end than the one acted on");
	}
	if (!r.bad && !m->found && (m->backend != 0 || m->audited || m->rc != 0 || m->after != 0))
		bad(&r, "a session not found was acted on, read again or audited");
	return done(&r);
}

size_t priv_encode_status(void *buf, size_t size, uint32_t id, const priv_status *m)
{
	struct writer w;

	start(&w, buf, size, id, PRIV_STATUS_REPLY);
	w.bad |= m->count > RDMS_MAX_BACKENDS;
	put_u32(&w, m->count);
	for (uint32_t i = 0; i < m->count && !w.bad; i++) {
		put_str(&w, m->v[i].name, PRIV_NAME_MAX);
		put_u8(&w, m->v[i].served);
		put_u8(&w, m->v[i].running);
		put_str(&w, m->v[i].reason, PRIV_REASON_MAX);
	}
	return finish(&w);
}

/* A u8 that must be 0 or 1. */
static bool get_flag(struct reader *r, const char *field)
{
	uint8_t v = get_u8(r, field);

	if (v > 1)
		bad(r, "%s is %u, not 0 or 1", field, (unsigned)v);
	return v == 1;
}

uint32_t priv_decode_status(const void *p, size_t len, priv_status *m, rdms_error *err)
{
	struct reader r;

	reader_init(&r, p, len, "STATUS_REPLY", err);
	m->count = get_u32(&r, "count");
	if (!r.bad && m->count > RDMS_MAX_BACKENDS)
		bad(&r, "%u back-ends, at most %d", (unsigned)m->count, RDMS_MAX_BACKENDS);
	for (uint32_t i = 0; i < m->count && !r.bad; i++) {
		get_str(&r, "name", m->v[i].name, sizeof m->v[i].name);
		m->v[i].served = get_flag(&r, "served");
		m->v[i].running = get_flag(&r, "running");
		get_str(&r, "reason", m->v[i].reason, sizeof m->v[i].reason);
		if (!r.bad && m->v[i].name[0] == '\0')
			bad(&r, "back-end %u has no name", (unsigned)i);
	}
	return done(&r);
}

size_t priv_encode_idle(void *buf, size_t size, uint32_t id, const priv_idle *m)
{
	struct writer w;

	start(&w, buf, size, id, PRIV_IDLE);
	w.bad |= m->count == 0 || m->count > PRIV_IDLE_MAX;
	put_u32(&w, m->count);
	for (uint32_t i = 0; i < m->count && !w.bad; i++) {
		put_u8(&w, m->v[i].backend);
		put_u32(&w, m->v[i].id);
		put_u32(&w, m->v[i].uid);
		put_i32(&w, m->v[i].server_pid);
	}
	return finish(&w);
}

uint32_t priv_decode_idle(const void *p, size_t len, priv_idle *m, rdms_error *err)
{
	struct reader r;

	reader_init(&r, p, len, "IDLE", err);
	m->count = get_u32(&r, "count");
	if (!r.bad && (m->count == 0 || m->count > PRIV_IDLE_MAX))
		bad(&r, "%u sessions, 1 to %d allowed", (unsigned)m->count, PRIV_IDLE_MAX);
	for (uint32_t i = 0; i < m->count && !r.bad; i++) {
		m->v[i].backend = get_u8(&r, "backend");
		m->v[i].id = get_u32(&r, "session id");
		m->v[i].uid = get_u32(&r, "uid");
		m->v[i].server_pid = get_i32(&r, "server pid");
	}
	return done(&r);
}

size_t priv_encode_idle_reply(void *buf, size_t size, uint32_t id, const priv_idle_reply *m)
{
	struct writer w;

	start(&w, buf, size, id, PRIV_IDLE_REPLY);
	w.bad |= m->count > PRIV_IDLE_MAX;
	put_u32(&w, m->count);
	for (uint32_t i = 0; i < m->count && !w.bad; i++)
		put_u32(&w, m->idle[i]);
	return finish(&w);
}

uint32_t priv_decode_idle_reply(const void *p, size_t len, uint32_t want, priv_idle_reply *m,
                                rdms_error *err)
{
	struct reader r;

	reader_init(&r, p, len, "IDLE_REPLY", err);
	m->count = get_u32(&r, "count");
	if (!r.bad && m->count != want)
		bad(&r, "%u idle times for %u sessions", (unsigned)m->count, (unsigned)want);
	for (uint32_t i = 0; i < m->count && !r.bad; i++)
		m->idle[i] = get_u32(&r, "idle time");
	return done(&r);
}

size_t priv_encode_audit_read(void *buf, size_t size, uint32_t id, const char *since)
{
	struct writer w;

	start(&w, buf, size, id, PRIV_AUDIT_READ);
	put_str(&w, since, PRIV_TIME_MAX);
	return finish(&w);
}

uint32_t priv_decode_audit_read(const void *p, size_t len, char *since, rdms_error *err)
{
	struct reader r;

	reader_init(&r, p, len, "AUDIT_READ", err);
	get_str(&r, "since", since, PRIV_TIME_MAX + 1);
	return done(&r);
}

/* A batch of records is a u32 count and that many of these; the smallest has ROW_MIN bytes. */
#define ROW_MIN (8 + 8 + 4 + 8 * 2)

/* A database NULL travels as "". */
static const char *text_of(const char *s)
{
	return s != NULL ? s : "";
}

static void put_row(struct writer *w, const rdms_audit_entry *e)
{
	put_i64(w, e->id);
	put_str(w, text_of(e->time), PRIV_TIME_MAX);
	put_i64(w, e->uid);
	put_u32(w, e->result);
	put_str(w, text_of(e->user), PRIV_USER_MAX);
	put_str(w, text_of(e->source), PRIV_SOURCE_MAX);
	put_str(w, text_of(e->protocol), PRIV_PROTO_MAX);
	put_str(w, text_of(e->target), PRIV_TARGET_MAX);
	put_str(w, text_of(e->method), PRIV_METHOD_MAX);
	put_str(w, text_of(e->detail), PRIV_ERROR_MAX);
}

static void get_row(struct reader *r, priv_audit_row *row)
{
	int64_t uid;

	row->id = get_i64(r, "id");
	get_str(r, "time", row->time, sizeof row->time);
	uid = get_i64(r, "uid");
	row->a.result = get_u32(r, "result");
	get_str(r, "user", row->a.user, sizeof row->a.user);
	get_str(r, "source", row->a.source, sizeof row->a.source);
	get_str(r, "protocol", row->a.protocol, sizeof row->a.protocol);
	get_str(r, "target", row->a.target, sizeof row->a.target);
	get_str(r, "method", row->a.method, sizeof row->a.method);
	get_str(r, "detail", row->a.detail, sizeof row->a.detail);
	if (!r->bad && (uid < 0 || uid > (int64_t)UINT32_MAX))
		bad(r, "record %lld: uid %lld out of range", (long long)row->id, (long long)uid);
	row->a.uid = (uint32_t)uid;
}

void priv_rows_begin(priv_batch *b, void *buf, size_t size, uint32_t id)
{
	struct writer w;

	start(&w, buf, size, id, PRIV_AUDIT_ROWS);
	put_u32(&w, 0);
	*b = (priv_batch){ .buf = buf, .size = w.bad ? 0 : size, .len = w.len };
}

bool priv_rows_add(priv_batch *b, const rdms_audit_entry *e)
{
	struct writer w = { .buf = b->buf, .size = b->size < PRIV_MSG_MAX ? b->size : PRIV_MSG_MAX,
	                    .len = b->len };

	put_row(&w, e);
	if (w.bad)
		return false;
	b->len = w.len;
	b->count++;
	return true;
}

uint32_t priv_decode_audit_rows(const void *p, size_t len, priv_audit_row *row,
                                rdms_audit_row_fn fn, void *ctx, bool *stopped, rdms_error *err)
{
	struct reader r, again;
	uint32_t count;

	*stopped = false;
	/* checked whole first: nothing of a bad batch is handed on */
	reader_init(&r, p, len, "AUDIT_ROWS", err);
	count = get_u32(&r, "count");
	if (!r.bad && count > r.left / ROW_MIN)
		bad(&r, "%u records cannot fit in %zu bytes", (unsigned)count, r.left);
	for (uint32_t i = 0; i < count && !r.bad; i++)
		get_row(&r, row);
	if (done(&r) != WBEM_S_NO_ERROR)
		return WBEM_E_INVALID_PARAMETER;
	reader_init(&again, p, len, "AUDIT_ROWS", err);
	get_u32(&again, "count");
	for (uint32_t i = 0; i < count && !*stopped; i++) {
		rdms_audit_entry e;

		get_row(&again, row);
		e = (rdms_audit_entry){ .id = row->id, .time = row->time, .user = row->a.user,
		                        .uid = row->a.uid, .source = row->a.source,
		                        .protocol = row->a.protocol, .target = row->a.target,
		                        .method = row->a.method, .result = row->a.result,
		                        .detail = row->a.detail };
		*stopped = fn(ctx, &e) != 0;
	}
	return WBEM_S_NO_ERROR;
}

/* ---- session batches ----------------------------------------------------- */

/*
 * A batch is a u32 count and that many records of these fields; the
 * smallest record (empty strings) has SESSION_MIN bytes.
 */
#define SESSION_MIN (3 * 4 + 1 + 4 * 4 + 8 + 4 * 2)

static void put_session(struct writer *w, const rdms_session *s, uint8_t backend)
{
	put_u32(w, s->id);
	put_u32(w, s->connect_state);
	put_u32(w, (uint32_t)s->uid);
	put_u8(w, backend);
	put_i32(w, s->display);
	put_i32(w, s->server_pid);
	put_i32(w, s->wm_pid);
	put_i32(w, s->conn_pid);
	put_i64(w, s->logon_time);
	put_str(w, s->kind, PRIV_KIND_MAX);
	put_str(w, s->user, PRIV_USER_MAX);
	put_str(w, s->client, PRIV_CLIENT_MAX);
	put_str(w, s->client_addr, PRIV_ADDR_MAX);
}

static void get_session(struct reader *r, rdms_session *s, const rdms_backend *const *backends,
                        size_t nbackends)
{
	uint8_t backend;

	s->id = get_u32(r, "session id");
	s->connect_state = get_u32(r, "connect state");
	s->uid = (uid_t)get_u32(r, "uid");
	backend = get_u8(r, "backend");
	s->display = get_i32(r, "display");
	s->server_pid = get_i32(r, "server pid");
	s->wm_pid = get_i32(r, "window manager pid");
	s->conn_pid = get_i32(r, "connection pid");
	s->logon_time = get_i64(r, "logon time");
	get_str(r, "kind", s->kind, sizeof s->kind);
	get_str(r, "user", s->user, sizeof s->user);
	get_str(r, "client", s->client, sizeof s->client);
	get_str(r, "client address", s->client_addr, sizeof s->client_addr);
	if (r->bad)
		return;
	if (s->logon_time < 0)
		bad(r, "session %u: logon time %lld before 1970", (unsigned)s->id,
		    (long long)s->logon_time);
	else if (s->connect_state > WTS_INIT)
		bad(r, "session %u: connect state %u out of range", (unsigned)s->id,
		    (unsigned)s->connect_state);
	else if (backend >= nbackends)
		bad(r, "session %u: back-end %u out of range (%zu back-ends)", (unsigned)s->id,
		    (unsigned)backend, nbackends);
	else
		s->backend = backends[backend];
}

void priv_batch_begin(priv_batch *b, void *buf, size_t size, uint32_t id)
{
	struct writer w;

	start(&w, buf, size, id, PRIV_SESSIONS);
	put_u32(&w, 0);
	*b = (priv_batch){ .buf = buf, .size = w.bad ? 0 : size, .len = w.len };
}

bool priv_batch_add(priv_batch *b, const rdms_session *s, uint8_t backend)
{
	struct writer w = { .buf = b->buf, .size = b->size < PRIV_MSG_MAX ? b->size : PRIV_MSG_MAX,
	                    .len = b->len };

	put_session(&w, s, backend);
	if (w.bad)
		return false;
	b->len = w.len;
	b->count++;
	return true;
}

size_t priv_batch_end(priv_batch *b)
{
	struct writer w = { .buf = b->buf, .size = b->size, .len = b->len };

	if (b->size == 0)
		return 0;
	memcpy(b->buf + PRIV_HEADER_SIZE, &b->count, sizeof b->count);
	return finish(&w);
}

uint32_t priv_decode_sessions_each(const void *p, size_t len,
                                   const rdms_backend *const *backends, size_t nbackends,
                                   rdms_session_fn fn, void *ctx, rdms_error *err)
{
	uint32_t count, rc = WBEM_S_NO_ERROR;
	struct reader r;

	reader_init(&r, p, len, "SESSIONS", err);
	count = get_u32(&r, "count");
	/* A count that the payload cannot hold is refused before anything is read. */
	if (!r.bad && count > r.left / SESSION_MIN)
		bad(&r, "%u sessions cannot fit in %zu bytes", (unsigned)count, r.left);
	for (uint32_t i = 0; i < count && !r.bad && rc == WBEM_S_NO_ERROR; i++) {
		rdms_session s;

		memset(&s, 0, sizeof s);
		s.display = -1;
		get_session(&r, &s, backends, nbackends);
		if (!r.bad)
			rc = fn(ctx, &s, err);
	}
	if (rc != WBEM_S_NO_ERROR)
		return rc;
	return done(&r) == WBEM_S_NO_ERROR ? WBEM_S_NO_ERROR : (uint32_t)WBEM_E_INVALID_PARAMETER;
}

/* An rdms_session_fn (CTX: a list): appends S. */
static uint32_t list_append(void *ctx, const rdms_session *s, rdms_error *err)
{
	rdms_session *to = rdms_session_list_add(ctx);

	if (to == NULL)
		return rdms_fail(err, WBEM_E_OUT_OF_MEMORY, "out of memory");
	*to = *s;
	return WBEM_S_NO_ERROR;
}

uint32_t priv_decode_sessions(const void *p, size_t len, const rdms_backend *const *backends,
                              size_t nbackends, rdms_session_list *out, rdms_error *err)
{
	size_t start_count = out->count;
	uint32_t rc = priv_decode_sessions_each(p, len, backends, nbackends, list_append, out, err);

	if (rc != WBEM_S_NO_ERROR)
		out->count = start_count;
	return rc;
}

/* ---- the socket ---------------------------------------------------------- */

bool priv_send(int fd, const void *msg, size_t len, rdms_error *err)
{
	return priv_send_fd(fd, msg, len, -1, err);
}

bool priv_send_fd(int fd, const void *msg, size_t len, int pass, rdms_error *err)
{
	union {
		struct cmsghdr align;
		char           buf[CMSG_SPACE(sizeof(int))];
	} ctl;
	struct iovec iov = { (void *)msg, len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;

	if (len == 0) {
		rdms_fail(err, WBEM_E_FAILED, "privsep: a message did not fit in %d bytes",
		          PRIV_MSG_MAX);
		return false;
	}
	if (pass >= 0) {
		struct cmsghdr *c;

		memset(&ctl, 0, sizeof ctl);
		mh.msg_control = ctl.buf;
		mh.msg_controllen = sizeof ctl.buf;
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &pass, sizeof pass);
	}
	do
		n = sendmsg(fd, &mh, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)len) {
		rdms_fail(err, WBEM_E_FAILED, "privsep: send: %s",
		          n < 0 ? strerror(errno) : "short write");
		return false;
	}
	return true;
}

uint32_t priv_recv(int fd, void *buf, size_t *n, priv_header *h, rdms_error *err)
{
	return priv_recv_fd(fd, buf, n, h, NULL, err);
}

/* The one descriptor of MH's SCM_RIGHTS message, or -1; any other is closed. */
static int passed_fd(struct msghdr *mh)
{
	int fd = -1;

	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c != NULL; c = CMSG_NXTHDR(mh, c)) {
		size_t nfd;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		nfd = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < nfd; i++) {
			int got;

			memcpy(&got, CMSG_DATA(c) + i * sizeof(int), sizeof got);
			if (fd < 0)
				fd = got;
			else
				close(got);
		}
	}
	return fd;
}

uint32_t priv_recv_fd(int fd, void *buf, size_t *n, priv_header *h, int *passed,
                      rdms_error *err)
{
	union {
		struct cmsghdr align;
		char           buf[CMSG_SPACE(sizeof(int))];
	} ctl;
	struct iovec iov = { buf, PRIV_MSG_MAX };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t got;
	uint32_t rc;
	int in;

	*n = 0;
	if (passed != NULL) {
		*passed = -1;
		/* room for one descriptor; more would be cut (MSG_CTRUNC) */
		mh.msg_control = ctl.buf;
		mh.msg_controllen = sizeof ctl.buf;
	}
	do
		got = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
	while (got < 0 && errno == EINTR);
	if (got < 0)
		return rdms_fail(err, WBEM_E_FAILED, "privsep: receive: %s", strerror(errno));
	in = passed != NULL ? passed_fd(&mh) : -1;
	if (got == 0) {
		if (in >= 0)
			close(in);
		return rdms_fail(err, WBEM_E_FAILED, "privsep: the other process closed the channel");
	}
	/* Without a control buffer the kernel drops any descriptor that arrives
	 * and says so with MSG_CTRUNC; with one, more than one does the same. */
	if (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) {
		if (in >= 0)
			close(in);
		if (mh.msg_flags & MSG_TRUNC)
			return rdms_fail(err, WBEM_E_INVALID_PARAMETER,
			                 "privsep: message over the limit of %d bytes", PRIV_MSG_MAX);
		return rdms_fail(err, WBEM_E_INVALID_PARAMETER,
		                 "privsep: a descriptor came where none was due");
	}
	*n = (size_t)got;
	rc = priv_decode_header(buf, *n, h, err);
	if (rc != WBEM_S_NO_ERROR && in >= 0)
		close(in);
	else if (passed != NULL)
		*passed = in;
	return rc;
}

/* ---- channels ------------------------------------------------------------ */

bool priv_channels_open(priv_channels *c, rdms_error *err)
{
	for (int i = 0; i < PRIV_CHANNELS; i++)
		c->priv[i] = c->net[i] = -1;
	for (int i = 0; i < PRIV_CHANNELS; i++) {
		int sv[2];

		if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
			rdms_fail(err, WBEM_E_FAILED, "privsep: socketpair: %s", strerror(errno));
			priv_channels_close(c->priv);
			priv_channels_close(c->net);
			return false;
		}
		c->priv[i] = sv[0];
		c->net[i] = sv[1];
	}
	return true;
}

void priv_channels_close(int fds[PRIV_CHANNELS])
{
	for (int i = 0; i < PRIV_CHANNELS; i++) {
		if (fds[i] >= 0)
			close(fds[i]);
		fds[i] = -1;
	}
}

/* ---- the change feed's events ---------------------------------------------- */

static void put_pos(struct writer *w, rdms_feed_pos pos)
{
	put_u64(w, pos.epoch);
	put_u64(w, pos.seq);
}

static rdms_feed_pos get_pos(struct reader *r, const char *field)
{
	rdms_feed_pos pos;

	pos.epoch = get_u64(r, field);
	pos.seq = get_u64(r, field);
	return pos;
}

size_t priv_encode_events(void *buf, size_t size, uint32_t id, const priv_events *m)
{
	struct writer w;

	start(&w, buf, size, id, PRIV_EVENTS);
	put_pos(&w, m->after);
	put_u32(&w, m->max);
	put_u32(&w, m->wait_ms);
	return finish(&w);
}

uint32_t priv_decode_events(const void *p, size_t len, priv_events *m, rdms_error *err)
{
	struct reader r;

	reader_init(&r, p, len, "EVENTS", err);
	m->after = get_pos(&r, "after");
	m->max = get_u32(&r, "max");
	m->wait_ms = get_u32(&r, "wait");
	if (!r.bad && (m->max == 0 || m->max > PRIV_EVENTS_MAX))
		bad(&r, "%u events asked, 1 to %d allowed", (unsigned)m->max, PRIV_EVENTS_MAX);
	if (!r.bad && m->wait_ms > PRIV_EVENTS_WAIT_MAX_MS)
		bad(&r, "a wait of %u ms, at most %d allowed", (unsigned)m->wait_ms,
		    PRIV_EVENTS_WAIT_MAX_MS);
	return done(&r);
}

size_t priv_encode_events_end(void *buf, size_t size, uint32_t id, const priv_events_end *m)
{
	struct writer w;

	start(&w, buf, size, id, PRIV_EVENTS_END);
	put_u32(&w, m->rc);
	put_pos(&w, m->floor);
	put_pos(&w, m->head);
	return finish(&w);
}

uint32_t priv_decode_events_end(const void *p, size_t len, priv_events_end *m,
                                rdms_error *err)
{
	struct reader r;

	reader_init(&r, p, len, "EVENTS_END", err);
	m->rc = get_u32(&r, "rc");
	m->floor = get_pos(&r, "floor");
	m->head = get_pos(&r, "head");
	if (!r.bad && m->rc >= PRIV_EVENTS_RC_END)
		bad(&r, "result %u out of range", (unsigned)m->rc);
	if (!r.bad && rdms_feed_pos_cmp(m->floor, m->head) > 0)
		bad(&r, "floor (%llu, %llu) after head (%llu, %llu)",
		    (unsigned long long)m->floor.epoch, (unsigned long long)m->floor.seq,
		    (unsigned long long)m->head.epoch, (unsigned long long)m->head.seq);
	return done(&r);
}

/* The smallest event record: position, time, kind, a session with empty strings. */
#define EVENT_SESSION_MIN (4 * 3 + 4 + 8 + 4 + 4 * 2)
#define EVENT_MIN (8 * 2 + 8 + 1 + EVENT_SESSION_MIN)

static void put_event_session(struct writer *w, const rdms_event_session *s)
{
	put_u32(w, s->id);
	put_u32(w, s->connect_state);
	put_u32(w, s->uid);
	put_i32(w, s->display);
	put_i64(w, s->logon_time);
	put_i32(w, s->server_pid);
	put_str(w, text_of(s->backend), PRIV_NAME_MAX);
	put_str(w, text_of(s->user), PRIV_USER_MAX);
	put_str(w, text_of(s->client), PRIV_CLIENT_MAX);
	put_str(w, text_of(s->client_addr), PRIV_ADDR_MAX);
}

/* Scratch for one decoded session's strings. */
struct event_text {
	char backend[PRIV_NAME_MAX + 1];
	char user[PRIV_USER_MAX + 1];
	char client[PRIV_CLIENT_MAX + 1];
	char addr[PRIV_ADDR_MAX + 1];
};

/* A session into S (strings into T), its back-end one of BACKENDS. */
static void get_event_session(struct reader *r, rdms_event_session *s, struct event_text *t,
                              const rdms_backend *const *backends, size_t nbackends)
{
	s->id = get_u32(r, "session id");
	s->connect_state = get_u32(r, "connect state");
	s->uid = get_u32(r, "uid");
	s->display = get_i32(r, "display");
	s->logon_time = get_i64(r, "logon time");
	s->server_pid = get_i32(r, "server pid");
	get_str(r, "backend", t->backend, sizeof t->backend);
	get_str(r, "user", t->user, sizeof t->user);
	get_str(r, "client", t->client, sizeof t->client);
	get_str(r, "client address", t->addr, sizeof t->addr);
	s->backend = NULL;
	s->user = t->user;
	s->client = t->client;
	s->client_addr = t->addr;
	if (r->bad)
		return;
	if (s->connect_state > WTS_INIT) {
		bad(r, "session %u: connect state %u out of range", (unsigned)s->id,
		    (unsigned)s->connect_state);
		return;
	}
	for (size_t i = 0; i < nbackends && s->backend == NULL; i++)
		if (strcmp(backends[i]->name, t->backend) == 0)
			s->backend = backends[i]->name;
	/*
	 * A back-end this rdmsd has but no longer serves (backends = changed
	 * since): its events are history the journal keeps, and still theirs.
	 */
	if (s->backend == NULL && rdms_backend_find(t->backend) != NULL)
		s->backend = rdms_backend_find(t->backend)->name;
	if (s->backend == NULL)
		bad(r, "session %u: unknown back-end '%s'", (unsigned)s->id, t->backend);
}

void priv_events_begin(priv_batch *b, void *buf, size_t size, uint32_t id)
{
	struct writer w;

	start(&w, buf, size, id, PRIV_EVENTS_BATCH);
	put_u32(&w, 0);
	*b = (priv_batch){ .buf = buf, .size = w.bad ? 0 : size, .len = w.len };
}

bool priv_events_add(priv_batch *b, const rdms_event *ev)
{
	struct writer w = { .buf = b->buf, .size = b->size < PRIV_MSG_MAX ? b->size : PRIV_MSG_MAX,
	                    .len = b->len };

	if (b->count >= PRIV_EVENTS_BATCH_MAX)
		return false;
	put_pos(&w, ev->pos);
	put_i64(&w, ev->time_us);
	put_u8(&w, ev->kind);
	put_event_session(&w, &ev->target);
	if (ev->kind == RDMS_EVENT_MODIFICATION)
		put_event_session(&w, &ev->previous);
	if (w.bad)
		return false;
	b->len = w.len;
	b->count++;
	return true;
}

/* One event into EV (its strings in T and TP, not allocated); LAST: the one before. */
static void get_event(struct reader *r, rdms_event *ev, struct event_text *t,
                      struct event_text *tp, const rdms_backend *const *backends,
                      size_t nbackends, rdms_feed_pos last)
{
	memset(ev, 0, sizeof *ev);
	ev->pos = get_pos(r, "position");
	ev->time_us = get_i64(r, "time");
	ev->kind = get_u8(r, "kind");
	if (!r->bad && ev->kind != RDMS_EVENT_CREATION && ev->kind != RDMS_EVENT_MODIFICATION &&
	    ev->kind != RDMS_EVENT_DELETION)
		bad(r, "event kind %u is none of 1, 2, 4", (unsigned)ev->kind);
	if (!r->bad && (ev->pos.epoch == 0 || ev->pos.seq == 0 ||
	                rdms_feed_pos_cmp(ev->pos, last) <= 0))
		bad(r, "event position (%llu, %llu) is not after (%llu, %llu)",
		    (unsigned long long)ev->pos.epoch, (unsigned long long)ev->pos.seq,
		    (unsigned long long)last.epoch, (unsigned long long)last.seq);
	get_event_session(r, &ev->target, t, backends, nbackends);
	if (ev->kind == RDMS_EVENT_MODIFICATION)
		get_event_session(r, &ev->previous, tp, backends, nbackends);
}

/* ES's strings (pointing into scratch) replaced by copies; false when out of memory. */
static bool own_strings(rdms_event_session *es)
{
	rdms_event_session copy;

	if (!rdms_event_session_copy(&copy, es))
		return false;
	*es = copy;
	return true;
}

uint32_t priv_events_batch_count(const void *p, size_t len)
{
	rdms_error err = { 0 };
	struct reader r;

	reader_init(&r, p, len, "EVENTS_BATCH", &err);
	return get_u32(&r, "count");
}

uint32_t priv_decode_events_batch(const void *p, size_t len,
                                  const rdms_backend *const *backends, size_t nbackends,
                                  rdms_event *out, size_t cap, size_t *n, rdms_error *err)
{
	struct event_text t, tp;
	rdms_feed_pos last = { 0, 0 };
	struct reader r;
	uint32_t count;

	*n = 0;
	reader_init(&r, p, len, "EVENTS_BATCH", err);
	count = get_u32(&r, "count");
	if (!r.bad && (count > r.left / EVENT_MIN || count > cap))
		bad(&r, "%u events cannot fit in %zu bytes (or %zu events)", (unsigned)count,
		    r.left, cap);
	for (uint32_t i = 0; i < count && !r.bad; i++) {
		rdms_event *ev = &out[i];
		bool mod;

		get_event(&r, ev, &t, &tp, backends, nbackends, last);
		if (r.bad)
			break;
		last = ev->pos;
		mod = ev->kind == RDMS_EVENT_MODIFICATION;
		if (!own_strings(&ev->target)) {
			memset(ev, 0, sizeof *ev);
			rdms_fail(err, WBEM_E_OUT_OF_MEMORY, "out of memory");
			r.bad = true;
			break;
		}
		if (mod && !own_strings(&ev->previous)) {
			rdms_event_session_clear(&ev->target);
			memset(ev, 0, sizeof *ev);
			rdms_fail(err, WBEM_E_OUT_OF_MEMORY, "out of memory");
			r.bad = true;
			break;
		}
		*n = i + 1;
	}
	if (done(&r) == WBEM_S_NO_ERROR)
		return WBEM_S_NO_ERROR;
	for (size_t i = 0; i < *n; i++) {
		rdms_event_session_clear(&out[i].target);
		rdms_event_session_clear(&out[i].previous);
	}
	*n = 0;
	return err->code != 0 ? err->code : WBEM_E_INVALID_PARAMETER;
}
