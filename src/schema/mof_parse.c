/*
 * mof_parse.c -- the MOF subset reader behind mofc and `rdms class --mof`.
 *
 * A hand-written lexer feeds a recursive-descent parser with one token of
 * lookahead.  The grammar we accept is flat (pragmas, classes, features,
 * parameters, qualifier lists; no nested values), so the call depth is fixed
 * at four levels whatever the input: a file of a million '[' fails at the
 * second one instead of recursing.  Everything MOF allows that the class
 * model in class.h cannot hold (arrays, references, default values, the
 * integer types cim_type lacks, instances) is rejected with the WBEMMOF_E_*
 * code mofcomp would use, never silently dropped, so that the C table and
 * the source can never disagree.
 *
 * The result is built directly in the mof_schema: a class is appended as
 * soon as its name is read, so on any error one mof_schema_free() releases
 * everything.  Errors read "line L, column C: what was expected, found what"
 * and keep the first failure only.
 */
#include "mof.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../common/strutil.h"
#include "../common/utf8.h"

#define MOF_MAX_NAME   255    /* WBEM_E_*_NAME_TOO_WIDE beyond this */
#define MOF_MAX_ITEMS  1024   /* WBEM_MAX_USER_PROPERTIES; also caps classes, qualifiers */
#define MOF_DEFAULT_NS "root/cimv2"

enum tok_kind { T_EOF, T_IDENT, T_STRING, T_INT, T_PUNCT };

struct token {
	enum tok_kind kind;
	int           line, col;
	const char   *text;    /* IDENT: the name as written (not terminated) */
	size_t        len;
	char          punct;   /* PUNCT */
	char         *str;     /* STRING: decoded, adjacent literals joined */
	long long     num;     /* INT */
};

struct parser {
	const char  *p, *end;
	int          line, col;
	struct token tok;
	rdms_error  *err;
	uint32_t     code;     /* first failure, 0 while none */
	char        *ns;       /* current #pragma namespace, NULL before one */
	mof_schema  *out;
};

/* A qualifier list being read, with where each name was written. */
struct qlist {
	cim_qualifier *v;
	int           (*pos)[2];
	size_t         n, cap;
};

/* ---- errors --------------------------------------------------------------- */

static bool fail_at(struct parser *ps, int line, int col, uint32_t code,
                    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static bool fail_at(struct parser *ps, int line, int col, uint32_t code,
                    const char *fmt, ...)
{
	char msg[400];
	va_list ap;

	if (ps->code != 0)
		return false;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	ps->code = code;
	rdms_fail(ps->err, code, "line %d, column %d: %s", line, col, msg);
	return false;
}

#define FAIL(ps, code, ...) fail_at((ps), (ps)->tok.line, (ps)->tok.col, (code), __VA_ARGS__)

static bool oom(struct parser *ps)
{
	return FAIL(ps, WBEM_E_OUT_OF_MEMORY, "out of memory");
}

/* A short description of the current token for "found ..." in messages. */
static const char *tok_desc(const struct token *t, char *buf, size_t size)
{
	switch (t->kind) {
	case T_EOF:
		return "end of input";
	case T_IDENT:
		snprintf(buf, size, "'%.*s'", (int)(t->len > 40 ? 40 : t->len), t->text);
		return buf;
	case T_STRING:
		return "a string";
	case T_INT:
		return "a number";
	case T_PUNCT:
		snprintf(buf, size, "'%c'", t->punct);
		return buf;
	}
	return "?";
}

#define FOUND(ps) tok_desc(&(ps)->tok, found_buf, sizeof found_buf)

/* ---- allocation helpers ----------------------------------------------------- */

/* Returns ARR grown to hold NEED elements, or NULL (ARR untouched). */
static void *grow(void *arr, size_t *cap, size_t need, size_t elem)
{
	size_t ncap;
	void *p;

	if (need <= *cap)
		return arr;
	ncap = *cap ? *cap * 2 : 8;
	while (ncap < need)
		ncap *= 2;
	p = realloc(arr, ncap * elem);
	if (p == NULL)
		return NULL;
	*cap = ncap;
	return p;
}

static void quals_free(const cim_qualifier *q, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free((void *)q[i].name);
		free((void *)q[i].value);
	}
	free((void *)q);
}

static void qlist_free(struct qlist *ql)
{
	quals_free(ql->v, ql->n);
	free(ql->pos);
	memset(ql, 0, sizeof *ql);
}

/* Hands the qualifiers of QL over to the caller's fields. */
static void qlist_take(struct qlist *ql, const cim_qualifier **quals, size_t *n)
{
	*quals = ql->v;
	*n = ql->n;
	free(ql->pos);
	memset(ql, 0, sizeof *ql);
}

static void class_free(cim_class *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->nprops; i++) {
		free((void *)c->props[i].name);
		quals_free(c->props[i].quals, c->props[i].nquals);
	}
	free((void *)c->props);
	for (size_t i = 0; i < c->nmethods; i++) {
		const cim_method *m = &c->methods[i];

		for (size_t j = 0; j < m->nparams; j++) {
			free((void *)m->params[j].name);
			quals_free(m->params[j].quals, m->params[j].nquals);
		}
		free((void *)m->params);
		free((void *)m->name);
		quals_free(m->quals, m->nquals);
	}
	free((void *)c->methods);
	quals_free(c->quals, c->nquals);
	free((void *)c->name);
	free((void *)c->superclass);
	free((void *)c->namespace_);
	free(c);
}

void mof_schema_free(mof_schema *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->nclasses; i++)
		class_free(s->classes[i]);
	free(s->classes);
	free(s->namespace_);
	memset(s, 0, sizeof *s);
}

/* ---- lexer ------------------------------------------------------------------ */

