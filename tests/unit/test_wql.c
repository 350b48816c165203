/*
 * test_wql.c -- the WQL parser and evaluator.
 *
 * The class is declared here (the 8 properties of Win32_VirtualDesktopSession
 * in MOF order) so the test does not depend on the generated schema; a
 * second class carries the types the session class lacks (boolean, sint32,
 * datetime).  Every malformed query checks both the WBEM code and that the
 * message names the right column.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "cim/instance.h"
#include "common/strutil.h"
#include "wql/wql.h"

static const cim_property session_props[] = {
	{ "VMHostName", CIM_TYPE_STRING, true, 0, NULL },
	{ "SessionId", CIM_TYPE_UINT32, true, 0, NULL },
	{ "VMName", CIM_TYPE_STRING, false, 0, NULL },
	{ "ConnectState", CIM_TYPE_UINT32, false, 0, NULL },
	{ "UserName", CIM_TYPE_STRING, false, 0, NULL },
	{ "DomainName", CIM_TYPE_STRING, false, 0, NULL },
	{ "CollectionId", CIM_TYPE_STRING, false, 0, NULL },
	{ "ClientMachineName", CIM_TYPE_STRING, false, 0, NULL },
};

static const cim_class session_class = {
	.name = "Win32_VirtualDesktopSession",
	.namespace_ = "root/cimv2/rdms",
	.nprops = sizeof session_props / sizeof session_props[0],
	.props = session_props,
};

static const cim_property typed_props[] = {
	{ "Flag", CIM_TYPE_BOOLEAN, false, 0, NULL },
	{ "Delta", CIM_TYPE_SINT32, false, 0, NULL },
	{ "When", CIM_TYPE_DATETIME, false, 0, NULL },
};

static const cim_class typed_class = {
	.name = "Test_Typed",
	.nprops = sizeof typed_props / sizeof typed_props[0],
	.props = typed_props,
};

static const cim_class *lookup(const char *name)
{
	if (str_ieq(name, session_class.name))
		return &session_class;
	if (str_ieq(name, typed_class.name))
		return &typed_class;
	return NULL;
}

/* Room for queries a bit over the 16384-byte limit. */
#define WQL_MAX_QUERY_TEST (16384 + 16)

#define SEL "SELECT * FROM Win32_VirtualDesktopSession WHERE "

static void set_str(cim_instance *inst, const char *name, const char *s)
{
	rdms_error err;

	CHECK_EQ(cim_instance_set(inst, name, s ? cim_string(s) : cim_null(CIM_TYPE_STRING),
	                          &err), 0);
}

static cim_instance *session(const char *host, uint32_t id, uint32_t state,
                             const char *user, const char *domain,
                             const char *coll, const char *client)
{
	cim_instance *inst = cim_instance_new(&session_class);
	rdms_error err;

	if (inst == NULL) {
		fprintf(stderr, "out of memory\n");
		exit(1);
	}
	set_str(inst, "VMHostName", host);
	CHECK_EQ(cim_instance_set(inst, "SessionId", cim_u32(id), &err), 0);
	set_str(inst, "VMName", host);
	CHECK_EQ(cim_instance_set(inst, "ConnectState", cim_u32(state), &err), 0);
	set_str(inst, "UserName", user);
	set_str(inst, "DomainName", domain);
	set_str(inst, "CollectionId", coll);
	set_str(inst, "ClientMachineName", client);
	return inst;
}

/* 1 match, 0 no match, -1 parse error (printed). */
static int run(const char *text, const cim_instance *inst)
{
	wql_query *q;
	rdms_error err;
	int r;

	if (wql_parse(text, lookup, &q, &err) != 0) {
		fprintf(stderr, "unexpected parse error for <%s>: %s\n", text, err.message);
		return -1;
	}
	r = wql_match(q, inst);
	wql_free(q);
	return r;
}

typedef uint32_t (*parse_fn)(const char *, wql_class_lookup, wql_query **, rdms_error *);

/* TEXT must fail PARSE with CODE, a message naming column COL and holding NEEDLE. */
static void bad_with(parse_fn parse, const char *text, uint32_t code, int col,
                     const char *needle, int line)
{
	wql_query *q = (wql_query *)1;
	rdms_error err;
	char where[32];
	uint32_t rc = parse(text, lookup, &q, &err);

	snprintf(where, sizeof where, "column %d", col);
	if (rc != code || q != NULL || err.code != code || strstr(err.message, where) == NULL ||
	    (needle != NULL && strstr(err.message, needle) == NULL)) {
		check_failed++;
		fprintf(stderr, "%s:%d: <%s>: got %s \"%s\", expected %s with \"%s\"%s%s\n",
		        __FILE__, line, text, wbem_name(rc), err.message, wbem_name(code),
		        where, needle ? " and " : "", needle ? needle : "");
		wql_free(q != (wql_query *)1 ? q : NULL);
	} else {
		check_passed++;
	}
}
#define bad(text, code, col, needle, line) bad_with(wql_parse, text, code, col, needle, line)
#define BAD(text, code, col, needle) bad(text, code, col, needle, __LINE__)

static void test_select(void)
{
	wql_query *q;
	rdms_error err;

	CHECK_EQ(wql_parse("SELECT * FROM Win32_VirtualDesktopSession", lookup, &q, &err), 0);
	CHECK(q != NULL && wql_class(q) == &session_class && wql_selects_all(q));
	CHECK(wql_selects(q, 0) && wql_selects(q, 7) && !wql_selects(q, 8));
	wql_free(q);

	CHECK_EQ(wql_parse("SELECT SessionId, VMHostName, UserName, ConnectState FROM "
	                   "Win32_VirtualDesktopSession", lookup, &q, &err), 0);
	CHECK(q != NULL && !wql_selects_all(q));
	CHECK(wql_selects(q, 0) && wql_selects(q, 1) && wql_selects(q, 3) && wql_selects(q, 4));
	CHECK(!wql_selects(q, 2) && !wql_selects(q, 5) && !wql_selects(q, 6) && !wql_selects(q, 7));
	wql_free(q);

	/* Keywords, class and property names in any case; system properties allowed. */
	CHECK_EQ(wql_parse("select username,__PATH , __Class from win32_virtualdesktopsession",
	                   lookup, &q, &err), 0);
	CHECK(q != NULL && wql_selects(q, 4) && !wql_selects(q, 0));
	wql_free(q);

	CHECK_EQ(wql_parse("\tSELECT\n*\r\nFROM  Win32_VirtualDesktopSession  ", lookup, &q, &err), 0);
	wql_free(q);
	CHECK(!wql_selects_all(NULL) && wql_class(NULL) == NULL && !wql_match(NULL, NULL));
	wql_free(NULL);
}

