/*
 * mof.h -- a parser for the subset of MOF (DSP0221) that RDManagement.mof
 * uses: #pragma namespace, class declarations with qualifiers, properties of
 * the scalar types in value.h, and methods with [in]/[out] parameters.
 *
 * The parse result is heap-allocated cim_class structures; mofc turns them
 * into a static C table.  Errors carry a WBEMMOF_E_* code, line and column.
 */
#ifndef RDMS_SCHEMA_MOF_H
#define RDMS_SCHEMA_MOF_H

#include <stddef.h>

#include "../cim/class.h"
#include "../cim/wbem.h"

typedef struct mof_schema {
	char       *namespace_;   /* from the last #pragma namespace, '/'-normalised, no \\.\ prefix */
	size_t      nclasses;
	cim_class **classes;
} mof_schema;

/*
 * Parses LEN bytes of TEXT (need not be NUL-terminated).  On error returns
 * the WBEMMOF_E_* code and fills ERR with "line L, column C: ...".
 */
uint32_t mof_parse(const char *text, size_t len, mof_schema *out, rdms_error *err);
void mof_schema_free(mof_schema *s);

#endif
