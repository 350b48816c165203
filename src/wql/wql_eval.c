/*
 * wql_eval.c -- running a compiled WQL query against instances, and LIKE.
 *
 * wql_match() follows the branch program built by wql_parse.c: it starts
 * at q->entry, evaluates one leaf test, and jumps to on_true or on_false
 * until it reaches WQL_ACCEPT or WQL_REJECT.  Tests are numbered in query
 * order and every jump goes to a test further right (the next operand of an
 * AND/OR), so the loop ends after at most ntests steps.
 * Leaf tests read the instance value by index and compare it with a
 * literal already in the property's type; nothing allocates.
 *
 * Semantics: a comparison with a NULL value is false (IS NULL exists for
 * that), and NOT simply negates, so NOT (x = 1) holds when x is NULL.
 * Strings compare after ASCII lowercasing, bytewise (unsigned) for < >.
 *
 * LIKE patterns compile into elements that each match exactly one
 * character (a folded byte, '_', a 256-bit set) or any run ('%').  With
 * that shape the classic single-backtrack-point matcher is exact: when an
 * element fails, only the most recent '%' needs to absorb one more
 * character, because everything before it has already matched.
 */
#include "wql_internal.h"

#include <stdlib.h>
#include <string.h>

/* ---- LIKE ------------------------------------------------------------------ */

static void set_bit(uint8_t *set, unsigned char c)
{
	set[c >> 3] |= (uint8_t)(1u << (c & 7));
}

static bool has_bit(const uint8_t *set, unsigned char c)
{
	return (set[c >> 3] >> (c & 7)) & 1u;
}

/* Parses the set starting after '[' at PAT[*I]; leaves *I after ']'. */
static uint32_t compile_set(const char *pat, size_t *i, size_t col, uint8_t *set,
                            rdms_error *err)
{
	size_t open = *i - 1, j = *i;
	bool neg = false;

	if (pat[j] == '^') {
		neg = true;
		j++;
	}
	if (pat[j] == ']')
		return rdms_fail(err, WBEM_E_INVALID_QUERY,
		                 "empty [] in LIKE pattern at column %zu (offset %zu)", col, open);
	while (pat[j] != ']') {
		unsigned char lo = (unsigned char)pat[j], hi = lo;

		if (lo == '\0')
			return rdms_fail(err, WBEM_E_INVALID_QUERY,
			                 "unterminated '[' in LIKE pattern at column %zu (offset %zu)",
			                 col, open);
		if (pat[j + 1] == '-' && pat[j + 2] != ']' && pat[j + 2] != '\0') {
			hi = (unsigned char)pat[j + 2];
			if (hi < lo)
				return rdms_fail(err, WBEM_E_INVALID_QUERY,
				                 "reversed range '%c-%c' in LIKE pattern at column %zu",
				                 lo, hi, col);
			j += 2;
		}
		for (unsigned c = lo; c <= hi; c++)
			set_bit(set, wql_fold((unsigned char)c));
		j++;
	}
	if (neg)
		for (size_t k = 0; k < 32; k++)
			set[k] = (uint8_t)~set[k];
	*i = j + 1;
	return 0;
}

uint32_t wql_like_compile(const char *pattern, size_t col, wql_like_pat *out,
                          rdms_error *err)
{
	size_t n, nbrackets = 0, i = 0;
	uint32_t rc;

	memset(out, 0, sizeof *out);
	/* One pass for the length and the sets, so the count visibly covers
	 * every '[' the loop below meets. */
	for (n = 0; pattern[n] != '\0'; n++)
		nbrackets += pattern[n] == '[';
	out->elems = malloc((n + 1) * sizeof *out->elems);
	if (nbrackets > 0)
		out->sets = calloc(nbrackets, sizeof *out->sets);
	if (out->elems == NULL || (nbrackets > 0 && out->sets == NULL))
		return rdms_fail(err, WBEM_E_OUT_OF_MEMORY, "out of memory");
	while (pattern[i] != '\0') {
		wql_like_elem *e = &out->elems[out->nelems];
		unsigned char c = (unsigned char)pattern[i++];

		memset(e, 0, sizeof *e);
		if (c == '%') {
			/* %% is %: keeping one makes the matcher's backtracking cheaper. */
			if (out->nelems > 0 && e[-1].kind == WQL_LIKE_ANY)
				continue;
			e->kind = WQL_LIKE_ANY;
		} else if (c == '_') {
			e->kind = WQL_LIKE_ONE;
		} else if (c == '[') {
			e->kind = WQL_LIKE_SET;
			e->set = (uint32_t)out->nsets;
			rc = compile_set(pattern, &i, col, out->sets[out->nsets++], err);
			if (rc != 0)
				return rc;
		} else {
			e->kind = WQL_LIKE_CHAR;
			e->ch = wql_fold(c);
		}
		out->nelems++;
	}
	return 0;
}

