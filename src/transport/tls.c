/*
 * tls.c -- the HTTPS certificate: configured, or self-signed on first start
 * (tls.h).
 *
 * The generated key is ECDSA P-256: created instantly, and accepted by
 * every TLS 1.2 client including Windows' Schannel.  The certificate names
 * the host (CN and DNS SAN) plus localhost and 127.0.0.1, is valid for ten
 * years and is marked as a TLS server certificate that is not a CA.
 * The key file is created 0600 with O_EXCL, so it is never readable by
 * others, not even for a moment.
 */
#include "tls.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "../common/file_read.h"
#include "../common/log.h"
#include "../common/strutil.h"
#include "../common/write_all.h"

#define MAX_PEM (64 * 1024)
#define VALID_DAYS (10 * 365)

char *tls_read_pem(const char *path, rdms_error *err)
{
	return file_read_small(path, MAX_PEM, err);
}

/* Writes DATA to a new file PATH with MODE; the file must not exist. */
static bool write_new(const char *path, const gnutls_datum_t *data, mode_t mode,
                      rdms_error *err)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	bool ok;

	if (fd < 0) {
		rdms_fail(err, WBEM_E_FAILED, "cannot create %s: %s", path, strerror(errno));
		return false;
	}
	ok = write_all(fd, data->data, data->size) && fsync(fd) == 0;
	if (close(fd) != 0)
		ok = false;
	if (!ok) {
		rdms_fail(err, WBEM_E_FAILED, "cannot write %s: %s", path, strerror(errno));
		unlink(path);
	}
	return ok;
}

/* Subject, names, validity and extensions of the self-signed certificate. */
static int fill_cert(gnutls_x509_crt_t crt, gnutls_x509_privkey_t key)
{
	static const unsigned char localhost_ip[4] = { 127, 0, 0, 1 };
	char host[256] = "localhost";
	unsigned char serial[16], keyid[64];
	size_t keyid_len = sizeof keyid;
	time_t now = time(NULL);
	int rc;

	gethostname(host, sizeof host - 1);
	if (getrandom(serial, sizeof serial, 0) != (ssize_t)sizeof serial)
		return GNUTLS_E_RANDOM_FAILED;
	serial[0] &= 0x7f;   /* a positive INTEGER */
	if ((rc = gnutls_x509_crt_set_version(crt, 3)) < 0 ||
	    (rc = gnutls_x509_crt_set_serial(crt, serial, sizeof serial)) < 0 ||
	    (rc = gnutls_x509_crt_set_activation_time(crt, now - 3600)) < 0 ||
	    (rc = gnutls_x509_crt_set_expiration_time(crt, now + VALID_DAYS * 86400L)) < 0 ||
	    (rc = gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, host,
	                                        (unsigned)strlen(host))) < 0 ||
	    (rc = gnutls_x509_crt_set_key(crt, key)) < 0 ||
	    (rc = gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_DNSNAME, host,
	                                               (unsigned)strlen(host), GNUTLS_FSAN_APPEND)) < 0 ||
	    (rc = gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_DNSNAME, "localhost", 9,
	                                               GNUTLS_FSAN_APPEND)) < 0 ||
	    (rc = gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_IPADDRESS, localhost_ip,
	                                               sizeof localhost_ip, GNUTLS_FSAN_APPEND)) < 0 ||
	    (rc = gnutls_x509_crt_set_basic_constraints(crt, 0, -1)) < 0 ||
	    (rc = gnutls_x509_crt_set_key_usage(crt, GNUTLS_KEY_DIGITAL_SIGNATURE)) < 0 ||
	    (rc = gnutls_x509_crt_set_key_purpose_oid(crt, GNUTLS_KP_TLS_WWW_SERVER, 0)) < 0 ||
	    (rc = gnutls_x509_crt_get_key_id(crt, 0, keyid, &keyid_len)) < 0 ||
	    (rc = gnutls_x509_crt_set_subject_key_id(crt, keyid, keyid_len)) < 0)
		return rc;
	return gnutls_x509_crt_sign2(crt, crt, key, GNUTLS_DIG_SHA256, 0);
}

/* Creates a key and self-signed certificate in CERT_PATH / KEY_PATH. */
static uint32_t generate(const char *cert_path, const char *key_path, rdms_error *err)
{
	gnutls_x509_privkey_t key = NULL;
	gnutls_x509_crt_t crt = NULL;
	gnutls_datum_t key_pem = { NULL, 0 }, cert_pem = { NULL, 0 };
	uint32_t ret = WBEM_S_NO_ERROR;
	int rc;

	if ((rc = gnutls_x509_privkey_init(&key)) < 0 ||
	    (rc = gnutls_x509_privkey_generate(key, GNUTLS_PK_ECDSA,
	                                       GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0)) < 0 ||
	    (rc = gnutls_x509_crt_init(&crt)) < 0 || (rc = fill_cert(crt, key)) < 0 ||
	    (rc = gnutls_x509_privkey_export2_pkcs8(key, GNUTLS_X509_FMT_PEM, NULL,
	                                            GNUTLS_PKCS_PLAIN, &key_pem)) < 0 ||
	    (rc = gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, &cert_pem)) < 0)
		ret = rdms_fail(err, WBEM_E_FAILED, "cannot create a TLS certificate: %s",
		                gnutls_strerror(rc));
	else if (!write_new(key_path, &key_pem, 0600, err))
		ret = WBEM_E_FAILED;
	else if (!write_new(cert_path, &cert_pem, 0644, err)) {
		unlink(key_path);
		ret = WBEM_E_FAILED;
	}
	if (ret == 0)
		log_info("created a self-signed TLS certificate %s (key %s)", cert_path, key_path);
	if (key_pem.data != NULL) {
		explicit_bzero(key_pem.data, key_pem.size);
		gnutls_free(key_pem.data);
	}
	gnutls_free(cert_pem.data);
	gnutls_x509_crt_deinit(crt);
	gnutls_x509_privkey_deinit(key);
	return ret;
}

