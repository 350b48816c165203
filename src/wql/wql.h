/*
 * wql.h -- the one WQL parser and evaluator (rdms-class.md section 6).
 *
 *   SELECT * | prop[, prop...] FROM Class [WHERE condition]
 *
 * condition: comparisons (= <> != < > <= >=) between a property and a
 * literal (either side), LIKE with % _ [..] [^..], IS [NOT] NULL, AND, OR,
 * NOT, parentheses; literals are strings ('..' or ".." with \ escapes),
 * integers, TRUE, FALSE, NULL.  String comparison is case-insensitive.
 * Property names resolve against the class once, at parse time, so
 * evaluation is a walk over a small tree with property indexes.
 */
#ifndef RDMS_WQL_H
#define RDMS_WQL_H

#include <stdbool.h>

#include "../cim/class.h"
#include "../cim/instance.h"
#include "../cim/wbem.h"

typedef struct wql_query wql_query;

/* Finds a class by name for FROM; returns NULL when unknown. */
typedef const cim_class *(*wql_class_lookup)(const char *name);

/*
 * Parses TEXT.  Errors: WBEM_E_INVALID_QUERY with "... at column N" for
 * syntax and unknown properties, WBEM_E_INVALID_CLASS for an unknown FROM
 * class, WBEM_E_INVALID_OPERATOR for an operator the type does not allow
 * (e.g. < on a boolean), WBEM_E_QUOTA_VIOLATION for an over-long or
 * over-complex query.  *OUT is NULL on failure.
 */
uint32_t wql_parse(const char *text, wql_class_lookup lookup, wql_query **out,
                   rdms_error *err);
void wql_free(wql_query *q);

const cim_class *wql_class(const wql_query *q);
/* True for SELECT *. */
bool wql_selects_all(const wql_query *q);
/* True when property INDEX of the class is in the SELECT list (or *). */
bool wql_selects(const wql_query *q, size_t index);
/* True when INST (of wql_class(q)) satisfies the WHERE clause (or there is none). */
bool wql_match(const wql_query *q, const cim_instance *inst);

/* LIKE pattern matching on its own (case-insensitive), for reuse and tests. */
bool wql_like(const char *text, const char *pattern);

#endif
