/*
 * test_privsep.c -- the messages between rdmsd's two processes, and the
 * two ends talking over real socketpairs.
 *
 * Wire: every message survives a round trip; a header that lies, a type
 * that does not exist, a string over its limit or with a NUL byte, an enum
 * out of range, a payload cut at any byte or followed by extra bytes is
 * refused with a message naming what was wrong; random bytes never crash
 * a decoder.
 *
 * Ends: the privileged server on the fixture back-end, the proxies of the
 * network process in front of it: an enumeration of 3,000 sessions (many
 * batches) arrives whole and equal; an action reaches the back-end and a
 * changed session is not acted on; audit records are committed; malformed
 * requests written straight to a channel get an error reply and the
 * channel goes on serving.  Streaming: priv sends batches as a back-end
 * walks its sessions, the proxy's each hands them on as they arrive; an
 * error of the walker or of a later back-end leaves the channel in step.
 */
#include <pthread.h>
#include <stdio.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "backend/fixture/fixture.h"
#include "check.h"
#include "session_walk.h"
#include "privsep/events_pump.h"
#include "privsep/privsep.h"
#include "events/feed_internal.h"
#include "schema/schema.h"

static unsigned char buf[PRIV_MSG_MAX], out[PRIV_MSG_MAX];

static const unsigned char *pl(const void *msg)
{
	return (const unsigned char *)msg + PRIV_HEADER_SIZE;
}

/* Every shorter cut of MSG (N bytes) and one extra byte: all refused. */
typedef uint32_t (*decode_fn)(const void *p, size_t len, rdms_error *err);

static int cuts_refused(const unsigned char *msg, size_t n, decode_fn fn)
{
	static unsigned char copy[PRIV_MSG_MAX + 1];
	rdms_error err;
	int bad = 0;

	for (size_t k = PRIV_HEADER_SIZE; k < n; k++) {
		err = (rdms_error){ 0 };
		if (fn(pl(msg), k - PRIV_HEADER_SIZE, &err) == WBEM_S_NO_ERROR)
			bad++;
		else if (strstr(err.message, "privsep: ") == NULL)
			bad++;
	}
	memcpy(copy, msg, n);
	copy[n] = 0;
	if (fn(pl(copy), n + 1 - PRIV_HEADER_SIZE, &err) == WBEM_S_NO_ERROR ||
	    strstr(err.message, "unexpected bytes") == NULL)
		bad++;
	return bad;
}

static priv_auth g_auth;
static uint32_t dec_auth(const void *p, size_t len, rdms_error *err)
{
	return priv_decode_auth(p, len, &g_auth, err);
}

static priv_act g_act;
static uint32_t dec_act(const void *p, size_t len, rdms_error *err)
{
	return priv_decode_act(p, len, &g_act, err);
}

static priv_invoke g_invoke;
static uint32_t dec_invoke(const void *p, size_t len, rdms_error *err)
{
	return priv_decode_invoke(p, len, &g_invoke, err);
}

static priv_invoked g_invoked;
/* back-end index 2 is the fixture (the one a session read again names) */
static const rdms_backend *const invoked_backends[] = { &rdms_backend_fixture,
                                                        &rdms_backend_fixture,
                                                        &rdms_backend_fixture };
static uint32_t dec_invoked(const void *p, size_t len, rdms_error *err)
{
	return priv_decode_invoked(p, len, &g_invoked, invoked_backends, 3, err);
}

static priv_audit g_audit;
static uint32_t dec_audit(const void *p, size_t len, rdms_error *err)
{
	return priv_decode_audit(p, len, &g_audit, err);
}

static priv_done g_done;
static uint32_t dec_done(const void *p, size_t len, rdms_error *err)
{
	return priv_decode_done(p, len, &g_done, err);
}

static priv_auth_reply g_reply;
static uint32_t dec_reply(const void *p, size_t len, rdms_error *err)
{
	return priv_decode_auth_reply(p, len, &g_reply, err);
}

static const rdms_backend *const test_backends[] = { &rdms_backend_fixture };

static uint32_t dec_sessions(const void *p, size_t len, rdms_error *err)
{
	rdms_session_list l = { 0 };
	uint32_t rc = priv_decode_sessions(p, len, test_backends, 1, &l, err);

	if (rc != WBEM_S_NO_ERROR && l.count != 0)
		rc = WBEM_S_NO_ERROR;   /* a failure must leave the list as it was */
	rdms_session_list_free(&l);
	return rc;
}

/* ---- header ---------------------------------------------------------------- */

static void test_header(void)
{
	rdms_error err = { 0 };
	priv_header h;
	size_t n = priv_encode_find(buf, sizeof buf, 42, 7);
	uint16_t v16;
	uint32_t v32;

	CHECK_EQ(n, PRIV_HEADER_SIZE + 4);
	CHECK_EQ(priv_decode_header(buf, n, &h, &err), 0);
	CHECK_EQ(h.type, PRIV_FIND);
	CHECK_EQ(h.id, 42);
	CHECK_EQ(h.len, 4);

	CHECK_EQ(priv_decode_header(buf, 11, &h, &err), WBEM_E_INVALID_PARAMETER);
	CHECK(strstr(err.message, "shorter than its header") != NULL);
	CHECK_EQ(priv_decode_header(buf, 0, &h, &err), WBEM_E_INVALID_PARAMETER);
	CHECK_EQ(priv_decode_header(buf, PRIV_MSG_MAX + 1, &h, &err), WBEM_E_INVALID_PARAMETER);
	CHECK(strstr(err.message, "over the limit") != NULL);
	/* the length field must match what arrived, both ways */
	CHECK_EQ(priv_decode_header(buf, n - 1, &h, &err), WBEM_E_INVALID_PARAMETER);
	CHECK(strstr(err.message, "header says 4 payload bytes, 3 arrived") != NULL);
	v32 = 1000;
	memcpy(buf + 8, &v32, 4);
	CHECK_EQ(priv_decode_header(buf, n, &h, &err), WBEM_E_INVALID_PARAMETER);
	n = priv_encode_find(buf, sizeof buf, 42, 7);
	/* unknown types */
	v16 = 0;
	memcpy(buf, &v16, 2);
	CHECK_EQ(priv_decode_header(buf, n, &h, &err), WBEM_E_INVALID_PARAMETER);
	CHECK(strstr(err.message, "unknown message type 0") != NULL);
	v16 = PRIV_TYPE_END;
	memcpy(buf, &v16, 2);
	CHECK_EQ(priv_decode_header(buf, n, &h, &err), WBEM_E_INVALID_PARAMETER);
	v16 = 0xffff;
	memcpy(buf, &v16, 2);
	CHECK_EQ(priv_decode_header(buf, n, &h, &err), WBEM_E_INVALID_PARAMETER);
	/* the reserved field */
	n = priv_encode_find(buf, sizeof buf, 42, 7);
	v16 = 1;
	memcpy(buf + 2, &v16, 2);
	CHECK_EQ(priv_decode_header(buf, n, &h, &err), WBEM_E_INVALID_PARAMETER);
	CHECK(strstr(err.message, "reserved") != NULL);
	CHECK_STR(priv_type_name(PRIV_AUDIT), "AUDIT");
	CHECK_STR(priv_type_name(0), "?");
	CHECK_STR(priv_type_name(999), "?");
}

/* ---- each message ------------------------------------------------------------ */

static void test_auth(void)
{
	priv_auth a = { .user = "alice", .password = "s3cret:with:colons", .rhost = "192.0.2.1" };
	priv_auth_reply r = { .rc = 0, .uid = 1000, .user = "alice" }, r2;
	rdms_error err = { 0 };
	size_t n = priv_encode_auth(buf, sizeof buf, 1, &a);
	uint16_t big = 300;

	CHECK(n > PRIV_HEADER_SIZE);
	CHECK_EQ(priv_decode_auth(pl(buf), n - PRIV_HEADER_SIZE, &g_auth, &err), 0);
	CHECK_STR(g_auth.user, "alice");
	CHECK_STR(g_auth.password, "s3cret:with:colons");
	CHECK_STR(g_auth.rhost, "192.0.2.1");
	CHECK_EQ(cuts_refused(buf, n, dec_auth), 0);

	/* a user name longer than its field: refused, naming the field */
	memcpy(buf + PRIV_HEADER_SIZE, &big, 2);
	CHECK_EQ(priv_decode_auth(pl(buf), n - PRIV_HEADER_SIZE, &g_auth, &err),
	         WBEM_E_INVALID_PARAMETER);
	CHECK(strstr(err.message, "AUTH message: user is 300 bytes long, at most 255") != NULL);
	/* a NUL inside a string */
	n = priv_encode_auth(buf, sizeof buf, 1, &a);
	buf[PRIV_HEADER_SIZE + 2 + 1] = '\0';
	CHECK_EQ(priv_decode_auth(pl(buf), n - PRIV_HEADER_SIZE, &g_auth, &err),
	         WBEM_E_INVALID_PARAMETER);
	CHECK(strstr(err.message, "user contains a NUL byte") != NULL);
	/* an empty user is not a request */
	a.user[0] = '\0';
	n = priv_encode_auth(buf, sizeof buf, 1, &a);
	CHECK_EQ(priv_decode_auth(pl(buf), n - PRIV_HEADER_SIZE, &g_auth, &err),
	         WBEM_E_INVALID_PARAMETER);
	/* encoders refuse what would not decode */
	memset(a.password, 'x', sizeof a.password - 1);
	a.password[sizeof a.password - 1] = '\0';
	strcpy(a.user, "alice");
	CHECK(priv_encode_auth(buf, sizeof buf, 1, &a) > 0);   /* exactly at the limit */
	CHECK_EQ(priv_encode_auth(buf, 20, 1, &a), 0);          /* buffer too small */

	n = priv_encode_auth_reply(buf, sizeof buf, 2, &r);
	CHECK_EQ(priv_decode_auth_reply(pl(buf), n - PRIV_HEADER_SIZE, &r2, &err), 0);
	CHECK_EQ(r2.uid, 1000);
	CHECK_STR(r2.user, "alice");
	CHECK_EQ(cuts_refused(buf, n, dec_reply), 0);
	r.user[0] = '\0';
	n = priv_encode_auth_reply(buf, sizeof buf, 2, &r);
	CHECK_EQ(priv_decode_auth_reply(pl(buf), n - PRIV_HEADER_SIZE, &r2, &err),
	         WBEM_E_INVALID_PARAMETER);
	CHECK(strstr(err.message, "names no user") != NULL);
}

static priv_negotiate g_nego;
static priv_negotiated g_negod;

static uint32_t dec_nego(const void *p, size_t len, rdms_error *err)
{
	return priv_decode_negotiate(p, len, &g_nego, err);
}

static uint32_t dec_negod(const void *p, size_t len, rdms_error *err)
{
	return priv_decode_negotiated(p, len, &g_negod, err);
}

/* NEGOTIATE and NEGOTIATED: a leg, giving a handshake up, the exported context */
static void test_negotiate(void)
{
	static priv_negotiate m;
	static priv_negotiated o;
	rdms_error err = { 0 };
	size_t n;

	m = (priv_negotiate){ .handshake = 0, .token = "TlRMTVNTUAABAAAA", .rhost = "192.0.2.7" };
	n = priv_encode_negotiate(buf, sizeof buf, 1, &m);
	CHECK_EQ(dec_nego(pl(buf), n - PRIV_HEADER_SIZE, &err), 0);
	CHECK_STR(g_nego.token, "TlRMTVNTUAABAAAA");
	CHECK_EQ(cuts_refused(buf, n, dec_nego), 0);
	/* no token: only a handshake in progress may be given up */
	m.token[0] = '\0';
	n = priv_encode_negotiate(buf, sizeof buf, 1, &m);
	CHECK_EQ(dec_nego(pl(buf), n - PRIV_HEADER_SIZE, &err), WBEM_E_INVALID_PARAMETER);
	CHECK(strstr(err.message, "token is empty") != NULL);
	m.handshake = 0x1234567890abcdefULL;
	n = priv_encode_negotiate(buf, sizeof buf, 1, &m);
	CHECK_EQ(dec_nego(pl(buf), n - PRIV_HEADER_SIZE, &err), 0);
	CHECK(g_nego.handshake == 0x1234567890abcdefULL && g_nego.token[0] == '\0');

	/* a completed handshake with its exported context, byte for byte */
	o = (priv_negotiated){ .state = PRIV_NEGO_COMPLETE, .uid = 1001, .user = "alice",
	                       .client = "LAB\\alice", .context_len = 2800 };
	for (size_t i = 0; i < o.context_len; i++)
		o.context[i] = (uint8_t)(i * 7);
	n = priv_encode_negotiated(buf, sizeof buf, 2, &o);
	CHECK(n > 2800);
	CHECK_EQ(dec_negod(pl(buf), n - PRIV_HEADER_SIZE, &err), 0);
	CHECK_EQ(g_negod.context_len, 2800);
	CHECK(memcmp(g_negod.context, o.context, 2800) == 0);
	CHECK_EQ(cuts_refused(buf, n, dec_negod), 0);
	/* a context only with a completed handshake */
	o.state = PRIV_NEGO_FAILED;
	n = priv_encode_negotiated(buf, sizeof buf, 2, &o);
	CHECK_EQ(dec_negod(pl(buf), n - PRIV_HEADER_SIZE, &err), WBEM_E_INVALID_PARAMETER);
	CHECK(strstr(err.message, "only with a completed handshake") != NULL);
	/* one over its limit is not encoded */
	o.state = PRIV_NEGO_COMPLETE;
	o.context_len = PRIV_CONTEXT_MAX + 1;
	CHECK_EQ(priv_encode_negotiated(buf, sizeof buf, 2, &o), 0);
}

