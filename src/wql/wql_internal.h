/*
 * wql_internal.h -- what the WQL lexer, parser and evaluator share.
 *
 * The pipeline is  text --lexer--> tokens --parser--> tree --compile-->
 * a branch program.  A branch program is an array of leaf tests; each test
 * names where to go when it holds (on_true) and when it does not
 * (on_false): another test, or WQL_ACCEPT / WQL_REJECT.  AND, OR and NOT
 * disappear into those jump targets, so wql_match() is a flat loop with
 * no recursion, no allocation and at most one visit per test.
 *
 * Everything that can be decided before seeing an instance is decided at
 * parse time: the property index, the value type expected in the instance,
 * the literal converted to that type (strings ASCII-lowercased), and LIKE
 * patterns compiled into small element arrays with 256-bit character sets.
 */
#ifndef RDMS_WQL_INTERNAL_H
#define RDMS_WQL_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wql.h"

/* Limits (rdms-class.md 6.4: WBEM_MAX_QUERY, WBEM_MAX_OBJECT_NESTING). */
#define WQL_MAX_QUERY  16384   /* bytes of query text */
#define WQL_MAX_TERMS  256     /* predicates in one WHERE clause */
#define WQL_MAX_DEPTH  64      /* parenthesis nesting */

/* ---- lexer --------------------------------------------------------------- */

typedef enum wql_tok_kind {
	WQL_T_END = 0,
	WQL_T_IDENT,      /* property, class or system-property name */
	WQL_T_STRING,     /* decoded text in lex->buf */
	WQL_T_INTEGER,    /* value in tok.num */
	WQL_T_REAL,       /* value in tok.real; only where the parser allows it (WITHIN) */
	WQL_T_STAR, WQL_T_COMMA, WQL_T_LPAREN, WQL_T_RPAREN, WQL_T_DOT,
	WQL_T_EQ, WQL_T_NE, WQL_T_LT, WQL_T_GT, WQL_T_LE, WQL_T_GE,
	/* keywords */
	WQL_T_SELECT, WQL_T_FROM, WQL_T_WHERE, WQL_T_AND, WQL_T_OR, WQL_T_NOT,
	WQL_T_IS, WQL_T_NULL, WQL_T_LIKE, WQL_T_TRUE, WQL_T_FALSE,
	/* event queries only (rdms-class.md 6.1: reserved in every query) */
	WQL_T_ISA, WQL_T_WITHIN, WQL_T_GROUP, WQL_T_BY, WQL_T_HAVING,
} wql_tok_kind;

typedef struct wql_token {
	wql_tok_kind kind;
	size_t       col;     /* 1-based column of the first byte */
	const char  *start;   /* the token as written in the query */
	size_t       len;
	int64_t      num;     /* WQL_T_INTEGER */
	double       real;    /* WQL_T_REAL */
} wql_token;

typedef struct wql_lexer {
	const char *text;
	size_t      pos;
	char       *buf;      /* decoded string literal; as large as the query */
	bool        allow_real; /* the next number may have a fraction (WITHIN 0.5) */
} wql_lexer;

/*
 * Reads the next token into *TOK.  A string literal's decoded text is left
 * in lex->buf (valid until the next call).  Returns 0 or an error code
 * (WBEM_E_INVALID_QUERY) with ERR set.
 */
uint32_t wql_lex_next(wql_lexer *lex, wql_token *tok, rdms_error *err);
/* A short printable description of TOK for messages: "')'", "end of query". */
const char *wql_tok_describe(const wql_token *tok, char *buf, size_t size);

/* ASCII lower case: the one folding every WQL string comparison uses. */
static inline unsigned char wql_fold(unsigned char c)
{
	return (unsigned char)(c + ((unsigned)(c - 'A') < 26u ? 32u : 0u));
}

/* ---- LIKE patterns ------------------------------------------------------- */

enum { WQL_LIKE_CHAR, WQL_LIKE_ONE, WQL_LIKE_ANY, WQL_LIKE_SET };

typedef struct wql_like_elem {
	uint8_t  kind;    /* WQL_LIKE_* */
	uint8_t  ch;      /* CHAR: the folded character */
	uint32_t set;     /* SET: index into sets */
} wql_like_elem;

