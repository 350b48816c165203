/*
 * path.h -- WMI object paths, the one parser every front end uses.
 *
 *   [\\host\ns:|//host/ns:|ns:]Class.Key1=value,Key2="value"
 *
 * Keys may come in any order; string values are double-quoted with \" and \\
 * escapes; integers are unquoted (decimal, optional sign); TRUE/FALSE are
 * booleans.  Namespaces compare case-insensitively with / or \ separators.
 */
#ifndef RDMS_CIM_PATH_H
#define RDMS_CIM_PATH_H

#include "class.h"
#include "value.h"

typedef struct cim_keybinding {
	char     *name;
	cim_value value;   /* STRING, UINT32/SINT32 for numbers, BOOLEAN */
} cim_keybinding;

typedef struct cim_path {
	char           *host;        /* NULL when absent; "." for the local host */
	char           *namespace_;  /* normalised to '/' separators; NULL when absent */
	char           *class_name;
	size_t          nkeys;
	cim_keybinding *keys;
} cim_path;

/*
 * Parses TEXT.  Syntax errors give WBEM_E_INVALID_OBJECT_PATH with the
 * column (1-based) and what was expected.  OUT is left empty on failure.
 */
uint32_t cim_path_parse(const char *text, cim_path *out, rdms_error *err);
void cim_path_free(cim_path *p);

/* Formats the relative path Class.Key=..., keys in the order given (malloc'd). */
char *cim_path_format(const cim_path *p);

/* True when NS names the same namespace as WANT (case, / versus \). */
bool cim_namespace_equal(const char *ns, const char *want);

/*
 * Checks P against CLS: namespace (if present) and class name must match
 * (WBEM_E_INVALID_NAMESPACE, WBEM_E_INVALID_CLASS), every key of CLS must be
 * given exactly once and nothing else (WBEM_E_INVALID_OBJECT_PATH), and each
 * value must convert to the key's type (WBEM_E_INVALID_OBJECT_PATH naming
 * the key).  On success KEYS (cim_class_nkeys(CLS) entries, in class
 * property order of the keys) receive typed copies the caller clears.
 */
uint32_t cim_path_bind(const cim_path *p, const cim_class *cls,
                       cim_value *keys, rdms_error *err);

/* The path of INST (its key properties in class order), malloc'd. */
char *cim_instance_path(const cim_class *cls, const cim_value *values);

#endif
