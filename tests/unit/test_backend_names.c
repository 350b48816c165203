/*
 * test_backend_names.c -- the table of back-ends by name only
 * (src/backend/backend_names.c), which the network processes and priv's
 * helpers link instead of the back-ends: every compiled-in back-end is
 * named, in the order of RDMS_BACKEND_LIST, and every hook refuses with
 * its reason instead of running.
 */
#include <string.h>

#include "backend/backend.h"
#include "check.h"

#define NAME(id) #id,
static const char *const listed[] = { RDMS_BACKEND_LIST(NAME) NULL };
#undef NAME

static const char reason[] = "privileged process";

static void test_names(void)
{
	size_t n = 0;

	for (; rdms_backends[n] != NULL; n++) {
		CHECK(listed[n] != NULL);
		if (listed[n] != NULL)
			CHECK_STR(rdms_backends[n]->name, listed[n]);
	}
	CHECK(listed[n] == NULL);
	CHECK_EQ(n, 3);
	CHECK(rdms_backend_find("x2go") != NULL && strcmp(rdms_backend_find("x2go")->name, "x2go") == 0);
	CHECK(rdms_backend_find("xrdp") == rdms_backends[0]);
	CHECK(rdms_backend_find("vnc") == NULL);
	CHECK(rdms_backend_find("") == NULL);
}

/* ERR says why, with code WBEM_E_FAILED, as RC does. */
static void refused(uint32_t rc, const rdms_error *err)
{
	CHECK_EQ(rc, WBEM_E_FAILED);
	CHECK_EQ(err->code, WBEM_E_FAILED);
	CHECK(strstr(err->message, reason) != NULL);
}

static uint32_t count(void *ctx, const rdms_session *s, rdms_error *err)
{
	(void)s;
	(void)err;
	++*(int *)ctx;
	return WBEM_S_NO_ERROR;
}

static void test_hooks_refuse(void)
{
	rdms_config cfg;
	rdms_session s = { .id = 7 };

	rdms_config_defaults(&cfg);
	for (size_t i = 0; rdms_backends[i] != NULL; i++) {
		const rdms_backend *b = rdms_backends[i];
		rdms_session_list l = { 0 };
		rdms_error err = { 0 };
		uint32_t idle[2] = { 1, 2 };
		char why[128] = "", tiny[4] = "xyz";
		int seen = 0;

		CHECK(!b->available(&cfg));
		refused(b->enumerate(&cfg, &l, &err), &err);
		CHECK_EQ(l.count, 0);
		memset(&err, 0, sizeof err);
		refused(b->disconnect(&cfg, &s, &err), &err);
		memset(&err, 0, sizeof err);
		refused(b->logoff(&cfg, &s, &err), &err);
		memset(&err, 0, sizeof err);
		refused(b->send_message(&cfg, &s, "t", "m", NULL, &err), &err);
		memset(&err, 0, sizeof err);
		refused(b->find(&cfg, 7, &s, &err), &err);
		memset(&err, 0, sizeof err);
		refused(b->each(&cfg, count, &seen, &err), &err);
		CHECK_EQ(seen, 0);
		memset(&err, 0, sizeof err);
		refused(rdms_backend_lookup(b, &cfg, 7, &s, &err), &err);
		CHECK(!b->running(&cfg, why, sizeof why));
		CHECK(strstr(why, reason) != NULL);
		CHECK(!b->running(&cfg, tiny, sizeof tiny));
		CHECK_EQ(strlen(tiny), 3);   /* cut, terminated */
		CHECK(!b->running(&cfg, tiny, 0));
		b->idle(&cfg, &s, 2, idle);
		CHECK(idle[0] == RDMS_IDLE_UNKNOWN && idle[1] == RDMS_IDLE_UNKNOWN);
	}
}

int main(void)
{
	test_names();
	test_hooks_refuse();
	return check_summary("backend_names");
}
