/*
 * schema_find.c -- class lookup in the generated table.  A linear scan:
 * the schema holds a handful of classes and is searched once per request.
 */
#include "schema.h"

#include <strings.h>

const cim_class *rdms_schema_find(const char *name)
{
	if (name == NULL)
		return NULL;
	for (size_t i = 0; i < rdms_schema_nclasses; i++)
		if (strcasecmp(rdms_schema_classes[i]->name, name) == 0)
			return rdms_schema_classes[i];
	return NULL;
}
