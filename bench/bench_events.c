/*
 * bench_events.c -- the two ends of the session-events benchmark
 * (bench/events.sh): a driver that changes fixture sessions at a set rate,
 * and many WS-Eventing Pull subscribers, each holding a long-poll Pull.
 *
 *   bench_events fixture FILE SESSIONS USER
 *       writes FILE: SESSIONS sessions of USER, all Active, each with a
 *       ClientMachineName "t" + 16 digits (the driver's clock field).
 *   bench_events run -p PORT -f FILE -s SUBS [-r RATE] [-t SECONDS] [-w WARMUP] [-a] [-i]
 *       SUBS subscribers (Basic auth: the Authorization header value in
 *       $BENCH_AUTH) subscribe to rdmsd on 127.0.0.1:PORT and Pull; then
 *       the driver changes RATE sessions a second (in batches every 10 ms)
 *       for WARMUP + SECONDS seconds, writing FILE whole each time (temp
 *       file + rename, as any atomic writer does).  Each change puts the
 *       wall-clock time of its write into the session's ClientMachineName;
 *       a subscriber that gets the event takes its latency as the time it
 *       got the PullResponse minus that.  Prints one line:
 *         latency n=N p50=MS p99=MS max=MS expected=E client_cpu=PCT errors=K
 *       (changes written in the WARMUP seconds are not counted).  Then
 *       every subscriber Unsubscribes.
 *       -a: every subscriber asks for every Modification; by default
 *       subscriber k of SUBS asks only for the sessions of its share of
 *       the SessionIds (a WQL range), so each change is one delivery and
 *       rdmsd still matches every change against every subscription.
 *       -i (idle): no driver; prints "held N" once every Pull is out, waits
 *       for a line on stdin, Unsubscribes, prints "done".
 *
 * The subscribers are libcurl multi transfers on one thread, one keep-alive
 * connection each (1,000 of them cost this process a few percent of a CPU,
 * printed as client_cpu); replies are parsed with libxml2.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

#include "bench_time.h"

#define TICK_MS        10
#define STAMP_DIGITS   16
#define SUBSCRIBE_WAVE 64      /* Subscribes in flight at once */
#define DRAIN_MS       3000    /* after the driver stops: events still on their way */
#define FILETIME_1970  116444736000000000LL

#define NS_DECL \
	"xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\" " \
	"xmlns:a=\"http://schemas.xmlsoap.org/ws/2004/08/addressing\" " \
	"xmlns:n=\"http://schemas.xmlsoap.org/ws/2004/09/enumeration\" " \
	"xmlns:e=\"http://schemas.xmlsoap.org/ws/2004/08/eventing\" " \
	"xmlns:w=\"http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd\" " \
	"xmlns:p=\"http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd\""
#define WSE "http://schemas.xmlsoap.org/ws/2004/08/eventing"
#define WILDCARD "http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/rdms/*"
#define ANON "http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous"

/* ---- the fixture and its driver --------------------------------------------------- */

static int64_t real_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void die(const char *what)
{
	fprintf(stderr, "bench_events: %s\n", what);
	exit(1);
}

/* The fixture as the driver keeps it: the file's bytes and where each stamp is. */
struct fixture {
	char   *text;
	size_t  len;
	size_t *stamp;      /* offset of session i+1's 16 digits */
	size_t  n;
};

/* Reads FILE (as `fixture` wrote it) and finds each line's stamp. */
static void fixture_load(struct fixture *fx, const char *file)
{
	FILE *f = fopen(file, "r");
	size_t cap = 0;

	if (f == NULL)
		die("cannot read the fixture");
	fx->text = NULL;
	fx->len = 0;
	for (;;) {
		if (fx->len + 65536 > cap) {
			cap = cap ? cap * 2 : 1 << 20;
			if ((fx->text = realloc(fx->text, cap)) == NULL)
				die("out of memory");
		}
		size_t got = fread(fx->text + fx->len, 1, cap - fx->len - 1, f);

		if (got == 0)
			break;
		fx->len += got;
	}
	fclose(f);
	fx->text[fx->len] = '\0';
	fx->n = 0;
	for (char *p = fx->text; *p != '\0';) {
		char *nl = strchr(p, '\n'), *t;

		if (nl == NULL)
			die("the fixture's last line has no newline");
		t = nl - STAMP_DIGITS - 1;
		if (t < p || *t != 't')
			die("the fixture is not one `bench_events fixture` wrote");
		if ((fx->n & (fx->n + 1)) == 0 &&
		    (fx->stamp = realloc(fx->stamp, (fx->n * 2 + 1) * sizeof *fx->stamp)) == NULL)
			die("out of memory");
		fx->stamp[fx->n++] = (size_t)(t + 1 - fx->text);
		p = nl + 1;
	}
}