void wql_like_free(wql_like_pat *p)
{
	if (p == NULL)
		return;
	free(p->elems);
	free(p->sets);
	memset(p, 0, sizeof *p);
}

static bool elem_matches(const wql_like_pat *p, const wql_like_elem *e, unsigned char c)
{
	switch (e->kind) {
	case WQL_LIKE_CHAR: return wql_fold(c) == e->ch;
	case WQL_LIKE_ONE:  return true;
	default:            return has_bit(p->sets[e->set], wql_fold(c));
	}
}

bool wql_like_match(const wql_like_pat *p, const char *text)
{
	const wql_like_elem *e = p->elems, *end = p->elems + p->nelems;
	const wql_like_elem *star = NULL;
	const unsigned char *t = (const unsigned char *)text, *mark = NULL;

	while (*t != '\0') {
		if (e < end && e->kind == WQL_LIKE_ANY) {
			star = e++;
			mark = t;
		} else if (e < end && elem_matches(p, e, *t)) {
			e++;
			t++;
		} else if (star != NULL) {
			/* Let the last % take one more character and retry after it. */
			e = star + 1;
			t = ++mark;
		} else {
			return false;
		}
	}
	while (e < end && e->kind == WQL_LIKE_ANY)
		e++;
	return e == end;
}

bool wql_like(const char *text, const char *pattern)
{
	wql_like_pat p;
	bool ok;

	if (text == NULL || pattern == NULL)
		return false;
	/* A malformed pattern matches nothing; wql_parse reports it properly. */
	ok = wql_like_compile(pattern, 0, &p, NULL) == 0 && wql_like_match(&p, text);
	wql_like_free(&p);
	return ok;
}

/* ---- leaf tests -------------------------------------------------------------- */

/* Compares S, folding as it goes, with the already folded literal LIT. */
static int fold_cmp(const char *s, const char *lit)
{
	const unsigned char *a = (const unsigned char *)s, *b = (const unsigned char *)lit;
	unsigned char c;

	while ((c = wql_fold(*a)) == *b && c != '\0') {
		a++;
		b++;
	}
	return (int)c - (int)*b;
}

static bool op_holds(uint8_t op, int cmp)
{
	switch (op) {
	case WQL_OP_EQ: return cmp == 0;
	case WQL_OP_NE: return cmp != 0;
	case WQL_OP_LT: return cmp < 0;
	case WQL_OP_GT: return cmp > 0;
	case WQL_OP_LE: return cmp <= 0;
	default:        return cmp >= 0;
	}
}

#define CMP3(a, b) (((a) > (b)) - ((a) < (b)))

static bool string_holds(const wql_test *t, const char *s)
{
	if (s == NULL)
		return false;
	switch (t->kind) {
	case WQL_K_STR_EQ:  return fold_cmp(s, t->lit.str) == 0;
	case WQL_K_STR_CMP: return op_holds(t->op, fold_cmp(s, t->lit.str));
	case WQL_K_LIKE:    return wql_like_match(t->lit.like, s);
	default:            return false;
	}
}

/* Compares two strings, folding both. */
static int fold_cmp2(const char *s, const char *t)
{
	const unsigned char *a = (const unsigned char *)s, *b = (const unsigned char *)t;
	unsigned char c;

	while ((c = wql_fold(*a)) == wql_fold(*b) && c != '\0') {
		a++;
		b++;
	}
	return (int)c - (int)wql_fold(*b);
}

/* Property V compared by T's op with property W of the same type. */
static bool props_hold(const wql_test *t, const cim_value *v, const cim_value *w)
{
	if (v->is_null || w->is_null)
		return false;
	switch (t->type) {
	case CIM_TYPE_UINT32:  return op_holds(t->op, CMP3(v->u.u32, w->u.u32));
	case CIM_TYPE_SINT32:  return op_holds(t->op, CMP3(v->u.s32, w->u.s32));
	case CIM_TYPE_BOOLEAN: return (v->u.boolean == w->u.boolean) == (t->op == WQL_OP_EQ);
	default:
		return v->u.str != NULL && w->u.str != NULL &&
		       op_holds(t->op, fold_cmp2(v->u.str, w->u.str));
	}
}

/* A value of the string family (string, datetime) carries its text. */
static bool same_type(uint8_t want, cim_type have)
{
	if (want == CIM_TYPE_STRING)
		return have == CIM_TYPE_STRING || have == CIM_TYPE_DATETIME;
	return want == have;
}

/*
 * T on the instances IN (indexed by WQL_SRC_*; a missing one, such as
 * PreviousInstance of a creation, has every property NULL) of an event of
 * class EVENT_CLASS (NULL for a data query).
 */
