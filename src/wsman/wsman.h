/*
 * wsman.h -- the WS-Management front end (protocols.md section 1): turns a
 * SOAP request into calls on the operation layer and the result into the
 * SOAP reply or fault.  It knows nothing of sockets, TLS or passwords: the
 * transport hands it the body and an authenticated caller.
 */
#ifndef RDMS_WSMAN_H
#define RDMS_WSMAN_H

#include <stdbool.h>
#include <stddef.h>

#include "../common/body_stream.h"
#include "../events/feed.h"
#include "../ops/ops.h"

typedef struct wsman_service wsman_service;   /* enumeration contexts, replay cache */

typedef struct wsman_reply {
	int   http_status;    /* 200, 400, 413 or 500 (fault) */
	char *body;           /* malloc'd; the caller frees */
	size_t len;
	/* wsman_handle_streamed: the rest of the reply, after BODY, written while
	 * it is sent (an enumeration); the caller runs or ends it */
	body_stream stream;
} wsman_reply;

wsman_service *wsman_service_new(rdms_provider *p, const rdms_config *cfg);
void wsman_service_free(wsman_service *s);

/*
 * Where subscriptions read session events (WS-Eventing, wsman_events.c):
 * FEED, and HEAD(CTX), the newest position of the journal the feed mirrors
 * (where a subscription without a bookmark starts).
 */
typedef struct wsman_event_source {
	rdms_feed     *feed;
	rdms_feed_pos (*head)(void *ctx);
	/*
	 * The sessions exactly as the journal has them at a position: each to
	 * FN, and *AT that position (rdms_feed_state; in rdmsd's network
	 * process a FEED_STATE request to priv).  An Enumerate that asks for
	 * rdms:Position is answered from it.  NULL: such an Enumerate gets no
	 * position.
	 */
	uint32_t      (*state)(void *ctx, rdms_session_fn fn, void *fn_ctx, rdms_feed_pos *at,
	                       rdms_error *err);
	/*
	 * A fleet broker's feed (src/fleet/events.h), whose sessions are its
	 * hosts': INSTANCE makes an event session's instance (NULL when out
	 * of memory), and VISIBLE says whether USER, not an admin, may see it
	 * (the broker's owner rule).  NULL: a host's feed -- instances by the
	 * config, a non-admin sees the sessions of its uid.
	 */
	cim_instance *(*instance)(const rdms_event_session *es);
	bool          (*visible)(const char *user, const rdms_event_session *es);
	void          *ctx;
} wsman_event_source;

/* Serves subscriptions from SRC (called once, before requests come); false when out of memory. */
bool wsman_service_events(wsman_service *s, const wsman_event_source *src);

/*
 * How a request is held (a Pull on a subscription waits for events): HOLD
 * suspends the request being handled and returns a token (NULL: it cannot
 * be held, answer now); COMPLETE answers the held request later, from any
 * thread, taking REPLY over; false when its client is gone.
 */
typedef struct wsman_holder {
	void *(*hold)(void *ctx);
	bool  (*complete)(void *held, wsman_reply *reply);
	void  *ctx;
} wsman_holder;

/*
 * How the users a fleet broker speaks for (rdms:OnBehalfOf) are known here:
 * FN fills OUT's uid, user and is_admin for USER; false when there is no
 * such user.
 */
typedef bool (*wsman_user_resolver)(void *ctx, const char *user, rdms_caller *out);
void wsman_service_users(wsman_service *s, wsman_user_resolver fn, void *ctx);

/*
 * The media types of WS-Man requests: SOAP 1.2's, as every client sends it
 * (application/soap+xml;charset=UTF-8), and text/xml, which OMI takes too.
 * The transport refuses any other (browser_guard.h).  NULL-terminated.
 */
extern const char *const wsman_media_types[];

/* True when BODY is an Identify request (served without authentication). */
bool wsman_is_identify(const char *body, size_t len);

/*
 * Handles one request.  WHO is NULL only for an unauthenticated Identify.
 * Always fills OUT (a fault for anything it cannot serve).
 */
void wsman_handle(wsman_service *s, const rdms_caller *who, const char *body,
                  size_t len, wsman_reply *out);
/*
 * wsman_handle, but an optimized enumeration whose items all surely fit in
 * MaxEnvelopeSize leaves them in OUT->stream (body_stream.h), to be written
 * while they are sent: BODY is then the envelope up to the items.
 */
void wsman_handle_streamed(wsman_service *s, const rdms_caller *who, const char *body,
                           size_t len, wsman_reply *out);
/*
 * wsman_handle_streamed, with H to hold a Pull that waits for events: when
 * *HELD comes back true, OUT is unused and the reply goes to H->complete.
 */
void wsman_handle_held(wsman_service *s, const rdms_caller *who, const char *body, size_t len,
                       const wsman_holder *h, wsman_reply *out, bool *held);

#endif