static void fixture_write(const struct fixture *fx, const char *file, const char *tmp)
{
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd < 0 || write(fd, fx->text, fx->len) != (ssize_t)fx->len || close(fd) != 0 ||
	    rename(tmp, file) != 0)
		die("cannot write the fixture");
}

static int make_fixture(const char *file, long n, const char *user)
{
	FILE *f = fopen(file, "w");

	if (f == NULL)
		die("cannot write the fixture");
	for (long i = 1; i <= n; i++)
		fprintf(f, "%ld %s 0 t%0*d\n", i, user, STAMP_DIGITS, 0);
	return fclose(f) == 0 ? 0 : 1;
}

struct driver {
	struct fixture fx;
	const char    *file;
	char           tmp[4096];
	long           rate;            /* changes a second */
	double         warmup_s, seconds;
	long           subs;
	bool           all;
	int64_t        measure_from;    /* real µs: changes before are warm-up */
	long          *expected;        /* per subscriber: changes in its share, measured */
	atomic_bool    done;
	long           batches, late;   /* ticks written, and those more than a tick late */
};

/* The subscriber whose share holds session ID (1-based) of N sessions. */
static long share_of(long id, long n, long subs)
{
	return (id - 1) * subs / n;
}

static void *drive(void *arg)
{
	struct driver *d = arg;
	struct timespec next;
	long per_tick = d->rate * TICK_MS / 1000, ticks;
	unsigned int seed = 12345;

	if (per_tick < 1)
		per_tick = 1;
	ticks = (long)((d->warmup_s + d->seconds) * 1000 / TICK_MS);
	d->measure_from = real_us() + (int64_t)(d->warmup_s * 1e6);
	clock_gettime(CLOCK_MONOTONIC, &next);
	for (long t = 0; t < ticks; t++) {
		int64_t now;

		next.tv_nsec += TICK_MS * 1000000L;
		if (next.tv_nsec >= 1000000000L) {
			next.tv_sec++;
			next.tv_nsec -= 1000000000L;
		}
		now = real_us();
		for (long k = 0; k < per_tick; k++) {
			size_t i = (size_t)rand_r(&seed) % d->fx.n;
			char digits[STAMP_DIGITS + 1];

			snprintf(digits, sizeof digits, "%0*" PRId64, STAMP_DIGITS, now);
			memcpy(d->fx.text + d->fx.stamp[i], digits, STAMP_DIGITS);
			if (now >= d->measure_from) {
				if (d->all)
					for (long s = 0; s < d->subs; s++)
						d->expected[s]++;
				else
					d->expected[share_of((long)i + 1, (long)d->fx.n, d->subs)]++;
			}
		}
		fixture_write(&d->fx, d->file, d->tmp);
		d->batches++;
		if (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) == 0) {
			struct timespec ts;

			clock_gettime(CLOCK_MONOTONIC, &ts);
			if ((ts.tv_sec - next.tv_sec) * 1000 + (ts.tv_nsec - next.tv_nsec) / 1000000 > TICK_MS)
				d->late++;
		}
	}
	atomic_store(&d->done, true);
	return NULL;
}

/* ---- the subscribers ------------------------------------------------------------------- */

enum sub_state { SUBSCRIBING, PULLING, UNSUBSCRIBING, FINISHED };

struct sub {
	long            k;
	CURL           *h;
	enum sub_state  state;
	char            ctx[128], ident[128];
	char           *body;            /* the request in flight */
	char           *reply;
	size_t          reply_len, reply_cap;
	long            got;             /* events with a measured stamp */
	struct sub     *unsub;           /* the Unsubscribe's own transfer */
};

