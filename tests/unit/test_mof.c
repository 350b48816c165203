/*
 * test_mof.c -- the MOF parser, the generated class table and the class
 * helpers: the real RDManagement.mof parsed field by field, the table mofc
 * generated from it compared with that parse, cim_class_to_mof re-parsed,
 * and malformed inputs each rejected with the right code and position.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "cim/class.h"
#include "schema/mof.h"
#include "schema/schema.h"

#ifndef SOURCE_ROOT
#define SOURCE_ROOT "."
#endif

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0 ||
	    (buf = malloc((size_t)n + 1)) == NULL) {
		fclose(f);
		return NULL;
	}
	*len = fread(buf, 1, (size_t)n, f);
	buf[*len] = '\0';
	fclose(f);
	return buf;
}

static uint32_t parse_str(const char *text, mof_schema *s, rdms_error *err)
{
	return mof_parse(text, strlen(text), s, err);
}

/* ---- structural comparison ------------------------------------------------ */

static bool quals_equal(const cim_qualifier *a, size_t na, const cim_qualifier *b, size_t nb)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (strcmp(a[i].name, b[i].name) != 0 || a[i].type != b[i].type ||
		    strcmp(a[i].value, b[i].value) != 0)
			return false;
	return true;
}

static bool str_eq_null(const char *a, const char *b)
{
	return a == NULL || b == NULL ? a == b : strcmp(a, b) == 0;
}

static bool class_equal(const cim_class *a, const cim_class *b)
{
	if (strcmp(a->name, b->name) != 0 || !str_eq_null(a->superclass, b->superclass) ||
	    !str_eq_null(a->namespace_, b->namespace_) ||
	    !quals_equal(a->quals, a->nquals, b->quals, b->nquals) ||
	    a->nprops != b->nprops || a->nmethods != b->nmethods)
		return false;
	for (size_t i = 0; i < a->nprops; i++) {
		const cim_property *p = &a->props[i], *q = &b->props[i];

		if (strcmp(p->name, q->name) != 0 || p->type != q->type || p->is_key != q->is_key ||
		    !quals_equal(p->quals, p->nquals, q->quals, q->nquals))
			return false;
	}
	for (size_t i = 0; i < a->nmethods; i++) {
		const cim_method *m = &a->methods[i], *n = &b->methods[i];

		if (strcmp(m->name, n->name) != 0 || m->return_type != n->return_type ||
		    m->nparams != n->nparams || !quals_equal(m->quals, m->nquals, n->quals, n->nquals))
			return false;
		for (size_t j = 0; j < m->nparams; j++) {
			const cim_parameter *p = &m->params[j], *q = &n->params[j];

			if (strcmp(p->name, q->name) != 0 || p->type != q->type ||
			    p->is_in != q->is_in || p->is_out != q->is_out ||
			    !quals_equal(p->quals, p->nquals, q->quals, q->nquals))
				return false;
		}
	}
	return true;
}

static void check_qual(const cim_qualifier *q, const char *name, cim_type type, const char *value)
{
	CHECK_STR(q->name, name);
	CHECK_EQ(q->type, type);
	CHECK_STR(q->value, value);
}

/* ---- the real schema ---------------------------------------------------------- */

