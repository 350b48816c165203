/*
 * wql_lex.c -- the WQL tokenizer.
 *
 * Tokens carry their 1-based column (byte offset + 1) so every parse error
 * can say where it happened.  Keywords are recognised case-insensitively
 * and only as whole identifiers.  String literals are decoded into one
 * buffer the size of the query, so lexing never allocates.  Integers are
 * decimal with an optional sign glued to the digits; they are range-checked
 * against int64 here and against the property's type by the parser.  A
 * number with a fraction is read only where the parser asks for one (the
 * interval after WITHIN); anywhere else it stays an error.
 */
#include "wql_internal.h"

#include <stdio.h>
#include <string.h>

static const struct {
	const char  *word;
	wql_tok_kind kind;
} keywords[] = {
	{ "SELECT", WQL_T_SELECT }, { "FROM", WQL_T_FROM }, { "WHERE", WQL_T_WHERE },
	{ "AND", WQL_T_AND },       { "OR", WQL_T_OR },     { "NOT", WQL_T_NOT },
	{ "IS", WQL_T_IS },         { "NULL", WQL_T_NULL }, { "LIKE", WQL_T_LIKE },
	{ "TRUE", WQL_T_TRUE },     { "FALSE", WQL_T_FALSE },
	{ "ISA", WQL_T_ISA },       { "WITHIN", WQL_T_WITHIN }, { "GROUP", WQL_T_GROUP },
	{ "BY", WQL_T_BY },         { "HAVING", WQL_T_HAVING },
};

static bool is_ident_start(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

static bool is_ident_char(unsigned char c)
{
	return is_ident_start(c) || (c >= '0' && c <= '9');
}

static bool is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static bool word_ieq(const char *s, size_t len, const char *word)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (word[i] == '\0' || wql_fold((unsigned char)s[i]) != wql_fold((unsigned char)word[i]))
			return false;
	return word[i] == '\0';
}

static wql_tok_kind keyword_kind(const char *s, size_t len)
{
	for (size_t i = 0; i < sizeof keywords / sizeof keywords[0]; i++)
		if (word_ieq(s, len, keywords[i].word))
			return keywords[i].kind;
	return WQL_T_IDENT;
}

/* Decodes a quoted literal starting at the quote; the text goes to lex->buf. */
static uint32_t lex_string(wql_lexer *lex, wql_token *tok, rdms_error *err)
{
	const char *s = lex->text;
	char quote = s[lex->pos];
	size_t i = lex->pos + 1, n = 0;

	for (;;) {
		char c = s[i];

		if (c == '\0')
			return rdms_fail(err, WBEM_E_INVALID_QUERY,
			                 "unterminated string starting at column %zu", tok->col);
		if (c == quote)
			break;
		if (c == '\\') {
			char e = s[i + 1];

			if (e != '\\' && e != '"' && e != '\'') {
				if (e == '\0')
					return rdms_fail(err, WBEM_E_INVALID_QUERY,
					                 "unterminated string starting at column %zu", tok->col);
				return rdms_fail(err, WBEM_E_INVALID_QUERY,
				                 "invalid escape '\\%c' at column %zu (write \\\\ for a backslash)",
				                 (e >= 0x20 && e < 0x7f) ? e : '?', i + 1);
			}
			c = e;
			i++;
		}
		lex->buf[n++] = c;
		i++;
	}
	lex->buf[n] = '\0';
	tok->kind = WQL_T_STRING;
	lex->pos = i + 1;
	return 0;
}

static uint32_t lex_number(wql_lexer *lex, wql_token *tok, rdms_error *err)
{
	const char *s = lex->text;
	size_t i = lex->pos;
	bool neg = false;
	uint64_t v = 0;
	/* The magnitude limit: INT64_MAX, or one more for a negative number. */
	uint64_t limit;

	if (s[i] == '+' || s[i] == '-')
		neg = s[i++] == '-';
	limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (; is_digit((unsigned char)s[i]); i++) {
		unsigned d = (unsigned)(s[i] - '0');

		if (v > (limit - d) / 10)
			return rdms_fail(err, WBEM_E_INVALID_QUERY,
			                 "integer out of range at column %zu", tok->col);
		v = v * 10 + d;
	}
	if (lex->allow_real && s[i] == '.' && is_digit((unsigned char)s[i + 1])) {
		double frac = 0, scale = 1;

		for (i++; is_digit((unsigned char)s[i]) && scale < 1e15; i++) {
			scale *= 10;
			frac = frac * 10 + (s[i] - '0');
		}
		while (is_digit((unsigned char)s[i]))   /* digits past 15 change nothing */
			i++;
		if (!is_ident_char((unsigned char)s[i]) && s[i] != '.') {
			tok->kind = WQL_T_REAL;
			tok->real = ((double)v + frac / scale) * (neg ? -1 : 1);
			lex->pos = i;
			return 0;
		}
	}
	if (is_ident_char((unsigned char)s[i]) || s[i] == '.') {
		size_t end = i;

		while (is_ident_char((unsigned char)s[end]) || s[end] == '.')
			end++;
		return rdms_fail(err, WBEM_E_INVALID_QUERY,
		                 "invalid number '%.*s' at column %zu (only decimal integers are allowed)",
		                 (int)(end - lex->pos > 40 ? 40 : end - lex->pos),
		                 s + lex->pos, tok->col);
	}
	tok->kind = WQL_T_INTEGER;
	tok->num = neg ? (int64_t)(0 - v) : (int64_t)v;
	lex->pos = i;
	return 0;
}

