/*
 * test_path.c -- WMI object paths: parsing every prefix form, keys in any
 * order, escapes, formatting, binding to Win32_VirtualDesktopSession and
 * to a one-key class, and malformed paths each rejected with the column.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "cim/path.h"
#include "common/strutil.h"
#include "schema/schema.h"

#define VDS "Win32_VirtualDesktopSession"

static const cim_class *vds(void)
{
	return &rdms_class_Win32_VirtualDesktopSession;
}

/* A class with one key, for the Class=value shorthand. */
static const cim_property one_props[] = {
	{ .name = "Name", .type = CIM_TYPE_STRING, .is_key = true },
	{ .name = "Size", .type = CIM_TYPE_UINT32 },
};
static const cim_class one_class = {
	.name = "T_One", .namespace_ = "root/test", .nprops = 2, .props = one_props,
};

/* Every key type, for conversions. */
static const cim_property typed_props[] = {
	{ .name = "S", .type = CIM_TYPE_SINT32, .is_key = true },
	{ .name = "B", .type = CIM_TYPE_BOOLEAN, .is_key = true },
	{ .name = "D", .type = CIM_TYPE_DATETIME, .is_key = true },
};
static const cim_class typed_class = {
	.name = "T_Typed", .namespace_ = "root/test", .nprops = 3, .props = typed_props,
};

/* Parses TEXT, binds it to the class and checks both keys. */
static void check_binds(const char *text, const char *host, uint32_t id)
{
	cim_path p;
	rdms_error err;
	cim_value keys[2];

	CHECK_EQ(cim_path_parse(text, &p, &err), WBEM_S_NO_ERROR);
	if (err.code != 0)
		fprintf(stderr, "%s: %s\n", text, err.message);
	CHECK_EQ(cim_path_bind(&p, vds(), keys, &err), WBEM_S_NO_ERROR);
	if (err.code == 0) {
		CHECK_EQ(keys[0].type, CIM_TYPE_STRING);
		CHECK_STR(keys[0].u.str, host);
		CHECK_EQ(keys[1].type, CIM_TYPE_UINT32);
		CHECK_EQ(keys[1].u.u32, id);
		cim_value_clear(&keys[0]);
		cim_value_clear(&keys[1]);
	} else {
		fprintf(stderr, "bind %s: %s\n", text, err.message);
	}
	cim_path_free(&p);
}

/* TEXT parses with VMHostName first equal to HOST and formats as FORMATTED. */
static void check_host_roundtrip(const char *text, const char *host, const char *formatted)
{
	cim_path p;
	rdms_error err;
	char *s;

	CHECK_EQ(cim_path_parse(text, &p, &err), WBEM_S_NO_ERROR);
	CHECK_EQ(p.nkeys, 2);
	if (p.nkeys == 2)
		CHECK_STR(p.keys[0].value.u.str, host);
	s = cim_path_format(&p);
	CHECK_STR(s, formatted);
	free(s);
	cim_path_free(&p);
}

