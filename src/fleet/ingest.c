/*
 * ingest.c -- one Pull subscription per host on one libcurl multi handle,
 * each batch into the session directory (ingest.h).
 *
 * A host is a small state machine driven by its replies:
 *
 *   WAIT ----> SUBSCRIBE --bookmark--> PULL <----------------+
 *    ^  \          |                    | events: one batch   |
 *    |   \         | none (resync)      | heartbeat: contact  |
 *    |    \        v                    +---------------------+
 *    |     +-> ENUMERATE --pages--> snapshot at its position --> PULL
 *    |
 *    +-- a failure (backoff, ServerState 1), a lost subscription (at once),
 *        a gap, a new epoch or the periodic safety resync (resync), a refused
 *        reply (resync; the third within 10 min: quarantined, ServerState 8)
 *
 * Each host has its own easy handle (an rdms_client: URL, credentials,
 * TLS) and so its own kept-alive connection; one request is in flight per
 * host.  Requests are written, and replies read, by ingest_wire.c.
 */
#include "ingest_internal.h"

#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../common/log.h"
#include "../common/monotime.h"
#include "../common/thread_name.h"
#include "events.h"
#include "forward_pool.h"
#include "host_tls.h"
#include "multi_socket.h"
#include "../ops/provider.h"
#include "../schema/schema.h"

#define OTHER_TIMEOUT_MS 60000      /* a Subscribe, an Enumerate page */
#define RETRY_FIRST_MS 1000
#define STORE_RETRY_MAX_MS 5000   /* the longest wait while the directory fails */
#define STORE_CHECK_MS 2000         /* how often hosts added by someone else are looked for */
/*
 * A host whose replies are refused (too big, not SOAP, malformed events,
 * positions going back, sessions of another VMHostName) is resynced; the
 * STRIKES_MAX-th refusal within STRIKE_WINDOW_MS quarantines it
 * (spec/fleet.md 3.9, "bad or hostile host").
 */
#define STRIKES_MAX 3
#define STRIKE_WINDOW_MS (10 * 60 * 1000)

enum host_state { H_WAIT, H_SUBSCRIBE, H_ENUMERATE, H_PULL, H_QUARANTINE };

typedef struct ihost {
	struct fleet_ingest *in;
	char             name[FLEET_NAME_MAX + 1];
	fleet_pin        pin;            /* its certificate, pinned at registration */
	rdms_client     *c;              /* its connection, credentials and reply buffer */
	enum host_state  st;
	bool             in_multi;
	bool             resync;         /* the next subscription is made without a bookmark */
	bool             holds_slot;     /* counts against max_resyncs */
	bool             seen;           /* still in the store's list (reload) */
	int64_t          next_ms;        /* WAIT: when to subscribe (monotonic) */
	int              retry_ms;       /* the next backoff */
	int64_t          full_ms;        /* when the next periodic safety resync is due */
	unsigned         strikes;        /* refused replies since STRIKE_WINDOW_MS began */
	int64_t          strike_ms;      /* when that window began */
	uint64_t         pos;            /* the subscription's position (its events follow it);
	                                  * 0: unknown */
	char            *sub_ctx;        /* the subscription's EnumerationContext */
	char            *enum_ctx;       /* the resync enumeration's, between pages */
	uint64_t         snap_at;        /* the enumeration's position */
	cim_instance_list snap;          /* its instances so far */
	strbuf           req;            /* the request in flight (libcurl reads it) */
	fleet_ingest_stats stats;
	struct ihost    *next;
} ihost;

struct fleet_ingest {
	fleet_ingest_options o;
	fleet_multi     *events;         /* the multi handle, driven by socket events */
	CURLM           *multi;          /* its libcurl handle */
	pthread_t        thread;
	pthread_mutex_t  lock;           /* stop, reload, stats */
	bool             stop, reload;
	ihost           *hosts;
	unsigned         resyncs, resyncs_peak;
	char            *uri_all;        /* the wildcard ResourceURI (subscriptions) */
	char            *uri_class;      /* the class's (enumerations) */
	unsigned         seed;
	int64_t          full_resync_ms; /* the periodic safety resync's mean interval */
	int64_t          next_store_check;  /* monotonic ms */
};

/* A random delay in [0, MS). */
static int64_t jitter(fleet_ingest *in, int ms)
{
	return ms > 0 ? (int64_t)(rand_r(&in->seed) % ms) : 0;
}

/* When H's next periodic safety resync is due: the interval +- 50 % (spec/fleet.md 3.4). */
static void schedule_full(fleet_ingest *in, ihost *h)
{
	int64_t half = in->full_resync_ms / 2;

	h->full_ms = mono_ms() + half + (half > 0 ? (int64_t)(rand_r(&in->seed) %
	                                                      (uint64_t)(2 * half)) : 0);
}