static void check_schema_class(const cim_class *c)
{
	static const struct {
		const char *name;
		cim_type    type;
		bool        key;
	} props[] = {
		{ "VMHostName", CIM_TYPE_STRING, true },
		{ "SessionId", CIM_TYPE_UINT32, true },
		{ "VMName", CIM_TYPE_STRING, false },
		{ "ConnectState", CIM_TYPE_UINT32, false },
		{ "UserName", CIM_TYPE_STRING, false },
		{ "DomainName", CIM_TYPE_STRING, false },
		{ "CollectionId", CIM_TYPE_STRING, false },
		{ "ClientMachineName", CIM_TYPE_STRING, false },
	};

	CHECK_STR(c->name, "Win32_VirtualDesktopSession");
	CHECK(c->superclass == NULL);
	CHECK_STR(c->namespace_, "root/cimv2/rdms");
	CHECK_EQ(c->nquals, 3);
	if (c->nquals == 3) {
		check_qual(&c->quals[0], "dynamic", CIM_TYPE_BOOLEAN, "true");
		check_qual(&c->quals[1], "provider", CIM_TYPE_STRING, "Win32_RDManagement_Prov");
		check_qual(&c->quals[2], "AMENDMENT", CIM_TYPE_BOOLEAN, "true");
	}
	CHECK_EQ(c->nprops, 8);
	for (size_t i = 0; i < 8 && i < c->nprops; i++) {
		CHECK_STR(c->props[i].name, props[i].name);
		CHECK_EQ(c->props[i].type, props[i].type);
		CHECK_EQ(c->props[i].is_key, props[i].key);
		CHECK_EQ(c->props[i].nquals, props[i].key ? 1 : 0);
		if (props[i].key && c->props[i].nquals == 1)
			check_qual(&c->props[i].quals[0], "key", CIM_TYPE_BOOLEAN, "true");
	}
	CHECK_EQ(cim_class_nkeys(c), 2);
	CHECK_EQ(c->nmethods, 3);
	if (c->nmethods != 3)
		return;
	CHECK_STR(c->methods[0].name, "Disconnect");
	CHECK_STR(c->methods[1].name, "Logoff");
	CHECK_STR(c->methods[2].name, "SendMessage");
	for (size_t i = 0; i < 3; i++) {
		CHECK_EQ(c->methods[i].return_type, CIM_TYPE_UINT32);
		CHECK_EQ(c->methods[i].nquals, 0);
		CHECK_EQ(c->methods[i].nparams, i == 2 ? 2 : 0);
	}
	if (c->methods[2].nparams == 2) {
		const cim_parameter *p = c->methods[2].params;

		CHECK_STR(p[0].name, "Title");
		CHECK_STR(p[1].name, "Message");
		for (size_t i = 0; i < 2; i++) {
			CHECK_EQ(p[i].type, CIM_TYPE_STRING);
			CHECK(p[i].is_in);
			CHECK(!p[i].is_out);
			CHECK_EQ(p[i].nquals, 1);
			if (p[i].nquals == 1)
				check_qual(&p[i].quals[0], "in", CIM_TYPE_BOOLEAN, "true");
		}
	}
}

