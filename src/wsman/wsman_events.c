/*
 * wsman_events.c -- WS-Eventing subscriptions in Pull mode (spec/events.md
 * section 2): Subscribe, Pull on the subscription's context, Unsubscribe,
 * Renew (refused).
 *
 * A subscription is a position in the change feed (the network process's
 * mirror of priv's journal, events_pump.h), an event query and its
 * owner.  A Pull reads the feed after the position: the events its owner
 * may see (an admin all, anyone else the sessions of its own uid, as an
 * Enumerate) that the query matches, at most MaxElements of them within
 * MaxEnvelopeSize.  When there are none the Pull is held (wsman_holder: no
 * thread waits for it) and one dispatcher thread, waiting on the feed,
 * answers it when events come, with an empty PullResponse at the
 * heartbeat or just before the Pull's OperationTimeout (never a Heartbeat
 * message: the Windows client unsubscribes on one), or with a fault when
 * the subscription ends.  A subscription with no Pull for two heartbeats
 * (two minutes without heartbeats) or past its Expires is reaped; what it
 * held is freed, nothing runs for it afterwards.  The position moves with
 * each reply, and back when a held Pull's client went away before its
 * reply could be handed over, so that it loses no event.  Bookmarks are the position as text,
 * "rdms:EPOCH:SEQ".
 */
#include "wsman_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "../common/array.h"
#include "../common/log.h"
#include "../common/monotime.h"
#include "../common/thread_name.h"
#include "../events/feed_internal.h"
#include "../ops/provider.h"
#include "../schema/schema.h"

#define PUTS(b, s) strbuf_append((b), (s), sizeof(s) - 1)

#define IDLE_NO_HEARTBEAT_MS   120000   /* no heartbeats asked: reaped after this without a Pull */
#define PULL_DEFAULT_MS        60000    /* a Pull without OperationTimeout */
#define ANSWER_MARGIN_MS       500      /* how long before OperationTimeout a held Pull is answered */
#define SCAN_CHUNK             1024     /* events read from the feed at a time */
#define BUILT_SLOTS            1024     /* events whose instances are kept for the next reader */
#define FILETIME_UNIX_EPOCH    116444736000000000LL   /* 1970 in 100 ns units since 1601 */

typedef struct wsman_sub {
	char           id[48];
	char           owner[300];
	uint32_t       uid;
	bool           admin;
	char           user[256], source[96], protocol[16];
	wql_query     *q;
	char           ns[128];        /* the class namespace, for the item URIs */
	bool           dmtf_uri;       /* items in the DMTF URI form, else WMI's */
	rdms_feed_pos  pos;            /* the last event delivered (or passed over) */
	bool           send_bookmarks;
	long           heartbeat_ms;   /* 0: none */
	int64_t        expires_at;     /* monotonic ms; 0: never */
	int64_t        last_pull;      /* monotonic ms of the last Pull's end (or the Subscribe) */
	/* a held Pull */
	void          *held;
	wsman_holder   holder;
	char           relates[WSMAN_MAX_ID_LEN + 1];
	uint32_t       max;
	size_t         limit;
	int64_t        answer_at;
	struct wsman_sub *next;
} wsman_sub;

/*
 * An event's instances, built once for every subscription whose filter
 * looks at the event (with 1,000 subscriptions, building them for each was
 * most of the net process's work), in a slot by its seq; kept until every
 * subscription has read past the event.
 */
typedef struct built {
	rdms_feed_pos  pos;
	cim_instance  *target, *prev;
} built;

struct wsman_events {
	pthread_mutex_t      lock;
	built                built[BUILT_SLOTS];
	wsman_sub           *head;
	size_t               count, per_user, total;
	wsman_event_source   src;
	rdms_provider       *provider;
	pthread_t            thread;
	bool                 stop;
};

static bool oom(wsman_fault *f)
{
	return wsman_fail(f, WBEM_E_OUT_OF_MEMORY, NULL, NULL, "out of memory");
}

static void sub_free(wsman_sub *s)
{
	if (s == NULL)
		return;
	wql_free(s->q);
	free(s);
}

/* The subscription ID of OWNER, unlinked when UNLINK; NULL when none. The lock is held. */
static wsman_sub *find(wsman_events *e, const char *id, const char *owner, bool unlink)
{
	for (wsman_sub **pp = &e->head; *pp != NULL; pp = &(*pp)->next) {
		wsman_sub *s = *pp;

		if (strcmp(s->id, id) != 0 || strcmp(s->owner, owner) != 0)
			continue;
		if (unlink) {
			*pp = s->next;
			e->count--;
		}
		return s;
	}
	return NULL;
}

/* ---- bookmarks ----------------------------------------------------------- */

static void bookmark_text(char *buf, size_t size, rdms_feed_pos pos)
{
	snprintf(buf, size, "rdms:%" PRIu64 ":%" PRIu64, pos.epoch, pos.seq);
}

static bool bookmark_parse(const char *s, rdms_feed_pos *pos)
{
	unsigned long long epoch, seq;
	char *end;

	if (strncmp(s, "rdms:", 5) != 0 || s[5] < '0' || s[5] > '9')
		return false;
	errno = 0;
	epoch = strtoull(s + 5, &end, 10);
	if (errno != 0 || *end != ':' || end[1] < '0' || end[1] > '9' || epoch == 0)
		return false;
	seq = strtoull(end + 1, &end, 10);
	if (errno != 0 || *end != '\0')
		return false;
	*pos = (rdms_feed_pos){ epoch, seq };
	return true;
}