struct run {
	CURLM              *multi;
	struct curl_slist  *headers;
	char                url[64];
	int                 port;
	long                nsubs;
	struct sub         *subs;
	bool                all;
	long                sessions;
	long                inflight_subscribes, subscribed, pulls_out;
	bool                stopping;
	long                errors;
	char                first_error[300];
	double             *lat;             /* ms: the write to the PullResponse */
	double             *feed;            /* ms: the event's TIME_CREATED to the PullResponse */
	size_t              nlat, caplat;
	int64_t             measure_from;    /* real µs */
	long                msg;             /* MessageID counter */
};

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
	struct sub *s = arg;
	size_t len = size * n;

	if (s->reply_len + len + 1 > s->reply_cap) {
		size_t cap = s->reply_cap ? s->reply_cap : 16384;

		while (cap < s->reply_len + len + 1)
			cap *= 2;
		if ((s->reply = realloc(s->reply, cap)) == NULL)
			return 0;
		s->reply_cap = cap;
	}
	memcpy(s->reply + s->reply_len, p, len);
	s->reply_len += len;
	s->reply[s->reply_len] = '\0';
	return len;
}

/* An envelope around BODY for ACTION; EXTRA goes into the header. */
static char *envelope(struct run *r, const char *action, const char *extra, const char *body)
{
	char *out;

	if (asprintf(&out, "<s:Envelope " NS_DECL "><s:Header>"
	             "<a:To>http://127.0.0.1:%d/wsman/</a:To>"
	             "<w:ResourceURI s:mustUnderstand=\"true\">" WILDCARD "</w:ResourceURI>"
	             "<a:ReplyTo><a:Address s:mustUnderstand=\"true\">" ANON "</a:Address></a:ReplyTo>"
	             "<a:Action s:mustUnderstand=\"true\">%s</a:Action>"
	             "<w:MaxEnvelopeSize s:mustUnderstand=\"true\">1048576</w:MaxEnvelopeSize>"
	             "<a:MessageID>uuid:b3e0e0e0-0000-4000-8000-%012ld</a:MessageID>"
	             "<w:Locale xml:lang=\"en-US\" s:mustUnderstand=\"false\"/>"
	             "<w:SelectorSet><w:Selector Name=\"__cimnamespace\">root/cimv2/rdms"
	             "</w:Selector></w:SelectorSet>%s"
	             "<w:OperationTimeout>PT90.000S</w:OperationTimeout></s:Header>"
	             "<s:Body>%s</s:Body></s:Envelope>",
	             r->port, action, ++r->msg, extra, body) < 0)
		die("out of memory");
	return out;
}

