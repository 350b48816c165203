/*
 * test_fleet_tls.c -- a broker's TLS to its hosts (src/fleet/host_tls.h)
 * against a TLS server in this process (OpenSSL, a self-signed
 * certificate made here, as a host makes its own): the pinned certificate
 * is accepted and any other refused before a byte of the request is sent,
 * and no CA file is read for it -- the pin decides alone, and libcurl
 * would otherwise parse the system's whole CA bundle for every connection
 * (bench/fleet: tens of milliseconds of CPU per forwarded call).  The
 * broker against real rdmsd hosts is tests/e2e/test_fleet_broker.py.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "check.h"
#include "fleet_certs.h"
#include "fleet/host_tls.h"

/* The "host": one TLS connection accepted and answered with 200, or refused by the client. */
struct server {
	int      fd;
	SSL_CTX *ctx;
	int      requests;     /* requests that reached it */
};

static void *serve_one(void *arg)
{
	struct server *s = arg;
	int c = accept(s->fd, NULL, NULL);
	SSL *ssl = c >= 0 ? SSL_new(s->ctx) : NULL;
	char buf[4096];

	if (ssl != NULL && SSL_set_fd(ssl, c) == 1 && SSL_accept(ssl) == 1) {
		int n = SSL_read(ssl, buf, sizeof buf - 1);
		static const char reply[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
		                            "Connection: close\r\n\r\nok";

		if (n > 0) {
			s->requests++;
			SSL_write(ssl, reply, (int)sizeof reply - 1);
		}
		SSL_shutdown(ssl);
	}
	SSL_free(ssl);
	if (c >= 0)
		close(c);
	return NULL;
}

static size_t discard(char *data, size_t size, size_t n, void *ctx)
{
	(void)data;
	(void)ctx;
	return size * n;
}

/*
 * One GET of the server on PORT through a handle set up by fleet_tls_setup
 * for ID and PIN, after CA_FILE (NULL: libcurl's default) was set as its
 * CA bundle; libcurl's result.
 */
static CURLcode get(struct server *s, int port, const fleet_identity *id, fleet_pin *pin,
                    const char *ca_file)
{
	CURL *h = curl_easy_init();
	char url[64];
	pthread_t t;
	CURLcode rc;

	snprintf(url, sizeof url, "https://127.0.0.1:%d/wsman", port);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 10L);
	if (ca_file != NULL)
		curl_easy_setopt(h, CURLOPT_CAINFO, ca_file);
	CHECK(fleet_tls_setup(h, id, pin));
	pthread_create(&t, NULL, serve_one, s);
	rc = curl_easy_perform(h);
	pthread_join(t, NULL);
	curl_easy_cleanup(h);
	return rc;
}

int main(void)
{
	EVP_PKEY *host_key = NULL, *broker_key = NULL, *other_key = NULL;
	X509 *host = self_signed("hv001", &host_key);
	X509 *broker = self_signed("broker1", &broker_key);
	X509 *other = self_signed("hv001", &other_key);     /* same name, another key */
	fleet_identity id = { pem_of(broker, NULL), pem_of(NULL, broker_key) };
	fleet_pin pin = { .mismatch = false }, wrong = { .mismatch = false };
	struct server s = { .fd = socket(AF_INET, SOCK_STREAM, 0) };
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof a;
	unsigned len = 0;

	CHECK(host != NULL && broker != NULL && other != NULL);
	CHECK(X509_digest(host, EVP_sha256(), pin.sha256, &len) == 1 && len == 32);
	CHECK(X509_digest(other, EVP_sha256(), wrong.sha256, &len) == 1 && len == 32);
	CHECK(curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK);
	s.ctx = SSL_CTX_new(TLS_server_method());
	CHECK(SSL_CTX_use_certificate(s.ctx, host) == 1 && SSL_CTX_use_PrivateKey(s.ctx, host_key) == 1);
	CHECK(bind(s.fd, (struct sockaddr *)&a, sizeof a) == 0 && listen(s.fd, 4) == 0);
	CHECK(getsockname(s.fd, (struct sockaddr *)&a, &alen) == 0);

	/* the pinned certificate, self-signed: accepted, the request sent */
	CHECK_EQ(get(&s, ntohs(a.sin_port), &id, &pin, NULL), CURLE_OK);
	CHECK(!pin.mismatch);
	CHECK_EQ(s.requests, 1);
	/* another certificate of the same name: refused in the handshake, nothing sent */
	CHECK(get(&s, ntohs(a.sin_port), &id, &wrong, NULL) != CURLE_OK);
	CHECK(wrong.mismatch);
	CHECK_EQ(s.requests, 1);
	/*
	 * No CA file is read: a handle whose CA bundle cannot be read still
	 * connects (libcurl fails with CURLE_SSL_CACERT_BADFILE when it loads
	 * one it cannot read, as it loads the system's for every connection
	 * unless told not to).
	 */
	pin.mismatch = false;
	CHECK_EQ(get(&s, ntohs(a.sin_port), &id, &pin, "/nonexistent/rdms-ca.pem"), CURLE_OK);
	CHECK(!pin.mismatch);
	CHECK_EQ(s.requests, 2);

	close(s.fd);
	SSL_CTX_free(s.ctx);
	X509_free(host);
	X509_free(broker);
	X509_free(other);
	EVP_PKEY_free(host_key);
	EVP_PKEY_free(broker_key);
	EVP_PKEY_free(other_key);
	fleet_identity_clear(&id);
	curl_global_cleanup();
	return check_summary("fleet_tls");
}
