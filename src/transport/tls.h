/*
 * tls.h -- the HTTPS certificate and key.
 *
 * With tls_cert and tls_key set, those files are used.  Without them the
 * daemon uses its own self-signed certificate, created on first start next
 * to the audit database (rdmsd-cert.pem, rdmsd-key.pem), so HTTPS works out
 * of the box; clients then skip the CA check (-SkipCACheck, curl -k) or pin
 * the SHA-256 fingerprint the daemon logs.
 */
#ifndef RDMS_TRANSPORT_TLS_H
#define RDMS_TRANSPORT_TLS_H

#include <gnutls/x509.h>

#include "../cim/wbem.h"
#include "../config/config.h"

/*
 * Loads (or first creates) the certificate and key as PEM text; the caller
 * frees both.  Checks that they parse and belong together, and logs the
 * certificate's SHA-256 fingerprint.
 */
uint32_t tls_load(const rdms_config *cfg, char **cert_pem, char **key_pem,
                  rdms_error *err);

/* Reads the PEM file PATH (at most 64 KiB) into a new string. */
char *tls_read_pem(const char *path, rdms_error *err);

/* Bytes of a SHA-256 fingerprint as text, "4E:FD:...", with its terminator. */
#define TLS_FINGERPRINT_TEXT (32 * 3)
/* CRT's SHA-256 fingerprint as that text; 0 or a GnuTLS error code. */
int tls_fingerprint(gnutls_x509_crt_t crt, char hex[TLS_FINGERPRINT_TEXT]);

#endif
