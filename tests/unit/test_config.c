/*
 * test_config.c -- rdmsd.conf parsing: defaults, every kind of value, and
 * malformed files that must be refused with file and line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "config/config.h"

static uint32_t parse(rdms_config *c, const char *text, rdms_error *e)
{
	rdms_config_defaults(c);
	return rdms_config_parse(c, text, strlen(text), "test.conf", e);
}

static void test_defaults(void)
{
	rdms_config c;
	char host[256] = "";

	rdms_config_defaults(&c);
	gethostname(host, sizeof host - 1);
	CHECK_STR(c.vm_name, host);
	CHECK_STR(c.vm_host_name, host);
	CHECK_STR(c.collection_id, "default");
	CHECK_STR(c.admin_group, "rdms-admins");
	CHECK_STR(c.listen_address, "127.0.0.1");
	CHECK_EQ(c.http_port, 5985);
	CHECK_EQ(c.https_port, 5986);
	CHECK_EQ(c.cimxml_http_port, 5988);
	CHECK_EQ(c.cimxml_https_port, 5989);
	CHECK_STR(c.socket_path, "/run/rdms/rdmsd.sock");
	CHECK_STR(c.pam_service, "rdms");
	CHECK(!c.allow_remote_http);
	CHECK(rdms_config_backend_enabled(&c, "xrdp"));
	CHECK(!rdms_config_backend_enabled(&c, "fixture"));
	CHECK(strchr(c.domain_name, '.') == NULL);
	/* the limits: safe defaults */
	CHECK_EQ(c.max_envelope_size, 153600);
	CHECK_EQ(c.max_connections, 128);
	CHECK_EQ(c.max_connections_per_ip, 32);
	CHECK_EQ(c.request_timeout_s, 60);
	CHECK_EQ(c.idle_timeout_s, 60);
	CHECK_EQ(c.max_enumerations_per_user, 32);
	CHECK_EQ(c.enumeration_timeout_s, 60);
	/* a broker's forwarded calls: 10 s each, remembered for a day */
	CHECK_EQ(c.forward_timeout_s, 10);
	CHECK_EQ(c.forward_keep_s, 86400);
}

/* The limits take values in their range and nothing outside it. */
static void test_limits(void)
{
	static const struct { const char *text; const char *needle; } bad[] = {
		{ "max_connections = 0", "max_connections must be between 1 and 100000" },
		{ "max_connections_per_ip = 100001", "between 1 and 100000" },
		{ "max_connections = 100001", "between 1 and 100000" },
		{ "max_connections_per_ip = 0", "max_connections_per_ip must be between 1" },
		{ "request_timeout_s = 0", "request_timeout_s must be between 1 and 3600" },
		{ "request_timeout_s = 3601", "between 1 and 3600" },
		{ "idle_timeout_s = -1", "idle_timeout_s must be between 1 and 3600" },
		{ "idle_timeout_s = 1s", "idle_timeout_s needs an integer" },
		{ "max_enumerations_per_user = 0", "between 1 and 2048" },
		{ "max_enumerations_per_user = 2049", "between 1 and 2048" },
		{ "enumeration_timeout_s = 0", "between 1 and 86400" },
		{ "max_envelope_size = 16777217", "between 8192 and 16777216" },
		{ "forward_keep_s = 299", "forward_keep_s must be between 300 and 31536000" },
		{ "forward_keep_s = 31536001", "between 300 and 31536000" },
	};
	rdms_config c;
	rdms_error e = { 0 };

	CHECK_EQ(parse(&c, "max_connections = 1\nmax_connections_per_ip = 100000\n"
	               "request_timeout_s = 3600\nidle_timeout_s = 1\n"
	               "max_enumerations_per_user = 2048\nenumeration_timeout_s = 86400\n"
	               "max_envelope_size = 8192\n", &e), 0);
	CHECK_EQ(c.max_connections, 1);
	CHECK_EQ(c.max_connections_per_ip, 100000);
	CHECK_EQ(c.request_timeout_s, 3600);
	CHECK_EQ(c.idle_timeout_s, 1);
	CHECK_EQ(c.max_enumerations_per_user, 2048);
	CHECK_EQ(c.enumeration_timeout_s, 86400);
	CHECK_EQ(c.max_envelope_size, 8192);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		memset(&e, 0, sizeof e);
		CHECK_EQ(parse(&c, bad[i].text, &e), WBEM_E_INVALID_PARAMETER);
		if (strstr(e.message, bad[i].needle) == NULL) {
			fprintf(stderr, "message '%s' lacks '%s'\n", e.message, bad[i].needle);
			CHECK(!"message names the limit and its range");
		}
	}
}

static void test_values(void)
{
	rdms_config c;
	rdms_error e = { 0 };

	CHECK_EQ(parse(&c, "# comment\n\n vm_host_name = hv1.example.com \n"
	               "collection_id=\"  Pool 1 \"\r\nhttp_port = 15985\n"
	               "allow_remote_http = yes\nbackends = xrdp, fixture\n; old-style comment\n", &e), 0);
	CHECK_STR(c.vm_host_name, "hv1.example.com");
	CHECK_STR(c.collection_id, "  Pool 1 ");
	CHECK_EQ(c.http_port, 15985);
	CHECK(c.allow_remote_http);
	CHECK(rdms_config_backend_enabled(&c, "fixture"));
	CHECK(rdms_config_backend_enabled(&c, "xrdp"));
	CHECK(!rdms_config_backend_enabled(&c, "xrd"));
	CHECK_EQ(parse(&c, "http_port = 0", &e), 0);   /* 0 turns a listener off */
	CHECK_EQ(c.http_port, 0);
	CHECK_EQ(parse(&c, "", &e), 0);
}

