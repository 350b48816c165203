/*
 * fuzz_ingest.c -- what a fleet broker reads from a host (src/fleet/
 * ingest_wire.c): the reply envelope, a fault's subcode, the bookmark and
 * rdms:Position headers, a PullResponse's events and an enumeration's
 * instances (through the WS-Man client's instance reader, src/client, which
 * `rdms --host` uses on a server's replies too).
 *
 * A host is authenticated by mutual TLS, and still its replies are input:
 * spec/fleet.md 3.9 asks that huge, malformed or forged ones be refused
 * precisely without harm to the broker.  The bytes are the body of a 200
 * reply.  On success the body is a SOAP element; every event taken is an
 * instance event of a keyed session (the change's host and id are the
 * instance's keys); everything refused says why; nothing leaks.
 */
#include "fuzz.h"

#include "fleet/ingest_internal.h"
#include "ops/provider.h"

static void check_error(const rdms_error *err)
{
	FUZZ_CHECK(fuzz_error_set(err->code, err->code, err->message));
}

/* The Items of BODY (a PullResponse's events, or an enumeration's instances). */
static void read_items(const xmlNode *body)
{
	for (xmlNode *n = wsman_first_elem(body); n != NULL; n = wsman_next_elem(n)) {
		if (strcmp((const char *)n->name, "Items") != 0)
			continue;
		for (xmlNode *e = wsman_first_elem(n); e != NULL; e = wsman_next_elem(e)) {
			cim_instance_list insts = { 0 };
			cim_instance *inst = NULL;
			fleet_change c;
			rdms_error err = { 0 };

			if (ingest_change(e, &c, &insts, &err)) {
				FUZZ_CHECK(c.kind == FLEET_UPSERT || c.kind == FLEET_DELETE);
				FUZZ_CHECK(insts.count == 1 && ingest_keyed(insts.items[0]));
				FUZZ_CHECK(c.s.host != NULL &&
				           c.s.host == ingest_session(insts.items[0]).host);
			} else {
				check_error(&err);
				FUZZ_CHECK(insts.count == 0);
			}
			cim_instance_list_free(&insts);
			memset(&err, 0, sizeof err);
			if (client_read_instance(e, rdms_session_class(), false, &inst, &err) ==
			    WBEM_S_NO_ERROR) {
				FUZZ_CHECK(inst != NULL && inst->cls == rdms_session_class());
				(void)ingest_session(inst);
			} else {
				check_error(&err);
			}
			cim_instance_free(inst);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *body = fuzz_exact(data, size);
	ingest_reply_t r;
	rdms_error err = { 0 };
	char text[160];

	if (body == NULL)
		return 0;
	if (ingest_reply_parse(body, size, 200, &r, &err) == WBEM_S_NO_ERROR) {
		xmlNode *bm = ingest_header(&r, NS_WSMAN, "Bookmark");

		FUZZ_CHECK(r.body != NULL && r.body->type == XML_ELEMENT_NODE);
		if (bm != NULL)
			(void)ingest_bookmark_version(ingest_text(bm, text, sizeof text));
		(void)ingest_position(&r);
		read_items(r.body);
	} else {
		check_error(&err);
		FUZZ_CHECK(err.code != WBEM_E_FAILED || r.body != NULL);   /* a fault: its body */
	}
	xmlFreeDoc(r.doc);
	free(body);
	return 0;
}