int tls_fingerprint(gnutls_x509_crt_t crt, char hex[TLS_FINGERPRINT_TEXT])
{
	unsigned char fp[32];
	size_t fp_len = sizeof fp;
	int rc = gnutls_x509_crt_get_fingerprint(crt, GNUTLS_DIG_SHA256, fp, &fp_len);

	if (rc < 0 || fp_len != sizeof fp)
		return rc < 0 ? rc : GNUTLS_E_INTERNAL_ERROR;
	for (size_t i = 0; i < fp_len; i++)
		snprintf(hex + 3 * i, 4, "%02X%s", fp[i], i + 1 < fp_len ? ":" : "");
	return 0;
}

/* Checks that CERT and KEY are usable together; logs the fingerprint. */
static uint32_t check_pair(const char *cert, const char *key, const char *cert_path,
                           rdms_error *err)
{
	gnutls_certificate_credentials_t cred = NULL;
	gnutls_x509_crt_t crt = NULL;
	gnutls_datum_t c = { (unsigned char *)cert, (unsigned)strlen(cert) };
	gnutls_datum_t k = { (unsigned char *)key, (unsigned)strlen(key) };
	char hex[TLS_FINGERPRINT_TEXT];
	int rc;

	if ((rc = gnutls_certificate_allocate_credentials(&cred)) < 0 ||
	    (rc = gnutls_certificate_set_x509_key_mem2(cred, &c, &k, GNUTLS_X509_FMT_PEM,
	                                               NULL, 0)) < 0 ||
	    (rc = gnutls_x509_crt_init(&crt)) < 0 ||
	    (rc = gnutls_x509_crt_import(crt, &c, GNUTLS_X509_FMT_PEM)) < 0 ||
	    (rc = tls_fingerprint(crt, hex)) < 0) {
		gnutls_x509_crt_deinit(crt);
		gnutls_certificate_free_credentials(cred);
		return rdms_fail(err, WBEM_E_FAILED, "TLS certificate %s or its key: %s",
		                 cert_path, gnutls_strerror(rc));
	}
	log_info("TLS certificate %s, SHA-256 fingerprint %s", cert_path, hex);
	gnutls_x509_crt_deinit(crt);
	gnutls_certificate_free_credentials(cred);
	return WBEM_S_NO_ERROR;
}

/* Paths of the certificate and key: configured, or the generated pair. */
static uint32_t pick_paths(const rdms_config *cfg, char *cert, char *key, size_t size,
                           bool *generated, rdms_error *err)
{
	char dir[PATH_MAX];
	char *slash;

	*generated = cfg->tls_cert[0] == '\0' && cfg->tls_key[0] == '\0';
	if (!*generated) {
		if (cfg->tls_cert[0] == '\0' || cfg->tls_key[0] == '\0')
			return rdms_fail(err, WBEM_E_INVALID_PARAMETER,
			                 "tls_cert and tls_key must be set together");
		str_copy(cert, size, cfg->tls_cert);
		str_copy(key, size, cfg->tls_key);
		return WBEM_S_NO_ERROR;
	}
	str_copy(dir, sizeof dir, cfg->audit_db);
	slash = strrchr(dir, '/');
	if (slash == NULL)
		str_copy(dir, sizeof dir, ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	if (mkdir(dir, 0755) != 0 && errno != EEXIST)
		return rdms_fail(err, WBEM_E_FAILED, "cannot create %s: %s", dir, strerror(errno));
	if ((size_t)snprintf(cert, size, "%s/rdmsd-cert.pem", dir) >= size ||
	    (size_t)snprintf(key, size, "%s/rdmsd-key.pem", dir) >= size)
		return rdms_fail(err, WBEM_E_INVALID_PARAMETER, "path too long: %s", dir);
	return WBEM_S_NO_ERROR;
}

uint32_t tls_load(const rdms_config *cfg, char **cert_pem, char **key_pem,
                  rdms_error *err)
{
	char cert_path[PATH_MAX], key_path[PATH_MAX];
	bool generated, have_cert, have_key;
	uint32_t rc;

	*cert_pem = *key_pem = NULL;
	rc = pick_paths(cfg, cert_path, key_path, sizeof cert_path, &generated, err);
	if (rc != 0)
		return rc;
	have_cert = access(cert_path, F_OK) == 0;
	have_key = access(key_path, F_OK) == 0;
	if (generated && !have_cert && !have_key) {
		rc = generate(cert_path, key_path, err);
		if (rc != 0)
			return rc;
	} else if (generated && have_cert != have_key) {
		return rdms_fail(err, WBEM_E_FAILED, "%s exists but %s does not; remove it to "
		                 "have a new pair created", have_cert ? cert_path : key_path,
		                 have_cert ? key_path : cert_path);
	}
	*cert_pem = tls_read_pem(cert_path, err);
	*key_pem = *cert_pem != NULL ? tls_read_pem(key_path, err) : NULL;
	rc = *key_pem != NULL ? check_pair(*cert_pem, *key_pem, cert_path, err)
	                      : WBEM_E_FAILED;
	if (rc != 0) {
		free(*cert_pem);
		if (*key_pem != NULL)
			explicit_bzero(*key_pem, strlen(*key_pem));
		free(*key_pem);
		*cert_pem = *key_pem = NULL;
	}
	return rc;
}
