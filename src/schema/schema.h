/*
 * schema.h -- the classes rdms serves, compiled from schema/RDManagement.mof.
 *
 * The definitions live in the generated schema_table.c (written by mofc at
 * build time); the generated schema_props.h gives each property and method
 * an index constant (RDMS_WIN32_VIRTUALDESKTOPSESSION_SESSIONID ...) so code
 * that fills instances breaks at compile time if the MOF changes.
 */
#ifndef RDMS_SCHEMA_H
#define RDMS_SCHEMA_H

#include <stddef.h>

#include "../cim/class.h"
#include "schema_props.h"

/* The default namespace of the schema ("root/cimv2/rdms"). */
extern const char rdms_schema_namespace[];
/* Every class, in MOF order. */
extern const cim_class *const rdms_schema_classes[];
extern const size_t rdms_schema_nclasses;
/* The MOF source text the table was compiled from. */
extern const char rdms_schema_mof_source[];

/* The class named NAME (case-insensitive), or NULL. */
const cim_class *rdms_schema_find(const char *name);

#endif
