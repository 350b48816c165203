/*
 * client.c -- the WS-Management client behind `rdms` (see client.h).
 *
 * It sends what a WinRM client sends (the WMI ResourceURI form, optimized
 * enumeration plus Pulls, WQL on the wildcard URI, custom-action invoke) so
 * that it works against rdmsd and against Windows alike, and reads replies
 * with the same hardened libxml2 reader and namespace-URI matching as the
 * server (src/wsman).  The transport is libcurl: the daemon's Unix socket
 * (the daemon identifies us by peer credentials) or an http(s) URL with
 * preemptive Basic authentication.
 *
 * A SOAP fault becomes an rdms_error: the WMI code comes from the
 * MSFT_WmiError error_Code, else a WSManFault Code that is a WMI code,
 * else the CIM status, else the subcode; the text from s:Reason.  A
 * method's ReturnValue other than 0 is no fault: its reason, when rdmsd
 * gives one, comes from the response header rdms:ReturnValueText.
 */
#include "client_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <linux/sockios.h>
#include <sys/ioctl.h>

#include <libxml/parser.h>

#include "../common/log.h"
#include "../common/monotime.h"

#define DEFAULT_SOCKET   "/run/rdms/rdmsd.sock"
#define MAX_REPLY        (256u << 20)    /* bytes of one reply we accept */
#define PAGE_ELEMENTS    1000
#define ENVELOPE_SIZE    "512000"        /* what PowerShell asks for */
#define MAX_PULLS        1000000
#define DEFAULT_TIMEOUT_S 300L           /* a whole exchange, and OperationTimeout */

/* ---- transport ---------------------------------------------------------- */

static size_t on_data(char *data, size_t size, size_t n, void *arg)
{
	rdms_client *c = arg;
	size_t len = size * n;

	if (c->reply.len + len > (c->max_reply != 0 ? c->max_reply : MAX_REPLY)) {
		c->reply_too_big = true;
		return 0;
	}
	strbuf_append(&c->reply, data, len);
	return c->reply.failed ? 0 : len;
}

/* The at_most_once request's body, read by libcurl once: there is no rewinding it. */
static size_t on_read(char *buf, size_t size, size_t n, void *arg)
{
	rdms_client *c = arg;
	size_t left = c->body->len - c->body_sent, len = size * n < left ? size * n : left;

	memcpy(buf, c->body->data + c->body_sent, len);
	c->body_sent += len;
	return len;
}

/*
 * True once the request has been out for ack_timeout_ms and the server's
 * TCP still has not acknowledged what was written to it (the kernel's send
 * queue holds unacknowledged bytes): the peer is cut off, and did not get
 * the request whole.  Counted from when the request went out, not from the
 * transfer's start: a slow connect and TLS handshake (a loaded machine,
 * valgrind) would otherwise leave the request's first bytes, written just
 * now and not yet acknowledged, looking ack_timeout_ms old.
 */
static bool unacknowledged(rdms_client *c)
{
	int queued = 0;

	if (c->ack_timeout_ms <= 0 || c->sent_ms < 0 || mono_ms() - c->sent_ms < c->ack_timeout_ms)
		return false;
	return c->sock >= 0 && ioctl(c->sock, SIOCOUTQ, &queued) == 0 && queued > 0;
}

/*
 * The connection's socket, as libcurl makes and closes it (one connection
 * kept: the ack check's; CURLINFO_ACTIVESOCKET names only a finished
 * transfer's).
 */
static int on_sockopt(void *arg, curl_socket_t fd, curlsocktype purpose)
{
	rdms_client *c = arg;

	if (purpose == CURLSOCKTYPE_IPCXN)
		c->sock = fd;
	return CURL_SOCKOPT_OK;
}

static int on_close_socket(void *arg, curl_socket_t fd)
{
	rdms_client *c = arg;

	if (c->sock == fd)
		c->sock = -1;
	return close(fd);
}

/*
 * CURLOPT_PREREQFUNCTION: the connection is up (new, TLS handshake done, or
 * kept) and the request goes out now -- the start of the ack clock.
 */
static int on_prereq(void *arg, char *primary_ip, char *local_ip, int primary_port,
                     int local_port)
{
	rdms_client *c = arg;

	(void)primary_ip, (void)local_ip, (void)primary_port, (void)local_port;
	c->sent_ms = mono_ms();
	return CURL_PREREQFUNC_OK;
}

/*
 * A libcurl progress function (called about once a second, and on every
 * bit of progress): aborts the transfer once the interrupt flag is set, or
 * the server has not acknowledged the request in time.
 */
static int on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
	rdms_client *c = arg;

	(void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
	if (c->interrupt != NULL && *c->interrupt)
		return 1;
	if (unacknowledged(c)) {
		/*
		 * Reset, not closed: a plain close leaves the request in the
		 * kernel's send queue, which goes on sending it -- a host cut off
		 * for a second would get it, and run it, after the broker had said
		 * "did not get it, a retry is safe".  Lingering 0 s, the close
		 * drops the queue and sends RST instead of FIN.
		 */
		struct linger reset = { .l_onoff = 1, .l_linger = 0 };

		(void)setsockopt(c->sock, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
		c->last.unacked = true;
		return 1;
	}
	return 0;
}

void rdms_client_interrupt_on(rdms_client *c, const volatile sig_atomic_t *flag)
{
	c->interrupt = flag;
	curl_easy_setopt(c->curl, CURLOPT_NOPROGRESS,
	                 flag != NULL || c->ack_timeout_ms > 0 ? 0L : 1L);
}

void rdms_client_next_call(rdms_client *c, const char *message_id, const char *extra,
                           long timeout_ms)
{
	c->next_message_id = message_id;
	c->next_extra = extra;
	c->next_timeout_ms = timeout_ms;
}

void rdms_client_last_exchange(const rdms_client *c, rdms_exchange *x)
{
	*x = c->last;
}

/* URL with "/wsman" added when it names no path. */
static char *endpoint_url(const char *url)
{
	const char *host = strstr(url, "://");
	size_t n = strlen(url);
	char *s;

	if (host == NULL || strchr(host + 3, '/') != NULL)
		return strdup(url);
	s = malloc(n + sizeof "/wsman");
	if (s != NULL) {
		memcpy(s, url, n);
		memcpy(s + n, "/wsman", sizeof "/wsman");
	}
	return s;
}

/* True for a libcurl failure after which another URL may be tried with the same request. */
static bool connection_failed(CURLcode rc)
{
	switch (rc) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_GOT_NOTHING:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
		return true;
	default:
		return false;
	}
}