/* rdms-class.md 6.1, one by one. */
static void test_spec_examples(void)
{
	cim_instance *a = session("rdvh1.contoso.com", 3, 4, "adm_jo", "CONTOSO", "Pool1", NULL);
	cim_instance *b = session("rdvh2.contoso.com", 3, 0, "bob", "CONTOSO", "Pool2", "PC7");

	CHECK_EQ(run("SELECT * FROM Win32_VirtualDesktopSession", a), 1);
	CHECK_EQ(run("SELECT SessionId, VMHostName, UserName, ConnectState FROM "
	             "Win32_VirtualDesktopSession", b), 1);
	CHECK_EQ(run(SEL "VMHostName = \"rdvh1.contoso.com\" AND SessionId = 3", a), 1);
	CHECK_EQ(run(SEL "VMHostName = \"rdvh1.contoso.com\" AND SessionId = 3", b), 0);
	/* A quoted number for an integer property converts, as in WMI (PowerShell -Filter). */
	CHECK_EQ(run(SEL "SessionId = '3'", a), 1);
	CHECK_EQ(run(SEL "SessionId = \"4\"", b), 0);
	CHECK_EQ(run(SEL "SessionId < '+4'", a), 1);
	CHECK_EQ(run(SEL "ConnectState = 4", a), 1);
	CHECK_EQ(run(SEL "ConnectState = 4", b), 0);
	CHECK_EQ(run(SEL "ConnectState <> 0 OR UserName LIKE \"adm%\"", a), 1);
	CHECK_EQ(run(SEL "ConnectState <> 0 OR UserName LIKE \"adm%\"", b), 0);
	CHECK_EQ(run(SEL "NOT CollectionId = 'Pool1'", a), 0);
	CHECK_EQ(run(SEL "NOT CollectionId = 'Pool1'", b), 1);
	CHECK_EQ(run(SEL "ClientMachineName IS NULL", a), 1);
	CHECK_EQ(run(SEL "ClientMachineName IS NULL", b), 0);
	CHECK_EQ(run(SEL "__CLASS = \"Win32_VirtualDesktopSession\"", a), 1);
	CHECK_EQ(run(SEL "__class = 'win32_virtualdesktopsession'", a), 1);
	CHECK_EQ(run(SEL "__CLASS = \"Other\"", a), 0);
	CHECK_EQ(run(SEL "__CLASS LIKE 'Win32[_]%'", a), 1);
	CHECK_EQ(run(SEL "__CLASS IS NULL", a), 0);
	cim_instance_free(a);
	cim_instance_free(b);
}

static void test_operators(void)
{
	cim_instance *s = session("Host-B", 10, 2, "Carol", NULL, "Pool", "pc");

	/* integers, both orientations */
	CHECK_EQ(run(SEL "SessionId = 10", s), 1);
	CHECK_EQ(run(SEL "SessionId = +10", s), 1);
	CHECK_EQ(run(SEL "SessionId != 10", s), 0);
	CHECK_EQ(run(SEL "SessionId <> 9", s), 1);
	CHECK_EQ(run(SEL "SessionId < 11", s), 1);
	CHECK_EQ(run(SEL "SessionId < 10", s), 0);
	CHECK_EQ(run(SEL "SessionId <= 10", s), 1);
	CHECK_EQ(run(SEL "SessionId > 9", s), 1);
	CHECK_EQ(run(SEL "SessionId > 10", s), 0);
	CHECK_EQ(run(SEL "SessionId >= 10", s), 1);
	CHECK_EQ(run(SEL "SessionId >= 11", s), 0);
	CHECK_EQ(run(SEL "11 > SessionId", s), 1);
	CHECK_EQ(run(SEL "10 < SessionId", s), 0);
	CHECK_EQ(run(SEL "10 <= SessionId", s), 1);
	CHECK_EQ(run(SEL "9 >= SessionId", s), 0);
	CHECK_EQ(run(SEL "10 = SessionId", s), 1);
	CHECK_EQ(run(SEL "SessionId <= 4294967295", s), 1);
	CHECK_EQ(run(SEL "ConnectState = TRUE", s), 0);
	CHECK_EQ(run(SEL "ConnectState <> FALSE", s), 1);

	/* strings: case-insensitive, both quotes, ordering after folding */
	CHECK_EQ(run(SEL "UserName = 'carol'", s), 1);
	CHECK_EQ(run(SEL "UserName = \"CAROL\"", s), 1);
	CHECK_EQ(run(SEL "'CaRoL' = UserName", s), 1);
	CHECK_EQ(run(SEL "UserName = 'Caro'", s), 0);
	CHECK_EQ(run(SEL "UserName = 'Carols'", s), 0);
	CHECK_EQ(run(SEL "UserName != 'carol'", s), 0);
	CHECK_EQ(run(SEL "UserName <> 'dave'", s), 1);
	CHECK_EQ(run(SEL "UserName < 'D'", s), 1);
	CHECK_EQ(run(SEL "UserName < 'carol'", s), 0);
	CHECK_EQ(run(SEL "UserName <= 'CAROL'", s), 1);
	CHECK_EQ(run(SEL "UserName > 'b'", s), 1);
	CHECK_EQ(run(SEL "UserName >= 'carolz'", s), 0);
	CHECK_EQ(run(SEL "'b' < UserName", s), 1);
	CHECK_EQ(run(SEL "vmhostname = 'HOST-b'", s), 1);
	CHECK_EQ(run(SEL "UserName = ''", s), 0);

	/* escapes inside literals */
	set_str(s, "UserName", "o'neil\\x\"");
	CHECK_EQ(run(SEL "UserName = 'O\\'Neil\\\\X\\\"'", s), 1);
	CHECK_EQ(run(SEL "UserName = \"o'neil\\\\x\\\"\"", s), 1);
	cim_instance_free(s);
}

static void test_nulls(void)
{
	cim_instance *s = session("h", 1, 0, "u", NULL, NULL, NULL);

	CHECK_EQ(run(SEL "DomainName IS NULL", s), 1);
	CHECK_EQ(run(SEL "DomainName is not null", s), 0);
	CHECK_EQ(run(SEL "UserName IS NOT NULL", s), 1);
	CHECK_EQ(run(SEL "UserName IS NULL", s), 0);
	CHECK_EQ(run(SEL "DomainName = NULL", s), 1);
	CHECK_EQ(run(SEL "NULL = DomainName", s), 1);
	CHECK_EQ(run(SEL "DomainName <> NULL", s), 0);
	CHECK_EQ(run(SEL "UserName != NULL", s), 1);
	CHECK_EQ(run(SEL "NOT DomainName IS NULL", s), 0);
	/* every comparison with a NULL value is false... */
	CHECK_EQ(run(SEL "DomainName = 'x'", s), 0);
	CHECK_EQ(run(SEL "DomainName <> 'x'", s), 0);
	CHECK_EQ(run(SEL "DomainName < 'x'", s), 0);
	CHECK_EQ(run(SEL "DomainName LIKE '%'", s), 0);
	/* ...and NOT negates that */
	CHECK_EQ(run(SEL "NOT DomainName = 'x'", s), 1);
	CHECK_EQ(run(SEL "NOT (DomainName = 'x' OR CollectionId = 'y')", s), 1);
	cim_instance_free(s);
}