void wsman_position_header(char *buf, size_t size, rdms_feed_pos pos)
{
	snprintf(buf, size, "<rdms:Position xmlns:rdms=\"" NS_RDMS "\" s:mustUnderstand=\"false\" "
	         "Epoch=\"%" PRIu64 "\" Seq=\"%" PRIu64 "\"/>", pos.epoch, pos.seq);
}

/* ---- a snapshot at a position ---------------------------------------------- */

/* What the walk of a positioned snapshot needs: the source, and where the position goes. */
struct state_walk {
	const wsman_event_source *src;
	rdms_feed_pos            *at;
};

/* An rdms_session_walk_fn over the source's state. */
static uint32_t walk_state(void *ctx, rdms_session_fn fn, void *fn_ctx, rdms_error *err)
{
	struct state_walk *w = ctx;

	return w->src->state(w->src->ctx, fn, fn_ctx, w->at, err);
}

/*
 * The snapshot and its position come from one read of the feed's state
 * (rdms_feed_state: priv's differ listings and the journal head, under the
 * feed's lock), never from the session cache or a fresh read of the
 * back-ends, whose listing may be ahead of or behind the journal.  So a
 * broker that subscribed first (at P0) and enumerates then (at P >= P0,
 * as priv's head only grows) applies the snapshot as of P and drops the
 * events it pulls up to P: nothing is missed or applied twice.
 */
bool wsman_events_snapshot(wsman_events *e, rdms_snapshot **snap, rdms_feed_pos *at,
                           rdms_error *err)
{
	struct state_walk w;

	if (e == NULL || e->src.state == NULL)
		return false;
	w = (struct state_walk){ &e->src, at };
	return rdms_snapshot_take(walk_state, &w, snap, err) == WBEM_S_NO_ERROR;
}

/* ---- events as items ------------------------------------------------------ */

/* The URI of CLASS in S's form. */
static void class_uri(char *buf, size_t size, const wsman_sub *s, const char *cls)
{
	if (s->dmtf_uri)
		snprintf(buf, size, "%s%s", URI_DMTF_PREFIX, cls);
	else
		snprintf(buf, size, "%s%s/%s", URI_WMI_PREFIX, s->ns, cls);
}

/* The instance of ES, as E's source makes them; NULL when out of memory. */
static cim_instance *instance_of(const wsman_events *e, const rdms_event_session *es)
{
	rdms_session s;

	if (e->src.instance != NULL)
		return e->src.instance(es);
	rdms_event_session_to(es, &s);
	return rdms_session_instance(e->provider->cfg, &s);
}

/*
 * EV as S's item (spec/events.md 2.5): the event class with its embedded
 * instances.  False when out of memory.
 */
static bool write_event(strbuf *b, const wsman_events *e, const wsman_sub *s,
                        const rdms_event *ev)
{
	const char *cls = wql_event_class_name(s->q, ev->kind);
	const char *session_cls = rdms_session_class()->name;
	bool dmtf = wql_event_dmtf(s->q);
	cim_instance *target = instance_of(e, &ev->target), *prev = NULL;
	char uri[512], inner[512], num[64];

	if (target == NULL)
		return false;
	if (ev->kind == RDMS_EVENT_MODIFICATION && wql_event_selects_previous(s->q) &&
	    (prev = instance_of(e, &ev->previous)) == NULL) {
		cim_instance_free(target);
		return false;
	}
	class_uri(uri, sizeof uri, s, cls);
	class_uri(inner, sizeof inner, s, session_cls);
	PUTS(b, "<p:");
	strbuf_puts(b, cls);
	PUTS(b, " xmlns:p=\"");
	wsman_escape(b, uri, true);
	PUTS(b, "\" xmlns:xsi=\"" NS_XSI "\" xsi:type=\"p:");
	strbuf_puts(b, cls);
	PUTS(b, "_Type\">");
	if (dmtf) {
		if (!cim_datetime_from_unix(ev->time_us / 1000000, num))
			num[0] = '\0';
		PUTS(b, "<p:IndicationTime>");
		strbuf_puts(b, num);
		PUTS(b, "</p:IndicationTime>");
		if (prev != NULL)
			wsman_write_embedded(b, "PreviousInstance", prev, inner);
		wsman_write_embedded(b, "SourceInstance", target, inner);
	} else {
		if (prev != NULL)
			wsman_write_embedded(b, "PreviousInstance", prev, inner);
		PUTS(b, "<p:SECURITY_DESCRIPTOR xsi:nil=\"true\"/>");
		wsman_write_embedded(b, "TargetInstance", target, inner);
		snprintf(num, sizeof num, "%lld",
		         (long long)(ev->time_us * 10 + FILETIME_UNIX_EPOCH));
		PUTS(b, "<p:TIME_CREATED>");
		strbuf_puts(b, num);
		PUTS(b, "</p:TIME_CREATED>");
	}
	PUTS(b, "</p:");
	strbuf_puts(b, cls);
	PUTS(b, ">");
	cim_instance_free(target);
	cim_instance_free(prev);
	return !b->failed;
}

/* ---- reading the feed for a subscription ----------------------------------- */

/* What one scan of the feed found for a subscription. */
struct scan {
	const wsman_sub   *s;
	wsman_events      *e;        /* its source, and the instances kept (built) */
	rdms_event        *found;    /* copies of the matching events */
	size_t             n, cap, max;
	bool               oom;
};

