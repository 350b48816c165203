/*
 * path.c -- WMI object paths: parse, format, bind to a class.
 *
 *   [\\host\ns:|//host/ns:|ns:]Class[.Key=value{,Key=value}|=value]
 *
 * Parsing is purely syntactic: it knows nothing of classes, so a value is
 * typed by how it is written (quoted -> STRING, digits -> UINT32, a minus
 * sign -> SINT32, TRUE/FALSE -> BOOLEAN).  cim_path_bind then checks the
 * result against a class and converts each value to the declared key type,
 * accepting a quoted number for an integer key as WMI does.
 *
 * WMI paths contain no whitespace; rather than skipping it we stop at it
 * and say so, because a space in a path usually means bad shell quoting
 * and the user wants to know where.  Every error is WBEM_E_INVALID_OBJECT_PATH
 * with the 1-based column of the offending character.
 */
#include "path.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../common/strutil.h"

#define PATH_MAX_LEN  8192   /* WBEM_MAX_PATH */
#define PATH_MAX_NAME 255    /* WBEM_E_*_NAME_TOO_WIDE beyond this */
#define PATH_MAX_KEYS 1024   /* WBEM_MAX_USER_PROPERTIES */

struct pstate {
	const char *s;
	size_t      i;
	rdms_error *err;
};

static bool is_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static bool is_sep(int c)
{
	return c == '/' || c == '\\';
}

