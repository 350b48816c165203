/*
 * test_fleet_forward.c -- a broker's forwarded calls on kept connections
 * (src/fleet/forward.h, forward_pool.h) against a TLS "host" in this
 * process (OpenSSL, keep-alive HTTP/1.1, a self-signed certificate the
 * broker pins): calls share one connection, each new one checked against
 * the pin; a kept connection the host has closed is replaced and the call
 * works; a request the host read and never answered is never sent again
 * (libcurl would resend it on a new connection: the call would run twice)
 * and gives WBEM_E_TIMED_OUT; a host gone, with a connection to it kept,
 * gives WBEM_E_TRANSPORT_FAILURE at once.  The broker against real rdmsd
 * hosts, killed and cut off, is tests/e2e/test_fleet_broker.py.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "check.h"
#include "fleet_certs.h"
#include "fleet/broker.h"
#include "fleet/forward.h"
#include "ops/provider.h"

enum mode { ANSWER, DROP, STALL };

/* The "host": one connection at a time, each request answered (or dropped). */
struct server {
	int             fd;
	SSL_CTX        *ctx;
	pthread_mutex_t lock;
	enum mode       mode;
	int             accepted, requests;
	int             cur;          /* the connection being served, -1 */
	int             close_after;  /* requests answered on a connection before closing it */
	volatile int    stop;
	volatile int    stalled;      /* STALL: a connection is not being read */
	volatile int    resume;       /* STALL: read again now */
	int             late;         /* STALL: whole requests read after resuming */
	int             handshake_delay_ms;   /* waited after accept, before the TLS handshake */
};

/* Reads one whole request (headers and Content-Length body); false at EOF. */
static bool read_request(SSL *ssl)
{
	static _Thread_local char buf[131072];   /* a SendMessage of 60,000 bytes fits */
	size_t have = 0;
	const char *end = NULL;

	for (;;) {
		int n = SSL_read(ssl, buf + have, (int)(sizeof buf - 1 - have));
		const char *cl;

		if (n <= 0)
			return false;
		have += (size_t)n;
		buf[have] = '\0';
		if (end == NULL)
			end = strstr(buf, "\r\n\r\n");
		cl = strcasestr(buf, "Content-Length:");
		if (end != NULL && cl != NULL &&
		    have >= (size_t)(end + 4 - buf) + strtoul(cl + 15, NULL, 10))
			return true;
		if (have == sizeof buf - 1)
			return false;
	}
}

static int count(struct server *s, const int *what)
{
	int n;

	pthread_mutex_lock(&s->lock);
	n = *what;
	pthread_mutex_unlock(&s->lock);
	return n;
}

static void *serve(void *arg)
{
	struct server *s = arg;
	static const char body[] =
		"<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\"><s:Header/><s:Body>"
		"<p:Disconnect_OUTPUT xmlns:p=\"http://schemas.microsoft.com/wbem/wsman/1/wmi/"
		"root/cimv2/rdms/Win32_VirtualDesktopSession\"><p:ReturnValue>0</p:ReturnValue>"
		"</p:Disconnect_OUTPUT></s:Body></s:Envelope>";
	char reply[1024];
	int len = snprintf(reply, sizeof reply, "HTTP/1.1 200 OK\r\nContent-Type: application/"
	                   "soap+xml;charset=UTF-8\r\nContent-Length: %zu\r\n\r\n%s",
	                   sizeof body - 1, body);

	while (!s->stop) {
		int c = accept(s->fd, NULL, NULL);
		SSL *ssl;
		int answered = 0, delay_ms;

		if (c < 0)
			break;
		ssl = SSL_new(s->ctx);
		SSL_set_fd(ssl, c);
		pthread_mutex_lock(&s->lock);
		s->accepted++;
		s->cur = c;
		pthread_mutex_unlock(&s->lock);
		delay_ms = count(s, &s->handshake_delay_ms);
		if (delay_ms > 0) {
			int off = 0;

			usleep((useconds_t)delay_ms * 1000);
			if (SSL_accept(ssl) != 1)
				goto next;
			/* as a busy host: its ACK delayed, its reply a while later */
			setsockopt(c, IPPROTO_TCP, TCP_QUICKACK, &off, sizeof off);
			usleep(300 * 1000);
		} else if (SSL_accept(ssl) != 1)
			goto next;
		if (count(s, (const int *)&s->mode) == STALL) {
			/* as a host cut off: nothing read (its window fills), then, back, whatever came */
			s->stalled = 1;
			while (!s->resume)
				usleep(10 * 1000);
			if (read_request(ssl)) {
				pthread_mutex_lock(&s->lock);
				s->late++;
				pthread_mutex_unlock(&s->lock);
			}
		} else
			while (read_request(ssl)) {
				enum mode m;

				pthread_mutex_lock(&s->lock);
				s->requests++;
				m = s->mode;
				pthread_mutex_unlock(&s->lock);
				if (m == DROP || SSL_write(ssl, reply, len) != len ||
				    ++answered == s->close_after)
					break;
			}
next:
		SSL_free(ssl);
		pthread_mutex_lock(&s->lock);
		s->cur = -1;
		pthread_mutex_unlock(&s->lock);
		close(c);
	}
	return NULL;
}

