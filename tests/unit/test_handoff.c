/*
 * test_handoff.c -- what rdmsd hands its network process (handoff.h): one
 * round trip through a pipe, and every kind of handoff net must refuse.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "daemon/handoff.h"

#define NOT_OPEN_FD 1000

/* A sealed handoff whose descriptors are the two ends of an open pipe. */
static void make(net_handoff *h, const int fds[2])
{
	memset(h, 0, sizeof *h);
	net_handoff_seal(h);
	rdms_config_defaults(&h->cfg);
	listen_set_init(&h->sockets);
	for (int i = 0; i < PRIV_CHANNELS; i++)
		h->channels[i] = fds[i % 2];
	h->ready_fd = fds[1];
	h->log_fd = -1;
	h->nbackends = 2;
	strcpy(h->backends[0], "xrdp");
	strcpy(h->backends[1], "x2go");
}

/* Sends SENT through a pipe and receives it into GOT; the receiver's verdict. */
static bool through_pipe(const net_handoff *sent, net_handoff *got, size_t cut, rdms_error *err)
{
	int p[2];
	bool ok;

	if (pipe(p) != 0)
		return false;
	if (cut == 0) {
		CHECK(net_handoff_send(p[1], sent));
	} else {
		CHECK(write(p[1], sent, cut) == (ssize_t)cut);
	}
	close(p[1]);
	ok = net_handoff_receive(p[0], got, err);
	close(p[0]);
	return ok;
}

static void test_round_trip(const int fds[2])
{
	net_handoff h, got;
	rdms_error err = { 0 };
	int list[PRIV_CHANNELS + 2 + LISTEN_KINDS];

	make(&h, fds);
	h.sockets.s[LISTEN_HTTP].fd = fds[0];
	strcpy(h.sockets.s[LISTEN_HTTP].address, "127.0.0.1");
	h.sockets.s[LISTEN_HTTP].port = 5985;
	h.user.drop = true;
	h.user.uid = 999;
	CHECK(through_pipe(&h, &got, 0, &err));
	CHECK(memcmp(&h, &got, sizeof h) == 0);
	CHECK_STR(got.backends[1], "x2go");
	CHECK_EQ(got.sockets.s[LISTEN_HTTP].port, 5985);
	/* the descriptors to keep: 8 channels, ready, one socket (no log) */
	CHECK_EQ(net_handoff_fds(&got, list, sizeof list / sizeof list[0]), PRIV_CHANNELS + 2);
	CHECK_EQ(list[PRIV_CHANNELS + 1], fds[0]);
	/* a short array takes what fits */
	CHECK_EQ(net_handoff_fds(&got, list, 3), 3);
}

static void refused(const net_handoff *h, size_t cut, const char *why)
{
	net_handoff got;
	rdms_error err = { 0 };

	CHECK(!through_pipe(h, &got, cut, &err));
	if (strstr(err.message, why) == NULL)
		fprintf(stderr, "expected \"%s\" in \"%s\"\n", why, err.message);
	CHECK(strstr(err.message, why) != NULL);
}

static void test_refused(const int fds[2])
{
	net_handoff h;

	make(&h, fds);
	refused(&h, 100, "cut short");
	refused(&h, sizeof h - 1, "cut short");

	make(&h, fds);
	h.magic[0] = 'X';
	refused(&h, 0, "not a handoff");

	make(&h, fds);
	strcpy(h.version, "0.0.0-other");
	refused(&h, 0, "different builds");

	make(&h, fds);
	h.size = (uint32_t)sizeof h - 8;
	refused(&h, 0, "different builds");

	/* same version and size, another config layout (a field moved) */
	make(&h, fds);
	h.config_layout ^= 1;
	refused(&h, 0, "different builds");

	make(&h, fds);
	memset(h.version, 'v', sizeof h.version);   /* unterminated */
	refused(&h, 0, "different builds");

	make(&h, fds);
	memset(h.cfg.socket_path, 'a', sizeof h.cfg.socket_path);
	refused(&h, 0, "malformed");

	make(&h, fds);
	h.cfg.https_port = 70000;
	refused(&h, 0, "malformed");

	make(&h, fds);
	h.nbackends = HANDOFF_BACKENDS + 1;
	refused(&h, 0, "malformed");

	make(&h, fds);
	memset(h.backends[1], 'b', sizeof h.backends[1]);
	refused(&h, 0, "malformed");

	make(&h, fds);
	h.sockets.s[LISTEN_UNIX].fd = fds[0];
	memset(h.sockets.s[LISTEN_UNIX].address, 's', sizeof h.sockets.s[LISTEN_UNIX].address);
	refused(&h, 0, "malformed");

	/* a descriptor that is not open (a closed one would be reused by the pipe) */
	CHECK(fcntl(NOT_OPEN_FD, F_GETFD) < 0);
	make(&h, fds);
	h.ready_fd = NOT_OPEN_FD;
	refused(&h, 0, "not open");
	make(&h, fds);
	h.channels[3] = -1;
	refused(&h, 0, "not open");
}

int main(void)
{
	int fds[2];

	if (pipe(fds) != 0)
		return 1;
	test_round_trip(fds);
	test_refused(fds);
	close(fds[0]);
	close(fds[1]);
	return check_summary("handoff");
}