/*
 * A broker that answered 503 (its directory fails, spec/fleet.md 3.9) ran
 * nothing: with another endpoint to try, the request goes there.
 */
static bool unavailable(rdms_client *c, CURLcode rc)
{
	long status = 0;

	if (rc != CURLE_OK || c->nurls < 2)
		return false;
	curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &status);
	return status == 503;
}

uint32_t rdms_client_check_urls(const char *list, rdms_error *err)
{
	for (const char *p = list;; p++) {
		size_t len = strcspn(p, ",");

		if (strncasecmp(p, "http://", 7) != 0 && strncasecmp(p, "https://", 8) != 0)
			return rdms_fail(err, WBEM_E_INVALID_PARAMETER, "host URL '%.*s' must start with "
			                 "http:// or https://", (int)(len > 200 ? 200 : len), p);
		p += len;
		if (*p == '\0')
			return WBEM_S_NO_ERROR;
	}
}

/*
 * The endpoints of LIST (checked: rdms_client_check_urls), each with
 * "/wsman" added when it names no path, into C.
 */
static bool parse_urls(rdms_client *c, const char *list, rdms_error *err)
{
	size_t n = 1;

	if (rdms_client_check_urls(list, err) != WBEM_S_NO_ERROR)
		return false;
	for (const char *p = list; *p; p++)
		n += *p == ',';
	if ((c->urls = calloc(n, sizeof *c->urls)) == NULL) {
		rdms_fail(err, WBEM_E_OUT_OF_MEMORY, "out of memory");
		return false;
	}
	for (const char *p = list;; p++) {
		size_t len = strcspn(p, ",");
		char *one = strndup(p, len);

		c->urls[c->nurls] = one != NULL ? endpoint_url(one) : NULL;
		free(one);
		if (c->urls[c->nurls++] == NULL) {
			rdms_fail(err, WBEM_E_OUT_OF_MEMORY, "out of memory");
			return false;
		}
		p += len;
		if (*p == '\0')
			return true;
	}
}

