/*
 * fuzz_cimxml.c -- the CIM-XML front end (src/cimxml): request headers,
 * the DSP0201 body parser, the mapping to operations and the reply writer.
 *
 * The input is a request as captured on the wire: optional request line,
 * header lines, a blank line, then the body (tests/captures/wbemcli-*.req
 * are seeds as they are).  Only the headers rdmsd hands to cimxml_handle()
 * are picked out -- this is a harness, the daemon's HTTP parsing is
 * libmicrohttpd's; a header not given is absent.  Input without a blank
 * line is all body, sent as a MethodCall of XML with no CIMMethod.  Each request runs as an administrator and
 * as an ordinary user; a reply with a body must be well-formed XML.
 */
#include "fuzz.h"

#include <strings.h>

#include <libxml/parser.h>

#include "cimxml/cimxml.h"
#include "fuzz_provider.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc; (void)argv;
	fuzz_provider_init("cimxml");
	xmlInitParser();
	return 0;
}

/* The headers of one request, pointing into a writable copy of the input. */
struct headers {
	const char *op, *method, *object, *ctype;
};

/* Splits "Name: value" lines of TEXT (NUL-terminated, modified in place). */
static void parse_headers(char *text, struct headers *h)
{
	char *save = NULL;

	for (char *line = strtok_r(text, "\r\n", &save); line != NULL;
	     line = strtok_r(NULL, "\r\n", &save)) {
		char *colon = strchr(line, ':');
		char *v;

		if (colon == NULL)
			continue;   /* the request line */
		*colon = '\0';
		for (v = colon + 1; *v == ' ' || *v == '\t'; v++)
			;
		if (strcasecmp(line, "CIMOperation") == 0)
			h->op = v;
		else if (strcasecmp(line, "CIMMethod") == 0)
			h->method = v;
		else if (strcasecmp(line, "CIMObject") == 0)
			h->object = v;
		else if (strcasecmp(line, "Content-Type") == 0)
			h->ctype = v;
	}
}

/* Where the body starts in DATA, or NULL when there is no blank line. */
static const uint8_t *body_start(const uint8_t *data, size_t size)
{
	for (size_t i = 0; i + 1 < size; i++) {
		if (data[i] == '\n' && data[i + 1] == '\n')
			return data + i + 2;
		if (i + 3 < size && memcmp(data + i, "\r\n\r\n", 4) == 0)
			return data + i + 4;
	}
	return NULL;
}

static void check_reply(const cimxml_reply *r)
{
	xmlDoc *doc;

	/* FUZZ_VERBOSE=1 shows the replies, to see how far seeds get. */
	if (getenv("FUZZ_VERBOSE") != NULL)
		fprintf(stderr, "reply %d: %.*s\n", r->http_status, (int)(r->len < 400 ? r->len : 400),
		        r->body ? r->body : "");

	FUZZ_CHECK(r->http_status == 200 || r->http_status == 400 || r->http_status == 406 ||
	           r->http_status == 413 || r->http_status == 501);
	FUZZ_CHECK(r->body != NULL || r->len == 0);
	if (r->cim_error != NULL)
		FUZZ_CHECK(strpbrk(r->cim_error, "\r\n") == NULL);
	if (r->body == NULL || r->len == 0)
		return;
	FUZZ_CHECK(r->len <= INT32_MAX);
	doc = xmlReadMemory(r->body, (int)r->len, "reply.xml", NULL,
	                    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	FUZZ_CHECK(doc != NULL);
	xmlFreeDoc(doc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *start = body_start(data, size);
	size_t hlen = start != NULL ? (size_t)(start - data) : 0;
	size_t blen = size - hlen;
	char *head = fuzz_cstr(data, hlen);
	char *body = fuzz_exact(start != NULL ? start : data, blen);
	struct headers h = { "MethodCall", NULL, NULL, "application/xml; charset=\"utf-8\"" };

	if (head != NULL && body != NULL) {
		if (start != NULL) {
			memset(&h, 0, sizeof h);   /* a header not given is absent */
			parse_headers(head, &h);
		}
		for (int i = 0; i < 2; i++) {
			cimxml_request req = {
				.cim_operation = h.op, .cim_method = h.method, .cim_object = h.object,
				.content_type = h.ctype, .body = body, .len = blen,
			};
			cimxml_reply r = { 0 };

			cimxml_handle(&fuzz_prov, &fuzz_cfg, fuzz_callers[i], &req, &r);
			check_reply(&r);
			free(r.body);
			free(r.return_value_text);
		}
	}
	free(head);
	free(body);
	return 0;
}