static void test_parse_basic(void)
{
	cim_path p;
	rdms_error err;
	char *s;

	CHECK_EQ(cim_path_parse(VDS ".SessionId=3,VMHostName=\"h1\"", &p, &err), WBEM_S_NO_ERROR);
	CHECK(p.host == NULL && p.namespace_ == NULL);
	CHECK_STR(p.class_name, VDS);
	CHECK_EQ(p.nkeys, 2);
	if (p.nkeys == 2) {
		CHECK_STR(p.keys[0].name, "SessionId");
		CHECK_EQ(p.keys[0].value.type, CIM_TYPE_UINT32);
		CHECK_EQ(p.keys[0].value.u.u32, 3);
		CHECK_STR(p.keys[1].name, "VMHostName");
		CHECK_EQ(p.keys[1].value.type, CIM_TYPE_STRING);
		CHECK_STR(p.keys[1].value.u.str, "h1");
	}
	s = cim_path_format(&p);
	CHECK_STR(s, VDS ".SessionId=3,VMHostName=\"h1\"");
	free(s);
	cim_path_free(&p);
	CHECK(p.class_name == NULL && p.keys == NULL && p.nkeys == 0);

	/* Escapes survive a round trip; single quotes are accepted. */
	check_host_roundtrip(VDS ".VMHostName=\"h\\\"x\\\\y\",SessionId=3", "h\"x\\y",
	                     VDS ".VMHostName=\"h\\\"x\\\\y\",SessionId=3");
	check_host_roundtrip(VDS ".VMHostName='it\\'s \"q\"',SessionId=3", "it's \"q\"",
	                     VDS ".VMHostName=\"it's \\\"q\\\"\",SessionId=3");

	/* Integers, signs and booleans. */
	CHECK_EQ(cim_path_parse("C.A=-2147483648,B=+4294967295,C=TRUE,D=false,E=0,F=\"\"", &p, &err), 0);
	CHECK_EQ(p.nkeys, 6);
	if (p.nkeys == 6) {
		CHECK_EQ(p.keys[0].value.type, CIM_TYPE_SINT32);
		CHECK_EQ(p.keys[0].value.u.s32, INT32_MIN);
		CHECK_EQ(p.keys[1].value.type, CIM_TYPE_UINT32);
		CHECK_EQ(p.keys[1].value.u.u32, UINT32_MAX);
		CHECK_EQ(p.keys[2].value.type, CIM_TYPE_BOOLEAN);
		CHECK(p.keys[2].value.u.boolean);
		CHECK(!p.keys[3].value.u.boolean);
		CHECK_EQ(p.keys[4].value.u.u32, 0);
		CHECK_STR(p.keys[5].value.u.str, "");
	}
	s = cim_path_format(&p);
	CHECK_STR(s, "C.A=-2147483648,B=4294967295,C=TRUE,D=FALSE,E=0,F=\"\"");
	free(s);
	cim_path_free(&p);

	/* A class path and the one-key shorthand. */
	CHECK_EQ(cim_path_parse(VDS, &p, &err), 0);
	CHECK_EQ(p.nkeys, 0);
	s = cim_path_format(&p);
	CHECK_STR(s, VDS);
	free(s);
	cim_path_free(&p);
	CHECK_EQ(cim_path_parse("T_One=\"abc\"", &p, &err), 0);
	CHECK_EQ(p.nkeys, 1);
	if (p.nkeys == 1)
		CHECK_STR(p.keys[0].name, "");
	s = cim_path_format(&p);
	CHECK_STR(s, "T_One=\"abc\"");
	free(s);
	cim_path_free(&p);
	CHECK(cim_path_format(NULL) == NULL);
}

static void test_prefixes(void)
{
	static const struct {
		const char *text, *host, *ns;
	} cases[] = {
		{ "\\\\host\\root\\cimv2\\rdms:", "host", "root/cimv2/rdms" },
		{ "//host/root/cimv2/rdms:", "host", "root/cimv2/rdms" },
		{ "\\\\.\\root\\cimv2\\rdms:", ".", "root/cimv2/rdms" },
		{ "\\\\rdvh1.contoso.com\\Root\\CIMv2\\rdms:", "rdvh1.contoso.com", "Root/CIMv2/rdms" },
		{ "root/CIMV2/rdms:", NULL, "root/CIMV2/rdms" },
		{ "ROOT\\cimv2\\RDMS:", NULL, "ROOT/cimv2/RDMS" },
		{ "/root/cimv2/rdms:", NULL, "root/cimv2/rdms" },
		{ "\\root\\cimv2\\rdms:", NULL, "root/cimv2/rdms" },
		{ "", NULL, NULL },
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char text[256];
		cim_path p;
		rdms_error err;

		snprintf(text, sizeof text, "%s" VDS ".VMHostName=\"h\",SessionId=7", cases[i].text);
		CHECK_EQ(cim_path_parse(text, &p, &err), WBEM_S_NO_ERROR);
		if (cases[i].host)
			CHECK_STR(p.host, cases[i].host);
		else
			CHECK(p.host == NULL);
		if (cases[i].ns)
			CHECK_STR(p.namespace_, cases[i].ns);
		else
			CHECK(p.namespace_ == NULL);
		CHECK_STR(p.class_name, VDS);
		cim_path_free(&p);
		check_binds(text, "h", 7);
	}
}

