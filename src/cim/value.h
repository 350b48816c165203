/*
 * value.h -- typed CIM values.
 *
 * A cim_value always knows its declared type, also when it is NULL, because
 * every front end prints a NULL with its type (CIM-XML TYPE=, WS-Man xsi:nil
 * under a typed element).  Strings and datetimes own their text.
 */
#ifndef RDMS_CIM_VALUE_H
#define RDMS_CIM_VALUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wbem.h"

typedef enum cim_type {
	CIM_TYPE_NONE = 0,  /* untyped: only a NULL literal has it */
	CIM_TYPE_STRING,
	CIM_TYPE_UINT32,
	CIM_TYPE_SINT32,
	CIM_TYPE_BOOLEAN,
	CIM_TYPE_DATETIME,  /* DMTF text form, yyyymmddHHMMSS.mmmmmmsUUU or interval */
} cim_type;

typedef struct cim_value {
	cim_type type;
	bool     is_null;
	union {
		char    *str;     /* STRING, DATETIME */
		uint32_t u32;
		int32_t  s32;
		bool     boolean;
	} u;
} cim_value;

/* "string", "uint32", "sint32", "boolean", "datetime"; "" for NONE. */
const char *cim_type_name(cim_type t);
/* Case-insensitive inverse of cim_type_name; CIM_TYPE_NONE when unknown. */
cim_type cim_type_from_name(const char *name);

cim_value cim_null(cim_type t);
cim_value cim_u32(uint32_t v);
cim_value cim_s32(int32_t v);
cim_value cim_bool(bool v);
/* Copies S (NULL gives a NULL string); is_null with type set on allocation failure. */
cim_value cim_string(const char *s);
/* The same for a DMTF datetime S (not checked: the caller made it). */
cim_value cim_datetime(const char *s);

/* Deep copy; returns false on allocation failure (DST is then a NULL). */
bool cim_value_copy(cim_value *dst, const cim_value *src);
/* Frees what V owns and leaves a NULL of the same type. */
void cim_value_clear(cim_value *v);

/*
 * Parses TEXT as a value of type T: decimal (or 0x hex) integers with range
 * checks, TRUE/FALSE (any case) for booleans, a DMTF datetime for datetime.
 * On failure sets ERR (WBEM_E_TYPE_MISMATCH or WBEM_E_VALUE_OUT_OF_RANGE)
 * naming WHAT (e.g. "key SessionId") and returns the code.
 */
uint32_t cim_value_parse(cim_type t, const char *text, const char *what,
                         cim_value *out, rdms_error *err);

/* Checks a DMTF datetime string (timestamp or interval form). */
bool cim_datetime_valid(const char *s);

/* Bytes of a DMTF datetime with its terminator. */
#define CIM_DATETIME_SIZE 26
/* Unix time T as a DMTF timestamp in UTC ("20240501120000.000000+000"); false out of range. */
bool cim_datetime_from_unix(int64_t t, char out[CIM_DATETIME_SIZE]);
/* A DMTF timestamp (any offset, no '*') as Unix time; false for anything else. */
bool cim_datetime_to_unix(const char *s, int64_t *t);
/* SECONDS as a DMTF interval ("00000001020304.000000:000": 1 day 02:03:04). */
void cim_interval_from_seconds(uint64_t seconds, char out[CIM_DATETIME_SIZE]);
/* A DMTF interval (no '*') as seconds, fractions dropped; false for anything else. */
bool cim_interval_to_seconds(const char *s, uint64_t *seconds);

/*
 * Text form for output: decimal integers, "TRUE"/"FALSE", the string as is;
 * NULL values give "".  Writes into BUF (always terminated) and returns it.
 */
const char *cim_value_text(const cim_value *v, char *buf, size_t size);

/* Equality with CIM semantics: same type and value; strings case-sensitive. */
bool cim_value_equal(const cim_value *a, const cim_value *b);

#endif