typedef struct wql_like_pat {
	wql_like_elem *elems;
	size_t         nelems;
	uint8_t      (*sets)[32];   /* bitmaps over folded bytes */
	size_t         nsets;
} wql_like_pat;

/*
 * Compiles PATTERN.  On a malformed pattern returns WBEM_E_INVALID_QUERY
 * with ERR naming the problem and COL (the column of the literal); on
 * allocation failure WBEM_E_OUT_OF_MEMORY.
 */
uint32_t wql_like_compile(const char *pattern, size_t col, wql_like_pat *out,
                          rdms_error *err);
void wql_like_free(wql_like_pat *p);
bool wql_like_match(const wql_like_pat *p, const char *text);

/* ---- compiled query ------------------------------------------------------ */

#define WQL_ACCEPT (-1)
#define WQL_REJECT (-2)

/* Where a test takes its value from when it is not a property. */
#define WQL_SYS_CLASS ((uint32_t)-1)

/*
 * Which instance a test reads.  A data query has only the instance itself
 * (TARGET); an event query has TargetInstance (SourceInstance in the DMTF
 * form), PreviousInstance, and the event itself, whose only testable
 * property is __CLASS.
 */
enum { WQL_SRC_TARGET, WQL_SRC_PREVIOUS, WQL_SRC_EVENT, WQL_SRCS };

typedef enum wql_test_kind {
	WQL_K_ISNULL,      /* property is NULL */
	WQL_K_STR_EQ,      /* folded string equal to lit.str */
	WQL_K_STR_CMP,     /* folded string compared by op */
	WQL_K_LIKE,
	WQL_K_U32, WQL_K_S32,
	WQL_K_BOOL_EQ,     /* boolean equal to lit.b (NE is a separate op) */
	WQL_K_ISA,         /* the instance exists and is of class lit.str (folded) */
	WQL_K_PROP_CMP,    /* property compared by op with property lit.other */
} wql_test_kind;

typedef enum wql_op {
	WQL_OP_EQ, WQL_OP_NE, WQL_OP_LT, WQL_OP_GT, WQL_OP_LE, WQL_OP_GE,
} wql_op;

typedef struct wql_test {
	uint8_t  kind;       /* wql_test_kind */
	uint8_t  op;         /* wql_op */
	uint8_t  type;       /* cim_type the instance value must have */
	uint8_t  src;        /* WQL_SRC_*: which instance PROP is read from */
	uint32_t prop;       /* property index, or WQL_SYS_CLASS */
	int32_t  on_true;    /* next test, WQL_ACCEPT or WQL_REJECT */
	int32_t  on_false;
	union {
		char         *str;   /* folded literal (owned) */
		wql_like_pat *like;  /* owned */
		uint32_t      u32;
		int32_t       s32;
		bool          b;
		struct { uint8_t src; uint32_t prop; } other;   /* PROP_CMP */
	} lit;
} wql_test;

struct wql_query {
	const cim_class *cls;
	bool             select_all;
	bool            *selected;   /* cls->nprops flags; NULL for SELECT * */
	wql_test        *tests;      /* NULL when there is no WHERE */
	size_t           ntests;
	int32_t          entry;      /* first test to run */
	size_t           min_props;  /* highest property index used + 1 */

	/* event queries (wql_parse_event); event_kinds is 0 for a data query */
	unsigned         event_kinds;     /* WQL_EVENT_* the FROM class covers */
	const struct wql_event_class *from;  /* the FROM class */
	double           within_s;        /* WITHIN's interval; 0: none */
	unsigned         event_selected;  /* WQL_SELECT_*: what SELECT names */
};

/* The event classes a query may name in FROM (wql_parse.c). */
typedef struct wql_event_class {
	const char *name;
	unsigned    kinds;        /* the WQL_EVENT_* it delivers */
	bool        dmtf;         /* CIM_Inst*: SourceInstance, IndicationTime */
	bool        has_previous; /* has PreviousInstance */
} wql_event_class;

/* The event properties a SELECT list may name. */
enum { WQL_SELECT_TARGET = 1, WQL_SELECT_PREVIOUS = 2, WQL_SELECT_TIME = 4 };

/* Frees what TEST owns (literal string or pattern). */
void wql_test_clear(wql_test *t);

#endif
