/*
 * fuzz_provider.c -- a harmless provider for the protocol fuzz targets
 * (see fuzz_provider.h).
 */
#include "fuzz_provider.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend/fixture/fixture.h"
#include "fuzz.h"

rdms_config   fuzz_cfg;
rdms_provider fuzz_prov;

static rdms_caller admin = { .uid = 0, .user = "root", .is_admin = true,
                             .source = "fuzz" };
static rdms_caller nobody = { .uid = 65534, .user = "nobody", .is_admin = false,
                              .source = "fuzz" };
const rdms_caller *const fuzz_callers[2] = { &admin, &nobody };

static char dir[256], file[300];
static const rdms_backend readonly;

/* Session 2 is root's, 3 nobody's (disconnected), 4 an unknown account's. */
static const char fixture[] =
	"# written by the fuzz harness\n"
	"2 root 0 PC<1>&\"'\n"
	"3 nobody 4 -\n"
	"4 ghost-user 0 client-4\n";

static uint32_t ro_enumerate(const rdms_config *cfg, rdms_session_list *out,
                             rdms_error *err)
{
	size_t before = out->count;
	uint32_t rc = rdms_backend_fixture.enumerate(cfg, out, err);

	for (size_t i = before; i < out->count; i++)
		out->items[i].backend = &readonly;
	return rc;
}

static bool ro_available(const rdms_config *cfg)
{
	(void)cfg;
	return true;
}

/* An action got a session the operation layer just re-enumerated. */
static uint32_t ro_act(const rdms_config *cfg, const rdms_session *s, rdms_error *err)
{
	FUZZ_CHECK(cfg == &fuzz_cfg && s != NULL && s->backend == &readonly);
	if (s->connect_state != WTS_ACTIVE)
		return rdms_fail(err, WBEM_E_INVALID_OPERATION, "session %u is not connected",
		                 (unsigned)s->id);
	return WBEM_S_NO_ERROR;
}

static uint32_t ro_logoff(const rdms_config *cfg, const rdms_session *s, rdms_error *err)
{
	(void)err;
	FUZZ_CHECK(cfg == &fuzz_cfg && s != NULL && s->backend == &readonly);
	return WBEM_S_NO_ERROR;
}

static uint32_t ro_send(const rdms_config *cfg, const rdms_session *s, const char *title,
                        const char *message, const rdms_message_options *opt, rdms_error *err)
{
	FUZZ_CHECK(title != NULL && message != NULL);
	return ro_logoff(cfg, s, err);
}

static const rdms_backend readonly = {
	.name = "fixture", .available = ro_available, .enumerate = ro_enumerate,
	.disconnect = ro_act, .logoff = ro_logoff, .send_message = ro_send,
};

/* Every method call is audited with a caller, a target and a method name. */
static int audit(void *ctx, const rdms_audit_event *ev)
{
	(void)ctx;
	FUZZ_CHECK(ev->caller != NULL && ev->target != NULL && ev->method != NULL);
	FUZZ_CHECK(ev->detail != NULL);
	return 0;
}

static void cleanup(void)
{
	if (file[0] != '\0')
		unlink(file);
	if (dir[0] != '\0')
		rmdir(dir);
}

void fuzz_provider_init(const char *protocol)
{
	FILE *f;

	const char *tmp = getenv("TMPDIR");

	/* fuzz/run.sh points TMPDIR at its work directory, which it removes. */
	snprintf(dir, sizeof dir, "%s/rdms-fuzz-XXXXXX", tmp != NULL && *tmp ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		exit(2);
	}
	snprintf(file, sizeof file, "%s/sessions", dir);
	atexit(cleanup);
	f = fopen(file, "w");
	if (f == NULL || fputs(fixture, f) == EOF || fclose(f) != 0) {
		perror(file);
		exit(2);
	}
	rdms_config_defaults(&fuzz_cfg);
	snprintf(fuzz_cfg.vm_host_name, sizeof fuzz_cfg.vm_host_name, "host1.example.com");
	snprintf(fuzz_cfg.vm_name, sizeof fuzz_cfg.vm_name, "vm-a");
	snprintf(fuzz_cfg.collection_id, sizeof fuzz_cfg.collection_id, "Pool1");
	snprintf(fuzz_cfg.domain_name, sizeof fuzz_cfg.domain_name, "CORP");
	snprintf(fuzz_cfg.fixture_file, sizeof fuzz_cfg.fixture_file, "%s", file);
	memset(&fuzz_prov, 0, sizeof fuzz_prov);
	fuzz_prov.cfg = &fuzz_cfg;
	fuzz_prov.backends[0] = &readonly;
	fuzz_prov.nbackends = 1;
	fuzz_prov.audit = audit;
	admin.protocol = protocol;
	nobody.protocol = protocol;
}
