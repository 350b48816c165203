/*
 * wbem.c -- the WMI return-code table and the error record.
 */
#include "wbem.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "../common/strutil.h"

static const wbem_code codes[] = {
#define X(name, value, cim, subcode, text) { #name, value, cim, subcode, text },
#include "wbem_codes.def"
#undef X
};

const wbem_code *wbem_table(size_t *count)
{
	*count = sizeof codes / sizeof codes[0];
	return codes;
}

const wbem_code *wbem_lookup(uint32_t value)
{
	/* Aliases share values (WBEM_S_NO_ERROR); the first entry wins. */
	for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
		if (codes[i].value == value)
			return &codes[i];
	return NULL;
}

const wbem_code *wbem_lookup_name(const char *name)
{
	for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
		if (strcmp(codes[i].name, name) == 0)
			return &codes[i];
	return NULL;
}

const char *wbem_name(uint32_t value)
{
	static _Thread_local char unknown[16];
	const wbem_code *c = wbem_lookup(value);

	if (c != NULL)
		return c->name;
	snprintf(unknown, sizeof unknown, "0x%08X", (unsigned)value);
	return unknown;
}

int wbem_failed(uint32_t value)
{
	return (value & 0x80000000u) != 0;
}

uint32_t rdms_fail(rdms_error *err, uint32_t code, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return code;
	err->code = code;
	va_start(ap, fmt);
	str_vformat(err->message, sizeof err->message, fmt, ap);   /* a long quoted name */
	va_end(ap);
	return code;
}

void rdms_error_clear(rdms_error *err)
{
	if (err != NULL) {
		err->code = 0;
		err->message[0] = '\0';
	}
}
