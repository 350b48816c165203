/*
 * wql_parse.c -- WQL text to a compiled query (see wql_internal.h).
 *
 *   query     := SELECT ( '*' | name { ',' name } ) FROM name
 *                [ WITHIN number ] [ WHERE or ] [ GROUP ... ]   (the last two: events)
 *   or        := and { OR and }
 *   and       := unary { AND unary }
 *   unary     := { NOT } primary
 *   primary   := '(' or ')' | predicate
 *   predicate := prop IS [NOT] NULL | prop LIKE string
 *              | prop cmp literal | literal cmp prop
 *              | object ISA string | prop cmp prop          (events)
 *   prop      := name | object '.' name                     (object: events)
 *
 * An event query (wql_parse_event) names an event class in FROM and its
 * instances' class in the ISA test, which may come anywhere in WHERE; so
 * the tokens after FROM are first scanned for the ISA test, and its class
 * resolves TargetInstance.Prop and PreviousInstance.Prop as they come.
 *
 * The SELECT list comes before the class it names properties of, so it is
 * first only checked for syntax and then lexed again once FROM has been
 * resolved.  The condition is built as a tree of at most 2 * WQL_MAX_TERMS
 * nodes in a fixed array (NOT is a flag on a node, not a node), then
 * compiled into the branch program and thrown away.  Recursion happens
 * only at '(' and is bounded by WQL_MAX_DEPTH; compiling recurses over a
 * tree of bounded size.
 */
#include "wql_internal.h"

#include "../common/strutil.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_NAME 255   /* rdms-class.md 6.4: longer names are "too wide" */

enum { N_LEAF, N_AND, N_OR };

typedef struct pnode {
	uint8_t kind;
	bool    neg;
	int16_t a, b;     /* children; for a leaf, a is the test index */
} pnode;

typedef struct parser {
	bool             event;      /* wql_parse_event */
	size_t           isa_col;    /* column of the first ISA test */
	wql_lexer        lex;
	wql_token        tok;        /* the current token */
	rdms_error      *err;
	wql_query       *q;
	wql_class_lookup lookup;
	size_t           depth;
	pnode            nodes[2 * WQL_MAX_TERMS];
	size_t           nnodes;
} parser;

/* The operand of a predicate as read: a property or a literal. */
typedef struct operand {
	wql_token tok;
	uint32_t  prop;      /* IDENT: index or WQL_SYS_CLASS */
	cim_type  type;      /* IDENT: the property's type */
	uint8_t   src;       /* IDENT: WQL_SRC_* it is read from */
	bool      object;    /* IDENT: TargetInstance itself, not a property of it */
	char     *str;       /* STRING: decoded copy (owned) */
} operand;

static const char *const op_text[] = { "=", "<>", "<", ">", "<=", ">=" };

/* System properties a query may name; only __CLASS can be tested. */
static const char *const system_props[] = {
	"__CLASS", "__PATH", "__RELPATH", "__NAMESPACE", "__SERVER", "__GENUS",
	"__SUPERCLASS", "__DYNASTY", "__DERIVATION", "__PROPERTY_COUNT",
};

/* The event classes FROM may name (wql.h). */
static const wql_event_class event_classes[] = {
	{ "__InstanceCreationEvent", WQL_EVENT_CREATION, false, false },
	{ "__InstanceModificationEvent", WQL_EVENT_MODIFICATION, false, true },
	{ "__InstanceDeletionEvent", WQL_EVENT_DELETION, false, false },
	{ "__InstanceOperationEvent",
	  WQL_EVENT_CREATION | WQL_EVENT_MODIFICATION | WQL_EVENT_DELETION, false, false },
	{ "CIM_InstCreation", WQL_EVENT_CREATION, true, false },
	{ "CIM_InstModification", WQL_EVENT_MODIFICATION, true, true },
	{ "CIM_InstDeletion", WQL_EVENT_DELETION, true, false },
	{ "CIM_InstIndication",
	  WQL_EVENT_CREATION | WQL_EVENT_MODIFICATION | WQL_EVENT_DELETION, true, false },
};
#define N_EVENT_CLASSES (sizeof event_classes / sizeof event_classes[0])

static const wql_event_class *event_class_find(const char *name)
{
	for (size_t i = 0; i < N_EVENT_CLASSES; i++)
		if (str_ieq(name, event_classes[i].name))
			return &event_classes[i];
	return NULL;
}

static uint32_t advance(parser *p)
{
	return wql_lex_next(&p->lex, &p->tok, p->err);
}

static uint32_t unexpected(parser *p, const char *expected)
{
	char what[48];

	wql_tok_describe(&p->tok, what, sizeof what);
	if (expected == NULL)
		return rdms_fail(p->err, WBEM_E_INVALID_QUERY, "unexpected %s at column %zu",
		                 what, p->tok.col);
	return rdms_fail(p->err, WBEM_E_INVALID_QUERY, "expected %s at column %zu, found %s",
	                 expected, p->tok.col, what);
}

static uint32_t expect(parser *p, wql_tok_kind kind, const char *expected)
{
	if (p->tok.kind != kind)
		return unexpected(p, expected);
	return advance(p);
}

/* Copies the identifier TOK into NAME[MAX_NAME + 1]. */
static uint32_t tok_name(parser *p, const wql_token *tok, uint32_t too_wide,
                         const char *what, char *name)
{
	if (tok->len > MAX_NAME)
		return rdms_fail(p->err, too_wide, "%s name at column %zu is longer than %d characters",
		                 what, tok->col, MAX_NAME);
	memcpy(name, tok->start, tok->len);
	name[tok->len] = '\0';
	return 0;
}

static bool is_system_prop(const char *name)
{
	for (size_t i = 0; i < sizeof system_props / sizeof system_props[0]; i++)
		if (str_ieq(name, system_props[i]))
			return true;
	return false;
}

/*
 * Resolves the property named by TOK.  *INDEX gets its index, or
 * WQL_SYS_CLASS for __CLASS; other system properties are accepted only
 * when ALLOW_SYSTEM (the SELECT list, where they change nothing) and give
 * *INDEX = SIZE_MAX.
 */
