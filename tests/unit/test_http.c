/*
 * test_http.c -- the transport (src/transport/http.c) with test endpoints,
 * over real sockets: a connection costs no thread, held requests (http_hold)
 * are answered from another thread or cleaned up when their client leaves
 * or the transport stops, a failed login is answered only after its delay
 * without a thread sleeping for it, and a slow client is still cut at its
 * request deadline.  PAM is a fake verifier (pam_auth_set_verifier); the
 * Unix socket identifies the caller by its uid, as in rdmsd.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <netinet/in.h>

#include "../../src/transport/http.h"
#include "check.h"

#define HELD_MANY   1000
#define FAIL_DELAY  400      /* ms */
#define FAILERS     (2 * TRANSPORT_WORKERS)
#define GOOD_AUTH   "Authorization: Basic dXNlcjpnb29k\r\n"     /* user:good */
#define BAD_AUTH    "Authorization: Basic dXNlcjpiYWQ=\r\n"     /* user:bad */

/* ---- the test endpoints ------------------------------------------------------ */

static pthread_mutex_t held_lock = PTHREAD_MUTEX_INITIALIZER;
static http_held *held[HELD_MANY + 16];
static int nheld;
static atomic_int handled_on_io;     /* quick requests served */

static void reply_text(http_reply *out, const char *text)
{
	out->status = 200;
	out->body = strdup(text);
	out->len = strlen(text);
	out->content_type = "text/plain";
}

static bool always_quick(void *ctx, const http_request *req)
{
	(void)ctx;
	(void)req;
	return true;
}

/* /echo: answered at once. */
static void serve_echo(void *ctx, const rdms_caller *who, const http_request *req,
                       http_reply *out)
{
	(void)ctx;
	(void)req;
	atomic_fetch_add(&handled_on_io, 1);
	reply_text(out, who != NULL ? who->user : "anonymous");
}

/* /hold: held until the test completes it. */
static void serve_hold(void *ctx, const rdms_caller *who, const http_request *req,
                       http_reply *out)
{
	http_held *h = http_hold(req);

	(void)ctx;
	(void)who;
	if (h == NULL) {
		reply_text(out, "not held");
		return;
	}
	reply_text(out, "ignored");   /* a held request's OUT is dropped */
	pthread_mutex_lock(&held_lock);
	held[nheld++] = h;
	pthread_mutex_unlock(&held_lock);
}

/* /early: held, and completed before its handler returns. */
static void serve_early(void *ctx, const rdms_caller *who, const http_request *req,
                        http_reply *out)
{
	http_held *h = http_hold(req);
	http_reply r = { 0 };

	(void)ctx;
	(void)who;
	(void)out;
	reply_text(&r, "early");
	CHECK(h != NULL && http_held_complete(h, &r));
}

/*
 * /stream: a reply written while it is sent, as an enumeration is: a head,
 * then STREAM_PIECES pieces of numbered lines.  Each piece records the room
 * the transport gave it.
 */
#define STREAM_PIECES 8

struct lines {
	int    pieces;
	size_t next_line;
};

static atomic_size_t piece_room;     /* the most a piece was given */
static atomic_int streams_done;

static body_stream_rc lines_next(void *ctx, strbuf *b)
{
	struct lines *g = ctx;
	size_t room = b->cap, seen = atomic_load(&piece_room);

	while (room > seen && !atomic_compare_exchange_weak(&piece_room, &seen, room))
		;
	while (b->len < BODY_STREAM_PIECE && !b->failed)
		strbuf_printf(b, "line %zu\n", g->next_line++);
	return --g->pieces > 0 ? BODY_STREAM_MORE : BODY_STREAM_END;
}

static void lines_done(void *ctx)
{
	free(ctx);
	atomic_fetch_add(&streams_done, 1);
}

static void serve_stream(void *ctx, const rdms_caller *who, const http_request *req,
                         http_reply *out)
{
	struct lines *g = calloc(1, sizeof *g);

	(void)ctx;
	(void)who;
	(void)req;
	reply_text(out, "head\n");
	if (g == NULL)
		return;
	g->pieces = STREAM_PIECES;
	out->stream = (body_stream){ .next = lines_next, .done = lines_done, .ctx = g };
}