/* True when S's owner, not an admin, may see session ES (as an Enumerate would list it). */
static bool may_see(const wsman_events *e, const wsman_sub *s, const rdms_event_session *es)
{
	if (e->src.visible != NULL)
		return e->src.visible(s->user, es);
	return es->uid == s->uid;
}

static void built_clear(built *b)
{
	cim_instance_free(b->target);
	cim_instance_free(b->prev);
	memset(b, 0, sizeof *b);
}

/*
 * EV's instances into B (the previous one for a modification only): kept
 * there when B already holds EV's.  False when out of memory.
 */
static bool build(built *b, const wsman_events *e, const rdms_event *ev)
{
	if (b->target != NULL && rdms_feed_pos_cmp(b->pos, ev->pos) == 0)
		return true;
	built_clear(b);
	b->pos = ev->pos;
	b->target = instance_of(e, &ev->target);
	if (ev->kind == RDMS_EVENT_MODIFICATION)
		b->prev = instance_of(e, &ev->previous);
	if (b->target == NULL || (ev->kind == RDMS_EVENT_MODIFICATION && b->prev == NULL)) {
		built_clear(b);
		return false;
	}
	return true;
}

/* True when S's owner may see EV's session and S's query takes it. */
static bool wanted(const wsman_sub *s, wsman_events *e, const rdms_event *ev, bool *oom)
{
	built *b = &e->built[ev->pos.seq % BUILT_SLOTS];

	if (!s->admin && !may_see(e, s, &ev->target))
		return false;
	if ((wql_event_kinds(s->q) & ev->kind) == 0)
		return false;
	if (!build(b, e, ev)) {
		*oom = true;
		return false;
	}
	return wql_match_event(s->q, ev->kind, b->target, b->prev);
}

/* Frees the instances of events at or before LOW (every subscription has read them). */
static void built_drop(wsman_events *e, rdms_feed_pos low)
{
	for (size_t i = 0; i < BUILT_SLOTS; i++)
		if (e->built[i].target != NULL && rdms_feed_pos_cmp(e->built[i].pos, low) <= 0)
			built_clear(&e->built[i]);
}

/* An rdms_event_fn (CTX: the scan): copies what the subscription wants; stops when full. */
static int scan_one(void *ctx, const rdms_event *ev)
{
	struct scan *sc = ctx;
	rdms_event *copy;

	if (!wanted(sc->s, sc->e, ev, &sc->oom))
		return sc->oom ? 1 : 0;
	/*
	 * Grown as events are found: room for MaxElements at once was an
	 * mmap of 160 KiB, page faults and an munmap (a TLB flush on every
	 * CPU) for each Pull, most of which carry an event or two.
	 */
	if (!array_reserve(&sc->found, sc->n, &sc->cap, sizeof *sc->found, 8)) {
		sc->oom = true;
		return 1;
	}
	copy = &sc->found[sc->n];
	*copy = (rdms_event){ .pos = ev->pos, .time_us = ev->time_us, .kind = ev->kind };
	if (!rdms_event_session_copy(&copy->target, &ev->target) ||
	    (ev->kind == RDMS_EVENT_MODIFICATION &&
	     !rdms_event_session_copy(&copy->previous, &ev->previous))) {
		rdms_event_session_clear(&copy->target);
		sc->oom = true;
		return 1;
	}
	sc->n++;
	return sc->n == sc->max ? 1 : 0;
}

static void scan_free(struct scan *sc)
{
	for (size_t i = 0; i < sc->n; i++) {
		rdms_event_session_clear(&sc->found[i].target);
		rdms_event_session_clear(&sc->found[i].previous);
	}
	free(sc->found);
}

/*
 * Up to MAX events after S->pos that S wants, into SC; *END is the
 * position scanned to (past events passed over).  RDMS_FEED_GONE when the
 * journal no longer holds what follows S->pos.
 */
static rdms_feed_read_rc scan(wsman_events *e, const wsman_sub *s, uint32_t max, struct scan *sc,
                              rdms_feed_pos *end)
{
	rdms_feed_pos at = s->pos, head = rdms_feed_head(e->src.feed);

	*sc = (struct scan){ .s = s, .e = e, .max = max };
	*end = at;
	while (sc->n < sc->max && !sc->oom && rdms_feed_pos_cmp(at, head) < 0) {
		rdms_feed_pos next;
		rdms_feed_read_rc rc = rdms_feed_read(e->src.feed, at, SCAN_CHUNK, scan_one, sc, &next);

		if (rc != RDMS_FEED_OK)
			return rc;
		if (rdms_feed_pos_cmp(next, at) == 0)
			break;
		at = next;
	}
	*end = sc->oom && sc->n == 0 ? s->pos : at;
	return RDMS_FEED_OK;
}

/* ---- replies --------------------------------------------------------------- */

/*
 * The PullResponse of S (to RELATES) with the events of SC that fit LIMIT;
 * *POS becomes the position to keep (END when all of them went, else the
 * last that did).  False with F when not even the first event fits.
 */