static void test_act(void)
{
	priv_act a = { .action = PRIV_MESSAGE, .backend = 0, .id = 5, .uid = 1000,
	               .server_pid = 4242, .title = "Maintenance", .text = "Back at 10:00\n" };
	rdms_error err = { 0 };
	size_t n = priv_encode_act(buf, sizeof buf, 9, &a);

	CHECK_EQ(priv_decode_act(pl(buf), n - PRIV_HEADER_SIZE, &g_act, &err), 0);
	CHECK_EQ(g_act.action, PRIV_MESSAGE);
	CHECK_EQ(g_act.id, 5);
	CHECK_EQ(g_act.server_pid, 4242);
	CHECK_STR(g_act.text, "Back at 10:00\n");
	CHECK_EQ(cuts_refused(buf, n, dec_act), 0);

	buf[PRIV_HEADER_SIZE] = PRIV_ACTION_END;
	CHECK_EQ(priv_decode_act(pl(buf), n - PRIV_HEADER_SIZE, &g_act, &err),
	         WBEM_E_INVALID_PARAMETER);
	CHECK(strstr(err.message, "action 3 out of range") != NULL);
	buf[PRIV_HEADER_SIZE] = 0xff;
	CHECK_EQ(priv_decode_act(pl(buf), n - PRIV_HEADER_SIZE, &g_act, &err),
	         WBEM_E_INVALID_PARAMETER);
	/* text riding on a Logoff */
	a.action = PRIV_LOGOFF;
	n = priv_encode_act(buf, sizeof buf, 9, &a);
	CHECK_EQ(priv_decode_act(pl(buf), n - PRIV_HEADER_SIZE, &g_act, &err),
	         WBEM_E_INVALID_PARAMETER);
	CHECK(strstr(err.message, "not a message") != NULL);
	/* the largest dialog fits, one byte more does not encode */
	a.action = PRIV_MESSAGE;
	memset(a.title, 'T', PRIV_TITLE_MAX);
	a.title[PRIV_TITLE_MAX] = '\0';
	memset(a.text, 'M', PRIV_TEXT_MAX);
	a.text[PRIV_TEXT_MAX] = '\0';
	n = priv_encode_act(buf, sizeof buf, 9, &a);
	CHECK(n > 0);
	CHECK_EQ(priv_decode_act(pl(buf), n - PRIV_HEADER_SIZE, &g_act, &err), 0);
	CHECK_EQ(strlen(g_act.text), PRIV_TEXT_MAX);
	/* the wire's limits are SendMessage's (message.h), not a second pair */
	CHECK_EQ(PRIV_TITLE_MAX, RDMS_MESSAGE_MAX_TITLE);
	CHECK_EQ(PRIV_TEXT_MAX, RDMS_MESSAGE_MAX_TEXT);

	/* SendMessage's options travel and are checked */
	a.timeout_s = 30;
	a.wait = 1;
	n = priv_encode_act(buf, sizeof buf, 9, &a);
	CHECK_EQ(priv_decode_act(pl(buf), n - PRIV_HEADER_SIZE, &g_act, &err), 0);
	CHECK_EQ(g_act.timeout_s, 30);
	CHECK_EQ(g_act.wait, 1);
	a.wait = 2;
	n = priv_encode_act(buf, sizeof buf, 9, &a);
	CHECK_EQ(priv_decode_act(pl(buf), n - PRIV_HEADER_SIZE, &g_act, &err),
	         WBEM_E_INVALID_PARAMETER);
	CHECK(strstr(err.message, "wait 2 is not 0 or 1") != NULL);
	a.wait = 0;
	a.timeout_s = RDMS_MESSAGE_MAX_TIMEOUT_S + 1;
	n = priv_encode_act(buf, sizeof buf, 9, &a);
	CHECK_EQ(priv_decode_act(pl(buf), n - PRIV_HEADER_SIZE, &g_act, &err),
	         WBEM_E_INVALID_PARAMETER);
	CHECK(strstr(err.message, "timeout 86401 out of range") != NULL);
	/* options riding on a Disconnect */
	memset(&a, 0, sizeof a);
	a.action = PRIV_DISCONNECT;
	a.wait = 1;
	n = priv_encode_act(buf, sizeof buf, 9, &a);
	CHECK_EQ(priv_decode_act(pl(buf), n - PRIV_HEADER_SIZE, &g_act, &err),
	         WBEM_E_INVALID_PARAMETER);
	CHECK(strstr(err.message, "not a message") != NULL);
}

/* A whole method call (INVOKE) and its answer (INVOKED). */
static void test_invoke(void)
{
	priv_invoke a = { .action = PRIV_MESSAGE, .any_owner = 0, .id = 5, .owner = 1000,
	                  .title = "Maintenance", .text = "Back at 10:00\n", .timeout_s = 30,
	                  .audit = { .uid = 1000, .user = "alice", .source = "127.0.0.1",
	                             .protocol = "wsman", .target = "x.SessionId=5",
	                             .method = "SendMessage" } };
	priv_invoked r = { .found = 1, .backend = 2, .audited = 1, .rc = WBEM_E_NOT_FOUND,
	                   .error = "no dialog" };
	rdms_error err = { 0 };
	size_t n = priv_encode_invoke(buf, sizeof buf, 9, &a);

	CHECK_EQ(priv_decode_invoke(pl(buf), n - PRIV_HEADER_SIZE, &g_invoke, &err), 0);
	CHECK_EQ(g_invoke.action, PRIV_MESSAGE);
	CHECK_EQ(g_invoke.any_owner, 0);
	CHECK_EQ(g_invoke.id, 5);
	CHECK_EQ(g_invoke.owner, 1000);
	CHECK_STR(g_invoke.text, "Back at 10:00\n");
	CHECK_EQ(g_invoke.timeout_s, 30);
	CHECK_EQ(g_invoke.audit.uid, 1000);
	CHECK_STR(g_invoke.audit.user, "alice");
	CHECK_STR(g_invoke.audit.source, "127.0.0.1");
	CHECK_STR(g_invoke.audit.protocol, "wsman");
	CHECK_STR(g_invoke.audit.target, "x.SessionId=5");
	CHECK_STR(g_invoke.audit.method, "SendMessage");
	CHECK_EQ(cuts_refused(buf, n, dec_invoke), 0);
	buf[PRIV_HEADER_SIZE] = PRIV_ACTION_END;
	CHECK_EQ(dec_invoke(pl(buf), n - PRIV_HEADER_SIZE, &err), WBEM_E_INVALID_PARAMETER);
	CHECK(strstr(err.message, "action 3 out of range") != NULL);
	buf[PRIV_HEADER_SIZE] = PRIV_MESSAGE;
	buf[PRIV_HEADER_SIZE + 1] = 2;
	CHECK_EQ(dec_invoke(pl(buf), n - PRIV_HEADER_SIZE, &err), WBEM_E_INVALID_PARAMETER);
	CHECK(strstr(err.message, "any owner is 2") != NULL);
	/* text or a timeout riding on a Logoff; a call with no method to record */
	a.action = PRIV_LOGOFF;
	n = priv_encode_invoke(buf, sizeof buf, 9, &a);
	CHECK_EQ(dec_invoke(pl(buf), n - PRIV_HEADER_SIZE, &err), WBEM_E_INVALID_PARAMETER);
	CHECK(strstr(err.message, "not a message") != NULL);
	a.title[0] = a.text[0] = '\0';
	n = priv_encode_invoke(buf, sizeof buf, 9, &a);
	CHECK_EQ(dec_invoke(pl(buf), n - PRIV_HEADER_SIZE, &err), WBEM_E_INVALID_PARAMETER);
	a.timeout_s = 0;
	n = priv_encode_invoke(buf, sizeof buf, 9, &a);
	CHECK_EQ(dec_invoke(pl(buf), n - PRIV_HEADER_SIZE, &err), 0);
	a.audit.method[0] = '\0';
	n = priv_encode_invoke(buf, sizeof buf, 9, &a);
	CHECK_EQ(dec_invoke(pl(buf), n - PRIV_HEADER_SIZE, &err), WBEM_E_INVALID_PARAMETER);
	CHECK(strstr(err.message, "method is empty") != NULL);
	a.action = PRIV_MESSAGE;
	a.timeout_s = RDMS_MESSAGE_MAX_TIMEOUT_S + 1;
	snprintf(a.audit.method, sizeof a.audit.method, "SendMessage");
	n = priv_encode_invoke(buf, sizeof buf, 9, &a);
	CHECK_EQ(dec_invoke(pl(buf), n - PRIV_HEADER_SIZE, &err), WBEM_E_INVALID_PARAMETER);
	CHECK(strstr(err.message, "timeout 86401 out of range") != NULL);

	n = priv_encode_invoked(buf, sizeof buf, 9, &r);
	CHECK_EQ(dec_invoked(pl(buf), n - PRIV_HEADER_SIZE, &err), 0);
	CHECK_EQ(g_invoked.found, 1);
	CHECK_EQ(g_invoked.backend, 2);
	CHECK_EQ(g_invoked.audited, 1);
	CHECK_EQ(g_invoked.rc, WBEM_E_NOT_FOUND);
	CHECK_STR(g_invoked.error, "no dialog");
	CHECK_EQ(g_invoked.after, RDMS_ACT_UNREAD);
	CHECK_EQ(cuts_refused(buf, n, dec_invoked), 0);
	/* a Disconnect's answer carries the session as read again after it */
	r.after = RDMS_ACT_READ;
	r.now = (rdms_session){ .id = 5, .uid = 1000, .connect_state = WTS_DISCONNECTED,
	                        .display = 10, .server_pid = 42, .user = "alice", .kind = "xrdp" };
	n = priv_encode_invoked(buf, sizeof buf, 9, &r);
	CHECK_EQ(dec_invoked(pl(buf), n - PRIV_HEADER_SIZE, &err), 0);
	CHECK_EQ(g_invoked.after, RDMS_ACT_READ);
	CHECK_EQ(g_invoked.now.id, 5);
	CHECK_EQ(g_invoked.now.connect_state, WTS_DISCONNECTED);
	CHECK_EQ(g_invoked.now.server_pid, 42);
	CHECK_STR(g_invoked.now.user, "alice");
	CHECK(g_invoked.now.backend == invoked_backends[2]);
	CHECK_EQ(cuts_refused(buf, n, dec_invoked), 0);
	/* ... in the back-end acted on, which must be one net knows */
	r.backend = 3;
	n = priv_encode_invoked(buf, sizeof buf, 9, &r);
	CHECK_EQ(dec_invoked(pl(buf), n - PRIV_HEADER_SIZE, &err), WBEM_E_INVALID_PARAMETER);
	r.backend = 2;
	r.after = RDMS_ACT_GONE;
	n = priv_encode_invoked(buf, sizeof buf, 9, &r);
	CHECK_EQ(dec_invoked(pl(buf), n - PRIV_HEADER_SIZE, &err), 0);
	CHECK_EQ(g_invoked.after, RDMS_ACT_GONE);
	r.after = RDMS_ACT_GONE + 1;
	n = priv_encode_invoked(buf, sizeof buf, 9, &r);
	CHECK_EQ(dec_invoked(pl(buf), n - PRIV_HEADER_SIZE, &err), WBEM_E_INVALID_PARAMETER);
	CHECK(strstr(err.message, "after is 3") != NULL);
	r.after = RDMS_ACT_UNREAD;
	/* a session not found was neither acted on nor audited */
	r.found = 0;
	n = priv_encode_invoked(buf, sizeof buf, 9, &r);
	CHECK_EQ(dec_invoked(pl(buf), n - PRIV_HEADER_SIZE, &err), WBEM_E_INVALID_PARAMETER);
	CHECK(strstr(err.message, "not found was acted on") != NULL);
	r = (priv_invoked){ .found = 0 };
	n = priv_encode_invoked(buf, sizeof buf, 9, &r);
	CHECK_EQ(dec_invoked(pl(buf), n - PRIV_HEADER_SIZE, &err), 0);
	buf[PRIV_HEADER_SIZE + 2] = 3;
	CHECK_EQ(dec_invoked(pl(buf), n - PRIV_HEADER_SIZE, &err), WBEM_E_INVALID_PARAMETER);
	CHECK(strstr(err.message, "audited is 3") != NULL);
}

