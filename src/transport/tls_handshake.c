/*
 * tls_handshake.c -- a failed TLS handshake, logged as what it is
 * (tls_handshake.h).
 *
 * libmicrohttpd runs each connection on one I/O thread (http.c's mode),
 * handshake included, and calls the logger from that thread when the
 * handshake fails.  So a GnuTLS handshake hook, set on each session as its
 * connection starts, notes on its thread which connection last processed a
 * handshake message; the logger, on the same thread, then finds the client
 * and the alert it sent while the session is still alive (MHD frees it
 * later).  An I/O thread interleaves connections, so a failure that comes
 * with no handshake message of its own (an alert alone) is told as that of
 * the connection whose message came last on the thread.
 * The tls_peer travels in the session's database pointer: rdmsd keeps no
 * session cache, so GnuTLS hands that pointer to nothing else, while MHD
 * keeps the session's own pointer for itself.
 */
#include "tls_handshake.h"

#include <stddef.h>
#include <string.h>

#include <gnutls/gnutls.h>

#include "../common/log.h"

#define TRUST_ADVICE "a client must trust it (its SHA-256 fingerprint is logged at start) " \
                     "or skip the check, as curl -k does"

/* The connection whose handshake runs on this thread, or NULL. */
static _Thread_local tls_peer *handshaking;

static int on_handshake_message(gnutls_session_t session, unsigned int htype, unsigned when,
                                unsigned int incoming, const gnutls_datum_t *msg)
{
	tls_peer *p = gnutls_db_get_ptr(session);

	(void)when;
	(void)msg;
	if (p != NULL) {
		p->hello = true;
		p->cert_sent |= !incoming && htype == GNUTLS_HANDSHAKE_CERTIFICATE_PKT;
		p->finished |= incoming && htype == GNUTLS_HANDSHAKE_FINISHED;
		handshaking = p;
	}
	return 0;
}

void tls_peer_watch(tls_peer *p, void *session)
{
	p->session = session;
	gnutls_db_set_ptr(session, p);
	gnutls_handshake_set_hook_function(session, GNUTLS_HANDSHAKE_ANY, GNUTLS_HOOK_PRE,
	                                   on_handshake_message);
}

/* Whether ALERT says the client does not accept the server's certificate. */
static bool certificate_alert(gnutls_alert_description_t alert)
{
	switch (alert) {
	case GNUTLS_A_BAD_CERTIFICATE:
	case GNUTLS_A_UNSUPPORTED_CERTIFICATE:
	case GNUTLS_A_CERTIFICATE_REVOKED:
	case GNUTLS_A_CERTIFICATE_EXPIRED:
	case GNUTLS_A_CERTIFICATE_UNKNOWN:
	case GNUTLS_A_UNKNOWN_CA:
		return true;
	default:
		return false;
	}
}

bool tls_handshake_failure(const char *msg)
{
	tls_peer *p = handshaking;
	gnutls_alert_description_t alert;
	const char *name;

	if (strstr(msg, "handshake") == NULL)
		return false;
	if (p == NULL || p->reported) {
		/* No handshake message was read: tls_peer_closed() reports it. */
		log_debug("libmicrohttpd: %s", msg);
		return true;
	}
	p->reported = true;
	handshaking = NULL;
	/* The alert the client sent; none received reads as close_notify. */
	alert = gnutls_alert_get(p->session);
	name = gnutls_alert_get_name(alert);
	if (certificate_alert(alert))
		log_warn("%s: TLS handshake with %s failed: the client rejected this server's "
		         "certificate (TLS alert: %s); %s", p->kind, p->source,
		         name != NULL ? name : "?", TRUST_ADVICE);
	else if (alert != GNUTLS_A_CLOSE_NOTIFY && name != NULL)
		log_warn("%s: TLS handshake with %s failed: the client ended it with the TLS "
		         "alert: %s", p->kind, p->source, name);
	else if (p->cert_sent && !p->finished)
		log_warn("%s: TLS handshake with %s failed: the client broke it off on receiving "
		         "this server's certificate, most likely because it does not trust it; %s",
		         p->kind, p->source, TRUST_ADVICE);
	else
		log_warn("%s: TLS handshake with %s failed: no TLS version or cipher suite in "
		         "common, or the client closed the connection during it", p->kind,
		         p->source);
	return true;
}

void tls_peer_closed(const tls_peer *p)
{
	/* Its I/O thread serves other connections' handshakes too: forget it. */
	if (handshaking == p)
		handshaking = NULL;
	if (!p->hello)
		log_info("%s: %s sent no TLS handshake (not a TLS client, or a port probe); "
		         "connection closed", p->kind, p->source);
}
