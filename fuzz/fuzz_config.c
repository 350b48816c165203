/*
 * fuzz_config.c -- the rdmsd.conf parser (src/config/config.c).
 *
 * The text goes to rdms_config_parse() in an exact-size buffer over a copy
 * of the defaults (looked up once: they ask the resolver for host names).
 * Whatever the input, every string member must still be NUL-terminated
 * inside its array -- the daemon passes them to open(), bind() and PAM --
 * and a rejected config must say which line was wrong.
 */
#include "fuzz.h"

#include "config/config.h"

static rdms_config defaults;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc; (void)argv;
	rdms_config_defaults(&defaults);
	return 0;
}

#define TERMINATED(cfg, m) FUZZ_CHECK(memchr((cfg).m, '\0', sizeof (cfg).m) != NULL)

static void check_strings(const rdms_config *c)
{
	TERMINATED(*c, vm_name);
	TERMINATED(*c, vm_host_name);
	TERMINATED(*c, collection_id);
	TERMINATED(*c, domain_name);
	TERMINATED(*c, admin_group);
	TERMINATED(*c, backends);
	TERMINATED(*c, xrdp_sockdir);
	TERMINATED(*c, xrdp_log);
	TERMINATED(*c, proc_root);
	TERMINATED(*c, fixture_file);
	TERMINATED(*c, listen_address);
	TERMINATED(*c, https_listen_address);
	TERMINATED(*c, tls_cert);
	TERMINATED(*c, tls_key);
	TERMINATED(*c, socket_path);
	TERMINATED(*c, audit_db);
	TERMINATED(*c, pam_service);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_exact(data, size);
	rdms_config cfg = defaults;
	rdms_error err;
	uint32_t rc;

	if (text == NULL)
		return 0;
	rc = rdms_config_parse(&cfg, text, size, "fuzz.conf", &err);
	check_strings(&cfg);
	if (rc == 0) {
		(void)rdms_config_backend_enabled(&cfg, "xrdp");
		(void)rdms_config_backend_enabled(&cfg, "fixture");
	} else {
		FUZZ_CHECK(fuzz_error_set(rc, err.code, err.message));
		FUZZ_CHECK(strncmp(err.message, "fuzz.conf", 9) == 0);
	}
	free(text);
	return 0;
}
