/*
 * fleet_trust.c -- brokers by their client certificates (fleet_trust.h).
 */
#include "fleet_trust.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <gnutls/x509.h>

#include "../common/strutil.h"
#include "tls.h"

#define MAX_ENTRIES 64

struct fleet_trust {
	char  *ca_pem;
	char  *entries[MAX_ENTRIES];    /* the allow-list, trimmed */
	size_t n;
};

void fleet_trust_free(fleet_trust *ft)
{
	if (ft == NULL)
		return;
	free(ft->ca_pem);
	for (size_t i = 0; i < ft->n; i++)
		free(ft->entries[i]);
	free(ft);
}

const char *fleet_trust_ca_pem(const fleet_trust *ft)
{
	return ft->ca_pem;
}

/* The hex digits of a fingerprint entry ("SHA256:4E:FD:.." or "4efd..") into HEX[65]; false if none. */
static bool fingerprint_digits(const char *entry, char hex[65])
{
	size_t n = 0;

	if (strncasecmp(entry, "SHA256:", 7) == 0)
		entry += 7;
	for (const char *p = entry; *p != '\0'; p++) {
		if (*p == ':')
			continue;
		if (!isxdigit((unsigned char)*p) || n == 64)
			return false;
		hex[n++] = (char)toupper((unsigned char)*p);
	}
	hex[n] = '\0';
	return n == 64;
}

/* The name an entry gives: "broker1" or "CN=broker1" as "broker1". */
static const char *entry_name(const char *entry)
{
	return strncasecmp(entry, "CN=", 3) == 0 ? entry + 3 : entry;
}

bool fleet_trust_entry_matches(const char *entry, const char *cn, const char *fingerprint)
{
	char want[65], have[65];

	if (fingerprint_digits(entry, want))
		return fingerprint_digits(fingerprint, have) && strcmp(want, have) == 0;
	return cn != NULL && *cn != '\0' && strcasecmp(entry_name(entry), cn) == 0;
}

/* ENTRY is a fingerprint or a subject name (no '=', ',' or ':' in it). */
static bool entry_valid(const char *entry)
{
	const char *name = entry_name(entry);
	char hex[65];

	return fingerprint_digits(entry, hex) || (*name != '\0' && strpbrk(name, "=:") == NULL);
}

uint32_t fleet_trust_load(const rdms_config *cfg, fleet_trust **out, rdms_error *err)
{
	fleet_trust *ft;

	*out = NULL;
	if (cfg->fleet_ca[0] == '\0' && cfg->fleet_brokers[0] == '\0')
		return WBEM_S_NO_ERROR;
	if (cfg->fleet_ca[0] == '\0' || cfg->fleet_brokers[0] == '\0')
		return rdms_fail(err, WBEM_E_INVALID_PARAMETER, "fleet_ca and fleet_brokers go "
		                 "together: brokers are let in by a CA and an allow-list");
	if ((ft = calloc(1, sizeof *ft)) == NULL)
		return rdms_fail(err, WBEM_E_OUT_OF_MEMORY, "out of memory");
	if ((ft->ca_pem = tls_read_pem(cfg->fleet_ca, err)) == NULL) {
		fleet_trust_free(ft);
		return err->code;
	}
	for (const char *p = cfg->fleet_brokers;;) {
		size_t len = strcspn(p, ",");
		char *e = strndup(p, len), *t;

		if (e == NULL) {
			fleet_trust_free(ft);
			return rdms_fail(err, WBEM_E_OUT_OF_MEMORY, "out of memory");
		}
		t = str_trim(e);
		if (ft->n == MAX_ENTRIES)
			rdms_fail(err, WBEM_E_INVALID_PARAMETER, "fleet_brokers: more than %d entries",
			          MAX_ENTRIES);
		else if (*t == '\0' || !entry_valid(t))
			rdms_fail(err, WBEM_E_INVALID_PARAMETER, "fleet_brokers: '%s' is neither a "
			          "subject name nor a SHA256: fingerprint", t);
		if (ft->n == MAX_ENTRIES || *t == '\0' || !entry_valid(t)) {
			free(e);
			fleet_trust_free(ft);
			return err->code;
		}
		memmove(e, t, strlen(t) + 1);
		ft->entries[ft->n++] = e;
		p += len;
		if (*p == '\0')
			break;
		p++;
	}
	*out = ft;
	return WBEM_S_NO_ERROR;
}

/* CRT's subject CN into CN (SIZE bytes); "" when it has none. */
static void subject_cn(gnutls_x509_crt_t crt, char *cn, size_t size)
{
	size_t n = size;

	if (gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, 0, cn, &n) < 0)
		cn[0] = '\0';
}

fleet_peer fleet_trust_peer(const fleet_trust *ft, gnutls_session_t s, char *name,
                            size_t name_size, char *why, size_t why_size)
{
	const gnutls_datum_t *certs;
	unsigned ncerts = 0, status = 0;
	gnutls_x509_crt_t crt = NULL;
	gnutls_datum_t dn = { 0 };
	char fp[TLS_FINGERPRINT_TEXT], cn[256];
	fleet_peer result = FLEET_PEER_REFUSED;
	int rc;

	name[0] = why[0] = '\0';
	certs = gnutls_certificate_get_peers(s, &ncerts);
	if (certs == NULL || ncerts == 0)
		return FLEET_PEER_NONE;
	rc = gnutls_certificate_verify_peers2(s, &status);
	if (rc < 0 || status != 0) {
		gnutls_datum_t text = { 0 };

		if (rc >= 0 && gnutls_certificate_verification_status_print(
		                   status, GNUTLS_CRT_X509, &text, 0) == 0)
			snprintf(why, why_size, "not accepted by fleet_ca: %s", (char *)text.data);
		else
			snprintf(why, why_size, "cannot be verified: %s", gnutls_strerror(rc));
		gnutls_free(text.data);
		return FLEET_PEER_REFUSED;
	}
	if ((rc = gnutls_x509_crt_init(&crt)) < 0 ||
	    (rc = gnutls_x509_crt_import(crt, &certs[0], GNUTLS_X509_FMT_DER)) < 0 ||
	    (rc = tls_fingerprint(crt, fp)) < 0 ||
	    (rc = gnutls_x509_crt_get_dn3(crt, &dn, 0)) < 0) {
		snprintf(why, why_size, "unreadable: %s", gnutls_strerror(rc));
		goto out;
	}
	subject_cn(crt, cn, sizeof cn);
	for (size_t i = 0; i < ft->n; i++) {
		if (fleet_trust_entry_matches(ft->entries[i], cn, fp)) {
			if (cn[0] != '\0')
				snprintf(name, name_size, "%s", cn);
			else
				snprintf(name, name_size, "SHA256:%s", fp);
			result = FLEET_PEER_BROKER;
			goto out;
		}
	}
	snprintf(why, why_size, "%.200s (SHA256:%s) is not in fleet_brokers", (const char *)dn.data, fp);
out:
	gnutls_free(dn.data);
	gnutls_x509_crt_deinit(crt);
	return result;
}
