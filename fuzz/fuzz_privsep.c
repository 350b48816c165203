/*
 * fuzz_privsep.c -- the privileged process's decoding of what the network
 * process sends it (src/privsep/wire.c): the header, then each request's
 * payload.
 *
 * This is the privilege boundary: priv runs as root, and a network process
 * taken over by an attacker can send it any bytes.  privsep.h promises
 * that decoding checks everything and says what was wrong.  Checked here:
 * a request either fails with a reason, or decodes to fields that encode
 * back to exactly the bytes that came (so no field was cut, padded,
 * misread or left over), with every string ending within its limit.
 */
#include "fuzz.h"

#include "privsep/privsep.h"

static unsigned char again[PRIV_MSG_MAX];

static void check_error(uint32_t rc, const rdms_error *err)
{
	FUZZ_CHECK(fuzz_error_set(rc, err->code, err->message));
}

/* The request decoded from MSG (N bytes) encodes back to MSG itself (the encoder gave E bytes). */
static void same(const uint8_t *msg, size_t n, size_t e)
{
	FUZZ_CHECK(e == n);
	FUZZ_CHECK(memcmp(again, msg, n) == 0);
}

static void terminated(const char *s, size_t size)
{
	FUZZ_CHECK(memchr(s, '\0', size) != NULL);
}

/*
 * In LLVMFuzzerTestOneInput (its locals): decodes the payload as a NAME
 * request into DECODED; if it is one, CHECKS, then the round trip of
 * ENCODED (DECODED as the encoder takes it).
 */
#define REQUEST(name, decoded, encoded, checks) do { \
	if ((rc = priv_decode_##name(payload, h.len, decoded, &err)) == WBEM_S_NO_ERROR) { \
		checks; \
		same(data, size, priv_encode_##name(again, sizeof again, h.id, encoded)); \
	} \
} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* the largest decoded request, as priv's channel thread would hold it */
	static union {
		priv_auth a; priv_negotiate g; priv_act c; priv_audit d; priv_invoke i;
		priv_idle l; priv_events e; char since[PRIV_TIME_MAX + 1]; uint32_t sid;
	} m;
	const uint8_t *payload = data + PRIV_HEADER_SIZE;
	rdms_error err = { 0 };
	priv_header h;
	uint32_t rc = priv_decode_header(data, size, &h, &err);

	if (rc != WBEM_S_NO_ERROR) {
		check_error(rc, &err);
		return 0;
	}
	FUZZ_CHECK(h.len == size - PRIV_HEADER_SIZE && h.type > 0 && h.type < PRIV_TYPE_END);
	memset(&m, 0x5a, sizeof m);        /* no help from a zeroed start */
	switch (h.type) {
	case PRIV_AUTH:
		REQUEST(auth, &m.a, &m.a, terminated(m.a.user, sizeof m.a.user);
		        terminated(m.a.password, sizeof m.a.password));
		break;
	case PRIV_NEGOTIATE:
		REQUEST(negotiate, &m.g, &m.g, terminated(m.g.token, sizeof m.g.token));
		break;
	case PRIV_ENUMERATE:
	case PRIV_STATUS:
	case PRIV_FEED_STATE:
		if ((rc = priv_decode_empty(payload, h.len, h.type, &err)) == WBEM_S_NO_ERROR)
			same(data, size, priv_encode_empty(again, sizeof again, h.id, h.type));
		break;
	case PRIV_FIND:
		REQUEST(find, &m.sid, m.sid, (void)0);
		break;
	case PRIV_ACT:
		REQUEST(act, &m.c, &m.c, FUZZ_CHECK(m.c.action < PRIV_ACTION_END);
		        terminated(m.c.text, sizeof m.c.text));
		break;
	case PRIV_AUDIT:
		REQUEST(audit, &m.d, &m.d, terminated(m.d.target, sizeof m.d.target));
		break;
	case PRIV_IDLE:
		REQUEST(idle, &m.l, &m.l, FUZZ_CHECK(m.l.count >= 1 && m.l.count <= PRIV_IDLE_MAX));
		break;
	case PRIV_AUDIT_READ:
		REQUEST(audit_read, m.since, m.since, terminated(m.since, sizeof m.since));
		break;
	case PRIV_INVOKE:
		REQUEST(invoke, &m.i, &m.i,
		        FUZZ_CHECK(m.i.action < PRIV_ACTION_END && m.i.any_owner <= 1);
		        terminated(m.i.audit.detail, sizeof m.i.audit.detail));
		break;
	case PRIV_EVENTS:
		REQUEST(events, &m.e, &m.e,
		        FUZZ_CHECK(m.e.max <= PRIV_EVENTS_MAX && m.e.wait_ms <= PRIV_EVENTS_WAIT_MAX_MS));
		break;
	default:
		return 0;      /* a reply type: priv refuses it before decoding anything */
	}
	if (rc != WBEM_S_NO_ERROR)
		check_error(rc, &err);
	return 0;
}
