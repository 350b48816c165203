/*
 * fuzz_client.c -- the WS-Man client's reading of a server's replies
 * (src/client/client.c): the envelope, a fault (as a WMI code with the
 * server's reason), an enumeration's pages and a method's output.
 *
 * `rdms --host URL` reads whatever the server at URL answers, and a fleet
 * broker reads its hosts' answers to the methods it forwards the same way
 * (src/fleet/forward.c).  The bytes are the body of a 200 reply.  Checked:
 * a fault becomes a WMI error code with a reason on one line, with no
 * control character (the CLI prints it to a terminal); a page gives
 * instances of the class only, each with its keys as the server sent them
 * or none; a method's output gives its ReturnValue or says it has none;
 * nothing leaks.
 */
#include "fuzz.h"

#include "client/client_internal.h"
#include "ops/provider.h"

static void check_error(uint32_t rc, const rdms_error *err)
{
	FUZZ_CHECK(fuzz_error_set(rc, err->code, err->message));
	for (const char *p = err->message; *p != '\0'; p++)      /* one line, no escapes */
		FUZZ_CHECK((unsigned char)*p >= 0x20 && *p != 0x7f);
}

static void read_page(const xmlNode *body, const char *resp, const char *items_ns)
{
	const cim_class *cls = rdms_session_class();
	cim_instance_list out = { 0 };
	char *ctx = (char *)"unset";
	rdms_error err = { 0 };
	uint32_t rc = client_read_page(body, resp, items_ns, cls, &out, &ctx, &err);

	if (rc == WBEM_S_NO_ERROR) {
		for (size_t i = 0; i < out.count; i++)
			FUZZ_CHECK(out.items[i]->cls == cls);
		FUZZ_CHECK(ctx == NULL || (ctx[0] != '\0' && strpbrk(ctx, " \t\r\n") == NULL));
	} else {
		check_error(rc, &err);
		FUZZ_CHECK(ctx == NULL);
	}
	free(ctx);
	cim_instance_list_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *reply = fuzz_exact(data, size);
	xmlDoc *doc = NULL;
	xmlNode *body = NULL;
	rdms_error err = { 0 };
	uint32_t rc, rv = 12345;

	if (reply == NULL)
		return 0;
	rc = client_reply_parse("http://fuzz", reply, size, 200, &doc, &body, &err);
	if (rc == WBEM_S_NO_ERROR) {
		FUZZ_CHECK(doc != NULL && body != NULL);
		read_page(body, "EnumerateResponse", NS_WSMAN);
		read_page(body, "PullResponse", NS_WSEN);
		memset(&err, 0, sizeof err);
		rc = client_invoke_output(doc, body, "Disconnect", &rv, &err);
		if (rc != WBEM_S_NO_ERROR)
			check_error(rc, &err);
		else if (rv != 0)
			FUZZ_CHECK(err.message[0] == '\0' || err.code == rv);
	} else {
		check_error(rc, &err);
	}
	xmlFreeDoc(doc);
	free(reply);
	return 0;
}