rdms_client *rdms_client_new(const rdms_client_options *o, rdms_error *err)
{
	static bool curl_ready;
	rdms_client *c;
	CURLcode rc = CURLE_OK;

	if (!curl_ready) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
			rdms_fail(err, WBEM_E_TRANSPORT_FAILURE, "cannot initialise libcurl");
			return NULL;
		}
		xmlInitParser();
		curl_ready = true;
	}
	c = calloc(1, sizeof *c);
	if (c == NULL) {
		rdms_fail(err, WBEM_E_OUT_OF_MEMORY, "out of memory");
		return NULL;
	}
	if (!parse_urls(c, o->url != NULL ? o->url : "http://localhost/wsman", err)) {
		rdms_client_free(c);
		return NULL;
	}
	c->url = c->urls[0];
	if ((c->curl = curl_easy_init()) == NULL)
		goto oom;
	c->headers = curl_slist_append(NULL, "Content-Type: application/soap+xml;charset=UTF-8");
	if (c->headers == NULL)
		goto oom;
	/* No "Expect: 100-continue" round trip before each body. */
	struct curl_slist *h = curl_slist_append(c->headers, "Expect:");
	if (h == NULL)
		goto oom;
	c->headers = h;

	rc |= curl_easy_setopt(c->curl, CURLOPT_URL, c->url);
	rc |= curl_easy_setopt(c->curl, CURLOPT_PROTOCOLS_STR, "http,https");
	rc |= curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, c->headers);
	rc |= curl_easy_setopt(c->curl, CURLOPT_USERAGENT, "rdms/" "0.1");
	rc |= curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, on_data);
	rc |= curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, c);
	rc |= curl_easy_setopt(c->curl, CURLOPT_ERRORBUFFER, c->errbuf);
	rc |= curl_easy_setopt(c->curl, CURLOPT_XFERINFOFUNCTION, on_progress);
	rc |= curl_easy_setopt(c->curl, CURLOPT_XFERINFODATA, c);
	rc |= curl_easy_setopt(c->curl, CURLOPT_NOSIGNAL, 1L);
	/* with brokers to fall back on, one that does not answer is given up on sooner */
	rc |= curl_easy_setopt(c->curl, CURLOPT_CONNECTTIMEOUT_MS,
	                       o->connect_timeout_ms > 0 ? o->connect_timeout_ms
	                       : c->nurls > 1 ? 5000L : 30000L);
	rc |= curl_easy_setopt(c->curl, CURLOPT_TIMEOUT, (long)DEFAULT_TIMEOUT_S);
	if (o->url == NULL) {
		rc |= curl_easy_setopt(c->curl, CURLOPT_UNIX_SOCKET_PATH,
		                       o->socket_path != NULL ? o->socket_path : DEFAULT_SOCKET);
	} else if (o->user != NULL) {
		rc |= curl_easy_setopt(c->curl, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		rc |= curl_easy_setopt(c->curl, CURLOPT_USERNAME, o->user);
		rc |= curl_easy_setopt(c->curl, CURLOPT_PASSWORD,
		                       o->password != NULL ? o->password : "");
	}
	if (o->insecure) {
		rc |= curl_easy_setopt(c->curl, CURLOPT_SSL_VERIFYPEER, 0L);
		rc |= curl_easy_setopt(c->curl, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	c->at_most_once = o->at_most_once;
	c->ack_timeout_ms = o->ack_timeout_ms;
	if (c->at_most_once) {
		/*
		 * The body comes from on_read, and libcurl is given no way to rewind
		 * it: a resend after any of it left fails (CURLE_SEND_FAIL_REWIND)
		 * instead of running the call twice.
		 */
		rc |= curl_easy_setopt(c->curl, CURLOPT_READFUNCTION, on_read);
		rc |= curl_easy_setopt(c->curl, CURLOPT_READDATA, c);
	}
	c->sock = -1;
	if (c->ack_timeout_ms > 0) {
		rc |= curl_easy_setopt(c->curl, CURLOPT_NOPROGRESS, 0L);
		rc |= curl_easy_setopt(c->curl, CURLOPT_SOCKOPTFUNCTION, on_sockopt);
		rc |= curl_easy_setopt(c->curl, CURLOPT_SOCKOPTDATA, c);
		rc |= curl_easy_setopt(c->curl, CURLOPT_CLOSESOCKETFUNCTION, on_close_socket);
		rc |= curl_easy_setopt(c->curl, CURLOPT_CLOSESOCKETDATA, c);
		rc |= curl_easy_setopt(c->curl, CURLOPT_PREREQFUNCTION, on_prereq);
		rc |= curl_easy_setopt(c->curl, CURLOPT_PREREQDATA, c);
	}
	if (o->tls_setup != NULL && !o->tls_setup(c->curl, o->tls_ctx))
		rc |= CURLE_BAD_FUNCTION_ARGUMENT;
	if (rc != CURLE_OK) {
		rdms_fail(err, WBEM_E_TRANSPORT_FAILURE, "libcurl rejected an option");
		rdms_client_free(c);
		return NULL;
	}
	return c;
oom:
	rdms_fail(err, WBEM_E_OUT_OF_MEMORY, "out of memory");
	rdms_client_free(c);
	return NULL;
}

void rdms_client_free(rdms_client *c)
{
	if (c == NULL)
		return;
	if (c->curl != NULL)
		curl_easy_cleanup(c->curl);
	curl_slist_free_all(c->headers);
	for (size_t i = 0; i < c->nurls; i++)
		free(c->urls[i]);
	free(c->urls);
	strbuf_free(&c->reply);
	free(c);
}

/* ---- faults ------------------------------------------------------------- */

xmlNode *client_soap_body(xmlDoc *doc)
{
	xmlNode *root = xmlDocGetRootElement(doc), *body = NULL;

	if (wsman_is(root, NS_SOAP, "Envelope"))
		for (xmlNode *n = wsman_first_elem(root); n != NULL; n = wsman_next_elem(n))
			if (wsman_is(n, NS_SOAP, "Body"))
				body = n;
	return body;
}

xmlNode *client_find_desc(const xmlNode *n, const char *name)
{
	for (xmlNode *c = n != NULL ? n->children : NULL; c != NULL; c = c->next) {
		xmlNode *hit;

		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (strcmp((const char *)c->name, name) == 0)
			return c;
		if ((hit = client_find_desc(c, name)) != NULL)
			return hit;
	}
	return NULL;
}

bool client_node_u32(const xmlNode *n, uint32_t *out)
{
	xmlChar *t = xmlNodeGetContent(n);
	char *end;
	unsigned long long v;
	bool ok = false;

	if (t != NULL) {
		v = strtoull((char *)t, &end, 10);
		while (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r')
			end++;
		ok = end != (char *)t && *end == '\0' && v <= UINT32_MAX;
		if (ok)
			*out = (uint32_t)v;
		xmlFree(t);
	}
	return ok;
}

static uint32_t code_from_cim_status(uint32_t st)
{
	static const struct { uint32_t st, code; } map[] = {
		{ 1, WBEM_E_FAILED }, { 2, WBEM_E_ACCESS_DENIED }, { 3, WBEM_E_INVALID_NAMESPACE },
		{ 4, WBEM_E_INVALID_PARAMETER }, { 5, WBEM_E_INVALID_CLASS }, { 6, WBEM_E_NOT_FOUND },
		{ 7, WBEM_E_NOT_SUPPORTED }, { 12, WBEM_E_INVALID_PROPERTY },
		{ 13, WBEM_E_TYPE_MISMATCH }, { 14, WBEM_E_INVALID_QUERY_TYPE },
		{ 15, WBEM_E_INVALID_QUERY }, { 16, WBEM_E_METHOD_NOT_IMPLEMENTED },
		{ 17, WBEM_E_INVALID_METHOD },
	};

	for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
		if (map[i].st == st)
			return map[i].code;
	return WBEM_E_FAILED;
}

static uint32_t code_from_subcode(const char *qname)
{
	static const struct { const char *local; uint32_t code; } map[] = {
		{ "DestinationUnreachable", WBEM_E_NOT_FOUND },
		{ "InvalidSelectors", WBEM_E_INVALID_OBJECT_PATH },
		{ "AccessDenied", WBEM_E_ACCESS_DENIED },
		{ "ActionNotSupported", WBEM_E_INVALID_METHOD },
		{ "CannotProcessFilter", WBEM_E_INVALID_QUERY },
		{ "FilterDialectRequestedUnavailable", WBEM_E_INVALID_QUERY_TYPE },
		{ "InvalidEnumerationContext", WBEM_E_INVALID_CONTEXT },
		{ "EncodingLimit", WBEM_E_TOO_MUCH_DATA },
		{ "InvalidParameter", WBEM_E_INVALID_PARAMETER },
		{ "UnsupportedFeature", WBEM_E_NOT_SUPPORTED },
		{ "TimedOut", WBEM_E_TIMED_OUT },
		{ "QuotaLimit", WBEM_E_QUOTA_VIOLATION },
	};
	const char *local = strchr(qname, ':');

	local = local != NULL ? local + 1 : qname;
	for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
		if (strcmp(map[i].local, local) == 0)
			return map[i].code;
	return WBEM_E_FAILED;
}

/* The WMI code of the WSManFault elements under DETAIL that is one, or 0. */
static uint32_t wsman_fault_code(const xmlNode *n)
{
	for (xmlNode *c = n->children; c != NULL; c = c->next) {
		uint32_t code;

		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (wsman_is(c, NS_WSMANFAULT, "WSManFault")) {
			xmlChar *v = xmlGetProp(c, (const xmlChar *)"Code");
			unsigned long long u = v != NULL ? strtoull((char *)v, NULL, 10) : 0;

			xmlFree(v);
			if (u <= UINT32_MAX && wbem_failed((uint32_t)u) && wbem_lookup((uint32_t)u))
				return (uint32_t)u;
		}
		if ((code = wsman_fault_code(c)) != 0)
			return code;
	}
	return 0;
}

/*
 * ERR's message on one line: a server's text in it (a reason, a bad value)
 * may hold line breaks or a terminal's escapes.
 */
static uint32_t one_line(rdms_error *err)
{
	str_blank_controls(err->message);
	return err->code;
}

/* TEXT, as the server's reason for CODE, into ERR: trimmed, one line (one_line). */
static void reason_error(rdms_error *err, uint32_t code, char *text)
{
	const char *s = text != NULL ? str_trim_space(text) : "";

	rdms_fail(err, code, "%s", *s ? s : wbem_name(code));
	one_line(err);
}

static uint32_t fault_error(const xmlNode *fault, rdms_error *err)
{
	xmlNode *detail = client_find_desc(fault, "Detail"), *n;
	xmlNode *reason = client_find_desc(fault, "Reason");
	xmlNode *subcode = client_find_desc(fault, "Subcode");
	xmlChar *text = reason != NULL ? xmlNodeGetContent(reason) : NULL;
	uint32_t code = 0, v;

	if (detail != NULL) {
		if ((n = client_find_desc(detail, "error_Code")) != NULL && client_node_u32(n, &v) && wbem_failed(v))
			code = v;
		if (code == 0)
			code = wsman_fault_code(detail);
		if (code == 0 && (n = client_find_desc(detail, "CIMStatusCode")) != NULL && client_node_u32(n, &v))
			code = code_from_cim_status(v);
	}
	if (code == 0 && subcode != NULL && (n = client_find_desc(subcode, "Value")) != NULL) {
		xmlChar *q = xmlNodeGetContent(n);

		code = code_from_subcode(q != NULL ? (char *)q : "");
		xmlFree(q);
	}
	if (code == 0)
		code = WBEM_E_FAILED;
	reason_error(err, code, (char *)text);
	xmlFree(text);
	return code;
}

/*
 * The reason rdmsd gives for a method's ReturnValue RV (not 0) in the
 * response header rdms:ReturnValueText, into ERR; a server that gives none
 * (WinRM) leaves ERR as it is.
 */
static void return_value_text(xmlDoc *doc, uint32_t rv, rdms_error *err)
{
	xmlNode *root = xmlDocGetRootElement(doc);

	for (xmlNode *h = wsman_first_elem(root); h != NULL; h = wsman_next_elem(h)) {
		if (!wsman_is(h, NS_SOAP, "Header"))
			continue;
		for (xmlNode *n = wsman_first_elem(h); n != NULL; n = wsman_next_elem(n)) {
			if (wsman_is(n, NS_RDMS, "ReturnValueText")) {
				xmlChar *text = xmlNodeGetContent(n);

				reason_error(err, rv, (char *)text);
				xmlFree(text);
				return;
			}
		}
	}
}

/* REQ with its wsa:To naming URL (the request is ours: one wsa:To, as written). */
static bool readdress(strbuf *req, const char *url)
{
	static const char open[] = "<wsa:To>", close[] = "</wsa:To>";
	char *to = strstr(req->data, open), *end = to != NULL ? strstr(to, close) : NULL;
	strbuf b = { 0 };

	if (end == NULL)
		return true;
	strbuf_append(&b, req->data, (size_t)(to - req->data) + sizeof open - 1);
	wsman_escape(&b, url, false);
	strbuf_append(&b, end, req->len - (size_t)(end - req->data));
	if (b.failed) {
		strbuf_free(&b);
		return false;
	}
	strbuf_free(req);
	*req = b;
	return true;
}

/* What the transfer just ended did: sent any of the request, got an answer. */
static void note_exchange(rdms_client *c)
{
	long request_bytes = 0, status = 0, connects = 0;

	curl_easy_getinfo(c->curl, CURLINFO_REQUEST_SIZE, &request_bytes);
	curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_getinfo(c->curl, CURLINFO_NUM_CONNECTS, &connects);
	c->last.sent = request_bytes > 0 && !c->last.unacked;
	c->last.answered = status != 0;
	c->last.reused = connects == 0;
}

/*
 * Sends REQ to the endpoint in use and, when it cannot be reached (or
 * gives no answer, or is a broker answering 503), to the next ones in turn: the same request, the same
 * MessageID, so that a broker that did receive it runs it once.  The one
 * that answered stays in use.
 */
static CURLcode perform(rdms_client *c, strbuf *req)
{
	CURLcode rc = CURLE_OK;

	for (size_t tried = 0; tried < c->nurls; tried++) {
		size_t at = (c->cur + tried) % c->nurls;

		if (tried > 0) {
			log_debug("%s: %s; trying %s", c->url, c->errbuf[0] ? c->errbuf
			          : curl_easy_strerror(rc), c->urls[at]);
			if (!readdress(req, c->urls[at]))
				return CURLE_OUT_OF_MEMORY;
			strbuf_free(&c->reply);
			c->errbuf[0] = '\0';
		}
		c->cur = at;
		c->url = c->urls[at];
		curl_easy_setopt(c->curl, CURLOPT_URL, c->url);
		if (c->at_most_once) {
			c->body = req;
			c->body_sent = 0;
			curl_easy_setopt(c->curl, CURLOPT_POST, 1L);
		} else {
			curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, req->data);
		}
		curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE, (long)req->len);
		c->sent_ms = -1;        /* on_prereq starts the ack clock */
		c->last.unacked = false;
		rc = curl_easy_perform(c->curl);
		note_exchange(c);
		if ((!connection_failed(rc) && !unavailable(c, rc)) || c->reply_too_big)
			break;
	}
	return rc;
}

uint32_t client_post(rdms_client *c, strbuf *req, xmlDoc **doc, xmlNode **body_elem,
                     rdms_error *err)
{
	long status = 0;
	CURLcode rc;

	*doc = NULL;
	*body_elem = NULL;      /* both outputs defined on every return */
	c->last = (rdms_exchange){ false, false, false, false };
	/* rdms_client_next_call's settings are this request's only */
	c->next_message_id = c->next_extra = NULL;
	if (req->failed)
		return rdms_fail(err, WBEM_E_OUT_OF_MEMORY, "out of memory");
	if (c->next_timeout_ms > 0)
		curl_easy_setopt(c->curl, CURLOPT_TIMEOUT_MS, c->next_timeout_ms);
	strbuf_free(&c->reply);
	c->reply_too_big = false;
	c->errbuf[0] = '\0';
	rc = perform(c, req);
	if (c->next_timeout_ms > 0) {
		curl_easy_setopt(c->curl, CURLOPT_TIMEOUT, (long)DEFAULT_TIMEOUT_S);
		c->next_timeout_ms = 0;
	}
	if (c->reply_too_big)
		return rdms_fail(err, WBEM_E_TOO_MUCH_DATA, "the reply from %s is larger than %u MiB",
		                 c->url, MAX_REPLY >> 20);
	if (rc == CURLE_ABORTED_BY_CALLBACK && c->last.unacked)
		return rdms_fail(err, WBEM_E_TRANSPORT_FAILURE, "%s has not acknowledged the request "
		                 "within %ld ms", c->url, c->ack_timeout_ms);
	if (rc == CURLE_ABORTED_BY_CALLBACK)
		return rdms_fail(err, WBEM_E_CALL_CANCELLED, "interrupted");
	if (rc != CURLE_OK)
		return rdms_fail(err, WBEM_E_TRANSPORT_FAILURE, "cannot talk to %s: %s", c->url,
		                 c->errbuf[0] ? c->errbuf : curl_easy_strerror(rc));
	curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &status);
	if (status == 401)
		return rdms_fail(err, WBEM_E_ACCESS_DENIED, "%s refused the credentials (HTTP 401)",
		                 c->url);
	return client_reply_parse(c->url, c->reply.data, c->reply.len, status, doc, body_elem,
	                          err);
}

