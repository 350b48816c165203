/*
 * class.c -- lookups in a class definition and its MOF text form.
 *
 * Names compare case-insensitively, as everywhere in WMI.  cim_class_to_mof
 * writes the class back in the layout of schema/RDManagement.mof so that
 * `rdms class --mof` shows what the table was compiled from; the unit test
 * re-parses its output with mof_parse to prove nothing is lost.
 */
#include "class.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../common/strutil.h"

const cim_property *cim_class_property(const cim_class *c, const char *name,
                                       size_t *index)
{
	if (c == NULL || name == NULL)
		return NULL;
	for (size_t i = 0; i < c->nprops; i++) {
		if (strcasecmp(c->props[i].name, name) == 0) {
			if (index != NULL)
				*index = i;
			return &c->props[i];
		}
	}
	return NULL;
}

const cim_method *cim_class_method(const cim_class *c, const char *name)
{
	if (c == NULL || name == NULL)
		return NULL;
	for (size_t i = 0; i < c->nmethods; i++)
		if (strcasecmp(c->methods[i].name, name) == 0)
			return &c->methods[i];
	return NULL;
}

const cim_parameter *cim_method_parameter(const cim_method *m, const char *name)
{
	if (m == NULL || name == NULL)
		return NULL;
	for (size_t i = 0; i < m->nparams; i++)
		if (strcasecmp(m->params[i].name, name) == 0)
			return &m->params[i];
	return NULL;
}

size_t cim_class_nkeys(const cim_class *c)
{
	size_t n = 0;

	for (size_t i = 0; c != NULL && i < c->nprops; i++)
		if (c->props[i].is_key)
			n++;
	return n;
}

/* ---- MOF output ----------------------------------------------------------- */

/* A MOF string literal: quotes, with \\ \" and control characters escaped. */
static void put_mof_string(strbuf *b, const char *s)
{
	strbuf_puts(b, "\"");
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			strbuf_printf(b, "\\%c", c);
		} else if (c == '\n') {
			strbuf_puts(b, "\\n");
		} else if (c == '\t') {
			strbuf_puts(b, "\\t");
		} else if (c < 0x20 || c == 0x7F) {
			strbuf_printf(b, "\\x%04X", c);
		} else {
			strbuf_append(b, s, 1);
		}
	}
	strbuf_puts(b, "\"");
}

static bool has_qual(const cim_qualifier *q, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcasecmp(q[i].name, name) == 0)
			return true;
	return false;
}

/*
 * "[a, b(v)] " for a qualifier list.  IMPLIED names flags that the
 * structure holds (is_key, is_in, is_out) but the list may lack, as in a
 * hand-built class; they are written first.
 */
static void put_quals(strbuf *b, const cim_qualifier *q, size_t n,
                      const char *const *implied, size_t nimplied)
{
	bool first = true;

	for (size_t i = 0; i < nimplied; i++) {
		if (has_qual(q, n, implied[i]))
			continue;
		strbuf_printf(b, "%s%s", first ? "[" : ", ", implied[i]);
		first = false;
	}
	for (size_t i = 0; i < n; i++) {
		strbuf_printf(b, "%s%s", first ? "[" : ", ", q[i].name);
		first = false;
		/* A flag, or a hand-built qualifier without a value, is just its name. */
		if (q[i].value == NULL ||
		    (q[i].type == CIM_TYPE_BOOLEAN && strcmp(q[i].value, "true") == 0))
			continue;
		strbuf_puts(b, "(");
		if (q[i].type == CIM_TYPE_STRING || q[i].type == CIM_TYPE_DATETIME)
			put_mof_string(b, q[i].value);
		else
			strbuf_puts(b, q[i].value);
		strbuf_puts(b, ")");
	}
	if (!first)
		strbuf_puts(b, "] ");
}

/* "void" for a method without a return value. */
static const char *mof_type(cim_type t)
{
	return t == CIM_TYPE_NONE ? "void" : cim_type_name(t);
}

/* "root/cimv2/rdms" -> #pragma namespace("\\\\.\\root\\cimv2\\rdms") */
static void put_pragma(strbuf *b, const char *ns)
{
	while (*ns == '/' || *ns == '\\')
		ns++;
	/* The MOF string \\.\ns, each backslash doubled by MOF escaping. */
	strbuf_puts(b, "#pragma namespace(\"\\\\\\\\.\\\\");
	for (; *ns != '\0'; ns++) {
		if (*ns == '/' || *ns == '\\')
			strbuf_puts(b, "\\\\");
		else if (*ns == '"')
			strbuf_puts(b, "\\\"");
		else
			strbuf_append(b, ns, 1);
	}
	strbuf_puts(b, "\")\n\n");
}

static void put_method(strbuf *b, const cim_method *m)
{
	strbuf_puts(b, "  ");
	put_quals(b, m->quals, m->nquals, NULL, 0);
	strbuf_printf(b, "%s %s(", mof_type(m->return_type), m->name);
	for (size_t j = 0; j < m->nparams; j++) {
		const cim_parameter *p = &m->params[j];
		const char *implied[2];
		size_t n = 0;

		if (p->is_in)
			implied[n++] = "in";
		if (p->is_out)
			implied[n++] = "out";
		strbuf_puts(b, j == 0 ? "\n    " : ",\n    ");
		put_quals(b, p->quals, p->nquals, implied, n);
		strbuf_printf(b, "%s %s", cim_type_name(p->type), p->name);
	}
	strbuf_puts(b, m->nparams > 0 ? "\n  );\n" : ");\n");
}

char *cim_class_to_mof(const cim_class *c)
{
	static const char *const key[] = { "key" };
	strbuf b = { 0 };

	if (c == NULL)
		return NULL;
	if (c->namespace_ != NULL)
		put_pragma(&b, c->namespace_);
	if (c->nquals > 0) {
		put_quals(&b, c->quals, c->nquals, NULL, 0);
		if (!b.failed && b.len > 0)   /* the qualifiers stand on their own line */
			b.data[--b.len] = '\0';
		strbuf_puts(&b, "\n");
	}
	strbuf_printf(&b, "class %s", c->name);
	if (c->superclass != NULL)
		strbuf_printf(&b, " : %s", c->superclass);
	strbuf_puts(&b, "\n{\n");
	for (size_t i = 0; i < c->nprops; i++) {
		const cim_property *p = &c->props[i];

		strbuf_puts(&b, "  ");
		put_quals(&b, p->quals, p->nquals, key, p->is_key ? 1 : 0);
		strbuf_printf(&b, "%s %s;\n", cim_type_name(p->type), p->name);
	}
	if (c->nprops > 0 && c->nmethods > 0)
		strbuf_puts(&b, "\n");
	for (size_t i = 0; i < c->nmethods; i++)
		put_method(&b, &c->methods[i]);
	strbuf_puts(&b, "};\n");
	return strbuf_take(&b);
}
