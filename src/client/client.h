/*
 * client.h -- a WS-Management client of rdmsd (or of any WinRM endpoint that
 * serves the class), used by `rdms` unless --direct is given.  Transport is
 * libcurl: the local Unix socket by default, or an http(s) URL.
 */
#ifndef RDMS_CLIENT_H
#define RDMS_CLIENT_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "../cim/instance.h"
#include "../cim/path.h"
#include "../ops/ops.h"

typedef struct rdms_client rdms_client;

typedef struct rdms_client_options {
	/*
	 * "http(s)://host:port/wsman", or several separated by commas (brokers:
	 * on a connection failure the same request goes to the next); NULL: the
	 * local socket
	 */
	const char *url;
	const char *socket_path;  /* used when url is NULL */
	const char *user;         /* Basic credentials; NULL on the local socket */
	const char *password;
	bool        insecure;     /* skip TLS certificate checks */
	/*
	 * Optional: sets up TLS on the libcurl handle instead (a fleet broker's
	 * client certificate and pinned host certificate: fleet/host_tls.h);
	 * false when it cannot.
	 */
	bool      (*tls_setup)(void *h, void *ctx);
	void       *tls_ctx;
	long        connect_timeout_ms; /* 0: the default (30 s; 5 s with several URLs) */
	/*
	 * A request that must run at most once (a broker's forwarded method):
	 * once any of its body has left, it is never sent again -- libcurl
	 * would resend it on a new connection when a reused one dies without
	 * an answer.
	 */
	bool        at_most_once;
	/*
	 * Non-zero: a request whose bytes the server's TCP has still not
	 * acknowledged this many milliseconds after it began is given up as
	 * not received (rdms_exchange.unacked): a reused connection to a host
	 * cut off since fails as fast as a new one would to connect.
	 */
	long        ack_timeout_ms;
} rdms_client_options;

/* Checks that each URL of LIST (URL or URL1,URL2...) is an http(s) URL. */
uint32_t rdms_client_check_urls(const char *list, rdms_error *err);

rdms_client *rdms_client_new(const rdms_client_options *o, rdms_error *err);
void rdms_client_free(rdms_client *c);

uint32_t rdms_client_enumerate(rdms_client *c, const cim_class *cls,
                               cim_instance_list *out, rdms_error *err);
uint32_t rdms_client_query(rdms_client *c, const cim_class *cls, const char *wql,
                           cim_instance_list *out, rdms_error *err);
/*
 * One page of the sessions (WQL, may be NULL: a query on them), in key
 * order (VMHostName, SessionId): the first FIRST after AFTER (NULL: from
 * the start) onto OUT, *MORE when the server says more may follow.  Sent
 * as an Enumerate with rdms:Keyset, so no context is kept between pages.
 */
uint32_t rdms_client_page(rdms_client *c, const cim_class *cls, const char *wql,
                          const rdms_key *after, size_t first, cim_instance_list *out,
                          bool *more, rdms_error *err);
uint32_t rdms_client_get(rdms_client *c, const cim_class *cls, const cim_path *path,
                         cim_instance **out, rdms_error *err);
/*
 * As rdms_op_invoke: HRESULT-level result returned, ReturnValue in *RV and,
 * when that is not 0 and the server says why (rdmsd's response header
 * rdms:ReturnValueText), ERR the reason.
 */
uint32_t rdms_client_invoke(rdms_client *c, const cim_class *cls, const cim_path *path,
                            const char *method, const rdms_param *in, size_t nin,
                            uint32_t *rv, rdms_error *err);
/*
 * rdms_client_invoke with SendMessage's options (message.h) sent as a
 * w:OptionSet; a call that waits may take the timeout and a minute.
 */
uint32_t rdms_client_invoke_opts(rdms_client *c, const cim_class *cls, const cim_path *path,
                                 const char *method, const rdms_param *in, size_t nin,
                                 const rdms_message_options *mopt, uint32_t *rv,
                                 rdms_error *err);

/*
 * While *FLAG is non-zero a request in progress is abandoned (within about
 * a second) and fails with WBEM_E_CALL_CANCELLED; NULL turns this off.
 */
void rdms_client_interrupt_on(rdms_client *c, const volatile sig_atomic_t *flag);

/*
 * The next request only: its wsa:MessageID is MESSAGE_ID (NULL: a new one;
 * a forwarded call keeps its client's, so a retry runs once), EXTRA (XML,
 * may be NULL) ends its header, and the whole exchange may take TIMEOUT_MS
 * (0: the default).  The strings must last until that request is sent.
 */
void rdms_client_next_call(rdms_client *c, const char *message_id, const char *extra,
                           long timeout_ms);
/*
 * How the last request went, for telling "not sent" (safe to retry) from
 * "sent, no answer" (the outcome unknown).
 */
typedef struct rdms_exchange {
	bool sent;       /* any of it left */
	bool answered;   /* an HTTP response came back (whatever it said) */
	bool reused;     /* on a connection an earlier request had opened */
	bool unacked;    /* given up: the server's TCP had not acknowledged it all in ack_timeout_ms */
} rdms_exchange;
void rdms_client_last_exchange(const rdms_client *c, rdms_exchange *x);

/* ---- subscriptions (WS-Eventing in Pull mode; client_events.c) ------------ */

/* One event of a subscription. */
typedef struct rdms_client_event {
	unsigned      kind;            /* RDMS_EVENT_CREATION, _MODIFICATION or _DELETION */
	char          event_class[64]; /* __InstanceModificationEvent, CIM_InstModification... */
	int64_t       time_us;         /* when it happened, Unix time in microseconds; 0: unknown */
	cim_instance *target;          /* the instance after (of a Deletion: the last one) */
	cim_instance *previous;        /* the instance before (a Modification), else NULL */
	char         *bookmark;        /* the position right after it; NULL when none was sent */
} rdms_client_event;

typedef struct rdms_client_subscription rdms_client_subscription;

/*
 * Subscribes to the events of the event query WQL on the instances of CLS,
 * from BOOKMARK (NULL: from now; "earliest": as far back as the server
 * keeps), with a heartbeat every HEARTBEAT_S seconds.
 */
uint32_t rdms_client_subscribe(rdms_client *c, const cim_class *cls, const char *wql,
                               const char *bookmark, unsigned heartbeat_s,
                               rdms_client_subscription **out, rdms_error *err);
/*
 * Waits for the subscription's next event (the server holds the request
 * until one comes, or answers empty at the heartbeat): *EV is the event,
 * or NULL after a heartbeat.  An error means the subscription is lost.
 */
uint32_t rdms_client_next_event(rdms_client *c, rdms_client_subscription *s,
                                rdms_client_event **ev, rdms_error *err);
void rdms_client_event_free(rdms_client_event *ev);
/* The bookmark of the last event or heartbeat the server sent with one; NULL: none yet. */
const char *rdms_client_subscription_bookmark(const rdms_client_subscription *s);
/* Ends the subscription on the server. */
uint32_t rdms_client_unsubscribe(rdms_client *c, rdms_client_subscription *s,
                                 rdms_error *err);
void rdms_client_subscription_free(rdms_client_subscription *s);

#endif
