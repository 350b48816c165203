/*
 * test_value.c -- typed values, instances and instance lists.
 */
#include <stdlib.h>
#include <string.h>

#include "cim/instance.h"
#include "cim/value.h"
#include "check.h"
#include "schema/schema.h"

static void test_parse(void)
{
	rdms_error e = { 0 };
	cim_value v;

	CHECK_EQ(cim_value_parse(CIM_TYPE_UINT32, "4294967295", "x", &v, &e), 0);
	CHECK_EQ(v.u.u32, 4294967295u);
	CHECK_EQ(cim_value_parse(CIM_TYPE_UINT32, "0x10", "x", &v, &e), 0);
	CHECK_EQ(v.u.u32, 16);
	CHECK_EQ(cim_value_parse(CIM_TYPE_UINT32, "4294967296", "key SessionId", &v, &e),
	         WBEM_E_VALUE_OUT_OF_RANGE);
	CHECK(strstr(e.message, "SessionId") != NULL);
	CHECK_EQ(cim_value_parse(CIM_TYPE_UINT32, "-1", "x", &v, &e), WBEM_E_VALUE_OUT_OF_RANGE);
	CHECK_EQ(cim_value_parse(CIM_TYPE_UINT32, "12a", "x", &v, &e), WBEM_E_TYPE_MISMATCH);
	CHECK_EQ(cim_value_parse(CIM_TYPE_UINT32, "", "x", &v, &e), WBEM_E_TYPE_MISMATCH);
	CHECK_EQ(cim_value_parse(CIM_TYPE_UINT32, " 1", "x", &v, &e), WBEM_E_TYPE_MISMATCH);
	CHECK_EQ(cim_value_parse(CIM_TYPE_UINT32, "99999999999999999999999", "x", &v, &e),
	         WBEM_E_TYPE_MISMATCH);
	CHECK_EQ(cim_value_parse(CIM_TYPE_SINT32, "-2147483648", "x", &v, &e), 0);
	CHECK_EQ(v.u.s32, INT32_MIN);
	CHECK_EQ(cim_value_parse(CIM_TYPE_SINT32, "2147483648", "x", &v, &e),
	         WBEM_E_VALUE_OUT_OF_RANGE);
	CHECK_EQ(cim_value_parse(CIM_TYPE_BOOLEAN, "TrUe", "x", &v, &e), 0);
	CHECK(v.u.boolean);
	CHECK_EQ(cim_value_parse(CIM_TYPE_BOOLEAN, "yes", "x", &v, &e), WBEM_E_TYPE_MISMATCH);
	CHECK_EQ(cim_value_parse(CIM_TYPE_STRING, "h\"1", "x", &v, &e), 0);
	CHECK_STR(v.u.str, "h\"1");
	cim_value_clear(&v);
	CHECK(v.is_null);
	CHECK_EQ(v.type, CIM_TYPE_STRING);
	CHECK_EQ(cim_value_parse(CIM_TYPE_DATETIME, "20261125094200.000000+000", "x", &v, &e), 0);
	CHECK_EQ(v.type, CIM_TYPE_DATETIME);
	cim_value_clear(&v);
	CHECK_EQ(cim_value_parse(CIM_TYPE_DATETIME, "00000001020304.000000:000", "x", &v, &e), 0);
	cim_value_clear(&v);
	CHECK_EQ(cim_value_parse(CIM_TYPE_DATETIME, "2026-11-25", "x", &v, &e), WBEM_E_TYPE_MISMATCH);
	CHECK_EQ(cim_value_parse(CIM_TYPE_NONE, "1", "x", &v, &e), WBEM_E_INVALID_CIM_TYPE);
}

static void test_text_and_equality(void)
{
	char buf[64];
	cim_value a = cim_string("abc"), b, n = cim_null(CIM_TYPE_UINT32);

	CHECK(cim_value_copy(&b, &a));
	CHECK(a.u.str != b.u.str);
	CHECK(cim_value_equal(&a, &b));
	CHECK_STR(cim_value_text(&a, buf, sizeof buf), "abc");
	CHECK_STR(cim_value_text(&n, buf, sizeof buf), "");
	cim_value u = cim_u32(7), s = cim_s32(-7), t = cim_bool(false);
	CHECK_STR(cim_value_text(&u, buf, sizeof buf), "7");
	CHECK_STR(cim_value_text(&s, buf, sizeof buf), "-7");
	CHECK_STR(cim_value_text(&t, buf, sizeof buf), "FALSE");
	CHECK(!cim_value_equal(&u, &n));
	CHECK(!cim_value_equal(&u, &s));
	CHECK_STR(cim_value_text(&a, buf, 2), "a");   /* truncated, terminated */
	CHECK_STR(cim_type_name(CIM_TYPE_UINT32), "uint32");
	CHECK_EQ(cim_type_from_name("UINT32"), CIM_TYPE_UINT32);
	CHECK_EQ(cim_type_from_name("real64"), CIM_TYPE_NONE);
	cim_value_clear(&a);
	cim_value_clear(&b);
}

