/*
 * wsman_internal.h -- the private vocabulary of the WS-Management front end
 * (src/wsman) and of the WS-Man client (src/client), which speak the same
 * wire format.
 *
 * A request goes through three stages, one file each:
 *   wsman_parse.c  XML body -> wsman_request (every check that can fail on
 *                  the request itself happens here, before anything runs)
 *   wsman.c        wsman_request -> operation layer -> reply or wsman_fault
 *   wsman_reply.c  envelopes, instances, EPRs, classes and faults as text
 * wsman_enum.c keeps the enumeration contexts (wsman_ctx.c seals those of a
 * fleet broker instead, which keeps none) and wsman_replay.c the replies
 * to re-sent MessageIDs.
 */
#ifndef RDMS_WSMAN_INTERNAL_H
#define RDMS_WSMAN_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <libxml/tree.h>

#include "../common/strutil.h"
#include "../common/xml_read.h"
#include "wsman.h"

/* ---- namespaces (matched by URI, never by prefix) ----------------------- */
#define NS_SOAP    "http://www.w3.org/2003/05/soap-envelope"
#define NS_WSA     "http://schemas.xmlsoap.org/ws/2004/08/addressing"
#define NS_WSMAN   "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"
#define NS_WSEN    "http://schemas.xmlsoap.org/ws/2004/09/enumeration"
#define NS_WXF     "http://schemas.xmlsoap.org/ws/2004/09/transfer"
#define NS_WSMB    "http://schemas.dmtf.org/wbem/wsman/1/cimbinding.xsd"
#define NS_WSMID   "http://schemas.dmtf.org/wbem/wsman/identity/1/wsmanidentity.xsd"
#define NS_MSWSMAN "http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd"
#define NS_CIM     "http://schemas.dmtf.org/wbem/wscim/1/common"
#define NS_XSI     "http://www.w3.org/2001/XMLSchema-instance"
#define NS_WSE     "http://schemas.xmlsoap.org/ws/2004/08/eventing"
#define NS_WSMANFAULT "http://schemas.microsoft.com/wbem/wsman/1/wsmanfault"
/* rdms's own headers (ReturnValueText, Position), which no client must understand */
#define NS_RDMS    "urn:rdms:wsman:1"

/* ---- ResourceURI prefixes and well-known URIs (protocols.md 1.3) -------- */
#define URI_WMI_PREFIX    "http://schemas.microsoft.com/wbem/wsman/1/wmi/"
#define URI_DMTF_PREFIX   "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/"
#define URI_CIMXML_PREFIX "http://schemas.dmtf.org/wbem/cim-xml/2/cim-schema/2/"
#define URI_ANONYMOUS     "http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous"

#define ACTION_GET        NS_WXF "/Get"
#define ACTION_PUT        NS_WXF "/Put"
#define ACTION_CREATE     NS_WXF "/Create"
#define ACTION_DELETE     NS_WXF "/Delete"
#define ACTION_ENUMERATE  NS_WSEN "/Enumerate"
#define ACTION_PULL       NS_WSEN "/Pull"
#define ACTION_RELEASE    NS_WSEN "/Release"
#define ACTION_SUBSCRIBE  NS_WSE "/Subscribe"
#define ACTION_UNSUBSCRIBE NS_WSE "/Unsubscribe"
#define ACTION_RENEW      NS_WSE "/Renew"
#define ACTION_GETSTATUS  NS_WSE "/GetStatus"

/* WS-Eventing (spec/events.md 2.1) */
#define URI_ALL_CLASSES   "http://schemas.dmtf.org/wbem/wscim/1/*"
#define MODE_PULL         "http://schemas.dmtf.org/wbem/wsman/1/wsman/Pull"
#define BOOKMARK_EARLIEST "http://schemas.dmtf.org/wbem/wsman/1/wsman/bookmark/earliest"

#define DIALECT_WQL       "http://schemas.microsoft.com/wbem/wsman/1/WQL"
#define DIALECT_CQL       "http://schemas.dmtf.org/wbem/cql/1/dsp0202.pdf"
#define DIALECT_SELECTOR  "http://schemas.dmtf.org/wbem/wsman/1/wsman/SelectorFilter"
#define DIALECT_ASSOC     "http://schemas.dmtf.org/wbem/wsman/1/cimbinding/associationFilter"