static void test_real_schema(void)
{
	const char *path = SOURCE_ROOT "/schema/RDManagement.mof";
	const cim_class *t;
	mof_schema s;
	rdms_error err;
	size_t len = 0;
	char *src = slurp(path, &len);

	CHECK(src != NULL);
	if (src == NULL)
		return;
	CHECK_EQ(mof_parse(src, len, &s, &err), WBEM_S_NO_ERROR);
	CHECK_STR(s.namespace_, "root/cimv2/rdms");
	/* the Windows classes first, then rdms's own (RDMS_ prefix) */
	CHECK_EQ(s.nclasses, 5);
	if (s.nclasses == 5) {
		check_schema_class(s.classes[0]);
		CHECK_STR(s.classes[1]->name, "Win32_RDSHServer");
		CHECK_STR(s.classes[2]->name, "RDMS_SessionDetail");
		CHECK_STR(s.classes[3]->name, "RDMS_Backend");
		CHECK_STR(s.classes[4]->name, "RDMS_AuditRecord");
	}

	/* The generated table says the same as the parse. */
	CHECK_STR(rdms_schema_namespace, "root/cimv2/rdms");
	CHECK_EQ(rdms_schema_nclasses, 5);
	for (size_t i = 1; i < s.nclasses && i < rdms_schema_nclasses; i++)
		CHECK(class_equal(rdms_schema_classes[i], s.classes[i]));
	/* Win32_RDSHServer: Microsoft's names and types, key Name, no methods served */
	CHECK_EQ(RDMS_WIN32_RDSHSERVER_NKEYS, 1);
	CHECK_STR(rdms_class_Win32_RDSHServer.props[RDMS_WIN32_RDSHSERVER_NAME].name, "Name");
	CHECK_EQ(rdms_class_Win32_RDSHServer.props[RDMS_WIN32_RDSHSERVER_SERVERSTATE].type,
	         CIM_TYPE_UINT32);
	CHECK_STR(rdms_class_Win32_RDSHServer.props[RDMS_WIN32_RDSHSERVER_CONNECTIONBROKER].name,
	          "ConnectionBroker");
	CHECK_EQ(rdms_class_Win32_RDSHServer.nmethods, 0);
	/* the vendor classes have no methods and the session keys where they describe sessions */
	CHECK_EQ(rdms_class_RDMS_SessionDetail.nmethods, 0);
	CHECK_EQ(RDMS_RDMS_SESSIONDETAIL_NKEYS, 2);
	CHECK_STR(rdms_class_RDMS_SessionDetail.props[0].name, "VMHostName");
	CHECK_STR(rdms_class_RDMS_SessionDetail.props[1].name, "SessionId");
	CHECK_EQ(rdms_class_RDMS_SessionDetail.props[RDMS_RDMS_SESSIONDETAIL_IDLETIME].type,
	         CIM_TYPE_DATETIME);
	CHECK_EQ(RDMS_RDMS_BACKEND_NKEYS, 1);
	CHECK_EQ(RDMS_RDMS_AUDITRECORD_NKEYS, 1);
	CHECK_STR(rdms_schema_mof_source, src);
	t = rdms_schema_find("Win32_VirtualDesktopSession");
	CHECK(t == &rdms_class_Win32_VirtualDesktopSession);
	CHECK(rdms_schema_find("win32_virtualdesktopsession") == t);
	CHECK(rdms_schema_find("WIN32_VIRTUALDESKTOPSESSION") == t);
	CHECK(rdms_schema_find("Win32_VirtualDesktopSessio") == NULL);
	CHECK(rdms_schema_find("") == NULL);
	CHECK(rdms_schema_find(NULL) == NULL);
	CHECK(rdms_schema_classes[0] == t);
	if (t != NULL) {
		check_schema_class(t);
		if (s.nclasses >= 1)
			CHECK(class_equal(t, s.classes[0]));
	}

	/* The index constants match the table. */
	CHECK_EQ(RDMS_WIN32_VIRTUALDESKTOPSESSION_NPROPS, 8);
	CHECK_EQ(RDMS_WIN32_VIRTUALDESKTOPSESSION_NKEYS, 2);
	CHECK_EQ(RDMS_WIN32_VIRTUALDESKTOPSESSION_NMETHODS, 3);
	CHECK_EQ(RDMS_WIN32_VIRTUALDESKTOPSESSION_VMHOSTNAME, 0);
	CHECK_EQ(RDMS_WIN32_VIRTUALDESKTOPSESSION_SESSIONID, 1);
	CHECK_EQ(RDMS_WIN32_VIRTUALDESKTOPSESSION_CLIENTMACHINENAME, 7);
	CHECK_EQ(RDMS_WIN32_VIRTUALDESKTOPSESSION_METHOD_DISCONNECT, 0);
	CHECK_EQ(RDMS_WIN32_VIRTUALDESKTOPSESSION_METHOD_SENDMESSAGE, 2);
	CHECK_EQ(RDMS_WIN32_VIRTUALDESKTOPSESSION_METHOD_SENDMESSAGE_PARAM_MESSAGE, 1);
	if (t != NULL) {
		size_t idx = 99;

		CHECK(cim_class_property(t, "ConnectState", &idx) != NULL);
		CHECK_EQ(idx, RDMS_WIN32_VIRTUALDESKTOPSESSION_CONNECTSTATE);
		CHECK(&t->methods[RDMS_WIN32_VIRTUALDESKTOPSESSION_METHOD_LOGOFF] ==
		      cim_class_method(t, "Logoff"));
	}
	mof_schema_free(&s);
	free(src);
}

