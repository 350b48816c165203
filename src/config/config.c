/*
 * config.c -- rdmsd.conf.
 *
 * The key table below is the only list of settings: the parser, the defaults
 * and the man page rdmsd.conf(5) follow it.  A setting is `key = value` on
 * one line; `#` starts a comment line; values may be double-quoted to keep
 * leading/trailing blanks.  Anything else is an error naming file and line.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "../common/strutil.h"

enum key_type { KEY_STRING, KEY_INT, KEY_BOOL };

struct config_key {
	const char   *name;
	enum key_type type;
	size_t        offset;
	size_t        size;      /* string capacity */
	long          min, max;  /* integer range */
	const char   *choices;   /* a string that must be one of these ("a|b"); NULL: any */
};

#define STR(field)  { #field, KEY_STRING, offsetof(rdms_config, field), sizeof(((rdms_config *)0)->field), 0, 0, NULL }
#define CHOICE(field, list) { #field, KEY_STRING, offsetof(rdms_config, field), sizeof(((rdms_config *)0)->field), 0, 0, list }
#define INT(field, lo, hi) { #field, KEY_INT, offsetof(rdms_config, field), 0, lo, hi, NULL }
#define BOOL(field) { #field, KEY_BOOL, offsetof(rdms_config, field), 0, 0, 1, NULL }

static const struct config_key keys[] = {
	STR(vm_name),
	STR(vm_host_name),
	STR(collection_id),
	STR(domain_name),
	STR(admin_group),
	STR(backends),
	STR(xrdp_sockdir),
	STR(xrdp_log),
	STR(proc_root),
	INT(logoff_grace_ms, 0, 60000),
	INT(message_timeout_s, 1, 86400),
	STR(fixture_file),
	STR(x2go_db),
	STR(x2go_sqlconf),
	STR(x2go_tmpdir),
	STR(listen_address),
	STR(https_listen_address),
	INT(http_port, 0, 65535),
	INT(https_port, 0, 65535),
	INT(cimxml_http_port, 0, 65535),
	INT(cimxml_https_port, 0, 65535),
	BOOL(allow_remote_http),
	STR(tls_cert),
	STR(tls_key),
	STR(socket_path),
	STR(audit_db),
	STR(pam_service),
	STR(ntlm_users),
	BOOL(allow_unencrypted),
	INT(max_envelope_size, 8192, 16777216),
	INT(max_connections, 1, 100000),
	INT(max_connections_per_ip, 1, 100000),
	INT(request_timeout_s, 1, 3600),
	INT(idle_timeout_s, 1, 3600),
	INT(max_enumerations_per_user, 1, 2048),
	INT(max_subscriptions_per_user, 1, 100000),
	INT(max_subscriptions, 1, 100000),
	INT(enumeration_timeout_s, 1, 86400),
	INT(session_cache_ms, 0, 60000),
	STR(events_db),
	INT(events_resync_s, 1, 86400),
	STR(hooks_dir),
	STR(hooks_as_session_user),
	INT(hook_timeout_s, 1, 3600),
	INT(hook_max_running, 1, 64),
	STR(fleet_ca),
	STR(fleet_brokers),
	CHOICE(role, "host|broker"),
	CHOICE(store, "sqlite|postgresql"),
	STR(store_path),
	STR(store_dsn),
	STR(fleet_cert),
	STR(fleet_key),
	STR(broker_name),
	INT(forward_timeout_s, 1, 300),
	INT(forward_keep_s, 300, 31536000),
};

/* True when VALUE is one of the '|'-separated CHOICES. */
static bool one_of(const char *choices, const char *value)
{
	size_t n = strlen(value);

	for (const char *p = choices;; p++) {
		size_t len = strcspn(p, "|");

		if (len == n && strncmp(p, value, n) == 0)
			return true;
		p += len;
		if (*p == '\0')
			return false;
	}
}