/*
 * Two brokers on one directory (broker.c): a method call forwarded by one
 * is claimed by its MessageID; the same MessageID through the other gets
 * the first outcome and reaches the host no second time; a call whose
 * first try reached nothing (refused) is sent by the retry; one pending
 * elsewhere is "unknown" (WBEM_E_TIMED_OUT), not run.
 */
static void two_brokers(fleet_pool *pool, const char *url, const uint8_t pin[32],
                        struct server *s)
{
	char dir[] = "/tmp/test_fleet_forward.XXXXXX", path[96], cmd[128];
	rdms_config cfg1, cfg2;
	fleet_broker b1 = { .cfg = &cfg1, .pool = pool }, b2 = { .cfg = &cfg2, .pool = pool };
	rdms_provider p1 = { .classes = fleet_broker_classes, .fleet = &b1 };
	rdms_provider p2 = { .classes = fleet_broker_classes, .fleet = &b2 };
	const rdms_class_provider *cls = fleet_broker_classes[0];
	rdms_caller who = { .user = "admin", .is_admin = true, .protocol = "wsman",
	                    .source = "127.0.0.1", .message_id = "uuid:two-brokers-1" };
	char key_host[] = "VMHostName", key_id[] = "SessionId", class_name[] =
		"Win32_VirtualDesktopSession";
	cim_keybinding keys[2] = { { key_host, cim_string("hv001") }, { key_id, cim_u32(7) } };
	cim_path path7 = { .class_name = class_name, .nkeys = 2, .keys = keys };
	const cim_method *m = cim_class_method(rdms_session_class(), "Disconnect");
	fleet_session sess = { .host = "hv001", .id = 7, .connect_state = 0, .user_name = "u" };
	fleet_host h = { .name = "hv001" };
	fleet_call_seen seen;
	rdms_error err = { 0 };
	uint32_t rv = 9;
	int before;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof path, "%s/fleet.db", dir);
	rdms_config_defaults(&cfg1);
	rdms_config_defaults(&cfg2);
	snprintf(cfg1.broker_name, sizeof cfg1.broker_name, "b1");
	snprintf(cfg2.broker_name, sizeof cfg2.broker_name, "b2");
	cfg1.forward_timeout_s = cfg2.forward_timeout_s = 2;
	b1.store = b2.store = fleet_store_open_sqlite(path, &err);
	CHECK(b1.store != NULL);
	if (b1.store == NULL)
		return;
	snprintf(h.url, sizeof h.url, "%s", url);
	memcpy(h.cert_sha256, pin, 32);
	CHECK_EQ(fleet_store_host_add(b1.store, &h, &err), 0);
	CHECK_EQ(fleet_store_apply_snapshot(b1.store, "hv001", fleet_version(1, 1), &sess, 1, &err),
	         FLEET_APPLIED);

	/* b1 forwards it; the retry through b2 answers b1's outcome, the host sees one request */
	before = count(s, &s->requests);
	CHECK_EQ(cls->invoke(&p1, &who, &path7, "t", m, NULL, NULL, &rv, &err), 0);
	CHECK_EQ(rv, 0);
	CHECK_EQ(count(s, &s->requests), before + 1);
	rv = 9;
	CHECK_EQ(cls->invoke(&p2, &who, &path7, "t", m, NULL, NULL, &rv, &err), 0);
	CHECK_EQ(rv, 0);
	CHECK_EQ(count(s, &s->requests), before + 1);
	CHECK_EQ(fleet_store_call_get(b1.store, "admin", "uuid:two-brokers-1", &seen, &err), 0);
	CHECK_EQ(seen.state, FLEET_CALL_DONE);
	CHECK_STR(seen.broker, "b1");
	/* the same MessageID for a Logoff: refused, nothing sent */
	CHECK_EQ(cls->invoke(&p2, &who, &path7, "t", cim_class_method(rdms_session_class(), "Logoff"),
	                     NULL, NULL, &rv, &err), WBEM_E_INVALID_PARAMETER);
	CHECK_EQ(count(s, &s->requests), before + 1);

	/* pending at b1 (as if b1 forwarded it still, or died): b2 says unknown, sends nothing */
	{
		fleet_call c = { .caller = "admin", .message_id = "uuid:two-brokers-2", .broker = "b1",
		                 .holder = "pid 1 on far-away since 1", .host = "hv001",
		                 .session_id = 7, .method = "Disconnect" };
		bool claimed = false;

		CHECK_EQ(fleet_store_call_claim(b1.store, &c, &claimed, &seen, &err), 0);
		who.message_id = "uuid:two-brokers-2";
		CHECK_EQ(cls->invoke(&p2, &who, &path7, "t", m, NULL, NULL, &rv, &err),
		         WBEM_E_TIMED_OUT);
		CHECK(strstr(err.message, "its outcome is not known yet: it is not run again") != NULL);
		CHECK_EQ(count(s, &s->requests), before + 1);
	}

	/* a first try that reached nothing (the host's URL refuses): the retry runs it, once */
	{
		fleet_host moved = h;

		who.message_id = "uuid:two-brokers-3";
		CHECK_EQ(fleet_store_host_remove(b1.store, "hv001", &err), 0);
		snprintf(moved.url, sizeof moved.url, "https://127.0.0.1:1/wsman");
		CHECK_EQ(fleet_store_host_add(b1.store, &moved, &err), 0);
		CHECK_EQ(fleet_store_apply_snapshot(b1.store, "hv001", fleet_version(1, 1), &sess, 1,
		                                    &err), FLEET_APPLIED);
		CHECK_EQ(cls->invoke(&p1, &who, &path7, "t", m, NULL, NULL, &rv, &err),
		         WBEM_E_TRANSPORT_FAILURE);
		CHECK_EQ(fleet_store_call_get(b1.store, "admin", "uuid:two-brokers-3", &seen, &err), 0);
		CHECK_EQ(seen.state, FLEET_CALL_REFUSED);
		CHECK_EQ(fleet_store_host_remove(b1.store, "hv001", &err), 0);
		CHECK_EQ(fleet_store_host_add(b1.store, &h, &err), 0);
		CHECK_EQ(fleet_store_apply_snapshot(b1.store, "hv001", fleet_version(1, 1), &sess, 1,
		                                    &err), FLEET_APPLIED);
		CHECK_EQ(cls->invoke(&p2, &who, &path7, "t", m, NULL, NULL, &rv, &err), 0);
		CHECK_EQ(count(s, &s->requests), before + 2);
		CHECK_EQ(fleet_store_call_get(b1.store, "admin", "uuid:two-brokers-3", &seen, &err), 0);
		CHECK_EQ(seen.state, FLEET_CALL_DONE);
		CHECK_STR(seen.broker, "b2");
	}
	fleet_store_close(b1.store);
	cim_value_clear(&keys[0].value);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	CHECK(system(cmd) == 0);
}