/* ---- requests -------------------------------------------------------------------- */

/* Sends H's request (in H->req) with a deadline of TIMEOUT_MS. */
static void send_req(fleet_ingest *in, ihost *h, long timeout_ms)
{
	CURL *e = h->c->curl;

	PUTS(&h->req, "</s:Body></s:Envelope>");
	strbuf_free(&h->c->reply);
	h->c->reply_too_big = false;
	h->c->errbuf[0] = '\0';
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, h->req.data != NULL ? h->req.data : "");
	curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)h->req.len);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms);
	if (h->req.failed || curl_multi_add_handle(in->multi, e) != CURLM_OK) {
		log_warn("fleet: %s: cannot send a request (out of memory?)", h->name);
		h->st = H_WAIT;
		h->next_ms = mono_ms() + h->retry_ms;
		return;
	}
	h->in_multi = true;
}

static void send_subscribe(fleet_ingest *in, ihost *h, uint64_t version)
{
	ingest_head(&h->req, h->c->url, ACTION_SUBSCRIBE, in->uri_all, 60, NULL);
	ingest_subscribe_body(&h->req, in->o.heartbeat_s, h->resync ? 0 : version);
	h->st = H_SUBSCRIBE;
	send_req(in, h, OTHER_TIMEOUT_MS);
}

/* A Pull on CTX: the subscription's (held up to OperationTimeout) or an enumeration's. */
static void send_pull(fleet_ingest *in, ihost *h, const char *ctx, bool subscription)
{
	ingest_head(&h->req, h->c->url, ACTION_PULL, subscription ? in->uri_all : in->uri_class,
	            subscription ? in->o.pull_timeout_s : 60, NULL);
	ingest_pull_body(&h->req, ctx, in->o.max_elements);
	h->st = subscription ? H_PULL : H_ENUMERATE;
	send_req(in, h, subscription ? (long)(in->o.pull_timeout_s + 10) * 1000 : OTHER_TIMEOUT_MS);
}

static void send_enumerate(fleet_ingest *in, ihost *h)
{
	ingest_head(&h->req, h->c->url, ACTION_ENUMERATE, in->uri_class, 60,
	            "<rdms:Position xmlns:rdms=\"" NS_RDMS "\" s:mustUnderstand=\"false\"/>");
	ingest_enumerate_body(&h->req, in->o.max_elements);
	h->st = H_ENUMERATE;
	send_req(in, h, OTHER_TIMEOUT_MS);
}

/* ---- what happens to a host ------------------------------------------------------ */

/* A counter of a host's stats, which fleet_ingest_stats_get reads from another thread. */
static void stat_add(fleet_ingest *in, uint64_t *field, uint64_t n)
{
	pthread_mutex_lock(&in->lock);
	*field += n;
	pthread_mutex_unlock(&in->lock);
}

static void release_slot(fleet_ingest *in, ihost *h)
{
	if (h->holds_slot) {
		h->holds_slot = false;
		pthread_mutex_lock(&in->lock);
		in->resyncs--;
		pthread_mutex_unlock(&in->lock);
	}
	cim_instance_list_free(&h->snap);
	free(h->enum_ctx);
	h->enum_ctx = NULL;
}

static void set_state(fleet_ingest *in, ihost *h, int state)
{
	rdms_error err = { 0 };
	uint32_t rc = fleet_store_host_state(in->o.store, h->name, state, false, &err);

	if (rc != WBEM_S_NO_ERROR && rc != WBEM_E_ACCESS_DENIED)
		log_warn("fleet: %s: cannot record ServerState %d: %s", h->name, state, err.message);
}

/* H failed (ERR): unknown now, subscribed again after a backoff. */
static void host_failed(fleet_ingest *in, ihost *h, const rdms_error *err)
{
	stat_add(in, &h->stats.failures, 1);
	if (h->retry_ms <= RETRY_FIRST_MS)
		log_info("fleet: %s unreachable or failing: %s", h->name, err->message);
	else
		log_debug("fleet: %s still failing: %s", h->name, err->message);
	release_slot(in, h);
	set_state(in, h, FLEET_UNKNOWN);
	h->st = H_WAIT;
	/*
	 * The directory failing is no fault of the host's: back within a few
	 * seconds of its return (spec/fleet.md 3.9, full jitter capped at 5 s),
	 * from the stored bookmark, which the host's journal still covers.
	 */
	if (err->code == WBEM_E_NOT_AVAILABLE && h->retry_ms > STORE_RETRY_MAX_MS)
		h->retry_ms = STORE_RETRY_MAX_MS;
	/* full jitter within the backoff, as spec/fleet.md 3.9 asks of every retry */
	h->next_ms = mono_ms() + h->retry_ms / 2 + jitter(in, h->retry_ms / 2 + 1);
	h->retry_ms = h->retry_ms * 2 > in->o.retry_max_ms ? in->o.retry_max_ms : h->retry_ms * 2;
	if (err->code == WBEM_E_NOT_AVAILABLE && h->retry_ms > STORE_RETRY_MAX_MS)
		h->retry_ms = STORE_RETRY_MAX_MS;
}