/* cim_class_to_mof output parses back to the same class. */
static void test_to_mof(void)
{
	const cim_class *t = &rdms_class_Win32_VirtualDesktopSession;
	char *mof = cim_class_to_mof(t), *again;
	mof_schema s;
	rdms_error err;

	CHECK(mof != NULL);
	if (mof == NULL)
		return;
	CHECK(strstr(mof, "#pragma namespace(\"\\\\\\\\.\\\\root\\\\cimv2\\\\rdms\")") != NULL);
	CHECK(strstr(mof, "[dynamic, provider(\"Win32_RDManagement_Prov\"), AMENDMENT]\n"
	                  "class Win32_VirtualDesktopSession\n{\n") != NULL);
	CHECK(strstr(mof, "  [key] string VMHostName;\n  [key] uint32 SessionId;\n") != NULL);
	CHECK(strstr(mof, "  uint32 Disconnect();\n") != NULL);
	CHECK(strstr(mof, "[in] string Title,\n    [in] string Message\n  );\n};\n") != NULL);
	CHECK_EQ(parse_str(mof, &s, &err), WBEM_S_NO_ERROR);
	CHECK_EQ(s.nclasses, 1);
	if (s.nclasses == 1) {
		CHECK(class_equal(s.classes[0], t));
		again = cim_class_to_mof(s.classes[0]);
		CHECK_STR(again, mof);
		free(again);
	}
	mof_schema_free(&s);
	free(mof);

	/* A richer class: superclass, void, [out], value types, escapes. */
	const char *src =
		"#pragma namespace(\"root/test\")\n"
		"[Description(\"say \\\"hi\\\"\\\\ \\t\"), Version(3), Delta(-4), Off(false)]\n"
		"class T_Child : T_Base {\n"
		"  [key, MaxLen(64)] string Name;\n"
		"  datetime When;\n  boolean Flag;\n  sint32 Level;\n"
		"  void Run([in, out] uint32 N, [out] string Msg);\n"
		"};\n";
	CHECK_EQ(parse_str(src, &s, &err), WBEM_S_NO_ERROR);
	if (s.nclasses == 1) {
		mof_schema s2;

		mof = cim_class_to_mof(s.classes[0]);
		CHECK(mof != NULL && strstr(mof, "void Run(") != NULL);
		CHECK(mof != NULL && strstr(mof, "class T_Child : T_Base\n") != NULL);
		CHECK_EQ(parse_str(mof ? mof : "", &s2, &err), WBEM_S_NO_ERROR);
		CHECK_EQ(s2.nclasses, 1);
		if (s2.nclasses == 1)
			CHECK(class_equal(s2.classes[0], s.classes[0]));
		mof_schema_free(&s2);
		free(mof);
	}
	mof_schema_free(&s);

	/* A hand-built class whose flags are not backed by qualifiers. */
	static const cim_property hp[] = { { .name = "Id", .type = CIM_TYPE_UINT32, .is_key = true } };
	static const cim_parameter hpa[] = { { .name = "X", .type = CIM_TYPE_STRING, .is_in = true } };
	static const cim_method hm[] = { { .name = "M", .return_type = CIM_TYPE_UINT32,
	                                   .nparams = 1, .params = hpa } };
	static const cim_class hc = { .name = "H", .namespace_ = "root/h", .nprops = 1,
	                              .props = hp, .nmethods = 1, .methods = hm };
	mof = cim_class_to_mof(&hc);
	CHECK(mof != NULL && strstr(mof, "[key] uint32 Id;") != NULL);
	CHECK(mof != NULL && strstr(mof, "[in] string X") != NULL);
	CHECK_EQ(parse_str(mof ? mof : "", &s, &err), WBEM_S_NO_ERROR);
	if (s.nclasses == 1) {
		CHECK(s.classes[0]->props[0].is_key);
		CHECK(s.classes[0]->methods[0].params[0].is_in);
		CHECK_STR(s.classes[0]->namespace_, "root/h");
	}
	mof_schema_free(&s);
	free(mof);
	CHECK(cim_class_to_mof(NULL) == NULL);
}

static void test_helpers(void)
{
	const cim_class *c = &rdms_class_Win32_VirtualDesktopSession;
	const cim_method *m;
	size_t idx = 0;

	CHECK(cim_class_property(c, "sessionid", &idx) == &c->props[1]);
	CHECK_EQ(idx, 1);
	CHECK(cim_class_property(c, "SESSIONID", NULL) == &c->props[1]);
	CHECK(cim_class_property(c, "Session", &idx) == NULL);
	CHECK(cim_class_property(c, NULL, &idx) == NULL);
	CHECK(cim_class_property(NULL, "x", &idx) == NULL);
	m = cim_class_method(c, "sendmessage");
	CHECK(m == &c->methods[2]);
	CHECK(cim_class_method(c, "Reset") == NULL);
	CHECK(cim_method_parameter(m, "TITLE") == &m->params[0]);
	CHECK(cim_method_parameter(m, "Body") == NULL);
	CHECK(cim_method_parameter(NULL, "Title") == NULL);
	CHECK_EQ(cim_class_nkeys(NULL), 0);
}

/* ---- accepted variants ------------------------------------------------------------ */