static bool is_space(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static int cur(const struct pstate *ps)
{
	return (unsigned char)ps->s[ps->i];
}

/*
 * Fails at column AT with "WHAT at column N".  Whitespace or the end of
 * the path at that place is named instead of leaving the reader to guess.
 */
static uint32_t syntax(struct pstate *ps, size_t at, const char *what)
{
	int c = (unsigned char)ps->s[at];

	if (is_space(c))
		return rdms_fail(ps->err, WBEM_E_INVALID_OBJECT_PATH,
		                 "%s at column %zu, found whitespace (object paths contain no spaces)",
		                 what, at + 1);
	if (c == '\0')
		return rdms_fail(ps->err, WBEM_E_INVALID_OBJECT_PATH,
		                 "%s at column %zu, found end of path", what, at + 1);
	if (c > 0x20 && c < 0x7F)
		return rdms_fail(ps->err, WBEM_E_INVALID_OBJECT_PATH,
		                 "%s at column %zu, found '%c'", what, at + 1, c);
	return rdms_fail(ps->err, WBEM_E_INVALID_OBJECT_PATH,
	                 "%s at column %zu, found byte 0x%02X", what, at + 1, (unsigned)c);
}

static uint32_t nomem(struct pstate *ps)
{
	return rdms_fail(ps->err, WBEM_E_OUT_OF_MEMORY, "out of memory");
}

/* Length of the identifier at the cursor (0 when none). */
static size_t ident_len(const struct pstate *ps)
{
	size_t n = 0;

	if (!is_alpha(cur(ps)))
		return 0;
	while (is_alpha((unsigned char)ps->s[ps->i + n]) || is_digit((unsigned char)ps->s[ps->i + n]))
		n++;
	return n;
}

/* ---- prefix: host and namespace ------------------------------------------- */

/* Copies the namespace S[0..N) with '/' separators, no leading separator. */
static uint32_t take_namespace(struct pstate *ps, size_t start, size_t n, char **out)
{
	size_t i = start, end = start + n, o = 0;
	char *ns;

	if (i < end && is_sep((unsigned char)ps->s[i]))
		i++;
	if ((ns = malloc(n + 1)) == NULL)
		return nomem(ps);
	for (;;) {
		size_t seg = i;

		while (i < end && (is_alpha((unsigned char)ps->s[i]) || is_digit((unsigned char)ps->s[i])))
			ns[o++] = ps->s[i++];
		if (i == seg) {
			free(ns);
			return syntax(ps, i, "expected a namespace name");
		}
		if (i == end)
			break;
		if (!is_sep((unsigned char)ps->s[i])) {
			free(ns);
			return syntax(ps, i, "invalid character in namespace");
		}
		ns[o++] = '/';
		i++;
	}
	ns[o] = '\0';
	*out = ns;
	return WBEM_S_NO_ERROR;
}

/* \\host\ns: or //host/ns: -- the cursor is on the first separator. */
static uint32_t parse_host_prefix(struct pstate *ps, cim_path *out)
{
	size_t start, n;

	ps->i += 2;
	start = ps->i;
	while (cur(ps) != '\0' && !is_sep(cur(ps)) && cur(ps) != ':' && cur(ps) != '"' &&
	       cur(ps) > 0x20 && cur(ps) != 0x7F)
		ps->i++;
	if (ps->i == start)
		return syntax(ps, ps->i, "expected a host name after the leading separators");
	if (!is_sep(cur(ps)))
		return syntax(ps, ps->i, "expected '\\' or '/' after the host name");
	if ((out->host = strndup(ps->s + start, ps->i - start)) == NULL)
		return nomem(ps);
	start = ps->i;
	n = strcspn(ps->s + start, ":.=\"'");
	if (ps->s[start + n] != ':')
		return syntax(ps, start + n, "expected ':' after the namespace");
	if (n == 1)
		return syntax(ps, start + 1, "expected a namespace name");
	ps->i = start + n + 1;
	return take_namespace(ps, start, n, &out->namespace_);
}

/* [\\host\ns: | //host/ns: | ns:] -- nothing when the path starts with the class. */
static uint32_t parse_prefix(struct pstate *ps, cim_path *out)
{
	size_t n = 0;

	if (is_sep(cur(ps)) && is_sep((unsigned char)ps->s[1]))
		return parse_host_prefix(ps, out);
	while (is_alpha((unsigned char)ps->s[n]) || is_digit((unsigned char)ps->s[n]) ||
	       is_sep((unsigned char)ps->s[n]))
		n++;
	if (ps->s[n] != ':')
		return WBEM_S_NO_ERROR;
	if (n == 0)
		return syntax(ps, 0, "expected a namespace before ':'");
	ps->i = n + 1;
	return take_namespace(ps, 0, n, &out->namespace_);
}

/* ---- key values -------------------------------------------------------------- */

/* "..." or '...' with \" \' \\ escapes. */
static uint32_t parse_string(struct pstate *ps, cim_value *v)
{
	size_t open = ps->i;
	char quote = ps->s[ps->i++];
	strbuf b = { 0 };

	for (;;) {
		int c = cur(ps);

		if (c == '\0') {
			strbuf_free(&b);
			return rdms_fail(ps->err, WBEM_E_INVALID_OBJECT_PATH,
			                 "unterminated string at column %zu", open + 1);
		}
		if (c < 0x20 || c == 0x7F) {
			strbuf_free(&b);
			return rdms_fail(ps->err, WBEM_E_INVALID_OBJECT_PATH,
			                 "control character 0x%02X in string at column %zu",
			                 (unsigned)c, ps->i + 1);
		}
		if (c == quote) {
			ps->i++;
			break;
		}
		if (c == '\\') {
			int e = (unsigned char)ps->s[ps->i + 1];

			if (e == '\0') {
				strbuf_free(&b);
				return rdms_fail(ps->err, WBEM_E_INVALID_OBJECT_PATH,
				                 "unterminated string at column %zu", open + 1);
			}
			if (e != '"' && e != '\\' && e != quote) {
				strbuf_free(&b);
				return rdms_fail(ps->err, WBEM_E_INVALID_OBJECT_PATH,
				                 "invalid escape at column %zu (only \\\" and \\\\ are allowed in a string)",
				                 ps->i + 1);
			}
			ps->i++;
			c = e;
		}
		{
			char ch = (char)c;

			strbuf_append(&b, &ch, 1);
		}
		ps->i++;
	}
	v->type = CIM_TYPE_STRING;
	v->is_null = false;
	if ((v->u.str = strbuf_take(&b)) == NULL) {
		*v = cim_null(CIM_TYPE_STRING);
		return nomem(ps);
	}
	return WBEM_S_NO_ERROR;
}

/* [+-]digits: UINT32 when positive, SINT32 when negative. */
static uint32_t parse_integer(struct pstate *ps, cim_value *v)
{
	size_t start = ps->i, n;
	bool neg = false;
	unsigned long long x = 0;

	if (cur(ps) == '+' || cur(ps) == '-') {
		neg = cur(ps) == '-';
		ps->i++;
	}
	n = 0;
	while (is_alpha((unsigned char)ps->s[ps->i + n]) || is_digit((unsigned char)ps->s[ps->i + n]))
		n++;
	if (n == 0)
		return syntax(ps, ps->i, "expected digits after the sign");
	for (size_t k = 0; k < n; k++) {
		int c = (unsigned char)ps->s[ps->i + k];

		if (!is_digit(c))
			return rdms_fail(ps->err, WBEM_E_INVALID_OBJECT_PATH,
			                 "invalid integer '%.*s' at column %zu",
			                 (int)(ps->i + n - start), ps->s + start, start + 1);
		if (x <= 0xFFFFFFFFull)
			x = x * 10 + (unsigned)(c - '0');
	}
	if ((!neg && x > 0xFFFFFFFFull) || (neg && x > 0x80000000ull))
		return rdms_fail(ps->err, WBEM_E_INVALID_OBJECT_PATH,
		                 "integer '%.*s' at column %zu is out of the 32-bit range",
		                 (int)(ps->i + n - start), ps->s + start, start + 1);
	ps->i += n;
	*v = neg ? cim_s32((int32_t)-(long long)x) : cim_u32((uint32_t)x);
	return WBEM_S_NO_ERROR;
}

static uint32_t parse_value(struct pstate *ps, cim_value *v)
{
	int c = cur(ps);
	size_t n;

	if (c == '"' || c == '\'')
		return parse_string(ps, v);
	if (is_digit(c) || c == '+' || c == '-')
		return parse_integer(ps, v);
	n = ident_len(ps);
	if (n == 4 && strncasecmp(ps->s + ps->i, "true", 4) == 0) {
		*v = cim_bool(true);
	} else if (n == 5 && strncasecmp(ps->s + ps->i, "false", 5) == 0) {
		*v = cim_bool(false);
	} else if (c == '@') {
		return rdms_fail(ps->err, WBEM_E_INVALID_OBJECT_PATH,
		                 "singleton paths (Class=@) are not supported (column %zu)",
		                 ps->i + 1);
	} else {
		return syntax(ps, ps->i,
		              "expected a key value (quoted string, integer, TRUE or FALSE)");
	}
	ps->i += n;
	return WBEM_S_NO_ERROR;
}

/* ---- key bindings ------------------------------------------------------------ */

static uint32_t add_key(struct pstate *ps, cim_path *out, size_t *cap, char *name)
{
	cim_keybinding *k;

	if (out->nkeys >= PATH_MAX_KEYS) {
		free(name);
		return rdms_fail(ps->err, WBEM_E_INVALID_OBJECT_PATH, "too many keys in path");
	}
	if (out->nkeys == *cap) {
		size_t ncap = *cap ? *cap * 2 : 4;

		k = realloc(out->keys, ncap * sizeof *k);
		if (k == NULL) {
			free(name);
			return nomem(ps);
		}
		out->keys = k;
		*cap = ncap;
	}
	out->keys[out->nkeys].name = name;
	out->keys[out->nkeys].value = cim_null(CIM_TYPE_NONE);
	out->nkeys++;
	return WBEM_S_NO_ERROR;
}

/* Key=value{,Key=value} up to the end of the path. */
static uint32_t parse_keys(struct pstate *ps, cim_path *out)
{
	size_t cap = 0;
	uint32_t rc;

	for (;;) {
		size_t at = ps->i, n = ident_len(ps);
		char *name;

		if (n == 0) {
			if (cur(ps) == '\0' || cur(ps) == ',' || cur(ps) == '=')
				return rdms_fail(ps->err, WBEM_E_INVALID_OBJECT_PATH,
				                 "empty key name at column %zu", at + 1);
			return syntax(ps, at, "expected a key name");
		}
		if (n > PATH_MAX_NAME)
			return rdms_fail(ps->err, WBEM_E_INVALID_OBJECT_PATH,
			                 "key name longer than %d characters at column %zu",
			                 PATH_MAX_NAME, at + 1);
		for (size_t k = 0; k < out->nkeys; k++)
			if (strlen(out->keys[k].name) == n &&
			    strncasecmp(out->keys[k].name, ps->s + at, n) == 0)
				return rdms_fail(ps->err, WBEM_E_INVALID_OBJECT_PATH,
				                 "duplicate key %.*s at column %zu", (int)n, ps->s + at,
				                 at + 1);
		if ((name = strndup(ps->s + at, n)) == NULL)
			return nomem(ps);
		if ((rc = add_key(ps, out, &cap, name)) != WBEM_S_NO_ERROR)
			return rc;
		ps->i += n;
		if (cur(ps) != '=')
			return syntax(ps, ps->i, "expected '=' after key name");
		ps->i++;
		if ((rc = parse_value(ps, &out->keys[out->nkeys - 1].value)) != WBEM_S_NO_ERROR)
			return rc;
		if (cur(ps) == '\0')
			return WBEM_S_NO_ERROR;
		if (cur(ps) != ',')
			return syntax(ps, ps->i, "expected ',' or the end of the path after a key value");
		ps->i++;
	}
}

/*
 * A path is taken only if its canonical text (cim_path_format: keys in
 * double quotes, '"' and '\\' escaped) fits PATH_MAX_LEN as well: a
 * single-quoted value full of '"' is shorter than its canonical form, and
 * every path rdms writes (replies, the audit trail) must parse again.
 */
static uint32_t check_canonical_length(const cim_path *p, rdms_error *err)
{
	char *text = cim_path_format(p);
	size_t n;

	if (text == NULL)
		return rdms_fail(err, WBEM_E_OUT_OF_MEMORY, "out of memory");
	n = strlen(text);
	free(text);
	if (n > PATH_MAX_LEN)
		return rdms_fail(err, WBEM_E_INVALID_OBJECT_PATH,
		                 "object path longer than %d characters once its quotes are escaped (%zu)",
		                 PATH_MAX_LEN, n);
	return WBEM_S_NO_ERROR;
}

uint32_t cim_path_parse(const char *text, cim_path *out, rdms_error *err)
{
	struct pstate ps = { .s = text, .i = 0, .err = err };
	uint32_t rc;
	size_t n;

	memset(out, 0, sizeof *out);
	rdms_error_clear(err);
	if (text == NULL || *text == '\0')
		return rdms_fail(err, WBEM_E_INVALID_OBJECT_PATH, "empty object path");
	if (strnlen(text, PATH_MAX_LEN + 1) > PATH_MAX_LEN)
		return rdms_fail(err, WBEM_E_INVALID_OBJECT_PATH,
		                 "object path longer than %d characters", PATH_MAX_LEN);
	if ((rc = parse_prefix(&ps, out)) != WBEM_S_NO_ERROR)
		goto fail;
	n = ident_len(&ps);
	if (n == 0) {
		if (cur(&ps) == '\0' || cur(&ps) == '.' || cur(&ps) == '=')
			rc = rdms_fail(err, WBEM_E_INVALID_OBJECT_PATH,
			               "missing class name at column %zu", ps.i + 1);
		else
			rc = syntax(&ps, ps.i, "expected a class name");
		goto fail;
	}
	if (n > PATH_MAX_NAME) {
		rc = rdms_fail(err, WBEM_E_INVALID_OBJECT_PATH,
		               "class name longer than %d characters", PATH_MAX_NAME);
		goto fail;
	}
	if ((out->class_name = strndup(text + ps.i, n)) == NULL) {
		rc = nomem(&ps);
		goto fail;
	}
	ps.i += n;
	if (cur(&ps) == '.') {
		ps.i++;
		rc = parse_keys(&ps, out);
	} else if (cur(&ps) == '=') {
		size_t cap = 0;
		char *empty = strdup("");

		ps.i++;
		if (empty == NULL)
			rc = nomem(&ps);
		else if ((rc = add_key(&ps, out, &cap, empty)) == WBEM_S_NO_ERROR &&
		         (rc = parse_value(&ps, &out->keys[0].value)) == WBEM_S_NO_ERROR &&
		         cur(&ps) != '\0')
			rc = syntax(&ps, ps.i, "expected the end of the path after the key value");
	} else if (cur(&ps) != '\0') {
		rc = syntax(&ps, ps.i, "expected '.' or '=' after the class name");
	}
	if (rc == WBEM_S_NO_ERROR)
		rc = check_canonical_length(out, err);
	if (rc == WBEM_S_NO_ERROR)
		return rc;
fail:
	cim_path_free(out);
	return rc;
}

void cim_path_free(cim_path *p)
{
	if (p == NULL)
		return;
	for (size_t i = 0; i < p->nkeys; i++) {
		free(p->keys[i].name);
		cim_value_clear(&p->keys[i].value);
	}
	free(p->keys);
	free(p->host);
	free(p->namespace_);
	free(p->class_name);
	memset(p, 0, sizeof *p);
}

/* ---- formatting ----------------------------------------------------------------- */

/* A key value as it is written in a path; a NULL shows as "". */
static void put_value(strbuf *b, const cim_value *v)
{
	if (v->is_null) {
		strbuf_puts(b, "\"\"");
		return;
	}
	switch (v->type) {
	case CIM_TYPE_UINT32:
		strbuf_printf(b, "%" PRIu32, v->u.u32);
		break;
	case CIM_TYPE_SINT32:
		strbuf_printf(b, "%" PRId32, v->u.s32);
		break;
	case CIM_TYPE_BOOLEAN:
		strbuf_puts(b, v->u.boolean ? "TRUE" : "FALSE");
		break;
	case CIM_TYPE_STRING:
	case CIM_TYPE_DATETIME:
		strbuf_puts(b, "\"");
		for (const char *s = v->u.str; *s != '\0'; s++) {
			if (*s == '"' || *s == '\\')
				strbuf_puts(b, "\\");
			strbuf_append(b, s, 1);
		}
		strbuf_puts(b, "\"");
		break;
	case CIM_TYPE_NONE:
		strbuf_puts(b, "\"\"");
		break;
	}
}

char *cim_path_format(const cim_path *p)
{
	strbuf b = { 0 };

	if (p == NULL || p->class_name == NULL)
		return NULL;
	strbuf_puts(&b, p->class_name);
	for (size_t i = 0; i < p->nkeys; i++) {
		const char *name = p->keys[i].name ? p->keys[i].name : "";

		if (*name == '\0') {
			strbuf_puts(&b, "=");
		} else {
			strbuf_puts(&b, i == 0 ? "." : ",");
			strbuf_puts(&b, name);
			strbuf_puts(&b, "=");
		}
		put_value(&b, &p->keys[i].value);
	}
	return strbuf_take(&b);
}

char *cim_instance_path(const cim_class *cls, const cim_value *values)
{
	strbuf b = { 0 };
	bool first = true;

	if (cls == NULL || values == NULL)
		return NULL;
	strbuf_puts(&b, cls->name);
	for (size_t i = 0; i < cls->nprops; i++) {
		if (!cls->props[i].is_key)
			continue;
		strbuf_puts(&b, first ? "." : ",");
		strbuf_puts(&b, cls->props[i].name);
		strbuf_puts(&b, "=");
		put_value(&b, &values[i]);
		first = false;
	}
	return strbuf_take(&b);
}

/* ---- namespaces and binding ------------------------------------------------------ */

/* NS without leading and trailing separators: *len receives the length. */
static const char *ns_trim(const char *ns, size_t *len)
{
	size_t n;

	while (is_sep((unsigned char)*ns))
		ns++;
	n = strlen(ns);
	while (n > 0 && is_sep((unsigned char)ns[n - 1]))
		n--;
	*len = n;
	return ns;
}

bool cim_namespace_equal(const char *ns, const char *want)
{
	size_t na, nb;

	if (ns == NULL || want == NULL)
		return ns == want;
	ns = ns_trim(ns, &na);
	want = ns_trim(want, &nb);
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++) {
		int a = (unsigned char)ns[i], b = (unsigned char)want[i];

		if (is_sep(a) && is_sep(b))
			continue;
		if (a >= 'A' && a <= 'Z')
			a += 'a' - 'A';
		if (b >= 'A' && b <= 'Z')
			b += 'a' - 'A';
		if (a != b)
			return false;
	}
	return true;
}