uint32_t client_reply_parse(const char *url, const char *data, size_t len, long status,
                            xmlDoc **doc, xmlNode **body_elem, rdms_error *err)
{
	wsman_fault f;
	xmlNode *n;

	*body_elem = NULL;
	*doc = len > 0 ? wsman_xml_read(data, len, &f) : NULL;
	if (*doc == NULL)
		return rdms_fail(err, WBEM_E_TRANSPORT_FAILURE,
		                 "%s answered HTTP %ld without a SOAP reply", url, status);
	if ((*body_elem = client_soap_body(*doc)) == NULL)
		return rdms_fail(err, WBEM_E_TRANSPORT_FAILURE, "%s answered HTTP %ld without a "
		                 "SOAP envelope", url, status);
	n = wsman_first_elem(*body_elem);
	if (n != NULL && wsman_is(n, NS_SOAP, "Fault"))
		return fault_error(n, err);
	if (status != 200)
		return rdms_fail(err, WBEM_E_TRANSPORT_FAILURE, "%s answered HTTP %ld", url, status);
	return WBEM_S_NO_ERROR;
}

/* ---- requests ----------------------------------------------------------- */

char *client_resource_uri(const char *ns, const cim_class *cls)
{
	strbuf b = { 0 };

	strbuf_puts(&b, URI_WMI_PREFIX);
	for (const char *p = ns; *p; p++)
		strbuf_append(&b, *p == '\\' ? "/" : p, 1);
	strbuf_puts(&b, "/");
	strbuf_puts(&b, cls != NULL ? cls->name : "*");
	return strbuf_take(&b);
}

