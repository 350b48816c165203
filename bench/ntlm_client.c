/*
 * ntlm_client.c -- the client of the Negotiate/NTLM benchmark (bench/ntlm.sh).
 *
 *   ntlm_client MODE -p PORT -u USER -c CONNS -t SECONDS -b BODY -k CHECK
 *       (the password in $BENCH_PASSWORD)
 *
 * CONNS threads, each with a connection of its own, for SECONDS:
 *   handshake  over and over: a new connection, a Negotiate login (raw
 *              NTLM and SPNEGO in turn, the legs of MS-WSMV with empty
 *              bodies), then BODY once, encrypted, its reply decrypted and
 *              checked; one timing per login + request;
 *   sealed     one login, then BODY encrypted over and over on that
 *              connection (WinRM message encryption); one timing per request;
 *   basic      BODY over and over on the connection with
 *              `Authorization: Basic`, unencrypted; one timing per request.
 * So the encrypted and the Basic figures come from the same client doing
 * the same HTTP.  @@ID@@ in BODY becomes a fresh MessageID per request (WS-Man's
 * replay cache never answers from memory).  A reply counts when it is a
 * 200 whose (decrypted) text holds CHECK; anything else is an error (the
 * first one is told on stderr).  Prints one line:
 *   MODE conns=C ops=N rate=R p50=MS p99=MS errors=E
 * where R is the sum of the connections' rates (operations a second).
 *
 * HTTP is libcurl's: one easy handle per connection, a new one per login in
 * handshake mode (a new TCP connection); headers are read by its header
 * callback.  The handshake is GSSAPI's initiator with gss-ntlmssp (MIT's
 * mechglue; SPNEGO limited to NTLM).  The finished context is exported and
 * imported through src/auth/seal.c, so requests are wrapped and replies
 * unwrapped by the very code rdmsd-net runs, and bodies are framed and
 * read by lengths by src/transport/encrypted_body.c.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <unistd.h>

#include <curl/curl.h>
#include <gssapi/gssapi.h>
#include <gssapi/gssapi_ext.h>

#include "auth/basic.h"
#include "auth/gss_status.h"
#include "auth/negotiate_hdr.h"
#include "auth/seal.h"
#include "common/strutil.h"
#include "transport/encrypted_body.h"

#include "bench_time.h"

#define SOAP_TYPE "application/soap+xml;charset=UTF-8"
#define MAX_LEGS  4

enum mode { MODE_HANDSHAKE, MODE_SEALED, MODE_BASIC };

static struct {
	enum mode   mode;
	const char *mode_name;
	char        url[128];
	const char *user;
	const char *password;
	const char *check;
	int         conns;
	double      seconds;
	char       *body_head;   /* BODY before @@ID@@ (all of it when there is none) */
	char       *body_tail;   /* after; NULL when there is no @@ID@@ */
	uint32_t    nonce;       /* this run's part of every MessageID */
	char        basic[512];  /* "Basic base64(user:password)" */
	gss_OID_desc ntlm, spnego;
} opt;

static atomic_int first_error_told;

/* ---- HTTP -------------------------------------------------------------------------- */

typedef struct conn {
	CURL  *h;
	strbuf reply;
	char   token[NEGO_HDR_B64_MAX + 1];   /* WWW-Authenticate: Negotiate's, or "" */
	char   ctype[256];                    /* the reply's Content-Type, or "" */
} conn;

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
	conn *c = arg;

	strbuf_append(&c->reply, p, size * n);
	return c->reply.failed ? 0 : size * n;
}

/* "Name: value\r\n" into OUT (SIZE bytes) when the line is NAME's; true then. */
static bool header_value(const char *line, size_t len, const char *name, char *out, size_t size)
{
	size_t nl = strlen(name);

	if (len <= nl + 1 || strncasecmp(line, name, nl) != 0 || line[nl] != ':')
		return false;
	line += nl + 1;
	len -= nl + 1;
	while (len > 0 && (*line == ' ' || *line == '\t'))
		line++, len--;
	while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == '\n' || line[len - 1] == ' '))
		len--;
	if (len >= size)
		len = size - 1;
	memcpy(out, line, len);
	out[len] = '\0';
	return true;
}

static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
	conn *c = arg;
	char v[sizeof c->token + 16];

	if (header_value(p, size * n, "WWW-Authenticate", v, sizeof v) &&
	    strncasecmp(v, "Negotiate ", 10) == 0)
		str_copy(c->token, sizeof c->token, v + 10);
	header_value(p, size * n, "Content-Type", c->ctype, sizeof c->ctype);
	return size * n;
}