#define FAULT_DETAIL      "http://schemas.dmtf.org/wbem/wsman/1/wsman/faultDetail/"

/* Limits on what a request may carry. */
#define WSMAN_MAX_DEPTH        32     /* element nesting of an accepted envelope */
#define WSMAN_MAX_SELECTORS    16
#define WSMAN_MAX_PARAMS       16
#define WSMAN_MAX_ID_LEN       256    /* MessageID, a host's EnumerationContext */
#define WSMAN_MIN_ENVELOPE     8192   /* MaxEnvelopeSize below this: EncodingLimit */
#define WSMAN_MAX_ELEMENTS     1000000
#define WSMAN_CTX_PER_USER     32     /* default max_enumerations_per_user */
#define WSMAN_CTX_TOTAL        2048

/* ---- a per-request string arena ----------------------------------------- */
typedef struct wsman_arena {
	struct wsman_arena_blk *head;
} wsman_arena;

/* A copy of N bytes of S in A (terminated); NULL on allocation failure. */
char *wsman_arena_strndup(wsman_arena *a, const char *s, size_t n);
void wsman_arena_free(wsman_arena *a);

/* ---- faults ------------------------------------------------------------- */
typedef struct wsman_fault {
	uint32_t    code;          /* WBEM_E_*: WSManFault/@Code and the CIM status */
	const char *subcode;       /* QName; NULL: the wbem table's subcode */
	const char *detail;        /* faultDetail URI suffix ("InvalidValue") or NULL */
	int         http_status;   /* 0: 500 */
	const char *nu_ns;         /* s:MustUnderstand: the header not understood */
	const char *nu_name;
	char        reason[512];
} wsman_fault;

