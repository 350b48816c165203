/*
 * privsep.h -- rdmsd's privilege separation: the whole vocabulary of the
 * two processes and of the messages between them.
 *
 * rdmsd starts as root, opens what needs root (listening sockets, the
 * audit database, PAM) and starts the program rdmsd-net (handoff.h):
 *
 *   priv  (root)   the parent, rdmsd.  Runs PAM, the real session back-ends
 *                  (they read other users' /proc, signal their processes,
 *                  run the message dialog as them) and the audit database.  It never
 *                  sees HTTP or XML -- it does not even link the libraries
 *                  -- only the messages below.
 *   net   (rdms)   the child, rdmsd-net.  Loads the TLS key, drops to the
 *                  `rdms` system user with no capabilities and no way back,
 *                  then serves HTTP/TLS, WS-Man, CIM-XML and the operation
 *                  layer.  Its back-end is a proxy, its audit hook and PAM
 *                  check are requests.
 *
 * They talk over PRIV_CHANNELS socketpairs (SOCK_SEQPACKET: one message is
 * one datagram, never merged or split).  A channel carries one exchange at
 * a time: a request from net, then replies from priv ending with the final
 * one.  Several channels let several requests run at once without any
 * demultiplexing; priv serves each channel with one thread.
 *
 * A message is a 12-byte header {u16 type, u16 zero, u32 id, u32 length of
 * the payload} and a payload of fixed-order fields: integers in host order
 * (both ends are the same program on the same machine) and strings as a
 * u16 length and that many bytes, no NUL among them.  Decoding checks
 * everything -- the datagram's size against the header, the type, every
 * string's length against its field's limit, every enum's range, that the
 * payload is consumed exactly -- and says what was wrong and where.  priv
 * answers an invalid request with a PRIV_DONE error and keeps serving.
 *
 * What a compromised net process can still do through priv: check
 * passwords (each failure is delayed on the net side, PAM's own throttling
 * applies), list sessions and the back-ends' state, ask sessions' idle
 * times (xprintidle as the session's user on its own display), act on
 * sessions that exist (Disconnect, Logoff, a message dialog of bounded
 * size), add audit records and read them.  Not: run commands of its
 * choosing, read or write other files, signal other processes.
 */
#ifndef RDMS_PRIVSEP_H
#define RDMS_PRIVSEP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../audit/audit.h"
#include "../auth/pam_auth.h"
#include "../backend/backend.h"
#include "../cim/wbem.h"
#include "../events/feed.h"
#include "../ops/ops.h"

/* The unprivileged account of the net process. */
#define PRIV_USER         "rdms"
/* Channels, hence requests priv serves at once. */
#define PRIV_CHANNELS     8
/* Largest message, header included. */
#define PRIV_MSG_MAX      65536
#define PRIV_HEADER_SIZE  12

/* Field limits, in bytes without the terminating NUL. */
#define PRIV_USER_MAX     255
#define PRIV_PASSWORD_MAX 511
#define PRIV_HOST_MAX     63
#define PRIV_ERROR_MAX    511
#define PRIV_KIND_MAX     15
#define PRIV_CLIENT_MAX   255
#define PRIV_ADDR_MAX     47
#define PRIV_TITLE_MAX    RDMS_MESSAGE_MAX_TITLE   /* message.h: one limit everywhere */
#define PRIV_TEXT_MAX     RDMS_MESSAGE_MAX_TEXT
#define PRIV_SOURCE_MAX   95
#define PRIV_PROTO_MAX    15
#define PRIV_TARGET_MAX   4095
#define PRIV_METHOD_MAX   31
#define PRIV_NAME_MAX     31      /* a back-end's name */
#define PRIV_REASON_MAX   255
#define PRIV_TIME_MAX     31      /* an audit time or --since */
/* Events one EVENTS request asks for, and the longest it may wait for the first. */
#define PRIV_EVENTS_MAX   4096
#define PRIV_EVENTS_WAIT_MAX_MS 60000
/* Events one EVENTS_BATCH can carry (the smallest event's size bounds it). */
#define PRIV_EVENTS_BATCH_MAX 1024
/* Sessions one IDLE request asks about. */
#define PRIV_IDLE_MAX     1024

