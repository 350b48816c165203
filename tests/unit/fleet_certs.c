/*
 * fleet_certs.c -- certificates for the fleet's TLS unit tests
 * (fleet_certs.h).
 */
#include "fleet_certs.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>

/* A key and a self-signed certificate for CN. */
X509 *self_signed(const char *cn, EVP_PKEY **key)
{
	X509 *x = X509_new();
	X509_NAME *name;

	*key = EVP_EC_gen("P-256");
	if (x == NULL || *key == NULL)
		return x;
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), -60);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, *key);
	name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, name);
	X509_sign(x, *key, EVP_sha256());
	return x;
}

/* What PEM_write_bio_* wrote to a memory BIO, as a string the caller frees. */
char *pem_of(X509 *x, EVP_PKEY *key)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *data, *out;
	long n;

	if (x != NULL)
		PEM_write_bio_X509(b, x);
	else
		PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL);
	n = BIO_get_mem_data(b, &data);
	out = calloc(1, (size_t)n + 1);
	memcpy(out, data, (size_t)n);
	BIO_free(b);
	return out;
}
