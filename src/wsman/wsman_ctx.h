/*
 * wsman_ctx.h -- stateless enumeration contexts (spec/fleet.md 3.6): all
 * an enumeration needs to go on, sealed into the EnumerationContext text
 * the client sends back, so that the service keeps nothing between an
 * Enumerate and its Pulls, and any broker sharing the signing secret can
 * serve the next Pull (even after a restart).
 *
 * The text is WSMAN_CTX_PREFIX then base64url (no padding, canonical) of
 * payload || MAC, the MAC (32 bytes: HMAC-SHA256 at a fleet broker, under
 * its directory's secret) taken over the payload.  The payload is a format
 * version, the mode, the expiry (Unix ms), the key after which the next
 * item comes, and the strings: whom it was issued to, namespace, class,
 * ResourceURI, __cimnamespace selector and the WQL filter, each with its
 * length.  Nothing of it is secret (a client may decode its own contexts);
 * it cannot be altered, cut short, replayed by another caller or used
 * after its expiry without wsman_ctx_open refusing it.
 */
#ifndef RDMS_WSMAN_CTX_H
#define RDMS_WSMAN_CTX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../ops/ops.h"

#define WSMAN_CTX_PREFIX  "rdms-ctx1:"
#define WSMAN_CTX_MAC     32
/* The longest context text accepted: a WQL filter of 16 KB fits. */
#define WSMAN_CTX_MAX_LEN 24576

typedef void (*wsman_ctx_mac_fn)(void *ctx, const void *data, size_t len,
                                 uint8_t out[WSMAN_CTX_MAC]);

typedef struct wsman_ctx_state {
	uint8_t     mode;          /* wsman_mode */
	int64_t     expires_ms;    /* Unix time */
	bool        started;       /* AFTER is set: items after it come next */
	rdms_key    after;
	const char *owner;         /* the caller it was issued to */
	const char *ns;
	const char *class_name;
	const char *uri;           /* the ResourceURI its items are written with */
	const char *ns_selector;   /* may be NULL */
	const char *wql;           /* the filter; may be NULL */
} wsman_ctx_state;

/* True when TEXT has the form of a stateless context (its validity is wsman_ctx_open's). */
bool wsman_ctx_is_sealed(const char *text);

/* S sealed with MAC (malloc'd text); NULL: no memory, or too long. */
char *wsman_ctx_seal(const wsman_ctx_state *s, wsman_ctx_mac_fn mac, void *mac_ctx);

/* The longest text wsman_ctx_seal makes for S, whatever S's key. */
size_t wsman_ctx_sealed_max(const wsman_ctx_state *s);

/*
 * Opens TEXT: true with *S (its strings in *BUF, the caller's to free) when
 * its MAC verifies, it is OWNER's and it has not expired at NOW_MS; false
 * with WHY ("tampered or truncated", "expired", "issued to another caller",
 * ...; *BUF NULL) otherwise.
 */
bool wsman_ctx_open(const char *text, wsman_ctx_mac_fn mac, void *mac_ctx, const char *owner,
                    int64_t now_ms, wsman_ctx_state *s, void **buf, const char **why);

#endif
