/*
 * value.c -- typed CIM values: construction, copying, parsing from text
 * (paths, selectors, CLI arguments all come in as text) and printing.
 */
#include "value.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <strings.h>

static const char *const type_names[] = {
	[CIM_TYPE_NONE] = "",
	[CIM_TYPE_STRING] = "string",
	[CIM_TYPE_UINT32] = "uint32",
	[CIM_TYPE_SINT32] = "sint32",
	[CIM_TYPE_BOOLEAN] = "boolean",
	[CIM_TYPE_DATETIME] = "datetime",
};

const char *cim_type_name(cim_type t)
{
	if ((unsigned)t >= sizeof type_names / sizeof type_names[0])
		return "";
	return type_names[t];
}

cim_type cim_type_from_name(const char *name)
{
	for (size_t i = 1; i < sizeof type_names / sizeof type_names[0]; i++)
		if (strcasecmp(name, type_names[i]) == 0)
			return (cim_type)i;
	return CIM_TYPE_NONE;
}

cim_value cim_null(cim_type t)
{
	cim_value v;

	memset(&v, 0, sizeof v);
	v.type = t;
	v.is_null = true;
	return v;
}

cim_value cim_u32(uint32_t x)
{
	cim_value v = cim_null(CIM_TYPE_UINT32);

	v.is_null = false;
	v.u.u32 = x;
	return v;
}

cim_value cim_s32(int32_t x)
{
	cim_value v = cim_null(CIM_TYPE_SINT32);

	v.is_null = false;
	v.u.s32 = x;
	return v;
}

cim_value cim_bool(bool x)
{
	cim_value v = cim_null(CIM_TYPE_BOOLEAN);

	v.is_null = false;
	v.u.boolean = x;
	return v;
}

cim_value cim_string(const char *s)
{
	cim_value v = cim_null(CIM_TYPE_STRING);

	if (s != NULL) {
		v.u.str = strdup(s);
		v.is_null = v.u.str == NULL;
	}
	return v;
}

cim_value cim_datetime(const char *s)
{
	cim_value v = cim_string(s);

	v.type = CIM_TYPE_DATETIME;
	return v;
}

static bool owns_text(const cim_value *v)
{
	return v->type == CIM_TYPE_STRING || v->type == CIM_TYPE_DATETIME;
}

bool cim_value_copy(cim_value *dst, const cim_value *src)
{
	*dst = *src;
	if (owns_text(src) && !src->is_null) {
		dst->u.str = strdup(src->u.str);
		if (dst->u.str == NULL) {
			*dst = cim_null(src->type);
			return false;
		}
	}
	return true;
}

void cim_value_clear(cim_value *v)
{
	if (owns_text(v) && !v->is_null)
		free(v->u.str);
	*v = cim_null(v->type);
}

/* Parses a decimal or 0x-hex integer with optional sign into *out. */
static bool parse_integer(const char *text, long long *out)
{
	char *end;
	int base = 10;
	const char *p = text;

	if (*p == '+' || *p == '-')
		p++;
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
		base = 16;
	if (!isxdigit((unsigned char)p[base == 16 ? 2 : 0]))
		return false;
	errno = 0;
	*out = strtoll(text, &end, base);
	return errno == 0 && *end == '\0';
}

bool cim_datetime_valid(const char *s)
{
	/* yyyymmddHHMMSS.mmmmmmsUUU (timestamp) or ddddddddHHMMSS.mmmmmm:000 (interval) */
	if (strlen(s) != 25 || s[14] != '.')
		return false;
	for (int i = 0; i < 21; i++)
		if (i != 14 && !isdigit((unsigned char)s[i]) && s[i] != '*')
			return false;
	if (s[21] == ':')
		return strcmp(s + 22, "000") == 0;
	if (s[21] != '+' && s[21] != '-')
		return false;
	for (int i = 22; i < 25; i++)
		if (!isdigit((unsigned char)s[i]))
			return false;
	return true;
}

/* N digits of S as a number; false when one is not a digit. */
static bool digits(const char *s, int n, long long *out)
{
	*out = 0;
	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return false;
		*out = *out * 10 + (s[i] - '0');
	}
	return true;
}

bool cim_datetime_from_unix(int64_t t, char out[CIM_DATETIME_SIZE])
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL || tm.tm_year + 1900 < 0 || tm.tm_year + 1900 > 9999)
		return false;
	snprintf(out, CIM_DATETIME_SIZE, "%04u%02u%02u%02u%02u%02u.000000+000",
	         (unsigned)(tm.tm_year + 1900) % 10000u, (unsigned)(tm.tm_mon + 1) % 100u,
	         (unsigned)tm.tm_mday % 100u, (unsigned)tm.tm_hour % 100u,
	         (unsigned)tm.tm_min % 100u, (unsigned)tm.tm_sec % 100u);
	return true;
}

bool cim_datetime_to_unix(const char *s, int64_t *t)
{
	long long year, mon, day, hour, min, sec, off;
	struct tm tm = { 0 };
	time_t u;

	if (!cim_datetime_valid(s) || s[21] == ':' || !digits(s, 4, &year) ||
	    !digits(s + 4, 2, &mon) || !digits(s + 6, 2, &day) || !digits(s + 8, 2, &hour) ||
	    !digits(s + 10, 2, &min) || !digits(s + 12, 2, &sec) || !digits(s + 22, 3, &off) ||
	    mon < 1 || mon > 12 || day < 1 || day > 31 || hour > 23 || min > 59 || sec > 60)
		return false;
	tm.tm_year = (int)year - 1900;
	tm.tm_mon = (int)mon - 1;
	tm.tm_mday = (int)day;
	tm.tm_hour = (int)hour;
	tm.tm_min = (int)min;
	tm.tm_sec = (int)sec;
	u = timegm(&tm);
	/* the offset is the local time's minutes east of UTC */
	*t = (int64_t)u - (s[21] == '+' ? 1 : -1) * off * 60;
	return true;
}