enum priv_type {
	PRIV_AUTH = 1,     /* net -> priv: priv_auth */
	PRIV_AUTH_REPLY,   /* priv -> net: priv_auth_reply (final) */
	PRIV_ENUMERATE,    /* net -> priv: empty; replies SESSIONS..., DONE */
	PRIV_FIND,         /* net -> priv: u32 SessionId; replies SESSIONS (0/1), DONE */
	PRIV_SESSIONS,     /* priv -> net: a batch of sessions, more replies follow */
	PRIV_ACT,          /* net -> priv: priv_act; replies DONE */
	PRIV_AUDIT,        /* net -> priv: priv_audit; replies DONE once committed */
	PRIV_DONE,         /* priv -> net: priv_done (final) */
	PRIV_STATUS,       /* net -> priv: empty; replies STATUS_REPLY (or DONE: error) */
	PRIV_STATUS_REPLY, /* priv -> net: priv_status (final) */
	PRIV_IDLE,         /* net -> priv: priv_idle; replies IDLE_REPLY (or DONE: error) */
	PRIV_IDLE_REPLY,   /* priv -> net: priv_idle_reply (final) */
	PRIV_AUDIT_READ,   /* net -> priv: string since; replies AUDIT_ROWS..., DONE */
	PRIV_AUDIT_ROWS,   /* priv -> net: a batch of audit records, more replies follow */
	PRIV_INVOKE,       /* net -> priv: priv_invoke; replies INVOKED once acted and audited */
	PRIV_INVOKED,      /* priv -> net: priv_invoked (final) */
	PRIV_EVENTS,       /* net -> priv: priv_events; replies EVENTS_BATCH..., EVENTS_END */
	PRIV_EVENTS_BATCH, /* priv -> net: a batch of change-feed events, more replies follow */
	PRIV_EVENTS_END,   /* priv -> net: priv_events_end (final) */
	PRIV_FEED_STATE,   /* net -> priv: empty; replies SESSIONS..., EVENTS_END (or DONE: error) */
	PRIV_NEGOTIATE,    /* net -> priv -> rdmsd-ntlm: priv_negotiate; replies NEGOTIATED */
	PRIV_NEGOTIATED,   /* rdmsd-ntlm -> priv -> net: priv_negotiated (final) */
	PRIV_TYPE_END
};

/* The name of message type T for diagnostics ("AUTH"; "?" when unknown). */
const char *priv_type_name(unsigned t);

enum priv_action { PRIV_DISCONNECT = 0, PRIV_LOGOFF, PRIV_MESSAGE, PRIV_ACTION_END };

typedef struct priv_header {
	uint16_t type;     /* enum priv_type */
	uint32_t id;       /* request id, echoed in every reply */
	uint32_t len;      /* payload bytes after the header */
} priv_header;

typedef struct priv_auth {
	char user[PRIV_USER_MAX + 1];
	char password[PRIV_PASSWORD_MAX + 1];
	char rhost[PRIV_HOST_MAX + 1];       /* "" when unknown */
} priv_auth;

typedef struct priv_auth_reply {
	uint32_t rc;                          /* 0 or WBEM_E_ACCESS_DENIED */
	uint32_t uid;
	char     user[PRIV_USER_MAX + 1];     /* the name PAM settled on */
	char     error[PRIV_ERROR_MAX + 1];
} priv_auth_reply;

/*
 * One leg of a Negotiate/NTLM handshake (ntlm_relay.h).  HANDSHAKE 0
 * starts one; priv answers with the number that continues it.  TOKEN is
 * the client's, base64 as it came in the Authorization header (net has
 * checked its framing: negotiate_hdr.h); an empty TOKEN with a HANDSHAKE
 * gives that handshake up (its client closed the connection).
 */
