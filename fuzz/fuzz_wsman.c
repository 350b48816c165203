/*
 * fuzz_wsman.c -- the WS-Management front end (src/wsman): SOAP envelope
 * parsing, the mapping to operations, enumeration contexts, the replay
 * cache and the reply writer.
 *
 * The input is an HTTP body, or several separated by NEXT: they run in
 * order on one service, and "$CONTEXT" in a later body is replaced by the
 * EnumerationContext the last reply handed out, so Pull and Release reach
 * live contexts (which are random UUIDs the fuzzer could never guess).
 * The sequence runs once as an administrator and once as an ordinary user
 * against the harmless provider of fuzz_provider.c; an Identify also runs
 * unauthenticated.  A fresh service per input keeps runs independent and
 * leak checks exact.  Every reply must have a documented status and, when
 * it is a SOAP reply or fault, be well-formed XML: the writer must escape
 * whatever the request smuggled into it.
 */
#include "fuzz.h"

#include <libxml/parser.h>

#include "common/strutil.h"
#include "fuzz_provider.h"
#include "wsman/wsman.h"

#define NEXT       "<!--next-->"
#define CONTEXT    "$CONTEXT"
#define CTX_OPEN   "EnumerationContext>"
#define MAX_BODIES 8

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
		fprintf(stderr, "reply %d: %.*s\n", r->http_status, (int)(r->len < 600 ? r->len : 600),
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

/* Keeps the EnumerationContext of reply R, if it has one, in CTX. */
static void take_context(const wsman_reply *r, char *ctx, size_t size)
{
	const char *p, *end;

	if (r->http_status != 200 || r->body == NULL ||
	    (p = strstr(r->body, CTX_OPEN)) == NULL)
		return;
	p += strlen(CTX_OPEN);
	if ((end = strchr(p, '<')) != NULL && (size_t)(end - p) < size) {
		memcpy(ctx, p, (size_t)(end - p));
		ctx[end - p] = '\0';
	}
}

/* BODY (LEN bytes) with $CONTEXT replaced by CTX, in an exact-size buffer. */
static char *with_context(const char *body, size_t len, const char *ctx, size_t *outlen)
{
	strbuf b = { 0 };
	const char *p = body, *end = body + len, *hit;
	char *s;

	while ((hit = memmem(p, (size_t)(end - p), CONTEXT, strlen(CONTEXT))) != NULL) {
		strbuf_append(&b, p, (size_t)(hit - p));
		strbuf_puts(&b, ctx);
		p = hit + strlen(CONTEXT);
	}
	strbuf_append(&b, p, (size_t)(end - p));
	if (b.failed) {
		strbuf_free(&b);
		return NULL;
	}
	*outlen = b.len;
	s = fuzz_exact((const uint8_t *)(b.data ? b.data : ""), b.len);
	strbuf_free(&b);
	return s;
}

static void run(wsman_service *s, const rdms_caller *who, const char *body, size_t len,
                char *ctx, size_t ctxsize)
{
	wsman_reply r = { 0 };

	wsman_handle(s, who, body, len, &r);
	check_reply(&r);
	take_context(&r, ctx, ctxsize);
	free(r.body);
}

/* Runs every body of DATA in turn as WHO. */
static void sequence(wsman_service *s, const rdms_caller *who, const uint8_t *data,
                     size_t size)
{
	const uint8_t *p = data, *end = data + size;
	char ctx[128] = "";

	for (int n = 0; n < MAX_BODIES && p <= end; n++) {
		const uint8_t *cut = memmem(p, (size_t)(end - p), NEXT, strlen(NEXT));
		size_t len = cut != NULL ? (size_t)(cut - p) : (size_t)(end - p), blen;
		char *body = with_context((const char *)p, len, ctx, &blen);

		if (body == NULL)
			return;
		run(s, who, body, blen, ctx, sizeof ctx);
		if (who == fuzz_callers[0] && wsman_is_identify(body, blen))
			run(s, NULL, body, blen, ctx, sizeof ctx);
		free(body);
		if (cut == NULL)
			break;
		p = cut + strlen(NEXT);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	wsman_service *s = wsman_service_new(&fuzz_prov, &fuzz_cfg);

	FUZZ_CHECK(s != NULL);
	sequence(s, fuzz_callers[0], data, size);
	sequence(s, fuzz_callers[1], data, size);
	wsman_service_free(s);
	return 0;
}
