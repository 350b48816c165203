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

static int by_key(const void *x, const void *y)
{
	rdms_key a, b;

	rdms_session_key(*(cim_instance *const *)x, &a);
	rdms_session_key(*(cim_instance *const *)y, &b);
	return rdms_key_compare(&a, &b);
}

void rdms_keyset_trim(cim_instance_list *l, const rdms_key *after)
{
	size_t keep = 0;

	if (l->count > 1)
		qsort(l->items, l->count, sizeof l->items[0], by_key);
	for (size_t i = 0; i < l->count; i++) {
		rdms_key k;

		rdms_session_key(l->items[i], &k);
		if (after == NULL || rdms_key_compare(&k, after) > 0)
			l->items[keep++] = l->items[i];
		else
			cim_instance_free(l->items[i]);
	}
	l->count = keep;
}