#define PRIV_TOKEN_MAX   8192
#define PRIV_CONTEXT_MAX 12288
typedef struct priv_negotiate {
	uint64_t handshake;
	char     token[PRIV_TOKEN_MAX + 1];
	char     rhost[PRIV_HOST_MAX + 1];       /* "" when unknown; for the log */
} priv_negotiate;

enum priv_nego_state { PRIV_NEGO_CONTINUE = 0, PRIV_NEGO_COMPLETE, PRIV_NEGO_FAILED,
	                   PRIV_NEGO_STATE_END };

typedef struct priv_negotiated {
	uint32_t state;                       /* enum priv_nego_state */
	uint64_t handshake;                   /* CONTINUE: the number of the next leg (priv's;
	                                         rdmsd-ntlm leaves it 0) */
	char     token[PRIV_TOKEN_MAX + 1];   /* base64 of the reply token; "" for none */
	uint32_t uid;                         /* COMPLETE: the local account ... */
	char     user[PRIV_USER_MAX + 1];     /* ... it maps to */
	char     client[PRIV_USER_MAX + 1];   /* COMPLETE: the name the client gave */
	char     error[PRIV_ERROR_MAX + 1];   /* FAILED: why */
	/* COMPLETE with confidentiality: the exported security context net
	 * seals the connection's messages with (src/auth/seal.h); wiped after */
	uint32_t context_len;
	uint8_t  context[PRIV_CONTEXT_MAX];
} priv_negotiated;

typedef struct priv_act {
	uint8_t  action;                      /* enum priv_action */
	uint8_t  backend;                     /* index in priv's back-end list */
	uint32_t id;                          /* SessionId */
	uint32_t uid;                         /* the session's, as net saw it */
	int32_t  server_pid;                  /* likewise: a changed session is not acted on */
	char     title[PRIV_TITLE_MAX + 1];   /* PRIV_MESSAGE only, else "" */
	char     text[PRIV_TEXT_MAX + 1];
	uint32_t timeout_s;                   /* PRIV_MESSAGE: 0 or 1..RDMS_MESSAGE_MAX_TIMEOUT_S */
	uint8_t  wait;                        /* PRIV_MESSAGE: 0 or 1; the DONE then carries the
	                                       * descriptor to wait on (rdms_message_wait) */
} priv_act;

typedef struct priv_audit {
	uint32_t uid;
	uint32_t result;
	char     user[PRIV_USER_MAX + 1];
	char     source[PRIV_SOURCE_MAX + 1];
	char     protocol[PRIV_PROTO_MAX + 1];
	char     target[PRIV_TARGET_MAX + 1];
	char     method[PRIV_METHOD_MAX + 1];
	char     detail[PRIV_ERROR_MAX + 1];
} priv_audit;

/*
 * A method call in one exchange (ops.h: rdms_act_fn): priv looks session ID
 * up fresh (the first of its back-ends that has it), acts on it only when
 * its owner is OWNER -- any owner when ANY_OWNER (an admin calls) -- and
 * commits the call's audit row before it answers (the answer is sent by
 * the priv thread that commits the row, often not the channel's own: a
 * call that shares a commit wakes no thread of its own).  The row's caller,
 * target and method come from AUDIT (its result and detail are unused: the
 * outcome gives them).  Never a message that waits for its user (net
 * waits for that one, then audits it).
 */
typedef struct priv_invoke {
	uint8_t    action;                    /* enum priv_action */
	uint8_t    any_owner;                 /* 0 or 1 */
	uint32_t   id;                        /* SessionId */
	uint32_t   owner;                     /* the uid the session must have, unless ANY_OWNER */
	char       title[PRIV_TITLE_MAX + 1]; /* PRIV_MESSAGE only, else "" */
	char       text[PRIV_TEXT_MAX + 1];
	uint32_t   timeout_s;                 /* PRIV_MESSAGE: 0 or 1..RDMS_MESSAGE_MAX_TIMEOUT_S */
	priv_audit audit;
} priv_invoke;