static void test_instances(void)
{
	const cim_class *cls = rdms_schema_find("Win32_VirtualDesktopSession");
	cim_instance_list l = { 0 };
	rdms_error e = { 0 };
	cim_instance *i, *copy;

	CHECK(cls != NULL);
	if (cls == NULL)
		return;
	i = cim_instance_new(cls);
	CHECK(i != NULL);
	CHECK(cim_instance_get(i, "SessionId")->is_null);
	CHECK_EQ(cim_instance_get(i, "SessionId")->type, CIM_TYPE_UINT32);
	CHECK_EQ(cim_instance_set(i, "sessionid", cim_u32(3), &e), 0);
	CHECK_EQ(cim_instance_get(i, "SessionId")->u.u32, 3);
	CHECK_EQ(cim_instance_set(i, "UserName", cim_string("alice"), &e), 0);
	CHECK_EQ(cim_instance_set(i, "UserName", cim_string("bob"), &e), 0);
	CHECK_EQ(cim_instance_set(i, "SessionId", cim_string("3"), &e), WBEM_E_TYPE_MISMATCH);
	CHECK_EQ(cim_instance_set(i, "Nope", cim_string("x"), &e), WBEM_E_NOT_FOUND);
	CHECK(strstr(e.message, "Nope") != NULL);
	CHECK(cim_instance_get(i, "Nope") == NULL);
	copy = cim_instance_dup(i);
	CHECK(copy != NULL);
	CHECK_STR(cim_instance_get(copy, "UserName")->u.str, "bob");
	for (int k = 0; k < 100; k++)
		CHECK(cim_instance_list_push(&l, cim_instance_dup(i)));
	CHECK_EQ(l.count, 100);
	cim_instance_list_free(&l);
	CHECK_EQ(l.count, 0);
	cim_instance_free(i);
	cim_instance_free(copy);
	cim_instance_free(NULL);
}

/* One-block instances: strings inside the block are never freed on their own. */
static void test_packed_instances(void)
{
	const cim_class *cls = rdms_schema_find("Win32_VirtualDesktopSession");
	const char *text[64] = { NULL };
	rdms_error e = { 0 };
	size_t user, id;
	cim_instance *i, *copy;

	CHECK(cls != NULL && cls->nprops <= 64);
	if (cls == NULL || cls->nprops > 64)
		return;
	CHECK(cim_class_property(cls, "UserName", &user) != NULL);
	CHECK(cim_class_property(cls, "SessionId", &id) != NULL);
	text[user] = "alice";
	text[id] = "not a string property: ignored";
	i = cim_instance_new_packed(cls, text);
	CHECK(i != NULL);
	if (i == NULL)
		return;
	CHECK_STR(cim_instance_get(i, "UserName")->u.str, "alice");
	CHECK(!cim_instance_get(i, "UserName")->is_null);
	CHECK(cim_instance_get(i, "SessionId")->is_null);
	CHECK(cim_instance_get(i, "ClientMachineName")->is_null);
	copy = cim_instance_dup(i);
	CHECK(copy != NULL);
	/* Replacing a packed string must not free() it (ASan would say so). */
	CHECK_EQ(cim_instance_set(i, "UserName", cim_string("bob"), &e), 0);
	CHECK_STR(cim_instance_get(i, "UserName")->u.str, "bob");
	CHECK_EQ(cim_instance_set(i, "UserName", cim_string("carol"), &e), 0);
	CHECK_STR(cim_instance_get(copy, "UserName")->u.str, "alice");
	cim_instance_free(i);
	cim_instance_free(copy);
	i = cim_instance_new_packed(cls, NULL);
	CHECK(i != NULL && cim_instance_get(i, "UserName")->is_null);
	cim_instance_free(i);
}

/* DMTF timestamps and intervals from and to Unix seconds. */
static void test_datetimes(void)
{
	char out[CIM_DATETIME_SIZE];
	int64_t t = 0;
	uint64_t secs = 0;
	cim_value v = cim_datetime("20260102030405.000000+000");

	CHECK(cim_datetime_from_unix(0, out));
	CHECK_STR(out, "19700101000000.000000+000");
	CHECK(cim_datetime_from_unix(1796510417, out));
	CHECK(cim_datetime_valid(out));
	CHECK(cim_datetime_to_unix(out, &t) && t == 1796510417);
	/* an offset is minutes east of UTC: 01:00 at +060 is midnight UTC */
	CHECK(cim_datetime_to_unix("19700101010000.000000+060", &t) && t == 0);
	CHECK(cim_datetime_to_unix("19691231230000.000000-060", &t) && t == 0);
	CHECK(!cim_datetime_to_unix("00000001020304.000000:000", &t));     /* an interval */
	CHECK(!cim_datetime_to_unix("2026010203040*.000000+000", &t));
	CHECK(!cim_datetime_to_unix("20261302030405.000000+000", &t));     /* month 13 */
	CHECK(!cim_datetime_to_unix("2026", &t));
	CHECK(!cim_datetime_from_unix(400000000000LL, out));                /* year > 9999 */

	cim_interval_from_seconds(93784, out);
	CHECK_STR(out, "00000001020304.000000:000");
	CHECK(cim_interval_to_seconds(out, &secs) && secs == 93784);
	cim_interval_from_seconds(0, out);
	CHECK(cim_interval_to_seconds(out, &secs) && secs == 0);
	CHECK(!cim_interval_to_seconds("20260102030405.000000+000", &secs));
	CHECK(!cim_interval_to_seconds("00000000006000.000000:000", &secs));   /* 60 minutes */
	cim_interval_from_seconds(UINT64_MAX, out);                            /* capped, valid */
	CHECK(cim_datetime_valid(out));

	CHECK_EQ(v.type, CIM_TYPE_DATETIME);
	CHECK(!v.is_null);
	cim_value_clear(&v);
}

int main(void)
{
	test_parse();
	test_datetimes();
	test_text_and_equality();
	test_instances();
	test_packed_instances();
	return check_summary("value");
}