static void test_logic(void)
{
	cim_instance *s = session("h", 1, 0, "u", "d", NULL, NULL);

	/* AND binds tighter than OR: T OR (F AND F) */
	CHECK_EQ(run(SEL "SessionId = 1 OR SessionId = 2 AND SessionId = 3", s), 1);
	CHECK_EQ(run(SEL "(SessionId = 1 OR SessionId = 2) AND SessionId = 3", s), 0);
	/* (F AND F) OR T, and F AND (F OR T) */
	CHECK_EQ(run(SEL "SessionId = 2 AND SessionId = 3 OR UserName = 'u'", s), 1);
	CHECK_EQ(run(SEL "SessionId = 2 AND (SessionId = 3 OR UserName = 'u')", s), 0);
	/* NOT binds tighter than AND / OR */
	CHECK_EQ(run(SEL "NOT SessionId = 1 OR UserName = 'u'", s), 1);
	CHECK_EQ(run(SEL "NOT SessionId = 1 AND UserName = 'u'", s), 0);
	CHECK_EQ(run(SEL "NOT (SessionId = 1 AND UserName = 'x')", s), 1);
	CHECK_EQ(run(SEL "NOT NOT SessionId = 1", s), 1);
	CHECK_EQ(run(SEL "NOT NOT NOT SessionId = 1", s), 0);
	CHECK_EQ(run(SEL "not (not (SessionId = 1))", s), 1);
	CHECK_EQ(run(SEL "((((SessionId = 1))))", s), 1);
	CHECK_EQ(run(SEL "SessionId = 2 OR SessionId = 3 OR SessionId = 4 OR SessionId = 1", s), 1);
	CHECK_EQ(run(SEL "SessionId = 1 AND UserName = 'u' AND DomainName = 'd' AND VMName = 'H'", s), 1);
	CHECK_EQ(run(SEL "SessionId = 1 AND UserName = 'u' AND DomainName = 'x' AND VMName = 'H'", s), 0);
	CHECK_EQ(run(SEL "(SessionId = 2 OR UserName = 'u') AND NOT (DomainName = 'x' OR VMName = 'z')", s), 1);
	CHECK_EQ(run(SEL "NOT ((SessionId = 2 OR UserName = 'u') AND DomainName = 'd')", s), 0);
	CHECK_EQ(run(SEL "CollectionId IS NULL AND NOT ClientMachineName IS NOT NULL", s), 1);
	cim_instance_free(s);
}

static void test_like(void)
{
	CHECK(wql_like("admin", "adm%"));
	CHECK(wql_like("ADMIN", "adm%"));
	CHECK(wql_like("admin", "ADM%"));
	CHECK(!wql_like("xadmin", "adm%"));
	CHECK(wql_like("", "%"));
	CHECK(wql_like("", ""));
	CHECK(!wql_like("a", ""));
	CHECK(!wql_like("", "_"));
	CHECK(wql_like("abc", "%%%"));
	CHECK(wql_like("abc", "a_c"));
	CHECK(!wql_like("abbc", "a_c"));
	CHECK(wql_like("abc", "___"));
	CHECK(!wql_like("abc", "____"));
	CHECK(wql_like("mississippi", "%iss%ppi"));
	CHECK(wql_like("mississippi", "m%s%s%i"));
	CHECK(!wql_like("mississippi", "m%s%s%x"));
	CHECK(wql_like("aaab", "%ab"));
	CHECK(wql_like("rdvh1.contoso.com", "%.CONTOSO.COM"));
	CHECK(wql_like("a_b", "a[_]b"));
	CHECK(!wql_like("axb", "a[_]b"));
	CHECK(wql_like("50%", "50[%]"));
	CHECK(!wql_like("50x", "50[%]"));
	CHECK(wql_like("c", "[a-f]"));
	CHECK(wql_like("C", "[a-f]"));
	CHECK(wql_like("c", "[A-F]"));
	CHECK(!wql_like("g", "[a-f]"));
	CHECK(wql_like("g", "[^a-f]"));
	CHECK(!wql_like("D", "[^a-f]"));
	CHECK(wql_like("b", "[abc]"));
	CHECK(!wql_like("d", "[abc]"));
	CHECK(wql_like("d", "[^abc]"));
	CHECK(wql_like("-", "[a-]"));
	CHECK(wql_like("-", "[-a]"));
	CHECK(wql_like("[", "[[]"));
	CHECK(wql_like("x]", "x]"));
	CHECK(wql_like("a9z", "[a-c][0-9][x-z]"));
	CHECK(wql_like("host12", "host[0-9][0-9]"));
	CHECK(!wql_like("host1", "host[0-9][0-9]"));
	CHECK(wql_like("session-7", "%-[^a-z]"));
	/* malformed patterns match nothing through wql_like */
	CHECK(!wql_like("a", "[a"));
	CHECK(!wql_like("a", "[]"));
	CHECK(!wql_like("a", "[z-a]"));
	CHECK(!wql_like(NULL, "%"));
	CHECK(!wql_like("a", NULL));

	cim_instance *s = session("rdvh1.contoso.com", 1, 0, "adm_jo", "d", NULL, NULL);
	CHECK_EQ(run(SEL "UserName LIKE 'ADM[_]%'", s), 1);
	CHECK_EQ(run(SEL "UserName LIKE 'adm[^_]%'", s), 0);
	CHECK_EQ(run(SEL "NOT UserName LIKE 'bob%'", s), 1);
	CHECK_EQ(run(SEL "VMHostName LIKE '%.contoso.com' AND UserName LIKE '%jo'", s), 1);
	CHECK_EQ(run(SEL "UserName LIKE ''", s), 0);
	cim_instance_free(s);
}

static void test_typed(void)
{
	cim_instance *t = cim_instance_new(&typed_class);
	cim_value when;
	rdms_error err;

	CHECK(t != NULL);
	CHECK_EQ(cim_instance_set(t, "Flag", cim_bool(true), &err), 0);
	CHECK_EQ(cim_instance_set(t, "Delta", cim_s32(-5), &err), 0);
	when = cim_string("20240102030405.000000+000");
	when.type = CIM_TYPE_DATETIME;
	CHECK_EQ(cim_instance_set(t, "When", when, &err), 0);
	CHECK_EQ(run("SELECT * FROM Test_Typed WHERE Flag = TRUE", t), 1);
	CHECK_EQ(run("SELECT * FROM Test_Typed WHERE Flag = true", t), 1);
	CHECK_EQ(run("SELECT * FROM Test_Typed WHERE Flag <> TRUE", t), 0);
	CHECK_EQ(run("SELECT * FROM Test_Typed WHERE Flag != FALSE", t), 1);
	CHECK_EQ(run("SELECT * FROM Test_Typed WHERE FALSE = Flag", t), 0);
	CHECK_EQ(run("SELECT * FROM Test_Typed WHERE Flag = 1", t), 1);
	CHECK_EQ(run("SELECT * FROM Test_Typed WHERE Flag = 0", t), 0);
	CHECK_EQ(run("SELECT * FROM Test_Typed WHERE Delta = -5", t), 1);
	CHECK_EQ(run("SELECT * FROM Test_Typed WHERE Delta < -4", t), 1);
	CHECK_EQ(run("SELECT * FROM Test_Typed WHERE Delta > -2147483648", t), 1);
	CHECK_EQ(run("SELECT * FROM Test_Typed WHERE When < '20250101000000.000000+000'", t), 1);
	CHECK_EQ(run("SELECT * FROM Test_Typed WHERE When LIKE '2024%'", t), 1);
	BAD("SELECT * FROM Test_Typed WHERE Flag < TRUE", WBEM_E_INVALID_OPERATOR, 37, "'<'");
	BAD("SELECT * FROM Test_Typed WHERE Flag >= 1", WBEM_E_INVALID_OPERATOR, 37, NULL);
	BAD("SELECT * FROM Test_Typed WHERE Flag = 'yes'", WBEM_E_INVALID_QUERY, 39, "type mismatch");
	BAD("SELECT * FROM Test_Typed WHERE Delta = 2147483648", WBEM_E_INVALID_QUERY, 40, "out of range");
	BAD("SELECT * FROM Test_Typed WHERE Flag LIKE 'x'", WBEM_E_INVALID_OPERATOR, 37, "LIKE");
	cim_instance_free(t);
}