static bool is_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static int hex_value(int c)
{
	if (is_digit(c))
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int peekc(const struct parser *ps, size_t off)
{
	if ((size_t)(ps->end - ps->p) <= off)
		return -1;
	return (unsigned char)ps->p[off];
}

static void advance(struct parser *ps)
{
	if (ps->p >= ps->end)
		return;
	if (*ps->p == '\n') {
		ps->line++;
		ps->col = 1;
	} else {
		ps->col++;
	}
	ps->p++;
}

/* Skips blanks and comments; false on an unterminated comment. */
static bool skip_space(struct parser *ps)
{
	for (;;) {
		int c = peekc(ps, 0);

		if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
			advance(ps);
		} else if (c == '/' && peekc(ps, 1) == '/') {
			while (peekc(ps, 0) != -1 && peekc(ps, 0) != '\n')
				advance(ps);
		} else if (c == '/' && peekc(ps, 1) == '*') {
			int line = ps->line, col = ps->col;

			advance(ps);
			advance(ps);
			while (!(peekc(ps, 0) == '*' && peekc(ps, 1) == '/')) {
				if (peekc(ps, 0) == -1)
					return fail_at(ps, line, col, WBEMMOF_E_UNRECOGNIZED_TOKEN,
					               "unterminated comment");
				advance(ps);
			}
			advance(ps);
			advance(ps);
		} else {
			return true;
		}
	}
}

/* Appends code point CP (1..0xFFFF, no surrogates) as UTF-8. */
static void put_utf8(strbuf *b, unsigned cp)
{
	char u[3];

	if (cp < 0x80) {
		u[0] = (char)cp;
		strbuf_append(b, u, 1);
	} else if (cp < 0x800) {
		u[0] = (char)(0xC0 | (cp >> 6));
		u[1] = (char)(0x80 | (cp & 0x3F));
		strbuf_append(b, u, 2);
	} else {
		u[0] = (char)(0xE0 | (cp >> 12));
		u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		u[2] = (char)(0x80 | (cp & 0x3F));
		strbuf_append(b, u, 3);
	}
}

/* One escape sequence after the backslash (already consumed). */
static bool lex_escape(struct parser *ps, strbuf *b)
{
	int line = ps->line, col = ps->col - 1;
	int c = peekc(ps, 0);
	unsigned cp = 0;
	int digits = 0;

	switch (c) {
	case 'b': strbuf_puts(b, "\b"); break;
	case 't': strbuf_puts(b, "\t"); break;
	case 'n': strbuf_puts(b, "\n"); break;
	case 'f': strbuf_puts(b, "\f"); break;
	case 'r': strbuf_puts(b, "\r"); break;
	case '"': strbuf_puts(b, "\""); break;
	case '\'': strbuf_puts(b, "'"); break;
	case '\\': strbuf_puts(b, "\\"); break;
	case 'x':
	case 'X':
		advance(ps);
		while (digits < 4 && hex_value(peekc(ps, 0)) >= 0) {
			cp = cp * 16 + (unsigned)hex_value(peekc(ps, 0));
			advance(ps);
			digits++;
		}
		if (digits == 0 || cp == 0 || (cp >= 0xD800 && cp <= 0xDFFF))
			return fail_at(ps, line, col, WBEMMOF_E_ILLEGAL_CONSTANT_VALUE,
			               "invalid \\x escape in string (1-4 hex digits, not 0 or a surrogate)");
		put_utf8(b, cp);
		return true;
	default:
		if (c == -1)
			return true;   /* the caller reports the unterminated string */
		if (c > 0x20 && c < 0x7F)
			return fail_at(ps, line, col, WBEMMOF_E_ILLEGAL_CONSTANT_VALUE,
			               "invalid escape '\\%c' in string", c);
		return fail_at(ps, line, col, WBEMMOF_E_ILLEGAL_CONSTANT_VALUE,
		               "invalid escape: '\\' followed by byte 0x%02X", (unsigned)c);
	}
	advance(ps);
	return true;
}

/* A string literal from the opening quote; adjacent literals are joined. */
static bool lex_string(struct parser *ps)
{
	strbuf b = { 0 };

	for (;;) {
		int line = ps->line, col = ps->col;

		advance(ps);   /* the opening quote */
		for (;;) {
			int c = peekc(ps, 0);

			if (c == -1 || c == '\n' || c == '\r') {
				strbuf_free(&b);
				return fail_at(ps, line, col, WBEMMOF_E_UNRECOGNIZED_TOKEN,
				               "unterminated string");
			}
			if (c == 0) {
				strbuf_free(&b);
				return fail_at(ps, ps->line, ps->col, WBEMMOF_E_ILLEGAL_CONSTANT_VALUE,
				               "NUL byte in string");
			}
			advance(ps);
			if (c == '"')
				break;
			if (c == '\\') {
				if (!lex_escape(ps, &b)) {
					strbuf_free(&b);
					return false;
				}
			} else {
				char ch = (char)c;

				strbuf_append(&b, &ch, 1);
			}
		}
		if (!skip_space(ps)) {
			strbuf_free(&b);
			return false;
		}
		if (peekc(ps, 0) != '"')
			break;
	}
	ps->tok.str = strbuf_take(&b);
	if (ps->tok.str == NULL)
		return oom(ps);
	if (!utf8_valid(ps->tok.str, strlen(ps->tok.str)))   /* the text ends up in XML replies */
		return FAIL(ps, WBEMMOF_E_ILLEGAL_CONSTANT_VALUE, "string is not valid UTF-8");
	return true;
}

