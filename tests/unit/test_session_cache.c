/*
 * test_session_cache.c -- the snapshot that rdmsd's reads share
 * (src/ops/session_cache.c), over two in-test back-ends that count how
 * often they are read: order and look-up, the age limit, the refresher
 * behind a stale snapshot, invalidation, a method's effect patched in,
 * failures, and through the operation layer that Gets may use it while
 * methods never do, and that a read after a method sees its effect.
 */
#include <dirent.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>

#include "check.h"
#include "ops/ops.h"

static atomic_int reads_a, reads_b, finds_a, acts_a;
static bool gone_3;   /* session 3 of back-end a was logged off */
static bool fail_b;
static uint32_t state_of_7 = WTS_ACTIVE;

static uint32_t walk(rdms_session_fn fn, void *ctx, const rdms_backend *self, const uint32_t *ids,
                     size_t n, uid_t uid, rdms_error *err)
{
	for (size_t i = 0; i < n; i++) {
		rdms_session s = { 0 };
		uint32_t rc;

		s.id = ids[i];
		s.uid = uid;
		s.connect_state = ids[i] == 7 ? state_of_7 : WTS_DISCONNECTED;
		snprintf(s.user, sizeof s.user, "user%u", (unsigned)uid);
		snprintf(s.client, sizeof s.client, "client-%u", (unsigned)ids[i]);
		snprintf(s.kind, sizeof s.kind, "K%u", (unsigned)ids[i]);
		s.display = (int)ids[i] + 10;
		s.server_pid = 1000 + (pid_t)ids[i];
		s.logon_time = 1700000000 + ids[i];
		snprintf(s.client_addr, sizeof s.client_addr, "192.0.2.%u", (unsigned)ids[i]);
		s.backend = self;
		rc = fn(ctx, &s, err);
		if (rc != WBEM_S_NO_ERROR)
			return rc;
	}
	return WBEM_S_NO_ERROR;
}

extern const rdms_backend backend_a, backend_b;

static uint32_t each_a(const rdms_config *cfg, rdms_session_fn fn, void *ctx, rdms_error *err)
{
	static const uint32_t ids[] = { 9, 7, 3 };

	(void)cfg;
	reads_a++;
	return walk(fn, ctx, &backend_a, ids, gone_3 ? 2 : 3, 0, err);
}

/* B has no each hook: rdms_backend_each falls back on enumerate. */
static uint32_t enumerate_b(const rdms_config *cfg, rdms_session_list *out, rdms_error *err)
{
	static const uint32_t ids[] = { 5, 7 };

	(void)cfg;
	reads_b++;
	if (fail_b)
		return rdms_fail(err, WBEM_E_PROVIDER_FAILURE, "b is broken");
	for (size_t i = 0; i < 2; i++) {
		rdms_session *s = rdms_session_list_add(out);

		if (s == NULL)
			return rdms_fail(err, WBEM_E_OUT_OF_MEMORY, "out of memory");
		s->id = ids[i];
		s->uid = 65534;
		snprintf(s->user, sizeof s->user, "nobody");
		s->backend = &backend_b;
	}
	return WBEM_S_NO_ERROR;
}

static uint32_t find_a(const rdms_config *cfg, uint32_t id, rdms_session *out, rdms_error *err)
{
	(void)cfg;
	(void)err;
	finds_a++;
	if (id != 7 && id != 9 && (id != 3 || gone_3))
		return WBEM_E_NOT_FOUND;
	memset(out, 0, sizeof *out);
	out->id = id;
	out->connect_state = id == 7 ? state_of_7 : WTS_DISCONNECTED;
	snprintf(out->user, sizeof out->user, "user0");
	out->backend = &backend_a;
	return WBEM_S_NO_ERROR;
}

static uint32_t disconnect_a(const rdms_config *cfg, const rdms_session *s, rdms_error *err)
{
	(void)cfg;
	(void)s;
	(void)err;
	acts_a++;
	state_of_7 = WTS_DISCONNECTED;
	return WBEM_S_NO_ERROR;
}

static uint32_t logoff_a(const rdms_config *cfg, const rdms_session *s, rdms_error *err)
{
	(void)cfg;
	(void)err;
	acts_a++;
	gone_3 = gone_3 || s->id == 3;
	return WBEM_S_NO_ERROR;
}