static uint32_t resolve_prop(parser *p, const wql_token *tok, bool allow_system,
                             size_t *index, cim_type *type)
{
	char name[MAX_NAME + 1];
	const cim_property *prop;
	uint32_t rc;

	if ((rc = tok_name(p, tok, WBEM_E_PROPERTY_NAME_TOO_WIDE, "property", name)) != 0)
		return rc;
	if (str_ieq(name, "__CLASS")) {
		*index = WQL_SYS_CLASS;
		*type = CIM_TYPE_STRING;
		return 0;
	}
	if (allow_system && is_system_prop(name)) {
		*index = SIZE_MAX;
		return 0;
	}
	prop = cim_class_property(p->q->cls, name, index);
	if (prop == NULL)
		return rdms_fail(p->err, WBEM_E_INVALID_QUERY,
		                 "unknown property '%s' at column %zu (class %s)",
		                 name, tok->col, p->q->cls->name);
	*type = prop->type;
	return 0;
}

/* ---- event queries: TargetInstance, PreviousInstance, __CLASS --------------- */

/* The instance object NAME stands for in the event query, or -1. */
static int object_src(const parser *p, const char *name)
{
	const wql_event_class *ev = p->q->from;

	if (str_ieq(name, "TargetInstance"))
		return WQL_SRC_TARGET;
	if (ev->dmtf && str_ieq(name, "SourceInstance"))
		return WQL_SRC_TARGET;
	if (ev->has_previous && str_ieq(name, "PreviousInstance"))
		return WQL_SRC_PREVIOUS;
	return -1;
}

static const char *target_name(const parser *p)
{
	return p->q->from->dmtf ? "SourceInstance" : "TargetInstance";
}

static uint32_t unknown_event_prop(parser *p, const char *name, size_t col)
{
	return rdms_fail(p->err, WBEM_E_INVALID_QUERY,
	                 "unknown property '%s' at column %zu (event class %s has %s%s and __CLASS;"
	                 " a session's property is %s.Property)", name, col, p->q->from->name,
	                 target_name(p), p->q->from->has_previous ? ", PreviousInstance" : "",
	                 target_name(p));
}

static uint32_t not_an_object(parser *p, const char *what, size_t col)
{
	return rdms_fail(p->err, WBEM_E_PROPERTY_NOT_AN_OBJECT,
	                 "'.' at column %zu follows %s, which is not an object", col, what);
}

/*
 * Reads an operand of an event query: __CLASS, an object (O->object), or
 * object.Prop, leaving the current token after it.  O->tok spans the
 * whole reference, so messages quote it as written.
 */
static uint32_t read_event_ref(parser *p, operand *o)
{
	char name[MAX_NAME + 1];
	size_t index;
	int src;
	uint32_t rc;

	if ((rc = tok_name(p, &p->tok, WBEM_E_PROPERTY_NAME_TOO_WIDE, "property", name)) != 0)
		return rc;
	if (str_ieq(name, "__CLASS")) {
		o->src = WQL_SRC_EVENT;
		o->prop = WQL_SYS_CLASS;
		o->type = CIM_TYPE_STRING;
		if ((rc = advance(p)) == 0 && p->tok.kind == WQL_T_DOT)
			return not_an_object(p, "__CLASS", p->tok.col);
		return rc;
	}
	if ((src = object_src(p, name)) < 0)
		return unknown_event_prop(p, name, p->tok.col);
	o->src = (uint8_t)src;
	if ((rc = advance(p)) != 0)
		return rc;
	if (p->tok.kind != WQL_T_DOT) {
		o->object = true;
		return 0;
	}
	if ((rc = advance(p)) != 0)
		return rc;
	if (p->tok.kind != WQL_T_IDENT)
		return unexpected(p, "a property name after '.'");
	if ((size_t)(p->tok.start + p->tok.len - o->tok.start) > MAX_NAME)
		return rdms_fail(p->err, WBEM_E_PROPERTY_NAME_TOO_WIDE,
		                 "property name at column %zu is longer than %d characters",
		                 o->tok.col, MAX_NAME);
	if ((rc = resolve_prop(p, &p->tok, false, &index, &o->type)) != 0)
		return rc;
	o->prop = (uint32_t)index;
	o->tok.len = (size_t)(p->tok.start + p->tok.len - o->tok.start);
	if ((rc = advance(p)) == 0 && p->tok.kind == WQL_T_DOT) {
		tok_name(p, &o->tok, 0, "", name);
		return not_an_object(p, name, p->tok.col);
	}
	return rc;
}

/*
 * The class of the first "TargetInstance ISA 'Class'" in the rest of the
 * query, scanned ahead (the properties before it need it); the lexer is
 * put back where it was.
 */
static uint32_t scan_isa_class(parser *p)
{
	char name[MAX_NAME + 1];
	wql_lexer saved = p->lex;
	wql_token tok, prev = { 0 }, prev2 = { 0 };
	const cim_class *cls = NULL;
	uint32_t rc = 0;

	name[0] = '\0';
	tok = p->tok;
	while (tok.kind != WQL_T_END) {
		if (tok.kind == WQL_T_STRING && prev.kind == WQL_T_ISA && prev2.kind == WQL_T_IDENT) {
			char obj[MAX_NAME + 1];

			if (tok_name(p, &prev2, 0, "", obj) == 0 && object_src(p, obj) == WQL_SRC_TARGET) {
				size_t n = strlen(p->lex.buf);

				if (n > MAX_NAME)
					return rdms_fail(p->err, WBEM_E_CLASS_NAME_TOO_WIDE,
					                 "class name at column %zu is longer than %d "
					                 "characters", tok.col, MAX_NAME);
				memcpy(name, p->lex.buf, n + 1);
				cls = p->lookup != NULL ? p->lookup(name) : NULL;
				if (cls == NULL)
					return rdms_fail(p->err, WBEM_E_INVALID_CLASS,
					                 "unknown class '%s' at column %zu", name, tok.col);
				break;
			}
		}
		prev2 = prev;
		prev = tok;
		if ((rc = wql_lex_next(&p->lex, &tok, p->err)) != 0)
			return rc;
	}
	p->lex = saved;
	if (cls == NULL)
		return rdms_fail(p->err, WBEM_E_UNPARSABLE_QUERY,
		                 "an event query needs \"WHERE %s ISA 'Class'\" (the class whose "
		                 "instances it watches, e.g. 'Win32_VirtualDesktopSession'); none "
		                 "from column %zu on", target_name(p), p->tok.col);
	p->q->cls = cls;
	return 0;
}

