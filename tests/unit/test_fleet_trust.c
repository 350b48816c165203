/*
 * test_fleet_trust.c -- the allow-list of fleet brokers (fleet_trust.h):
 * its entries as subjects or fingerprints, and the settings refused at
 * start.  The certificates themselves are checked end to end by
 * tests/e2e/test_fleet_trust.py (openssl-made CA and brokers, curl).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../src/transport/fleet_trust.h"
#include "check.h"

#define FP "4E:FD:81:8D:6B:02:A3:B6:F8:0B:9A:00:63:0F:CC:E9:24:08:E3:C2:E6:1E:29:9C:C3:2D:F5:1D:A6:5B:12:D3"

static void test_entries(void)
{
	const char *subject = "broker1";    /* the certificate's CN */

	CHECK(fleet_trust_entry_matches("broker1", subject, FP));
	CHECK(fleet_trust_entry_matches("CN=broker1", subject, FP));
	CHECK(fleet_trust_entry_matches("cn=BROKER1", subject, FP));
	CHECK(!fleet_trust_entry_matches("broker", subject, FP));
	CHECK(!fleet_trust_entry_matches("broker2", subject, FP));
	/* a certificate without a CN matches by fingerprint only */
	CHECK(!fleet_trust_entry_matches("broker1", "", FP));
	CHECK(fleet_trust_entry_matches("SHA256:" FP, subject, FP));
	CHECK(fleet_trust_entry_matches("sha256:4efd818d6b02a3b6f80b9a00630fcce92408e3c2e61e299cc32df51da65b12d3",
	                                subject, FP));
	/* one digit off, or short */
	CHECK(!fleet_trust_entry_matches("SHA256:4E:FD:81:8D:6B:02:A3:B6:F8:0B:9A:00:63:0F:CC:E9:24:08:"
	                                 "E3:C2:E6:1E:29:9C:C3:2D:F5:1D:A6:5B:12:D4", subject, FP));
	CHECK(!fleet_trust_entry_matches("SHA256:4E:FD", subject, FP));
	/* a fingerprint entry never matches a subject that looks like one */
	CHECK(!fleet_trust_entry_matches("SHA256:" FP, "SHA256:" FP, "00"));
}

static uint32_t load(const char *ca, const char *brokers, fleet_trust **ft, rdms_error *err)
{
	rdms_config cfg;

	memset(&cfg, 0, sizeof cfg);
	snprintf(cfg.fleet_ca, sizeof cfg.fleet_ca, "%s", ca);
	snprintf(cfg.fleet_brokers, sizeof cfg.fleet_brokers, "%s", brokers);
	memset(err, 0, sizeof *err);
	return fleet_trust_load(&cfg, ft, err);
}

static void test_settings(void)
{
	char ca[] = "/tmp/rdms-fleet-ca-XXXXXX";
	int fd = mkstemp(ca);
	fleet_trust *ft = NULL;
	rdms_error err;

	CHECK(fd >= 0);
	CHECK(write(fd, "-----BEGIN CERTIFICATE-----\n", 28) == 28);
	close(fd);
	/* off: neither */
	CHECK_EQ(load("", "", &ft, &err), WBEM_S_NO_ERROR);
	CHECK(ft == NULL);
	/* one without the other */
	CHECK_EQ(load(ca, "", &ft, &err), WBEM_E_INVALID_PARAMETER);
	CHECK(strstr(err.message, "go together") != NULL);
	CHECK_EQ(load("", "CN=b1", &ft, &err), WBEM_E_INVALID_PARAMETER);
	/* entries: subject names or fingerprints, comma-separated, blanks trimmed */
	CHECK_EQ(load(ca, "b1 , CN=b2, SHA256:" FP, &ft, &err), WBEM_S_NO_ERROR);
	CHECK(ft != NULL && strstr(fleet_trust_ca_pem(ft), "BEGIN CERTIFICATE") != NULL);
	fleet_trust_free(ft);
	ft = NULL;
	CHECK_EQ(load(ca, "CN=b1,O=x", &ft, &err), WBEM_E_INVALID_PARAMETER);
	CHECK(strstr(err.message, "'O=x'") != NULL && ft == NULL);
	CHECK_EQ(load(ca, "b1,,", &ft, &err), WBEM_E_INVALID_PARAMETER);
	CHECK_EQ(load(ca, "SHA256:12:34", &ft, &err), WBEM_E_INVALID_PARAMETER);
	CHECK_EQ(load("/nonexistent/ca.pem", "CN=b1", &ft, &err), WBEM_E_FAILED);
	CHECK(strstr(err.message, "/nonexistent/ca.pem") != NULL && ft == NULL);
	unlink(ca);
}

int main(void)
{
	test_entries();
	test_settings();
	return check_summary("fleet_trust");
}