static void test_malformed(void)
{
	static const struct { const char *text; const char *needle; } bad[] = {
		{ "bogus = 1\n", "test.conf:1: unknown key 'bogus'" },
		{ "\n\nhttp_port = x\n", "test.conf:3: http_port needs an integer" },
		{ "http_port = 70000", "between 0 and 65535" },
		{ "http_port = 80 80", "needs an integer" },
		{ "http_port =", "needs an integer" },
		{ "allow_remote_http = maybe", "needs true or false" },
		{ "vm_name", "test.conf:1: expected 'key = value'" },
		{ "= x", "missing key" },
		{ "vm_name = \"unterminated", "unterminated quoted value" },
		{ "admin_group = aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		  "longer than 63 bytes" },
		{ "message_timeout_s = 0", "between 1 and 86400" },
		{ "max_envelope_size = 10", "between 8192" },
	};
	rdms_config c;
	rdms_error e;

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		memset(&e, 0, sizeof e);
		CHECK_EQ(parse(&c, bad[i].text, &e), WBEM_E_INVALID_PARAMETER);
		if (strstr(e.message, bad[i].needle) == NULL) {
			fprintf(stderr, "message '%s' lacks '%s'\n", e.message, bad[i].needle);
			CHECK(!"message names what and where");
		}
	}
	/* a NUL byte and an over-long line */
	char text[2048];
	memset(text, 'a', sizeof text);
	memcpy(text, "vm_name = ", 10);
	rdms_config_defaults(&c);
	CHECK_EQ(rdms_config_parse(&c, text, sizeof text, "x", &e), WBEM_E_INVALID_PARAMETER);
	CHECK(strstr(e.message, "line longer") != NULL);
	CHECK_EQ(rdms_config_parse(&c, "vm_name = a\0b", 13, "x", &e), WBEM_E_INVALID_PARAMETER);
	CHECK(strstr(e.message, "NUL") != NULL);
}

static void test_files(void)
{
	rdms_config c;
	rdms_error e = { 0 };
	char path[] = "/tmp/rdms-test-config-XXXXXX";
	int fd = mkstemp(path);
	FILE *f = fdopen(fd, "w");

	fputs("vm_name = from-file\n", f);
	fclose(f);
	rdms_config_defaults(&c);
	CHECK_EQ(rdms_config_load(&c, path, true, &e), 0);
	CHECK_STR(c.vm_name, "from-file");
	unlink(path);
	CHECK_EQ(rdms_config_load(&c, path, false, &e), 0);   /* optional and missing */
	CHECK_EQ(rdms_config_load(&c, path, true, &e), WBEM_E_INVALID_PARAMETER);
	CHECK(strstr(e.message, path) != NULL);
	CHECK_EQ(rdms_config_load(&c, "/", true, &e), WBEM_E_INVALID_PARAMETER);
}

/* rdms_config_valid: a config from memory (rdmsd's handoff) is checked like a parsed one. */
static void test_valid(void)
{
	static const char text[] = "http_port = 65535\nsession_cache_ms = 0\n";
	rdms_config cfg;
	rdms_error err = { 0 };

	rdms_config_defaults(&cfg);
	CHECK(rdms_config_valid(&cfg));
	/* the layout fingerprint is a constant of the build */
	CHECK(rdms_config_layout() == rdms_config_layout());
	CHECK(rdms_config_layout() != 0);
	CHECK(rdms_config_parse(&cfg, text, strlen(text), "t", &err) == 0);
	CHECK(rdms_config_valid(&cfg));
	cfg.http_port = 65536;
	CHECK(!rdms_config_valid(&cfg));
	cfg.http_port = -1;
	CHECK(!rdms_config_valid(&cfg));
	rdms_config_defaults(&cfg);
	cfg.max_connections = 0;                 /* below its minimum of 1 */
	CHECK(!rdms_config_valid(&cfg));
	rdms_config_defaults(&cfg);
	memset(cfg.pam_service, 'x', sizeof cfg.pam_service);   /* no NUL */
	CHECK(!rdms_config_valid(&cfg));
	rdms_config_defaults(&cfg);
	memset(cfg.vm_name, 'x', sizeof cfg.vm_name);
	CHECK(!rdms_config_valid(&cfg));
	rdms_config_defaults(&cfg);
	memset(&cfg.allow_remote_http, 2, 1);    /* not a bool's value */
	CHECK(!rdms_config_valid(&cfg));
}

/* The fleet broker's store: SQLite by default, PostgreSQL at a connection string. */
static void test_store(void)
{
	rdms_config c;
	rdms_error e = { 0 };

	rdms_config_defaults(&c);
	CHECK_STR(c.store, "sqlite");
	CHECK_STR(rdms_config_store_target(&c), "/var/lib/rdms/fleet.db");
	CHECK_EQ(parse(&c, "store = postgresql\nstore_dsn = host=/run/postgresql dbname=rdms\n",
	               &e), 0);
	CHECK_STR(c.store, "postgresql");
	CHECK_STR(rdms_config_store_target(&c), "host=/run/postgresql dbname=rdms");
	CHECK_EQ(parse(&c, "store = mysql\n", &e), WBEM_E_INVALID_PARAMETER);
	CHECK(strstr(e.message, "sqlite|postgresql") != NULL);
}

int main(void)
{
	test_store();
	test_defaults();
	test_valid();
	test_values();
	test_limits();
	test_malformed();
	test_files();
	return check_summary("config");
}