/* H needs a snapshot (WHY): a new subscription without a bookmark, when a slot is free. */
static void need_resync(fleet_ingest *in, ihost *h, const char *why)
{
	log_info("fleet: %s: resync (%s)", h->name, why);
	release_slot(in, h);
	h->resync = true;
	h->st = H_WAIT;
	h->next_ms = mono_ms() + jitter(in, 250);
}

/* H sent what no store may take: quarantined until an admin says otherwise. */
static void quarantine(fleet_ingest *in, ihost *h, const rdms_error *err)
{
	log_warn("fleet: %s quarantined (ServerState 8): %s", h->name, err->message);
	stat_add(in, &h->stats.failures, 1);
	release_slot(in, h);
	set_state(in, h, FLEET_INVALID);
	h->st = H_QUARANTINE;
}

/*
 * H sent what is refused (ERR): resynced, or quarantined at the
 * STRIKES_MAX-th time within STRIKE_WINDOW_MS.  Nothing of it was applied.
 */
static void refused(fleet_ingest *in, ihost *h, const rdms_error *err)
{
	int64_t now = mono_ms();
	rdms_error why = { 0 };

	if (h->strikes == 0 || now - h->strike_ms > STRIKE_WINDOW_MS) {
		h->strikes = 0;
		h->strike_ms = now;
	}
	if (++h->strikes >= STRIKES_MAX) {
		stat_add(in, &h->stats.refused, 1);
		rdms_fail(&why, err->code, "%u refused replies within %d min, the last: %s",
		          h->strikes, STRIKE_WINDOW_MS / 60000, err->message);
		quarantine(in, h, &why);
		return;
	}
	log_warn("fleet: %s sent what is refused (%u of %d before quarantine): %s", h->name,
	         h->strikes, STRIKES_MAX, err->message);
	stat_add(in, &h->stats.refused, 1);
	need_resync(in, h, "after a refused reply");
}

/* After a store result RC (ERR) on H: true when H may go on pulling. */
static bool after_apply(fleet_ingest *in, ihost *h, fleet_apply_rc rc, const rdms_error *err)
{
	switch (rc) {
	case FLEET_APPLIED:
	case FLEET_STALE:
		h->retry_ms = RETRY_FIRST_MS;
		return true;
	case FLEET_GAP:
	case FLEET_NEW_EPOCH:
		need_resync(in, h, err->message);
		return false;
	case FLEET_REFUSED:
		/* marked invalid already (by an identity conflict): stays so; else a strike */
		if (err->code == WBEM_E_ACCESS_DENIED)
			quarantine(in, h, err);
		else
			refused(in, h, err);
		return false;
	case FLEET_FAILED:
		host_failed(in, h, err);
		return false;
	}
	return false;
}

/*
 * A host now at position AT (its SubscribeResponse's) that the directory
 * has at a later one lost its journal (its events database reset, the
 * machine reinstalled): positions never go back otherwise, so the
 * directory's are reset and the coming snapshot replaces its sessions.
 */
static void positions_restarted(fleet_ingest *in, ihost *h, uint64_t at)
{
	rdms_error err = { 0 };
	fleet_host fh;

	if (at == 0 || fleet_store_host_get(in->o.store, h->name, &fh, &err) != WBEM_S_NO_ERROR ||
	    at >= fh.version)
		return;
	log_warn("fleet: %s is at %" PRIu64 ":%" PRIu64 ", before the %" PRIu64 ":%" PRIu64
	         " the directory had of it: its journal was lost; it is read anew", h->name,
	         fleet_version_epoch(at), fleet_version_seq(at), fleet_version_epoch(fh.version),
	         fleet_version_seq(fh.version));
	if (fleet_store_host_reset(in->o.store, h->name, &err) != WBEM_S_NO_ERROR)
		log_warn("fleet: %s: %s", h->name, err.message);
}