static const char *const test_types[] = { "application/test", NULL };

static const http_endpoint endpoints[] = {
	{ .path = "/echo", .protocol = "wsman", .media_types = test_types,
	  .quick = always_quick, .handle = serve_echo },
	{ .path = "/hold", .protocol = "wsman", .media_types = test_types, .handle = serve_hold },
	{ .path = "/qhold", .protocol = "wsman", .media_types = test_types,
	  .quick = always_quick, .handle = serve_hold },
	{ .path = "/early", .protocol = "wsman", .media_types = test_types, .handle = serve_early },
	{ .path = "/stream", .protocol = "wsman", .media_types = test_types,
	  .handle = serve_stream },
};

static uint32_t fake_verify(void *ctx, const char *user, const char *password,
                            const char *rhost, char *canon, size_t canon_size,
                            uid_t *uid, rdms_error *err)
{
	(void)ctx;
	(void)rhost;
	if (strcmp(password, "good") != 0)
		return rdms_fail(err, WBEM_E_ACCESS_DENIED, "Authentication failure");
	snprintf(canon, canon_size, "%s", user);
	*uid = getuid();
	return WBEM_S_NO_ERROR;
}

/* ---- clients ----------------------------------------------------------------- */

static char sock_path[108];
static int tcp_port;

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int connect_unix(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	memcpy(sa.sun_path, sock_path, sizeof sa.sun_path);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int connect_tcp(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)tcp_port),
	                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* A POST of "hi" to PATH with HEADERS (each ending in CRLF), of TYPE (NULL: none). */
static bool send_typed(int fd, const char *path, const char *type, const char *headers)
{
	char req[512];
	int n = snprintf(req, sizeof req, "POST %s HTTP/1.1\r\nHost: test\r\n%s%s%s%s"
	                 "Content-Length: 2\r\n\r\nhi", path, type != NULL ? "Content-Type: " : "",
	                 type != NULL ? type : "", type != NULL ? "\r\n" : "", headers);

	return fd >= 0 && write(fd, req, (size_t)n) == n;
}

static bool send_post(int fd, const char *path, const char *headers)
{
	return send_typed(fd, path, "application/test", headers);
}

/*
 * Reads one reply (headers and a Content-Length body) into BUF within
 * TIMEOUT_MS; returns the HTTP status, 0 when the connection closed first,
 * -1 on time-out.
 */
static int read_reply(int fd, char *buf, size_t size, int timeout_ms)
{
	int64_t end = now_ms() + timeout_ms;
	size_t len = 0;

	buf[0] = '\0';
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		const char *eoh = strstr(buf, "\r\n\r\n");
		int left = (int)(end - now_ms());
		ssize_t n;

		if (eoh != NULL) {
			const char *cl = strcasestr(buf, "Content-Length:");
			size_t want = (size_t)(eoh + 4 - buf) + (cl != NULL ? strtoul(cl + 15, NULL, 10) : 0);

			if (len >= want)
				return atoi(buf + 9);
		}
		if (left <= 0 || poll(&p, 1, left) <= 0)
			return -1;
		n = read(fd, buf + len, size - 1 - len);
		if (n <= 0)
			return 0;
		len += (size_t)n;
		buf[len] = '\0';
	}
}

static const char *reply_body(const char *buf)
{
	const char *eoh = strstr(buf, "\r\n\r\n");

	return eoh != NULL ? eoh + 4 : "";
}

static int thread_count(void)
{
	char line[256];
	int n = -1;
	FILE *f = fopen("/proc/self/status", "r");

	while (f != NULL && fgets(line, sizeof line, f) != NULL)
		if (sscanf(line, "Threads: %d", &n) == 1)
			break;
	if (f != NULL)
		fclose(f);
	return n;
}

static int held_count(void)
{
	int n;

	pthread_mutex_lock(&held_lock);
	n = nheld;
	pthread_mutex_unlock(&held_lock);
	return n;
}

/* Waits up to TIMEOUT_MS for N held requests. */
static bool wait_held(int n, int timeout_ms)
{
	int64_t end = now_ms() + timeout_ms;

	while (held_count() < n && now_ms() < end)
		usleep(2000);
	return held_count() >= n;
}

