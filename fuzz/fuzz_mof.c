/*
 * fuzz_mof.c -- the MOF compiler's parser (src/schema/mof_parse.c).
 *
 * mof_parse() takes (pointer, length) and need not see a NUL, so the input
 * is handed over in an exact-size buffer: a read one byte too far is an
 * ASan report.  A schema that parses must hold together (names set, counts
 * matching arrays) and is freed; a failure must carry a WBEMMOF code and a
 * "line L, column C" message and leave OUT empty.
 */
#include "fuzz.h"

#include "schema/mof.h"

static void check_class(const cim_class *c)
{
	FUZZ_CHECK(c != NULL && c->name != NULL);
	FUZZ_CHECK(c->nprops == 0 || c->props != NULL);
	FUZZ_CHECK(c->nmethods == 0 || c->methods != NULL);
	FUZZ_CHECK(c->nquals == 0 || c->quals != NULL);
	for (size_t i = 0; i < c->nprops; i++)
		FUZZ_CHECK(c->props[i].name != NULL);
	for (size_t i = 0; i < c->nmethods; i++) {
		const cim_method *m = &c->methods[i];

		FUZZ_CHECK(m->name != NULL);
		FUZZ_CHECK(m->nparams == 0 || m->params != NULL);
		for (size_t j = 0; j < m->nparams; j++)
			FUZZ_CHECK(m->params[j].name != NULL);
	}
	for (size_t i = 0; i < c->nquals; i++)
		FUZZ_CHECK(c->quals[i].name != NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_exact(data, size);
	mof_schema s;
	rdms_error err;
	uint32_t rc;

	if (text == NULL)
		return 0;
	rc = mof_parse(text, size, &s, &err);
	if (rc == 0) {
		FUZZ_CHECK(s.namespace_ != NULL);
		FUZZ_CHECK(s.nclasses == 0 || s.classes != NULL);
		for (size_t i = 0; i < s.nclasses; i++)
			check_class(s.classes[i]);
		mof_schema_free(&s);
	} else {
		FUZZ_CHECK(s.nclasses == 0 && s.classes == NULL && s.namespace_ == NULL);
		FUZZ_CHECK(fuzz_error_set(rc, err.code, err.message));
		FUZZ_CHECK(strncmp(err.message, "line ", 5) == 0);
	}
	free(text);
	return 0;
}