/* WITHIN seconds (a latency bound); the current token is WITHIN. */
static uint32_t parse_within(parser *p)
{
	size_t col = p->tok.col;
	double v;
	uint32_t rc;

	p->lex.allow_real = true;
	rc = advance(p);
	p->lex.allow_real = false;
	if (rc != 0)
		return rc;
	if (p->tok.kind == WQL_T_INTEGER)
		v = (double)p->tok.num;
	else if (p->tok.kind == WQL_T_REAL)
		v = p->tok.real;
	else
		return unexpected(p, "a number of seconds after WITHIN");
	if (!(v > 0) || v > 31536000)
		return rdms_fail(p->err, WBEM_E_INVALID_QUERY,
		                 "WITHIN %.*s at column %zu: the interval must be more than 0 and "
		                 "at most 31536000 seconds", (int)p->tok.len, p->tok.start, col);
	p->q->within_s = v;
	return advance(p);
}

/* What may follow WHERE in an event query: GROUP WITHIN is not served yet. */
static uint32_t check_group(parser *p)
{
	size_t col = p->tok.col;
	uint32_t rc;

	if (p->tok.kind == WQL_T_HAVING)
		return rdms_fail(p->err, WBEM_E_INVALID_QUERY,
		                 "HAVING at column %zu needs GROUP WITHIN before it", col);
	if (p->tok.kind != WQL_T_GROUP)
		return 0;
	if ((rc = advance(p)) != 0)
		return rc;
	if (p->tok.kind == WQL_T_WITHIN)
		return rdms_fail(p->err, WBEM_E_NOT_SUPPORTED,
		                 "GROUP WITHIN at column %zu is not supported: events are delivered "
		                 "one by one", col);
	if (p->tok.kind == WQL_T_BY)
		return rdms_fail(p->err, WBEM_E_MISSING_GROUP_WITHIN,
		                 "GROUP BY at column %zu needs GROUP WITHIN", col);
	return unexpected(p, "WITHIN after GROUP");
}

/* True when the ISA test on TargetInstance is joined by AND to the root. */
static bool isa_on_top(const parser *p, int idx)
{
	const pnode *n = &p->nodes[idx];
	const wql_test *t;

	if (n->neg)
		return false;
	if (n->kind == N_AND)
		return isa_on_top(p, n->a) || isa_on_top(p, n->b);
	if (n->kind != N_LEAF)
		return false;
	t = &p->q->tests[n->a];
	return t->kind == WQL_K_ISA && t->src == WQL_SRC_TARGET;
}

/* ---- SELECT list and FROM ------------------------------------------------ */

/* First pass: syntax only.  Leaves the current token on FROM. */
static uint32_t check_select_list(parser *p)
{
	uint32_t rc;

	if (p->tok.kind == WQL_T_STAR)
		return advance(p);
	for (;;) {
		if (p->tok.kind != WQL_T_IDENT)
			return unexpected(p, p->tok.kind == WQL_T_END || p->tok.kind == WQL_T_FROM ?
			                  "a property name or *" : "a property name");
		if ((rc = advance(p)) != 0)
			return rc;
		if (p->tok.kind != WQL_T_COMMA)
			return 0;
		if ((rc = advance(p)) != 0)
			return rc;
	}
}

/* The SELECT list of an event query: the event's own properties. */
static uint32_t resolve_event_select_list(parser *p)
{
	const wql_event_class *ev = p->q->from;
	char name[MAX_NAME + 1];
	uint32_t rc;

	while (p->tok.kind == WQL_T_IDENT) {
		int src;

		if ((rc = tok_name(p, &p->tok, WBEM_E_PROPERTY_NAME_TOO_WIDE, "property", name)) != 0)
			return rc;
		if ((src = object_src(p, name)) >= 0)
			p->q->event_selected |= src == WQL_SRC_TARGET ? WQL_SELECT_TARGET :
			                        WQL_SELECT_PREVIOUS;
		else if (str_ieq(name, ev->dmtf ? "IndicationTime" : "TIME_CREATED"))
			p->q->event_selected |= WQL_SELECT_TIME;
		else if (!is_system_prop(name))
			return unknown_event_prop(p, name, p->tok.col);
		if ((rc = advance(p)) != 0 || p->tok.kind != WQL_T_COMMA || (rc = advance(p)) != 0)
			return rc;
	}
	return 0;
}

/* Second pass, from lexer position POS, with the class known. */
static uint32_t resolve_select_list(parser *p, size_t pos)
{
	const cim_class *c = p->q->cls;
	uint32_t rc;

	p->lex.pos = pos;
	if ((rc = advance(p)) != 0)
		return rc;
	if (p->tok.kind == WQL_T_STAR) {
		p->q->select_all = true;
		p->q->event_selected = WQL_SELECT_TARGET | WQL_SELECT_PREVIOUS | WQL_SELECT_TIME;
		return 0;
	}
	if (p->event)
		return resolve_event_select_list(p);
	p->q->selected = calloc(c->nprops ? c->nprops : 1, sizeof *p->q->selected);
	if (p->q->selected == NULL)
		return rdms_fail(p->err, WBEM_E_OUT_OF_MEMORY, "out of memory");
	while (p->tok.kind == WQL_T_IDENT) {
		size_t index;
		cim_type type;

		if ((rc = resolve_prop(p, &p->tok, true, &index, &type)) != 0)
			return rc;
		if (index < c->nprops)
			p->q->selected[index] = true;
		/* Stops (rc 0) at the first token that is not a comma. */
		if ((rc = advance(p)) != 0 || p->tok.kind != WQL_T_COMMA ||
		    (rc = advance(p)) != 0)
			return rc;
	}
	return 0;
}

