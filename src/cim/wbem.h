/*
 * wbem.h -- WMI return codes and the error record every layer fills in.
 *
 * The codes come from one table, wbem_codes.def; each entry carries the
 * name, the value, a short text, the DSP0200 CIM status and the WS-Man
 * fault subcode, so that the CLI, WS-Management and CIM-XML front ends
 * report the same failure in their own vocabulary without a second table.
 */
#ifndef RDMS_CIM_WBEM_H
#define RDMS_CIM_WBEM_H

#include <stddef.h>
#include <stdint.h>

/* Values above INT_MAX make this a GNU C enum of type unsigned int. */
enum wbem_status {
#define X(name, value, cim, subcode, text) name = (value),
#include "wbem_codes.def"
#undef X
};

/* Other spellings found in wbemcli.h copies. */
#define WBEM_NO_ERROR        WBEM_S_NO_ERROR
#define WBEM_S_SAME          WBEM_S_NO_ERROR
#define WBEM_S_INITIALIZED   WBEM_S_NO_ERROR
#define WBEM_E_RESERVED_001  WBEM_E_TRANSACTION_CONFLICT
#define WBEM_E_RESERVED_002  WBEM_E_FORCED_ROLLBACK

typedef struct wbem_code {
	const char *name;          /* "WBEM_E_NOT_FOUND" */
	uint32_t    value;         /* 0x80041002 */
	int         cim_status;    /* DSP0200 status, 0 for success codes */
	const char *wsman_subcode; /* "wsa:DestinationUnreachable"; NULL for success */
	const char *text;          /* "Not found" */
} wbem_code;

/* The entry for VALUE, or NULL when VALUE is not in the table. */
const wbem_code *wbem_lookup(uint32_t value);
/* The entry named NAME (case-sensitive), or NULL. */
const wbem_code *wbem_lookup_name(const char *name);
/* The whole table, in declaration order; *count receives its length. */
const wbem_code *wbem_table(size_t *count);
/* "WBEM_E_NOT_FOUND", or "0x%08X" (in a static buffer) for unknown codes. */
const char *wbem_name(uint32_t value);
/* True when VALUE is an error (severity bits set). */
int wbem_failed(uint32_t value);

/* The error record passed down every call that can fail. */
typedef struct rdms_error {
	uint32_t code;        /* a WBEM_E_* value; 0 while no error is set */
	char     message[512];/* what and where, e.g. "unexpected ')' at column 17" */
} rdms_error;

/* Sets ERR (may be NULL) to CODE with a printf-style message; returns CODE. */
uint32_t rdms_fail(rdms_error *err, uint32_t code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Clears ERR. */
void rdms_error_clear(rdms_error *err);

#endif