/* [+-]digits or [+-]0xHEX, kept within the 32-bit range cim_type offers. */
static bool lex_number(struct parser *ps)
{
	bool neg = false, hex = false;
	unsigned long long v = 0;
	bool big = false;
	int c;

	if (peekc(ps, 0) == '+' || peekc(ps, 0) == '-') {
		neg = peekc(ps, 0) == '-';
		advance(ps);
	}
	if (peekc(ps, 0) == '0' && (peekc(ps, 1) == 'x' || peekc(ps, 1) == 'X')) {
		hex = true;
		advance(ps);
		advance(ps);
		if (hex_value(peekc(ps, 0)) < 0)
			return FAIL(ps, WBEMMOF_E_ILLEGAL_CONSTANT_VALUE,
			            "expected hex digits after 0x");
	}
	while ((c = peekc(ps, 0)) != -1 && (hex ? hex_value(c) >= 0 : is_digit(c))) {
		v = v * (hex ? 16 : 10) + (unsigned)(hex ? hex_value(c) : c - '0');
		if (v > 0xFFFFFFFFull)
			big = true, v = 0xFFFFFFFFull + 1;
		advance(ps);
	}
	if (c == '.' || is_alpha(c) || is_digit(c))
		return FAIL(ps, WBEMMOF_E_ILLEGAL_CONSTANT_VALUE,
		            c == '.' ? "real numbers are not supported"
		                     : "invalid number");
	if (big || (neg && v > 0x80000000ull))
		return FAIL(ps, WBEMMOF_E_OUT_OF_RANGE,
		            "number out of range (rdms supports 32-bit integers)");
	ps->tok.num = neg ? -(long long)v : (long long)v;
	return true;
}

/* Reads the next token into ps->tok; false (error set) on a lexical error. */
static bool lex(struct parser *ps)
{
	int c;

	free(ps->tok.str);
	memset(&ps->tok, 0, sizeof ps->tok);
	if (!skip_space(ps))
		return false;
	ps->tok.line = ps->line;
	ps->tok.col = ps->col;
	c = peekc(ps, 0);
	if (c == -1) {
		ps->tok.kind = T_EOF;
		return true;
	}
	if (is_alpha(c)) {
		ps->tok.kind = T_IDENT;
		ps->tok.text = ps->p;
		while (is_alpha(peekc(ps, 0)) || is_digit(peekc(ps, 0)))
			advance(ps);
		ps->tok.len = (size_t)(ps->p - ps->tok.text);
		if (ps->tok.len > MOF_MAX_NAME)
			return FAIL(ps, WBEMMOF_E_OUT_OF_RANGE,
			            "name longer than %d characters", MOF_MAX_NAME);
		return true;
	}
	if (c == '"') {
		ps->tok.kind = T_STRING;
		return lex_string(ps);
	}
	if (is_digit(c) || ((c == '-' || c == '+') && is_digit(peekc(ps, 1)))) {
		ps->tok.kind = T_INT;
		return lex_number(ps);
	}
	if (c != 0 && strchr("[](){};,:=#", c) != NULL) {
		ps->tok.kind = T_PUNCT;
		ps->tok.punct = (char)c;
		advance(ps);
		return true;
	}
	if (c == '\'')
		return FAIL(ps, WBEMMOF_E_ILLEGAL_CONSTANT_VALUE,
		            "character literals are not supported");
	if (c > 0x20 && c < 0x7F)
		return FAIL(ps, WBEMMOF_E_UNRECOGNIZED_TOKEN, "unexpected character '%c'", c);
	return FAIL(ps, WBEMMOF_E_UNRECOGNIZED_TOKEN, "unexpected byte 0x%02X", (unsigned)c);
}

/* ---- token tests ------------------------------------------------------------- */

static bool at_punct(const struct parser *ps, char c)
{
	return ps->tok.kind == T_PUNCT && ps->tok.punct == c;
}

static bool at_word(const struct parser *ps, const char *w)
{
	return ps->tok.kind == T_IDENT && strlen(w) == ps->tok.len &&
	       strncasecmp(ps->tok.text, w, ps->tok.len) == 0;
}

/* A copy of the current identifier, or NULL (error set). */
static char *ident_dup(struct parser *ps)
{
	char *s = strndup(ps->tok.text, ps->tok.len);

	if (s == NULL)
		oom(ps);
	return s;
}

/* ---- types ------------------------------------------------------------------- */

/*
 * Resolves the current identifier as a type.  *is_void is set for "void",
 * which only a method may return; the caller decides.
 */
static bool parse_type(struct parser *ps, cim_type *type, bool *is_void)
{
	static const char *const unsupported[] = {
		"uint8", "uint16", "uint64", "sint8", "sint16", "sint64",
		"real32", "real64", "char16", "object",
	};
	char found_buf[64];
	char name[MOF_MAX_NAME + 1];

	*is_void = false;
	if (ps->tok.kind != T_IDENT)
		return FAIL(ps, WBEMMOF_E_EXPECTED_TYPE_IDENTIFIER,
		            "expected a type, found %s", FOUND(ps));
	memcpy(name, ps->tok.text, ps->tok.len);
	name[ps->tok.len] = '\0';
	if (strcasecmp(name, "void") == 0) {
		*is_void = true;
		*type = CIM_TYPE_NONE;
		return lex(ps);
	}
	*type = cim_type_from_name(name);
	if (*type != CIM_TYPE_NONE)
		return lex(ps);
	for (size_t i = 0; i < sizeof unsupported / sizeof unsupported[0]; i++)
		if (strcasecmp(name, unsupported[i]) == 0)
			return FAIL(ps, WBEMMOF_E_UNRECOGNIZED_TYPE,
			            "type %s is not supported by rdms (only string, uint32, "
			            "sint32, boolean and datetime)", name);
	return FAIL(ps, WBEMMOF_E_UNRECOGNIZED_TYPE, "unknown type %s", name);
}

