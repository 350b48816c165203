/*
 * ntlm_relay.c -- Negotiate/NTLM handshakes in processes of their own
 * (ntlm_relay.h).
 */
#include "ntlm_relay.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../common/log.h"
#include "../common/monotime.h"
#include "../common/strutil.h"
#include "helper_spawn.h"
#include "privsep.h"

/* How long one leg may take in rdmsd-ntlm (it reads the store, hashes). */
#define LEG_TIMEOUT_MS 10000

struct slot {
	uint64_t handshake;   /* 0: free */
	pid_t    pid;
	int      sock;        /* priv's end */
	int64_t  last;        /* when its last leg was answered (monotonic s) */
	bool     busy;        /* a channel is relaying a leg */
	char     rhost[PRIV_HOST_MAX + 1];   /* the client's address ("" unknown) */
};

struct ntlm_relay {
	pthread_mutex_t lock;
	char           *program;
	char           *keyfile;
	struct slot     s[NTLM_RELAY_MAX];
};

ntlm_relay *ntlm_relay_new(const char *program, const char *keyfile)
{
	ntlm_relay *r = calloc(1, sizeof *r);

	if (r == NULL)
		return NULL;
	r->program = strdup(program);
	r->keyfile = strdup(keyfile);
	if (r->program == NULL || r->keyfile == NULL || pthread_mutex_init(&r->lock, NULL) != 0) {
		free(r->program);
		free(r->keyfile);
		free(r);
		return NULL;
	}
	return r;
}