/* Takes the held handles (the test completes them). */
static int take_held(http_held **out, int max)
{
	int n;

	pthread_mutex_lock(&held_lock);
	n = nheld < max ? nheld : max;
	memcpy(out, held, (size_t)n * sizeof *out);
	memmove(held, held + n, (size_t)(nheld - n) * sizeof *held);
	nheld -= n;
	pthread_mutex_unlock(&held_lock);
	return n;
}

/* ---- the tests ---------------------------------------------------------------- */

struct completer {
	http_held **h;
	int         n;
	int         ok;
};

static void *complete_all(void *arg)
{
	struct completer *c = arg;

	for (int i = 0; i < c->n; i++) {
		http_reply r = { 0 };
		char text[32];

		snprintf(text, sizeof text, "done %d", i);
		reply_text(&r, text);
		c->ok += http_held_complete(c->h[i], &r);
	}
	return NULL;
}

/* 1,000 held at once: no thread more; all answered from another thread. */
static void test_many_held(void)
{
	static int fds[HELD_MANY];
	static http_held *h[HELD_MANY];
	struct completer c = { .h = h };
	pthread_t th;
	int threads0, threads1, answered = 0, sent = 0;
	char buf[1024];

	/* A first request starts what the transport starts lazily (none expected). */
	fds[0] = connect_unix();
	CHECK(send_post(fds[0], "/echo", ""));
	CHECK_EQ(read_reply(fds[0], buf, sizeof buf, 5000), 200);
	close(fds[0]);
	threads0 = thread_count();
	for (int i = 0; i < HELD_MANY; i++) {
		fds[i] = connect_unix();
		sent += send_post(fds[i], (i % 2) ? "/hold" : "/qhold", "");
	}
	CHECK_EQ(sent, HELD_MANY);
	CHECK(wait_held(HELD_MANY, 20000));
	threads1 = thread_count();
	printf("  %d requests held: %d threads (%d before)\n", held_count(), threads1, threads0);
	CHECK_EQ(threads1, threads0);
	/* Nobody answered yet, and a quick request still is, at once. */
	{
		int fd = connect_unix();
		int64_t t0 = now_ms();

		CHECK(send_post(fd, "/echo", ""));
		CHECK_EQ(read_reply(fd, buf, sizeof buf, 5000), 200);
		CHECK(now_ms() - t0 < 1000);
		close(fd);
	}
	c.n = take_held(h, HELD_MANY);
	CHECK_EQ(c.n, HELD_MANY);
	CHECK(pthread_create(&th, NULL, complete_all, &c) == 0);
	pthread_join(th, NULL);
	CHECK_EQ(c.ok, HELD_MANY);
	for (int i = 0; i < HELD_MANY; i++) {
		if (read_reply(fds[i], buf, sizeof buf, 10000) == 200 &&
		    strncmp(reply_body(buf), "done ", 5) == 0)
			answered++;
		/* the connection stays usable (kept alive) */
		if (i == 0) {
			CHECK(send_post(fds[0], "/echo", ""));
			CHECK_EQ(read_reply(fds[0], buf, sizeof buf, 5000), 200);
		}
		close(fds[i]);
	}
	CHECK_EQ(answered, HELD_MANY);
}

/* A held request whose client leaves: closed by the transport; the late reply is dropped. */
static void test_client_leaves(void)
{
	http_held *h[2];
	http_reply r = { 0 };
	char buf[512];
	int fd = connect_unix(), fd2 = connect_unix();

	CHECK(send_post(fd, "/hold", ""));
	CHECK(send_post(fd2, "/qhold", ""));
	CHECK(wait_held(2, 5000));
	CHECK_EQ(take_held(h, 2), 2);
	close(fd);
	close(fd2);
	usleep(300 * 1000);   /* the watcher sees the hang-up and the connection is closed */
	reply_text(&r, "too late");
	CHECK(!http_held_complete(h[0], &r));
	reply_text(&r, "too late");
	CHECK(!http_held_complete(h[1], &r));
	/* The transport goes on serving. */
	fd = connect_unix();
	CHECK(send_post(fd, "/echo", ""));
	CHECK_EQ(read_reply(fd, buf, sizeof buf, 5000), 200);
	close(fd);
}