uint64_t rdms_config_layout(void)
{
	uint64_t h = 14695981039346656037ull;   /* FNV-1a */
	const unsigned char *p;

#define MIX(v) do { h ^= (uint64_t)(v); h *= 1099511628211ull; } while (0)
	MIX(sizeof(rdms_config));
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
		for (p = (const unsigned char *)keys[i].name; *p != '\0'; p++)
			MIX(*p);
		MIX(keys[i].type);
		MIX(keys[i].offset);
		MIX(keys[i].size);
		MIX((uint64_t)keys[i].min);
		MIX((uint64_t)keys[i].max);
		for (p = (const unsigned char *)(keys[i].choices ? keys[i].choices : ""); *p; p++)
			MIX(*p);
	}
#undef MIX
	return h;
}

bool rdms_config_valid(const rdms_config *cfg)
{
	const char *base = (const char *)cfg;

	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
		const struct config_key *k = &keys[i];
		int v;

		if (k->type == KEY_STRING) {
			if (memchr(base + k->offset, '\0', k->size) == NULL ||
			    (k->choices != NULL && !one_of(k->choices, base + k->offset)))
				return false;
			continue;
		}
		if (k->type == KEY_BOOL) {
			unsigned char b = (unsigned char)base[k->offset];

			if (b > 1)
				return false;
			continue;
		}
		memcpy(&v, base + k->offset, sizeof v);
		if (v < k->min || v > k->max)
			return false;
	}
	return true;
}

void rdms_config_defaults(rdms_config *cfg)
{
	char host[256] = "localhost";
	char *dot;

	memset(cfg, 0, sizeof *cfg);
	if (gethostname(host, sizeof host - 1) != 0)
		str_copy(host, sizeof host, "localhost");
	host[sizeof host - 1] = '\0';
	str_copy(cfg->vm_name, sizeof cfg->vm_name, host);
	str_copy(cfg->vm_host_name, sizeof cfg->vm_host_name, host);
	str_copy(cfg->broker_name, sizeof cfg->broker_name, host);
	/* Windows shows local accounts under the machine's short name. */
	dot = strchr(host, '.');
	if (dot != NULL)
		*dot = '\0';
	str_copy(cfg->domain_name, sizeof cfg->domain_name, host);
	str_copy(cfg->collection_id, sizeof cfg->collection_id, "default");
	str_copy(cfg->admin_group, sizeof cfg->admin_group, "rdms-admins");
	str_copy(cfg->backends, sizeof cfg->backends, "xrdp, x2go");
	str_copy(cfg->xrdp_sockdir, sizeof cfg->xrdp_sockdir, "/run/xrdp/sockdir");
	str_copy(cfg->proc_root, sizeof cfg->proc_root, "/proc");
	str_copy(cfg->x2go_db, sizeof cfg->x2go_db, "/var/lib/x2go/x2go_sessions");
	str_copy(cfg->x2go_sqlconf, sizeof cfg->x2go_sqlconf, "/etc/x2go/x2gosql/sql");
	str_copy(cfg->x2go_tmpdir, sizeof cfg->x2go_tmpdir, "/tmp");
	cfg->logoff_grace_ms = 2000;
	cfg->message_timeout_s = 60;
	str_copy(cfg->listen_address, sizeof cfg->listen_address, "127.0.0.1");
	cfg->http_port = 5985;
	cfg->https_port = 5986;
	cfg->cimxml_http_port = 5988;
	cfg->cimxml_https_port = 5989;
	str_copy(cfg->socket_path, sizeof cfg->socket_path, "/run/rdms/rdmsd.sock");
	str_copy(cfg->audit_db, sizeof cfg->audit_db, "/var/lib/rdms/audit.db");
	str_copy(cfg->pam_service, sizeof cfg->pam_service, "rdms");
	str_copy(cfg->ntlm_users, sizeof cfg->ntlm_users, "/etc/rdms/ntlm-users");
	cfg->max_envelope_size = 153600;
	cfg->max_connections = 128;
	cfg->max_connections_per_ip = 32;
	cfg->request_timeout_s = 60;
	cfg->idle_timeout_s = 60;
	cfg->max_enumerations_per_user = 32;
	cfg->max_subscriptions_per_user = 1000;   /* WMI's quotas (spec/events.md 1.7) */
	cfg->max_subscriptions = 10000;
	cfg->enumeration_timeout_s = 60;
	cfg->session_cache_ms = 500;
	cfg->events_resync_s = 30;
	str_copy(cfg->hooks_dir, sizeof cfg->hooks_dir, "/etc/rdms/hooks.d");
	str_copy(cfg->role, sizeof cfg->role, "host");
	str_copy(cfg->store, sizeof cfg->store, "sqlite");
	str_copy(cfg->store_path, sizeof cfg->store_path, "/var/lib/rdms/fleet.db");
	cfg->forward_timeout_s = 10;
	cfg->forward_keep_s = 86400;
	cfg->hook_timeout_s = 30;
	cfg->hook_max_running = 4;
}