/* ---- qualifiers ---------------------------------------------------------------- */

static bool qlist_find(const struct qlist *ql, const char *name)
{
	for (size_t i = 0; i < ql->n; i++)
		if (strcasecmp(ql->v[i].name, name) == 0)
			return true;
	return false;
}

/* The literal after '(' in name(value): string, integer or true/false. */
static bool parse_qual_value(struct parser *ps, cim_qualifier *q)
{
	char found_buf[64];
	char num[32];

	if (ps->tok.kind == T_STRING) {
		q->type = CIM_TYPE_STRING;
		q->value = ps->tok.str;
		ps->tok.str = NULL;
	} else if (ps->tok.kind == T_INT) {
		q->type = ps->tok.num < 0 ? CIM_TYPE_SINT32 : CIM_TYPE_UINT32;
		snprintf(num, sizeof num, "%lld", ps->tok.num);
		if ((q->value = strdup(num)) == NULL)
			return oom(ps);
	} else if (at_word(ps, "true") || at_word(ps, "false")) {
		q->type = CIM_TYPE_BOOLEAN;
		if ((q->value = strdup(at_word(ps, "true") ? "true" : "false")) == NULL)
			return oom(ps);
	} else if (at_word(ps, "null")) {
		return FAIL(ps, WBEMMOF_E_ILLEGAL_CONSTANT_VALUE,
		            "NULL qualifier values are not supported");
	} else {
		return FAIL(ps, WBEMMOF_E_ILLEGAL_CONSTANT_VALUE,
		            "expected a string, number, true or false, found %s", FOUND(ps));
	}
	return lex(ps);
}

/* name : flavor [flavor ...] -- checked, then dropped (class.h has no flavors). */
static bool parse_flavors(struct parser *ps)
{
	static const char *const flavors[] = {
		"EnableOverride", "DisableOverride", "ToSubclass", "Restricted",
		"NotToSubclass", "ToInstance", "NotToInstance", "Amended", "Translatable",
	};
	/* Pairs that contradict each other, as indexes into flavors[]. */
	static const int clash[][2] = { { 0, 1 }, { 2, 3 }, { 2, 4 }, { 5, 6 } };
	bool seen[sizeof flavors / sizeof flavors[0]] = { false };
	char found_buf[64];

	if (ps->tok.kind != T_IDENT)
		return FAIL(ps, WBEMMOF_E_EXPECTED_FLAVOR_TYPE,
		            "expected a qualifier flavor after ':', found %s", FOUND(ps));
	while (ps->tok.kind == T_IDENT) {
		size_t i;

		for (i = 0; i < sizeof flavors / sizeof flavors[0]; i++)
			if (at_word(ps, flavors[i]))
				break;
		if (i == sizeof flavors / sizeof flavors[0])
			return FAIL(ps, WBEMMOF_E_EXPECTED_FLAVOR_TYPE,
			            "unknown qualifier flavor %s", FOUND(ps));
		seen[i] = true;
		for (size_t k = 0; k < sizeof clash / sizeof clash[0]; k++)
			if (seen[clash[k][0]] && seen[clash[k][1]])
				return FAIL(ps, WBEMMOF_E_INCOMPATIBLE_FLAVOR_TYPES,
				            "qualifier flavors %s and %s contradict each other",
				            flavors[clash[k][0]], flavors[clash[k][1]]);
		if (!lex(ps))
			return false;
	}
	return true;
}

static bool parse_one_qual(struct parser *ps, struct qlist *ql)
{
	char found_buf[64];
	cim_qualifier *q;
	void *p;

	if (ps->tok.kind != T_IDENT)
		return FAIL(ps, WBEMMOF_E_EXPECTED_QUALIFIER_NAME,
		            "expected a qualifier name, found %s", FOUND(ps));
	if (ql->n >= MOF_MAX_ITEMS)
		return FAIL(ps, WBEMMOF_E_OUT_OF_RANGE, "too many qualifiers");
	{
		char name[MOF_MAX_NAME + 1];

		memcpy(name, ps->tok.text, ps->tok.len);
		name[ps->tok.len] = '\0';
		if (qlist_find(ql, name))
			return FAIL(ps, WBEMMOF_E_DUPLICATE_QUALIFIER, "duplicate qualifier %s", name);
	}
	/* v and pos grow in step; each keeps its new block even if the other fails. */
	size_t vcap = ql->cap, pcap = ql->cap;
	if ((p = grow(ql->v, &vcap, ql->n + 1, sizeof *ql->v)) == NULL)
		return oom(ps);
	ql->v = p;
	if ((p = grow(ql->pos, &pcap, ql->n + 1, sizeof *ql->pos)) == NULL)
		return oom(ps);
	ql->pos = p;
	ql->cap = vcap;
	q = &ql->v[ql->n];
	memset(q, 0, sizeof *q);
	ql->pos[ql->n][0] = ps->tok.line;
	ql->pos[ql->n][1] = ps->tok.col;
	if ((q->name = ident_dup(ps)) == NULL)
		return false;
	ql->n++;   /* from here on qlist_free releases it */
	if (!lex(ps))
		return false;
	if (at_punct(ps, '{'))
		return FAIL(ps, WBEMMOF_E_UNEXPECTED_ARRAY_INIT,
		            "array qualifier values are not supported (qualifier %s)", q->name);
	if (at_punct(ps, '(')) {
		if (!lex(ps) || !parse_qual_value(ps, q))
			return false;
		if (!at_punct(ps, ')'))
			return FAIL(ps, WBEMMOF_E_EXPECTED_CLOSE_PAREN,
			            "expected ')' after the value of qualifier %s, found %s",
			            q->name, FOUND(ps));
		if (!lex(ps))
			return false;
	} else {
		q->type = CIM_TYPE_BOOLEAN;
		if ((q->value = strdup("true")) == NULL)
			return oom(ps);
	}
	if (at_punct(ps, ':'))
		return lex(ps) && parse_flavors(ps);
	return true;
}

