/*
 * test_wbem.c -- the one WMI error table: names, values, CIM status and
 * WS-Man subcodes, against the values of rdms-class.md section 4.
 */
#include <stdbool.h>
#include <string.h>

#include "cim/wbem.h"
#include "check.h"

static void test_known_values(void)
{
	CHECK_EQ(WBEM_E_NOT_FOUND, 0x80041002u);
	CHECK_EQ(WBEM_E_ACCESS_DENIED, 0x80041003u);
	CHECK_EQ(WBEM_E_INVALID_QUERY, 0x80041017u);
	CHECK_EQ(WBEM_E_INVALID_OBJECT_PATH, 0x8004103Au);
	CHECK_EQ(WBEM_E_METHOD_DISABLED, 0x80041056u);   /* missing on the doc page */
	CHECK_EQ(WBEM_E_PROVIDER_ALREADY_REGISTERED, 0x80041084u); /* doc misprint */
	CHECK_EQ(WBEM_E_RESOURCE_CONTENTION, 0x80043002u);
	CHECK_EQ(WBEMMOF_E_EXPECTED_PROPERTY_NAME, 0x8004400Cu);   /* doc repeats ...0B */
	CHECK_EQ(WBEMMOF_E_INVALID_DELETECLASS_SYNTAX, 0x80044031u);
	CHECK_EQ(WBEM_S_NO_MORE_DATA, 0x40005u);
	CHECK_EQ(WBEM_S_PARTIAL_RESULTS, 0x40010u);
	CHECK_EQ(WBEM_E_RESERVED_001, WBEM_E_TRANSACTION_CONFLICT);
	CHECK_EQ(WBEM_E_RESERVED_002, 0x8004106Eu);
}

static void test_lookup(void)
{
	const wbem_code *c = wbem_lookup(0x80041002u);

	CHECK(c != NULL);
	CHECK_STR(c->name, "WBEM_E_NOT_FOUND");
	CHECK_EQ(c->cim_status, 6);
	CHECK_STR(c->wsman_subcode, "wsa:DestinationUnreachable");
	CHECK_STR(wbem_lookup(WBEM_E_ACCESS_DENIED)->wsman_subcode, "wsman:AccessDenied");
	CHECK_EQ(wbem_lookup(WBEM_E_ACCESS_DENIED)->cim_status, 2);
	CHECK_EQ(wbem_lookup(WBEM_E_INVALID_NAMESPACE)->cim_status, 3);
	CHECK_EQ(wbem_lookup(WBEM_E_INVALID_PARAMETER)->cim_status, 4);
	CHECK_EQ(wbem_lookup(WBEM_E_INVALID_CLASS)->cim_status, 5);
	CHECK_EQ(wbem_lookup(WBEM_E_NOT_SUPPORTED)->cim_status, 7);
	CHECK_EQ(wbem_lookup(WBEM_E_INVALID_METHOD)->cim_status, 17);
	CHECK_EQ(wbem_lookup(WBEM_E_FAILED)->cim_status, 1);
	CHECK_EQ(wbem_lookup(WBEM_E_INVALID_QUERY)->cim_status, 15);
	CHECK_EQ(wbem_lookup(WBEM_E_INVALID_QUERY_TYPE)->cim_status, 14);
	CHECK(wbem_lookup(0x8004104Au) == NULL);   /* a gap in the sequence */
	CHECK(wbem_lookup(0x12345678u) == NULL);
	CHECK_STR(wbem_name(WBEM_E_INVALID_QUERY), "WBEM_E_INVALID_QUERY");
	CHECK_STR(wbem_name(0x12345678u), "0x12345678");
	CHECK_STR(wbem_name(0), "WBEM_S_NO_ERROR");
	CHECK(wbem_lookup_name("WBEM_E_TIMED_OUT") != NULL);
	CHECK_EQ(wbem_lookup_name("WBEM_E_TIMED_OUT")->value, 0x80041069u);
	CHECK(wbem_lookup_name("WBEM_E_NO_SUCH_THING") == NULL);
	CHECK(wbem_failed(WBEM_E_FAILED));
	CHECK(!wbem_failed(WBEM_S_FALSE));
}

/* Every entry is well-formed and unique, and every error carries both mappings. */
static void test_table_consistency(void)
{
	size_t n;
	const wbem_code *t = wbem_table(&n);
	size_t errors = 0;

	CHECK(n >= 150);
	for (size_t i = 0; i < n; i++) {
		bool is_error = (t[i].value & 0x80000000u) != 0;

		if (is_error) {
			errors++;
			if (t[i].cim_status < 1 || t[i].cim_status > 28 || t[i].wsman_subcode == NULL)
				CHECK(!"error without CIM status or subcode");
			if (strncmp(t[i].name, "WBEM", 4) != 0)
				CHECK(!"error name does not start with WBEM");
		} else if (t[i].cim_status != 0) {
			CHECK(!"success code with a CIM error status");
		}
		for (size_t j = i + 1; j < n; j++) {
			if (t[i].value == t[j].value || strcmp(t[i].name, t[j].name) == 0) {
				fprintf(stderr, "duplicate: %s %s\n", t[i].name, t[j].name);
				CHECK(!"duplicate entry");
			}
		}
	}
	CHECK(errors > 140);
}

static void test_error_record(void)
{
	rdms_error e = { 0 };

	CHECK_EQ(rdms_fail(&e, WBEM_E_NOT_FOUND, "no session %d on host %s", 7, "h1"),
	         WBEM_E_NOT_FOUND);
	CHECK_EQ(e.code, WBEM_E_NOT_FOUND);
	CHECK_STR(e.message, "no session 7 on host h1");
	rdms_error_clear(&e);
	CHECK_EQ(e.code, 0);
	CHECK_STR(e.message, "");
	CHECK_EQ(rdms_fail(NULL, WBEM_E_FAILED, "ignored"), WBEM_E_FAILED);
}

int main(void)
{
	test_known_values();
	test_lookup();
	test_table_consistency();
	test_error_record();
	return check_summary("wbem");
}
