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

#include "../cim/wbem.h"
#include "../config/config.h"

/*
 * Loads (or first creates) the certificate and key as PEM text; the caller
 * frees both.  Checks that they parse and belong together, and logs the
 * certificate's SHA-256 fingerprint.
 */
uint32_t tls_load(const rdms_config *cfg, char **cert_pem, char **key_pem,
                  rdms_error *err);

#endif
