/*
 * instance.c -- instances of a class, and lists of them.
 *
 * Every instance is one block (cim_instance_new_packed):
 *   [cim_instance][values: nprops + 1][string bytes]
 * The hidden values[nprops] entry holds the end of the block in u.str, so
 * that a string pointing inside the block is known not to be free()d on
 * its own; a string set later with cim_instance_set is an ordinary one.
 * cim_instance_new makes the same block with no string bytes.
 */
#include "instance.h"
#include "../common/array.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* True when INST's value V points into INST's own block. */
static bool packed_string(const cim_instance *inst, const cim_value *v)
{
	const cim_value *end = &inst->values[inst->cls->nprops];

	if (v->u.str == NULL || (v->type != CIM_TYPE_STRING && v->type != CIM_TYPE_DATETIME))
		return false;
	/* Addresses as integers: the string may be another object altogether. */
	return (uintptr_t)v->u.str >= (uintptr_t)(end + 1) &&
	       (uintptr_t)v->u.str < (uintptr_t)end->u.str;
}

/* Clears property V of INST, which may be a packed string. */
static void value_release(cim_instance *inst, cim_value *v)
{
	if (packed_string(inst, v))
		*v = cim_null(v->type);
	else
		cim_value_clear(v);
}

/* Length of string property I of TEXT: LEN[i], or measured when LEN is NULL. */
static inline size_t text_len(const char *const *text, const size_t *len, size_t i)
{
	return len != NULL ? len[i] : strlen(text[i]);
}

/*
 * Kept tight (no cim_null call per property, a pass each to size, to set
 * the NULLs and to copy the strings): an enumeration makes and frees an
 * instance per session.
 */
cim_instance *cim_instance_new_packed_n(const cim_class *cls, const char *const *text,
                                        const size_t *len)
{
	const cim_property *props = cls->props;
	size_t n = cls->nprops, bytes = sizeof(cim_instance) + (n + 1) * sizeof(cim_value);
	cim_instance *inst;
	cim_value *values;
	char *p;

	for (size_t i = 0; text != NULL && i < n; i++)
		if (text[i] != NULL && props[i].type == CIM_TYPE_STRING)
			bytes += text_len(text, len, i) + 1;
	inst = malloc(bytes);
	if (inst == NULL)
		return NULL;
	values = (cim_value *)(inst + 1);
	inst->cls = cls;
	inst->values = values;
	for (size_t i = 0; i < n; i++)
		values[i] = (cim_value){ .type = props[i].type, .is_null = true };
	p = (char *)&values[n + 1];
	for (size_t i = 0; text != NULL && i < n; i++) {
		size_t k;

		if (text[i] == NULL || props[i].type != CIM_TYPE_STRING)
			continue;
		k = text_len(text, len, i);
		memcpy(p, text[i], k);
		p[k] = '\0';
		values[i].is_null = false;
		values[i].u.str = p;
		p += k + 1;
	}
	values[n] = (cim_value){ .type = CIM_TYPE_NONE, .is_null = true };
	values[n].u.str = p;    /* the end of the block */
	return inst;
}

cim_instance *cim_instance_new_packed(const cim_class *cls, const char *const *text)
{
	return cim_instance_new_packed_n(cls, text, NULL);
}

cim_instance *cim_instance_new(const cim_class *cls)
{
	return cim_instance_new_packed(cls, NULL);
}

void cim_instance_free(cim_instance *inst)
{
	const cim_value *v, *end;
	uintptr_t lo, hi;

	if (inst == NULL)
		return;
	/* What value_release does, without clearing what goes with the block. */
	v = inst->values;
	end = v + inst->cls->nprops;
	lo = (uintptr_t)(end + 1);
	hi = (uintptr_t)end->u.str;
	for (; v < end; v++)
		if ((v->type == CIM_TYPE_STRING || v->type == CIM_TYPE_DATETIME) && !v->is_null &&
		    ((uintptr_t)v->u.str < lo || (uintptr_t)v->u.str >= hi))
			free(v->u.str);
	free(inst);
}

cim_instance *cim_instance_dup(const cim_instance *inst)
{
	cim_instance *copy = cim_instance_new(inst->cls);

	if (copy == NULL)
		return NULL;
	for (size_t i = 0; i < inst->cls->nprops; i++) {
		if (!cim_value_copy(&copy->values[i], &inst->values[i])) {
			cim_instance_free(copy);
			return NULL;
		}
	}
	return copy;
}

size_t cim_instance_text_bytes(const cim_instance *inst)
{
	const cim_value *v = inst->values, *end = v + inst->cls->nprops;
	uintptr_t lo = (uintptr_t)(end + 1), hi = (uintptr_t)end->u.str;
	size_t n = (size_t)(hi - lo);    /* the packed strings */

	/* packed_string's test, inline: this runs for every instance written. */
	for (; v < end; v++) {
		uintptr_t s = (uintptr_t)v->u.str;

		if ((v->type == CIM_TYPE_STRING || v->type == CIM_TYPE_DATETIME) && s != 0 &&
		    (s < lo || s >= hi))
			n += strlen(v->u.str) + 1;
	}
	return n;
}

uint32_t cim_instance_set(cim_instance *inst, const char *name, cim_value v,
                          rdms_error *err)
{
	size_t i;
	const cim_property *p = cim_class_property(inst->cls, name, &i);

	if (p == NULL) {
		cim_value_clear(&v);
		return rdms_fail(err, WBEM_E_NOT_FOUND, "class %s has no property %s",
		                 inst->cls->name, name);
	}
	if (v.type != p->type) {
		cim_value_clear(&v);
		return rdms_fail(err, WBEM_E_TYPE_MISMATCH, "property %s is %s, not %s",
		                 p->name, cim_type_name(p->type), cim_type_name(v.type));
	}
	value_release(inst, &inst->values[i]);
	inst->values[i] = v;
	return WBEM_S_NO_ERROR;
}

const cim_value *cim_instance_get(const cim_instance *inst, const char *name)
{
	size_t i;

	if (cim_class_property(inst->cls, name, &i) == NULL)
		return NULL;
	return &inst->values[i];
}

bool cim_instance_list_push(cim_instance_list *l, cim_instance *inst)
{
	/* the list holds pointers: an element is a cim_instance *, not the struct */
	if (!array_reserve(&l->items, l->count, &l->cap, sizeof(cim_instance *), 16))
		return false;
	l->items[l->count++] = inst;
	return true;
}

void cim_instance_list_free(cim_instance_list *l)
{
	for (size_t i = 0; i < l->count; i++)
		cim_instance_free(l->items[i]);
	free(l->items);
	l->items = NULL;
	l->count = l->cap = 0;
}
