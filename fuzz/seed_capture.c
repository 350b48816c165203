/*
 * seed_capture.c -- records what the unit tests feed the parsers, as seed
 * inputs for the fuzz targets (used only by fuzz/seeds.sh, never built into
 * rdms).
 *
 * seeds.sh compiles a unit test with -Dwql_parse=seed_wql_parse and so on,
 * so the test's calls land here; each input is written to
 * $SEED_DIR/<target>/<hash> in the form that target reads, then passed on
 * to the real function, so the test runs as usual.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/basic.h"
#include "cimxml/cimxml.h"
#include "config/config.h"
#include "schema/mof.h"
#include "wql/wql.h"
#include "wsman/wsman.h"

uint32_t seed_wql_parse(const char *text, wql_class_lookup lookup, wql_query **out,
                        rdms_error *err);
uint32_t seed_wql_parse_event(const char *text, wql_class_lookup lookup, wql_query **out,
                              rdms_error *err);
bool seed_wql_like(const char *text, const char *pattern);
uint32_t seed_cim_path_parse(const char *text, cim_path *out, rdms_error *err);
uint32_t seed_mof_parse(const char *text, size_t len, mof_schema *out, rdms_error *err);
uint32_t seed_rdms_config_parse(rdms_config *cfg, const char *text, size_t len,
                                const char *name, rdms_error *err);
enum basic_status seed_basic_parse(const char *value, size_t len, basic_cred *out,
                                   rdms_error *err);
void seed_wsman_handle(wsman_service *s, const rdms_caller *who, const char *body,
                       size_t len, wsman_reply *out);
void seed_cimxml_handle(rdms_provider *p, const rdms_config *cfg, const rdms_caller *who,
                        const cimxml_request *req, cimxml_reply *out);

/* Writes the parts (pointer, length pairs, NULL-ended) as one seed of TARGET. */
static void save(const char *target, ...)
{
	const char *dir = getenv("SEED_DIR");
	char path[4096];
	uint64_t h = 0xcbf29ce484222325ull;
	const char *parts[16];
	size_t lens[16], n = 0;
	va_list ap;
	FILE *f;

	if (dir == NULL)
		return;
	va_start(ap, target);
	while (n < 16 && (parts[n] = va_arg(ap, const char *)) != NULL) {
		lens[n] = va_arg(ap, size_t);
		for (size_t i = 0; i < lens[n]; i++)
			h = (h ^ (unsigned char)parts[n][i]) * 0x100000001b3ull;
		n++;
	}
	va_end(ap);
	snprintf(path, sizeof path, "%s/%s/unit-%016llx", dir, target, (unsigned long long)h);
	f = fopen(path, "wb");
	if (f == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		fwrite(parts[i], 1, lens[i], f);
	fclose(f);
}

uint32_t seed_wql_parse(const char *text, wql_class_lookup lookup, wql_query **out,
                        rdms_error *err)
{
	if (text != NULL)
		save("wql", text, strlen(text), (char *)NULL);
	return wql_parse(text, lookup, out, err);
}

/* (fuzz_wql parses every input both ways) */
uint32_t seed_wql_parse_event(const char *text, wql_class_lookup lookup, wql_query **out,
                              rdms_error *err)
{
	if (text != NULL)
		save("wql", text, strlen(text), (char *)NULL);
	return wql_parse_event(text, lookup, out, err);
}

/* fuzz_wql reads "text NUL pattern" as a LIKE test. */
bool seed_wql_like(const char *text, const char *pattern)
{
	if (text != NULL && pattern != NULL)
		save("wql", text, strlen(text), "", (size_t)1, pattern, strlen(pattern),
		     (char *)NULL);
	return wql_like(text, pattern);
}

uint32_t seed_cim_path_parse(const char *text, cim_path *out, rdms_error *err)
{
	if (text != NULL)
		save("path", text, strlen(text), (char *)NULL);
	return cim_path_parse(text, out, err);
}

uint32_t seed_mof_parse(const char *text, size_t len, mof_schema *out, rdms_error *err)
{
	if (text != NULL)
		save("mof", text, len, (char *)NULL);
	return mof_parse(text, len, out, err);
}

uint32_t seed_rdms_config_parse(rdms_config *cfg, const char *text, size_t len,
                                const char *name, rdms_error *err)
{
	save("config", text, len, (char *)NULL);
	return rdms_config_parse(cfg, text, len, name, err);
}

enum basic_status seed_basic_parse(const char *value, size_t len, basic_cred *out,
                                   rdms_error *err)
{
	save("basic", value, len, (char *)NULL);
	return basic_parse(value, len, out, err);
}

void seed_wsman_handle(wsman_service *s, const rdms_caller *who, const char *body,
                       size_t len, wsman_reply *out)
{
	save("wsman", body, len, (char *)NULL);
	wsman_handle(s, who, body, len, out);
}

/* One header line for fuzz_cimxml, or nothing when the header is absent. */
static size_t header(char *buf, size_t size, const char *name, const char *value)
{
	int n;

	if (value == NULL)
		return 0;
	n = snprintf(buf, size, "%s: %s\r\n", name, value);
	return n < 0 || (size_t)n >= size ? 0 : (size_t)n;
}

void seed_cimxml_handle(rdms_provider *p, const rdms_config *cfg, const rdms_caller *who,
                        const cimxml_request *req, cimxml_reply *out)
{
	static const char line[] = "POST /cimom HTTP/1.1\r\n";
	char h[4][1024];
	size_t n[4];

	n[0] = header(h[0], sizeof h[0], "CIMOperation", req->cim_operation);
	n[1] = header(h[1], sizeof h[1], "CIMMethod", req->cim_method);
	n[2] = header(h[2], sizeof h[2], "CIMObject", req->cim_object);
	n[3] = header(h[3], sizeof h[3], "Content-Type", req->content_type);
	save("cimxml", line, sizeof line - 1, h[0], n[0], h[1], n[1], h[2], n[2], h[3], n[3],
	     "\r\n", (size_t)2, req->body ? req->body : "", req->body ? req->len : 0,
	     (char *)NULL);
	cimxml_handle(p, cfg, who, req, out);
}