static void test_bind(void)
{
	cim_path p;
	rdms_error err;
	cim_value keys[3];

	check_binds(VDS ".SessionId=3,VMHostName=\"h1\"", "h1", 3);
	check_binds(VDS ".VMHostName=\"h1\",SessionId=3", "h1", 3);
	check_binds("win32_virtualdesktopsession.sessionid=3,VMHOSTNAME=\"h1\"", "h1", 3);
	check_binds(VDS ".SessionId=\"42\",VMHostName=\"h1\"", "h1", 42);   /* as WMI */
	check_binds(VDS ".SessionId=4294967295,VMHostName=\"\"", "", 4294967295u);

	static const struct {
		const char *text;
		uint32_t    code;
		const char *needle;
	} bad[] = {
		{ VDS ".SessionId=3", WBEM_E_INVALID_OBJECT_PATH, "missing key VMHostName" },
		{ VDS ".VMHostName=\"h\"", WBEM_E_INVALID_OBJECT_PATH, "missing key SessionId" },
		{ VDS, WBEM_E_INVALID_OBJECT_PATH, "missing key" },
		{ VDS ".SessionId=3,VMHostName=5", WBEM_E_INVALID_OBJECT_PATH, "VMHostName must be a quoted string" },
		{ VDS ".SessionId=-3,VMHostName=\"h\"", WBEM_E_INVALID_OBJECT_PATH, "out of range" },
		{ VDS ".SessionId=\"abc\",VMHostName=\"h\"", WBEM_E_INVALID_OBJECT_PATH, "SessionId" },
		{ VDS ".SessionId=\"-1\",VMHostName=\"h\"", WBEM_E_INVALID_OBJECT_PATH, "SessionId" },
		{ VDS ".SessionId=TRUE,VMHostName=\"h\"", WBEM_E_INVALID_OBJECT_PATH, "SessionId must be a uint32" },
		{ VDS ".SessionId=3,VMHostName=\"h\",Foo=1", WBEM_E_INVALID_OBJECT_PATH, "unknown key Foo" },
		{ VDS ".SessionId=3,VMHostName=\"h\",VMName=\"v\"", WBEM_E_INVALID_OBJECT_PATH, "VMName is not a key" },
		{ VDS "=\"h\"", WBEM_E_INVALID_OBJECT_PATH, "one key" },
		{ "Win32_Process.Handle=\"1\"", WBEM_E_INVALID_CLASS, "Win32_Process" },
		{ "root/cimv2:" VDS ".SessionId=3,VMHostName=\"h\"", WBEM_E_INVALID_NAMESPACE, "root/cimv2" },
		{ "\\\\h\\root\\cimv2\\rdms\\x:" VDS ".SessionId=3,VMHostName=\"h\"", WBEM_E_INVALID_NAMESPACE, "rdms/x" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		CHECK_EQ(cim_path_parse(bad[i].text, &p, &err), WBEM_S_NO_ERROR);
		keys[0] = cim_u32(99);   /* bind must reset it even when it fails early */
		CHECK_EQ(cim_path_bind(&p, vds(), keys, &err), bad[i].code);
		CHECK_EQ(err.code, bad[i].code);
		if (strstr(err.message, bad[i].needle) == NULL)
			fprintf(stderr, "bind case %zu: \"%s\" lacks \"%s\"\n", i, err.message,
			        bad[i].needle);
		CHECK(strstr(err.message, bad[i].needle) != NULL);
		/* On failure the keys are left as typed NULLs, nothing to free. */
		CHECK(keys[0].is_null);
		cim_path_free(&p);
	}

	/* The shorthand works for a class with one key. */
	CHECK_EQ(cim_path_parse("root\\test:t_one=\"abc\"", &p, &err), 0);
	CHECK_EQ(cim_path_bind(&p, &one_class, keys, &err), 0);
	CHECK_STR(keys[0].u.str, "abc");
	cim_value_clear(&keys[0]);
	cim_path_free(&p);
	CHECK_EQ(cim_path_parse("T_One.Size=3", &p, &err), 0);
	CHECK_EQ(cim_path_bind(&p, &one_class, keys, &err), WBEM_E_INVALID_OBJECT_PATH);
	CHECK(strstr(err.message, "Size is not a key") != NULL);
	cim_path_free(&p);

	/* Conversions to sint32, boolean and datetime keys. */
	CHECK_EQ(cim_path_parse("T_Typed.S=-5,B=\"true\",D=\"20240102030405.000000+000\"", &p, &err), 0);
	CHECK_EQ(cim_path_bind(&p, &typed_class, keys, &err), 0);
	CHECK_EQ(keys[0].type, CIM_TYPE_SINT32);
	CHECK_EQ(keys[0].u.s32, -5);
	CHECK_EQ(keys[1].type, CIM_TYPE_BOOLEAN);
	CHECK(keys[1].u.boolean);
	CHECK_EQ(keys[2].type, CIM_TYPE_DATETIME);
	CHECK_STR(keys[2].u.str, "20240102030405.000000+000");
	for (int i = 0; i < 3; i++)
		cim_value_clear(&keys[i]);
	cim_path_free(&p);
	CHECK_EQ(cim_path_parse("T_Typed.S=7,B=FALSE,D=\"20240102030405.000000+000\"", &p, &err), 0);
	CHECK_EQ(cim_path_bind(&p, &typed_class, keys, &err), 0);
	CHECK_EQ(keys[0].u.s32, 7);
	CHECK(!keys[1].u.boolean);
	for (int i = 0; i < 3; i++)
		cim_value_clear(&keys[i]);
	cim_path_free(&p);
	CHECK_EQ(cim_path_parse("T_Typed.S=3000000000,B=TRUE,D=\"20240102030405.000000+000\"", &p, &err), 0);
	CHECK_EQ(cim_path_bind(&p, &typed_class, keys, &err), WBEM_E_INVALID_OBJECT_PATH);
	cim_path_free(&p);
	CHECK_EQ(cim_path_parse("T_Typed.S=1,B=1,D=\"20240102030405.000000+000\"", &p, &err), 0);
	CHECK_EQ(cim_path_bind(&p, &typed_class, keys, &err), WBEM_E_INVALID_OBJECT_PATH);
	cim_path_free(&p);
	CHECK_EQ(cim_path_parse("T_Typed.S=1,B=TRUE,D=\"yesterday\"", &p, &err), 0);
	CHECK_EQ(cim_path_bind(&p, &typed_class, keys, &err), WBEM_E_INVALID_OBJECT_PATH);
	CHECK(strstr(err.message, "key D") != NULL);
	cim_path_free(&p);
}

static void test_instance_path(void)
{
	cim_value v[8];
	cim_path p;
	rdms_error err;
	cim_value keys[2];
	char *s;

	for (int i = 0; i < 8; i++)
		v[i] = cim_null(vds()->props[i].type);
	v[0] = cim_string("h1");
	v[1] = cim_u32(3);
	v[2] = cim_string("vm");
	s = cim_instance_path(vds(), v);
	CHECK_STR(s, VDS ".VMHostName=\"h1\",SessionId=3");
	free(s);
	cim_value_clear(&v[0]);
	v[0] = cim_string("a\"b\\c");
	s = cim_instance_path(vds(), v);
	CHECK_STR(s, VDS ".VMHostName=\"a\\\"b\\\\c\",SessionId=3");
	/* ...and the path leads back to the same keys. */
	CHECK_EQ(cim_path_parse(s, &p, &err), 0);
	CHECK_EQ(cim_path_bind(&p, vds(), keys, &err), 0);
	CHECK(cim_value_equal(&keys[0], &v[0]));
	CHECK(cim_value_equal(&keys[1], &v[1]));
	cim_value_clear(&keys[0]);
	cim_value_clear(&keys[1]);
	cim_path_free(&p);
	free(s);
	for (int i = 0; i < 8; i++)
		cim_value_clear(&v[i]);
	CHECK(cim_instance_path(NULL, v) == NULL);
}

static void test_namespace_equal(void)
{
	CHECK(cim_namespace_equal("root/cimv2/rdms", "root/cimv2/rdms"));
	CHECK(cim_namespace_equal("ROOT\\CIMv2\\rdms", "root/cimv2/rdms"));
	CHECK(cim_namespace_equal("/root/cimv2/rdms", "root/cimv2/rdms"));
	CHECK(cim_namespace_equal("\\root\\cimv2\\rdms\\", "root/cimv2/rdms"));
	CHECK(!cim_namespace_equal("root/cimv2", "root/cimv2/rdms"));
	CHECK(!cim_namespace_equal("root/cimv2/rdmsx", "root/cimv2/rdms"));
	CHECK(!cim_namespace_equal("root.cimv2.rdms", "root/cimv2/rdms"));
	CHECK(!cim_namespace_equal(NULL, "root"));
	CHECK(cim_namespace_equal(NULL, NULL));
}

/* ---- malformed paths ------------------------------------------------------------ */

struct bad {
	const char *text;
	int         col;      /* 0: no column in the message */
	const char *needle;   /* a word the message must contain */
};

static const struct bad bad_paths[] = {
	{ "", 0, "empty object path" },
	{ ".SessionId=3", 1, "missing class name" },
	{ "=3", 1, "missing class name" },
	{ "root/cimv2:", 12, "missing class name" },
	{ "9Class.K=1", 1, "expected a class name" },
	{ "Win32_X SessionId=3", 8, "whitespace" },
	{ "Win32_X;K=1", 8, "expected '.' or '='" },
	{ "Win32_X.SessionId", 18, "expected '=' after key name" },
	{ "Win32_X.Session-Id=3", 16, "expected '=' after key name" },
	{ "Win32_X.SessionId=", 19, "expected a key value" },
	{ "Win32_X.SessionId=maybe", 19, "expected a key value" },
	{ "Win32_X.VMHostName=\"abc", 20, "unterminated string" },
	{ "Win32_X.K=\"a\\", 11, "unterminated string" },
	{ "Win32_X.SessionId=3,SessionId=4", 21, "duplicate key SessionId" },
	{ "Win32_X.SessionId=3,sessionid=4", 21, "duplicate key sessionid" },
	{ "Win32_X.SessionId=3,", 21, "empty key name" },
	{ "Win32_X.=3", 9, "empty key name" },
	{ "Win32_X.A=1,,B=2", 13, "empty key name" },
	{ "Win32_X.SessionId = 3", 18, "whitespace" },
	{ "Win32_X.SessionId= 3", 19, "whitespace" },
	{ "Win32_X.SessionId=3, VMHostName=\"h\"", 21, "whitespace" },
	{ "Win32_X.SessionId=3 ", 20, "whitespace" },
	{ " Win32_X.SessionId=3", 1, "whitespace" },
	{ "Win32_X.SessionId=4294967296", 19, "32-bit range" },
	{ "Win32_X.SessionId=-2147483649", 19, "32-bit range" },
	{ "Win32_X.SessionId=99999999999999999999999", 19, "32-bit range" },
	{ "Win32_X.SessionId=12abc", 19, "invalid integer" },
	{ "Win32_X.K=+", 12, "expected digits" },
	{ "Win32_X.K=-x", 11, "invalid integer" },
	{ "Win32_X=@", 9, "singleton" },
	{ "Win32_X.VMHostName=\"a\\nb\"", 22, "invalid escape" },
	{ "Win32_X.VMHostName=\"a\x01" "b\"", 22, "control character" },
	{ "Win32_X.SessionId=3;x", 20, "expected ','" },
	{ "Win32_X.K=\"a\"\"b\"", 14, "expected ','" },
	{ "Win32_X=\"a\"x", 12, "expected the end" },
	{ "Win32_X=\"a\",K=2", 12, "expected the end" },
	{ "\\\\host", 7, "after the host name" },
	{ "\\\\\\root:Win32_X", 3, "expected a host name" },
	{ "\\\\host\\root\\cimv2", 18, "expected ':'" },
	{ "\\\\host\\:Win32_X", 8, "expected a namespace name" },
	{ "root//cimv2:Win32_X", 6, "expected a namespace name" },
	{ ":Win32_X", 1, "expected a namespace" },
	{ "Win32_X.K=\"caf\xC3\xA9\",J=\xFF", 21, "byte 0xFF" },
};

static void test_malformed(void)
{
	for (size_t i = 0; i < sizeof bad_paths / sizeof bad_paths[0]; i++) {
		const struct bad *b = &bad_paths[i];
		char col[32];
		cim_path p;
		rdms_error err;
		uint32_t rc = cim_path_parse(b->text, &p, &err);
		bool ok;

		snprintf(col, sizeof col, "column %d", b->col);
		ok = rc == WBEM_E_INVALID_OBJECT_PATH && strstr(err.message, b->needle) != NULL &&
		     (b->col == 0 || strstr(err.message, col) != NULL);
		if (!ok)
			fprintf(stderr, "path case %zu: %s\n  got %s \"%s\"\n", i, b->text,
			        wbem_name(rc), err.message);
		CHECK(ok);
		CHECK_EQ(err.code, WBEM_E_INVALID_OBJECT_PATH);
		CHECK(p.class_name == NULL && p.nkeys == 0 && p.keys == NULL &&
		      p.host == NULL && p.namespace_ == NULL);
	}

	/* NULL and over-long input. */
	{
		cim_path p;
		rdms_error err;
		size_t n = 9000;
		char *big = malloc(n + 1);

		CHECK_EQ(cim_path_parse(NULL, &p, &err), WBEM_E_INVALID_OBJECT_PATH);
		if (big != NULL) {
			memset(big, 'A', n);
			big[n] = '\0';
			CHECK_EQ(cim_path_parse(big, &p, &err), WBEM_E_INVALID_OBJECT_PATH);
			CHECK(strstr(err.message, "longer than") != NULL);
			/* Long but legal length: a 300-character key name is too wide. */
			memcpy(big, "C.", 2);
			strcpy(big + 302, "=1");
			CHECK_EQ(cim_path_parse(big, &p, &err), WBEM_E_INVALID_OBJECT_PATH);
			CHECK(strstr(err.message, "column 3") != NULL);
			free(big);
		}
	}
}

/* Every truncation and many corruptions of a good path fail or parse cleanly. */
static void test_mutations(void)
{
	static const char good[] = "\\\\h.x\\root\\cimv2\\rdms:" VDS ".VMHostName=\"a\\\"b\",SessionId=-3,F=TRUE";
	static const char alphabet[] = "\\/:.=,\"'@-+ 0aZ\x01\xFF";
	uint32_t seed = 99;
	size_t len = strlen(good), fine = 0, total = 0;
	char buf[sizeof good];

	for (size_t cut = 0; cut <= len; cut++) {
		cim_path p;
		rdms_error err;
		uint32_t rc;

		memcpy(buf, good, cut);
		buf[cut] = '\0';
		rc = cim_path_parse(buf, &p, &err);
		total++;
		if (rc == 0 || (rc == WBEM_E_INVALID_OBJECT_PATH && err.code == rc))
			fine++;
		if (rc == 0) {
			char *s = cim_path_format(&p);
			CHECK(s != NULL);
			free(s);
		}
		cim_path_free(&p);
	}
	for (int round = 0; round < 5000; round++) {
		cim_path p;
		rdms_error err;
		uint32_t rc;

		memcpy(buf, good, sizeof good);
		for (int k = 0; k < 1 + round % 3; k++) {
			seed = seed * 1103515245u + 12345u;
			size_t at = (seed >> 8) % len;
			seed = seed * 1103515245u + 12345u;
			buf[at] = alphabet[(seed >> 8) % (sizeof alphabet - 1)];
		}
		rc = cim_path_parse(buf, &p, &err);
		total++;
		if (rc == 0) {
			cim_value keys[2];
			char *s = cim_path_format(&p);
			cim_path q;

			/* What parses formats to something that parses to the same keys. */
			CHECK(s != NULL && cim_path_parse(s, &q, &err) == 0 && q.nkeys == p.nkeys);
			if (s != NULL)
				cim_path_free(&q);
			free(s);
			if (cim_path_bind(&p, vds(), keys, &err) == 0) {
				cim_value_clear(&keys[0]);
				cim_value_clear(&keys[1]);
			}
			fine++;
		} else if (rc == WBEM_E_INVALID_OBJECT_PATH && err.code == rc) {
			fine++;
		}
		cim_path_free(&p);
	}
	CHECK_EQ(fine, total);
}

/* str_join builds the "key NAME" labels of bind's messages. */
static void test_str_join(void)
{
	char buf[8];

	CHECK_STR(str_join(buf, sizeof buf, "key ", "Id"), "key Id");
	CHECK_STR(str_join(buf, sizeof buf, "key ", "SessionId"), "key Ses");
	CHECK_STR(str_join(buf, sizeof buf, "selector ", "X"), "selecto");
	CHECK_STR(str_join(buf, sizeof buf, "", ""), "");
	CHECK_STR(str_join(buf, 1, "a", "b"), "");
}

/* A single-quoted value full of '"' is shorter than its canonical form
 * (each '"' escaped): it is taken only while that form fits the limit, so
 * whatever cim_path_format writes parses again (found by fuzz_path). */
static void test_canonical_length(void)
{
	static char text[8200];
	cim_path p, q;
	rdms_error err = { 0 };
	size_t quotes;
	char *again;

	for (int round = 0; round < 2; round++) {
		/* C.K='""...""': 7 + quotes + 1 characters; canonical 8 + 2 * quotes */
		quotes = round == 0 ? 4090 : 5000;
		memcpy(text, "C.K='", 5);
		memset(text + 5, '"', quotes);
		memcpy(text + 5 + quotes, "'", 2);
		if (round == 0) {
			CHECK_EQ(cim_path_parse(text, &p, &err), 0);
			again = cim_path_format(&p);
			CHECK(again != NULL && strlen(again) <= 8192);
			CHECK_EQ(cim_path_parse(again, &q, &err), 0);
			CHECK_STR(q.keys[0].value.u.str, p.keys[0].value.u.str);
			cim_path_free(&q);
			cim_path_free(&p);
			free(again);
		} else {
			CHECK_EQ(cim_path_parse(text, &p, &err), WBEM_E_INVALID_OBJECT_PATH);
			CHECK(strstr(err.message, "once its quotes are escaped") != NULL);
			CHECK(p.class_name == NULL && p.keys == NULL);
		}
	}
}

/*
 * Every refusal of a binding names the class's keys, which are written
 * only when a refusal needs them; and a class of more keys than
 * cim_path_bind tracks without an allocation binds as one of few.
 */
static const cim_property many_props[] = {
	{ .name = "K0", .type = CIM_TYPE_UINT32, .is_key = true },
	{ .name = "K1", .type = CIM_TYPE_UINT32, .is_key = true },
	{ .name = "K2", .type = CIM_TYPE_UINT32, .is_key = true },
	{ .name = "K3", .type = CIM_TYPE_UINT32, .is_key = true },
	{ .name = "K4", .type = CIM_TYPE_UINT32, .is_key = true },
	{ .name = "K5", .type = CIM_TYPE_UINT32, .is_key = true },
	{ .name = "K6", .type = CIM_TYPE_UINT32, .is_key = true },
	{ .name = "K7", .type = CIM_TYPE_UINT32, .is_key = true },
	{ .name = "K8", .type = CIM_TYPE_UINT32, .is_key = true },
	{ .name = "K9", .type = CIM_TYPE_UINT32, .is_key = true },
	{ .name = "K10", .type = CIM_TYPE_UINT32, .is_key = true },
	{ .name = "K11", .type = CIM_TYPE_UINT32, .is_key = true },
	{ .name = "K12", .type = CIM_TYPE_UINT32, .is_key = true },
	{ .name = "K13", .type = CIM_TYPE_UINT32, .is_key = true },
	{ .name = "K14", .type = CIM_TYPE_UINT32, .is_key = true },
	{ .name = "K15", .type = CIM_TYPE_UINT32, .is_key = true },
	{ .name = "K16", .type = CIM_TYPE_UINT32, .is_key = true },
	{ .name = "Note", .type = CIM_TYPE_STRING },
};
static const cim_class many_class = {
	.name = "T_Many", .namespace_ = "root/test", .nprops = 18, .props = many_props,
};

static void bind_refuses(const char *text, const cim_class *cls, const char *message)
{
	cim_path p;
	rdms_error err;
	cim_value keys[17];

	CHECK_EQ(cim_path_parse(text, &p, &err), WBEM_S_NO_ERROR);
	CHECK_EQ(cim_path_bind(&p, cls, keys, &err), WBEM_E_INVALID_OBJECT_PATH);
	if (strcmp(err.message, message) != 0)
		fprintf(stderr, "bind %s: \"%s\", not \"%s\"\n", text, err.message, message);
	CHECK_STR(err.message, message);
	cim_path_free(&p);
}

static void test_bind_messages(void)
{
	cim_path p;
	rdms_error err;
	cim_value keys[17];
	char text[400];
	size_t o;

	static const struct {
		const char *text, *message;
	} refusals[] = {
		{ VDS ".SessionId=3",
		  "missing key VMHostName: class Win32_VirtualDesktopSession needs VMHostName, SessionId" },
		{ VDS ".SessionId=3,VMHostName=\"h\",Foo=1",
		  "unknown key Foo: class Win32_VirtualDesktopSession has no such property "
		  "(keys: VMHostName, SessionId)" },
		{ VDS ".SessionId=3,VMHostName=\"h\",VMName=\"v\"",
		  "VMName is not a key of class Win32_VirtualDesktopSession (keys: VMHostName, SessionId)" },
		{ VDS "=\"h\"",
		  "the shorthand Win32_VirtualDesktopSession=value needs a class with one key; "
		  "Win32_VirtualDesktopSession has 2 (VMHostName, SessionId)" },
	};

	for (size_t i = 0; i < sizeof refusals / sizeof refusals[0]; i++)
		bind_refuses(refusals[i].text, vds(), refusals[i].message);

	/* 17 keys: every one bound, then one missing. */
	o = (size_t)snprintf(text, sizeof text, "T_Many");
	for (int k = 0; k < 17; k++)
		o += (size_t)snprintf(text + o, sizeof text - o, "%sK%d=%d", k ? "," : ".", k, 100 + k);
	CHECK_EQ(cim_path_parse(text, &p, &err), WBEM_S_NO_ERROR);
	CHECK_EQ(cim_path_bind(&p, &many_class, keys, &err), WBEM_S_NO_ERROR);
	for (int k = 0; k < 17; k++) {
		CHECK_EQ(keys[k].type, CIM_TYPE_UINT32);
		CHECK_EQ(keys[k].u.u32, (uint32_t)(100 + k));
	}
	cim_path_free(&p);
	bind_refuses("T_Many.K0=1,K1=1,K2=1,K3=1,K4=1,K5=1,K6=1,K7=1,K8=1,K9=1,K10=1,K11=1,"
	             "K12=1,K13=1,K14=1,K15=1", &many_class,
	             "missing key K16: class T_Many needs K0, K1, K2, K3, K4, K5, K6, K7, K8, "
	             "K9, K10, K11, K12, K13, K14, K15, K16");
}

int main(void)
{
	test_str_join();
	test_parse_basic();
	test_canonical_length();
	test_prefixes();
	test_bind();
	test_bind_messages();
	test_instance_path();
	test_namespace_equal();
	test_malformed();
	test_mutations();
	return check_summary("path");
}