static void test_malformed(void)
{
	char *big;
	size_t n;

	BAD("", WBEM_E_INVALID_QUERY, 1, "empty");
	BAD("   ", WBEM_E_INVALID_QUERY, 4, "empty");
	BAD("DELETE FROM Win32_VirtualDesktopSession", WBEM_E_INVALID_QUERY, 1, "expected SELECT");
	BAD("SELECT FROM Win32_VirtualDesktopSession", WBEM_E_INVALID_QUERY, 8, "property name");
	BAD("SELECT * Win32_VirtualDesktopSession", WBEM_E_INVALID_QUERY, 10, "expected FROM");
	BAD("SELECT *", WBEM_E_INVALID_QUERY, 9, "expected FROM");
	BAD("SELECT UserName, FROM Win32_VirtualDesktopSession", WBEM_E_INVALID_QUERY, 18, NULL);
	BAD("SELECT UserName SessionId FROM Win32_VirtualDesktopSession", WBEM_E_INVALID_QUERY, 17, "FROM");
	BAD("SELECT *, UserName FROM Win32_VirtualDesktopSession", WBEM_E_INVALID_QUERY, 9, "FROM");
	BAD("SELECT * FROM", WBEM_E_INVALID_QUERY, 14, "class name");
	BAD("SELECT * FROM Nope", WBEM_E_INVALID_CLASS, 15, "Nope");
	BAD("SELECT Bogus FROM Win32_VirtualDesktopSession", WBEM_E_INVALID_QUERY, 8, "Bogus");
	BAD("SELECT UserName, Bogus FROM Win32_VirtualDesktopSession", WBEM_E_INVALID_QUERY, 18, "unknown property");
	BAD("SELECT * FROM Win32_VirtualDesktopSession WHERE", WBEM_E_INVALID_QUERY, 48, "condition");
	BAD(SEL "Bogus = 1", WBEM_E_INVALID_QUERY, 49, "unknown property 'Bogus'");
	BAD(SEL "(UserName = 'a'))", WBEM_E_INVALID_QUERY, 65, "')'");
	BAD(SEL "(UserName = 'a'", WBEM_E_INVALID_QUERY, 64, "expected ')'");
	BAD(SEL ")", WBEM_E_INVALID_QUERY, 49, "unexpected ')'");
	BAD(SEL "UserName = 'abc", WBEM_E_INVALID_QUERY, 60, "unterminated string");
	BAD(SEL "UserName = \"abc\\\"", WBEM_E_INVALID_QUERY, 60, "unterminated string");
	BAD(SEL "UserName = 'a\\nb'", WBEM_E_INVALID_QUERY, 62, "invalid escape");
	BAD(SEL "UserName = 'a' extra", WBEM_E_INVALID_QUERY, 64, "trailing input");
	BAD("SELECT * FROM Win32_VirtualDesktopSession GROUP", WBEM_E_INVALID_QUERY, 43, "trailing input");
	BAD(SEL "UserName", WBEM_E_INVALID_QUERY, 57, "comparison operator");
	BAD(SEL "UserName =", WBEM_E_INVALID_QUERY, 59, "literal");
	BAD(SEL "UserName = 5", WBEM_E_INVALID_QUERY, 60, "type mismatch");
	BAD(SEL "SessionId = 'five'", WBEM_E_INVALID_QUERY, 61, "type mismatch");
	BAD(SEL "SessionId = '5x'", WBEM_E_INVALID_QUERY, 61, "type mismatch");
	BAD(SEL "SessionId = ''", WBEM_E_INVALID_QUERY, 61, "type mismatch");
	BAD(SEL "SessionId = '-1'", WBEM_E_INVALID_QUERY, 61, "out of range");
	BAD(SEL "UserName = TRUE", WBEM_E_INVALID_QUERY, 60, "type mismatch");
	BAD(SEL "UserName = DomainName", WBEM_E_INVALID_QUERY, 60, "property-to-property");
	BAD(SEL "1 = 1", WBEM_E_INVALID_QUERY, 51, "needs a property");
	BAD(SEL "UserName IS 5", WBEM_E_INVALID_QUERY, 61, "NULL after IS");
	BAD(SEL "UserName IS NOT 'x'", WBEM_E_INVALID_QUERY, 65, "NULL after IS NOT");
	BAD(SEL "UserName < NULL", WBEM_E_INVALID_OPERATOR, 58, "NULL");
	BAD(SEL "NULL >= UserName", WBEM_E_INVALID_OPERATOR, 54, "NULL");
	BAD(SEL "UserName LIKE 5", WBEM_E_INVALID_QUERY, 63, "string pattern");
	BAD(SEL "UserName LIKE NULL", WBEM_E_INVALID_OPERATOR, 63, "IS NULL");
	BAD(SEL "'adm%' LIKE UserName", WBEM_E_INVALID_QUERY, 56, "property on its left");
	BAD(SEL "SessionId LIKE '1%'", WBEM_E_INVALID_OPERATOR, 59, "string property");
	BAD(SEL "UserName LIKE 'a[bc'", WBEM_E_INVALID_QUERY, 63, "unterminated '['");
	BAD(SEL "UserName LIKE 'a[]'", WBEM_E_INVALID_QUERY, 63, "empty []");
	BAD(SEL "UserName LIKE '[z-a]'", WBEM_E_INVALID_QUERY, 63, "reversed range");
	BAD(SEL "SessionId = 4294967296", WBEM_E_INVALID_QUERY, 61, "out of range");
	BAD(SEL "SessionId = -1", WBEM_E_INVALID_QUERY, 61, "out of range");
	BAD(SEL "SessionId = 99999999999999999999", WBEM_E_INVALID_QUERY, 61, "integer out of range");
	BAD(SEL "SessionId = 3.5", WBEM_E_INVALID_QUERY, 61, "invalid number");
	BAD(SEL "SessionId = 12abc", WBEM_E_INVALID_QUERY, 61, "invalid number");
	BAD(SEL "SessionId == 3", WBEM_E_INVALID_QUERY, 60, "found '='");
	BAD(SEL "SessionId ! 3", WBEM_E_INVALID_QUERY, 59, "'!'");
	BAD(SEL "SessionId = 3 AND", WBEM_E_INVALID_QUERY, 66, "end of query");
	BAD(SEL "SessionId = 3 OR OR SessionId = 4", WBEM_E_INVALID_QUERY, 66, "'OR'");
	BAD(SEL "NOT", WBEM_E_INVALID_QUERY, 52, "end of query");
	BAD(SEL "SessionId = 3 # x", WBEM_E_INVALID_QUERY, 63, "'#'");
	BAD(SEL "UserName = 'caf\xC3\xA9' AND \xC3\xA9 = 1", WBEM_E_INVALID_QUERY, 72, "0xC3");
	BAD(SEL "UserName NOT LIKE 'a%'", WBEM_E_INVALID_QUERY, 58, "'NOT'");
	BAD(SEL "__PATH = 'x'", WBEM_E_INVALID_QUERY, 49, "__PATH");
	BAD("SELECT * FROM Win32_VirtualDesktopSession WHERE TRUE = FALSE", WBEM_E_INVALID_QUERY, 54, NULL);

	/* limits: 257 terms, 65 levels of parentheses, 16385 bytes */
	big = malloc(WQL_MAX_QUERY_TEST);
	CHECK(big != NULL);
	if (big == NULL)
		return;
	n = (size_t)snprintf(big, WQL_MAX_QUERY_TEST, SEL "SessionId = 0");
	for (int i = 1; i < 256; i++)
		n += (size_t)snprintf(big + n, WQL_MAX_QUERY_TEST - n, " OR SessionId = %d", i);
	{
		wql_query *q;
		rdms_error err;
		cim_instance *s = session("h", 255, 0, "u", "d", NULL, NULL);

		CHECK_EQ(wql_parse(big, lookup, &q, &err), 0);   /* exactly 256 is fine */
		CHECK(q != NULL && wql_match(q, s));
		wql_free(q);
		cim_instance_free(s);
	}
	snprintf(big + n, WQL_MAX_QUERY_TEST - n, " AND SessionId = 1");
	bad(big, WBEM_E_QUOTA_VIOLATION, (int)n + 6, "256", __LINE__);

	n = (size_t)snprintf(big, WQL_MAX_QUERY_TEST, SEL);
	for (int i = 0; i < 64; i++)
		big[n++] = '(';
	n += (size_t)snprintf(big + n, WQL_MAX_QUERY_TEST - n, "SessionId = 1");
	for (int i = 0; i < 64; i++)
		big[n++] = ')';
	big[n] = '\0';
	{
		wql_query *q;
		rdms_error err;

		CHECK_EQ(wql_parse(big, lookup, &q, &err), 0);   /* exactly 64 is fine */
		wql_free(q);
	}
	n = (size_t)snprintf(big, WQL_MAX_QUERY_TEST, SEL);
	for (int i = 0; i < 1000; i++)
		big[n++] = '(';
	big[n] = '\0';
	bad(big, WBEM_E_QUOTA_VIOLATION, 49 + 64, "nested", __LINE__);

	n = (size_t)snprintf(big, WQL_MAX_QUERY_TEST, SEL "UserName = '");
	memset(big + n, 'x', 16384 - n);
	big[16384] = '\'';
	big[16385] = '\0';
	CHECK_EQ(strlen(big), 16385);
	bad(big, WBEM_E_QUOTA_VIOLATION, 16385, "16384", __LINE__);

	/* exactly 16384 bytes is still fine */
	n = (size_t)snprintf(big, WQL_MAX_QUERY_TEST, SEL "UserName = '");
	memset(big + n, 'x', 16383 - n);
	big[16383] = '\'';
	big[16384] = '\0';
	{
		wql_query *q;
		rdms_error err;

		CHECK_EQ(wql_parse(big, lookup, &q, &err), 0);
		wql_free(q);
	}

	/* names longer than 255 characters are "too wide" */
	n = (size_t)snprintf(big, WQL_MAX_QUERY_TEST, SEL);
	memset(big + n, 'P', 256);
	snprintf(big + n + 256, WQL_MAX_QUERY_TEST - n - 256, " = 1");
	bad(big, WBEM_E_PROPERTY_NAME_TOO_WIDE, 49, "255", __LINE__);
	n = (size_t)snprintf(big, WQL_MAX_QUERY_TEST, "SELECT * FROM ");
	memset(big + n, 'C', 300);
	big[n + 300] = '\0';
	bad(big, WBEM_E_CLASS_NAME_TOO_WIDE, 15, "255", __LINE__);

	/* a NOT chain is a loop, not recursion: long but legal */
	n = (size_t)snprintf(big, WQL_MAX_QUERY_TEST, SEL);
	for (int i = 0; i < 2000; i++)
		n += (size_t)snprintf(big + n, WQL_MAX_QUERY_TEST - n, "NOT ");
	snprintf(big + n, WQL_MAX_QUERY_TEST - n, "SessionId = 1");
	{
		wql_query *q;
		rdms_error err;
		cim_instance *s = session("h", 1, 0, "u", "d", NULL, NULL);

		CHECK_EQ(wql_parse(big, lookup, &q, &err), 0);
		CHECK(q != NULL && wql_match(q, s));   /* even number of NOTs */
		wql_free(q);
		cim_instance_free(s);
	}
	free(big);

	{
		wql_query *q = (wql_query *)1;
		rdms_error err;

		CHECK_EQ(wql_parse(NULL, lookup, &q, &err), WBEM_E_INVALID_QUERY);
		CHECK(q == NULL);
		CHECK_EQ(wql_parse("SELECT * FROM X", NULL, &q, &err), WBEM_E_INVALID_CLASS);
		CHECK_EQ(wql_parse("SELECT * FROM X", lookup, NULL, &err), WBEM_E_INVALID_PARAMETER);
		CHECK_EQ(wql_parse("SELECT * FROM Nope", lookup, &q, NULL), WBEM_E_INVALID_CLASS);
	}
}