typedef struct priv_invoked {
	uint8_t      found;    /* 0: no session ID of that owner -- nothing done, nothing recorded */
	uint8_t      backend;  /* the back-end index of the session acted on */
	uint8_t      audited;  /* its audit row is committed */
	uint32_t     rc;       /* the action's result */
	char         error[PRIV_ERROR_MAX + 1];
	uint8_t      after;    /* rdms_act_after: the session read again after a Disconnect/Logoff */
	rdms_session now;      /* RDMS_ACT_READ: as read then (in BACKEND), sent only then */
} priv_invoked;

/* RDMS_Backend: every back-end the config enables, as priv sees it. */
typedef struct priv_status {
	uint32_t            count;
	rdms_backend_status v[RDMS_MAX_BACKENDS];
} priv_status;

/* A session whose idle time is asked: priv checks it is still this one. */
typedef struct priv_idle_session {
	uint8_t  backend;                     /* index in priv's back-end list */
	uint32_t id;
	uint32_t uid;
	int32_t  server_pid;
} priv_idle_session;

typedef struct priv_idle {
	uint32_t          count;              /* 1..PRIV_IDLE_MAX */
	priv_idle_session v[PRIV_IDLE_MAX];
} priv_idle;

typedef struct priv_idle_reply {
	uint32_t count;                       /* the request's */
	uint32_t idle[PRIV_IDLE_MAX];         /* seconds, RDMS_IDLE_UNKNOWN */
} priv_idle_reply;

/* One record of an AUDIT_ROWS batch: an audit event with its id and time. */
typedef struct priv_audit_row {
	int64_t    id;
	char       time[PRIV_TIME_MAX + 1];
	priv_audit a;
} priv_audit_row;

/*
 * The change feed's events after AFTER (feed.h), at most MAX (1 to
 * PRIV_EVENTS_MAX); when there are none yet, priv waits up to WAIT_MS
 * (at most PRIV_EVENTS_WAIT_MAX_MS) for the first.  Replies: EVENTS_BATCH
 * messages (rdms_event records, oldest first), then EVENTS_END.  An AFTER
 * of (0, 0) asks only where the journal stands (answered GONE with its
 * floor and head).  The net process keeps a mirror of the journal with
 * these (one pump, events_pump.h), so that its subscribers never reach priv.
 */
typedef struct priv_events {
	rdms_feed_pos after;
	uint32_t      max;
	uint32_t      wait_ms;
} priv_events;

enum priv_events_rc {
	PRIV_EVENTS_OK = 0,     /* the batches hold what followed AFTER (maybe nothing) */
	PRIV_EVENTS_GONE,       /* the journal no longer holds what follows AFTER */
	PRIV_EVENTS_FUTURE,     /* AFTER is past anything the feed issued */
	PRIV_EVENTS_OFF,        /* this rdmsd runs no change feed */
	PRIV_EVENTS_RC_END
};

typedef struct priv_events_end {
	uint32_t      rc;       /* enum priv_events_rc */
	rdms_feed_pos floor;    /* the journal's earliest readable bookmark */
	rdms_feed_pos head;     /* its newest event's position */
} priv_events_end;

/*
 * FEED_STATE: the sessions exactly as the change feed last saw them
 * (rdms_feed_state), as SESSIONS batches, then EVENTS_END whose HEAD is
 * the position that state is at (RC PRIV_EVENTS_OFF, and no sessions,
 * when priv runs no feed).  An Enumerate that asks for its position
 * (rdms:Position, spec/fleet.md 3.3) is answered from this, not from a
 * fresh read of the back-ends, which no position describes.
 */

typedef struct priv_done {
	uint32_t rc;
	char     error[PRIV_ERROR_MAX + 1];
} priv_done;

/* ---- the wire (wire.c): every function bounds-checks, none allocates ----- */