static const struct config_key *find_key(const char *name)
{
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
		if (strcmp(keys[i].name, name) == 0)
			return &keys[i];
	return NULL;
}

static uint32_t set_value(rdms_config *cfg, const struct config_key *k, char *value,
                          const char *where, rdms_error *err)
{
	char *field = (char *)cfg + k->offset;
	size_t n = strlen(value);

	if (n >= 2 && value[0] == '"' && value[n - 1] == '"') {
		value[n - 1] = '\0';
		value++;
	} else if (value[0] == '"') {
		return rdms_fail(err, WBEM_E_INVALID_PARAMETER,
		                 "%s: unterminated quoted value for %s", where, k->name);
	}
	switch (k->type) {
	case KEY_STRING:
		if (k->choices != NULL && !one_of(k->choices, value))
			return rdms_fail(err, WBEM_E_INVALID_PARAMETER, "%s: %s must be %s, not '%s'",
			                 where, k->name, k->choices, value);
		if (!str_copy(field, k->size, value))
			return rdms_fail(err, WBEM_E_INVALID_PARAMETER,
			                 "%s: value of %s is longer than %zu bytes",
			                 where, k->name, k->size - 1);
		return WBEM_S_NO_ERROR;
	case KEY_INT: {
		char *end;
		long v;

		errno = 0;
		v = strtol(value, &end, 10);
		if (errno != 0 || end == value || *end != '\0')
			return rdms_fail(err, WBEM_E_INVALID_PARAMETER,
			                 "%s: %s needs an integer, not '%s'", where, k->name, value);
		if (v < k->min || v > k->max)
			return rdms_fail(err, WBEM_E_INVALID_PARAMETER,
			                 "%s: %s must be between %ld and %ld", where, k->name,
			                 k->min, k->max);
		*(int *)field = (int)v;
		return WBEM_S_NO_ERROR;
	}
	case KEY_BOOL:
		if (strcasecmp(value, "true") == 0 || strcasecmp(value, "yes") == 0 ||
		    strcmp(value, "1") == 0)
			*(bool *)field = true;
		else if (strcasecmp(value, "false") == 0 || strcasecmp(value, "no") == 0 ||
		         strcmp(value, "0") == 0)
			*(bool *)field = false;
		else
			return rdms_fail(err, WBEM_E_INVALID_PARAMETER,
			                 "%s: %s needs true or false, not '%s'", where, k->name, value);
		return WBEM_S_NO_ERROR;
	}
	return WBEM_E_FAILED;
}