/* A descriptor passes only where one is due (a waiting message's DONE). */
static void test_fd_passing(void)
{
	priv_done d = { .rc = 0 };
	rdms_error err = { 0 };
	priv_header h;
	int sv[2], pp[2], got = -2;
	size_t n, len;
	char c = 0;

	CHECK_EQ(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	CHECK_EQ(pipe(pp), 0);
	len = priv_encode_done(buf, sizeof buf, 7, &d);
	CHECK(priv_send_fd(sv[0], buf, len, pp[0], &err));
	CHECK_EQ(priv_recv_fd(sv[1], buf, &n, &h, &got, &err), 0);
	CHECK_EQ(h.type, PRIV_DONE);
	CHECK(got >= 0 && got != pp[0]);
	/* it is the pipe: what goes in one end comes out of the passed copy */
	CHECK_EQ(write(pp[1], "x", 1), 1);
	CHECK_EQ(read(got, &c, 1), 1);
	CHECK_EQ(c, 'x');
	close(got);
	/* none sent: none received */
	CHECK(priv_send(sv[0], buf, len, &err));
	CHECK_EQ(priv_recv_fd(sv[1], buf, &n, &h, &got, &err), 0);
	CHECK_EQ(got, -1);
	/* one sent where none is due: refused, and not kept open */
	CHECK(priv_send_fd(sv[0], buf, len, pp[0], &err));
	CHECK_EQ(priv_recv(sv[1], buf, &n, &h, &err), WBEM_E_INVALID_PARAMETER);
	CHECK(strstr(err.message, "descriptor came where none was due") != NULL);
	close(pp[0]);
	close(pp[1]);
	close(sv[0]);
	close(sv[1]);
}

static void test_audit_done_find(void)
{
	priv_audit a = { .uid = 7, .result = 0x80041002, .user = "bob", .source = "uid 7",
	                 .protocol = "local", .target = "Win32_VirtualDesktopSession.SessionId=1",
	                 .method = "Logoff", .detail = "no session 1" };
	priv_done d = { .rc = WBEM_E_NOT_FOUND, .error = "no session 9" };
	rdms_error err = { 0 };
	size_t n = priv_encode_audit(buf, sizeof buf, 3, &a);
	uint32_t sid = 0;

	CHECK_EQ(priv_decode_audit(pl(buf), n - PRIV_HEADER_SIZE, &g_audit, &err), 0);
	CHECK_STR(g_audit.method, "Logoff");
	CHECK_STR(g_audit.target, "Win32_VirtualDesktopSession.SessionId=1");
	CHECK_EQ(g_audit.result, 0x80041002);
	CHECK_EQ(cuts_refused(buf, n, dec_audit), 0);
	a.method[0] = '\0';
	n = priv_encode_audit(buf, sizeof buf, 3, &a);
	CHECK_EQ(priv_decode_audit(pl(buf), n - PRIV_HEADER_SIZE, &g_audit, &err),
	         WBEM_E_INVALID_PARAMETER);

	n = priv_encode_done(buf, sizeof buf, 4, &d);
	CHECK_EQ(priv_decode_done(pl(buf), n - PRIV_HEADER_SIZE, &g_done, &err), 0);
	CHECK_EQ(g_done.rc, WBEM_E_NOT_FOUND);
	CHECK_STR(g_done.error, "no session 9");
	CHECK_EQ(cuts_refused(buf, n, dec_done), 0);

	n = priv_encode_find(buf, sizeof buf, 5, 77);
	CHECK_EQ(priv_decode_find(pl(buf), 4, &sid, &err), 0);
	CHECK_EQ(sid, 77);
	CHECK_EQ(priv_decode_find(pl(buf), 3, &sid, &err), WBEM_E_INVALID_PARAMETER);
	CHECK(strstr(err.message, "truncated at session id") != NULL);
	n = priv_encode_empty(buf, sizeof buf, 6, PRIV_ENUMERATE);
	CHECK_EQ(n, PRIV_HEADER_SIZE);
	CHECK_EQ(priv_decode_empty(pl(buf), 0, PRIV_ENUMERATE, &err), 0);
	CHECK_EQ(priv_decode_empty(pl(buf), 1, PRIV_ENUMERATE, &err), WBEM_E_INVALID_PARAMETER);
}

static rdms_session sample(uint32_t id)
{
	rdms_session s = { .id = id, .connect_state = id % 2 ? WTS_ACTIVE : WTS_DISCONNECTED,
	                   .uid = 1000 + id, .display = 10 + (int)id, .server_pid = 100,
	                   .wm_pid = 101, .conn_pid = 0 };

	snprintf(s.kind, sizeof s.kind, "Xorg");
	snprintf(s.user, sizeof s.user, "user%u", (unsigned)id);
	if (id % 2)
		snprintf(s.client, sizeof s.client, "PC-%u", (unsigned)id);
	return s;
}

/* What priv_decode_sessions_each handed over; it fails at the STOP_AT-th (0: never). */
struct seen_each {
	size_t   n, stop_at;
	uint32_t last_id;
	bool     whole;          /* the last one with its back-end and display */
};

static uint32_t count_each(void *ctx, const rdms_session *s, rdms_error *err)
{
	struct seen_each *w = ctx;

	w->n++;
	w->last_id = s->id;
	w->whole = s->backend == &rdms_backend_fixture && s->display == 10 + (int)s->id;
	if (w->n == w->stop_at)
		return rdms_fail(err, WBEM_E_PROVIDER_FAILURE, "enough");
	return WBEM_S_NO_ERROR;
}

static void test_sessions(void)
{
	rdms_session_list l = { 0 };
	rdms_error err = { 0 };
	priv_batch b;
	rdms_session s = sample(1);
	size_t n, batches = 0, total = 0;
	uint32_t huge = 0xffffffff;

	priv_batch_begin(&b, buf, sizeof buf, 8);
	CHECK(priv_batch_add(&b, &s, 0));
	s = sample(2);
	CHECK(priv_batch_add(&b, &s, 0));
	n = priv_batch_end(&b);
	CHECK_EQ(priv_decode_sessions(pl(buf), n - PRIV_HEADER_SIZE, test_backends, 1, &l, &err), 0);
	CHECK_EQ(l.count, 2);
	CHECK_EQ(l.items[0].id, 1);
	CHECK_STR(l.items[0].client, "PC-1");
	CHECK_STR(l.items[1].client, "");
	CHECK_EQ(l.items[1].connect_state, WTS_DISCONNECTED);
	CHECK_EQ(l.items[1].uid, 1002);
	CHECK_EQ(l.items[1].display, 12);
	CHECK(l.items[1].backend == &rdms_backend_fixture);
	CHECK_EQ(cuts_refused(buf, n, dec_sessions), 0);

	/* a back-end index priv never gave, a state that does not exist */
	priv_batch_begin(&b, buf, sizeof buf, 8);
	priv_batch_add(&b, &s, 1);
	n = priv_batch_end(&b);
	CHECK_EQ(priv_decode_sessions(pl(buf), n - PRIV_HEADER_SIZE, test_backends, 1, &l, &err),
	         WBEM_E_INVALID_PARAMETER);
	CHECK(strstr(err.message, "back-end 1 out of range") != NULL);
	CHECK_EQ(l.count, 2);   /* unchanged */
	s.connect_state = 10;
	priv_batch_begin(&b, buf, sizeof buf, 8);
	priv_batch_add(&b, &s, 0);
	n = priv_batch_end(&b);
	CHECK_EQ(priv_decode_sessions(pl(buf), n - PRIV_HEADER_SIZE, test_backends, 1, &l, &err),
	         WBEM_E_INVALID_PARAMETER);
	CHECK(strstr(err.message, "connect state 10 out of range") != NULL);
	/* a count the payload cannot hold is refused before allocating */
	memcpy(buf + PRIV_HEADER_SIZE, &huge, 4);
	CHECK_EQ(priv_decode_sessions(pl(buf), n - PRIV_HEADER_SIZE, test_backends, 1, &l, &err),
	         WBEM_E_INVALID_PARAMETER);
	CHECK(strstr(err.message, "cannot fit") != NULL);
	CHECK_EQ(l.count, 2);
	rdms_session_list_free(&l);

	/* one at a time: the same sessions, FN's error stops them and is what comes back */
	priv_batch_begin(&b, buf, sizeof buf, 8);
	for (uint32_t i = 1; i <= 3; i++) {
		s = sample(i);
		CHECK(priv_batch_add(&b, &s, 0));
	}
	n = priv_batch_end(&b);
	{
		struct seen_each w = { .stop_at = 0 };

		CHECK_EQ(priv_decode_sessions_each(pl(buf), n - PRIV_HEADER_SIZE, test_backends, 1,
		                                   count_each, &w, &err), 0);
		CHECK(w.n == 3 && w.last_id == 3 && w.whole);
		w = (struct seen_each){ .stop_at = 2 };
		CHECK_EQ(priv_decode_sessions_each(pl(buf), n - PRIV_HEADER_SIZE, test_backends, 1,
		                                   count_each, &w, &err), WBEM_E_PROVIDER_FAILURE);
		CHECK_EQ(w.n, 2);
		/* cut short: malformed, whatever FN saw first */
		w = (struct seen_each){ .stop_at = 0 };
		CHECK_EQ(priv_decode_sessions_each(pl(buf), n - PRIV_HEADER_SIZE - 3, test_backends,
		                                   1, count_each, &w, &err), WBEM_E_INVALID_PARAMETER);
		CHECK(w.n < 3);
	}

	/* many sessions: each batch within PRIV_MSG_MAX, all of them arrive */
	priv_batch_begin(&b, buf, sizeof buf, 8);
	for (uint32_t i = 0; i < 5000; i++) {
		s = sample(i);
		memset(s.user, 'u', PRIV_USER_MAX);
		s.user[PRIV_USER_MAX] = '\0';
		if (priv_batch_add(&b, &s, 0))
			continue;
		n = priv_batch_end(&b);
		CHECK(n <= PRIV_MSG_MAX);
		batches++;
		total += b.count;
		CHECK_EQ(priv_decode_sessions(pl(buf), n - PRIV_HEADER_SIZE, test_backends, 1, &l,
		                              &err), 0);
		priv_batch_begin(&b, buf, sizeof buf, 8);
		CHECK(priv_batch_add(&b, &s, 0));
	}
	n = priv_batch_end(&b);
	total += b.count;
	CHECK_EQ(priv_decode_sessions(pl(buf), n - PRIV_HEADER_SIZE, test_backends, 1, &l, &err), 0);
	CHECK_EQ(total, 5000);
	CHECK_EQ(l.count, 5000);
	CHECK(batches > 10);
	CHECK_EQ(l.items[4999].id, 4999);
	rdms_session_list_free(&l);
}

static priv_status g_status;
static uint32_t dec_status(const void *p, size_t len, rdms_error *err)
{
	return priv_decode_status(p, len, &g_status, err);
}

static priv_idle g_idle;
static uint32_t dec_idle(const void *p, size_t len, rdms_error *err)
{
	return priv_decode_idle(p, len, &g_idle, err);
}

static priv_idle_reply g_idle_reply;
static uint32_t dec_idle_reply(const void *p, size_t len, rdms_error *err)
{
	return priv_decode_idle_reply(p, len, 2, &g_idle_reply, err);
}

static char g_since[PRIV_TIME_MAX + 1];
static uint32_t dec_audit_read(const void *p, size_t len, rdms_error *err)
{
	return priv_decode_audit_read(p, len, g_since, err);
}

static priv_audit_row g_row;
static int g_rows_seen;
static int see_row(void *ctx, const rdms_audit_entry *e)
{
	(void)ctx;
	(void)e;
	return ++g_rows_seen >= 1000;
}

static uint32_t dec_rows(const void *p, size_t len, rdms_error *err)
{
	bool stopped;

	return priv_decode_audit_rows(p, len, &g_row, see_row, NULL, &stopped, err);
}

/* The logon time and client address travel with a session; a time before 1970 does not. */
static void test_session_details(void)
{
	rdms_session_list l = { 0 };
	rdms_error err = { 0 };
	priv_batch b;
	rdms_session s = sample(3);
	size_t n;

	s.logon_time = 1796510417;
	snprintf(s.client_addr, sizeof s.client_addr, "192.0.2.7");
	priv_batch_begin(&b, buf, sizeof buf, 8);
	CHECK(priv_batch_add(&b, &s, 0));
	n = priv_batch_end(&b);
	CHECK_EQ(priv_decode_sessions(pl(buf), n - PRIV_HEADER_SIZE, test_backends, 1, &l, &err), 0);
	CHECK_EQ(l.count, 1);
	if (l.count == 1) {
		CHECK_EQ(l.items[0].logon_time, 1796510417);
		CHECK_STR(l.items[0].client_addr, "192.0.2.7");
	}
	CHECK_EQ(cuts_refused(buf, n, dec_sessions), 0);
	s.logon_time = -5;
	priv_batch_begin(&b, buf, sizeof buf, 8);
	CHECK(priv_batch_add(&b, &s, 0));
	n = priv_batch_end(&b);
	CHECK_EQ(priv_decode_sessions(pl(buf), n - PRIV_HEADER_SIZE, test_backends, 1, &l, &err),
	         WBEM_E_INVALID_PARAMETER);
	CHECK(strstr(err.message, "before 1970") != NULL);
	/* an address longer than its field is an encoding failure, never cut */
	s.logon_time = 0;
	memset(s.client_addr, '1', sizeof s.client_addr - 1);
	s.client_addr[sizeof s.client_addr - 1] = '\0';
	priv_batch_begin(&b, buf, sizeof buf, 8);
	CHECK(priv_batch_add(&b, &s, 0));    /* 47 bytes: the limit */
	rdms_session_list_free(&l);
}

/* STATUS_REPLY, IDLE, IDLE_REPLY, AUDIT_READ, AUDIT_ROWS: round trips and refusals. */
static void test_status_idle_rows(void)
{
	priv_status st = { .count = 2 };
	priv_idle *q = calloc(1, sizeof *q);
	priv_idle_reply r = { .count = 2, .idle = { 5, RDMS_IDLE_UNKNOWN } };
	rdms_audit_entry e = { .id = 9, .time = "2026-01-02T03:04:05.678Z", .user = "alice",
	                       .uid = 1001, .source = "uid 1001", .protocol = "local",
	                       .target = "Win32_VirtualDesktopSession.SessionId=1",
	                       .method = "Logoff", .result = 0x80041003, .detail = NULL };
	rdms_error err = { 0 };
	priv_batch b;
	bool stopped;
	size_t n;

	snprintf(st.v[0].name, sizeof st.v[0].name, "xrdp");
	st.v[0].served = st.v[0].running = true;
	snprintf(st.v[1].name, sizeof st.v[1].name, "x2go");
	st.v[1].served = true;
	snprintf(st.v[1].reason, sizeof st.v[1].reason, "x2gocleansessions is not running");
	n = priv_encode_status(buf, sizeof buf, 1, &st);
	CHECK_EQ(priv_decode_status(pl(buf), n - PRIV_HEADER_SIZE, &g_status, &err), 0);
	CHECK_EQ(g_status.count, 2);
	CHECK(g_status.v[0].running && !g_status.v[1].running && g_status.v[1].served);
	CHECK_STR(g_status.v[1].reason, "x2gocleansessions is not running");
	CHECK_EQ(cuts_refused(buf, n, dec_status), 0);
	buf[PRIV_HEADER_SIZE + 4 + 2 + 4] = 2;    /* xrdp's "served": neither 0 nor 1 */
	CHECK_EQ(priv_decode_status(pl(buf), n - PRIV_HEADER_SIZE, &g_status, &err),
	         WBEM_E_INVALID_PARAMETER);
	CHECK(strstr(err.message, "served is 2") != NULL);
	st.count = RDMS_MAX_BACKENDS + 1;
	CHECK_EQ(priv_encode_status(buf, sizeof buf, 1, &st), 0);

	CHECK(q != NULL);
	if (q != NULL) {
		q->count = 2;
		q->v[0] = (priv_idle_session){ 0, 16023, 1000, 4242 };
		q->v[1] = (priv_idle_session){ 1, 77, 1001, -1 };
		n = priv_encode_idle(buf, sizeof buf, 2, q);
		CHECK_EQ(priv_decode_idle(pl(buf), n - PRIV_HEADER_SIZE, &g_idle, &err), 0);
		CHECK_EQ(g_idle.count, 2);
		CHECK_EQ(g_idle.v[0].id, 16023);
		CHECK_EQ(g_idle.v[1].server_pid, -1);
		CHECK_EQ(cuts_refused(buf, n, dec_idle), 0);
		q->count = 0;
		CHECK_EQ(priv_encode_idle(buf, sizeof buf, 2, q), 0);
		q->count = PRIV_IDLE_MAX + 1;
		CHECK_EQ(priv_encode_idle(buf, sizeof buf, 2, q), 0);
		/* a count over the limit written by hand is refused before any session is read */
		q->count = 1;
		n = priv_encode_idle(buf, sizeof buf, 2, q);
		{
			uint32_t many = PRIV_IDLE_MAX + 1;

			memcpy(buf + PRIV_HEADER_SIZE, &many, 4);
		}
		CHECK_EQ(priv_decode_idle(pl(buf), n - PRIV_HEADER_SIZE, &g_idle, &err),
		         WBEM_E_INVALID_PARAMETER);
		CHECK(strstr(err.message, "1 to 1024 allowed") != NULL);
		free(q);
	}
	n = priv_encode_idle_reply(buf, sizeof buf, 3, &r);
	CHECK_EQ(priv_decode_idle_reply(pl(buf), n - PRIV_HEADER_SIZE, 2, &g_idle_reply, &err), 0);
	CHECK_EQ(g_idle_reply.idle[0], 5);
	CHECK_EQ(g_idle_reply.idle[1], RDMS_IDLE_UNKNOWN);
	CHECK_EQ(cuts_refused(buf, n, dec_idle_reply), 0);
	/* as many answers as questions, no other number */
	CHECK_EQ(priv_decode_idle_reply(pl(buf), n - PRIV_HEADER_SIZE, 3, &g_idle_reply, &err),
	         WBEM_E_INVALID_PARAMETER);
	CHECK(strstr(err.message, "2 idle times for 3 sessions") != NULL);

	n = priv_encode_audit_read(buf, sizeof buf, 4, "2026-01-02T03:04:05");
	CHECK_EQ(priv_decode_audit_read(pl(buf), n - PRIV_HEADER_SIZE, g_since, &err), 0);
	CHECK_STR(g_since, "2026-01-02T03:04:05");
	CHECK_EQ(cuts_refused(buf, n, dec_audit_read), 0);
	CHECK_EQ(priv_encode_audit_read(buf, sizeof buf, 4,
	                                "2026-01-02T03:04:05.000000000000000000000"), 0);

	priv_rows_begin(&b, buf, sizeof buf, 5);
	CHECK(priv_rows_add(&b, &e));
	e.id = 10;
	e.detail = "refused";
	CHECK(priv_rows_add(&b, &e));
	n = priv_batch_end(&b);
	g_rows_seen = 0;
	CHECK_EQ(priv_decode_audit_rows(pl(buf), n - PRIV_HEADER_SIZE, &g_row, see_row, NULL,
	                                &stopped, &err), 0);
	CHECK_EQ(g_rows_seen, 2);
	CHECK(!stopped);
	CHECK_EQ(g_row.id, 10);
	CHECK_STR(g_row.a.detail, "refused");
	CHECK_STR(g_row.time, "2026-01-02T03:04:05.678Z");
	CHECK_EQ(g_row.a.result, 0x80041003);
	/* a cut batch hands nothing on: checked whole first */
	g_rows_seen = 0;
	CHECK_EQ(cuts_refused(buf, n, dec_rows), 0);
	CHECK_EQ(g_rows_seen, 0);
	/* FN asking to stop stops the batch */
	g_rows_seen = 999;
	CHECK_EQ(priv_decode_audit_rows(pl(buf), n - PRIV_HEADER_SIZE, &g_row, see_row, NULL,
	                                &stopped, &err), 0);
	CHECK(stopped);
	CHECK_EQ(g_rows_seen, 1000);
	/* a uid out of range */
	e.uid = -1;
	priv_rows_begin(&b, buf, sizeof buf, 5);
	CHECK(priv_rows_add(&b, &e));
	n = priv_batch_end(&b);
	CHECK_EQ(priv_decode_audit_rows(pl(buf), n - PRIV_HEADER_SIZE, &g_row, see_row, NULL,
	                                &stopped, &err), WBEM_E_INVALID_PARAMETER);
	CHECK(strstr(err.message, "uid -1 out of range") != NULL);
}

/* Random bytes into every decoder: only refusals, no crash (ASan watches). */
static void test_random(void)
{
	rdms_session_list l = { 0 };
	unsigned seed = 12345;
	int accepted_headers = 0;

	for (int round = 0; round < 20000; round++) {
		size_t n = (size_t)(rand_r(&seed) % 200);
		rdms_error err = { 0 };
		priv_header h;
		uint32_t sid;

		for (size_t i = 0; i < n; i++)
			buf[i] = (unsigned char)rand_r(&seed);
		if (round % 2 && n >= PRIV_HEADER_SIZE) {
			/* make the header plausible, so the payload decoders are reached */
			uint16_t t = (uint16_t)(1 + round % (PRIV_TYPE_END - 1)), z = 0;
			uint32_t len = (uint32_t)(n - PRIV_HEADER_SIZE);

			memcpy(buf, &t, 2);
			memcpy(buf + 2, &z, 2);
			memcpy(buf + 8, &len, 4);
		}
		if (priv_decode_header(buf, n, &h, &err) != WBEM_S_NO_ERROR)
			continue;
		accepted_headers++;
		priv_decode_auth(pl(buf), h.len, &g_auth, &err);
		priv_decode_auth_reply(pl(buf), h.len, &g_reply, &err);
		priv_decode_act(pl(buf), h.len, &g_act, &err);
		priv_decode_audit(pl(buf), h.len, &g_audit, &err);
		priv_decode_done(pl(buf), h.len, &g_done, &err);
		priv_decode_find(pl(buf), h.len, &sid, &err);
		priv_decode_sessions(pl(buf), h.len, test_backends, 1, &l, &err);
		rdms_session_list_free(&l);
		dec_status(pl(buf), h.len, &err);
		dec_idle(pl(buf), h.len, &err);
		dec_idle_reply(pl(buf), h.len, &err);
		dec_audit_read(pl(buf), h.len, &err);
		dec_rows(pl(buf), h.len, &err);
	}
	CHECK(accepted_headers > 1000);
}

/* ---- both ends ------------------------------------------------------------ */

static char fixture_path[64];
static rdms_config cfg;

static void write_fixture(int n)
{
	FILE *f = fopen(fixture_path, "w");

	for (int i = 1; i <= n; i++)
		fprintf(f, "%d %s %d %s\n", i, i % 2 ? "root" : "nobody", i % 3 ? 0 : 4,
		        i % 3 ? "PC" : "-");
	fclose(f);
}

/* Rows of one method, and how many of them record a failure with a reason. */
struct method_rows {
	const char *method;
	int         n, failed;
};

static int count_method(void *ctx, const rdms_audit_entry *e)
{
	struct method_rows *m = ctx;

	if (strcmp(e->method, m->method) == 0) {
		m->n++;
		m->failed += e->result != 0 && e->detail[0] != '\0';
	}
	return 0;
}

static int count_row(void *ctx, const rdms_audit_entry *e)
{
	int *rows = ctx;

	if (strcmp(e->method, "Logoff") == 0 && strcmp(e->user, "root") == 0)
		(*rows)++;
	return 0;
}

/* SESSIONS messages before the final reply of the last raw_request. */
static size_t raw_batches;

/* One request written raw to FD; the type and rc of the final reply. */
static uint16_t raw_request(int fd, const void *msg, size_t n, uint32_t *rc, char *why,
                            size_t whysize)
{
	rdms_error err = { 0 };
	priv_header h = { 0 };
	priv_done d = { 0 };
	size_t got;

	raw_batches = 0;
	if (send(fd, msg, n, 0) != (ssize_t)n)
		return 0;
	for (;;) {
		if (priv_recv(fd, out, &got, &h, &err) != WBEM_S_NO_ERROR)
			return 0;
		if (h.type != PRIV_SESSIONS)
			break;
		raw_batches++;
	}
	if (h.type == PRIV_DONE && priv_decode_done(pl(out), h.len, &d, &err) == 0) {
		*rc = d.rc;
		snprintf(why, whysize, "%s", d.error);
	}
	return h.type;
}

static void test_ends(void)
{
	const rdms_backend *backends[] = { &rdms_backend_fixture };
	rdms_provider real = { 0 }, proxy;
	rdms_session_list direct = { 0 }, via = { 0 };
	rdms_caller root = { .uid = 0, .user = "root", .is_admin = true, .protocol = "local",
	                     .source = "uid 0" };
	rdms_audit_event ev = { .caller = &root, .target = "x.SessionId=1", .method = "Logoff",
	                        .result = 0, .detail = "" };
	char dbdir[] = "/tmp/test_privsep.XXXXXX", db[128], why[512];
	rdms_audit_db *audit;
	priv_channels ch, ch2;
	priv_server *srv, *srv2;
	priv_client *cl;
	priv_env env;
	rdms_error err = { 0 };
	rdms_session s;
	uint32_t rc = 0;
	size_t n;
	int rows = 0;
	priv_act act = { .action = PRIV_DISCONNECT };

	snprintf(fixture_path, sizeof fixture_path, "/tmp/test_privsep_%d.txt", (int)getpid());
	write_fixture(3000);
	rdms_config_defaults(&cfg);
	snprintf(cfg.backends, sizeof cfg.backends, "fixture");
	snprintf(cfg.fixture_file, sizeof cfg.fixture_file, "%s", fixture_path);
	real.cfg = &cfg;
	real.backends[0] = &rdms_backend_fixture;
	real.nbackends = 1;
	CHECK(mkdtemp(dbdir) != NULL);
	snprintf(db, sizeof db, "%s/audit.db", dbdir);
	snprintf(cfg.audit_db, sizeof cfg.audit_db, "%s", db);
	real.audit_read = rdms_audit_read;
	real.audit_read_ctx = &cfg;
	audit = rdms_audit_open(db, &err);
	CHECK(audit != NULL);

	/* one server for the proxies, one for raw requests */
	CHECK(priv_channels_open(&ch, &err));
	CHECK(priv_channels_open(&ch2, &err));
	env = (priv_env){ .provider = &real, .audit = audit, .pam = NULL };
	srv = priv_server_start(ch.priv, &env, &err);
	srv2 = priv_server_start(ch2.priv, &env, &err);
	CHECK(srv != NULL && srv2 != NULL);
	{
		int raw = ch2.net[0];

		cl = priv_client_new(ch.net, backends, 1);
		CHECK(cl != NULL);
		priv_proxy_provider(&proxy, &cfg, cl);
		CHECK_EQ(proxy.nbackends, 1);

		/* the same 3,000 sessions, through many batches */
		CHECK_EQ(rdms_backend_fixture.enumerate(&cfg, &direct, &err), 0);
		CHECK_EQ(proxy.backends[0]->enumerate(&cfg, &via, &err), 0);
		CHECK_EQ(via.count, 3000);
		CHECK_EQ(direct.count, via.count);
		for (size_t i = 0; i < via.count && i < direct.count; i++) {
			if (via.items[i].id != direct.items[i].id ||
			    via.items[i].uid != direct.items[i].uid ||
			    via.items[i].connect_state != direct.items[i].connect_state ||
			    strcmp(via.items[i].user, direct.items[i].user) != 0 ||
			    strcmp(via.items[i].client, direct.items[i].client) != 0) {
				CHECK(!"a session changed on the way");
				break;
			}
		}
		CHECK_STR(via.items[0].backend->name, "fixture");
		CHECK(via.items[0].backend != &rdms_backend_fixture);   /* a proxy of it */

		/* find, and an action on what was found */
		CHECK_EQ(proxy.backends[0]->find(&cfg, 2999, &s, &err), 0);
		CHECK_EQ(s.id, 2999);
		CHECK_EQ(s.connect_state, WTS_ACTIVE);
		CHECK_EQ(proxy.backends[0]->find(&cfg, 5000, &s, &err), WBEM_E_NOT_FOUND);
		CHECK_EQ(proxy.backends[0]->find(&cfg, 1, &s, &err), 0);
		CHECK_EQ(s.backend->disconnect(&cfg, &s, &err), 0);
		CHECK_EQ(proxy.backends[0]->find(&cfg, 1, &s, &err), 0);
		CHECK_EQ(s.connect_state, WTS_DISCONNECTED);
		/* a session that is not what the caller saw any more: not acted on */
		CHECK_EQ(proxy.backends[0]->find(&cfg, 4, &s, &err), 0);
		s.uid = 12345;
		CHECK_EQ(s.backend->logoff(&cfg, &s, &err), WBEM_E_NOT_FOUND);
		CHECK(strstr(err.message, "changed") != NULL);
		CHECK_EQ(proxy.backends[0]->find(&cfg, 4, &s, &err), 0);

		/* audit, committed, and read back through priv */
		CHECK_EQ(priv_proxy_audit(cl, &ev), 0);
		{
			int read_rows = 0;
			rdms_backend_status st[RDMS_MAX_BACKENDS];
			size_t nst = 0;
			uint32_t idle[2];

			CHECK_EQ(proxy.audit_read(proxy.audit_read_ctx, NULL, count_row, &read_rows,
			                          &err), 0);
			CHECK_EQ(read_rows, 1);
			read_rows = 0;
			CHECK_EQ(proxy.audit_read(proxy.audit_read_ctx, "2999-01-01", count_row,
			                          &read_rows, &err), 0);
			CHECK_EQ(read_rows, 0);
			/* the back-ends' state as priv sees it */
			CHECK_EQ(proxy.status(proxy.status_ctx, st, RDMS_MAX_BACKENDS, &nst, &err), 0);
			CHECK_EQ(nst, 1);
			CHECK_STR(st[0].name, "fixture");
			CHECK(st[0].served && st[0].running);
			/* the fixture cannot tell idle times: unknown, through priv and back */
			CHECK_EQ(proxy.backends[0]->find(&cfg, 3, &s, &err), 0);
			via.count = 0;
			CHECK_EQ(proxy.backends[0]->enumerate(&cfg, &via, &err), 0);
			s.backend->idle(&cfg, via.items, 2, idle);
			CHECK_EQ(idle[0], RDMS_IDLE_UNKNOWN);
			CHECK_EQ(idle[1], RDMS_IDLE_UNKNOWN);
		}

		/* a whole method call in one exchange: found fresh, owner checked, acted, audited */
		{
			rdms_caller nob = { .uid = 65534, .user = "nobody", .protocol = "local",
			                    .source = "uid 65534" };
			rdms_audit_event iev = { .caller = &root, .target = "x.SessionId=7",
			                         .method = "Disconnect" };
			rdms_act_call call = { .method = RDMS_WIN32_VIRTUALDESKTOPSESSION_METHOD_DISCONNECT,
			                       .id = 7, .any_owner = true, .ev = &iev };
			struct method_rows dis = { "Disconnect", 0, 0 };
			rdms_session acted;
			rdms_act_after after = RDMS_ACT_UNREAD;
			uint32_t result = 1, rv = 1;
			bool audited = false;
			cim_path path = { 0 };

			CHECK(proxy.act == priv_proxy_act);
			CHECK_EQ(proxy.act(proxy.act_ctx, &call, &result, &acted, &after, &audited, &err), 0);
			CHECK_EQ(result, 0);
			CHECK(audited);
			CHECK_EQ(acted.id, 7);
			CHECK_EQ(proxy.backends[0]->find(&cfg, 7, &s, &err), 0);
			CHECK(acted.backend == s.backend);
			CHECK_EQ(s.connect_state, WTS_DISCONNECTED);
			/* read again after the method, in the one exchange: as it is now */
			CHECK_EQ(after, RDMS_ACT_READ);
			CHECK_EQ(acted.connect_state, WTS_DISCONNECTED);
			CHECK_STR(acted.user, s.user);
			/* again: the method fails, and that is audited with its reason */
			CHECK_EQ(proxy.act(proxy.act_ctx, &call, &result, &acted, &after, &audited, &err), 0);
			CHECK_EQ(result, WBEM_E_INVALID_OPERATION);
			CHECK(strstr(err.message, "not connected") != NULL);
			CHECK(audited);
			/* not the owner's (11 is root's): nothing done, nothing recorded */
			call.any_owner = false;
			call.owner = 65534;
			call.id = 11;
			iev.caller = &nob;
			CHECK_EQ(proxy.act(proxy.act_ctx, &call, &result, &acted, &after, &audited, &err),
			         WBEM_E_NOT_FOUND);
			CHECK_EQ(proxy.backends[0]->find(&cfg, 11, &s, &err), 0);
			CHECK_EQ(s.connect_state, WTS_ACTIVE);
			/* no such session: the same */
			call.id = 5000;
			CHECK_EQ(proxy.act(proxy.act_ctx, &call, &result, &acted, &after, &audited, &err),
			         WBEM_E_NOT_FOUND);
			/* the owner's own (10 is nobody's) */
			call.id = 10;
			CHECK_EQ(proxy.act(proxy.act_ctx, &call, &result, &acted, &after, &audited, &err), 0);
			CHECK_EQ(result, 0);
			CHECK_EQ(proxy.backends[0]->find(&cfg, 10, &s, &err), 0);
			CHECK_EQ(s.connect_state, WTS_DISCONNECTED);
			CHECK_EQ(proxy.audit_read(proxy.audit_read_ctx, NULL, count_method, &dis, &err), 0);
			CHECK_EQ(dis.n, 3);
			CHECK_EQ(dis.failed, 1);

			/*
			 * Through the operation layer: the call is made in one exchange, and
			 * a refusal still takes the step-by-step way, audited.
			 */
			CHECK_EQ(cim_path_parse("Win32_VirtualDesktopSession.SessionId=13", &path, &err), 0);
			CHECK_EQ(rdms_op_invoke(&proxy, &nob, &path, NULL, "Disconnect", NULL, 0, &rv, &err),
			         WBEM_E_ACCESS_DENIED);
			CHECK_EQ(proxy.backends[0]->find(&cfg, 13, &s, &err), 0);
			CHECK_EQ(s.connect_state, WTS_ACTIVE);
			cim_path_free(&path);
			CHECK_EQ(cim_path_parse("Win32_VirtualDesktopSession.SessionId=14", &path, &err), 0);
			CHECK_EQ(rdms_op_invoke(&proxy, &nob, &path, NULL, "Disconnect", NULL, 0, &rv, &err),
			         0);
			CHECK_EQ(rv, 0);
			CHECK_EQ(proxy.backends[0]->find(&cfg, 14, &s, &err), 0);
			CHECK_EQ(s.connect_state, WTS_DISCONNECTED);
			cim_path_free(&path);
			dis.n = dis.failed = 0;
			CHECK_EQ(proxy.audit_read(proxy.audit_read_ctx, NULL, count_method, &dis, &err), 0);
			CHECK_EQ(dis.n, 5);
			CHECK_EQ(dis.failed, 2);   /* the second Disconnect of 7, the refusal of 13 */
		}

		/* raw, malformed requests: an error reply each, and the channel serves on */
		n = priv_encode_find(buf, sizeof buf, 77, 1);
		buf[2] = 1;   /* reserved field */
		CHECK_EQ(raw_request(raw, buf, n, &rc, why, sizeof why), PRIV_DONE);
		CHECK_EQ(rc, WBEM_E_INVALID_PARAMETER);
		CHECK(strstr(why, "reserved") != NULL);
		n = priv_encode_done(buf, sizeof buf, 78, &(priv_done){ 0 });
		CHECK_EQ(raw_request(raw, buf, n, &rc, why, sizeof why), PRIV_DONE);
		CHECK(strstr(why, "DONE is not a request") != NULL);
		n = priv_encode_act(buf, sizeof buf, 79, &act);
		buf[PRIV_HEADER_SIZE + 1] = 5;   /* back-end index */
		CHECK_EQ(raw_request(raw, buf, n, &rc, why, sizeof why), PRIV_DONE);
		CHECK(strstr(why, "back-end 5 out of range") != NULL);
		n = priv_encode_find(buf, sizeof buf, 80, 1);
		CHECK_EQ(raw_request(raw, buf, n - 1, &rc, why, sizeof why), PRIV_DONE);
		CHECK(strstr(why, "payload bytes") != NULL);
		CHECK_EQ(raw_request(raw, "abc", 3, &rc, why, sizeof why), PRIV_DONE);
		CHECK(strstr(why, "shorter than its header") != NULL);
		{
			/* larger than any message may be */
			static unsigned char big[PRIV_MSG_MAX + 100];

			n = priv_encode_find(big, sizeof big, 81, 1);
			CHECK_EQ(raw_request(raw, big, sizeof big, &rc, why, sizeof why), PRIV_DONE);
			CHECK(strstr(why, "over the limit") != NULL);
		}
		/* an AUTH that fails its checks never reaches PAM (there is none here) */
		n = priv_encode_auth(buf, sizeof buf, 82, &(priv_auth){ .user = "x" });
		buf[PRIV_HEADER_SIZE] = 0xff;
		CHECK_EQ(raw_request(raw, buf, n, &rc, why, sizeof why), PRIV_DONE);
		CHECK_EQ(rc, WBEM_E_INVALID_PARAMETER);
		/* still serving: a good request on the same channel */
		n = priv_encode_find(buf, sizeof buf, 83, 3);
		CHECK_EQ(raw_request(raw, buf, n, &rc, why, sizeof why), PRIV_DONE);
		CHECK_EQ(rc, 0);
	}
	/* closing net's ends ends priv's threads */
	priv_client_free(cl);
	priv_channels_close(ch2.net);
	priv_server_stop(srv);
	priv_server_stop(srv2);
	rdms_audit_close(audit);
	CHECK_EQ(rdms_audit_query(db, NULL, count_row, &rows, &err), 0);
	CHECK_EQ(rows, 1);
	rdms_session_list_free(&direct);
	rdms_session_list_free(&via);
	unlink(fixture_path);
	{
		char p[160];

		snprintf(p, sizeof p, "%s-wal", db);
		unlink(p);
		snprintf(p, sizeof p, "%s-shm", db);
		unlink(p);
	}
	unlink(db);
	rmdir(dbdir);
}

/* ---- streaming ------------------------------------------------------------ */

/* A second back-end for priv: session 7001, or an error while flaky_fails. */
static bool flaky_fails;

static uint32_t flaky_enumerate(const rdms_config *c, rdms_session_list *l, rdms_error *err);

static void flaky_idle(const rdms_config *c, const rdms_session *s, size_t n, uint32_t *idle);

static const rdms_backend flaky = { .name = "flaky", .enumerate = flaky_enumerate,
                                    .idle = flaky_idle };

/* Session N has been idle N / 1000 seconds. */
static void flaky_idle(const rdms_config *c, const rdms_session *s, size_t n, uint32_t *idle)
{
	(void)c;
	for (size_t i = 0; i < n; i++)
		idle[i] = s[i].id / 1000;
}

static uint32_t flaky_enumerate(const rdms_config *c, rdms_session_list *l, rdms_error *err)
{
	rdms_session *s;

	if (flaky_fails)
		return rdms_fail(err, WBEM_E_FAILED, "flaky: the server went away");
	s = rdms_session_list_add(l);
	if (s == NULL)
		return rdms_fail(err, WBEM_E_OUT_OF_MEMORY, "out of memory");
	*s = sample(7001);
	s->backend = &flaky;
	return WBEM_S_NO_ERROR;
}

/* W saw the sessions of L, in order, each pointing to the same back-end. */
static bool walked_as_listed(const struct walk *w, const rdms_session_list *l)
{
	if (w->seen.count != l->count)
		return false;
	for (size_t i = 0; i < l->count; i++) {
		const rdms_session *a = &w->seen.items[i], *b = &l->items[i];

		if (a->id != b->id || a->uid != b->uid || a->connect_state != b->connect_state ||
		    a->backend != b->backend || strcmp(a->user, b->user) != 0 ||
		    strcmp(a->client, b->client) != 0 || strcmp(a->kind, b->kind) != 0)
			return false;
	}
	return true;
}

/*
 * priv streams an enumeration batch by batch, back-end after back-end; the
 * proxy's each hands the sessions on as they come.  FN's error and a
 * back-end's failure after some batches both end the walk with the channel
 * still in step.
 */
static void test_stream(void)
{
	const rdms_backend *backends[] = { &rdms_backend_fixture, &flaky };
	rdms_provider real = { .cfg = &cfg, .backends = { &rdms_backend_fixture, &flaky },
	                       .nbackends = 2 }, proxy;
	rdms_session_list direct = { 0 }, via = { 0 };
	struct walk w = { 0 };
	priv_channels ch, ch2;
	priv_server *srv, *srv2;
	priv_client *cl;
	priv_env env = { .provider = &real };
	rdms_error err = { 0 };
	rdms_session s;
	char why[512];
	uint32_t rc = 0;
	size_t n;

	write_fixture(3000);
	CHECK(priv_channels_open(&ch, &err));
	CHECK(priv_channels_open(&ch2, &err));
	srv = priv_server_start(ch.priv, &env, &err);
	srv2 = priv_server_start(ch2.priv, &env, &err);
	CHECK(srv != NULL && srv2 != NULL);
	cl = priv_client_new(ch.net, backends, 2);
	CHECK(cl != NULL);
	priv_proxy_provider(&proxy, &cfg, cl);

	/* each: enumerate's sessions in its order, pointing to the same named proxies */
	CHECK_EQ(proxy.backends[0]->enumerate(&cfg, &via, &err), 0);
	CHECK_EQ(via.count, 3001);
	CHECK_EQ(rdms_backend_each(proxy.backends[0], &cfg, record, &w, &err), 0);
	CHECK(walked_as_listed(&w, &via));
	CHECK_EQ(rdms_backend_fixture.enumerate(&cfg, &direct, &err), 0);
	CHECK_EQ(direct.count, 3000);
	for (size_t i = 0; i < direct.count && i < w.seen.count; i++)
		if (w.seen.items[i].id != direct.items[i].id ||
		    strcmp(w.seen.items[i].client, direct.items[i].client) != 0) {
			CHECK(!"a session changed on the way");
			break;
		}
	if (w.seen.count == 3001) {
		CHECK_STR(w.seen.items[0].backend->name, "fixture");
		CHECK_STR(w.seen.items[3000].backend->name, "flaky");
		CHECK(w.seen.items[3000].backend != &flaky);   /* a proxy of it */
		CHECK(w.seen.items[3000].backend != w.seen.items[0].backend);
		CHECK_EQ(w.seen.items[3000].display, 7011);
	}
	rdms_session_list_free(&w.seen);

	/*
	 * idle times: priv looks each session up again and asks its own back-end;
	 * one that changed (another uid), or of a back-end that cannot tell, is unknown
	 */
	{
		rdms_session two[3];
		uint32_t idle[3] = { 0, 0, 0 };

		two[0] = via.items[3000];     /* flaky's 7001: 7 s */
		two[1] = via.items[3000];
		two[1].uid = 4242;
		two[2] = via.items[0];        /* the fixture's */
		two[0].backend->idle(&cfg, two, 3, idle);
		CHECK_EQ(idle[0], 7);
		CHECK_EQ(idle[1], RDMS_IDLE_UNKNOWN);
		CHECK_EQ(idle[2], RDMS_IDLE_UNKNOWN);
	}

	/* FN's error stops the walk; the rest is read, so the channel stays in step */
	w = (struct walk){ .stop_at = 10 };
	CHECK_EQ(proxy.backends[0]->each(&cfg, record, &w, &err), WBEM_E_FAILED);
	CHECK_STR(err.message, "stopped at session 10");
	CHECK_EQ(w.seen.count, 9);
	rdms_session_list_free(&w.seen);
	CHECK_EQ(proxy.backends[0]->find(&cfg, 2999, &s, &err), 0);   /* out of step: fatal */
	CHECK_EQ(s.id, 2999);

	/* a back-end failing after batches went out: DONE carries its error */
	flaky_fails = true;
	n = priv_encode_empty(buf, sizeof buf, 90, PRIV_ENUMERATE);
	CHECK_EQ(raw_request(ch2.net[0], buf, n, &rc, why, sizeof why), PRIV_DONE);
	CHECK_EQ(rc, WBEM_E_FAILED);
	CHECK_STR(why, "flaky: the server went away");
	CHECK(raw_batches >= 2);
	/* net drops them: enumerate leaves OUT as it was, each returns the error */
	CHECK_EQ(proxy.backends[0]->enumerate(&cfg, &via, &err), WBEM_E_FAILED);
	CHECK_STR(err.message, "flaky: the server went away");
	CHECK_EQ(via.count, 3001);
	w = (struct walk){ 0 };
	CHECK_EQ(proxy.backends[0]->each(&cfg, record, &w, &err), WBEM_E_FAILED);
	CHECK_STR(err.message, "flaky: the server went away");
	CHECK(w.seen.count > 0 && w.seen.count < 3000);   /* full batches only */
	rdms_session_list_free(&w.seen);
	/* FN's error is the one returned, not DONE's */
	w = (struct walk){ .stop_at = 5 };
	CHECK_EQ(proxy.backends[0]->each(&cfg, record, &w, &err), WBEM_E_FAILED);
	CHECK_STR(err.message, "stopped at session 5");
	rdms_session_list_free(&w.seen);
	flaky_fails = false;
	CHECK_EQ(proxy.backends[0]->find(&cfg, 7001, &s, &err), 0);
	CHECK_STR(s.backend->name, "flaky");

	priv_client_free(cl);
	priv_channels_close(ch2.net);
	priv_server_stop(srv);
	priv_server_stop(srv2);
	rdms_session_list_free(&direct);
	rdms_session_list_free(&via);
	unlink(fixture_path);
}

/* ---- the change feed's events --------------------------------------------- */

#define EV_T0 1700000000000000LL

static rdms_session ev_session(uint32_t id, uint32_t state, const char *client)
{
	rdms_session s;

	memset(&s, 0, sizeof s);
	s.id = id;
	s.connect_state = state;
	s.uid = 1000 + id;
	s.display = (int)id;
	s.logon_time = 1700000000 + id;
	s.server_pid = (pid_t)(4000 + id);
	snprintf(s.user, sizeof s.user, "user%u", (unsigned)id);
	snprintf(s.client, sizeof s.client, "%s", client);
	snprintf(s.client_addr, sizeof s.client_addr, "10.0.0.%u", (unsigned)id);
	return s;
}

static priv_events g_events;
static uint32_t dec_events(const void *p, size_t len, rdms_error *err)
{
	return priv_decode_events(p, len, &g_events, err);
}

static priv_events_end g_end;
static uint32_t dec_end(const void *p, size_t len, rdms_error *err)
{
	return priv_decode_events_end(p, len, &g_end, err);
}

static rdms_event g_batch[PRIV_EVENTS_BATCH_MAX];
static size_t g_nbatch;
static uint32_t dec_batch(const void *p, size_t len, rdms_error *err)
{
	uint32_t rc = priv_decode_events_batch(p, len, test_backends, 1, g_batch,
	                                       PRIV_EVENTS_BATCH_MAX, &g_nbatch, err);

	if (rc != WBEM_S_NO_ERROR && g_nbatch != 0)
		rc = WBEM_S_NO_ERROR;   /* a failure must leave nothing */
	for (size_t i = 0; i < g_nbatch; i++)
		rdms_event_clear(&g_batch[i]);
	return rc;
}

/* A feed of fixture sessions: 1 and 2 appear, 1 disconnects, 2 ends (4 events). */
static rdms_feed *events_feed(void)
{
	rdms_feed *f = rdms_feed_new(7, NULL);
	rdms_session a[2] = { ev_session(1, 0, "PC1"), ev_session(2, 0, "PC2") };

	CHECK_EQ(rdms_feed_observe(f, "fixture", a, 2, EV_T0), 2);
	a[0].connect_state = 4;
	a[0].client[0] = '\0';
	CHECK_EQ(rdms_feed_observe(f, "fixture", a, 1, EV_T0 + 1), 2);
	return f;
}

/* An rdms_event_fn: the events into a batch. */
static int into_batch(void *ctx, const rdms_event *ev)
{
	return priv_events_add(ctx, ev) ? 0 : 1;
}

static void test_events_wire(void)
{
	priv_events req = { .after = { 7, 3 }, .max = 100, .wait_ms = 2500 };
	priv_events_end end = { .rc = PRIV_EVENTS_GONE, .floor = { 6, 9 }, .head = { 7, 4 } };
	rdms_feed *f = events_feed();
	rdms_error err = { 0 };
	rdms_feed_pos next;
	priv_batch b;
	size_t n, len;

	/* the request */
	n = priv_encode_events(buf, sizeof buf, 5, &req);
	CHECK(n > 0);
	CHECK_EQ(dec_events(pl(buf), n - PRIV_HEADER_SIZE, &err), 0);
	CHECK_EQ(g_events.after.epoch, 7);
	CHECK_EQ(g_events.after.seq, 3);
	CHECK_EQ(g_events.max, 100);
	CHECK_EQ(g_events.wait_ms, 2500);
	CHECK_EQ(cuts_refused(buf, n, dec_events), 0);
	req.max = 0;
	n = priv_encode_events(buf, sizeof buf, 5, &req);
	CHECK_EQ(dec_events(pl(buf), n - PRIV_HEADER_SIZE, &err), WBEM_E_INVALID_PARAMETER);
	CHECK(strstr(err.message, "0 events asked") != NULL);
	req.max = PRIV_EVENTS_MAX + 1;
	n = priv_encode_events(buf, sizeof buf, 5, &req);
	CHECK_EQ(dec_events(pl(buf), n - PRIV_HEADER_SIZE, &err), WBEM_E_INVALID_PARAMETER);
	req.max = 1;
	req.wait_ms = PRIV_EVENTS_WAIT_MAX_MS + 1;
	n = priv_encode_events(buf, sizeof buf, 5, &req);
	CHECK_EQ(dec_events(pl(buf), n - PRIV_HEADER_SIZE, &err), WBEM_E_INVALID_PARAMETER);
	CHECK(strstr(err.message, "a wait of 60001 ms") != NULL);

	/* the end */
	n = priv_encode_events_end(buf, sizeof buf, 5, &end);
	CHECK_EQ(dec_end(pl(buf), n - PRIV_HEADER_SIZE, &err), 0);
	CHECK_EQ(g_end.rc, PRIV_EVENTS_GONE);
	CHECK_EQ(g_end.floor.seq, 9);
	CHECK_EQ(g_end.head.epoch, 7);
	CHECK_EQ(cuts_refused(buf, n, dec_end), 0);
	end.rc = PRIV_EVENTS_RC_END;
	n = priv_encode_events_end(buf, sizeof buf, 5, &end);
	CHECK_EQ(dec_end(pl(buf), n - PRIV_HEADER_SIZE, &err), WBEM_E_INVALID_PARAMETER);
	CHECK(strstr(err.message, "out of range") != NULL);
	end = (priv_events_end){ .floor = { 8, 1 }, .head = { 7, 4 } };
	n = priv_encode_events_end(buf, sizeof buf, 5, &end);
	CHECK_EQ(dec_end(pl(buf), n - PRIV_HEADER_SIZE, &err), WBEM_E_INVALID_PARAMETER);
	CHECK(strstr(err.message, "after head") != NULL);

	/* a batch: every field survives, the previous session of a modification too */
	priv_events_begin(&b, buf, sizeof buf, 6);
	CHECK_EQ(rdms_feed_read(f, rdms_feed_earliest(f), 100, into_batch, &b, &next), RDMS_FEED_OK);
	CHECK_EQ(b.count, 4);
	len = priv_batch_end(&b);
	CHECK_EQ(priv_decode_events_batch(pl(buf), len - PRIV_HEADER_SIZE, test_backends, 1,
	                                  g_batch, PRIV_EVENTS_BATCH_MAX, &g_nbatch, &err), 0);
	CHECK_EQ(g_nbatch, 4);
	if (g_nbatch == 4) {
		const rdms_event *m = NULL, *d = NULL;

		for (size_t i = 0; i < 4; i++) {
			CHECK_EQ(g_batch[i].pos.epoch, 7);
			CHECK_EQ(g_batch[i].pos.seq, i + 1);
			CHECK(g_batch[i].target.backend == rdms_backend_fixture.name);
			if (g_batch[i].kind == RDMS_EVENT_MODIFICATION)
				m = &g_batch[i];
			if (g_batch[i].kind == RDMS_EVENT_DELETION)
				d = &g_batch[i];
		}
		CHECK(m != NULL && d != NULL);
		if (m != NULL) {
			CHECK_EQ(m->target.id, 1);
			CHECK_EQ(m->target.connect_state, 4);
			CHECK_EQ(m->previous.connect_state, 0);
			CHECK_STR(m->previous.client, "PC1");
			CHECK_STR(m->target.client, "");
			CHECK_STR(m->target.user, "user1");
			CHECK_STR(m->target.client_addr, "10.0.0.1");
			CHECK_EQ(m->target.uid, 1001);
			CHECK_EQ(m->target.server_pid, 4001);
			CHECK_EQ(m->target.logon_time, 1700000001);
			CHECK_EQ(m->time_us, EV_T0 + 1);
		}
		if (d != NULL)
			CHECK_EQ(d->target.id, 2);
	}
	for (size_t i = 0; i < g_nbatch; i++)
		rdms_event_clear(&g_batch[i]);
	CHECK_EQ(cuts_refused(buf, len, dec_batch), 0);

	/* malformed batches: each refused whole, naming what was wrong */
	{
		static unsigned char bad[PRIV_MSG_MAX];
		uint32_t count = 5000;

		memcpy(bad, buf, len);
		memcpy(bad + PRIV_HEADER_SIZE, &count, 4);
		CHECK_EQ(dec_batch(pl(bad), len - PRIV_HEADER_SIZE, &err), WBEM_E_INVALID_PARAMETER);
		CHECK(strstr(err.message, "cannot fit") != NULL);
		memcpy(bad, buf, len);
		bad[PRIV_HEADER_SIZE + 4 + 24] = 3;   /* the first event's kind */
		CHECK_EQ(dec_batch(pl(bad), len - PRIV_HEADER_SIZE, &err), WBEM_E_INVALID_PARAMETER);
		CHECK(strstr(err.message, "event kind 3") != NULL);
		memcpy(bad, buf, len);
		bad[PRIV_HEADER_SIZE + 4 + 8] = 0;    /* the first event's seq: 0 */
		CHECK_EQ(dec_batch(pl(bad), len - PRIV_HEADER_SIZE, &err), WBEM_E_INVALID_PARAMETER);
		CHECK(strstr(err.message, "is not after") != NULL);
		/* a back-end no longer served (none is, here): its events still read */
		CHECK_EQ(priv_decode_events_batch(pl(buf), len - PRIV_HEADER_SIZE, test_backends, 0,
		                                  g_batch, PRIV_EVENTS_BATCH_MAX, &g_nbatch, &err),
		         WBEM_S_NO_ERROR);
		CHECK(g_nbatch > 0 && g_batch[0].target.backend != NULL &&
		      strcmp(g_batch[0].target.backend, "fixture") == 0);
		for (size_t i = 0; i < g_nbatch; i++)
			rdms_event_clear(&g_batch[i]);
		/* a back-end this rdmsd has never had: refused */
		{
			unsigned char *at;

			memcpy(bad, buf, len);
			at = memmem(bad, len, "fixture", 7);
			CHECK(at != NULL);
			if (at != NULL)
				at[6] = 'X';
			CHECK_EQ(priv_decode_events_batch(pl(bad), len - PRIV_HEADER_SIZE, test_backends,
			                                  1, g_batch, PRIV_EVENTS_BATCH_MAX, &g_nbatch,
			                                  &err), WBEM_E_INVALID_PARAMETER);
			CHECK(strstr(err.message, "unknown back-end 'fixturX'") != NULL);
			CHECK_EQ(g_nbatch, 0);
		}
		CHECK_EQ(priv_decode_events_batch(pl(buf), len - PRIV_HEADER_SIZE, test_backends, 1,
		                                  g_batch, 3, &g_nbatch, &err),
		         WBEM_E_INVALID_PARAMETER);
	}
	/* the same event twice: positions must rise */
	{
		priv_batch b2;

		priv_events_begin(&b2, out, sizeof out, 6);
		rdms_feed_read(f, rdms_feed_earliest(f), 1, into_batch, &b2, &next);
		rdms_feed_read(f, rdms_feed_earliest(f), 1, into_batch, &b2, &next);
		n = priv_batch_end(&b2);
		CHECK_EQ(dec_batch(pl(out), n - PRIV_HEADER_SIZE, &err), WBEM_E_INVALID_PARAMETER);
		CHECK(strstr(err.message, "is not after (7, 1)") != NULL);
	}
	rdms_feed_free(f);
}

/* What priv_proxy_events handed over. */
struct got_events {
	size_t        n;
	rdms_feed_pos last;
	bool          ordered;
	uint32_t      kinds;
};

static void got(void *ctx, rdms_event *ev, size_t n)
{
	struct got_events *g = ctx;

	for (size_t i = 0; i < n; i++) {
		if (rdms_feed_pos_cmp(ev[i].pos, g->last) <= 0)
			g->ordered = false;
		g->last = ev[i].pos;
		g->kinds |= ev[i].kind;
		g->n++;
	}
}

static unsigned seen_kind;

static int note_kind(void *ctx, const rdms_event *ev)
{
	(void)ctx;
	seen_kind |= ev->kind;
	return 0;
}

struct late {
	rdms_feed *f;
	int        n;
};

/* Adds sessions to the feed a little later (a waiting reader's events). */
static void *observe_later(void *arg)
{
	struct late *l = arg;
	struct timespec pause = { 0, 150 * 1000000L };
	rdms_session s[3] = { ev_session(1, 4, ""), ev_session(3, 0, "PC3"), ev_session(4, 0, "X") };

	nanosleep(&pause, NULL);
	l->n = (int)rdms_feed_observe(l->f, "fixture", s, 3, EV_T0 + 10);
	return NULL;
}

static double ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) * 1e3 + (double)(t.tv_nsec - t0->tv_nsec) / 1e6;
}