/*
 * Encoders write header and payload into BUF (SIZE bytes) and return the
 * message's length, or 0 when it does not fit.  Strings longer than their
 * field's limit are an encoding failure too (0), never cut silently.
 */
size_t priv_encode_auth(void *buf, size_t size, uint32_t id, const priv_auth *m);
size_t priv_encode_auth_reply(void *buf, size_t size, uint32_t id, const priv_auth_reply *m);
size_t priv_encode_negotiate(void *buf, size_t size, uint32_t id, const priv_negotiate *m);
size_t priv_encode_negotiated(void *buf, size_t size, uint32_t id, const priv_negotiated *m);
size_t priv_encode_empty(void *buf, size_t size, uint32_t id, enum priv_type type);
size_t priv_encode_find(void *buf, size_t size, uint32_t id, uint32_t session_id);
size_t priv_encode_act(void *buf, size_t size, uint32_t id, const priv_act *m);
size_t priv_encode_audit(void *buf, size_t size, uint32_t id, const priv_audit *m);
size_t priv_encode_done(void *buf, size_t size, uint32_t id, const priv_done *m);
size_t priv_encode_status(void *buf, size_t size, uint32_t id, const priv_status *m);
size_t priv_encode_idle(void *buf, size_t size, uint32_t id, const priv_idle *m);
size_t priv_encode_idle_reply(void *buf, size_t size, uint32_t id, const priv_idle_reply *m);
size_t priv_encode_invoke(void *buf, size_t size, uint32_t id, const priv_invoke *m);
size_t priv_encode_invoked(void *buf, size_t size, uint32_t id, const priv_invoked *m);
size_t priv_encode_events(void *buf, size_t size, uint32_t id, const priv_events *m);
size_t priv_encode_events_end(void *buf, size_t size, uint32_t id, const priv_events_end *m);
/* SINCE: "" for every record. */
size_t priv_encode_audit_read(void *buf, size_t size, uint32_t id, const char *since);

/*
 * A PRIV_SESSIONS message under construction: begin, add sessions until
 * one does not fit (false: send what there is and begin again), end.
 * BACKEND is the session's back-end index.
 */
typedef struct priv_batch {
	unsigned char *buf;
	size_t         size;
	size_t         len;
	uint32_t       count;
} priv_batch;

void priv_batch_begin(priv_batch *b, void *buf, size_t size, uint32_t id);
bool priv_batch_add(priv_batch *b, const rdms_session *s, uint8_t backend);
/* The same for PRIV_AUDIT_ROWS: begin, add records while they fit, end. */
void priv_rows_begin(priv_batch *b, void *buf, size_t size, uint32_t id);
bool priv_rows_add(priv_batch *b, const rdms_audit_entry *e);
/* The same for PRIV_EVENTS_BATCH (an event's back-end goes by name). */
void priv_events_begin(priv_batch *b, void *buf, size_t size, uint32_t id);
bool priv_events_add(priv_batch *b, const rdms_event *ev);
/* The finished message's length. */
size_t priv_batch_end(priv_batch *b);

/*
 * Checks the header of the N-byte message MSG: long enough, a known type,
 * the reserved field zero, the length equal to what follows.  Fills H.
 */
uint32_t priv_decode_header(const void *msg, size_t n, priv_header *h, rdms_error *err);

/* Decoders take the payload (after the header) of LEN bytes. */
uint32_t priv_decode_auth(const void *p, size_t len, priv_auth *m, rdms_error *err);
uint32_t priv_decode_auth_reply(const void *p, size_t len, priv_auth_reply *m,
                                rdms_error *err);
uint32_t priv_decode_negotiate(const void *p, size_t len, priv_negotiate *m, rdms_error *err);
uint32_t priv_decode_negotiated(const void *p, size_t len, priv_negotiated *m,
                                rdms_error *err);