static bool pull_response(strbuf *b, const wsman_events *e, const wsman_sub *s,
                          const char *relates, size_t limit, const struct scan *sc,
                          rdms_feed_pos end, rdms_feed_pos *pos, wsman_fault *f)
{
	char bm[128], extra[200];
	strbuf items = { 0 };
	size_t i;

	*pos = end;
	for (i = 0; i < sc->n; i++) {
		size_t before = items.len;

		if (!write_event(&items, e, s, &sc->found[i]))
			break;
		/* room for the envelope around the items: about 1 KB */
		if (items.len + 1024 > limit) {
			items.len = before;
			break;
		}
	}
	if (items.failed || (i == 0 && sc->n > 0)) {
		bool no_memory = items.failed;

		strbuf_free(&items);
		if (no_memory)
			return oom(f);
		return wsman_fail(f, WBEM_E_TOO_MUCH_DATA, "wsman:EncodingLimit", "MaxEnvelopeSize",
		                  "the next event does not fit in MaxEnvelopeSize (%zu bytes)", limit);
	}
	if (i < sc->n)
		*pos = sc->found[i - 1].pos;
	extra[0] = '\0';
	if (s->send_bookmarks) {
		bookmark_text(bm, sizeof bm, *pos);
		snprintf(extra, sizeof extra, "<wsman:Bookmark>%s</wsman:Bookmark>", bm);
	}
	wsman_write_head_extra(b, ACTION_PULL "Response", relates, extra[0] != '\0' ? extra : NULL);
	PUTS(b, "<wsen:PullResponse><wsen:EnumerationContext>");
	strbuf_puts(b, s->id);
	PUTS(b, "</wsen:EnumerationContext><wsen:Items>");
	if (items.len > 0)
		strbuf_append(b, items.data, items.len);
	PUTS(b, "</wsen:Items></wsen:PullResponse>");
	wsman_write_tail(b);
	strbuf_free(&items);
	return b->failed ? oom(f) : true;
}

static bool ended_fault(wsman_fault *f, const char *id, const char *why)
{
	return wsman_fail(f, WBEM_E_INVALID_CONTEXT, "wsen:InvalidEnumerationContext", NULL,
	                  "subscription %.100s has ended: %s", id, why);
}

/* A reply for a held Pull: into OUT, from B (or fault F when B is NULL). */
static void make_reply(wsman_reply *out, strbuf *b, const wsman_fault *f, const char *relates,
                       const char *machine)
{
	wsman_fault nomem;

	memset(out, 0, sizeof *out);
	if (b != NULL && !b->failed) {
		out->http_status = 200;
		out->len = b->len;
		out->body = strbuf_take(b);
		if (out->body != NULL)
			return;
	}
	if (b != NULL)
		strbuf_free(b);
	if (f == NULL) {     /* the reply could not be taken */
		oom(&nomem);
		f = &nomem;
	}
	wsman_write_fault(out, f, relates, machine);
}

/* ---- the dispatcher --------------------------------------------------------- */

/* What the dispatcher does for one subscription after the lock is let go. */
struct todo {
	char          id[48], owner[300];
	void         *held;
	wsman_holder  holder;
	wsman_reply   reply;
	bool          advance;          /* the position moved from OLD to POS: back if undelivered */
	rdms_feed_pos pos, old;
	bool          audit_end;        /* the subscription ended: audit it */
	char          why[64];
	rdms_caller   who;
	char          user[256], source[96], protocol[16];
	struct todo  *next;
};

static void caller_of(const wsman_sub *s, struct todo *t)
{
	memcpy(t->user, s->user, sizeof t->user);
	memcpy(t->source, s->source, sizeof t->source);
	memcpy(t->protocol, s->protocol, sizeof t->protocol);
	t->who = (rdms_caller){ .uid = (uid_t)s->uid, .is_admin = s->admin,
	                        .protocol = t->protocol, .source = t->source };
	memcpy(t->who.user, s->user, sizeof t->who.user);
}

static void audit(wsman_events *e, const rdms_caller *who, const char *id, const char *method,
                  uint32_t result, const char *why)
{
	char target[160];
	rdms_error err = { 0 };

	snprintf(target, sizeof target, "subscription %s", id);
	if (result != WBEM_S_NO_ERROR)
		rdms_fail(&err, result, "%s", why);
	rdms_ops_audit(e->provider, who, target, method, result, &err);
}

/*
 * Does what TODO says, outside the lock: answers held Pulls (the position
 * moves only when the client took the reply) and audits ends.
 */
static void run_todo(wsman_events *e, struct todo *t)
{
	while (t != NULL) {
		struct todo *next = t->next;

		if (t->held != NULL) {
			bool delivered = t->holder.complete(t->held, &t->reply);

			pthread_mutex_lock(&e->lock);
			wsman_sub *s = find(e, t->id, t->owner, false);
			if (s != NULL) {
				/* a client gone loses nothing (unless a later Pull read on) */
				if (!delivered && t->advance && rdms_feed_pos_cmp(s->pos, t->pos) == 0)
					s->pos = t->old;
				s->last_pull = mono_ms();
			}
			pthread_mutex_unlock(&e->lock);
		}
		if (t->audit_end)
			audit(e, &t->who, t->id, "Unsubscribe", WBEM_E_TIMED_OUT, t->why);
		free(t);
		t = next;
	}
}