static void test_variants(void)
{
	mof_schema s;
	rdms_error err;

	CHECK_EQ(parse_str("", &s, &err), WBEM_S_NO_ERROR);
	CHECK_EQ(s.nclasses, 0);
	CHECK_STR(s.namespace_, "root/cimv2");
	mof_schema_free(&s);
	CHECK_EQ(mof_parse(NULL, 0, &s, &err), WBEM_S_NO_ERROR);
	mof_schema_free(&s);
	CHECK_EQ(parse_str("  // only a comment\n/* and\nanother */\n", &s, &err), WBEM_S_NO_ERROR);
	CHECK_EQ(s.nclasses, 0);
	mof_schema_free(&s);

	/* No pragma: root/cimv2.  Keywords and type names in any case. */
	CHECK_EQ(parse_str("CLASS A { [KEY] String X; Uint32 Y; };", &s, &err), WBEM_S_NO_ERROR);
	if (s.nclasses == 1) {
		CHECK_STR(s.classes[0]->namespace_, "root/cimv2");
		CHECK(s.classes[0]->props[0].is_key);
		CHECK_STR(s.classes[0]->props[0].quals[0].name, "KEY");
		CHECK_EQ(s.classes[0]->props[1].type, CIM_TYPE_UINT32);
	}
	mof_schema_free(&s);

	/* Namespace spellings, relative namespaces, ignored pragmas, a BOM. */
	CHECK_EQ(parse_str("\xEF\xBB\xBF#pragma namespace(\"//./Root/X\")\n"
	                   "#pragma classflags(\"forceupdate\", 3)\n#pragma autorecover\n"
	                   "class A {};\n#pragma namespace(\"Sub\")\nclass B {};\n"
	                   "#pragma namespace(\"root\\\\cimv2\")\nclass C {};\n"
	                   "#pragma namespace(\"\\\\\\\\localhost\\\\root\\\\y\")\nclass D {};\n",
	                   &s, &err), WBEM_S_NO_ERROR);
	CHECK_EQ(s.nclasses, 4);
	if (s.nclasses == 4) {
		CHECK_STR(s.classes[0]->namespace_, "Root/X");
		CHECK_STR(s.classes[1]->namespace_, "Root/X/Sub");
		CHECK_STR(s.classes[2]->namespace_, "root/cimv2");
		CHECK_STR(s.classes[3]->namespace_, "root/y");
		CHECK_STR(s.namespace_, "root/y");
	}
	mof_schema_free(&s);

	/* Literals: concatenation, escapes, numbers, booleans, flavors. */
	CHECK_EQ(parse_str("[D(\"a\" /* c */ \"b\"\n  \"\\x41\\t\\\"\\x00e9\"), N(0x10), M(-5), "
	                   "F(false) : ToSubclass Amended, key(false)]\n"
	                   "class A : B { [key(true)] string K; [key(false)] string L; };",
	                   &s, &err), WBEMMOF_E_QUALIFIER_USED_OUTSIDE_SCOPE);
	mof_schema_free(&s);
	CHECK_EQ(parse_str("[D(\"a\" /* c */ \"b\"\n  \"\\x41\\t\\\"\\x00e9\"), N(0x10), M(-5), "
	                   "F(false) : ToSubclass Amended]\n"
	                   "class A : B { [key(true)] string K; [key(false)] string L; };",
	                   &s, &err), WBEM_S_NO_ERROR);
	if (s.nclasses == 1) {
		const cim_class *c = s.classes[0];

		CHECK_EQ(c->nquals, 4);
		check_qual(&c->quals[0], "D", CIM_TYPE_STRING, "abA\t\"\xC3\xA9");
		check_qual(&c->quals[1], "N", CIM_TYPE_UINT32, "16");
		check_qual(&c->quals[2], "M", CIM_TYPE_SINT32, "-5");
		check_qual(&c->quals[3], "F", CIM_TYPE_BOOLEAN, "false");
		CHECK_STR(c->superclass, "B");
		CHECK(c->props[0].is_key);
		CHECK(!c->props[1].is_key);
		CHECK_EQ(cim_class_nkeys(c), 1);
	}
	mof_schema_free(&s);

	/* LEN bounds the input: the bytes after it are never read. */
	CHECK_EQ(mof_parse("class A {};garbage", 11, &s, &err), WBEM_S_NO_ERROR);
	CHECK_EQ(s.nclasses, 1);
	mof_schema_free(&s);
}

/* ---- malformed inputs -------------------------------------------------------------- */

struct bad {
	const char *text;
	uint32_t    code;
	int         line, col;
};