uint32_t priv_decode_empty(const void *p, size_t len, enum priv_type type, rdms_error *err);
uint32_t priv_decode_find(const void *p, size_t len, uint32_t *session_id, rdms_error *err);
uint32_t priv_decode_act(const void *p, size_t len, priv_act *m, rdms_error *err);
uint32_t priv_decode_audit(const void *p, size_t len, priv_audit *m, rdms_error *err);
uint32_t priv_decode_done(const void *p, size_t len, priv_done *m, rdms_error *err);
uint32_t priv_decode_invoke(const void *p, size_t len, priv_invoke *m, rdms_error *err);
/* BACKENDS: what the back-end index of a session read again names. */
uint32_t priv_decode_invoked(const void *p, size_t len, priv_invoked *m,
                             const rdms_backend *const *backends, size_t nbackends,
                             rdms_error *err);
uint32_t priv_decode_status(const void *p, size_t len, priv_status *m, rdms_error *err);
uint32_t priv_decode_idle(const void *p, size_t len, priv_idle *m, rdms_error *err);
/* WANT: how many answers the request asked for; any other count is an error. */
uint32_t priv_decode_idle_reply(const void *p, size_t len, uint32_t want, priv_idle_reply *m,
                                rdms_error *err);
/* SINCE: PRIV_TIME_MAX + 1 bytes. */
uint32_t priv_decode_audit_read(const void *p, size_t len, char *since, rdms_error *err);
/*
 * Hands each record of a PRIV_AUDIT_ROWS payload to FN, after checking the
 * whole batch, decoding each into ROW (the caller's scratch); *STOPPED is
 * set when FN asked to stop (the rest not handed).
 */
uint32_t priv_decode_audit_rows(const void *p, size_t len, priv_audit_row *row,
                                rdms_audit_row_fn fn, void *ctx, bool *stopped,
                                rdms_error *err);

uint32_t priv_decode_events(const void *p, size_t len, priv_events *m, rdms_error *err);
uint32_t priv_decode_events_end(const void *p, size_t len, priv_events_end *m,
                                rdms_error *err);
/*
 * How many events a PRIV_EVENTS_BATCH payload says it holds (0 when too
 * short): the room to decode it into, up to PRIV_EVENTS_BATCH_MAX -- the
 * decoder checks it against the payload.
 */
uint32_t priv_events_batch_count(const void *p, size_t len);
/*
 * The events of a PRIV_EVENTS_BATCH payload into OUT (CAP of them; *N
 * set), their strings allocated (rdms_event_session_clear each), each
 * back-end name one of the NBACKENDS BACKENDS' (the event then points to
 * that static name).  Positions must rise through the batch.  On error
 * nothing is left allocated and *N is 0.
 */
uint32_t priv_decode_events_batch(const void *p, size_t len,
                                  const rdms_backend *const *backends, size_t nbackends,
                                  rdms_event *out, size_t cap, size_t *n, rdms_error *err);

/*
 * Appends the sessions of a PRIV_SESSIONS payload to OUT; each session's
 * back-end is BACKENDS[index] (an index >= NBACKENDS is an error).  On
 * error OUT keeps only what it had before.
 */
uint32_t priv_decode_sessions(const void *p, size_t len, const rdms_backend *const *backends,
                              size_t nbackends, rdms_session_list *out, rdms_error *err);
/*
 * The same, each session handed to FN as it is read (no list: a walk of
 * 10,000 sessions holds one at a time, not a message's worth of 624-byte
 * sessions).  FN's error stops the reading and is returned; a malformed
 * payload is WBEM_E_INVALID_PARAMETER, possibly after FN saw its first
 * sessions.
 */
uint32_t priv_decode_sessions_each(const void *p, size_t len,
                                   const rdms_backend *const *backends, size_t nbackends,
                                   rdms_session_fn fn, void *ctx, rdms_error *err);

/* One message on FD (whole or not at all); false with ERR on failure. */
bool priv_send(int fd, const void *msg, size_t len, rdms_error *err);
/*
 * priv_send with the descriptor PASS attached (SCM_RIGHTS): only the DONE
 * of a PRIV_MESSAGE ACT that waits carries one, the read end of the
 * dialog's report pipe, so that net waits for the user and no channel of
 * priv's is held meanwhile.
 */