/* One- and two-character operators; 0 when S does not start with one. */
static size_t lex_operator(const char *s, wql_tok_kind *kind)
{
	switch (s[0]) {
	case '*': *kind = WQL_T_STAR; return 1;
	case ',': *kind = WQL_T_COMMA; return 1;
	case '(': *kind = WQL_T_LPAREN; return 1;
	case ')': *kind = WQL_T_RPAREN; return 1;
	case '.': *kind = WQL_T_DOT; return 1;
	case '=': *kind = WQL_T_EQ; return 1;
	case '!':
		if (s[1] != '=')
			return 0;
		*kind = WQL_T_NE;
		return 2;
	case '<':
		if (s[1] == '>') { *kind = WQL_T_NE; return 2; }
		if (s[1] == '=') { *kind = WQL_T_LE; return 2; }
		*kind = WQL_T_LT;
		return 1;
	case '>':
		if (s[1] == '=') { *kind = WQL_T_GE; return 2; }
		*kind = WQL_T_GT;
		return 1;
	default:
		return 0;
	}
}

uint32_t wql_lex_next(wql_lexer *lex, wql_token *tok, rdms_error *err)
{
	const char *s = lex->text;
	unsigned char c;
	size_t n;

	while (s[lex->pos] == ' ' || s[lex->pos] == '\t' || s[lex->pos] == '\r' ||
	       s[lex->pos] == '\n')
		lex->pos++;
	memset(tok, 0, sizeof *tok);
	tok->col = lex->pos + 1;
	tok->start = s + lex->pos;
	c = (unsigned char)s[lex->pos];

	if (c == '\0') {
		tok->kind = WQL_T_END;
		return 0;
	}
	if (is_ident_start(c)) {
		n = lex->pos;
		while (is_ident_char((unsigned char)s[n]))
			n++;
		tok->len = n - lex->pos;
		tok->kind = keyword_kind(tok->start, tok->len);
		lex->pos = n;
		return 0;
	}
	if (c == '\'' || c == '"') {
		uint32_t rc = lex_string(lex, tok, err);

		tok->len = (s + lex->pos) - tok->start;
		return rc;
	}
	if (is_digit(c) || ((c == '-' || c == '+') && is_digit((unsigned char)s[lex->pos + 1]))) {
		uint32_t rc = lex_number(lex, tok, err);

		tok->len = (s + lex->pos) - tok->start;
		return rc;
	}
	if ((n = lex_operator(s + lex->pos, &tok->kind)) != 0) {
		tok->len = n;
		lex->pos += n;
		return 0;
	}
	if (c >= 0x20 && c < 0x7f)
		return rdms_fail(err, WBEM_E_INVALID_QUERY,
		                 "unexpected character '%c' at column %zu", c, tok->col);
	return rdms_fail(err, WBEM_E_INVALID_QUERY,
	                 "unexpected byte 0x%02X at column %zu", c, tok->col);
}

const char *wql_tok_describe(const wql_token *tok, char *buf, size_t size)
{
	if (tok->kind == WQL_T_END) {
		snprintf(buf, size, "end of query");
		return buf;
	}
	/* String tokens show their own quotes; long ones are cut to stay readable. */
	if (tok->kind == WQL_T_STRING && tok->len > 32)
		snprintf(buf, size, "%.29s...", tok->start);
	else if (tok->kind == WQL_T_STRING)
		snprintf(buf, size, "%.*s", (int)tok->len, tok->start);
	else if (tok->len > 32)
		snprintf(buf, size, "'%.29s...'", tok->start);
	else
		snprintf(buf, size, "'%.*s'", (int)tok->len, tok->start);
	return buf;
}