static uint32_t message_a(const rdms_config *cfg, const rdms_session *s, const char *title,
                          const char *message, const rdms_message_options *opt, rdms_error *err)
{
	(void)cfg;
	(void)s;
	(void)title;
	(void)message;
	(void)opt;
	(void)err;
	acts_a++;
	return WBEM_S_NO_ERROR;
}

static uint32_t enumerate_a(const rdms_config *cfg, rdms_session_list *out, rdms_error *err)
{
	(void)cfg;
	(void)out;
	return rdms_fail(err, WBEM_E_FAILED, "the cache must use each");
}

const rdms_backend backend_a = { .name = "a", .enumerate = enumerate_a, .each = each_a,
                                 .find = find_a, .disconnect = disconnect_a,
                                 .logoff = logoff_a, .send_message = message_a };
const rdms_backend backend_b = { .name = "b", .enumerate = enumerate_b };
static const rdms_backend *const both[] = { &backend_a, &backend_b };

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static void test_contents(rdms_config *cfg)
{
	rdms_session_cache *c = rdms_session_cache_new(cfg, both, 2);
	rdms_snapshot *s = NULL;
	rdms_session x;
	rdms_error err = { 0 };

	CHECK_EQ(rdms_session_cache_get(c, &s, &err), WBEM_S_NO_ERROR);
	CHECK_EQ(rdms_snapshot_count(s), 5);
	rdms_snapshot_at(s, 0, &x);
	CHECK_EQ(x.id, 9);
	CHECK_STR(x.user, "user0");
	CHECK_STR(x.client, "client-9");
	CHECK_STR(x.kind, "K9");
	CHECK_EQ(x.display, 19);
	CHECK_EQ(x.server_pid, 1009);
	CHECK_EQ(x.logon_time, 1700000009);
	CHECK_STR(x.client_addr, "192.0.2.9");
	CHECK(x.backend == &backend_a);
	rdms_snapshot_at(s, 4, &x);
	CHECK_EQ(x.id, 7);
	CHECK(x.backend == &backend_b);
	CHECK_EQ(rdms_snapshot_uid(s, 3), 65534);
	/* 7 is in both: the first in enumeration order (back-end a) wins. */
	CHECK(rdms_snapshot_find(s, 7, &x));
	CHECK(x.backend == &backend_a);
	CHECK_EQ(x.connect_state, WTS_ACTIVE);
	CHECK(rdms_snapshot_find(s, 5, &x) && x.backend == &backend_b);
	CHECK(!rdms_snapshot_find(s, 4, &x));
	CHECK(!rdms_snapshot_find(s, 0, &x));
	CHECK(!rdms_snapshot_find(s, 10, &x));
	rdms_snapshot_release(s);
	rdms_session_cache_free(c);
}

/* The nice value of thread TID (Linux: getpriority of a thread id); -100 when unread. */
static int nice_of(pid_t tid)
{
	int nice;

	errno = 0;
	nice = getpriority(PRIO_PROCESS, (id_t)tid);
	return errno == 0 ? nice : -100;
}

/* The nice value of this process's thread named NAME; -100 when there is none. */
static int nice_of_thread(const char *name)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int nice = -100;

	while (d != NULL && nice == -100 && (e = readdir(d)) != NULL) {
		char path[300], comm[32] = "";
		FILE *f;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof path, "/proc/self/task/%s/comm", e->d_name);
		f = fopen(path, "r");
		if (f == NULL)
			continue;
		if (fgets(comm, sizeof comm, f) != NULL)
			comm[strcspn(comm, "\n")] = '\0';
		fclose(f);
		if (strcmp(comm, name) == 0)
			nice = nice_of((pid_t)strtol(e->d_name, NULL, 10));
	}
	if (d != NULL)
		closedir(d);
	return nice;
}