/* FROM of an event query: an event class, then WITHIN and the ISA class. */
static uint32_t parse_event_from(parser *p, const char *name)
{
	size_t col = p->tok.col;
	uint32_t rc;

	p->q->from = event_class_find(name);
	if (p->q->from == NULL) {
		if (p->lookup != NULL && p->lookup(name) != NULL)
			return rdms_fail(p->err, WBEM_E_NOT_EVENT_CLASS,
			                 "%s at column %zu is not an event class (to watch its "
			                 "instances: SELECT * FROM __InstanceOperationEvent WHERE "
			                 "TargetInstance ISA '%s')", name, col, name);
		if (strncmp(name, "__", 2) == 0 && strlen(name) > 5 &&
		    str_ieq(name + strlen(name) - 5, "Event"))
			return rdms_fail(p->err, WBEM_E_NOT_SUPPORTED,
			                 "event class %s at column %zu is not served: only instance "
			                 "creation, modification and deletion events are", name, col);
		return rdms_fail(p->err, WBEM_E_INVALID_CLASS,
		                 "unknown event class '%s' at column %zu", name, col);
	}
	p->q->event_kinds = p->q->from->kinds;
	if ((rc = advance(p)) != 0)
		return rc;
	if (p->tok.kind == WQL_T_WITHIN && (rc = parse_within(p)) != 0)
		return rc;
	return scan_isa_class(p);
}

static uint32_t parse_from(parser *p)
{
	char name[MAX_NAME + 1];
	size_t col;
	uint32_t rc;

	if ((rc = expect(p, WQL_T_FROM, "FROM")) != 0)
		return rc;
	if (p->tok.kind != WQL_T_IDENT)
		return unexpected(p, "a class name");
	if ((rc = tok_name(p, &p->tok, WBEM_E_CLASS_NAME_TOO_WIDE, "class", name)) != 0)
		return rc;
	if (p->event)
		return parse_event_from(p, name);
	col = p->tok.col;
	if (event_class_find(name) != NULL)
		return rdms_fail(p->err, WBEM_E_INVALID_QUERY,
		                 "%s at column %zu is an event class: subscribe with this query "
		                 "(WS-Eventing Subscribe, rdms watch) rather than run it", name, col);
	p->q->cls = p->lookup != NULL ? p->lookup(name) : NULL;
	if (p->q->cls == NULL)
		return rdms_fail(p->err, WBEM_E_INVALID_CLASS, "unknown class '%s' at column %zu",
		                 name, col);
	if ((rc = advance(p)) != 0)
		return rc;
	if (p->tok.kind == WQL_T_WITHIN)
		return rdms_fail(p->err, WBEM_E_INVALID_QUERY,
		                 "WITHIN at column %zu belongs to event queries", p->tok.col);
	return 0;
}

/* ---- predicates ------------------------------------------------------------ */

static bool is_literal(wql_tok_kind k)
{
	return k == WQL_T_STRING || k == WQL_T_INTEGER || k == WQL_T_TRUE ||
	       k == WQL_T_FALSE || k == WQL_T_NULL;
}

static bool is_cmp(wql_tok_kind k)
{
	return k >= WQL_T_EQ && k <= WQL_T_GE;
}

static wql_op tok_op(wql_tok_kind k)
{
	return (wql_op)(WQL_OP_EQ + (k - WQL_T_EQ));
}

/* The operator seen from the other side: 3 < x is x > 3. */
static wql_op flip_op(wql_op op)
{
	switch (op) {
	case WQL_OP_LT: return WQL_OP_GT;
	case WQL_OP_GT: return WQL_OP_LT;
	case WQL_OP_LE: return WQL_OP_GE;
	case WQL_OP_GE: return WQL_OP_LE;
	default:        return op;
	}
}

static const char *literal_kind(wql_tok_kind k)
{
	switch (k) {
	case WQL_T_STRING:  return "a string";
	case WQL_T_INTEGER: return "an integer";
	default:            return "a boolean";
	}
}

/* Reads the current token as an operand and moves past it. */
static uint32_t read_operand(parser *p, operand *o)
{
	size_t index;
	uint32_t rc;

	memset(o, 0, sizeof *o);
	o->tok = p->tok;
	if (p->tok.kind == WQL_T_IDENT && p->event)
		return read_event_ref(p, o);
	if (p->tok.kind == WQL_T_IDENT) {
		if ((rc = resolve_prop(p, &p->tok, false, &index, &o->type)) != 0)
			return rc;
		o->prop = (uint32_t)index;
	} else if (p->tok.kind == WQL_T_STRING) {
		if ((o->str = strdup(p->lex.buf)) == NULL)
			return rdms_fail(p->err, WBEM_E_OUT_OF_MEMORY, "out of memory");
	} else if (!is_literal(p->tok.kind)) {
		return unexpected(p, NULL);
	}
	if ((rc = advance(p)) != 0) {
		/* On failure the operand owns nothing, so callers can just return. */
		free(o->str);
		o->str = NULL;
	}
	return rc;
}

static void new_node(parser *p, uint8_t kind, int a, int b, int *out)
{
	/* Cannot overflow: leaves are capped at WQL_MAX_TERMS, inner nodes are fewer. */
	pnode *n = &p->nodes[p->nnodes];

	n->kind = kind;
	n->neg = false;
	n->a = (int16_t)a;
	n->b = (int16_t)b;
	*out = (int)p->nnodes++;
}

/* Takes a new test slot and a leaf node for it. */
static uint32_t new_leaf(parser *p, size_t col, wql_test **t, int *node)
{
	wql_query *q = p->q;

	if (q->ntests >= WQL_MAX_TERMS) {
		/* the code spelled out: callers use *T whenever this returns 0 */
		rdms_fail(p->err, WBEM_E_QUOTA_VIOLATION,
		          "more than %d terms in WHERE (at column %zu)", WQL_MAX_TERMS, col);
		return WBEM_E_QUOTA_VIOLATION;
	}
	*t = &q->tests[q->ntests];
	memset(*t, 0, sizeof **t);
	new_node(p, N_LEAF, (int)q->ntests, -1, node);
	q->ntests++;
	return 0;
}

static void note_prop(parser *p, uint32_t prop)
{
	if (prop != WQL_SYS_CLASS && prop + 1 > p->q->min_props)
		p->q->min_props = prop + 1;
}

static char *fold_dup(const char *s)
{
	size_t n = strlen(s);
	char *d = malloc(n + 1);

	if (d == NULL)
		return NULL;
	for (size_t i = 0; i <= n; i++)
		d[i] = (char)wql_fold((unsigned char)s[i]);
	return d;
}

