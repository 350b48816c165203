/*
 * forward.c -- a broker's method call through the owning host (forward.h).
 */
#include "forward.h"

#include <stdio.h>
#include <string.h>

#include "../client/client.h"
#include "../common/strutil.h"
#include "../ops/provider.h"
#include "../wsman/wsman_internal.h"

#define PUTS(b, s) strbuf_append((b), (s), sizeof(s) - 1)

struct pinned {
	const fleet_identity *id;
	fleet_pin             pin;
};

static bool setup_tls(void *h, void *ctx)
{
	struct pinned *p = ctx;

	return fleet_tls_setup(h, p->id, &p->pin);
}

/* The rdms:OnBehalfOf header naming CALL's user into B. */
static void on_behalf_header(strbuf *b, const fleet_forward_call *call)
{
	const rdms_caller *who = call->who;

	PUTS(b, "<r:OnBehalfOf xmlns:r=\"" NS_RDMS "\" s:mustUnderstand=\"true\" User=\"");
	wsman_escape(b, who->user, true);
	PUTS(b, "\" Source=\"");
	wsman_escape(b, who->source != NULL ? who->source : "", true);
	PUTS(b, "\" Protocol=\"");
	wsman_escape(b, who->protocol != NULL ? who->protocol : "", true);
	PUTS(b, "\" Broker=\"");
	wsman_escape(b, call->broker, true);
	PUTS(b, "\"/>");
}

uint32_t fleet_forward(const fleet_identity *id, const fleet_forward_call *call, uint32_t *rv,
                       rdms_error *err)
{
	struct pinned pinned = { .id = id };
	rdms_client_options o = { .url = call->url, .tls_setup = setup_tls, .tls_ctx = &pinned,
	                          .connect_timeout_ms = FLEET_CONNECT_TIMEOUT_MS };
	char key_host[] = "VMHostName", key_id[] = "SessionId", class_name[64];
	cim_keybinding keys[2] = {
		{ key_host, cim_string(call->host) }, { key_id, cim_u32(call->session_id) },
	};
	cim_path path = { .class_name = class_name, .nkeys = 2, .keys = keys };
	rdms_param in[8];
	size_t nin = 0;
	char mid[WSMAN_MAX_ID_LEN + 1];
	strbuf extra = { 0 };
	rdms_client *c;
	bool sent = false, answered = false;
	uint32_t rc;

	*rv = WBEM_E_FAILED;
	memcpy(pinned.pin.sha256, call->pin, sizeof pinned.pin.sha256);
	str_copy(class_name, sizeof class_name, rdms_session_class()->name);
	for (size_t i = 0; i < call->m->nparams && nin < sizeof in / sizeof in[0]; i++)
		in[nin++] = (rdms_param){ call->m->params[i].name, cim_string(call->args[i]) };
	if (call->who->message_id != NULL)
		str_copy(mid, sizeof mid, call->who->message_id);
	else
		wsman_uuid(mid, sizeof mid);    /* a CIM-XML call has none */
	on_behalf_header(&extra, call);
	c = extra.failed ? NULL : rdms_client_new(&o, err);
	if (c == NULL) {
		rc = extra.failed ? rdms_fail(err, WBEM_E_OUT_OF_MEMORY, "out of memory") : err->code;
		goto out;
	}
	rdms_client_next_call(c, mid, extra.data, call->timeout_ms);
	rc = rdms_client_invoke_opts(c, rdms_session_class(), &path, call->m->name, in, nin,
	                             call->mopt, rv, err);
	rdms_client_last_exchange(c, &sent, &answered);
	if (pinned.pin.mismatch)
		rc = rdms_fail(err, WBEM_E_TRANSPORT_FAILURE, "host %s shows a certificate other "
		               "than the one registered for it; nothing was sent", call->host);
	else if (!answered && !sent)
		rc = rdms_fail(err, WBEM_E_TRANSPORT_FAILURE, "host %s cannot be reached: %s "
		               "(nothing was sent; a retry is safe)", call->host, err->message);
	else if (!answered)
		rc = rdms_fail(err, WBEM_E_TIMED_OUT, "host %s did not answer within %ld ms: the "
		               "outcome is unknown (a retry with the same MessageID runs it once): %s",
		               call->host, call->timeout_ms, err->message);
	rdms_client_free(c);
out:
	strbuf_free(&extra);
	cim_value_clear(&keys[0].value);
	for (size_t i = 0; i < nin; i++)
		cim_value_clear(&in[i].value);
	return rc;
}
