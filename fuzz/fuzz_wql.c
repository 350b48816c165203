/*
 * fuzz_wql.c -- the WQL parser and evaluator (src/wql).
 *
 * The input is a query, parsed as a data query and as an event query
 * (wql_parse_event); a query that parses is also evaluated against two
 * instances of the schema's class (one with every property set, one with
 * only the keys) -- an event query as each kind of event, with and without
 * a previous instance -- and its SELECT list is walked, so the evaluator
 * sees every tree the parser can build.  When the input holds a NUL byte, the text
 * before it and the text after it also go to wql_like() as text and
 * pattern: LIKE's wildcards are where backtracking can blow up, which
 * libFuzzer's -timeout catches.
 */
#include "fuzz.h"

#include "cim/instance.h"
#include "schema/schema.h"
#include "wql/wql.h"

static cim_instance *full, *bare;

/* A value of type T that LIKE patterns and comparisons have something to chew on. */
static cim_value sample(cim_type t, size_t i)
{
	switch (t) {
	case CIM_TYPE_STRING:
		return cim_string(i % 2 ? "Alice_%[x]'\"" : "host1.example.com");
	case CIM_TYPE_UINT32:
		return cim_u32((uint32_t)i * 3u);
	case CIM_TYPE_SINT32:
		return cim_s32(-(int32_t)i);
	case CIM_TYPE_BOOLEAN:
		return cim_bool(i % 2);
	case CIM_TYPE_DATETIME:
		return cim_string("20240101120000.000000+000");
	default:
		return cim_null(t);
	}
}

static cim_instance *make(const cim_class *cls, int keys_only)
{
	cim_instance *inst = cim_instance_new(cls);
	rdms_error err;

	FUZZ_CHECK(inst != NULL);
	for (size_t i = 0; i < cls->nprops; i++) {
		const cim_property *pr = &cls->props[i];

		if (keys_only && !pr->is_key)
			continue;
		FUZZ_CHECK(cim_instance_set(inst, pr->name, sample(pr->type, i), &err) == 0);
	}
	return inst;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const cim_class *cls = rdms_schema_find("Win32_VirtualDesktopSession");

	(void)argc; (void)argv;
	FUZZ_CHECK(cls != NULL);
	full = make(cls, 0);
	bare = make(cls, 1);
	return 0;
}

static void evaluate(const wql_query *q)
{
	const cim_class *cls = wql_class(q);

	FUZZ_CHECK(cls != NULL);
	for (size_t i = 0; i < cls->nprops; i++)
		FUZZ_CHECK(!wql_selects_all(q) || wql_selects(q, i));
	if (cls != full->cls)
		return;
	if (!wql_is_event(q)) {
		(void)wql_match(q, full);
		(void)wql_match(q, bare);
		return;
	}
	FUZZ_CHECK(wql_event_kinds(q) != 0);
	for (unsigned kind = WQL_EVENT_CREATION; kind <= WQL_EVENT_DELETION; kind <<= 1) {
		FUZZ_CHECK(wql_event_class_name(q, kind) != NULL);
		(void)wql_match_event(q, kind, full, bare);
		(void)wql_match_event(q, kind, bare, full);
		(void)wql_match_event(q, kind, full, NULL);
	}
}

/* One parse of TEXT by PARSE, checked and evaluated. */
static void parse_one(const char *text,
                      uint32_t (*parse)(const char *, wql_class_lookup, wql_query **,
                                        rdms_error *))
{
	wql_query *q = (wql_query *)&q;   /* must come back NULL on failure */
	rdms_error err;
	uint32_t rc = parse(text, rdms_schema_find, &q, &err);

	if (rc == 0) {
		FUZZ_CHECK(q != NULL);
		evaluate(q);
		wql_free(q);
	} else {
		FUZZ_CHECK(q == NULL);
		FUZZ_CHECK(fuzz_error_set(rc, err.code, err.message));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_cstr(data, size);
	const uint8_t *nul = memchr(data, '\0', size);

	if (text == NULL)
		return 0;
	parse_one(text, wql_parse);
	parse_one(text, wql_parse_event);
	if (nul != NULL)
		(void)wql_like(text, text + (nul - data) + 1);
	free(text);
	return 0;
}
