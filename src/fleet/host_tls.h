/*
 * host_tls.h -- how a fleet broker reaches its hosts over HTTPS
 * (spec/fleet.md 3.2): with its own client certificate (fleet_cert,
 * fleet_key), which hosts check against fleet_ca and fleet_brokers, and
 * trusting exactly the server certificate pinned for each host at its
 * registration (its SHA-256 fingerprint, as rdmsd logs it), whoever signed
 * it: hosts make their own self-signed certificates.
 */
#ifndef RDMS_FLEET_HOST_TLS_H
#define RDMS_FLEET_HOST_TLS_H

#include <stdbool.h>
#include <stdint.h>

#include <curl/curl.h>

#include "../cim/wbem.h"
#include "../config/config.h"

/* The broker's certificate and key as PEM, read before privileges are dropped. */
typedef struct fleet_identity {
	char *cert_pem;
	char *key_pem;
} fleet_identity;

/* Reads CFG's fleet_cert and fleet_key (both required) into ID. */
uint32_t fleet_identity_load(const rdms_config *cfg, fleet_identity *id, rdms_error *err);
/* Wipes and frees ID's key and certificate. */
void fleet_identity_clear(fleet_identity *id);

/* A host's pinned certificate, and whether the last handshake showed another. */
typedef struct fleet_pin {
	uint8_t sha256[32];
	bool    mismatch;     /* set by a handshake whose certificate was not this one */
} fleet_pin;

/*
 * Sets H to present ID and to accept only the server certificate PIN
 * names (which must outlive H's transfers); the host name in the URL is
 * not checked (the pin says more).  False when libcurl refuses an option.
 */
bool fleet_tls_setup(CURL *h, const fleet_identity *id, fleet_pin *pin);

/* "SHA256:4E:FD:..." (or the 64 hex digits, colons optional) as 32 bytes; false if not one. */
bool fleet_fingerprint_parse(const char *text, uint8_t out[32]);
/* OUT (at least 104 bytes) = "SHA256:" and the 32 bytes of FP as colon-separated hex. */
void fleet_fingerprint_text(const uint8_t fp[32], char *out, size_t size);

#endif