/* Converts a path value V to the type of key property P. */
static uint32_t convert_key(const cim_property *p, const cim_value *v, cim_value *out,
                            rdms_error *err)
{
	char what[300];
	uint32_t rc;

	str_join(what, sizeof what, "key ", p->name);
	if (v->is_null)
		return rdms_fail(err, WBEM_E_ILLEGAL_NULL, "key %s is NULL", p->name);
	switch (p->type) {
	case CIM_TYPE_STRING:
	case CIM_TYPE_DATETIME:
		if (v->type != CIM_TYPE_STRING)
			return rdms_fail(err, WBEM_E_INVALID_OBJECT_PATH,
			                 "key %s must be a quoted string", p->name);
		break;
	case CIM_TYPE_UINT32:
		if (v->type == CIM_TYPE_UINT32)
			return cim_value_copy(out, v) ? 0 : rdms_fail(err, WBEM_E_OUT_OF_MEMORY, "out of memory");
		if (v->type == CIM_TYPE_SINT32)
			return rdms_fail(err, WBEM_E_INVALID_OBJECT_PATH,
			                 "key %s: %" PRId32 " is out of range for uint32",
			                 p->name, v->u.s32);
		break;
	case CIM_TYPE_SINT32:
		if (v->type == CIM_TYPE_SINT32)
			return cim_value_copy(out, v) ? 0 : rdms_fail(err, WBEM_E_OUT_OF_MEMORY, "out of memory");
		if (v->type == CIM_TYPE_UINT32) {
			if (v->u.u32 > INT32_MAX)
				return rdms_fail(err, WBEM_E_INVALID_OBJECT_PATH,
				                 "key %s: %" PRIu32 " is out of range for sint32",
				                 p->name, v->u.u32);
			*out = cim_s32((int32_t)v->u.u32);
			return WBEM_S_NO_ERROR;
		}
		break;
	case CIM_TYPE_BOOLEAN:
		if (v->type == CIM_TYPE_BOOLEAN)
			return cim_value_copy(out, v) ? 0 : rdms_fail(err, WBEM_E_OUT_OF_MEMORY, "out of memory");
		break;
	case CIM_TYPE_NONE:
		break;
	}
	if (v->type != CIM_TYPE_STRING)
		return rdms_fail(err, WBEM_E_INVALID_OBJECT_PATH, "key %s must be a %s",
		                 p->name, cim_type_name(p->type));
	/* A quoted value: WMI accepts "3" for an integer key. */
	rc = cim_value_parse(p->type, v->u.str, what, out, err);
	if (rc != WBEM_S_NO_ERROR && rc != WBEM_E_OUT_OF_MEMORY && err != NULL)
		err->code = WBEM_E_INVALID_OBJECT_PATH;
	return rc == WBEM_S_NO_ERROR || rc == WBEM_E_OUT_OF_MEMORY ? rc
	                                                           : WBEM_E_INVALID_OBJECT_PATH;
}