static void test_age_and_invalidation(rdms_config *cfg)
{
	rdms_session_cache *c = rdms_session_cache_new(cfg, both, 2);
	rdms_snapshot *s1 = NULL, *s2 = NULL, *s3 = NULL;
	rdms_error err = { 0 };
	int r0, nice0 = nice_of(gettid());

	cfg->session_cache_ms = 200;
	r0 = reads_a;
	CHECK(!rdms_session_cache_ready(c));    /* nothing read yet: a Get would wait */
	CHECK_EQ(rdms_session_cache_get(c, &s1, &err), WBEM_S_NO_ERROR);
	CHECK(rdms_session_cache_ready(c));
	CHECK_EQ(rdms_session_cache_get(c, &s2, &err), WBEM_S_NO_ERROR);
	CHECK_EQ(reads_a - r0, 1);   /* the second read was served from the first */
	CHECK(s1 == s2);
	rdms_snapshot_release(s2);

	/* Invalidated: the next read is fresh, the old snapshot stays usable. */
	rdms_session_cache_invalidate(c);
	CHECK(!rdms_session_cache_ready(c));
	CHECK_EQ(rdms_session_cache_get(c, &s2, &err), WBEM_S_NO_ERROR);
	CHECK_EQ(reads_a - r0, 2);
	CHECK(s1 != s2);
	CHECK_EQ(rdms_snapshot_count(s1), 5);
	rdms_snapshot_release(s1);

	/* Stale (over 200 ms) but young (under 400): served, refreshed behind. */
	sleep_ms(250);
	CHECK(rdms_session_cache_ready(c));
	CHECK_EQ(rdms_session_cache_get(c, &s3, &err), WBEM_S_NO_ERROR);
	CHECK(s3 == s2);
	rdms_snapshot_release(s3);
	for (int i = 0; i < 200 && reads_a - r0 < 3; i++)
		sleep_ms(5);
	CHECK_EQ(reads_a - r0, 3);
	for (int i = 0; i < 200; i++) {   /* until the refresher installed it */
		CHECK_EQ(rdms_session_cache_get(c, &s3, &err), WBEM_S_NO_ERROR);
		rdms_snapshot_release(s3);
		if (s3 != s2)
			break;
		sleep_ms(5);
	}
	CHECK(s3 != s2);
	rdms_snapshot_release(s2);
	/* The refresher reads at a lower priority (the kernel stops at 19); readers keep theirs. */
	CHECK(nice0 >= -20 && nice0 <= 19);
	CHECK_EQ(nice_of_thread("rdmsd-cache"), nice0 + 10 > 19 ? 19 : nice0 + 10);
	CHECK_EQ(nice_of(gettid()), nice0);

	/* Old (over twice the age): this reader reads itself. */
	sleep_ms(450);
	CHECK(!rdms_session_cache_ready(c));
	r0 = reads_a;
	CHECK_EQ(rdms_session_cache_get(c, &s1, &err), WBEM_S_NO_ERROR);
	CHECK_EQ(reads_a - r0, 1);
	rdms_snapshot_release(s1);
	rdms_session_cache_free(c);
	cfg->session_cache_ms = 60000;
}

/* What is listed in S, as "id:state" in order, into BUF. */
static const char *listing(const rdms_snapshot *s, char *buf, size_t size)
{
	size_t len = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < rdms_snapshot_count(s) && len < size; i++) {
		rdms_session x;

		rdms_snapshot_at(s, i, &x);
		len += (size_t)snprintf(buf + len, size - len, "%s%u%s:%u", i ? " " : "",
		                        (unsigned)x.id, x.backend == &backend_b ? "b" : "",
		                        (unsigned)x.connect_state);
	}
	return buf;
}