/*
 * Random boolean trees over predicates of known truth, printed with only
 * the parentheses precedence requires (plus some extra ones), must give
 * the same answer as evaluating the tree directly.
 */
static unsigned rng_state = 12345;

static unsigned rng(unsigned n)
{
	rng_state = rng_state * 1103515245u + 12345u;
	return (rng_state >> 16) % n;
}

static const struct {
	const char *text;
	bool        truth;
} leaves[] = {
	{ "SessionId = 1", true },        { "SessionId = 2", false },
	{ "UserName LIKE 'u%'", true },   { "DomainName IS NULL", false },
	{ "CollectionId IS NULL", true }, { "'U' = UserName", true },
	{ "SessionId > 5", false },       { "VMHostName <> 'h'", false },
	{ "CollectionId = 'p'", false },  { "NOT CollectionId = 'p'", true },
};

enum { G_LEAF, G_AND, G_OR };

static void append(char *buf, size_t size, const char *s)
{
	strncat(buf, s, size - strlen(buf) - 1);
}

static bool gen_expr(char *buf, size_t size, int depth, int *kind);

/* One operand of an AND/OR; an OR under AND gets the parentheses it needs. */
static bool gen_operand(char *buf, size_t size, int depth, int parent)
{
	size_t n = strlen(buf);
	int kind;
	bool v = gen_expr(buf, size, depth, &kind);

	if (parent == G_AND && kind == G_OR && strlen(buf) + 2 < size) {
		memmove(buf + n + 1, buf + n, strlen(buf + n) + 1);
		buf[n] = '(';
		append(buf, size, ")");
	}
	return v;
}

