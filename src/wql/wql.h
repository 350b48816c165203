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
 *
 * Event queries (what a subscription filters with; spec/events.md 1):
 *
 *   SELECT * | prop[, prop...] FROM EventClass [WITHIN seconds]
 *       WHERE TargetInstance ISA 'Class' [AND condition]
 *
 * EventClass is __InstanceCreationEvent, __InstanceModificationEvent,
 * __InstanceDeletionEvent, __InstanceOperationEvent (all three), or the
 * DMTF CIM_InstCreation, CIM_InstModification, CIM_InstDeletion,
 * CIM_InstIndication, whose instance is SourceInstance (TargetInstance is
 * accepted as its alias).  The condition names TargetInstance.Prop,
 * PreviousInstance.Prop (modification classes only), __CLASS (the event's
 * class) and may compare two properties of the same type
 * (TargetInstance.ClientMachineName <> PreviousInstance.ClientMachineName).
 * The ISA test must be joined to the rest by AND, so a subscription names
 * its class.  WITHIN is kept as a latency bound (it may be fractional);
 * GROUP WITHIN is not supported yet (WBEM_E_NOT_SUPPORTED).
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

/* The kinds of event, as bits (wql_event_kinds). */
enum { WQL_EVENT_CREATION = 1, WQL_EVENT_MODIFICATION = 2, WQL_EVENT_DELETION = 4 };

/*
 * Parses an event query TEXT (above); wql_class() is then the ISA class.
 * Errors as wql_parse, and WBEM_E_NOT_EVENT_CLASS for a FROM class that is
 * a data class, WBEM_E_UNPARSABLE_QUERY for an event query without its ISA
 * test (or with one under OR or NOT), WBEM_E_PROPERTY_NOT_AN_OBJECT for a
 * dot after a property that is not an object, WBEM_E_MISSING_GROUP_WITHIN
 * and WBEM_E_NOT_SUPPORTED for the GROUP clause.  wql_parse, for its part,
 * refuses an event class in FROM with WBEM_E_INVALID_QUERY.
 */
uint32_t wql_parse_event(const char *text, wql_class_lookup lookup, wql_query **out,
                         rdms_error *err);
/* True for a query wql_parse_event made. */
bool wql_is_event(const wql_query *q);
/* The WQL_EVENT_* kinds its FROM class covers. */
unsigned wql_event_kinds(const wql_query *q);
/* True for the DMTF form (CIM_Inst*: SourceInstance, IndicationTime). */
bool wql_event_dmtf(const wql_query *q);
/* The class an event of KIND (one WQL_EVENT_* bit) is delivered as, in Q's form. */
const char *wql_event_class_name(const wql_query *q, unsigned kind);
/* True when NAME (any case) is one of the event classes above. */
bool wql_is_event_class(const char *name);
/* The FROM class of event query Q, as the list above spells it. */
const char *wql_event_from(const wql_query *q);
/*
 * True when Q's FROM class is event class NAME or one of its subclasses
 * (__InstanceOperationEvent's are the three __Instance*Event, and
 * CIM_InstIndication's the three CIM_Inst*): every event Q selects is a
 * NAME.  False when NAME is no event class.
 */
bool wql_event_from_is_a(const wql_query *q, const char *name);
/* WITHIN's interval in seconds; 0 when the query has none. */
double wql_event_within(const wql_query *q);
/* True when the SELECT list keeps PreviousInstance (and SELECT *). */
bool wql_event_selects_previous(const wql_query *q);
/*
 * True when an event of KIND (one WQL_EVENT_* bit) on TARGET (the new
 * instance, or the deleted one) with PREVIOUS (the instance before a
 * modification; NULL otherwise) satisfies the event query Q.
 */
bool wql_match_event(const wql_query *q, unsigned kind, const cim_instance *target,
                     const cim_instance *previous);

const cim_class *wql_class(const wql_query *q);
/* True for SELECT *. */
bool wql_selects_all(const wql_query *q);
/* True when property INDEX of the class is in the SELECT list (or *). */
bool wql_selects(const wql_query *q, size_t index);
/* True when INST (of wql_class(q)) satisfies the WHERE clause (or there is none). */
bool wql_match(const wql_query *q, const cim_instance *inst);

/*
 * True when every instance data query Q selects has property PROP equal
 * to a literal (wql_narrow.c): the WHERE clause requires `PROP = literal`
 * on every path to acceptance (under AND, never only under OR or NOT).
 * *VALUE is then that literal: a uint32, or a string already ASCII-folded
 * (WQL compares strings after ASCII lowercasing), which is Q's and valid
 * while Q is.  For narrowing what a store reads; Q still decides.
 */
bool wql_required_equal(const wql_query *q, size_t prop, cim_value *value);

/* LIKE pattern matching on its own (case-insensitive), for reuse and tests. */
bool wql_like(const char *text, const char *pattern);

#endif