/* A method's effect patches the snapshot: no read of every session, old holders unchanged. */
static void test_update(rdms_config *cfg)
{
	rdms_session_cache *c = rdms_session_cache_new(cfg, both, 2);
	rdms_snapshot *s1 = NULL, *s2 = NULL;
	rdms_session x;
	rdms_error err = { 0 };
	char buf[256];
	int r0 = reads_a;

	CHECK_EQ(rdms_session_cache_get(c, &s1, &err), WBEM_S_NO_ERROR);
	CHECK_STR(listing(s1, buf, sizeof buf), "9:4 7:0 3:4 5b:0 7b:0");
	/* replaced in place */
	CHECK(rdms_snapshot_find(s1, 7, &x));
	x.connect_state = WTS_DISCONNECTED;
	x.client[0] = '\0';
	snprintf(x.user, sizeof x.user, "a-much-longer-user-name-than-before");
	rdms_session_cache_update(c, 7, &backend_a, &x);
	CHECK_EQ(rdms_session_cache_get(c, &s2, &err), WBEM_S_NO_ERROR);
	CHECK(s2 != s1);
	CHECK_STR(listing(s2, buf, sizeof buf), "9:4 7:4 3:4 5b:0 7b:0");
	CHECK(rdms_snapshot_find(s2, 7, &x) && x.backend == &backend_a);
	CHECK_STR(x.user, "a-much-longer-user-name-than-before");
	CHECK_STR(x.client, "");
	CHECK_STR(x.kind, "K7");
	CHECK_EQ(x.server_pid, 1007);
	rdms_snapshot_at(s2, 4, &x);       /* b's session 7 is another one: untouched */
	CHECK_STR(x.user, "nobody");
	/* a reader holding the old one still sees it as it was */
	CHECK_STR(listing(s1, buf, sizeof buf), "9:4 7:0 3:4 5b:0 7b:0");
	rdms_snapshot_release(s1);
	rdms_snapshot_release(s2);
	/* removed: the look-up finds b's 7 now */
	rdms_session_cache_update(c, 7, &backend_a, NULL);
	CHECK_EQ(rdms_session_cache_get(c, &s2, &err), WBEM_S_NO_ERROR);
	CHECK_STR(listing(s2, buf, sizeof buf), "9:4 3:4 5b:0 7b:0");
	CHECK(rdms_snapshot_find(s2, 7, &x) && x.backend == &backend_b);
	CHECK(rdms_snapshot_find(s2, 5, &x) && x.backend == &backend_b);
	CHECK(rdms_snapshot_find(s2, 3, &x) && x.backend == &backend_a);
	rdms_snapshot_release(s2);
	/* added when it was missing; removing what is not there changes nothing */
	memset(&x, 0, sizeof x);
	x.id = 42;
	x.backend = &backend_b;
	rdms_session_cache_update(c, 42, &backend_b, &x);
	rdms_session_cache_update(c, 43, &backend_b, NULL);
	CHECK_EQ(rdms_session_cache_get(c, &s2, &err), WBEM_S_NO_ERROR);
	CHECK_STR(listing(s2, buf, sizeof buf), "9:4 3:4 5b:0 7b:0 42b:0");
	CHECK(rdms_snapshot_find(s2, 42, &x));
	rdms_snapshot_release(s2);
	CHECK_EQ(reads_a - r0, 1);
	/* invalidated first: nothing to patch, the next read is fresh */
	rdms_session_cache_invalidate(c);
	rdms_session_cache_update(c, 9, &backend_a, NULL);
	CHECK_EQ(rdms_session_cache_get(c, &s2, &err), WBEM_S_NO_ERROR);
	CHECK_EQ(reads_a - r0, 2);
	CHECK_STR(listing(s2, buf, sizeof buf), "9:4 7:0 3:4 5b:0 7b:0");
	rdms_snapshot_release(s2);
	rdms_session_cache_free(c);
}

static void test_failure(rdms_config *cfg)
{
	rdms_session_cache *c = rdms_session_cache_new(cfg, both, 2);
	rdms_snapshot *s = NULL;
	rdms_error err = { 0 };

	fail_b = true;
	CHECK_EQ(rdms_session_cache_get(c, &s, &err), WBEM_E_PROVIDER_FAILURE);
	CHECK_STR(err.message, "b is broken");
	CHECK(s == NULL);
	fail_b = false;
	rdms_error_clear(&err);
	CHECK_EQ(rdms_session_cache_get(c, &s, &err), WBEM_S_NO_ERROR);
	CHECK(s != NULL && rdms_snapshot_count(s) == 5);
	rdms_snapshot_release(s);
	rdms_session_cache_free(c);
}

