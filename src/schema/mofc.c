/*
 * mofc.c -- the build-time MOF compiler:
 *
 *   mofc INPUT.mof OUT_TABLE.c OUT_PROPS.h
 *
 * It parses the MOF with mof_parse() and writes the class table as static
 * C data (schema_table.c) plus a header of index constants
 * (schema_props.h), so that the one MOF file is the only place a property
 * is declared and code that fills instances by index stops compiling when
 * the MOF changes.  Every generated name is checked for collisions, and
 * output files are removed again when writing fails, so the build never
 * picks up half a table.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../cim/class.h"
#include "../cim/wbem.h"
#include "../common/strutil.h"
#include "mof.h"

#define MOFC_MAX_INPUT (16u * 1024 * 1024)

static const char *progname = "mofc";

/* Reads all of PATH; NULL (message printed) on failure. */
static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	strbuf b = { 0 };
	char chunk[8192];
	size_t n;

	if (f == NULL) {
		fprintf(stderr, "%s: %s: %s\n", progname, path, strerror(errno));
		return NULL;
	}
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0 && b.len <= MOFC_MAX_INPUT)
		strbuf_append(&b, chunk, n);
	if (ferror(f) || b.len > MOFC_MAX_INPUT || b.failed) {
		fprintf(stderr, "%s: %s: %s\n", progname, path,
		        ferror(f) ? "read error" : b.failed ? "out of memory" : "file too large");
		fclose(f);
		strbuf_free(&b);
		return NULL;
	}
	fclose(f);
	*len = b.len;
	return strbuf_take(&b);
}

/* ---- C text helpers ---------------------------------------------------------- */