static void on_subscribed(fleet_ingest *in, ihost *h, const ingest_reply_t *r)
{
	char ctx[WSMAN_MAX_ID_LEN + 1];

	stat_add(in, &h->stats.subscribes, 1);
	if (!h->resync)
		stat_add(in, &h->stats.resumes, 1);
	ingest_text(client_find_desc(r->body, "EnumerationContext"), ctx, sizeof ctx);
	if (!wsman_is(r->body, NS_WSE, "SubscribeResponse") || ctx[0] == '\0') {
		rdms_error err = { 0 };

		rdms_fail(&err, WBEM_E_INVALID_STREAM, "the reply to a Subscribe is no "
		          "SubscribeResponse with a context");
		refused(in, h, &err);
		return;
	}
	free(h->sub_ctx);
	if ((h->sub_ctx = strdup(ctx)) == NULL) {
		rdms_error err = { 0 };

		rdms_fail(&err, WBEM_E_OUT_OF_MEMORY, "out of memory");
		host_failed(in, h, &err);
		return;
	}
	if (h->resync) {
		h->snap_at = 0;       /* the flag stays until the snapshot is applied */
		h->pos = ingest_position(r);
		positions_restarted(in, h, h->pos);
		send_enumerate(in, h);
	} else {
		set_state(in, h, FLEET_RUNNING);
		send_pull(in, h, h->sub_ctx, true);
	}
}

/* A page of the resync enumeration: its items kept; at its end, the snapshot. */
static void on_page(fleet_ingest *in, ihost *h, const ingest_reply_t *r)
{
	const cim_class *cls = rdms_session_class();
	rdms_error err = { 0 };
	char ctx[WSMAN_MAX_ID_LEN + 1] = "";
	bool end = false;

	if (h->snap_at == 0 && (h->snap_at = ingest_position(r)) == 0) {
		rdms_fail(&err, WBEM_E_NOT_SUPPORTED, "its EnumerateResponse carries no rdms:Position "
		          "(an rdmsd without the fleet's host side?)");
		host_failed(in, h, &err);
		return;
	}
	for (xmlNode *n = wsman_first_elem(r->body); n != NULL; n = wsman_next_elem(n)) {
		const char *name = (const char *)n->name;

		if (strcmp(name, "EnumerationContext") == 0)
			ingest_text(n, ctx, sizeof ctx);
		else if (strcmp(name, "EndOfSequence") == 0)
			end = true;
		else if (strcmp(name, "Items") == 0)
			for (xmlNode *e = wsman_first_elem(n); e != NULL; e = wsman_next_elem(e)) {
				cim_instance *inst = NULL;

				if (client_read_instance(e, cls, false, &inst, &err) != WBEM_S_NO_ERROR ||
				    !ingest_keyed(inst) || !cim_instance_list_push(&h->snap, inst)) {
					if (err.code == 0)
						rdms_fail(&err, WBEM_E_INVALID_STREAM, "an instance without its keys");
					cim_instance_free(inst);
					if (err.code == WBEM_E_OUT_OF_MEMORY)
						host_failed(in, h, &err);
					else
						refused(in, h, &err);
					return;
				}
			}
	}
	if (!end && ctx[0] != '\0') {
		free(h->enum_ctx);
		if ((h->enum_ctx = strdup(ctx)) == NULL) {
			rdms_fail(&err, WBEM_E_OUT_OF_MEMORY, "out of memory");
			host_failed(in, h, &err);
			return;
		}
		send_pull(in, h, h->enum_ctx, false);
		return;
	}
	{
		fleet_session *s = calloc(h->snap.count + 1, sizeof *s);
		fleet_apply_rc rc = FLEET_FAILED;

		for (size_t i = 0; s != NULL && i < h->snap.count; i++)
			s[i] = ingest_session(h->snap.items[i]);
		if (s == NULL)
			rdms_fail(&err, WBEM_E_OUT_OF_MEMORY, "out of memory");
		else
			rc = fleet_events_apply_snapshot(in->o.events, in->o.store, h->name, h->snap_at,
			                                 s, h->snap.count, &err);
		free(s);
		log_debug("fleet: %s: snapshot of %zu sessions at %" PRIu64 ":%" PRIu64 ": %s",
		          h->name, h->snap.count, fleet_version_epoch(h->snap_at),
		          fleet_version_seq(h->snap_at), fleet_apply_name(rc));
		if (rc == FLEET_STALE)
			log_warn("fleet: %s: its snapshot at %" PRIu64 ":%" PRIu64 " is older than the "
			         "directory's state of it (was its events database reset?); the newer "
			         "state is kept", h->name, fleet_version_epoch(h->snap_at),
			         fleet_version_seq(h->snap_at));
		if (!after_apply(in, h, rc, &err))
			return;
		stat_add(in, &h->stats.resyncs, 1);
		h->resync = false;
		schedule_full(in, h);
		release_slot(in, h);
		send_pull(in, h, h->sub_ctx, true);
	}
}