/* Seconds the server may take: the default, or a waiting message's time and a minute. */
static long operation_timeout(const rdms_message_options *mopt)
{
	long t = mopt != NULL && mopt->wait ? (long)mopt->timeout_s + 60 : 0;

	return t > DEFAULT_TIMEOUT_S ? t : DEFAULT_TIMEOUT_S;
}

/*
 * The envelope up to the body, with SendMessage's options (MOPT, may be
 * NULL) in a w:OptionSet: options of the invoke, not parameters of the
 * method, whose signature stays SendMessage(Title, Message).
 */
static void envelope_head_opts(strbuf *b, const rdms_client *c, const char *action,
                               const char *uri, const cim_path *path,
                               const rdms_message_options *mopt, const char *extra)
{
	char id[WSMAN_MAX_ID_LEN + 1];

	if (c->next_message_id != NULL)
		str_copy(id, sizeof id, c->next_message_id);
	else
		wsman_uuid(id, sizeof id);
	PUTS(b, "<s:Envelope xmlns:s=\"" NS_SOAP "\" xmlns:wsa=\"" NS_WSA
	        "\" xmlns:wsman=\"" NS_WSMAN "\" xmlns:wsen=\"" NS_WSEN "\"><s:Header><wsa:To>");
	wsman_escape(b, c->url, false);
	PUTS(b, "</wsa:To><wsman:ResourceURI s:mustUnderstand=\"true\">");
	wsman_escape(b, uri, false);
	PUTS(b, "</wsman:ResourceURI><wsa:ReplyTo><wsa:Address s:mustUnderstand=\"true\">"
	        URI_ANONYMOUS "</wsa:Address></wsa:ReplyTo><wsa:Action s:mustUnderstand=\"true\">");
	wsman_escape(b, action, false);
	PUTS(b, "</wsa:Action><wsman:MaxEnvelopeSize s:mustUnderstand=\"true\">" ENVELOPE_SIZE
	        "</wsman:MaxEnvelopeSize><wsa:MessageID>");
	strbuf_puts(b, id);
	PUTS(b, "</wsa:MessageID><wsman:Locale xml:lang=\"en-US\" s:mustUnderstand=\"false\"/>");
	strbuf_printf(b, "<wsman:OperationTimeout>PT%ldS</wsman:OperationTimeout>",
	              operation_timeout(mopt));
	if (mopt != NULL && rdms_message_options_given(mopt)) {
		PUTS(b, "<wsman:OptionSet>");
		if (mopt->timeout_s != 0)
			strbuf_printf(b, "<wsman:Option Name=\"" RDMS_MESSAGE_OPT_TIMEOUT "\" "
			              "Type=\"xs:unsignedInt\">%u</wsman:Option>",
			              (unsigned)mopt->timeout_s);
		if (mopt->wait)
			PUTS(b, "<wsman:Option Name=\"" RDMS_MESSAGE_OPT_WAIT "\" "
			        "Type=\"xs:boolean\">true</wsman:Option>");
		PUTS(b, "</wsman:OptionSet>");
	}
	if (path != NULL && path->nkeys > 0) {
		PUTS(b, "<wsman:SelectorSet>");
		for (size_t i = 0; i < path->nkeys; i++) {
			char buf[64];
			const cim_value *v = &path->keys[i].value;

			PUTS(b, "<wsman:Selector Name=\"");
			wsman_escape(b, path->keys[i].name, true);
			PUTS(b, "\">");
			if (v->type == CIM_TYPE_STRING || v->type == CIM_TYPE_DATETIME)
				wsman_escape(b, v->u.str != NULL ? v->u.str : "", false);
			else
				wsman_escape(b, cim_value_text(v, buf, sizeof buf), false);
			PUTS(b, "</wsman:Selector>");
		}
		PUTS(b, "</wsman:SelectorSet>");
	}
	if (extra != NULL)
		strbuf_puts(b, extra);
	if (c->next_extra != NULL)
		strbuf_puts(b, c->next_extra);
	PUTS(b, "</s:Header><s:Body>");
}