/* Completed while its handler still runs: answered as usual. */
static void test_early_completion(void)
{
	char buf[512];
	int fd = connect_unix();

	CHECK(send_post(fd, "/early", ""));
	CHECK_EQ(read_reply(fd, buf, sizeof buf, 5000), 200);
	CHECK_STR(reply_body(buf), "early");
	close(fd);
}

/*
 * FAILERS wrong passwords at once (twice the workers): each is answered
 * with 401 no earlier than the delay, all of them within about one delay
 * (no thread sleeps), while a right password is served at once.
 */
static void test_failed_logins(void)
{
	int fds[FAILERS], early = 0, answered = 0, fd;
	int64_t t0 = now_ms(), last = 0;
	char buf[512];

	for (int i = 0; i < FAILERS; i++) {
		fds[i] = connect_tcp();
		CHECK(send_post(fds[i], "/echo", BAD_AUTH));
	}
	fd = connect_tcp();
	CHECK(send_post(fd, "/echo", GOOD_AUTH));
	CHECK_EQ(read_reply(fd, buf, sizeof buf, 5000), 200);
	CHECK(now_ms() - t0 < FAIL_DELAY);
	CHECK_STR(reply_body(buf), "user");
	close(fd);
	for (int i = 0; i < FAILERS; i++) {
		int status = read_reply(fds[i], buf, sizeof buf, 5000);
		int64_t t = now_ms() - t0;

		answered += status == 401 && strstr(buf, "WWW-Authenticate: Basic") != NULL;
		early += t < FAIL_DELAY - 5;
		if (t > last)
			last = t;
		close(fds[i]);
	}
	printf("  %d failed logins answered, the last after %lld ms (delay %d ms)\n", answered,
	       (long long)last, FAIL_DELAY);
	CHECK_EQ(answered, FAILERS);
	CHECK_EQ(early, 0);
	CHECK(last < 2 * FAIL_DELAY);
}

/* Everything FD sends until it closes, into B (up to TIMEOUT_MS); false on time-out. */
static bool read_all(int fd, strbuf *b, int timeout_ms)
{
	int64_t end = now_ms() + timeout_ms;
	char chunk[8192];

	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int left = (int)(end - now_ms());
		ssize_t n;

		if (left <= 0 || poll(&p, 1, left) <= 0)
			return false;
		n = read(fd, chunk, sizeof chunk);
		if (n <= 0)
			return true;
		strbuf_append(b, chunk, (size_t)n);
	}
}

/* The body of the chunked reply TEXT (after its head) into OUT; false when it is not whole. */
static bool dechunk(const char *text, strbuf *out)
{
	const char *p = strstr(text, "\r\n\r\n");

	if (p == NULL)
		return false;
	for (p += 4;;) {
		char *end;
		unsigned long n = strtoul(p, &end, 16);

		if (end == p || strncmp(end, "\r\n", 2) != 0)
			return false;
		p = end + 2;
		if (n == 0)
			return strcmp(p, "\r\n") == 0;
		if (strlen(p) < n + 2 || strncmp(p + n, "\r\n", 2) != 0)
			return false;
		strbuf_append(out, p, n);
		p += n + 2;
	}
}

/* True when BODY is "head\n" and then lines 0, 1, ... each once, more than MIN of them. */
static bool lines_whole(const char *body, size_t min)
{
	size_t n = 0;

	if (strncmp(body, "head\n", 5) != 0)
		return false;
	for (body += 5; *body != '\0'; n++) {
		char want[32];
		int len = snprintf(want, sizeof want, "line %zu\n", n);

		if (strncmp(body, want, (size_t)len) != 0)
			return false;
		body += len;
	}
	return n > min;
}

/*
 * A reply written while it is sent arrives whole, chunked to an HTTP/1.1
 * client and unframed to an HTTP/1.0 one (through MHD's block); each piece
 * is made once at its size -- BODY_STREAM_PIECE and a quarter for the item
 * that crosses it -- not grown by doubling to twice that, since a reply
 * waiting for a slow client holds its piece; and the stream is ended.
 */