/* [q1, q2(v), ...] when the current token is '['; nothing otherwise. */
static bool parse_quals(struct parser *ps, struct qlist *ql)
{
	char found_buf[64];

	if (!at_punct(ps, '['))
		return true;
	if (!lex(ps))
		return false;
	for (;;) {
		if (!parse_one_qual(ps, ql))
			return false;
		if (at_punct(ps, ']'))
			return lex(ps);
		if (!at_punct(ps, ','))
			return FAIL(ps, WBEMMOF_E_EXPECTED_CLOSE_BRACKET,
			            "expected ',' or ']' in qualifier list, found %s", FOUND(ps));
		if (!lex(ps))
			return false;
	}
}

/*
 * Where each qualifier may appear.  Only the ones that change the model are
 * checked; any other qualifier is kept as written.
 */
enum qscope { SCOPE_CLASS, SCOPE_PROPERTY, SCOPE_METHOD, SCOPE_PARAMETER };

static bool check_flag(struct parser *ps, const struct qlist *ql, size_t i,
                       const char *name, enum qscope scope, enum qscope allowed,
                       bool *flag)
{
	static const char *const scope_name[] = { "class", "property", "method", "parameter" };

	if (strcasecmp(ql->v[i].name, name) != 0)
		return true;
	if (scope != allowed)
		return fail_at(ps, ql->pos[i][0], ql->pos[i][1],
		               WBEMMOF_E_QUALIFIER_USED_OUTSIDE_SCOPE,
		               "qualifier %s is not allowed on a %s", ql->v[i].name,
		               scope_name[scope]);
	if (ql->v[i].type != CIM_TYPE_BOOLEAN)
		return fail_at(ps, ql->pos[i][0], ql->pos[i][1], WBEMMOF_E_TYPE_MISMATCH,
		               "qualifier %s takes a boolean value", ql->v[i].name);
	*flag = strcmp(ql->v[i].value, "true") == 0;
	return true;
}

struct qflags {
	bool key, in, out;
};

static bool check_quals(struct parser *ps, const struct qlist *ql, enum qscope scope,
                        struct qflags *f)
{
	memset(f, 0, sizeof *f);
	for (size_t i = 0; i < ql->n; i++) {
		if (!check_flag(ps, ql, i, "key", scope, SCOPE_PROPERTY, &f->key) ||
		    !check_flag(ps, ql, i, "in", scope, SCOPE_PARAMETER, &f->in) ||
		    !check_flag(ps, ql, i, "out", scope, SCOPE_PARAMETER, &f->out))
			return false;
	}
	return true;
}

/* ---- class features ---------------------------------------------------------- */

/* True when C already has a property or method called NAME. */
static bool feature_exists(const cim_class *c, const char *name)
{
	for (size_t i = 0; i < c->nprops; i++)
		if (strcasecmp(c->props[i].name, name) == 0)
			return true;
	for (size_t i = 0; i < c->nmethods; i++)
		if (strcasecmp(c->methods[i].name, name) == 0)
			return true;
	return false;
}

/* Reads a feature or parameter name; rejects arrays after it. */
static char *parse_name(struct parser *ps, const char *what)
{
	char found_buf[64];
	char *name;

	if (ps->tok.kind != T_IDENT) {
		FAIL(ps, WBEMMOF_E_EXPECTED_PROPERTY_NAME, "expected %s name, found %s",
		     what, FOUND(ps));
		return NULL;
	}
	if ((name = ident_dup(ps)) == NULL)
		return NULL;
	if (!lex(ps)) {
		free(name);
		return NULL;
	}
	if (at_punct(ps, '[')) {
		FAIL(ps, WBEMMOF_E_UNRECOGNIZED_TYPE, "array %s %s is not supported", what, name);
		free(name);
		return NULL;
	}
	return name;
}

static bool parse_param(struct parser *ps, cim_method *m, size_t *cap)
{
	struct qlist ql = { 0 };
	struct qflags f;
	cim_parameter *params;
	cim_type type;
	bool is_void;
	int line, col;
	char *name;

	if (!parse_quals(ps, &ql) || !check_quals(ps, &ql, SCOPE_PARAMETER, &f))
		goto fail;
	line = ps->tok.line;
	col = ps->tok.col;
	if (!parse_type(ps, &type, &is_void))
		goto fail;
	if (is_void) {
		fail_at(ps, line, col, WBEMMOF_E_UNRECOGNIZED_TYPE,
		        "a parameter cannot be void");
		goto fail;
	}
	line = ps->tok.line;
	col = ps->tok.col;
	if ((name = parse_name(ps, "parameter")) == NULL)
		goto fail;
	for (size_t i = 0; i < m->nparams; i++) {
		if (strcasecmp(m->params[i].name, name) == 0) {
			fail_at(ps, line, col, WBEMMOF_E_DUPLICATE_PROPERTY,
			        "duplicate parameter %s in method %s", name, m->name);
			free(name);
			goto fail;
		}
	}
	if (!f.in && !f.out) {
		fail_at(ps, line, col, WBEMMOF_E_MUST_BE_IN_OR_OUT,
		        "parameter %s of method %s must be [in] or [out]", name, m->name);
		free(name);
		goto fail;
	}
	if (m->nparams >= MOF_MAX_ITEMS ||
	    (params = grow((void *)m->params, cap, m->nparams + 1, sizeof *params)) == NULL) {
		if (m->nparams >= MOF_MAX_ITEMS)
			fail_at(ps, line, col, WBEMMOF_E_OUT_OF_RANGE, "too many parameters");
		else
			oom(ps);
		free(name);
		goto fail;
	}
	m->params = params;
	params[m->nparams] = (cim_parameter){ .name = name, .type = type,
	                                      .is_in = f.in, .is_out = f.out };
	qlist_take(&ql, &params[m->nparams].quals, &params[m->nparams].nquals);
	m->nparams++;
	return true;
fail:
	qlist_free(&ql);
	return false;
}

