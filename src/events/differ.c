/*
 * differ.c -- a fresh listing of a back-end against the last one: the
 * events between them (feed.h, rdms_feed_observe).
 *
 * Both listings are sorted by SessionId and merged.  A session present in
 * both is the same session only when its identity token matches too: the
 * X server's pid and start time (xrdp: SessionId is the sesman child's pid,
 * which the kernel reuses) or the X2Go agent's pid and the session's
 * creation time (displays are reused from :50).  When the token differs
 * the old session ended and a new one began under the same key.
 *
 * The fresh listing comes one session at a time (rdms_feed_observer) and
 * is merged as it comes: only what differs is kept (a change), so a
 * rescan that finds nothing new allocates nothing, and one that finds a
 * Disconnect among 1,000 sessions allocates for that one.  A session that
 * did not change keeps its strings where they are.  At the end the changes
 * are applied to the last listing, in place unless sessions appeared or
 * ended (then it is rebuilt, its entries moved, not copied).  Everything
 * is built before the journal is touched; out of memory, nothing changes.
 */
#include "feed_internal.h"

#include <stdlib.h>
#include <string.h>

static bool same_identity(const rdms_event_session *old, const rdms_session *s)
{
	return old->logon_time == s->logon_time && old->server_pid == (int32_t)s->server_pid &&
	       old->uid == (uint32_t)s->uid;
}

/* True when a class property of the session differs (the rest are the host's). */
static bool class_changed(const rdms_event_session *old, const rdms_session *s)
{
	return old->connect_state != s->connect_state || strcmp(old->user, s->user) != 0 ||
	       strcmp(old->client, s->client) != 0;
}

static rdms_feed_backend *find_backend(rdms_feed *f, const char *name)
{
	rdms_feed_backend *b;

	for (size_t i = 0; i < f->nbackends; i++)
		if (strcmp(f->backends[i].name, name) == 0)
			return &f->backends[i];
	b = realloc(f->backends, (f->nbackends + 1) * sizeof *b);
	if (b == NULL)
		return NULL;
	f->backends = b;
	b = &f->backends[f->nbackends++];
	memset(b, 0, sizeof *b);
	b->name = name;
	return b;
}

/* ES's texts become those of BLOCK (one of rdms_event_session_set_texts); the old ones are freed. */
static void replace_texts(rdms_event_session *es, char *block)
{
	free(es->user);
	es->user = block;
	es->client = block + strlen(block) + 1;
	es->client_addr = es->client + strlen(es->client) + 1;
}

void rdms_event_sessions_free(rdms_event_session *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		rdms_event_session_clear(&s[i]);
	free(s);
}

/*
 * One way the fresh listing differs from the last one, in merge order (by
 * SessionId; where a key names another session now, its deletion comes
 * before the creation).
 */
enum { CREATE, MODIFY, DELETE, TOUCH };

struct rdms_observed_change {
	uint8_t            what;
	/*
	 * The last listing's session (MODIFY, DELETE, TOUCH); for a CREATE the
	 * last listing's session it goes before (its count: after them all).
	 */
	size_t             old;
	/*
	 * CREATE, MODIFY: the new session, the event's target.  TOUCH (a
	 * session that is the same for the class, seen on another display or
	 * from another address): its new display and, when the address
	 * changed, its texts with the new address (else USER is NULL).
	 */
	rdms_event_session fresh;
	rdms_event_session listed;      /* CREATE, MODIFY: FRESH's copy, for the listing */
};

static void change_clear(struct rdms_observed_change *c)
{
	rdms_event_session_clear(&c->fresh);
	rdms_event_session_clear(&c->listed);
}

/* A new change at the end of O's; NULL (O failed) when out of memory. */
static struct rdms_observed_change *add_change(rdms_feed_observer *o, uint8_t what, size_t old)
{
	struct rdms_observed_change *c;

	if (o->nchanges == o->cap) {
		size_t cap = o->cap != 0 ? o->cap * 2 : 8;

		c = realloc(o->changes, cap * sizeof *c);
		if (c == NULL) {
			o->failed = true;
			return NULL;
		}
		o->changes = c;
		o->cap = cap;
	}
	c = &o->changes[o->nchanges++];
	memset(c, 0, sizeof *c);
	c->what = what;
	c->old = old;
	return c;
}