void client_envelope_head(strbuf *b, const rdms_client *c, const char *action,
                          const char *uri, const cim_path *path)
{
	envelope_head_opts(b, c, action, uri, path, NULL, NULL);
}

void client_envelope_head_extra(strbuf *b, const rdms_client *c, const char *action,
                                const char *uri, const char *extra)
{
	envelope_head_opts(b, c, action, uri, NULL, NULL, extra);
}

void client_envelope_tail(strbuf *b)
{
	PUTS(b, "</s:Body></s:Envelope>");
}

/* ---- instances ---------------------------------------------------------- */

static bool is_nil(const xmlNode *n)
{
	xmlChar *v = xmlGetNsProp(n, (const xmlChar *)"nil", (const xmlChar *)NS_XSI);
	bool yes = v != NULL && (strcmp((char *)v, "true") == 0 || strcmp((char *)v, "1") == 0);

	xmlFree(v);
	return yes;
}

uint32_t client_read_instance(const xmlNode *e, const cim_class *cls, bool any_ns,
                              cim_instance **out, rdms_error *err)
{
	cim_instance *inst = cim_instance_new(cls);

	*out = NULL;
	if (inst == NULL)
		return rdms_fail(err, WBEM_E_OUT_OF_MEMORY, "out of memory");
	for (xmlNode *p = wsman_first_elem(e); p != NULL; p = wsman_next_elem(p)) {
		const cim_property *prop = cim_class_property(cls, (const char *)p->name, NULL);
		const xmlNode *src = p;
		cim_value v;
		xmlChar *text;
		char what[160];
		uint32_t rc;

		if (prop == NULL || p->ns == NULL || (!any_ns && (e->ns == NULL
		    || strcmp((char *)p->ns->href, (char *)e->ns->href) != 0)) || is_nil(p))
			continue;
		if (prop->type == CIM_TYPE_DATETIME && wsman_first_elem(p) != NULL)
			src = wsman_first_elem(p);    /* <cim:Datetime> or <cim:Interval> */
		text = xmlNodeGetContent(src);
		if (text == NULL) {
			cim_instance_free(inst);
			return rdms_fail(err, WBEM_E_OUT_OF_MEMORY, "out of memory");
		}
		snprintf(what, sizeof what, "property %s in the reply", prop->name);
		rc = cim_value_parse(prop->type, (char *)text, what, &v, err);
		xmlFree(text);
		if (rc == WBEM_S_NO_ERROR)
			rc = cim_instance_set(inst, prop->name, v, err);
		if (rc != WBEM_S_NO_ERROR) {
			cim_instance_free(inst);
			return one_line(err);
		}
	}
	*out = inst;
	return WBEM_S_NO_ERROR;
}

/* Appends the instances of CLS among the children of ITEMS to OUT. */
static uint32_t read_items(const xmlNode *items, const cim_class *cls,
                           cim_instance_list *out, rdms_error *err)
{
	for (xmlNode *e = wsman_first_elem(items); e != NULL; e = wsman_next_elem(e)) {
		const xmlNode *obj = e;
		cim_instance *inst;
		uint32_t rc;

		if (wsman_is(e, NS_WSMAN, "Item"))
			obj = wsman_first_elem(e);    /* EnumerateObjectAndEPR */
		if (obj == NULL || strcasecmp((const char *)obj->name, cls->name) != 0)
			continue;
		rc = client_read_instance(obj, cls, false, &inst, err);
		if (rc != WBEM_S_NO_ERROR)
			return rc;
		if (!cim_instance_list_push(out, inst)) {
			cim_instance_free(inst);
			return rdms_fail(err, WBEM_E_OUT_OF_MEMORY, "out of memory");
		}
	}
	return WBEM_S_NO_ERROR;
}

/* ---- operations --------------------------------------------------------- */

/*
 * Reads an EnumerateResponse or PullResponse: items into OUT, the next
 * context into *CTX (malloc'd, NULL when the sequence ended).
 */
