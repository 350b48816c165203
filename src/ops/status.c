/*
 * status.c -- RDMS_Backend: which back-ends the configuration enables,
 * whether this host serves them, and whether their servers run.
 *
 * "No sessions" and "xrdp is down" must not look the same (an empty list,
 * nothing said).  So each back-end says whether its server runs
 * (rdms_backend.running), rdmsd logs it at start and whenever it changes
 * (rdms_provider_report), and `rdms list` reads this class to say on
 * stderr when a configured server is not running.  Anyone who may list
 * sessions may read it: it tells which servers run, nothing about sessions.
 */
#include "provider.h"

#include <string.h>

#include "../common/log.h"
#include "../common/strutil.h"
#include "../schema/schema.h"

static bool served(const rdms_provider *p, const rdms_backend *b)
{
	for (size_t i = 0; i < p->nbackends; i++)
		if (p->backends[i] == b)
			return true;
	return false;
}

uint32_t rdms_provider_status(void *ctx, rdms_backend_status *out, size_t max, size_t *n,
                              rdms_error *err)
{
	const rdms_provider *p = ctx;

	(void)err;
	*n = 0;
	for (size_t i = 0; rdms_backends[i] != NULL && *n < max; i++) {
		const rdms_backend *b = rdms_backends[i];
		rdms_backend_status *st = &out[*n];

		if (!rdms_config_backend_enabled(p->cfg, b->name))
			continue;
		memset(st, 0, sizeof *st);
		str_copy(st->name, sizeof st->name, b->name);
		st->served = served(p, b);
		if (!st->served)
			str_copy(st->reason, sizeof st->reason, "not installed here");
		else if (b->running == NULL)
			st->running = true;
		else
			st->running = b->running(p->cfg, st->reason, sizeof st->reason);
		(*n)++;
	}
	return WBEM_S_NO_ERROR;
}

static const rdms_backend_status *named(const rdms_backend_status *v, size_t n,
                                        const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i].name, name) == 0)
			return &v[i];
	return NULL;
}

void rdms_provider_report(rdms_provider *p, rdms_backend_status last[RDMS_MAX_BACKENDS],
                          size_t *n)
{
	rdms_backend_status now[RDMS_MAX_BACKENDS];
	rdms_error err = { 0 };
	size_t k = 0;
	bool first = *n == 0;

	if (p->status(p->status_ctx, now, RDMS_MAX_BACKENDS, &k, &err) != WBEM_S_NO_ERROR) {
		log_warn("back-ends: %s", err.message);
		return;
	}
	for (size_t i = 0; i < k; i++) {
		const rdms_backend_status *was = first ? NULL : named(last, *n, now[i].name);

		if (!now[i].served && (was == NULL || was->served))
			log_info("back-end %s: skipped: %s", now[i].name, now[i].reason);
		else if (now[i].served && now[i].running && (was == NULL || !was->running))
			log_info("back-end %s: served%s", now[i].name, was != NULL ? ", running again" : "");
		else if (now[i].served && !now[i].running && (was == NULL || was->running))
			log_warn("back-end %s: served, but not running: %s", now[i].name, now[i].reason);
	}
	if (first) {
		for (size_t i = 0; rdms_backends[i] != NULL; i++)
			if (!rdms_config_backend_enabled(p->cfg, rdms_backends[i]->name))
				log_debug("back-end %s: skipped: not in backends = %s",
				          rdms_backends[i]->name, p->cfg->backends);
		if (k == 0)
			log_warn("no back-end is enabled (backends = %s)", p->cfg->backends);
	}
	memcpy(last, now, k * sizeof *now);
	*n = k;
}

/* ---- the class ------------------------------------------------------------- */

static cim_instance *status_instance(const rdms_backend_status *st)
{
	const char *text[RDMS_RDMS_BACKEND_NPROPS] = { NULL };
	cim_instance *inst;

	text[RDMS_RDMS_BACKEND_NAME] = st->name;
	text[RDMS_RDMS_BACKEND_REASON] = st->reason;
	inst = cim_instance_new_packed(&rdms_class_RDMS_Backend, text);
	if (inst == NULL)
		return NULL;
	inst->values[RDMS_RDMS_BACKEND_SERVED] = cim_bool(st->served);
	inst->values[RDMS_RDMS_BACKEND_RUNNING] = cim_bool(st->running);
	return inst;
}

static uint32_t backends_each(rdms_provider *p, const rdms_caller *who, rdms_instance_fn fn,
                              void *ctx, rdms_error *err)
{
	rdms_backend_status st[RDMS_MAX_BACKENDS];
	size_t n = 0;
	uint32_t rc;

	(void)who;
	rc = p->status(p->status_ctx, st, RDMS_MAX_BACKENDS, &n, err);
	for (size_t i = 0; rc == WBEM_S_NO_ERROR && i < n; i++) {
		cim_instance *inst = status_instance(&st[i]);

		rc = inst != NULL ? fn(ctx, inst, n - i, err)
		                  : rdms_fail(err, WBEM_E_OUT_OF_MEMORY, "out of memory");
	}
	return rc;
}

const rdms_class_provider rdms_backend_provider = {
	.cls = &rdms_class_RDMS_Backend, .each = backends_each,
};
