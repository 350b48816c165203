/*
 * fleet_certs.h -- what the fleet's TLS unit tests make their hosts' and
 * brokers' certificates with (OpenSSL): a host makes its own, self-signed.
 */
#ifndef RDMS_TEST_FLEET_CERTS_H
#define RDMS_TEST_FLEET_CERTS_H

#include <openssl/evp.h>
#include <openssl/x509.h>

/* A key (*KEY) and a self-signed certificate for CN, valid for an hour. */
X509 *self_signed(const char *cn, EVP_PKEY **key);
/* X's certificate (or, with X NULL, KEY) as PEM, in a string the caller frees. */
char *pem_of(X509 *x, EVP_PKEY *key);

#endif
