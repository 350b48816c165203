/*
 * http_floor.c -- the transport floor for bench/wsman_bench.sh: what the
 * HTTP server rdmsd is built on gives on this machine when it does no work.
 *
 *   http_floor PORT REPLY_FILE
 *
 * Serves 127.0.0.1:PORT with libmicrohttpd, a thread per connection (the
 * fastest of its modes for a few busy connections; rdmsd itself now serves
 * on a fixed pool with epoll, which costs the same at 8 connections and
 * holds thousands of idle ones), with rdmsd's default connection limits, and
 * answers every request, once its body is read, with REPLY_FILE's bytes as
 * application/soap+xml: the benchmark hands it rdmsd's own Get reply, so
 * request, reply and client are the same and only rdmsd's work is missing.
 * Runs until SIGTERM or SIGINT.
 *
 * The benchmark also hands it rdmsd's reply to an enumeration of every
 * session (megabytes): the floor for large replies, what sending those
 * bytes costs with no work behind them.
 *
 * Why it exists: rdmsd's Get figures are bounded by the loopback round trip
 * and by the load generator sharing the machine's CPUs.  How far they are
 * from that bound says more than the raw figure, which moves with the host
 * (on this project's 2-CPU VMs a do-nothing server has measured anywhere
 * from 45,000 to 65,000 requests/s on 8 connections).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <unistd.h>

#include <microhttpd.h>

/* Big enough for an enumeration of every session in one reply. */
#define REPLY_MAX (256L * 1024 * 1024)

static struct MHD_Response *reply;
static int body_marker;    /* con_cls once the headers are in */

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *data, size_t *size, void **con_cls)
{
	(void)cls;
	(void)url;
	(void)method;
	(void)version;
	(void)data;
	if (*con_cls == NULL) {
		*con_cls = &body_marker;
		return MHD_YES;
	}
	if (*size != 0) {
		*size = 0;          /* read and dropped, as rdmsd would copy it */
		return MHD_YES;
	}
	return MHD_queue_response(c, MHD_HTTP_OK, reply);
}

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/* REPLY_FILE's contents, malloc'd, in *OUT; its length or -1. */
static long read_reply(const char *path, char **out)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n = -1;

	if (f == NULL) {
		fprintf(stderr, "http_floor: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 && n < REPLY_MAX &&
	    fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)n)) != NULL &&
	    fread(buf, 1, (size_t)n, f) == (size_t)n) {
		fclose(f);
		*out = buf;
		return n;
	}
	fclose(f);
	free(buf);
	fprintf(stderr, "http_floor: %s: unreadable, empty, or larger than %ld bytes\n", path,
	        REPLY_MAX);
	return -1;
}

int main(int argc, char **argv)
{
	char *body = NULL;
	struct sockaddr_in addr = { .sin_family = AF_INET };
	struct MHD_Daemon *d;
	char *end;
	unsigned long port;
	long len;

	if (argc != 3) {
		fprintf(stderr, "usage: http_floor PORT REPLY_FILE\n");
		return 2;
	}
	port = strtoul(argv[1], &end, 10);
	if (*argv[1] == '\0' || *end != '\0' || port == 0 || port > 65535) {
		fprintf(stderr, "http_floor: bad port '%s'\n", argv[1]);
		return 2;
	}
	if ((len = read_reply(argv[2], &body)) < 0)
		return 1;
	reply = MHD_create_response_from_buffer((size_t)len, body, MHD_RESPMEM_MUST_FREE);
	if (reply == NULL ||
	    MHD_add_response_header(reply, MHD_HTTP_HEADER_CONTENT_TYPE,
	                            "application/soap+xml;charset=UTF-8") != MHD_YES) {
		fprintf(stderr, "http_floor: cannot make the reply\n");
		if (reply == NULL)
			free(body);
		else
			MHD_destroy_response(reply);
		return 1;
	}
	addr.sin_port = htons((uint16_t)port);
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	/* rdmsd's flags and limits (src/transport/http.c, rdmsd.conf(5) defaults). */
	d = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
	                     MHD_USE_POLL | MHD_USE_ITC | MHD_USE_ERROR_LOG,
	                     (uint16_t)port, NULL, NULL, on_request, NULL,
	                     MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
	                     MHD_OPTION_CONNECTION_LIMIT, 128u,
	                     MHD_OPTION_CONNECTION_TIMEOUT, 60u,
	                     MHD_OPTION_END);
	if (d == NULL) {
		fprintf(stderr, "http_floor: cannot serve 127.0.0.1:%lu\n", port);
		MHD_destroy_response(reply);
		return 1;
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	while (!stop)
		pause();
	MHD_stop_daemon(d);
	MHD_destroy_response(reply);
	return 0;
}