/* Ends SL's process (it may be gone already) and frees SL. */
static void slot_end(struct slot *sl)
{
	if (sl->pid > 0) {
		kill(sl->pid, SIGKILL);
		while (waitpid(sl->pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	if (sl->sock >= 0)
		close(sl->sock);
	*sl = (struct slot){ .sock = -1 };
}

void ntlm_relay_free(ntlm_relay *r)
{
	if (r == NULL)
		return;
	for (int i = 0; i < NTLM_RELAY_MAX; i++)
		if (r->s[i].handshake != 0)
			slot_end(&r->s[i]);
	pthread_mutex_destroy(&r->lock);
	free(r->program);
	free(r->keyfile);
	free(r);
}

/* Starts rdmsd-ntlm on a new channel into SL; false with ERR. */
static bool spawn(ntlm_relay *r, struct slot *sl, rdms_error *err)
{
	char *argv[] = { r->program, r->keyfile, NULL };
	char *envp[] = { NULL };
	int sock = -1;
	pid_t pid = helper_spawn(argv, envp, &sock, err);

	if (pid < 0)
		return false;
	sl->pid = pid;
	sl->sock = sock;
	return true;
}

/* A fresh, non-zero, unguessable handshake number. */
static uint64_t new_number(void)
{
	uint64_t v = 0;

	while (v == 0)
		if (getrandom(&v, sizeof v, 0) != sizeof v)
			v = 0;
	return v;
}

/*
 * Takes the slot of a new handshake (HANDSHAKE 0, from RHOST) or of the one
 * numbered HANDSHAKE, marked busy; NULL with the reason in WHY.  Idle
 * handshakes past NTLM_RELAY_IDLE_S are ended on the way.
 */
static struct slot *take_slot(ntlm_relay *r, uint64_t handshake, const char *rhost,
                              const char **why)
{
	struct slot *found = NULL, *free_slot = NULL;
	int64_t now = mono_s();
	int same_host = 0;

	pthread_mutex_lock(&r->lock);
	for (int i = 0; i < NTLM_RELAY_MAX; i++) {
		struct slot *sl = &r->s[i];

		/* reaped: one idle too long, or whose process has gone (its own idle end) */
		if (sl->handshake != 0 && !sl->busy && sl->pid > 0 &&
		    waitpid(sl->pid, NULL, WNOHANG) == sl->pid)
			sl->pid = 0;
		if (sl->handshake != 0 && !sl->busy &&
		    (sl->pid == 0 || now - sl->last > NTLM_RELAY_IDLE_S))
			slot_end(sl);
		if (sl->handshake == 0 && free_slot == NULL)
			free_slot = sl;
		if (handshake != 0 && sl->handshake == handshake)
			found = sl;
		if (sl->handshake != 0 && rhost[0] != '\0' && strcmp(sl->rhost, rhost) == 0)
			same_host++;
	}
	*why = NULL;
	if (handshake != 0) {
		if (found == NULL || found->busy) {
			*why = found == NULL ? "no such handshake in progress (expired, or out of order)"
			                     : "the handshake's previous leg is still being answered";
			found = NULL;
		}
	} else if (free_slot == NULL) {
		*why = "too many Negotiate handshakes in progress";
	} else if (same_host >= NTLM_RELAY_PER_HOST) {
		/* one client cannot hold every slot and lock the others out */
		*why = "too many Negotiate handshakes in progress from this address";
	} else {
		found = free_slot;
		*found = (struct slot){ .handshake = new_number(), .sock = -1, .last = now };
		str_copy(found->rhost, sizeof found->rhost, rhost);
	}
	if (found != NULL)
		found->busy = true;
	pthread_mutex_unlock(&r->lock);
	return found;
}

/* Gives SL back: kept for the next leg when KEEP, else ended. */
static void give_slot(ntlm_relay *r, struct slot *sl, bool keep)
{
	pthread_mutex_lock(&r->lock);
	sl->busy = false;
	sl->last = mono_s();
	if (!keep)
		slot_end(sl);
	pthread_mutex_unlock(&r->lock);
}

/* One leg through SL's process: M out, *OUT back; false with ERR. */
static bool leg(struct slot *sl, const priv_negotiate *m, priv_negotiated *out, void *buf,
                rdms_error *err)
{
	struct pollfd p = { .fd = sl->sock, .events = POLLIN };
	priv_header h;
	size_t n = priv_encode_negotiate(buf, PRIV_MSG_MAX, 1, m);

	if (n == 0 || !priv_send(sl->sock, buf, n, err))
		return n != 0 ? false : rdms_fail(err, WBEM_E_FAILED, "token too long") == 0;
	if (poll(&p, 1, LEG_TIMEOUT_MS) != 1)
		return rdms_fail(err, WBEM_E_FAILED, "rdmsd-ntlm did not answer") == 0;
	if (priv_recv(sl->sock, buf, &n, &h, err) != WBEM_S_NO_ERROR)
		return false;
	if (h.type != PRIV_NEGOTIATED)
		return rdms_fail(err, WBEM_E_FAILED, "rdmsd-ntlm answered %s",
		                 priv_type_name(h.type)) == 0;
	return priv_decode_negotiated((const unsigned char *)buf + PRIV_HEADER_SIZE, h.len, out,
	                              err) == WBEM_S_NO_ERROR;
}

bool ntlm_relay_serve(ntlm_relay *r, int fd, uint32_t id, const void *payload, size_t len,
                      void *buf)
{
	priv_negotiate *m = malloc(sizeof *m);
	priv_negotiated *out = calloc(1, sizeof *out);
	rdms_error err = { 0 };
	struct slot *sl = NULL;
	const char *why = NULL;
	bool ok;

	if (m == NULL || out == NULL) {
		free(m);
		free(out);
		return false;
	}
	if (priv_decode_negotiate(payload, len, m, &err) != WBEM_S_NO_ERROR) {
		priv_done d = { .rc = err.code };

		str_copy(d.error, sizeof d.error, err.message);
		free(m);
		free(out);
		return priv_send(fd, buf, priv_encode_done(buf, PRIV_MSG_MAX, id, &d), &err);
	}
	if (m->token[0] == '\0') {   /* net gives the handshake up: its client went */
		sl = take_slot(r, m->handshake, m->rhost, &why);
		if (sl != NULL)
			give_slot(r, sl, false);
		*out = (priv_negotiated){ .state = PRIV_NEGO_FAILED };
		str_copy(out->error, sizeof out->error, sl != NULL ? "abandoned" : why);
		sl = NULL;
	} else if ((sl = take_slot(r, m->handshake, m->rhost, &why)) == NULL) {
		out->state = PRIV_NEGO_FAILED;
		str_copy(out->error, sizeof out->error, why);
	} else if ((sl->pid == 0 && !spawn(r, sl, &err)) || !leg(sl, m, out, buf, &err)) {
		log_warn("Negotiate: %s", err.message);
		*out = (priv_negotiated){ .state = PRIV_NEGO_FAILED };
		str_copy(out->error, sizeof out->error, "the handshake could not be carried on");
	}
	if (sl != NULL) {
		bool keep = out->state == PRIV_NEGO_CONTINUE;

		out->handshake = keep ? sl->handshake : 0;
		give_slot(r, sl, keep);
	}
	ok = priv_send(fd, buf, priv_encode_negotiated(buf, PRIV_MSG_MAX, id, out), &err);
	if (!ok)
		log_warn("%s", err.message);
	explicit_bzero(m, sizeof *m);
	explicit_bzero(out, sizeof *out);   /* the session's keys, on completion */
	explicit_bzero(buf, PRIV_MSG_MAX);
	free(m);
	free(out);
	return ok;
}
