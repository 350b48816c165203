/*
 * wql_narrow.c -- what a data query requires of every instance it selects,
 * for a store that can read less than everything (a fleet broker's
 * directory pushes these down to SQL: spec/fleet.md 3.6).
 *
 * A comparison is required when no accepting path of the branch program
 * avoids its true edge: with that edge cut, WQL_ACCEPT is unreachable from
 * the entry.  Jumps only go forward, so one pass in test order decides
 * reachability.  This is exact for AND, OR, NOT and parentheses alike: a
 * test under OR or NOT has an accepting path around it and is not
 * required.  Whatever is required only narrows what is read; the caller
 * still evaluates the whole query on each instance.
 */
#include "wql_internal.h"

#include <stdlib.h>

/* True when ACCEPT can be reached from Q's entry without taking test CUT's true edge. */
static bool accept_without(const wql_query *q, size_t cut)
{
	bool *reach = calloc(q->ntests, sizeof *reach);
	bool accept = false;

	if (reach == NULL)
		return true;     /* cannot tell: nothing is required */
	reach[q->entry] = true;
	for (size_t i = 0; i < q->ntests && !accept; i++) {
		const wql_test *t = &q->tests[i];
		int32_t next[2] = { i == cut ? WQL_REJECT : t->on_true, t->on_false };

		if (!reach[i])
			continue;
		for (int k = 0; k < 2; k++) {
			if (next[k] == WQL_ACCEPT)
				accept = true;
			else if (next[k] >= 0)
				reach[next[k]] = true;
		}
	}
	free(reach);
	return accept;
}

bool wql_required_equal(const wql_query *q, size_t prop, cim_value *value)
{
	if (q == NULL || q->event_kinds != 0 || q->tests == NULL)
		return false;
	for (size_t i = 0; i < q->ntests; i++) {
		const wql_test *t = &q->tests[i];
		bool eq = (t->kind == WQL_K_STR_EQ) ||
		          (t->kind == WQL_K_U32 && t->op == WQL_OP_EQ);

		if (!eq || t->src != WQL_SRC_TARGET || t->prop != prop || accept_without(q, i))
			continue;
		if (t->kind == WQL_K_U32) {
			*value = cim_u32(t->lit.u32);
		} else {
			value->type = CIM_TYPE_STRING;
			value->is_null = false;
			value->u.str = t->lit.str;     /* Q's: valid while Q is */
		}
		return true;
	}
	return false;
}
