/*
 * rdmsd-ntlm -- one Negotiate/NTLM handshake, for priv (ntlm_relay.h).
 *
 *     rdmsd-ntlm STORE          (started by rdmsd, its channel on fd 3)
 *
 * It keeps uid 0 -- the owner of the root-only NT-hash store STORE, which
 * gss-ntlmssp reads when the AUTHENTICATE message comes -- but gives up
 * every capability for good before it reads anything (no bounding set, the
 * root fix-ups locked off, no_new_privs, not dumpable), so it can read
 * root's own files and nothing that takes a privilege.  It answers the
 * legs of one handshake (NEGOTIATE messages, the client's token in base64,
 * as net checked it), and exits when the handshake completes or fails, or
 * when no leg comes within NTLM_RELAY_IDLE_S: whatever gss-ntlmssp leaks
 * goes with it.
 */
#include <errno.h>
#include <linux/capability.h>
#include <poll.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../auth/basic.h"
#include "../auth/negotiate.h"
#include "../auth/negotiate_hdr.h"
#include "../common/log.h"
#include "../common/strutil.h"
#include "../privsep/caps.h"
#include "../privsep/ntlm_relay.h"
#include "../privsep/privsep.h"

#define CHANNEL_FD 3

#ifndef SECBIT_NOROOT
#define SECBIT_NOROOT                 (1 << 0)
#define SECBIT_NOROOT_LOCKED          (1 << 1)
#define SECBIT_NO_SETUID_FIXUP        (1 << 2)
#define SECBIT_NO_SETUID_FIXUP_LOCKED (1 << 3)
#endif

/* Every capability gone, and no way for uid 0 to get one back. */
static bool drop_capabilities(void)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3] = { { 0 } };

	if (getuid() == 0) {
		if (prctl(PR_SET_SECUREBITS, SECBIT_NOROOT | SECBIT_NOROOT_LOCKED |
		          SECBIT_NO_SETUID_FIXUP | SECBIT_NO_SETUID_FIXUP_LOCKED, 0, 0, 0) != 0)
			return false;
		for (int c = 0; c <= 63; c++)
			if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) != 0 && errno != EINVAL)
				return false;
	}
	return syscall(SYS_capset, &h, d) == 0 && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 &&
	       prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == 0 && caps_none_left();
}

/* The local account of a completed handshake into OUT; false with OUT->error. */
static bool map_account(const char *client, priv_negotiated *out)
{
	struct passwd pw, *res = NULL;
	char buf[4096];

	str_copy(out->client, sizeof out->client, client);
	if (!nego_local_user(client, out->user, sizeof out->user) ||
	    getpwnam_r(out->user, &pw, buf, sizeof buf, &res) != 0 || res == NULL) {
		snprintf(out->error, sizeof out->error, "'%s' is no local account", out->user);
		out->user[0] = '\0';
		return false;
	}
	out->uid = (uint32_t)pw.pw_uid;
	return true;
}

/* One leg: M in, *OUT (state, token) back. */
static void one_leg(nego_acceptor *a, const priv_negotiate *m, priv_negotiated *out,
                    nego_step_out *step)
{
	static unsigned char token[PRIV_TOKEN_MAX];
	rdms_error err = { 0 };
	size_t len = 0, where = 0;
	const char *why;
	enum nego_state st;

	memset(out, 0, sizeof *out);
	why = basic_b64_decode(m->token, strlen(m->token), token, &len, &where);
	if (why != NULL) {
		out->state = PRIV_NEGO_FAILED;
		snprintf(out->error, sizeof out->error, "token: %s", why);
		return;
	}
	st = nego_step(a, token, len, step, &err);
	if (st == NEGO_FAILED) {
		out->state = PRIV_NEGO_FAILED;
		str_copy(out->error, sizeof out->error, err.message);
		return;
	}
	if (step->len > 0 && !nego_b64(step->token, step->len, out->token, sizeof out->token)) {
		out->state = PRIV_NEGO_FAILED;
		str_copy(out->error, sizeof out->error, "reply token too long");
		return;
	}
	out->state = st == NEGO_CONTINUE ? PRIV_NEGO_CONTINUE : PRIV_NEGO_COMPLETE;
	if (st == NEGO_CONTINUE && step->len == 0) {
		out->state = PRIV_NEGO_FAILED;
		str_copy(out->error, sizeof out->error, "no challenge to send");
	}
	if (out->state == PRIV_NEGO_COMPLETE && !map_account(step->name, out))
		out->state = PRIV_NEGO_FAILED;
	if (out->state == PRIV_NEGO_COMPLETE && step->context_len > 0) {
		_Static_assert(sizeof out->context >= sizeof step->context, "context room");
		memcpy(out->context, step->context, step->context_len);
		out->context_len = (uint32_t)step->context_len;
	}
	explicit_bzero(step->context, sizeof step->context);
}

int main(int argc, char **argv)
{
	static unsigned char buf[PRIV_MSG_MAX];
	static priv_negotiate m;
	static priv_negotiated out;
	static nego_step_out step;
	rdms_error err = { 0 };
	nego_acceptor *a;

	log_init("rdmsd-ntlm", false);
	if (argc != 2) {
		fprintf(stderr, "usage: rdmsd-ntlm STORE (started by rdmsd)\n");
		return 2;
	}
	if (!drop_capabilities())
		fatal("cannot give up the capabilities: %s", strerror(errno));
	a = nego_acceptor_new(argv[1], &err);
	for (;;) {
		struct pollfd p = { .fd = CHANNEL_FD, .events = POLLIN };
		priv_header h;
		size_t n = 0;

		if (poll(&p, 1, NTLM_RELAY_IDLE_S * 1000) != 1 ||
		    priv_recv(CHANNEL_FD, buf, &n, &h, &err) != WBEM_S_NO_ERROR ||
		    h.type != PRIV_NEGOTIATE ||
		    priv_decode_negotiate(buf + PRIV_HEADER_SIZE, h.len, &m, &err) != WBEM_S_NO_ERROR)
			break;   /* idle, priv gone, or not a leg: the handshake ends */
		if (a == NULL) {
			memset(&out, 0, sizeof out);
			out.state = PRIV_NEGO_FAILED;
			str_copy(out.error, sizeof out.error, err.message);
		} else {
			one_leg(a, &m, &out, &step);
		}
		if (!priv_send(CHANNEL_FD, buf, priv_encode_negotiated(buf, PRIV_MSG_MAX, h.id, &out),
		               &err) || out.state != PRIV_NEGO_CONTINUE)
			break;
	}
	explicit_bzero(&m, sizeof m);
	explicit_bzero(&out, sizeof out);
	explicit_bzero(buf, sizeof buf);
	nego_acceptor_free(a);
	return 0;
}