/* "VMHostName, SessionId" for messages. */
static void key_names(const cim_class *cls, char *buf, size_t size)
{
	size_t o = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < cls->nprops && o < size; i++) {
		if (!cls->props[i].is_key)
			continue;
		int n = snprintf(buf + o, size - o, "%s%s", o ? ", " : "", cls->props[i].name);

		if (n < 0)
			break;
		o += (size_t)n;
	}
}

/* Position among the keys of the key property at INDEX. */
static size_t key_ordinal(const cim_class *cls, size_t index)
{
	size_t k = 0;

	for (size_t i = 0; i < index; i++)
		if (cls->props[i].is_key)
			k++;
	return k;
}

/*
 * NAMES is written (key_names) only for a message: every Get binds a path,
 * and formatting the key list each time cost more than the binding.
 */
static uint32_t bind_keys(const cim_path *p, const cim_class *cls, cim_value *keys,
                          bool *seen, rdms_error *err)
{
	size_t nk = cim_class_nkeys(cls);
	char names[256];

	for (size_t i = 0; i < p->nkeys; i++) {
		const char *name = p->keys[i].name ? p->keys[i].name : "";
		const cim_property *prop;
		size_t idx = 0, k;
		uint32_t rc;

		if (*name == '\0') {
			if (nk != 1) {
				key_names(cls, names, sizeof names);
				return rdms_fail(err, WBEM_E_INVALID_OBJECT_PATH,
				                 "the shorthand %s=value needs a class with one key; "
				                 "%s has %zu (%s)", cls->name, cls->name, nk, names);
			}
			for (idx = 0; !cls->props[idx].is_key; idx++)
				;
			prop = &cls->props[idx];
		} else if ((prop = cim_class_property(cls, name, &idx)) == NULL) {
			key_names(cls, names, sizeof names);
			return rdms_fail(err, WBEM_E_INVALID_OBJECT_PATH,
			                 "unknown key %s: class %s has no such property (keys: %s)",
			                 name, cls->name, names);
		} else if (!prop->is_key) {
			key_names(cls, names, sizeof names);
			return rdms_fail(err, WBEM_E_INVALID_OBJECT_PATH,
			                 "%s is not a key of class %s (keys: %s)",
			                 prop->name, cls->name, names);
		}
		k = key_ordinal(cls, idx);
		if (seen[k])
			return rdms_fail(err, WBEM_E_INVALID_OBJECT_PATH,
			                 "key %s is given twice", prop->name);
		if ((rc = convert_key(prop, &p->keys[i].value, &keys[k], err)) != WBEM_S_NO_ERROR)
			return rc;
		seen[k] = true;
	}
	for (size_t i = 0; i < cls->nprops; i++) {
		if (cls->props[i].is_key && !seen[key_ordinal(cls, i)]) {
			key_names(cls, names, sizeof names);
			return rdms_fail(err, WBEM_E_INVALID_OBJECT_PATH,
			                 "missing key %s: class %s needs %s",
			                 cls->props[i].name, cls->name, names);
		}
	}
	return WBEM_S_NO_ERROR;
}