/* H's next Pull, or its periodic safety resync when that is due. */
static void pull_on(fleet_ingest *in, ihost *h)
{
	if (mono_ms() >= h->full_ms)
		need_resync(in, h, "the periodic safety resync");
	else
		send_pull(in, h, h->sub_ctx, true);
}

/*
 * A PullResponse of the subscription: its events, whose positions are its
 * bookmark's and the K - 1 before it, as one batch; or a heartbeat.
 */
static void on_pulled(fleet_ingest *in, ihost *h, const ingest_reply_t *r)
{
	xmlNode *items = NULL, *bm = ingest_header(r, NS_WSMAN, "Bookmark");
	cim_instance_list insts = { 0 };
	fleet_change *ch = NULL;
	rdms_error err = { 0 };
	char text[160], ctx[WSMAN_MAX_ID_LEN + 1] = "";
	uint64_t last = bm != NULL ? ingest_bookmark_version(ingest_text(bm, text, sizeof text)) : 0, v;
	size_t k = 0, n = 0;
	fleet_apply_rc rc;

	if (!wsman_is(r->body, NS_WSEN, "PullResponse")) {
		rdms_fail(&err, WBEM_E_INVALID_STREAM, "the reply to a Pull is no PullResponse");
		refused(in, h, &err);
		return;
	}
	for (xmlNode *x = wsman_first_elem(r->body); x != NULL; x = wsman_next_elem(x)) {
		if (wsman_is(x, NS_WSEN, "Items"))
			items = x;
		else if (wsman_is(x, NS_WSEN, "EnumerationContext"))
			ingest_text(x, ctx, sizeof ctx);
	}
	if (ctx[0] != '\0' && strcmp(ctx, h->sub_ctx) != 0) {
		char *changed = strdup(ctx);  /* the context may change with each reply */

		if (changed == NULL) {
			rdms_fail(&err, WBEM_E_OUT_OF_MEMORY, "out of memory");
			host_failed(in, h, &err);
			return;
		}
		free(h->sub_ctx);
		h->sub_ctx = changed;
	}
	for (xmlNode *e = items != NULL ? wsman_first_elem(items) : NULL; e != NULL;
	     e = wsman_next_elem(e))
		k++;
	h->retry_ms = RETRY_FIRST_MS;
	if (k == 0) {
		stat_add(in, &h->stats.heartbeats, 1);
		set_state(in, h, FLEET_RUNNING);
		pull_on(in, h);
		return;
	}
	if (last == 0 || fleet_version_seq(last) < k) {
		/* no bookmark, or one the events cannot all be before in its epoch */
		rdms_fail(&err, WBEM_E_INVALID_STREAM, "%zu events without a position to place "
		          "them at (bookmark '%s')", k, bm != NULL ? text : "");
		refused(in, h, &err);
		return;
	}
	if (h->pos != 0 && last - (k - 1) <= h->pos) {
		/* a subscription's events follow each other: these go back */
		rdms_fail(&err, WBEM_E_INVALID_STREAM, "positions out of order: events from "
		          "%" PRIu64 ":%" PRIu64 " after %" PRIu64 ":%" PRIu64,
		          fleet_version_epoch(last - (k - 1)), fleet_version_seq(last - (k - 1)),
		          fleet_version_epoch(h->pos), fleet_version_seq(h->pos));
		refused(in, h, &err);
		return;
	}
	if ((ch = calloc(k, sizeof *ch)) == NULL) {
		rdms_fail(&err, WBEM_E_OUT_OF_MEMORY, "out of memory");
		host_failed(in, h, &err);
		return;
	}
	v = last - (k - 1);
	for (xmlNode *e = wsman_first_elem(items); e != NULL; e = wsman_next_elem(e), n++) {
		if (!ingest_change(e, &ch[n], &insts, &err))
			break;
		ch[n].version = v + n;
	}
	if (n < k) {
		free(ch);
		cim_instance_list_free(&insts);
		if (err.code == WBEM_E_OUT_OF_MEMORY)
			host_failed(in, h, &err);
		else
			refused(in, h, &err);
		return;
	}
	rc = fleet_events_apply_batch(in->o.events, in->o.store, h->name, ch, k, &v, &err);
	free(ch);
	cim_instance_list_free(&insts);
	log_debug("fleet: %s: %zu events up to %" PRIu64 ":%" PRIu64 ": %s", h->name, k,
	          fleet_version_epoch(last), fleet_version_seq(last), fleet_apply_name(rc));
	if (!after_apply(in, h, rc, &err))
		return;
	stat_add(in, &h->stats.batches, 1);
	stat_add(in, &h->stats.events, k);
	h->pos = last;
	pull_on(in, h);
}