static const struct bad bad_cases[] = {
	{ "class A { string X }", WBEMMOF_E_EXPECTED_SEMI, 1, 20 },
	{ "class A { string X; }", WBEMMOF_E_EXPECTED_SEMI, 1, 22 },
	{ "class A {\n  string X\n};", WBEMMOF_E_EXPECTED_SEMI, 3, 1 },
	{ "class A {", WBEMMOF_E_EXPECTED_CLOSE_BRACE, 1, 10 },
	{ "class A { uint8 X; };", WBEMMOF_E_UNRECOGNIZED_TYPE, 1, 11 },
	{ "class A { real64 X; };", WBEMMOF_E_UNRECOGNIZED_TYPE, 1, 11 },
	{ "class A { foo X; };", WBEMMOF_E_UNRECOGNIZED_TYPE, 1, 11 },
	{ "class A { void X; };", WBEMMOF_E_UNRECOGNIZED_TYPE, 1, 11 },
	{ "class A { string X[]; };", WBEMMOF_E_UNRECOGNIZED_TYPE, 1, 19 },
	{ "class A { string X; uint32 x; };", WBEMMOF_E_DUPLICATE_PROPERTY, 1, 28 },
	{ "class A { string M; uint32 M(); };", WBEMMOF_E_DUPLICATE_PROPERTY, 1, 28 },
	{ "class A { uint32 M([in] string P, [out] uint32 p); };", WBEMMOF_E_DUPLICATE_PROPERTY, 1, 48 },
	{ "[key, KEY] class A {};", WBEMMOF_E_DUPLICATE_QUALIFIER, 1, 7 },
	{ "class A { [key(\"x] string X; };", WBEMMOF_E_UNRECOGNIZED_TOKEN, 1, 16 },
	{ "/* never closed\nclass A {};", WBEMMOF_E_UNRECOGNIZED_TOKEN, 1, 1 },
	{ "class A {};\n/*", WBEMMOF_E_UNRECOGNIZED_TOKEN, 2, 1 },
	{ "#pragma foo(\"x\")", WBEMMOF_E_INVALID_PRAGMA, 1, 9 },
	{ "#pragma include(\"x.mof\")", WBEMMOF_E_INVALID_PRAGMA, 1, 9 },
	{ "#define X", WBEMMOF_E_INVALID_PRAGMA, 1, 2 },
	{ "#pragma namespace(\"\\\\\\\\remote\\\\root\")", WBEMMOF_E_INVALID_NAMESPACE_SPECIFICATION, 1, 19 },
	{ "#pragma namespace(\"root//x\")", WBEMMOF_E_INVALID_NAMESPACE_SYNTAX, 1, 19 },
	{ "#pragma namespace(3)", WBEMMOF_E_INVALID_NAMESPACE_SYNTAX, 1, 19 },
	{ "#pragma namespace \"root\"", WBEMMOF_E_EXPECTED_OPEN_PAREN, 1, 19 },
	{ "#pragma namespace(\"root\"", WBEMMOF_E_EXPECTED_CLOSE_PAREN, 1, 25 },
	{ "class A {};\nclass a { };", WBEMMOF_E_INVALID_CLASS_DECLARATION, 2, 7 },
	{ "class { };", WBEMMOF_E_EXPECTED_CLASS_NAME, 1, 7 },
	{ "class A : { };", WBEMMOF_E_EXPECTED_CLASS_NAME, 1, 11 },
	{ "class A string X; };", WBEMMOF_E_EXPECTED_OPEN_BRACE, 1, 9 },
	{ "[key] class A { };", WBEMMOF_E_QUALIFIER_USED_OUTSIDE_SCOPE, 1, 2 },
	{ "class A { [in] string X; };", WBEMMOF_E_QUALIFIER_USED_OUTSIDE_SCOPE, 1, 12 },
	{ "class A { [key] uint32 M(); };", WBEMMOF_E_QUALIFIER_USED_OUTSIDE_SCOPE, 1, 12 },
	{ "class A { uint32 M([key, in] string P); };", WBEMMOF_E_QUALIFIER_USED_OUTSIDE_SCOPE, 1, 21 },
	{ "class A { uint32 M(string P); };", WBEMMOF_E_MUST_BE_IN_OR_OUT, 1, 27 },
	{ "class A { uint32 M([in] string P; };", WBEMMOF_E_EXPECTED_CLOSE_PAREN, 1, 33 },
	{ "class A { uint32 M() };", WBEMMOF_E_EXPECTED_SEMI, 1, 22 },
	{ "class A { uint32 M([in] void P); };", WBEMMOF_E_UNRECOGNIZED_TYPE, 1, 25 },
	{ "class A { [key(\"yes\")] string X; };", WBEMMOF_E_TYPE_MISMATCH, 1, 12 },
	{ "class A { string X = \"d\"; };", WBEMMOF_E_ILLEGAL_CONSTANT_VALUE, 1, 20 },
	{ "[Description(\"a\") : Bogus] class A {};", WBEMMOF_E_EXPECTED_FLAVOR_TYPE, 1, 21 },
	{ "[Description(\"a\") : ] class A {};", WBEMMOF_E_EXPECTED_FLAVOR_TYPE, 1, 21 },
	{ "[A : EnableOverride DisableOverride] class B {};", WBEMMOF_E_INCOMPATIBLE_FLAVOR_TYPES, 1, 21 },
	{ "[A{1}] class B {};", WBEMMOF_E_UNEXPECTED_ARRAY_INIT, 1, 3 },
	{ "[A(\"x\"] class B {};", WBEMMOF_E_EXPECTED_CLOSE_PAREN, 1, 7 },
	{ "[A class B {};", WBEMMOF_E_EXPECTED_CLOSE_BRACKET, 1, 4 },
	{ "[]", WBEMMOF_E_EXPECTED_QUALIFIER_NAME, 1, 2 },
	{ "[a] foo", WBEMMOF_E_INVALID_CLASS_DECLARATION, 1, 5 },
	{ "[a] instance of B {};", WBEMMOF_E_INVALID_INSTANCE_DECLARATION, 1, 5 },
	{ "instance of A { };", WBEMMOF_E_INVALID_INSTANCE_DECLARATION, 1, 1 },
	{ "typedef x;", WBEMMOF_E_TYPEDEF_NOT_SUPPORTED, 1, 1 },
	{ "qualifier Key : boolean;", WBEMMOF_E_INVALID_QUALIFIER_SYNTAX, 1, 1 },
	{ "class A { [v(99999999999)] string X; };", WBEMMOF_E_OUT_OF_RANGE, 1, 14 },
	{ "class A { [v(-2147483649)] string X; };", WBEMMOF_E_OUT_OF_RANGE, 1, 14 },
	{ "class A { [v(1.5)] string X; };", WBEMMOF_E_ILLEGAL_CONSTANT_VALUE, 1, 14 },
	{ "class A { [v(12ab)] string X; };", WBEMMOF_E_ILLEGAL_CONSTANT_VALUE, 1, 14 },
	{ "class A { [v(null)] string X; };", WBEMMOF_E_ILLEGAL_CONSTANT_VALUE, 1, 14 },
	{ "class A { [v('c')] string X; };", WBEMMOF_E_ILLEGAL_CONSTANT_VALUE, 1, 14 },
	{ "class A { [x(\"\\q\")] string X; };", WBEMMOF_E_ILLEGAL_CONSTANT_VALUE, 1, 15 },
	{ "class A { [x(\"\\x0\")] string X; };", WBEMMOF_E_ILLEGAL_CONSTANT_VALUE, 1, 15 },
	{ "class A { [x(\"\xC3(\")] string X; };", WBEMMOF_E_ILLEGAL_CONSTANT_VALUE, 1, 14 },
	{ "class A { string X; } ;\n  @", WBEMMOF_E_UNRECOGNIZED_TOKEN, 2, 3 },
	{ "\x01", WBEMMOF_E_UNRECOGNIZED_TOKEN, 1, 1 },
	{ "class A { string X; };\n\n   \xFF", WBEMMOF_E_UNRECOGNIZED_TOKEN, 3, 4 },
	{ "string X;", WBEMMOF_E_UNRECOGNIZED_TOKEN, 1, 1 },
	{ "class A { string; };", WBEMMOF_E_EXPECTED_PROPERTY_NAME, 1, 17 },
	{ "class A { [key] };", WBEMMOF_E_EXPECTED_TYPE_IDENTIFIER, 1, 17 },
};