bool priv_send_fd(int fd, const void *msg, size_t len, int pass, rdms_error *err);
/*
 * Receives one message into BUF (PRIV_MSG_MAX bytes) and checks its header.
 * 0 with *N its size; WBEM_E_FAILED at end of file (ERR says "closed") or
 * on a socket error; WBEM_E_INVALID_PARAMETER for a bad header or a message
 * larger than PRIV_MSG_MAX.  A descriptor that comes with it is refused.
 */
uint32_t priv_recv(int fd, void *buf, size_t *n, priv_header *h, rdms_error *err);
/* priv_recv that takes one passed descriptor into *PASSED (-1: none came). */
uint32_t priv_recv_fd(int fd, void *buf, size_t *n, priv_header *h, int *passed,
                      rdms_error *err);

/* ---- the channels --------------------------------------------------------- */

typedef struct priv_channels {
	int priv[PRIV_CHANNELS];   /* priv's ends */
	int net[PRIV_CHANNELS];    /* net's ends */
} priv_channels;

/* PRIV_CHANNELS socketpairs, close-on-exec; false with ERR. */
bool priv_channels_open(priv_channels *c, rdms_error *err);
/* Closes the ends in FDS (-1 skipped) and marks them -1. */
void priv_channels_close(int fds[PRIV_CHANNELS]);

/* ---- priv: the privileged server (priv.c) --------------------------------- */

typedef struct priv_env {
	const rdms_provider *provider;   /* the real back-ends */
	rdms_audit_db       *audit;
	struct pam_relay    *pam;        /* AUTH: rdmsd-pam checks; NULL: every AUTH refused */
	struct ntlm_relay   *ntlm;       /* NEGOTIATE's handshakes; NULL: Negotiate is off */
	/* called after a Disconnect or Logoff was performed (may be NULL) */
	void               (*acted)(void *ctx);
	void                *acted_ctx;
	rdms_feed           *feed;       /* the change feed (EVENTS); NULL: events are off */
} priv_env;

typedef struct priv_server priv_server;

/*
 * Serves the FDS (priv's ends, taken over) with one thread each.  ENV must
 * stay valid until priv_server_stop().  NULL with ERR on failure.
 */
priv_server *priv_server_start(const int fds[PRIV_CHANNELS], const priv_env *env,
                               rdms_error *err);
/*
 * Waits for every channel thread -- each ends when net closes its end,
 * that is when the net process has exited -- and for the answers still
 * waiting for their audit commit, and closes the channels.
 */
void priv_server_stop(priv_server *s);

/*
 * Serves one request MSG of N bytes (as received) and sends the replies on
 * FD; REPLY is a PRIV_MSG_MAX scratch buffer.  The body of each channel
 * thread, exposed for the unit tests.  False only when FD failed.
 */
bool priv_serve_one(const priv_env *env, int fd, const void *msg, size_t n, void *reply);

/* ---- net: the proxies of the unprivileged process (proxy.c) --------------- */

typedef struct priv_client priv_client;

/*
 * The client of the FDS (net's ends, taken over).  BACKENDS names priv's
 * back-ends in priv's order (their names are all that is used: sessions
 * carry proxies of the same names).  NULL when out of memory.
 */
priv_client *priv_client_new(const int fds[PRIV_CHANNELS], const rdms_backend *const *backends,
                             size_t nbackends);
void priv_client_free(priv_client *c);

/*
 * Makes P a provider whose only back-end forwards to priv, and whose audit
 * hook, method calls (rdms_act_fn), back-end state (RDMS_Backend) and audit
 * reading (RDMS_AuditRecord) are requests to priv.  C must outlive P.
 */
void priv_proxy_provider(rdms_provider *p, const rdms_config *cfg, priv_client *c);

/* An rdms_status_fn (CTX: the priv_client): the back-ends as priv serves them. */
uint32_t priv_proxy_status(void *ctx, rdms_backend_status *out, size_t max, size_t *n,
                           rdms_error *err);