/* Sets F and returns false, so parsers can `return wsman_fail(...)`. */
bool wsman_fail(wsman_fault *f, uint32_t code, const char *subcode,
                const char *detail, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/* ---- the parsed request ------------------------------------------------- */
typedef enum wsman_op {
	WSMAN_OP_IDENTIFY, WSMAN_OP_GET, WSMAN_OP_ENUMERATE, WSMAN_OP_PULL,
	WSMAN_OP_RELEASE, WSMAN_OP_INVOKE,
	WSMAN_OP_SUBSCRIBE, WSMAN_OP_UNSUBSCRIBE, WSMAN_OP_RENEW,
} wsman_op;

typedef enum wsman_uri_kind {
	WSMAN_URI_WMI,        /* .../wmi/<ns>/<Class> */
	WSMAN_URI_DMTF,       /* .../cim-schema/2/<Class> + __cimnamespace */
	WSMAN_URI_WILDCARD,   /* .../wmi/<ns>/"*" (WQL enumerations) */
	WSMAN_URI_CLASSDEF,   /* .../cim-xml/2/cim-schema/2/"*" (Get-CimClass) */
	WSMAN_URI_ALL,        /* .../wscim/1/"*" + __cimnamespace (subscriptions) */
} wsman_uri_kind;

typedef enum wsman_mode {
	WSMAN_MODE_OBJECT, WSMAN_MODE_EPR, WSMAN_MODE_OBJECT_EPR,
} wsman_mode;

typedef enum wsman_filter_kind {
	WSMAN_FILTER_NONE, WSMAN_FILTER_WQL, WSMAN_FILTER_SELECTOR, WSMAN_FILTER_ASSOC,
} wsman_filter_kind;

typedef struct wsman_selector {
	const char *name;
	const char *value;
} wsman_selector;

typedef struct wsman_arg {
	const char *name;     /* as sent; matched case-insensitively */
	const char *value;    /* NULL for xsi:nil */
} wsman_arg;

typedef struct wsman_request {
	wsman_arena     arena;
	wsman_op        op;
	const char     *action;        /* as sent (NULL for Identify) */
	const char     *message_id;    /* NULL only when the request had none */
	const char     *resource_uri;
	wsman_uri_kind  uri_kind;
	const char     *ns;            /* namespace from the URI or __cimnamespace */
	const char     *class_name;    /* NULL for the wildcard URI */
	wsman_selector  sel[WSMAN_MAX_SELECTORS];   /* without __cimnamespace */
	size_t          nsel;
	long            max_envelope;  /* 0: not given */

	/* Enumerate */
	bool              want_position;  /* rdms:Position: the snapshot at a journal position */
	bool              keyset;         /* rdms:Keyset: in key order, after KEYSET_AFTER if started */
	bool              keyset_started;
	rdms_key          keyset_after;
	bool              optimize;
	uint32_t          max_elements;   /* 0: not given */
	wsman_mode        mode;
	wsman_filter_kind filter;
	const char       *filter_text;
	wsman_selector    fsel[WSMAN_MAX_SELECTORS];
	size_t            nfsel;

	/* Pull, Release */
	const char *context;
	size_t      max_chars;            /* 0: not given */
	long        timeout_ms;           /* w:OperationTimeout; 0: not given */

	/* Subscribe (filter and filter_text as Enumerate's); Unsubscribe */
	const char *to;                   /* wsa:To, the subscription manager's address */
	const char *delivery_mode;        /* NULL: Push, WS-Eventing's default */
	long        heartbeat_ms;         /* w:Heartbeats; 0: none */
	long        expires_ms;           /* e:Expires as a duration; 0: none */
	const char *expires;              /* as sent (echoed) */
	bool        send_bookmarks;
	bool        connection_retry;     /* w:ConnectionRetry: push only */
	const char *bookmark;             /* w:Bookmark text; NULL: none */
	const char *identifier;           /* e:Identifier header (Unsubscribe, Renew) */

	/* rdms:OnBehalfOf, a broker's forwarded call (spec/fleet.md 3.2); user NULL: none */
	struct {
		const char *user, *domain, *source, *protocol, *broker;
	} on_behalf;

	/* Invoke */
	const char *method;
	wsman_arg   args[WSMAN_MAX_PARAMS];
	size_t      nargs;
	rdms_message_options msg_opts;    /* SendMessage's, from the OptionSet */
} wsman_request;

/*
 * Reads an XML document safely: no network, no DTD (any DOCTYPE is refused,
 * so XXE and entity expansion cannot happen), bounded depth, UTF-8 only.
 * NULL with F set (HTTP 400 or EncodingLimit) on failure.  wsman_parse
 * reads requests into the light tree of xml_read.h; the client reads
 * replies as a libxml2 document.
 */
xml_tree *wsman_tree_read(const char *body, size_t len, wsman_fault *f);
xmlDoc *wsman_xml_read(const char *body, size_t len, wsman_fault *f);

/* The client's libxml2 tree: true when NODE is an element named LOCAL in namespace NS. */
bool wsman_is(const xmlNode *node, const char *ns, const char *local);
/* First element child of NODE, or the next element sibling. */
xmlNode *wsman_first_elem(const xmlNode *node);
xmlNode *wsman_next_elem(const xmlNode *node);

/*
 * Parses BODY into REQ (zero it first; free with wsman_request_free).
 * False with F set for anything malformed or unsupported.
 */
bool wsman_parse(const char *body, size_t len, wsman_request *req, wsman_fault *f);
void wsman_request_free(wsman_request *req);

/*
 * An xs:duration ("PT60.000S", "P1DT2H", no years or months) in
 * milliseconds; false when it is not one or exceeds a day * 10,000.
 */
bool wsman_duration_ms(const char *s, long *ms);

/* ---- reply writing (wsman_reply.c) -------------------------------------- */

/* Appends S as XML character data (ATTR: also escapes quotes); invalid UTF-8 and
 * forbidden control characters become '?'. */
void wsman_escape(strbuf *b, const char *s, bool attr);

/*
 * <s:Envelope ...><s:Header>...</s:Header><s:Body>; ACTION NULL leaves the
 * addressing headers out (IdentifyResponse).  The envelope binds the
 * prefixes s, wsa, wsen and wsman (EPR selectors must use wsman:, 1.5).
 */
void wsman_write_head(strbuf *b, const char *action, const char *relates_to);
/*
 * wsman_write_head for a method's response: when RETURN_VALUE_TEXT is not
 * NULL (the reason of a ReturnValue other than 0), it goes in the header
 * <rdms:ReturnValueText s:mustUnderstand="false"> (NS_RDMS), which clients
 * that do not know it ignore, so that the method's _OUTPUT stays exactly
 * the class's.
 */
void wsman_write_invoke_head(strbuf *b, const char *action, const char *relates_to,
                             const char *return_value_text);
/* wsman_write_head with the header elements EXTRA (text, may be NULL) added. */
void wsman_write_head_extra(strbuf *b, const char *action, const char *relates_to,
                            const char *extra);
/* </s:Body></s:Envelope> */
void wsman_write_tail(strbuf *b);

/*
 * INST as the property PROP of an event instance whose prefix is p (an
 * embedded instance, spec/events.md 2.5): <p:PROP xmlns:q="URI"
 * xsi:type="q:Class_Type"> and its properties in q.
 */
void wsman_write_embedded(strbuf *b, const char *prop, const cim_instance *inst,
                          const char *uri);

/* How instances of one result are written. */
typedef struct wsman_render {
	const char      *uri;         /* ResourceURI of the instances (p namespace, EPR) */
	const char      *ns_selector; /* __cimnamespace value for EPRs (DMTF form) or NULL */
	const wql_query *query;       /* projection, or NULL for every property */
	wsman_mode       mode;
	/* The namespace declarations (p, xsi, cim) are made once, by the element
	 * holding the items (wsman_write_item_ns), not by each instance: they
	 * were a third of an instance's bytes. */
	bool             shared_ns;
} wsman_render;

void wsman_write_instance(strbuf *b, const cim_instance *inst, const char *uri,
                          const wql_query *query);
void wsman_write_epr(strbuf *b, const cim_instance *inst, const char *uri,
                     const char *ns_selector);
/* One enumeration item in the mode of R. */
void wsman_write_item(strbuf *b, const cim_instance *inst, const wsman_render *r);
/* The attributes xmlns:p (URI), xmlns:xsi and xmlns:cim, for an element holding shared_ns items. */
void wsman_write_item_ns(strbuf *b, const char *uri);
/*
 * The most bytes wsman_write_item writes, in the mode of R, for an instance
 * of CLS carrying at most TEXT_MAX bytes of text (cim_instance_text_bytes);
 * SIZE_MAX when it cannot tell.
 */
size_t wsman_item_bound(const cim_class *cls, size_t text_max, const wsman_render *r);
void wsman_write_identify(strbuf *b, bool authenticated);
/* A complete fault envelope into OUT. */
void wsman_write_fault(wsman_reply *out, const wsman_fault *f,
                       const char *relates_to, const char *machine);
/* A fresh "uuid:..." into BUF (at least 42 bytes). */
void wsman_uuid(char *buf, size_t size);

/* ---- enumeration contexts (wsman_enum.c) -------------------------------- */
typedef struct wsman_enum_ctx {
	char               id[48];
	char              *owner;
	time_t             expires;
	/* the instances still to give (a snapshot's, or a list's: a query) */
	rdms_cursor       *cur;
	cim_instance_list  items;      /* a query's result, before it becomes CUR */
	size_t             pos;        /* of CLASSES */
	wql_query         *query;      /* projection; owned */
	const cim_class  **classes;    /* class enumeration (Get-CimClass) instead */
	size_t             nclasses;
	char              *uri;
	char              *ns_selector;
	wsman_mode         mode;
	/*
	 * A class that pages, at a fleet broker: the context is sealed
	 * (wsman_ctx.h) and never listed; what it needs to go on is here.
	 */
	bool               stateless;
	char              *ns;
	char              *class_name;
	char              *wql;        /* the filter, or NULL */
	bool               started;    /* AFTER: where this request's items began */
	rdms_key           after;
	struct wsman_enum_ctx *next;
} wsman_enum_ctx;

typedef struct wsman_enum_table {
	pthread_mutex_t lock;
	wsman_enum_ctx *head;
	size_t          count;
	int             timeout_s;
	size_t          per_user;   /* contexts one caller may hold; default WSMAN_CTX_PER_USER */
} wsman_enum_table;

void wsman_enum_init(wsman_enum_table *t, int timeout_s);
void wsman_enum_destroy(wsman_enum_table *t);
/* A new, unlisted context owned by OWNER; NULL on allocation failure. */
wsman_enum_ctx *wsman_enum_new(const char *owner);
void wsman_enum_ctx_free(wsman_enum_ctx *c);
/* Lists C (gives it an id and an expiry); false with F set when over quota. */
bool wsman_enum_put(wsman_enum_table *t, wsman_enum_ctx *c, wsman_fault *f);
/* Unlists and returns the live context ID of OWNER, or NULL. */
wsman_enum_ctx *wsman_enum_take(wsman_enum_table *t, const char *id, const char *owner);
/* Lists C again after a partial Pull (same id, fresh expiry). */
void wsman_enum_return(wsman_enum_table *t, wsman_enum_ctx *c);
size_t wsman_enum_count(wsman_enum_table *t);

/* ---- subscriptions (wsman_events.c) -------------------------------------- */
typedef struct wsman_events wsman_events;

/* The subscriptions of a service on P, reading SRC; starts the dispatcher. NULL: out of memory. */
wsman_events *wsman_events_new(rdms_provider *p, const rdms_config *cfg,
                               const wsman_event_source *src);
/* Ends every subscription (a held Pull gets a fault) and stops the dispatcher. */
void wsman_events_free(wsman_events *e);
/* True when CONTEXT is a subscription's (a Pull on it is the events'). */
bool wsman_events_owns(wsman_events *e, const char *context);
/* Subscribe (E NULL: events are off): the SubscribeResponse into B, or false with F. */
bool wsman_events_subscribe(wsman_events *e, const rdms_caller *who, const char *owner,
                            const wsman_request *r, strbuf *b, wsman_fault *f);
/*
 * A Pull on a subscription of OWNER: the PullResponse into B at once when
 * events are there (or H cannot hold), else held by H (*HELD true, B unused).
 */
bool wsman_events_pull(wsman_events *e, const char *owner, const wsman_request *r,
                       size_t limit, const wsman_holder *h, strbuf *b, bool *held,
                       wsman_fault *f);
bool wsman_events_unsubscribe(wsman_events *e, const rdms_caller *who, const char *owner,
                              const wsman_request *r, strbuf *b, wsman_fault *f);
size_t wsman_events_count(wsman_events *e);
/*
 * The sessions exactly as the change feed has them at a position, in
 * *SNAP, and that position in *AT (spec/fleet.md 3.3).  False (nothing
 * made) when E is NULL or its source cannot tell; a failing source sets ERR.
 */
bool wsman_events_snapshot(wsman_events *e, rdms_snapshot **snap, rdms_feed_pos *at,
                           rdms_error *err);
/*
 * The response header <rdms:Position Epoch= Seq=> (s:mustUnderstand
 * "false": standard clients ignore it) into BUF: the journal position a
 * SubscribeResponse starts after, or an EnumerateResponse's snapshot is at.
 */
void wsman_position_header(char *buf, size_t size, rdms_feed_pos pos);

/* ---- replay cache (wsman_replay.c) -------------------------------------- */
typedef struct wsman_replay wsman_replay;

wsman_replay *wsman_replay_new(size_t slots, size_t max_bytes, int ttl_s);
void wsman_replay_free(wsman_replay *r);
/*
 * Looks up (OWNER, MESSAGE_ID, HASH).  Returns true with OUT filled (a copy
 * of the stored reply) for a re-sent request, waiting for a first copy that
 * is still running.  Otherwise returns false and *TOKEN identifies the slot
 * reserved for this request (or is 0 when nothing could be reserved); the
 * caller then runs it and calls wsman_replay_finish.
 */
bool wsman_replay_begin(wsman_replay *r, const char *owner, const char *message_id,
                        uint64_t hash, wsman_reply *out, uint64_t *token);
void wsman_replay_finish(wsman_replay *r, uint64_t token, const wsman_reply *reply);
/* FNV-1a, for the body hash. */
uint64_t wsman_hash(const void *data, size_t len, uint64_t seed);

#endif
