/*
 * fleet_trust.h -- which TLS clients are fleet brokers (spec/fleet.md 3.2).
 *
 * A host lets a broker in by its client certificate: it must chain to the
 * CA bundle fleet_ca (checked by GnuTLS, dates included) and be on the
 * allow-list fleet_brokers (comma-separated), by its subject name (the
 * subject's CN, "broker1" or "CN=broker1", compared without regard to
 * case: the CA vouches for it) or by its SHA-256 fingerprint
 * ("SHA256:4E:FD:..." or the hex digits alone).  Both
 * settings or neither: a CA alone would let in every certificate it ever
 * signed.  Without them no client certificate is asked for.
 */
#ifndef RDMS_TRANSPORT_FLEET_TRUST_H
#define RDMS_TRANSPORT_FLEET_TRUST_H

#include <stddef.h>

#include <gnutls/gnutls.h>

#include "../cim/wbem.h"
#include "../config/config.h"

typedef struct fleet_trust fleet_trust;

/*
 * Reads CFG's fleet_ca and fleet_brokers into *OUT (NULL when both are
 * unset); an unreadable CA, an empty allow-list beside a CA, or an entry
 * that is neither a subject nor a fingerprint is an error.
 */
uint32_t fleet_trust_load(const rdms_config *cfg, fleet_trust **out, rdms_error *err);
void fleet_trust_free(fleet_trust *ft);

/* The CA bundle, PEM, for the TLS server's trust list (MHD_OPTION_HTTPS_MEM_TRUST). */
const char *fleet_trust_ca_pem(const fleet_trust *ft);

typedef enum {
	FLEET_PEER_NONE,      /* no client certificate */
	FLEET_PEER_BROKER,    /* a broker: NAME is its CN (or fingerprint) */
	FLEET_PEER_REFUSED,   /* a certificate that is not a broker's: WHY says why */
} fleet_peer;

/* What the client of the TLS session S is, with its NAME or WHY it is refused. */
fleet_peer fleet_trust_peer(const fleet_trust *ft, gnutls_session_t s, char *name,
                            size_t name_size, char *why, size_t why_size);

/* True when the allow-list entry ENTRY names the certificate with subject CN and FINGERPRINT. */
bool fleet_trust_entry_matches(const char *entry, const char *cn, const char *fingerprint);

#endif
