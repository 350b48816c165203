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

/*
 * Sends CALL's request on a pooled connection to its host, or a new one:
 * once more on a new one when a pooled one failed before any of it was
 * sent (the host may have closed it just then), never after.
 */
static uint32_t send_call(fleet_pool *pool, const fleet_forward_call *call, const cim_path *path,
                          const rdms_param *in, size_t nin, const char *mid, const char *extra,
                          uint32_t *rv, rdms_exchange *x, bool *mismatch, rdms_error *err)
{
	uint32_t rc = WBEM_S_NO_ERROR;

	for (int attempt = 0; attempt < 2; attempt++) {
		bool pooled;
		fleet_conn *conn = fleet_pool_take(pool, call->url, call->pin, attempt > 0,
		                                   FLEET_ACK_TIMEOUT_MS, &pooled, err);

		*x = (rdms_exchange){ false, false, false, false };
		if (conn == NULL)
			return err->code;
		rdms_client_next_call(conn->client, mid, extra, call->timeout_ms);
		rc = rdms_client_invoke_opts(conn->client, rdms_session_class(), path, call->m->name,
		                             in, nin, call->mopt, rv, err);
		rdms_client_last_exchange(conn->client, x);
		*mismatch = conn->pin.mismatch;
		if (x->answered) {
			fleet_pool_give(pool, conn);
			return rc;
		}
		fleet_conn_free(conn);
		if (!pooled || !x->reused || x->sent || x->unacked || *mismatch)
			return rc;
	}
	return rc;
}

uint32_t fleet_forward(fleet_pool *pool, const fleet_forward_call *call, uint32_t *rv,
                       rdms_error *err)
{
	char key_host[] = "VMHostName", key_id[] = "SessionId", class_name[64];
	cim_keybinding keys[2] = {
		{ key_host, cim_string(call->host) }, { key_id, cim_u32(call->session_id) },
	};
	cim_path path = { .class_name = class_name, .nkeys = 2, .keys = keys };
	rdms_param in[8];
	size_t nin = 0;
	char mid[WSMAN_MAX_ID_LEN + 1];
	strbuf extra = { 0 };
	rdms_exchange x = { false, false, false, false };
	bool mismatch = false;
	rdms_error cause;
	uint32_t rc;

	*rv = WBEM_E_FAILED;
	str_copy(class_name, sizeof class_name, rdms_session_class()->name);
	for (size_t i = 0; i < call->m->nparams && nin < sizeof in / sizeof in[0]; i++)
		in[nin++] = (rdms_param){ call->m->params[i].name, cim_string(call->args[i]) };
	if (call->who->message_id != NULL)
		str_copy(mid, sizeof mid, call->who->message_id);
	else
		wsman_uuid(mid, sizeof mid);    /* a CIM-XML call has none */
	on_behalf_header(&extra, call);
	if (extra.failed) {
		rc = rdms_fail(err, WBEM_E_OUT_OF_MEMORY, "out of memory");
		goto out;
	}
	rc = send_call(pool, call, &path, in, nin, mid, extra.data, rv, &x, &mismatch, err);
	cause = *err;        /* what libcurl said, quoted below (ERR is rewritten) */
	if (mismatch)
		rc = rdms_fail(err, WBEM_E_TRANSPORT_FAILURE, "host %s shows a certificate other "
		               "than the one registered for it; nothing was sent", call->host);
	else if (x.unacked)
		rc = rdms_fail(err, WBEM_E_TRANSPORT_FAILURE, "host %s cannot be reached: it did not "
		               "acknowledge the request within %d ms, so it did not get it (a retry "
		               "is safe): %s", call->host, FLEET_ACK_TIMEOUT_MS, cause.message);
	else if (!x.answered && !x.sent && rc != WBEM_E_OUT_OF_MEMORY)
		rc = rdms_fail(err, WBEM_E_TRANSPORT_FAILURE, "host %s cannot be reached: %s "
		               "(nothing was sent; a retry is safe)", call->host, cause.message);
	else if (!x.answered && rc != WBEM_E_OUT_OF_MEMORY)
		rc = rdms_fail(err, WBEM_E_TIMED_OUT, "host %s did not answer within %ld ms: the "
		               "outcome is unknown (a retry with the same MessageID runs it once): %s",
		               call->host, call->timeout_ms, cause.message);
out:
	strbuf_free(&extra);
	cim_value_clear(&keys[0].value);
	for (size_t i = 0; i < nin; i++)
		cim_value_clear(&in[i].value);
	return rc;
}