/* S's held Pull answered (events, empty, or fault F when FAULT): a todo. The lock is held. */
static struct todo *answer(wsman_events *e, wsman_sub *s, const char *machine, bool fault,
                           const char *why)
{
	struct todo *t = calloc(1, sizeof *t);
	wsman_fault f = { 0 };
	strbuf b = { 0 };

	if (t == NULL)
		return NULL;     /* answered at its next turn */
	str_copy(t->id, sizeof t->id, s->id);
	str_copy(t->owner, sizeof t->owner, s->owner);
	t->held = s->held;
	t->holder = s->holder;
	if (fault) {
		ended_fault(&f, s->id, why);
		make_reply(&t->reply, NULL, &f, s->relates, machine);
	} else {
		struct scan sc;
		rdms_feed_pos end;
		rdms_feed_read_rc rc = scan(e, s, s->max, &sc, &end);

		if (rc != RDMS_FEED_OK) {
			ended_fault(&f, s->id, "events were lost (the journal no longer holds them)");
			make_reply(&t->reply, NULL, &f, s->relates, machine);
		} else if (sc.oom) {
			oom(&f);
			make_reply(&t->reply, NULL, &f, s->relates, machine);
		} else if (pull_response(&b, e, s, s->relates, s->limit, &sc, end,
		                         &t->pos, &f)) {
			/* moved now, so that the next Pull, which may come before the
			 * reply is handed over, reads on from here */
			t->advance = true;
			t->old = s->pos;
			s->pos = t->pos;
			make_reply(&t->reply, &b, NULL, s->relates, machine);
		} else {
			make_reply(&t->reply, NULL, &f, s->relates, machine);
		}
		scan_free(&sc);
	}
	s->held = NULL;
	return t;
}

/* True when a held Pull of S has something to answer with now. The lock is held. */
static bool has_events(wsman_events *e, wsman_sub *s)
{
	struct scan sc;
	rdms_feed_pos end;
	rdms_feed_read_rc rc = scan(e, s, 1, &sc, &end);
	bool yes = rc != RDMS_FEED_OK || sc.n > 0 || sc.oom;

	/* nothing wanted up to END: the next look starts there */
	if (rc == RDMS_FEED_OK && sc.n == 0 && !sc.oom)
		s->pos = end;
	scan_free(&sc);
	return yes;
}

static void *dispatcher(void *arg)
{
	wsman_events *e = arg;
	char machine[256];

	rdms_thread_name("dispatch");
	if (gethostname(machine, sizeof machine) != 0)
		strcpy(machine, "localhost");
	machine[sizeof machine - 1] = '\0';
	for (;;) {
		unsigned long gen = rdms_feed_wakes(e->src.feed);
		struct todo *todo = NULL;
		rdms_feed_pos low = rdms_feed_head(e->src.feed), read_all;
		int64_t now = mono_ms(), next = now + 3600 * 1000;

		pthread_mutex_lock(&e->lock);
		if (e->stop) {
			pthread_mutex_unlock(&e->lock);
			break;
		}
		read_all = rdms_feed_head(e->src.feed);
		for (wsman_sub **pp = &e->head; *pp != NULL;) {
			wsman_sub *s = *pp;
			long idle = s->heartbeat_ms > 0 ? 2 * s->heartbeat_ms : IDLE_NO_HEARTBEAT_MS;
			bool expired = s->expires_at != 0 && now >= s->expires_at;
			struct todo *t = NULL;

			if (s->held == NULL && (expired || now - s->last_pull >= idle)) {
				/* reaped: nothing of it is left */
				t = calloc(1, sizeof *t);
				if (t != NULL) {
					str_copy(t->id, sizeof t->id, s->id);
					caller_of(s, t);
					t->audit_end = true;
					snprintf(t->why, sizeof t->why, expired ? "expired"
					         : "reaped: no Pull for %ld s", idle / 1000);
				}
				*pp = s->next;
				e->count--;
				sub_free(s);
			} else {
				if (s->held != NULL && expired)
					t = answer(e, s, machine, true, "it expired");
				else if (s->held != NULL && (now >= s->answer_at || has_events(e, s)))
					t = answer(e, s, machine, false, NULL);
				if (s->held != NULL) {
					if (s->answer_at < next)
						next = s->answer_at;
					if (rdms_feed_pos_cmp(s->pos, low) < 0)
						low = s->pos;
				} else {
					int64_t reap = s->last_pull + idle;

					if (reap < next)
						next = reap;
				}
				if (s->expires_at != 0 && s->expires_at < next)
					next = s->expires_at;
				if (rdms_feed_pos_cmp(s->pos, read_all) < 0)
					read_all = s->pos;
				pp = &s->next;
			}
			if (t != NULL) {
				t->next = todo;
				todo = t;
			}
		}
		/* the instances of what every subscription has read go */
		built_drop(e, read_all);
		pthread_mutex_unlock(&e->lock);
		run_todo(e, todo);
		if (todo == NULL) {
			int64_t wait = next - mono_ms();

			if (wait > 0)
				rdms_feed_wait_since(e->src.feed, low, wait > 3600000 ? 3600000 : (int)wait,
				                     gen);
		}
	}
	return NULL;
}

/* ---- the service's side ---------------------------------------------------------- */

wsman_events *wsman_events_new(rdms_provider *p, const rdms_config *cfg,
                               const wsman_event_source *src)
{
	wsman_events *e = calloc(1, sizeof *e);

	if (e == NULL)
		return NULL;
	pthread_mutex_init(&e->lock, NULL);
	e->src = *src;
	e->provider = p;
	e->per_user = cfg != NULL && cfg->max_subscriptions_per_user > 0
	            ? (size_t)cfg->max_subscriptions_per_user : 1000;
	e->total = cfg != NULL && cfg->max_subscriptions > 0 ? (size_t)cfg->max_subscriptions
	                                                     : 10000;
	if (pthread_create(&e->thread, NULL, dispatcher, e) != 0) {
		pthread_mutex_destroy(&e->lock);
		free(e);
		return NULL;
	}
	return e;
}