static void test_streamed(void)
{
	static const char req10[] = "POST /stream HTTP/1.0\r\nContent-Type: application/test\r\n"
	                             "Content-Length: 0\r\n\r\n";
	size_t min = (size_t)STREAM_PIECES * BODY_STREAM_PIECE / 16;
	int done0 = atomic_load(&streams_done);
	strbuf got = { 0 }, body = { 0 };
	int fd = connect_unix();

	CHECK(send_post(fd, "/stream", "Connection: close\r\n"));
	CHECK(read_all(fd, &got, 10000));
	close(fd);
	CHECK(got.data != NULL && strstr(got.data, "Transfer-Encoding: chunked") != NULL);
	CHECK(got.data != NULL && dechunk(got.data, &body));
	CHECK(body.data != NULL && lines_whole(body.data, min));
	strbuf_free(&got);
	strbuf_free(&body);

	fd = connect_unix();
	CHECK(fd >= 0 && write(fd, req10, sizeof req10 - 1) == (ssize_t)(sizeof req10 - 1));
	CHECK(read_all(fd, &got, 10000));
	close(fd);
	CHECK(got.data != NULL && strstr(got.data, "chunked") == NULL);
	CHECK(got.data != NULL && lines_whole(reply_body(got.data), min));
	strbuf_free(&got);

	printf("  streamed replies: a piece had at most %zu bytes of room (piece %d)\n",
	       atomic_load(&piece_room), BODY_STREAM_PIECE);
	CHECK(atomic_load(&piece_room) <= BODY_STREAM_PIECE + BODY_STREAM_PIECE / 4 + 1);
	CHECK_EQ(atomic_load(&streams_done) - done0, 2);
}

/*
 * One POST to /echo on a new connection (Unix socket or TCP) with TYPE and
 * HEADERS; its status, BUF its reply.
 */
static int echo(bool unix_socket, const char *type, const char *headers, char *buf, size_t size)
{
	int fd = unix_socket ? connect_unix() : connect_tcp();
	int status = -1;

	if (send_typed(fd, "/echo", type, headers))
		status = read_reply(fd, buf, size, 5000);
	if (fd >= 0)
		close(fd);
	return status;
}

/*
 * What a browser can be made to send (browser_guard.h) is refused before
 * the caller is identified -- a wrong password gets no 401 and no delay --
 * and before the handler runs, with the reason; the same request from a
 * management client is served.
 */
static void test_forgery_refused(void)
{
	int served0 = atomic_load(&handled_on_io);
	int64_t t0 = now_ms();
	char buf[1024];

	CHECK_EQ(echo(false, "text/plain", GOOD_AUTH, buf, sizeof buf), 415);
	CHECK(strstr(reply_body(buf), "Content-Type 'text/plain' refused") != NULL);
	CHECK_EQ(echo(false, "application/x-www-form-urlencoded", GOOD_AUTH, buf, sizeof buf), 415);
	CHECK_EQ(echo(false, NULL, GOOD_AUTH, buf, sizeof buf), 415);
	CHECK_EQ(echo(true, "text/plain", "", buf, sizeof buf), 415);
	CHECK_EQ(echo(false, "application/test", GOOD_AUTH "Origin: http://evil.example\r\n",
	              buf, sizeof buf), 403);
	CHECK(strstr(reply_body(buf), "Origin 'http://evil.example' refused") != NULL);
	CHECK_EQ(echo(false, "application/test", BAD_AUTH "Origin: null\r\n", buf, sizeof buf),
	         403);
	CHECK_EQ(echo(false, "application/test", BAD_AUTH "Sec-Fetch-Site: cross-site\r\n",
	              buf, sizeof buf), 403);
	CHECK_EQ(echo(true, "application/test", "Origin: http://test\r\n", buf, sizeof buf), 403);
	CHECK(now_ms() - t0 < FAIL_DELAY);   /* no login failed: nothing was checked */
	CHECK_EQ(atomic_load(&handled_on_io), served0);
	/* served: the server's own origin, and no Origin at all */
	CHECK_EQ(echo(false, "application/test; charset=UTF-8",
	              GOOD_AUTH "Origin: http://test\r\nSec-Fetch-Site: same-origin\r\n",
	              buf, sizeof buf), 200);
	CHECK_STR(reply_body(buf), "user");
	CHECK_EQ(echo(true, "Application/Test", "", buf, sizeof buf), 200);
	CHECK_EQ(atomic_load(&handled_on_io), served0 + 2);
}

