/*
 * fuzz_path.c -- the object path parser (src/cim/path.c).
 *
 * A path that parses must survive a round trip: cim_path_format() of it
 * parses again to the same class and keys (in the same order, with equal
 * values: see same_value()).  It is then bound to the schema class when it names one, and
 * the bound keys formatted by cim_instance_path() must bind again to the
 * same values: these are the paths the front ends write into replies and
 * clients send back.
 */
#include "fuzz.h"

#include "cim/path.h"
#include "schema/schema.h"

/*
 * Equal values, except that a number's type may change: "-0" parses as
 * sint32 and formats as "0", which parses as uint32.  Binding converts
 * either to the key's declared type, so that is no loss.
 */
static bool same_value(const cim_value *a, const cim_value *b)
{
	if (a->type == CIM_TYPE_SINT32 && b->type == CIM_TYPE_UINT32 && !a->is_null &&
	    !b->is_null)
		return a->u.s32 >= 0 && (uint32_t)a->u.s32 == b->u.u32;
	return cim_value_equal(a, b);
}

static void same_path(const cim_path *a, const cim_path *b)
{
	FUZZ_CHECK(strcmp(a->class_name, b->class_name) == 0);
	FUZZ_CHECK(a->nkeys == b->nkeys);
	for (size_t i = 0; i < a->nkeys; i++) {
		const char *na = a->keys[i].name ? a->keys[i].name : "";
		const char *nb = b->keys[i].name ? b->keys[i].name : "";

		FUZZ_CHECK(strcmp(na, nb) == 0);
		FUZZ_CHECK(same_value(&a->keys[i].value, &b->keys[i].value));
	}
}

static void round_trip(const cim_path *p)
{
	char *text = cim_path_format(p);
	cim_path again;
	rdms_error err;

	FUZZ_CHECK(text != NULL);
	FUZZ_CHECK(cim_path_parse(text, &again, &err) == 0);
	same_path(p, &again);
	cim_path_free(&again);
	free(text);
}

/* KEYS are bound; their instance path must bind back to the same values. */
static void rebind(const cim_class *cls, const cim_value *keys)
{
	cim_value *values = calloc(cls->nprops ? cls->nprops : 1, sizeof *values);
	cim_value *again = calloc(cls->nprops ? cls->nprops : 1, sizeof *again);
	size_t k = 0, nkeys = 0;
	char *text;
	cim_path p;
	rdms_error err;

	FUZZ_CHECK(values != NULL && again != NULL);
	for (size_t i = 0; i < cls->nprops; i++)
		if (cls->props[i].is_key)
			values[i] = keys[k++];   /* borrowed: not cleared here */
	nkeys = k;
	text = cim_instance_path(cls, values);
	FUZZ_CHECK(text != NULL);
	FUZZ_CHECK(cim_path_parse(text, &p, &err) == 0);
	FUZZ_CHECK(cim_path_bind(&p, cls, again, &err) == 0);
	for (k = 0; k < nkeys; k++) {
		FUZZ_CHECK(cim_value_equal(&keys[k], &again[k]));
		cim_value_clear(&again[k]);
	}
	cim_path_free(&p);
	free(text);
	free(values);
	free(again);
}

static void bind_schema(const cim_path *p)
{
	const cim_class *cls = rdms_schema_find(p->class_name);
	cim_value keys[16];
	size_t nkeys = 0;
	rdms_error err;
	uint32_t rc;

	if (cls == NULL)
		return;
	for (size_t i = 0; i < cls->nprops; i++)
		nkeys += cls->props[i].is_key;
	FUZZ_CHECK(nkeys <= 16);
	memset(keys, 0, sizeof keys);
	rc = cim_path_bind(p, cls, keys, &err);
	if (rc != 0) {
		FUZZ_CHECK(fuzz_error_set(rc, err.code, err.message));
		return;
	}
	rebind(cls, keys);
	for (size_t i = 0; i < nkeys; i++)
		cim_value_clear(&keys[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_cstr(data, size);
	cim_path p;
	rdms_error err;
	uint32_t rc;

	if (text == NULL)
		return 0;
	rc = cim_path_parse(text, &p, &err);
	if (rc == 0) {
		FUZZ_CHECK(p.class_name != NULL);
		round_trip(&p);
		bind_schema(&p);
		if (p.namespace_ != NULL)
			FUZZ_CHECK(cim_namespace_equal(p.namespace_, p.namespace_));
	} else {
		FUZZ_CHECK(p.class_name == NULL && p.nkeys == 0 && p.keys == NULL);
		FUZZ_CHECK(fuzz_error_set(rc, err.code, err.message));
	}
	cim_path_free(&p);
	free(text);
	return 0;
}