/* H's request ended with RESULT. */
static void on_done(fleet_ingest *in, ihost *h, CURLcode result)
{
	rdms_error err = { 0 };
	ingest_reply_t r;
	uint32_t rc;

	if (h->pin.mismatch) {
		/* another identity at the host's URL: refused until an admin says otherwise */
		h->pin.mismatch = false;
		rdms_fail(&err, WBEM_E_ACCESS_DENIED, "its certificate is not the one registered "
		          "for it");
		quarantine(in, h, &err);
		return;
	}
	rc = ingest_reply(h->c, result, &r, &err);
	if (rc != WBEM_S_NO_ERROR) {
		if (strcmp(r.subcode, "InvalidBookmark") == 0)
			need_resync(in, h, "the host no longer holds the bookmark");
		else if (strcmp(r.subcode, "InvalidEnumerationContext") == 0 && h->st == H_PULL) {
			log_info("fleet: %s lost the subscription; subscribing again", h->name);
			h->st = H_WAIT;        /* from the stored bookmark, at once */
			h->next_ms = mono_ms();
		} else if (rc == WBEM_E_INVALID_STREAM || rc == WBEM_E_TOO_MUCH_DATA) {
			refused(in, h, &err);  /* not SOAP, malformed, or past MaxEnvelopeSize */
		} else {
			host_failed(in, h, &err);
		}
	} else if (h->st == H_SUBSCRIBE) {
		on_subscribed(in, h, &r);
	} else if (h->st == H_ENUMERATE) {
		on_page(in, h, &r);
	} else if (h->st == H_PULL) {
		on_pulled(in, h, &r);
	}
	xmlFreeDoc(r.doc);
}

/* A host whose wait is over: subscribed (a resync only when a slot is free). */
static void start_host(fleet_ingest *in, ihost *h)
{
	fleet_host fh;
	rdms_error err = { 0 };

	if (fleet_store_host_get(in->o.store, h->name, &fh, &err) != WBEM_S_NO_ERROR) {
		host_failed(in, h, &err);
		return;
	}
	if (fh.state == FLEET_INVALID) {
		h->st = H_QUARANTINE;
		return;
	}
	if (fh.version == 0)
		h->resync = true;
	if (h->resync) {
		if (in->resyncs >= in->o.max_resyncs) {
			h->next_ms = mono_ms() + 100 + jitter(in, 200);
			return;
		}
		h->holds_slot = true;
		pthread_mutex_lock(&in->lock);
		if (++in->resyncs > in->resyncs_peak)
			in->resyncs_peak = in->resyncs;
		pthread_mutex_unlock(&in->lock);
	}
	h->pos = h->resync ? 0 : fh.version;   /* a resync's: its SubscribeResponse's */
	send_subscribe(in, h, fh.version);
}

/* ---- the host list ---------------------------------------------------------------- */

/*
 * A libcurl socket option function (CTX: the ingest): TCP_USER_TIMEOUT, so
 * that a peer gone silent fails a Pull within its timeout, not the kernel's
 * 15 minutes of retransmissions (spec/fleet.md 3.9).
 */
static int on_socket(void *ctx, curl_socket_t fd, curlsocktype purpose)
{
	const fleet_ingest *in = ctx;
	unsigned int ms = (unsigned int)in->o.pull_timeout_s * 1000;

	if (purpose == CURLSOCKTYPE_IPCXN)
		setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &ms, sizeof ms);
	return CURL_SOCKOPT_OK;
}

static void host_free(fleet_ingest *in, ihost *h)
{
	if (h->in_multi)
		curl_multi_remove_handle(in->multi, h->c->curl);
	release_slot(in, h);
	rdms_client_free(h->c);
	strbuf_free(&h->req);
	free(h->sub_ctx);
	free(h);
}

/* rdms_client_options.tls_setup for H: the broker's certificate, H's pinned one. */
static bool host_tls(void *curl, void *ctx)
{
	const ihost *h = ctx;

	return fleet_tls_setup(curl, h->in->o.identity, (fleet_pin *)&h->pin);
}