void wsman_events_free(wsman_events *e)
{
	char none[] = "the service stops";
	wsman_fault f = { 0 };

	if (e == NULL)
		return;
	pthread_mutex_lock(&e->lock);
	e->stop = true;
	pthread_mutex_unlock(&e->lock);
	rdms_feed_wake(e->src.feed);
	pthread_join(e->thread, NULL);
	ended_fault(&f, "", none);
	while (e->head != NULL) {
		wsman_sub *s = e->head;

		e->head = s->next;
		if (s->held != NULL) {
			wsman_reply r;

			make_reply(&r, NULL, &f, s->relates, "localhost");
			s->holder.complete(s->held, &r);
		}
		sub_free(s);
	}
	for (size_t i = 0; i < BUILT_SLOTS; i++)
		built_clear(&e->built[i]);
	pthread_mutex_destroy(&e->lock);
	free(e);
}

bool wsman_events_owns(wsman_events *e, const char *context)
{
	bool yes = false;

	if (e == NULL || context == NULL)
		return false;
	pthread_mutex_lock(&e->lock);
	for (const wsman_sub *s = e->head; s != NULL && !yes; s = s->next)
		yes = strcmp(s->id, context) == 0;
	pthread_mutex_unlock(&e->lock);
	return yes;
}

/*
 * The ResourceURIs a Subscribe may name (MS-WSMV 3.1.4.6, spec/events.md
 * 2.1 and 2.3): the WMI wildcard of a namespace (what the MI client
 * sends), the DMTF all-classes URI with __cimnamespace, an event class in
 * either form -- whose events the filter's FROM class must then be (the
 * class itself or a subclass) -- and, as the class the events are about,
 * the session class, whose instances the filter's ISA must then name.
 * Any other class has no events to serve.
 */
static bool uri_has_events(const wsman_request *r)
{
	if (r->uri_kind == WSMAN_URI_WILDCARD || r->uri_kind == WSMAN_URI_ALL)
		return true;
	return (r->uri_kind == WSMAN_URI_WMI || r->uri_kind == WSMAN_URI_DMTF) &&
	       (wql_is_event_class(r->class_name) ||
	        strcasecmp(r->class_name, rdms_session_class()->name) == 0);
}

/* True when event query Q selects what R's ResourceURI names (uri_has_events holds). */
static bool uri_takes(const wsman_request *r, const wql_query *q, wsman_fault *f)
{
	if (r->uri_kind == WSMAN_URI_WILDCARD || r->uri_kind == WSMAN_URI_ALL)
		return true;
	if (wql_is_event_class(r->class_name)) {
		if (wql_event_from_is_a(q, r->class_name))
			return true;
		return wsman_fail(f, WBEM_E_INVALID_QUERY, "wse:EventSourceUnableToProcess", NULL,
		                  "the filter selects %s events but the ResourceURI names %s",
		                  wql_event_from(q), r->class_name);
	}
	if (strcasecmp(r->class_name, wql_class(q)->name) == 0)
		return true;
	return wsman_fail(f, WBEM_E_INVALID_QUERY, "wse:EventSourceUnableToProcess", NULL,
	                  "the filter is about %s instances but the ResourceURI names %s",
	                  wql_class(q)->name, r->class_name);
}

/* The checks of a Subscribe that need no subscription table; the query into *Q. */
static bool check_subscribe(const wsman_events *e, const wsman_request *r, wql_query **q,
                            wsman_fault *f)
{
	rdms_error err = { 0 };
	uint32_t rc;

	if (r->delivery_mode == NULL || strcmp(r->delivery_mode, MODE_PULL) != 0)
		return wsman_fail(f, WBEM_E_NOT_SUPPORTED, "wse:DeliveryModeRequestedUnavailable",
		                  NULL, "delivery mode %.200s is not supported: only Pull ("
		                  MODE_PULL ")", r->delivery_mode != NULL ? r->delivery_mode
		                  : "Push (WS-Eventing's default)");
	if (r->connection_retry)
		return wsman_fail(f, WBEM_E_NOT_SUPPORTED, "wsman:UnsupportedFeature",
		                  "DeliveryRetries", "ConnectionRetry applies to push delivery only");
	if (!uri_has_events(r))
		return wsman_fail(f, WBEM_E_INVALID_CLASS, "wsa:DestinationUnreachable",
		                  "InvalidResourceURI", "no events are served at ResourceURI %.300s "
		                  "(an event class, the session class, the wildcard or the "
		                  "all-classes URI is)", r->resource_uri);
	if (r->filter != WSMAN_FILTER_WQL)
		return wsman_fail(f, WBEM_E_INVALID_QUERY, "wse:EventSourceUnableToProcess", NULL,
		                  "a WQL event query filter is required");
	rc = wql_parse_event(r->filter_text, rdms_schema_find, q, &err);
	if (rc == WBEM_S_NO_ERROR && wql_class(*q) != rdms_session_class())
		rc = rdms_fail(&err, WBEM_E_NOT_SUPPORTED, "class %s has no events",
		               wql_class(*q)->name);
	if (rc == WBEM_S_NO_ERROR && rdms_op_class_provider(e->provider, r->ns, wql_class(*q)->name, &err) == NULL)
		rc = err.code;
	if (rc != WBEM_S_NO_ERROR) {
		wql_free(*q);
		*q = NULL;
		return wsman_fail(f, rc, "wse:EventSourceUnableToProcess", NULL, "%s", err.message);
	}
	if (!uri_takes(r, *q, f)) {
		wql_free(*q);
		*q = NULL;
		return false;
	}
	return true;
}