/* A priv server with the fixture back-end and FEED, its client, and a raw channel. */
struct feed_pair {
	rdms_provider real;
	priv_env      env;
	priv_server  *srv;
	priv_client  *cl;
	int           raw;     /* the last channel's net end, for requests written raw */
};

static void pair_start(struct feed_pair *fp, rdms_feed *feed)
{
	const rdms_backend *backends[] = { &rdms_backend_fixture };
	rdms_error err = { 0 };
	priv_channels ch;

	fp->real = (rdms_provider){ .cfg = &cfg, .backends = { &rdms_backend_fixture },
	                            .nbackends = 1 };
	fp->env = (priv_env){ .provider = &fp->real, .feed = feed };
	CHECK(priv_channels_open(&ch, &err));
	fp->srv = priv_server_start(ch.priv, &fp->env, &err);
	CHECK(fp->srv != NULL);
	fp->raw = ch.net[PRIV_CHANNELS - 1];
	ch.net[PRIV_CHANNELS - 1] = -1;
	fp->cl = priv_client_new(ch.net, backends, 1);
	CHECK(fp->cl != NULL);
}

static void pair_stop(struct feed_pair *fp)
{
	priv_client_free(fp->cl);
	close(fp->raw);
	priv_server_stop(fp->srv);
}

