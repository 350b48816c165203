/*
 * instance.h -- instances of a class: one typed value per class property,
 * in the class's property order, so that WQL and the front ends reach a
 * property by index rather than by name.
 */
#ifndef RDMS_CIM_INSTANCE_H
#define RDMS_CIM_INSTANCE_H

#include "class.h"
#include "value.h"

typedef struct cim_instance {
	const cim_class *cls;
	cim_value       *values;   /* cls->nprops entries, each typed as declared */
} cim_instance;

/* A new instance with every property NULL; NULL on allocation failure. */
cim_instance *cim_instance_new(const cim_class *cls);
void cim_instance_free(cim_instance *inst);
/*
 * A new instance whose string properties are TEXT[i] (one entry per class
 * property; NULL or a non-string property: left NULL; TEXT NULL: none), made in a single
 * allocation with its values and strings -- an enumeration of thousands
 * of sessions then costs one malloc per instance instead of one per
 * string.  It is used like any other: cim_instance_set and
 * cim_instance_free know such strings.  NULL on allocation failure.
 */
cim_instance *cim_instance_new_packed(const cim_class *cls, const char *const *text);
/*
 * The same with the lengths known: string property i is the LEN[i] bytes
 * at TEXT[i] (no terminator needed; NULL TEXT[i]: left NULL), so a caller
 * that has them (the provider, for every session of an enumeration)
 * spares a strlen per string.  LEN NULL: TEXT's strings are terminated
 * and measured here.
 */
cim_instance *cim_instance_new_packed_n(const cim_class *cls, const char *const *text,
                                        const size_t *len);
cim_instance *cim_instance_dup(const cim_instance *inst);

/*
 * At least the bytes of all of INST's string and datetime values (NULL or
 * not), terminators included: what a writer reserves before escaping them,
 * known for a packed instance without measuring each string.
 */
size_t cim_instance_text_bytes(const cim_instance *inst);

/*
 * Sets property NAME to V, taking ownership of V's memory.  Fails (and frees
 * V) with WBEM_E_NOT_FOUND for an unknown name, WBEM_E_TYPE_MISMATCH when
 * V's type is not the declared one.
 */
uint32_t cim_instance_set(cim_instance *inst, const char *name, cim_value v,
                          rdms_error *err);
/* Property NAME, or NULL when the class has no such property. */
const cim_value *cim_instance_get(const cim_instance *inst, const char *name);

/* A growable list of instances; owns them. */
typedef struct cim_instance_list {
	cim_instance **items;
	size_t         count;
	size_t         cap;
} cim_instance_list;

bool cim_instance_list_push(cim_instance_list *l, cim_instance *inst);
void cim_instance_list_free(cim_instance_list *l);

#endif