static rdms_feed_backend *observed(const rdms_feed_observer *o)
{
	return &o->f->backends[o->backend];
}

/* S appeared, or changed for the class: its event's target and the listing's copy. */
static bool add_session(rdms_feed_observer *o, uint8_t what, size_t old, const rdms_session *s)
{
	struct rdms_observed_change *c = add_change(o, what, old);

	if (c == NULL)
		return false;
	if (!rdms_event_session_from(&c->fresh, s)) {
		o->failed = true;
		return false;
	}
	c->fresh.backend = observed(o)->name;      /* the name the feed knows it by */
	if (!rdms_event_session_copy(&c->listed, &c->fresh)) {
		o->failed = true;
		return false;
	}
	return true;
}

/* S is OLD's session still, the same for the class: a TOUCH when the rest moved. */
static bool compare_rest(rdms_feed_observer *o, const rdms_event_session *old, const rdms_session *s)
{
	bool moved = strcmp(old->client_addr, s->client_addr) != 0;
	struct rdms_observed_change *c;

	if (!moved && old->display == s->display)
		return true;
	if ((c = add_change(o, TOUCH, o->old)) == NULL)
		return false;
	c->fresh.display = s->display;
	if (moved && !rdms_event_session_set_texts(&c->fresh, old->user, old->client,
	                                           s->client_addr)) {
		o->failed = true;
		return false;
	}
	return true;
}

void rdms_feed_observe_begin(rdms_feed_observer *o, rdms_feed *f, const char *backend,
                             int64_t now_us)
{
	rdms_feed_backend *b;

	memset(o, 0, sizeof *o);
	o->f = f;
	o->now_us = now_us;
	pthread_mutex_lock(&f->observing);
	pthread_mutex_lock(&f->lock);
	b = find_backend(f, backend);
	if (b != NULL)
		o->backend = (size_t)(b - f->backends);
	else
		o->failed = true;
	pthread_mutex_unlock(&f->lock);
}

uint32_t rdms_feed_observe_one(void *ctx, const rdms_session *s, rdms_error *err)
{
	rdms_feed_observer *o = ctx;
	const rdms_feed_backend *b;
	bool ok = true;

	if (o->failed)
		return rdms_fail(err, WBEM_E_OUT_OF_MEMORY, "out of memory");
	if (o->seen > 0 && s->id <= o->last_id) {
		if (s->id == o->last_id)
			return WBEM_S_NO_ERROR;            /* a duplicate id: the first counts */
		o->unsorted = true;
		return WBEM_S_FALSE;
	}
	o->seen++;
	o->last_id = s->id;
	b = observed(o);
	while (ok && o->old < b->n && b->s[o->old].id < s->id)
		ok = add_change(o, DELETE, o->old++) != NULL;
	if (ok && o->old < b->n && b->s[o->old].id == s->id) {
		const rdms_event_session *old = &b->s[o->old];

		if (same_identity(old, s)) {
			ok = class_changed(old, s) ? add_session(o, MODIFY, o->old, s) :
			     compare_rest(o, old, s);
			o->old++;
			return ok ? WBEM_S_NO_ERROR : rdms_fail(err, WBEM_E_OUT_OF_MEMORY,
			                                        "out of memory");
		}
		/* the key names another session now: it ended, a new one began */
		ok = add_change(o, DELETE, o->old++) != NULL;
	}
	if (ok)
		ok = add_session(o, CREATE, o->old, s);
	return ok ? WBEM_S_NO_ERROR : rdms_fail(err, WBEM_E_OUT_OF_MEMORY, "out of memory");
}

/* The events of O's changes into EV (room for them); their texts are still the changes'. */
static size_t fill_events(const rdms_feed_observer *o, rdms_event *ev)
{
	size_t e = 0;

	static const uint8_t kinds[] = { [CREATE] = RDMS_EVENT_CREATION,
	                                 [MODIFY] = RDMS_EVENT_MODIFICATION,
	                                 [DELETE] = RDMS_EVENT_DELETION };

	for (size_t k = 0; k < o->nchanges; k++) {
		if (o->changes[k].what == TOUCH)
			continue;
		ev[e].kind = kinds[o->changes[k].what];
		ev[e++].time_us = o->now_us;
	}
	return e;
}