/* Appends an expression to BUF; returns its value; *KIND gets its top operator. */
static bool gen_expr(char *buf, size_t size, int depth, int *kind)
{
	bool neg = rng(4) == 0, paren, l, r;
	int op = depth <= 0 || rng(3) == 0 ? G_LEAF : (rng(2) ? G_AND : G_OR);

	if (neg)
		append(buf, size, "NOT ");
	if (op == G_LEAF) {
		unsigned i = rng(sizeof leaves / sizeof leaves[0]);

		append(buf, size, leaves[i].text);
		*kind = G_LEAF;
		return leaves[i].truth != neg;
	}
	/* Always parenthesise under NOT; otherwise only when needed or by chance. */
	paren = neg || rng(4) == 0;
	if (paren)
		append(buf, size, "(");
	l = gen_operand(buf, size, depth - 1, op);
	append(buf, size, op == G_AND ? " AND " : " OR ");
	r = gen_operand(buf, size, depth - 1, op);
	if (paren)
		append(buf, size, ")");
	*kind = paren ? G_LEAF : op;
	return (op == G_AND ? (l && r) : (l || r)) != neg;
}

static void test_random_trees(void)
{
	cim_instance *s = session("h", 1, 0, "u", "d", NULL, NULL);
	char buf[8192];
	int agree = 0;

	for (int i = 0; i < 2000; i++) {
		int kind;
		bool want;

		snprintf(buf, sizeof buf, SEL);
		want = gen_expr(buf, sizeof buf, 5, &kind);
		if (run(buf, s) == (int)want) {
			agree++;
		} else {
			fprintf(stderr, "random tree disagrees (want %d): %s\n", want, buf);
			break;
		}
	}
	CHECK_EQ(agree, 2000);
	cim_instance_free(s);
}

/*
 * Every prefix of the N QUERIES through PARSE must parse or fail cleanly,
 * naming a column (ASan watches); one that parses is run on S.  The counts
 * go to *OK and *FAILED.
 */
static void walk_prefixes(parse_fn parse, const char *const *queries, size_t n,
                          const cim_instance *s, int *ok, int *failed)
{
	char buf[512];

	for (size_t k = 0; k < n; k++) {
		size_t len = strlen(queries[k]);

		for (size_t i = 0; i <= len && i < sizeof buf; i++) {
			wql_query *q;
			rdms_error err;

			memcpy(buf, queries[k], i);
			buf[i] = '\0';
			if (parse(buf, lookup, &q, &err) == 0) {
				(*ok)++;
				if (wql_is_event(q))
					(void)wql_match_event(q, WQL_EVENT_MODIFICATION, s, s);
				else
					(void)wql_match(q, s);
				wql_free(q);
			} else {
				(*failed)++;
				CHECK(q == NULL && err.message[0] != '\0' && strstr(err.message, "column") != NULL);
			}
		}
	}
}

/* Every prefix of valid queries must parse or fail cleanly (ASan watches). */
static void test_prefixes(void)
{
	static const char *const queries[] = {
		SEL "(VMHostName = \"rdvh1\" AND SessionId >= 3) OR NOT UserName LIKE 'a[^b-d]%' "
		"OR ClientMachineName IS NOT NULL",
		"SELECT SessionId, UserName FROM Win32_VirtualDesktopSession WHERE 'x\\'y' <> UserName",
	};
	cim_instance *s = session("h", 1, 0, "u", "d", NULL, NULL);
	int ok = 0, failed = 0;

	walk_prefixes(wql_parse, queries, sizeof queries / sizeof queries[0], s, &ok, &failed);
	CHECK(ok > 2 && failed > 100);
	cim_instance_free(s);
}

/* ---- event queries (wql_parse_event) ------------------------------------------ */

#define EV_ISA "TargetInstance ISA 'Win32_VirtualDesktopSession'"
#define EV_MOD "SELECT * FROM __InstanceModificationEvent WHERE " EV_ISA

#define BAD_EVENT(text, code, col, needle) \
	bad_with(wql_parse_event, text, code, col, needle, __LINE__)

/* 1 when an event of KIND on TARGET (PREVIOUS) matches TEXT, 0 when not, -1 on a parse error. */
static int run_event(const char *text, unsigned kind, const cim_instance *target,
                     const cim_instance *previous)
{
	wql_query *q;
	rdms_error err;
	int r;

	if (wql_parse_event(text, lookup, &q, &err) != 0) {
		fprintf(stderr, "unexpected parse error for <%s>: %s\n", text, err.message);
		return -1;
	}
	r = wql_match_event(q, kind, target, previous);
	wql_free(q);
	return r;
}

static void test_event_parse(void)
{
	wql_query *q;
	rdms_error err;

	CHECK_EQ(wql_parse_event("SELECT * FROM __InstanceCreationEvent WITHIN 5 WHERE " EV_ISA,
	                         lookup, &q, &err), 0);
	CHECK(q != NULL && wql_is_event(q) && wql_class(q) == &session_class);
	CHECK(wql_event_kinds(q) == WQL_EVENT_CREATION && !wql_event_dmtf(q));
	CHECK(wql_event_within(q) == 5 && wql_event_selects_previous(q));
	CHECK(strcmp(wql_event_class_name(q, WQL_EVENT_CREATION), "__InstanceCreationEvent") == 0);
	wql_free(q);

	/* WITHIN may be fractional; keywords and names in any case; ISA anywhere in an AND */
	CHECK_EQ(wql_parse_event("select * from __instanceoperationevent within 0.25 where "
	                         "targetinstance.username = 'a' and TARGETINSTANCE isa "
	                         "\"win32_virtualdesktopsession\"", lookup, &q, &err), 0);
	CHECK(q != NULL && wql_event_within(q) == 0.25);
	CHECK(wql_event_kinds(q) == (WQL_EVENT_CREATION | WQL_EVENT_MODIFICATION |
	                             WQL_EVENT_DELETION));
	wql_free(q);

	/* the DMTF form, SourceInstance, TargetInstance as its alias */
	CHECK_EQ(wql_parse_event("SELECT * FROM CIM_InstModification WHERE SourceInstance ISA "
	                         "'Win32_VirtualDesktopSession' AND TargetInstance.SessionId > 2",
	                         lookup, &q, &err), 0);
	CHECK(q != NULL && wql_event_dmtf(q) && wql_event_kinds(q) == WQL_EVENT_MODIFICATION);
	CHECK(strcmp(wql_event_class_name(q, WQL_EVENT_MODIFICATION), "CIM_InstModification") == 0);
	CHECK(wql_event_within(q) == 0);
	wql_free(q);

	/* what the SELECT list keeps */
	CHECK_EQ(wql_parse_event("SELECT TargetInstance, TIME_CREATED, __CLASS FROM "
	                         "__InstanceModificationEvent WHERE " EV_ISA, lookup, &q, &err), 0);
	CHECK(q != NULL && !wql_event_selects_previous(q));
	wql_free(q);
	CHECK_EQ(wql_parse_event("SELECT PreviousInstance,TargetInstance FROM "
	                         "__InstanceModificationEvent WHERE " EV_ISA, lookup, &q, &err), 0);
	CHECK(q != NULL && wql_event_selects_previous(q));
	wql_free(q);

	/* an event query is not a data query, nor the other way round */
	CHECK_EQ(wql_parse_event(EV_MOD, lookup, &q, &err), 0);
	CHECK(q != NULL);
	{
		cim_instance *s = session("h", 1, 0, "u", "d", NULL, NULL);

		CHECK(!wql_match(q, s));
		wql_free(q);
		CHECK_EQ(wql_parse("SELECT * FROM Win32_VirtualDesktopSession", lookup, &q, &err), 0);
		CHECK(q != NULL && !wql_is_event(q) && wql_event_kinds(q) == 0);
		CHECK(!wql_match_event(q, WQL_EVENT_CREATION, s, NULL));
		wql_free(q);
		cim_instance_free(s);
	}
	CHECK(!wql_is_event(NULL) && wql_event_kinds(NULL) == 0 && !wql_match_event(NULL, 1, NULL, NULL));
}