uint32_t cim_path_bind(const cim_path *p, const cim_class *cls, cim_value *keys,
                       rdms_error *err)
{
	size_t nk = cim_class_nkeys(cls);
	bool few[16] = { false }, *seen = few;   /* a class of few keys needs no allocation */
	uint32_t rc;

	rdms_error_clear(err);
	/* Typed NULLs first, so the caller may clear KEYS whatever happens. */
	for (size_t i = 0, k = 0; i < cls->nprops; i++)
		if (cls->props[i].is_key)
			keys[k++] = cim_null(cls->props[i].type);
	if (p->namespace_ != NULL && cls->namespace_ != NULL &&
	    !cim_namespace_equal(p->namespace_, cls->namespace_))
		return rdms_fail(err, WBEM_E_INVALID_NAMESPACE,
		                 "namespace %s does not hold class %s (it is in %s)",
		                 p->namespace_, cls->name, cls->namespace_);
	if (p->class_name == NULL || strcasecmp(p->class_name, cls->name) != 0)
		return rdms_fail(err, WBEM_E_INVALID_CLASS, "path names class %s, expected %s",
		                 p->class_name ? p->class_name : "(none)", cls->name);
	if (nk >= sizeof few / sizeof few[0] && (seen = calloc(nk + 1, sizeof *seen)) == NULL)
		return rdms_fail(err, WBEM_E_OUT_OF_MEMORY, "out of memory");
	rc = bind_keys(p, cls, keys, seen, err);
	if (seen != few)
		free(seen);
	if (rc != WBEM_S_NO_ERROR)
		for (size_t k = 0; k < nk; k++)
			cim_value_clear(&keys[k]);
	return rc;
}