/* After "type Name(": the parameter list, ')' and ';'. M is in the class already. */
static bool parse_method_rest(struct parser *ps, cim_method *m)
{
	char found_buf[64];
	size_t cap = 0;

	if (!at_punct(ps, ')')) {
		for (;;) {
			if (!parse_param(ps, m, &cap))
				return false;
			if (at_punct(ps, ')'))
				break;
			if (!at_punct(ps, ','))
				return FAIL(ps, WBEMMOF_E_EXPECTED_CLOSE_PAREN,
				            "expected ',' or ')' in parameters of method %s, found %s",
				            m->name, FOUND(ps));
			if (!lex(ps))
				return false;
		}
	}
	if (!lex(ps))
		return false;
	if (!at_punct(ps, ';'))
		return FAIL(ps, WBEMMOF_E_EXPECTED_SEMI, "expected ';' after method %s, found %s",
		            m->name, FOUND(ps));
	return lex(ps);
}

struct classb {
	cim_class    *cls;
	cim_property *props;
	size_t        propcap;
	cim_method   *methods;
	size_t        methcap;
};

static bool add_method(struct parser *ps, struct classb *cb, struct qlist *ql,
                       char *name, cim_type type)
{
	struct qflags f;
	cim_method *m;

	if (!check_quals(ps, ql, SCOPE_METHOD, &f)) {
		free(name);
		return false;
	}
	if ((m = grow(cb->methods, &cb->methcap, cb->cls->nmethods + 1, sizeof *m)) == NULL) {
		free(name);
		return oom(ps);
	}
	cb->methods = m;
	cb->cls->methods = m;
	m = &cb->methods[cb->cls->nmethods++];
	*m = (cim_method){ .name = name, .return_type = type };
	qlist_take(ql, &m->quals, &m->nquals);
	if (!lex(ps))   /* the '(' */
		return false;
	return parse_method_rest(ps, m);
}

static bool add_property(struct parser *ps, struct classb *cb, struct qlist *ql,
                         char *name, cim_type type)
{
	char found_buf[64];
	struct qflags f;
	cim_property *p;

	if (!check_quals(ps, ql, SCOPE_PROPERTY, &f)) {
		free(name);
		return false;
	}
	if ((p = grow(cb->props, &cb->propcap, cb->cls->nprops + 1, sizeof *p)) == NULL) {
		free(name);
		return oom(ps);
	}
	cb->props = p;
	cb->cls->props = p;
	p = &cb->props[cb->cls->nprops++];
	*p = (cim_property){ .name = name, .type = type, .is_key = f.key };
	qlist_take(ql, &p->quals, &p->nquals);
	if (at_punct(ps, '='))
		return FAIL(ps, WBEMMOF_E_ILLEGAL_CONSTANT_VALUE,
		            "default values are not supported (property %s)", p->name);
	if (!at_punct(ps, ';'))
		return FAIL(ps, WBEMMOF_E_EXPECTED_SEMI, "expected ';' after property %s, found %s",
		            p->name, FOUND(ps));
	return lex(ps);
}

/* [quals] type Name ; | [quals] type Name ( params ) ; */
static bool parse_feature(struct parser *ps, struct classb *cb)
{
	struct qlist ql = { 0 };
	cim_type type;
	bool is_void;
	int tline, tcol, line, col;
	char *name;

	if (!parse_quals(ps, &ql))
		goto fail;
	tline = ps->tok.line;
	tcol = ps->tok.col;
	if (!parse_type(ps, &type, &is_void))
		goto fail;
	line = ps->tok.line;
	col = ps->tok.col;
	if ((name = parse_name(ps, "property or method")) == NULL)
		goto fail;
	if (feature_exists(cb->cls, name)) {
		fail_at(ps, line, col, WBEMMOF_E_DUPLICATE_PROPERTY,
		        "duplicate property or method %s in class %s", name, cb->cls->name);
		free(name);
		goto fail;
	}
	if (cb->cls->nprops + cb->cls->nmethods >= MOF_MAX_ITEMS) {
		fail_at(ps, line, col, WBEMMOF_E_OUT_OF_RANGE,
		        "too many properties and methods in class %s", cb->cls->name);
		free(name);
		goto fail;
	}
	if (at_punct(ps, '(')) {
		if (!add_method(ps, cb, &ql, name, type))
			goto fail;
	} else if (is_void) {
		fail_at(ps, tline, tcol, WBEMMOF_E_UNRECOGNIZED_TYPE,
		        "property %s cannot be void", name);
		free(name);
		goto fail;
	} else if (!add_property(ps, cb, &ql, name, type)) {
		goto fail;
	}
	return true;
fail:
	qlist_free(&ql);
	return false;
}

/* ---- classes and pragmas --------------------------------------------------------- */

static bool class_exists(const mof_schema *s, const char *name)
{
	for (size_t i = 0; i < s->nclasses; i++)
		if (strcasecmp(s->classes[i]->name, name) == 0)
			return true;
	return false;
}