/*
 * Cannot fail: O's changes are applied to the last listing OLD (into NEXT,
 * room for them all, when sessions appeared or ended; else in place) and
 * their strings move to the events EV (filled by fill_events) and the
 * listing.  Returns the listing's new length.
 */
static size_t apply(rdms_feed_observer *o, rdms_event_session *old, size_t nold,
                    rdms_event_session *next, rdms_event *ev)
{
	size_t i = 0, k = 0, e = 0;

	for (size_t c = 0; c < o->nchanges; c++) {
		struct rdms_observed_change *ch = &o->changes[c];
		rdms_event_session *entry;

		/* the sessions before this change are as they were */
		if (next != NULL)
			while (i < ch->old)
				next[k++] = old[i++];
		i = ch->old;
		switch (ch->what) {
		case DELETE:
			ev[e++].target = old[i++];
			break;
		case CREATE:                 /* (there is a NEXT: sessions appeared) */
			ev[e++].target = ch->fresh;
			next[k++] = ch->listed;
			break;
		case MODIFY:
			ev[e].target = ch->fresh;
			ev[e++].previous = old[i];
			entry = next != NULL ? &next[k++] : &old[i];
			*entry = ch->listed;
			i++;
			break;
		default:
			entry = next != NULL ? &next[k++] : &old[i];
			if (next != NULL)
				*entry = old[i];
			entry->display = ch->fresh.display;
			if (ch->fresh.user != NULL)
				replace_texts(entry, ch->fresh.user);   /* its address changed */
			i++;
			break;
		}
		/* moved: the change owns nothing now */
		memset(&ch->fresh, 0, sizeof ch->fresh);
		memset(&ch->listed, 0, sizeof ch->listed);
	}
	if (next == NULL)
		return nold;
	while (i < nold)
		next[k++] = old[i++];
	return k;
}

/* Applies O's changes and appends their events; -1 when out of memory (nothing changed). */
static long commit(rdms_feed_observer *o)
{
	size_t nev = 0, shifts = 0;
	rdms_event *ev = NULL;
	rdms_event_session *next = NULL;
	rdms_feed_backend *b;
	rdms_feed *f = o->f;

	for (size_t c = 0; c < o->nchanges; c++) {
		nev += o->changes[c].what != TOUCH;
		shifts += o->changes[c].what == CREATE || o->changes[c].what == DELETE;
	}
	if ((nev > 0 && (ev = calloc(nev, sizeof *ev)) == NULL) ||
	    (shifts > 0 && (next = calloc(o->seen != 0 ? o->seen : 1, sizeof *next)) == NULL)) {
		free(ev);
		return -1;
	}
	fill_events(o, ev);
	pthread_mutex_lock(&f->lock);
	/* positions first: the changes still own their strings if this fails */
	if (nev > 0 && !rdms_feed_reserve(f, ev, nev)) {
		pthread_mutex_unlock(&f->lock);
		free(ev);
		free(next);
		return -1;
	}
	b = observed(o);
	b->n = apply(o, b->s, b->n, next, ev);
	if (next != NULL) {
		free(b->s);              /* its sessions moved to NEXT or to the events */
		b->s = next;
	}
	rdms_feed_append(f, ev, nev, o->now_us);
	pthread_mutex_unlock(&f->lock);
	free(ev);                    /* the journal owns the events now */
	return (long)nev;
}

static void observer_free(rdms_feed_observer *o)
{
	for (size_t c = 0; c < o->nchanges; c++)
		change_clear(&o->changes[c]);
	free(o->changes);
	pthread_mutex_unlock(&o->f->observing);
	memset(o, 0, sizeof *o);
}

