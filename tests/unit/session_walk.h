/*
 * session_walk.h -- for the tests of back-ends' each hooks (test_fixture,
 * test_privsep): an rdms_session_fn that keeps a copy of each session it
 * is handed and can be told to fail at a given one.
 */
#ifndef RDMS_TEST_SESSION_WALK_H
#define RDMS_TEST_SESSION_WALK_H

#include "backend/backend.h"

struct walk {
	rdms_session_list seen;
	size_t            stop_at;    /* fail (WBEM_E_FAILED) at this session number; 0: never */
};

static uint32_t record(void *ctx, const rdms_session *s, rdms_error *err)
{
	struct walk *w = ctx;
	rdms_session *copy;

	if (w->stop_at != 0 && w->seen.count + 1 == w->stop_at)
		return rdms_fail(err, WBEM_E_FAILED, "stopped at session %u", (unsigned)s->id);
	copy = rdms_session_list_add(&w->seen);
	if (copy == NULL)
		return rdms_fail(err, WBEM_E_OUT_OF_MEMORY, "out of memory");
	*copy = *s;
	return WBEM_S_NO_ERROR;
}

#endif
