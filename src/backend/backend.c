/*
 * backend.c -- the helpers every back-end shares (the session list, WTS
 * state names) and the look-up by name in the table of back-ends, which is
 * backend_table.c's or backend_names.c's (backend.h).
 */
#include "backend.h"
#include "../common/array.h"

#include <stdlib.h>
#include <string.h>

const rdms_backend *rdms_backend_find(const char *name)
{
	for (size_t i = 0; rdms_backends[i] != NULL; i++)
		if (strcmp(rdms_backends[i]->name, name) == 0)
			return rdms_backends[i];
	return NULL;
}

const char *wts_state_name(uint32_t state)
{
	static const char *const names[] = {
		[WTS_ACTIVE] = "Active", [WTS_CONNECTED] = "Connected",
		[WTS_CONNECT_QUERY] = "ConnectQuery", [WTS_SHADOW] = "Shadow",
		[WTS_DISCONNECTED] = "Disconnected", [WTS_IDLE] = "Idle",
		[WTS_LISTEN] = "Listen", [WTS_RESET] = "Reset",
		[WTS_DOWN] = "Down", [WTS_INIT] = "Init",
	};

	return state < sizeof names / sizeof names[0] ? names[state] : "Unknown";
}

rdms_session *rdms_session_list_add(rdms_session_list *l)
{
	if (!array_reserve(&l->items, l->count, &l->cap, sizeof *l->items, 16))
		return NULL;
	memset(&l->items[l->count], 0, sizeof l->items[l->count]);
	l->items[l->count].display = -1;
	return &l->items[l->count++];
}

void rdms_session_list_free(rdms_session_list *l)
{
	free(l->items);
	l->items = NULL;
	l->count = l->cap = 0;
}

/* What match_id looks for, and where it puts it. */
struct lookup {
	uint32_t      id;
	rdms_session *out;
};

/* rdms_session_fn: stops the walk (WBEM_S_FALSE) at the session sought. */
static uint32_t match_id(void *ctx, const rdms_session *s, rdms_error *err)
{
	struct lookup *l = ctx;

	(void)err;
	if (s->id != l->id)
		return WBEM_S_NO_ERROR;
	*l->out = *s;
	return WBEM_S_FALSE;
}

uint32_t rdms_backend_lookup(const rdms_backend *b, const rdms_config *cfg, uint32_t id,
                             rdms_session *out, rdms_error *err)
{
	/* OUT is only written (by match_id); cppcheck takes keeping it for a read. */
	struct lookup l = { id, out };   // cppcheck-suppress ctuuninitvar
	uint32_t rc;

	if (b->find != NULL)
		return b->find(cfg, id, out, err);
	rc = rdms_backend_each(b, cfg, match_id, &l, err);
	if (rc == WBEM_S_FALSE)
		return WBEM_S_NO_ERROR;
	return rc == WBEM_S_NO_ERROR ? (uint32_t)WBEM_E_NOT_FOUND : rc;
}

uint32_t rdms_backend_each(const rdms_backend *b, const rdms_config *cfg, rdms_session_fn fn,
                           void *ctx, rdms_error *err)
{
	rdms_session_list l = { 0 };
	uint32_t rc;

	if (b->each != NULL)
		return b->each(cfg, fn, ctx, err);
	rc = b->enumerate(cfg, &l, err);
	for (size_t k = 0; rc == WBEM_S_NO_ERROR && k < l.count; k++)
		rc = fn(ctx, &l.items[k], err);
	rdms_session_list_free(&l);
	return rc;
}