/* Integer literal LIT for a uint32/sint32 property: range check and store. */
static uint32_t fill_integer(parser *p, const operand *prop, const operand *lit,
                             wql_test *t)
{
	int64_t v = lit->tok.num;
	char name[MAX_NAME + 1];

	if (lit->tok.kind == WQL_T_TRUE || lit->tok.kind == WQL_T_FALSE)
		v = lit->tok.kind == WQL_T_TRUE;
	if (prop->type == CIM_TYPE_UINT32 ? (v < 0 || v > UINT32_MAX) :
	    (v < INT32_MIN || v > INT32_MAX)) {
		tok_name(p, &prop->tok, 0, "", name);
		return rdms_fail(p->err, WBEM_E_INVALID_QUERY,
		                 "integer %lld at column %zu is out of range for %s property %s",
		                 (long long)v, lit->tok.col, cim_type_name(prop->type), name);
	}
	if (prop->type == CIM_TYPE_UINT32) {
		t->kind = WQL_K_U32;
		t->lit.u32 = (uint32_t)v;
	} else {
		t->kind = WQL_K_S32;
		t->lit.s32 = (int32_t)v;
	}
	return 0;
}

static uint32_t type_mismatch(parser *p, const operand *prop, const operand *lit)
{
	char name[MAX_NAME + 1];

	tok_name(p, &prop->tok, 0, "", name);
	return rdms_fail(p->err, WBEM_E_INVALID_QUERY,
	                 "type mismatch: %s property %s compared with %s at column %zu",
	                 prop->prop == WQL_SYS_CLASS ? "string" : cim_type_name(prop->type),
	                 name, literal_kind(lit->tok.kind), lit->tok.col);
}

/*
 * A quoted number for an integer property ("SessionId = '3'", as PowerShell
 * -Filter users often write it): WMI converts the text to the property's
 * type, so we do too; text that is not a whole decimal number stays a
 * type mismatch.
 */
static uint32_t fill_quoted_integer(parser *p, const operand *prop, const operand *lit,
                                    wql_test *t)
{
	operand num = *lit;
	const char *s = lit->str;
	char *end;
	long long v;

	if (s == NULL || !(isdigit((unsigned char)s[0]) ||
	                   ((s[0] == '-' || s[0] == '+') && isdigit((unsigned char)s[1]))))
		return type_mismatch(p, prop, lit);
	errno = 0;
	v = strtoll(s, &end, 10);
	if (*end != '\0' || errno == ERANGE)
		return type_mismatch(p, prop, lit);
	num.tok.kind = WQL_T_INTEGER;
	num.tok.num = v;
	return fill_integer(p, prop, &num, t);
}

/* Fills test T for PROP OP LIT (LIT not NULL), converting LIT to PROP's type. */
static uint32_t fill_compare(parser *p, const operand *prop, wql_op op, size_t op_col,
                             const operand *lit, wql_test *t)
{
	bool is_bool_lit = lit->tok.kind == WQL_T_TRUE || lit->tok.kind == WQL_T_FALSE;
	char name[MAX_NAME + 1];

	t->op = (uint8_t)op;
	switch (prop->type) {
	case CIM_TYPE_STRING:
	case CIM_TYPE_DATETIME:
		if (lit->tok.kind != WQL_T_STRING)
			return type_mismatch(p, prop, lit);
		t->kind = op == WQL_OP_EQ ? WQL_K_STR_EQ : WQL_K_STR_CMP;
		if ((t->lit.str = fold_dup(lit->str)) == NULL)
			return rdms_fail(p->err, WBEM_E_OUT_OF_MEMORY, "out of memory");
		return 0;
	case CIM_TYPE_UINT32:
	case CIM_TYPE_SINT32:
		if (lit->tok.kind == WQL_T_STRING)
			return fill_quoted_integer(p, prop, lit, t);
		if (is_bool_lit && op != WQL_OP_EQ && op != WQL_OP_NE)
			break;
		return fill_integer(p, prop, lit, t);
	case CIM_TYPE_BOOLEAN:
		if (lit->tok.kind == WQL_T_STRING)
			return type_mismatch(p, prop, lit);
		if (op != WQL_OP_EQ && op != WQL_OP_NE)
			break;
		t->kind = WQL_K_BOOL_EQ;
		t->lit.b = is_bool_lit ? lit->tok.kind == WQL_T_TRUE : lit->tok.num != 0;
		return 0;
	default:
		tok_name(p, &prop->tok, 0, "", name);
		return rdms_fail(p->err, WBEM_E_INVALID_QUERY,
		                 "property %s at column %zu cannot be queried", name, prop->tok.col);
	}
	tok_name(p, &prop->tok, 0, "", name);
	if (is_bool_lit)
		return rdms_fail(p->err, WBEM_E_INVALID_OPERATOR,
		                 "operator '%s' at column %zu is not allowed with %s "
		                 "(booleans allow only =, <> and !=)", op_text[op], op_col,
		                 lit->tok.kind == WQL_T_TRUE ? "TRUE" : "FALSE");
	return rdms_fail(p->err, WBEM_E_INVALID_OPERATOR,
	                 "operator '%s' at column %zu is not allowed on boolean property %s "
	                 "(only =, <> and !=)", op_text[op], op_col, name);
}

/* PROP LIKE 'pattern'; the current token follows LIKE. */
static uint32_t parse_like(parser *p, const operand *prop, size_t like_col, int *node)
{
	char name[MAX_NAME + 1];
	operand lit;
	wql_test *t = NULL;
	uint32_t rc;

	if (prop->type != CIM_TYPE_STRING && prop->type != CIM_TYPE_DATETIME) {
		tok_name(p, &prop->tok, 0, "", name);
		return rdms_fail(p->err, WBEM_E_INVALID_OPERATOR,
		                 "LIKE at column %zu needs a string property; %s is %s",
		                 like_col, name, cim_type_name(prop->type));
	}
	if (p->tok.kind == WQL_T_NULL)
		return rdms_fail(p->err, WBEM_E_INVALID_OPERATOR,
		                 "LIKE NULL at column %zu is not allowed (use IS NULL)", p->tok.col);
	if (p->tok.kind != WQL_T_STRING)
		return unexpected(p, "a string pattern after LIKE");
	if ((rc = read_operand(p, &lit)) != 0)
		return rc;
	if ((rc = new_leaf(p, prop->tok.col, &t, node)) == 0) {
		t->kind = WQL_K_LIKE;
		t->src = prop->src;
		t->prop = prop->prop;
		t->type = (uint8_t)prop->type;
		if ((t->lit.like = calloc(1, sizeof *t->lit.like)) == NULL)
			rc = rdms_fail(p->err, WBEM_E_OUT_OF_MEMORY, "out of memory");
		else
			rc = wql_like_compile(lit.str, lit.tok.col, t->lit.like, p->err);
	}
	free(lit.str);
	return rc;
}