void cim_interval_from_seconds(uint64_t seconds, char out[CIM_DATETIME_SIZE])
{
	uint64_t days = seconds / 86400;

	if (days > 99999999u)
		days = 99999999u;
	snprintf(out, CIM_DATETIME_SIZE, "%08llu%02u%02u%02u.000000:000",
	         (unsigned long long)days % 100000000u,
	         (unsigned)(seconds / 3600 % 24), (unsigned)(seconds / 60 % 60),
	         (unsigned)(seconds % 60));
}

bool cim_interval_to_seconds(const char *s, uint64_t *seconds)
{
	long long days, hour, min, sec;

	if (!cim_datetime_valid(s) || s[21] != ':' || !digits(s, 8, &days) ||
	    !digits(s + 8, 2, &hour) || !digits(s + 10, 2, &min) || !digits(s + 12, 2, &sec) ||
	    hour > 23 || min > 59 || sec > 59)
		return false;
	*seconds = (uint64_t)(((days * 24 + hour) * 60 + min) * 60 + sec);
	return true;
}

uint32_t cim_value_parse(cim_type t, const char *text, const char *what,
                         cim_value *out, rdms_error *err)
{
	long long n;

	*out = cim_null(t);
	switch (t) {
	case CIM_TYPE_STRING:
		*out = cim_string(text);
		if (out->is_null)
			return rdms_fail(err, WBEM_E_OUT_OF_MEMORY, "out of memory");
		return WBEM_S_NO_ERROR;
	case CIM_TYPE_DATETIME:
		if (!cim_datetime_valid(text))
			return rdms_fail(err, WBEM_E_TYPE_MISMATCH,
			                 "%s: '%s' is not a DMTF datetime", what, text);
		*out = cim_string(text);
		out->type = CIM_TYPE_DATETIME;
		if (out->is_null)
			return rdms_fail(err, WBEM_E_OUT_OF_MEMORY, "out of memory");
		return WBEM_S_NO_ERROR;
	case CIM_TYPE_UINT32:
	case CIM_TYPE_SINT32:
		if (!parse_integer(text, &n))
			return rdms_fail(err, WBEM_E_TYPE_MISMATCH,
			                 "%s: '%s' is not an integer", what, text);
		if (t == CIM_TYPE_UINT32) {
			if (n < 0 || n > (long long)UINT32_MAX)
				return rdms_fail(err, WBEM_E_VALUE_OUT_OF_RANGE,
				                 "%s: %s is out of range for uint32", what, text);
			*out = cim_u32((uint32_t)n);
		} else {
			if (n < INT32_MIN || n > INT32_MAX)
				return rdms_fail(err, WBEM_E_VALUE_OUT_OF_RANGE,
				                 "%s: %s is out of range for sint32", what, text);
			*out = cim_s32((int32_t)n);
		}
		return WBEM_S_NO_ERROR;
	case CIM_TYPE_BOOLEAN:
		if (strcasecmp(text, "true") == 0)
			*out = cim_bool(true);
		else if (strcasecmp(text, "false") == 0)
			*out = cim_bool(false);
		else
			return rdms_fail(err, WBEM_E_TYPE_MISMATCH,
			                 "%s: '%s' is not TRUE or FALSE", what, text);
		return WBEM_S_NO_ERROR;
	case CIM_TYPE_NONE:
		break;
	}
	return rdms_fail(err, WBEM_E_INVALID_CIM_TYPE, "%s: no type", what);
}

const char *cim_value_text(const cim_value *v, char *buf, size_t size)
{
	if (size == 0)
		return buf;
	buf[0] = '\0';
	if (v->is_null)
		return buf;
	switch (v->type) {
	case CIM_TYPE_STRING:
	case CIM_TYPE_DATETIME:
		snprintf(buf, size, "%s", v->u.str);
		break;
	case CIM_TYPE_UINT32:
		snprintf(buf, size, "%" PRIu32, v->u.u32);
		break;
	case CIM_TYPE_SINT32:
		snprintf(buf, size, "%" PRId32, v->u.s32);
		break;
	case CIM_TYPE_BOOLEAN:
		snprintf(buf, size, "%s", v->u.boolean ? "TRUE" : "FALSE");
		break;
	case CIM_TYPE_NONE:
		break;
	}
	return buf;
}

bool cim_value_equal(const cim_value *a, const cim_value *b)
{
	if (a->type != b->type || a->is_null != b->is_null)
		return false;
	if (a->is_null)
		return true;
	switch (a->type) {
	case CIM_TYPE_STRING:
	case CIM_TYPE_DATETIME:
		return strcmp(a->u.str, b->u.str) == 0;
	case CIM_TYPE_UINT32:
		return a->u.u32 == b->u.u32;
	case CIM_TYPE_SINT32:
		return a->u.s32 == b->u.s32;
	case CIM_TYPE_BOOLEAN:
		return a->u.boolean == b->u.boolean;
	case CIM_TYPE_NONE:
		return true;
	}
	return false;
}