static ihost *host_new(fleet_ingest *in, const fleet_host *fh, rdms_error *err)
{
	rdms_client_options co = { .url = fh->url, .user = in->o.user, .password = in->o.password,
	                           .insecure = in->o.insecure };
	ihost *h = calloc(1, sizeof *h);

	if (h == NULL) {
		rdms_fail(err, WBEM_E_OUT_OF_MEMORY, "out of memory");
		return NULL;
	}
	str_copy(h->name, sizeof h->name, fh->name);
	h->in = in;
	memcpy(h->pin.sha256, fh->cert_sha256, sizeof h->pin.sha256);
	if (in->o.identity != NULL) {
		co = (rdms_client_options){ .url = fh->url, .tls_setup = host_tls, .tls_ctx = h };
	}
	if ((h->c = rdms_client_new(&co, err)) == NULL) {
		free(h);
		return NULL;
	}
	h->c->max_reply = INGEST_ENVELOPE_MAX;
	curl_easy_setopt(h->c->curl, CURLOPT_PRIVATE, h);
	curl_easy_setopt(h->c->curl, CURLOPT_CONNECTTIMEOUT_MS, (long)in->o.connect_timeout_ms);
	curl_easy_setopt(h->c->curl, CURLOPT_SOCKOPTFUNCTION, on_socket);
	curl_easy_setopt(h->c->curl, CURLOPT_SOCKOPTDATA, in);
	h->st = fh->state == FLEET_INVALID ? H_QUARANTINE : H_WAIT;
	h->retry_ms = RETRY_FIRST_MS;
	h->next_ms = mono_ms() + jitter(in, in->o.jitter_ms);
	schedule_full(in, h);
	return h;
}

/* fleet_host_fn: marks or adds the host. */
static int sync_host(void *ctx, const fleet_host *fh)
{
	fleet_ingest *in = ctx;
	rdms_error err = { 0 };
	ihost *h;

	for (h = in->hosts; h != NULL; h = h->next)
		if (strcmp(h->name, fh->name) == 0)
			break;
	if (h != NULL) {
		h->seen = true;
		if (h->st == H_QUARANTINE && fh->state != FLEET_INVALID) {
			h->st = H_WAIT;        /* an admin cleared it */
			h->resync = true;
			h->strikes = 0;
			h->next_ms = mono_ms();
		}
		return 0;
	}
	if ((h = host_new(in, fh, &err)) == NULL) {
		log_warn("fleet: host %s is not ingested: %s", fh->name, err.message);
		return 0;
	}
	h->seen = true;
	pthread_mutex_lock(&in->lock);
	h->next = in->hosts;
	in->hosts = h;
	pthread_mutex_unlock(&in->lock);
	return 0;
}

/* The hosts as the store lists them now: new ones added, removed ones dropped. */
static void sync_hosts(fleet_ingest *in)
{
	rdms_error err = { 0 };
	size_t n = 0;

	for (ihost *h = in->hosts; h != NULL; h = h->next)
		h->seen = false;
	if (fleet_store_hosts(in->o.store, sync_host, in, &err) != WBEM_S_NO_ERROR) {
		log_warn("fleet: cannot read the host list: %s", err.message);
		return;
	}
	for (ihost **pp = &in->hosts; *pp != NULL;) {
		ihost *h = *pp;

		if (h->seen) {
			pp = &h->next;
			n++;
			continue;
		}
		pthread_mutex_lock(&in->lock);
		*pp = h->next;
		pthread_mutex_unlock(&in->lock);
		host_free(in, h);
	}
	if (in->o.pool != NULL)
		fleet_pool_size_for(in->o.pool, n);
}

/* ---- the loop --------------------------------------------------------------------- */

static void *loop(void *arg)
{
	fleet_ingest *in = arg;

	rdms_thread_name("ingest");
	for (;;) {
		int64_t now = mono_ms(), wait = 1000;
		CURLMsg *msg;
		int left;
		bool stop, reload;

		pthread_mutex_lock(&in->lock);
		stop = in->stop;
		reload = in->reload;
		in->reload = false;
		pthread_mutex_unlock(&in->lock);
		if (stop)
			break;
		if (now >= in->next_store_check) {
			in->next_store_check = now + STORE_CHECK_MS;
			reload = reload || fleet_store_changed_elsewhere(in->o.store);
		}
		if (reload)
			sync_hosts(in);
		for (ihost *h = in->hosts; h != NULL; h = h->next) {
			if (h->st != H_WAIT)
				continue;
			if (h->next_ms <= now)
				start_host(in, h);
			if (h->st == H_WAIT && h->next_ms - now < wait)
				wait = h->next_ms > now ? h->next_ms - now : 0;
		}
		fleet_multi_run(in->events, (int)wait);
		while ((msg = curl_multi_info_read(in->multi, &left)) != NULL) {
			ihost *h = NULL;

			if (msg->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&h);
			curl_multi_remove_handle(in->multi, msg->easy_handle);
			if (h != NULL) {
				h->in_multi = false;
				on_done(in, h, msg->data.result);
			}
		}
	}
	return NULL;
}

