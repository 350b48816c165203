/*
 * class.h -- the class model: classes, properties, methods and qualifiers.
 *
 * These structures are filled from schema/RDManagement.mof, either by the
 * build-time MOF compiler (src/schema/mofc, which emits a static table) or by
 * mof_parse() at run time.  Nothing else in rdms declares a property list.
 */
#ifndef RDMS_CIM_CLASS_H
#define RDMS_CIM_CLASS_H

#include <stdbool.h>
#include <stddef.h>

#include "value.h"

typedef struct cim_qualifier {
	const char *name;    /* as written in the MOF: "key", "provider", "AMENDMENT" */
	cim_type    type;    /* BOOLEAN for flag qualifiers, STRING, UINT32 ... */
	const char *value;   /* literal text: "true", "Win32_RDManagement_Prov" */
} cim_qualifier;

typedef struct cim_property {
	const char          *name;
	cim_type             type;
	bool                 is_key;
	size_t               nquals;
	const cim_qualifier *quals;
} cim_property;

typedef struct cim_parameter {
	const char          *name;
	cim_type             type;
	bool                 is_in;
	bool                 is_out;
	size_t               nquals;
	const cim_qualifier *quals;
} cim_parameter;

typedef struct cim_method {
	const char          *name;
	cim_type             return_type;
	size_t               nparams;
	const cim_parameter *params;
	size_t               nquals;
	const cim_qualifier *quals;
} cim_method;

typedef struct cim_class {
	const char          *name;
	const char          *superclass;   /* NULL when none */
	const char          *namespace_;   /* "root/cimv2/rdms" (from #pragma namespace) */
	size_t               nquals;
	const cim_qualifier *quals;
	size_t               nprops;
	const cim_property  *props;
	size_t               nmethods;
	const cim_method    *methods;
} cim_class;

/* Property named NAME (case-insensitive) or NULL; *index gets its position. */
const cim_property *cim_class_property(const cim_class *c, const char *name,
                                       size_t *index);
/* Method named NAME (case-insensitive) or NULL. */
const cim_method *cim_class_method(const cim_class *c, const char *name);
/* Parameter named NAME (case-insensitive) or NULL. */
const cim_parameter *cim_method_parameter(const cim_method *m, const char *name);
/* Number of key properties. */
size_t cim_class_nkeys(const cim_class *c);

/* Writes C back as MOF text (malloc'd), e.g. for `rdms class --mof`. */
char *cim_class_to_mof(const cim_class *c);

#endif