uint32_t client_read_page(const xmlNode *body, const char *resp, const char *items_ns,
                          const cim_class *cls, cim_instance_list *out, char **ctx,
                          rdms_error *err)
{
	xmlNode *r = wsman_first_elem(body);
	bool end = false;

	*ctx = NULL;
	if (!wsman_is(r, NS_WSEN, resp))
		return rdms_fail(err, WBEM_E_INVALID_STREAM, "the reply is not a wsen:%s", resp);
	for (xmlNode *n = wsman_first_elem(r); n != NULL; n = wsman_next_elem(n)) {
		if (wsman_is(n, NS_WSEN, "EnumerationContext")) {
			xmlChar *t = xmlNodeGetContent(n);
			char *s = t != NULL ? (char *)t : "";

			s += strspn(s, " \t\r\n");
			free(*ctx);
			*ctx = *s ? strndup(s, strcspn(s, " \t\r\n")) : NULL;
			xmlFree(t);
		} else if (wsman_is(n, items_ns, "Items")) {
			uint32_t rc = read_items(n, cls, out, err);
			if (rc != WBEM_S_NO_ERROR) {
				free(*ctx);
				*ctx = NULL;
				return rc;
			}
		} else if (wsman_is(n, items_ns, "EndOfSequence")) {
			end = true;
		}
	}
	if (end) {
		free(*ctx);
		*ctx = NULL;
	}
	return WBEM_S_NO_ERROR;
}

/*
 * The Enumerate of URI (WQL its filter, or NULL) for at most MAX items,
 * EXTRA (may be NULL) ending its header: the items of CLS onto OUT, the
 * context to pull the rest with into *CTX (NULL: nothing is left).
 */
static uint32_t enumerate_first(rdms_client *c, const cim_class *cls, const char *uri,
                                const char *wql, size_t max, const char *extra,
                                cim_instance_list *out, char **ctx, rdms_error *err)
{
	strbuf b = { 0 };
	xmlDoc *doc;
	xmlNode *body;
	uint32_t rc;

	*ctx = NULL;
	client_envelope_head_extra(&b, c, ACTION_ENUMERATE, uri, extra);
	strbuf_printf(&b, "<wsen:Enumerate><wsman:OptimizeEnumeration/><wsman:MaxElements>%zu"
	              "</wsman:MaxElements>", max);
	if (wql != NULL) {
		PUTS(&b, "<wsman:Filter Dialect=\"" DIALECT_WQL "\">");
		wsman_escape(&b, wql, false);
		PUTS(&b, "</wsman:Filter>");
	}
	PUTS(&b, "</wsen:Enumerate>");
	client_envelope_tail(&b);
	rc = client_post(c, &b, &doc, &body, err);
	strbuf_free(&b);
	if (rc == WBEM_S_NO_ERROR)
		rc = client_read_page(body, "EnumerateResponse", NS_WSMAN, cls, out, ctx, err);
	xmlFreeDoc(doc);
	return rc;
}

static uint32_t enumerate(rdms_client *c, const cim_class *cls, const char *wql,
                          cim_instance_list *out, rdms_error *err)
{
	char *uri = client_resource_uri(cls->namespace_, wql != NULL ? NULL : cls);
	char *ctx = NULL;
	strbuf b = { 0 };
	xmlDoc *doc;
	xmlNode *body;
	uint32_t rc;

	if (uri == NULL)
		return rdms_fail(err, WBEM_E_OUT_OF_MEMORY, "out of memory");
	rc = enumerate_first(c, cls, uri, wql, PAGE_ELEMENTS, NULL, out, &ctx, err);
	for (int pulls = 0; rc == WBEM_S_NO_ERROR && ctx != NULL; pulls++) {
		if (pulls == MAX_PULLS) {
			rc = rdms_fail(err, WBEM_E_INVALID_STREAM, "the enumeration does not end");
			break;
		}
		client_envelope_head(&b, c, ACTION_PULL, uri, NULL);
		PUTS(&b, "<wsen:Pull><wsen:EnumerationContext>");
		wsman_escape(&b, ctx, false);
		strbuf_printf(&b, "</wsen:EnumerationContext><wsen:MaxElements>%d"
		              "</wsen:MaxElements></wsen:Pull>", PAGE_ELEMENTS);
		client_envelope_tail(&b);
		free(ctx);
		ctx = NULL;
		rc = client_post(c, &b, &doc, &body, err);
		strbuf_free(&b);
		if (rc == WBEM_S_NO_ERROR)
			rc = client_read_page(body, "PullResponse", NS_WSEN, cls, out, &ctx, err);
		xmlFreeDoc(doc);
	}
	free(ctx);
	free(uri);
	return rc;
}

/* Ends the enumeration CTX of URI on the server (what it holds for it); failures only logged. */
static void release(rdms_client *c, const char *uri, const char *ctx)
{
	strbuf b = { 0 };
	rdms_error err = { 0 };
	xmlDoc *doc = NULL;
	xmlNode *body;

	client_envelope_head(&b, c, ACTION_RELEASE, uri, NULL);
	PUTS(&b, "<wsen:Release><wsen:EnumerationContext>");
	wsman_escape(&b, ctx, false);
	PUTS(&b, "</wsen:EnumerationContext></wsen:Release>");
	client_envelope_tail(&b);
	if (client_post(c, &b, &doc, &body, &err) != WBEM_S_NO_ERROR)
		log_debug("release of an enumeration: %s", err.message);
	strbuf_free(&b);
	xmlFreeDoc(doc);
}

uint32_t rdms_client_page(rdms_client *c, const cim_class *cls, const char *wql,
                          const rdms_key *after, size_t first, cim_instance_list *out,
                          bool *more, rdms_error *err)
{
	char *uri = client_resource_uri(cls->namespace_, wql != NULL ? NULL : cls);
	char *ctx = NULL;
	strbuf h = { 0 };
	uint32_t rc;

	*more = false;
	if (uri == NULL)
		return rdms_fail(err, WBEM_E_OUT_OF_MEMORY, "out of memory");
	/* mustUnderstand: a server without keysets refuses rather than answering page one */
	PUTS(&h, "<rdms:Keyset xmlns:rdms=\"" NS_RDMS "\" s:mustUnderstand=\"true\"");
	if (after != NULL) {
		PUTS(&h, " VMHostName=\"");
		wsman_escape(&h, after->text, true);
		strbuf_printf(&h, "\" SessionId=\"%" PRIu32 "\"", after->num);
	}
	PUTS(&h, "/>");
	rc = h.failed ? rdms_fail(err, WBEM_E_OUT_OF_MEMORY, "out of memory")
	              : enumerate_first(c, cls, uri, wql, first, h.data, out, &ctx, err);
	if (rc == WBEM_S_NO_ERROR && ctx != NULL) {
		*more = true;
		release(c, uri, ctx);
	}
	strbuf_free(&h);
	free(ctx);
	free(uri);
	return rc;
}