/* An rdms_audit_read_fn (CTX: the priv_client): priv reads its database. */
uint32_t priv_proxy_audit_read(void *ctx, const char *since, rdms_audit_row_fn fn,
                               void *fn_ctx, rdms_error *err);

/*
 * One EVENTS exchange: each EVENTS_BATCH's N events go to FN (which may
 * take their strings over, zeroing them), then *END is filled.  An error
 * only when priv refused the request.
 */
typedef void (*priv_event_batch_fn)(void *ctx, rdms_event *ev, size_t n);
uint32_t priv_proxy_events(priv_client *c, const priv_events *req, priv_event_batch_fn fn,
                           void *fn_ctx, priv_events_end *end, rdms_error *err);
/*
 * The same, given up with WBEM_E_CALL_CANCELLED as soon as CANCEL_FD (-1:
 * none) is readable while the exchange waits for priv: a long poll ended
 * from here, when the process stops.  The channel of an exchange given up
 * is never used again (priv's reply may still come on it).
 */
uint32_t priv_proxy_events_until(priv_client *c, const priv_events *req, int cancel_fd,
                                 priv_event_batch_fn fn, void *fn_ctx, priv_events_end *end,
                                 rdms_error *err);

/*
 * One FEED_STATE exchange: each session of the feed's state to FN (in
 * priv's order), *AT the position of that state.  WBEM_E_NOT_SUPPORTED
 * when priv runs no feed; FN's error stops the walk (the rest is read and
 * dropped).  FN must not make requests to priv (it runs holding a channel).
 */
uint32_t priv_proxy_feed_state(priv_client *c, rdms_session_fn fn, void *fn_ctx,
                               rdms_feed_pos *at, rdms_error *err);

/* An rdms_act_fn (CTX: the priv_client): one INVOKE exchange. */
uint32_t priv_proxy_act(void *ctx, const rdms_act_call *call, uint32_t *result,
                        rdms_session *acted, rdms_act_after *after, bool *audited,
                        rdms_error *err);

/* An rdms_audit_fn (CTX: the priv_client): committed by priv before it returns 0. */
int priv_proxy_audit(void *ctx, const rdms_audit_event *ev);

/* A pam_verify_fn (CTX: the priv_client): priv has the password checked (pam_relay.h). */
uint32_t priv_proxy_verify(void *ctx, const char *user, const char *password,
                           const char *rhost, char *canon, size_t canon_size, uid_t *uid,
                           rdms_error *err);

/*
 * A negotiate_fn (transport http.h; CTX: the priv_client): one leg of a
 * Negotiate/NTLM handshake, relayed by priv to its rdmsd-ntlm.  *OUT is
 * NEGOTIATED's fields; a refusal of priv (Negotiate off, a request it
 * could not decode) comes back as PRIV_NEGO_FAILED with its reason.
 */
void priv_proxy_negotiate(void *ctx, const priv_negotiate *m, priv_negotiated *out);

/* ---- dropping privileges (drop.c) ----------------------------------------- */

typedef struct priv_user {
	bool  drop;      /* false: rdmsd was not started as root, nothing to drop */
	uid_t uid;
	gid_t gid;
} priv_user;

/*
 * The account net runs as.  As root: PRIV_USER, created (useradd --system)
 * when missing.  Otherwise the current ids, and DROP false.
 */
uint32_t priv_user_get(priv_user *u, rdms_error *err);

/*
 * In the freshly started net process: closes every inherited descriptor but
 * stdio, listening sockets and KEEP (N of them), becomes U for good
 * (groups, gid, uid), sets no_new_privs, and checks that root cannot be
 * regained and no capability is left.  Then asks for SIGTERM when priv
 * dies.  PRIV_PID is priv's pid.
 */
uint32_t priv_drop(const priv_user *u, const int *keep, size_t n, pid_t priv_pid,
                   rdms_error *err);

#endif