static void test_events_ends(void)
{
	rdms_feed *f = events_feed();
	struct feed_pair fp;
	priv_client *cl;
	priv_events_pump *pump;
	rdms_error err = { 0 };
	priv_events_end end;
	struct got_events g = { .ordered = true };
	struct timespec t0;
	struct late l = { .f = f };
	pthread_t th;
	char why[512];
	uint32_t rc = 0;
	size_t n;

	pair_start(&fp, f);
	cl = fp.cl;
	int raw = fp.raw;

	/* (0, 0): where the journal stands */
	CHECK_EQ(priv_proxy_events(cl, &(priv_events){ .max = 1 }, got, &g, &end, &err), 0);
	CHECK_EQ(end.rc, PRIV_EVENTS_GONE);
	CHECK_EQ(end.floor.epoch, 7);
	CHECK_EQ(end.floor.seq, 0);
	CHECK_EQ(end.head.seq, 4);
	CHECK_EQ(g.n, 0);
	/* everything from the floor, in order, no wait */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK_EQ(priv_proxy_events(cl, &(priv_events){ .after = end.floor, .max = 100,
	                                               .wait_ms = 5000 }, got, &g, &end, &err), 0);
	CHECK(ms_since(&t0) < 1000);
	CHECK_EQ(end.rc, PRIV_EVENTS_OK);
	CHECK_EQ(g.n, 4);
	CHECK(g.ordered);
	CHECK_EQ(g.kinds, RDMS_EVENT_CREATION | RDMS_EVENT_MODIFICATION | RDMS_EVENT_DELETION);
	/* MAX bounds them */
	g = (struct got_events){ .ordered = true };
	CHECK_EQ(priv_proxy_events(cl, &(priv_events){ .after = end.floor, .max = 3 }, got, &g,
	                           &end, &err), 0);
	CHECK_EQ(g.n, 3);
	/* at the head: nothing after a wait of WAIT_MS */
	g = (struct got_events){ .ordered = true };
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK_EQ(priv_proxy_events(cl, &(priv_events){ .after = { 7, 4 }, .max = 10,
	                                               .wait_ms = 300 }, got, &g, &end, &err), 0);
	CHECK(ms_since(&t0) >= 290);
	CHECK_EQ(end.rc, PRIV_EVENTS_OK);
	CHECK_EQ(g.n, 0);
	/* the wait ends when events come */
	pthread_create(&th, NULL, observe_later, &l);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK_EQ(priv_proxy_events(cl, &(priv_events){ .after = { 7, 4 }, .max = 10,
	                                               .wait_ms = 10000 }, got, &g, &end, &err), 0);
	pthread_join(th, NULL);
	CHECK(ms_since(&t0) < 5000);
	CHECK(g.n >= 1);
	CHECK_EQ(l.n, 2);   /* 3 and 4 appear; 1 is as it was */
	/* past the head: FUTURE; before the floor of another epoch: GONE */
	CHECK_EQ(priv_proxy_events(cl, &(priv_events){ .after = { 7, 99 }, .max = 1 }, got, &g,
	                           &end, &err), 0);
	CHECK_EQ(end.rc, PRIV_EVENTS_FUTURE);
	CHECK_EQ(priv_proxy_events(cl, &(priv_events){ .after = { 6, 99 }, .max = 1 }, got, &g,
	                           &end, &err), 0);
	CHECK_EQ(end.rc, PRIV_EVENTS_GONE);
	/* a bad request written raw: refused with DONE, the channel serves on */
	n = priv_encode_events(buf, sizeof buf, 91, &(priv_events){ .max = 0 });
	CHECK_EQ(raw_request(raw, buf, n, &rc, why, sizeof why), PRIV_DONE);
	CHECK_EQ(rc, WBEM_E_INVALID_PARAMETER);
	CHECK(strstr(why, "0 events asked") != NULL);

	/* many events: several batches, all in order */
	{
		static rdms_session many[3000];

		for (uint32_t i = 0; i < 3000; i++)
			many[i] = ev_session(100 + i, 0, "MANY-CLIENT-NAME");
		/* 1, 3 and 4 end, 3,000 appear */
		CHECK_EQ(rdms_feed_observe(f, "fixture", many, 3000, EV_T0 + 20), 3003);
	}
	g = (struct got_events){ .ordered = true };
	CHECK_EQ(priv_proxy_events(cl, &(priv_events){ .after = { 7, 6 }, .max = PRIV_EVENTS_MAX },
	                           got, &g, &end, &err), 0);
	CHECK_EQ(g.n, 3003);
	CHECK(g.ordered);
	CHECK_EQ(g.last.seq, end.head.seq);
	/*
	 * an exchange of one event takes no big block: room for 1,024 at each
	 * was an mmap of 180 KiB (page faults, an munmap) per change mirrored
	 */
	{
		rdms_feed_pos last = end.head;
		struct rusage r0, r1;
		long faults;

		getrusage(RUSAGE_SELF, &r0);
		for (int i = 0; i < 200; i++) {
			g = (struct got_events){ .ordered = true };
			CHECK_EQ(priv_proxy_events(cl, &(priv_events){ .after = { 7, last.seq - 1 },
			                                               .max = 1 }, got, &g, &end, &err), 0);
			CHECK_EQ(g.n, 1);
		}
		getrusage(RUSAGE_SELF, &r1);
		faults = r1.ru_minflt - r0.ru_minflt;
		printf("privsep: 200 exchanges of one event: %ld page faults\n", faults);
		CHECK(faults < 100);
	}

	/* the pump: the mirror starts at the floor and follows priv's feed */
	pump = priv_events_pump_start(cl, 200, &err);
	CHECK(pump != NULL);
	if (pump != NULL) {
		rdms_feed *m = priv_events_pump_feed(pump);
		rdms_feed_pos head = rdms_feed_head(f);
		rdms_session one = ev_session(9000, 0, "LATE");

		CHECK_EQ(priv_events_pump_head(pump).seq, head.seq);
		for (int i = 0; i < 100 && rdms_feed_pos_cmp(rdms_feed_head(m), head) < 0; i++)
			rdms_feed_wait(m, rdms_feed_head(m), 100);
		CHECK_EQ(rdms_feed_head(m).seq, head.seq);
		CHECK_EQ(rdms_feed_earliest(m).seq, 0);
		/* a new event reaches a reader waiting on the mirror */
		rdms_feed_observe(f, "fixture", &one, 1, EV_T0 + 30);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		CHECK(rdms_feed_wait(m, head, 3000));
		CHECK(ms_since(&t0) < 1000);
		for (int i = 0; i < 100 && rdms_feed_head(m).seq < head.seq + 3001; i++)
			rdms_feed_wait(m, rdms_feed_head(m), 100);
		{
			rdms_feed_pos next;

			seen_kind = 0;
			/* 3,000 end, 9000 appears */
			CHECK_EQ(rdms_feed_read(m, head, 4000, note_kind, NULL, &next), RDMS_FEED_OK);
			CHECK_EQ(next.seq, head.seq + 3001);
			CHECK_EQ(seen_kind, RDMS_EVENT_CREATION | RDMS_EVENT_DELETION);
		}
		priv_events_pump_stop(pump);
	}

	/*
	 * net stopping: a pump waiting in a 30 s long poll stops at once (priv
	 * kills a net that takes 10 s), and the channels left serve on
	 */
	pump = priv_events_pump_start(cl, 30000, &err);
	CHECK(pump != NULL);
	if (pump != NULL) {
		rdms_feed *m = priv_events_pump_feed(pump);
		struct timespec settle = { 0, 300 * 1000000L };

		for (int i = 0; i < 100 && rdms_feed_pos_cmp(rdms_feed_head(m), rdms_feed_head(f)) < 0;
		     i++)
			rdms_feed_wait(m, rdms_feed_head(m), 100);
		nanosleep(&settle, NULL);      /* in its long poll now */
		clock_gettime(CLOCK_MONOTONIC, &t0);
		priv_events_pump_stop(pump);
		CHECK(ms_since(&t0) < 1000);
		g = (struct got_events){ .ordered = true };
		CHECK_EQ(priv_proxy_events(cl, &(priv_events){ .after = { 7, 6 }, .max = 2 }, got, &g,
		                           &end, &err), 0);
		CHECK_EQ(g.n, 2);
	}
	/* an exchange given up while it waits: WBEM_E_CALL_CANCELLED */
	{
		int fds[2];
		char one = 1;

		CHECK_EQ(pipe(fds), 0);
		CHECK_EQ(write(fds[1], &one, 1), 1);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		CHECK_EQ(priv_proxy_events_until(cl, &(priv_events){ .after = rdms_feed_head(f),
		                                                     .max = 1, .wait_ms = 30000 },
		                                 fds[0], got, &g, &end, &err), WBEM_E_CALL_CANCELLED);
		CHECK(ms_since(&t0) < 1000);
		close(fds[0]);
		close(fds[1]);
	}

	/* no feed: the pump does not start, and says no error */
	pair_stop(&fp);
	pair_start(&fp, NULL);
	err = (rdms_error){ 0 };
	CHECK(priv_events_pump_start(fp.cl, 200, &err) == NULL);
	CHECK_EQ(err.code, 0);
	pair_stop(&fp);
	rdms_feed_free(f);
}