/* Allocates the class named by the current token and appends it to the schema. */
static cim_class *new_class(struct parser *ps)
{
	cim_class **v, *c;

	if (ps->out->nclasses >= MOF_MAX_ITEMS) {
		FAIL(ps, WBEMMOF_E_OUT_OF_RANGE, "too many classes");
		return NULL;
	}
	/* the schema holds pointers: an element is a cim_class *, not the struct */
	v = realloc(ps->out->classes, (ps->out->nclasses + 1) * sizeof(cim_class *));
	if (v == NULL) {
		oom(ps);
		return NULL;
	}
	ps->out->classes = v;
	if ((c = calloc(1, sizeof *c)) == NULL) {
		oom(ps);
		return NULL;
	}
	v[ps->out->nclasses++] = c;
	c->name = ident_dup(ps);
	c->namespace_ = strdup(ps->ns ? ps->ns : MOF_DEFAULT_NS);
	if (c->name == NULL || c->namespace_ == NULL) {
		oom(ps);
		return NULL;
	}
	return c;
}

/* After the qualifier list: class Name [: Super] { features } ; */
static bool parse_class(struct parser *ps, struct qlist *ql)
{
	char found_buf[64];
	struct classb cb = { 0 };
	struct qflags f;

	if (at_word(ps, "instance"))
		return FAIL(ps, WBEMMOF_E_INVALID_INSTANCE_DECLARATION,
		            "instance declarations are not supported");
	if (!at_word(ps, "class"))
		return FAIL(ps, WBEMMOF_E_INVALID_CLASS_DECLARATION,
		            "expected 'class' after qualifier list, found %s", FOUND(ps));
	if (!check_quals(ps, ql, SCOPE_CLASS, &f) || !lex(ps))
		return false;
	if (ps->tok.kind != T_IDENT || at_word(ps, "class"))
		return FAIL(ps, WBEMMOF_E_EXPECTED_CLASS_NAME, "expected class name, found %s",
		            FOUND(ps));
	{
		char name[MOF_MAX_NAME + 1];

		memcpy(name, ps->tok.text, ps->tok.len);
		name[ps->tok.len] = '\0';
		if (class_exists(ps->out, name))
			return FAIL(ps, WBEMMOF_E_INVALID_CLASS_DECLARATION,
			            "class %s is declared twice", name);
	}
	if ((cb.cls = new_class(ps)) == NULL)
		return false;
	qlist_take(ql, &cb.cls->quals, &cb.cls->nquals);
	if (!lex(ps))
		return false;
	if (at_punct(ps, ':')) {
		if (!lex(ps))
			return false;
		if (ps->tok.kind != T_IDENT)
			return FAIL(ps, WBEMMOF_E_EXPECTED_CLASS_NAME,
			            "expected superclass name after ':', found %s", FOUND(ps));
		if ((cb.cls->superclass = ident_dup(ps)) == NULL || !lex(ps))
			return false;
	}
	if (!at_punct(ps, '{'))
		return FAIL(ps, WBEMMOF_E_EXPECTED_OPEN_BRACE,
		            "expected '{' after class %s, found %s", cb.cls->name, FOUND(ps));
	if (!lex(ps))
		return false;
	while (!at_punct(ps, '}')) {
		if (ps->tok.kind == T_EOF)
			return FAIL(ps, WBEMMOF_E_EXPECTED_CLOSE_BRACE,
			            "expected '}' to close class %s, found end of input",
			            cb.cls->name);
		if (!parse_feature(ps, &cb))
			return false;
	}
	if (!lex(ps))
		return false;
	if (!at_punct(ps, ';'))
		return FAIL(ps, WBEMMOF_E_EXPECTED_SEMI, "expected ';' after class %s, found %s",
		            cb.cls->name, FOUND(ps));
	return lex(ps);
}

static bool is_ns_char(int c)
{
	return is_alpha(c) || is_digit(c);
}

/*
 * "\\.\root\cimv2\rdms", "//./root/cimv2", "root\cimv2" -> "root/cimv2/...".
 * A namespace not starting with a separator or "root" is relative to the
 * current one, as mofcomp treats it.
 */
static bool set_namespace(struct parser *ps, const char *raw, int line, int col)
{
	const char *s = raw;
	strbuf b = { 0 };
	char *ns;
	bool absolute = false;

	if ((s[0] == '\\' || s[0] == '/') && (s[1] == '\\' || s[1] == '/')) {
		const char *host = s + 2;
		size_t hl = strcspn(host, "\\/");

		if (!(hl == 1 && host[0] == '.') && !(hl == 9 && strncasecmp(host, "localhost", 9) == 0))
			return fail_at(ps, line, col, WBEMMOF_E_INVALID_NAMESPACE_SPECIFICATION,
			               "namespace \"%s\" names a remote host; only \\\\.\\ is allowed", raw);
		s = host + hl;
		absolute = true;
	}
	if (*s == '\\' || *s == '/') {
		s++;
		absolute = true;
	}
	if (!absolute && strncasecmp(s, "root", 4) == 0 && !is_ns_char((unsigned char)s[4]))
		absolute = true;
	if (!absolute && ps->ns != NULL) {
		strbuf_puts(&b, ps->ns);
		strbuf_puts(&b, "/");
	} else if (!absolute) {
		strbuf_puts(&b, MOF_DEFAULT_NS "/");
	}
	for (;;) {
		size_t n = 0;

		while (is_ns_char((unsigned char)s[n]))
			n++;
		if (n == 0 || (s[n] != '\0' && s[n] != '\\' && s[n] != '/')) {
			strbuf_free(&b);
			return fail_at(ps, line, col, WBEMMOF_E_INVALID_NAMESPACE_SYNTAX,
			               "invalid namespace \"%s\"", raw);
		}
		strbuf_append(&b, s, n);
		s += n;
		if (*s == '\0')
			break;
		strbuf_puts(&b, "/");
		s++;
	}
	if ((ns = strbuf_take(&b)) == NULL)
		return oom(ps);
	free(ps->ns);
	ps->ns = ns;
	return true;
}

