/*
 * detail.c -- RDMS_SessionDetail: what quser and xrdp-sesadmin show beside
 * the Windows class, one instance per session, under the same keys.
 *
 * LogonTime and ClientAddress come with the sessions (the back-ends read
 * them with everything else, and they travel through privsep and the
 * session snapshot like the class's own properties).  IdleTime is asked of
 * each session's X server (xidle.h), which costs a process per session, so
 * only this class asks, once per request, back-end by back-end.  A caller
 * sees the details of the sessions they may see, no others.
 */
#include "provider.h"

#include <stdlib.h>
#include <string.h>

#include "../schema/schema.h"

/* The instance describing S, idle for IDLE seconds (RDMS_IDLE_UNKNOWN: NULL). */
static cim_instance *detail_instance(const rdms_config *cfg, const rdms_session *s, uint32_t idle)
{
	const char *text[RDMS_RDMS_SESSIONDETAIL_NPROPS] = { NULL };
	char logon[CIM_DATETIME_SIZE], idle_text[CIM_DATETIME_SIZE];
	cim_instance *inst;

	text[RDMS_RDMS_SESSIONDETAIL_VMHOSTNAME] = cfg->vm_host_name;
	text[RDMS_RDMS_SESSIONDETAIL_CLIENTADDRESS] = s->client_addr;
	text[RDMS_RDMS_SESSIONDETAIL_SERVER] = s->backend != NULL ? s->backend->name : "";
	text[RDMS_RDMS_SESSIONDETAIL_KIND] = s->kind;
	inst = cim_instance_new_packed(&rdms_class_RDMS_SessionDetail, text);
	if (inst == NULL)
		return NULL;
	/* datetimes are not packed: each is a value of its own */
	if (s->logon_time > 0 && cim_datetime_from_unix(s->logon_time, logon))
		inst->values[RDMS_RDMS_SESSIONDETAIL_LOGONTIME] = cim_datetime(logon);
	if (idle != RDMS_IDLE_UNKNOWN) {
		cim_interval_from_seconds(idle, idle_text);
		inst->values[RDMS_RDMS_SESSIONDETAIL_IDLETIME] = cim_datetime(idle_text);
	}
	inst->values[RDMS_RDMS_SESSIONDETAIL_SESSIONID] = cim_u32(s->id);
	if (s->display >= 0)
		inst->values[RDMS_RDMS_SESSIONDETAIL_DISPLAY] = cim_s32(s->display);
	return inst;
}

/* The idle times of the N sessions S into IDLE: each back-end asked once, for its own. */
static uint32_t idle_times(const rdms_config *cfg, const rdms_session *s, size_t n,
                           uint32_t *idle, rdms_error *err)
{
	size_t room = n > 0 ? n : 1;
	rdms_session *group = malloc(room * sizeof *group);
	uint32_t *got = malloc(room * sizeof *got);
	size_t *at = malloc(room * sizeof *at);
	bool *done = calloc(room, sizeof *done);

	for (size_t i = 0; i < n; i++)
		idle[i] = RDMS_IDLE_UNKNOWN;
	if (group == NULL || got == NULL || at == NULL || done == NULL) {
		free(group);
		free(got);
		free(at);
		free(done);
		return rdms_fail(err, WBEM_E_OUT_OF_MEMORY, "out of memory");
	}
	for (size_t i = 0; i < n; i++) {
		const rdms_backend *b = s[i].backend;
		size_t k = 0;

		if (done[i])
			continue;
		for (size_t j = i; j < n; j++) {
			if (done[j] || s[j].backend != b)
				continue;
			done[j] = true;
			group[k] = s[j];
			at[k++] = j;
		}
		if (b == NULL || b->idle == NULL)
			continue;
		b->idle(cfg, group, k, got);
		for (size_t j = 0; j < k; j++)
			idle[at[j]] = got[j];
	}
	free(group);
	free(got);
	free(at);
	free(done);
	return WBEM_S_NO_ERROR;
}

static uint32_t details_each(rdms_provider *p, const rdms_caller *who, rdms_instance_fn fn,
                             void *ctx, rdms_error *err)
{
	rdms_session_list sl = { 0 };
	uint32_t *idle;
	uint32_t rc = rdms_op_sessions(p, who, &sl, err);

	if (rc != WBEM_S_NO_ERROR)
		return rc;
	idle = malloc((sl.count ? sl.count : 1) * sizeof *idle);
	if (idle == NULL) {
		rdms_session_list_free(&sl);
		return rdms_fail(err, WBEM_E_OUT_OF_MEMORY, "out of memory");
	}
	rc = idle_times(p->cfg, sl.items, sl.count, idle, err);
	for (size_t i = 0; rc == WBEM_S_NO_ERROR && i < sl.count; i++) {
		cim_instance *inst = detail_instance(p->cfg, &sl.items[i], idle[i]);

		rc = inst != NULL ? fn(ctx, inst, sl.count - i, err)
		                  : rdms_fail(err, WBEM_E_OUT_OF_MEMORY, "out of memory");
	}
	free(idle);
	rdms_session_list_free(&sl);
	return rc;
}

static uint32_t details_get(rdms_provider *p, const rdms_caller *who, const cim_path *path,
                            cim_instance **out, rdms_error *err)
{
	rdms_session s;
	uint32_t idle = RDMS_IDLE_UNKNOWN;
	uint32_t rc = rdms_resolve(p, who, path, &rdms_class_RDMS_SessionDetail, false, "Get",
	                           NULL, &s, err);

	if (rc == WBEM_S_NO_ERROR)
		rc = idle_times(p->cfg, &s, 1, &idle, err);
	if (rc != WBEM_S_NO_ERROR)
		return rc;
	*out = detail_instance(p->cfg, &s, idle);
	if (*out == NULL)
		return rdms_fail(err, WBEM_E_OUT_OF_MEMORY, "out of memory");
	return WBEM_S_NO_ERROR;
}

const rdms_class_provider rdms_detail_provider = {
	.cls = &rdms_class_RDMS_SessionDetail, .each = details_each, .get = details_get,
};