/* Through the operation layer: Get from the snapshot, methods fresh and invalidating. */
static void test_ops(rdms_config *cfg)
{
	rdms_provider p = { 0 };
	rdms_caller admin = { .uid = 0, .user = "root", .is_admin = true,
	                      .protocol = "test", .source = "unit" };
	rdms_caller nobody = { .uid = 65534, .user = "nobody", .protocol = "test", .source = "unit" };
	const char *text = "Win32_VirtualDesktopSession.SessionId=7,VMHostName=\"unit-host\"";
	cim_path path = { 0 };
	cim_instance *inst = NULL;
	cim_instance_list l = { 0 };
	rdms_error err = { 0 };
	uint32_t rv = 1;
	int r0, f0;

	p.cfg = cfg;
	p.backends[p.nbackends++] = &backend_a;
	p.backends[p.nbackends++] = &backend_b;
	p.cache = rdms_session_cache_new(cfg, p.backends, p.nbackends);
	CHECK_EQ(cim_path_parse(text, &path, &err), WBEM_S_NO_ERROR);

	r0 = reads_a;
	f0 = finds_a;
	for (int i = 0; i < 3; i++) {
		CHECK_EQ(rdms_op_get(&p, &admin, &path, &inst, &err), WBEM_S_NO_ERROR);
		cim_instance_free(inst);
	}
	CHECK_EQ(reads_a - r0, 1);
	CHECK_EQ(finds_a - f0, 0);
	CHECK_EQ(rdms_op_enumerate(&p, &nobody, NULL, "Win32_VirtualDesktopSession", &l, &err),
	         WBEM_S_NO_ERROR);
	CHECK_EQ(l.count, 2);   /* only nobody's own, from the same snapshot */
	cim_instance_list_free(&l);
	CHECK_EQ(reads_a - r0, 1);

	/*
	 * A method reads its session fresh (find), and afterwards that session
	 * alone again: the next Get sees the effect with no read of them all.
	 */
	CHECK_EQ(rdms_op_invoke(&p, &admin, &path, text, "Disconnect", NULL, 0, &rv, &err),
	         WBEM_S_NO_ERROR);
	CHECK_EQ(rv, 0);
	CHECK_EQ(acts_a, 1);
	CHECK_EQ(finds_a - f0, 2);
	CHECK_EQ(rdms_op_get(&p, &admin, &path, &inst, &err), WBEM_S_NO_ERROR);
	CHECK_EQ(reads_a - r0, 1);
	if (inst != NULL) {
		const cim_value *v = cim_instance_get(inst, "ConnectState");

		CHECK(v != NULL && v->u.u32 == WTS_DISCONNECTED);
	}
	cim_instance_free(inst);

	/* SendMessage changes nothing listed: one fresh find, the snapshot kept. */
	{
		rdms_param in[2] = {
			{ "Title", { .type = CIM_TYPE_STRING, .u.str = (char *)"t" } },
			{ "Message", { .type = CIM_TYPE_STRING, .u.str = (char *)"m" } },
		};

		CHECK_EQ(rdms_op_invoke(&p, &admin, &path, text, "SendMessage", in, 2, &rv, &err),
		         WBEM_S_NO_ERROR);
		CHECK_EQ(rv, 0);
		CHECK_EQ(acts_a, 2);
		CHECK_EQ(finds_a - f0, 3);
	}

	/* Logoff: the session is gone for the next reads, still with no full read. */
	{
		const char *t3 = "Win32_VirtualDesktopSession.SessionId=3,VMHostName=\"unit-host\"";
		cim_path p3 = { 0 };

		CHECK_EQ(cim_path_parse(t3, &p3, &err), WBEM_S_NO_ERROR);
		CHECK_EQ(rdms_op_get(&p, &admin, &p3, &inst, &err), WBEM_S_NO_ERROR);
		cim_instance_free(inst);
		CHECK_EQ(rdms_op_invoke(&p, &admin, &p3, t3, "Logoff", NULL, 0, &rv, &err),
		         WBEM_S_NO_ERROR);
		CHECK_EQ(rv, 0);
		CHECK(gone_3);
		CHECK_EQ(rdms_op_get(&p, &admin, &p3, &inst, &err), WBEM_E_NOT_FOUND);
		CHECK(inst == NULL);
		CHECK_EQ(rdms_op_enumerate(&p, &admin, NULL, "Win32_VirtualDesktopSession", &l, &err),
		         WBEM_S_NO_ERROR);
		CHECK_EQ(l.count, 4);
		cim_instance_list_free(&l);
		CHECK_EQ(reads_a - r0, 1);
		cim_path_free(&p3);
	}

	/* The owner rule still holds on cached reads. */
	CHECK_EQ(rdms_op_get(&p, &nobody, &path, &inst, &err), WBEM_E_ACCESS_DENIED);
	CHECK(inst == NULL);
	cim_path_free(&path);
	rdms_session_cache_free(p.cache);
}

int main(void)
{
	rdms_config cfg;

	rdms_config_defaults(&cfg);
	snprintf(cfg.vm_host_name, sizeof cfg.vm_host_name, "unit-host");
	cfg.session_cache_ms = 60000;
	test_contents(&cfg);
	test_age_and_invalidation(&cfg);
	test_update(&cfg);
	test_failure(&cfg);
	test_ops(&cfg);
	return check_summary("session_cache");
}