static uint32_t parse_line(rdms_config *cfg, char *line, const char *where,
                           rdms_error *err)
{
	char *eq, *name, *value;
	const struct config_key *k;

	line = str_trim(line);
	if (*line == '\0' || *line == '#' || *line == ';')
		return WBEM_S_NO_ERROR;
	eq = strchr(line, '=');
	if (eq == NULL)
		return rdms_fail(err, WBEM_E_INVALID_PARAMETER,
		                 "%s: expected 'key = value'", where);
	*eq = '\0';
	name = str_trim(line);
	value = str_trim(eq + 1);
	if (*name == '\0')
		return rdms_fail(err, WBEM_E_INVALID_PARAMETER, "%s: missing key before '='", where);
	k = find_key(name);
	if (k == NULL)
		return rdms_fail(err, WBEM_E_INVALID_PARAMETER, "%s: unknown key '%s'", where, name);
	return set_value(cfg, k, value, where, err);
}

uint32_t rdms_config_parse(rdms_config *cfg, const char *text, size_t len,
                           const char *name, rdms_error *err)
{
	char line[1024];
	char where[512];
	size_t lineno = 0, pos = 0;

	while (pos < len) {
		size_t start = pos, n;
		uint32_t rc;

		while (pos < len && text[pos] != '\n')
			pos++;
		n = pos - start;
		lineno++;
		if (pos < len)
			pos++;   /* the newline */
		snprintf(where, sizeof where, "%s:%zu", name, lineno);
		if (n >= sizeof line)
			return rdms_fail(err, WBEM_E_INVALID_PARAMETER,
			                 "%s: line longer than %zu bytes", where, sizeof line - 1);
		if (memchr(text + start, '\0', n) != NULL)
			return rdms_fail(err, WBEM_E_INVALID_PARAMETER, "%s: NUL byte in line", where);
		memcpy(line, text + start, n);
		line[n] = '\0';
		rc = parse_line(cfg, line, where, err);
		if (rc != WBEM_S_NO_ERROR)
			return rc;
	}
	return WBEM_S_NO_ERROR;
}

uint32_t rdms_config_load(rdms_config *cfg, const char *path, bool required,
                          rdms_error *err)
{
	FILE *f = fopen(path, "r");
	char *text;
	long size;
	uint32_t rc;

	if (f == NULL) {
		if (errno == ENOENT && !required)
			return WBEM_S_NO_ERROR;
		return rdms_fail(err, WBEM_E_INVALID_PARAMETER, "%s: %s", path, strerror(errno));
	}
	if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 || size > 1 << 20 ||
	    fseek(f, 0, SEEK_SET) != 0) {
		fclose(f);
		return rdms_fail(err, WBEM_E_INVALID_PARAMETER,
		                 "%s: unreadable or larger than 1 MiB", path);
	}
	text = malloc((size_t)size + 1);
	if (text == NULL) {
		fclose(f);
		return rdms_fail(err, WBEM_E_OUT_OF_MEMORY, "out of memory");
	}
	if (fread(text, 1, (size_t)size, f) != (size_t)size) {
		free(text);
		fclose(f);
		return rdms_fail(err, WBEM_E_INVALID_PARAMETER, "%s: read error", path);
	}
	fclose(f);
	rc = rdms_config_parse(cfg, text, (size_t)size, path, err);
	free(text);
	return rc;
}

bool rdms_config_is_broker(const rdms_config *cfg)
{
	return strcmp(cfg->role, "broker") == 0;
}

const char *rdms_config_store_target(const rdms_config *cfg)
{
	return strcmp(cfg->store, "postgresql") == 0 ? cfg->store_dsn : cfg->store_path;
}

bool rdms_config_backend_enabled(const rdms_config *cfg, const char *name)
{
	size_t n = strlen(name);
	const char *p = cfg->backends;

	while (*p != '\0') {
		while (*p == ' ' || *p == ',')
			p++;
		const char *start = p;
		while (*p != '\0' && *p != ',' && *p != ' ')
			p++;
		if ((size_t)(p - start) == n && strncmp(start, name, n) == 0)
			return true;
	}
	return false;
}