static void test_malformed(void)
{
	for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
		const struct bad *b = &bad_cases[i];
		char want[64];
		mof_schema s;
		rdms_error err;
		uint32_t rc = parse_str(b->text, &s, &err);

		snprintf(want, sizeof want, "line %d, column %d: ", b->line, b->col);
		if (rc != b->code || strncmp(err.message, want, strlen(want)) != 0)
			fprintf(stderr, "case %zu: %s\n  got %s \"%s\"\n", i, b->text,
			        wbem_name(rc), err.message);
		CHECK_EQ(rc, b->code);
		CHECK_EQ(err.code, b->code);
		CHECK(strncmp(err.message, want, strlen(want)) == 0);
		CHECK_EQ(s.nclasses, 0);
		CHECK(s.classes == NULL && s.namespace_ == NULL);
	}
}

/* Inputs built at run time: huge, deep or long. */
static void test_big_inputs(void)
{
	size_t n = 200000;
	char *buf = malloc(n + 64);
	mof_schema s;
	rdms_error err;

	CHECK(buf != NULL);
	if (buf == NULL)
		return;
	/* A million-deep bracket nest fails at the second bracket. */
	memset(buf, '[', n);
	CHECK_EQ(mof_parse(buf, n, &s, &err), WBEMMOF_E_EXPECTED_QUALIFIER_NAME);
	CHECK(strncmp(err.message, "line 1, column 2: ", 18) == 0);
	memset(buf, '(', n);
	CHECK_EQ(mof_parse(buf, n, &s, &err), WBEMMOF_E_UNRECOGNIZED_TOKEN);
	/* A 300-character name is too wide. */
	strcpy(buf, "class ");
	memset(buf + 6, 'N', 300);
	strcpy(buf + 306, " {};");
	CHECK_EQ(parse_str(buf, &s, &err), WBEMMOF_E_OUT_OF_RANGE);
	CHECK(strncmp(err.message, "line 1, column 7: ", 18) == 0);
	/* A string that never ends, 200000 bytes long. */
	memset(buf, 'a', n);
	buf[0] = '"';
	CHECK_EQ(mof_parse(buf, n, &s, &err), WBEMMOF_E_UNRECOGNIZED_TOKEN);
	free(buf);

	/* Too many properties. */
	{
		char *big = malloc(2000 * 16 + 32);
		size_t o = 0;

		CHECK(big != NULL);
		if (big == NULL)
			return;
		o += (size_t)sprintf(big, "class A {");
		for (int i = 0; i < 1100; i++)
			o += (size_t)sprintf(big + o, "string P%d;", i);
		strcpy(big + o, "};");
		CHECK_EQ(parse_str(big, &s, &err), WBEMMOF_E_OUT_OF_RANGE);
		free(big);
	}
}