/* PROP IS [NOT] NULL; the current token follows IS. */
static uint32_t parse_is(parser *p, const operand *prop, int *node)
{
	bool neg = false;
	wql_test *t = NULL;
	uint32_t rc;

	if (p->tok.kind == WQL_T_NOT) {
		neg = true;
		if ((rc = advance(p)) != 0)
			return rc;
	}
	if (p->tok.kind != WQL_T_NULL)
		return unexpected(p, neg ? "NULL after IS NOT" : "NULL after IS");
	if ((rc = advance(p)) != 0 || (rc = new_leaf(p, prop->tok.col, &t, node)) != 0)
		return rc;
	t->kind = WQL_K_ISNULL;
	t->src = prop->src;
	t->prop = prop->prop;
	t->type = (uint8_t)prop->type;
	p->nodes[*node].neg = neg;
	return 0;
}

/* The predicate after a comparison operator, in property-op-literal form. */
static uint32_t build_compare(parser *p, const operand *prop, wql_op op, size_t op_col,
                              const operand *lit, int *node)
{
	wql_test *t = NULL;
	uint32_t rc;

	if (lit->tok.kind == WQL_T_NULL && op != WQL_OP_EQ && op != WQL_OP_NE)
		return rdms_fail(p->err, WBEM_E_INVALID_OPERATOR,
		                 "operator '%s' at column %zu cannot compare with NULL (use IS NULL)",
		                 op_text[op], op_col);
	if ((rc = new_leaf(p, prop->tok.col, &t, node)) != 0)
		return rc;
	t->src = prop->src;
	t->prop = prop->prop;
	t->type = (uint8_t)prop->type;
	if (lit->tok.kind == WQL_T_NULL) {
		/* WMI reads "= NULL" as IS NULL and "<> NULL" as IS NOT NULL. */
		t->kind = WQL_K_ISNULL;
		p->nodes[*node].neg = op == WQL_OP_NE;
		return 0;
	}
	return fill_compare(p, prop, op, op_col, lit, t);
}

/* OBJ ISA 'Class'; the current token is ISA.  (scan_isa_class found the class.) */
static uint32_t parse_isa(parser *p, const operand *obj, int *node)
{
	char name[MAX_NAME + 1];
	wql_test *t = NULL;
	size_t col;
	uint32_t rc;

	if ((rc = advance(p)) != 0)
		return rc;
	if (p->tok.kind != WQL_T_STRING)
		return unexpected(p, "a class name in quotes after ISA");
	col = p->tok.col;
	if (strlen(p->lex.buf) > MAX_NAME)
		return rdms_fail(p->err, WBEM_E_CLASS_NAME_TOO_WIDE,
		                 "class name at column %zu is longer than %d characters", col, MAX_NAME);
	strcpy(name, p->lex.buf);
	if (p->lookup == NULL || p->lookup(name) == NULL)
		return rdms_fail(p->err, WBEM_E_INVALID_CLASS, "unknown class '%s' at column %zu",
		                 name, col);
	if (!str_ieq(name, p->q->cls->name))
		return rdms_fail(p->err, WBEM_E_NOT_SUPPORTED,
		                 "ISA '%s' at column %zu: an event query watches one class, and this "
		                 "one watches %s", name, col, p->q->cls->name);
	if ((rc = advance(p)) != 0 || (rc = new_leaf(p, obj->tok.col, &t, node)) != 0)
		return rc;
	if (p->isa_col == 0)
		p->isa_col = obj->tok.col;
	t->kind = WQL_K_ISA;
	t->src = obj->src;
	t->type = CIM_TYPE_STRING;
	if ((t->lit.str = fold_dup(name)) == NULL)
		return rdms_fail(p->err, WBEM_E_OUT_OF_MEMORY, "out of memory");
	return 0;
}

/* LEFT OP RIGHT between two properties of an event's instances. */
static uint32_t build_prop_compare(parser *p, const operand *left, wql_op op, size_t op_col,
                                   const operand *right, int *node)
{
	char a[MAX_NAME + 1], b[MAX_NAME + 1];
	bool str_l = left->type == CIM_TYPE_STRING || left->type == CIM_TYPE_DATETIME;
	bool str_r = right->type == CIM_TYPE_STRING || right->type == CIM_TYPE_DATETIME;
	wql_test *t = NULL;
	uint32_t rc;

	tok_name(p, &left->tok, 0, "", a);
	tok_name(p, &right->tok, 0, "", b);
	if (left->type != right->type && !(str_l && str_r))
		return rdms_fail(p->err, WBEM_E_INVALID_QUERY,
		                 "type mismatch at column %zu: %s is %s, %s is %s", op_col, a,
		                 cim_type_name(left->type), b, cim_type_name(right->type));
	if (left->type == CIM_TYPE_BOOLEAN && op != WQL_OP_EQ && op != WQL_OP_NE)
		return rdms_fail(p->err, WBEM_E_INVALID_OPERATOR,
		                 "operator '%s' at column %zu is not allowed between booleans "
		                 "(only =, <> and !=)", op_text[op], op_col);
	if (!str_l && left->type != CIM_TYPE_UINT32 && left->type != CIM_TYPE_SINT32 &&
	    left->type != CIM_TYPE_BOOLEAN)
		return rdms_fail(p->err, WBEM_E_INVALID_QUERY,
		                 "property %s at column %zu cannot be queried", a, left->tok.col);
	if ((rc = new_leaf(p, left->tok.col, &t, node)) != 0)
		return rc;
	t->kind = WQL_K_PROP_CMP;
	t->op = (uint8_t)op;
	t->type = (uint8_t)(str_l ? CIM_TYPE_STRING : left->type);
	t->src = left->src;
	t->prop = left->prop;
	t->lit.other.src = right->src;
	t->lit.other.prop = right->prop;
	return 0;
}