static void send_request(struct run *r, struct sub *s, char *body)
{
	free(s->body);
	s->body = body;
	s->reply_len = 0;
	curl_easy_setopt(s->h, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(s->h, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	if (curl_multi_add_handle(r->multi, s->h) != CURLM_OK)
		die("curl_multi_add_handle");
}

static void subscribe(struct run *r, struct sub *s)
{
	char query[400], body[1500];

	if (r->all)
		snprintf(query, sizeof query, "SELECT * FROM __InstanceModificationEvent WITHIN 1 "
		         "WHERE TargetInstance ISA 'Win32_VirtualDesktopSession'");
	else {
		/* the SessionIds whose share_of is K: [lo, hi) */
		long lo = (s->k * r->sessions + r->nsubs - 1) / r->nsubs + 1;
		long hi = ((s->k + 1) * r->sessions + r->nsubs - 1) / r->nsubs + 1;

		snprintf(query, sizeof query, "SELECT * FROM __InstanceModificationEvent WITHIN 1 "
		         "WHERE TargetInstance ISA 'Win32_VirtualDesktopSession' AND "
		         "TargetInstance.SessionId &gt;= %ld AND TargetInstance.SessionId &lt; %ld",
		         lo, hi);
	}
	snprintf(body, sizeof body, "<e:Subscribe><e:Delivery Mode=\""
	         "http://schemas.dmtf.org/wbem/wsman/1/wsman/Pull\">"
	         "<w:Heartbeats>PT60.000S</w:Heartbeats></e:Delivery>"
	         "<e:Expires>PT600.000S</e:Expires>"
	         "<w:Filter Dialect=\"http://schemas.microsoft.com/wbem/wsman/1/WQL\">%s</w:Filter>"
	         "<w:SendBookmarks/></e:Subscribe>", query);
	s->state = SUBSCRIBING;
	r->inflight_subscribes++;
	send_request(r, s, envelope(r, WSE "/Subscribe", "", body));
}

static void pull(struct run *r, struct sub *s)
{
	char body[300];

	snprintf(body, sizeof body, "<n:Pull><n:EnumerationContext>%s</n:EnumerationContext>"
	         "<n:MaxElements>%d</n:MaxElements></n:Pull>", s->ctx, r->all ? 2000 : 200);
	s->state = PULLING;
	r->pulls_out++;
	send_request(r, s, envelope(r, "http://schemas.xmlsoap.org/ws/2004/09/enumeration/Pull",
	                            "", body));
}

static void unsubscribe(struct run *r, struct sub *s)
{
	char extra[200];

	snprintf(extra, sizeof extra, "<e:Identifier>%s</e:Identifier>", s->ident);
	s->unsub->state = UNSUBSCRIBING;
	send_request(r, s->unsub, envelope(r, WSE "/Unsubscribe", extra, "<e:Unsubscribe/>"));
}

static const char *local(const xmlNode *n)
{
	return (const char *)n->name;
}

/* The text of the first element named NAME under N; NULL when none. */
static xmlNode *find(xmlNode *n, const char *name)
{
	for (; n != NULL; n = n->next) {
		xmlNode *in;

		if (n->type == XML_ELEMENT_NODE && strcmp(local(n), name) == 0)
			return n;
		if ((in = find(n->children, name)) != NULL)
			return in;
	}
	return NULL;
}

static void copy_text(char *buf, size_t size, xmlNode *n)
{
	xmlChar *t = n != NULL ? xmlNodeGetContent(n) : NULL;

	snprintf(buf, size, "%s", t != NULL ? (const char *)t : "");
	xmlFree(t);
}

static void error(struct run *r, const struct sub *s, const char *what)
{
	if (r->errors++ == 0)
		snprintf(r->first_error, sizeof r->first_error, "subscriber %ld: %s: %.200s", s->k,
		         what, s->reply != NULL ? s->reply : "");
}

/* The events of a PullResponse: a latency for each stamp written after the warm-up. */
static void take_events(struct run *r, struct sub *s, xmlNode *items, int64_t now)
{
	for (xmlNode *ev = items != NULL ? items->children : NULL; ev != NULL; ev = ev->next) {
		xmlNode *target = find(ev->children, "TargetInstance");
		xmlNode *name = target != NULL ? find(target->children, "ClientMachineName") : NULL;
		char text[64], created[64];
		int64_t stamp;

		copy_text(text, sizeof text, name);
		copy_text(created, sizeof created, find(ev->children, "TIME_CREATED"));
		if (text[0] != 't' || (stamp = strtoll(text + 1, NULL, 10)) < r->measure_from ||
		    r->measure_from == 0)
			continue;
		if (r->nlat == r->caplat) {
			r->caplat = r->caplat ? r->caplat * 2 : 65536;
			if ((r->lat = realloc(r->lat, r->caplat * sizeof *r->lat)) == NULL ||
			    (r->feed = realloc(r->feed, r->caplat * sizeof *r->feed)) == NULL)
				die("out of memory");
		}
		/* TIME_CREATED: a FILETIME, 100 ns units since 1601 */
		r->feed[r->nlat] = (double)(now - (strtoll(created, NULL, 10) - FILETIME_1970) / 10) /
		                   1000.0;
		r->lat[r->nlat++] = (double)(now - stamp) / 1000.0;
		s->got++;
	}
}

/* A transfer of S ended with HTTP status CODE. */
static void done(struct run *r, struct sub *s, long code, bool ok)
{
	int64_t now = real_us();
	xmlDoc *doc = NULL;
	xmlNode *root = NULL;

	curl_multi_remove_handle(r->multi, s->h);
	if (ok && s->reply_len > 0) {
		doc = xmlReadMemory(s->reply, (int)s->reply_len, "reply.xml", NULL,
		                    XML_PARSE_NONET | XML_PARSE_NOBLANKS);
		root = doc != NULL ? xmlDocGetRootElement(doc) : NULL;
	}
	switch (s->state) {
	case SUBSCRIBING:
		r->inflight_subscribes--;
		copy_text(s->ctx, sizeof s->ctx, root != NULL ? find(root, "EnumerationContext") : NULL);
		copy_text(s->ident, sizeof s->ident, root != NULL ? find(root, "Identifier") : NULL);
		if (code != 200 || s->ctx[0] == '\0') {
			error(r, s, "Subscribe failed");
			s->state = FINISHED;
			break;
		}
		r->subscribed++;
		pull(r, s);
		break;
	case PULLING:
		r->pulls_out--;
		if (r->stopping) {
			s->state = FINISHED;
			break;
		}
		if (code != 200 || root == NULL || find(root, "Fault") != NULL) {
			error(r, s, "Pull failed");
			s->state = FINISHED;
			break;
		}
		take_events(r, s, find(root, "Items"), now);
		pull(r, s);
		break;
	case UNSUBSCRIBING:
		if (code != 200)
			error(r, s, "Unsubscribe failed");
		s->state = FINISHED;
		break;
	case FINISHED:
		break;
	}
	xmlFreeDoc(doc);
}

/* Runs the transfers until COND(R) holds, or UNTIL_MS (monotonic) passes (0: never). */
static void pump(struct run *r, bool (*cond)(struct run *), double until_ms)
{
	while (!cond(r) && (until_ms == 0 || bench_now_ms() < until_ms)) {
		int running, left;
		CURLMsg *m;

		curl_multi_perform(r->multi, &running);
		while ((m = curl_multi_info_read(r->multi, &left)) != NULL) {
			struct sub *s;
			long code = 0;

			if (m->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&s);
			curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &code);
			if (m->data.result != CURLE_OK) {
				const char *why = curl_easy_strerror(m->data.result);

				s->reply_len = 0;
				on_data((char *)why, 1, strlen(why), s);
			}
			done(r, s, code, m->data.result == CURLE_OK);
		}
		if (cond(r))
			break;
		curl_multi_poll(r->multi, NULL, 0, 20, NULL);
	}
}

static long next_to_subscribe;

static bool all_subscribed(struct run *r)
{
	while (next_to_subscribe < r->nsubs && r->inflight_subscribes < SUBSCRIBE_WAVE)
		subscribe(r, &r->subs[next_to_subscribe++]);
	return next_to_subscribe == r->nsubs && r->inflight_subscribes == 0;
}

static bool never(struct run *r)
{
	(void)r;
	return false;
}

/* A line (or the end) on stdin: the caller has measured. */
static bool stdin_ready(struct run *r)
{
	struct pollfd pf = { 0, POLLIN, 0 };

	(void)r;
	return poll(&pf, 1, 0) > 0;
}

static bool all_finished(struct run *r)
{
	for (long i = 0; i < r->nsubs; i++)
		if (r->subs[i].state != FINISHED || r->subs[i].unsub->state != FINISHED)
			return false;
	return true;
}

static CURL *new_handle(struct run *r, struct sub *s)
{
	CURL *h = curl_easy_init();

	if (h == NULL)
		die("curl_easy_init");
	curl_easy_setopt(h, CURLOPT_URL, r->url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, r->headers);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, s);
	curl_easy_setopt(h, CURLOPT_PRIVATE, s);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 120L);
	return h;
}