/* Where a subscription starts: after R's bookmark, or now. */
static bool start_pos(wsman_events *e, const wsman_request *r, rdms_feed_pos *pos,
                      wsman_fault *f)
{
	rdms_feed_pos head = e->src.head(e->src.ctx), floor = rdms_feed_earliest(e->src.feed);

	if (r->bookmark == NULL) {
		*pos = head;
		return true;
	}
	if (strcmp(r->bookmark, BOOKMARK_EARLIEST) == 0) {
		*pos = floor;
		return true;
	}
	if (!bookmark_parse(r->bookmark, pos))
		return wsman_fail(f, WBEM_E_INVALID_PARAMETER, "wsman:InvalidBookmark",
		                  "InvalidFormat", "bookmark '%.80s' is not one of this service's",
		                  r->bookmark);
	if (rdms_feed_pos_cmp(*pos, floor) < 0 || rdms_feed_pos_cmp(*pos, head) > 0)
		return wsman_fail(f, WBEM_E_INVALID_PARAMETER, "wsman:InvalidBookmark",
		                  "InvalidFormat", "bookmark '%.80s' is %s", r->bookmark,
		                  rdms_feed_pos_cmp(*pos, floor) < 0
		                  ? "no longer held by the event journal" : "ahead of every event");
	return true;
}

bool wsman_events_subscribe(wsman_events *e, const rdms_caller *who, const char *owner,
                            const wsman_request *r, strbuf *b, wsman_fault *f)
{
	wql_query *q = NULL;
	wsman_sub *s;
	size_t mine = 0;
	char target[300], position[200];

	if (e == NULL)
		return wsman_fail(f, WBEM_E_NOT_SUPPORTED, "wse:EventSourceUnableToProcess", NULL,
		                  "session events are off on this host");
	if (!check_subscribe(e, r, &q, f))
		return false;
	s = calloc(1, sizeof *s);
	if (s == NULL) {
		wql_free(q);
		return oom(f);
	}
	s->q = q;
	if (!start_pos(e, r, &s->pos, f)) {
		sub_free(s);
		return false;
	}
	/* where its events start, written now: once listed, S moves on */
	wsman_position_header(position, sizeof position, s->pos);
	wsman_uuid(s->id, sizeof s->id);
	str_copy(s->owner, sizeof s->owner, owner);
	s->uid = (uint32_t)who->uid;
	s->admin = who->is_admin;
	str_copy(s->user, sizeof s->user, who->user);
	str_copy(s->source, sizeof s->source, who->source != NULL ? who->source : "");
	str_copy(s->protocol, sizeof s->protocol, who->protocol != NULL ? who->protocol : "");
	str_copy(s->ns, sizeof s->ns, r->ns != NULL ? r->ns : "root/cimv2/rdms");
	s->dmtf_uri = r->uri_kind == WSMAN_URI_DMTF || r->uri_kind == WSMAN_URI_ALL;
	s->send_bookmarks = r->send_bookmarks;
	s->heartbeat_ms = r->heartbeat_ms;
	s->last_pull = mono_ms();
	s->expires_at = r->expires_ms > 0 ? s->last_pull + r->expires_ms : 0;

	pthread_mutex_lock(&e->lock);
	for (const wsman_sub *o = e->head; o != NULL; o = o->next)
		mine += o->uid == s->uid;
	if (mine >= e->per_user || e->count >= e->total) {
		bool user = mine >= e->per_user;

		pthread_mutex_unlock(&e->lock);
		wsman_fail(f, WBEM_E_QUOTA_VIOLATION, "wsman:QuotaLimit", NULL,
		           "too many subscriptions (%zu %s)", user ? e->per_user : e->total,
		           user ? "per user" : "in all");
		/* a refused start is audited like a start: who tried to hold how many */
		audit(e, who, s->id, "Subscribe", WBEM_E_QUOTA_VIOLATION, f->reason);
		sub_free(s);
		return false;
	}
	s->next = e->head;
	e->head = s;
	e->count++;
	pthread_mutex_unlock(&e->lock);
	rdms_feed_wake(e->src.feed);    /* its reap time */

	snprintf(target, sizeof target, "subscription %s", s->id);
	rdms_ops_audit(e->provider, who, target, "Subscribe", WBEM_S_NO_ERROR, NULL);

	wsman_write_head_extra(b, ACTION_SUBSCRIBE "Response", r->message_id, position);
	PUTS(b, "<wse:SubscribeResponse xmlns:wse=\"" NS_WSE "\"><wse:SubscriptionManager>"
	        "<wsa:Address>");
	wsman_escape(b, r->to != NULL ? r->to : URI_ANONYMOUS, false);
	PUTS(b, "</wsa:Address><wsa:ReferenceProperties><wsman:ResourceURI>");
	wsman_escape(b, r->resource_uri, false);
	PUTS(b, "</wsman:ResourceURI><wse:Identifier>");
	strbuf_puts(b, s->id);
	PUTS(b, "</wse:Identifier></wsa:ReferenceProperties></wse:SubscriptionManager>");
	if (r->expires != NULL) {
		PUTS(b, "<wse:Expires>");
		wsman_escape(b, r->expires, false);
		PUTS(b, "</wse:Expires>");
	}
	PUTS(b, "<wsen:EnumerationContext>");
	strbuf_puts(b, s->id);
	PUTS(b, "</wsen:EnumerationContext></wse:SubscribeResponse>");
	wsman_write_tail(b);
	return true;
}