/* ---- the feed's state at a position (FEED_STATE) ---------------------------- */

/* What priv_proxy_feed_state handed over. */
struct got_state {
	size_t   n;
	uint32_t ids[4];        /* the first few */
	uint32_t states[4];
	char     client[256];   /* of the first */
	bool     ordered;       /* SessionIds rise */
	uint32_t last;
	size_t   stop_at;       /* fail with WBEM_E_FAILED at this count (0: never) */
};

static uint32_t got_session(void *ctx, const rdms_session *s, rdms_error *err)
{
	struct got_state *g = ctx;

	if (g->stop_at != 0 && g->n == g->stop_at)
		return rdms_fail(err, WBEM_E_FAILED, "stopped by the test");
	if (g->n < 4) {
		g->ids[g->n] = s->id;
		g->states[g->n] = s->connect_state;
	}
	if (g->n == 0)
		snprintf(g->client, sizeof g->client, "%s", s->client);
	if (g->n > 0 && s->id <= g->last)
		g->ordered = false;
	CHECK(s->backend != NULL && strcmp(s->backend->name, "fixture") == 0);
	g->last = s->id;
	g->n++;
	return WBEM_S_NO_ERROR;
}

static void test_feed_state(void)
{
	rdms_feed *f = events_feed();
	struct got_state g = { .ordered = true };
	rdms_error err = { 0 };
	rdms_feed_pos at = { 0, 0 };
	priv_events_pump *pump;
	struct feed_pair fp;
	priv_client *cl;
	char why[512];
	uint32_t rc = 0;
	size_t n;

	pair_start(&fp, f);
	cl = fp.cl;

	/* the feed's listing (1 disconnected; 2 ended) at its head, (7, 4) */
	CHECK_EQ(priv_proxy_feed_state(cl, got_session, &g, &at, &err), 0);
	CHECK_EQ(g.n, 1);
	CHECK_EQ(g.ids[0], 1);
	CHECK_EQ(g.states[0], 4);
	CHECK_STR(g.client, "");
	CHECK_EQ(at.epoch, 7);
	CHECK_EQ(at.seq, 4);
	/* through the pump, as rdmsd-net's WS-Man service asks */
	pump = priv_events_pump_start(cl, 200, &err);
	CHECK(pump != NULL);
	if (pump != NULL) {
		g = (struct got_state){ .ordered = true };
		CHECK_EQ(priv_events_pump_state(pump, got_session, &g, &at, &err), 0);
		CHECK_EQ(g.n, 1);
		CHECK_EQ(at.seq, 4);
		priv_events_pump_stop(pump);
	}
	/* a back-end priv does not serve is left out; 3,000 sessions take several batches */
	{
		static rdms_session many[3000];
		rdms_session other = ev_session(5, 0, "XRDP");

		for (uint32_t i = 0; i < 3000; i++)
			many[i] = ev_session(3000 - i, i % 2 ? 0 : 4, "MANY-CLIENT-NAME");
		CHECK(rdms_feed_observe(f, "xrdp", &other, 1, EV_T0 + 5) == 1);
		CHECK(rdms_feed_observe(f, "fixture", many, 3000, EV_T0 + 6) == 3000);
	}
	g = (struct got_state){ .ordered = true };
	CHECK_EQ(priv_proxy_feed_state(cl, got_session, &g, &at, &err), 0);
	CHECK_EQ(g.n, 3000);
	CHECK(g.ordered);
	CHECK_EQ(g.ids[0], 1);
	CHECK_EQ(g.states[0], 0);          /* session 1 came back connected: many[2999] */
	CHECK_EQ(at.seq, rdms_feed_head(f).seq);
	CHECK_EQ(at.seq, 4 + 1 + 3000);
	/* FN's error stops the walk; the channel stays in step for the next exchange */
	g = (struct got_state){ .ordered = true, .stop_at = 10 };
	CHECK_EQ(priv_proxy_feed_state(cl, got_session, &g, &at, &err), WBEM_E_FAILED);
	CHECK(strstr(err.message, "stopped by the test") != NULL);
	g = (struct got_state){ .ordered = true };
	CHECK_EQ(priv_proxy_feed_state(cl, got_session, &g, &at, &err), 0);
	CHECK_EQ(g.n, 3000);
	/* a FEED_STATE with a payload: refused, the channel serves on */
	n = priv_encode_find(buf, sizeof buf, 93, 7);
	{
		uint16_t t = PRIV_FEED_STATE;

		memcpy(buf, &t, 2);
	}
	CHECK_EQ(raw_request(fp.raw, buf, n, &rc, why, sizeof why), PRIV_DONE);
	CHECK_EQ(rc, WBEM_E_INVALID_PARAMETER);
	CHECK_STR(priv_type_name(PRIV_FEED_STATE), "FEED_STATE");
	n = priv_encode_empty(buf, sizeof buf, 94, PRIV_FEED_STATE);
	CHECK_EQ(raw_request(fp.raw, buf, n, &rc, why, sizeof why), PRIV_EVENTS_END);
	CHECK(raw_batches >= 2);

	/* no feed: no sessions, WBEM_E_NOT_SUPPORTED */
	pair_stop(&fp);
	pair_start(&fp, NULL);
	g = (struct got_state){ .ordered = true };
	CHECK_EQ(priv_proxy_feed_state(fp.cl, got_session, &g, &at, &err), WBEM_E_NOT_SUPPORTED);
	CHECK_EQ(g.n, 0);
	pair_stop(&fp);
	rdms_feed_free(f);
}

int main(void)
{
	test_header();
	test_auth();
	test_negotiate();
	test_act();
	test_invoke();
	test_fd_passing();
	test_audit_done_find();
	test_sessions();
	test_session_details();
	test_status_idle_rows();
	test_random();
	test_ends();
	test_stream();
	test_events_wire();
	test_events_ends();
	test_feed_state();
	return check_summary("privsep");
}
