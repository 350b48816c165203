/*
 * rdmsd-pam -- one PAM password check, for priv (src/privsep/pam_relay.h).
 *
 *     rdmsd-pam SERVICE         (started by rdmsd, its channel on fd 3)
 *
 * Reads one AUTH message (user, password, client address) from priv's
 * wire on fd 3, runs PAM service SERVICE on it (authentication, then
 * account management), looks up the uid of the account PAM settled on,
 * answers AUTH_REPLY and exits.  It keeps the rights PAM had when it ran
 * inside priv (uid 0, to read /etc/shadow), but cannot gain any by exec
 * (no_new_privs) and is not dumpable: its memory holds the password.
 */
#include <errno.h>
#include <poll.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "../auth/pam_txn.h"
#include "../common/log.h"
#include "../common/strutil.h"
#include "../privsep/pam_relay.h"
#include "../privsep/privsep.h"

#define CHANNEL_FD 3

static bool lookup_uid(const char *name, uint32_t *uid)
{
	struct passwd pw, *res = NULL;
	char buf[4096];

	if (getpwnam_r(name, &pw, buf, sizeof buf, &res) != 0 || res == NULL)
		return false;
	*uid = (uint32_t)pw.pw_uid;
	return true;
}

/* The check of A, as priv answers net. */
static void check(const char *service, const priv_auth *a, priv_auth_reply *r)
{
	rdms_error err = { 0 };

	memset(r, 0, sizeof *r);
	r->rc = pam_txn_run(service, a->user, a->password, a->rhost[0] != '\0' ? a->rhost : NULL,
	                    r->user, sizeof r->user, &err);
	if (r->rc == WBEM_S_NO_ERROR && !lookup_uid(r->user, &r->uid))
		r->rc = rdms_fail(&err, WBEM_E_ACCESS_DENIED,
		                  "PAM accepted '%s' but it has no passwd entry", r->user);
	if (r->rc != WBEM_S_NO_ERROR) {
		r->user[0] = '\0';
		r->uid = 0;
		str_copy(r->error, sizeof r->error, err.message);
	}
}

int main(int argc, char **argv)
{
	static unsigned char buf[PRIV_MSG_MAX];
	static priv_auth a;
	static priv_auth_reply r;
	struct pollfd p = { .fd = CHANNEL_FD, .events = POLLIN };
	rdms_error err = { 0 };
	priv_header h;
	size_t n = 0;
	bool sent;

	log_init("rdmsd-pam", false);
	if (argc != 2 || argv[1][0] == '\0') {
		fprintf(stderr, "usage: rdmsd-pam SERVICE (started by rdmsd, one check on fd 3)\n");
		return 2;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
		fatal("cannot harden the process: %s", strerror(errno));
	/* priv sends at once; anything else (a stray start) ends here */
	if (poll(&p, 1, PAM_RELAY_TIMEOUT_MS) != 1 ||
	    priv_recv(CHANNEL_FD, buf, &n, &h, &err) != WBEM_S_NO_ERROR ||
	    h.type != PRIV_AUTH ||
	    priv_decode_auth(buf + PRIV_HEADER_SIZE, h.len, &a, &err) != WBEM_S_NO_ERROR) {
		explicit_bzero(buf, sizeof buf);
		explicit_bzero(&a, sizeof a);
		fatal("no password check came on fd %d%s%s", CHANNEL_FD,
		      err.message[0] != '\0' ? ": " : "", err.message);
	}
	explicit_bzero(buf, sizeof buf);
	check(argv[1], &a, &r);
	explicit_bzero(&a, sizeof a);
	sent = priv_send(CHANNEL_FD, buf, priv_encode_auth_reply(buf, PRIV_MSG_MAX, h.id, &r),
	                 &err);
	/*
	 * _exit: what the PAM modules still hold (caches, and leaks some have)
	 * goes with the process; nothing of ours is left to flush.
	 */
	_exit(sent ? 0 : 1);
}