long rdms_feed_observe_end(rdms_feed_observer *o)
{
	long made;

	/* what the listing no longer has ended */
	while (!o->failed && !o->unsorted && o->old < observed(o)->n)
		add_change(o, DELETE, o->old++);
	if (o->unsorted)
		made = RDMS_FEED_UNSORTED;
	else if (o->failed)
		made = -1;
	else if (o->nchanges == 0)
		made = 0;
	else
		made = commit(o);
	observer_free(o);
	return made;
}

void rdms_feed_observe_cancel(rdms_feed_observer *o)
{
	observer_free(o);
}

static int by_id(const void *a, const void *b)
{
	const rdms_session *x = *(const rdms_session *const *)a;
	const rdms_session *y = *(const rdms_session *const *)b;

	if (x->id != y->id)
		return x->id < y->id ? -1 : 1;
	/* the listing's order among equal ids: the first one wins */
	return (x > y) - (x < y);
}

/* True when the N sessions of S are listed by SessionId already (as the back-ends list them). */
static bool in_id_order(const rdms_session *s, size_t n)
{
	for (size_t i = 1; i < n; i++)
		if (s[i - 1].id > s[i].id)
			return false;
	return true;
}

long rdms_feed_observe(rdms_feed *f, const char *backend, const rdms_session *s, size_t n,
                       int64_t now_us)
{
	const rdms_session **sorted = NULL;
	rdms_feed_observer o;
	rdms_error err = { 0 };
	uint32_t rc = WBEM_S_NO_ERROR;
	long made;

	/* only a listing out of order is sorted, as pointers */
	if (!in_id_order(s, n)) {
		if ((sorted = malloc(n * sizeof(const rdms_session *))) == NULL)
			return -1;
		for (size_t i = 0; i < n; i++)
			sorted[i] = &s[i];
		qsort(sorted, n, sizeof(const rdms_session *), by_id);
	}
	rdms_feed_observe_begin(&o, f, backend, now_us);
	for (size_t i = 0; rc == WBEM_S_NO_ERROR && i < n; i++)
		rc = rdms_feed_observe_one(&o, sorted != NULL ? sorted[i] : &s[i], &err);
	made = rdms_feed_observe_end(&o);
	free(sorted);
	return made;
}

bool rdms_feed_restore_session(rdms_feed *f, const char *backend, rdms_event_session *es)
{
	rdms_feed_backend *b = find_backend(f, backend);
	rdms_event_session *s;
	size_t at;

	if (b == NULL || (s = realloc(b->s, (b->n + 1) * sizeof *s)) == NULL)
		return false;
	b->s = s;
	/* sorted by id, first come first kept (the store reads them in order) */
	for (at = b->n; at > 0 && s[at - 1].id > es->id; at--)
		;
	if (at > 0 && s[at - 1].id == es->id) {
		rdms_event_session_clear(es);
		return true;
	}
	memmove(&s[at + 1], &s[at], (b->n - at) * sizeof *s);
	s[at] = *es;
	b->n++;
	memset(es, 0, sizeof *es);
	return true;
}

void rdms_differ_free(rdms_feed *f)
{
	for (size_t i = 0; i < f->nbackends; i++)
		rdms_event_sessions_free(f->backends[i].s, f->backends[i].n);
	free(f->backends);
	f->backends = NULL;
	f->nbackends = 0;
}

bool rdms_feed_state(rdms_feed *f, rdms_event_session **out, size_t *n, rdms_feed_pos *at)
{
	rdms_event_session *s = NULL;
	size_t total = 0, k = 0;
	bool ok = true;

	pthread_mutex_lock(&f->lock);
	for (size_t i = 0; i < f->nbackends; i++)
		total += f->backends[i].n;
	if (total > 0 && (s = calloc(total, sizeof *s)) == NULL)
		ok = false;
	for (size_t i = 0; ok && s != NULL && i < f->nbackends; i++)
		for (size_t j = 0; ok && j < f->backends[i].n && k < total; j++)
			if ((ok = rdms_event_session_copy(&s[k], &f->backends[i].s[j])))
				s[k++].backend = f->backends[i].name;
	*at = f->last;
	pthread_mutex_unlock(&f->lock);
	if (!ok) {
		rdms_event_sessions_free(s, k);
		s = NULL;
		k = 0;
	}
	*out = s;
	*n = k;
	return ok;
}
