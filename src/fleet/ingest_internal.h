/*
 * ingest_internal.h -- what the ingest's state machine (ingest.c) and its
 * wire (ingest_wire.c) share: the requests it writes and what it reads
 * from replies.  The connection is the WS-Man client's (src/client), whose
 * easy handle the ingest drives on its multi handle.
 */
#ifndef RDMS_FLEET_INGEST_INTERNAL_H
#define RDMS_FLEET_INGEST_INTERNAL_H

#include "../client/client_internal.h"
#include "ingest.h"

/*
 * The MaxEnvelopeSize asked of a host, in bytes: also the most a reply of
 * it may be (a host that sends more is refused: spec/fleet.md 3.9).
 */
#define INGEST_ENVELOPE_MAX 512000

/* ---- requests -------------------------------------------------------------- */

/*
 * The envelope (into B, emptied first) of ACTION on URI to TO, with
 * OperationTimeout TIMEOUT_S and the header elements EXTRA (may be NULL),
 * up to <s:Body>; the caller appends the body and </s:Body></s:Envelope>.
 */
void ingest_head(strbuf *b, const char *to, const char *action, const char *uri,
                 int timeout_s, const char *extra);
/* The catch-all Subscribe: Pull delivery, heartbeats, bookmarks, from version FROM (0: now). */
void ingest_subscribe_body(strbuf *b, int heartbeat_s, uint64_t from);
void ingest_pull_body(strbuf *b, const char *ctx, unsigned max);
/* An optimized Enumerate (the header asking for rdms:Position is the caller's EXTRA). */
void ingest_enumerate_body(strbuf *b, unsigned max);

/* ---- replies ----------------------------------------------------------------- */

typedef struct ingest_reply_t {
	xmlDoc  *doc;          /* the caller frees it */
	xmlNode *body;         /* the Body's first element */
	char     subcode[96];  /* a fault's Subcode local name ("InvalidBookmark"), else "" */
} ingest_reply_t;

/*
 * C's finished transfer (RESULT) as a SOAP reply in *R: 0, or why not
 * (ERR): a transport failure, a time-out, a refusal, no SOAP reply, or a
 * fault (whose Subcode goes to R->subcode).
 */
uint32_t ingest_reply(rdms_client *c, CURLcode result, ingest_reply_t *r, rdms_error *err);
/* The reply BODY (LEN bytes) of HTTP STATUS as in ingest_reply, the transfer done. */
uint32_t ingest_reply_parse(const char *body, size_t len, long status, ingest_reply_t *r,
                            rdms_error *err);
/* N's text, trimmed, into BUF; "" when it has none or it does not fit. */
const char *ingest_text(const xmlNode *n, char *buf, size_t size);
/* The header element NS:NAME of R, or NULL. */
xmlNode *ingest_header(const ingest_reply_t *r, const char *ns, const char *name);
/* A bookmark "rdms:E:S" as a version; 0 when it is not one. */
uint64_t ingest_bookmark_version(const char *bm);
/* R's rdms:Position header as a version; 0 when it has none. */
uint64_t ingest_position(const ingest_reply_t *r);
/* INST has both keys (a session the directory can hold). */
bool ingest_keyed(const cim_instance *inst);
/* INST as the directory keeps it (its strings are INST's). */
fleet_session ingest_session(const cim_instance *inst);
/*
 * The event element E as change C, its instance kept in INSTS (C points
 * into it; the caller sets C's version); false with ERR for what is not an
 * instance event of a keyed session.
 */
bool ingest_change(const xmlNode *e, fleet_change *c, cim_instance_list *insts,
                   rdms_error *err);

#endif