bool wsman_events_pull(wsman_events *e, const char *owner, const wsman_request *r,
                       size_t limit, const wsman_holder *h, strbuf *b, bool *held,
                       wsman_fault *f)
{
	uint32_t max = r->max_elements != 0 ? r->max_elements : 1;
	long timeout = r->timeout_ms > 0 ? r->timeout_ms : PULL_DEFAULT_MS;
	struct scan sc;
	rdms_feed_pos end, pos;
	rdms_feed_read_rc rc;
	wsman_sub *s;
	bool ok;

	*held = false;
	if (max > 10000)
		return wsman_fail(f, WBEM_E_INVALID_PARAMETER, "wsman:InvalidParameter",
		                  "InvalidValue", "MaxElements %u is over 10000 for a subscription",
		                  (unsigned)max);
	pthread_mutex_lock(&e->lock);
	s = find(e, r->context, owner, false);
	if (s == NULL) {
		pthread_mutex_unlock(&e->lock);
		return wsman_fail(f, WBEM_E_INVALID_CONTEXT, "wsen:InvalidEnumerationContext", NULL,
		                  "enumeration context %.100s is unknown, expired or finished",
		                  r->context);
	}
	if (s->held != NULL) {
		pthread_mutex_unlock(&e->lock);
		return wsman_fail(f, WBEM_E_INVALID_OPERATION, "wsman:ConcurrencyExceeded", NULL,
		                  "subscription %.100s already has a Pull waiting (one at a time)",
		                  r->context);
	}
	s->last_pull = mono_ms();
	rc = scan(e, s, max, &sc, &end);
	if (rc != RDMS_FEED_OK) {
		s = find(e, r->context, owner, true);
		pthread_mutex_unlock(&e->lock);
		scan_free(&sc);
		sub_free(s);
		return ended_fault(f, r->context, "events were lost (the journal no longer "
		                   "holds them); subscribe again");
	}
	if (sc.oom) {
		pthread_mutex_unlock(&e->lock);
		scan_free(&sc);
		return oom(f);
	}
	if (sc.n == 0 && h != NULL && h->hold != NULL) {
		void *token = h->hold(h->ctx);

		if (token != NULL) {
			int64_t at = mono_ms() + (timeout > ANSWER_MARGIN_MS * 2 ? timeout - ANSWER_MARGIN_MS
			                                                         : timeout / 2);

			if (s->heartbeat_ms > 0 && mono_ms() + s->heartbeat_ms < at)
				at = mono_ms() + s->heartbeat_ms;
			s->pos = end;
			s->held = token;
			s->holder = *h;
			str_copy(s->relates, sizeof s->relates, r->message_id);
			s->max = max;
			s->limit = limit;
			s->answer_at = at;
			pthread_mutex_unlock(&e->lock);
			scan_free(&sc);
			*held = true;
			rdms_feed_wake(e->src.feed);
			return true;
		}
	}
	ok = pull_response(b, e, s, r->message_id, limit, &sc, end, &pos, f);
	if (ok)
		s->pos = pos;
	pthread_mutex_unlock(&e->lock);
	scan_free(&sc);
	return ok;
}

bool wsman_events_unsubscribe(wsman_events *e, const rdms_caller *who, const char *owner,
                              const wsman_request *r, strbuf *b, wsman_fault *f)
{
	wsman_sub *s;
	void *held = NULL;
	wsman_holder holder = { 0 };
	wsman_reply reply;
	wsman_fault ended = { 0 };
	char relates[WSMAN_MAX_ID_LEN + 1] = "";

	if (e == NULL)
		return wsman_fail(f, WBEM_E_NOT_FOUND, "wsa:DestinationUnreachable", NULL,
		                  "session events are off on this host");
	pthread_mutex_lock(&e->lock);
	s = find(e, r->identifier, owner, true);
	if (s != NULL && s->held != NULL) {
		held = s->held;
		holder = s->holder;
		str_copy(relates, sizeof relates, s->relates);
	}
	pthread_mutex_unlock(&e->lock);
	if (s == NULL)
		return wsman_fail(f, WBEM_E_NOT_FOUND, "wsa:DestinationUnreachable", NULL,
		                  "subscription %.100s is unknown or has ended", r->identifier);
	if (held != NULL) {
		ended_fault(&ended, s->id, "Unsubscribe");
		make_reply(&reply, NULL, &ended, relates, "localhost");
		holder.complete(held, &reply);
	}
	audit(e, who, s->id, "Unsubscribe", WBEM_S_NO_ERROR, NULL);
	sub_free(s);
	wsman_write_head(b, ACTION_UNSUBSCRIBE "Response", r->message_id);
	wsman_write_tail(b);
	return true;
}

size_t wsman_events_count(wsman_events *e)
{
	size_t n;

	if (e == NULL)
		return 0;
	pthread_mutex_lock(&e->lock);
	n = e->count;
	pthread_mutex_unlock(&e->lock);
	return n;
}