uint32_t rdms_client_enumerate(rdms_client *c, const cim_class *cls,
                               cim_instance_list *out, rdms_error *err)
{
	return enumerate(c, cls, NULL, out, err);
}

uint32_t rdms_client_query(rdms_client *c, const cim_class *cls, const char *wql,
                           cim_instance_list *out, rdms_error *err)
{
	return enumerate(c, cls, wql, out, err);
}

uint32_t rdms_client_get(rdms_client *c, const cim_class *cls, const cim_path *path,
                         cim_instance **out, rdms_error *err)
{
	char *uri = client_resource_uri(path->namespace_ != NULL ? path->namespace_ : cls->namespace_,
	                         cls);
	strbuf b = { 0 };
	xmlDoc *doc;
	xmlNode *body, *e;
	uint32_t rc;

	*out = NULL;
	if (uri == NULL)
		return rdms_fail(err, WBEM_E_OUT_OF_MEMORY, "out of memory");
	client_envelope_head(&b, c, ACTION_GET, uri, path);
	client_envelope_tail(&b);
	rc = client_post(c, &b, &doc, &body, err);
	strbuf_free(&b);
	free(uri);
	if (rc == WBEM_S_NO_ERROR) {
		e = wsman_first_elem(body);
		if (e == NULL || strcasecmp((const char *)e->name, cls->name) != 0)
			rc = rdms_fail(err, WBEM_E_INVALID_STREAM,
			               "the GetResponse holds no %s instance", cls->name);
		else
			rc = client_read_instance(e, cls, false, out, err);
	}
	xmlFreeDoc(doc);
	return rc;
}

static void write_args(strbuf *b, const char *uri, const char *method,
                       const rdms_param *in, size_t nin)
{
	PUTS(b, "<p:");
	strbuf_puts(b, method);
	PUTS(b, "_INPUT xmlns:p=\"");
	wsman_escape(b, uri, true);
	PUTS(b, "\" xmlns:xsi=\"" NS_XSI "\">");
	for (size_t i = 0; i < nin; i++) {
		char buf[64];
		const cim_value *v = &in[i].value;

		PUTS(b, "<p:");
		strbuf_puts(b, in[i].name);
		if (v->is_null) {
			PUTS(b, " xsi:nil=\"true\"/>");
			continue;
		}
		PUTS(b, ">");
		if (v->type == CIM_TYPE_STRING || v->type == CIM_TYPE_DATETIME)
			wsman_escape(b, v->u.str != NULL ? v->u.str : "", false);
		else
			wsman_escape(b, cim_value_text(v, buf, sizeof buf), false);
		PUTS(b, "</p:");
		strbuf_puts(b, in[i].name);
		PUTS(b, ">");
	}
	PUTS(b, "</p:");
	strbuf_puts(b, method);
	PUTS(b, "_INPUT>");
}

uint32_t rdms_client_invoke(rdms_client *c, const cim_class *cls, const cim_path *path,
                            const char *method, const rdms_param *in, size_t nin,
                            uint32_t *rv, rdms_error *err)
{
	return rdms_client_invoke_opts(c, cls, path, method, in, nin, NULL, rv, err);
}

uint32_t rdms_client_invoke_opts(rdms_client *c, const cim_class *cls, const cim_path *path,
                                 const char *method, const rdms_param *in, size_t nin,
                                 const rdms_message_options *mopt, uint32_t *rv,
                                 rdms_error *err)
{
	char *uri = client_resource_uri(path->namespace_ != NULL ? path->namespace_ : cls->namespace_,
	                         cls);
	strbuf b = { 0 }, action = { 0 };
	xmlDoc *doc = NULL;
	xmlNode *body;
	uint32_t rc;

	*rv = WBEM_E_FAILED;
	if (uri == NULL)
		return rdms_fail(err, WBEM_E_OUT_OF_MEMORY, "out of memory");
	strbuf_puts(&action, uri);
	strbuf_puts(&action, "/");
	strbuf_puts(&action, method);
	if (action.failed) {
		free(uri);
		return rdms_fail(err, WBEM_E_OUT_OF_MEMORY, "out of memory");
	}
	envelope_head_opts(&b, c, action.data, uri, path, mopt, NULL);
	write_args(&b, uri, method, in, nin);
	client_envelope_tail(&b);
	curl_easy_setopt(c->curl, CURLOPT_TIMEOUT, operation_timeout(mopt));
	rc = client_post(c, &b, &doc, &body, err);
	curl_easy_setopt(c->curl, CURLOPT_TIMEOUT, (long)DEFAULT_TIMEOUT_S);
	strbuf_free(&b);
	strbuf_free(&action);
	free(uri);
	if (rc == WBEM_S_NO_ERROR)
		rc = client_invoke_output(doc, body, method, rv, err);
	xmlFreeDoc(doc);
	return rc;
}

uint32_t client_invoke_output(xmlDoc *doc, const xmlNode *body, const char *method,
                              uint32_t *rv, rdms_error *err)
{
	char want[160];
	xmlNode *e = wsman_first_elem(body), *r;

	snprintf(want, sizeof want, "%s_OUTPUT", method);
	r = e != NULL && strcasecmp((const char *)e->name, want) == 0
	    ? client_find_desc(e, "ReturnValue") : NULL;
	if (r == NULL || !client_node_u32(r, rv))
		return rdms_fail(err, WBEM_E_INVALID_STREAM,
		                 "the reply holds no %s with a ReturnValue", want);
	if (*rv != WBEM_S_NO_ERROR)
		return_value_text(doc, *rv, err);
	return WBEM_S_NO_ERROR;
}
