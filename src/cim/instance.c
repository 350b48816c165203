/*
 * instance.c -- instances of a class, and lists of them.
 */
#include "instance.h"

#include <stdlib.h>

cim_instance *cim_instance_new(const cim_class *cls)
{
	cim_instance *inst = malloc(sizeof *inst);

	if (inst == NULL)
		return NULL;
	inst->cls = cls;
	inst->values = calloc(cls->nprops ? cls->nprops : 1, sizeof *inst->values);
	if (inst->values == NULL) {
		free(inst);
		return NULL;
	}
	for (size_t i = 0; i < cls->nprops; i++)
		inst->values[i] = cim_null(cls->props[i].type);
	return inst;
}

void cim_instance_free(cim_instance *inst)
{
	if (inst == NULL)
		return;
	for (size_t i = 0; i < inst->cls->nprops; i++)
		cim_value_clear(&inst->values[i]);
	free(inst->values);
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
	cim_value_clear(&inst->values[i]);
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
	if (l->count == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		cim_instance **items = realloc(l->items, cap * sizeof *items);

		if (items == NULL)
			return false;
		l->items = items;
		l->cap = cap;
	}
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