static double cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
	       ((double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_usec) / 1e6;
}

static double pct(const double *v, size_t n, double p)
{
	size_t i = (size_t)(p * (double)(n - 1) + 0.5);

	return n > 0 ? v[i < n ? i : n - 1] : 0;
}

static int run(int argc, char **argv)
{
	struct run r = { .nsubs = 1 };
	struct driver d = { .rate = 1000, .seconds = 10, .warmup_s = 2 };
	const char *auth = getenv("BENCH_AUTH"), *file = NULL;
	bool idle = false;
	char hdr[600];
	int opt;

	while ((opt = getopt(argc, argv, "p:f:s:r:t:w:ai")) != -1) {
		switch (opt) {
		case 'p': r.port = atoi(optarg); break;
		case 'f': file = optarg; break;
		case 's': r.nsubs = atol(optarg); break;
		case 'r': d.rate = atol(optarg); break;
		case 't': d.seconds = atof(optarg); break;
		case 'w': d.warmup_s = atof(optarg); break;
		case 'a': r.all = d.all = true; break;
		case 'i': idle = true; break;
		default: return 2;
		}
	}
	if (r.port <= 0 || file == NULL || r.nsubs < 1 || auth == NULL || d.rate < 1) {
		fprintf(stderr, "usage: BENCH_AUTH=... bench_events run -p PORT -f FIXTURE -s SUBS "
		        "[-r RATE] [-t SECONDS] [-w WARMUP] [-a] [-i]\n");
		return 2;
	}
	fixture_load(&d.fx, file);
	r.sessions = (long)d.fx.n;
	d.file = file;
	d.subs = r.nsubs;
	snprintf(d.tmp, sizeof d.tmp, "%.*s.bench-events-driver.tmp",
	         (int)(strrchr(file, '/') ? strrchr(file, '/') - file + 1 : 0), file);
	if ((d.expected = calloc((size_t)r.nsubs, sizeof *d.expected)) == NULL)
		die("out of memory");

	curl_global_init(CURL_GLOBAL_DEFAULT);
	r.multi = curl_multi_init();
	snprintf(r.url, sizeof r.url, "http://127.0.0.1:%d/wsman", r.port);
	snprintf(hdr, sizeof hdr, "Authorization: %s", auth);
	r.headers = curl_slist_append(NULL, hdr);
	r.headers = curl_slist_append(r.headers, "Content-Type: application/soap+xml;charset=UTF-8");
	r.headers = curl_slist_append(r.headers, "Expect:");
	if ((r.subs = calloc((size_t)r.nsubs * 2, sizeof *r.subs)) == NULL)
		die("out of memory");
	for (long i = 0; i < r.nsubs; i++) {
		struct sub *s = &r.subs[i], *u = &r.subs[r.nsubs + i];

		s->k = u->k = i;
		s->h = new_handle(&r, s);
		u->h = new_handle(&r, u);
		u->state = FINISHED;
		s->unsub = u;
	}

	double t0 = bench_now_ms();

	pump(&r, all_subscribed, 0);
	fprintf(stderr, "bench_events: %ld subscribed in %.1f s\n", r.subscribed,
	        (bench_now_ms() - t0) / 1000);
	if (r.subscribed != r.nsubs) {
		fprintf(stderr, "bench_events: %s\n", r.first_error);
		return 1;
	}
	/* the first Pulls reach rdmsd and are held */
	pump(&r, never, bench_now_ms() + 1000 + (double)r.nsubs);

	double cpu0 = cpu_s(), cpu1;

	if (idle) {
		printf("held %ld\n", r.pulls_out);
		fflush(stdout);
		/* the connections stay served while the caller measures */
		pump(&r, stdin_ready, 0);
	} else {
		pthread_t driver;

		if (pthread_create(&driver, NULL, drive, &d) != 0)
			die("pthread_create");
		/* the driver sets measure_from first thing: read it once it has */
		while (d.measure_from == 0)
			usleep(100);
		r.measure_from = d.measure_from;
		while (!atomic_load(&d.done))
			pump(&r, never, bench_now_ms() + 100);
		pthread_join(driver, NULL);
		pump(&r, never, bench_now_ms() + DRAIN_MS);
	}
	cpu1 = cpu_s();
	r.stopping = true;
	for (long i = 0; i < r.nsubs; i++)
		if (r.subs[i].state != FINISHED)
			unsubscribe(&r, &r.subs[i]);
	pump(&r, all_finished, bench_now_ms() + 30000);

	if (idle) {
		printf("done errors=%ld\n", r.errors);
	} else {
		long expected = 0;

		for (long i = 0; i < r.nsubs; i++)
			expected += d.expected[i];
		bench_sort(r.lat, (int)r.nlat);
		bench_sort(r.feed, (int)r.nlat);
		printf("latency n=%zu p50=%.1f p99=%.1f max=%.1f feed_p50=%.1f feed_p99=%.1f "
		       "expected=%ld client_cpu=%.0f late_ticks=%ld/%ld errors=%ld\n", r.nlat,
		       pct(r.lat, r.nlat, 0.5), pct(r.lat, r.nlat, 0.99),
		       r.nlat ? r.lat[r.nlat - 1] : 0, pct(r.feed, r.nlat, 0.5),
		       pct(r.feed, r.nlat, 0.99), expected,
		       100 * (cpu1 - cpu0) / (d.warmup_s + d.seconds + DRAIN_MS / 1000.0),
		       d.late, d.batches, r.errors);
	}
	if (r.errors > 0)
		fprintf(stderr, "bench_events: %ld errors; the first: %s\n", r.errors, r.first_error);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 5 && strcmp(argv[1], "fixture") == 0)
		return make_fixture(argv[2], atol(argv[3]), argv[4]);
	if (argc >= 2 && strcmp(argv[1], "run") == 0)
		return run(argc - 1, argv + 1);
	fprintf(stderr, "usage: bench_events fixture FILE SESSIONS USER\n"
	        "       BENCH_AUTH=... bench_events run -p PORT -f FIXTURE -s SUBS [-r RATE] "
	        "[-t SECONDS] [-w WARMUP] [-a] [-i]\n");
	return 2;
}