static long ms_now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* A kept connection to host N (no transfer: the pool's bookkeeping alone). */
static fleet_conn *conn_to(int n, const fleet_identity *id)
{
	fleet_conn *c = calloc(1, sizeof *c);
	char url[64];

	snprintf(url, sizeof url, "https://198.18.%d.%d:5986/wsman", n / 250, n % 250 + 1);
	c->url = strdup(url);
	c->id = id;
	memset(c->pin.sha256, n & 0xff, sizeof c->pin.sha256);
	return c;
}

/*
 * The idle cap follows the registered hosts (fleet_pool_size_for): with
 * calls spread round-robin over 100 hosts, a connection to each is kept,
 * so the next call to any of them reuses one -- with the old fixed cap of
 * 64 the oldest 36 were closed, and their next calls each paid a new
 * mutual-TLS handshake.  Bounded both ways; fewer hosts shrink it at once.
 */
static void pool_sized_for_hosts(const fleet_identity *id)
{
	fleet_pool *pool = fleet_pool_new(id, 60000);
	rdms_error err = { 0 };
	bool pooled = false;
	int reused = 0;

	CHECK(pool != NULL);
	if (pool == NULL)
		return;
	CHECK_EQ(fleet_pool_max(pool), FLEET_POOL_MAX);
	fleet_pool_size_for(pool, 10);
	CHECK_EQ(fleet_pool_max(pool), FLEET_POOL_MAX);
	fleet_pool_size_for(pool, 100000);
	CHECK_EQ(fleet_pool_max(pool), FLEET_POOL_CEILING);
	fleet_pool_size_for(pool, 100);
	CHECK_EQ(fleet_pool_max(pool), 100 + FLEET_POOL_PER_HOST);
	for (int round = 0; round < 2; round++)
		for (int n = 0; n < 100; n++) {
			fleet_conn *c = conn_to(n, id), *kept;

			kept = fleet_pool_take(pool, c->url, c->pin.sha256, false, 800, &pooled, &err);
			if (kept != NULL && pooled) {
				reused++;
				fleet_conn_free(c);
				c = kept;
			} else {
				fleet_conn_free(kept);    /* a new one (no transfer made): ours instead */
			}
			fleet_pool_give(pool, c);
		}
	CHECK_EQ(reused, 100);                 /* every call of the second round */
	CHECK_EQ(fleet_pool_idle(pool), 100);
	fleet_pool_size_for(pool, 0);          /* hosts removed: the oldest go */
	CHECK_EQ(fleet_pool_idle(pool), FLEET_POOL_MAX);
	fleet_pool_free(pool);
}

int main(void)
{
	EVP_PKEY *host_key = NULL, *broker_key = NULL, *other_key = NULL;
	X509 *host = self_signed("hv001", &host_key);
	X509 *broker = self_signed("broker1", &broker_key);
	X509 *other = self_signed("hv001", &other_key);
	fleet_identity id = { pem_of(broker, NULL), pem_of(NULL, broker_key) };
	uint8_t pin[32], wrong[32];
	unsigned len = 0;
	struct server s = { .fd = socket(AF_INET, SOCK_STREAM, 0), .close_after = 2,
	                   .cur = -1 };
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof a;
	rdms_caller who = { .user = "admin", .is_admin = true, .protocol = "wsman",
	                    .source = "127.0.0.1", .message_id = "uuid:5e1c-0001" };
	char url[64];
	fleet_forward_call call = {
		.url = url, .pin = pin, .host = "hv001", .session_id = 7, .who = &who,
		.broker = "broker1", .timeout_ms = 5000,
		.m = cim_class_method(rdms_session_class(), "Disconnect"),
	};
	fleet_pool *pool;
	pthread_t t;
	rdms_error err = { 0 };
	uint32_t rv = 1;
	long t0;

	signal(SIGPIPE, SIG_IGN);     /* as rdmsd: a peer gone is an error, not a signal */
	CHECK(call.m != NULL);
	CHECK(X509_digest(host, EVP_sha256(), pin, &len) == 1 && len == 32);
	CHECK(X509_digest(other, EVP_sha256(), wrong, &len) == 1 && len == 32);
	CHECK(curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK);
	s.ctx = SSL_CTX_new(TLS_server_method());
	CHECK(SSL_CTX_use_certificate(s.ctx, host) == 1 && SSL_CTX_use_PrivateKey(s.ctx, host_key) == 1);
	CHECK(bind(s.fd, (struct sockaddr *)&a, sizeof a) == 0 && listen(s.fd, 4) == 0);
	CHECK(getsockname(s.fd, (struct sockaddr *)&a, &alen) == 0);
	snprintf(url, sizeof url, "https://127.0.0.1:%d/wsman", ntohs(a.sin_port));
	pthread_mutex_init(&s.lock, NULL);
	pthread_create(&t, NULL, serve, &s);
	pool = fleet_pool_new(&id, 60000);
	CHECK(pool != NULL);
	/*
	 * Both TLS ends of the first handshake run under valgrind there: on a
	 * busy machine that took more than the 1 s a connection may take
	 * (CI: every call then failed with WBEM_E_TRANSPORT_FAILURE).
	 */
	if (pool != NULL && getenv("RDMS_TEST_VALGRIND") != NULL)
		fleet_pool_set_connect_timeout(pool, 15000);

	pool_sized_for_hosts(&id);

	/* two calls, one connection: the second on the kept one */
	CHECK_EQ(fleet_forward(pool, &call, &rv, &err), WBEM_S_NO_ERROR);
	if (err.code != 0)
		fprintf(stderr, "the first call: %s\n", err.message);
	CHECK_EQ(rv, 0);
	CHECK_EQ(fleet_pool_idle(pool), 1);
	CHECK_EQ(fleet_forward(pool, &call, &rv, &err), WBEM_S_NO_ERROR);
	CHECK_EQ(count(&s, &s.accepted), 1);
	CHECK_EQ(count(&s, &s.requests), 2);

	/* the host closed that connection (after its second answer): a new one, the call works */
	usleep(100 * 1000);
	s.close_after = 1;        /* this one too, so that the next can be accepted */
	CHECK_EQ(fleet_forward(pool, &call, &rv, &err), WBEM_S_NO_ERROR);
	CHECK_EQ(count(&s, &s.accepted), 2);
	CHECK_EQ(count(&s, &s.requests), 3);

	/* another pin: not the kept connection; refused in the handshake, nothing sent */
	call.pin = wrong;
	CHECK_EQ(fleet_forward(pool, &call, &rv, &err), WBEM_E_TRANSPORT_FAILURE);
	CHECK(strstr(err.message, "certificate other") != NULL);
	CHECK_EQ(count(&s, &s.requests), 3);
	call.pin = pin;
	while (count(&s, &s.accepted) < 3)     /* the refused handshake's connection ended */
		usleep(10 * 1000);

	/*
	 * The host reads the request on a kept connection and closes it without
	 * an answer: the outcome is unknown, and the request went to it once --
	 * libcurl, on a reused connection that answered nothing, would send it
	 * again on a new one.
	 */
	s.close_after = 100;
	CHECK_EQ(fleet_forward(pool, &call, &rv, &err), WBEM_S_NO_ERROR);
	CHECK_EQ(count(&s, &s.requests), 4);
	pthread_mutex_lock(&s.lock);
	s.mode = DROP;
	pthread_mutex_unlock(&s.lock);
	CHECK_EQ(fleet_forward(pool, &call, &rv, &err), WBEM_E_TIMED_OUT);
	usleep(200 * 1000);
	CHECK_EQ(count(&s, &s.requests), 5);
	CHECK_EQ(fleet_pool_idle(pool), 0);

	/*
	 * A host whose TCP stops acknowledging (a partition; here a full window:
	 * the host reads nothing): WBEM_E_TRANSPORT_FAILURE, "it did not get
	 * it" -- and it must not get it later either, when it reads again: the
	 * connection was reset, its queued request dropped.  A SendMessage of
	 * 60,000 bytes, more than the host's small receive buffer takes.
	 */
	{
		static char big[60001];
		const char *args[2] = { "title", big };
		fleet_forward_call sm = call;
		int small = 1;   /* the kernel's least */

		memset(big, 'm', sizeof big - 1);
		sm.m = cim_class_method(rdms_session_class(), "SendMessage");
		sm.args = args;
		sm.who = &(rdms_caller){ .user = "admin", .is_admin = true, .protocol = "wsman",
		                         .source = "127.0.0.1", .message_id = "uuid:5e1c-0002" };
		CHECK(sm.m != NULL);
		pthread_mutex_lock(&s.lock);
		s.mode = STALL;
		pthread_mutex_unlock(&s.lock);
		setsockopt(s.fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
		t0 = ms_now();
		CHECK_EQ(fleet_forward(pool, &sm, &rv, &err), WBEM_E_TRANSPORT_FAILURE);
		CHECK(strstr(err.message, "did not acknowledge") != NULL);
		CHECK(ms_now() - t0 < 2500);
		CHECK(s.stalled);
		s.resume = 1;
		usleep(500 * 1000);
		CHECK_EQ(count(&s, &s.late), 0);   /* never arrived whole: not run */
		pthread_mutex_lock(&s.lock);
		s.mode = ANSWER;
		pthread_mutex_unlock(&s.lock);
	}

	/*
	 * A new connection whose TLS handshake takes longer than the ack
	 * timeout (a loaded host; valgrind in CI): the request goes out after
	 * it and is acknowledged at once, so the call is answered.  The ack
	 * clock starts when the request goes out -- from the transfer's start,
	 * the request's first unacknowledged moment looked 800 ms old
	 * (CI: "did not acknowledge the request within 800 ms").
	 */
	{
		long connect_ms = getenv("RDMS_TEST_VALGRIND") != NULL ? 15000 : 5000;
		int before = count(&s, &s.requests);

		pthread_mutex_lock(&s.lock);
		s.handshake_delay_ms = FLEET_ACK_TIMEOUT_MS + 400;
		pthread_mutex_unlock(&s.lock);
		for (int i = 0; i < 3; i++) {
			/* a new connection each call; the wait is within its connect timeout */
			fleet_pool *fresh = fleet_pool_new(&id, 60000);

			CHECK(fresh != NULL);
			if (fresh == NULL)
				break;
			fleet_pool_set_connect_timeout(fresh, connect_ms);
			rv = 1;
			err = (rdms_error){ 0 };
			CHECK_EQ(fleet_forward(fresh, &call, &rv, &err), WBEM_S_NO_ERROR);
			if (err.code != 0)
				fprintf(stderr, "a slow handshake: %s\n", err.message);
			CHECK_EQ(rv, 0);
			fleet_pool_free(fresh);
		}
		CHECK_EQ(count(&s, &s.requests), before + 3);
		pthread_mutex_lock(&s.lock);
		s.handshake_delay_ms = 0;
		pthread_mutex_unlock(&s.lock);
	}

	/* a kept connection, then the host gone: TRANSPORT_FAILURE at once, nothing sent */
	pthread_mutex_lock(&s.lock);
	s.mode = ANSWER;
	pthread_mutex_unlock(&s.lock);
	two_brokers(pool, url, pin, &s);
	CHECK_EQ(fleet_forward(pool, &call, &rv, &err), WBEM_S_NO_ERROR);
	CHECK_EQ(fleet_pool_idle(pool), 1);
	s.stop = 1;               /* as a killed host's kernel: every socket closed */
	pthread_mutex_lock(&s.lock);
	if (s.cur >= 0)
		shutdown(s.cur, SHUT_RDWR);
	pthread_mutex_unlock(&s.lock);
	shutdown(s.fd, SHUT_RDWR);
	pthread_join(t, NULL);
	close(s.fd);
	t0 = ms_now();
	CHECK_EQ(fleet_forward(pool, &call, &rv, &err), WBEM_E_TRANSPORT_FAILURE);
	CHECK(ms_now() - t0 < 2000);
	CHECK(strstr(err.message, "nothing was sent") != NULL);

	fleet_pool_free(pool);
	SSL_CTX_free(s.ctx);
	X509_free(host);
	X509_free(broker);
	X509_free(other);
	EVP_PKEY_free(host_key);
	EVP_PKEY_free(broker_key);
	EVP_PKEY_free(other_key);
	fleet_identity_clear(&id);
	pthread_mutex_destroy(&s.lock);
	curl_global_cleanup();
	return check_summary("fleet_forward");
}