/* A client sending its request too slowly is cut at its deadline. */
static void test_deadline(void)
{
	static const char part[] = "POST /echo HTTP/1.1\r\nHost: test\r\n";
	char buf[256];
	int fd = connect_tcp();
	int64_t t0 = now_ms();
	int status = -1;

	CHECK(write(fd, part, sizeof part - 1) == (ssize_t)(sizeof part - 1));
	/* a header line every 300 ms keeps the idle time-out away */
	while (now_ms() - t0 < 4000) {
		struct pollfd p = { .fd = fd, .events = POLLIN };

		if (poll(&p, 1, 300) > 0) {
			status = (int)read(fd, buf, sizeof buf);
			break;
		}
		if (write(fd, "X-Slow: 1\r\n", 11) != 11) {
			status = 0;
			break;
		}
	}
	printf("  slow client cut after %lld ms\n", (long long)(now_ms() - t0));
	CHECK(status <= 0);
	CHECK(now_ms() - t0 >= 1000 && now_ms() - t0 < 3500);
	close(fd);
}

int main(void)
{
	rdms_config cfg;
	listen_set set;
	rdms_error err = { 0 };
	transport *t;
	pam_auth *pam = pam_auth_new(60, FAIL_DELAY);
	authz *az = authz_new(10);
	struct sockaddr_in sa;
	socklen_t salen = sizeof sa;
	struct rlimit rl;
	char dir[] = "/tmp/rdms-test-http.XXXXXX";
	transport_env env = { .cfg = &cfg, .pam = pam, .authz = az };
	http_held *h[4];
	int fd, n;
	char buf[512];

	/* Two descriptors per held request (ours and the server's). */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 2 * HELD_MANY + 256) {
		rl.rlim_cur = rl.rlim_max < 2 * HELD_MANY + 256 ? rl.rlim_max : 2 * HELD_MANY + 256;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	CHECK(pam != NULL && az != NULL && mkdtemp(dir) != NULL);
	pam_auth_set_verifier(pam, fake_verify, NULL);
	rdms_config_defaults(&cfg);
	cfg.max_connections = 2 * HELD_MANY;
	cfg.request_timeout_s = 1;
	snprintf(sock_path, sizeof sock_path, "%s/t.sock", dir);
	listen_set_init(&set);
	set.s[LISTEN_HTTP].fd = listen_tcp("127.0.0.1", 0, &set.s[LISTEN_HTTP].loopback, &err);
	set.s[LISTEN_UNIX].fd = listen_unix(sock_path, &err);
	snprintf(set.s[LISTEN_UNIX].address, sizeof set.s[LISTEN_UNIX].address, "%s", sock_path);
	CHECK(set.s[LISTEN_HTTP].fd >= 0 && set.s[LISTEN_UNIX].fd >= 0);
	getsockname(set.s[LISTEN_HTTP].fd, (struct sockaddr *)&sa, &salen);
	tcp_port = ntohs(sa.sin_port);
	t = transport_new(endpoints, sizeof endpoints / sizeof endpoints[0], &set, &cfg, &err);
	CHECK(t != NULL);
	if (t == NULL || transport_start(t, &env, &err) != WBEM_S_NO_ERROR) {
		fprintf(stderr, "transport: %s\n", err.message);
		return check_summary("http");
	}
	test_many_held();
	test_client_leaves();
	test_early_completion();
	test_streamed();
	test_failed_logins();
	test_forgery_refused();
	test_deadline();

	/* Held when the transport stops: the connection is closed, the late reply dropped. */
	fd = connect_unix();
	CHECK(send_post(fd, "/hold", ""));
	CHECK(wait_held(1, 5000));
	transport_stop(t);
	CHECK_EQ(read_reply(fd, buf, sizeof buf, 5000), 0);
	close(fd);
	n = take_held(h, 4);
	CHECK_EQ(n, 1);
	for (int i = 0; i < n; i++) {
		http_reply r = { 0 };

		reply_text(&r, "after stop");
		CHECK(!http_held_complete(h[i], &r));
	}
	CHECK(atomic_load(&handled_on_io) > 0);
	transport_free(t);
	listen_set_close(&set);
	rmdir(dir);
	pam_auth_free(pam);
	authz_free(az);
	return check_summary("http");
}
