/*
 * audit_records.c -- RDMS_AuditRecord: the audit trail of method calls, as
 * instances, for root and the admin group only.
 *
 * The trail is priv's database (audit.h): in-process (rdms --direct) it is
 * read directly, in rdmsd through a privsep request (p->audit_read), so an
 * admin reads it through rdmsd -- locally or with --host -- without being
 * root.  Anyone else is refused, and the refusal is audited like a refused
 * method call.
 */
#include "provider.h"

#include <string.h>

#include "../schema/schema.h"

/* What the audit is told a refused read was. */
#define READ_TARGET "RDMS_AuditRecord"
#define READ_METHOD "ReadAudit"

/*
 * The audit's "YYYY-MM-DDTHH:MM:SS.mmmZ" as a DMTF timestamp in OUT; false
 * when TEXT is not that.  A plain rearrangement of digits: no time zone or
 * calendar is involved.
 */
static bool audit_time_dmtf(const char *text, char out[CIM_DATETIME_SIZE])
{
	static const char layout[] = "dddd-dd-ddTdd:dd:dd.dddZ";
	size_t k = 0;

	if (strlen(text) != sizeof layout - 1)
		return false;
	for (size_t i = 0; layout[i] != '\0'; i++) {
		if (layout[i] != 'd' && text[i] != layout[i])
			return false;
		if (layout[i] == 'd' && (text[i] < '0' || text[i] > '9'))
			return false;
		if (layout[i] == 'd')
			out[k++] = text[i];
		if (k == 14 && layout[i] == 'd' && layout[i + 1] == '.')
			out[k++] = '.';
	}
	memcpy(out + k, "000+000", sizeof "000+000");
	return cim_datetime_valid(out);
}

struct rows {
	rdms_instance_fn fn;
	void            *ctx;
	rdms_error      *err;
	uint32_t         rc;
};

static cim_instance *record_instance(const rdms_audit_entry *e)
{
	const char *text[RDMS_RDMS_AUDITRECORD_NPROPS] = { NULL };
	char time[CIM_DATETIME_SIZE];
	cim_instance *inst;

	text[RDMS_RDMS_AUDITRECORD_USERNAME] = e->user;
	text[RDMS_RDMS_AUDITRECORD_SOURCE] = e->source;
	text[RDMS_RDMS_AUDITRECORD_PROTOCOL] = e->protocol;
	text[RDMS_RDMS_AUDITRECORD_TARGET] = e->target;
	text[RDMS_RDMS_AUDITRECORD_METHOD] = e->method;
	text[RDMS_RDMS_AUDITRECORD_DETAIL] = e->detail;
	inst = cim_instance_new_packed(&rdms_class_RDMS_AuditRecord, text);
	if (inst == NULL)
		return NULL;
	/* a datetime is not packed: a value of its own */
	if (audit_time_dmtf(e->time, time))
		inst->values[RDMS_RDMS_AUDITRECORD_TIME] = cim_datetime(time);
	/* ids and uids past 2^32 do not happen in an audit trail; shown as NULL if they did */
	if (e->id >= 0 && e->id <= (long long)UINT32_MAX)
		inst->values[RDMS_RDMS_AUDITRECORD_ID] = cim_u32((uint32_t)e->id);
	if (e->uid >= 0 && e->uid <= (long long)UINT32_MAX)
		inst->values[RDMS_RDMS_AUDITRECORD_UID] = cim_u32((uint32_t)e->uid);
	inst->values[RDMS_RDMS_AUDITRECORD_RESULT] = cim_u32(e->result);
	return inst;
}

/* An rdms_audit_row_fn: the record's instance to the caller's function. */
static int row(void *ctx, const rdms_audit_entry *e)
{
	struct rows *r = ctx;
	cim_instance *inst = record_instance(e);

	/* LEFT is not known before the end; 1 says "at least this one" */
	r->rc = inst != NULL ? r->fn(r->ctx, inst, 1, r->err)
	                     : rdms_fail(r->err, WBEM_E_OUT_OF_MEMORY, "out of memory");
	return r->rc != WBEM_S_NO_ERROR;
}

static uint32_t records_each(rdms_provider *p, const rdms_caller *who, rdms_instance_fn fn,
                             void *ctx, rdms_error *err)
{
	struct rows r = { fn, ctx, err, WBEM_S_NO_ERROR };
	uint32_t rc;

	if (!who->is_admin) {
		rc = rdms_fail(err, WBEM_E_ACCESS_DENIED,
		               "only root and the admin group (%s) may read the audit trail",
		               p->cfg->admin_group);
		rdms_ops_audit(p, who, READ_TARGET, READ_METHOD, rc, err);
		return rc;
	}
	if (p->audit_read == NULL)
		return rdms_fail(err, WBEM_E_NOT_SUPPORTED, "the audit trail is not read here");
	rc = p->audit_read(p->audit_read_ctx, NULL, row, &r, err);
	return r.rc != WBEM_S_NO_ERROR ? r.rc : rc;
}

const rdms_class_provider rdms_audit_provider = {
	.cls = &rdms_class_RDMS_AuditRecord, .each = records_each,
};
