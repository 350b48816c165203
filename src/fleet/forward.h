/*
 * forward.h -- a fleet broker runs a method on a session by asking its
 * host (spec/fleet.md 3.7, 3.10).
 *
 * The call goes to the host's WS-Management URL over TLS with the broker's
 * client certificate, trusting only the host's pinned certificate, with
 * the client's MessageID (a retry, through this broker or another, runs
 * once: the host's replay cache is keyed by broker, user and MessageID)
 * and the user in rdms:OnBehalfOf (the host checks its owner rule again
 * and audits "via broker").  What comes back:
 *   the host answered            its ReturnValue, or its fault's code and
 *                                text, unchanged;
 *   nothing could be sent        WBEM_E_TRANSPORT_FAILURE (connection
 *                                refused, unreachable, no connection in
 *                                1 s, or on a kept connection the request
 *                                not acknowledged by the host's TCP in
 *                                FLEET_ACK_TIMEOUT_MS): safe to retry;
 *   sent, no answer in time      WBEM_E_TIMED_OUT: the outcome is unknown;
 *                                a retry with the same MessageID is safe.
 */
#ifndef RDMS_FLEET_FORWARD_H
#define RDMS_FLEET_FORWARD_H

#include <stdint.h>

#include "../ops/ops.h"
#include "forward_pool.h"

/*
 * A request the host's TCP has not acknowledged within this time was not
 * received: on a pooled connection to a host cut off since it was opened,
 * the fault comes as fast as the 1 s connect timeout gives it on a new
 * one (a progress check about once a second sees it).
 */
#define FLEET_ACK_TIMEOUT_MS 800

typedef struct fleet_forward_call {
	const char          *url;         /* the host's WS-Management URL */
	const uint8_t       *pin;         /* its certificate's SHA-256 (32 bytes), pinned */
	const char          *host;        /* the session's VMHostName */
	uint32_t             session_id;
	const cim_method    *m;           /* a method of Win32_VirtualDesktopSession */
	const char *const   *args;        /* its [in] arguments, in its order */
	const rdms_message_options *mopt; /* SendMessage's options, or NULL */
	const rdms_caller   *who;         /* the user, with the request's MessageID */
	const char          *broker;      /* this broker's name */
	long                 timeout_ms;  /* the whole call */
} fleet_forward_call;

/*
 * Runs CALL on a connection of POOL (the broker's identity): the
 * HRESULT-level result as above, the ReturnValue in *RV.
 */
uint32_t fleet_forward(fleet_pool *pool, const fleet_forward_call *call, uint32_t *rv,
                       rdms_error *err);

#endif