/* Frees IN and its hosts (its thread stopped or never started). */
static void ingest_free(fleet_ingest *in)
{
	while (in->hosts != NULL) {
		ihost *h = in->hosts;

		in->hosts = h->next;
		host_free(in, h);
	}
	fleet_multi_free(in->events);
	free(in->uri_all);
	free(in->uri_class);
	pthread_mutex_destroy(&in->lock);
	free(in);
}

/*
 * The periodic safety resync's mean interval: FLEET_FULL_RESYNC_S, or
 * RDMS_TEST_FLEET_RESYNC_MS for tests (ingest.h); never below a second.
 */
static int64_t full_resync_interval_ms(void)
{
	const char *t = getenv("RDMS_TEST_FLEET_RESYNC_MS");
	char *end = NULL;
	long long ms = t != NULL ? strtoll(t, &end, 10) : 0;

	if (t == NULL || end == t || *end != '\0' || ms <= 0)
		return (int64_t)FLEET_FULL_RESYNC_S * 1000;
	if (ms < 1000)
		ms = 1000;
	log_warn("fleet: periodic safety resync every %lld ms (RDMS_TEST_FLEET_RESYNC_MS, for "
	         "tests only)", ms);
	return (int64_t)ms;
}

fleet_ingest *fleet_ingest_start(const fleet_ingest_options *o, rdms_error *err)
{
	fleet_ingest *in = calloc(1, sizeof *in);

	if (in == NULL) {
		rdms_fail(err, WBEM_E_OUT_OF_MEMORY, "out of memory");
		return NULL;
	}
	in->o = *o;
#define DEFAULT(f, v) if (in->o.f <= 0) in->o.f = (v)
	DEFAULT(pull_timeout_s, 25);
	DEFAULT(heartbeat_s, 20);
	DEFAULT(jitter_ms, 5000);
	DEFAULT(retry_max_ms, 30000);
	DEFAULT(connect_timeout_ms, 2000);
#undef DEFAULT
	if (in->o.max_elements == 0)
		in->o.max_elements = 1000;
	if (in->o.max_resyncs == 0)
		in->o.max_resyncs = 8;
	in->seed = (unsigned)mono_ms() ^ (unsigned)(uintptr_t)in;
	in->full_resync_ms = full_resync_interval_ms();
	pthread_mutex_init(&in->lock, NULL);
	in->uri_all = client_resource_uri(rdms_session_class()->namespace_, NULL);
	in->uri_class = client_resource_uri(rdms_session_class()->namespace_, rdms_session_class());
	in->events = fleet_multi_new();
	in->multi = in->events != NULL ? fleet_multi_curl(in->events) : NULL;
	if (in->uri_all == NULL || in->uri_class == NULL || in->multi == NULL) {
		rdms_fail(err, WBEM_E_OUT_OF_MEMORY, "out of memory");
		goto fail;
	}
	sync_hosts(in);
	if (pthread_create(&in->thread, NULL, loop, in) != 0) {
		rdms_fail(err, WBEM_E_FAILED, "fleet: cannot start the ingest thread");
		goto fail;
	}
	return in;
fail:
	ingest_free(in);
	return NULL;
}

void fleet_ingest_reload(fleet_ingest *in)
{
	pthread_mutex_lock(&in->lock);
	in->reload = true;
	pthread_mutex_unlock(&in->lock);
	fleet_multi_wakeup(in->events);
}

void fleet_ingest_stop(fleet_ingest *in)
{
	if (in == NULL)
		return;
	pthread_mutex_lock(&in->lock);
	in->stop = true;
	pthread_mutex_unlock(&in->lock);
	fleet_multi_wakeup(in->events);
	pthread_join(in->thread, NULL);
	ingest_free(in);
}

void fleet_ingest_stats_get(fleet_ingest *in, const char *host, fleet_ingest_stats *out)
{
	memset(out, 0, sizeof *out);
	pthread_mutex_lock(&in->lock);
	for (ihost *h = in->hosts; h != NULL; h = h->next) {
		if (host != NULL && strcmp(h->name, host) != 0)
			continue;
		out->subscribes += h->stats.subscribes;
		out->resumes += h->stats.resumes;
		out->resyncs += h->stats.resyncs;
		out->batches += h->stats.batches;
		out->events += h->stats.events;
		out->heartbeats += h->stats.heartbeats;
		out->failures += h->stats.failures;
		out->refused += h->stats.refused;
	}
	out->resyncs_peak = in->resyncs_peak;
	pthread_mutex_unlock(&in->lock);
}