/* The arguments of a pragma we ignore: ( literal {, literal} ) */
static bool skip_pragma_args(struct parser *ps, const char *name)
{
	char found_buf[64];

	if (!at_punct(ps, '('))
		return FAIL(ps, WBEMMOF_E_EXPECTED_OPEN_PAREN,
		            "expected '(' after #pragma %s, found %s", name, FOUND(ps));
	do {
		if (!lex(ps))
			return false;
		if (ps->tok.kind != T_STRING && ps->tok.kind != T_INT && ps->tok.kind != T_IDENT)
			return FAIL(ps, WBEMMOF_E_INVALID_PRAGMA,
			            "expected a value in #pragma %s, found %s", name, FOUND(ps));
		if (!lex(ps))
			return false;
	} while (at_punct(ps, ','));
	if (!at_punct(ps, ')'))
		return FAIL(ps, WBEMMOF_E_EXPECTED_CLOSE_PAREN,
		            "expected ')' after #pragma %s, found %s", name, FOUND(ps));
	return lex(ps);
}

/* # pragma name ( args ) -- the current token is '#'. */
static bool parse_pragma(struct parser *ps)
{
	static const char *const ignored[] = { "classflags", "instanceflags", "locale", "source" };
	char found_buf[64];
	char name[MOF_MAX_NAME + 1];

	if (!lex(ps))
		return false;
	if (!at_word(ps, "pragma"))
		return FAIL(ps, WBEMMOF_E_INVALID_PRAGMA, "expected 'pragma' after '#', found %s",
		            FOUND(ps));
	if (!lex(ps))
		return false;
	if (ps->tok.kind != T_IDENT)
		return FAIL(ps, WBEMMOF_E_INVALID_PRAGMA, "expected pragma name, found %s",
		            FOUND(ps));
	memcpy(name, ps->tok.text, ps->tok.len);
	name[ps->tok.len] = '\0';
	if (strcasecmp(name, "namespace") == 0) {
		int line, col;

		if (!lex(ps))
			return false;
		if (!at_punct(ps, '('))
			return FAIL(ps, WBEMMOF_E_EXPECTED_OPEN_PAREN,
			            "expected '(' after #pragma namespace, found %s", FOUND(ps));
		if (!lex(ps))
			return false;
		if (ps->tok.kind != T_STRING)
			return FAIL(ps, WBEMMOF_E_INVALID_NAMESPACE_SYNTAX,
			            "expected a namespace string, found %s", FOUND(ps));
		line = ps->tok.line;
		col = ps->tok.col;
		if (!set_namespace(ps, ps->tok.str, line, col) || !lex(ps))
			return false;
		if (!at_punct(ps, ')'))
			return FAIL(ps, WBEMMOF_E_EXPECTED_CLOSE_PAREN,
			            "expected ')' after #pragma namespace, found %s", FOUND(ps));
		return lex(ps);
	}
	if (strcasecmp(name, "autorecover") == 0)
		return lex(ps);
	for (size_t i = 0; i < sizeof ignored / sizeof ignored[0]; i++)
		if (strcasecmp(name, ignored[i]) == 0)
			return lex(ps) && skip_pragma_args(ps, name);
	return FAIL(ps, WBEMMOF_E_INVALID_PRAGMA, "unsupported #pragma %s", name);
}

static bool parse_top(struct parser *ps)
{
	char found_buf[64];
	struct qlist ql = { 0 };
	bool ok;

	if (at_punct(ps, '#'))
		return parse_pragma(ps);
	if (at_word(ps, "typedef"))
		return FAIL(ps, WBEMMOF_E_TYPEDEF_NOT_SUPPORTED, "typedef is not supported");
	if (at_word(ps, "qualifier"))
		return FAIL(ps, WBEMMOF_E_INVALID_QUALIFIER_SYNTAX,
		            "qualifier declarations are not supported");
	if (at_word(ps, "instance"))
		return FAIL(ps, WBEMMOF_E_INVALID_INSTANCE_DECLARATION,
		            "instance declarations are not supported");
	if (!at_punct(ps, '[') && !at_word(ps, "class"))
		return FAIL(ps, WBEMMOF_E_UNRECOGNIZED_TOKEN,
		            "expected a class declaration or #pragma, found %s", FOUND(ps));
	ok = parse_quals(ps, &ql) && parse_class(ps, &ql);
	qlist_free(&ql);
	return ok;
}

uint32_t mof_parse(const char *text, size_t len, mof_schema *out, rdms_error *err)
{
	struct parser ps = { 0 };
	bool ok;

	memset(out, 0, sizeof *out);
	rdms_error_clear(err);
	ps.p = text ? text : "";
	ps.end = ps.p + (text ? len : 0);
	ps.line = ps.col = 1;
	ps.err = err;
	ps.out = out;
	/* Skip a UTF-8 byte-order mark, which Windows editors like to add. */
	if (ps.end - ps.p >= 3 && memcmp(ps.p, "\xEF\xBB\xBF", 3) == 0)
		ps.p += 3;
	ok = lex(&ps);
	while (ok && ps.tok.kind != T_EOF)
		ok = parse_top(&ps);
	free(ps.tok.str);
	if (ok) {
		out->namespace_ = ps.ns ? ps.ns : strdup(MOF_DEFAULT_NS);
		ps.ns = NULL;
		if (out->namespace_ == NULL)
			ok = oom(&ps);
	}
	free(ps.ns);
	if (!ok) {
		mof_schema_free(out);
		return ps.code;
	}
	return WBEM_S_NO_ERROR;
}