/* S as a C string literal; '?' is escaped so no trigraph can form. */
static void put_c_string(FILE *f, const char *s, size_t n)
{
	fputc('"', f);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\' || c == '?')
			fprintf(f, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", f);
		else if (c == '\t')
			fputs("\\t", f);
		else if (c < 0x20 || c >= 0x7F)
			fprintf(f, "\\%03o", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static void put_c_str(FILE *f, const char *s)
{
	if (s == NULL)
		fputs("NULL", f);
	else
		put_c_string(f, s, strlen(s));
}

static const char *type_enum(cim_type t)
{
	switch (t) {
	case CIM_TYPE_STRING:   return "CIM_TYPE_STRING";
	case CIM_TYPE_UINT32:   return "CIM_TYPE_UINT32";
	case CIM_TYPE_SINT32:   return "CIM_TYPE_SINT32";
	case CIM_TYPE_BOOLEAN:  return "CIM_TYPE_BOOLEAN";
	case CIM_TYPE_DATETIME: return "CIM_TYPE_DATETIME";
	case CIM_TYPE_NONE:     break;
	}
	return "CIM_TYPE_NONE";
}

/* ---- schema_table.c ----------------------------------------------------------- */

/* static const cim_qualifier NAME[] = {...}; nothing when N is 0. */
static void put_quals(FILE *f, const char *name, const cim_qualifier *q, size_t n)
{
	if (n == 0)
		return;
	fprintf(f, "static const cim_qualifier %s[] = {\n", name);
	for (size_t i = 0; i < n; i++) {
		fputs("\t{ ", f);
		put_c_str(f, q[i].name);
		fprintf(f, ", %s, ", type_enum(q[i].type));
		put_c_str(f, q[i].value);
		fputs(" },\n", f);
	}
	fputs("};\n", f);
}

static void put_methods(FILE *f, size_t ci, const cim_class *c)
{
	char name[96];   /* "c%zu_m%zu_p%zu_quals" with three 20-digit numbers */

	for (size_t m = 0; m < c->nmethods; m++) {
		const cim_method *me = &c->methods[m];

		snprintf(name, sizeof name, "c%zu_m%zu_quals", ci, m);
		put_quals(f, name, me->quals, me->nquals);
		for (size_t p = 0; p < me->nparams; p++) {
			snprintf(name, sizeof name, "c%zu_m%zu_p%zu_quals", ci, m, p);
			put_quals(f, name, me->params[p].quals, me->params[p].nquals);
		}
		if (me->nparams == 0)
			continue;
		fprintf(f, "static const cim_parameter c%zu_m%zu_params[] = {\n", ci, m);
		for (size_t p = 0; p < me->nparams; p++) {
			const cim_parameter *pa = &me->params[p];

			fputs("\t{ .name = ", f);
			put_c_str(f, pa->name);
			fprintf(f, ", .type = %s, .is_in = %s, .is_out = %s,\n\t  .nquals = ",
			        type_enum(pa->type), pa->is_in ? "true" : "false",
			        pa->is_out ? "true" : "false");
			snprintf(name, sizeof name, "c%zu_m%zu_p%zu_quals", ci, m, p);
			fprintf(f, "%zu, .quals = %s },\n", pa->nquals, pa->nquals ? name : "NULL");
		}
		fputs("};\n", f);
	}
	if (c->nmethods == 0)
		return;
	fprintf(f, "static const cim_method c%zu_methods[] = {\n", ci);
	for (size_t m = 0; m < c->nmethods; m++) {
		const cim_method *me = &c->methods[m];

		fputs("\t{ .name = ", f);
		put_c_str(f, me->name);
		fprintf(f, ", .return_type = %s,\n\t  .nparams = ", type_enum(me->return_type));
		snprintf(name, sizeof name, "c%zu_m%zu_params", ci, m);
		fprintf(f, "%zu, .params = %s, ", me->nparams, me->nparams ? name : "NULL");
		snprintf(name, sizeof name, "c%zu_m%zu_quals", ci, m);
		fprintf(f, ".nquals = %zu, .quals = %s },\n", me->nquals, me->nquals ? name : "NULL");
	}
	fputs("};\n", f);
}

static void put_class(FILE *f, size_t ci, const cim_class *c)
{
	char name[96];   /* "c%zu_m%zu_p%zu_quals" with three 20-digit numbers */

	fprintf(f, "\n/* ---- %s ---- */\n\n", c->name);
	snprintf(name, sizeof name, "c%zu_quals", ci);
	put_quals(f, name, c->quals, c->nquals);
	for (size_t p = 0; p < c->nprops; p++) {
		snprintf(name, sizeof name, "c%zu_p%zu_quals", ci, p);
		put_quals(f, name, c->props[p].quals, c->props[p].nquals);
	}
	if (c->nprops > 0) {
		fprintf(f, "static const cim_property c%zu_props[] = {\n", ci);
		for (size_t p = 0; p < c->nprops; p++) {
			const cim_property *pr = &c->props[p];

			fputs("\t{ .name = ", f);
			put_c_str(f, pr->name);
			fprintf(f, ", .type = %s, .is_key = %s,\n\t  .nquals = ",
			        type_enum(pr->type), pr->is_key ? "true" : "false");
			snprintf(name, sizeof name, "c%zu_p%zu_quals", ci, p);
			fprintf(f, "%zu, .quals = %s },\n", pr->nquals, pr->nquals ? name : "NULL");
		}
		fputs("};\n", f);
	}
	put_methods(f, ci, c);
	fprintf(f, "\nconst cim_class rdms_class_%s = {\n\t.name = ", c->name);
	put_c_str(f, c->name);
	fputs(",\n\t.superclass = ", f);
	put_c_str(f, c->superclass);
	fputs(",\n\t.namespace_ = ", f);
	put_c_str(f, c->namespace_);
	snprintf(name, sizeof name, "c%zu_quals", ci);
	fprintf(f, ",\n\t.nquals = %zu, .quals = %s", c->nquals, c->nquals ? name : "NULL");
	snprintf(name, sizeof name, "c%zu_props", ci);
	fprintf(f, ",\n\t.nprops = %zu, .props = %s", c->nprops, c->nprops ? name : "NULL");
	snprintf(name, sizeof name, "c%zu_methods", ci);
	fprintf(f, ",\n\t.nmethods = %zu, .methods = %s,\n};\n", c->nmethods,
	        c->nmethods ? name : "NULL");
}

/* The file name without directories, so generated files do not depend on the build path. */
static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

static void write_table(FILE *f, const char *input, const mof_schema *s,
                        const char *src, size_t len)
{
	const char *ns = s->nclasses > 0 ? s->classes[0]->namespace_ : s->namespace_;

	fprintf(f, "/* Generated by mofc from %s -- do not edit. */\n", base_name(input));
	fputs("#include \"schema/schema.h\"\n\n#include <stdbool.h>\n#include <stddef.h>\n\n", f);
	fputs("const char rdms_schema_namespace[] = ", f);
	put_c_str(f, ns);
	fputs(";\n", f);
	for (size_t i = 0; i < s->nclasses; i++)
		put_class(f, i, s->classes[i]);
	fputs("\nconst cim_class *const rdms_schema_classes[] = {\n", f);
	for (size_t i = 0; i < s->nclasses; i++)
		fprintf(f, "\t&rdms_class_%s,\n", s->classes[i]->name);
	if (s->nclasses == 0)
		fputs("\tNULL,\n", f);
	fprintf(f, "};\nconst size_t rdms_schema_nclasses = %zu;\n\n", s->nclasses);
	fputs("const char rdms_schema_mof_source[] =", f);
	for (size_t i = 0; i < len;) {
		size_t n = 0;

		while (i + n < len && src[i + n] != '\n')
			n++;
		if (i + n < len)
			n++;   /* keep the newline in this line's literal */
		fputs("\n\t", f);
		put_c_string(f, src + i, n);
		i += n;
	}
	if (len == 0)
		fputs(" \"\"", f);
	fputs(";\n", f);
}

/* ---- schema_props.h ----------------------------------------------------------- */

/* The generated names, kept to detect two features mapping to one constant. */
struct names {
	char  **v;
	size_t  n;
	bool    failed;
	char   *clash;
};

static void upper(char *s)
{
	for (; *s != '\0'; s++)
		if (*s >= 'a' && *s <= 'z')
			*s = (char)(*s - 'a' + 'A');
}

/* Records the generated constant NAME, noting the first collision. */
static void note_name(struct names *nm, const char *name)
{
	char **v;

	for (size_t i = 0; i < nm->n; i++)
		if (strcmp(nm->v[i], name) == 0 && nm->clash == NULL)
			nm->clash = strdup(name);
	if ((v = realloc(nm->v, (nm->n + 1) * sizeof *v)) == NULL) {
		nm->failed = true;
		return;
	}
	nm->v = v;
	if ((v[nm->n] = strdup(name)) == NULL) {
		nm->failed = true;
		return;
	}
	nm->n++;
}

/* Writes "\tRDMS_A_B_C = VALUE,\n" (B and C optional) in upper case. */
static void put_const(FILE *f, struct names *nm, const char *a, const char *b,
                      const char *c, size_t value)
{
	char buf[1024];

	snprintf(buf, sizeof buf, "RDMS_%s%s%s%s%s", a, b ? "_" : "", b ? b : "",
	         c ? "_" : "", c ? c : "");
	upper(buf);
	fprintf(f, "\t%s = %zu,\n", buf, value);
	note_name(nm, buf);
}

/* Writes "#define RDMS_CLS_WHAT VALUE". */
static void put_define(FILE *f, struct names *nm, const char *cls, const char *what,
                       size_t value)
{
	char buf[1024];

	snprintf(buf, sizeof buf, "RDMS_%s_%s", cls, what);
	fprintf(f, "#define %s %zu\n", buf, value);
	note_name(nm, buf);
}

static void put_class_consts(FILE *f, struct names *nm, const cim_class *c)
{
	char lower[300], cls[300], meth[600];

	snprintf(cls, sizeof cls, "%s", c->name);
	snprintf(lower, sizeof lower, "%s", c->name);
	for (char *s = lower; *s != '\0'; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
	upper(cls);
	/* C has no empty enums: a class without properties or methods gets none. */
	if (c->nprops > 0) {
		fprintf(f, "\n/* %s: property indexes, in MOF order */\nenum rdms_%s_prop {\n",
		        c->name, lower);
		for (size_t p = 0; p < c->nprops; p++)
			put_const(f, nm, cls, c->props[p].name, NULL, p);
		fputs("};\n", f);
	}
	put_define(f, nm, cls, "NPROPS", c->nprops);
	put_define(f, nm, cls, "NKEYS", cim_class_nkeys(c));
	if (c->nmethods > 0) {
		fprintf(f, "\n/* %s: method indexes */\nenum rdms_%s_method {\n", c->name, lower);
		for (size_t m = 0; m < c->nmethods; m++)
			put_const(f, nm, cls, "METHOD", c->methods[m].name, m);
		fputs("};\n", f);
	}
	put_define(f, nm, cls, "NMETHODS", c->nmethods);
	for (size_t m = 0; m < c->nmethods; m++) {
		const cim_method *me = &c->methods[m];

		if (me->nparams == 0)
			continue;
		snprintf(meth, sizeof meth, "%s_METHOD_%s", cls, me->name);
		fprintf(f, "\n/* %s.%s: parameter indexes */\nenum {\n", c->name, me->name);
		for (size_t p = 0; p < me->nparams; p++)
			put_const(f, nm, meth, "PARAM", me->params[p].name, p);
		fputs("};\n", f);
	}
	fprintf(f, "\nextern const cim_class rdms_class_%s;\n", c->name);
}

/* False (message printed) when two generated names collide. */
static bool write_props(FILE *f, const char *input, const mof_schema *s)
{
	struct names nm = { 0 };
	bool ok;

	fprintf(f, "/* Generated by mofc from %s -- do not edit. */\n", base_name(input));
	fputs("#ifndef RDMS_SCHEMA_PROPS_H\n#define RDMS_SCHEMA_PROPS_H\n\n", f);
	fputs("#include \"cim/class.h\"\n", f);
	for (size_t i = 0; i < s->nclasses; i++)
		put_class_consts(f, &nm, s->classes[i]);
	fputs("\n#endif\n", f);
	ok = !nm.failed && nm.clash == NULL;
	if (nm.clash != NULL)
		fprintf(stderr, "%s: %s: two features map to the constant %s\n", progname, input,
		        nm.clash);
	else if (nm.failed)
		fprintf(stderr, "%s: out of memory\n", progname);
	for (size_t i = 0; i < nm.n; i++)
		free(nm.v[i]);
	free(nm.v);
	free(nm.clash);
	return ok;
}

/* ---- main -------------------------------------------------------------------------- */

/* The number PREFIX introduces at *P, moving *P past it; false if there is
 * none or it does not fit an int. */
static bool take_number(const char **p, const char *prefix, int *out)
{
	size_t n = strlen(prefix);
	char *end;
	long v;

	if (strncmp(*p, prefix, n) != 0 || !isdigit((unsigned char)(*p)[n]))
		return false;
	errno = 0;
	v = strtol(*p + n, &end, 10);
	if (errno != 0 || v > INT_MAX)
		return false;
	*out = (int)v;
	*p = end;
	return true;
}

/* Prints ERR as "mofc: FILE:LINE:COL: message (WBEMMOF_E_...)"; the parser
 * words its location as "line L, column C: message". */
static void report(const char *input, const rdms_error *err)
{
	const char *msg = err->message;
	int line = 0, col = 0;

	if (take_number(&msg, "line ", &line) && take_number(&msg, ", column ", &col) &&
	    *msg == ':') {
		msg++;
		while (isspace((unsigned char)*msg))
			msg++;
		fprintf(stderr, "%s: %s:%d:%d: %s (%s)\n", progname, input, line, col, msg,
		        wbem_name(err->code));
	} else {
		fprintf(stderr, "%s: %s: %s (%s)\n", progname, input, err->message,
		        wbem_name(err->code));
	}
}

static bool finish(FILE *f, const char *path, bool ok)
{
	if (fflush(f) != 0 || ferror(f))
		ok = false;
	if (fclose(f) != 0)
		ok = false;
	if (!ok) {
		fprintf(stderr, "%s: cannot write %s\n", progname, path);
		remove(path);
	}
	return ok;
}

int main(int argc, char **argv)
{
	mof_schema schema;
	rdms_error err;
	FILE *table, *props;
	size_t len = 0;
	char *src;
	bool ok;

	if (argc != 4) {
		fprintf(stderr, "usage: %s INPUT.mof OUT_TABLE.c OUT_PROPS.h\n", progname);
		return 2;
	}
	if ((src = read_file(argv[1], &len)) == NULL)
		return 1;
	if (mof_parse(src, len, &schema, &err) != WBEM_S_NO_ERROR) {
		report(argv[1], &err);
		free(src);
		return 1;
	}
	if ((table = fopen(argv[2], "w")) == NULL) {
		fprintf(stderr, "%s: %s: %s\n", progname, argv[2], strerror(errno));
		ok = false;
	} else {
		write_table(table, argv[1], &schema, src, len);
		ok = finish(table, argv[2], true);
	}
	if (ok && (props = fopen(argv[3], "w")) == NULL) {
		fprintf(stderr, "%s: %s: %s\n", progname, argv[3], strerror(errno));
		ok = false;
	} else if (ok) {
		ok = finish(props, argv[3], write_props(props, argv[1], &schema));
	}
	if (!ok)
		remove(argv[2]);
	mof_schema_free(&schema);
	free(src);
	return ok ? 0 : 1;
}