static bool test_holds(const wql_test *t, const cim_instance *const *in,
                       const char *event_class)
{
	const cim_instance *inst = in[t->src];
	const cim_value *v;

	if (t->src == WQL_SRC_EVENT)
		return t->kind != WQL_K_ISNULL && event_class != NULL &&
		       string_holds(t, event_class);
	if (inst == NULL)
		return t->kind == WQL_K_ISNULL;
	if (t->kind == WQL_K_ISA)
		return fold_cmp(inst->cls->name, t->lit.str) == 0;
	if (t->prop == WQL_SYS_CLASS)
		return t->kind != WQL_K_ISNULL && string_holds(t, inst->cls->name);
	v = &inst->values[t->prop];
	if (t->kind == WQL_K_ISNULL)
		return v->is_null;
	if (t->kind == WQL_K_PROP_CMP) {
		const cim_instance *other = in[t->lit.other.src];
		const cim_value *w;

		if (other == NULL || v->is_null || !same_type(t->type, v->type))
			return false;
		w = &other->values[t->lit.other.prop];
		return !w->is_null && same_type(t->type, w->type) && props_hold(t, v, w);
	}
	/* Comparisons with NULL are false; a wrongly typed value never matches. */
	if (v->is_null || v->type != t->type)
		return false;
	switch (t->kind) {
	case WQL_K_U32:     return op_holds(t->op, CMP3(v->u.u32, t->lit.u32));
	case WQL_K_S32:     return op_holds(t->op, CMP3(v->u.s32, t->lit.s32));
	case WQL_K_BOOL_EQ: return (v->u.boolean == t->lit.b) == (t->op == WQL_OP_EQ);
	default:            return string_holds(t, v->u.str);
	}
}

/* Follows the branch program over IN; the instances were checked by the caller. */
static bool run(const wql_query *q, const cim_instance *const *in, const char *event_class)
{
	int32_t i;

	if (q->tests == NULL)
		return true;
	for (i = q->entry; i >= 0;) {
		const wql_test *t = &q->tests[i];

		i = test_holds(t, in, event_class) ? t->on_true : t->on_false;
	}
	return i == WQL_ACCEPT;
}

/* True when INST can be read by the tests: a class, values, enough properties. */
static bool readable(const wql_query *q, const cim_instance *inst)
{
	return inst->cls != NULL && (q->tests == NULL ||
	       (inst->values != NULL && inst->cls->nprops >= q->min_props));
}

bool wql_match(const wql_query *q, const cim_instance *inst)
{
	const cim_instance *in[WQL_SRCS] = { inst, NULL, NULL };

	if (q == NULL || inst == NULL || q->event_kinds != 0 || !readable(q, inst))
		return false;
	return run(q, in, NULL);
}

bool wql_match_event(const wql_query *q, unsigned kind, const cim_instance *target,
                     const cim_instance *previous)
{
	const cim_instance *in[WQL_SRCS] = { target, NULL, NULL };

	if (q == NULL || target == NULL || (q->event_kinds & kind) == 0 ||
	    (kind != WQL_EVENT_CREATION && kind != WQL_EVENT_MODIFICATION &&
	     kind != WQL_EVENT_DELETION) || !readable(q, target))
		return false;
	/* Only a modification has a PreviousInstance. */
	if (kind == WQL_EVENT_MODIFICATION && previous != NULL) {
		if (!readable(q, previous))
			return false;
		in[WQL_SRC_PREVIOUS] = previous;
	}
	return run(q, in, wql_event_class_name(q, kind));
}

/* ---- the query object ---------------------------------------------------------- */

void wql_test_clear(wql_test *t)
{
	if (t->kind == WQL_K_STR_EQ || t->kind == WQL_K_STR_CMP || t->kind == WQL_K_ISA) {
		free(t->lit.str);
	} else if (t->kind == WQL_K_LIKE && t->lit.like != NULL) {
		wql_like_free(t->lit.like);
		free(t->lit.like);
	}
	memset(t, 0, sizeof *t);
}

void wql_free(wql_query *q)
{
	if (q == NULL)
		return;
	for (size_t i = 0; i < q->ntests; i++)
		wql_test_clear(&q->tests[i]);
	free(q->tests);
	free(q->selected);
	free(q);
}

const cim_class *wql_class(const wql_query *q)
{
	return q != NULL ? q->cls : NULL;
}

bool wql_selects_all(const wql_query *q)
{
	return q != NULL && q->select_all;
}

bool wql_selects(const wql_query *q, size_t index)
{
	if (q == NULL || q->cls == NULL || index >= q->cls->nprops)
		return false;
	return q->select_all || (q->selected != NULL && q->selected[index]);
}

bool wql_is_event(const wql_query *q)
{
	return q != NULL && q->event_kinds != 0;
}

unsigned wql_event_kinds(const wql_query *q)
{
	return q != NULL ? q->event_kinds : 0;
}

bool wql_event_dmtf(const wql_query *q)
{
	return q != NULL && q->from != NULL && q->from->dmtf;
}

double wql_event_within(const wql_query *q)
{
	return q != NULL ? q->within_s : 0;
}

bool wql_event_selects_previous(const wql_query *q)
{
	return q != NULL && (q->event_selected & WQL_SELECT_PREVIOUS) != 0;
}