static uint32_t object_misused(parser *p, const operand *o)
{
	char name[MAX_NAME + 1];

	tok_name(p, &o->tok, 0, "", name);
	return rdms_fail(p->err, WBEM_E_INVALID_QUERY,
	                 "%s at column %zu is an object: test it with ISA or compare one of its "
	                 "properties (%s.Property)", name, o->tok.col, name);
}

static uint32_t parse_predicate(parser *p, int *node)
{
	operand left, right;
	wql_token op_tok;
	uint32_t rc;

	memset(&right, 0, sizeof right);
	if ((rc = read_operand(p, &left)) != 0)
		return rc;
	op_tok = p->tok;
	if (left.object && op_tok.kind == WQL_T_ISA) {
		rc = parse_isa(p, &left, node);
	} else if (left.object) {
		rc = object_misused(p, &left);
	} else if (op_tok.kind == WQL_T_ISA) {
		rc = rdms_fail(p->err, WBEM_E_INVALID_QUERY,
		               "ISA at column %zu needs %s on its left, in an event query",
		               op_tok.col, p->event ? target_name(p) : "TargetInstance");
	} else if (left.tok.kind == WQL_T_IDENT && op_tok.kind == WQL_T_IS) {
		rc = advance(p);
		rc = rc ? rc : parse_is(p, &left, node);
	} else if (left.tok.kind == WQL_T_IDENT && op_tok.kind == WQL_T_LIKE) {
		rc = advance(p);
		rc = rc ? rc : parse_like(p, &left, op_tok.col, node);
	} else if (!is_cmp(op_tok.kind)) {
		rc = op_tok.kind == WQL_T_LIKE || op_tok.kind == WQL_T_IS ?
		     rdms_fail(p->err, WBEM_E_INVALID_QUERY,
		               "%.*s at column %zu needs a property on its left",
		               (int)op_tok.len, op_tok.start, op_tok.col) :
		     unexpected(p, "a comparison operator");
	} else if ((rc = advance(p)) != 0) {
		/* lexer error already set */
	} else if (left.tok.kind == WQL_T_IDENT) {
		if (p->tok.kind == WQL_T_IDENT && !p->event)
			rc = rdms_fail(p->err, WBEM_E_INVALID_QUERY,
			               "property-to-property comparison at column %zu is not allowed",
			               p->tok.col);
		else if (p->tok.kind != WQL_T_IDENT && !is_literal(p->tok.kind))
			rc = unexpected(p, "a literal");
		else if ((rc = read_operand(p, &right)) != 0)
			;
		else if (right.object)
			rc = object_misused(p, &right);
		else if (right.tok.kind == WQL_T_IDENT)
			rc = build_prop_compare(p, &left, tok_op(op_tok.kind), op_tok.col, &right,
			                        node);
		else
			rc = build_compare(p, &left, tok_op(op_tok.kind), op_tok.col, &right, node);
	} else {
		if (p->tok.kind != WQL_T_IDENT)
			rc = is_literal(p->tok.kind) ?
			     rdms_fail(p->err, WBEM_E_INVALID_QUERY,
			               "comparison at column %zu needs a property on one side",
			               op_tok.col) :
			     unexpected(p, "a property name");
		else if ((rc = read_operand(p, &right)) == 0)
			rc = right.object ? object_misused(p, &right) :
			     build_compare(p, &right, flip_op(tok_op(op_tok.kind)), op_tok.col,
			                   &left, node);
	}
	if (rc == 0) {
		note_prop(p, left.tok.kind == WQL_T_IDENT ? left.prop : right.prop);
		if (left.tok.kind == WQL_T_IDENT && right.tok.kind == WQL_T_IDENT)
			note_prop(p, right.prop);
	}
	free(left.str);
	free(right.str);
	return rc;
}

/* ---- boolean structure ----------------------------------------------------- */

static uint32_t parse_or(parser *p, int *node);

static uint32_t parse_primary(parser *p, int *node)
{
	uint32_t rc;

	if (p->tok.kind != WQL_T_LPAREN)
		return parse_predicate(p, node);
	if (++p->depth > WQL_MAX_DEPTH)
		return rdms_fail(p->err, WBEM_E_QUOTA_VIOLATION,
		                 "parentheses nested deeper than %d at column %zu",
		                 WQL_MAX_DEPTH, p->tok.col);
	if ((rc = advance(p)) != 0 || (rc = parse_or(p, node)) != 0 ||
	    (rc = expect(p, WQL_T_RPAREN, "')'")) != 0)
		return rc;
	p->depth--;
	return 0;
}

static uint32_t parse_unary(parser *p, int *node)
{
	bool neg = false;
	uint32_t rc;

	/* A loop, not recursion: NOT NOT NOT x costs no stack. */
	while (p->tok.kind == WQL_T_NOT) {
		neg = !neg;
		if ((rc = advance(p)) != 0)
			return rc;
	}
	if ((rc = parse_primary(p, node)) != 0)
		return rc;
	p->nodes[*node].neg ^= neg;
	return 0;
}

static uint32_t parse_and(parser *p, int *node)
{
	int right;
	uint32_t rc;

	if ((rc = parse_unary(p, node)) != 0)
		return rc;
	while (p->tok.kind == WQL_T_AND) {
		if ((rc = advance(p)) != 0 || (rc = parse_unary(p, &right)) != 0)
			return rc;
		new_node(p, N_AND, *node, right, node);
	}
	return 0;
}

static uint32_t parse_or(parser *p, int *node)
{
	int right;
	uint32_t rc;

	if ((rc = parse_and(p, node)) != 0)
		return rc;
	while (p->tok.kind == WQL_T_OR) {
		if ((rc = advance(p)) != 0 || (rc = parse_and(p, &right)) != 0)
			return rc;
		new_node(p, N_OR, *node, right, node);
	}
	return 0;
}

/*
 * Turns the tree under IDX into jump targets: the subtree is entered at
 * the returned test and leaves to T when it holds, to F when not.  The
 * right operand is compiled first so the left one knows where to go.
 * Depth is bounded by the tree size (at most 2 * WQL_MAX_TERMS nodes).
 */