static bool conn_open(conn *c)
{
	*c = (conn){ .h = curl_easy_init() };
	if (c->h == NULL)
		return false;
	curl_easy_setopt(c->h, CURLOPT_URL, opt.url);
	curl_easy_setopt(c->h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c->h, CURLOPT_WRITEDATA, c);
	curl_easy_setopt(c->h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c->h, CURLOPT_HEADERDATA, c);
	curl_easy_setopt(c->h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c->h, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(c->h, CURLOPT_TIMEOUT, 30L);
	return true;
}

static void conn_close(conn *c)
{
	if (c->h != NULL)
		curl_easy_cleanup(c->h);
	strbuf_free(&c->reply);
	*c = (conn){ 0 };
}

/* One POST of BODY (LEN bytes) with CTYPE and AUTH (NULL: none); the HTTP status, 0 on failure. */
static long post(conn *c, const char *ctype, const char *auth, const void *body, size_t len)
{
	struct curl_slist *h = NULL;
	char line[NEGO_HDR_B64_MAX + 64];
	long status = 0;
	CURLcode rc;

	c->reply.len = 0;
	c->token[0] = c->ctype[0] = '\0';
	snprintf(line, sizeof line, "Content-Type: %s", ctype);
	h = curl_slist_append(h, line);
	if (auth != NULL) {
		snprintf(line, sizeof line, "Authorization: %s", auth);
		h = curl_slist_append(h, line);
	}
	h = curl_slist_append(h, "Expect:");
	curl_easy_setopt(c->h, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c->h, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c->h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	rc = curl_easy_perform(c->h);
	if (rc == CURLE_OK)
		curl_easy_getinfo(c->h, CURLINFO_RESPONSE_CODE, &status);
	else if (atomic_exchange(&first_error_told, 1) == 0)
		fprintf(stderr, "ntlm_client: %s\n", curl_easy_strerror(rc));
	curl_slist_free_all(h);
	return status;
}

/* ---- the login ---------------------------------------------------------------------- */

static void gss_fail(const char *what, OM_uint32 major, OM_uint32 minor)
{
	static const gss_status_fns linked = { gss_display_status, gss_release_buffer };
	char why[256];

	if (atomic_exchange(&first_error_told, 1) != 0)
		return;
	gss_status_text(&linked, major, minor, GSS_C_NO_OID, why, sizeof why);
	fprintf(stderr, "ntlm_client: %s: %s\n", what, why);
}

/* The initiator's credential for MECH (SPNEGO: limited to NTLM); GSS_C_NO_CREDENTIAL on failure. */
static gss_cred_id_t acquire(gss_OID mech)
{
	gss_buffer_desc nb = { strlen(opt.user), (void *)opt.user };
	gss_buffer_desc pw = { strlen(opt.password), (void *)opt.password };
	gss_OID_set_desc mechs = { 1, mech }, neg = { 1, &opt.ntlm };
	gss_name_t name = GSS_C_NO_NAME;
	gss_cred_id_t cred = GSS_C_NO_CREDENTIAL;
	OM_uint32 major, minor;

	major = gss_import_name(&minor, &nb, GSS_C_NT_USER_NAME, &name);
	if (!GSS_ERROR(major))
		major = gss_acquire_cred_with_password(&minor, name, &pw, GSS_C_INDEFINITE, &mechs,
		                                       GSS_C_INITIATE, &cred, NULL, NULL);
	if (!GSS_ERROR(major) && mech == &opt.spnego)
		major = gss_set_neg_mechs(&minor, cred, &neg);
	if (GSS_ERROR(major)) {
		gss_fail("the client's credential", major, minor);
		gss_release_cred(&minor, &cred);
		cred = GSS_C_NO_CREDENTIAL;
	}
	gss_release_name(&minor, &name);
	return cred;
}

/* Decodes C's WWW-Authenticate token into *IN (BUF); false when there is none or it is bad. */
static bool reply_token(const conn *c, unsigned char *buf, gss_buffer_desc *in)
{
	size_t n = strlen(c->token), where;

	if (n == 0 || n > NEGO_HDR_B64_MAX || basic_b64_decode(c->token, n, buf, &in->length, &where))
		return false;
	in->value = buf;
	return true;
}

/*
 * A Negotiate login on C with CRED for MECH, the legs with empty bodies;
 * the connection's context, imported through seal.c, or NULL.
 */
static seal_ctx *login(conn *c, gss_cred_id_t cred, gss_OID mech, gss_name_t target)
{
	static const OM_uint32 flags = GSS_C_CONF_FLAG | GSS_C_INTEG_FLAG | GSS_C_MUTUAL_FLAG;
	gss_ctx_id_t ctx = GSS_C_NO_CONTEXT;
	gss_buffer_desc in = GSS_C_EMPTY_BUFFER, out = GSS_C_EMPTY_BUFFER, exported = GSS_C_EMPTY_BUFFER;
	unsigned char tok[NEGO_HDR_TOKEN_MAX];
	char auth[NEGO_HDR_B64_MAX + 16];
	OM_uint32 major, minor;
	seal_ctx *s = NULL;
	rdms_error err = { 0 };
	long status;

	for (int leg = 0; leg <= MAX_LEGS; leg++) {
		major = gss_init_sec_context(&minor, cred, &ctx, target, mech, flags, 0,
		                             GSS_C_NO_CHANNEL_BINDINGS, &in, NULL, &out, NULL, NULL);
		if (GSS_ERROR(major)) {
			gss_fail("gss_init_sec_context", major, minor);
			goto done;
		}
		if (out.length == 0) {
			if (major == GSS_S_COMPLETE)
				break;
			goto done;
		}
		memcpy(auth, "Negotiate ", 10);
		if (!nego_b64(out.value, out.length, auth + 10, sizeof auth - 10))
			goto done;
		gss_release_buffer(&minor, &out);
		status = post(c, SOAP_TYPE, auth, "", 0);
		if (status == 200 && major == GSS_S_COMPLETE)
			break;
		/* a 401 with the next challenge, or SPNEGO's 200 with the final token */
		if ((status != 401 && status != 200) || major == GSS_S_COMPLETE || !reply_token(c, tok, &in)) {
			if (atomic_exchange(&first_error_told, 1) == 0)
				fprintf(stderr, "ntlm_client: login leg %d: HTTP %ld\n", leg + 1, status);
			goto done;
		}
	}
	major = gss_export_sec_context(&minor, &ctx, &exported);
	if (GSS_ERROR(major)) {
		gss_fail("gss_export_sec_context", major, minor);
		goto done;
	}
	s = seal_import(exported.value, exported.length, &err);
	if (s == NULL && atomic_exchange(&first_error_told, 1) == 0)
		fprintf(stderr, "ntlm_client: %s\n", err.message);
done:
	gss_release_buffer(&minor, &out);
	gss_release_buffer(&minor, &exported);
	if (ctx != GSS_C_NO_CONTEXT)
		gss_delete_sec_context(&minor, &ctx, GSS_C_NO_BUFFER);
	return s;
}

/* ---- one request --------------------------------------------------------------------- */

/* BODY with a fresh MessageID (thread T, request N) into OUT. */
static void make_body(strbuf *out, int t, unsigned long n)
{
	out->len = 0;
	strbuf_puts(out, opt.body_head);
	if (opt.body_tail != NULL) {
		strbuf_printf(out, "uuid:%08x-%04x-4000-8000-%012lx", opt.nonce, (unsigned)t & 0xffff, n);
		strbuf_puts(out, opt.body_tail);
	}
}

static bool fail(const char *what, long status, const conn *c)
{
	if (atomic_exchange(&first_error_told, 1) == 0)
		fprintf(stderr, "ntlm_client: %s: HTTP %ld, %.300s\n", what, status,
		        c->reply.data != NULL ? c->reply.data : "");
	return false;
}

/* PLAIN encrypted with S, sent on C, its reply decrypted and checked. */
static bool sealed_request(conn *c, seal_ctx *s, const strbuf *plain, strbuf *scratch)
{
	strbuf wrapped = { 0 };
	encbody eb;
	rdms_error err = { 0 };
	char why[256];
	size_t sig = 0;
	long status;
	bool ok;

	if (!seal_wrap(s, plain->data, plain->len, &wrapped, &sig, &err)) {
		strbuf_free(&wrapped);
		return fail(err.message, 0, c);
	}
	scratch->len = 0;
	encbody_build(scratch, SOAP_TYPE, plain->len, wrapped.data, wrapped.len, sig);
	strbuf_free(&wrapped);
	status = post(c, ENCBODY_CONTENT_TYPE, NULL, scratch->data, scratch->len);
	if (status != 200 || !encbody_parse(c->ctype, c->reply.data, c->reply.len, &eb, why, sizeof why))
		return fail("an encrypted request", status, c);
	scratch->len = 0;
	ok = seal_unwrap(s, eb.wrapped, eb.wrapped_len, scratch, &err) && scratch->len == eb.length &&
	     strstr(scratch->data, opt.check) != NULL;
	return ok || fail("the decrypted reply", status, c);
}

static bool basic_request(conn *c, const strbuf *plain)
{
	long status = post(c, SOAP_TYPE, opt.basic, plain->data, plain->len);

	return (status == 200 && c->reply.data != NULL && strstr(c->reply.data, opt.check) != NULL) ||
	       fail("a Basic request", status, c);
}

/* ---- the threads ----------------------------------------------------------------------- */

typedef struct worker {
	pthread_t t;
	int       id;
	double   *ms;       /* each operation's time */
	size_t    n, cap;
	long      errors;
	double    rate;     /* operations a second on this connection */
} worker;

static pthread_barrier_t start_line;

static void record(worker *w, double ms)
{
	if (w->n == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 4096;
		double *p = realloc(w->ms, cap * sizeof *p);

		if (p == NULL)
			return;
		w->ms = p;
		w->cap = cap;
	}
	w->ms[w->n++] = ms;
}

static void *run(void *arg)
{
	worker *w = arg;
	gss_buffer_desc tn = { strlen("HTTP@127.0.0.1"), (void *)"HTTP@127.0.0.1" };
	gss_name_t target = GSS_C_NO_NAME;
	gss_cred_id_t cred[2] = { GSS_C_NO_CREDENTIAL, GSS_C_NO_CREDENTIAL };
	gss_OID mech[2] = { &opt.ntlm, &opt.spnego };
	strbuf plain = { 0 }, scratch = { 0 };
	conn c = { 0 };
	seal_ctx *s = NULL;
	unsigned long n = 0;
	OM_uint32 minor;
	double t0, end, t;
	bool ready = true;

	if (opt.mode != MODE_BASIC) {
		gss_import_name(&minor, &tn, GSS_C_NT_HOSTBASED_SERVICE, &target);
		cred[0] = acquire(mech[0]);
		cred[1] = acquire(mech[1]);
		ready = cred[0] != GSS_C_NO_CREDENTIAL && cred[1] != GSS_C_NO_CREDENTIAL;
	}
	if (ready && opt.mode != MODE_HANDSHAKE) {
		ready = conn_open(&c);
		if (ready && opt.mode == MODE_SEALED)
			ready = (s = login(&c, cred[w->id % 2], mech[w->id % 2], target)) != NULL;
	}
	pthread_barrier_wait(&start_line);
	t0 = bench_now_ms();
	end = t0 + opt.seconds * 1e3;
	for (t = t0; ready && t < end; ) {
		double now;
		bool ok;

		make_body(&plain, w->id, n);
		if (opt.mode == MODE_HANDSHAKE) {
			int k = (int)((n + (unsigned long)w->id) % 2);   /* raw NTLM and SPNEGO in turn */

			ok = conn_open(&c) && (s = login(&c, cred[k], mech[k], target)) != NULL &&
			     sealed_request(&c, s, &plain, &scratch);
			seal_free(s);
			s = NULL;
			conn_close(&c);
		} else if (opt.mode == MODE_SEALED) {
			ok = sealed_request(&c, s, &plain, &scratch);
		} else {
			ok = basic_request(&c, &plain);
		}
		n++;
		if (!ok && opt.mode == MODE_SEALED)
			ready = false;   /* the two ends' sequence numbers may be out of step for good */
		now = bench_now_ms();
		if (ok)
			record(w, now - t);
		else
			w->errors++;
		t = now;
	}
	w->rate = t > t0 ? (double)w->n / ((t - t0) / 1e3) : 0;
	if (!ready && w->n == 0)
		w->errors++;
	seal_free(s);
	conn_close(&c);
	strbuf_free(&plain);
	strbuf_free(&scratch);
	for (int i = 0; i < 2; i++)
		gss_release_cred(&minor, &cred[i]);
	gss_release_name(&minor, &target);
	return NULL;
}

/* ---- set-up ------------------------------------------------------------------------------- */

static void usage(void)
{
	fprintf(stderr, "usage: ntlm_client handshake|sealed|basic -p PORT -u USER -c CONNS "
	        "-t SECONDS -b BODYFILE -k CHECK   (password in $BENCH_PASSWORD)\n");
	exit(2);
}

static bool read_body(const char *path)
{
	FILE *f = fopen(path, "rb");
	strbuf b = { 0 };
	char chunk[4096];
	size_t n;
	char *at;

	if (f == NULL)
		return false;
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		strbuf_append(&b, chunk, n);
	fclose(f);
	opt.body_head = strbuf_take(&b);
	if (opt.body_head == NULL)
		return false;
	at = strstr(opt.body_head, "@@ID@@");
	if (at != NULL) {
		*at = '\0';
		opt.body_tail = at + 6;
	}
	return true;
}

static void parse_args(int argc, char **argv)
{
	int port = 0, c;
	const char *body = NULL;
	char userpass[256];

	if (argc < 2)
		usage();
	opt.mode_name = argv[1];
	if (strcmp(argv[1], "handshake") == 0)
		opt.mode = MODE_HANDSHAKE;
	else if (strcmp(argv[1], "sealed") == 0)
		opt.mode = MODE_SEALED;
	else if (strcmp(argv[1], "basic") == 0)
		opt.mode = MODE_BASIC;
	else
		usage();
	optind = 2;
	while ((c = getopt(argc, argv, "p:u:c:t:b:k:")) != -1) {
		switch (c) {
		case 'p': port = atoi(optarg); break;
		case 'u': opt.user = optarg; break;
		case 'c': opt.conns = atoi(optarg); break;
		case 't': opt.seconds = atof(optarg); break;
		case 'b': body = optarg; break;
		case 'k': opt.check = optarg; break;
		default: usage();
		}
	}
	opt.password = getenv("BENCH_PASSWORD");
	if (port <= 0 || port > 65535 || opt.user == NULL || opt.conns < 1 || opt.conns > 256 ||
	    opt.seconds <= 0 || body == NULL || opt.check == NULL || opt.password == NULL || optind != argc)
		usage();
	if (!read_body(body)) {
		fprintf(stderr, "ntlm_client: cannot read %s\n", body);
		exit(1);
	}
	snprintf(opt.url, sizeof opt.url, "http://127.0.0.1:%d/wsman", port);
	snprintf(userpass, sizeof userpass, "%s:%s", opt.user, opt.password);
	memcpy(opt.basic, "Basic ", 6);
	if (!nego_b64(userpass, strlen(userpass), opt.basic + 6, sizeof opt.basic - 6))
		usage();
	explicit_bzero(userpass, sizeof userpass);
	if (getrandom(&opt.nonce, sizeof opt.nonce, 0) != sizeof opt.nonce)
		opt.nonce = (uint32_t)getpid();
	opt.ntlm = (gss_OID_desc){ 10, (void *)"\x2b\x06\x01\x04\x01\x82\x37\x02\x02\x0a" };
	opt.spnego = (gss_OID_desc){ 6, (void *)"\x2b\x06\x01\x05\x05\x02" };
}

int main(int argc, char **argv)
{
	worker *w;
	double *all, rate = 0;
	size_t total = 0, k = 0;
	long errors = 0;

	parse_args(argc, argv);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	w = calloc((size_t)opt.conns, sizeof *w);
	if (w == NULL || pthread_barrier_init(&start_line, NULL, (unsigned)opt.conns) != 0)
		return 1;
	for (int i = 0; i < opt.conns; i++) {
		w[i].id = i;
		if (pthread_create(&w[i].t, NULL, run, &w[i]) != 0)
			return 1;
	}
	for (int i = 0; i < opt.conns; i++) {
		pthread_join(w[i].t, NULL);
		total += w[i].n;
		errors += w[i].errors;
		rate += w[i].rate;
	}
	all = malloc((total ? total : 1) * sizeof *all);
	if (all == NULL)
		return 1;
	for (int i = 0; i < opt.conns; i++) {
		if (w[i].n > 0)
			memcpy(all + k, w[i].ms, w[i].n * sizeof *all);
		k += w[i].n;
		free(w[i].ms);
	}
	bench_sort(all, (int)total);
	printf("%s conns=%d ops=%zu rate=%.1f p50=%.3f p99=%.3f errors=%ld\n", opt.mode_name,
	       opt.conns, total, rate, total ? all[total / 2] : 0.0,
	       total ? all[(size_t)((double)(total - 1) * 0.99)] : 0.0, errors);
	free(all);
	free(w);
	free(opt.body_head);
	curl_global_cleanup();
	return errors == 0 && total > 0 ? 0 : 1;
}
