/*
 * keyset.c -- sessions in key order, for a page that starts after a key
 * (ops.h: rdms_session_key).  A fleet broker's directory reads its pages
 * in this order already (ORDER BY vmhostname, session_id: bytes, then
 * number); a host's sessions, listed in back-end order, are sorted here
 * into the same one, so that `rdms list --first N --after HOST,ID` means
 * the same page wherever it is asked.
 */
#include <stdlib.h>
#include <string.h>

#include "../common/strutil.h"
#include "../schema/schema.h"
#include "ops.h"

void rdms_session_key(const cim_instance *inst, rdms_key *out)
{
	const cim_value *host = &inst->values[RDMS_WIN32_VIRTUALDESKTOPSESSION_VMHOSTNAME];
	const cim_value *id = &inst->values[RDMS_WIN32_VIRTUALDESKTOPSESSION_SESSIONID];

	str_copy(out->text, sizeof out->text, host->is_null ? "" : host->u.str);
	out->num = id->is_null ? 0 : id->u.u32;
}

int rdms_key_compare(const rdms_key *a, const rdms_key *b)
{
	int c = strcmp(a->text, b->text);

	if (c != 0)
		return c;
	return (a->num > b->num) - (a->num < b->num);
}

/* A session with its key, so that sorting computes each key once. */
struct keyed {
	rdms_key      key;
	cim_instance *inst;
};

static int by_key(const void *x, const void *y)
{
	return rdms_key_compare(&((const struct keyed *)x)->key, &((const struct keyed *)y)->key);
}

bool rdms_keyset_trim(cim_instance_list *l, const rdms_key *after)
{
	struct keyed *k = l->count > 0 ? calloc(l->count, sizeof *k) : NULL;
	size_t keep = 0;

	if (l->count > 0 && k == NULL)
		return false;
	for (size_t i = 0; i < l->count; i++) {
		rdms_session_key(l->items[i], &k[i].key);
		k[i].inst = l->items[i];
	}
	if (l->count > 1)
		qsort(k, l->count, sizeof *k, by_key);
	for (size_t i = 0; i < l->count; i++) {
		if (after == NULL || rdms_key_compare(&k[i].key, after) > 0)
			l->items[keep++] = k[i].inst;
		else
			cim_instance_free(k[i].inst);
	}
	l->count = keep;
	free(k);
	return true;
}