/*
 * Every truncation and many single-byte corruptions of the real MOF must
 * either parse or fail cleanly (ASan/valgrind watch for the rest).
 */
static void test_mutations(void)
{
	size_t len = 0;
	char *src = slurp(SOURCE_ROOT "/schema/RDManagement.mof", &len);
	static const char alphabet[] = "[](){};,:=#\"'\\/*\n x0-@\xFF";
	uint32_t seed = 12345;
	size_t ok = 0, failed = 0;

	if (src == NULL)
		return;
	for (size_t cut = 0; cut <= len; cut++) {
		mof_schema s;
		rdms_error err;
		uint32_t rc = mof_parse(src, cut, &s, &err);

		if (rc == WBEM_S_NO_ERROR)
			ok++;
		else if (strncmp(err.message, "line ", 5) == 0 && err.code == rc)
			failed++;
		mof_schema_free(&s);
	}
	CHECK_EQ(ok + failed, len + 1);
	CHECK(failed > len / 2);
	ok = failed = 0;
	for (int round = 0; round < 4000; round++) {
		char *m = malloc(len);
		mof_schema s;
		rdms_error err;
		uint32_t rc;

		if (m == NULL)
			break;
		memcpy(m, src, len);
		for (int k = 0; k < 1 + round % 3; k++) {
			seed = seed * 1103515245u + 12345u;
			size_t at = (seed >> 8) % len;
			seed = seed * 1103515245u + 12345u;
			m[at] = alphabet[(seed >> 8) % (sizeof alphabet - 1)];
		}
		rc = mof_parse(m, len, &s, &err);
		if (rc == WBEM_S_NO_ERROR || (strncmp(err.message, "line ", 5) == 0 && err.code == rc))
			ok++;
		mof_schema_free(&s);
		free(m);
	}
	CHECK_EQ(ok, 4000);
	free(src);
}

int main(void)
{
	test_real_schema();
	test_to_mof();
	test_helpers();
	test_variants();
	test_malformed();
	test_big_inputs();
	test_mutations();
	return check_summary("mof");
}
