/*
 * fuzz_wsman.c -- the WS-Management front end (src/wsman): SOAP envelope
 * parsing, the mapping to operations, and the reply writer.
 *
 * The input is the HTTP body.  Each input runs once as an administrator
 * and once as an ordinary user against the harmless provider of
 * fuzz_provider.c, and once unauthenticated when it is an Identify.  A
 * fresh service per input keeps runs independent (and leak checks exact:
 * enumeration contexts and the replay cache live in the service).  Every
 * reply must have one of the documented statuses and, when it is a SOAP
 * reply or fault, be well-formed XML: the writer must escape whatever the
 * request smuggled into it.
 */
#include "fuzz.h"

#include <libxml/parser.h>

#include "fuzz_provider.h"
#include "wsman/wsman.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc; (void)argv;
	fuzz_provider_init("wsman");
	xmlInitParser();
	return 0;
}

static void check_reply(const wsman_reply *r)
{
	xmlDoc *doc;

	/* FUZZ_VERBOSE=1 shows the replies, to see how far seeds get. */
	if (getenv("FUZZ_VERBOSE") != NULL)
		fprintf(stderr, "reply %d: %.*s\n", r->http_status, (int)(r->len < 400 ? r->len : 400),
		        r->body ? r->body : "");

	FUZZ_CHECK(r->http_status == 200 || r->http_status == 400 ||
	           r->http_status == 413 || r->http_status == 500);
	FUZZ_CHECK(r->body != NULL || r->len == 0);
	if (r->http_status == 400 || r->http_status == 413 || r->body == NULL)
		return;
	FUZZ_CHECK(r->len <= INT32_MAX);
	doc = xmlReadMemory(r->body, (int)r->len, "reply.xml", NULL,
	                    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	FUZZ_CHECK(doc != NULL);
	xmlFreeDoc(doc);
}

static void run(wsman_service *s, const rdms_caller *who, const char *body, size_t len)
{
	wsman_reply r = { 0 };

	wsman_handle(s, who, body, len, &r);
	check_reply(&r);
	free(r.body);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *body = fuzz_exact(data, size);
	wsman_service *s = wsman_service_new(&fuzz_prov, &fuzz_cfg);

	FUZZ_CHECK(s != NULL);
	if (body != NULL) {
		run(s, fuzz_callers[0], body, size);
		run(s, fuzz_callers[1], body, size);
		if (wsman_is_identify(body, size))
			run(s, NULL, body, size);
	}
	wsman_service_free(s);
	free(body);
	return 0;
}