static void test_event_match(void)
{
	cim_instance *active = session("h", 7, 0, "alice", "D", "C", "pc1");
	cim_instance *disc = session("h", 7, 4, "alice", "D", "C", "pc1");
	cim_instance *moved = session("h", 7, 0, "alice", "D", "C", "pc2");
	cim_instance *bob = session("h", 8, 0, "bob", "D", "C", NULL);
	const char *went_disc = EV_MOD " AND TargetInstance.ConnectState = 4 AND "
	                        "PreviousInstance.ConnectState = 0";
	const char *other_client = EV_MOD " AND TargetInstance.ClientMachineName <> "
	                           "PreviousInstance.ClientMachineName";
	const char *alice = "SELECT * FROM __InstanceOperationEvent WITHIN 5 WHERE " EV_ISA
	                    " AND TargetInstance.UserName = 'Alice'";

	/* spec/events.md 1.2: "went Disconnected" */
	CHECK_EQ(run_event(went_disc, WQL_EVENT_MODIFICATION, disc, active), 1);
	CHECK_EQ(run_event(went_disc, WQL_EVENT_MODIFICATION, active, disc), 0);
	CHECK_EQ(run_event(went_disc, WQL_EVENT_CREATION, disc, active), 0);
	CHECK_EQ(run_event(went_disc, WQL_EVENT_MODIFICATION, disc, NULL), 0);
	/* "moved to another client": property against property, NULL never equal nor unequal */
	CHECK_EQ(run_event(other_client, WQL_EVENT_MODIFICATION, moved, active), 1);
	CHECK_EQ(run_event(other_client, WQL_EVENT_MODIFICATION, disc, active), 0);
	CHECK_EQ(run_event(other_client, WQL_EVENT_MODIFICATION, bob, active), 0);
	CHECK_EQ(run_event(EV_MOD " AND TargetInstance.SessionId = PreviousInstance.SessionId",
	                   WQL_EVENT_MODIFICATION, moved, active), 1);
	CHECK_EQ(run_event(EV_MOD " AND TargetInstance.SessionId > PreviousInstance.SessionId",
	                   WQL_EVENT_MODIFICATION, bob, active), 1);
	/* __InstanceOperationEvent: all three kinds */
	CHECK_EQ(run_event(alice, WQL_EVENT_CREATION, active, NULL), 1);
	CHECK_EQ(run_event(alice, WQL_EVENT_MODIFICATION, disc, active), 1);
	CHECK_EQ(run_event(alice, WQL_EVENT_DELETION, disc, NULL), 1);
	CHECK_EQ(run_event(alice, WQL_EVENT_DELETION, bob, NULL), 0);
	CHECK_EQ(run_event(alice, 0, active, NULL), 0);
	CHECK_EQ(run_event(alice, WQL_EVENT_CREATION | WQL_EVENT_DELETION, active, NULL), 0);
	/* __CLASS is the event's class; TargetInstance.__CLASS the instance's */
	CHECK_EQ(run_event("SELECT * FROM __InstanceOperationEvent WHERE " EV_ISA
	                   " AND __CLASS = '__InstanceDeletionEvent'", WQL_EVENT_DELETION, bob,
	                   NULL), 1);
	CHECK_EQ(run_event("SELECT * FROM __InstanceOperationEvent WHERE " EV_ISA
	                   " AND __CLASS = '__InstanceDeletionEvent'", WQL_EVENT_CREATION, bob,
	                   NULL), 0);
	CHECK_EQ(run_event("SELECT * FROM CIM_InstIndication WHERE SourceInstance ISA "
	                   "'Win32_VirtualDesktopSession' AND __CLASS LIKE 'CIM[_]InstCre%'",
	                   WQL_EVENT_CREATION, bob, NULL), 1);
	CHECK_EQ(run_event(EV_MOD " AND TargetInstance.__CLASS = 'win32_virtualdesktopsession'",
	                   WQL_EVENT_MODIFICATION, moved, active), 1);
	/* the previous instance of a modification given as NULL: its properties are NULL */
	CHECK_EQ(run_event(EV_MOD " AND PreviousInstance.UserName IS NULL",
	                   WQL_EVENT_MODIFICATION, moved, NULL), 1);
	CHECK_EQ(run_event(EV_MOD " AND PreviousInstance.UserName IS NULL",
	                   WQL_EVENT_MODIFICATION, moved, active), 0);
	/* OR and NOT beside the ISA test */
	CHECK_EQ(run_event(EV_MOD " AND (TargetInstance.ConnectState = 4 OR NOT "
	                   "TargetInstance.ClientMachineName LIKE 'pc1')",
	                   WQL_EVENT_MODIFICATION, moved, active), 1);
	CHECK_EQ(run_event(EV_MOD " AND (TargetInstance.ConnectState = 4 OR NOT "
	                   "TargetInstance.ClientMachineName LIKE 'pc1')",
	                   WQL_EVENT_MODIFICATION, active, disc), 0);
	cim_instance_free(active);
	cim_instance_free(disc);
	cim_instance_free(moved);
	cim_instance_free(bob);
}