static int32_t compile(parser *p, int idx, int32_t t, int32_t f)
{
	const pnode *n = &p->nodes[idx];
	int32_t swap, right;

	if (n->neg) {
		swap = t;
		t = f;
		f = swap;
	}
	switch (n->kind) {
	case N_AND:
		right = compile(p, n->b, t, f);
		return compile(p, n->a, right, f);
	case N_OR:
		right = compile(p, n->b, t, f);
		return compile(p, n->a, t, right);
	default:
		p->q->tests[n->a].on_true = t;
		p->q->tests[n->a].on_false = f;
		return n->a;
	}
}

static uint32_t parse_where(parser *p)
{
	wql_test *shrunk;
	int root;
	uint32_t rc;

	if (p->tok.kind != WQL_T_WHERE)
		return 0;
	if ((rc = advance(p)) != 0)
		return rc;
	if (p->tok.kind == WQL_T_END)
		return unexpected(p, "a condition after WHERE");
	p->q->tests = calloc(WQL_MAX_TERMS, sizeof *p->q->tests);
	if (p->q->tests == NULL)
		return rdms_fail(p->err, WBEM_E_OUT_OF_MEMORY, "out of memory");
	if ((rc = parse_or(p, &root)) != 0)
		return rc;
	if (p->event && !isa_on_top(p, root))
		return rdms_fail(p->err, WBEM_E_UNPARSABLE_QUERY,
		                 "%s ISA '%s' at column %zu must be joined to the rest of WHERE by "
		                 "AND (not under OR or NOT): it names the class the subscription "
		                 "watches", target_name(p), p->q->cls->name, p->isa_col);
	p->q->entry = compile(p, root, WQL_ACCEPT, WQL_REJECT);
	/* Give back the unused slots; keeping the larger block is harmless. */
	shrunk = realloc(p->q->tests, p->q->ntests * sizeof *p->q->tests);
	if (shrunk != NULL)
		p->q->tests = shrunk;
	return 0;
}

/* ---- entry point ------------------------------------------------------------- */

static uint32_t parse_query(parser *p)
{
	size_t list_pos;
	uint32_t rc;

	if ((rc = advance(p)) != 0)
		return rc;
	if (p->tok.kind == WQL_T_END)
		return rdms_fail(p->err, WBEM_E_INVALID_QUERY, "empty query at column %zu", p->tok.col);
	if ((rc = expect(p, WQL_T_SELECT, "SELECT")) != 0)
		return rc;
	list_pos = (size_t)(p->tok.start - p->lex.text);
	if ((rc = check_select_list(p)) != 0 || (rc = parse_from(p)) != 0 ||
	    (rc = parse_where(p)) != 0 || (p->event && (rc = check_group(p)) != 0))
		return rc;
	if (p->tok.kind == WQL_T_RPAREN)
		return rdms_fail(p->err, WBEM_E_INVALID_QUERY,
		                 "unexpected ')' at column %zu (no matching '(')", p->tok.col);
	if (p->tok.kind != WQL_T_END) {
		char what[48];

		return rdms_fail(p->err, WBEM_E_INVALID_QUERY, "trailing input at column %zu: %s",
		                 p->tok.col, wql_tok_describe(&p->tok, what, sizeof what));
	}
	return resolve_select_list(p, list_pos);
}

static uint32_t parse(const char *text, bool event, wql_class_lookup lookup,
                      wql_query **out, rdms_error *err)
{
	parser *p;
	size_t len;
	uint32_t rc;

	rdms_error_clear(err);
	if (out == NULL)
		return rdms_fail(err, WBEM_E_INVALID_PARAMETER, "no place for the query");
	*out = NULL;
	if (text == NULL)
		return rdms_fail(err, WBEM_E_INVALID_QUERY, "empty query at column 1");
	len = strnlen(text, WQL_MAX_QUERY + 1);
	if (len > WQL_MAX_QUERY)
		return rdms_fail(err, WBEM_E_QUOTA_VIOLATION,
		                 "query longer than %d bytes (cut at column %d)",
		                 WQL_MAX_QUERY, WQL_MAX_QUERY + 1);
	p = calloc(1, sizeof *p);
	if (p == NULL)
		return rdms_fail(err, WBEM_E_OUT_OF_MEMORY, "out of memory");
	p->event = event;
	p->lex.text = text;
	p->lex.buf = malloc(len + 1);
	p->q = calloc(1, sizeof *p->q);
	p->err = err;
	p->lookup = lookup;
	if (p->lex.buf == NULL || p->q == NULL)
		rc = rdms_fail(err, WBEM_E_OUT_OF_MEMORY, "out of memory");
	else
		rc = parse_query(p);
	if (rc == 0)
		*out = p->q;
	else
		wql_free(p->q);
	free(p->lex.buf);
	free(p);
	return rc;
}

uint32_t wql_parse(const char *text, wql_class_lookup lookup, wql_query **out,
                   rdms_error *err)
{
	return parse(text, false, lookup, out, err);
}

uint32_t wql_parse_event(const char *text, wql_class_lookup lookup, wql_query **out,
                         rdms_error *err)
{
	return parse(text, true, lookup, out, err);
}

bool wql_is_event_class(const char *name)
{
	return event_class_find(name) != NULL;
}

const char *wql_event_from(const wql_query *q)
{
	return q != NULL && q->from != NULL ? q->from->name : "";
}

bool wql_event_from_is_a(const wql_query *q, const char *name)
{
	const wql_event_class *c = event_class_find(name);

	return c != NULL && q != NULL && q->from != NULL && q->from->dmtf == c->dmtf &&
	       (q->from->kinds & ~c->kinds) == 0;
}

const char *wql_event_class_name(const wql_query *q, unsigned kind)
{
	static const char *const wmi[] = { "__InstanceCreationEvent",
		"__InstanceModificationEvent", "__InstanceDeletionEvent" };
	static const char *const dmtf[] = { "CIM_InstCreation", "CIM_InstModification",
		"CIM_InstDeletion" };
	size_t i = kind == WQL_EVENT_CREATION ? 0 : kind == WQL_EVENT_MODIFICATION ? 1 : 2;

	return q != NULL && q->from != NULL && q->from->dmtf ? dmtf[i] : wmi[i];
}