static void test_event_malformed(void)
{
	/* FROM */
	BAD_EVENT("SELECT * FROM Win32_VirtualDesktopSession", WBEM_E_NOT_EVENT_CLASS, 15,
	          "not an event class");
	BAD_EVENT("SELECT * FROM __ClassCreationEvent WHERE TargetClass ISA 'x'",
	          WBEM_E_NOT_SUPPORTED, 15, "not served");
	BAD_EVENT("SELECT * FROM Nope WHERE " EV_ISA, WBEM_E_INVALID_CLASS, 15, "Nope");
	/* the ISA test: present, on top, one known class */
	BAD_EVENT("SELECT * FROM __InstanceCreationEvent", WBEM_E_UNPARSABLE_QUERY, 38,
	          "ISA");
	BAD_EVENT("SELECT * FROM __InstanceCreationEvent WHERE TargetInstance.UserName = 'a'",
	          WBEM_E_UNPARSABLE_QUERY, 39, "ISA");
	BAD_EVENT("SELECT * FROM __InstanceCreationEvent WHERE " EV_ISA
	          " OR TargetInstance.UserName = 'a'", WBEM_E_UNPARSABLE_QUERY, 45, "AND");
	BAD_EVENT("SELECT * FROM __InstanceCreationEvent WHERE NOT " EV_ISA,
	          WBEM_E_UNPARSABLE_QUERY, 49, "AND");
	BAD_EVENT("SELECT * FROM __InstanceCreationEvent WHERE TargetInstance ISA 'Nope'",
	          WBEM_E_INVALID_CLASS, 64, "Nope");
	BAD_EVENT(EV_MOD " AND TargetInstance ISA 'Test_Typed'", WBEM_E_NOT_SUPPORTED, 121,
	          "one class");
	BAD_EVENT("SELECT * FROM __InstanceCreationEvent WHERE TargetInstance ISA 5",
	          WBEM_E_UNPARSABLE_QUERY, 39, NULL);
	BAD_EVENT(EV_MOD " AND TargetInstance ISA", WBEM_E_INVALID_QUERY, 120,
	          "class name in quotes");
	/* properties */
	BAD_EVENT("SELECT * FROM __InstanceCreationEvent WHERE " EV_ISA
	          " AND PreviousInstance.UserName = 'a'", WBEM_E_INVALID_QUERY, 98,
	          "PreviousInstance");
	BAD_EVENT(EV_MOD " AND SourceInstance.UserName = 'a'", WBEM_E_INVALID_QUERY, 102,
	          "unknown property 'SourceInstance'");
	BAD_EVENT(EV_MOD " AND TargetInstance.Nope = 1", WBEM_E_INVALID_QUERY, 117,
	          "unknown property 'Nope'");
	BAD_EVENT(EV_MOD " AND ConnectState = 4", WBEM_E_INVALID_QUERY, 102,
	          "TargetInstance.Property");
	BAD_EVENT(EV_MOD " AND TargetInstance.UserName.Length = 1",
	          WBEM_E_PROPERTY_NOT_AN_OBJECT, 125, "TargetInstance.UserName");
	BAD_EVENT(EV_MOD " AND __CLASS.x = 1", WBEM_E_PROPERTY_NOT_AN_OBJECT, 109, "__CLASS");
	BAD_EVENT(EV_MOD " AND TargetInstance = 'x'", WBEM_E_INVALID_QUERY, 102, "object");
	BAD_EVENT(EV_MOD " AND TargetInstance.UserName = PreviousInstance", WBEM_E_INVALID_QUERY,
	          128, "object");
	BAD_EVENT(EV_MOD " AND TargetInstance.", WBEM_E_INVALID_QUERY, 117, "after '.'");
	BAD_EVENT(EV_MOD " AND TargetInstance.SessionId = PreviousInstance.UserName",
	          WBEM_E_INVALID_QUERY, 127, "type mismatch");
	BAD_EVENT(EV_MOD " AND TargetInstance.UserName LIKE PreviousInstance.UserName",
	          WBEM_E_INVALID_QUERY, 131, "string pattern");
	BAD_EVENT(EV_MOD " AND TargetInstance.UserName ISA 'x'", WBEM_E_INVALID_QUERY, 126,
	          "ISA");
	BAD_EVENT("SELECT Nope FROM __InstanceModificationEvent WHERE " EV_ISA,
	          WBEM_E_INVALID_QUERY, 8, "unknown property 'Nope'");
	/* WITHIN */
	BAD_EVENT("SELECT * FROM __InstanceCreationEvent WITHIN 0 WHERE " EV_ISA,
	          WBEM_E_INVALID_QUERY, 39, "more than 0");
	BAD_EVENT("SELECT * FROM __InstanceCreationEvent WITHIN -1 WHERE " EV_ISA,
	          WBEM_E_INVALID_QUERY, 39, "more than 0");
	BAD_EVENT("SELECT * FROM __InstanceCreationEvent WITHIN x WHERE " EV_ISA,
	          WBEM_E_INVALID_QUERY, 46, "number of seconds");
	BAD_EVENT("SELECT * FROM __InstanceCreationEvent WITHIN 1.5.5 WHERE " EV_ISA,
	          WBEM_E_INVALID_QUERY, 46, "invalid number");
	BAD_EVENT("SELECT * FROM __InstanceCreationEvent WITHIN 99999999999 WHERE " EV_ISA,
	          WBEM_E_INVALID_QUERY, 39, "at most");
	/* GROUP and HAVING */
	BAD_EVENT(EV_MOD " GROUP WITHIN 60", WBEM_E_NOT_SUPPORTED, 98, "GROUP WITHIN");
	BAD_EVENT(EV_MOD " GROUP BY TargetInstance.UserName", WBEM_E_MISSING_GROUP_WITHIN, 98,
	          NULL);
	BAD_EVENT(EV_MOD " HAVING NumberOfEvents > 1", WBEM_E_INVALID_QUERY, 98, "HAVING");
	BAD_EVENT(EV_MOD " GROUP", WBEM_E_INVALID_QUERY, 103, "WITHIN after GROUP");
	BAD_EVENT(EV_MOD " WITHIN 5", WBEM_E_INVALID_QUERY, 98, "trailing input");

	/* what the data-query parser says to event syntax */
	BAD("SELECT * FROM __InstanceModificationEvent WHERE " EV_ISA, WBEM_E_INVALID_QUERY, 15,
	    "event class");
	BAD("SELECT * FROM Win32_VirtualDesktopSession WITHIN 5", WBEM_E_INVALID_QUERY, 43,
	    "event queries");
	BAD(SEL "UserName ISA 'x'", WBEM_E_INVALID_QUERY, 58, "ISA");
	BAD(SEL "TargetInstance.UserName = 'x'", WBEM_E_INVALID_QUERY, 49,
	    "unknown property 'TargetInstance'");
	BAD(SEL "SessionId = 1.5", WBEM_E_INVALID_QUERY, 61, "only decimal integers");
	BAD(SEL "UserName = PreviousInstance", WBEM_E_INVALID_QUERY, 60, "property-to-property");
}

/* Every prefix of valid event queries must parse or fail cleanly, naming a column. */
static void test_event_prefixes(void)
{
	static const char *const queries[] = {
		"SELECT * FROM __InstanceModificationEvent WITHIN 2.5 WHERE TargetInstance.UserName "
		"LIKE 'a%' AND " EV_ISA " AND (TargetInstance.ConnectState = 4 OR "
		"PreviousInstance.ClientMachineName <> TargetInstance.ClientMachineName)",
		"SELECT TargetInstance FROM CIM_InstIndication WHERE SourceInstance ISA "
		"\"Win32_VirtualDesktopSession\" AND __CLASS <> 'CIM_InstDeletion'",
	};
	cim_instance *s = session("h", 1, 0, "u", "d", NULL, NULL);
	int ok = 0, failed = 0;

	walk_prefixes(wql_parse_event, queries, sizeof queries / sizeof queries[0], s, &ok,
	              &failed);
	CHECK(ok >= 2 && failed > 200);
	cim_instance_free(s);
}

int main(void)
{
	test_select();
	test_spec_examples();
	test_operators();
	test_nulls();
	test_logic();
	test_like();
	test_typed();
	test_malformed();
	test_random_trees();
	test_prefixes();
	test_event_parse();
	test_event_match();
	test_event_malformed();
	test_event_prefixes();
	return check_summary("wql");
}
